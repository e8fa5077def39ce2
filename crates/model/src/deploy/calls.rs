//! What a deploy step does: an existing [`Action`], or one of the few operations only a deploy
//! makes (its tags, the green group and target group, deleting blue or green), each with the
//! exact API calls it previews.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::{Action, ApiCall, Capacity, Risk};
use crate::topology::{HealthCheck, Service, Tags};

/// The settings of the target group green copies from blue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupSettings {
    /// Protocol.
    pub protocol: Option<String>,
    /// Port.
    pub port: Option<i32>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// `instance` or `ip`.
    pub target_type: String,
    /// Health check.
    pub health_check: HealthCheck,
    /// Blue's attributes that shape how targets come and go ([`COPIED_ATTRIBUTES`]).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// The target group attributes green takes from blue: how long a leaving target drains, slow
/// start, stickiness and the algorithm — what users notice when traffic moves to green.
pub const COPIED_ATTRIBUTES: &[&str] = &[
    "deregistration_delay.timeout_seconds",
    "slow_start.duration_seconds",
    "stickiness.enabled",
    "stickiness.type",
    "stickiness.lb_cookie.duration_seconds",
    "load_balancing.algorithm.type",
];

/// The settings of the group green copies from blue, with the new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSettings {
    /// Sizes.
    pub capacity: Capacity,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// `EC2` or `ELB`.
    pub health_check_type: String,
    /// Seconds before health checks count.
    pub health_check_grace_period: Option<i32>,
    /// The launch template (`lt-…`).
    pub launch_template_id: String,
    /// The version launched: a number (`<the new version>` until created).
    pub version: String,
    /// Blue's target-tracking policies, given to green as they are.
    #[serde(default)]
    pub policies: Vec<TrackingPolicy>,
}

/// A target-tracking scaling policy copied from blue to green.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingPolicy {
    /// Policy name.
    pub name: String,
    /// The predefined metric, e.g. `ASGAverageCPUUtilization`.
    pub metric: String,
    /// The target value, as AWS gave it (e.g. `50.0`).
    pub target: String,
}

/// One operation of a deploy step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum DeployCall {
    /// An action `haven act` also knows.
    Act(Action),
    /// Write the deploy's tags on a group and its target groups (the deploy's state in AWS).
    Tag {
        /// Group name.
        group: String,
        /// Its target groups.
        target_group_arns: Vec<String>,
        /// Tags written (overwriting those of the same key).
        tags: Tags,
    },
    /// Create green's target group, a copy of blue's.
    CreateTargetGroup {
        /// Name (32 characters at most).
        name: String,
        /// Settings copied from blue's.
        settings: TargetGroupSettings,
        /// Tags.
        tags: Tags,
    },
    /// Create the green group on the new version, registering with green's target group.
    CreateGroup {
        /// Group name.
        name: String,
        /// The target group's name (its ARN is known once created).
        target_group: String,
        /// Settings copied from blue's, with the new version.
        settings: GroupSettings,
        /// Tags (propagated to the instances).
        tags: Tags,
    },
    /// Point a group at a launch template version (new launches use it).
    PointGroupAt {
        /// Group name.
        group: String,
        /// `lt-…`
        launch_template_id: String,
        /// A version number.
        version: String,
    },
    /// Delete a group and its instances.
    DeleteGroup {
        /// Group name.
        group: String,
    },
    /// Delete a target group (no listener forwards to it any more).
    DeleteTargetGroup {
        /// ARN.
        arn: String,
        /// Name, for sentences.
        name: String,
    },
}

fn asg(op: &str) -> ApiCall {
    ApiCall::new(Service::AutoScaling, op)
}

fn elb(op: &str) -> ApiCall {
    ApiCall::new(Service::Elbv2, op)
}

fn tag_list(mut call: ApiCall, prefix: &str, tags: &Tags, extra: &[(&str, &str)]) -> ApiCall {
    for (i, (key, value)) in tags.iter().enumerate() {
        call = call
            .param(format!("{prefix}.{}.Key", i + 1), key)
            .param(format!("{prefix}.{}.Value", i + 1), value);
        for (k, v) in extra {
            call = call.param(format!("{prefix}.{}.{k}", i + 1), v);
        }
    }
    call
}

