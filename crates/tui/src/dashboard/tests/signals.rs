//! Live signals: when they are read (their own interval, never doubled), what a read changes
//! (replica lag in the topology), and the changes seen between discoveries.

use std::sync::atomic::AtomicUsize;

use haven_model::signals::{Metric, Point, SeriesKey, Signals};

use super::*;

/// The signals reads a batch of commands asks for (their job ids).
fn signal_reads(commands: &[Command]) -> Vec<JobId> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::FetchSignals { job, .. } => Some(*job),
            _ => None,
        })
        .collect()
}

fn answer(state: &mut State, job: JobId, signals: Signals) {
    update(
        state,
        Action::SignalsRead {
            job,
            signals: Box::new(signals),
        },
    );
}

#[test]
fn signals_are_read_after_the_first_topology_then_once_per_interval() {
    let healthy = fixture("lab-healthy.json");
    let mut state = options(&healthy).initial_state();
    // Nothing to read signals of before a topology arrives.
    assert!(signal_reads(&update(&mut state, Action::Start)).is_empty());
    let fetched = deliver(&mut state, 0, healthy.clone());
    let [first] = signal_reads(&fetched)[..] else {
        panic!("one read after the first topology: {fetched:?}");
    };
    let t0 = state.now;
    let at = |seconds| t0 + chrono::Duration::seconds(seconds);

    // In flight: neither ticks, nor a refresh landing, nor `r` start another.
    assert!(signal_reads(&update(&mut state, Action::Tick(at(30)))).is_empty());
    assert!(signal_reads(&press(&mut state, "r")).is_empty());
    assert_eq!(state.signals_refresh.job, Some(first));

    // Answered: not again before the interval (60 s by default), `r` included.
    answer(&mut state, first, Signals::default());
    deliver(&mut state, 1, healthy.clone());
    assert!(signal_reads(&press(&mut state, "r")).is_empty());
    // The interval counts from when the read started (t0), not from when it was answered.
    assert!(signal_reads(&update(&mut state, Action::Tick(at(59)))).is_empty());
    let again = signal_reads(&update(&mut state, Action::Tick(at(95))));
    assert_eq!(again.len(), 1, "again once the interval has passed");
    assert!(signal_reads(&update(&mut state, Action::Tick(at(200)))).is_empty());
}

#[test]
fn the_first_signals_read_waits_for_the_first_read_and_the_interval_comes_from_the_options() {
    let healthy = fixture("lab-healthy.json");
    let mut state = DashboardOptions {
        cached: Some(healthy.clone()),
        signals: Duration::from_secs(300),
        ..options(&healthy)
    }
    .initial_state();
    let commands = update(&mut state, Action::Start);
    assert!(matches!(commands[0], Command::Fetch { .. }));
    // A signals read during the first read would hold the cached topology while its pieces
    // arrive (each would copy it whole): it starts when that read ends.
    assert!(signal_reads(&commands).is_empty(), "{commands:?}");
    let commands = deliver(&mut state, 0, healthy.clone());
    let [job] = signal_reads(&commands)[..] else {
        panic!("the signals are read once the first read ends: {commands:?}");
    };
    answer(&mut state, job, Signals::default());
    let t0 = state.now;
    assert!(
        signal_reads(&update(
            &mut state,
            Action::Tick(t0 + chrono::Duration::seconds(120))
        ))
        .is_empty()
    );
    assert_eq!(
        signal_reads(&update(
            &mut state,
            Action::Tick(t0 + chrono::Duration::seconds(300))
        ))
        .len(),
        1
    );
}

/// The first replica of the fixture (Region, identifier).
fn a_replica(topology: &Topology) -> (String, String) {
    topology
        .regions
        .iter()
        .find_map(|r| {
            r.db_instances
                .iter()
                .find(|d| d.read_replica_source.is_some())
                .map(|d| (r.region.clone(), d.identifier.clone()))
        })
        .expect("the fixture has a read replica")
}

fn lag_of(state: &State, region: &str, id: &str) -> Option<u64> {
    let topology = state.topology.as_ref().unwrap();
    let region = topology.regions.iter().find(|r| r.region == region)?;
    let db = region.db_instances.iter().find(|d| d.identifier == id)?;
    db.replica_lag.as_ref().map(|lag| lag.seconds)
}

