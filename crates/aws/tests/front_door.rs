//! Discovery of the front door against moto: a hosted zone with a failover alias record to the
//! lab's load balancer and its health check, records that are not the stack's, an ACM
//! certificate and an HTTPS listener — checked as a user would see them in the topology. And a
//! Route 53 that denies every call leaves the rest of the discovery whole.

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType,
    ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType, Tag, TagResourceType,
};
use haven_aws::{AwsContext, DiscoverOptions, discover};
use haven_model::Service;
use haven_model::front_door::{self, LegHealth, Routing};
use haven_testkit::lab::{self, Lab, PRIMARY};
use haven_testkit::{Faults, MotoServer, Proxy, sdk_config_for};

const ZONE: &str = "example.com.";
const HOST: &str = "lab.example.com.";

struct Front {
    zone_id: String,
    check_id: String,
    certificate_arn: String,
    lb_zone_id: String,
}

fn record(name: &str, rr_type: RrType, value: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(rr_type)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().expect("rr"))
        .build()
        .expect("record")
}

fn change(set: ResourceRecordSet) -> Change {
    Change::builder()
        .action(ChangeAction::Create)
        .resource_record_set(set)
        .build()
        .expect("change")
}

/// The front door the `dns-build` helper's `haven up` makes, made here by hand.
async fn front_door(moto: &MotoServer, lab: &Lab) -> Front {
    let global = moto.sdk_config("us-east-1").await;
    let regional = moto.sdk_config(PRIMARY).await;
    let r53 = aws_sdk_route53::Client::new(&global);
    let acm = aws_sdk_acm::Client::new(&regional);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&regional);

    let zone = r53
        .create_hosted_zone()
        .name(ZONE)
        .caller_reference("front-door-zone")
        .send()
        .await
        .expect("zone");
    let zone_id = zone
        .hosted_zone()
        .expect("zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    r53.change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(&zone_id)
        .add_tags(Tag::builder().key("haven:stack").value("lab").build())
        .send()
        .await
        .expect("zone tags");
    let check = r53
        .create_health_check()
        .caller_reference("front-door-check")
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .fully_qualified_domain_name(&lab.load_balancer_dns_name)
                .port(443)
                .resource_path("/health")
                .request_interval(30)
                .failure_threshold(3)
                .build()
                .expect("config"),
        )
        .send()
        .await
        .expect("health check");
    let check_id = check.health_check().expect("check").id().to_string();

    let lbs = elb
        .describe_load_balancers()
        .load_balancer_arns(&lab.load_balancer_arn)
        .send()
        .await
        .expect("lb");
    let lb_zone_id = lbs.load_balancers()[0]
        .canonical_hosted_zone_id()
        .expect("canonical zone")
        .to_string();

    let certificate_arn = acm
        .request_certificate()
        .domain_name(HOST.trim_end_matches('.'))
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .expect("certificate")
        .certificate_arn()
        .expect("arn")
        .to_string();
    acm.add_tags_to_certificate()
        .certificate_arn(&certificate_arn)
        .tags(
            aws_sdk_acm::types::Tag::builder()
                .key("haven:stack")
                .value("lab")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("certificate tags");
    let cert = acm
        .describe_certificate()
        .certificate_arn(&certificate_arn)
        .send()
        .await
        .expect("describe certificate");
    let validation = cert
        .certificate()
        .expect("detail")
        .domain_validation_options()[0]
        .resource_record()
        .expect("validation record")
        .clone();

    elb.create_listener()
        .load_balancer_arn(&lab.load_balancer_arn)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Https)
        .port(443)
        .ssl_policy("ELBSecurityPolicy-TLS13-1-2-2021-06")
        .certificates(
            aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                .certificate_arn(&certificate_arn)
                .build(),
        )
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&lab.target_group_arn)
                .build(),
        )
        .send()
        .await
        .expect("https listener");

    let alias = ResourceRecordSet::builder()
        .name(HOST)
        .r#type(RrType::A)
        .set_identifier("lab-primary")
        .failover(ResourceRecordSetFailover::Primary)
        .health_check_id(&check_id)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(&lb_zone_id)
                .dns_name(format!("dualstack.{}.", lab.load_balancer_dns_name))
                .evaluate_target_health(true)
                .build()
                .expect("alias"),
        )
        .build()
        .expect("alias record");
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(change(alias))
                .changes(change(record(ZONE, RrType::Mx, "10 mail.example.com.")))
                .changes(change(record(
                    "txt.example.com.",
                    RrType::Txt,
                    "\"v=spf1 -all\"",
                )))
                .changes(change(record(
                    validation.name(),
                    RrType::Cname,
                    validation.value(),
                )))
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("records");
    Front {
        zone_id,
        check_id,
        certificate_arn,
        lb_zone_id,
    }
}

fn options() -> DiscoverOptions {
    DiscoverOptions {
        include_iam: false,
        ..DiscoverOptions::default()
    }
}

