//! Zero-downtime deploys, the pure part: strategies (rolling, blue/green, canary), the deploy's
//! state as it lives in AWS (tags on the groups and target groups, listener weights), the plan
//! `--dry-run` prints, and [`next`]: what to do now given what AWS shows. Resuming a killed deploy
//! is calling [`next`] again on a fresh topology.
//!
//! No I/O and no clock: the caller passes the topology, the signals the topology lacks (scaling
//! activities, alarms) and the time.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionKind, Capacity, ResourceKind, ResourceRef, WeightedForward};
use crate::topology::{
    AutoScalingGroup, LaunchTemplate, RegionTopology, STACK_TAG, Tags, TargetHealthState,
};

mod batches;
mod calls;
mod gates;
#[cfg(test)]
mod tests;

pub use batches::{RollingPlan, healthy_floor, next_batch, rolling_batches};
pub use calls::{
    COPIED_ATTRIBUTES, DeployCall, GroupSettings, TargetGroupSettings, TrackingPolicy,
};
pub use gates::{Gate, GateResult, GateStatus, RefreshSeen, Signals, evaluate};

/// The tag holding the deploy's id, on every group (and target group) it involves.
pub const DEPLOY_TAG: &str = "haven:deploy";
/// The tag holding a group's role: `blue`, `green` or `rolling`.
pub const ROLE_TAG: &str = "haven:deploy-role";
/// The tag holding the step: `creating`, `shift-<percent>`, `watch`, `rolling`, `refreshing`,
/// `rolling-back`, then `finished` or `rolled-back`.
pub const STEP_TAG: &str = "haven:deploy-step";
/// The tag holding when the step began (RFC 3339): bake and health deadlines count from it.
pub const SINCE_TAG: &str = "haven:deploy-since";
/// The tag holding the strategy's name.
pub const STRATEGY_TAG: &str = "haven:deploy-strategy";
/// The tag holding the launch template version deployed.
pub const VERSION_TAG: &str = "haven:deploy-version";
/// The tag holding the launch template version before the deploy (rollbacks go back to it).
pub const FROM_TAG: &str = "haven:deploy-from";
/// The tag holding the group's sizes before the deploy, `min/max/desired`.
pub const CAPACITY_TAG: &str = "haven:deploy-capacity";
/// The tag that pauses a deploy (`true`): no step starts until it is `false` again; a failing
/// gate still rolls back.
pub const PAUSED_TAG: &str = "haven:deploy-paused";

/// Steps after which a deploy is over (its tags stay, for the record).
pub const FINISHED: &str = "finished";
/// See [`FINISHED`].
pub const ROLLED_BACK: &str = "rolled-back";
const ROLLING_BACK: &str = "rolling-back";
const CREATING: &str = "creating";
const WATCH: &str = "watch";
const ROLLING: &str = "rolling";
const REFRESHING: &str = "refreshing";

/// How a rolling deploy replaces instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollingMode {
    /// EC2 Auto Scaling instance refresh with the new version as its desired configuration.
    InstanceRefresh,
    /// haven deregisters a batch, terminates it, waits for the replacements to be healthy.
    Batches,
}

/// How the new version reaches production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum Strategy {
    /// Replace the group's instances in place, a batch at a time.
    Rolling {
        /// Instances per batch.
        batch: u32,
        /// Percentage of the group kept healthy throughout.
        min_healthy_percent: u8,
        /// Instance refresh or haven's batches.
        mode: RollingMode,
    },
    /// A green group beside blue; traffic shifted by listener weights in steps.
    BlueGreen {
        /// Green's percentages, increasing, ending at 100 (e.g. 10, 50, 100).
        steps: Vec<u8>,
        /// How long each step is watched before the next.
        bake: Duration,
        /// Keep blue at its size after the shift (else it is scaled to zero) until `--finish`.
        keep_blue: bool,
    },
    /// Blue/green with a small first step and a long bake, then 100 %.
    Canary {
        /// Green's first percentage.
        first: u8,
        /// How long the first step (and the last) is watched.
        bake: Duration,
        /// Keep blue at its size after the shift until `--finish`.
        keep_blue: bool,
    },
}

impl Strategy {
    /// `rolling`, `blue-green` or `canary`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Rolling { .. } => "rolling",
            Self::BlueGreen { .. } => "blue-green",
            Self::Canary { .. } => "canary",
        }
    }

    /// Green's percentages and the bake after each, for the strategies that shift traffic.
    pub fn shifts(&self) -> Vec<(u8, Duration)> {
        match self {
            Self::Rolling { .. } => Vec::new(),
            Self::BlueGreen { steps, bake, .. } => steps.iter().map(|s| (*s, *bake)).collect(),
            Self::Canary { first, bake, .. } => vec![(*first, *bake), (100, *bake)],
        }
    }

    fn keeps_blue(&self) -> bool {
        match self {
            Self::Rolling { .. } => true,
            Self::BlueGreen { keep_blue, .. } | Self::Canary { keep_blue, .. } => *keep_blue,
        }
    }
}

