//! `haven failback BLUEPRINT`: after a failover, once the primary Region answers again, bring
//! the stack home in a planned way and make the DR Region a DR Region again. What it does and
//! why in that order is in [`haven_replicate::failback`]; this module carries it out, one move
//! after the other, each one found done when the command is run again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use haven_aws::StepEvent;
use haven_model::action::{Action, ActionKind, ResourceKind, ResourceRef};
use haven_model::plan::dr_network::app_tier_teardown;
use haven_model::replication::Operation;
use haven_model::topology::Tags;
use haven_replicate::failback::{self, Failback, SET_ASIDE_TAG};

use super::plan::{discover_for, load_blueprint, table};
use super::stack::{Converge, Printer, StackOutput, confirm, finish, options, user_data};
use crate::cli::{Fatal, Global, usage};
use crate::config::Config;

/// Arguments of `haven failback`.
#[derive(Debug, clap::Args)]
pub struct FailbackArgs {
    /// The blueprint of the stack in its primary Region (where it goes back to).
    pub blueprint: PathBuf,
    /// The DR Region the stack runs in now (default: the blueprint's first `[dr]` Region).
    #[arg(long)]
    pub from: Option<String>,
    /// Do not ask (the stack stops taking writes during the switch): for scripts.
    #[arg(long)]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = StackOutput::Text)]
    pub output: StackOutput,
    /// Longest wait for one resource, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub wait_timeout: u64,
    /// Seconds to let the replica apply the last writes once they are stopped, before it is
    /// promoted. haven reads no CloudWatch metrics, so it cannot watch `ReplicaLag` fall to 0;
    /// with writes stopped it usually takes seconds.
    #[arg(long, default_value_t = 60)]
    pub catch_up: u64,
    /// KMS key for an encrypted database's replicas, as REGION=KEY (repeatable): one in the
    /// primary Region, one in the DR Region.
    #[arg(long = "kms-key", value_name = "REGION=KEY")]
    pub kms_keys: Vec<String>,
}

fn kms_keys(args: &FailbackArgs) -> Result<BTreeMap<String, String>, Fatal> {
    args.kms_keys
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(r, k)| (r.to_string(), k.to_string()))
                .ok_or_else(|| {
                    usage(format!(
                        "--kms-key {pair}: expected REGION=KEY, e.g. ap-northeast-2=arn:aws:kms:…"
                    ))
                })
        })
        .collect()
}

fn failed(what: &str) -> impl Fn(haven_aws::AwsError) -> Fatal + '_ {
    move |e| {
        let mut fatal = Fatal::from(e);
        fatal.message = format!(
            "{what} failed: {}. Run `haven failback` again: it finds what was done and goes \
             on from there",
            fatal.message
        );
        fatal
    }
}

