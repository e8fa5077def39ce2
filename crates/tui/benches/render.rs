//! One frame of the dashboard at 10,000 resources (`assets/fixtures/large-10k.json`), drawn into
//! a ratatui `TestBackend`: the map (home view) and the EC2 list. The target is < 2 ms a frame.
//! Run with `cargo bench -p haven-tui` (or `cargo xtask bench`, which reports it).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use haven_model::Topology;
use haven_tui::dashboard::{Action, DashboardOptions, ListKind, State, View, draw, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A common terminal size (columns, rows).
const SIZE: (u16, u16) = (200, 60);

fn fixture(name: &str) -> Topology {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    Topology::from_json(&text)
        .unwrap_or_else(|error| panic!("{} is not a topology: {error}", path.display()))
}

/// The dashboard as it opens with `topology` cached, at `SIZE`, clock frozen just after the
/// topology was taken.
fn opened(topology: &Topology) -> State {
    let frozen = topology.taken_at + chrono::Duration::seconds(12);
    let mut state = DashboardOptions {
        regions: topology.regions.iter().map(|r| r.region.clone()).collect(),
        cached: Some(topology.clone()),
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
    let map = opened(&topology);
    group.bench_function("map", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| draw(frame, black_box(&map)))
                .expect("draw");
        })
    });

    let mut list = opened(&topology);
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

criterion_group!(benches, render);
criterion_main!(benches);