/// The version deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NewVersion {
    /// An AMI: a launch template version with it is made (or found) first.
    Image(String),
    /// An existing launch template version of the group's template.
    LaunchTemplateVersion(i64),
}

/// What `haven deploy` was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySpec {
    /// The deploy's id, written in [`DEPLOY_TAG`] (short: it names green's resources).
    pub id: String,
    /// The stack: its groups carry `haven:stack=<stack>`.
    pub stack: String,
    /// The Region.
    pub region: String,
    /// The version deployed.
    pub version: NewVersion,
    /// How.
    pub strategy: Strategy,
    /// What must hold at every step.
    pub gates: Vec<Gate>,
    /// How long new instances get to become healthy before the deploy rolls back.
    pub health_timeout: Duration,
}

impl Strategy {
    /// The strategy of that name with `haven deploy`'s default parameters: blue/green
    /// 10 → 50 → 100 baked 5 minutes, canary 10 % baked 30 minutes, rolling one instance at a
    /// time keeping 100 % healthy (by instance refresh when `refreshing`, else in batches); blue
    /// is kept until `--finish`.
    pub fn default_named(name: &str, refreshing: bool) -> Option<Strategy> {
        match name {
            "rolling" => Some(Strategy::Rolling {
                batch: 1,
                min_healthy_percent: 100,
                mode: if refreshing {
                    RollingMode::InstanceRefresh
                } else {
                    RollingMode::Batches
                },
            }),
            "blue-green" => Some(Strategy::BlueGreen {
                steps: vec![10, 50, 100],
                bake: Duration::from_secs(5 * 60),
                keep_blue: true,
            }),
            "canary" => Some(Strategy::Canary {
                first: 10,
                bake: Duration::from_secs(30 * 60),
                keep_blue: true,
            }),
            _ => None,
        }
    }
}

impl DeploySpec {
    /// The spec a running deploy was started with, as far as AWS shows it: its id, stack and
    /// strategy (by name, with the defaults: the parameters are not stored) in `region`, the
    /// version it deploys and the default gates (and the instance refresh's, for a refresh).
    /// What the dashboard's pause, roll back and finish send is built from it.
    pub fn resume_of(state: &DeployState, region: &str) -> Result<DeploySpec, Refusal> {
        let strategy = Strategy::default_named(&state.strategy, state.step == REFRESHING)
            .ok_or_else(|| {
                Refusal::Invalid(format!(
                    "deploy {} has no known strategy (tag {STRATEGY_TAG}={:?})",
                    state.id, state.strategy
                ))
            })?;
        let mut gates = Gate::defaults();
        if let Strategy::Rolling {
            mode: RollingMode::InstanceRefresh,
            ..
        } = strategy
        {
            gates.push(Gate::InstanceRefresh);
        }
        Ok(DeploySpec {
            id: state.id.clone(),
            stack: state.stack.clone(),
            region: region.to_string(),
            version: NewVersion::LaunchTemplateVersion(state.version.or(state.from).unwrap_or(0)),
            strategy,
            gates,
            health_timeout: Duration::from_secs(10 * 60),
        })
    }
}

/// Why a deploy does not start (or cannot go on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum Refusal {
    /// No group of the stack.
    #[error("no Auto Scaling group is tagged {STACK_TAG}={0}")]
    NoGroup(String),
    /// More than one group of the stack outside a deploy: which is blue is unclear.
    #[error("stack {stack} has several groups ({groups}); a deploy needs exactly one")]
    SeveralGroups {
        /// The stack.
        stack: String,
        /// Its groups.
        groups: String,
    },
    /// Another deploy of the stack is running.
    #[error("deploy {id} of stack {stack} is running (step {step}): finish or roll it back first")]
    AlreadyRunning {
        /// The stack.
        stack: String,
        /// The running deploy.
        id: String,
        /// Its step.
        step: String,
    },
    /// Two deploys of one stack at once (both tagged on its groups).
    #[error("two deploys of stack {stack} are running at once: {ids}; roll one back by hand")]
    TwoDeploys {
        /// The stack.
        stack: String,
        /// Their ids.
        ids: String,
    },
    /// The group has no launch template (a launch configuration cannot take a new version).
    #[error("group {0} has no launch template")]
    NoLaunchTemplate(String),
    /// The version asked for is not in the template.
    #[error("launch template {template} has no version {version}")]
    UnknownVersion {
        /// The template.
        template: String,
        /// The version.
        version: i64,
    },
    /// No listener forwards to blue (blue/green shifts listener weights).
    #[error("no listener forwards to {0}'s target groups")]
    NoListener(String),
    /// The stack is not healthy now: a deploy would start from a failing gate.
    #[error("the stack is not healthy before the deploy: {0}")]
    Unhealthy(String),
    /// The strategy's parameters are wrong.
    #[error("{0}")]
    Invalid(String),
    /// There is no deploy of the stack to act on.
    #[error("no deploy of stack {0} is running")]
    NotRunning(String),
}

