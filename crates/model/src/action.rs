//! Every user-triggered operation as data: its target, its risk, a human sentence, and the exact
//! API call(s) it will make. `haven-aws` executes an [`Action`]; the dashboard and `haven act`
//! preview it, confirm it in proportion to its [`Risk`], and log it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::topology::{AutoScalingGroup, DnsRecord, InstanceState, RegionTopology, Service};

mod calls;
mod dns;
mod sentence;

pub use dns::{change_call, dns_applicable, split_record_id};

/// How much an action can hurt, which decides how it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Adds something or changes nothing that serves traffic.
    Safe,
    /// Interrupts or shifts traffic, but can be undone.
    Disruptive,
    /// Cannot be undone: needs typed confirmation (the dashboard) or `--yes` (headless).
    Destructive,
}

impl Risk {
    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Disruptive => "disruptive",
            Self::Destructive => "destructive",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of resource an action targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// An EC2 instance (`i-…`).
    Instance,
    /// An Auto Scaling group (by name).
    AutoScalingGroup,
    /// A target group (by ARN).
    TargetGroup,
    /// A load balancer listener (by ARN).
    Listener,
    /// A launch template (`lt-…` or its name).
    LaunchTemplate,
    /// An EBS volume (`vol-…`).
    Volume,
    /// An RDS DB instance (by identifier).
    DbInstance,
    /// An RDS DB cluster (by identifier).
    DbCluster,
    /// A Route 53 record name in a hosted zone, with all its record sets (failover or
    /// weighted): the id is `<hosted zone id>/<name with the final dot>`, e.g.
    /// `Z0123456789ABC/lab.example.com.`; see [`dns_record_id`].
    DnsRecord,
}

/// The id of a [`ResourceKind::DnsRecord`].
pub fn dns_record_id(zone_id: &str, name: &str) -> String {
    let name = name.trim_end_matches('.');
    format!("{zone_id}/{name}.")
}

impl ResourceKind {
    /// A readable name, e.g. `Auto Scaling group`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::AutoScalingGroup => "Auto Scaling group",
            Self::TargetGroup => "target group",
            Self::Listener => "listener",
            Self::LaunchTemplate => "launch template",
            Self::Volume => "volume",
            Self::DbInstance => "DB instance",
            Self::DbCluster => "DB cluster",
            Self::DnsRecord => "DNS record",
        }
    }
}

/// The resource an action is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    /// What it is.
    pub kind: ResourceKind,
    /// The id AWS calls it by (instance id, group name, ARN, DB identifier, …).
    pub id: String,
    /// A readable name, when there is one besides the id (a `Name` tag, a target group's name).
    pub name: Option<String>,
}

impl ResourceRef {
    /// A reference by id only.
    pub fn new(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: None,
        }
    }

    /// The same reference with a readable name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How a sentence calls it: the name when the id is an ARN, else the id and the name.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) if self.id.starts_with("arn:") => name.clone(),
            Some(name) if name != &self.id => format!("{} ({name})", self.id),
            _ => self.id.clone(),
        }
    }
}

/// The three sizes of an Auto Scaling group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// Minimum size.
    pub min: i32,
    /// Maximum size.
    pub max: i32,
    /// Desired capacity.
    pub desired: i32,
}

impl Capacity {
    /// The sizes after setting any of `desired`, `min` and `max`, as Auto Scaling computes them,
    /// or why it would refuse them. Without a new desired capacity, a new min above it raises it
    /// and a new max below it lowers it (UpdateAutoScalingGroup's documented behaviour); a
    /// desired capacity given outside min..max is refused (ValidationError), and the error says
    /// what to add.
    pub fn after(
        self,
        desired: Option<i32>,
        min: Option<i32>,
        max: Option<i32>,
    ) -> Result<Capacity, ActionError> {
        let (new_min, new_max) = (min.unwrap_or(self.min), max.unwrap_or(self.max));
        if let Some(size) = [desired, min, max].into_iter().flatten().find(|s| *s < 0) {
            return Err(ActionError::Invalid(format!(
                "sizes cannot be negative ({size})"
            )));
        }
        if new_min > new_max {
            return Err(ActionError::Invalid(format!(
                "min {new_min} would be above max {new_max}"
            )));
        }
        let new_desired = match desired {
            Some(d) if d > new_max => {
                return Err(ActionError::Invalid(format!(
                    "desired {d} is above the group's max {new_max}: add --max {d} (or more)"
                )));
            }
            Some(d) if d < new_min => {
                return Err(ActionError::Invalid(format!(
                    "desired {d} is below the group's min {new_min}: add --min {d} (or less)"
                )));
            }
            Some(d) => d,
            None => self.desired.clamp(new_min, new_max),
        };
        Ok(Capacity {
            min: new_min,
            max: new_max,
            desired: new_desired,
        })
    }
}

/// One target group of a weighted forward action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedForward {
    /// Target group ARN.
    pub target_group_arn: String,
    /// Its name, for sentences.
    pub name: Option<String>,
    /// Weight, 0–999.
    pub weight: i32,
}

/// New health-check settings of a target group; what is `None` stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckChange {
    /// Path for HTTP(S) checks.
    pub path: Option<String>,
    /// Seconds between checks.
    pub interval_seconds: Option<i32>,
    /// Seconds before a check fails.
    pub timeout_seconds: Option<i32>,
    /// Consecutive successes to become healthy.
    pub healthy_threshold: Option<i32>,
    /// Consecutive failures to become unhealthy.
    pub unhealthy_threshold: Option<i32>,
    /// Expected HTTP codes, e.g. `200` or `200-299`.
    pub matcher: Option<String>,
}

impl HealthCheckChange {
    /// Nothing would change.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One operation on the stack, with everything needed to preview, confirm, run and log it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The Region the calls are made in.
    pub region: String,
    /// The resource acted on.
    pub target: ResourceRef,
    /// What is done, with its parameters.
    pub kind: ActionKind,
}

