//! Drawing: a pure function of the state. Only the visible part of the map and of a list is
//! turned into cells, so a frame costs the same at ten or ten thousand resources.

use haven_model::action::Risk;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block as Panel, Borders, Cell as TableCell, Clear, Paragraph, Row, Table, TableState, Wrap,
};

use super::fit::{self, fit};
use super::help::{self, HelpLine};
use super::jobs::JobState;
use super::keymap::{KeyAction, KeyMap, Mode};
use super::layout::{self, MapLayout};
use super::map::{
    self, Block, COLUMN_SEPARATOR, MapLine, RegionMap, SEPARATOR_WIDTH, Seg, column_width,
};
use super::menu::{Dialog, Menu};
use super::notice;
use super::rows::{Cell, ListKind};
use super::state::{Describe, InputKind, State, View};
use super::style::tone_style;
use super::tables::age;

const SPINNER: [char; 8] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧'];

fn key_style() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Draws the whole dashboard.
pub fn draw(frame: &mut Frame, state: &State) {
    draw_around(frame, state, |frame, body| draw_body(frame, body, state));
}

/// Draws the header, the tabs, the footer and whatever is open over the body, and the body
/// with `body` (several accounts draw their maps side by side there).
pub fn draw_around(frame: &mut Frame, state: &State, body: impl FnOnce(&mut Frame, Rect)) {
    let area = frame.area();
    if area.height < 3 || area.width < 10 {
        frame.render_widget(Paragraph::new("haven: terminal too small"), area);
        return;
    }
    let [header, tabs, body_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, state);
    draw_tabs(frame, tabs, state);
    body(frame, body_area);
    let body = body_area;
    if let Some(menu) = &state.menu {
        draw_menu(frame, body, menu, &state.keymap);
    }
    if let Some(dialog) = &state.dialog {
        // Whose resources the calls change, named with the Region they go to.
        let account = account_words(state.topology.as_deref(), &state.settings);
        draw_dialog(frame, body, dialog, &state.keymap, &account);
    }
    draw_footer(frame, footer, state);
}

/// The view's own body: the map, a list, the help or the jobs.
pub fn draw_body(frame: &mut Frame, body: Rect, state: &State) {
    match state.view {
        View::Map => draw_map(frame, body, state),
        View::List(_) => draw_list(frame, body, state),
        View::Help => draw_help(frame, body, state),
        View::Jobs => draw_jobs(frame, body, state),
    }
}

/// A rectangle of at most `width` × `height` centred in `area`.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn risk_style(risk: Risk) -> Style {
    match risk {
        Risk::Safe => Style::new().fg(Color::Green),
        Risk::Disruptive => Style::new().fg(Color::Yellow),
        Risk::Destructive => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

/// `enter choose · esc close`: a mode's keys for some actions, from the key map.
fn key_hint(keymap: &KeyMap, mode: Mode, entries: &[(KeyAction, &str)]) -> String {
    entries
        .iter()
        .filter_map(|(action, label)| {
            let key = keymap.keys_for(mode, *action).first()?.to_string();
            Some(format!("{key} {label}"))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn draw_menu(frame: &mut Frame, area: Rect, menu: &Menu, keymap: &KeyMap) {
    let mut lines: Vec<Line> = Vec::new();
    for (i, entry) in menu.entries.iter().enumerate() {
        let marker = if i == menu.selected { "▶ " } else { "  " };
        let number = if i < 9 {
            format!("{} ", i + 1)
        } else {
            "  ".into()
        };
        let title_style = if i == menu.selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(marker),
            Span::styled(number, key_style()),
            Span::styled(entry.title.clone(), title_style),
            Span::raw("  "),
            Span::styled(format!("[{}]", entry.risk), risk_style(entry.risk)),
        ]));
    }
    let hint = key_hint(
        keymap,
        Mode::Menu,
        &[(KeyAction::Select, "choose"), (KeyAction::Back, "close")],
    );
    lines.push(Line::from(Span::styled(
        format!("1…9 or {hint} · nothing is sent before the next step"),
        dim(),
    )));
    let width = lines.iter().map(Line::width).max().unwrap_or(20) as u16 + 4;
    let rect = centred(area, width.max(40), lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Panel::default()
                .borders(Borders::ALL)
                .title(format!(" Actions: {} ", menu.title)),
        ),
        rect,
    );
}

