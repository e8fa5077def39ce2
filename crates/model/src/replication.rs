//! The operations that keep a DR Region current, as data: copy an AMI, an EBS snapshot, a DB
//! (cluster) snapshot to another Region, create a cross-Region read replica, delete an old copy.
//! `haven-replicate` plans them from a topology; `haven-aws` carries them out.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Service;
use crate::action::ApiCall;
use crate::topology::Tags;

/// The tag naming what a copy protects (the volume, DB instance or launch template it is the
/// latest state of): retention keeps the newest copies per lineage and Region.
pub const LINEAGE_TAG: &str = "haven:lineage";

/// The tag naming the stack a DR copy or replica protects. Not `haven:stack`: a copy is not
/// part of the stack's build (`up` and `down` leave it alone unless asked), but failover and
/// `down --include-dr-copies` find the stack's copies by it.
pub const DR_STACK_TAG: &str = "haven:dr-stack";

/// What is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyKind {
    /// An AMI (with its EBS snapshots).
    Image,
    /// An EBS snapshot.
    Snapshot,
    /// A DB instance snapshot.
    DbSnapshot,
    /// A DB cluster (Aurora) snapshot.
    DbClusterSnapshot,
}

impl CopyKind {
    /// How people call it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "AMI",
            Self::Snapshot => "EBS snapshot",
            Self::DbSnapshot => "DB snapshot",
            Self::DbClusterSnapshot => "DB cluster snapshot",
        }
    }
}

impl fmt::Display for CopyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Copy one resource to another Region. The call is made in the destination Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRequest {
    /// What is copied.
    pub kind: CopyKind,
    /// Where the source lives.
    pub source_region: String,
    /// The source's id (`ami-…`, `snap-…`, DB snapshot identifier).
    pub source_id: String,
    /// The source's ARN (what `haven:source` records; RDS copies name their source by it).
    pub source_arn: String,
    /// Where the copy goes.
    pub destination_region: String,
    /// The copy's name (AMI) or identifier (DB snapshots): the same on every run, so a repeated
    /// request finds the first copy.
    pub name: String,
    /// Its description.
    pub description: String,
    /// KMS key in the destination Region, for an encrypted source.
    pub kms_key_id: Option<String>,
    /// Tags of the copy: `haven:source`, `haven:lineage`, `Name`.
    pub tags: Tags,
}

/// Create a read replica of a DB instance in another Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaRequest {
    /// Where the source lives.
    pub source_region: String,
    /// The source DB instance's ARN.
    pub source_arn: String,
    /// Where the replica goes.
    pub destination_region: String,
    /// The replica's identifier.
    pub identifier: String,
    /// Its class (the source's).
    pub class: String,
    /// KMS key in the destination Region, for an encrypted source.
    pub kms_key_id: Option<String>,
    /// The DB subnet group of the stack's DR network in the destination: without one, RDS puts
    /// the replica outside any VPC haven builds (the default VPC, or the call fails).
    pub db_subnet_group: String,
    /// The DR network's database security groups.
    pub vpc_security_group_ids: Vec<String>,
    /// Automated-backup retention set on the replica once it is available: RDS creates every
    /// replica with backups off, and promotion must then take a first backup (slower, and a
    /// replica in `backing-up` cannot be promoted).
    pub backup_retention_days: i32,
    /// Tags of the replica.
    pub tags: Tags,
}

/// Delete a copy haven made (retention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRequest {
    /// What it is.
    pub kind: CopyKind,
    /// Its Region.
    pub region: String,
    /// Its id or identifier.
    pub id: String,
    /// What it is a copy of (`haven:lineage`): deleted only once that lineage's new copy exists.
    pub lineage: String,
    /// For an AMI: its snapshots, deleted after it is deregistered.
    pub snapshot_ids: Vec<String>,
    /// Why it goes.
    pub why: Removal,
}

/// Why a copy is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "kebab-case")]
pub enum Removal {
    /// It ended failed: it is removed before it is made again (its name is reused).
    Failed {
        /// AWS's state.
        state: String,
    },
    /// Retention keeps the newest `keep` complete copies.
    Retention {
        /// How many.
        keep: usize,
    },
}

impl fmt::Display for Removal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { state } => write!(f, "it ended {state}: made again"),
            Self::Retention { keep } => write!(f, "retention keeps the newest {keep}"),
        }
    }
}

/// One replication operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    /// A copy.
    Copy(CopyRequest),
    /// A cross-Region read replica.
    Replica(ReplicaRequest),
    /// A deletion of an old copy.
    Delete(DeleteRequest),
}

impl Operation {
    /// The Region the calls go to (and whose quota bounds it).
    pub fn region(&self) -> &str {
        match self {
            Self::Copy(c) => &c.destination_region,
            Self::Replica(r) => &r.destination_region,
            Self::Delete(d) => &d.region,
        }
    }

    /// A sentence, e.g. "copy AMI ami-1 from ap-northeast-2 to us-east-1".
    pub fn sentence(&self) -> String {
        match self {
            Self::Copy(c) => format!(
                "copy {} {} from {} to {}",
                c.kind, c.source_id, c.source_region, c.destination_region
            ),
            Self::Replica(r) => format!(
                "create read replica {} in {} of {}",
                r.identifier, r.destination_region, r.source_arn
            ),
            Self::Delete(d) => format!(
                "delete {} {} in {} ({} of {})",
                d.kind, d.id, d.region, d.why, d.lineage
            ),
        }
    }
}