/// What an action does, with its parameters. The serialized `kind` is the name `haven act` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum ActionKind {
    /// Stop an instance (EBS-backed; its instance store is lost).
    #[serde(rename = "instance-stop")]
    StopInstance {
        /// The Auto Scaling group it is an in-service member of, when it is one: Auto Scaling
        /// counts a stopped instance as unhealthy and terminates and replaces it.
        #[serde(default)]
        group: Option<String>,
    },
    /// Start a stopped instance.
    #[serde(rename = "instance-start")]
    StartInstance,
    /// Reboot an instance.
    #[serde(rename = "instance-reboot")]
    RebootInstance,
    /// Terminate an instance.
    #[serde(rename = "instance-terminate")]
    TerminateInstance,
    /// Set an Auto Scaling group's desired, minimum and/or maximum size.
    #[serde(rename = "asg-set-capacity")]
    SetCapacity {
        /// New desired capacity.
        desired: Option<i32>,
        /// New minimum size.
        min: Option<i32>,
        /// New maximum size.
        max: Option<i32>,
        /// The sizes before, when known (for the sentence).
        current: Option<Capacity>,
    },
    /// Suspend scaling processes (all when the list is empty).
    #[serde(rename = "asg-suspend")]
    SuspendProcesses {
        /// Process names, e.g. `Launch`, `Terminate`, `AZRebalance`.
        processes: Vec<String>,
    },
    /// Resume scaling processes (all when the list is empty).
    #[serde(rename = "asg-resume")]
    ResumeProcesses {
        /// Process names.
        processes: Vec<String>,
    },
    /// Terminate a member of an Auto Scaling group (the target is the instance).
    #[serde(rename = "asg-terminate-instance")]
    TerminateAsgInstance {
        /// Lower the desired capacity by one (no replacement) instead of replacing it.
        decrement: bool,
        /// The group, when known (for the sentence).
        group: Option<String>,
    },
    /// AZ drill: remove one AZ's subnets from a group and take its instances out of the load
    /// balancer. Auto Scaling then terminates those instances and replaces them in the other AZs,
    /// unless `keep_instances` suspends `AZRebalance` first.
    #[serde(rename = "az-remove")]
    RemoveAvailabilityZone {
        /// The AZ taken out.
        availability_zone: String,
        /// Suspend `AZRebalance` first, so that the AZ's instances stay (out of the load balancer
        /// only), as in a real AZ loss.
        #[serde(default)]
        keep_instances: bool,
        /// The subnets the group keeps.
        remaining_subnet_ids: Vec<String>,
        /// The group's target groups.
        target_group_arns: Vec<String>,
        /// The group's instances in that AZ, deregistered from every target group.
        instance_ids: Vec<String>,
    },
    /// Ends an AZ drill: launch into the AZ again and put its instances back behind the load
    /// balancer.
    #[serde(rename = "az-restore")]
    RestoreAvailabilityZone {
        /// The AZ brought back.
        availability_zone: String,
        /// Resume `AZRebalance` afterwards (the drill suspended it to keep the instances).
        #[serde(default)]
        resume_az_rebalance: bool,
        /// Every subnet the group uses afterwards.
        subnet_ids: Vec<String>,
        /// The group's target groups.
        target_group_arns: Vec<String>,
        /// The group's instances in that AZ, registered again.
        instance_ids: Vec<String>,
    },
    /// Register instances with a target group.
    #[serde(rename = "tg-register")]
    RegisterTargets {
        /// Instance ids.
        instance_ids: Vec<String>,
        /// Port (the target group's port when absent).
        port: Option<i32>,
    },
    /// Deregister instances from a target group (connections drain first).
    #[serde(rename = "tg-deregister")]
    DeregisterTargets {
        /// Instance ids.
        instance_ids: Vec<String>,
    },
    /// Change a target group's health-check settings.
    #[serde(rename = "tg-health-check")]
    ModifyHealthCheck {
        /// The new settings.
        change: HealthCheckChange,
    },
    /// Blue/green: forward a listener's default action to weighted target groups.
    #[serde(rename = "listener-weights")]
    SetListenerWeights {
        /// Target groups and weights.
        target_groups: Vec<WeightedForward>,
    },
    /// A new launch template version: every setting copied from a source version, then changed.
    #[serde(rename = "lt-new-version")]
    CreateLaunchTemplateVersion {
        /// The version copied: a number, `$Default` or `$Latest`.
        source_version: String,
        /// New AMI.
        image_id: Option<String>,
        /// New instance type.
        instance_type: Option<String>,
        /// Version description.
        description: Option<String>,
        /// Make the new version the default.
        set_default: bool,
    },
    /// Make a launch template version the default.
    #[serde(rename = "lt-set-default")]
    SetDefaultLaunchTemplateVersion {
        /// Version number.
        version: i64,
    },
    /// Replace an Auto Scaling group's instances in batches (rolling update) with a launch
    /// template version.
    #[serde(rename = "asg-start-refresh")]
    StartInstanceRefresh {
        /// The launch template version rolled out: a number, `$Default` or `$Latest`, resolved to
        /// a number before sending (the template's default when absent).
        #[serde(default)]
        version: Option<String>,
        /// Percentage of capacity kept in service.
        min_healthy_percentage: Option<i32>,
        /// Seconds a new instance gets before it counts as in service.
        instance_warmup_seconds: Option<i32>,
    },
    /// Cancel the running instance refresh.
    #[serde(rename = "asg-cancel-refresh")]
    CancelInstanceRefresh,
    /// Move a group member to standby: out of the load balancer and of health checks, so it can
    /// be stopped or worked on without Auto Scaling replacing it (the target is the instance).
    #[serde(rename = "asg-enter-standby")]
    EnterStandby {
        /// The group (looked up from the instance when absent).
        group: Option<String>,
        /// Keep the desired capacity: Auto Scaling launches a replacement meanwhile.
        keep_capacity: bool,
    },
    /// Put a standby member back in service (the target is the instance).
    #[serde(rename = "asg-exit-standby")]
    ExitStandby {
        /// The group (looked up from the instance when absent).
        group: Option<String>,
    },
    /// Create an AMI from an instance.
    #[serde(rename = "instance-create-image")]
    CreateImage {
        /// AMI name.
        name: String,
        /// Do not reboot the instance first (the file systems may not be consistent).
        no_reboot: bool,
    },
    /// Create a snapshot of an EBS volume.
    #[serde(rename = "volume-snapshot")]
    CreateSnapshot {
        /// Snapshot description.
        description: Option<String>,
    },
    /// Reboot a DB instance, with a Multi-AZ failover to the standby if asked.
    #[serde(rename = "rds-reboot")]
    RebootDbInstance {
        /// Fail over to the standby while rebooting.
        force_failover: bool,
    },
    /// Fail an Aurora (or Multi-AZ) DB cluster over to another member.
    #[serde(rename = "rds-cluster-failover")]
    FailoverDbCluster {
        /// The reader to promote (RDS chooses when absent).
        target_instance: Option<String>,
    },
    /// Promote a read replica to a standalone DB instance (replication stops for good).
    #[serde(rename = "rds-promote")]
    PromoteReadReplica,
    /// Create a read replica in the same Region.
    #[serde(rename = "rds-create-replica")]
    CreateReadReplica {
        /// The new replica's identifier.
        replica_identifier: String,
        /// Its AZ.
        availability_zone: Option<String>,
        /// Its class (the source's when absent).
        instance_class: Option<String>,
    },
    /// Create a manual DB snapshot.
    #[serde(rename = "rds-snapshot")]
    CreateDbSnapshot {
        /// The snapshot's identifier.
        snapshot_identifier: String,
    },
    /// Change a DB instance's class.
    #[serde(rename = "rds-modify-class")]
    ModifyDbInstanceClass {
        /// New class, e.g. `db.t3.small`.
        class: String,
        /// Apply now (with a short outage) instead of in the next maintenance window.
        apply_immediately: bool,
        /// The class before, when known (for the sentence).
        current: Option<String>,
    },
    /// Route 53: send a failover or weighted name's users to one Region, in one change batch
    /// (atomic): its record there becomes PRIMARY (or takes the whole weight), the others
    /// SECONDARY (weight 0). The target is the name ([`ResourceKind::DnsRecord`]).
    #[serde(rename = "dns-move-traffic")]
    MoveTraffic {
        /// The Region users go to.
        to_region: String,
        /// The record sets as they are after the change (each sent as an UPSERT).
        records: Vec<DnsRecord>,
        /// The roles before, for the sentence (`PRIMARY ap-northeast-2, SECONDARY us-east-1`).
        #[serde(default)]
        before: Option<String>,
    },
    /// Route 53: set the weights of a weighted name's records (0–255 each), in one change batch.
    #[serde(rename = "dns-set-weights")]
    SetDnsWeights {
        /// The record sets as they are after the change (each sent as an UPSERT).
        records: Vec<DnsRecord>,
        /// The weights before, for the sentence.
        #[serde(default)]
        before: Option<String>,
    },
}

impl ActionKind {
    /// Every action's name, as [`ActionKind::name`] gives it and `haven act` takes it.
    pub const NAMES: [&'static str; 30] = [
        "instance-stop",
        "instance-start",
        "instance-reboot",
        "instance-terminate",
        "asg-set-capacity",
        "asg-suspend",
        "asg-resume",
        "asg-terminate-instance",
        "az-remove",
        "az-restore",
        "tg-register",
        "tg-deregister",
        "tg-health-check",
        "listener-weights",
        "lt-new-version",
        "lt-set-default",
        "asg-start-refresh",
        "asg-cancel-refresh",
        "asg-enter-standby",
        "asg-exit-standby",
        "instance-create-image",
        "volume-snapshot",
        "rds-reboot",
        "rds-cluster-failover",
        "rds-promote",
        "rds-create-replica",
        "rds-snapshot",
        "rds-modify-class",
        "dns-move-traffic",
        "dns-set-weights",
    ];

    /// The name `haven act` and the log use, e.g. `asg-set-capacity`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::StopInstance { .. } => "instance-stop",
            Self::StartInstance => "instance-start",
            Self::RebootInstance => "instance-reboot",
            Self::TerminateInstance => "instance-terminate",
            Self::SetCapacity { .. } => "asg-set-capacity",
            Self::SuspendProcesses { .. } => "asg-suspend",
            Self::ResumeProcesses { .. } => "asg-resume",
            Self::TerminateAsgInstance { .. } => "asg-terminate-instance",
            Self::RemoveAvailabilityZone { .. } => "az-remove",
            Self::RestoreAvailabilityZone { .. } => "az-restore",
            Self::RegisterTargets { .. } => "tg-register",
            Self::DeregisterTargets { .. } => "tg-deregister",
            Self::ModifyHealthCheck { .. } => "tg-health-check",
            Self::SetListenerWeights { .. } => "listener-weights",
            Self::CreateLaunchTemplateVersion { .. } => "lt-new-version",
            Self::SetDefaultLaunchTemplateVersion { .. } => "lt-set-default",
            Self::StartInstanceRefresh { .. } => "asg-start-refresh",
            Self::CancelInstanceRefresh => "asg-cancel-refresh",
            Self::EnterStandby { .. } => "asg-enter-standby",
            Self::ExitStandby { .. } => "asg-exit-standby",
            Self::CreateImage { .. } => "instance-create-image",
            Self::CreateSnapshot { .. } => "volume-snapshot",
            Self::RebootDbInstance { .. } => "rds-reboot",
            Self::FailoverDbCluster { .. } => "rds-cluster-failover",
            Self::PromoteReadReplica => "rds-promote",
            Self::CreateReadReplica { .. } => "rds-create-replica",
            Self::CreateDbSnapshot { .. } => "rds-snapshot",
            Self::ModifyDbInstanceClass { .. } => "rds-modify-class",
            Self::MoveTraffic { .. } => "dns-move-traffic",
            Self::SetDnsWeights { .. } => "dns-set-weights",
        }
    }
}

