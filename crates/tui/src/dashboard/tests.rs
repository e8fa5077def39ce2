//! Snapshot tests of every view from the fixtures in `assets/fixtures/`, style checks where colour
//! carries meaning, and run-loop tests driven by synthetic terminal events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use haven_model::{DiscoveryError, Service, Topology};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Size};
use ratatui::style::Color;

use super::*;

fn fixture(name: &str) -> Topology {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Topology::from_json(&text).unwrap()
}

/// The frozen clock: 12 s after the fixtures were taken.
fn now(topology: &Topology) -> DateTime<Utc> {
    topology.taken_at + chrono::Duration::seconds(12)
}

fn options(topology: &Topology) -> DashboardOptions {
    let frozen = now(topology);
    DashboardOptions {
        regions: topology.regions.iter().map(|r| r.region.clone()).collect(),
        clock: Arc::new(move || frozen),
        action_log: Some("/home/me/.local/share/haven/actions.jsonl".into()),
        ..DashboardOptions::default()
    }
}

/// A state showing `topology` as a finished refresh at the given size.
fn state_for(topology: &Topology, width: u16, height: u16) -> State {
    state_with(options(topology), topology, width, height)
}

/// Like [`state_for`], with the dashboard opened with `options`.
fn state_with(options: DashboardOptions, topology: &Topology, width: u16, height: u16) -> State {
    let mut state = options.initial_state();
    update(&mut state, Action::Resize(width, height));
    let commands = update(&mut state, Action::Start);
    assert!(matches!(commands[..], [Command::Fetch { job: 0, .. }]));
    deliver(&mut state, 0, topology.clone());
    state
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Presses the keys (`\n` Enter, `\x1b` Esc, `\t` Tab, `\x08` Backspace); returns the commands.
fn press(state: &mut State, keys: &str) -> Vec<Command> {
    let mut commands = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            '\t' => KeyCode::Tab,
            '\x08' => KeyCode::Backspace,
            c => KeyCode::Char(c),
        };
        commands.extend(update(state, Action::Key(key(code))));
    }
    commands
}

fn buffer_of(state: &State) -> Buffer {
    let (width, height) = state.screen;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, state)).unwrap();
    terminal.backend().buffer().clone()
}

fn text_of(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(state: &State) -> String {
    text_of(&buffer_of(state))
}

/// Finds the first cell where `needle` starts on screen.
fn find(buffer: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let width = buffer.area.width;
    for y in 0..buffer.area.height {
        let symbols: Vec<&str> = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
        let needle: Vec<String> = needle.chars().map(String::from).collect();
        'start: for x in 0..symbols.len() {
            for (i, n) in needle.iter().enumerate() {
                if symbols.get(x + i) != Some(&n.as_str()) {
                    continue 'start;
                }
            }
            return Some((x as u16, y));
        }
    }
    None
}

fn cell_at<'a>(buffer: &'a Buffer, needle: &str) -> &'a Cell {
    let (x, y) = find(buffer, needle)
        .unwrap_or_else(|| panic!("`{needle}` not on screen:\n{}", text_of(buffer)));
    &buffer[(x, y)]
}

// ---------------------------------------------------------------------------------------------
// Map snapshots.

#[test]
fn map_healthy_lab_160x48() {
    let state = state_for(&fixture("lab-healthy.json"), 160, 48);
    insta::assert_snapshot!(screen(&state));
}

#[test]
fn map_healthy_lab_100x30_one_region_at_a_time() {
    let topology = fixture("lab-healthy.json");
    let mut state = state_for(&topology, 100, 30);
    press(&mut state, "1");
    insta::assert_snapshot!("map_healthy_lab_100x30_primary", screen(&state));
    press(&mut state, "]");
    assert_eq!(state.region.current, 1);
    insta::assert_snapshot!("map_healthy_lab_100x30_dr", screen(&state));
    press(&mut state, "1");
    assert_eq!(state.region.current, 0);
}

