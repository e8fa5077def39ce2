//! `haven act`: one action on the stack, headless. It prints what it will do and the exact API
//! call(s), stops there with `--dry-run`, asks before anything disruptive or destructive (or takes
//! `--yes`), refuses
//! everything mutating with `--read-only`, follows the action to completion with progress on
//! stderr, and appends one JSON line per run to the action log.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use haven_aws::{
    AwsContext, AwsError, CallerIdentity, ConnectOptions, DiscoverOptions, ExecuteOptions,
};
use haven_model::RegionTopology;
use haven_model::action::{
    AcceptedCall, Action, ActionKind, Capacity, HealthCheckChange, Outcome, Progress, ResourceKind,
    ResourceRef, Risk, WeightedForward,
};
use serde_json::{Value, json};

use crate::cli::{Fatal, Global, ask, connect, usage};
use crate::config::Config;

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActOutput {
    /// Sentences for people.
    Text,
    /// One JSON document on stdout (the preview and progress go to stderr).
    Json,
}

/// Flags of `haven act`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Every action prints what it will do and the exact API call(s) first.\n\
                  Exit status: 0 done; 1 the action failed (AWS error code and message shown, \
                  and logged); 2 bad input, a disruptive or destructive action not confirmed \
                  (asked on a terminal; --yes in scripts), or --read-only; \
                  130 interrupted (Ctrl-C) while following: AWS carries on with what it \
                  accepted.\n\
                  The action log gets a `sent` line as soon as AWS accepts a call and an `ended` \
                  line when haven stops following it."
)]
pub struct ActArgs {
    /// The action and its target.
    #[command(subcommand)]
    pub action: ActCommand,
    /// Print the sentence and the exact API call(s); send nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Run without asking: a disruptive action (failover, reboot, stop) asks for `yes`, a
    /// destructive one (terminate, promote) for its typed confirmation, unless this is given.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ActOutput::Text, global = true)]
    pub output: ActOutput,
    /// Stop following the action after this many seconds (it may still finish in AWS).
    #[arg(long, default_value_t = 3600, global = true, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

/// The actions, named `<resource>-<verb>`.
#[derive(Debug, Clone, Subcommand)]
pub enum ActCommand {
    /// Stop an instance (a member of an Auto Scaling group is replaced: destructive, needs
    /// --yes; asg-enter-standby first keeps it).
    InstanceStop {
        /// Instance id (i-…).
        instance: String,
    },
    /// Start a stopped instance.
    InstanceStart {
        /// Instance id (i-…).
        instance: String,
    },
    /// Reboot an instance.
    InstanceReboot {
        /// Instance id (i-…).
        instance: String,
    },
    /// Terminate an instance (destructive: needs --yes).
    InstanceTerminate {
        /// Instance id (i-…).
        instance: String,
    },
    /// Create an AMI from an instance.
    InstanceCreateImage {
        /// Instance id (i-…).
        instance: String,
        /// AMI name.
        #[arg(long)]
        name: String,
        /// Do not reboot the instance first.
        #[arg(long)]
        no_reboot: bool,
    },
    /// Create a snapshot of an EBS volume.
    VolumeSnapshot {
        /// Volume id (vol-…).
        volume: String,
        /// Snapshot description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Set an Auto Scaling group's desired, minimum and/or maximum size.
    AsgSetCapacity {
        /// Group name.
        group: String,
        /// Desired capacity.
        #[arg(long)]
        desired: Option<i32>,
        /// Minimum size.
        #[arg(long)]
        min: Option<i32>,
        /// Maximum size.
        #[arg(long)]
        max: Option<i32>,
    },
    /// Suspend scaling processes (all unless --process is given).
    AsgSuspend {
        /// Group name.
        group: String,
        /// A process, e.g. Launch, Terminate, AZRebalance (repeatable).
        #[arg(long = "process")]
        processes: Vec<String>,
    },
    /// Resume scaling processes (all unless --process is given).
    AsgResume {
        /// Group name.
        group: String,
        /// A process (repeatable).
        #[arg(long = "process")]
        processes: Vec<String>,
    },
    /// Terminate a group member; it is replaced unless --decrement (destructive: needs --yes).
    AsgTerminateInstance {
        /// Instance id (i-…).
        instance: String,
        /// Lower the desired capacity instead of replacing the instance.
        #[arg(long)]
        decrement: bool,
    },
    /// Start an instance refresh: a rolling replacement of the group's instances with a launch
    /// template version (the group keeps that version afterwards).
    AsgStartRefresh {
        /// Group name.
        group: String,
        /// The version to roll out: a number, $Default or $Latest (default: the template's
        /// default version, resolved to its number before sending).
        #[arg(long)]
        version: Option<String>,
        /// Percentage of capacity kept healthy.
        #[arg(long)]
        min_healthy: Option<i32>,
        /// Seconds before a new instance counts as in service.
        #[arg(long)]
        warmup: Option<i32>,
    },
    /// Cancel the running instance refresh.
    AsgCancelRefresh {
        /// Group name.
        group: String,
    },
    /// Move a group member to standby (out of the load balancer and of health checks), e.g.
    /// to stop it without Auto Scaling replacing it.
    AsgEnterStandby {
        /// Instance id (i-…).
        instance: String,
        /// Its group (looked up when omitted).
        #[arg(long)]
        group: Option<String>,
        /// Keep the desired capacity: Auto Scaling launches a replacement meanwhile.
        #[arg(long)]
        keep_capacity: bool,
    },
    /// Put a standby member back in service.
    AsgExitStandby {
        /// Instance id (i-…).
        instance: String,
        /// Its group (looked up when omitted).
        #[arg(long)]
        group: Option<String>,
    },
    /// AZ drill: remove an AZ's subnets from a group and deregister its instances from the load
    /// balancer; Auto Scaling then replaces them in the other AZs (destructive: needs --yes)
    /// unless --keep-instances.
    AzRemove {
        /// Group name.
        group: String,
        /// The AZ, e.g. ap-northeast-2a.
        #[arg(long)]
        az: String,
        /// A real AZ loss: suspend AZRebalance first so the AZ's instances keep running, only
        /// out of the load balancer (az-restore resumes it).
        #[arg(long)]
        keep_instances: bool,
    },
    /// End an AZ drill: put the AZ back and register its instances again.
    AzRestore {
        /// Group name.
        group: String,
        /// The AZ, e.g. ap-northeast-2a.
        #[arg(long)]
        az: String,
        /// The subnet(s) to add back (found from the group's VPC when omitted; repeatable).
        #[arg(long = "subnet")]
        subnets: Vec<String>,
    },
    /// Register instances with a target group.
    TgRegister {
        /// Target group ARN or name.
        target_group: String,
        /// Instance ids.
        #[arg(required = true)]
        instances: Vec<String>,
        /// Port (the group's port when omitted).
        #[arg(long)]
        port: Option<i32>,
    },
    /// Deregister instances from a target group.
    TgDeregister {
        /// Target group ARN or name.
        target_group: String,
        /// Instance ids.
        #[arg(required = true)]
        instances: Vec<String>,
    },
    /// Change a target group's health-check settings.
    TgHealthCheck {
        /// Target group ARN or name.
        target_group: String,
        /// Path, e.g. /health.
        #[arg(long)]
        path: Option<String>,
        /// Seconds between checks.
        #[arg(long)]
        interval: Option<i32>,
        /// Seconds before a check fails.
        #[arg(long)]
        timeout: Option<i32>,
        /// Successes before healthy.
        #[arg(long)]
        healthy_threshold: Option<i32>,
        /// Failures before unhealthy.
        #[arg(long)]
        unhealthy_threshold: Option<i32>,
        /// Expected HTTP codes, e.g. 200 or 200-299.
        #[arg(long)]
        matcher: Option<String>,
    },
    /// Blue/green: forward a listener to weighted target groups, e.g. --weight blue=90
    /// --weight green=10.
    ListenerWeights {
        /// Listener ARN.
        listener: String,
        /// TARGET_GROUP=WEIGHT (ARN or name; weight 0–999; repeatable).
        #[arg(long = "weight", value_name = "TG=WEIGHT", required = true)]
        weights: Vec<String>,
    },
    /// Create a launch template version copied from another, with changes.
    LtNewVersion {
        /// Launch template id (lt-…) or name.
        template: String,
        /// The version to copy: a number, $Default or $Latest.
        #[arg(long, default_value = "$Default")]
        source_version: String,
        /// New AMI.
        #[arg(long)]
        image_id: Option<String>,
        /// New instance type.
        #[arg(long)]
        instance_type: Option<String>,
        /// Version description.
        #[arg(long)]
        description: Option<String>,
        /// Make the new version the default.
        #[arg(long)]
        set_default: bool,
    },
    /// Make a launch template version the default.
    LtSetDefault {
        /// Launch template id (lt-…) or name.
        template: String,
        /// Version number.
        #[arg(long)]
        version: i64,
    },
    /// Reboot a DB instance, optionally failing over to its Multi-AZ standby.
    RdsReboot {
        /// DB instance identifier.
        db: String,
        /// Fail over to the standby.
        #[arg(long)]
        failover: bool,
    },
    /// Fail an Aurora cluster over to a reader.
    RdsClusterFailover {
        /// DB cluster identifier.
        cluster: String,
        /// The reader to promote (RDS chooses when omitted).
        #[arg(long)]
        to: Option<String>,
    },
    /// Promote a read replica to a standalone instance (destructive: needs --yes).
    RdsPromote {
        /// Replica identifier.
        db: String,
    },
    /// Create a same-Region read replica.
    RdsCreateReplica {
        /// Source DB instance identifier.
        db: String,
        /// The new replica's identifier.
        #[arg(long)]
        replica_id: String,
        /// Its AZ.
        #[arg(long)]
        az: Option<String>,
        /// Its class (the source's when omitted).
        #[arg(long)]
        class: Option<String>,
    },
    /// Create a manual DB snapshot.
    RdsSnapshot {
        /// DB instance identifier.
        db: String,
        /// The snapshot's identifier.
        #[arg(long)]
        snapshot_id: String,
    },
    /// Change a DB instance's class (now, or in the next maintenance window).
    RdsModifyClass {
        /// DB instance identifier.
        db: String,
        /// New class, e.g. db.t3.small.
        #[arg(long)]
        class: String,
        /// Wait for the next maintenance window instead of applying now.
        #[arg(long)]
        next_window: bool,
    },
}

impl ActCommand {
    /// Target groups given by name (not ARN), AZ drills and stopping an instance (a group
    /// member is replaced, which changes the risk) need the Region's topology.
    fn needs_topology(&self) -> bool {
        match self {
            Self::AzRemove { .. } | Self::AzRestore { .. } | Self::InstanceStop { .. } => true,
            Self::TgRegister { target_group, .. }
            | Self::TgDeregister { target_group, .. }
            | Self::TgHealthCheck { target_group, .. } => !is_arn(target_group),
            Self::ListenerWeights { weights, .. } => weights
                .iter()
                .any(|w| !w.split('=').next().is_some_and(is_arn)),
            _ => false,
        }
    }
}

fn is_arn(text: &str) -> bool {
    text.starts_with("arn:")
}

/// The part of an ARN after `marker`, up to the next `/`: a target group's or load balancer's
/// name.
fn name_in_arn(arn: &str, marker: &str) -> Option<String> {
    let rest = &arn[arn.find(marker)? + marker.len()..];
    rest.split('/').next().map(str::to_string)
}

fn target_group(arg: &str, region: Option<&RegionTopology>) -> Result<ResourceRef, Fatal> {
    if is_arn(arg) {
        let reference = ResourceRef::new(ResourceKind::TargetGroup, arg);
        return Ok(match name_in_arn(arg, ":targetgroup/") {
            Some(name) => reference.named(name),
            None => reference,
        });
    }
    let region = region.ok_or_else(|| usage(format!("target group {arg}: give its ARN")))?;
    region
        .target_groups
        .iter()
        .find(|tg| tg.name == arg)
        .map(|tg| ResourceRef::new(ResourceKind::TargetGroup, &tg.arn).named(&tg.name))
        .ok_or_else(|| {
            usage(format!(
                "no target group named {arg:?} in {}; give its name or ARN",
                region.region
            ))
        })
}

/// Builds the action; `region` is the Region's topology when [`ActCommand::needs_topology`].
fn build(
    command: &ActCommand,
    region_code: &str,
    region: Option<&RegionTopology>,
) -> Result<Action, Fatal> {
    use ActCommand as C;
    let on =
        |kind, id: &str, action| Ok(Action::new(region_code, ResourceRef::new(kind, id), action));
    let instance = ResourceKind::Instance;
    let group = ResourceKind::AutoScalingGroup;
    let db = ResourceKind::DbInstance;
    let template = ResourceKind::LaunchTemplate;
    let lookup = |what: &str| {
        region.ok_or_else(|| Fatal {
            message: format!("{what} needs the Region's topology"),
            code: 1,
        })
    };
    let model = |e: haven_model::action::ActionError| usage(e.to_string());
    match command {
        C::InstanceStop { instance: id } => {
            // A member in standby is out of health checks: stopping it is safe.
            let group = region
                .and_then(|r| r.asg_for_instance(id))
                .filter(|g| {
                    g.instances
                        .iter()
                        .find(|m| m.instance_id == *id)
                        .is_none_or(|m| m.lifecycle_state != "Standby")
                })
                .map(|g| g.name.clone());
            on(instance, id, ActionKind::StopInstance { group })
        }
        C::InstanceStart { instance: id } => on(instance, id, ActionKind::StartInstance),
        C::InstanceReboot { instance: id } => on(instance, id, ActionKind::RebootInstance),
        C::InstanceTerminate { instance: id } => on(instance, id, ActionKind::TerminateInstance),
        C::InstanceCreateImage {
            instance: id,
            name,
            no_reboot,
        } => on(
            instance,
            id,
            ActionKind::CreateImage {
                name: name.clone(),
                no_reboot: *no_reboot,
            },
        ),
        C::VolumeSnapshot {
            volume,
            description,
        } => on(
            ResourceKind::Volume,
            volume,
            ActionKind::CreateSnapshot {
                description: description.clone(),
            },
        ),
        C::AsgSetCapacity {
            group: name,
            desired,
            min,
            max,
        } => {
            if desired.is_none() && min.is_none() && max.is_none() {
                return Err(usage(
                    "asg-set-capacity needs at least one of --desired, --min, --max".into(),
                ));
            }
            // With the topology at hand (the dashboard), the sentence says "from 2 to 3" and a
            // size Auto Scaling would refuse is refused before anything is sent.
            let current = region
                .and_then(|r| r.auto_scaling_groups.iter().find(|g| g.name == *name))
                .map(|g| Capacity {
                    min: g.min_size,
                    max: g.max_size,
                    desired: g.desired_capacity,
                });
            if let Some(now) = current {
                now.after(*desired, *min, *max).map_err(model)?;
            }
            on(
                group,
                name,
                ActionKind::SetCapacity {
                    desired: *desired,
                    min: *min,
                    max: *max,
                    current,
                },
            )
        }
        C::AsgSuspend {
            group: name,
            processes,
        } => on(
            group,
            name,
            ActionKind::SuspendProcesses {
                processes: processes.clone(),
            },
        ),
        C::AsgResume {
            group: name,
            processes,
        } => on(
            group,
            name,
            ActionKind::ResumeProcesses {
                processes: processes.clone(),
            },
        ),
        C::AsgTerminateInstance {
            instance: id,
            decrement,
        } => on(
            instance,
            id,
            ActionKind::TerminateAsgInstance {
                decrement: *decrement,
                group: None,
            },
        ),
        C::AsgStartRefresh {
            group: name,
            version,
            min_healthy,
            warmup,
        } => {
            if let Some(v) = version
                && v.parse::<i64>().is_err()
                && v != "$Default"
                && v != "$Latest"
            {
                return Err(usage(format!(
                    "--version {v}: expected a version number, $Default or $Latest"
                )));
            }
            on(
                group,
                name,
                ActionKind::StartInstanceRefresh {
                    version: version.clone(),
                    min_healthy_percentage: *min_healthy,
                    instance_warmup_seconds: *warmup,
                },
            )
        }
        C::AsgCancelRefresh { group: name } => on(group, name, ActionKind::CancelInstanceRefresh),
        C::AsgEnterStandby {
            instance: id,
            group: name,
            keep_capacity,
        } => on(
            instance,
            id,
            ActionKind::EnterStandby {
                group: name.clone(),
                keep_capacity: *keep_capacity,
            },
        ),
        C::AsgExitStandby {
            instance: id,
            group: name,
        } => on(
            instance,
            id,
            ActionKind::ExitStandby {
                group: name.clone(),
            },
        ),
        C::AzRemove {
            group: name,
            az,
            keep_instances,
        } => Action::remove_availability_zone(lookup("az-remove")?, name, az, *keep_instances)
            .map_err(model),
        C::AzRestore {
            group: name,
            az,
            subnets,
        } => Action::restore_availability_zone(lookup("az-restore")?, name, az, subnets)
            .map_err(model),
        C::TgRegister {
            target_group: tg,
            instances,
            port,
        } => Ok(Action::new(
            region_code,
            target_group(tg, region)?,
            ActionKind::RegisterTargets {
                instance_ids: instances.clone(),
                port: *port,
            },
        )),
        C::TgDeregister {
            target_group: tg,
            instances,
        } => Ok(Action::new(
            region_code,
            target_group(tg, region)?,
            ActionKind::DeregisterTargets {
                instance_ids: instances.clone(),
            },
        )),
        C::TgHealthCheck {
            target_group: tg,
            path,
            interval,
            timeout,
            healthy_threshold,
            unhealthy_threshold,
            matcher,
        } => {
            let change = HealthCheckChange {
                path: path.clone(),
                interval_seconds: *interval,
                timeout_seconds: *timeout,
                healthy_threshold: *healthy_threshold,
                unhealthy_threshold: *unhealthy_threshold,
                matcher: matcher.clone(),
            };
            if change.is_empty() {
                return Err(usage(
                    "tg-health-check needs at least one setting to change, e.g. --path /health"
                        .into(),
                ));
            }
            Ok(Action::new(
                region_code,
                target_group(tg, region)?,
                ActionKind::ModifyHealthCheck { change },
            ))
        }
        C::ListenerWeights { listener, weights } => {
            let mut target_groups = Vec::new();
            for text in weights {
                let Some((tg, weight)) = text.rsplit_once('=') else {
                    return Err(usage(format!(
                        "--weight {text:?}: expected TARGET_GROUP=WEIGHT, e.g. blue=90"
                    )));
                };
                let weight: i32 = weight
                    .parse()
                    .ok()
                    .filter(|w| (0..=999).contains(w))
                    .ok_or_else(|| usage(format!("--weight {text:?}: the weight must be 0–999")))?;
                let reference = target_group(tg, region)?;
                target_groups.push(WeightedForward {
                    target_group_arn: reference.id,
                    name: reference.name,
                    weight,
                });
            }
            let mut reference = ResourceRef::new(ResourceKind::Listener, listener);
            if let Some(lb) = name_in_arn(listener, ":listener/app/") {
                reference = reference.named(format!("{lb} listener"));
            }
            Ok(Action::new(
                region_code,
                reference,
                ActionKind::SetListenerWeights { target_groups },
            ))
        }
        C::LtNewVersion {
            template: id,
            source_version,
            image_id,
            instance_type,
            description,
            set_default,
        } => on(
            template,
            id,
            ActionKind::CreateLaunchTemplateVersion {
                source_version: source_version.clone(),
                image_id: image_id.clone(),
                instance_type: instance_type.clone(),
                description: description.clone(),
                set_default: *set_default,
            },
        ),
        C::LtSetDefault {
            template: id,
            version,
        } => on(
            template,
            id,
            ActionKind::SetDefaultLaunchTemplateVersion { version: *version },
        ),
        C::RdsReboot { db: id, failover } => on(
            db,
            id,
            ActionKind::RebootDbInstance {
                force_failover: *failover,
            },
        ),
        C::RdsClusterFailover { cluster, to } => on(
            ResourceKind::DbCluster,
            cluster,
            ActionKind::FailoverDbCluster {
                target_instance: to.clone(),
            },
        ),
        C::RdsPromote { db: id } => on(db, id, ActionKind::PromoteReadReplica),
        C::RdsCreateReplica {
            db: id,
            replica_id,
            az,
            class,
        } => on(
            db,
            id,
            ActionKind::CreateReadReplica {
                replica_identifier: replica_id.clone(),
                availability_zone: az.clone(),
                instance_class: class.clone(),
            },
        ),
        C::RdsSnapshot {
            db: id,
            snapshot_id,
        } => on(
            db,
            id,
            ActionKind::CreateDbSnapshot {
                snapshot_identifier: snapshot_id.clone(),
            },
        ),
        C::RdsModifyClass {
            db: id,
            class,
            next_window,
        } => on(
            db,
            id,
            ActionKind::ModifyDbInstanceClass {
                class: class.clone(),
                apply_immediately: !next_window,
                current: None,
            },
        ),
    }
}

/// The Region the action runs in, without asking AWS: `--regions` (first), `--region`, the config
/// file, then the SDK's own settings (AWS_REGION, the profile).
async fn offline_region(global: &Global, config: &Config) -> Result<String, Fatal> {
    let explicit = global
        .regions
        .first()
        .or(global.region.as_ref())
        .or(config.regions.first())
        .cloned();
    if let Some(region) = explicit {
        return Ok(region);
    }
    let ctx = AwsContext::load(&ConnectOptions {
        profile: global.profile.clone(),
        region: None,
        endpoint_url: global.endpoint_url.clone(),
    })
    .await;
    ctx.default_region()
        .ok_or_else(|| usage(AwsError::NoRegion.to_string()))
}

/// Discovers one Region (no IAM) to resolve names and AZ drills. `needs` names the services
/// whose read errors matter (all when empty): stopping an instance only needs to know its group.
async fn region_topology(
    ctx: &AwsContext,
    region: &str,
    identity: &CallerIdentity,
    needs: &[haven_model::Service],
) -> Result<RegionTopology, Fatal> {
    let options = DiscoverOptions {
        include_iam: false,
        identity: Some(identity.clone()),
        ..DiscoverOptions::default()
    };
    let topology = haven_aws::discover(ctx, &[region.to_string()], &options).await;
    if let Some(error) = topology
        .errors
        .iter()
        .find(|e| needs.is_empty() || needs.contains(&e.service))
    {
        return Err(Fatal {
            message: format!(
                "cannot read {region} to prepare the action: {}",
                error.message
            ),
            code: 1,
        });
    }
    topology.regions.into_iter().next().ok_or_else(|| Fatal {
        message: format!("{region} was not discovered"),
        code: 1,
    })
}

fn preview_text(action: &Action) -> String {
    let mut text = format!(
        "{}\n  risk: {} · Region {}\n",
        action.sentence(),
        action.risk(),
        action.region
    );
    if let Some(cost) = action.cost() {
        text.push_str(&format!("  cost: {cost}\n"));
    }
    for call in action.api_calls() {
        text.push_str(&format!("  {call}\n"));
    }
    text
}

fn preview_json(action: &Action) -> Value {
    json!({
        "action": action,
        "sentence": action.sentence(),
        "risk": action.risk(),
        "cost": action.cost(),
        "api_calls": action.api_calls(),
    })
}

/// Asks before an action that interrupts traffic (`yes`) or cannot be undone (the same text the
/// dashboard asks to be typed); without a terminal to ask on, `--yes` is required.
fn confirm(action: &Action) -> Result<(), Fatal> {
    let doing = action.sentence();
    let expected = match action.risk() {
        Risk::Safe => return Ok(()),
        Risk::Disruptive => "yes".to_string(),
        Risk::Destructive => action.confirmation_text().unwrap_or_else(|| "yes".into()),
    };
    let warning = match action.risk() {
        Risk::Destructive => "it cannot be undone",
        _ => "it interrupts or shifts traffic",
    };
    let answer = ask(
        &format!("{} ({warning})", lowercase_first(&doing)),
        &format!("Type {expected:?} to go on:"),
    )?;
    if answer == expected {
        Ok(())
    } else {
        Err(usage(format!(
            "not confirmed (expected {expected:?}); nothing was sent"
        )))
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Runs `haven act`.
pub async fn run(global: &Global, config: &Config, args: &ActArgs) -> Result<(), Fatal> {
    let read_only = global.read_only || config.read_only;
    // Building an AZ drill or resolving a name reads the Region; under --read-only a real run is
    // refused before even that, so nothing at all is sent.
    if read_only && !args.dry_run && args.action.needs_topology() {
        return Err(refuse_read_only(None));
    }
    let mut connection = None;
    let action = if args.action.needs_topology() {
        let (ctx, regions, identity) = connect(global, config).await?;
        let region = regions.first().cloned().unwrap_or_default();
        let needs: &[haven_model::Service] = match args.action {
            ActCommand::InstanceStop { .. } => &[haven_model::Service::AutoScaling],
            _ => &[],
        };
        let topology = region_topology(&ctx, &region, &identity, needs).await?;
        let action = build(&args.action, &region, Some(&topology))?;
        connection = Some((ctx, identity));
        action
    } else {
        let region = offline_region(global, config).await?;
        build(&args.action, &region, None)?
    };

    match args.output {
        ActOutput::Text => print!("{}", preview_text(&action)),
        ActOutput::Json if args.dry_run => {
            let mut document = preview_json(&action);
            document["dry_run"] = json!(true);
            println!("{document:#}");
        }
        ActOutput::Json => eprint!("{}", preview_text(&action)),
    }
    if args.dry_run {
        return Ok(());
    }
    if read_only && action.is_mutating() {
        return Err(refuse_read_only(Some(&action)));
    }
    if !args.yes {
        confirm(&action)?;
    }

    let (ctx, identity) = match connection {
        Some(known) => known,
        None => {
            let (ctx, _, identity) = connect(global, config).await?;
            (ctx, identity)
        }
    };
    let options = ExecuteOptions {
        read_only,
        max_wait: Duration::from_secs(args.wait_timeout),
        ..ExecuteOptions::default()
    };
    let log = ActionLog::new(
        &config.paths.action_log_file(),
        &action,
        &identity,
        ctx.endpoint_url(),
    );
    let last = std::sync::Mutex::new(None::<Progress>);
    let progress = |p: Progress| {
        let percent = p
            .fraction
            .map(|f| format!(" ({:.0}%)", f * 100.0))
            .unwrap_or_default();
        eprintln!("haven: {}: {}{percent}", p.step, p.message);
        if let Some(call) = &p.accepted {
            log.sent(call);
        }
        if let Ok(mut last) = last.lock() {
            *last = Some(p);
        }
    };
    let result = tokio::select! {
        result = haven_aws::execute(&ctx, &action, &options, &progress) => result,
        _ = tokio::signal::ctrl_c() => {
            let last = last.lock().ok().and_then(|l| l.clone());
            log.interrupted(last.as_ref());
            warn_log(&log);
            return Err(Fatal {
                message: interrupted_message(&action, &log.accepted(), last.as_ref()),
                code: 130,
            });
        }
    };
    log.ended(&result);
    warn_log(&log);

    match result {
        Ok(outcome) => {
            print_outcome(&action, &outcome, args.output);
            Ok(())
        }
        Err(error) => {
            let mut fatal = Fatal::from(error);
            fatal.message = format!("action failed: {}", fatal.message);
            Err(fatal)
        }
    }
}

fn refuse_read_only(action: Option<&Action>) -> Fatal {
    let what = action
        .map(|a| format!(" ({})", a.sentence()))
        .unwrap_or_default();
    usage(format!(
        "read-only mode (--read-only or read_only in the config file): this action would change \
         AWS{what}, so it was refused and nothing was sent. Preview it with --dry-run."
    ))
}

fn print_outcome(action: &Action, outcome: &Outcome, output: ActOutput) {
    match output {
        ActOutput::Text => {
            println!("done: {}", outcome.message);
            if !outcome.resulting_ids.is_empty() {
                println!("  created: {}", outcome.resulting_ids.join(", "));
            }
            if !outcome.request_ids.is_empty() {
                println!("  request ids: {}", outcome.request_ids.join(", "));
            }
        }
        ActOutput::Json => {
            let mut document = preview_json(action);
            document["outcome"] = json!(outcome);
            println!("{document:#}");
        }
    }
}

/// `haven act`'s action and target alone, as the dashboard's dialog reads them.
#[derive(Debug, clap::Parser)]
#[command(
    name = "haven act",
    no_binary_name = true,
    disable_help_subcommand = true
)]
struct Line {
    #[command(subcommand)]
    action: ActCommand,
}

/// Reads an action as `haven act` would take it, e.g. `asg-set-capacity lab-asg --desired 3`,
/// and builds it against the Region's topology: the dashboard's dialog uses the same parser and
/// builder as the command line. The error is one line.
pub fn action_from_line(
    line: &str,
    region_code: &str,
    region: Option<&RegionTopology>,
) -> Result<Action, String> {
    use clap::Parser;
    let words = line.split_whitespace();
    let parsed = Line::try_parse_from(words).map_err(|e| {
        let rendered = e.render().to_string();
        let first = rendered
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("cannot read the action")
            .trim();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })?;
    build(&parsed.action, region_code, region).map_err(|fatal| fatal.message)
}

fn warn_log(log: &ActionLog) {
    if let Some(error) = log.error() {
        eprintln!("haven: warning: cannot write the action log {error}");
    }
}

/// What Ctrl-C leaves behind: what AWS accepted and is still doing, and how to follow it.
fn interrupted_message(
    action: &Action,
    accepted: &[AcceptedCall],
    last: Option<&Progress>,
) -> String {
    if accepted.is_empty() {
        return "interrupted before AWS accepted any call (a request in flight may still have \
                been accepted: check with `haven snapshot`)"
            .into();
    }
    let calls: Vec<&str> = accepted.iter().map(|c| c.operation.as_str()).collect();
    let doing = last
        .map(|p| format!(" Last seen: {}: {}.", p.step, p.message))
        .unwrap_or_default();
    format!(
        "interrupted: haven stopped following, but AWS accepted {} and carries on by itself \
         (nothing was undone).{doing} {}",
        calls.join(", "),
        follow_hint(action)
    )
}

/// How to pick the action up again after Ctrl-C or a wait timeout.
fn follow_hint(action: &Action) -> &'static str {
    use ActionKind as K;
    match action.kind {
        // Sending the same request again changes nothing more and follows it.
        K::StopInstance { .. }
        | K::StartInstance
        | K::TerminateInstance
        | K::SetCapacity { .. }
        | K::SuspendProcesses { .. }
        | K::ResumeProcesses { .. }
        | K::RegisterTargets { .. }
        | K::DeregisterTargets { .. }
        | K::ModifyHealthCheck { .. }
        | K::SetListenerWeights { .. }
        | K::SetDefaultLaunchTemplateVersion { .. } => {
            "Run the same command again to follow it: it sends the same request, which changes \
             nothing more."
        }
        // These find what the first run started and follow it.
        K::StartInstanceRefresh { .. }
        | K::CreateReadReplica { .. }
        | K::CreateDbSnapshot { .. } => {
            "Run the same command again to follow it: haven finds the one already under way."
        }
        _ => {
            "Running the same command again would act again or be refused, not follow it: watch \
             it in the dashboard or with `haven snapshot`."
        }
    }
}

/// The action log of one run (JSON lines): a `sent` line the moment AWS accepts each mutating
/// call — so that Ctrl-C, a closed terminal or a crash never leave an accepted change
/// unrecorded — and an `ended` line when haven stops following it. Each line carries the time,
/// caller, Region, action, parameters and request ids; actions carry ids and settings only,
/// never secrets.
pub struct ActionLog {
    path: PathBuf,
    base: Value,
    accepted: Mutex<Vec<AcceptedCall>>,
    error: Mutex<Option<String>>,
}

impl ActionLog {
    /// The log of `action` run by `identity`, appended to `path`.
    pub fn new(
        path: &Path,
        action: &Action,
        identity: &CallerIdentity,
        endpoint: Option<&str>,
    ) -> Self {
        Self {
            path: path.to_path_buf(),
            base: json!({
                "caller_arn": identity.arn,
                "account": identity.account,
                "endpoint": endpoint,
                "region": action.region,
                "action": action.kind.name(),
                "target": action.target,
                "parameters": action.kind,
                "sentence": action.sentence(),
                "risk": action.risk(),
            }),
            accepted: Mutex::new(Vec::new()),
            error: Mutex::new(None),
        }
    }

