//! Subcommands other than the dashboard and `snapshot`, one module each.
