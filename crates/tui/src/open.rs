//! Opening the dashboard on AWS: the accounts to show (one, or several side by side), each
//! signed in with its discovery and its executor, and the way `:profile` signs in to another.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use chrono::Utc;
use futures::future::BoxFuture;
use haven_aws::{
    AwsContext, AwsError, CallerIdentity, ConnectOptions, DiscoverOptions, ExecuteOptions,
};
use haven_model::Topology;
use haven_model::accounts::{AccountSpec, ProfileInfo, RoleSource, SignIn, sso_login_command};
use haven_model::action::Progress;
use haven_model::findings::Policy;
use haven_model::refresh::ReadPlan;
use haven_model::signals::{RegionAsk, Signals};

use crate::cli::{self, Fatal, Global, connect, sso_renewal};
use crate::commands::act::execute_logged;
use crate::commands::deploy::run_calls_logged;
use crate::config::Config;
use crate::dashboard::profiles::{ProfileRow, ProfileStatus};
use crate::dashboard::{
    self, AccountView, Connector, DashboardOptions, Executor, JobError, Opening, PieceSink,
    ProgressFn, Say, TopologySource, Work,
};

/// Instances on the first DescribeInstances page of a Region in the dashboard: a screenful (the
/// terminal's height, at most 100), so that the rows a person sees first come with one small
/// page rather than after the whole list. AWS takes 5 to 1000 and answers a smaller page sooner
/// (moto, measured: 100 instances in ~500 ms, 50 in ~280, 25 in ~100).
fn first_page() -> i32 {
    crossterm::terminal::size().map_or(100, |(_, rows)| i32::from(rows).clamp(5, 100))
}

/// The dashboard's data: live discovery with the checked identity.
struct AwsSource {
    ctx: AwsContext,
    identity: CallerIdentity,
    /// Instances on a Region's first page ([`first_page`]) in the first read; the reads after
    /// it redraw rows already shown, and one page of 1,000 is fewer calls.
    first_page: AtomicI32,
}

impl TopologySource for AwsSource {
    fn fetch(
        &self,
        regions: Vec<String>,
        include_iam: bool,
    ) -> futures::future::BoxFuture<'static, Topology> {
        let ctx = self.ctx.clone();
        let options = DiscoverOptions {
            identity: Some(self.identity.clone()),
            include_iam,
            ..DiscoverOptions::default()
        };
        Box::pin(async move { haven_aws::discover(&ctx, &regions, &options).await })
    }

    /// Streams: each part of each Region reaches the dashboard as soon as AWS has answered it,
    /// and the first page of instances before the rest.
    fn read(&self, plan: ReadPlan, sink: PieceSink) -> futures::future::BoxFuture<'static, ()> {
        let ctx = self.ctx.clone();
        // A small first page only in the first read (the first that reads the network): the
        // reads after it redraw rows already shown, and one call is cheaper than two.
        let whole = plan
            .regions
            .iter()
            .any(|r| r.parts.contains(&haven_model::Part::Network));
        let first_page = whole
            .then(|| self.first_page.swap(0, Ordering::Relaxed))
            .filter(|&size| size > 0);
        let options = DiscoverOptions {
            identity: Some(self.identity.clone()),
            first_page,
            ..DiscoverOptions::default()
        };
        Box::pin(async move { haven_aws::discover_plan(&ctx, &plan, &options, &*sink).await })
    }

    fn signals(&self, asks: Vec<RegionAsk>) -> futures::future::BoxFuture<'static, Signals> {
        let ctx = self.ctx.clone();
        Box::pin(async move { haven_aws::read_signals(&ctx, &asks, Utc::now()).await })
    }
}

/// Runs the dashboard's jobs against AWS, each action logged like `haven act`'s.
struct AwsExecutor {
    ctx: AwsContext,
    identity: CallerIdentity,
    read_only: bool,
    action_log: PathBuf,
}

