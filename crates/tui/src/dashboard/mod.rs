//! The dashboard: a k9s-like terminal view of an HA stack.
//!
//! One [`State`] is owned by the run loop; terminal events, ticks and job results become
//! [`Action`]s handled by [`update`], which returns the [`Command`]s (background jobs) to start;
//! [`draw`] renders the state and nothing else. Discovery runs in a spawned task with owned
//! inputs and comes back tagged with its job id, so input never waits on AWS.

pub mod action_log;
pub mod alarms;
pub mod deploys;
pub mod describe;
pub mod fit;
pub mod front_door;
pub mod help;
pub mod insight;
pub mod jobs;
pub mod keymap;
pub mod layout;
pub mod links;
pub mod lists;
pub mod map;
pub mod menu;
pub mod metrics_pane;
pub mod notice;
pub mod render;
pub mod rows;
pub mod sample_signals;
pub mod sparkline;
pub mod state;
pub mod style;
pub mod tables;
pub mod timeline;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEventKind};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use haven_model::findings::Policy;
use haven_model::refresh::ReadPlan;
use haven_model::signals::Signals;
use haven_model::{Part, Piece, Topology};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use jobs::{Executor, Job, JobError, JobId, JobState, ProgressFn, Work};
pub use keymap::{KeyAction, KeyMap, KeySpec, Mode};
pub use render::draw;
pub use rows::ListKind;
pub use state::{Action, Command, ReadKind, Settings, State, View, update};

/// Where pieces of a read go as they arrive.
pub type PieceSink = Arc<dyn Fn(Piece) + Send + Sync>;

/// Where the dashboard gets its topology from (the AWS discovery in the binary, fixtures in tests).
pub trait TopologySource: Send + Sync + 'static {
    /// Discovers these Regions whole, and account-wide IAM when `include_iam`. Never fails as a
    /// whole: failures go into `Topology::errors`.
    fn fetch(&self, regions: Vec<String>, include_iam: bool) -> BoxFuture<'static, Topology>;

    /// Reads what `plan` asks and hands each piece to `sink` as soon as it is read; the future
    /// ends when every piece is handed over. The default reads the Regions whole with
    /// [`TopologySource::fetch`] and hands over the planned parts of the result (a test
    /// source); the AWS source streams.
    fn read(&self, plan: ReadPlan, sink: PieceSink) -> BoxFuture<'static, ()> {
        let regions: Vec<String> = plan.regions.iter().map(|r| r.region.clone()).collect();
        let whole = self.fetch(regions, plan.global.contains(&Part::Iam));
        Box::pin(async move {
            let topology = whole.await;
            for piece in pieces_for(&plan.pending(), topology) {
                sink(piece);
            }
        })
    }

    /// Reads the live signals (metrics, scaling and RDS events) of what `topology` holds. Never
    /// fails as a whole: failures go into `Signals::unavailable`. The default reads nothing (a
    /// test source without signals); the AWS source reads CloudWatch.
    fn signals(&self, topology: Arc<Topology>) -> BoxFuture<'static, Signals> {
        let _ = topology;
        Box::pin(async { Signals::default() })
    }
}

/// Hands a whole topology to the state as the pieces of the read in flight, then ends that
/// read: what a source that reads whole does (tests, fuzzing).
pub fn deliver(state: &mut State, job: JobId, topology: Topology) -> Vec<Command> {
    let asked = state.loading().clone();
    for piece in pieces_for(&asked, topology) {
        update(
            state,
            Action::Piece {
                job,
                piece: Box::new(piece),
            },
        );
    }
    update(state, Action::Fetched { job })
}

/// The pieces of a whole topology for these (Region, part) pairs, and its identity; each error
/// goes with the pair of its part ([`Part::of_error`]).
fn pieces_for(asked: &BTreeSet<(Option<String>, Part)>, topology: Topology) -> Vec<Piece> {
    let mut slots: Vec<(Option<String>, Part)> = vec![(None, Part::Identity)];
    slots.extend(asked.iter().filter(|(_, p)| *p != Part::Identity).cloned());
    let mut errors: Vec<Vec<haven_model::DiscoveryError>> = vec![Vec::new(); slots.len()];
    for error in &topology.errors {
        let slot = slots.iter().position(|(region, part)| {
            *region == error.region && Part::of_error(error).is_some_and(|p| part.answers(p))
        });
        if let Some(i) = slot {
            errors[i].push(error.clone());
        }
    }
    slots
        .into_iter()
        .zip(errors)
        .map(|((region, part), errors)| match region {
            None => {
                let mut fragment = Topology::new(topology.taken_at);
                match part {
                    Part::Identity => {
                        fragment.account_id.clone_from(&topology.account_id);
                        fragment.caller_arn.clone_from(&topology.caller_arn);
                    }
                    Part::Iam => fragment.iam.clone_from(&topology.iam),
                    Part::Dns => fragment.dns.clone_from(&topology.dns),
                    _ => {}
                }
                Piece::global(part, fragment, errors)
            }
            Some(code) => {
                let fragment = match topology.region(&code) {
                    Some(region) => haven_model::fragment_of(region, part),
                    None => haven_model::RegionTopology {
                        region: code,
                        ..haven_model::RegionTopology::default()
                    },
                };
                Piece::regional(part, fragment, errors)
            }
        })
        .collect()
}

