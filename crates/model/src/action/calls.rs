//! The exact API calls of each action, per service (reads the executor needs first included;
//! the polling that follows it to completion is not).
//!
//! [`super::Action`] sends each action to the function of its family (`ActionKind::family`): the
//! last arm of each is never reached.

use super::{ActionKind, ApiCall, SOURCE_TAGS, s};
use crate::topology::Service;

fn ec2(op: &str) -> ApiCall {
    ApiCall::new(Service::Ec2, op)
}

fn asg(op: &str) -> ApiCall {
    ApiCall::new(Service::AutoScaling, op)
}

fn elb(op: &str) -> ApiCall {
    ApiCall::new(Service::Elbv2, op)
}

fn rds(op: &str) -> ApiCall {
    ApiCall::new(Service::Rds, op)
}

/// `op` on target group `tg`, for `instances`.
fn targets(op: &str, tg: &str, instances: &[String]) -> ApiCall {
    elb(op)
        .param("TargetGroupArn", tg)
        .list("Targets.member", ".Id", instances)
}

/// Instances, their images and volumes' snapshots, launch templates.
pub(super) fn ec2_calls(kind: &ActionKind, id: &str) -> Vec<ApiCall> {
    use ActionKind::*;
    let one = |op: &str| ec2(op).list("InstanceId", "", &[s(id)]);
    let template_key = if id.starts_with("lt-") {
        "LaunchTemplateId"
    } else {
        "LaunchTemplateName"
    };
    match kind {
        StopInstance { .. } => vec![one("StopInstances")],
        StartInstance => vec![one("StartInstances")],
        RebootInstance => vec![one("RebootInstances")],
        TerminateInstance => vec![one("TerminateInstances")],
        CreateLaunchTemplateVersion {
            source_version,
            image_id,
            instance_type,
            description,
            set_default,
        } => {
            let mut calls = vec![
                ec2("DescribeLaunchTemplateVersions")
                    .param(template_key, id)
                    .param("LaunchTemplateVersion.1", source_version),
                ec2("CreateLaunchTemplateVersion")
                    .param(template_key, id)
                    .param(
                        "LaunchTemplateData",
                        format!("<every setting of version {source_version}>"),
                    )
                    .param_opt("LaunchTemplateData.ImageId", image_id.as_deref())
                    .param_opt("LaunchTemplateData.InstanceType", instance_type.as_deref())
                    .param_opt("VersionDescription", description.as_deref()),
            ];
            if *set_default {
                calls.push(
                    ec2("ModifyLaunchTemplate")
                        .param(template_key, id)
                        .param("SetDefaultVersion", "<the new version>"),
                );
            }
            calls
        }
        SetDefaultLaunchTemplateVersion { version } => vec![
            ec2("ModifyLaunchTemplate")
                .param(template_key, id)
                .param("SetDefaultVersion", version),
        ],
        // What haven makes is tagged like its source at creation, so that `down` and the
        // dashboard know which stack it belongs to.
        CreateImage { name, no_reboot } => vec![
            one("DescribeInstances"),
            ec2("CreateImage")
                .param("InstanceId", id)
                .param("Name", name)
                .param("NoReboot", no_reboot)
                .param("TagSpecification.1.ResourceType", "image")
                .param("TagSpecification.1.Tag", SOURCE_TAGS),
            ec2("CreateTags")
                .param("ResourceId", "<the AMI's snapshots, once it is available>")
                .param("Tag", SOURCE_TAGS),
        ],
        CreateSnapshot { description } => vec![
            ec2("DescribeVolumes").list("VolumeId", "", &[s(id)]),
            ec2("CreateSnapshot")
                .param("VolumeId", id)
                .param_opt("Description", description.as_deref())
                .param("TagSpecification.1.ResourceType", "snapshot")
                .param("TagSpecification.1.Tag", SOURCE_TAGS),
        ],
        other => unreachable!("{} is not an EC2 action", other.name()),
    }
}

