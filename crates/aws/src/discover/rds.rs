//! RDS and Aurora: DB instances, clusters and members, snapshots, subnet groups.

use aws_sdk_rds::Client;
use aws_sdk_rds::types as sdk;
use futures::stream::{self, StreamExt};
use haven_model as model;

use super::convert::{opt, time};
use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

type Result<T> = std::result::Result<T, AwsError>;

fn tags(list: &[sdk::Tag]) -> model::Tags {
    list.iter()
        .filter_map(|t| Some((t.key()?.to_string(), opt(t.value()))))
        .collect()
}

fn instance(d: &sdk::DbInstance) -> model::DbInstance {
    model::DbInstance {
        identifier: opt(d.db_instance_identifier()),
        arn: opt(d.db_instance_arn()),
        engine: opt(d.engine()),
        engine_version: d.engine_version().map(str::to_string),
        class: opt(d.db_instance_class()),
        status: opt(d.db_instance_status()),
        multi_az: d.multi_az().unwrap_or(false),
        availability_zone: d.availability_zone().map(str::to_string),
        secondary_availability_zone: d.secondary_availability_zone().map(str::to_string),
        endpoint: d.endpoint().map(|e| model::Endpoint {
            address: opt(e.address()),
            port: e.port(),
        }),
        publicly_accessible: d.publicly_accessible().unwrap_or(false),
        storage_encrypted: d.storage_encrypted().unwrap_or(false),
        kms_key_id: d.kms_key_id().map(str::to_string),
        backup_retention_days: d.backup_retention_period().unwrap_or(0),
        deletion_protection: d.deletion_protection().unwrap_or(false),
        auto_minor_version_upgrade: d.auto_minor_version_upgrade().unwrap_or(false),
        monitoring_interval: d.monitoring_interval(),
        cloudwatch_logs_exports: d.enabled_cloudwatch_logs_exports().to_vec(),
        cluster_identifier: d.db_cluster_identifier().map(str::to_string),
        read_replica_source: d
            .read_replica_source_db_instance_identifier()
            .map(str::to_string),
        read_replica_identifiers: d.read_replica_db_instance_identifiers().to_vec(),
        replica_lag: None,
        subnet_group_name: d
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .map(str::to_string),
        vpc_security_group_ids: d
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
            .collect(),
        master_user_secret_arn: d
            .master_user_secret()
            .and_then(|s| s.secret_arn())
            .map(str::to_string),
        allocated_storage_gib: d.allocated_storage(),
        created_at: time(d.instance_create_time()),
        tags: tags(d.tag_list()),
        security: model::DbSecurity {
            copy_tags_to_snapshot: d.copy_tags_to_snapshot(),
            iam_database_authentication: d.iam_database_authentication_enabled(),
            master_username: d.master_username().map(str::to_string),
            engine_lifecycle_support: d.engine_lifecycle_support().map(str::to_string),
        },
    }
}

fn cluster(c: &sdk::DbCluster) -> model::DbCluster {
    model::DbCluster {
        identifier: opt(c.db_cluster_identifier()),
        arn: opt(c.db_cluster_arn()),
        engine: opt(c.engine()),
        engine_version: c.engine_version().map(str::to_string),
        status: opt(c.status()),
        multi_az: c.multi_az().unwrap_or(false),
        availability_zones: c.availability_zones().to_vec(),
        endpoint: c.endpoint().map(str::to_string),
        reader_endpoint: c.reader_endpoint().map(str::to_string),
        port: c.port(),
        members: c
            .db_cluster_members()
            .iter()
            .map(|m| model::DbClusterMember {
                instance_identifier: opt(m.db_instance_identifier()),
                is_writer: m.is_cluster_writer().unwrap_or(false),
                promotion_tier: m.promotion_tier(),
            })
            .collect(),
        storage_encrypted: c.storage_encrypted().unwrap_or(false),
        backup_retention_days: c.backup_retention_period().unwrap_or(0),
        deletion_protection: c.deletion_protection().unwrap_or(false),
        replication_source: c.replication_source_identifier().map(str::to_string),
        read_replica_identifiers: c.read_replica_identifiers().to_vec(),
        subnet_group_name: c.db_subnet_group().map(str::to_string),
        vpc_security_group_ids: c
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
            .collect(),
        tags: tags(c.tag_list()),
        security: model::DbSecurity {
            copy_tags_to_snapshot: c.copy_tags_to_snapshot(),
            iam_database_authentication: c.iam_database_authentication_enabled(),
            master_username: c.master_username().map(str::to_string),
            engine_lifecycle_support: c.engine_lifecycle_support().map(str::to_string),
        },
    }
}

fn snapshot(s: &sdk::DbSnapshot) -> model::DbSnapshot {
    model::DbSnapshot {
        identifier: opt(s.db_snapshot_identifier()),
        arn: opt(s.db_snapshot_arn()),
        instance_identifier: s.db_instance_identifier().map(str::to_string),
        cluster_identifier: None,
        snapshot_type: opt(s.snapshot_type()),
        status: opt(s.status()),
        engine: opt(s.engine()),
        created_at: time(s.snapshot_create_time()),
        encrypted: s.encrypted().unwrap_or(false),
        percent_progress: s.percent_progress(),
        source_snapshot: s.source_db_snapshot_identifier().map(str::to_string),
        source_region: s.source_region().map(str::to_string),
        tags: tags(s.tag_list()),
        public: None,
    }
}

