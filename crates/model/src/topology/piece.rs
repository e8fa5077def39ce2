//! Discovery in pieces: each (Region, part) result arrives on its own and is applied to the
//! topology shown, so a list fills as soon as its own calls have answered.
//!
//! A [`Piece`] carries a fragment of a Region (or the account-wide IAM, DNS or identity) and the
//! [`Part`] it answers; [`Topology::apply`] moves that part's lists into the topology and
//! replaces the part's errors. What failed keeps the last good lists (marked stale by the
//! caller), as a whole refresh always did.

use std::mem::take;

use serde::{Deserialize, Serialize};

use super::{DiscoveryError, RegionTopology, Service, Topology};

/// One group of discovery calls that answers on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The caller (STS): account id and ARN. Account-wide.
    Identity,
    /// IAM. Account-wide.
    Iam,
    /// Route 53. Account-wide.
    Dns,
    /// AZs, VPCs, subnets, route tables, gateways, Elastic IPs, network ACLs, security groups.
    Network,
    /// EC2 instances.
    Instances,
    /// EBS volumes, AMIs and EBS snapshots.
    Storage,
    /// Launch templates and their versions.
    LaunchTemplates,
    /// Auto Scaling groups with their policies, and the launch configurations they use.
    AutoScaling,
    /// Auto Scaling groups' capacity and members only (a narrow read: policies kept).
    AsgCapacity,
    /// Load balancers (v2) with listeners and attributes, target groups with health, WAF.
    LoadBalancers,
    /// Per-target health of the target groups already known (a narrow read).
    TargetHealth,
    /// Classic Load Balancers.
    ClassicLoadBalancers,
    /// RDS DB instances.
    Databases,
    /// RDS DB clusters (Aurora, Multi-AZ DB clusters).
    DbClusters,
    /// RDS DB and cluster snapshots.
    DbSnapshots,
    /// DB subnet groups.
    DbSubnetGroups,
    /// ACM certificates.
    Certificates,
    /// CloudWatch alarms.
    Alarms,
    /// AWS Backup selections.
    Backup,
    /// EBS and AMI settings, public snapshots, flow logs, VPC endpoints.
    Settings,
}

impl Part {
    /// Every part a full discovery of a Region reads.
    pub const REGIONAL: [Part; 15] = [
        Part::Network,
        Part::Instances,
        Part::Storage,
        Part::LaunchTemplates,
        Part::AutoScaling,
        Part::LoadBalancers,
        Part::ClassicLoadBalancers,
        Part::Databases,
        Part::DbClusters,
        Part::DbSnapshots,
        Part::DbSubnetGroups,
        Part::Certificates,
        Part::Alarms,
        Part::Backup,
        Part::Settings,
    ];

    /// Account-wide parts.
    pub const GLOBAL: [Part; 3] = [Part::Identity, Part::Iam, Part::Dns];

    /// Whether this part is account-wide (no Region).
    pub fn is_global(self) -> bool {
        Self::GLOBAL.contains(&self)
    }

