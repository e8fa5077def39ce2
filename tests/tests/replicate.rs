//! `haven replicate` with the real binary against moto (ap-northeast-2 → us-east-1): the lab's
//! AMI, EBS snapshot and DB snapshot are copied and the cross-Region replica created, each copy
//! linked to its source; a re-run copies nothing; retention deletes exactly the oldest
//! haven-made copies; copies in flight never exceed the bound; a failed copy is reported and the
//! next run completes it.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use haven_model::Topology;
use haven_model::relations::SOURCE_TAG;
use haven_testkit::{Faults, MotoServer, Proxy, Realism, RecordedRequest};
use haven_tests::{haven, is_mutating, kms_key, text};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

fn ok(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> String {
    let output = haven(endpoint, home)
        .args(args)
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "haven {}: {}",
        args.join(" "),
        text(&output)
    );
    text(&output)
}

fn act(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> String {
    let mut all = vec!["--region", PRIMARY, "act", "--yes"];
    all.extend_from_slice(args);
    ok(endpoint, home, &all)
}

/// The id after `created: ` in `haven act` output.
fn created(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("created: "))
        .unwrap_or_else(|| panic!("no created id in {output}"))
        .to_string()
}

fn snapshot(endpoint: &str, home: &tempfile::TempDir) -> Topology {
    let output = haven(endpoint, home)
        .args([
            "--regions",
            &format!("{PRIMARY},{DR}"),
            "snapshot",
            "--output",
            "json",
        ])
        .output()
        .expect("run haven snapshot");
    assert!(output.status.success(), "{}", text(&output));
    Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("topology")
}

fn calls(proxy: &Proxy) -> Vec<String> {
    let mut calls: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| r.action.clone())
        .collect();
    calls.sort();
    calls
}

fn replicate(endpoint: &str, home: &tempfile::TempDir, key: &str, extra: &[&str]) -> Output {
    haven(endpoint, home)
        .args([
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            DR,
            "--yes",
            "--kms-key",
        ])
        .arg(format!("{DR}={key}"))
        .args(extra)
        .output()
        .expect("run haven replicate")
}

