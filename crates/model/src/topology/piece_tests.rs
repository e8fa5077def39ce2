use chrono::{DateTime, Utc};

use super::*;
use crate::Instance;

fn lab() -> Topology {
    serde_json::from_str(include_str!("../../../../assets/fixtures/two-regions.json"))
        .expect("fixture")
}

fn empty() -> Topology {
    Topology::new(DateTime::<Utc>::UNIX_EPOCH)
}

fn denied(region: &str, operation: &str) -> DiscoveryError {
    DiscoveryError {
        region: Some(region.into()),
        service: Service::Ec2,
        operation: operation.into(),
        code: Some("UnauthorizedOperation".into()),
        message: "denied".into(),
        part: None,
    }
}

#[test]
fn a_region_streamed_in_pieces_in_any_order_is_the_region_read_whole() {
    let whole = lab();
    let mut streamed = empty();
    for region in &whole.regions {
        let mut pieces = pieces_of(region);
        pieces.reverse();
        for piece in pieces {
            streamed.apply(piece);
        }
    }
    assert_eq!(streamed.regions, whole.regions);
}

#[test]
fn a_part_that_fails_keeps_its_last_rows_and_its_error_until_it_is_read_again() {
    let mut shown = lab();
    let code = shown.regions[0].region.clone();
    let before = shown.regions[0].instances.len();
    assert!(before > 0);
    let failed = Piece::regional(
        Part::Instances,
        RegionTopology {
            region: code.clone(),
            ..RegionTopology::default()
        },
        vec![denied(&code, "DescribeInstances")],
    );
    assert!(shown.apply(failed).kept_stale);
    assert_eq!(shown.regions[0].instances.len(), before);
    let errors: Vec<_> = shown.errors_in(&code).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].part, Some(Part::Instances));
    // Another part's read leaves that error; the next read of the part replaces it.
    let fresh = pieces_of(&lab().regions[0]);
    let network = fresh.iter().find(|p| p.part == Part::Network).cloned();
    shown.apply(network.expect("network piece"));
    assert_eq!(shown.errors_in(&code).count(), 1);
    let instances = fresh.into_iter().find(|p| p.part == Part::Instances);
    assert!(!shown.apply(instances.expect("instances piece")).kept_stale);
    assert_eq!(shown.errors_in(&code).count(), 0);
}

#[test]
fn pages_add_rows_and_the_last_page_drops_what_is_gone() {
    let mut shown = lab();
    let code = shown.regions[0].region.clone();
    let old: Vec<Instance> = shown.regions[0].instances.clone();
    assert!(old.len() >= 2, "the fixture has instances to drop");
    let mut first = old[0].clone();
    first.state = crate::InstanceState::Stopping;
    let page = |rows: Vec<Instance>, partial: bool| {
        let mut piece = Piece::regional(
            Part::Instances,
            RegionTopology {
                region: code.clone(),
                instances: rows,
                ..RegionTopology::default()
            },
            Vec::new(),
        );
        piece.partial = partial;
        piece
    };
    shown.apply(page(vec![first.clone()], true));
    let rows = &shown.regions[0].instances;
    assert_eq!(rows.len(), old.len(), "a page removes nothing");
    assert_eq!(rows[0].state, crate::InstanceState::Stopping);
    shown.apply(page(vec![first], false));
    assert_eq!(
        shown.regions[0].instances.len(),
        1,
        "the whole list replaces"
    );
}

#[test]
fn narrow_reads_change_only_what_they_read() {
    let mut shown = lab();
    let code = shown.regions[0].region.clone();
    let region = &shown.regions[0];
    let group = region.auto_scaling_groups.first().cloned().expect("an ASG");
    assert!(
        !group.policies.is_empty(),
        "the fixture's group has a policy"
    );
    let tg = region
        .target_groups
        .first()
        .cloned()
        .expect("a target group");
    assert!(!tg.targets.is_empty());

    let mut capacity = group.clone();
    capacity.policies.clear();
    capacity.desired_capacity += 1;
    shown.apply(Piece::regional(
        Part::AsgCapacity,
        RegionTopology {
            region: code.clone(),
            auto_scaling_groups: vec![capacity],
            ..RegionTopology::default()
        },
        Vec::new(),
    ));
    let after = &shown.regions[0].auto_scaling_groups[0];
    assert_eq!(after.desired_capacity, group.desired_capacity + 1);
    assert_eq!(
        after.policies, group.policies,
        "policies are not in a capacity read"
    );

    let mut health = tg.clone();
    for target in &mut health.targets {
        target.health = crate::TargetHealthState::Unhealthy;
    }
    health.name = "not read".into();
    shown.apply(Piece::regional(
        Part::TargetHealth,
        RegionTopology {
            region: code.clone(),
            target_groups: vec![health],
            ..RegionTopology::default()
        },
        Vec::new(),
    ));
    let after = &shown.regions[0].target_groups[0];
    assert_eq!(after.name, tg.name);
    assert!(
        after
            .targets
            .iter()
            .all(|t| t.health == crate::TargetHealthState::Unhealthy)
    );
}

#[test]
fn a_region_not_shown_yet_is_added_when_its_first_piece_arrives() {
    let mut shown = empty();
    let pieces = pieces_of(&lab().regions[1]);
    let rds = pieces.into_iter().find(|p| p.part == Part::Databases);
    shown.apply(rds.expect("databases piece"));
    assert_eq!(shown.regions.len(), 1);
    assert!(!shown.regions[0].db_instances.is_empty());
    assert!(shown.regions[0].instances.is_empty());
}

#[test]
fn a_full_read_answers_its_narrow_parts() {
    assert!(Part::LoadBalancers.answers(Part::TargetHealth));
    assert!(Part::AutoScaling.answers(Part::AsgCapacity));
    assert!(!Part::TargetHealth.answers(Part::LoadBalancers));
    assert!(Part::REGIONAL.iter().all(|p| !p.is_global()));
}
