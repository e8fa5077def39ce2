//! Runs an [`Action`]: the SDK call(s) it stands for, then bounded polling with backoff of the
//! matching describe call until the resource reaches its end state, with progress events.
//!
//! `--read-only` is enforced here too: a mutating action is refused before any call is made.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use aws_sdk_autoscaling as autoscaling;
use aws_sdk_ec2 as ec2;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_sdk_rds as rds;
use haven_model::Service;
use haven_model::action::{
    Action, ActionKind, Capacity, HealthCheckChange, Outcome, Progress, WeightedForward,
};

use crate::context::AwsContext;
use crate::error::AwsError;

/// How an action is run: the read-only guard and the polling limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// Refuse every mutating action before any call is made.
    pub read_only: bool,
    /// Longest time to follow an action to completion before giving up with
    /// [`AwsError::WaitTimedOut`].
    pub max_wait: Duration,
    /// First pause between two polls.
    pub first_poll: Duration,
    /// Longest pause between two polls (the pause doubles up to this).
    pub max_poll: Duration,
}

impl Default for ExecuteOptions {
    /// Generous enough for an RDS class change or a read replica.
    fn default() -> Self {
        Self {
            read_only: false,
            max_wait: Duration::from_secs(60 * 60),
            first_poll: Duration::from_secs(2),
            max_poll: Duration::from_secs(30),
        }
    }
}

/// The callback that receives progress events.
pub type ProgressSink<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// Runs `action` and follows it to completion, reporting progress on the way.
///
/// Refuses a mutating action with [`AwsError::ReadOnly`] when `options.read_only` is set, before
/// anything is sent.
pub async fn execute(
    ctx: &AwsContext,
    action: &Action,
    options: &ExecuteOptions,
    progress: ProgressSink<'_>,
) -> Result<Outcome, AwsError> {
    if options.read_only && action.is_mutating() {
        return Err(AwsError::ReadOnly {
            action: lowercase_first(&action.sentence()),
        });
    }
    let mut run = Run {
        ctx,
        region: &action.region,
        options,
        progress,
        outcome: Outcome::default(),
    };
    let message = run.dispatch(action).await?;
    run.outcome.message = message.clone();
    (run.progress)(Progress {
        step: "done".into(),
        message,
        fraction: Some(1.0),
    });
    Ok(run.outcome)
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One action in flight: where, how long to wait, and what was collected so far.
struct Run<'a> {
    ctx: &'a AwsContext,
    region: &'a str,
    options: &'a ExecuteOptions,
    progress: ProgressSink<'a>,
    outcome: Outcome,
}

/// What one poll saw.
enum Seen {
    /// The end state was reached.
    Done,
    /// Not yet: the current status and, when known, how far along.
    Waiting(String, Option<f32>),
    /// An end state that is a failure.
    Failed(String),
}

/// Bounded polling with backoff for one thing being waited for.
struct Waiter<'a> {
    what: String,
    service: Service,
    started: Instant,
    delay: Duration,
    options: &'a ExecuteOptions,
    progress: ProgressSink<'a>,
}

impl Waiter<'_> {
    /// Reports the status, then sleeps before the next poll, or gives up when the time is over.
    async fn pause(&mut self, status: &str, fraction: Option<f32>) -> Result<(), AwsError> {
        (self.progress)(Progress {
            step: format!("waiting for {}", self.what),
            message: status.to_string(),
            fraction,
        });
        let elapsed = self.started.elapsed();
        if elapsed + self.delay > self.options.max_wait {
            return Err(AwsError::WaitTimedOut {
                service: self.service,
                waiting_for: format!("{} (last seen: {status})", self.what),
                waited_seconds: elapsed.as_secs(),
            });
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(self.options.max_poll);
        Ok(())
    }

    /// Turns one poll's result into "stop", "keep waiting" or an error.
    async fn seen(&mut self, seen: Seen) -> Result<bool, AwsError> {
        match seen {
            Seen::Done => Ok(true),
            Seen::Waiting(status, fraction) => self.pause(&status, fraction).await.map(|()| false),
            Seen::Failed(status) => Err(AwsError::Other {
                service: self.service,
                operation: String::new(),
                detail: format!("{} failed: {status}", self.what),
            }),
        }
    }
}

fn ratio(done: usize, total: usize) -> Option<f32> {
    (total > 0).then(|| (done as f32 / total as f32).min(1.0))
}

impl<'a> Run<'a> {
    fn err<E, R>(&self, service: Service, operation: &str, error: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        AwsError::from_sdk(
            service,
            operation,
            &self.ctx.endpoint_label(self.region),
            error,
        )
    }

    /// Records a call that AWS accepted.
    fn sent(&mut self, operation: &str, output: &impl RequestId) {
        let id = output.request_id().map(str::to_string);
        let message = match &id {
            Some(id) => format!("accepted (request id {id})"),
            None => "accepted".to_string(),
        };
        self.outcome.request_ids.extend(id);
        (self.progress)(Progress {
            step: operation.to_string(),
            message,
            fraction: None,
        });
    }

