//! `haven down` never destroys data silently (B4) and names what blocks a delete instead of
//! retrying in silence (B8), with the real binary against moto.

use std::path::{Path, PathBuf};
use std::process::Output;

use haven_model::Topology;
use haven_testkit::{Faults, MotoServer, Proxy, Realism};
use haven_tests::{haven, is_mutating, moto_query, text, xml_value};

const PRIMARY: &str = "ap-northeast-2";

fn blueprints() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints")
}

/// The lab blueprint, or a copy of it (with its user-data script) edited by `edit`.
fn lab_with(dir: &tempfile::TempDir, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(blueprints().join("lab.toml")).expect("lab.toml");
    std::fs::copy(
        blueprints().join("lab-user-data.sh"),
        dir.path().join("lab-user-data.sh"),
    )
    .expect("copy user data");
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, edit(&text)).expect("write blueprint");
    path
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

fn ok(output: Output) -> Output {
    assert!(output.status.success(), "{}", text(&output));
    output
}

fn snapshot(endpoint: &str, home: &tempfile::TempDir) -> Topology {
    let output = ok(run(
        endpoint,
        home,
        &["--region", PRIMARY, "snapshot", "--output", "json"],
    ));
    Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("topology JSON")
}

#[test]
fn b4_down_keeps_a_final_snapshot_of_the_database_and_says_its_name() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, str::to_string);
    let lab = lab.to_str().expect("path");
    ok(run(&moto.endpoint(), &home, &["up", lab]));

    let down = ok(run(&moto.endpoint(), &home, &["down", lab, "--yes"]));
    let said = text(&down);
    assert!(
        said.contains("keeping the final snapshot(s) lab-db-final-"),
        "the run says what it keeps: {said}"
    );
    assert!(
        said.contains("delete, keeping a final snapshot lab-db-final-"),
        "the plan names the snapshot: {said}"
    );
    let after = snapshot(&moto.endpoint(), &home);
    let region = after.region(PRIMARY).expect("primary");
    assert!(region.db_instances.is_empty(), "{:?}", region.db_instances);
    let finals: Vec<&str> = region
        .db_snapshots
        .iter()
        .filter(|s| s.instance_identifier.as_deref() == Some("lab-db"))
        .map(|s| s.identifier.as_str())
        .filter(|name| name.starts_with("lab-db-final-"))
        .collect();
    assert_eq!(finals.len(), 1, "{:?}", region.db_snapshots);
    assert!(
        said.contains(finals[0]),
        "the name said is the one kept: {said}"
    );
}

#[test]
fn b4_down_with_no_final_snapshot_keeps_nothing() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, str::to_string);
    let lab = lab.to_str().expect("path");
    ok(run(&moto.endpoint(), &home, &["up", lab]));
    let down = ok(run(
        &moto.endpoint(),
        &home,
        &["down", lab, "--yes", "--no-final-snapshot"],
    ));
    assert!(text(&down).contains("NO final snapshot"), "{}", text(&down));
    let after = snapshot(&moto.endpoint(), &home);
    let region = after.region(PRIMARY).expect("primary");
    assert!(
        !region
            .db_snapshots
            .iter()
            .any(|s| s.identifier.contains("-final-")),
        "{:?}",
        region.db_snapshots
    );
}

