//! The `haven act` line: each action's name, target and parameters as the command line takes
//! them (`asg-set-capacity lab-asg --desired 3`), and the [`Action`] built from them. `haven act`
//! and the dashboard's dialog read the same grammar through this module.

use clap::Subcommand;
use haven_model::RegionTopology;
use haven_model::action::{
    Action, ActionKind, Capacity, HealthCheckChange, ResourceKind, ResourceRef, WeightedForward,
};

use crate::fatal::{Fatal, usage};

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
    /// Route 53: send a failover or weighted name's users to one Region, in one atomic change
    /// (its record there PRIMARY or the whole weight; destructive: needs --yes).
    DnsMoveTraffic {
        /// The record name, e.g. lab.example.com.
        record: String,
        /// The Region users go to, e.g. us-east-1.
        #[arg(long)]
        to: String,
        /// The hosted zone id, when the name is in several zones.
        #[arg(long)]
        zone: Option<String>,
    },
    /// Route 53: set the weights of a weighted name's records, e.g. --weight lab-us-east-1=0.
    DnsSetWeights {
        /// The record name, e.g. lab.example.com.
        record: String,
        /// SET_IDENTIFIER=WEIGHT (0–255; repeatable).
        #[arg(long = "weight", value_name = "SET_ID=WEIGHT", required = true)]
        weights: Vec<String>,
        /// The hosted zone id, when the name is in several zones.
        #[arg(long)]
        zone: Option<String>,
    },
}

impl ActCommand {
    /// The Route 53 actions, built from the account's DNS ([`build_dns`]).
    pub(crate) fn is_dns(&self) -> bool {
        matches!(
            self,
            Self::DnsMoveTraffic { .. } | Self::DnsSetWeights { .. }
        )
    }

    /// Target groups given by name (not ARN), AZ drills and stopping an instance (a group
    /// member is replaced, which changes the risk) need the Region's topology.
    pub(crate) fn needs_topology(&self) -> bool {
        match self {
            Self::AzRemove { .. } | Self::AzRestore { .. } | Self::InstanceStop { .. } => true,
            Self::DnsMoveTraffic { .. } | Self::DnsSetWeights { .. } => true,
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

/// Builds a Route 53 action ([`ActCommand::is_dns`]) from the topology's DNS (and its load
/// balancers, which tell each record's Region).
pub(crate) fn build_dns(
    command: &ActCommand,
    topology: &haven_model::Topology,
) -> Result<Action, Fatal> {
    use haven_model::traffic;
    let invalid = |message: String| usage(message);
    let (record, zone) = match command {
        ActCommand::DnsMoveTraffic { record, zone, .. }
        | ActCommand::DnsSetWeights { record, zone, .. } => (record, zone),
        _ => return Err(invalid("not a Route 53 action".to_string())),
    };
    let name = traffic::named(topology, record, zone.as_deref()).map_err(invalid)?;
    let target = ResourceRef::new(
        ResourceKind::DnsRecord,
        haven_model::action::dns_record_id(&name.zone_id, &name.name),
    )
    .named(name.host());
    let before = Some(name.roles());
    match command {
        ActCommand::DnsMoveTraffic { to, .. } => {
            let records = traffic::move_to(&name, to, None).map_err(invalid)?;
            if records.is_empty() {
                return Err(invalid(format!(
                    "{} sends its users to {to} already ({}); nothing to change",
                    name.host(),
                    name.roles()
                )));
            }
            Ok(Action::new(
                to,
                target,
                ActionKind::MoveTraffic {
                    to_region: to.clone(),
                    records,
                    before,
                },
            ))
        }
        ActCommand::DnsSetWeights { weights, .. } => {
            let mut parsed = std::collections::BTreeMap::new();
            for text in weights {
                let Some((id, weight)) = text.rsplit_once('=') else {
                    return Err(invalid(format!(
                        "--weight {text:?}: expected SET_IDENTIFIER=WEIGHT, e.g. lab-us-east-1=0"
                    )));
                };
                let weight: i64 = weight
                    .parse()
                    .map_err(|_| invalid(format!("--weight {text:?}: the weight must be 0–255")))?;
                parsed.insert(id.to_string(), weight);
            }
            let records = traffic::set_weights(&name, &parsed).map_err(invalid)?;
            let region = name
                .records
                .iter()
                .find_map(|(r, _)| r.clone())
                .unwrap_or_else(|| "us-east-1".to_string());
            Ok(Action::new(
                region,
                target,
                ActionKind::SetDnsWeights { records, before },
            ))
        }
        _ => Err(invalid("not a Route 53 action".to_string())),
    }
}

/// Builds the action; `region` is the Region's topology when [`ActCommand::needs_topology`].
pub(crate) fn build(
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
        C::DnsMoveTraffic { .. } | C::DnsSetWeights { .. } => Err(usage(
            "a Route 53 action is built from the account's DNS, not one Region's".to_string(),
        )),
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

/// `haven act`'s action and target alone, as the dashboard's dialog reads them.
#[derive(Debug, clap::Parser)]
#[command(
    name = "haven act",
    no_binary_name = true,
    disable_help_subcommand = true
)]
pub(crate) struct Line {
    #[command(subcommand)]
    pub(crate) action: ActCommand,
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

/// [`action_from_line`] for the Route 53 actions, built from the whole topology's DNS.
pub fn dns_action_from_line(
    line: &str,
    topology: &haven_model::Topology,
) -> Result<Action, String> {
    use clap::Parser;
    let parsed = Line::try_parse_from(line.split_whitespace()).map_err(|e| {
        let rendered = e.render().to_string();
        let first = rendered
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("cannot read the action")
            .trim();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })?;
    build_dns(&parsed.action, topology).map_err(|fatal| fatal.message)
}
