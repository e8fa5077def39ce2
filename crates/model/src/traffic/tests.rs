use super::*;
use crate::topology::{Dns, HostedZone};

fn alias(region: &str) -> AliasTarget {
    AliasTarget {
        hosted_zone_id: "Z2P70J7EXAMPLE".to_string(),
        dns_name: format!("lab-alb-1.{region}.elb.amazonaws.com."),
        evaluate_target_health: true,
    }
}

fn record(region: &str, failover: Option<&str>, weight: Option<i64>) -> DnsRecord {
    DnsRecord {
        name: "lab.example.com.".to_string(),
        record_type: "A".to_string(),
        set_identifier: Some(format!("lab-{region}")),
        failover: failover.map(str::to_string),
        weight,
        alias: Some(alias(region)),
        health_check_id: Some(format!("hc-{region}")),
        ..DnsRecord::default()
    }
}

fn topology(records: Vec<DnsRecord>) -> Topology {
    let mut t = Topology::new(chrono::Utc::now());
    t.dns = Some(Dns {
        hosted_zones: vec![HostedZone {
            id: "Z1".to_string(),
            name: "example.com.".to_string(),
            records,
            ..HostedZone::default()
        }],
        health_checks: Vec::new(),
    });
    t
}

const HOME: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

#[test]
fn the_stacks_names_are_found_by_set_identifier_and_their_regions_by_the_alias() {
    let t = topology(vec![
        record(HOME, Some("PRIMARY"), None),
        record(DR, Some("SECONDARY"), None),
    ]);
    let names = stack_names(&t, "lab");
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].routing, Routing::Failover);
    assert_eq!(names[0].roles(), format!("PRIMARY {HOME}, SECONDARY {DR}"));
    assert!(stack_names(&t, "shop").is_empty());
}

#[test]
fn a_failover_flip_makes_the_dr_record_primary_and_the_lost_one_secondary() {
    let t = topology(vec![
        record(HOME, Some("PRIMARY"), None),
        record(DR, Some("SECONDARY"), None),
    ]);
    let name = &stack_names(&t, "lab")[0];
    let after = move_to(name, DR, None).expect("flip");
    assert_eq!(after.len(), 2);
    let primary = after
        .iter()
        .find(|r| r.failover.as_deref() == Some("PRIMARY"));
    assert_eq!(
        primary.and_then(|r| r.set_identifier.as_deref()),
        Some("lab-us-east-1")
    );
    // Already there: nothing to change.
    let t = topology(after);
    assert_eq!(
        move_to(&stack_names(&t, "lab")[0], DR, None),
        Ok(Vec::new())
    );
}

#[test]
fn the_dr_record_is_pointed_at_the_new_load_balancer_or_made() {
    let new_alb = NewLeg {
        region: DR.to_string(),
        set_identifier: format!("lab-{DR}"),
        alias: AliasTarget {
            hosted_zone_id: "Z35SXDOTRQ7X7K".to_string(),
            dns_name: format!("lab-alb-2.{DR}.elb.amazonaws.com"),
            evaluate_target_health: false,
        },
        health_check_id: Some("hc-new".to_string()),
    };
    // A DR record aliasing an old load balancer: repointed and made PRIMARY in one change.
    let t = topology(vec![
        record(HOME, Some("PRIMARY"), None),
        record(DR, Some("SECONDARY"), None),
    ]);
    let after = move_to(&stack_names(&t, "lab")[0], DR, Some(&new_alb)).expect("move");
    let dr = after
        .iter()
        .find(|r| r.set_identifier.as_deref() == Some("lab-us-east-1"))
        .expect("dr record");
    assert_eq!(dr.failover.as_deref(), Some("PRIMARY"));
    assert_eq!(
        dr.target().as_deref(),
        Some("lab-alb-2.us-east-1.elb.amazonaws.com")
    );
    assert_eq!(dr.health_check_id.as_deref(), Some("hc-new"));
    assert!(dr.alias.as_ref().is_some_and(|a| a.evaluate_target_health));
    // No DR record yet: one is made.
    let t = topology(vec![record(HOME, Some("PRIMARY"), None)]);
    let after = move_to(&stack_names(&t, "lab")[0], DR, Some(&new_alb)).expect("move");
    assert_eq!(after.len(), 2);
    assert!(
        after
            .iter()
            .any(|r| r.set_identifier.as_deref() == Some("lab-us-east-1")
                && r.failover.as_deref() == Some("PRIMARY"))
    );
    assert!(after.iter().any(
        |r| r.set_identifier.as_deref() == Some("lab-ap-northeast-2")
            && r.failover.as_deref() == Some("SECONDARY")
    ));
    // Without a load balancer to point at, a Region without a record is refused.
    let error = move_to(&stack_names(&t, "lab")[0], DR, None).expect_err("no record");
    assert!(error.contains("no record leading to us-east-1"), "{error}");
}

#[test]
fn weighted_moves_give_the_whole_weight_and_set_weights_checks_the_range() {
    let t = topology(vec![
        record(HOME, None, Some(200)),
        record(DR, None, Some(0)),
    ]);
    let name = &stack_names(&t, "lab")[0];
    assert_eq!(name.routing, Routing::Weighted);
    let after = move_to(name, DR, None).expect("move");
    let weight = |id: &str| {
        after
            .iter()
            .find(|r| r.set_identifier.as_deref() == Some(id))
            .and_then(|r| r.weight)
    };
    assert_eq!(weight("lab-us-east-1"), Some(200));
    assert_eq!(weight("lab-ap-northeast-2"), Some(0));
    let mut weights = BTreeMap::new();
    weights.insert("lab-us-east-1".to_string(), 50);
    assert_eq!(set_weights(name, &weights).expect("weights").len(), 1);
    weights.insert("lab-us-east-1".to_string(), 256);
    assert!(set_weights(name, &weights).is_err());
}

#[test]
fn regions_are_read_from_load_balancer_names() {
    assert_eq!(
        region_of_elb_name("dualstack.lab-alb-1.ap-northeast-2.elb.amazonaws.com."),
        Some(HOME.to_string())
    );
    assert_eq!(region_of_elb_name("example.com"), None);
}
