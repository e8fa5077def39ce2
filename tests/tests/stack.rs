//! `haven up` and `haven down` with the real binary against moto: the lab is built with every
//! relation, a second `up` sends nothing, `up` killed at any point converges without duplicates,
//! `down` leaves nothing tagged with the stack, and the database password shows up nowhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use haven_model::{RulePeer, Tags, Topology};
use haven_testkit::proxy::percent_decode;
use haven_testkit::{Faults, MotoServer, Proxy, Realism, RecordedRequest};
use haven_tests::{
    Reliability, haven, haven_process, inventory, is_mutating, logical, moto_json,
    record_reliability, text,
};
use serde_json::Value;

const PRIMARY: &str = "ap-northeast-2";
const AZS: [&str; 2] = ["ap-northeast-2a", "ap-northeast-2b"];

fn lab_blueprint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("assets/blueprints/lab.toml")
}

fn mutating(proxy: &Proxy) -> Vec<String> {
    proxy
        .requests()
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| format!("{} {}", r.service, r.action))
        .collect()
}

fn run(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> Output {
    haven(endpoint, home)
        .args(args)
        .output()
        .expect("run haven")
}

fn up(endpoint: &str, home: &tempfile::TempDir) -> Output {
    let output = haven(endpoint, home)
        .arg("up")
        .arg(lab_blueprint())
        .args(["--output", "json"])
        .output()
        .expect("run haven up");
    assert!(
        output.status.success(),
        "haven up failed: {}",
        text(&output)
    );
    output
}

fn down(endpoint: &str, home: &tempfile::TempDir) -> Output {
    let output = haven(endpoint, home)
        .arg("down")
        .arg(lab_blueprint())
        .arg("--yes")
        .output()
        .expect("run haven down");
    assert!(
        output.status.success(),
        "haven down failed: {}",
        text(&output)
    );
    output
}

fn snapshot(endpoint: &str, home: &tempfile::TempDir) -> (Topology, String) {
    let output = run(
        endpoint,
        home,
        &["--region", PRIMARY, "snapshot", "--output", "json"],
    );
    assert!(
        output.status.success(),
        "snapshot failed: {}",
        text(&output)
    );
    let json = String::from_utf8_lossy(&output.stdout).into_owned();
    (Topology::from_json(&json).expect("topology JSON"), json)
}

/// The master password RDS made, read from moto's Secrets Manager (haven itself has no client
/// for it, and that is the point).
fn secret_password(endpoint: &str, region: &str, arn: &str) -> String {
    let value = moto_json(
        endpoint,
        region,
        "secretsmanager",
        "secretsmanager.GetSecretValue",
        &serde_json::json!({ "SecretId": arn }),
    );
    let secret: Value = serde_json::from_str(value["SecretString"].as_str().expect("SecretString"))
        .expect("secret JSON");
    secret["password"]
        .as_str()
        .expect("password in the secret")
        .to_string()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn up_builds_the_lab_a_second_up_sends_nothing_and_down_removes_it() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");

    let first = up(&proxy.endpoint(), &home);
    let summary: Value = serde_json::from_slice(&first.stdout).expect("up --output json");
    assert_eq!(summary["stack"], "lab");
    assert_eq!(summary["changed"], 31, "{summary:#}");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("[31/31] create db-read-replica/lab-db-replica-1  done"),
        "a progress line per step: {stderr}"
    );
    // Every mutating call went to the blueprint's Region or to IAM, but the DR network's in
    // the `[dr]` Region: a VPC, subnets, security groups and a DB subnet group, nothing billed
    // by the hour.
    let dr_network = [
        "CreateVpc",
        "ModifyVpcAttribute",
        "CreateSubnet",
        "CreateSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "CreateDBSubnetGroup",
    ];
    let requests = proxy.requests();
    let sent: Vec<&RecordedRequest> = requests.iter().filter(|r| is_mutating(&r.action)).collect();
    assert!(
        sent.iter().all(|r| r.region == PRIMARY
            || r.service == "iam"
            || (r.region == "us-east-1" && dr_network.contains(&r.action.as_str()))),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|r| r.region == "us-east-1" && r.action == "CreateDBSubnetGroup"),
        "the DR network is built: {sent:?}"
    );

    let (topology, snapshot_json) = snapshot(&moto.endpoint(), &home);
    let region = topology.region(PRIMARY).expect("primary");
    let by_logical = |tags: &Tags, wanted: &str| logical(tags) == Some(wanted);
    let vpc = region
        .vpcs
        .iter()
        .find(|v| by_logical(&v.tags, "vpc"))
        .expect("the stack's VPC");
    assert_eq!(vpc.cidr_block, "10.0.0.0/16");
    for az in AZS {
        let subnet = |tier: &str| {
            region
                .subnets
                .iter()
                .find(|s| by_logical(&s.tags, &format!("{tier}-{az}")))
                .unwrap_or_else(|| panic!("{tier} subnet in {az}"))
        };
        let (public, private) = (subnet("public"), subnet("private"));
        assert_eq!(public.availability_zone, az);
        assert!(region.subnet_is_public(&public.id), "public-{az} is public");
        // Security Hub EC2.15: no subnet of the stack auto-assigns public IPv4.
        assert!(!public.map_public_ip_on_launch, "public-{az} auto-assigns");
        assert!(!region.subnet_is_public(&private.id), "private-{az}");
        // One NAT per AZ: each private subnet goes out through the NAT of its own AZ.
        assert_eq!(region.nat_az_for_subnet(&private.id), Some(az));
    }
    // The security-group chain, by reference.
    let group = |l: &str| {
        region
            .security_groups
            .iter()
            .find(|g| by_logical(&g.tags, l))
            .unwrap_or_else(|| panic!("{l}"))
    };
    let (alb, app, db) = (group("alb-sg"), group("app-sg"), group("db-sg"));
    assert_eq!(app.ingress.len(), 1);
    assert_eq!(app.ingress[0].peer, RulePeer::SecurityGroup(alb.id.clone()));
    assert_eq!(app.ingress[0].from_port, Some(80));
    assert_eq!(db.ingress.len(), 1);
    assert_eq!(db.ingress[0].peer, RulePeer::SecurityGroup(app.id.clone()));
    assert_eq!(db.ingress[0].from_port, Some(3306));
    // Launch template, group, load balancer.
    let template = &region.launch_templates[0];
    let version = &template.versions[0];
    assert_eq!(
        version
            .metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.as_deref()),
        Some("required")
    );
    assert!(version.has_user_data);
    let asg = region
        .auto_scaling_groups
        .iter()
        .find(|a| by_logical(&a.tags, "asg"))
        .expect("ASG");
    assert_eq!(asg.health_check_type, "ELB");
    assert_eq!(asg.health_check_grace_period, Some(300));
    assert_eq!(
        asg.launch_template
            .as_ref()
            .and_then(|t| t.version.as_deref()),
        Some("1"),
        "pinned to a version number"
    );
    assert_eq!(asg.instances.len(), 2);
    assert_eq!(asg.policies.len(), 1);
    let tg = region
        .target_groups
        .iter()
        .find(|t| t.name == "lab-tg")
        .expect("target group");
    assert_eq!(tg.health_check.path.as_deref(), Some("/health"));
    assert_eq!(tg.health_check.interval_seconds, Some(15));
    assert_eq!(asg.target_group_arns, vec![tg.arn.clone()]);
    let lb = region
        .load_balancers
        .iter()
        .find(|l| l.name == "lab-alb")
        .expect("ALB");
    assert_eq!(lb.zones.len(), 2);
    assert_eq!(lb.security_group_ids, vec![alb.id.clone()]);
    assert_eq!(lb.listeners.len(), 1);
    // The database: Multi-AZ writer with its password in Secrets Manager, and a replica.
    let writer = region
        .db_instances
        .iter()
        .find(|d| d.identifier == "lab-db")
        .expect("lab-db");
    assert!(writer.multi_az);
    assert_eq!(writer.backup_retention_days, 7);
    // Security Hub RDS.3, RDS.9, RDS.10, RDS.13, RDS.17 and RDS.25, met at creation.
    assert!(writer.storage_encrypted);
    assert_eq!(
        writer.cloudwatch_logs_exports,
        ["audit", "error", "general", "slowquery"]
    );
    assert_eq!(writer.security.iam_database_authentication, Some(true));
    assert!(writer.auto_minor_version_upgrade);
    assert_eq!(writer.security.copy_tags_to_snapshot, Some(true));
    assert_eq!(writer.security.master_username.as_deref(), Some("dbadmin"));
    let replica = region
        .db_instances
        .iter()
        .find(|d| d.identifier == "lab-db-replica-1")
        .expect("replica");
    assert!(
        replica
            .read_replica_source
            .as_deref()
            .is_some_and(|s| s.ends_with("lab-db")),
        "{:?}",
        replica.read_replica_source
    );
    // B8: the replica lives in another AZ than its source.
    assert!(
        replica.availability_zone.is_some()
            && replica.availability_zone != writer.availability_zone,
        "{:?} / {:?}",
        replica.availability_zone,
        writer.availability_zone
    );
    let iam = topology.iam.as_ref().expect("IAM");
    let profile = iam
        .instance_profiles
        .iter()
        .find(|p| p.name == "SSMInstanceProfile")
        .expect("profile");
    assert_eq!(profile.role_names, vec!["SSMInstanceRole".to_string()]);
    assert!(
        iam.users
            .iter()
            .any(|u| u.name == "alice" && u.groups == vec!["lab-operators".to_string()])
    );
    assert_eq!(
        iam.password_policy.as_ref().and_then(|p| p.minimum_length),
        Some(14)
    );

    // A second `up` finds everything and sends no mutating call.
    proxy.clear_requests();
    let second = up(&proxy.endpoint(), &home);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("stack lab is up to date"),
        "{}",
        text(&second)
    );
    assert_eq!(mutating(&proxy), Vec::<String>::new());
    assert!(!proxy.requests().is_empty(), "the second up did discover");

    // B6: the scaling policy scaled the group out (here by hand) and someone raised its max.
    // The max is drift that `up` puts back; the desired capacity is the policy's and stays.
    let scaled = run(
        &moto.endpoint(),
        &home,
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "asg-set-capacity",
            "lab-asg",
            "--desired",
            "3",
            "--max",
            "5",
        ],
    );
    assert!(scaled.status.success(), "{}", text(&scaled));
    let blueprint = lab_blueprint();
    let blueprint = blueprint.to_str().expect("path");
    let drift = run(&moto.endpoint(), &home, &["plan", blueprint]);
    let drift = text(&drift);
    assert!(
        drift.contains("max size 5 → 4 (changed outside haven)") && !drift.contains("desired"),
        "{drift}"
    );
    proxy.clear_requests();
    let fixed = up(&proxy.endpoint(), &home);
    assert_eq!(
        mutating(&proxy),
        vec!["autoscaling UpdateAutoScalingGroup"],
        "{}",
        text(&fixed)
    );
    let update = proxy
        .requests()
        .into_iter()
        .find(|r| r.action == "UpdateAutoScalingGroup")
        .expect("update");
    let body = String::from_utf8_lossy(&update.body).into_owned();
    assert!(
        body.contains("MaxSize=4") && !body.contains("DesiredCapacity"),
        "{body}"
    );
    let (after_fix, _) = snapshot(&moto.endpoint(), &home);
    let group = after_fix
        .region(PRIMARY)
        .expect("primary")
        .auto_scaling_groups[0]
        .clone();
    assert_eq!((group.max_size, group.desired_capacity), (4, 3));

    // The password RDS made is nowhere haven writes.
    let secret_arn = writer
        .master_user_secret_arn
        .as_deref()
        .expect("RDS manages the password");
    let password = secret_password(&moto.endpoint(), PRIMARY, secret_arn);
    assert!(password.len() >= 8, "a real password: {password:?}");
    let plan = run(
        &moto.endpoint(),
        &home,
        &["plan", blueprint, "--output", "json"],
    );
    assert!(plan.status.success(), "{}", text(&plan));
    let mut seen = vec![
        ("first up".to_string(), text(&first)),
        ("second up".to_string(), text(&second)),
        ("snapshot".to_string(), snapshot_json),
        ("plan".to_string(), text(&plan)),
    ];

    // `down` asks first; without a terminal it needs --yes and sends nothing.
    proxy.clear_requests();
    let refused = haven(&proxy.endpoint(), &home)
        .arg("down")
        .arg(lab_blueprint())
        .output()
        .expect("run haven down");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("add --yes"), "{}", text(&refused));
    assert_eq!(mutating(&proxy), Vec::<String>::new());

    let gone = down(&proxy.endpoint(), &home);
    seen.push(("down".to_string(), text(&gone)));
    let (after, _) = snapshot(&moto.endpoint(), &home);
    assert_eq!(inventory(&after), BTreeMap::new(), "left behind");
    let again = down(&proxy.endpoint(), &home);
    assert!(
        text(&again).contains("nothing to delete"),
        "{}",
        text(&again)
    );

    for file in files_under(home.path()) {
        let content = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned();
        seen.push((file.display().to_string(), content));
    }
    let leaks: Vec<&str> = seen
        .iter()
        .filter(|(_, content)| content.contains(&password))
        .map(|(what, _)| what.as_str())
        .collect();
    record_reliability(
        "secrets",
        &Reliability {
            runs: 6,
            resources_checked: seen.len(),
            secrets_found: leaks.len(),
            ..Reliability::default()
        },
    );
    assert_eq!(leaks, Vec::<&str>::new(), "the DB password appears there");
}

