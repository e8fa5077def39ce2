//! The dashboard's state, the actions it reacts to and `update`, which turns an action into a
//! new state and the commands (background jobs) to start. No I/O happens here.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use haven_model::action::Progress;
use haven_model::findings::{self, Policy};
use haven_model::refresh::ReadPlan;
use haven_model::signals::{self, Event, Signals};
use haven_model::{Part, Piece, Service, Topology};

use super::alarms;
use super::deploys::{self, DeployOp};
use super::describe::describe_lines;
use super::help::{self, CommandRun};
use super::insight;
pub use super::jobs::JobId;
use super::jobs::{Job, JobError, JobState, Work};
use super::keymap::{KeyAction, KeyMap, Mode};
use super::layout;
pub use super::layout::RegionFocus;
use super::links;
use super::lists;
use super::map::{self, RegionMap};
use super::menu::{self, Dialog, Menu, Seed};
use super::metrics_pane;
use super::profiles::{self, ProfileRow};
use super::rows::{ListKind, ListModel, RowRef};
use super::sparkline::Live;
use super::style::Tone;
use super::tables;
use super::timeline;

mod refresh;
pub use refresh::{CHANGED_FOR, ReadKind};

/// Everything the dashboard reacts to.
#[derive(Debug)]
pub enum Action {
    /// The dashboard opened: start the first refresh.
    Start,
    /// A key was pressed.
    Key(KeyEvent),
    /// Time passed; the clock reads this.
    Tick(DateTime<Utc>),
    /// The terminal has a new size (columns, rows).
    Resize(u16, u16),
    /// A piece of a refresh arrived: one part of one Region (or IAM, Route 53) read.
    Piece {
        /// The job it answers.
        job: JobId,
        /// What was read (failures inside `errors`).
        piece: Box<Piece>,
    },
    /// A refresh handed over every piece.
    Fetched {
        /// The job it answers.
        job: JobId,
    },
    /// A signals read finished.
    SignalsRead {
        /// The read it answers.
        job: JobId,
        /// What was read (failures inside `unavailable`).
        signals: Box<Signals>,
    },
    /// The cache file was written (or not).
    CacheWritten(Result<(), String>),
    /// A job reported progress.
    JobProgress {
        /// The job.
        job: JobId,
        /// What it reported.
        progress: Progress,
    },
    /// A job ended.
    JobDone {
        /// The job.
        job: JobId,
        /// What was done, or the error.
        result: Result<String, JobError>,
    },
    /// The action log was read: haven's actions as events, oldest first.
    ActionLogRead(Vec<Event>),
    /// The profiles `:profile` lists, and where each stands (the run loop tells every account).
    Profiles(Vec<ProfileRow>),
}

/// Work for the run loop to start; its result comes back as an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read what the plan asks, piece by piece.
    Fetch {
        /// Tag of the pieces.
        job: JobId,
        /// What to read.
        plan: ReadPlan,
    },
    /// Read the live signals of what the topology shown holds.
    FetchSignals {
        /// Tag of the result.
        job: JobId,
        /// What each Region's read asks (the read holds no copy of the topology).
        asks: Vec<signals::RegionAsk>,
    },
    /// Write the topology to the cache file.
    WriteCache {
        /// The file.
        path: PathBuf,
        /// What to write.
        topology: Arc<Topology>,
    },
    /// Run an action or a replication operation in the background.
    Run {
        /// Tag of its progress and result.
        job: JobId,
        /// What to run.
        work: Work,
    },
    /// Read haven's actions from the action log (for `:events`).
    ReadActionLog {
        /// The log.
        path: PathBuf,
        /// The account whose actions to keep (every account writes to the one log).
        account: Option<String>,
    },
    /// Show this profile (or `[[accounts]]` entry) in the active account's place, or move the
    /// keys to it when it is shown already.
    SwitchProfile {
        /// Its name.
        name: String,
    },
    /// Move the keys to the next account shown (several side by side).
    NextAccount,
    /// Leave the dashboard.
    Quit,
}

/// Settings fixed for the session.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Regions to discover.
    pub regions: Vec<String>,
    /// Interval of the live read (what changes on its own).
    pub refresh: Duration,
    /// Interval of the full discovery (networks, security groups, templates… everything).
    pub full_refresh: Duration,
    /// How old the last IAM read may get before an auto-refresh reads IAM again.
    pub iam_refresh: Duration,
    /// How often the live signals are read.
    pub signals_interval: Duration,
    /// No action may change AWS.
    pub read_only: bool,
    /// Where the newest topology is written after each refresh.
    pub cache_path: Option<PathBuf>,
    /// Shown in the header (e.g. the emulator's endpoint URL).
    pub endpoint_label: Option<String>,
    /// What findings, AZ loss and DR are judged against.
    pub policy: Policy,
    /// Where the actions run from the dashboard are logged (shown in the Jobs view).
    pub action_log: Option<PathBuf>,
    /// The profile (or `[[accounts]]` entry) this dashboard shows, when one was named.
    pub profile: Option<String>,
}

/// The views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The map (home).
    Map,
    /// A resource list.
    List(ListKind),
    /// The key bindings.
    Help,
    /// Running and finished jobs.
    Jobs,
}

/// The describe pane over a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Describe {
    /// Title (kind and id).
    pub title: String,
    /// YAML lines.
    pub lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
}

/// An open list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListView {
    /// Its rows (all of them).
    pub model: Arc<ListModel>,
    /// The filter text.
    pub filter: String,
    /// Sort column and reversed.
    pub sort: Option<(usize, bool)>,
    /// Indices of the rows shown, in order.
    pub rows: Vec<usize>,
    /// Selected position in `rows`.
    pub selected: usize,
    /// First position shown.
    pub offset: usize,
    /// The describe pane, when open.
    pub describe: Option<Describe>,
}

/// What the input line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `:` command.
    Command,
    /// `/` filter.
    Filter,
}

/// The input line being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What it is for.
    pub kind: InputKind,
    /// The text so far.
    pub text: String,
}

/// The Jobs view: the job under the cursor and the one shown whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobsView {
    /// Position of the job under the cursor, newest first.
    pub selected: usize,
    /// The job shown whole (`d` or Enter).
    pub open: Option<JobId>,
    /// First line shown of the job shown whole.
    pub scroll: usize,
}

