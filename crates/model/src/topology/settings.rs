//! A Region's data-protection settings and what guards its VPCs: EBS encryption by default,
//! block public access for snapshots and AMIs, VPC flow logs and VPC endpoints.

use serde::{Deserialize, Serialize};

use super::Tags;

/// Account settings that hold per Region. `None` = could not be read (denied, or the endpoint
/// does not implement the call): checks do not judge what was not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSettings {
    /// New EBS volumes (and snapshot copies) are encrypted by default
    /// (`GetEbsEncryptionByDefault`).
    #[serde(default)]
    pub ebs_encryption_by_default: Option<bool>,
    /// Block public access for EBS snapshots (`GetSnapshotBlockPublicAccessState`):
    /// `block-all-sharing`, `block-new-sharing` or `unblocked`.
    #[serde(default)]
    pub snapshot_block_public_access: Option<String>,
    /// Block public access for AMIs (`GetImageBlockPublicAccessState`): `block-new-sharing` or
    /// `unblocked`.
    #[serde(default)]
    pub image_block_public_access: Option<String>,
}

/// A flow log: what a VPC, subnet or network interface sends to CloudWatch Logs, S3 or
/// Firehose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLog {
    /// `fl-…`
    pub id: String,
    /// The VPC, subnet or network interface it records.
    pub resource_id: String,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: Option<String>,
    /// `ACTIVE` once created.
    pub status: Option<String>,
    /// `SUCCESS` or `FAILED` (delivering to the destination).
    pub deliver_status: Option<String>,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    pub destination_type: Option<String>,
    /// Tags.
    pub tags: Tags,
}

impl FlowLog {
    /// It records rejected traffic: traffic type `REJECT` or `ALL`.
    pub fn logs_rejects(&self) -> bool {
        matches!(self.traffic_type.as_deref(), Some("REJECT" | "ALL"))
    }
}

/// A VPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    /// `vpce-…`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// e.g. `com.amazonaws.ap-northeast-2.ssm`.
    pub service_name: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, …
    pub endpoint_type: String,
    /// `available`, `pending`, `deleting`, …
    pub state: String,
    /// Subnets holding its network interfaces (one per AZ it serves; interface endpoints).
    pub subnet_ids: Vec<String>,
    /// Tags.
    pub tags: Tags,
}
