//! The map (home view): per Region, each VPC with one column per Availability Zone — subnets,
//! instances with their target health, NAT and IGW, the ASG spread, the load balancer's healthy
//! targets per AZ, the database writer, standby and readers — then the links to and from other
//! Regions (cross-Region replicas, AMI and snapshot copies).
//!
//! The model is built once per topology (in `update`); drawing lays it out for the current width
//! and renders only the visible lines.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use haven_model::findings::ResourceKind;
use haven_model::front_door::{EntryPoint, entry_points};
use haven_model::relations::DbRole;
use haven_model::signals::{Metric, SeriesKey};
use haven_model::{
    DbInstance, Instance, InstanceState, RegionTopology, Service, Subnet, TargetHealthState,
    Topology, Vpc, name_tag,
};
use ratatui::style::{Color, Modifier, Style};

use super::deploys;
use super::fit::short_az;
use super::sparkline::{self, Firing, Live, Piece, SHORT};
use super::style::{Tone, status_text, status_tone, tone_style};
use super::tables::instance_target_health;

/// Instances shown per subnet before the rest is summed up (unless expanded).
pub const INSTANCES_PER_SUBNET: usize = 6;

/// Entry points shown at the top of each Region's map before the rest is counted.
pub const ENTRY_POINTS_SHOWN: usize = 3;

/// Narrowest AZ column; narrower than this, AZs are stacked instead of side by side.
pub const MIN_COLUMN_WIDTH: u16 = 30;

/// A piece of a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// Fixed text.
    Text(String, Style),
    /// An age relative to the dashboard's clock (formatted when drawn).
    Age(DateTime<Utc>, Style),
    /// A name: shortened (ending with `…`) before anything else on the line is cut, so the
    /// ids, CIDRs and states after it stay whole.
    Name(String, Style),
}

/// One line of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLine {
    /// Its pieces.
    pub segs: Vec<Seg>,
    /// Pieces from this index on are left out whole when the line does not fit.
    pub essential: usize,
}

impl Default for MapLine {
    fn default() -> Self {
        Self {
            segs: Vec::new(),
            essential: usize::MAX,
        }
    }
}

impl MapLine {
    fn push(&mut self, text: impl Into<String>, style: Style) -> &mut Self {
        self.segs.push(Seg::Text(text.into(), style));
        self
    }

    fn name(&mut self, name: impl Into<String>, style: Style) -> &mut Self {
        self.segs.push(Seg::Name(name.into(), style));
        self
    }

    fn age(&mut self, at: DateTime<Utc>, style: Style) -> &mut Self {
        self.segs.push(Seg::Age(at, style));
        self
    }

    /// Pieces of signals (text in a tone).
    fn pieces(&mut self, pieces: Vec<Piece>) -> &mut Self {
        for (text, tone) in pieces {
            self.push(text, tone_style(tone));
        }
        self
    }

    /// A value with its label as one piece (left out whole, never half), in the value's tone
    /// (dim when it has none): ` · 20 conn`.
    fn reading(&mut self, text: String, tone: Tone) -> &mut Self {
        let tone = if tone == Tone::Normal {
            Tone::Dim
        } else {
            tone
        };
        self.push(text, tone_style(tone))
    }

    /// What is pushed from now on may be dropped for lack of room.
    fn optional(&mut self) -> &mut Self {
        self.essential = self.essential.min(self.segs.len());
        self
    }
}

/// A horizontal band of a Region's map.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A line across the whole Region.
    Line(MapLine),
    /// One cell per AZ column; `labels` name the AZs when the columns have to be stacked.
    Columns {
        /// AZ names, used when stacked.
        labels: Vec<String>,
        /// Lines per AZ.
        cells: Vec<Vec<MapLine>>,
    },
    /// An empty line.
    Gap,
}

impl Block {
    /// Lines the block takes, side by side or stacked.
    pub fn height(&self, side_by_side: bool) -> usize {
        match self {
            Block::Line(_) | Block::Gap => 1,
            Block::Columns { cells, .. } if side_by_side => {
                cells.iter().map(Vec::len).max().unwrap_or(0)
            }
            Block::Columns { cells, .. } => cells
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| c.len() + 1)
                .sum(),
        }
    }
}

/// The map of one Region.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMap {
    /// Region code.
    pub region: String,
    /// Panel title.
    pub title: MapLine,
    /// The most AZ columns any of its VPCs has.
    pub columns: usize,
    /// Bands, top to bottom.
    pub blocks: Vec<Block>,
}

/// Between two AZ columns.
pub const COLUMN_SEPARATOR: &str = " │ ";

/// Width of [`COLUMN_SEPARATOR`].
pub const SEPARATOR_WIDTH: u16 = 3;

/// Width of each of `n` AZ columns side by side in `width`.
pub fn column_width(width: u16, n: usize) -> u16 {
    let n = n.max(1) as u16;
    width.saturating_sub(SEPARATOR_WIDTH * (n - 1)) / n
}

impl RegionMap {
    /// Whether the AZ columns fit side by side in `inner_width`.
    pub fn side_by_side(&self, inner_width: u16) -> bool {
        column_width(inner_width, self.columns) >= MIN_COLUMN_WIDTH
    }

    /// Total lines at that width.
    pub fn height(&self, inner_width: u16) -> usize {
        let side = self.side_by_side(inner_width);
        self.blocks.iter().map(|b| b.height(side)).sum()
    }
}

/// Every Region's map one after another in one panel, each under its own title: the map when
/// every Region is asked for (`0`) and the panels do not fit side by side.
pub fn stacked(maps: &[RegionMap]) -> RegionMap {
    let mut blocks = Vec::new();
    for (i, m) in maps.iter().enumerate() {
        if i > 0 {
            blocks.push(Block::Gap);
        }
        let mut heading = MapLine::default();
        heading.push("▌", link());
        heading
            .segs
            .extend(m.title.segs.iter().map(|seg| match seg {
                Seg::Text(text, style) | Seg::Name(text, style) => {
                    Seg::Text(text.clone(), style.add_modifier(Modifier::REVERSED))
                }
                other => other.clone(),
            }));
        blocks.push(Block::Line(heading));
        blocks.extend(m.blocks.iter().cloned());
    }
    let mut title = MapLine::default();
    title.push(format!(" all {} Regions ", maps.len()), bold());
    RegionMap {
        region: String::new(),
        title,
        columns: maps.iter().map(|m| m.columns).max().unwrap_or(1),
        blocks,
    }
}

