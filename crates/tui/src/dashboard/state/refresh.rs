//! Reads and what they bring: which refresh is due (the live read on the refresh interval, a
//! full discovery on its slower one, a view's parts on `r`, everything on `R`), and each
//! [`Piece`] applied to the topology shown as soon as it arrives.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use haven_model::refresh::{ReadPlan, live_plan};
use haven_model::signals::Glance;
use haven_model::{Part, Piece, Topology};

use super::{Command, State, View};
use crate::dashboard::rows::ListKind;

/// How long a changed row stays highlighted.
pub const CHANGED_FOR: chrono::Duration = chrono::Duration::seconds(5);

/// What a read is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadKind {
    /// Everything (on opening, `R`, and on the full-discovery interval).
    #[default]
    Full,
    /// What changes on its own (the refresh interval).
    Live,
    /// The parts of the view shown (`r`), with the live read.
    View,
}

impl ListKind {
    /// The parts of discovery a list is built from (empty: built from something else).
    pub fn parts(self) -> &'static [Part] {
        match self {
            ListKind::Ec2 => &[Part::Instances],
            ListKind::Asg => &[Part::AutoScaling],
            ListKind::Lb => &[Part::LoadBalancers, Part::ClassicLoadBalancers],
            ListKind::Tg => &[Part::LoadBalancers],
            ListKind::Rds => &[Part::Databases, Part::DbClusters],
            ListKind::DbSnap => &[Part::DbSnapshots],
            ListKind::Ami | ListKind::Snap => &[Part::Storage],
            ListKind::Sg | ListKind::Subnet | ListKind::Vpc | ListKind::Nat | ListKind::Rtb => {
                &[Part::Network]
            }
            ListKind::Lt => &[Part::LaunchTemplates],
            ListKind::Iam => &[Part::Iam],
            ListKind::Dns => &[Part::Dns, Part::LoadBalancers],
            ListKind::Certs => &[Part::Certificates],
            ListKind::Alarms => &[Part::Alarms],
            // Judged views read from everything.
            ListKind::Errors | ListKind::Findings | ListKind::AzLoss | ListKind::Dr => {
                &Part::REGIONAL
            }
            ListKind::Deploy | ListKind::Events | ListKind::Profiles => &[],
        }
    }
}

/// The parts the map draws.
const MAP_PARTS: [Part; 7] = [
    Part::Network,
    Part::Instances,
    Part::AutoScaling,
    Part::LoadBalancers,
    Part::Databases,
    Part::DbClusters,
    Part::Alarms,
];

impl State {
    /// (Region, part) pairs the read in flight has not answered yet.
    pub fn loading(&self) -> &BTreeSet<(Option<String>, Part)> {
        &self.refresh.loading
    }

    /// The Regions shown whose parts in `parts` are still being read, with those parts.
    pub fn loading_of(&self, parts: &[Part]) -> Vec<(String, Part)> {
        let shown = self
            .shown_region()
            .and_then(|i| self.region_names().get(i).cloned());
        self.refresh
            .loading
            .iter()
            .filter(|(_, p)| parts.iter().any(|w| w.answers(*p)))
            .filter_map(|(r, p)| match r {
                Some(region) if shown.as_ref().is_none_or(|s| s == region) => {
                    Some((region.clone(), *p))
                }
                None => Some((String::new(), *p)),
                _ => None,
            })
            .collect()
    }

    /// The parts of this Region still being read (what its map panel says it waits for).
    pub fn loading_in(&self, region: &str) -> Vec<Part> {
        self.refresh
            .loading
            .iter()
            .filter(|(r, _)| r.as_deref() == Some(region))
            .map(|(_, p)| *p)
            .collect()
    }

