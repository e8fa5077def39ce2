//! Colour: the tones cells and map lines carry, and their terminal styles. The text always says
//! the same on its own; the tone only makes it quicker to read.

use ratatui::style::{Color, Style};

/// How a cell is coloured; the text always says the same on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    /// Plain.
    #[default]
    Normal,
    /// Healthy, running, available.
    Good,
    /// Changing state.
    Busy,
    /// Needs attention.
    Warn,
    /// Broken, stopped, unhealthy.
    Bad,
    /// Secondary information.
    Dim,
}

impl Tone {
    /// The worse of two tones (for a cell summing up several things).
    pub fn max_with(self, other: Tone) -> Tone {
        let rank = |t: Tone| match t {
            Tone::Bad => 3,
            Tone::Warn => 2,
            Tone::Busy => 1,
            _ => 0,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Style of a tone.
pub fn tone_style(tone: Tone) -> Style {
    match tone {
        Tone::Normal => Style::new(),
        Tone::Good => Style::new().fg(Color::Green),
        Tone::Busy | Tone::Warn => Style::new().fg(Color::Yellow),
        Tone::Bad => Style::new().fg(Color::Red),
        Tone::Dim => Style::new().fg(Color::DarkGray),
    }
}

/// Tone of an AWS status word (`available`, `active`, `modifying`, `failed`, …).
pub fn status_tone(status: &str) -> Tone {
    match status.to_ascii_lowercase().as_str() {
        "available" | "active" | "completed" | "running" | "inservice" | "healthy" | "in-use"
        | "complete" => Tone::Good,
        "pending"
        | "creating"
        | "modifying"
        | "rebooting"
        | "backing-up"
        | "copying"
        | "provisioning"
        | "deleting"
        | "stopping"
        | "starting"
        | "upgrading"
        | "renaming"
        | "maintenance"
        | "configuring-enhanced-monitoring"
        | "storage-optimization"
        | "resetting-master-credentials"
        | "moving-to-vpc"
        | "failing-over"
        | "initial"
        | "draining"
        | "shutting-down"
        | "active_impaired" => Tone::Busy,
        "failed"
        | "error"
        | "stopped"
        | "unhealthy"
        | "incompatible-parameters"
        | "incompatible-network"
        | "incompatible-restore"
        | "inaccessible-encryption-credentials"
        | "storage-full"
        | "deleted"
        | "blackhole" => Tone::Bad,
        _ => Tone::Normal,
    }
}

/// A status word marked when it is changing: `modifying…`.
pub fn status_text(status: &str) -> String {
    if status_tone(status) == Tone::Busy {
        format!("{status}…")
    } else {
        status.to_string()
    }
}

/// Tone of a target health state.
pub fn health_tone(health: haven_model::TargetHealthState) -> Tone {
    use haven_model::TargetHealthState as H;
    match health {
        H::Healthy => Tone::Good,
        H::Initial | H::Draining => Tone::Busy,
        H::Unhealthy => Tone::Bad,
        H::Unused => Tone::Warn,
        H::Unavailable | H::Unknown => Tone::Dim,
    }
}
