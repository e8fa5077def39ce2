//! The front door on the map and in `:dns` / `:certs`: the lab with `[dns]` and `[https]` as
//! `haven up` builds them (PRIMARY record in ap-northeast-2, nothing yet in us-east-1), and the
//! same stack after `haven failover-region` (us-east-1's record PRIMARY and serving, the lost
//! Region's health check failing).

use haven_model::{
    AliasTarget, Certificate, Dns, DnsHealthCheck, DnsRecord, HostedZone, Listener, ListenerAction,
};

use super::*;

const HOME: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

fn record(target: &str, region: &str, role: &str) -> DnsRecord {
    DnsRecord {
        name: "lab.example.com.".into(),
        record_type: "A".into(),
        set_identifier: Some(format!("lab-{region}")),
        failover: Some(role.into()),
        alias: Some(AliasTarget {
            hosted_zone_id: "ZWKZPGTI48KDX".into(),
            dns_name: format!("dualstack.{target}."),
            evaluate_target_health: true,
        }),
        health_check_id: Some(format!("hc-{region}")),
        ..DnsRecord::default()
    }
}

fn check(region: &str, status: &str, report: &str) -> DnsHealthCheck {
    DnsHealthCheck {
        id: format!("hc-{region}"),
        check_type: "HTTPS".into(),
        port: Some(443),
        resource_path: Some("/health".into()),
        status: Some(status.into()),
        last_report: Some(report.into()),
        ..DnsHealthCheck::default()
    }
}

/// The lab with its front door: HTTPS listener with an issued certificate, 80 → 301, the
/// PRIMARY record and its health check.
fn with_front_door() -> Topology {
    let mut t = fixture("lab-healthy.json");
    let taken = t.taken_at;
    let home = t.regions.iter_mut().find(|r| r.region == HOME).unwrap();
    let lb = &mut home.load_balancers[0];
    let cert = format!("arn:aws:acm:{HOME}:123456789012:certificate/0f1e2d3c");
    let forward = lb.listeners[0].default_actions.clone();
    lb.listeners[0].default_actions = vec![ListenerAction::Redirect {
        protocol: Some("HTTPS".into()),
        port: Some("443".into()),
        status_code: Some("HTTP_301".into()),
    }];
    lb.listeners.push(Listener {
        arn: format!("{}-https", lb.listeners[0].arn),
        port: Some(443),
        protocol: Some("HTTPS".into()),
        default_actions: forward,
        certificates: vec![cert.clone()],
        ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06".into()),
    });
    let lb_arn = lb.arn.clone();
    let lb_dns = lb.dns_name.clone().unwrap();
    home.certificates.push(Certificate {
        arn: cert,
        domain_name: "lab.example.com".into(),
        subject_alternative_names: vec!["lab.example.com".into()],
        status: "ISSUED".into(),
        certificate_type: Some("AMAZON_ISSUED".into()),
        not_after: Some(taken + chrono::Duration::days(395)),
        in_use_by: vec![lb_arn],
        ..Certificate::default()
    });
    t.dns = Some(Dns {
        hosted_zones: vec![HostedZone {
            id: "Z0EXAMPLE".into(),
            name: "example.com.".into(),
            records: vec![record(&lb_dns, HOME, "PRIMARY")],
            ..HostedZone::default()
        }],
        health_checks: vec![check(HOME, "healthy", "Success: HTTP Status Code: 200, OK")],
    });
    t
}

