//! Route 53 calls that move users: one change batch of UPSERTs followed until `INSYNC`
//! (Route 53 answers `PENDING`, then `INSYNC` once every authoritative server has the change,
//! usually within 60 s:
//! <https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html>), Route 53's own
//! answer for a name (`TestDNSAnswer`), and the health check of a load balancer a record needs.

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, HealthCheckConfig,
    HealthCheckType, ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType, Tag,
    TagResourceType,
};
use haven_model::Service;
use haven_model::topology::DnsRecord;

use crate::context::AwsContext;
use crate::error::AwsError;
use crate::options::ExecuteOptions;
use crate::poll::WaitSink;

fn err<E>(
    ctx: &AwsContext,
    operation: &str,
    error: aws_sdk_route53::error::SdkError<E, aws_sdk_route53::config::http::HttpResponse>,
) -> AwsError
where
    E: aws_sdk_route53::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    AwsError::from_sdk(
        Service::Route53,
        operation,
        &ctx.endpoint_label("us-east-1"),
        error,
    )
}

fn build_error(operation: &str, error: impl std::fmt::Display) -> AwsError {
    AwsError::Other {
        service: Service::Route53,
        operation: operation.to_string(),
        detail: format!("the request could not be built: {error}"),
    }
}

fn record_set(record: &DnsRecord) -> Result<ResourceRecordSet, AwsError> {
    let op = "ChangeResourceRecordSets";
    let mut set = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::from(record.record_type.as_str()))
        .set_set_identifier(record.set_identifier.clone())
        .set_failover(
            record
                .failover
                .as_deref()
                .map(ResourceRecordSetFailover::from),
        )
        .set_weight(record.weight)
        .set_health_check_id(record.health_check_id.clone());
    match &record.alias {
        Some(alias) => {
            set = set.alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(&alias.hosted_zone_id)
                    .dns_name(&alias.dns_name)
                    .evaluate_target_health(alias.evaluate_target_health)
                    .build()
                    .map_err(|e| build_error(op, e))?,
            );
        }
        None => {
            set = set.set_ttl(record.ttl);
            for value in &record.values {
                set = set.resource_records(
                    ResourceRecord::builder()
                        .value(value)
                        .build()
                        .map_err(|e| build_error(op, e))?,
                );
            }
        }
    }
    set.build().map_err(|e| build_error(op, e))
}

/// A change Route 53 accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The change's id (`/change/C…` without the prefix).
    pub change_id: String,
    /// The request id, for AWS support and CloudTrail.
    pub request_id: Option<String>,
}

/// Sends `records` as UPSERTs in one change batch of `zone` (atomic).
pub async fn upsert(
    ctx: &AwsContext,
    zone: &str,
    records: &[DnsRecord],
    comment: &str,
) -> Result<Accepted, AwsError> {
    let op = "ChangeResourceRecordSets";
    let mut batch = ChangeBatch::builder().comment(comment);
    for record in records {
        batch = batch.changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(record_set(record)?)
                .build()
                .map_err(|e| build_error(op, e))?,
        );
    }
    let out = ctx
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch.build().map_err(|e| build_error(op, e))?)
        .send()
        .await
        .map_err(|e| err(ctx, op, e))?;
    use aws_sdk_route53::operation::RequestId;
    let request_id = out.request_id().map(str::to_string);
    let change_id = out
        .change_info()
        .map(|c| c.id().trim_start_matches("/change/").to_string())
        .unwrap_or_default();
    Ok(Accepted {
        change_id,
        request_id,
    })
}

/// Waits until change `id` is `INSYNC`.
pub async fn wait_insync(
    ctx: &AwsContext,
    id: &str,
    options: &ExecuteOptions,
    waiting: WaitSink<'_>,
) -> Result<(), AwsError> {
    let client = ctx.route53();
    let what = format!("Route 53 change {id}");
    crate::poll::until(options, Service::Route53, &what, waiting, || async {
        let out = client
            .get_change()
            .id(id)
            .send()
            .await
            .map_err(|e| err(ctx, "GetChange", e))?;
        let status = out.change_info().map(|c| c.status().clone());
        Ok(match status {
            Some(ChangeStatus::Insync) => None,
            Some(other) => Some(other.as_str().to_string()),
            None => Some("PENDING".to_string()),
        })
    })
    .await
}

/// Route 53's answer for a name, as `TestDNSAnswer` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// The name server that answered.
    pub nameserver: String,
    /// `NOERROR`, `NXDOMAIN`, …
    pub response_code: String,
    /// The record data: addresses (AWS answers an alias to a load balancer with its
    /// addresses), or a name (a CNAME's value; moto's stand-in answers an alias with the load
    /// balancer's DNS name, whose addresses do not resolve).
    pub record_data: Vec<String>,
    /// `UDP` or `TCP`.
    pub protocol: String,
}

/// Asks Route 53 what it answers for `name` of `record_type` in `zone`.
pub async fn test_answer(
    ctx: &AwsContext,
    zone: &str,
    name: &str,
    record_type: &str,
) -> Result<DnsAnswer, AwsError> {
    let out = ctx
        .route53()
        .test_dns_answer()
        .hosted_zone_id(zone)
        .record_name(name)
        .record_type(RrType::from(record_type))
        .send()
        .await
        .map_err(|e| err(ctx, "TestDNSAnswer", e))?;
    Ok(DnsAnswer {
        nameserver: out.nameserver().to_string(),
        response_code: out.response_code().to_string(),
        record_data: out.record_data().to_vec(),
        protocol: out.protocol().to_string(),
    })
}

/// A load balancer's health check to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHealthCheck<'a> {
    /// The caller reference (AWS returns the existing check for the same reference and
    /// configuration, so a retry does not make a second one).
    pub caller_reference: &'a str,
    /// The load balancer's DNS name.
    pub fqdn: &'a str,
    /// HTTP or HTTPS.
    pub https: bool,
    /// The port.
    pub port: i32,
    /// The path checked.
    pub path: &'a str,
    /// Tags (`haven:stack`, `haven:logical`).
    pub tags: &'a [(String, String)],
}

/// Creates a health check of a load balancer and tags it; returns its id.
pub async fn create_health_check(
    ctx: &AwsContext,
    check: &NewHealthCheck<'_>,
) -> Result<String, AwsError> {
    let op = "CreateHealthCheck";
    let config = HealthCheckConfig::builder()
        .r#type(if check.https {
            HealthCheckType::Https
        } else {
            HealthCheckType::Http
        })
        .fully_qualified_domain_name(check.fqdn)
        .port(check.port)
        .resource_path(check.path)
        .request_interval(30)
        .failure_threshold(3)
        .build()
        .map_err(|e| build_error(op, e))?;
    let client = ctx.route53();
    let out = client
        .create_health_check()
        .caller_reference(check.caller_reference)
        .health_check_config(config)
        .send()
        .await
        .map_err(|e| err(ctx, op, e))?;
    let id = out
        .health_check()
        .map(|h| h.id().to_string())
        .unwrap_or_default();
    let mut tags = client
        .change_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(&id);
    for (key, value) in check.tags {
        tags = tags.add_tags(Tag::builder().key(key).value(value).build());
    }
    tags.send()
        .await
        .map_err(|e| err(ctx, "ChangeTagsForResource", e))?;
    Ok(id)
}
