//! Live signals of a stack: CloudWatch metrics per resource (and per AZ for the load balancer),
//! judged against the policy's thresholds, and the events that happened to it.
//!
//! What to read is [`query::queries`]; haven-aws reads it with `GetMetricData` and hands back a
//! [`Signals`]; the views look series up by [`SeriesKey`]. Alarms are resources and live in the
//! topology ([`crate::Alarm`]); [`alarm_resources`] says what each one watches.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::resource::{ResourceKind, ResourceRef};
use crate::{Alarm, RegionTopology, ReplicaLag, Topology};

pub mod events;
pub mod query;
pub mod thresholds;
pub mod watch;

pub use events::{Event, EventSource, Glance};
pub use query::{Query, RegionAsk, asks, queries};
pub use thresholds::{Level, Thresholds};
pub use watch::SignalsWatch;

/// A metric haven shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Requests the load balancer received in the AZ (`RequestCount`, sum per minute).
    Requests,
    /// 5xx answers of the targets (`HTTPCode_Target_5XX_Count`, sum per minute).
    TargetErrors,
    /// 5xx answers of the load balancer itself (`HTTPCode_ELB_5XX_Count`, sum per minute).
    LoadBalancerErrors,
    /// Seconds from the request leaving the load balancer to the target's answer
    /// (`TargetResponseTime`, average).
    ResponseTime,
    /// Healthy targets of a target group in the AZ (`HealthyHostCount`, minimum).
    HealthyHosts,
    /// Unhealthy targets of a target group in the AZ (`UnHealthyHostCount`, maximum).
    UnhealthyHosts,
    /// CPU percent (`CPUUtilization`, average): of an instance, of a group's instances or of a
    /// DB instance.
    Cpu,
    /// In-service instances of a group (`GroupInServiceInstances`; needs the group's metrics
    /// collection enabled).
    InService,
    /// Connections to a DB instance (`DatabaseConnections`, average).
    Connections,
    /// Free storage of a DB instance, in bytes (`FreeStorageSpace`, minimum).
    FreeStorage,
    /// Seconds a read replica is behind its source (`ReplicaLag`, maximum).
    ReplicaLag,
}

impl Metric {
    /// A short label for columns and the metrics panel.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Requests => "req/min",
            Metric::TargetErrors => "5xx target",
            Metric::LoadBalancerErrors => "5xx ELB",
            Metric::ResponseTime => "latency",
            Metric::HealthyHosts => "healthy",
            Metric::UnhealthyHosts => "unhealthy",
            Metric::Cpu => "CPU",
            Metric::InService => "in service",
            Metric::Connections => "connections",
            Metric::FreeStorage => "free storage",
            Metric::ReplicaLag => "lag",
        }
    }

    /// The value as the views print it: `42%`, `120 ms`, `3.2k`, `18 GiB`, `12 s`.
    pub fn format(self, value: f64) -> String {
        match self {
            Metric::Cpu => format!("{value:.0}%"),
            Metric::ResponseTime if value < 1.0 => format!("{:.0} ms", value * 1000.0),
            Metric::ResponseTime => format!("{value:.1} s"),
            Metric::FreeStorage => bytes(value),
            Metric::ReplicaLag => format!("{value:.0} s"),
            _ => count(value),
        }
    }
}

fn count(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("{:.1}M", value / 1_000_000.0)
    } else if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value >= 1000.0 {
        format!("{:.1}k", value / 1000.0)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn bytes(value: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    if value >= GIB {
        format!("{:.0} GiB", value / GIB)
    } else {
        format!("{:.0} MiB", value / (1024.0 * 1024.0))
    }
}

/// Which series: a metric of a resource, in a Region, per AZ where CloudWatch splits it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// The Region the metric is read in (a cross-Region replica's lag is read in its Region).
    pub region: String,
    /// The resource's id as the topology keeps it: a load balancer's or target group's ARN, a
    /// group's name, an instance id, a DB identifier.
    pub resource: String,
    /// The AZ, for per-AZ load balancer and target group metrics.
    pub az: Option<String>,
    /// The metric.
    pub metric: Metric,
}

impl SeriesKey {
    /// A key for a resource-wide metric.
    pub fn new(region: &str, resource: &str, metric: Metric) -> Self {
        Self {
            region: region.to_string(),
            resource: resource.to_string(),
            az: None,
            metric,
        }
    }

    /// A key for a per-AZ metric.
    pub fn in_az(region: &str, resource: &str, az: &str, metric: Metric) -> Self {
        Self {
            az: Some(az.to_string()),
            ..Self::new(region, resource, metric)
        }
    }
}

/// One value of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The start of the minute (period) it covers.
    pub at: DateTime<Utc>,
    /// The statistic's value.
    pub value: f64,
}

/// Why signals are missing, for a Region or for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// The Region; `None` for every Region.
    pub region: Option<String>,
    /// What failed, e.g. `GetMetricData: AccessDenied: …`.
    pub reason: String,
}

/// Metrics and events read at one time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// When they were read.
    pub taken_at: Option<DateTime<Utc>>,
    /// Every series read, oldest point first; a series CloudWatch had no data for is absent.
    pub series: BTreeMap<SeriesKey, Vec<Point>>,
    /// Events of the stack's resources (scaling activities, RDS events), unordered.
    pub events: Vec<Event>,
    /// What could not be read.
    pub unavailable: Vec<Unavailable>,
}