#[test]
fn the_measured_replica_lag_reaches_the_topology_and_survives_the_next_refresh() {
    let healthy = fixture("lab-healthy.json");
    let (region, replica) = a_replica(&healthy);
    let mut state = options(&healthy).initial_state();
    update(&mut state, Action::Start);
    let fetched = deliver(&mut state, 0, healthy.clone());
    let job = signal_reads(&fetched)[0];
    assert_eq!(lag_of(&state, &region, &replica), None, "not measured yet");
    let mut signals = Signals {
        taken_at: Some(state.now),
        ..Signals::default()
    };
    signals.series.insert(
        SeriesKey::new(&region, &replica, Metric::ReplicaLag),
        vec![Point {
            at: state.now - chrono::Duration::seconds(60),
            value: 41.2,
        }],
    );
    answer(&mut state, job, signals);
    assert_eq!(lag_of(&state, &region, &replica), Some(42));
    // A stale answer (an unknown job) changes nothing.
    answer(&mut state, job + 7, Signals::default());
    assert_eq!(lag_of(&state, &region, &replica), Some(42));

    deliver(&mut state, 1, healthy.clone());
    assert_eq!(
        lag_of(&state, &region, &replica),
        Some(42),
        "a new discovery keeps the last measured lag"
    );
}

#[test]
fn changes_between_discoveries_are_remembered() {
    let healthy = fixture("lab-healthy.json");
    let degraded = fixture("lab-degraded.json");
    let mut state = state_for(&healthy, 160, 48);
    assert!(state.seen_events.is_empty(), "nothing seen on the first");
    press(&mut state, "r");
    deliver(&mut state, 1, degraded.clone());
    assert!(!state.seen_events.is_empty());
    assert!(
        state.seen_events.iter().any(|e| e.bad),
        "the degradation is bad news: {:?}",
        state.seen_events
    );
}

/// Counts the signals reads it is asked for; each answers after `delay`.
struct CountingSource {
    topology: Topology,
    reads: Arc<AtomicUsize>,
    delay: Duration,
}

impl TopologySource for CountingSource {
    fn fetch(&self, _regions: Vec<String>, _include_iam: bool) -> BoxFuture<'static, Topology> {
        let topology = self.topology.clone();
        async move { topology }.boxed()
    }

    fn signals(&self, _asks: Vec<haven_model::signals::RegionAsk>) -> BoxFuture<'static, Signals> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay;
        async move {
            tokio::time::sleep(delay).await;
            Signals::default()
        }
        .boxed()
    }
}

#[tokio::test]
async fn the_run_loop_reads_signals_once_however_often_r_is_pressed() {
    let topology = fixture("lab-healthy.json");
    let reads = Arc::new(AtomicUsize::new(0));
    let source = Arc::new(CountingSource {
        topology: topology.clone(),
        reads: Arc::clone(&reads),
        delay: Duration::from_millis(50),
    });
    let opts = DashboardOptions {
        cached: Some(topology.clone()),
        ..options(&topology)
    };
    // Keys 60 ms apart: the first read ends before them and starts the signals read.
    let events = futures::stream::iter(keys("rrrrr")).then(|event| async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        event
    });
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let state = run(&mut terminal, Box::pin(events), source, opts)
        .await
        .unwrap();
    assert!(!state.quit);
    assert_eq!(reads.load(Ordering::SeqCst), 1, "one read per interval");
}

/// A state showing `topology` with its sample hour of signals read.
fn with_signals(topology: &Topology, width: u16, height: u16) -> State {
    let mut state = state_for(topology, width, height);
    let job = state
        .signals_refresh
        .job
        .expect("a read after the first topology");
    answer(
        &mut state,
        job,
        super::super::sample_signals::sample(topology),
    );
    state
}

#[test]
fn map_with_metrics_healthy_lab_160x48() {
    let state = with_signals(&fixture("lab-healthy.json"), 160, 48);
    let text = screen(&state);
    insta::assert_snapshot!(text);
    assert!(text.contains("req/min "), "{text}");
    assert!(text.contains("CPU "), "{text}");
    assert!(text.contains("lag "), "{text}");
}

#[test]
fn map_with_metrics_degraded_lab_160x48_colours_the_bad_az() {
    let state = with_signals(&fixture("lab-degraded.json"), 160, 48);
    let buffer = buffer_of(&state);
    insta::assert_snapshot!(text_of(&buffer));
    // The error rate of the degraded AZ (the second) is past the critical threshold: red; the
    // other AZ's is green.
    let text = text_of(&buffer);
    let colours: Vec<Color> = text
        .lines()
        .enumerate()
        .flat_map(|(y, line)| {
            let cells: Vec<char> = line.chars().collect();
            (0..cells.len())
                .filter(move |x| cells[*x..].starts_with(&['5', 'x', 'x', ' ']))
                .map(move |x| (x + 4, y))
                .collect::<Vec<_>>()
        })
        .map(|(x, y)| buffer[(x as u16, y as u16)].fg)
        .collect();
    assert_eq!(colours, [Color::Green, Color::Red], "{text}");
}

