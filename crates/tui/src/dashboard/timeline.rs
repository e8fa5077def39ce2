//! `:events`: what happened across Regions, newest first — Auto Scaling activities and RDS events
//! (read with the signals), changes seen between two refreshes, and haven's own actions (the
//! action log) — each row opening the resource it happened to.

use haven_model::Topology;
use haven_model::signals::{Event, events};

use super::describe::to_yaml_lines;
use super::links::short_name;
use super::rows::{Cell, ListKind, ListModel, Row, RowRef, col, finish};
use super::style::Tone;

/// The events of every source on one timeline, newest first, each once.
pub fn merge<'a>(sources: impl IntoIterator<Item = &'a [Event]>) -> Vec<Event> {
    events::timeline(sources.into_iter().flatten())
        .into_iter()
        .cloned()
        .collect()
}

/// What the empty list says: nothing happened, or the events are not read yet.
pub fn empty_text(signals_read: bool) -> &'static str {
    if signals_read {
        "no events in the last hour"
    } else {
        "reading events…"
    }
}

fn event_row(topology: &Topology, index: usize, event: &Event) -> Row {
    let tone = if event.bad { Tone::Bad } else { Tone::Normal };
    let region = event.region.as_deref().unwrap_or("global");
    Row {
        cells: vec![
            Cell::text(region),
            Cell::toned(event.at.format("%H:%M:%S").to_string(), tone),
            Cell::Time(Some(event.at)),
            Cell::toned(
                event.source.label(),
                if event.bad { Tone::Bad } else { Tone::Dim },
            ),
            Cell::opt(event.resource.as_ref().map(short_name).as_deref()),
            Cell::toned(&event.text, tone),
        ],
        target: RowRef {
            region: event
                .region
                .as_deref()
                .and_then(|code| topology.regions.iter().position(|r| r.region == code)),
            index,
            iam: None,
        },
        haystack: String::new(),
        key: format!(
            "{}/{}/{}",
            event.at.timestamp_millis(),
            event.source.label(),
            event.text
        ),
    }
}

/// The `:events` list of `timeline` (newest first, as [`merge`] gives it); row `i` is
/// `timeline[i]`.
pub fn list(topology: &Topology, timeline: &[Event]) -> ListModel {
    let rows = timeline
        .iter()
        .enumerate()
        .map(|(i, event)| event_row(topology, i, event))
        .collect();
    finish(
        ListKind::Events,
        vec![
            col("REGION", 15),
            col("TIME UTC", 8),
            col("AGE", 5),
            col("SOURCE", 7),
            col("RESOURCE", 22),
            col("WHAT HAPPENED", 50),
        ],
        rows,
    )
}

/// The describe pane of an event: every field, the resource whole.
pub fn describe(event: &Event) -> Vec<String> {
    to_yaml_lines(event)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use haven_model::findings::{ResourceKind, ResourceRef};
    use haven_model::signals::EventSource;

    use super::*;

    fn event(minute: u32, source: EventSource, text: &str, bad: bool) -> Event {
        Event {
            at: Utc.with_ymd_and_hms(2026, 11, 30, 12, minute, 0).unwrap(),
            region: Some("ap-northeast-2".into()),
            source,
            resource: Some(ResourceRef::new(ResourceKind::DbInstance, "lab-db")),
            text: text.into(),
            bad,
        }
    }

    #[test]
    fn every_source_on_one_timeline_newest_first_each_once() {
        let rds = [event(
            5,
            EventSource::Rds,
            "lab-db: DB instance restarted",
            false,
        )];
        let seen = [event(
            9,
            EventSource::Change,
            "lab-db: available → rebooting",
            false,
        )];
        let haven = [
            event(1, EventSource::Haven, "db-reboot lab-db: ok", false),
            event(1, EventSource::Haven, "db-reboot lab-db: ok", false),
        ];
        let merged = merge([&rds[..], &seen[..], &haven[..]]);
        let texts: Vec<&str> = merged.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "lab-db: available → rebooting",
                "lab-db: DB instance restarted",
                "db-reboot lab-db: ok"
            ]
        );
        let model = list(&Topology::new(merged[0].at), &merged);
        assert_eq!(model.rows.len(), 3);
        assert_eq!(
            model.rows[0].cells[1],
            Cell::toned("12:09:00", Tone::Normal)
        );
        assert_eq!(model.rows[1].cells[3], Cell::toned("rds", Tone::Dim));
        assert_eq!(model.rows[1].cells[4], Cell::text("lab-db"));
    }

    #[test]
    fn bad_news_is_red() {
        let merged = merge([&[event(3, EventSource::Scaling, "launch failed", true)][..]]);
        let model = list(&Topology::new(merged[0].at), &merged);
        assert_eq!(
            model.rows[0].cells[5],
            Cell::toned("launch failed", Tone::Bad)
        );
    }
}
