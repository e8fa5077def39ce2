//! Key bindings as data: one default table per mode, partly overridable from a TOML file; the
//! help screen and the footer are rendered from the same table.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. `Global` bindings work in every mode unless the mode rebinds the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Everywhere.
    Global,
    /// The map (home view).
    Map,
    /// A resource list.
    List,
    /// The describe pane over a list.
    Describe,
    /// The help screen.
    Help,
    /// The Jobs view.
    Jobs,
    /// The action menu over a list.
    Menu,
    /// The confirmation dialog of an action.
    Dialog,
    /// The `:` command line or the `/` filter being typed.
    Input,
}

impl Mode {
    /// Every mode, in help order.
    pub const ALL: [Mode; 9] = [
        Mode::Global,
        Mode::Map,
        Mode::List,
        Mode::Describe,
        Mode::Jobs,
        Mode::Menu,
        Mode::Dialog,
        Mode::Input,
        Mode::Help,
    ];

    /// A mode that takes every key while it is open: global bindings do not apply (typed text
    /// goes into the dialog or the input line).
    pub fn modal(self) -> bool {
        matches!(self, Mode::Menu | Mode::Dialog | Mode::Input)
    }

    /// Its section title in the help.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Global => "GLOBAL",
            Mode::Map => "MAP",
            Mode::List => "LIST",
            Mode::Describe => "DESCRIBE",
            Mode::Help => "HELP",
            Mode::Jobs => "JOBS",
            Mode::Menu => "ACTION MENU (1…9 choose an entry)",
            Mode::Dialog => "CONFIRM DIALOG (typing edits the line)",
            Mode::Input => "COMMAND LINE AND FILTER",
        }
    }

    /// The name used in the key map file (`[keymap.<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Map => "map",
            Mode::List => "list",
            Mode::Describe => "describe",
            Mode::Help => "help",
            Mode::Jobs => "jobs",
            Mode::Menu => "menu",
            Mode::Dialog => "dialog",
            Mode::Input => "input",
        }
    }

    /// The mode with that file name.
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    /// Leave haven.
    Quit,
    /// Show the key bindings.
    Help,
    /// Close the pane or go back to the previous view.
    Back,
    /// Open the `:` command line.
    CommandLine,
    /// Open the `/` filter.
    Filter,
    /// Read again what the view shows, and what changes on its own.
    Refresh,
    /// Read everything again (every part of every Region, IAM, Route 53).
    FullRefresh,
    /// Show the next Region.
    NextRegion,
    /// Show the previous Region.
    PrevRegion,
    /// Show every Region.
    AllRegions,
    /// Move the keys to the next account shown (several profiles side by side).
    NextAccount,
    /// Show Region number n (1-based).
    Region(u8),
    /// Move up one line.
    Up,
    /// Move down one line.
    Down,
    /// Move up one page.
    PageUp,
    /// Move down one page.
    PageDown,
    /// Go to the top.
    Top,
    /// Go to the bottom.
    Bottom,
    /// Describe the selected resource.
    Describe,
    /// Sort by the next column.
    SortNext,
    /// Reverse the sort order.
    SortReverse,
    /// Show every instance on the map instead of the first few per subnet.
    Expand,
    /// Open the selected row: describe a resource, jump to a finding's resource.
    Select,
    /// The action menu of the selected resource.
    Actions,
    /// The Jobs view (running and finished actions).
    Jobs,
    /// Complete the command being typed.
    Complete,
    /// Pause the selected deploy, or resume it (`:deploy`).
    PauseDeploy,
    /// Roll the selected deploy back (`:deploy`).
    RollbackDeploy,
    /// Finish the selected deploy: delete blue (`:deploy`, at step `watch`).
    FinishDeploy,
}