    /// Regions whose discovery is still running: what is judged there is provisional.
    pub fn provisional_regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self
            .refresh
            .loading
            .iter()
            .filter_map(|(r, _)| r.clone())
            .collect();
        regions.dedup();
        regions
    }

    /// Whether the row with this key (`region/id`) changed in the last moments.
    pub fn changed_recently(&self, key: &str) -> bool {
        self.refresh
            .changed
            .iter()
            .any(|(k, at)| k == key && self.now - *at < CHANGED_FOR)
    }

    /// The read due now, if any: a full discovery when its interval has passed, else the live
    /// read when the refresh interval has (with IAM when the IAM interval has passed too).
    pub(super) fn refresh_due(&mut self) -> Option<Command> {
        if self.refresh.job.is_some() {
            return None;
        }
        let since =
            |at: Option<DateTime<Utc>>| at.map(|at| (self.now - at).to_std().unwrap_or_default());
        let finished = since(self.refresh.finished_at)?;
        if since(self.refresh.full_at).is_none_or(|d| d >= self.settings.full_refresh) {
            return Some(self.start_full_refresh(false));
        }
        (finished >= self.settings.refresh).then(|| self.start_live_refresh())
    }

    /// The view's read an action asked for while another read was running, if it did.
    pub(super) fn read_after_action(&mut self) -> Option<Command> {
        self.refresh.view_after.then(|| self.start_view_refresh())
    }

    fn iam_due(&self) -> bool {
        self.refresh.iam_at.is_none_or(|read| {
            (self.now - read).to_std().unwrap_or_default() >= self.settings.iam_refresh
        })
    }

    /// Everything: every part of every Region, Route 53, and IAM when asked or due.
    pub(super) fn start_full_refresh(&mut self, with_iam: bool) -> Command {
        let mut global = vec![Part::Dns];
        if with_iam || self.iam_due() {
            global.push(Part::Iam);
        }
        let plan = ReadPlan::full(&self.settings.regions, global);
        self.start_read(plan, ReadKind::Full)
    }

    /// What changes on its own, read narrowly (see [`live_plan`]), and IAM when it is due.
    pub(super) fn start_live_refresh(&mut self) -> Command {
        let mut plan = self.live();
        if self.iam_due() {
            plan.global.insert(Part::Iam);
        }
        self.start_read(plan, ReadKind::Live)
    }

    /// The view's own parts, with the live read (`r`, and after an action).
    pub(super) fn start_view_refresh(&mut self) -> Command {
        let parts: &[Part] = match self.view {
            View::List(kind) if !kind.parts().is_empty() => kind.parts(),
            View::List(_) | View::Jobs | View::Help => &[],
            View::Map => &MAP_PARTS,
        };
        let global: Vec<Part> = parts.iter().copied().filter(|p| p.is_global()).collect();
        let view = ReadPlan::parts(&self.settings.regions, parts.iter().copied(), global);
        let plan = self.live().merge(view);
        self.start_read(plan, ReadKind::View)
    }

    fn live(&self) -> ReadPlan {
        let regions = if self.settings.regions.is_empty() {
            self.region_names()
        } else {
            self.settings.regions.clone()
        };
        match &self.topology {
            Some(shown) => live_plan(shown, &regions),
            None => ReadPlan::full(&regions, []),
        }
    }

    fn start_read(&mut self, plan: ReadPlan, kind: ReadKind) -> Command {
        let job = self.refresh.next_job;
        self.refresh.next_job += 1;
        self.refresh.job = Some(job);
        self.refresh.started_at = Some(self.now);
        self.refresh.kind = kind;
        self.refresh.with_iam = plan.global.contains(&Part::Iam);
        self.refresh.loading = plan.pending();
        if kind != ReadKind::Live {
            // The view's parts are read (or everything is): an action's effect with them.
            self.refresh.view_after = false;
        }
        Command::Fetch { job, plan }
    }

    /// A piece of the read in flight: applied to the topology shown at once (drawn at the next
    /// [`State::settle`]); changes it brings are remembered as events and highlighted.
    pub(super) fn piece_arrived(&mut self, job: u64, piece: Piece) {
        if self.refresh.job != Some(job) {
            tracing::debug!(job, "dropping a piece of a superseded refresh");
            return;
        }
        if !piece.partial {
            let (region, part) = (piece.region.clone(), piece.part);
            self.refresh
                .loading
                .retain(|(r, p)| !(r == &region && part.answers(*p)));
        }
        let now = self.now;
        let regions = self.settings.regions.clone();
        let shown = self.topology.get_or_insert_with(|| {
            let mut empty = Topology::new(now);
            for code in &regions {
                empty.region_entry(code);
            }
            Arc::new(empty)
        });
        let topology = Arc::make_mut(shown);
        // What the change events compare, glanced at before the piece lands (a few bytes a
        // resource, not a copy of the Region's part).
        let before = match &piece.region {
            Some(code) if !piece.partial && Glance::watches(piece.part) => topology
                .region(code)
                .map(|r| (code.clone(), Glance::of(r, Some(piece.part)))),
            _ => None,
        };
        let (region, part) = (piece.region.clone(), piece.part);
        let applied = topology.apply(piece);
        let stale = (region, part.service());
        self.stale.retain(|s| *s != stale);
        if applied.kept_stale {
            self.stale.push(stale);
        }
        if let Some((code, before)) = before
            && let Some(after) = self.topology.as_deref().and_then(|t| t.region(&code))
        {
            let seen = before.changes(after, now);
            for event in &seen {
                if let Some(resource) = &event.resource {
                    self.refresh
                        .changed
                        .push((format!("{code}/{}", resource.id), now));
                }
            }
            self.remember(seen);
        }
        self.refresh.dirty = true;
    }

    /// The read in flight has handed over every piece.
    pub(super) fn read_finished(&mut self, job: u64) -> bool {
        if self.refresh.job != Some(job) {
            return false;
        }
        self.refresh.job = None;
        self.refresh.loading.clear();
        self.refresh.finished_at = Some(self.now);
        if self.refresh.kind == ReadKind::Full {
            self.refresh.full_at = self.refresh.started_at;
        }
        if self.refresh.with_iam {
            self.refresh.iam_at = Some(self.now);
        }
        let now = self.now;
        self.refresh
            .changed
            .retain(|(_, at)| now - *at < CHANGED_FOR);
        if let Some(shown) = &mut self.topology {
            Arc::make_mut(shown).taken_at = now;
        }
        self.from_cache = false;
        self.refresh.dirty = true;
        true
    }

    /// Draws again from the topology when pieces changed it since the last time.
    pub fn settle(&mut self) {
        if !std::mem::take(&mut self.refresh.dirty) {
            return;
        }
        if let Some(shown) = self.topology.take() {
            let mut topology = Arc::unwrap_or_clone(shown);
            haven_model::signals::annotate(&mut topology, &self.signals);
            self.install(topology);
        }
    }
}
