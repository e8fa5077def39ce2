//! `haven plan` refuses every invalid blueprint under `tests/fixtures/blueprints/invalid/` with
//! one line naming `file:line:column` and what would be valid, exit status 2, and no request
//! sent; a valid blueprint plans against moto with read-only calls only.

use std::path::{Path, PathBuf};

use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::{haven, isolated};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Every invalid fixture with the `line:column` its header says the error points at.
fn invalid_blueprints() -> Vec<(PathBuf, String)> {
    let dir = workspace().join("tests/fixtures/blueprints/invalid");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("fixture");
            let expect = text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{} has no `# expect: line:col`", path.display()))
                .to_string();
            (path, expect)
        })
        .collect();
    files.sort();
    files
}

fn check_refusal(output: &std::process::Output, path: &Path, position: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = path.display();
    assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
    assert!(output.stdout.is_empty(), "{name}: stdout not empty");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{name}: one line expected, got:\n{stderr}"
    );
    let prefix = format!("haven: {name}:{position}: ");
    assert!(
        stderr.starts_with(&prefix),
        "{name}: expected {prefix:?}, got {stderr}"
    );
    assert!(
        stderr.contains("expected") || stderr.contains("valid"),
        "{name}: no hint of what is valid: {stderr}"
    );
}

#[test]
fn at_least_25_invalid_blueprints_are_refused_with_their_position() {
    let files = invalid_blueprints();
    assert!(files.len() >= 25, "only {} fixtures", files.len());
    let home = tempfile::tempdir().expect("temp dir");
    for (path, position) in &files {
        let output = isolated(&home)
            .arg("plan")
            .arg(path)
            .output()
            .expect("run haven");
        check_refusal(&output, path, position);
    }
}

#[test]
fn an_invalid_blueprint_sends_no_request_from_plan_up_or_down() {
    let proxy = Proxy::start("http://127.0.0.1:1", Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    for (path, position) in invalid_blueprints() {
        for command in ["plan", "up", "down"] {
            let output = haven(&proxy.endpoint(), &home)
                .args(
                    [command, "--yes"]
                        .iter()
                        .take(if command == "plan" { 1 } else { 2 }),
                )
                .arg(&path)
                .output()
                .expect("run haven");
            check_refusal(&output, &path, &position);
            assert!(
                proxy.requests().is_empty(),
                "haven {command} {}: requests were sent: {:?}",
                path.display(),
                proxy.requests()
            );
        }
    }
}

#[test]
fn a_missing_blueprint_file_is_a_usage_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let output = isolated(&home)
        .args(["plan", "no/such/blueprint.toml"])
        .output()
        .expect("run haven");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read blueprint no/such/blueprint.toml"),
        "{stderr}"
    );
}

#[test]
fn the_lab_plans_against_moto_with_read_only_calls() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let lab = workspace().join("assets/blueprints/lab.toml");
    let output = haven(&proxy.endpoint(), &home)
        .arg("plan")
        .arg(&lab)
        .output()
        .expect("run haven");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "haven plan failed: {stderr}");
    assert!(
        stdout.starts_with("plan for stack lab in ap-northeast-2: "),
        "{stdout}"
    );
    for resource in [
        "vpc/vpc",
        "internet-gateway/igw",
        "subnet/public-ap-northeast-2a",
        "subnet/public-ap-northeast-2b",
        "subnet/private-ap-northeast-2a",
        "subnet/private-ap-northeast-2b",
        "elastic-ip/nat-eip-ap-northeast-2a",
        "nat-gateway/nat-ap-northeast-2a",
        "nat-gateway/nat-ap-northeast-2b",
        "route-table/public-rt",
        "route-table/private-rt-ap-northeast-2a",
        "route-table/private-rt-ap-northeast-2b",
        "vpc-endpoint/s3-endpoint",
        "security-group/alb-sg",
        "security-group/app-sg",
        "security-group/db-sg",
        "iam-role/SSMInstanceRole",
        "instance-profile/SSMInstanceProfile",
        "iam-group/lab-operators",
        "iam-user/alice",
        "launch-template/launch-template",
        "target-group/target-group",
        "load-balancer/load-balancer",
        "listener/listener-80",
        "auto-scaling-group/asg",
        "scaling-policy/cpu-target",
        "db-subnet-group/db-subnet-group",
        "db-instance/db",
        "db-read-replica/lab-db-replica-1",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("create ") && l.contains(&format!(" {resource} "))),
            "no create step for {resource}:\n{stdout}"
        );
    }
    assert!(
        !stdout.lines().skip(1).any(|l| l.starts_with("delete")),
        "{stdout}"
    );
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "discovery made no call");
    for request in &requests {
        let read_only = ["Describe", "List", "Get"]
            .iter()
            .any(|prefix| request.action.starts_with(prefix));
        assert!(
            read_only,
            "mutating call {} to {}",
            request.action, request.service
        );
    }

    let json = haven(&proxy.endpoint(), &home)
        .args(["plan", "--output", "json"])
        .arg(&lab)
        .output()
        .expect("run haven");
    assert!(json.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("plan JSON");
    assert_eq!(plan["stack"], "lab");
    assert!(plan["steps"].as_array().is_some_and(|s| s.len() >= 29));
}
