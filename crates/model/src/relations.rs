//! Facts derived from a [`Topology`]: which subnet is public, which NAT a private subnet uses,
//! target health per AZ, which ASG owns an instance, stale target entries, the read-replica graph
//! across Regions and the copies of AMIs and snapshots. Computed on demand, never stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::arn::Arn;
use crate::topology::{
    AutoScalingGroup, DbInstance, DbSnapshot, Image, Instance, InstanceState, LoadBalancer,
    NatGateway, RegionTopology, RouteTable, RouteTarget, Snapshot, Subnet, Target, TargetGroup,
    TargetHealthState, Topology,
};

/// The tag haven puts on a copy, holding the source's ARN.
pub const SOURCE_TAG: &str = "haven:source";

/// The tag AWS puts on instances launched by an Auto Scaling group.
pub const ASG_NAME_TAG: &str = "aws:autoscaling:groupName";

/// Healthy and total targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HealthCount {
    /// Targets in the `healthy` state.
    pub healthy: usize,
    /// All targets counted.
    pub total: usize,
}

/// Why a target-group entry no longer stands for a live member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleReason {
    /// No such instance exists in the Region.
    UnknownInstance,
    /// The instance is terminated or terminating.
    Terminated,
    /// The target group is fed by Auto Scaling groups and the instance belongs to none of them.
    NotInAttachedAsg,
}

/// A target-group entry that is stale, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleTarget<'a> {
    /// The entry.
    pub target: &'a Target,
    /// Why it is stale.
    pub reason: StaleReason,
}

/// A DB instance located by Region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DbRef {
    /// Region.
    pub region: String,
    /// Identifier.
    pub identifier: String,
    /// ARN.
    pub arn: String,
}

/// One edge of the read-replica graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ReplicaLink {
    /// The source (primary) instance.
    pub source: DbRef,
    /// The replica.
    pub replica: DbRef,
    /// The replica lives in another Region.
    pub cross_region: bool,
}

/// A resource located by Region and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RegionalId {
    /// Region.
    pub region: String,
    /// Resource id.
    pub id: String,
}

/// A copy of an AMI or EBS snapshot, linked to its source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CopyLink {
    /// The original.
    pub source: RegionalId,
    /// The copy.
    pub copy: RegionalId,
}

/// The role a DB instance plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbRole {
    /// Takes writes: a standalone primary or a cluster writer.
    Writer,
    /// A cluster member that serves reads and can take over as writer.
    ClusterReader,
    /// A read replica of another instance.
    ReadReplica,
}

impl DbRole {
    /// A short label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Writer => "writer",
            Self::ClusterReader => "reader",
            Self::ReadReplica => "replica",
        }
    }
}