#[test]
fn zero_shows_every_region_at_every_width() {
    let topology = fixture("lab-healthy.json");
    for width in [100, 160, 250] {
        let mut state = state_for(&topology, width, 48);
        press(&mut state, "1");
        let one = screen(&state);
        assert!(!one.contains("DR of ap-northeast-2"), "{one}");
        press(&mut state, "0");
        assert!(state.region.all);
        // Side by side when they fit, else one after another: either way both are on screen.
        let all = screen(&state);
        for title in [
            "ap-northeast-2 · primary",
            "us-east-1 · DR of ap-northeast-2",
        ] {
            assert!(
                all.contains(title),
                "{width} columns, `0` lacks {title}:\n{all}"
            );
        }
    }
}

#[test]
fn map_and_a_judged_list_at_three_sizes() {
    let topology = fixture("lab-healthy.json");
    for (width, height) in [(100, 30), (160, 48), (250, 70)] {
        let mut state = state_for(&topology, width, height);
        insta::assert_snapshot!(format!("sizes_map_{width}x{height}"), screen(&state));
        press(&mut state, ":azloss\n");
        insta::assert_snapshot!(format!("sizes_azloss_{width}x{height}"), screen(&state));
    }
}

#[test]
fn every_cut_cell_ends_with_an_ellipsis_and_d_shows_it_whole() {
    let topology = fixture("lab-degraded.json");
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":azloss\n");
    let list = screen(&state);
    let model = &state.list.as_ref().expect("a list").model;
    let database = model.columns.iter().position(|c| c.name == "DATABASE");
    let whole = match database.and_then(|c| model.rows[0].cells.get(c)) {
        Some(rows::Cell::Text(text, _)) => text.clone(),
        other => panic!("no DATABASE cell: {other:?}"),
    };
    let shown: String = whole.chars().take(12).collect();
    let row = list
        .lines()
        .find(|l| l.contains(&shown))
        .unwrap_or_else(|| panic!("`{shown}` not on screen:\n{list}"));
    assert!(
        !row.contains(&whole),
        "the cell fits; the test proves nothing:\n{row}"
    );
    assert!(row.trim_end_matches('│').trim_end().ends_with('…'), "{row}");
    press(&mut state, "d");
    let describe = screen(&state).replace(['│', '\n'], "");
    let compact: String = whole.split_whitespace().collect();
    assert!(
        describe
            .split_whitespace()
            .collect::<String>()
            .contains(&compact),
        "describe shows the whole cell `{whole}`:\n{}",
        screen(&state)
    );
}

#[test]
fn the_map_shortens_long_names_and_keeps_cidrs_and_states() {
    let mut topology = fixture("lab-healthy.json");
    let long = "lab-public-subnet-of-the-web-tier-in-the-first-zone";
    let region = &mut topology.regions[0];
    let nat = &mut region.nat_gateways[0];
    let subnet = region
        .subnets
        .iter_mut()
        .find(|s| s.id == nat.subnet_id)
        .expect("the NAT gateway's subnet");
    let cidr = subnet.cidr_block.clone();
    subnet.tags.insert("Name".into(), long.into());
    nat.tags.insert(
        "Name".into(),
        "lab-nat-gateway-of-the-first-zone-egress".into(),
    );
    let state_text = nat.state.clone();
    let text = screen(&state_for(&topology, 160, 48));
    let subnet_line = text
        .lines()
        .find(|l| l.contains(&cidr))
        .unwrap_or_else(|| panic!("the CIDR {cidr} is cut:\n{text}"));
    assert!(!subnet_line.contains(long), "{subnet_line}");
    assert!(subnet_line.contains("lab-pub"), "{subnet_line}");
    assert!(subnet_line.contains('…'), "{subnet_line}");
    assert!(
        text.lines()
            .any(|l| l.contains("NAT lab-nat") && l.contains(&format!("… {state_text}"))),
        "the NAT's state is kept:\n{text}"
    );
}

