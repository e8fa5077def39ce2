//! Route 53, global: hosted zones with the records that matter to an HA stack (see
//! [`haven_model::HostedZone::records`]), zone tags, and health checks with their tags and the
//! status Route 53's checkers report.

use std::collections::BTreeMap;

use aws_sdk_route53::Client;
use aws_sdk_route53::types as sdk;
use futures::{StreamExt, stream};
use haven_model as model;

use super::{CONCURRENCY, Scope, keep};
use crate::error::AwsError;

type Result<T> = std::result::Result<T, AwsError>;

/// Ids per `ListTagsForResources` call (the API's limit).
const TAG_BATCH: usize = 10;

/// Route 53 as far as it could be read, and what could not. `None` when neither hosted zones nor
/// health checks could be listed (nothing was read).
pub(super) async fn discover(scope: &Scope<'_>) -> (Option<model::Dns>, Vec<AwsError>) {
    let client = scope.ctx.route53();
    let c = &client;
    let (zones, checks) = tokio::join!(hosted_zones(c, scope), health_checks(c, scope));
    let mut errors = Vec::new();
    let (zones, zone_errors) = match zones {
        Ok(found) => (Some(found.0), found.1),
        Err(e) => (None, vec![e]),
    };
    errors.extend(zone_errors);
    let (checks, check_errors) = match checks {
        Ok(found) => (Some(found.0), found.1),
        Err(e) => (None, vec![e]),
    };
    errors.extend(check_errors);
    if zones.is_none() && checks.is_none() {
        return (None, errors);
    }
    let dns = model::Dns {
        hosted_zones: zones.unwrap_or_default(),
        health_checks: checks.unwrap_or_default(),
    };
    (Some(dns), errors)
}

/// The zone id without its `/hostedzone/` prefix.
fn bare_zone_id(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
}

async fn hosted_zones(
    c: &Client,
    s: &Scope<'_>,
) -> Result<(Vec<model::HostedZone>, Vec<AwsError>)> {
    let list: Vec<sdk::HostedZone> = c
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListHostedZones", e))?;
    let mut errors = Vec::new();
    let ids: Vec<String> = list.iter().map(|z| bare_zone_id(z.id())).collect();
    let tags = keep(
        tags(c, s, sdk::TagResourceType::Hostedzone, &ids).await,
        &mut errors,
    );
    // Owned items: a stream over borrowed ones makes the future not `Send` for every lifetime
    // (the dashboard boxes it).
    let records: Vec<Result<Vec<model::DnsRecord>>> = stream::iter(ids.clone())
        .map(|id| async move { records(c, s, &id).await })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let zones = list
        .iter()
        .zip(records)
        .map(|(z, records)| {
            let id = bare_zone_id(z.id());
            model::HostedZone {
                tags: tags.get(&id).cloned().unwrap_or_default(),
                id,
                name: z.name().to_string(),
                private: z.config().is_some_and(|c| c.private_zone()),
                record_count: z.resource_record_set_count(),
                records: keep(records, &mut errors),
            }
        })
        .collect();
    Ok((zones, errors))
}

/// Every record of a zone (ListResourceRecordSets, paginated by name, type and identifier),
/// keeping those [`kept`] says matter.
async fn records(c: &Client, s: &Scope<'_>, zone_id: &str) -> Result<Vec<model::DnsRecord>> {
    let mut out = Vec::new();
    let mut next: Option<(String, sdk::RrType, Option<String>)> = None;
    loop {
        let mut call = c.list_resource_record_sets().hosted_zone_id(zone_id);
        if let Some((name, rr_type, identifier)) = next.take() {
            call = call
                .start_record_name(name)
                .start_record_type(rr_type)
                .set_start_record_identifier(identifier);
        }
        let page = call
            .send()
            .await
            .map_err(|e| s.err("ListResourceRecordSets", e))?;
        out.extend(page.resource_record_sets().iter().map(record).filter(kept));
        if !page.is_truncated() {
            break;
        }
        match (page.next_record_name(), page.next_record_type()) {
            (Some(name), Some(rr_type)) => {
                next = Some((
                    name.to_string(),
                    rr_type.clone(),
                    page.next_record_identifier().map(str::to_string),
                ));
            }
            _ => break,
        }
    }
    Ok(out)
}

fn record(r: &sdk::ResourceRecordSet) -> model::DnsRecord {
    let alias = r.alias_target().map(|a| model::AliasTarget {
        hosted_zone_id: a.hosted_zone_id().to_string(),
        dns_name: a.dns_name().to_string(),
        evaluate_target_health: a.evaluate_target_health(),
    });
    model::DnsRecord {
        name: unescape(r.name()),
        record_type: r.r#type().as_str().to_string(),
        set_identifier: r.set_identifier().map(str::to_string),
        failover: r.failover().map(|f| f.as_str().to_string()),
        weight: r.weight(),
        latency_region: r.region().map(|x| x.as_str().to_string()),
        // An alias has no TTL of its own (the target's applies); moto lists 0.
        ttl: if alias.is_some() { None } else { r.ttl() },
        alias,
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
        health_check_id: r.health_check_id().map(str::to_string),
    }
}

