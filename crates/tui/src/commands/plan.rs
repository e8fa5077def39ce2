//! `haven plan <blueprint>`: what `haven up` would create, change or delete. The blueprint is
//! read and validated before any AWS configuration is loaded; afterwards only read calls are made.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use haven_aws::{AwsContext, CallerIdentity, DiscoverOptions};
use haven_model::Topology;
use haven_model::blueprint::{self, Blueprint};
use haven_model::plan::dr_network::{DrNetworkPlan, dr_network};
use haven_model::plan::{self, Op, Plan};

use crate::cli::{Fatal, Global, connect, usage};
use crate::config::Config;

/// Arguments of `haven plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The blueprint file (TOML), e.g. assets/blueprints/lab.toml.
    pub blueprint: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = PlanOutput::Table)]
    pub output: PlanOutput,
}

/// How the plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanOutput {
    /// One line per step: op, resource, name, what changes.
    Table,
    /// The plan as JSON.
    Json,
}

/// Reads and validates a blueprint file; user-data paths are resolved next to it. Every problem
/// is a usage error (exit status 2), one line each.
pub fn load_blueprint(path: &Path) -> Result<Blueprint, Fatal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read blueprint {}: {e}", path.display())))?;
    let directory = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let exists = move |relative: &str| directory.join(relative).is_file();
    blueprint::parse(&text, &path.display().to_string(), &exists)
        .map_err(|errors| usage(errors.to_string()))
}

/// Whether a command can go on without IAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamReads {
    /// A plan that cannot see IAM would create what exists: an IAM error stops the command.
    Required,
    /// `failover-region`: IAM's control plane is served from us-east-1, which may be the lost
    /// Region; an IAM error is a warning and the rest goes on.
    Optional,
}

/// Connects for a blueprint (its Region; the global flags still choose profile and endpoint)
/// and discovers `regions` and IAM. A partial discovery is an error: a plan made from it would
/// create what exists or delete what it could not see.
pub async fn discover_for(
    global: &Global,
    config: &Config,
    blueprint: &Blueprint,
    regions: &[String],
) -> Result<(AwsContext, CallerIdentity, Topology), Fatal> {
    let discovered = discover_in(
        global,
        config,
        blueprint,
        blueprint.region(),
        regions,
        IamReads::Required,
        &[],
    )
    .await?;
    Ok((discovered.ctx, discovered.identity, discovered.topology))
}

/// What [`discover_in`] found.
pub struct Discovered {
    /// The connection.
    pub ctx: AwsContext,
    /// Who the credentials are.
    pub identity: CallerIdentity,
    /// What exists in the Regions that answered.
    pub topology: Topology,
    /// What could not be read but was allowed not to be, for people.
    pub warnings: Vec<String>,
    /// The optional Regions that could not be read.
    pub unreadable: Vec<String>,
}

/// [`discover_for`] connected through `home` (STS is asked there: the Region that must answer),
/// reading `regions` only; with [`IamReads::Optional`] IAM errors come back as warnings, and so
/// do the errors of the `optional` Regions (listed in [`Discovered::unreadable`]).
pub async fn discover_in(
    global: &Global,
    config: &Config,
    blueprint: &Blueprint,
    home: &str,
    regions: &[String],
    iam: IamReads,
    optional: &[String],
) -> Result<Discovered, Fatal> {
    let global = Global {
        region: Some(home.to_string()),
        regions: Vec::new(),
        ..global.clone()
    };
    let (ctx, _, identity) = connect(&global, config).await?;
    let options = DiscoverOptions {
        identity: Some(identity.clone()),
        include_iam: true,
        // Route 53 only matters to a stack with a [dns] section (and a user without Route 53
        // rights, or a us-east-1 outage, must not stop the others).
        include_dns: blueprint.dns.is_some(),
        include_alarms: false,
        ..DiscoverOptions::default()
    };
    let mut topology = haven_aws::discover(&ctx, regions, &options).await;
    let mut warnings = Vec::new();
    let optional_regions = optional;
    // ACM only matters to a stack with an [https] section: a user without ACM rights must not
    // be stopped from building a stack that has none.
    let optional = |e: &haven_model::topology::DiscoveryError| {
        (iam == IamReads::Optional && e.service == haven_model::Service::Iam)
            || (blueprint.https.is_none() && e.service == haven_model::Service::Acm)
    };
    for error in topology.errors.iter().filter(|e| optional(e)) {
        warnings.push(if error.service == haven_model::Service::Acm {
            format!(
                "ACM certificates could not be read in {} ({}: {}); the blueprint has no \
                 [https], so none are needed",
                error.region.as_deref().unwrap_or("?"),
                error.operation,
                error.message
            )
        } else {
            format!(
                "IAM could not be read ({}: {}); going on without it: the IAM entities the \
                 blueprint names are assumed to exist as they are",
                error.operation, error.message
            )
        });
    }
    topology.errors.retain(|e| !optional(e));
    let mut unreadable: Vec<String> = Vec::new();
    for error in &topology.errors {
        if let Some(region) = error
            .region
            .as_ref()
            .filter(|r| optional_regions.contains(r))
            && !unreadable.contains(region)
        {
            warnings.push(format!(
                "{region} could not be read ({} {}: {}): nothing is done there this time",
                error.service, error.operation, error.message
            ));
            unreadable.push(region.clone());
        }
    }
    topology
        .errors
        .retain(|e| e.region.as_ref().is_none_or(|r| !unreadable.contains(r)));
    if !topology.errors.is_empty() {
        let parts: Vec<String> = topology
            .errors
            .iter()
            .map(|e| format!("{} {}: {}", e.service, e.operation, e.message))
            .collect();
        return Err(Fatal {
            message: format!(
                "part of what exists could not be read, so the plan would be wrong: {}",
                parts.join("; ")
            ),
            code: 1,
        });
    }
    // Whether a same-named IAM entity was adopted earlier shows only in its tags.
    if let Err(e) = haven_aws::read_iam_tags(&ctx, blueprint, &mut topology).await {
        let message = Fatal::from(e).message;
        if iam == IamReads::Required {
            return Err(Fatal {
                message: format!(
                    "the tags of the blueprint's IAM entities could not be read, so haven \
                     cannot tell whether they are the stack's: {message}"
                ),
                code: 1,
            });
        }
        warnings.push(format!(
            "the tags of the blueprint's IAM entities could not be read ({message}); going on"
        ));
    }
    Ok(Discovered {
        ctx,
        identity,
        topology,
        warnings,
        unreadable,
    })
}

