//! A YAML rendering of any model object for the describe pane, printed as block YAML (two-space
//! indent, `- ` for list items, quoted strings only where YAML needs it), fields in the order the
//! model declares them.

use std::fmt;

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use haven_model::findings::{self, Policy};
use haven_model::{RegionTopology, Topology};

use super::insight;
use super::jobs::{Job, JobState, Work};
use super::rows::{Cell, IamPart, ListKind, ListModel, Row, RowRef};
use super::tables::age;

/// A JSON value that keeps the order of object keys (serde_json's own map sorts them).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Number(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    entries.push((key, value));
                }
                Ok(Value::Object(entries))
            }
        }
        deserializer.deserialize_any(OrderedVisitor)
    }
}

/// Any serializable object as YAML lines, fields in declaration order.
pub fn to_yaml_lines<T: Serialize + ?Sized>(object: &T) -> Vec<String> {
    let value = serde_json::to_string(object)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .unwrap_or(Value::Null);
    let mut out = Vec::new();
    match &value {
        Value::Object(map) if !map.is_empty() => write_object(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_array(items, 0, &mut out),
        scalar => out.push(scalar_text(scalar)),
    }
    out
}

fn pad(indent: usize) -> String {
    " ".repeat(indent)
}

fn write_object(map: &[(String, Value)], indent: usize, out: &mut Vec<String>) {
    for (key, value) in map {
        let key = key_text(key);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push(format!("{}{key}:", pad(indent)));
                write_object(inner, indent + 2, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push(format!("{}{key}:", pad(indent)));
                // Block sequences under a key are not indented further (the usual YAML style).
                write_array(items, indent, out);
            }
            scalar => out.push(format!("{}{key}: {}", pad(indent), scalar_text(scalar))),
        }
    }
}

