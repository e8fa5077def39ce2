//! Moving users between Regions with Route 53: which record names send users to a stack, which
//! Region each of their records leads to, and the records as they are after a move.
//!
//! A failover (`haven failover-region`) or a failback leaves Route 53 as it was unless haven
//! changes it: with failover routing, Route 53 answers with the PRIMARY record again the moment
//! its health check passes, which would send users back to the Region whose database is now
//! stale. So a move always flips the roles, in one change batch (atomic: Route 53 applies all of
//! its changes or none,
//! <https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html>):
//! the Region moved to becomes PRIMARY and the others SECONDARY; with weighted routing, the
//! Region moved to takes the weight the others had (the largest), the others 0.
//!
//! The Region of a record is the Region of the load balancer it aliases when that load balancer
//! is in the topology; else the Region in its target's DNS name (`….<region>.elb.amazonaws.com`);
//! else the Region its set identifier ends with (haven names them `<stack>-<region>`). The lost
//! Region is not read during a failover, so its load balancer is never in the topology then.

use std::collections::BTreeMap;

use crate::front_door::Routing;
use crate::topology::{AliasTarget, DnsRecord, Topology};

/// One record name (and type) sending users to a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackName {
    /// The hosted zone's id.
    pub zone_id: String,
    /// The hosted zone's name, with the final dot.
    pub zone_name: String,
    /// The record name, with the final dot.
    pub name: String,
    /// `A`, `AAAA` or `CNAME`.
    pub record_type: String,
    /// How Route 53 picks among the records.
    pub routing: Routing,
    /// Its records, each with the Region it leads to when known.
    pub records: Vec<(Option<String>, DnsRecord)>,
}

impl StackName {
    /// The name without the final dot.
    pub fn host(&self) -> &str {
        self.name.trim_end_matches('.')
    }

    /// The record leading to `region`.
    pub fn record_in(&self, region: &str) -> Option<&DnsRecord> {
        self.records
            .iter()
            .find(|(r, _)| r.as_deref() == Some(region))
            .map(|(_, record)| record)
    }

    /// `PRIMARY ap-northeast-2, SECONDARY us-east-1` or `ap-northeast-2 255, us-east-1 0`.
    pub fn roles(&self) -> String {
        roles(&self.records)
    }
}

