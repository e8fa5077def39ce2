//! The acceptance scenarios of issue 15 with the real `haven` binary and AWS realism on (the
//! proxy plays AWS's lifecycle states, client tokens, propagation delays and failed launches
//! on top of moto): `up`/`down`/`up`/`down` of the lab, same-named IAM made by hand, a failed
//! launch during `act asg-set-capacity`, and `down` killed while RDS is deleting.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use haven_testkit::lab::{self, PRIMARY};
use haven_testkit::{Faults, INSUFFICIENT_CAPACITY, MotoServer, Proxy, Realism, RealismKind};
use haven_tests::{haven_process, inventory, moto_query, text};

fn lab_blueprint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("assets/blueprints/lab.toml")
}

/// Runs `command` to its end, or kills it after `limit`: (its output, whether it was killed).
fn run_for(mut command: Command, limit: Duration) -> (Output, bool) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start haven");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stdout.read_to_end(&mut buffer);
        buffer
    });
    let err = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stderr.read_to_end(&mut buffer);
        buffer
    });
    let started = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll haven") {
            break status;
        }
        if started.elapsed() > limit {
            killed = true;
            child.kill().ok();
            break child.wait().expect("reap haven");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    (output, killed)
}

fn haven_cmd(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> Command {
    let mut command = haven_process(endpoint, home);
    command.args(args);
    command
}

fn up(proxy: &Proxy, home: &tempfile::TempDir, extra: &[&str]) -> Output {
    let blueprint = lab_blueprint();
    let mut command = haven_cmd(&proxy.endpoint(), home, &["up"]);
    command.arg(&blueprint).args(extra);
    let (output, killed) = run_for(command, Duration::from_secs(600));
    assert!(
        !killed,
        "haven up still ran after 10 min: {}",
        text(&output)
    );
    output
}

fn down(proxy: &Proxy, home: &tempfile::TempDir) -> Output {
    let blueprint = lab_blueprint();
    let mut command = haven_cmd(&proxy.endpoint(), home, &["down"]);
    command.arg(&blueprint).arg("--yes");
    let (output, killed) = run_for(command, Duration::from_secs(600));
    assert!(
        !killed,
        "haven down still ran after 10 min: {}",
        text(&output)
    );
    output
}

fn succeeded(what: &str, output: &Output) {
    assert!(output.status.success(), "{what} failed: {}", text(output));
}

fn lab_inventory(
    moto: &MotoServer,
    home: &tempfile::TempDir,
) -> std::collections::BTreeMap<String, usize> {
    let command = haven_cmd(
        &moto.endpoint(),
        home,
        &["--region", PRIMARY, "snapshot", "--output", "json"],
    );
    let (output, _) = run_for(command, Duration::from_secs(120));
    succeeded("snapshot", &output);
    let topology = haven_model::Topology::from_json(&String::from_utf8_lossy(&output.stdout))
        .expect("topology JSON");
    inventory(&topology)
}

/// The identifiers of the manual DB snapshots moto holds in the primary Region.
fn db_snapshots(moto: &MotoServer) -> Vec<String> {
    let xml = moto_query(
        &moto.endpoint(),
        PRIMARY,
        "rds",
        &[("Action", "DescribeDBSnapshots"), ("Version", "2014-10-31")],
    );
    xml.split("<DBSnapshotIdentifier>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</DBSnapshotIdentifier>"))
        .map(|(id, _)| id.to_owned())
        .collect()
}

fn realism_proxy(moto: &MotoServer, realism: Realism) -> Proxy {
    Proxy::start(&moto.endpoint(), Faults::none().with_realism(realism)).expect("proxy")
}

#[test]
fn realism_up_down_up_down_of_the_lab_succeed_and_down_keeps_a_final_snapshot() {
    let moto = MotoServer::start().expect("moto");
    let proxy = realism_proxy(&moto, Realism::aws());
    let home = tempfile::tempdir().expect("temp dir");

    succeeded("the first up", &up(&proxy, &home, &[]));
    let built = lab_inventory(&moto, &home);
    assert!(built.contains_key("db/db"), "{built:?}");
    succeeded("the first down", &down(&proxy, &home));
    assert_eq!(
        lab_inventory(&moto, &home),
        Default::default(),
        "left behind"
    );
    let snapshots = db_snapshots(&moto);
    assert!(
        snapshots
            .iter()
            .any(|s| s.starts_with("lab-db") && !s.starts_with("lab-db-replica")),
        "down keeps a final snapshot of lab-db: {snapshots:?}"
    );

    // `up` after `down`: the client tokens of the first build must not come back.
    succeeded("the second up", &up(&proxy, &home, &[]));
    assert_eq!(lab_inventory(&moto, &home), built);
    succeeded("the second down", &down(&proxy, &home));
    assert_eq!(
        lab_inventory(&moto, &home),
        Default::default(),
        "left behind"
    );
    let events = proxy.realism_events();
    assert!(
        events.iter().any(|e| e.kind == RealismKind::DeleteDeferred),
        "realism played RDS deletes: {events:?}"
    );
    assert!(
        !events.iter().any(|e| e.kind == RealismKind::TokenMismatch),
        "no client token reused with other parameters: {events:?}"
    );
}