/// One group of a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Group name.
    pub group: String,
    /// Its target groups.
    pub target_group_arns: Vec<String>,
    /// Its sizes now.
    pub capacity: Capacity,
}

/// A deploy as AWS shows it: read from the tags on the stack's groups and the listener weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployState {
    /// The deploy's id.
    pub id: String,
    /// The stack.
    pub stack: String,
    /// The strategy's name.
    pub strategy: String,
    /// The step ([`STEP_TAG`]).
    pub step: String,
    /// When the step began.
    pub since: Option<DateTime<Utc>>,
    /// The version deployed, when known.
    pub version: Option<i64>,
    /// The version before.
    pub from: Option<i64>,
    /// Blue's (or the rolled group's) sizes before.
    pub capacity_before: Option<Capacity>,
    /// Blue, or the group replaced in place.
    pub blue: Option<Side>,
    /// Green (blue/green and canary).
    pub green: Option<Side>,
    /// Listeners forwarding to blue or green.
    pub listeners: Vec<String>,
    /// The weights of the first of them.
    pub weights: Vec<WeightedForward>,
    /// Paused ([`PAUSED_TAG`]): no step starts until it is resumed.
    pub paused: bool,
}

impl DeployState {
    /// The running deploy of `stack`, if any (the first when there are two; see
    /// [`DeployState::running`]).
    pub fn read(region: &RegionTopology, stack: &str) -> Option<DeployState> {
        Self::running(region, stack).into_iter().next()
    }

    /// Every running deploy of `stack`: more than one is a conflict [`next`] refuses.
    pub fn running(region: &RegionTopology, stack: &str) -> Vec<DeployState> {
        Self::all(region, stack)
            .into_iter()
            .filter(|d| d.is_running())
            .collect()
    }

    /// Every deploy whose tags remain on the stack's groups, running or over, by id.
    pub fn all(region: &RegionTopology, stack: &str) -> Vec<DeployState> {
        let groups = stack_groups(region, stack);
        let mut ids: Vec<&str> = groups
            .iter()
            .filter_map(|g| g.tags.get(DEPLOY_TAG).map(String::as_str))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| Self::of(region, stack, id, &groups))
            .collect()
    }

    fn of(region: &RegionTopology, stack: &str, id: &str, groups: &[&AutoScalingGroup]) -> Self {
        let mine: Vec<&AutoScalingGroup> = groups
            .iter()
            .copied()
            .filter(|g| g.tags.get(DEPLOY_TAG).map(String::as_str) == Some(id))
            .collect();
        let role = |r: &str| {
            mine.iter()
                .find(|g| g.tags.get(ROLE_TAG).map(String::as_str) == Some(r))
        };
        let blue = role("blue").or_else(|| role(ROLLING)).map(|g| side(g));
        let green = role("green").map(|g| side(g));
        // The step: the most advanced one written (a rollback is tagged on blue first).
        let tag = |key: &str| {
            let on = |g: Option<&&AutoScalingGroup>| g.and_then(|g| g.tags.get(key)).cloned();
            on(role("blue")).or(on(role(ROLLING))).or(on(role("green")))
        };
        let step = [role("blue"), role(ROLLING), role("green")]
            .into_iter()
            .flatten()
            .filter_map(|g| g.tags.get(STEP_TAG))
            .max_by_key(|s| step_rank(s))
            .cloned()
            .unwrap_or_default();
        let since = tag(SINCE_TAG).and_then(|s| DateTime::parse_from_rfc3339(&s).ok());
        let arns: Vec<String> = [&blue, &green]
            .into_iter()
            .flatten()
            .flat_map(|s| s.target_group_arns.clone())
            .collect();
        let listeners = listeners_forwarding_to(region, &arns);
        let weights = listeners
            .first()
            .map(|l| weights_of(region, l))
            .unwrap_or_default();
        DeployState {
            id: id.to_string(),
            stack: stack.to_string(),
            strategy: tag(STRATEGY_TAG).unwrap_or_default(),
            step,
            since: since.map(|s| s.with_timezone(&Utc)),
            version: tag(VERSION_TAG).and_then(|v| v.parse().ok()),
            from: tag(FROM_TAG).and_then(|v| v.parse().ok()),
            capacity_before: tag(CAPACITY_TAG).and_then(|c| parse_capacity(&c)),
            blue,
            green,
            listeners,
            weights,
            paused: tag(PAUSED_TAG).as_deref() == Some("true"),
        }
    }

    /// The deploy is neither finished nor rolled back.
    pub fn is_running(&self) -> bool {
        self.step != FINISHED && self.step != ROLLED_BACK
    }

    /// Green's share of the traffic, in percent, from the listener weights.
    pub fn green_percent(&self) -> Option<u8> {
        let green = self.green.as_ref()?;
        let total: i32 = self.weights.iter().map(|w| w.weight).sum();
        let on_green: i32 = self
            .weights
            .iter()
            .filter(|w| green.target_group_arns.contains(&w.target_group_arn))
            .map(|w| w.weight)
            .sum();
        if total <= 0 {
            return Some(0);
        }
        u8::try_from((on_green * 100 + total / 2) / total).ok()
    }

    /// The percentage the step tag names (`shift-50` → 50).
    pub fn shift_step(&self) -> Option<u8> {
        self.step.strip_prefix("shift-")?.parse().ok()
    }
}