#[test]
fn up_with_read_only_sends_nothing() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let output = haven(&proxy.endpoint(), &home)
        .arg("--read-only")
        .arg("up")
        .arg(lab_blueprint())
        .output()
        .expect("run haven up");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("read-only mode"),
        "{}",
        text(&output)
    );
    assert_eq!(mutating(&proxy), Vec::<String>::new());
}

/// Starts `haven up` and kills it (SIGKILL) once `calls` mutating requests have gone through.
fn interrupted_up(proxy: &Proxy, home: &tempfile::TempDir, calls: usize) {
    let mut child = haven_process(&proxy.endpoint(), home)
        .arg("up")
        .arg(lab_blueprint())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haven up");
    let started = Instant::now();
    while mutating(proxy).len() < calls
        && child.try_wait().expect("poll").is_none()
        && started.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().ok();
    child.wait().expect("reap haven up");
}

#[test]
fn up_killed_at_any_point_converges_to_the_same_stack_and_down_cleans_up_after_it() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    up(&proxy.endpoint(), &home);
    let whole = inventory(&snapshot(&moto.endpoint(), &home).0);
    assert!(whole.len() > 25, "{whole:?}");
    assert!(
        whole.iter().all(|(k, n)| *n == 1 || k == "instance/app"),
        "{whole:?}"
    );

    for calls in [1, 3, 7, 12, 18, 24, 30, 37, 43, 48] {
        moto.reset().expect("reset moto");
        proxy.clear_requests();
        interrupted_up(&proxy, &home, calls);
        let partial = mutating(&proxy).len();
        up(&proxy.endpoint(), &home);
        let (topology, _) = snapshot(&moto.endpoint(), &home);
        assert_eq!(
            inventory(&topology),
            whole,
            "killed after {partial} mutating call(s), the next up did not converge"
        );
        proxy.clear_requests();
        up(&proxy.endpoint(), &home);
        assert_eq!(
            mutating(&proxy),
            Vec::<String>::new(),
            "killed after {calls}: a third up still changes things"
        );
    }

    // `down` after a partial `up` leaves nothing either.
    moto.reset().expect("reset moto");
    proxy.clear_requests();
    interrupted_up(&proxy, &home, 21);
    let (partial, _) = snapshot(&moto.endpoint(), &home);
    assert!(!inventory(&partial).is_empty());
    down(&proxy.endpoint(), &home);
    let (after, _) = snapshot(&moto.endpoint(), &home);
    assert_eq!(inventory(&after), BTreeMap::new(), "left behind");
}

