//! What happened to the stack: Auto Scaling activities, RDS events, changes seen between two
//! discoveries (target health, instance states, capacity, alarm states) and haven's own
//! actions, on one timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use super::alarm_rank;
use crate::resource::{ResourceKind, ResourceRef};
use crate::topology::Part;
use crate::{InstanceState, RegionTopology, TargetHealthState, Topology};

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
    next.regions
        .iter()
        .filter_map(|region| {
            let before = previous
                .regions
                .iter()
                .find(|r| r.region == region.region)?;
            Some(Glance::of(before, None).changes(region, next.taken_at))
        })
        .flatten()
        .collect()
}

/// What the change events compare of a Region, and only that: the states AWS moves on its own,
/// by id. Taken before a piece is applied, it costs a few bytes a resource where a copy of the
/// Region's part would cost its every field (a thousand instances with their tags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Glance {
    /// Per target group ARN, each target's health.
    targets: HashMap<String, HashMap<String, TargetHealthState>>,
    instances: HashMap<String, InstanceState>,
    /// Each group's desired capacity.
    groups: HashMap<String, i32>,
    /// Each DB instance's status and AZ.
    databases: HashMap<String, (String, Option<String>)>,
    alarms: HashMap<String, String>,
}

impl Glance {
    /// The states of a Region's `part` (every part with `None`) that [`Glance::changes`]
    /// compares.
    pub fn of(region: &RegionTopology, part: Option<Part>) -> Self {
        let wanted = |parts: &[Part]| part.is_none_or(|p| parts.contains(&p));
        let mut glance = Self::default();
        if wanted(&[Part::TargetHealth, Part::LoadBalancers]) {
            glance.targets = region
                .target_groups
                .iter()
                .map(|tg| {
                    let health = tg.targets.iter().map(|t| (t.id.clone(), t.health));
                    (tg.arn.clone(), health.collect())
                })
                .collect();
        }
        if wanted(&[Part::Instances]) {
            glance.instances = region
                .instances
                .iter()
                .map(|i| (i.id.clone(), i.state))
                .collect();
        }
        if wanted(&[Part::AsgCapacity, Part::AutoScaling]) {
            glance.groups = region
                .auto_scaling_groups
                .iter()
                .map(|g| (g.name.clone(), g.desired_capacity))
                .collect();
        }
        if wanted(&[Part::Databases]) {
            glance.databases = region
                .db_instances
                .iter()
                .map(|d| {
                    let seen = (d.status.clone(), d.availability_zone.clone());
                    (d.identifier.clone(), seen)
                })
                .collect();
        }
        if wanted(&[Part::Alarms]) {
            glance.alarms = region
                .alarms
                .iter()
                .map(|a| (a.name.clone(), a.state.clone()))
                .collect();
        }
        glance
    }

    /// Whether a piece of `part` can change what a glance compares.
    pub fn watches(part: Part) -> bool {
        matches!(
            part,
            Part::Instances
                | Part::TargetHealth
                | Part::LoadBalancers
                | Part::AsgCapacity
                | Part::AutoScaling
                | Part::Databases
                | Part::Alarms
        )
    }

    /// What changed from this glance to `region` now, as events at `at`; resources the glance
    /// did not see are new, not changed (a target newly registered excepted).
    pub fn changes(&self, region: &RegionTopology, at: DateTime<Utc>) -> Vec<Event> {
        let mut out = Vec::new();
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
            let Some(old) = self.targets.get(&tg.arn) else {
                continue;
            };
            let group =
                || ResourceRef::new(ResourceKind::TargetGroup, &tg.name).with_arn(Some(&tg.arn));
            for target in &tg.targets {
                match old.get(&target.id) {
                    Some(was) if *was != target.health => seen(
                        group(),
                        format!(
                            "{} in {}: {} → {}{}",
                            target.id,
                            tg.name,
                            was.as_str(),
                            target.health.as_str(),
                            target
                                .reason
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                        target.health == TargetHealthState::Unhealthy,
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
            let mut left: Vec<&String> = old
                .keys()
                .filter(|id| !tg.targets.iter().any(|t| &t.id == *id))
                .collect();
            left.sort();
            for id in left {
                seen(group(), format!("{id} left {}", tg.name), false);
            }
        }
        for instance in &region.instances {
            if let Some(old) = self.instances.get(&instance.id)
                && *old != instance.state
            {
                seen(
                    ResourceRef::new(ResourceKind::Instance, &instance.id),
                    format!(
                        "{}: {} → {}",
                        instance.id,
                        old.as_str(),
                        instance.state.as_str()
                    ),
                    matches!(
                        instance.state,
                        InstanceState::Stopped | InstanceState::Terminated
                    ),
                );
            }
        }
        for group in &region.auto_scaling_groups {
            if let Some(&old) = self.groups.get(&group.name)
                && old != group.desired_capacity
            {
                seen(
                    ResourceRef::new(ResourceKind::AutoScalingGroup, &group.name),
                    format!(
                        "{}: desired capacity {old} → {}",
                        group.name, group.desired_capacity
                    ),
                    false,
                );
            }
        }
        for db in &region.db_instances {
            if let Some((status, zone)) = self.databases.get(&db.identifier)
                && (*status != db.status || *zone != db.availability_zone)
            {
                let az = match (zone, &db.availability_zone) {
                    (Some(a), Some(b)) if a != b => format!(" (primary AZ {a} → {b})"),
                    _ => String::new(),
                };
                seen(
                    ResourceRef::new(ResourceKind::DbInstance, &db.identifier),
                    format!("{}: {status} → {}{az}", db.identifier, db.status),
                    db.status == "failed" || db.status == "storage-full",
                );
            }
        }
        for alarm in &region.alarms {
            if let Some(old) = self.alarms.get(&alarm.name)
                && *old != alarm.state
            {
                let resource = super::alarm_resources(region, alarm).into_iter().next();
                out.push(Event {
                    at: alarm.updated_at.unwrap_or(at),
                    region: Some(region.region.clone()),
                    source: EventSource::Change,
                    resource,
                    text: format!(
                        "alarm {}: {old} → {}{}",
                        alarm.name,
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
        out
    }
}
