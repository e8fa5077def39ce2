//! The `haven` command: subcommands for scripts and the ratatui dashboard.
#![warn(missing_docs)]

pub mod act_line;
pub mod allocator;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod dr_table;
pub mod fatal;
pub mod open;
pub mod report;
pub mod sso_login;
