//! Blue/green and canary: a green group and target group beside blue, traffic shifted by
//! listener weights in steps with a bake at each, blue kept until `--finish`.

use super::{
    Blue, CREATING, Ctx, DeployCall, DeployState, Gate, GateResult, GateStatus, GroupSettings,
    Next, ROLLED_BACK, ROLLING_BACK, Refusal, STACK_TAG, Side, Signals, Step, TargetGroupSettings,
    TrackingPolicy, WATCH, capacity_of, evaluate, forward_all_to, judge, plus, prepare, side,
    tg_name,
};
use crate::action::{ActionKind, ResourceKind, WeightedForward};
use crate::topology::HealthCheck;

/// The names of green's group and target group (a target group name has 32 characters at most).
fn green_names(ctx: &Ctx, blue: &Blue) -> (String, String) {
    let group = format!("{}-{}", blue.group.name, ctx.spec.id);
    let mut tg: String = format!("{}-{}", ctx.spec.stack, ctx.spec.id)
        .chars()
        .take(32)
        .collect();
    while tg.ends_with('-') {
        tg.pop();
    }
    (group, tg)
}

/// Tag blue, create green's target group and group on `version`.
pub(super) fn create_green(ctx: &Ctx, blue: &Blue, version: &str) -> Vec<DeployCall> {
    let (group_name, tg_name) = green_names(ctx, blue);
    let blue_tg = blue
        .group
        .target_group_arns
        .first()
        .and_then(|arn| ctx.region.target_group(arn));
    let settings = TargetGroupSettings {
        protocol: blue_tg.and_then(|t| t.protocol.clone()),
        port: blue_tg.and_then(|t| t.port),
        vpc_id: blue_tg.and_then(|t| t.vpc_id.clone()),
        target_type: blue_tg.map_or_else(|| "instance".into(), |t| t.target_type.clone()),
        attributes: blue_tg
            .map(|t| {
                t.attributes
                    .iter()
                    .filter(|(key, _)| super::COPIED_ATTRIBUTES.contains(&key.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        health_check: blue_tg.map_or_else(
            || HealthCheck {
                enabled: true,
                protocol: None,
                port: None,
                path: None,
                interval_seconds: None,
                timeout_seconds: None,
                healthy_threshold: None,
                unhealthy_threshold: None,
                matcher: None,
            },
            |t| t.health_check.clone(),
        ),
    };
    let mut green_tags = ctx.start_tags("green", CREATING, blue, version);
    green_tags.insert(STACK_TAG.into(), ctx.spec.stack.clone());
    let mut tg_tags = green_tags.clone();
    green_tags.insert("Name".into(), group_name.clone());
    tg_tags.insert("Name".into(), tg_name.clone());
    vec![
        ctx.tag(
            &side(blue.group),
            ctx.start_tags("blue", CREATING, blue, version),
        ),
        DeployCall::CreateTargetGroup {
            name: tg_name.clone(),
            settings,
            tags: tg_tags,
        },
        DeployCall::CreateGroup {
            name: group_name,
            target_group: tg_name,
            settings: GroupSettings {
                capacity: capacity_of(blue.group),
                subnet_ids: blue.group.subnet_ids.clone(),
                // Green's instances must pass the load balancer's checks to count as healthy.
                health_check_type: "ELB".into(),
                health_check_grace_period: blue.group.health_check_grace_period,
                launch_template_id: blue.template.id.clone(),
                version: version.to_string(),
                policies: blue
                    .group
                    .policies
                    .iter()
                    .filter(|p| p.policy_type == "TargetTrackingScaling" && p.enabled)
                    .filter_map(|p| {
                        Some(TrackingPolicy {
                            name: p.name.clone(),
                            metric: p.metric.clone()?,
                            target: format!("{:?}", p.target_value?),
                        })
                    })
                    .collect(),
            },
            tags: green_tags,
        },
    ]
}

/// Tag both groups with the step, then weigh every listener `percent` to green.
fn shift(
    ctx: &Ctx,
    listeners: &[String],
    blue: &Side,
    green: &Side,
    percent: u8,
) -> Vec<DeployCall> {
    let step = format!("shift-{percent}");
    let mut calls = vec![
        ctx.tag(blue, ctx.step_tags(&step)),
        ctx.tag(green, ctx.step_tags(&step)),
    ];
    calls.extend(
        listeners
            .iter()
            .map(|l| ctx.weights(l, weights(ctx, blue, green, percent))),
    );
    calls
}

fn weights(ctx: &Ctx, blue: &Side, green: &Side, percent: u8) -> Vec<WeightedForward> {
    let weight = |side: &Side, w: u8| -> Vec<WeightedForward> {
        side.target_group_arns
            .iter()
            .map(|arn| WeightedForward {
                target_group_arn: arn.clone(),
                name: ctx.region.target_group(arn).map(|t| t.name.clone()),
                weight: i32::from(w),
            })
            .collect()
    };
    let mut all = weight(blue, 100 - percent);
    all.extend(weight(green, percent));
    all
}

/// All traffic on green: tag the watch, scale blue in unless it is kept.
fn watch(ctx: &Ctx, blue: &Side, green: &Side) -> Vec<DeployCall> {
    let mut calls = vec![
        ctx.tag(blue, ctx.step_tags(WATCH)),
        ctx.tag(green, ctx.step_tags(WATCH)),
    ];
    if !ctx.spec.strategy.keeps_blue() {
        calls.push(ctx.act(
            ResourceKind::AutoScalingGroup,
            &blue.group,
            ActionKind::SetCapacity {
                desired: Some(0),
                min: Some(0),
                max: None,
                current: Some(blue.capacity),
            },
        ));
    }
    calls
}

/// Every step, for `--dry-run`.
pub(super) fn plan(ctx: &Ctx, blue: &Blue, version: &str) -> Vec<Step> {
    let (group_name, tg_name) = green_names(ctx, blue);
    let blue_side = side(blue.group);
    let green_side = Side {
        group: group_name,
        target_group_arns: vec![format!("<the ARN of {tg_name}>")],
        capacity: blue_side.capacity,
    };
    let listeners = super::listeners_forwarding_to(ctx.region, &blue_side.target_group_arns);
    let mut steps = vec![Step {
        title: "create green".into(),
        calls: create_green(ctx, blue, version),
        wait: Some(format!(
            "green's targets healthy in every AZ (rolled back after {})",
            crate::duration::seconds(ctx.spec.health_timeout.as_secs())
        )),
    }];
    for (percent, bake) in ctx.spec.strategy.shifts() {
        steps.push(Step {
            title: format!("shift {percent} % to green"),
            calls: shift(ctx, &listeners, &blue_side, &green_side, percent),
            wait: Some(format!(
                "bake {} with every gate holding (else roll back)",
                crate::duration::seconds(bake.as_secs())
            )),
        });
    }
    let kept = if ctx.spec.strategy.keeps_blue() {
        "blue kept at its size"
    } else {
        "blue scaled to zero"
    };
    steps.push(Step {
        title: "watch".into(),
        calls: watch(ctx, &blue_side, &green_side),
        wait: Some(format!(
            "{kept} until `haven deploy --finish` deletes it (or `--rollback`)"
        )),
    });
    steps
}

/// What to do now in a running blue/green or canary deploy.
pub(super) fn next(ctx: &Ctx, state: &DeployState, signals: &Signals) -> Next {
    if state.step == ROLLING_BACK {
        return resume_rollback(ctx, state, signals);
    }
    let Some(blue) = &state.blue else {
        return Next::Refused(Refusal::Invalid(format!(
            "deploy {} has no blue group left",
            state.id
        )));
    };
    let Some(green) = &state.green else {
        // Killed between tagging blue and creating green: create it again (same names).
        return match (prepare(ctx.spec, ctx.region, signals), state.version) {
            (Ok(b), Some(version)) => Next::Run {
                step: "create green".into(),
                calls: create_green(ctx, &b, &version.to_string()),
            },
            (Err(refusal), _) => Next::Refused(refusal),
            (Ok(_), None) => Next::Refused(Refusal::Invalid(format!(
                "deploy {} has no version tag",
                state.id
            ))),
        };
    };
    let since = state.since.unwrap_or(ctx.now);
    let results = evaluate(&ctx.spec.gates, ctx.region, &green.group, signals);
    let shifts = ctx.spec.strategy.shifts();
    if state.step == CREATING {
        let deadline = plus(since, ctx.spec.health_timeout);
        return match judge(results, Some(deadline), ctx.now, ctx.spec.health_timeout) {
            Err(failed) => rollback(ctx, state, Some(failed)),
            Ok(gates) if gates.iter().any(|g| !g.passes()) => Next::Wait {
                what: "green's targets healthy in every AZ".into(),
                until: Some(deadline),
                gates,
            },
            Ok(_) => match shifts.first() {
                Some((first, _)) => Next::Run {
                    step: format!("shift {first} % to green"),
                    calls: shift(ctx, &state.listeners, blue, green, *first),
                },
                None => Next::Refused(Refusal::Invalid("no traffic step".into())),
            },
        };
    }
    if state.step == WATCH {
        // Blue is watched as long as it is kept: a gate failing now still rolls back.
        if let Some(failed) = results.iter().find(|r| !r.passes()) {
            return rollback(ctx, state, Some(as_failure(failed, 100)));
        }
        return Next::Done {
            message: format!(
                "100 % on {} since {}; {} kept until `haven deploy --finish`",
                green.group,
                since.to_rfc3339(),
                blue.group
            ),
            rolled_back: false,
        };
    }
    let Some(target) = state.shift_step() else {
        return Next::Refused(Refusal::Invalid(format!(
            "deploy {} is at an unknown step {}",
            state.id, state.step
        )));
    };
    if state.green_percent() != Some(target) {
        // The step was tagged, the listener not yet changed (a run killed in between).
        return Next::Run {
            step: format!("shift {target} % to green (resumed)"),
            calls: state
                .listeners
                .iter()
                .map(|l| ctx.weights(l, weights(ctx, blue, green, target)))
                .collect(),
        };
    }
    // With traffic on green, anything short of a pass is a failure.
    if let Some(bad) = results.iter().find(|r| !r.passes()) {
        return rollback(ctx, state, Some(as_failure(bad, target)));
    }
    let bake = shifts
        .iter()
        .find(|(p, _)| *p == target)
        .map(|(_, b)| *b)
        .unwrap_or_default();
    let bake_end = plus(since, bake);
    if ctx.now < bake_end {
        return Next::Wait {
            what: format!("bake at {target} % on green"),
            until: Some(bake_end),
            gates: results,
        };
    }
    match shifts.iter().find(|(p, _)| *p > target) {
        Some((p, _)) => Next::Run {
            step: format!("shift {p} % to green"),
            calls: shift(ctx, &state.listeners, blue, green, *p),
        },
        None => Next::Run {
            step: "watch".into(),
            calls: watch(ctx, blue, green),
        },
    }
}

/// A gate short of a pass while green takes traffic, as a failure.
fn as_failure(result: &GateResult, percent: u8) -> GateResult {
    match &result.status {
        GateStatus::Pending(why) => GateResult {
            gate: result.gate.clone(),
            status: GateStatus::Fail(format!("{why} while green takes {percent} %")),
        },
        _ => result.clone(),
    }
}

/// A rollback under way: once blue (scaled back up if it was scaled in) is healthy in every AZ,
/// traffic goes back to it.
fn resume_rollback(ctx: &Ctx, state: &DeployState, signals: &Signals) -> Next {
    let Some(blue) = &state.blue else {
        return rollback(ctx, state, None);
    };
    if scaled_in(state, blue) {
        return rollback(ctx, state, None);
    }
    let blue_health = evaluate(&[Gate::HealthyPerAz], ctx.region, &blue.group, signals);
    if blue_health.iter().all(GateResult::passes) {
        return rollback(ctx, state, None);
    }
    Next::Wait {
        what: format!(
            "{} healthy in every AZ before traffic goes back to it",
            blue.group
        ),
        until: None,
        gates: blue_health,
    }
}

/// Blue was scaled in after the shift and has not been scaled back yet.
fn scaled_in(state: &DeployState, blue: &Side) -> bool {
    state
        .capacity_before
        .is_some_and(|before| before.desired > blue.capacity.desired)
}

fn rollback(ctx: &Ctx, state: &DeployState, failed: Option<GateResult>) -> Next {
    let reason = match &failed {
        Some(f) => format!("gate {} failed", f.line()),
        None => "resuming the rollback already begun".into(),
    };
    Next::Rollback {
        failed,
        reason,
        calls: rollback_calls(ctx, state),
    }
}

/// 100 % back on blue and green deleted; when blue was scaled in, first only blue scaled back
/// up (traffic returns once it is healthy: call `next` again).
pub(super) fn rollback_calls(ctx: &Ctx, state: &DeployState) -> Vec<DeployCall> {
    let mut calls = Vec::new();
    let Some(blue) = &state.blue else {
        return calls;
    };
    // Tagged first: a rollback killed half-way resumes as a rollback, never as a shift.
    if state.step != ROLLING_BACK {
        calls.push(ctx.tag(blue, ctx.step_tags(ROLLING_BACK)));
        if let Some(green) = &state.green {
            calls.push(ctx.tag(green, ctx.step_tags(ROLLING_BACK)));
        }
    }
    if let Some(before) = state.capacity_before.filter(|_| scaled_in(state, blue)) {
        calls.push(ctx.act(
            ResourceKind::AutoScalingGroup,
            &blue.group,
            ActionKind::SetCapacity {
                desired: Some(before.desired),
                min: Some(before.min),
                max: Some(before.max),
                current: Some(blue.capacity),
            },
        ));
        return calls;
    }
    calls.extend(
        state
            .listeners
            .iter()
            .map(|l| ctx.weights(l, forward_all_to(ctx.region, blue))),
    );
    if let Some(green) = &state.green {
        calls.push(DeployCall::DeleteGroup {
            group: green.group.clone(),
        });
        calls.extend(
            green
                .target_group_arns
                .iter()
                .map(|arn| DeployCall::DeleteTargetGroup {
                    arn: arn.clone(),
                    name: tg_name(ctx.region, arn),
                }),
        );
    }
    calls.push(ctx.tag(blue, ctx.step_tags(ROLLED_BACK)));
    calls
}
