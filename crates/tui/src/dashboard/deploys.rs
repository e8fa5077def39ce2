//! The `:deploy` view: every deploy of every stack in every Region as AWS shows it (the
//! `haven:deploy*` tags on the groups, the listener weights), what a row describes (both sides,
//! the weights, the gates, the `haven deploy` commands), the calls its keys send (pause, resume,
//! roll back, finish), and the label the map puts on a deploy's groups.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use haven_model::deploy::{
    self, DEPLOY_TAG, DeploySpec, DeployState, Gate, GateStatus, Side, Signals,
};
use haven_model::plan::STACK_TAG;
use haven_model::{RegionTopology, TargetHealthState, Topology};

use super::fit::short_az;
use super::jobs::Work;
use super::rows::{Cell, ListKind, ListModel, Row, RowRef, col, finish};
use super::style::Tone;

/// What the empty list says.
pub const EMPTY: &str = "no deploy in these Regions: `haven deploy BLUEPRINT --image AMI` starts \
                         one (rolling, blue/green or canary); its groups then carry haven:deploy \
                         tags and it shows here";

/// Every deploy in `region`, of every stack (found from the groups' `haven:stack` tag):
/// running first, then the most recent step first.
pub fn deploys_in(region: &RegionTopology) -> Vec<DeployState> {
    let stacks: BTreeSet<&str> = region
        .auto_scaling_groups
        .iter()
        .filter_map(|g| g.tags.get(STACK_TAG))
        .map(String::as_str)
        .collect();
    let mut all: Vec<DeployState> = stacks
        .into_iter()
        .flat_map(|stack| DeployState::all(region, stack))
        .collect();
    all.sort_by(|a, b| {
        b.is_running()
            .cmp(&a.is_running())
            .then(b.since.cmp(&a.since))
    });
    all
}

/// The deploy a row stands for, with its Region.
fn deploy_of(topology: &Topology, row: RowRef) -> Option<(&RegionTopology, DeployState)> {
    let region = topology.regions.get(row.region?)?;
    let state = deploys_in(region).into_iter().nth(row.index)?;
    Some((region, state))
}

/// Healthy targets of a side per AZ of its group (`2a 2/2 · 2b 1/2`), and how that reads.
pub fn healthy_by_az(region: &RegionTopology, side: &Side) -> (String, Tone) {
    let Some(group) = region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == side.group)
    else {
        return ("group gone".into(), Tone::Dim);
    };
    let mut parts = Vec::new();
    let mut tone = Tone::Good;
    for (az, ids) in region.asg_instances_by_az(group) {
        let healthy = ids
            .iter()
            .filter(|id| healthy_target(region, side, id))
            .count();
        if (healthy == 0 && !ids.is_empty()) || (ids.is_empty() && group.desired_capacity > 0) {
            tone = Tone::Bad;
        } else if healthy < ids.len() && tone == Tone::Good {
            tone = Tone::Warn;
        }
        parts.push(format!(
            "{} {healthy}/{}",
            short_az(&region.region, &az),
            ids.len()
        ));
    }
    if parts.is_empty() {
        return ("no AZ".into(), Tone::Dim);
    }
    (parts.join(" · "), tone)
}

fn healthy_target(region: &RegionTopology, side: &Side, instance: &str) -> bool {
    side.target_group_arns.iter().any(|arn| {
        region.target_group(arn).is_some_and(|tg| {
            tg.targets
                .iter()
                .any(|t| t.id == instance && t.health == TargetHealthState::Healthy)
        })
    })
}

/// The step as the list shows it, with `paused`, and its colour.
fn step_cell(state: &DeployState) -> Cell {
    let tone = match state.step.as_str() {
        deploy::FINISHED => Tone::Good,
        deploy::ROLLED_BACK => Tone::Dim,
        "rolling-back" => Tone::Bad,
        _ if state.paused => Tone::Warn,
        _ => Tone::Busy,
    };
    let text = if state.paused && state.is_running() {
        format!("{} paused", state.step)
    } else {
        state.step.clone()
    };
    Cell::toned(text, tone)
}

fn version_text(state: &DeployState) -> String {
    let v = |n: Option<i64>| n.map_or_else(|| "?".to_string(), |n| format!("v{n}"));
    format!("{} → {}", v(state.from), v(state.version))
}

