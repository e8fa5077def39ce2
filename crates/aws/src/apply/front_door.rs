//! The front door: the Route 53 hosted zone, health checks and records, the ACM certificates
//! and their validation CNAMEs (the HTTPS listener and the redirect are in `compute.rs`).
//!
//! # Idempotency
//! A hosted zone is created with a caller reference of the stack's build (its VPC and internet
//! gateway), a health check with one derived from the stack, the Region and its configuration
//! (a retried create returns the same check; a changed configuration is a new one), a
//! certificate with an idempotency token derived from the stack, the Region, the name and the
//! load balancer (AWS returns the same certificate for the same token within an hour). Records
//! are written with `UPSERT`, so writing one twice changes nothing; each change is followed
//! until Route 53 says `INSYNC` (every authoritative name server has it).

use std::time::Duration;

use aws_sdk_acm::types::{CertificateStatus, ValidationMethod};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, HealthCheckConfig,
    HealthCheckType, ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType,
    TagResourceType,
};
use haven_model::Service;
use haven_model::action::dns_record_id;
use haven_model::blueprint::DnsRouting;
use haven_model::plan::front_door::{
    self as fd, HEALTH_CHECK_FAILURE_THRESHOLD, HEALTH_CHECK_INTERVAL, Role, ZONE_LOGICAL,
};
use haven_model::plan::{Op, ResourceKind};
use haven_model::topology::{DnsRecord, Tags};

use super::{Runner, StepContext, client_token, has_code, tolerate_gone, unsupported};
use crate::error::AwsError;

const R53: Service = Service::Route53;
const ACM: Service = Service::Acm;
const ELB: Service = Service::Elbv2;
/// Route 53 is global; its calls are signed for this Region.
const GLOBAL: &str = "us-east-1";
/// How long ACM takes to name the validation record of a new certificate: some seconds.
const VALIDATION_RECORD_BUDGET: Duration = Duration::from_secs(120);
/// How long `up` waits for ACM to issue a certificate whose CNAME is in place: minutes once the
/// name resolves publicly; never when the zone is not delegated.
const ISSUE_BUDGET: Duration = Duration::from_secs(600);
/// How long the load balancer may hold a certificate after its listener is deleted.
const IN_USE_BUDGET: Duration = Duration::from_secs(90);

fn built<T>(result: Result<T, aws_sdk_route53::error::BuildError>) -> Result<T, AwsError> {
    result.map_err(|e| AwsError::Other {
        service: R53,
        operation: String::new(),
        detail: e.to_string(),
    })
}

fn other(service: Service, detail: String) -> AwsError {
    AwsError::Other {
        service,
        operation: String::new(),
        detail,
    }
}

/// `/hostedzone/Z123` → `Z123`.
fn bare(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
}

/// The stack's load balancer in a Region, as the record and the health check name it.
struct Alb {
    arn: String,
    dns_name: String,
    zone_id: String,
}