#[test]
fn replicate_copies_the_lab_keeps_the_newest_and_the_stack_fails_over_to_dr() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml");
    let up = haven(&moto.endpoint(), &home)
        .arg("up")
        .arg(&blueprint)
        .output()
        .expect("haven up");
    assert!(up.status.success(), "{}", text(&up));

    // What a team does after launch: bake an AMI and roll the template to it, snapshot data.
    let lab = snapshot(&moto.endpoint(), &home);
    let primary = lab.region(PRIMARY).expect("primary");
    let instance = &primary.auto_scaling_groups[0].instances[0].instance_id;
    let volume = primary
        .volumes
        .iter()
        .find(|v| v.attached_instance_ids.contains(instance))
        .expect("the instance's volume")
        .id
        .clone();
    let endpoint = moto.endpoint();
    let ami = created(&act(
        &endpoint,
        &home,
        &[
            "instance-create-image",
            instance,
            "--name",
            "lab-web-v1",
            "--no-reboot",
        ],
    ));
    act(
        &endpoint,
        &home,
        &[
            "lt-new-version",
            "lab-lt",
            "--image-id",
            &ami,
            "--set-default",
        ],
    );
    let snap = created(&act(&endpoint, &home, &["volume-snapshot", &volume]));
    act(
        &endpoint,
        &home,
        &["rds-snapshot", "lab-db", "--snapshot-id", "lab-db-manual-1"],
    );
    let key = kms_key(&endpoint, DR);

    let first = replicate(&proxy.endpoint(), &home, &key, &[]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(
        calls(&proxy),
        vec![
            "CopyDBSnapshot",
            "CopyImage",
            "CopySnapshot",
            "CreateDBInstanceReadReplica"
        ]
    );
    let topology = snapshot(&endpoint, &home);
    let linked = |links: Vec<haven_model::relations::CopyLink>, source: &str| {
        links
            .iter()
            .any(|l| l.source.region == PRIMARY && l.source.id == source && l.copy.region == DR)
    };
    assert!(linked(topology.image_copies(), &ami), "AMI copy linked");
    assert!(
        linked(topology.snapshot_copies(), &snap),
        "snapshot copy linked"
    );
    let dr = topology.region(DR).expect("DR Region");
    let db_copies: Vec<&str> = dr
        .db_snapshots
        .iter()
        .filter(|s| {
            s.tags
                .get(SOURCE_TAG)
                .is_some_and(|arn| arn.ends_with(":snapshot:lab-db-manual-1"))
        })
        .map(|s| s.identifier.as_str())
        .collect();
    assert_eq!(db_copies.len(), 1, "{:?}", dr.db_snapshots);
    assert!(
        topology
            .replica_links()
            .iter()
            .any(|l| l.cross_region && l.source.identifier == "lab-db" && l.replica.region == DR),
        "cross-Region replica of lab-db"
    );

    // A second run finds every copy and sends nothing that changes anything.
    // (This time the Regions come from the blueprint's [stack] and [dr].)
    proxy.clear_requests();
    let second = haven(&proxy.endpoint(), &home)
        .args(["replicate", "--yes", "--blueprint"])
        .arg(&blueprint)
        .arg("--kms-key")
        .arg(format!("{DR}={key}"))
        .output()
        .expect("run haven replicate");
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("nothing to do"), "{}", text(&second));
    assert_eq!(calls(&proxy), Vec::<String>::new());

    // New snapshots, retention 1: the new states are copied and exactly the old copies go.
    let old_snap_copy = dr
        .snapshots
        .iter()
        .find(|s| s.tags.contains_key(SOURCE_TAG))
        .expect("the first snapshot copy")
        .id
        .clone();
    let newer = created(&act(&endpoint, &home, &["volume-snapshot", &volume]));
    act(
        &endpoint,
        &home,
        &["rds-snapshot", "lab-db", "--snapshot-id", "lab-db-manual-2"],
    );
    proxy.clear_requests();
    let pruned = replicate(&proxy.endpoint(), &home, &key, &["--retention", "1"]);
    assert!(pruned.status.success(), "{}", text(&pruned));
    assert_eq!(
        calls(&proxy),
        vec![
            "CopyDBSnapshot",
            "CopySnapshot",
            "DeleteDBSnapshot",
            "DeleteSnapshot"
        ]
    );
    let after = snapshot(&endpoint, &home);
    let dr = after.region(DR).expect("DR Region");
    let haven_snapshots: Vec<&str> = dr
        .snapshots
        .iter()
        .filter(|s| s.tags.contains_key(SOURCE_TAG))
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(haven_snapshots.len(), 1);
    assert_ne!(haven_snapshots[0], old_snap_copy, "the old copy went");
    assert!(
        linked(after.snapshot_copies(), &newer),
        "the new copy stayed"
    );
    let haven_db_snapshots: Vec<&str> = dr
        .db_snapshots
        .iter()
        .filter(|s| s.tags.contains_key(SOURCE_TAG))
        .map(|s| s.identifier.as_str())
        .collect();
    assert_eq!(
        haven_db_snapshots,
        vec!["haven-lab-db-manual-2-from-ap-northeast-2"]
    );

    // The primary Region is lost: run the stack in the DR Region. A promotion is done only
    // when the replication link is gone, which moto never does: the realism layer plays it.
    proxy.set_faults(Faults::none().with_realism(Realism::aws()));
    proxy.clear_requests();
    let failover = haven(&proxy.endpoint(), &home)
        .arg("failover-region")
        .arg(&blueprint)
        .args(["--to", DR, "--yes"])
        .output()
        .expect("run haven failover-region");
    assert!(failover.status.success(), "{}", text(&failover));
    assert!(
        proxy
            .requests()
            .iter()
            .filter(|r| is_mutating(&r.action))
            .all(|r| r.region == DR || r.service == "iam"),
        "nothing is asked of the lost Region"
    );
    let after = snapshot(&endpoint, &home);
    let dr = after.region(DR).expect("DR Region");
    let in_stack = |tags: &haven_model::Tags| {
        tags.get(haven_model::plan::STACK_TAG).map(String::as_str) == Some("lab")
    };
    let db = dr
        .db_instances
        .iter()
        .find(|d| d.identifier == "lab-db-us-east-1")
        .expect("the promoted replica");
    assert!(in_stack(&db.tags), "adopted into the stack: {:?}", db.tags);
    assert_eq!(db.status, "available");
    let asg = dr
        .auto_scaling_groups
        .iter()
        .find(|a| in_stack(&a.tags))
        .expect("the app tier in the DR Region");
    assert_eq!(asg.instances.len(), 2);
    assert!(dr.load_balancers.iter().any(|l| l.name == "lab-alb"));
    assert!(dr.vpcs.iter().any(|v| in_stack(&v.tags)));
    // Running it again changes nothing (and never deletes the adopted database).
    proxy.clear_requests();
    let again = haven(&proxy.endpoint(), &home)
        .arg("failover-region")
        .arg(&blueprint)
        .arg("--yes")
        .output()
        .expect("run haven failover-region");
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(calls(&proxy), Vec::<String>::new(), "{}", text(&again));

    // `haven promote` is the destructive rds-promote action: it needs --yes.
    let unconfirmed = haven(&proxy.endpoint(), &home)
        .args(["--region", PRIMARY, "promote", "lab-db-replica-1"])
        .output()
        .expect("run haven promote");
    assert_eq!(unconfirmed.status.code(), Some(2), "{}", text(&unconfirmed));
    let promoted = ok(
        &proxy.endpoint(),
        &home,
        &["--region", PRIMARY, "promote", "lab-db-replica-1", "--yes"],
    );
    assert!(promoted.contains("promoted"), "{promoted}");
}

