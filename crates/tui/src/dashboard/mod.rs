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
pub mod desk;
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
pub mod profiles;
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

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEventKind};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use haven_model::findings::Policy;
use haven_model::refresh::ReadPlan;
use haven_model::signals::{RegionAsk, Signals};
use haven_model::{Part, Piece, Topology};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use style::Tone;

pub use desk::{Desk, SeatId};
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

    /// Reads the live signals (metrics, scaling and RDS events) each Region's ask names. Never
    /// fails as a whole: failures go into `Signals::unavailable`. The default reads nothing (a
    /// test source without signals); the AWS source reads CloudWatch.
    fn signals(&self, asks: Vec<RegionAsk>) -> BoxFuture<'static, Signals> {
        let _ = asks;
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

/// How often the dashboard's auto-refresh reads IAM too, when the config file does not say: with
/// the full discovery, as IAM is account-wide, costs several calls per user and role (hundreds
/// in an account with SSO or Control Tower), and rarely changes; `R` reads it at once.
pub const DEFAULT_IAM_REFRESH_SECONDS: u64 = DEFAULT_FULL_REFRESH_SECONDS;

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
    /// The profile (or `[[accounts]]` entry) shown, when one was named (the header says it).
    pub profile: Option<String>,
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
            profile: None,
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
            .field("profile", &self.profile)
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
                profile: self.profile.clone(),
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

/// What shows one account: where its data comes from and where its actions go (its
/// options: its Regions, cache file, executor, action log).
pub struct AccountView {
    /// The profile or `[[accounts]]` name.
    pub name: String,
    /// Its discovery.
    pub source: Arc<dyn TopologySource>,
    /// Its settings.
    pub options: DashboardOptions,
}

/// An account to open the dashboard with: signed in, or why not.
pub enum Opening {
    /// Signed in.
    Ready(Box<AccountView>),
    /// Could not sign in: its place says why while the others work.
    Failed {
        /// The profile or `[[accounts]]` name.
        name: String,
        /// Why, in one sentence.
        reason: String,
    },
}

/// Says a sentence to the person, in the active account's footer.
pub type Say = Arc<dyn Fn(String) + Send + Sync>;

/// Signs in to profiles from inside the dashboard (`:profile`).
pub trait Connector: Send + Sync + 'static {
    /// Every profile of the shared files and `[[accounts]]` entry, with what stands in the way
    /// of each now (an expired SSO session).
    fn choices(&self) -> Vec<profiles::ProfileRow>;

    /// Signs in to one, telling the person with `say` what it needs of them meanwhile (an SSO
    /// login's page and code); the error says why not and what would fix it.
    fn connect(&self, name: String, say: Say) -> BoxFuture<'static, Result<AccountView, String>>;
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
    // The cached topology stays with the account: a copy of 10,000 resources would delay the
    // first frame.
    let mut options = options;
    let cached = options.cached.take();
    let shared = options.clone();
    options.cached = cached;
    let view = AccountView {
        name: options.profile.clone().unwrap_or_else(|| "default".into()),
        source,
        options,
    };
    let mut desk = run_desk(
        terminal,
        events,
        vec![Opening::Ready(Box::new(view))],
        shared,
        None,
    )
    .await?;
    let active = desk.active;
    Ok(desk.seats.swap_remove(active).state)
}

/// What one account has running in the background.
#[derive(Default)]
struct SeatWork {
    source: Option<Arc<dyn TopologySource>>,
    executor: Option<Arc<dyn Executor>>,
    fetch: Option<JoinHandle<()>>,
    signals: Option<JoinHandle<()>>,
}

impl SeatWork {
    fn stop(self) {
        for task in [self.fetch, self.signals].into_iter().flatten() {
            task.abort();
        }
    }
}

