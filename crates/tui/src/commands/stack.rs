//! `haven up <blueprint>` builds or updates a stack; `haven down` removes everything tagged with
//! it. Both show the plan first, print a line per step as it finishes, and can be interrupted
//! and run again: the next run discovers what exists and carries on from there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use haven_aws::{Applied, ApplyError, Desired, ExecuteOptions, StepEvent, StepStatus};
use haven_model::blueprint::Blueprint;
use haven_model::plan::dr_network::{self, DrNetworkPlan};
use haven_model::plan::{self, Op, Plan, TeardownOptions};
use serde_json::{Value, json};

use super::plan::{
    Discovered, IamReads, conflicts_message, discover_for, discover_in, load_blueprint,
    stack_regions, table,
};
use crate::cli::{Fatal, Global, connect, usage};
use crate::config::Config;
use haven_replicate::failover;

/// How `up` and `down` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StackOutput {
    /// The plan, then one line per step.
    Text,
    /// Progress on stderr; one JSON document on stdout at the end.
    Json,
}

/// Arguments of `haven up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// The blueprint file (TOML), e.g. assets/blueprints/lab.toml.
    pub blueprint: PathBuf,
    /// Delete what the blueprint no longer has without asking.
    #[arg(long)]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = StackOutput::Text)]
    pub output: StackOutput,
    /// Longest wait for one resource (NAT gateway, database, …), in seconds.
    #[arg(long, default_value_t = 3600)]
    pub wait_timeout: u64,
    /// Take over the IAM role, instance profile, group and users the blueprint names that
    /// exist but are not the stack's (tag them, or move a group to the stack's path), and
    /// change them as the blueprint says. Without it, `up` stops before sending anything.
    #[arg(long)]
    pub adopt: bool,
}

/// Arguments of `haven down`.
#[derive(Debug, clap::Args)]
pub struct DownArgs {
    /// The blueprint the stack was built from (its name and Regions are used).
    #[arg(required_unless_present = "stack", conflicts_with = "stack")]
    pub blueprint: Option<PathBuf>,
    /// The stack name instead of a blueprint; the Regions come from --region / --regions.
    #[arg(long)]
    pub stack: Option<String>,
    /// Do not ask: for scripts.
    #[arg(long)]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = StackOutput::Text)]
    pub output: StackOutput,
    /// Longest wait for one resource to be deleted, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub wait_timeout: u64,
    /// Delete the databases without a final snapshot and with their automated backups: their
    /// data is gone for good. By default RDS keeps a final snapshot `<id>-final-<UTC time>` and
    /// the automated backups.
    #[arg(long)]
    pub no_final_snapshot: bool,
    /// Turn deletion protection off and delete databases that have it on (without it, `down`
    /// stops before sending anything).
    #[arg(long)]
    pub force: bool,
    /// Also delete the cross-Region read replicas `haven replicate` made of the stack's
    /// databases (billed per hour). Other DR copies are listed with how to remove them.
    #[arg(long)]
    pub include_dr_copies: bool,
}

/// Reads the user-data script the blueprint names, next to the blueprint.
pub(super) fn user_data(path: &Path, blueprint: &Blueprint) -> Result<Option<String>, Fatal> {
    let Some(file) = &blueprint.compute.user_data_file else {
        return Ok(None);
    };
    let full = path.parent().unwrap_or(Path::new(".")).join(file);
    std::fs::read_to_string(&full)
        .map(Some)
        .map_err(|e| usage(format!("cannot read user data {}: {e}", full.display())))
}

/// `haven up`: validate, discover, plan, then carry the plan out.
pub async fn up(global: &Global, config: &Config, args: &UpArgs) -> Result<(), Fatal> {
    let blueprint = load_blueprint(&args.blueprint)?;
    let user_data = user_data(&args.blueprint, &blueprint)?;
    let regions = stack_regions(&blueprint);
    // A DR Region that does not answer does not stop the stack's own `up`: its DR network
    // waits for the next run.
    let Discovered {
        ctx,
        topology,
        warnings,
        unreadable,
        ..
    } = discover_in(
        global,
        config,
        &blueprint,
        blueprint.region(),
        &regions,
        IamReads::Required,
        &regions[1..],
    )
    .await?;
    let run = Converge {
        read_only: global.read_only || config.read_only,
        yes: args.yes,
        out: Printer::new(args.output),
        wait_timeout: args.wait_timeout,
        adopt: args.adopt,
        skip_iam: false,
    };
    for warning in &warnings {
        run.out.line(&format!("warning: {warning}"));
    }
    refuse_during_deploy(&topology, &blueprint, &args.blueprint)?;
    run.apply(&ctx, &blueprint, user_data.as_deref(), &topology, "up")
        .await?;
    run.dr_networks(&ctx, &blueprint, &topology, &unreadable)
        .await
}

