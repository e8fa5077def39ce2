//! Reads the live signals of what a topology holds: per Region, one `GetMetricData` call per
//! 500 series (the lab needs one), the Auto Scaling activities and the RDS events of the last
//! hour. A Region whose reads fail keeps its reason in [`Signals::unavailable`]; nothing here
//! stops the rest of haven.

use aws_sdk_cloudwatch::types as cw;
use aws_smithy_types::DateTime as SdkTime;
use chrono::{DateTime, Duration, Utc};
use haven_model::findings::{ResourceKind, ResourceRef};
use haven_model::signals::{
    self, Event, EventSource, Point, Query, RegionAsk, Signals, Unavailable,
};
use haven_model::{Service, Topology};

use crate::context::AwsContext;
use crate::error::AwsError;

/// Auto Scaling activities read per Region and refresh (the newest first).
const ACTIVITIES: i32 = 50;

/// RDS events read per Region and refresh (AWS: 20–100).
const RDS_EVENTS: i32 = 100;

/// The metrics and events each Region's ask names (`signals::asks` of a topology), read at
/// `now`, Regions in parallel.
pub async fn read_signals(ctx: &AwsContext, asks: &[RegionAsk], now: DateTime<Utc>) -> Signals {
    let reads = asks.iter().map(|ask| region(ctx, ask, now));
    let mut out = Signals {
        taken_at: Some(now),
        ..Signals::default()
    };
    let results = futures::future::join_all(reads).await;
    let failed_everywhere = !results.is_empty() && results.iter().all(|r| r.metrics_failed);
    for result in results {
        out.absorb(result.signals);
    }
    if failed_everywhere && let Some(first) = out.unavailable.first().cloned() {
        out.unavailable.push(Unavailable {
            region: None,
            reason: first.reason,
        });
    }
    out
}

/// Only the replicas' `ReplicaLag` (what `haven check` and the DR views need), per Region in
/// parallel; one `GetMetricData` per Region that has replicas.
pub async fn read_replica_lag(
    ctx: &AwsContext,
    topology: &Topology,
    now: DateTime<Utc>,
) -> Signals {
    let reads = topology.regions.iter().map(|region| async move {
        let queries: Vec<Query> = signals::queries(region)
            .into_iter()
            .filter(|q| q.key.metric == signals::Metric::ReplicaLag)
            .collect();
        if queries.is_empty() {
            return Signals::default();
        }
        match metrics(ctx, &region.region, &queries, now).await {
            Ok(series) => Signals {
                series,
                ..Signals::default()
            },
            Err(e) => Signals {
                unavailable: vec![Unavailable {
                    region: Some(region.region.clone()),
                    reason: e.to_string(),
                }],
                ..Signals::default()
            },
        }
    });
    let mut out = Signals {
        taken_at: Some(now),
        ..Signals::default()
    };
    for read in futures::future::join_all(reads).await {
        out.absorb(read);
    }
    out
}

struct RegionRead {
    signals: Signals,
    metrics_failed: bool,
}

async fn region(ctx: &AwsContext, ask: &RegionAsk, now: DateTime<Utc>) -> RegionRead {
    let name = ask.region.as_str();
    let (metrics, activities, rds_events) = tokio::join!(
        metrics(ctx, name, &ask.queries, now),
        scaling_activities(ctx, ask),
        rds_events(ctx, ask, now),
    );
    let mut out = Signals::default();
    let mut unavailable = |e: AwsError| {
        out.unavailable.push(Unavailable {
            region: Some(name.to_string()),
            reason: e.to_string(),
        });
    };
    let metrics_failed = metrics.is_err();
    match metrics {
        Ok(series) => out.series = series,
        Err(e) => unavailable(e),
    }
    let mut events = Vec::new();
    match activities {
        Ok(found) => events.extend(found),
        Err(e) => unavailable(e),
    }
    match rds_events {
        Ok(found) => events.extend(found),
        Err(e) => unavailable(e),
    }
    out.events = events;
    RegionRead {
        signals: out,
        metrics_failed,
    }
}

fn sdk_time(t: DateTime<Utc>) -> SdkTime {
    SdkTime::from_secs(t.timestamp())
}

fn chrono_time(t: &SdkTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn query(q: &Query) -> cw::MetricDataQuery {
    let dimensions = q
        .dimensions
        .iter()
        .map(|(name, value)| cw::Dimension::builder().name(*name).value(value).build())
        .collect();
    let metric = cw::Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric_name)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = cw::MetricStat::builder()
        .metric(metric)
        .period(signals::query::PERIOD_SECONDS)
        .stat(q.stat)
        .build();
    cw::MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(stat)
        .return_data(true)
        .build()
}

