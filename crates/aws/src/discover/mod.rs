//! Discovery: every Region and every service, several at a time, every list paginated, mapped into
//! [`haven_model::Topology`]. A Region or service that fails is recorded in the topology's errors;
//! the rest still comes back.
//!
//! Each (Region, part) result is a [`Piece`] handed to a sink as soon as its calls have answered
//! ([`discover_plan`], what the dashboard draws from); [`discover`] gathers the pieces of a full
//! read into one document.

mod acm;
mod autoscaling;
mod backup;
mod classic;
mod cloudwatch;
mod convert;
mod ec2;
mod ec2_data;
mod elbv2;
mod iam;
mod launch_configurations;
mod rds;
mod route53;
mod waf;

use std::fmt::Debug;
use std::sync::Mutex;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use chrono::Utc;
use haven_model::refresh::{ReadPlan, RegionRead};
use haven_model::{DiscoveryError, Part, Piece, RegionTopology, Service, Topology, regions};

use crate::context::{AwsContext, CallerIdentity};
use crate::error::AwsError;

/// Detail calls (listeners, target health, IAM users…) in flight at once per list.
pub(crate) const CONCURRENCY: usize = 8;

/// Parts of a Region (its instances, its load balancers, its databases…) being read at once;
/// the others wait for a turn, in the plan's order. A part holds its operations, their
/// paginators and its answers while it runs: the dashboard's first read started all 50 parts
/// of three Regions at once and held them all, a third of its memory at the first list
/// (docs/benchmarks.md). Each Region has its own turns, so a Region whose endpoints hang (an
/// outage) delays none of the others. On AWS a part is one to three round trips: four at once
/// keep a Region's read within a second or two.
const PARTS_AT_ONCE: usize = 4;

/// What a discovery run covers.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Instances per `DescribeInstances` page (AWS: 5–1000; `None` lets the service choose),
    /// like the AWS CLI's `--page-size`.
    pub page_size: Option<i32>,
    /// Read account-wide IAM too.
    pub include_iam: bool,
    /// Read Route 53 (global: hosted zones, records, health checks) too.
    pub include_dns: bool,
    /// Read each Region's CloudWatch alarms too (what the views and `haven check` show; the
    /// commands that change the stack do without).
    pub include_alarms: bool,
    /// The caller, when already asked (saves the STS call).
    pub identity: Option<CallerIdentity>,
    /// Instances on the first `DescribeInstances` page of each Region, when the first rows
    /// should show sooner than a whole page would bring them (the dashboard); `None` asks
    /// `page_size` for every page.
    pub first_page: Option<i32>,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            page_size: None,
            include_iam: true,
            include_dns: true,
            include_alarms: true,
            identity: None,
            first_page: None,
        }
    }
}

/// The value, or its default with the error recorded: one failed call never hides the rest.
pub(crate) fn keep<T: Default>(result: Result<T, AwsError>, errors: &mut Vec<AwsError>) -> T {
    result.map_err(|e| errors.push(e)).unwrap_or_default()
}

/// Where calls are made, for building errors.
pub(crate) struct Scope<'a> {
    pub ctx: &'a AwsContext,
    pub region: &'a str,
    pub service: Service,
    pub page_size: Option<i32>,
    pub first_page: Option<i32>,
}

impl Scope<'_> {
    pub(crate) fn err<E>(
        &self,
        operation: &str,
        error: SdkError<E, aws_sdk_ec2::config::http::HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        AwsError::from_sdk(
            self.service,
            operation,
            &self.ctx.endpoint_label(self.region),
            error,
        )
    }
}

/// Where pieces go as they arrive (called from several branches of one task).
pub type PieceSink<'a> = &'a (dyn Fn(Piece) + Send + Sync);

/// How long the rest of a read waits for the first instance pages (see [`FirstRows`]).
const FIRST_ROWS_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Lets the first `DescribeInstances` page of every Region go before the rest of a read, when
/// the first rows matter (`first_page` set: the dashboard). A read sends about a hundred
/// calls; the endpoint answers the one a person waits for sooner when it is asked first. The
/// other calls start as soon as every Region's first page is in, or after
/// [`FIRST_ROWS_WAIT`], whichever comes first.
struct FirstRows {
    waiting: tokio::sync::watch::Sender<usize>,
}

impl FirstRows {
    fn new(plan: &ReadPlan, options: &DiscoverOptions) -> Self {
        let regions = match options.first_page {
            Some(_) => plan
                .regions
                .iter()
                .filter(|r| r.parts.contains(&Part::Instances))
                .count(),
            None => 0,
        };
        Self {
            waiting: tokio::sync::watch::Sender::new(regions),
        }
    }