/// Auto Scaling groups: capacity, processes, members, instance refreshes, standby.
pub(super) fn auto_scaling_calls(kind: &ActionKind, id: &str) -> Vec<ApiCall> {
    use ActionKind::*;
    let group_lookup = |group: &Option<String>| {
        group
            .is_none()
            .then(|| asg("DescribeAutoScalingInstances").list("InstanceIds.member", "", &[s(id)]))
    };
    let group_name = |group: &Option<String>| {
        group
            .clone()
            .unwrap_or_else(|| "<the instance's group>".into())
    };
    match kind {
        SetCapacity {
            desired, min, max, ..
        } => {
            if let (Some(desired), None, None) = (desired, min, max) {
                vec![
                    asg("SetDesiredCapacity")
                        .param("AutoScalingGroupName", id)
                        .param("DesiredCapacity", desired)
                        .param("HonorCooldown", false),
                ]
            } else {
                vec![
                    asg("UpdateAutoScalingGroup")
                        .param("AutoScalingGroupName", id)
                        .param_opt("MinSize", *min)
                        .param_opt("MaxSize", *max)
                        .param_opt("DesiredCapacity", *desired),
                ]
            }
        }
        SuspendProcesses { processes } => vec![
            asg("SuspendProcesses")
                .param("AutoScalingGroupName", id)
                .list("ScalingProcesses.member", "", processes),
        ],
        ResumeProcesses { processes } => vec![
            asg("ResumeProcesses")
                .param("AutoScalingGroupName", id)
                .list("ScalingProcesses.member", "", processes),
        ],
        TerminateAsgInstance { decrement, .. } => vec![
            asg("TerminateInstanceInAutoScalingGroup")
                .param("InstanceId", id)
                .param("ShouldDecrementDesiredCapacity", decrement),
        ],
        StartInstanceRefresh {
            min_healthy_percentage,
            instance_warmup_seconds,
            version,
        } => {
            // Without a desired configuration a refresh replaces instances with the
            // configuration last saved on the group, i.e. the version it is pinned to (
            // https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh-skip-matching.html
            // ); the end of a refresh with one saves it on the group.
            let number = version
                .as_deref()
                .filter(|v| v.parse::<i64>().is_ok())
                .map(str::to_string);
            let mut calls = vec![asg("DescribeAutoScalingGroups").list(
                "AutoScalingGroupNames.member",
                "",
                &[s(id)],
            )];
            if number.is_none() {
                calls.push(
                    ec2("DescribeLaunchTemplates")
                        .param("LaunchTemplateId.1", "<the group's launch template>"),
                );
            }
            let which = match version.as_deref() {
                Some("$Latest") => "<its latest version>",
                _ => "<its default version>",
            };
            calls.push(
                asg("StartInstanceRefresh")
                    .param("AutoScalingGroupName", id)
                    .param(
                        "DesiredConfiguration.LaunchTemplate.LaunchTemplateId",
                        "<the group's launch template>",
                    )
                    .param(
                        "DesiredConfiguration.LaunchTemplate.Version",
                        number.as_deref().unwrap_or(which),
                    )
                    .param("Preferences.SkipMatching", true)
                    .param_opt("Preferences.MinHealthyPercentage", *min_healthy_percentage)
                    .param_opt("Preferences.InstanceWarmup", *instance_warmup_seconds),
            );
            calls
        }
        CancelInstanceRefresh => {
            vec![asg("CancelInstanceRefresh").param("AutoScalingGroupName", id)]
        }
        EnterStandby {
            group,
            keep_capacity,
        } => {
            let mut calls: Vec<ApiCall> = group_lookup(group).into_iter().collect();
            if !keep_capacity {
                // The lower desired capacity is checked against the group's min first.
                calls.push(asg("DescribeAutoScalingGroups").list(
                    "AutoScalingGroupNames.member",
                    "",
                    &[group_name(group)],
                ));
            }
            calls.push(
                asg("EnterStandby")
                    .param("AutoScalingGroupName", group_name(group))
                    .list("InstanceIds.member", "", &[s(id)])
                    .param("ShouldDecrementDesiredCapacity", !keep_capacity),
            );
            calls
        }
        ExitStandby { group } => {
            let mut calls: Vec<ApiCall> = group_lookup(group).into_iter().collect();
            calls.push(
                asg("ExitStandby")
                    .param("AutoScalingGroupName", group_name(group))
                    .list("InstanceIds.member", "", &[s(id)]),
            );
            calls
        }
        other => unreachable!("{} is not an Auto Scaling action", other.name()),
    }
}

/// The AZ drill: an AZ taken out of a group and put back.
pub(super) fn az_drill_calls(kind: &ActionKind, id: &str) -> Vec<ApiCall> {
    use ActionKind::*;
    let asg_subnets = |subnets: &[String]| {
        asg("UpdateAutoScalingGroup")
            .param("AutoScalingGroupName", id)
            .param("VPCZoneIdentifier", subnets.join(","))
    };
    let az_rebalance = |op: &str| {
        asg(op)
            .param("AutoScalingGroupName", id)
            .param("ScalingProcesses.member.1", "AZRebalance")
    };
    match kind {
        RemoveAvailabilityZone {
            remaining_subnet_ids,
            target_group_arns,
            instance_ids,
            keep_instances,
            ..
        } => {
            let mut calls = Vec::new();
            if *keep_instances {
                calls.push(az_rebalance("SuspendProcesses"));
            }
            calls.push(asg_subnets(remaining_subnet_ids));
            if !instance_ids.is_empty() {
                calls.extend(
                    target_group_arns
                        .iter()
                        .map(|tg| targets("DeregisterTargets", tg, instance_ids)),
                );
            }
            calls
        }
        RestoreAvailabilityZone {
            subnet_ids,
            target_group_arns,
            instance_ids,
            resume_az_rebalance,
            ..
        } => {
            let mut calls = vec![asg_subnets(subnet_ids)];
            if !instance_ids.is_empty() {
                calls.extend(
                    target_group_arns
                        .iter()
                        .map(|tg| targets("RegisterTargets", tg, instance_ids)),
                );
            }
            if *resume_az_rebalance {
                calls.push(az_rebalance("ResumeProcesses"));
            }
            calls
        }
        other => unreachable!("{} is not an AZ drill action", other.name()),
    }
}