/// `haven up` while a deploy runs would change the groups and weights the deploy is changing.
fn refuse_during_deploy(
    topology: &haven_model::Topology,
    blueprint: &Blueprint,
    path: &Path,
) -> Result<(), Fatal> {
    let running = topology
        .regions
        .iter()
        .filter(|r| r.region == blueprint.region())
        .flat_map(|r| haven_model::deploy::DeployState::running(r, blueprint.name()))
        .next();
    match running {
        None => Ok(()),
        Some(deploy) => Err(usage(format!(
            "deploy {} of stack {} is running (step {}): `haven up` would change what it is              changing. Finish it or roll it back first (`haven deploy {} --finish` or              `--rollback`). Nothing was sent.",
            deploy.id,
            blueprint.name(),
            deploy.step,
            path.display()
        ))),
    }
}

/// How a blueprint is brought about: shared by `up` and `failover-region`.
pub(super) struct Converge {
    pub(super) read_only: bool,
    pub(super) yes: bool,
    pub(super) out: Printer,
    pub(super) wait_timeout: u64,
    /// Take over same-named IAM entities that are not the stack's (`up --adopt`).
    pub(super) adopt: bool,
    /// Leave IAM out of the plan: a failover while IAM does not answer (IAM is global and was
    /// built by `up` in the primary Region).
    pub(super) skip_iam: bool,
}

impl Converge {
    /// Plans `blueprint` against `topology`, prints the plan and carries it out.
    pub(super) async fn apply(
        &self,
        ctx: &haven_aws::AwsContext,
        blueprint: &Blueprint,
        user_data: Option<&str>,
        topology: &haven_model::Topology,
        command: &str,
    ) -> Result<(), Fatal> {
        let mut plan = plan::plan(blueprint, topology);
        if self.skip_iam {
            plan.steps.retain(|s| s.region.is_some());
            plan.conflicts.clear();
        }
        self.carry_out(ctx, blueprint, user_data, topology, &plan, command)
            .await
    }