impl Signals {
    /// The points of a series, oldest first (empty when not read or no data).
    pub fn points(&self, key: &SeriesKey) -> &[Point] {
        self.series.get(key).map_or(&[], Vec::as_slice)
    }

    /// The newest value of a series.
    pub fn latest(&self, key: &SeriesKey) -> Option<f64> {
        self.points(key).last().map(|p| p.value)
    }

    /// The newest point of a series.
    pub fn latest_point(&self, key: &SeriesKey) -> Option<Point> {
        self.points(key).last().copied()
    }

    /// The sum of two series point by point (e.g. target and load balancer 5xx): the minutes
    /// either has, a missing value counting as 0.
    pub fn sum(&self, a: &SeriesKey, b: &SeriesKey) -> Vec<Point> {
        let mut by_minute: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        for point in self.points(a).iter().chain(self.points(b)) {
            *by_minute.entry(point.at).or_default() += point.value;
        }
        by_minute
            .into_iter()
            .map(|(at, value)| Point { at, value })
            .collect()
    }

    /// Whether nothing could be read anywhere (the header then says why).
    pub fn all_unavailable(&self) -> bool {
        self.series.is_empty() && self.unavailable.iter().any(|u| u.region.is_none())
    }

    /// Why the signals of a Region are missing, if they are.
    pub fn unavailable_in(&self, region: &str) -> Option<&Unavailable> {
        self.unavailable
            .iter()
            .find(|u| u.region.as_deref().is_none_or(|r| r == region))
    }

    /// Adds what another read brought (another Region): series, events and failures.
    pub fn absorb(&mut self, other: Signals) {
        self.taken_at = self.taken_at.max(other.taken_at);
        self.series.extend(other.series);
        self.events.extend(other.events);
        self.unavailable.extend(other.unavailable);
    }
}

/// Writes each read replica's newest measured lag into the topology, so that the DR and
/// AZ-loss views and `haven check` judge the achievable RPO by it. Replicas with no recent
/// `ReplicaLag` point keep `None`.
pub fn annotate(topology: &mut Topology, signals: &Signals) {
    for region in &mut topology.regions {
        let name = region.region.clone();
        for db in &mut region.db_instances {
            if db.read_replica_source.is_none() {
                continue;
            }
            let key = SeriesKey::new(&name, &db.identifier, Metric::ReplicaLag);
            db.replica_lag = signals.latest_point(&key).map(|point| ReplicaLag {
                seconds: point.value.max(0.0).ceil() as u64,
                measured_at: point.at,
            });
        }
    }
}

/// The resources of the Region an alarm watches (ids as findings give them: a target group by
/// name with its ARN, a load balancer by ARN), from its metrics' dimensions: a load balancer
/// (`LoadBalancer`), a target group (`TargetGroup`), an Auto Scaling group
/// (`AutoScalingGroupName`), an instance (`InstanceId`) or a DB instance (`DBInstanceIdentifier`).
pub fn alarm_resources(region: &RegionTopology, alarm: &Alarm) -> Vec<ResourceRef> {
    let mut found = Vec::new();
    for metric in &alarm.metrics {
        for (name, value) in &metric.dimensions {
            let resource = match name.as_str() {
                "LoadBalancer" => region
                    .load_balancers
                    .iter()
                    .find(|lb| query::load_balancer_dimension(&lb.arn) == Some(value.as_str()))
                    .map(|lb| ResourceRef::new(ResourceKind::LoadBalancer, &lb.arn)),
                "TargetGroup" => region
                    .target_groups
                    .iter()
                    .find(|tg| query::target_group_dimension(&tg.arn) == Some(value.as_str()))
                    .map(|tg| {
                        ResourceRef::new(ResourceKind::TargetGroup, &tg.name)
                            .with_arn(Some(&tg.arn))
                    }),
                "AutoScalingGroupName" => region
                    .auto_scaling_groups
                    .iter()
                    .find(|g| &g.name == value)
                    .map(|g| ResourceRef::new(ResourceKind::AutoScalingGroup, &g.name)),
                "InstanceId" => region
                    .instances
                    .iter()
                    .find(|i| &i.id == value)
                    .map(|i| ResourceRef::new(ResourceKind::Instance, &i.id)),
                "DBInstanceIdentifier" => region
                    .db_instances
                    .iter()
                    .find(|d| &d.identifier == value)
                    .map(|d| ResourceRef::new(ResourceKind::DbInstance, &d.identifier)),
                _ => None,
            };
            if let Some(resource) = resource
                && !found.contains(&resource)
            {
                found.push(resource);
            }
        }
    }
    found
}

/// The alarms of the Region that watch a resource (kind and id as [`alarm_resources`] gives
/// them), worst state first.
pub fn alarms_on<'a>(region: &'a RegionTopology, kind: ResourceKind, id: &str) -> Vec<&'a Alarm> {
    let mut alarms: Vec<&Alarm> = region
        .alarms
        .iter()
        .filter(|alarm| {
            alarm_resources(region, alarm)
                .iter()
                .any(|r| r.kind == kind && (r.id == id || r.arn.as_deref() == Some(id)))
        })
        .collect();
    alarms.sort_by_key(|alarm| (alarm_rank(&alarm.state), alarm.name.clone()));
    alarms
}

/// `ALARM` first, then `INSUFFICIENT_DATA`, then `OK`.
pub fn alarm_rank(state: &str) -> u8 {
    match state {
        "ALARM" => 0,
        "INSUFFICIENT_DATA" => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests;
