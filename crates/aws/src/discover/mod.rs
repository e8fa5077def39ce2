//! Discovery: every Region and every service at once, every list paginated, mapped into
//! [`haven_model::Topology`]. A Region or service that fails is recorded in the topology's errors;
//! the rest still comes back.

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

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use chrono::Utc;
use haven_model::{DiscoveryError, RegionTopology, Service, Topology, regions};

use crate::context::{AwsContext, CallerIdentity};
use crate::error::AwsError;

/// Detail calls (listeners, target health, IAM users…) in flight at once per list.
pub(crate) const CONCURRENCY: usize = 8;

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
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            page_size: None,
            include_iam: true,
            include_dns: true,
            include_alarms: true,
            identity: None,
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

/// Discovers the stack in the given Regions (in that order) plus account-wide IAM and Route 53.
/// Never fails as a whole: what failed is listed in [`Topology::errors`].
pub async fn discover(ctx: &AwsContext, regions: &[String], options: &DiscoverOptions) -> Topology {
    let identity = match &options.identity {
        Some(known) => Ok(known.clone()),
        None => ctx.caller_identity().await,
    };
    let mut topology = Topology::new(Utc::now());
    let account = match identity {
        Ok(identity) => {
            topology.caller_arn = Some(identity.arn);
            Some(identity.account)
        }
        Err(error) => {
            topology.errors.push(error.to_discovery_error(None));
            None
        }
    };
    let iam = async {
        if !options.include_iam {
            return None;
        }
        let home = ctx.default_region().unwrap_or_else(|| "us-east-1".into());
        let scope = Scope {
            ctx,
            region: &home,
            service: Service::Iam,
            page_size: None,
        };
        Some(iam::discover(&scope).await)
    };
    let dns = async {
        if !options.include_dns {
            return None;
        }
        let scope = Scope {
            ctx,
            region: "us-east-1",
            service: Service::Route53,
            page_size: None,
        };
        Some(route53::discover(&scope).await)
    };
    let per_region = futures::future::join_all(
        regions
            .iter()
            .map(|r| region(ctx, r, account.as_deref(), options)),
    );
    let (iam, dns, per_region) = tokio::join!(iam, dns, per_region);
    for (region, errors) in per_region {
        topology.regions.push(region);
        topology.errors.extend(errors);
    }
    if let Some((iam, errors)) = iam {
        topology.iam = Some(iam);
        topology
            .errors
            .extend(errors.iter().map(|e| e.to_discovery_error(None)));
    }
    if let Some((dns, errors)) = dns {
        topology.dns = dns;
        topology
            .errors
            .extend(errors.iter().map(|e| e.to_discovery_error(None)));
    }
    topology.account_id = account;
    topology.taken_at = Utc::now();
    topology
}

