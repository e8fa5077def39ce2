//! Blueprint × topology → the ordered steps that make the stack match the blueprint, and the
//! teardown of a stack in reverse dependency order.
//!
//! # How haven recognises its own resources
//! Every resource haven creates carries two tags: `haven:stack=<stack name>` ([`STACK_TAG`]) and
//! `haven:logical=<logical name>` ([`LOGICAL_TAG`]), the role the resource plays in the
//! blueprint (`vpc`, `public-ap-northeast-2a`, `nat-ap-northeast-2b`, `app-sg`, `db`, …). The
//! plan matches existing resources by that pair, never by `Name`, so renaming a resource by hand
//! does not make haven build a second one.
//!
//! Resources whose tags discovery does not record are matched by the deterministic name haven
//! gives them, inside the stack's tagged VPC: the load balancer `<stack>-alb`, the target group
//! `<stack>-tg`, the DB subnet group `<stack>-db-subnets`, listeners by port and the scaling
//! policy by its metric. IAM entities are global and created under the path
//! `/haven/<stack>/` ([`iam_path`]), which their ARN carries.
//!
//! # Tiers
//! [`plan`] goes tier by tier, in the files `haven-aws`'s `apply/` has: `network.rs` (the VPC and
//! everything in it, then the security groups), `iam.rs`, `compute.rs`, `database.rs`. Each tier
//! reads one shared `Context` (blueprint, Region, stack) and adds its steps in dependency order;
//! what a later tier needs of an earlier one is returned, not captured. `teardown.rs` deletes in
//! the reverse order, one function per tier as well.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::blueprint::Blueprint;
#[cfg(test)]
use crate::topology::{Iam, SecurityGroup, name_tag};
use crate::topology::{RegionTopology, RulePeer, SecurityGroupRule, Tags, Topology};
use crate::wait::Typical;

pub use crate::topology::STACK_TAG;
/// The tag naming the role a resource plays in its stack's blueprint.
pub const LOGICAL_TAG: &str = "haven:logical";
/// The end of an update's detail that no API call can make: the resource must be rebuilt.
pub const RECREATE: &str = "run `haven down` first";
/// The metric of the CPU target-tracking policy.
pub const CPU_METRIC: &str = "ASGAverageCPUUtilization";

/// The IAM path of every IAM entity haven creates for `stack`.
pub fn iam_path(stack: &str) -> String {
    format!("/haven/{stack}/")
}

/// The tags haven puts on a resource it creates.
pub fn haven_tags(stack: &str, logical: &str, name: &str) -> Tags {
    Tags::from([
        (STACK_TAG.to_string(), stack.to_string()),
        (LOGICAL_TAG.to_string(), logical.to_string()),
        ("Name".to_string(), name.to_string()),
    ])
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The resource does not exist yet.
    Create,
    /// It exists and differs from the blueprint.
    Update,
    /// It exists as the blueprint says.
    Unchanged,
    /// It exists and must go.
    Delete,
}

impl Op {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of resource (and of link between resources) a plan handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// VPC.
    Vpc,
    /// Subnet.
    Subnet,
    /// Internet gateway.
    InternetGateway,
    /// An internet gateway's attachment to the VPC.
    IgwAttachment,
    /// Route table with its routes.
    RouteTable,
    /// A route table's association with a subnet.
    RouteTableAssociation,
    /// Elastic IP of a NAT gateway.
    ElasticIp,
    /// NAT gateway.
    NatGateway,
    /// Gateway VPC endpoint (S3).
    VpcEndpoint,
    /// Security group with its rules.
    SecurityGroup,
    /// Rules of a security group that reference other groups of the stack.
    SecurityGroupReferences,
    /// IAM role.
    IamRole,
    /// IAM instance profile.
    InstanceProfile,
    /// IAM group.
    IamGroup,
    /// IAM user.
    IamUser,
    /// The account password policy.
    PasswordPolicy,
    /// Launch template.
    LaunchTemplate,
    /// Target group.
    TargetGroup,
    /// The targets registered in a target group.
    TargetRegistration,
    /// Application load balancer.
    LoadBalancer,
    /// Listener.
    Listener,
    /// Auto Scaling group.
    AutoScalingGroup,
    /// Scaling policy.
    ScalingPolicy,
    /// An EC2 instance outside any Auto Scaling group.
    Instance,
    /// DB subnet group.
    DbSubnetGroup,
    /// RDS primary.
    DbInstance,
    /// RDS read replica.
    DbReadReplica,
    /// Route 53 hosted zone (`[dns] create_zone`).
    HostedZone,
    /// Route 53 health check of one Region's load balancer.
    DnsHealthCheck,
    /// Route 53 record (failover or weighted) to one Region's load balancer.
    DnsRecord,
    /// ACM certificate of one Region.
    Certificate,
    /// The CNAME record through which ACM validates a certificate.
    ValidationRecord,
}

