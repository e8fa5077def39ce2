//! ALB attributes, AWS WAF and Classic Load Balancers: each control passes on the lab (or on
//! the lab given a compliant Classic Load Balancer) and fails once mutated.

use super::test_fixtures::{healthy, primary};
use super::*;
use crate::topology::{
    ClassicAttributes, ClassicListener, ClassicLoadBalancer, ClassicPolicy, WafAssociation,
};

const CLB: &str = "legacy-web";

fn ids_on(t: &Topology, resource: &str) -> Vec<String> {
    assess(t, &Policy::default())
        .into_iter()
        .filter(|f| f.resource.id == resource)
        .map(|f| f.id.into_owned())
        .collect()
}

fn finding_on(t: &Topology, id: &str, resource: &str) -> Option<Finding> {
    assess(t, &Policy::default())
        .into_iter()
        .find(|f| f.id == id && f.resource.id == resource)
}

/// The lab's ALB, mutated.
fn alb_after(mutate: impl FnOnce(&mut crate::topology::LoadBalancer)) -> Topology {
    let mut t = healthy();
    mutate(&mut primary(&mut t).load_balancers[0]);
    t
}

#[test]
fn elb_4_passes_when_invalid_headers_are_dropped_and_fails_when_not_or_unset() {
    assert!(finding_on(&healthy(), "ELB.4", "lab-alb").is_none());
    let t = alb_after(|lb| {
        lb.attributes.insert(
            "routing.http.drop_invalid_header_fields.enabled".into(),
            "false".into(),
        );
    });
    let f = finding_on(&t, "ELB.4", "lab-alb").expect("ELB.4");
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.evidence.contains("=false"), "{}", f.evidence);
    // An answer without the key (moto's) means AWS's default, false.
    let t = alb_after(|lb| {
        lb.attributes
            .remove("routing.http.drop_invalid_header_fields.enabled");
    });
    assert!(finding_on(&t, "ELB.4", "lab-alb").is_some());
}

#[test]
fn alb_attributes_not_read_are_not_judged() {
    let t = alb_after(|lb| lb.attributes.clear());
    let ids = ids_on(&t, "lab-alb");
    for id in ["ELB.4", "ELB.5", "ELB.12"] {
        assert!(!ids.contains(&id.to_string()), "{id} judged without data");
    }
}

#[test]
fn elb_5_fails_on_the_lab_alb_without_access_logs_and_passes_with_them() {
    let f = finding_on(&healthy(), "ELB.5", "lab-alb").expect("the lab has no access logs");
    assert!(f.evidence.contains("access_logs.s3.enabled=false"));
    let t = alb_after(|lb| {
        lb.attributes
            .insert("access_logs.s3.enabled".into(), "true".into());
    });
    assert!(finding_on(&t, "ELB.5", "lab-alb").is_none());
}

#[test]
fn elb_12_accepts_defensive_strictest_and_aws_default_but_not_monitor() {
    assert!(finding_on(&healthy(), "ELB.12", "lab-alb").is_none());
    for mode in ["strictest", "defensive"] {
        let t = alb_after(|lb| {
            lb.attributes
                .insert("routing.http.desync_mitigation_mode".into(), mode.into());
        });
        assert!(finding_on(&t, "ELB.12", "lab-alb").is_none(), "{mode}");
    }
    let t = alb_after(|lb| {
        lb.attributes.remove("routing.http.desync_mitigation_mode");
    });
    assert!(
        finding_on(&t, "ELB.12", "lab-alb").is_none(),
        "unset = defensive"
    );
    let t = alb_after(|lb| {
        lb.attributes.insert(
            "routing.http.desync_mitigation_mode".into(),
            "monitor".into(),
        );
    });
    let f = finding_on(&t, "ELB.12", "lab-alb").expect("monitor fails");
    assert!(f.evidence.contains("monitor"));
}

#[test]
fn elb_16_fails_without_a_web_acl_passes_with_one_and_is_silent_when_unread() {
    assert!(finding_on(&healthy(), "ELB.16", "lab-alb").is_some());
    let t = alb_after(|lb| {
        lb.waf = Some(WafAssociation {
            web_acl_arn: Some(
                "arn:aws:wafv2:ap-northeast-2:123456789012:regional/webacl/lab/1".into(),
            ),
            web_acl_name: Some("lab".into()),
        });
    });
    assert!(finding_on(&t, "ELB.16", "lab-alb").is_none());
    let t = alb_after(|lb| lb.waf = None);
    assert!(finding_on(&t, "ELB.16", "lab-alb").is_none());
}

#[test]
fn alb_controls_do_not_judge_network_load_balancers() {
    let t = alb_after(|lb| {
        lb.lb_type = "network".into();
        lb.attributes.clear();
        lb.attributes
            .insert("deletion_protection.enabled".into(), "true".into());
    });
    let ids = ids_on(&t, "lab-alb");
    for id in ["ELB.4", "ELB.5", "ELB.12", "ELB.16"] {
        assert!(!ids.contains(&id.to_string()), "{id} on an NLB");
    }
}

