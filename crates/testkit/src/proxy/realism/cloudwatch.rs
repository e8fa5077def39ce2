//! CloudWatch alarms as AWS starts them.
//!
//! "When you create an alarm, its initial state is `INSUFFICIENT_DATA`" until its first
//! evaluation (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation>);
//! moto starts every alarm `OK`. The proxy remembers the alarms created through it and answers
//! them `INSUFFICIENT_DATA`, with AWS's reason for a new alarm, until a `SetAlarmState` names
//! them (moto never evaluates an alarm, so that is the only way out).

use std::collections::HashSet;

use serde_json::Value;

/// The reason AWS gives a new alarm's state.
const INITIAL_REASON: &str = "Unchecked: Initial alarm creation";

/// Alarms that AWS would not have evaluated yet: `(region, alarm name)`.
#[derive(Debug, Default)]
pub(super) struct Alarms {
    unevaluated: HashSet<(String, String)>,
}

/// The top-level string member `name` of a JSON request body.
pub(super) fn json_param(body: &[u8], name: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}

/// The alarm names of a `DeleteAlarms` JSON body.
fn json_names(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| {
            value.get("AlarmNames")?.as_array().map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

impl Alarms {
    /// A `DescribeAlarms` that filters on `StateValue` while some alarms are unevaluated: moto
    /// would filter on its own states, so the filter is left to [`Alarms::after`]; the body
    /// moto gets instead.
    pub(super) fn before(&self, region: &str, action: &str, request: &[u8]) -> Option<Vec<u8>> {
        if action != "DescribeAlarms" || !self.unevaluated.iter().any(|(r, _)| r == region) {
            return None;
        }
        let mut value: Value = serde_json::from_slice(request).ok()?;
        value.as_object_mut()?.remove("StateValue")?;
        serde_json::to_vec(&value).ok()
    }

    /// Learns from a CloudWatch call moto answered 200, and rewrites a `DescribeAlarms` answer;
    /// `None` keeps it as it is.
    pub(super) fn after(
        &mut self,
        region: &str,
        action: &str,
        request: &[u8],
        answer: &str,
    ) -> Option<String> {
        let named = |name: String| (region.to_owned(), name);
        match action {
            "PutMetricAlarm" => {
                // Updating an alarm keeps its state on AWS; only a new one starts unchecked.
                if let Some(name) = json_param(request, "AlarmName") {
                    self.unevaluated.insert(named(name));
                }
                None
            }
            "SetAlarmState" => {
                if let Some(name) = json_param(request, "AlarmName") {
                    self.unevaluated.remove(&named(name));
                }
                None
            }
            "DeleteAlarms" => {
                for name in json_names(request) {
                    self.unevaluated.remove(&named(name));
                }
                None
            }
            "DescribeAlarms" => {
                let wanted = json_param(request, "StateValue");
                self.rewrite(region, answer, wanted.as_deref())
            }
            _ => None,
        }
    }

    /// `answer` with every unevaluated alarm `INSUFFICIENT_DATA`, and only the alarms in state
    /// `wanted` when the request asked for one.
    fn rewrite(&self, region: &str, answer: &str, wanted: Option<&str>) -> Option<String> {
        let mut value: Value = serde_json::from_str(answer).ok()?;
        let mut changed = false;
        if let Some(alarms) = value.get_mut("MetricAlarms").and_then(Value::as_array_mut) {
            changed |= self.set_states(region, alarms);
        }
        if let Some(wanted) = wanted {
            for list in ["MetricAlarms", "CompositeAlarms"] {
                if let Some(alarms) = value.get_mut(list).and_then(Value::as_array_mut) {
                    let before = alarms.len();
                    alarms.retain(|a| a.get("StateValue").and_then(Value::as_str) == Some(wanted));
                    changed |= alarms.len() != before;
                }
            }
        }
        changed.then(|| value.to_string())
    }

    /// Sets every unevaluated alarm of `alarms` `INSUFFICIENT_DATA`; whether any was.
    fn set_states(&self, region: &str, alarms: &mut [Value]) -> bool {
        let mut changed = false;
        for alarm in alarms {
            let Some(name) = alarm.get("AlarmName").and_then(Value::as_str) else {
                continue;
            };
            if !self
                .unevaluated
                .contains(&(region.to_owned(), name.to_owned()))
            {
                continue;
            }
            alarm["StateValue"] = Value::from("INSUFFICIENT_DATA");
            alarm["StateReason"] = Value::from(INITIAL_REASON);
            changed = true;
        }
        changed
    }
}
