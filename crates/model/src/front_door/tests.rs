use super::*;
use crate::topology::{AliasTarget, Dns, HostedZone};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";
const PRIMARY_LB: &str = "lab-alb-1234567890.ap-northeast-2.elb.amazonaws.com";
const DR_LB: &str = "lab-alb-987.us-east-1.elb.amazonaws.com";

/// The lab fixture with a copy of its load balancer and target group in the DR Region.
fn two_regions() -> Topology {
    let text = include_str!("../../../../assets/fixtures/lab-healthy.json");
    let mut t = Topology::from_json(text).expect("fixture");
    let home = t.region(PRIMARY).expect("primary").clone();
    let dr = t.regions.iter_mut().find(|r| r.region == DR).expect("dr");
    let mut lb = home.load_balancers[0].clone();
    lb.arn = lb.arn.replace(PRIMARY, DR);
    lb.dns_name = Some(DR_LB.to_string());
    let mut tg = home.target_groups[0].clone();
    tg.arn = tg.arn.replace(PRIMARY, DR);
    for listener in &mut lb.listeners {
        for action in &mut listener.default_actions {
            if let crate::topology::ListenerAction::Forward { target_groups } = action {
                for weighted in target_groups {
                    weighted.arn = weighted.arn.replace(PRIMARY, DR);
                }
            }
        }
    }
    dr.load_balancers.push(lb);
    dr.target_groups.push(tg);
    t
}

fn alias(target: &str, role: Option<&str>, weight: Option<i64>, check: &str) -> DnsRecord {
    DnsRecord {
        name: "lab.example.com.".into(),
        record_type: "A".into(),
        set_identifier: Some(format!("lab-{check}")),
        failover: role.map(str::to_string),
        weight,
        alias: Some(AliasTarget {
            hosted_zone_id: "ZWKZPGTI48KDX".into(),
            dns_name: format!("dualstack.{}.", target.to_uppercase()),
            evaluate_target_health: true,
        }),
        health_check_id: Some(check.into()),
        ..DnsRecord::default()
    }
}

fn check(id: &str, status: &str) -> DnsHealthCheck {
    DnsHealthCheck {
        id: id.into(),
        check_type: "HTTPS".into(),
        status: Some(status.into()),
        ..DnsHealthCheck::default()
    }
}

fn with_dns(mut t: Topology, records: Vec<DnsRecord>, checks: Vec<DnsHealthCheck>) -> Topology {
    let mut other = records[0].clone();
    other.name = "mail.example.com.".into();
    other.record_type = "MX".into();
    let mut all = records;
    all.push(other);
    t.dns = Some(Dns {
        hosted_zones: vec![HostedZone {
            id: "Z0123".into(),
            name: "example.com.".into(),
            records: all,
            ..HostedZone::default()
        }],
        health_checks: checks,
    });
    t
}

fn failover(primary: &str, secondary: &str) -> Vec<EntryPoint> {
    let t = with_dns(
        two_regions(),
        vec![
            alias(DR_LB, Some("SECONDARY"), None, "dr"),
            alias(PRIMARY_LB, Some("PRIMARY"), None, "home"),
        ],
        vec![check("home", primary), check("dr", secondary)],
    );
    entry_points(&t)
}

fn shares(entry: &EntryPoint) -> Vec<(Option<String>, Option<u8>)> {
    entry
        .legs
        .iter()
        .map(|l| (l.region.clone(), l.share))
        .collect()
}

fn s(region: &str, share: u8) -> (Option<String>, Option<u8>) {
    (Some(region.to_string()), Some(share))
}

#[test]
fn a_healthy_primary_takes_every_answer_and_the_dr_region_waits() {
    let entries = failover("healthy", "healthy");
    assert_eq!(entries.len(), 1, "the MX record is no entry point");
    let entry = &entries[0];
    assert_eq!(entry.routing, Routing::Failover);
    assert_eq!(entry.host(), "lab.example.com");
    assert_eq!(
        shares(entry),
        vec![s(PRIMARY, 100), s(DR, 0)],
        "PRIMARY first, and serving"
    );
    assert_eq!(entry.served_regions(), vec![PRIMARY]);
    assert_eq!(
        entry.summary(&[PRIMARY, DR]),
        "lab.example.com → failover: PRIMARY ap-northeast-2 lab-alb (healthy, serving) / \
         SECONDARY us-east-1 lab-alb (healthy)"
    );
}