/// What comes back from the background.
enum Report {
    /// For one account's state.
    Seat(SeatId, Action),
    /// A `:profile` sign-in ended.
    Connected {
        /// The place it takes.
        replacing: SeatId,
        /// The profile.
        name: String,
        /// The account, or why not.
        result: Result<Box<AccountView>, String>,
    },
    /// A `:profile` sign-in asks something of the person (an SSO login's page and code).
    Said {
        /// The profile.
        name: String,
        /// What it asks.
        text: String,
    },
}

/// The run loop's side of the desk: the accounts' background work and the way back.
struct Loop {
    work: HashMap<SeatId, SeatWork>,
    tx: mpsc::UnboundedSender<Report>,
    connector: Option<Arc<dyn Connector>>,
    choices: Vec<profiles::ProfileRow>,
    pending: Vec<(SeatId, Action)>,
    screen: (u16, u16),
    /// The profile rows last told to the accounts.
    told: Vec<profiles::ProfileRow>,
}

impl Loop {
    /// Seats an account: in `replacing`'s place, or at the end.
    fn seat(&mut self, desk: &mut Desk, view: AccountView, replacing: Option<SeatId>) {
        let AccountView {
            name,
            source,
            mut options,
        } = view;
        let cached = options.cached.take();
        let state = options.state_with(cached);
        let id = match replacing {
            Some(old) => {
                if let Some(work) = self.work.remove(&old) {
                    work.stop();
                }
                desk.replace(old, name, state)
            }
            None => desk.push(name, state, None),
        };
        self.work.insert(
            id,
            SeatWork {
                source: Some(source),
                executor: options.executor.clone(),
                ..SeatWork::default()
            },
        );
        self.pending
            .push((id, Action::Resize(self.screen.0, self.screen.1)));
        self.pending.push((id, Action::Start));
    }

    /// Starts what `command` of seat `id` asks.
    fn start(&mut self, desk: &mut Desk, id: SeatId, command: Command) {
        let tx = self.tx.clone();
        let report = move |action: Action| {
            let _ = tx.send(Report::Seat(id, action));
        };
        match command {
            Command::Quit => {}
            Command::SwitchProfile { name } => self.switch_profile(desk, name),
            Command::NextAccount => desk.next_account(),
            Command::Run { job, work } => {
                let executor = self.work.get(&id).and_then(|w| w.executor.clone());
                let Some(executor) = executor else {
                    report(Action::JobDone {
                        job,
                        result: Err(JobError {
                            code: None,
                            message: "this dashboard cannot run actions".into(),
                        }),
                    });
                    return;
                };
                tracing::info!(job, work = %work.sentence(), "job started");
                let progress_report = report.clone();
                let progress: ProgressFn = Arc::new(move |progress| {
                    progress_report(Action::JobProgress { job, progress });
                });
                let run = executor.run(work, progress);
                tokio::spawn(async move {
                    let result = run.await;
                    report(Action::JobDone { job, result });
                });
            }
            Command::Fetch { job, plan } => {
                let Some(work) = self.work.get_mut(&id) else {
                    return;
                };
                let Some(source) = work.source.clone() else {
                    // An account that could not sign in reads nothing.
                    self.pending.push((id, Action::Fetched { job }));
                    return;
                };
                if let Some(old) = work.fetch.take() {
                    old.abort();
                }
                let piece_report = report.clone();
                let sink: PieceSink = Arc::new(move |piece| {
                    piece_report(Action::Piece {
                        job,
                        piece: Box::new(piece),
                    });
                });
                tracing::info!(job, parts = plan.pending().len(), "refresh started");
                let read = source.read(plan, sink);
                work.fetch = Some(tokio::spawn(async move {
                    read.await;
                    // The loop may be gone (quit); nothing to do then.
                    report(Action::Fetched { job });
                }));
            }
            Command::ReadActionLog { path, account } => {
                tokio::task::spawn_blocking(move || {
                    let events = action_log::read(&path, account.as_deref());
                    report(Action::ActionLogRead(events));
                });
            }
            Command::FetchSignals { job, asks } => {
                let Some(work) = self.work.get_mut(&id) else {
                    return;
                };
                let Some(source) = work.source.clone() else {
                    return;
                };
                let read = source.signals(asks);
                tracing::info!(job, "signals read started");
                // The state never asks for a second signals read while one runs, so one handle
                // is enough; it is only kept to stop the read on quit.
                work.signals = Some(tokio::spawn(async move {
                    let signals = read.await;
                    report(Action::SignalsRead {
                        job,
                        signals: Box::new(signals),
                    });
                }));
            }
            Command::WriteCache { path, topology } => {
                tokio::task::spawn_blocking(move || {
                    let result = crate::cache::write_cached_topology(&path, &topology)
                        .map_err(|e| format!("{}: {e}", path.display()));
                    report(Action::CacheWritten(result));
                });
            }
        }
    }

