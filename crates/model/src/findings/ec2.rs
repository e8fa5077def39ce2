//! EC2 and VPC checks: security groups, instances, subnets, launch templates, NAT per AZ and
//! the security-group chain ALB → app → database.

use std::collections::BTreeSet;

use super::index::RegionIndex;
use super::{Finding, Policy, ResourceKind, ResourceRef, finding};
use crate::topology::{
    LaunchTemplate, LaunchTemplateVersion, RulePeer, SecurityGroup, SecurityGroupRule, name_tag,
};

pub(crate) fn check(index: &RegionIndex, policy: &Policy, out: &mut Vec<Finding>) {
    let region = index.region;
    let code = Some(index.code());
    // Security Hub judges every security group, the default VPC's included.
    for sg in &region.security_groups {
        security_group(index, sg, policy, out);
    }
    for instance in region.instances.iter().filter(|i| !i.state.is_gone()) {
        let resource = || {
            ResourceRef::new(ResourceKind::Instance, &instance.id).named(name_tag(&instance.tags))
        };
        let tokens = instance
            .metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.as_deref());
        if let Some(tokens) = tokens
            && tokens != "required"
        {
            out.push(finding(
                "EC2.8",
                code,
                resource(),
                format!("http_tokens={tokens}"),
            ));
        }
        if let Some(ip) = &instance.public_ip {
            out.push(finding(
                "EC2.9",
                code,
                resource(),
                format!("public_ip={ip}"),
            ));
        }
    }
    for subnet in &region.subnets {
        // Security Hub's EC2.15: every subnet that auto-assigns public IPv4, public subnets and
        // the default VPC's included.
        if subnet.map_public_ip_on_launch {
            let kind = if subnet.default_for_az {
                "default subnet"
            } else if index.subnet_is_public(&subnet.id) {
                "public subnet"
            } else {
                "subnet without an internet gateway route"
            };
            out.push(finding(
                "EC2.15",
                code,
                ResourceRef::new(ResourceKind::Subnet, &subnet.id).named(name_tag(&subnet.tags)),
                format!(
                    "map_public_ip_on_launch=true ({kind}, {}, {})",
                    subnet.availability_zone, subnet.cidr_block
                ),
            ));
        }
        if index.is_default_vpc(&subnet.vpc_id) || index.subnet_is_public(&subnet.id) {
            continue;
        }
        if let Some((nat_id, nat)) = index.nat_route(&subnet.id) {
            let resource =
                ResourceRef::new(ResourceKind::Subnet, &subnet.id).named(name_tag(&subnet.tags));
            match nat {
                None => out.push(finding(
                    "HA-NAT-AZ",
                    code,
                    resource,
                    format!(
                        "subnet in {}: 0.0.0.0/0 → {nat_id}, which does not exist (blackhole)",
                        subnet.availability_zone
                    ),
                )),
                Some(nat) if nat.subnet_id.is_empty() => {} // a regional NAT gateway spans AZs
                Some(nat) => {
                    let nat_az = index.nat_az(nat).unwrap_or("unknown");
                    if nat_az != subnet.availability_zone {
                        out.push(finding(
                            "HA-NAT-AZ",
                            code,
                            resource,
                            format!(
                                "subnet in {}: 0.0.0.0/0 → {} in {nat_az}",
                                subnet.availability_zone, nat.id
                            ),
                        ));
                    }
                }
            }
        }
    }
    launch_templates(index, out);
    security_group_chain(index, out);
}

