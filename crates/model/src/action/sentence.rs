//! The sentence of each action, per service: what it will do, in words, for the preview, the
//! dialog and the action log.
//!
//! [`super::Action`] sends each action to the function of its family (`ActionKind::family`): the
//! last arm of each is never reached.

use super::{ActionKind, change, join, list_or_all};

/// Instances, their images and volumes' snapshots, launch templates.
pub(super) fn ec2(kind: &ActionKind, target: &str) -> String {
    use ActionKind::*;
    match kind {
        StopInstance { group: None } => format!("Stop instance {target}"),
        StopInstance { group: Some(group) } => format!(
            "Stop instance {target} of {group}: Auto Scaling counts a stopped member as \
                 unhealthy, terminates it and launches a replacement (to keep it, move it to \
                 standby first: asg-enter-standby)"
        ),
        StartInstance => format!("Start instance {target}"),
        RebootInstance => format!("Reboot instance {target}"),
        TerminateInstance => {
            format!("Terminate instance {target} (it cannot be started again)")
        }
        CreateLaunchTemplateVersion {
            source_version,
            image_id,
            instance_type,
            set_default,
            ..
        } => {
            let mut changes = Vec::new();
            if let Some(image) = image_id {
                changes.push(format!("AMI {image}"));
            }
            if let Some(kind) = instance_type {
                changes.push(format!("instance type {kind}"));
            }
            let changes = if changes.is_empty() {
                "no changes".to_string()
            } else {
                changes.join(", ")
            };
            let default = if *set_default {
                " and make it the default"
            } else {
                ""
            };
            format!(
                "Create a new version of launch template {target} from version \
                     {source_version} with {changes}{default}"
            )
        }
        SetDefaultLaunchTemplateVersion { version } => {
            format!("Make version {version} the default of launch template {target}")
        }
        CreateImage { name, no_reboot } => {
            let reboot = if *no_reboot {
                "without rebooting it"
            } else {
                "(the instance reboots)"
            };
            format!("Create AMI {name:?} from instance {target} {reboot}")
        }
        CreateSnapshot { .. } => format!("Create a snapshot of volume {target}"),
        other => unreachable!("{} is not an EC2 action", other.name()),
    }
}

/// Auto Scaling groups: capacity, processes, members, instance refreshes, standby.
pub(super) fn auto_scaling(kind: &ActionKind, target: &str) -> String {
    use ActionKind::*;
    match kind {
        SetCapacity {
            desired,
            min,
            max,
            current,
        } => {
            if let (Some(desired), None, None) = (desired, min, max) {
                let from = current.map(|c| c.desired);
                return format!(
                    "Set desired capacity of {target} {}",
                    change("", from, *desired).trim_start()
                );
            }
            let mut parts = Vec::new();
            if let Some(min) = min {
                parts.push(change("min", current.map(|c| c.min), *min));
            }
            if let Some(max) = max {
                parts.push(change("max", current.map(|c| c.max), *max));
            }
            if let Some(desired) = desired {
                parts.push(change("desired", current.map(|c| c.desired), *desired));
            }
            format!("Set capacity of {target}: {}", parts.join(", "))
        }
        SuspendProcesses { processes } => {
            format!("Suspend {} of {target}", list_or_all(processes))
        }
        ResumeProcesses { processes } => {
            format!("Resume {} of {target}", list_or_all(processes))
        }
        TerminateAsgInstance { decrement, group } => {
            let group = group
                .as_ref()
                .map(|g| format!(" of {g}"))
                .unwrap_or_default();
            if *decrement {
                format!("Terminate instance {target}{group} and lower the desired capacity by one")
            } else {
                format!("Terminate instance {target}{group}; the group launches a replacement")
            }
        }
        StartInstanceRefresh {
            min_healthy_percentage,
            version,
            ..
        } => {
            let keep = min_healthy_percentage
                .map(|p| format!(", keeping {p}% healthy"))
                .unwrap_or_default();
            let version = match version.as_deref() {
                None | Some("$Default") => "its launch template's default version".into(),
                Some("$Latest") => "its launch template's latest version".into(),
                Some(v) => format!("launch template version {v}"),
            };
            format!(
                "Start an instance refresh of {target} to {version}{keep}; instances already \
                     on it are skipped"
            )
        }
        CancelInstanceRefresh => format!("Cancel the instance refresh of {target}"),
        EnterStandby {
            group,
            keep_capacity,
        } => {
            let group = group
                .as_ref()
                .map(|g| format!(" of {g}"))
                .unwrap_or_default();
            let capacity = if *keep_capacity {
                "Auto Scaling launches a replacement meanwhile"
            } else {
                "the desired capacity goes down by one"
            };
            format!(
                "Move instance {target}{group} to standby: out of the load balancer and of \
                     health checks, so it can be stopped safely; {capacity}"
            )
        }
        ExitStandby { group } => {
            let group = group
                .as_ref()
                .map(|g| format!(" of {g}"))
                .unwrap_or_default();
            format!(
                "Put standby instance {target}{group} back in service (it must be running; \
                     the desired capacity goes up by one)"
            )
        }
        other => unreachable!("{} is not an Auto Scaling action", other.name()),
    }
}