fn draw_dialog(frame: &mut Frame, area: Rect, dialog: &Dialog, keymap: &KeyMap, account: &str) {
    let hint = |select: &str, back: &str| {
        key_hint(
            keymap,
            Mode::Dialog,
            &[(KeyAction::Select, select), (KeyAction::Back, back)],
        )
    };
    let mut lines: Vec<Line> = Vec::new();
    if dialog.editable() || !dialog.line.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("haven act ", dim()),
            Span::raw(dialog.line.clone()),
            Span::styled(if dialog.editable() { "▏" } else { "" }, key_style()),
        ]));
        lines.push(Line::from(""));
    }
    match &dialog.work {
        Ok(work) => {
            let risk = work.risk();
            lines.push(Line::from(vec![
                Span::styled(format!("[{risk}] "), risk_style(risk)),
                Span::styled(work.sentence(), Style::new().add_modifier(Modifier::BOLD)),
            ]));
            if let Some(cost) = work.cost() {
                lines.push(Line::from(Span::styled(
                    format!("cost: {cost}"),
                    Style::new().fg(Color::Yellow),
                )));
            }
            let calls = work.calls();
            let these = if calls.len() == 1 {
                "this call".to_string()
            } else {
                format!("these {} calls", calls.len())
            };
            lines.push(Line::from(Span::styled(
                format!("in {account} · {}, {these} will be sent:", work.region()),
                dim(),
            )));
            if calls.len() == 1 {
                for call in calls {
                    lines.push(Line::from(Span::styled(
                        format!("  {call}"),
                        Style::new().fg(Color::Cyan),
                    )));
                }
            } else {
                // Several calls (a deploy's): one line each, so that the confirmation below
                // stays on screen; the Jobs view shows each whole.
                let width = usize::from(area.width.saturating_sub(8));
                let room = usize::from(area.height.saturating_sub(lines.len() as u16 + 9)).max(1);
                let shown = if calls.len() > room {
                    room.saturating_sub(1)
                } else {
                    calls.len()
                };
                for call in calls.iter().take(shown) {
                    lines.push(Line::from(Span::styled(
                        fit(&format!("  {call}"), width).into_owned(),
                        Style::new().fg(Color::Cyan),
                    )));
                }
                if shown < calls.len() {
                    lines.push(Line::from(Span::styled(
                        format!(
                            "  … and {} more (the job in :jobs lists every call whole)",
                            calls.len() - shown
                        ),
                        dim(),
                    )));
                }
            }
            lines.push(Line::from(""));
            match (&dialog.typed, work.confirmation_text()) {
                (Some(typed), Some(expected)) => {
                    lines.push(Line::from(Span::styled(
                        format!("This cannot be undone. Type {expected} to confirm:"),
                        risk_style(Risk::Destructive),
                    )));
                    lines.push(Line::from(vec![
                        Span::raw("> "),
                        Span::raw(typed.clone()),
                        Span::styled("▏", key_style()),
                    ]));
                    lines.push(Line::from(Span::styled(
                        hint("runs it once the name matches", "cancels"),
                        dim(),
                    )));
                }
                (None, Some(_)) => lines.push(Line::from(Span::styled(
                    hint("continues to the typed confirmation", "cancels"),
                    dim(),
                ))),
                _ if !dialog.editable() => {
                    lines.push(Line::from(Span::styled(hint("runs it", "cancels"), dim())))
                }
                _ => lines.push(Line::from(Span::styled(
                    format!(
                        "{} · edit the line to change parameters",
                        hint("runs it", "cancels")
                    ),
                    dim(),
                ))),
            }
        }
        Err(e) => {
            lines.push(Line::from(Span::styled(
                format!("✗ {e}"),
                Style::new().fg(Color::Red),
            )));
            lines.push(Line::from(Span::styled(
                format!(
                    "edit the line · {}",
                    key_hint(keymap, Mode::Dialog, &[(KeyAction::Back, "cancels")])
                ),
                dim(),
            )));
        }
    }
    let width = area.width.saturating_sub(4).min(150);
    let rect = centred(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Panel::default().borders(Borders::ALL).title(" Confirm ")),
        rect,
    );
}