fn step_rank(step: &str) -> u8 {
    match step {
        CREATING | ROLLING | REFRESHING => 1,
        s if s.starts_with("shift-") => 2,
        WATCH => 3,
        ROLLING_BACK => 4,
        FINISHED | ROLLED_BACK => 5,
        _ => 0,
    }
}

fn side(group: &AutoScalingGroup) -> Side {
    Side {
        group: group.name.clone(),
        target_group_arns: group.target_group_arns.clone(),
        capacity: capacity_of(group),
    }
}

fn capacity_of(group: &AutoScalingGroup) -> Capacity {
    Capacity {
        min: group.min_size,
        max: group.max_size,
        desired: group.desired_capacity,
    }
}

fn parse_capacity(text: &str) -> Option<Capacity> {
    let mut parts = text.split('/').map(|p| p.parse::<i32>().ok());
    Some(Capacity {
        min: parts.next()??,
        max: parts.next()??,
        desired: parts.next()??,
    })
}

fn format_capacity(c: Capacity) -> String {
    format!("{}/{}/{}", c.min, c.max, c.desired)
}

/// The stack's group after its deploys: the one group of `stack` (not being deleted) that a
/// deploy has tagged, when no deploy runs — a finished blue/green leaves green in blue's place,
/// under another name. `haven up` takes it (and its target group) for the blueprint's group.
pub fn deployed_group<'a>(region: &'a RegionTopology, stack: &str) -> Option<&'a AutoScalingGroup> {
    if !DeployState::running(region, stack).is_empty() {
        return None;
    }
    match stack_groups(region, stack).as_slice() {
        [one] if one.tags.contains_key(DEPLOY_TAG) => Some(*one),
        _ => None,
    }
}

/// The stack's groups that are not being deleted.
pub fn stack_groups<'a>(region: &'a RegionTopology, stack: &str) -> Vec<&'a AutoScalingGroup> {
    region
        .auto_scaling_groups
        .iter()
        .filter(|g| g.tags.get(STACK_TAG).map(String::as_str) == Some(stack))
        .filter(|g| g.status.is_none())
        .collect()
}

/// Listeners whose default action forwards to any of `arns`.
fn listeners_forwarding_to(region: &RegionTopology, arns: &[String]) -> Vec<String> {
    region
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .filter(|l| l.forwards().any(|tg| arns.contains(&tg.arn)))
        .map(|l| l.arn.clone())
        .collect()
}

/// A listener's forward weights (a lone group without a weight counts as 1).
fn weights_of(region: &RegionTopology, listener: &str) -> Vec<WeightedForward> {
    region
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .filter(|l| l.arn == listener)
        .flat_map(|l| l.forwards())
        .map(|tg| WeightedForward {
            target_group_arn: tg.arn.clone(),
            name: region.target_group(&tg.arn).map(|t| t.name.clone()),
            weight: tg.weight.unwrap_or(1),
        })
        .collect()
}

