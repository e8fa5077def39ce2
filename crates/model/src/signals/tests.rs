use chrono::{TimeZone, Utc};

use super::*;
use crate::{AlarmMetric, TargetHealthState};

fn lab() -> Topology {
    Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("the fixture reads")
}

const LB: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/lab-alb/a23db4bf7f2e5534";
const TG: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-web-tg/7a90e8168e7730ff";

#[test]
fn the_lab_is_read_in_one_call_per_region_with_per_az_load_balancer_series() {
    let lab = lab();
    let home = queries(&lab.regions[0]);
    // 2 AZs × (requests, two 5xx, latency) + 2 AZs × (healthy, unhealthy) + group CPU and
    // in-service + 2 instances + lab-db (CPU, connections, storage) + replica (+ lag).
    assert_eq!(home.len(), 8 + 4 + 2 + 2 + 3 + 4);
    assert!(home.len() <= query::MAX_QUERIES_PER_CALL);
    let requests = home
        .iter()
        .find(|q| {
            q.key == SeriesKey::in_az("ap-northeast-2", LB, "ap-northeast-2b", Metric::Requests)
        })
        .expect("requests in 2b");
    assert_eq!(requests.namespace, "AWS/ApplicationELB");
    assert_eq!(requests.metric_name, "RequestCount");
    assert_eq!(requests.stat, "Sum");
    assert_eq!(
        requests.dimensions,
        vec![
            ("LoadBalancer", "app/lab-alb/a23db4bf7f2e5534".to_string()),
            ("AvailabilityZone", "ap-northeast-2b".to_string())
        ]
    );
    let healthy = home
        .iter()
        .find(|q| {
            q.key
                == SeriesKey::in_az(
                    "ap-northeast-2",
                    TG,
                    "ap-northeast-2a",
                    Metric::HealthyHosts,
                )
        })
        .expect("healthy hosts in 2a");
    assert_eq!(
        healthy.dimensions[0],
        (
            "TargetGroup",
            "targetgroup/lab-web-tg/7a90e8168e7730ff".to_string()
        )
    );
    // Ids are unique and start with a lowercase letter.
    let ids: std::collections::BTreeSet<_> = home.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids.len(), home.len());
    assert!(home.iter().all(|q| q.id.starts_with('m')));
    // The cross-Region replica's lag is read in its own Region.
    let dr = queries(&lab.regions[1]);
    assert!(dr.iter().any(|q| q.key
        == SeriesKey::new("us-east-1", "lab-db-dr", Metric::ReplicaLag)
        && q.metric_name == "ReplicaLag"));
    assert!(
        !home
            .iter()
            .any(|q| q.key.resource == "lab-db" && q.key.metric == Metric::ReplicaLag)
    );
}

#[test]
fn a_fleet_is_followed_by_its_groups_not_by_thousands_of_instance_series() {
    let mut region = lab().regions[0].clone();
    let template = region.instances[0].clone();
    for n in 0..500 {
        let mut instance = template.clone();
        instance.id = format!("i-{n:017}");
        region.instances.push(instance);
    }
    let cpu = queries(&region)
        .into_iter()
        .filter(|q| q.key.metric == Metric::Cpu && q.dimensions[0].0 == "InstanceId")
        .collect::<Vec<_>>();
    assert_eq!(cpu.len(), query::INSTANCE_SERIES_LIMIT);
    // The group's members come first.
    let member = &region.auto_scaling_groups[0].instances[0].instance_id;
    assert!(cpu.iter().any(|q| &q.key.resource == member));
}

#[test]
fn the_window_is_the_last_hour_of_whole_minutes() {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 34, 56).unwrap();
    let (start, end) = query::window(now);
    assert_eq!(end, Utc.with_ymd_and_hms(2026, 11, 30, 12, 34, 0).unwrap());
    assert_eq!(
        start,
        Utc.with_ymd_and_hms(2026, 11, 30, 11, 34, 0).unwrap()
    );
}

fn point(minute: u32, value: f64) -> Point {
    Point {
        at: Utc.with_ymd_and_hms(2026, 11, 30, 12, minute, 0).unwrap(),
        value,
    }
}

