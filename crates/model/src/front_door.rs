//! The front door: the DNS names users reach a stack by, the load balancer behind each of their
//! records, and where Route 53 sends users now.
//!
//! An [`EntryPoint`] is one record name (and type) of a hosted zone with at least one record
//! routed to a load balancer of the topology. Each of its records is a [`Leg`]. Which legs
//! Route 53 answers with is worked out as Route 53 does it
//! (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-how-r53-chooses-records-when-health-checking-configured.html>):
//! - a record is healthy unless its health check is unhealthy or, for an alias with
//!   *evaluate target health*, its load balancer has no healthy target;
//! - failover: the PRIMARY while it is healthy, else the SECONDARY when that is healthy, else
//!   the PRIMARY again;
//! - weighted: the healthy records in proportion to their weights (weight 0 only when every
//!   other is 0 or unhealthy); when none is healthy, all of them as if healthy;
//! - latency: the healthy records, each for the users nearest its Region (no share is given).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::topology::{DnsHealthCheck, DnsRecord, LoadBalancer, TargetHealthState, Topology};

/// How Route 53 picks among the records of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    /// One record.
    Simple,
    /// PRIMARY and SECONDARY records with health checks.
    Failover,
    /// Records sharing the answers by weight.
    Weighted,
    /// Records answered by the Region nearest the user.
    Latency,
}

impl Routing {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Failover => "failover",
            Self::Weighted => "weighted",
            Self::Latency => "latency",
        }
    }

    /// The routing a record takes part in.
    pub fn of(record: &DnsRecord) -> Self {
        if record.failover.is_some() {
            Self::Failover
        } else if record.weight.is_some() {
            Self::Weighted
        } else if record.latency_region.is_some() {
            Self::Latency
        } else {
            Self::Simple
        }
    }
}

/// Whether Route 53 considers a record healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegHealth {
    /// Its health check passes and, if evaluated, its load balancer has healthy targets.
    Healthy,
    /// Its health check fails, or its load balancer has no healthy target.
    Unhealthy,
    /// Nothing says: no health check, or its status was not read (Route 53 then answers it).
    Unknown,
}

impl LegHealth {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unknown => "health unknown",
        }
    }
}

/// One record of an entry point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leg {
    /// The record as discovered.
    pub record: DnsRecord,
    /// The Region of the load balancer it points at, when that load balancer is in the topology.
    pub region: Option<String>,
    /// That load balancer's name.
    pub load_balancer: Option<String>,
    /// That load balancer's ARN.
    pub load_balancer_arn: Option<String>,
    /// Whether Route 53 considers it healthy.
    pub health: LegHealth,
    /// The percentage of answers Route 53 gives with this record now (`None` for latency
    /// routing, which depends on where the user is).
    pub share: Option<u8>,
}

impl Leg {
    /// `PRIMARY`, `SECONDARY`, `weight 100`, the latency Region, or `simple`.
    pub fn role(&self) -> String {
        let r = &self.record;
        if let Some(failover) = &r.failover {
            failover.clone()
        } else if let Some(weight) = r.weight {
            format!("weight {weight}")
        } else if let Some(region) = &r.latency_region {
            format!("latency {region}")
        } else {
            "simple".to_string()
        }
    }

    /// Route 53 answers with this record now (for some users, with latency routing).
    pub fn is_served(&self) -> bool {
        self.share.is_none_or(|s| s > 0)
    }
}

/// A name users reach a stack by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryPoint {
    /// The hosted zone's id.
    pub zone_id: String,
    /// The hosted zone's name, with the final dot.
    pub zone_name: String,
    /// The record name, with the final dot.
    pub name: String,
    /// The record type (`A`, `AAAA`, `CNAME`).
    pub record_type: String,
    /// How Route 53 picks among the legs.
    pub routing: Routing,
    /// The records of that name and type, PRIMARY first, then by weight, then by Region.
    pub legs: Vec<Leg>,
}

impl EntryPoint {
    /// The name without the final dot, as users type it.
    pub fn host(&self) -> &str {
        self.name.trim_end_matches('.')
    }

    /// The leg pointing at a load balancer in `region`.
    pub fn leg_in(&self, region: &str) -> Option<&Leg> {
        self.legs
            .iter()
            .find(|l| l.region.as_deref() == Some(region))
    }

    /// The Regions Route 53 sends users to now.
    pub fn served_regions(&self) -> Vec<&str> {
        self.legs
            .iter()
            .filter(|l| l.is_served())
            .filter_map(|l| l.region.as_deref())
            .collect()
    }

