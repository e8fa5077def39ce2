//! Elastic Load Balancing v2: load balancers with listeners and attributes, target groups with
//! per-target health and attributes.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types as sdk;
use futures::{StreamExt, stream};
use haven_model as model;

use super::convert::{opt, time};
use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

/// Load balancers and target groups; details that failed are left empty and their errors listed.
pub(super) struct ElbParts {
    pub load_balancers: Result<Vec<model::LoadBalancer>, AwsError>,
    pub target_groups: Result<Vec<model::TargetGroup>, AwsError>,
    pub detail_errors: Vec<AwsError>,
}

pub(super) async fn discover(scope: &Scope<'_>) -> ElbParts {
    let client = scope.ctx.elbv2(scope.region);
    let c = &client;
    let (lbs, tgs) = tokio::join!(
        c.describe_load_balancers()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.describe_target_groups()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
    );
    let mut detail_errors = Vec::new();
    let load_balancers = match lbs {
        Err(e) => Err(scope.err("DescribeLoadBalancers", e)),
        Ok(lbs) => {
            let detailed: Vec<_> = stream::iter(lbs)
                .map(|lb| async move { load_balancer(c, scope, &lb).await })
                .buffered(CONCURRENCY)
                .collect()
                .await;
            Ok(detailed
                .into_iter()
                .map(|(lb, errors)| {
                    detail_errors.extend(errors);
                    lb
                })
                .collect())
        }
    };
    let target_groups = match tgs {
        Err(e) => Err(scope.err("DescribeTargetGroups", e)),
        Ok(tgs) => {
            let detailed: Vec<_> = stream::iter(tgs)
                .map(|tg| async move { target_group(c, scope, &tg).await })
                .buffered(CONCURRENCY)
                .collect()
                .await;
            Ok(detailed
                .into_iter()
                .map(|(tg, errors)| {
                    detail_errors.extend(errors);
                    tg
                })
                .collect())
        }
    };
    ElbParts {
        load_balancers,
        target_groups,
        detail_errors,
    }
}

fn attributes(list: &[sdk::LoadBalancerAttribute]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|a| Some((a.key()?.to_string(), opt(a.value()))))
        .collect()
}

