//! Runs the steps of a deploy ([`haven_model::deploy`]): the calls only a deploy makes (its
//! tags, green's target group and group, deleting a side), the actions it shares with
//! `haven act`, and the signals its gates need that discovery does not read (failed launches,
//! instance refreshes, CloudWatch alarms).
//!
//! Every call is safe to repeat: a deploy killed half-way is run again from what AWS shows, so
//! a create finds what the first run made (by name, checked against the deploy's tag) and a
//! delete of what is gone is done.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_autoscaling::types as asg;
use aws_sdk_elasticloadbalancingv2::types as elb;
use chrono::{DateTime, Utc};
use haven_model::Service;
use haven_model::action::{ActionKind, Outcome, Progress};
use haven_model::deploy::{
    DEPLOY_TAG, DeployCall, GroupSettings, RefreshSeen, Signals, TargetGroupSettings,
};
use haven_model::topology::Tags;

use crate::context::AwsContext;
use crate::error::AwsError;
use crate::execute::{ExecuteOptions, ProgressSink, Run, execute, start_instance_refresh_only};

/// How long a target group still named by a listener a moment ago may answer `ResourceInUse`:
/// a listener change takes a few seconds to reach every load balancer node.
const IN_USE_BUDGET: Duration = Duration::from_secs(90);

/// Runs one deploy call. An instance refresh is started, not followed: the deploy watches its
/// gates while AWS replaces the instances.
pub async fn run_call(
    ctx: &AwsContext,
    region: &str,
    call: &DeployCall,
    options: &ExecuteOptions,
    progress: ProgressSink<'_>,
) -> Result<Outcome, AwsError> {
    if options.read_only {
        return Err(AwsError::ReadOnly {
            action: call.sentence(),
        });
    }
    let mut run = Run::new(ctx, region, options, progress);
    let message = match call {
        DeployCall::Act(action) => {
            return if matches!(action.kind, ActionKind::StartInstanceRefresh { .. }) {
                start_instance_refresh_only(ctx, action, options, progress).await
            } else {
                execute(ctx, action, options, progress).await
            };
        }
        DeployCall::Tag {
            group,
            target_group_arns,
            tags,
        } => run.tag(group, target_group_arns, tags).await?,
        DeployCall::CreateTargetGroup {
            name,
            settings,
            tags,
        } => run.create_target_group(name, settings, tags).await?,
        DeployCall::CreateGroup {
            name,
            target_group,
            settings,
            tags,
        } => run.create_group(name, target_group, settings, tags).await?,
        DeployCall::PointGroupAt {
            group,
            launch_template_id,
            version,
        } => run.point_group(group, launch_template_id, version).await?,
        DeployCall::DeleteGroup { group } => run.delete_group(group).await?,
        DeployCall::DeleteTargetGroup { arn, name } => run.delete_target_group(arn, name).await?,
    };
    run.outcome.message = message.clone();
    (run.progress)(Progress::new("done", message, Some(1.0)));
    Ok(run.outcome)
}

