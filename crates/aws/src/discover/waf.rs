//! AWS WAF: the web ACL each Application Load Balancer is associated with (GetWebACLForResource,
//! REGIONAL scope; there is no list form keyed by load balancer, so one call per ALB).

use futures::{StreamExt, stream};
use haven_model as model;

use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

/// Fills `waf` on every Application Load Balancer; a call that fails leaves it unread (`None`)
/// and is returned as an error.
pub(super) async fn attach(
    scope: &Scope<'_>,
    load_balancers: &mut [model::LoadBalancer],
) -> Vec<AwsError> {
    let client = scope.ctx.wafv2(scope.region);
    let c = &client;
    let arns: Vec<(usize, String)> = load_balancers
        .iter()
        .enumerate()
        .filter(|(_, lb)| lb.lb_type == "application")
        .map(|(i, lb)| (i, lb.arn.clone()))
        .collect();
    let answers: Vec<_> = stream::iter(arns)
        .map(|(i, arn)| async move {
            let answer = c.get_web_acl_for_resource().resource_arn(arn).send().await;
            (i, answer)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut errors = Vec::new();
    for (i, answer) in answers {
        match answer {
            Ok(out) => {
                let acl = out.web_acl();
                load_balancers[i].waf = Some(model::WafAssociation {
                    web_acl_arn: acl.map(|a| a.arn().to_string()),
                    web_acl_name: acl.map(|a| a.name().to_string()),
                });
            }
            Err(e) => errors.push(scope.err("GetWebACLForResource", e)),
        }
    }
    errors
}