impl Executor for AwsExecutor {
    fn run(
        &self,
        work: Work,
        progress: ProgressFn,
    ) -> futures::future::BoxFuture<'static, Result<String, JobError>> {
        let ctx = self.ctx.clone();
        let identity = self.identity.clone();
        let log = self.action_log.clone();
        let options = ExecuteOptions {
            read_only: self.read_only,
            ..ExecuteOptions::default()
        };
        let failed = |e: &AwsError| JobError {
            code: e.code().map(str::to_string),
            message: e.to_string(),
        };
        Box::pin(async move {
            match work {
                Work::Act(action) => {
                    let sink = |p: Progress| progress(p);
                    let (result, log_error) =
                        execute_logged(&ctx, &action, &options, &identity, &log, &sink).await;
                    if let Some(e) = log_error {
                        tracing::warn!(error = %e, "cannot write the action log");
                    }
                    result
                        .map(|outcome| outcome.message)
                        .map_err(|e| failed(&e))
                }
                Work::Replicate(operation) => {
                    let step = operation.sentence();
                    let sink =
                        |waiting: String| progress(Progress::new(step.clone(), waiting, None));
                    haven_aws::replicate::run(&ctx, &operation, &options, &sink)
                        .await
                        .map(|id| format!("{step}: {id}"))
                        .map_err(|e| failed(&e))
                }
                // Pause, resume, roll back or finish: the same calls `haven deploy --pause /
                // --resume / --rollback / --finish` sends, logged the same way.
                Work::Deploy {
                    region,
                    title,
                    calls,
                    ..
                } => {
                    let sink = |p: Progress| progress(p);
                    let (result, log_error) =
                        run_calls_logged(&ctx, &identity, &log, &options, &region, &calls, &sink)
                            .await;
                    if let Some(e) = log_error {
                        tracing::warn!(error = %e, "cannot write the action log");
                    }
                    result
                        .map(|outcomes| format!("{title}: {} step(s) done", outcomes.len()))
                        .map_err(|e| failed(&e))
                }
            }
        })
    }
}

/// One cache file per account and endpoint, so a demo never shows up on a real account.
fn cache_path(config: &Config, account: &str, endpoint: Option<&str>) -> PathBuf {
    let endpoint_key: String = endpoint
        .unwrap_or("aws")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    config
        .paths
        .cache_file()
        .with_file_name(format!("topology-{account}-{endpoint_key}.json"))
}

/// What every account of this dashboard shares: the command line, the configuration, the
/// policy, and the profiles of the shared files.
#[derive(Clone)]
struct Base {
    cli: Global,
    config: Config,
    policy: Policy,
    profiles: Vec<ProfileInfo>,
    /// The Regions the command line or config.toml asked for, checked (an account's own
    /// `regions` win).
    regions: Vec<String>,
}

impl Base {
    /// The dashboard's settings for one signed-in account: its own cache file (one per account
    /// and endpoint), its executor, the Regions asked for.
    fn view(
        &self,
        name: String,
        ctx: AwsContext,
        identity: CallerIdentity,
        regions: Vec<String>,
        profile: Option<String>,
    ) -> AccountView {
        let config = &self.config;
        let cache = cache_path(config, &identity.account, ctx.endpoint_url());
        let read_only = self.cli.read_only || config.read_only;
        let options = DashboardOptions {
            regions,
            refresh: config.refresh,
            iam_refresh: config.iam_refresh,
            full_refresh: config.full_refresh,
            signals: config.signals,
            read_only,
            cached: crate::cache::read_cached_topology(&cache),
            cache_path: Some(cache),
            keymap: config.keymap.clone(),
            endpoint_label: ctx.endpoint_url().map(str::to_string),
            notice: config.warnings.first().cloned(),
            action_log: Some(config.paths.action_log_file()),
            policy: self.policy.clone(),
            executor: Some(Arc::new(AwsExecutor {
                ctx: ctx.clone(),
                identity: identity.clone(),
                read_only,
                action_log: config.paths.action_log_file(),
            })),
            profile,
            ..DashboardOptions::default()
        };
        AccountView {
            name,
            source: Arc::new(AwsSource {
                ctx,
                identity,
                first_page: first_page().into(),
            }),
            options,
        }
    }

