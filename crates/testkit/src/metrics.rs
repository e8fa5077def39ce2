//! Metrics for moto: CloudWatch datapoints written straight to a moto_server, so that tests and
//! the demo have signals to show (moto stores what `PutMetricData` sends and answers
//! `GetMetricData` from it).
//!
//! [`put`] writes datums with AWS JSON 1.0 (what moto speaks for CloudWatch), at most
//! [`MAX_DATUMS_PER_CALL`] per call. [`lab_metrics`] makes an hour of plausible per-minute
//! datapoints for the resources of a discovered [`Topology`], with the namespaces, metric names
//! and dimensions CloudWatch uses for them.

use chrono::{DateTime, Duration, DurationRound, Utc};
use haven_model::topology::{InstanceState, RegionTopology, TargetHealthState, Topology};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// The most datums one `PutMetricData` call takes: "Each request is also limited to no more
/// than 1000 different metrics"
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html>).
pub const MAX_DATUMS_PER_CALL: usize = 1000;

/// One datapoint of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// The metric name, e.g. `RequestCount`.
    pub metric: String,
    /// Its dimensions, `(name, value)`, e.g. `("LoadBalancer", "app/lab-alb/50dc6c495c0c9188")`.
    pub dimensions: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// When it was measured.
    pub at: DateTime<Utc>,
}

/// Datums of one namespace in one Region.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The Region they belong to.
    pub region: String,
    /// The namespace, e.g. `AWS/ApplicationELB`.
    pub namespace: String,
    /// The datums.
    pub datums: Vec<Datum>,
}

/// Writes `datums` to moto at `endpoint` in `region` under `namespace`, in calls of at most
/// [`MAX_DATUMS_PER_CALL`].
pub async fn put(
    endpoint: &str,
    region: &str,
    namespace: &str,
    datums: &[Datum],
) -> Result<(), String> {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = format!("{}/", endpoint.trim_end_matches('/'))
        .parse()
        .map_err(|error| format!("endpoint `{endpoint}`: {error}"))?;
    for chunk in datums.chunks(MAX_DATUMS_PER_CALL) {
        let body = json!({
            "Namespace": namespace,
            "MetricData": chunk.iter().map(datum_json).collect::<Vec<_>>(),
        })
        .to_string();
        let request = Request::post(uri.clone())
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "x-amz-target",
                "GraniteServiceVersion20100801.PutMetricData",
            )
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/monitoring/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .body(Full::new(bytes::Bytes::from(body)))
            .map_err(|error| error.to_string())?;
        let answer = client
            .request(request)
            .await
            .map_err(|error| format!("PutMetricData to {endpoint}: {error}"))?;
        let status = answer.status();
        if !status.is_success() {
            let text = answer
                .into_body()
                .collect()
                .await
                .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
                .unwrap_or_default();
            return Err(format!("PutMetricData in {region}: HTTP {status}: {text}"));
        }
    }
    Ok(())
}

/// Writes every batch (see [`lab_metrics`]); the number of datums written.
pub async fn put_all(endpoint: &str, batches: &[Batch]) -> Result<usize, String> {
    let mut written = 0;
    for batch in batches {
        put(endpoint, &batch.region, &batch.namespace, &batch.datums).await?;
        written += batch.datums.len();
    }
    Ok(written)
}

fn datum_json(datum: &Datum) -> Value {
    json!({
        "MetricName": datum.metric,
        "Dimensions": datum
            .dimensions
            .iter()
            .map(|(name, value)| json!({"Name": name, "Value": value}))
            .collect::<Vec<_>>(),
        "Timestamp": datum.at.timestamp(),
        "Value": datum.value,
    })
}

/// The `LoadBalancer` dimension of a load balancer: its ARN after `loadbalancer/`
/// (`app/lab-alb/50dc6c495c0c9188`), as CloudWatch spells it
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html#load-balancer-metric-dimensions-alb>).
pub fn load_balancer_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/").map(|(_, rest)| rest)
}

/// The `TargetGroup` dimension of a target group: its ARN after the account's `:`
/// (`targetgroup/lab-tg/73e2d6bc24d8a067`).
pub fn target_group_dimension(arn: &str) -> Option<&str> {
    arn.rfind(":targetgroup/").map(|at| &arn[at + 1..])
}