    /// What a person would call it: "EC2 instances", "target health".
    pub fn label(self) -> &'static str {
        match self {
            Part::Identity => "caller identity",
            Part::Iam => "IAM",
            Part::Dns => "Route 53",
            Part::Network => "network",
            Part::Instances => "EC2 instances",
            Part::Storage => "volumes, AMIs and snapshots",
            Part::LaunchTemplates => "launch templates",
            Part::AutoScaling | Part::AsgCapacity => "Auto Scaling groups",
            Part::LoadBalancers => "load balancers",
            Part::TargetHealth => "target health",
            Part::ClassicLoadBalancers => "Classic Load Balancers",
            Part::Databases => "RDS databases",
            Part::DbClusters => "RDS clusters",
            Part::DbSnapshots => "RDS snapshots",
            Part::DbSubnetGroups => "DB subnet groups",
            Part::Certificates => "certificates",
            Part::Alarms => "alarms",
            Part::Backup => "AWS Backup",
            Part::Settings => "Region settings",
        }
    }

    /// The part a full read of which also answers this narrow one (and itself otherwise).
    pub fn whole(self) -> Part {
        match self {
            Part::AsgCapacity => Part::AutoScaling,
            Part::TargetHealth => Part::LoadBalancers,
            other => other,
        }
    }

    /// Whether `self` being read also answers `other` (a whole part answers its narrow one).
    pub fn answers(self, other: Part) -> bool {
        self == other || other.whole() == self
    }

    /// The part an error belongs to: its own when recorded, else the one its call reads (errors
    /// of documents written before parts existed).
    pub fn of_error(error: &DiscoveryError) -> Option<Part> {
        if error.part.is_some() {
            return error.part;
        }
        let op = error.operation.as_str();
        let part = match error.service {
            Service::Sts => Part::Identity,
            Service::Iam => Part::Iam,
            Service::Route53 => Part::Dns,
            Service::Ec2 => match op {
                "DescribeInstances" => Part::Instances,
                "DescribeVolumes" | "DescribeImages" | "DescribeSnapshots" => Part::Storage,
                "DescribeLaunchTemplates" | "DescribeLaunchTemplateVersions" => {
                    Part::LaunchTemplates
                }
                "GetEbsEncryptionByDefault"
                | "GetSnapshotBlockPublicAccessState"
                | "GetImageBlockPublicAccessState"
                | "DescribeFlowLogs"
                | "DescribeVpcEndpoints"
                | "DescribeSnapshotAttribute" => Part::Settings,
                _ => Part::Network,
            },
            Service::AutoScaling => Part::AutoScaling,
            Service::Elbv2 if op.starts_with("DescribeLoadBalancerPolicies") => {
                Part::ClassicLoadBalancers
            }
            Service::Elbv2 | Service::Wafv2 => Part::LoadBalancers,
            Service::Rds => match op {
                "DescribeDBClusters" => Part::DbClusters,
                "DescribeDBSubnetGroups" => Part::DbSubnetGroups,
                o if o.contains("Snapshot") => Part::DbSnapshots,
                _ => Part::Databases,
            },
            Service::Acm => Part::Certificates,
            Service::CloudWatch => Part::Alarms,
            Service::Backup => Part::Backup,
        };
        Some(part)
    }

    /// The service whose failure a topology-wide "keep last good" treats this part under.
    pub fn service(self) -> Service {
        match self {
            Part::Identity => Service::Sts,
            Part::Iam => Service::Iam,
            Part::Dns => Service::Route53,
            Part::Network
            | Part::Instances
            | Part::Storage
            | Part::LaunchTemplates
            | Part::Settings => Service::Ec2,
            Part::AutoScaling | Part::AsgCapacity => Service::AutoScaling,
            Part::LoadBalancers | Part::TargetHealth | Part::ClassicLoadBalancers => Service::Elbv2,
            Part::Databases | Part::DbClusters | Part::DbSnapshots | Part::DbSubnetGroups => {
                Service::Rds
            }
            Part::Certificates => Service::Acm,
            Part::Alarms => Service::CloudWatch,
            Part::Backup => Service::Backup,
        }
    }
}

/// What one group of calls brought back.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The Region, `None` for an account-wide part.
    pub region: Option<String>,
    /// What it answers.
    pub part: Part,
    /// The lists read, in a fragment: for a Region part, `fragment.regions[0]`; for IAM, DNS
    /// and the identity, the account-wide fields.
    pub fragment: Topology,
    /// The errors of these calls (the lists of a failed call are empty).
    pub errors: Vec<DiscoveryError>,
    /// More pages of this part follow: the rows are added to (or update) what is shown, and
    /// nothing is removed until the last page.
    pub partial: bool,
}

impl Piece {
    /// A Region's piece from a fragment of that Region.
    pub fn regional(part: Part, fragment: RegionTopology, errors: Vec<DiscoveryError>) -> Self {
        let mut topology = Topology::new(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
        let region = fragment.region.clone();
        topology.regions.push(fragment);
        Self {
            region: Some(region),
            part,
            fragment: topology,
            errors,
            partial: false,
        }
    }

    /// An account-wide piece.
    pub fn global(part: Part, fragment: Topology, errors: Vec<DiscoveryError>) -> Self {
        Self {
            region: None,
            part,
            fragment,
            errors,
            partial: false,
        }
    }
}

/// What applying a piece did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// The part failed and the last good lists were kept (stale).
    pub kept_stale: bool,
}

impl Topology {
    /// Applies one piece: the part's lists replace the topology's (or, for a partial page or a
    /// narrow read, update them), and the part's errors replace its earlier ones. A failed part
    /// whose lists came back empty keeps what was there ([`Applied::kept_stale`]).
    pub fn apply(&mut self, piece: Piece) -> Applied {
        let Piece {
            region,
            part,
            mut fragment,
            errors,
            partial,
        } = piece;
        if !partial {
            self.errors.retain(|e| {
                !(e.region == region && Part::of_error(e).is_some_and(|p| part.answers(p)))
            });
        }
        let failed = !errors.is_empty();
        self.errors.extend(errors.into_iter().map(|mut e| {
            e.part = Some(part);
            e
        }));
        let kept_stale = match &region {
            None => apply_global(self, part, fragment, failed),
            Some(code) => {
                let Some(source) = fragment.regions.pop() else {
                    return Applied::default();
                };
                let target = self.region_entry(code);
                apply_regional(target, part, source, failed, partial)
            }
        };
        Applied { kept_stale }
    }

