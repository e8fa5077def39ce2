//! A deterministic hour of signals for a topology, for tests and benchmarks: every series
//! `haven_model::signals::queries` would read, shaped so each view has something to show — the
//! last AZ of each load balancer degraded (5xx, latency, unhealthy hosts), the first read
//! replica lagging, the first group's CPU near the critical threshold.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use haven_model::Topology;
use haven_model::signals::query::{WINDOW_MINUTES, window};
use haven_model::signals::{Metric, Point, Query, SeriesKey, Signals, queries};

/// A stable number in `[0, 1)` for a series and a minute (FNV-1a, so the same on every build).
fn noise(key: &SeriesKey, minute: i64) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!(
        "{}|{}|{:?}|{:?}|{minute}",
        key.region, key.resource, key.az, key.metric
    );
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// What makes a series stand out.
struct Shape {
    degraded_azs: Vec<(String, String)>,
    lagging: Option<(String, String)>,
    hot_group: Option<(String, String)>,
    /// Each group's desired capacity, its in-service count.
    desired: HashMap<(String, String), f64>,
}

impl Shape {
    fn of(topology: &Topology) -> Self {
        let mut degraded_azs = Vec::new();
        let mut lagging = None;
        let mut hot_group = None;
        let mut desired = HashMap::new();
        for region in &topology.regions {
            for group in &region.auto_scaling_groups {
                desired.insert(
                    (region.region.clone(), group.name.clone()),
                    f64::from(group.desired_capacity),
                );
            }
            for lb in &region.load_balancers {
                if let Some(zone) = lb.zones.iter().map(|z| &z.availability_zone).max() {
                    degraded_azs.push((lb.arn.clone(), zone.clone()));
                }
            }
            if lagging.is_none()
                && let Some(db) = region
                    .db_instances
                    .iter()
                    .find(|d| d.read_replica_source.is_some())
            {
                lagging = Some((region.region.clone(), db.identifier.clone()));
            }
            if hot_group.is_none()
                && let Some(group) = region.auto_scaling_groups.first()
            {
                hot_group = Some((region.region.clone(), group.name.clone()));
            }
        }
        Self {
            degraded_azs,
            lagging,
            hot_group,
            desired,
        }
    }

    fn degraded(&self, key: &SeriesKey) -> bool {
        key.az.as_ref().is_some_and(|az| {
            self.degraded_azs
                .iter()
                .any(|(lb, zone)| zone == az && (lb == &key.resource || is_target(key.metric)))
        })
    }

    fn is(&self, which: &Option<(String, String)>, key: &SeriesKey) -> bool {
        which
            .as_ref()
            .is_some_and(|(region, id)| region == &key.region && id == &key.resource)
    }

    /// The value of a series at a minute of the hour (0 oldest, 59 newest).
    fn value(&self, key: &SeriesKey, minute: i64) -> Option<f64> {
        let n = noise(key, minute);
        // The last quarter of the hour is when things went wrong.
        let late = minute >= 45;
        let bad = self.degraded(key) && late;
        Some(match key.metric {
            Metric::Requests => 800.0 + 400.0 * n + 10.0 * minute as f64,
            Metric::TargetErrors if bad => 100.0 + 40.0 * n,
            Metric::TargetErrors => (n * 3.0).floor(),
            Metric::LoadBalancerErrors if bad => 10.0 * n,
            Metric::LoadBalancerErrors if n < 0.7 => return None,
            Metric::LoadBalancerErrors => 1.0,
            Metric::ResponseTime if bad => 0.9 + 1.5 * n,
            Metric::ResponseTime => 0.04 + 0.03 * n,
            Metric::HealthyHosts if bad => 0.0,
            Metric::HealthyHosts => 2.0,
            Metric::UnhealthyHosts if bad => 2.0,
            Metric::UnhealthyHosts => 0.0,
            Metric::Cpu if self.is(&self.hot_group, key) => 66.0 + minute as f64 / 3.0 + 2.0 * n,
            Metric::Cpu => 15.0 + 30.0 * n,
            Metric::InService => *self
                .desired
                .get(&(key.region.clone(), key.resource.clone()))
                .unwrap_or(&2.0),
            Metric::Connections => (12.0 + 20.0 * n).floor(),
            Metric::FreeStorage => (14.0 + n) * 1024.0 * 1024.0 * 1024.0,
            Metric::ReplicaLag if self.is(&self.lagging, key) => {
                (minute as f64 - 30.0).max(0.0) * 2.0 + 5.0 * n
            }
            Metric::ReplicaLag => (2.0 * n).floor(),
        })
    }
}

/// A target group's metric (keyed by the group, degraded with its load balancer's AZ).
fn is_target(metric: Metric) -> bool {
    matches!(metric, Metric::HealthyHosts | Metric::UnhealthyHosts)
}

/// An hour of points, one a minute, for every series of every Region of `topology`, read at
/// its `taken_at`.
pub fn sample(topology: &Topology) -> Signals {
    let shape = Shape::of(topology);
    let (start, _) = window(topology.taken_at);
    let mut signals = Signals {
        taken_at: Some(topology.taken_at),
        ..Signals::default()
    };
    for region in &topology.regions {
        for Query { key, .. } in queries(region) {
            let points: Vec<Point> = (0..WINDOW_MINUTES)
                .filter_map(|minute| {
                    shape.value(&key, minute).map(|value| Point {
                        at: at(start, minute),
                        value,
                    })
                })
                .collect();
            if !points.is_empty() {
                signals.series.insert(key, points);
            }
        }
    }
    signals
}

fn at(start: DateTime<Utc>, minute: i64) -> DateTime<Utc> {
    start + chrono::Duration::minutes(minute)
}
