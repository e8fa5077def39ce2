//! Rolling deploys: instance refresh, or haven's batches where it is not available.

use std::collections::BTreeMap;

use super::{
    Blue, Ctx, DeployCall, DeployState, FINISHED, Gate, GateResult, GateStatus, Next, REFRESHING,
    ROLLED_BACK, ROLLING, ROLLING_BACK, Refusal, RollingMode, Side, Signals, Step, Strategy,
    capacity_of, evaluate, healthy_floor, is_healthy_target, next_batch, plus, rolling_batches,
    side, template_of,
};
use crate::action::{ActionKind, Capacity, ResourceKind};
use crate::topology::{AsgInstance, AutoScalingGroup, RegionTopology};

fn parameters(strategy: &Strategy) -> (usize, u8) {
    match strategy {
        Strategy::Rolling {
            batch,
            min_healthy_percent,
            ..
        } => (
            usize::try_from(*batch).unwrap_or(usize::MAX),
            *min_healthy_percent,
        ),
        _ => (1, 100),
    }
}

/// Live members (not terminating or gone).
fn live<'a>(region: &'a RegionTopology, group: &'a AutoScalingGroup) -> Vec<&'a AsgInstance> {
    group
        .instances
        .iter()
        .filter(|m| !m.lifecycle_state.starts_with("Terminat"))
        .filter(|m| {
            region
                .instance(&m.instance_id)
                .is_none_or(|i| !i.state.is_gone())
        })
        .collect()
}

fn on_version(member: &AsgInstance, version: i64) -> bool {
    member
        .launch_template
        .as_ref()
        .and_then(|t| t.version.as_deref())
        .and_then(|v| v.parse::<i64>().ok())
        == Some(version)
}

fn by_az(members: &[&AsgInstance]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in members {
        map.entry(m.availability_zone.clone())
            .or_default()
            .push(m.instance_id.clone());
    }
    map
}

fn start_calls(ctx: &Ctx, blue: &Blue, version: &str, mode: RollingMode) -> Vec<DeployCall> {
    let group = side(blue.group);
    match mode {
        RollingMode::InstanceRefresh => {
            let surge = thin_azs(ctx.region, blue.group);
            if surge > 0 {
                // An instance refresh takes instances out before their replacements are in
                // service: with one instance in an AZ, that AZ would be left without a target.
                vec![
                    ctx.tag(&group, ctx.start_tags(ROLLING, ROLLING, blue, version)),
                    surge_call(ctx, &group, group.capacity, surge),
                ]
            } else {
                let mut calls =
                    vec![ctx.tag(&group, ctx.start_tags(ROLLING, REFRESHING, blue, version))];
                calls.push(refresh_call(ctx, &group, version));
                calls
            }
        }
        RollingMode::Batches => {
            let mut calls = vec![ctx.tag(&group, ctx.start_tags(ROLLING, ROLLING, blue, version))];
            if blue.current.map(|c| c.to_string()).as_deref() != Some(version) {
                calls.push(DeployCall::PointGroupAt {
                    group: group.group.clone(),
                    launch_template_id: blue.template.id.clone(),
                    version: version.to_string(),
                });
            }
            calls
        }
    }
}

/// AZs of the group with a single live member.
fn thin_azs(region: &RegionTopology, group: &AutoScalingGroup) -> usize {
    by_az(&live(region, group))
        .values()
        .filter(|ids| ids.len() == 1)
        .count()
}

fn refresh_call(ctx: &Ctx, group: &Side, version: &str) -> DeployCall {
    let (_, min_healthy) = parameters(&ctx.spec.strategy);
    ctx.act(
        ResourceKind::AutoScalingGroup,
        &group.group,
        ActionKind::StartInstanceRefresh {
            version: Some(version.to_string()),
            min_healthy_percentage: Some(i32::from(min_healthy)),
            instance_warmup_seconds: None,
        },
    )
}

/// The first step: tag the group, then start the refresh or point the group at the version.
pub(super) fn start(ctx: &Ctx, blue: &Blue, version: i64, mode: RollingMode) -> Next {
    let members = live(ctx.region, blue.group);
    if members.iter().all(|m| on_version(m, version)) && blue.current == Some(version) {
        return Next::Done {
            message: format!(
                "every instance of {} is on version {version}",
                blue.group.name
            ),
            rolled_back: false,
        };
    }
    Next::Run {
        step: format!("start rolling to version {version}"),
        calls: start_calls(ctx, blue, &version.to_string(), mode),
    }
}

