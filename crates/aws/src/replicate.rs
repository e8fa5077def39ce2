//! Carries out one replication [`Operation`]: the copy (or replica, or deletion) call in the
//! destination Region, then polling until the copy is usable. A repeated request finds the
//! first copy: AMI copies carry a client token and a fixed name, DB snapshot copies and replicas
//! a fixed identifier ("already exists" counts as done).

use aws_sdk_ec2::types::ResourceType;
use haven_model::Service;
use haven_model::replication::{CopyKind, CopyRequest, DeleteRequest, Operation, ReplicaRequest};

use crate::context::AwsContext;
use crate::error::AwsError;
use crate::options::ExecuteOptions;

pub use crate::poll::WaitSink;

/// Runs `operation` to completion and returns the id of what it made (the copy, the replica) or
/// deleted. Refuses with [`AwsError::ReadOnly`] before any call when `options.read_only` is set.
pub async fn run(
    ctx: &AwsContext,
    operation: &Operation,
    options: &ExecuteOptions,
    waiting: WaitSink<'_>,
) -> Result<String, AwsError> {
    if options.read_only {
        return Err(AwsError::ReadOnly {
            action: operation.sentence(),
        });
    }
    let run = Run {
        ctx,
        options,
        waiting,
    };
    match operation {
        Operation::Copy(copy) => match copy.kind {
            CopyKind::Image => run.copy_image(copy).await,
            CopyKind::Snapshot => run.copy_snapshot(copy).await,
            CopyKind::DbSnapshot => run.copy_db_snapshot(copy).await,
            CopyKind::DbClusterSnapshot => run.copy_db_cluster_snapshot(copy).await,
        },
        Operation::Replica(replica) => run.replica(replica).await,
        Operation::Delete(delete) => run.delete(delete).await,
    }
}

fn conflict(service: Service, operation: &str, detail: String) -> AwsError {
    AwsError::Other {
        service,
        operation: operation.to_string(),
        detail,
    }
}

/// A DB (cluster) snapshot copy's status: `available` is done; `creating`/`copying`/`pending`
/// wait (with RDS's percent); anything else (`failed`, `incompatible-…`) ends it: it never becomes
/// available, and the next `haven replicate` removes and remakes it.
fn db_copy_state(
    what: &str,
    operation: &str,
    status: &str,
    progress: Option<i32>,
) -> Result<Option<String>, AwsError> {
    match status {
        "available" => Ok(None),
        "creating" | "copying" | "pending" => Ok(Some(match progress {
            Some(p) => format!("{status} {p}%"),
            None => status.to_string(),
        })),
        other => Err(conflict(
            Service::Rds,
            operation,
            format!("{what} ended {other}: `haven replicate` removes it and copies again"),
        )),
    }
}

/// DB instance statuses RDS does not leave by itself.
fn db_cannot_recover(status: &str) -> bool {
    matches!(
        status,
        "failed" | "storage-full" | "inaccessible-encryption-credentials"
    ) || status.starts_with("incompatible-")
}

fn code_is(error: &AwsError, codes: &[&str]) -> bool {
    error.code().is_some_and(|c| codes.contains(&c))
}

struct Run<'a> {
    ctx: &'a AwsContext,
    options: &'a ExecuteOptions,
    waiting: WaitSink<'a>,
}

