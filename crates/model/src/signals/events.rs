//! What happened to the stack: Auto Scaling activities, RDS events, changes seen between two
//! discoveries (target health, instance states, capacity, alarm states) and haven's own
//! actions, on one timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::alarm_rank;
use crate::Topology;
use crate::resource::{ResourceKind, ResourceRef};

/// Where an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventSource {
    /// An Auto Scaling activity (`DescribeScalingActivities`).
    Scaling,
    /// An RDS event (`DescribeEvents`).
    Rds,
    /// A change haven saw between two discoveries.
    Change,
    /// An action haven ran (the action log).
    Haven,
}

impl EventSource {
    /// A short label for the timeline.
    pub fn label(self) -> &'static str {
        match self {
            EventSource::Scaling => "scaling",
            EventSource::Rds => "rds",
            EventSource::Change => "seen",
            EventSource::Haven => "haven",
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (for a change seen between discoveries: when it was seen).
    pub at: DateTime<Utc>,
    /// The Region.
    pub region: Option<String>,
    /// Where it comes from.
    pub source: EventSource,
    /// The resource it happened to, to open from the timeline.
    pub resource: Option<ResourceRef>,
    /// What happened, in a line.
    pub text: String,
    /// It is bad news (a failure, a target going unhealthy, an alarm firing).
    pub bad: bool,
}

/// The events newest first; the same event read twice (same time, resource and text) once.
pub fn timeline<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<&'a Event> {
    let mut all: Vec<&Event> = events.into_iter().collect();
    all.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then_with(|| a.region.cmp(&b.region))
            .then_with(|| a.text.cmp(&b.text))
    });
    all.dedup_by(|a, b| a.at == b.at && a.resource == b.resource && a.text == b.text);
    all
}

/// What changed between two discoveries of the same Regions, as events at `next.taken_at`:
/// target health, instance states, groups' desired capacity, DB statuses and alarm states.
/// Regions only one of them has are skipped (nothing was seen changing there).
pub fn changes(previous: &Topology, next: &Topology) -> Vec<Event> {
    let at = next.taken_at;
    let mut out = Vec::new();
    for region in &next.regions {
        let Some(before) = previous.regions.iter().find(|r| r.region == region.region) else {
            continue;
        };
        let mut seen = |resource: ResourceRef, text: String, bad: bool| {
            out.push(Event {
                at,
                region: Some(region.region.clone()),
                source: EventSource::Change,
                resource: Some(resource),
                text,
                bad,
            });
        };
        for tg in &region.target_groups {
            let Some(old) = before.target_groups.iter().find(|t| t.arn == tg.arn) else {
                continue;
            };
            let group =
                || ResourceRef::new(ResourceKind::TargetGroup, &tg.name).with_arn(Some(&tg.arn));
            for target in &tg.targets {
                let was = old.targets.iter().find(|t| t.id == target.id);
                match was {
                    Some(was) if was.health != target.health => seen(
                        group(),
                        format!(
                            "{} in {}: {} → {}{}",
                            target.id,
                            tg.name,
                            was.health.as_str(),
                            target.health.as_str(),
                            target
                                .reason
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                        target.health == crate::TargetHealthState::Unhealthy,
                    ),
                    None => seen(
                        group(),
                        format!(
                            "{} registered in {} ({})",
                            target.id,
                            tg.name,
                            target.health.as_str()
                        ),
                        false,
                    ),
                    _ => {}
                }
            }
            for was in &old.targets {
                if !tg.targets.iter().any(|t| t.id == was.id) {
                    seen(group(), format!("{} left {}", was.id, tg.name), false);
                }
            }
        }
        for instance in &region.instances {
            if let Some(old) = before.instances.iter().find(|i| i.id == instance.id)
                && old.state != instance.state
            {
                seen(
                    ResourceRef::new(ResourceKind::Instance, &instance.id),
                    format!(
                        "{}: {} → {}",
                        instance.id,
                        old.state.as_str(),
                        instance.state.as_str()
                    ),
                    matches!(
                        instance.state,
                        crate::InstanceState::Stopped | crate::InstanceState::Terminated
                    ),
                );
            }
        }
        for group in &region.auto_scaling_groups {
            if let Some(old) = before
                .auto_scaling_groups
                .iter()
                .find(|g| g.name == group.name)
                && old.desired_capacity != group.desired_capacity
            {
                seen(
                    ResourceRef::new(ResourceKind::AutoScalingGroup, &group.name),
                    format!(
                        "{}: desired capacity {} → {}",
                        group.name, old.desired_capacity, group.desired_capacity
                    ),
                    false,
                );
            }
        }
        for db in &region.db_instances {
            if let Some(old) = before
                .db_instances
                .iter()
                .find(|d| d.identifier == db.identifier)
                && (old.status != db.status || old.availability_zone != db.availability_zone)
            {
                let az = match (&old.availability_zone, &db.availability_zone) {
                    (Some(a), Some(b)) if a != b => format!(" (primary AZ {a} → {b})"),
                    _ => String::new(),
                };
                seen(
                    ResourceRef::new(ResourceKind::DbInstance, &db.identifier),
                    format!("{}: {} → {}{az}", db.identifier, old.status, db.status),
                    db.status == "failed" || db.status == "storage-full",
                );
            }
        }
        for alarm in &region.alarms {
            if let Some(old) = before.alarms.iter().find(|a| a.name == alarm.name)
                && old.state != alarm.state
            {
                let resource = super::alarm_resources(region, alarm).into_iter().next();
                out.push(Event {
                    at: alarm.updated_at.unwrap_or(at),
                    region: Some(region.region.clone()),
                    source: EventSource::Change,
                    resource,
                    text: format!(
                        "alarm {}: {} → {}{}",
                        alarm.name,
                        old.state,
                        alarm.state,
                        alarm
                            .reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                    bad: alarm_rank(&alarm.state) == 0,
                });
            }
        }
    }
    out
}