/// The form fields of a recorded query-protocol request.
fn form(request: &RecordedRequest) -> Vec<(String, String)> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

/// The `haven:logical` tag a create request gives its resource.
fn logical_in(fields: &[(String, String)]) -> Option<String> {
    let key = fields
        .iter()
        .find(|(k, v)| k.ends_with(".Key") && v == "haven:logical")?;
    let value_key = format!("{}.Value", key.0.trim_end_matches(".Key"));
    fields
        .iter()
        .find(|(k, _)| *k == value_key)
        .map(|(_, v)| v.clone())
}

/// Every client token haven chose so far (the SDK makes its own for some calls), by the logical
/// resource of its create call.
fn client_tokens(proxy: &Proxy) -> BTreeMap<String, Vec<String>> {
    let mut tokens = BTreeMap::<String, Vec<String>>::new();
    for request in proxy.requests() {
        let fields = form(&request);
        let token = fields
            .iter()
            .find(|(k, v)| k == "ClientToken" && v.starts_with("haven-"));
        if let (Some((_, token)), Some(logical)) = (token, logical_in(&fields)) {
            tokens.entry(logical).or_default().push(token.clone());
        }
    }
    tokens
}

#[test]
fn b1_up_after_down_sends_new_client_tokens_and_a_retried_create_the_same() {
    let moto = MotoServer::start().expect("moto");
    // The first NAT gateway request is refused: `up` stops there, and the next `up` of the same
    // build (same VPC) sends it again. With AWS realism the proxy also refuses a token reused
    // with other parameters, as EC2 does.
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none()
            .with_fail_action("CreateNatGateway", 503, 1)
            .with_realism(Realism::aws()),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let failed = haven(&proxy.endpoint(), &home)
        .env("AWS_MAX_ATTEMPTS", "1")
        .arg("up")
        .arg(lab_blueprint())
        .output()
        .expect("run haven up");
    assert!(!failed.status.success(), "{}", text(&failed));
    assert!(
        text(&failed).contains("ServiceUnavailable"),
        "{}",
        text(&failed)
    );
    up(&proxy.endpoint(), &home);
    // The other NAT gateway's request may have been cut off by the failure, after AWS got it:
    // then the second `up` found that gateway and did not ask again.
    let first_build = client_tokens(&proxy);
    for kind in ["s3-endpoint", "launch-template"] {
        assert!(first_build.contains_key(kind), "{first_build:?}");
    }
    let retried: Vec<&Vec<String>> = first_build.values().filter(|t| t.len() > 1).collect();
    assert_eq!(
        retried.len(),
        1,
        "the refused NAT was sent twice: {first_build:?}"
    );
    assert!(
        retried[0].iter().all(|t| *t == retried[0][0]),
        "a retry within a build sends the same token: {first_build:?}"
    );

    down(&proxy.endpoint(), &home);
    proxy.clear_requests();
    up(&proxy.endpoint(), &home);
    let second_build = client_tokens(&proxy);
    let expected = [
        "launch-template",
        "nat-ap-northeast-2a",
        "nat-ap-northeast-2b",
        "s3-endpoint",
    ];
    assert_eq!(second_build.keys().collect::<Vec<_>>(), expected);
    for (logical, tokens) in &second_build {
        let before = first_build.get(logical).cloned().unwrap_or_default();
        assert!(
            tokens.iter().all(|t| !before.contains(t)),
            "{logical}: the next build reuses a token ({tokens:?} vs {before:?})"
        );
    }
}

