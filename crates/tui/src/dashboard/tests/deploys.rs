//! The `:deploy` view on the lab in the middle of a blue/green deploy (`lab-deploy.json`: deploy
//! d1 at step shift-50 since 3 minutes, the listener at 50/50, green's target in 2b still
//! registering), its describe, its keys and the map, driven by keys as a user would.

use haven_model::action::{ActionKind, Risk};
use haven_model::deploy::{DeployCall, PAUSED_TAG, STEP_TAG};

use super::*;

fn mid_deploy(width: u16, height: u16) -> State {
    state_for(&fixture("lab-deploy.json"), width, height)
}

fn runs(commands: &[Command]) -> Vec<&Work> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Run { work, .. } => Some(work),
            _ => None,
        })
        .collect()
}

fn deploy_calls(work: &Work) -> &[DeployCall] {
    match work {
        Work::Deploy { calls, .. } => calls,
        other => panic!("not a deploy: {other:?}"),
    }
}

/// The lab on its own (no deploy tags, one group).
fn lab_with_stack() -> Topology {
    let mut topology = fixture("lab-healthy.json");
    for g in &mut topology.regions[0].auto_scaling_groups {
        g.tags.insert("haven:stack".into(), "lab".into());
    }
    topology
}

#[test]
fn deploy_list_shows_the_step_the_traffic_and_healthy_targets_per_az() {
    let mut state = mid_deploy(160, 48);
    press(&mut state, ":deploy\n");
    assert_eq!(state.view, View::List(ListKind::Deploy));
    let text = screen(&state);
    insta::assert_snapshot!("deploy_list_160x48", text);
    let row = text
        .lines()
        .find(|l| l.contains(" d1 "))
        .unwrap_or_else(|| panic!("no row of deploy d1:\n{text}"));
    for expected in [
        "lab",
        "blue-green",
        "shift-50",
        "3m",
        "50 %",
        "2a 1/1 · 2b 1/1",
        "2a 1/1 · 2b 0/1",
        "v1 → v2",
    ] {
        assert!(row.contains(expected), "`{expected}` missing from {row}");
    }
    // Green's AZ without a healthy target reads red.
    let buffer = buffer_of(&state);
    assert_eq!(cell_at(&buffer, "2a 1/1 · 2b 0/1").fg, Color::Red);

    let mut narrow = mid_deploy(100, 30);
    press(&mut narrow, ":deploys\n");
    let text = screen(&narrow);
    insta::assert_snapshot!("deploy_list_100x30", text);
    assert!(
        text.contains("shift-50") && text.contains("2a 1/1 · 2b 0/1"),
        "{text}"
    );
}

#[test]
fn the_deploy_command_is_in_the_help_and_an_empty_list_says_how_to_start_one() {
    let mut state = state_for(&lab_with_stack(), 160, 48);
    press(&mut state, "?");
    let help = screen(&state);
    assert!(
        help.contains(":deploy") && help.contains("Deploys"),
        "{help}"
    );
    assert!(help.contains("pause / resume the deploy"), "{help}");
    press(&mut state, "\x1b:deploy\n");
    let text = screen(&state);
    assert!(
        text.contains("no deploy") && text.contains("haven deploy BLUEPRINT --image AMI"),
        "{text}"
    );
    // Keys on no row say what they need.
    let commands = press(&mut state, "p");
    assert!(runs(&commands).is_empty() && state.dialog.is_none());
    assert!(screen(&state).contains("select a deploy in :deploy"));
}

#[test]
fn describe_shows_both_sides_the_weights_the_gates_and_the_commands() {
    let mut state = mid_deploy(160, 48);
    press(&mut state, ":deploy\nd");
    let describe = &state
        .list
        .as_ref()
        .unwrap()
        .describe
        .as_ref()
        .unwrap()
        .lines;
    let all = describe.join("\n");
    for expected in [
        "deploy d1 of stack lab in ap-northeast-2: blue-green, step shift-50 for 3m",
        "version v1 → v2",
        "BLUE  lab-asg",
        "GREEN lab-asg-d1",
        "lab-alb HTTP:80 → lab-web-tg 50 · lab-d1 50",
        "green has 50 % of the traffic",
        "✓ healthy-per-az: ok",
        "… healthy-per-az:",
        "? no-failed-launches: unknown",
        "haven deploy BLUEPRINT --status",
        "haven deploy BLUEPRINT --pause",
        "haven deploy BLUEPRINT --rollback",
        "haven deploy BLUEPRINT --finish",
    ] {
        assert!(all.contains(expected), "`{expected}` missing:\n{all}");
    }
    insta::assert_snapshot!("deploy_describe_160x48", screen(&state));
    let mut narrow = mid_deploy(100, 30);
    press(&mut narrow, ":deploy\nd");
    insta::assert_snapshot!("deploy_describe_100x30", screen(&narrow));
}

