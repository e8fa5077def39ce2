//! The front door: DNS records that should move users between Regions (DR-DNS, DR-DNS-HC,
//! DR-DNS-TTL) and the certificates that serve them (ACM.1, SEC-CERT-UNUSED).

use chrono::{DateTime, Duration, Utc};

use super::{Finding, Policy, ResourceKind, ResourceRef, finding};
use crate::action::dns_record_id;
use crate::front_door::{EntryPoint, Leg, Routing, entry_points};
use crate::topology::{Certificate, DnsHealthCheck, Topology};

/// Route 53's advice for records with health checks: a TTL of 60 s or less.
const MAX_TTL_SECONDS: i64 = 60;
/// ACM.1's `daysToExpiration`.
const EXPIRY_DAYS: i64 = 30;

pub(crate) fn check(topology: &Topology, policy: &Policy, out: &mut Vec<Finding>) {
    let now = policy.now_for(topology);
    for region in &topology.regions {
        for certificate in &region.certificates {
            check_certificate(certificate, &region.region, now, out);
        }
    }
    let entries = entry_points(topology);
    let checks = topology
        .dns
        .as_ref()
        .map(|d| d.health_checks.as_slice())
        .unwrap_or_default();
    let rto = policy.objectives.region.map(|o| o.rto_seconds);
    for entry in &entries {
        for leg in &entry.legs {
            check_health_check(entry, leg, out);
            check_ttl(entry, leg, checks, rto, out);
        }
    }
    check_dr_regions(topology, policy, &entries, out);
}

fn record(entry: &EntryPoint) -> ResourceRef {
    ResourceRef::new(
        ResourceKind::DnsRecord,
        dns_record_id(&entry.zone_id, &entry.name),
    )
    .named(Some(entry.host()))
}

fn leg_label(leg: &Leg) -> String {
    let place = match (&leg.region, &leg.load_balancer) {
        (Some(region), Some(lb)) => format!("{region} {lb}"),
        _ => leg.record.target().unwrap_or_default(),
    };
    match &leg.record.set_identifier {
        Some(id) => format!("{} record {id} ({place})", leg.role()),
        None => format!("{} record ({place})", leg.role()),
    }
}

fn check_certificate(
    certificate: &Certificate,
    region: &str,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    if certificate.status != "ISSUED" {
        return;
    }
    let resource = || {
        ResourceRef::new(ResourceKind::Certificate, &certificate.arn)
            .named(Some(&certificate.domain_name))
            .with_arn(Some(&certificate.arn))
    };
    if let Some(not_after) = certificate.not_after
        && not_after - now <= Duration::days(EXPIRY_DAYS)
    {
        let days = (not_after - now).num_days();
        out.push(finding(
            "ACM.1",
            Some(region),
            resource(),
            format!(
                "{} ({}) expires {} ({days} day(s) from now); renewal: {}",
                certificate.domain_name,
                certificate
                    .certificate_type
                    .as_deref()
                    .unwrap_or("type unknown"),
                not_after.format("%Y-%m-%d"),
                certificate
                    .renewal_eligibility
                    .as_deref()
                    .unwrap_or("unknown"),
            ),
        ));
    }
    if certificate.in_use_by.is_empty()
        && certificate.certificate_type.as_deref() == Some("AMAZON_ISSUED")
    {
        out.push(finding(
            "SEC-CERT-UNUSED",
            Some(region),
            resource(),
            format!(
                "{} is ISSUED and used by nothing{}",
                certificate.domain_name,
                certificate
                    .not_after
                    .map(|d| format!("; it expires {}", d.format("%Y-%m-%d")))
                    .unwrap_or_default()
            ),
        ));
    }
}

/// A record Route 53 should move users away from: the PRIMARY of a failover pair, every
/// weighted record.
fn check_health_check(entry: &EntryPoint, leg: &Leg, out: &mut Vec<Finding>) {
    let decides = match entry.routing {
        Routing::Failover => leg.record.failover.as_deref() == Some("PRIMARY"),
        Routing::Weighted | Routing::Latency => true,
        Routing::Simple => false,
    };
    let evaluated = leg
        .record
        .alias
        .as_ref()
        .is_some_and(|a| a.evaluate_target_health);
    if decides && leg.record.health_check_id.is_none() && !evaluated {
        out.push(finding(
            "DR-DNS-HC",
            None,
            record(entry),
            format!(
                "{} {}: no HealthCheckId{}",
                entry.host(),
                leg_label(leg),
                if leg.record.alias.is_some() {
                    " and EvaluateTargetHealth = false"
                } else {
                    ""
                }
            ),
        ));
    }
}

fn check_ttl(
    entry: &EntryPoint,
    leg: &Leg,
    checks: &[DnsHealthCheck],
    rto: Option<u64>,
    out: &mut Vec<Finding>,
) {
    let Some(ttl) = leg.record.ttl.filter(|_| leg.record.alias.is_none()) else {
        return;
    };
    let routed = entry.routing != Routing::Simple || leg.record.health_check_id.is_some();
    if !routed {
        return;
    }
    // How long Route 53 takes to call the endpoint unhealthy: interval × failure threshold.
    let detection = leg
        .record
        .health_check_id
        .as_deref()
        .and_then(|id| checks.iter().find(|c| c.id == id))
        .map(|c| {
            i64::from(c.request_interval.unwrap_or(30))
                * i64::from(c.failure_threshold.unwrap_or(3))
        })
        .unwrap_or(0);
    let worst = detection + ttl;
    let over_rto = rto.is_some_and(|rto| worst > i64::try_from(rto).unwrap_or(i64::MAX));
    if ttl > MAX_TTL_SECONDS || over_rto {
        let rto_text = rto
            .map(|rto| format!("; the Region RTO is {rto} s"))
            .unwrap_or_default();
        out.push(finding(
            "DR-DNS-TTL",
            None,
            record(entry),
            format!(
                "{} {}: TTL {ttl} s; users may keep the old answer up to {worst} s after the \
                 Region fails ({detection} s for the health check to notice + {ttl} s of \
                 caching){rto_text}",
                entry.host(),
                leg_label(leg)
            ),
        ));
    }
}

/// Every DR Region running a copy of the primary's load balancer (same name) must be a leg of
/// the names that route to the primary.
fn check_dr_regions(
    topology: &Topology,
    policy: &Policy,
    entries: &[EntryPoint],
    out: &mut Vec<Finding>,
) {
    let Some(primary) = policy.primary(topology) else {
        return;
    };
    let dr_regions = crate::dr::dr_regions(topology, primary, &policy.dr_regions);
    for entry in entries {
        let Some(home) = entry.leg_in(primary) else {
            continue;
        };
        let Some(lb_name) = home.load_balancer.as_deref() else {
            continue;
        };
        for dr in &dr_regions {
            let Some(region) = topology.region(dr) else {
                continue;
            };
            if entry.leg_in(dr).is_some()
                || !region.load_balancers.iter().any(|lb| lb.name == lb_name)
            {
                continue;
            }
            let how = if entry.routing == Routing::Simple {
                "; a simple record has one answer and cannot fail over"
            } else {
                ""
            };
            out.push(finding(
                "DR-DNS",
                None,
                record(entry),
                format!(
                    "{} → {} {}; {dr} runs {lb_name} and no record of {} points at it{how}",
                    entry.host(),
                    entry.routing.as_str(),
                    leg_label(home),
                    entry.host()
                ),
            ));
        }
    }
}
