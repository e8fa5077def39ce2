//! Carries out a [`Plan`]: `haven up` (creates and updates from a blueprint, then the deletes of
//! what the blueprint dropped) and `haven down` (a teardown plan).
//!
//! # Safe to interrupt
//! Every resource that can carry tags gets `haven:stack` and `haven:logical` in the call that
//! creates it (EC2 `TagSpecifications`, ELB, Auto Scaling, RDS and IAM `Tags`), so a resource
//! either does not exist or is found again by the next discovery, even after `kill -9`
//! between two calls. Named resources (target group, load balancer, DB identifiers, IAM names)
//! are unique by name, and an "already exists" answer counts as done. NAT gateways, the VPC
//! endpoint and launch templates are created with a client token derived from the stack and its
//! VPC, so a repeated request of the same build returns the first one, and the next build (a new
//! VPC after `haven down`) sends new tokens. Links (attachments, associations, rules, routes) are
//! compared with what exists and the missing ones made, on the next run as on this one.
//!
//! # Order and waits
//! A create or update starts as soon as the steps it depends on are done, several at once, so
//! independent waits overlap: both NAT gateways are pending together, and the database (the
//! longest wait) is created as soon as its subnet group and security group exist. `up` of the
//! lab then takes about as long as its slowest chain (the database, then its replica), not the
//! sum of its waits. Deletes run afterwards, one at a time, in the plan's order.
//!
//! # AWS's eventual consistency
//! An id this run just made can be unknown to the next call for a few seconds
//! ([EC2 eventual consistency](https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html)):
//! calls that use one retry `*.NotFound` for about a minute. A new instance profile can be
//! refused by Auto Scaling for up to about two minutes
//! ([IAM eventual consistency](https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency)).
//!
//! # Deleting
//! Deletes tolerate "not found" (someone or an earlier run got there first) and wait out
//! `DependencyViolation` while AWS releases network interfaces, with the same bounded backoff as
//! actions.

mod compute;
mod database;
mod front_door;
mod iam;
mod network;

pub use iam::read_iam_tags;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use haven_model::Service;
use haven_model::blueprint::Blueprint;
use haven_model::plan::{Op, Plan, ResourceKind, ResourceRef, Step, haven_tags, typical_duration};
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

