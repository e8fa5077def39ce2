//! The front door tier of a plan (`[dns]` and `[https]`, as `apply/front_door.rs` builds them):
//! the hosted zone, and in each Region the stack's load balancer runs in, a Route 53 health check
//! and a record to it, an ACM certificate with its validation CNAME, and in the blueprint's
//! Region the HTTPS listener.
//!
//! # Regions
//! The blueprint's Region and each `[dr]` Region where the stack's load balancer (`<stack>-alb`,
//! in a VPC tagged with the stack) exists: a failover builds it there with the same blueprint
//! moved ([`Blueprint::failover_to`]), then runs this plan there. Route 53 resources of a Region
//! the blueprint does not cover are never deleted by a plan (after a failover, the DR blueprint
//! must not delete the record of the Region that was lost).
//!
//! # Operational state
//! The failover role (PRIMARY/SECONDARY) and the weight of an existing record are operational
//! state: failover, failback and the "set weights" action change them, and the plan never puts
//! them back (like an Auto Scaling group's desired capacity). A new failover record is PRIMARY
//! when no record of that name is PRIMARY yet, otherwise SECONDARY. What the plan does correct is
//! the alias target, the health check, evaluate-target-health, the TTL, and the health check's
//! path, port and address.

use std::collections::BTreeSet;

use super::{Builder, Context, Op, RECREATE, ResourceKind::*, ResourceRef, Step, drift, owned, r};
use crate::action::dns_record_id;
use crate::blueprint::{Blueprint, CertificateSource, DnsRouting, DnsSpec};
use crate::topology::{
    Certificate, DnsHealthCheck, DnsRecord, HostedZone, LoadBalancer, RegionTopology, Topology,
};

/// Seconds between two of a Route 53 health checker's requests.
pub const HEALTH_CHECK_INTERVAL: i32 = 30;
/// Failed requests in a row before Route 53 calls an endpoint unhealthy.
pub const HEALTH_CHECK_FAILURE_THRESHOLD: i32 = 3;
/// The logical name of the hosted zone.
pub const ZONE_LOGICAL: &str = "hosted-zone";

/// The set identifier of the stack's record for `region`: `<stack>-<region>`.
pub fn set_identifier(stack: &str, region: &str) -> String {
    format!("{stack}-{region}")
}

/// The logical name of the Route 53 health check of `region`'s load balancer.
pub fn health_check_logical(region: &str) -> String {
    format!("health-check-{region}")
}

/// The logical name of the record to `region`'s load balancer.
pub fn record_logical(region: &str) -> String {
    format!("record-{region}")
}

/// The logical name of the ACM certificate of `region`.
pub fn certificate_logical(region: &str) -> String {
    format!("certificate-{region}")
}

/// The logical name of the validation CNAME of `region`'s certificate.
pub fn validation_logical(region: &str) -> String {
    format!("certificate-validation-{region}")
}

/// The logical name of the HTTPS listener.
pub fn https_listener_logical(port: u16) -> String {
    format!("listener-{port}")
}

/// A DNS name with its final dot, lowercase, as Route 53 lists it.
pub fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

fn same_name(a: &str, b: &str) -> bool {
    fqdn(a) == fqdn(b)
}

/// The stack's load balancer in a Region: `<stack>-alb` in a VPC tagged with the stack.
pub fn stack_load_balancer<'a>(
    region: &'a RegionTopology,
    stack: &str,
) -> Option<&'a LoadBalancer> {
    let name = format!("{stack}-alb");
    region.load_balancers.iter().find(|lb| {
        lb.name == name
            && lb.vpc_id.as_deref().is_some_and(|vpc| {
                region
                    .vpcs
                    .iter()
                    .any(|v| v.id == vpc && super::in_stack(&v.tags, stack))
            })
    })
}

/// The Regions the front door covers: the blueprint's, then each `[dr]` Region where the stack's
/// load balancer exists.
pub fn regions(blueprint: &Blueprint, topology: &Topology) -> Vec<String> {
    let mut out = vec![blueprint.region().to_string()];
    for region in blueprint.dr.iter().flat_map(|dr| &dr.regions) {
        if topology
            .region(region)
            .and_then(|r| stack_load_balancer(r, blueprint.name()))
            .is_some()
            && !out.contains(region)
        {
            out.push(region.clone());
        }
    }
    out
}

