//! Signals as text: a sparkline of the last hour squeezed to a width (block characters, so it
//! shows in `tmux capture-pane` too) and the current value coloured by the policy's thresholds.
//!
//! Series are looked up by key ([`SeriesKey`]), never scanned: the map at 10,000 resources asks
//! for a few series per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use haven_model::findings::ResourceKind;
use haven_model::signals::alarm_resources;
use haven_model::signals::query::{WINDOW_MINUTES, window};
use haven_model::signals::{Level, Metric, Point, SeriesKey, Signals, Thresholds};
use haven_model::{DbInstance, Topology};

use super::style::Tone;

/// The eight heights of a sparkline cell, lowest first.
pub const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A minute (or a squeezed bucket of minutes) without a point.
pub const NO_DATA: char = '·';

/// Cells of the sparklines on the map and in the lists (five minutes a cell).
pub const SHORT: usize = 12;

/// Cells of the sparklines in `d` (a minute a cell).
pub const LONG: usize = WINDOW_MINUTES as usize;

/// The tone of a level: within bounds is good, past warn is a warning, past critical is bad.
pub fn level_tone(level: Level) -> Tone {
    match level {
        Level::Ok => Tone::Good,
        Level::Warn => Tone::Warn,
        Level::Critical => Tone::Bad,
    }
}

/// The values of the hour before `end`, one slot per minute, oldest first (the largest value
/// when a minute has several points; `None` when it has none).
pub fn per_minute(points: &[Point], end: DateTime<Utc>) -> Vec<Option<f64>> {
    let start = end - chrono::Duration::minutes(WINDOW_MINUTES);
    let mut slots = vec![None; LONG];
    for point in points {
        let minute = (point.at - start).num_minutes();
        if point.at < start || minute >= WINDOW_MINUTES {
            continue;
        }
        let slot = &mut slots[minute as usize];
        *slot = Some(slot.map_or(point.value, |v: f64| v.max(point.value)));
    }
    slots
}

/// Squeezes values to `width` buckets, each the largest value it covers (a spike stays
/// visible); fewer values than `width` are kept as they are.
pub fn squeeze(values: &[Option<f64>], width: usize) -> Vec<Option<f64>> {
    if width == 0 || values.len() <= width {
        return values.to_vec();
    }
    (0..width)
        .map(|bucket| {
            let from = bucket * values.len() / width;
            let to = (bucket + 1) * values.len() / width;
            values[from..to].iter().flatten().copied().reduce(f64::max)
        })
        .collect()
}

/// The sparkline of some values, scaled from zero to their largest value.
pub fn bars(values: &[Option<f64>]) -> String {
    bars_to(values, 0.0)
}