    /// Signs in to one account: its SSO session first (said, with the command that renews
    /// it, when it has expired), then its credentials and identity; the error is one sentence.
    async fn sign_in(&self, spec: &AccountSpec) -> Result<AccountView, String> {
        if let Some(profile) = self.sso_expired(spec) {
            return Err(format!(
                "its IAM Identity Center (SSO) session has expired or was not started: \
                 :profile {} signs in from here (or run `{}`)",
                spec.name,
                sso_login_command(&profile)
            ));
        }
        let cli = &self.cli;
        let base = ConnectOptions {
            profile: None,
            region: cli.region.clone(),
            endpoint_url: cli.endpoint_url.clone(),
        };
        let ctx = AwsContext::for_account(spec, &base).await;
        let mut regions = spec.regions.clone();
        if regions.is_empty() {
            regions.clone_from(&self.regions);
        }
        if regions.is_empty() {
            regions.extend(ctx.default_region());
        }
        if regions.is_empty() {
            return Err(format!(
                "no Region: set `region` in the profile, `regions` in its [[accounts]] entry, \
                 or --regions ({})",
                AwsError::NoRegion
            ));
        }
        ctx.check_credentials().await.map_err(|e| e.to_string())?;
        let identity = ctx.caller_identity().await.map_err(|e| e.to_string())?;
        Ok(self.view(
            spec.name.clone(),
            ctx,
            identity,
            regions,
            Some(spec.name.clone()),
        ))
    }

    /// The account's profile, when it signs in with IAM Identity Center and its session has
    /// expired (or was never started).
    fn sso_expired(&self, spec: &AccountSpec) -> Option<String> {
        let profile = spec
            .profile
            .as_deref()
            .and_then(|name| self.profiles.iter().find(|p| p.name == name))?;
        sso_renewal(profile).map(|_| profile.name.clone())
    }

    /// The account a `:profile` name stands for: an `[[accounts]]` entry of that name, else
    /// the profile.
    fn spec(&self, name: &str) -> Option<AccountSpec> {
        self.config
            .accounts
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .or_else(|| {
                (self.profiles.iter())
                    .any(|p| p.name == name)
                    .then(|| AccountSpec::for_profile(name))
            })
    }
}

/// How a profile signs in, in a few words.
fn sign_in_words(sign_in: &SignIn) -> String {
    match sign_in {
        SignIn::Static => "keys".into(),
        SignIn::Sso { .. } => "SSO".into(),
        SignIn::AssumeRole { source, .. } => match source {
            RoleSource::Profile(profile) => format!("role via {profile}"),
            _ => "role".into(),
        },
        SignIn::Process => "process".into(),
        SignIn::Unknown => "-".into(),
    }
}

/// `:profile` on AWS: the profiles of the shared files and the `[[accounts]]` entries, each
/// signed in on demand.
struct AwsConnector {
    base: Base,
}

impl Connector for AwsConnector {
    fn choices(&self) -> Vec<ProfileRow> {
        let mut rows: Vec<ProfileRow> = (self.base.profiles.iter())
            .map(|p| ProfileRow {
                name: p.name.clone(),
                sign_in: sign_in_words(&p.sign_in),
                region: p.region.clone(),
                account_id: p.sso_account_id.clone(),
                alias: None,
                status: match sso_renewal(p) {
                    Some(command) => ProfileStatus::SignInNeeded(command),
                    None => ProfileStatus::Available,
                },
            })
            .collect();
        for account in &self.base.config.accounts {
            if rows.iter().any(|r| r.name == account.name) {
                continue;
            }
            rows.push(ProfileRow {
                name: account.name.clone(),
                sign_in: match (&account.role_arn, &account.profile) {
                    (Some(_), Some(profile)) => format!("role via {profile}"),
                    (Some(_), None) => "role".into(),
                    (None, Some(profile)) => format!("profile {profile}"),
                    (None, None) => "-".into(),
                },
                region: account.regions.first().cloned(),
                account_id: None,
                alias: None,
                status: ProfileStatus::Available,
            });
        }
        rows
    }

