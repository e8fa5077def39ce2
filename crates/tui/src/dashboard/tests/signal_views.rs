//! `:alarms`, `:events` and the header's word on signals, driven by keys as a user would: the
//! lab with alarms of every state (one on a metric haven has no resource for) and us-east-1's
//! alarms unreadable; a timeline of a scale-out run with `haven act`, an RDS reboot and a target
//! going unhealthy.

use haven_model::signals::Event;
use haven_model::{Alarm, AlarmMetric};

use super::*;

const HOME: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

fn alarm(name: &str, state: &str, metric: (&str, &str), dimension: (&str, &str)) -> Alarm {
    Alarm {
        name: name.into(),
        arn: Some(format!(
            "arn:aws:cloudwatch:{HOME}:123456789012:alarm:{name}"
        )),
        state: state.into(),
        metrics: vec![AlarmMetric {
            namespace: metric.0.into(),
            name: metric.1.into(),
            dimensions: [(dimension.0.to_string(), dimension.1.to_string())].into(),
        }],
        comparison: Some("GreaterThanThreshold".into()),
        threshold: Some(0.0),
        actions_enabled: true,
        ..Alarm::default()
    }
}

/// The healthy lab with four alarms in ap-northeast-2 (one firing) and DescribeAlarms denied in
/// us-east-1.
fn lab_with_alarms() -> Topology {
    let mut t = fixture("lab-healthy.json");
    let taken = t.taken_at;
    let home = t.regions.iter_mut().find(|r| r.region == HOME).unwrap();
    let mut unhealthy = alarm(
        "lab-unhealthy-hosts",
        "ALARM",
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("TargetGroup", "targetgroup/lab-web-tg/7a90e8168e7730ff"),
    );
    unhealthy.reason = Some(
        "Threshold Crossed: 1 datapoint [1.0 (02/03/26 08:55:00)] was greater than the threshold \
         (0.0)."
            .into(),
    );
    unhealthy.updated_at = Some(taken - chrono::Duration::minutes(5));
    unhealthy.alarm_actions = vec!["arn:aws:sns:ap-northeast-2:123456789012:lab-oncall".into()];
    let mut cpu = alarm(
        "lab-cpu-high",
        "OK",
        ("AWS/EC2", "CPUUtilization"),
        ("AutoScalingGroupName", "lab-asg"),
    );
    cpu.threshold = Some(70.0);
    cpu.updated_at = Some(taken - chrono::Duration::hours(3));
    let mut lag = alarm(
        "lab-replica-lag",
        "INSUFFICIENT_DATA",
        ("AWS/RDS", "ReplicaLag"),
        ("DBInstanceIdentifier", "lab-db-replica-1"),
    );
    lag.comparison = Some("GreaterThanOrEqualToThreshold".into());
    lag.threshold = Some(30.0);
    let billing = alarm(
        "billing-over-100",
        "OK",
        ("AWS/Billing", "EstimatedCharges"),
        ("Currency", "USD"),
    );
    home.alarms = vec![cpu, billing, lag, unhealthy];
    // us-east-1's alarms could not be read: it has none to show.
    for region in t.regions.iter_mut().filter(|r| r.region == DR) {
        region.alarms.clear();
    }
    t.errors.push(DiscoveryError {
        region: Some(DR.into()),
        service: Service::CloudWatch,
        operation: "DescribeAlarms".into(),
        code: Some("AccessDenied".into()),
        message: "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: \
                  cloudwatch:DescribeAlarms"
            .into(),
        part: None,
    });
    t
}