/// A Classic Load Balancer that meets every Classic control.
fn compliant_classic() -> ClassicLoadBalancer {
    ClassicLoadBalancer {
        name: CLB.into(),
        dns_name: Some("legacy-web-1.ap-northeast-2.elb.amazonaws.com".into()),
        scheme: "internet-facing".into(),
        vpc_id: None,
        availability_zones: vec!["ap-northeast-2a".into(), "ap-northeast-2c".into()],
        subnet_ids: Vec::new(),
        security_group_ids: Vec::new(),
        listeners: vec![ClassicListener {
            protocol: "HTTPS".into(),
            port: 443,
            instance_protocol: Some("HTTP".into()),
            instance_port: 80,
            ssl_certificate_id: Some(
                "arn:aws:acm:ap-northeast-2:123456789012:certificate/abc".into(),
            ),
            policy_names: vec!["tls12".into()],
        }],
        instance_ids: Vec::new(),
        attributes: Some(ClassicAttributes {
            cross_zone: true,
            access_log: true,
            connection_draining: true,
            desync_mitigation_mode: None,
        }),
        policies: Some(vec![ClassicPolicy {
            name: "tls12".into(),
            type_name: Some("SSLNegotiationPolicyType".into()),
            reference_security_policy: Some("ELBSecurityPolicy-TLS-1-2-2017-01".into()),
        }]),
        created_at: None,
    }
}

fn with_classic(mutate: impl FnOnce(&mut ClassicLoadBalancer)) -> Topology {
    let mut t = healthy();
    let mut clb = compliant_classic();
    mutate(&mut clb);
    primary(&mut t).classic_load_balancers.push(clb);
    t
}

#[test]
fn a_compliant_classic_load_balancer_is_only_named_legacy() {
    let t = with_classic(|_| {});
    assert_eq!(ids_on(&t, CLB), vec!["HA-CLB-LEGACY".to_string()]);
    let f = finding_on(&t, "HA-CLB-LEGACY", CLB).expect("legacy");
    assert_eq!(f.resource.kind, ResourceKind::ClassicLoadBalancer);
    assert!(f.fix.contains("Migrate"), "{}", f.fix);
}

#[test]
fn elb_2_fails_on_an_iam_server_certificate() {
    let t = with_classic(|c| {
        c.listeners[0].ssl_certificate_id =
            Some("arn:aws:iam::123456789012:server-certificate/old".into());
    });
    let f = finding_on(&t, "ELB.2", CLB).expect("ELB.2");
    assert!(f.evidence.contains("server-certificate"));
}

#[test]
fn elb_3_fails_on_an_http_front_end() {
    let t = with_classic(|c| {
        c.listeners.push(ClassicListener {
            protocol: "HTTP".into(),
            port: 80,
            instance_protocol: Some("HTTP".into()),
            instance_port: 80,
            ssl_certificate_id: None,
            policy_names: Vec::new(),
        });
    });
    let f = finding_on(&t, "ELB.3", CLB).expect("ELB.3");
    assert!(f.evidence.contains("HTTP:80"));
}

#[test]
fn elb_8_fails_on_another_negotiation_policy_and_is_silent_when_unread() {
    let t = with_classic(|c| {
        c.policies.as_mut().expect("policies")[0].reference_security_policy =
            Some("ELBSecurityPolicy-2016-08".into());
    });
    let f = finding_on(&t, "ELB.8", CLB).expect("ELB.8");
    assert!(f.evidence.contains("ELBSecurityPolicy-2016-08"));
    let t = with_classic(|c| {
        c.policies = None;
        c.listeners[0].policy_names.clear();
    });
    assert!(finding_on(&t, "ELB.8", CLB).is_none());
}

#[test]
fn classic_attributes_fail_elb_5_7_9_and_14() {
    let t = with_classic(|c| {
        c.attributes = Some(ClassicAttributes {
            cross_zone: false,
            access_log: false,
            connection_draining: false,
            desync_mitigation_mode: Some("monitor".into()),
        });
    });
    let ids = ids_on(&t, CLB);
    for id in ["ELB.5", "ELB.7", "ELB.9", "ELB.14"] {
        assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
    }
    assert_eq!(
        finding_on(&t, "ELB.7", CLB).expect("ELB.7").severity,
        Severity::Low
    );
    // Attributes that could not be read are not judged.
    let t = with_classic(|c| c.attributes = None);
    assert_eq!(ids_on(&t, CLB), vec!["HA-CLB-LEGACY".to_string()]);
}

#[test]
fn elb_10_fails_in_one_az() {
    let t = with_classic(|c| c.availability_zones.truncate(1));
    let f = finding_on(&t, "ELB.10", CLB).expect("ELB.10");
    assert!(f.evidence.contains("1 AZ"));
}
