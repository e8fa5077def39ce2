//! Issue 16's acceptance scenarios with the real `haven` binary and AWS realism on: `haven up`
//! builds the DR network in the blueprint's `[dr]` Region, the cross-Region replica is created
//! inside it, the primary Region goes silent and `haven failover-region` completes with nothing
//! asked of it, the promoted database in the same VPC as the app tier; then `haven failback`
//! brings the stack home with replication running the original way, and a second failover works.

use std::path::{Path, PathBuf};
use std::process::Output;

use haven_model::Topology;
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::topology::RegionTopology;
use haven_testkit::{Faults, MotoServer, Proxy, Realism};
use haven_tests::{haven, kms_key, text};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml")
}

fn realism() -> Faults {
    Faults::none().with_realism(Realism::aws())
}

fn run(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> Output {
    haven(endpoint, home)
        .args(args)
        .output()
        .expect("run haven")
}

fn ok(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> String {
    let output = run(endpoint, home, args);
    assert!(
        output.status.success(),
        "haven {}: {}",
        args.join(" "),
        text(&output)
    );
    text(&output)
}

/// What exists, read from moto directly (not through the proxy, whose record is asserted).
fn snapshot(endpoint: &str, home: &tempfile::TempDir, region: &str) -> RegionTopology {
    let output = run(
        endpoint,
        home,
        &["--region", region, "snapshot", "--output", "json"],
    );
    assert!(output.status.success(), "{}", text(&output));
    Topology::from_json(&String::from_utf8_lossy(&output.stdout))
        .expect("topology")
        .region(region)
        .cloned()
        .expect("the Region")
}

fn in_stack(tags: &haven_model::Tags) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some("lab")
}

/// The VPC of the DB subnet group `db` is in.
fn db_vpc(region: &RegionTopology, db: &str) -> String {
    let instance = region
        .db_instances
        .iter()
        .find(|d| d.identifier == db)
        .unwrap_or_else(|| panic!("{db} in {}: {:#?}", region.region, region.db_instances));
    let group = instance
        .subnet_group_name
        .as_deref()
        .expect("a subnet group");
    region
        .db_subnet_groups
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.vpc_id.clone())
        .unwrap_or_else(|| panic!("subnet group {group} in {}", region.region))
}

/// The stack's VPC in a Region.
fn stack_vpc(region: &RegionTopology) -> String {
    region
        .vpcs
        .iter()
        .find(|v| in_stack(&v.tags) && v.tags.get(LOGICAL_TAG).map(String::as_str) == Some("vpc"))
        .map(|v| v.id.clone())
        .unwrap_or_else(|| panic!("the stack's VPC in {}", region.region))
}

/// The VPCs of the load balancer and of the app instances in a Region.
fn app_vpcs(region: &RegionTopology) -> (String, Vec<String>) {
    let alb = region
        .load_balancers
        .iter()
        .find(|l| l.name == "lab-alb")
        .and_then(|l| l.vpc_id.clone())
        .expect("the stack's load balancer");
    let asg = region
        .auto_scaling_groups
        .iter()
        .find(|a| in_stack(&a.tags))
        .expect("the stack's Auto Scaling group");
    let instances = asg
        .instances
        .iter()
        .map(|member| {
            region
                .instances
                .iter()
                .find(|i| i.id == member.instance_id)
                .and_then(|i| i.vpc_id.clone())
                .expect("the instance's VPC")
        })
        .collect();
    (alb, instances)
}

