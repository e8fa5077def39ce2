//! Load balancer and target group checks.

use std::collections::BTreeSet;

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::{ListenerAction, LoadBalancer, TargetHealthState};

/// ELB.17's `sslPolicies` (not customizable): the policies Security Hub accepts on an HTTPS
/// (Application) or TLS (Network Load Balancer) listener.
pub const RECOMMENDED_TLS_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
];

/// ELB.1 (every HTTP listener of an Application Load Balancer redirects to HTTPS) and ELB.17
/// (every HTTPS or TLS listener uses a recommended security policy).
fn listeners(lb: &LoadBalancer, code: Option<&str>, out: &mut Vec<Finding>) {
    let resource =
        || ResourceRef::new(ResourceKind::LoadBalancer, &lb.name).with_arn(Some(&lb.arn));
    if lb.lb_type == "application" {
        let plain: Vec<String> = lb
            .listeners
            .iter()
            .filter(|l| l.protocol.as_deref() == Some("HTTP"))
            .filter(|l| {
                !l.default_actions.iter().any(|a| {
                    matches!(a, ListenerAction::Redirect { protocol, .. }
                        if protocol.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("HTTPS")))
                })
            })
            .map(|l| {
                let what = match l.default_actions.first() {
                    Some(ListenerAction::Forward { .. }) => "forwards",
                    Some(ListenerAction::Redirect { .. }) => "redirects, not to HTTPS",
                    Some(ListenerAction::FixedResponse { .. }) => "answers a fixed response",
                    _ => "does not redirect",
                };
                format!("HTTP :{} {what}", l.port.unwrap_or_default())
            })
            .collect();
        if !plain.is_empty() {
            out.push(finding("ELB.1", code, resource(), plain.join("; ")));
        }
    }
    for l in &lb.listeners {
        let encrypted = matches!(l.protocol.as_deref(), Some("HTTPS" | "TLS"));
        let policy = l.ssl_policy.as_deref();
        if encrypted && !policy.is_some_and(|p| RECOMMENDED_TLS_POLICIES.contains(&p)) {
            out.push(finding(
                "ELB.17",
                code,
                ResourceRef::new(ResourceKind::Listener, &l.arn)
                    .named(Some(&format!(
                        "{} {}:{}",
                        lb.name,
                        l.protocol.as_deref().unwrap_or_default(),
                        l.port.unwrap_or_default()
                    )))
                    .with_arn(Some(&l.arn)),
                format!(
                    "{} :{} uses {}",
                    l.protocol.as_deref().unwrap_or_default(),
                    l.port.unwrap_or_default(),
                    policy.unwrap_or("no policy (the API default ELBSecurityPolicy-2016-08)")
                ),
            ));
        }
    }
}

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for lb in &index.region.load_balancers {
        let resource =
            || ResourceRef::new(ResourceKind::LoadBalancer, &lb.name).with_arn(Some(&lb.arn));
        if lb
            .attributes
            .get("deletion_protection.enabled")
            .is_none_or(|v| v != "true")
        {
            out.push(finding(
                "ELB.6",
                code,
                resource(),
                format!(
                    "deletion_protection.enabled={}",
                    lb.attributes
                        .get("deletion_protection.enabled")
                        .map_or("unset", String::as_str)
                ),
            ));
        }
        listeners(lb, code, out);
        let zones: BTreeSet<&str> = lb
            .zones
            .iter()
            .map(|z| z.availability_zone.as_str())
            .collect();
        let health = index.load_balancer_health_by_az(lb);
        // Security Hub's ELB.13 (Config elbv2-multiple-az): the load balancer's own AZ mapping.
        // An AZ without healthy targets is HA-ALB-AZ's.
        if zones.len() < 2 {
            out.push(finding(
                "ELB.13",
                code,
                resource(),
                format!("mapped to {} AZ(s): {}", zones.len(), list(&zones)),
            ));
        }
        if lb.lb_type != "gateway" {
            let without: Vec<String> = zones
                .iter()
                .filter(|az| health.get(**az).is_none_or(|c| c.healthy == 0))
                .map(|az| {
                    let c = health.get(*az).copied().unwrap_or_default();
                    format!("{az} ({}/{} healthy)", c.healthy, c.total)
                })
                .collect();
            if zones.len() < 2 || !without.is_empty() {
                out.push(finding(
                    "HA-ALB-AZ",
                    code,
                    resource(),
                    if zones.len() < 2 {
                        format!("enabled in {} AZ(s): {}", zones.len(), list(&zones))
                    } else {
                        format!("no healthy target in {}", without.join(", "))
                    },
                ));
            }
        }
    }
    for tg in &index.region.target_groups {
        let resource =
            || ResourceRef::new(ResourceKind::TargetGroup, &tg.name).with_arn(Some(&tg.arn));
        let in_use = !index.load_balancers_of(&tg.arn).is_empty();
        let live: Vec<_> = index.live_targets(tg).collect();
        let healthy = live
            .iter()
            .filter(|t| t.health == TargetHealthState::Healthy)
            .count();
        let unhealthy = live
            .iter()
            .filter(|t| t.health == TargetHealthState::Unhealthy)
            .count();
        if in_use && healthy == 0 && unhealthy > 0 {
            out.push(finding(
                "HA-TG-OPEN",
                code,
                resource(),
                format!(
                    "0 of {} target(s) healthy; {unhealthy} unhealthy",
                    live.len()
                ),
            ));
        }
        if tg
            .attributes
            .get("load_balancing.cross_zone.enabled")
            .is_some_and(|v| v == "false")
        {
            let by_az = index.healthy_targets_by_az(tg);
            let spread: Vec<String> = by_az
                .iter()
                .map(|(az, c)| format!("{az}={}", c.total))
                .collect();
            let counts: BTreeSet<usize> = by_az.values().map(|c| c.total).collect();
            let balance = if counts.len() > 1 {
                "unbalanced"
            } else {
                "balanced"
            };
            out.push(finding(
                "HA-TG-XZ",
                code,
                resource(),
                format!(
                    "load_balancing.cross_zone.enabled=false; targets per AZ ({balance}): {}",
                    if spread.is_empty() {
                        "none".to_string()
                    } else {
                        spread.join(", ")
                    }
                ),
            ));
        }
    }
}

fn list(items: &BTreeSet<&str>) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.iter().copied().collect::<Vec<_>>().join(",")
    }
}
