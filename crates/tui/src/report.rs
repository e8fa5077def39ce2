//! The plain-text report of `haven snapshot --output table`: per Region the VPCs with one block
//! per AZ (subnets, NAT, instances), then the ASGs, load balancers with healthy targets per AZ,
//! databases with their roles, DR copies and replicas, and what could not be read.

use std::fmt::Write;

use haven_model::relations::{DbRole, ReplicaLink};
use haven_model::{RegionTopology, Topology, Vpc, name_tag};

/// Renders the topology as text for people.
pub fn table(topology: &Topology) -> String {
    let mut out = String::new();
    let account = topology.account_id.as_deref().unwrap_or("unknown account");
    let _ = writeln!(
        out,
        "haven snapshot · account {account} · {}",
        topology.taken_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let replicas = topology.replica_links();
    let image_copies = topology.image_copies();
    let snapshot_copies = topology.snapshot_copies();
    for region in &topology.regions {
        let _ = writeln!(out, "\n{}", region.region);
        for vpc in shown_vpcs(region) {
            vpc_block(&mut out, region, vpc);
        }
        groups_block(&mut out, region);
        load_balancers_block(&mut out, region);
        databases_block(&mut out, region, &replicas);
        for copy in image_copies
            .iter()
            .filter(|c| c.copy.region == region.region)
        {
            let _ = writeln!(
                out,
                "  AMI  {}  copy of {}/{}",
                copy.copy.id, copy.source.region, copy.source.id
            );
        }
        for copy in snapshot_copies
            .iter()
            .filter(|c| c.copy.region == region.region)
        {
            let _ = writeln!(
                out,
                "  SNAP {}  copy of {}/{}",
                copy.copy.id, copy.source.region, copy.source.id
            );
        }
        for error in topology.errors_in(&region.region) {
            let _ = writeln!(out, "  ! {}", error.message);
        }
    }
    let global: Vec<_> = topology
        .errors
        .iter()
        .filter(|e| e.region.is_none())
        .collect();
    if let Some(iam) = &topology.iam {
        let _ = writeln!(
            out,
            "\nIAM  {} users · {} groups · {} roles · {} instance profiles · password policy: {}",
            iam.users.len(),
            iam.groups.len(),
            iam.roles.len(),
            iam.instance_profiles.len(),
            if iam.password_policy.is_some() {
                "set"
            } else {
                "none"
            }
        );
    }
    for error in global {
        let _ = writeln!(out, "  ! {}", error.message);
    }
    out
}

/// The stack's VPCs; the default VPC only when something runs in it or it is all there is.
fn shown_vpcs(region: &RegionTopology) -> Vec<&Vpc> {
    let used = |vpc: &Vpc| {
        region
            .instances
            .iter()
            .any(|i| i.vpc_id.as_deref() == Some(vpc.id.as_str()) && !i.state.is_gone())
    };
    let has_own = region.vpcs.iter().any(|v| !v.is_default);
    region
        .vpcs
        .iter()
        .filter(|v| !v.is_default || used(v) || !has_own)
        .collect()
}

fn label(id: &str, tags: &haven_model::Tags) -> String {
    match name_tag(tags) {
        Some(name) => format!("{id} {name}"),
        None => id.to_string(),
    }
}

fn vpc_block(out: &mut String, region: &RegionTopology, vpc: &Vpc) {
    let default = if vpc.is_default { " (default)" } else { "" };
    let igw = region
        .internet_gateways
        .iter()
        .find(|g| g.attached_vpc_ids.contains(&vpc.id))
        .map(|g| format!("  IGW {}", g.id))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  VPC {} {}{default}{igw}",
        label(&vpc.id, &vpc.tags),
        vpc.cidr_block
    );
    let mut zones: Vec<&str> = region
        .subnets_in_vpc(&vpc.id)
        .map(|s| s.availability_zone.as_str())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    for zone in zones {
        let _ = writeln!(out, "    {zone}");
        let mut subnets: Vec<_> = region
            .subnets_in_vpc(&vpc.id)
            .filter(|s| s.availability_zone == zone)
            .collect();
        subnets.sort_by_key(|s| (!region.subnet_is_public(&s.id), s.cidr_block.clone()));
        for subnet in subnets {
            let public = region.subnet_is_public(&subnet.id);
            let egress = if public {
                region
                    .nat_gateways
                    .iter()
                    .filter(|n| n.subnet_id == subnet.id)
                    .map(|n| format!("  hosts NAT {} ({})", n.id, n.state))
                    .collect::<Vec<_>>()
                    .join("")
            } else {
                match (
                    region.nat_for_subnet(&subnet.id),
                    region.nat_az_for_subnet(&subnet.id),
                ) {
                    (Some(nat), Some(az)) if az == zone => format!("  → NAT {} (same AZ)", nat.id),
                    (Some(nat), Some(az)) => format!("  → NAT {} in {az} (other AZ!)", nat.id),
                    (Some(nat), None) => format!("  → NAT {}", nat.id),
                    (None, _) => "  no internet route".into(),
                }
            };
            let _ = writeln!(
                out,
                "      {:<7} {:<40} {:<16}{egress}",
                if public { "public" } else { "private" },
                label(&subnet.id, &subnet.tags),
                subnet.cidr_block,
            );
            for instance in region
                .instances
                .iter()
                .filter(|i| i.subnet_id.as_deref() == Some(subnet.id.as_str()))
            {
                let asg = region
                    .asg_for_instance(&instance.id)
                    .map(|g| format!("  asg {}", g.name))
                    .unwrap_or_default();
                let health: Vec<String> = region
                    .target_groups
                    .iter()
                    .filter_map(|tg| {
                        let t = tg.targets.iter().find(|t| t.id == instance.id)?;
                        Some(format!("  {} {}", tg.name, t.health.as_str()))
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "        {} {:<13} {:<10}{asg}{}",
                    instance.id,
                    instance.state.as_str(),
                    instance.instance_type,
                    health.join("")
                );
            }
        }
    }
}

fn groups_block(out: &mut String, region: &RegionTopology) {
    for group in &region.auto_scaling_groups {
        let spread: Vec<String> = region
            .asg_instances_by_az(group)
            .iter()
            .map(|(az, ids)| format!("{az}:{}", ids.len()))
            .collect();
        let grace = group
            .health_check_grace_period
            .map(|g| format!(" grace {g}s"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  ASG  {}  desired {} (min {} max {})  {} checks{grace}  spread {}",
            group.name,
            group.desired_capacity,
            group.min_size,
            group.max_size,
            group.health_check_type,
            spread.join(" ")
        );
    }
}

fn load_balancers_block(out: &mut String, region: &RegionTopology) {
    for lb in &region.load_balancers {
        let health: Vec<String> = region
            .load_balancer_health_by_az(lb)
            .iter()
            .map(|(az, c)| format!("{az} {}/{} healthy", c.healthy, c.total))
            .collect();
        let _ = writeln!(
            out,
            "  LB   {}  {} {} {}  {}",
            lb.name,
            lb.lb_type,
            lb.scheme,
            lb.state,
            health.join(" · ")
        );
        for tg in region.target_groups_of(lb) {
            let stale = region.stale_targets(tg);
            let stale = if stale.is_empty() {
                String::new()
            } else {
                format!("  ({} stale entries)", stale.len())
            };
            let _ = writeln!(
                out,
                "       → TG {} {}:{} check {}{stale}",
                tg.name,
                tg.protocol.as_deref().unwrap_or("-"),
                tg.port.map(|p| p.to_string()).unwrap_or_default(),
                tg.health_check.path.as_deref().unwrap_or("-"),
            );
        }
    }
}

fn databases_block(out: &mut String, region: &RegionTopology, replicas: &[ReplicaLink]) {
    for db in &region.db_instances {
        let role = region.db_role(db);
        let az = db.availability_zone.as_deref().unwrap_or("?");
        let standby = match (db.multi_az, &db.secondary_availability_zone) {
            (true, Some(other)) => format!(" · standby in {other}"),
            (true, None) if role == DbRole::Writer => " · Multi-AZ standby".into(),
            _ => String::new(),
        };
        let source = replicas
            .iter()
            .find(|l| l.replica.arn == db.arn)
            .map(|l| {
                let cross = if l.cross_region { ", cross-Region" } else { "" };
                format!(" of {}/{}{cross}", l.source.region, l.source.identifier)
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  DB   {}  {} {} {}{source} in {az}{standby} ({})",
            db.identifier,
            db.engine,
            db.class,
            role.as_str(),
            db.status
        );
    }
}
