//! Auto Scaling fleets: instance type diversity (AutoScaling.6), Capacity Rebalancing for Spot
//! (HA-ASG-REBALANCE) and the launch configurations groups still use (AutoScaling.3,
//! AutoScaling.5).

use std::collections::BTreeSet;

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::AutoScalingGroup;

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for asg in &index.region.auto_scaling_groups {
        if asg
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("Delete"))
        {
            continue;
        }
        let resource = || {
            ResourceRef::new(ResourceKind::AutoScalingGroup, &asg.name).with_arn(asg.arn.as_deref())
        };
        let types: BTreeSet<&str> = asg
            .instance_type_overrides
            .iter()
            .map(String::as_str)
            .collect();
        if !asg.instance_requirements && types.len() < 2 {
            out.push(finding(
                "AutoScaling.6",
                code,
                resource(),
                format!("one instance type: {}", single_type(index, asg, &types)),
            ));
        }
        if asg.uses_spot() && asg.capacity_rebalance == Some(false) {
            let d = asg.instances_distribution.as_ref();
            out.push(finding(
                "HA-ASG-REBALANCE",
                code,
                resource(),
                format!(
                    "capacity_rebalance=false with {} % Spot above an On-Demand base of {}",
                    100 - d
                        .and_then(|d| d.on_demand_percentage_above_base_capacity)
                        .unwrap_or(100),
                    d.and_then(|d| d.on_demand_base_capacity).unwrap_or(0)
                ),
            ));
        }
    }
    for lc in &index.region.launch_configurations {
        let resource = || {
            ResourceRef::new(ResourceKind::LaunchConfiguration, &lc.name)
                .with_arn(lc.arn.as_deref())
        };
        let tokens = lc
            .metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.as_deref());
        if tokens != Some("required") {
            out.push(finding(
                "AutoScaling.3",
                code,
                resource(),
                format!(
                    "MetadataOptions.HttpTokens={}",
                    tokens.unwrap_or("unset (default optional)")
                ),
            ));
        }
        if lc.associate_public_ip == Some(true) {
            out.push(finding(
                "AutoScaling.5",
                code,
                resource(),
                "AssociatePublicIpAddress=true".to_string(),
            ));
        }
    }
}

/// The one instance type a group launches, and where it comes from.
fn single_type(index: &RegionIndex, asg: &AutoScalingGroup, overrides: &BTreeSet<&str>) -> String {
    if let Some(t) = overrides.iter().next() {
        return format!("{t} (the mixed instances policy's only override)");
    }
    if let Some(r) = &asg.launch_template {
        let t = index
            .launch_template_version(r)
            .and_then(|(_, v)| v.instance_type.as_deref())
            .unwrap_or("?");
        return format!(
            "{t} (launch template {})",
            r.name.as_deref().or(r.id.as_deref()).unwrap_or("?")
        );
    }
    if let Some(name) = &asg.launch_configuration {
        let t = index
            .region
            .launch_configurations
            .iter()
            .find(|lc| &lc.name == name)
            .and_then(|lc| lc.instance_type.as_deref())
            .unwrap_or("?");
        return format!("{t} (launch configuration {name})");
    }
    "unknown".to_string()
}