fn security_group(
    index: &RegionIndex,
    sg: &SecurityGroup,
    policy: &Policy,
    out: &mut Vec<Finding>,
) {
    let code = Some(index.code());
    let resource = || ResourceRef::new(ResourceKind::SecurityGroup, &sg.id).named(Some(&sg.name));
    if sg.name == "default" && (!sg.ingress.is_empty() || !sg.egress.is_empty()) {
        out.push(finding(
            "EC2.2",
            code,
            resource(),
            format!(
                "{} inbound, {} outbound rule(s): {}",
                sg.ingress.len(),
                sg.egress.len(),
                sg.ingress
                    .iter()
                    .map(|r| format!("in {}", describe(r)))
                    .chain(sg.egress.iter().map(|r| format!("out {}", describe(r))))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    let mut ssh = Vec::new();
    let mut rdp = Vec::new();
    let mut high_risk: BTreeSet<u16> = BTreeSet::new();
    let mut high_risk_rules = Vec::new();
    let mut unauthorized = Vec::new();
    for rule in sg.ingress.iter().filter(|r| open_to_world(r)) {
        if covers(rule, 22) {
            ssh.push(describe(rule));
        }
        if covers(rule, 3389) {
            rdp.push(describe(rule));
        }
        let risky: Vec<u16> = policy
            .high_risk_ports
            .iter()
            .copied()
            .filter(|p| covers(rule, *p))
            .collect();
        if !risky.is_empty() {
            high_risk.extend(risky);
            high_risk_rules.push(describe(rule));
        }
        if reaches_unauthorized(rule, &policy.authorized_public_ports) {
            unauthorized.push(describe(rule));
        }
    }
    let push = |out: &mut Vec<Finding>, id: &str, rules: Vec<String>| {
        if !rules.is_empty() {
            out.push(finding(id, code, resource(), rules.join("; ")));
        }
    };
    push(out, "EC2.13", ssh);
    push(out, "EC2.14", rdp);
    if !high_risk.is_empty() {
        out.push(finding(
            "EC2.19",
            code,
            resource(),
            format!(
                "ports {} open via {}",
                high_risk
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                high_risk_rules.join("; ")
            ),
        ));
    }
    push(out, "EC2.18", unauthorized);
}

/// The template versions worth judging: the default one and every one an ASG resolves to.
fn versions_in_use<'a>(
    index: &RegionIndex<'a>,
    lt: &'a LaunchTemplate,
) -> Vec<&'a LaunchTemplateVersion> {
    let mut numbers: BTreeSet<i64> = lt.default_version.into_iter().collect();
    for asg in &index.region.auto_scaling_groups {
        if let Some((used, v)) = asg
            .launch_template
            .as_ref()
            .and_then(|r| index.launch_template_version(r))
            && used.id == lt.id
        {
            numbers.insert(v.number);
        }
    }
    lt.versions
        .iter()
        .filter(|v| numbers.contains(&v.number) || (numbers.is_empty() && v.is_default))
        .collect()
}

fn launch_templates(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for lt in &index.region.launch_templates {
        let resource =
            || ResourceRef::new(ResourceKind::LaunchTemplate, &lt.id).named(Some(&lt.name));
        let versions = versions_in_use(index, lt);
        let imds_optional: Vec<String> = versions
            .iter()
            .filter_map(|v| {
                let tokens = v
                    .metadata_options
                    .as_ref()
                    .and_then(|m| m.http_tokens.as_deref());
                match tokens {
                    Some("required") => None,
                    Some(t) => Some(format!("version {}: http_tokens={t}", v.number)),
                    None => Some(format!(
                        "version {}: http_tokens not set (the AMI/account default applies)",
                        v.number
                    )),
                }
            })
            .collect();
        if !imds_optional.is_empty() {
            out.push(finding(
                "EC2.170",
                code,
                resource(),
                imds_optional.join("; "),
            ));
        }
        let public: Vec<String> = versions
            .iter()
            .filter(|v| v.associate_public_ip == Some(true))
            .map(|v| format!("version {}: associate_public_ip=true", v.number))
            .collect();
        if !public.is_empty() {
            out.push(finding("EC2.25", code, resource(), public.join("; ")));
        }
    }
}

fn security_group_chain(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    let tiers = index.tier_security_groups();
    if tiers.lb.is_empty() {
        return;
    }
    for app in &tiers.app {
        let Some(sg) = index.security_group(app) else {
            continue;
        };
        let foreign: Vec<String> = sg
            .ingress
            .iter()
            .filter(|r| match &r.peer {
                RulePeer::SecurityGroup(peer) => {
                    peer != &sg.id && !tiers.lb.contains(peer.as_str())
                }
                _ => true,
            })
            .map(describe)
            .collect();
        if !foreign.is_empty() {
            out.push(finding(
                "SEC-CHAIN",
                code,
                ResourceRef::new(ResourceKind::SecurityGroup, &sg.id).named(Some(&sg.name)),
                format!("app tier accepts {}", foreign.join("; ")),
            ));
        }
    }
    if tiers.app.is_empty() {
        return;
    }
    for (db, port) in &tiers.db {
        let Some(sg) = index.security_group(db) else {
            continue;
        };
        let foreign: Vec<String> = sg
            .ingress
            .iter()
            .filter(|r| {
                let from_app = match &r.peer {
                    RulePeer::SecurityGroup(peer) => {
                        peer == &sg.id || tiers.app.contains(peer.as_str())
                    }
                    _ => false,
                };
                let on_port = match port {
                    Some(p) => is_tcp(r) && r.from_port == Some(*p) && r.to_port == Some(*p),
                    None => is_tcp(r) && r.from_port.is_some(),
                };
                !(from_app && on_port)
            })
            .map(describe)
            .collect();
        if !foreign.is_empty() {
            out.push(finding(
                "SEC-CHAIN",
                code,
                ResourceRef::new(ResourceKind::SecurityGroup, &sg.id).named(Some(&sg.name)),
                format!(
                    "database tier (port {}) accepts {}",
                    port.map_or("unknown".to_string(), |p| p.to_string()),
                    foreign.join("; ")
                ),
            ));
        }
    }
}

fn is_tcp(rule: &SecurityGroupRule) -> bool {
    matches!(rule.protocol.as_str(), "tcp" | "6")
}

pub(crate) fn open_to_world(rule: &SecurityGroupRule) -> bool {
    match &rule.peer {
        RulePeer::Cidr(c) => c == "0.0.0.0/0",
        RulePeer::Ipv6Cidr(c) => c == "::/0",
        _ => false,
    }
}

/// The port range of a rule, all ports for `-1` or a missing range.
fn range(rule: &SecurityGroupRule) -> Option<(i32, i32)> {
    match rule.protocol.as_str() {
        "-1" | "all" => Some((0, 65535)),
        "icmp" | "1" | "icmpv6" | "58" => None,
        _ => match (rule.from_port, rule.to_port) {
            (Some(from), Some(to)) if from >= 0 => Some((from, to)),
            (Some(from), None) if from >= 0 => Some((from, from)),
            _ => Some((0, 65535)),
        },
    }
}

pub(crate) fn covers(rule: &SecurityGroupRule, port: u16) -> bool {
    matches!(rule.protocol.as_str(), "tcp" | "6" | "-1" | "all")
        && range(rule).is_some_and(|(from, to)| from <= i32::from(port) && i32::from(port) <= to)
}

fn reaches_unauthorized(rule: &SecurityGroupRule, authorized: &[u16]) -> bool {
    let Some((from, to)) = range(rule) else {
        return false;
    };
    let authorized_in_range = authorized
        .iter()
        .filter(|p| from <= i32::from(**p) && i32::from(**p) <= to)
        .collect::<BTreeSet<_>>()
        .len();
    i64::from(to) - i64::from(from) + 1 > authorized_in_range as i64
}

/// `tcp 22 from 0.0.0.0/0`.
pub(crate) fn describe(rule: &SecurityGroupRule) -> String {
    let ports = match range(rule) {
        None => String::new(),
        Some((0, 65535)) => " all ports".to_string(),
        Some((from, to)) if from == to => format!(" {from}"),
        Some((from, to)) => format!(" {from}-{to}"),
    };
    let protocol = if rule.protocol == "-1" {
        "all"
    } else {
        rule.protocol.as_str()
    };
    let peer = match &rule.peer {
        RulePeer::Cidr(v)
        | RulePeer::Ipv6Cidr(v)
        | RulePeer::SecurityGroup(v)
        | RulePeer::PrefixList(v) => v,
    };
    format!("{protocol}{ports} from {peer}")
}