/// Steps carried out at the same time at most: enough for every independent wait of a stack,
/// few enough to stay far from the APIs' request rates.
const PARALLEL_STEPS: usize = 6;

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
        made: Mutex::new(BTreeSet::new()),
        calls: AtomicUsize::new(0),
        changed: AtomicUsize::new(0),
    };
    let fail = |index: usize, error: AwsError| ApplyError {
        step: plan.steps[index].resource.clone(),
        index,
        error,
        applied: runner.applied(),
    };
    if options.read_only && plan.has_changes() {
        let step = plan.steps.iter().position(|s| s.op != Op::Unchanged);
        if let Some(index) = step {
            let step = &plan.steps[index];
            return Err(fail(
                index,
                AwsError::ReadOnly {
                    action: format!("{} {}", step.op, step.resource),
                },
            ));
        }
    }
    let carry_out = |index: usize| {
        let runner = &runner;
        async move {
            let step = &plan.steps[index];
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
            let id = runner.step(&context).await?;
            runner.changed.fetch_add(1, Ordering::Relaxed);
            if step.op != Op::Delete {
                if let Some(id) = &id {
                    runner.remember(&step.resource, id);
                }
                if let Ok(mut made) = runner.made.lock() {
                    made.insert(step.resource.clone());
                }
            }
            report(StepStatus::Done(id));
            Ok::<(), AwsError>(())
        }
    };

    // Creates and updates, each once what it depends on is done.
    let mut waiting: Vec<usize> = (0..total)
        .filter(|&i| desired.is_some() && !matches!(plan.steps[i].op, Op::Unchanged | Op::Delete))
        .collect();
    let mut unfinished: BTreeSet<&ResourceRef> =
        waiting.iter().map(|&i| &plan.steps[i].resource).collect();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < PARALLEL_STEPS {
            let ready = waiting.iter().position(|&i| {
                plan.steps[i]
                    .depends_on
                    .iter()
                    .all(|d| !unfinished.contains(d))
            });
            let Some(at) = ready else { break };
            let index = waiting.remove(at);
            running.push(async move { (index, carry_out(index).await) });
        }
        match running.next().await {
            // Dropping the other steps leaves what AWS accepted to AWS: the next run finds it.
            Some((index, Err(error))) => return Err(fail(index, error)),
            Some((index, Ok(()))) => {
                unfinished.remove(&plan.steps[index].resource);
            }
            None => break,
        }
    }
    if let Some(&index) = waiting.first() {
        let error = AwsError::Other {
            service: service_of(plan.steps[index].resource.kind),
            operation: String::new(),
            detail: "the plan's dependencies form a cycle".to_string(),
        };
        return Err(fail(index, error));
    }

    // Deletes, one at a time in the plan's order (the teardown order).
    for index in (0..total).filter(|&i| plan.steps[i].op == Op::Delete) {
        carry_out(index).await.map_err(|error| fail(index, error))?;
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
    /// Resources this run created or changed, whose news may not have reached every AWS
    /// endpoint yet.
    made: Mutex<BTreeSet<ResourceRef>>,
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

    /// Whether this run created or changed the resource.
    fn made(&self, resource: &ResourceRef) -> bool {
        self.made.lock().is_ok_and(|made| made.contains(resource))
    }

    /// Whether the step uses an id this run just made (its own, or one it depends on): the
    /// calls it sends may meet AWS's eventual consistency.
    fn fresh(&self, step: &Step) -> bool {
        step.op == Op::Create || step.depends_on.iter().any(|d| self.made(d))
    }

    /// A client token for a create call: the same for the same build of the stack (its VPC),
    /// resource and attempt `salt`, so a repeated request (after an interruption) returns the
    /// first resource; another for the next build, because EC2 binds a token to the request's
    /// parameters and answers a reuse with other parameters (the new build's subnet, Elastic
    /// IP or security group) with `IdempotentParameterMismatch`
    /// ([Ensuring idempotency](https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html)).
    ///
    /// A build is the VPC *and* its internet gateway: the DR network's VPC outlives the app
    /// tier each failover builds into it (and `haven failback` removes), while every app tier
    /// gets a new internet gateway first, so the second failover into the same VPC sends new
    /// tokens too.
    fn token(&self, step: &Step, salt: &str) -> Result<String, AwsError> {
        let vpc = self.id(ResourceKind::Vpc, "vpc")?;
        let igw = self.id(ResourceKind::InternetGateway, "igw")?;
        Ok(client_token(&format!(
            "haven/{}/{vpc}/{igw}/{}/{salt}",
            self.stack, step.resource
        )))
    }

    /// Sends a mutating call and counts it.
    async fn send<T, E>(
        &self,
        service: Service,
        region: &str,
        operation: &str,
        call: impl Future<Output = Result<T, SdkError<E, aws_sdk_ec2::config::http::HttpResponse>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let result = call.await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        result.map_err(|e| {
            AwsError::from_sdk(service, operation, &self.ctx.endpoint_label(region), e)
        })
    }

    /// Sends a read call (not counted).
    async fn read<T, E>(
        &self,
        service: Service,
        region: &str,
        operation: &str,
        call: impl Future<Output = Result<T, SdkError<E, aws_sdk_ec2::config::http::HttpResponse>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        call.await.map_err(|e| {
            AwsError::from_sdk(service, operation, &self.ctx.endpoint_label(region), e)
        })
    }

    /// Polls `check` with backoff until it says done, reporting what it saw with the time
    /// waited so far and how long this kind of resource usually takes.
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
        self.wait_within(cx, service, what, self.options.max_wait, check)
            .await
    }

    /// [`Runner::wait_for`], giving up after `budget` (or `--wait-timeout`, if shorter).
    async fn wait_within<F, Fut>(
        &self,
        cx: &StepContext<'_>,
        service: Service,
        what: &str,
        budget: Duration,
        check: F,
    ) -> Result<(), AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<String>, AwsError>>,
    {
        let options = ExecuteOptions {
            max_wait: budget.min(self.options.max_wait),
            ..self.options.clone()
        };
        let typical = typical_duration(cx.step.resource.kind, cx.step.op);
        let report = |line: String| (cx.report)(StepStatus::Waiting(line));
        crate::poll::until_typical(&options, service, what, typical, &report, check).await
    }

    /// Before the first look at a resource the step has just asked AWS to make: it cannot be
    /// ready at once, and a describe right after a create can even answer "not found"
    /// (eventual consistency), so the first look comes after the first pause.
    async fn pause_before_looking(&self, cx: &StepContext<'_>, what: &str) {
        let state = format!("{what}: requested");
        (cx.report)(StepStatus::Waiting(waited(cx, &state, Instant::now())));
        tokio::time::sleep(self.options.first_poll).await;
    }

    /// Repeats `attempt` while `transient` holds for its error, with backoff, for at most
    /// `budget` (and never beyond `--wait-timeout`); then returns the last answer.
    async fn retry<F, Fut, T>(
        &self,
        cx: &StepContext<'_>,
        budget: Duration,
        first: Duration,
        transient: &(dyn Fn(&AwsError) -> bool + Send + Sync),
        mut attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let started = Instant::now();
        let budget = budget.min(self.options.max_wait);
        let mut delay = first;
        loop {
            match attempt().await {
                Err(error) if transient(&error) && started.elapsed() + delay <= budget => {
                    let state = format!("{error} (retrying)");
                    (cx.report)(StepStatus::Waiting(waited(cx, &state, started)));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.options.max_poll);
                }
                other => return other,
            }
        }
    }

    /// Repeats a delete while AWS answers with one of `busy` (a dependency still being
    /// released), with backoff, up to `max_wait`.
    async fn retry_busy<F, Fut, T>(
        &self,
        cx: &StepContext<'_>,
        busy: &[&str],
        attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let is_busy = |e: &AwsError| e.code().is_some_and(|c| busy.contains(&c));
        let (budget, first) = (self.options.max_wait, self.options.first_poll);
        self.retry(cx, budget, first, &is_busy, attempt).await
    }

    /// Sends a call that uses ids this run may have just made (`fresh`): while AWS answers
    /// `*.NotFound` for one of them, asks again from 1 s on, for about a minute in all. A call
    /// with only old ids is sent once.
    async fn eventually<F, Fut, T>(
        &self,
        cx: &StepContext<'_>,
        fresh: bool,
        attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let budget = if fresh {
            NOT_FOUND_BUDGET
        } else {
            Duration::ZERO
        };
        let first = self.options.first_poll.min(Duration::from_secs(1));
        self.retry(cx, budget, first, &not_yet_visible, attempt)
            .await
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
            HostedZone | DnsHealthCheck | DnsRecord | Certificate | ValidationRecord => {
                self.front_door(cx).await
            }
        }
    }
}