    /// Builds the stack's DR network in each `[dr]` Region (see
    /// [`haven_model::plan::dr_network`]): the data tier a cross-Region replica is created in
    /// and a failover builds the app tier into.
    pub(super) async fn dr_networks(
        &self,
        ctx: &haven_aws::AwsContext,
        blueprint: &Blueprint,
        topology: &haven_model::Topology,
        unreadable: &[String],
    ) -> Result<(), Fatal> {
        for region in stack_regions(blueprint).iter().skip(1) {
            if unreadable.contains(region) {
                self.out.line(&format!(
                    "{region}: DR network not checked ({region} could not be read); run `haven \
                     up` again once it answers"
                ));
                continue;
            }
            match dr_network::dr_network(blueprint, topology, region) {
                DrNetworkPlan::Skip(why) => self.out.line(&why),
                DrNetworkPlan::Build { blueprint, plan } => {
                    self.out.line(&format!(
                        "DR network of stack {} in {region}: VPC, private subnets, DB subnet \
                         group and security groups, for the cross-Region replica and a failover",
                        plan.stack
                    ));
                    let dr = Converge {
                        out: self.out.without_summary(),
                        ..*self
                    };
                    dr.carry_out(ctx, &blueprint, None, topology, &plan, "up")
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Prints `plan` and carries it out.
    pub(super) async fn carry_out(
        &self,
        ctx: &haven_aws::AwsContext,
        blueprint: &Blueprint,
        user_data: Option<&str>,
        topology: &haven_model::Topology,
        plan: &Plan,
        command: &str,
    ) -> Result<(), Fatal> {
        let region = blueprint.region();
        let out = &self.out;
        out.plan(&table(plan, region));
        let blockers: Vec<String> = plan
            .blockers()
            .map(|s| format!("{}: {}", s.resource, s.detail))
            .collect();
        if !blockers.is_empty() {
            return Err(Fatal {
                message: format!("cannot apply: {}. Nothing was sent.", blockers.join("; ")),
                code: 1,
            });
        }
        if !self.adopt
            && let Some(message) = conflicts_message(plan)
        {
            return Err(Fatal { message, code: 1 });
        }
        let protected = plan::deletion_protected(topology, plan);
        if !protected.is_empty() {
            return Err(Fatal {
                message: format!(
                    "the blueprint no longer has {}, which has deletion protection on: haven up \
                     does not turn it off. Nothing was sent. Turn the protection off yourself if \
                     it is really to go (its final snapshot is kept), or put it back in the \
                     blueprint",
                    protected.join(", ")
                ),
                code: 1,
            });
        }
        if self.adopt && !plan.conflicts.is_empty() {
            out.line(&format!(
                "--adopt: taking over {} for stack {} (they become the stack's: tagged, and \
                 deleted by `haven down`)",
                plan.conflicts
                    .iter()
                    .map(|c| c.resource.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                plan.stack
            ));
        }
        if !plan.has_changes() {
            out.line(&format!(
                "stack {} is up to date: nothing to do",
                plan.stack
            ));
            out.summary(plan, region, &Applied::default());
            return Ok(());
        }
        if self.read_only {
            return Err(usage(format!(
                "read-only mode: refusing to change stack {} ({} step(s)); nothing was sent",
                plan.stack,
                plan.steps.iter().filter(|s| s.op != Op::Unchanged).count()
            )));
        }
        let deletes = plan.count(Op::Delete);
        if deletes > 0 && !self.yes {
            confirm(
                &plan.stack,
                &format!("delete {deletes} resource(s) the blueprint no longer has"),
            )?;
        }
        let desired = Desired {
            blueprint,
            user_data,
        };
        let options = options(self.wait_timeout);
        let progress = |event: StepEvent<'_>| out.progress(&event);
        let result = tokio::select! {
            result = haven_aws::apply(ctx, desired, topology, plan, &options, &progress) => result,
            _ = tokio::signal::ctrl_c() => return Err(out.interrupted(command)),
        };
        finish(out, plan, region, result, command)
    }
}

/// Arguments of `haven failover-region`.
#[derive(Debug, clap::Args)]
pub struct FailoverArgs {
    /// The blueprint of the stack in its primary Region.
    pub blueprint: PathBuf,
    /// The DR Region to run the stack in, e.g. us-east-1 (default: the blueprint's first `[dr]`
    /// Region).
    #[arg(long)]
    pub to: Option<String>,
    /// Do not ask (promotion cannot be undone): for scripts.
    #[arg(long)]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = StackOutput::Text)]
    pub output: StackOutput,
    /// Longest wait for one resource, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub wait_timeout: u64,
}

/// `haven failover-region`: promote the stack's DR replica, then build the app tier in the DR
/// Region from the copied AMI with the same blueprint, the promoted database as its database.
/// Only the DR Region is read: the primary may be gone.
pub async fn failover_region(
    global: &Global,
    config: &Config,
    args: &FailoverArgs,
) -> Result<(), Fatal> {
    let blueprint = load_blueprint(&args.blueprint)?;
    let user_data = user_data(&args.blueprint, &blueprint)?;
    let Some(to) = args.to.clone().or_else(|| {
        blueprint
            .dr
            .as_ref()
            .and_then(|dr| dr.regions.first().cloned())
    }) else {
        return Err(usage(
            "give the DR Region with --to REGION (e.g. --to us-east-1), or a [dr] section in \
             the blueprint"
                .to_string(),
        ));
    };
    crate::cli::check_region("--to", &to)?;
    if to == blueprint.region() {
        return Err(usage(format!(
            "--to {to}: expected a DR Region other than {}, e.g. us-east-1",
            blueprint.region()
        )));
    }
    let read_only = global.read_only || config.read_only;
    if read_only {
        return Err(usage(format!(
            "read-only mode: refusing to fail stack {} over to {to}; nothing was sent",
            blueprint.name()
        )));
    }
    let started = std::time::Instant::now();
    let out = Printer::new(args.output);
    // Everything goes to the DR Region: STS is asked there, only it is discovered, and IAM
    // (served from us-east-1, which may be the Region lost) may fail without stopping it.
    let dr_only = std::slice::from_ref(&to);
    let Discovered {
        ctx,
        topology,
        warnings,
        ..
    } = discover_in(
        global,
        config,
        &blueprint,
        &to,
        dr_only,
        IamReads::Optional,
        &[],
    )
    .await?;
    for warning in &warnings {
        out.line(&format!("warning: {warning}"));
    }
    let target = failover::target(&blueprint, &topology, &to)
        .map_err(|message| Fatal { message, code: 1 })?;
    out.line(&target.describe(&blueprint, &to));
    for line in super::traffic::preview(&ctx, blueprint.name(), &to).await {
        out.line(&line);
    }
    if !args.yes {
        confirm(
            blueprint.name(),
            &format!(
                "promote {} (replication from {} stops for good) and run stack {} in {to}",
                target.database,
                blueprint.region(),
                blueprint.name()
            ),
        )?;
    }
    let options = options(args.wait_timeout);
    if let Some(action) = &target.promote {
        let progress = |p: haven_model::action::Progress| {
            out.line(&format!(
                "promote {}: {}: {}",
                target.database, p.step, p.message
            ))
        };
        haven_aws::execute(&ctx, action, &options, &progress)
            .await
            .map_err(|e| {
                let mut fatal = Fatal::from(e);
                fatal.message = format!(
                    "promoting {} failed: {}. Nothing else was changed",
                    target.database, fatal.message
                );
                fatal
            })?;
    }
    // Read the DR Region again: the database changed.
    let dr = blueprint.failover_to(&to, &target.azs, target.image.as_deref(), &target.database);
    let Discovered {
        ctx,
        topology,
        warnings,
        ..
    } = discover_in(global, config, &dr, &to, dr_only, IamReads::Optional, &[]).await?;
    let run = Converge {
        read_only,
        yes: true,
        out,
        wait_timeout: args.wait_timeout,
        adopt: false,
        skip_iam: !warnings.is_empty(),
    };
    run.apply(
        &ctx,
        &dr,
        user_data.as_deref(),
        &topology,
        "failover-region",
    )
    .await?;
    let app_up = started.elapsed();
    // Users follow the stack (the DR Region and Route 53 are read again: its load balancer is
    // new).
    super::traffic::move_users(&ctx, &dr, &to, &|line: &str| run.out.line(line), &options).await?;
    run.out.line(&format!(
        "stack {} runs in {to}. RTO achieved: {} (from the start of failover-region until the \
         app tier there was up; {} until users were sent there). Data-loss window: {}",
        blueprint.name(),
        haven_model::wait::elapsed_words(app_up),
        haven_model::wait::elapsed_words(started.elapsed()),
        failover::data_loss_window(&target, &to)
    ));
    Ok(())
}

/// `haven down`: everything tagged with the stack, in dependency order, after confirmation.
/// Databases keep a final snapshot and their automated backups unless `--no-final-snapshot`; a
/// database with deletion protection stops `down` unless `--force`; a Region a failover made the
/// stack's home is left alone unless named with `--region` / `--regions`. At the end, the DR
/// copies that stay (and what they cost) are listed.
pub async fn down(global: &Global, config: &Config, args: &DownArgs) -> Result<(), Fatal> {
    let read_only = global.read_only || config.read_only;
    let mut named_regions: Vec<String> = global.regions.clone();
    named_regions.extend(global.region.clone());
    let (ctx, topology, stack, regions) = match (&args.blueprint, &args.stack) {
        (Some(path), _) => {
            let blueprint = load_blueprint(path)?;
            let mut regions = vec![blueprint.region().to_string()];
            if let Some(dr) = &blueprint.dr {
                regions.extend(dr.regions.iter().cloned());
            }
            for region in &named_regions {
                if !regions.contains(region) {
                    regions.push(region.clone());
                }
            }
            let (ctx, _, topology) = discover_for(global, config, &blueprint, &regions).await?;
            (ctx, topology, blueprint.name().to_string(), regions)
        }
        (None, Some(stack)) => {
            let (ctx, regions, identity) = connect(global, config).await?;
            let options = haven_aws::DiscoverOptions {
                identity: Some(identity),
                include_iam: true,
                ..haven_aws::DiscoverOptions::default()
            };
            let topology = haven_aws::discover(&ctx, &regions, &options).await;
            if let Some(error) = topology.errors.first() {
                return Err(Fatal {
                    message: format!(
                        "part of the stack could not be read ({} {}: {}), so some of it would \
                         be left behind; nothing was deleted",
                        error.service, error.operation, error.message
                    ),
                    code: 1,
                });
            }
            (ctx, topology, stack.clone(), regions)
        }
        (None, None) => return Err(usage("give a blueprint or --stack NAME".to_string())),
    };
    let teardown = plan::teardown_with(
        &topology,
        &stack,
        &TeardownOptions {
            keep_data: !args.no_final_snapshot,
            named_regions,
            include_dr_copies: args.include_dr_copies,
        },
    );
    let plan = &teardown.plan;
    let out = Printer::new(args.output);
    let where_ = regions.join(", ");
    out.plan(&table(plan, &where_));
    for kept in &teardown.kept_regions {
        out.line(kept);
    }
    if plan.steps.is_empty() {
        out.line(&format!(
            "nothing is tagged {}={stack} in {where_}: nothing to delete",
            plan::STACK_TAG
        ));
        out.left_behind(&teardown.left_behind);
        out.summary(plan, &where_, &Applied::default());
        return Ok(());
    }
    let protected = plan::deletion_protected(&topology, plan);
    if !protected.is_empty() && !args.force {
        return Err(Fatal {
            message: format!(
                "{} deletion protection on, so haven down stops here; nothing was sent. To keep \
                 the stack, do nothing. To delete it: set deletion_protection = false in the \
                 blueprint and run `haven up`, or run `haven down --force` (protection is turned \
                 off, then the database deleted{})",
                match protected.as_slice() {
                    [one] => format!("database {one} has"),
                    many => format!("databases {} have", many.join(", ")),
                },
                if args.no_final_snapshot {
                    ""
                } else {
                    " after a final snapshot"
                }
            ),
            code: 1,
        });
    }
    if read_only {
        return Err(usage(format!(
            "read-only mode: refusing to delete stack {stack} ({} step(s)); nothing was sent",
            plan.steps.len()
        )));
    }
    let snapshots: Vec<&str> = plan
        .steps
        .iter()
        .filter_map(|s| s.retain.as_ref()?.final_snapshot.as_deref())
        .collect();
    let databases: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.retain.is_some())
        .map(|s| s.name.as_str())
        .collect();
    let keeps = if databases.is_empty() {
        String::new()
    } else if args.no_final_snapshot {
        format!(
            ", with NO final snapshot: the data of {} is gone for good",
            databases.join(", ")
        )
    } else if snapshots.is_empty() {
        String::new()
    } else {
        format!(
            ", keeping the final snapshot(s) {} and the automated backups",
            snapshots.join(", ")
        )
    };
    if !args.yes {
        confirm(
            &stack,
            &format!(
                "delete every resource of stack {stack} ({} step(s)){keeps}",
                plan.steps.len()
            ),
        )?;
    } else if !keeps.is_empty() {
        out.line(&format!("deleting stack {stack}{keeps}"));
    }
    let options = options(args.wait_timeout);
    let progress = |event: StepEvent<'_>| out.progress(&event);
    let result = haven_aws::destroy(&ctx, &topology, plan, &options, &progress).await;
    let done = finish(&out, plan, &where_, result, "down");
    out.left_behind(&teardown.left_behind);
    done
}

pub(super) fn options(wait_timeout: u64) -> ExecuteOptions {
    ExecuteOptions {
        max_wait: Duration::from_secs(wait_timeout),
        ..ExecuteOptions::default()
    }
}

/// Asks for the stack name on the terminal; without a terminal, `--yes` is required.
pub(super) fn confirm(stack: &str, what: &str) -> Result<(), Fatal> {
    let answer = crate::cli::ask(what, &format!("Type the stack name ({stack}) to go on:"))?;
    if answer == stack {
        Ok(())
    } else {
        Err(usage(format!(
            "confirmation {answer:?} is not {stack:?}: nothing was sent"
        )))
    }
}

pub(super) fn finish(
    out: &Printer,
    plan: &Plan,
    region: &str,
    result: Result<Applied, ApplyError>,
    command: &str,
) -> Result<(), Fatal> {
    match result {
        Ok(applied) => {
            out.line(&format!(
                "stack {}: {} step(s) done with {} call(s)",
                plan.stack, applied.changed, applied.mutating_calls
            ));
            out.summary(plan, region, &applied);
            Ok(())
        }
        Err(failure) => {
            out.summary(plan, region, &failure.applied);
            Err(Fatal {
                message: format!(
                    "{command} stopped at step {} of {} ({}): {}. {} step(s) were done{}; run \
                     `haven {command}` again to carry on from there",
                    failure.index + 1,
                    plan.steps.len(),
                    failure.step,
                    Fatal::from(failure.error).message,
                    failure.applied.changed,
                    out.still_in_progress(Some(failure.index))
                ),
                code: 1,
            })
        }
    }
}

/// Where each kind of output goes: with `--output json` stdout holds only the final document.
pub(super) struct Printer {
    output: StackOutput,
    /// Print the JSON summary (`--output json`): only the main plan's, so that stdout holds
    /// one document.
    json_summary: bool,
    /// The last state of every wait still going on, by step: what AWS is doing.
    waits: std::sync::Mutex<std::collections::BTreeMap<usize, String>>,
}

impl Printer {
    pub(super) fn new(output: StackOutput) -> Self {
        Self {
            output,
            json_summary: true,
            waits: std::sync::Mutex::default(),
        }
    }

    /// The same output, without a JSON summary of its own.
    pub(super) fn without_summary(&self) -> Self {
        Self {
            json_summary: false,
            ..Self::new(self.output)
        }
    }

    /// "; AWS is still working on: …" for the waits cut short (but the step that failed), or
    /// nothing.
    fn still_in_progress(&self, failed: Option<usize>) -> String {
        let mut waits = self.waits.lock().map(|w| w.clone()).unwrap_or_default();
        if let Some(index) = failed {
            waits.remove(&index);
        }
        if waits.is_empty() {
            return String::new();
        }
        let list: Vec<String> = waits.into_values().collect();
        format!("; AWS is still working on: {}", list.join("; "))
    }

    /// Ctrl-C: what AWS goes on doing, and that the next run follows it.
    fn interrupted(&self, command: &str) -> Fatal {
        let doing = self.still_in_progress(None);
        Fatal {
            message: format!(
                "interrupted: haven stopped waiting, AWS did not stop{doing}. Run `haven \
                 {command}` again: it finds what exists and follows what is in progress to the end"
            ),
            code: 130,
        }
    }

    pub(super) fn line(&self, text: &str) {
        match self.output {
            StackOutput::Text => println!("{text}"),
            StackOutput::Json => eprintln!("{text}"),
        }
    }

    pub(super) fn plan(&self, table: &str) {
        self.line(table.trim_end());
    }

    pub(super) fn progress(&self, event: &StepEvent<'_>) {
        let width = event.total.to_string().len();
        let head = format!(
            "[{:>width$}/{}] {:<6} {}",
            event.index + 1,
            event.total,
            event.step.op.as_str(),
            event.step.resource
        );
        if let Ok(mut waits) = self.waits.lock() {
            match &event.status {
                StepStatus::Waiting(what) => {
                    waits.insert(event.index, format!("{} ({what})", event.step.resource));
                }
                _ => {
                    waits.remove(&event.index);
                }
            }
        }
        match &event.status {
            StepStatus::Started => {}
            StepStatus::Waiting(what) => self.line(&format!("{head}  waiting for {what}")),
            StepStatus::Done(Some(id)) => self.line(&format!("{head}  done ({id})")),
            StepStatus::Done(None) => self.line(&format!("{head}  done")),
        }
    }

    /// The DR copies `down` does not delete, what they cost and how to remove them.
    fn left_behind(&self, copies: &[plan::DrCopy]) {
        if copies.is_empty() {
            return;
        }
        self.line(&format!(
            "left behind: {} DR copy(ies) of the stack that haven down does not delete; they \
             cost money until removed:",
            copies.len()
        ));
        for copy in copies {
            self.line(&format!(
                "  {} {}: {}. Remove: {}",
                copy.region, copy.what, copy.cost, copy.remove
            ));
        }
    }

    fn summary(&self, plan: &Plan, region: &str, applied: &Applied) {
        if self.output != StackOutput::Json || !self.json_summary {
            return;
        }
        println!("{:#}", summary_json(plan, region, applied));
    }
}

fn summary_json(plan: &Plan, region: &str, applied: &Applied) -> Value {
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            json!({
                "op": s.op,
                "resource": s.resource.to_string(),
                "name": s.name,
                "id": applied.ids.get(&s.resource).or(s.id.as_ref()),
                "detail": s.detail,
            })
        })
        .collect();
    json!({
        "stack": plan.stack,
        "region": region,
        "changed": applied.changed,
        "mutating_calls": applied.mutating_calls,
        "steps": steps,
    })
}