/// The public hosted zone `[dns] zone` names (the stack's own first, when several have the name).
pub fn zone<'a>(topology: &'a Topology, dns: &DnsSpec, stack: &str) -> Option<&'a HostedZone> {
    let zones: Vec<&HostedZone> = topology
        .dns
        .iter()
        .flat_map(|d| &d.hosted_zones)
        .filter(|z| !z.private && same_name(&z.name, &dns.zone))
        .collect();
    zones
        .iter()
        .find(|z| owned(&z.tags, stack, ZONE_LOGICAL))
        .or(zones.first())
        .copied()
}

/// The stack's record for `region` in `zone`: the record's name with the set identifier
/// `<stack>-<region>`.
pub fn existing_record<'a>(
    zone: &'a HostedZone,
    record: &str,
    stack: &str,
    region: &str,
) -> Option<&'a DnsRecord> {
    let id = set_identifier(stack, region);
    zone.records.iter().find(|rec| {
        same_name(&rec.name, record)
            && rec.set_identifier.as_deref() == Some(id.as_str())
            && matches!(rec.record_type.as_str(), "A" | "CNAME")
    })
}

/// The stack's health check of `region`'s load balancer.
pub fn existing_health_check<'a>(
    topology: &'a Topology,
    stack: &str,
    region: &str,
) -> Option<&'a DnsHealthCheck> {
    let logical = health_check_logical(region);
    topology
        .dns
        .iter()
        .flat_map(|d| &d.health_checks)
        .find(|h| owned(&h.tags, stack, &logical))
}

/// The stack's certificate of `region` (not one ACM gave up on).
pub fn existing_certificate<'a>(
    region: &'a RegionTopology,
    stack: &str,
) -> Option<&'a Certificate> {
    let logical = certificate_logical(&region.region);
    let usable = |c: &&Certificate| {
        owned(&c.tags, stack, &logical)
            && !matches!(
                c.status.as_str(),
                "FAILED" | "VALIDATION_TIMED_OUT" | "REVOKED" | "EXPIRED" | "INACTIVE"
            )
    };
    let mut mine: Vec<&Certificate> = region.certificates.iter().filter(usable).collect();
    mine.sort_by_key(|c| c.status != "ISSUED");
    mine.first().copied()
}

/// The health check the blueprint asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckWanted {
    /// `HTTPS` with `[https]`, else `HTTP`.
    pub check_type: &'static str,
    /// The HTTPS port, else the `[load_balancer]` listener's.
    pub port: i32,
    /// `[dns] health_check_path`.
    pub path: String,
}

/// The health check the blueprint asks for (`None` without `[dns]`).
pub fn health_check_wanted(blueprint: &Blueprint) -> Option<HealthCheckWanted> {
    let dns = blueprint.dns.as_ref()?;
    Some(match &blueprint.https {
        Some(https) => HealthCheckWanted {
            check_type: "HTTPS",
            port: i32::from(https.port),
            path: dns.health_check_path.clone(),
        },
        None => HealthCheckWanted {
            check_type: "HTTP",
            port: i32::from(blueprint.load_balancer.listener_port),
            path: dns.health_check_path.clone(),
        },
    })
}

/// The role of a new record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Failover `PRIMARY` or `SECONDARY`.
    Failover(&'static str),
    /// Weighted, with this weight.
    Weight(u8),
}

impl Role {
    /// In words: `PRIMARY`, `weight 100`.
    pub fn describe(self) -> String {
        match self {
            Self::Failover(role) => role.to_string(),
            Self::Weight(weight) => format!("weight {weight}"),
        }
    }
}

