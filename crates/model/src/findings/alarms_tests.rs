//! A passing and a failing fixture for HA-ALARM-HOSTS and HA-ALARM-LAG.

use super::*;
use crate::{Alarm, AlarmMetric, DiscoveryError, Service};

fn healthy() -> Topology {
    Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("fixture")
}

/// The lab without its alarms.
fn lab() -> Topology {
    let mut lab = healthy();
    for region in &mut lab.regions {
        region.alarms.clear();
    }
    lab
}

#[test]
fn the_lab_with_its_alarms_passes_both() {
    assert!(found(&healthy(), "HA-ALARM-HOSTS").is_empty());
    assert!(found(&healthy(), "HA-ALARM-LAG").is_empty());
}

fn alarm(name: &str, metric: &str, dimension: (&str, &str)) -> Alarm {
    Alarm {
        name: name.into(),
        state: "OK".into(),
        metrics: vec![AlarmMetric {
            namespace: "AWS/ApplicationELB".into(),
            name: metric.into(),
            dimensions: [(dimension.0.into(), dimension.1.into())].into(),
        }],
        ..Alarm::default()
    }
}

fn found(topology: &Topology, id: &str) -> Vec<String> {
    assess(topology, &Policy::default())
        .into_iter()
        .filter(|f| f.id == id)
        .map(|f| format!("{} {}", f.resource.id, f.evidence))
        .collect()
}

#[test]
fn a_target_group_without_a_host_alarm_fails_and_one_with_it_passes() {
    let mut lab = lab();
    let missing = found(&lab, "HA-ALARM-HOSTS");
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].starts_with("lab-web-tg 2 targets"),
        "{}",
        missing[0]
    );
    assert!(
        missing[0].contains("TargetGroup=targetgroup/lab-web-tg/"),
        "{}",
        missing[0]
    );
    // An alarm on another group's hosts does not count.
    lab.regions[0].alarms.push(alarm(
        "other",
        "UnHealthyHostCount",
        ("TargetGroup", "targetgroup/other/1"),
    ));
    assert_eq!(found(&lab, "HA-ALARM-HOSTS").len(), 1);
    lab.regions[0].alarms.push(alarm(
        "lab-unhealthy-hosts",
        "UnHealthyHostCount",
        ("TargetGroup", "targetgroup/lab-web-tg/7a90e8168e7730ff"),
    ));
    assert!(found(&lab, "HA-ALARM-HOSTS").is_empty());
}

#[test]
fn every_replica_needs_a_lag_alarm_in_its_own_region() {
    let mut lab = lab();
    let missing = found(&lab, "HA-ALARM-LAG");
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("lab-db-dr read replica of"))
    );
    // The alarm is in the replica's Region: one in the primary's does not cover the DR copy.
    let lag = |db: &str| {
        alarm(
            &format!("{db}-lag"),
            "ReplicaLag",
            ("DBInstanceIdentifier", db),
        )
    };
    lab.regions[0].alarms.push(lag("lab-db-replica-1"));
    lab.regions[0].alarms.push(lag("lab-db-dr"));
    assert_eq!(found(&lab, "HA-ALARM-LAG").len(), 1);
    lab.regions[1].alarms.push(lag("lab-db-dr"));
    assert!(found(&lab, "HA-ALARM-LAG").is_empty());
}

#[test]
fn a_region_whose_alarms_could_not_be_read_is_not_judged() {
    let mut lab = lab();
    lab.errors.push(DiscoveryError {
        region: Some("ap-northeast-2".into()),
        service: Service::CloudWatch,
        operation: "DescribeAlarms".into(),
        code: Some("AccessDenied".into()),
        message: "denied".into(),
        part: None,
    });
    assert!(found(&lab, "HA-ALARM-HOSTS").is_empty());
    // us-east-1 was read: its replica is still judged.
    assert_eq!(found(&lab, "HA-ALARM-LAG").len(), 1);
}
