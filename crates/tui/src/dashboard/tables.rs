//! The resource lists (`:ec2 :asg :lb …`): one row model per kind, built once when the topology
//! changes, then filtered and sorted by index so drawing only touches the visible rows.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use haven_model::relations::DbRole;
use haven_model::signals::{Metric, SeriesKey};
use haven_model::{LoadBalancer, RegionTopology, Topology, name_tag};

use super::rows::{Cell, IamPart, ListKind, ListModel, Row, RowRef, col, finish};
use super::sparkline::{Live, Reading, allocated_bytes, level_tone};
use super::style::{Tone, health_tone, status_text, status_tone};

fn instance_state_tone(state: haven_model::InstanceState) -> Tone {
    use haven_model::InstanceState as S;
    match state {
        S::Running => Tone::Good,
        S::Pending | S::Stopping | S::ShuttingDown => Tone::Busy,
        S::Stopped => Tone::Bad,
        S::Terminated | S::Unknown => Tone::Dim,
    }
}

fn status_cell(status: &str) -> Cell {
    Cell::toned(status_text(status), status_tone(status))
}

fn row(region: usize, index: usize, key: String, cells: Vec<Cell>) -> Row {
    Row {
        cells,
        target: RowRef {
            region: Some(region),
            index,
            iam: None,
        },
        haystack: String::new(),
        key,
    }
}

/// How a VPC is named in lists: its Name tag, `default`, or its id.
fn vpc_labels(region: &RegionTopology) -> HashMap<&str, &str> {
    region
        .vpcs
        .iter()
        .map(|v| {
            let label = name_tag(&v.tags).unwrap_or(if v.is_default {
                "default"
            } else {
                v.id.as_str()
            });
            (v.id.as_str(), label)
        })
        .collect()
}

fn regional(topology: &Topology) -> impl Iterator<Item = (usize, &RegionTopology)> {
    topology.regions.iter().enumerate()
}

/// Target health of every instance registered in a target group of the Region: the worst state
/// wins, with the group count.
pub fn instance_target_health(
    region: &RegionTopology,
) -> HashMap<&str, haven_model::TargetHealthState> {
    use haven_model::TargetHealthState as H;
    let rank = |h: H| match h {
        H::Healthy => 0,
        H::Initial | H::Draining => 1,
        H::Unavailable | H::Unknown => 2,
        H::Unused => 3,
        H::Unhealthy => 4,
    };
    let mut by_instance: HashMap<&str, H> = HashMap::new();
    for tg in &region.target_groups {
        for target in &tg.targets {
            by_instance
                .entry(target.id.as_str())
                .and_modify(|h| {
                    if rank(target.health) > rank(*h) {
                        *h = target.health;
                    }
                })
                .or_insert(target.health);
        }
    }
    by_instance
}

/// Cells of a sparkline and its value: `▂▃▅▆▇█ 42%`.
const GAUGE_WIDTH: u16 = 14;

/// Sparkline cells in a list.
const LIST_SPARK: usize = 8;

/// A series' value as a list cell, sortable by it: `…` before the first read, `-` without
/// data.
fn value(live: Live<'_>, key: &SeriesKey, allocated: Option<f64>) -> Cell {
    reading_cell(live, live.latest(key, allocated), None)
}

/// A series' sparkline and value as a list cell.
fn gauge(live: Live<'_>, key: &SeriesKey, allocated: Option<f64>) -> Cell {
    reading_cell(
        live,
        live.latest(key, allocated),
        live.spark(key, LIST_SPARK),
    )
}

fn reading_cell(live: Live<'_>, reading: Option<Reading>, spark: Option<String>) -> Cell {
    match reading {
        _ if !live.read() => Cell::Gauge("…".into(), Tone::Dim, i64::MIN),
        None => Cell::Gauge("-".into(), Tone::Dim, i64::MIN),
        Some(reading) => {
            let text = match spark {
                Some(spark) => format!("{spark} {}", reading.text),
                None => reading.text,
            };
            Cell::Gauge(text, reading.tone, order(reading.value))
        }
    }
}

fn order(value: f64) -> i64 {
    (value * 1000.0).clamp(i64::MIN as f64 / 2.0, i64::MAX as f64 / 2.0) as i64
}

/// A load balancer's requests a minute over its AZs (sparkline of the busiest AZ).
fn lb_requests(live: Live<'_>, region: &str, lb: &LoadBalancer) -> Cell {
    let keys: Vec<SeriesKey> = lb
        .zones
        .iter()
        .map(|z| SeriesKey::in_az(region, &lb.arn, &z.availability_zone, Metric::Requests))
        .collect();
    let total: Option<f64> = keys
        .iter()
        .filter_map(|k| live.signals.latest(k))
        .reduce(|a, b| a + b);
    let busiest = keys.iter().max_by(|a, b| {
        let v = |k| live.signals.latest(k).unwrap_or(0.0);
        v(a).total_cmp(&v(b))
    });
    let reading = total.map(|value| Reading {
        text: Metric::Requests.format(value),
        tone: Tone::Normal,
        value,
    });
    reading_cell(
        live,
        reading,
        busiest.and_then(|k| live.spark(k, LIST_SPARK)),
    )
}