    /// An account whose profile's SSO session has expired is signed in with `aws sso login`
    /// first, its page and code said in the footer.
    fn connect(&self, name: String, say: Say) -> BoxFuture<'static, Result<AccountView, String>> {
        let base = self.base.clone();
        Box::pin(async move {
            let Some(spec) = base.spec(&name) else {
                let names: Vec<&str> = base.profiles.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "no such profile in the AWS shared config files or [[accounts]]; the \
                     profiles are: {}",
                    names.join(", ")
                ));
            };
            if let Some(profile) = base.sso_expired(&spec) {
                crate::sso_login::run(&profile, say).await?;
            }
            base.sign_in(&spec).await
        })
    }
}

/// Opens the dashboard: one account (the default credentials or `--profile`), checked before
/// the terminal is taken as every command does; or several side by side (`--profiles a,b`,
/// `[[accounts]]`), each signed in on its own, one that cannot sign in showing why while the
/// others work.
pub async fn dashboard(cli: &Global, config: Config) -> Result<(), Fatal> {
    let policy = cli::policy(cli, &config)?;
    let profiles = haven_aws::shared_profiles()?;
    let accounts = cli::accounts(cli, &config, &profiles)?;
    let mut base = Base {
        cli: cli.clone(),
        config,
        policy,
        profiles,
        regions: Vec::new(),
    };
    let openings = if accounts.is_empty() {
        // Until the dashboard takes the terminal, say what is being waited for.
        let endpoint = (cli.endpoint_url.clone())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| "AWS".to_string());
        eprintln!("haven: connecting to {endpoint}: credentials, then STS GetCallerIdentity…");
        let (ctx, regions, identity) = connect(cli, &base.config).await?;
        base.regions.clone_from(&regions);
        eprintln!(
            "haven: signed in to account {} as {}; opening the dashboard…",
            identity.account, identity.arn
        );
        // What `:profile` calls it: the profile the SDK used, or the environment's keys.
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let name = (cli.profile.clone())
            .or_else(|| env("AWS_ACCESS_KEY_ID").map(|_| "environment".into()))
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into());
        let view = base.view(name, ctx, identity, regions, cli.profile.clone());
        vec![Opening::Ready(Box::new(view))]
    } else {
        // Checked once, before any account signs in.
        base.regions = cli::asked_regions(cli, &base.config)?;
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        eprintln!("haven: signing in to {}…", names.join(", "));
        let results =
            futures::future::join_all(accounts.iter().map(|spec| base.sign_in(spec))).await;
        let mut openings = Vec::new();
        let mut reasons = Vec::new();
        for (spec, result) in accounts.iter().zip(results) {
            match result {
                Ok(view) => openings.push(Opening::Ready(Box::new(view))),
                Err(reason) => {
                    eprintln!("haven: {}: {reason}", spec.name);
                    reasons.push(format!("{}: {reason}", spec.name));
                    openings.push(Opening::Failed {
                        name: spec.name.clone(),
                        reason,
                    });
                }
            }
        }
        if reasons.len() == accounts.len() {
            return Err(Fatal {
                message: format!("no account could sign in: {}", reasons.join("; ")),
                code: 1,
            });
        }
        openings
    };
    let shared = DashboardOptions {
        read_only: cli.read_only || base.config.read_only,
        keymap: base.config.keymap.clone(),
        policy: base.policy.clone(),
        ..DashboardOptions::default()
    };
    let connector = Arc::new(AwsConnector { base });
    dashboard::run_desk_terminal(openings, shared, Some(connector))
        .await
        .map_err(|e| Fatal {
            message: format!("the dashboard stopped: {e:#}"),
            code: 1,
        })
}
