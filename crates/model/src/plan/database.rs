//! The database tier of a plan: the DB subnet group, the primary and its same-Region read
//! replicas (as `apply/database.rs` builds them).

use super::network::Network;
use super::{Builder, Context, ResourceKind::*, drift, in_stack, owned, r};
use crate::blueprint::Blueprint;
use crate::topology;

/// The database tier, after the network and the security groups it lives in.
pub(super) fn plan_database(b: &mut Builder<'_>, cx: &Context<'_>, net: &Network<'_>) {
    subnet_group(b, cx, net);
    let primary_name = primary(b, cx);
    read_replicas(b, cx, &primary_name);
}

fn subnet_group(b: &mut Builder<'_>, cx: &Context<'_>, net: &Network<'_>) {
    let azs = &cx.blueprint.network.azs;
    let group_name = cx.name("db-subnets");
    let group = cx
        .region
        .db_subnet_groups
        .iter()
        .find(|g| g.name == group_name);
    let mut changes = Vec::new();
    if let Some(group) = group {
        for az in azs {
            if let Some(id) = net.subnet_id(&format!("private-{az}"))
                && !group.subnet_ids.contains(&id)
            {
                changes.push(format!("add private-{az}"));
            }
        }
    }
    b.step(
        DbSubnetGroup,
        "db-subnet-group",
        &group_name,
        group.map(|g| g.name.clone()),
        azs.iter()
            .map(|az| r(Subnet, &format!("private-{az}")))
            .collect(),
        changes,
        "over the private subnets".to_string(),
        false,
    );
}

/// The primary (`<stack>-db`, or the instance the blueprint adopts); returns its name.
fn primary(b: &mut Builder<'_>, cx: &Context<'_>) -> String {
    let db = &cx.blueprint.database;
    let primary_name = db.adopt.clone().unwrap_or_else(|| cx.name("db"));
    let primary = cx.region.db_instances.iter().find(|d| {
        owned(&d.tags, cx.stack, "db") || db.adopt.as_deref() == Some(d.identifier.as_str())
    });
    let changes = primary
        .map(|p| db_drift(p, cx.blueprint, true))
        .unwrap_or_default();
    b.step(
        DbInstance,
        "db",
        &primary_name,
        primary.map(|d| d.identifier.clone()),
        vec![
            r(DbSubnetGroup, "db-subnet-group"),
            r(SecurityGroup, "db-sg"),
        ],
        changes,
        format!(
            "{} {} {}{}, {} GiB, backups {} days, password managed by RDS in Secrets Manager, \
             deletion protection {}, IAM authentication, logs to CloudWatch, minor versions \
             applied automatically, tags copied to snapshots",
            db.engine,
            db.engine_version,
            db.class,
            if db.multi_az { " Multi-AZ" } else { "" },
            db.allocated_storage,
            db.backup_retention_days,
            if db.deletion_protection { "on" } else { "off" }
        ),
        false,
    );
    primary_name
}

fn read_replicas(b: &mut Builder<'_>, cx: &Context<'_>, primary_name: &str) {
    let db = &cx.blueprint.database;
    for replica_name in &db.read_replicas {
        let replica = cx
            .region
            .db_instances
            .iter()
            .find(|d| owned(&d.tags, cx.stack, replica_name));
        let changes = replica
            .map(|p| db_drift(p, cx.blueprint, false))
            .unwrap_or_default();
        b.step(
            DbReadReplica,
            replica_name,
            replica_name,
            replica.map(|d| d.identifier.clone()),
            vec![r(DbInstance, "db")],
            changes,
            format!("read replica of {primary_name}, {}", db.class),
            false,
        );
    }
}

fn db_drift(db: &topology::DbInstance, blueprint: &Blueprint, primary: bool) -> Vec<String> {
    let spec = &blueprint.database;
    let mut changes = Vec::new();
    if db.class != spec.class {
        // `up` applies it at once (ApplyImmediately), with any change already pending for the
        // maintenance window: a Multi-AZ instance fails over to its resized standby, a
        // Single-AZ one reboots
        // (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.ApplyImmediately.html>).
        let outage = if db.multi_az {
            "a Multi-AZ failover (about a minute or two without writes)"
        } else {
            "a reboot (the instance is down for several minutes)"
        };
        changes.push(format!(
            "{}; applied at once: {outage}, together with any change pending for the \
             maintenance window",
            drift("class", &db.class, &spec.class)
        ));
    }
    if primary {
        if !in_stack(&db.tags, blueprint.name()) {
            changes.push(format!("adopt into stack {} (tag it)", blueprint.name()));
        }
        if db.multi_az != spec.multi_az {
            changes.push(drift("Multi-AZ", db.multi_az, spec.multi_az));
        }
        if db.backup_retention_days != i32::from(spec.backup_retention_days) {
            changes.push(drift(
                "backup retention days",
                db.backup_retention_days,
                spec.backup_retention_days,
            ));
        }
        if db.deletion_protection != spec.deletion_protection {
            changes.push(drift(
                "deletion protection",
                db.deletion_protection,
                spec.deletion_protection,
            ));
        }
        if let Some(size) = db.allocated_storage_gib
            && i64::from(size) < i64::from(spec.allocated_storage)
        {
            changes.push(format!(
                "allocated storage {size} GiB → {} GiB",
                spec.allocated_storage
            ));
        }
        if db.master_user_secret_arn.is_none() && spec.manage_master_user_password {
            changes.push("hand the master password to RDS / Secrets Manager".to_string());
        }
    }
    changes
}