impl Run<'_> {
    async fn tag(
        &mut self,
        group: &str,
        target_groups: &[String],
        tags: &Tags,
    ) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let on_group: Vec<asg::Tag> = tags
            .iter()
            .map(|(key, value)| {
                asg::Tag::builder()
                    .resource_id(group)
                    .resource_type("auto-scaling-group")
                    .key(key)
                    .value(value)
                    .propagate_at_launch(false)
                    .build()
            })
            .collect();
        let out = client
            .create_or_update_tags()
            .set_tags(Some(on_group))
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "CreateOrUpdateTags", e))?;
        self.sent("CreateOrUpdateTags", &out);
        let elb_client = self.ctx.elbv2(self.region);
        for arn in target_groups {
            let out = elb_client
                .add_tags()
                .resource_arns(arn)
                .set_tags(Some(crate::tags::elb(tags)))
                .send()
                .await
                .map_err(|e| self.err(Service::Elbv2, "AddTags", e))?;
            self.sent("AddTags", &out);
        }
        let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(format!("{group} tagged {}", pairs.join(" ")))
    }

    /// The target group named `name` and its tags, if it exists.
    async fn find_target_group(
        &self,
        name: &str,
    ) -> Result<Option<(String, BTreeMap<String, String>)>, AwsError> {
        let client = self.ctx.elbv2(self.region);
        let found = client.describe_target_groups().names(name).send().await;
        let out = match found {
            Ok(out) => out,
            Err(e) => {
                let error = self.err(Service::Elbv2, "DescribeTargetGroups", e);
                return match error.code() {
                    Some("TargetGroupNotFound") => Ok(None),
                    _ => Err(error),
                };
            }
        };
        let Some(arn) = out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
        else {
            return Ok(None);
        };
        let tags = client
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "DescribeTags", e))?;
        let tags = tags
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect();
        Ok(Some((arn.to_string(), tags)))
    }

    async fn create_target_group(
        &mut self,
        name: &str,
        settings: &TargetGroupSettings,
        tags: &Tags,
    ) -> Result<String, AwsError> {
        // A run killed after the create finds the target group it made.
        if let Some((arn, found)) = self.find_target_group(name).await? {
            return if found.get(DEPLOY_TAG) == tags.get(DEPLOY_TAG) {
                self.target_group_attributes(&arn, settings).await?;
                self.outcome.resulting_ids.push(arn.clone());
                Ok(format!("target group {name} exists already: {arn}"))
            } else {
                Err(not_ours("target group", name, tags))
            };
        }
        let hc = &settings.health_check;
        let client = self.ctx.elbv2(self.region);
        let out = client
            .create_target_group()
            .name(name)
            .target_type(elb::TargetTypeEnum::from(settings.target_type.as_str()))
            .set_protocol(settings.protocol.as_deref().map(elb::ProtocolEnum::from))
            .set_port(settings.port)
            .set_vpc_id(settings.vpc_id.clone())
            .health_check_enabled(hc.enabled)
            .set_health_check_protocol(hc.protocol.as_deref().map(elb::ProtocolEnum::from))
            .set_health_check_port(hc.port.clone())
            .set_health_check_path(hc.path.clone())
            .set_health_check_interval_seconds(hc.interval_seconds)
            .set_health_check_timeout_seconds(hc.timeout_seconds)
            .set_healthy_threshold_count(hc.healthy_threshold)
            .set_unhealthy_threshold_count(hc.unhealthy_threshold)
            .set_matcher(
                hc.matcher
                    .as_deref()
                    .map(|m| elb::Matcher::builder().http_code(m).build()),
            )
            .set_tags(Some(crate::tags::elb(tags)))
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "CreateTargetGroup", e))?;
        self.sent("CreateTargetGroup", &out);
        let arn = out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .ok_or_else(|| {
                AwsError::missing(Service::Elbv2, "CreateTargetGroup", "target group ARN")
            })?
            .to_string();
        self.target_group_attributes(&arn, settings).await?;
        self.outcome.resulting_ids.push(arn.clone());
        Ok(format!("target group {name} created: {arn}"))
    }

    /// Blue's draining, slow start, stickiness and algorithm on green's target group (AWS
    /// would give it its defaults: 300 s of draining, no stickiness).
    async fn target_group_attributes(
        &mut self,
        arn: &str,
        settings: &TargetGroupSettings,
    ) -> Result<(), AwsError> {
        if settings.attributes.is_empty() {
            return Ok(());
        }
        let attributes = settings
            .attributes
            .iter()
            .map(|(key, value)| {
                elb::TargetGroupAttribute::builder()
                    .key(key)
                    .value(value)
                    .build()
            })
            .collect();
        let out = self
            .ctx
            .elbv2(self.region)
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "ModifyTargetGroupAttributes", e))?;
        self.sent("ModifyTargetGroupAttributes", &out);
        Ok(())
    }

    /// The group named `name`'s tags, if it exists (and is not being deleted).
    async fn find_group(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let out = client
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "DescribeAutoScalingGroups", e))?;
        Ok(out.auto_scaling_groups().first().map(|g| {
            g.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect()
        }))
    }

    async fn create_group(
        &mut self,
        name: &str,
        target_group: &str,
        settings: &GroupSettings,
        tags: &Tags,
    ) -> Result<String, AwsError> {
        if let Some(found) = self.find_group(name).await? {
            return if found.get(DEPLOY_TAG) == tags.get(DEPLOY_TAG) {
                self.policies(name, settings).await?;
                Ok(format!("group {name} exists already"))
            } else {
                Err(not_ours("Auto Scaling group", name, tags))
            };
        }
        let Some((arn, _)) = self.find_target_group(target_group).await? else {
            return Err(AwsError::missing(
                Service::Elbv2,
                "DescribeTargetGroups",
                &format!("target group {target_group}"),
            ));
        };
        let group_tags: Vec<asg::Tag> = tags
            .iter()
            .map(|(key, value)| {
                asg::Tag::builder()
                    .resource_id(name)
                    .resource_type("auto-scaling-group")
                    .key(key)
                    .value(value)
                    .propagate_at_launch(true)
                    .build()
            })
            .collect();
        let client = self.ctx.autoscaling(self.region);
        let out = client
            .create_auto_scaling_group()
            .auto_scaling_group_name(name)
            .launch_template(
                asg::LaunchTemplateSpecification::builder()
                    .launch_template_id(&settings.launch_template_id)
                    .version(&settings.version)
                    .build(),
            )
            .min_size(settings.capacity.min)
            .max_size(settings.capacity.max)
            .desired_capacity(settings.capacity.desired)
            .vpc_zone_identifier(settings.subnet_ids.join(","))
            .target_group_arns(&arn)
            .health_check_type(&settings.health_check_type)
            .set_health_check_grace_period(settings.health_check_grace_period)
            .set_tags(Some(group_tags))
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "CreateAutoScalingGroup", e))?;
        self.sent("CreateAutoScalingGroup", &out);
        self.outcome.resulting_ids.push(name.to_string());
        self.policies(name, settings).await?;
        Ok(format!(
            "group {name} created on {} version {}, {} instance(s) launching",
            settings.launch_template_id, settings.version, settings.capacity.desired
        ))
    }

    /// Blue's target-tracking policies on the new group (`PutScalingPolicy` creates or
    /// replaces: a repeated run is harmless).
    async fn policies(&mut self, group: &str, settings: &GroupSettings) -> Result<(), AwsError> {
        let client = self.ctx.autoscaling(self.region);
        for policy in &settings.policies {
            let target: f64 = policy.target.parse().unwrap_or(50.0);
            let configuration = asg::TargetTrackingConfiguration::builder()
                .predefined_metric_specification(
                    asg::PredefinedMetricSpecification::builder()
                        .predefined_metric_type(asg::MetricType::from(policy.metric.as_str()))
                        .build(),
                )
                .target_value(target)
                .build();
            let out = client
                .put_scaling_policy()
                .auto_scaling_group_name(group)
                .policy_name(&policy.name)
                .policy_type("TargetTrackingScaling")
                .target_tracking_configuration(configuration)
                .send()
                .await
                .map_err(|e| self.err(Service::AutoScaling, "PutScalingPolicy", e))?;
            self.sent("PutScalingPolicy", &out);
        }
        Ok(())
    }

    async fn point_group(
        &mut self,
        group: &str,
        template: &str,
        version: &str,
    ) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let out = client
            .update_auto_scaling_group()
            .auto_scaling_group_name(group)
            .launch_template(
                asg::LaunchTemplateSpecification::builder()
                    .launch_template_id(template)
                    .version(version)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "UpdateAutoScalingGroup", e))?;
        self.sent("UpdateAutoScalingGroup", &out);
        Ok(format!(
            "{group} launches {template} version {version} from now on"
        ))
    }

    /// Deletes the group with its instances. AWS keeps it `Delete in progress` for minutes
    /// while the instances terminate; discovery no longer counts it, so the deploy goes on.
    async fn delete_group(&mut self, group: &str) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let sent = client
            .delete_auto_scaling_group()
            .auto_scaling_group_name(group)
            .force_delete(true)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "DeleteAutoScalingGroup", e));
        match sent {
            Ok(out) => {
                self.sent("DeleteAutoScalingGroup", &out);
                Ok(format!(
                    "{group} is being deleted with its instances (AWS takes minutes)"
                ))
            }
            Err(error) if is_gone(&error) || is_deleting(&error) => {
                Ok(format!("{group} is gone (or going) already"))
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes a target group no listener forwards to any more. A listener changed a moment
    /// ago may still hold it for a few seconds: `ResourceInUse` is retried for a while.
    async fn delete_target_group(&mut self, arn: &str, name: &str) -> Result<String, AwsError> {
        let options = self.options;
        let client = self.ctx.elbv2(self.region);
        let started = std::time::Instant::now();
        let mut pause = options.first_poll;
        loop {
            let sent = client
                .delete_target_group()
                .target_group_arn(arn)
                .send()
                .await
                .map_err(|e| self.err(Service::Elbv2, "DeleteTargetGroup", e));
            match sent {
                Ok(out) => {
                    self.sent("DeleteTargetGroup", &out);
                    return Ok(format!("target group {name} deleted"));
                }
                Err(error) if is_gone(&error) => {
                    return Ok(format!("target group {name} is gone already"));
                }
                Err(error)
                    if error.code() == Some("ResourceInUse")
                        && started.elapsed() + pause < IN_USE_BUDGET.min(options.max_wait) =>
                {
                    (self.progress)(Progress::new(
                        format!("waiting for target group {name} to be free"),
                        format!("ResourceInUse after {}s", started.elapsed().as_secs()),
                        None,
                    ));
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(options.max_poll);
                }
                Err(error) => return Err(error),
            }
        }
    }
}

fn not_ours(kind: &str, name: &str, tags: &Tags) -> AwsError {
    AwsError::Other {
        service: Service::Elbv2,
        operation: String::new(),
        detail: format!(
            "a {kind} named {name} exists and is not deploy {}'s: rename or delete it, or \
             deploy under another id",
            tags.get(DEPLOY_TAG).map_or("?", String::as_str)
        ),
    }
}

fn is_gone(error: &AwsError) -> bool {
    error.code().is_some_and(|c| c.contains("NotFound"))
        || matches!(error, AwsError::Service { code, message, .. }
            if code == "ValidationError" && message.to_ascii_lowercase().contains("not found"))
}

fn is_deleting(error: &AwsError) -> bool {
    matches!(error, AwsError::Service { code, message, .. }
        if code == "ScalingActivityInProgress" || message.contains("pending delete"))
}

/// Reads what the gates need beyond the topology for the groups of a deploy: failed launches
/// since `since`, the newest instance refresh of each group, and the state of `alarms`. A read
/// that fails leaves its part unknown (the gate says so) and returns a warning.
pub async fn read_signals(
    ctx: &AwsContext,
    region: &str,
    groups: &[String],
    alarms: &[String],
    since: DateTime<Utc>,
) -> (Signals, Vec<String>) {
    let mut warnings = Vec::new();
    let label = ctx.endpoint_label(region);
    let client = ctx.autoscaling(region);
    let mut failed_launches = Some(BTreeMap::new());
    let mut refreshes = Some(BTreeMap::new());
    for group in groups {
        match client
            .describe_scaling_activities()
            .auto_scaling_group_name(group)
            .max_records(50)
            .send()
            .await
        {
            Ok(out) => {
                let failed: Vec<String> = out
                    .activities()
                    .iter()
                    .filter(|a| {
                        matches!(
                            a.status_code(),
                            Some(asg::ScalingActivityStatusCode::Failed)
                        )
                    })
                    .filter(|a| {
                        a.start_time()
                            .and_then(|t| DateTime::from_timestamp(t.secs(), 0))
                            .is_none_or(|t| t >= since)
                    })
                    .map(|a| {
                        a.status_message()
                            .or(a.description())
                            .unwrap_or("a launch failed")
                            .to_string()
                    })
                    .collect();
                if let Some(map) = failed_launches.as_mut()
                    && !failed.is_empty()
                {
                    map.insert(group.clone(), failed);
                }
            }
            Err(e) => {
                let error = AwsError::from_sdk(
                    Service::AutoScaling,
                    "DescribeScalingActivities",
                    &label,
                    e,
                );
                warnings.push(format!("scaling activities of {group}: {error}"));
                failed_launches = None;
            }
        }
        match client
            .describe_instance_refreshes()
            .auto_scaling_group_name(group)
            .max_records(1)
            .send()
            .await
        {
            Ok(out) => {
                if let (Some(map), Some(r)) = (refreshes.as_mut(), out.instance_refreshes().first())
                {
                    map.insert(group.clone(), refresh_seen(r));
                }
            }
            // moto does not implement instance refreshes: unknown, not an error of the stack.
            Err(e) => {
                let error = AwsError::from_sdk(
                    Service::AutoScaling,
                    "DescribeInstanceRefreshes",
                    &label,
                    e,
                );
                tracing::debug!(%error, "instance refreshes not read");
                refreshes = None;
            }
        }
    }
    let alarms_firing = if alarms.is_empty() {
        Some(BTreeSet::new())
    } else {
        match alarm_states(ctx, region, alarms).await {
            Ok(states) => Some(
                states
                    .into_iter()
                    .filter(|(_, state)| state == "ALARM")
                    .map(|(name, _)| name)
                    .collect(),
            ),
            Err(error) => {
                warnings.push(format!("CloudWatch alarms: {error}"));
                None
            }
        }
    };
    let signals = Signals {
        failed_launches,
        alarms_firing,
        refreshes,
    };
    (signals, warnings)
}

fn refresh_seen(r: &asg::InstanceRefresh) -> RefreshSeen {
    RefreshSeen {
        id: r.instance_refresh_id().unwrap_or_default().to_string(),
        status: r
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: r.status_reason().map(str::to_string),
        percent: r.percentage_complete(),
        started: r
            .start_time()
            .and_then(|t| DateTime::from_timestamp(t.secs(), 0)),
    }
}

/// The state (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each CloudWatch alarm named, metric and
/// composite alarms alike; an alarm that does not exist is absent from the answer.
pub async fn alarm_states(
    ctx: &AwsContext,
    region: &str,
    names: &[String],
) -> Result<BTreeMap<String, String>, AwsError> {
    alarm_states_with(&ctx.cloudwatch(region), &ctx.endpoint_label(region), names).await
}

async fn alarm_states_with(
    client: &aws_sdk_cloudwatch::Client,
    label: &crate::error::Endpoint,
    names: &[String],
) -> Result<BTreeMap<String, String>, AwsError> {
    use aws_sdk_cloudwatch::types::AlarmType;
    let mut states = BTreeMap::new();
    // DescribeAlarms takes at most 100 names per call.
    for chunk in names.chunks(100) {
        let out = client
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::CloudWatch, "DescribeAlarms", label, e))?;
        let metric = out
            .metric_alarms()
            .iter()
            .filter_map(|a| Some((a.alarm_name()?, a.state_value()?.as_str())));
        let composite = out
            .composite_alarms()
            .iter()
            .filter_map(|a| Some((a.alarm_name()?, a.state_value()?.as_str())));
        for (name, state) in metric.chain(composite) {
            states.insert(name.to_string(), state.to_string());
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    /// The alarm gate reads metric and composite alarms by name, 100 names a call; an alarm in
    /// `ALARM` is what fails the gate, and an unknown name is simply absent.
    #[tokio::test]
    async fn alarm_states_read_metric_and_composite_alarms_in_chunks_of_100() {
        let first = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .match_requests(|r| {
                r.alarm_names().len() == 100
                    && r.alarm_types().len() == 2
                    && r.alarm_names()[0] == "alarm-0"
            })
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("alarm-0")
                            .state_value(StateValue::Alarm)
                            .build(),
                    )
                    .composite_alarms(
                        CompositeAlarm::builder()
                            .alarm_name("alarm-1")
                            .state_value(StateValue::Ok)
                            .build(),
                    )
                    .build()
            });
        let second = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .match_requests(|r| r.alarm_names() == ["alarm-100".to_string()])
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("alarm-100")
                            .state_value(StateValue::InsufficientData)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, &[&first, &second]);
        let names: Vec<String> = (0..=100).map(|i| format!("alarm-{i}")).collect();
        let label = crate::error::Endpoint {
            label: "AWS (ap-northeast-2)".into(),
            region: "ap-northeast-2".into(),
        };
        let states = alarm_states_with(&client, &label, &names)
            .await
            .expect("read");
        assert_eq!(states.get("alarm-0").map(String::as_str), Some("ALARM"));
        assert_eq!(states.get("alarm-1").map(String::as_str), Some("OK"));
        assert_eq!(
            states.get("alarm-100").map(String::as_str),
            Some("INSUFFICIENT_DATA")
        );
        assert!(!states.contains_key("alarm-2"), "unknown alarms are absent");
        assert_eq!(first.num_calls() + second.num_calls(), 2);
    }
}
