//! `d` on a resource: its metrics over the last hour at a larger size (a cell a minute), with
//! min / max / latest and the thresholds they are judged by, then the alarms that watch it.

use haven_model::findings::ResourceKind;
use haven_model::signals::thresholds::Bounds;
use haven_model::signals::{Metric, SeriesKey, alarms_on};
use haven_model::{RegionTopology, Topology};

use super::rows::{ListKind, RowRef};
use super::sparkline::{LONG, Live, allocated_bytes, bars_to, squeeze};

/// The metrics section of the describe pane of a row (empty for a kind without metrics).
pub fn lines(topology: &Topology, kind: ListKind, target: RowRef, live: Live<'_>) -> Vec<String> {
    let Some(region) = target.region.and_then(|r| topology.regions.get(r)) else {
        return Vec::new();
    };
    let Some((resource_kind, id, series)) = series_of(region, kind, target.index) else {
        return Vec::new();
    };
    let mut out = vec![String::new(), "# metrics (last hour)".to_string()];
    if !live.read() {
        out.push("#   not read yet".to_string());
    } else if let Some(why) = live.signals.unavailable_in(&region.region) {
        out.push(format!("#   unavailable: {}", why.reason));
    } else {
        let allocated = region
            .db_instances
            .get(target.index)
            .filter(|_| kind == ListKind::Rds)
            .and_then(allocated_bytes);
        for (heading, keys) in series {
            if let Some(heading) = heading {
                out.push(format!("#   {heading}"));
            }
            for key in keys {
                out.extend(series_lines(live, &key, allocated));
            }
        }
    }
    out.extend(alarm_lines(region, resource_kind, &id));
    out
}

type Series = Vec<(Option<String>, Vec<SeriesKey>)>;

/// What a row's resource is and its series, grouped per AZ for load balancers and target
/// groups.
fn series_of(
    region: &RegionTopology,
    kind: ListKind,
    index: usize,
) -> Option<(ResourceKind, String, Series)> {
    let code = region.region.as_str();
    let whole = |id: &str, metrics: &[Metric]| -> Series {
        vec![(
            None,
            metrics
                .iter()
                .map(|m| SeriesKey::new(code, id, *m))
                .collect(),
        )]
    };
    let per_az = |id: &str, azs: Vec<&str>, metrics: &[Metric]| -> Series {
        azs.into_iter()
            .map(|az| {
                (
                    Some(az.to_string()),
                    metrics
                        .iter()
                        .map(|m| SeriesKey::in_az(code, id, az, *m))
                        .collect(),
                )
            })
            .collect()
    };
    Some(match kind {
        ListKind::Ec2 => {
            let i = region.instances.get(index)?;
            (
                ResourceKind::Instance,
                i.id.clone(),
                whole(&i.id, &[Metric::Cpu]),
            )
        }
        ListKind::Asg => {
            let g = region.auto_scaling_groups.get(index)?;
            let series = whole(&g.name, &[Metric::Cpu, Metric::InService]);
            (ResourceKind::AutoScalingGroup, g.name.clone(), series)
        }
        ListKind::Rds => {
            let db = region.db_instances.get(index)?;
            let mut metrics = vec![Metric::Cpu, Metric::Connections, Metric::FreeStorage];
            if db.read_replica_source.is_some() {
                metrics.push(Metric::ReplicaLag);
            }
            let series = whole(&db.identifier, &metrics);
            (ResourceKind::DbInstance, db.identifier.clone(), series)
        }
        ListKind::Lb => {
            let lb = region.load_balancers.get(index)?;
            let azs = lb
                .zones
                .iter()
                .map(|z| z.availability_zone.as_str())
                .collect();
            let metrics = [
                Metric::Requests,
                Metric::TargetErrors,
                Metric::LoadBalancerErrors,
                Metric::ResponseTime,
            ];
            let series = per_az(&lb.arn, azs, &metrics);
            (ResourceKind::LoadBalancer, lb.arn.clone(), series)
        }
        ListKind::Tg => {
            let tg = region.target_groups.get(index)?;
            let mut azs: Vec<&str> = region
                .load_balancers
                .iter()
                .filter(|lb| tg.load_balancer_arns.contains(&lb.arn))
                .flat_map(|lb| lb.zones.iter().map(|z| z.availability_zone.as_str()))
                .collect();
            azs.sort_unstable();
            azs.dedup();
            let metrics = [Metric::HealthyHosts, Metric::UnhealthyHosts];
            let series = per_az(&tg.arn, azs, &metrics);
            (ResourceKind::TargetGroup, tg.arn.clone(), series)
        }
        _ => return None,
    })
}

/// A series: its label, a sparkline of the hour (a cell a minute), then min / max / latest
/// and the thresholds.
fn series_lines(live: Live<'_>, key: &SeriesKey, allocated: Option<f64>) -> Vec<String> {
    let minutes = live.minutes(key);
    let label = key.metric.label();
    let values: Vec<f64> = minutes.iter().flatten().copied().collect();
    if values.is_empty() {
        return vec![format!("#   {label:<12} no data")];
    }
    let floor = if key.metric == Metric::Cpu {
        100.0
    } else {
        0.0
    };
    let spark = bars_to(&squeeze(&minutes, LONG), floor);
    let format = |v: f64| key.metric.format(v);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let latest = live
        .latest(key, allocated)
        .map_or_else(|| "-".to_string(), |r| r.text);
    let mut summary = format!(
        "#   {:<12} min {} · max {} · latest {latest}",
        "",
        format(min),
        format(max)
    );
    if let Some(bounds) = thresholds_text(live, key.metric) {
        summary.push_str(&format!(" · {bounds}"));
    }
    vec![format!("#   {label:<12} {spark}"), summary]
}

/// The thresholds a metric is judged by, in its unit.
fn thresholds_text(live: Live<'_>, metric: Metric) -> Option<String> {
    let t = live.thresholds;
    let above = |b: Bounds| {
        format!(
            "warn ≥ {} · critical ≥ {}",
            metric.format(b.warn),
            metric.format(b.critical)
        )
    };
    match metric {
        Metric::Cpu => Some(above(t.cpu_percent)),
        Metric::ResponseTime => Some(above(t.response_time_seconds)),
        Metric::ReplicaLag => Some(above(t.replica_lag_seconds)),
        Metric::FreeStorage => Some(format!(
            "warn ≤ {}% free · critical ≤ {}% free",
            t.free_storage_percent.warn, t.free_storage_percent.critical
        )),
        Metric::TargetErrors | Metric::LoadBalancerErrors => Some(format!(
            "5xx of requests: warn ≥ {}% · critical ≥ {}%",
            t.error_percent.warn, t.error_percent.critical
        )),
        Metric::HealthyHosts => Some("critical at 0".to_string()),
        Metric::UnhealthyHosts => Some("warn above 0".to_string()),
        _ => None,
    }
}

/// The alarms watching the resource, worst first: state, name, reason and threshold.
fn alarm_lines(region: &RegionTopology, kind: ResourceKind, id: &str) -> Vec<String> {
    let alarms = alarms_on(region, kind, id);
    let mut out = vec![String::new(), "# alarms".to_string()];
    if alarms.is_empty() {
        out.push("#   none watches it".to_string());
    }
    for alarm in alarms {
        let threshold = match (&alarm.comparison, alarm.threshold) {
            (Some(comparison), Some(threshold)) => format!(" ({comparison} {threshold})"),
            _ => String::new(),
        };
        out.push(format!("#   {} {}{threshold}", alarm.state, alarm.name));
        if let Some(reason) = &alarm.reason {
            out.push(format!("#     {reason}"));
        }
    }
    out
}
