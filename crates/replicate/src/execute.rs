//! Runs a replication plan: the removal of failed copies first (their remake reuses the name),
//! then copies and replicas, at most `concurrency` of each kind in flight per destination Region
//! (AWS's copy quotas are per Region and kind), every operation followed to completion;
//! then the retention deletes of each protected resource whose new copy succeeded. One failure
//! does not stop the others.

use futures::StreamExt;
use haven_aws::{AwsContext, AwsError, ExecuteOptions};
use haven_model::replication::{LINEAGE_TAG, Operation, Removal};

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The operation.
    pub operation: Operation,
    /// The id it made or deleted, or why it failed.
    pub result: Result<String, AwsError>,
}

/// A progress event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// An operation was sent.
    Started(&'a Operation),
    /// It is waiting for AWS.
    Waiting(&'a Operation, String),
    /// It finished.
    Finished(&'a Outcome),
    /// A retention delete was skipped because its lineage's new copy failed.
    Kept(&'a Operation),
}

/// Runs `operations` with at most `concurrency` in flight per destination Region.
pub async fn execute(
    ctx: &AwsContext,
    operations: &[Operation],
    concurrency: usize,
    options: &ExecuteOptions,
    progress: &(dyn Fn(Event<'_>) + Send + Sync),
) -> Vec<Outcome> {
    let is_delete = |o: &&Operation, failed: bool| match o {
        Operation::Delete(d) => matches!(d.why, Removal::Failed { .. }) == failed,
        _ => false,
    };
    // A failed copy goes first: its remake reuses its name.
    let cleanup: Vec<&Operation> = operations.iter().filter(|o| is_delete(o, true)).collect();
    let mut outcomes = run_bounded(ctx, &cleanup, concurrency, options, progress).await;
    let creations: Vec<&Operation> = operations
        .iter()
        .filter(|o| !matches!(o, Operation::Delete(_)))
        .collect();
    let created = run_bounded(ctx, &creations, concurrency, options, progress).await;
    let failed_lineages: Vec<(String, String)> = created
        .iter()
        .filter(|o| o.result.is_err())
        .filter_map(|o| match &o.operation {
            Operation::Copy(c) => Some((
                c.destination_region.clone(),
                c.tags.get(LINEAGE_TAG).cloned().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    outcomes.extend(created);
    let (kept, deletes): (Vec<&Operation>, Vec<&Operation>) = operations
        .iter()
        .filter(|o| is_delete(o, false))
        .partition(|o| match o {
            Operation::Delete(d) => {
                failed_lineages.contains(&(d.region.clone(), d.lineage.clone()))
            }
            _ => false,
        });
    for operation in kept {
        progress(Event::Kept(operation));
    }
    outcomes.extend(run_bounded(ctx, &deletes, concurrency, options, progress).await);
    outcomes
}

async fn run_bounded(
    ctx: &AwsContext,
    operations: &[&Operation],
    concurrency: usize,
    options: &ExecuteOptions,
    progress: &(dyn Fn(Event<'_>) + Send + Sync),
) -> Vec<Outcome> {
    // AWS bounds copies in flight per destination Region and per kind (AMI copies, EBS snapshot
    // copies, RDS snapshot copies and replicas each have their own quota), so each kind gets
    // its own `concurrency` in each Region.
    let lane = |o: &Operation| (o.region().to_string(), o.row_key().protection);
    let mut lanes: Vec<_> = operations.iter().map(|o| lane(o)).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let per_region = lanes.into_iter().map(|key| {
        let mine: Vec<&Operation> = operations
            .iter()
            .copied()
            .filter(|o| lane(o) == key)
            .collect();
        futures::stream::iter(mine)
            .map(|operation| async move {
                progress(Event::Started(operation));
                let waiting = |state: String| progress(Event::Waiting(operation, state));
                let result = haven_aws::replicate::run(ctx, operation, options, &waiting).await;
                let outcome = Outcome {
                    operation: operation.clone(),
                    result,
                };
                progress(Event::Finished(&outcome));
                outcome
            })
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>()
    });
    futures::future::join_all(per_region)
        .await
        .into_iter()
        .flatten()
        .collect()
}
