//! The index answers as [`crate::relations`] does: every lookup it claims to mirror is compared
//! with the relations method, for every resource of every fixture, and of variants of them
//! that exercise the edge cases (a group scaled to nothing, targets whose instance is gone, a
//! subnet left to its VPC's main table, a NAT gateway no longer listed).

use std::time::Instant;

use super::index::RegionIndex;
use crate::topology::{InstanceState, RegionTopology, Topology};

const FIXTURES: [(&str, &str); 4] = [
    (
        "lab-healthy",
        include_str!("../../../../assets/fixtures/lab-healthy.json"),
    ),
    (
        "lab-degraded",
        include_str!("../../../../assets/fixtures/lab-degraded.json"),
    ),
    (
        "two-regions",
        include_str!("../../../../assets/fixtures/two-regions.json"),
    ),
    (
        "large-10k",
        include_str!("../../../../assets/fixtures/large-10k.json"),
    ),
];

/// Each Region of `topology` as it is, and with the mutations that reach the index's edge cases.
fn variants(topology: &Topology) -> Vec<(String, RegionTopology)> {
    let mut out = Vec::new();
    for region in &topology.regions {
        let name = &region.region;
        out.push((name.clone(), region.clone()));
        let mut empty_groups = region.clone();
        for asg in &mut empty_groups.auto_scaling_groups {
            asg.instances.clear();
        }
        out.push((format!("{name}, groups scaled to nothing"), empty_groups));
        let mut gone = region.clone();
        for (i, instance) in gone.instances.iter_mut().enumerate() {
            if i % 3 == 0 {
                instance.state = InstanceState::Terminated;
            }
        }
        let kept = gone.instances.len() / 2;
        gone.instances.truncate(kept);
        out.push((format!("{name}, instances gone"), gone));
        let mut unrouted = region.clone();
        for table in &mut unrouted.route_tables {
            table.associations.retain(|a| a.main);
        }
        unrouted.nat_gateways.truncate(1);
        out.push((format!("{name}, subnets on the main table"), unrouted));
    }
    out
}

fn ids<'a, T>(items: impl IntoIterator<Item = &'a T>, id: impl Fn(&T) -> &str) -> Vec<String>
where
    T: 'a,
{
    items.into_iter().map(|item| id(item).to_string()).collect()
}