    /// The Region's entry, added (empty, at the end) when it is not there yet.
    pub fn region_entry(&mut self, code: &str) -> &mut RegionTopology {
        let index = match self.regions.iter().position(|r| r.region == code) {
            Some(i) => i,
            None => {
                self.regions.push(RegionTopology {
                    region: code.to_string(),
                    ..RegionTopology::default()
                });
                self.regions.len() - 1
            }
        };
        &mut self.regions[index]
    }
}

fn apply_global(topology: &mut Topology, part: Part, fragment: Topology, failed: bool) -> bool {
    match part {
        Part::Identity => {
            if fragment.account_id.is_none() && failed && topology.account_id.is_some() {
                return true;
            }
            topology.account_id = fragment.account_id;
            topology.caller_arn = fragment.caller_arn;
        }
        Part::Iam => {
            if fragment.iam.is_none() && topology.iam.is_some() {
                return failed;
            }
            topology.iam = fragment.iam;
        }
        Part::Dns => {
            if fragment.dns.is_none() && topology.dns.is_some() {
                return failed;
            }
            topology.dns = fragment.dns;
        }
        _ => {}
    }
    false
}

/// Replaces `to` with `from` unless the read failed and brought nothing while something was
/// there; says whether the old list was kept.
fn replace<T>(to: &mut Vec<T>, from: Vec<T>, failed: bool) -> bool {
    if failed && from.is_empty() && !to.is_empty() {
        return true;
    }
    *to = from;
    false
}

/// Adds or updates rows by key, removing none (a page of a list still being read).
fn upsert<T, K: PartialEq>(to: &mut Vec<T>, from: Vec<T>, key: impl Fn(&T) -> &K) {
    for row in from {
        match to.iter_mut().find(|old| key(old) == key(&row)) {
            Some(old) => *old = row,
            None => to.push(row),
        }
    }
}

fn apply_regional(
    to: &mut RegionTopology,
    part: Part,
    mut from: RegionTopology,
    failed: bool,
    partial: bool,
) -> bool {
    let mut kept = false;
    let mut put = |kept_one: bool| kept |= kept_one;
    match part {
        Part::Network => {
            put(replace(
                &mut to.availability_zones,
                take(&mut from.availability_zones),
                failed,
            ));
            put(replace(&mut to.vpcs, take(&mut from.vpcs), failed));
            put(replace(&mut to.subnets, take(&mut from.subnets), failed));
            put(replace(
                &mut to.route_tables,
                take(&mut from.route_tables),
                failed,
            ));
            put(replace(
                &mut to.internet_gateways,
                take(&mut from.internet_gateways),
                failed,
            ));
            put(replace(
                &mut to.nat_gateways,
                take(&mut from.nat_gateways),
                failed,
            ));
            put(replace(
                &mut to.elastic_ips,
                take(&mut from.elastic_ips),
                failed,
            ));
            put(replace(
                &mut to.network_acls,
                take(&mut from.network_acls),
                failed,
            ));
            put(replace(
                &mut to.security_groups,
                take(&mut from.security_groups),
                failed,
            ));
        }
        Part::Instances if partial => upsert(&mut to.instances, from.instances, |i| &i.id),
        Part::Instances => put(replace(&mut to.instances, from.instances, failed)),
        Part::Storage => {
            put(replace(&mut to.volumes, take(&mut from.volumes), failed));
            put(replace(&mut to.images, take(&mut from.images), failed));
            put(replace(
                &mut to.snapshots,
                take(&mut from.snapshots),
                failed,
            ));
            mark_public(to);
        }
        Part::LaunchTemplates => put(replace(
            &mut to.launch_templates,
            from.launch_templates,
            failed,
        )),
        Part::AutoScaling => {
            put(replace(
                &mut to.auto_scaling_groups,
                take(&mut from.auto_scaling_groups),
                failed,
            ));
            put(replace(
                &mut to.launch_configurations,
                take(&mut from.launch_configurations),
                failed,
            ));
        }
        Part::AsgCapacity => {
            let mut groups = from.auto_scaling_groups;
            for group in &mut groups {
                if let Some(old) = to.auto_scaling_groups.iter().find(|g| g.name == group.name) {
                    group.policies.clone_from(&old.policies);
                }
            }
            put(replace(&mut to.auto_scaling_groups, groups, failed));
        }
        Part::LoadBalancers => {
            put(replace(
                &mut to.load_balancers,
                take(&mut from.load_balancers),
                failed,
            ));
            put(replace(
                &mut to.target_groups,
                take(&mut from.target_groups),
                failed,
            ));
        }
        Part::TargetHealth => {
            for read in from.target_groups {
                if let Some(group) = to.target_groups.iter_mut().find(|g| g.arn == read.arn) {
                    group.targets = read.targets;
                }
            }
            kept = failed;
        }
        Part::ClassicLoadBalancers => put(replace(
            &mut to.classic_load_balancers,
            from.classic_load_balancers,
            failed,
        )),
        Part::Databases => put(replace(&mut to.db_instances, from.db_instances, failed)),
        Part::DbClusters => put(replace(&mut to.db_clusters, from.db_clusters, failed)),
        Part::DbSnapshots => put(replace(&mut to.db_snapshots, from.db_snapshots, failed)),
        Part::DbSubnetGroups => put(replace(
            &mut to.db_subnet_groups,
            from.db_subnet_groups,
            failed,
        )),
        Part::Certificates => put(replace(&mut to.certificates, from.certificates, failed)),
        Part::Alarms => put(replace(&mut to.alarms, from.alarms, failed)),
        Part::Backup => {
            if from.backup_selections.is_some() || !failed {
                to.backup_selections = from.backup_selections;
            } else {
                kept = to.backup_selections.is_some();
            }
        }
        Part::Settings => {
            to.settings = from.settings;
            to.flow_logs = from.flow_logs;
            put(replace(&mut to.vpc_endpoints, from.vpc_endpoints, failed));
            if from.public_snapshot_ids.is_some() {
                to.public_snapshot_ids = from.public_snapshot_ids;
            }
            mark_public(to);
        }
        Part::Identity | Part::Iam | Part::Dns => {}
    }
    kept
}

