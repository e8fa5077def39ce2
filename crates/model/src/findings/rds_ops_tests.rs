//! A passing and a failing fixture for each RDS control of issue 21 (rds_ops.rs).

use super::test_fixtures::{PRIMARY, healthy, primary};
use super::*;
use crate::topology::{DbCluster, DbInstance, DbSecurity, DbSnapshot};

fn db<'a>(t: &'a mut Topology, id: &str) -> &'a mut DbInstance {
    primary(t)
        .db_instances
        .iter_mut()
        .find(|d| d.identifier == id)
        .expect("db")
}

fn snapshot(t: &mut Topology) -> &mut DbSnapshot {
    primary(t)
        .db_snapshots
        .iter_mut()
        .find(|s| s.identifier == "lab-db-manual-1")
        .expect("the lab's manual snapshot")
}

/// `resource evidence` of every finding with this id.
fn found(t: &Topology, id: &str) -> Vec<String> {
    assess(t, &Policy::default())
        .into_iter()
        .filter(|f| f.id == id)
        .map(|f| format!("{} {}", f.resource.id, f.evidence))
        .collect()
}

fn mutated(change: impl FnOnce(&mut Topology)) -> Topology {
    let mut t = healthy();
    change(&mut t);
    t
}

/// An encrypted Aurora MySQL cluster with one writer, `admin` as its master user.
fn aurora(t: &mut Topology) {
    let r = primary(t);
    let mut writer = r.db_instances[0].clone();
    writer.identifier = "aur-1".into();
    writer.arn = format!("arn:aws:rds:{PRIMARY}:123456789012:db:aur-1");
    writer.engine = "aurora-mysql".into();
    writer.cluster_identifier = Some("aur".into());
    writer.read_replica_identifiers.clear();
    writer.security.master_username = Some("admin".into());
    r.db_instances.push(writer);
    r.db_clusters.push(DbCluster {
        identifier: "aur".into(),
        arn: format!("arn:aws:rds:{PRIMARY}:123456789012:cluster:aur"),
        engine: "aurora-mysql".into(),
        engine_version: Some("8.0.mysql_aurora.3.05.2".into()),
        status: "available".into(),
        multi_az: false,
        availability_zones: Vec::new(),
        endpoint: None,
        reader_endpoint: None,
        port: Some(3306),
        members: Vec::new(),
        storage_encrypted: true,
        backup_retention_days: 7,
        deletion_protection: true,
        replication_source: None,
        read_replica_identifiers: Vec::new(),
        subnet_group_name: None,
        vpc_security_group_ids: Vec::new(),
        tags: Default::default(),
        security: DbSecurity {
            master_username: Some("dbadmin".into()),
            ..DbSecurity::default()
        },
    });
}

#[test]
fn the_healthy_lab_passes_every_rds_control_but_the_default_port() {
    let lab = healthy();
    for id in [
        "RDS.1",
        "RDS.3",
        "RDS.4",
        "RDS.9",
        "RDS.10",
        "RDS.13",
        "RDS.17",
        "RDS.24",
        "RDS.25",
        "RDS.27",
        "SEC-RDS-EOS",
    ] {
        assert!(found(&lab, id).is_empty(), "{id}: {:?}", found(&lab, id));
    }
    // The accepted exception: MySQL on 3306 (changing it ripples through the app, the
    // security groups and every replica); replicas are judged too, each on its own.
    let ports = found(&lab, "RDS.23");
    assert!(
        ports.contains(&"lab-db mysql on its default port 3306".to_string()),
        "{ports:?}"
    );
}

#[test]
fn a_public_snapshot_fails_rds_1_and_an_unread_one_is_not_judged() {
    let public = mutated(|t| snapshot(t).public = Some(true));
    assert_eq!(
        found(&public, "RDS.1"),
        ["lab-db-manual-1 manual snapshot of lab-db: restore attribute includes all"]
    );
    let unread = mutated(|t| snapshot(t).public = None);
    assert!(found(&unread, "RDS.1").is_empty());
}

#[test]
fn unencrypted_storage_fails_rds_3_and_an_unencrypted_snapshot_rds_4() {
    let plain = mutated(|t| db(t, "lab-db").storage_encrypted = false);
    assert_eq!(found(&plain, "RDS.3"), ["lab-db storage_encrypted=false"]);
    let copy = mutated(|t| snapshot(t).encrypted = false);
    assert_eq!(
        found(&copy, "RDS.4"),
        ["lab-db-manual-1 manual snapshot of lab-db: encrypted=false"]
    );
}