    /// `:profile NAME`: the keys go to it when it is shown; otherwise it signs in, and takes
    /// the active account's place once it has (an account that could not sign in tries again
    /// in its own place).
    fn switch_profile(&mut self, desk: &mut Desk, name: String) {
        let shown = desk.position(&name);
        if let Some(i) = shown
            && desk.seats[i].problem.is_none()
        {
            desk.active = i;
            desk.active_mut()
                .state
                .say(format!("keys go to {name} now"), Tone::Dim);
            return;
        }
        let Some(connector) = self.connector.clone() else {
            desk.active_mut()
                .state
                .say("this dashboard cannot switch profiles", Tone::Warn);
            return;
        };
        if desk.connecting.contains(&name) {
            desk.active_mut()
                .state
                .say(format!("already signing in to {name}…"), Tone::Dim);
            return;
        }
        let replacing = shown.map_or(desk.active().id, |i| desk.seats[i].id);
        desk.connecting.push(name.clone());
        desk.active_mut()
            .state
            .say(format!("signing in to {name}…"), Tone::Dim);
        let tx = self.tx.clone();
        let said = (self.tx.clone(), name.clone());
        let say: Say = Arc::new(move |text| {
            let (tx, name) = &said;
            let _ = tx.send(Report::Said {
                name: name.clone(),
                text,
            });
        });
        let connect = connector.connect(name.clone(), say);
        tokio::spawn(async move {
            let result = connect.await.map(Box::new);
            let _ = tx.send(Report::Connected {
                replacing,
                name,
                result,
            });
        });
    }

    /// A `:profile` sign-in ended: the account takes its place, or the reason is said.
    fn connected(
        &mut self,
        desk: &mut Desk,
        replacing: SeatId,
        name: String,
        result: Result<Box<AccountView>, String>,
    ) {
        desk.connecting.retain(|n| *n != name);
        desk.asks.retain(|(n, _)| *n != name);
        desk.failed.retain(|(n, _)| *n != name);
        match result {
            Ok(view) => {
                self.seat(desk, *view, Some(replacing));
                let shown = desk.active().name.clone();
                desk.active_mut()
                    .state
                    .say(format!("showing {shown}"), Tone::Good);
            }
            Err(why) => {
                if let Some(seat) = desk.seat_mut(replacing)
                    && seat.name == name
                    && seat.problem.is_some()
                {
                    seat.problem = Some(why.clone());
                }
                desk.active_mut()
                    .state
                    .say(format!("{name}: {why}"), Tone::Bad);
                desk.failed.push((name, why));
            }
        }
    }

    /// Tells every account where each profile stands, when that has changed (an account
    /// signed in, failed, was switched to, or learnt its id).
    fn tell_profiles(&mut self, desk: &mut Desk) {
        let rows = desk.profile_rows(&self.choices);
        if rows != self.told {
            desk.tell_profiles(&rows);
            self.told = rows;
        }
    }
}

