//! Classic Load Balancers (the `elb` API): one list call per Region, then per load balancer
//! its attributes and, for those with an HTTPS or SSL listener, its policies.

use aws_sdk_elasticloadbalancing::Client;
use aws_sdk_elasticloadbalancing::types as sdk;
use futures::{StreamExt, stream};
use haven_model as model;

use super::convert::{opt, time};
use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

/// Classic Load Balancers; details that failed are left unread (`None`) and their errors listed.
pub(super) async fn discover(
    scope: &Scope<'_>,
) -> (
    Result<Vec<model::ClassicLoadBalancer>, AwsError>,
    Vec<AwsError>,
) {
    let client = scope.ctx.elb(scope.region);
    let c = &client;
    let listed: Result<Vec<sdk::LoadBalancerDescription>, _> = c
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let listed = match listed {
        Ok(l) => l,
        Err(e) => return (Err(scope.err("DescribeLoadBalancers", e)), Vec::new()),
    };
    let detailed: Vec<_> = stream::iter(listed)
        .map(|lb| async move { load_balancer(c, scope, &lb).await })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut errors = Vec::new();
    let lbs = detailed
        .into_iter()
        .map(|(lb, e)| {
            errors.extend(e);
            lb
        })
        .collect();
    (Ok(lbs), errors)
}

fn listener(d: &sdk::ListenerDescription) -> Option<model::ClassicListener> {
    let l = d.listener()?;
    Some(model::ClassicListener {
        protocol: l.protocol().to_ascii_uppercase(),
        port: l.load_balancer_port(),
        instance_protocol: l.instance_protocol().map(str::to_string),
        instance_port: l.instance_port(),
        ssl_certificate_id: l.ssl_certificate_id().map(str::to_string),
        policy_names: d.policy_names().to_vec(),
    })
}

fn attributes(a: &sdk::LoadBalancerAttributes) -> model::ClassicAttributes {
    model::ClassicAttributes {
        cross_zone: a.cross_zone_load_balancing().is_some_and(|x| x.enabled()),
        access_log: a.access_log().is_some_and(|x| x.enabled()),
        connection_draining: a.connection_draining().is_some_and(|x| x.enabled()),
        desync_mitigation_mode: a
            .additional_attributes()
            .iter()
            .find(|x| x.key() == Some("elb.http.desyncmitigationmode"))
            .and_then(|x| x.value())
            .map(str::to_string),
    }
}

fn policy(p: &sdk::PolicyDescription) -> model::ClassicPolicy {
    model::ClassicPolicy {
        name: opt(p.policy_name()),
        type_name: p.policy_type_name().map(str::to_string),
        reference_security_policy: p
            .policy_attribute_descriptions()
            .iter()
            .find(|a| a.attribute_name() == Some("Reference-Security-Policy"))
            .and_then(|a| a.attribute_value())
            .map(str::to_string),
    }
}

async fn load_balancer(
    c: &Client,
    s: &Scope<'_>,
    lb: &sdk::LoadBalancerDescription,
) -> (model::ClassicLoadBalancer, Vec<AwsError>) {
    let name = opt(lb.load_balancer_name());
    let listeners: Vec<model::ClassicListener> = lb
        .listener_descriptions()
        .iter()
        .filter_map(listener)
        .collect();
    let encrypted = listeners.iter().any(model::ClassicListener::is_encrypted);
    let policies = async {
        if encrypted {
            Some(
                c.describe_load_balancer_policies()
                    .load_balancer_name(&name)
                    .send()
                    .await,
            )
        } else {
            None
        }
    };
    let (attrs, policies) = tokio::join!(
        c.describe_load_balancer_attributes()
            .load_balancer_name(&name)
            .send(),
        policies,
    );
    let mut errors = Vec::new();
    let attributes = attrs
        .map_err(|e| errors.push(s.err("DescribeLoadBalancerAttributes", e)))
        .ok()
        .and_then(|a| a.load_balancer_attributes().map(attributes));
    let policies = match policies {
        None => None,
        Some(Ok(p)) => Some(p.policy_descriptions().iter().map(policy).collect()),
        Some(Err(e)) => {
            errors.push(s.err("DescribeLoadBalancerPolicies", e));
            None
        }
    };
    let model = model::ClassicLoadBalancer {
        dns_name: lb.dns_name().map(str::to_string),
        scheme: opt(lb.scheme()),
        vpc_id: lb.vpc_id().map(str::to_string),
        availability_zones: lb.availability_zones().to_vec(),
        subnet_ids: lb.subnets().to_vec(),
        security_group_ids: lb.security_groups().to_vec(),
        listeners,
        instance_ids: lb
            .instances()
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect(),
        attributes,
        policies,
        created_at: time(lb.created_time()),
        name,
    };
    (model, errors)
}