    /// One Region's first page is in (or its read ended).
    fn arrived(&self) {
        self.waiting.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// Waits for every first page, at most [`FIRST_ROWS_WAIT`].
    async fn wait(&self) {
        let mut waiting = self.waiting.subscribe();
        let all_in = waiting.wait_for(|n| *n == 0);
        let _ = tokio::time::timeout(FIRST_ROWS_WAIT, all_in).await;
    }
}

/// The plan of a whole discovery with these options.
pub fn full_plan(regions: &[String], options: &DiscoverOptions) -> ReadPlan {
    let mut global = Vec::new();
    if options.include_iam {
        global.push(Part::Iam);
    }
    if options.include_dns {
        global.push(Part::Dns);
    }
    let mut plan = ReadPlan::full(regions, global);
    if !options.include_alarms {
        for read in &mut plan.regions {
            read.parts.remove(&Part::Alarms);
        }
    }
    plan
}

/// Discovers the stack in the given Regions (in that order) plus account-wide IAM and Route 53.
/// Never fails as a whole: what failed is listed in [`Topology::errors`].
pub async fn discover(ctx: &AwsContext, regions: &[String], options: &DiscoverOptions) -> Topology {
    let pieces = Mutex::new(Vec::new());
    let sink = |piece: Piece| {
        if let Ok(mut all) = pieces.lock() {
            all.push(piece);
        }
    };
    discover_plan(ctx, &full_plan(regions, options), options, &sink).await;
    let mut topology = Topology::new(Utc::now());
    for code in regions {
        topology.region_entry(code);
    }
    for piece in pieces.into_inner().unwrap_or_default() {
        if !piece.partial {
            topology.apply(piece);
        }
    }
    // Pieces arrive in whatever order AWS answered: the document lists errors in a stable one.
    let order = |region: &Option<String>| {
        region
            .as_ref()
            .and_then(|r| regions.iter().position(|x| x == r))
            .unwrap_or(usize::MAX)
    };
    topology
        .errors
        .sort_by_key(|e| (order(&e.region), e.part, e.operation.clone()));
    topology.taken_at = Utc::now();
    topology
}

/// Reads what `plan` asks, handing each piece to `sink` as soon as it is read: the caller
/// first ([`Part::Identity`], from `options.identity` when known), then every Region's parts
/// (four at a time in each; once a Region leaves a call unanswered, its parts not yet asked
/// are handed over with an error saying so) and the account-wide ones. Returns when every
/// piece has been handed over.
pub async fn discover_plan(
    ctx: &AwsContext,
    plan: &ReadPlan,
    options: &DiscoverOptions,
    sink: PieceSink<'_>,
) {
    let identity = match &options.identity {
        Some(known) => Ok(known.clone()),
        None => ctx.caller_identity().await,
    };
    let mut fragment = Topology::new(Utc::now());
    let mut errors = Vec::new();
    let account = match identity {
        Ok(identity) => {
            fragment.caller_arn = Some(identity.arn);
            fragment.account_id = Some(identity.account.clone());
            Some(identity.account)
        }
        Err(error) => {
            errors.push(error.to_discovery_error(None));
            None
        }
    };
    sink(Piece::global(Part::Identity, fragment, errors));
    let first_rows = FirstRows::new(plan, options);
    let first = &first_rows;
    let global = async {
        first.wait().await;
        futures::future::join_all(plan.global.iter().map(|&part| global_part(ctx, part, sink)))
            .await
    };
    let per_region = futures::future::join_all(
        plan.regions
            .iter()
            .map(|read| region(ctx, read, account.as_deref(), options, first, sink)),
    );
    tokio::join!(global, per_region);
}

async fn global_part(ctx: &AwsContext, part: Part, sink: PieceSink<'_>) {
    let mut fragment = Topology::new(Utc::now());
    let errors = match part {
        Part::Iam => {
            let home = ctx.default_region().unwrap_or_else(|| "us-east-1".into());
            let scope = Scope {
                ctx,
                region: &home,
                service: Service::Iam,
                page_size: None,
                first_page: None,
            };
            let (iam, errors) = iam::discover(&scope).await;
            fragment.iam = Some(iam);
            errors
        }
        Part::Dns => {
            let scope = Scope {
                ctx,
                region: "us-east-1",
                service: Service::Route53,
                page_size: None,
                first_page: None,
            };
            let (dns, errors) = route53::discover(&scope).await;
            fragment.dns = dns;
            errors
        }
        _ => Vec::new(),
    };
    let errors = errors.iter().map(|e| e.to_discovery_error(None)).collect();
    sink(Piece::global(part, fragment, errors));
}

async fn region(
    ctx: &AwsContext,
    read: &RegionRead,
    account: Option<&str>,
    options: &DiscoverOptions,
    first: &FirstRows,
    sink: PieceSink<'_>,
) {
    let code = read.region.as_str();
    // A misspelt Region is named, with the Region it most likely means, and nothing is asked
    // there; a code haven does not list but shaped like a Region's is asked (AWS launches
    // Regions after haven's build).
    if let regions::RegionCode::Invalid { closest } = regions::classify(code) {
        let hint = closest
            .map(|r| format!(" (did you mean {r}?)"))
            .unwrap_or_default();
        let mut error = Some(DiscoveryError {
            region: Some(code.to_string()),
            service: Service::Ec2,
            operation: String::new(),
            code: Some("UnknownRegion".into()),
            message: format!("{code} is not a known AWS Region{hint}; nothing was asked there"),
            part: None,
        });
        for &part in &read.parts {
            let empty = RegionTopology {
                region: code.to_string(),
                ..RegionTopology::default()
            };
            sink(Piece::regional(
                part,
                empty,
                error.take().into_iter().collect(),
            ));
            if part == Part::Instances {
                first.arrived();
            }
        }
        return;
    }
    let turns = &tokio::sync::Semaphore::new(PARTS_AT_ONCE);
    // The first call the Region left unanswered (timed out, unreachable): its parts still
    // waiting for a turn are not asked in this read. On AWS each would wait out its own
    // timeouts, four at a time, and the read would end (and the next one start, for the
    // Regions that answer) only minutes later: the worst day, a Region down, is when the
    // others must keep refreshing.
    let unanswered = &std::sync::OnceLock::new();
    futures::future::join_all(read.parts.iter().map(|&part| async move {
        if part != Part::Instances {
            first.wait().await;
        }
        let _turn = turns.acquire().await;
        if let Some(cause) = unanswered.get() {
            sink(not_asked(code, part, cause));
            if part == Part::Instances {
                first.arrived();
            }
            return;
        }
        if let Some(cause) = regional_part(ctx, read, part, account, options, first, sink).await {
            let _ = unanswered.set(cause);
        }
    }))
    .await;
}

/// The piece of a part not asked because its Region left a call unanswered: what was shown of
/// it stays, marked stale, until a read gets an answer.
fn not_asked(region: &str, part: Part, cause: &AwsError) -> Piece {
    let error = DiscoveryError {
        region: Some(region.to_string()),
        service: part.service(),
        operation: String::new(),
        code: None,
        message: format!(
            "not asked in this read: {region} left a call unanswered ({cause}); asked again at \
             the next read"
        ),
        part: Some(part),
    };
    let empty = RegionTopology {
        region: region.to_string(),
        ..RegionTopology::default()
    };
    Piece::regional(part, empty, vec![error])
}

/// Reads one part of one Region and hands its piece over (and, for instances, each page but
/// the last as it arrives); returns the first of its calls the Region left unanswered, if one
/// was.
async fn regional_part(
    ctx: &AwsContext,
    read: &RegionRead,
    part: Part,
    account: Option<&str>,
    options: &DiscoverOptions,
    first: &FirstRows,
    sink: PieceSink<'_>,
) -> Option<AwsError> {
    let code = read.region.as_str();
    let scope = Scope {
        ctx,
        region: code,
        service: part.service(),
        page_size: options.page_size,
        first_page: options.first_page,
    };
    let mut out = RegionTopology {
        region: code.to_string(),
        ..RegionTopology::default()
    };
    let mut errors: Vec<AwsError> = Vec::new();
    let e = &mut errors;
    match part {
        Part::Network => {
            let n = ec2::network(&scope).await;
            out.availability_zones = keep(n.availability_zones, e);
            out.vpcs = keep(n.vpcs, e);
            out.subnets = keep(n.subnets, e);
            out.route_tables = keep(n.route_tables, e);
            out.internet_gateways = keep(n.internet_gateways, e);
            out.nat_gateways = keep(n.nat_gateways, e);
            out.elastic_ips = keep(n.elastic_ips, e);
            out.network_acls = keep(n.network_acls, e);
            out.security_groups = keep(n.security_groups, e);
        }
        Part::Instances => {
            let page_seen = std::sync::atomic::AtomicBool::new(false);
            let first_in = || {
                if !page_seen.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    first.arrived();
                }
            };
            let page = |rows: Vec<haven_model::Instance>| {
                first_in();
                let fragment = RegionTopology {
                    region: code.to_string(),
                    instances: rows,
                    ..RegionTopology::default()
                };
                let mut piece = Piece::regional(Part::Instances, fragment, Vec::new());
                piece.partial = true;
                sink(piece);
            };
            out.instances = keep(ec2::instances(&scope, &page).await, e);
            first_in();
        }
        Part::Storage => {
            let s = ec2::storage(&scope, account).await;
            out.volumes = keep(s.volumes, e);
            out.images = keep(s.images, e);
            out.snapshots = keep(s.snapshots, e);
        }
        Part::LaunchTemplates => out.launch_templates = keep(ec2::templates(&scope).await, e),
        Part::AutoScaling => {
            let (groups, policy_error) = autoscaling::discover(&scope).await;
            e.extend(policy_error);
            let configurations = match &groups {
                Ok(g) => launch_configurations::discover(&scope, g).await,
                Err(_) => Ok(Vec::new()),
            };
            out.auto_scaling_groups = keep(groups, e);
            out.launch_configurations = keep(configurations, e);
        }
        Part::AsgCapacity => out.auto_scaling_groups = keep(autoscaling::capacity(&scope).await, e),
        Part::LoadBalancers => {
            let waf_scope = Scope {
                service: Service::Wafv2,
                ..scope
            };
            let mut elb = elbv2::discover(&scope).await;
            if let Ok(lbs) = &mut elb.load_balancers {
                e.extend(waf::attach(&waf_scope, lbs).await);
            }
            e.extend(elb.detail_errors);
            out.load_balancers = keep(elb.load_balancers, e);
            out.target_groups = keep(elb.target_groups, e);
        }
        Part::TargetHealth => {
            let (groups, failed) = elbv2::target_health(&scope, &read.target_groups).await;
            out.target_groups = groups;
            e.extend(failed);
        }
        Part::ClassicLoadBalancers => {
            let (classic, classic_errors) = classic::discover(&scope).await;
            e.extend(classic_errors);
            out.classic_load_balancers = keep(classic, e);
        }
        Part::Databases => out.db_instances = keep(rds::databases(&scope).await, e),
        Part::DbClusters => out.db_clusters = keep(rds::clusters(&scope).await, e),
        Part::DbSnapshots => {
            let (snapshots, list_errors, detail_errors) = rds::snapshots(&scope).await;
            out.db_snapshots = snapshots;
            e.extend(list_errors);
            e.extend(detail_errors);
        }
        Part::DbSubnetGroups => out.db_subnet_groups = keep(rds::subnet_groups(&scope).await, e),
        Part::Certificates => {
            let acm = acm::discover(&scope).await;
            e.extend(acm.detail_errors);
            out.certificates = keep(acm.certificates, e);
        }
        Part::Alarms => out.alarms = keep(cloudwatch::discover(&scope).await, e),
        Part::Backup => {
            out.backup_selections = backup::discover(&scope).await.map_err(|x| e.push(x)).ok();
        }
        Part::Settings => data(&mut out, ec2_data::discover(&scope, account).await, e),
        Part::Identity | Part::Iam | Part::Dns => {}
    }
    let unanswered = errors.iter().find(|x| x.is_unreachable()).cloned();
    let errors = errors
        .iter()
        .map(|x| x.to_discovery_error(Some(code)))
        .collect();
    sink(Piece::regional(part, out, errors));
    unanswered
}

/// Region settings, public snapshots, flow logs and VPC endpoints into the Region; what was not
/// read stays `None` (not judged).
fn data(out: &mut RegionTopology, parts: ec2_data::DataParts, errors: &mut Vec<AwsError>) {
    use ec2_data::setting;
    out.settings.ebs_encryption_by_default = setting(parts.ebs_encryption_by_default, errors);
    out.settings.snapshot_block_public_access = setting(parts.snapshot_block_public_access, errors);
    out.settings.image_block_public_access = setting(parts.image_block_public_access, errors);
    out.public_snapshot_ids = setting(parts.public_snapshots, errors)
        .flatten()
        .map(|ids| ids.into_iter().collect());
    out.flow_logs = setting(parts.flow_logs, errors);
    out.vpc_endpoints = keep(parts.vpc_endpoints, errors);
}