/// The clock the dashboard reads on every tick (frozen in tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The refresh interval when the config file does not set one.
pub const DEFAULT_REFRESH_SECONDS: u64 = 30;

/// How often the dashboard reads everything (networks, security groups, templates…) when the
/// config file does not say; between two, the refresh interval reads only what changes on its
/// own.
pub const DEFAULT_FULL_REFRESH_SECONDS: u64 = 1800;

/// How often the dashboard's auto-refresh reads IAM too, when the config file does not say:
/// IAM is account-wide, costs several calls per user and role, and rarely changes.
pub const DEFAULT_IAM_REFRESH_SECONDS: u64 = 600;

/// How often the live signals are read when the config file does not say: CloudWatch's period
/// is a minute, so a shorter interval would read the same points again.
pub const DEFAULT_SIGNALS_SECONDS: u64 = 60;

/// How the dashboard runs.
#[derive(Clone)]
pub struct DashboardOptions {
    /// Regions to discover (empty = the SDK's default Region, as the source decides).
    pub regions: Vec<String>,
    /// Interval of the live read (instance states, target health, capacity, DB status…).
    pub refresh: Duration,
    /// Interval of the full discovery.
    pub full_refresh: Duration,
    /// How often an auto-refresh reads IAM too (`r` always does).
    pub iam_refresh: Duration,
    /// How often the live signals are read (at most one read per Region per interval).
    pub signals: Duration,
    /// Disable every action that changes AWS; shows a `READ-ONLY` badge.
    pub read_only: bool,
    /// Shown at once while the first refresh runs (the last topology from the cache file).
    pub cached: Option<Topology>,
    /// Where the newest topology is written after each refresh.
    pub cache_path: Option<PathBuf>,
    /// Key bindings.
    pub keymap: KeyMap,
    /// Shown in the header, e.g. the endpoint URL of a local emulator.
    pub endpoint_label: Option<String>,
    /// The clock (defaults to the system clock).
    pub clock: Clock,
    /// How often the clock is read and the screen redrawn.
    pub tick: Duration,
    /// What findings, AZ loss and DR are judged against.
    pub policy: Policy,
    /// Runs actions and DR copies; `None` offers no action.
    pub executor: Option<Arc<dyn Executor>>,
    /// A warning shown in the footer at start (e.g. an ignored key map).
    pub notice: Option<String>,
    /// Where the executor logs actions (shown in the Jobs view): the data directory's action
    /// log, where `haven act` writes too; `None` when nothing is logged.
    pub action_log: Option<PathBuf>,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        Self {
            regions: Vec::new(),
            refresh: Duration::from_secs(DEFAULT_REFRESH_SECONDS),
            full_refresh: Duration::from_secs(DEFAULT_FULL_REFRESH_SECONDS),
            iam_refresh: Duration::from_secs(DEFAULT_IAM_REFRESH_SECONDS),
            signals: Duration::from_secs(DEFAULT_SIGNALS_SECONDS),
            read_only: false,
            cached: None,
            cache_path: None,
            keymap: KeyMap::default(),
            endpoint_label: None,
            clock: Arc::new(Utc::now),
            tick: Duration::from_millis(250),
            policy: Policy::default(),
            executor: None,
            notice: None,
            action_log: None,
        }
    }
}

impl std::fmt::Debug for DashboardOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardOptions")
            .field("regions", &self.regions)
            .field("refresh", &self.refresh)
            .field("full_refresh", &self.full_refresh)
            .field("iam_refresh", &self.iam_refresh)
            .field("signals", &self.signals)
            .field("read_only", &self.read_only)
            .field("cached", &self.cached.is_some())
            .field("cache_path", &self.cache_path)
            .field("endpoint_label", &self.endpoint_label)
            .field("executor", &self.executor.is_some())
            .field("action_log", &self.action_log)
            .finish_non_exhaustive()
    }
}

impl DashboardOptions {
    /// The initial state these options describe, at the clock's current time.
    pub fn initial_state(&self) -> State {
        self.state_with(self.cached.clone())
    }

    /// The initial state with `cached` as the last topology seen.
    fn state_with(&self, cached: Option<Topology>) -> State {
        let mut state = State::new(
            Settings {
                regions: self.regions.clone(),
                refresh: self.refresh,
                full_refresh: self.full_refresh,
                iam_refresh: self.iam_refresh,
                signals_interval: self.signals,
                read_only: self.read_only,
                cache_path: self.cache_path.clone(),
                endpoint_label: self.endpoint_label.clone(),
                policy: self.policy.clone(),
                action_log: self.action_log.clone(),
            },
            self.keymap.clone(),
            cached,
            (self.clock)(),
        );
        state.message = self.notice.clone().map(|text| state::Message {
            text,
            tone: style::Tone::Warn,
        });
        state
    }
}