/// `haven failback`: see the module documentation.
pub async fn failback(global: &Global, config: &Config, args: &FailbackArgs) -> Result<(), Fatal> {
    let blueprint = load_blueprint(&args.blueprint)?;
    let user_data = user_data(&args.blueprint, &blueprint)?;
    let stack = blueprint.name().to_string();
    let home = blueprint.region().to_string();
    let Some(dr) = args.from.clone().or_else(|| {
        blueprint
            .dr
            .as_ref()
            .and_then(|d| d.regions.first().cloned())
    }) else {
        return Err(usage(
            "give the Region the stack runs in with --from REGION, or a [dr] section in the \
             blueprint"
                .to_string(),
        ));
    };
    crate::cli::check_region("--from", &dr)?;
    let keys = kms_keys(args)?;
    let read_only = global.read_only || config.read_only;
    if read_only {
        return Err(usage(format!(
            "read-only mode: refusing to fail stack {stack} back to {home}; nothing was sent"
        )));
    }
    let out = Printer::new(args.output);
    let both = [home.clone(), dr.clone()];
    let (ctx, _, topology) = discover_for(global, config, &blueprint, &both)
        .await
        .map_err(|mut f| {
            f.message = format!(
                "{}. A failback needs both Regions: run it once {home} answers again",
                f.message
            );
            f
        })?;
    let plan = failback::plan(&blueprint, &topology, &dr, chrono::Utc::now())
        .map_err(|message| Fatal { message, code: 1 })?;
    let network = |region: &str| {
        topology
            .region(region)
            .and_then(|r| haven_model::dr::network(r, &stack))
    };
    let Some(home_network) = network(&home) else {
        return Err(Fatal {
            message: format!(
                "stack {stack} has no network in {home} (VPC, DB subnet group {stack}-db-subnets \
                 and db-sg): run `haven up {}` first (it builds the network and leaves the \
                 database to this command). Nothing was sent",
                args.blueprint.display()
            ),
            code: 1,
        });
    };
    if plan.current.storage_encrypted
        && (!keys.contains_key(&home) || !keys.contains_key(&dr))
        && plan.create_replica
    {
        return Err(usage(format!(
            "{} is encrypted: give a KMS key in each Region for its replicas, --kms-key \
             {home}=KEY --kms-key {dr}=KEY. Nothing was sent",
            plan.current.identifier
        )));
    }
    out.line(&format!(
        "failback of stack {stack} from {dr} to {home} (database {}):",
        plan.current.identifier
    ));
    for line in plan.describe(&stack) {
        out.line(&format!("  {line}"));
    }
    for line in super::traffic::preview(&ctx, &stack, &home).await {
        out.line(&format!("  {line}"));
    }
    if !args.yes {
        confirm(
            &stack,
            &format!(
                "stop writes in {dr} and move stack {stack} back to {home} ({} step(s) above)",
                plan.describe(&stack).len()
            ),
        )?;
    }
    let options = options(args.wait_timeout);
    let waiting = |line: String| out.line(&format!("  {line}"));

    // 1. The replica at home, while the DR Region still takes writes.
    if plan.create_replica {
        let request = failback::replica_request(
            &plan.current,
            &dr,
            &home,
            &plan.replica,
            &home_network,
            i32::from(blueprint.database.backup_retention_days),
            keys.get(&home).cloned(),
            &stack,
        );
        haven_aws::replicate::run(&ctx, &Operation::Replica(request), &options, &waiting)
            .await
            .map_err(failed(&format!("creating {} in {home}", plan.replica)))?;
        out.line(&format!("replica {} in {home} is available", plan.replica));
    }
    // 2. What was left behind in the outage is set aside, never deleted.
    let mut aside_tags = Tags::new();
    aside_tags.insert(SET_ASIDE_TAG.to_string(), stack.clone());
    let mut kept = Vec::new();
    for old in &plan.set_aside {
        let db = haven_aws::failback::SetAside {
            region: &home,
            identifier: &old.identifier,
            arn: &old.arn,
            new_identifier: old.new_identifier.as_deref(),
            tags: &aside_tags,
        };
        let now = haven_aws::failback::set_aside_db(&ctx, db, &options, &waiting)
            .await
            .map_err(failed(&format!("setting {} aside", old.identifier)))?;
        kept.push(now);
    }
    // 3. Writes stop, the replica catches up, and is promoted.
    let stopped = Instant::now();
    if let Some(group) = &plan.dr_group {
        let action = Action::new(
            &dr,
            ResourceRef::new(ResourceKind::AutoScalingGroup, group),
            ActionKind::SetCapacity {
                desired: Some(0),
                min: Some(0),
                max: None,
                current: None,
            },
        );
        let progress = |p: haven_model::action::Progress| {
            out.line(&format!("stop writes: {}: {}", p.step, p.message))
        };
        haven_aws::execute(&ctx, &action, &options, &progress)
            .await
            .map_err(failed(&format!("scaling {group} in {dr} to 0")))?;
    }
    if plan.promote {
        out.line(&format!(
            "writes stopped; giving {} {} s to apply the last of them (haven cannot read the \
             replica lag, CloudWatch ReplicaLag; --catch-up sets the time)",
            plan.replica, args.catch_up
        ));
        tokio::time::sleep(Duration::from_secs(args.catch_up)).await;
        let action = Action::new(
            &home,
            ResourceRef::new(ResourceKind::DbInstance, &plan.replica),
            ActionKind::PromoteReadReplica,
        );
        let progress = |p: haven_model::action::Progress| {
            out.line(&format!(
                "promote {}: {}: {}",
                plan.replica, p.step, p.message
            ))
        };
        haven_aws::execute(&ctx, &action, &options, &progress)
            .await
            .map_err(failed(&format!("promoting {} in {home}", plan.replica)))?;
    }

    // 4. The app tier at home on the promoted database.
    let mut at_home = blueprint.clone();
    at_home.database.adopt = Some(plan.replica.clone());
    let (ctx, _, topology) =
        discover_for(global, config, &at_home, std::slice::from_ref(&home)).await?;
    let run = Converge {
        read_only,
        yes: true,
        out,
        wait_timeout: args.wait_timeout,
        adopt: false,
        skip_iam: false,
    };
    run.apply(&ctx, &at_home, user_data.as_deref(), &topology, "failback")
        .await?;
    let out = &run.out;
    // Users come home with the stack, before the DR Region's app tier is removed.
    super::traffic::move_users(
        &ctx,
        &at_home,
        &home,
        &|line: &str| out.line(line),
        &options,
    )
    .await?;
    out.line(&format!(
        "stack {stack} runs in {home} again on {}; writes were stopped for {}",
        plan.replica,
        haven_model::wait::elapsed_words(stopped.elapsed())
    ));

    // 5. The DR Region becomes a DR Region again.
    make_dr_again(global, config, &blueprint, &plan, &keys, &run, &options).await?;
    for name in &kept {
        out.line(&format!(
            "kept: {name} in {home}, left behind in the outage (it may hold writes {} never \
             got; compare before deleting). It is no longer part of stack {stack} and is billed \
             per hour. Delete it after a final snapshot: aws rds delete-db-instance --region \
             {home} --db-instance-identifier {name} --final-db-snapshot-identifier \
             {name}-final (a read replica takes --skip-final-snapshot instead)",
            plan.current.identifier
        ));
    }
    Ok(())
}