/// `haven up` with the DR network, then the cross-Region replica inside it: (moto, proxy, home).
fn lab_with_a_dr_replica() -> (MotoServer, Proxy, tempfile::TempDir) {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), realism()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = lab();
    let blueprint = blueprint.to_str().expect("path");
    let planned = ok(&proxy.endpoint(), &home, &["plan", blueprint]);
    assert!(
        planned.contains("DR network (built by haven up):")
            && planned.contains("plan for stack lab in us-east-1: 7 to create")
            && planned.contains("db-subnet-group/db-subnet-group"),
        "{planned}"
    );
    let built = ok(&proxy.endpoint(), &home, &["up", blueprint, "--yes"]);
    assert!(
        built.contains("DR network of stack lab in us-east-1"),
        "{built}"
    );
    let dr = snapshot(&moto.endpoint(), &home, DR);
    let dr_vpc = stack_vpc(&dr);
    let group = dr
        .db_subnet_groups
        .iter()
        .find(|g| g.name == "lab-db-subnets")
        .expect("the DR subnet group");
    assert_eq!(group.vpc_id.as_deref(), Some(dr_vpc.as_str()));
    // Nothing of the app tier is built ahead of a disaster.
    assert!(dr.load_balancers.is_empty() && dr.auto_scaling_groups.is_empty());
    assert!(
        dr.nat_gateways.is_empty(),
        "no NAT gateway billed in the DR Region"
    );

    // The replica, inside that network with backups on. (moto cannot copy the automated DB
    // snapshot `replicate` also picks, so the run may report that one failure.)
    let key = kms_key(&moto.endpoint(), DR);
    let replicated = run(
        &proxy.endpoint(),
        &home,
        &[
            "replicate",
            "--yes",
            "--blueprint",
            blueprint,
            "--kms-key",
            &format!("{DR}={key}"),
        ],
    );
    let dr = snapshot(&moto.endpoint(), &home, DR);
    let replica = dr
        .db_instances
        .iter()
        .find(|d| d.identifier == "lab-db-us-east-1")
        .unwrap_or_else(|| panic!("the DR replica: {}", text(&replicated)));
    assert!(replica.read_replica_source.is_some(), "{replica:?}");
    assert!(
        replica.backup_retention_days >= 1,
        "backups on: {replica:?}"
    );
    assert_eq!(db_vpc(&dr, "lab-db-us-east-1"), dr_vpc, "in the DR network");
    let db_sg = dr
        .security_groups
        .iter()
        .find(|g| in_stack(&g.tags) && g.tags.get(LOGICAL_TAG).map(String::as_str) == Some("db-sg"))
        .expect("db-sg in the DR Region");
    assert_eq!(replica.vpc_security_group_ids, vec![db_sg.id.clone()]);
    (moto, proxy, home)
}

/// Fails the stack over with the primary Region silent (and IAM failing, when `iam_fails`)
/// and checks where everything landed.
fn fail_over_with_the_primary_silent(proxy: &Proxy, home: &tempfile::TempDir, iam_fails: bool) {
    let blueprint = lab();
    let mut faults = Faults::none().with_realism(Realism::aws().silent_region(PRIMARY));
    if iam_fails {
        // IAM's control plane is in us-east-1: it may be the Region lost.
        faults = faults.with_fail_action("ListRoles", 503, 1000);
    }
    proxy.set_faults(faults);
    proxy.clear_requests();
    let said = ok(
        &proxy.endpoint(),
        home,
        &[
            "failover-region",
            blueprint.to_str().expect("path"),
            "--yes",
        ],
    );
    let asked_primary: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.region == PRIMARY)
        .map(|r| format!("{} {}", r.service, r.action))
        .collect();
    assert_eq!(asked_primary, Vec::<String>::new(), "{said}");
    assert!(
        said.contains("RTO achieved:") && said.contains("Data-loss window:"),
        "{said}"
    );
    assert_eq!(
        said.contains("warning: IAM could not be read"),
        iam_fails,
        "{said}"
    );
    // Read through the proxy: moto keeps the replication link after a promotion, AWS (and the
    // realism layer) does not.
    let dr = snapshot(&proxy.endpoint(), home, DR);
    let database = dr
        .db_instances
        .iter()
        .find(|d| in_stack(&d.tags) && d.tags.get(LOGICAL_TAG).map(String::as_str) == Some("db"))
        .expect("the adopted database");
    assert_eq!(database.status, "available");
    assert_eq!(database.read_replica_source, None, "promoted");
    let (alb, instances) = app_vpcs(&dr);
    assert_eq!(instances.len(), 2, "the app tier runs");
    let vpc = db_vpc(&dr, &database.identifier);
    assert_eq!(alb, vpc, "the load balancer is in the database's VPC");
    assert!(
        instances.iter().all(|i| *i == vpc),
        "the instances are in the database's VPC: {instances:?} vs {vpc}"
    );
}