/// The refresh in flight and the last ones done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refresh {
    /// The job awaited.
    pub job: Option<JobId>,
    /// The next id to hand out.
    pub next_job: JobId,
    /// What the job awaited reads.
    pub kind: ReadKind,
    /// When the job awaited started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the last awaited job finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// When the last full discovery started (its interval counts from there).
    pub full_at: Option<DateTime<Utc>>,
    /// The job awaited reads IAM too.
    pub with_iam: bool,
    /// When the last refresh that read IAM finished.
    pub iam_at: Option<DateTime<Utc>>,
    /// (Region, part) pairs the job awaited has not answered yet.
    pub loading: std::collections::BTreeSet<(Option<String>, Part)>,
    /// Rows (`region/id`) that changed, and when: highlighted for [`CHANGED_FOR`].
    pub changed: Vec<(String, DateTime<Utc>)>,
    /// Pieces changed the topology since it was last drawn from.
    pub dirty: bool,
    /// An action ended while a read was running, which may have read before its effect: the
    /// view's parts are read again as soon as that read ends.
    pub view_after: bool,
}

/// The signals read in flight and the last one started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignalsRefresh {
    /// The read awaited.
    pub job: Option<JobId>,
    /// The next id to hand out.
    pub next_job: JobId,
    /// When the last read started (the interval counts from there).
    pub started_at: Option<DateTime<Utc>>,
    /// When the last awaited read finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// What each read asks beyond the minute's series (events, five-minute series).
    pub watch: signals::SignalsWatch,
}

/// The most changes seen between discoveries that the dashboard keeps (oldest dropped).
pub const SEEN_EVENTS_CAP: usize = 1000;

/// A one-line message in the footer until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Text.
    pub text: String,
    /// Colour.
    pub tone: Tone,
}

/// Everything the dashboard shows; owned by the run loop, changed only by [`update`].
#[derive(Debug, Clone)]
pub struct State {
    /// Fixed settings.
    pub settings: Settings,
    /// Key bindings.
    pub keymap: KeyMap,
    /// The topology shown (the last good one).
    pub topology: Option<Arc<Topology>>,
    /// The topology shown came from the cache file, not from this session.
    pub from_cache: bool,
    /// Services whose data was kept from an earlier refresh, by Region (`None` = account-wide).
    pub stale: Vec<(Option<String>, Service)>,
    /// The map model, built when the topology changes.
    pub map: Vec<RegionMap>,
    /// First map line shown.
    pub map_scroll: usize,
    /// Every instance on the map, not just the first few per subnet.
    pub expand: bool,
    /// The current view.
    pub view: View,
    /// Views to go back to.
    pub history: Vec<View>,
    /// The open list, when the view is a list.
    pub list: Option<ListView>,
    /// List models built since the topology last changed.
    lists: HashMap<ListKind, Arc<ListModel>>,
    /// First help line shown.
    pub help_scroll: usize,
    /// The input line, when open.
    pub input: Option<Input>,
    /// Regions shown.
    pub region: RegionFocus,
    /// Refresh bookkeeping.
    pub refresh: Refresh,
    /// The live signals last read (empty until the first read lands).
    pub signals: Signals,
    /// Signals read bookkeeping.
    pub signals_refresh: SignalsRefresh,
    /// Changes seen between the discoveries of this session, oldest first (at most
    /// [`SEEN_EVENTS_CAP`]).
    pub seen_events: Vec<Event>,
    /// The dashboard's clock, set by ticks.
    pub now: DateTime<Utc>,
    /// Ticks seen (drives the spinner).
    pub ticks: u64,
    /// Footer message.
    pub message: Option<Message>,
    /// Terminal size (columns, rows).
    pub screen: (u16, u16),
    /// The user asked to leave.
    pub quit: bool,
    /// Findings of the topology shown: (high or critical, all).
    pub findings: Option<(usize, usize)>,
    /// The action menu, when open.
    pub menu: Option<Menu>,
    /// The confirmation dialog, when open.
    pub dialog: Option<Dialog>,
    /// Jobs started in this session, oldest first.
    pub jobs: Vec<Job>,
    /// The Jobs view's cursor and open job.
    pub jobs_view: JobsView,
    /// haven's own actions from the action log (`haven act` and jobs), oldest first.
    pub haven_events: Vec<Event>,
    /// The profiles of the shared files and where each stands (`:profile`).
    pub profiles: Vec<ProfileRow>,
    /// The next job id to hand out.
    next_job: JobId,
}

impl State {
    /// A fresh state at `now`, showing `cached` (if any) until the first refresh lands.
    pub fn new(
        settings: Settings,
        keymap: KeyMap,
        cached: Option<Topology>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut state = Self {
            settings,
            keymap,
            topology: None,
            from_cache: false,
            stale: Vec::new(),
            map: Vec::new(),
            map_scroll: 0,
            expand: false,
            view: View::Map,
            history: Vec::new(),
            list: None,
            lists: HashMap::new(),
            help_scroll: 0,
            input: None,
            region: RegionFocus {
                current: 0,
                all: true,
            },
            refresh: Refresh::default(),
            signals: Signals::default(),
            signals_refresh: SignalsRefresh::default(),
            seen_events: Vec::new(),
            now,
            ticks: 0,
            message: None,
            screen: (80, 24),
            quit: false,
            findings: None,
            menu: None,
            dialog: None,
            jobs: Vec::new(),
            jobs_view: JobsView::default(),
            haven_events: Vec::new(),
            profiles: Vec::new(),
            next_job: 1,
        };
        if let Some(topology) = cached {
            state.set_topology(topology, Vec::new());
            state.from_cache = true;
        }
        state
    }

    /// The key map mode: the open dialog, menu or input line, else the current view's.
    pub fn mode(&self) -> Mode {
        if self.dialog.is_some() {
            return Mode::Dialog;
        }
        if self.menu.is_some() {
            return Mode::Menu;
        }
        if self.input.is_some() {
            return Mode::Input;
        }
        match self.view {
            View::Map => Mode::Map,
            View::Help => Mode::Help,
            View::Jobs if self.jobs_view.open.is_some() => Mode::Describe,
            View::Jobs => Mode::Jobs,
            View::List(_) => {
                if self.list.as_ref().is_some_and(|l| l.describe.is_some()) {
                    Mode::Describe
                } else {
                    Mode::List
                }
            }
        }
    }