/// The AZ drill: an AZ taken out of a group and put back.
pub(super) fn az_drill(kind: &ActionKind, target: &str) -> String {
    use ActionKind::*;
    match kind {
        RemoveAvailabilityZone {
            availability_zone,
            remaining_subnet_ids,
            instance_ids,
            keep_instances: false,
            ..
        } => format!(
            "AZ drill: remove {availability_zone} from {target} (keep subnets {}): its {} \
                 instance(s) leave the load balancer, then Auto Scaling terminates them and \
                 launches replacements in the other AZs (the group may go up to 10% over its \
                 max meanwhile)",
            join(remaining_subnet_ids),
            instance_ids.len()
        ),
        RemoveAvailabilityZone {
            availability_zone,
            remaining_subnet_ids,
            instance_ids,
            keep_instances: true,
            ..
        } => format!(
            "AZ loss drill: suspend AZRebalance of {target}, remove {availability_zone} (keep \
                 subnets {}) and deregister its {} instance(s) from the load balancer; they keep \
                 running",
            join(remaining_subnet_ids),
            instance_ids.len()
        ),
        RestoreAvailabilityZone {
            availability_zone,
            subnet_ids,
            instance_ids,
            resume_az_rebalance,
            ..
        } => {
            let resume = if *resume_az_rebalance {
                ", then resume AZRebalance"
            } else {
                ""
            };
            if instance_ids.is_empty() {
                format!(
                    "End the AZ drill: put {availability_zone} back into {target} (subnets \
                         {}){resume}; Auto Scaling rebalances: it launches instances in \
                         {availability_zone} and terminates as many in the other AZs",
                    join(subnet_ids)
                )
            } else {
                format!(
                    "End the AZ drill: put {availability_zone} back into {target} (subnets \
                         {}) and register its {} instance(s) again{resume}",
                    join(subnet_ids),
                    instance_ids.len()
                )
            }
        }
        other => unreachable!("{} is not an AZ drill action", other.name()),
    }
}

/// Target groups and listeners.
pub(super) fn elb(kind: &ActionKind, target: &str) -> String {
    use ActionKind::*;
    match kind {
        RegisterTargets { instance_ids, port } => {
            let port = port.map(|p| format!(" on port {p}")).unwrap_or_default();
            format!(
                "Register {} with target group {target}{port}",
                join(instance_ids)
            )
        }
        DeregisterTargets { instance_ids } => format!(
            "Deregister {} from target group {target} (connections drain first)",
            join(instance_ids)
        ),
        ModifyHealthCheck { change } => {
            let mut parts = Vec::new();
            if let Some(path) = &change.path {
                parts.push(format!("path {path}"));
            }
            if let Some(v) = change.interval_seconds {
                parts.push(format!("every {v} s"));
            }
            if let Some(v) = change.timeout_seconds {
                parts.push(format!("timeout {v} s"));
            }
            if let Some(v) = change.healthy_threshold {
                parts.push(format!("healthy after {v}"));
            }
            if let Some(v) = change.unhealthy_threshold {
                parts.push(format!("unhealthy after {v}"));
            }
            if let Some(v) = &change.matcher {
                parts.push(format!("expect HTTP {v}"));
            }
            format!(
                "Change the health check of target group {target}: {}",
                parts.join(", ")
            )
        }
        SetListenerWeights { target_groups } => {
            let weights: Vec<String> = target_groups
                .iter()
                .map(|t| {
                    let name = t.name.as_deref().unwrap_or(&t.target_group_arn);
                    format!("{name} {}", t.weight)
                })
                .collect();
            format!("Forward listener {target} to {}", weights.join(" / "))
        }
        other => unreachable!("{} is not a load-balancing action", other.name()),
    }
}

/// DB instances and clusters.
pub(super) fn rds(kind: &ActionKind, target: &str) -> String {
    use ActionKind::*;
    match kind {
        RebootDbInstance { force_failover } => {
            if *force_failover {
                format!("Reboot DB instance {target} with a failover to its standby")
            } else {
                format!("Reboot DB instance {target}")
            }
        }
        FailoverDbCluster { target_instance } => match target_instance {
            Some(reader) => format!("Fail DB cluster {target} over to reader {reader}"),
            None => format!("Fail DB cluster {target} over to a reader RDS chooses"),
        },
        PromoteReadReplica => format!(
            "Promote read replica {target} to a standalone DB instance (replication stops \
                 for good)"
        ),
        CreateReadReplica {
            replica_identifier,
            availability_zone,
            ..
        } => {
            let az = availability_zone
                .as_ref()
                .map(|az| format!(" in {az}"))
                .unwrap_or_default();
            format!("Create read replica {replica_identifier} of {target}{az}")
        }
        CreateDbSnapshot {
            snapshot_identifier,
        } => format!("Create DB snapshot {snapshot_identifier} of {target}"),
        ModifyDbInstanceClass {
            class,
            apply_immediately,
            current,
        } => {
            let from = current
                .as_ref()
                .map(|c| format!(" from {c}"))
                .unwrap_or_default();
            let when = if *apply_immediately {
                "now"
            } else {
                "in the next maintenance window"
            };
            format!("Change the class of DB instance {target}{from} to {class}, {when}")
        }
        other => unreachable!("{} is not an RDS action", other.name()),
    }
}
