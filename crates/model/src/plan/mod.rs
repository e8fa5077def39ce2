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

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::blueprint::{AutoScalingSpec, Blueprint};
#[cfg(test)]
use crate::topology::name_tag;
use crate::topology::{
    AutoScalingGroup, DbInstance, Iam, RegionTopology, RouteTarget, RulePeer, SecurityGroup,
    SecurityGroupRule, Tags, Topology,
};
use crate::wait::Typical;

/// The tag naming the stack a resource belongs to.
pub const STACK_TAG: &str = "haven:stack";
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
    use ResourceKind::*;
    let empty = RegionTopology::default();
    let region = topology.region(blueprint.region()).unwrap_or(&empty);
    let stack = blueprint.name();
    let mut b = Builder {
        region_name: blueprint.region(),
        steps: Vec::new(),
        conflicts: Vec::new(),
    };
    let net = &blueprint.network;

    // Network.
    let vpc = region.vpcs.iter().find(|v| owned(&v.tags, stack, "vpc"));
    let mut changes = Vec::new();
    if let Some(vpc) = vpc
        && vpc.cidr_block != net.vpc_cidr.to_string()
    {
        changes.push(format!(
            "CIDR is {} but the blueprint says {}: a VPC's block cannot change; {RECREATE}",
            vpc.cidr_block, net.vpc_cidr
        ));
    }
    b.step(
        Vpc,
        "vpc",
        &format!("{stack}-vpc"),
        vpc.map(|v| v.id.clone()),
        vec![],
        changes,
        format!("{} with DNS hostnames", net.vpc_cidr),
        false,
    );
    let vpc_id = vpc.map(|v| v.id.as_str());

    let igw = region
        .internet_gateways
        .iter()
        .find(|g| owned(&g.tags, stack, "igw"));
    let mut changes = Vec::new();
    if let (Some(igw), Some(vpc_id)) = (igw, vpc_id)
        && !igw.attached_vpc_ids.iter().any(|v| v == vpc_id)
    {
        changes.push("not attached to the VPC: attach it".to_string());
    }
    b.step(
        InternetGateway,
        "igw",
        &format!("{stack}-igw"),
        igw.map(|g| g.id.clone()),
        vec![r(Vpc, "vpc")],
        changes,
        "attached to the VPC".to_string(),
        false,
    );

    let mut subnet_ids: Vec<(String, Option<String>)> = Vec::new();
    for (tier, cidrs) in [
        ("public", &net.public_subnets),
        ("private", &net.private_subnets),
    ] {
        for (az, cidr) in net.azs.iter().zip(cidrs.iter()) {
            let logical = format!("{tier}-{az}");
            let subnet = region
                .subnets
                .iter()
                .find(|s| owned(&s.tags, stack, &logical));
            let mut changes = Vec::new();
            if let Some(subnet) = subnet {
                if subnet.cidr_block != cidr.to_string() || subnet.availability_zone != *az {
                    changes.push(format!(
                        "is {} in {} but the blueprint says {cidr} in {az}: a subnet cannot \
                         move; {RECREATE}",
                        subnet.cidr_block, subnet.availability_zone
                    ));
                }
                if tier == "public" && !subnet.map_public_ip_on_launch {
                    changes.push("map public IP on launch off → on".to_string());
                }
            }
            b.step(
                Subnet,
                &logical,
                &format!("{stack}-{logical}"),
                subnet.map(|s| s.id.clone()),
                vec![r(Vpc, "vpc")],
                changes,
                format!("{cidr} in {az}"),
                false,
            );
            subnet_ids.push((logical, subnet.map(|s| s.id.clone())));
        }
    }
    let subnet_id = |logical: &str| {
        subnet_ids
            .iter()
            .find(|(l, _)| l == logical)
            .and_then(|(_, id)| id.clone())
    };

    // NAT gateways and their Elastic IPs.
    let nat_azs = layout::nat_azs(blueprint);
    let mut nat_ids: Vec<(String, Option<String>)> = Vec::new();
    for az in &nat_azs {
        let logical = format!("nat-{az}");
        let nat = region
            .nat_gateways
            .iter()
            .find(|n| owned(&n.tags, stack, &logical) && n.state != "deleted");
        let eip_logical = format!("nat-eip-{az}");
        let eip = region
            .elastic_ips
            .iter()
            .find(|e| owned(&e.tags, stack, &eip_logical));
        b.step(
            ElasticIp,
            &eip_logical,
            &format!("{stack}-{eip_logical}"),
            eip.map(|e| e.allocation_id.clone()),
            vec![],
            vec![],
            format!("for the NAT gateway in {az}"),
            false,
        );
        let mut changes = Vec::new();
        if let Some(nat) = nat
            && nat.state == "failed"
        {
            changes.push("state failed: delete and create again".to_string());
        }
        b.step(
            NatGateway,
            &logical,
            &format!("{stack}-{logical}"),
            nat.map(|n| n.id.clone()),
            vec![
                r(Subnet, &format!("public-{az}")),
                r(ElasticIp, &eip_logical),
                r(InternetGateway, "igw"),
            ],
            changes,
            format!("in public-{az}"),
            false,
        );
        nat_ids.push((az.to_string(), nat.map(|n| n.id.clone())));
    }

    // Route tables.
    let mut private_tables = Vec::new();
    for spec in layout::route_tables(blueprint) {
        let (logical, subnets) = (&spec.logical, &spec.subnets);
        let table = region
            .route_tables
            .iter()
            .find(|t| owned(&t.tags, stack, logical));
        let mut changes = Vec::new();
        let mut depends = vec![r(Vpc, "vpc")];
        depends.extend(subnets.iter().map(|s| r(Subnet, s)));
        let route_text = match &spec.default_route {
            Some(DefaultRoute::InternetGateway) => "0.0.0.0/0 → internet gateway".to_string(),
            Some(DefaultRoute::Nat(nat)) => format!("0.0.0.0/0 → {nat}"),
            None => "no route out".to_string(),
        };
        match &spec.default_route {
            Some(DefaultRoute::InternetGateway) => depends.push(r(InternetGateway, "igw")),
            Some(DefaultRoute::Nat(nat)) => depends.push(r(NatGateway, nat)),
            None => {}
        }
        if let Some(table) = table {
            let default = table.routes.iter().find(|r| r.destination == "0.0.0.0/0");
            let wanted_target = match &spec.default_route {
                Some(DefaultRoute::InternetGateway) => {
                    igw.map(|g| RouteTarget::InternetGateway(g.id.clone()))
                }
                Some(DefaultRoute::Nat(nat)) => nat_ids
                    .iter()
                    .find(|(az, _)| format!("nat-{az}") == *nat)
                    .and_then(|(_, id)| id.clone().map(RouteTarget::NatGateway)),
                None => None,
            };
            match (default, &wanted_target, &spec.default_route) {
                (None, _, Some(_)) => changes.push(format!("add route {route_text}")),
                (Some(route), Some(wanted), _) if route.target != *wanted => changes.push(format!(
                    "route 0.0.0.0/0 points elsewhere (changed outside haven): {route_text}"
                )),
                (Some(_), _, None) => {
                    changes.push("remove route 0.0.0.0/0 (nat = \"none\")".to_string())
                }
                _ => {}
            }
            for subnet in subnets {
                let associated = subnet_id(subnet).is_some_and(|id| {
                    table
                        .associations
                        .iter()
                        .any(|a| a.subnet_id.as_deref() == Some(id.as_str()))
                });
                if !associated {
                    changes.push(format!("associate {subnet}"));
                }
            }
        }
        b.step(
            RouteTable,
            logical,
            &format!("{stack}-{logical}"),
            table.map(|t| t.id.clone()),
            depends,
            changes,
            format!("{route_text}; associated with {}", subnets.join(", ")),
            false,
        );
        if logical.starts_with("private") {
            private_tables.push((logical.clone(), table));
        }
    }
    if net.s3_gateway_endpoint {
        let endpoint = private_tables.iter().find_map(|(_, t)| {
            t.and_then(|t| {
                t.routes.iter().find_map(|route| match &route.target {
                    RouteTarget::VpcEndpoint(id) => Some(id.clone()),
                    _ => None,
                })
            })
        });
        b.step(
            VpcEndpoint,
            "s3-endpoint",
            &format!("{stack}-s3-endpoint"),
            endpoint,
            private_tables
                .iter()
                .map(|(l, _)| r(RouteTable, l))
                .collect(),
            vec![],
            format!(
                "com.amazonaws.{}.s3 gateway on the private route tables",
                blueprint.region()
            ),
            false,
        );
    }

    // Security groups: ALB ← internet, app ← ALB only, DB ← app only.
    let sec = &blueprint.security;
    let lb = &blueprint.load_balancer;
    let groups = layout::security_groups(blueprint);
    let group_of = |logical: &str| {
        region
            .security_groups
            .iter()
            .find(|g| owned(&g.tags, stack, logical))
    };
    for GroupSpec {
        logical,
        description: text,
        rules,
    } in &groups
    {
        let group = group_of(logical);
        let changes = group
            .map(|g| {
                rule_drift(
                    g,
                    rules,
                    &|l| group_of(l).map(|g| g.id.clone()),
                    region,
                    stack,
                )
            })
            .unwrap_or_default();
        let mut depends = vec![r(Vpc, "vpc")];
        for rule in rules {
            if let Peer::Group(peer) = &rule.peer {
                depends.push(r(SecurityGroup, peer));
            }
        }
        b.step(
            SecurityGroup,
            logical,
            &format!("{stack}-{}", logical.trim_end_matches("-sg")),
            group.map(|g| g.id.clone()),
            depends,
            changes,
            text.clone(),
            false,
        );
    }

    // IAM (global).
    plan_iam(&mut b, blueprint, topology.iam.as_ref());

    // Launch template.
    let compute = &blueprint.compute;
    let template = region
        .launch_templates
        .iter()
        .find(|t| owned(&t.tags, stack, "launch-template"));
    let mut changes = Vec::new();
    if let Some(version) = template.and_then(|t| t.versions.first()) {
        compare(
            &mut changes,
            "instance type",
            version.instance_type.clone(),
            compute.instance_type.clone(),
        );
        compare(
            &mut changes,
            "image",
            version.image_id.clone(),
            compute.ami.launch_template_image_id(),
        );
        let tokens = version
            .metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.clone());
        let wanted = if compute.imdsv2_required {
            "required"
        } else {
            "optional"
        };
        compare(&mut changes, "IMDS tokens", tokens, wanted.to_string());
        if version.key_name != compute.key_name {
            changes.push(drift(
                "key pair",
                version.key_name.as_deref().unwrap_or("none"),
                compute.key_name.as_deref().unwrap_or("none"),
            ));
        }
        if !changes.is_empty() {
            changes.insert(0, "new version".to_string());
        }
    }
    b.step(
        LaunchTemplate,
        "launch-template",
        &format!("{stack}-lt"),
        template.map(|t| t.id.clone()),
        vec![
            r(SecurityGroup, "app-sg"),
            r(InstanceProfile, &blueprint.iam.instance_profile),
            // Its client token names the build by the VPC and its internet gateway.
            r(InternetGateway, "igw"),
        ],
        changes,
        format!(
            "{} from {}, IMDSv2 {}{}",
            compute.instance_type,
            compute.ami.launch_template_image_id(),
            if compute.imdsv2_required {
                "required"
            } else {
                "optional"
            },
            compute
                .user_data_file
                .as_deref()
                .map(|f| format!(", user data {f}"))
                .unwrap_or_default()
        ),
        false,
    );

    // Target group, load balancer, listener.
    let in_vpc = |id: &Option<String>| vpc_id.is_some() && id.as_deref() == vpc_id;
    let tg_name = format!("{stack}-tg");
    let tg = region
        .target_groups
        .iter()
        .find(|t| t.name == tg_name && in_vpc(&t.vpc_id));
    let hc = &lb.health_check;
    let mut changes = Vec::new();
    if let Some(tg) = tg {
        let actual = &tg.health_check;
        compare(
            &mut changes,
            "health-check path",
            actual.path.clone(),
            hc.path.clone(),
        );
        compare(
            &mut changes,
            "health-check interval",
            actual.interval_seconds,
            i32::from(hc.interval),
        );
        compare(
            &mut changes,
            "health-check timeout",
            actual.timeout_seconds,
            i32::from(hc.timeout),
        );
        compare(
            &mut changes,
            "healthy threshold",
            actual.healthy_threshold,
            i32::from(hc.healthy_threshold),
        );
        compare(
            &mut changes,
            "unhealthy threshold",
            actual.unhealthy_threshold,
            i32::from(hc.unhealthy_threshold),
        );
        compare(
            &mut changes,
            "matcher",
            actual.matcher.clone(),
            hc.matcher.clone(),
        );
        if tg.port != Some(i32::from(sec.app_port)) {
            changes.push(format!(
                "port {} but the blueprint says {}: a target group's port cannot change; \
                 {RECREATE}",
                tg.port.map_or("none".to_string(), |p| p.to_string()),
                sec.app_port
            ));
        }
    }
    b.step(
        TargetGroup,
        "target-group",
        &tg_name,
        tg.map(|t| t.arn.clone()),
        vec![r(Vpc, "vpc")],
        changes,
        format!(
            "HTTP:{} health check {} every {}s, timeout {}s, healthy {}, unhealthy {}, matcher {}",
            sec.app_port,
            hc.path,
            hc.interval,
            hc.timeout,
            hc.healthy_threshold,
            hc.unhealthy_threshold,
            hc.matcher
        ),
        false,
    );
    let lb_name = format!("{stack}-alb");
    let alb = region
        .load_balancers
        .iter()
        .find(|l| l.name == lb_name && in_vpc(&l.vpc_id));
    let mut changes = Vec::new();
    if let Some(alb) = alb {
        for az in &net.azs {
            if !alb.zones.iter().any(|z| z.availability_zone == *az) {
                changes.push(format!("enable {az}"));
            }
        }
    }
    let mut depends: Vec<ResourceRef> = net
        .azs
        .iter()
        .map(|az| r(Subnet, &format!("public-{az}")))
        .collect();
    depends.push(r(SecurityGroup, "alb-sg"));
    depends.push(r(InternetGateway, "igw"));
    b.step(
        LoadBalancer,
        "load-balancer",
        &lb_name,
        alb.map(|l| l.arn.clone()),
        depends,
        changes,
        format!("internet-facing ALB in {}", net.azs.join(", ")),
        false,
    );
    let listener_logical = format!("listener-{}", lb.listener_port);
    let listener = alb.and_then(|a| {
        a.listeners
            .iter()
            .find(|l| l.port == Some(i32::from(lb.listener_port)))
    });
    let mut changes = Vec::new();
    if let Some(listener) = listener {
        compare(
            &mut changes,
            "protocol",
            listener.protocol.clone(),
            lb.listener_protocol.as_str().to_string(),
        );
        let forwards = listener.default_actions.iter().any(|a| match a {
            crate::topology::ListenerAction::Forward { target_groups } => {
                tg.is_some_and(|tg| target_groups.iter().any(|t| t.arn == tg.arn))
            }
            _ => false,
        });
        if !forwards {
            changes.push(format!("forward to {tg_name} (changed outside haven)"));
        }
    }
    b.step(
        Listener,
        &listener_logical,
        &format!("{lb_name}:{}", lb.listener_port),
        listener.map(|l| l.arn.clone()),
        vec![
            r(LoadBalancer, "load-balancer"),
            r(TargetGroup, "target-group"),
        ],
        changes,
        format!(
            "{}:{} → {tg_name}",
            lb.listener_protocol.as_str(),
            lb.listener_port
        ),
        false,
    );

    // Auto Scaling group and its policy.
    let scaling = &blueprint.auto_scaling;
    let asg = region
        .auto_scaling_groups
        .iter()
        .find(|a| owned(&a.tags, stack, "asg"));
    let mut changes = Vec::new();
    if let Some(asg) = asg {
        let follows_policy = desired_follows_policy(blueprint, Some(asg));
        let mut pairs = vec![("min size", asg.min_size, scaling.min)];
        if !follows_policy {
            pairs.push(("desired capacity", asg.desired_capacity, scaling.desired));
        }
        pairs.push(("max size", asg.max_size, scaling.max));
        for (what, actual, wanted) in pairs {
            if i64::from(actual) != i64::from(wanted) {
                changes.push(drift(what, actual, wanted));
            }
        }
        if follows_policy {
            changes.extend(clamped_desired(asg, scaling));
        }
        if asg.health_check_type != scaling.health_check_type.as_str() {
            changes.push(drift(
                "health-check type",
                &asg.health_check_type,
                scaling.health_check_type.as_str(),
            ));
        }
        compare(
            &mut changes,
            "health-check grace period",
            asg.health_check_grace_period.map(i64::from),
            i64::from(scaling.grace_period),
        );
        if let Some(tg) = tg
            && !asg.target_group_arns.contains(&tg.arn)
        {
            changes.push(format!("attach to {tg_name}"));
        }
        // The group is pinned to the template's default version (never $Latest or $Default),
        // so a new version reaches instances only through an instance refresh.
        let pinned = asg.launch_template.as_ref().and_then(|t| t.version.clone());
        let template_changes = b
            .steps
            .iter()
            .any(|s| s.resource == r(LaunchTemplate, "launch-template") && s.op == Op::Update);
        let default = template
            .and_then(|t| t.default_version)
            .map(|v| v.to_string());
        if template_changes {
            changes.push("use the new launch template version".to_string());
        } else if let Some(default) = default
            && pinned.as_deref() != Some(default.as_str())
        {
            changes.push(drift(
                "launch template version",
                pinned.as_deref().unwrap_or("none"),
                default,
            ));
        }
    }
    let mut depends = vec![
        r(LaunchTemplate, "launch-template"),
        r(TargetGroup, "target-group"),
    ];
    depends.extend(net.azs.iter().map(|az| r(Subnet, &format!("private-{az}"))));
    // Instances fetch their software through the NAT gateways as they boot: the private routes
    // must be in place before the group launches anything.
    depends.extend(private_tables.iter().map(|(l, _)| r(RouteTable, l)));
    b.step(
        AutoScalingGroup,
        "asg",
        &format!("{stack}-asg"),
        asg.map(|a| a.name.clone()),
        depends,
        changes,
        format!(
            "{}/{}/{} (min/desired/max) in the private subnets, {} health checks, grace {}s{}",
            scaling.min,
            scaling.desired,
            scaling.max,
            scaling.health_check_type.as_str(),
            scaling.grace_period,
            if desired_follows_policy(blueprint, None) {
                "; desired is set now, then left to the scaling policy"
            } else {
                ""
            }
        ),
        false,
    );
    let policy = asg.and_then(|a| {
        a.policies
            .iter()
            .find(|p| p.metric.as_deref() == Some(CPU_METRIC))
    });
    if let Some(target) = scaling.cpu_target {
        let mut changes = Vec::new();
        if let Some(policy) = policy
            && policy.target_value != Some(target)
        {
            changes.push(drift(
                "CPU target",
                policy
                    .target_value
                    .map_or("none".to_string(), |v| format!("{v}%")),
                format!("{target}%"),
            ));
        }
        b.step(
            ScalingPolicy,
            "cpu-target",
            &format!("{stack}-cpu-target"),
            policy.map(|p| p.name.clone()),
            vec![r(AutoScalingGroup, "asg")],
            changes,
            format!("target tracking: average CPU {target}%"),
            false,
        );
    } else if let Some(policy) = policy {
        b.steps.push(Step {
            op: Op::Delete,
            resource: r(ScalingPolicy, "cpu-target"),
            name: policy.name.clone(),
            id: Some(policy.name.clone()),
            region: Some(blueprint.region().to_string()),
            depends_on: vec![],
            detail: "the blueprint has no cpu_target".to_string(),
            retain: None,
        });
    }

    // Database.
    let db = &blueprint.database;
    let group_name = format!("{stack}-db-subnets");
    let group = region
        .db_subnet_groups
        .iter()
        .find(|g| g.name == group_name);
    let mut changes = Vec::new();
    if let Some(group) = group {
        for az in &net.azs {
            if let Some(id) = subnet_id(&format!("private-{az}"))
                && !group.subnet_ids.contains(&id)
            {
                changes.push(format!("add private-{az}"));
            }
        }
    }
    b.step(
        DbSubnetGroup,
        "db-subnet-group",
        &group_name,
        group.map(|g| g.name.clone()),
        net.azs
            .iter()
            .map(|az| r(Subnet, &format!("private-{az}")))
            .collect(),
        changes,
        "over the private subnets".to_string(),
        false,
    );
    let primary_name = db.adopt.clone().unwrap_or_else(|| format!("{stack}-db"));
    let primary = region.db_instances.iter().find(|d| {
        owned(&d.tags, stack, "db") || db.adopt.as_deref() == Some(d.identifier.as_str())
    });
    let changes = primary
        .map(|p| db_drift(p, blueprint, true))
        .unwrap_or_default();
    b.step(
        DbInstance,
        "db",
        &primary_name,
        primary.map(|d| d.identifier.clone()),
        vec![
            r(DbSubnetGroup, "db-subnet-group"),
            r(SecurityGroup, "db-sg"),
        ],
        changes,
        format!(
            "{} {} {}{}, {} GiB, backups {} days, password managed by RDS in Secrets Manager, \
             deletion protection {}",
            db.engine,
            db.engine_version,
            db.class,
            if db.multi_az { " Multi-AZ" } else { "" },
            db.allocated_storage,
            db.backup_retention_days,
            if db.deletion_protection { "on" } else { "off" }
        ),
        false,
    );
    for replica_name in &db.read_replicas {
        let replica = region
            .db_instances
            .iter()
            .find(|d| owned(&d.tags, stack, replica_name));
        let changes = replica
            .map(|p| db_drift(p, blueprint, false))
            .unwrap_or_default();
        b.step(
            DbReadReplica,
            replica_name,
            replica_name,
            replica.map(|d| d.identifier.clone()),
            vec![r(DbInstance, "db")],
            changes,
            format!("read replica of {primary_name}, {}", db.class),
            false,
        );
    }

    // What is tagged with the stack but no longer in the blueprint goes, in teardown order.
    let expected: BTreeSet<ResourceRef> = b.steps.iter().map(|s| s.resource.clone()).collect();
    let removals = teardown_region(
        region,
        stack,
        &TeardownOptions::default(),
        topology.taken_at,
    )
    .into_iter()
    .filter(|(owner, _)| !expected.contains(owner) && !same_database(owner, &expected))
    .map(|(_, step)| step);
    b.steps.extend(removals);
    b.steps.extend(duplicates::blockers(region, stack));
    Plan {
        stack: stack.to_string(),
        steps: b.steps,
        conflicts: b.conflicts,
    }
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