/// How long a new id may stay unknown to other calls: AWS gives no bound, and tools that meet
/// it (Terraform's AWS provider among them) retry for about a minute or two.
const NOT_FOUND_BUDGET: Duration = Duration::from_secs(60);

/// The answer for an id the service does not know (yet): EC2's `InvalidVpcID.NotFound`,
/// `InvalidGroup.NotFound`, `InvalidAllocationID.NotFound`, `InvalidRouteTableID.NotFound`, …
/// and Elastic Load Balancing's `SubnetNotFound` and `InvalidSecurityGroup` for EC2 ids
/// ([CreateLoadBalancer errors](https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html#API_CreateLoadBalancer_Errors)).
fn not_yet_visible(error: &AwsError) -> bool {
    error.code().is_some_and(|code| {
        code.ends_with(".NotFound") || matches!(code, "SubnetNotFound" | "InvalidSecurityGroup")
    })
}

/// The state of a wait as a person reads it: the resource, what AWS says, the time waited so
/// far and how long this usually takes.
fn waited(cx: &StepContext<'_>, state: &str, started: Instant) -> String {
    let typical = typical_duration(cx.step.resource.kind, cx.step.op);
    haven_model::wait::status_line(state, started.elapsed(), typical)
}

/// FNV-1a of `text` as a client token: stable across runs and builds of haven (std's hasher
/// is not), at most 64 ASCII characters as EC2 requires.
fn client_token(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("haven-{hash:016x}")
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
        HostedZone | DnsHealthCheck | DnsRecord | ValidationRecord => Service::Route53,
        Certificate => Service::Acm,
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

#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    /// A runner with no AWS behind it, for the pure parts of a run.
    pub(super) fn runner<'a>(
        ctx: &'a AwsContext,
        topology: &'a Topology,
        options: &'a ExecuteOptions,
        vpc: Option<&str>,
    ) -> Runner<'a> {
        let ids = vpc
            .map(|id| {
                [
                    (ResourceRef::new(ResourceKind::Vpc, "vpc"), id.to_string()),
                    (
                        ResourceRef::new(ResourceKind::InternetGateway, "igw"),
                        format!("igw-of-{id}"),
                    ),
                ]
            })
            .into_iter()
            .flatten()
            .collect();
        Runner {
            ctx,
            desired: None,
            topology,
            stack: "lab",
            options,
            ids: Mutex::new(ids),
            made: Mutex::new(BTreeSet::new()),
            calls: AtomicUsize::new(0),
            changed: AtomicUsize::new(0),
        }
    }

    pub(super) fn step(kind: ResourceKind, logical: &str, op: Op) -> Step {
        Step {
            op,
            resource: ResourceRef::new(kind, logical),
            name: format!("lab-{logical}"),
            id: None,
            region: Some("ap-northeast-2".into()),
            depends_on: vec![],
            detail: String::new(),
            retain: None,
        }
    }

    pub(super) fn quick() -> ExecuteOptions {
        ExecuteOptions {
            read_only: false,
            max_wait: Duration::from_secs(1),
            first_poll: Duration::from_millis(5),
            max_poll: Duration::from_millis(20),
            unchanged_grace: Duration::from_millis(20),
        }
    }

    pub(super) fn context() -> AwsContext {
        AwsContext::from_sdk_config(aws_config::SdkConfig::builder().build())
    }

    #[test]
    fn b1_client_tokens_are_stable_within_a_build_and_new_for_the_next() {
        let (ctx, topology, options) = (context(), Topology::new(chrono::Utc::now()), quick());
        let nat = step(ResourceKind::NatGateway, "nat-ap-northeast-2a", Op::Create);
        let build = runner(&ctx, &topology, &options, Some("vpc-1111"));
        let first = build.token(&nat, "first").expect("token");
        assert_eq!(first, build.token(&nat, "first").expect("token"), "a retry");
        assert!(first.len() <= 64 && first.is_ascii(), "{first}");
        // The replacement of a failed gateway, in the same build, is another request.
        assert_ne!(first, build.token(&nat, "nat-0failed").expect("token"));
        // `up` after `down`: a new VPC, new tokens.
        let next = runner(&ctx, &topology, &options, Some("vpc-2222"));
        assert_ne!(first, next.token(&nat, "first").expect("token"));
        // A second app tier in the same VPC (the second failover into the DR network): a new
        // internet gateway, new tokens.
        let again = runner(&ctx, &topology, &options, Some("vpc-1111"));
        again.remember(
            &ResourceRef::new(ResourceKind::InternetGateway, "igw"),
            "igw-second",
        );
        assert_ne!(first, again.token(&nat, "first").expect("token"));
        // No VPC yet: no token to guess.
        let none = runner(&ctx, &topology, &options, None);
        assert!(none.token(&nat, "first").is_err());
    }

    fn not_found() -> AwsError {
        AwsError::Service {
            service: Service::Ec2,
            operation: "CreateRoute".into(),
            code: "InvalidNatGatewayID.NotFound".into(),
            message: "The natGateway ID 'nat-1' does not exist".into(),
            request_id: None,
        }
    }

    #[tokio::test]
    async fn b3_an_id_just_made_that_ec2_does_not_know_yet_is_asked_for_again() {
        let (ctx, topology, options) = (context(), Topology::new(chrono::Utc::now()), quick());
        let build = runner(&ctx, &topology, &options, Some("vpc-1"));
        let route = step(ResourceKind::RouteTable, "private-rt-a", Op::Create);
        let reports = Mutex::new(Vec::new());
        let report = |s: StepStatus| reports.lock().expect("lock").push(s);
        let cx = StepContext {
            step: &route,
            region: "ap-northeast-2".into(),
            report: &report,
        };
        // Unknown twice, then known: the call goes through.
        let attempts = AtomicU32::new(0);
        let answer = build
            .eventually(&cx, true, || async {
                match attempts.fetch_add(1, Ordering::Relaxed) {
                    0 | 1 => Err(not_found()),
                    _ => Ok("rtb-1"),
                }
            })
            .await;
        assert_eq!(answer, Ok("rtb-1"));
        assert_eq!(attempts.load(Ordering::Relaxed), 3);
        let seen = reports.lock().expect("lock").clone();
        assert!(
            matches!(&seen[0], StepStatus::Waiting(s)
                if s.contains("InvalidNatGatewayID.NotFound") && s.contains("elapsed")),
            "{seen:?}"
        );

        // An id from an earlier run that AWS does not know is an error at once.
        attempts.store(0, Ordering::Relaxed);
        let answer: Result<(), _> = build
            .eventually(&cx, false, || async {
                attempts.fetch_add(1, Ordering::Relaxed);
                Err(not_found())
            })
            .await;
        assert_eq!(answer, Err(not_found()));
        assert_eq!(attempts.load(Ordering::Relaxed), 1);

        // Other errors are not retried, and the retries stop within the budget.
        attempts.store(0, Ordering::Relaxed);
        let started = Instant::now();
        let answer: Result<(), _> = build
            .eventually(&cx, true, || async {
                attempts.fetch_add(1, Ordering::Relaxed);
                Err(not_found())
            })
            .await;
        assert!(answer.is_err());
        assert!(attempts.load(Ordering::Relaxed) > 2);
        assert!(started.elapsed() <= options.max_wait + Duration::from_secs(1));
    }
}