impl RegionTopology {
    /// The subnet with that id.
    pub fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.id == id)
    }

    /// The instance with that id.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// The target group with that ARN.
    pub fn target_group(&self, arn: &str) -> Option<&TargetGroup> {
        self.target_groups.iter().find(|t| t.arn == arn)
    }

    /// The route table that governs a subnet: its explicit association, else the VPC's main table.
    pub fn route_table_for_subnet(&self, subnet_id: &str) -> Option<&RouteTable> {
        let explicit = self.route_tables.iter().find(|rt| {
            rt.associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
        });
        explicit.or_else(|| {
            let vpc_id = &self.subnet(subnet_id)?.vpc_id;
            self.route_tables
                .iter()
                .find(|rt| &rt.vpc_id == vpc_id && rt.associations.iter().any(|a| a.main))
        })
    }

    /// A subnet is public when its route table sends traffic to an internet gateway.
    pub fn subnet_is_public(&self, subnet_id: &str) -> bool {
        self.route_table_for_subnet(subnet_id).is_some_and(|rt| {
            rt.routes
                .iter()
                .any(|r| matches!(r.target, RouteTarget::InternetGateway(_)))
        })
    }

    /// The NAT gateway a subnet's default route (0.0.0.0/0) goes through.
    pub fn nat_for_subnet(&self, subnet_id: &str) -> Option<&NatGateway> {
        let rt = self.route_table_for_subnet(subnet_id)?;
        rt.routes.iter().find_map(|r| match &r.target {
            RouteTarget::NatGateway(id) if r.destination == "0.0.0.0/0" => {
                self.nat_gateways.iter().find(|n| &n.id == id)
            }
            _ => None,
        })
    }

    /// The AZ of the NAT gateway a subnet reaches the internet through.
    pub fn nat_az_for_subnet(&self, subnet_id: &str) -> Option<&str> {
        let nat = self.nat_for_subnet(subnet_id)?;
        Some(self.subnet(&nat.subnet_id)?.availability_zone.as_str())
    }

    /// The AZ a target sits in: the instance's AZ, or the AZ AWS gives for IP targets.
    pub fn target_az<'a>(&'a self, target: &'a Target) -> Option<&'a str> {
        self.instance(&target.id)
            .map(|i| i.availability_zone.as_str())
            .or(target.availability_zone.as_deref())
    }

    /// The Auto Scaling group an instance belongs to: by membership, else by the tag AWS adds.
    pub fn asg_for_instance(&self, instance_id: &str) -> Option<&AutoScalingGroup> {
        let member = self.auto_scaling_groups.iter().find(|g| {
            g.instances
                .iter()
                .any(|member| member.instance_id == instance_id)
        });
        member.or_else(|| {
            let name = self.instance(instance_id)?.tags.get(ASG_NAME_TAG)?;
            let group = self.auto_scaling_groups.iter().find(|g| &g.name == name)?;
            // A terminated instance keeps its tag but is no longer a member.
            let gone = self
                .instance(instance_id)
                .is_some_and(|i| i.state.is_gone());
            (!gone).then_some(group)
        })
    }

    /// Instances by id, for work that looks many of them up (a linear scan each would be
    /// quadratic at thousands of targets).
    fn instances_by_id(&self) -> HashMap<&str, &Instance> {
        self.instances.iter().map(|i| (i.id.as_str(), i)).collect()
    }

    /// Target-group entries that no longer stand for a live member, with the reason.
    pub fn stale_targets<'a>(&'a self, tg: &'a TargetGroup) -> Vec<StaleTarget<'a>> {
        self.stale_targets_in(tg, &self.instances_by_id())
    }

    fn stale_targets_in<'a>(
        &'a self,
        tg: &'a TargetGroup,
        instances: &HashMap<&str, &Instance>,
    ) -> Vec<StaleTarget<'a>> {
        if tg.target_type != "instance" {
            return Vec::new();
        }
        let feeding: Vec<&AutoScalingGroup> = self
            .auto_scaling_groups
            .iter()
            .filter(|g| g.target_group_arns.contains(&tg.arn))
            .collect();
        let members: HashSet<&str> = feeding
            .iter()
            .flat_map(|g| g.instances.iter().map(|m| m.instance_id.as_str()))
            .collect();
        tg.targets
            .iter()
            .filter_map(|target| {
                let reason = match instances.get(target.id.as_str()) {
                    None => StaleReason::UnknownInstance,
                    Some(i) if i.state.is_gone() => StaleReason::Terminated,
                    Some(_) if !feeding.is_empty() && !members.contains(target.id.as_str()) => {
                        StaleReason::NotInAttachedAsg
                    }
                    Some(_) => return None,
                };
                Some(StaleTarget { target, reason })
            })
            .collect()
    }

    /// Live targets of a group (stale entries left out).
    pub fn live_targets<'a>(&'a self, tg: &'a TargetGroup) -> impl Iterator<Item = &'a Target> {
        let stale: HashSet<&str> = self
            .stale_targets(tg)
            .iter()
            .map(|s| s.target.id.as_str())
            .collect();
        tg.targets
            .iter()
            .filter(move |t| !stale.contains(t.id.as_str()))
    }

    /// Healthy and total live targets of a target group, per AZ.
    pub fn healthy_targets_by_az(&self, tg: &TargetGroup) -> BTreeMap<String, HealthCount> {
        let instances = self.instances_by_id();
        let stale: HashSet<&str> = self
            .stale_targets_in(tg, &instances)
            .iter()
            .map(|s| s.target.id.as_str())
            .collect();
        let mut by_az: BTreeMap<String, HealthCount> = BTreeMap::new();
        for target in tg.targets.iter().filter(|t| !stale.contains(t.id.as_str())) {
            let az = instances
                .get(target.id.as_str())
                .map(|i| i.availability_zone.as_str())
                .or(target.availability_zone.as_deref())
                .unwrap_or("unknown");
            let count = by_az.entry(az.to_string()).or_default();
            count.total += 1;
            if target.health == TargetHealthState::Healthy {
                count.healthy += 1;
            }
        }
        by_az
    }

    /// Target groups a load balancer's listeners forward to, in listener order, without repeats.
    pub fn target_groups_of<'a>(&'a self, lb: &'a LoadBalancer) -> Vec<&'a TargetGroup> {
        let mut arns: Vec<&str> = Vec::new();
        for tg in lb.listeners.iter().flat_map(|l| l.forwards()) {
            if !arns.contains(&tg.arn.as_str()) {
                arns.push(&tg.arn);
            }
        }
        // Target groups that name the LB but are not in a listener action (rules) come after.
        for tg in &self.target_groups {
            if tg.load_balancer_arns.contains(&lb.arn) && !arns.contains(&tg.arn.as_str()) {
                arns.push(&tg.arn);
            }
        }
        arns.iter().filter_map(|a| self.target_group(a)).collect()
    }

    /// Healthy and total targets behind a load balancer per AZ, every enabled AZ listed.
    pub fn load_balancer_health_by_az(&self, lb: &LoadBalancer) -> BTreeMap<String, HealthCount> {
        let mut by_az: BTreeMap<String, HealthCount> = lb
            .zones
            .iter()
            .map(|z| (z.availability_zone.clone(), HealthCount::default()))
            .collect();
        for tg in self.target_groups_of(lb) {
            for (az, count) in self.healthy_targets_by_az(tg) {
                let entry = by_az.entry(az).or_default();
                entry.healthy += count.healthy;
                entry.total += count.total;
            }
        }
        by_az
    }

    /// Instances of the ASG that are live (not terminated), by AZ.
    pub fn asg_instances_by_az<'a>(
        &'a self,
        asg: &'a AutoScalingGroup,
    ) -> BTreeMap<String, Vec<&'a str>> {
        let mut by_az: BTreeMap<String, Vec<&str>> = asg
            .availability_zones
            .iter()
            .map(|az| (az.clone(), Vec::new()))
            .collect();
        for member in &asg.instances {
            let gone = self
                .instance(&member.instance_id)
                .is_some_and(|i| i.state == InstanceState::Terminated);
            if !gone {
                by_az
                    .entry(member.availability_zone.clone())
                    .or_default()
                    .push(&member.instance_id);
            }
        }
        by_az
    }

    /// The role a DB instance plays in its Region.
    pub fn db_role(&self, db: &DbInstance) -> DbRole {
        if db.read_replica_source.is_some() {
            return DbRole::ReadReplica;
        }
        let cluster_member = db.cluster_identifier.as_ref().and_then(|c| {
            self.db_clusters
                .iter()
                .find(|cl| &cl.identifier == c)?
                .members
                .iter()
                .find(|m| m.instance_identifier == db.identifier)
        });
        match cluster_member {
            Some(m) if !m.is_writer => DbRole::ClusterReader,
            _ => DbRole::Writer,
        }
    }

    /// The VPC's non-default subnets, or all when the Region has only the default VPC.
    pub fn subnets_in_vpc<'a>(&'a self, vpc_id: &'a str) -> impl Iterator<Item = &'a Subnet> {
        self.subnets.iter().filter(move |s| s.vpc_id == vpc_id)
    }

    /// The Availability Zones a group could launch into again: those with a subnet in its VPC
    /// that it does not use now (an AZ drill took them out, or they were never added), sorted.
    pub fn restorable_azs<'a>(&'a self, group: &'a AutoScalingGroup) -> Vec<&'a str> {
        let Some(vpc) = group
            .subnet_ids
            .iter()
            .find_map(|id| self.subnet(id))
            .map(|s| s.vpc_id.as_str())
        else {
            return Vec::new();
        };
        let mut azs: Vec<&str> = self
            .subnets_in_vpc(vpc)
            .map(|s| s.availability_zone.as_str())
            .filter(|az| !group.availability_zones.iter().any(|used| used == az))
            .collect();
        azs.sort_unstable();
        azs.dedup();
        azs
    }
}

