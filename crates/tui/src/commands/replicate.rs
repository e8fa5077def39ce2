//! `haven replicate --to REGION`: keep the DR Region current. Shows how old every DR copy is
//! against the RPO, copies what is missing (bounded per destination Region), prunes the oldest
//! haven-made copies beyond the retention, and reports each failure with its AWS error.
//! `haven promote <replica>`: the rds-promote action.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::ValueEnum;
use haven_aws::{DiscoverOptions, ExecuteOptions};
use haven_model::replication::Operation;
use haven_replicate::{DrPolicy, Event, Outcome, Plan, Scope};
use serde_json::{Value, json};

use super::act::{ActArgs, ActCommand, ActOutput};
use crate::cli::{Fatal, Global, connect, usage};
use crate::config::Config;
use crate::dr_table;

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
    #[arg(long, default_value_t = haven_model::dr::DEFAULT_RETENTION as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub retention: u16,
    /// Copies in flight per destination Region and kind (AMI, EBS, RDS copies and replicas each
    /// have their own AWS quota).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=300))]
    pub concurrency: u16,
    /// Recovery-point objective in minutes: older newest copies are reported stale (default 60,
    /// or the blueprint's `[dr] rpo`).
    #[arg(long)]
    pub rpo_minutes: Option<u32>,
    /// Do not create cross-Region read replicas (snapshot copies only).
    #[arg(long)]
    pub no_replica: bool,
    /// Protect the resources of this haven stack only (tagged `haven:stack=NAME`; a blueprint
    /// names its stack).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub stack: Option<String>,
    /// Protect every launch template, volume and database of the source Region, other teams'
    /// included (default: the resources of haven stacks only).
    #[arg(long)]
    pub all: bool,
    /// Do not ask before starting copies and replicas (they cost money): for scripts.
    #[arg(long, short = 'y')]
    pub yes: bool,
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
        include_dns: false,
        include_alarms: false,
        ..DiscoverOptions::default()
    };
    let topology = read_whole(haven_aws::discover(&ctx, &all, &options).await)?;
    let policy = policy(args, blueprint.as_ref(), &source, to.clone(), kms_keys);
    check_scope(&policy.scope, &topology, &source)?;
    let mut plan = haven_replicate::plan(&topology, &policy);
    // With a blueprint, the stack's DR network is built first where it is missing (as `haven
    // up` does): the replica is created inside it, never in a default VPC.
    let no_network = plan
        .status
        .rows
        .iter()
        .any(|r| matches!(r.note, Some(haven_model::dr::Note::NoDrNetwork { .. })));
    if let Some(blueprint) = &blueprint
        && no_network
        && !args.dry_run
        && !read_only
    {
        let out = super::stack::Printer::new(match args.output {
            ReplicateOutput::Text => super::stack::StackOutput::Text,
            ReplicateOutput::Json => super::stack::StackOutput::Json,
        });
        let build = super::stack::Converge {
            read_only,
            yes: args.yes,
            out: out.without_summary(),
            wait_timeout: args.wait_timeout,
            adopt: false,
            skip_iam: true,
        };
        build.dr_networks(&ctx, blueprint, &topology, &[]).await?;
        let topology = read_whole(haven_aws::discover(&ctx, &all, &options).await)?;
        plan = haven_replicate::plan(&topology, &policy);
    }
    let say = |text: &str| match args.output {
        ReplicateOutput::Text => println!("{text}"),
        ReplicateOutput::Json => eprintln!("{text}"),
    };
    say(&format!(
        "scope: {} in {source} → {}{}",
        policy.scope,
        to.join(", "),
        if policy.scope == Scope::All {
            ""
        } else {
            " (--all for every resource of the Region)"
        }
    ));
    say(&format!(
        "RPO {} ({})",
        haven_model::duration::minutes(policy.rpo.num_minutes()),
        rpo_source(args, blueprint.as_ref())
    ));
    say(&dr_table::text(&plan));
    let blocked = blocked_message(&plan);
    if plan.operations.is_empty() {
        let in_flight: Vec<String> = plan
            .status
            .rows
            .iter()
            .filter_map(|r| {
                r.in_flight()
                    .map(|c| format!("{} ({})", c.id, r.state.label()))
            })
            .collect();
        if !in_flight.is_empty() {
            say(&format!(
                "nothing to start: {} cop{} still in flight: {}; run again to see them complete",
                in_flight.len(),
                if in_flight.len() == 1 {
                    "y is"
                } else {
                    "ies are"
                },
                in_flight.join(", ")
            ));
        } else if blocked.is_none() {
            say(
                "nothing to do: every protected resource has a complete copy of its newest state \
                 or a replica in each DR Region",
            );
        }
    }
    if args.dry_run || plan.operations.is_empty() {
        if args.output == ReplicateOutput::Json {
            println!("{:#}", report_json(&plan, &policy.scope, &[], args.dry_run));
        }
        return match blocked {
            Some(message) if !args.dry_run => Err(Fatal { message, code: 1 }),
            _ => Ok(()),
        };
    }
    if read_only {
        return Err(usage(format!(
            "read-only mode: refusing to {} ({} operation(s)); nothing was sent",
            plan.operations[0].sentence(),
            plan.operations.len()
        )));
    }
    if !args.yes {
        confirm(&plan)?;
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
        println!("{:#}", report_json(&plan, &policy.scope, &outcomes, false));
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    say(&format!(
        "{} operation(s) done, {} failed",
        outcomes.len() - failed.len(),
        failed.len()
    ));
    match failed.first() {
        None => match blocked {
            None => Ok(()),
            Some(message) => Err(Fatal { message, code: 1 }),
        },
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

/// The topology, when every Region was read whole: with a part missing, copies that exist
/// could look missing and be made twice.
fn read_whole(topology: haven_model::Topology) -> Result<haven_model::Topology, Fatal> {
    match topology.errors.first() {
        None => Ok(topology),
        Some(error) => Err(Fatal {
            message: format!(
                "part of the Regions could not be read ({} {} in {}: {}), so copies could be \
                 made twice; nothing was copied",
                error.service,
                error.operation,
                error.region.as_deref().unwrap_or("?"),
                error.message
            ),
            code: 1,
        }),
    }
}

/// Where the RPO comes from, for people: the flag, the blueprint, or haven's default.
fn rpo_source(
    args: &ReplicateArgs,
    blueprint: Option<&haven_model::blueprint::Blueprint>,
) -> String {
    match (args.rpo_minutes, blueprint.and_then(|b| b.dr.as_ref())) {
        (Some(_), _) => "--rpo-minutes".to_string(),
        (None, Some(_)) => "the blueprint's [dr] rpo".to_string(),
        (None, None) => {
            "haven's default; --rpo-minutes or a blueprint's [dr] rpo sets another".to_string()
        }
    }
}

/// The replication policy the flags (and the blueprint) ask for.
pub(crate) fn policy(
    args: &ReplicateArgs,
    blueprint: Option<&haven_model::blueprint::Blueprint>,
    source: &str,
    to: Vec<String>,
    kms_keys: BTreeMap<String, String>,
) -> DrPolicy {
    let dr = blueprint.and_then(|b| b.dr.as_ref());
    let rpo_minutes = args
        .rpo_minutes
        .map(i64::from)
        .or(dr.map(|d| i64::from(d.rpo_minutes)))
        .unwrap_or(haven_model::dr::DEFAULT_RPO_MINUTES);
    let scope = match (blueprint, &args.stack, args.all) {
        (_, _, true) => Scope::All,
        (Some(b), _, false) => Scope::Stack(b.name().to_string()),
        (None, Some(stack), false) => Scope::Stack(stack.clone()),
        (None, None, false) => Scope::HavenStacks,
    };
    DrPolicy {
        source_region: source.to_string(),
        destinations: to,
        retention: usize::from(args.retention),
        replicas: !args.no_replica,
        rpo: chrono::Duration::minutes(rpo_minutes),
        kms_keys,
        scope,
    }
}

/// The scope names something the source Region has: without a haven stack there, protecting
/// "every haven stack" would protect nothing, and widening to every resource is the user's
/// call (`--all`), never a default.
fn check_scope(scope: &Scope, topology: &haven_model::Topology, source: &str) -> Result<(), Fatal> {
    let stacks = topology
        .region(source)
        .map(haven_model::dr::stacks)
        .unwrap_or_default();
    match scope {
        Scope::All => Ok(()),
        Scope::HavenStacks if stacks.is_empty() => Err(usage(format!(
            "no haven stack in {source} (nothing is tagged haven:stack): give --blueprint FILE \
             or --stack NAME for one stack, or --all to protect every launch template, volume \
             and database of {source}, other teams' included. Nothing was sent"
        ))),
        Scope::Stack(name) if !stacks.contains(name.as_str()) => Err(usage(format!(
            "stack {name} has nothing in {source}{}. Nothing was sent",
            if stacks.is_empty() {
                String::new()
            } else {
                format!(
                    "; its stacks are {}",
                    stacks.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
        ))),
        _ => Ok(()),
    }
}

/// The rows left unprotected that no operation protects, each with what blocks it: the run
/// exits non-zero with them.
fn blocked_message(plan: &Plan) -> Option<String> {
    let blocked: Vec<String> = plan
        .blocked()
        .map(|row| {
            let why = row.note.as_ref().map_or_else(
                || "nothing haven can do: see the rows above".to_string(),
                |n| n.sentence(row),
            );
            format!(
                "{} of {} in {}: {why}",
                row.protection, row.protects, row.region
            )
        })
        .collect();
    (!blocked.is_empty()).then(|| {
        format!(
            "{} protected resource(s) have no usable copy in their DR Region: {}",
            blocked.len(),
            blocked.join("; ")
        )
    })
}

/// Asks before anything that costs money starts: how many copies and replicas, and what they
/// cost.
fn confirm(plan: &Plan) -> Result<(), Fatal> {
    let copies = plan
        .operations
        .iter()
        .filter(|o| matches!(o, Operation::Copy(_)))
        .count();
    let replicas: Vec<String> = plan
        .operations
        .iter()
        .filter_map(|o| match o {
            Operation::Replica(r) => Some(format!(
                "{} ({}) in {}",
                r.identifier, r.class, r.destination_region
            )),
            _ => None,
        })
        .collect();
    let deletes = plan.operations.len() - copies - replicas.len();
    let mut what = format!(
        "start {copies} cross-Region cop{} (billed per GB-month in the DR Region, plus the \
         transfer)",
        if copies == 1 { "y" } else { "ies" }
    );
    if !replicas.is_empty() {
        what.push_str(&format!(
            ", create {} cross-Region read replica(s), each a DB instance billed per hour like \
             its source: {}",
            replicas.len(),
            replicas.join(", ")
        ));
    }
    if deletes > 0 {
        what.push_str(&format!(
            ", and delete {deletes} failed or old haven-made cop(ies)"
        ));
    }
    let answer = crate::cli::ask(&what, "Go on? [y/N]")?;
    if matches!(answer.as_str(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(usage("not confirmed: nothing was sent".to_string()))
    }
}

fn report_json(plan: &Plan, scope: &Scope, outcomes: &[Outcome], dry_run: bool) -> Value {
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
        "scope": scope,
        "rows": plan.status.rows,
        "operations": plan.operations.iter().map(|o: &Operation| json!({
            "operation": o,
            "api_calls": o.api_calls().iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "notes": plan.status.notes.iter().map(ToString::to_string)
            .chain(plan.status.rows.iter().filter_map(|r| r.note.as_ref().map(|n| n.sentence(r))))
            .collect::<Vec<_>>(),
        "results": results,
    })
}
