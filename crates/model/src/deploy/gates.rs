//! Health gates: what must hold at every step of a deploy, judged from the topology (and from
//! the signals the topology does not carry: scaling activities and CloudWatch alarms).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::topology::{RegionTopology, TargetHealthState};

/// A condition checked at every step of a deploy; one that fails rolls the deploy back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gate", content = "name", rename_all = "kebab-case")]
pub enum Gate {
    /// Every AZ the group launches into has a healthy target of the group.
    HealthyPerAz,
    /// No AZ of the load balancer is left without a healthy target (all its groups counted).
    NoAzWithoutHealthy,
    /// The group's scaling activities show no failed launch.
    NoFailedLaunches,
    /// The CloudWatch alarm of that name is not in the `ALARM` state.
    Alarm(String),
    /// The group's instance refresh has not failed, been cancelled or rolled back by AWS
    /// (rolling deploys by instance refresh).
    InstanceRefresh,
}

impl Gate {
    /// The gates every deploy checks unless told otherwise.
    pub fn defaults() -> Vec<Gate> {
        vec![
            Gate::HealthyPerAz,
            Gate::NoAzWithoutHealthy,
            Gate::NoFailedLaunches,
        ]
    }

    /// A short label, e.g. `healthy-per-az` or `alarm lab-5xx`.
    pub fn label(&self) -> String {
        match self {
            Gate::HealthyPerAz => "healthy-per-az".into(),
            Gate::NoAzWithoutHealthy => "no-az-without-healthy".into(),
            Gate::NoFailedLaunches => "no-failed-launches".into(),
            Gate::Alarm(name) => format!("alarm {name}"),
            Gate::InstanceRefresh => "instance-refresh".into(),
        }
    }
}

/// Facts a gate needs that discovery does not record: the topology has no scaling activities
/// and no CloudWatch alarms, so the caller reads them (`DescribeScalingActivities`,
/// `DescribeAlarms`) and passes them in. `None` means "not read": the gate is then unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// Failed launches per group name (the status message of each failed activity).
    pub failed_launches: Option<BTreeMap<String, Vec<String>>>,
    /// Names of the alarms in the `ALARM` state.
    pub alarms_firing: Option<BTreeSet<String>>,
    /// The newest instance refresh of each group read (`DescribeInstanceRefreshes`).
    pub refreshes: Option<BTreeMap<String, RefreshSeen>>,
}

/// An instance refresh as `DescribeInstanceRefreshes` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshSeen {
    /// Its id.
    pub id: String,
    /// `Pending`, `InProgress`, `Baking`, `Successful`, `Failed`, `Cancelling`, `Cancelled`,
    /// `RollbackInProgress`, `RollbackSuccessful`, `RollbackFailed`.
    pub status: String,
    /// Why, when AWS says.
    pub reason: Option<String>,
    /// How far along, in percent.
    pub percent: Option<i32>,
    /// When it started.
    pub started: Option<chrono::DateTime<chrono::Utc>>,
}

impl RefreshSeen {
    /// It ended without replacing the instances: failed, cancelled or rolled back (by AWS).
    pub fn failed(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Failed"
                | "Cancelled"
                | "Cancelling"
                | "RollbackInProgress"
                | "RollbackSuccessful"
                | "RollbackFailed"
        )
    }

    /// A line, e.g. `instance refresh 0a1b… Failed (…)`.
    pub fn line(&self) -> String {
        let reason = self
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        format!("instance refresh {} is {}{reason}", self.id, self.status)
    }
}

/// What a gate concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum GateStatus {
    /// It holds.
    Pass,
    /// It does not hold yet but may (targets still in `initial`, instances launching).
    Pending(String),
    /// It does not hold: the deploy rolls back.
    Fail(String),
    /// It cannot be judged from what was given; the deploy goes on and says so.
    Unknown(String),
}

/// One gate and its conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateResult {
    /// The gate.
    pub gate: Gate,
    /// Its conclusion.
    pub status: GateStatus,
}

impl GateResult {
    /// It holds (or cannot be judged).
    pub fn passes(&self) -> bool {
        matches!(self.status, GateStatus::Pass | GateStatus::Unknown(_))
    }

    /// A line naming the gate and why, e.g. `healthy-per-az: ap-northeast-2b has no healthy …`.
    pub fn line(&self) -> String {
        match &self.status {
            GateStatus::Pass => format!("{}: ok", self.gate.label()),
            GateStatus::Pending(why) | GateStatus::Fail(why) | GateStatus::Unknown(why) => {
                format!("{}: {why}", self.gate.label())
            }
        }
    }
}

