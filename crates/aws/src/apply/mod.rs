//! Carries out a [`Plan`]: `haven up` (creates and updates from a blueprint, then the deletes of
//! what the blueprint dropped) and `haven down` (a teardown plan).
//!
//! # Safe to interrupt
//! Every resource that can carry tags gets `haven:stack` and `haven:logical` in the call that
//! creates it (EC2 `TagSpecifications`, ELB, Auto Scaling, RDS and IAM `Tags`), so a resource
//! either does not exist or is found again by the next discovery, even after `kill -9`
//! between two calls. Named resources (target group, load balancer, DB identifiers, IAM names)
//! are unique by name, and an "already exists" answer counts as done. NAT gateways, the VPC
//! endpoint and launch templates are created with a client token derived from the stack, so a
//! repeated request returns the first one. Links (attachments, associations, rules, routes) are
//! compared with what exists and the missing ones made, on the next run as on this one.
//!
//! # Deleting
//! Deletes tolerate "not found" (someone or an earlier run got there first) and wait out
//! `DependencyViolation` while AWS releases network interfaces, with the same bounded backoff as
//! actions.

mod compute;
mod database;
mod iam;
mod network;

pub use iam::read_iam_tags;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use haven_model::Service;
use haven_model::blueprint::Blueprint;
use haven_model::plan::{Op, Plan, ResourceKind, ResourceRef, Step, haven_tags};
use haven_model::topology::{RegionTopology, Tags, Topology};

use crate::context::AwsContext;
use crate::error::AwsError;
use crate::execute::ExecuteOptions;

/// What the blueprint asks for, with the files it names already read.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    /// The validated blueprint.
    pub blueprint: &'a Blueprint,
    /// The user-data script (plain text; sent base64-encoded), if the blueprint names one.
    pub user_data: Option<&'a str>,
}

/// Where a step is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// About to be carried out.
    Started,
    /// Waiting for AWS (what and the last state seen).
    Waiting(String),
    /// Done; the resource's id, ARN or name when it has one.
    Done(Option<String>),
}

/// A progress event: step `index` (from 0) of `total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEvent<'a> {
    /// Position in the plan.
    pub index: usize,
    /// Steps in the plan.
    pub total: usize,
    /// The step.
    pub step: &'a Step,
    /// Where it is.
    pub status: StepStatus,
}

/// The callback that receives progress events.
pub type StepSink<'a> = &'a (dyn Fn(StepEvent<'_>) + Send + Sync);

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Steps carried out (creates, updates and deletes; unchanged steps are not counted).
    pub changed: usize,
    /// Mutating calls AWS accepted.
    pub mutating_calls: usize,
    /// The id, ARN or name of every resource of the plan that has one, by resource.
    pub ids: BTreeMap<ResourceRef, String>,
}

/// A run that stopped at a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {error}")]
pub struct ApplyError {
    /// The resource of the step that failed.
    pub step: ResourceRef,
    /// Position of that step in the plan.
    pub index: usize,
    /// What AWS (or the wait) said.
    pub error: AwsError,
    /// What was done before it: running again picks up from there.
    pub applied: Applied,
}

/// Carries out `plan` (made by [`haven_model::plan::plan`] from `desired` and `topology`) in
/// order, stopping at the first step that fails. Unchanged steps send nothing.
///
/// Refuses with [`AwsError::ReadOnly`] before any call when `options.read_only` is set and the
/// plan changes something.
pub async fn apply(
    ctx: &AwsContext,
    desired: Desired<'_>,
    topology: &Topology,
    plan: &Plan,
    options: &ExecuteOptions,
    progress: StepSink<'_>,
) -> Result<Applied, ApplyError> {
    run(ctx, Some(desired), topology, plan, options, progress).await
}

/// Carries out a teardown plan ([`haven_model::plan::teardown`]): only its delete steps.
pub async fn destroy(
    ctx: &AwsContext,
    topology: &Topology,
    plan: &Plan,
    options: &ExecuteOptions,
    progress: StepSink<'_>,
) -> Result<Applied, ApplyError> {
    run(ctx, None, topology, plan, options, progress).await
}

async fn run(
    ctx: &AwsContext,
    desired: Option<Desired<'_>>,
    topology: &Topology,
    plan: &Plan,
    options: &ExecuteOptions,
    progress: StepSink<'_>,
) -> Result<Applied, ApplyError> {
    let total = plan.steps.len();
    let ids: BTreeMap<ResourceRef, String> = plan
        .steps
        .iter()
        .filter(|s| s.op != Op::Delete)
        .filter_map(|s| Some((s.resource.clone(), s.id.clone()?)))
        .collect();
    let runner = Runner {
        ctx,
        desired,
        topology,
        stack: &plan.stack,
        options,
        ids: Mutex::new(ids),
        calls: AtomicUsize::new(0),
        changed: AtomicUsize::new(0),
    };
    let fail = |index: usize, step: &Step, error: AwsError| ApplyError {
        step: step.resource.clone(),
        index,
        error,
        applied: runner.applied(),
    };
    if options.read_only && plan.has_changes() {
        let step = plan.steps.iter().find(|s| s.op != Op::Unchanged);
        if let Some(step) = step {
            let index = plan.steps.iter().position(|s| s == step).unwrap_or(0);
            return Err(fail(
                index,
                step,
                AwsError::ReadOnly {
                    action: format!("{} {}", step.op, step.resource),
                },
            ));
        }
    }
    for (index, step) in plan.steps.iter().enumerate() {
        if step.op == Op::Unchanged || (desired.is_none() && step.op != Op::Delete) {
            continue;
        }
        let report = |status| {
            progress(StepEvent {
                index,
                total,
                step,
                status,
            })
        };
        report(StepStatus::Started);
        let context = StepContext {
            step,
            region: step.region.clone().unwrap_or_default(),
            report: &report,
        };
        let id = runner
            .step(&context)
            .await
            .map_err(|error| fail(index, step, error))?;
        runner.changed.fetch_add(1, Ordering::Relaxed);
        if let Some(id) = &id
            && step.op != Op::Delete
        {
            runner.remember(&step.resource, id);
        }
        report(StepStatus::Done(id));
    }
    Ok(runner.applied())
}

/// The step being carried out and where to report on it.
struct StepContext<'a> {
    step: &'a Step,
    region: String,
    report: &'a (dyn Fn(StepStatus) + Send + Sync),
}