    fn waiter(&self, service: Service, what: String) -> Waiter<'a> {
        Waiter {
            what,
            service,
            started: Instant::now(),
            delay: self.options.first_poll,
            options: self.options,
            progress: self.progress,
        }
    }

    fn missing(service: Service, operation: &str, what: &str) -> AwsError {
        AwsError::Other {
            service,
            operation: operation.to_string(),
            detail: format!("the response has no {what}"),
        }
    }

    async fn dispatch(&mut self, action: &Action) -> Result<String, AwsError> {
        let id = action.target.id.as_str();
        let label = action.target.label();
        match &action.kind {
            ActionKind::StopInstance
            | ActionKind::StartInstance
            | ActionKind::RebootInstance
            | ActionKind::TerminateInstance => self.instance_state(&action.kind, id).await,
            ActionKind::SetCapacity {
                desired, min, max, ..
            } => {
                self.set_capacity(id, *desired, *min, *max).await?;
                let capacity = self.wait_capacity(id).await?;
                Ok(format!("{id} has {capacity} instance(s) in service"))
            }
            ActionKind::SuspendProcesses { processes } => self.processes(id, processes, true).await,
            ActionKind::ResumeProcesses { processes } => self.processes(id, processes, false).await,
            ActionKind::TerminateAsgInstance { decrement, .. } => {
                self.terminate_in_group(id, *decrement).await
            }
            ActionKind::RemoveAvailabilityZone {
                availability_zone,
                remaining_subnet_ids,
                target_group_arns,
                instance_ids,
            } => {
                self.update_subnets(id, remaining_subnet_ids).await?;
                for tg in target_group_arns {
                    self.deregister(tg, instance_ids).await?;
                }
                for tg in target_group_arns {
                    self.wait_targets(tg, instance_ids, false).await?;
                }
                let capacity = self.wait_capacity(id).await?;
                Ok(format!(
                    "{availability_zone} is out of {id}: {} instance(s) deregistered, {capacity} \
                     in service",
                    instance_ids.len()
                ))
            }
            ActionKind::RestoreAvailabilityZone {
                availability_zone,
                subnet_ids,
                target_group_arns,
                instance_ids,
            } => {
                self.update_subnets(id, subnet_ids).await?;
                for tg in target_group_arns {
                    self.register(tg, instance_ids, None).await?;
                }
                for tg in target_group_arns {
                    self.wait_targets(tg, instance_ids, true).await?;
                }
                let capacity = self.wait_capacity(id).await?;
                Ok(format!(
                    "{availability_zone} is back in {id}: {} instance(s) registered, {capacity} \
                     in service",
                    instance_ids.len()
                ))
            }
            ActionKind::RegisterTargets { instance_ids, port } => {
                self.register(id, instance_ids, *port).await?;
                let states = self.wait_targets(id, instance_ids, true).await?;
                Ok(format!("registered with {label}: {states}"))
            }
            ActionKind::DeregisterTargets { instance_ids } => {
                self.deregister(id, instance_ids).await?;
                self.wait_targets(id, instance_ids, false).await?;
                Ok(format!(
                    "{} deregistered from {label}",
                    instance_ids.join(", ")
                ))
            }
            ActionKind::ModifyHealthCheck { change } => {
                self.modify_health_check(id, change).await?;
                Ok(format!("health check of {label} changed"))
            }
            ActionKind::SetListenerWeights { target_groups } => {
                self.listener_weights(id, target_groups).await?;
                Ok(format!("{label} now forwards by the new weights"))
            }
            ActionKind::CreateLaunchTemplateVersion {
                source_version,
                image_id,
                instance_type,
                description,
                set_default,
            } => {
                self.new_template_version(
                    id,
                    source_version,
                    image_id.as_deref(),
                    instance_type.as_deref(),
                    description.as_deref(),
                    *set_default,
                )
                .await
            }
            ActionKind::SetDefaultLaunchTemplateVersion { version } => {
                self.set_default_version(id, *version).await?;
                Ok(format!("version {version} is the default of {id}"))
            }
            ActionKind::StartInstanceRefresh {
                min_healthy_percentage,
                instance_warmup_seconds,
            } => {
                let client = self.ctx.autoscaling(self.region);
                let refresh = start_instance_refresh(
                    self,
                    &client,
                    id,
                    *min_healthy_percentage,
                    *instance_warmup_seconds,
                )
                .await?;
                self.outcome.resulting_ids.push(refresh.clone());
                follow_instance_refresh(self, &client, id, &refresh, false).await?;
                Ok(format!("instance refresh {refresh} of {id} finished"))
            }
            ActionKind::CancelInstanceRefresh => {
                let client = self.ctx.autoscaling(self.region);
                let refresh = cancel_instance_refresh(self, &client, id).await?;
                follow_instance_refresh(self, &client, id, &refresh, true).await?;
                Ok(format!("instance refresh {refresh} of {id} cancelled"))
            }
            ActionKind::CreateImage { name, no_reboot } => {
                self.create_image(id, name, *no_reboot).await
            }
            ActionKind::CreateSnapshot { description } => {
                self.create_snapshot(id, description.as_deref()).await
            }
            ActionKind::RebootDbInstance { force_failover } => {
                let client = self.ctx.rds(self.region);
                let out = client
                    .reboot_db_instance()
                    .db_instance_identifier(id)
                    .force_failover(*force_failover)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Rds, "RebootDBInstance", e))?;
                self.sent("RebootDBInstance", &out);
                self.wait_db(id, None).await?;
                Ok(format!("{id} rebooted and is available"))
            }
            ActionKind::FailoverDbCluster { target_instance } => {
                self.failover_cluster(id, target_instance.as_deref()).await
            }
            ActionKind::PromoteReadReplica => {
                let client = self.ctx.rds(self.region);
                let out = client
                    .promote_read_replica()
                    .db_instance_identifier(id)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Rds, "PromoteReadReplica", e))?;
                self.sent("PromoteReadReplica", &out);
                let db = self.wait_db(id, None).await?;
                Ok(match db.read_replica_source_db_instance_identifier() {
                    Some(source) => format!(
                        "{id} was promoted and is available (RDS still lists {source} as its \
                         source)"
                    ),
                    None => format!("{id} is a standalone DB instance"),
                })
            }
            ActionKind::CreateReadReplica {
                replica_identifier,
                availability_zone,
                instance_class,
            } => {
                let client = self.ctx.rds(self.region);
                let out = client
                    .create_db_instance_read_replica()
                    .db_instance_identifier(replica_identifier)
                    .source_db_instance_identifier(id)
                    .set_availability_zone(availability_zone.clone())
                    .set_db_instance_class(instance_class.clone())
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Rds, "CreateDBInstanceReadReplica", e))?;
                self.sent("CreateDBInstanceReadReplica", &out);
                self.outcome.resulting_ids.push(replica_identifier.clone());
                self.wait_db(replica_identifier, None).await?;
                Ok(format!(
                    "read replica {replica_identifier} of {id} is available"
                ))
            }
            ActionKind::CreateDbSnapshot {
                snapshot_identifier,
            } => self.create_db_snapshot(id, snapshot_identifier).await,
            ActionKind::ModifyDbInstanceClass {
                class,
                apply_immediately,
                ..
            } => {
                let client = self.ctx.rds(self.region);
                let out = client
                    .modify_db_instance()
                    .db_instance_identifier(id)
                    .db_instance_class(class)
                    .apply_immediately(*apply_immediately)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Rds, "ModifyDBInstance", e))?;
                self.sent("ModifyDBInstance", &out);
                if !apply_immediately {
                    return Ok(format!(
                        "{id} will change to {class} in its next maintenance window"
                    ));
                }
                self.wait_db(id, Some(class)).await?;
                Ok(format!("{id} is now {class} and available"))
            }
        }
    }

    async fn instance_state(&mut self, kind: &ActionKind, id: &str) -> Result<String, AwsError> {
        let client = self.ctx.ec2(self.region);
        let (operation, want) = match kind {
            ActionKind::StopInstance => ("StopInstances", "stopped"),
            ActionKind::StartInstance => ("StartInstances", "running"),
            ActionKind::RebootInstance => ("RebootInstances", "running"),
            _ => ("TerminateInstances", "terminated"),
        };
        match kind {
            ActionKind::StopInstance => {
                let out = client
                    .stop_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Ec2, operation, e))?;
                self.sent(operation, &out);
            }
            ActionKind::StartInstance => {
                let out = client
                    .start_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Ec2, operation, e))?;
                self.sent(operation, &out);
            }
            ActionKind::RebootInstance => {
                let out = client
                    .reboot_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Ec2, operation, e))?;
                self.sent(operation, &out);
            }
            _ => {
                let out = client
                    .terminate_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Ec2, operation, e))?;
                self.sent(operation, &out);
            }
        }
        self.wait_instance(&client, id, want).await?;
        Ok(format!("instance {id} is {want}"))
    }

    async fn wait_instance(
        &self,
        client: &ec2::Client,
        id: &str,
        want: &str,
    ) -> Result<(), AwsError> {
        let mut waiter = self.waiter(Service::Ec2, format!("instance {id} to be {want}"));
        loop {
            let out = client
                .describe_instances()
                .instance_ids(id)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, "DescribeInstances", e))?;
            let state = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find(|i| i.instance_id() == Some(id))
                .and_then(|i| i.state())
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(|| "unknown".into());
            let seen = if state == want {
                Seen::Done
            } else if state == "terminated" {
                Seen::Failed(state)
            } else {
                Seen::Waiting(state, None)
            };
            if waiter.seen(seen).await? {
                return Ok(());
            }
        }
    }

    async fn set_capacity(
        &mut self,
        group: &str,
        desired: Option<i32>,
        min: Option<i32>,
        max: Option<i32>,
    ) -> Result<(), AwsError> {
        let client = self.ctx.autoscaling(self.region);
        // Sizes Auto Scaling would refuse are refused here, with what to add, before anything
        // is sent (the same rule as the dashboard's dialog; emulators do not all enforce it).
        let operation = if min.is_none() && max.is_none() {
            "SetDesiredCapacity"
        } else {
            "UpdateAutoScalingGroup"
        };
        let now = self.capacity(group).await?;
        now.after(desired, min, max)
            .map_err(|refused| AwsError::Other {
                service: Service::AutoScaling,
                operation: operation.into(),
                detail: format!("not sent: {refused}"),
            })?;
        if let (Some(desired), None, None) = (desired, min, max) {
            let out = client
                .set_desired_capacity()
                .auto_scaling_group_name(group)
                .desired_capacity(desired)
                .honor_cooldown(false)
                .send()
                .await
                .map_err(|e| self.err(Service::AutoScaling, "SetDesiredCapacity", e))?;
            self.sent("SetDesiredCapacity", &out);
        } else {
            let out = client
                .update_auto_scaling_group()
                .auto_scaling_group_name(group)
                .set_min_size(min)
                .set_max_size(max)
                .set_desired_capacity(desired)
                .send()
                .await
                .map_err(|e| self.err(Service::AutoScaling, "UpdateAutoScalingGroup", e))?;
            self.sent("UpdateAutoScalingGroup", &out);
        }
        Ok(())
    }

    /// The group as Auto Scaling describes it now.
    async fn group(&self, group: &str) -> Result<autoscaling::types::AutoScalingGroup, AwsError> {
        let out = self
            .ctx
            .autoscaling(self.region)
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "DescribeAutoScalingGroups", e))?;
        out.auto_scaling_groups()
            .first()
            .cloned()
            .ok_or_else(|| AwsError::Other {
                service: Service::AutoScaling,
                operation: "DescribeAutoScalingGroups".into(),
                detail: format!("Auto Scaling group {group} does not exist"),
            })
    }

    /// The group's sizes now.
    async fn capacity(&self, group: &str) -> Result<Capacity, AwsError> {
        let found = self.group(group).await?;
        Ok(Capacity {
            min: found.min_size().unwrap_or_default(),
            max: found.max_size().unwrap_or_default(),
            desired: found.desired_capacity().unwrap_or_default(),
        })
    }

    /// Waits until the group has exactly its desired number of instances, all in service.
    async fn wait_capacity(&self, group: &str) -> Result<i32, AwsError> {
        let mut waiter = self.waiter(
            Service::AutoScaling,
            format!("{group} to reach its desired capacity"),
        );
        loop {
            let found = self.group(group).await?;
            let desired = found.desired_capacity().unwrap_or_default();
            let members = found.instances();
            let in_service = members
                .iter()
                .filter(|m| m.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
                .count();
            let seen = if in_service == members.len() && in_service == desired.max(0) as usize {
                Seen::Done
            } else {
                Seen::Waiting(
                    format!(
                        "{in_service} of {desired} in service, {} member(s)",
                        members.len()
                    ),
                    ratio(in_service, desired.max(0) as usize),
                )
            };
            if waiter.seen(seen).await? {
                return Ok(desired);
            }
        }
    }

    async fn processes(
        &mut self,
        group: &str,
        processes: &[String],
        suspend: bool,
    ) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let list = (!processes.is_empty()).then(|| processes.to_vec());
        if suspend {
            let out = client
                .suspend_processes()
                .auto_scaling_group_name(group)
                .set_scaling_processes(list)
                .send()
                .await
                .map_err(|e| self.err(Service::AutoScaling, "SuspendProcesses", e))?;
            self.sent("SuspendProcesses", &out);
        } else {
            let out = client
                .resume_processes()
                .auto_scaling_group_name(group)
                .set_scaling_processes(list)
                .send()
                .await
                .map_err(|e| self.err(Service::AutoScaling, "ResumeProcesses", e))?;
            self.sent("ResumeProcesses", &out);
        }
        let which = if processes.is_empty() {
            "all processes".to_string()
        } else {
            processes.join(", ")
        };
        Ok(format!(
            "{which} of {group} {}",
            if suspend { "suspended" } else { "resumed" }
        ))
    }

    async fn terminate_in_group(&mut self, id: &str, decrement: bool) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let operation = "TerminateInstanceInAutoScalingGroup";
        let out = client
            .terminate_instance_in_auto_scaling_group()
            .instance_id(id)
            .should_decrement_desired_capacity(decrement)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, operation, e))?;
        self.sent(operation, &out);
        let group = out
            .activity()
            .and_then(|a| a.auto_scaling_group_name())
            .map(str::to_string);
        let ec2 = self.ctx.ec2(self.region);
        self.wait_instance(&ec2, id, "terminated").await?;
        match group {
            Some(group) => {
                let capacity = self.wait_capacity(&group).await?;
                Ok(format!(
                    "instance {id} is terminated; {group} has {capacity} in service"
                ))
            }
            None => Ok(format!("instance {id} is terminated")),
        }
    }

    async fn update_subnets(&mut self, group: &str, subnets: &[String]) -> Result<(), AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let out = client
            .update_auto_scaling_group()
            .auto_scaling_group_name(group)
            .vpc_zone_identifier(subnets.join(","))
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "UpdateAutoScalingGroup", e))?;
        self.sent("UpdateAutoScalingGroup", &out);
        Ok(())
    }

    fn descriptions(ids: &[String], port: Option<i32>) -> Vec<elbv2::types::TargetDescription> {
        ids.iter()
            .map(|id| {
                elbv2::types::TargetDescription::builder()
                    .id(id)
                    .set_port(port)
                    .build()
            })
            .collect()
    }

    async fn register(
        &mut self,
        tg: &str,
        ids: &[String],
        port: Option<i32>,
    ) -> Result<(), AwsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let client = self.ctx.elbv2(self.region);
        let out = client
            .register_targets()
            .target_group_arn(tg)
            .set_targets(Some(Self::descriptions(ids, port)))
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "RegisterTargets", e))?;
        self.sent("RegisterTargets", &out);
        Ok(())
    }

    async fn deregister(&mut self, tg: &str, ids: &[String]) -> Result<(), AwsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let client = self.ctx.elbv2(self.region);
        let out = client
            .deregister_targets()
            .target_group_arn(tg)
            .set_targets(Some(Self::descriptions(ids, None)))
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "DeregisterTargets", e))?;
        self.sent("DeregisterTargets", &out);
        Ok(())
    }

    /// Waits until registered targets leave `initial` (`registered`), or deregistered ones
    /// finish draining. Returns the final states, e.g. "i-1 healthy, i-2 unhealthy".
    async fn wait_targets(
        &self,
        tg: &str,
        ids: &[String],
        registered: bool,
    ) -> Result<String, AwsError> {
        if ids.is_empty() {
            return Ok(String::new());
        }
        let client = self.ctx.elbv2(self.region);
        let what = if registered {
            format!("{} target(s) to pass their first health checks", ids.len())
        } else {
            format!("{} target(s) to finish draining", ids.len())
        };
        let mut waiter = self.waiter(Service::Elbv2, what);
        loop {
            let out = client
                .describe_target_health()
                .target_group_arn(tg)
                .set_targets(Some(Self::descriptions(ids, None)))
                .send()
                .await
                .map_err(|e| self.err(Service::Elbv2, "DescribeTargetHealth", e))?;
            let states: Vec<(String, String)> = out
                .target_health_descriptions()
                .iter()
                .map(|d| {
                    let id = d
                        .target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string();
                    let state = d
                        .target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "unknown".into());
                    (id, state)
                })
                .collect();
            let pending = states
                .iter()
                .filter(|(_, state)| {
                    if registered {
                        state == "initial"
                    } else {
                        // Deregistered targets read `unused` (not registered) once drained.
                        state != "unused"
                    }
                })
                .count();
            let summary = states
                .iter()
                .map(|(id, state)| format!("{id} {state}"))
                .collect::<Vec<_>>()
                .join(", ");
            let seen = if pending == 0 {
                Seen::Done
            } else {
                Seen::Waiting(summary.clone(), ratio(ids.len() - pending, ids.len()))
            };
            if waiter.seen(seen).await? {
                return Ok(summary);
            }
        }
    }

    async fn modify_health_check(
        &mut self,
        tg: &str,
        change: &HealthCheckChange,
    ) -> Result<(), AwsError> {
        let client = self.ctx.elbv2(self.region);
        let matcher = change
            .matcher
            .as_ref()
            .map(|codes| elbv2::types::Matcher::builder().http_code(codes).build());
        let out = client
            .modify_target_group()
            .target_group_arn(tg)
            .set_health_check_path(change.path.clone())
            .set_health_check_interval_seconds(change.interval_seconds)
            .set_health_check_timeout_seconds(change.timeout_seconds)
            .set_healthy_threshold_count(change.healthy_threshold)
            .set_unhealthy_threshold_count(change.unhealthy_threshold)
            .set_matcher(matcher)
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "ModifyTargetGroup", e))?;
        self.sent("ModifyTargetGroup", &out);
        Ok(())
    }

    async fn listener_weights(
        &mut self,
        listener: &str,
        groups: &[WeightedForward],
    ) -> Result<(), AwsError> {
        use elbv2::types::{ActionTypeEnum, ForwardActionConfig, TargetGroupTuple};
        let client = self.ctx.elbv2(self.region);
        let tuples = groups
            .iter()
            .map(|g| {
                TargetGroupTuple::builder()
                    .target_group_arn(&g.target_group_arn)
                    .weight(g.weight)
                    .build()
            })
            .collect();
        let forward = elbv2::types::Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(tuples))
                    .build(),
            )
            .build();
        let out = client
            .modify_listener()
            .listener_arn(listener)
            .default_actions(forward)
            .send()
            .await
            .map_err(|e| self.err(Service::Elbv2, "ModifyListener", e))?;
        self.sent("ModifyListener", &out);
        Ok(())
    }

    async fn new_template_version(
        &mut self,
        template: &str,
        source_version: &str,
        image_id: Option<&str>,
        instance_type: Option<&str>,
        description: Option<&str>,
        set_default: bool,
    ) -> Result<String, AwsError> {
        let client = self.ctx.ec2(self.region);
        let by_id = template.starts_with("lt-");
        let describe = client
            .describe_launch_template_versions()
            .versions(source_version);
        let describe = if by_id {
            describe.launch_template_id(template)
        } else {
            describe.launch_template_name(template)
        };
        let out = describe
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "DescribeLaunchTemplateVersions", e))?;
        let source = out
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .ok_or_else(|| {
                Self::missing(
                    Service::Ec2,
                    "DescribeLaunchTemplateVersions",
                    &format!("version {source_version} of {template}"),
                )
            })?;
        let mut data = copy_template_data(source);
        if let Some(image) = image_id {
            data.image_id = Some(image.to_string());
        }
        if let Some(kind) = instance_type {
            data.instance_type = Some(kind.into());
        }
        let create = client
            .create_launch_template_version()
            .launch_template_data(data)
            .set_version_description(description.map(str::to_string));
        let create = if by_id {
            create.launch_template_id(template)
        } else {
            create.launch_template_name(template)
        };
        let out = create
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "CreateLaunchTemplateVersion", e))?;
        self.sent("CreateLaunchTemplateVersion", &out);
        let created = out.launch_template_version();
        let version = created.and_then(|v| v.version_number()).ok_or_else(|| {
            Self::missing(
                Service::Ec2,
                "CreateLaunchTemplateVersion",
                "version number",
            )
        })?;
        let template_id = created
            .and_then(|v| v.launch_template_id())
            .unwrap_or(template)
            .to_string();
        self.outcome
            .resulting_ids
            .push(format!("{template_id}:{version}"));
        if set_default {
            self.set_default_version(&template_id, version).await?;
            return Ok(format!(
                "version {version} of {template} created from version {source_version} and made \
                 the default"
            ));
        }
        Ok(format!(
            "version {version} of {template} created from version {source_version}"
        ))
    }

    async fn set_default_version(&mut self, template: &str, version: i64) -> Result<(), AwsError> {
        let client = self.ctx.ec2(self.region);
        let modify = client
            .modify_launch_template()
            .default_version(version.to_string());
        let modify = if template.starts_with("lt-") {
            modify.launch_template_id(template)
        } else {
            modify.launch_template_name(template)
        };
        let out = modify
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "ModifyLaunchTemplate", e))?;
        self.sent("ModifyLaunchTemplate", &out);
        Ok(())
    }

    async fn create_image(
        &mut self,
        instance: &str,
        name: &str,
        no_reboot: bool,
    ) -> Result<String, AwsError> {
        let client = self.ctx.ec2(self.region);
        let out = client
            .create_image()
            .instance_id(instance)
            .name(name)
            .no_reboot(no_reboot)
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "CreateImage", e))?;
        self.sent("CreateImage", &out);
        let image = out
            .image_id()
            .ok_or_else(|| Self::missing(Service::Ec2, "CreateImage", "image id"))?
            .to_string();
        self.outcome.resulting_ids.push(image.clone());
        let mut waiter = self.waiter(Service::Ec2, format!("AMI {image} to be available"));
        loop {
            let out = client
                .describe_images()
                .image_ids(&image)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, "DescribeImages", e))?;
            let state = out
                .images()
                .first()
                .and_then(|i| i.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "pending".into());
            let seen = match state.as_str() {
                "available" => Seen::Done,
                "pending" => Seen::Waiting(state, None),
                _ => Seen::Failed(state),
            };
            if waiter.seen(seen).await? {
                return Ok(format!("AMI {image} of {instance} is available"));
            }
        }
    }

    async fn create_snapshot(
        &mut self,
        volume: &str,
        description: Option<&str>,
    ) -> Result<String, AwsError> {
        let client = self.ctx.ec2(self.region);
        let out = client
            .create_snapshot()
            .volume_id(volume)
            .set_description(description.map(str::to_string))
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "CreateSnapshot", e))?;
        self.sent("CreateSnapshot", &out);
        let snapshot = out
            .snapshot_id()
            .ok_or_else(|| Self::missing(Service::Ec2, "CreateSnapshot", "snapshot id"))?
            .to_string();
        self.outcome.resulting_ids.push(snapshot.clone());
        let mut waiter = self.waiter(Service::Ec2, format!("snapshot {snapshot} to be completed"));
        loop {
            let out = client
                .describe_snapshots()
                .snapshot_ids(&snapshot)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, "DescribeSnapshots", e))?;
            let found = out.snapshots().first();
            let state = found
                .and_then(|s| s.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "pending".into());
            let fraction = found
                .and_then(|s| s.progress())
                .and_then(|p| p.trim_end_matches('%').parse::<f32>().ok())
                .map(|p| p / 100.0);
            let seen = match state.as_str() {
                "completed" => Seen::Done,
                "pending" => Seen::Waiting(state, fraction),
                _ => Seen::Failed(state),
            };
            if waiter.seen(seen).await? {
                return Ok(format!("snapshot {snapshot} of {volume} is completed"));
            }
        }
    }

    /// Waits until a DB instance is `available` (and of `class`, when given).
    async fn wait_db(
        &self,
        id: &str,
        class: Option<&str>,
    ) -> Result<rds::types::DbInstance, AwsError> {
        let client = self.ctx.rds(self.region);
        let mut waiter = self.waiter(Service::Rds, format!("DB instance {id} to be available"));
        loop {
            let out = client
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, "DescribeDBInstances", e))?;
            let db = out.db_instances().first().cloned();
            let status = db
                .as_ref()
                .and_then(|d| d.db_instance_status())
                .unwrap_or("creating")
                .to_string();
            let class_reached =
                class.is_none_or(|c| db.as_ref().and_then(|d| d.db_instance_class()) == Some(c));
            let seen = match status.as_str() {
                "available" if class_reached => Seen::Done,
                "failed"
                | "incompatible-parameters"
                | "incompatible-restore"
                | "storage-full"
                | "inaccessible-encryption-credentials" => Seen::Failed(status),
                _ => Seen::Waiting(status, None),
            };
            if waiter.seen(seen).await? {
                return db.ok_or_else(|| {
                    Self::missing(Service::Rds, "DescribeDBInstances", "DB instance")
                });
            }
        }
    }

    async fn failover_cluster(
        &mut self,
        cluster: &str,
        reader: Option<&str>,
    ) -> Result<String, AwsError> {
        let client = self.ctx.rds(self.region);
        let out = client
            .failover_db_cluster()
            .db_cluster_identifier(cluster)
            .set_target_db_instance_identifier(reader.map(str::to_string))
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "FailoverDBCluster", e))?;
        self.sent("FailoverDBCluster", &out);
        let what = match reader {
            Some(reader) => format!("{reader} to be the writer of {cluster}"),
            None => format!("DB cluster {cluster} to be available"),
        };
        let mut waiter = self.waiter(Service::Rds, what);
        loop {
            let out = client
                .describe_db_clusters()
                .db_cluster_identifier(cluster)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, "DescribeDBClusters", e))?;
            let found = out.db_clusters().first();
            let status = found
                .and_then(|c| c.status())
                .unwrap_or("unknown")
                .to_string();
            let writer = found
                .map(|c| c.db_cluster_members())
                .unwrap_or_default()
                .iter()
                .find(|m| m.is_cluster_writer() == Some(true))
                .and_then(|m| m.db_instance_identifier())
                .map(str::to_string);
            let on_target = reader.is_none_or(|r| writer.as_deref() == Some(r));
            let seen = if status == "available" && on_target {
                Seen::Done
            } else {
                Seen::Waiting(
                    format!(
                        "{status}, writer {}",
                        writer.as_deref().unwrap_or("unknown")
                    ),
                    None,
                )
            };
            if waiter.seen(seen).await? {
                return Ok(format!(
                    "{cluster} failed over; the writer is {}",
                    writer.as_deref().unwrap_or("unknown")
                ));
            }
        }
    }

    async fn create_db_snapshot(&mut self, db: &str, snapshot: &str) -> Result<String, AwsError> {
        let client = self.ctx.rds(self.region);
        let out = client
            .create_db_snapshot()
            .db_instance_identifier(db)
            .db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "CreateDBSnapshot", e))?;
        self.sent("CreateDBSnapshot", &out);
        self.outcome.resulting_ids.push(snapshot.to_string());
        let mut waiter = self.waiter(
            Service::Rds,
            format!("DB snapshot {snapshot} to be available"),
        );
        loop {
            let out = client
                .describe_db_snapshots()
                .db_snapshot_identifier(snapshot)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, "DescribeDBSnapshots", e))?;
            let found = out.db_snapshots().first();
            let status = found
                .and_then(|s| s.status())
                .unwrap_or("creating")
                .to_string();
            let fraction = found
                .and_then(|s| s.percent_progress())
                .map(|p| p as f32 / 100.0);
            let seen = match status.as_str() {
                "available" => Seen::Done,
                "failed" | "error" => Seen::Failed(status),
                _ => Seen::Waiting(status, fraction),
            };
            if waiter.seen(seen).await? {
                return Ok(format!("DB snapshot {snapshot} of {db} is available"));
            }
        }
    }
}

