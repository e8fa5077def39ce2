//! The compute tier of a plan: the launch template, target group, load balancer and listener,
//! and the Auto Scaling group with its CPU policy (as `apply/compute.rs` builds them).

use super::network::Network;
use super::{
    Builder, CPU_METRIC, Context, Op, RECREATE, ResourceKind::*, ResourceRef, Step, compare, drift,
    owned, r,
};
use crate::blueprint::{AutoScalingSpec, Blueprint};
use crate::topology::{self, ListenerAction};

/// The compute tier, after the network, the security groups and IAM it uses.
pub(super) fn plan_compute(b: &mut Builder<'_>, cx: &Context<'_>, net: &Network<'_>) {
    let template = launch_template(b, cx);
    let tg = target_group(b, cx, net);
    let alb = load_balancer(b, cx, net);
    listener(b, cx, alb, tg);
    let asg = auto_scaling_group(b, cx, net, template, tg);
    scaling_policy(b, cx, asg);
}

fn launch_template<'a>(
    b: &mut Builder<'_>,
    cx: &Context<'a>,
) -> Option<&'a topology::LaunchTemplate> {
    let compute = &cx.blueprint.compute;
    let template = cx
        .region
        .launch_templates
        .iter()
        .find(|t| owned(&t.tags, cx.stack, "launch-template"));
    let mut changes = Vec::new();
    if let Some(version) = template.and_then(|t| t.versions.first()) {
        compare(
            &mut changes,
            "instance type",
            version.instance_type.clone(),
            compute.instance_type.clone(),
        );
        compare(
            &mut changes,
            "image",
            version.image_id.clone(),
            compute.ami.launch_template_image_id(),
        );
        let tokens = version
            .metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.clone());
        let wanted = if compute.imdsv2_required {
            "required"
        } else {
            "optional"
        };
        compare(&mut changes, "IMDS tokens", tokens, wanted.to_string());
        if version.key_name != compute.key_name {
            changes.push(drift(
                "key pair",
                version.key_name.as_deref().unwrap_or("none"),
                compute.key_name.as_deref().unwrap_or("none"),
            ));
        }
        if !changes.is_empty() {
            changes.insert(0, "new version".to_string());
        }
    }
    b.step(
        LaunchTemplate,
        "launch-template",
        &cx.name("lt"),
        template.map(|t| t.id.clone()),
        vec![
            r(SecurityGroup, "app-sg"),
            r(InstanceProfile, &cx.blueprint.iam.instance_profile),
            // Its client token names the build by the VPC and its internet gateway.
            r(InternetGateway, "igw"),
        ],
        changes,
        format!(
            "{} from {}, IMDSv2 {}{}",
            compute.instance_type,
            compute.ami.launch_template_image_id(),
            if compute.imdsv2_required {
                "required"
            } else {
                "optional"
            },
            compute
                .user_data_file
                .as_deref()
                .map(|f| format!(", user data {f}"))
                .unwrap_or_default()
        ),
        false,
    );
    template
}

fn target_group<'a>(
    b: &mut Builder<'_>,
    cx: &Context<'a>,
    net: &Network<'_>,
) -> Option<&'a topology::TargetGroup> {
    let tg_name = cx.name("tg");
    let tg = cx
        .region
        .target_groups
        .iter()
        .find(|t| t.name == tg_name && net.in_vpc(&t.vpc_id))
        .or_else(|| {
            // After a blue/green deploy, green's target group took the place of blue's.
            let group = crate::deploy::deployed_group(cx.region, cx.stack)?;
            let arn = group.target_group_arns.first()?;
            cx.region.target_group(arn)
        });
    let hc = &cx.blueprint.load_balancer.health_check;
    let app_port = cx.blueprint.security.app_port;
    let mut changes = Vec::new();
    if let Some(tg) = tg {
        let actual = &tg.health_check;
        compare(
            &mut changes,
            "health-check path",
            actual.path.clone(),
            hc.path.clone(),
        );
        compare(
            &mut changes,
            "health-check interval",
            actual.interval_seconds,
            i32::from(hc.interval),
        );
        compare(
            &mut changes,
            "health-check timeout",
            actual.timeout_seconds,
            i32::from(hc.timeout),
        );
        compare(
            &mut changes,
            "healthy threshold",
            actual.healthy_threshold,
            i32::from(hc.healthy_threshold),
        );
        compare(
            &mut changes,
            "unhealthy threshold",
            actual.unhealthy_threshold,
            i32::from(hc.unhealthy_threshold),
        );
        compare(
            &mut changes,
            "matcher",
            actual.matcher.clone(),
            hc.matcher.clone(),
        );
        if tg.port != Some(i32::from(app_port)) {
            changes.push(format!(
                "port {} but the blueprint says {}: a target group's port cannot change; \
                 {RECREATE}",
                tg.port.map_or("none".to_string(), |p| p.to_string()),
                app_port
            ));
        }
    }
    b.step(
        TargetGroup,
        "target-group",
        &tg_name,
        tg.map(|t| t.arn.clone()),
        vec![r(Vpc, "vpc")],
        changes,
        format!(
            "HTTP:{} health check {} every {}s, timeout {}s, healthy {}, unhealthy {}, matcher {}",
            app_port,
            hc.path,
            hc.interval,
            hc.timeout,
            hc.healthy_threshold,
            hc.unhealthy_threshold,
            hc.matcher
        ),
        false,
    );
    tg
}

