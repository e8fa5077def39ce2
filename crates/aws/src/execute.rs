//! Runs an [`Action`]: the SDK call(s) it stands for, then bounded polling with backoff of the
//! matching describe call until the resource reaches its end state, with progress events.
//!
//! `--read-only` is enforced here too: a mutating action is refused before any call is made.

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling as autoscaling;
use aws_sdk_ec2 as ec2;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_sdk_rds as rds;
use haven_model::Service;
use haven_model::action::{
    AcceptedCall, Action, ActionKind, COPIED_TAGS, Capacity, HealthCheckChange, Outcome, Progress,
    WeightedForward,
};
use haven_model::wait::{DbChange, InstanceChange, Typical, Verdict};

use crate::context::AwsContext;
use crate::error::AwsError;
use crate::poll::Poller;

pub use crate::options::ExecuteOptions;

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
    let mut run = Run::new(ctx, &action.region, options, progress);
    // Boxed: the state machine of every action's calls and waits is large, and a caller's
    // stack (a test thread's 2 MiB) should not have to hold it.
    let message = Box::pin(run.dispatch(action)).await?;
    run.outcome.message = message.clone();
    (run.progress)(Progress::new("done", message, Some(1.0)));
    Ok(run.outcome)
}

/// Starts the instance refresh of an `asg-start-refresh` action and returns as soon as AWS has
/// accepted it, without following it: a deploy watches its own gates meanwhile.
pub async fn start_instance_refresh_only(
    ctx: &AwsContext,
    action: &Action,
    options: &ExecuteOptions,
    progress: ProgressSink<'_>,
) -> Result<Outcome, AwsError> {
    let ActionKind::StartInstanceRefresh {
        min_healthy_percentage,
        instance_warmup_seconds,
        version,
    } = &action.kind
    else {
        return execute(ctx, action, options, progress).await;
    };
    if options.read_only {
        return Err(AwsError::ReadOnly {
            action: lowercase_first(&action.sentence()),
        });
    }
    let mut run = Run::new(ctx, &action.region, options, progress);
    let preferences = RefreshPreferences {
        min_healthy_percentage: *min_healthy_percentage,
        instance_warmup_seconds: *instance_warmup_seconds,
    };
    let group = action.target.id.as_str();
    let (refresh, desired) =
        Box::pin(run.start_refresh(group, version.as_deref(), &preferences)).await?;
    run.outcome.message = format!(
        "instance refresh {refresh} of {group} to version {} started",
        desired.version
    );
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
pub(crate) struct Run<'a> {
    pub(crate) ctx: &'a AwsContext,
    pub(crate) region: &'a str,
    pub(crate) options: &'a ExecuteOptions,
    pub(crate) progress: ProgressSink<'a>,
    pub(crate) outcome: Outcome,
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

impl From<Verdict> for Seen {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Done => Seen::Done,
            Verdict::Waiting(status) => Seen::Waiting(status, None),
            Verdict::Failed(status) => Seen::Failed(status),
        }
    }
}

/// One wait of an action: the shared [`Poller`], reporting each poll as a progress event.
struct Waiter<'a> {
    poller: Poller<'a>,
    progress: ProgressSink<'a>,
}

impl Waiter<'_> {
    /// Reports the status (with the time waited and the typical duration), then sleeps before
    /// the next poll, or gives up when the time is over.
    async fn pause(&mut self, status: &str, fraction: Option<f32>) -> Result<(), AwsError> {
        (self.progress)(Progress::new(
            format!("waiting for {}", self.poller.what()),
            self.poller.status(status),
            fraction,
        ));
        self.poller.pause(status).await
    }

    /// Turns one poll's result into "stop", "keep waiting" or an error.
    async fn seen(&mut self, seen: Seen) -> Result<bool, AwsError> {
        match seen {
            Seen::Done => Ok(true),
            Seen::Waiting(status, fraction) => self.pause(&status, fraction).await.map(|()| false),
            Seen::Failed(status) => Err(AwsError::Other {
                service: self.poller.service(),
                operation: String::new(),
                detail: format!("{} failed: {status}", self.poller.what()),
            }),
        }
    }

    fn elapsed(&self) -> Duration {
        self.poller.elapsed()
    }
}