    /// The `sent` line of a call AWS has just accepted.
    pub fn sent(&self, call: &AcceptedCall) {
        if let Ok(mut accepted) = self.accepted.lock() {
            accepted.push(call.clone());
        }
        self.write(
            "sent",
            json!({
                "operation": call.operation,
                "request_id": call.request_id,
                "request_ids": call.request_id.iter().collect::<Vec<_>>(),
            }),
        );
    }

    /// The calls accepted so far.
    pub fn accepted(&self) -> Vec<AcceptedCall> {
        self.accepted.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn accepted_ids(&self) -> Vec<String> {
        self.accepted()
            .into_iter()
            .filter_map(|c| c.request_id)
            .collect()
    }

    /// The `ended` line: how the action ended. A wait that timed out is `accepted, not
    /// followed`: AWS has the request and may still finish it.
    pub fn ended(&self, result: &Result<Outcome, AwsError>) {
        let (result, request_ids) = match result {
            Ok(outcome) => (
                json!({
                    "status": "ok",
                    "message": outcome.message,
                    "resulting_ids": outcome.resulting_ids,
                }),
                outcome.request_ids.clone(),
            ),
            Err(error) => {
                let mut ids = self.accepted_ids();
                if let AwsError::Service {
                    request_id: Some(id),
                    ..
                } = error
                {
                    ids.push(id.clone());
                }
                let status = if matches!(error, AwsError::WaitTimedOut { .. }) {
                    ACCEPTED_NOT_FOLLOWED
                } else {
                    "error"
                };
                (
                    json!({
                        "status": status,
                        "code": error.code(),
                        "message": error.to_string(),
                    }),
                    ids,
                )
            }
        };
        self.write(
            "ended",
            json!({ "result": result, "request_ids": request_ids }),
        );
    }

    /// The `ended` line of a run interrupted while following (Ctrl-C).
    pub fn interrupted(&self, last: Option<&Progress>) {
        let ids = self.accepted_ids();
        let status = if self.accepted().is_empty() {
            "interrupted"
        } else {
            ACCEPTED_NOT_FOLLOWED
        };
        let message = match last {
            Some(p) => format!("interrupted (Ctrl-C); last seen: {}: {}", p.step, p.message),
            None => "interrupted (Ctrl-C)".into(),
        };
        self.write(
            "ended",
            json!({
                "result": { "status": status, "message": message },
                "request_ids": ids,
            }),
        );
    }

    /// Why a line could not be written, if one could not.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn write(&self, event: &str, fields: Value) {
        let mut line = self.base.clone();
        line["time"] =
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        line["event"] = json!(event);
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        if let Err(e) = append_line(&self.path, &line)
            && let Ok(mut error) = self.error.lock()
        {
            *error = Some(format!("{}: {e}", self.path.display()));
        }
    }
}

/// The status of an action AWS accepted but haven did not follow to its end.
pub const ACCEPTED_NOT_FOLLOWED: &str = "accepted, not followed";

/// Runs an action as `haven act` does, writing its `sent` and `ended` lines to the action log
/// at `log` (the dashboard's jobs). A write error of the log is returned beside the result.
pub async fn execute_logged(
    ctx: &AwsContext,
    action: &Action,
    options: &ExecuteOptions,
    identity: &CallerIdentity,
    log: &Path,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> (Result<Outcome, AwsError>, Option<String>) {
    let log = ActionLog::new(log, action, identity, ctx.endpoint_url());
    let sink = |p: Progress| {
        if let Some(call) = &p.accepted {
            log.sent(call);
        }
        progress(p);
    };
    let result = haven_aws::execute(ctx, action, options, &sink).await;
    log.ended(&result);
    (result, log.error())
}

fn append_line(path: &Path, line: &Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line so that concurrent runs do not interleave within a line.
    file.write_all(format!("{line}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(command: ActCommand) -> Action {
        build(&command, "ap-northeast-2", None).expect("builds")
    }

    #[test]
    fn every_action_of_the_model_is_a_subcommand() {
        use clap::CommandFactory;
        let mut names: Vec<String> = Line::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        names.sort();
        let mut expected: Vec<String> = ActionKind::NAMES.iter().map(|n| n.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn subcommands_build_the_matching_action_kind() {
        let action = built(ActCommand::AsgSetCapacity {
            group: "lab-asg".into(),
            desired: Some(3),
            min: None,
            max: None,
        });
        assert_eq!(action.kind.name(), "asg-set-capacity");
        assert_eq!(action.sentence(), "Set desired capacity of lab-asg to 3");
        let tg =
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-web-tg/abc";
        let action = built(ActCommand::TgDeregister {
            target_group: tg.into(),
            instances: vec!["i-1".into()],
        });
        assert_eq!(action.target.name.as_deref(), Some("lab-web-tg"));
    }

    #[test]
    fn bad_parameters_are_usage_errors() {
        let error = build(
            &ActCommand::AsgSetCapacity {
                group: "lab-asg".into(),
                desired: None,
                min: None,
                max: None,
            },
            "ap-northeast-2",
            None,
        )
        .expect_err("nothing to set");
        assert_eq!(error.code, 2);
        let error = build(
            &ActCommand::ListenerWeights {
                listener: "arn:l".into(),
                weights: vec!["arn:tg=1000".into()],
            },
            "ap-northeast-2",
            None,
        )
        .expect_err("weight too big");
        assert!(error.message.contains("0–999"), "{}", error.message);
    }

    fn read_log(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    fn scale_to_3() -> Action {
        built(ActCommand::AsgSetCapacity {
            group: "lab-asg".into(),
            desired: Some(3),
            min: None,
            max: None,
        })
    }

    #[test]
    fn c6_the_log_has_a_sent_line_when_aws_accepts_and_a_timeout_is_accepted_not_followed() {
        let dir = std::env::temp_dir().join(format!("haven-c6-{}", std::process::id()));
        let path = dir.join("actions.jsonl");
        let _ = std::fs::remove_file(&path);
        let identity = CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
        };
        let log = ActionLog::new(&path, &scale_to_3(), &identity, None);
        log.sent(&AcceptedCall {
            operation: "SetDesiredCapacity".into(),
            request_id: Some("req-1".into()),
        });
        // Written at once, before the action ends.
        let lines = read_log(&path);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["event"], "sent");
        assert_eq!(lines[0]["operation"], "SetDesiredCapacity");
        assert_eq!(lines[0]["request_id"], "req-1");
        assert_eq!(lines[0]["action"], "asg-set-capacity");
        log.ended(&Err(AwsError::WaitTimedOut {
            service: haven_model::Service::AutoScaling,
            waiting_for: "lab-asg to reach its desired capacity".into(),
            waited_seconds: 3600,
        }));
        let lines = read_log(&path);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[1]["event"], "ended");
        assert_eq!(lines[1]["result"]["status"], "accepted, not followed");
        assert_eq!(lines[1]["request_ids"], json!(["req-1"]));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ctrl_c_says_what_aws_is_still_doing_and_how_to_follow_it() {
        let accepted = [AcceptedCall {
            operation: "SetDesiredCapacity".into(),
            request_id: None,
        }];
        let last = Progress::new(
            "waiting for lab-asg to reach its desired capacity",
            "2 of 3 in service, 1 Pending",
            None,
        );
        let text = interrupted_message(&scale_to_3(), &accepted, Some(&last));
        assert!(
            text.contains("AWS accepted SetDesiredCapacity and carries on by itself")
                && text.contains("2 of 3 in service, 1 Pending")
                && text.contains("Run the same command again to follow it"),
            "{text}"
        );
        let reboot = built(ActCommand::RdsReboot {
            db: "lab-db".into(),
            failover: true,
        });
        let text = interrupted_message(&reboot, &accepted, None);
        assert!(text.contains("would act again or be refused"), "{text}");
        assert!(interrupted_message(&reboot, &[], None).contains("before AWS accepted any call"));
    }

    #[test]
    fn c1_asg_start_refresh_takes_a_version_number_or_default_or_latest() {
        let refresh = |version: Option<&str>| {
            build(
                &ActCommand::AsgStartRefresh {
                    group: "lab-asg".into(),
                    version: version.map(str::to_string),
                    min_healthy: None,
                    warmup: None,
                },
                "ap-northeast-2",
                None,
            )
        };
        let action = refresh(Some("5")).expect("a number");
        assert!(preview_text(&action).contains("DesiredConfiguration.LaunchTemplate.Version=5"));
        assert!(refresh(Some("$Latest")).is_ok());
        let error = refresh(Some("five")).expect_err("not a version");
        assert_eq!(error.code, 2);
    }

    #[test]
    fn c7_the_preview_of_a_replica_says_what_it_costs() {
        let action = built(ActCommand::RdsCreateReplica {
            db: "lab-db".into(),
            replica_id: "lab-db-2".into(),
            az: None,
            class: None,
        });
        assert!(
            preview_text(&action)
                .contains("cost: a read replica is a new DB instance, billed per hour"),
            "{}",
            preview_text(&action)
        );
        assert!(preview_json(&action)["cost"].is_string());
    }

    #[test]
    fn names_need_the_topology_but_arns_do_not() {
        let by_name = ActCommand::TgRegister {
            target_group: "lab-web-tg".into(),
            instances: vec!["i-1".into()],
            port: None,
        };
        assert!(by_name.needs_topology());
        let weights = ActCommand::ListenerWeights {
            listener: "arn:l".into(),
            weights: vec!["arn:a=90".into(), "arn:b=10".into()],
        };
        assert!(!weights.needs_topology());
    }
}
