//! Hostile input for the dashboard: seeded random key sequences, commands, filters and terminal
//! sizes (down to 1×1) over every fixture. Every step is drawn; nothing may panic. A failure
//! names the fixture, the seed and the step.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use haven_model::Topology;
use haven_tui::dashboard::{Action, DashboardOptions, draw, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn fixture(name: &str) -> Topology {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fixtures")
        .join(name);
    Topology::from_json(&std::fs::read_to_string(&path).expect("fixture")).expect("topology")
}

struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % bound.max(1) as u64).unwrap_or(0)
    }
}

/// Keys people press, commands they type, and noise.
fn random_action(random: &mut Random) -> Action {
    const CHARS: &[char] = &[
        ':', '/', '?', 'q', 'r', 'e', 'a', 'j', 'k', 'g', 'G', 'd', 'y', 'n', '[', ']', '0', '1',
        '2', '9', 'x', 's', 'f', 'z', ' ', '-', '!', 'é',
    ];
    const WORDS: &[&str] = &[
        "ec2", "asg", "rds", "alb", "tg", "findings", "azloss", "jobs", "dr", "map", "help",
        "nonsense", "q",
    ];
    let code = match random.below(20) {
        0 => KeyCode::Enter,
        1 => KeyCode::Esc,
        2 => KeyCode::Tab,
        3 => KeyCode::BackTab,
        4 => KeyCode::Up,
        5 => KeyCode::Down,
        6 => KeyCode::Left,
        7 => KeyCode::Right,
        8 => KeyCode::PageUp,
        9 => KeyCode::PageDown,
        10 => KeyCode::Home,
        11 => KeyCode::End,
        12 => KeyCode::Backspace,
        13 => {
            let (width, height) = match random.below(4) {
                0 => (1, 1),
                1 => (
                    u16::try_from(1 + random.below(40)).unwrap_or(1),
                    u16::try_from(1 + random.below(12)).unwrap_or(1),
                ),
                _ => (
                    u16::try_from(20 + random.below(260)).unwrap_or(80),
                    u16::try_from(5 + random.below(90)).unwrap_or(24),
                ),
            };
            return Action::Resize(width, height);
        }
        14 => {
            // The first letter of a command name (after ':' it starts a command, else a key).
            let word = WORDS[random.below(WORDS.len())];
            return Action::Key(KeyEvent::new(
                KeyCode::Char(word.chars().next().unwrap_or(':')),
                KeyModifiers::NONE,
            ));
        }
        15 => {
            return Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        }
        _ => KeyCode::Char(CHARS[random.below(CHARS.len())]),
    };
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn fuzz(name: &str, seeds: &[u64], steps: usize) {
    let topology = fixture(name);
    for &seed in seeds {
        let frozen = topology.taken_at + chrono::Duration::seconds(12);
        let options = DashboardOptions {
            regions: topology.regions.iter().map(|r| r.region.clone()).collect(),
            clock: Arc::new(move || frozen),
            ..DashboardOptions::default()
        };
        let mut state = options.initial_state();
        let (mut width, mut height) = (160_u16, 48_u16);
        update(&mut state, Action::Resize(width, height));
        update(&mut state, Action::Start);
        update(
            &mut state,
            Action::Fetched {
                job: 0,
                topology: Box::new(topology.clone()),
            },
        );
        let mut random = Random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        for step in 0..steps {
            let action = random_action(&mut random);
            if let Action::Resize(w, h) = action {
                (width, height) = (w, h);
            }
            let described = format!("{action:?}");
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                update(&mut state, action);
                let mut terminal =
                    Terminal::new(TestBackend::new(width, height)).expect("test terminal");
                terminal.draw(|frame| draw(frame, &state)).expect("draw");
            }));
            assert!(
                outcome.is_ok(),
                "{name}, seed {seed}, step {step}: {described} panicked"
            );
        }
    }
}

#[test]
fn random_input_never_panics_on_the_lab_fixtures() {
    for name in ["lab-healthy.json", "lab-degraded.json", "two-regions.json"] {
        fuzz(name, &[1, 2, 3, 4, 5], 400);
    }
}

#[test]
fn random_input_never_panics_on_ten_thousand_resources() {
    fuzz("large-10k.json", &[6], 120);
}
