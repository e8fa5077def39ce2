//! `haven`: the dashboard (no subcommand) and subcommands for scripts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use haven_aws::{AwsContext, AwsError, CallerIdentity, ConnectOptions, DiscoverOptions};
use haven_model::{Topology, regions};
use haven_tui::config::{self, Config};
use haven_tui::dashboard::{self, DashboardOptions, TopologySource};

/// Dashboard and automation for highly available AWS stacks (ALB + ASG across AZs + Multi-AZ RDS
/// + a DR Region).
#[derive(Debug, Parser)]
#[command(name = "haven", version, about)]
struct Cli {
    /// Named profile from the shared AWS config files (else AWS_PROFILE).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// The Region, for a single-Region view (else AWS_REGION or the profile's Region).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Regions to show, comma-separated, e.g. ap-northeast-2,us-east-1.
    #[arg(long, global = true, value_delimiter = ',')]
    regions: Vec<String>,
    /// Send every call to this endpoint (moto, LocalStack); also AWS_ENDPOINT_URL.
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    /// Never send a mutating call.
    #[arg(long, global = true)]
    read_only: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Discover the stack and print it: JSON for scripts, a table for people.
    Snapshot {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Instances per DescribeInstances page (5–1000), like the AWS CLI's --page-size.
        #[arg(long, value_parser = clap::value_parser!(i32).range(5..=1000))]
        page_size: Option<i32>,
        /// Skip account-wide IAM.
        #[arg(long)]
        no_iam: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    Json,
    Table,
}

/// A failure the user must act on: one message, a non-zero exit.
#[derive(Debug)]
struct Fatal {
    message: String,
    code: u8,
}

impl From<AwsError> for Fatal {
    fn from(error: AwsError) -> Self {
        let message = match &error {
            AwsError::Unreachable {
                endpoint, detail, ..
            } => format!(
                "cannot reach {endpoint}: {detail}. Check --endpoint-url / AWS_ENDPOINT_URL and \
                 your network"
            ),
            AwsError::Timeout { .. } => format!(
                "{error}: the endpoint did not answer. Check --endpoint-url / AWS_ENDPOINT_URL \
                 and your network"
            ),
            _ => error.to_string(),
        };
        Fatal { message, code: 1 }
    }
}

fn usage(message: String) -> Fatal {
    Fatal { message, code: 2 }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(fatal) => {
            eprintln!("haven: {}", fatal.message);
            ExitCode::from(fatal.code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Fatal> {
    let config = Config::load().map_err(|e| usage(e.to_string()))?;
    init_logging(&config.paths.log_file());
    match &cli.command {
        Some(Command::Snapshot {
            output,
            page_size,
            no_iam,
        }) => {
            let (ctx, regions, identity) = connect(&cli, &config).await?;
            let options = DiscoverOptions {
                page_size: *page_size,
                include_iam: !no_iam,
                identity: Some(identity),
            };
            let topology = haven_aws::discover(&ctx, &regions, &options).await;
            match output {
                Output::Json => println!("{}", topology.to_json()),
                Output::Table => print!("{}", haven_tui::report::table(&topology)),
            }
            if !topology.errors.is_empty() {
                eprintln!(
                    "haven: {} part(s) of the stack could not be read; see \"errors\"",
                    topology.errors.len()
                );
            }
            Ok(())
        }
        None => open_dashboard(&cli, config).await,
    }
}

/// Logs go to a file, never to the terminal the dashboard draws on.
fn init_logging(path: &std::path::Path) {
    let file = path.parent().map(std::fs::create_dir_all).and_then(|_| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    if let Some(file) = file {
        let filter = tracing_subscriber::EnvFilter::try_from_env("HAVEN_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter(filter)
            .try_init();
    }
}

/// The dashboard's data: live discovery with the checked identity.
struct AwsSource {
    ctx: AwsContext,
    identity: CallerIdentity,
}

impl TopologySource for AwsSource {
    fn fetch(&self, regions: Vec<String>) -> futures::future::BoxFuture<'static, Topology> {
        let ctx = self.ctx.clone();
        let options = DiscoverOptions {
            identity: Some(self.identity.clone()),
            ..DiscoverOptions::default()
        };
        Box::pin(async move { haven_aws::discover(&ctx, &regions, &options).await })
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

async fn open_dashboard(cli: &Cli, config: Config) -> Result<(), Fatal> {
    let (ctx, regions, identity) = connect(cli, &config).await?;
    let cache = cache_path(&config, &identity.account, ctx.endpoint_url());
    let options = DashboardOptions {
        regions,
        refresh: config.refresh,
        read_only: cli.read_only || config.read_only,
        cached: config::read_cached_topology(&cache),
        cache_path: Some(cache),
        keymap: config.keymap.clone(),
        endpoint_label: ctx.endpoint_url().map(str::to_string),
        ..DashboardOptions::default()
    };
    let source = Arc::new(AwsSource { ctx, identity });
    dashboard::run_terminal(source, options)
        .await
        .map_err(|e| Fatal {
            message: format!("the dashboard stopped: {e:#}"),
            code: 1,
        })
}

/// Loads the configuration, checks credentials and reachability, and settles the Regions,
/// before anything else is asked.
async fn connect(
    cli: &Cli,
    config: &Config,
) -> Result<(AwsContext, Vec<String>, CallerIdentity), Fatal> {
    if let Some(url) = &cli.endpoint_url {
        check_endpoint(url)?;
    }
    let mut requested: Vec<String> = cli.regions.clone();
    if requested.is_empty() {
        requested.extend(cli.region.clone());
    }
    if requested.is_empty() {
        requested.extend(config.regions.iter().cloned());
    }
    for region in &requested {
        check_region_syntax(region)?;
    }
    let options = ConnectOptions {
        profile: cli.profile.clone(),
        region: cli.region.clone().or_else(|| requested.first().cloned()),
        endpoint_url: cli.endpoint_url.clone(),
    };
    let ctx = AwsContext::load(&options).await;
    if requested.is_empty() {
        requested.extend(ctx.default_region());
    }
    if requested.is_empty() {
        return Err(usage(AwsError::NoRegion.to_string()));
    }
    requested.dedup();
    ctx.check_credentials().await?;
    let identity = ctx.caller_identity().await?;
    Ok((ctx, requested, identity))
}

fn check_endpoint(url: &str) -> Result<(), Fatal> {
    let valid = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if valid {
        Ok(())
    } else {
        Err(usage(format!(
            "--endpoint-url {url:?} is not a URL; expected e.g. http://127.0.0.1:5000 or \
             https://ec2.us-east-1.amazonaws.com"
        )))
    }
}

/// A Region code is lowercase letters, digits and dashes; unknown but well-formed codes are
/// reported per Region by discovery, so that the others still come back.
fn check_region_syntax(region: &str) -> Result<(), Fatal> {
    let well_formed = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if well_formed {
        return Ok(());
    }
    let hint = regions::closest(&region.to_ascii_lowercase())
        .map(|r| format!(" Did you mean {r}?"))
        .unwrap_or_default();
    Err(usage(format!(
        "{region:?} is not a Region code; expected e.g. ap-northeast-2 or us-east-1.{hint}"
    )))
}