/// An hour of per-minute datapoints, ending at `end` (rounded down to the minute), for the
/// resources of `topology`, deterministic for a `seed`:
/// - `AWS/ApplicationELB`: `RequestCount`, `HTTPCode_Target_5XX_Count`,
///   `HTTPCode_ELB_5XX_Count`, `TargetResponseTime` per load balancer and AZ (and per load
///   balancer), `HealthyHostCount` and `UnHealthyHostCount` per target group, load balancer
///   and AZ (and without the AZ), from the targets' health;
/// - `AWS/EC2` `CPUUtilization` per Auto Scaling group and per running instance;
/// - `AWS/AutoScaling` `GroupInServiceInstances` per group;
/// - `AWS/RDS` `CPUUtilization`, `DatabaseConnections`, `FreeStorageSpace` per DB instance, and
///   `ReplicaLag` for read replicas, in the replica's own Region.
pub fn lab_metrics(topology: &Topology, end: DateTime<Utc>, seed: u64) -> Vec<Batch> {
    let end = end.duration_trunc(Duration::minutes(1)).unwrap_or(end);
    let minutes: Vec<DateTime<Utc>> = (0..60)
        .rev()
        .map(|back| end - Duration::minutes(back))
        .collect();
    let mut batches = Vec::new();
    for region in &topology.regions {
        let mut series = Series {
            minutes: &minutes,
            seed,
            datums: Vec::new(),
        };
        load_balancers(region, &mut series);
        let elb = series.take();
        ec2(region, &mut series);
        let ec2 = series.take();
        auto_scaling(region, &mut series);
        let auto_scaling = series.take();
        rds(region, &mut series);
        let rds = series.take();
        for (namespace, datums) in [
            ("AWS/ApplicationELB", elb),
            ("AWS/EC2", ec2),
            ("AWS/AutoScaling", auto_scaling),
            ("AWS/RDS", rds),
        ] {
            if !datums.is_empty() {
                batches.push(Batch {
                    region: region.region.clone(),
                    namespace: namespace.to_owned(),
                    datums,
                });
            }
        }
    }
    batches
}

/// Builds per-minute datums.
struct Series<'a> {
    minutes: &'a [DateTime<Utc>],
    seed: u64,
    datums: Vec<Datum>,
}

impl Series<'_> {
    fn take(&mut self) -> Vec<Datum> {
        std::mem::take(&mut self.datums)
    }

    /// One datum a minute: `base` varied gently (a slow wave and a little noise, both
    /// `swing` at most in relative terms), never below 0, rounded to `step`.
    fn add(&mut self, metric: &str, dimensions: &[(&str, &str)], shape: Shape) {
        let key = mix(self.seed
            ^ hash(metric)
            ^ dimensions.iter().fold(0, |h, (n, v)| {
                h ^ hash(n).rotate_left(7) ^ hash(v).rotate_left(13)
            }));
        let phase = (key % 628) as f64 / 100.0;
        let dimensions: Vec<(String, String)> = dimensions
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        for (index, at) in self.minutes.iter().enumerate() {
            let wave = (index as f64 / 9.0 + phase).sin();
            let noise = (mix(key ^ index as u64) % 1000) as f64 / 1000.0 - 0.5;
            let value = shape.base * (1.0 + shape.swing * (0.7 * wave + 0.6 * noise));
            let value = (value.max(0.0) / shape.step).round() * shape.step;
            self.datums.push(Datum {
                metric: metric.to_owned(),
                dimensions: dimensions.clone(),
                value,
                at: *at,
            });
        }
    }
}

/// The level of a series and how much it varies.
#[derive(Clone, Copy)]
struct Shape {
    base: f64,
    swing: f64,
    /// Values are multiples of this (1 for counts).
    step: f64,
}

const fn shape(base: f64, swing: f64, step: f64) -> Shape {
    Shape { base, swing, step }
}

/// A constant series (counts of hosts).
const fn steady(value: f64) -> Shape {
    Shape {
        base: value,
        swing: 0.0,
        step: 1.0,
    }
}