impl ResourceKind {
    /// Short name, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vpc => "vpc",
            Self::Subnet => "subnet",
            Self::InternetGateway => "internet-gateway",
            Self::IgwAttachment => "igw-attachment",
            Self::RouteTable => "route-table",
            Self::RouteTableAssociation => "route-table-association",
            Self::ElasticIp => "elastic-ip",
            Self::NatGateway => "nat-gateway",
            Self::VpcEndpoint => "vpc-endpoint",
            Self::SecurityGroup => "security-group",
            Self::SecurityGroupReferences => "security-group-references",
            Self::IamRole => "iam-role",
            Self::InstanceProfile => "instance-profile",
            Self::IamGroup => "iam-group",
            Self::IamUser => "iam-user",
            Self::PasswordPolicy => "password-policy",
            Self::LaunchTemplate => "launch-template",
            Self::TargetGroup => "target-group",
            Self::TargetRegistration => "target-registration",
            Self::LoadBalancer => "load-balancer",
            Self::Listener => "listener",
            Self::AutoScalingGroup => "auto-scaling-group",
            Self::ScalingPolicy => "scaling-policy",
            Self::Instance => "instance",
            Self::DbSubnetGroup => "db-subnet-group",
            Self::DbInstance => "db-instance",
            Self::DbReadReplica => "db-read-replica",
            Self::HostedZone => "hosted-zone",
            Self::DnsHealthCheck => "dns-health-check",
            Self::DnsRecord => "dns-record",
            Self::Certificate => "certificate",
            Self::ValidationRecord => "validation-record",
        }
    }

    /// Kinds that must be gone before this one can be deleted.
    fn blocked_by(self) -> &'static [ResourceKind] {
        use ResourceKind::*;
        match self {
            DbInstance => &[DbReadReplica],
            DbSubnetGroup => &[DbInstance, DbReadReplica],
            AutoScalingGroup => &[TargetRegistration],
            LaunchTemplate => &[AutoScalingGroup],
            LoadBalancer => &[Listener],
            TargetGroup => &[Listener, AutoScalingGroup, TargetRegistration],
            ElasticIp => &[NatGateway],
            RouteTable => &[RouteTableAssociation, VpcEndpoint],
            IgwAttachment => &[NatGateway, ElasticIp, LoadBalancer],
            InternetGateway => &[IgwAttachment],
            Subnet => &[
                NatGateway,
                LoadBalancer,
                AutoScalingGroup,
                Instance,
                DbSubnetGroup,
                RouteTableAssociation,
            ],
            SecurityGroup => &[
                SecurityGroupReferences,
                LoadBalancer,
                AutoScalingGroup,
                Instance,
                DbInstance,
                DbReadReplica,
            ],
            Vpc => &[
                Subnet,
                RouteTable,
                InternetGateway,
                SecurityGroup,
                VpcEndpoint,
                TargetGroup,
            ],
            IamRole => &[InstanceProfile],
            IamUser => &[IamGroup],
            DnsHealthCheck => &[DnsRecord],
            Certificate => &[Listener],
            ValidationRecord => &[Certificate],
            HostedZone => &[DnsRecord, ValidationRecord],
            _ => &[],
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long AWS usually takes to finish `op` on a resource of `kind`, for the kinds whose calls
/// return before the work is done: shown beside every wait, with the time waited so far, so that
/// a person can tell a slow resource from a stuck one. The figures and their sources are in
/// [`Typical`].
pub fn typical_duration(kind: ResourceKind, op: Op) -> Option<Typical> {
    use ResourceKind::*;
    Some(match (kind, op) {
        (NatGateway, Op::Delete) => Typical::NatDelete,
        (NatGateway, _) => Typical::NatCreate,
        (DbInstance, Op::Create) => Typical::DbCreate,
        (DbReadReplica, Op::Create) => Typical::DbReplica,
        (DbInstance | DbReadReplica, Op::Update) => Typical::DbModify,
        (DbInstance | DbReadReplica, Op::Delete) => Typical::DbDelete,
        (LoadBalancer, _) => Typical::LoadBalancer,
        (AutoScalingGroup, Op::Delete) => Typical::GroupDelete,
        (AutoScalingGroup, _) => Typical::GroupCapacity,
        (InstanceProfile, _) => Typical::IamPropagation,
        (DnsRecord | HostedZone, Op::Create | Op::Update) => Typical::DnsChange,
        (ValidationRecord, Op::Create | Op::Update) => Typical::CertificateValidation,
        _ => return None,
    })
}

/// A resource by kind and logical name (the `haven:logical` tag).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceRef {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its logical name in the blueprint.
    pub logical: String,
}