#[test]
fn the_newest_replica_lag_reaches_the_topology() {
    let mut lab = lab();
    let mut signals = Signals::default();
    signals.series.insert(
        SeriesKey::new("us-east-1", "lab-db-dr", Metric::ReplicaLag),
        vec![point(1, 3.0), point(2, 41.2)],
    );
    annotate(&mut lab, &signals);
    let dr = &lab.regions[1].db_instances[0];
    assert_eq!(dr.replica_lag.map(|l| l.seconds), Some(42));
    assert_eq!(
        dr.replica_lag.map(|l| l.measured_at),
        Some(point(2, 0.0).at)
    );
    // The in-Region replica had no data: unknown, not 0.
    let replica = lab.regions[0]
        .db_instances
        .iter()
        .find(|d| d.identifier == "lab-db-replica-1")
        .unwrap();
    assert_eq!(replica.replica_lag, None);
}

#[test]
fn errors_of_target_and_load_balancer_add_up_minute_by_minute() {
    let mut signals = Signals::default();
    let a = SeriesKey::in_az("r", LB, "a", Metric::TargetErrors);
    let b = SeriesKey::in_az("r", LB, "a", Metric::LoadBalancerErrors);
    signals
        .series
        .insert(a.clone(), vec![point(1, 2.0), point(2, 1.0)]);
    signals
        .series
        .insert(b.clone(), vec![point(2, 5.0), point(3, 1.0)]);
    let sum = signals.sum(&a, &b);
    assert_eq!(sum, vec![point(1, 2.0), point(2, 6.0), point(3, 1.0)]);
}

#[test]
fn thresholds_colour_cpu_errors_latency_lag_and_storage() {
    let t = Thresholds::default();
    assert_eq!(t.judge(Metric::Cpu, 35.0, None), Level::Ok);
    assert_eq!(t.judge(Metric::Cpu, 75.0, None), Level::Warn);
    assert_eq!(t.judge(Metric::Cpu, 95.0, None), Level::Critical);
    assert_eq!(t.judge(Metric::ResponseTime, 2.5, None), Level::Critical);
    assert_eq!(t.judge(Metric::ReplicaLag, 45.0, None), Level::Warn);
    assert_eq!(t.judge(Metric::UnhealthyHosts, 1.0, None), Level::Warn);
    let gib = 1024.0 * 1024.0 * 1024.0;
    assert_eq!(
        t.judge(Metric::FreeStorage, 1.5 * gib, Some(20.0 * gib)),
        Level::Critical
    );
    assert_eq!(
        t.judge(Metric::FreeStorage, 15.0 * gib, Some(20.0 * gib)),
        Level::Ok
    );
    assert_eq!(t.judge(Metric::FreeStorage, 1.0, None), Level::Ok);
    assert_eq!(t.judge_errors(3.0, 100.0), Level::Warn);
    assert_eq!(t.judge_errors(3.0, 0.0), Level::Critical);
    assert_eq!(t.judge_errors(0.0, 0.0), Level::Ok);
    assert_eq!(t.judge_healthy(0.0), Level::Critical);
    // A policy file can change them.
    let policy: crate::findings::Policy =
        toml::from_str("[thresholds.cpu_percent]\nwarn = 50.0\ncritical = 60.0\n").unwrap();
    assert_eq!(
        policy.thresholds.judge(Metric::Cpu, 55.0, None),
        Level::Warn
    );
    assert_eq!(policy.thresholds.error_percent, t.error_percent);
}

#[test]
fn values_read_as_an_operator_expects() {
    assert_eq!(Metric::Cpu.format(42.4), "42%");
    assert_eq!(Metric::ResponseTime.format(0.123), "123 ms");
    assert_eq!(Metric::ResponseTime.format(1.5), "1.5 s");
    assert_eq!(Metric::Requests.format(1234.0), "1.2k");
    assert_eq!(Metric::Requests.format(56.0), "56");
    assert_eq!(
        Metric::FreeStorage.format(18.0 * 1024.0 * 1024.0 * 1024.0),
        "18 GiB"
    );
    assert_eq!(Metric::ReplicaLag.format(12.0), "12 s");
}

fn alarm(name: &str, state: &str, dimension: (&str, &str)) -> Alarm {
    Alarm {
        name: name.into(),
        state: state.into(),
        metrics: vec![AlarmMetric {
            namespace: "AWS/ApplicationELB".into(),
            name: "UnHealthyHostCount".into(),
            dimensions: [(dimension.0.to_string(), dimension.1.to_string())].into(),
        }],
        ..Alarm::default()
    }
}