#[test]
fn every_command_of_the_table_runs_and_is_in_the_help() {
    let topology = fixture("lab-healthy.json");
    let help = screen(&{
        let mut s = state_for(&topology, 250, 70);
        press(&mut s, "?");
        s
    });
    for command in help::commands() {
        assert!(
            help.contains(&format!(":{}", command.name)),
            ":{} is not in the help:\n{help}",
            command.name
        );
        for name in std::iter::once(command.name).chain(command.aliases.iter().copied()) {
            let mut state = state_for(&topology, 160, 48);
            press(&mut state, "1");
            let commands = press(&mut state, &format!(":{name}\n"));
            let reached = match command.run {
                help::CommandRun::Map => state.view == View::Map,
                help::CommandRun::List(kind) => state.view == View::List(kind),
                help::CommandRun::Jobs => state.view == View::Jobs,
                help::CommandRun::Help => state.view == View::Help,
                help::CommandRun::AllRegions => state.region.all,
                help::CommandRun::Quit => state.quit && commands.contains(&Command::Quit),
            };
            assert!(reached, ":{name} did not run {:?}", command.run);
        }
    }
}

#[test]
fn map_degraded_lab_160x48() {
    let state = state_for(&fixture("lab-degraded.json"), 160, 48);
    insta::assert_snapshot!(screen(&state));
}

#[test]
fn map_two_regions_160x48() {
    let state = state_for(&fixture("two-regions.json"), 160, 48);
    insta::assert_snapshot!(screen(&state));
}

#[test]
fn map_large_stack_160x48() {
    let state = state_for(&fixture("large-10k.json"), 160, 48);
    insta::assert_snapshot!(screen(&state));
}

#[test]
fn map_large_stack_scrolls_and_expands() {
    let mut state = state_for(&fixture("large-10k.json"), 160, 48);
    let height = state.map_height();
    assert!(
        height > 48,
        "the large map is taller than the screen: {height}"
    );
    press(&mut state, "G");
    assert_eq!(state.map_scroll, height - state.body_height());
    insta::assert_snapshot!("map_large_stack_160x48_bottom", screen(&state));
    press(&mut state, "ge");
    assert!(state.expand);
    assert!(state.map_height() > height + 250, "every instance listed");
}

#[test]
fn map_degraded_and_two_regions_100x30() {
    for name in ["lab-degraded", "two-regions"] {
        let mut state = state_for(&fixture(&format!("{name}.json")), 100, 30);
        press(&mut state, "1");
        insta::assert_snapshot!(format!("map_{name}_100x30_primary"), screen(&state));
        press(&mut state, "2");
        insta::assert_snapshot!(format!("map_{name}_100x30_dr"), screen(&state));
    }
}

#[test]
fn every_view_draws_at_tiny_and_huge_sizes() {
    let topology = fixture("large-10k.json");
    for (width, height) in [(40, 12), (250, 70), (12, 4), (1, 1)] {
        let mut state = state_for(&topology, width, height);
        for keys in [
            "",
            "e",
            "G",
            "?",
            "\x1b:ec2\n",
            "d",
            "G",
            "\x1b/zzz\n",
            "\x1b:errors\n",
        ] {
            press(&mut state, keys);
            let text = screen(&state);
            assert_eq!(text.lines().count(), usize::from(height));
        }
    }
    let text = screen(&state_for(&topology, 40, 12));
    assert!(
        text.contains("[ap-northeast-2a]"),
        "AZs stacked when narrow:\n{text}"
    );
}

#[test]
fn map_large_stack_100x30() {
    let state = state_for(&fixture("large-10k.json"), 100, 30);
    insta::assert_snapshot!(screen(&state));
}

// ---------------------------------------------------------------------------------------------
// Colour where it carries meaning.