/// Evaluates `gates` for the Auto Scaling group `group` (its target groups are the ones it
/// registers with) in `region`.
pub fn evaluate(
    gates: &[Gate],
    region: &RegionTopology,
    group: &str,
    signals: &Signals,
) -> Vec<GateResult> {
    gates
        .iter()
        .map(|gate| GateResult {
            gate: gate.clone(),
            status: match gate {
                Gate::HealthyPerAz => healthy_per_az(region, group),
                Gate::NoAzWithoutHealthy => no_az_without_healthy(region, group),
                Gate::NoFailedLaunches => no_failed_launches(group, signals),
                Gate::Alarm(name) => alarm(name, signals),
                Gate::InstanceRefresh => refresh(group, signals),
            },
        })
        .collect()
}

/// The group a gate judges, or the failure that it is gone.
fn group_of<'a>(
    region: &'a RegionTopology,
    group_name: &str,
) -> Result<&'a crate::topology::AutoScalingGroup, GateStatus> {
    region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == group_name)
        .ok_or_else(|| GateStatus::Fail(format!("group {group_name} is not in {}", region.region)))
}

fn healthy_per_az(region: &RegionTopology, group_name: &str) -> GateStatus {
    let group = match group_of(region, group_name) {
        Ok(group) => group,
        Err(status) => return status,
    };
    if group.target_group_arns.is_empty() {
        return GateStatus::Fail(format!("group {group_name} registers with no target group"));
    }
    let members = region.asg_instances_by_az(group);
    let mut missing = Vec::new();
    for (az, ids) in &members {
        let mut states: Vec<&str> = Vec::new();
        let mut healthy = false;
        for tg_arn in &group.target_group_arns {
            let Some(tg) = region.target_group(tg_arn) else {
                continue;
            };
            for target in tg.targets.iter().filter(|t| ids.contains(&t.id.as_str())) {
                healthy |= target.health == TargetHealthState::Healthy;
                states.push(target.health.as_str());
            }
        }
        if !healthy {
            let seen = if states.is_empty() {
                format!("{} instance(s), none registered yet", ids.len())
            } else {
                states.sort_unstable();
                states.join(", ")
            };
            missing.push(format!("{az} ({seen})"));
        }
    }
    if missing.is_empty() {
        GateStatus::Pass
    } else {
        GateStatus::Pending(format!(
            "{group_name} has no healthy target in {}",
            missing.join("; ")
        ))
    }
}

fn no_az_without_healthy(region: &RegionTopology, group_name: &str) -> GateStatus {
    let group = match group_of(region, group_name) {
        Ok(group) => group,
        Err(status) => return status,
    };
    let forwards_to_group = |lb: &&crate::topology::LoadBalancer| {
        lb.listeners
            .iter()
            .flat_map(|l| l.forwards())
            .any(|tg| group.target_group_arns.contains(&tg.arn))
    };
    let mut empty = Vec::new();
    let mut registering = false;
    for lb in region.load_balancers.iter().filter(forwards_to_group) {
        for (az, count) in region.load_balancer_health_by_az(lb) {
            if count.healthy == 0 {
                empty.push(format!(
                    "{az} behind {} ({} target(s))",
                    lb.name, count.total
                ));
            }
        }
        registering |= region.target_groups_of(lb).iter().any(|tg| {
            tg.targets
                .iter()
                .any(|t| t.health == TargetHealthState::Initial)
        });
    }
    let why = format!("no healthy target in {}", empty.join("; "));
    match (empty.is_empty(), registering) {
        (true, _) => GateStatus::Pass,
        // Targets still in their first health checks may yet fill the AZ.
        (false, true) => GateStatus::Pending(format!("{why} (targets still initial)")),
        (false, false) => GateStatus::Fail(why),
    }
}

fn no_failed_launches(group: &str, signals: &Signals) -> GateStatus {
    match &signals.failed_launches {
        None => GateStatus::Unknown(
            "scaling activities were not read (the topology does not record them)".into(),
        ),
        Some(by_group) => match by_group.get(group).and_then(|f| f.first()) {
            None => GateStatus::Pass,
            Some(first) => GateStatus::Fail(format!("{group} failed to launch: {first}")),
        },
    }
}

fn alarm(name: &str, signals: &Signals) -> GateStatus {
    match &signals.alarms_firing {
        None => GateStatus::Unknown(format!("alarm {name} was not read")),
        Some(firing) if firing.contains(name) => {
            GateStatus::Fail(format!("alarm {name} is in ALARM"))
        }
        Some(_) => GateStatus::Pass,
    }
}

fn refresh(group: &str, signals: &Signals) -> GateStatus {
    match signals.refreshes.as_ref().map(|r| r.get(group)) {
        None => GateStatus::Unknown("instance refreshes were not read".into()),
        Some(None) => GateStatus::Pass,
        Some(Some(seen)) if seen.failed() => GateStatus::Fail(seen.line()),
        Some(Some(_)) => GateStatus::Pass,
    }
}