impl Topology {
    /// Every DB instance with its Region, indexed by ARN.
    fn db_by_arn(&self) -> HashMap<&str, (&str, &DbInstance)> {
        self.regions
            .iter()
            .flat_map(|r| r.db_instances.iter().map(move |d| (r.region.as_str(), d)))
            .map(|(region, db)| (db.arn.as_str(), (region, db)))
            .collect()
    }

    /// The read-replica graph across Regions, resolved by ARN (sources given as an identifier are
    /// looked up in the replica's Region). Edges appear once, sorted.
    pub fn replica_links(&self) -> Vec<ReplicaLink> {
        let by_arn = self.db_by_arn();
        let resolve = |region: &str, reference: &str| -> Option<DbRef> {
            if reference.starts_with("arn:") {
                let parsed = Arn::parse(reference)?;
                let identifier = by_arn
                    .get(reference)
                    .map(|(_, db)| db.identifier.clone())
                    .unwrap_or_else(|| parsed.resource_id().to_string());
                return Some(DbRef {
                    region: parsed.region.to_string(),
                    identifier,
                    arn: reference.to_string(),
                });
            }
            let db = self
                .region(region)?
                .db_instances
                .iter()
                .find(|d| d.identifier == reference)?;
            Some(DbRef {
                region: region.to_string(),
                identifier: db.identifier.clone(),
                arn: db.arn.clone(),
            })
        };
        let mut links = Vec::new();
        for region in &self.regions {
            for db in &region.db_instances {
                let this = DbRef {
                    region: region.region.clone(),
                    identifier: db.identifier.clone(),
                    arn: db.arn.clone(),
                };
                if let Some(source) = db
                    .read_replica_source
                    .as_deref()
                    .and_then(|s| resolve(&region.region, s))
                {
                    links.push(ReplicaLink {
                        cross_region: source.region != this.region,
                        source,
                        replica: this.clone(),
                    });
                }
                for replica in &db.read_replica_identifiers {
                    if let Some(replica) = resolve(&region.region, replica) {
                        links.push(ReplicaLink {
                            cross_region: replica.region != this.region,
                            source: this.clone(),
                            replica,
                        });
                    }
                }
            }
        }
        links.sort();
        links.dedup_by(|a, b| a.source.arn == b.source.arn && a.replica.arn == b.replica.arn);
        links
    }

