//! Auto Scaling group checks.

use std::collections::BTreeSet;

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, Severity, finding};

/// A grace period longer than this "reduces the effectiveness" of health checks.
const EXCESSIVE_GRACE_SECONDS: i32 = 3600;

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let code = Some(index.code());
    for asg in &index.region.auto_scaling_groups {
        if asg
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("Delete"))
        {
            continue;
        }
        let resource = || {
            ResourceRef::new(ResourceKind::AutoScalingGroup, &asg.name).with_arn(asg.arn.as_deref())
        };
        let behind_lb = !asg.target_group_arns.is_empty() || !asg.load_balancer_names.is_empty();
        let elb_checks = asg.health_check_type.eq_ignore_ascii_case("ELB");
        if behind_lb && !elb_checks {
            out.push(finding(
                "AutoScaling.1",
                code,
                resource(),
                format!(
                    "health_check_type={} with {} target group(s)",
                    asg.health_check_type,
                    asg.target_group_arns.len() + asg.load_balancer_names.len()
                ),
            ));
        }
        let azs: BTreeSet<&str> = asg.availability_zones.iter().map(String::as_str).collect();
        if azs.len() < 2 {
            out.push(finding(
                "AutoScaling.2",
                code,
                resource(),
                format!("availability_zones={}", join(azs.iter().copied())),
            ));
        }
        let version = asg
            .launch_template
            .as_ref()
            .and_then(|r| index.launch_template_version(r));
        let public_subnets: Vec<&str> = asg
            .subnet_ids
            .iter()
            .filter(|s| index.subnet(s).is_some_and(|s| s.map_public_ip_on_launch))
            .map(String::as_str)
            .collect();
        match version.and_then(|(_, v)| v.associate_public_ip) {
            Some(true) => out.push(finding(
                "SEC-ASG-PUBLIC-IP",
                code,
                resource(),
                "launch template assigns a public IP (associate_public_ip=true)".to_string(),
            )),
            None if !public_subnets.is_empty() => out.push(finding(
                "SEC-ASG-PUBLIC-IP",
                code,
                resource(),
                format!(
                    "launches into subnet(s) with map_public_ip_on_launch=true: {}",
                    public_subnets.join(",")
                ),
            )),
            _ => {}
        }
        if asg.launch_template.is_none() || asg.launch_configuration.is_some() {
            out.push(finding(
                "AutoScaling.9",
                code,
                resource(),
                match &asg.launch_configuration {
                    Some(lc) => format!("launch_configuration={lc}"),
                    None => "no launch template".to_string(),
                },
            ));
        }
        let lbs = index.load_balancers_of_asg(asg);
        if !lbs.is_empty() {
            let lb_azs: BTreeSet<&str> = lbs
                .iter()
                .flat_map(|lb| lb.zones.iter().map(|z| z.availability_zone.as_str()))
                .collect();
            let outside: Vec<&str> = azs.difference(&lb_azs).copied().collect();
            if !outside.is_empty() {
                out.push(finding(
                    "HA-ASG-ALB-AZ",
                    code,
                    resource(),
                    format!(
                        "group AZs {}; load balancer AZs {}; not served: {}",
                        join(azs.iter().copied()),
                        join(lb_azs.iter().copied()),
                        outside.join(",")
                    ),
                ));
            }
        }
        if elb_checks {
            match asg.health_check_grace_period {
                None | Some(0) => out.push(finding(
                    "HA-ASG-GRACE",
                    code,
                    resource(),
                    format!(
                        "health_check_type=ELB, health_check_grace_period={}",
                        asg.health_check_grace_period.unwrap_or(0)
                    ),
                )),
                Some(grace) if grace > EXCESSIVE_GRACE_SECONDS => {
                    let mut f = finding(
                        "HA-ASG-GRACE",
                        code,
                        resource(),
                        format!(
                            "health_check_grace_period={grace} s (over {EXCESSIVE_GRACE_SECONDS} s)"
                        ),
                    );
                    f.severity = Severity::Low;
                    out.push(f);
                }
                Some(_) => {}
            }
        }
        if azs.len() >= 2 && usize::try_from(asg.min_size).unwrap_or(0) < azs.len() {
            out.push(finding(
                "HA-ASG-CAP",
                code,
                resource(),
                format!("min_size={} across {} AZs", asg.min_size, azs.len()),
            ));
        }
        if let Some(r) = &asg.launch_template
            && let Some(v) = r.version.as_deref()
            && (v == "$Latest" || v == "$Default")
        {
            out.push(finding(
                "HA-IR-LATEST",
                code,
                resource(),
                format!(
                    "launch template {} version {v}",
                    r.name.as_deref().or(r.id.as_deref()).unwrap_or("?")
                ),
            ));
        }
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(",")
    }
}