impl ResourceRef {
    /// A reference.
    pub fn new(kind: ResourceKind, logical: impl Into<String>) -> Self {
        Self {
            kind,
            logical: logical.into(),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.logical)
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What the step does.
    pub op: Op,
    /// The resource.
    pub resource: ResourceRef,
    /// The name AWS knows it by (its `Name` tag, or its name for named resources).
    pub name: String,
    /// The existing resource's id, ARN or identifier.
    pub id: Option<String>,
    /// The Region (`None` for IAM, which is global).
    pub region: Option<String>,
    /// Steps that must be done before this one.
    pub depends_on: Vec<ResourceRef>,
    /// What changes, in words.
    pub detail: String,
    /// For the delete of a database: what RDS keeps of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain: Option<Retain>,
}

/// What RDS keeps when haven deletes a database (`haven down` keeps both unless
/// `--no-final-snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retain {
    /// The manual snapshot RDS takes before deleting the instance. A read replica has none:
    /// RDS refuses `FinalDBSnapshotIdentifier` for a replica.
    pub final_snapshot: Option<String>,
    /// Keep the automated backups (point-in-time restore for their retention period).
    pub automated_backups: bool,
}

/// The ordered steps for one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Stack name.
    pub stack: String,
    /// Steps in the order they can be carried out.
    pub steps: Vec<Step>,
    /// IAM entities the blueprint names that exist but are not the stack's: `haven up` stops
    /// before any call unless `--adopt`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// An IAM entity found by the name the blueprint gives it, but not the stack's (not under
/// [`iam_path`], not tagged `haven:stack=<stack>`): someone else's, which `haven up` would
/// change for everyone who uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The entity.
    pub resource: ResourceRef,
    /// Its ARN.
    pub arn: String,
    /// What `haven up --adopt` changes on it, the adoption first.
    pub changes: Vec<String>,
}

impl Conflict {
    /// One line for people: `iam-role/SSMInstanceRole (arn…): tag …; attach …`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}): {}",
            self.resource,
            self.arn,
            self.changes.join("; ")
        )
    }
}

/// Whether an IAM entity is `stack`'s: created under its path, or adopted (tagged with it).
pub fn owns_iam(arn: &str, tags: &Tags, stack: &str) -> bool {
    iam_owned(arn, stack) || in_stack(tags, stack)
}

impl Plan {
    /// How many steps do each op.
    pub fn count(&self, op: Op) -> usize {
        self.steps.iter().filter(|s| s.op == op).count()
    }