/// One run of a plan: the ids known so far and the calls made.
struct Runner<'a> {
    ctx: &'a AwsContext,
    desired: Option<Desired<'a>>,
    topology: &'a Topology,
    stack: &'a str,
    options: &'a ExecuteOptions,
    ids: Mutex<BTreeMap<ResourceRef, String>>,
    calls: AtomicUsize,
    changed: AtomicUsize,
}

impl Runner<'_> {
    fn applied(&self) -> Applied {
        Applied {
            changed: self.changed.load(Ordering::Relaxed),
            mutating_calls: self.calls.load(Ordering::Relaxed),
            ids: self.ids.lock().map(|ids| ids.clone()).unwrap_or_default(),
        }
    }

    fn remember(&self, resource: &ResourceRef, id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.insert(resource.clone(), id.to_string());
        }
    }

    /// The id of a resource made earlier in this run or found by discovery.
    fn id(&self, kind: ResourceKind, logical: &str) -> Result<String, AwsError> {
        let key = ResourceRef::new(kind, logical);
        self.ids
            .lock()
            .ok()
            .and_then(|ids| ids.get(&key).cloned())
            .ok_or_else(|| AwsError::Other {
                service: service_of(kind),
                operation: String::new(),
                detail: format!("{key} is needed but does not exist (its step did not run)"),
            })
    }

    fn desired(&self) -> Result<Desired<'_>, AwsError> {
        self.desired.ok_or_else(|| AwsError::Other {
            service: Service::Ec2,
            operation: String::new(),
            detail: "a create or update step needs the blueprint".to_string(),
        })
    }

    fn blueprint(&self) -> Result<&Blueprint, AwsError> {
        self.desired().map(|d| d.blueprint)
    }

    fn region(&self, name: &str) -> Option<&RegionTopology> {
        self.topology.region(name)
    }

    /// The tags a resource gets: `haven:stack`, `haven:logical` and `Name`.
    fn tags(&self, step: &Step) -> Tags {
        haven_tags(self.stack, &step.resource.logical, &step.name)
    }

    /// A client token for a create call: the same for the same stack, resource and attempt, so
    /// a repeated request (after an interruption) returns the first resource.
    fn token(&self, step: &Step, salt: &str) -> String {
        let text = format!("haven/{}/{}/{salt}", self.stack, step.resource);
        // FNV-1a: stable across runs and builds (std's hasher is not).
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("haven-{hash:016x}")
    }

    /// Sends a mutating call and counts it.
    async fn send<T, E, R>(
        &self,
        service: Service,
        region: &str,
        operation: &str,
        call: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        let result = call.await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        result.map_err(|e| {
            AwsError::from_sdk(service, operation, &self.ctx.endpoint_label(region), e)
        })
    }

    /// Sends a read call (not counted).
    async fn read<T, E, R>(
        &self,
        service: Service,
        region: &str,
        operation: &str,
        call: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        call.await.map_err(|e| {
            AwsError::from_sdk(service, operation, &self.ctx.endpoint_label(region), e)
        })
    }

    /// Polls `check` with backoff until it says done, reporting what it saw.
    async fn wait_for<F, Fut>(
        &self,
        cx: &StepContext<'_>,
        service: Service,
        what: &str,
        check: F,
    ) -> Result<(), AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<String>, AwsError>>,
    {
        let report = |state: String| (cx.report)(StepStatus::Waiting(state));
        crate::poll::until(self.options, service, what, &report, check).await
    }

    /// Repeats a delete while AWS answers with one of `busy` (a dependency still being
    /// released), with backoff, up to `max_wait`.
    async fn retry_busy<F, Fut, T>(
        &self,
        cx: &StepContext<'_>,
        busy: &[&str],
        mut attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let started = Instant::now();
        let mut delay = self.options.first_poll;
        loop {
            match attempt().await {
                Err(error)
                    if error.code().is_some_and(|c| busy.contains(&c))
                        && started.elapsed() + delay <= self.options.max_wait =>
                {
                    (cx.report)(StepStatus::Waiting(error.to_string()));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.options.max_poll);
                }
                other => return other,
            }
        }
    }

    async fn step(&self, cx: &StepContext<'_>) -> Result<Option<String>, AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        match step.resource.kind {
            Vpc
            | Subnet
            | InternetGateway
            | IgwAttachment
            | RouteTable
            | RouteTableAssociation
            | ElasticIp
            | NatGateway
            | VpcEndpoint
            | SecurityGroup
            | SecurityGroupReferences => self.network(cx).await,
            LaunchTemplate | TargetGroup | TargetRegistration | LoadBalancer | Listener
            | AutoScalingGroup | ScalingPolicy | Instance => self.compute(cx).await,
            DbSubnetGroup | DbInstance | DbReadReplica => self.database(cx).await,
            IamRole | InstanceProfile | IamGroup | IamUser | PasswordPolicy => self.iam(cx).await,
        }
    }
}

