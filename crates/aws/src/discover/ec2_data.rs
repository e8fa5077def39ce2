//! EC2 data protection and VPC guards of a Region: EBS encryption by default, block public
//! access for snapshots and AMIs, which owned snapshots are public, flow logs and VPC
//! endpoints. One call each per Region (and one per public snapshot, to confirm it).

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types as sdk;
use futures::{StreamExt, TryStreamExt, stream};
use haven_model as model;

use super::convert::opt;
use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

type Result<T> = std::result::Result<T, AwsError>;

/// What was read; each part succeeds or fails on its own.
pub(super) struct DataParts {
    pub ebs_encryption_by_default: Result<bool>,
    pub snapshot_block_public_access: Result<String>,
    pub image_block_public_access: Result<String>,
    /// The ids of the account's snapshots anyone may restore; `None` without the account id.
    pub public_snapshots: Result<Option<BTreeSet<String>>>,
    pub flow_logs: Result<Vec<model::FlowLog>>,
    pub vpc_endpoints: Result<Vec<model::VpcEndpoint>>,
}

pub(super) async fn discover(scope: &Scope<'_>, account: Option<&str>) -> DataParts {
    let client = scope.ctx.ec2(scope.region);
    let c = &client;
    let (
        ebs_encryption_by_default,
        snapshot_block_public_access,
        image_block_public_access,
        public_snapshots,
        flow_logs,
        vpc_endpoints,
    ) = tokio::join!(
        ebs_encryption(c, scope),
        snapshot_block(c, scope),
        image_block(c, scope),
        public_snapshots(c, scope, account),
        flow_logs(c, scope),
        vpc_endpoints(c, scope),
    );
    DataParts {
        ebs_encryption_by_default,
        snapshot_block_public_access,
        image_block_public_access,
        public_snapshots,
        flow_logs,
        vpc_endpoints,
    }
}

/// A Region setting: `None` when not read. A refusal (AccessDenied, …) is recorded; an answer
/// that is not AWS's (an endpoint such as moto that lacks the call) is only logged: the setting
/// is unknown, not an error of the account.
pub(super) fn setting<T>(result: Result<T>, errors: &mut Vec<AwsError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error @ AwsError::NotAws { .. }) => {
            tracing::debug!(%error, "Region setting not read");
            None
        }
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

fn tags(list: &[sdk::Tag]) -> model::Tags {
    list.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

async fn ebs_encryption(c: &Client, s: &Scope<'_>) -> Result<bool> {
    let out = c
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|e| s.err("GetEbsEncryptionByDefault", e))?;
    Ok(out.ebs_encryption_by_default().unwrap_or(false))
}

async fn snapshot_block(c: &Client, s: &Scope<'_>) -> Result<String> {
    let out = c
        .get_snapshot_block_public_access_state()
        .send()
        .await
        .map_err(|e| s.err("GetSnapshotBlockPublicAccessState", e))?;
    out.state()
        .map(|v| v.as_str().to_string())
        .ok_or_else(|| AwsError::missing(s.service, "GetSnapshotBlockPublicAccessState", "state"))
}

async fn image_block(c: &Client, s: &Scope<'_>) -> Result<String> {
    let out = c
        .get_image_block_public_access_state()
        .send()
        .await
        .map_err(|e| s.err("GetImageBlockPublicAccessState", e))?;
    out.image_block_public_access_state()
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::missing(
                s.service,
                "GetImageBlockPublicAccessState",
                "image block public access state",
            )
        })
}

