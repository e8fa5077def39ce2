//! Reachability (`SEC-REACH`): an instance or database that the internet can actually open a
//! connection to on a sensitive port. Per-port rules (EC2.13, EC2.19, EC2.21, RDS.2…) each judge
//! one hop; this walks the whole path — an address the internet can reach, a route to an internet
//! gateway, the subnet's network ACL both ways (it is stateless), and a security group — and gives
//! every hop as evidence. A path through an internet-facing load balancer to a sensitive target
//! port counts too. Without the Region's network ACLs it does not judge (no path is proven).

use std::collections::{BTreeSet, HashMap};

use super::ec2::{covers, open_to_world};
use super::index::RegionIndex;
use super::{Finding, Policy, ResourceKind, ResourceRef, finding};
use crate::topology::{
    Instance, LoadBalancer, NetworkAcl, RouteTarget, RulePeer, SecurityGroupRule, Target,
    TargetGroup, name_tag,
};

/// A port the internet answers on: responses leave from the instance to the client's ephemeral
/// port, which the network ACL must let out (AWS's clients use 1024–65535; 32768 is in every
/// operating system's range).
const EPHEMERAL: u16 = 32768;

pub(crate) fn check(index: &RegionIndex, policy: &Policy, out: &mut Vec<Finding>) {
    let region = index.region;
    if region.network_acls.is_empty() {
        return;
    }
    let code = Some(index.code());
    let sensitive: BTreeSet<u16> = policy
        .high_risk_ports
        .iter()
        .copied()
        .chain([22, 3389])
        .collect();
    let mut registered: HashMap<&str, Vec<(&TargetGroup, &Target)>> = HashMap::new();
    for tg in &region.target_groups {
        for target in &tg.targets {
            registered
                .entry(target.id.as_str())
                .or_default()
                .push((tg, target));
        }
    }
    for instance in region.instances.iter().filter(|i| !i.state.is_gone()) {
        let mut paths = Vec::new();
        if let (Some(ip), Some(subnet)) = (&instance.public_ip, &instance.subnet_id) {
            for port in &sensitive {
                if let Some(path) = direct(index, ip, subnet, &instance.security_group_ids, *port) {
                    paths.push(path);
                }
            }
        }
        let targets = registered.get(instance.id.as_str()).map(Vec::as_slice);
        paths.extend(through_load_balancers(
            index,
            instance,
            targets.unwrap_or_default(),
            &sensitive,
        ));
        if !paths.is_empty() {
            out.push(finding(
                "SEC-REACH",
                code,
                ResourceRef::new(ResourceKind::Instance, &instance.id)
                    .named(name_tag(&instance.tags)),
                paths.join("; "),
            ));
        }
    }
    for db in region.db_instances.iter().filter(|d| d.publicly_accessible) {
        let (Some(endpoint), Some(port)) =
            (&db.endpoint, db.endpoint.as_ref().and_then(|e| e.port))
        else {
            continue;
        };
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        let subnets = db
            .subnet_group_name
            .as_deref()
            .and_then(|name| region.db_subnet_groups.iter().find(|g| g.name == name))
            .map(|g| g.subnet_ids.as_slice())
            .unwrap_or_default();
        // RDS places the instance in its AZ's subnet of the group.
        let subnet = subnets.iter().find(|s| {
            index
                .subnet(s)
                .is_some_and(|s| Some(&s.availability_zone) == db.availability_zone.as_ref())
        });
        let Some(subnet) = subnet else { continue };
        if let Some(path) = direct(
            index,
            &endpoint.address,
            subnet,
            &db.vpc_security_group_ids,
            port,
        ) {
            out.push(finding(
                "SEC-REACH",
                code,
                ResourceRef::new(ResourceKind::DbInstance, &db.identifier).with_arn(Some(&db.arn)),
                format!("publicly accessible; {path}"),
            ));
        }
    }
}

