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
    t.errors.push(DiscoveryError {
        region: Some(DR.into()),
        service: Service::CloudWatch,
        operation: "DescribeAlarms".into(),
        code: Some("AccessDenied".into()),
        message: "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: \
                  cloudwatch:DescribeAlarms"
            .into(),
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
    let events = action_log::read(&path);
    std::fs::remove_dir_all(&dir).ok();
    events
}

#[test]
fn every_refresh_reads_the_action_log_off_the_draw_path() {
    let topology = fixture("lab-healthy.json");
    let mut state = options(&topology).initial_state();
    update(&mut state, Action::Start);
    let commands = update(
        &mut state,
        Action::Fetched {
            job: 0,
            topology: Box::new(topology.clone()),
        },
    );
    assert!(
        commands.contains(&Command::ReadActionLog {
            path: "/home/me/.local/share/haven/actions.jsonl".into()
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
    let commands = update(
        &mut quiet,
        Action::Fetched {
            job: 0,
            topology: Box::new(topology),
        },
    );
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