/// The worst AZ's reading of a load balancer (by tone, then value).
fn lb_worst(
    live: Live<'_>,
    lb: &LoadBalancer,
    read: impl Fn(Live<'_>, &str) -> Option<Reading>,
) -> Cell {
    let rank = |r: &Reading| match r.tone {
        Tone::Bad => 2,
        Tone::Warn => 1,
        _ => 0,
    };
    let worst = lb
        .zones
        .iter()
        .filter_map(|z| read(live, &z.availability_zone))
        .max_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| a.value.total_cmp(&b.value))
        });
    reading_cell(live, worst, None)
}

/// A target group's healthy and unhealthy hosts as CloudWatch counted them, over its AZs.
fn tg_hosts(live: Live<'_>, region: &RegionTopology, tg: &haven_model::TargetGroup) -> Cell {
    let azs: Vec<&str> = region
        .load_balancers
        .iter()
        .filter(|lb| tg.load_balancer_arns.contains(&lb.arn))
        .flat_map(|lb| lb.zones.iter().map(|z| z.availability_zone.as_str()))
        .collect();
    let mut healthy = None;
    let mut unhealthy = 0.0;
    for az in azs {
        let read = |m| {
            live.signals
                .latest(&SeriesKey::in_az(&region.region, &tg.arn, az, m))
        };
        if let Some(v) = read(Metric::HealthyHosts) {
            healthy = Some(healthy.unwrap_or(0.0) + v);
        }
        unhealthy += read(Metric::UnhealthyHosts).unwrap_or(0.0);
    }
    let reading = healthy.map(|value| {
        let tone = if unhealthy > 0.0 {
            Tone::Warn.max_with(level_tone(live.thresholds.judge_healthy(value)))
        } else {
            level_tone(live.thresholds.judge_healthy(value))
        };
        Reading {
            text: format!("{value:.0}✓ {unhealthy:.0}✗"),
            tone,
            value,
        }
    });
    reading_cell(live, reading, None)
}

pub(super) fn ec2(topology: &Topology, live: Live<'_>) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        let health = instance_target_health(region);
        let subnet_names: HashMap<&str, &str> = region
            .subnets
            .iter()
            .map(|s| (s.id.as_str(), name_tag(&s.tags).unwrap_or(s.id.as_str())))
            .collect();
        let asg_of: HashMap<&str, &str> = region
            .auto_scaling_groups
            .iter()
            .flat_map(|g| {
                g.instances
                    .iter()
                    .map(move |m| (m.instance_id.as_str(), g.name.as_str()))
            })
            .collect();
        for (i, inst) in region.instances.iter().enumerate() {
            let state = inst.state;
            let state_text = if state.is_transitional() {
                format!("{}…", state.as_str())
            } else {
                state.as_str().to_string()
            };
            let (health_text, health_tone_) = match health.get(inst.id.as_str()) {
                Some(h) => (h.as_str().to_string(), health_tone(*h)),
                None => ("-".to_string(), Tone::Dim),
            };
            let asg = asg_of
                .get(inst.id.as_str())
                .copied()
                .or_else(|| region.asg_for_instance(&inst.id).map(|g| g.name.as_str()));
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, inst.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&inst.id),
                    Cell::opt(name_tag(&inst.tags)),
                    Cell::toned(state_text, instance_state_tone(state)),
                    Cell::toned(health_text, health_tone_),
                    Cell::text(&inst.availability_zone),
                    Cell::opt(
                        inst.subnet_id
                            .as_deref()
                            .map(|s| subnet_names.get(s).copied().unwrap_or(s)),
                    ),
                    Cell::opt(inst.private_ip.as_deref()),
                    Cell::text(&inst.instance_type),
                    Cell::opt(asg),
                    gauge(
                        live,
                        &SeriesKey::new(&region.region, &inst.id, Metric::Cpu),
                        None,
                    ),
                    Cell::Time(inst.launch_time),
                ],
            ));
        }
    }
    finish(
        ListKind::Ec2,
        vec![
            col("REGION", 15),
            col("ID", 20),
            col("NAME", 14),
            col("STATE", 13),
            col("TARGET", 9),
            col("AZ", 15),
            col("SUBNET", 15),
            col("PRIVATE IP", 13),
            col("TYPE", 9),
            col("ASG", 12),
            col("CPU", GAUGE_WIDTH),
            col("AGE", 5),
        ],
        rows,
    )
}

