//! haven's developer commands. `cargo xtask ci` is what CI runs; `cargo xtask demo` starts a
//! local AWS emulator, builds the lab stack in two Regions with haven itself (`haven up` of the
//! lab blueprint, `haven replicate`) and opens the dashboard on it.
//! `cargo xtask acceptance` runs the issue-15 scenario suite (moto with realism, or a real
//! account).

mod acceptance;
mod bench;
mod fixtures;

use std::env;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci         format check, clippy (warnings denied), every test, docs — what CI runs
  demo       moto on loopback + the lab stack built from assets/blueprints/lab.toml with
             `haven up` and `haven replicate` (ap-northeast-2, DR in us-east-1) + the dashboard
  lab        the same without the dashboard, then wait (use haven from another shell)
  bench      release build; discovery, dashboard and apply benchmarks against moto, each a
             ratio with its target; writes docs/benchmarks.md (about 15 minutes)
  layout     record the functions the release dashboard runs to its first list (valgrind)
             and write crates/tui/link/haven.order, the linker's order for them
  fixtures   regenerate the topology fixtures in assets/fixtures/
  acceptance the scenario suite (up, up again, drift, act, down, up after down, down
             interrupted and resumed) against moto with realism; with --profile NAME
             --region R against a REAL account (costs money, always tears down; see
             docs/acceptance.md); writes a report under target/acceptance/";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("demo") => demo(true),
        Some("lab") => demo(false),
        Some("bench") => bench::run(),
        Some("layout") => bench::layout::run(),
        Some("acceptance") => acceptance::run(&args[1..]),
        Some("fixtures") => fixtures::write_all(&root().join("assets/fixtures"))
            .map(|written| {
                for path in written {
                    println!("wrote {}", path.display());
                }
            })
            .map_err(|e| format!("writing fixtures: {e}")),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command from the workspace root, echoing it first; fails with its exit status.
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let shown: Vec<String> = envs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(std::iter::once(program.to_string()))
        .chain(args.iter().map(|a| a.to_string()))
        .collect();
    println!("\n$ {}", shown.join(" "));
    let status = command(program, args, envs)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", shown.join(" ")))
    }
}

/// A command run from the workspace root as a plain shell would run it.
fn command(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root());
    // Run as a plain shell would: without the `CARGO_PKG_*`, `CARGO_MANIFEST_*`… variables that
    // `cargo run` gave xtask. Build scripts that watch them (ring does) would otherwise rebuild
    // the whole AWS SDK whenever xtask and a shell take turns in the same target directory.
    for (key, _) in env::vars_os() {
        let name = key.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(&key);
        }
    }
    command
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// moto_server is the local AWS the tests and the demo run against.
fn ensure_moto() -> Result<(), String> {
    if has("moto_server") {
        return Ok(());
    }
    println!("moto_server not found: installing it with pip");
    let pip = if has("pip3") { "pip3" } else { "pip" };
    run(pip, &["install", "--quiet", "moto[server]==5.2.1"], &[])?;
    if has("moto_server") {
        Ok(())
    } else {
        Err(
            "moto_server is still not on PATH after `pip install 'moto[server]'`; add pip's \
             scripts directory to PATH"
                .into(),
        )
    }
}

/// tmux drives the dashboard in the end-to-end tests.
fn ensure_tmux() -> Result<(), String> {
    if has("tmux") {
        return Ok(());
    }
    println!("tmux not found: installing it with apt-get");
    run("apt-get", &["install", "-y", "-qq", "tmux"], &[])
        .or_else(|_| {
            run("apt-get", &["update", "-qq"], &[])?;
            run("apt-get", &["install", "-y", "-qq", "tmux"], &[])
        })
        .map_err(|e| format!("{e}; install tmux with your package manager"))
}

fn ci() -> Result<(), String> {
    ensure_moto()?;
    ensure_tmux()?;
    println!(
        "\nChecks: format, clippy, every test (unit, against moto, the dashboard under tmux), \
         docs. From an empty target directory on 2 cores: about 20 min, 7 GB in {} (after \
         `cargo xtask demo`: about 15 min).",
        target_dir().display()
    );
    run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    let reliability = target_dir().join("debug").join("reliability");
    let _ = std::fs::remove_dir_all(&reliability);
    let calls = target_dir().join("debug").join("calls");
    let _ = std::fs::remove_dir_all(&calls);
    let calls_env = calls.display().to_string();
    if has("cargo-nextest") {
        run(
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ],
            &[("HAVEN_CALLS_DIR", &calls_env)],
        )?;
    } else {
        run(
            "cargo",
            &["test", "--workspace", "--locked", "--no-fail-fast"],
            &[("HAVEN_CALLS_DIR", &calls_env)],
        )?;
    }
    print_reliability(&reliability)?;
    check_permissions(&calls)?;
    // Doc tests (nextest does not run them).
    run("cargo", &["test", "--workspace", "--locked", "--doc"], &[])?;
    run(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    println!("\nxtask ci: all checks passed");
    Ok(())
}

