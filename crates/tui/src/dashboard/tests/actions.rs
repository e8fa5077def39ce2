//! The judged views (Findings, AZ loss, DR), the action menu, the confirmation dialog and the
//! Jobs view, driven by keys as a user would.

use haven_model::action::{ActionKind, Progress, Risk};
use haven_model::replication::Operation;

use super::*;

fn lab(width: u16, height: u16) -> State {
    state_for(&fixture("lab-healthy.json"), width, height)
}

fn menu_titles(state: &State) -> Vec<String> {
    let menu = state.menu.as_ref().expect("the menu is open");
    menu.entries.iter().map(|e| e.title.clone()).collect()
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

#[test]
fn findings_view_lists_worst_first_and_enter_opens_the_resource() {
    let mut state = state_for(&fixture("lab-degraded.json"), 160, 48);
    press(&mut state, ":findings\n");
    assert_eq!(state.view, View::List(ListKind::Findings));
    let text = screen(&state);
    insta::assert_snapshot!("findings_degraded_160x48", text);
    // The header counts them on every view.
    assert!(text.lines().next().unwrap().contains("findings"), "{text}");
    // Worst first: no row is more severe than the one above it.
    let list = state.list.as_ref().unwrap();
    let rank = |i: usize| match &list.model.rows[list.rows[i]].cells[1] {
        rows::Cell::Text(s, _) => ["critical", "high", "medium", "low", "informational"]
            .iter()
            .position(|x| x == s)
            .unwrap(),
        _ => unreachable!(),
    };
    assert!((1..list.rows.len()).all(|i| rank(i - 1) <= rank(i)));

    // Enter on the single-AZ DB finding opens the RDS list on that DB.
    press(&mut state, "/RDS.5\n");
    assert_eq!(
        state.list.as_ref().unwrap().rows.len(),
        1,
        "{}",
        screen(&state)
    );
    press(&mut state, "\n");
    assert_eq!(state.view, View::List(ListKind::Rds));
    let list = state.list.as_ref().unwrap();
    assert_eq!(list.filter, "lab-db");
    assert!(screen(&state).contains("lab-db"));
    // Esc clears the filter, a second Esc goes back to the findings.
    press(&mut state, "\x1b\x1b");
    assert_eq!(state.view, View::List(ListKind::Findings));
}

#[test]
fn az_loss_view_says_what_each_az_failure_does() {
    let mut healthy = lab(160, 48);
    press(&mut healthy, ":azloss\n");
    insta::assert_snapshot!("azloss_healthy_160x48", screen(&healthy));
    let mut degraded = state_for(&fixture("lab-degraded.json"), 160, 48);
    press(&mut degraded, ":az\n");
    let text = screen(&degraded);
    insta::assert_snapshot!("azloss_degraded_160x48", text);
    // The single-AZ writer is lost with its AZ.
    assert!(text.contains("lab-db LOST"), "{text}");
    // Describe shows the whole analysis.
    press(&mut degraded, "d");
    assert!(
        screen(&degraded).contains("nat_egress_lost"),
        "{}",
        screen(&degraded)
    );
}

/// The lab with its clock moved `days` ahead: every DR copy is older than the RPO.
fn aged(days: i64) -> Topology {
    let mut t = fixture("lab-healthy.json");
    t.taken_at += chrono::Duration::days(days);
    t
}

/// The lab with nothing copied to the DR Region.
fn without_copies() -> Topology {
    let mut t = fixture("lab-healthy.json");
    let dr = &mut t.regions[1];
    dr.images.clear();
    dr.snapshots.clear();
    dr.db_snapshots.clear();
    dr.db_instances.clear();
    t
}

#[test]
fn dr_view_shows_fresh_stale_and_missing_copies() {
    for (name, topology, row, expected) in [
        ("fresh", fixture("lab-healthy.json"), "AMI", "fresh"),
        (
            "stale",
            aged(10),
            "EBS snapshot",
            "11d / RPO 1h       stale",
        ),
        ("missing", without_copies(), "AMI", "missing (a: copy now)"),
    ] {
        let mut state = state_for(&topology, 160, 48);
        press(&mut state, ":dr\n");
        let text = screen(&state);
        insta::assert_snapshot!(format!("dr_{name}_160x48"), text);
        let line = text
            .lines()
            .find(|l| l.contains(&format!("us-east-1       {row}")))
            .unwrap_or_else(|| panic!("{name}: no {row} row in\n{text}"));
        assert!(line.contains(expected), "{name}: {line}");
    }
}

#[test]
fn a_dr_row_replication_cannot_fix_says_why() {
    // The lab's DB is encrypted: without a KMS key in us-east-1 its snapshot cannot be copied.
    let mut state = state_for(&without_copies(), 160, 48);
    press(&mut state, ":dr\n/DB snapshot\n");
    let text = screen(&state);
    let line = text
        .lines()
        .find(|l| l.contains("us-east-1       DB snapshot"))
        .unwrap_or_else(|| panic!("no DB snapshot row in\n{text}"));
    assert!(line.contains("missing (d: why)"), "{line}");
    press(&mut state, "a");
    assert!(state.menu.is_none(), "nothing to run: {}", screen(&state));
    press(&mut state, "d");
    let text = screen(&state);
    assert!(
        text.contains("is encrypted: give a KMS key in us-east-1"),
        "{text}"
    );

    // A copy of a source that is itself too old: copying again would not help.
    let mut state = lab(160, 48);
    press(&mut state, ":dr\n/EBS\n");
    let text = screen(&state);
    assert!(text.contains("stale (d: why)"), "{text}");
    press(&mut state, "d");
    let text = screen(&state);
    assert!(
        text.contains("is itself older than the RPO: make a new one in ap-northeast-2"),
        "{text}"
    );
}

#[test]
fn the_policy_sets_the_rpo_the_dr_view_judges_against() {
    let topology = aged(10);
    let ebs_row = |rpo_seconds: u64| {
        let mut policy = haven_model::findings::Policy::default();
        policy.objectives.region = Some(haven_model::findings::Objective {
            rto_seconds: 3600,
            rpo_seconds,
        });
        let options = DashboardOptions {
            policy,
            ..options(&topology)
        };
        let mut state = state_with(options, &topology, 160, 48);
        press(&mut state, ":dr\n");
        let text = screen(&state);
        text.lines()
            .find(|l| l.contains("us-east-1       EBS snapshot"))
            .unwrap_or_else(|| panic!("no EBS row in\n{text}"))
            .to_string()
    };
    let month = ebs_row(30 * 86_400);
    assert!(
        month.contains("RPO 30d") && month.contains("fresh"),
        "{month}"
    );
    let hour = ebs_row(3600);
    assert!(hour.contains("RPO 1h") && hour.contains("stale"), "{hour}");
}

#[test]
fn dr_actions_copy_a_missing_copy_and_promote_a_dr_replica() {
    let mut state = state_for(&without_copies(), 160, 48);
    press(&mut state, ":dr\n/AMI\na");
    let menu = state.menu.as_ref().expect("menu open");
    assert_eq!(menu.entries[0].title, "Copy to us-east-1");
    press(&mut state, "\n");
    let text = screen(&state);
    assert!(
        text.contains("in acct 123456789012 · us-east-1, this call will be sent:")
            && text.contains("ec2 CopyImage ")
            && text.contains("SourceRegion=ap-northeast-2"),
        "{text}"
    );
    let commands = press(&mut state, "\n");
    match runs(&commands)[..] {
        [Work::Replicate(Operation::Copy(copy))] => {
            assert_eq!(copy.source_id, "ami-0beac34a77b2be7a9");
            assert_eq!(copy.destination_region, "us-east-1");
        }
        ref other => panic!("{other:?}"),
    }

    // The DR replica of the healthy lab can be promoted, after typing its name.
    let mut state = lab(160, 48);
    press(&mut state, ":dr\n/replica\na");
    let menu = state.menu.as_ref().expect("menu open");
    let promote = menu
        .entries
        .iter()
        .position(|e| e.title.starts_with("Promote lab-db-dr"))
        .expect("promote offered");
    state.menu.as_mut().unwrap().selected = promote;
    let commands = press(&mut state, "\n\n");
    assert!(runs(&commands).is_empty());
    let commands = press(&mut state, "lab-db-dr\n");
    match runs(&commands)[..] {
        [Work::Act(action)] => {
            assert_eq!(action.kind, ActionKind::PromoteReadReplica);
            assert_eq!(action.region, "us-east-1");
        }
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn action_menu_lists_only_the_actions_that_apply() {
    let mut state = lab(160, 48);
    press(&mut state, ":asg\na");
    let titles = menu_titles(&state);
    assert!(titles.contains(&"Set capacity".to_string()), "{titles:?}");
    assert!(!titles.iter().any(|t| t.contains("Promote")), "{titles:?}");
    // The group uses every AZ of its VPC: there is no AZ to put back.
    assert!(
        !titles.iter().any(|t| t.contains("put the AZ back")),
        "{titles:?}"
    );
    insta::assert_snapshot!("menu_asg_160x48", screen(&state));

    // A writer cannot be promoted; its same-Region replica can.
    press(&mut state, "\x1b:rds\n/lab-db-replica\na");
    let titles = menu_titles(&state);
    assert!(titles.iter().any(|t| t.contains("Promote")), "{titles:?}");
    press(&mut state, "\x1b\x1b/lab-db \na");
    let writer = menu_titles(&state);
    assert!(!writer.iter().any(|t| t.contains("Promote")), "{writer:?}");
    assert!(writer.iter().any(|t| t.contains("failover")), "{writer:?}");
}

#[test]
fn the_dialog_shows_the_exact_call_and_follows_edits() {
    let mut state = lab(160, 48);
    press(&mut state, ":asg\na\n");
    let text = screen(&state);
    insta::assert_snapshot!("dialog_asg_set_capacity_160x48", text);
    assert!(
        text.contains(
            "autoscaling SetDesiredCapacity AutoScalingGroupName=lab-asg DesiredCapacity=3"
        ),
        "{text}"
    );
    // Editing the parameter changes the call; a bad value names what is wrong and runs nothing.
    press(&mut state, "\x08x");
    let text = screen(&state);
    assert!(text.contains("✗ invalid value 'x'"), "{text}");
    assert!(runs(&press(&mut state, "\n")).is_empty());
    // What Auto Scaling would refuse is refused here, saying what to add (moto accepts it).
    press(&mut state, "\x089");
    let text = screen(&state);
    assert!(
        text.contains("desired 9 is above the group's max 4: add --max 9"),
        "{text}"
    );
    assert!(runs(&press(&mut state, "\n")).is_empty());
    press(&mut state, "\x084");
    let text = screen(&state);
    assert!(text.contains("DesiredCapacity=4"), "{text}");
    assert!(
        text.contains("Set desired capacity of lab-asg from 2 to 4"),
        "{text}"
    );
    let commands = press(&mut state, "\n");
    match runs(&commands)[..] {
        [Work::Act(action)] => assert_eq!(
            action.kind,
            ActionKind::SetCapacity {
                desired: Some(4),
                min: None,
                max: None,
                current: Some(haven_model::action::Capacity {
                    min: 2,
                    max: 4,
                    desired: 2
                })
            }
        ),
        ref other => panic!("{other:?}"),
    }
    assert!(state.dialog.is_none());
    // Esc on a dialog sends nothing.
    press(&mut state, "a\n");
    assert!(runs(&press(&mut state, "\x1b")).is_empty());
    assert!(screen(&state).contains("cancelled: nothing was sent"));
}

#[test]
fn a_destructive_action_does_not_run_without_the_typed_name() {
    let mut state = lab(160, 48);
    let instance = state.topology.as_ref().unwrap().regions[0].instances[0]
        .id
        .clone();
    press(&mut state, &format!(":ec2\n/{instance}\na"));
    let terminate = state
        .menu
        .as_ref()
        .unwrap()
        .entries
        .iter()
        .position(|e| e.title == "Terminate")
        .expect("terminate offered");
    state.menu.as_mut().unwrap().selected = terminate;
    // Enter opens the dialog, Enter again asks for the name; Enter on a wrong name refuses.
    assert!(runs(&press(&mut state, "\n\n")).is_empty());
    let text = screen(&state);
    insta::assert_snapshot!("dialog_terminate_typed_160x48", text);
    assert!(
        text.contains(&format!("Type {instance} to confirm")),
        "{text}"
    );
    assert!(
        text.contains(&format!("ec2 TerminateInstances InstanceId.1={instance}")),
        "{text}"
    );
    assert!(runs(&press(&mut state, "i-wrong\n")).is_empty());
    assert!(state.dialog.is_some());
    assert!(screen(&state).contains("exactly to confirm"));
    // The right name runs it.
    press(&mut state, &"\x08".repeat(7));
    let commands = press(&mut state, &format!("{instance}\n"));
    assert_eq!(runs(&commands).len(), 1);
}

fn progress(step: &str, message: &str, fraction: Option<f32>) -> Progress {
    Progress::new(step, message, fraction)
}

/// Starts "set desired capacity to 3" and returns its job id.
fn start_scale(state: &mut State) -> JobId {
    let commands = press(state, ":asg\na\n\n");
    match commands.iter().find(|c| matches!(c, Command::Run { .. })) {
        Some(Command::Run { job, .. }) => *job,
        other => panic!("{other:?}"),
    }
}

#[test]
fn jobs_show_progress_then_the_result_and_the_map_marks_the_resource() {
    let mut state = lab(160, 48);
    let job = start_scale(&mut state);
    update(
        &mut state,
        Action::JobProgress {
            job,
            progress: progress(
                "waiting for lab-asg",
                "2 of 3 instances in service",
                Some(0.66),
            ),
        },
    );
    press(&mut state, "\x1b\x1b:map\n");
    let map = screen(&state);
    assert!(map.contains("lab-asg  ⟳ job"), "{map}");
    assert!(map.lines().next().unwrap().contains("⟳ 1 job"), "{map}");
    press(&mut state, "J");
    assert_eq!(state.view, View::Jobs);
    let running = screen(&state);
    insta::assert_snapshot!("jobs_running_160x48", running);
    assert!(running.contains("2 of 3 instances in service"), "{running}");
    assert!(running.contains("66%"), "{running}");

    let commands = update(
        &mut state,
        Action::JobDone {
            job,
            result: Ok("lab-asg has 3 instances in service".into()),
        },
    );
    // The result is refreshed at once, so the new instance shows.
    assert!(matches!(commands[..], [Command::Fetch { .. }]));
    let done = screen(&state);
    insta::assert_snapshot!("jobs_done_160x48", done);
    assert!(done.contains("✓"), "{done}");
    assert!(
        done.contains("lab-asg has 3 instances in service"),
        "{done}"
    );
    press(&mut state, ":map\n");
    assert!(!screen(&state).contains("⟳ job"));
}

#[test]
fn a_job_ending_during_a_read_has_its_effect_read_when_that_read_ends() {
    let mut state = lab(160, 48);
    let job = start_scale(&mut state);
    // A read starts while the job runs (the refresh interval, or `r`): it may read before the
    // job's effect exists.
    press(&mut state, "r");
    let read = state.refresh.job.expect("a read in flight");
    let done = update(
        &mut state,
        Action::JobDone {
            job,
            result: Ok("lab-asg has 3 instances in service".into()),
        },
    );
    assert!(
        !done.iter().any(|c| matches!(c, Command::Fetch { .. })),
        "the read in flight is not cut short: {done:?}"
    );
    let after = deliver(&mut state, read, fixture("lab-healthy.json"));
    let Some(Command::Fetch { plan, .. }) =
        after.iter().find(|c| matches!(c, Command::Fetch { .. }))
    else {
        panic!("the job's effect is read once the read in flight ends: {after:?}");
    };
    assert!(
        plan.regions
            .iter()
            .all(|r| r.parts.contains(&Part::AutoScaling)),
        "the view's parts (the groups) are read: {plan:?}"
    );
    // Once only: the next read's end starts nothing more.
    let next = state.refresh.job.expect("the effect's read in flight");
    let later = deliver(&mut state, next, fixture("lab-healthy.json"));
    assert!(
        !later.iter().any(|c| matches!(c, Command::Fetch { .. })),
        "{later:?}"
    );
}

#[test]
fn d_in_jobs_shows_the_whole_job_with_request_ids_errors_and_the_action_log() {
    let mut state = lab(160, 48);
    let job = start_scale(&mut state);
    let mut accepted = progress("SetDesiredCapacity", "accepted", None);
    accepted.accepted = Some(haven_model::action::AcceptedCall {
        operation: "SetDesiredCapacity".into(),
        request_id: Some("req-4f1c2a".into()),
    });
    update(
        &mut state,
        Action::JobProgress {
            job,
            progress: accepted,
        },
    );
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Err(JobError {
                code: Some("ScalingActivityInProgress".into()),
                message: "autoscaling: a scaling activity is in progress".into(),
            }),
        },
    );
    press(&mut state, "J");
    let jobs = screen(&state);
    assert!(
        jobs.contains("action log /home/me/.local/share/haven/actions.jsonl"),
        "{jobs}"
    );
    assert_eq!(state.mode(), Mode::Jobs);
    press(&mut state, "d");
    let whole = screen(&state);
    insta::assert_snapshot!("job_whole_160x48", whole);
    for expected in [
        "action: asg-set-capacity",
        "lab-asg",
        "SetDesiredCapacity",
        "request_id: req-4f1c2a",
        "status: failed",
        "error_code: ScalingActivityInProgress",
        "a scaling activity is in progress",
        "/home/me/.local/share/haven/actions.jsonl",
    ] {
        assert!(whole.contains(expected), "`{expected}` missing:\n{whole}");
    }
    // Enter opens it too; Esc goes back to the list of jobs, then out.
    press(&mut state, "\x1b");
    assert_eq!(state.view, View::Jobs);
    assert!(state.jobs_view.open.is_none());
    press(&mut state, "\n");
    assert!(state.jobs_view.open.is_some());
    press(&mut state, "\x1b\x1b");
    assert_ne!(state.view, View::Jobs);
}

#[test]
fn a_menu_and_a_dialog_show_their_own_keys_and_follow_the_user_key_map() {
    let topology = fixture("lab-healthy.json");
    let mut keymap = KeyMap::default();
    keymap
        .apply_override("menu", "down", &["n".into()])
        .expect("override");
    keymap
        .apply_override("menu", "back", &["x".into()])
        .expect("override");
    let mut state = state_with(
        DashboardOptions {
            keymap,
            ..options(&topology)
        },
        &topology,
        160,
        48,
    );
    press(&mut state, ":asg\na");
    assert_eq!(state.mode(), Mode::Menu);
    let footer = screen(&state)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(footer.contains("k/n select"), "{footer}");
    assert!(footer.contains("x close"), "{footer}");
    assert!(
        !footer.contains("filter"),
        "list keys while the menu is open: {footer}"
    );
    // `j` is no longer down, `n` is; `q` no longer closes (nor quits), `x` does.
    let first = state.menu.as_ref().map(|m| m.selected);
    press(&mut state, "j");
    assert_eq!(state.menu.as_ref().map(|m| m.selected), first);
    press(&mut state, "n");
    assert_ne!(state.menu.as_ref().map(|m| m.selected), first);
    press(&mut state, "q");
    assert!(state.menu.is_some() && !state.quit);
    press(&mut state, "x");
    assert!(state.menu.is_none());
    // The dialog's footer: its keys, and each of them works.
    press(&mut state, "a\n");
    assert_eq!(state.mode(), Mode::Dialog);
    let footer = screen(&state)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(footer.contains("enter run"), "{footer}");
    assert!(footer.contains("esc cancel"), "{footer}");
    press(&mut state, "\x1b");
    assert!(state.dialog.is_none());
    // The input line's keys are on the line itself.
    press(&mut state, ":");
    let footer = screen(&state)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(footer.contains("tab completes"), "{footer}");
    assert!(footer.contains("esc closes"), "{footer}");
}

#[test]
fn a_failed_job_shows_the_aws_error_and_the_dashboard_stays_usable() {
    let mut state = lab(160, 48);
    let job = start_scale(&mut state);
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Err(JobError {
                code: Some("ValidationError".into()),
                message: "autoscaling SetDesiredCapacity: ValidationError: New SetDesiredCapacity \
                          value 9 is above max value 4 for the AutoScalingGroup."
                    .into(),
            }),
        },
    );
    let text = screen(&state);
    assert!(text.contains("✗ job 1 failed"), "{text}");
    assert!(text.contains("ValidationError"), "{text}");
    press(&mut state, "J");
    let jobs = screen(&state);
    assert!(jobs.contains("is above max value 4"), "{jobs}");
    // Still usable: other views open and another action can start.
    press(&mut state, ":rds\n");
    assert_eq!(state.view, View::List(ListKind::Rds));
    assert_eq!(runs(&press(&mut state, "a\n\n")).len(), 1);
}