#[test]
fn b4_down_refuses_a_protected_database_before_any_call_unless_forced() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, |text| {
        text.replace("deletion_protection = false", "deletion_protection = true")
    });
    let lab = lab.to_str().expect("path");
    ok(run(&proxy.endpoint(), &home, &["up", lab]));

    proxy.clear_requests();
    let refused = run(&proxy.endpoint(), &home, &["down", lab, "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = text(&refused);
    assert!(
        said.contains("lab-db (ap-northeast-2)") && said.contains("deletion protection on"),
        "{said}"
    );
    assert!(said.contains("--force"), "{said}");
    assert_eq!(mutating(&proxy), Vec::<String>::new(), "nothing was sent");
    let still = snapshot(&moto.endpoint(), &home);
    assert!(
        still
            .region(PRIMARY)
            .expect("primary")
            .db_instances
            .iter()
            .any(|d| d.identifier == "lab-db" && d.deletion_protection)
    );

    let forced = ok(run(
        &proxy.endpoint(),
        &home,
        &["down", lab, "--yes", "--force"],
    ));
    let after = snapshot(&moto.endpoint(), &home);
    let region = after.region(PRIMARY).expect("primary");
    assert!(region.db_instances.is_empty(), "{}", text(&forced));
    assert!(
        region
            .db_snapshots
            .iter()
            .any(|s| s.identifier.starts_with("lab-db-final-")),
        "--force still keeps the final snapshot: {:?}",
        region.db_snapshots
    );
}

#[test]
fn b8_down_names_a_subnet_made_by_hand_that_keeps_the_vpc_instead_of_waiting() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, str::to_string);
    let lab = lab.to_str().expect("path");
    ok(run(&moto.endpoint(), &home, &["up", lab]));
    let topology = snapshot(&moto.endpoint(), &home);
    let vpc = topology
        .region(PRIMARY)
        .expect("primary")
        .vpcs
        .iter()
        .find(|v| v.tags.get("haven:stack").map(String::as_str) == Some("lab"))
        .expect("the stack's VPC")
        .id
        .clone();
    // Someone else's subnet in the stack's VPC: haven never deletes it, so the VPC cannot go.
    let created = moto_query(
        &moto.endpoint(),
        PRIMARY,
        "ec2",
        &[
            ("Action", "CreateSubnet"),
            ("Version", "2016-11-15"),
            ("VpcId", &vpc),
            ("CidrBlock", "10.0.240.0/24"),
        ],
    );
    let subnet = xml_value(&created, "subnetId").expect("subnet id");

    let started = std::time::Instant::now();
    let down = run(
        &moto.endpoint(),
        &home,
        &[
            "down",
            lab,
            "--yes",
            "--no-final-snapshot",
            "--wait-timeout",
            "600",
        ],
    );
    assert_eq!(down.status.code(), Some(1), "{}", text(&down));
    let said = text(&down);
    assert!(
        said.contains(&format!("subnet {subnet}")) && said.contains("not part of stack lab"),
        "the blocker is named: {said}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "it stopped at once instead of waiting out --wait-timeout: {:?}",
        started.elapsed()
    );
}

#[test]
fn b8_down_deletes_a_user_with_an_ssh_key_and_a_virtual_mfa_device_and_the_device_too() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, str::to_string);
    let lab = lab.to_str().expect("path");
    ok(run(&moto.endpoint(), &home, &["up", lab]));
    let iam = |params: &[(&str, &str)]| {
        let mut all = params.to_vec();
        all.push(("Version", "2010-05-08"));
        moto_query(&moto.endpoint(), "us-east-1", "iam", &all)
    };
    // alice set up her own sign-in, as the blueprint expects people to.
    iam(&[
        ("Action", "UploadSSHPublicKey"),
        ("UserName", "alice"),
        (
            "SSHPublicKeyBody",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 alice@laptop",
        ),
    ]);
    let device = iam(&[
        ("Action", "CreateVirtualMFADevice"),
        ("VirtualMFADeviceName", "alice-phone"),
    ]);
    let serial = xml_value(&device, "SerialNumber").expect("serial number");
    iam(&[
        ("Action", "EnableMFADevice"),
        ("UserName", "alice"),
        ("SerialNumber", &serial),
        ("AuthenticationCode1", "123456"),
        ("AuthenticationCode2", "654321"),
    ]);

    ok(run(
        &moto.endpoint(),
        &home,
        &["down", lab, "--yes", "--no-final-snapshot"],
    ));
    let users = iam(&[("Action", "ListUsers")]);
    assert!(!users.contains("<UserName>alice</UserName>"), "{users}");
    let devices = iam(&[("Action", "ListVirtualMFADevices")]);
    assert!(
        !devices.contains(&serial),
        "the virtual MFA device went with its user: {devices}"
    );
}

