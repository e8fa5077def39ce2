//! When a signal is worth a look: the policy's thresholds (`[thresholds]` in `policy.toml`).

use serde::{Deserialize, Serialize};

use super::Metric;

/// How a value stands against its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Within bounds.
    Ok,
    /// Past the warning threshold.
    Warn,
    /// Past the critical threshold.
    Critical,
}

/// A pair of thresholds: warn at or past the first, critical at or past the second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Warn from here.
    pub warn: f64,
    /// Critical from here.
    pub critical: f64,
}

impl Bounds {
    const fn new(warn: f64, critical: f64) -> Self {
        Self { warn, critical }
    }

    /// A value that is bad when high.
    pub fn above(self, value: f64) -> Level {
        if value >= self.critical {
            Level::Critical
        } else if value >= self.warn {
            Level::Warn
        } else {
            Level::Ok
        }
    }

    /// A value that is bad when low.
    pub fn below(self, value: f64) -> Level {
        if value <= self.critical {
            Level::Critical
        } else if value <= self.warn {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// The thresholds the views colour signals against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// CPU percent of instances, groups and DB instances.
    pub cpu_percent: Bounds,
    /// 5xx answers (target and load balancer) as a percent of requests, per AZ.
    pub error_percent: Bounds,
    /// Average target response time, seconds.
    pub response_time_seconds: Bounds,
    /// Replica lag, seconds.
    pub replica_lag_seconds: Bounds,
    /// Free storage as a percent of the allocated storage (low is bad).
    pub free_storage_percent: Bounds,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cpu_percent: Bounds::new(70.0, 90.0),
            error_percent: Bounds::new(1.0, 5.0),
            response_time_seconds: Bounds::new(0.5, 2.0),
            replica_lag_seconds: Bounds::new(30.0, 300.0),
            free_storage_percent: Bounds::new(20.0, 10.0),
        }
    }
}

impl Thresholds {
    /// How a value of a metric stands. `allocated_bytes` is the storage a free-storage value is
    /// judged against (unknown: never judged); requests, connections and in-service counts have
    /// no threshold of their own; any unhealthy host warns.
    pub fn judge(&self, metric: Metric, value: f64, allocated_bytes: Option<f64>) -> Level {
        match metric {
            Metric::Cpu => self.cpu_percent.above(value),
            Metric::ResponseTime => self.response_time_seconds.above(value),
            Metric::ReplicaLag => self.replica_lag_seconds.above(value),
            Metric::UnhealthyHosts if value > 0.0 => Level::Warn,
            Metric::FreeStorage => match allocated_bytes {
                Some(total) if total > 0.0 => {
                    self.free_storage_percent.below(value / total * 100.0)
                }
                _ => Level::Ok,
            },
            _ => Level::Ok,
        }
    }

    /// How an AZ's error rate stands: 5xx answers over requests, in percent. No requests and
    /// some errors is critical (every answer failed).
    pub fn judge_errors(&self, errors: f64, requests: f64) -> Level {
        if requests > 0.0 {
            self.error_percent.above(errors / requests * 100.0)
        } else if errors > 0.0 {
            Level::Critical
        } else {
            Level::Ok
        }
    }

    /// How an AZ's healthy host count stands: none is critical.
    pub fn judge_healthy(&self, healthy: f64) -> Level {
        if healthy < 1.0 {
            Level::Critical
        } else {
            Level::Ok
        }
    }
}
