//! `haven`: the dashboard (no subcommand) and subcommands for scripts.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use haven_aws::DiscoverOptions;
use haven_tui::cli::{Fatal, Global, connect, usage};
use haven_tui::config::Config;

/// Dashboard and automation for highly available AWS stacks (ALB + ASG across AZs + Multi-AZ RDS
/// + a DR Region).
#[derive(Debug, Parser)]
#[command(name = "haven", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one action on the stack (scale, fail over, promote, …), previewed and followed to completion.
    Act(haven_tui::commands::act::ActArgs),
    /// Show what `haven up` would create, change or delete for a blueprint; no change is made.
    Plan(haven_tui::commands::plan::PlanArgs),
    /// Build or update the stack a blueprint describes; safe to interrupt and run again.
    Up(haven_tui::commands::stack::UpArgs),
    /// Delete everything tagged with the stack, in dependency order, after confirmation.
    Down(haven_tui::commands::stack::DownArgs),
    /// Keep a DR Region current: copy AMIs, EBS and DB snapshots, create cross-Region replicas.
    Replicate(haven_tui::commands::replicate::ReplicateArgs),
    /// Promote a read replica (in the DR Region, when the primary is lost) to a standalone DB.
    Promote(haven_tui::commands::replicate::PromoteArgs),
    /// Print the least-privilege IAM policy for every AWS call haven makes.
    IamPolicy {
        /// Only the read calls (dashboard, snapshot, check, plan).
        #[arg(long)]
        read_only: bool,
    },
    /// Run the stack in a DR Region: promote its replica, build the app tier from the AMI copy.
    FailoverRegion(haven_tui::commands::stack::FailoverArgs),
    /// After a failover, once the primary Region answers: bring the stack home in a planned
    /// switch and make the DR Region a DR Region again.
    Failback(haven_tui::commands::failback::FailbackArgs),
    /// Deploy a new version without downtime: rolling, blue/green or canary, with health gates
    /// and automatic rollback; resumable (the state lives in AWS).
    Deploy(haven_tui::commands::deploy::DeployArgs),
    /// HA, DR and security findings, with an exit status by severity (for CI).
    Check(haven_tui::commands::check::CheckArgs),
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

fn main() -> ExitCode {
    // Before the runtime's threads: this may execute haven again.
    haven_tui::allocator::tune();
    quiet_broken_pipe();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("haven: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
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
    for warning in &config.warnings {
        eprintln!("haven: warning: {warning}");
        tracing::warn!("{warning}");
    }
    match &cli.command {
        Some(Command::Act(args)) => haven_tui::commands::act::run(&cli.global, &config, args).await,
        Some(Command::Snapshot {
            output,
            page_size,
            no_iam,
        }) => {
            let (ctx, regions, identity) = connect(&cli.global, &config).await?;
            let options = DiscoverOptions {
                page_size: *page_size,
                include_iam: !no_iam,
                identity: Some(identity),
                ..DiscoverOptions::default()
            };
            let topology = haven_aws::discover(&ctx, &regions, &options).await;
            match output {
                Output::Json => println!("{}", topology.to_json()),
                Output::Table => print!("{}", haven_tui::report::table(&topology)),
            }
            if !topology.errors.is_empty() {
                let see = match output {
                    Output::Json => "the \"errors\" field",
                    Output::Table => "the lines marked !",
                };
                eprintln!(
                    "haven: {} part(s) of the stack could not be read; see {see}",
                    topology.errors.len()
                );
            }
            Ok(())
        }
        Some(Command::Plan(args)) => {
            haven_tui::commands::plan::run(&cli.global, &config, args).await
        }
        Some(Command::Up(args)) => haven_tui::commands::stack::up(&cli.global, &config, args).await,
        Some(Command::Down(args)) => {
            haven_tui::commands::stack::down(&cli.global, &config, args).await
        }
        Some(Command::Replicate(args)) => {
            haven_tui::commands::replicate::run(&cli.global, &config, args).await
        }
        Some(Command::IamPolicy { read_only }) => {
            let policy =
                haven_model::permissions::policy_document(*read_only || cli.global.read_only);
            println!("{policy:#}");
            Ok(())
        }
        Some(Command::FailoverRegion(args)) => {
            haven_tui::commands::stack::failover_region(&cli.global, &config, args).await
        }
        Some(Command::Failback(args)) => {
            haven_tui::commands::failback::failback(&cli.global, &config, args).await
        }
        Some(Command::Promote(args)) => {
            haven_tui::commands::replicate::promote(&cli.global, &config, args).await
        }
        Some(Command::Check(args)) => {
            haven_tui::commands::check::run(&cli.global, &config, args).await
        }
        Some(Command::Deploy(args)) => {
            haven_tui::commands::deploy::run(&cli.global, &config, args).await
        }
        None => haven_tui::open::dashboard(&cli.global, config).await,
    }
}

/// Crates of the AWS SDK whose debug and trace events can carry credentials or request data.
const SDK_LOG_TARGETS: [&str; 12] = [
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "hyper",
    "hyper_util",
    "rustls",
];

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
        let mut filter = tracing_subscriber::EnvFilter::try_from_env("HAVEN_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        // The SDK's debug events print the identity they sign with (access key id, and request
        // properties): whatever HAVEN_LOG asks, its crates log at info at most.
        for target in SDK_LOG_TARGETS {
            if let Ok(directive) = format!("{target}=info").parse() {
                filter = filter.add_directive(directive);
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter(filter)
            .try_init();
    }
}

/// `haven snapshot | head` closes stdout early; that ends haven quietly, as it ends `cat`,
/// instead of with a panic message (exit status 141, as for SIGPIPE).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
