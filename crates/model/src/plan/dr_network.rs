//! The stack's data-tier network in each DR Region, built by `haven up` ahead of any disaster:
//! the VPC, a private subnet in each of the first AZs, the DB subnet group over them and the
//! security-group chain (`db-sg` lets in `app-sg`, which lets in `alb-sg`; empty groups cost
//! nothing, and complete rules mean a failover adds nothing to them).
//!
//! The cross-Region replica is created inside it (`CreateDBInstanceReadReplica` with its
//! `DBSubnetGroupName` and `VpcSecurityGroupIds`), and `haven failover-region` plans the same
//! blueprint in the same Region ([`Blueprint::failover_to`], same AZs from [`zones`]), so it finds
//! these resources by their tags and builds the app tier into the same VPC: the promoted
//! database is reachable from the instances. Without a subnet group "the new DB instance isn't
//! created in a VPC" haven builds
//! (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>).

use super::{Op, Plan, ResourceKind, TeardownOptions, adopted_by_failover, plan, teardown_region};
use crate::blueprint::Blueprint;
use crate::topology::{RegionTopology, Topology};

/// The AZs a stack uses in `region`: available zones of type `availability-zone` (never a Local
/// or Wavelength Zone, which lack NAT gateways and most instance and load-balancer types), in
/// name order, the first `count` of them. A zone whose type was not recorded counts as one.
pub fn zones(region: &RegionTopology, count: usize) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = region
        .availability_zones
        .iter()
        .filter(|z| z.state == "available")
        .filter(|z| {
            z.zone_type
                .as_deref()
                .is_none_or(|t| t == "availability-zone")
        })
        .map(|z| z.name.clone())
        .collect();
    names.sort();
    if names.len() < count {
        return Err(format!(
            "{} has {} available Availability Zone(s) (Local and Wavelength Zones do not count); \
             the stack needs {count}",
            region.region,
            names.len()
        ));
    }
    names.truncate(count);
    Ok(names)
}

/// Whether a step of the full plan belongs to the DR network.
fn in_dr_network(kind: ResourceKind, logical: &str) -> bool {
    match kind {
        ResourceKind::Vpc | ResourceKind::SecurityGroup | ResourceKind::DbSubnetGroup => true,
        ResourceKind::Subnet => logical.starts_with("private-"),
        _ => false,
    }
}

/// What `haven up` does about the DR network in one DR Region.
#[derive(Debug, Clone, PartialEq)]
pub enum DrNetworkPlan {
    /// Build or update it: the blueprint it is planned from (the stack in that Region) and
    /// the steps.
    Build {
        /// The stack's blueprint moved to the DR Region ([`Blueprint::in_region`]).
        blueprint: Box<Blueprint>,
        /// Creates and updates of the DR network only; never a delete.
        plan: Plan,
    },
    /// Left alone, with why (a failover made it the stack's home, or it has too few AZs).
    Skip(String),
}

/// The DR network of `blueprint`'s stack in `region`. Only the VPC, the private subnets, the
/// security groups and the DB subnet group are planned; nothing is deleted, so the app tier a
/// failover built there is never touched. A Region a failover made the stack's home is left
/// alone: `haven failover-region` and `haven failback` manage it.
pub fn dr_network(blueprint: &Blueprint, topology: &Topology, region: &str) -> DrNetworkPlan {
    let stack = blueprint.name();
    let empty = RegionTopology {
        region: region.to_string(),
        ..RegionTopology::default()
    };
    let dr = topology.region(region).unwrap_or(&empty);
    if let Some(db) = dr
        .db_instances
        .iter()
        .find(|d| adopted_by_failover(d, stack))
    {
        return DrNetworkPlan::Skip(format!(
            "{region}: DR network left as it is: a failover made it the home of stack {stack} \
             (database {}); `haven failback` makes it a DR Region again",
            db.identifier
        ));
    }
    let azs = match zones(dr, blueprint.network.azs.len()) {
        Ok(azs) => azs,
        Err(why) => return DrNetworkPlan::Skip(format!("{region}: no DR network: {why}")),
    };
    let moved = blueprint.in_region(region, &azs);
    let mut full = plan(&moved, topology);
    full.steps
        .retain(|s| s.op != Op::Delete && in_dr_network(s.resource.kind, &s.resource.logical));
    full.conflicts.clear();
    DrNetworkPlan::Build {
        blueprint: Box::new(moved),
        plan: full,
    }
}

