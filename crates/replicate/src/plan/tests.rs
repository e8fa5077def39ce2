use chrono::Duration;
use haven_model::dr::{DrState, Scope, copy_name};
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::relations::SOURCE_TAG;
use haven_model::replication::{CopyKind, LINEAGE_TAG, Operation};
use haven_model::topology::{Snapshot, Tags, Topology};

use super::*;

const HEALTHY: &str = include_str!("../../../../assets/fixtures/lab-healthy.json");
const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/dr";

fn policy() -> DrPolicy {
    DrPolicy {
        source_region: PRIMARY.into(),
        destinations: vec![DR.into()],
        retention: 3,
        replicas: true,
        rpo: Duration::hours(24),
        kms_keys: [(DR.to_string(), KEY.to_string())].into(),
        // The fixture is a stack built by hand: nothing carries haven:stack.
        scope: Scope::All,
    }
}

fn lab() -> Topology {
    Topology::from_json(HEALTHY).expect("fixture")
}

/// The lab without its DR Region: the primary's DB lists only its same-Region replica.
fn primary_only() -> Topology {
    let mut topology = lab();
    topology.regions.retain(|r| r.region == PRIMARY);
    for db in &mut topology.regions[0].db_instances {
        db.read_replica_identifiers.retain(|r| !r.contains(DR));
    }
    topology
}

fn copies(plan: &Plan) -> Vec<(CopyKind, String)> {
    plan.operations
        .iter()
        .filter_map(|o| match o {
            Operation::Copy(c) => Some((c.kind, c.source_id.clone())),
            _ => None,
        })
        .collect()
}

fn state(plan: &Plan, kind: CopyKind) -> &DrRow {
    plan.status
        .rows
        .iter()
        .find(|r| r.protection == Protection::Copy(kind))
        .unwrap_or_else(|| panic!("{kind} protected"))
}

fn notes(plan: &Plan) -> Vec<String> {
    plan.status
        .rows
        .iter()
        .filter_map(|r| r.note.as_ref().map(|n| n.sentence(r)))
        .collect()
}

