//! Bounded polling with backoff, the one poller behind every wait (`up`, `down`, `act`,
//! `replicate`): ask until the answer says done, doubling the pause up to a limit, report the
//! state with the time waited and what AWS usually takes, and give up after the longest wait
//! with [`AwsError::WaitTimedOut`].

use std::future::Future;
use std::time::{Duration, Instant};

use haven_model::Service;
use haven_model::wait::{Typical, status_line};

use crate::error::AwsError;
use crate::options::ExecuteOptions;

/// Where a long wait reports what AWS is doing meanwhile, one line at a time.
pub type WaitSink<'a> = &'a (dyn Fn(String) + Send + Sync);

/// One thing being waited for: what, since when, and the next pause.
pub(crate) struct Poller<'a> {
    what: String,
    service: Service,
    typical: Option<Typical>,
    started: Instant,
    delay: Duration,
    options: &'a ExecuteOptions,
}

impl<'a> Poller<'a> {
    /// Starts the clock for `what` (e.g. "instance i-… to be stopped").
    pub(crate) fn new(
        options: &'a ExecuteOptions,
        service: Service,
        what: impl Into<String>,
        typical: Option<Typical>,
    ) -> Self {
        Self {
            what: what.into(),
            service,
            typical,
            started: Instant::now(),
            delay: options.first_poll,
            options,
        }
    }

    /// What is waited for.
    pub(crate) fn what(&self) -> &str {
        &self.what
    }

    /// The service polled.
    pub(crate) fn service(&self) -> Service {
        self.service
    }

    /// Time since the wait started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The state as shown to a person: with the time waited and the typical duration.
    pub(crate) fn status(&self, state: &str) -> String {
        status_line(state, self.elapsed(), self.typical)
    }

    /// Sleeps before the next poll, or gives up when the next poll would come after the longest
    /// wait.
    pub(crate) async fn pause(&mut self, state: &str) -> Result<(), AwsError> {
        let elapsed = self.elapsed();
        if elapsed + self.delay > self.options.max_wait {
            return Err(AwsError::WaitTimedOut {
                service: self.service,
                waiting_for: format!("{} (last seen: {state})", self.what),
                waited_seconds: elapsed.as_secs(),
            });
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(self.options.max_poll);
        Ok(())
    }
}

/// Calls `check` until it returns `None` (done); `Some(state)` is reported (with the time
/// waited) and waited on.
pub(crate) async fn until<F, Fut>(
    options: &ExecuteOptions,
    service: Service,
    what: &str,
    report: &(dyn Fn(String) + Send + Sync),
    check: F,
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>, AwsError>>,
{
    until_typical(options, service, what, None, report, check).await
}

/// [`until`] for a kind of change whose typical duration is known, shown with every report.
pub(crate) async fn until_typical<F, Fut>(
    options: &ExecuteOptions,
    service: Service,
    what: &str,
    typical: Option<Typical>,
    report: &(dyn Fn(String) + Send + Sync),
    mut check: F,
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>, AwsError>>,
{
    let mut poller = Poller::new(options, service, what, typical);
    loop {
        let Some(state) = check().await? else {
            return Ok(());
        };
        report(format!("{what}: {}", poller.status(&state)));
        poller.pause(&state).await?;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn every_report_shows_the_time_waited_and_the_typical_duration() {
        let options = ExecuteOptions {
            first_poll: Duration::from_millis(1),
            max_poll: Duration::from_millis(2),
            ..ExecuteOptions::default()
        };
        let reports = Mutex::new(Vec::new());
        let report = |line: String| reports.lock().expect("lock").push(line);
        let mut polls = 0;
        until_typical(
            &options,
            Service::Rds,
            "DB instance lab-db to be available",
            Some(Typical::DbCreate),
            &report,
            || {
                polls += 1;
                let done = polls > 2;
                async move { Ok((!done).then(|| "creating".to_string())) }
            },
        )
        .await
        .expect("done");
        let reports = reports.into_inner().expect("lock");
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert_eq!(
            reports[0],
            "DB instance lab-db to be available: creating · 0 s elapsed, typically 10–25 min"
        );
    }

    #[tokio::test]
    async fn a_wait_that_never_ends_times_out_naming_the_last_state() {
        let options = ExecuteOptions {
            max_wait: Duration::from_millis(30),
            first_poll: Duration::from_millis(5),
            max_poll: Duration::from_millis(10),
            ..ExecuteOptions::default()
        };
        let error = until(&options, Service::Ec2, "NAT nat-1", &|_| {}, || async {
            Ok(Some("pending".to_string()))
        })
        .await
        .expect_err("never done");
        assert!(
            error.to_string().contains("NAT nat-1 (last seen: pending)"),
            "{error}"
        );
    }
}
