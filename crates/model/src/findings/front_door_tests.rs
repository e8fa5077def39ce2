//! A passing and a failing fixture for every front-door check: ELB.1, ELB.17, ACM.1,
//! SEC-CERT-UNUSED, DR-DNS, DR-DNS-HC and DR-DNS-TTL.

use chrono::Duration;

use super::*;
use crate::topology::{
    AliasTarget, Certificate, Dns, DnsHealthCheck, DnsRecord, HostedZone, Listener, ListenerAction,
    RegionTopology,
};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";
const PRIMARY_LB: &str = "lab-alb-1234567890.ap-northeast-2.elb.amazonaws.com";
const DR_LB: &str = "lab-alb-987.us-east-1.elb.amazonaws.com";
const RECORD: &str = "Z0123/lab.example.com.";

fn healthy() -> Topology {
    Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("fixture")
}

fn region<'a>(t: &'a mut Topology, code: &str) -> &'a mut RegionTopology {
    t.regions.iter_mut().find(|r| r.region == code).expect(code)
}

fn run(t: &Topology) -> Vec<Finding> {
    let policy = Policy {
        dr_regions: vec![DR.to_string()],
        ..Policy::default()
    };
    assess(t, &policy)
}

fn ids_on<'a>(findings: &'a [Finding], resource: &str) -> Vec<&'a str> {
    findings
        .iter()
        .filter(|f| f.resource.id == resource)
        .map(|f| f.id.as_ref())
        .collect()
}

fn has(findings: &[Finding], id: &str, resource: &str) -> bool {
    ids_on(findings, resource).contains(&id)
}

/// The lab as `[https]` builds it: 443 forwards with a recommended policy, 80 redirects.
fn https(t: &mut Topology, policy: &str) {
    let lb = &mut region(t, PRIMARY).load_balancers[0];
    let forward = lb.listeners[0].default_actions.clone();
    lb.listeners[0].default_actions = vec![ListenerAction::Redirect {
        protocol: Some("HTTPS".into()),
        port: Some("443".into()),
        status_code: Some("HTTP_301".into()),
    }];
    lb.listeners.push(Listener {
        arn: format!("{}-443", lb.listeners[0].arn),
        port: Some(443),
        protocol: Some("HTTPS".into()),
        default_actions: forward,
        certificates: vec!["arn:aws:acm:ap-northeast-2:123456789012:certificate/c1".into()],
        ssl_policy: Some(policy.into()),
    });
}

#[test]
fn elb_1_fails_an_http_listener_that_forwards_and_passes_the_redirect() {
    let mut t = healthy();
    let findings = run(&t);
    let elb1 = findings.iter().find(|f| f.id == "ELB.1").expect("ELB.1");
    assert_eq!(elb1.resource.id, "lab-alb");
    assert_eq!(elb1.evidence, "HTTP :80 forwards");
    https(&mut t, "ELBSecurityPolicy-TLS13-1-2-Res-2021-06");
    let findings = run(&t);
    assert!(!findings.iter().any(|f| f.id == "ELB.1" || f.id == "ELB.17"));
}

#[test]
fn elb_17_takes_only_the_policies_security_hub_lists() {
    for (policy, fails) in [
        ("ELBSecurityPolicy-2016-08", true),
        // AWS's console default, not in ELB.17's list: it keeps CBC ciphers for TLS 1.2.
        ("ELBSecurityPolicy-TLS13-1-2-2021-06", true),
        ("ELBSecurityPolicy-TLS13-1-2-Res-2021-06", false),
        ("ELBSecurityPolicy-TLS13-1-3-2021-06", false),
    ] {
        let mut t = healthy();
        https(&mut t, policy);
        let findings = run(&t);
        let elb17: Vec<&Finding> = findings.iter().filter(|f| f.id == "ELB.17").collect();
        assert_eq!(!elb17.is_empty(), fails, "{policy}");
        if fails {
            assert_eq!(elb17[0].resource.kind, ResourceKind::Listener);
            assert!(elb17[0].evidence.contains(policy), "{}", elb17[0].evidence);
        }
    }
}

fn certificate(days: i64, in_use: bool, t: &Topology) -> Certificate {
    Certificate {
        arn: "arn:aws:acm:ap-northeast-2:123456789012:certificate/c1".into(),
        domain_name: "lab.example.com".into(),
        status: "ISSUED".into(),
        certificate_type: Some("AMAZON_ISSUED".into()),
        not_after: Some(t.taken_at + Duration::days(days)),
        in_use_by: if in_use {
            vec![region_lb_arn(t)]
        } else {
            Vec::new()
        },
        ..Certificate::default()
    }
}

fn region_lb_arn(t: &Topology) -> String {
    t.region(PRIMARY).expect("primary").load_balancers[0]
        .arn
        .clone()
}

#[test]
fn acm_1_fails_a_certificate_within_30_days_of_expiry() {
    let arn = "arn:aws:acm:ap-northeast-2:123456789012:certificate/c1";
    for (days, fails) in [(400, false), (31, false), (30, true), (3, true)] {
        let mut t = healthy();
        let cert = certificate(days, true, &t);
        region(&mut t, PRIMARY).certificates.push(cert);
        let findings = run(&t);
        assert_eq!(has(&findings, "ACM.1", arn), fails, "{days} days");
        assert!(!has(&findings, "SEC-CERT-UNUSED", arn));
    }
}

