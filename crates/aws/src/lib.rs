//! The only haven crate that speaks to AWS. It builds one SDK configuration the standard way,
//! discovers the stack into [`haven_model::Topology`], and keeps every SDK type inside.
#![warn(missing_docs)]

pub mod apply;
pub mod context;
pub mod discover;
pub mod error;
pub mod execute;
mod poll;
pub mod replicate;

pub use apply::{Applied, ApplyError, Desired, StepEvent, StepStatus, apply, destroy};
pub use context::{AwsContext, CallerIdentity, ConnectOptions};
pub use discover::{DiscoverOptions, discover};
pub use error::AwsError;
pub use execute::{ExecuteOptions, execute};