fn draw_jobs(frame: &mut Frame, area: Rect, state: &State) {
    if let Some(job) = state.open_job() {
        let describe = Describe {
            title: format!("job #{}", job.id),
            lines: state.open_job_lines(),
            scroll: state.jobs_view.scroll,
        };
        draw_describe(frame, area, &describe);
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    if state.jobs.is_empty() {
        lines.push(Line::from(Span::styled(
            "No jobs yet. In a list (:asg, :ec2, :rds, :dr …) press a on a resource for its actions.",
            dim(),
        )));
    }
    for (position, job) in state.jobs.iter().rev().enumerate() {
        let took = age(job.started, job.finished.unwrap_or(state.now));
        let cursor = if position == state.jobs_view.selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let (mark, status, style) = match &job.state {
            JobState::Running => {
                let spinner = SPINNER[(state.ticks % SPINNER.len() as u64) as usize];
                (
                    spinner.to_string(),
                    format!("running {took}"),
                    Style::new().fg(Color::Yellow),
                )
            }
            JobState::Done(_) => (
                "✓".to_string(),
                format!("done in {took}"),
                Style::new().fg(Color::Green),
            ),
            JobState::Failed(_) => (
                "✗".to_string(),
                format!("failed after {took}"),
                Style::new().fg(Color::Red),
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::styled(format!("#{:<3} ", job.id), dim()),
            Span::styled(format!("{status:<18} "), style),
            Span::styled(format!("{:<15} ", job.work.region()), dim()),
            Span::styled(job.work.sentence(), cursor),
        ]));
        let detail = match &job.state {
            JobState::Running => job.progress.as_ref().map(|p| {
                let bar = p.fraction.map_or(String::new(), |f| {
                    let filled = (f.clamp(0.0, 1.0) * 20.0).round() as usize;
                    format!(
                        "[{}{}] {:>3.0}% ",
                        "█".repeat(filled),
                        "·".repeat(20 - filled),
                        f * 100.0
                    )
                });
                (
                    format!("{bar}{}: {}", p.step, p.message),
                    Style::new().fg(Color::Yellow),
                )
            }),
            JobState::Done(message) => Some((message.clone(), dim())),
            JobState::Failed(error) => Some((error.to_string(), Style::new().fg(Color::Red))),
        };
        if let Some((text, style)) = detail {
            lines.push(Line::from(Span::styled(format!("       {text}"), style)));
        }
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|line| fit_spans(line, area.width.saturating_sub(2)))
        .collect();
    let running = state.jobs.iter().filter(|j| j.running()).count();
    let log = state.settings.action_log.as_ref().map_or_else(
        || "no action log".to_string(),
        |path| format!("action log {}", path.display()),
    );
    let keys = key_hint(
        &state.keymap,
        Mode::Jobs,
        &[(KeyAction::Describe, "shows a job whole")],
    );
    frame.render_widget(
        Paragraph::new(lines).block(
            Panel::default()
                .borders(Borders::ALL)
                .title(format!(
                    " Jobs: {running} running, {} finished · {keys} ",
                    state.jobs.len() - running
                ))
                .title_bottom(Line::styled(format!(" {log} "), dim())),
        ),
        area,
    );
}