fn dim() -> Style {
    tone_style(Tone::Dim)
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn link() -> Style {
    Style::new().fg(Color::Cyan)
}

/// The symbol and tone of an instance's target health (`·` when not a target).
pub fn health_marker(health: Option<TargetHealthState>) -> (&'static str, Tone) {
    use TargetHealthState as H;
    match health {
        Some(H::Healthy) => ("✓", Tone::Good),
        Some(H::Unhealthy) => ("✗", Tone::Bad),
        Some(H::Unused) => ("○", Tone::Warn),
        Some(H::Initial | H::Draining) => ("…", Tone::Busy),
        Some(H::Unavailable | H::Unknown) => ("?", Tone::Dim),
        None => ("·", Tone::Dim),
    }
}

fn instance_state(state: InstanceState) -> (String, Tone) {
    let tone = match state {
        InstanceState::Running => Tone::Good,
        InstanceState::Pending | InstanceState::Stopping | InstanceState::ShuttingDown => {
            Tone::Busy
        }
        InstanceState::Stopped => Tone::Bad,
        InstanceState::Terminated | InstanceState::Unknown => Tone::Dim,
    };
    let text = if state.is_transitional() {
        format!("{}…", state.as_str())
    } else {
        state.as_str().to_string()
    };
    (text, tone)
}

/// Builds the map of every Region. `stale` lists the services whose data was kept from an
/// earlier refresh because this one failed; `live` are the signals last read.
pub fn build(
    topology: &Topology,
    stale: &[(Option<String>, Service)],
    expand: bool,
    busy: &HashSet<String>,
    live: Live<'_>,
) -> Vec<RegionMap> {
    let mut links = CrossRegion::of(topology, live);
    links.busy = busy.clone();
    let codes: Vec<&str> = topology.regions.iter().map(|r| r.region.as_str()).collect();
    links.front_door = entry_points(topology)
        .iter()
        .map(|entry| entry_lines(entry, &codes))
        .collect();
    topology
        .regions
        .iter()
        .map(|region| {
            let errors = topology.errors_in(&region.region).count();
            let stale_here: Vec<Service> = stale
                .iter()
                .filter(|(r, _)| r.as_deref() == Some(region.region.as_str()))
                .map(|(_, s)| *s)
                .collect();
            region_map(region, &links, errors, &stale_here, expand)
        })
        .collect()
}

/// Cross-Region facts, computed once per topology, and the signals to show beside resources.
struct CrossRegion<'a> {
    /// (replica region, replica id) → "source-region/source-id".
    replica_sources: HashMap<(String, String), String>,
    /// Per Region, lines about links.
    lines: BTreeMap<String, Vec<MapLine>>,
    /// Regions that hold copies or replicas of another Region's resources.
    dr_of: BTreeMap<String, String>,
    /// Regions whose resources are copied elsewhere.
    sources: BTreeMap<String, Vec<String>>,
    /// Resources a job from the dashboard is working on (marked ⟳).
    busy: HashSet<String>,
    /// The names users reach the stacks by, each with a line per record
    /// (`haven_model::front_door`).
    front_door: Vec<Vec<MapLine>>,
    /// The signals last read.
    live: Live<'a>,
    /// Alarms in `ALARM` by the resources they watch.
    firing: Firing,
}

impl CrossRegion<'_> {
    /// Marks a resource a job is working on.
    fn mark_busy(&self, line: &mut MapLine, id: &str) {
        if self.busy.contains(id) {
            line.push("⟳ job ", tone_style(Tone::Busy));
        }
    }

    /// Marks a resource an alarm in `ALARM` watches: `⚠ ALARM lab-unhealthy-hosts`.
    fn mark_alarms(&self, line: &mut MapLine, region: &str, kind: ResourceKind, id: &str) {
        let key = (region.to_string(), kind, id.to_string());
        if let Some(names) = self.firing.get(&key) {
            let more = match names.len() {
                1 => String::new(),
                n => format!(" +{}", n - 1),
            };
            // An alarm firing is never left out for lack of room.
            let at = line.essential.min(line.segs.len());
            line.segs.insert(
                at,
                Seg::Text(
                    format!(" ⚠ ALARM {}{more}", names[0]),
                    tone_style(Tone::Bad),
                ),
            );
            if line.essential != usize::MAX {
                line.essential += 1;
            }
        }
    }

    /// Signals are shown in this Region: read, and readable.
    fn live_in(&self, region: &str) -> Option<Live<'_>> {
        (self.live.read() && !self.live.unavailable(region)).then_some(self.live)
    }
}

impl<'a> CrossRegion<'a> {
    fn of(topology: &Topology, live: Live<'a>) -> Self {
        let mut out = CrossRegion {
            live,
            firing: sparkline::firing_alarms(topology),
            busy: HashSet::new(),
            front_door: Vec::new(),
            replica_sources: HashMap::new(),
            lines: BTreeMap::new(),
            dr_of: BTreeMap::new(),
            sources: BTreeMap::new(),
        };
        let db_status = |region: &str, id: &str| {
            topology
                .region(region)
                .and_then(|r| r.db_instances.iter().find(|d| d.identifier == id))
                .map(|d| d.status.clone())
        };
        for l in topology.replica_links() {
            if !l.cross_region {
                continue;
            }
            out.replica_sources.insert(
                (l.replica.region.clone(), l.replica.identifier.clone()),
                format!("{}/{}", l.source.region, l.source.identifier),
            );
            out.note(&l.source.region, &l.replica.region);
            let status = db_status(&l.replica.region, &l.replica.identifier);
            let mut incoming = MapLine::default();
            incoming
                .push("replica ", bold())
                .push(format!("{} ", l.replica.identifier), Style::new());
            let mut outgoing = MapLine::default();
            outgoing
                .push("replica ", bold())
                .push(format!("{} ", l.source.identifier), Style::new());
            if let Some(s) = &status {
                for line in [&mut incoming, &mut outgoing] {
                    line.push(format!("{} ", status_text(s)), tone_style(status_tone(s)));
                }
            }
            incoming.push(
                format!("← {}/{}", l.source.region, l.source.identifier),
                link(),
            );
            outgoing.push(
                format!("→ {}/{}", l.replica.region, l.replica.identifier),
                link(),
            );
            out.push(&l.replica.region, incoming);
            out.push(&l.source.region, outgoing);
        }
        for (kind, copies) in [
            ("AMI ", topology.image_copies()),
            ("snap ", topology.snapshot_copies()),
            ("DB snap ", topology.db_snapshot_copies()),
        ] {
            for c in copies {
                if c.source.region == c.copy.region {
                    continue;
                }
                out.note(&c.source.region, &c.copy.region);
                let (state, created) = copy_state(topology, kind, &c.copy.region, &c.copy.id);
                let mut incoming = MapLine::default();
                incoming
                    .push(kind, bold())
                    .push(format!("{} ", c.copy.id), Style::new());
                let mut outgoing = MapLine::default();
                outgoing
                    .push(kind, bold())
                    .push(format!("{} ", c.source.id), Style::new());
                for line in [&mut incoming, &mut outgoing] {
                    // A finished copy says only its age; one still copying says how far it is.
                    if let Some((text, tone)) = &state
                        && *tone != Tone::Good
                    {
                        line.push(format!("{text} "), tone_style(*tone));
                    }
                    if let Some(at) = created {
                        line.age(at, dim()).push(" old ", dim());
                    }
                }
                incoming.push(format!("← {}/{}", c.source.region, c.source.id), link());
                outgoing.push(format!("→ {}/{}", c.copy.region, c.copy.id), link());
                out.push(&c.copy.region, incoming);
                out.push(&c.source.region, outgoing);
            }
        }
        out
    }