/// Runs the dashboard over several accounts (each an [`Opening`]) until the user quits or
/// the stream ends; `shared` gives the clock, the tick and the settings of an account that
/// could not sign in; `connector` lets `:profile` sign in to others. Returns the desk.
pub async fn run_desk<B, S>(
    terminal: &mut Terminal<B>,
    events: S,
    openings: Vec<Opening>,
    shared: DashboardOptions,
    connector: Option<Arc<dyn Connector>>,
) -> anyhow::Result<Desk>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = Event> + Unpin,
{
    let clock = Arc::clone(&shared.clock);
    let mut events = events.fuse();
    let (tx, mut results) = mpsc::unbounded_channel::<Report>();
    let mut ticker = tokio::time::interval(shared.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let size = terminal.size()?;
    let mut desk = Desk::new();
    let mut lp = Loop {
        work: HashMap::new(),
        tx,
        choices: connector.as_ref().map(|c| c.choices()).unwrap_or_default(),
        connector,
        pending: Vec::new(),
        screen: (size.width, size.height),
        told: Vec::new(),
    };
    for opening in openings {
        match opening {
            Opening::Ready(view) => lp.seat(&mut desk, *view, None),
            Opening::Failed { name, reason } => {
                let mut options = shared.clone();
                options.profile = Some(name.clone());
                let state = options.state_with(None);
                desk.push(name, state, Some(reason));
            }
        }
    }
    if desk.seats.is_empty() {
        anyhow::bail!("no account to show");
    }
    loop {
        while !lp.pending.is_empty() {
            for (id, action) in std::mem::take(&mut lp.pending) {
                let Some(seat) = desk.seat_mut(id) else {
                    continue;
                };
                for command in update(&mut seat.state, action) {
                    lp.start(&mut desk, id, command);
                }
            }
        }
        lp.tell_profiles(&mut desk);
        if desk.seats.iter().any(|s| s.state.quit) {
            break;
        }
        // Pieces that arrived together are drawn once.
        for seat in &mut desk.seats {
            seat.state.settle();
        }
        terminal.draw(|frame| desk::draw_desk(frame, &desk))?;

        let report = |lp: &mut Loop, desk: &mut Desk, report: Report| match report {
            Report::Seat(id, action) => lp.pending.push((id, action)),
            Report::Connected {
                replacing,
                name,
                result,
            } => lp.connected(desk, replacing, name, result),
            Report::Said { name, text } => {
                desk.asks.retain(|(n, _)| *n != name);
                desk.asks.push((name, text.clone()));
                desk.active_mut().state.say(text, Tone::Warn);
            }
        };
        tokio::select! {
            event = events.next() => match event {
                None => break,
                Some(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                    lp.pending.push((desk.active().id, Action::Key(key)));
                }
                Some(Event::Resize(width, height)) => {
                    terminal.resize(Rect::new(0, 0, width, height))?;
                    lp.screen = (width, height);
                    for seat in &desk.seats {
                        lp.pending.push((seat.id, Action::Resize(width, height)));
                    }
                }
                Some(_) => {}
            },
            Some(first) = results.recv() => {
                report(&mut lp, &mut desk, first);
                // Whatever else has arrived meanwhile is handled before the next frame.
                while let Ok(more) = results.try_recv() {
                    report(&mut lp, &mut desk, more);
                }
            }
            _ = ticker.tick() => {
                let now = clock();
                for seat in &desk.seats {
                    lp.pending.push((seat.id, Action::Tick(now)));
                }
            }
        }
    }
    for (_, work) in lp.work.drain() {
        work.stop();
    }
    Ok(desk)
}

/// Runs the dashboard over these accounts in the real terminal: raw mode and the alternate
/// screen, restored on quit, on error and on panic.
pub async fn run_desk_terminal(
    openings: Vec<Opening>,
    shared: DashboardOptions,
    connector: Option<Arc<dyn Connector>>,
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
    let result = run_desk(&mut terminal, Box::pin(events), openings, shared, connector).await;
    ratatui::try_restore()?;
    result.map(|_| ())
}