#[test]
fn map_with_metrics_large_stack_160x48() {
    let state = with_signals(&fixture("large-10k.json"), 160, 48);
    insta::assert_snapshot!(screen(&state));
}

#[test]
fn before_the_first_read_the_map_shows_no_metric_and_never_a_zero() {
    let state = state_for(&fixture("lab-healthy.json"), 160, 48);
    let text = screen(&state);
    assert!(!text.contains("req/min"), "{text}");
    assert!(!text.contains("CPU ▁"), "{text}");
}

#[test]
fn signals_that_could_not_be_read_are_marked_in_the_region_title() {
    let healthy = fixture("lab-healthy.json");
    let mut state = state_for(&healthy, 160, 48);
    let job = state.signals_refresh.job.unwrap();
    let now = state.now;
    answer(
        &mut state,
        job,
        Signals {
            taken_at: Some(now),
            unavailable: vec![haven_model::signals::Unavailable {
                region: None,
                reason: "GetMetricData: AccessDenied".into(),
            }],
            ..Signals::default()
        },
    );
    let text = screen(&state);
    assert!(text.contains("signals n/a"), "{text}");
    assert!(!text.contains("req/min"), "{text}");
}

#[test]
fn an_alarm_in_alarm_marks_its_resource_and_is_counted_in_the_region_title() {
    let mut healthy = fixture("lab-healthy.json");
    let region = &mut healthy.regions[0];
    let group = region.auto_scaling_groups[0].name.clone();
    let mut dimensions = std::collections::BTreeMap::new();
    dimensions.insert("AutoScalingGroupName".to_string(), group);
    region.alarms.push(haven_model::Alarm {
        name: "lab-cpu-high".into(),
        state: "ALARM".into(),
        metrics: vec![haven_model::AlarmMetric {
            namespace: "AWS/EC2".into(),
            name: "CPUUtilization".into(),
            dimensions,
        }],
        ..haven_model::Alarm::default()
    });
    let state = state_for(&healthy, 160, 48);
    let buffer = buffer_of(&state);
    let text = text_of(&buffer);
    assert!(text.contains("⚠ ALARM lab-cpu-high"), "{text}");
    assert!(text.contains("⚠ 1 alarm "), "{text}");
    assert_eq!(cell_at(&buffer, "⚠ ALARM").fg, Color::Red);
}

#[test]
fn lists_show_metric_columns_coloured_and_sortable_by_them() {
    let healthy = fixture("lab-healthy.json");
    let mut state = with_signals(&healthy, 200, 30);
    for kind in ["asg", "lb", "tg", "rds"] {
        press(&mut state, &format!(":{kind}\n"));
        insta::assert_snapshot!(format!("list_{kind}_with_metrics_200x30"), screen(&state));
    }
    // The replica's lag is past the warning threshold: yellow.
    press(&mut state, ":rds\n");
    let buffer = buffer_of(&state);
    assert_eq!(cell_at(&buffer, "63 s").fg, Color::Yellow);
    // The hot group's CPU is yellow in :asg.
    press(&mut state, ":asg\n");
    assert_eq!(cell_at(&buffer_of(&state), "87%").fg, Color::Yellow);
    // :ec2 sorts by CPU like a number: the column is sortable.
    press(&mut state, ":ec2\n");
    let list = state.list.as_ref().unwrap();
    let cpu = list
        .model
        .columns
        .iter()
        .position(|c| c.name == "CPU")
        .expect("a CPU column");
    assert!(matches!(
        list.model.rows[0].cells[cpu],
        rows::Cell::Gauge(..)
    ));
}

#[test]
fn before_the_first_read_metric_cells_say_so_without_a_zero() {
    let mut state = state_for(&fixture("lab-healthy.json"), 200, 30);
    press(&mut state, ":asg\n");
    let text = screen(&state);
    assert!(text.contains("…"), "{text}");
}