/// Every step, for `--dry-run`.
pub(super) fn plan(
    ctx: &Ctx,
    blue: &Blue,
    version: &str,
    batch: usize,
    min_healthy: u8,
    mode: RollingMode,
) -> Vec<Step> {
    let mut steps = vec![Step {
        title: format!("start rolling to version {version}"),
        calls: start_calls(ctx, blue, version, mode),
        wait: None,
    }];
    let group = side(blue.group);
    if mode == RollingMode::InstanceRefresh {
        if thin_azs(ctx.region, blue.group) > 0 {
            steps.push(Step {
                title: "start the instance refresh".into(),
                calls: vec![
                    ctx.tag(&group, ctx.step_tags(REFRESHING)),
                    refresh_call(ctx, &group, version),
                ],
                wait: None,
            });
        }
        steps.push(Step {
            title: "instance refresh".into(),
            calls: Vec::new(),
            wait: Some(format!(
                "every instance of {} on version {version}, {min_healthy} % kept healthy, \
                 every gate holding (else roll back)",
                group.group
            )),
        });
        if thin_azs(ctx.region, blue.group) > 0 {
            steps.push(Step {
                title: "scale back".into(),
                calls: vec![capacity_call(ctx, &group, capacity_of(blue.group))],
                wait: None,
            });
        }
        steps.push(finish_step(ctx, &group));
        return steps;
    }
    let members = live(ctx.region, blue.group);
    let rolling = rolling_batches(&by_az(&members), batch, min_healthy);
    let before = capacity_of(blue.group);
    if rolling.surge > 0 {
        steps.push(Step {
            title: format!("surge {} instance(s)", rolling.surge),
            calls: vec![surge_call(ctx, &group, before, rolling.surge)],
            wait: Some("the new instances healthy".into()),
        });
    }
    for (i, ids) in rolling.batches.iter().enumerate() {
        steps.push(Step {
            title: format!("batch {} of {}", i + 1, rolling.batches.len()),
            calls: batch_calls(ctx, &group, ids),
            wait: Some("the replacements healthy in the target groups".into()),
        });
    }
    if rolling.surge > 0 {
        steps.push(Step {
            title: "scale back".into(),
            calls: vec![capacity_call(ctx, &group, before)],
            wait: None,
        });
    }
    steps.push(finish_step(ctx, &group));
    steps
}

fn finish_step(ctx: &Ctx, group: &Side) -> Step {
    Step {
        title: "finish".into(),
        calls: vec![ctx.tag(group, ctx.step_tags(FINISHED))],
        wait: None,
    }
}

fn surge_call(ctx: &Ctx, group: &Side, now: Capacity, surge: usize) -> DeployCall {
    let desired = now.desired + i32::try_from(surge).unwrap_or(i32::MAX);
    ctx.act(
        ResourceKind::AutoScalingGroup,
        &group.group,
        ActionKind::SetCapacity {
            desired: Some(desired),
            min: None,
            max: (desired > now.max).then_some(desired),
            current: Some(now),
        },
    )
}

fn capacity_call(ctx: &Ctx, group: &Side, to: Capacity) -> DeployCall {
    ctx.act(
        ResourceKind::AutoScalingGroup,
        &group.group,
        ActionKind::SetCapacity {
            desired: Some(to.desired),
            min: Some(to.min),
            max: Some(to.max),
            current: Some(group.capacity),
        },
    )
}

/// Tag the batch's start, take it out of the load balancer, terminate it (Auto Scaling
/// launches its replacements on the new version).
fn batch_calls(ctx: &Ctx, group: &Side, ids: &[String]) -> Vec<DeployCall> {
    let mut calls = vec![ctx.tag(group, ctx.step_tags(ROLLING))];
    calls.extend(group.target_group_arns.iter().map(|arn| {
        ctx.act(
            ResourceKind::TargetGroup,
            arn,
            ActionKind::DeregisterTargets {
                instance_ids: ids.to_vec(),
            },
        )
    }));
    calls.extend(ids.iter().map(|id| {
        ctx.act(
            ResourceKind::Instance,
            id,
            ActionKind::TerminateAsgInstance {
                decrement: false,
                group: Some(group.group.clone()),
            },
        )
    }));
    calls
}

