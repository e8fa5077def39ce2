//! Several accounts at once: one [`State`] per account (a profile of the shared files or an
//! `[[accounts]]` entry), their maps side by side like Regions, the keys going to one of them.
//! An account that could not sign in keeps its place and says why; the others go on.
//!
//! The desk is drawn and changed here; the run loop (`super::run_desk`) owns the background
//! work of each account.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block as Panel, Borders, Paragraph, Wrap};

use super::profiles::{ProfileRow, ProfileStatus};
use super::render::{account_words, draw_around, draw_body, draw_map};
use super::state::{Action, State, View, update};
use super::style::Tone;

/// Identifies an account's place on the desk for the background work it started: a place
/// given to another account gets a new id, and what the old one started is dropped.
pub type SeatId = u64;

/// One account on the desk.
#[derive(Debug)]
pub struct Seat {
    /// Its id (see [`SeatId`]).
    pub id: SeatId,
    /// The profile or `[[accounts]]` name.
    pub name: String,
    /// Its dashboard.
    pub state: State,
    /// Why it could not sign in, when it could not: nothing is read for it.
    pub problem: Option<String>,
}

/// The accounts shown and the one the keys go to.
#[derive(Debug)]
pub struct Desk {
    /// In the order given.
    pub seats: Vec<Seat>,
    /// Index of the seat the keys go to.
    pub active: usize,
    /// Profiles being signed in to (`:profile`), by name.
    pub connecting: Vec<String>,
    /// What a sign-in in progress asks of the person (an SSO login's page and code), by name.
    pub asks: Vec<(String, String)>,
    /// Profiles whose last sign-in failed, with why.
    pub failed: Vec<(String, String)>,
    next_id: SeatId,
}

impl Desk {
    /// An empty desk.
    pub fn new() -> Self {
        Self {
            seats: Vec::new(),
            active: 0,
            connecting: Vec::new(),
            asks: Vec::new(),
            failed: Vec::new(),
            next_id: 1,
        }
    }

    /// Adds an account at the end; returns its id.
    pub fn push(&mut self, name: String, state: State, problem: Option<String>) -> SeatId {
        let id = self.take_id();
        self.seats.push(Seat {
            id,
            name,
            state,
            problem,
        });
        id
    }

    /// Puts an account in the place of `old` (or at the end when `old` has gone); the keys
    /// go to it. Returns its id.
    pub fn replace(&mut self, old: SeatId, name: String, state: State) -> SeatId {
        let id = self.take_id();
        let seat = Seat {
            id,
            name,
            state,
            problem: None,
        };
        match self.seats.iter().position(|s| s.id == old) {
            Some(i) => {
                self.seats[i] = seat;
                self.active = i;
            }
            None => {
                self.seats.push(seat);
                self.active = self.seats.len() - 1;
            }
        }
        id
    }

    fn take_id(&mut self) -> SeatId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The seat the keys go to.
    pub fn active(&self) -> &Seat {
        &self.seats[self.active]
    }

    /// The seat the keys go to, to change.
    pub fn active_mut(&mut self) -> &mut Seat {
        &mut self.seats[self.active]
    }

    /// The seat with this id, while it is on the desk.
    pub fn seat_mut(&mut self, id: SeatId) -> Option<&mut Seat> {
        self.seats.iter_mut().find(|s| s.id == id)
    }

