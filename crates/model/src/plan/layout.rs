//! What a blueprint asks for, laid out resource by resource: the NAT gateways, the route tables
//! and the security-group chain. The plan compares these with what exists; `haven up` builds
//! them. Both read them from here so they cannot disagree.

use crate::blueprint::{Blueprint, NatMode};
use crate::topology::{RulePeer, SecurityGroup, SecurityGroupRule};

/// The AZs that get a NAT gateway: every AZ (`per-az`), the first (`single`) or none.
pub fn nat_azs(blueprint: &Blueprint) -> Vec<&str> {
    let azs = blueprint.network.azs.iter().map(String::as_str);
    match blueprint.network.nat {
        NatMode::PerAz => azs.collect(),
        NatMode::Single => azs.take(1).collect(),
        NatMode::None => Vec::new(),
    }
}

/// Where a route table sends `0.0.0.0/0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultRoute {
    /// The stack's internet gateway.
    InternetGateway,
    /// The NAT gateway with this logical name (`nat-<az>`).
    Nat(String),
}

/// A route table the blueprint asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Logical name: `public-rt`, `private-rt-<az>` (NAT per AZ) or `private-rt`.
    pub logical: String,
    /// Logical names of the subnets associated with it.
    pub subnets: Vec<String>,
    /// Its default route, if it has one.
    pub default_route: Option<DefaultRoute>,
}

/// One public route table for every public subnet; private tables follow the NAT layout: one
/// per AZ to that AZ's NAT gateway, or one shared (through the single NAT, or with no way out).
pub fn route_tables(blueprint: &Blueprint) -> Vec<TableSpec> {
    let azs = &blueprint.network.azs;
    let mut tables = vec![TableSpec {
        logical: "public-rt".to_string(),
        subnets: azs.iter().map(|az| format!("public-{az}")).collect(),
        default_route: Some(DefaultRoute::InternetGateway),
    }];
    match blueprint.network.nat {
        NatMode::PerAz => tables.extend(azs.iter().map(|az| TableSpec {
            logical: format!("private-rt-{az}"),
            subnets: vec![format!("private-{az}")],
            default_route: Some(DefaultRoute::Nat(format!("nat-{az}"))),
        })),
        NatMode::Single | NatMode::None => tables.push(TableSpec {
            logical: "private-rt".to_string(),
            subnets: azs.iter().map(|az| format!("private-{az}")).collect(),
            default_route: nat_azs(blueprint)
                .first()
                .map(|az| DefaultRoute::Nat(format!("nat-{az}"))),
        }),
    }
    tables
}

/// The source of an ingress rule the blueprint asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// An IPv4 CIDR.
    Cidr(String),
    /// Another security group of the stack, by logical name.
    Group(&'static str),
}

/// An ingress rule: TCP on one port from one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// The port.
    pub port: i32,
    /// Who may connect.
    pub peer: Peer,
}

impl RuleSpec {
    /// The rule in words, e.g. `tcp 80 from alb-sg`.
    pub fn describe(&self) -> String {
        let peer = match &self.peer {
            Peer::Cidr(c) => c.as_str(),
            Peer::Group(l) => l,
        };
        format!("tcp {} from {peer}", self.port)
    }
}

/// A security group of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// `alb-sg`, `app-sg` or `db-sg`.
    pub logical: &'static str,
    /// What it lets in, in words (also its AWS description).
    pub description: String,
    /// Its ingress rules.
    pub rules: Vec<RuleSpec>,
}

/// The chain: the ALB's group open to the internet on the listener port, the app's group open to
/// the ALB's group only (and SSH from the given CIDRs), the DB's group open to the app's only.
/// Peers come before the groups that reference them.
pub fn security_groups(blueprint: &Blueprint) -> Vec<GroupSpec> {
    let sec = &blueprint.security;
    let lb = &blueprint.load_balancer;
    let mut app_rules = vec![RuleSpec {
        port: i32::from(sec.app_port),
        peer: Peer::Group("alb-sg"),
    }];
    app_rules.extend(sec.ssh_from.iter().map(|c| RuleSpec {
        port: 22,
        peer: Peer::Cidr(c.to_string()),
    }));
    let mut alb_rules = vec![RuleSpec {
        port: i32::from(lb.listener_port),
        peer: Peer::Cidr("0.0.0.0/0".to_string()),
    }];
    // `[https]`: the HTTPS listener is open to the internet too (the group's description, which
    // AWS cannot change in place, stays the listener's).
    if let Some(https) = &blueprint.https {
        alb_rules.push(RuleSpec {
            port: i32::from(https.port),
            peer: Peer::Cidr("0.0.0.0/0".to_string()),
        });
    }
    vec![
        GroupSpec {
            logical: "alb-sg",
            description: format!("{} from the internet", lb.listener_protocol.as_str()),
            rules: alb_rules,
        },
        GroupSpec {
            logical: "app-sg",
            description: format!("port {} from alb-sg only", sec.app_port),
            rules: app_rules,
        },
        GroupSpec {
            logical: "db-sg",
            description: format!("port {} from app-sg only", sec.db_port),
            rules: vec![RuleSpec {
                port: i32::from(sec.db_port),
                peer: Peer::Group("app-sg"),
            }],
        },
    ]
}

/// How a group's ingress differs from what the blueprint asks for.
#[derive(Debug, Default, PartialEq)]
pub struct RuleDiff<'a> {
    /// Rules the blueprint asks for that the group lacks.
    pub missing: Vec<&'a RuleSpec>,
    /// Rules the group has that the blueprint does not ask for.
    pub extra: Vec<&'a SecurityGroupRule>,
}

/// Compares a group's ingress with the wanted rules; `group_id` maps a stack group's logical
/// name to its id (a rule from a group that does not exist yet is missing).
pub fn rule_diff<'a>(
    group: &'a SecurityGroup,
    wanted: &'a [RuleSpec],
    group_id: &dyn Fn(&str) -> Option<String>,
) -> RuleDiff<'a> {
    let matches = |rule: &SecurityGroupRule, expected: &RuleSpec| {
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
    RuleDiff {
        missing: wanted
            .iter()
            .filter(|expected| !group.ingress.iter().any(|rule| matches(rule, expected)))
            .collect(),
        extra: group
            .ingress
            .iter()
            .filter(|rule| !wanted.iter().any(|expected| matches(rule, expected)))
            .collect(),
    }
}