    fn note(&mut self, source: &str, copy: &str) {
        self.dr_of
            .entry(copy.to_string())
            .or_insert_with(|| source.to_string());
        let targets = self.sources.entry(source.to_string()).or_default();
        if !targets.iter().any(|t| t == copy) {
            targets.push(copy.to_string());
        }
    }

    fn push(&mut self, region: &str, line: MapLine) {
        self.lines.entry(region.to_string()).or_default().push(line);
    }
}

/// `⇢ lab.example.com  failover`, then one line per record (`PRIMARY ap-northeast-2 lab-alb
/// (healthy, serving)`) and per Region in view without one (`SECONDARY us-east-1 (none yet)`):
/// green for a healthy record, red for an unhealthy one, amber when health is unknown or a
/// Region has no record.
fn entry_lines(entry: &EntryPoint, regions: &[&str]) -> Vec<MapLine> {
    let mut head = MapLine::default();
    head.push("⇢ ", bold())
        .name(entry.host(), bold())
        .push(format!("  {}", entry.routing.as_str()), dim());
    let mut out = vec![head];
    for leg in &entry.legs {
        let tone = super::front_door::health_tone(leg.health);
        let mut line = MapLine::default();
        line.push(if leg.is_served() { "  ▸ " } else { "    " }, bold())
            .push(entry.describe_leg(leg), tone_style(tone));
        out.push(line);
    }
    for absent in entry.absent(regions) {
        let mut line = MapLine::default();
        line.push("    ", Style::new())
            .push(absent, tone_style(Tone::Warn));
        out.push(line);
    }
    out
}

/// The listeners that do more than forward plain HTTP: a redirect, or TLS with its certificate
/// (domain, status, expiry) and security policy.
fn listener_lines(region: &RegionTopology, lb: &haven_model::LoadBalancer) -> Vec<MapLine> {
    let mut out = Vec::new();
    for listener in &lb.listeners {
        let head = format!(
            "  {}:{} ",
            listener.protocol.as_deref().unwrap_or("?"),
            listener.port.map_or("?".into(), |p| p.to_string())
        );
        let redirect = listener.default_actions.iter().find_map(|a| match a {
            haven_model::ListenerAction::Redirect {
                protocol,
                port,
                status_code,
            } => Some(format!(
                "→ {} {}:{}",
                status_code
                    .as_deref()
                    .map_or("redirect", |c| c.trim_start_matches("HTTP_")),
                protocol.as_deref().unwrap_or("#{protocol}"),
                port.as_deref().unwrap_or("#{port}")
            )),
            _ => None,
        });
        if let Some(redirect) = redirect {
            let mut line = MapLine::default();
            line.push(head, dim()).push(redirect, Style::new());
            out.push(line);
            continue;
        }
        if listener.certificates.is_empty() && listener.ssl_policy.is_none() {
            continue;
        }
        let mut line = MapLine::default();
        line.push(head, dim());
        for arn in &listener.certificates {
            match region.certificates.iter().find(|c| &c.arn == arn) {
                Some(c) => {
                    let tone = if c.status == "ISSUED" {
                        Tone::Good
                    } else {
                        Tone::Bad
                    };
                    line.name(&c.domain_name, Style::new()).push(
                        format!(
                            " ({}{}) ",
                            c.status,
                            c.not_after
                                .map(|d| format!(", expires {}", d.format("%Y-%m-%d")))
                                .unwrap_or_default()
                        ),
                        tone_style(tone),
                    );
                }
                None => {
                    line.push(
                        format!("{} ", arn.rsplit('/').next().unwrap_or(arn)),
                        Style::new(),
                    );
                }
            }
        }
        if let Some(policy) = &listener.ssl_policy {
            line.push(
                format!("· {}", policy.trim_start_matches("ELBSecurityPolicy-")),
                dim(),
            );
        }
        out.push(line);
    }
    out
}

fn copy_state(
    topology: &Topology,
    kind: &str,
    region: &str,
    id: &str,
) -> (Option<(String, Tone)>, Option<DateTime<Utc>>) {
    let Some(r) = topology.region(region) else {
        return (None, None);
    };
    if kind.starts_with("AMI") {
        r.images
            .iter()
            .find(|i| i.id == id)
            .map_or((None, None), |i| {
                (
                    Some((status_text(&i.state), status_tone(&i.state))),
                    i.created_at,
                )
            })
    } else if kind.starts_with("DB") {
        r.db_snapshots
            .iter()
            .find(|s| s.identifier == id)
            .map_or((None, None), |s| {
                let tone = status_tone(&s.status);
                let state = match (s.percent_progress, tone) {
                    (Some(p), Tone::Busy) => format!("{} {p}%", status_text(&s.status)),
                    _ => status_text(&s.status),
                };
                (Some((state, tone)), s.created_at)
            })
    } else {
        r.snapshots
            .iter()
            .find(|s| s.id == id)
            .map_or((None, None), |s| {
                let tone = status_tone(&s.state);
                let state = match (&s.progress, tone) {
                    (Some(p), Tone::Busy) => format!("{} {p}", status_text(&s.state)),
                    _ => status_text(&s.state),
                };
                (Some((state, tone)), s.started_at)
            })
    }
}

