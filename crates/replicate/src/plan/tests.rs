use chrono::Duration;
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

fn state(plan: &Plan, kind: CopyKind) -> &CopyState {
    &plan
        .protected
        .iter()
        .find(|p| p.kind == kind)
        .unwrap_or_else(|| panic!("{kind} protected"))
        .copies[0]
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
    assert_eq!(ami.copy.as_deref(), Some("ami-061d616037b7a56b0"));
    assert!(ami.fresh);
    let snapshot = state(&plan, CopyKind::Snapshot);
    assert_eq!(snapshot.copy.as_deref(), Some("snap-0158edaccaeee54ee"));
    let db = state(&plan, CopyKind::DbSnapshot);
    assert_eq!(db.copy, None);
    assert!(!db.fresh);
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
    assert!(!snapshot.fresh);
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

    // Nothing new to copy (the console copy of the newest source is there): keep 2 of the 3.
    let plan_now = plan(&topology, &policy);
    let deleted: Vec<&str> = plan_now
        .operations
        .iter()
        .filter_map(|o| match o {
            Operation::Delete(d) => Some(d.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec!["snap-haven-0"], "the oldest haven copy only");

    // A newer source: one copy made, so only the newest existing haven copy stays.
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
    let deleted: Vec<&str> = plan_new
        .operations
        .iter()
        .filter_map(|o| match o {
            Operation::Delete(d) => Some(d.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec!["snap-haven-1", "snap-haven-0"]);
    // The console's copy (no haven:source) is never deleted.
    assert!(!deleted.contains(&"snap-0158edaccaeee54ee"));
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
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("lab-db-manual-1 is encrypted") && n.contains("--kms-key")),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("lab-db is encrypted"))
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
        plan.notes
            .iter()
            .any(|n| n.contains("lab-db has automated backups off")),
        "{:?}",
        plan.notes
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
