//! Load balancer attributes and AWS WAF (ELB.4, ELB.5, ELB.12, ELB.16) and Classic Load
//! Balancers (legacy; ELB.2, ELB.3, ELB.5, ELB.7, ELB.8, ELB.9, ELB.10, ELB.14).

use std::collections::BTreeMap;

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::{ClassicLoadBalancer, LoadBalancer};

/// ELB.8's `predefinedPolicyName` as Security Hub sets it.
pub const CLASSIC_PREDEFINED_POLICY: &str = "ELBSecurityPolicy-TLS-1-2-2017-01";

/// The desync mitigation mode AWS applies when none is set (ELB.12, ELB.14).
pub const DEFAULT_DESYNC_MODE: &str = "defensive";

const DROP_INVALID_HEADERS: &str = "routing.http.drop_invalid_header_fields.enabled";
const ACCESS_LOGS: &str = "access_logs.s3.enabled";
const DESYNC_MODE: &str = "routing.http.desync_mitigation_mode";

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for lb in &index.region.load_balancers {
        if lb.lb_type == "application" {
            application(lb, code, out);
        }
    }
    for clb in &index.region.classic_load_balancers {
        classic(clb, code, out);
    }
}

fn desync_ok(mode: &str) -> bool {
    mode.eq_ignore_ascii_case("defensive") || mode.eq_ignore_ascii_case("strictest")
}

/// An Application Load Balancer's attributes (judged only once read: DescribeLoadBalancerAttributes
/// always answers every key, so an empty map means the call failed) and its web ACL.
fn application(lb: &LoadBalancer, code: Option<&str>, out: &mut Vec<Finding>) {
    let resource =
        || ResourceRef::new(ResourceKind::LoadBalancer, &lb.name).with_arn(Some(&lb.arn));
    let attrs: &BTreeMap<String, String> = &lb.attributes;
    if !attrs.is_empty() {
        // A key missing from the answer has AWS's default: false for both.
        for (id, key) in [("ELB.4", DROP_INVALID_HEADERS), ("ELB.5", ACCESS_LOGS)] {
            let value = attrs.get(key).map(String::as_str);
            if value != Some("true") {
                out.push(finding(
                    id,
                    code,
                    resource(),
                    format!("{key}={}", value.unwrap_or("unset (default false)")),
                ));
            }
        }
        // Missing: AWS's default mode, defensive, which passes.
        if let Some(mode) = attrs.get(DESYNC_MODE)
            && !desync_ok(mode)
        {
            out.push(finding(
                "ELB.12",
                code,
                resource(),
                format!("{DESYNC_MODE}={mode}"),
            ));
        }
    }
    if let Some(waf) = &lb.waf
        && waf.web_acl_arn.is_none()
    {
        out.push(finding(
            "ELB.16",
            code,
            resource(),
            "no AWS WAF web ACL associated (GetWebACLForResource)".to_string(),
        ));
    }
}

fn classic(clb: &ClassicLoadBalancer, code: Option<&str>, out: &mut Vec<Finding>) {
    let resource = || ResourceRef::new(ResourceKind::ClassicLoadBalancer, &clb.name);
    let listeners: Vec<String> = clb.listeners.iter().map(|l| l.label()).collect();
    out.push(finding(
        "HA-CLB-LEGACY",
        code,
        resource(),
        format!(
            "Classic Load Balancer ({}) with listener(s) {}",
            clb.scheme,
            if listeners.is_empty() {
                "none".to_string()
            } else {
                listeners.join(", ")
            }
        ),
    ));
    // ELB.2: every HTTPS/SSL listener's certificate comes from ACM.
    let not_acm: Vec<String> = clb
        .encrypted_listeners()
        .filter(|l| {
            l.ssl_certificate_id
                .as_deref()
                .is_none_or(|c| c.split(':').nth(2) != Some("acm"))
        })
        .map(|l| {
            format!(
                "{} uses {}",
                l.label(),
                l.ssl_certificate_id.as_deref().unwrap_or("no certificate")
            )
        })
        .collect();
    if !not_acm.is_empty() {
        out.push(finding("ELB.2", code, resource(), not_acm.join("; ")));
    }
    // ELB.3: every front-end listener is HTTPS or SSL (no listener: not applicable).
    let plain: Vec<String> = clb
        .listeners
        .iter()
        .filter(|l| !l.is_encrypted())
        .map(|l| l.label())
        .collect();
    if !plain.is_empty() {
        out.push(finding(
            "ELB.3",
            code,
            resource(),
            format!("unencrypted front end: {}", plain.join(", ")),
        ));
    }
    // ELB.8: each HTTPS/SSL listener's negotiation policy is the predefined strong one.
    if let Some(policies) = &clb.policies {
        let weak: Vec<String> = clb
            .encrypted_listeners()
            .filter_map(|l| {
                let used: Vec<&str> = l
                    .policy_names
                    .iter()
                    .filter_map(|n| policies.iter().find(|p| &p.name == n))
                    .filter(|p| {
                        p.type_name.as_deref() == Some("SSLNegotiationPolicyType")
                            || p.reference_security_policy.is_some()
                    })
                    .map(|p| p.reference_security_policy.as_deref().unwrap_or(&p.name))
                    .collect();
                (!used.contains(&CLASSIC_PREDEFINED_POLICY)).then(|| {
                    format!(
                        "{} uses {}",
                        l.label(),
                        if used.is_empty() {
                            "no predefined security policy".to_string()
                        } else {
                            used.join(",")
                        }
                    )
                })
            })
            .collect();
        if !weak.is_empty() {
            out.push(finding("ELB.8", code, resource(), weak.join("; ")));
        }
    }
    if clb.availability_zones.len() < 2 {
        out.push(finding(
            "ELB.10",
            code,
            resource(),
            format!(
                "enabled in {} AZ(s): {}",
                clb.availability_zones.len(),
                if clb.availability_zones.is_empty() {
                    "none".to_string()
                } else {
                    clb.availability_zones.join(",")
                }
            ),
        ));
    }
    let Some(a) = &clb.attributes else {
        return;
    };
    for (id, on, what) in [
        ("ELB.5", a.access_log, "AccessLog.Enabled=false"),
        (
            "ELB.7",
            a.connection_draining,
            "ConnectionDraining.Enabled=false",
        ),
        (
            "ELB.9",
            a.cross_zone,
            "CrossZoneLoadBalancing.Enabled=false",
        ),
    ] {
        if !on {
            out.push(finding(id, code, resource(), what.to_string()));
        }
    }
    let mode = a
        .desync_mitigation_mode
        .as_deref()
        .unwrap_or(DEFAULT_DESYNC_MODE);
    if !desync_ok(mode) {
        out.push(finding(
            "ELB.14",
            code,
            resource(),
            format!("elb.http.desyncmitigationmode={mode}"),
        ));
    }
}
