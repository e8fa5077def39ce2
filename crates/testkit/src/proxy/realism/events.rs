//! What AWS records about changes that moto does not: RDS events of reboots, failovers and
//! promotions (moto records only create, backup and snapshot events), and the successful
//! scaling activities of an Auto Scaling group (moto always lists none).

use std::time::{Duration, SystemTime};

use super::xml::{Edits, child_text, children, content, descendant, escape};
use super::{Call, timestamp};

/// One RDS event as `DescribeEvents` lists it
/// (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Event.html>).
#[derive(Debug, Clone)]
struct RdsEvent {
    region: String,
    source_identifier: String,
    /// `db-instance` or `db-cluster`.
    source_type: &'static str,
    message: String,
    category: &'static str,
    date: SystemTime,
    source_arn: String,
}

/// The messages of "Amazon RDS event categories and event messages"
/// (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html>), with
/// their event ids (which the API's `Event` does not carry: EventBridge and SNS do).
mod message {
    /// RDS-EVENT-0004 (availability).
    pub(super) const SHUTDOWN: &str = "DB instance shutdown";
    /// RDS-EVENT-0006 (availability).
    pub(super) const RESTARTED: &str = "DB instance restarted";
    /// RDS-EVENT-0013 (failover).
    pub(super) const FAILOVER_STARTED: &str = "Multi-AZ instance failover started.";
    /// RDS-EVENT-0049 (failover).
    pub(super) const FAILOVER_COMPLETED: &str = "Multi-AZ instance failover completed.";
    /// RDS-EVENT-0057 (read replica): the end of replication when a replica is promoted.
    pub(super) const REPLICATION_ENDED: &str = "Replication for the Read Replica terminated.";
    /// RDS-EVENT-0069 (failover, DB cluster).
    pub(super) const CLUSTER_FAILOVER_STARTED: &str = "Started cross AZ failover to DB instance";
    /// RDS-EVENT-0071 (failover, DB cluster).
    pub(super) const CLUSTER_FAILOVER_COMPLETED: &str = "Completed failover to DB instance";
}

/// RDS events the proxy adds to moto's.
#[derive(Debug, Default)]
pub(super) struct RdsEvents {
    events: Vec<RdsEvent>,
}

impl RdsEvents {
    /// Records the events AWS emits for `call`, a change moto answered 200 with `text`: a
    /// reboot (with `ForceFailover`, a Multi-AZ failover) or a promotion, taking `took` (already
    /// scaled) from `now`.
    pub(super) fn record(&mut self, call: &Call, text: &str, now: SystemTime, took: Duration) {
        let later = now + took;
        let cluster = call.action == "FailoverDBCluster";
        let (id, arn_element) = if cluster {
            (call.param("DBClusterIdentifier"), "DBClusterArn")
        } else {
            (call.param("DBInstanceIdentifier"), "DBInstanceArn")
        };
        let Some(id) = id else {
            return;
        };
        let source_arn = descendant(text, 0..text.len(), arn_element)
            .map(|element| text[content(text, element)].to_owned())
            .unwrap_or_default();
        let failover = call
            .param("ForceFailover")
            .is_some_and(|f| f.eq_ignore_ascii_case("true"));
        let mut add = |date, category, message: String| {
            self.events.push(RdsEvent {
                region: call.region.clone(),
                source_identifier: id.to_owned(),
                source_type: if cluster { "db-cluster" } else { "db-instance" },
                message,
                category,
                date,
                source_arn: source_arn.clone(),
            });
        };
        match call.action.as_str() {
            "RebootDBInstance" if failover => {
                add(now, "failover", message::FAILOVER_STARTED.into());
                add(later, "failover", message::FAILOVER_COMPLETED.into());
            }
            "RebootDBInstance" => {
                add(now, "availability", message::SHUTDOWN.into());
                add(later, "availability", message::RESTARTED.into());
            }
            "PromoteReadReplica" => {
                add(now, "read replica", message::REPLICATION_ENDED.into());
                add(later, "availability", message::RESTARTED.into());
            }
            "FailoverDBCluster" => {
                let target = call.param("TargetDBInstanceIdentifier").unwrap_or_default();
                let with = |m: &str| format!("{m} {target}").trim_end().to_owned();
                add(now, "failover", with(message::CLUSTER_FAILOVER_STARTED));
                add(later, "failover", with(message::CLUSTER_FAILOVER_COMPLETED));
            }
            _ => {}
        }
    }