#[test]
fn p_pauses_the_deploy_with_the_paused_tag_on_both_groups() {
    let mut state = mid_deploy(160, 48);
    press(&mut state, ":deploy\np");
    let dialog = state
        .dialog
        .as_ref()
        .expect("p opens the confirmation dialog");
    let work = dialog.work.clone().expect("pausing is possible");
    assert_eq!(work.risk(), Risk::Safe);
    assert_eq!(work.confirmation_text(), None, "tags only: no typing");
    let text = screen(&state);
    assert!(
        text.contains("Pause deploy d1 of stack lab")
            && text.contains("autoscaling CreateOrUpdateTags")
            && text.contains("haven:deploy-paused"),
        "{text}"
    );
    let commands = press(&mut state, "\n");
    let works = runs(&commands);
    assert_eq!(works.len(), 1, "{commands:?}");
    let calls = deploy_calls(works[0]);
    let tagged: Vec<(&str, Option<&String>)> = calls
        .iter()
        .map(|c| match c {
            DeployCall::Tag { group, tags, .. } => (group.as_str(), tags.get(PAUSED_TAG)),
            other => panic!("pausing sends tags only, not {other:?}"),
        })
        .collect();
    let yes = "true".to_string();
    assert_eq!(
        tagged,
        vec![("lab-asg", Some(&yes)), ("lab-asg-d1", Some(&yes))]
    );
    // The job is in :jobs like any action.
    assert!(matches!(&state.jobs[..], [job] if job.work.name() == "deploy"));
    press(&mut state, "J");
    let jobs = screen(&state);
    assert!(jobs.contains("Pause deploy d1 of stack lab"), "{jobs}");
}

#[test]
fn p_on_a_paused_deploy_resumes_it() {
    let mut topology = fixture("lab-deploy.json");
    for g in &mut topology.regions[0].auto_scaling_groups {
        g.tags.insert(PAUSED_TAG.into(), "true".into());
    }
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":deploy\n");
    assert!(screen(&state).contains("shift-50 paused"));
    let commands = press(&mut state, "p\n");
    let calls = deploy_calls(runs(&commands)[0]);
    assert!(calls.iter().all(|c| matches!(
        c,
        DeployCall::Tag { tags, .. } if tags.get(PAUSED_TAG).map(String::as_str) == Some("false")
    )));
}

#[test]
fn finish_is_refused_at_a_shift_step_and_sends_nothing() {
    let mut state = mid_deploy(160, 48);
    let commands = press(&mut state, ":deploy\nf");
    assert!(state.dialog.is_none());
    assert!(runs(&commands).is_empty());
    let text = screen(&state);
    assert!(
        text.contains("cannot finish") && text.contains("step shift-50"),
        "{text}"
    );
    // The action menu does not offer it either.
    press(&mut state, "a");
    let titles: Vec<&str> = state
        .menu
        .as_ref()
        .expect("a opens the deploy's menu")
        .entries
        .iter()
        .map(|e| e.title.as_str())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles[0].starts_with("Pause deploy d1") && titles[1].starts_with("Roll back"));
}

#[test]
fn finish_at_watch_deletes_blue_after_the_stack_name_is_typed() {
    let mut topology = fixture("lab-deploy.json");
    let region = &mut topology.regions[0];
    for g in &mut region.auto_scaling_groups {
        g.tags.insert(STEP_TAG.into(), "watch".into());
    }
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":deploy\nf");
    let work = state.dialog.as_ref().unwrap().work.clone().unwrap();
    assert_eq!(work.confirmation_text().as_deref(), Some("lab"));
    // Enter asks for the name; a wrong one sends nothing.
    assert!(runs(&press(&mut state, "\nlub\n")).is_empty());
    assert!(screen(&state).contains("type lab exactly"));
    press(&mut state, "\x08\x08\x08");
    let commands = press(&mut state, "lab\n");
    let calls = deploy_calls(runs(&commands)[0]);
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, DeployCall::DeleteGroup { group } if group == "lab-asg"))
    );
}

