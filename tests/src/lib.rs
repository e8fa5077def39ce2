//! Support for the scenario tests in `tests/tests/`: the real `haven` binary, run with a clean,
//! isolated environment that can only reach the endpoint it is given.
#![warn(missing_docs)]

pub mod tmux;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::{Tags, Topology};

/// The `haven` binary of this workspace, built on first use when the test runner did not.
pub fn haven_bin() -> PathBuf {
    // Test executables live in target/<profile>/deps; the binary one level up.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let bin = profile_dir.join(format!("haven{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = StdCommand::new(env!("CARGO"))
            .args(["build", "--quiet", "--workspace", "--bins"])
            .status()
            .expect("cargo build --workspace --bins");
        assert!(status.success(), "building the haven binary failed");
    }
    bin
}

/// `haven` with static test credentials for `endpoint`, one attempt per call, no instance
/// metadata lookups, and its config/cache/data directories in `home`.
pub fn haven(endpoint: &str, home: &tempfile::TempDir) -> Command {
    Command::from_std(haven_process(endpoint, home))
}

/// [`haven`] as a plain process, for tests that start it and stop it midway.
pub fn haven_process(endpoint: &str, home: &tempfile::TempDir) -> StdCommand {
    let mut cmd = isolated_process(home);
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", endpoint);
    cmd
}

/// `haven` with no credentials or AWS settings at all, its files in `home`.
pub fn isolated(home: &tempfile::TempDir) -> Command {
    Command::from_std(isolated_process(home))
}

fn isolated_process(home: &tempfile::TempDir) -> StdCommand {
    let mut cmd = StdCommand::new(haven_bin());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("HAVEN_CONFIG_DIR", home.path().join("config"))
        .env("HAVEN_CACHE_DIR", home.path().join("cache"))
        .env("HAVEN_DATA_DIR", home.path().join("data"));
    cmd
}

/// Whether an API action could change something: anything but `Describe*`, `List*` and `Get*`.
pub fn is_mutating(action: &str) -> bool {
    // TestDNSAnswer asks Route 53's name servers what they answer: a read.
    action != "TestDNSAnswer"
        && !["Describe", "List", "Get"]
            .iter()
            .any(|prefix| action.starts_with(prefix))
}

/// Calls a JSON-protocol API of moto directly (e.g. `secretsmanager.GetSecretValue`,
/// `TrentService.CreateKey`), for test setup and checks haven has no client for. moto reads the
/// Region from the credential scope and checks no signature.
pub fn moto_json(
    endpoint: &str,
    region: &str,
    service: &str,
    target: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: {target}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=test/20261122/{region}/{service}/aws4_request, SignedHeaders=host, \
         Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).expect("connect to moto");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, json) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.contains(" 200 "), "{target}: {head}\n{json}");
    serde_json::from_str(json).expect("a JSON answer")
}

/// Calls a query-protocol API of moto directly (IAM, EC2, RDS: `Action=…&Version=…` form
/// parameters), for test setup made "by hand", outside haven. Returns the XML answer; panics on
/// anything but HTTP 200.
pub fn moto_query(endpoint: &str, region: &str, service: &str, params: &[(&str, &str)]) -> String {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261122/{region}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).expect("connect to moto");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, xml) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.contains(" 200 "), "{params:?}: {head}\n{xml}");
    xml.to_string()
}

/// A KMS key made in moto's `region`, by ARN (for encrypted DR copies).
pub fn kms_key(endpoint: &str, region: &str) -> String {
    let key = moto_json(
        endpoint,
        region,
        "kms",
        "TrentService.CreateKey",
        &serde_json::json!({ "Description": "haven DR copies" }),
    );
    key["KeyMetadata"]["Arn"]
        .as_str()
        .expect("key ARN")
        .to_string()
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_string())
}

/// The `haven:logical` tag of a resource of stack `lab`.
pub fn logical(tags: &Tags) -> Option<&str> {
    (tags.get(STACK_TAG).map(String::as_str) == Some("lab"))
        .then(|| tags.get(LOGICAL_TAG).map_or("?", String::as_str))
}

