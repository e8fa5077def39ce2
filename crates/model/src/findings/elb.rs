//! Load balancer and target group checks.

use std::collections::BTreeSet;

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::TargetHealthState;

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
        let zones: BTreeSet<&str> = lb
            .zones
            .iter()
            .map(|z| z.availability_zone.as_str())
            .collect();
        let health = index.load_balancer_health_by_az(lb);
        let target_azs: BTreeSet<&str> = health
            .iter()
            .filter(|(az, c)| c.total > 0 && az.as_str() != "unknown")
            .map(|(az, _)| az.as_str())
            .collect();
        let has_targets = health.values().any(|c| c.total > 0);
        if zones.len() < 2 || (has_targets && target_azs.len() < 2) {
            out.push(finding(
                "ELB.13",
                code,
                resource(),
                format!(
                    "enabled AZs: {}; AZs with registered targets: {}",
                    list(&zones),
                    list(&target_azs)
                ),
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