#[test]
fn healthy_targets_are_green_and_an_az_without_healthy_target_is_red() {
    let healthy = buffer_of(&state_for(&fixture("lab-healthy.json"), 160, 48));
    assert_eq!(cell_at(&healthy, "✓ 1/1 targets healthy").fg, Color::Green);
    let instance = fixture("lab-healthy.json").regions[0].instances[0]
        .id
        .clone();
    assert_eq!(cell_at(&healthy, &format!("✓ {instance}")).fg, Color::Green);

    let degraded_topology = fixture("lab-degraded.json");
    let degraded = buffer_of(&state_for(&degraded_topology, 160, 48));
    assert_eq!(cell_at(&degraded, "✓ 1/1 targets healthy").fg, Color::Green);
    assert_eq!(cell_at(&degraded, "✗ 0/1 targets healthy").fg, Color::Red);
    let stopped = &degraded_topology.regions[0].instances[1].id;
    assert_eq!(
        cell_at(&degraded, &format!("○ {stopped}")).fg,
        Color::Yellow
    );
    assert_eq!(cell_at(&degraded, "stopped").fg, Color::Red);
    assert_eq!(
        cell_at(&degraded, "⚠ → NAT lab-nat-a in 2a (cross-AZ)").fg,
        Color::Yellow
    );
    assert_eq!(cell_at(&degraded, "⚠ Single-AZ").fg, Color::Yellow);
}

#[test]
fn transitional_states_are_marked_and_yellow() {
    let buffer = buffer_of(&state_for(&fixture("two-regions.json"), 160, 48));
    let creating = cell_at(&buffer, "creating…");
    assert_eq!(creating.fg, Color::Yellow);
    let mut state = state_for(&fixture("large-10k.json"), 160, 48);
    press(&mut state, ":ec2\n/pending\n");
    let buffer = buffer_of(&state);
    assert_eq!(cell_at(&buffer, "pending…").fg, Color::Yellow);
    assert_eq!(cell_at(&buffer, "initial").fg, Color::Yellow);
}

// ---------------------------------------------------------------------------------------------
// Lists, describe, help.

#[test]
fn every_list_of_the_healthy_lab_160x48() {
    let topology = fixture("lab-healthy.json");
    for kind in ListKind::ALL {
        let mut state = state_for(&topology, 160, 48);
        press(&mut state, &format!(":{}\n", kind.command()));
        assert_eq!(state.view, View::List(kind));
        insta::assert_snapshot!(
            format!("list_{}_healthy_160x48", kind.command()),
            screen(&state)
        );
    }
}

#[test]
fn lists_at_100x30() {
    let topology = fixture("lab-degraded.json");
    for kind in [ListKind::Ec2, ListKind::Tg, ListKind::Rds, ListKind::Subnet] {
        let mut state = state_for(&topology, 100, 30);
        press(&mut state, &format!(":{}\n", kind.command()));
        insta::assert_snapshot!(
            format!("list_{}_degraded_100x30", kind.command()),
            screen(&state)
        );
    }
}

#[test]
fn large_lists_filter_sort_and_show_only_what_fits() {
    let mut state = state_for(&fixture("large-10k.json"), 160, 48);
    press(&mut state, ":ec2\n");
    let all = state.list.as_ref().unwrap().rows.len();
    assert_eq!(all, 3 * (6 * 150 + 60));
    insta::assert_snapshot!("list_ec2_large_160x48", screen(&state));
    press(&mut state, "3/shop-cart\n");
    let filtered = state.list.as_ref().unwrap().rows.len();
    assert_eq!(filtered, 150);
    press(&mut state, "ssssS");
    let list = state.list.as_ref().unwrap();
    assert_eq!(list.sort, Some((3, true)), "sorted by STATE, reversed");
    insta::assert_snapshot!("list_ec2_large_filtered_sorted_160x48", screen(&state));
    press(&mut state, ":errors\n");
    insta::assert_snapshot!("list_errors_large_160x48", screen(&state));
}

#[test]
fn describe_pane_shows_the_model_object_as_yaml() {
    let topology = fixture("lab-healthy.json");
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":ec2\n");
    press(&mut state, "d");
    assert_eq!(state.mode(), Mode::Describe);
    insta::assert_snapshot!("describe_ec2_healthy_160x48", screen(&state));
    press(&mut state, "\x1b");
    assert_eq!(state.mode(), Mode::List);
    press(&mut state, ":rds\n");
    update(&mut state, Action::Key(key(KeyCode::Enter)));
    state.screen = (100, 30);
    insta::assert_snapshot!("describe_rds_healthy_100x30", screen(&state));
}