/// Marks which EBS snapshots are public from the last settings read (left unknown without one).
fn mark_public(region: &mut RegionTopology) {
    if let Some(public) = &region.public_snapshot_ids {
        for snapshot in &mut region.snapshots {
            snapshot.public = Some(public.contains(&snapshot.id));
        }
    }
}

/// A Region cut into the pieces a full discovery would send, one per part (the inverse of
/// [`Topology::apply`]; test sources stream fixtures with it).
pub fn pieces_of(region: &RegionTopology) -> Vec<Piece> {
    Part::REGIONAL
        .iter()
        .map(|&part| Piece::regional(part, fragment_of(region, part), Vec::new()))
        .collect()
}

/// The lists of one part of a Region, copied into an otherwise empty Region.
pub fn fragment_of(region: &RegionTopology, part: Part) -> RegionTopology {
    let r = region;
    let mut f = RegionTopology {
        region: r.region.clone(),
        ..RegionTopology::default()
    };
    match part {
        Part::Network => {
            f.availability_zones.clone_from(&r.availability_zones);
            f.vpcs.clone_from(&r.vpcs);
            f.subnets.clone_from(&r.subnets);
            f.route_tables.clone_from(&r.route_tables);
            f.internet_gateways.clone_from(&r.internet_gateways);
            f.nat_gateways.clone_from(&r.nat_gateways);
            f.elastic_ips.clone_from(&r.elastic_ips);
            f.network_acls.clone_from(&r.network_acls);
            f.security_groups.clone_from(&r.security_groups);
        }
        Part::Instances => f.instances.clone_from(&r.instances),
        Part::Storage => {
            f.volumes.clone_from(&r.volumes);
            f.images.clone_from(&r.images);
            f.snapshots.clone_from(&r.snapshots);
        }
        Part::LaunchTemplates => f.launch_templates.clone_from(&r.launch_templates),
        Part::AutoScaling | Part::AsgCapacity => {
            f.auto_scaling_groups.clone_from(&r.auto_scaling_groups);
            f.launch_configurations.clone_from(&r.launch_configurations);
        }
        Part::LoadBalancers | Part::TargetHealth => {
            f.load_balancers.clone_from(&r.load_balancers);
            f.target_groups.clone_from(&r.target_groups);
        }
        Part::ClassicLoadBalancers => {
            f.classic_load_balancers
                .clone_from(&r.classic_load_balancers);
        }
        Part::Databases => f.db_instances.clone_from(&r.db_instances),
        Part::DbClusters => f.db_clusters.clone_from(&r.db_clusters),
        Part::DbSnapshots => f.db_snapshots.clone_from(&r.db_snapshots),
        Part::DbSubnetGroups => f.db_subnet_groups.clone_from(&r.db_subnet_groups),
        Part::Certificates => f.certificates.clone_from(&r.certificates),
        Part::Alarms => f.alarms.clone_from(&r.alarms),
        Part::Backup => f.backup_selections.clone_from(&r.backup_selections),
        Part::Settings => {
            f.settings = r.settings.clone();
            f.flow_logs.clone_from(&r.flow_logs);
            f.vpc_endpoints.clone_from(&r.vpc_endpoints);
            f.public_snapshot_ids.clone_from(&r.public_snapshot_ids);
        }
        Part::Identity | Part::Iam | Part::Dns => {}
    }
    f
}

#[cfg(test)]
#[path = "piece_tests.rs"]
mod tests;