/// Target groups and listeners.
pub(super) fn elb_calls(kind: &ActionKind, id: &str) -> Vec<ApiCall> {
    use ActionKind::*;
    match kind {
        RegisterTargets { instance_ids, port } => {
            let mut call = targets("RegisterTargets", id, instance_ids);
            if let Some(port) = port {
                for i in 1..=instance_ids.len() {
                    call = call.param(format!("Targets.member.{i}.Port"), port);
                }
            }
            vec![call]
        }
        DeregisterTargets { instance_ids } => {
            vec![targets("DeregisterTargets", id, instance_ids)]
        }
        ModifyHealthCheck { change } => vec![
            elb("ModifyTargetGroup")
                .param("TargetGroupArn", id)
                .param_opt("HealthCheckPath", change.path.as_deref())
                .param_opt("HealthCheckIntervalSeconds", change.interval_seconds)
                .param_opt("HealthCheckTimeoutSeconds", change.timeout_seconds)
                .param_opt("HealthyThresholdCount", change.healthy_threshold)
                .param_opt("UnhealthyThresholdCount", change.unhealthy_threshold)
                .param_opt("Matcher.HttpCode", change.matcher.as_deref()),
        ],
        SetListenerWeights { target_groups } => {
            let prefix = "DefaultActions.member.1";
            let mut call = elb("ModifyListener")
                .param("ListenerArn", id)
                .param(format!("{prefix}.Type"), "forward");
            for (i, tg) in target_groups.iter().enumerate() {
                let member = format!("{prefix}.ForwardConfig.TargetGroups.member.{}", i + 1);
                call = call
                    .param(format!("{member}.TargetGroupArn"), &tg.target_group_arn)
                    .param(format!("{member}.Weight"), tg.weight);
            }
            vec![call]
        }
        other => unreachable!("{} is not a load-balancing action", other.name()),
    }
}

/// DB instances and clusters.
pub(super) fn rds_calls(kind: &ActionKind, id: &str) -> Vec<ApiCall> {
    use ActionKind::*;
    match kind {
        // The status and AZ before the call tell the reboot (or the failover) from an
        // `available` read before RDS started it.
        RebootDbInstance { force_failover } => vec![
            rds("DescribeDBInstances").param("DBInstanceIdentifier", id),
            rds("RebootDBInstance")
                .param("DBInstanceIdentifier", id)
                .param("ForceFailover", force_failover),
        ],
        FailoverDbCluster { target_instance } => vec![
            rds("DescribeDBClusters").param("DBClusterIdentifier", id),
            rds("FailoverDBCluster")
                .param("DBClusterIdentifier", id)
                .param_opt("TargetDBInstanceIdentifier", target_instance.as_deref()),
        ],
        PromoteReadReplica => {
            vec![rds("PromoteReadReplica").param("DBInstanceIdentifier", id)]
        }
        CreateReadReplica {
            replica_identifier,
            availability_zone,
            instance_class,
        } => vec![
            rds("CreateDBInstanceReadReplica")
                .param("DBInstanceIdentifier", replica_identifier)
                .param("SourceDBInstanceIdentifier", id)
                .param_opt("AvailabilityZone", availability_zone.as_deref())
                .param_opt("DBInstanceClass", instance_class.as_deref()),
        ],
        CreateDbSnapshot {
            snapshot_identifier,
        } => vec![
            rds("CreateDBSnapshot")
                .param("DBInstanceIdentifier", id)
                .param("DBSnapshotIdentifier", snapshot_identifier),
        ],
        ModifyDbInstanceClass {
            class,
            apply_immediately,
            ..
        } => vec![
            rds("ModifyDBInstance")
                .param("DBInstanceIdentifier", id)
                .param("DBInstanceClass", class)
                .param("ApplyImmediately", apply_immediately),
        ],
        other => unreachable!("{} is not an RDS action", other.name()),
    }
}
