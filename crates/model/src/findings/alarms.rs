//! Alarms an HA stack is expected to have: on its target groups' host health and on its read
//! replicas' lag. A Region whose alarms could not be read is not judged.

use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::signals::query::target_group_dimension;
use crate::{Alarm, RegionTopology, Service, Topology};

pub(crate) fn check(topology: &Topology, out: &mut Vec<Finding>) {
    for region in &topology.regions {
        let unread = topology.errors.iter().any(|e| {
            e.service == Service::CloudWatch && e.region.as_deref() == Some(region.region.as_str())
        });
        if !unread {
            host_alarms(region, out);
            lag_alarms(region, out);
        }
    }
}

/// Whether an alarm watches `metric` with the dimension `name` = `value`.
fn watches(alarm: &Alarm, metrics: &[&str], name: &str, value: &str) -> bool {
    alarm.metrics.iter().any(|m| {
        metrics.contains(&m.name.as_str())
            && m.dimensions.get(name).map(String::as_str) == Some(value)
    })
}

fn host_alarms(region: &RegionTopology, out: &mut Vec<Finding>) {
    const HOST_METRICS: &[&str] = &["UnHealthyHostCount", "HealthyHostCount"];
    for tg in &region.target_groups {
        if tg.load_balancer_arns.is_empty() || tg.targets.is_empty() {
            continue;
        }
        let Some(dimension) = target_group_dimension(&tg.arn) else {
            continue;
        };
        if region
            .alarms
            .iter()
            .any(|a| watches(a, HOST_METRICS, "TargetGroup", dimension))
        {
            continue;
        }
        out.push(finding(
            "HA-ALARM-HOSTS",
            Some(&region.region),
            ResourceRef::new(ResourceKind::TargetGroup, &tg.name).with_arn(Some(&tg.arn)),
            format!(
                "{} targets behind a load balancer; no alarm on UnHealthyHostCount or \
                 HealthyHostCount with TargetGroup={dimension} among the Region's {} alarms",
                tg.targets.len(),
                region.alarms.len()
            ),
        ));
    }
}

fn lag_alarms(region: &RegionTopology, out: &mut Vec<Finding>) {
    for db in &region.db_instances {
        let Some(source) = &db.read_replica_source else {
            continue;
        };
        if db.status == "deleting"
            || region
                .alarms
                .iter()
                .any(|a| watches(a, &["ReplicaLag"], "DBInstanceIdentifier", &db.identifier))
        {
            continue;
        }
        let measured = db
            .replica_lag
            .map(|lag| format!("; measured lag {} s", lag.seconds))
            .unwrap_or_default();
        out.push(finding(
            "HA-ALARM-LAG",
            Some(&region.region),
            ResourceRef::new(ResourceKind::DbInstance, &db.identifier).with_arn(Some(&db.arn)),
            format!("read replica of {source}; no alarm on ReplicaLag with DBInstanceIdentifier={}{measured}", db.identifier),
        ));
    }
}