fn region_map(
    region: &RegionTopology,
    links: &CrossRegion,
    errors: usize,
    stale: &[Service],
    expand: bool,
) -> RegionMap {
    let mut title = MapLine::default();
    title.push(format!(" {} ", region.region), bold());
    if let Some(source) = links.dr_of.get(&region.region) {
        title.push(format!("· DR of {source} "), link());
    } else if links.sources.contains_key(&region.region) {
        title.push("· primary ", link());
    }
    if errors > 0 {
        title.push(
            format!("· ⚠ {errors} error{} ", if errors == 1 { "" } else { "s" }),
            tone_style(Tone::Bad),
        );
    }
    signals_title(&mut title, region, links);

    let mut blocks = Vec::new();
    // The map starts with the front door: where users come in and which Region they reach.
    for line in links.front_door.iter().take(ENTRY_POINTS_SHOWN).flatten() {
        blocks.push(Block::Line(line.clone()));
    }
    if links.front_door.len() > ENTRY_POINTS_SHOWN {
        let mut more = MapLine::default();
        more.push(
            format!(
                "  +{} more names — :dns",
                links.front_door.len() - ENTRY_POINTS_SHOWN
            ),
            dim(),
        );
        blocks.push(Block::Line(more));
    }
    if !links.front_door.is_empty() {
        blocks.push(Block::Gap);
    }
    let mut columns = 1;
    let health = instance_target_health(region);
    let mut vpcs: Vec<&Vpc> = region.vpcs.iter().collect();
    vpcs.sort_by_key(|v| v.is_default);
    let mut collapsed = Vec::new();
    for v in vpcs {
        let has_workload = region.instances.iter().any(|i| {
            i.vpc_id.as_deref() == Some(v.id.as_str()) && i.state != InstanceState::Terminated
        }) || region
            .load_balancers
            .iter()
            .any(|l| l.vpc_id.as_deref() == Some(v.id.as_str()))
            || region
                .db_instances
                .iter()
                .any(|d| db_vpc(region, d) == Some(v.id.as_str()));
        // The default VPC AWS makes in every Region is noise unless something runs in it.
        if v.is_default && !has_workload {
            collapsed.push(Block::Line(collapsed_default(region, v)));
            continue;
        }
        let (vpc_blocks, n) = vpc_blocks(region, v, &health, links, expand);
        columns = columns.max(n);
        blocks.extend(vpc_blocks);
        blocks.push(Block::Gap);
    }
    blocks.extend(collapsed);
    if region.vpcs.is_empty() {
        let mut line = MapLine::default();
        line.push("no VPC discovered in this Region", dim());
        blocks.push(Block::Line(line));
    }
    // DB instances outside any shown VPC (e.g. no subnet group known).
    let orphans: Vec<&DbInstance> = region
        .db_instances
        .iter()
        .filter(|d| db_vpc(region, d).is_none_or(|id| !region.vpcs.iter().any(|v| v.id == id)))
        .collect();
    for db in orphans {
        for line in db_lines(region, db, links, true) {
            blocks.push(Block::Line(line));
        }
    }
    if let Some(lines) = links.lines.get(&region.region) {
        if !matches!(blocks.last(), Some(Block::Gap)) {
            blocks.push(Block::Gap);
        }
        let mut header = MapLine::default();
        header.push("Cross-Region", bold().add_modifier(Modifier::UNDERLINED));
        blocks.push(Block::Line(header));
        for line in lines {
            blocks.push(Block::Line(line.clone()));
        }
    }
    if errors > 0 || !stale.is_empty() {
        if !matches!(blocks.last(), Some(Block::Gap)) {
            blocks.push(Block::Gap);
        }
        if errors > 0 {
            let mut line = MapLine::default();
            line.push(
                format!(
                    "⚠ {errors} discovery error{} in this Region — :errors",
                    if errors == 1 { "" } else { "s" }
                ),
                tone_style(Tone::Bad),
            );
            blocks.push(Block::Line(line));
        }
        for service in stale {
            let mut line = MapLine::default();
            line.push(
                format!("⚠ {} data kept from the previous refresh", service.as_str()),
                tone_style(Tone::Warn),
            );
            blocks.push(Block::Line(line));
        }
    }
    while matches!(blocks.last(), Some(Block::Gap)) {
        blocks.pop();
    }
    RegionMap {
        region: region.region.clone(),
        title,
        columns,
        blocks,
    }
}

/// The Region title's signals: alarms in `ALARM`, and signals that could not be read.
fn signals_title(title: &mut MapLine, region: &RegionTopology, links: &CrossRegion) {
    let firing = region.alarms.iter().filter(|a| a.state == "ALARM").count();
    if firing > 0 {
        title.push(
            format!("· ⚠ {firing} alarm{} ", if firing == 1 { "" } else { "s" }),
            tone_style(Tone::Bad),
        );
    }
    if links.live.read() && links.live.unavailable(&region.region) {
        title.push("· signals n/a ", dim());
    }
}

/// A group's CPU sparkline and in-service count: `  CPU ▁▂▃▅ 42% · in service 2`.
fn group_signals(links: &CrossRegion, code: &str, group: &str) -> Option<MapLine> {
    let live = links.live_in(code)?;
    let cpu = live.gauge(
        "CPU",
        &SeriesKey::new(code, group, Metric::Cpu),
        SHORT,
        None,
    );
    let in_service = live.latest(&SeriesKey::new(code, group, Metric::InService), None);
    if cpu.is_none() && in_service.is_none() {
        return None;
    }
    let mut line = MapLine::default();
    line.push("  ", Style::new());
    if let Some(cpu) = cpu {
        line.pieces(cpu).push(" · ", dim());
    }
    if let Some(count) = in_service {
        line.reading(format!("in service {}", count.text), count.tone);
    }
    Some(line)
}

/// An AZ of a load balancer: requests a minute, 5xx rate, latency and the target groups'
/// healthy and unhealthy hosts as CloudWatch counts them.
fn az_signals(
    links: &CrossRegion,
    code: &str,
    lb: &haven_model::LoadBalancer,
    target_groups: &[&str],
    az: &str,
) -> Vec<MapLine> {
    let Some(live) = links.live_in(code) else {
        return Vec::new();
    };
    let key = |metric| SeriesKey::in_az(code, &lb.arn, az, metric);
    let mut lines = Vec::new();
    if let Some(requests) = live.gauge("req/min", &key(Metric::Requests), SHORT, None) {
        let mut line = MapLine::default();
        line.push("  ", Style::new()).pieces(requests);
        lines.push(line);
    }
    let mut line = MapLine::default();
    line.push(" ", Style::new());
    if let Some(rate) = live.error_rate(code, &lb.arn, az) {
        line.push(" 5xx ", dim())
            .push(rate.text, tone_style(rate.tone));
    }
    line.optional();
    if let Some(latency) = live.latest(&key(Metric::ResponseTime), None) {
        line.reading(format!(" · latency {}", latency.text), latency.tone);
    }
    if let Some(hosts) = live.hosts(code, target_groups.iter().copied(), az) {
        let tone = hosts
            .iter()
            .fold(Tone::Normal, |t, (_, tone)| t.max_with(*tone));
        let text: String = hosts.into_iter().map(|(text, _)| text).collect();
        line.reading(format!(" · {text}"), tone);
    }
    if line.segs.len() > 1 {
        lines.push(line);
    }
    lines
}