#[test]
fn help_is_rendered_from_the_key_map() {
    let topology = fixture("lab-healthy.json");
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, "?");
    insta::assert_snapshot!("help_160x48", screen(&state));
    state.screen = (100, 30);
    insta::assert_snapshot!("help_100x30", screen(&state));

    let mut keymap = KeyMap::default();
    keymap
        .apply_override("list", "sort_next", &["o".to_string()])
        .unwrap();
    let mut custom = DashboardOptions {
        keymap,
        ..options(&topology)
    }
    .initial_state();
    update(&mut custom, Action::Resize(160, 48));
    press(&mut custom, "?");
    let text = screen(&custom);
    assert!(
        text.lines()
            .any(|l| l.contains("│  o ") && l.contains("sort by next column")),
        "{text}"
    );
    press(&mut custom, "\x1b:ec2\n");
    let footer = screen(&custom);
    assert!(
        footer.lines().last().unwrap().contains("o sort"),
        "{footer}"
    );
}

#[test]
fn command_line_completes_and_reports_unknown_commands() {
    let mut state = state_for(&fixture("lab-healthy.json"), 160, 48);
    press(&mut state, ":s");
    assert_eq!(state.completions(), ["snap", "sg", "subnet"]);
    insta::assert_snapshot!(
        "command_line_160x48",
        screen(&state).lines().last().unwrap()
    );
    press(&mut state, "u\t");
    assert_eq!(state.input.as_ref().unwrap().text, "subnet");
    press(&mut state, "\n");
    assert_eq!(state.view, View::List(ListKind::Subnet));
    press(&mut state, ":us-e\t\n");
    assert_eq!(state.shown_region(), Some(1));
    press(&mut state, ":bogus\n");
    let text = screen(&state);
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("unknown command :bogus"),
        "{text}"
    );
}

#[test]
fn esc_goes_back_through_filter_describe_and_views() {
    let mut state = state_for(&fixture("lab-healthy.json"), 160, 48);
    press(&mut state, ":ec2\n:rds\n/replica\n");
    assert_eq!(state.list.as_ref().unwrap().rows.len(), 2);
    press(&mut state, "d");
    press(&mut state, "\x1b");
    assert!(state.list.as_ref().unwrap().describe.is_none());
    press(&mut state, "\x1b");
    assert_eq!(state.list.as_ref().unwrap().filter, "");
    press(&mut state, "\x1b");
    assert_eq!(state.view, View::List(ListKind::Ec2));
    press(&mut state, "\x1b");
    assert_eq!(state.view, View::Map);
}

// ---------------------------------------------------------------------------------------------
// Refresh, stale results and errors.

#[test]
fn results_of_superseded_refreshes_are_dropped() {
    let healthy = fixture("lab-healthy.json");
    let degraded = fixture("lab-degraded.json");
    let mut state = options(&healthy).initial_state();
    assert!(matches!(
        update(&mut state, Action::Start)[..],
        [Command::Fetch { job: 0, .. }]
    ));
    press(&mut state, "r");
    assert_eq!(state.refresh.job, Some(1));
    deliver(&mut state, 0, degraded);
    assert!(state.topology.is_none(), "the stale answer is dropped");
    assert!(state.refreshing());
    deliver(&mut state, 1, healthy.clone());
    let shown = state
        .topology
        .as_deref()
        .expect("the answer of the refresh awaited");
    assert_eq!(shown.regions, healthy.regions);
    assert!(!state.refreshing());
}

#[test]
fn auto_refresh_starts_when_the_interval_has_passed() {
    let healthy = fixture("lab-healthy.json");
    let mut state = state_for(&healthy, 160, 48);
    let t0 = state.now;
    assert!(update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(5))).is_empty());
    let commands = update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(31)));
    assert!(matches!(commands[..], [Command::Fetch { job: 1, .. }]));
    assert!(update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(70))).is_empty());
}

