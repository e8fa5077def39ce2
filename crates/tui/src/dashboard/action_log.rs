//! haven's own actions on the events timeline: the action log (JSON lines written by `haven act`
//! and the dashboard's jobs: a `sent` line per call AWS accepted, an `ended` line per run) read
//! back into one event per action.
//!
//! The log is read off the draw path (the run loop reads it in a blocking task after each
//! refresh), only its end, and a missing file, a partly written last line or a line of another
//! shape are skipped, never an error.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};
use haven_model::findings::{ResourceKind, ResourceRef};
use haven_model::signals::{Event, EventSource};
use serde::Deserialize;

/// How many of the log's last lines are read.
pub const TAIL_LINES: usize = 500;

/// How many bytes of the log's end are read at most (500 lines fit with room to spare).
const TAIL_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Deserialize)]
struct LogLine {
    time: DateTime<Utc>,
    event: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    sentence: Option<String>,
    #[serde(default)]
    result: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Target {
    #[serde(default)]
    kind: Option<String>,
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Outcome {
    status: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl LogLine {
    /// Lines of one run share these (the run's region, action, target and sentence).
    fn same_run(&self, other: &LogLine) -> bool {
        self.account == other.account
            && self.region == other.region
            && self.action == other.action
            && self.target == other.target
            && self.sentence == other.sentence
    }
}

/// The events of the last [`TAIL_LINES`] lines of the log at `path` that are `account`'s
/// (all when `None`), oldest first; nothing when the file is missing or unreadable. Every
/// account haven runs in writes to the one log: each dashboard shows its own account's actions.
pub fn read(path: &Path, account: Option<&str>) -> Vec<Event> {
    match tail(path) {
        Ok(text) => events(&text, account),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the action log");
            }
            Vec::new()
        }
    }
}

/// The end of the file: its last [`TAIL_BYTES`] at most, starting at a whole line.
fn tail(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        // The first line was cut by the seek.
        text = text
            .split_once('\n')
            .map_or_else(String::new, |(_, rest)| rest.to_string());
    }
    Ok(text)
}

/// One event per action of the log's text, oldest first: the `ended` line when there is one
/// (with the `sent` lines before it of the same run), else the `sent` line ("sent, not
/// followed"). Only the last [`TAIL_LINES`] lines count; lines that are not a log line (garbage,
/// a line still being written) are skipped, and so are those of another account than `account`
/// when one is given.
pub fn events(text: &str, account: Option<&str>) -> Vec<Event> {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    let mut open: Vec<LogLine> = Vec::new();
    let mut out: Vec<Event> = Vec::new();
    for raw in &lines[from..] {
        let Ok(line) = serde_json::from_str::<LogLine>(raw) else {
            continue;
        };
        if account.is_some_and(|a| line.account.as_deref().is_some_and(|l| l != a)) {
            continue;
        }
        match line.event.as_str() {
            "sent" if !open.iter().any(|o| o.same_run(&line)) => open.push(line),
            "ended" => {
                if let Some(i) = open.iter().position(|o| o.same_run(&line)) {
                    open.remove(i);
                }
                out.push(ended(&line));
            }
            _ => {}
        }
    }
    out.extend(open.iter().map(not_followed));
    out.sort_by_key(|e| e.at);
    out
}

fn resource(target: Option<&Target>) -> Option<ResourceRef> {
    let target = target?;
    let kind: ResourceKind =
        serde_json::from_value(serde_json::Value::String(target.kind.clone()?)).ok()?;
    Some(ResourceRef::new(kind, &target.id).named(target.name.as_deref()))
}

/// `asg-set-capacity lab-asg`: the action and its target (a name rather than an ARN).
fn subject(line: &LogLine) -> String {
    let action = line.action.as_deref().unwrap_or("action");
    match &line.target {
        Some(Target {
            name: Some(name),
            id,
            ..
        }) if id.starts_with("arn:") => {
            format!("{action} {name}")
        }
        Some(Target { id, .. }) => format!("{action} {id}"),
        None => action.to_string(),
    }
}

fn event(line: &LogLine, text: String, bad: bool) -> Event {
    Event {
        at: line.time,
        region: line.region.clone(),
        source: EventSource::Haven,
        resource: resource(line.target.as_ref()),
        text,
        bad,
    }
}