/// One step of a plan: what it sends, then what it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A title, e.g. `shift 50 % to green`.
    pub title: String,
    /// What it sends, in order.
    pub calls: Vec<DeployCall>,
    /// What it then waits for, if anything.
    pub wait: Option<String>,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Next {
    /// Send these, in order, then call [`next`] again.
    Run {
        /// What this step is.
        step: String,
        /// The calls.
        calls: Vec<DeployCall>,
    },
    /// Nothing to send: look again later.
    Wait {
        /// What is waited for.
        what: String,
        /// When the wait ends by itself (a bake) or fails (a health deadline).
        until: Option<DateTime<Utc>>,
        /// The gates as they stand.
        gates: Vec<GateResult>,
    },
    /// A gate failed (or a rollback was under way): send these to put everything back on the
    /// old version.
    Rollback {
        /// The gate that failed and why (`None` when resuming a rollback already begun).
        failed: Option<GateResult>,
        /// Why, in a line.
        reason: String,
        /// The rollback calls, in order.
        calls: Vec<DeployCall>,
    },
    /// Nothing left to do.
    Done {
        /// Where it ended.
        message: String,
        /// It ended rolled back (the command exits non-zero).
        rolled_back: bool,
    },
    /// The deploy cannot start or go on.
    Refused(Refusal),
}

/// Blue: the group a deploy starts from, with what the deploy needs of it.
struct Blue<'a> {
    group: &'a AutoScalingGroup,
    template: &'a LaunchTemplate,
    /// The version its instances launch from now.
    current: Option<i64>,
}

fn template_of<'a>(
    region: &'a RegionTopology,
    group: &AutoScalingGroup,
) -> Option<&'a LaunchTemplate> {
    let reference = group.launch_template.as_ref()?;
    region.launch_templates.iter().find(|t| {
        reference.id.as_deref() == Some(t.id.as_str())
            || reference.name.as_deref() == Some(t.name.as_str())
    })
}

/// The number a group's template version stands for (`$Latest`, `$Default` resolved).
fn version_number(template: &LaunchTemplate, version: Option<&str>) -> Option<i64> {
    match version {
        Some("$Latest") => template.latest_version,
        None | Some("$Default") => template.default_version,
        Some(number) => number.parse().ok(),
    }
}

/// The launch template version to deploy: `None` when an AMI has no version yet.
fn target_version(spec: &DeploySpec, blue: &Blue) -> Result<Option<i64>, Refusal> {
    match &spec.version {
        NewVersion::LaunchTemplateVersion(n) => {
            let known = blue.template.versions.is_empty()
                || blue.template.versions.iter().any(|v| v.number == *n);
            if known {
                Ok(Some(*n))
            } else {
                Err(Refusal::UnknownVersion {
                    template: blue.template.name.clone(),
                    version: *n,
                })
            }
        }
        NewVersion::Image(ami) => Ok(blue
            .template
            .versions
            .iter()
            .filter(|v| v.image_id.as_deref() == Some(ami.as_str()))
            .map(|v| v.number)
            .max()),
    }
}

