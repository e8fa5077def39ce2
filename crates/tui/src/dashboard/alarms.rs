//! `:alarms`: every CloudWatch alarm of the Regions in view, worst state first, with what each
//! watches; a Region whose alarms could not be read says so in their place.

use haven_model::findings::ResourceRef;
use haven_model::signals::{alarm_rank, alarm_resources};
use haven_model::{Alarm, DiscoveryError, RegionTopology, Service, Topology};
use serde::Serialize;

use super::describe::to_yaml_lines;
use super::links::short_name;
use super::rows::{Cell, ListKind, ListModel, Row, RowRef, col, finish};
use super::style::Tone;

/// The key prefix of the row that stands for a Region's unreadable alarms.
const UNAVAILABLE: &str = "unavailable/";

fn state_tone(state: &str) -> Tone {
    match alarm_rank(state) {
        0 => Tone::Bad,
        1 => Tone::Warn,
        _ => Tone::Good,
    }
}

/// `>`, `>=`, `<`, `<=` or CloudWatch's own word for the anomaly-band comparisons.
fn comparison_symbol(comparison: &str) -> &str {
    match comparison {
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => ">=",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        "LessThanLowerOrGreaterThanUpperThreshold" => "outside band",
        "LessThanLowerThreshold" => "below band",
        "GreaterThanUpperThreshold" => "above band",
        other => other,
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// `UnHealthyHostCount > 0`: the metric, the comparison and the threshold.
fn condition(alarm: &Alarm) -> String {
    if alarm.composite {
        return "composite rule".to_string();
    }
    let metric = match alarm.metrics.as_slice() {
        [] => "?".to_string(),
        [one] => one.name.clone(),
        [first, rest @ ..] => format!("{} +{}", first.name, rest.len()),
    };
    let comparison = alarm
        .comparison
        .as_deref()
        .map(comparison_symbol)
        .unwrap_or("?");
    let threshold = alarm.threshold.map_or_else(String::new, number);
    format!("{metric} {comparison} {threshold}")
        .trim_end()
        .to_string()
}

/// What the alarm watches: the resources haven knows, else the metric (`namespace/name`).
fn watches(region: &RegionTopology, alarm: &Alarm) -> String {
    let known: Vec<String> = alarm_resources(region, alarm)
        .iter()
        .map(short_name)
        .collect();
    if !known.is_empty() {
        return known.join(", ");
    }
    match alarm.metrics.first() {
        Some(metric) => format!("{}/{}", metric.namespace, metric.name),
        None if alarm.composite => "other alarms".to_string(),
        None => "-".to_string(),
    }
}

/// CloudWatch failures of a Region's discovery (its alarms could not be read).
fn cloudwatch_errors<'a>(
    topology: &'a Topology,
    region: &'a str,
) -> impl Iterator<Item = (usize, &'a DiscoveryError)> + 'a {
    topology.errors.iter().enumerate().filter(move |(_, e)| {
        e.service == Service::CloudWatch && e.region.as_deref() == Some(region)
    })
}

fn unavailable_row(topology: &Topology, ri: usize, region: &RegionTopology) -> Option<Row> {
    let (index, error) = cloudwatch_errors(topology, &region.region).next()?;
    let code = error.code.as_deref().unwrap_or(&error.operation);
    let kept = if region.alarms.is_empty() {
        String::new()
    } else {
        " — the alarms below are from an earlier read".to_string()
    };
    let text = format!("{}{kept}", error.message);
    Some(Row {
        cells: vec![
            Cell::text(&region.region),
            Cell::toned("UNAVAILABLE", Tone::Warn),
            Cell::toned("alarms unavailable", Tone::Warn),
            Cell::toned("-", Tone::Dim),
            Cell::toned(code, Tone::Warn),
            Cell::Time(None),
            Cell::toned(text, Tone::Warn),
        ],
        target: RowRef {
            region: Some(ri),
            index,
            iam: None,
        },
        haystack: String::new(),
        key: format!("{UNAVAILABLE}{}", region.region),
    })
}

fn alarm_row(ri: usize, index: usize, region: &RegionTopology, alarm: &Alarm) -> Row {
    Row {
        cells: vec![
            Cell::text(&region.region),
            Cell::toned(&alarm.state, state_tone(&alarm.state)),
            Cell::text(&alarm.name),
            Cell::text(watches(region, alarm)),
            Cell::text(condition(alarm)),
            Cell::Time(alarm.updated_at),
            Cell::toned(
                alarm.reason.as_deref().unwrap_or("-"),
                if alarm_rank(&alarm.state) == 0 {
                    Tone::Bad
                } else {
                    Tone::Dim
                },
            ),
        ],
        target: RowRef {
            region: Some(ri),
            index,
            iam: None,
        },
        haystack: String::new(),
        key: format!("alarm/{}/{}", region.region, alarm.name),
    }
}

/// The `:alarms` list: a Region whose alarms could not be read first (saying why), then every
/// alarm in ALARM, INSUFFICIENT_DATA, then OK, by name.
pub fn list(topology: &Topology) -> ListModel {
    let mut rows: Vec<Row> = topology
        .regions
        .iter()
        .enumerate()
        .filter_map(|(ri, region)| unavailable_row(topology, ri, region))
        .collect();
    let mut alarms: Vec<(usize, usize, &RegionTopology, &Alarm)> = topology
        .regions
        .iter()
        .enumerate()
        .flat_map(|(ri, region)| {
            region
                .alarms
                .iter()
                .enumerate()
                .map(move |(i, alarm)| (ri, i, region, alarm))
        })
        .collect();
    alarms.sort_by(|a, b| {
        (alarm_rank(&a.3.state), &a.3.name, &a.2.region).cmp(&(
            alarm_rank(&b.3.state),
            &b.3.name,
            &b.2.region,
        ))
    });
    rows.extend(
        alarms
            .into_iter()
            .map(|(ri, i, region, alarm)| alarm_row(ri, i, region, alarm)),
    );
    finish(
        ListKind::Alarms,
        vec![
            col("REGION", 15),
            col("STATE", 17),
            col("NAME", 24),
            col("WATCHES", 20),
            col("CONDITION", 26),
            col("UPDATED", 7),
            col("REASON", 40),
        ],
        rows,
    )
}

/// The number of alarms in ALARM.
pub fn firing(topology: &Topology) -> usize {
    topology
        .regions
        .iter()
        .flat_map(|r| &r.alarms)
        .filter(|a| alarm_rank(&a.state) == 0)
        .count()
}

#[derive(Serialize)]
struct AlarmRecord<'a> {
    region: &'a str,
    #[serde(flatten)]
    alarm: &'a Alarm,
    watches: Vec<String>,
}

/// The describe pane of a row: the alarm whole (every field, its actions) with what it watches,
/// or the discovery error that kept a Region's alarms from being read.
pub fn describe(topology: &Topology, row: &Row) -> Option<Vec<String>> {
    let region = topology.regions.get(row.target.region?)?;
    if row.key.starts_with(UNAVAILABLE) {
        let errors: Vec<&DiscoveryError> = cloudwatch_errors(topology, &region.region)
            .map(|(_, e)| e)
            .collect();
        let mut lines = vec![format!(
            "# The alarms of {} could not be read; everything else was.",
            region.region
        )];
        lines.extend(to_yaml_lines(&errors));
        return Some(lines);
    }
    let alarm = region.alarms.get(row.target.index)?;
    let watches = alarm_resources(region, alarm)
        .iter()
        .map(|r| format!("{} {}", r.kind.as_str(), short_name(r)))
        .collect();
    Some(to_yaml_lines(&AlarmRecord {
        region: &region.region,
        alarm,
        watches,
    }))
}

/// The resource the row's alarm watches (the first one), with its Region.
pub fn watched(topology: &Topology, row: &Row) -> Option<(String, ResourceRef)> {
    if row.key.starts_with(UNAVAILABLE) {
        return None;
    }
    let region = topology.regions.get(row.target.region?)?;
    let alarm = region.alarms.get(row.target.index)?;
    let resource = alarm_resources(region, alarm).into_iter().next()?;
    Some((region.region.clone(), resource))
}