fn ended(line: &LogLine) -> Event {
    let (status, detail, bad) = match &line.result {
        Some(outcome) => {
            let bad = outcome.status == "error";
            let detail = if bad {
                let code = outcome
                    .code
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default();
                outcome
                    .message
                    .as_deref()
                    .map(|m| format!(" ({code}{m})"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            (outcome.status.as_str(), detail, bad)
        }
        None => ("ended", String::new(), false),
    };
    let sentence = line
        .sentence
        .as_deref()
        .map(|s| format!(" — {s}"))
        .unwrap_or_default();
    event(
        line,
        format!("{}: {status}{sentence}{detail}", subject(line)),
        bad,
    )
}

fn not_followed(line: &LogLine) -> Event {
    let sentence = line
        .sentence
        .as_deref()
        .map(|s| format!(" — {s}"))
        .unwrap_or_default();
    event(
        line,
        format!("{}: sent, not followed{sentence}", subject(line)),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: &str = r#"{"caller_arn":"arn:aws:iam::123456789012:user/ops","account":"123456789012","endpoint":null,"region":"ap-northeast-2","action":"asg-set-capacity","target":{"kind":"auto_scaling_group","id":"lab-asg","name":null},"parameters":{"set_capacity":{"desired":4}},"sentence":"set the desired capacity of lab-asg to 4","risk":"low","time":"2026-11-30T12:00:01.000Z","event":"sent","operation":"SetDesiredCapacity","request_id":"req-1","request_ids":["req-1"]}"#;
    const ENDED: &str = r#"{"caller_arn":"arn:aws:iam::123456789012:user/ops","account":"123456789012","endpoint":null,"region":"ap-northeast-2","action":"asg-set-capacity","target":{"kind":"auto_scaling_group","id":"lab-asg","name":null},"parameters":{"set_capacity":{"desired":4}},"sentence":"set the desired capacity of lab-asg to 4","risk":"low","time":"2026-11-30T12:03:30.000Z","event":"ended","result":{"status":"ok","message":"4 in service","resulting_ids":[]},"request_ids":["req-1"]}"#;

    #[test]
    fn a_sent_and_its_ended_line_are_one_event_at_the_end() {
        let events = events(&format!("{SENT}\n{ENDED}\n"), None);
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(
            e.text,
            "asg-set-capacity lab-asg: ok — set the desired capacity of lab-asg to 4"
        );
        assert_eq!(e.at.to_rfc3339(), "2026-11-30T12:03:30+00:00");
        assert_eq!(e.source, EventSource::Haven);
        assert_eq!(e.region.as_deref(), Some("ap-northeast-2"));
        assert!(!e.bad);
        let resource = e.resource.as_ref().unwrap();
        assert_eq!(resource.kind, ResourceKind::AutoScalingGroup);
        assert_eq!(resource.id, "lab-asg");
    }

    #[test]
    fn a_sent_line_without_its_end_says_it_was_not_followed() {
        let events = events(&format!("{SENT}\n"), None);
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].text,
            "asg-set-capacity lab-asg: sent, not followed — set the desired capacity of lab-asg \
             to 4"
        );
        assert_eq!(events[0].at.to_rfc3339(), "2026-11-30T12:00:01+00:00");
    }

    #[test]
    fn garbage_and_a_half_written_last_line_are_skipped() {
        let half = &ENDED[..ENDED.len() / 2];
        let text = format!("not json at all\n{SENT}\n{{\"time\": 3}}\n{half}");
        let events = events(&text, None);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0].text.contains("sent, not followed"));
    }

    #[test]
    fn a_failed_action_is_bad_news_with_its_error() {
        let failed = ENDED.replace(
            r#""result":{"status":"ok","message":"4 in service","resulting_ids":[]}"#,
            r#""result":{"status":"error","code":"ValidationError","message":"desired above max"}"#,
        );
        let events = events(&format!("{SENT}\n{failed}\n"), None);
        assert_eq!(events.len(), 1);
        assert!(events[0].bad);
        assert!(
            events[0]
                .text
                .ends_with(": error — set the desired capacity of lab-asg to 4 (ValidationError: desired above max)"),
            "{}",
            events[0].text
        );
    }

    #[test]
    fn two_runs_pair_each_end_with_its_own_sent_line() {
        let other_sent = SENT.replace("lab-asg", "web-asg");
        let other_ended = ENDED.replace("lab-asg", "web-asg");
        let text = format!("{SENT}\n{other_sent}\n{other_ended}\n");
        let events = events(&text, None);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            events[0]
                .text
                .starts_with("asg-set-capacity lab-asg: sent, not followed")
        );
        assert!(events[1].text.starts_with("asg-set-capacity web-asg: ok"));
    }

    #[test]
    fn only_the_last_lines_count_and_a_missing_file_is_no_event() {
        let many: Vec<String> = (0..TAIL_LINES + 10).map(|_| ENDED.to_string()).collect();
        assert_eq!(events(&many.join("\n"), None).len(), TAIL_LINES);
        assert!(read(Path::new("/nonexistent/haven/actions.jsonl"), None).is_empty());
    }

    #[test]
    fn reads_the_end_of_a_file() {
        let dir = std::env::temp_dir().join(format!("haven-action-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("actions.jsonl");
        std::fs::write(&path, format!("{SENT}\n{ENDED}\n")).unwrap();
        let events = read(&path, None);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(events.len(), 1);
        assert!(events[0].text.contains(": ok — "));
    }

    #[test]
    fn each_account_sees_its_own_actions_in_the_shared_log() {
        let other_sent = SENT.replace("123456789012", "222222222222");
        let other_ended = ENDED.replace("123456789012", "222222222222");
        let text = format!("{SENT}\n{other_sent}\n{ENDED}\n{other_ended}\n");
        assert_eq!(
            events(&text, None).len(),
            2,
            "every account without a filter"
        );
        let mine = events(&text, Some("123456789012"));
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert!(mine[0].text.contains(": ok"), "its own run ended: {mine:?}");
        let theirs = events(&text, Some("222222222222"));
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        assert!(events(&text, Some("333333333333")).is_empty());
    }
}
