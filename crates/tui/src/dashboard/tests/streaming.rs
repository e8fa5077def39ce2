//! Discovery in pieces: rows show as soon as their own part is read, an empty list waits with
//! "loading" (never "no … here") while its calls are in flight, judged views say they are
//! provisional, and the refresh interval reads only what changes on its own.

use haven_model::{Part, Piece, fragment_of};

use super::*;

/// A state whose first (full) read has started and received nothing yet.
fn opened(topology: &Topology) -> State {
    let mut state = options(topology).initial_state();
    update(&mut state, Action::Resize(160, 48));
    let commands = update(&mut state, Action::Start);
    assert!(matches!(commands[..], [Command::Fetch { job: 0, .. }]));
    state
}

fn send(state: &mut State, topology: &Topology, region: usize, part: Part) {
    let piece = Piece::regional(
        part,
        fragment_of(&topology.regions[region], part),
        Vec::new(),
    );
    update(
        state,
        Action::Piece {
            job: 0,
            piece: Box::new(piece),
        },
    );
    state.settle();
}

#[test]
fn a_list_fills_as_soon_as_its_own_part_is_read_and_the_others_say_loading() {
    let lab = fixture("lab-healthy.json");
    let mut state = opened(&lab);
    let primary = &lab.regions[0].region;
    // RDS answers first in both Regions; EC2 has not.
    send(&mut state, &lab, 0, Part::Databases);
    send(&mut state, &lab, 1, Part::Databases);
    press(&mut state, ":rds\n");
    let text = screen(&state);
    assert!(text.contains("lab-db"), "the RDS rows are there:\n{text}");
    press(&mut state, ":ec2\n");
    let text = screen(&state);
    assert!(text.contains("loading ec2 instances in"), "{text}");
    assert!(!text.contains("no ec2 instances here"), "{text}");
    // The header counts what is left; the map panel names what it waits for.
    assert!(
        text.lines().next().unwrap_or_default().contains("to read"),
        "{text}"
    );
    // The judged views say they are provisional.
    press(&mut state, ":findings\n");
    let text = screen(&state);
    assert!(text.contains("provisional:"), "{text}");
    assert!(text.contains(primary.as_str()), "{text}");

    send(&mut state, &lab, 0, Part::Instances);
    press(&mut state, ":ec2\n");
    let text = screen(&state);
    let first = &lab.regions[0].instances[0].id;
    assert!(
        text.contains(first.as_str()),
        "EC2 rows after their piece:\n{text}"
    );

    // Once every piece is in, nothing is provisional any more.
    deliver(&mut state, 0, lab.clone());
    press(&mut state, ":findings\n");
    assert!(!screen(&state).contains("provisional:"));
}

#[test]
fn the_refresh_interval_reads_what_changes_and_the_full_read_comes_on_its_own_interval() {
    let lab = fixture("lab-healthy.json");
    let mut state = state_for(&lab, 160, 48);
    let t0 = state.now;
    let at = |seconds| t0 + chrono::Duration::seconds(seconds);
    let Some(Command::Fetch { plan, .. }) = update(&mut state, Action::Tick(at(31))).pop() else {
        panic!("a live read at the refresh interval");
    };
    let parts: Vec<Part> = plan
        .regions
        .iter()
        .flat_map(|r| r.parts.iter().copied())
        .collect();
    assert!(parts.contains(&Part::Instances) && parts.contains(&Part::TargetHealth));
    for slow in [Part::Network, Part::LaunchTemplates, Part::Settings] {
        assert!(
            !parts.contains(&slow),
            "{slow:?} is not read every interval"
        );
    }
    assert!(
        plan.global.is_empty(),
        "neither IAM nor Route 53: {:?}",
        plan.global
    );
    deliver(&mut state, 1, lab.clone());
    // 30 minutes after the first full read, the next one.
    let Some(Command::Fetch { plan, .. }) = update(&mut state, Action::Tick(at(1801))).pop() else {
        panic!("a full read at its interval");
    };
    assert!(
        plan.regions
            .iter()
            .all(|r| r.parts.contains(&Part::Network))
    );
    assert!(plan.global.contains(&Part::Dns));
}

#[test]
fn a_changed_instance_is_highlighted_for_a_moment_and_remembered_as_an_event() {
    let lab = fixture("lab-healthy.json");
    let mut state = state_for(&lab, 160, 48);
    let mut changed = lab.clone();
    let id = changed.regions[0].instances[0].id.clone();
    changed.regions[0].instances[0].state = haven_model::InstanceState::Stopping;
    let t0 = state.now;
    update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(31)));
    deliver(&mut state, 1, changed);
    let key = format!("{}/{id}", lab.regions[0].region);
    assert!(state.changed_recently(&key), "{:?}", state.refresh.changed);
    assert!(
        state.seen_events.iter().any(|e| e.text.contains(&id)),
        "{:?}",
        state.seen_events
    );
    update(&mut state, Action::Tick(t0 + chrono::Duration::seconds(40)));
    assert!(!state.changed_recently(&key), "the highlight fades");
}

#[test]
fn a_region_picked_before_anything_arrived_is_the_one_shown_when_it_does() {
    let lab = fixture("lab-healthy.json");
    let mut state = opened(&lab);
    let dr = lab.regions[1].region.clone();
    press(&mut state, "2");
    assert!(
        !screen(&state).contains("no Region 2"),
        "{}",
        screen(&state)
    );
    send(&mut state, &lab, 0, Part::Network);
    send(&mut state, &lab, 1, Part::Network);
    assert_eq!(state.shown_region(), Some(1));
    press(&mut state, ":ec2\n");
    let text = screen(&state);
    assert!(
        text.contains(&format!("loading ec2 instances in {dr}")),
        "the list waits for the Region picked:\n{text}"
    );
}