/// The role a record for `region` gets when it is created: failover PRIMARY when no other record
/// of that name is PRIMARY and `region` is the blueprint's, otherwise SECONDARY; weighted: the
/// first weight for the blueprint's Region, the second for the others.
pub fn new_role(blueprint: &Blueprint, zone: Option<&HostedZone>, region: &str) -> Role {
    let Some(dns) = &blueprint.dns else {
        return Role::Failover("PRIMARY");
    };
    let home = region == blueprint.region();
    match dns.routing {
        DnsRouting::Weighted => Role::Weight(dns.weights[usize::from(!home)]),
        DnsRouting::Failover => {
            let mine = set_identifier(blueprint.name(), region);
            let primary_elsewhere = zone.is_some_and(|z| {
                z.records.iter().any(|rec| {
                    same_name(&rec.name, &dns.record)
                        && rec.failover.as_deref() == Some("PRIMARY")
                        && rec.set_identifier.as_deref() != Some(mine.as_str())
                })
            });
            if home && !primary_elsewhere {
                Role::Failover("PRIMARY")
            } else {
                Role::Failover("SECONDARY")
            }
        }
    }
}

/// The load balancer's DNS name, lowercase, without a final dot or `dualstack.`.
pub fn lb_target(dns_name: &str) -> String {
    let name = dns_name.trim_end_matches('.').to_ascii_lowercase();
    name.strip_prefix("dualstack.")
        .map(str::to_string)
        .unwrap_or(name)
}

/// The front door's creates and updates.
pub(super) fn plan_front_door(b: &mut Builder<'_>, cx: &Context<'_>, topology: &Topology) {
    let bp = cx.blueprint;
    if bp.dns.is_none() && bp.https.is_none() {
        return;
    }
    let zone = bp.dns.as_ref().and_then(|d| zone(topology, d, cx.stack));
    if let Some(dns) = &bp.dns {
        hosted_zone(b, dns, zone);
        // Route 53 is global, but the zone is the stack's: a failover that leaves IAM out (the
        // global steps) still finds it.
        in_region(b, Some(bp.region()));
    }
    let empty = RegionTopology::default();
    for region in regions(bp, topology) {
        let rt = topology.region(&region).unwrap_or(&empty);
        let home = region == bp.region();
        let lb = if home {
            stack_load_balancer(cx.region, cx.stack)
        } else {
            stack_load_balancer(rt, cx.stack)
        };
        let rt = if home { cx.region } else { rt };
        let requested = bp
            .https
            .as_ref()
            .is_some_and(|h| h.certificate == CertificateSource::Request)
            && bp.dns.is_some();
        let certificate = requested
            .then(|| existing_certificate(rt, cx.stack))
            .flatten();
        if requested && let Some(dns) = &bp.dns {
            certificate_steps(b, dns, zone, &region, home, certificate);
        }
        if home && bp.https.is_some() {
            https_listener(b, cx, lb, certificate, requested);
        }
        if let Some(dns) = &bp.dns {
            health_check(b, cx, topology, &region, home, lb);
            record(b, cx, topology, dns, zone, &region, home, lb);
        }
    }
}

/// Moves the step just added to `region` (Route 53 is global; the step is about `region`'s load
/// balancer).
fn in_region(b: &mut Builder<'_>, region: Option<&str>) {
    if let Some(step) = b.steps.last_mut() {
        step.region = region.map(str::to_string);
    }
}

fn hosted_zone(b: &mut Builder<'_>, dns: &DnsSpec, zone: Option<&HostedZone>) {
    let create_detail = if dns.create_zone {
        format!(
            "public hosted zone {} (tagged; delegate it to its name servers for ACM to validate)",
            fqdn(&dns.zone)
        )
    } else {
        format!(
            "missing: no public hosted zone {} exists; create it (and delegate it) or set [dns] \
             create_zone = true",
            fqdn(&dns.zone)
        )
    };
    b.step(
        HostedZone,
        ZONE_LOGICAL,
        &fqdn(&dns.zone),
        zone.map(|z| z.id.clone()),
        // Its caller reference is of the stack's build (VPC and internet gateway).
        vec![r(Vpc, "vpc"), r(InternetGateway, "igw")],
        Vec::new(),
        create_detail,
        true,
    );
}