    /// Region codes of the topology shown.
    pub fn region_names(&self) -> Vec<String> {
        match &self.topology {
            Some(t) => t.regions.iter().map(|r| r.region.clone()).collect(),
            // Before the first piece: the Regions asked, in the order their pieces will show
            // them, so that `2` picks the second one while it is still being read.
            None => self.settings.regions.clone(),
        }
    }

    /// The Region lists are limited to, if not all.
    pub fn shown_region(&self) -> Option<usize> {
        (!self.region.all).then_some(self.region.current)
    }

    /// A refresh is running.
    pub fn refreshing(&self) -> bool {
        self.refresh.job.is_some()
    }

    /// Rows of the body (between the two header lines and the footer).
    pub fn body_height(&self) -> usize {
        layout::body_height(self.screen.1)
    }

    /// Rows a list shows at once (body less borders and the column header).
    pub fn list_page(&self) -> usize {
        layout::list_page(self.screen.1)
    }

    /// The job shown whole in the Jobs view, if one is.
    pub fn open_job(&self) -> Option<&Job> {
        let id = self.jobs_view.open?;
        self.jobs.iter().find(|j| j.id == id)
    }

    /// The lines of the job shown whole.
    pub fn open_job_lines(&self) -> Vec<String> {
        self.open_job().map_or_else(Vec::new, |job| {
            super::describe::job_lines(job, self.settings.action_log.as_deref(), self.now)
        })
    }

    fn set_topology(&mut self, topology: Topology, stale: Vec<(Option<String>, Service)>) {
        self.stale = stale;
        self.from_cache = false;
        self.install(topology);
    }

    /// Shows a topology: the map, findings and lists are built again from it.
    fn install(&mut self, topology: Topology) {
        self.map = map::build(
            &topology,
            &self.stale,
            self.expand,
            &self.busy(),
            Live::new(&self.signals, &self.settings.policy.thresholds),
        );
        let found = findings::assess(&topology, &self.settings.policy);
        let serious = found
            .iter()
            .filter(|f| f.severity >= haven_model::findings::Severity::High)
            .count();
        self.findings = Some((serious, found.len()));
        let regions = topology.regions.len();
        self.topology = Some(Arc::new(topology));
        self.lists.clear();
        if self.region.current >= regions {
            self.region.current = regions.saturating_sub(1);
        }
        if let View::List(kind) = self.view {
            self.reload_list(kind);
        }
        self.clamp_map_scroll();
    }

    fn list_model(&mut self, kind: ListKind) -> Arc<ListModel> {
        if let Some(model) = self.lists.get(&kind) {
            return Arc::clone(model);
        }
        let empty;
        let topology = match &self.topology {
            Some(t) => t.as_ref(),
            None => {
                empty = Topology::new(self.now);
                &empty
            }
        };
        let live = Live::new(&self.signals, &self.settings.policy.thresholds);
        let model = Arc::new(if kind == ListKind::Events {
            timeline::list(topology, &self.timeline())
        } else if kind == ListKind::Profiles {
            profiles::list(&self.profiles)
        } else {
            lists::build(kind, topology, &self.settings.policy, live)
        });
        self.lists.insert(kind, Arc::clone(&model));
        model
    }

    /// Every event the dashboard knows, newest first: scaling and RDS events read with the
    /// signals, changes seen between refreshes, haven's own actions.
    pub fn timeline(&self) -> Vec<Event> {
        timeline::merge([
            self.signals.events.as_slice(),
            self.seen_events.as_slice(),
            self.haven_events.as_slice(),
        ])
    }

    /// The live signals (and with them the scaling and RDS events) were read at least once.
    pub fn signals_were_read(&self) -> bool {
        self.signals.taken_at.is_some() || self.signals_refresh.finished_at.is_some()
    }

    /// The profiles and where each stands changed (one signed in, failed, was switched to).
    fn profiles_changed(&mut self, profiles: Vec<ProfileRow>) {
        if profiles == self.profiles {
            return;
        }
        self.profiles = profiles;
        self.lists.remove(&ListKind::Profiles);
        if self.view == View::List(ListKind::Profiles) {
            self.reload_list(ListKind::Profiles);
        }
    }

    /// The profile under the cursor of `:profile`, shown in this account's place.
    fn switch_to_selected_profile(&mut self) -> Vec<Command> {
        let Some((ListKind::Profiles, row)) = self.selected_row() else {
            return Vec::new();
        };
        match self.profiles.get(row.index) {
            Some(profile) => vec![Command::SwitchProfile {
                name: profile.name.clone(),
            }],
            None => Vec::new(),
        }
    }

    /// The describe pane of the profile under the cursor, when `:profile` is open.
    fn describe_profile(&self) -> Option<Vec<String>> {
        match self.selected_row() {
            Some((ListKind::Profiles, row)) => self.profiles.get(row.index).map(profiles::describe),
            _ => None,
        }
    }

    /// Keeps haven's actions read from the action log; `:events` shows them.
    fn action_log_read(&mut self, events: Vec<Event>) {
        if events == self.haven_events {
            return;
        }
        self.haven_events = events;
        self.lists.remove(&ListKind::Events);
        if self.view == View::List(ListKind::Events) {
            self.reload_list(ListKind::Events);
        }
    }

    /// A read of the action log, when there is one to read.
    fn read_action_log(&self) -> Option<Command> {
        let path = self.settings.action_log.clone()?;
        let account = self.topology.as_ref().and_then(|t| t.account_id.clone());
        Some(Command::ReadActionLog { path, account })
    }