/// The attributes `haven up` sets on the stack's ALB (ModifyLoadBalancerAttributes): invalid
/// header fields dropped (Security Hub ELB.4) and desync mitigation `defensive` (ELB.12).
pub const ALB_ATTRIBUTES: &[(&str, &str)] = &[
    ("routing.http.drop_invalid_header_fields.enabled", "true"),
    ("routing.http.desync_mitigation_mode", "defensive"),
];

fn load_balancer<'a>(
    b: &mut Builder<'_>,
    cx: &Context<'a>,
    net: &Network<'_>,
) -> Option<&'a topology::LoadBalancer> {
    let azs = &cx.blueprint.network.azs;
    let lb_name = cx.name("alb");
    let alb = cx
        .region
        .load_balancers
        .iter()
        .find(|l| l.name == lb_name && net.in_vpc(&l.vpc_id));
    let mut changes = Vec::new();
    if let Some(alb) = alb {
        for az in azs {
            if !alb.zones.iter().any(|z| z.availability_zone == *az) {
                changes.push(format!("enable {az}"));
            }
        }
        // Attributes not read (an empty map) are not changed blindly.
        if !alb.attributes.is_empty() {
            for (key, value) in ALB_ATTRIBUTES {
                let actual = alb.attributes.get(*key).map(String::as_str);
                let default =
                    (*key == "routing.http.desync_mitigation_mode").then_some("defensive");
                if actual.or(default) != Some(*value) {
                    changes.push(format!("{key} {} → {value}", actual.unwrap_or("unset")));
                }
            }
        }
    }
    let mut depends: Vec<ResourceRef> = azs
        .iter()
        .map(|az| r(Subnet, &format!("public-{az}")))
        .collect();
    depends.push(r(SecurityGroup, "alb-sg"));
    depends.push(r(InternetGateway, "igw"));
    b.step(
        LoadBalancer,
        "load-balancer",
        &lb_name,
        alb.map(|l| l.arn.clone()),
        depends,
        changes,
        format!(
            "internet-facing ALB in {}; drops invalid header fields, desync mitigation defensive",
            azs.join(", ")
        ),
        false,
    );
    alb
}

