//! Launch configurations: only the ones the Region's Auto Scaling groups use, asked by name
//! (DescribeLaunchConfigurations takes up to 50 names a call).

use std::collections::BTreeSet;

use aws_sdk_autoscaling::types as sdk;
use haven_model as model;

use super::Scope;
use super::convert::{opt, time};
use crate::error::AwsError;

/// DescribeLaunchConfigurations' `LaunchConfigurationNames` limit.
const NAMES_PER_CALL: usize = 50;

fn launch_configuration(lc: &sdk::LaunchConfiguration) -> model::LaunchConfiguration {
    model::LaunchConfiguration {
        name: opt(lc.launch_configuration_name()),
        arn: lc.launch_configuration_arn().map(str::to_string),
        image_id: lc.image_id().map(str::to_string),
        instance_type: lc.instance_type().map(str::to_string),
        associate_public_ip: lc.associate_public_ip_address(),
        metadata_options: lc.metadata_options().map(|m| model::MetadataOptions {
            http_tokens: m.http_tokens().map(|t| t.as_str().to_string()),
            http_put_response_hop_limit: m.http_put_response_hop_limit(),
            http_endpoint: m.http_endpoint().map(|e| e.as_str().to_string()),
        }),
        created_at: time(lc.created_time()),
    }
}

/// The launch configurations `groups` name; none asked when no group uses one.
pub(super) async fn discover(
    scope: &Scope<'_>,
    groups: &[model::AutoScalingGroup],
) -> Result<Vec<model::LaunchConfiguration>, AwsError> {
    let names: BTreeSet<&str> = groups
        .iter()
        .filter_map(|g| g.launch_configuration.as_deref())
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let c = scope.ctx.autoscaling(scope.region);
    let names: Vec<&str> = names.into_iter().collect();
    let mut out = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let found: Vec<sdk::LaunchConfiguration> = c
            .describe_launch_configurations()
            .set_launch_configuration_names(Some(chunk.iter().map(|n| n.to_string()).collect()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| scope.err("DescribeLaunchConfigurations", e))?;
        out.extend(found.iter().map(launch_configuration));
    }
    Ok(out)
}