impl KeyAction {
    /// Every action that has a name in the key map file.
    pub fn all() -> Vec<KeyAction> {
        let mut all = vec![
            KeyAction::Quit,
            KeyAction::Help,
            KeyAction::Back,
            KeyAction::CommandLine,
            KeyAction::Filter,
            KeyAction::Refresh,
            KeyAction::FullRefresh,
            KeyAction::NextRegion,
            KeyAction::PrevRegion,
            KeyAction::AllRegions,
            KeyAction::NextAccount,
        ];
        all.extend((1..=9).map(KeyAction::Region));
        all.extend([
            KeyAction::Up,
            KeyAction::Down,
            KeyAction::PageUp,
            KeyAction::PageDown,
            KeyAction::Top,
            KeyAction::Bottom,
            KeyAction::Describe,
            KeyAction::SortNext,
            KeyAction::SortReverse,
            KeyAction::Expand,
            KeyAction::Select,
            KeyAction::Actions,
            KeyAction::Jobs,
            KeyAction::Complete,
            KeyAction::PauseDeploy,
            KeyAction::RollbackDeploy,
            KeyAction::FinishDeploy,
        ]);
        all
    }

    /// The name used in the key map file.
    pub fn name(self) -> String {
        let fixed = match self {
            KeyAction::Quit => "quit",
            KeyAction::Help => "help",
            KeyAction::Back => "back",
            KeyAction::CommandLine => "command",
            KeyAction::Filter => "filter",
            KeyAction::Refresh => "refresh",
            KeyAction::FullRefresh => "full_refresh",
            KeyAction::NextRegion => "next_region",
            KeyAction::PrevRegion => "prev_region",
            KeyAction::AllRegions => "all_regions",
            KeyAction::NextAccount => "next_account",
            KeyAction::Region(n) => return format!("region_{n}"),
            KeyAction::Up => "up",
            KeyAction::Down => "down",
            KeyAction::PageUp => "page_up",
            KeyAction::PageDown => "page_down",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::Describe => "describe",
            KeyAction::SortNext => "sort_next",
            KeyAction::SortReverse => "sort_reverse",
            KeyAction::Expand => "expand",
            KeyAction::Select => "select",
            KeyAction::Actions => "actions",
            KeyAction::Jobs => "jobs",
            KeyAction::Complete => "complete",
            KeyAction::PauseDeploy => "pause_deploy",
            KeyAction::RollbackDeploy => "rollback_deploy",
            KeyAction::FinishDeploy => "finish_deploy",
        };
        fixed.to_string()
    }

    /// The action with that file name.
    pub fn from_name(name: &str) -> Option<KeyAction> {
        KeyAction::all().into_iter().find(|a| a.name() == name)
    }

    /// A short description for help.
    pub fn description(self) -> String {
        let fixed = match self {
            KeyAction::Quit => "quit",
            KeyAction::Help => "help",
            KeyAction::Back => "back / close",
            KeyAction::CommandLine => "command (:ec2 :rds …)",
            KeyAction::Filter => "filter",
            KeyAction::Refresh => "refresh this view now",
            KeyAction::FullRefresh => "read everything again (IAM included)",
            KeyAction::NextRegion => "next Region",
            KeyAction::PrevRegion => "previous Region",
            KeyAction::AllRegions => "all Regions",
            KeyAction::NextAccount => "next account (--profiles a,b)",
            KeyAction::Region(n) => return format!("Region {n}"),
            KeyAction::Up => "up",
            KeyAction::Down => "down",
            KeyAction::PageUp => "page up",
            KeyAction::PageDown => "page down",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::Describe => "describe",
            KeyAction::SortNext => "sort by next column",
            KeyAction::SortReverse => "reverse sort",
            KeyAction::Expand => "all instances / first few",
            KeyAction::Select => "open (describe; a finding, alarm or event: its resource)",
            KeyAction::Actions => "actions on the selected resource",
            KeyAction::Jobs => "jobs (running and finished actions)",
            KeyAction::Complete => "complete the command",
            KeyAction::PauseDeploy => "pause / resume the deploy (:deploy)",
            KeyAction::RollbackDeploy => "roll the deploy back (:deploy)",
            KeyAction::FinishDeploy => "finish the deploy, delete blue (:deploy)",
        };
        fixed.to_string()
    }