#[test]
fn read_only_offers_no_action() {
    let topology = fixture("lab-healthy.json");
    let read_only = DashboardOptions {
        read_only: true,
        ..options(&topology)
    };
    let mut state = state_with(read_only, &topology, 160, 48);
    for list in [":asg\n", ":rds\n", ":ec2\n", ":dr\n"] {
        press(&mut state, list);
        let commands = press(&mut state, "a");
        assert!(state.menu.is_none(), "{list}");
        assert!(screen(&state).contains("read-only: actions are disabled"));
        let commands: Vec<Command> = commands
            .into_iter()
            .chain(press(&mut state, "\n\n1\n"))
            .collect();
        assert!(runs(&commands).is_empty());
        assert!(state.dialog.is_none());
    }
}

/// Runs every job for five seconds, then succeeds; records whether any finished.
struct SlowExecutor(Arc<AtomicBool>);

impl Executor for SlowExecutor {
    fn run(
        &self,
        _work: Work,
        progress: ProgressFn,
    ) -> BoxFuture<'static, Result<String, JobError>> {
        let finished = Arc::clone(&self.0);
        async move {
            progress(Progress::new("SetDesiredCapacity", "accepted", Some(0.1)));
            tokio::time::sleep(Duration::from_secs(5)).await;
            finished.store(true, Ordering::SeqCst);
            Ok("done".into())
        }
        .boxed()
    }
}