#[test]
fn an_issued_certificate_in_use_by_nothing_is_unused() {
    let arn = "arn:aws:acm:ap-northeast-2:123456789012:certificate/c1";
    let mut t = healthy();
    let cert = certificate(300, false, &t);
    region(&mut t, PRIMARY).certificates.push(cert);
    assert!(has(&run(&t), "SEC-CERT-UNUSED", arn));
    let mut imported = certificate(300, false, &t);
    imported.certificate_type = Some("IMPORTED".into());
    region(&mut t, PRIMARY).certificates = vec![imported];
    assert!(
        !has(&run(&t), "SEC-CERT-UNUSED", arn),
        "ACM never renews imported certificates, in use or not"
    );
}

fn alias(target: &str, role: &str, check: Option<&str>, evaluate: bool) -> DnsRecord {
    DnsRecord {
        name: "lab.example.com.".into(),
        record_type: "A".into(),
        set_identifier: Some(format!("lab-{role}")),
        failover: Some(role.into()),
        alias: Some(AliasTarget {
            hosted_zone_id: "ZWKZPGTI48KDX".into(),
            dns_name: format!("{target}."),
            evaluate_target_health: evaluate,
        }),
        health_check_id: check.map(str::to_string),
        ..DnsRecord::default()
    }
}

fn check(id: &str) -> DnsHealthCheck {
    DnsHealthCheck {
        id: id.into(),
        check_type: "HTTPS".into(),
        request_interval: Some(30),
        failure_threshold: Some(3),
        status: Some("healthy".into()),
        ..DnsHealthCheck::default()
    }
}

/// The lab with its load balancer copied to the DR Region (a failed-over or warm stack).
fn with_dr_balancer(mut t: Topology) -> Topology {
    let mut lb = t.region(PRIMARY).expect("primary").load_balancers[0].clone();
    lb.arn = lb.arn.replace(PRIMARY, DR);
    lb.dns_name = Some(DR_LB.into());
    region(&mut t, DR).load_balancers.push(lb);
    t
}

fn with_records(mut t: Topology, records: Vec<DnsRecord>) -> Topology {
    t.dns = Some(Dns {
        hosted_zones: vec![HostedZone {
            id: "Z0123".into(),
            name: "example.com.".into(),
            records,
            ..HostedZone::default()
        }],
        health_checks: vec![check("home"), check("dr")],
    });
    t
}

#[test]
fn dr_dns_fails_when_the_dr_regions_load_balancer_has_no_record() {
    let only_primary = with_records(
        with_dr_balancer(healthy()),
        vec![alias(PRIMARY_LB, "PRIMARY", Some("home"), true)],
    );
    let findings = run(&only_primary);
    let f = findings.iter().find(|f| f.id == "DR-DNS").expect("DR-DNS");
    assert_eq!(f.resource.id, RECORD);
    assert!(
        f.evidence.contains("us-east-1 runs lab-alb"),
        "{}",
        f.evidence
    );
    let both = with_records(
        with_dr_balancer(healthy()),
        vec![
            alias(PRIMARY_LB, "PRIMARY", Some("home"), true),
            alias(DR_LB, "SECONDARY", Some("dr"), true),
        ],
    );
    assert!(!has(&run(&both), "DR-DNS", RECORD));
    let pilot_light = with_records(
        healthy(),
        vec![alias(PRIMARY_LB, "PRIMARY", Some("home"), true)],
    );
    assert!(
        !has(&run(&pilot_light), "DR-DNS", RECORD),
        "no load balancer in the DR Region yet: failover-region adds its record"
    );
}

#[test]
fn dr_dns_hc_fails_a_primary_nothing_checks() {
    let unchecked = with_records(
        with_dr_balancer(healthy()),
        vec![
            alias(PRIMARY_LB, "PRIMARY", None, false),
            alias(DR_LB, "SECONDARY", None, false),
        ],
    );
    let findings = run(&unchecked);
    let hc: Vec<&Finding> = findings.iter().filter(|f| f.id == "DR-DNS-HC").collect();
    assert_eq!(hc.len(), 1, "the SECONDARY needs none: {hc:?}");
    assert!(hc[0].evidence.contains("PRIMARY record lab-PRIMARY"));
    for record in [
        alias(PRIMARY_LB, "PRIMARY", Some("home"), false),
        alias(PRIMARY_LB, "PRIMARY", None, true),
    ] {
        let t = with_records(with_dr_balancer(healthy()), vec![record]);
        assert!(!has(&run(&t), "DR-DNS-HC", RECORD));
    }
}

#[test]
fn dr_dns_ttl_fails_a_cname_cached_longer_than_a_minute() {
    let cname = |ttl: i64| DnsRecord {
        name: "lab.example.com.".into(),
        record_type: "CNAME".into(),
        set_identifier: Some("lab-primary".into()),
        failover: Some("PRIMARY".into()),
        ttl: Some(ttl),
        values: vec![PRIMARY_LB.into()],
        health_check_id: Some("home".into()),
        ..DnsRecord::default()
    };
    let long = with_records(healthy(), vec![cname(300)]);
    let findings = run(&long);
    let f = findings
        .iter()
        .find(|f| f.id == "DR-DNS-TTL")
        .expect("DR-DNS-TTL");
    assert!(
        f.evidence.contains("up to 390 s"),
        "90 s to notice + 300 s cached: {}",
        f.evidence
    );
    assert!(!has(
        &run(&with_records(healthy(), vec![cname(60)])),
        "DR-DNS-TTL",
        RECORD
    ));
    assert!(
        !has(
            &run(&with_records(
                healthy(),
                vec![alias(PRIMARY_LB, "PRIMARY", Some("home"), true)]
            )),
            "DR-DNS-TTL",
            RECORD
        ),
        "an alias takes the load balancer's 60 s"
    );
}