pub(super) fn asg(topology: &Topology, signals: Live<'_>) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, g) in region.auto_scaling_groups.iter().enumerate() {
            let live: usize = region.asg_instances_by_az(g).values().map(Vec::len).sum();
            let in_service = g
                .instances
                .iter()
                .filter(|m| m.lifecycle_state == "InService" && m.health_status == "Healthy")
                .count();
            let tone = if in_service as i32 >= g.desired_capacity {
                Tone::Good
            } else if in_service == 0 && g.desired_capacity > 0 {
                Tone::Bad
            } else {
                Tone::Warn
            };
            let azs: Vec<String> = g.availability_zones.iter().map(|a| a.to_string()).collect();
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, g.name),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&g.name),
                    Cell::toned(format!("{in_service}/{}", g.desired_capacity), tone),
                    Cell::Number(i64::from(g.min_size)),
                    Cell::Number(i64::from(g.max_size)),
                    Cell::Number(live as i64),
                    Cell::text(azs.join(",")),
                    Cell::text(&g.health_check_type),
                    Cell::opt(
                        g.launch_template
                            .as_ref()
                            .and_then(|lt| lt.name.as_deref().or(lt.id.as_deref())),
                    ),
                    gauge(
                        signals,
                        &SeriesKey::new(&region.region, &g.name, Metric::Cpu),
                        None,
                    ),
                    value(
                        signals,
                        &SeriesKey::new(&region.region, &g.name, Metric::InService),
                        None,
                    ),
                    Cell::Time(g.created_at),
                ],
            ));
        }
    }
    finish(
        ListKind::Asg,
        vec![
            col("REGION", 15),
            col("NAME", 18),
            col("HEALTHY/DESIRED", 16),
            col("MIN", 4),
            col("MAX", 4),
            col("LIVE", 5),
            col("AZS", 34),
            col("CHECK", 6),
            col("TEMPLATE", 14),
            col("CPU", GAUGE_WIDTH),
            col("IN SERVICE", 10),
            col("AGE", 6),
        ],
        rows,
    )
}

/// Classic Load Balancers, after the v2 ones (row index = v2 count + position): legacy, their
/// type says so in yellow; no per-AZ health or live signals are read for them.
fn classic_rows(ri: usize, region: &RegionTopology, rows: &mut Vec<Row>) {
    let first = region.load_balancers.len();
    for (j, clb) in region.classic_load_balancers.iter().enumerate() {
        let listeners: Vec<String> = clb.listeners.iter().map(|l| l.label()).collect();
        let azs: Vec<&str> = clb
            .availability_zones
            .iter()
            .map(|az| az.strip_prefix(region.region.as_str()).unwrap_or(az))
            .collect();
        rows.push(row(
            ri,
            first + j,
            format!("{}/{}", region.region, clb.name),
            vec![
                Cell::text(&region.region),
                Cell::text(&clb.name),
                Cell::toned("classic", Tone::Warn),
                Cell::text(&clb.scheme),
                Cell::toned("legacy", Tone::Warn),
                Cell::text(format!(
                    "{} inst. in {}",
                    clb.instance_ids.len(),
                    azs.join(",")
                )),
                Cell::opt(None),
                Cell::opt(None),
                Cell::opt(None),
                Cell::text(listeners.join(",")),
                Cell::opt(clb.dns_name.as_deref()),
            ],
        ));
    }
}

pub(super) fn lb(topology: &Topology, live: Live<'_>) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, lb) in region.load_balancers.iter().enumerate() {
            let by_az = region.load_balancer_health_by_az(lb);
            let per_az: Vec<String> = by_az
                .iter()
                .map(|(az, c)| {
                    let suffix = az.strip_prefix(region.region.as_str()).unwrap_or(az);
                    format!("{suffix}:{}/{}", c.healthy, c.total)
                })
                .collect();
            let worst = if by_az.values().all(|c| c.healthy > 0) {
                Tone::Good
            } else if by_az.values().all(|c| c.healthy == 0) {
                Tone::Bad
            } else {
                Tone::Warn
            };
            let listeners: Vec<String> = lb
                .listeners
                .iter()
                .map(|l| {
                    format!(
                        "{}:{}",
                        l.protocol.as_deref().unwrap_or("?"),
                        l.port.map_or("?".into(), |p| p.to_string())
                    )
                })
                .collect();
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, lb.name),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&lb.name),
                    Cell::text(&lb.lb_type),
                    Cell::text(&lb.scheme),
                    status_cell(&lb.state),
                    Cell::toned(per_az.join(" "), worst),
                    lb_requests(live, &region.region, lb),
                    lb_worst(live, lb, |live, az| {
                        live.error_rate(&region.region, &lb.arn, az)
                    }),
                    lb_worst(live, lb, |live, az| {
                        live.latest(
                            &SeriesKey::in_az(&region.region, &lb.arn, az, Metric::ResponseTime),
                            None,
                        )
                    }),
                    Cell::text(listeners.join(",")),
                    Cell::opt(lb.dns_name.as_deref()),
                ],
            ));
        }
        classic_rows(ri, region, &mut rows);
    }
    finish(
        ListKind::Lb,
        vec![
            col("REGION", 15),
            col("NAME", 20),
            col("TYPE", 12),
            col("SCHEME", 16),
            col("STATE", 10),
            col("HEALTHY PER AZ", 22),
            col("REQ/MIN", GAUGE_WIDTH),
            col("5XX", 6),
            col("LATENCY", 8),
            col("LISTENERS", 12),
            col("DNS NAME", 40),
        ],
        rows,
    )
}