impl Runner<'_> {
    pub(super) async fn front_door(
        &self,
        cx: &StepContext<'_>,
    ) -> Result<Option<String>, AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        match (step.op, step.resource.kind) {
            (Op::Create | Op::Update, HostedZone) => self.hosted_zone(cx).await.map(Some),
            (Op::Create | Op::Update, DnsHealthCheck) => self.health_check(cx).await.map(Some),
            (Op::Create | Op::Update, DnsRecord) => self.record(cx).await.map(Some),
            (Op::Create | Op::Update, Certificate) => self.certificate(cx).await.map(Some),
            (Op::Create | Op::Update, ValidationRecord) => self.validation(cx).await.map(Some),
            (Op::Delete, _) => self.delete_front_door(cx).await.map(|()| None),
            _ => Err(unsupported(step)),
        }
    }

    fn route53_tags(&self, logical: &str, name: &str) -> Vec<aws_sdk_route53::types::Tag> {
        fd_tags(self.stack, logical, name)
            .iter()
            .map(|(k, v)| {
                aws_sdk_route53::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    }

    async fn alb(&self, region: &str) -> Result<Alb, AwsError> {
        let name = format!("{}-alb", self.stack);
        let elb = self.ctx.elbv2(region);
        let out = self
            .read(
                ELB,
                region,
                "DescribeLoadBalancers",
                elb.describe_load_balancers().names(&name).send(),
            )
            .await?;
        let lb = out
            .load_balancers()
            .first()
            .ok_or_else(|| other(ELB, format!("load balancer {name} not found in {region}")))?;
        Ok(Alb {
            arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
            dns_name: lb.dns_name().unwrap_or_default().to_string(),
            zone_id: lb
                .canonical_hosted_zone_id()
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// Follows a Route 53 change until every authoritative name server has it.
    async fn until_insync(
        &self,
        cx: &StepContext<'_>,
        change: Option<&str>,
    ) -> Result<(), AwsError> {
        let Some(change) = change else {
            return Ok(());
        };
        let r53 = self.ctx.route53();
        self.wait_for(cx, R53, "change", || async {
            let out = self
                .read(R53, GLOBAL, "GetChange", r53.get_change().id(change).send())
                .await?;
            Ok(match out.change_info().map(|c| c.status()) {
                Some(ChangeStatus::Insync) => None,
                Some(status) => Some(status.as_str().to_string()),
                None => Some("unknown".to_string()),
            })
        })
        .await
    }

    /// Writes `record` with `action` and follows the change.
    async fn change_record(
        &self,
        cx: &StepContext<'_>,
        zone_id: &str,
        action: ChangeAction,
        record: ResourceRecordSet,
    ) -> Result<(), AwsError> {
        let r53 = self.ctx.route53();
        let batch = built(
            ChangeBatch::builder()
                .changes(built(
                    Change::builder()
                        .action(action)
                        .resource_record_set(record)
                        .build(),
                )?)
                .build(),
        )?;
        let out = self
            .send(
                R53,
                GLOBAL,
                "ChangeResourceRecordSets",
                r53.change_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .change_batch(batch)
                    .send(),
            )
            .await?;
        let change = out.change_info().map(|c| c.id().to_string());
        self.until_insync(cx, change.as_deref()).await
    }

    async fn hosted_zone(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let dns = bp
            .dns
            .as_ref()
            .ok_or_else(|| other(R53, "the blueprint has no [dns]".to_string()))?;
        if let Some(id) = &cx.step.id {
            return Ok(id.clone());
        }
        let name = fd::fqdn(&dns.zone);
        if !dns.create_zone {
            return Err(other(
                R53,
                format!(
                    "no public hosted zone {name} exists and [dns] create_zone is false: create \
                     it (and delegate it to its name servers), or set create_zone = true"
                ),
            ));
        }
        let r53 = self.ctx.route53();
        let reference = self.token(cx.step, "zone")?;
        let created = self
            .send(
                R53,
                GLOBAL,
                "CreateHostedZone",
                r53.create_hosted_zone()
                    .name(&name)
                    .caller_reference(&reference)
                    .send(),
            )
            .await;
        let (id, change) = match created {
            Ok(out) => (
                out.hosted_zone().map(|z| bare(z.id())),
                out.change_info().map(|c| c.id().to_string()),
            ),
            // A retry after an interruption: the zone of that reference exists.
            Err(e) if e.code() == Some("HostedZoneAlreadyExists") => {
                let out = self
                    .read(
                        R53,
                        GLOBAL,
                        "ListHostedZonesByName",
                        r53.list_hosted_zones_by_name().dns_name(&name).send(),
                    )
                    .await?;
                let id = out
                    .hosted_zones()
                    .iter()
                    .find(|z| z.caller_reference() == reference)
                    .map(|z| bare(z.id()));
                if id.is_none() {
                    return Err(e);
                }
                (id, None)
            }
            Err(e) => return Err(e),
        };
        let id = id.ok_or_else(|| other(R53, "CreateHostedZone returned no zone".to_string()))?;
        self.send(
            R53,
            GLOBAL,
            "ChangeTagsForResource",
            r53.change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(&id)
                .set_add_tags(Some(self.route53_tags(ZONE_LOGICAL, &name)))
                .send(),
        )
        .await?;
        self.until_insync(cx, change.as_deref()).await?;
        Ok(id)
    }

    async fn health_check(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let wanted = fd::health_check_wanted(bp)
            .ok_or_else(|| other(R53, "the blueprint has no [dns]".to_string()))?;
        let alb = self.alb(&cx.region).await?;
        let fqdn = fd::lb_target(&alb.dns_name);
        let r53 = self.ctx.route53();
        if let Some(id) = &cx.step.id {
            self.send(
                R53,
                GLOBAL,
                "UpdateHealthCheck",
                r53.update_health_check()
                    .health_check_id(id)
                    .port(wanted.port)
                    .resource_path(&wanted.path)
                    .fully_qualified_domain_name(&fqdn)
                    .failure_threshold(HEALTH_CHECK_FAILURE_THRESHOLD)
                    .send(),
            )
            .await?;
            return Ok(id.clone());
        }
        let reference = client_token(&format!(
            "haven/{}/{}/{}/{fqdn}/{}/{}/{HEALTH_CHECK_INTERVAL}/{HEALTH_CHECK_FAILURE_THRESHOLD}",
            self.stack, cx.region, wanted.check_type, wanted.port, wanted.path
        ));
        let check_type = if wanted.check_type == "HTTPS" {
            HealthCheckType::Https
        } else {
            HealthCheckType::Http
        };
        let config = built(
            HealthCheckConfig::builder()
                .r#type(check_type)
                .fully_qualified_domain_name(&fqdn)
                .port(wanted.port)
                .resource_path(&wanted.path)
                .request_interval(HEALTH_CHECK_INTERVAL)
                .failure_threshold(HEALTH_CHECK_FAILURE_THRESHOLD)
                .build(),
        )?;
        let out = self
            .send(
                R53,
                GLOBAL,
                "CreateHealthCheck",
                r53.create_health_check()
                    .caller_reference(&reference)
                    .health_check_config(config)
                    .send(),
            )
            .await?;
        let id = out
            .health_check()
            .map(|h| h.id().to_string())
            .ok_or_else(|| other(R53, "CreateHealthCheck returned no check".to_string()))?;
        self.send(
            R53,
            GLOBAL,
            "ChangeTagsForResource",
            r53.change_tags_for_resource()
                .resource_type(TagResourceType::Healthcheck)
                .resource_id(&id)
                .set_add_tags(Some(
                    self.route53_tags(&cx.step.resource.logical, &cx.step.name),
                ))
                .send(),
        )
        .await?;
        Ok(id)
    }

    async fn record(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let dns = bp
            .dns
            .as_ref()
            .ok_or_else(|| other(R53, "the blueprint has no [dns]".to_string()))?;
        let region = cx.region.as_str();
        let zone_id = self.id(ResourceKind::HostedZone, ZONE_LOGICAL)?;
        let check = self.id(
            ResourceKind::DnsHealthCheck,
            &fd::health_check_logical(region),
        )?;
        let alb = self.alb(region).await?;
        let zone = fd::zone(self.topology, dns, self.stack).filter(|z| z.id == zone_id);
        // The role and weight of an existing record are operational state: kept.
        let existing = zone.and_then(|z| fd::existing_record(z, &dns.record, self.stack, region));
        let role = match existing {
            Some(rec) => existing_role(rec, dns.routing),
            None => fd::new_role(bp, zone, region),
        };
        let mut record = ResourceRecordSet::builder()
            .name(fd::fqdn(&dns.record))
            .set_identifier(fd::set_identifier(self.stack, region))
            .health_check_id(&check);
        record = match role {
            Role::Failover("PRIMARY") => record.failover(ResourceRecordSetFailover::Primary),
            Role::Failover(_) => record.failover(ResourceRecordSetFailover::Secondary),
            Role::Weight(weight) => record.weight(i64::from(weight)),
        };
        record = if dns.alias {
            record.r#type(RrType::A).alias_target(built(
                AliasTarget::builder()
                    .hosted_zone_id(&alb.zone_id)
                    .dns_name(format!("dualstack.{}.", fd::lb_target(&alb.dns_name)))
                    .evaluate_target_health(true)
                    .build(),
            )?)
        } else {
            record
                .r#type(RrType::Cname)
                .ttl(i64::from(dns.ttl))
                .resource_records(built(
                    ResourceRecord::builder()
                        .value(fd::lb_target(&alb.dns_name))
                        .build(),
                )?)
        };
        self.change_record(cx, &zone_id, ChangeAction::Upsert, built(record.build())?)
            .await?;
        Ok(dns_record_id(&zone_id, &dns.record))
    }

    async fn certificate(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let dns = bp
            .dns
            .as_ref()
            .ok_or_else(|| other(ACM, "certificate = \"request\" needs [dns]".to_string()))?;
        if let Some(arn) = &cx.step.id {
            return Ok(arn.clone());
        }
        let region = cx.region.as_str();
        let lb_arn = if region == bp.region() {
            self.id(ResourceKind::LoadBalancer, "load-balancer")?
        } else {
            self.alb(region).await?.arn
        };
        // At most 32 letters and digits; new for each load balancer (each build).
        let token = client_token(&format!(
            "haven/{}/{region}/{}/{lb_arn}",
            self.stack, dns.record
        ))
        .replace('-', "");
        let tags: Vec<aws_sdk_acm::types::Tag> =
            fd_tags(self.stack, &cx.step.resource.logical, &dns.record)
                .iter()
                .filter_map(|(k, v)| {
                    aws_sdk_acm::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .ok()
                })
                .collect();
        let acm = self.ctx.acm(region);
        let out = self
            .send(
                ACM,
                region,
                "RequestCertificate",
                acm.request_certificate()
                    .domain_name(&dns.record)
                    .validation_method(ValidationMethod::Dns)
                    .idempotency_token(token)
                    .set_tags(Some(tags))
                    .send(),
            )
            .await?;
        let arn = out
            .certificate_arn()
            .map(str::to_string)
            .ok_or_else(|| other(ACM, "RequestCertificate returned no ARN".to_string()))?;
        self.validation_cname(cx, &arn).await?;
        Ok(arn)
    }

    /// The CNAME ACM asks for: it appears some seconds after the request.
    async fn validation_cname(
        &self,
        cx: &StepContext<'_>,
        arn: &str,
    ) -> Result<(String, String), AwsError> {
        let acm = self.ctx.acm(&cx.region);
        let found = std::sync::Mutex::new(None);
        self.wait_within(
            cx,
            ACM,
            "validation record",
            VALIDATION_RECORD_BUDGET,
            || async {
                let out = self
                    .read(
                        ACM,
                        &cx.region,
                        "DescribeCertificate",
                        acm.describe_certificate().certificate_arn(arn).send(),
                    )
                    .await?;
                let record = out
                    .certificate()
                    .and_then(|c| c.domain_validation_options().first())
                    .and_then(|v| v.resource_record())
                    .map(|r| (r.name().to_string(), r.value().to_string()));
                Ok(match record {
                    Some(record) => {
                        if let Ok(mut found) = found.lock() {
                            *found = Some(record);
                        }
                        None
                    }
                    None => Some("not named yet".to_string()),
                })
            },
        )
        .await?;
        found
            .into_inner()
            .ok()
            .flatten()
            .ok_or_else(|| other(ACM, "no validation record".to_string()))
    }

    async fn validation(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let region = cx.region.clone();
        let arn = self.id(ResourceKind::Certificate, &fd::certificate_logical(&region))?;
        let zone_id = self.id(ResourceKind::HostedZone, ZONE_LOGICAL)?;
        let (name, value) = self.validation_cname(cx, &arn).await?;
        let record = built(
            ResourceRecordSet::builder()
                .name(&name)
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(built(ResourceRecord::builder().value(&value).build())?)
                .build(),
        )?;
        self.change_record(cx, &zone_id, ChangeAction::Upsert, record)
            .await?;
        let acm = self.ctx.acm(&region);
        let issued = self
            .wait_within(cx, ACM, "certificate", ISSUE_BUDGET, || async {
                let out = self
                    .read(
                        ACM,
                        &region,
                        "DescribeCertificate",
                        acm.describe_certificate().certificate_arn(&arn).send(),
                    )
                    .await?;
                Ok(match out.certificate().and_then(|c| c.status()) {
                    Some(CertificateStatus::Issued) => None,
                    Some(status) => Some(status.as_str().to_string()),
                    None => Some("unknown".to_string()),
                })
            })
            .await;
        if let Err(error) = issued {
            let r53 = self.ctx.route53();
            let servers = self
                .read(
                    R53,
                    GLOBAL,
                    "GetHostedZone",
                    r53.get_hosted_zone().id(&zone_id).send(),
                )
                .await
                .ok()
                .and_then(|z| z.delegation_set().map(|d| d.name_servers().join(", ")))
                .unwrap_or_else(|| "see GetHostedZone".to_string());
            return Err(other(
                ACM,
                format!(
                    "the certificate {arn} is not issued yet ({error}): ACM validates it only \
                     once {name} resolves publicly, so the hosted zone must be delegated to its \
                     name servers ({servers}) at the registrar or parent zone. The validation \
                     record is in place; `haven up` again continues from here"
                ),
            ));
        }
        Ok(dns_record_id(&zone_id, &name))
    }

    async fn delete_front_door(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        let Some(id) = step.id.clone() else {
            return Ok(());
        };
        let r53 = self.ctx.route53();
        match step.resource.kind {
            DnsRecord | ValidationRecord => {
                let Some((zone_id, record)) = self.discovered_record(step) else {
                    return Ok(());
                };
                let set = to_record_set(&record)?;
                let result = self
                    .change_record(cx, &zone_id, ChangeAction::Delete, set)
                    .await;
                // Already gone (someone or an earlier run got there first).
                if has_code(&result, &["InvalidChangeBatch"])
                    && let Err(e) = &result
                    && e.to_string().contains("not found")
                {
                    return Ok(());
                }
                result
            }
            DnsHealthCheck => tolerate_gone(
                self.retry_busy(cx, &["HealthCheckInUse"], || {
                    self.send(
                        R53,
                        GLOBAL,
                        "DeleteHealthCheck",
                        r53.delete_health_check().health_check_id(&id).send(),
                    )
                })
                .await,
            )
            .map(drop),
            Certificate => {
                let acm = self.ctx.acm(&cx.region);
                let in_use = |e: &AwsError| e.code() == Some("ResourceInUseException");
                let result = self
                    .retry(cx, IN_USE_BUDGET, self.options.first_poll, &in_use, || {
                        self.send(
                            ACM,
                            &cx.region,
                            "DeleteCertificate",
                            acm.delete_certificate().certificate_arn(&id).send(),
                        )
                    })
                    .await;
                tolerate_gone(result).map(drop)
            }
            HostedZone => tolerate_gone(
                self.send(
                    R53,
                    GLOBAL,
                    "DeleteHostedZone",
                    r53.delete_hosted_zone().id(&id).send(),
                )
                .await,
            )
            .map(drop),
            _ => Err(unsupported(step)),
        }
    }

    /// The discovered record a delete step names (its exact values, which a DELETE must repeat).
    fn discovered_record(&self, step: &haven_model::plan::Step) -> Option<(String, DnsRecord)> {
        let id = step.id.as_deref()?;
        let (zone_id, name) = id.split_once('/')?;
        let zone = self
            .topology
            .dns
            .as_ref()?
            .hosted_zones
            .iter()
            .find(|z| z.id == zone_id)?;
        let set = (step.resource.kind == ResourceKind::DnsRecord)
            .then(|| fd::set_identifier(self.stack, step.region.as_deref().unwrap_or_default()));
        zone.records
            .iter()
            .find(|rec| {
                fd::fqdn(&rec.name) == fd::fqdn(name) && rec.set_identifier == set && {
                    step.resource.kind != ResourceKind::ValidationRecord
                        || rec.record_type == "CNAME"
                }
            })
            .map(|rec| (zone_id.to_string(), rec.clone()))
    }
}

/// The tags of a Route 53 or ACM resource haven creates.
fn fd_tags(stack: &str, logical: &str, name: &str) -> Tags {
    haven_model::plan::haven_tags(stack, logical, name)
}

/// The role of a discovered record.
fn existing_role(record: &DnsRecord, routing: DnsRouting) -> Role {
    match (record.failover.as_deref(), record.weight, routing) {
        (Some("PRIMARY"), _, _) => Role::Failover("PRIMARY"),
        (Some(_), _, _) => Role::Failover("SECONDARY"),
        (None, Some(weight), _) => Role::Weight(u8::try_from(weight).unwrap_or(u8::MAX)),
        (None, None, DnsRouting::Weighted) => Role::Weight(0),
        (None, None, DnsRouting::Failover) => Role::Failover("SECONDARY"),
    }
}

/// A discovered record as a change repeats it.
fn to_record_set(record: &DnsRecord) -> Result<ResourceRecordSet, AwsError> {
    let mut set = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::from(record.record_type.as_str()))
        .set_set_identifier(record.set_identifier.clone())
        .set_health_check_id(record.health_check_id.clone())
        .set_weight(record.weight);
    set = match record.failover.as_deref() {
        Some("PRIMARY") => set.failover(ResourceRecordSetFailover::Primary),
        Some("SECONDARY") => set.failover(ResourceRecordSetFailover::Secondary),
        _ => set,
    };
    if let Some(alias) = &record.alias {
        set = set.alias_target(built(
            AliasTarget::builder()
                .hosted_zone_id(&alias.hosted_zone_id)
                .dns_name(&alias.dns_name)
                .evaluate_target_health(alias.evaluate_target_health)
                .build(),
        )?);
    } else {
        set = set.set_ttl(record.ttl);
        for value in &record.values {
            set = set.resource_records(built(ResourceRecord::builder().value(value).build())?);
        }
    }
    built(set.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_model::topology::AliasTarget as Alias;

    #[test]
    fn a_delete_repeats_the_discovered_values() {
        let record = DnsRecord {
            name: "lab.example.com.".into(),
            record_type: "A".into(),
            set_identifier: Some("lab-ap-northeast-2".into()),
            failover: Some("PRIMARY".into()),
            alias: Some(Alias {
                hosted_zone_id: "ZWKZPGTI48KDX".into(),
                dns_name: "dualstack.lab-alb-1.ap-northeast-2.elb.amazonaws.com.".into(),
                evaluate_target_health: true,
            }),
            health_check_id: Some("hc-1".into()),
            ..DnsRecord::default()
        };
        let set = to_record_set(&record).expect("record set");
        assert_eq!(set.failover(), Some(&ResourceRecordSetFailover::Primary));
        assert_eq!(set.health_check_id(), Some("hc-1"));
        assert_eq!(
            set.alias_target().map(|a| a.hosted_zone_id()),
            Some("ZWKZPGTI48KDX")
        );
        assert!(set.ttl().is_none());
        assert_eq!(
            existing_role(&record, DnsRouting::Failover),
            Role::Failover("PRIMARY")
        );
    }

    #[test]
    fn tokens_fit_what_acm_and_route53_accept() {
        let token = client_token("haven/lab/ap-northeast-2/lab.example.com/arn").replace('-', "");
        assert!(token.len() <= 32 && token.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(bare("/hostedzone/Z123"), "Z123");
    }
}