/// One API call an action makes, with its request parameters in the Query-protocol spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    /// The service.
    pub service: Service,
    /// The operation, e.g. `SetDesiredCapacity`.
    pub operation: String,
    /// Request parameters, e.g. `DesiredCapacity` → `3`.
    pub parameters: BTreeMap<String, String>,
}

impl ApiCall {
    pub(crate) fn new(service: Service, operation: &str) -> Self {
        Self {
            service,
            operation: operation.to_string(),
            parameters: BTreeMap::new(),
        }
    }

    pub(crate) fn param(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.parameters.insert(key.into(), value.to_string());
        self
    }

    pub(crate) fn param_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.param(key, value),
            None => self,
        }
    }

    /// A list parameter as `prefix.1`, `prefix.2`, … (`prefix.1.suffix` when `suffix` is set).
    pub(crate) fn list(mut self, prefix: &str, suffix: &str, values: &[String]) -> Self {
        for (i, value) in values.iter().enumerate() {
            self.parameters
                .insert(format!("{prefix}.{}{suffix}", i + 1), value.clone());
        }
        self
    }

    /// The parameter's value, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.parameters.get(key).map(String::as_str)
    }
}

impl fmt::Display for ApiCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service, self.operation)?;
        for (key, value) in &self.parameters {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

/// A progress event while an action runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The step, e.g. `StopInstances` or `waiting for i-… to be stopped`.
    pub step: String,
    /// What happened.
    pub message: String,
    /// Done so far, 0.0–1.0, when known.
    pub fraction: Option<f32>,
    /// Set on the event of a mutating call AWS has just accepted: from here on the change is
    /// AWS's to finish, whatever happens to haven (the action log writes its `sent` line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<AcceptedCall>,
}

impl Progress {
    /// A progress event that is not an accepted call.
    pub fn new(step: impl Into<String>, message: impl Into<String>, fraction: Option<f32>) -> Self {
        Self {
            step: step.into(),
            message: message.into(),
            fraction,
            accepted: None,
        }
    }
}

/// A mutating call AWS accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedCall {
    /// The operation, e.g. `SetDesiredCapacity`.
    pub operation: String,
    /// Its request id, for AWS support and CloudTrail.
    pub request_id: Option<String>,
}

/// How an action ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Request ids of the calls made, for AWS support.
    pub request_ids: Vec<String>,
    /// What was done, in a sentence.
    pub message: String,
    /// Ids of what was created (AMI, snapshot, replica, launch template version, refresh).
    pub resulting_ids: Vec<String>,
}

/// An action the menu offers for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActionTemplate {
    /// The `haven act` name, e.g. `rds-reboot`.
    pub name: &'static str,
    /// A menu title.
    pub title: &'static str,
    /// Its risk with default parameters.
    pub risk: Risk,
}

/// Why an action cannot be built from the topology.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The resource is not in the topology.
    #[error("{kind} {id} was not found in {region}")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The Region looked in.
        region: String,
    },
    /// The action does not make sense for this resource as it is.
    #[error("{0}")]
    Invalid(String),
}

/// How the preview shows the tags copied from the source onto what haven creates.
const SOURCE_TAGS: &str = "<the source's haven:stack and Name tags>";

/// The tags copied from a source resource onto an AMI or snapshot made from it.
pub const COPIED_TAGS: [&str; 2] = ["haven:stack", "Name"];

fn s(value: &str) -> String {
    value.to_string()
}

fn join(values: &[String]) -> String {
    values.join(", ")
}

fn list_or_all(processes: &[String]) -> String {
    if processes.is_empty() {
        "all scaling processes".into()
    } else {
        format!("{} process(es) {}", processes.len(), join(processes))
    }
}

fn change(label: &str, from: Option<i32>, to: i32) -> String {
    match from {
        Some(from) if from != to => format!("{label} from {from} to {to}"),
        Some(_) => format!("{label} {to} (unchanged)"),
        None => format!("{label} to {to}"),
    }
}

/// The groups an action's sentence and calls are written in, one per service (the AZ drill,
/// which spans Auto Scaling and load balancing, on its own).
#[derive(Debug, Clone, Copy)]
enum Family {
    Ec2,
    AutoScaling,
    AzDrill,
    Elb,
    Rds,
    Route53,
}

impl ActionKind {
    /// The group whose helpers describe it.
    fn family(&self) -> Family {
        use ActionKind::*;
        match self {
            StopInstance { .. }
            | StartInstance
            | RebootInstance
            | TerminateInstance
            | CreateImage { .. }
            | CreateSnapshot { .. }
            | CreateLaunchTemplateVersion { .. }
            | SetDefaultLaunchTemplateVersion { .. } => Family::Ec2,
            SetCapacity { .. }
            | SuspendProcesses { .. }
            | ResumeProcesses { .. }
            | TerminateAsgInstance { .. }
            | StartInstanceRefresh { .. }
            | CancelInstanceRefresh
            | EnterStandby { .. }
            | ExitStandby { .. } => Family::AutoScaling,
            RemoveAvailabilityZone { .. } | RestoreAvailabilityZone { .. } => Family::AzDrill,
            RegisterTargets { .. }
            | DeregisterTargets { .. }
            | ModifyHealthCheck { .. }
            | SetListenerWeights { .. } => Family::Elb,
            RebootDbInstance { .. }
            | FailoverDbCluster { .. }
            | PromoteReadReplica
            | CreateReadReplica { .. }
            | CreateDbSnapshot { .. }
            | ModifyDbInstanceClass { .. } => Family::Rds,
            MoveTraffic { .. } | SetDnsWeights { .. } => Family::Route53,
        }
    }
}

impl Action {
    /// An action on a resource in a Region.
    pub fn new(region: impl Into<String>, target: ResourceRef, kind: ActionKind) -> Self {
        Self {
            region: region.into(),
            target,
            kind,
        }
    }

    /// How much harm it can do.
    pub fn risk(&self) -> Risk {
        use ActionKind::*;
        match &self.kind {
            TerminateInstance | TerminateAsgInstance { .. } | PromoteReadReplica => {
                Risk::Destructive
            }
            // Users go to another Region's database: after a failover the old one is stale, and
            // writes made meanwhile in the Region they leave do not follow them. Undoing it is
            // another move, not a rollback: typed confirmation.
            MoveTraffic { .. } => Risk::Destructive,
            SetDnsWeights { .. } => Risk::Disruptive,
            // Auto Scaling terminates a stopped member and launches a replacement (health
            // checks: https://docs.aws.amazon.com/autoscaling/ec2/userguide/healthcheck.html).
            StopInstance { group: Some(_) } => Risk::Destructive,
            // Removing an AZ's subnets is a rebalancing trigger: Auto Scaling launches
            // replacements in the other AZs and terminates the AZ's instances (
            // https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-add-availability-zone.html
            // ); with AZRebalance suspended they stay.
            RemoveAvailabilityZone { keep_instances, .. } => {
                if *keep_instances {
                    Risk::Disruptive
                } else {
                    Risk::Destructive
                }
            }
            // With no instance to put back (the drill terminated them), the group rebalances
            // again: it launches in the AZ and terminates as many elsewhere.
            RestoreAvailabilityZone { instance_ids, .. } => {
                if instance_ids.is_empty() {
                    Risk::Disruptive
                } else {
                    Risk::Safe
                }
            }
            StopInstance { group: None }
            | EnterStandby { .. }
            | RebootInstance
            | SetCapacity { .. }
            | SuspendProcesses { .. }
            | DeregisterTargets { .. }
            | ModifyHealthCheck { .. }
            | SetListenerWeights { .. }
            | SetDefaultLaunchTemplateVersion { .. }
            | StartInstanceRefresh { .. }
            | RebootDbInstance { .. }
            | FailoverDbCluster { .. }
            | ModifyDbInstanceClass { .. } => Risk::Disruptive,
            CreateImage { no_reboot, .. } => {
                if *no_reboot {
                    Risk::Safe
                } else {
                    Risk::Disruptive
                }
            }
            CreateLaunchTemplateVersion { set_default, .. } => {
                if *set_default {
                    Risk::Disruptive
                } else {
                    Risk::Safe
                }
            }
            StartInstance
            | ResumeProcesses { .. }
            | ExitStandby { .. }
            | RegisterTargets { .. }
            | CancelInstanceRefresh
            | CreateSnapshot { .. }
            | CreateReadReplica { .. }
            | CreateDbSnapshot { .. } => Risk::Safe,
        }
    }