#[tokio::test]
async fn input_stays_responsive_while_an_action_runs() {
    let topology = fixture("lab-healthy.json");
    let finished = Arc::new(AtomicBool::new(false));
    let opts = DashboardOptions {
        cached: Some(topology.clone()),
        executor: Some(Arc::new(SlowExecutor(Arc::clone(&finished)))),
        ..options(&topology)
    };
    let source = Arc::new(FixtureSource(topology));
    let (state, buffer) = drive(keys(":asg\na\n\n:rds\n/replica\nd"), source, opts).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the action had not finished"
    );
    assert_eq!(state.jobs.len(), 1);
    assert!(state.jobs[0].running());
    assert_eq!(state.mode(), Mode::Describe);
    let text = text_of(&buffer);
    assert!(text.contains("read_replica_source"), "{text}");
    assert!(text.lines().next().unwrap().contains("⟳ 1 job"), "{text}");
}

/// The dashboard's `:dr` and `haven replicate` list the same rows, in the same order, with the
/// same cells, for the same topology and objectives (S1: they used to disagree on which Regions
/// are DR, and the CLI showed no replicas).
#[test]
fn the_dashboard_dr_view_and_haven_replicate_list_the_same_rows() {
    use clap::Parser;

    use crate::commands::replicate::{ReplicateArgs, policy};
    use crate::dr_table;

    #[derive(Parser)]
    struct Replicate {
        #[command(flatten)]
        args: ReplicateArgs,
    }
    fn normalize(line: &str) -> String {
        let line = line.trim_matches(|c: char| c == '│' || c.is_whitespace());
        let cut = [" → ", " (a:", " (d:"]
            .iter()
            .filter_map(|m| line.find(m))
            .min()
            .unwrap_or(line.len());
        line[..cut].split_whitespace().collect::<Vec<_>>().join(" ")
    }

    let topology = fixture("two-regions.json");
    // As `haven --region ap-northeast-2 replicate --to us-east-1 --all --dry-run` (a stack built
    // by hand: the dashboard protects every resource of a Region without haven stacks).
    let args = Replicate::try_parse_from(["replicate", "--to", "us-east-1", "--all", "--dry-run"])
        .expect("arguments")
        .args;
    let plan = haven_replicate::plan(
        &topology,
        &policy(
            &args,
            None,
            "ap-northeast-2",
            args.to.clone(),
            Default::default(),
        ),
    );
    let cli_rows: Vec<String> = dr_table::text(&plan)
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("will") && !l.starts_with("note"))
        .map(normalize)
        .collect();

    let mut state = state_for(&topology, 200, 60);
    press(&mut state, ":dr\n");
    let dashboard_rows: Vec<String> = screen(&state)
        .lines()
        .filter(|l| l.starts_with("│us-east-1") || l.starts_with("│ap-northeast-2"))
        .map(normalize)
        .collect();
    assert!(cli_rows.len() >= 4, "{cli_rows:#?}");
    assert!(
        cli_rows.iter().any(|r| r.contains("read replica")),
        "{cli_rows:#?}"
    );
    assert_eq!(dashboard_rows, cli_rows);
}