    /// The index of the seat showing this profile.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.seats.iter().position(|s| s.name == name)
    }

    /// Moves the keys to the next account, and says which it is.
    pub fn next_account(&mut self) {
        if self.seats.len() < 2 {
            self.active_mut().state.say(
                "one account is shown: :profile lists the others (--profiles a,b shows several)",
                Tone::Dim,
            );
            return;
        }
        self.active = (self.active + 1) % self.seats.len();
        let name = self.active().name.clone();
        self.active_mut()
            .state
            .say(format!("keys go to {name} now"), Tone::Dim);
    }

    /// `choices` (every profile the files name) with where each stands on this desk; the
    /// accounts shown come first when `choices` does not name them (an account from the
    /// environment, no profile).
    pub fn profile_rows(&self, choices: &[ProfileRow]) -> Vec<ProfileRow> {
        let mut rows: Vec<ProfileRow> = choices.to_vec();
        for (i, seat) in self.seats.iter().enumerate() {
            let status = match &seat.problem {
                Some(why) => ProfileStatus::Failed(why.clone()),
                None if i == self.active => ProfileStatus::Active,
                None => ProfileStatus::Shown,
            };
            let account_id = seat
                .state
                .topology
                .as_ref()
                .and_then(|t| t.account_id.clone());
            let row = match rows.iter_mut().find(|r| r.name == seat.name) {
                Some(row) => row,
                None => {
                    rows.push(ProfileRow {
                        name: seat.name.clone(),
                        sign_in: "-".into(),
                        region: seat.state.settings.regions.first().cloned(),
                        account_id: None,
                        alias: None,
                        status: ProfileStatus::Available,
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.status = status;
            row.account_id = account_id.or(row.account_id.take());
            row.alias = (seat.state.topology.as_deref())
                .and_then(|t| t.account_alias())
                .map(str::to_string);
        }
        for row in &mut rows {
            if row.status.shown() || matches!(row.status, ProfileStatus::Failed(_)) {
                continue;
            }
            if self.connecting.contains(&row.name) {
                let ask = self.asks.iter().find(|(n, _)| *n == row.name);
                row.status = ProfileStatus::Connecting(ask.map(|(_, text)| text.clone()));
            } else if let Some((_, why)) = self.failed.iter().find(|(n, _)| *n == row.name) {
                row.status = ProfileStatus::Failed(why.clone());
            }
        }
        rows
    }

    /// Tells every account where each profile stands (for `:profile`).
    pub fn tell_profiles(&mut self, rows: &[ProfileRow]) {
        for seat in &mut self.seats {
            update(&mut seat.state, Action::Profiles(rows.to_vec()));
        }
    }
}

impl Default for Desk {
    fn default() -> Self {
        Self::new()
    }
}

/// Draws the desk: the active account whole; on the map, every account's map side by side,
/// each under a line that names it (the active one highlighted), an account that could not
/// sign in with its reason.
pub fn draw_desk(frame: &mut Frame, desk: &Desk) {
    let active = desk.active();
    if desk.seats.len() == 1 && active.problem.is_none() {
        super::render::draw(frame, &active.state);
        return;
    }
    draw_around(frame, &active.state, |frame, body| {
        if active.state.view == View::Map {
            let columns =
                Layout::horizontal(vec![Constraint::Fill(1); desk.seats.len()]).split(body);
            for (i, (seat, area)) in desk.seats.iter().zip(columns.iter()).enumerate() {
                draw_seat(frame, *area, seat, i == desk.active);
            }
        } else {
            draw_body(frame, body, &active.state);
        }
    });
}

fn draw_seat(frame: &mut Frame, area: Rect, seat: &Seat, active: bool) {
    let [heading, map] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let state = &seat.state;
    let mut words = format!(" {} {} ", if active { "▶" } else { " " }, seat.name);
    if seat.problem.is_none() {
        let account = account_words(state.topology.as_deref(), &state.settings);
        words.push_str(&format!("│ {account} "));
    }
    let style = if active {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    let mut spans = vec![Span::styled(words, style)];
    let errors = state.topology.as_ref().map_or(0, |t| t.errors.len());
    if seat.problem.is_some() {
        spans.push(Span::styled(
            " ✗ cannot sign in",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    } else if errors > 0 {
        spans.push(Span::styled(
            format!(" ⚠ {errors} error{}", if errors == 1 { "" } else { "s" }),
            Style::new().fg(Color::Red),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), heading);
    match &seat.problem {
        Some(why) => {
            let text = vec![
                Line::styled(format!("{}: {why}", seat.name), Style::new().fg(Color::Red)),
                Line::raw(""),
                Line::styled(
                    format!(
                        "The other accounts go on. :profile {} tries again once it is fixed.",
                        seat.name
                    ),
                    Style::new().fg(Color::DarkGray),
                ),
            ];
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: false })
                    .block(Panel::new().borders(Borders::ALL)),
                map,
            );
        }
        None => draw_map(frame, map, state),
    }
}