    /// The description in one mode's help section (Enter and Esc mean that mode's own thing).
    pub fn description_in(self, mode: Mode) -> String {
        let special = match (mode, self) {
            (Mode::Menu, KeyAction::Select) => "choose the entry (nothing is sent yet)",
            (Mode::Menu, KeyAction::Back) => "close the menu",
            (Mode::Dialog, KeyAction::Select) => "run it (a destructive one asks for its name)",
            (Mode::Dialog, KeyAction::Back) => "cancel: nothing is sent",
            (Mode::Input, KeyAction::Select) => "run the command / keep the filter",
            (Mode::Input, KeyAction::Back) => "close (a filter is cleared)",
            (Mode::Jobs, KeyAction::Select | KeyAction::Describe) => {
                "the whole job (request ids, log)"
            }
            _ => return self.description(),
        };
        special.to_string()
    }

    /// A one-word label for the footer of a mode.
    fn short_in(self, mode: Mode) -> &'static str {
        match (mode, self) {
            (Mode::Menu, KeyAction::Select) => "choose",
            (Mode::Menu | Mode::Input, KeyAction::Back) => "close",
            (Mode::Dialog, KeyAction::Select) => "run",
            (Mode::Dialog, KeyAction::Back) => "cancel",
            (Mode::Input, KeyAction::Select) => "run",
            (Mode::Jobs, KeyAction::Describe) => "the whole job",
            _ => self.short(),
        }
    }

    /// A one-word label for the footer.
    fn short(self) -> &'static str {
        match self {
            KeyAction::Quit => "quit",
            KeyAction::Help => "help",
            KeyAction::Back => "back",
            KeyAction::CommandLine => "cmd",
            KeyAction::Filter => "filter",
            KeyAction::Refresh => "refresh",
            KeyAction::FullRefresh => "read all",
            KeyAction::NextRegion | KeyAction::PrevRegion => "region",
            KeyAction::AllRegions => "all",
            KeyAction::NextAccount => "account",
            KeyAction::Describe => "describe",
            KeyAction::SortNext => "sort",
            KeyAction::SortReverse => "reverse",
            KeyAction::Expand => "expand",
            KeyAction::Select => "open",
            KeyAction::Actions => "actions",
            KeyAction::Jobs => "jobs",
            KeyAction::Complete => "complete",
            KeyAction::PauseDeploy => "pause",
            KeyAction::RollbackDeploy => "roll back",
            KeyAction::FinishDeploy => "finish",
            _ => "",
        }
    }
}

/// One key with its modifiers, e.g. `ctrl-r`, `G`, `pgdown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift is part of the character for printable keys).
    pub modifiers: KeyModifiers,
}

/// Why a key name could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParseError(pub String);

impl fmt::Display for KeyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown key `{}` (expected a character, or one of esc enter tab backtab space \
             backspace delete up down left right pgup pgdown home end f1…f12, optionally \
             prefixed by ctrl- or alt-)",
            self.0
        )
    }
}

impl std::error::Error for KeyParseError {}