/// A copy that ended failed reads `failed`, and its row's actions remove it before copying
/// again (the remake reuses its name), the removal needing confirmation like any deletion.
#[test]
fn a_failed_copy_row_offers_its_removal_then_the_copy() {
    let mut topology = fixture("lab-healthy.json");
    let dr = topology
        .regions
        .iter_mut()
        .find(|r| r.region == "us-east-1")
        .expect("DR Region");
    let copy = dr
        .images
        .iter_mut()
        .find(|i| i.id == "ami-061d616037b7a56b0")
        .expect("the AMI copy");
    copy.state = "failed".into();
    copy.tags.insert(
        haven_model::relations::SOURCE_TAG.into(),
        "arn:aws:ec2:ap-northeast-2:123456789012:image/ami-0beac34a77b2be7a9".into(),
    );
    let mut state = state_for(&topology, 160, 48);
    press(&mut state, ":dr\n/AMI\n");
    let text = screen(&state);
    let line = text
        .lines()
        .find(|l| l.contains("us-east-1       AMI"))
        .unwrap_or_else(|| panic!("no AMI row in\n{text}"));
    assert!(line.contains("failed (a: copy now)"), "{line}");
    press(&mut state, "a");
    let titles = menu_titles(&state);
    assert!(
        titles[0].starts_with("Delete copy ami-061d616037b7a56b0 (it ended failed"),
        "{titles:?}"
    );
    assert_eq!(titles[1], "Copy to us-east-1", "{titles:?}");
    let menu = state.menu.as_ref().expect("menu");
    assert_eq!(menu.entries[0].risk, Risk::Destructive);
}