    /// One line for people: `lab.example.com → failover: PRIMARY ap-northeast-2 lab-alb
    /// (healthy, serving) / SECONDARY us-east-1 (none yet)`. `regions` are the Regions in view:
    /// one without a leg is shown as `(none yet)`, with the role a new record there would take.
    pub fn summary(&self, regions: &[&str]) -> String {
        let mut parts: Vec<String> = self.legs.iter().map(|l| self.describe_leg(l)).collect();
        parts.extend(self.absent(regions));
        format!(
            "{} → {}: {}",
            self.host(),
            self.routing.as_str(),
            parts.join(" / ")
        )
    }

    /// The Regions of `regions` without a leg, each as `SECONDARY us-east-1 (none yet)`, with
    /// the role a new record there would take.
    pub fn absent(&self, regions: &[&str]) -> Vec<String> {
        let role = match self.routing {
            Routing::Failover if self.legs.iter().any(|l| is_primary(&l.record)) => "SECONDARY ",
            Routing::Failover => "PRIMARY ",
            _ => "",
        };
        regions
            .iter()
            .filter(|region| self.leg_in(region).is_none())
            .map(|region| format!("{role}{region} (none yet)"))
            .collect()
    }

    /// One leg for people: `PRIMARY ap-northeast-2 lab-alb (healthy, serving)`.
    pub fn describe_leg(&self, leg: &Leg) -> String {
        let role = match self.routing {
            Routing::Failover => leg.record.failover.clone().unwrap_or_default(),
            Routing::Weighted => String::new(),
            Routing::Latency | Routing::Simple => String::new(),
        };
        let place = match (&leg.region, &leg.load_balancer) {
            (Some(region), Some(lb)) => format!("{region} {lb}"),
            _ => leg.record.target().unwrap_or_else(|| "?".to_string()),
        };
        let weight = match (self.routing, leg.record.weight) {
            (Routing::Weighted, Some(w)) => format!(" {w}"),
            _ => String::new(),
        };
        let serving = match (self.routing, leg.share) {
            (Routing::Simple, _) => String::new(),
            (Routing::Weighted, Some(share)) if share > 0 => format!(", {share}% of answers"),
            (_, Some(share)) if share > 0 => ", serving".to_string(),
            _ => String::new(),
        };
        let role = if role.is_empty() { role } else { role + " " };
        format!("{role}{place}{weight} ({}{serving})", leg.health.as_str())
    }
}

fn is_primary(record: &DnsRecord) -> bool {
    record.failover.as_deref() == Some("PRIMARY")
}