#[test]
fn waits_overlap_the_database_starts_early_and_both_nat_gateways_before_either_is_awaited() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let built = up(&proxy.endpoint(), &home);
    let mut requests = proxy.requests();
    requests.sort_by_key(|r| r.received_at);
    // Discovery before the plan describes NAT gateways too: look at the run from its first call.
    let start = requests
        .iter()
        .position(|r| r.action == "CreateVpc")
        .expect("CreateVpc");
    let requests = requests.split_off(start);
    let position = |action: &str| {
        requests
            .iter()
            .position(|r| r.action == action)
            .unwrap_or_else(|| panic!("no {action}"))
    };
    let first_nat_wait = position("DescribeNatGateways");
    let nat_creates: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.action == "CreateNatGateway")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(nat_creates.len(), 2);
    assert!(
        nat_creates.iter().all(|&i| i < first_nat_wait),
        "both NAT gateways are requested before either is awaited"
    );
    assert!(
        position("CreateDBInstance") < first_nat_wait,
        "the database is requested before the NAT gateways are awaited"
    );
    // The replica still waits for its source.
    assert!(position("CreateDBInstanceReadReplica") > position("CreateDBInstance"));
    // B2: the group is created once IAM shows the new profile holding its role.
    let profile_seen = position("GetInstanceProfile");
    assert!(
        position("AddRoleToInstanceProfile") < profile_seen
            && profile_seen < position("CreateAutoScalingGroup")
    );
    // Every wait says what it waits for, for how long so far, and what is usual.
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("create nat-gateway/nat-ap-northeast-2a")
                && l.contains("waiting for NAT gateway nat-")
                && l.contains("elapsed, typically 1–5 min")),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.contains("create db-instance/db")
            && l.contains("waiting for lab-db to be available")
            && l.contains("typically 10–25 min")),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_during_a_wait_says_what_aws_is_still_doing_and_that_up_follows_it() {
    use std::io::{BufRead, BufReader};

    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let mut child = haven_process(&proxy.endpoint(), &home)
        .arg("up")
        .arg(lab_blueprint())
        .args(["--output", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start haven up");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    // The database's first look comes after a pause: Ctrl-C lands while AWS creates it.
    for line in lines.by_ref() {
        let line = line.expect("read stderr");
        let waiting = line.contains("create db-instance/db") && line.contains("waiting for");
        seen.push(line);
        if waiting {
            let interrupt = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .expect("kill -INT");
            assert!(interrupt.success());
            break;
        }
    }
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().expect("reap haven up");
    let output = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{output}");
    assert!(
        output.contains("interrupted: haven stopped waiting, AWS did not stop; AWS is still working on:")
            && output.contains("db-instance/db (lab-db to be available: requested · ")
            && output.contains("typically 10–25 min")
            && output.contains("Run `haven up` again: it finds what exists and follows what is in progress to the end"),
        "{output}"
    );
    // And it does.
    up(&proxy.endpoint(), &home);
    let (topology, _) = snapshot(&moto.endpoint(), &home);
    let region = topology.region(PRIMARY).expect("primary");
    assert!(
        region
            .db_instances
            .iter()
            .any(|d| d.identifier == "lab-db-replica-1")
    );
}
