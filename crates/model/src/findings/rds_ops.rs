//! RDS encryption, public snapshots and upkeep (issue 21): Security Hub RDS.1, RDS.3, RDS.4,
//! RDS.9, RDS.10, RDS.13, RDS.17, RDS.23, RDS.24, RDS.25, RDS.27 as AWS scopes each, and
//! haven's SEC-RDS-EOS (a major version past RDS standard support).

use chrono::{DateTime, Utc};

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::engines;
use crate::topology::{DbCluster, DbInstance, DbSnapshot};

/// The states RDS.9 and RDS.10 evaluate (others are NOT_APPLICABLE in AWS Config).
const EVALUATED_STATES: [&str; 4] = [
    "available",
    "backing-up",
    "storage-optimization",
    "storage-full",
];

pub(crate) fn check(index: &RegionIndex, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for db in &index.region.db_instances {
        if db.status != "deleting" {
            instance(db, code, now, out);
        }
    }
    for cluster in &index.region.db_clusters {
        if cluster.status != "deleting" {
            db_cluster(cluster, code, now, out);
        }
    }
    for snapshot in &index.region.db_snapshots {
        if snapshot.status != "deleting" {
            db_snapshot(snapshot, code, out);
        }
    }
}

fn instance(db: &DbInstance, code: Option<&str>, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let resource =
        || ResourceRef::new(ResourceKind::DbInstance, &db.identifier).with_arn(Some(&db.arn));
    let mut push = |id: &str, evidence: String| out.push(finding(id, code, resource(), evidence));
    let in_cluster = db.cluster_identifier.is_some();
    let evaluated = EVALUATED_STATES.contains(&db.status.as_str());
    if !db.storage_encrypted {
        push("RDS.3", "storage_encrypted=false".to_string());
    }
    if evaluated && let Some(required) = engines::required_log_exports(&db.engine) {
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|log| !db.cloudwatch_logs_exports.iter().any(|e| e == log))
            .collect();
        if !missing.is_empty() {
            push(
                "RDS.9",
                format!(
                    "{} publishes [{}]; missing {}",
                    db.engine,
                    db.cloudwatch_logs_exports.join(", "),
                    missing.join(", ")
                ),
            );
        }
    }
    if evaluated
        && engines::iam_authentication_applies(&db.engine)
        && db.security.iam_database_authentication == Some(false)
    {
        push(
            "RDS.10",
            "iam_database_authentication_enabled=false".to_string(),
        );
    }
    if !db.auto_minor_version_upgrade {
        push("RDS.13", "auto_minor_version_upgrade=false".to_string());
    }
    if db.security.copy_tags_to_snapshot == Some(false) {
        push("RDS.17", "copy_tags_to_snapshot=false".to_string());
    }
    if !in_cluster
        && let (Some(port), Some(default)) = (
            db.endpoint.as_ref().and_then(|e| e.port),
            engines::default_port(&db.engine),
        )
        && port == default
    {
        push(
            "RDS.23",
            format!("{} on its default port {port}", db.engine),
        );
    }
    if !in_cluster
        && engines::admin_check_applies(&db.engine)
        && let Some(user) = default_admin(db.security.master_username.as_deref())
    {
        push("RDS.25", format!("master_username={user}"));
    }
    if !in_cluster
        && let Some(evidence) = past_standard_support(
            &db.engine,
            db.engine_version.as_deref(),
            db.security.engine_lifecycle_support.as_deref(),
            now,
        )
    {
        push("SEC-RDS-EOS", evidence);
    }
}

fn db_cluster(cluster: &DbCluster, code: Option<&str>, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let resource = || {
        ResourceRef::new(ResourceKind::DbCluster, &cluster.identifier).with_arn(Some(&cluster.arn))
    };
    let mut push = |id: &str, evidence: String| out.push(finding(id, code, resource(), evidence));
    if !cluster.storage_encrypted {
        push("RDS.27", "storage_encrypted=false".to_string());
    }
    if engines::admin_check_applies(&cluster.engine)
        && let Some(user) = default_admin(cluster.security.master_username.as_deref())
    {
        push("RDS.24", format!("master_username={user}"));
    }
    if let Some(evidence) = past_standard_support(
        &cluster.engine,
        cluster.engine_version.as_deref(),
        cluster.security.engine_lifecycle_support.as_deref(),
        now,
    ) {
        push("SEC-RDS-EOS", evidence);
    }
}

fn db_snapshot(snapshot: &DbSnapshot, code: Option<&str>, out: &mut Vec<Finding>) {
    let kind = if snapshot.cluster_identifier.is_some() {
        "cluster snapshot"
    } else {
        "snapshot"
    };
    let source = snapshot
        .instance_identifier
        .as_deref()
        .or(snapshot.cluster_identifier.as_deref())
        .unwrap_or("unknown source");
    let resource = || {
        ResourceRef::new(ResourceKind::DbSnapshot, &snapshot.identifier)
            .with_arn(Some(&snapshot.arn))
    };
    if snapshot.public == Some(true) {
        out.push(finding(
            "RDS.1",
            code,
            resource(),
            format!(
                "{} {kind} of {source}: restore attribute includes all{}",
                snapshot.snapshot_type,
                if snapshot.encrypted {
                    ""
                } else {
                    "; unencrypted"
                }
            ),
        ));
    }
    if !snapshot.encrypted {
        out.push(finding(
            "RDS.4",
            code,
            resource(),
            format!(
                "{} {kind} of {source}: encrypted=false",
                snapshot.snapshot_type
            ),
        ));
    }
}

fn default_admin(user: Option<&str>) -> Option<&str> {
    user.filter(|u| engines::DEFAULT_ADMIN_USERNAMES.contains(u))
}

/// The evidence when the version's major left RDS standard support before `now`.
fn past_standard_support(
    engine: &str,
    version: Option<&str>,
    lifecycle: Option<&str>,
    now: DateTime<Utc>,
) -> Option<String> {
    let version = version?;
    let end = engines::standard_support_end(engine, version)?;
    if now.date_naive() <= end {
        return None;
    }
    let after = match lifecycle {
        Some("open-source-rds-extended-support-disabled") => {
            "; Extended Support disabled: RDS upgrades the major version itself"
        }
        Some(_) => "; billed for RDS Extended Support",
        None => "",
    };
    Some(format!(
        "{engine} {version}: standard support for {} ended {end}{after}",
        engines::major_version(engine, version)
    ))
}
