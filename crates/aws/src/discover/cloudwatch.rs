//! CloudWatch alarms, per Region: metric and composite alarms with their state and the metrics
//! they watch (which resource an alarm is about is derived in `haven_model::signals`).

use aws_sdk_cloudwatch::types as sdk;
use haven_model as model;

use super::Scope;
use crate::error::AwsError;

pub(super) async fn discover(scope: &Scope<'_>) -> Result<Vec<model::Alarm>, AwsError> {
    let client = scope.ctx.cloudwatch(scope.region);
    let mut pages = client
        .describe_alarms()
        .alarm_types(sdk::AlarmType::MetricAlarm)
        .alarm_types(sdk::AlarmType::CompositeAlarm)
        .into_paginator()
        .send();
    let mut alarms = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| scope.err("DescribeAlarms", e))?;
        alarms.extend(page.metric_alarms().iter().map(metric_alarm));
        alarms.extend(page.composite_alarms().iter().map(composite_alarm));
    }
    Ok(alarms)
}

fn time(value: Option<&aws_smithy_types::DateTime>) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = value?;
    chrono::DateTime::from_timestamp(value.secs(), value.subsec_nanos())
}

fn dimensions(dims: &[sdk::Dimension]) -> std::collections::BTreeMap<String, String> {
    dims.iter()
        .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
        .collect()
}

fn metric_alarm(a: &sdk::MetricAlarm) -> model::Alarm {
    let mut metrics = Vec::new();
    if let Some(name) = a.metric_name() {
        metrics.push(model::AlarmMetric {
            namespace: a.namespace().unwrap_or_default().to_string(),
            name: name.to_string(),
            dimensions: dimensions(a.dimensions()),
        });
    }
    // A metric-math alarm names its metrics in its queries.
    metrics.extend(
        a.metrics()
            .iter()
            .filter_map(|q| q.metric_stat()?.metric())
            .map(|m| model::AlarmMetric {
                namespace: m.namespace().unwrap_or_default().to_string(),
                name: m.metric_name().unwrap_or_default().to_string(),
                dimensions: dimensions(m.dimensions()),
            }),
    );
    model::Alarm {
        metrics,
        comparison: a.comparison_operator().map(|c| c.as_str().to_string()),
        threshold: a.threshold(),
        ..common(
            a.alarm_name(),
            a.alarm_arn(),
            a.state_value(),
            a.state_reason(),
            a.state_updated_timestamp(),
        )
    }
    .with_actions(a.actions_enabled(), a.alarm_actions())
}

fn composite_alarm(a: &sdk::CompositeAlarm) -> model::Alarm {
    model::Alarm {
        composite: true,
        ..common(
            a.alarm_name(),
            a.alarm_arn(),
            a.state_value(),
            a.state_reason(),
            a.state_updated_timestamp(),
        )
    }
    .with_actions(a.actions_enabled(), a.alarm_actions())
}

/// What metric and composite alarms share.
fn common(
    name: Option<&str>,
    arn: Option<&str>,
    state: Option<&sdk::StateValue>,
    reason: Option<&str>,
    updated: Option<&aws_smithy_types::DateTime>,
) -> model::Alarm {
    model::Alarm {
        name: name.unwrap_or_default().to_string(),
        arn: arn.map(str::to_string),
        state: state
            .map_or("INSUFFICIENT_DATA", |s| s.as_str())
            .to_string(),
        reason: reason.map(str::to_string),
        updated_at: time(updated),
        ..model::Alarm::default()
    }
}

trait WithActions {
    fn with_actions(self, enabled: Option<bool>, actions: &[String]) -> Self;
}

impl WithActions for model::Alarm {
    fn with_actions(mut self, enabled: Option<bool>, actions: &[String]) -> Self {
        self.actions_enabled = enabled.unwrap_or(true);
        self.alarm_actions = actions.to_vec();
        self
    }
}