/// The `:deploy` list: one row per deploy of every stack in every Region, running first.
pub fn list(topology: &Topology) -> ListModel {
    let mut rows: Vec<(bool, Option<DateTime<Utc>>, Row)> = Vec::new();
    for (ri, region) in topology.regions.iter().enumerate() {
        for (i, state) in deploys_in(region).iter().enumerate() {
            let side = |s: &Option<Side>| match s {
                Some(side) => {
                    let (text, tone) = healthy_by_az(region, side);
                    Cell::toned(text, tone)
                }
                None => Cell::toned("-", Tone::Dim),
            };
            let share = match state.green_percent() {
                Some(p) => Cell::toned(format!("{p} %"), Tone::Busy),
                None => Cell::toned("-", Tone::Dim),
            };
            let row = Row {
                cells: vec![
                    Cell::text(&region.region),
                    Cell::text(&state.stack),
                    Cell::text(&state.id),
                    Cell::text(&state.strategy),
                    step_cell(state),
                    Cell::Time(state.since),
                    share,
                    side(&state.blue),
                    side(&state.green),
                    Cell::text(version_text(state)),
                ],
                target: RowRef {
                    region: Some(ri),
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key: format!("{}/{}/{}", region.region, state.stack, state.id),
            };
            rows.push((state.is_running(), state.since, row));
        }
    }
    // Running deploys of every Region first, then the most recent.
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    finish(
        ListKind::Deploy,
        vec![
            col("REGION", 15),
            col("STACK", 6),
            col("ID", 4),
            col("STRATEGY", 10),
            col("STEP", 15),
            col("FOR", 5),
            col("GREEN", 5),
            col("BLUE ✓/AZ", 15),
            col("GREEN ✓/AZ", 15),
            col("VERSION", 8),
        ],
        rows.into_iter().map(|(_, _, row)| row).collect(),
    )
}

fn side_lines(region: &RegionTopology, role: &str, side: &Side, out: &mut Vec<String>) {
    let c = side.capacity;
    out.push(format!(
        "{role} {}  min {} max {} desired {}",
        side.group, c.min, c.max, c.desired
    ));
    let names: Vec<String> = side
        .target_group_arns
        .iter()
        .map(|arn| {
            region
                .target_group(arn)
                .map_or(arn.clone(), |t| t.name.clone())
        })
        .collect();
    out.push(format!("  target groups: {}", names.join(", ")));
    out.push(format!(
        "  healthy targets: {}",
        healthy_by_az(region, side).0
    ));
}

/// A listener's forwards with their weights, e.g. `lab-web-tg 90 · lab-d1 10`.
pub fn weights_text(region: &RegionTopology, listener_arn: &str) -> Option<String> {
    let listener = region
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .find(|l| l.arn == listener_arn)?;
    let parts: Vec<String> = listener
        .forwards()
        .map(|tg| {
            let name = region
                .target_group(&tg.arn)
                .map_or(tg.arn.as_str(), |t| t.name.as_str());
            format!("{name} {}", tg.weight.unwrap_or(1))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn listener_label(region: &RegionTopology, listener_arn: &str) -> String {
    region
        .load_balancers
        .iter()
        .find_map(|lb| {
            let l = lb.listeners.iter().find(|l| l.arn == listener_arn)?;
            Some(format!(
                "{} {}:{}",
                lb.name,
                l.protocol.as_deref().unwrap_or("?"),
                l.port.map_or_else(|| "?".into(), |p| p.to_string())
            ))
        })
        .unwrap_or_else(|| listener_arn.to_string())
}

fn gate_lines(region: &RegionTopology, state: &DeployState, out: &mut Vec<String>) {
    out.push(
        "GATES (the defaults; scaling activities and alarms are not read here, so their gates \
         are unknown)"
            .into(),
    );
    for (role, side) in [("green", &state.green), ("blue", &state.blue)] {
        let Some(side) = side else { continue };
        out.push(format!("  on {role} {}:", side.group));
        for result in deploy::evaluate(&Gate::defaults(), region, &side.group, &Signals::default())
        {
            let mark = match result.status {
                GateStatus::Pass => "✓",
                GateStatus::Pending(_) => "…",
                GateStatus::Fail(_) => "✗",
                GateStatus::Unknown(_) => "?",
            };
            let status = match &result.status {
                GateStatus::Unknown(why) => format!("{}: unknown, {why}", result.gate.label()),
                _ => result.line(),
            };
            out.push(format!("    {mark} {status}"));
        }
    }
}

/// What `d` shows on a deploy row: both sides, the listeners and their weights, the gates as
/// they stand, and the `haven deploy` commands that go on, roll back or finish it.
pub fn describe(topology: &Topology, row: RowRef, now: DateTime<Utc>) -> Option<Vec<String>> {
    let (region, state) = deploy_of(topology, row)?;
    let mut out = Vec::new();
    let since = state.since.map_or_else(
        || "since an unknown time".to_string(),
        |s| {
            let secs = (now - s).num_seconds().max(0).unsigned_abs();
            format!(
                "for {} (since {})",
                haven_model::duration::seconds(secs),
                s.to_rfc3339_opts(SecondsFormat::Secs, true)
            )
        },
    );
    out.push(format!(
        "deploy {} of stack {} in {}: {}, step {} {since}",
        state.id, state.stack, region.region, state.strategy, state.step
    ));
    out.push(format!(
        "version {} (launch template versions)",
        version_text(&state)
    ));
    if state.shift_step().is_some() {
        out.push(
            "the bake time is not stored in AWS: the step bakes from its start until \
             `haven deploy` shifts again"
                .into(),
        );
    }
    out.push(match (state.is_running(), state.paused) {
        (false, _) => "over: its tags stay on the groups for the record".into(),
        (true, true) => "PAUSED: no step starts until it is resumed; a failing gate still \
                         rolls back"
            .into(),
        (true, false) => "running, not paused".into(),
    });
    out.push(String::new());
    if let Some(blue) = &state.blue {
        let role = if state.green.is_some() {
            "BLUE "
        } else {
            "GROUP"
        };
        side_lines(region, role, blue, &mut out);
    }
    if let Some(green) = &state.green {
        side_lines(region, "GREEN", green, &mut out);
    }
    out.push(String::new());
    out.push("LISTENERS AND WEIGHTS".into());
    if state.listeners.is_empty() {
        out.push("  no listener forwards to this deploy's target groups".into());
    }
    for listener in &state.listeners {
        out.push(format!(
            "  {} → {}",
            listener_label(region, listener),
            weights_text(region, listener).unwrap_or_else(|| "no forward".into())
        ));
    }
    if let Some(p) = state.green_percent() {
        out.push(format!("  green has {p} % of the traffic"));
    }
    out.push(String::new());
    gate_lines(region, &state, &mut out);
    out.push(String::new());
    command_lines(&state, &mut out);
    Some(out)
}

fn command_lines(state: &DeployState, out: &mut Vec<String>) {
    out.push(format!(
        "HAVEN DEPLOY (BLUEPRINT: the blueprint of stack {}, which names its Region)",
        state.stack
    ));
    let base = "haven deploy BLUEPRINT";
    out.push(format!("  where it stands: {base} --status"));
    if !state.is_running() {
        return;
    }
    if state.paused {
        out.push(format!("  resume:          {base} --resume"));
    } else {
        out.push(format!("  go on:           {base}"));
        out.push(format!("  pause:           {base} --pause"));
    }
    out.push(format!("  roll back:       {base} --rollback"));
    out.push(format!(
        "  finish:          {base} --finish   (at step watch: green keeps 100 %, blue is deleted)"
    ));
}

/// What a key on a deploy row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployOp {
    /// Pause a running deploy, or resume a paused one.
    PauseOrResume,
    /// Put everything back on the old version.
    Rollback,
    /// Remove blue once green has all the traffic and was watched.
    Finish,
}

/// The work a key on a deploy row starts, or why it cannot.
pub fn work(
    topology: &Topology,
    row: RowRef,
    op: DeployOp,
    now: DateTime<Utc>,
) -> Result<Work, String> {
    let (region, state) = deploy_of(topology, row).ok_or("no deploy on this row")?;
    let name = format!("deploy {} of stack {}", state.id, state.stack);
    if !state.is_running() {
        return Err(format!(
            "{name} is over ({}): nothing to change",
            state.step
        ));
    }
    let (title, calls) = match op {
        DeployOp::PauseOrResume if state.paused => (
            format!("Resume {name}: its next step may start"),
            deploy::pause(&state, false),
        ),
        DeployOp::PauseOrResume => (
            format!("Pause {name}: no step starts until it is resumed"),
            deploy::pause(&state, true),
        ),
        DeployOp::Rollback => {
            let spec = DeploySpec::resume_of(&state, &region.region).map_err(|e| e.to_string())?;
            let calls = deploy::rollback(&spec, &state, region, now);
            let shifts = calls.iter().any(|c| c.is("listener-weights"));
            let back_to = match (&state.green, &state.blue) {
                (Some(_), Some(blue)) if shifts => {
                    format!("all traffic back on blue {}", blue.group)
                }
                // Blue was scaled in: it comes back to its size first; `haven deploy` then
                // shifts the traffic once its targets are healthy.
                (Some(_), Some(blue)) => format!(
                    "blue {} back to its size first (then `haven deploy` moves the traffic)",
                    blue.group
                ),
                _ => "the old version back".to_string(),
            };
            (format!("Roll back {name}: {back_to}"), calls)
        }
        DeployOp::Finish => {
            let spec = DeploySpec::resume_of(&state, &region.region).map_err(|e| e.to_string())?;
            let calls = deploy::finish(&spec, &state, region, now)
                .map_err(|e| format!("cannot finish: {e}"))?;
            let blue = state.blue.as_ref().map_or("blue", |s| s.group.as_str());
            (
                format!("Finish {name}: green keeps all the traffic, blue {blue} is deleted"),
                calls,
            )
        }
    };
    if calls.is_empty() {
        return Err(format!("{name}: nothing to send"));
    }
    Ok(Work::Deploy {
        region: region.region.clone(),
        stack: state.stack.clone(),
        title,
        calls,
    })
}

/// How the map labels a group of a running deploy: `blue · deploy d1 shift-50`.
pub fn group_label(region: &RegionTopology, group: &str) -> Option<(String, Tone)> {
    let g = region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == group)?;
    let stack = g.tags.get(STACK_TAG)?;
    let id = g.tags.get(DEPLOY_TAG)?;
    let state = DeployState::all(region, stack)
        .into_iter()
        .find(|d| d.id == *id && d.is_running())?;
    let role = if state.green.as_ref().is_some_and(|s| s.group == group) {
        "green"
    } else if state.green.is_some() {
        "blue"
    } else {
        "rolling"
    };
    let paused = if state.paused { " paused" } else { "" };
    let tone = if state.paused { Tone::Warn } else { Tone::Busy };
    Some((format!("{role} · deploy {id} {}{paused}", state.step), tone))
}
