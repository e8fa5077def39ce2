//! Work started from the dashboard: an [`Action`] on the stack, a replication [`Operation`] or
//! the calls that pause, roll back or finish a deploy, run in the background by an [`Executor`],
//! followed in the **Jobs** view.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use haven_model::action::{AcceptedCall, Action, Progress, Risk};
use haven_model::deploy::DeployCall;
use haven_model::replication::Operation;

/// Identifies a background job; a result whose id is no longer awaited is dropped.
pub type JobId = u64;

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// An action on the stack (the same as `haven act`).
    Act(Action),
    /// A DR copy or replica (the same as one operation of `haven replicate`).
    Replicate(Operation),
    /// Calls on a running deploy of a stack: pause or resume it, roll it back, finish it (what
    /// `haven deploy --rollback` / `--finish` send).
    Deploy {
        /// The Region.
        region: String,
        /// The stack.
        stack: String,
        /// What it does, e.g. `Roll back deploy d1 of stack lab`.
        title: String,
        /// The calls, in order.
        calls: Vec<DeployCall>,
    },
}

impl Work {
    /// What it does, in a sentence.
    pub fn sentence(&self) -> String {
        match self {
            Work::Act(action) => action.sentence(),
            Work::Replicate(op) => {
                let mut s = op.sentence();
                if let Some(first) = s.get(..1) {
                    s = first.to_uppercase() + &s[1..];
                }
                s
            }
            Work::Deploy { title, .. } => title.clone(),
        }
    }

    /// What it adds to the bill, when it adds something that keeps costing.
    pub fn cost(&self) -> Option<&'static str> {
        match self {
            Work::Act(action) => action.cost(),
            Work::Replicate(op) => op.cost(),
            Work::Deploy { .. } => None,
        }
    }

    /// How much harm it can do.
    pub fn risk(&self) -> Risk {
        match self {
            Work::Act(action) => action.risk(),
            Work::Replicate(Operation::Delete(_)) => Risk::Destructive,
            Work::Replicate(_) => Risk::Safe,
            Work::Deploy { calls, .. } => calls
                .iter()
                .map(DeployCall::risk)
                .max()
                .unwrap_or(Risk::Safe),
        }
    }

    /// The `haven act` action name, `replicate` for a DR copy or replica, `deploy` for calls on
    /// a deploy.
    pub fn name(&self) -> &str {
        match self {
            Work::Act(action) => action.kind.name(),
            Work::Replicate(_) => "replicate",
            Work::Deploy { .. } => "deploy",
        }
    }

    /// The Region the calls go to.
    pub fn region(&self) -> &str {
        match self {
            Work::Act(action) => &action.region,
            Work::Replicate(op) => op.region(),
            Work::Deploy { region, .. } => region,
        }
    }

    /// The exact API calls, one per line, as the dialog shows them.
    pub fn calls(&self) -> Vec<String> {
        match self {
            Work::Act(action) => action.api_calls().iter().map(|c| c.to_string()).collect(),
            Work::Replicate(op) => op.api_calls().iter().map(|c| c.to_string()).collect(),
            Work::Deploy { calls, .. } => calls
                .iter()
                .flat_map(DeployCall::api_calls)
                .map(|c| c.to_string())
                .collect(),
        }
    }

    /// What must be typed to confirm it (destructive work only).
    pub fn confirmation_text(&self) -> Option<String> {
        match self {
            Work::Act(action) => action.confirmation_text(),
            Work::Replicate(Operation::Delete(d)) => Some(d.id.clone()),
            Work::Replicate(_) => None,
            // Anything beyond tags shifts traffic or deletes a side: the stack's name is typed.
            Work::Deploy { stack, .. } if self.risk() > Risk::Safe => Some(stack.clone()),
            Work::Deploy { .. } => None,
        }
    }

    /// Ids of the resources it works on (marked on the map while it runs).
    pub fn resource_ids(&self) -> Vec<String> {
        match self {
            Work::Act(action) => {
                let mut ids = vec![action.target.id.clone()];
                ids.extend(action.target.name.clone());
                ids
            }
            Work::Replicate(Operation::Copy(c)) => vec![c.source_id.clone()],
            Work::Replicate(Operation::Replica(r)) => {
                let source = r.source_arn.rsplit(':').next().unwrap_or(&r.source_arn);
                vec![source.to_string(), r.identifier.clone()]
            }
            Work::Replicate(Operation::Delete(d)) => vec![d.id.clone()],
            Work::Deploy { calls, .. } => {
                let mut ids: Vec<String> = Vec::new();
                for call in calls {
                    let id = match call {
                        DeployCall::Act(action) => action.target.id.clone(),
                        DeployCall::Tag { group, .. }
                        | DeployCall::PointGroupAt { group, .. }
                        | DeployCall::DeleteGroup { group } => group.clone(),
                        DeployCall::CreateGroup { name, .. }
                        | DeployCall::CreateTargetGroup { name, .. }
                        | DeployCall::DeleteTargetGroup { name, .. } => name.clone(),
                    };
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids
            }
        }
    }
}

/// Why a job failed: the AWS error code when there is one, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// AWS error code, e.g. `ValidationError`.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) if !self.message.contains(code.as_str()) => {
                write!(f, "{code}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Still running.
    Running,
    /// Finished; what was done.
    Done(String),
    /// Failed.
    Failed(JobError),
}

/// One job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub work: Work,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub finished: Option<DateTime<Utc>>,
    /// The last progress event.
    pub progress: Option<Progress>,
    /// Progress events seen.
    pub events: usize,
    /// The mutating calls AWS accepted, in order, with their request ids.
    pub accepted: Vec<AcceptedCall>,
    /// Where it is.
    pub state: JobState,
}

impl Job {
    /// It is still running.
    pub fn running(&self) -> bool {
        self.state == JobState::Running
    }
}

/// Reports progress while a job runs.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Runs work against AWS (the binary) or a script (tests). The result is what was done, in a
/// sentence, or the error.
pub trait Executor: Send + Sync + 'static {
    /// Runs one piece of work, reporting progress.
    fn run(&self, work: Work, progress: ProgressFn)
    -> BoxFuture<'static, Result<String, JobError>>;
}