#[test]
fn b7_down_lists_the_dr_copies_it_leaves_with_their_cost_and_include_dr_copies_plans_the_replica() {
    const DR: &str = "us-east-1";
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, str::to_string);
    let lab = lab.to_str().expect("path");
    let endpoint = moto.endpoint();
    ok(run(&endpoint, &home, &["up", lab]));
    ok(run(
        &endpoint,
        &home,
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "rds-snapshot",
            "lab-db",
            "--snapshot-id",
            "lab-db-manual-1",
        ],
    ));
    let key = haven_tests::kms_key(&endpoint, DR);
    ok(run(
        &endpoint,
        &home,
        &[
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            DR,
            "--yes",
            "--kms-key",
            &format!("{DR}={key}"),
        ],
    ));
    let dr_dbs = |home: &tempfile::TempDir| -> Vec<String> {
        let output = ok(run(
            &endpoint,
            home,
            &["--region", DR, "snapshot", "--output", "json"],
        ));
        let topology =
            Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("topology");
        topology
            .region(DR)
            .map(|r| {
                r.db_instances
                    .iter()
                    .map(|d| d.identifier.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let replicas = dr_dbs(&home);
    assert_eq!(replicas.len(), 1, "the DR replica exists: {replicas:?}");

    // With --include-dr-copies the plan deletes the DR replica first. (moto cannot delete a
    // cross-Region replica: it looks its source ARN up as an identifier and fails, so the plan
    // is checked read-only here; the delete itself is the one every replica gets.)
    let planned = run(
        &endpoint,
        &home,
        &["--read-only", "down", lab, "--include-dr-copies"],
    );
    assert_eq!(planned.status.code(), Some(2), "{}", text(&planned));
    let plan = text(&planned);
    let first = plan.lines().nth(1).unwrap_or_default();
    assert!(
        first.starts_with("delete")
            && first.contains(&format!("db-read-replica/{}", replicas[0]))
            && first.contains("--include-dr-copies"),
        "{plan}"
    );

    // Without it, down leaves them and says what they cost and how to remove them.
    let down = ok(run(
        &endpoint,
        &home,
        &["down", lab, "--yes", "--no-final-snapshot"],
    ));
    let said = text(&down);
    assert_eq!(dr_dbs(&home), replicas, "{said}");
    for wanted in [
        "left behind: 2 DR copy(ies)",
        &format!("DB instance {} (cross-Region read replica", replicas[0]),
        "billed per hour",
        "--include-dr-copies",
        "DB snapshot haven-lab-db-manual-1-from-ap-northeast-2",
        "per GB-month",
        "aws rds delete-db-snapshot --region us-east-1",
    ] {
        assert!(said.contains(wanted), "{wanted} in: {said}");
    }
}

#[test]
fn b4_after_a_failover_down_leaves_the_dr_region_alone_unless_it_is_named() {
    const DR: &str = "us-east-1";
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = lab_with(&dir, str::to_string);
    let lab = lab.to_str().expect("path");
    let endpoint = moto.endpoint();
    ok(run(&endpoint, &home, &["up", lab]));
    let key = haven_tests::kms_key(&endpoint, DR);
    // Only the cross-Region replica matters here (moto cannot copy the automated snapshot
    // replicate also picks, so the run reports that one failure).
    run(
        &endpoint,
        &home,
        &[
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            DR,
            "--yes",
            "--kms-key",
            &format!("{DR}={key}"),
        ],
    );
    // A promotion is done only when the replication link is gone, which moto never does: the
    // realism layer plays it.
    let proxy =
        Proxy::start(&endpoint, Faults::none().with_realism(Realism::aws())).expect("proxy");
    ok(run(
        &proxy.endpoint(),
        &home,
        &["failover-region", lab, "--to", DR, "--yes"],
    ));
    let dr = |home: &tempfile::TempDir| {
        let output = ok(run(
            &endpoint,
            home,
            &["--region", DR, "snapshot", "--output", "json"],
        ));
        Topology::from_json(&String::from_utf8_lossy(&output.stdout))
            .expect("topology")
            .region(DR)
            .cloned()
            .expect("DR Region")
    };
    let production = dr(&home);
    assert!(
        production
            .db_instances
            .iter()
            .any(|d| d.identifier == "lab-db-us-east-1"),
        "the promoted replica runs the stack"
    );

    // "Clean up the old primary": the DR Region, now production, is left alone.
    let cleaned = ok(run(
        &endpoint,
        &home,
        &["down", lab, "--yes", "--no-final-snapshot"],
    ));
    let said = text(&cleaned);
    assert!(
        said.contains("us-east-1: left untouched, a failover made it the home of stack lab")
            && said.contains("lab-db-us-east-1")
            && said.contains("--region us-east-1"),
        "{said}"
    );
    let after = dr(&home);
    assert_eq!(after.db_instances, production.db_instances, "{said}");
    assert_eq!(after.vpcs, production.vpcs);
    assert!(
        snapshot(&endpoint, &home)
            .region(PRIMARY)
            .expect("primary")
            .db_instances
            .is_empty(),
        "the old primary went: {said}"
    );

    // Named explicitly, it goes too (with its final snapshot).
    let named = ok(run(
        &endpoint,
        &home,
        &["--region", DR, "down", lab, "--yes"],
    ));
    let gone = dr(&home);
    assert!(gone.db_instances.is_empty(), "{}", text(&named));
    assert!(
        gone.db_snapshots
            .iter()
            .any(|s| s.identifier.starts_with("lab-db-us-east-1-final-")),
        "{:?}",
        gone.db_snapshots
    );
}