pub(super) fn tg(topology: &Topology, live: Live<'_>) -> ListModel {
    use haven_model::TargetHealthState as H;
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, tg) in region.target_groups.iter().enumerate() {
            let count = |h: H| tg.targets.iter().filter(|t| t.health == h).count() as i64;
            let healthy = count(H::Healthy);
            let stale = region.stale_targets(tg).len() as i64;
            let lbs: Vec<&str> = tg
                .load_balancer_arns
                .iter()
                .map(|arn| {
                    region
                        .load_balancers
                        .iter()
                        .find(|l| &l.arn == arn)
                        .map_or(arn.as_str(), |l| l.name.as_str())
                })
                .collect();
            let total = tg.targets.len() as i64;
            let tone = if total > 0 && healthy == total {
                Tone::Good
            } else if healthy == 0 {
                Tone::Bad
            } else {
                Tone::Warn
            };
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, tg.name),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&tg.name),
                    Cell::text(format!(
                        "{}:{}",
                        tg.protocol.as_deref().unwrap_or("-"),
                        tg.port.map_or("-".into(), |p| p.to_string())
                    )),
                    Cell::text(&tg.target_type),
                    Cell::toned(format!("{healthy}/{total}"), tone),
                    Cell::Number(count(H::Unhealthy)),
                    Cell::Number(count(H::Unused)),
                    Cell::Number(count(H::Initial) + count(H::Draining)),
                    Cell::toned(
                        stale.to_string(),
                        if stale > 0 { Tone::Warn } else { Tone::Normal },
                    ),
                    tg_hosts(live, region, tg),
                    Cell::text(lbs.join(",")),
                    Cell::opt(tg.health_check.path.as_deref()),
                ],
            ));
        }
    }
    finish(
        ListKind::Tg,
        vec![
            col("REGION", 15),
            col("NAME", 22),
            col("PROTO", 9),
            col("TYPE", 9),
            col("HEALTHY", 8),
            col("UNHEALTHY", 9),
            col("UNUSED", 6),
            col("CHANGING", 8),
            col("STALE", 5),
            col("CW HOSTS", 10),
            col("LOAD BALANCERS", 22),
            col("CHECK", 10),
        ],
        rows,
    )
}

pub(super) fn rds(topology: &Topology, live: Live<'_>) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, db) in region.db_instances.iter().enumerate() {
            let role = region.db_role(db);
            let key = |metric| SeriesKey::new(&region.region, &db.identifier, metric);
            let source = db.read_replica_source.as_deref().map(|s| {
                haven_model::arn::Arn::parse(s).map_or(s.to_string(), |a| {
                    format!("{}/{}", a.region, a.resource_id())
                })
            });
            let multi_az = if db.multi_az {
                Cell::toned(
                    format!(
                        "yes ({})",
                        db.secondary_availability_zone
                            .as_deref()
                            .unwrap_or("other AZ")
                    ),
                    Tone::Good,
                )
            } else if role == DbRole::Writer {
                Cell::toned("no", Tone::Warn)
            } else {
                Cell::toned("no", Tone::Dim)
            };
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, db.identifier),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&db.identifier),
                    Cell::text(role.as_str()),
                    Cell::text(format!(
                        "{} {}",
                        db.engine,
                        db.engine_version.as_deref().unwrap_or("")
                    )),
                    Cell::text(&db.class),
                    status_cell(&db.status),
                    // The signals before the wide columns, so that 160 columns show them.
                    gauge(live, &key(Metric::Cpu), None),
                    value(live, &key(Metric::Connections), None),
                    value(live, &key(Metric::FreeStorage), allocated_bytes(db)),
                    if db.read_replica_source.is_some() {
                        gauge(live, &key(Metric::ReplicaLag), None)
                    } else {
                        Cell::toned("-", Tone::Dim)
                    },
                    Cell::opt(db.availability_zone.as_deref()),
                    multi_az,
                    Cell::opt(source.as_deref()),
                    Cell::Time(db.created_at),
                ],
            ));
        }
    }
    finish(
        ListKind::Rds,
        vec![
            col("REGION", 15),
            col("IDENTIFIER", 18),
            col("ROLE", 8),
            col("ENGINE", 13),
            col("CLASS", 12),
            col("STATUS", 12),
            col("CPU", GAUGE_WIDTH),
            col("CONN", 5),
            col("FREE", 8),
            col("LAG", GAUGE_WIDTH),
            col("AZ", 16),
            col("MULTI-AZ", 22),
            col("SOURCE", 26),
            col("AGE", 6),
        ],
        rows,
    )
}