/// The group's desired capacity belongs to its scaling policy (as with Terraform's
/// `ignore_changes = [desired_capacity]`): the group has a policy, or the blueprint gives it one.
/// `up` then sets the blueprint's `desired` only when it creates the group, and never puts it
/// back afterwards, since a target-tracking policy changes it under load
/// (<https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html>).
pub fn desired_follows_policy(blueprint: &Blueprint, asg: Option<&AutoScalingGroup>) -> bool {
    blueprint.auto_scaling.cpu_target.is_some() || asg.is_some_and(|a| !a.policies.is_empty())
}

/// What Auto Scaling does to a desired capacity the policy set when the new minimum or maximum
/// leaves it outside: `UpdateAutoScalingGroup` without `DesiredCapacity` raises it to the new
/// minimum or lowers it to the new maximum
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html>).
fn clamped_desired(asg: &AutoScalingGroup, scaling: &AutoScalingSpec) -> Option<String> {
    let desired = i64::from(asg.desired_capacity);
    if desired < i64::from(scaling.min) {
        Some(format!(
            "desired capacity {desired} is below the new min {}: Auto Scaling raises it to {} \
             and launches the difference",
            scaling.min, scaling.min
        ))
    } else if desired > i64::from(scaling.max) {
        Some(format!(
            "desired capacity {desired} is above the new max {}: Auto Scaling lowers it to {} \
             and terminates the difference",
            scaling.max, scaling.max
        ))
    } else {
        None
    }
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

fn rule_drift(
    group: &SecurityGroup,
    wanted: &[RuleSpec],
    group_id: &dyn Fn(&str) -> Option<String>,
    region: &RegionTopology,
    stack: &str,
) -> Vec<String> {
    let diff = layout::rule_diff(group, wanted, group_id);
    let missing = diff.missing.iter().map(|rule| {
        format!(
            "ingress {} is missing (removed outside haven): authorize it",
            rule.describe()
        )
    });
    let extra = diff.extra.iter().map(|rule| {
        format!(
            "ingress {} was added outside haven: revoke it",
            describe_rule(rule, region, stack)
        )
    });
    missing.chain(extra).collect()
}

fn db_drift(db: &DbInstance, blueprint: &Blueprint, primary: bool) -> Vec<String> {
    let spec = &blueprint.database;
    let mut changes = Vec::new();
    if db.class != spec.class {
        // `up` applies it at once (ApplyImmediately), with any change already pending for the
        // maintenance window: a Multi-AZ instance fails over to its resized standby, a
        // Single-AZ one reboots
        // (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.ApplyImmediately.html>).
        let outage = if db.multi_az {
            "a Multi-AZ failover (about a minute or two without writes)"
        } else {
            "a reboot (the instance is down for several minutes)"
        };
        changes.push(format!(
            "{}; applied at once: {outage}, together with any change pending for the \
             maintenance window",
            drift("class", &db.class, &spec.class)
        ));
    }
    if primary {
        if !in_stack(&db.tags, blueprint.name()) {
            changes.push(format!("adopt into stack {} (tag it)", blueprint.name()));
        }
        if db.multi_az != spec.multi_az {
            changes.push(drift("Multi-AZ", db.multi_az, spec.multi_az));
        }
        if db.backup_retention_days != i32::from(spec.backup_retention_days) {
            changes.push(drift(
                "backup retention days",
                db.backup_retention_days,
                spec.backup_retention_days,
            ));
        }
        if db.deletion_protection != spec.deletion_protection {
            changes.push(drift(
                "deletion protection",
                db.deletion_protection,
                spec.deletion_protection,
            ));
        }
        if let Some(size) = db.allocated_storage_gib
            && i64::from(size) < i64::from(spec.allocated_storage)
        {
            changes.push(format!(
                "allocated storage {size} GiB → {} GiB",
                spec.allocated_storage
            ));
        }
        if db.master_user_secret_arn.is_none() && spec.manage_master_user_password {
            changes.push("hand the master password to RDS / Secrets Manager".to_string());
        }
    }
    changes
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

/// The IAM steps. An entity found by name that is not the stack's (see [`owns_iam`]) becomes a
/// [`Conflict`]: its step says what `--adopt` would do, the adoption first (a tag; a move to the
/// stack's path for a group, which IAM does not let carry tags).
fn plan_iam(b: &mut Builder<'_>, blueprint: &Blueprint, iam: Option<&Iam>) {
    use ResourceKind::*;
    let spec = &blueprint.iam;
    let stack = blueprint.name();
    let adopt_tag = format!("adopt: tag it {STACK_TAG}={stack}");
    let mut conflict = |kind: ResourceKind, name: &str, arn: &str, changes: &mut Vec<String>| {
        let adoption = if kind == IamGroup {
            format!(
                "adopt: move it to path {} (IAM groups take no tags)",
                iam_path(stack)
            )
        } else {
            adopt_tag.clone()
        };
        changes.insert(0, adoption);
        b.conflicts.push(Conflict {
            resource: r(kind, name),
            arn: arn.to_string(),
            changes: changes.clone(),
        });
    };
    let role = iam.and_then(|i| i.roles.iter().find(|r| r.name == spec.instance_role));
    let mut role_changes = Vec::new();
    if let Some(role) = role {
        if !role
            .trusted_services
            .iter()
            .any(|s| s == "ec2.amazonaws.com")
        {
            role_changes.push(
                "replace its trust policy with EC2-only trust (whoever else may assume it \
                 loses that)"
                    .to_string(),
            );
        }
        for arn in &spec.instance_policy_arns {
            if !role.attached_policy_arns.contains(arn) {
                role_changes.push(format!("attach {arn}"));
            }
        }
        if !owns_iam(&role.arn, &role.tags, stack) {
            conflict(IamRole, &spec.instance_role, &role.arn, &mut role_changes);
        }
    }
    let profile = iam.and_then(|i| {
        i.instance_profiles
            .iter()
            .find(|p| p.name == spec.instance_profile)
    });
    let mut profile_changes = Vec::new();
    if let Some(profile) = profile {
        match profile.role_names.first() {
            Some(other) if *other != spec.instance_role => profile_changes.push(format!(
                "it holds role {other}, and a profile holds one role: haven will not swap it \
                 (instances using it would change identity); remove {other} from it or name \
                 another instance_profile"
            )),
            Some(_) => {}
            None => profile_changes.push(format!("add role {}", spec.instance_role)),
        }
        if !owns_iam(&profile.arn, &profile.tags, stack) {
            conflict(
                InstanceProfile,
                &spec.instance_profile,
                &profile.arn,
                &mut profile_changes,
            );
        }
    }
    let mut group = None;
    let mut group_changes = Vec::new();
    let mut users = Vec::new();
    if let Some(operators) = &spec.operators {
        group = iam.and_then(|i| i.groups.iter().find(|g| g.name == operators.group));
        if let Some(group) = group {
            if !group.attached_policy_arns.contains(&operators.policy_arn) {
                group_changes.push(format!("attach {}", operators.policy_arn));
            }
            if !iam_owned(&group.arn, stack) {
                conflict(IamGroup, &operators.group, &group.arn, &mut group_changes);
            }
        }
        for user_name in &operators.users {
            let user = iam.and_then(|i| i.users.iter().find(|u| u.name == *user_name));
            let mut changes = Vec::new();
            if let Some(user) = user {
                if !user.groups.contains(&operators.group) {
                    changes.push(format!(
                        "add to {} (with {})",
                        operators.group, operators.policy_arn
                    ));
                }
                if !owns_iam(&user.arn, &user.tags, stack) {
                    conflict(IamUser, user_name, &user.arn, &mut changes);
                }
            }
            users.push((user_name, user, changes));
        }
    }
    b.step(
        IamRole,
        &spec.instance_role,
        &spec.instance_role,
        role.map(|r| r.arn.clone()),
        vec![],
        role_changes,
        format!(
            "trusted by EC2, path {}, with {}",
            iam_path(stack),
            spec.instance_policy_arns.join(", ")
        ),
        true,
    );
    b.step(
        InstanceProfile,
        &spec.instance_profile,
        &spec.instance_profile,
        profile.map(|p| p.arn.clone()),
        vec![r(IamRole, &spec.instance_role)],
        profile_changes,
        format!("holding {}", spec.instance_role),
        true,
    );
    if let Some(operators) = &spec.operators {
        b.step(
            IamGroup,
            &operators.group,
            &operators.group,
            group.map(|g| g.arn.clone()),
            vec![],
            group_changes,
            format!("with {}", operators.policy_arn),
            true,
        );
        for (user_name, user, changes) in users {
            b.step(
                IamUser,
                user_name,
                user_name,
                user.map(|u| u.arn.clone()),
                vec![r(IamGroup, &operators.group)],
                changes,
                format!("in {} (no password or key is created)", operators.group),
                true,
            );
        }
    }
    // The account's password policy is changed only when the blueprint has one, and every
    // difference is shown as it is → as it will be.
    if let Some(policy) = &spec.password_policy {
        let actual = iam.and_then(|i| i.password_policy.as_ref());
        let mut changes = Vec::new();
        if let Some(actual) = actual {
            compare(
                &mut changes,
                "minimum length",
                actual.minimum_length,
                i32::from(policy.minimum_length),
            );
            let flags = [
                (
                    "require symbols",
                    actual.require_symbols,
                    policy.require_symbols,
                ),
                (
                    "require numbers",
                    actual.require_numbers,
                    policy.require_numbers,
                ),
                (
                    "require uppercase",
                    actual.require_uppercase,
                    policy.require_uppercase,
                ),
                (
                    "require lowercase",
                    actual.require_lowercase,
                    policy.require_lowercase,
                ),
                (
                    "users may change their password",
                    actual.allow_users_to_change,
                    policy.allow_users_to_change,
                ),
            ];
            for (what, have, want) in flags {
                if have != want {
                    changes.push(drift(what, have, want));
                }
            }
            let days = |d: Option<i32>| d.map_or("never".to_string(), |d| format!("{d} days"));
            if actual.max_age_days != policy.max_age_days.map(i32::from) {
                changes.push(format!(
                    "max age {} → {}",
                    days(actual.max_age_days),
                    days(policy.max_age_days.map(i32::from))
                ));
            }
            if actual.reuse_prevention != policy.reuse_prevention.map(i32::from) {
                let count = |n: Option<i32>| n.map_or("off".to_string(), |n| n.to_string());
                changes.push(format!(
                    "reuse prevention {} → {}",
                    count(actual.reuse_prevention),
                    count(policy.reuse_prevention.map(i32::from))
                ));
            }
        }
        // The policy always exists in some form; "create" means none is set.
        b.step(
            PasswordPolicy,
            "account",
            "account password policy",
            actual.map(|_| "account".to_string()),
            vec![],
            changes,
            format!(
                "none set → minimum length {}, symbols {}, numbers {}, uppercase {}, lowercase \
                 {}, users may change {}, max age {}, reuse prevention {}",
                policy.minimum_length,
                policy.require_symbols,
                policy.require_numbers,
                policy.require_uppercase,
                policy.require_lowercase,
                policy.allow_users_to_change,
                policy
                    .max_age_days
                    .map_or("never".to_string(), |d| format!("{d} days")),
                policy
                    .reuse_prevention
                    .map_or("off".to_string(), |n| n.to_string())
            ),
            true,
        );
    }
}

pub mod dr_network;
mod duplicates;
#[cfg(test)]
mod iam_tests;
pub mod layout;
mod teardown;
#[cfg(test)]
mod tests;

use layout::{DefaultRoute, GroupSpec, Peer, RuleSpec};
use teardown::teardown_region;
pub use teardown::{
    DbDeleteMove, DrCopy, Teardown, TeardownOptions, adopted_by_failover, db_delete_move,
    db_is_busy, deletion_protected, final_snapshot_name, teardown, teardown_with,
};