#[tokio::test]
async fn the_front_door_is_discovered_as_a_user_sees_it() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let front = front_door(&moto, &lab).await;
    let ctx = AwsContext::from_sdk_config(moto.sdk_config(PRIMARY).await);

    let topology = discover(&ctx, &[PRIMARY.to_string()], &options()).await;
    assert!(topology.errors.is_empty(), "{:?}", topology.errors);

    // The zone, without the /hostedzone/ prefix, with its tags.
    let dns = topology.dns.as_ref().expect("Route 53 read");
    let zone = dns
        .hosted_zones
        .iter()
        .find(|z| z.name == ZONE)
        .expect("the zone");
    assert_eq!(zone.id, front.zone_id);
    assert!(!zone.private);
    assert_eq!(
        zone.tags.get("haven:stack").map(String::as_str),
        Some("lab")
    );
    // NS, SOA, A alias, MX, TXT and the validation CNAME: six in all, two of them the stack's.
    assert_eq!(zone.record_count, Some(6));
    let kept: Vec<(&str, &str)> = zone
        .records
        .iter()
        .map(|r| (r.name.as_str(), r.record_type.as_str()))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.contains(&(HOST, "A")), "{kept:?}");
    assert!(
        zone.records
            .iter()
            .any(|r| r.record_type == "CNAME" && r.values[0].contains("acm-validations.aws")),
        "{kept:?}"
    );
    let alias = zone
        .records
        .iter()
        .find(|r| r.name == HOST)
        .expect("the alias");
    assert_eq!(alias.failover.as_deref(), Some("PRIMARY"));
    assert_eq!(alias.set_identifier.as_deref(), Some("lab-primary"));
    assert_eq!(
        alias.health_check_id.as_deref(),
        Some(front.check_id.as_str())
    );
    assert_eq!(alias.ttl, None, "an alias has no TTL of its own");
    let target = alias.alias.as_ref().expect("alias target");
    assert_eq!(target.hosted_zone_id, front.lb_zone_id);
    assert!(target.evaluate_target_health);
    assert_eq!(
        alias.target().as_deref(),
        Some(lab.load_balancer_dns_name.to_ascii_lowercase().as_str())
    );

    // The health check, with what the checkers report.
    let check = dns
        .health_checks
        .iter()
        .find(|c| c.id == front.check_id)
        .expect("the health check");
    assert_eq!(check.check_type, "HTTPS");
    assert_eq!(
        check.fqdn.as_deref(),
        Some(lab.load_balancer_dns_name.as_str())
    );
    assert_eq!(check.port, Some(443));
    assert_eq!(check.resource_path.as_deref(), Some("/health"));
    assert_eq!(check.caller_reference.as_deref(), Some("front-door-check"));
    assert_eq!(check.status.as_deref(), Some("healthy"));
    assert!(
        check
            .last_report
            .as_deref()
            .is_some_and(|r| r.starts_with("Success")),
        "{check:?}"
    );

    // The certificate, in the load balancer's Region, with its validation record.
    let region = &topology.regions[0];
    let cert = region
        .certificates
        .iter()
        .find(|c| c.arn == front.certificate_arn)
        .expect("the certificate");
    assert_eq!(cert.domain_name, "lab.example.com");
    assert_eq!(cert.status, "PENDING_VALIDATION");
    assert_eq!(cert.certificate_type.as_deref(), Some("AMAZON_ISSUED"));
    assert_eq!(cert.key_algorithm.as_deref(), Some("RSA_2048"));
    assert_eq!(
        cert.tags.get("haven:stack").map(String::as_str),
        Some("lab")
    );
    assert_eq!(cert.validations.len(), 1);
    let validation = &cert.validations[0];
    assert_eq!(validation.method.as_deref(), Some("DNS"));
    assert!(validation.record_name.is_some() && validation.record_value.is_some());

    // The HTTPS listener carries the certificate and the TLS policy.
    let lb = region
        .load_balancers
        .iter()
        .find(|lb| lb.arn == lab.load_balancer_arn)
        .expect("the load balancer");
    let https = lb
        .listeners
        .iter()
        .find(|l| l.port == Some(443))
        .expect("the HTTPS listener");
    assert_eq!(https.certificates, vec![front.certificate_arn.clone()]);
    assert_eq!(
        https.ssl_policy.as_deref(),
        Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
    );

    // And the entry point the dashboard shows.
    let entries = front_door::entry_points(&topology);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.host(), "lab.example.com");
    assert_eq!(entry.routing, Routing::Failover);
    assert_eq!(entry.legs.len(), 1);
    assert_eq!(entry.legs[0].region.as_deref(), Some(PRIMARY));
    assert_ne!(entry.legs[0].health, LegHealth::Unhealthy);

    // Asked not to, discovery leaves Route 53 alone.
    let without = DiscoverOptions {
        include_dns: false,
        ..options()
    };
    let topology = discover(&ctx, &[PRIMARY.to_string()], &without).await;
    assert!(topology.dns.is_none());
    assert!(topology.errors.is_empty(), "{:?}", topology.errors);
}

#[tokio::test]
async fn a_denied_route53_leaves_every_other_service_read() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    front_door(&moto, &lab).await;
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_fail_service("route53", 403),
    )
    .expect("proxy");
    let ctx = AwsContext::from_sdk_config(sdk_config_for(&proxy.endpoint(), PRIMARY).await);

    let topology = discover(&ctx, &[PRIMARY.to_string()], &options()).await;
    assert!(topology.dns.is_none(), "nothing of Route 53 could be read");
    assert!(!topology.errors.is_empty());
    for error in &topology.errors {
        assert_eq!(error.service, Service::Route53, "{error:?}");
        assert_eq!(error.region, None, "Route 53 is global: {error:?}");
        assert_eq!(error.code.as_deref(), Some("AccessDenied"), "{error:?}");
    }
    let operations: Vec<&str> = topology
        .errors
        .iter()
        .map(|e| e.operation.as_str())
        .collect();
    assert!(operations.contains(&"ListHostedZones"), "{operations:?}");
    assert!(operations.contains(&"ListHealthChecks"), "{operations:?}");
    let region = &topology.regions[0];
    assert!(region.vpcs.iter().any(|v| v.id == lab.vpc_id));
    assert!(
        region
            .load_balancers
            .iter()
            .any(|lb| lb.arn == lab.load_balancer_arn)
    );
    assert_eq!(region.certificates.len(), 1, "ACM is still read");
}