pub(super) fn db_snapshots(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, s) in region.db_snapshots.iter().enumerate() {
            let copy_of = s.source_snapshot.as_deref().map(|src| {
                haven_model::arn::Arn::parse(src).map_or(src.to_string(), |a| {
                    format!("{}/{}", a.region, a.resource_id())
                })
            });
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, s.identifier),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&s.identifier),
                    Cell::opt(
                        s.instance_identifier
                            .as_deref()
                            .or(s.cluster_identifier.as_deref()),
                    ),
                    Cell::text(&s.snapshot_type),
                    status_cell(&s.status),
                    Cell::opt(copy_of.as_deref()),
                    Cell::Time(s.created_at),
                ],
            ));
        }
    }
    finish(
        ListKind::DbSnap,
        vec![
            col("REGION", 15),
            col("IDENTIFIER", 26),
            col("OF", 18),
            col("TYPE", 10),
            col("STATUS", 12),
            col("COPY OF", 30),
            col("AGE", 6),
        ],
        rows,
    )
}

pub(super) fn ami(topology: &Topology) -> ListModel {
    let copies: HashMap<(String, String), String> = topology
        .image_copies()
        .into_iter()
        .map(|c| {
            (
                (c.copy.region, c.copy.id),
                format!("{}/{}", c.source.region, c.source.id),
            )
        })
        .collect();
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, image) in region.images.iter().enumerate() {
            let copy_of = copies.get(&(region.region.clone(), image.id.clone()));
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, image.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&image.id),
                    Cell::opt(image.name.as_deref()),
                    status_cell(&image.state),
                    Cell::toned(
                        if image.public { "public" } else { "private" },
                        if image.public {
                            Tone::Bad
                        } else {
                            Tone::Normal
                        },
                    ),
                    Cell::opt(copy_of.map(String::as_str)),
                    Cell::Time(image.created_at),
                ],
            ));
        }
    }
    finish(
        ListKind::Ami,
        vec![
            col("REGION", 15),
            col("ID", 22),
            col("NAME", 20),
            col("STATE", 11),
            col("SHARING", 8),
            col("COPY OF", 40),
            col("AGE", 6),
        ],
        rows,
    )
}

pub(super) fn snap(topology: &Topology) -> ListModel {
    let copies: HashMap<(String, String), String> = topology
        .snapshot_copies()
        .into_iter()
        .map(|c| {
            (
                (c.copy.region, c.copy.id),
                format!("{}/{}", c.source.region, c.source.id),
            )
        })
        .collect();
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, s) in region.snapshots.iter().enumerate() {
            let copy_of = copies.get(&(region.region.clone(), s.id.clone()));
            let state = match (&s.progress, status_tone(&s.state)) {
                (Some(p), Tone::Busy) => format!("{} {p}", status_text(&s.state)),
                _ => status_text(&s.state),
            };
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, s.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&s.id),
                    Cell::opt(name_tag(&s.tags)),
                    Cell::toned(state, status_tone(&s.state)),
                    Cell::Number(i64::from(s.volume_size_gib.unwrap_or(0))),
                    Cell::toned(
                        if s.encrypted { "yes" } else { "no" },
                        if s.encrypted {
                            Tone::Normal
                        } else {
                            Tone::Warn
                        },
                    ),
                    Cell::opt(copy_of.map(String::as_str)),
                    Cell::Time(s.started_at),
                ],
            ));
        }
    }
    finish(
        ListKind::Snap,
        vec![
            col("REGION", 15),
            col("ID", 23),
            col("NAME", 16),
            col("STATE", 14),
            col("GIB", 5),
            col("ENCRYPTED", 9),
            col("COPY OF", 40),
            col("AGE", 6),
        ],
        rows,
    )
}

fn rule_text(rule: &haven_model::SecurityGroupRule, sg_names: &HashMap<&str, &str>) -> String {
    let ports = match (rule.protocol.as_str(), rule.from_port, rule.to_port) {
        ("-1", _, _) => "all".to_string(),
        (p, Some(a), Some(b)) if a == b => format!("{p}/{a}"),
        (p, Some(a), Some(b)) => format!("{p}/{a}-{b}"),
        (p, _, _) => p.to_string(),
    };
    let peer = match &rule.peer {
        haven_model::RulePeer::Cidr(c) | haven_model::RulePeer::Ipv6Cidr(c) => c.clone(),
        haven_model::RulePeer::SecurityGroup(id) => sg_names
            .get(id.as_str())
            .map_or(id.clone(), |n| (*n).to_string()),
        haven_model::RulePeer::PrefixList(p) => p.clone(),
    };
    format!("{ports}←{peer}")
}

