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

use crate::blueprint::{Blueprint, NatMode};
use crate::relations::ASG_NAME_TAG;
#[cfg(test)]
use crate::topology::name_tag;
use crate::topology::{
    DbInstance, Iam, RegionTopology, RouteTarget, RulePeer, SecurityGroup, SecurityGroupRule, Tags,
    Topology,
};

/// The tag naming the stack a resource belongs to.
pub const STACK_TAG: &str = "haven:stack";
/// The tag naming the role a resource plays in its stack's blueprint.
pub const LOGICAL_TAG: &str = "haven:logical";
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
}

/// The ordered steps for one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Stack name.
    pub stack: String,
    /// Steps in the order they can be carried out.
    pub steps: Vec<Step>,
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

    /// The step for a resource.
    pub fn step(&self, kind: ResourceKind, logical: &str) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.resource.kind == kind && s.resource.logical == logical)
    }
}

fn owned(tags: &Tags, stack: &str, logical: &str) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some(stack)
        && tags.get(LOGICAL_TAG).map(String::as_str) == Some(logical)
}

fn in_stack(tags: &Tags, stack: &str) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some(stack)
}

fn logical_of(tags: &Tags) -> String {
    tags.get(LOGICAL_TAG).cloned().unwrap_or_default()
}

/// Expected ingress rule: TCP port from a peer (a CIDR, or a stack group by logical name).
struct ExpectedRule {
    port: i32,
    peer: Peer,
}