fn cluster_snapshot(s: &sdk::DbClusterSnapshot) -> model::DbSnapshot {
    model::DbSnapshot {
        identifier: opt(s.db_cluster_snapshot_identifier()),
        arn: opt(s.db_cluster_snapshot_arn()),
        instance_identifier: None,
        cluster_identifier: s.db_cluster_identifier().map(str::to_string),
        snapshot_type: opt(s.snapshot_type()),
        status: opt(s.status()),
        engine: opt(s.engine()),
        created_at: time(s.snapshot_create_time()),
        encrypted: s.storage_encrypted().unwrap_or(false),
        percent_progress: s.percent_progress(),
        source_snapshot: s.source_db_cluster_snapshot_arn().map(str::to_string),
        source_region: None,
        tags: tags(s.tag_list()),
        public: None,
    }
}

/// DB instances (Aurora cluster members included).
pub(super) async fn databases(scope: &Scope<'_>) -> Result<Vec<model::DbInstance>> {
    let c = scope.ctx.rds(scope.region);
    let list: Vec<sdk::DbInstance> = c
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| scope.err("DescribeDBInstances", e))?;
    Ok(list.iter().map(instance).collect())
}

/// DB clusters.
pub(super) async fn clusters(scope: &Scope<'_>) -> Result<Vec<model::DbCluster>> {
    let c = scope.ctx.rds(scope.region);
    let list: Vec<sdk::DbCluster> = c
        .describe_db_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| scope.err("DescribeDBClusters", e))?;
    Ok(list.iter().map(cluster).collect())
}

/// DB subnet groups.
pub(super) async fn subnet_groups(scope: &Scope<'_>) -> Result<Vec<model::DbSubnetGroup>> {
    let c = scope.ctx.rds(scope.region);
    let list: Vec<sdk::DbSubnetGroup> = c
        .describe_db_subnet_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| scope.err("DescribeDBSubnetGroups", e))?;
    Ok(list
        .iter()
        .map(|g| model::DbSubnetGroup {
            name: opt(g.db_subnet_group_name()),
            arn: g.db_subnet_group_arn().map(str::to_string),
            vpc_id: g.vpc_id().map(str::to_string),
            subnet_ids: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_string))
                .collect(),
            status: g.subnet_group_status().map(str::to_string),
        })
        .collect())
}

/// DB instance and cluster snapshots, with whether each manual one is public; the errors of
/// the lists, and separately of the attribute reads (those snapshots' `public` stays unknown).
pub(super) async fn snapshots(
    scope: &Scope<'_>,
) -> (Vec<model::DbSnapshot>, Vec<AwsError>, Vec<AwsError>) {
    let c = scope.ctx.rds(scope.region);
    let (instance_snapshots, cluster_snapshots) = tokio::join!(
        c.describe_db_snapshots()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.describe_db_cluster_snapshots()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
    );
    let mut list_errors = Vec::new();
    let mut listed: Vec<model::DbSnapshot> = Vec::new();
    match instance_snapshots {
        Ok(v) => listed.extend(v.iter().map(snapshot)),
        Err(e) => list_errors.push(scope.err("DescribeDBSnapshots", e)),
    }
    match cluster_snapshots {
        Ok(v) => listed.extend(v.iter().map(cluster_snapshot)),
        Err(e) => list_errors.push(scope.err("DescribeDBClusterSnapshots", e)),
    }
    let mut detail_errors = Vec::new();
    let listed = with_visibility(&c, scope, listed, &mut detail_errors).await;
    (listed, list_errors, detail_errors)
}

/// Reads whether each manual snapshot is public (RDS.1: its `restore` attribute holds `all`),
/// one DescribeDBSnapshotAttributes or DescribeDBClusterSnapshotAttributes per snapshot,
/// [`CONCURRENCY`] at a time; automated snapshots cannot be shared and are not asked about. A
/// failed read leaves `public` unknown and is reported.
async fn with_visibility(
    c: &Client,
    scope: &Scope<'_>,
    mut snapshots: Vec<model::DbSnapshot>,
    errors: &mut Vec<AwsError>,
) -> Vec<model::DbSnapshot> {
    let asks: Vec<(usize, String, bool)> = snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.snapshot_type == "manual")
        .map(|(i, s)| (i, s.identifier.clone(), s.cluster_identifier.is_some()))
        .collect();
    let answers: Vec<(usize, Result<bool>)> = stream::iter(asks)
        .map(|(i, id, cluster)| async move { (i, restorable_by_all(c, scope, &id, cluster).await) })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (i, answer) in answers {
        match answer {
            Ok(public) => snapshots[i].public = Some(public),
            Err(e) => errors.push(e),
        }
    }
    snapshots
}

async fn restorable_by_all(c: &Client, scope: &Scope<'_>, id: &str, cluster: bool) -> Result<bool> {
    let all = |name: Option<&str>, values: &[String]| {
        name == Some("restore") && values.iter().any(|v| v == "all")
    };
    if cluster {
        let out = c
            .describe_db_cluster_snapshot_attributes()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
            .map_err(|e| scope.err("DescribeDBClusterSnapshotAttributes", e))?;
        Ok(out
            .db_cluster_snapshot_attributes_result()
            .is_some_and(|r| {
                r.db_cluster_snapshot_attributes()
                    .iter()
                    .any(|a| all(a.attribute_name(), a.attribute_values()))
            }))
    } else {
        let out = c
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(id)
            .send()
            .await
            .map_err(|e| scope.err("DescribeDBSnapshotAttributes", e))?;
        Ok(out.db_snapshot_attributes_result().is_some_and(|r| {
            r.db_snapshot_attributes()
                .iter()
                .any(|a| all(a.attribute_name(), a.attribute_values()))
        }))
    }
}
