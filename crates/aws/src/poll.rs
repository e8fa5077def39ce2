//! Bounded polling with backoff: ask until the answer says done, doubling the pause up to a
//! limit, and give up after the longest wait with [`AwsError::WaitTimedOut`].

use std::future::Future;
use std::time::Instant;

use haven_model::Service;

use crate::error::AwsError;
use crate::execute::ExecuteOptions;

/// Calls `check` until it returns `None` (done); `Some(state)` is reported and waited on.
pub(crate) async fn until<F, Fut>(
    options: &ExecuteOptions,
    service: Service,
    what: &str,
    report: &(dyn Fn(String) + Send + Sync),
    mut check: F,
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>, AwsError>>,
{
    let started = Instant::now();
    let mut delay = options.first_poll;
    loop {
        let Some(state) = check().await? else {
            return Ok(());
        };
        report(format!("{what}: {state}"));
        if started.elapsed() + delay > options.max_wait {
            return Err(AwsError::WaitTimedOut {
                service,
                waiting_for: format!("{what} (last seen: {state})"),
                waited_seconds: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(options.max_poll);
    }
}
