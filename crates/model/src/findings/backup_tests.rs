//! RDS.26 and EC2.28 on the lab fixture: the lab has no AWS Backup plan, so both fail; a plan
//! selecting its resources by ARN wildcard or by tag makes them pass.

use super::*;
use crate::topology::{BackupSelection, TagCondition, Tags};

fn healthy() -> Topology {
    Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("fixture")
}

fn found(t: &Topology, id: &str) -> Vec<String> {
    assess(t, &Policy::default())
        .into_iter()
        .filter(|f| f.id == id)
        .map(|f| f.resource.id)
        .collect()
}

fn selection(resources: &[&str]) -> BackupSelection {
    BackupSelection {
        plan_id: "plan-1".into(),
        plan_name: "daily".into(),
        selection_id: "sel-1".into(),
        selection_name: "all".into(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        ..BackupSelection::default()
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_lab_without_a_backup_plan_fails_rds_26_and_ec2_28_for_in_use_volumes() {
    let t = healthy();
    let dbs: usize = t.regions.iter().map(|r| r.db_instances.len()).sum();
    let in_use: usize = t
        .regions
        .iter()
        .flat_map(|r| &r.volumes)
        .filter(|v| v.state == "in-use")
        .count();
    assert!(dbs > 0 && in_use > 0);
    assert_eq!(found(&t, "RDS.26").len(), dbs);
    assert!(found(&t, "RDS.26").contains(&"lab-db".to_string()));
    assert_eq!(found(&t, "EC2.28").len(), in_use);
}

#[test]
fn a_plan_selecting_every_volume_and_database_by_arn_wildcard_passes_both() {
    let mut t = healthy();
    for r in &mut t.regions {
        r.backup_selections = Some(vec![selection(&[
            "arn:aws:ec2:*:*:volume/*",
            "arn:aws:rds:*:*:db:*",
        ])]);
    }
    assert!(found(&t, "RDS.26").is_empty());
    assert!(found(&t, "EC2.28").is_empty());
    // NotResources takes the primary database back out.
    let db_arn = t.regions[0].db_instances[0].arn.clone();
    let id = t.regions[0].db_instances[0].identifier.clone();
    t.regions[0].backup_selections.as_mut().expect("read")[0]
        .not_resources
        .push(db_arn);
    assert_eq!(found(&t, "RDS.26"), vec![id]);
}

#[test]
fn a_region_whose_plans_could_not_be_read_is_not_judged() {
    let mut t = healthy();
    for r in &mut t.regions {
        r.backup_selections = None;
    }
    assert!(found(&t, "RDS.26").is_empty());
    assert!(found(&t, "EC2.28").is_empty());
}

#[test]
fn a_tag_selection_covers_the_tagged_database_only() {
    let mut t = healthy();
    let mut by_tag = selection(&[]);
    by_tag.list_of_tags = vec![TagCondition::new("STRINGEQUALS", "backup", "daily")];
    t.regions[0].backup_selections = Some(vec![by_tag]);
    let before = found(&t, "RDS.26");
    let db = &mut t.regions[0].db_instances[0];
    db.tags.insert("backup".into(), "daily".into());
    let covered = db.identifier.clone();
    let after = found(&t, "RDS.26");
    assert!(before.contains(&covered));
    assert!(!after.contains(&covered));
    assert_eq!(after.len(), before.len() - 1);
}

#[test]
fn selections_follow_aws_backups_or_and_logic() {
    let arn = "arn:aws:ec2:ap-northeast-2:123456789012:volume/vol-0abc";
    let prod = tags(&[("env", "prod"), ("team", "web")]);
    let dev = tags(&[("env", "dev")]);
    // Nothing listed: every resource, narrowed by the conditions (AND).
    let mut s = selection(&[]);
    assert!(s.selects(arn, &dev));
    s.conditions = vec![
        TagCondition::new("StringEquals", "aws:ResourceTag/env", "prod"),
        TagCondition::new("StringLike", "aws:ResourceTag/team", "w?b*"),
    ];
    assert!(s.selects(arn, &prod));
    assert!(!s.selects(arn, &dev));
    s.conditions = vec![TagCondition::new(
        "StringNotLike",
        "aws:ResourceTag/env",
        "p*",
    )];
    assert!(!s.selects(arn, &prod));
    assert!(
        s.selects(arn, &dev),
        "a missing or other value is not like p*"
    );
    // Resources OR ListOfTags.
    let mut s = selection(&["arn:aws:rds:*:*:db:*"]);
    assert!(!s.selects(arn, &prod));
    s.list_of_tags = vec![TagCondition::new("STRINGEQUALS", "env", "prod")];
    assert!(s.selects(arn, &prod));
    assert!(!s.selects(arn, &dev));
    // Wildcards are case sensitive and anchored.
    assert!(selection(&["*"]).selects(arn, &dev));
    assert!(selection(&["arn:aws:ec2:*:volume/vol-0a*"]).selects(arn, &dev));
    assert!(!selection(&["arn:aws:ec2:*:volume/VOL-*"]).selects(arn, &dev));
    assert!(!selection(&["arn:aws:ec2:*:volume/vol-0ab"]).selects(arn, &dev));
}