#[test]
fn roll_back_puts_all_traffic_on_blue_after_the_stack_name_is_typed() {
    let mut state = mid_deploy(160, 48);
    press(&mut state, ":deploy\nb");
    let text = screen(&state);
    assert!(
        text.contains("Roll back deploy d1 of stack lab: all traffic back on blue lab-asg")
            && text.contains("ModifyListener"),
        "{text}"
    );
    let commands = press(&mut state, "\nlab\n");
    let calls = deploy_calls(runs(&commands)[0]);
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, DeployCall::DeleteGroup { group } if group == "lab-asg-d1")),
        "green is removed: {calls:?}"
    );
    let weights = calls
        .iter()
        .find_map(|c| match c {
            DeployCall::Act(a) => match &a.kind {
                ActionKind::SetListenerWeights { target_groups } => Some(target_groups),
                _ => None,
            },
            _ => None,
        })
        .expect("the rollback sets the weights");
    let to: Vec<(Option<&str>, i32)> = weights
        .iter()
        .map(|w| (w.name.as_deref(), w.weight))
        .collect();
    assert_eq!(to, vec![(Some("lab-web-tg"), 100)]);

    // On a small terminal the typed confirmation stays on screen below the calls.
    let mut narrow = mid_deploy(100, 30);
    press(&mut narrow, ":deploy\nb\n");
    let text = screen(&narrow);
    insta::assert_snapshot!("deploy_rollback_dialog_100x30", text);
    assert!(
        text.contains("Type lab to confirm")
            && text.contains("these 9 calls will be sent")
            && text.contains("DeleteAutoScalingGroup AutoScalingGroupName=lab-asg-d1"),
        "{text}"
    );
}

#[test]
fn read_only_refuses_every_deploy_key_before_anything_is_sent() {
    let topology = fixture("lab-deploy.json");
    let read_only = DashboardOptions {
        read_only: true,
        ..options(&topology)
    };
    let mut state = state_with(read_only, &topology, 160, 48);
    press(&mut state, ":deploy\n");
    for key in ["p", "b", "f", "a"] {
        let commands = press(&mut state, key);
        assert!(state.dialog.is_none() && state.menu.is_none(), "{key}");
        assert!(runs(&commands).is_empty(), "{key}");
        assert!(screen(&state).contains("read-only"), "{key}");
        assert!(runs(&press(&mut state, "\nlab\n")).is_empty(), "{key}");
    }
}

#[test]
fn the_map_labels_blue_and_green_and_shows_the_listener_weights() {
    let state = mid_deploy(160, 48);
    let text = screen(&state);
    insta::assert_snapshot!("deploy_map_160x48", text);
    assert!(
        text.contains("lab-web-tg 50 · lab-d1 50"),
        "no weights on the listener:\n{text}"
    );
    assert!(text.contains("[blue · deploy d1 shift-50]"), "{text}");
    assert!(text.contains("[green · deploy d1 shift-50]"), "{text}");
    let narrow = mid_deploy(100, 30);
    let text = screen(&narrow);
    insta::assert_snapshot!("deploy_map_100x30", text);
    assert!(text.contains("lab-web-tg 50 · lab-d1 50"), "{text}");
}

#[test]
fn running_deploys_come_first_and_a_finished_one_stays_listed_but_takes_no_key() {
    let mut topology = fixture("lab-deploy.json");
    let region = &mut topology.regions[0];
    // Another stack's deploy that finished an hour ago: its tags stay on its group.
    let mut old = region.auto_scaling_groups[0].clone();
    old.name = "shop-asg".into();
    old.target_group_arns.clear();
    old.tags = [
        ("haven:stack", "shop"),
        ("haven:deploy", "d0"),
        ("haven:deploy-role", "green"),
        ("haven:deploy-step", "finished"),
        ("haven:deploy-since", "2026-03-02T08:00:00Z"),
        ("haven:deploy-strategy", "blue-green"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    region.auto_scaling_groups.insert(0, old);
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":deploy\n");
    let text = screen(&state);
    let d1 = text.find(" d1 ").expect("d1 listed");
    let d0 = text.find(" d0 ").expect("the finished deploy stays listed");
    assert!(d1 < d0, "running first:\n{text}");
    assert!(text.contains("finished"), "{text}");
    // The finished one takes no key.
    let commands = press(&mut state, "jp");
    assert!(runs(&commands).is_empty() && state.dialog.is_none());
    assert!(
        screen(&state).contains("deploy d0 of stack shop is over (finished)"),
        "{}",
        screen(&state)
    );
    // From the describe pane of the running one, p opens the dialog too.
    press(&mut state, "kd");
    assert!(screen(&state).contains("KEYS  p pause/resume · b roll back · f finish"));
    press(&mut state, "p");
    assert!(state.dialog.is_some(), "{}", screen(&state));
}

#[test]
fn rolling_back_with_blue_scaled_in_says_blue_comes_back_first() {
    let mut topology = fixture("lab-deploy.json");
    let region = &mut topology.regions[0];
    for g in &mut region.auto_scaling_groups {
        g.tags.insert(STEP_TAG.into(), "watch".into());
    }
    let blue = &mut region.auto_scaling_groups[0];
    blue.min_size = 0;
    blue.desired_capacity = 0;
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":deploy\nb");
    let text = screen(&state);
    assert!(
        text.contains("blue lab-asg back to its size first") && !text.contains("ModifyListener"),
        "{text}"
    );
    let commands = press(&mut state, "\nlab\n");
    let calls = deploy_calls(runs(&commands)[0]);
    assert!(calls.iter().any(|c| c.is("asg-set-capacity")), "{calls:?}");
}