#[test]
fn failover_with_the_primary_region_silent_completes_in_the_dr_network() {
    let (moto, proxy, home) = lab_with_a_dr_replica();
    fail_over_with_the_primary_silent(&proxy, &home, true);
    drop(moto);
}

#[test]
fn failback_returns_the_stack_home_and_a_second_failover_works() {
    let (moto, proxy, home) = lab_with_a_dr_replica();
    fail_over_with_the_primary_silent(&proxy, &home, false);
    let before = snapshot(&moto.endpoint(), &home, PRIMARY);
    let old_primary = before
        .db_instances
        .iter()
        .find(|d| d.identifier == "lab-db")
        .expect("the old primary, left behind in the outage")
        .clone();

    // The primary Region answers again.
    proxy.set_faults(realism());
    let (primary_key, dr_key) = (
        kms_key(&moto.endpoint(), PRIMARY),
        kms_key(&moto.endpoint(), DR),
    );
    let blueprint = lab();
    let blueprint = blueprint.to_str().expect("path");
    // Without --yes and no terminal to ask on, nothing happens.
    proxy.clear_requests();
    let refused = run(&proxy.endpoint(), &home, &["failback", blueprint]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        !proxy
            .requests()
            .iter()
            .any(|r| haven_tests::is_mutating(&r.action)),
        "nothing sent before the confirmation"
    );
    let said = ok(
        &proxy.endpoint(),
        &home,
        &[
            "failback",
            blueprint,
            "--yes",
            "--catch-up",
            "0",
            "--kms-key",
            &format!("{PRIMARY}={primary_key}"),
            "--kms-key",
            &format!("{DR}={dr_key}"),
        ],
    );

    // Home: the stack's database is the promoted failback replica, in the stack's VPC there,
    // with the app tier on it and its same-Region replica replicating it.
    let at_home = snapshot(&proxy.endpoint(), &home, PRIMARY);
    let primary = at_home
        .db_instances
        .iter()
        .find(|d| in_stack(&d.tags) && d.tags.get(LOGICAL_TAG).map(String::as_str) == Some("db"))
        .unwrap_or_else(|| panic!("the stack's database at home: {said}"));
    assert_ne!(primary.identifier, "lab-db", "{said}");
    assert_eq!(primary.read_replica_source, None, "promoted: {said}");
    assert_eq!(primary.status, "available");
    let vpc = stack_vpc(&at_home);
    assert_eq!(db_vpc(&at_home, &primary.identifier), vpc);
    let (alb, instances) = app_vpcs(&at_home);
    assert_eq!(alb, vpc);
    assert!(instances.iter().all(|i| *i == vpc), "{instances:?}");
    assert!(
        at_home.db_instances.iter().any(|d| in_stack(&d.tags)
            && d.read_replica_source.as_deref() == Some(primary.identifier.as_str())),
        "the blueprint's read replica replicates the new primary: {:#?}",
        at_home.db_instances
    );
    // The old primary is kept, out of the stack, never deleted.
    let kept = at_home
        .db_instances
        .iter()
        .find(|d| d.arn == old_primary.arn || d.identifier == old_primary.identifier)
        .unwrap_or_else(|| panic!("the old primary is kept: {said}"));
    assert!(!in_stack(&kept.tags), "{:?}", kept.tags);
    assert!(said.contains("kept: lab-db in ap-northeast-2"), "{said}");

    // DR: a DR Region again: no app tier, the DR network kept, replication running the
    // original way, inside it.
    let dr = snapshot(&proxy.endpoint(), &home, DR);
    assert!(dr.load_balancers.is_empty(), "{:?}", dr.load_balancers);
    assert!(
        !dr.auto_scaling_groups.iter().any(|a| in_stack(&a.tags)),
        "{said}"
    );
    assert!(
        !dr.db_instances
            .iter()
            .any(|d| d.identifier == "lab-db-us-east-1"),
        "the database the failover adopted went (after a final snapshot)"
    );
    assert!(
        dr.db_snapshots
            .iter()
            .any(|s| s.identifier.starts_with("lab-db-us-east-1-final-")),
        "{:?}",
        dr.db_snapshots
    );
    let replica = dr
        .db_instances
        .iter()
        .find(|d| {
            d.read_replica_source
                .as_deref()
                .is_some_and(|s| s.ends_with(&format!(":db:{}", primary.identifier)))
        })
        .unwrap_or_else(|| panic!("a DR replica of the new primary: {said}"));
    assert_eq!(db_vpc(&dr, &replica.identifier), stack_vpc(&dr));

    // The next disaster: the same failover works again.
    fail_over_with_the_primary_silent(&proxy, &home, false);
}