    /// Rebuilds the open list from the current topology, keeping filter, sort and selection.
    fn reload_list(&mut self, kind: ListKind) {
        let model = self.list_model(kind);
        // The selection follows its row, unless it is on the first one with nothing described:
        // rows arriving above it (another Region's answer) then keep the top of the list in view.
        let (filter, sort, key, describe) = match &self.list {
            Some(l) if l.model.kind == kind => (
                l.filter.clone(),
                l.sort,
                l.rows
                    .get(l.selected)
                    .filter(|_| l.selected > 0 || l.describe.is_some())
                    .and_then(|i| l.model.rows.get(*i))
                    .map(|r| r.key.clone()),
                l.describe.is_some(),
            ),
            _ => (String::new(), None, None, false),
        };
        let mut list = ListView {
            model,
            filter,
            sort,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            describe: None,
        };
        self.recompute_rows(&mut list);
        if let Some(key) = key
            && let Some(pos) = list
                .rows
                .iter()
                .position(|i| list.model.rows[*i].key == key)
        {
            list.selected = pos;
        }
        self.list = Some(list);
        self.scroll_list_to_selection();
        if describe {
            self.open_describe();
        }
    }

    fn recompute_rows(&self, list: &mut ListView) {
        list.rows = tables::visible_rows(
            &list.model,
            &self.region_names(),
            self.shown_region(),
            &list.filter,
            list.sort,
        );
        list.selected = list.selected.min(list.rows.len().saturating_sub(1));
    }

    fn refilter(&mut self) {
        if let Some(mut list) = self.list.take() {
            self.recompute_rows(&mut list);
            self.list = Some(list);
            self.scroll_list_to_selection();
        }
    }

    fn scroll_list_to_selection(&mut self) {
        let page = self.list_page();
        if let Some(list) = &mut self.list {
            if list.selected < list.offset {
                list.offset = list.selected;
            } else if list.selected >= list.offset + page {
                list.offset = list.selected + 1 - page;
            }
            let max_offset = list.rows.len().saturating_sub(page);
            list.offset = list.offset.min(max_offset);
        }
    }

    /// Lines the map has at the current size.
    pub fn map_height(&self) -> usize {
        layout::map_content_height(&self.map, self.region, self.screen.0)
    }

    fn clamp_map_scroll(&mut self) {
        let max = self.map_height().saturating_sub(self.body_height());
        self.map_scroll = self.map_scroll.min(max);
    }

    fn open_view(&mut self, view: View) {
        if self.view != view {
            self.history.push(self.view);
            if self.history.len() > 32 {
                self.history.remove(0);
            }
        }
        self.show(view);
    }

    fn show(&mut self, view: View) {
        self.view = view;
        match view {
            View::List(kind) => {
                if self.list.as_ref().is_none_or(|l| l.model.kind != kind) {
                    self.list = None;
                }
                self.reload_list(kind);
            }
            View::Map | View::Help | View::Jobs => {
                self.list = None;
                self.help_scroll = 0;
                self.jobs_view.open = None;
                self.jobs_view.scroll = 0;
            }
        }
    }

    fn go_back(&mut self) {
        if self.view == View::Jobs && self.jobs_view.open.is_some() {
            self.jobs_view.open = None;
            return;
        }
        if let Some(list) = &mut self.list {
            if list.describe.is_some() {
                list.describe = None;
                return;
            }
            if !list.filter.is_empty() {
                list.filter.clear();
                self.refilter();
                return;
            }
        }
        let previous = self.history.pop().unwrap_or(View::Map);
        self.show(previous);
    }

    fn open_describe(&mut self) {
        if let Some(lines) = self.describe_profile() {
            if let Some(list) = &mut self.list {
                list.describe = Some(Describe {
                    title: "profile".into(),
                    lines,
                    scroll: 0,
                });
            }
            return;
        }
        let Some(topology) = self.topology.clone() else {
            return;
        };
        // `:events` rows are the timeline's events, by position.
        let timeline = match &self.list {
            Some(l) if l.model.kind == ListKind::Events => self.timeline(),
            _ => Vec::new(),
        };
        let Some(list) = &mut self.list else {
            return;
        };
        let Some(row) = list
            .rows
            .get(list.selected)
            .and_then(|i| list.model.rows.get(*i))
        else {
            return;
        };
        let lines = if list.model.kind == ListKind::Deploy {
            deploys::describe(&topology, row.target, self.now).map(|mut lines| {
                lines.push(String::new());
                lines.push(format!("KEYS  {}", self.keymap.deploy_keys(Mode::Describe)));
                lines
            })
        } else if list.model.kind == ListKind::Alarms {
            alarms::describe(&topology, row)
        } else if list.model.kind == ListKind::Events {
            timeline.get(row.target.index).map(timeline::describe)
        } else {
            describe_lines(
                &topology,
                &self.settings.policy,
                list.model.kind,
                row.target,
            )
        }
        .map(|object| {
            // The judged views' cells are sentences haven wrote, not fields of the object:
            // they come first, whole, however narrow their columns were.
            if list.model.kind.judged() {
                let mut lines = super::describe::row_lines(&list.model, row, self.now);
                lines.extend(object);
                lines
            } else {
                // The resource's metrics of the last hour and its alarms, after the object.
                let live = Live::new(&self.signals, &self.settings.policy.thresholds);
                let mut lines = object;
                lines.extend(metrics_pane::lines(
                    &topology,
                    list.model.kind,
                    row.target,
                    live,
                ));
                lines
            }
        });
        list.describe = lines.map(|lines| Describe {
            title: format!("{} {}", list.model.kind.command(), row.key),
            lines,
            scroll: 0,
        });
    }

    /// A signals read, when one is due: a topology is shown, no read is in flight and the last
    /// one started at least an interval ago (CloudWatch's points are a minute apart: reading
    /// more often pays for the same points again).
    fn signals_due(&mut self) -> Option<Command> {
        // Not before the first read has ended: what it has only half brought would ask for the
        // metrics of half the stack. The read takes its asks, not the topology: one holding it
        // while the pieces of a live read arrive would make each of them copy it whole (a
        // topology of 10,000 resources is ~30 MB).
        self.refresh.finished_at?;
        let topology = self.topology.as_ref()?;
        let read = &mut self.signals_refresh;
        let due = read.job.is_none()
            && read.started_at.is_none_or(|started| {
                (self.now - started).to_std().unwrap_or_default() >= self.settings.signals_interval
            });
        if !due {
            return None;
        }
        read.next_job += 1;
        let job = read.next_job;
        read.job = Some(job);
        read.started_at = Some(self.now);
        Some(Command::FetchSignals {
            job,
            asks: read.watch.asks(topology, self.now),
        })
    }