fn listener(
    b: &mut Builder<'_>,
    cx: &Context<'_>,
    alb: Option<&topology::LoadBalancer>,
    tg: Option<&topology::TargetGroup>,
) {
    let lb = &cx.blueprint.load_balancer;
    let tg_name = cx.name("tg");
    // `[https] redirect_http`: the listener answers 301 to HTTPS once the HTTPS listener exists.
    let redirect = cx
        .blueprint
        .https
        .as_ref()
        .filter(|h| h.redirect_http)
        .map(|h| h.port);
    let listener = alb.and_then(|a| {
        a.listeners
            .iter()
            .find(|l| l.port == Some(i32::from(lb.listener_port)))
    });
    let mut changes = Vec::new();
    if let Some(listener) = listener {
        compare(
            &mut changes,
            "protocol",
            listener.protocol.clone(),
            lb.listener_protocol.as_str().to_string(),
        );
        let forwards = listener.default_actions.iter().any(|a| match a {
            ListenerAction::Forward { target_groups } => {
                tg.is_some_and(|tg| target_groups.iter().any(|t| t.arn == tg.arn))
            }
            _ => false,
        });
        match redirect {
            Some(port) => {
                let redirects = listener.default_actions.iter().any(|a| {
                    matches!(a, ListenerAction::Redirect { protocol, port: to, status_code }
                        if protocol.as_deref() == Some("HTTPS")
                            && to.as_deref() == Some(port.to_string().as_str())
                            && status_code.as_deref() == Some("HTTP_301"))
                });
                if !redirects {
                    let now = if forwards {
                        format!("forward to {tg_name}")
                    } else {
                        "its default action".to_string()
                    };
                    changes.push(format!("{now} → 301 redirect to HTTPS:{port}"));
                }
            }
            None if !forwards => {
                changes.push(format!("forward to {tg_name} (changed outside haven)"));
            }
            None => {}
        }
    }
    let mut depends_on = vec![
        r(LoadBalancer, "load-balancer"),
        r(TargetGroup, "target-group"),
    ];
    if let Some(port) = redirect {
        depends_on.push(r(
            Listener,
            &super::front_door::https_listener_logical(port),
        ));
    }
    b.step(
        Listener,
        &format!("listener-{}", lb.listener_port),
        &format!("{}:{}", cx.name("alb"), lb.listener_port),
        listener.map(|l| l.arn.clone()),
        depends_on,
        changes,
        match redirect {
            Some(port) => format!(
                "{}:{} → 301 redirect to HTTPS:{port}",
                lb.listener_protocol.as_str(),
                lb.listener_port
            ),
            None => format!(
                "{}:{} → {tg_name}",
                lb.listener_protocol.as_str(),
                lb.listener_port
            ),
        },
        false,
    );
}

fn auto_scaling_group<'a>(
    b: &mut Builder<'_>,
    cx: &Context<'a>,
    net: &Network<'_>,
    template: Option<&topology::LaunchTemplate>,
    tg: Option<&topology::TargetGroup>,
) -> Option<&'a topology::AutoScalingGroup> {
    let scaling = &cx.blueprint.auto_scaling;
    let asg = cx
        .region
        .auto_scaling_groups
        .iter()
        .find(|a| owned(&a.tags, cx.stack, "asg"))
        .or_else(|| crate::deploy::deployed_group(cx.region, cx.stack));
    let changes = asg
        .map(|asg| asg_drift(cx, &b.steps, asg, template, tg))
        .unwrap_or_default();
    let mut depends = vec![
        r(LaunchTemplate, "launch-template"),
        r(TargetGroup, "target-group"),
    ];
    depends.extend(
        cx.blueprint
            .network
            .azs
            .iter()
            .map(|az| r(Subnet, &format!("private-{az}"))),
    );
    // Instances fetch their software through the NAT gateways as they boot: the private routes
    // must be in place before the group launches anything.
    depends.extend(net.private_tables.iter().map(|(l, _)| r(RouteTable, l)));
    b.step(
        AutoScalingGroup,
        "asg",
        &cx.name("asg"),
        asg.map(|a| a.name.clone()),
        depends,
        changes,
        format!(
            "{}/{}/{} (min/desired/max) in the private subnets, {} health checks, grace {}s{}",
            scaling.min,
            scaling.desired,
            scaling.max,
            scaling.health_check_type.as_str(),
            scaling.grace_period,
            if desired_follows_policy(cx.blueprint, None) {
                "; desired is set now, then left to the scaling policy"
            } else {
                ""
            }
        ),
        false,
    );
    asg
}