    /// Something would be created, changed or deleted.
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.op != Op::Unchanged)
    }

    /// Updates no API call can make (a VPC's CIDR, a subnet's AZ, a target group's port):
    /// `haven up` refuses to start while there is one.
    pub fn blockers(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| s.op == Op::Update && s.detail.contains(RECREATE))
    }

    /// The step for a resource.
    pub fn step(&self, kind: ResourceKind, logical: &str) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.resource.kind == kind && s.resource.logical == logical)
    }
}

/// The resource is `stack`'s, in the role `logical` (its `haven:stack` and `haven:logical` tags).
pub(crate) fn owned(tags: &Tags, stack: &str, logical: &str) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some(stack)
        && tags.get(LOGICAL_TAG).map(String::as_str) == Some(logical)
}

fn in_stack(tags: &Tags, stack: &str) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some(stack)
}

fn logical_of(tags: &Tags) -> String {
    tags.get(LOGICAL_TAG).cloned().unwrap_or_default()
}

/// What every tier of a plan reads: the blueprint, what exists in its Region, the stack's name.
struct Context<'a> {
    blueprint: &'a Blueprint,
    region: &'a RegionTopology,
    stack: &'a str,
}

impl Context<'_> {
    /// The name haven gives the stack's resource `suffix`: `<stack>-<suffix>`.
    fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.stack)
    }
}

struct Builder<'a> {
    region_name: &'a str,
    steps: Vec<Step>,
    conflicts: Vec<Conflict>,
}

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        kind: ResourceKind,
        logical: &str,
        name: &str,
        existing: Option<String>,
        depends_on: Vec<ResourceRef>,
        changes: Vec<String>,
        create_detail: String,
        global: bool,
    ) {
        let (op, detail) = match (&existing, changes.is_empty()) {
            (None, _) => (Op::Create, create_detail),
            (Some(_), true) => (Op::Unchanged, "as in the blueprint".to_string()),
            (Some(_), false) => (Op::Update, changes.join("; ")),
        };
        self.steps.push(Step {
            op,
            resource: ResourceRef::new(kind, logical),
            name: name.to_string(),
            id: existing,
            region: (!global).then(|| self.region_name.to_string()),
            depends_on,
            detail,
            retain: None,
        });
    }
}

fn drift(what: &str, actual: impl fmt::Display, wanted: impl fmt::Display) -> String {
    format!("{what} {actual} → {wanted} (changed outside haven)")
}

fn compare<T: PartialEq + fmt::Display>(
    changes: &mut Vec<String>,
    what: &str,
    actual: Option<T>,
    wanted: T,
) {
    match actual {
        Some(actual) if actual == wanted => {}
        Some(actual) => changes.push(drift(what, actual, wanted)),
        None => changes.push(format!("{what} unset → {wanted}")),
    }
}

fn r(kind: ResourceKind, logical: &str) -> ResourceRef {
    ResourceRef::new(kind, logical)
}

/// The steps that make what exists in the blueprint's Region match the blueprint: creates and
/// updates in dependency order, then deletes of resources tagged with the stack that the
/// blueprint no longer has.
pub fn plan(blueprint: &Blueprint, topology: &Topology) -> Plan {
    let empty = RegionTopology::default();
    let cx = Context {
        blueprint,
        region: topology.region(blueprint.region()).unwrap_or(&empty),
        stack: blueprint.name(),
    };
    let mut b = Builder {
        region_name: blueprint.region(),
        steps: Vec::new(),
        conflicts: Vec::new(),
    };
    let net = network::plan_network(&mut b, &cx);
    network::plan_security_groups(&mut b, &cx);
    iam::plan_iam(&mut b, blueprint, topology.iam.as_ref());
    compute::plan_compute(&mut b, &cx, &net);
    database::plan_database(&mut b, &cx, &net);
    front_door::plan_front_door(&mut b, &cx, topology);
    let mut removals = removals(&cx, &b.steps, topology.taken_at);
    removals.extend(front_door::removals(&cx, topology, &b.steps));
    b.steps.extend(removals);
    b.steps.extend(duplicates::blockers(cx.region, cx.stack));
    order_creates(&mut b.steps);
    Plan {
        stack: cx.stack.to_string(),
        steps: b.steps,
        conflicts: b.conflicts,
    }
}