#[test]
fn an_unhealthy_primary_sends_users_to_a_healthy_secondary_only() {
    assert_eq!(
        failover("unhealthy", "healthy")[0].served_regions(),
        vec![DR]
    );
    assert_eq!(
        failover("unhealthy", "unhealthy")[0].served_regions(),
        vec![PRIMARY],
        "both unhealthy: Route 53 answers the PRIMARY"
    );
}

#[test]
fn a_load_balancer_without_healthy_targets_fails_an_alias_evaluating_target_health() {
    let mut t = with_dns(
        two_regions(),
        vec![
            alias(PRIMARY_LB, Some("PRIMARY"), None, "home"),
            alias(DR_LB, Some("SECONDARY"), None, "dr"),
        ],
        vec![check("home", "healthy"), check("dr", "healthy")],
    );
    let home = t.regions.iter_mut().find(|r| r.region == PRIMARY).unwrap();
    for target in &mut home.target_groups[0].targets {
        target.health = TargetHealthState::Unhealthy;
    }
    let entry = &entry_points(&t)[0];
    assert_eq!(entry.legs[0].health, LegHealth::Unhealthy);
    assert_eq!(entry.served_regions(), vec![DR]);
}

#[test]
fn a_region_in_view_without_a_record_reads_none_yet() {
    let t = with_dns(
        two_regions(),
        vec![alias(PRIMARY_LB, Some("PRIMARY"), None, "home")],
        vec![check("home", "healthy")],
    );
    assert_eq!(
        entry_points(&t)[0].summary(&[PRIMARY, DR]),
        "lab.example.com → failover: PRIMARY ap-northeast-2 lab-alb (healthy, serving) / \
         SECONDARY us-east-1 (none yet)"
    );
}

#[test]
fn weighted_records_share_the_answers_among_the_healthy_ones() {
    let weighted = |home: i64, dr: i64, dr_status: &str| {
        let t = with_dns(
            two_regions(),
            vec![
                alias(PRIMARY_LB, None, Some(home), "home"),
                alias(DR_LB, None, Some(dr), "dr"),
            ],
            vec![check("home", "healthy"), check("dr", dr_status)],
        );
        shares(&entry_points(&t)[0])
    };
    assert_eq!(weighted(70, 30, "healthy"), vec![s(PRIMARY, 70), s(DR, 30)]);
    assert_eq!(
        weighted(70, 30, "unhealthy"),
        vec![s(PRIMARY, 100), s(DR, 0)]
    );
    assert_eq!(
        weighted(0, 0, "healthy"),
        vec![s(PRIMARY, 50), s(DR, 50)],
        "every weight 0: equal answers"
    );
    let t = with_dns(
        two_regions(),
        vec![
            alias(PRIMARY_LB, None, Some(100), "home"),
            alias(DR_LB, None, Some(0), "dr"),
        ],
        vec![check("home", "unhealthy"), check("dr", "healthy")],
    );
    assert_eq!(
        entry_points(&t)[0].served_regions(),
        vec![DR],
        "a healthy weight-0 record answers when every weighted one is unhealthy"
    );
}

#[test]
fn inverted_and_disabled_health_checks_read_as_route_53_reads_them() {
    let mut inverted = check("home", "unhealthy");
    inverted.inverted = true;
    let mut disabled = check("dr", "unhealthy");
    disabled.disabled = true;
    let t = with_dns(
        two_regions(),
        vec![
            alias(PRIMARY_LB, Some("PRIMARY"), None, "home"),
            alias(DR_LB, Some("SECONDARY"), None, "dr"),
        ],
        vec![inverted, disabled],
    );
    let entry = &entry_points(&t)[0];
    assert_eq!(entry.legs[0].health, LegHealth::Healthy);
    assert_eq!(entry.legs[1].health, LegHealth::Healthy);
}

#[test]
fn a_record_pointing_at_a_lost_load_balancer_is_a_leg_without_a_region() {
    let mut t = with_dns(
        two_regions(),
        vec![
            alias(PRIMARY_LB, Some("PRIMARY"), None, "home"),
            alias(DR_LB, Some("SECONDARY"), None, "dr"),
        ],
        vec![check("home", "unhealthy"), check("dr", "healthy")],
    );
    t.regions.retain(|r| r.region != PRIMARY);
    let entry = &entry_points(&t)[0];
    assert_eq!(entry.legs[0].region, None);
    assert_eq!(entry.served_regions(), vec![DR]);
    assert!(
        entry.summary(&[DR]).starts_with(&format!(
            "lab.example.com → failover: PRIMARY {PRIMARY_LB} (unhealthy)"
        )),
        "{}",
        entry.summary(&[DR])
    );
}