/// What to do now in a running rolling deploy.
pub(super) fn next(ctx: &Ctx, state: &DeployState, signals: &Signals) -> Next {
    let Strategy::Rolling { mode, .. } = ctx.spec.strategy else {
        return Next::Refused(Refusal::Invalid("not a rolling deploy".into()));
    };
    if state.step == ROLLING_BACK {
        return rollback(ctx, state, mode, None);
    }
    let (Some(side), Some(version)) = (&state.blue, state.version) else {
        return Next::Refused(Refusal::Invalid(format!(
            "deploy {} has no group or version tag",
            state.id
        )));
    };
    let Some(group) = ctx
        .region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == side.group)
    else {
        return Next::Refused(Refusal::NoGroup(ctx.spec.stack.clone()));
    };
    let results = evaluate(&ctx.spec.gates, ctx.region, &group.name, signals);
    if let Some(failed) = results
        .iter()
        .find(|r| matches!(r.status, GateStatus::Fail(_)))
    {
        return rollback(ctx, state, mode, Some(failed.clone()));
    }
    let since = state.since.unwrap_or(ctx.now);
    if let Some(failed) = refresh_failure(state, &group.name, signals, since) {
        return rollback(ctx, state, mode, Some(failed));
    }
    let members = live(ctx.region, group);
    if let Some(next) = wait_for_new(ctx, state, group, &members, version, since, &results, mode) {
        return next;
    }
    let old: Vec<&AsgInstance> = members
        .iter()
        .copied()
        .filter(|m| !on_version(m, version))
        .collect();
    let before = state.capacity_before.unwrap_or(side.capacity);
    if old.is_empty() {
        if group.desired_capacity != before.desired {
            return Next::Run {
                step: "scale back".into(),
                calls: vec![capacity_call(ctx, side, before)],
            };
        }
        return Next::Run {
            step: "finish".into(),
            calls: vec![ctx.tag(side, ctx.step_tags(FINISHED))],
        };
    }
    if mode == RollingMode::InstanceRefresh {
        if state.step == ROLLING {
            // The surge is in service: now the refresh.
            return Next::Run {
                step: format!("start the instance refresh to version {version}"),
                calls: vec![
                    ctx.tag(side, ctx.step_tags(REFRESHING)),
                    refresh_call(ctx, side, &version.to_string()),
                ],
            };
        }
        return Next::Wait {
            what: format!(
                "instance refresh: {} of {} instance(s) on version {version}",
                members.len() - old.len(),
                members.len()
            ),
            until: None,
            gates: results,
        };
    }
    next_batch_step(ctx, state, group, &members, &old, before, since, results)
}

/// The deploy's instance refresh ended without replacing the instances: AWS failed, cancelled
/// or rolled it back (its own checks, or someone else's hand). Refreshes older than the step
/// are another story.
fn refresh_failure(
    state: &DeployState,
    group: &str,
    signals: &Signals,
    since: chrono::DateTime<chrono::Utc>,
) -> Option<GateResult> {
    if state.step != REFRESHING {
        return None;
    }
    let seen = signals.refreshes.as_ref()?.get(group)?;
    let ours = seen
        .started
        .is_none_or(|started| started >= since - chrono::TimeDelta::minutes(1));
    (ours && seen.failed()).then(|| GateResult {
        gate: Gate::InstanceRefresh,
        status: GateStatus::Fail(seen.line()),
    })
}

/// A wait while new instances launch or become healthy; a rollback once they are late.
#[allow(clippy::too_many_arguments)]
fn wait_for_new(
    ctx: &Ctx,
    state: &DeployState,
    group: &AutoScalingGroup,
    members: &[&AsgInstance],
    version: i64,
    since: chrono::DateTime<chrono::Utc>,
    results: &[GateResult],
    mode: RollingMode,
) -> Option<Next> {
    let unhealthy: Vec<&AsgInstance> = members
        .iter()
        .copied()
        .filter(|m| on_version(m, version) && !is_healthy_target(ctx.region, group, &m.instance_id))
        .collect();
    let launching = members.len() != usize::try_from(group.desired_capacity).unwrap_or(0)
        || group.instances.iter().any(|m| {
            m.lifecycle_state.starts_with("Terminat") || m.lifecycle_state.starts_with("Pending")
        });
    if unhealthy.is_empty() && !launching {
        return None;
    }
    // Each new instance gets the health timeout from its launch; missing instances count from
    // the step's start.
    let started = unhealthy
        .iter()
        .filter_map(|m| ctx.region.instance(&m.instance_id)?.launch_time)
        .min()
        .unwrap_or(since);
    let deadline = plus(started, ctx.spec.health_timeout);
    let ids: Vec<&str> = unhealthy.iter().map(|m| m.instance_id.as_str()).collect();
    let what = if ids.is_empty() {
        format!(
            "{} to reach its desired capacity ({} of {})",
            group.name,
            members.len(),
            group.desired_capacity
        )
    } else {
        format!("{} on version {version} healthy", ids.join(", "))
    };
    // An instance refresh runs at AWS's pace: only instances already launched have a deadline.
    let late = ctx.now >= deadline
        && (mode == RollingMode::Batches || state.step == ROLLING || !ids.is_empty());
    if late {
        let failed = GateResult {
            gate: Gate::HealthyPerAz,
            status: GateStatus::Fail(format!(
                "still waiting for {what} after {}",
                crate::duration::seconds(ctx.spec.health_timeout.as_secs())
            )),
        };
        return Some(rollback(ctx, state, mode, Some(failed)));
    }
    Some(Next::Wait {
        what,
        until: Some(deadline),
        gates: results.to_vec(),
    })
}