/// Removes the DR Region's app tier (its DR network stays), then creates the cross-Region
/// replica of the new primary in it.
async fn make_dr_again(
    global: &Global,
    config: &Config,
    blueprint: &haven_model::blueprint::Blueprint,
    plan: &Failback,
    keys: &BTreeMap<String, String>,
    run: &Converge,
    options: &haven_aws::ExecuteOptions,
) -> Result<(), Fatal> {
    let out = &run.out;
    let stack = blueprint.name();
    let (home, dr) = (&plan.home, &plan.dr);
    let both = [home.clone(), dr.clone()];
    let (ctx, _, topology) = discover_for(global, config, blueprint, &both).await?;
    let teardown = app_tier_teardown(&topology, stack, dr, true);
    if !teardown.steps.is_empty() {
        out.plan(&table(&teardown, dr));
        let progress = |event: StepEvent<'_>| out.progress(&event);
        let result = haven_aws::destroy(&ctx, &topology, &teardown, options, &progress).await;
        finish(out, &teardown, dr, result, "failback")?;
    }
    let topology = discover_for(global, config, blueprint, &both).await?.2;
    let primary = topology
        .region(home)
        .and_then(|r| r.db_instances.iter().find(|d| d.identifier == plan.replica))
        .ok_or_else(|| Fatal {
            message: format!("{} is not in {home} any more", plan.replica),
            code: 1,
        })?;
    let Some(network) = topology
        .region(dr)
        .and_then(|r| haven_model::dr::network(r, stack))
    else {
        out.line(&format!(
            "{dr} has no DR network of stack {stack}: run `haven up` to build it, then `haven \
             replicate` to replicate {} there",
            plan.replica
        ));
        return Ok(());
    };
    let request =
        failback::dr_replica_request(primary, home, dr, &network, keys.get(dr.as_str()).cloned());
    let waiting = |line: String| out.line(&format!("  {line}"));
    let made = haven_aws::replicate::run(&ctx, &Operation::Replica(request), options, &waiting)
        .await
        .map_err(failed(&format!("the replica of {} in {dr}", plan.replica)))?;
    out.line(&format!(
        "{dr} is a DR Region again: {made} replicates {} from {home}",
        plan.replica
    ));
    Ok(())
}