fn draw_header(frame: &mut Frame, area: Rect, state: &State) {
    let mut spans = vec![Span::styled(
        " haven ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    )];
    let sep = || Span::styled(" │ ", dim());
    if let Some(t) = &state.topology {
        spans.push(Span::raw(" "));
        spans.push(Span::raw(account_words(Some(t), &state.settings)));
        spans.push(sep());
        let when = age(state.now, t.taken_at);
        if state.from_cache {
            spans.push(Span::styled(
                format!("cached {when} ago"),
                Style::new().fg(Color::Yellow),
            ));
        } else {
            spans.push(Span::raw(format!("updated {when} ago")));
        }
    } else {
        spans.push(Span::raw(" "));
        spans.push(Span::raw(if state.settings.regions.is_empty() {
            "default Region".to_string()
        } else {
            state.settings.regions.join(" · ")
        }));
    }
    if state.refreshing() {
        spans.push(sep());
        let frame_char = SPINNER[(state.ticks % SPINNER.len() as u64) as usize];
        // How many (Region, part) reads have not answered yet.
        let left = state.loading().len();
        let text = if left > 0 {
            format!("{frame_char} {left} to read")
        } else {
            format!("{frame_char} refreshing")
        };
        spans.push(Span::styled(text, Style::new().fg(Color::Yellow)));
    }
    if let Some(t) = &state.topology {
        spans.push(sep());
        let errors = t.errors.len();
        if errors == 0 {
            spans.push(Span::styled("no errors", Style::new().fg(Color::Green)));
        } else {
            spans.push(Span::styled(
                format!(
                    "⚠ {errors} error{} (:errors)",
                    if errors == 1 { "" } else { "s" }
                ),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ));
        }
        if !state.stale.is_empty() {
            spans.push(Span::styled(
                " · some data stale",
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    if let Some((serious, total)) = state.findings {
        spans.push(sep());
        let style = if serious > 0 {
            Style::new().fg(Color::Red)
        } else if total > 0 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new().fg(Color::Green)
        };
        spans.push(Span::styled(
            if total == 0 {
                "no findings".to_string()
            } else {
                format!("⚑ {total} findings, {serious} high (:findings)")
            },
            style,
        ));
    }
    // Everything else keeps working without signals: the header only says why they are missing.
    if let Some((text, tone)) = notice::signals_notice(&state.signals, &state.region_names()) {
        spans.push(sep());
        spans.push(Span::styled(text, tone_style(tone)));
    }
    if let Some(text) = state
        .topology
        .as_ref()
        .and_then(|t| notice::alarms_notice(super::alarms::firing(t)))
    {
        spans.push(sep());
        spans.push(Span::styled(
            text,
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    let running = state.jobs.iter().filter(|j| j.running()).count();
    if running > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("⟳ {running} job{} (J)", if running == 1 { "" } else { "s" }),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(label) = &state.settings.endpoint_label {
        spans.push(sep());
        spans.push(Span::styled(label.clone(), Style::new().fg(Color::Magenta)));
    }
    if state.settings.read_only {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            " READ-ONLY ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(
        Paragraph::new(fit_spans(Line::from(spans), area.width)),
        area,
    );
}

/// `acct 111122223333 (alias) · profile`: whose resources these are (the alias once IAM is
/// read).
pub fn account_words(
    topology: Option<&haven_model::Topology>,
    settings: &super::Settings,
) -> String {
    let account_id = topology.and_then(|t| t.account_id.as_deref());
    let mut words = format!("acct {}", account_id.unwrap_or("?"));
    if let Some(alias) = topology.and_then(|t| t.account_alias()) {
        words.push_str(&format!(" ({alias})"));
    }
    if let Some(profile) = &settings.profile {
        words.push_str(&format!(" · {profile}"));
    }
    words
}

fn draw_tabs(frame: &mut Frame, area: Rect, state: &State) {
    let title = match state.view {
        View::Map => "map".to_string(),
        View::Help => "help".to_string(),
        View::Jobs => "jobs".to_string(),
        View::List(kind) => {
            let count = state.list.as_ref().map_or(0, |l| l.rows.len());
            format!("{} ({count})", kind.command())
        }
    };
    let mut spans = vec![
        Span::styled(
            format!(" <{title}> "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw("  "),
    ];
    let shown = layout::map_layout(&state.map, state.region, area.width);
    let shown = shown.regions();
    for (i, name) in state.region_names().iter().enumerate() {
        let style = if shown.contains(&i) && (state.view == View::Map || !state.region.all) {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        if i < 9 {
            spans.push(Span::styled(format!("{}", i + 1), key_style()));
        }
        spans.push(Span::styled(format!(" {name} "), style));
        spans.push(Span::raw(" "));
    }
    if state.region_names().len() > 1 {
        let style = if state.region.all && state.view != View::Map {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled("0", key_style()));
        spans.push(Span::styled(" all ", style));
    }
    frame.render_widget(
        Paragraph::new(fit_spans(Line::from(spans), area.width)),
        area,
    );
}

fn map_line(line: &MapLine, state: &State) -> Line<'static> {
    Line::from(
        line.segs
            .iter()
            .map(|seg| match seg {
                Seg::Text(text, style) | Seg::Name(text, style) => {
                    Span::styled(text.clone(), *style)
                }
                Seg::Age(at, style) => Span::styled(age(state.now, *at), *style),
            })
            .collect::<Vec<_>>(),
    )
}

/// Names are not shortened below this many columns (`…` included).
const MIN_NAME_WIDTH: usize = 6;

/// The line made to fit `width`: optional pieces left out first, then names shortened (ids,
/// CIDRs and states after them stay whole), then the line cut with `…`.
fn fit_line(line: &MapLine, width: u16, state: &State) -> Line<'static> {
    let mut out = map_line(line, state);
    let width = usize::from(width);
    while out.width() > width && out.spans.len() > line.essential {
        out.spans.pop();
    }
    let names: Vec<usize> = line
        .segs
        .iter()
        .take(out.spans.len())
        .enumerate()
        .filter(|(_, seg)| matches!(seg, Seg::Name(..)))
        .map(|(i, _)| i)
        .collect();
    while out.width() > width {
        // The longest name that can still give something.
        let Some(i) = names
            .iter()
            .copied()
            .filter(|i| out.spans[*i].width() > MIN_NAME_WIDTH)
            .max_by_key(|i| out.spans[*i].width())
        else {
            break;
        };
        let excess = out.width() - width;
        let target = out.spans[i]
            .width()
            .saturating_sub(excess)
            .max(MIN_NAME_WIDTH);
        let short = fit(&out.spans[i].content, target).into_owned();
        out.spans[i].content = short.into();
    }
    fit_spans(out, width)
}

/// A line cut to `width` columns, ending with `…` when something was cut.
fn fit_spans(mut line: Line<'static>, width: impl Into<usize>) -> Line<'static> {
    let width = width.into();
    if line.width() <= width || width == 0 {
        return line;
    }
    let mut used = 0;
    let mut kept = Vec::new();
    for span in line.spans {
        let w = span.width();
        if used + w < width {
            used += w;
            kept.push(span);
            continue;
        }
        let cut = fit(&span.content, width - used).into_owned();
        kept.push(Span::styled(cut, span.style));
        break;
    }
    line.spans = kept;
    line
}

/// The map of the Regions shown, in panels side by side or one after another.
pub fn draw_map(frame: &mut Frame, area: Rect, state: &State) {
    let Some(_) = &state.topology else {
        let spinner = SPINNER[(state.ticks % SPINNER.len() as u64) as usize];
        let text = if state.refreshing() {
            format!("{spinner} discovering the stack … (keys work meanwhile: ? for help)")
        } else {
            "no topology yet: r refreshes".to_string()
        };
        frame.render_widget(
            Paragraph::new(text).block(Panel::new().borders(Borders::ALL)),
            area,
        );
        return;
    };
    let stacked;
    let panels: Vec<&RegionMap> = match layout::map_layout(&state.map, state.region, area.width) {
        MapLayout::Stacked(_) => {
            stacked = map::stacked(&state.map);
            vec![&stacked]
        }
        MapLayout::Panels(shown) => shown.iter().filter_map(|i| state.map.get(*i)).collect(),
    };
    let last = panels.len().saturating_sub(1);
    for (n, (region, rect)) in panels
        .iter()
        .zip(layout::panel_rects(area, panels.len()))
        .enumerate()
    {
        let mut title = map_line(&region.title, state);
        let loading = state.loading_in(&region.region);
        if !loading.is_empty() {
            title.spans.push(Span::styled(
                format!(" · loading {} ", loading_words(&loading)),
                Style::new().fg(Color::Yellow),
            ));
        }
        if n == last {
            let total = region.height(layout::panel_content_width(rect.width));
            let inner = usize::from(rect.height.saturating_sub(2));
            if total > inner || state.map_scroll > 0 {
                title.spans.push(Span::styled(
                    format!(
                        " lines {}-{} of {total} ",
                        state.map_scroll + 1,
                        (state.map_scroll + inner).min(total)
                    ),
                    dim(),
                ));
            }
        }
        let panel = Panel::new()
            .borders(Borders::ALL)
            .title(fit_spans(title, rect.width.saturating_sub(2)));
        let inner = content_area(panel.inner(rect));
        frame.render_widget(panel, rect);
        render_region(frame.buffer_mut(), inner, region, state);
    }
}

/// A panel's inside less one column of padding on each side.
fn content_area(inner: Rect) -> Rect {
    Rect::new(
        inner.x.saturating_add(1),
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    )
}

fn render_region(buf: &mut Buffer, area: Rect, region: &RegionMap, state: &State) {
    let side = region.side_by_side(area.width);
    let scroll = state.map_scroll;
    let rows = usize::from(area.height);
    let mut y = 0usize; // content line of the block's top
    for block in &region.blocks {
        let height = block.height(side);
        if y + height <= scroll {
            y += height;
            continue;
        }
        if y >= scroll + rows {
            break;
        }
        match block {
            Block::Gap => {}
            Block::Line(line) => {
                let line = fit_line(line, area.width, state);
                put_line(buf, area, y, scroll, area.x, area.width, &line);
            }
            Block::Columns { cells, .. } if side => {
                let col_width = column_width(area.width, cells.len());
                // Only the rows of the block that are on screen.
                let first = scroll.saturating_sub(y);
                let last = height.min(scroll + rows - y);
                for row in first..last {
                    for (c, cell) in cells.iter().enumerate() {
                        let x = area.x + c as u16 * (col_width + SEPARATOR_WIDTH);
                        if c > 0 {
                            let sep = Line::styled(COLUMN_SEPARATOR, dim());
                            put_line(
                                buf,
                                area,
                                y + row,
                                scroll,
                                x - SEPARATOR_WIDTH,
                                SEPARATOR_WIDTH,
                                &sep,
                            );
                        }
                        if let Some(line) = cell.get(row) {
                            let line = fit_line(line, col_width, state);
                            put_line(buf, area, y + row, scroll, x, col_width, &line);
                        }
                    }
                }
            }
            Block::Columns { labels, cells } => {
                let mut row = 0;
                for (label, cell) in labels.iter().zip(cells) {
                    if cell.is_empty() {
                        continue;
                    }
                    let head = Line::styled(format!("[{label}]"), dim());
                    put_line(buf, area, y + row, scroll, area.x, area.width, &head);
                    row += 1;
                    for line in cell {
                        if y + row >= scroll && y + row < scroll + rows {
                            let l = fit_line(line, area.width.saturating_sub(1), state);
                            put_line(
                                buf,
                                area,
                                y + row,
                                scroll,
                                area.x + 1,
                                area.width.saturating_sub(1),
                                &l,
                            );
                        }
                        row += 1;
                    }
                }
            }
        }
        y += height;
    }
}

/// Writes a content line if it falls inside the visible window.
fn put_line(
    buf: &mut Buffer,
    area: Rect,
    line_y: usize,
    scroll: usize,
    x: u16,
    width: u16,
    line: &Line,
) {
    if line_y < scroll {
        return;
    }
    let row = line_y - scroll;
    if row >= usize::from(area.height) {
        return;
    }
    buf.set_line(x, area.y + row as u16, line, width);
}

fn cell_text(cell: &Cell, state: &State) -> (String, Style) {
    match cell {
        Cell::Text(text, tone) | Cell::Gauge(text, tone, _) => (text.clone(), tone_style(*tone)),
        Cell::Number(n) => (n.to_string(), Style::new()),
        Cell::Time(Some(at)) => (age(state.now, *at), Style::new()),
        Cell::Time(None) => ("-".to_string(), dim()),
    }
}

/// "EC2 instances, network" (at most three named, then how many more).
fn loading_words(parts: &[haven_model::Part]) -> String {
    let mut words: Vec<&str> = parts.iter().map(|p| p.label()).collect();
    words.dedup();
    if words.len() > 3 {
        let more = words.len() - 3;
        words.truncate(3);
        return format!("{} and {more} more…", words.join(", "));
    }
    format!("{}…", words.join(", "))
}

/// What an empty list says while its own calls are in flight (never "no … here" then).
fn loading_text(state: &State, kind: ListKind) -> Option<String> {
    let loading = state.loading_of(kind.parts());
    if loading.is_empty() {
        return None;
    }
    let mut regions: Vec<&str> = loading
        .iter()
        .map(|(r, _)| r.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    regions.dedup();
    let spinner = SPINNER[(state.ticks % SPINNER.len() as u64) as usize];
    let place = if regions.is_empty() {
        "the account".to_string()
    } else {
        regions.join(", ")
    };
    Some(format!(
        "{spinner} loading {} in {place}… (AWS has not answered yet)",
        kind.title().to_lowercase()
    ))
}

fn draw_list(frame: &mut Frame, area: Rect, state: &State) {
    let Some(list) = &state.list else {
        return;
    };
    let kind = list.model.kind;
    if let Some(describe) = &list.describe {
        draw_describe(frame, area, describe);
        return;
    }
    let region_scope = match state.shown_region() {
        _ if kind == ListKind::Profiles => "AWS config files".to_string(),
        Some(i) => state.region_names().get(i).cloned().unwrap_or_default(),
        None if kind == ListKind::Iam => "account".to_string(),
        None => "all Regions".to_string(),
    };
    let mut title = vec![
        Span::styled(
            format!(" {} ", kind.title()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("[{region_scope}] "), Style::new().fg(Color::Cyan)),
        Span::raw(format!("{}/{} ", list.rows.len(), list.model.rows.len())),
    ];
    if !list.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", list.filter),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some((column, reverse)) = list.sort
        && let Some(c) = list.model.columns.get(column)
    {
        title.push(Span::styled(
            format!("sort {}{} ", c.name, if reverse { "↓" } else { "↑" }),
            dim(),
        ));
    }
    if let Some(note) = &list.model.note {
        title.push(Span::styled(format!("· {note} "), dim()));
    }
    if kind.judged() {
        let regions = state.provisional_regions();
        if !regions.is_empty() {
            title.push(Span::styled(
                format!("· provisional: {} still being read ", regions.join(", ")),
                Style::new().fg(Color::Yellow),
            ));
        }
    } else if !state.loading_of(kind.parts()).is_empty() && !list.model.rows.is_empty() {
        title.push(Span::styled(
            "· loading more… ",
            Style::new().fg(Color::Yellow),
        ));
    }
    if kind == ListKind::Deploy {
        title.push(Span::styled(
            format!("· {} ", state.keymap.deploy_keys(Mode::List)),
            dim(),
        ));
    }
    let panel = Panel::new()
        .borders(Borders::ALL)
        .title(fit_spans(Line::from(title), area.width.saturating_sub(2)));
    let inner = panel.inner(area);
    frame.render_widget(panel, area);

    // The Region column says nothing when one Region is shown.
    let hide_region = !matches!(kind, ListKind::Iam | ListKind::Profiles)
        && (state.shown_region().is_some() || state.region_names().len() <= 1);
    let mut columns: Vec<usize> = Vec::new();
    let mut used = 0u16;
    for (i, c) in list.model.columns.iter().enumerate() {
        if i == 0 && hide_region {
            continue;
        }
        let needed = c.width + u16::from(!columns.is_empty());
        if used + needed > inner.width && !columns.is_empty() {
            break;
        }
        used += needed;
        columns.push(i);
    }
    let widths: Vec<Constraint> = columns
        .iter()
        .enumerate()
        .map(|(n, i)| {
            if n + 1 == columns.len() {
                Constraint::Fill(1)
            } else {
                Constraint::Length(list.model.columns[*i].width)
            }
        })
        .collect();
    let header = Row::new(columns.iter().map(|i| {
        let name = list.model.columns[*i].name;
        let marker = match list.sort {
            Some((c, false)) if c == *i => "↑",
            Some((c, true)) if c == *i => "↓",
            _ => "",
        };
        TableCell::from(format!("{name}{marker}"))
    }))
    .style(Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan));
    let page = usize::from(inner.height.saturating_sub(1));
    let visible = list
        .rows
        .iter()
        .skip(list.offset)
        .take(page)
        .map(|i| &list.model.rows[*i]);
    // What each shown column gets: its preferred width, the last one what is left.
    let fixed: u16 = columns
        .iter()
        .take(columns.len().saturating_sub(1))
        .map(|i| list.model.columns[*i].width + 1)
        .sum();
    let cell_widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(n, i)| {
            usize::from(if n + 1 == columns.len() {
                inner.width.saturating_sub(fixed)
            } else {
                list.model.columns[*i].width
            })
        })
        .collect();
    let rows: Vec<Row> = visible
        .map(|row| {
            let changed = state.changed_recently(&row.key);
            let cells = Row::new(columns.iter().zip(&cell_widths).map(|(c, width)| {
                let (text, style) = row
                    .cells
                    .get(*c)
                    .map_or((String::new(), Style::new()), |cell| cell_text(cell, state));
                TableCell::from(Span::styled(fit(&text, *width).into_owned(), style))
            }));
            // A row that just changed stands out for a moment.
            if changed {
                cells.style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
            } else {
                cells
            }
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut table_state = TableState::default();
    if !empty {
        table_state.select(Some(list.selected.saturating_sub(list.offset)));
    }
    frame.render_stateful_widget(table, inner, &mut table_state);
    if empty {
        let text = if !list.filter.is_empty() {
            format!("nothing matches /{} (Esc clears)", list.filter)
        } else if kind == ListKind::Deploy {
            super::deploys::EMPTY.to_string()
        } else if kind == ListKind::Alarms {
            "no CloudWatch alarms in the Regions shown".to_string()
        } else if kind == ListKind::Events {
            super::timeline::empty_text(state.signals_were_read()).to_string()
        } else if kind == ListKind::Profiles {
            "no profile in the AWS shared config files (`aws configure --profile NAME` adds one)"
                .to_string()
        } else if kind == ListKind::Dr {
            state.topology.as_ref().map_or_else(String::new, |t| {
                super::insight::dr_empty_reason(t, &state.settings.policy)
            })
        } else if let Some(text) = loading_text(state, kind) {
            text
        } else {
            format!("no {} here", kind.title().to_lowercase())
        };
        // Under the header; wrapped, since a reason can be longer than the panel is wide.
        let area = Rect {
            x: inner.x + 1,
            y: inner.y + 1,
            width: inner.width.saturating_sub(2),
            height: inner.height.saturating_sub(1),
        };
        if area.height > 0 {
            frame.render_widget(
                Paragraph::new(Line::styled(text, dim())).wrap(Wrap { trim: true }),
                area,
            );
        }
    }
}

fn draw_describe(frame: &mut Frame, area: Rect, describe: &Describe) {
    let title = Line::from(vec![
        Span::styled(" describe ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(format!("{} ", describe.title), Style::new().fg(Color::Cyan)),
        Span::styled(
            format!(
                "{}/{} ",
                (describe.scroll + 1).min(describe.lines.len()),
                describe.lines.len()
            ),
            dim(),
        ),
    ]);
    let panel = Panel::new().borders(Borders::ALL).title(title);
    let inner = panel.inner(area);
    frame.render_widget(panel, area);
    // Long lines wrap: the describe pane is where a cut cell is read whole.
    let width = inner.width.saturating_sub(1);
    let mut row = 0u16;
    for text in describe.lines.iter().skip(describe.scroll) {
        for part in wrap_line(yaml_line(text), usize::from(width)) {
            if row >= inner.height {
                return;
            }
            frame
                .buffer_mut()
                .set_line(inner.x + 1, inner.y + row, &part, width);
            row += 1;
        }
    }
}

/// A line split into rows of at most `width` columns, styles kept.
fn wrap_line(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    if width == 0 || line.width() <= width {
        return vec![line];
    }
    let mut rows = vec![Line::default()];
    let mut used = 0;
    for span in line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let mut buf = [0u8; 4];
            let w = fit::width(c.encode_utf8(&mut buf));
            if used + w > width {
                if let Some(last) = rows.last_mut() {
                    last.spans
                        .push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::default());
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if let Some(last) = rows.last_mut() {
            last.spans.push(Span::styled(piece, span.style));
        }
    }
    rows
}

/// Colours a YAML line: keys cyan, list dashes dim.
fn yaml_line(text: &str) -> Line<'static> {
    let indent = text.len() - text.trim_start().len();
    let mut rest = &text[indent..];
    let mut spans = vec![Span::raw(text[..indent].to_string())];
    if let Some(r) = rest.strip_prefix("- ") {
        spans.push(Span::styled("- ", dim()));
        rest = r;
    }
    let key_end = if rest.starts_with('"') {
        None
    } else {
        rest.find(": ")
            .or_else(|| rest.strip_suffix(':').map(str::len))
    };
    match key_end {
        Some(end) => {
            spans.push(Span::styled(
                rest[..end].to_string(),
                Style::new().fg(Color::Cyan),
            ));
            spans.push(Span::raw(rest[end..].to_string()));
        }
        None => spans.push(Span::raw(rest.to_string())),
    }
    Line::from(spans)
}

fn heading_style() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// The help, styled: key bindings, commands and map symbols from [`help::help_lines`].
fn help_text(keymap: &KeyMap) -> Vec<Line<'static>> {
    help::help_lines(keymap)
        .into_iter()
        .map(|line| match line {
            HelpLine::Heading(text) => Line::styled(text, heading_style()),
            HelpLine::Keys { keys, text } => Line::from(vec![
                Span::styled(format!("  {keys:<22}"), key_style()),
                Span::raw(text),
            ]),
            HelpLine::Command { name, text } => Line::from(vec![
                Span::styled(format!("  {name:<12}"), key_style()),
                Span::raw(text),
            ]),
            HelpLine::Symbol { symbol, tone, text } => Line::from(vec![
                Span::styled(
                    format!("  {symbol:<8}"),
                    tone_style(tone).add_modifier(Modifier::BOLD),
                ),
                Span::raw(text),
            ]),
            HelpLine::Note(text) => Line::raw(text),
            HelpLine::Blank => Line::raw(""),
        })
        .collect()
}

fn draw_help(frame: &mut Frame, area: Rect, state: &State) {
    let panel = Panel::new().borders(Borders::ALL).title(Line::styled(
        " keys (from the key map; override in keymap.toml) ",
        Style::new().add_modifier(Modifier::BOLD),
    ));
    let inner = panel.inner(area);
    frame.render_widget(panel, area);
    let lines = help_text(&state.keymap);
    // Two columns when wide enough: key bindings left, commands and symbols right.
    let split = lines
        .iter()
        .position(|l| {
            l.spans
                .first()
                .is_some_and(|s| s.content == help::COMMANDS_HEADING)
        })
        .unwrap_or(lines.len());
    if inner.width >= 120 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(inner);
        frame.render_widget(
            Paragraph::new(lines[..split].to_vec()).scroll((state.help_scroll as u16, 0)),
            left,
        );
        frame.render_widget(
            Paragraph::new(lines[split..].to_vec()).scroll((state.help_scroll as u16, 0)),
            right,
        );
    } else {
        frame.render_widget(
            Paragraph::new(lines).scroll((state.help_scroll as u16, 0)),
            inner,
        );
    }
}

fn draw_footer(frame: &mut Frame, area: Rect, state: &State) {
    if let Some(input) = &state.input {
        let prompt = match input.kind {
            InputKind::Command => ":",
            InputKind::Filter => "/",
        };
        let mut spans = vec![
            Span::styled(prompt, key_style()),
            Span::raw(input.text.clone()),
            Span::styled("█", Style::new().fg(Color::Cyan)),
        ];
        let keys = if input.kind == InputKind::Command {
            let options = state.completions();
            if !options.is_empty() && !input.text.is_empty() {
                spans.push(Span::styled(format!("   {}", options.join(" ")), dim()));
            } else if input.text.is_empty() {
                spans.push(Span::styled(format!("   {}", help::command_hint()), dim()));
            }
            key_hint(
                &state.keymap,
                Mode::Input,
                &[
                    (KeyAction::Complete, "completes"),
                    (KeyAction::Select, "runs"),
                    (KeyAction::Back, "closes"),
                ],
            )
        } else {
            key_hint(
                &state.keymap,
                Mode::Input,
                &[(KeyAction::Select, "keeps"), (KeyAction::Back, "clears")],
            )
        };
        spans.push(Span::styled(format!("   ({keys})"), dim()));
        frame.render_widget(
            Paragraph::new(fit_spans(Line::from(spans), area.width)),
            area,
        );
        return;
    }
    if let Some(message) = &state.message {
        frame.render_widget(
            Paragraph::new(fit_spans(
                Line::styled(format!(" {}", message.text), tone_style(message.tone)),
                area.width,
            )),
            area,
        );
        return;
    }
    let mut spans = Vec::new();
    for (keys, label) in state.keymap.footer(state.mode()) {
        spans.push(Span::styled(format!(" {keys}"), key_style()));
        spans.push(Span::styled(format!(" {label} "), dim()));
    }
    frame.render_widget(
        Paragraph::new(fit_spans(Line::from(spans), area.width)),
        area,
    );
}
