//! haven's vocabulary and all its pure logic: what a highly available AWS stack is made of, the
//! facts derived from it, and (in later modules) findings, plans and actions. No I/O here.
#![warn(missing_docs)]

pub mod accounts;
pub mod action;
pub mod arn;
pub mod blueprint;
pub mod deploy;
pub mod dr;
pub mod duration;
pub mod engines;
pub mod findings;
pub mod front_door;
pub mod permissions;
pub mod plan;
pub mod refresh;
pub mod regions;
pub mod relations;
pub mod replication;
pub mod resource;
pub mod signals;
pub mod topology;
pub mod traffic;
pub mod wait;

pub use topology::*;