/// Runs the dashboard on any backend with any event stream until the user quits or the stream
/// ends; returns the final state.
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    events: S,
    source: Arc<dyn TopologySource>,
    options: DashboardOptions,
) -> anyhow::Result<State>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = Event> + Unpin,
{
    let clock = Arc::clone(&options.clock);
    // The cached topology moves into the state: a copy of 10,000 resources would delay the
    // first frame.
    let mut options = options;
    let cached = options.cached.take();
    let mut state = options.state_with(cached);
    let mut events = events.fuse();
    let (results_tx, mut results) = mpsc::unbounded_channel::<Action>();
    let mut fetch_task: Option<JoinHandle<()>> = None;
    // The state never asks for a second signals read while one runs, so one handle is enough;
    // it is only kept to stop the read on quit.
    let mut signals_task: Option<JoinHandle<()>> = None;
    let mut ticker = tokio::time::interval(options.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let size = terminal.size()?;
    let mut pending = vec![Action::Resize(size.width, size.height), Action::Start];
    loop {
        for action in pending.drain(..) {
            for command in update(&mut state, action) {
                match command {
                    Command::Quit => {}
                    Command::Run { job, work } => {
                        let tx = results_tx.clone();
                        let Some(executor) = &options.executor else {
                            let _ = tx.send(Action::JobDone {
                                job,
                                result: Err(JobError {
                                    code: None,
                                    message: "this dashboard cannot run actions".into(),
                                }),
                            });
                            continue;
                        };
                        tracing::info!(job, work = %work.sentence(), "job started");
                        let progress_tx = tx.clone();
                        let progress: ProgressFn = Arc::new(move |progress| {
                            let _ = progress_tx.send(Action::JobProgress { job, progress });
                        });
                        let run = executor.run(work, progress);
                        tokio::spawn(async move {
                            let result = run.await;
                            let _ = tx.send(Action::JobDone { job, result });
                        });
                    }
                    Command::Fetch { job, plan } => {
                        if let Some(old) = fetch_task.take() {
                            old.abort();
                        }
                        let tx = results_tx.clone();
                        let piece_tx = results_tx.clone();
                        let sink: PieceSink = Arc::new(move |piece| {
                            let _ = piece_tx.send(Action::Piece {
                                job,
                                piece: Box::new(piece),
                            });
                        });
                        tracing::info!(job, parts = plan.pending().len(), "refresh started");
                        let read = source.read(plan, sink);
                        fetch_task = Some(tokio::spawn(async move {
                            read.await;
                            // The loop may be gone (quit); nothing to do then.
                            let _ = tx.send(Action::Fetched { job });
                        }));
                    }
                    Command::ReadActionLog { path } => {
                        let tx = results_tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let _ = tx.send(Action::ActionLogRead(action_log::read(&path)));
                        });
                    }
                    Command::FetchSignals { job, topology } => {
                        let tx = results_tx.clone();
                        let read = source.signals(topology);
                        tracing::info!(job, "signals read started");
                        signals_task = Some(tokio::spawn(async move {
                            let signals = read.await;
                            let _ = tx.send(Action::SignalsRead {
                                job,
                                signals: Box::new(signals),
                            });
                        }));
                    }
                    Command::WriteCache { path, topology } => {
                        let tx = results_tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let result = crate::cache::write_cached_topology(&path, &topology)
                                .map_err(|e| format!("{}: {e}", path.display()));
                            let _ = tx.send(Action::CacheWritten(result));
                        });
                    }
                }
            }
        }
        if state.quit {
            break;
        }
        // Pieces that arrived together are drawn once.
        state.settle();
        terminal.draw(|frame| draw(frame, &state))?;

        tokio::select! {
            event = events.next() => match event {
                None => break,
                Some(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                    pending.push(Action::Key(key));
                }
                Some(Event::Resize(width, height)) => {
                    terminal.resize(Rect::new(0, 0, width, height))?;
                    pending.push(Action::Resize(width, height));
                }
                Some(_) => {}
            },
            Some(result) = results.recv() => {
                pending.push(result);
                // Whatever else has arrived meanwhile is handled before the next frame.
                while let Ok(more) = results.try_recv() {
                    pending.push(more);
                }
            }
            _ = ticker.tick() => pending.push(Action::Tick(clock())),
        }
    }
    for task in [fetch_task, signals_task].into_iter().flatten() {
        task.abort();
    }
    Ok(state)
}

/// Runs the dashboard in the real terminal: raw mode and the alternate screen, restored on quit,
/// on error and on panic.
pub async fn run_terminal(
    source: Arc<dyn TopologySource>,
    options: DashboardOptions,
) -> anyhow::Result<()> {
    // `try_init` installs a panic hook that restores the terminal before the panic is printed.
    let mut terminal = ratatui::try_init()?;
    // A terminal that cannot be read any more ends the dashboard rather than spinning on errors.
    let events = crossterm::event::EventStream::new()
        .take_while(|event| {
            if let Err(e) = event {
                tracing::error!(error = %e, "cannot read terminal events");
            }
            futures::future::ready(event.is_ok())
        })
        .filter_map(|event| futures::future::ready(event.ok()));
    let result = run(&mut terminal, Box::pin(events), source, options).await;
    ratatui::try_restore()?;
    result.map(|_| ())
}