pub(super) fn sg(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        let names: HashMap<&str, &str> = region
            .security_groups
            .iter()
            .map(|g| (g.id.as_str(), g.name.as_str()))
            .collect();
        let vpc_names = vpc_labels(region);
        for (i, g) in region.security_groups.iter().enumerate() {
            let ingress: Vec<String> = g.ingress.iter().map(|r| rule_text(r, &names)).collect();
            let open_world = g.ingress.iter().any(|r| {
                matches!(&r.peer, haven_model::RulePeer::Cidr(c) if c == "0.0.0.0/0")
                    && !matches!(
                        (r.from_port, r.to_port),
                        (Some(80), Some(80)) | (Some(443), Some(443))
                    )
            });
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, g.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&g.id),
                    Cell::text(&g.name),
                    Cell::opt(
                        g.vpc_id
                            .as_deref()
                            .map(|v| vpc_names.get(v).copied().unwrap_or(v)),
                    ),
                    Cell::toned(
                        if ingress.is_empty() {
                            "-".to_string()
                        } else {
                            ingress.join(" ")
                        },
                        if open_world { Tone::Warn } else { Tone::Normal },
                    ),
                    Cell::Number(g.egress.len() as i64),
                    Cell::text(&g.description),
                ],
            ));
        }
    }
    finish(
        ListKind::Sg,
        vec![
            col("REGION", 15),
            col("ID", 21),
            col("NAME", 14),
            col("VPC", 14),
            col("INGRESS", 40),
            col("EGRESS", 6),
            col("DESCRIPTION", 30),
        ],
        rows,
    )
}

pub(super) fn subnet(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        let vpc_names = vpc_labels(region);
        for (i, s) in region.subnets.iter().enumerate() {
            let public = region.subnet_is_public(&s.id);
            let nat = region.nat_for_subnet(&s.id);
            let nat_az = region.nat_az_for_subnet(&s.id);
            let nat_cell = match (nat, nat_az) {
                (Some(n), Some(az)) if az == s.availability_zone => {
                    Cell::toned(format!("{} (same AZ)", n.id), Tone::Good)
                }
                (Some(n), Some(az)) => Cell::toned(format!("{} (in {az})", n.id), Tone::Warn),
                (Some(n), None) => Cell::text(&n.id),
                (None, _) if public => Cell::toned("igw", Tone::Dim),
                (None, _) => Cell::toned("none", Tone::Dim),
            };
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, s.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&s.id),
                    Cell::opt(name_tag(&s.tags)),
                    Cell::text(
                        vpc_names
                            .get(s.vpc_id.as_str())
                            .copied()
                            .unwrap_or(&s.vpc_id),
                    ),
                    Cell::text(&s.availability_zone),
                    Cell::text(&s.cidr_block),
                    Cell::toned(
                        if public { "public" } else { "private" },
                        if public { Tone::Normal } else { Tone::Dim },
                    ),
                    nat_cell,
                    Cell::Number(i64::from(s.available_ip_address_count)),
                ],
            ));
        }
    }
    finish(
        ListKind::Subnet,
        vec![
            col("REGION", 15),
            col("ID", 25),
            col("NAME", 18),
            col("VPC", 14),
            col("AZ", 16),
            col("CIDR", 16),
            col("TYPE", 8),
            col("EGRESS NAT", 34),
            col("FREE IPS", 8),
        ],
        rows,
    )
}

pub(super) fn vpc(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, v) in region.vpcs.iter().enumerate() {
            let subnets = region.subnets.iter().filter(|s| s.vpc_id == v.id).count();
            let instances = region
                .instances
                .iter()
                .filter(|x| x.vpc_id.as_deref() == Some(v.id.as_str()))
                .count();
            let igw = region
                .internet_gateways
                .iter()
                .find(|g| g.attached_vpc_ids.contains(&v.id))
                .map(|g| g.id.as_str());
            let nats = region
                .nat_gateways
                .iter()
                .filter(|n| n.vpc_id == v.id)
                .count();
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, v.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&v.id),
                    Cell::opt(name_tag(&v.tags)),
                    Cell::text(&v.cidr_block),
                    Cell::toned(
                        if v.is_default { "yes" } else { "no" },
                        if v.is_default {
                            Tone::Dim
                        } else {
                            Tone::Normal
                        },
                    ),
                    Cell::Number(subnets as i64),
                    Cell::Number(instances as i64),
                    Cell::Number(nats as i64),
                    Cell::opt(igw),
                    status_cell(&v.state),
                ],
            ));
        }
    }
    finish(
        ListKind::Vpc,
        vec![
            col("REGION", 15),
            col("ID", 22),
            col("NAME", 14),
            col("CIDR", 15),
            col("DEFAULT", 7),
            col("SUBNETS", 7),
            col("INSTANCES", 9),
            col("NATS", 5),
            col("IGW", 22),
            col("STATE", 10),
        ],
        rows,
    )
}

pub(super) fn nat(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, n) in region.nat_gateways.iter().enumerate() {
            let subnet = region.subnet(&n.subnet_id);
            let users = region
                .subnets
                .iter()
                .filter(|s| region.nat_for_subnet(&s.id).is_some_and(|x| x.id == n.id))
                .count();
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, n.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&n.id),
                    Cell::opt(name_tag(&n.tags)),
                    status_cell(&n.state),
                    Cell::opt(subnet.map(|s| s.availability_zone.as_str())),
                    Cell::opt(subnet.map(|s| name_tag(&s.tags).unwrap_or(s.id.as_str()))),
                    Cell::Number(users as i64),
                    Cell::text(n.public_ips.join(",")),
                ],
            ));
        }
    }
    finish(
        ListKind::Nat,
        vec![
            col("REGION", 15),
            col("ID", 22),
            col("NAME", 14),
            col("STATE", 11),
            col("AZ", 16),
            col("SUBNET", 16),
            col("USED BY", 7),
            col("PUBLIC IPS", 16),
        ],
        rows,
    )
}