/// The sparkline of some values, scaled from zero to their largest value or `floor`, whichever
/// is larger (CPU is drawn against 100%, so 30% is a low bar however flat it is).
pub fn bars_to(values: &[Option<f64>], floor: f64) -> String {
    let top = values.iter().flatten().copied().fold(floor, f64::max);
    values
        .iter()
        .map(|value| match value {
            None => NO_DATA,
            Some(_) if top <= 0.0 => BARS[0],
            Some(v) => {
                let step = (v.max(0.0) / top * (BARS.len() - 1) as f64).round();
                BARS[(step as usize).min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// A value as shown: its text and its tone.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// e.g. `42%`, `120 ms`, `1.2k`.
    pub text: String,
    /// Its colour against the thresholds (plain for a metric without one).
    pub tone: Tone,
    /// The value itself (for sorting).
    pub value: f64,
}

/// What the views need to show signals: the last read and the thresholds to judge it by.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    /// The last read.
    pub signals: &'a Signals,
    /// The policy's thresholds.
    pub thresholds: &'a Thresholds,
    /// The end of the hour the read covers (`None`: nothing read yet).
    end: Option<DateTime<Utc>>,
}

impl<'a> Live<'a> {
    /// The signals as the views judge them.
    pub fn new(signals: &'a Signals, thresholds: &'a Thresholds) -> Self {
        Self {
            signals,
            thresholds,
            end: signals.taken_at.map(|at| window(at).1),
        }
    }

    /// Whether anything was read yet (before the first read the views show nothing, never a
    /// zero).
    pub fn read(&self) -> bool {
        self.end.is_some()
    }

    /// Whether the signals of a Region could not be read.
    pub fn unavailable(&self, region: &str) -> bool {
        self.signals.unavailable_in(region).is_some()
    }

    /// A series' values of the last hour, one slot per minute (empty when never read).
    pub fn minutes(&self, key: &SeriesKey) -> Vec<Option<f64>> {
        self.minutes_of(self.signals.points(key))
    }

    /// Some points' values of the last hour, one slot per minute.
    pub fn minutes_of(&self, points: &[Point]) -> Vec<Option<f64>> {
        match self.end {
            Some(end) if !points.is_empty() => per_minute(points, end),
            _ => Vec::new(),
        }
    }

    /// The sparkline of a series at `width` cells (`None` without points).
    pub fn spark(&self, key: &SeriesKey, width: usize) -> Option<String> {
        let minutes = self.minutes(key);
        let floor = if key.metric == Metric::Cpu {
            100.0
        } else {
            0.0
        };
        (!minutes.is_empty()).then(|| bars_to(&squeeze(&minutes, width), floor))
    }

    /// A series' newest value, judged (`allocated_bytes` judges free storage).
    pub fn latest(&self, key: &SeriesKey, allocated_bytes: Option<f64>) -> Option<Reading> {
        let value = self.signals.latest(key)?;
        let tone = match key.metric {
            Metric::Requests | Metric::Connections | Metric::InService => Tone::Normal,
            Metric::HealthyHosts => level_tone(self.thresholds.judge_healthy(value)),
            Metric::FreeStorage if allocated_bytes.is_none() => Tone::Normal,
            metric => level_tone(self.thresholds.judge(metric, value, allocated_bytes)),
        };
        Some(Reading {
            text: key.metric.format(value),
            tone,
            value,
        })
    }

    /// The 5xx answers (target and load balancer) of a load balancer's AZ in its newest minute
    /// with requests, as a percent of its requests; judged by `judge_errors`.
    pub fn error_rate(&self, region: &str, lb_arn: &str, az: &str) -> Option<Reading> {
        let key = |metric| SeriesKey::in_az(region, lb_arn, az, metric);
        let requests = self.signals.latest_point(&key(Metric::Requests));
        let errors = self
            .signals
            .sum(&key(Metric::TargetErrors), &key(Metric::LoadBalancerErrors));
        let (at, requests) = match requests {
            Some(point) => (point.at, point.value),
            // No requests but errors: every answer failed.
            None => (errors.last()?.at, 0.0),
        };
        let errors = errors.iter().find(|p| p.at == at).map_or(0.0, |p| p.value);
        let level = self.thresholds.judge_errors(errors, requests);
        let text = if requests > 0.0 {
            percent(errors / requests * 100.0)
        } else {
            format!("{} err", Metric::TargetErrors.format(errors))
        };
        Some(Reading {
            text,
            tone: level_tone(level),
            value: if requests > 0.0 {
                errors / requests * 100.0
            } else {
                f64::INFINITY
            },
        })
    }
}

/// Text in a tone: a piece of a map line or of a list cell.
pub type Piece = (String, Tone);

impl Live<'_> {
    /// `label ▁▂▃▅ value`: a series' sparkline at `width` cells and its newest value, judged
    /// (`None` without points).
    pub fn gauge(
        &self,
        label: &str,
        key: &SeriesKey,
        width: usize,
        allocated_bytes: Option<f64>,
    ) -> Option<Vec<Piece>> {
        let reading = self.latest(key, allocated_bytes)?;
        let spark = self.spark(key, width)?;
        let spark_tone = match reading.tone {
            Tone::Good | Tone::Normal => Tone::Normal,
            tone => tone,
        };
        Some(vec![
            (format!("{label} "), Tone::Dim),
            (spark, spark_tone),
            (format!(" {}", reading.text), reading.tone),
        ])
    }

    /// Healthy and unhealthy targets of some target groups in an AZ, as CloudWatch counted
    /// them in the newest minute: `2✓ 1✗` (`None` without points).
    pub fn hosts<'t>(
        &self,
        region: &str,
        target_groups: impl IntoIterator<Item = &'t str>,
        az: &str,
    ) -> Option<Vec<Piece>> {
        let (mut healthy, mut unhealthy, mut any) = (0.0, 0.0, false);
        for tg in target_groups {
            let read = |metric| {
                self.signals
                    .latest(&SeriesKey::in_az(region, tg, az, metric))
            };
            if let Some(value) = read(Metric::HealthyHosts) {
                healthy += value;
                any = true;
            }
            if let Some(value) = read(Metric::UnhealthyHosts) {
                unhealthy += value;
                any = true;
            }
        }
        if !any {
            return None;
        }
        let mut pieces = vec![
            ("hosts ".to_string(), Tone::Dim),
            (
                format!("{}✓", Metric::HealthyHosts.format(healthy)),
                level_tone(self.thresholds.judge_healthy(healthy)),
            ),
        ];
        if unhealthy > 0.0 {
            pieces.push((
                format!(" {}✗", Metric::UnhealthyHosts.format(unhealthy)),
                Tone::Bad,
            ));
        }
        Some(pieces)
    }
}

/// The alarms in `ALARM` of each resource they watch: (Region, kind, id) → alarm names. Built
/// once per topology, so each row looks its alarms up instead of scanning them.
pub type Firing = HashMap<(String, ResourceKind, String), Vec<String>>;

/// The alarms in `ALARM` by the resources they watch.
pub fn firing_alarms(topology: &Topology) -> Firing {
    let mut firing = Firing::new();
    for region in &topology.regions {
        for alarm in region.alarms.iter().filter(|a| a.state == "ALARM") {
            for resource in alarm_resources(region, alarm) {
                firing
                    .entry((region.region.clone(), resource.kind, resource.id))
                    .or_default()
                    .push(alarm.name.clone());
            }
        }
    }
    firing
}

/// A percent: one decimal below 10 (`0.4%`), none above (`37%`).
pub fn percent(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.1}%")
    } else {
        format!("{value:.0}%")
    }
}

