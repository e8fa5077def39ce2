//! What an alarm or an event points at: a short name for the resource, and the list (and the
//! filter text) that shows it, for Enter to open.

use haven_model::findings::ResourceRef;

use super::insight;
use super::rows::ListKind;

/// The name in an ARN: `lab-alb` of a load balancer's (`…:loadbalancer/app/lab-alb/50dc…`),
/// `lab-tg` of a target group's (`…:targetgroup/lab-tg/73e2…`), else what follows the last `:`
/// or `/`.
pub fn arn_name(arn: &str) -> &str {
    let tail = arn.rsplit(':').next().unwrap_or(arn);
    let parts: Vec<&str> = tail.split('/').collect();
    match parts.as_slice() {
        ["loadbalancer", _, name, ..] | ["targetgroup", name, ..] => name,
        [.., last] => last,
        [] => tail,
    }
}

/// The reference with a readable name: its own, else the name in its ARN id.
pub fn with_name(resource: &ResourceRef) -> ResourceRef {
    let mut named = resource.clone();
    if named.name.is_none() && named.id.starts_with("arn:") {
        named.name = Some(arn_name(&named.id).to_string());
    }
    named
}

/// How a list cell names the resource: its name for ARNs, else its id.
pub fn short_name(resource: &ResourceRef) -> String {
    if resource.id.starts_with("arn:") {
        with_name(resource).label().to_string()
    } else {
        resource.id.clone()
    }
}

/// The list the resource is shown in and the filter text that finds it there.
pub fn location(resource: &ResourceRef) -> Option<(ListKind, String)> {
    insight::resource_location(&with_name(resource))
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_model::findings::ResourceKind;

    #[test]
    fn load_balancers_and_target_groups_are_named_by_their_arn() {
        let lb = ResourceRef::new(
            ResourceKind::LoadBalancer,
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/lab-alb/a23d",
        );
        assert_eq!(short_name(&lb), "lab-alb");
        assert_eq!(location(&lb), Some((ListKind::Lb, "lab-alb".to_string())));
        let tg = ResourceRef::new(
            ResourceKind::TargetGroup,
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-web-tg/7a90",
        );
        assert_eq!(short_name(&tg), "lab-web-tg");
        assert_eq!(
            location(&tg),
            Some((ListKind::Tg, "lab-web-tg".to_string()))
        );
        let db = ResourceRef::new(ResourceKind::DbInstance, "lab-db");
        assert_eq!(short_name(&db), "lab-db");
        assert_eq!(location(&db), Some((ListKind::Rds, "lab-db".to_string())));
    }
}