fn ratio(done: usize, total: usize) -> Option<f32> {
    (total > 0).then(|| (done as f32 / total as f32).min(1.0))
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        ctx: &'a AwsContext,
        region: &'a str,
        options: &'a ExecuteOptions,
        progress: ProgressSink<'a>,
    ) -> Self {
        Run {
            ctx,
            region,
            options,
            progress,
            outcome: Outcome::default(),
        }
    }

    pub(crate) fn err<E>(
        &self,
        service: Service,
        operation: &str,
        error: SdkError<E, aws_sdk_ec2::config::http::HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        AwsError::from_sdk(
            service,
            operation,
            &self.ctx.endpoint_label(self.region),
            error,
        )
    }

    /// Records a call that AWS accepted, and reports it at once: from here on AWS carries the
    /// change out whatever happens to haven (the action log's `sent` line).
    pub(crate) fn sent(&mut self, operation: &str, output: &impl RequestId) {
        let id = output.request_id().map(str::to_string);
        let message = match &id {
            Some(id) => format!("accepted (request id {id})"),
            None => "accepted".to_string(),
        };
        self.outcome.request_ids.extend(id.clone());
        (self.progress)(Progress {
            accepted: Some(AcceptedCall {
                operation: operation.to_string(),
                request_id: id,
            }),
            ..Progress::new(operation, message, None)
        });
    }

    /// Reports a step that is not a wait (a lookup's result, a choice made).
    fn note(&self, step: &str, message: String) {
        (self.progress)(Progress::new(step, message, None));
    }

    fn waiter(&self, service: Service, what: String, typical: Typical) -> Waiter<'a> {
        Waiter {
            poller: Poller::new(self.options, service, what, Some(typical)),
            progress: self.progress,
        }
    }

    /// Starts an instance refresh of `group` to `version` (or follows the one already running,
    /// when a run is repeated) and returns its id and the version it goes to.
    async fn start_refresh(
        &mut self,
        group: &str,
        version: Option<&str>,
        preferences: &RefreshPreferences,
    ) -> Result<(String, DesiredVersion), AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let desired = self.refresh_version(&client, group, version).await?;
        let refresh =
            match start_instance_refresh(self, &client, group, &desired, preferences).await {
                Ok(refresh) => refresh,
                // Running the command again follows the refresh it started.
                Err(AwsError::Service { code, .. }) if code == "InstanceRefreshInProgress" => {
                    let running = running_refresh(self, &client, group).await?;
                    self.note(
                        "StartInstanceRefresh",
                        format!(
                            "instance refresh {running} is already running: following it instead \
                         of starting another"
                        ),
                    );
                    running
                }
                Err(error) => return Err(error),
            };
        self.outcome.resulting_ids.push(refresh.clone());
        Ok((refresh, desired))
    }

    async fn dispatch(&mut self, action: &Action) -> Result<String, AwsError> {
        let id = action.target.id.as_str();
        let label = action.target.label();
        match &action.kind {
            ActionKind::StopInstance { .. }
            | ActionKind::StartInstance
            | ActionKind::RebootInstance
            | ActionKind::TerminateInstance => self.instance_state(&action.kind, id).await,
            ActionKind::SetCapacity {
                desired, min, max, ..
            } => {
                let since = SystemTime::now();
                self.set_capacity(id, *desired, *min, *max).await?;
                let client = self.ctx.autoscaling(self.region);
                let capacity = self.wait_capacity(&client, id, since, &[]).await?;
                Ok(format!("{id} has {capacity} instance(s) in service"))
            }
            ActionKind::EnterStandby {
                group,
                keep_capacity,
            } => {
                self.enter_standby(id, group.as_deref(), *keep_capacity)
                    .await
            }
            ActionKind::ExitStandby { group } => self.exit_standby(id, group.as_deref()).await,
            ActionKind::SuspendProcesses { processes } => self.processes(id, processes, true).await,
            ActionKind::ResumeProcesses { processes } => self.processes(id, processes, false).await,
            ActionKind::TerminateAsgInstance { decrement, .. } => {
                self.terminate_in_group(id, *decrement).await
            }
            ActionKind::RemoveAvailabilityZone {
                availability_zone,
                keep_instances,
                remaining_subnet_ids,
                target_group_arns,
                instance_ids,
            } => {
                if *keep_instances {
                    self.processes(id, &[AZ_REBALANCE.to_string()], true)
                        .await?;
                }
                let since = SystemTime::now();
                self.update_subnets(id, remaining_subnet_ids).await?;
                for tg in target_group_arns {
                    self.deregister(tg, instance_ids).await?;
                }
                for tg in target_group_arns {
                    self.wait_targets(tg, instance_ids, false).await?;
                }
                // Without AZRebalance suspended, Auto Scaling replaces the AZ's instances in the
                // other AZs (launching first): the drill ends when they have left the group.
                let leaving: &[String] = if *keep_instances { &[] } else { instance_ids };
                let client = self.ctx.autoscaling(self.region);
                let capacity = self.wait_capacity(&client, id, since, leaving).await?;
                if *keep_instances {
                    Ok(format!(
                        "{availability_zone} is out of {id}: {} instance(s) deregistered and \
                         still running, {capacity} in service",
                        instance_ids.len()
                    ))
                } else {
                    Ok(format!(
                        "{availability_zone} is out of {id}: its {} instance(s) were replaced in \
                         the other AZs, {capacity} in service",
                        instance_ids.len()
                    ))
                }
            }
            ActionKind::RestoreAvailabilityZone {
                availability_zone,
                resume_az_rebalance,
                subnet_ids,
                target_group_arns,
                instance_ids,
            } => {
                let since = SystemTime::now();
                self.update_subnets(id, subnet_ids).await?;
                for tg in target_group_arns {
                    self.register(tg, instance_ids, None).await?;
                }
                for tg in target_group_arns {
                    self.wait_targets(tg, instance_ids, true).await?;
                }
                if *resume_az_rebalance {
                    self.processes(id, &[AZ_REBALANCE.to_string()], false)
                        .await?;
                }
                let client = self.ctx.autoscaling(self.region);
                let capacity = self.wait_capacity(&client, id, since, &[]).await?;
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
                version,
            } => {
                let preferences = RefreshPreferences {
                    min_healthy_percentage: *min_healthy_percentage,
                    instance_warmup_seconds: *instance_warmup_seconds,
                };
                let (refresh, desired) = self
                    .start_refresh(id, version.as_deref(), &preferences)
                    .await?;
                let client = self.ctx.autoscaling(self.region);
                follow_instance_refresh(self, &client, id, &refresh, false).await?;
                Ok(format!(
                    "instance refresh {refresh} of {id} finished: its instances run version {} \
                     of {}, and the group now launches that version",
                    desired.version, desired.template_id
                ))
            }
            ActionKind::CancelInstanceRefresh => {
                let client = self.ctx.autoscaling(self.region);
                let refresh = match cancel_instance_refresh(self, &client, id).await {
                    Ok(refresh) => refresh,
                    // Nothing to cancel: the refresh ended (or was cancelled) already.
                    Err(AwsError::Service { code, .. })
                        if code == "ActiveInstanceRefreshNotFound" =>
                    {
                        return Ok(format!("no instance refresh of {id} is running"));
                    }
                    Err(error) => return Err(error),
                };
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
                self.reboot_db(id, *force_failover).await
            }
            ActionKind::FailoverDbCluster { target_instance } => {
                self.failover_cluster(id, target_instance.as_deref()).await
            }
            ActionKind::PromoteReadReplica => self.promote(id).await,
            ActionKind::CreateReadReplica {
                replica_identifier,
                availability_zone,
                instance_class,
            } => {
                let client = self.ctx.rds(self.region);
                let sent = client
                    .create_db_instance_read_replica()
                    .db_instance_identifier(replica_identifier)
                    .source_db_instance_identifier(id)
                    .set_availability_zone(availability_zone.clone())
                    .set_db_instance_class(instance_class.clone())
                    .send()
                    .await
                    .map_err(|e| self.err(Service::Rds, "CreateDBInstanceReadReplica", e));
                match sent {
                    Ok(out) => self.sent("CreateDBInstanceReadReplica", &out),
                    // Running the command again follows the replica it created.
                    Err(AwsError::Service { ref code, .. })
                        if code == "DBInstanceAlreadyExists"
                            && self.replica_of(replica_identifier, id).await? =>
                    {
                        self.note(
                            "CreateDBInstanceReadReplica",
                            format!(
                                "{replica_identifier} already exists as a replica of {id}: \
                                 following it"
                            ),
                        );
                    }
                    Err(error) => return Err(error),
                }
                self.outcome.resulting_ids.push(replica_identifier.clone());
                self.wait_db(replica_identifier, None, Typical::DbReplica)
                    .await?;
                Ok(format!(
                    "read replica {replica_identifier} of {id} is available"
                ))
            }
            ActionKind::CreateDbSnapshot {
                snapshot_identifier,
            } => self.create_db_snapshot(id, snapshot_identifier).await,
            ActionKind::MoveTraffic { records, .. } | ActionKind::SetDnsWeights { records, .. } => {
                run_change(self, action, records).await
            }
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
                self.wait_db(id, Some(class), Typical::DbModify).await?;
                Ok(format!("{id} is now {class} and available"))
            }
        }
    }

    async fn instance_state(&mut self, kind: &ActionKind, id: &str) -> Result<String, AwsError> {
        let client = self.ctx.ec2(self.region);
        let (operation, want) = match kind {
            ActionKind::StopInstance { .. } => ("StopInstances", "stopped"),
            ActionKind::StartInstance => ("StartInstances", "running"),
            ActionKind::RebootInstance => ("RebootInstances", "running"),
            _ => ("TerminateInstances", "terminated"),
        };
        match kind {
            ActionKind::StopInstance { .. } => {
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

    /// Waits for `want`; an end state that is not `want` fails the wait with AWS's
    /// `StateReason` (a start can fall back to `stopped`, a stopped group member is terminated).
    async fn wait_instance(
        &self,
        client: &ec2::Client,
        id: &str,
        want: &str,
    ) -> Result<(), AwsError> {
        let mut waiter = self.waiter(
            Service::Ec2,
            format!("instance {id} to be {want}"),
            Typical::InstanceState,
        );
        let mut change = InstanceChange::new(want);
        loop {
            let out = client
                .describe_instances()
                .instance_ids(id)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, "DescribeInstances", e))?;
            let found = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find(|i| i.instance_id() == Some(id));
            let state = found
                .and_then(|i| i.state())
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(|| "unknown".into());
            let reason = found
                .and_then(|i| i.state_reason())
                .and_then(|r| r.message());
            let verdict = change.poll(
                &state,
                reason,
                waiter.elapsed(),
                self.options.unchanged_grace,
            );
            if waiter.seen(verdict.into()).await? {
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
        let now = self.capacity(&client, group).await?;
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
    async fn group(
        &self,
        client: &autoscaling::Client,
        group: &str,
    ) -> Result<autoscaling::types::AutoScalingGroup, AwsError> {
        let out = client
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
    async fn capacity(
        &self,
        client: &autoscaling::Client,
        group: &str,
    ) -> Result<Capacity, AwsError> {
        let found = self.group(client, group).await?;
        Ok(Capacity {
            min: found.min_size().unwrap_or_default(),
            max: found.max_size().unwrap_or_default(),
            desired: found.desired_capacity().unwrap_or_default(),
        })
    }

    /// Waits until the group has exactly its desired number of instances, all in service, and
    /// none of `leaving` is still a member. Fails at once on a scaling activity that started
    /// after `since` (just before the action's call) and ended `Failed`: a failed launch is
    /// visible only there, and Auto Scaling keeps retrying it for as long as one waits (
    /// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html:
    /// "You can monitor for failed EC2 launches using the scaling activities").
    async fn wait_capacity(
        &self,
        client: &autoscaling::Client,
        group: &str,
        since: SystemTime,
        leaving: &[String],
    ) -> Result<i32, AwsError> {
        let mut waiter = self.waiter(
            Service::AutoScaling,
            format!("{group} to reach its desired capacity"),
            Typical::GroupCapacity,
        );
        loop {
            let found = self.group(client, group).await?;
            self.failed_activity(client, group, since).await?;
            let desired = found.desired_capacity().unwrap_or_default().max(0) as usize;
            // Standby members are outside the desired capacity.
            let members: Vec<(&str, &str)> = found
                .instances()
                .iter()
                .map(|m| {
                    (
                        m.instance_id().unwrap_or_default(),
                        m.lifecycle_state().map_or("unknown", |s| s.as_str()),
                    )
                })
                .filter(|(_, state)| !state.contains("Standby"))
                .collect();
            let in_service = members.iter().filter(|(_, s)| *s == "InService").count();
            let still_there = members
                .iter()
                .filter(|(id, _)| leaving.iter().any(|l| l == id))
                .count();
            let seen = if in_service == members.len() && in_service == desired && still_there == 0 {
                Seen::Done
            } else {
                let mut status = format!("{in_service} of {desired} in service");
                status.push_str(&lifecycle_summary(&members));
                if still_there > 0 {
                    status.push_str(&format!(
                        "; {still_there} instance(s) of the removed AZ not yet replaced"
                    ));
                }
                Seen::Waiting(status, ratio(in_service, desired))
            };
            if waiter.seen(seen).await? {
                return Ok(desired as i32);
            }
        }
    }

    /// Fails with AWS's reason when a scaling activity of `group` that started after `since`
    /// ended `Failed` (the newest come first; older ones are someone else's).
    async fn failed_activity(
        &self,
        client: &autoscaling::Client,
        group: &str,
        since: SystemTime,
    ) -> Result<(), AwsError> {
        use autoscaling::types::ScalingActivityStatusCode;
        let out = client
            .describe_scaling_activities()
            .auto_scaling_group_name(group)
            .max_records(20)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "DescribeScalingActivities", e))?;
        // Activity times may come with whole seconds only: compare from the second the action
        // started in, so that a failure in that second is not taken for an older one.
        let since = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(since, |d| {
                since - Duration::from_nanos(u64::from(d.subsec_nanos()))
            });
        let failed = out.activities().iter().find(|a| {
            let started = a
                .start_time()
                .and_then(|t| SystemTime::try_from(*t).ok())
                .is_some_and(|t| t >= since);
            started && a.status_code() == Some(&ScalingActivityStatusCode::Failed)
        });
        let Some(activity) = failed else {
            return Ok(());
        };
        let what = activity
            .description()
            .unwrap_or("a scaling activity")
            .trim_end_matches('.');
        let why = activity
            .status_message()
            .unwrap_or("no status message given");
        Err(AwsError::Other {
            service: Service::AutoScaling,
            operation: "DescribeScalingActivities".into(),
            detail: format!(
                "{group}: {what} failed: {why}. Auto Scaling keeps retrying on its own; fix the \
                 cause (the group's activity history has every attempt) or change the group \
                 back"
            ),
        })
    }

    /// The group the instance is a member of: `known`, or as Auto Scaling says.
    async fn group_of(
        &self,
        client: &autoscaling::Client,
        instance: &str,
        known: Option<&str>,
    ) -> Result<String, AwsError> {
        if let Some(group) = known {
            return Ok(group.to_string());
        }
        let out = client
            .describe_auto_scaling_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "DescribeAutoScalingInstances", e))?;
        out.auto_scaling_instances()
            .first()
            .and_then(|i| i.auto_scaling_group_name())
            .map(str::to_string)
            .ok_or_else(|| AwsError::Other {
                service: Service::AutoScaling,
                operation: "DescribeAutoScalingInstances".into(),
                detail: format!("instance {instance} is not in an Auto Scaling group"),
            })
    }

    /// Standby keeps the instance in the group but out of the load balancer and of health
    /// checks, so it can be stopped without being replaced (
    /// https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-enter-exit-standby.html).
    async fn enter_standby(
        &mut self,
        instance: &str,
        group: Option<&str>,
        keep_capacity: bool,
    ) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let group = self.group_of(&client, instance, group).await?;
        if !keep_capacity {
            let now = self.capacity(&client, &group).await?;
            now.after(Some(now.desired - 1), None, None)
                .map_err(|_| AwsError::Other {
                    service: Service::AutoScaling,
                    operation: "EnterStandby".into(),
                    detail: format!(
                        "not sent: {group} is at its min ({}), so its desired capacity cannot go \
                         down by one; add --keep-capacity (Auto Scaling launches a replacement) \
                         or lower the min first",
                        now.min
                    ),
                })?;
        }
        let since = SystemTime::now();
        let out = client
            .enter_standby()
            .auto_scaling_group_name(&group)
            .instance_ids(instance)
            .should_decrement_desired_capacity(!keep_capacity)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "EnterStandby", e))?;
        self.sent("EnterStandby", &out);
        self.wait_member(&client, &group, instance, "Standby", since)
            .await?;
        Ok(format!(
            "instance {instance} is in standby in {group}: it can be stopped safely; \
             asg-exit-standby puts it back"
        ))
    }

    async fn exit_standby(
        &mut self,
        instance: &str,
        group: Option<&str>,
    ) -> Result<String, AwsError> {
        let client = self.ctx.autoscaling(self.region);
        let group = self.group_of(&client, instance, group).await?;
        let since = SystemTime::now();
        let out = client
            .exit_standby()
            .auto_scaling_group_name(&group)
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| self.err(Service::AutoScaling, "ExitStandby", e))?;
        self.sent("ExitStandby", &out);
        self.wait_member(&client, &group, instance, "InService", since)
            .await?;
        Ok(format!("instance {instance} is back in service in {group}"))
    }

    /// Waits until a member reaches a lifecycle state (failing on a failed activity).
    async fn wait_member(
        &self,
        client: &autoscaling::Client,
        group: &str,
        instance: &str,
        want: &str,
        since: SystemTime,
    ) -> Result<(), AwsError> {
        let mut waiter = self.waiter(
            Service::AutoScaling,
            format!("instance {instance} to be {want} in {group}"),
            Typical::Standby,
        );
        loop {
            let found = self.group(client, group).await?;
            self.failed_activity(client, group, since).await?;
            let state = found
                .instances()
                .iter()
                .find(|m| m.instance_id() == Some(instance))
                .and_then(|m| m.lifecycle_state())
                .map_or("not a member", |s| s.as_str())
                .to_string();
            let seen = if state == want {
                Seen::Done
            } else if state == "not a member" {
                Seen::Failed(format!("{instance} left {group}"))
            } else {
                Seen::Waiting(state, None)
            };
            if waiter.seen(seen).await? {
                return Ok(());
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
        let since = SystemTime::now();
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
                let capacity = self.wait_capacity(&client, &group, since, &[]).await?;
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
        let (what, typical) = if registered {
            (
                format!("{} target(s) to pass their first health checks", ids.len()),
                Typical::TargetRegistration,
            )
        } else {
            (
                format!("{} target(s) to finish draining", ids.len()),
                Typical::TargetDraining,
            )
        };
        let mut waiter = self.waiter(Service::Elbv2, what, typical);
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
                AwsError::missing(
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
            AwsError::missing(
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
            .describe_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "DescribeInstances", e))?;
        let source = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance))
            .map(|i| i.tags())
            .unwrap_or_default();
        // The AMI is tagged at creation; its snapshots once it is available (below), because
        // emulators do not all take `snapshot` tag specifications on CreateImage.
        let copied: Vec<ec2::types::Tag> = source
            .iter()
            .filter(|t| t.key().is_some_and(|k| COPIED_TAGS.contains(&k)))
            .cloned()
            .collect();
        let tags = tags_on_create(source, &[ec2::types::ResourceType::Image]);
        let out = client
            .create_image()
            .instance_id(instance)
            .name(name)
            .no_reboot(no_reboot)
            .set_tag_specifications(tags)
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "CreateImage", e))?;
        self.sent("CreateImage", &out);
        let image = out
            .image_id()
            .ok_or_else(|| AwsError::missing(Service::Ec2, "CreateImage", "image id"))?
            .to_string();
        self.outcome.resulting_ids.push(image.clone());
        let mut waiter = self.waiter(
            Service::Ec2,
            format!("AMI {image} to be available"),
            Typical::Image,
        );
        loop {
            let out = client
                .describe_images()
                .image_ids(&image)
                .send()
                .await
                .map_err(|e| self.err(Service::Ec2, "DescribeImages", e))?;
            let found = out.images().first();
            let state = found
                .and_then(|i| i.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "pending".into());
            let seen = match state.as_str() {
                "available" => Seen::Done,
                "pending" => Seen::Waiting(state, None),
                _ => Seen::Failed(state),
            };
            if waiter.seen(seen).await? {
                let snapshots: Vec<String> = found
                    .map(|i| i.block_device_mappings())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|b| b.ebs().and_then(|e| e.snapshot_id()))
                    .map(str::to_string)
                    .collect();
                if !snapshots.is_empty() && !copied.is_empty() {
                    let out = client
                        .create_tags()
                        .set_resources(Some(snapshots))
                        .set_tags(Some(copied))
                        .send()
                        .await
                        .map_err(|e| self.err(Service::Ec2, "CreateTags", e))?;
                    self.sent("CreateTags", &out);
                }
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
            .describe_volumes()
            .volume_ids(volume)
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "DescribeVolumes", e))?;
        let source = out.volumes().first().map(|v| v.tags()).unwrap_or_default();
        let tags = tags_on_create(source, &[ec2::types::ResourceType::Snapshot]);
        let out = client
            .create_snapshot()
            .volume_id(volume)
            .set_description(description.map(str::to_string))
            .set_tag_specifications(tags)
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "CreateSnapshot", e))?;
        self.sent("CreateSnapshot", &out);
        let snapshot = out
            .snapshot_id()
            .ok_or_else(|| AwsError::missing(Service::Ec2, "CreateSnapshot", "snapshot id"))?
            .to_string();
        self.outcome.resulting_ids.push(snapshot.clone());
        let mut waiter = self.waiter(
            Service::Ec2,
            format!("snapshot {snapshot} to be completed"),
            Typical::EbsSnapshot,
        );
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
        typical: Typical,
    ) -> Result<rds::types::DbInstance, AwsError> {
        let client = self.ctx.rds(self.region);
        let mut waiter = self.waiter(
            Service::Rds,
            format!("DB instance {id} to be available"),
            typical,
        );
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
                    AwsError::missing(Service::Rds, "DescribeDBInstances", "DB instance")
                });
            }
        }
    }

    /// Promotes a read replica and follows the promotion to its end. RDS refuses a replica in
    /// `backing-up`, so that is waited out first; `BackupRetentionPeriod` is sent so that the
    /// new primary keeps the replica's backups (at least 1 day). RDS changes the status
    /// asynchronously, so a describe right after the call can still read `available` with the
    /// source: the promotion is done only once the instance is `available` and names no
    /// source (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html>).
    async fn promote(&mut self, id: &str) -> Result<String, AwsError> {
        let before = self.db(id).await?;
        if before
            .read_replica_source_db_instance_identifier()
            .is_none()
        {
            return Ok(format!("{id} is already a standalone DB instance"));
        }
        if before.db_instance_status() != Some("available") {
            self.wait_db(id, None, Typical::DbPromote).await?;
        }
        let retention = before.backup_retention_period().unwrap_or(0).max(1);
        let out = self
            .ctx
            .rds(self.region)
            .promote_read_replica()
            .db_instance_identifier(id)
            .backup_retention_period(retention)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "PromoteReadReplica", e))?;
        self.sent("PromoteReadReplica", &out);
        let client = self.ctx.rds(self.region);
        let mut waiter = self.waiter(
            Service::Rds,
            format!("{id} to be promoted (standalone and available)"),
            Typical::DbPromote,
        );
        let sent_at = std::time::Instant::now();
        let mut status_changed = false;
        loop {
            let out = client
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| self.err(Service::Rds, "DescribeDBInstances", e))?;
            let db = out.db_instances().first();
            let status = db
                .and_then(|d| d.db_instance_status())
                .unwrap_or("modifying")
                .to_string();
            let source = db.and_then(|d| d.read_replica_source_db_instance_identifier());
            let seen = match (status.as_str(), source) {
                ("available", None) => Seen::Done,
                ("failed" | "storage-full" | "inaccessible-encryption-credentials", _) => {
                    Seen::Failed(status)
                }
                (s, _) if s.starts_with("incompatible-") => Seen::Failed(status),
                // RDS moves a promoted replica out of `available` within seconds. One that
                // never left it and still names its source after the unchanged grace did not go
                // through RDS's promotion at all: an emulator (moto keeps the link for good).
                // Say so rather than wait for the whole timeout.
                ("available", Some(source))
                    if !status_changed && sent_at.elapsed() > self.options.unchanged_grace =>
                {
                    return Ok(format!(
                        "{id} accepted the promotion and is available, but after {} s it still \
                         names {source} as its source and never changed status: RDS does not \
                         behave so (an emulator does); check that replication has ended",
                        self.options.unchanged_grace.as_secs()
                    ));
                }
                ("available", Some(source)) => {
                    Seen::Waiting(format!("available, still replicating {source}"), None)
                }
                _ => {
                    status_changed = true;
                    Seen::Waiting(status, None)
                }
            };
            if waiter.seen(seen).await? {
                return Ok(format!(
                    "{id} is a standalone DB instance (automated backups {retention} day(s))"
                ));
            }
        }
    }

    /// The DB instance as RDS describes it now.
    async fn db(&self, id: &str) -> Result<rds::types::DbInstance, AwsError> {
        let out = self
            .ctx
            .rds(self.region)
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "DescribeDBInstances", e))?;
        out.db_instances()
            .first()
            .cloned()
            .ok_or_else(|| AwsError::missing(Service::Rds, "DescribeDBInstances", "DB instance"))
    }

    /// `replica` exists and replicates from `source` (by identifier or ARN).
    async fn replica_of(&self, replica: &str, source: &str) -> Result<bool, AwsError> {
        let db = self.db(replica).await?;
        Ok(db
            .read_replica_source_db_instance_identifier()
            .is_some_and(|s| s == source || s.ends_with(&format!(":db:{source}"))))
    }

    /// A reboot can read `available` before RDS starts it: the status and AZ are read first,
    /// and `available` counts once the reboot (or the failover's AZ swap) was seen.
    async fn reboot_db(&mut self, id: &str, force_failover: bool) -> Result<String, AwsError> {
        let before = self.db(id).await?;
        let az_before = before.availability_zone().map(str::to_string);
        let client = self.ctx.rds(self.region);
        let out = client
            .reboot_db_instance()
            .db_instance_identifier(id)
            .force_failover(force_failover)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "RebootDBInstance", e))?;
        self.sent("RebootDBInstance", &out);
        let typical = if force_failover {
            Typical::DbFailover
        } else {
            Typical::DbReboot
        };
        let mut waiter = self.waiter(Service::Rds, format!("DB instance {id} to reboot"), typical);
        let mut change = DbChange::new(az_before.clone());
        loop {
            let db = self.db(id).await?;
            let status = db.db_instance_status().unwrap_or("unknown");
            let verdict = change.poll(
                status,
                db.availability_zone(),
                waiter.elapsed(),
                self.options.unchanged_grace,
            );
            if waiter.seen(verdict.into()).await? {
                let took = haven_model::wait::elapsed_words(waiter.elapsed());
                let az_now = db.availability_zone().map(str::to_string);
                return Ok(match (force_failover, &az_before, &az_now) {
                    (true, Some(a), Some(b)) if a != b => {
                        format!("{id} failed over from {a} to {b} and is available ({took})")
                    }
                    (true, _, _) => format!(
                        "{id} rebooted and is available ({took}); RDS showed no AZ change{}",
                        if change.seen { "" } else { " and no reboot" }
                    ),
                    (false, _, _) if !change.seen => format!(
                        "{id} is available ({took}); RDS never showed it rebooting (a short \
                         reboot can fall between two polls)"
                    ),
                    (false, _, _) => format!("{id} rebooted and is available ({took})"),
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
        let writer_of = |c: Option<&rds::types::DbCluster>| {
            c.map(|c| c.db_cluster_members())
                .unwrap_or_default()
                .iter()
                .find(|m| m.is_cluster_writer() == Some(true))
                .and_then(|m| m.db_instance_identifier())
                .map(str::to_string)
        };
        let before = client
            .describe_db_clusters()
            .db_cluster_identifier(cluster)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "DescribeDBClusters", e))?;
        let writer_before = writer_of(before.db_clusters().first());
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
            None => format!("DB cluster {cluster} to fail over"),
        };
        let mut waiter = self.waiter(Service::Rds, what, Typical::ClusterFailover);
        // Without a target, "done" is a new writer (or a failing-over status seen), not the
        // first `available`, which can come before the failover starts.
        let mut change = DbChange::new(writer_before.clone());
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
            let writer = writer_of(found);
            let verdict = change.poll(
                &status,
                writer.as_deref(),
                waiter.elapsed(),
                self.options.unchanged_grace,
            );
            let seen = match reader {
                Some(r) if status == "available" && writer.as_deref() == Some(r) => Seen::Done,
                Some(_) => Seen::Waiting(
                    format!(
                        "{status}, writer {}",
                        writer.as_deref().unwrap_or("unknown")
                    ),
                    None,
                ),
                None => verdict.into(),
            };
            if waiter.seen(seen).await? {
                let took = haven_model::wait::elapsed_words(waiter.elapsed());
                return Ok(format!(
                    "{cluster} failed over from {} to {} ({took})",
                    writer_before.as_deref().unwrap_or("unknown"),
                    writer.as_deref().unwrap_or("unknown")
                ));
            }
        }
    }

    async fn create_db_snapshot(&mut self, db: &str, snapshot: &str) -> Result<String, AwsError> {
        let client = self.ctx.rds(self.region);
        let sent = client
            .create_db_snapshot()
            .db_instance_identifier(db)
            .db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(|e| self.err(Service::Rds, "CreateDBSnapshot", e));
        match sent {
            Ok(out) => self.sent("CreateDBSnapshot", &out),
            // Running the command again follows the snapshot it started.
            Err(AwsError::Service { ref code, .. }) if code == "DBSnapshotAlreadyExists" => {
                self.note(
                    "CreateDBSnapshot",
                    format!("DB snapshot {snapshot} already exists: following it"),
                );
            }
            Err(error) => return Err(error),
        }
        self.outcome.resulting_ids.push(snapshot.to_string());
        let mut waiter = self.waiter(
            Service::Rds,
            format!("DB snapshot {snapshot} to be available"),
            Typical::DbSnapshot,
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

/// The scaling process that moves instances between AZs.
const AZ_REBALANCE: &str = "AZRebalance";

/// ", 1 Pending:Wait, 1 Terminating" — the members not in service, with a word on lifecycle
/// hooks, which can hold an instance up to their heartbeat timeout (one hour by default:
/// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html).
fn lifecycle_summary(members: &[(&str, &str)]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (_, state) in members.iter().filter(|(_, s)| *s != "InService") {
        match counts.iter_mut().find(|(s, _)| s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state, 1)),
        }
    }
    let mut text: String = counts
        .iter()
        .map(|(state, n)| format!(", {n} {state}"))
        .collect();
    if counts.iter().any(|(s, _)| s.ends_with(":Wait")) {
        text.push_str(" (held by a lifecycle hook until it completes or times out)");
    }
    text
}