enum Peer {
    Cidr(String),
    Group(&'static str),
}

struct Builder<'a> {
    region_name: &'a str,
    steps: Vec<Step>,
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
    };
    let net = &blueprint.network;

    // Network.
    let vpc = region.vpcs.iter().find(|v| owned(&v.tags, stack, "vpc"));
    let mut changes = Vec::new();
    if let Some(vpc) = vpc
        && vpc.cidr_block != net.vpc_cidr.to_string()
    {
        changes.push(format!(
            "CIDR is {} but the blueprint says {}: a VPC's block cannot change; run `haven down` \
             first",
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
                         move; run `haven down` first",
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
    let nat_azs: Vec<&String> = match net.nat {
        NatMode::PerAz => net.azs.iter().collect(),
        NatMode::Single => net.azs.iter().take(1).collect(),
        NatMode::None => Vec::new(),
    };
    let mut nat_ids: Vec<(String, Option<String>)> = Vec::new();
    for az in &nat_azs {
        let logical = format!("nat-{az}");
        let nat = region
            .nat_gateways
            .iter()
            .find(|n| owned(&n.tags, stack, &logical) && n.state != "deleted");
        let eip_logical = format!("nat-eip-{az}");
        b.step(
            ElasticIp,
            &eip_logical,
            &format!("{stack}-{eip_logical}"),
            nat.and_then(|n| n.public_ips.first().cloned()),
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
    let mut tables: Vec<(String, Vec<String>, Option<String>)> = Vec::new();
    tables.push((
        "public-rt".to_string(),
        net.azs.iter().map(|az| format!("public-{az}")).collect(),
        Some("igw".to_string()),
    ));
    match net.nat {
        NatMode::PerAz => {
            for az in &net.azs {
                tables.push((
                    format!("private-rt-{az}"),
                    vec![format!("private-{az}")],
                    Some(format!("nat-{az}")),
                ));
            }
        }
        NatMode::Single | NatMode::None => tables.push((
            "private-rt".to_string(),
            net.azs.iter().map(|az| format!("private-{az}")).collect(),
            nat_azs.first().map(|az| format!("nat-{az}")),
        )),
    }
    let mut private_tables = Vec::new();
    for (logical, subnets, default_route) in &tables {
        let table = region
            .route_tables
            .iter()
            .find(|t| owned(&t.tags, stack, logical));
        let mut changes = Vec::new();
        let mut depends = vec![r(Vpc, "vpc")];
        depends.extend(subnets.iter().map(|s| r(Subnet, s)));
        let route_text = match default_route.as_deref() {
            Some("igw") => "0.0.0.0/0 → internet gateway".to_string(),
            Some(nat) => format!("0.0.0.0/0 → {nat}"),
            None => "no route out".to_string(),
        };
        if let Some(target) = default_route {
            depends.push(if target == "igw" {
                r(InternetGateway, "igw")
            } else {
                r(NatGateway, target)
            });
        }
        if let Some(table) = table {
            let default = table.routes.iter().find(|r| r.destination == "0.0.0.0/0");
            let wanted_target = match default_route.as_deref() {
                Some("igw") => igw.map(|g| RouteTarget::InternetGateway(g.id.clone())),
                Some(nat) => nat_ids
                    .iter()
                    .find(|(az, _)| format!("nat-{az}") == nat)
                    .and_then(|(_, id)| id.clone().map(RouteTarget::NatGateway)),
                None => None,
            };
            match (default, &wanted_target, default_route) {
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
    let groups: [(&'static str, String, Vec<ExpectedRule>); 3] = [
        (
            "alb-sg",
            format!("{} from the internet", lb.listener_protocol.as_str()),
            vec![ExpectedRule {
                port: i32::from(lb.listener_port),
                peer: Peer::Cidr("0.0.0.0/0".to_string()),
            }],
        ),
        (
            "app-sg",
            format!("port {} from alb-sg only", sec.app_port),
            {
                let mut rules = vec![ExpectedRule {
                    port: i32::from(sec.app_port),
                    peer: Peer::Group("alb-sg"),
                }];
                rules.extend(sec.ssh_from.iter().map(|c| ExpectedRule {
                    port: 22,
                    peer: Peer::Cidr(c.to_string()),
                }));
                rules
            },
        ),
        (
            "db-sg",
            format!("port {} from app-sg only", sec.db_port),
            vec![ExpectedRule {
                port: i32::from(sec.db_port),
                peer: Peer::Group("app-sg"),
            }],
        ),
    ];
    let group_of = |logical: &str| {
        region
            .security_groups
            .iter()
            .find(|g| owned(&g.tags, stack, logical))
    };
    for (logical, text, rules) in &groups {
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
            if let Peer::Group(peer) = rule.peer {
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
                "port {} but the blueprint says {}: a target group's port cannot change; run \
                 `haven down` first",
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
        let pairs = [
            ("min size", asg.min_size, scaling.min),
            ("desired capacity", asg.desired_capacity, scaling.desired),
            ("max size", asg.max_size, scaling.max),
        ];
        for (what, actual, wanted) in pairs {
            if i64::from(actual) != i64::from(wanted) {
                changes.push(drift(what, actual, wanted));
            }
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
    }
    let mut depends = vec![
        r(LaunchTemplate, "launch-template"),
        r(TargetGroup, "target-group"),
    ];
    depends.extend(net.azs.iter().map(|az| r(Subnet, &format!("private-{az}"))));
    b.step(
        AutoScalingGroup,
        "asg",
        &format!("{stack}-asg"),
        asg.map(|a| a.name.clone()),
        depends,
        changes,
        format!(
            "{}/{}/{} (min/desired/max) in the private subnets, {} health checks, grace {}s",
            scaling.min,
            scaling.desired,
            scaling.max,
            scaling.health_check_type.as_str(),
            scaling.grace_period
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
            &format!("{stack}-cpu-{target}"),
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
    let primary_name = format!("{stack}-db");
    let primary = region
        .db_instances
        .iter()
        .find(|d| owned(&d.tags, stack, "db"));
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
    let removals = teardown_region(region, stack)
        .into_iter()
        .filter(|(owner, _)| !expected.contains(owner))
        .map(|(_, step)| step);
    b.steps.extend(removals);
    Plan {
        stack: stack.to_string(),
        steps: b.steps,
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
    wanted: &[ExpectedRule],
    group_id: &dyn Fn(&str) -> Option<String>,
    region: &RegionTopology,
    stack: &str,
) -> Vec<String> {
    let matches = |rule: &SecurityGroupRule, expected: &ExpectedRule| {
        rule.protocol == "tcp"
            && rule.from_port == Some(expected.port)
            && rule.to_port == Some(expected.port)
            && match &expected.peer {
                Peer::Cidr(c) => rule.peer == RulePeer::Cidr(c.clone()),
                Peer::Group(logical) => {
                    group_id(logical).is_some_and(|id| rule.peer == RulePeer::SecurityGroup(id))
                }
            }
    };
    let mut changes = Vec::new();
    for expected in wanted {
        if !group.ingress.iter().any(|rule| matches(rule, expected)) {
            let peer = match &expected.peer {
                Peer::Cidr(c) => c.clone(),
                Peer::Group(l) => (*l).to_string(),
            };
            changes.push(format!(
                "ingress tcp {} from {peer} is missing (removed outside haven): authorize it",
                expected.port
            ));
        }
    }
    for rule in &group.ingress {
        if !wanted.iter().any(|expected| matches(rule, expected)) {
            changes.push(format!(
                "ingress {} was added outside haven: revoke it",
                describe_rule(rule, region, stack)
            ));
        }
    }
    changes
}

fn db_drift(db: &DbInstance, blueprint: &Blueprint, primary: bool) -> Vec<String> {
    let spec = &blueprint.database;
    let mut changes = Vec::new();
    if db.class != spec.class {
        changes.push(drift("class", &db.class, &spec.class));
    }
    if primary {
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

fn plan_iam(b: &mut Builder<'_>, blueprint: &Blueprint, iam: Option<&Iam>) {
    use ResourceKind::*;
    let spec = &blueprint.iam;
    let stack = blueprint.name();
    let role = iam.and_then(|i| i.roles.iter().find(|r| r.name == spec.instance_role));
    let mut changes = Vec::new();
    if let Some(role) = role {
        for arn in &spec.instance_policy_arns {
            if !role.attached_policy_arns.contains(arn) {
                changes.push(format!("attach {arn}"));
            }
        }
        if !role
            .trusted_services
            .iter()
            .any(|s| s == "ec2.amazonaws.com")
        {
            changes.push("trust ec2.amazonaws.com".to_string());
        }
    }
    b.step(
        IamRole,
        &spec.instance_role,
        &spec.instance_role,
        role.map(|r| r.arn.clone()),
        vec![],
        changes,
        format!(
            "trusted by EC2, path {}, with {}",
            iam_path(stack),
            spec.instance_policy_arns.join(", ")
        ),
        true,
    );
    let profile = iam.and_then(|i| {
        i.instance_profiles
            .iter()
            .find(|p| p.name == spec.instance_profile)
    });
    let mut changes = Vec::new();
    if let Some(profile) = profile
        && !profile.role_names.contains(&spec.instance_role)
    {
        changes.push(format!("add role {}", spec.instance_role));
    }
    b.step(
        InstanceProfile,
        &spec.instance_profile,
        &spec.instance_profile,
        profile.map(|p| p.arn.clone()),
        vec![r(IamRole, &spec.instance_role)],
        changes,
        format!("holding {}", spec.instance_role),
        true,
    );
    if let Some(operators) = &spec.operators {
        let group = iam.and_then(|i| i.groups.iter().find(|g| g.name == operators.group));
        let mut changes = Vec::new();
        if let Some(group) = group
            && !group.attached_policy_arns.contains(&operators.policy_arn)
        {
            changes.push(format!("attach {}", operators.policy_arn));
        }
        b.step(
            IamGroup,
            &operators.group,
            &operators.group,
            group.map(|g| g.arn.clone()),
            vec![],
            changes,
            format!("with {}", operators.policy_arn),
            true,
        );
        for user_name in &operators.users {
            let user = iam.and_then(|i| i.users.iter().find(|u| u.name == *user_name));
            let mut changes = Vec::new();
            if let Some(user) = user
                && !user.groups.contains(&operators.group)
            {
                changes.push(format!("add to {}", operators.group));
            }
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
            if actual.max_age_days != policy.max_age_days.map(i32::from) {
                changes.push(format!("max age → {:?} days", policy.max_age_days));
            }
            if actual.reuse_prevention != policy.reuse_prevention.map(i32::from) {
                changes.push(format!("reuse prevention → {:?}", policy.reuse_prevention));
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
            format!("minimum length {}", policy.minimum_length),
            true,
        );
    }
}

/// Everything tagged with `stack`, in every Region of the topology, in the order it can be
/// deleted: replicas before their source, targets deregistered, the Auto Scaling group, listener,
/// load balancer, target group, NAT and its Elastic IP, route-table associations, the internet
/// gateway detached, subnets, security-group cross-references revoked before the groups, the
/// VPC; then IAM entities under [`iam_path`].
pub fn teardown(topology: &Topology, stack: &str) -> Plan {
    let mut steps: Vec<Step> = topology
        .regions
        .iter()
        .flat_map(|region| teardown_region(region, stack))
        .map(|(_, step)| step)
        .collect();
    if let Some(iam) = &topology.iam {
        steps.extend(teardown_iam(iam, stack));
    }
    Plan {
        stack: stack.to_string(),
        steps,
    }
}

/// Deletion steps for one Region, each with the resource it belongs to (the owner of a link
/// step such as a route-table association is its route table).
fn teardown_region(region: &RegionTopology, stack: &str) -> Vec<(ResourceRef, Step)> {
    use ResourceKind::*;
    let mut out: Vec<(ResourceRef, Step)> = Vec::new();
    let mut add = |owner: ResourceRef,
                   kind: ResourceKind,
                   logical: String,
                   name: String,
                   id: String,
                   detail: String| {
        let step = Step {
            op: Op::Delete,
            resource: ResourceRef::new(kind, logical),
            name,
            id: Some(id),
            region: Some(region.region.clone()),
            depends_on: Vec::new(),
            detail,
        };
        out.push((owner, step));
    };
    let vpc_ids: Vec<&str> = region
        .vpcs
        .iter()
        .filter(|v| in_stack(&v.tags, stack))
        .map(|v| v.id.as_str())
        .collect();
    let in_vpc = |id: &Option<String>| id.as_deref().is_some_and(|id| vpc_ids.contains(&id));
    let name_of = |tags: &Tags, fallback: &str| {
        tags.get("Name")
            .cloned()
            .unwrap_or_else(|| fallback.to_string())
    };

    // Databases: replicas first, then their sources, then the subnet group.
    let dbs: Vec<&crate::topology::DbInstance> = region
        .db_instances
        .iter()
        .filter(|d| in_stack(&d.tags, stack))
        .collect();
    for db in dbs.iter().filter(|d| d.read_replica_source.is_some()) {
        let logical = logical_of(&db.tags);
        add(
            r(DbReadReplica, &logical),
            DbReadReplica,
            logical,
            db.identifier.clone(),
            db.identifier.clone(),
            format!(
                "delete replica of {} (no final snapshot)",
                db.read_replica_source.as_deref().unwrap_or("?")
            ),
        );
    }
    for db in dbs.iter().filter(|d| d.read_replica_source.is_none()) {
        let logical = logical_of(&db.tags);
        let mut detail = String::new();
        if db.deletion_protection {
            detail.push_str("turn deletion protection off, then ");
        }
        detail.push_str("delete (no final snapshot; automated backups deleted)");
        add(
            r(DbInstance, &logical),
            DbInstance,
            logical,
            db.identifier.clone(),
            db.identifier.clone(),
            detail,
        );
    }
    for group in region
        .db_subnet_groups
        .iter()
        .filter(|g| g.name == format!("{stack}-db-subnets") && in_vpc(&g.vpc_id))
    {
        add(
            r(DbSubnetGroup, "db-subnet-group"),
            DbSubnetGroup,
            "db-subnet-group".to_string(),
            group.name.clone(),
            group.name.clone(),
            "delete".to_string(),
        );
    }

    // Compute and load balancing.
    let tgs: Vec<_> = region
        .target_groups
        .iter()
        .filter(|t| t.name == format!("{stack}-tg") && in_vpc(&t.vpc_id))
        .collect();
    for tg in &tgs {
        if !tg.targets.is_empty() {
            add(
                r(TargetGroup, "target-group"),
                TargetRegistration,
                "target-group".to_string(),
                tg.name.clone(),
                tg.arn.clone(),
                format!("deregister {} target(s)", tg.targets.len()),
            );
        }
    }
    let asgs: Vec<_> = region
        .auto_scaling_groups
        .iter()
        .filter(|a| in_stack(&a.tags, stack))
        .collect();
    for asg in &asgs {
        let logical = logical_of(&asg.tags);
        add(
            r(AutoScalingGroup, &logical),
            AutoScalingGroup,
            logical,
            asg.name.clone(),
            asg.name.clone(),
            format!(
                "force-delete (terminates its {} instance(s) and its scaling policies)",
                asg.instances.len()
            ),
        );
    }
    for instance in region.instances.iter().filter(|i| {
        in_stack(&i.tags, stack)
            && !i.state.is_gone()
            && !i
                .tags
                .get(ASG_NAME_TAG)
                .is_some_and(|name| asgs.iter().any(|a| a.name == *name))
    }) {
        add(
            r(Instance, &instance.id),
            Instance,
            instance.id.clone(),
            name_of(&instance.tags, &instance.id),
            instance.id.clone(),
            "terminate".to_string(),
        );
    }
    for template in region
        .launch_templates
        .iter()
        .filter(|t| in_stack(&t.tags, stack))
    {
        let logical = logical_of(&template.tags);
        add(
            r(LaunchTemplate, &logical),
            LaunchTemplate,
            logical,
            template.name.clone(),
            template.id.clone(),
            format!("delete with its {} version(s)", template.versions.len()),
        );
    }
    let lbs: Vec<_> = region
        .load_balancers
        .iter()
        .filter(|l| l.name == format!("{stack}-alb") && in_vpc(&l.vpc_id))
        .collect();
    for lb in &lbs {
        for listener in &lb.listeners {
            let logical = format!("listener-{}", listener.port.unwrap_or_default());
            add(
                r(Listener, &logical),
                Listener,
                logical,
                format!("{}:{}", lb.name, listener.port.unwrap_or_default()),
                listener.arn.clone(),
                "delete".to_string(),
            );
        }
    }
    for lb in &lbs {
        add(
            r(LoadBalancer, "load-balancer"),
            LoadBalancer,
            "load-balancer".to_string(),
            lb.name.clone(),
            lb.arn.clone(),
            "delete and wait until it is gone (it holds network interfaces in the subnets)"
                .to_string(),
        );
    }
    for tg in &tgs {
        add(
            r(TargetGroup, "target-group"),
            TargetGroup,
            "target-group".to_string(),
            tg.name.clone(),
            tg.arn.clone(),
            "delete".to_string(),
        );
    }

    // Network.
    for nat in region
        .nat_gateways
        .iter()
        .filter(|n| in_stack(&n.tags, stack) && n.state != "deleted")
    {
        let logical = logical_of(&nat.tags);
        add(
            r(NatGateway, &logical),
            NatGateway,
            logical.clone(),
            name_of(&nat.tags, &nat.id),
            nat.id.clone(),
            "delete and wait until deleted".to_string(),
        );
        for ip in &nat.public_ips {
            let eip = logical.replacen("nat-", "nat-eip-", 1);
            add(
                r(NatGateway, &logical),
                ElasticIp,
                eip,
                ip.clone(),
                ip.clone(),
                "release".to_string(),
            );
        }
    }
    let tables: Vec<_> = region
        .route_tables
        .iter()
        .filter(|t| in_stack(&t.tags, stack) && !t.associations.iter().any(|a| a.main))
        .collect();
    let mut endpoints = BTreeSet::new();
    for table in &tables {
        for route in &table.routes {
            if let RouteTarget::VpcEndpoint(id) = &route.target
                && endpoints.insert(id.clone())
            {
                add(
                    r(VpcEndpoint, "s3-endpoint"),
                    VpcEndpoint,
                    "s3-endpoint".to_string(),
                    id.clone(),
                    id.clone(),
                    "delete".to_string(),
                );
            }
        }
    }
    for table in &tables {
        let logical = logical_of(&table.tags);
        for association in table.associations.iter().filter(|a| a.subnet_id.is_some()) {
            let subnet = association.subnet_id.clone().unwrap_or_default();
            add(
                r(RouteTable, &logical),
                RouteTableAssociation,
                format!("{logical}/{subnet}"),
                association.id.clone(),
                association.id.clone(),
                format!("disassociate {subnet}"),
            );
        }
    }
    for table in &tables {
        let logical = logical_of(&table.tags);
        add(
            r(RouteTable, &logical),
            RouteTable,
            logical,
            name_of(&table.tags, &table.id),
            table.id.clone(),
            "delete".to_string(),
        );
    }
    for igw in region
        .internet_gateways
        .iter()
        .filter(|g| in_stack(&g.tags, stack))
    {
        let logical = logical_of(&igw.tags);
        for vpc in &igw.attached_vpc_ids {
            add(
                r(InternetGateway, &logical),
                IgwAttachment,
                logical.clone(),
                name_of(&igw.tags, &igw.id),
                igw.id.clone(),
                format!("detach from {vpc}"),
            );
        }
        add(
            r(InternetGateway, &logical),
            InternetGateway,
            logical,
            name_of(&igw.tags, &igw.id),
            igw.id.clone(),
            "delete".to_string(),
        );
    }
    for subnet in region.subnets.iter().filter(|s| in_stack(&s.tags, stack)) {
        let logical = logical_of(&subnet.tags);
        add(
            r(Subnet, &logical),
            Subnet,
            logical,
            name_of(&subnet.tags, &subnet.id),
            subnet.id.clone(),
            format!("delete {}", subnet.cidr_block),
        );
    }
    let groups: Vec<_> = region
        .security_groups
        .iter()
        .filter(|g| in_stack(&g.tags, stack) && g.name != "default")
        .collect();
    let group_ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    for group in &groups {
        let references: Vec<String> = group
            .ingress
            .iter()
            .map(|rule| ("ingress", rule))
            .chain(group.egress.iter().map(|rule| ("egress", rule)))
            .filter(|(_, rule)| {
                matches!(&rule.peer, RulePeer::SecurityGroup(id) if group_ids.contains(&id.as_str()))
            })
            .map(|(direction, rule)| format!("{direction} {}", describe_rule(rule, region, stack)))
            .collect();
        if !references.is_empty() {
            let logical = logical_of(&group.tags);
            add(
                r(SecurityGroup, &logical),
                SecurityGroupReferences,
                logical,
                group.name.clone(),
                group.id.clone(),
                format!("revoke {}", references.join(", ")),
            );
        }
    }
    for group in &groups {
        let logical = logical_of(&group.tags);
        add(
            r(SecurityGroup, &logical),
            SecurityGroup,
            logical,
            group.name.clone(),
            group.id.clone(),
            "delete".to_string(),
        );
    }
    for vpc in region.vpcs.iter().filter(|v| in_stack(&v.tags, stack)) {
        let logical = logical_of(&vpc.tags);
        add(
            r(Vpc, &logical),
            Vpc,
            logical,
            name_of(&vpc.tags, &vpc.id),
            vpc.id.clone(),
            "delete".to_string(),
        );
    }
    link_dependencies(&mut out);
    out
}

/// Each deletion depends on the earlier deletions of the kinds that block it.
fn link_dependencies(steps: &mut [(ResourceRef, Step)]) {
    for i in 0..steps.len() {
        let blockers = steps[i].1.resource.kind.blocked_by();
        let mut depends: Vec<ResourceRef> = steps[..i]
            .iter()
            .filter(|(_, s)| blockers.contains(&s.resource.kind))
            .map(|(_, s)| s.resource.clone())
            .collect();
        depends.dedup();
        steps[i].1.depends_on = depends;
    }
}

fn teardown_iam(iam: &Iam, stack: &str) -> Vec<Step> {
    use ResourceKind::*;
    let mut steps: Vec<(ResourceRef, Step)> = Vec::new();
    let mut add = |kind: ResourceKind, name: &str, arn: &str, detail: String| {
        steps.push((
            r(kind, name),
            Step {
                op: Op::Delete,
                resource: r(kind, name),
                name: name.to_string(),
                id: Some(arn.to_string()),
                region: None,
                depends_on: Vec::new(),
                detail,
            },
        ));
    };
    for profile in iam
        .instance_profiles
        .iter()
        .filter(|p| iam_owned(&p.arn, stack))
    {
        add(
            InstanceProfile,
            &profile.name,
            &profile.arn,
            format!("remove {}, then delete", profile.role_names.join(", ")),
        );
    }
    for role in iam.roles.iter().filter(|r| iam_owned(&r.arn, stack)) {
        add(
            IamRole,
            &role.name,
            &role.arn,
            format!(
                "detach {} policy(ies), then delete",
                role.attached_policy_arns.len()
            ),
        );
    }
    for group in iam.groups.iter().filter(|g| iam_owned(&g.arn, stack)) {
        add(
            IamGroup,
            &group.name,
            &group.arn,
            "remove its users, detach its policies, then delete".to_string(),
        );
    }
    for user in iam.users.iter().filter(|u| iam_owned(&u.arn, stack)) {
        add(
            IamUser,
            &user.name,
            &user.arn,
            "delete its login profile, access keys and MFA devices, then the user".to_string(),
        );
    }
    link_dependencies(&mut steps);
    steps.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::{self, Ipv4Cidr};

    const LAB: &str = include_str!("../../../assets/blueprints/lab.toml");
    const HEALTHY: &str = include_str!("../../../assets/fixtures/lab-healthy.json");

    fn lab_blueprint() -> Blueprint {
        blueprint::parse(LAB, "lab.toml", &|_| true).expect("lab.toml")
    }

    fn cidr(text: &str) -> Ipv4Cidr {
        Ipv4Cidr::parse(text).expect("CIDR")
    }

    fn tag(tags: &mut Tags, logical: &str) {
        tags.insert(STACK_TAG.into(), "lab".into());
        tags.insert(LOGICAL_TAG.into(), logical.into());
    }

    /// The healthy lab fixture as haven would have built it: tagged, named by convention.
    fn tagged_lab() -> (Blueprint, Topology) {
        let mut topology = Topology::from_json(HEALTHY).expect("fixture");
        let region = topology
            .regions
            .iter_mut()
            .find(|r| r.region == "ap-northeast-2")
            .expect("primary");
        let logical_by_name = |name: &str| -> Option<String> {
            Some(
                match name {
                    "lab-vpc" => "vpc",
                    "lab-igw" => "igw",
                    "lab-public-a" => "public-ap-northeast-2a",
                    "lab-public-b" => "public-ap-northeast-2b",
                    "lab-private-a" => "private-ap-northeast-2a",
                    "lab-private-b" => "private-ap-northeast-2b",
                    "lab-public-rt" => "public-rt",
                    "lab-private-rt-a" => "private-rt-ap-northeast-2a",
                    "lab-private-rt-b" => "private-rt-ap-northeast-2b",
                    "lab-nat-a" => "nat-ap-northeast-2a",
                    "lab-nat-b" => "nat-ap-northeast-2b",
                    "lab-alb" => "alb-sg",
                    "lab-app" => "app-sg",
                    "lab-db" => "db",
                    "lab-db-replica-1" => "lab-db-replica-1",
                    _ => return None,
                }
                .to_string(),
            )
        };
        macro_rules! tag_all {
            ($items:expr) => {
                for item in $items.iter_mut() {
                    if let Some(logical) = name_tag(&item.tags).and_then(logical_by_name) {
                        tag(&mut item.tags, &logical);
                    }
                }
            };
        }
        tag_all!(region.vpcs);
        tag_all!(region.internet_gateways);
        tag_all!(region.subnets);
        tag_all!(region.route_tables);
        tag_all!(region.nat_gateways);
        tag_all!(region.db_instances);
        for group in region.security_groups.iter_mut() {
            if let Some(logical) = name_tag(&group.tags).and_then(logical_by_name) {
                let logical = if logical == "db" {
                    "db-sg".into()
                } else {
                    logical
                };
                tag(&mut group.tags, &logical);
            }
        }
        tag(&mut region.auto_scaling_groups[0].tags, "asg");
        tag(&mut region.launch_templates[0].tags, "launch-template");
        region.target_groups[0].name = "lab-tg".into();
        let iam = topology.iam.as_mut().expect("IAM");
        iam.roles[0].arn = "arn:aws:iam::123456789012:role/haven/lab/lab-ec2-role".into();
        iam.instance_profiles[0].arn =
            "arn:aws:iam::123456789012:instance-profile/haven/lab/lab-ec2-profile".into();

        let mut blueprint = lab_blueprint();
        blueprint.network.public_subnets = vec![cidr("10.0.0.0/24"), cidr("10.0.1.0/24")];
        blueprint.network.private_subnets = vec![cidr("10.0.10.0/24"), cidr("10.0.11.0/24")];
        blueprint.network.s3_gateway_endpoint = false;
        blueprint.iam.instance_role = "lab-ec2-role".into();
        blueprint.iam.instance_profile = "lab-ec2-profile".into();
        blueprint.iam.operators = None;
        blueprint.iam.password_policy = None;
        // The fixture's database is protected; the lab blueprint leaves protection off.
        blueprint.database.deletion_protection = true;
        (blueprint, topology)
    }

    fn assert_ordered(plan: &Plan) {
        for (i, step) in plan.steps.iter().enumerate() {
            for dependency in &step.depends_on {
                let before = plan.steps[..i].iter().any(|s| s.resource == *dependency);
                assert!(
                    before,
                    "{} depends on {dependency}, not earlier",
                    step.resource
                );
            }
        }
    }

    #[test]
    fn nothing_exists_so_everything_is_created_in_dependency_order() {
        let blueprint = lab_blueprint();
        let plan = plan(&blueprint, &Topology::new(chrono::Utc::now()));
        assert_ordered(&plan);
        assert_eq!(plan.count(Op::Create), plan.steps.len());
        // VPC, IGW, 4 subnets, 2 EIPs, 2 NATs, 3 route tables, S3 endpoint, 3 SGs, role, profile,
        // group, user, password policy, LT, TG, ALB, listener, ASG, policy, DB subnet group, DB,
        // replica.
        assert_eq!(plan.steps.len(), 31, "{:#?}", plan.steps);
        let first = &plan.steps[0];
        assert_eq!(first.resource, r(ResourceKind::Vpc, "vpc"));
        let replica = plan
            .step(ResourceKind::DbReadReplica, "lab-db-replica-1")
            .expect("replica step");
        assert_eq!(replica.depends_on, vec![r(ResourceKind::DbInstance, "db")]);
    }

    #[test]
    fn the_built_lab_is_matched_by_its_tags_and_drift_is_shown() {
        let (blueprint, topology) = tagged_lab();
        let plan = plan(&blueprint, &topology);
        assert_ordered(&plan);
        let op = |kind, logical: &str| plan.step(kind, logical).map(|s| s.op);
        use ResourceKind::*;
        for (kind, logical) in [
            (Vpc, "vpc"),
            (InternetGateway, "igw"),
            (Subnet, "private-ap-northeast-2b"),
            (NatGateway, "nat-ap-northeast-2a"),
            (RouteTable, "private-rt-ap-northeast-2b"),
            (SecurityGroup, "app-sg"),
            (SecurityGroup, "db-sg"),
            (AutoScalingGroup, "asg"),
            (DbInstance, "db"),
            (IamRole, "lab-ec2-role"),
            (InstanceProfile, "lab-ec2-profile"),
            (LoadBalancer, "load-balancer"),
        ] {
            assert_eq!(op(kind, logical), Some(Op::Unchanged), "{kind}/{logical}");
        }
        // The fixture's ALB group also allows 443, which the blueprint does not.
        let alb = plan.step(SecurityGroup, "alb-sg").expect("alb-sg");
        assert_eq!(alb.op, Op::Update);
        assert!(
            alb.detail
                .contains("ingress tcp 443 from 0.0.0.0/0 was added outside haven"),
            "{}",
            alb.detail
        );
        // Health check: the fixture checks every 10 s with thresholds 2/2.
        let tg = plan
            .step(TargetGroup, "target-group")
            .expect("target group");
        assert_eq!(tg.op, Op::Update);
        assert!(
            tg.detail.contains("health-check interval 10 → 15"),
            "{}",
            tg.detail
        );
        assert!(
            tg.detail.contains("healthy threshold 2 → 3"),
            "{}",
            tg.detail
        );
        assert_eq!(plan.count(Op::Delete), 0, "{:#?}", plan.steps);
    }

    #[test]
    fn capacity_class_and_rules_changed_by_hand_are_drift() {
        let (blueprint, mut topology) = tagged_lab();
        let region = &mut topology.regions[0];
        region.auto_scaling_groups[0].desired_capacity = 3;
        let app = region
            .security_groups
            .iter_mut()
            .find(|g| g.name == "lab-app")
            .expect("app SG");
        app.ingress.push(SecurityGroupRule {
            protocol: "tcp".into(),
            from_port: Some(22),
            to_port: Some(22),
            peer: RulePeer::Cidr("0.0.0.0/0".into()),
            description: None,
        });
        let db = region
            .db_instances
            .iter_mut()
            .find(|d| d.identifier == "lab-db")
            .expect("db");
        db.class = "db.t3.small".into();
        db.multi_az = false;
        let plan = plan(&blueprint, &topology);
        let detail = |kind, logical: &str| {
            let step = plan.step(kind, logical).expect("step");
            assert_eq!(step.op, Op::Update, "{kind}/{logical}");
            step.detail.clone()
        };
        assert_eq!(
            detail(ResourceKind::AutoScalingGroup, "asg"),
            "desired capacity 3 → 2 (changed outside haven)"
        );
        assert_eq!(
            detail(ResourceKind::SecurityGroup, "app-sg"),
            "ingress tcp 22 from 0.0.0.0/0 was added outside haven: revoke it"
        );
        let db = detail(ResourceKind::DbInstance, "db");
        assert!(db.contains("class db.t3.small → db.t3.micro"), "{db}");
        assert!(db.contains("Multi-AZ false → true"), "{db}");
    }

    #[test]
    fn resources_the_blueprint_dropped_are_deleted() {
        let (mut blueprint, topology) = tagged_lab();
        blueprint.network.nat = NatMode::Single;
        blueprint.database.read_replicas.clear();
        let plan = plan(&blueprint, &topology);
        let deleted: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| s.op == Op::Delete)
            .map(|s| s.resource.to_string())
            .collect();
        for wanted in [
            "db-read-replica/lab-db-replica-1",
            "nat-gateway/nat-ap-northeast-2b",
            "elastic-ip/nat-eip-ap-northeast-2b",
            "route-table/private-rt-ap-northeast-2b",
        ] {
            assert!(
                deleted.iter().any(|d| d == wanted),
                "{wanted} in {deleted:?}"
            );
        }
        assert!(!deleted.iter().any(|d| d.contains("nat-ap-northeast-2a")));
        assert_eq!(
            plan.step(ResourceKind::RouteTable, "private-rt")
                .map(|s| s.op),
            Some(Op::Create)
        );
    }

    #[test]
    fn teardown_goes_in_reverse_dependency_order() {
        let (_, topology) = tagged_lab();
        let plan = teardown(&topology, "lab");
        assert!(plan.steps.iter().all(|s| s.op == Op::Delete));
        assert_ordered(&plan);
        let position = |kind: ResourceKind, logical: &str| {
            plan.steps
                .iter()
                .position(|s| s.resource.kind == kind && s.resource.logical == logical)
                .unwrap_or_else(|| panic!("no {kind}/{logical} in {:#?}", plan.steps))
        };
        use ResourceKind::*;
        let order = [
            position(DbReadReplica, "lab-db-replica-1"),
            position(DbInstance, "db"),
            position(TargetRegistration, "target-group"),
            position(AutoScalingGroup, "asg"),
            position(Listener, "listener-80"),
            position(LoadBalancer, "load-balancer"),
            position(TargetGroup, "target-group"),
            position(NatGateway, "nat-ap-northeast-2a"),
            position(ElasticIp, "nat-eip-ap-northeast-2a"),
            position(RouteTableAssociation, "public-rt/subnet-04cd372f7883b1061"),
            position(RouteTable, "public-rt"),
            position(IgwAttachment, "igw"),
            position(InternetGateway, "igw"),
            position(Subnet, "public-ap-northeast-2a"),
            position(SecurityGroupReferences, "app-sg"),
            position(SecurityGroup, "alb-sg"),
            position(Vpc, "vpc"),
            position(InstanceProfile, "lab-ec2-profile"),
            position(IamRole, "lab-ec2-role"),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // Nothing untagged: the default VPC, the other Region's resources, the operators group.
        assert!(
            !plan
                .steps
                .iter()
                .any(|s| s.id.as_deref() == Some("vpc-04d025788b2d70570"))
        );
        assert!(!plan.steps.iter().any(|s| s.resource.kind == IamGroup));
        assert!(teardown(&topology, "other").steps.is_empty());
    }

    #[test]
    fn a_hand_built_stack_without_load_balancer_tears_down_cleanly() {
        let mut topology = Topology::new(chrono::Utc::now());
        let mut region = RegionTopology {
            region: "us-east-1".into(),
            ..RegionTopology::default()
        };
        region.vpcs.push(crate::topology::Vpc {
            id: "vpc-1".into(),
            cidr_block: "10.0.0.0/16".into(),
            is_default: false,
            state: "available".into(),
            tags: haven_tags("lab", "vpc", "lab-vpc"),
        });
        region.security_groups.push(SecurityGroup {
            id: "sg-default".into(),
            name: "default".into(),
            description: String::new(),
            vpc_id: Some("vpc-1".into()),
            ingress: vec![],
            egress: vec![],
            tags: haven_tags("lab", "default", "default"),
        });
        topology.regions.push(region);
        let plan = teardown(&topology, "lab");
        assert_eq!(plan.steps.len(), 1, "{:#?}", plan.steps);
        assert_eq!(plan.steps[0].resource, r(ResourceKind::Vpc, "vpc"));
        assert_eq!(plan.steps[0].region.as_deref(), Some("us-east-1"));
    }
}