fn certificate_steps(
    b: &mut Builder<'_>,
    dns: &DnsSpec,
    zone: Option<&HostedZone>,
    region: &str,
    home: bool,
    certificate: Option<&Certificate>,
) {
    let logical = certificate_logical(region);
    let mut changes = Vec::new();
    if let Some(cert) = certificate
        && !same_name(&cert.domain_name, &dns.record)
    {
        changes.push(format!(
            "domain {} → {}: a new certificate; {RECREATE}",
            cert.domain_name, dns.record
        ));
    }
    b.step(
        Certificate,
        &logical,
        &format!("{} ({region})", dns.record),
        certificate.map(|c| c.arn.clone()),
        if home {
            vec![r(LoadBalancer, "load-balancer")]
        } else {
            Vec::new()
        },
        changes,
        format!(
            "request an ACM certificate for {} in {region}, validated by DNS (tagged)",
            dns.record
        ),
        false,
    );
    in_region(b, Some(region));
    // The validation CNAME: ACM names it once the certificate exists.
    let validation = certificate.and_then(|c| {
        c.validations
            .iter()
            .find(|v| v.record_name.is_some() && same_name(&v.domain_name, &dns.record))
            .or(c.validations.first())
    });
    let existing = zone.zip(validation).and_then(|(z, v)| {
        let name = v.record_name.as_deref()?;
        z.records
            .iter()
            .find(|rec| rec.record_type == "CNAME" && same_name(&rec.name, name))
            .map(|rec| (z, rec, v))
    });
    let mut changes = Vec::new();
    if let Some((_, rec, v)) = existing {
        if let Some(value) = &v.record_value
            && !rec.values.iter().any(|have| same_name(have, value))
        {
            changes.push(drift(
                "value",
                rec.values.join(","),
                value.trim_end_matches('.'),
            ));
        }
        if let Some(cert) = certificate
            && cert.status != "ISSUED"
        {
            changes.push(format!(
                "certificate {}: wait until ACM issues it",
                cert.status
            ));
        }
    }
    b.step(
        ValidationRecord,
        &validation_logical(region),
        &validation
            .and_then(|v| v.record_name.clone())
            .unwrap_or_else(|| format!("_acm-validation.{}", fqdn(&dns.record))),
        existing.map(|(z, rec, _)| dns_record_id(&z.id, &rec.name)),
        vec![r(Certificate, &logical), r(HostedZone, ZONE_LOGICAL)],
        changes,
        format!(
            "the CNAME ACM validates the {region} certificate by, in {}; then wait until ACM \
             issues it",
            fqdn(&dns.zone)
        ),
        true,
    );
    in_region(b, Some(region));
}

fn https_listener(
    b: &mut Builder<'_>,
    cx: &Context<'_>,
    lb: Option<&LoadBalancer>,
    certificate: Option<&Certificate>,
    requested: bool,
) {
    let Some(https) = &cx.blueprint.https else {
        return;
    };
    let tg_name = cx.name("tg");
    let tg = cx.region.target_groups.iter().find(|t| t.name == tg_name);
    let listener = lb.and_then(|lb| {
        lb.listeners
            .iter()
            .find(|l| l.port == Some(i32::from(https.port)))
    });
    let wanted_certificate = match &https.certificate {
        CertificateSource::Arn(arn) => Some(arn.clone()),
        CertificateSource::Request => certificate.map(|c| c.arn.clone()),
    };
    let mut changes = Vec::new();
    if let Some(listener) = listener {
        if listener.protocol.as_deref() != Some("HTTPS") {
            changes.push(drift(
                "protocol",
                listener.protocol.as_deref().unwrap_or("unset"),
                "HTTPS",
            ));
        }
        if let Some(wanted) = &wanted_certificate
            && listener.certificates.first() != Some(wanted)
        {
            changes.push(format!(
                "certificate {} → {wanted}",
                listener.certificates.first().map_or("none", String::as_str)
            ));
        }
        if listener.ssl_policy.as_deref() != Some(https.tls_policy.as_str()) {
            changes.push(format!(
                "TLS policy {} → {}",
                listener.ssl_policy.as_deref().unwrap_or("unset"),
                https.tls_policy
            ));
        }
        let forwards = listener
            .forwards()
            .any(|t| tg.is_some_and(|tg| tg.arn == t.arn));
        if !forwards {
            changes.push(format!("forward to {tg_name} (changed outside haven)"));
        }
    }
    let mut depends_on = vec![
        r(LoadBalancer, "load-balancer"),
        r(TargetGroup, "target-group"),
    ];
    if requested {
        depends_on.push(r(
            ValidationRecord,
            &validation_logical(cx.blueprint.region()),
        ));
    }
    b.step(
        Listener,
        &https_listener_logical(https.port),
        &format!("{}:{}", cx.name("alb"), https.port),
        listener.map(|l| l.arn.clone()),
        depends_on,
        changes,
        format!(
            "HTTPS:{} → {tg_name}, {} certificate, {}",
            https.port,
            if requested { "the ACM" } else { "the given" },
            https.tls_policy
        ),
        false,
    );
}

