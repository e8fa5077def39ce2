//! How actions are run and followed: read-only, how long to wait, how often to poll.

use std::time::Duration;

/// How an action is run: the read-only guard and the polling limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// Refuse every mutating action before any call is made.
    pub read_only: bool,
    /// Longest time to follow an action to completion before giving up with
    /// [`crate::AwsError::WaitTimedOut`].
    pub max_wait: Duration,
    /// First pause between two polls.
    pub first_poll: Duration,
    /// Longest pause between two polls (the pause doubles up to this).
    pub max_poll: Duration,
    /// How long a change may go unseen before its end state is believed anyway: an RDS reboot
    /// that still reads `available` (it can fall between two polls), an instance still in the
    /// state it had before the call.
    pub unchanged_grace: Duration,
}

impl Default for ExecuteOptions {
    /// Generous enough for an RDS class change or a read replica.
    fn default() -> Self {
        Self {
            read_only: false,
            max_wait: Duration::from_secs(60 * 60),
            first_poll: Duration::from_secs(2),
            max_poll: Duration::from_secs(30),
            unchanged_grace: Duration::from_secs(180),
        }
    }
}
