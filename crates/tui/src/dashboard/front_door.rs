//! The front door's lists: `:dns` (one row per Route 53 record that routes users to a load
//! balancer, with its health and the share of answers Route 53 gives it now) and `:certs` (ACM
//! certificates, their expiry and what uses them).

use haven_model::Topology;
use haven_model::front_door::{EntryPoint, Leg, LegHealth, entry_points};

use super::rows::{Cell, ListKind, ListModel, Row, RowRef, col, finish};
use super::style::{Tone, status_tone};

/// The tone of a record's health.
pub fn health_tone(health: LegHealth) -> Tone {
    match health {
        LegHealth::Healthy => Tone::Good,
        LegHealth::Unhealthy => Tone::Bad,
        LegHealth::Unknown => Tone::Warn,
    }
}

/// `100 %`, `0 %`, or `by latency`.
pub fn share_text(leg: &Leg) -> String {
    leg.share
        .map_or_else(|| "by latency".to_string(), |s| format!("{s} %"))
}

/// The index of a Region in the topology, for a row's reference: the leg's own Region, else
/// the first Region another leg of the entry point is in, else the first Region.
fn region_index(topology: &Topology, entry: &EntryPoint, leg: &Leg) -> Option<usize> {
    let index = |code: &str| topology.regions.iter().position(|r| r.region == code);
    leg.region
        .as_deref()
        .and_then(index)
        .or_else(|| entry.legs.iter().find_map(|l| index(l.region.as_deref()?)))
        .or((!topology.regions.is_empty()).then_some(0))
}

pub(super) fn records(topology: &Topology) -> ListModel {
    let checks = topology
        .dns
        .as_ref()
        .map(|d| d.health_checks.as_slice())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for (i, entry) in entry_points(topology).iter().enumerate() {
        for leg in &entry.legs {
            let check = leg
                .record
                .health_check_id
                .as_deref()
                .and_then(|id| checks.iter().find(|c| c.id == id));
            let ttl = match (&leg.record.alias, leg.record.ttl) {
                (Some(_), _) => "alias".to_string(),
                (None, Some(ttl)) => format!("{ttl} s"),
                (None, None) => "-".to_string(),
            };
            let target = match (&leg.region, &leg.load_balancer) {
                (Some(region), Some(lb)) => format!("{region} {lb}"),
                _ => leg.record.target().unwrap_or_else(|| "-".into()),
            };
            let check_text = match check {
                Some(c) => format!(
                    "{} {}",
                    c.id.get(..8).unwrap_or(&c.id),
                    c.last_report.as_deref().unwrap_or("no report")
                ),
                None if leg.record.health_check_id.is_some() => "missing".to_string(),
                None => "-".to_string(),
            };
            rows.push(Row {
                cells: vec![
                    Cell::text(entry.host()),
                    Cell::text(entry.routing.as_str()),
                    Cell::text(leg.role()),
                    Cell::text(target),
                    Cell::toned(leg.health.as_str(), health_tone(leg.health)),
                    Cell::toned(
                        share_text(leg),
                        if leg.is_served() {
                            Tone::Good
                        } else {
                            Tone::Dim
                        },
                    ),
                    Cell::text(ttl),
                    Cell::text(check_text),
                ],
                target: RowRef {
                    region: region_index(topology, entry, leg),
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key: format!(
                    "{}/{}/{}",
                    entry.zone_id,
                    entry.name,
                    leg.record.set_identifier.as_deref().unwrap_or("")
                ),
            });
        }
    }
    finish(
        ListKind::Dns,
        vec![
            col("NAME", 22),
            col("ROUTING", 9),
            col("ROLE", 11),
            col("POINTS AT", 30),
            col("HEALTH", 10),
            col("ANSWERS", 10),
            col("TTL", 6),
            col("HEALTH CHECK", 30),
        ],
        rows,
    )
}

pub(super) fn certificates(topology: &Topology) -> ListModel {
    // Days to expiry as of the discovery (the list is built once per topology).
    let now = topology.taken_at;
    let mut rows = Vec::new();
    for (ri, region) in topology.regions.iter().enumerate() {
        for (i, c) in region.certificates.iter().enumerate() {
            let days = c.not_after.map(|d| (d - now).num_days());
            let expiry = match (c.not_after, days) {
                (Some(d), Some(days)) => Cell::toned(
                    format!("{} ({days} d)", d.format("%Y-%m-%d")),
                    if days <= 30 { Tone::Bad } else { Tone::Normal },
                ),
                _ => Cell::text("-"),
            };
            let used = if c.in_use_by.is_empty() {
                Cell::toned("nothing", Tone::Warn)
            } else {
                Cell::text(
                    c.in_use_by
                        .iter()
                        .map(|arn| arn.rsplit(['/', ':']).nth(1).unwrap_or(arn))
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            };
            rows.push(Row {
                cells: vec![
                    Cell::text(&region.region),
                    Cell::text(&c.domain_name),
                    Cell::toned(&c.status, status_tone(&c.status.to_ascii_lowercase())),
                    Cell::text(c.certificate_type.as_deref().unwrap_or("-")),
                    expiry,
                    used,
                    Cell::text(c.arn.rsplit('/').next().unwrap_or(&c.arn)),
                ],
                target: RowRef {
                    region: Some(ri),
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key: c.arn.clone(),
            });
        }
    }
    finish(
        ListKind::Certs,
        vec![
            col("REGION", 15),
            col("DOMAIN", 24),
            col("STATUS", 20),
            col("TYPE", 14),
            col("EXPIRES", 18),
            col("IN USE BY", 24),
            col("ID", 36),
        ],
        rows,
    )
}