fn write_array(items: &[Value], indent: usize, out: &mut Vec<String>) {
    for item in items {
        match item {
            Value::Object(inner) if !inner.is_empty() => {
                let mut lines = Vec::new();
                write_object(inner, indent + 2, &mut lines);
                for (i, line) in lines.into_iter().enumerate() {
                    if i == 0 {
                        out.push(format!("{}- {}", pad(indent), &line[indent + 2..]));
                    } else {
                        out.push(line);
                    }
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push(format!("{}-", pad(indent)));
                write_array(inner, indent + 2, out);
            }
            scalar => out.push(format!("{}- {}", pad(indent), scalar_text(scalar))),
        }
    }
}

fn key_text(key: &str) -> String {
    if needs_quotes(key) {
        quoted(key)
    } else {
        key.to_string()
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.clone(),
        Value::String(s) if needs_quotes(s) => quoted(s),
        Value::String(s) => s.clone(),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Whether a plain scalar would be read back as something else (or not at all).
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) {
        return true;
    }
    if s.parse::<f64>().is_ok() {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-1` and `-` alone are caught above or here; `arn:…` and paths start with letters.
        return !(first == '-' && s.len() > 1 && !s.starts_with("- "));
    }
    s.contains(": ") || s.contains(" #") || s.chars().any(char::is_control)
}

/// A judged row's cells whole, as `COLUMN: text` lines under `shown:`, then what the rows are
/// judged against.
pub fn row_lines(model: &ListModel, row: &Row, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec!["shown:".to_string()];
    for (column, cell) in model.columns.iter().zip(&row.cells) {
        let text = match cell {
            Cell::Text(text, _) | Cell::Gauge(text, _, _) => text.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Time(Some(at)) => age(now, *at),
            Cell::Time(None) => "-".to_string(),
        };
        let text = if needs_quotes(&text) {
            quoted(&text)
        } else {
            text
        };
        lines.push(format!("  {}: {text}", key_text(column.name)));
    }
    if let Some(note) = &model.note {
        lines.push(format!("judged against: {}", quoted(note)));
    }
    lines.push(String::new());
    lines
}

/// A job as the Jobs view shows it whole: what it ran and on what, every call AWS accepted
/// with its request id, how it ended, and where it is logged.
#[derive(Serialize)]
struct JobRecord<'a> {
    job: u64,
    action: &'a str,
    sentence: String,
    region: &'a str,
    #[serde(flatten)]
    what: JobTarget<'a>,
    status: &'static str,
    started: String,
    finished: Option<String>,
    took: String,
    /// What the dialog showed before it ran.
    planned_calls: Vec<String>,
    /// What AWS accepted, in order.
    accepted_calls: Vec<AcceptedCallRecord<'a>>,
    last_progress: Option<String>,
    result: Option<&'a str>,
    error_code: Option<&'a str>,
    error: Option<&'a str>,
    action_log: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum JobTarget<'a> {
    Act {
        target: &'a haven_model::action::ResourceRef,
        parameters: &'a haven_model::action::ActionKind,
    },
    Replicate {
        operation: &'a haven_model::replication::Operation,
    },
    Deploy {
        stack: &'a str,
        steps: Vec<String>,
    },
}

#[derive(Serialize)]
struct AcceptedCallRecord<'a> {
    operation: &'a str,
    request_id: &'a str,
}

/// The lines of a job shown whole; `action_log` is where `haven act` runs are logged.
pub fn job_lines(job: &Job, action_log: Option<&Path>, now: DateTime<Utc>) -> Vec<String> {
    let (status, result, error) = match &job.state {
        JobState::Running => ("running", None, None),
        JobState::Done(message) => ("done", Some(message.as_str()), None),
        JobState::Failed(e) => ("failed", None, Some(e)),
    };
    let what = match &job.work {
        Work::Act(action) => JobTarget::Act {
            target: &action.target,
            parameters: &action.kind,
        },
        Work::Replicate(operation) => JobTarget::Replicate { operation },
        Work::Deploy { stack, calls, .. } => JobTarget::Deploy {
            stack,
            steps: calls.iter().map(|c| c.sentence()).collect(),
        },
    };
    let action_log = match (&job.work, action_log) {
        (Work::Act(_), Some(path)) => format!("{} (a sent and an ended line)", path.display()),
        (Work::Deploy { .. }, Some(path)) => {
            format!("{} (a sent and an ended line per call)", path.display())
        }
        (Work::Act(_) | Work::Deploy { .. }, None) => "not written (no data directory)".to_string(),
        (Work::Replicate(_), _) => {
            "not written: DR copies are not actions (haven replicate --dry-run shows them)"
                .to_string()
        }
    };
    let record = JobRecord {
        job: job.id,
        action: job.work.name(),
        sentence: job.work.sentence(),
        region: job.work.region(),
        what,
        status,
        started: job.started.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished: job
            .finished
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        took: age(job.started, job.finished.unwrap_or(now)),
        planned_calls: job.work.calls(),
        accepted_calls: job
            .accepted
            .iter()
            .map(|c| AcceptedCallRecord {
                operation: &c.operation,
                request_id: c.request_id.as_deref().unwrap_or("(none returned)"),
            })
            .collect(),
        last_progress: job
            .progress
            .as_ref()
            .map(|p| format!("{}: {}", p.step, p.message)),
        result,
        error_code: error.and_then(|e| e.code.as_deref()),
        error: error.map(|e| e.message.as_str()),
        action_log,
    };
    to_yaml_lines(&record)
}

/// The YAML of the object a row stands for.
pub fn describe_lines(
    topology: &Topology,
    policy: &Policy,
    kind: ListKind,
    target: RowRef,
) -> Option<Vec<String>> {
    let i = target.index;
    match kind {
        ListKind::Errors => return topology.errors.get(i).map(to_yaml_lines),
        ListKind::Findings => {
            return findings::assess(topology, policy).get(i).map(to_yaml_lines);
        }
        ListKind::AzLoss => return insight::losses(topology, policy).get(i).map(to_yaml_lines),
        ListKind::Dr => {
            return insight::dr_entries(topology, policy)
                .get(i)
                .map(to_yaml_lines);
        }
        _ => {}
    }
    if kind == ListKind::Iam {
        let iam = topology.iam.as_ref()?;
        return match target.iam? {
            IamPart::User => iam.users.get(i).map(to_yaml_lines),
            IamPart::Group => iam.groups.get(i).map(to_yaml_lines),
            IamPart::Role => iam.roles.get(i).map(to_yaml_lines),
            IamPart::Profile => iam.instance_profiles.get(i).map(to_yaml_lines),
            IamPart::PasswordPolicy => Some(to_yaml_lines(&(&iam.password_policy, &iam.account))),
        };
    }
    let r: &RegionTopology = topology.regions.get(target.region?)?;
    match kind {
        ListKind::Ec2 => r.instances.get(i).map(to_yaml_lines),
        ListKind::Asg => r.auto_scaling_groups.get(i).map(to_yaml_lines),
        ListKind::Lb => r.load_balancers.get(i).map(to_yaml_lines).or_else(|| {
            r.classic_load_balancers
                .get(i.checked_sub(r.load_balancers.len())?)
                .map(to_yaml_lines)
        }),
        ListKind::Tg => r.target_groups.get(i).map(to_yaml_lines),
        ListKind::Rds => r.db_instances.get(i).map(to_yaml_lines),
        ListKind::DbSnap => r.db_snapshots.get(i).map(to_yaml_lines),
        ListKind::Ami => r.images.get(i).map(to_yaml_lines),
        ListKind::Snap => r.snapshots.get(i).map(to_yaml_lines),
        ListKind::Sg => r.security_groups.get(i).map(to_yaml_lines),
        ListKind::Subnet => r.subnets.get(i).map(to_yaml_lines),
        ListKind::Vpc => r.vpcs.get(i).map(to_yaml_lines),
        ListKind::Nat => r.nat_gateways.get(i).map(to_yaml_lines),
        ListKind::Rtb => r.route_tables.get(i).map(to_yaml_lines),
        ListKind::Lt => r.launch_templates.get(i).map(to_yaml_lines),
        // The dashboard shows `deploys::describe` (with the time in the step); this is the state.
        ListKind::Deploy => super::deploys::deploys_in(r).get(i).map(to_yaml_lines),
        ListKind::Certs => r.certificates.get(i).map(to_yaml_lines),
        // The entry point the record belongs to, all its records with their health and share.
        ListKind::Dns => haven_model::front_door::entry_points(topology)
            .get(i)
            .map(to_yaml_lines),
        // Alarms and events are described by their own modules (`alarms`, `timeline`).
        ListKind::Iam
        | ListKind::Errors
        | ListKind::Findings
        | ListKind::AzLoss
        | ListKind::Dr
        | ListKind::Alarms
        | ListKind::Events
        | ListKind::Profiles => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Port {
        id: &'static str,
        port: i32,
    }

    #[derive(Serialize)]
    struct Sample {
        id: &'static str,
        state: &'static str,
        tags: BTreeMap<&'static str, &'static str>,
        security_group_ids: Vec<&'static str>,
        targets: Vec<Port>,
        empty: Vec<String>,
        reason: Option<String>,
        description: &'static str,
        version: &'static str,
        protocol: &'static str,
        text: &'static str,
        ratio: f64,
    }

    #[test]
    fn prints_fields_in_declaration_order_as_block_yaml() {
        let sample = Sample {
            id: "i-0abc",
            state: "running",
            tags: BTreeMap::from([("Name", "web"), ("aws:autoscaling:groupName", "lab-asg")]),
            security_group_ids: vec!["sg-1", "sg-2"],
            targets: vec![
                Port {
                    id: "i-1",
                    port: 80,
                },
                Port {
                    id: "i-2",
                    port: 80,
                },
            ],
            empty: Vec::new(),
            reason: None,
            description: "",
            version: "1",
            protocol: "-1",
            text: "a: b",
            ratio: 50.0,
        };
        let text = to_yaml_lines(&sample).join("\n");
        assert_eq!(
            text,
            "id: i-0abc\n\
             state: running\n\
             tags:\n  Name: web\n  aws:autoscaling:groupName: lab-asg\n\
             security_group_ids:\n- sg-1\n- sg-2\n\
             targets:\n- id: i-1\n  port: 80\n- id: i-2\n  port: 80\n\
             empty: []\n\
             reason: null\n\
             description: \"\"\n\
             version: \"1\"\n\
             protocol: \"-1\"\n\
             text: \"a: b\"\n\
             ratio: 50"
        );
    }
}
