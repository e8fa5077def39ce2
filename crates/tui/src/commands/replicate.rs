//! `haven replicate --to REGION`: keep the DR Region current. Shows how old every DR copy is
//! against the RPO, copies what is missing (bounded per destination Region), prunes the oldest
//! haven-made copies beyond the retention, and reports each failure with its AWS error.
//! `haven promote <replica>`: the rds-promote action.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::ValueEnum;
use haven_aws::{DiscoverOptions, ExecuteOptions};
use haven_model::replication::Operation;
use haven_replicate::{DrPolicy, Event, Outcome, Plan};
use serde_json::{Value, json};

use super::act::{ActArgs, ActCommand, ActOutput};
use crate::cli::{Fatal, Global, connect, usage};
use crate::config::Config;

/// How `replicate` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplicateOutput {
    /// Tables and a line per operation.
    Text,
    /// Progress on stderr; one JSON document on stdout.
    Json,
}

/// Arguments of `haven replicate`.
#[derive(Debug, clap::Args)]
pub struct ReplicateArgs {
    /// A DR Region (repeat or comma-separate for several), e.g. us-east-1.
    #[arg(long = "to", value_delimiter = ',', value_name = "REGION")]
    pub to: Vec<String>,
    /// Take the source Region, the DR Regions and the RPO from a blueprint's `[stack]` and `[dr]`.
    #[arg(long, value_name = "FILE")]
    pub blueprint: Option<std::path::PathBuf>,
    /// Show the plan; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// haven-made copies kept per protected resource and Region.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub retention: u16,
    /// Copies in flight per destination Region (AWS allows 20 EBS and 20 RDS snapshot copies).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=300))]
    pub concurrency: u16,
    /// Recovery-point objective in minutes: older newest copies are reported stale (default 60,
    /// or the blueprint's `[dr] rpo`).
    #[arg(long)]
    pub rpo_minutes: Option<u32>,
    /// Do not create cross-Region read replicas (snapshot copies only).
    #[arg(long)]
    pub no_replica: bool,
    /// KMS key for encrypted sources in a DR Region, as REGION=KEY (repeatable).
    #[arg(long = "kms-key", value_name = "REGION=KEY")]
    pub kms_keys: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReplicateOutput::Text)]
    pub output: ReplicateOutput,
    /// Longest wait for one copy, in seconds.
    #[arg(long, default_value_t = 3 * 3600)]
    pub wait_timeout: u64,
}

/// Arguments of `haven promote`.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The read replica to promote (its identifier).
    pub replica: String,
    /// Confirm: replication stops for good.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show the call; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `haven promote`: the same as `haven act rds-promote`.
pub async fn promote(global: &Global, config: &Config, args: &PromoteArgs) -> Result<(), Fatal> {
    let act = ActArgs {
        action: ActCommand::RdsPromote {
            db: args.replica.clone(),
        },
        dry_run: args.dry_run,
        yes: args.yes,
        output: ActOutput::Text,
        wait_timeout: 3600,
    };
    super::act::run(global, config, &act).await
}

fn kms_keys(pairs: &[String]) -> Result<BTreeMap<String, String>, Fatal> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((region, key)) if !region.is_empty() && !key.is_empty() => {
                Ok((region.to_string(), key.to_string()))
            }
            _ => Err(usage(format!(
                "--kms-key {pair:?}: expected REGION=KEY, e.g. us-east-1=arn:aws:kms:us-east-1:\
                 123456789012:key/…"
            ))),
        })
        .collect()
}

