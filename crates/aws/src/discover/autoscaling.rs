//! EC2 Auto Scaling: groups with their members, and scaling policies joined to them.

use aws_sdk_autoscaling::types as sdk;
use haven_model as model;

use super::Scope;
use super::convert::{opt, time};
use crate::error::AwsError;

fn template_ref(t: &sdk::LaunchTemplateSpecification) -> model::LaunchTemplateRef {
    model::LaunchTemplateRef {
        id: t.launch_template_id().map(str::to_string),
        name: t.launch_template_name().map(str::to_string),
        version: t.version().map(str::to_string),
    }
}

fn policy(p: &sdk::ScalingPolicy) -> model::ScalingPolicy {
    let tracking = p.target_tracking_configuration();
    model::ScalingPolicy {
        name: opt(p.policy_name()),
        policy_type: opt(p.policy_type()),
        metric: tracking
            .and_then(|t| t.predefined_metric_specification())
            .and_then(|m| m.predefined_metric_type())
            .map(|m| m.as_str().to_string()),
        target_value: tracking.and_then(|t| t.target_value()),
        enabled: p.enabled().unwrap_or(true),
    }
}

fn group(g: &sdk::AutoScalingGroup, policies: &[sdk::ScalingPolicy]) -> model::AutoScalingGroup {
    let name = opt(g.auto_scaling_group_name());
    let mixed = g.mixed_instances_policy().and_then(|m| m.launch_template());
    model::AutoScalingGroup {
        arn: g.auto_scaling_group_arn().map(str::to_string),
        min_size: g.min_size().unwrap_or(0),
        max_size: g.max_size().unwrap_or(0),
        desired_capacity: g.desired_capacity().unwrap_or(0),
        availability_zones: g.availability_zones().to_vec(),
        subnet_ids: g
            .vpc_zone_identifier()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        health_check_type: opt(g.health_check_type()),
        health_check_grace_period: g.health_check_grace_period(),
        launch_template: g
            .launch_template()
            .or_else(|| mixed.and_then(|m| m.launch_template_specification()))
            .map(template_ref),
        launch_configuration: g.launch_configuration_name().map(str::to_string),
        instance_type_overrides: mixed
            .map(|m| {
                m.overrides()
                    .iter()
                    .filter_map(|o| o.instance_type().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        target_group_arns: g.target_group_arns().to_vec(),
        load_balancer_names: g.load_balancer_names().to_vec(),
        instances: g
            .instances()
            .iter()
            .map(|i| model::AsgInstance {
                instance_id: opt(i.instance_id()),
                availability_zone: opt(i.availability_zone()),
                lifecycle_state: i
                    .lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health_status: opt(i.health_status()),
                launch_template: i.launch_template().map(template_ref),
                protected_from_scale_in: i.protected_from_scale_in().unwrap_or(false),
            })
            .collect(),
        suspended_processes: g
            .suspended_processes()
            .iter()
            .filter_map(|p| p.process_name().map(str::to_string))
            .collect(),
        policies: policies
            .iter()
            .filter(|p| p.auto_scaling_group_name() == Some(name.as_str()))
            .map(policy)
            .collect(),
        status: g.status().map(str::to_string),
        created_at: time(g.created_time()),
        tags: g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), opt(t.value()))))
            .collect(),
        capacity_rebalance: g.capacity_rebalance(),
        instances_distribution: g
            .mixed_instances_policy()
            .and_then(|m| m.instances_distribution())
            .map(|d| model::InstancesDistribution {
                on_demand_base_capacity: d.on_demand_base_capacity(),
                on_demand_percentage_above_base_capacity: d
                    .on_demand_percentage_above_base_capacity(),
                spot_allocation_strategy: d.spot_allocation_strategy().map(str::to_string),
            }),
        instance_requirements: mixed.is_some_and(|m| {
            m.overrides()
                .iter()
                .any(|o| o.instance_requirements().is_some())
        }),
        name,
    }
}

/// Groups and, separately, the policies call's failure (groups still come back without them).
pub(super) async fn discover(
    scope: &Scope<'_>,
) -> (
    Result<Vec<model::AutoScalingGroup>, AwsError>,
    Option<AwsError>,
) {
    let c = scope.ctx.autoscaling(scope.region);
    let (groups, policies) = tokio::join!(
        c.describe_auto_scaling_groups()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.describe_policies()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
    );
    let (policies, policy_error) = match policies {
        Ok(p) => (p, None),
        Err(e) => (Vec::new(), Some(scope.err("DescribePolicies", e))),
    };
    let groups = groups
        .map_err(|e| scope.err("DescribeAutoScalingGroups", e))
        .map(|gs| gs.iter().map(|g| group(g, &policies)).collect());
    (groups, policy_error)
}

/// The groups' capacity, members and state only (DescribeAutoScalingGroups; their policies are
/// not asked and come back empty).
pub(super) async fn capacity(scope: &Scope<'_>) -> Result<Vec<model::AutoScalingGroup>, AwsError> {
    let c = scope.ctx.autoscaling(scope.region);
    let groups: Vec<sdk::AutoScalingGroup> = c
        .describe_auto_scaling_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| scope.err("DescribeAutoScalingGroups", e))?;
    Ok(groups.iter().map(|g| group(g, &[])).collect())
}