/// What `haven failback` deletes in the DR Region once the stack runs at home again: everything
/// tagged with the stack there but its DR network (VPC, private subnets, security groups with
/// their rules, DB subnet group), which stays for the next cross-Region replica and failover.
/// The database the failover adopted goes with a final snapshot (`keep_data`), its same-Region
/// replicas before it.
pub fn app_tier_teardown(topology: &Topology, stack: &str, region: &str, keep_data: bool) -> Plan {
    let steps = topology
        .region(region)
        .map(|dr| {
            let options = TeardownOptions {
                keep_data,
                ..TeardownOptions::default()
            };
            teardown_region(dr, stack, &options, topology.taken_at)
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|(owner, _)| {
            !in_dr_network(owner.kind, &owner.logical)
                && owner.kind != ResourceKind::SecurityGroupReferences
        })
        .map(|(_, step)| step)
        .collect();
    Plan {
        stack: stack.to_string(),
        steps,
        conflicts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint;
    use crate::plan::{STACK_TAG, haven_tags};
    use crate::topology::{AvailabilityZone, Vpc};

    fn lab() -> Blueprint {
        let text = include_str!("../../../../assets/blueprints/lab.toml");
        blueprint::parse(text, "lab.toml", &|_| true).expect("lab blueprint")
    }

    fn zone(name: &str, zone_type: Option<&str>) -> AvailabilityZone {
        AvailabilityZone {
            name: name.to_string(),
            zone_id: None,
            state: "available".to_string(),
            zone_type: zone_type.map(str::to_string),
        }
    }

    fn dr_region() -> RegionTopology {
        RegionTopology {
            region: "us-east-1".to_string(),
            availability_zones: vec![
                zone("us-east-1b", Some("availability-zone")),
                zone("us-east-1-bos-1a", Some("local-zone")),
                zone("us-east-1a", Some("availability-zone")),
                zone("us-east-1c", Some("availability-zone")),
            ],
            ..RegionTopology::default()
        }
    }

    fn topology(region: RegionTopology) -> Topology {
        let mut topology = Topology::new(chrono::Utc::now());
        topology.regions.push(region);
        topology
    }

    #[test]
    fn a8_local_zones_are_never_chosen_and_names_are_in_order() {
        // `us-east-1-bos-1a` sorts before `us-east-1a`: a sort by name alone would take it.
        assert_eq!(
            zones(&dr_region(), 2),
            Ok(vec!["us-east-1a".to_string(), "us-east-1b".to_string()])
        );
        let error = zones(&dr_region(), 4).expect_err("three real AZs");
        assert!(error.contains("has 3 available"), "{error}");
    }

    #[test]
    fn a2_up_plans_the_data_tier_network_in_the_dr_region_and_nothing_else() {
        let DrNetworkPlan::Build { blueprint, plan } =
            dr_network(&lab(), &topology(dr_region()), "us-east-1")
        else {
            panic!("a DR network to build");
        };
        assert_eq!(blueprint.region(), "us-east-1");
        let steps: Vec<String> = plan
            .steps
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s.op,
                    s.resource,
                    s.region.as_deref().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                "create vpc/vpc us-east-1",
                "create subnet/private-us-east-1a us-east-1",
                "create subnet/private-us-east-1b us-east-1",
                "create security-group/alb-sg us-east-1",
                "create security-group/app-sg us-east-1",
                "create security-group/db-sg us-east-1",
                "create db-subnet-group/db-subnet-group us-east-1",
            ]
        );
        assert_eq!(
            plan.step(ResourceKind::DbSubnetGroup, "db-subnet-group")
                .map(|s| s.name.as_str()),
            Some("lab-db-subnets"),
            "the name haven_model::dr::network and the failover plan look for"
        );
    }

    #[test]
    fn a2_the_region_a_failover_made_home_is_left_alone() {
        let mut region = dr_region();
        region.vpcs.push(Vpc {
            id: "vpc-dr".to_string(),
            cidr_block: "10.0.0.0/16".to_string(),
            is_default: false,
            state: "available".to_string(),
            tags: haven_tags("lab", "vpc", "lab-vpc"),
        });
        // The promoted replica, adopted: tagged with the stack and still with `haven:source`.
        let fixture =
            Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
                .expect("fixture");
        let mut db = fixture
            .region("ap-northeast-2")
            .and_then(|r| r.db_instances.first().cloned())
            .expect("a DB instance");
        db.identifier = "lab-db-us-east-1".to_string();
        db.tags = haven_tags("lab", "db", "lab-db-us-east-1");
        db.tags.insert(
            crate::relations::SOURCE_TAG.to_string(),
            "arn:aws:rds:ap-northeast-2:1:db:lab-db".to_string(),
        );
        region.db_instances.push(db);
        assert_eq!(
            region.db_instances[0]
                .tags
                .get(STACK_TAG)
                .map(String::as_str),
            Some("lab")
        );
        match dr_network(&lab(), &topology(region), "us-east-1") {
            DrNetworkPlan::Skip(why) => assert!(why.contains("failback"), "{why}"),
            other => panic!("left alone, not {other:?}"),
        }
    }

    #[test]
    fn failback_removes_the_app_tier_and_keeps_the_dr_network() {
        let (_, topology) = crate::plan::tests::tagged_lab();
        let plan = app_tier_teardown(&topology, "lab", "ap-northeast-2", true);
        let kinds: std::collections::BTreeSet<ResourceKind> =
            plan.steps.iter().map(|s| s.resource.kind).collect();
        for gone in [
            ResourceKind::AutoScalingGroup,
            ResourceKind::LoadBalancer,
            ResourceKind::NatGateway,
            ResourceKind::InternetGateway,
            ResourceKind::DbInstance,
        ] {
            assert!(kinds.contains(&gone), "{gone} goes: {kinds:?}");
        }
        for kept in [
            ResourceKind::Vpc,
            ResourceKind::SecurityGroup,
            ResourceKind::SecurityGroupReferences,
            ResourceKind::DbSubnetGroup,
        ] {
            assert!(!kinds.contains(&kept), "{kept} stays: {kinds:?}");
        }
        let subnets: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.resource.kind == ResourceKind::Subnet)
            .map(|s| s.resource.logical.as_str())
            .collect();
        assert!(
            !subnets.is_empty() && subnets.iter().all(|l| l.starts_with("public-")),
            "{subnets:?}"
        );
        let db = plan
            .step(ResourceKind::DbInstance, "db")
            .expect("the database");
        assert!(
            db.retain
                .as_ref()
                .is_some_and(|r| r.final_snapshot.is_some()),
            "a final snapshot first: {db:?}"
        );
    }
}