/// The message that stops `plan` and `up` when the blueprint names IAM entities that exist but
/// are not the stack's; `None` when there are none.
pub fn conflicts_message(plan: &Plan) -> Option<String> {
    if plan.conflicts.is_empty() {
        return None;
    }
    let lines: Vec<String> = plan
        .conflicts
        .iter()
        .map(|c| format!("  {}", c.describe()))
        .collect();
    Some(format!(
        "the blueprint names {} IAM entit{} that exist but are not stack {}'s (not under path \
         {}, not tagged {}={}): someone else may use them, and haven up would change them:\n{}\n\
         Nothing was sent. Rename them in the blueprint, or run `haven up --adopt` to take them \
         over (they become the stack's: tagged, and deleted by `haven down`)",
        plan.conflicts.len(),
        if plan.conflicts.len() == 1 {
            "y"
        } else {
            "ies"
        },
        plan.stack,
        plan::iam_path(&plan.stack),
        plan::STACK_TAG,
        plan.stack,
        lines.join("\n")
    ))
}

/// Validates the blueprint, discovers its Regions (its own and its `[dr]` ones) and IAM, and
/// prints the plan, then the DR network's in each DR Region (table output). No mutating call.
pub async fn run(global: &Global, config: &Config, args: &PlanArgs) -> Result<(), Fatal> {
    let blueprint = load_blueprint(&args.blueprint)?;
    let region = blueprint.region().to_string();
    let regions = stack_regions(&blueprint);
    let (_, _, topology) = discover_for(global, config, &blueprint, &regions).await?;
    let plan = plan::plan(&blueprint, &topology);
    match args.output {
        PlanOutput::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ),
        PlanOutput::Table => {
            print!("{}", table(&plan, &region));
            for dr in regions.iter().skip(1) {
                match dr_network(&blueprint, &topology, dr) {
                    DrNetworkPlan::Skip(why) => println!("{why}"),
                    DrNetworkPlan::Build { plan, .. } => {
                        println!("DR network (built by haven up):");
                        print!("{}", table(&plan, dr));
                    }
                }
            }
        }
    }
    match conflicts_message(&plan) {
        Some(message) => Err(Fatal { message, code: 1 }),
        None => Ok(()),
    }
}

/// The plan for people: a summary line, then one line per step.
pub fn table(plan: &Plan, region: &str) -> String {
    let mut out = format!(
        "plan for stack {} in {region}: {} to create, {} to update, {} to delete, {} unchanged\n",
        plan.stack,
        plan.count(Op::Create),
        plan.count(Op::Update),
        plan.count(Op::Delete),
        plan.count(Op::Unchanged),
    );
    let resources: Vec<String> = plan.steps.iter().map(|s| s.resource.to_string()).collect();
    let width = resources.iter().map(String::len).max().unwrap_or(0);
    for (step, resource) in plan.steps.iter().zip(&resources) {
        out.push_str(&format!(
            "{:<9}  {resource:<width$}  {}\n",
            step.op.as_str(),
            step.detail
        ));
    }
    out
}

/// The blueprint's Region, then its `[dr]` Regions.
pub(crate) fn stack_regions(blueprint: &Blueprint) -> Vec<String> {
    let mut regions = vec![blueprint.region().to_string()];
    if let Some(dr) = &blueprint.dr {
        for region in &dr.regions {
            if !regions.contains(region) {
                regions.push(region.clone());
            }
        }
    }
    regions
}