    /// Keeps a signals read's result and writes the replicas' lag into the topology shown.
    fn signals_read(&mut self, job: JobId, mut signals: Signals) {
        if self.signals_refresh.job != Some(job) {
            tracing::debug!(job, "dropping a signals read nobody waits for");
            return;
        }
        self.signals_refresh.job = None;
        self.signals_refresh.finished_at = Some(self.now);
        self.signals_refresh
            .watch
            .settle(&self.signals, &mut signals);
        self.signals = signals;
        if let Some(shown) = self.topology.take() {
            let mut topology = Arc::unwrap_or_clone(shown);
            signals::annotate(&mut topology, &self.signals);
            self.install(topology);
        }
    }

    /// Keeps changes seen between reads (at most [`SEEN_EVENTS_CAP`], oldest dropped).
    fn remember(&mut self, seen: Vec<Event>) {
        self.seen_events.extend(seen);
        let excess = self.seen_events.len().saturating_sub(SEEN_EVENTS_CAP);
        self.seen_events.drain(..excess);
    }

    /// Shows `text` in the footer.
    pub fn say(&mut self, text: impl Into<String>, tone: Tone) {
        self.message = Some(Message {
            text: text.into(),
            tone,
        });
    }

    /// Commands the `:` line knows (the command table, then Region codes).
    pub fn command_names(&self) -> Vec<String> {
        let mut names: Vec<String> = help::commands()
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        names.extend(self.region_names());
        names
    }

