//! Test support for haven (a dev-dependency only).
//!
//! - [`MotoServer`]: a `moto_server` child process on a free loopback port, plus
//!   [`sdk_config_for`] to point the AWS SDK at it (or at a [`Proxy`] in front of it).
//! - [`lab`]: an independent builder of the classic HA lab, written directly against the AWS SDK;
//!   it is the oracle that tests compare haven against.
//! - [`proxy`]: a recording, fault-injecting HTTP proxy on loopback; it also translates the
//!   AWS SDK's Smithy RPC v2 CBOR (CloudWatch) to the AWS JSON 1.0 moto speaks.
//! - [`scripted`]: a scripted AWS endpoint on loopback, for answers moto never gives and for what
//!   a client does on the wire (connections opened, calls in flight).
//! - [`metrics`]: CloudWatch datapoints written straight to moto (`PutMetricData`), and an hour
//!   of plausible ones for a discovered topology.
#![warn(missing_docs)]

pub mod hand_built;
pub mod lab;
pub mod metrics;
pub mod moto;
pub mod proxy;
pub mod scripted;

pub use moto::{MotoServer, sdk_config_for};
pub use proxy::{
    Chaos, Faults, INSUFFICIENT_CAPACITY, Proxy, Realism, RealismEvent, RealismKind,
    RecordedRequest,
};