    /// Copies of AMIs, linked to their source by AWS's source fields, haven's `haven:source` tag,
    /// or the console's `[Copied ami-… from REGION]` description.
    pub fn image_copies(&self) -> Vec<CopyLink> {
        self.copies(|r| r.images.iter().map(image_source).collect())
    }

    /// Copies of EBS snapshots, linked to their source by haven's `haven:source` tag or the
    /// console's `[Copied snap-… from REGION]` description.
    pub fn snapshot_copies(&self) -> Vec<CopyLink> {
        self.copies(|r| r.snapshots.iter().map(snapshot_source).collect())
    }

    /// Copies of DB snapshots, linked to their source by haven's `haven:source` tag or RDS's
    /// source snapshot ARN.
    pub fn db_snapshot_copies(&self) -> Vec<CopyLink> {
        self.copies(|r| {
            r.db_snapshots
                .iter()
                .map(|s| (s.identifier.as_str(), db_snapshot_source(s)))
                .collect()
        })
    }

    fn copies<'a>(
        &'a self,
        sources: impl Fn(&'a RegionTopology) -> Vec<(&'a str, Option<RegionalId>)>,
    ) -> Vec<CopyLink> {
        let mut links: Vec<CopyLink> = self
            .regions
            .iter()
            .flat_map(|region| {
                sources(region).into_iter().filter_map(move |(id, source)| {
                    Some(CopyLink {
                        source: source?,
                        copy: RegionalId {
                            region: region.region.clone(),
                            id: id.to_string(),
                        },
                    })
                })
            })
            .collect();
        links.sort();
        links
    }
}