#[test]
fn a_dr_region_that_does_not_answer_does_not_stop_up_and_the_next_up_builds_its_network() {
    let moto = MotoServer::start().expect("moto");
    let proxy =
        Proxy::start(&moto.endpoint(), Faults::none().with_fail_region(DR, 503)).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = lab();
    let blueprint = blueprint.to_str().expect("path");
    let first = ok(&proxy.endpoint(), &home, &["up", blueprint, "--yes"]);
    assert!(
        first.contains("warning: us-east-1 could not be read")
            && first.contains("us-east-1: DR network not checked"),
        "{first}"
    );
    assert!(
        snapshot(&moto.endpoint(), &home, DR)
            .vpcs
            .iter()
            .all(|v| !in_stack(&v.tags))
    );
    proxy.set_faults(Faults::none());
    let second = ok(&proxy.endpoint(), &home, &["up", blueprint, "--yes"]);
    assert!(
        second.contains("stack lab is up to date")
            && second.contains("DR network of stack lab in us-east-1"),
        "{second}"
    );
    stack_vpc(&snapshot(&moto.endpoint(), &home, DR));
}

/// `haven replicate --blueprint` builds the stack's DR network where `up` could not (the DR
/// Region did not answer then), and creates the replica inside it, never in a default VPC.
#[test]
fn replicate_with_a_blueprint_builds_the_missing_dr_network_and_the_replica_goes_inside() {
    let moto = MotoServer::start().expect("moto");
    let proxy =
        Proxy::start(&moto.endpoint(), Faults::none().with_fail_region(DR, 503)).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = lab();
    let blueprint = blueprint.to_str().expect("path");
    ok(&proxy.endpoint(), &home, &["up", blueprint, "--yes"]);
    proxy.set_faults(Faults::none());
    let key = format!("{DR}={}", kms_key(&moto.endpoint(), DR));
    // moto cannot copy the automated DB snapshot replicate also picks: that one copy may fail.
    let replicated = run(
        &proxy.endpoint(),
        &home,
        &[
            "replicate",
            "--yes",
            "--blueprint",
            blueprint,
            "--kms-key",
            &key,
        ],
    );
    let out = text(&replicated);
    assert!(
        out.contains("DR network of stack lab in us-east-1"),
        "{out}"
    );
    let dr = snapshot(&moto.endpoint(), &home, DR);
    assert_eq!(db_vpc(&dr, "lab-db-us-east-1"), stack_vpc(&dr), "{out}");
}