async fn region(
    ctx: &AwsContext,
    code: &str,
    account: Option<&str>,
    options: &DiscoverOptions,
) -> (RegionTopology, Vec<DiscoveryError>) {
    let mut out = RegionTopology {
        region: code.to_string(),
        ..RegionTopology::default()
    };
    // A misspelt Region is named, with the Region it most likely means, and nothing is asked
    // there; a code haven does not list but shaped like a Region's is asked (AWS launches
    // Regions after haven's build).
    if let regions::RegionCode::Invalid { closest } = regions::classify(code) {
        let hint = closest
            .map(|r| format!(" (did you mean {r}?)"))
            .unwrap_or_default();
        let error = DiscoveryError {
            region: Some(code.to_string()),
            service: Service::Ec2,
            operation: String::new(),
            code: Some("UnknownRegion".into()),
            message: format!("{code} is not a known AWS Region{hint}; nothing was asked there"),
            part: None,
        };
        return (out, vec![error]);
    }
    let scope = |service| Scope {
        ctx,
        region: code,
        service,
        page_size: options.page_size,
    };
    let (ec2_scope, asg_scope, elb_scope, rds_scope, acm_scope) = (
        scope(Service::Ec2),
        scope(Service::AutoScaling),
        scope(Service::Elbv2),
        scope(Service::Rds),
        scope(Service::Acm),
    );
    let cloudwatch_scope = scope(Service::CloudWatch);
    let waf_scope = scope(Service::Wafv2);
    let backup_scope = scope(Service::Backup);
    let alarms = async {
        if options.include_alarms {
            cloudwatch::discover(&cloudwatch_scope).await
        } else {
            Ok(Vec::new())
        }
    };
    // What needs the first answers (ALB ARNs, the groups' launch configuration names) follows
    // them inside its own branch, the other branches still running.
    let elb_and_waf = async {
        let mut elb = elbv2::discover(&elb_scope).await;
        let waf_errors = match &mut elb.load_balancers {
            Ok(lbs) => waf::attach(&waf_scope, lbs).await,
            Err(_) => Vec::new(),
        };
        (elb, waf_errors)
    };
    let groups_and_configurations = async {
        let (groups, policy_error) = autoscaling::discover(&asg_scope).await;
        let configurations = match &groups {
            Ok(g) => launch_configurations::discover(&asg_scope, g).await,
            Err(_) => Ok(Vec::new()),
        };
        (groups, policy_error, configurations)
    };
    let (
        ec2,
        ec2_data,
        (groups, policy_error, configurations),
        (elb, waf_errors),
        classic,
        rds,
        acm,
        alarms,
        backup,
    ) = tokio::join!(
        ec2::discover(&ec2_scope, account),
        ec2_data::discover(&ec2_scope, account),
        groups_and_configurations,
        elb_and_waf,
        classic::discover(&elb_scope),
        rds::discover(&rds_scope),
        acm::discover(&acm_scope),
        alarms,
        backup::discover(&backup_scope),
    );
    let mut errors: Vec<AwsError> = policy_error.into_iter().collect();
    errors.extend(waf_errors);
    let (classic, classic_errors) = classic;
    errors.extend(classic_errors);
    out.classic_load_balancers = keep(classic, &mut errors);
    out.launch_configurations = keep(configurations, &mut errors);
    errors.extend(elb.detail_errors);
    errors.extend(acm.detail_errors);
    errors.extend(rds.detail_errors);
    out.availability_zones = keep(ec2.availability_zones, &mut errors);
    out.vpcs = keep(ec2.vpcs, &mut errors);
    out.subnets = keep(ec2.subnets, &mut errors);
    out.route_tables = keep(ec2.route_tables, &mut errors);
    out.internet_gateways = keep(ec2.internet_gateways, &mut errors);
    out.nat_gateways = keep(ec2.nat_gateways, &mut errors);
    out.elastic_ips = keep(ec2.elastic_ips, &mut errors);
    out.security_groups = keep(ec2.security_groups, &mut errors);
    out.instances = keep(ec2.instances, &mut errors);
    out.volumes = keep(ec2.volumes, &mut errors);
    out.images = keep(ec2.images, &mut errors);
    out.snapshots = keep(ec2.snapshots, &mut errors);
    out.launch_templates = keep(ec2.launch_templates, &mut errors);
    out.auto_scaling_groups = keep(groups, &mut errors);
    out.load_balancers = keep(elb.load_balancers, &mut errors);
    out.target_groups = keep(elb.target_groups, &mut errors);
    out.db_instances = keep(rds.db_instances, &mut errors);
    out.db_clusters = keep(rds.db_clusters, &mut errors);
    let mut snapshots: Vec<_> = keep(rds.db_snapshots, &mut errors);
    snapshots.extend(keep(rds.db_cluster_snapshots, &mut errors));
    out.db_snapshots = snapshots;
    out.db_subnet_groups = keep(rds.db_subnet_groups, &mut errors);
    out.certificates = keep(acm.certificates, &mut errors);
    out.alarms = keep(alarms, &mut errors);
    out.network_acls = keep(ec2.network_acls, &mut errors);
    data(&mut out, ec2_data, &mut errors);
    out.backup_selections = backup.map_err(|e| errors.push(e)).ok();
    let errors = errors
        .iter()
        .map(|e| e.to_discovery_error(Some(code)))
        .collect();
    (out, errors)
}

/// Region settings, public snapshots, flow logs and VPC endpoints into the Region; what was not
/// read stays `None` (not judged).
fn data(out: &mut RegionTopology, parts: ec2_data::DataParts, errors: &mut Vec<AwsError>) {
    use ec2_data::setting;
    out.settings.ebs_encryption_by_default = setting(parts.ebs_encryption_by_default, errors);
    out.settings.snapshot_block_public_access = setting(parts.snapshot_block_public_access, errors);
    out.settings.image_block_public_access = setting(parts.image_block_public_access, errors);
    if let Some(public) = setting(parts.public_snapshots, errors).flatten() {
        for snapshot in &mut out.snapshots {
            snapshot.public = Some(public.contains(&snapshot.id));
        }
    }
    out.flow_logs = setting(parts.flow_logs, errors);
    out.vpc_endpoints = keep(parts.vpc_endpoints, errors);
}