/// How an existing group differs from the blueprint; `steps` are the plan's steps so far (a
/// launch template update means a new version for the group).
fn asg_drift(
    cx: &Context<'_>,
    steps: &[Step],
    asg: &topology::AutoScalingGroup,
    template: Option<&topology::LaunchTemplate>,
    tg: Option<&topology::TargetGroup>,
) -> Vec<String> {
    let scaling = &cx.blueprint.auto_scaling;
    let mut changes = Vec::new();
    let follows_policy = desired_follows_policy(cx.blueprint, Some(asg));
    let mut pairs = vec![("min size", asg.min_size, scaling.min)];
    if !follows_policy {
        pairs.push(("desired capacity", asg.desired_capacity, scaling.desired));
    }
    pairs.push(("max size", asg.max_size, scaling.max));
    for (what, actual, wanted) in pairs {
        if i64::from(actual) != i64::from(wanted) {
            changes.push(drift(what, actual, wanted));
        }
    }
    if follows_policy {
        changes.extend(clamped_desired(asg, scaling));
    }
    if asg.health_check_type != scaling.health_check_type.as_str() {
        changes.push(drift(
            "health-check type",
            &asg.health_check_type,
            scaling.health_check_type.as_str(),
        ));
    }
    compare(
        &mut changes,
        "health-check grace period",
        asg.health_check_grace_period.map(i64::from),
        i64::from(scaling.grace_period),
    );
    if let Some(tg) = tg
        && !asg.target_group_arns.contains(&tg.arn)
    {
        changes.push(format!("attach to {}", cx.name("tg")));
    }
    // The group is pinned to the template's default version (never $Latest or $Default),
    // so a new version reaches instances only through an instance refresh.
    let pinned = asg.launch_template.as_ref().and_then(|t| t.version.clone());
    let template_changes = steps
        .iter()
        .any(|s| s.resource == r(LaunchTemplate, "launch-template") && s.op == Op::Update);
    let default = template
        .and_then(|t| t.default_version)
        .map(|v| v.to_string());
    if template_changes {
        changes.push("use the new launch template version".to_string());
    } else if let Some(default) = default
        && pinned.as_deref() != Some(default.as_str())
    {
        changes.push(drift(
            "launch template version",
            pinned.as_deref().unwrap_or("none"),
            default,
        ));
    }
    changes
}

/// The CPU target-tracking policy, or the delete of one the blueprint no longer has.
fn scaling_policy(b: &mut Builder<'_>, cx: &Context<'_>, asg: Option<&topology::AutoScalingGroup>) {
    let policy = asg.and_then(|a| {
        a.policies
            .iter()
            .find(|p| p.metric.as_deref() == Some(CPU_METRIC))
    });
    if let Some(target) = cx.blueprint.auto_scaling.cpu_target {
        let mut changes = Vec::new();
        if let Some(policy) = policy
            && policy.target_value != Some(target)
        {
            changes.push(drift(
                "CPU target",
                policy
                    .target_value
                    .map_or("none".to_string(), |v| format!("{v}%")),
                format!("{target}%"),
            ));
        }
        b.step(
            ScalingPolicy,
            "cpu-target",
            &cx.name("cpu-target"),
            policy.map(|p| p.name.clone()),
            vec![r(AutoScalingGroup, "asg")],
            changes,
            format!("target tracking: average CPU {target}%"),
            false,
        );
    } else if let Some(policy) = policy {
        b.steps.push(Step {
            op: Op::Delete,
            resource: r(ScalingPolicy, "cpu-target"),
            name: policy.name.clone(),
            id: Some(policy.name.clone()),
            region: Some(cx.blueprint.region().to_string()),
            depends_on: vec![],
            detail: "the blueprint has no cpu_target".to_string(),
            retain: None,
        });
    }
}

/// The group's desired capacity belongs to its scaling policy (as with Terraform's
/// `ignore_changes = [desired_capacity]`): the group has a policy, or the blueprint gives it one.
/// `up` then sets the blueprint's `desired` only when it creates the group, and never puts it
/// back afterwards, since a target-tracking policy changes it under load
/// (<https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html>).
pub fn desired_follows_policy(
    blueprint: &Blueprint,
    asg: Option<&topology::AutoScalingGroup>,
) -> bool {
    blueprint.auto_scaling.cpu_target.is_some() || asg.is_some_and(|a| !a.policies.is_empty())
}

/// What Auto Scaling does to a desired capacity the policy set when the new minimum or maximum
/// leaves it outside: `UpdateAutoScalingGroup` without `DesiredCapacity` raises it to the new
/// minimum or lowers it to the new maximum
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html>).
fn clamped_desired(asg: &topology::AutoScalingGroup, scaling: &AutoScalingSpec) -> Option<String> {
    let desired = i64::from(asg.desired_capacity);
    if desired < i64::from(scaling.min) {
        Some(format!(
            "desired capacity {desired} is below the new min {}: Auto Scaling raises it to {} \
             and launches the difference",
            scaling.min, scaling.min
        ))
    } else if desired > i64::from(scaling.max) {
        Some(format!(
            "desired capacity {desired} is above the new max {}: Auto Scaling lowers it to {} \
             and terminates the difference",
            scaling.max, scaling.max
        ))
    } else {
        None
    }
}