/// The series of the queries, up to 500 a call, every page of each.
async fn metrics(
    ctx: &AwsContext,
    region: &str,
    queries: &[Query],
    now: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<signals::SeriesKey, Vec<Point>>, AwsError> {
    let client = ctx.cloudwatch(region);
    let label = ctx.endpoint_label(region);
    let (start, end) = signals::query::window(now);
    let mut series = std::collections::BTreeMap::new();
    for chunk in queries.chunks(signals::query::MAX_QUERIES_PER_CALL) {
        let mut pages = client
            .get_metric_data()
            .set_metric_data_queries(Some(chunk.iter().map(query).collect()))
            .start_time(sdk_time(start))
            .end_time(sdk_time(end))
            .scan_by(cw::ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| AwsError::from_sdk(Service::CloudWatch, "GetMetricData", &label, e))?;
            for result in page.metric_data_results() {
                let Some(q) = chunk.iter().find(|q| Some(q.id.as_str()) == result.id()) else {
                    continue;
                };
                let points: Vec<Point> = result
                    .timestamps()
                    .iter()
                    .zip(result.values())
                    .filter_map(|(at, value)| {
                        Some(Point {
                            at: chrono_time(at)?,
                            value: *value,
                        })
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let entry: &mut Vec<Point> = series.entry(q.key.clone()).or_default();
                entry.extend(points);
            }
        }
    }
    for points in series.values_mut() {
        points.sort_by_key(|p| p.at);
        points.dedup_by_key(|p| p.at);
    }
    Ok(series)
}

/// The newest Auto Scaling activities of the Region's groups (one call for all groups).
async fn scaling_activities(ctx: &AwsContext, region: &RegionAsk) -> Result<Vec<Event>, AwsError> {
    if !region.scaling_events {
        return Ok(Vec::new());
    }
    let out = ctx
        .autoscaling(&region.region)
        .describe_scaling_activities()
        .max_records(ACTIVITIES)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                Service::AutoScaling,
                "DescribeScalingActivities",
                &ctx.endpoint_label(&region.region),
                e,
            )
        })?;
    Ok(out
        .activities()
        .iter()
        .filter_map(|a| {
            let group = a.auto_scaling_group_name()?;
            let at = chrono_time(a.end_time().or(a.start_time())?)?;
            let status = a.status_code().map(|s| s.as_str()).unwrap_or("");
            let bad = matches!(status, "Failed" | "Cancelled");
            let description = a.description().unwrap_or("activity");
            let status_text = match (status, a.status_message()) {
                ("Successful", _) | ("", _) => String::new(),
                (status, Some(message)) => format!(" ({status}: {message})"),
                (status, None) => format!(" ({status})"),
            };
            Some(Event {
                at,
                region: Some(region.region.clone()),
                source: EventSource::Scaling,
                resource: Some(ResourceRef::new(ResourceKind::AutoScalingGroup, group)),
                text: format!("{group}: {description}{status_text}"),
                bad,
            })
        })
        .collect())
}

/// The RDS events of the last hour in the Region (instances and clusters).
async fn rds_events(
    ctx: &AwsContext,
    region: &RegionAsk,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, AwsError> {
    if !region.rds_events {
        return Ok(Vec::new());
    }
    let out = ctx
        .rds(&region.region)
        .describe_events()
        .start_time(sdk_time(now - Duration::hours(1)))
        .max_records(RDS_EVENTS)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                Service::Rds,
                "DescribeEvents",
                &ctx.endpoint_label(&region.region),
                e,
            )
        })?;
    Ok(out
        .events()
        .iter()
        .filter_map(|e| {
            let source = e.source_identifier()?;
            let at = chrono_time(e.date()?)?;
            let kind = match e.source_type().map(|t| t.as_str()) {
                Some("db-instance") => Some(ResourceKind::DbInstance),
                Some("db-cluster") => Some(ResourceKind::DbCluster),
                _ => None,
            };
            let categories = e.event_categories();
            let bad = categories
                .iter()
                .any(|c| matches!(c.as_str(), "failure" | "low storage"));
            Some(Event {
                at,
                region: Some(region.region.clone()),
                source: EventSource::Rds,
                resource: kind.map(|kind| ResourceRef::new(kind, source)),
                text: format!("{source}: {}", e.message().unwrap_or("event")),
                bad,
            })
        })
        .collect())
}