    /// It changes something in AWS (`--read-only` refuses it).
    pub fn is_mutating(&self) -> bool {
        // Every action in the catalogue changes AWS; a read-only one (e.g. a health probe) would
        // return false here.
        match &self.kind {
            ActionKind::StopInstance { .. }
            | ActionKind::StartInstance
            | ActionKind::RebootInstance
            | ActionKind::TerminateInstance
            | ActionKind::EnterStandby { .. }
            | ActionKind::ExitStandby { .. }
            | ActionKind::SetCapacity { .. }
            | ActionKind::SuspendProcesses { .. }
            | ActionKind::ResumeProcesses { .. }
            | ActionKind::TerminateAsgInstance { .. }
            | ActionKind::RemoveAvailabilityZone { .. }
            | ActionKind::RestoreAvailabilityZone { .. }
            | ActionKind::RegisterTargets { .. }
            | ActionKind::DeregisterTargets { .. }
            | ActionKind::ModifyHealthCheck { .. }
            | ActionKind::SetListenerWeights { .. }
            | ActionKind::CreateLaunchTemplateVersion { .. }
            | ActionKind::SetDefaultLaunchTemplateVersion { .. }
            | ActionKind::StartInstanceRefresh { .. }
            | ActionKind::CancelInstanceRefresh
            | ActionKind::CreateImage { .. }
            | ActionKind::CreateSnapshot { .. }
            | ActionKind::RebootDbInstance { .. }
            | ActionKind::FailoverDbCluster { .. }
            | ActionKind::PromoteReadReplica
            | ActionKind::CreateReadReplica { .. }
            | ActionKind::CreateDbSnapshot { .. }
            | ActionKind::ModifyDbInstanceClass { .. }
            | ActionKind::MoveTraffic { .. }
            | ActionKind::SetDnsWeights { .. } => true,
        }
    }

    /// What must be typed to confirm it: the resource's id (its name for ARNs), for destructive
    /// actions only.
    pub fn confirmation_text(&self) -> Option<String> {
        if self.risk() != Risk::Destructive {
            return None;
        }
        Some(match &self.target.name {
            Some(name) if self.target.id.starts_with("arn:") => name.clone(),
            // A record name: the host users type, not `<zone id>/<name.>`.
            _ if self.target.kind == ResourceKind::DnsRecord => dns::host(&self.target.id),
            _ => self.target.id.clone(),
        })
    }

    /// A sentence saying what it will do, e.g. "Set desired capacity of lab-asg from 2 to 3".
    pub fn sentence(&self) -> String {
        let target = self.target.label();
        match self.kind.family() {
            Family::Ec2 => sentence::ec2(&self.kind, &target),
            Family::AutoScaling => sentence::auto_scaling(&self.kind, &target),
            Family::AzDrill => sentence::az_drill(&self.kind, &target),
            Family::Elb => sentence::elb(&self.kind, &target),
            Family::Rds => sentence::rds(&self.kind, &target),
            Family::Route53 => dns::sentence(&self.kind, &dns::host(&self.target.id)),
        }
    }

    /// What it adds to the bill, when it adds something that keeps costing after the action
    /// (shown with the sentence in the preview and the dialog).
    pub fn cost(&self) -> Option<&'static str> {
        use ActionKind::*;
        match &self.kind {
            // https://aws.amazon.com/rds/pricing/: a read replica is billed as a DB instance.
            CreateReadReplica { .. } => Some(
                "a read replica is a new DB instance, billed per hour (plus its storage) until \
                 it is deleted",
            ),
            // https://aws.amazon.com/ebs/pricing/ and https://aws.amazon.com/rds/pricing/:
            // snapshot storage is billed per GB-month.
            CreateSnapshot { .. } | CreateImage { .. } => {
                Some("snapshots are billed per GB-month of stored data until they are deleted")
            }
            CreateDbSnapshot { .. } => Some(
                "manual DB snapshots are billed per GB-month beyond the free backup storage, \
                 and kept until deleted",
            ),
            EnterStandby {
                keep_capacity: true,
                ..
            } => Some("the replacement instance is billed as long as the standby one runs"),
            _ => None,
        }
    }

    /// The exact calls it makes (reads the executor needs first included; the polling that
    /// follows it to completion is not).
    pub fn api_calls(&self) -> Vec<ApiCall> {
        let id = self.target.id.as_str();
        match self.kind.family() {
            Family::Ec2 => calls::ec2_calls(&self.kind, id),
            Family::AutoScaling => calls::auto_scaling_calls(&self.kind, id),
            Family::AzDrill => calls::az_drill_calls(&self.kind, id),
            Family::Elb => calls::elb_calls(&self.kind, id),
            Family::Rds => calls::rds_calls(&self.kind, id),
            Family::Route53 => dns::calls(&self.kind, id),
        }
    }

    /// AZ drill: take `availability_zone` out of group `asg_name` (its subnets there removed, its
    /// instances there deregistered from the group's target groups). With `keep_instances`,
    /// `AZRebalance` is suspended first so that Auto Scaling leaves those instances running.
    pub fn remove_availability_zone(
        region: &RegionTopology,
        asg_name: &str,
        availability_zone: &str,
        keep_instances: bool,
    ) -> Result<Self, ActionError> {
        let group = find_group(region, asg_name)?;
        let (inside, remaining): (Vec<String>, Vec<String>) =
            group.subnet_ids.iter().cloned().partition(|id| {
                region
                    .subnet(id)
                    .is_some_and(|s| s.availability_zone == availability_zone)
            });
        if inside.is_empty() {
            return Err(ActionError::Invalid(format!(
                "{asg_name} does not launch into {availability_zone}; its subnets are {}",
                join(&group.subnet_ids)
            )));
        }
        if remaining.is_empty() {
            return Err(ActionError::Invalid(format!(
                "{availability_zone} is the only AZ of {asg_name}; taking it out would leave \
                 the group nowhere to launch"
            )));
        }
        Ok(Self::new(
            region.region.clone(),
            ResourceRef::new(ResourceKind::AutoScalingGroup, asg_name),
            ActionKind::RemoveAvailabilityZone {
                availability_zone: availability_zone.to_string(),
                keep_instances,
                remaining_subnet_ids: remaining,
                target_group_arns: group.target_group_arns.clone(),
                instance_ids: members_in(region, group, availability_zone),
            },
        ))
    }

    /// Ends an AZ drill: adds `subnet_ids` (or, when empty, the subnets of that AZ in the group's
    /// VPC that are public or private like the group's others) back to the group and registers its
    /// instances there again.
    pub fn restore_availability_zone(
        region: &RegionTopology,
        asg_name: &str,
        availability_zone: &str,
        subnet_ids: &[String],
    ) -> Result<Self, ActionError> {
        let group = find_group(region, asg_name)?;
        let added: Vec<String> = if subnet_ids.is_empty() {
            let current: Vec<_> = group
                .subnet_ids
                .iter()
                .filter_map(|id| region.subnet(id))
                .collect();
            let public = current.first().map(|s| region.subnet_is_public(&s.id));
            let candidates: Vec<String> = region
                .subnets
                .iter()
                .filter(|s| {
                    s.availability_zone == availability_zone
                        && current.iter().any(|c| c.vpc_id == s.vpc_id)
                        && Some(region.subnet_is_public(&s.id)) == public
                        && !group.subnet_ids.contains(&s.id)
                })
                .map(|s| s.id.clone())
                .collect();
            match candidates.len() {
                0 => {
                    return Err(ActionError::Invalid(format!(
                        "no subnet of {asg_name}'s VPC in {availability_zone} fits; name it with \
                         --subnet"
                    )));
                }
                1 => candidates,
                _ => {
                    return Err(ActionError::Invalid(format!(
                        "several subnets in {availability_zone} fit ({}); choose with --subnet",
                        join(&candidates)
                    )));
                }
            }
        } else {
            subnet_ids.to_vec()
        };
        let mut all = group.subnet_ids.clone();
        for id in added {
            if !all.contains(&id) {
                all.push(id);
            }
        }
        Ok(Self::new(
            region.region.clone(),
            ResourceRef::new(ResourceKind::AutoScalingGroup, asg_name),
            ActionKind::RestoreAvailabilityZone {
                availability_zone: availability_zone.to_string(),
                // The drill that kept the instances suspended AZRebalance; resuming it once the
                // AZ is back finds the group balanced.
                resume_az_rebalance: group.suspended_processes.iter().any(|p| p == "AZRebalance"),
                subnet_ids: all,
                target_group_arns: group.target_group_arns.clone(),
                instance_ids: members_in(region, group, availability_zone),
            },
        ))
    }
}

