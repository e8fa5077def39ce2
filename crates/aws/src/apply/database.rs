//! The DB subnet group, the Multi-AZ primary (its password made and kept by RDS in Secrets
//! Manager: haven never sees it) and its same-Region read replicas.

use std::time::{Duration, Instant};

use aws_sdk_rds::types::PendingModifiedValues;
use haven_model::Service;
use haven_model::plan::{DbDeleteMove, Op, ResourceKind, Retain, db_delete_move, db_is_busy};

use super::{Runner, StepContext, has_code, tolerate_gone, unsupported};
use crate::error::AwsError;

const RDS: Service = Service::Rds;
const ALREADY_EXISTS: &[&str] = &["DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault"];
/// How long a replica's source may stay busy after it first reads `available` (its first
/// backup, a pending change) before `up` gives up.
const SOURCE_BUSY_BUDGET: Duration = Duration::from_secs(30 * 60);

impl Runner<'_> {
    pub(super) async fn database(&self, cx: &StepContext<'_>) -> Result<Option<String>, AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        match (step.op, step.resource.kind) {
            (Op::Create | Op::Update, DbSubnetGroup) => self.db_subnet_group(cx).await.map(Some),
            (Op::Create, DbInstance) => self.create_db(cx).await.map(Some),
            (Op::Create, DbReadReplica) => self.create_replica(cx).await.map(Some),
            (Op::Update, DbInstance | DbReadReplica) => self.modify_db(cx).await.map(Some),
            (Op::Delete, DbSubnetGroup) => {
                let rds = self.ctx.rds(&cx.region);
                let result = self
                    .send(
                        RDS,
                        &cx.region,
                        "DeleteDBSubnetGroup",
                        rds.delete_db_subnet_group()
                            .db_subnet_group_name(&step.name)
                            .send(),
                    )
                    .await;
                tolerate_gone(result).map(|_| None)
            }
            (Op::Delete, DbInstance | DbReadReplica) => self.delete_db(cx).await.map(|()| None),
            _ => Err(unsupported(step)),
        }
    }

    async fn db_subnet_group(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let rds = self.ctx.rds(&cx.region);
        let subnets = bp
            .network
            .azs
            .iter()
            .map(|az| self.id(ResourceKind::Subnet, &format!("private-{az}")))
            .collect::<Result<Vec<_>, _>>()?;
        let description = format!("haven {}: the private subnets", self.stack);
        if cx.step.id.is_some() {
            self.send(
                RDS,
                &cx.region,
                "ModifyDBSubnetGroup",
                rds.modify_db_subnet_group()
                    .db_subnet_group_name(&cx.step.name)
                    .db_subnet_group_description(description)
                    .set_subnet_ids(Some(subnets))
                    .send(),
            )
            .await?;
        } else {
            let result = self
                .send(
                    RDS,
                    &cx.region,
                    "CreateDBSubnetGroup",
                    rds.create_db_subnet_group()
                        .db_subnet_group_name(&cx.step.name)
                        .db_subnet_group_description(description)
                        .set_subnet_ids(Some(subnets))
                        .set_tags(Some(crate::tags::rds(&self.tags(cx.step))))
                        .send(),
                )
                .await;
            if !has_code(
                &result,
                &[
                    "DBSubnetGroupAlreadyExists",
                    "DBSubnetGroupAlreadyExistsFault",
                ],
            ) {
                result?;
            }
        }
        Ok(cx.step.name.clone())
    }

    async fn create_db(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let db = &bp.database;
        let rds = self.ctx.rds(&cx.region);
        let identifier = cx.step.name.clone();
        let subnet_group = self.id(ResourceKind::DbSubnetGroup, "db-subnet-group")?;
        let group = self.id(ResourceKind::SecurityGroup, "db-sg")?;
        let result = self
            .send(
                RDS,
                &cx.region,
                "CreateDBInstance",
                rds.create_db_instance()
                    .db_instance_identifier(&identifier)
                    .engine(&db.engine)
                    .engine_version(&db.engine_version)
                    .db_instance_class(&db.class)
                    .allocated_storage(i32::try_from(db.allocated_storage).unwrap_or(i32::MAX))
                    .multi_az(db.multi_az)
                    .master_username(&db.master_username)
                    .manage_master_user_password(db.manage_master_user_password)
                    .db_subnet_group_name(subnet_group)
                    .vpc_security_group_ids(group)
                    .backup_retention_period(i32::from(db.backup_retention_days))
                    .deletion_protection(db.deletion_protection)
                    .storage_encrypted(db.storage_encrypted)
                    .publicly_accessible(false)
                    // Security Hub RDS.13, RDS.17, RDS.10 and RDS.9, met at creation.
                    .auto_minor_version_upgrade(true)
                    .copy_tags_to_snapshot(true)
                    .enable_iam_database_authentication(true)
                    .set_enable_cloudwatch_logs_exports(log_exports(&db.engine))
                    .set_tags(Some(crate::tags::rds(&self.tags(cx.step))))
                    .send(),
            )
            .await;
        self.follow_create(cx, &identifier, result).await?;
        Ok(identifier)
    }

    /// Waits for an instance this step asked for: from the first pause on when AWS accepted
    /// the create, at once when it already existed (an earlier run made it).
    async fn follow_create<T>(
        &self,
        cx: &StepContext<'_>,
        identifier: &str,
        result: Result<T, AwsError>,
    ) -> Result<(), AwsError> {
        if !has_code(&result, ALREADY_EXISTS) {
            result?;
            let what = format!("{identifier} to be available");
            self.pause_before_looking(cx, &what).await;
        }
        self.wait_db(cx, identifier, true).await
    }

    /// Creates the same-Region replica once its source can take it, in another AZ than the
    /// source's.
    async fn create_replica(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let rds = self.ctx.rds(&cx.region);
        let identifier = cx.step.name.clone();
        let source = self.id(ResourceKind::DbInstance, "db")?;
        let group = self.id(ResourceKind::SecurityGroup, "db-sg")?;
        let source_az = self.replica_source_ready(cx, &source).await?;
        // Away from the source's AZ, so that losing that AZ leaves a copy to read and promote.
        let az = bp
            .network
            .azs
            .iter()
            .find(|az| Some(az.as_str()) != source_az.as_deref())
            .cloned();
        // The source can still turn busy (a backup starting) between the look and the call.
        let busy = |e: &AwsError| e.code() == Some("InvalidDBInstanceState");
        let first = self.options.first_poll;
        let result = self
            .retry(cx, SOURCE_BUSY_BUDGET, first, &busy, || {
                self.send(
                    RDS,
                    &cx.region,
                    "CreateDBInstanceReadReplica",
                    rds.create_db_instance_read_replica()
                        .db_instance_identifier(&identifier)
                        .source_db_instance_identifier(&source)
                        .db_instance_class(&bp.database.class)
                        .set_availability_zone(az.clone())
                        .vpc_security_group_ids(&group)
                        .publicly_accessible(false)
                        // A replica is judged on its own (RDS.9, RDS.10, RDS.13, RDS.17).
                        .auto_minor_version_upgrade(true)
                        .copy_tags_to_snapshot(true)
                        .enable_iam_database_authentication(true)
                        .set_enable_cloudwatch_logs_exports(log_exports(&bp.database.engine))
                        .set_tags(Some(crate::tags::rds(&self.tags(cx.step))))
                        .send(),
                )
            })
            .await;
        self.follow_create(cx, &identifier, result).await?;
        Ok(identifier)
    }

    /// Waits until the source is `available` with no modification pending: RDS refuses a
    /// replica of an instance in any other state with `InvalidDBInstanceState` ("DB instance
    /// is not in the available state"; terraform-aws-modules/terraform-aws-rds#192), and a new
    /// instance goes through `backing-up` after it first reads `available`. Returns the
    /// source's AZ.
    async fn replica_source_ready(
        &self,
        cx: &StepContext<'_>,
        source: &str,
    ) -> Result<Option<String>, AwsError> {
        let rds = self.ctx.rds(&cx.region);
        let az = std::sync::Mutex::new(None);
        let what = format!("{source} to be available with no pending change");
        self.wait_for(cx, RDS, &what, || async {
            let out = self
                .read(
                    RDS,
                    &cx.region,
                    "DescribeDBInstances",
                    rds.describe_db_instances()
                        .db_instance_identifier(source)
                        .send(),
                )
                .await?;
            let Some(db) = out.db_instances().first() else {
                return Ok(Some("not found yet".to_string()));
            };
            if let Ok(mut az) = az.lock() {
                *az = db.availability_zone().map(str::to_string);
            }
            let status = db.db_instance_status().unwrap_or("unknown");
            let pending = db
                .pending_modified_values()
                .is_some_and(|p| *p != PendingModifiedValues::builder().build());
            Ok(match (status, pending) {
                ("available", false) => None,
                ("available", true) => Some("available, a modification pending".to_string()),
                (status, _) => Some(status.to_string()),
            })
        })
        .await?;
        Ok(az.into_inner().unwrap_or_default())
    }

    /// Applies the blueprint's settings at once (not in the next maintenance window), as
    /// before; the plan says what that costs (a class change fails over or reboots, and brings
    /// any change pending for the window along).
    async fn modify_db(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let db = &bp.database;
        let rds = self.ctx.rds(&cx.region);
        let identifier = cx.step.id.clone().ok_or_else(|| unsupported(cx.step))?;
        let primary = cx.step.resource.kind == ResourceKind::DbInstance;
        let current = self
            .region(&cx.region)
            .and_then(|r| r.db_instances.iter().find(|d| d.identifier == identifier));
        let mut request = rds
            .modify_db_instance()
            .db_instance_identifier(&identifier)
            .db_instance_class(&db.class)
            .apply_immediately(true);
        if primary {
            request = request
                .multi_az(db.multi_az)
                .backup_retention_period(i32::from(db.backup_retention_days))
                .deletion_protection(db.deletion_protection);
            let grow = current
                .and_then(|d| d.allocated_storage_gib)
                .is_some_and(|size| i64::from(size) < i64::from(db.allocated_storage));
            if grow {
                request = request
                    .allocated_storage(i32::try_from(db.allocated_storage).unwrap_or(i32::MAX));
            }
            if db.manage_master_user_password
                && current.is_some_and(|d| d.master_user_secret_arn.is_none())
            {
                request = request.manage_master_user_password(true);
            }
        }
        self.send(RDS, &cx.region, "ModifyDBInstance", request.send())
            .await?;
        // An adopted instance (a promoted DR replica) joins the stack: `down` finds it by tag.
        if let Some(db) = current.filter(|d| !d.tags.contains_key(haven_model::plan::STACK_TAG)) {
            self.send(
                RDS,
                &cx.region,
                "AddTagsToResource",
                rds.add_tags_to_resource()
                    .resource_name(&db.arn)
                    .set_tags(Some(crate::tags::rds(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        }
        self.wait_db(cx, &identifier, true).await?;
        Ok(identifier)
    }

    /// Deletes a database as the plan says (by default RDS keeps a final snapshot and the
    /// automated backups), from whatever state RDS has it in, then waits until it is gone: its
    /// source or subnet group cannot go before. An interrupted `down` run again finds it
    /// `deleting` and only waits; one that meets it `creating` or `modifying` waits for that to
    /// end first; `InvalidDBInstanceState` on the delete means the state changed meanwhile, so
    /// it reads the state again and follows it.
    async fn delete_db(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        let identifier = cx.step.id.clone().ok_or_else(|| unsupported(cx.step))?;
        let retain = cx.step.retain.clone().unwrap_or(Retain {
            final_snapshot: None,
            automated_backups: true,
        });
        let started = Instant::now();
        loop {
            let current = self.db_state(cx, &identifier).await?;
            let status = current.as_ref().map(|(status, _)| status.as_str());
            match db_delete_move(status) {
                DbDeleteMove::Gone => return Ok(()),
                DbDeleteMove::WaitUntilGone => {
                    return self.wait_db(cx, &identifier, false).await;
                }
                DbDeleteMove::WaitUntilSettled => {
                    self.wait_db_settled(cx, &identifier).await?;
                    continue;
                }
                DbDeleteMove::DeleteWithoutSnapshotOnly if retain.final_snapshot.is_some() => {
                    return Err(AwsError::Other {
                        service: RDS,
                        operation: "DeleteDBInstance".to_string(),
                        detail: format!(
                            "{identifier} is {}: RDS can delete it only without a final \
                             snapshot (its data cannot be snapshotted in that state). Restore \
                             it from its latest snapshot if you need its data, or run `haven \
                             down --no-final-snapshot` to delete it as it is",
                            status.unwrap_or_default()
                        ),
                    });
                }
                DbDeleteMove::Delete | DbDeleteMove::DeleteWithoutSnapshotOnly => {}
            }
            // Only reached with --force: `down` refuses a protected database before any call.
            if current.is_some_and(|(_, protected)| protected) {
                let result = self
                    .send(
                        RDS,
                        &cx.region,
                        "ModifyDBInstance",
                        self.ctx
                            .rds(&cx.region)
                            .modify_db_instance()
                            .db_instance_identifier(&identifier)
                            .deletion_protection(false)
                            .apply_immediately(true)
                            .send(),
                    )
                    .await;
                if self.state_changed(&result, started).await? {
                    continue;
                }
            }
            let result = self
                .send(
                    RDS,
                    &cx.region,
                    "DeleteDBInstance",
                    self.ctx
                        .rds(&cx.region)
                        .delete_db_instance()
                        .db_instance_identifier(&identifier)
                        .skip_final_snapshot(retain.final_snapshot.is_none())
                        .set_final_db_snapshot_identifier(retain.final_snapshot.clone())
                        .delete_automated_backups(!retain.automated_backups)
                        .send(),
                )
                .await;
            if self.state_changed(&result, started).await? {
                continue;
            }
            if tolerate_gone(result)?.is_none() {
                return Ok(());
            }
            return self.wait_db(cx, &identifier, false).await;
        }
    }

    /// Whether a call to an instance failed with `InvalidDBInstanceState` (its state changed
    /// since it was read: read it again, after a pause); other errors pass through.
    async fn state_changed<T>(
        &self,
        result: &Result<T, AwsError>,
        started: Instant,
    ) -> Result<bool, AwsError> {
        match result {
            Err(error)
                if error.code().is_some_and(|c| {
                    c == "InvalidDBInstanceState" || c == "InvalidDBInstanceStateFault"
                }) =>
            {
                if started.elapsed() > self.options.max_wait {
                    return Err(error.clone());
                }
                tokio::time::sleep(self.options.first_poll).await;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The instance's status and deletion protection, `None` when it does not exist.
    async fn db_state(
        &self,
        cx: &StepContext<'_>,
        identifier: &str,
    ) -> Result<Option<(String, bool)>, AwsError> {
        let out = self
            .read(
                RDS,
                &cx.region,
                "DescribeDBInstances",
                self.ctx
                    .rds(&cx.region)
                    .describe_db_instances()
                    .db_instance_identifier(identifier)
                    .send(),
            )
            .await;
        Ok(tolerate_gone(out)?.and_then(|o| {
            o.db_instances().first().map(|d| {
                (
                    d.db_instance_status().unwrap_or("unknown").to_string(),
                    d.deletion_protection().unwrap_or(false),
                )
            })
        }))
    }

    /// Waits while RDS is busy with the instance (see [`db_is_busy`]).
    async fn wait_db_settled(
        &self,
        cx: &StepContext<'_>,
        identifier: &str,
    ) -> Result<(), AwsError> {
        let what = format!("{identifier} to finish what RDS is doing before it can be deleted");
        self.wait_for(cx, RDS, &what, || async {
            Ok(self
                .db_state(cx, identifier)
                .await?
                .map(|(status, _)| status)
                .filter(|status| db_is_busy(status)))
        })
        .await
    }

    /// Waits until the instance is `available` (or, with `exists` false, gone).
    async fn wait_db(
        &self,
        cx: &StepContext<'_>,
        identifier: &str,
        exists: bool,
    ) -> Result<(), AwsError> {
        let rds = self.ctx.rds(&cx.region);
        let what = if exists {
            format!("{identifier} to be available")
        } else {
            format!("{identifier} to be deleted")
        };
        self.wait_for(cx, RDS, &what, || async {
            let out = self
                .read(
                    RDS,
                    &cx.region,
                    "DescribeDBInstances",
                    rds.describe_db_instances()
                        .db_instance_identifier(identifier)
                        .send(),
                )
                .await;
            let status = tolerate_gone(out)?.and_then(|o| {
                o.db_instances()
                    .first()
                    .map(|d| d.db_instance_status().unwrap_or("unknown").to_string())
            });
            Ok(match (status, exists) {
                (Some(s), true) if s == "available" => None,
                (Some(s), _) => Some(s),
                (None, false) => None,
                (None, true) => Some("not found yet".to_string()),
            })
        })
        .await
    }
}

/// The logs Security Hub RDS.9 wants this engine to publish to CloudWatch Logs.
fn log_exports(engine: &str) -> Option<Vec<String>> {
    haven_model::engines::required_log_exports(engine)
        .map(|logs| logs.iter().map(|l| (*l).to_string()).collect())
}