/// Puts each create or update after the steps it depends on (a stable order otherwise): the
/// `[load_balancer]` listener's redirect waits for the HTTPS listener of a later tier.
fn order_creates(steps: &mut Vec<Step>) {
    let all: BTreeSet<ResourceRef> = steps.iter().map(|s| s.resource.clone()).collect();
    let mut done: BTreeSet<ResourceRef> = BTreeSet::new();
    let mut pending: Vec<Step> = std::mem::take(steps);
    while !pending.is_empty() {
        let ready = pending.iter().position(|s| {
            s.op == Op::Delete
                || s.depends_on
                    .iter()
                    .all(|d| done.contains(d) || !all.contains(d))
        });
        // A cycle keeps its order; the run reports it.
        let step = pending.remove(ready.unwrap_or(0));
        done.insert(step.resource.clone());
        steps.push(step);
    }
}

/// What is tagged with the stack but no longer in the blueprint (no step of `planned` is it),
/// in teardown order.
fn removals(cx: &Context<'_>, planned: &[Step], at: DateTime<Utc>) -> Vec<Step> {
    let expected: BTreeSet<ResourceRef> = planned.iter().map(|s| s.resource.clone()).collect();
    teardown_region(cx.region, cx.stack, &TeardownOptions::default(), at)
        .into_iter()
        .filter(|(owner, _)| !expected.contains(owner) && !same_database(owner, &expected))
        .map(|(_, step)| step)
        .collect()
}

/// A DB instance the blueprint has under the same logical name, as primary or replica: a
/// promoted replica may still name its old source (moto keeps it; AWS clears it later).
fn same_database(owner: &ResourceRef, expected: &BTreeSet<ResourceRef>) -> bool {
    use ResourceKind::{DbInstance, DbReadReplica};
    matches!(owner.kind, DbInstance | DbReadReplica)
        && [DbInstance, DbReadReplica]
            .iter()
            .any(|kind| expected.contains(&r(*kind, &owner.logical)))
}

fn describe_peer(peer: &RulePeer, region: &RegionTopology, stack: &str) -> String {
    match peer {
        RulePeer::Cidr(c) | RulePeer::Ipv6Cidr(c) => c.clone(),
        RulePeer::PrefixList(p) => p.clone(),
        RulePeer::SecurityGroup(id) => region
            .security_groups
            .iter()
            .find(|g| g.id == *id && in_stack(&g.tags, stack))
            .map(|g| logical_of(&g.tags))
            .unwrap_or_else(|| id.clone()),
    }
}

fn describe_rule(rule: &SecurityGroupRule, region: &RegionTopology, stack: &str) -> String {
    let ports = match (rule.protocol.as_str(), rule.from_port, rule.to_port) {
        ("-1", _, _) => "all traffic".to_string(),
        (protocol, Some(from), Some(to)) if from == to => format!("{protocol} {from}"),
        (protocol, Some(from), Some(to)) => format!("{protocol} {from}-{to}"),
        (protocol, _, _) => protocol.to_string(),
    };
    format!("{ports} from {}", describe_peer(&rule.peer, region, stack))
}

fn iam_owned(arn: &str, stack: &str) -> bool {
    arn.split_once(':')
        .and_then(|_| arn.rsplit_once(':'))
        .is_some_and(|(_, resource)| {
            resource
                .split_once('/')
                .is_some_and(|(_, rest)| rest.starts_with(&iam_path(stack)[1..]))
        })
}

mod compute;
mod database;
pub mod dr_network;
mod duplicates;
pub mod front_door;
mod iam;
#[cfg(test)]
mod iam_tests;
pub mod layout;
mod network;
mod teardown;
#[cfg(test)]
mod tests;

pub use compute::{ALB_ATTRIBUTES, desired_follows_policy};
use teardown::teardown_region;
pub use teardown::{
    DbDeleteMove, DrCopy, Teardown, TeardownOptions, adopted_by_failover, db_delete_move,
    db_is_busy, deletion_protected, final_snapshot_name, teardown, teardown_with,
};