impl Run<'_> {
    fn err<E>(
        &self,
        service: Service,
        region: &str,
        op: &str,
        e: aws_sdk_ec2::error::SdkError<E, aws_sdk_ec2::config::http::HttpResponse>,
    ) -> AwsError
    where
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        AwsError::from_sdk(service, op, &self.ctx.endpoint_label(region), e)
    }

    async fn copy_image(&self, copy: &CopyRequest) -> Result<String, AwsError> {
        let region = copy.destination_region.as_str();
        let ec2 = self.ctx.ec2(region);
        let out = ec2
            .copy_image()
            .source_region(&copy.source_region)
            .source_image_id(&copy.source_id)
            .name(&copy.name)
            .description(&copy.description)
            .client_token(&copy.name)
            .set_encrypted(copy.kms_key_id.as_ref().map(|_| true))
            .set_kms_key_id(copy.kms_key_id.clone())
            .tag_specifications(crate::tags::ec2_spec(ResourceType::Image, &copy.tags))
            // The AMI's snapshots carry the tags too: if a later deregistration leaves them
            // behind, the next run still knows they are haven's (CopyImage TagSpecifications:
            // "You can tag the AMI, the snapshots, or both").
            .tag_specifications(crate::tags::ec2_spec(ResourceType::Snapshot, &copy.tags))
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, region, "CopyImage", e))?;
        let id = out
            .image_id()
            .ok_or_else(|| AwsError::missing(Service::Ec2, "CopyImage", "image id"))?
            .to_string();
        let what = format!("AMI copy {id} in {region}");
        crate::poll::until(self.options, Service::Ec2, &what, self.waiting, || async {
            let out = ec2
                .describe_images()
                .image_ids(&id)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, region, "DescribeImages", e))?;
            let state = out
                .images()
                .first()
                .and_then(|i| i.state())
                .map_or("pending", |s| s.as_str())
                .to_string();
            match state.as_str() {
                "available" => Ok(None),
                "failed" | "error" | "invalid" | "deregistered" => Err(AwsError::Other {
                    service: Service::Ec2,
                    operation: "CopyImage".into(),
                    detail: format!("{what} ended {state}"),
                }),
                _ => Ok(Some(state)),
            }
        })
        .await?;
        Ok(id)
    }

    async fn copy_snapshot(&self, copy: &CopyRequest) -> Result<String, AwsError> {
        let region = copy.destination_region.as_str();
        let ec2 = self.ctx.ec2(region);
        let out = ec2
            .copy_snapshot()
            .source_region(&copy.source_region)
            .source_snapshot_id(&copy.source_id)
            .description(&copy.description)
            .set_encrypted(copy.kms_key_id.as_ref().map(|_| true))
            .set_kms_key_id(copy.kms_key_id.clone())
            .tag_specifications(crate::tags::ec2_spec(ResourceType::Snapshot, &copy.tags))
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, region, "CopySnapshot", e))?;
        let id = out
            .snapshot_id()
            .ok_or_else(|| AwsError::missing(Service::Ec2, "CopySnapshot", "snapshot id"))?
            .to_string();
        let what = format!("snapshot copy {id} in {region}");
        crate::poll::until(self.options, Service::Ec2, &what, self.waiting, || async {
            let out = ec2
                .describe_snapshots()
                .snapshot_ids(&id)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, region, "DescribeSnapshots", e))?;
            let snapshot = out.snapshots().first();
            let state = snapshot
                .and_then(|s| s.state())
                .map_or("pending", |s| s.as_str())
                .to_string();
            match state.as_str() {
                "completed" => Ok(None),
                "error" => Err(AwsError::Other {
                    service: Service::Ec2,
                    operation: "CopySnapshot".into(),
                    detail: format!(
                        "{what} failed: {}",
                        snapshot
                            .and_then(|s| s.state_message())
                            .unwrap_or("no reason given")
                    ),
                }),
                _ => Ok(Some(format!(
                    "{state} {}",
                    snapshot.and_then(|s| s.progress()).unwrap_or_default()
                ))),
            }
        })
        .await?;
        Ok(id)
    }

    async fn copy_db_snapshot(&self, copy: &CopyRequest) -> Result<String, AwsError> {
        let region = copy.destination_region.as_str();
        let rds = self.ctx.rds(region);
        let sent = rds
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&copy.source_arn)
            .target_db_snapshot_identifier(&copy.name)
            .set_kms_key_id(copy.kms_key_id.clone())
            .set_tags(Some(crate::tags::rds(&copy.tags)))
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, region, "CopyDBSnapshot", e));
        let exists = match sent {
            Ok(_) => false,
            Err(e)
                if code_is(
                    &e,
                    &["DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault"],
                ) =>
            {
                true
            }
            Err(e) => return Err(e),
        };
        let what = format!("DB snapshot copy {} in {region}", copy.name);
        crate::poll::until(self.options, Service::Rds, &what, self.waiting, || async {
            let out = rds
                .describe_db_snapshots()
                .db_snapshot_identifier(&copy.name)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, region, "DescribeDBSnapshots", e))?;
            let snapshot = out.db_snapshots().first();
            // "Already exists" is only done when what exists is this copy (a snapshot of the
            // same name from another source would otherwise count as the DR copy).
            if exists
                && let Some(source) = snapshot.and_then(|s| s.source_db_snapshot_identifier())
                && source != copy.source_arn
            {
                return Err(conflict(
                    Service::Rds,
                    "CopyDBSnapshot",
                    format!("{what} already exists and is a copy of {source}, not of {}: rename or delete it", copy.source_arn),
                ));
            }
            let status = snapshot
                .and_then(|s| s.status())
                .unwrap_or("creating")
                .to_string();
            let progress = snapshot.and_then(|s| s.percent_progress());
            db_copy_state(&what, "CopyDBSnapshot", &status, progress)
        })
        .await?;
        Ok(copy.name.clone())
    }

    async fn copy_db_cluster_snapshot(&self, copy: &CopyRequest) -> Result<String, AwsError> {
        let region = copy.destination_region.as_str();
        let rds = self.ctx.rds(region);
        let sent = rds
            .copy_db_cluster_snapshot()
            .source_db_cluster_snapshot_identifier(&copy.source_arn)
            .target_db_cluster_snapshot_identifier(&copy.name)
            .set_kms_key_id(copy.kms_key_id.clone())
            .set_tags(Some(crate::tags::rds(&copy.tags)))
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, region, "CopyDBClusterSnapshot", e));
        match sent {
            Ok(_) => {}
            Err(e)
                if code_is(
                    &e,
                    &[
                        "DBClusterSnapshotAlreadyExistsFault",
                        "DBClusterSnapshotAlreadyExists",
                    ],
                ) => {}
            Err(e) => return Err(e),
        }
        let what = format!("DB cluster snapshot copy {} in {region}", copy.name);
        crate::poll::until(self.options, Service::Rds, &what, self.waiting, || async {
            let out = rds
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(&copy.name)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, region, "DescribeDBClusterSnapshots", e))?;
            let snapshot = out.db_cluster_snapshots().first();
            let status = snapshot
                .and_then(|s| s.status())
                .unwrap_or("creating")
                .to_string();
            let progress = snapshot.and_then(|s| s.percent_progress());
            db_copy_state(&what, "CopyDBClusterSnapshot", &status, progress)
        })
        .await?;
        Ok(copy.name.clone())
    }

    /// Creates the cross-Region replica inside the stack's DR network (its DB subnet group and
    /// database security groups: without a subnet group "the new DB instance isn't created in a
    /// VPC" haven builds,
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>),
    /// waits until it is `available`, then turns its automated backups on: "all read replica DB
    /// instances are created with backups disabled", and a replica with backups on is promoted
    /// without a first backup in `backing-up`
    /// (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html>).
    async fn replica(&self, replica: &ReplicaRequest) -> Result<String, AwsError> {
        let region = replica.destination_region.as_str();
        let rds = self.ctx.rds(region);
        let sent = rds
            .create_db_instance_read_replica()
            .db_instance_identifier(&replica.identifier)
            .source_db_instance_identifier(&replica.source_arn)
            .db_instance_class(&replica.class)
            .set_kms_key_id(replica.kms_key_id.clone())
            .db_subnet_group_name(&replica.db_subnet_group)
            .set_vpc_security_group_ids(Some(replica.vpc_security_group_ids.clone()))
            .publicly_accessible(false)
            // The DR replica is judged on its own (Security Hub RDS.10, RDS.13, RDS.17).
            .auto_minor_version_upgrade(true)
            .copy_tags_to_snapshot(true)
            .enable_iam_database_authentication(true)
            .set_tags(Some(crate::tags::rds(&replica.tags)))
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, region, "CreateDBInstanceReadReplica", e));
        match sent {
            Ok(_) => {}
            Err(e)
                if code_is(
                    &e,
                    &["DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault"],
                ) =>
            {
                // After a DR drill the promoted replica keeps this identifier but replicates
                // nothing: only a replica of this very source counts as done.
                let existing = self.describe_db(region, &replica.identifier).await?;
                let source = existing
                    .as_ref()
                    .and_then(|d| d.read_replica_source_db_instance_identifier());
                if source != Some(replica.source_arn.as_str()) {
                    return Err(AwsError::Other {
                        service: Service::Rds,
                        operation: "CreateDBInstanceReadReplica".into(),
                        detail: format!(
                            "{} already exists in {region} but is not a replica of {} ({}): \
                             it may be the database a failover promoted. Nothing was changed. \
                             Delete or rename it (keep a final snapshot if it holds data), \
                             then run again",
                            replica.identifier,
                            replica.source_arn,
                            match source {
                                Some(other) => format!("it replicates {other}"),
                                None => "it is a standalone instance".to_string(),
                            }
                        ),
                    });
                }
            }
            Err(e) => return Err(e),
        }
        let what = format!("replica {} in {region}", replica.identifier);
        let db = self
            .wait_available(region, &replica.identifier, &what)
            .await?;
        if db.backup_retention_period() != Some(replica.backup_retention_days) {
            rds.modify_db_instance()
                .db_instance_identifier(&replica.identifier)
                .backup_retention_period(replica.backup_retention_days)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, region, "ModifyDBInstance", e))?;
            let what = format!(
                "{what}: automated backups on ({} days)",
                replica.backup_retention_days
            );
            self.wait_available(region, &replica.identifier, &what)
                .await?;
        }
        Ok(replica.identifier.clone())
    }

    async fn describe_db(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, AwsError> {
        let out = self
            .ctx
            .rds(region)
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, region, "DescribeDBInstances", e))?;
        Ok(out.db_instances().first().cloned())
    }

    /// Polls a DB instance until it is `available`; a status it cannot leave by itself ends
    /// the wait at once instead of after `--wait-timeout`
    /// (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status>).
    async fn wait_available(
        &self,
        region: &str,
        identifier: &str,
        what: &str,
    ) -> Result<aws_sdk_rds::types::DbInstance, AwsError> {
        let last = std::sync::Mutex::new(None);
        crate::poll::until(self.options, Service::Rds, what, self.waiting, || async {
            let db = self.describe_db(region, identifier).await?;
            let status = db
                .as_ref()
                .and_then(|d| d.db_instance_status())
                .unwrap_or("creating")
                .to_string();
            if db_cannot_recover(&status) {
                return Err(AwsError::Other {
                    service: Service::Rds,
                    operation: "DescribeDBInstances".into(),
                    detail: format!(
                        "{what} is {status}: RDS will not make it available by itself. \
                         Look at its events (aws rds describe-events --region {region} \
                         --source-identifier {identifier} --source-type db-instance), delete \
                         it and run again"
                    ),
                });
            }
            let done = status == "available";
            if let Ok(mut last) = last.lock() {
                *last = db;
            }
            Ok((!done).then_some(status))
        })
        .await?;
        last.lock()
            .ok()
            .and_then(|mut l| l.take())
            .ok_or_else(|| AwsError::missing(Service::Rds, "DescribeDBInstances", "DB instance"))
    }

    /// Deletes an old copy; "not found" means someone got there first.
    async fn delete(&self, delete: &DeleteRequest) -> Result<String, AwsError> {
        let region = delete.region.as_str();
        let gone = |e: AwsError| -> Result<(), AwsError> {
            if e.code().is_some_and(|c| c.contains("NotFound")) {
                Ok(())
            } else {
                Err(e)
            }
        };
        match delete.kind {
            CopyKind::Image | CopyKind::Snapshot => {
                let ec2 = self.ctx.ec2(region);
                if delete.kind == CopyKind::Image {
                    ec2.deregister_image()
                        .image_id(&delete.id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| self.err(Service::Ec2, region, "DeregisterImage", e))
                        .or_else(gone)?;
                }
                let snapshots = match delete.kind {
                    CopyKind::Image => delete.snapshot_ids.clone(),
                    _ => vec![delete.id.clone()],
                };
                for snapshot in snapshots {
                    // Right after DeregisterImage, AWS can still answer InvalidSnapshot.InUse
                    // for the AMI's snapshots for a while: wait it out rather than leave them
                    // billed with no AMI to find them by.
                    let what = format!("snapshot {snapshot} in {region} (of {})", delete.id);
                    crate::poll::until(self.options, Service::Ec2, &what, self.waiting, || async {
                        match ec2.delete_snapshot().snapshot_id(&snapshot).send().await {
                            Ok(_) => Ok(None),
                            Err(e) => {
                                let e = self.err(Service::Ec2, region, "DeleteSnapshot", e);
                                if code_is(&e, &["InvalidSnapshot.InUse"]) {
                                    Ok(Some("still in use by the deregistered AMI".to_string()))
                                } else {
                                    gone(e).map(|()| None)
                                }
                            }
                        }
                    })
                    .await?;
                }
            }
            CopyKind::DbSnapshot => {
                self.ctx
                    .rds(region)
                    .delete_db_snapshot()
                    .db_snapshot_identifier(&delete.id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| self.err(Service::Rds, region, "DeleteDBSnapshot", e))
                    .or_else(gone)?;
            }
            CopyKind::DbClusterSnapshot => {
                self.ctx
                    .rds(region)
                    .delete_db_cluster_snapshot()
                    .db_cluster_snapshot_identifier(&delete.id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| self.err(Service::Rds, region, "DeleteDBClusterSnapshot", e))
                    .or_else(gone)?;
            }
        }
        Ok(delete.id.clone())
    }
}