/// `PRIMARY ap-northeast-2, SECONDARY us-east-1` for records with their Regions.
pub fn roles(records: &[(Option<String>, DnsRecord)]) -> String {
    records
        .iter()
        .map(|(region, r)| {
            let place = region
                .clone()
                .or(r.set_identifier.clone())
                .unwrap_or_else(|| "?".to_string());
            match (&r.failover, r.weight) {
                (Some(role), _) => format!("{role} {place}"),
                (None, Some(weight)) => format!("{place} weight {weight}"),
                _ => place,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Region in a load balancer's DNS name: `lab-alb-1.ap-northeast-2.elb.amazonaws.com`.
pub fn region_of_elb_name(dns_name: &str) -> Option<String> {
    let name = dns_name.trim_end_matches('.').to_ascii_lowercase();
    let name = name.strip_prefix("dualstack.").unwrap_or(&name);
    let mut parts = name.split('.');
    let _lb = parts.next()?;
    let region = parts.next()?;
    (parts.next() == Some("elb") && looks_like_region(region)).then(|| region.to_string())
}

/// The Region a record leads to (see the module documentation).
pub fn record_region(record: &DnsRecord, topology: &Topology, stack: &str) -> Option<String> {
    let target = record.target();
    if let Some(target) = &target {
        for region in &topology.regions {
            let found = region.load_balancers.iter().any(|lb| {
                lb.dns_name.as_deref().is_some_and(|n| {
                    let n = n.trim_end_matches('.').to_ascii_lowercase();
                    n.strip_prefix("dualstack.").unwrap_or(&n) == target
                })
            });
            if found {
                return Some(region.region.clone());
            }
        }
        if let Some(region) = region_of_elb_name(target) {
            return Some(region);
        }
    }
    record
        .set_identifier
        .as_deref()
        .and_then(|id| id.strip_prefix(&format!("{stack}-")))
        .filter(|r| looks_like_region(r))
        .map(str::to_string)
}

/// Whether a record is the stack's: its set identifier is `<stack>-<region>`, or it aliases one
/// of the stack's load balancers (`<stack>-alb` in any Region of the topology).
fn is_stack_record(record: &DnsRecord, topology: &Topology, stack: &str) -> bool {
    let by_id = record
        .set_identifier
        .as_deref()
        .and_then(|id| id.strip_prefix(&format!("{stack}-")))
        .is_some_and(looks_like_region);
    let alb = format!("{stack}-alb");
    let by_target = record.target().is_some_and(|t| {
        topology
            .regions
            .iter()
            .flat_map(|r| &r.load_balancers)
            .filter(|lb| lb.name == alb)
            .filter_map(|lb| lb.dns_name.as_deref())
            .any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(&t))
    });
    by_id || by_target
}

/// Every record name of the account's hosted zones that sends users to `stack`, sorted by name.
pub fn stack_names(topology: &Topology, stack: &str) -> Vec<StackName> {
    let Some(dns) = &topology.dns else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for zone in &dns.hosted_zones {
        for ((name, record_type), records) in zone.address_record_sets() {
            if !records.iter().any(|r| is_stack_record(r, topology, stack)) {
                continue;
            }
            let routing = Routing::of(records[0]);
            let mut records: Vec<(Option<String>, DnsRecord)> = records
                .into_iter()
                .map(|r| (record_region(r, topology, stack), r.clone()))
                .collect();
            records.sort_by(|a, b| {
                let key = |(region, r): &(Option<String>, DnsRecord)| {
                    (
                        r.failover.as_deref() != Some("PRIMARY"),
                        std::cmp::Reverse(r.weight),
                        region.clone(),
                    )
                };
                key(a).cmp(&key(b))
            });
            out.push(StackName {
                zone_id: zone.id.clone(),
                zone_name: zone.name.clone(),
                name: name.to_string(),
                record_type: record_type.to_string(),
                routing,
                records,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.zone_id.cmp(&b.zone_id)));
    out
}

/// The record name `host` (`lab.example.com`, final dot or not) of any zone, or of zone
/// `zone` (its id) when given; each record's Region as [`record_region`] finds it.
pub fn named(topology: &Topology, host: &str, zone: Option<&str>) -> Result<StackName, String> {
    let Some(dns) = &topology.dns else {
        return Err("Route 53 was not read".to_string());
    };
    let wanted = format!("{}.", host.trim_end_matches('.').to_ascii_lowercase());
    let mut found: Vec<StackName> = Vec::new();
    for z in dns
        .hosted_zones
        .iter()
        .filter(|z| zone.is_none_or(|id| z.id == id))
    {
        let mut records: Vec<&DnsRecord> = z
            .records
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(&wanted))
            .filter(|r| matches!(r.record_type.as_str(), "A" | "AAAA" | "CNAME"))
            .collect();
        if records.is_empty() {
            continue;
        }
        let record_type = records[0].record_type.clone();
        records.retain(|r| r.record_type == record_type);
        let stack = records[0]
            .set_identifier
            .as_deref()
            .and_then(|id| id.split_once('-'))
            .map_or("", |(stack, _)| stack);
        found.push(StackName {
            zone_id: z.id.clone(),
            zone_name: z.name.clone(),
            name: records[0].name.clone(),
            record_type,
            routing: Routing::of(records[0]),
            records: records
                .into_iter()
                .map(|r| (record_region(r, topology, stack), r.clone()))
                .collect(),
        });
    }
    match found.len() {
        0 => Err(format!(
            "no A, AAAA or CNAME record named {host} in the hosted zones read"
        )),
        1 => Ok(found.remove(0)),
        _ => Err(format!(
            "{host} is in {} hosted zones ({}): choose one with --zone",
            found.len(),
            found
                .iter()
                .map(|n| n.zone_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The record a Region is to get when it has none, or whose alias is to lead to its stack's
/// load balancer now (the DR load balancer a failover has just built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeg {
    /// The Region.
    pub region: String,
    /// Its set identifier when a record is made (`<stack>-<region>`).
    pub set_identifier: String,
    /// The load balancer: its canonical hosted zone id and DNS name.
    pub alias: AliasTarget,
    /// The Route 53 health check of that load balancer, when there is one.
    pub health_check_id: Option<String>,
}

/// The records of `name` after moving its users to `to` (only the records that change), or why
/// not. Empty when they are there already. `leg`, when given, is what the record of `to` must
/// alias (and is made from when `to` has no record).
pub fn move_to(name: &StackName, to: &str, leg: Option<&NewLeg>) -> Result<Vec<DnsRecord>, String> {
    let mut records: Vec<(Option<String>, DnsRecord)> = name.records.clone();
    let mut changed: Vec<bool> = vec![false; records.len()];
    let position = records.iter().position(|(r, _)| r.as_deref() == Some(to));
    let index = match (position, leg) {
        (Some(i), Some(leg)) => {
            let record = &mut records[i].1;
            let alias = AliasTarget {
                evaluate_target_health: record
                    .alias
                    .as_ref()
                    .is_some_and(|a| a.evaluate_target_health),
                ..leg.alias.clone()
            };
            let health = leg
                .health_check_id
                .clone()
                .or(record.health_check_id.clone());
            if record.alias.as_ref().map(normal) != Some(normal(&alias))
                || record.health_check_id != health
            {
                record.alias = Some(alias);
                record.values.clear();
                record.ttl = None;
                record.health_check_id = health;
                changed[i] = true;
            }
            i
        }
        (Some(i), None) => i,
        (None, Some(leg)) => {
            let template = records
                .first()
                .map(|(_, r)| r.clone())
                .ok_or_else(|| format!("{} has no record", name.host()))?;
            records.push((
                Some(leg.region.clone()),
                DnsRecord {
                    set_identifier: Some(leg.set_identifier.clone()),
                    alias: Some(AliasTarget {
                        evaluate_target_health: template
                            .alias
                            .as_ref()
                            .is_some_and(|a| a.evaluate_target_health),
                        ..leg.alias.clone()
                    }),
                    values: Vec::new(),
                    ttl: None,
                    health_check_id: leg.health_check_id.clone(),
                    record_type: if template.record_type == "CNAME" {
                        "A".to_string()
                    } else {
                        template.record_type.clone()
                    },
                    ..template
                },
            ));
            changed.push(true);
            records.len() - 1
        }
        (None, None) => {
            return Err(format!(
                "{} has no record leading to {to} (its records: {}): nothing to move users to",
                name.host(),
                roles(&name.records)
            ));
        }
    };
    match name.routing {
        Routing::Failover => {
            if records.len() > 2 {
                return Err(format!(
                    "{} has {} failover records ({}): Route 53 allows one PRIMARY and one \
                     SECONDARY; remove the extra ones first",
                    name.host(),
                    records.len(),
                    roles(&records)
                ));
            }
            for (i, (_, record)) in records.iter_mut().enumerate() {
                let role = if i == index { "PRIMARY" } else { "SECONDARY" };
                if record.failover.as_deref() != Some(role) {
                    record.failover = Some(role.to_string());
                    changed[i] = true;
                }
            }
        }
        Routing::Weighted => {
            let top = records
                .iter()
                .filter_map(|(_, r)| r.weight)
                .max()
                .unwrap_or(0)
                .max(1);
            for (i, (_, record)) in records.iter_mut().enumerate() {
                let weight = if i == index { top } else { 0 };
                if record.weight != Some(weight) {
                    record.weight = Some(weight);
                    changed[i] = true;
                }
            }
        }
        Routing::Simple | Routing::Latency => {
            return Err(format!(
                "{} uses {} routing: haven moves users with failover or weighted records only",
                name.host(),
                name.routing.as_str()
            ));
        }
    }
    Ok(records
        .into_iter()
        .zip(changed)
        .filter(|(_, c)| *c)
        .map(|((_, r), _)| r)
        .collect())
}

/// The weighted records of `name` with new weights (by set identifier), only those that change.
pub fn set_weights(
    name: &StackName,
    weights: &BTreeMap<String, i64>,
) -> Result<Vec<DnsRecord>, String> {
    if name.routing != Routing::Weighted {
        return Err(format!(
            "{} uses {} routing: weights apply to weighted records only",
            name.host(),
            name.routing.as_str()
        ));
    }
    let ids: Vec<&str> = name
        .records
        .iter()
        .filter_map(|(_, r)| r.set_identifier.as_deref())
        .collect();
    for (id, weight) in weights {
        if !ids.contains(&id.as_str()) {
            return Err(format!(
                "{} has no record {id}; its records are {}",
                name.host(),
                ids.join(", ")
            ));
        }
        if !(0..=255).contains(weight) {
            return Err(format!("weight {weight} of {id}: expected 0–255"));
        }
    }
    Ok(name
        .records
        .iter()
        .filter_map(|(_, r)| {
            let id = r.set_identifier.as_deref()?;
            let weight = *weights.get(id)?;
            (r.weight != Some(weight)).then(|| DnsRecord {
                weight: Some(weight),
                ..r.clone()
            })
        })
        .collect())
}

/// `ap-northeast-2`, `us-gov-west-1`: letters, dashes and a final number.
fn looks_like_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

fn normal(alias: &AliasTarget) -> (String, String) {
    let name = alias.dns_name.trim_end_matches('.').to_ascii_lowercase();
    (
        alias.hosted_zone_id.clone(),
        name.strip_prefix("dualstack.").unwrap_or(&name).to_string(),
    )
}

#[cfg(test)]
mod tests;