    /// Completions of the command being typed.
    pub fn completions(&self) -> Vec<String> {
        match &self.input {
            Some(Input {
                kind: InputKind::Command,
                text,
            }) => {
                let typed = text.trim();
                self.command_names()
                    .into_iter()
                    .filter(|n| n.starts_with(typed))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn run_command(&mut self, text: &str) -> Vec<Command> {
        let name = text.trim();
        if name.is_empty() {
            return Vec::new();
        }
        match help::command(name).map(|c| c.run) {
            Some(CommandRun::Quit) => {
                self.quit = true;
                return vec![Command::Quit];
            }
            Some(CommandRun::Map) => self.open_view(View::Map),
            Some(CommandRun::Help) => self.open_view(View::Help),
            Some(CommandRun::Jobs) => self.open_view(View::Jobs),
            Some(CommandRun::AllRegions) => self.show_all_regions(),
            Some(CommandRun::List(kind)) => self.open_view(View::List(kind)),
            None if name.starts_with("profile ") => {
                let profile = name["profile ".len()..].trim().to_string();
                return vec![Command::SwitchProfile { name: profile }];
            }
            None => {
                if let Some(index) = self.region_names().iter().position(|r| r == name) {
                    self.select_region(index);
                } else {
                    self.say(
                        format!("unknown command :{name} — Tab completes, :help lists them"),
                        Tone::Bad,
                    );
                }
            }
        }
        Vec::new()
    }

    /// Every Region: side by side when they fit, else one after another.
    fn show_all_regions(&mut self) {
        self.region.all = true;
        self.map_scroll = 0;
        self.refilter();
        self.clamp_map_scroll();
    }

    fn select_region(&mut self, index: usize) {
        let n = self.region_names().len();
        if index < n {
            self.region = RegionFocus {
                current: index,
                all: false,
            };
            self.map_scroll = 0;
            self.refilter();
        } else {
            self.say(format!("no Region {}", index + 1), Tone::Warn);
        }
    }

    fn step_region(&mut self, forward: bool) {
        let n = self.region_names().len();
        if n == 0 {
            return;
        }
        let current = self.region.current;
        let next = if forward {
            (current + 1) % n
        } else {
            (current + n - 1) % n
        };
        self.select_region(next);
    }

    fn key_input(&mut self, key: KeyEvent) -> Vec<Command> {
        let bound = self.keymap.action(Mode::Input, &key);
        let Some(input) = &mut self.input else {
            return Vec::new();
        };
        let kind = input.kind;
        match bound {
            Some(KeyAction::Back) => {
                self.input = None;
                if kind == InputKind::Filter {
                    if let Some(list) = &mut self.list {
                        list.filter.clear();
                    }
                    self.refilter();
                }
                return Vec::new();
            }
            Some(KeyAction::Select) => {
                let text = input.text.clone();
                self.input = None;
                if kind == InputKind::Command {
                    return self.run_command(&text);
                }
                return Vec::new();
            }
            Some(KeyAction::Complete) => {
                if kind == InputKind::Command {
                    let options = self.completions();
                    if let Some(input) = &mut self.input
                        && let Some(common) = common_prefix(&options)
                    {
                        input.text = common;
                    }
                }
                return Vec::new();
            }
            _ => {}
        }
        match key.code {
            KeyCode::Backspace => {
                if input.text.pop().is_none() {
                    self.input = None;
                }
                if kind == InputKind::Filter {
                    self.sync_filter();
                }
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.clear();
                if kind == InputKind::Filter {
                    self.sync_filter();
                }
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c);
                if kind == InputKind::Filter {
                    self.sync_filter();
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn sync_filter(&mut self) {
        let text = self
            .input
            .as_ref()
            .map(|i| i.text.clone())
            .unwrap_or_default();
        if let Some(list) = &mut self.list {
            list.filter = text;
            list.selected = 0;
            list.offset = 0;
        }
        self.refilter();
    }

    fn move_by(&mut self, delta: isize) {
        match self.view {
            View::Map => {
                self.map_scroll = self.map_scroll.saturating_add_signed(delta);
                self.clamp_map_scroll();
            }
            View::Jobs => {
                if self.jobs_view.open.is_some() {
                    let page = self.body_height().saturating_sub(2);
                    let max =
                        layout::describe_max_scroll(&self.open_job_lines(), self.screen.0, page);
                    self.jobs_view.scroll =
                        self.jobs_view.scroll.saturating_add_signed(delta).min(max);
                } else {
                    let last = self.jobs.len().saturating_sub(1);
                    self.jobs_view.selected = self
                        .jobs_view
                        .selected
                        .saturating_add_signed(delta)
                        .min(last);
                }
            }
            View::Help => {
                self.help_scroll = self.help_scroll.saturating_add_signed(delta);
                let max = help::help_lines(&self.keymap).len();
                self.help_scroll = self
                    .help_scroll
                    .min(max.saturating_sub(self.body_height().saturating_sub(2)));
            }
            View::List(_) => {
                let page = self.body_height().saturating_sub(2);
                let Some(list) = &mut self.list else {
                    return;
                };
                if let Some(d) = &mut list.describe {
                    let max = layout::describe_max_scroll(&d.lines, self.screen.0, page);
                    d.scroll = d.scroll.saturating_add_signed(delta).min(max);
                    return;
                }
                let last = list.rows.len().saturating_sub(1);
                list.selected = list.selected.saturating_add_signed(delta).min(last);
                self.scroll_list_to_selection();
            }
        }
    }

    fn page(&self) -> isize {
        let page = match self.view {
            View::List(_) if self.list.as_ref().is_some_and(|l| l.describe.is_none()) => {
                self.list_page()
            }
            _ => self.body_height().saturating_sub(2),
        };
        isize::try_from(page.max(1)).unwrap_or(isize::MAX)
    }

    fn key_action(&mut self, action: KeyAction) -> Vec<Command> {
        match action {
            KeyAction::Quit => {
                self.quit = true;
                return vec![Command::Quit];
            }
            KeyAction::Help => self.open_view(View::Help),
            KeyAction::Back => self.go_back(),
            KeyAction::CommandLine => {
                self.input = Some(Input {
                    kind: InputKind::Command,
                    text: String::new(),
                });
            }
            KeyAction::Filter => {
                if let Some(list) = &self.list {
                    self.input = Some(Input {
                        kind: InputKind::Filter,
                        text: list.filter.clone(),
                    });
                }
            }
            KeyAction::Refresh | KeyAction::FullRefresh => {
                if self.refreshing() {
                    self.say("refresh restarted", Tone::Dim);
                }
                let read = if action == KeyAction::FullRefresh {
                    self.start_full_refresh(true)
                } else {
                    self.start_view_refresh()
                };
                let mut commands = vec![read];
                // Signals are read on their own interval: `r` reads them only when that is due.
                commands.extend(self.signals_due());
                return commands;
            }
            KeyAction::NextRegion => self.step_region(true),
            KeyAction::PrevRegion => self.step_region(false),
            KeyAction::AllRegions => self.show_all_regions(),
            KeyAction::Region(n) => self.select_region(usize::from(n).saturating_sub(1)),
            KeyAction::Up => self.move_by(-1),
            KeyAction::Down => self.move_by(1),
            KeyAction::PageUp => self.move_by(-self.page()),
            KeyAction::PageDown => self.move_by(self.page()),
            KeyAction::Top => self.move_by(isize::MIN / 2),
            KeyAction::Bottom => self.move_by(isize::MAX / 2),
            KeyAction::Describe if self.view == View::Jobs => self.open_job_record(),
            KeyAction::Describe => self.open_describe(),
            KeyAction::SortNext => {
                if let Some(list) = &mut self.list {
                    let columns = list.model.columns.len();
                    list.sort = Some(match list.sort {
                        None => (0, false),
                        Some((c, reverse)) => ((c + 1) % columns.max(1), reverse),
                    });
                    let name = list
                        .model
                        .columns
                        .get(list.sort.map_or(0, |s| s.0))
                        .map(|c| c.name);
                    self.refilter();
                    if let Some(name) = name {
                        self.say(format!("sorted by {name}"), Tone::Dim);
                    }
                }
            }
            KeyAction::SortReverse => {
                if let Some(list) = &mut self.list {
                    list.sort = Some(match list.sort {
                        None => (0, true),
                        Some((c, reverse)) => (c, !reverse),
                    });
                    self.refilter();
                }
            }
            KeyAction::Expand => {
                self.expand = !self.expand;
                self.rebuild_map();
            }
            KeyAction::Select if self.view == View::Jobs => self.open_job_record(),
            KeyAction::NextAccount => return vec![Command::NextAccount],
            KeyAction::Select => match self.list.as_ref().map(|l| l.model.kind) {
                Some(ListKind::Profiles) => return self.switch_to_selected_profile(),
                Some(ListKind::Findings) => self.jump_to_finding(),
                Some(ListKind::Alarms | ListKind::Events) => self.open_linked_resource(),
                _ => self.open_describe(),
            },
            KeyAction::Actions => self.open_menu(),
            KeyAction::Jobs => self.open_view(View::Jobs),
            KeyAction::Complete => {}
            KeyAction::PauseDeploy => self.deploy_key(DeployOp::PauseOrResume),
            KeyAction::RollbackDeploy => self.deploy_key(DeployOp::Rollback),
            KeyAction::FinishDeploy => self.deploy_key(DeployOp::Finish),
        }
        Vec::new()
    }

    /// Pause, resume, roll back or finish the deploy under the cursor: opens the confirmation
    /// dialog with every call it will send, or says why it cannot.
    fn deploy_key(&mut self, op: DeployOp) {
        if self.settings.read_only {
            self.say(
                "read-only: deploys cannot be paused, rolled back or finished (haven was started \
                 with --read-only)",
                Tone::Warn,
            );
            return;
        }
        let (Some(topology), Some((ListKind::Deploy, row))) =
            (self.topology.clone(), self.selected_row())
        else {
            self.say("select a deploy in :deploy first", Tone::Dim);
            return;
        };
        match deploys::work(&topology, row, op, self.now) {
            Ok(work) => self.dialog = Some(Dialog::open(Seed::Deploy(work), &topology)),
            Err(why) => self.say(why, Tone::Bad),
        }
    }

    /// Shows the job under the cursor whole.
    fn open_job_record(&mut self) {
        let Some(job) = self.jobs.iter().rev().nth(self.jobs_view.selected) else {
            self.say(
                "no job yet: in a list (:asg, :ec2, :rds, :dr …), a opens the actions of a row",
                Tone::Dim,
            );
            return;
        };
        self.jobs_view.open = Some(job.id);
        self.jobs_view.scroll = 0;
    }

    fn rebuild_map(&mut self) {
        if let Some(t) = &self.topology {
            self.map = map::build(
                t,
                &self.stale,
                self.expand,
                &self.busy(),
                Live::new(&self.signals, &self.settings.policy.thresholds),
            );
        }
        self.clamp_map_scroll();
    }

    /// Ids of the resources a running job works on.
    pub fn busy(&self) -> HashSet<String> {
        self.jobs
            .iter()
            .filter(|j| j.running())
            .flat_map(|j| j.work.resource_ids())
            .collect()
    }

    /// The selected row of the open list.
    fn selected_row(&self) -> Option<(ListKind, RowRef)> {
        let list = self.list.as_ref()?;
        let row = list
            .rows
            .get(list.selected)
            .and_then(|i| list.model.rows.get(*i))?;
        Some((list.model.kind, row.target))
    }

    fn jump_to_finding(&mut self) {
        let (Some(topology), Some((_, row))) = (self.topology.clone(), self.selected_row()) else {
            return;
        };
        let found = findings::assess(&topology, &self.settings.policy);
        let Some(finding) = found.get(row.index) else {
            return;
        };
        let Some((kind, text)) = insight::finding_location(finding) else {
            self.say(
                format!(
                    "{} is not in a list — d describes the finding",
                    finding.resource.label()
                ),
                Tone::Dim,
            );
            return;
        };
        self.open_view(View::List(kind));
        if let Some(list) = &mut self.list {
            list.filter = text.to_lowercase();
            list.selected = 0;
            list.offset = 0;
        }
        self.refilter();
        self.say(
            format!(
                "{} {} — Esc goes back to the findings",
                finding.id, finding.title
            ),
            Tone::Dim,
        );
    }

    /// Enter on an alarm or an event: the list of the resource it watches or happened to,
    /// filtered to it (in its Region when one Region is shown).
    fn open_linked_resource(&mut self) {
        let Some(topology) = self.topology.clone() else {
            return;
        };
        let Some(list) = &self.list else {
            return;
        };
        let Some(row) = list
            .rows
            .get(list.selected)
            .and_then(|i| list.model.rows.get(*i))
        else {
            return;
        };
        let kind = list.model.kind;
        let linked = match kind {
            ListKind::Alarms => alarms::watched(&topology, row),
            _ => self
                .timeline()
                .into_iter()
                .nth(row.target.index)
                .and_then(|e| Some((e.region?, e.resource?))),
        };
        let Some((region, resource)) = linked else {
            self.say(
                "this row links to no resource haven lists — d shows it whole",
                Tone::Dim,
            );
            return;
        };
        let Some((target, text)) = links::location(&resource) else {
            self.say(
                format!(
                    "{} is not in a list — d shows it whole",
                    links::short_name(&resource)
                ),
                Tone::Dim,
            );
            return;
        };
        if !self.region.all
            && let Some(index) = self.region_names().iter().position(|r| *r == region)
        {
            self.select_region(index);
        }
        self.open_view(View::List(target));
        if let Some(list) = &mut self.list {
            list.filter = text.to_lowercase();
            list.selected = 0;
            list.offset = 0;
        }
        self.refilter();
        self.say(
            format!(
                "{} {} — Esc goes back to :{}",
                resource.kind.as_str().replace('_', " "),
                links::short_name(&resource),
                kind.command()
            ),
            Tone::Dim,
        );
    }

    fn open_menu(&mut self) {
        if self.settings.read_only {
            self.say(
                "read-only: actions are disabled (haven was started with --read-only)",
                Tone::Warn,
            );
            return;
        }
        let (Some(topology), Some((kind, row))) = (self.topology.clone(), self.selected_row())
        else {
            self.say(
                "select a resource in a list (:asg, :ec2, :rds, :dr …) first",
                Tone::Dim,
            );
            return;
        };
        match menu::for_row(&topology, &self.settings.policy, kind, row, self.now) {
            Some(menu) => self.menu = Some(menu),
            None => self.say("no action applies to this resource", Tone::Dim),
        }
    }

    fn key_menu(&mut self, key: KeyEvent) -> Vec<Command> {
        let bound = self.keymap.action(Mode::Menu, &key);
        let Some(menu) = &mut self.menu else {
            return Vec::new();
        };
        let last = menu.entries.len().saturating_sub(1);
        match bound {
            Some(KeyAction::Back) => self.menu = None,
            Some(KeyAction::Up) => menu.selected = menu.selected.saturating_sub(1),
            Some(KeyAction::Down) => menu.selected = (menu.selected + 1).min(last),
            Some(KeyAction::Select) => return self.choose_entry(),
            _ => {
                // The entry numbers drawn in the menu choose directly.
                if let KeyCode::Char(c @ '1'..='9') = key.code {
                    let n = (c as usize) - ('1' as usize);
                    if n <= last {
                        menu.selected = n;
                        return self.choose_entry();
                    }
                }
            }
        }
        Vec::new()
    }

    fn choose_entry(&mut self) -> Vec<Command> {
        let (Some(menu), Some(topology)) = (self.menu.take(), self.topology.clone()) else {
            return Vec::new();
        };
        if let Some(entry) = menu.entries.get(menu.selected) {
            self.dialog = Some(Dialog::open(entry.seed.clone(), &topology));
        }
        Vec::new()
    }

    fn key_dialog(&mut self, key: KeyEvent) -> Vec<Command> {
        match self.keymap.action(Mode::Dialog, &key) {
            Some(KeyAction::Back) => {
                self.dialog = None;
                self.say("cancelled: nothing was sent", Tone::Dim);
                return Vec::new();
            }
            Some(KeyAction::Select) => return self.confirm_dialog(),
            _ => {}
        }
        let topology = self.topology.clone();
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Backspace => {
                if let Some(typed) = &mut dialog.typed {
                    typed.pop();
                } else if dialog.editable() {
                    dialog.line.pop();
                    if let Some(t) = &topology {
                        dialog.rebuild(t);
                    }
                }
            }
            KeyCode::Char('u') if ctrl => {
                if let Some(typed) = &mut dialog.typed {
                    typed.clear();
                }
            }
            KeyCode::Char(c) if !ctrl => {
                if let Some(typed) = &mut dialog.typed {
                    typed.push(c);
                } else if dialog.editable() {
                    dialog.line.push(c);
                    if let Some(t) = &topology {
                        dialog.rebuild(t);
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn confirm_dialog(&mut self) -> Vec<Command> {
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        let work = match &dialog.work {
            Ok(work) => work.clone(),
            Err(e) => {
                let e = e.clone();
                self.say(format!("cannot run this: {e}"), Tone::Bad);
                return Vec::new();
            }
        };
        if let Some(expected) = work.confirmation_text() {
            match &dialog.typed {
                None => {
                    dialog.typed = Some(String::new());
                    return Vec::new();
                }
                Some(typed) if *typed != expected => {
                    self.say(
                        format!("type {expected} exactly to confirm, or Esc to cancel"),
                        Tone::Bad,
                    );
                    return Vec::new();
                }
                Some(_) => {}
            }
        }
        self.dialog = None;
        if self.settings.read_only {
            self.say("read-only: nothing was sent", Tone::Warn);
            return Vec::new();
        }
        let job = self.next_job;
        self.next_job += 1;
        let jobs_key = self
            .keymap
            .keys_for(Mode::Map, KeyAction::Jobs)
            .first()
            .map_or_else(String::new, |k| format!("{k} or "));
        self.say(
            format!(
                "job {job} started: {} — {jobs_key}:jobs shows it",
                work.sentence()
            ),
            Tone::Busy,
        );
        self.jobs.push(Job {
            id: job,
            work: work.clone(),
            started: self.now,
            finished: None,
            progress: None,
            events: 0,
            accepted: Vec::new(),
            state: JobState::Running,
        });
        self.jobs_view.selected = 0;
        self.rebuild_map();
        vec![Command::Run { job, work }]
    }

    fn job_done(&mut self, job: JobId, result: Result<String, JobError>) -> Vec<Command> {
        let now = self.now;
        let Some(j) = self.jobs.iter_mut().find(|j| j.id == job) else {
            return Vec::new();
        };
        j.finished = Some(now);
        let sentence = j.work.sentence();
        match result {
            Ok(message) => {
                j.state = JobState::Done(message);
                self.say(format!("✓ job {job} done: {sentence}"), Tone::Good);
            }
            Err(error) => {
                let text = format!("✗ job {job} failed: {error}");
                j.state = JobState::Failed(error);
                self.say(text, Tone::Bad);
            }
        }
        self.rebuild_map();
        // Show the effect: read what the action touches (the live parts and the view's) now,
        // or, when a read is running, right after it: it may have read before the effect.
        if self.refreshing() {
            self.refresh.view_after = true;
            Vec::new()
        } else {
            vec![self.start_view_refresh()]
        }
    }
}

/// The longest prefix all options share (the only option when there is one).
fn common_prefix(options: &[String]) -> Option<String> {
    let first = options.first()?;
    let mut prefix = first.clone();
    for o in &options[1..] {
        while !o.starts_with(&prefix) {
            prefix.pop();
        }
    }
    Some(prefix)
}

/// Applies one action; returns the jobs to start. Pure: no I/O, no clock reads.
pub fn update(state: &mut State, action: Action) -> Vec<Command> {
    match action {
        Action::Start => {
            let mut commands = vec![state.start_full_refresh(true)];
            commands.extend(state.signals_due());
            commands
        }
        Action::Tick(now) => {
            state.now = now;
            state.ticks = state.ticks.wrapping_add(1);
            let mut commands: Vec<Command> = state.refresh_due().into_iter().collect();
            commands.extend(state.signals_due());
            commands
        }
        Action::SignalsRead { job, signals } => {
            state.signals_read(job, *signals);
            state.read_action_log().into_iter().collect()
        }
        Action::Resize(width, height) => {
            state.screen = (width, height);
            state.clamp_map_scroll();
            state.scroll_list_to_selection();
            Vec::new()
        }
        Action::Piece { job, piece } => {
            state.piece_arrived(job, *piece);
            Vec::new()
        }
        Action::Fetched { job } => {
            if !state.read_finished(job) {
                tracing::debug!(job, "dropping the end of a superseded refresh");
                return Vec::new();
            }
            state.settle();
            let errors = state.topology.as_ref().map_or(0, |t| t.errors.len());
            if errors > 0 {
                state.say(
                    format!(
                        "refresh done with {errors} discovery error{} — :errors",
                        if errors == 1 { "" } else { "s" }
                    ),
                    Tone::Bad,
                );
            }
            let mut commands: Vec<Command> = state.read_after_action().into_iter().collect();
            commands.extend(state.signals_due());
            if let (Some(path), Some(topology)) = (&state.settings.cache_path, &state.topology) {
                commands.push(Command::WriteCache {
                    path: path.clone(),
                    topology: Arc::clone(topology),
                });
            }
            // haven's actions (here and from `haven act` elsewhere) for `:events`.
            commands.extend(state.read_action_log());
            commands
        }
        Action::Profiles(profiles) => {
            state.profiles_changed(profiles);
            Vec::new()
        }
        Action::CacheWritten(result) => {
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot write the topology cache");
            }
            Vec::new()
        }
        Action::JobProgress { job, progress } => {
            if let Some(j) = state.jobs.iter_mut().find(|j| j.id == job) {
                j.events += 1;
                if let Some(call) = &progress.accepted {
                    j.accepted.push(call.clone());
                }
                j.progress = Some(progress);
            }
            Vec::new()
        }
        Action::JobDone { job, result } => state.job_done(job, result),
        Action::ActionLogRead(events) => {
            state.action_log_read(events);
            Vec::new()
        }
        Action::Key(key) => {
            if state.dialog.is_some() {
                return state.key_dialog(key);
            }
            if state.menu.is_some() {
                state.message = None;
                return state.key_menu(key);
            }
            if state.input.is_some() {
                return state.key_input(key);
            }
            state.message = None;
            match state.keymap.action(state.mode(), &key) {
                Some(action) => state.key_action(action),
                None => Vec::new(),
            }
        }
    }
}
