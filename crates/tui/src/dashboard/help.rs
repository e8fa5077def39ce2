//! The `:` commands as one table, and the help screen as data. Completion, dispatch, the help's
//! COMMANDS section and the command line's hint all read [`commands`]; the key sections come
//! from the key map. The help is plain entries here so that `update` can count its lines
//! without building styled text, and `render` styles them.

use super::keymap::{KeyAction, KeyMap, Mode};
use super::rows::ListKind;
use super::style::Tone;

/// What a `:` command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandRun {
    /// Show the map.
    Map,
    /// Open a list.
    List(ListKind),
    /// Show the jobs.
    Jobs,
    /// Show every Region.
    AllRegions,
    /// Show the help.
    Help,
    /// Leave haven.
    Quit,
}

/// One `:` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Its name (what completion offers).
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// What it shows, in a few words (the help line).
    pub help: &'static str,
    /// What it runs.
    pub run: CommandRun,
}

const MAP: CommandSpec = CommandSpec {
    name: "map",
    aliases: &["home"],
    help: "the map (home)",
    run: CommandRun::Map,
};

const AFTER_LISTS: [CommandSpec; 4] = [
    CommandSpec {
        name: "jobs",
        aliases: &["job"],
        help: "actions run from here; d or Enter shows one whole",
        run: CommandRun::Jobs,
    },
    CommandSpec {
        name: "all",
        aliases: &[],
        help: "every Region",
        run: CommandRun::AllRegions,
    },
    CommandSpec {
        name: "help",
        aliases: &["h", "?"],
        help: "keys, commands and map symbols",
        run: CommandRun::Help,
    },
    CommandSpec {
        name: "quit",
        aliases: &["q", "q!", "exit"],
        help: "leave haven",
        run: CommandRun::Quit,
    },
];

/// Every `:` command, in completion and help order (Region codes come on top of these).
pub fn commands() -> Vec<CommandSpec> {
    let mut all = vec![MAP];
    all.extend(ListKind::ALL.iter().map(|kind| CommandSpec {
        name: kind.command(),
        aliases: kind.aliases(),
        help: kind.title(),
        run: CommandRun::List(*kind),
    }));
    all.extend(AFTER_LISTS);
    all
}

/// The command a typed name (or alias) stands for.
pub fn command(name: &str) -> Option<CommandSpec> {
    commands()
        .into_iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// One line of the help screen, unstyled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    /// A section title.
    Heading(&'static str),
    /// Keys and what they do.
    Keys {
        /// The keys, e.g. `k, up`.
        keys: String,
        /// What they do.
        text: String,
    },
    /// A `:` command and what it shows.
    Command {
        /// `:name`.
        name: String,
        /// What it shows.
        text: String,
    },
    /// A map symbol.
    Symbol {
        /// The symbol.
        symbol: &'static str,
        /// Its colour.
        tone: Tone,
        /// What it means.
        text: &'static str,
    },
    /// Plain text.
    Note(&'static str),
    /// An empty line.
    Blank,
}

/// The heading the right column of a wide help screen starts at.
pub const COMMANDS_HEADING: &str = "COMMANDS";

const LEGEND: [(&str, Tone, &str); 9] = [
    ("✓", Tone::Good, "target healthy"),
    (
        "✗",
        Tone::Bad,
        "target unhealthy / no healthy target in the AZ",
    ),
    (
        "○",
        Tone::Warn,
        "target unused (stopped, AZ not enabled, …)",
    ),
    (
        "…",
        Tone::Busy,
        "changing (pending, draining…); ending a cut cell: d shows it whole",
    ),
    (
        "·",
        Tone::Dim,
        "instance not registered in any target group",
    ),
    ("◆", Tone::Good, "database writer"),
    ("◇", Tone::Good, "standby, reader or read replica"),
    (
        "⚠",
        Tone::Warn,
        "needs attention (cross-AZ NAT, Single-AZ database, …)",
    ),
    (
        "PUB PRV",
        Tone::Normal,
        "public subnet (route to an IGW) / private subnet",
    ),
];

/// The help: every binding of every mode, then the commands and the map's symbols.
pub fn help_lines(keymap: &KeyMap) -> Vec<HelpLine> {
    let mut lines = Vec::new();
    for mode in Mode::ALL {
        let bindings = keymap.bindings(mode);
        if bindings.iter().all(|b| b.keys.is_empty()) {
            continue;
        }
        lines.push(HelpLine::Heading(mode.title()));
        // Region 1..9 fold into one line.
        let mut regions = Vec::new();
        for b in bindings {
            if b.keys.is_empty() {
                continue;
            }
            let keys: Vec<String> = b.keys.iter().map(ToString::to_string).collect();
            if let KeyAction::Region(_) = b.action {
                regions.extend(keys);
                continue;
            }
            lines.push(HelpLine::Keys {
                keys: keys.join(", "),
                text: b.action.description_in(mode),
            });
        }
        if let (Some(first), Some(last)) = (regions.first(), regions.last()) {
            lines.push(HelpLine::Keys {
                keys: format!("{first}…{last}"),
                text: "Region by number".into(),
            });
        }
        lines.push(HelpLine::Blank);
    }
    lines.push(HelpLine::Heading(COMMANDS_HEADING));
    for c in commands() {
        lines.push(HelpLine::Command {
            name: format!(":{}", c.name),
            text: c.help.to_string(),
        });
    }
    lines.push(HelpLine::Command {
        name: ":<region>".into(),
        text: "one Region, e.g. :us-east-1".into(),
    });
    lines.push(HelpLine::Note(
        "  Tab completes; in a list / filters, Esc clears the filter.",
    ));
    lines.push(HelpLine::Blank);
    lines.push(HelpLine::Heading("MAP SYMBOLS"));
    for (symbol, tone, text) in LEGEND {
        lines.push(HelpLine::Symbol { symbol, tone, text });
    }
    lines
}

/// The hint after an empty `:` line: the first commands, then how to see the rest.
pub fn command_hint() -> String {
    let names: Vec<&str> = commands().iter().skip(1).take(11).map(|c| c.name).collect();
    format!("{} …", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in commands() {
            for name in std::iter::once(c.name).chain(c.aliases.iter().copied()) {
                assert!(seen.insert(name), "`{name}` names two commands");
            }
        }
    }

    #[test]
    fn every_command_is_in_the_help() {
        let help = help_lines(&KeyMap::default());
        for c in commands() {
            assert!(
                help.iter().any(|l| matches!(
                    l,
                    HelpLine::Command { name, text } if *name == format!(":{}", c.name) && text == c.help
                )),
                ":{} is missing from the help",
                c.name
            );
        }
    }
}