/// `internet → ADDRESS:PORT via igw-… (rtb-…) → acl-… rule N allows in, rule M allows out →
/// sg-… tcp PORT from 0.0.0.0/0`, or `None` where a hop stops it.
fn direct(
    index: &RegionIndex,
    address: &str,
    subnet_id: &str,
    groups: &[String],
    port: u16,
) -> Option<String> {
    let (igw, table) = internet_route(index, subnet_id)?;
    let acl = acl_hops(index, subnet_id, port)?;
    let sg = groups.iter().find_map(|id| {
        let group = index.security_group(id)?;
        let rule = group
            .ingress
            .iter()
            .find(|r| open_to_world(r) && covers(r, port))?;
        Some(format!("{id} {}", super::ec2::describe(rule)))
    })?;
    Some(format!(
        "internet → {address}:{port} via {igw} ({table}, {subnet_id}) → {acl} → {sg}"
    ))
}

/// The internet gateway a subnet's route table sends the internet to, and the table.
fn internet_route(index: &RegionIndex, subnet_id: &str) -> Option<(String, String)> {
    let table = index.route_table(subnet_id)?;
    table.routes.iter().find_map(|r| match &r.target {
        RouteTarget::InternetGateway(igw)
            if (r.destination == "0.0.0.0/0" || r.destination == "::/0")
                && r.state != "blackhole" =>
        {
            Some((igw.clone(), table.id.clone()))
        }
        _ => None,
    })
}

/// The network ACL guarding a subnet: its explicit association, else its VPC's default.
fn acl_of<'a>(index: &RegionIndex<'a>, subnet_id: &str) -> Option<&'a NetworkAcl> {
    let acls = &index.region.network_acls;
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet_id))
        .or_else(|| {
            let vpc = &index.subnet(subnet_id)?.vpc_id;
            acls.iter().find(|a| a.is_default && &a.vpc_id == vpc)
        })
}

/// `acl-… rule 100 allows in, rule 100 allows out`, when the ACL lets the connection in and
/// its answers out.
fn acl_hops(index: &RegionIndex, subnet_id: &str, port: u16) -> Option<String> {
    let acl = acl_of(index, subnet_id)?;
    let inbound = acl.decide(false, port).filter(|e| e.allow)?;
    let outbound = acl.decide(true, EPHEMERAL).filter(|e| e.allow)?;
    Some(format!(
        "{} rule {} allows in, rule {} allows out",
        acl.id, inbound.rule_number, outbound.rule_number
    ))
}

/// Paths from an internet-facing load balancer's listener to this instance on a sensitive
/// target port.
fn through_load_balancers(
    index: &RegionIndex,
    instance: &Instance,
    targets: &[(&TargetGroup, &Target)],
    sensitive: &BTreeSet<u16>,
) -> Vec<String> {
    let mut paths = Vec::new();
    for (tg, target) in targets {
        let Some(port) = target
            .port
            .or(tg.port)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| sensitive.contains(p))
        else {
            continue;
        };
        for lb in index.load_balancers_of(&tg.arn) {
            if lb.scheme != "internet-facing" {
                continue;
            }
            if let Some(path) = listener_path(index, lb, &tg.arn, instance, port) {
                paths.push(path);
            }
        }
    }
    paths
}

fn listener_path(
    index: &RegionIndex,
    lb: &LoadBalancer,
    tg_arn: &str,
    instance: &Instance,
    port: u16,
) -> Option<String> {
    let listener = lb.listeners.iter().find(|l| {
        l.forwards().any(|w| w.arn == tg_arn)
            && l.port.and_then(|p| u16::try_from(p).ok()).is_some_and(|p| {
                // A load balancer without security groups (an NLB may have none) lets all in.
                lb.security_group_ids.is_empty()
                    || lb.security_group_ids.iter().any(|id| {
                        index.security_group(id).is_some_and(|g| {
                            g.ingress.iter().any(|r| open_to_world(r) && covers(r, p))
                        })
                    })
            })
    })?;
    let allowed = |r: &SecurityGroupRule| {
        covers(r, port)
            && match &r.peer {
                RulePeer::SecurityGroup(g) => lb.security_group_ids.contains(g),
                RulePeer::Cidr(_) | RulePeer::Ipv6Cidr(_) => true,
                _ => false,
            }
    };
    let sg = instance.security_group_ids.iter().find(|id| {
        index
            .security_group(id)
            .is_some_and(|g| g.ingress.iter().any(allowed))
    })?;
    Some(format!(
        "internet → {} listener {} (internet-facing) → target port {port} → {sg} → {}:{port}",
        lb.name,
        listener.port.unwrap_or_default(),
        instance.id
    ))
}