/// Whether the refresh a command starts reads IAM (`None` when it starts none).
fn fetch_reads_iam(commands: &[Command]) -> Option<bool> {
    match commands {
        [Command::Fetch { plan, .. }] => Some(plan.global.contains(&haven_model::Part::Iam)),
        _ => None,
    }
}

#[test]
fn d_iam_is_read_on_demand_or_every_few_minutes_not_every_refresh() {
    let healthy = fixture("lab-healthy.json");
    assert!(healthy.iam.is_some(), "the fixture has IAM to keep");
    let mut state = options(&healthy).initial_state();
    assert_eq!(
        fetch_reads_iam(&update(&mut state, Action::Start)),
        Some(true),
        "the first refresh reads IAM"
    );
    deliver(&mut state, 0, healthy.clone());
    let t0 = state.now;
    let at = |seconds| t0 + chrono::Duration::seconds(seconds);

    // The 30 s auto-refresh reads the Regions only, and the IAM read before stays on screen.
    let commands = update(&mut state, Action::Tick(at(31)));
    assert_eq!(fetch_reads_iam(&commands), Some(false));
    let mut regional = healthy.clone();
    regional.iam = None;
    deliver(&mut state, 1, regional.clone());
    assert_eq!(state.topology.as_ref().unwrap().iam, healthy.iam);
    assert!(state.stale.is_empty(), "IAM is not stale, only not re-read");

    // `R` reads everything, IAM included; `r` reads the view's parts.
    assert_eq!(fetch_reads_iam(&press(&mut state, "r")), Some(false));
    deliver(&mut state, 2, regional.clone());
    assert_eq!(fetch_reads_iam(&press(&mut state, "R")), Some(true));
    deliver(&mut state, 3, healthy.clone());
    let read_at = state.now;
    assert!(
        update(
            &mut state,
            Action::Tick(read_at + chrono::Duration::seconds(10))
        )
        .is_empty()
    );

    // After the IAM interval (30 min by default, with the full read) the auto-refresh reads IAM
    // again.
    let mut t = read_at;
    let mut reads = Vec::new();
    for job in 4..100 {
        t += chrono::Duration::seconds(31);
        let Some(iam) = fetch_reads_iam(&update(&mut state, Action::Tick(t))) else {
            panic!("an auto-refresh every 31 s");
        };
        reads.push(iam);
        let answer = if iam { &healthy } else { &regional };
        deliver(&mut state, job, answer.clone());
        if iam {
            break;
        }
    }
    assert_eq!(reads.iter().filter(|iam| !**iam).count(), 58, "{reads:?}");
    assert_eq!(reads.last(), Some(&true), "{reads:?}");
}

#[test]
fn d_the_iam_interval_comes_from_the_options() {
    let healthy = fixture("lab-healthy.json");
    let mut state = DashboardOptions {
        iam_refresh: Duration::from_secs(60),
        ..options(&healthy)
    }
    .initial_state();
    update(&mut state, Action::Start);
    deliver(&mut state, 0, healthy.clone());
    let t0 = state.now;
    let first = update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(31)));
    assert_eq!(fetch_reads_iam(&first), Some(false));
    deliver(&mut state, 1, healthy.clone());
    let second = update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(62)));
    assert_eq!(fetch_reads_iam(&second), Some(true));
}