/// The tags an AMI or snapshot gets at creation: the source's `haven:stack` and `Name`, so that
/// the stack's teardown and the dashboard know where it came from. `None` when the source has
/// neither (an empty tag specification is refused).
fn tags_on_create(
    source: &[ec2::types::Tag],
    kinds: &[ec2::types::ResourceType],
) -> Option<Vec<ec2::types::TagSpecification>> {
    let tags: Vec<ec2::types::Tag> = source
        .iter()
        .filter(|t| t.key().is_some_and(|k| COPIED_TAGS.contains(&k)))
        .cloned()
        .collect();
    (!tags.is_empty()).then(|| {
        kinds
            .iter()
            .map(|kind| {
                ec2::types::TagSpecification::builder()
                    .resource_type(kind.clone())
                    .set_tags(Some(tags.clone()))
                    .build()
            })
            .collect()
    })
}

/// The launch template version a refresh rolls out, as a number.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DesiredVersion {
    template_id: String,
    version: String,
}

/// The refresh's preferences besides `SkipMatching`, which is always on.
#[derive(Debug, Clone, Copy, Default)]
struct RefreshPreferences {
    min_healthy_percentage: Option<i32>,
    instance_warmup_seconds: Option<i32>,
}

impl Run<'_> {
    /// Resolves the version a refresh rolls out before anything is sent: a number as given, or
    /// the group's template's default (or latest) version number, so that the group ends
    /// pinned to a number as haven always leaves it.
    async fn refresh_version(
        &self,
        client: &autoscaling::Client,
        group: &str,
        version: Option<&str>,
    ) -> Result<DesiredVersion, AwsError> {
        let found = self.group(client, group).await?;
        let refused = |why: String| AwsError::Other {
            service: Service::AutoScaling,
            operation: "StartInstanceRefresh".into(),
            detail: format!("not sent: {why}"),
        };
        let spec = found.launch_template().ok_or_else(|| {
            refused(format!(
                "{group} has no single launch template (a mixed instances policy or a launch \
                 configuration); haven rolls out launch template versions only"
            ))
        })?;
        let ec2 = self.ctx.ec2(self.region);
        let template_id = match spec.launch_template_id() {
            Some(id) => id.to_string(),
            None => {
                let name = spec.launch_template_name().unwrap_or_default();
                self.template(&ec2, None, Some(name))
                    .await?
                    .launch_template_id()
                    .unwrap_or_default()
                    .to_string()
            }
        };
        let version = match version {
            Some(v) if v.parse::<i64>().is_ok() => v.to_string(),
            other => {
                let template = self.template(&ec2, Some(&template_id), None).await?;
                let number = if other == Some("$Latest") {
                    template.latest_version_number()
                } else {
                    template.default_version_number()
                };
                number
                    .ok_or_else(|| {
                        AwsError::missing(Service::Ec2, "DescribeLaunchTemplates", "version number")
                    })?
                    .to_string()
            }
        };
        self.note(
            "StartInstanceRefresh",
            format!(
                "rolling out version {version} of {template_id} (the group runs {})",
                spec.version().unwrap_or("an unknown version")
            ),
        );
        Ok(DesiredVersion {
            template_id,
            version,
        })
    }

    async fn template(
        &self,
        ec2: &ec2::Client,
        id: Option<&str>,
        name: Option<&str>,
    ) -> Result<ec2::types::LaunchTemplate, AwsError> {
        let out = ec2
            .describe_launch_templates()
            .set_launch_template_ids(id.map(|i| vec![i.to_string()]))
            .set_launch_template_names(name.map(|n| vec![n.to_string()]))
            .send()
            .await
            .map_err(|e| self.err(Service::Ec2, "DescribeLaunchTemplates", e))?;
        out.launch_templates()
            .first()
            .cloned()
            .ok_or_else(|| AwsError::missing(Service::Ec2, "DescribeLaunchTemplates", "template"))
    }
}