/// The describe pane's text of the row of `:kind` whose key ends with `id`.
fn describe(state: &mut State, kind: &str, id: &str) -> Vec<String> {
    press(state, &format!(":{kind}\n/{id}\n\nd"));
    state
        .list
        .as_ref()
        .and_then(|l| l.describe.as_ref())
        .map(|d| d.lines.clone())
        .unwrap_or_else(|| panic!("no describe pane for {kind} {id}"))
}

fn metrics_section(lines: &[String]) -> String {
    let start = lines
        .iter()
        .position(|l| l == "# metrics (last hour)")
        .expect("a metrics section");
    lines[start..].join("\n")
}

#[test]
fn d_on_a_replica_shows_an_hour_of_its_lag_with_thresholds() {
    let mut state = with_signals(&fixture("lab-healthy.json"), 160, 48);
    let lines = describe(&mut state, "rds", "lab-db-replica-1");
    let section = metrics_section(&lines);
    insta::assert_snapshot!(section);
    let lag = section
        .lines()
        .find(|l| l.starts_with("#   lag "))
        .expect("a lag sparkline");
    assert_eq!(
        lag.matches(|c| super::super::sparkline::BARS.contains(&c))
            .count(),
        60
    );
    assert!(section.contains("latest 63 s"), "{section}");
    assert!(
        section.contains("warn ≥ 30 s · critical ≥ 300 s"),
        "{section}"
    );
}

#[test]
fn d_on_the_load_balancer_shows_its_metrics_per_az() {
    let mut state = with_signals(&fixture("lab-degraded.json"), 160, 48);
    let lines = describe(&mut state, "lb", "lab-alb");
    let section = metrics_section(&lines);
    insta::assert_snapshot!(section);
    assert!(section.contains("#   ap-northeast-2a"), "{section}");
    assert!(section.contains("#   ap-northeast-2b"), "{section}");
    assert!(section.contains("# alarms"), "{section}");
}

#[test]
fn the_map_with_metrics_draws_at_tiny_and_huge_sizes() {
    for name in ["lab-degraded.json", "large-10k.json"] {
        for (width, height) in [(20, 6), (40, 12), (100, 30), (300, 80)] {
            let state = with_signals(&fixture(name), width, height);
            let text = screen(&state);
            assert_eq!(
                text.lines().count(),
                usize::from(height),
                "{name} {width}x{height}"
            );
        }
    }
}

/// The asks of a batch's signals read: (Region, scaling activities, RDS events).
fn events_asked(commands: &[Command]) -> Vec<(String, bool, bool)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::FetchSignals { asks, .. } => Some(asks),
            _ => None,
        })
        .flatten()
        .map(|a| (a.region.clone(), a.scaling_events, a.rds_events))
        .collect()
}

#[test]
fn a_steady_stack_reads_its_events_every_few_minutes_and_keeps_them_in_between() {
    let healthy = fixture("lab-healthy.json");
    let mut state = options(&healthy).initial_state();
    update(&mut state, Action::Start);
    let fetched = deliver(&mut state, 0, healthy.clone());
    let home = healthy.regions[0].region.clone();
    assert_eq!(
        events_asked(&fetched)[0],
        (home.clone(), true, true),
        "the first read asks the events"
    );
    let [first] = signal_reads(&fetched)[..] else {
        panic!("one read: {fetched:?}");
    };
    let launched = haven_model::signals::Event {
        at: state.now,
        region: Some(home.clone()),
        source: haven_model::signals::EventSource::Scaling,
        resource: None,
        text: "lab-asg: Launching a new EC2 instance".into(),
        bad: false,
    };
    answer(
        &mut state,
        first,
        Signals {
            events: vec![launched.clone()],
            ..Signals::default()
        },
    );
    let t0 = state.now;
    let commands = update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(61)));
    assert_eq!(
        events_asked(&commands)[0],
        (home.clone(), false, false),
        "nothing moved: metrics only"
    );
    let [second] = signal_reads(&commands)[..] else {
        panic!("a second read: {commands:?}");
    };
    answer(&mut state, second, Signals::default());
    assert_eq!(
        state.signals.events,
        [launched],
        "the activity is still shown"
    );

    // The group scaled out (seen by a live read): its activities are read at the next read.
    let mut scaled = healthy.clone();
    scaled.regions[0].auto_scaling_groups[0].desired_capacity += 1;
    deliver(&mut state, 1, scaled);
    let commands = update(
        &mut state,
        Action::Tick(t0 + chrono::Duration::seconds(125)),
    );
    assert_eq!(events_asked(&commands)[0], (home, true, false));
}