pub(super) fn rtb(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, rt) in region.route_tables.iter().enumerate() {
            let default_route = rt
                .routes
                .iter()
                .find(|r| r.destination == "0.0.0.0/0")
                .map(|r| match &r.target {
                    haven_model::RouteTarget::Local => "local".to_string(),
                    haven_model::RouteTarget::InternetGateway(id)
                    | haven_model::RouteTarget::NatGateway(id)
                    | haven_model::RouteTarget::VpcEndpoint(id)
                    | haven_model::RouteTarget::TransitGateway(id)
                    | haven_model::RouteTarget::VpcPeering(id)
                    | haven_model::RouteTarget::NetworkInterface(id)
                    | haven_model::RouteTarget::Other(id) => id.clone(),
                });
            let main = rt.associations.iter().any(|a| a.main);
            let subnets = rt
                .associations
                .iter()
                .filter(|a| a.subnet_id.is_some())
                .count();
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, rt.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&rt.id),
                    Cell::opt(name_tag(&rt.tags)),
                    Cell::text(&rt.vpc_id),
                    Cell::text(if main { "yes" } else { "no" }),
                    Cell::Number(subnets as i64),
                    Cell::Number(rt.routes.len() as i64),
                    Cell::opt(default_route.as_deref()),
                ],
            ));
        }
    }
    finish(
        ListKind::Rtb,
        vec![
            col("REGION", 15),
            col("ID", 22),
            col("NAME", 18),
            col("VPC", 22),
            col("MAIN", 4),
            col("SUBNETS", 7),
            col("ROUTES", 6),
            col("0.0.0.0/0 →", 22),
        ],
        rows,
    )
}

pub(super) fn lt(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    for (ri, region) in regional(topology) {
        for (i, t) in region.launch_templates.iter().enumerate() {
            let default = t
                .versions
                .iter()
                .find(|v| v.is_default)
                .or_else(|| t.versions.first());
            rows.push(row(
                ri,
                i,
                format!("{}/{}", region.region, t.id),
                vec![
                    Cell::text(&region.region),
                    Cell::text(&t.id),
                    Cell::text(&t.name),
                    Cell::Number(t.default_version.unwrap_or(0)),
                    Cell::Number(t.latest_version.unwrap_or(0)),
                    Cell::opt(default.and_then(|v| v.image_id.as_deref())),
                    Cell::opt(default.and_then(|v| v.instance_type.as_deref())),
                    Cell::opt(
                        default
                            .and_then(|v| v.metadata_options.as_ref())
                            .and_then(|m| m.http_tokens.as_deref()),
                    ),
                ],
            ));
        }
    }
    finish(
        ListKind::Lt,
        vec![
            col("REGION", 15),
            col("ID", 22),
            col("NAME", 16),
            col("DEFAULT", 7),
            col("LATEST", 6),
            col("AMI", 22),
            col("TYPE", 10),
            col("IMDS TOKENS", 11),
        ],
        rows,
    )
}