/// Starts an instance refresh to `desired` and returns its id. Takes the client so that its
/// request shape can be tested with a mocked client (moto does not implement instance refresh).
///
/// Without a desired configuration, a refresh replaces instances with "the configuration that
/// you last saved on the Auto Scaling group" — the pinned, old version; with one, the group is
/// updated to it when the refresh succeeds, and `SkipMatching` leaves the instances already on
/// it alone (https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh-skip-matching.html).
async fn start_instance_refresh(
    run: &mut Run<'_>,
    client: &autoscaling::Client,
    group: &str,
    desired: &DesiredVersion,
    preferences: &RefreshPreferences,
) -> Result<String, AwsError> {
    use autoscaling::types::{DesiredConfiguration, LaunchTemplateSpecification};
    let preferences = autoscaling::types::RefreshPreferences::builder()
        .skip_matching(true)
        .set_min_healthy_percentage(preferences.min_healthy_percentage)
        .set_instance_warmup(preferences.instance_warmup_seconds)
        .build();
    let configuration = DesiredConfiguration::builder()
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id(&desired.template_id)
                .version(&desired.version)
                .build(),
        )
        .build();
    let out = client
        .start_instance_refresh()
        .auto_scaling_group_name(group)
        .desired_configuration(configuration)
        .preferences(preferences)
        .send()
        .await
        .map_err(|e| run.err(Service::AutoScaling, "StartInstanceRefresh", e))?;
    run.sent("StartInstanceRefresh", &out);
    out.instance_refresh_id()
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::missing(
                Service::AutoScaling,
                "StartInstanceRefresh",
                "instance refresh id",
            )
        })
}