fn health_check(
    b: &mut Builder<'_>,
    cx: &Context<'_>,
    topology: &Topology,
    region: &str,
    home: bool,
    lb: Option<&LoadBalancer>,
) {
    let Some(wanted) = health_check_wanted(cx.blueprint) else {
        return;
    };
    let existing = existing_health_check(topology, cx.stack, region);
    let target = lb.and_then(|l| l.dns_name.as_deref()).map(lb_target);
    let mut changes = Vec::new();
    if let Some(check) = existing {
        if check.check_type != wanted.check_type {
            changes.push(format!(
                "type {} → {}: Route 53 cannot change a check's type; {RECREATE}",
                check.check_type, wanted.check_type
            ));
        }
        if check.port != Some(wanted.port) {
            changes.push(drift(
                "port",
                check.port.map_or("unset".to_string(), |p| p.to_string()),
                wanted.port,
            ));
        }
        if check.resource_path.as_deref() != Some(wanted.path.as_str()) {
            changes.push(drift(
                "path",
                check.resource_path.as_deref().unwrap_or("unset"),
                &wanted.path,
            ));
        }
        if let Some(target) = &target
            && check.fqdn.as_deref().map(lb_target).as_ref() != Some(target)
        {
            changes.push(format!(
                "address {} → {target}",
                check.fqdn.as_deref().unwrap_or("unset")
            ));
        }
        if check.failure_threshold != Some(HEALTH_CHECK_FAILURE_THRESHOLD) {
            changes.push(drift(
                "failure threshold",
                check
                    .failure_threshold
                    .map_or("unset".to_string(), |t| t.to_string()),
                HEALTH_CHECK_FAILURE_THRESHOLD,
            ));
        }
    }
    let mut depends_on = Vec::new();
    if home {
        depends_on.push(r(LoadBalancer, "load-balancer"));
        if let Some(https) = &cx.blueprint.https {
            depends_on.push(r(Listener, &https_listener_logical(https.port)));
        }
    }
    b.step(
        DnsHealthCheck,
        &health_check_logical(region),
        &format!("{} {region}", cx.name("alb")),
        existing.map(|h| h.id.clone()),
        depends_on,
        changes,
        format!(
            "{} :{}{} on {} every {HEALTH_CHECK_INTERVAL} s, unhealthy after \
             {HEALTH_CHECK_FAILURE_THRESHOLD} failures (tagged)",
            wanted.check_type,
            wanted.port,
            wanted.path,
            target.unwrap_or_else(|| format!("the DNS name of {}", cx.name("alb")))
        ),
        true,
    );
    in_region(b, Some(region));
}