pub(super) fn iam(topology: &Topology) -> ListModel {
    let mut rows = Vec::new();
    let mut push = |part: IamPart, index: usize, key: String, cells: Vec<Cell>| {
        rows.push(Row {
            cells,
            target: RowRef {
                region: None,
                index,
                iam: Some(part),
            },
            haystack: String::new(),
            key,
        });
    };
    if let Some(iam) = &topology.iam {
        for (i, u) in iam.users.iter().enumerate() {
            let mfa = !u.mfa_devices.is_empty();
            let oldest_key = u
                .access_keys
                .iter()
                .filter(|k| k.status == "Active")
                .filter_map(|k| k.created_at)
                .min();
            push(
                IamPart::User,
                i,
                format!("user/{}", u.name),
                vec![
                    Cell::text("global"),
                    Cell::text("user"),
                    Cell::text(&u.name),
                    Cell::toned(
                        if mfa { "yes" } else { "no" },
                        if mfa || !u.console_access {
                            Tone::Good
                        } else {
                            Tone::Bad
                        },
                    ),
                    Cell::text(if u.console_access { "yes" } else { "no" }),
                    Cell::Number(u.access_keys.len() as i64),
                    Cell::text(u.groups.join(",")),
                    Cell::Time(oldest_key.or(u.created_at)),
                ],
            );
        }
        for (i, g) in iam.groups.iter().enumerate() {
            let policies: Vec<&str> = g
                .attached_policy_arns
                .iter()
                .map(|a| a.rsplit('/').next().unwrap_or(a))
                .collect();
            push(
                IamPart::Group,
                i,
                format!("group/{}", g.name),
                vec![
                    Cell::text("global"),
                    Cell::text("group"),
                    Cell::text(&g.name),
                    Cell::text("-"),
                    Cell::text("-"),
                    Cell::Number(0),
                    Cell::text(policies.join(",")),
                    Cell::Time(None),
                ],
            );
        }
        for (i, r) in iam.roles.iter().enumerate() {
            push(
                IamPart::Role,
                i,
                format!("role/{}", r.name),
                vec![
                    Cell::text("global"),
                    Cell::text("role"),
                    Cell::text(&r.name),
                    Cell::text("-"),
                    Cell::text("-"),
                    Cell::Number(0),
                    Cell::text(format!("trusts {}", r.trusted_services.join(","))),
                    Cell::Time(None),
                ],
            );
        }
        for (i, p) in iam.instance_profiles.iter().enumerate() {
            push(
                IamPart::Profile,
                i,
                format!("profile/{}", p.name),
                vec![
                    Cell::text("global"),
                    Cell::text("profile"),
                    Cell::text(&p.name),
                    Cell::text("-"),
                    Cell::text("-"),
                    Cell::Number(0),
                    Cell::text(format!("roles {}", p.role_names.join(","))),
                    Cell::Time(None),
                ],
            );
        }
        let policy = match &iam.password_policy {
            Some(p) => Cell::text(format!(
                "min length {}, max age {}",
                p.minimum_length.map_or("-".into(), |n| n.to_string()),
                p.max_age_days.map_or("-".into(), |n| format!("{n}d"))
            )),
            None => Cell::toned("no password policy", Tone::Bad),
        };
        push(
            IamPart::PasswordPolicy,
            0,
            "password-policy".into(),
            vec![
                Cell::text("global"),
                Cell::text("policy"),
                Cell::text("password policy"),
                Cell::toned(
                    match iam.account.root_mfa_enabled {
                        Some(true) => "root yes",
                        Some(false) => "root no",
                        None => "root ?",
                    },
                    if iam.account.root_mfa_enabled == Some(true) {
                        Tone::Good
                    } else {
                        Tone::Bad
                    },
                ),
                Cell::text("-"),
                Cell::Number(0),
                policy,
                Cell::Time(None),
            ],
        );
    }
    finish(
        ListKind::Iam,
        vec![
            col("REGION", 8),
            col("KIND", 8),
            col("NAME", 18),
            col("MFA", 8),
            col("CONSOLE", 7),
            col("KEYS", 4),
            col("DETAILS", 40),
            col("KEY AGE", 7),
        ],
        rows,
    )
}

pub(super) fn errors(topology: &Topology) -> ListModel {
    let rows = topology
        .errors
        .iter()
        .enumerate()
        .map(|(i, e)| Row {
            cells: vec![
                Cell::text(e.region.as_deref().unwrap_or("global")),
                Cell::text(e.service.as_str()),
                Cell::text(&e.operation),
                Cell::toned(e.code.as_deref().unwrap_or("-"), Tone::Bad),
                Cell::text(&e.message),
            ],
            target: RowRef {
                region: None,
                index: i,
                iam: None,
            },
            haystack: String::new(),
            key: format!("error/{i}"),
        })
        .collect();
    finish(
        ListKind::Errors,
        vec![
            col("REGION", 15),
            col("SERVICE", 20),
            col("OPERATION", 26),
            col("CODE", 22),
            col("MESSAGE", 50),
        ],
        rows,
    )
}

/// The rows to show, in order: those in the shown Regions that contain the filter text, sorted.
pub fn visible_rows(
    model: &ListModel,
    region_names: &[String],
    shown_region: Option<usize>,
    filter: &str,
    sort: Option<(usize, bool)>,
) -> Vec<usize> {
    let needle = filter.to_lowercase();
    let mut rows: Vec<usize> = model
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| match (shown_region, model.kind) {
            (Some(shown), ListKind::Errors) => match &r.cells.first() {
                Some(Cell::Text(region, _)) => {
                    region == "global" || region_names.get(shown) == Some(region)
                }
                _ => true,
            },
            (Some(shown), _) => r.target.region.is_none_or(|ri| ri == shown),
            (None, _) => true,
        })
        .filter(|(_, r)| needle.is_empty() || r.haystack.contains(&needle))
        .map(|(i, _)| i)
        .collect();
    if let Some((column, reverse)) = sort {
        rows.sort_by(|a, b| {
            let (ra, rb) = (&model.rows[*a], &model.rows[*b]);
            let ordering = match (ra.cells.get(column), rb.cells.get(column)) {
                (Some(x), Some(y)) => x.compare(y),
                _ => Ordering::Equal,
            };
            if reverse {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    rows
}

/// A short age ([`haven_model::duration`]: `45s`, `12m`, `1h30m`, `9d`).
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    haven_model::duration::between(then, now)
}