/// The most requests for `action` that were in flight at the same time.
fn most_in_flight(requests: &[RecordedRequest], action: &str) -> usize {
    let spans: Vec<_> = requests
        .iter()
        .filter(|r| r.action == action)
        .map(|r| (r.received_at, r.received_at + r.elapsed))
        .collect();
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn copies_in_flight_stay_within_the_bound_and_a_failed_copy_is_retried() {
    let moto = MotoServer::start().expect("moto");
    let endpoint = moto.endpoint();
    haven_testkit::lab::launch_instances(&endpoint, PRIMARY, 10)
        .await
        .expect("instances");
    let home = tempfile::tempdir().expect("temp dir");
    let topology = snapshot(&endpoint, &home);
    let volumes: Vec<String> = topology
        .region(PRIMARY)
        .expect("primary")
        .volumes
        .iter()
        .map(|v| v.id.clone())
        .collect();
    assert_eq!(volumes.len(), 10, "one root volume per instance");
    for volume in &volumes {
        act(&endpoint, &home, &["volume-snapshot", volume]);
    }

    // Every call takes 200 ms, and the first copy request fails.
    let proxy = Proxy::start(
        &endpoint,
        Faults::none()
            .with_delay(Duration::from_millis(200))
            .with_fail_action("CopySnapshot", 500, 1),
    )
    .expect("proxy");
    let first = haven(&proxy.endpoint(), &home)
        .args(["--region", PRIMARY, "replicate", "--to", DR])
        .args(["--no-replica", "--concurrency", "2", "--all", "--yes"])
        .output()
        .expect("run haven replicate");
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(
        text(&first).contains("1 of 10 operation(s) failed")
            && text(&first).contains("InternalFailure"),
        "the failure is reported with the AWS error: {}",
        text(&first)
    );
    let requests = proxy.requests();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.action == "CopySnapshot")
            .count(),
        10
    );
    assert_eq!(
        most_in_flight(&requests, "CopySnapshot"),
        2,
        "two at a time, never more"
    );
    let copies = |t: &Topology| {
        t.snapshot_copies()
            .iter()
            .filter(|l| l.copy.region == DR)
            .count()
    };
    assert_eq!(
        copies(&snapshot(&endpoint, &home)),
        9,
        "the others completed"
    );

    proxy.set_faults(Faults::none());
    proxy.clear_requests();
    let second = haven(&proxy.endpoint(), &home)
        .args([
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            DR,
            "--no-replica",
            "--all",
        ])
        .arg("--yes")
        .output()
        .expect("run haven replicate");
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        calls(&proxy),
        vec!["CopySnapshot"],
        "only the failed one again"
    );
    assert_eq!(copies(&snapshot(&endpoint, &home)), 10);
}