impl DeployCall {
    /// A name for the log and `--dry-run`, e.g. `deploy-tag` or `listener-weights`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Act(action) => action.kind.name(),
            Self::Tag { .. } => "deploy-tag",
            Self::CreateTargetGroup { .. } => "deploy-create-target-group",
            Self::CreateGroup { .. } => "deploy-create-group",
            Self::PointGroupAt { .. } => "deploy-point-group",
            Self::DeleteGroup { .. } => "deploy-delete-group",
            Self::DeleteTargetGroup { .. } => "deploy-delete-target-group",
        }
    }

    /// How much harm it can do.
    pub fn risk(&self) -> Risk {
        match self {
            Self::Act(action) => action.risk(),
            Self::Tag { .. } | Self::CreateTargetGroup { .. } | Self::CreateGroup { .. } => {
                Risk::Safe
            }
            Self::PointGroupAt { .. } => Risk::Disruptive,
            Self::DeleteGroup { .. } | Self::DeleteTargetGroup { .. } => Risk::Destructive,
        }
    }

    /// A sentence for the log and the dialog.
    pub fn sentence(&self) -> String {
        match self {
            Self::Act(action) => action.sentence(),
            Self::Tag { group, tags, .. } => {
                let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("Tag {group} and its target groups {}", pairs.join(" "))
            }
            Self::CreateTargetGroup { name, .. } => {
                format!("Create target group {name}, a copy of blue's")
            }
            Self::CreateGroup { name, settings, .. } => format!(
                "Create group {name} on {} version {} with {} instance(s)",
                settings.launch_template_id, settings.version, settings.capacity.desired
            ),
            Self::PointGroupAt {
                group,
                launch_template_id,
                version,
            } => format!(
                "Launch {group}'s new instances from {launch_template_id} version {version}"
            ),
            Self::DeleteGroup { group } => format!("Delete group {group} and its instances"),
            Self::DeleteTargetGroup { name, .. } => format!("Delete target group {name}"),
        }
    }

    /// The exact calls it makes.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        match self {
            Self::Act(action) => action.api_calls(),
            Self::Tag {
                group,
                target_group_arns,
                tags,
            } => {
                let on_group = [
                    ("ResourceType", "auto-scaling-group"),
                    ("ResourceId", group.as_str()),
                    ("PropagateAtLaunch", "false"),
                ];
                let mut calls = vec![tag_list(
                    asg("CreateOrUpdateTags"),
                    "Tags.member",
                    tags,
                    &on_group,
                )];
                calls.extend(target_group_arns.iter().map(|arn| {
                    tag_list(
                        elb("AddTags").param("ResourceArns.member.1", arn),
                        "Tags.member",
                        tags,
                        &[],
                    )
                }));
                calls
            }
            Self::CreateTargetGroup {
                name,
                settings,
                tags,
            } => {
                let hc = &settings.health_check;
                let call = elb("CreateTargetGroup")
                    .param("Name", name)
                    .param("TargetType", &settings.target_type)
                    .param_opt("Protocol", settings.protocol.as_deref())
                    .param_opt("Port", settings.port)
                    .param_opt("VpcId", settings.vpc_id.as_deref())
                    .param("HealthCheckEnabled", hc.enabled)
                    .param_opt("HealthCheckProtocol", hc.protocol.as_deref())
                    .param_opt("HealthCheckPort", hc.port.as_deref())
                    .param_opt("HealthCheckPath", hc.path.as_deref())
                    .param_opt("HealthCheckIntervalSeconds", hc.interval_seconds)
                    .param_opt("HealthCheckTimeoutSeconds", hc.timeout_seconds)
                    .param_opt("HealthyThresholdCount", hc.healthy_threshold)
                    .param_opt("UnhealthyThresholdCount", hc.unhealthy_threshold)
                    .param_opt("Matcher.HttpCode", hc.matcher.as_deref());
                let mut calls = vec![tag_list(call, "Tags.member", tags, &[])];
                if !settings.attributes.is_empty() {
                    let mut modify = elb("ModifyTargetGroupAttributes")
                        .param("TargetGroupArn", format!("<the ARN of {name}>"));
                    for (i, (key, value)) in settings.attributes.iter().enumerate() {
                        modify = modify
                            .param(format!("Attributes.member.{}.Key", i + 1), key)
                            .param(format!("Attributes.member.{}.Value", i + 1), value);
                    }
                    calls.push(modify);
                }
                calls
            }
            Self::CreateGroup {
                name,
                target_group,
                settings,
                tags,
            } => {
                let call = asg("CreateAutoScalingGroup")
                    .param("AutoScalingGroupName", name)
                    .param(
                        "LaunchTemplate.LaunchTemplateId",
                        &settings.launch_template_id,
                    )
                    .param("LaunchTemplate.Version", &settings.version)
                    .param("MinSize", settings.capacity.min)
                    .param("MaxSize", settings.capacity.max)
                    .param("DesiredCapacity", settings.capacity.desired)
                    .param("VPCZoneIdentifier", settings.subnet_ids.join(","))
                    .param("HealthCheckType", &settings.health_check_type)
                    .param_opt("HealthCheckGracePeriod", settings.health_check_grace_period)
                    .param(
                        "TargetGroupARNs.member.1",
                        format!("<the ARN of {target_group}>"),
                    );
                let mut calls = vec![tag_list(
                    call,
                    "Tags.member",
                    tags,
                    &[("PropagateAtLaunch", "true")],
                )];
                calls.extend(settings.policies.iter().map(|p| {
                    asg("PutScalingPolicy")
                        .param("AutoScalingGroupName", name)
                        .param("PolicyName", &p.name)
                        .param("PolicyType", "TargetTrackingScaling")
                        .param(
                            "TargetTrackingConfiguration.PredefinedMetricSpecification.\
                             PredefinedMetricType",
                            &p.metric,
                        )
                        .param("TargetTrackingConfiguration.TargetValue", &p.target)
                }));
                calls
            }
            Self::PointGroupAt {
                group,
                launch_template_id,
                version,
            } => vec![
                asg("UpdateAutoScalingGroup")
                    .param("AutoScalingGroupName", group)
                    .param("LaunchTemplate.LaunchTemplateId", launch_template_id)
                    .param("LaunchTemplate.Version", version),
            ],
            Self::DeleteGroup { group } => vec![
                asg("DeleteAutoScalingGroup")
                    .param("AutoScalingGroupName", group)
                    .param("ForceDelete", true),
            ],
            Self::DeleteTargetGroup { arn, .. } => {
                vec![elb("DeleteTargetGroup").param("TargetGroupArn", arn)]
            }
        }
    }

    /// It is this action kind's call (`listener-weights`, …), for tests and the log.
    pub fn is(&self, name: &str) -> bool {
        self.name() == name
    }
}