fn find_group<'a>(
    region: &'a RegionTopology,
    name: &str,
) -> Result<&'a AutoScalingGroup, ActionError> {
    region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == name)
        .ok_or_else(|| ActionError::NotFound {
            kind: "Auto Scaling group",
            id: name.to_string(),
            region: region.region.clone(),
        })
}

/// The group's live members in an AZ.
fn members_in(region: &RegionTopology, group: &AutoScalingGroup, az: &str) -> Vec<String> {
    group
        .instances
        .iter()
        .filter(|m| m.availability_zone == az)
        .filter(|m| {
            region
                .instance(&m.instance_id)
                .is_none_or(|i| !i.state.is_gone())
        })
        .map(|m| m.instance_id.clone())
        .collect()
}

const fn template(name: &'static str, title: &'static str, risk: Risk) -> ActionTemplate {
    ActionTemplate { name, title, risk }
}

/// The actions that apply to a resource as it is in the topology (for the action menu).
pub fn applicable(region: &RegionTopology, target: &ResourceRef) -> Vec<ActionTemplate> {
    use Risk::*;
    let id = target.id.as_str();
    let mut out = Vec::new();
    match target.kind {
        // Route 53 is global: its actions are offered from the account's DNS (`dns_applicable`).
        ResourceKind::DnsRecord => {}
        ResourceKind::Instance => {
            let state = region.instance(id).map(|i| i.state);
            let group = region.asg_for_instance(id);
            let lifecycle = group.and_then(|g| {
                g.instances
                    .iter()
                    .find(|m| m.instance_id == id)
                    .map(|m| m.lifecycle_state.as_str())
            });
            let in_service = group.is_some() && lifecycle != Some("Standby");
            match state {
                Some(InstanceState::Stopped) => out.push(template("instance-start", "Start", Safe)),
                Some(InstanceState::Running) => {
                    if in_service {
                        out.push(template(
                            "asg-enter-standby",
                            "Move to standby (then stop it safely)",
                            Disruptive,
                        ));
                        out.push(template(
                            "instance-stop",
                            "Stop (Auto Scaling replaces it)",
                            Destructive,
                        ));
                    } else {
                        out.push(template("instance-stop", "Stop", Disruptive));
                    }
                    out.push(template("instance-reboot", "Reboot", Disruptive));
                }
                _ => {}
            }
            if lifecycle == Some("Standby") {
                out.push(template("asg-exit-standby", "Put back in service", Safe));
            }
            if state.is_some_and(|s| !s.is_gone()) {
                out.push(template(
                    "instance-create-image",
                    "Create an AMI",
                    Disruptive,
                ));
                if region.asg_for_instance(id).is_some() {
                    out.push(template(
                        "asg-terminate-instance",
                        "Terminate in its Auto Scaling group",
                        Destructive,
                    ));
                }
                out.push(template("instance-terminate", "Terminate", Destructive));
            }
        }
        ResourceKind::AutoScalingGroup => {
            out.extend([
                template("asg-set-capacity", "Set capacity", Disruptive),
                template("asg-suspend", "Suspend processes", Disruptive),
                template("asg-resume", "Resume processes", Safe),
                template(
                    "az-remove",
                    "AZ drill: remove an AZ (its instances are replaced)",
                    Destructive,
                ),
            ]);
            // Only when there is an AZ to put back.
            let group = region.auto_scaling_groups.iter().find(|g| g.name == id);
            if group.is_some_and(|g| !region.restorable_azs(g).is_empty()) {
                out.push(template("az-restore", "AZ drill: put the AZ back", Safe));
            }
            out.extend([
                template("asg-start-refresh", "Start an instance refresh", Disruptive),
                template("asg-cancel-refresh", "Cancel the instance refresh", Safe),
            ]);
        }
        ResourceKind::TargetGroup => out.extend([
            template("tg-register", "Register targets", Safe),
            template("tg-deregister", "Deregister targets", Disruptive),
            template("tg-health-check", "Health-check settings", Disruptive),
        ]),
        ResourceKind::Listener => out.push(template(
            "listener-weights",
            "Blue/green weights",
            Disruptive,
        )),
        ResourceKind::LaunchTemplate => out.extend([
            template("lt-new-version", "New version", Safe),
            template("lt-set-default", "Set the default version", Disruptive),
        ]),
        ResourceKind::Volume => out.push(template("volume-snapshot", "Create a snapshot", Safe)),
        ResourceKind::DbInstance => {
            let db = region.db_instances.iter().find(|d| d.identifier == id);
            out.push(template("rds-reboot", "Reboot", Disruptive));
            if let Some(db) = db {
                if db.read_replica_source.is_some() {
                    out.push(template(
                        "rds-promote",
                        "Promote to standalone",
                        Destructive,
                    ));
                }
                if db.cluster_identifier.is_none() {
                    out.push(template(
                        "rds-create-replica",
                        "Create a read replica (billed per hour)",
                        Safe,
                    ));
                    out.push(template("rds-snapshot", "Create a snapshot", Safe));
                }
            }
            out.push(template("rds-modify-class", "Change the class", Disruptive));
        }
        ResourceKind::DbCluster => {
            let members = region
                .db_clusters
                .iter()
                .find(|c| c.identifier == id)
                .map_or(0, |c| c.members.len());
            if members > 1 {
                out.push(template(
                    "rds-cluster-failover",
                    "Fail over to a reader",
                    Disruptive,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{AsgInstance, Subnet, Tags};

    fn action(kind: ActionKind, target: ResourceRef) -> Action {
        Action::new("ap-northeast-2", target, kind)
    }

    fn instance(kind: ActionKind) -> Action {
        action(kind, ResourceRef::new(ResourceKind::Instance, "i-0abc"))
    }

    fn asg(kind: ActionKind) -> Action {
        action(
            kind,
            ResourceRef::new(ResourceKind::AutoScalingGroup, "lab-asg"),
        )
    }

    fn db(kind: ActionKind) -> Action {
        action(kind, ResourceRef::new(ResourceKind::DbInstance, "lab-db"))
    }

    const TG: &str =
        "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-web-tg/1";

    fn tg(kind: ActionKind) -> Action {
        action(
            kind,
            ResourceRef::new(ResourceKind::TargetGroup, TG).named("lab-web-tg"),
        )
    }

    /// The only call's operation and parameters.
    fn only_call(action: &Action) -> ApiCall {
        let calls = action.api_calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        calls.into_iter().next().expect("one call")
    }

    #[test]
    fn set_desired_capacity_reads_as_a_change_and_calls_set_desired_capacity() {
        let a = asg(ActionKind::SetCapacity {
            desired: Some(3),
            min: None,
            max: None,
            current: Some(Capacity {
                min: 2,
                max: 6,
                desired: 2,
            }),
        });
        assert_eq!(a.sentence(), "Set desired capacity of lab-asg from 2 to 3");
        assert_eq!(a.risk(), Risk::Disruptive);
        assert!(a.is_mutating());
        assert_eq!(a.confirmation_text(), None);
        assert_eq!(
            only_call(&a).to_string(),
            "autoscaling SetDesiredCapacity AutoScalingGroupName=lab-asg DesiredCapacity=3 \
             HonorCooldown=false"
        );
    }

    #[test]
    fn capacity_changes_are_computed_as_auto_scaling_does_and_out_of_range_is_refused() {
        let now = Capacity {
            min: 2,
            max: 4,
            desired: 2,
        };
        let sizes = |c: Capacity| (c.min, c.max, c.desired);
        assert_eq!(
            now.after(Some(3), None, None).map(sizes).ok(),
            Some((2, 4, 3))
        );
        // A new min above the desired capacity raises it; a new max below it lowers it.
        assert_eq!(
            now.after(None, Some(3), None).map(sizes).ok(),
            Some((3, 4, 3))
        );
        let big = Capacity { desired: 4, ..now };
        assert_eq!(
            big.after(None, None, Some(3)).map(sizes).ok(),
            Some((2, 3, 3))
        );
        assert_eq!(
            now.after(Some(9), None, Some(9)).map(sizes).ok(),
            Some((2, 9, 9))
        );

        let error = |r: Result<Capacity, ActionError>| r.expect_err("refused").to_string();
        assert_eq!(
            error(now.after(Some(9), None, None)),
            "desired 9 is above the group's max 4: add --max 9 (or more)"
        );
        assert_eq!(
            error(now.after(Some(1), None, None)),
            "desired 1 is below the group's min 2: add --min 1 (or less)"
        );
        assert_eq!(
            error(now.after(None, Some(5), None)),
            "min 5 would be above max 4"
        );
        assert_eq!(
            error(now.after(Some(-1), Some(0), None)),
            "sizes cannot be negative (-1)"
        );
    }

    #[test]
    fn min_and_max_go_through_update_auto_scaling_group() {
        let a = asg(ActionKind::SetCapacity {
            desired: Some(4),
            min: Some(1),
            max: Some(8),
            current: None,
        });
        assert_eq!(
            a.sentence(),
            "Set capacity of lab-asg: min to 1, max to 8, desired to 4"
        );
        let call = only_call(&a);
        assert_eq!(call.operation, "UpdateAutoScalingGroup");
        assert_eq!(call.get("MinSize"), Some("1"));
        assert_eq!(call.get("MaxSize"), Some("8"));
        assert_eq!(call.get("DesiredCapacity"), Some("4"));
    }

    #[test]
    fn instance_actions_call_ec2_with_the_instance_id() {
        for (kind, op, risk) in [
            (
                ActionKind::StopInstance { group: None },
                "StopInstances",
                Risk::Disruptive,
            ),
            (ActionKind::StartInstance, "StartInstances", Risk::Safe),
            (
                ActionKind::RebootInstance,
                "RebootInstances",
                Risk::Disruptive,
            ),
            (
                ActionKind::TerminateInstance,
                "TerminateInstances",
                Risk::Destructive,
            ),
        ] {
            let a = instance(kind);
            let call = only_call(&a);
            assert_eq!(call.service, Service::Ec2);
            assert_eq!(call.operation, op);
            assert_eq!(call.get("InstanceId.1"), Some("i-0abc"));
            assert_eq!(a.risk(), risk, "{op}");
        }
        let stop = instance(ActionKind::StopInstance { group: None });
        assert_eq!(stop.sentence(), "Stop instance i-0abc");
        let terminate = instance(ActionKind::TerminateInstance);
        assert_eq!(terminate.confirmation_text().as_deref(), Some("i-0abc"));
    }

    #[test]
    fn terminating_in_a_group_says_whether_it_is_replaced() {
        let keep = instance(ActionKind::TerminateAsgInstance {
            decrement: false,
            group: Some("lab-asg".into()),
        });
        let call = only_call(&keep);
        assert_eq!(call.operation, "TerminateInstanceInAutoScalingGroup");
        assert_eq!(call.get("InstanceId"), Some("i-0abc"));
        assert_eq!(call.get("ShouldDecrementDesiredCapacity"), Some("false"));
        assert!(keep.sentence().contains("launches a replacement"));
        assert_eq!(keep.risk(), Risk::Destructive);
        let shrink = instance(ActionKind::TerminateAsgInstance {
            decrement: true,
            group: None,
        });
        assert_eq!(
            only_call(&shrink).get("ShouldDecrementDesiredCapacity"),
            Some("true")
        );
        assert!(shrink.sentence().contains("lower the desired capacity"));
    }

    #[test]
    fn suspend_and_resume_list_processes_or_mean_all() {
        let a = asg(ActionKind::SuspendProcesses {
            processes: vec!["Launch".into(), "AZRebalance".into()],
        });
        let call = only_call(&a);
        assert_eq!(call.operation, "SuspendProcesses");
        assert_eq!(call.get("ScalingProcesses.member.1"), Some("Launch"));
        assert_eq!(call.get("ScalingProcesses.member.2"), Some("AZRebalance"));
        let all = asg(ActionKind::ResumeProcesses { processes: vec![] });
        assert_eq!(all.sentence(), "Resume all scaling processes of lab-asg");
        assert_eq!(only_call(&all).operation, "ResumeProcesses");
        assert_eq!(all.risk(), Risk::Safe);
    }

    #[test]
    fn target_actions_name_the_group_not_its_arn() {
        let a = tg(ActionKind::DeregisterTargets {
            instance_ids: vec!["i-1".into(), "i-2".into()],
        });
        assert_eq!(
            a.sentence(),
            "Deregister i-1, i-2 from target group lab-web-tg (connections drain first)"
        );
        let call = only_call(&a);
        assert_eq!(call.service, Service::Elbv2);
        assert_eq!(call.operation, "DeregisterTargets");
        assert_eq!(call.get("TargetGroupArn"), Some(TG));
        assert_eq!(call.get("Targets.member.2.Id"), Some("i-2"));
        let register = tg(ActionKind::RegisterTargets {
            instance_ids: vec!["i-1".into()],
            port: Some(8080),
        });
        let call = only_call(&register);
        assert_eq!(call.operation, "RegisterTargets");
        assert_eq!(call.get("Targets.member.1.Port"), Some("8080"));
        assert_eq!(register.risk(), Risk::Safe);
    }

    #[test]
    fn health_check_change_sends_only_what_changes() {
        let a = tg(ActionKind::ModifyHealthCheck {
            change: HealthCheckChange {
                path: Some("/ready".into()),
                interval_seconds: Some(10),
                matcher: Some("200-299".into()),
                ..HealthCheckChange::default()
            },
        });
        let call = only_call(&a);
        assert_eq!(call.operation, "ModifyTargetGroup");
        assert_eq!(call.get("HealthCheckPath"), Some("/ready"));
        assert_eq!(call.get("HealthCheckIntervalSeconds"), Some("10"));
        assert_eq!(call.get("Matcher.HttpCode"), Some("200-299"));
        assert_eq!(call.get("HealthyThresholdCount"), None);
        assert!(a.sentence().contains("path /ready, every 10 s"));
    }

    #[test]
    fn listener_weights_forward_to_two_groups() {
        let a = action(
            ActionKind::SetListenerWeights {
                target_groups: vec![
                    WeightedForward {
                        target_group_arn: "arn:blue".into(),
                        name: Some("blue".into()),
                        weight: 90,
                    },
                    WeightedForward {
                        target_group_arn: "arn:green".into(),
                        name: Some("green".into()),
                        weight: 10,
                    },
                ],
            },
            ResourceRef::new(ResourceKind::Listener, "arn:listener").named("lab-alb:80"),
        );
        assert_eq!(
            a.sentence(),
            "Forward listener lab-alb:80 to blue 90 / green 10"
        );
        let call = only_call(&a);
        assert_eq!(call.operation, "ModifyListener");
        let member = "DefaultActions.member.1.ForwardConfig.TargetGroups.member";
        assert_eq!(call.get("DefaultActions.member.1.Type"), Some("forward"));
        assert_eq!(
            call.get(&format!("{member}.2.TargetGroupArn")),
            Some("arn:green")
        );
        assert_eq!(call.get(&format!("{member}.1.Weight")), Some("90"));
    }

    #[test]
    fn new_launch_template_version_copies_then_sets_default() {
        let a = action(
            ActionKind::CreateLaunchTemplateVersion {
                source_version: "1".into(),
                image_id: Some("ami-new".into()),
                instance_type: None,
                description: Some("v2".into()),
                set_default: true,
            },
            ResourceRef::new(ResourceKind::LaunchTemplate, "lt-0123"),
        );
        let calls = a.api_calls();
        let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
        assert_eq!(
            ops,
            [
                "DescribeLaunchTemplateVersions",
                "CreateLaunchTemplateVersion",
                "ModifyLaunchTemplate"
            ]
        );
        assert_eq!(calls[1].get("LaunchTemplateId"), Some("lt-0123"));
        assert_eq!(calls[1].get("LaunchTemplateData.ImageId"), Some("ami-new"));
        assert_eq!(a.risk(), Risk::Disruptive);
        let by_name = action(
            ActionKind::SetDefaultLaunchTemplateVersion { version: 3 },
            ResourceRef::new(ResourceKind::LaunchTemplate, "lab-web"),
        );
        let call = only_call(&by_name);
        assert_eq!(call.get("LaunchTemplateName"), Some("lab-web"));
        assert_eq!(call.get("SetDefaultVersion"), Some("3"));
    }

    #[test]
    fn instance_refresh_and_images() {
        let start = asg(ActionKind::StartInstanceRefresh {
            min_healthy_percentage: Some(90),
            instance_warmup_seconds: Some(60),
            version: Some("4".into()),
        });
        let call = start.api_calls().pop().expect("the refresh");
        assert_eq!(call.operation, "StartInstanceRefresh");
        assert_eq!(call.get("Preferences.MinHealthyPercentage"), Some("90"));
        assert_eq!(call.get("Preferences.InstanceWarmup"), Some("60"));
        assert_eq!(
            only_call(&asg(ActionKind::CancelInstanceRefresh)).operation,
            "CancelInstanceRefresh"
        );
        let image = instance(ActionKind::CreateImage {
            name: "web-2026".into(),
            no_reboot: true,
        });
        let call = image.api_calls()[1].clone();
        assert_eq!(call.operation, "CreateImage");
        assert_eq!(call.get("NoReboot"), Some("true"));
        assert_eq!(image.risk(), Risk::Safe);
        let snapshot = action(
            ActionKind::CreateSnapshot { description: None },
            ResourceRef::new(ResourceKind::Volume, "vol-1"),
        );
        assert_eq!(
            snapshot
                .api_calls()
                .pop()
                .expect("the snapshot")
                .get("VolumeId"),
            Some("vol-1")
        );
    }

    #[test]
    fn b7_images_and_snapshots_are_tagged_like_their_source_at_creation() {
        let image = instance(ActionKind::CreateImage {
            name: "web-2026".into(),
            no_reboot: true,
        });
        let calls = image.api_calls();
        assert_eq!(
            calls[0].to_string(),
            "ec2 DescribeInstances InstanceId.1=i-0abc"
        );
        assert_eq!(
            calls[1].get("TagSpecification.1.ResourceType"),
            Some("image")
        );
        assert_eq!(calls[1].get("TagSpecification.1.Tag"), Some(SOURCE_TAGS));
        assert_eq!(calls[2].operation, "CreateTags");
        assert_eq!(calls[2].get("Tag"), Some(SOURCE_TAGS));
    }

    #[test]
    fn c1_a_refresh_rolls_out_a_version_and_skips_instances_already_on_it() {
        let default = asg(ActionKind::StartInstanceRefresh {
            min_healthy_percentage: None,
            instance_warmup_seconds: None,
            version: None,
        });
        let ops: Vec<String> = default
            .api_calls()
            .iter()
            .map(|c| c.operation.clone())
            .collect();
        assert_eq!(
            ops,
            [
                "DescribeAutoScalingGroups",
                "DescribeLaunchTemplates",
                "StartInstanceRefresh"
            ]
        );
        let call = default.api_calls().pop().expect("the refresh");
        assert_eq!(
            call.get("DesiredConfiguration.LaunchTemplate.Version"),
            Some("<its default version>")
        );
        assert_eq!(call.get("Preferences.SkipMatching"), Some("true"));
        assert!(
            default
                .sentence()
                .contains("to its launch template's default version"),
            "{}",
            default.sentence()
        );
        let pinned = asg(ActionKind::StartInstanceRefresh {
            min_healthy_percentage: None,
            instance_warmup_seconds: None,
            version: Some("7".into()),
        });
        let calls = pinned.api_calls();
        assert_eq!(
            calls.len(),
            2,
            "a number needs no template lookup: {calls:?}"
        );
        assert_eq!(
            calls[1].get("DesiredConfiguration.LaunchTemplate.Version"),
            Some("7")
        );
        assert!(pinned.sentence().contains("launch template version 7"));
    }

    #[test]
    fn c4_stopping_a_group_member_is_destructive_and_says_it_is_replaced() {
        let member = instance(ActionKind::StopInstance {
            group: Some("lab-asg".into()),
        });
        assert_eq!(member.risk(), Risk::Destructive);
        assert_eq!(member.confirmation_text().as_deref(), Some("i-0abc"));
        assert!(
            member
                .sentence()
                .contains("terminates it and launches a replacement")
                && member.sentence().contains("asg-enter-standby"),
            "{}",
            member.sentence()
        );
        let alone = instance(ActionKind::StopInstance { group: None });
        assert_eq!(alone.risk(), Risk::Disruptive);
        assert_eq!(alone.sentence(), "Stop instance i-0abc");

        let standby = instance(ActionKind::EnterStandby {
            group: None,
            keep_capacity: false,
        });
        let calls = standby.api_calls();
        let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
        assert_eq!(
            ops,
            [
                "DescribeAutoScalingInstances",
                "DescribeAutoScalingGroups",
                "EnterStandby"
            ]
        );
        assert_eq!(calls[2].get("InstanceIds.member.1"), Some("i-0abc"));
        assert_eq!(calls[2].get("ShouldDecrementDesiredCapacity"), Some("true"));
        assert_eq!(standby.risk(), Risk::Disruptive);
        let back = instance(ActionKind::ExitStandby {
            group: Some("lab-asg".into()),
        });
        assert_eq!(
            only_call(&back).to_string(),
            "autoscaling ExitStandby AutoScalingGroupName=lab-asg InstanceIds.member.1=i-0abc"
        );
        assert_eq!(back.risk(), Risk::Safe);
    }

    #[test]
    fn c4_the_menu_offers_standby_before_a_destructive_stop_of_a_group_member() {
        let mut region = drill_region();
        region.instances = ["i-a1", "i-b1"]
            .iter()
            .map(|id| crate::topology::Instance {
                state: InstanceState::Running,
                ..test_instance(id)
            })
            .collect();
        let entries = applicable(&region, &ResourceRef::new(ResourceKind::Instance, "i-a1"));
        let names: Vec<(&str, Risk)> = entries.iter().map(|t| (t.name, t.risk)).collect();
        assert!(
            names.contains(&("asg-enter-standby", Risk::Disruptive)),
            "{names:?}"
        );
        assert!(
            names.contains(&("instance-stop", Risk::Destructive)),
            "{names:?}"
        );
        region.auto_scaling_groups[0].instances[0].lifecycle_state = "Standby".into();
        let entries = applicable(&region, &ResourceRef::new(ResourceKind::Instance, "i-a1"));
        let names: Vec<(&str, Risk)> = entries.iter().map(|t| (t.name, t.risk)).collect();
        assert!(
            names.contains(&("asg-exit-standby", Risk::Safe)),
            "{names:?}"
        );
        assert!(
            names.contains(&("instance-stop", Risk::Disruptive)),
            "{names:?}"
        );
    }

    #[test]
    fn c7_replicas_and_snapshots_carry_a_cost_note() {
        let replica = db(ActionKind::CreateReadReplica {
            replica_identifier: "lab-db-replica-2".into(),
            availability_zone: None,
            instance_class: None,
        });
        assert!(
            replica
                .cost()
                .is_some_and(|c| c.contains("billed per hour"))
        );
        let snapshot = db(ActionKind::CreateDbSnapshot {
            snapshot_identifier: "s".into(),
        });
        assert!(snapshot.cost().is_some_and(|c| c.contains("GB-month")));
        let volume = action(
            ActionKind::CreateSnapshot { description: None },
            ResourceRef::new(ResourceKind::Volume, "vol-1"),
        );
        assert!(volume.cost().is_some_and(|c| c.contains("GB-month")));
        assert_eq!(db(ActionKind::PromoteReadReplica).cost(), None);
    }

    #[test]
    fn rds_actions_use_rds_operation_names() {
        let reboot = db(ActionKind::RebootDbInstance {
            force_failover: true,
        });
        let calls = reboot.api_calls();
        assert_eq!(
            calls[0].to_string(),
            "rds DescribeDBInstances DBInstanceIdentifier=lab-db"
        );
        let call = calls[1].clone();
        assert_eq!(
            call.to_string(),
            "rds RebootDBInstance DBInstanceIdentifier=lab-db ForceFailover=true"
        );
        assert!(reboot.sentence().contains("failover to its standby"));
        let failover = action(
            ActionKind::FailoverDbCluster {
                target_instance: Some("reader-1".into()),
            },
            ResourceRef::new(ResourceKind::DbCluster, "aurora-1"),
        );
        let call = failover.api_calls()[1].clone();
        assert_eq!(call.operation, "FailoverDBCluster");
        assert_eq!(call.get("TargetDBInstanceIdentifier"), Some("reader-1"));
        let promote = db(ActionKind::PromoteReadReplica);
        assert_eq!(only_call(&promote).operation, "PromoteReadReplica");
        assert_eq!(promote.risk(), Risk::Destructive);
        assert_eq!(promote.confirmation_text().as_deref(), Some("lab-db"));
        let replica = db(ActionKind::CreateReadReplica {
            replica_identifier: "lab-db-replica-2".into(),
            availability_zone: Some("ap-northeast-2a".into()),
            instance_class: None,
        });
        let call = only_call(&replica);
        assert_eq!(call.operation, "CreateDBInstanceReadReplica");
        assert_eq!(call.get("DBInstanceIdentifier"), Some("lab-db-replica-2"));
        assert_eq!(call.get("SourceDBInstanceIdentifier"), Some("lab-db"));
        let snapshot = db(ActionKind::CreateDbSnapshot {
            snapshot_identifier: "before-change".into(),
        });
        assert_eq!(only_call(&snapshot).operation, "CreateDBSnapshot");
        let class = db(ActionKind::ModifyDbInstanceClass {
            class: "db.t3.small".into(),
            apply_immediately: true,
            current: Some("db.t3.micro".into()),
        });
        let call = only_call(&class);
        assert_eq!(call.operation, "ModifyDBInstance");
        assert_eq!(call.get("DBInstanceClass"), Some("db.t3.small"));
        assert_eq!(call.get("ApplyImmediately"), Some("true"));
        assert_eq!(
            class.sentence(),
            "Change the class of DB instance lab-db from db.t3.micro to db.t3.small, now"
        );
    }

    #[test]
    fn serializes_with_the_act_name_as_kind() {
        let a = asg(ActionKind::SetCapacity {
            desired: Some(3),
            min: None,
            max: None,
            current: None,
        });
        let json = serde_json::to_value(&a).expect("json");
        assert_eq!(json["kind"]["kind"], "asg-set-capacity");
        assert_eq!(json["kind"]["desired"], 3);
        assert_eq!(a.kind.name(), "asg-set-capacity");
        let back: Action = serde_json::from_value(json).expect("read back");
        assert_eq!(back, a);
    }

    fn subnet(id: &str, az: &str) -> Subnet {
        Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: az.into(),
            cidr_block: "10.0.0.0/24".into(),
            map_public_ip_on_launch: false,
            available_ip_address_count: 250,
            default_for_az: false,
            state: "available".into(),
            tags: Tags::new(),
        }
    }

    fn test_instance(id: &str) -> crate::topology::Instance {
        crate::topology::Instance {
            id: id.into(),
            state: InstanceState::Running,
            instance_type: "t3.micro".into(),
            availability_zone: "ap-northeast-2a".into(),
            subnet_id: None,
            vpc_id: None,
            private_ip: None,
            public_ip: None,
            image_id: None,
            launch_time: None,
            security_group_ids: vec![],
            iam_instance_profile_arn: None,
            key_name: None,
            launch_template: None,
            metadata_options: None,
            volume_ids: vec![],
            detailed_monitoring: false,
            tags: Tags::new(),
        }
    }

    fn drill_region() -> RegionTopology {
        let member = |id: &str, az: &str| AsgInstance {
            instance_id: id.into(),
            availability_zone: az.into(),
            lifecycle_state: "InService".into(),
            health_status: "Healthy".into(),
            launch_template: None,
            protected_from_scale_in: false,
        };
        RegionTopology {
            region: "ap-northeast-2".into(),
            subnets: vec![
                subnet("subnet-a", "ap-northeast-2a"),
                subnet("subnet-b", "ap-northeast-2b"),
            ],
            auto_scaling_groups: vec![AutoScalingGroup {
                name: "lab-asg".into(),
                arn: None,
                min_size: 2,
                max_size: 6,
                desired_capacity: 2,
                availability_zones: vec!["ap-northeast-2a".into(), "ap-northeast-2b".into()],
                subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                health_check_type: "ELB".into(),
                health_check_grace_period: None,
                launch_template: None,
                launch_configuration: None,
                instance_type_overrides: vec![],
                target_group_arns: vec![TG.into()],
                load_balancer_names: vec![],
                instances: vec![
                    member("i-a1", "ap-northeast-2a"),
                    member("i-b1", "ap-northeast-2b"),
                ],
                suspended_processes: vec![],
                policies: vec![],
                status: None,
                created_at: None,
                tags: Tags::new(),
                capacity_rebalance: None,
                instances_distribution: None,
                instance_requirements: false,
            }],
            ..RegionTopology::default()
        }
    }

    #[test]
    fn az_drill_removes_the_subnet_and_deregisters_that_azs_instances_then_restores() {
        let mut region = drill_region();
        let remove = Action::remove_availability_zone(&region, "lab-asg", "ap-northeast-2a", false)
            .expect("ok");
        let calls = remove.api_calls();
        assert_eq!(calls[0].operation, "UpdateAutoScalingGroup");
        assert_eq!(calls[0].get("VPCZoneIdentifier"), Some("subnet-b"));
        assert_eq!(calls[1].operation, "DeregisterTargets");
        assert_eq!(calls[1].get("Targets.member.1.Id"), Some("i-a1"));
        assert_eq!(calls[1].get("Targets.member.2.Id"), None);

        // After the drill the group only has subnet-b; restore finds subnet-a again.
        region.auto_scaling_groups[0].subnet_ids = vec!["subnet-b".into()];
        let restore = Action::restore_availability_zone(&region, "lab-asg", "ap-northeast-2a", &[])
            .expect("ok");
        let calls = restore.api_calls();
        assert_eq!(calls[0].get("VPCZoneIdentifier"), Some("subnet-b,subnet-a"));
        assert_eq!(calls[1].operation, "RegisterTargets");
        assert_eq!(calls[1].get("Targets.member.1.Id"), Some("i-a1"));
    }

    #[test]
    fn c3_the_az_drill_says_auto_scaling_replaces_the_instances_and_is_destructive() {
        let region = drill_region();
        let remove = Action::remove_availability_zone(&region, "lab-asg", "ap-northeast-2a", false)
            .expect("ok");
        assert_eq!(remove.risk(), Risk::Destructive);
        assert_eq!(remove.confirmation_text().as_deref(), Some("lab-asg"));
        let sentence = remove.sentence();
        assert!(
            sentence.contains("terminates them and launches replacements in the other AZs")
                && sentence.contains("10% over its max"),
            "{sentence}"
        );
    }

    #[test]
    fn c3_the_az_loss_variant_suspends_az_rebalance_first_and_restore_resumes_it() {
        let mut region = drill_region();
        let remove = Action::remove_availability_zone(&region, "lab-asg", "ap-northeast-2a", true)
            .expect("ok");
        assert_eq!(remove.risk(), Risk::Disruptive);
        assert!(remove.sentence().contains("they keep running"));
        let calls = remove.api_calls();
        assert_eq!(
            calls[0].to_string(),
            "autoscaling SuspendProcesses AutoScalingGroupName=lab-asg \
             ScalingProcesses.member.1=AZRebalance"
        );
        assert_eq!(calls[1].operation, "UpdateAutoScalingGroup");
        assert_eq!(calls[2].operation, "DeregisterTargets");

        region.auto_scaling_groups[0].subnet_ids = vec!["subnet-b".into()];
        region.auto_scaling_groups[0].suspended_processes = vec!["AZRebalance".into()];
        let restore = Action::restore_availability_zone(&region, "lab-asg", "ap-northeast-2a", &[])
            .expect("ok");
        let calls = restore.api_calls();
        let last = calls.last().expect("calls");
        assert_eq!(last.operation, "ResumeProcesses");
        assert_eq!(last.get("ScalingProcesses.member.1"), Some("AZRebalance"));
        assert!(restore.sentence().ends_with("then resume AZRebalance"));
        assert_eq!(restore.risk(), Risk::Safe);

        // After the destructive drill nothing is left to register: the group rebalances again.
        region.auto_scaling_groups[0]
            .instances
            .retain(|m| m.instance_id != "i-a1");
        region.auto_scaling_groups[0].suspended_processes.clear();
        let restore = Action::restore_availability_zone(&region, "lab-asg", "ap-northeast-2a", &[])
            .expect("ok");
        assert_eq!(restore.risk(), Risk::Disruptive);
        assert!(
            restore
                .sentence()
                .contains("terminates as many in the other AZs")
        );
    }

    #[test]
    fn az_drill_refuses_an_az_the_group_does_not_use_or_its_last_one() {
        let mut region = drill_region();
        let err = Action::remove_availability_zone(&region, "lab-asg", "ap-northeast-2c", false)
            .expect_err("not used");
        assert!(err.to_string().contains("does not launch into"), "{err}");
        region.auto_scaling_groups[0].subnet_ids = vec!["subnet-a".into()];
        let err = Action::remove_availability_zone(&region, "lab-asg", "ap-northeast-2a", false)
            .expect_err("last AZ");
        assert!(err.to_string().contains("only AZ"), "{err}");
        let err = Action::remove_availability_zone(&region, "nope", "ap-northeast-2a", false)
            .expect_err("missing");
        assert!(matches!(err, ActionError::NotFound { .. }));
    }

    #[test]
    fn the_menu_lists_only_what_applies() {
        let region = drill_region();
        let names: Vec<&str> = applicable(
            &region,
            &ResourceRef::new(ResourceKind::AutoScalingGroup, "lab-asg"),
        )
        .iter()
        .map(|t| t.name)
        .collect();
        assert!(names.contains(&"asg-set-capacity"));
        assert!(names.contains(&"az-remove"));
        assert!(!names.contains(&"rds-reboot"));
        // An instance unknown to the topology offers nothing that needs its state.
        assert!(applicable(&region, &ResourceRef::new(ResourceKind::Instance, "i-x")).is_empty());
    }
}