/// A DB instance's CPU, connections and free storage, and a replica's lag.
fn db_signals(links: &CrossRegion, code: &str, db: &DbInstance) -> Vec<MapLine> {
    let Some(live) = links.live_in(code) else {
        return Vec::new();
    };
    let key = |metric| SeriesKey::new(code, &db.identifier, metric);
    let mut lines = Vec::new();
    let mut line = MapLine::default();
    line.push("  ", Style::new());
    if let Some(cpu) = live.gauge("CPU", &key(Metric::Cpu), SHORT, None) {
        line.pieces(cpu);
    }
    line.optional();
    if let Some(connections) = live.latest(&key(Metric::Connections), None) {
        line.reading(format!(" · {} conn", connections.text), connections.tone);
    }
    let allocated = sparkline::allocated_bytes(db);
    if let Some(free) = live.latest(&key(Metric::FreeStorage), allocated) {
        line.reading(format!(" · {} free", free.text), free.tone);
    }
    if line.segs.len() > 1 {
        lines.push(line);
    }
    if db.read_replica_source.is_some()
        && let Some(lag) = live.gauge("lag", &key(Metric::ReplicaLag), SHORT, None)
    {
        let mut line = MapLine::default();
        line.push("  ", Style::new()).pieces(lag);
        lines.push(line);
    }
    lines
}

fn collapsed_default(region: &RegionTopology, v: &Vpc) -> MapLine {
    let subnets = region.subnets.iter().filter(|s| s.vpc_id == v.id).count();
    let mut line = MapLine::default();
    line.push(
        format!(
            "default VPC {} {} · {subnets} subnets · unused",
            v.id, v.cidr_block
        ),
        dim(),
    );
    line
}

fn db_vpc<'a>(region: &'a RegionTopology, db: &'a DbInstance) -> Option<&'a str> {
    let group = db.subnet_group_name.as_deref()?;
    region
        .db_subnet_groups
        .iter()
        .find(|g| g.name == group)?
        .vpc_id
        .as_deref()
}

/// The AZ columns of a VPC: one per AZ its subnets are in.
struct AzColumns<'a> {
    /// AZ names, in column order.
    azs: Vec<&'a str>,
    /// The same, as the labels of stacked columns.
    labels: Vec<String>,
}