fn shown_column(state: &State, column: usize) -> Vec<String> {
    let list = state.list.as_ref().expect("a list is open");
    list.rows
        .iter()
        .map(|i| match &list.model.rows[*i].cells[column] {
            rows::Cell::Text(text, _) => text.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn alarms_list_worst_first_and_says_where_they_could_not_be_read() {
    let mut state = state_for(&lab_with_alarms(), 160, 48);
    // The header counts the alarm firing, on every view.
    assert!(
        screen(&state)
            .lines()
            .next()
            .unwrap()
            .contains("⚠ 1 alarm (:alarms)"),
        "{}",
        screen(&state)
    );
    press(&mut state, ":alarms\n");
    assert_eq!(state.view, View::List(ListKind::Alarms));
    let text = screen(&state);
    insta::assert_snapshot!("alarms_mixed_160x48", text);
    // us-east-1 says why it has no rows, never "no alarms"; then ALARM, INSUFFICIENT_DATA, OK.
    assert_eq!(
        shown_column(&state, 2),
        [
            "alarms unavailable",
            "lab-unhealthy-hosts",
            "lab-replica-lag",
            "billing-over-100",
            "lab-cpu-high"
        ]
    );
    assert!(
        text.contains("us-east-1       UNAVAILABLE       alarms unavailable"),
        "{text}"
    );
    assert!(
        text.contains("AccessDenied               -       User: arn:aws:iam"),
        "{text}"
    );
    // What each watches: the resource by name, else the metric.
    assert_eq!(
        shown_column(&state, 3),
        [
            "-",
            "lab-web-tg",
            "lab-db-replica-1",
            "AWS/Billing/EstimatedCharges",
            "lab-asg"
        ]
    );
    assert!(text.contains("UnHealthyHostCount > 0"), "{text}");
    assert!(text.contains("ReplicaLag >= 30"), "{text}");

    // The firing alarm is red, OK green, INSUFFICIENT_DATA yellow.
    let buffer = buffer_of(&state);
    let fg = |needle: &str| {
        let (x, y) = find(&buffer, needle).unwrap_or_else(|| panic!("{needle} on screen"));
        buffer[(x, y)].fg
    };
    assert_eq!(fg("ALARM "), Color::Red);
    assert_eq!(fg("INSUFFICIENT_DATA"), Color::Yellow);
    assert_eq!(fg("OK "), Color::Green);

    // d shows the alarm whole, its actions too; Esc comes back.
    press(&mut state, "j");
    press(&mut state, "d");
    let described = screen(&state);
    assert!(described.contains("lab-oncall"), "{described}");
    assert!(described.contains("target_group lab-web-tg"), "{described}");
    press(&mut state, "\x1b");

    // Enter opens the target group it watches.
    press(&mut state, "\n");
    assert_eq!(state.view, View::List(ListKind::Tg));
    assert_eq!(state.list.as_ref().unwrap().filter, "lab-web-tg");
    assert_eq!(state.list.as_ref().unwrap().rows.len(), 1);
    // Esc clears the filter, a second Esc goes back to the alarms.
    press(&mut state, "\x1b\x1b");
    assert_eq!(state.view, View::List(ListKind::Alarms));
}

#[test]
fn alarm_aliases_open_the_list() {
    for alias in ["alarm", "cw"] {
        let mut state = state_for(&lab_with_alarms(), 120, 30);
        press(&mut state, &format!(":{alias}\n"));
        assert_eq!(state.view, View::List(ListKind::Alarms), ":{alias}");
    }
    for alias in ["ev", "timeline", "events"] {
        let mut state = state_for(&lab_with_alarms(), 120, 30);
        press(&mut state, &format!(":{alias}\n"));
        assert_eq!(state.view, View::List(ListKind::Events), ":{alias}");
    }
}

/// The action log of `haven act asg-set-capacity lab-asg --desired 4`, `minutes` before the
/// fixture was taken, as `ActionLog` writes it.
fn scale_out_log(taken: DateTime<Utc>, minutes: i64) -> String {
    let at = |m: i64| {
        (taken - chrono::Duration::minutes(m)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let base = format!(
        r#""caller_arn":"arn:aws:iam::123456789012:user/ops","account":"123456789012","endpoint":null,"region":"{HOME}","action":"asg-set-capacity","target":{{"kind":"auto_scaling_group","id":"lab-asg","name":null}},"parameters":{{"set_capacity":{{"desired":4}}}},"sentence":"set the desired capacity of lab-asg to 4","risk":"low""#
    );
    format!(
        "{{{base},\"time\":\"{}\",\"event\":\"sent\",\"operation\":\"SetDesiredCapacity\",\"request_id\":\"req-1\",\"request_ids\":[\"req-1\"]}}\n\
         {{{base},\"time\":\"{}\",\"event\":\"ended\",\"result\":{{\"status\":\"ok\",\"message\":\"4 in service\",\"resulting_ids\":[]}},\"request_ids\":[\"req-1\"]}}\n",
        at(minutes),
        at(minutes - 2)
    )
}

/// haven's actions as the run loop reads them: the file, through `action_log::read`.
fn read_log(text: &str) -> Vec<Event> {
    let dir = std::env::temp_dir().join(format!(
        "haven-events-{}-{}",
        std::process::id(),
        text.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("actions.jsonl");
    std::fs::write(&path, text).unwrap();
    let events = action_log::read(&path, None);
    std::fs::remove_dir_all(&dir).ok();
    events
}

#[test]
fn every_refresh_reads_the_action_log_off_the_draw_path() {
    let topology = fixture("lab-healthy.json");
    let mut state = options(&topology).initial_state();
    update(&mut state, Action::Start);
    let commands = deliver(&mut state, 0, topology.clone());
    assert!(
        commands.contains(&Command::ReadActionLog {
            path: "/home/me/.local/share/haven/actions.jsonl".into(),
            // Only this account's actions: every account writes to the one log.
            account: topology.account_id.clone(),
        }),
        "{commands:?}"
    );
    // No action log, no read.
    let mut quiet = DashboardOptions {
        action_log: None,
        ..options(&topology)
    }
    .initial_state();
    update(&mut quiet, Action::Start);
    let commands = deliver(&mut quiet, 0, topology);
    assert!(
        !commands
            .iter()
            .any(|c| matches!(c, Command::ReadActionLog { .. })),
        "{commands:?}"
    );
}

#[test]
fn events_show_havens_actions_and_enter_opens_the_resource() {
    let topology = fixture("lab-healthy.json");
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":events\n");
    assert!(
        screen(&state).contains("reading events…"),
        "{}",
        screen(&state)
    );

    let events = read_log(&scale_out_log(topology.taken_at, 20));
    update(&mut state, Action::ActionLogRead(events));
    let text = screen(&state);
    assert!(
        text.contains("asg-set-capacity lab-asg: ok — set the desired capacity of lab-asg to 4"),
        "{text}"
    );
    assert!(text.contains("08:42:00"), "{text}");

    // d shows the event whole.
    press(&mut state, "d");
    let described = screen(&state);
    assert!(described.contains("source: haven"), "{described}");
    assert!(described.contains("auto_scaling_group"), "{described}");
    press(&mut state, "\x1b");

    // Enter opens the group it happened to.
    press(&mut state, "\n");
    assert_eq!(state.view, View::List(ListKind::Asg));
    assert_eq!(state.list.as_ref().unwrap().filter, "lab-asg");
    assert!(screen(&state).contains("lab-asg"));
}

/// Lands a signals read on the state (the one the first refresh asked for).
fn land_signals(state: &mut State, signals: haven_model::signals::Signals) -> Vec<Command> {
    let job = state
        .signals_refresh
        .job
        .expect("a signals read was asked after the first refresh");
    update(
        state,
        Action::SignalsRead {
            job,
            signals: Box::new(signals),
        },
    )
}

#[test]
fn events_put_a_scale_out_an_rds_reboot_and_a_target_going_unhealthy_in_order() {
    let topology = fixture("lab-healthy.json");
    let taken = topology.taken_at;
    let mut state = state_for(&topology, 160, 48);

    // `haven act asg-set-capacity` 20 minutes ago, from the action log.
    update(
        &mut state,
        Action::ActionLogRead(read_log(&scale_out_log(taken, 20))),
    );
    // An RDS reboot 10 minutes ago, read with the signals.
    let reboot = Event {
        at: taken - chrono::Duration::minutes(10),
        region: Some(HOME.into()),
        source: haven_model::signals::EventSource::Rds,
        resource: Some(haven_model::findings::ResourceRef::new(
            haven_model::findings::ResourceKind::DbInstance,
            "lab-db",
        )),
        text: "lab-db: DB instance restarted".into(),
        bad: false,
    };
    let commands = land_signals(
        &mut state,
        haven_model::signals::Signals {
            taken_at: Some(taken),
            events: vec![reboot],
            ..Default::default()
        },
    );
    // The action log is read again after a signals read.
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::ReadActionLog { .. })),
        "{commands:?}"
    );
    // A target goes unhealthy between two refreshes.
    let mut next = topology.clone();
    next.taken_at = taken + chrono::Duration::seconds(5);
    let home = next.regions.iter_mut().find(|r| r.region == HOME).unwrap();
    let target = &mut home.target_groups[0].targets[0];
    target.health = haven_model::TargetHealthState::Unhealthy;
    target.reason = Some("Target.FailedHealthChecks".into());
    let unhealthy_id = target.id.clone();
    let job = match press(&mut state, "r").as_slice() {
        [Command::Fetch { job, .. }] => *job,
        other => panic!("r refreshes: {other:?}"),
    };
    deliver(&mut state, job, next);

    press(&mut state, ":events\n");
    let text = screen(&state);
    insta::assert_snapshot!("events_timeline_160x48", text);
    // Newest first: the target seen unhealthy, the reboot, the scale-out.
    let what = shown_column(&state, 5);
    assert_eq!(what.len(), 3, "{text}");
    assert!(
        what[0].starts_with(&format!(
            "{unhealthy_id} in lab-web-tg: healthy → unhealthy"
        )),
        "{what:?}"
    );
    assert_eq!(what[1], "lab-db: DB instance restarted");
    assert!(
        what[2].starts_with("asg-set-capacity lab-asg: ok"),
        "{what:?}"
    );
    assert_eq!(shown_column(&state, 3), ["seen", "rds", "haven"]);
    // Bad news is red.
    let buffer = buffer_of(&state);
    let (x, y) = find(&buffer, &format!("{unhealthy_id} in lab-web-tg")).unwrap();
    assert_eq!(buffer[(x, y)].fg, Color::Red);

    // Enter on the reboot opens the DB in :rds.
    press(&mut state, "j\n");
    assert_eq!(state.view, View::List(ListKind::Rds));
    assert_eq!(state.list.as_ref().unwrap().filter, "lab-db");
    // Back, and Enter on the target going unhealthy opens its target group.
    press(&mut state, "\x1b\x1bk\n");
    assert_eq!(state.view, View::List(ListKind::Tg));
    assert_eq!(state.list.as_ref().unwrap().filter, "lab-web-tg");
}

#[test]
fn events_read_and_empty_say_nothing_happened() {
    let mut state = state_for(&fixture("lab-healthy.json"), 120, 30);
    press(&mut state, ":events\n");
    assert!(screen(&state).contains("reading events…"));
    land_signals(&mut state, haven_model::signals::Signals::default());
    assert!(
        screen(&state).contains("no events in the last hour"),
        "{}",
        screen(&state)
    );
}

#[test]
fn without_signals_the_header_says_why_and_every_view_still_works() {
    let topology = fixture("lab-healthy.json");
    let mut state = state_for(&topology, 160, 48);
    let denied = "cloudwatch GetMetricData: AccessDenied: User: arn:aws:iam::123456789012:user/ops \
                  is not authorized to perform: cloudwatch:GetMetricData";
    let unavailable = |region: Option<&str>| haven_model::signals::Unavailable {
        region: region.map(str::to_string),
        reason: denied.into(),
    };
    land_signals(
        &mut state,
        haven_model::signals::Signals {
            taken_at: Some(topology.taken_at),
            unavailable: vec![
                unavailable(Some(HOME)),
                unavailable(Some(DR)),
                unavailable(None),
            ],
            ..Default::default()
        },
    );
    let text = screen(&state);
    let header: String = text.lines().take(2).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!("header_signals_unavailable_160x48", header);
    assert!(
        header.contains("signals unavailable: AccessDenied on GetMetricData"),
        "{header}"
    );
    let buffer = buffer_of(&state);
    let (x, y) = find(&buffer, "signals unavailable").unwrap();
    assert_eq!(buffer[(x, y)].fg, Color::Yellow);
    // The map, the lists and the findings still work.
    assert!(text.contains("lab-alb"), "{text}");
    press(&mut state, ":ec2\n");
    assert_eq!(state.list.as_ref().unwrap().rows.len(), 2);
    press(&mut state, ":findings\n");
    assert!(!state.list.as_ref().unwrap().rows.is_empty());

    // Only one Region unreadable: it is named.
    let mut partly = state_for(&topology, 160, 48);
    land_signals(
        &mut partly,
        haven_model::signals::Signals {
            taken_at: Some(topology.taken_at),
            unavailable: vec![unavailable(Some(DR))],
            ..Default::default()
        },
    );
    let header = screen(&partly);
    assert!(
        header
            .lines()
            .next()
            .unwrap()
            .contains("signals: n/a in us-east-1 (AccessDenied on GetMetricData)"),
        "{header}"
    );
}
