//! What to ask CloudWatch for: one `GetMetricData` query per series, built from the topology.
//!
//! Metric names, dimensions and statistics are CloudWatch's
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html>,
//! <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-metrics.html>,
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html>).

use chrono::{DateTime, Duration, DurationRound, Utc};

use super::{Metric, SeriesKey};
use crate::{InstanceState, RegionTopology, Topology};

/// The most queries one `GetMetricData` call takes (AWS's limit).
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// Instances whose own CPU is read per Region: each series is billed per read, and a fleet of
/// thousands is followed by its groups' averages instead. Members of Auto Scaling groups and
/// target groups come first.
pub const INSTANCE_SERIES_LIMIT: usize = 100;

/// The period of every series, in seconds: one point per minute (instances with basic
/// monitoring report every 5 minutes, so their series have a point every fifth minute).
pub const PERIOD_SECONDS: i32 = 60;

/// How far back the series reach.
pub const WINDOW_MINUTES: i64 = 60;

/// One series to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The query id in the call (`m0`, `m1`, …: a lowercase letter first, as AWS requires).
    pub id: String,
    /// The series it fills.
    pub key: SeriesKey,
    /// e.g. `AWS/ApplicationELB`.
    pub namespace: &'static str,
    /// e.g. `RequestCount`.
    pub metric_name: &'static str,
    /// Dimension names and values, exactly as CloudWatch spells them.
    pub dimensions: Vec<(&'static str, String)>,
    /// `Sum`, `Average`, `Minimum` or `Maximum`.
    pub stat: &'static str,
    /// CloudWatch has a point of it every five minutes only (an instance with basic
    /// monitoring): reading it every minute would bring the same points again.
    pub five_minute: bool,
}

/// What one Region's signals read asks: its series, and whether its Auto Scaling activities and
/// RDS events are worth a call (it has groups, databases). Built when the read starts, so that
/// the read holds no copy of the topology while pieces of the next refresh change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionAsk {
    /// The Region code.
    pub region: String,
    /// Its series.
    pub queries: Vec<Query>,
    /// It has Auto Scaling groups: read their activities.
    pub scaling_events: bool,
    /// It has DB instances or clusters: read their events.
    pub rds_events: bool,
}

/// The signals read of every Region of `topology`.
pub fn asks(topology: &Topology) -> Vec<RegionAsk> {
    topology
        .regions
        .iter()
        .map(|region| RegionAsk {
            region: region.region.clone(),
            queries: queries(region),
            scaling_events: !region.auto_scaling_groups.is_empty(),
            rds_events: !region.db_instances.is_empty() || !region.db_clusters.is_empty(),
        })
        .collect()
}

/// The time range read: the last [`WINDOW_MINUTES`] whole minutes before `now` (aligned to the
/// minute, which CloudWatch answers fastest).
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    (end - Duration::minutes(WINDOW_MINUTES), end)
}

/// The `LoadBalancer` dimension of a load balancer: its ARN after `loadbalancer/`
/// (`app/lab-alb/50dc6c495c0c9188`).
pub fn load_balancer_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/").map(|(_, rest)| rest)
}

/// The `TargetGroup` dimension of a target group: its ARN's last part
/// (`targetgroup/lab-tg/73e2d6bc24d8a067`).
pub fn target_group_dimension(arn: &str) -> Option<&str> {
    arn.rsplit_once(':')
        .map(|(_, rest)| rest)
        .filter(|rest| rest.starts_with("targetgroup/"))
}

/// Every series to read for a Region's resources, ids numbered from `m0`.
pub fn queries(region: &RegionTopology) -> Vec<Query> {
    let mut out = Builder {
        region: &region.region,
        queries: Vec::new(),
    };
    load_balancers(region, &mut out);
    groups(region, &mut out);
    instances(region, &mut out);
    databases(region, &mut out);
    out.queries
}

struct Builder<'a> {
    region: &'a str,
    queries: Vec<Query>,
}

