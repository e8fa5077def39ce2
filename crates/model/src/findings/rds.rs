//! RDS and Aurora checks.

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};

/// RDS.11's minimum retention.
const MIN_BACKUP_RETENTION_DAYS: i32 = 7;

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for db in &index.region.db_instances {
        if db.status == "deleting" {
            continue;
        }
        let resource =
            || ResourceRef::new(ResourceKind::DbInstance, &db.identifier).with_arn(Some(&db.arn));
        // Replicas and cluster members are judged through their source or cluster.
        let standalone = db.read_replica_source.is_none() && db.cluster_identifier.is_none();
        if db.publicly_accessible {
            out.push(finding(
                "RDS.2",
                code,
                resource(),
                "publicly_accessible=true".to_string(),
            ));
        }
        if standalone && !db.multi_az {
            out.push(finding(
                "RDS.5",
                code,
                resource(),
                format!(
                    "multi_az=false; writer in {}",
                    db.availability_zone.as_deref().unwrap_or("unknown AZ")
                ),
            ));
        }
        if db.cluster_identifier.is_none() && !db.deletion_protection {
            out.push(finding(
                "RDS.8",
                code,
                resource(),
                "deletion_protection=false".to_string(),
            ));
        }
        if standalone && db.backup_retention_days < MIN_BACKUP_RETENTION_DAYS {
            out.push(finding(
                "RDS.11",
                code,
                resource(),
                format!("backup_retention_days={}", db.backup_retention_days),
            ));
        }
    }
    for cluster in &index.region.db_clusters {
        if cluster.status == "deleting" {
            continue;
        }
        let resource = || {
            ResourceRef::new(ResourceKind::DbCluster, &cluster.identifier)
                .with_arn(Some(&cluster.arn))
        };
        if !cluster.deletion_protection {
            out.push(finding(
                "RDS.7",
                code,
                resource(),
                "deletion_protection=false".to_string(),
            ));
        }
        if !cluster.multi_az {
            out.push(finding(
                "RDS.15",
                code,
                resource(),
                format!("multi_az=false; {} member(s)", cluster.members.len()),
            ));
        }
        if cluster.engine.starts_with("aurora") {
            let az_of = |id: &str| {
                index
                    .db_instance(id)
                    .and_then(|d| d.availability_zone.as_deref())
            };
            let writer_az = cluster
                .members
                .iter()
                .find(|m| m.is_writer)
                .and_then(|m| az_of(&m.instance_identifier));
            let readers: Vec<_> = cluster.members.iter().filter(|m| !m.is_writer).collect();
            let elsewhere =
                readers
                    .iter()
                    .any(|m| match (writer_az, az_of(&m.instance_identifier)) {
                        (Some(w), Some(r)) => w != r,
                        _ => true,
                    });
            if !elsewhere {
                let tiers: Vec<String> = readers
                    .iter()
                    .map(|m| {
                        format!(
                            "{} (tier {}, {})",
                            m.instance_identifier,
                            m.promotion_tier.unwrap_or(1),
                            az_of(&m.instance_identifier).unwrap_or("unknown AZ")
                        )
                    })
                    .collect();
                out.push(finding(
                    "HA-AUR-REP",
                    code,
                    resource(),
                    if readers.is_empty() {
                        format!(
                            "0 replicas; writer in {}",
                            writer_az.unwrap_or("unknown AZ")
                        )
                    } else {
                        format!(
                            "no replica outside the writer's AZ {}: {}",
                            writer_az.unwrap_or("unknown"),
                            tiers.join(", ")
                        )
                    },
                ));
            }
        }
    }
}