/// The Cargo target directory (CARGO_TARGET_DIR, else `target` in the workspace).
fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Sums what the reliability tests recorded and prints one summary; a duplicate, a resource
/// left behind, a leaked secret or a mutating call in read-only mode fails CI even if a test
/// forgot to assert it.
fn print_reliability(dir: &Path) -> Result<(), String> {
    const FIELDS: [&str; 7] = [
        "faults_injected",
        "runs",
        "resources_checked",
        "duplicates",
        "left_behind",
        "secrets_found",
        "read_only_mutations",
    ];
    let mut totals = [0_u64; 7];
    let mut tests = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let record: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        tests += 1;
        for (total, field) in totals.iter_mut().zip(FIELDS) {
            *total += record[field].as_u64().unwrap_or(0);
        }
    }
    println!(
        "\nreliability ({tests} suites): faults injected {}, runs {}, resources checked {}, \
         duplicates found {}, resources left behind {}, secrets found in outputs {}, mutating \
         calls in read-only mode {}",
        totals[0], totals[1], totals[2], totals[3], totals[4], totals[5], totals[6]
    );
    if totals[3..].iter().any(|n| *n > 0) {
        return Err("the reliability summary is not clean".to_string());
    }
    Ok(())
}

/// Every API call the suite's proxies saw must be in `haven iam-policy`.
fn check_permissions(dir: &Path) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        seen.extend(text.lines().map(str::to_string));
    }
    let missing: Vec<&String> = seen
        .iter()
        .filter(|line| {
            let (service, action) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            !haven_model::permissions::covers(service, action)
        })
        .collect();
    println!(
        "iam-policy: {} distinct API calls seen by the test proxies, {} not in the policy",
        seen.len(),
        missing.len()
    );
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "calls missing from haven_model::permissions (haven iam-policy): {missing:?}"
        ))
    }
}

/// A moto_server child that is stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Result<Moto, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
        .port();
    let log = env::temp_dir().join(format!("haven-moto-{port}.log"));
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err_file = log_file
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    println!(
        "$ moto_server -H 127.0.0.1 -p {port}   (log: {})",
        log.display()
    );
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        // moto issues a DNS-validated certificate this many seconds after the request, whether
        // or not its validation record exists (AWS: once the record resolves).
        .env("MOTO_ACM_VALIDATION_WAIT", "1")
        .stdout(log_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| format!("cannot start moto_server: {e}"))?;
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(moto);
        }
        sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto_server did not start within 60 s; see {}",
        log.display()
    ))
}

fn demo(open_dashboard: bool) -> Result<(), String> {
    ensure_moto()?;
    // One build of the workspace's binaries with the workspace's feature set, then the binaries
    // themselves: `cargo run -p` of each package resolves its own feature set, which compiled
    // the AWS SDK three times on a first run.
    println!(
        "\nBuilding haven. The first build compiles the AWS SDK: about 4 min on 2 cores, 3 GB in \
         {}; later runs take seconds.",
        target_dir().display()
    );
    run("cargo", &["build", "--workspace", "--bins"], &[])?;
    let haven = bin("haven");
    let moto = start_moto()?;
    // moto does not speak CloudWatch's protocol of the AWS SDK for Rust (Smithy RPC v2 CBOR):
    // haven talks to moto through the test proxy, which translates.
    let proxy = start_proxy(&moto.endpoint)?;
    let aws_env: [(&str, &str); 4] = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_ENDPOINT_URL", &proxy.endpoint),
    ];
    // The lab is built the way a user builds it: the blueprint, `haven up`, `haven replicate`.
    let blueprint = demo_blueprint()?;
    println!(
        "\nThe lab stack in ap-northeast-2 and its DR network in us-east-1, with its front door \
         (lab.example.com in Route 53, HTTPS with an ACM certificate), from the blueprint \
         {blueprint}:"
    );
    run(&haven, &["up", &blueprint, "--yes"], &aws_env)?;
    let key = kms_key(&moto.endpoint, DR_REGION)?;
    println!(
        "\nA KMS key in {DR_REGION} for the encrypted DR copies (on AWS: `aws kms create-key \
         --region {DR_REGION}`): {key}"
    );
    // moto cannot copy RDS's automated snapshots (`rds:…`); AWS can. A manual snapshot, as an
    // operator takes before a change, is the newest one and is copied instead.
    println!("\nA manual snapshot of the database (moto cannot copy the automated ones):");
    run(
        &haven,
        &[
            "--region",
            "ap-northeast-2",
            "act",
            "--yes",
            "rds-snapshot",
            "lab-db",
            "--snapshot-id",
            "lab-db-demo",
        ],
        &aws_env,
    )?;
    println!("\nThe DR copies and the cross-Region read replica:");
    let kms = format!("{DR_REGION}={key}");
    if let Err(error) = run(
        &haven,
        &[
            "replicate",
            "--blueprint",
            &blueprint,
            "--yes",
            "--kms-key",
            &kms,
        ],
        &aws_env,
    ) {
        println!("({error}: the dashboard's :dr view shows what is missing)");
    }
    let regions = format!("{},{DR_REGION}", "ap-northeast-2");
    // moto generates no metrics: an hour of plausible ones for what the lab is made of.
    println!("\nAn hour of CloudWatch metrics for the lab (moto makes none of its own):");
    if let Err(error) = demo_metrics(&haven, &proxy.endpoint, &regions, &aws_env) {
        println!("({error}: the dashboard shows no sparklines)");
    }
    if open_dashboard {
        run(&haven, &["--regions", &regions], &aws_env)?;
    } else {
        println!(
            "\nThe lab runs at {}. In another shell:\n  export AWS_ACCESS_KEY_ID=test \
             AWS_SECRET_ACCESS_KEY=test AWS_MAX_ATTEMPTS=1 AWS_ENDPOINT_URL={}\n  {haven} --regions \
             {regions}\nPress Enter to stop moto.",
            moto.endpoint, proxy.endpoint,
        );
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    drop(proxy);
    drop(moto);
    Ok(())
}