/// Route 53 lists `*` as `\052`; names are kept as users write them.
fn unescape(name: &str) -> String {
    name.replace("\\052", "*")
}

/// The records an HA stack's front door is made of: an alias or CNAME to a load balancer, a
/// record with a routing policy (set identifier) or a health check, or a CNAME that validates
/// an ACM certificate.
fn kept(r: &model::DnsRecord) -> bool {
    let to_load_balancer = r
        .target()
        .is_some_and(|t| t.ends_with(".elb.amazonaws.com") || t.ends_with(".elb.amazonaws.com.cn"));
    let acm_validation = r.record_type == "CNAME"
        && r.values
            .iter()
            .any(|v| v.trim_end_matches('.').ends_with("acm-validations.aws"));
    to_load_balancer || r.set_identifier.is_some() || r.health_check_id.is_some() || acm_validation
}

/// Tags of resources of one type, by id (`ListTagsForResources`, ten ids per call).
async fn tags(
    c: &Client,
    s: &Scope<'_>,
    kind: sdk::TagResourceType,
    ids: &[String],
) -> Result<BTreeMap<String, model::Tags>> {
    let batches: Vec<Vec<String>> = ids.chunks(TAG_BATCH).map(<[String]>::to_vec).collect();
    let batches: Vec<_> = stream::iter(batches)
        .map(|batch| {
            c.list_tags_for_resources()
                .resource_type(kind.clone())
                .set_resource_ids(Some(batch))
                .send()
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut out = BTreeMap::new();
    for batch in batches {
        let batch = batch.map_err(|e| s.err("ListTagsForResources", e))?;
        for set in batch.resource_tag_sets() {
            let Some(id) = set.resource_id() else {
                continue;
            };
            let tags = set
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().into())))
                .collect();
            out.insert(id.to_string(), tags);
        }
    }
    Ok(out)
}