fn service_of(kind: ResourceKind) -> Service {
    use ResourceKind::*;
    match kind {
        LaunchTemplate
        | Instance
        | Vpc
        | Subnet
        | InternetGateway
        | IgwAttachment
        | RouteTable
        | RouteTableAssociation
        | ElasticIp
        | NatGateway
        | VpcEndpoint
        | SecurityGroup
        | SecurityGroupReferences => Service::Ec2,
        TargetGroup | TargetRegistration | LoadBalancer | Listener => Service::Elbv2,
        AutoScalingGroup | ScalingPolicy => Service::AutoScaling,
        DbSubnetGroup | DbInstance | DbReadReplica => Service::Rds,
        IamRole | InstanceProfile | IamGroup | IamUser | PasswordPolicy => Service::Iam,
    }
}

/// An error AWS gives when the thing is already gone (for deletes) or already there.
fn has_code(result: &Result<impl Sized, AwsError>, codes: &[&str]) -> bool {
    matches!(result, Err(e) if e.code().is_some_and(|c| codes.contains(&c)))
}

/// "Not found" in any of the services' spellings: the resource is already gone.
fn is_gone(error: &AwsError) -> bool {
    error.code().is_some_and(|code| {
        code.contains("NotFound")
            || code == "NoSuchEntity"
            || code == "Gateway.NotAttached"
            || code == "InvalidAssociationID.NotFound"
    }) || matches!(error, AwsError::Service { code, message, .. }
        if code == "ValidationError" && message.to_ascii_lowercase().contains("not found"))
}

/// Turns "already gone" into success for a delete.
fn tolerate_gone<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if is_gone(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

fn unsupported(step: &Step) -> AwsError {
    AwsError::Other {
        service: service_of(step.resource.kind),
        operation: String::new(),
        detail: format!("haven cannot {} a {}", step.op, step.resource.kind),
    }
}

fn missing(service: Service, operation: &str, what: &str) -> AwsError {
    AwsError::Other {
        service,
        operation: operation.to_string(),
        detail: format!("the response has no {what}"),
    }
}
