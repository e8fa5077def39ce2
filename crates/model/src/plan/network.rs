//! The network tier of a plan: the VPC, its internet gateway, subnets, NAT gateways with their
//! Elastic IPs, route tables, the S3 gateway endpoint and the security-group chain (as
//! `apply/network.rs` builds them).

use super::layout::{self, DefaultRoute, GroupSpec, Peer, RuleSpec, TableSpec};
use super::{Builder, Context, RECREATE, ResourceKind::*, ResourceRef, describe_rule, owned, r};
use crate::topology::{self, RouteTarget};

/// What the later tiers need of the network: the VPC, the subnets' ids and the private route
/// tables, as they exist today (`None` for what the plan creates).
pub(super) struct Network<'a> {
    vpc_id: Option<&'a str>,
    subnets: Vec<(String, Option<String>)>,
    /// The private route tables, by logical name.
    pub(super) private_tables: Vec<(String, Option<&'a topology::RouteTable>)>,
}

impl Network<'_> {
    /// The id of the subnet with this logical name, if it exists.
    pub(super) fn subnet_id(&self, logical: &str) -> Option<String> {
        subnet_id(&self.subnets, logical)
    }

    /// A resource whose VPC id is `id` is in the stack's VPC (which exists).
    pub(super) fn in_vpc(&self, id: &Option<String>) -> bool {
        self.vpc_id.is_some() && id.as_deref() == self.vpc_id
    }
}

fn subnet_id(subnets: &[(String, Option<String>)], logical: &str) -> Option<String> {
    subnets
        .iter()
        .find(|(l, _)| l == logical)
        .and_then(|(_, id)| id.clone())
}

/// The VPC and everything in it but the security groups, in dependency order.
pub(super) fn plan_network<'a>(b: &mut Builder<'_>, cx: &Context<'a>) -> Network<'a> {
    let vpc_id = vpc(b, cx).map(|v| v.id.as_str());
    let igw = internet_gateway(b, cx, vpc_id);
    let subnets = subnets(b, cx);
    let nat_ids = nat_gateways(b, cx);
    let private_tables = route_tables(b, cx, igw, &nat_ids, &subnets);
    if cx.blueprint.network.s3_gateway_endpoint {
        s3_endpoint(b, cx, &private_tables);
    }
    Network {
        vpc_id,
        subnets,
        private_tables,
    }
}

fn vpc<'a>(b: &mut Builder<'_>, cx: &Context<'a>) -> Option<&'a topology::Vpc> {
    let net = &cx.blueprint.network;
    let vpc = cx
        .region
        .vpcs
        .iter()
        .find(|v| owned(&v.tags, cx.stack, "vpc"));
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
        &cx.name("vpc"),
        vpc.map(|v| v.id.clone()),
        vec![],
        changes,
        format!("{} with DNS hostnames", net.vpc_cidr),
        false,
    );
    vpc
}

fn internet_gateway<'a>(
    b: &mut Builder<'_>,
    cx: &Context<'a>,
    vpc_id: Option<&str>,
) -> Option<&'a topology::InternetGateway> {
    let igw = cx
        .region
        .internet_gateways
        .iter()
        .find(|g| owned(&g.tags, cx.stack, "igw"));
    let mut changes = Vec::new();
    if let (Some(igw), Some(vpc_id)) = (igw, vpc_id)
        && !igw.attached_vpc_ids.iter().any(|v| v == vpc_id)
    {
        changes.push("not attached to the VPC: attach it".to_string());
    }
    b.step(
        InternetGateway,
        "igw",
        &cx.name("igw"),
        igw.map(|g| g.id.clone()),
        vec![r(Vpc, "vpc")],
        changes,
        "attached to the VPC".to_string(),
        false,
    );
    igw
}

/// The public then the private subnet of each AZ, with their ids by logical name.
fn subnets(b: &mut Builder<'_>, cx: &Context<'_>) -> Vec<(String, Option<String>)> {
    let net = &cx.blueprint.network;
    let mut subnet_ids = Vec::new();
    for (tier, cidrs) in [
        ("public", &net.public_subnets),
        ("private", &net.private_subnets),
    ] {
        for (az, cidr) in net.azs.iter().zip(cidrs.iter()) {
            let logical = format!("{tier}-{az}");
            let subnet = cx
                .region
                .subnets
                .iter()
                .find(|s| owned(&s.tags, cx.stack, &logical));
            let mut changes = Vec::new();
            if let Some(subnet) = subnet {
                if subnet.cidr_block != cidr.to_string() || subnet.availability_zone != *az {
                    changes.push(format!(
                        "is {} in {} but the blueprint says {cidr} in {az}: a subnet cannot \
                         move; {RECREATE}",
                        subnet.cidr_block, subnet.availability_zone
                    ));
                }
                if subnet.map_public_ip_on_launch {
                    changes.push("map public IP on launch on → off".to_string());
                }
            }
            b.step(
                Subnet,
                &logical,
                &cx.name(&logical),
                subnet.map(|s| s.id.clone()),
                vec![r(Vpc, "vpc")],
                changes,
                format!("{cidr} in {az}"),
                false,
            );
            subnet_ids.push((logical, subnet.map(|s| s.id.clone())));
        }
    }
    subnet_ids
}