#[test]
fn an_alarm_is_tied_to_the_resource_its_dimensions_name() {
    let mut region = lab().regions[0].clone();
    region.alarms = vec![
        alarm(
            "tg-ok",
            "OK",
            ("TargetGroup", "targetgroup/lab-web-tg/7a90e8168e7730ff"),
        ),
        alarm(
            "tg-firing",
            "ALARM",
            ("TargetGroup", "targetgroup/lab-web-tg/7a90e8168e7730ff"),
        ),
        alarm("other", "ALARM", ("TargetGroup", "targetgroup/other/1")),
        alarm("db", "OK", ("DBInstanceIdentifier", "lab-db")),
    ];
    let on_tg: Vec<_> = alarms_on(&region, ResourceKind::TargetGroup, TG)
        .into_iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(on_tg, vec!["tg-firing", "tg-ok"]);
    assert_eq!(
        alarm_resources(&region, &region.alarms[3]),
        vec![ResourceRef::new(ResourceKind::DbInstance, "lab-db")]
    );
    assert!(alarm_resources(&region, &region.alarms[2]).is_empty());
}

#[test]
fn changes_between_discoveries_become_events_newest_first() {
    let before = lab();
    let mut after = before.clone();
    after.taken_at = before.taken_at + chrono::Duration::seconds(30);
    let region = &mut after.regions[0];
    region.target_groups[0].targets[0].health = TargetHealthState::Unhealthy;
    region.auto_scaling_groups[0].desired_capacity += 1;
    let target = region.target_groups[0].targets[0].id.clone();
    let events = events::changes(&before, &after);
    assert_eq!(events.len(), 2, "{events:#?}");
    let health = events
        .iter()
        .find(|e| e.text.starts_with(&target))
        .expect("the target's change");
    assert!(
        health.text.contains("healthy → unhealthy"),
        "{}",
        health.text
    );
    assert!(health.bad);
    assert_eq!(
        health.resource,
        Some(ResourceRef::new(ResourceKind::TargetGroup, "lab-web-tg").with_arn(Some(TG)))
    );
    assert!(
        events
            .iter()
            .any(|e| e.text == "lab-asg: desired capacity 2 → 3")
    );
    // Nothing changed: nothing to say.
    assert!(events::changes(&before, &before).is_empty());

    let older = Event {
        at: before.taken_at,
        ..health.clone()
    };
    let all = [older.clone(), health.clone(), health.clone()];
    let line = events::timeline(&all);
    assert_eq!(line.len(), 2);
    assert_eq!(line[0].at, after.taken_at);
    assert_eq!(line[1], &older);
}

#[test]
fn a_glance_at_one_part_sees_that_parts_changes_only() {
    let before = lab();
    let mut after = before.regions[0].clone();
    after.target_groups[0].targets[0].health = TargetHealthState::Unhealthy;
    let gone = after.target_groups[0].targets.remove(1).id;
    after.instances[0].state = crate::InstanceState::Stopping;
    after.db_instances[0].availability_zone = Some("ap-northeast-2c".into());
    let at = before.taken_at + chrono::Duration::seconds(30);

    let instances = Glance::of(&before.regions[0], Some(crate::Part::Instances));
    let texts =
        |events: Vec<Event>| -> Vec<String> { events.into_iter().map(|e| e.text).collect() };
    let seen = texts(instances.changes(&after, at));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].ends_with("running → stopping"), "{seen:?}");

    let health =
        texts(Glance::of(&before.regions[0], Some(crate::Part::TargetHealth)).changes(&after, at));
    assert_eq!(health.len(), 2, "{health:?}");
    assert!(
        health.contains(&format!("{gone} left lab-web-tg")),
        "{health:?}"
    );

    let databases =
        texts(Glance::of(&before.regions[0], Some(crate::Part::Databases)).changes(&after, at));
    assert_eq!(databases.len(), 1, "{databases:?}");
    assert!(
        databases[0].contains("(primary AZ ap-northeast-2a → ap-northeast-2c)"),
        "{databases:?}"
    );
    assert!(!Glance::watches(crate::Part::Network));
}