/// Plans and (unless `--dry-run`) carries out the replication.
pub async fn run(global: &Global, config: &Config, args: &ReplicateArgs) -> Result<(), Fatal> {
    let kms_keys = kms_keys(&args.kms_keys)?;
    let blueprint = args
        .blueprint
        .as_deref()
        .map(super::plan::load_blueprint)
        .transpose()?;
    let dr = blueprint.as_ref().and_then(|b| b.dr.as_ref());
    let to: Vec<String> = match (&args.to[..], dr) {
        ([], Some(dr)) => dr.regions.clone(),
        ([], None) => {
            return Err(usage(
                "give the DR Region with --to REGION (e.g. --to us-east-1), or a blueprint with \
                 a [dr] section with --blueprint FILE"
                    .to_string(),
            ));
        }
        (given, _) => given.to_vec(),
    };
    let rpo_minutes = args.rpo_minutes.or(dr.map(|d| d.rpo_minutes)).unwrap_or(60);
    // The blueprint names the source Region; the global flags still choose profile and endpoint.
    let global = &match &blueprint {
        Some(b) => Global {
            region: Some(b.region().to_string()),
            regions: Vec::new(),
            ..global.clone()
        },
        None => global.clone(),
    };
    for region in &to {
        crate::cli::check_region("--to", region)?;
    }
    let (ctx, source_regions, identity) = connect(global, config).await?;
    let source = match source_regions.as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(usage(
                "give the one source Region with --region (e.g. --region ap-northeast-2)"
                    .to_string(),
            ));
        }
    };
    if to.contains(&source) {
        return Err(usage(format!(
            "--to {source} is the source Region: copy to another Region"
        )));
    }
    let read_only = global.read_only || config.read_only;
    let mut all = vec![source.clone()];
    all.extend(to.iter().cloned());
    let options = DiscoverOptions {
        identity: Some(identity),
        include_iam: false,
        ..DiscoverOptions::default()
    };
    let topology = haven_aws::discover(&ctx, &all, &options).await;
    if let Some(error) = topology.errors.first() {
        return Err(Fatal {
            message: format!(
                "part of the Regions could not be read ({} {} in {}: {}), so copies could be \
                 made twice; nothing was copied",
                error.service,
                error.operation,
                error.region.as_deref().unwrap_or("?"),
                error.message
            ),
            code: 1,
        });
    }
    let policy = DrPolicy {
        source_region: source.clone(),
        destinations: to.clone(),
        retention: usize::from(args.retention),
        replicas: !args.no_replica,
        rpo: chrono::Duration::minutes(i64::from(rpo_minutes)),
        kms_keys,
    };
    let plan = haven_replicate::plan(&topology, &policy);
    let say = |text: &str| match args.output {
        ReplicateOutput::Text => println!("{text}"),
        ReplicateOutput::Json => eprintln!("{text}"),
    };
    say(&status_table(&plan, rpo_minutes));
    if plan.operations.is_empty() {
        say("nothing to do: every protected resource has a copy of its newest state");
    }
    if args.dry_run || plan.operations.is_empty() {
        if args.output == ReplicateOutput::Json {
            println!("{:#}", report_json(&plan, &[], args.dry_run));
        }
        return Ok(());
    }
    if read_only {
        return Err(usage(format!(
            "read-only mode: refusing to {} ({} operation(s)); nothing was sent",
            plan.operations[0].sentence(),
            plan.operations.len()
        )));
    }
    let options = ExecuteOptions {
        max_wait: Duration::from_secs(args.wait_timeout),
        ..ExecuteOptions::default()
    };
    let progress = |event: Event<'_>| match event {
        Event::Started(op) => say(&format!("started   {}", op.sentence())),
        Event::Waiting(op, state) => say(&format!("waiting   {}: {state}", op.sentence())),
        Event::Finished(outcome) => match &outcome.result {
            Ok(id) => say(&format!(
                "done      {} → {id}",
                outcome.operation.sentence()
            )),
            Err(error) => say(&format!(
                "FAILED    {}: {}",
                outcome.operation.sentence(),
                Fatal::from(error.clone()).message
            )),
        },
        Event::Kept(op) => say(&format!(
            "kept      {} (its new copy failed)",
            op.sentence()
        )),
    };
    let outcomes = haven_replicate::execute(
        &ctx,
        &plan.operations,
        usize::from(args.concurrency),
        &options,
        &progress,
    )
    .await;
    if args.output == ReplicateOutput::Json {
        println!("{:#}", report_json(&plan, &outcomes, false));
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    say(&format!(
        "{} operation(s) done, {} failed",
        outcomes.len() - failed.len(),
        failed.len()
    ));
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(Fatal {
            message: format!(
                "{} of {} operation(s) failed; the first: {}: {}. Run `haven replicate` again \
                 to retry them",
                failed.len(),
                outcomes.len(),
                first.operation.sentence(),
                first
                    .result
                    .as_ref()
                    .err()
                    .map(|e| Fatal::from(e.clone())
                        .message
                        .trim_end_matches('.')
                        .to_string())
                    .unwrap_or_default()
            ),
            code: 1,
        }),
    }
}

/// Per protected resource and DR Region: the newest copy and its age against the RPO.
fn status_table(plan: &Plan, rpo_minutes: u32) -> String {
    let mut out = format!(
        "{:<20} {:<24} {:<26} {:<12} {:<28} {}\n",
        "KIND", "PROTECTS", "NEWEST SOURCE", "DR REGION", "NEWEST COPY", "AGE / RPO"
    );
    for protected in &plan.protected {
        for copy in &protected.copies {
            let age = match copy.age_minutes {
                Some(minutes) => format!(
                    "{minutes} min / {rpo_minutes} min{}",
                    if copy.fresh { "" } else { "  STALE" }
                ),
                None => "no copy".to_string(),
            };
            out.push_str(&format!(
                "{:<20} {:<24} {:<26} {:<12} {:<28} {age}\n",
                protected.kind.as_str(),
                protected.lineage,
                protected.source,
                copy.region,
                copy.copy.as_deref().unwrap_or("-"),
            ));
        }
    }
    for op in &plan.operations {
        out.push_str(&format!("will      {}\n", op.sentence()));
    }
    for note in &plan.notes {
        out.push_str(&format!("note      {note}\n"));
    }
    out.trim_end().to_string()
}

fn report_json(plan: &Plan, outcomes: &[Outcome], dry_run: bool) -> Value {
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let operation = serde_json::to_value(&o.operation).unwrap_or(Value::Null);
            match &o.result {
                Ok(id) => json!({"operation": operation, "ok": true, "id": id}),
                Err(e) => json!({
                    "operation": operation,
                    "ok": false,
                    "error": {"code": e.code(), "message": e.to_string()},
                }),
            }
        })
        .collect();
    json!({
        "dry_run": dry_run,
        "protected": plan.protected,
        "operations": plan.operations.iter().map(|o: &Operation| serde_json::to_value(o).unwrap_or(Value::Null)).collect::<Vec<_>>(),
        "notes": plan.notes,
        "results": results,
    })
}