/// An IAM call made by hand, straight to moto: `action` and its parameters.
fn iam(moto: &MotoServer, action: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![("Action", action), ("Version", "2010-05-08")];
    all.extend_from_slice(params);
    moto_query(&moto.endpoint(), PRIMARY, "iam", &all)
}

#[test]
fn realism_up_stops_at_same_named_iam_it_did_not_create_and_adopts_it_only_when_asked() {
    let moto = MotoServer::start().expect("moto");
    let proxy = realism_proxy(&moto, Realism::aws());
    let home = tempfile::tempdir().expect("temp dir");
    // The blueprint's names, made by hand: default path, no haven tags, another trust.
    let lambda_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam(
        &moto,
        "CreateRole",
        &[
            ("RoleName", "SSMInstanceRole"),
            ("AssumeRolePolicyDocument", lambda_trust),
        ],
    );
    iam(&moto, "CreateGroup", &[("GroupName", "lab-operators")]);
    iam(&moto, "CreateUser", &[("UserName", "alice")]);
    let unchanged = |moto: &MotoServer| {
        let role = iam(moto, "GetRole", &[("RoleName", "SSMInstanceRole")]);
        let role_policies = iam(
            moto,
            "ListAttachedRolePolicies",
            &[("RoleName", "SSMInstanceRole")],
        );
        let group_policies = iam(
            moto,
            "ListAttachedGroupPolicies",
            &[("GroupName", "lab-operators")],
        );
        let groups = iam(moto, "ListGroupsForUser", &[("UserName", "alice")]);
        role.contains("lambda.amazonaws.com")
            && !role_policies.contains("AmazonSSMManagedInstanceCore")
            && !group_policies.contains("AdministratorAccess")
            && !groups.contains("lab-operators")
    };
    assert!(unchanged(&moto), "set up by hand");

    let refused = up(&proxy, &home, &[]);
    let said = text(&refused);
    assert!(!refused.status.success(), "up must stop: {said}");
    for name in ["SSMInstanceRole", "lab-operators", "alice", "--adopt"] {
        assert!(said.contains(name), "the message names {name}: {said}");
    }
    assert!(unchanged(&moto), "nothing of them changed: {said}");

    let adopted = up(&proxy, &home, &["--adopt"]);
    succeeded("up --adopt", &adopted);
    let said = text(&adopted);
    assert!(said.contains("adopt"), "up --adopt says so: {said}");
    assert!(!unchanged(&moto), "taken over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realism_a_failed_launch_fails_asg_set_capacity_within_a_minute_with_aws_message() {
    let moto = MotoServer::start().expect("moto");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = realism_proxy(
        &moto,
        Realism::aws().failing_launches(INSUFFICIENT_CAPACITY),
    );
    let home = tempfile::tempdir().expect("temp dir");
    let command = haven_cmd(
        &proxy.endpoint(),
        &home,
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "asg-set-capacity",
            &lab.asg_name,
            "--desired",
            "3",
            "--yes",
        ],
    );
    let started = Instant::now();
    let (output, killed) =
        tokio::task::spawn_blocking(move || run_for(command, Duration::from_secs(90)))
            .await
            .expect("run haven");
    let said = text(&output);
    assert!(
        proxy
            .realism_events()
            .iter()
            .any(|e| e.kind == RealismKind::LaunchFailed),
        "the launch failed: {said}"
    );
    assert!(!killed, "still waiting after 90 s: {said}");
    assert!(started.elapsed() < Duration::from_secs(60), "{said}");
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("We currently do not have sufficient t3.micro capacity"),
        "AWS's status message: {said}"
    );
}

#[test]
fn realism_down_killed_while_rds_is_deleting_completes_when_run_again() {
    let moto = MotoServer::start().expect("moto");
    // Built without realism, so this test is about `down` only.
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    succeeded("up", &up(&proxy, &home, &[]));
    // A 60-minute delete: `deleting` for 4 s, long enough to kill `down` meanwhile.
    proxy.set_faults(Faults::none().with_realism(Realism {
        rds_delete: Duration::from_secs(3600),
        ..Realism::aws()
    }));

    let blueprint = lab_blueprint();
    let mut child = haven_cmd(&proxy.endpoint(), &home, &["down"])
        .arg(&blueprint)
        .arg("--yes")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haven down");
    let started = Instant::now();
    let deleting = || {
        proxy
            .realism_events()
            .iter()
            .any(|e| e.kind == RealismKind::DeleteDeferred)
    };
    while !deleting()
        && child.try_wait().expect("poll").is_none()
        && started.elapsed() < Duration::from_secs(300)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(deleting(), "down reached the database");
    child.kill().expect("kill -9 haven down");
    child.wait().expect("reap haven down");

    let again = down(&proxy, &home);
    succeeded("down run again", &again);
    assert_eq!(
        lab_inventory(&moto, &home),
        Default::default(),
        "left behind"
    );
}