/// The refresh of `group` that is pending or in progress (AWS runs one at a time).
async fn running_refresh(
    run: &Run<'_>,
    client: &autoscaling::Client,
    group: &str,
) -> Result<String, AwsError> {
    let out = client
        .describe_instance_refreshes()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| run.err(Service::AutoScaling, "DescribeInstanceRefreshes", e))?;
    out.instance_refreshes()
        .iter()
        .find(|r| {
            matches!(
                r.status().map(|s| s.as_str()),
                Some("Pending" | "InProgress" | "Baking" | "Cancelling" | "RollbackInProgress")
            )
        })
        .and_then(|r| r.instance_refresh_id())
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::missing(
                Service::AutoScaling,
                "DescribeInstanceRefreshes",
                "running instance refresh",
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
            AwsError::missing(
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
        Typical::InstanceRefresh,
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

/// Carries out a `dns-move-traffic` or `dns-set-weights` action: one change batch, followed
/// until `INSYNC`.
async fn run_change(
    run: &mut Run<'_>,
    action: &haven_model::action::Action,
    records: &[haven_model::topology::DnsRecord],
) -> Result<String, AwsError> {
    use haven_model::action::{AcceptedCall, Progress};
    let Some((zone, name)) = haven_model::action::split_record_id(&action.target.id) else {
        return Err(AwsError::Other {
            service: Service::Route53,
            operation: "ChangeResourceRecordSets".to_string(),
            detail: format!(
                "{} is not a record id (<hosted zone id>/<name>)",
                action.target.id
            ),
        });
    };
    if records.is_empty() {
        return Ok(format!("{name}: nothing to change"));
    }
    let accepted = crate::traffic::upsert(
        run.ctx,
        zone,
        records,
        &format!("haven {}", action.kind.name()),
    )
    .await?;
    let op = "ChangeResourceRecordSets";
    run.outcome.request_ids.extend(accepted.request_id.clone());
    run.outcome.resulting_ids.push(accepted.change_id.clone());
    (run.progress)(Progress {
        accepted: Some(AcceptedCall {
            operation: op.to_string(),
            request_id: accepted.request_id.clone(),
        }),
        ..Progress::new(op, format!("change {} accepted", accepted.change_id), None)
    });
    let progress = run.progress;
    let waiting = |line: String| progress(Progress::new("GetChange", line, None));
    crate::traffic::wait_insync(run.ctx, &accepted.change_id, run.options, &waiting).await?;
    Ok(format!(
        "{} record(s) of {} changed; change {} is INSYNC (every Route 53 name server answers \
         with it; resolvers may keep the old answer for its TTL)",
        records.len(),
        name.trim_end_matches('.'),
        accepted.change_id
    ))
}

#[cfg(test)]
mod tests {
    //! Instance refresh is not implemented by moto, so its request shape and its following are
    //! tested against a mocked Auto Scaling client.

    use std::sync::Mutex;

    use aws_sdk_autoscaling::Client;
    use aws_sdk_autoscaling::operation::cancel_instance_refresh::CancelInstanceRefreshOutput;
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::operation::describe_instance_refreshes::DescribeInstanceRefreshesOutput;
    use aws_sdk_autoscaling::operation::describe_scaling_activities::DescribeScalingActivitiesOutput;
    use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
    use aws_sdk_autoscaling::types::{
        Activity, AutoScalingGroup, Instance, InstanceRefresh, InstanceRefreshStatus,
        LifecycleState, ScalingActivityStatusCode,
    };
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
            unchanged_grace: Duration::from_secs(1),
        }
    }

    fn context() -> AwsContext {
        AwsContext::from_sdk_config(aws_config::SdkConfig::builder().build())
    }

    fn lt3() -> DesiredVersion {
        DesiredVersion {
            template_id: "lt-0123".into(),
            version: "3".into(),
        }
    }

    #[tokio::test]
    async fn c1_start_instance_refresh_sends_the_desired_version_with_skip_matching() {
        let start = mock!(Client::start_instance_refresh)
            .match_requests(|r| {
                let template = r.desired_configuration().and_then(|d| d.launch_template());
                r.auto_scaling_group_name() == Some("lab-asg")
                    && template.and_then(|t| t.launch_template_id()) == Some("lt-0123")
                    && template.and_then(|t| t.version()) == Some("3")
                    && r.preferences().and_then(|p| p.skip_matching()) == Some(true)
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
        let preferences = RefreshPreferences {
            min_healthy_percentage: Some(90),
            instance_warmup_seconds: Some(60),
        };
        let id = start_instance_refresh(&mut run, &client, "lab-asg", &lt3(), &preferences)
            .await
            .expect("started: the request matched the desired configuration");
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
                .any(|p| p.message.starts_with("InProgress · ") && p.fraction == Some(0.5)),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn c1_a_refresh_already_running_is_followed_instead_of_failing() {
        let running = mock!(Client::describe_instance_refreshes)
            .match_requests(|r| r.instance_refresh_ids().is_empty())
            .then_output(|| refresh(InstanceRefreshStatus::InProgress, 30));
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&running]);
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
        assert_eq!(
            running_refresh(&run, &client, "lab-asg")
                .await
                .expect("found"),
            "refresh-1"
        );
    }

    fn group(desired: i32, in_service: usize, pending: usize) -> DescribeAutoScalingGroupsOutput {
        let member = |i: usize, state: LifecycleState| {
            Instance::builder()
                .instance_id(format!("i-{i}"))
                .availability_zone("ap-northeast-2a")
                .lifecycle_state(state)
                .health_status("Healthy")
                .protected_from_scale_in(false)
                .build()
        };
        let mut members: Vec<Instance> = (0..in_service)
            .map(|i| member(i, LifecycleState::InService))
            .collect();
        members.extend((0..pending).map(|i| member(100 + i, LifecycleState::PendingWait)));
        DescribeAutoScalingGroupsOutput::builder()
            .auto_scaling_groups(
                AutoScalingGroup::builder()
                    .auto_scaling_group_name("lab-asg")
                    .min_size(2)
                    .max_size(6)
                    .desired_capacity(desired)
                    .set_instances(Some(members))
                    .build(),
            )
            .build()
    }

    fn activity(started: SystemTime, message: &str) -> Activity {
        Activity::builder()
            .activity_id(message)
            .auto_scaling_group_name("lab-asg")
            .cause("a user request set the desired capacity")
            .description("Launching a new EC2 instance")
            .start_time(aws_smithy_types::DateTime::from(started))
            .status_code(ScalingActivityStatusCode::Failed)
            .status_message(message)
            .build()
    }

    #[tokio::test]
    async fn c2_a_failed_launch_fails_the_capacity_wait_with_aws_status_message() {
        let since = SystemTime::now();
        let old = since - Duration::from_secs(600);
        let describe = mock!(Client::describe_auto_scaling_groups).then_output(|| group(3, 2, 1));
        // The first poll sees only a failure from before the action; the second a new one.
        let activities = mock!(Client::describe_scaling_activities)
            .match_requests(|r| r.auto_scaling_group_name() == Some("lab-asg"))
            .sequence()
            .output(move || {
                DescribeScalingActivitiesOutput::builder()
                    .activities(activity(old, "an old failure"))
                    .build()
            })
            .output(move || {
                DescribeScalingActivitiesOutput::builder()
                    .activities(activity(
                        since + Duration::from_secs(5),
                        "Invalid IAM Instance Profile name. Launching EC2 instance failed.",
                    ))
                    .activities(activity(old, "an old failure"))
                    .build()
            })
            .build();
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&describe, &activities]
        );
        let ctx = context();
        let options = quick(Duration::from_secs(5));
        let events = Mutex::new(Vec::new());
        let sink = |p: Progress| events.lock().expect("lock").push(p);
        let run = Run {
            ctx: &ctx,
            region: "ap-northeast-2",
            options: &options,
            progress: &sink,
            outcome: Outcome::default(),
        };
        let error = run
            .wait_capacity(&client, "lab-asg", since, &[])
            .await
            .expect_err("the launch failed");
        let text = error.to_string();
        assert!(
            text.contains("Invalid IAM Instance Profile name. Launching EC2 instance failed")
                && !text.contains("an old failure"),
            "{text}"
        );
        assert_eq!(activities.num_calls(), 2);
        // The poll before showed the member a lifecycle hook holds.
        let events = events.lock().expect("lock");
        assert!(
            events.iter().any(
                |p| p.message.starts_with("2 of 3 in service, 1 Pending:Wait")
                    && p.message.contains("lifecycle hook")
            ),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn c3_the_destructive_az_drill_waits_until_the_azs_instances_are_replaced() {
        let since = SystemTime::now();
        let with = |ids: &[&str]| {
            let mut out = group(2, 0, 0);
            let members = ids
                .iter()
                .map(|id| {
                    Instance::builder()
                        .instance_id(*id)
                        .availability_zone("ap-northeast-2b")
                        .lifecycle_state(LifecycleState::InService)
                        .health_status("Healthy")
                        .protected_from_scale_in(false)
                        .build()
                })
                .collect();
            if let Some(g) = out.auto_scaling_groups.as_mut().and_then(|g| g.first_mut()) {
                g.instances = Some(members);
            }
            out
        };
        // Right after the subnet change the group is whole and still holds the AZ's instance.
        let describe = mock!(Client::describe_auto_scaling_groups)
            .sequence()
            .output(move || with(&["i-a", "i-b"]))
            .output(move || with(&["i-b", "i-c"]))
            .build();
        let activities = mock!(Client::describe_scaling_activities)
            .then_output(|| DescribeScalingActivitiesOutput::builder().build());
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&describe, &activities]
        );
        let ctx = context();
        let options = quick(Duration::from_secs(5));
        let events = Mutex::new(Vec::new());
        let sink = |p: Progress| events.lock().expect("lock").push(p);
        let run = Run {
            ctx: &ctx,
            region: "ap-northeast-2",
            options: &options,
            progress: &sink,
            outcome: Outcome::default(),
        };
        run.wait_capacity(&client, "lab-asg", since, &["i-a".to_string()])
            .await
            .expect("replaced");
        assert_eq!(describe.num_calls(), 2, "not done while i-a is a member");
        let events = events.lock().expect("lock");
        assert!(
            events.iter().any(|p| p
                .message
                .contains("1 instance(s) of the removed AZ not yet replaced")),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn c2_a_failure_stamped_in_whole_seconds_in_the_actions_second_counts() {
        let since = SystemTime::now();
        let second = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let describe = mock!(Client::describe_auto_scaling_groups).then_output(|| group(3, 2, 0));
        let activities = mock!(Client::describe_scaling_activities).then_output(move || {
            let mut failed = activity(since, "We currently do not have sufficient capacity");
            failed.start_time = Some(aws_smithy_types::DateTime::from_secs(second as i64));
            DescribeScalingActivitiesOutput::builder()
                .activities(failed)
                .build()
        });
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&describe, &activities]
        );
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
        let error = run
            .wait_capacity(&client, "lab-asg", since, &[])
            .await
            .expect_err("failed in the same second");
        assert!(error.to_string().contains("sufficient capacity"), "{error}");
    }

    #[tokio::test]
    async fn c2_failures_from_before_the_action_are_ignored() {
        let since = SystemTime::now();
        let describe = mock!(Client::describe_auto_scaling_groups)
            .sequence()
            .output(|| group(3, 2, 1))
            .output(|| group(3, 3, 0))
            .build();
        let activities = mock!(Client::describe_scaling_activities).then_output(move || {
            DescribeScalingActivitiesOutput::builder()
                .activities(activity(since - Duration::from_secs(60), "an old failure"))
                .build()
        });
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&describe, &activities]
        );
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
        let desired = run
            .wait_capacity(&client, "lab-asg", since, &[])
            .await
            .expect("reaches 3 in service");
        assert_eq!(desired, 3);
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