fn check_strategy(strategy: &Strategy) -> Result<(), Refusal> {
    let shifts = strategy.shifts();
    let invalid = |why: String| Err(Refusal::Invalid(why));
    match strategy {
        Strategy::Rolling {
            batch,
            min_healthy_percent,
            ..
        } => {
            if *batch == 0 {
                return invalid("a batch holds at least one instance".into());
            }
            if *min_healthy_percent > 100 {
                return invalid(format!("min healthy {min_healthy_percent} % is above 100"));
            }
        }
        _ => {
            let increasing = shifts.windows(2).all(|w| w[0].0 < w[1].0);
            let in_range = shifts.iter().all(|(p, _)| (1..=100).contains(p));
            if shifts.last().map(|s| s.0) != Some(100) || !increasing || !in_range {
                let steps: Vec<String> = shifts.iter().map(|s| s.0.to_string()).collect();
                return invalid(format!(
                    "traffic steps must increase from 1 to 100 and end at 100, not {}",
                    steps.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// The checks every deploy passes before it starts: one group, a template, no other deploy,
/// a listener for blue/green, blue healthy.
fn prepare<'a>(
    spec: &DeploySpec,
    region: &'a RegionTopology,
    signals: &Signals,
) -> Result<Blue<'a>, Refusal> {
    check_strategy(&spec.strategy)?;
    refuse_others(spec, region)?;
    let groups = stack_groups(region, &spec.stack);
    let group = match groups.as_slice() {
        [] => return Err(Refusal::NoGroup(spec.stack.clone())),
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|g| g.name.as_str()).collect();
            return Err(Refusal::SeveralGroups {
                stack: spec.stack.clone(),
                groups: names.join(", "),
            });
        }
    };
    let template =
        template_of(region, group).ok_or_else(|| Refusal::NoLaunchTemplate(group.name.clone()))?;
    let current = version_number(
        template,
        group
            .launch_template
            .as_ref()
            .and_then(|r| r.version.as_deref()),
    );
    if !matches!(spec.strategy, Strategy::Rolling { .. })
        && listeners_forwarding_to(region, &group.target_group_arns).is_empty()
    {
        return Err(Refusal::NoListener(group.name.clone()));
    }
    // A gate still pending (targets `initial` right after a launch) is waited for by `start`.
    let failing: Vec<String> = evaluate(&spec.gates, region, &group.name, signals)
        .iter()
        .filter(|r| matches!(r.status, GateStatus::Fail(_)))
        .map(GateResult::line)
        .collect();
    if !failing.is_empty() {
        return Err(Refusal::Unhealthy(failing.join("; ")));
    }
    Ok(Blue {
        group,
        template,
        current,
    })
}

/// Refuses when another deploy than `spec`'s runs, or two at once.
fn refuse_others(spec: &DeploySpec, region: &RegionTopology) -> Result<(), Refusal> {
    let running = DeployState::running(region, &spec.stack);
    if running.len() > 1 {
        let ids: Vec<&str> = running.iter().map(|d| d.id.as_str()).collect();
        return Err(Refusal::TwoDeploys {
            stack: spec.stack.clone(),
            ids: ids.join(", "),
        });
    }
    match running.first() {
        Some(other) if other.id != spec.id => Err(Refusal::AlreadyRunning {
            stack: spec.stack.clone(),
            id: other.id.clone(),
            step: other.step.clone(),
        }),
        _ => Ok(()),
    }
}

/// Everything a step builder needs.
struct Ctx<'a> {
    spec: &'a DeploySpec,
    region: &'a RegionTopology,
    now: DateTime<Utc>,
}

impl Ctx<'_> {
    fn act(&self, kind: ResourceKind, id: &str, action: ActionKind) -> DeployCall {
        DeployCall::Act(Action::new(
            self.spec.region.clone(),
            ResourceRef::new(kind, id),
            action,
        ))
    }

    /// The tags a step writes: the deploy's id and step, and when the step began.
    fn step_tags(&self, step: &str) -> Tags {
        Tags::from([
            (DEPLOY_TAG.to_string(), self.spec.id.clone()),
            (STEP_TAG.to_string(), step.to_string()),
            (SINCE_TAG.to_string(), self.now.to_rfc3339()),
        ])
    }

    /// The tags a deploy's first step writes on a group.
    fn start_tags(&self, role: &str, step: &str, blue: &Blue, version: &str) -> Tags {
        let mut tags = self.step_tags(step);
        tags.insert(ROLE_TAG.into(), role.into());
        tags.insert(STRATEGY_TAG.into(), self.spec.strategy.name().into());
        tags.insert(VERSION_TAG.into(), version.into());
        tags.insert(
            CAPACITY_TAG.into(),
            format_capacity(capacity_of(blue.group)),
        );
        if let Some(from) = blue.current {
            tags.insert(FROM_TAG.into(), from.to_string());
        }
        tags
    }

    fn tag(&self, side: &Side, tags: Tags) -> DeployCall {
        DeployCall::Tag {
            group: side.group.clone(),
            target_group_arns: side.target_group_arns.clone(),
            tags,
        }
    }

    fn new_template_version(&self, blue: &Blue, ami: &str) -> DeployCall {
        self.act(
            ResourceKind::LaunchTemplate,
            &blue.template.id,
            ActionKind::CreateLaunchTemplateVersion {
                source_version: blue
                    .current
                    .map_or_else(|| "$Default".to_string(), |v| v.to_string()),
                image_id: Some(ami.to_string()),
                instance_type: None,
                description: Some(format!("haven deploy {}", self.spec.id)),
                set_default: false,
            },
        )
    }

    /// Pin blue to the number it launches now (a group on `$Latest` would otherwise launch the
    /// new version as soon as it exists, and a rollback would not restore the old one), then
    /// make the new version.
    fn pin_and_new_version(&self, blue: &Blue, ami: &str) -> Vec<DeployCall> {
        let pinned = blue
            .group
            .launch_template
            .as_ref()
            .and_then(|r| r.version.as_deref())
            .is_some_and(|v| v.parse::<i64>().is_ok());
        let mut calls = Vec::new();
        if let (false, Some(current)) = (pinned, blue.current) {
            calls.push(DeployCall::PointGroupAt {
                group: blue.group.name.clone(),
                launch_template_id: blue.template.id.clone(),
                version: current.to_string(),
            });
        }
        calls.push(self.new_template_version(blue, ami));
        calls
    }

    fn weights(&self, listener: &str, weights: Vec<WeightedForward>) -> DeployCall {
        self.act(
            ResourceKind::Listener,
            listener,
            ActionKind::SetListenerWeights {
                target_groups: weights,
            },
        )
    }
}