/// Starts an instance refresh and returns its id. Takes the client so that its request shape
/// can be tested with a mocked client (moto does not implement instance refresh).
async fn start_instance_refresh(
    run: &mut Run<'_>,
    client: &autoscaling::Client,
    group: &str,
    min_healthy_percentage: Option<i32>,
    instance_warmup_seconds: Option<i32>,
) -> Result<String, AwsError> {
    let preferences =
        (min_healthy_percentage.is_some() || instance_warmup_seconds.is_some()).then(|| {
            autoscaling::types::RefreshPreferences::builder()
                .set_min_healthy_percentage(min_healthy_percentage)
                .set_instance_warmup(instance_warmup_seconds)
                .build()
        });
    let out = client
        .start_instance_refresh()
        .auto_scaling_group_name(group)
        .set_preferences(preferences)
        .send()
        .await
        .map_err(|e| run.err(Service::AutoScaling, "StartInstanceRefresh", e))?;
    run.sent("StartInstanceRefresh", &out);
    out.instance_refresh_id()
        .map(str::to_string)
        .ok_or_else(|| {
            Run::missing(
                Service::AutoScaling,
                "StartInstanceRefresh",
                "instance refresh id",
            )
        })
}

async fn cancel_instance_refresh(
    run: &mut Run<'_>,
    client: &autoscaling::Client,
    group: &str,
) -> Result<String, AwsError> {
    let out = client
        .cancel_instance_refresh()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| run.err(Service::AutoScaling, "CancelInstanceRefresh", e))?;
    run.sent("CancelInstanceRefresh", &out);
    out.instance_refresh_id()
        .map(str::to_string)
        .ok_or_else(|| {
            Run::missing(
                Service::AutoScaling,
                "CancelInstanceRefresh",
                "instance refresh id",
            )
        })
}