    /// moto's `DescribeEvents` answer with the recorded events that have happened by `now` and
    /// match the request's filters (`SourceIdentifier`, `SourceType`, `EventCategories`,
    /// `Duration` in minutes, default 60, or `StartTime`), all in time order, oldest first.
    pub(super) fn rewrite(&self, call: &Call, text: &str, now: SystemTime) -> Option<String> {
        let minutes = call
            .param("Duration")
            .and_then(|d| d.parse::<u64>().ok())
            .unwrap_or(60);
        let since = now.checked_sub(Duration::from_secs(minutes * 60));
        let since_text = call
            .param("StartTime")
            .map(str::to_owned)
            .or_else(|| since.map(timestamp));
        let categories: Vec<&str> = call
            .params
            .iter()
            .filter(|(key, _)| key.starts_with("EventCategories."))
            .map(|(_, value)| value.as_str())
            .collect();
        let ours: Vec<(String, String)> = self
            .events
            .iter()
            .filter(|e| e.region == call.region && e.date <= now)
            .filter(|e| {
                call.param("SourceIdentifier")
                    .is_none_or(|s| s == e.source_identifier)
            })
            .filter(|e| call.param("SourceType").is_none_or(|t| t == e.source_type))
            .filter(|e| categories.is_empty() || categories.contains(&e.category))
            .map(|e| (timestamp(e.date), element(e)))
            .filter(|(date, _)| since_text.as_deref().is_none_or(|s| date.as_str() >= s))
            .collect();
        if ours.is_empty() {
            return None;
        }
        let list = descendant(text, 0..text.len(), "Events")?;
        let inner = content(text, list.clone());
        let mut all: Vec<(String, String)> = children(text, inner.clone(), "Event")
            .into_iter()
            .map(|event| {
                let date = child_text(text, content(text, event.clone()), "Date")
                    .unwrap_or_default()
                    .to_owned();
                (date, text[event].to_owned())
            })
            .collect();
        all.extend(ours);
        // ISO 8601 dates in UTC sort as text (to the second).
        all.sort_by(|a, b| a.0.get(..19).cmp(&b.0.get(..19)));
        let items: String = all.into_iter().map(|(_, element)| element).collect();
        let mut edits = Edits::default();
        edits.replace(list, format!("<Events>{items}</Events>"));
        Some(edits.apply(text))
    }
}

fn element(event: &RdsEvent) -> String {
    format!(
        "<Event><SourceIdentifier>{}</SourceIdentifier><SourceType>{}</SourceType>\
         <Message>{}</Message><EventCategories><EventCategory>{}</EventCategory>\
         </EventCategories><Date>{}</Date><SourceArn>{}</SourceArn></Event>",
        escape(&event.source_identifier),
        event.source_type,
        escape(&event.message),
        event.category,
        timestamp(event.date),
        escape(&event.source_arn),
    )
}

/// A change of a group's desired capacity asked by a user, as Auto Scaling words its cause.
#[derive(Debug, Clone)]
pub(super) struct CapacityChange {
    pub(super) at: String,
    pub(super) from: i64,
    pub(super) to: i64,
    /// `UpdateAutoScalingGroup` names its constraints; `SetDesiredCapacity` only the capacity.
    pub(super) constraints: Option<(String, String)>,
}

impl CapacityChange {
    fn cause(&self) -> String {
        let (at, from, to) = (&self.at, self.from, self.to);
        match &self.constraints {
            Some((min, max)) => format!(
                "At {at} a user request update of AutoScalingGroup constraints to min: {min}, \
                 max: {max}, desired: {to} changing the desired capacity from {from} to {to}."
            ),
            None => format!(
                "At {at} a user request explicitly set group desired capacity changing the \
                 desired capacity from {from} to {to}."
            ),
        }
    }
}

/// A successful scaling activity, as `DescribeScalingActivities` lists it
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html>; the wording
/// of `Description` and `Cause` as in
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-verify-scaling-activity.html>).
/// `launched` says whether the instance was started or terminated; `from` and `to` are the
/// capacities before and after.
pub(super) fn activity(
    id: u64,
    group: &str,
    instance: &str,
    launched: bool,
    change: Option<&CapacityChange>,
    (from, to): (i64, i64),
) -> String {
    let now = timestamp(SystemTime::now());
    let mut cause = change
        .map(|c| format!("{}  ", c.cause()))
        .unwrap_or_default();
    let description = if launched {
        cause.push_str(&format!(
            "At {now} an instance was started in response to a difference between desired and \
             actual capacity, increasing the capacity from {from} to {to}."
        ));
        format!("Launching a new EC2 instance: {instance}")
    } else {
        cause.push_str(&format!(
            "At {now} an instance was taken out of service in response to a difference between \
             desired and actual capacity, shrinking the capacity from {from} to {to}.  At {now} \
             instance {instance} was selected for termination."
        ));
        format!("Terminating EC2 instance: {instance}")
    };
    format!(
        "<member><ActivityId>00000000-0000-4000-8000-{id:012x}</ActivityId>\
         <AutoScalingGroupName>{}</AutoScalingGroupName><Description>{}</Description>\
         <Cause>{}</Cause><StartTime>{now}</StartTime><EndTime>{now}</EndTime>\
         <StatusCode>Successful</StatusCode><Progress>100</Progress><Details>{{}}</Details>\
         </member>",
        escape(group),
        escape(&description),
        escape(&cause),
    )
}