/// The plan `--dry-run` prints: every step and call, from the stack as it is now.
pub fn plan(
    spec: &DeploySpec,
    region: &RegionTopology,
    signals: &Signals,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, Refusal> {
    let blue = prepare(spec, region, signals)?;
    if DeployState::read(region, &spec.stack).is_some() {
        return Err(Refusal::AlreadyRunning {
            stack: spec.stack.clone(),
            id: spec.id.clone(),
            step: "started".into(),
        });
    }
    let ctx = Ctx { spec, region, now };
    let mut steps = Vec::new();
    let version = match (target_version(spec, &blue)?, &spec.version) {
        (Some(v), _) => v.to_string(),
        (None, NewVersion::Image(ami)) => {
            steps.push(Step {
                title: format!("make a launch template version with {ami}"),
                calls: ctx.pin_and_new_version(&blue, ami),
                wait: None,
            });
            "<the new version>".to_string()
        }
        (None, NewVersion::LaunchTemplateVersion(v)) => v.to_string(),
    };
    match &spec.strategy {
        Strategy::Rolling {
            batch,
            min_healthy_percent,
            mode,
        } => {
            let batch = usize::try_from(*batch).unwrap_or(usize::MAX);
            steps.extend(rolling::plan(
                &ctx,
                &blue,
                &version,
                batch,
                *min_healthy_percent,
                *mode,
            ));
        }
        _ => steps.extend(blue_green::plan(&ctx, &blue, &version)),
    }
    Ok(steps)
}

/// What to do now for `spec`, given the deploy `state` read from AWS (`None` before it starts)
/// and the topology. Call it again after every step; a killed run resumes by calling it.
pub fn next(
    spec: &DeploySpec,
    state: Option<&DeployState>,
    region: &RegionTopology,
    signals: &Signals,
    now: DateTime<Utc>,
) -> Next {
    if let Err(refusal) = refuse_others(spec, region) {
        return Next::Refused(refusal);
    }
    let ctx = Ctx { spec, region, now };
    // A deploy that is over stays over: running `haven deploy` again reports how it ended.
    if let Some(over) = DeployState::all(region, &spec.stack)
        .into_iter()
        .find(|d| d.id == spec.id && !d.is_running())
    {
        let rolled_back = over.step == ROLLED_BACK;
        let how = if rolled_back {
            "was rolled back"
        } else {
            "is finished"
        };
        return Next::Done {
            message: format!("deploy {} of stack {} {how}", over.id, over.stack),
            rolled_back,
        };
    }
    let next = match state.filter(|s| s.is_running()) {
        None => start(&ctx, signals),
        Some(state) if matches!(spec.strategy, Strategy::Rolling { .. }) => {
            rolling::next(&ctx, state, signals)
        }
        Some(state) => blue_green::next(&ctx, state, signals),
    };
    match (next, state.is_some_and(|s| s.paused)) {
        // Paused: no step starts; waits, rollbacks and the end go on as they would.
        (Next::Run { step, .. }, true) => Next::Wait {
            what: format!("paused before the step \"{step}\" (resume it to go on)"),
            until: None,
            gates: Vec::new(),
        },
        (next, _) => next,
    }
}

/// Pauses (or resumes) a running deploy: a tag on its groups, read by every run of
/// `haven deploy` and by the dashboard.
pub fn pause(state: &DeployState, paused: bool) -> Vec<DeployCall> {
    let tags = Tags::from([(PAUSED_TAG.to_string(), paused.to_string())]);
    [&state.blue, &state.green]
        .into_iter()
        .flatten()
        .map(|side| DeployCall::Tag {
            group: side.group.clone(),
            target_group_arns: side.target_group_arns.clone(),
            tags: tags.clone(),
        })
        .collect()
}

/// The first step of a deploy (after a new launch template version when one is needed).
fn start(ctx: &Ctx, signals: &Signals) -> Next {
    let blue = match prepare(ctx.spec, ctx.region, signals) {
        Ok(blue) => blue,
        Err(refusal) => return Next::Refused(refusal),
    };
    let gates = evaluate(&ctx.spec.gates, ctx.region, &blue.group.name, signals);
    if gates.iter().any(|g| !g.passes()) {
        return Next::Wait {
            what: format!("{} healthy before the deploy starts", blue.group.name),
            until: None,
            gates,
        };
    }
    let version = match (target_version(ctx.spec, &blue), &ctx.spec.version) {
        (Err(refusal), _) => return Next::Refused(refusal),
        (Ok(Some(v)), _) => v,
        (Ok(None), NewVersion::Image(ami)) => {
            return Next::Run {
                step: format!("make a launch template version with {ami}"),
                calls: ctx.pin_and_new_version(&blue, ami),
            };
        }
        (Ok(None), NewVersion::LaunchTemplateVersion(v)) => *v,
    };
    match ctx.spec.strategy {
        Strategy::Rolling { mode, .. } => rolling::start(ctx, &blue, version, mode),
        _ => Next::Run {
            step: "create green".into(),
            calls: blue_green::create_green(ctx, &blue, &version.to_string()),
        },
    }
}

/// `haven deploy --rollback`: the calls that put everything back on the old version now.
pub fn rollback(
    spec: &DeploySpec,
    state: &DeployState,
    region: &RegionTopology,
    now: DateTime<Utc>,
) -> Vec<DeployCall> {
    let ctx = Ctx { spec, region, now };
    match spec.strategy {
        Strategy::Rolling { mode, .. } => rolling::rollback_calls(&ctx, state, mode),
        _ => blue_green::rollback_calls(&ctx, state),
    }
}

/// `haven deploy --finish`: once all traffic is on green and watched, remove blue.
pub fn finish(
    spec: &DeploySpec,
    state: &DeployState,
    region: &RegionTopology,
    now: DateTime<Utc>,
) -> Result<Vec<DeployCall>, Refusal> {
    if state.step != WATCH {
        return Err(Refusal::Invalid(format!(
            "deploy {} is at step {}: --finish comes once green has 100 % and blue is watched",
            state.id, state.step
        )));
    }
    let (Some(blue), Some(green)) = (&state.blue, &state.green) else {
        return Err(Refusal::NotRunning(spec.stack.clone()));
    };
    let ctx = Ctx { spec, region, now };
    let mut calls: Vec<DeployCall> = state
        .listeners
        .iter()
        .map(|l| ctx.weights(l, forward_all_to(region, green)))
        .collect();
    calls.push(DeployCall::DeleteGroup {
        group: blue.group.clone(),
    });
    calls.extend(
        blue.target_group_arns
            .iter()
            .map(|arn| DeployCall::DeleteTargetGroup {
                arn: arn.clone(),
                name: tg_name(region, arn),
            }),
    );
    calls.push(ctx.tag(green, ctx.step_tags(FINISHED)));
    Ok(calls)
}

fn tg_name(region: &RegionTopology, arn: &str) -> String {
    region
        .target_group(arn)
        .map_or_else(|| arn.to_string(), |t| t.name.clone())
}

/// Weights that send everything to `side`'s target groups.
fn forward_all_to(region: &RegionTopology, side: &Side) -> Vec<WeightedForward> {
    side.target_group_arns
        .iter()
        .map(|arn| WeightedForward {
            target_group_arn: arn.clone(),
            name: region.target_group(arn).map(|t| t.name.clone()),
            weight: 100,
        })
        .collect()
}

/// The gate results, with a pending one turned into a failure once `deadline` has passed.
fn judge(
    results: Vec<GateResult>,
    deadline: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Result<Vec<GateResult>, GateResult> {
    if let Some(failed) = results
        .iter()
        .find(|r| matches!(r.status, GateStatus::Fail(_)))
    {
        return Err(failed.clone());
    }
    let late = deadline.is_some_and(|d| now >= d);
    match results
        .iter()
        .find(|r| matches!(r.status, GateStatus::Pending(_)))
    {
        Some(pending) if late => {
            let GateStatus::Pending(why) = &pending.status else {
                return Ok(results);
            };
            Err(GateResult {
                gate: pending.gate.clone(),
                status: GateStatus::Fail(format!(
                    "{why}, {} after the deadline",
                    crate::duration::seconds(timeout.as_secs())
                )),
            })
        }
        _ => Ok(results),
    }
}

fn plus(time: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    time + TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// A target of `group`'s target groups is healthy.
fn is_healthy_target(region: &RegionTopology, group: &AutoScalingGroup, instance: &str) -> bool {
    group.target_group_arns.iter().any(|arn| {
        region.target_group(arn).is_some_and(|tg| {
            tg.targets
                .iter()
                .any(|t| t.id == instance && t.health == TargetHealthState::Healthy)
        })
    })
}

mod blue_green;
mod rolling;