/// Every name of the account's hosted zones routed to a load balancer of the topology, sorted by
/// name.
pub fn entry_points(topology: &Topology) -> Vec<EntryPoint> {
    let Some(dns) = &topology.dns else {
        return Vec::new();
    };
    let balancers: BTreeMap<String, (&str, &LoadBalancer)> = topology
        .regions
        .iter()
        .flat_map(|r| {
            r.load_balancers.iter().filter_map(move |lb| {
                let name = lb.dns_name.as_deref()?;
                Some((normalise(name), (r.region.as_str(), lb)))
            })
        })
        .collect();
    let checks: BTreeMap<&str, &DnsHealthCheck> = dns
        .health_checks
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    let mut out = Vec::new();
    for zone in &dns.hosted_zones {
        for ((name, record_type), records) in zone.address_record_sets() {
            let routed = records.iter().any(|r| {
                r.target()
                    .is_some_and(|t| balancers.contains_key(t.as_str()))
            });
            if !routed {
                continue;
            }
            let routing = Routing::of(records[0]);
            let mut legs: Vec<Leg> = records
                .iter()
                .map(|record| {
                    let lb = record.target().and_then(|t| balancers.get(&t).copied());
                    Leg {
                        record: (*record).clone(),
                        region: lb.map(|(region, _)| region.to_string()),
                        load_balancer: lb.map(|(_, lb)| lb.name.clone()),
                        load_balancer_arn: lb.map(|(_, lb)| lb.arn.clone()),
                        health: health(record, &checks, lb, topology),
                        share: None,
                    }
                })
                .collect();
            legs.sort_by(|a, b| {
                let key = |l: &Leg| {
                    (
                        !is_primary(&l.record),
                        std::cmp::Reverse(l.record.weight),
                        l.region.clone(),
                    )
                };
                key(a).cmp(&key(b))
            });
            share(routing, &mut legs);
            out.push(EntryPoint {
                zone_id: zone.id.clone(),
                zone_name: zone.name.clone(),
                name: name.to_string(),
                record_type: record_type.to_string(),
                routing,
                legs,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.zone_id.cmp(&b.zone_id)));
    out
}

fn normalise(dns_name: &str) -> String {
    let name = dns_name.trim_end_matches('.').to_ascii_lowercase();
    name.strip_prefix("dualstack.")
        .map(str::to_string)
        .unwrap_or(name)
}

/// Route 53's view of one record: its health check (inverted and disabled checks as Route 53
/// reads them) and, for an alias evaluating target health, its load balancer's targets.
fn health(
    record: &DnsRecord,
    checks: &BTreeMap<&str, &DnsHealthCheck>,
    lb: Option<(&str, &LoadBalancer)>,
    topology: &Topology,
) -> LegHealth {
    let check = record.health_check_id.as_deref().map(|id| {
        match checks.get(id) {
            Some(c) if c.disabled => LegHealth::Healthy,
            Some(c) => match (c.status.as_deref(), c.inverted) {
                (Some("healthy"), false) | (Some("unhealthy"), true) => LegHealth::Healthy,
                (Some("unhealthy"), false) | (Some("healthy"), true) => LegHealth::Unhealthy,
                _ => LegHealth::Unknown,
            },
            // A health check that no longer exists: Route 53 considers the record healthy, but
            // nothing is checking it.
            None => LegHealth::Unknown,
        }
    });
    let evaluated = record
        .alias
        .as_ref()
        .filter(|a| a.evaluate_target_health)
        .and(lb)
        .map(|(region, lb)| {
            let region = topology.region(region);
            let healthy = lb.listeners.iter().flat_map(|l| l.forwards()).any(|f| {
                region
                    .and_then(|r| r.target_groups.iter().find(|tg| tg.arn == f.arn))
                    .is_some_and(|tg| {
                        tg.targets
                            .iter()
                            .any(|t| t.health == TargetHealthState::Healthy)
                    })
            });
            if healthy {
                LegHealth::Healthy
            } else {
                LegHealth::Unhealthy
            }
        });
    match (check, evaluated) {
        (Some(LegHealth::Unhealthy), _) | (_, Some(LegHealth::Unhealthy)) => LegHealth::Unhealthy,
        (Some(LegHealth::Healthy), _) | (None, Some(LegHealth::Healthy)) => LegHealth::Healthy,
        _ => LegHealth::Unknown,
    }
}

/// Fills in each leg's share of the answers, as Route 53 picks.
fn share(routing: Routing, legs: &mut [Leg]) {
    let healthy = |l: &Leg| l.health != LegHealth::Unhealthy;
    match routing {
        Routing::Latency => {
            let any = legs.iter().any(healthy);
            for leg in legs.iter_mut() {
                leg.share = if healthy(leg) || !any { None } else { Some(0) };
            }
        }
        Routing::Simple => {
            let n = legs.len().max(1) as u32;
            for leg in legs.iter_mut() {
                leg.share = Some((100 / n) as u8);
            }
        }
        Routing::Failover => {
            let primary = legs.iter().position(|l| is_primary(&l.record));
            let secondary = legs
                .iter()
                .position(|l| l.record.failover.as_deref() == Some("SECONDARY"));
            let served = match (primary, secondary) {
                (Some(p), Some(s)) if !healthy(&legs[p]) && healthy(&legs[s]) => Some(s),
                (Some(p), _) => Some(p),
                (None, s) => s,
            };
            for (i, leg) in legs.iter_mut().enumerate() {
                leg.share = Some(if Some(i) == served { 100 } else { 0 });
            }
        }
        Routing::Weighted => {
            let weight = |l: &Leg| l.record.weight.unwrap_or(0).max(0) as u64;
            // Who shares the answers, and by what: the healthy records of nonzero weight; when
            // there are none, the healthy records of weight 0 equally; when none is healthy,
            // every record as if healthy (by weight, or equally when every weight is 0).
            let pool: Vec<(bool, u64)> = if legs.iter().any(|l| healthy(l) && weight(l) > 0) {
                legs.iter()
                    .map(|l| (healthy(l) && weight(l) > 0, weight(l)))
                    .collect()
            } else if legs.iter().any(healthy) {
                legs.iter().map(|l| (healthy(l), 1)).collect()
            } else if legs.iter().any(|l| weight(l) > 0) {
                legs.iter().map(|l| (true, weight(l))).collect()
            } else {
                legs.iter().map(|_| (true, 1)).collect()
            };
            let total: u64 = pool
                .iter()
                .filter(|(in_pool, _)| *in_pool)
                .map(|(_, w)| w)
                .sum();
            for (leg, (in_pool, w)) in legs.iter_mut().zip(pool) {
                let part = if in_pool && total > 0 {
                    w * 100 / total
                } else {
                    0
                };
                leg.share = Some(part as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests;