#[allow(clippy::too_many_arguments)]
fn record(
    b: &mut Builder<'_>,
    cx: &Context<'_>,
    topology: &Topology,
    dns: &DnsSpec,
    zone: Option<&HostedZone>,
    region: &str,
    home: bool,
    lb: Option<&LoadBalancer>,
) {
    let existing = zone.and_then(|z| existing_record(z, &dns.record, cx.stack, region));
    let target = lb.and_then(|l| l.dns_name.as_deref()).map(lb_target);
    let check = existing_health_check(topology, cx.stack, region);
    let mut changes = Vec::new();
    if let Some(rec) = existing {
        let wanted_type = if dns.alias { "A" } else { "CNAME" };
        let have = if rec.alias.is_some() {
            format!("alias {}", rec.record_type)
        } else {
            rec.record_type.clone()
        };
        if rec.record_type != wanted_type || rec.alias.is_some() != dns.alias {
            let want = if dns.alias { "alias A" } else { "CNAME" };
            changes.push(drift("type", have, want));
        }
        if let Some(target) = &target
            && rec.target().as_ref() != Some(target)
        {
            changes.push(format!(
                "target {} → {target}",
                rec.target().unwrap_or_else(|| "none".to_string())
            ));
        }
        if let Some(check) = check
            && rec.health_check_id.as_deref() != Some(check.id.as_str())
        {
            changes.push(format!(
                "health check {} → {}",
                rec.health_check_id.as_deref().unwrap_or("none"),
                check.id
            ));
        }
        if dns.alias
            && let Some(alias) = &rec.alias
            && !alias.evaluate_target_health
        {
            changes.push(drift("evaluate target health", "off", "on"));
        }
        if !dns.alias && rec.ttl != Some(i64::from(dns.ttl)) {
            changes.push(drift(
                "TTL",
                rec.ttl.map_or("unset".to_string(), |t| t.to_string()),
                dns.ttl,
            ));
        }
    }
    let role = new_role(cx.blueprint, zone, region);
    let mut depends_on = vec![
        r(HostedZone, ZONE_LOGICAL),
        r(DnsHealthCheck, &health_check_logical(region)),
    ];
    if home {
        depends_on.push(r(LoadBalancer, "load-balancer"));
    }
    let kind = if dns.alias {
        "alias A".to_string()
    } else {
        format!("CNAME (TTL {} s)", dns.ttl)
    };
    b.step(
        DnsRecord,
        &record_logical(region),
        &format!(
            "{} ({})",
            fqdn(&dns.record),
            set_identifier(cx.stack, region)
        ),
        existing.and_then(|_| zone.map(|z| dns_record_id(&z.id, &dns.record))),
        depends_on,
        changes,
        format!(
            "{kind} {} → {} {region}, {} {}, with its health check{}",
            fqdn(&dns.record),
            cx.name("alb"),
            dns.routing.as_str(),
            role.describe(),
            if dns.alias {
                ", evaluate target health"
            } else {
                ""
            }
        ),
        true,
    );
    in_region(b, Some(region));
}

/// The front door's deletes for `regions`: first (`.0`) the records and health checks, to run
/// before the Regions' own deletes; then (`.1`) the certificates (after the listeners), their
/// validation records and the zone haven created once only its NS and SOA records remain.
pub(super) fn teardown_front_door(
    topology: &Topology,
    stack: &str,
    regions: &[String],
) -> (Vec<Step>, Vec<Step>) {
    let mut before = Vec::new();
    let mut after = Vec::new();
    let zones: Vec<&HostedZone> = topology.dns.iter().flat_map(|d| &d.hosted_zones).collect();
    let mut deleted_records: BTreeSet<(String, String, Option<String>)> = BTreeSet::new();
    for region in regions {
        let set_id = set_identifier(stack, region);
        for zone in &zones {
            for rec in zone
                .records
                .iter()
                .filter(|rec| rec.set_identifier.as_deref() == Some(set_id.as_str()))
            {
                deleted_records.insert((
                    zone.id.clone(),
                    fqdn(&rec.name),
                    rec.set_identifier.clone(),
                ));
                before.push(delete(
                    DnsRecord,
                    record_logical(region),
                    format!("{} ({set_id})", fqdn(&rec.name)),
                    dns_record_id(&zone.id, &rec.name),
                    Some(region),
                    format!(
                        "delete the {} record with its exact values",
                        rec.failover
                            .clone()
                            .or_else(|| rec.weight.map(|w| format!("weight {w}")))
                            .unwrap_or_else(|| rec.record_type.clone())
                    ),
                ));
            }
        }
        if let Some(check) = existing_health_check(topology, stack, region) {
            let mut step = delete(
                DnsHealthCheck,
                health_check_logical(region),
                format!("{stack}-alb {region}"),
                check.id.clone(),
                Some(region),
                "delete".to_string(),
            );
            step.depends_on = vec![r(DnsRecord, &record_logical(region))];
            before.push(step);
        }
    }
    // Certificates after the listeners (the Regions' deletes run between).
    let mut deleted_certs: Vec<&Certificate> = Vec::new();
    for region in regions {
        let Some(rt) = topology.region(region) else {
            continue;
        };
        let logical = certificate_logical(region);
        for cert in rt
            .certificates
            .iter()
            .filter(|c| owned(&c.tags, stack, &logical))
        {
            deleted_certs.push(cert);
            let mut step = delete(
                Certificate,
                logical.clone(),
                format!("{} ({region})", cert.domain_name),
                cert.arn.clone(),
                Some(region),
                "delete once the load balancer lets go of it".to_string(),
            );
            step.depends_on = vec![r(Listener, "listener-443")];
            after.push(step);
        }
    }
    let others_use = |name: &str| {
        topology
            .regions
            .iter()
            .flat_map(|r| &r.certificates)
            .any(|c| {
                !deleted_certs.iter().any(|d| d.arn == c.arn)
                    && c.validations
                        .iter()
                        .any(|v| v.record_name.as_deref().is_some_and(|n| same_name(n, name)))
            })
    };
    for cert in &deleted_certs {
        let region = topology
            .regions
            .iter()
            .find(|r| r.certificates.iter().any(|c| c.arn == cert.arn))
            .map(|r| r.region.as_str());
        for name in cert
            .validations
            .iter()
            .filter_map(|v| v.record_name.as_deref())
        {
            if others_use(name) {
                continue;
            }
            for zone in &zones {
                for rec in zone
                    .records
                    .iter()
                    .filter(|rec| rec.record_type == "CNAME" && same_name(&rec.name, name))
                {
                    let key = (zone.id.clone(), fqdn(&rec.name), None);
                    if !deleted_records.insert(key) {
                        continue;
                    }
                    let mut step = delete(
                        ValidationRecord,
                        validation_logical(region.unwrap_or_default()),
                        fqdn(&rec.name),
                        dns_record_id(&zone.id, &rec.name),
                        region,
                        "delete the validation CNAME (no other certificate uses it)".to_string(),
                    );
                    step.depends_on = vec![r(
                        Certificate,
                        &certificate_logical(region.unwrap_or_default()),
                    )];
                    after.push(step);
                }
            }
        }
    }
    after.extend(zone_deletes(&zones, stack, &deleted_records));
    (before, after)
}