async fn health_checks(
    c: &Client,
    s: &Scope<'_>,
) -> Result<(Vec<model::DnsHealthCheck>, Vec<AwsError>)> {
    let list: Vec<sdk::HealthCheck> = c
        .list_health_checks()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListHealthChecks", e))?;
    let mut errors = Vec::new();
    let ids: Vec<String> = list.iter().map(|h| h.id().to_string()).collect();
    let tags = keep(
        tags(c, s, sdk::TagResourceType::Healthcheck, &ids).await,
        &mut errors,
    );
    let asked: Vec<(String, Option<sdk::HealthCheckType>)> = list
        .iter()
        .map(|h| {
            let check_type = h.health_check_config().map(|c| c.r#type().clone());
            (h.id().to_string(), check_type)
        })
        .collect();
    let statuses: Vec<Option<Result<Status>>> = stream::iter(asked)
        .map(|(id, check_type)| async move {
            // Calculated, CloudWatch-alarm and recovery-control checks have no checkers:
            // GetHealthCheckStatus does not apply to them.
            match check_type {
                Some(
                    sdk::HealthCheckType::Calculated
                    | sdk::HealthCheckType::CloudwatchMetric
                    | sdk::HealthCheckType::RecoveryControl,
                )
                | None => None,
                Some(_) => Some(status(c, s, &id).await),
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let checks = list
        .iter()
        .zip(statuses)
        .map(|(h, status)| {
            let status = status.map(|r| keep(r, &mut errors)).unwrap_or_default();
            let config = h.health_check_config();
            model::DnsHealthCheck {
                id: h.id().to_string(),
                caller_reference: Some(h.caller_reference().to_string()).filter(|r| !r.is_empty()),
                check_type: config
                    .map(|c| c.r#type().as_str().to_string())
                    .unwrap_or_default(),
                fqdn: config
                    .and_then(|c| c.fully_qualified_domain_name())
                    .map(str::to_string),
                ip_address: config.and_then(|c| c.ip_address()).map(str::to_string),
                port: config.and_then(|c| c.port()),
                resource_path: config.and_then(|c| c.resource_path()).map(str::to_string),
                request_interval: config.and_then(|c| c.request_interval()),
                failure_threshold: config.and_then(|c| c.failure_threshold()),
                inverted: config.and_then(|c| c.inverted()).unwrap_or(false),
                disabled: config.and_then(|c| c.disabled()).unwrap_or(false),
                status: status.status,
                last_report: status.last_report,
                tags: tags.get(h.id()).cloned().unwrap_or_default(),
            }
        })
        .collect();
    Ok((checks, errors))
}

/// What the checkers say about one health check.
#[derive(Debug, Default, PartialEq, Eq)]
struct Status {
    status: Option<String>,
    last_report: Option<String>,
}

async fn status(c: &Client, s: &Scope<'_>, id: &str) -> Result<Status> {
    let out = c
        .get_health_check_status()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| s.err("GetHealthCheckStatus", e))?;
    Ok(summarize(out.health_check_observations()))
}

/// `healthy` when most checkers report success (Route 53 considers an endpoint healthy when
/// more than 18 % of its checkers do; haven shows the majority view, the same in a steady
/// state), `unhealthy` otherwise; the newest report's text.
fn summarize(observations: &[sdk::HealthCheckObservation]) -> Status {
    let reports: Vec<&sdk::StatusReport> = observations
        .iter()
        .filter_map(|o| o.status_report())
        .filter(|r| r.status().is_some())
        .collect();
    if reports.is_empty() {
        return Status::default();
    }
    let successes = reports
        .iter()
        .filter(|r| r.status().is_some_and(|t| t.starts_with("Success")))
        .count();
    let newest = reports
        .iter()
        .max_by_key(|r| r.checked_time().map(|t| (t.secs(), t.subsec_nanos())))
        .and_then(|r| r.status())
        .map(str::to_string);
    Status {
        status: Some(
            if successes * 2 > reports.len() {
                "healthy"
            } else {
                "unhealthy"
            }
            .to_string(),
        ),
        last_report: newest,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_route53::primitives::DateTime;

    use super::*;

    fn observation(text: &str, secs: i64) -> sdk::HealthCheckObservation {
        sdk::HealthCheckObservation::builder()
            .status_report(
                sdk::StatusReport::builder()
                    .status(text)
                    .checked_time(DateTime::from_secs(secs))
                    .build(),
            )
            .build()
    }

    #[test]
    fn most_checkers_decide_and_the_newest_report_is_kept() {
        let healthy = summarize(&[
            observation("Success: HTTP Status Code: 200", 10),
            observation("Success: HTTP Status Code: 200", 30),
            observation("Failure: Connection timed out", 20),
        ]);
        assert_eq!(healthy.status.as_deref(), Some("healthy"));
        assert_eq!(
            healthy.last_report.as_deref(),
            Some("Success: HTTP Status Code: 200")
        );
        let unhealthy = summarize(&[
            observation("Failure: HTTP Status Code 503", 40),
            observation("Success: HTTP Status Code: 200", 10),
        ]);
        assert_eq!(unhealthy.status.as_deref(), Some("unhealthy"));
        assert_eq!(
            unhealthy.last_report.as_deref(),
            Some("Failure: HTTP Status Code 503")
        );
        assert_eq!(summarize(&[]), Status::default());
    }

    fn plain(name: &str, record_type: &str, value: &str) -> model::DnsRecord {
        model::DnsRecord {
            name: name.into(),
            record_type: record_type.into(),
            values: vec![value.into()],
            ttl: Some(300),
            ..model::DnsRecord::default()
        }
    }

    #[test]
    fn only_the_front_door_records_are_kept() {
        assert!(!kept(&plain("example.com.", "MX", "10 mail.example.com.")));
        assert!(!kept(&plain("example.com.", "TXT", "\"v=spf1 -all\"")));
        assert!(!kept(&plain("www.example.com.", "CNAME", "example.com.")));
        assert!(kept(&plain(
            "app.example.com.",
            "CNAME",
            "lab-alb-1.ap-northeast-2.elb.amazonaws.com."
        )));
        assert!(kept(&plain(
            "_a1b2.lab.example.com.",
            "CNAME",
            "_c3d4.xlfgrmvvlj.acm-validations.aws."
        )));
        let alias = model::DnsRecord {
            name: "lab.example.com.".into(),
            record_type: "A".into(),
            alias: Some(model::AliasTarget {
                hosted_zone_id: "ZWKZPGTI48KDX".into(),
                dns_name: "dualstack.lab-alb-1.ap-northeast-2.elb.amazonaws.com.".into(),
                evaluate_target_health: true,
            }),
            ..model::DnsRecord::default()
        };
        assert!(kept(&alias));
        let weighted = model::DnsRecord {
            set_identifier: Some("blue".into()),
            weight: Some(10),
            ..plain("w.example.com.", "A", "192.0.2.1")
        };
        assert!(kept(&weighted));
    }

    #[test]
    fn zone_ids_lose_their_prefix() {
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_zone_id("Z123"), "Z123");
        assert_eq!(unescape("\\052.example.com."), "*.example.com.");
    }
}