const NAMED_KEYS: &[(&str, KeyCode)] = &[
    ("esc", KeyCode::Esc),
    ("enter", KeyCode::Enter),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pgup", KeyCode::PageUp),
    ("pgdown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
];

impl KeySpec {
    /// A key without modifiers.
    pub fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// Reads `q`, `G`, `ctrl-r`, `alt-x`, `pgdown`, `f5`, `space`.
    pub fn parse(text: &str) -> Result<Self, KeyParseError> {
        let error = || KeyParseError(text.to_string());
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if rest.chars().count() > 1 {
                if let Some(r) = rest.strip_prefix("ctrl-") {
                    modifiers |= KeyModifiers::CONTROL;
                    rest = r;
                    continue;
                }
                if let Some(r) = rest.strip_prefix("alt-") {
                    modifiers |= KeyModifiers::ALT;
                    rest = r;
                    continue;
                }
            }
            break;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            (Some(_), Some(_)) => {
                let lower = rest.to_ascii_lowercase();
                if let Some((_, code)) = NAMED_KEYS.iter().find(|(n, _)| *n == lower) {
                    *code
                } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    if (1..=12).contains(&n) {
                        KeyCode::F(n)
                    } else {
                        return Err(error());
                    }
                } else {
                    return Err(error());
                }
            }
            _ => return Err(error()),
        };
        Ok(Self { code, modifiers })
    }

    /// The spec a key event matches (Shift folded into the character).
    pub fn from_event(event: &KeyEvent) -> Self {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            // Some terminals send Ctrl+letter as an uppercase letter.
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        if code == KeyCode::BackTab {
            modifiers = KeyModifiers::NONE;
        }
        Self { code, modifiers }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            code => {
                let name = NAMED_KEYS
                    .iter()
                    .find(|(_, c)| *c == code)
                    .map_or("?", |(n, _)| n);
                f.write_str(name)
            }
        }
    }
}

/// One action and the keys bound to it in a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// What the keys do.
    pub action: KeyAction,
    /// The keys (empty = unbound).
    pub keys: Vec<KeySpec>,
}

/// The key bindings of every mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    modes: BTreeMap<Mode, Vec<Binding>>,
}

/// Why a key map override was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMapError {
    /// `[keymap.<mode>]` names no mode.
    UnknownMode(String),
    /// The action does not exist (or is not available in that mode).
    UnknownAction {
        /// The mode.
        mode: Mode,
        /// The name given.
        action: String,
    },
    /// A key name that cannot be read.
    BadKey(KeyParseError),
}