fn action(a: &sdk::Action) -> model::ListenerAction {
    match a.r#type() {
        Some(sdk::ActionTypeEnum::Forward) => {
            let weighted: Vec<model::WeightedTargetGroup> = a
                .forward_config()
                .map(|f| {
                    f.target_groups()
                        .iter()
                        .filter_map(|t| {
                            Some(model::WeightedTargetGroup {
                                arn: t.target_group_arn()?.to_string(),
                                weight: t.weight(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let target_groups = if weighted.is_empty() {
                a.target_group_arn()
                    .map(|arn| model::WeightedTargetGroup {
                        arn: arn.to_string(),
                        weight: None,
                    })
                    .into_iter()
                    .collect()
            } else {
                weighted
            };
            model::ListenerAction::Forward { target_groups }
        }
        Some(sdk::ActionTypeEnum::Redirect) => {
            let r = a.redirect_config();
            model::ListenerAction::Redirect {
                protocol: r.and_then(|r| r.protocol()).map(str::to_string),
                port: r.and_then(|r| r.port()).map(str::to_string),
                status_code: r
                    .and_then(|r| r.status_code())
                    .map(|c| c.as_str().to_string()),
            }
        }
        Some(sdk::ActionTypeEnum::FixedResponse) => model::ListenerAction::FixedResponse {
            status_code: a
                .fixed_response_config()
                .and_then(|f| f.status_code())
                .map(str::to_string),
        },
        other => model::ListenerAction::Other {
            name: other.map(|t| t.as_str().to_string()).unwrap_or_default(),
        },
    }
}

async fn load_balancer(
    c: &Client,
    s: &Scope<'_>,
    lb: &sdk::LoadBalancer,
) -> (model::LoadBalancer, Vec<AwsError>) {
    let arn = opt(lb.load_balancer_arn());
    let (listeners, attrs) = tokio::join!(
        c.describe_listeners()
            .load_balancer_arn(&arn)
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.describe_load_balancer_attributes()
            .load_balancer_arn(&arn)
            .send(),
    );
    let mut errors = Vec::new();
    let listeners = listeners
        .map_err(|e| errors.push(s.err("DescribeListeners", e)))
        .unwrap_or_default();
    let attributes = attrs
        .map(|a| attributes(a.attributes()))
        .map_err(|e| errors.push(s.err("DescribeLoadBalancerAttributes", e)))
        .unwrap_or_default();
    let model = model::LoadBalancer {
        name: opt(lb.load_balancer_name()),
        dns_name: lb.dns_name().map(str::to_string),
        canonical_hosted_zone_id: lb.canonical_hosted_zone_id().map(str::to_string),
        scheme: lb
            .scheme()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        lb_type: lb
            .r#type()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        state: lb
            .state()
            .and_then(|x| x.code())
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        vpc_id: lb.vpc_id().map(str::to_string),
        zones: lb
            .availability_zones()
            .iter()
            .map(|z| model::LoadBalancerZone {
                availability_zone: opt(z.zone_name()),
                subnet_id: z.subnet_id().map(str::to_string),
            })
            .collect(),
        security_group_ids: lb.security_groups().to_vec(),
        attributes,
        listeners: listeners
            .iter()
            .map(|l| model::Listener {
                arn: opt(l.listener_arn()),
                port: l.port(),
                protocol: l.protocol().map(|p| p.as_str().to_string()),
                default_actions: l.default_actions().iter().map(action).collect(),
                // DescribeListeners names the default certificate only; the others (SNI) would
                // need DescribeListenerCertificates per listener.
                certificates: l
                    .certificates()
                    .iter()
                    .filter_map(|c| c.certificate_arn().map(str::to_string))
                    .collect(),
                ssl_policy: l.ssl_policy().map(str::to_string),
            })
            .collect(),
        created_at: time(lb.created_time()),
        // Read afterwards, per Application Load Balancer (`waf::attach`).
        waf: None,
        arn,
    };
    (model, errors)
}

fn health_state(state: Option<&sdk::TargetHealthStateEnum>) -> model::TargetHealthState {
    use model::TargetHealthState as H;
    match state {
        Some(sdk::TargetHealthStateEnum::Initial) => H::Initial,
        Some(sdk::TargetHealthStateEnum::Healthy) => H::Healthy,
        Some(sdk::TargetHealthStateEnum::Unhealthy) => H::Unhealthy,
        Some(sdk::TargetHealthStateEnum::Unused) => H::Unused,
        Some(sdk::TargetHealthStateEnum::Draining) => H::Draining,
        Some(sdk::TargetHealthStateEnum::Unavailable) => H::Unavailable,
        _ => H::Unknown,
    }
}

async fn target_group(
    c: &Client,
    s: &Scope<'_>,
    tg: &sdk::TargetGroup,
) -> (model::TargetGroup, Vec<AwsError>) {
    let arn = opt(tg.target_group_arn());
    let (health, attrs) = tokio::join!(
        c.describe_target_health().target_group_arn(&arn).send(),
        c.describe_target_group_attributes()
            .target_group_arn(&arn)
            .send(),
    );
    let mut errors = Vec::new();
    let targets = health
        .map(|h| targets(&h))
        .map_err(|e| errors.push(s.err("DescribeTargetHealth", e)))
        .unwrap_or_default();
    let attributes = attrs
        .map(|a| {
            a.attributes()
                .iter()
                .filter_map(|x| Some((x.key()?.to_string(), opt(x.value()))))
                .collect()
        })
        .map_err(|e| errors.push(s.err("DescribeTargetGroupAttributes", e)))
        .unwrap_or_default();
    let model = model::TargetGroup {
        name: opt(tg.target_group_name()),
        protocol: tg.protocol().map(|p| p.as_str().to_string()),
        port: tg.port(),
        target_type: tg
            .target_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "instance".into()),
        vpc_id: tg.vpc_id().map(str::to_string),
        load_balancer_arns: tg.load_balancer_arns().to_vec(),
        health_check: model::HealthCheck {
            enabled: tg.health_check_enabled().unwrap_or(true),
            protocol: tg.health_check_protocol().map(|p| p.as_str().to_string()),
            port: tg.health_check_port().map(str::to_string),
            path: tg.health_check_path().map(str::to_string),
            interval_seconds: tg.health_check_interval_seconds(),
            timeout_seconds: tg.health_check_timeout_seconds(),
            healthy_threshold: tg.healthy_threshold_count(),
            unhealthy_threshold: tg.unhealthy_threshold_count(),
            matcher: tg
                .matcher()
                .and_then(|m| m.http_code().or(m.grpc_code()))
                .map(str::to_string),
        },
        attributes,
        targets,
        arn,
    };
    (model, errors)
}

fn targets(
    out: &aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput,
) -> Vec<model::Target> {
    out.target_health_descriptions()
        .iter()
        .map(|d| {
            let target = d.target();
            let health = d.target_health();
            model::Target {
                id: opt(target.and_then(|t| t.id())),
                port: target.and_then(|t| t.port()),
                availability_zone: target
                    .and_then(|t| t.availability_zone())
                    .map(str::to_string),
                health: health_state(health.and_then(|h| h.state())),
                reason: health
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_string()),
                description: health.and_then(|h| h.description()).map(str::to_string),
            }
        })
        .collect()
}

/// The health of the targets of these target groups (a narrow read: one DescribeTargetHealth
/// each, [`CONCURRENCY`] at a time); the groups come back with only their ARN and targets.
pub(super) async fn target_health(
    scope: &Scope<'_>,
    arns: &[String],
) -> (Vec<model::TargetGroup>, Vec<AwsError>) {
    let client = scope.ctx.elbv2(scope.region);
    let c = &client;
    let answers: Vec<_> = stream::iter(arns.iter().cloned())
        .map(|arn| async move {
            let out = c
                .describe_target_health()
                .target_group_arn(&arn)
                .send()
                .await;
            (arn, out)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    for (arn, answer) in answers {
        match answer {
            Ok(out) => groups.push(model::TargetGroup {
                arn,
                targets: targets(&out),
                ..model::TargetGroup::default()
            }),
            Err(e) => errors.push(scope.err("DescribeTargetHealth", e)),
        }
    }
    (groups, errors)
}
