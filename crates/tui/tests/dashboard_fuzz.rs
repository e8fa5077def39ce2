//! Hostile input for the dashboard, as property tests: random key sequences, whole commands
//! (which open every view, the action menu and its dialog), typed noise, job progress and results
//! that make no sense, and terminal sizes down to 1×1, over every fixture. Every step is drawn;
//! nothing may panic. proptest shrinks a failure to the shortest sequence and prints it; the
//! seed is fixed so a run in CI is repeatable.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use haven_model::Topology;
use haven_model::action::Progress;
use haven_tui::dashboard::{Action, DashboardOptions, JobError, State, deliver, draw, update};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn fixture(name: &str) -> Topology {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fixtures")
        .join(name);
    Topology::from_json(&std::fs::read_to_string(&path).expect("fixture")).expect("topology")
}

/// One thing a user (or the run loop) does.
#[derive(Debug, Clone)]
enum Input {
    /// A key.
    Key(KeyCode, KeyModifiers),
    /// A whole command line: `:` then the word then Enter.
    Command(&'static str),
    /// The terminal's new size.
    Resize(u16, u16),
    /// A progress event for a job that may not exist, with any fraction (NaN, negative, > 1).
    Progress(u64, f32),
    /// A job ending, well or not, that may not exist.
    Done(u64, bool),
}

const COMMANDS: &[&str] = &[
    "ec2",
    "asg",
    "rds",
    "lb",
    "tg",
    "lt",
    "ami",
    "snap",
    "dbsnap",
    "findings",
    "azloss",
    "dr",
    "jobs",
    "errors",
    "iam",
    "map",
    "help",
    "all",
    "us-east-1",
    "nonsense",
];

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        Just(KeyCode::Enter),
        Just(KeyCode::Esc),
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::PageUp),
        Just(KeyCode::PageDown),
        Just(KeyCode::Home),
        Just(KeyCode::End),
        Just(KeyCode::Backspace),
        Just(KeyCode::Left),
        // The keys bound to something, and any other character (multi-byte included).
        prop::sample::select(vec![
            ':', '/', '?', 'q', 'r', 'e', 'a', 'J', 'j', 'k', 'g', 'G', 'd', 's', 'S', '[', ']',
            '0', '1', '2', '3', '9', ' ', '-',
        ])
        .prop_map(KeyCode::Char),
        any::<char>().prop_map(KeyCode::Char),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => (key_code(), prop_oneof![
            8 => Just(KeyModifiers::NONE),
            1 => Just(KeyModifiers::CONTROL),
            1 => Just(KeyModifiers::ALT),
        ])
            .prop_map(|(code, modifiers)| Input::Key(code, modifiers)),
        2 => prop::sample::select(COMMANDS).prop_map(Input::Command),
        1 => prop_oneof![
            Just((1_u16, 1_u16)),
            (1_u16..40, 1_u16..12),
            (20_u16..280, 5_u16..95),
        ]
        .prop_map(|(w, h)| Input::Resize(w, h)),
        1 => (0_u64..4, prop_oneof![any::<f32>(), -1.0_f32..2.0])
            .prop_map(|(job, f)| Input::Progress(job, f)),
        1 => (0_u64..4, any::<bool>()).prop_map(|(job, ok)| Input::Done(job, ok)),
    ]
}

fn actions(input: &Input) -> Vec<Action> {
    let key = |code, modifiers| Action::Key(KeyEvent::new(code, modifiers));
    match input {
        Input::Key(code, modifiers) => vec![key(*code, *modifiers)],
        Input::Command(word) => std::iter::once(':')
            .chain(word.chars())
            .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE))
            .chain(std::iter::once(key(KeyCode::Enter, KeyModifiers::NONE)))
            .collect(),
        Input::Resize(w, h) => vec![Action::Resize(*w, *h)],
        Input::Progress(job, fraction) => vec![Action::JobProgress {
            job: *job,
            progress: Progress {
                step: "step".into(),
                message: "é…✓ \u{202e}".into(),
                fraction: Some(*fraction),
                accepted: None,
            },
        }],
        Input::Done(job, ok) => vec![Action::JobDone {
            job: *job,
            result: if *ok {
                Ok("done".into())
            } else {
                Err(JobError {
                    code: Some("Throttling".into()),
                    message: "Rate exceeded".into(),
                })
            },
        }],
    }
}

fn fresh_state(topology: &Topology) -> State {
    let frozen = topology.taken_at + chrono::Duration::seconds(12);
    let options = DashboardOptions {
        regions: topology.regions.iter().map(|r| r.region.clone()).collect(),
        clock: Arc::new(move || frozen),
        ..DashboardOptions::default()
    };
    let mut state = options.initial_state();
    update(&mut state, Action::Resize(160, 48));
    update(&mut state, Action::Start);
    deliver(&mut state, 0, topology.clone());
    state
}

/// Runs `cases` random sequences of up to `steps` inputs over the fixture, drawing after each.
fn never_panics(name: &str, cases: u32, steps: usize) {
    let topology = fixture(name);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the same sequences on every run, and the shrunk failure in the message.
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&prop::collection::vec(input(), 1..steps), |inputs| {
        let mut state = fresh_state(&topology);
        let (mut width, mut height) = (160_u16, 48_u16);
        for input in &inputs {
            if let Input::Resize(w, h) = input {
                (width, height) = (*w, *h);
            }
            for action in actions(input) {
                update(&mut state, action);
            }
            let mut terminal =
                Terminal::new(TestBackend::new(width, height)).expect("test terminal");
            terminal.draw(|frame| draw(frame, &state)).expect("draw");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

#[test]
fn random_input_never_panics_on_the_lab_fixtures() {
    for name in ["lab-healthy.json", "lab-degraded.json", "two-regions.json"] {
        never_panics(name, 64, 160);
    }
}

#[test]
fn random_input_never_panics_on_ten_thousand_resources() {
    never_panics("large-10k.json", 6, 60);
}