/// A delete step of the front door.
fn delete(
    kind: super::ResourceKind,
    logical: String,
    name: String,
    id: String,
    region: Option<&str>,
    detail: String,
) -> Step {
    Step {
        op: Op::Delete,
        resource: ResourceRef::new(kind, logical),
        name,
        id: Some(id),
        region: region.map(str::to_string),
        depends_on: Vec::new(),
        detail,
        retain: None,
    }
}

/// The zone haven created, once only its NS and SOA records remain (the records being deleted
/// counted as gone).
fn zone_deletes(
    zones: &[&HostedZone],
    stack: &str,
    deleted_records: &BTreeSet<(String, String, Option<String>)>,
) -> Vec<Step> {
    let mut after = Vec::new();
    for zone in zones.iter().filter(|z| owned(&z.tags, stack, ZONE_LOGICAL)) {
        let left = zone.records.iter().any(|rec| {
            let apex_ns_soa = matches!(rec.record_type.as_str(), "NS" | "SOA")
                && same_name(&rec.name, &zone.name);
            let going = deleted_records.contains(&(
                zone.id.clone(),
                fqdn(&rec.name),
                rec.set_identifier.clone(),
            ));
            !apex_ns_soa && !going
        });
        if left {
            continue;
        }
        after.push(delete(
            HostedZone,
            ZONE_LOGICAL.to_string(),
            fqdn(&zone.name),
            zone.id.clone(),
            None,
            "delete (only its NS and SOA records remain)".to_string(),
        ));
    }
    after
}

/// What the plan deletes of the front door: the stack's Route 53 and ACM resources of the
/// Regions the blueprint covers that it no longer asks for.
pub(super) fn removals(cx: &Context<'_>, topology: &Topology, planned: &[Step]) -> Vec<Step> {
    let expected: BTreeSet<&ResourceRef> = planned.iter().map(|s| &s.resource).collect();
    let regions = regions(cx.blueprint, topology);
    let (before, after) = teardown_front_door(topology, cx.stack, &regions);
    before
        .into_iter()
        .chain(after)
        .filter(|s| !expected.contains(&s.resource))
        .collect()
}