/// Polls an instance refresh until it succeeds (or, when `cancelling`, until it is cancelled).
async fn follow_instance_refresh(
    run: &Run<'_>,
    client: &autoscaling::Client,
    group: &str,
    refresh: &str,
    cancelling: bool,
) -> Result<(), AwsError> {
    let want = if cancelling {
        "Cancelled"
    } else {
        "Successful"
    };
    let mut waiter = run.waiter(
        Service::AutoScaling,
        format!("instance refresh {refresh} of {group} to be {want}"),
    );
    loop {
        let out = client
            .describe_instance_refreshes()
            .auto_scaling_group_name(group)
            .instance_refresh_ids(refresh)
            .send()
            .await
            .map_err(|e| run.err(Service::AutoScaling, "DescribeInstanceRefreshes", e))?;
        let found = out.instance_refreshes().first();
        let status = found
            .and_then(|r| r.status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Pending".into());
        let fraction = found
            .and_then(|r| r.percentage_complete())
            .map(|p| p as f32 / 100.0);
        let reason = found
            .and_then(|r| r.status_reason())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let seen = match status.as_str() {
            s if s == want => Seen::Done,
            "Pending" | "InProgress" | "Cancelling" | "Baking" | "RollbackInProgress" => {
                Seen::Waiting(format!("{status}{reason}"), fraction)
            }
            // Cancelling a refresh that ended by itself is not an error.
            "Successful" | "Failed" if cancelling => Seen::Done,
            _ => Seen::Failed(format!("{status}{reason}")),
        };
        if waiter.seen(seen).await? {
            return Ok(());
        }
    }
}

/// Every setting of a launch template version as request data, so that the new version does not
/// depend on the API inheriting from a source version (moto does not).
fn copy_template_data(
    source: &ec2::types::ResponseLaunchTemplateData,
) -> ec2::types::RequestLaunchTemplateData {
    use ec2::types::{
        CreditSpecificationRequest, LaunchTemplateBlockDeviceMappingRequest,
        LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateIamInstanceProfileSpecificationRequest,
        LaunchTemplateInstanceMetadataOptionsRequest,
        LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, LaunchTemplatePlacementRequest,
        LaunchTemplateTagSpecificationRequest, LaunchTemplatesMonitoringRequest,
        RequestLaunchTemplateData,
    };
    let profile = source.iam_instance_profile().map(|p| {
        LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
            .set_arn(p.arn().map(str::to_string))
            .set_name(p.name().map(str::to_string))
            .build()
    });
    let metadata = source.metadata_options().map(|m| {
        LaunchTemplateInstanceMetadataOptionsRequest::builder()
            .set_http_tokens(m.http_tokens().cloned())
            .set_http_put_response_hop_limit(m.http_put_response_hop_limit())
            .set_http_endpoint(m.http_endpoint().cloned())
            .set_http_protocol_ipv6(m.http_protocol_ipv6().cloned())
            .set_instance_metadata_tags(m.instance_metadata_tags().cloned())
            .build()
    });
    let block_devices: Vec<_> = source
        .block_device_mappings()
        .iter()
        .map(|b| {
            let ebs = b.ebs().map(|e| {
                LaunchTemplateEbsBlockDeviceRequest::builder()
                    .set_encrypted(e.encrypted())
                    .set_delete_on_termination(e.delete_on_termination())
                    .set_iops(e.iops())
                    .set_kms_key_id(e.kms_key_id().map(str::to_string))
                    .set_snapshot_id(e.snapshot_id().map(str::to_string))
                    .set_volume_size(e.volume_size())
                    .set_volume_type(e.volume_type().cloned())
                    .set_throughput(e.throughput())
                    .build()
            });
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .set_device_name(b.device_name().map(str::to_string))
                .set_virtual_name(b.virtual_name().map(str::to_string))
                .set_no_device(b.no_device().map(str::to_string))
                .set_ebs(ebs)
                .build()
        })
        .collect();
    let interfaces: Vec<_> = source
        .network_interfaces()
        .iter()
        .map(|n| {
            LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                .set_device_index(n.device_index())
                .set_subnet_id(n.subnet_id().map(str::to_string))
                .set_groups(Some(n.groups().to_vec()))
                .set_associate_public_ip_address(n.associate_public_ip_address())
                .set_delete_on_termination(n.delete_on_termination())
                .set_description(n.description().map(str::to_string))
                .set_network_interface_id(n.network_interface_id().map(str::to_string))
                .build()
        })
        .collect();
    let tags: Vec<_> = source
        .tag_specifications()
        .iter()
        .map(|t| {
            LaunchTemplateTagSpecificationRequest::builder()
                .set_resource_type(t.resource_type().cloned())
                .set_tags(Some(t.tags().to_vec()))
                .build()
        })
        .collect();
    let placement = source.placement().map(|p| {
        LaunchTemplatePlacementRequest::builder()
            .set_availability_zone(p.availability_zone().map(str::to_string))
            .set_group_name(p.group_name().map(str::to_string))
            .set_tenancy(p.tenancy().cloned())
            .build()
    });
    let credits = source.credit_specification().and_then(|c| {
        c.cpu_credits().map(|credits| {
            CreditSpecificationRequest::builder()
                .cpu_credits(credits)
                .build()
        })
    });
    let non_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
    RequestLaunchTemplateData::builder()
        .set_image_id(source.image_id().map(str::to_string))
        .set_instance_type(source.instance_type().cloned())
        .set_key_name(source.key_name().map(str::to_string))
        .set_iam_instance_profile(profile)
        .set_security_group_ids(non_empty(source.security_group_ids().to_vec()))
        .set_security_groups(non_empty(source.security_groups().to_vec()))
        .set_user_data(source.user_data().map(str::to_string))
        .set_metadata_options(metadata)
        .set_block_device_mappings((!block_devices.is_empty()).then_some(block_devices))
        .set_network_interfaces((!interfaces.is_empty()).then_some(interfaces))
        .set_tag_specifications((!tags.is_empty()).then_some(tags))
        .set_monitoring(source.monitoring().map(|m| {
            LaunchTemplatesMonitoringRequest::builder()
                .set_enabled(m.enabled())
                .build()
        }))
        .set_ebs_optimized(source.ebs_optimized())
        .set_disable_api_termination(source.disable_api_termination())
        .set_instance_initiated_shutdown_behavior(
            source.instance_initiated_shutdown_behavior().cloned(),
        )
        .set_placement(placement)
        .set_credit_specification(credits)
        .set_kernel_id(source.kernel_id().map(str::to_string))
        .set_ram_disk_id(source.ram_disk_id().map(str::to_string))
        .build()
}

#[cfg(test)]
mod tests {
    //! Instance refresh is not implemented by moto, so its request shape and its following are
    //! tested against a mocked Auto Scaling client.

    use std::sync::Mutex;

    use aws_sdk_autoscaling::Client;
    use aws_sdk_autoscaling::operation::cancel_instance_refresh::CancelInstanceRefreshOutput;
    use aws_sdk_autoscaling::operation::describe_instance_refreshes::DescribeInstanceRefreshesOutput;
    use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
    use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn refresh(status: InstanceRefreshStatus, percent: i32) -> DescribeInstanceRefreshesOutput {
        DescribeInstanceRefreshesOutput::builder()
            .instance_refreshes(
                InstanceRefresh::builder()
                    .instance_refresh_id("refresh-1")
                    .auto_scaling_group_name("lab-asg")
                    .status(status)
                    .percentage_complete(percent)
                    .build(),
            )
            .build()
    }

    fn quick(max_wait: Duration) -> ExecuteOptions {
        ExecuteOptions {
            read_only: false,
            max_wait,
            first_poll: Duration::from_millis(5),
            max_poll: Duration::from_millis(20),
        }
    }

    fn context() -> AwsContext {
        AwsContext::from_sdk_config(aws_config::SdkConfig::builder().build())
    }

    #[tokio::test]
    async fn start_instance_refresh_sends_the_preferences_and_follows_it_to_success() {
        let start = mock!(Client::start_instance_refresh)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("lab-asg")
                    && r.preferences().and_then(|p| p.min_healthy_percentage()) == Some(90)
                    && r.preferences().and_then(|p| p.instance_warmup()) == Some(60)
            })
            .then_output(|| {
                StartInstanceRefreshOutput::builder()
                    .instance_refresh_id("refresh-1")
                    .build()
            });
        let describe = mock!(Client::describe_instance_refreshes)
            .match_requests(|r| r.instance_refresh_ids() == ["refresh-1"])
            .sequence()
            .output(|| refresh(InstanceRefreshStatus::InProgress, 50))
            .output(|| refresh(InstanceRefreshStatus::Successful, 100))
            .build();
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&start, &describe]);
        let ctx = context();
        let options = quick(Duration::from_secs(5));
        let events = Mutex::new(Vec::new());
        let sink = |p: Progress| events.lock().expect("lock").push(p);
        let mut run = Run {
            ctx: &ctx,
            region: "ap-northeast-2",
            options: &options,
            progress: &sink,
            outcome: Outcome::default(),
        };
        let id = start_instance_refresh(&mut run, &client, "lab-asg", Some(90), Some(60))
            .await
            .expect("started");
        assert_eq!(id, "refresh-1");
        follow_instance_refresh(&run, &client, "lab-asg", &id, false)
            .await
            .expect("followed");
        assert_eq!(start.num_calls(), 1);
        assert_eq!(describe.num_calls(), 2);
        let events = events.lock().expect("lock");
        assert!(
            events
                .iter()
                .any(|p| p.message == "InProgress" && p.fraction == Some(0.5)),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn a_refresh_that_never_ends_times_out_naming_what_was_awaited() {
        let cancel = mock!(Client::cancel_instance_refresh)
            .match_requests(|r| r.auto_scaling_group_name() == Some("lab-asg"))
            .then_output(|| {
                CancelInstanceRefreshOutput::builder()
                    .instance_refresh_id("refresh-1")
                    .build()
            });
        let describe = mock!(Client::describe_instance_refreshes)
            .then_output(|| refresh(InstanceRefreshStatus::Cancelling, 40));
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&cancel, &describe]
        );
        let ctx = context();
        let options = quick(Duration::from_millis(60));
        let sink = |_: Progress| {};
        let mut run = Run {
            ctx: &ctx,
            region: "ap-northeast-2",
            options: &options,
            progress: &sink,
            outcome: Outcome::default(),
        };
        let id = cancel_instance_refresh(&mut run, &client, "lab-asg")
            .await
            .expect("cancel accepted");
        let error = follow_instance_refresh(&run, &client, "lab-asg", &id, true)
            .await
            .expect_err("never cancelled");
        assert!(matches!(error, AwsError::WaitTimedOut { .. }), "{error:?}");
        let text = error.to_string();
        assert!(
            text.contains("instance refresh refresh-1 of lab-asg to be Cancelled")
                && text.contains("last seen: Cancelling"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_failed_refresh_is_an_error_with_its_status() {
        let describe = mock!(Client::describe_instance_refreshes)
            .then_output(|| refresh(InstanceRefreshStatus::Failed, 10));
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&describe]);
        let ctx = context();
        let options = quick(Duration::from_secs(5));
        let sink = |_: Progress| {};
        let run = Run {
            ctx: &ctx,
            region: "ap-northeast-2",
            options: &options,
            progress: &sink,
            outcome: Outcome::default(),
        };
        let error = follow_instance_refresh(&run, &client, "lab-asg", "refresh-1", false)
            .await
            .expect_err("failed");
        assert!(error.to_string().contains("failed: Failed"), "{error}");
    }
}
