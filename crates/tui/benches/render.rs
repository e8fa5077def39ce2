//! One frame of the dashboard at 10,000 resources (`assets/fixtures/large-10k.json`), drawn into
//! a ratatui `TestBackend`: the map (home view), the map with an hour of metrics
//! (`map-signals`, from `sample_signals`) and the EC2 list (target < 2 ms a frame); and
//! the dashboard's own part of its start, from the cache file's text to the first frame.
//! Run with `cargo bench -p haven-tui` (or `cargo xtask bench`, which reports it).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use haven_model::Topology;
use haven_tui::dashboard::{
    Action, Command, DashboardOptions, ListKind, State, View, deliver, draw, sample_signals, update,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A common terminal size (columns, rows).
const SIZE: (u16, u16) = (200, 60);

fn fixture_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn fixture(name: &str) -> Topology {
    Topology::from_json(&fixture_text(name))
        .unwrap_or_else(|error| panic!("{name} is not a topology: {error}"))
}

/// The dashboard as it opens with `topology` cached, at `SIZE`, clock frozen just after the
/// topology was taken.
fn opened(topology: Topology) -> State {
    let frozen = topology.taken_at + chrono::Duration::seconds(12);
    let mut state = DashboardOptions {
        regions: topology.regions.iter().map(|r| r.region.clone()).collect(),
        cached: Some(topology),
        clock: Arc::new(move || frozen),
        ..DashboardOptions::default()
    }
    .initial_state();
    update(&mut state, Action::Resize(SIZE.0, SIZE.1));
    state
}

/// Types `text` as key presses (e.g. `:ec2` then Enter).
fn type_keys(state: &mut State, text: &str) {
    for c in text.chars() {
        update(
            state,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    update(
        state,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
}

fn render(c: &mut Criterion) {
    let topology = fixture("large-10k.json");
    let mut terminal =
        Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("a TestBackend terminal");

    // Reported by `cargo xtask bench` from target/criterion/render/{map,list-ec2}.
    let mut group = c.benchmark_group("render");
    let map = opened(topology.clone());
    group.bench_function("map", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| draw(frame, black_box(&map)))
                .expect("draw");
        })
    });

    // The same map with an hour of metrics beside each AZ, group, database and instance.
    let mut live = opened(topology.clone());
    update(&mut live, Action::Start);
    // The first read ends (with the same topology); then the signals are asked for.
    let job = deliver(&mut live, 0, topology.clone())
        .iter()
        .find_map(|command| match command {
            Command::FetchSignals { job, .. } => Some(*job),
            _ => None,
        })
        .expect("the signals are asked for once the first read ends");
    update(
        &mut live,
        Action::SignalsRead {
            job,
            signals: Box::new(sample_signals::sample(&topology)),
        },
    );
    group.bench_function("map-signals", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| draw(frame, black_box(&live)))
                .expect("draw");
        })
    });

    let mut list = opened(topology);
    type_keys(&mut list, ":ec2");
    assert_eq!(
        list.view,
        View::List(ListKind::Ec2),
        "`:ec2` opens the EC2 list"
    );
    group.bench_function("list-ec2", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| draw(frame, black_box(&list)))
                .expect("draw");
        })
    });
    group.finish();
}

/// What the dashboard does between reading its cache file and showing the map: parse the
/// cached topology, build the state (map model, findings) and draw the first frame. The rest of
/// the time to the first frame is process start and the credential check (see `cargo xtask
/// bench`). Target: well under the 100 ms of the whole.
fn start(c: &mut Criterion) {
    let text = fixture_text("large-10k.json");
    let mut terminal =
        Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("a TestBackend terminal");
    // Reported by `cargo xtask bench` from target/criterion/start/cached-10k.
    let mut group = c.benchmark_group("start");
    group.sample_size(20);
    group.bench_function("cached-10k", |b| {
        // The state is dropped outside the timing, as the dashboard drops it only at exit.
        b.iter_with_large_drop(|| {
            let topology = Topology::from_json(black_box(&text)).expect("the fixture reads");
            let state = opened(topology);
            terminal.draw(|frame| draw(frame, &state)).expect("draw");
            state
        })
    });
    group.finish();
}

criterion_group!(benches, render, start);
criterion_main!(benches);