fn load_balancers(region: &RegionTopology, series: &mut Series<'_>) {
    for lb in region
        .load_balancers
        .iter()
        .filter(|lb| lb.lb_type == "application")
    {
        let Some(lb_dim) = load_balancer_dimension(&lb.arn) else {
            continue;
        };
        let zones = lb.zones.len().max(1) as f64;
        let add_traffic = |series: &mut Series<'_>, dims: &[(&str, &str)], share: f64| {
            series.add("RequestCount", dims, shape(600.0 * share, 0.3, 1.0));
            series.add(
                "HTTPCode_Target_5XX_Count",
                dims,
                shape(1.0 * share, 1.5, 1.0),
            );
            series.add("HTTPCode_ELB_5XX_Count", dims, shape(0.3 * share, 2.0, 1.0));
            series.add("TargetResponseTime", dims, shape(0.045, 0.4, 0.001));
        };
        add_traffic(series, &[("LoadBalancer", lb_dim)], 1.0);
        for zone in &lb.zones {
            let dims = [
                ("LoadBalancer", lb_dim),
                ("AvailabilityZone", zone.availability_zone.as_str()),
            ];
            add_traffic(series, &dims, 1.0 / zones);
        }
        for tg in region
            .target_groups
            .iter()
            .filter(|tg| tg.load_balancer_arns.contains(&lb.arn))
        {
            let Some(tg_dim) = target_group_dimension(&tg.arn) else {
                continue;
            };
            let count = |az: Option<&str>, state: TargetHealthState| {
                tg.targets
                    .iter()
                    .filter(|t| t.health == state)
                    .filter(|t| az.is_none_or(|az| t.availability_zone.as_deref() == Some(az)))
                    .count() as f64
            };
            let base = [("TargetGroup", tg_dim), ("LoadBalancer", lb_dim)];
            series.add(
                "HealthyHostCount",
                &base,
                steady(count(None, TargetHealthState::Healthy)),
            );
            series.add(
                "UnHealthyHostCount",
                &base,
                steady(count(None, TargetHealthState::Unhealthy)),
            );
            for zone in &lb.zones {
                let az = zone.availability_zone.as_str();
                let dims = [base[0], base[1], ("AvailabilityZone", az)];
                series.add(
                    "HealthyHostCount",
                    &dims,
                    steady(count(Some(az), TargetHealthState::Healthy)),
                );
                series.add(
                    "UnHealthyHostCount",
                    &dims,
                    steady(count(Some(az), TargetHealthState::Unhealthy)),
                );
            }
        }
    }
}

fn ec2(region: &RegionTopology, series: &mut Series<'_>) {
    for group in &region.auto_scaling_groups {
        series.add(
            "CPUUtilization",
            &[("AutoScalingGroupName", group.name.as_str())],
            shape(35.0, 0.35, 0.01),
        );
    }
    for instance in region
        .instances
        .iter()
        .filter(|i| i.state == InstanceState::Running)
    {
        series.add(
            "CPUUtilization",
            &[("InstanceId", instance.id.as_str())],
            shape(33.0, 0.5, 0.01),
        );
    }
}

fn auto_scaling(region: &RegionTopology, series: &mut Series<'_>) {
    for group in &region.auto_scaling_groups {
        let in_service = group
            .instances
            .iter()
            .filter(|i| i.lifecycle_state == "InService")
            .count();
        series.add(
            "GroupInServiceInstances",
            &[("AutoScalingGroupName", group.name.as_str())],
            steady(in_service as f64),
        );
    }
}

fn rds(region: &RegionTopology, series: &mut Series<'_>) {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    for db in &region.db_instances {
        let dims = [("DBInstanceIdentifier", db.identifier.as_str())];
        let replica = db.read_replica_source.is_some();
        series.add("CPUUtilization", &dims, shape(18.0, 0.4, 0.01));
        let connections = if replica { 6.0 } else { 24.0 };
        series.add("DatabaseConnections", &dims, shape(connections, 0.3, 1.0));
        let storage = f64::from(db.allocated_storage_gib.unwrap_or(20)) * GIB * 0.72;
        series.add("FreeStorageSpace", &dims, shape(storage, 0.01, 1024.0));
        if replica {
            series.add("ReplicaLag", &dims, shape(2.0, 0.8, 0.1));
        }
    }
}