impl Operation {
    /// What it adds to the bill, when it adds something that keeps costing.
    pub fn cost(&self) -> Option<&'static str> {
        match self {
            Self::Replica(_) => Some(
                "a cross-Region replica is a new DB instance, billed per hour like its source, \
                 plus the data transferred between Regions",
            ),
            Self::Copy(_) => Some(
                "a cross-Region copy is billed per GB-month in the destination Region, plus the \
                 data transferred (an AMI's first copy to a Region is a full copy)",
            ),
            Self::Delete(_) => None,
        }
    }

    /// The mutating API calls it sends, in order, in the Query-protocol spelling, all in
    /// [`Operation::region`]: what previews show and what `haven-aws` sends (a test holds them
    /// together).
    pub fn api_calls(&self) -> Vec<ApiCall> {
        let tags = |call: ApiCall, tags: &Tags, prefix: &str| {
            tags.iter().enumerate().fold(call, |call, (i, (k, v))| {
                call.param(format!("{prefix}.{}.Key", i + 1), k)
                    .param(format!("{prefix}.{}.Value", i + 1), v)
            })
        };
        // EC2 tags the new resources by TagSpecification; RDS takes `Tags.Tag.N`.
        let ec2_tags = |call: ApiCall, tags_of: &Tags, types: &[&str]| {
            types.iter().enumerate().fold(call, |call, (i, kind)| {
                let spec = format!("TagSpecification.{}", i + 1);
                tags(
                    call.param(format!("{spec}.ResourceType"), kind),
                    tags_of,
                    &format!("{spec}.Tag"),
                )
            })
        };
        match self {
            Self::Copy(c) => {
                let call = match c.kind {
                    CopyKind::Image => ApiCall::new(Service::Ec2, "CopyImage")
                        .param("SourceImageId", &c.source_id)
                        .param("Name", &c.name)
                        .param("Description", &c.description)
                        .param("ClientToken", &c.name),
                    CopyKind::Snapshot => ApiCall::new(Service::Ec2, "CopySnapshot")
                        .param("SourceSnapshotId", &c.source_id)
                        .param("Description", &c.description),
                    CopyKind::DbSnapshot => ApiCall::new(Service::Rds, "CopyDBSnapshot")
                        .param("SourceDBSnapshotIdentifier", &c.source_arn)
                        .param("TargetDBSnapshotIdentifier", &c.name),
                    CopyKind::DbClusterSnapshot => {
                        ApiCall::new(Service::Rds, "CopyDBClusterSnapshot")
                            .param("SourceDBClusterSnapshotIdentifier", &c.source_arn)
                            .param("TargetDBClusterSnapshotIdentifier", &c.name)
                    }
                }
                .param_opt("KmsKeyId", c.kms_key_id.as_ref());
                let call = match c.kind {
                    CopyKind::Image | CopyKind::Snapshot => call
                        .param("SourceRegion", &c.source_region)
                        .param_opt("Encrypted", c.kms_key_id.as_ref().map(|_| true)),
                    _ => call,
                };
                vec![match c.kind {
                    CopyKind::Image => ec2_tags(call, &c.tags, &["image", "snapshot"]),
                    CopyKind::Snapshot => ec2_tags(call, &c.tags, &["snapshot"]),
                    _ => tags(call, &c.tags, "Tags.Tag"),
                }]
            }
            Self::Replica(r) => {
                let create = ApiCall::new(Service::Rds, "CreateDBInstanceReadReplica")
                    .param("DBInstanceIdentifier", &r.identifier)
                    .param("SourceDBInstanceIdentifier", &r.source_arn)
                    .param("DBInstanceClass", &r.class)
                    .param("DBSubnetGroupName", &r.db_subnet_group)
                    .list("VpcSecurityGroupIds.member", "", &r.vpc_security_group_ids)
                    .param("PubliclyAccessible", false)
                    .param_opt("KmsKeyId", r.kms_key_id.as_ref());
                let backups = ApiCall::new(Service::Rds, "ModifyDBInstance")
                    .param("DBInstanceIdentifier", &r.identifier)
                    .param("BackupRetentionPeriod", r.backup_retention_days)
                    .param("ApplyImmediately", true);
                vec![tags(create, &r.tags, "Tags.Tag"), backups]
            }
            Self::Delete(d) => {
                let mut calls = Vec::new();
                match d.kind {
                    CopyKind::Image => {
                        calls.push(
                            ApiCall::new(Service::Ec2, "DeregisterImage").param("ImageId", &d.id),
                        );
                        calls.extend(d.snapshot_ids.iter().map(|s| {
                            ApiCall::new(Service::Ec2, "DeleteSnapshot").param("SnapshotId", s)
                        }));
                    }
                    CopyKind::Snapshot => calls.push(
                        ApiCall::new(Service::Ec2, "DeleteSnapshot").param("SnapshotId", &d.id),
                    ),
                    CopyKind::DbSnapshot => calls.push(
                        ApiCall::new(Service::Rds, "DeleteDBSnapshot")
                            .param("DBSnapshotIdentifier", &d.id),
                    ),
                    CopyKind::DbClusterSnapshot => calls.push(
                        ApiCall::new(Service::Rds, "DeleteDBClusterSnapshot")
                            .param("DBClusterSnapshotIdentifier", &d.id),
                    ),
                }
                calls
            }
        }
    }
}