/// The account's public snapshots: one `DescribeSnapshots` with `RestorableByUserIds=all`
/// lists them (AWS: the snapshots with `createVolumePermission` group `all`). Each one listed is
/// confirmed with `DescribeSnapshotAttribute`: on AWS that is one call per public snapshot
/// (usually none); an endpoint that ignores the filter (moto lists every snapshot) gets the
/// right answer instead of every snapshot reported public.
async fn public_snapshots(
    c: &Client,
    s: &Scope<'_>,
    account: Option<&str>,
) -> Result<Option<BTreeSet<String>>> {
    // Without the account id (STS failed, already reported) the account's own are unknown.
    let Some(account) = account else {
        return Ok(None);
    };
    let listed: Vec<sdk::Snapshot> = c
        .describe_snapshots()
        .owner_ids("self")
        .restorable_by_user_ids("all")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeSnapshots", e))?;
    let candidates: Vec<String> = listed
        .iter()
        .filter(|n| n.owner_id() == Some(account))
        .filter_map(|n| n.snapshot_id().map(str::to_string))
        .collect();
    let confirmed: Vec<Option<String>> = stream::iter(candidates)
        .map(|id| async move {
            let out = c
                .describe_snapshot_attribute()
                .snapshot_id(&id)
                .attribute(sdk::SnapshotAttributeName::CreateVolumePermission)
                .send()
                .await
                .map_err(|e| s.err("DescribeSnapshotAttribute", e))?;
            let public = out
                .create_volume_permissions()
                .iter()
                .any(|p| p.group() == Some(&sdk::PermissionGroup::All));
            Ok::<_, AwsError>(public.then_some(id))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(Some(confirmed.into_iter().flatten().collect()))
}

async fn flow_logs(c: &Client, s: &Scope<'_>) -> Result<Vec<model::FlowLog>> {
    let items: Vec<sdk::FlowLog> = c
        .describe_flow_logs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeFlowLogs", e))?;
    Ok(items
        .iter()
        .map(|f| model::FlowLog {
            id: opt(f.flow_log_id()),
            resource_id: opt(f.resource_id()),
            traffic_type: f.traffic_type().map(|t| t.as_str().to_string()),
            status: f.flow_log_status().map(str::to_string),
            deliver_status: f.deliver_logs_status().map(str::to_string),
            destination_type: f.log_destination_type().map(|t| t.as_str().to_string()),
            tags: tags(f.tags()),
        })
        .collect())
}

async fn vpc_endpoints(c: &Client, s: &Scope<'_>) -> Result<Vec<model::VpcEndpoint>> {
    let items: Vec<sdk::VpcEndpoint> = c
        .describe_vpc_endpoints()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeVpcEndpoints", e))?;
    Ok(items
        .iter()
        .map(|e| model::VpcEndpoint {
            id: opt(e.vpc_endpoint_id()),
            vpc_id: opt(e.vpc_id()),
            service_name: opt(e.service_name()),
            endpoint_type: e
                .vpc_endpoint_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            state: e
                .state()
                .map(|t| t.as_str().to_lowercase())
                .unwrap_or_default(),
            subnet_ids: e.subnet_ids().to_vec(),
            tags: tags(e.tags()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    //! A setting moto lacks (its answer is not AWS's) is unknown, not an error; a refusal is
    //! reported. (The EC2 request shapes cannot be mocked here: the workspace builds aws-sdk-ec2
    //! without `test-util`.)

    use haven_model::Service;

    use super::*;

    #[test]
    fn a_setting_the_endpoint_lacks_is_unknown_and_a_refusal_is_reported() {
        let mut errors = Vec::new();
        let lacking = AwsError::NotAws {
            endpoint: "http://127.0.0.1:5000".into(),
            service: Service::Ec2,
            operation: "GetSnapshotBlockPublicAccessState".into(),
            status: 500,
            looked_like: "text/html".into(),
        };
        assert_eq!(setting::<String>(Err(lacking), &mut errors), None);
        assert!(errors.is_empty());
        let denied = AwsError::Service {
            service: Service::Ec2,
            operation: "GetEbsEncryptionByDefault".into(),
            code: "UnauthorizedOperation".into(),
            message: "You are not authorized to perform this operation.".into(),
            request_id: None,
        };
        assert_eq!(setting::<bool>(Err(denied), &mut errors), None);
        assert_eq!(errors.len(), 1);
        assert_eq!(setting(Ok(true), &mut errors), Some(true));
    }
}
