//! Multi-Region replication: plan the DR copies a topology lacks ([`plan()`]), carry them out with
//! bounded concurrency per destination Region ([`execute()`]), and report how current each DR
//! Region is against the recovery-point objective.
#![warn(missing_docs)]

pub mod execute;
pub mod failback;
pub mod failover;
pub mod plan;

pub use execute::{Event, Outcome, execute};
pub use haven_model::dr::{DrPolicy, Scope};
pub use plan::{Plan, plan};