/// Feeds moto an hour of metrics for the lab as haven discovers it: `haven snapshot` into a file,
/// then `haven-lab metrics`.
fn demo_metrics(
    haven: &str,
    endpoint: &str,
    regions: &str,
    aws_env: &[(&str, &str)],
) -> Result<(), String> {
    let file = target_dir().join("demo").join("topology.json");
    let output = command(
        haven,
        &["--regions", regions, "snapshot", "--output", "json"],
        aws_env,
    )
    .output()
    .map_err(|e| format!("cannot start haven: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "haven snapshot failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(&file, &output.stdout).map_err(|e| format!("{}: {e}", file.display()))?;
    let file = file.display().to_string();
    run(&bin("haven-lab"), &["metrics", endpoint, &file], &[])
}

/// A built binary of the workspace.
fn bin(name: &str) -> String {
    target_dir()
        .join("debug")
        .join(format!("{name}{}", env::consts::EXE_SUFFIX))
        .display()
        .to_string()
}

/// `haven-proxy` in front of moto, stopped when dropped (its standard input closes).
struct ProxyChild {
    child: Child,
    endpoint: String,
}

impl Drop for ProxyChild {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(moto: &str) -> Result<ProxyChild, String> {
    use std::io::BufRead;
    let mut child = Command::new(bin("haven-proxy"))
        .arg(moto)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start haven-proxy: {e}"))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    }
    // `proxy http://127.0.0.1:PORT -> MOTO`
    let endpoint = line
        .split_whitespace()
        .nth(1)
        .filter(|e| e.starts_with("http://"))
        .map(str::to_string);
    let mut proxy = ProxyChild {
        child,
        endpoint: String::new(),
    };
    match endpoint {
        Some(endpoint) => {
            println!("$ haven-proxy {moto}   (CloudWatch's protocol for moto) -> {endpoint}");
            proxy.endpoint = endpoint;
            Ok(proxy)
        }
        None => Err(format!(
            "haven-proxy did not name its endpoint (it said {line:?})"
        )),
    }
}

/// The front door the demo gives the lab: the blueprint's commented `[dns]` and `[https]`, with a
/// hosted zone of its own (on AWS the zone must be delegated to Route 53 for ACM to validate the
/// certificate; in moto it need not be).
const DEMO_FRONT_DOOR: &str = r#"
[dns]
zone = "example.com"
create_zone = true
record = "lab.example.com"

[https]
certificate = "request"
"#;

/// The lab blueprint with [`DEMO_FRONT_DOOR`], written beside a copy of its user data in the
/// target directory (a blueprint names its user data relative to itself).
fn demo_blueprint() -> Result<String, String> {
    let source = root().join("assets/blueprints");
    let dir = target_dir().join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let read = |name: &str| {
        std::fs::read_to_string(source.join(name))
            .map_err(|e| format!("{}: {e}", source.join(name).display()))
    };
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write("lab-user-data.sh", &read("lab-user-data.sh")?)?;
    write("lab.toml", &(read("lab.toml")? + DEMO_FRONT_DOOR))?;
    Ok(dir.join("lab.toml").display().to_string())
}

/// The lab blueprint's DR Region.
const DR_REGION: &str = "us-east-1";

/// Creates a KMS key in moto (haven does not manage KMS; on AWS the operator makes it) and
/// returns its ARN.
fn kms_key(endpoint: &str, region: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = r#"{"Description":"haven demo: DR copies"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.CreateKey\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=test/20260101/{region}/kms/aws4_request, SignedHeaders=host, \
         Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let failed = |e: &dyn std::fmt::Display| format!("creating a KMS key in moto: {e}");
    let mut stream = std::net::TcpStream::connect(address).map_err(|e| failed(&e))?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| failed(&e))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| failed(&e))?;
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, json)| json)
        .unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| failed(&e))?;
    value["KeyMetadata"]["Arn"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| failed(&format!("no key in the answer: {json}")))
}