/// FNV-1a of a string.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64's finaliser: spreads the bits of `x`.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_are_spelled_as_cloudwatch_does() {
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/lab-alb/50dc6c495c0c9188"
            ),
            Some("app/lab-alb/50dc6c495c0c9188")
        );
        assert_eq!(
            target_group_dimension(
                "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-tg/73e2d6bc24d8a067"
            ),
            Some("targetgroup/lab-tg/73e2d6bc24d8a067")
        );
    }

    #[test]
    fn the_lab_gets_an_hour_of_every_signal_the_dashboard_reads() {
        let topology =
            Topology::from_json(include_str!("../../../assets/fixtures/lab-healthy.json"))
                .expect("the fixture reads");
        let end = DateTime::from_timestamp(1_796_077_817, 0).expect("a time");
        let batches = lab_metrics(&topology, end, 1);
        assert_eq!(batches, lab_metrics(&topology, end, 1), "deterministic");
        let find = |namespace: &str, metric: &str, dim: &str| -> Vec<&Datum> {
            batches
                .iter()
                .filter(|b| b.namespace == namespace)
                .flat_map(|b| &b.datums)
                .filter(|d| d.metric == metric && d.dimensions.iter().any(|(n, _)| n == dim))
                .collect()
        };
        let requests = find("AWS/ApplicationELB", "RequestCount", "AvailabilityZone");
        assert!(requests.len() >= 120, "an hour per AZ: {}", requests.len());
        assert!(
            requests
                .iter()
                .all(|d| d.at.timestamp() % 60 == 0 && d.at <= end)
        );
        assert!(
            requests[0].dimensions[0].1.starts_with("app/"),
            "{:?}",
            requests[0].dimensions
        );
        let healthy = find("AWS/ApplicationELB", "HealthyHostCount", "TargetGroup");
        assert!(healthy.iter().any(|d| d.value >= 1.0));
        assert!(healthy[0].dimensions[0].1.starts_with("targetgroup/"));
        assert!(!find("AWS/EC2", "CPUUtilization", "AutoScalingGroupName").is_empty());
        assert!(!find("AWS/EC2", "CPUUtilization", "InstanceId").is_empty());
        assert!(
            !find(
                "AWS/AutoScaling",
                "GroupInServiceInstances",
                "AutoScalingGroupName"
            )
            .is_empty()
        );
        assert!(!find("AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier").is_empty());
        // Replica lag only for replicas, in their own Region.
        let lag_regions: std::collections::BTreeSet<&str> = batches
            .iter()
            .filter(|b| b.datums.iter().any(|d| d.metric == "ReplicaLag"))
            .map(|b| b.region.as_str())
            .collect();
        let replica_regions: std::collections::BTreeSet<&str> = topology
            .regions
            .iter()
            .filter(|r| {
                r.db_instances
                    .iter()
                    .any(|d| d.read_replica_source.is_some())
            })
            .map(|r| r.region.as_str())
            .collect();
        assert_eq!(lag_regions, replica_regions);
        assert!(!lag_regions.is_empty());
    }

    #[test]
    fn series_vary_gently_and_repeat_for_a_seed() {
        let end = DateTime::from_timestamp(1_796_077_800, 0).expect("a time");
        let minutes: Vec<_> = (0..60).map(|m| end - Duration::minutes(m)).collect();
        let run = |seed| {
            let mut series = Series {
                minutes: &minutes,
                seed,
                datums: Vec::new(),
            };
            series.add(
                "RequestCount",
                &[("LoadBalancer", "app/a/1")],
                shape(600.0, 0.3, 1.0),
            );
            series.take()
        };
        let values: Vec<f64> = run(7).iter().map(|d| d.value).collect();
        assert_eq!(values.len(), 60);
        assert_eq!(run(7), run(7), "the same seed gives the same hour");
        assert_ne!(run(7), run(8));
        assert!(
            values.iter().all(|v| (300.0..=900.0).contains(v)),
            "{values:?}"
        );
        let distinct: std::collections::BTreeSet<u64> = values.iter().map(|v| *v as u64).collect();
        assert!(distinct.len() > 20, "values vary: {values:?}");
    }
}