#[test]
fn a_failed_service_keeps_the_last_good_data_and_shows_the_error() {
    let healthy = fixture("lab-healthy.json");
    let mut state = state_for(&healthy, 160, 48);
    let mut broken = healthy.clone();
    broken.taken_at = healthy.taken_at;
    broken.regions[0].instances.clear();
    broken.regions[0].volumes.clear();
    broken.errors.push(DiscoveryError {
        region: Some("ap-northeast-2".into()),
        service: Service::Ec2,
        operation: "DescribeInstances".into(),
        code: Some("RequestLimitExceeded".into()),
        message: "Request limit exceeded.".into(),
        part: None,
    });
    press(&mut state, "r");
    deliver(&mut state, 1, broken);
    let shown = state.topology.as_ref().unwrap();
    assert_eq!(shown.regions[0].instances.len(), 2, "instances kept");
    assert_eq!(shown.errors.len(), 1);
    assert_eq!(
        state.stale,
        [(Some("ap-northeast-2".to_string()), Service::Ec2)]
    );
    insta::assert_snapshot!("map_with_error_160x48", screen(&state));
    press(&mut state, ":errors\n");
    let text = screen(&state);
    assert!(text.contains("RequestLimitExceeded"), "{text}");
}

#[test]
fn read_only_badge_and_endpoint_are_in_the_header() {
    let topology = fixture("lab-healthy.json");
    let mut state = DashboardOptions {
        read_only: true,
        endpoint_label: Some("http://127.0.0.1:5000".into()),
        cached: Some(topology.clone()),
        ..options(&topology)
    }
    .initial_state();
    update(&mut state, Action::Resize(160, 48));
    update(&mut state, Action::Start);
    let header = screen(&state).lines().next().unwrap().to_string();
    insta::assert_snapshot!("header_cached_read_only", header);
}

// ---------------------------------------------------------------------------------------------
// The run loop, driven by synthetic terminal events.

/// A backend whose size follows the Resize events, as a real terminal's does.
struct ResizingBackend {
    inner: TestBackend,
    size: Arc<Mutex<Size>>,
}

impl ResizingBackend {
    fn sync(&mut self) {
        let size = *self.size.lock().unwrap();
        if self.inner.size().unwrap() != size {
            self.inner.resize(size.width, size.height);
        }
    }
}

impl Backend for ResizingBackend {
    type Error = std::convert::Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.sync();
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.sync();
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.sync();
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        Ok(*self.size.lock().unwrap())
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.sync();
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

struct FixtureSource(Topology);

impl TopologySource for FixtureSource {
    fn fetch(&self, _regions: Vec<String>, _include_iam: bool) -> BoxFuture<'static, Topology> {
        let topology = self.0.clone();
        async move { topology }.boxed()
    }
}

/// Answers after five seconds and records whether it ever did.
struct SlowSource {
    topology: Topology,
    finished: Arc<AtomicBool>,
}

impl TopologySource for SlowSource {
    fn fetch(&self, _regions: Vec<String>, _include_iam: bool) -> BoxFuture<'static, Topology> {
        let topology = self.topology.clone();
        let finished = Arc::clone(&self.finished);
        async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            finished.store(true, Ordering::SeqCst);
            topology
        }
        .boxed()
    }
}

fn keys(text: &str) -> Vec<Event> {
    text.chars()
        .map(|c| {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\x1b' => KeyCode::Esc,
                c => KeyCode::Char(c),
            };
            Event::Key(key(code))
        })
        .collect()
}

async fn drive(
    events: Vec<Event>,
    source: Arc<dyn TopologySource>,
    options: DashboardOptions,
) -> (State, Buffer) {
    let size = Arc::new(Mutex::new(Size::new(160, 48)));
    let backend = ResizingBackend {
        inner: TestBackend::new(160, 48),
        size: Arc::clone(&size),
    };
    let mut terminal = Terminal::new(backend).unwrap();
    // The terminal's size changes as the loop reads the Resize event, like a real one.
    let events = futures::stream::iter(events).inspect(move |event| {
        if let Event::Resize(width, height) = event {
            *size.lock().unwrap() = Size::new(*width, *height);
        }
    });
    let state = run(&mut terminal, Box::pin(events), source, options)
        .await
        .unwrap();
    let buffer = terminal.backend().inner.buffer().clone();
    (state, buffer)
}