pub(crate) fn image_source(image: &Image) -> (&str, Option<RegionalId>) {
    let from_fields = match (&image.source_image_id, &image.source_image_region) {
        (Some(id), Some(region)) => Some(RegionalId {
            region: region.clone(),
            id: id.clone(),
        }),
        _ => None,
    };
    let source = from_fields
        .or_else(|| source_from_tag(&image.tags))
        .or_else(|| copied_from(image.description.as_deref()?, "ami-"));
    (&image.id, source)
}

fn snapshot_source(snapshot: &Snapshot) -> (&str, Option<RegionalId>) {
    (
        &snapshot.id,
        copy_source(&snapshot.tags, snapshot.description.as_deref(), "snap-"),
    )
}

/// The source of a DB snapshot copy: haven's `haven:source` tag, else RDS's source ARN.
pub(crate) fn db_snapshot_source(snapshot: &DbSnapshot) -> Option<RegionalId> {
    let arn = snapshot
        .tags
        .get(SOURCE_TAG)
        .or(snapshot.source_snapshot.as_ref())?;
    let arn = Arn::parse(arn)?;
    Some(RegionalId {
        region: arn.region.to_string(),
        id: arn.resource_id().to_string(),
    })
}

/// The source of a copy, by haven's `haven:source` tag or the console's `[Copied <prefix>… from
/// REGION]` description.
pub(crate) fn copy_source(
    tags: &crate::topology::Tags,
    description: Option<&str>,
    prefix: &str,
) -> Option<RegionalId> {
    source_from_tag(tags).or_else(|| copied_from(description?, prefix))
}

fn source_from_tag(tags: &crate::topology::Tags) -> Option<RegionalId> {
    let arn = Arn::parse(tags.get(SOURCE_TAG)?)?;
    Some(RegionalId {
        region: arn.region.to_string(),
        id: arn.resource_id().to_string(),
    })
}