impl fmt::Display for KeyMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMapError::UnknownMode(name) => {
                let valid: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                write!(
                    f,
                    "unknown key map mode `{name}`, expected one of: {}",
                    valid.join(", ")
                )
            }
            KeyMapError::UnknownAction { mode, action } => write!(
                f,
                "unknown action `{action}` in [keymap.{}], expected one of: {}",
                mode.name(),
                KeyMap::default().action_names(*mode).join(", ")
            ),
            KeyMapError::BadKey(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for KeyMapError {}

fn keys(names: &[&str]) -> Vec<KeySpec> {
    names
        .iter()
        .filter_map(|n| KeySpec::parse(n).ok())
        .collect()
}

impl Default for KeyMap {
    fn default() -> Self {
        let b = |action, names: &[&str]| Binding {
            action,
            keys: keys(names),
        };
        let mut global = vec![
            b(KeyAction::Quit, &["q", "ctrl-c"]),
            b(KeyAction::Help, &["?"]),
            b(KeyAction::Back, &["esc"]),
            b(KeyAction::CommandLine, &[":"]),
            b(KeyAction::Refresh, &["r", "ctrl-r"]),
            b(KeyAction::FullRefresh, &["R"]),
            b(KeyAction::Jobs, &["J"]),
            b(KeyAction::NextRegion, &["]", "tab"]),
            b(KeyAction::PrevRegion, &["[", "backtab"]),
            b(KeyAction::AllRegions, &["0"]),
            b(KeyAction::NextAccount, &[">"]),
        ];
        for n in 1..=9u8 {
            let key = n.to_string();
            global.push(b(KeyAction::Region(n), &[key.as_str()]));
        }
        global.extend([
            b(KeyAction::Up, &["k", "up"]),
            b(KeyAction::Down, &["j", "down"]),
            b(KeyAction::PageUp, &["pgup", "ctrl-b"]),
            b(KeyAction::PageDown, &["pgdown", "ctrl-f", "space"]),
            b(KeyAction::Top, &["g", "home"]),
            b(KeyAction::Bottom, &["G", "end"]),
        ]);
        let mut modes = BTreeMap::new();
        modes.insert(Mode::Global, global);
        modes.insert(Mode::Map, vec![b(KeyAction::Expand, &["e"])]);
        modes.insert(
            Mode::List,
            vec![
                b(KeyAction::Filter, &["/"]),
                b(KeyAction::Select, &["enter"]),
                b(KeyAction::Describe, &["d"]),
                b(KeyAction::Actions, &["a"]),
                b(KeyAction::SortNext, &["s"]),
                b(KeyAction::SortReverse, &["S"]),
                b(KeyAction::PauseDeploy, &["p"]),
                b(KeyAction::RollbackDeploy, &["b"]),
                b(KeyAction::FinishDeploy, &["f"]),
            ],
        );
        modes.insert(
            Mode::Describe,
            vec![
                b(KeyAction::Actions, &["a"]),
                b(KeyAction::PauseDeploy, &["p"]),
                b(KeyAction::RollbackDeploy, &["b"]),
                b(KeyAction::FinishDeploy, &["f"]),
            ],
        );
        modes.insert(Mode::Help, Vec::new());
        modes.insert(
            Mode::Jobs,
            vec![
                b(KeyAction::Describe, &["d"]),
                b(KeyAction::Select, &["enter"]),
            ],
        );
        modes.insert(
            Mode::Menu,
            vec![
                b(KeyAction::Up, &["k", "up"]),
                b(KeyAction::Down, &["j", "down"]),
                b(KeyAction::Select, &["enter"]),
                b(KeyAction::Back, &["esc", "q"]),
            ],
        );
        modes.insert(
            Mode::Dialog,
            vec![
                b(KeyAction::Select, &["enter"]),
                b(KeyAction::Back, &["esc", "ctrl-c"]),
            ],
        );
        modes.insert(
            Mode::Input,
            vec![
                b(KeyAction::Select, &["enter"]),
                b(KeyAction::Back, &["esc", "ctrl-c"]),
                b(KeyAction::Complete, &["tab"]),
            ],
        );
        Self { modes }
    }
}

/// Actions that make sense in a mode besides the global ones.
fn mode_actions(mode: Mode) -> Vec<KeyAction> {
    match mode {
        Mode::Global => KeyAction::all()
            .into_iter()
            .filter(|a| {
                !matches!(
                    a,
                    KeyAction::Filter
                        | KeyAction::Describe
                        | KeyAction::Select
                        | KeyAction::Actions
                        | KeyAction::SortNext
                        | KeyAction::SortReverse
                        | KeyAction::Expand
                        | KeyAction::Complete
                        | KeyAction::PauseDeploy
                        | KeyAction::RollbackDeploy
                        | KeyAction::FinishDeploy
                )
            })
            .collect(),
        Mode::Map => vec![KeyAction::Expand],
        Mode::List => vec![
            KeyAction::Filter,
            KeyAction::Select,
            KeyAction::Describe,
            KeyAction::Actions,
            KeyAction::SortNext,
            KeyAction::SortReverse,
            KeyAction::PauseDeploy,
            KeyAction::RollbackDeploy,
            KeyAction::FinishDeploy,
        ],
        Mode::Describe => vec![
            KeyAction::Actions,
            KeyAction::PauseDeploy,
            KeyAction::RollbackDeploy,
            KeyAction::FinishDeploy,
        ],
        Mode::Help => Vec::new(),
        Mode::Jobs => vec![KeyAction::Describe, KeyAction::Select],
        Mode::Menu => vec![
            KeyAction::Up,
            KeyAction::Down,
            KeyAction::Select,
            KeyAction::Back,
        ],
        Mode::Dialog => vec![KeyAction::Select, KeyAction::Back],
        Mode::Input => vec![KeyAction::Select, KeyAction::Back, KeyAction::Complete],
    }
}

impl KeyMap {
    /// The action a key triggers in a mode: the mode's own binding first, then the global one
    /// (except in a modal mode, which takes only its own).
    pub fn action(&self, mode: Mode, event: &KeyEvent) -> Option<KeyAction> {
        let spec = KeySpec::from_event(event);
        let find = |m: Mode| {
            self.modes
                .get(&m)?
                .iter()
                .find(|b| b.keys.contains(&spec))
                .map(|b| b.action)
        };
        find(mode).or_else(|| {
            if mode.modal() {
                None
            } else {
                find(Mode::Global)
            }
        })
    }

    /// The bindings of one mode, in table order.
    pub fn bindings(&self, mode: Mode) -> &[Binding] {
        self.modes.get(&mode).map_or(&[], Vec::as_slice)
    }

    /// The keys bound to an action in a mode (or globally, unless the mode is modal).
    pub fn keys_for(&self, mode: Mode, action: KeyAction) -> Vec<KeySpec> {
        let modes: &[Mode] = if mode.modal() {
            &[mode]
        } else {
            &[mode, Mode::Global]
        };
        modes
            .iter()
            .filter_map(|m| self.bindings(*m).iter().find(|b| b.action == action))
            .map(|b| b.keys.clone())
            .find(|k| !k.is_empty())
            .unwrap_or_default()
    }

    /// The keys on a deploy row, e.g. `p pause/resume · b roll back · f finish`.
    pub fn deploy_keys(&self, mode: Mode) -> String {
        [
            (KeyAction::PauseDeploy, "pause/resume"),
            (KeyAction::RollbackDeploy, "roll back"),
            (KeyAction::FinishDeploy, "finish"),
        ]
        .into_iter()
        .filter_map(|(action, label)| {
            let key = self.keys_for(mode, action).first()?.to_string();
            Some(format!("{key} {label}"))
        })
        .collect::<Vec<_>>()
        .join(" · ")
    }

    /// Action names valid in a mode's override table.
    pub fn action_names(&self, mode: Mode) -> Vec<String> {
        mode_actions(mode)
            .into_iter()
            .map(KeyAction::name)
            .collect()
    }

    /// Replaces the keys of the named actions in a mode; every other binding stays.
    pub fn apply_override(
        &mut self,
        mode_name: &str,
        action_name: &str,
        key_names: &[String],
    ) -> Result<(), KeyMapError> {
        let mode =
            Mode::from_name(mode_name).ok_or_else(|| KeyMapError::UnknownMode(mode_name.into()))?;
        let action = KeyAction::from_name(action_name)
            .filter(|a| mode_actions(mode).contains(a))
            .ok_or_else(|| KeyMapError::UnknownAction {
                mode,
                action: action_name.into(),
            })?;
        let specs = key_names
            .iter()
            .map(|k| KeySpec::parse(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(KeyMapError::BadKey)?;
        let bindings = self.modes.entry(mode).or_default();
        // A key moves to its new action: take it away from the others in this mode.
        for other in bindings.iter_mut().filter(|b| b.action != action) {
            other.keys.retain(|k| !specs.contains(k));
        }
        match bindings.iter_mut().find(|b| b.action == action) {
            Some(binding) => binding.keys = specs,
            None => bindings.push(Binding {
                action,
                keys: specs,
            }),
        }
        Ok(())
    }

    /// Footer entries for a mode: `(keys, label)` of its main actions.
    pub fn footer(&self, mode: Mode) -> Vec<(String, &'static str)> {
        let main: &[KeyAction] = match mode {
            Mode::Map => &[
                KeyAction::CommandLine,
                KeyAction::PrevRegion,
                KeyAction::NextRegion,
                KeyAction::Expand,
                KeyAction::Refresh,
                KeyAction::Jobs,
                KeyAction::Help,
                KeyAction::Quit,
            ],
            Mode::List => &[
                KeyAction::Describe,
                KeyAction::Actions,
                KeyAction::Filter,
                KeyAction::SortNext,
                KeyAction::SortReverse,
                KeyAction::CommandLine,
                KeyAction::Back,
                KeyAction::Help,
                KeyAction::Quit,
            ],
            Mode::Jobs => &[
                KeyAction::Up,
                KeyAction::Down,
                KeyAction::Describe,
                KeyAction::Back,
                KeyAction::Help,
                KeyAction::Quit,
            ],
            Mode::Menu => &[
                KeyAction::Up,
                KeyAction::Down,
                KeyAction::Select,
                KeyAction::Back,
            ],
            Mode::Dialog => &[KeyAction::Select, KeyAction::Back],
            Mode::Input => &[KeyAction::Complete, KeyAction::Select, KeyAction::Back],
            Mode::Describe | Mode::Help | Mode::Global => &[
                KeyAction::Up,
                KeyAction::Down,
                KeyAction::Back,
                KeyAction::Quit,
            ],
        };
        let first = |action| self.keys_for(mode, action).first().map(ToString::to_string);
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for action in main {
            match action {
                // Pairs share one entry: `[ ]` region, `k/j` scroll.
                KeyAction::PrevRegion | KeyAction::Up => {}
                KeyAction::NextRegion => {
                    if let (Some(p), Some(n)) = (first(KeyAction::PrevRegion), first(*action)) {
                        out.push((format!("{p} {n}"), "region"));
                    }
                }
                KeyAction::Down => {
                    if let (Some(u), Some(d)) = (first(KeyAction::Up), first(*action)) {
                        let label = if matches!(mode, Mode::Menu | Mode::Jobs) {
                            "select"
                        } else {
                            "scroll"
                        };
                        out.push((format!("{u}/{d}"), label));
                    }
                }
                other => {
                    if let Some(key) = first(*other) {
                        out.push((key, other.short_in(mode)));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn parses_and_prints_key_names() {
        for name in [
            "q", "G", "ctrl-r", "alt-x", "pgdown", "f5", "space", "esc", "-", "?",
        ] {
            let spec = KeySpec::parse(name).expect(name);
            assert_eq!(spec.to_string(), name);
        }
        assert!(KeySpec::parse("hyper-q").is_err());
        assert!(KeySpec::parse("f13").is_err());
    }

    #[test]
    fn mode_bindings_win_over_global_ones_and_overrides_replace_keys() {
        let mut map = KeyMap::default();
        assert_eq!(map.action(Mode::List, &key('s')), Some(KeyAction::SortNext));
        assert_eq!(map.action(Mode::Map, &key('s')), None);
        assert_eq!(map.action(Mode::Map, &key('q')), Some(KeyAction::Quit));
        map.apply_override("global", "quit", &["x".into()])
            .expect("override");
        assert_eq!(map.action(Mode::Map, &key('x')), Some(KeyAction::Quit));
        assert_eq!(map.action(Mode::Map, &key('q')), None);
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.action(Mode::Map, &shifted), Some(KeyAction::Bottom));
    }

    #[test]
    fn refuses_unknown_modes_actions_and_keys_naming_the_valid_ones() {
        let mut map = KeyMap::default();
        let err = map
            .apply_override("lists", "quit", &[])
            .expect_err("bad mode");
        assert!(err.to_string().contains("global, map, list"), "{err}");
        let err = map
            .apply_override("list", "explode", &[])
            .expect_err("bad action");
        assert!(err.to_string().contains("sort_next"), "{err}");
        let err = map
            .apply_override("list", "filter", &["ctrl-hyper".into()])
            .expect_err("bad key");
        assert!(err.to_string().contains("ctrl-hyper"), "{err}");
    }
}