/// Every lookup of the index equals the relations method it mirrors, on `region`.
fn assert_index_matches_relations(what: &str, region: &RegionTopology) {
    let index = RegionIndex::new(region);
    let mut subnet_ids: Vec<&str> = region.subnets.iter().map(|s| s.id.as_str()).collect();
    subnet_ids.push("subnet-unknown");
    for subnet in subnet_ids {
        let at = format!("{what}: subnet {subnet}");
        assert_eq!(
            index.subnet(subnet).map(|s| &s.id),
            region.subnet(subnet).map(|s| &s.id),
            "{at}: subnet"
        );
        assert_eq!(
            index.route_table(subnet).map(|t| &t.id),
            region.route_table_for_subnet(subnet).map(|t| &t.id),
            "{at}: route_table ≠ route_table_for_subnet"
        );
        assert_eq!(
            index.subnet_is_public(subnet),
            region.subnet_is_public(subnet),
            "{at}: subnet_is_public"
        );
        let nat = index.nat_route(subnet).and_then(|(_, nat)| nat);
        assert_eq!(
            nat.map(|n| &n.id),
            region.nat_for_subnet(subnet).map(|n| &n.id),
            "{at}: nat_route ≠ nat_for_subnet"
        );
        assert_eq!(
            nat.and_then(|n| index.nat_az(n)),
            region.nat_az_for_subnet(subnet),
            "{at}: nat_az ≠ nat_az_for_subnet"
        );
    }
    for instance in &region.instances {
        assert_eq!(
            index.instance(&instance.id).map(|i| &i.id),
            region.instance(&instance.id).map(|i| &i.id),
            "{what}: instance {}",
            instance.id
        );
    }
    for tg in &region.target_groups {
        let at = format!("{what}: target group {}", tg.arn);
        for target in &tg.targets {
            assert_eq!(
                index.target_az(target),
                region.target_az(target),
                "{at}: target_az of {}",
                target.id
            );
        }
        assert_eq!(
            ids(index.live_targets(tg), |t| &t.id),
            ids(region.live_targets(tg), |t| &t.id),
            "{at}: live_targets (stale_targets left out)"
        );
        assert_eq!(
            index.healthy_targets_by_az(tg),
            region.healthy_targets_by_az(tg),
            "{at}: healthy_targets_by_az"
        );
        let forwarding = region
            .load_balancers
            .iter()
            .filter(|lb| region.target_groups_of(lb).iter().any(|t| t.arn == tg.arn));
        assert_eq!(
            ids(index.load_balancers_of(&tg.arn).iter().copied(), |l| &l.arn),
            ids(forwarding, |l| &l.arn),
            "{at}: load_balancers_of"
        );
    }
    for lb in &region.load_balancers {
        let at = format!("{what}: load balancer {}", lb.arn);
        assert_eq!(
            ids(index.target_groups_of(lb).iter().copied(), |t| &t.arn),
            ids(region.target_groups_of(lb), |t| &t.arn),
            "{at}: target_groups_of"
        );
        assert_eq!(
            index.load_balancer_health_by_az(lb),
            region.load_balancer_health_by_az(lb),
            "{at}: load_balancer_health_by_az"
        );
    }
    for asg in &region.auto_scaling_groups {
        let at = format!("{what}: Auto Scaling group {}", asg.name);
        assert_eq!(
            index.asg_instances_by_az(asg),
            region.asg_instances_by_az(asg),
            "{at}: asg_instances_by_az"
        );
        let mut serving: Vec<String> = Vec::new();
        for tg in &asg.target_group_arns {
            for lb in &region.load_balancers {
                let forwards = region.target_groups_of(lb).iter().any(|t| t.arn == *tg);
                if forwards && !serving.contains(&lb.arn) {
                    serving.push(lb.arn.clone());
                }
            }
        }
        assert_eq!(
            ids(index.load_balancers_of_asg(asg), |l| &l.arn),
            serving,
            "{at}: load_balancers_of_asg"
        );
    }
}

#[test]
fn the_index_answers_as_relations_on_every_fixture_and_resource() {
    for (name, json) in FIXTURES {
        let started = Instant::now();
        let topology = Topology::from_json(json).expect("fixture");
        let regions = variants(&topology);
        assert!(
            regions.iter().any(|(_, r)| !r.target_groups.is_empty()),
            "{name}: a fixture without target groups proves nothing"
        );
        for (what, region) in &regions {
            assert_index_matches_relations(&format!("{name}, {what}"), region);
        }
        eprintln!(
            "{name}: {} Regions in {:?}",
            regions.len(),
            started.elapsed()
        );
    }
}

/// What the index fix changes for a user: a group scaled to nothing leaves its old targets
/// registered for a while; they serve nothing, so the load balancer has no healthy target in
/// any AZ, as the dashboard (which reads `relations`) shows.
#[test]
fn targets_of_a_group_scaled_to_nothing_do_not_count_as_healthy() {
    let healthy = Topology::from_json(FIXTURES[0].1).expect("fixture");
    let alb_az = |t: &Topology| {
        super::assess(t, &super::Policy::default())
            .into_iter()
            .find(|f| f.id == "HA-ALB-AZ" && f.resource.id == "lab-alb")
    };
    assert!(
        alb_az(&healthy).is_none(),
        "the lab fails HA-ALB-AZ already"
    );
    let mut scaled = healthy.clone();
    let primary = scaled
        .regions
        .iter_mut()
        .find(|r| r.region == "ap-northeast-2")
        .expect("primary");
    assert!(primary.target_groups.iter().any(|t| !t.targets.is_empty()));
    for asg in &mut primary.auto_scaling_groups {
        asg.instances.clear();
    }
    let finding = alb_az(&scaled).expect("HA-ALB-AZ on lab-alb");
    assert!(
        finding.evidence.contains("no healthy target in"),
        "{}",
        finding.evidence
    );
}
