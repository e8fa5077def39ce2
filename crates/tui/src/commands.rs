//! Subcommands other than the dashboard and `snapshot`, one module each.

pub mod act;
pub mod check;
pub mod deploy;
pub mod failback;
pub mod plan;
pub mod replicate;
pub mod stack;
mod traffic;