#[tokio::test]
async fn run_loop_navigates_filters_describes_switches_region_and_survives_resizes() {
    let topology = fixture("lab-healthy.json");
    let source = Arc::new(FixtureSource(topology.clone()));
    let opts = DashboardOptions {
        cached: Some(topology.clone()),
        ..options(&topology)
    };
    let mut events = keys(":ec2\n/lab-web\nd");
    events.push(Event::Resize(40, 12));
    events.extend(keys("j"));
    events.push(Event::Resize(250, 70));
    events.extend(keys("\x1b]"));
    events.push(Event::Resize(40, 12));
    events.push(Event::Resize(250, 70));
    let (state, buffer) = drive(events, source.clone(), opts.clone()).await;
    assert_eq!(state.view, View::List(ListKind::Ec2));
    let list = state.list.as_ref().unwrap();
    assert_eq!(list.filter, "lab-web");
    assert!(list.describe.is_none());
    assert_eq!(state.shown_region(), Some(1), "switched to us-east-1");
    assert_eq!(state.screen, (250, 70));
    assert_eq!(buffer.area.width, 250);
    let text = text_of(&buffer);
    assert!(text.contains("nothing matches /lab-web"), "{text}");

    // Ending in the describe pane at 40×12 draws it there too.
    let mut events = keys(":ec2\nd");
    events.push(Event::Resize(40, 12));
    let (state, buffer) = drive(events, source.clone(), opts.clone()).await;
    assert_eq!(state.mode(), Mode::Describe);
    assert_eq!(buffer.area.height, 12);
    assert!(
        text_of(&buffer).contains("describe"),
        "{}",
        text_of(&buffer)
    );

    // `q` quits before the stream ends.
    let (state, _) = drive(keys("q:ec2\n"), source, opts).await;
    assert!(state.quit);
    assert_eq!(state.view, View::Map);
}

#[tokio::test]
async fn input_stays_responsive_while_a_slow_refresh_runs() {
    let topology = fixture("lab-healthy.json");
    let finished = Arc::new(AtomicBool::new(false));
    let source = Arc::new(SlowSource {
        topology: topology.clone(),
        finished: Arc::clone(&finished),
    });
    let opts = DashboardOptions {
        cached: Some(topology.clone()),
        ..options(&topology)
    };
    let (state, buffer) = drive(keys(":rds\n/replica\nd"), source, opts).await;
    // The keys changed the view while the refresh was still running.
    assert!(
        !finished.load(Ordering::SeqCst),
        "the refresh had not finished"
    );
    assert!(state.refreshing());
    assert_eq!(state.view, View::List(ListKind::Rds));
    assert_eq!(state.mode(), Mode::Describe);
    let text = text_of(&buffer);
    assert!(text.lines().next().unwrap().contains("to read"), "{text}");
    assert!(text.contains("read_replica_source"), "{text}");
}

#[tokio::test]
async fn the_newest_topology_is_written_to_the_cache_file() {
    let topology = fixture("lab-healthy.json");
    let dir = std::env::temp_dir().join(format!("haven-dash-cache-{}", std::process::id()));
    let path = dir.join("topology.json");
    let _ = std::fs::remove_file(&path);
    let opts = DashboardOptions {
        cache_path: Some(path.clone()),
        ..options(&topology)
    };
    let source = Arc::new(FixtureSource(topology.clone()));
    // No events: the loop ends when the (empty) stream does; give the refresh a chance to land
    // by waiting for the cache file instead of the stream.
    let pending = futures::stream::pending::<Event>();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let running = run(&mut terminal, Box::pin(pending), source, opts);
    let wait = async {
        for _ in 0..200 {
            if crate::cache::read_cached_topology(&path).is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        _ = running => panic!("the loop does not end on its own"),
        () = wait => {}
    }
    let cached = crate::cache::read_cached_topology(&path).expect("the cache file");
    assert_eq!(cached.regions, topology.regions);
    assert_eq!(cached.iam, topology.iam);
}

mod accounts;
mod actions;
mod classic;
mod deploys;
mod front_door;
mod signal_views;
mod signals;
mod streaming;