fn deleted(plan: &Plan) -> Vec<&str> {
    plan.operations
        .iter()
        .filter_map(|o| match o {
            Operation::Delete(d) => Some(d.id.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_lab_fixture_has_its_ami_and_root_snapshot_in_dr_but_not_its_db_snapshot() {
    let plan = plan(&lab(), &policy());
    // The AMI and the root-volume snapshot were copied by hand (console descriptions); the DB
    // snapshot was not; lab-db already has a cross-Region replica (lab-db-dr).
    assert_eq!(
        copies(&plan),
        vec![(CopyKind::DbSnapshot, "lab-db-manual-1".to_string())]
    );
    assert!(
        !plan
            .operations
            .iter()
            .any(|o| matches!(o, Operation::Replica(_))),
        "{:?}",
        plan.operations
    );
    let ami = state(&plan, CopyKind::Image);
    assert_eq!(ami.usable.as_deref(), Some("ami-061d616037b7a56b0"));
    assert_eq!(ami.state, DrState::Fresh);
    let snapshot = state(&plan, CopyKind::Snapshot);
    assert_eq!(snapshot.usable.as_deref(), Some("snap-0158edaccaeee54ee"));
    let db = state(&plan, CopyKind::DbSnapshot);
    assert_eq!(db.usable, None);
    assert_eq!(db.state, DrState::Missing);
    // The DB snapshot copy names its source by ARN and gets the fixed identifier and the tags.
    let Some(Operation::Copy(copy)) = plan.operations.first() else {
        panic!("a copy first");
    };
    assert_eq!(copy.name, "haven-lab-db-manual-1-from-ap-northeast-2");
    assert_eq!(
        copy.source_arn,
        "arn:aws:rds:ap-northeast-2:123456789012:snapshot:lab-db-manual-1"
    );
    assert_eq!(copy.tags.get(SOURCE_TAG), Some(&copy.source_arn));
    assert_eq!(
        copy.tags.get(LINEAGE_TAG).map(String::as_str),
        Some("lab-db")
    );
    assert_eq!(copy.kms_key_id.as_deref(), Some(KEY), "encrypted source");
}

#[test]
fn a_copy_older_than_the_rpo_is_stale_and_a_newer_source_is_copied() {
    let mut policy = policy();
    policy.rpo = Duration::hours(1);
    let stale = plan(&lab(), &policy);
    // The root snapshot was taken 26 h before the topology: its copy is current but stale.
    let snapshot = state(&stale, CopyKind::Snapshot);
    assert_eq!(snapshot.state, DrState::Stale);
    assert_eq!(snapshot.age_minutes, Some(26 * 60));

    let mut topology = lab();
    let primary = topology
        .regions
        .iter_mut()
        .find(|r| r.region == PRIMARY)
        .expect("primary");
    let mut newer: Snapshot = primary.snapshots[1].clone();
    newer.id = "snap-newer".into();
    newer.started_at = Some(topology.taken_at - Duration::minutes(10));
    primary.snapshots.push(newer);
    let newer_plan = plan(&topology, &policy);
    assert!(copies(&newer_plan).contains(&(CopyKind::Snapshot, "snap-newer".to_string())));
}

#[test]
fn retention_deletes_only_the_oldest_haven_made_copies() {
    let mut topology = lab();
    let taken = topology.taken_at;
    let dr = topology
        .regions
        .iter_mut()
        .find(|r| r.region == DR)
        .expect("DR");
    let template = dr.snapshots[1].clone();
    for (i, hours) in [30, 20, 10].iter().enumerate() {
        let mut copy = template.clone();
        copy.id = format!("snap-haven-{i}");
        copy.description = None;
        copy.started_at = Some(taken - Duration::hours(*hours));
        let mut tags = Tags::new();
        tags.insert(
            SOURCE_TAG.into(),
            format!("arn:aws:ec2:{PRIMARY}:123456789012:snapshot/snap-old-{i}"),
        );
        tags.insert(LINEAGE_TAG.into(), "vol-066a7602e7690b273".into());
        copy.tags = tags;
        dr.snapshots.push(copy);
    }
    let mut topology_new_source = topology.clone();
    let mut policy = policy();
    policy.retention = 2;

    // Nothing new to copy (the console copy of the newest source is there): of the complete
    // copies (haven-2 10 h, haven-1 20 h, the console's 26 h, haven-0 30 h) the newest 2 stay;
    // the console's is never deleted.
    let plan_now = plan(&topology, &policy);
    assert_eq!(
        deleted(&plan_now),
        vec!["snap-haven-0"],
        "the oldest haven copy only"
    );

    // A newer source: its copy is made and counts once complete, so the newest existing haven
    // copy alone stays (execute deletes the others only after the new copy completes).
    let primary = topology_new_source
        .regions
        .iter_mut()
        .find(|r| r.region == PRIMARY)
        .expect("primary");
    let mut newer = primary.snapshots[1].clone();
    newer.id = "snap-newer".into();
    newer.started_at = Some(taken);
    primary.snapshots.push(newer);
    let plan_new = plan(&topology_new_source, &policy);
    assert!(copies(&plan_new).contains(&(CopyKind::Snapshot, "snap-newer".to_string())));
    assert_eq!(deleted(&plan_new), vec!["snap-haven-1", "snap-haven-0"]);
    assert!(!deleted(&plan_new).contains(&"snap-0158edaccaeee54ee"));
}

/// A4: a copy in flight is shown as copying with its progress, is not fresh, is not made twice,
/// and retention never deletes the last complete copy while it runs.
#[test]
fn a4_a_pending_copy_is_copying_not_fresh_and_retention_keeps_the_last_complete_one() {
    let mut topology = lab();
    let taken = topology.taken_at;
    let primary = topology
        .regions
        .iter_mut()
        .find(|r| r.region == PRIMARY)
        .expect("primary");
    let mut newer = primary.snapshots[1].clone();
    newer.id = "snap-newer".into();
    newer.started_at = Some(taken - Duration::minutes(5));
    let volume = newer.volume_id.clone().expect("volume");
    primary.snapshots.push(newer);
    let dr = topology
        .regions
        .iter_mut()
        .find(|r| r.region == DR)
        .expect("DR");
    let mut pending = dr.snapshots[1].clone();
    pending.id = "snap-copying".into();
    pending.state = "pending".into();
    pending.progress = Some("45%".into());
    pending.description = None;
    pending.started_at = Some(taken - Duration::minutes(2));
    pending.tags = Tags::from([
        (
            SOURCE_TAG.to_string(),
            format!("arn:aws:ec2:{PRIMARY}:123456789012:snapshot/snap-newer"),
        ),
        (LINEAGE_TAG.to_string(), volume),
    ]);
    dr.snapshots.push(pending);
    let mut policy = policy();
    policy.retention = 1;
    policy.rpo = Duration::hours(1);
    let plan = plan(&topology, &policy);
    let row = state(&plan, CopyKind::Snapshot);
    assert_eq!(row.state, DrState::Copying { progress: Some(45) });
    assert_eq!(row.state.label(), "copying 45%");
    assert!(!row.state.usable());
    // The last complete copy is still what the DR Region can restore from, and stays.
    assert_eq!(row.usable.as_deref(), Some("snap-0158edaccaeee54ee"));
    assert!(
        !copies(&plan).iter().any(|(k, _)| *k == CopyKind::Snapshot),
        "not copied twice"
    );
    assert!(deleted(&plan).is_empty(), "{:?}", plan.operations);
    assert!(plan.blocked().all(|r| r.protects != row.protects));
}

/// A4: a failed copy never counts, and is removed and made again, the removal first (the remake
/// reuses its name).
#[test]
fn a4_a_failed_copy_is_removed_then_made_again() {
    let mut topology = lab();
    let dr = topology
        .regions
        .iter_mut()
        .find(|r| r.region == DR)
        .expect("DR");
    let ami = dr
        .images
        .iter_mut()
        .find(|i| i.id == "ami-061d616037b7a56b0")
        .expect("AMI copy");
    ami.state = "failed".into();
    ami.tags.insert(
        SOURCE_TAG.into(),
        format!("arn:aws:ec2:{PRIMARY}:123456789012:image/ami-0beac34a77b2be7a9"),
    );
    let plan = plan(&topology, &policy());
    let row = state(&plan, CopyKind::Image);
    assert_eq!(row.state, DrState::Failed);
    assert_eq!(row.usable, None);
    let position = |f: &dyn Fn(&Operation) -> bool| plan.operations.iter().position(f);
    let removal = position(&|o| {
        matches!(o, Operation::Delete(d) if d.id == "ami-061d616037b7a56b0"
            && matches!(d.why, haven_model::replication::Removal::Failed { .. }))
    })
    .expect("the failed copy is removed");
    let remake = position(&|o| matches!(o, Operation::Copy(c) if c.kind == CopyKind::Image))
        .expect("and made again");
    assert!(removal < remake, "{:?}", plan.operations);
}

/// A3: only the stack's resources are protected unless the scope is widened.
#[test]
fn a3_an_unrelated_database_is_protected_only_with_all() {
    let mut topology = primary_only();
    let primary = &mut topology.regions[0];
    for db in &mut primary.db_instances {
        db.tags.insert(STACK_TAG.into(), "lab".into());
    }
    let mut other = primary.db_instances[0].clone();
    other.identifier = "billing-db".into();
    other.arn = format!("arn:aws:rds:{PRIMARY}:123456789012:db:billing-db");
    other.read_replica_identifiers.clear();
    other.tags = Tags::new();
    primary.db_instances.push(other);
    let mut policy = policy();
    policy.scope = Scope::Stack("lab".into());
    let stack_only = plan(&topology, &policy);
    assert!(
        stack_only
            .status
            .rows
            .iter()
            .all(|r| r.protects != "billing-db"),
        "{:?}",
        stack_only.status.rows
    );
    policy.scope = Scope::All;
    let all = plan(&topology, &policy);
    assert!(all.status.rows.iter().any(|r| r.protects == "billing-db"));
}

/// A2: a replica is planned only into the stack's DR network, with its subnet group, security
/// group and backups on.
#[test]
fn a2_the_replica_goes_into_the_stack_dr_network() {
    let mut topology = lab();
    for region in &mut topology.regions {
        for db in &mut region.db_instances {
            db.tags.insert(STACK_TAG.into(), "lab".into());
        }
    }
    // Drop the fixture's existing replica so one is planned.
    for region in &mut topology.regions {
        region.db_instances.retain(|d| {
            d.read_replica_source
                .as_deref()
                .is_none_or(|s| !s.contains(PRIMARY))
        });
        for db in &mut region.db_instances {
            db.read_replica_identifiers
                .retain(|r| !r.contains(DR) && !r.contains("-dr"));
        }
    }
    let without = plan(&topology, &policy());
    assert!(
        !without
            .operations
            .iter()
            .any(|o| matches!(o, Operation::Replica(_)))
    );
    assert!(
        notes(&without)
            .iter()
            .any(|n| n.contains("no DR network in us-east-1")),
        "{:?}",
        notes(&without)
    );
    let dr = topology
        .regions
        .iter_mut()
        .find(|r| r.region == DR)
        .expect("DR");
    let owned = |logical: &str| {
        Tags::from([
            (STACK_TAG.to_string(), "lab".to_string()),
            (LOGICAL_TAG.to_string(), logical.to_string()),
        ])
    };
    let vpc = &mut dr.vpcs[0];
    vpc.tags = owned("vpc");
    let vpc_id = vpc.id.clone();
    dr.db_subnet_groups
        .push(haven_model::topology::DbSubnetGroup {
            name: "lab-db-subnets".into(),
            arn: None,
            vpc_id: Some(vpc_id.clone()),
            subnet_ids: Vec::new(),
            status: Some("Complete".into()),
        });
    let sg = &mut dr.security_groups[0];
    sg.tags = owned("db-sg");
    sg.vpc_id = Some(vpc_id);
    let sg_id = sg.id.clone();
    let with = plan(&topology, &policy());
    let replica = with
        .operations
        .iter()
        .find_map(|o| match o {
            Operation::Replica(r) => Some(r),
            _ => None,
        })
        .expect("a replica");
    assert_eq!(replica.db_subnet_group, "lab-db-subnets");
    assert_eq!(replica.vpc_security_group_ids, vec![sg_id]);
    assert!(replica.backup_retention_days >= 1);
    assert_eq!(replica.identifier, "lab-db-us-east-1");
}

/// A5: a promoted replica holding the identifier is named, never taken for the replica.
#[test]
fn a5_a_promoted_replica_is_a_note_not_a_replica() {
    let mut topology = lab();
    let dr = topology
        .regions
        .iter_mut()
        .find(|r| r.region == DR)
        .expect("DR");
    let replica = dr
        .db_instances
        .iter_mut()
        .find(|d| d.read_replica_source.is_some())
        .expect("the fixture's DR replica");
    replica.read_replica_source = None;
    replica.identifier = "lab-db-us-east-1".into();
    for region in &mut topology.regions {
        for db in &mut region.db_instances {
            db.read_replica_identifiers
                .retain(|r| !r.contains(DR) && !r.contains("-dr"));
        }
    }
    let plan = plan(&topology, &policy());
    let row = plan
        .status
        .rows
        .iter()
        .find(|r| r.protection == Protection::ReadReplica && r.protects == "lab-db")
        .expect("replica row");
    assert_eq!(row.state, DrState::Missing);
    assert!(matches!(
        row.note,
        Some(haven_model::dr::Note::Promoted { .. })
    ));
    assert!(
        !plan
            .operations
            .iter()
            .any(|o| matches!(o, Operation::Replica(_)))
    );
    assert!(plan.blocked().any(|r| r.protects == "lab-db"));
}

#[test]
fn encrypted_rds_sources_without_a_key_are_notes_not_operations() {
    let mut policy = policy();
    policy.kms_keys.clear();
    let plan = plan(&primary_only(), &policy);
    assert!(
        !copies(&plan)
            .iter()
            .any(|(kind, _)| *kind == CopyKind::DbSnapshot)
    );
    let notes = notes(&plan);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("lab-db is encrypted") && n.contains("--kms-key us-east-1=")),
        "{notes:?}"
    );
    // EBS copies fall back to the destination's default key.
    assert!(copies(&plan).contains(&(CopyKind::Image, "ami-0beac34a77b2be7a9".to_string())));
}

#[test]
fn a_replica_source_without_backups_is_a_note() {
    let mut topology = primary_only();
    let primary = &mut topology.regions[0];
    primary
        .db_instances
        .iter_mut()
        .find(|d| d.identifier == "lab-db")
        .expect("lab-db")
        .backup_retention_days = 0;
    let plan = plan(&topology, &policy());
    assert!(
        notes(&plan)
            .iter()
            .any(|n| n.contains("lab-db has automated backups off")),
        "{:?}",
        notes(&plan)
    );
    assert!(
        !plan
            .operations
            .iter()
            .any(|o| matches!(o, Operation::Replica(_)))
    );
}

#[test]
fn copy_names_are_valid_identifiers() {
    assert_eq!(
        copy_name("rds:lab-db-2026-03-01-09-00", PRIMARY),
        "haven-rds-lab-db-2026-03-01-09-00-from-ap-northeast-2"
    );
    assert_eq!(copy_name("ami-0AB", DR), "haven-ami-0ab-from-us-east-1");
}