/// How many of each resource of stack `lab` exist: by kind and logical name for tagged ones,
/// by name for the load balancer, target group and DB subnet group, by path for IAM.
pub fn inventory(topology: &Topology) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::<String, usize>::new();
    let mut add = |kind: &str, name: &str| *count.entry(format!("{kind}/{name}")).or_default() += 1;
    for region in &topology.regions {
        macro_rules! tagged {
            ($kind:literal, $items:expr) => {
                for item in &$items {
                    if let Some(l) = logical(&item.tags) {
                        add($kind, l);
                    }
                }
            };
        }
        tagged!("vpc", region.vpcs);
        tagged!("subnet", region.subnets);
        tagged!("route-table", region.route_tables);
        tagged!("igw", region.internet_gateways);
        tagged!("eip", region.elastic_ips);
        tagged!("security-group", region.security_groups);
        tagged!("launch-template", region.launch_templates);
        tagged!("asg", region.auto_scaling_groups);
        tagged!("db", region.db_instances);
        for nat in region.nat_gateways.iter().filter(|n| n.state != "deleted") {
            if let Some(l) = logical(&nat.tags) {
                add("nat", l);
            }
        }
        for instance in region.instances.iter().filter(|i| !i.state.is_gone()) {
            if logical(&instance.tags).is_some() {
                add("instance", "app");
            }
        }
        for lb in region.load_balancers.iter().filter(|l| l.name == "lab-alb") {
            add("load-balancer", &lb.name);
            for listener in &lb.listeners {
                add("listener", &listener.port.unwrap_or_default().to_string());
            }
        }
        for tg in region.target_groups.iter().filter(|t| t.name == "lab-tg") {
            add("target-group", &tg.name);
        }
        for group in region
            .db_subnet_groups
            .iter()
            .filter(|g| g.name == "lab-db-subnets")
        {
            add("db-subnet-group", &group.name);
        }
    }
    if let Some(iam) = &topology.iam {
        let ours = |arn: &str| arn.contains("/haven/lab/");
        iam.roles
            .iter()
            .filter(|r| ours(&r.arn))
            .for_each(|r| add("role", &r.name));
        iam.instance_profiles
            .iter()
            .filter(|p| ours(&p.arn))
            .for_each(|p| add("instance-profile", &p.name));
        iam.groups
            .iter()
            .filter(|g| ours(&g.arn))
            .for_each(|g| add("group", &g.name));
        iam.users
            .iter()
            .filter(|u| ours(&u.arn))
            .for_each(|u| add("user", &u.name));
    }
    count
}

/// What one reliability test checked, for the summary `cargo xtask ci` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reliability {
    /// Faults the proxy injected.
    pub faults_injected: usize,
    /// Runs of haven under faults or interruption.
    pub runs: usize,
    /// Resources compared with the expected stack.
    pub resources_checked: usize,
    /// Resources found twice.
    pub duplicates: usize,
    /// Resources left behind after `down`.
    pub left_behind: usize,
    /// Secrets found in outputs, logs and files.
    pub secrets_found: usize,
    /// Mutating calls sent in read-only mode.
    pub read_only_mutations: usize,
}

/// Writes `record` to `target/<profile>/reliability/<test>.json`, where `cargo xtask ci` sums
/// the records after the tests.
pub fn record_reliability(test: &str, record: &Reliability) {
    let exe = std::env::current_exe().expect("test executable path");
    let Some(dir) = exe.parent().and_then(|deps| deps.parent()) else {
        return;
    };
    let dir = dir.join("reliability");
    let _ = std::fs::create_dir_all(&dir);
    let json = serde_json::json!({
        "test": test,
        "faults_injected": record.faults_injected,
        "runs": record.runs,
        "resources_checked": record.resources_checked,
        "duplicates": record.duplicates,
        "left_behind": record.left_behind,
        "secrets_found": record.secrets_found,
        "read_only_mutations": record.read_only_mutations,
    });
    let _ = std::fs::write(dir.join(format!("{test}.json")), json.to_string());
}

/// What a run printed: stdout then stderr, for assertion messages.
pub fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