/// Surge first where an AZ would be emptied, then the next batch that keeps every AZ served.
#[allow(clippy::too_many_arguments)]
fn next_batch_step(
    ctx: &Ctx,
    state: &DeployState,
    group: &AutoScalingGroup,
    members: &[&AsgInstance],
    old: &[&AsgInstance],
    before: Capacity,
    since: chrono::DateTime<chrono::Utc>,
    results: Vec<GateResult>,
) -> Next {
    let (batch, min_healthy) = parameters(&ctx.spec.strategy);
    let side = side(group);
    let healthy: Vec<&AsgInstance> = members
        .iter()
        .copied()
        .filter(|m| is_healthy_target(ctx.region, group, &m.instance_id))
        .collect();
    let mut healthy_by_az: BTreeMap<String, usize> = BTreeMap::new();
    for m in &healthy {
        *healthy_by_az
            .entry(m.availability_zone.clone())
            .or_default() += 1;
    }
    let old_by_az = by_az(old);
    let floor = healthy_floor(usize::try_from(before.desired).unwrap_or(0), min_healthy);
    let surged = group.desired_capacity > before.desired;
    let thin_azs = old_by_az
        .keys()
        .filter(|az| healthy_by_az.get(*az).copied().unwrap_or(0) <= 1)
        .count();
    let surge = thin_azs + usize::from(healthy.len() + thin_azs <= floor);
    if !surged && surge > 0 {
        return Next::Run {
            step: format!("surge {surge} instance(s) so that no AZ is emptied"),
            calls: vec![
                ctx.tag(&side, ctx.step_tags(ROLLING)),
                surge_call(ctx, &side, capacity_of(group), surge),
            ],
        };
    }
    let ids = next_batch(
        &old_by_az,
        &healthy_by_az,
        batch,
        healthy.len().saturating_sub(floor),
    );
    if ids.is_empty() {
        let deadline = plus(since, ctx.spec.health_timeout);
        if ctx.now >= deadline {
            let failed = GateResult {
                gate: Gate::HealthyPerAz,
                status: GateStatus::Fail(
                    "no instance can leave without emptying an AZ or going under the minimum \
                     healthy percentage"
                        .into(),
                ),
            };
            return rollback(ctx, state, RollingMode::Batches, Some(failed));
        }
        return Next::Wait {
            what: "room to take a batch out (a healthy instance in every AZ)".into(),
            until: Some(deadline),
            gates: results,
        };
    }
    Next::Run {
        step: format!("replace {}", ids.join(", ")),
        calls: batch_calls(ctx, &side, &ids),
    }
}

fn rollback(ctx: &Ctx, state: &DeployState, mode: RollingMode, failed: Option<GateResult>) -> Next {
    let mut reason = match &failed {
        Some(f) => format!("gate {} failed", f.line()),
        None => "resuming the rollback already begun".into(),
    };
    if mode == RollingMode::Batches {
        reason.push_str(
            "; new launches go back to the old version, instances already replaced stay on \
             the new one until a rolling deploy of the old version",
        );
    }
    Next::Rollback {
        failed,
        reason,
        calls: rollback_calls(ctx, state, mode),
    }
}

/// Back to the old version: the refresh cancelled and started again towards it (or the group
/// pointed back at it), the sizes as they were.
pub(super) fn rollback_calls(ctx: &Ctx, state: &DeployState, mode: RollingMode) -> Vec<DeployCall> {
    let Some(side) = &state.blue else {
        return Vec::new();
    };
    let (_, min_healthy) = parameters(&ctx.spec.strategy);
    let mut calls = vec![ctx.tag(side, ctx.step_tags(ROLLING_BACK))];
    let group = ctx
        .region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == side.group);
    match (mode, state.from) {
        (RollingMode::InstanceRefresh, from) => {
            calls.push(ctx.act(
                ResourceKind::AutoScalingGroup,
                &side.group,
                ActionKind::CancelInstanceRefresh,
            ));
            if let Some(from) = from {
                calls.push(ctx.act(
                    ResourceKind::AutoScalingGroup,
                    &side.group,
                    ActionKind::StartInstanceRefresh {
                        version: Some(from.to_string()),
                        min_healthy_percentage: Some(i32::from(min_healthy)),
                        instance_warmup_seconds: None,
                    },
                ));
            }
        }
        (RollingMode::Batches, Some(from)) => {
            if let Some(template) = group.and_then(|g| template_of(ctx.region, g)) {
                calls.push(DeployCall::PointGroupAt {
                    group: side.group.clone(),
                    launch_template_id: template.id.clone(),
                    version: from.to_string(),
                });
            }
        }
        (RollingMode::Batches, None) => {}
    }
    if let Some(before) = state.capacity_before
        && before != side.capacity
    {
        calls.push(capacity_call(ctx, side, before));
    }
    calls.push(ctx.tag(side, ctx.step_tags(ROLLED_BACK)));
    calls
}