/// Reads `[Copied ami-0abc from us-east-1]` (the console's description of a copy).
fn copied_from(description: &str, prefix: &str) -> Option<RegionalId> {
    let rest = description.strip_prefix("[Copied ")?;
    let (inside, _) = rest.split_once(']')?;
    let (id, region) = inside.split_once(" from ")?;
    (id.starts_with(prefix) && !region.is_empty()).then(|| RegionalId {
        region: region.trim().to_string(),
        id: id.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::AsgInstance;

    fn fixture(name: &str) -> Topology {
        let text = match name {
            "healthy" => include_str!("../../../assets/fixtures/lab-healthy.json"),
            _ => include_str!("../../../assets/fixtures/lab-degraded.json"),
        };
        Topology::from_json(text).expect("fixture")
    }

    fn subnet_named<'a>(region: &'a RegionTopology, name: &str) -> &'a str {
        region
            .subnets
            .iter()
            .find(|s| s.tags.get("Name").map(String::as_str) == Some(name))
            .map(|s| s.id.as_str())
            .expect("subnet")
    }

    #[test]
    fn a_db_snapshot_copy_is_linked_to_its_source_by_tag_or_by_rds() {
        let mut topology = fixture("healthy");
        let copy = |id: &str, tags: &[(&str, &str)], source: Option<&str>| DbSnapshot {
            identifier: id.into(),
            arn: format!("arn:aws:rds:us-east-1:123456789012:snapshot:{id}"),
            instance_identifier: Some("lab-db".into()),
            cluster_identifier: None,
            snapshot_type: "manual".into(),
            status: "available".into(),
            engine: "mysql".into(),
            created_at: None,
            encrypted: true,
            percent_progress: None,
            source_snapshot: source.map(str::to_string),
            source_region: source.map(|_| "ap-northeast-2".to_string()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            public: None,
        };
        let source = "arn:aws:rds:ap-northeast-2:123456789012:snapshot:lab-db-1";
        let mut dr = RegionTopology {
            region: "us-east-1".into(),
            ..RegionTopology::default()
        };
        dr.db_snapshots = vec![
            copy("by-tag", &[(SOURCE_TAG, source)], None),
            copy("by-rds", &[], Some(source)),
            copy("not-a-copy", &[], None),
        ];
        topology.regions.push(dr);
        let links = topology.db_snapshot_copies();
        let copies: Vec<&str> = links.iter().map(|l| l.copy.id.as_str()).collect();
        assert_eq!(copies, ["by-rds", "by-tag"]);
        assert!(links.iter().all(|l| l.source
            == RegionalId {
                region: "ap-northeast-2".into(),
                id: "lab-db-1".into(),
            }));
    }

    #[test]
    fn an_az_taken_out_of_a_group_is_the_one_to_put_back() {
        let topology = fixture("healthy");
        let mut region = topology.regions[0].clone();
        let group = region.auto_scaling_groups[0].clone();
        assert!(region.restorable_azs(&group).is_empty(), "{group:?}");
        // The drill: the group keeps only its subnets in ap-northeast-2a.
        let kept: Vec<String> = group
            .subnet_ids
            .iter()
            .filter(|id| {
                region
                    .subnet(id)
                    .is_some_and(|s| s.availability_zone == "ap-northeast-2a")
            })
            .cloned()
            .collect();
        let drilled = &mut region.auto_scaling_groups[0];
        drilled.subnet_ids = kept;
        drilled.availability_zones = vec!["ap-northeast-2a".into()];
        let drilled = region.auto_scaling_groups[0].clone();
        assert_eq!(region.restorable_azs(&drilled), ["ap-northeast-2b"]);
    }

    #[test]
    fn a_shared_nat_is_seen_from_the_other_az() {
        let topology = fixture("degraded");
        let region = &topology.regions[0];
        let private_b = subnet_named(region, "lab-private-b");
        assert!(!region.subnet_is_public(private_b));
        assert!(region.subnet_is_public(subnet_named(region, "lab-public-b")));
        assert_eq!(region.nat_az_for_subnet(private_b), Some("ap-northeast-2a"));
        let healthy = fixture("healthy");
        let region = &healthy.regions[0];
        let private_b = subnet_named(region, "lab-private-b");
        assert_eq!(region.nat_az_for_subnet(private_b), Some("ap-northeast-2b"));
    }

    #[test]
    fn a_stopped_member_leaves_its_az_without_healthy_targets() {
        let topology = fixture("degraded");
        let region = &topology.regions[0];
        let lb = &region.load_balancers[0];
        let by_az = region.load_balancer_health_by_az(lb);
        assert_eq!(
            by_az["ap-northeast-2a"],
            HealthCount {
                healthy: 1,
                total: 1
            }
        );
        assert_eq!(
            by_az["ap-northeast-2b"],
            HealthCount {
                healthy: 0,
                total: 1
            }
        );
        let db = &region.db_instances[0];
        assert!(!db.multi_az);
        assert_eq!(region.db_role(db), DbRole::Writer);
        assert_eq!(region.db_role(&region.db_instances[1]), DbRole::ReadReplica);
    }

    #[test]
    fn a_subnet_without_its_own_table_follows_the_main_one() {
        let mut topology = fixture("healthy");
        let region = &mut topology.regions[0];
        let public_a = subnet_named(region, "lab-public-a").to_string();
        let vpc = region.subnet(&public_a).expect("subnet").vpc_id.clone();
        for table in &mut region.route_tables {
            table
                .associations
                .retain(|a| a.subnet_id.as_deref() != Some(&public_a));
        }
        // The VPC's main table has no internet route: the subnet turns private.
        assert!(!region.subnet_is_public(&public_a));
        // Make the internet-routed table the VPC's main one: the subnet follows it.
        let main = region
            .route_tables
            .iter_mut()
            .filter(|t| t.vpc_id == vpc)
            .find_map(|t| {
                let at = t.associations.iter().position(|a| a.main)?;
                Some(t.associations.remove(at))
            })
            .expect("main association");
        region
            .route_tables
            .iter_mut()
            .find(|t| {
                t.vpc_id == vpc
                    && t.routes.iter().any(|r| {
                        r.destination == "0.0.0.0/0"
                            && matches!(r.target, RouteTarget::InternetGateway(_))
                    })
            })
            .expect("public table")
            .associations
            .push(main);
        assert!(region.subnet_is_public(&public_a));
    }

    #[test]
    fn stale_target_entries_name_their_reason() {
        let mut topology = fixture("healthy");
        let region = &mut topology.regions[0];
        let tg_arn = region.target_groups[0].arn.clone();
        let members: Vec<String> = region.target_groups[0]
            .targets
            .iter()
            .map(|t| t.id.clone())
            .collect();
        assert!(region.stale_targets(&region.target_groups[0]).is_empty());
        // moto's drift: a terminated member left in the group, a made-up id, a non-member.
        let terminated = members[0].clone();
        if let Some(i) = region.instances.iter_mut().find(|i| i.id == terminated) {
            i.state = InstanceState::Terminated;
        }
        let outsider = region
            .instances
            .iter()
            .find(|i| !members.contains(&i.id) && !i.state.is_gone())
            .map(|i| i.id.clone());
        let tg = region
            .target_groups
            .iter_mut()
            .find(|t| t.arn == tg_arn)
            .expect("tg");
        let template = tg.targets[0].clone();
        tg.targets.push(Target {
            id: "i-0000000000000dead".into(),
            ..template.clone()
        });
        if let Some(id) = &outsider {
            tg.targets.push(Target {
                id: id.clone(),
                ..template
            });
        }
        let asg = region
            .auto_scaling_groups
            .iter_mut()
            .find(|g| g.target_group_arns.contains(&tg_arn))
            .expect("ASG feeding the group");
        asg.instances.push(AsgInstance {
            instance_id: "i-0000000000000dead".into(),
            ..asg.instances[0].clone()
        });
        let tg = region.target_group(&tg_arn).expect("tg");
        let stale: Vec<(&str, StaleReason)> = region
            .stale_targets(tg)
            .iter()
            .map(|s| (s.target.id.as_str(), s.reason))
            .collect();
        assert!(stale.contains(&(terminated.as_str(), StaleReason::Terminated)));
        assert!(stale.contains(&("i-0000000000000dead", StaleReason::UnknownInstance)));
        if let Some(id) = &outsider {
            assert!(stale.contains(&(id.as_str(), StaleReason::NotInAttachedAsg)));
        }
        // Stale entries do not count as capacity.
        let counted: usize = region
            .healthy_targets_by_az(tg)
            .values()
            .map(|c| c.total)
            .sum();
        assert_eq!(counted, members.len() - 1);
    }

    #[test]
    fn reads_the_console_copy_description() {
        let found = copied_from("[Copied ami-0abc from ap-northeast-2] web", "ami-");
        assert_eq!(
            found,
            Some(RegionalId {
                region: "ap-northeast-2".into(),
                id: "ami-0abc".into()
            })
        );
        assert_eq!(copied_from("[Copied snap-1 from x]", "ami-"), None);
        assert_eq!(copied_from("my own description", "ami-"), None);
    }
}