/// An empty DR view says why and what makes a DR Region, never "no disaster recovery here".
#[test]
fn an_empty_dr_view_says_there_is_no_dr_region_and_how_to_make_one() {
    let mut topology = fixture("lab-healthy.json");
    topology.regions.retain(|r| r.region == "ap-northeast-2");
    let mut state = state_for(&topology, 200, 48);
    press(&mut state, ":dr\n");
    let text = screen(&state);
    assert!(
        text.contains("no DR Region for ap-northeast-2: none is named"),
        "{text}"
    );
    assert!(text.contains("--to REGION`, makes one"), "{text}");
}

/// The action names live in the model's list, the menu's templates, the menu's default lines
/// and the `haven act` grammar: every entry the menu offers on every row of every fixture must
/// open a dialog whose line is a valid action of the same name.
#[test]
fn every_menu_entry_on_every_fixture_opens_a_valid_action_of_its_name() {
    use rows::{ListKind, RowRef};
    let mut checked = 0;
    for name in ["lab-healthy.json", "lab-degraded.json", "two-regions.json"] {
        let topology = fixture(name);
        let now = now(&topology);
        for (r, region) in topology.regions.iter().enumerate() {
            let lists = [
                (ListKind::Ec2, region.instances.len()),
                (ListKind::Asg, region.auto_scaling_groups.len()),
                (ListKind::Tg, region.target_groups.len()),
                (ListKind::Lb, region.load_balancers.len()),
                (ListKind::Lt, region.launch_templates.len()),
                (ListKind::Rds, region.db_instances.len()),
            ];
            for (kind, rows) in lists {
                for index in 0..rows {
                    let row = RowRef {
                        region: Some(r),
                        index,
                        iam: None,
                    };
                    let policy = haven_model::findings::Policy::default();
                    let Some(found) = menu::for_row(&topology, &policy, kind, row, now) else {
                        continue;
                    };
                    for entry in found.entries {
                        let menu::Seed::Act { line, .. } = &entry.seed else {
                            continue;
                        };
                        let action_name = line.split_whitespace().next().unwrap_or_default();
                        assert!(
                            ActionKind::NAMES.contains(&action_name),
                            "{name} {kind:?} row {index}: {line:?} is not an action name"
                        );
                        let dialog = menu::Dialog::open(entry.seed.clone(), &topology);
                        match &dialog.work {
                            Ok(Work::Act(action)) => {
                                assert_eq!(action.kind.name(), action_name, "{name}: {line:?}")
                            }
                            other => panic!(
                                "{name} {kind:?} row {index}: {:?} opens {other:?}",
                                entry.title
                            ),
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 40, "menu entries checked: {checked}");
}