/// The NAT gateways and their Elastic IPs, with the NAT gateways' ids by AZ.
fn nat_gateways(b: &mut Builder<'_>, cx: &Context<'_>) -> Vec<(String, Option<String>)> {
    let mut nat_ids = Vec::new();
    for az in layout::nat_azs(cx.blueprint) {
        let logical = format!("nat-{az}");
        let nat = cx
            .region
            .nat_gateways
            .iter()
            .find(|n| owned(&n.tags, cx.stack, &logical) && n.state != "deleted");
        let eip_logical = format!("nat-eip-{az}");
        let eip = cx
            .region
            .elastic_ips
            .iter()
            .find(|e| owned(&e.tags, cx.stack, &eip_logical));
        b.step(
            ElasticIp,
            &eip_logical,
            &cx.name(&eip_logical),
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
            &cx.name(&logical),
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
    nat_ids
}

/// The route tables the layout asks for; returns the private ones by logical name.
fn route_tables<'a>(
    b: &mut Builder<'_>,
    cx: &Context<'a>,
    igw: Option<&topology::InternetGateway>,
    nat_ids: &[(String, Option<String>)],
    subnet_ids: &[(String, Option<String>)],
) -> Vec<(String, Option<&'a topology::RouteTable>)> {
    let mut private_tables = Vec::new();
    for spec in layout::route_tables(cx.blueprint) {
        let (logical, subnets) = (&spec.logical, &spec.subnets);
        let table = cx
            .region
            .route_tables
            .iter()
            .find(|t| owned(&t.tags, cx.stack, logical));
        let mut depends = vec![r(Vpc, "vpc")];
        depends.extend(subnets.iter().map(|s| r(Subnet, s)));
        match &spec.default_route {
            Some(DefaultRoute::InternetGateway) => depends.push(r(InternetGateway, "igw")),
            Some(DefaultRoute::Nat(nat)) => depends.push(r(NatGateway, nat)),
            None => {}
        }
        let changes = table
            .map(|table| {
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
                route_table_drift(&spec, table, wanted_target, subnet_ids)
            })
            .unwrap_or_default();
        b.step(
            RouteTable,
            logical,
            &cx.name(logical),
            table.map(|t| t.id.clone()),
            depends,
            changes,
            format!(
                "{}; associated with {}",
                route_text(&spec),
                subnets.join(", ")
            ),
            false,
        );
        if logical.starts_with("private") {
            private_tables.push((logical.clone(), table));
        }
    }
    private_tables
}

fn route_text(spec: &TableSpec) -> String {
    match &spec.default_route {
        Some(DefaultRoute::InternetGateway) => "0.0.0.0/0 → internet gateway".to_string(),
        Some(DefaultRoute::Nat(nat)) => format!("0.0.0.0/0 → {nat}"),
        None => "no route out".to_string(),
    }
}

/// How an existing route table differs from `spec`: its default route and its associations.
fn route_table_drift(
    spec: &TableSpec,
    table: &topology::RouteTable,
    wanted_target: Option<RouteTarget>,
    subnet_ids: &[(String, Option<String>)],
) -> Vec<String> {
    let mut changes = Vec::new();
    let route_text = route_text(spec);
    let default = table.routes.iter().find(|r| r.destination == "0.0.0.0/0");
    match (default, &wanted_target, &spec.default_route) {
        (None, _, Some(_)) => changes.push(format!("add route {route_text}")),
        (Some(route), Some(wanted), _) if route.target != *wanted => changes.push(format!(
            "route 0.0.0.0/0 points elsewhere (changed outside haven): {route_text}"
        )),
        (Some(_), _, None) => changes.push("remove route 0.0.0.0/0 (nat = \"none\")".to_string()),
        _ => {}
    }
    for subnet in &spec.subnets {
        let associated = subnet_id(subnet_ids, subnet).is_some_and(|id| {
            table
                .associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(id.as_str()))
        });
        if !associated {
            changes.push(format!("associate {subnet}"));
        }
    }
    changes
}

/// The S3 gateway endpoint on the private route tables (found by its route in one of them).
fn s3_endpoint(
    b: &mut Builder<'_>,
    cx: &Context<'_>,
    private_tables: &[(String, Option<&topology::RouteTable>)],
) {
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
        &cx.name("s3-endpoint"),
        endpoint,
        private_tables
            .iter()
            .map(|(l, _)| r(RouteTable, l))
            .collect(),
        vec![],
        format!(
            "com.amazonaws.{}.s3 gateway on the private route tables",
            cx.blueprint.region()
        ),
        false,
    );
}

/// Security groups: ALB ← internet, app ← ALB only, DB ← app only.
pub(super) fn plan_security_groups(b: &mut Builder<'_>, cx: &Context<'_>) {
    let group_of = |logical: &str| {
        cx.region
            .security_groups
            .iter()
            .find(|g| owned(&g.tags, cx.stack, logical))
    };
    for GroupSpec {
        logical,
        description: text,
        rules,
    } in &layout::security_groups(cx.blueprint)
    {
        let group = group_of(logical);
        let changes = group
            .map(|g| rule_drift(g, rules, &|l| group_of(l).map(|g| g.id.clone()), cx))
            .unwrap_or_default();
        let mut depends: Vec<ResourceRef> = vec![r(Vpc, "vpc")];
        for rule in rules {
            if let Peer::Group(peer) = &rule.peer {
                depends.push(r(SecurityGroup, peer));
            }
        }
        b.step(
            SecurityGroup,
            logical,
            &cx.name(logical.trim_end_matches("-sg")),
            group.map(|g| g.id.clone()),
            depends,
            changes,
            text.clone(),
            false,
        );
    }
}

fn rule_drift(
    group: &topology::SecurityGroup,
    wanted: &[RuleSpec],
    group_id: &dyn Fn(&str) -> Option<String>,
    cx: &Context<'_>,
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
            describe_rule(rule, cx.region, cx.stack)
        )
    });
    missing.chain(extra).collect()
}