#[test]
fn a_cluster_fails_rds_27_unencrypted_and_rds_24_with_admin() {
    let mut t = healthy();
    aurora(&mut t);
    assert!(found(&t, "RDS.27").is_empty());
    assert!(found(&t, "RDS.24").is_empty());
    // RDS.25 leaves cluster members to RDS.24: the member's own `admin` is not judged.
    assert!(found(&t, "RDS.25").is_empty(), "{:?}", found(&t, "RDS.25"));
    let cluster = &mut primary(&mut t).db_clusters[0];
    cluster.storage_encrypted = false;
    cluster.security.master_username = Some("admin".into());
    assert_eq!(found(&t, "RDS.27"), ["aur storage_encrypted=false"]);
    assert_eq!(found(&t, "RDS.24"), ["aur master_username=admin"]);
}

#[test]
fn missing_log_types_fail_rds_9_while_a_stopped_instance_is_not_judged() {
    let mut t = mutated(|t| {
        db(t, "lab-db").cloudwatch_logs_exports = vec!["error".into(), "slowquery".into()];
    });
    assert_eq!(
        found(&t, "RDS.9"),
        ["lab-db mysql publishes [error, slowquery]; missing audit, general"]
    );
    db(&mut t, "lab-db").status = "stopped".into();
    assert!(found(&t, "RDS.9").is_empty());
}

#[test]
fn password_only_access_fails_rds_10_on_the_engines_aws_lists() {
    let t = mutated(|t| db(t, "lab-db").security.iam_database_authentication = Some(false));
    assert_eq!(
        found(&t, "RDS.10"),
        ["lab-db iam_database_authentication_enabled=false"]
    );
    let oracle = mutated(|t| {
        let d = db(t, "lab-db");
        d.security.iam_database_authentication = Some(false);
        d.engine = "oracle-ee".into();
    });
    assert!(found(&oracle, "RDS.10").is_empty());
    let unread = mutated(|t| db(t, "lab-db").security.iam_database_authentication = None);
    assert!(found(&unread, "RDS.10").is_empty());
}

#[test]
fn manual_minor_upgrades_fail_rds_13_and_untagged_snapshots_rds_17() {
    let t = mutated(|t| {
        let d = db(t, "lab-db-replica-1");
        d.auto_minor_version_upgrade = false;
        d.security.copy_tags_to_snapshot = Some(false);
    });
    assert_eq!(
        found(&t, "RDS.13"),
        ["lab-db-replica-1 auto_minor_version_upgrade=false"]
    );
    assert_eq!(
        found(&t, "RDS.17"),
        ["lab-db-replica-1 copy_tags_to_snapshot=false"]
    );
}

#[test]
fn a_custom_port_passes_rds_23_and_admin_fails_rds_25() {
    let t = mutated(|t| {
        let d = db(t, "lab-db");
        if let Some(endpoint) = d.endpoint.as_mut() {
            endpoint.port = Some(3307);
        }
        d.security.master_username = Some("admin".into());
    });
    assert!(!found(&t, "RDS.23").iter().any(|f| f.starts_with("lab-db ")));
    assert_eq!(found(&t, "RDS.25"), ["lab-db master_username=admin"]);
}

#[test]
fn mysql_8_0_is_past_standard_support_in_december_2026_but_not_in_march() {
    // The fixture's clock is 2026-03-02 and its instances run MySQL 8.0.40.
    assert!(found(&healthy(), "SEC-RDS-EOS").is_empty());
    let december = Policy {
        now: chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
        ..Policy::default()
    };
    let late: Vec<String> = assess(&healthy(), &december)
        .into_iter()
        .filter(|f| f.id == "SEC-RDS-EOS")
        .map(|f| format!("{} {}", f.resource.id, f.evidence))
        .collect();
    assert!(
        late.contains(
            &"lab-db mysql 8.0.40: standard support for 8.0 ended 2026-07-31; billed for RDS \
              Extended Support"
                .to_string()
        ),
        "{late:?}"
    );
    let upgraded = mutated(|t| {
        for d in &mut primary(t).db_instances {
            d.engine_version = Some("8.4.3".into());
        }
    });
    assert!(
        !assess(&upgraded, &december)
            .iter()
            .any(|f| f.id == "SEC-RDS-EOS" && f.region.as_deref() == Some(PRIMARY))
    );
}