impl Builder<'_> {
    fn push(
        &mut self,
        key: SeriesKey,
        (namespace, metric_name, stat): (&'static str, &'static str, &'static str),
        dimensions: Vec<(&'static str, String)>,
    ) -> &mut Query {
        let id = format!("m{}", self.queries.len());
        let query = Query {
            id,
            key,
            namespace,
            metric_name,
            dimensions,
            stat,
            five_minute: false,
        };
        self.queries.push(query);
        let last = self.queries.len() - 1;
        &mut self.queries[last]
    }
}

const ELB: &str = "AWS/ApplicationELB";

fn load_balancers(region: &RegionTopology, out: &mut Builder<'_>) {
    for lb in &region.load_balancers {
        let Some(dimension) = load_balancer_dimension(&lb.arn) else {
            continue;
        };
        if lb.lb_type != "application" {
            continue;
        }
        for zone in &lb.zones {
            let az = &zone.availability_zone;
            let dims = || {
                vec![
                    ("LoadBalancer", dimension.to_string()),
                    ("AvailabilityZone", az.clone()),
                ]
            };
            for (metric, name, stat) in [
                (Metric::Requests, "RequestCount", "Sum"),
                (Metric::TargetErrors, "HTTPCode_Target_5XX_Count", "Sum"),
                (Metric::LoadBalancerErrors, "HTTPCode_ELB_5XX_Count", "Sum"),
                (Metric::ResponseTime, "TargetResponseTime", "Average"),
            ] {
                let key = SeriesKey::in_az(out.region, &lb.arn, az, metric);
                out.push(key, (ELB, name, stat), dims());
            }
        }
    }
    for tg in &region.target_groups {
        let Some(tg_dimension) = target_group_dimension(&tg.arn) else {
            continue;
        };
        let Some(lb) = region
            .load_balancers
            .iter()
            .find(|lb| lb.lb_type == "application" && tg.load_balancer_arns.contains(&lb.arn))
        else {
            continue;
        };
        let Some(lb_dimension) = load_balancer_dimension(&lb.arn) else {
            continue;
        };
        for zone in &lb.zones {
            let az = &zone.availability_zone;
            for (metric, name, stat) in [
                (Metric::HealthyHosts, "HealthyHostCount", "Minimum"),
                (Metric::UnhealthyHosts, "UnHealthyHostCount", "Maximum"),
            ] {
                let key = SeriesKey::in_az(out.region, &tg.arn, az, metric);
                let dims = vec![
                    ("TargetGroup", tg_dimension.to_string()),
                    ("LoadBalancer", lb_dimension.to_string()),
                    ("AvailabilityZone", az.clone()),
                ];
                out.push(key, (ELB, name, stat), dims);
            }
        }
    }
}

fn groups(region: &RegionTopology, out: &mut Builder<'_>) {
    for group in &region.auto_scaling_groups {
        let dims = || vec![("AutoScalingGroupName", group.name.clone())];
        let cpu = SeriesKey::new(out.region, &group.name, Metric::Cpu);
        out.push(cpu, ("AWS/EC2", "CPUUtilization", "Average"), dims());
        let in_service = SeriesKey::new(out.region, &group.name, Metric::InService);
        out.push(
            in_service,
            ("AWS/AutoScaling", "GroupInServiceInstances", "Average"),
            dims(),
        );
    }
}

/// Running instances, members of groups and target groups first, up to
/// [`INSTANCE_SERIES_LIMIT`].
fn instances(region: &RegionTopology, out: &mut Builder<'_>) {
    let member = |id: &str| {
        region
            .auto_scaling_groups
            .iter()
            .any(|g| g.instances.iter().any(|i| i.instance_id == id))
            || region
                .target_groups
                .iter()
                .any(|tg| tg.targets.iter().any(|t| t.id == id))
    };
    let mut running: Vec<(bool, &str, bool)> = region
        .instances
        .iter()
        .filter(|i| i.state == InstanceState::Running)
        .map(|i| (!member(&i.id), i.id.as_str(), i.detailed_monitoring))
        .collect();
    running.sort();
    for (_, id, detailed) in running.into_iter().take(INSTANCE_SERIES_LIMIT) {
        let key = SeriesKey::new(out.region, id, Metric::Cpu);
        out.push(
            key,
            ("AWS/EC2", "CPUUtilization", "Average"),
            vec![("InstanceId", id.to_string())],
        )
        .five_minute = !detailed;
    }
}

fn databases(region: &RegionTopology, out: &mut Builder<'_>) {
    for db in &region.db_instances {
        let dims = || vec![("DBInstanceIdentifier", db.identifier.clone())];
        let mut metrics = vec![
            (Metric::Cpu, "CPUUtilization", "Average"),
            (Metric::Connections, "DatabaseConnections", "Average"),
        ];
        // Aurora's storage is the cluster volume: no FreeStorageSpace per instance.
        if !db.engine.starts_with("aurora") {
            metrics.push((Metric::FreeStorage, "FreeStorageSpace", "Minimum"));
        }
        if db.read_replica_source.is_some() {
            metrics.push((Metric::ReplicaLag, "ReplicaLag", "Maximum"));
        }
        for (metric, name, stat) in metrics {
            let key = SeriesKey::new(out.region, &db.identifier, metric);
            out.push(key, ("AWS/RDS", name, stat), dims());
        }
    }
}