impl<'a> AzColumns<'a> {
    fn of(subnets: &[&'a Subnet]) -> Self {
        let mut azs: Vec<&str> = subnets
            .iter()
            .map(|s| s.availability_zone.as_str())
            .collect();
        azs.sort_unstable();
        azs.dedup();
        let labels = azs.iter().map(|a| (*a).to_string()).collect();
        Self { azs, labels }
    }

    /// The column of an AZ, if the VPC has one for it.
    fn col(&self, az: &str) -> Option<usize> {
        self.azs.iter().position(|a| *a == az)
    }

    /// One empty cell per column.
    fn empty(&self) -> Vec<Vec<MapLine>> {
        vec![Vec::new(); self.azs.len().max(1)]
    }

    /// A band of these columns.
    fn band(&self, cells: Vec<Vec<MapLine>>) -> Block {
        Block::Columns {
            labels: self.labels.clone(),
            cells,
        }
    }
}

/// A VPC's bands: its line, the AZ headers, its subnets, then what runs in it (ASGs, load
/// balancers, databases), each in its AZ columns.
fn vpc_blocks(
    region: &RegionTopology,
    v: &Vpc,
    health: &HashMap<&str, TargetHealthState>,
    links: &CrossRegion,
    expand: bool,
) -> (Vec<Block>, usize) {
    let subnets: Vec<&Subnet> = region.subnets.iter().filter(|s| s.vpc_id == v.id).collect();
    let columns = AzColumns::of(&subnets);
    let mut blocks = vec![
        Block::Line(vpc_line(region, v)),
        az_headers(region, &columns),
    ];
    blocks.extend(subnet_blocks(
        region, &subnets, &columns, health, links, expand,
    ));
    blocks.push(Block::Gap);
    blocks.extend(asg_blocks(region, &subnets, &columns, links));
    blocks.extend(load_balancer_blocks(region, v, &columns, links));
    blocks.extend(database_blocks(region, v, &columns, links));
    (blocks, columns.azs.len().max(1))
}

/// The VPC line: name, id, CIDR and its internet gateway.
fn vpc_line(region: &RegionTopology, v: &Vpc) -> MapLine {
    let mut line = MapLine::default();
    line.push("VPC ", bold())
        .name(
            name_tag(&v.tags).unwrap_or(if v.is_default { "default" } else { "-" }),
            bold(),
        )
        .push(" ", bold())
        .push(format!("{}  {}  ", v.id, v.cidr_block), dim());
    match region
        .internet_gateways
        .iter()
        .find(|g| g.attached_vpc_ids.contains(&v.id))
    {
        Some(igw) => {
            line.push("IGW ", bold()).name(
                name_tag(&igw.tags).unwrap_or(igw.id.as_str()),
                tone_style(Tone::Good),
            );
        }
        None => {
            line.push("no IGW (private only)", dim());
        }
    }
    line
}

/// The AZ headers, with the zone id and a zone that is not available.
fn az_headers(region: &RegionTopology, columns: &AzColumns) -> Block {
    let azs = &columns.azs;
    let headers: Vec<Vec<MapLine>> = azs
        .iter()
        .map(|az| {
            let zone = region.availability_zones.iter().find(|z| z.name == *az);
            let mut l = MapLine::default();
            l.push(*az, bold().add_modifier(Modifier::UNDERLINED));
            if let Some(z) = zone.filter(|z| z.state != "available") {
                l.push(format!(" ⚠ {}", z.state), tone_style(Tone::Bad));
            }
            if let Some(id) = zone.and_then(|z| z.zone_id.as_deref()) {
                l.optional().push(format!(" {id}"), dim());
            }
            vec![l]
        })
        .collect();
    columns.band(headers)
}

/// Subnets with their NAT, egress and instances: public ones, then private ones, so each tier
/// lines up across the AZ columns.
fn subnet_blocks(
    region: &RegionTopology,
    subnets: &[&Subnet],
    columns: &AzColumns,
    health: &HashMap<&str, TargetHealthState>,
    links: &CrossRegion,
    expand: bool,
) -> Vec<Block> {
    let code = region.region.as_str();
    let col = |az: &str| columns.col(az);
    let mut blocks = Vec::new();
    let mut public_cells: Vec<Vec<MapLine>> = columns.empty();
    let mut private_cells: Vec<Vec<MapLine>> = columns.empty();
    let mut ordered = subnets.to_vec();
    let publics: HashMap<&str, bool> = subnets
        .iter()
        .map(|s| (s.id.as_str(), region.subnet_is_public(&s.id)))
        .collect();
    ordered.sort_by_key(|s| {
        (
            !publics.get(s.id.as_str()).copied().unwrap_or(false),
            cidr_key(&s.cidr_block),
        )
    });
    let mut instances_by_subnet: HashMap<&str, Vec<&Instance>> = HashMap::new();
    for i in &region.instances {
        if i.state == InstanceState::Terminated {
            continue;
        }
        if let Some(s) = i.subnet_id.as_deref() {
            instances_by_subnet.entry(s).or_default().push(i);
        }
    }
    for s in ordered {
        let Some(c) = col(&s.availability_zone) else {
            continue;
        };
        let public = publics.get(s.id.as_str()).copied().unwrap_or(false);
        let cell = if public {
            &mut public_cells[c]
        } else {
            &mut private_cells[c]
        };
        let mut l = MapLine::default();
        if public {
            l.push(
                "PUB ",
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            );
        } else {
            l.push(
                "PRV ",
                Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            );
        }
        l.name(name_tag(&s.tags).unwrap_or(s.id.as_str()), Style::new())
            .push(" ", Style::new())
            .push(s.cidr_block.clone(), dim());
        cell.push(l);
        for nat in region.nat_gateways.iter().filter(|g| g.subnet_id == s.id) {
            let mut l = MapLine::default();
            l.push("  NAT ", bold())
                .name(name_tag(&nat.tags).unwrap_or(nat.id.as_str()), Style::new())
                .push(" ", Style::new())
                .push(status_text(&nat.state), tone_style(status_tone(&nat.state)))
                .optional();
            if let Some(ip) = nat.public_ips.first() {
                l.push(format!(" {ip}"), dim());
            }
            cell.push(l);
        }
        if !public {
            let mut l = MapLine::default();
            match (
                region.nat_for_subnet(&s.id),
                region.nat_az_for_subnet(&s.id),
            ) {
                (Some(nat), Some(az)) if az == s.availability_zone => {
                    l.push("  → NAT ", dim())
                        .name(
                            name_tag(&nat.tags).unwrap_or(nat.id.as_str()),
                            tone_style(Tone::Good),
                        )
                        .optional()
                        .push(" (same AZ)", dim());
                }
                (Some(nat), Some(az)) => {
                    l.push("  ⚠ → NAT ", tone_style(Tone::Warn))
                        .name(
                            name_tag(&nat.tags).unwrap_or(nat.id.as_str()),
                            tone_style(Tone::Warn),
                        )
                        .push(
                            format!(" in {} (cross-AZ)", short_az(code, az)),
                            tone_style(Tone::Warn),
                        );
                }
                (Some(nat), None) => {
                    l.push(format!("  → NAT {}", nat.id), dim());
                }
                (None, _) => {
                    l.push("  no internet egress", dim());
                }
            }
            cell.push(l);
        }
        if let Some(list) = instances_by_subnet.get_mut(s.id.as_str()) {
            instance_lines(links, code, list, health, expand, cell);
        }
    }
    for cells in [public_cells, private_cells] {
        if cells.iter().any(|c| !c.is_empty()) {
            blocks.push(columns.band(cells));
        }
    }
    blocks
}

/// Auto Scaling groups launching into the VPC: the group's line, then its instances per AZ.
fn asg_blocks(
    region: &RegionTopology,
    subnets: &[&Subnet],
    columns: &AzColumns,
    links: &CrossRegion,
) -> Vec<Block> {
    let col = |az: &str| columns.col(az);
    let azs = &columns.azs;
    let mut blocks = Vec::new();
    let vpc_subnet_ids: Vec<&str> = subnets.iter().map(|s| s.id.as_str()).collect();
    for g in region.auto_scaling_groups.iter().filter(|g| {
        g.subnet_ids
            .iter()
            .any(|s| vpc_subnet_ids.contains(&s.as_str()))
            || (g.subnet_ids.is_empty() && g.availability_zones.iter().any(|a| col(a).is_some()))
    }) {
        let by_az = region.asg_instances_by_az(g);
        let live: usize = by_az.values().map(Vec::len).sum();
        let healthy = g
            .instances
            .iter()
            .filter(|m| m.lifecycle_state == "InService" && m.health_status == "Healthy")
            .count();
        let tone = if healthy as i32 >= g.desired_capacity {
            Tone::Good
        } else if healthy == 0 {
            Tone::Bad
        } else {
            Tone::Warn
        };
        let mut header = MapLine::default();
        header
            .push("ASG ", bold())
            .name(&g.name, bold())
            .push("  ", bold());
        links.mark_busy(&mut header, &g.name);
        header
            .push(
                format!("{healthy}/{} healthy", g.desired_capacity),
                tone_style(tone),
            )
            .optional()
            .push(
                format!(
                    "  min {} max {} · {} check",
                    g.min_size, g.max_size, g.health_check_type
                ),
                dim(),
            );
        if let Some(lt) = &g.launch_template {
            // `$Latest` and `$Default` read as they are; a number is a version.
            let version = match lt.version.as_deref() {
                Some(v) if v.starts_with('$') => format!(" {v}"),
                Some(v) => format!(" v{v}"),
                None => String::new(),
            };
            header.push(
                format!(
                    " · template {}{version}",
                    lt.name.as_deref().or(lt.id.as_deref()).unwrap_or("-"),
                ),
                dim(),
            );
        }
        if let Some(status) = &g.status {
            header.push(format!("  {status}…"), tone_style(Tone::Busy));
        }
        // A group of a running deploy says which side it is: `blue · deploy d1 shift-50`.
        if let Some((label, tone)) = deploys::group_label(region, &g.name) {
            header.segs.insert(
                header.essential.min(header.segs.len()),
                Seg::Text(format!("  [{label}]"), tone_style(tone)),
            );
            header.essential = header.essential.saturating_add(1);
        }
        links.mark_alarms(
            &mut header,
            &region.region,
            ResourceKind::AutoScalingGroup,
            &g.name,
        );
        blocks.push(Block::Line(header));
        blocks.extend(group_signals(links, &region.region, &g.name).map(Block::Line));
        let mut cells: Vec<Vec<MapLine>> = columns.empty();
        for (c, az) in azs.iter().enumerate() {
            let mut l = MapLine::default();
            match by_az.get(*az) {
                Some(ids) => {
                    let unhealthy = g
                        .instances
                        .iter()
                        .filter(|m| m.availability_zone == *az && m.health_status != "Healthy")
                        .count();
                    let pending = g
                        .instances
                        .iter()
                        .filter(|m| {
                            m.availability_zone == *az
                                && (m.lifecycle_state.starts_with("Pending")
                                    || m.lifecycle_state.starts_with("Terminating"))
                        })
                        .count();
                    let tone = if ids.is_empty() {
                        Tone::Bad
                    } else if unhealthy > 0 {
                        Tone::Warn
                    } else {
                        Tone::Good
                    };
                    l.name(&g.name, Style::new()).push(
                        format!(": {} of {live} instances here", ids.len()),
                        tone_style(tone),
                    );
                    if unhealthy > 0 {
                        l.push(format!(" ✗{unhealthy} unhealthy"), tone_style(Tone::Bad));
                    }
                    if pending > 0 {
                        l.push(format!(" …{pending} changing"), tone_style(Tone::Busy));
                    }
                }
                None => {
                    l.push(format!("asg {} not in this AZ", g.name), dim());
                }
            }
            cells[c].push(l);
        }
        blocks.push(columns.band(cells));
    }
    blocks
}

/// Load balancers in the VPC: the balancer's line, then healthy/total targets per AZ.
fn load_balancer_blocks(
    region: &RegionTopology,
    v: &Vpc,
    columns: &AzColumns,
    links: &CrossRegion,
) -> Vec<Block> {
    let col = |az: &str| columns.col(az);
    let azs = &columns.azs;
    let mut blocks = Vec::new();
    for lb in region
        .load_balancers
        .iter()
        .filter(|l| l.vpc_id.as_deref() == Some(v.id.as_str()))
    {
        let by_az = region.load_balancer_health_by_az(lb);
        let kind = match lb.lb_type.as_str() {
            "application" => "ALB",
            "network" => "NLB",
            "gateway" => "GWLB",
            _ => "LB",
        };
        let mut header = MapLine::default();
        header
            .push(format!("{kind} "), bold())
            .name(&lb.name, bold())
            .push("  ", bold())
            .push(status_text(&lb.state), tone_style(status_tone(&lb.state)))
            .optional()
            .push(format!("  {}", lb.scheme), dim());
        let tgs = region.target_groups_of(lb);
        links.mark_alarms(
            &mut header,
            &region.region,
            ResourceKind::LoadBalancer,
            &lb.arn,
        );
        for tg in &tgs {
            links.mark_alarms(
                &mut header,
                &region.region,
                ResourceKind::TargetGroup,
                &tg.arn,
            );
        }
        let tg_arns: Vec<&str> = tgs.iter().map(|tg| tg.arn.as_str()).collect();
        let mut weighted = false;
        for listener in &lb.listeners {
            header.push(
                format!(
                    "  {}:{}",
                    listener.protocol.as_deref().unwrap_or("?"),
                    listener.port.map_or("?".into(), |p| p.to_string())
                ),
                Style::new(),
            );
            // Traffic split between target groups (a blue/green shift): the weights, in order.
            if listener.forwards().count() > 1
                && listener.forwards().any(|tg| tg.weight.is_some())
                && let Some(weights) = deploys::weights_text(region, &listener.arn)
            {
                header.push(format!(" → {weights}"), tone_style(Tone::Busy));
                weighted = true;
            }
        }
        if !tgs.is_empty() && !weighted {
            let names: Vec<&str> = tgs.iter().map(|t| t.name.as_str()).collect();
            header.push(format!(" → {}", names.join(", ")), dim());
        }
        let elsewhere: usize = by_az
            .iter()
            .filter(|(az, _)| col(az).is_none())
            .map(|(_, c)| c.total)
            .sum();
        if elsewhere > 0 {
            header.push(
                format!("  +{elsewhere} targets outside these AZs"),
                tone_style(Tone::Warn),
            );
        }
        blocks.push(Block::Line(header));
        for line in listener_lines(region, lb) {
            blocks.push(Block::Line(line));
        }
        let enabled: Vec<&str> = lb
            .zones
            .iter()
            .map(|z| z.availability_zone.as_str())
            .collect();
        let mut cells: Vec<Vec<MapLine>> = columns.empty();
        for (c, az) in azs.iter().enumerate() {
            let mut l = MapLine::default();
            let count = by_az.get(*az).copied().unwrap_or_default();
            if !enabled.contains(az) {
                if count.total > 0 {
                    l.push(
                        format!("⚠ AZ not enabled, {} targets idle", count.total),
                        tone_style(Tone::Warn),
                    );
                } else {
                    l.push("– not enabled", dim());
                }
            } else if count.total == 0 {
                l.push("✗ 0/0 no targets", tone_style(Tone::Bad));
            } else {
                let (symbol, tone) = if count.healthy == count.total {
                    ("✓", Tone::Good)
                } else if count.healthy == 0 {
                    ("✗", Tone::Bad)
                } else {
                    ("◐", Tone::Warn)
                };
                l.push(
                    format!("{symbol} {}/{} targets healthy", count.healthy, count.total),
                    tone_style(tone),
                );
            }
            cells[c].push(l);
            if enabled.contains(az) {
                cells[c].extend(az_signals(links, &region.region, lb, &tg_arns, az));
            }
        }
        blocks.push(columns.band(cells));
    }
    blocks
}

/// Databases in the VPC, each in its AZ.
fn database_blocks(
    region: &RegionTopology,
    v: &Vpc,
    columns: &AzColumns,
    links: &CrossRegion,
) -> Vec<Block> {
    let mut blocks = Vec::new();
    let dbs: Vec<&DbInstance> = region
        .db_instances
        .iter()
        .filter(|d| db_vpc(region, d) == Some(v.id.as_str()))
        .collect();
    // Each writer (or replica of a database elsewhere) heads a family: itself, its standby and
    // its replicas in this VPC, each in its AZ column.
    let is_head = |db: &DbInstance| {
        let role = region.db_role(db);
        let source_here = db
            .read_replica_source
            .as_deref()
            .is_some_and(|src| dbs.iter().any(|d| d.identifier == src || d.arn == src));
        role == DbRole::Writer || (role == DbRole::ReadReplica && !source_here)
    };
    let mut placed: Vec<&str> = Vec::new();
    for head in dbs.iter().filter(|d| is_head(d)) {
        let members: Vec<&DbInstance> = std::iter::once(*head)
            .chain(dbs.iter().copied().filter(|d| {
                d.identifier != head.identifier
                    && (d
                        .read_replica_source
                        .as_deref()
                        .is_some_and(|src| src == head.identifier || src == head.arn)
                        || (d.cluster_identifier.is_some()
                            && d.cluster_identifier == head.cluster_identifier))
            }))
            .collect();
        blocks.push(Block::Line(db_header(
            region,
            head,
            region.db_role(head),
            links,
        )));
        let (cells, spanning) = db_cells(region, &members, links, columns);
        blocks.push(columns.band(cells));
        blocks.extend(spanning.into_iter().map(Block::Line));
        placed.extend(members.iter().map(|d| d.identifier.as_str()));
    }
    let rest: Vec<&DbInstance> = dbs
        .iter()
        .copied()
        .filter(|d| !placed.contains(&d.identifier.as_str()))
        .collect();
    if !rest.is_empty() {
        let (cells, spanning) = db_cells(region, &rest, links, columns);
        blocks.push(columns.band(cells));
        blocks.extend(spanning.into_iter().map(Block::Line));
    }
    blocks
}

/// The AZ cells of some databases (and the lines of those outside the columns).
fn db_cells(
    region: &RegionTopology,
    members: &[&DbInstance],
    links: &CrossRegion,
    columns: &AzColumns,
) -> (Vec<Vec<MapLine>>, Vec<MapLine>) {
    let col = |az: &str| columns.col(az);
    let mut cells: Vec<Vec<MapLine>> = columns.empty();
    let mut spanning = Vec::new();
    for db in members {
        match db.availability_zone.as_deref().and_then(col) {
            Some(c) => cells[c].extend(db_lines(region, db, links, false)),
            None => spanning.extend(db_lines(region, db, links, true)),
        }
        if db.multi_az
            && let Some(c) = db.secondary_availability_zone.as_deref().and_then(col)
        {
            let mut l = MapLine::default();
            l.push("◇ ", tone_style(Tone::Good))
                .name(&db.identifier, Style::new())
                .push(" standby", dim());
            cells[c].push(l);
        }
    }
    (cells, spanning)
}

/// The line over a database's AZ cells: what it is and how it is protected.
fn db_header(
    region: &RegionTopology,
    db: &DbInstance,
    role: DbRole,
    links: &CrossRegion,
) -> MapLine {
    let mut header = MapLine::default();
    header
        .push("RDS ", bold())
        .name(&db.identifier, bold())
        .push("  ", bold());
    if role == DbRole::Writer {
        if db.multi_az {
            header.push("Multi-AZ", tone_style(Tone::Good));
        } else {
            header.push("⚠ Single-AZ, no standby", tone_style(Tone::Warn));
        }
        let replicas = db.read_replica_identifiers.len();
        if replicas > 0 {
            header.push(
                format!(
                    " · {replicas} replica{}",
                    if replicas == 1 { "" } else { "s" }
                ),
                Style::new(),
            );
        }
    } else {
        let source = links
            .replica_sources
            .get(&(region.region.clone(), db.identifier.clone()))
            .cloned()
            .or_else(|| db.read_replica_source.clone())
            .unwrap_or_default();
        header.push(format!("read replica of {source}"), link());
    }
    header.optional().push(
        format!(
            " · {} {} · {}",
            db.engine,
            db.engine_version.as_deref().unwrap_or(""),
            db.class
        ),
        dim(),
    );
    header
}

/// Lines for one DB instance: role, status, and where its standby or source is.
fn db_lines(
    region: &RegionTopology,
    db: &DbInstance,
    links: &CrossRegion,
    with_az: bool,
) -> Vec<MapLine> {
    let role = region.db_role(db);
    let (symbol, role_text) = match role {
        DbRole::Writer => ("◆ ", "writer"),
        DbRole::ClusterReader => ("◇ ", "reader"),
        DbRole::ReadReplica => ("◇ ", "replica"),
    };
    let tone = status_tone(&db.status);
    let mut l = MapLine::default();
    l.push(symbol, tone_style(tone))
        .name(&db.identifier, Style::new())
        .push(" ", Style::new());
    links.mark_busy(&mut l, &db.identifier);
    l.push(format!("{role_text} "), dim())
        .push(status_text(&db.status), tone_style(tone));
    links.mark_alarms(
        &mut l,
        &region.region,
        ResourceKind::DbInstance,
        &db.identifier,
    );
    if with_az && let Some(az) = &db.availability_zone {
        l.push(format!("  {az}"), dim());
    }
    let mut lines = vec![l];
    lines.extend(db_signals(links, &region.region, db));
    if role == DbRole::Writer && db.multi_az && db.secondary_availability_zone.is_none() {
        let mut s = MapLine::default();
        s.push("  standby: other AZ", dim());
        lines.push(s);
    }
    if role == DbRole::ReadReplica {
        let mut s = MapLine::default();
        match links
            .replica_sources
            .get(&(region.region.clone(), db.identifier.clone()))
        {
            Some(source) => {
                s.push(format!("  ← {source}"), link());
            }
            None => {
                let source = db.read_replica_source.as_deref().unwrap_or("?");
                s.push(format!("  ← {source}"), dim());
            }
        }
        lines.push(s);
    }
    lines
}

/// Instance lines for a subnet; problems first when not every instance is shown.
fn instance_lines(
    links: &CrossRegion,
    code: &str,
    list: &mut [&Instance],
    health: &HashMap<&str, TargetHealthState>,
    expand: bool,
    cell: &mut Vec<MapLine>,
) {
    let rank = |i: &Instance| -> u8 {
        let (_, tone) = health_marker(health.get(i.id.as_str()).copied());
        let (_, state_tone) = instance_state(i.state);
        match (tone, state_tone) {
            (Tone::Bad, _) | (_, Tone::Bad) => 0,
            (Tone::Warn | Tone::Busy, _) | (_, Tone::Busy) => 1,
            _ => 2,
        }
    };
    let capped = !expand && list.len() > INSTANCES_PER_SUBNET;
    if capped {
        list.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.id.cmp(&b.id)));
    }
    let shown = if capped {
        INSTANCES_PER_SUBNET - 1
    } else {
        list.len()
    };
    for i in list.iter().take(shown) {
        let (symbol, tone) = health_marker(health.get(i.id.as_str()).copied());
        let (state, state_tone) = instance_state(i.state);
        let mut l = MapLine::default();
        l.push(format!("  {symbol} "), tone_style(tone))
            .push(format!("{} ", i.id), Style::new());
        links.mark_busy(&mut l, &i.id);
        l.push(state, tone_style(state_tone));
        links.mark_alarms(&mut l, code, ResourceKind::Instance, &i.id);
        l.optional();
        if let Some(live) = links.live_in(code)
            && let Some(cpu) = live.gauge("", &SeriesKey::new(code, &i.id, Metric::Cpu), 6, None)
        {
            l.pieces(cpu);
        }
        if let Some(name) = name_tag(&i.tags) {
            l.push(format!(" {name}"), dim());
        }
        cell.push(l);
    }
    if capped {
        let rest = &list[shown..];
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for i in rest {
            let (symbol, _) = health_marker(health.get(i.id.as_str()).copied());
            *counts.entry(symbol).or_default() += 1;
        }
        let mut l = MapLine::default();
        l.push(format!("  + {} more:", rest.len()), dim());
        for (symbol, tone) in [
            ("✓", Tone::Good),
            ("✗", Tone::Bad),
            ("○", Tone::Warn),
            ("…", Tone::Busy),
            ("?", Tone::Dim),
            ("·", Tone::Dim),
        ] {
            if let Some(n) = counts.get(symbol) {
                l.push(format!(" {n}{symbol}"), tone_style(tone));
            }
        }
        l.push("  (e)", dim());
        cell.push(l);
    }
}

/// Sorts CIDRs numerically (10.0.2.0 before 10.0.10.0).
fn cidr_key(cidr: &str) -> Vec<u32> {
    cidr.split(['.', '/'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}