/// After `haven failover-region`: the stack's load balancer runs in us-east-1, whose record is
/// PRIMARY; the lost Region's record is SECONDARY and its health check fails.
fn failed_over() -> Topology {
    let mut t = with_front_door();
    let home = t.region(HOME).unwrap().clone();
    let dr = t.regions.iter_mut().find(|r| r.region == DR).unwrap();
    let mut lb = home.load_balancers[0].clone();
    lb.arn = lb.arn.replace(HOME, DR);
    let dr_dns = "lab-alb-5550001.us-east-1.elb.amazonaws.com".to_string();
    lb.dns_name = Some(dr_dns.clone());
    lb.listeners.truncate(1);
    lb.listeners[0].arn = lb.listeners[0].arn.replace(HOME, DR);
    lb.listeners[0].default_actions = home.load_balancers[0].listeners[1]
        .default_actions
        .iter()
        .map(|a| match a {
            ListenerAction::Forward { target_groups } => ListenerAction::Forward {
                target_groups: target_groups
                    .iter()
                    .map(|tg| haven_model::WeightedTargetGroup {
                        arn: tg.arn.replace(HOME, DR),
                        weight: tg.weight,
                    })
                    .collect(),
            },
            other => other.clone(),
        })
        .collect();
    let mut tg = home.target_groups[0].clone();
    tg.arn = tg.arn.replace(HOME, DR);
    dr.load_balancers.push(lb);
    dr.target_groups.push(tg);
    let dns = t.dns.as_mut().unwrap();
    let home_dns = home.load_balancers[0].dns_name.clone().unwrap();
    dns.hosted_zones[0].records = vec![
        record(&home_dns, HOME, "SECONDARY"),
        record(&dr_dns, DR, "PRIMARY"),
    ];
    dns.health_checks = vec![
        check(HOME, "unhealthy", "Failure: Connection timed out"),
        check(DR, "healthy", "Success: HTTP Status Code: 200, OK"),
    ];
    t
}

#[test]
fn map_starts_with_the_front_door_of_the_healthy_lab_160x48() {
    let state = state_for(&with_front_door(), 160, 48);
    let text = screen(&state);
    for line in [
        "⇢ lab.example.com  failover",
        "▸ PRIMARY ap-northeast-2 lab-alb (healthy, serving)",
        "SECONDARY us-east-1 (none yet)",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(text.contains("HTTP:80 → 301 HTTPS:443"), "{text}");
    let tls = text
        .lines()
        .find(|l| l.contains("HTTPS:443 lab."))
        .unwrap_or_else(|| panic!("no HTTPS listener line:\n{text}"));
    assert!(
        tls.contains("(ISSUED, expires 2027-") && tls.contains("· TLS13-1-2-Res-2021-06"),
        "{tls}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn map_after_a_failover_shows_the_users_in_the_dr_region_160x48() {
    let state = state_for(&failed_over(), 160, 48);
    let text = screen(&state);
    for line in [
        "⇢ lab.example.com  failover",
        "▸ PRIMARY us-east-1 lab-alb (healthy, serving)",
        "SECONDARY ap-northeast-2 lab-alb (unhealthy)",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(!text.contains("(none yet)"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn dns_list_shows_each_record_its_health_and_its_share_of_the_answers() {
    let mut state = state_for(&failed_over(), 160, 48);
    press(&mut state, ":dns\n");
    let text = screen(&state);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` row:\n{text}"))
            .to_string()
    };
    let dr = line("us-east-1 lab-alb");
    assert!(
        dr.contains("PRIMARY") && dr.contains("healthy") && dr.contains("100 %"),
        "{dr}"
    );
    let home = line("ap-northeast-2 lab-alb");
    assert!(
        home.contains("SECONDARY") && home.contains("unhealthy") && home.contains("0 %"),
        "{home}"
    );
    assert!(home.contains("Failure: Connection timed out"), "{home}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_action_menu_of_a_record_offers_to_move_its_users() {
    let mut state = state_for(&failed_over(), 160, 48);
    press(&mut state, ":dns\na");
    let text = screen(&state);
    assert!(text.contains("ap-northeast-2"), "{text}");
    assert!(
        text.to_lowercase().contains("move"),
        "the menu offers to move the users:\n{text}"
    );
}

#[test]
fn certs_list_shows_the_expiry_and_what_uses_the_certificate() {
    let mut state = state_for(&with_front_door(), 160, 48);
    press(&mut state, ":certs\n");
    let text = screen(&state);
    let row = text
        .lines()
        .find(|l| l.contains("lab.example.com"))
        .unwrap_or_else(|| panic!("no certificate row:\n{text}"));
    assert!(row.contains("ISSUED") && row.contains("(394 d)"), "{row}");
    assert!(row.contains("lab-alb"), "{row}");
}