/// The allocated storage of a DB instance in bytes (what its free storage is judged against).
pub fn allocated_bytes(db: &DbInstance) -> Option<f64> {
    db.allocated_storage_gib
        .filter(|gib| *gib > 0)
        .map(|gib| f64::from(gib) * 1024.0 * 1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap() + chrono::Duration::minutes(minute)
    }

    #[test]
    fn an_hour_squeezed_to_twelve_cells_keeps_each_bucket_s_peak_and_shows_gaps() {
        // A point every minute rising to a spike at minute 31, nothing in the last ten minutes.
        let points: Vec<Point> = (0..50)
            .map(|m| Point {
                at: at(m),
                value: if m == 31 { 100.0 } else { 10.0 },
            })
            .collect();
        let minutes = per_minute(&points, at(60));
        assert_eq!(minutes.len(), 60);
        let line = bars(&squeeze(&minutes, SHORT));
        assert_eq!(line.chars().count(), SHORT);
        assert_eq!(line, "▂▂▂▂▂▂█▂▂▂··");
    }

    #[test]
    fn all_zero_is_a_flat_line_and_points_outside_the_hour_are_ignored() {
        let points = [
            Point {
                at: at(-5),
                value: 90.0,
            },
            Point {
                at: at(59),
                value: 0.0,
            },
        ];
        let minutes = per_minute(&points, at(60));
        assert_eq!(minutes.iter().flatten().count(), 1);
        assert_eq!(bars(&squeeze(&minutes, 4)), "···▁");
    }

    #[test]
    fn values_are_judged_against_the_thresholds() {
        let mut signals = Signals {
            taken_at: Some(at(60)),
            ..Signals::default()
        };
        let cpu = SeriesKey::new("eu-west-1", "web", Metric::Cpu);
        signals.series.insert(
            cpu.clone(),
            vec![Point {
                at: at(59),
                value: 93.0,
            }],
        );
        let requests = SeriesKey::in_az("eu-west-1", "lb", "eu-west-1a", Metric::Requests);
        let errors = SeriesKey::in_az("eu-west-1", "lb", "eu-west-1a", Metric::TargetErrors);
        signals.series.insert(
            requests,
            vec![Point {
                at: at(59),
                value: 200.0,
            }],
        );
        signals.series.insert(
            errors,
            vec![Point {
                at: at(59),
                value: 4.0,
            }],
        );
        let thresholds = Thresholds::default();
        let live = Live::new(&signals, &thresholds);
        let reading = live.latest(&cpu, None).unwrap();
        assert_eq!((reading.text.as_str(), reading.tone), ("93%", Tone::Bad));
        let rate = live.error_rate("eu-west-1", "lb", "eu-west-1a").unwrap();
        assert_eq!((rate.text.as_str(), rate.tone), ("2.0%", Tone::Warn));
        assert!(live.error_rate("eu-west-1", "lb", "eu-west-1b").is_none());
    }

    #[test]
    fn nothing_is_shown_before_the_first_read() {
        let signals = Signals::default();
        let thresholds = Thresholds::default();
        let live = Live::new(&signals, &thresholds);
        assert!(!live.read());
        let key = SeriesKey::new("eu-west-1", "web", Metric::Cpu);
        assert_eq!(live.spark(&key, SHORT), None);
        assert_eq!(live.latest(&key, None), None);
    }
}
