//! `haven deploy BLUEPRINT`: a new version to production without downtime — rolling (instance
//! refresh, or haven's batches), blue/green or canary — with health gates at every step and an
//! automatic rollback. The deploy's state lives in AWS (tags, listener weights): running the
//! command again resumes it, `--status` reports it, `--pause`, `--resume`, `--rollback` and
//! `--finish` act on it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use clap::ValueEnum;
use haven_aws::{AwsContext, AwsError, CallerIdentity, DiscoverOptions, ExecuteOptions};
use haven_model::RegionTopology;
use haven_model::action::{Outcome, Progress};
use haven_model::blueprint::{AmiSource, Blueprint};
use haven_model::deploy::{
    self, DeployCall, DeploySpec, DeployState, Gate, GateResult, NewVersion, Next, RollingMode,
    Signals, Strategy,
};
use serde_json::{Value, json};

use super::act::ActionLog;
use super::plan::load_blueprint;
use crate::cli::{Fatal, Global, ask, connect, usage};
use crate::config::Config;

/// How a deploy goes to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// A green group beside blue, traffic shifted by listener weights in steps.
    BlueGreen,
    /// Blue/green with a small first step and a long bake.
    Canary,
    /// Replace the group's instances in place.
    Rolling,
}

/// How a rolling deploy replaces instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RollingModeArg {
    /// EC2 Auto Scaling instance refresh.
    InstanceRefresh,
    /// haven's batches (where instance refresh is not available).
    Batches,
}

/// How `deploy` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeployOutput {
    /// A line per step.
    Text,
    /// Progress on stderr; one JSON document on stdout.
    Json,
}

/// Arguments of `haven deploy`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").args(["dry_run", "status", "pause", "resume", "rollback", "finish"])))]
pub struct DeployArgs {
    /// The stack's blueprint: its name and Region (and `[compute] ami` when no version is given).
    pub blueprint: PathBuf,
    /// The AMI to deploy (a launch template version with it is made).
    #[arg(long, value_name = "AMI", conflicts_with = "launch_template_version")]
    pub image: Option<String>,
    /// An existing version of the group's launch template to deploy.
    #[arg(long, value_name = "N")]
    pub launch_template_version: Option<i64>,
    /// How the new version reaches production.
    #[arg(long, value_enum, default_value_t = StrategyArg::BlueGreen)]
    pub strategy: StrategyArg,
    /// Blue/green: green's share of the traffic at each step, in percent, ending at 100.
    #[arg(long, value_delimiter = ',', default_value = "10,50,100")]
    pub steps: Vec<u8>,
    /// Canary: green's first share, in percent.
    #[arg(long, default_value_t = 10)]
    pub canary: u8,
    /// How long each traffic step is watched (default 5m; canary 30m), e.g. 90s, 5m, 1h.
    #[arg(long, value_name = "DURATION")]
    pub bake: Option<String>,
    /// Rolling: instance refresh, or haven's batches.
    #[arg(long, value_enum, default_value_t = RollingModeArg::InstanceRefresh)]
    pub rolling_mode: RollingModeArg,
    /// Rolling: instances per batch.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Rolling: percentage of the group kept healthy throughout.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_healthy: u8,
    /// Blue/green: scale blue to zero once green has all the traffic (else it is kept at its
    /// size until --finish, for an instant rollback).
    #[arg(long)]
    pub scale_in_blue: bool,
    /// How long new instances get to become healthy before the deploy rolls back.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub health_timeout: String,
    /// A CloudWatch alarm that must not be in ALARM at any step (repeatable).
    #[arg(long = "alarm", value_name = "NAME")]
    pub alarms: Vec<String>,
    /// How often AWS is read while waiting.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub poll: String,
    /// Print every step and call; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Report where the stack's deploys stand; send nothing.
    #[arg(long)]
    pub status: bool,
    /// Pause the running deploy: no step starts until --resume (a failing gate still rolls back).
    #[arg(long)]
    pub pause: bool,
    /// Resume a paused deploy (and follow it).
    #[arg(long)]
    pub resume: bool,
    /// Put everything back on the old version now.
    #[arg(long)]
    pub rollback: bool,
    /// Once green has all the traffic and was watched: delete blue.
    #[arg(long)]
    pub finish: bool,
    /// Do not ask before starting (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = DeployOutput::Text)]
    pub output: DeployOutput,
}

/// Everything checked before AWS is asked anything.
struct Request {
    blueprint: Blueprint,
    bake: Duration,
    health_timeout: Duration,
    poll: Duration,
}

fn duration(flag: &str, text: &str) -> Result<Duration, Fatal> {
    haven_model::duration::parse(text).map_err(|e| usage(format!("{flag}: {e}")))
}

fn request(args: &DeployArgs) -> Result<Request, Fatal> {
    let blueprint = load_blueprint(&args.blueprint)?;
    let default_bake = match args.strategy {
        StrategyArg::Canary => "30m",
        _ => "5m",
    };
    let bake = duration("--bake", args.bake.as_deref().unwrap_or(default_bake))?;
    let health_timeout = duration("--health-timeout", &args.health_timeout)?;
    let poll = duration("--poll", &args.poll)?;
    if poll.is_zero() {
        return Err(usage("--poll 0: expected a pause such as 5s or 15s".into()));
    }
    if let Some(ami) = &args.image
        && !is_ami_id(ami)
    {
        return Err(usage(format!(
            "--image {ami:?} is not an AMI id; expected e.g. ami-0123456789abcdef0"
        )));
    }
    if !matches!(args.strategy, StrategyArg::Canary) || (1..100).contains(&args.canary) {
        Ok(Request {
            blueprint,
            bake,
            health_timeout,
            poll,
        })
    } else {
        Err(usage(format!(
            "--canary {}: green's first share must be between 1 and 99 percent",
            args.canary
        )))
    }
}

fn is_ami_id(text: &str) -> bool {
    text.strip_prefix("ami-")
        .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The strategy asked for, or (when resuming without flags) the one the deploy was started with.
fn strategy(args: &DeployArgs, request: &Request, name: Option<&str>) -> Strategy {
    let chosen = match name {
        Some("rolling") => StrategyArg::Rolling,
        Some("canary") => StrategyArg::Canary,
        Some("blue-green") => StrategyArg::BlueGreen,
        _ => args.strategy,
    };
    let keep_blue = !args.scale_in_blue;
    match chosen {
        StrategyArg::BlueGreen => Strategy::BlueGreen {
            steps: args.steps.clone(),
            bake: request.bake,
            keep_blue,
        },
        StrategyArg::Canary => Strategy::Canary {
            first: args.canary,
            bake: request.bake,
            keep_blue,
        },
        StrategyArg::Rolling => Strategy::Rolling {
            batch: args.batch,
            min_healthy_percent: args.min_healthy,
            mode: match args.rolling_mode {
                RollingModeArg::InstanceRefresh => RollingMode::InstanceRefresh,
                RollingModeArg::Batches => RollingMode::Batches,
            },
        },
    }
}

/// The version asked for: `--image`, `--launch-template-version`, else the blueprint's AMI id.
fn asked_version(args: &DeployArgs, blueprint: &Blueprint) -> Option<NewVersion> {
    if let Some(ami) = &args.image {
        return Some(NewVersion::Image(ami.clone()));
    }
    if let Some(n) = args.launch_template_version {
        return Some(NewVersion::LaunchTemplateVersion(n));
    }
    match &blueprint.compute.ami {
        AmiSource::Id(ami) => Some(NewVersion::Image(ami.clone())),
        AmiSource::SsmParameter(_) => None,
    }
}

fn gates(args: &DeployArgs, strategy: &Strategy) -> Vec<Gate> {
    let mut gates = Gate::defaults();
    if matches!(
        strategy,
        Strategy::Rolling {
            mode: RollingMode::InstanceRefresh,
            ..
        }
    ) {
        gates.push(Gate::InstanceRefresh);
    }
    gates.extend(args.alarms.iter().cloned().map(Gate::Alarm));
    gates
}

/// A new deploy's id: short, as it names green's group and target group.
fn new_id() -> String {
    Utc::now().format("d%m%d%H%M").to_string()
}

/// The connection and the stack's Region as AWS shows it now.
struct Session {
    ctx: AwsContext,
    identity: CallerIdentity,
    region: String,
    stack: String,
    log: PathBuf,
    read_only: bool,
}

impl Session {
    async fn topology(&self) -> Result<RegionTopology, Fatal> {
        let options = DiscoverOptions {
            include_iam: false,
            include_dns: false,
            include_alarms: false,
            identity: Some(self.identity.clone()),
            ..DiscoverOptions::default()
        };
        let topology =
            haven_aws::discover(&self.ctx, std::slice::from_ref(&self.region), &options).await;
        if let Some(error) = topology.errors.first() {
            return Err(Fatal {
                message: format!(
                    "cannot read {}: {} {}: {}",
                    self.region, error.service, error.operation, error.message
                ),
                code: 1,
            });
        }
        topology.regions.into_iter().next().ok_or_else(|| Fatal {
            message: format!("{} was not discovered", self.region),
            code: 1,
        })
    }

    fn options(&self) -> ExecuteOptions {
        ExecuteOptions {
            read_only: self.read_only,
            ..ExecuteOptions::default()
        }
    }

    /// Runs `calls` in order, each logged; stops at the first error.
    async fn run(&self, calls: &[DeployCall], out: &Out) -> Result<(), Fatal> {
        let sink = |p: Progress| out.progress(&p);
        let (result, log_error) = run_calls_logged(
            &self.ctx,
            &self.identity,
            &self.log,
            &self.options(),
            &self.region,
            calls,
            &sink,
        )
        .await;
        if let Some(error) = log_error {
            out.warn(&format!("the action log could not be written: {error}"));
        }
        result.map(|_| ()).map_err(|e| {
            let mut fatal = Fatal::from(e);
            fatal.message = format!(
                "deploy step failed: {}. The deploy's state is in AWS: run the same command \
                 again to resume, or --rollback",
                fatal.message
            );
            fatal
        })
    }
}

/// Runs a deploy's calls in order as `haven act` runs actions: each with its `sent` and `ended`
/// lines in the action log at `log`. Stops at the first error. A write error of the log comes
/// back beside the result. Used by `haven deploy` and the dashboard's deploy keys.
pub async fn run_calls_logged(
    ctx: &AwsContext,
    identity: &CallerIdentity,
    log: &Path,
    options: &ExecuteOptions,
    region: &str,
    calls: &[DeployCall],
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> (Result<Vec<Outcome>, AwsError>, Option<String>) {
    let mut outcomes = Vec::new();
    let mut log_error = None;
    for call in calls {
        let line = ActionLog::for_deploy(log, region, call, identity, ctx.endpoint_url());
        let sink = |p: Progress| {
            if let Some(accepted) = &p.accepted {
                line.sent(accepted);
            }
            progress(p);
        };
        progress(Progress::new(call.name(), call.sentence(), None));
        let result = haven_aws::deploy::run_call(ctx, region, call, options, &sink).await;
        line.ended(&result);
        log_error = log_error.or_else(|| line.error());
        match result {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => return (Err(error), log_error),
        }
    }
    (Ok(outcomes), log_error)
}

/// Lines for people (text) or progress on stderr with a document at the end (JSON).
struct Out {
    output: DeployOutput,
    events: std::sync::Mutex<Vec<Value>>,
}

impl Out {
    fn line(&self, text: &str) {
        match self.output {
            DeployOutput::Text => println!("{text}"),
            DeployOutput::Json => eprintln!("haven: {text}"),
        }
        if let Ok(mut events) = self.events.lock() {
            events.push(json!({ "time": Utc::now().to_rfc3339(), "line": text }));
        }
    }

    fn progress(&self, p: &Progress) {
        eprintln!("haven:   {}: {}", p.step, p.message);
    }

    fn warn(&self, text: &str) {
        eprintln!("haven: warning: {text}");
    }
}

/// `haven deploy`.
pub async fn run(global: &Global, config: &Config, args: &DeployArgs) -> Result<(), Fatal> {
    let request = request(args)?;
    let read_only = global.read_only || config.read_only;
    let sends = !(args.dry_run || args.status);
    if read_only && sends {
        return Err(usage(
            "read-only mode (--read-only or read_only in the config file): a deploy changes \
             AWS, so it was refused and nothing was sent. See it with --dry-run or --status."
                .into(),
        ));
    }
    let region = request.blueprint.region().to_string();
    let connect_as = Global {
        region: Some(region.clone()),
        regions: Vec::new(),
        ..global.clone()
    };
    let (ctx, _, identity) = connect(&connect_as, config).await?;
    let session = Session {
        ctx,
        identity,
        region,
        stack: request.blueprint.name().to_string(),
        log: config.paths.action_log_file(),
        read_only,
    };
    let out = Out {
        output: args.output,
        events: std::sync::Mutex::new(Vec::new()),
    };
    let work = act(&session, args, &request, &out);
    let result = tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(Fatal {
            message: format!(
                "interrupted. The deploy's state is in AWS (tags on the groups, listener \
                 weights): `haven deploy {} …` again resumes it, --status shows where it \
                 stands, --rollback puts everything back",
                args.blueprint.display()
            ),
            code: 130,
        }),
    };
    if args.output == DeployOutput::Json {
        let events = out.events.lock().map(|e| e.clone()).unwrap_or_default();
        let (status, message) = match &result {
            Ok(message) => ("ok", message.clone()),
            Err(fatal) => (
                if fatal.code == 1 { "failed" } else { "refused" },
                fatal.message.clone(),
            ),
        };
        let document = json!({
            "stack": session.stack,
            "region": session.region,
            "status": status,
            "message": message,
            "events": events,
        });
        println!("{document:#}");
    }
    result.map(|message| {
        if args.output == DeployOutput::Text {
            println!("{message}");
        }
    })
}

/// What the flags ask, after the Region is read.
async fn act(
    session: &Session,
    args: &DeployArgs,
    request: &Request,
    out: &Out,
) -> Result<String, Fatal> {
    let region = session.topology().await?;
    if args.status {
        return Ok(status(&region, &session.stack));
    }
    let running = DeployState::running(&region, &session.stack);
    if running.len() > 1 {
        let ids: Vec<&str> = running.iter().map(|d| d.id.as_str()).collect();
        return Err(usage(format!(
            "two deploys of stack {} are running at once ({}): roll one back with the \
             dashboard or by hand",
            session.stack,
            ids.join(", ")
        )));
    }
    let current = running.into_iter().next();
    if args.pause || args.resume || args.rollback || args.finish {
        let Some(state) = current else {
            return Err(usage(format!(
                "no deploy of stack {} is running: nothing to {}",
                session.stack,
                if args.finish { "finish" } else { "act on" }
            )));
        };
        return on_running(session, args, request, &region, state, out).await;
    }
    let spec = spec_for(session, args, request, current.as_ref())?;
    if args.dry_run {
        return dry_run(&spec, &region, current.as_ref());
    }
    if current.is_none() {
        check_alarms(session, &args.alarms).await?;
        if !args.yes {
            confirm(&spec, &region)?;
        }
    }
    drive(session, &spec, request, out).await
}

/// The alarms a new deploy is gated on exist and can be read: a gate that cannot be judged
/// would not stop a bad version.
async fn check_alarms(session: &Session, alarms: &[String]) -> Result<(), Fatal> {
    if alarms.is_empty() {
        return Ok(());
    }
    let states = haven_aws::deploy::alarm_states(&session.ctx, &session.region, alarms)
        .await
        .map_err(|e| Fatal {
            message: format!(
                "cannot read the CloudWatch alarms given with --alarm ({e}): their gates could                  not be checked, so the deploy did not start. Nothing was sent."
            ),
            code: 1,
        })?;
    let missing: Vec<&str> = alarms
        .iter()
        .filter(|a| !states.contains_key(a.as_str()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "--alarm {}: no CloudWatch alarm of that name in {}; expected one of the alarms          `aws cloudwatch describe-alarms` lists there. Nothing was sent.",
        missing.join(", "),
        session.region
    )))
}

/// The deploy to start or resume.
fn spec_for(
    session: &Session,
    args: &DeployArgs,
    request: &Request,
    current: Option<&DeployState>,
) -> Result<DeploySpec, Fatal> {
    let asked = asked_version(args, &request.blueprint);
    let (id, version, strategy_name) = match (current, asked) {
        (Some(state), asked) => {
            let running = state.version.map(NewVersion::LaunchTemplateVersion);
            let same = match (&asked, state.version) {
                (None, _) => true,
                (Some(NewVersion::LaunchTemplateVersion(n)), Some(v)) => *n == v,
                // An AMI's version is made by the deploy: the same deploy goes on.
                (Some(NewVersion::Image(_)), _) => true,
                (Some(NewVersion::LaunchTemplateVersion(_)), None) => true,
            };
            if !same {
                return Err(usage(format!(
                    "deploy {} of stack {} is running (step {}, version {}): finish or roll it \
                     back first",
                    state.id,
                    session.stack,
                    state.step,
                    state.version.map_or("?".into(), |v| v.to_string())
                )));
            }
            let version = running
                .or(asked)
                .ok_or_else(|| usage(format!("deploy {} has no version tag", state.id)))?;
            (state.id.clone(), version, Some(state.strategy.as_str()))
        }
        (None, Some(version)) => (new_id(), version, None),
        (None, None) => {
            return Err(usage(format!(
                "nothing to deploy: give --image AMI or --launch-template-version N (the \
                 blueprint's [compute] ami is an SSM parameter, resolved at launch); no deploy \
                 of stack {} is running",
                session.stack
            )));
        }
    };
    let strategy = strategy(args, request, strategy_name);
    Ok(DeploySpec {
        id,
        stack: session.stack.clone(),
        region: session.region.clone(),
        version,
        gates: gates(args, &strategy),
        strategy,
        health_timeout: request.health_timeout,
    })
}

fn dry_run(
    spec: &DeploySpec,
    region: &RegionTopology,
    current: Option<&DeployState>,
) -> Result<String, Fatal> {
    if let Some(state) = current {
        return Ok(format!(
            "deploy {} is running (step {}); without --dry-run this resumes it. Nothing was sent.",
            state.id, state.step
        ));
    }
    let steps = deploy::plan(spec, region, &Signals::default(), Utc::now())
        .map_err(|r| usage(format!("{r}. Nothing was sent.")))?;
    let mut text = format!(
        "deploy {} of stack {} in {} ({}), gates: {}\n",
        spec.id,
        spec.stack,
        spec.region,
        spec.strategy.name(),
        spec.gates
            .iter()
            .map(Gate::label)
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (i, step) in steps.iter().enumerate() {
        text.push_str(&format!("{}. {}\n", i + 1, step.title));
        for call in &step.calls {
            text.push_str(&format!("   - {}\n", call.sentence()));
            for api in call.api_calls() {
                text.push_str(&format!("       {api}\n"));
            }
        }
        if let Some(wait) = &step.wait {
            text.push_str(&format!("   then wait: {wait}\n"));
        }
    }
    text.push_str("Dry run: nothing was sent.");
    Ok(text)
}

fn confirm(spec: &DeploySpec, region: &RegionTopology) -> Result<(), Fatal> {
    let steps = deploy::plan(spec, region, &Signals::default(), Utc::now())
        .map_err(|r| usage(format!("{r}. Nothing was sent.")))?;
    let titles: Vec<&str> = steps.iter().map(|s| s.title.as_str()).collect();
    let answer = ask(
        &format!(
            "deploy to stack {} ({}): {}",
            spec.stack,
            spec.strategy.name(),
            titles.join(", ")
        ),
        "Type \"yes\" to go on:",
    )?;
    if answer == "yes" {
        Ok(())
    } else {
        Err(usage(
            "not confirmed (expected \"yes\"); nothing was sent".into(),
        ))
    }
}

/// `--pause`, `--resume`, `--rollback`, `--finish` on the running deploy.
async fn on_running(
    session: &Session,
    args: &DeployArgs,
    request: &Request,
    region: &RegionTopology,
    state: DeployState,
    out: &Out,
) -> Result<String, Fatal> {
    let spec = spec_for(session, args, request, Some(&state))?;
    let now = Utc::now();
    if args.pause || args.resume {
        session.run(&deploy::pause(&state, args.pause), out).await?;
        if args.pause {
            return Ok(format!(
                "deploy {} paused at step {}: no step starts until --resume (a failing gate \
                 still rolls back while a run follows it)",
                state.id, state.step
            ));
        }
        out.line(&format!("deploy {} resumed", state.id));
        return drive(session, &spec, request, out).await;
    }
    if args.finish {
        let calls = deploy::finish(&spec, &state, region, now).map_err(|r| usage(r.to_string()))?;
        if !args.yes {
            let answer = ask(
                &format!(
                    "delete blue ({}) and its target group: green keeps all the traffic and \
                     rolling back is no longer instant",
                    state.blue.as_ref().map_or("?", |b| b.group.as_str())
                ),
                &format!("Type {:?} to go on:", state.id),
            )?;
            if answer != state.id {
                return Err(usage(format!(
                    "not confirmed (expected {:?}); nothing was sent",
                    state.id
                )));
            }
        }
        session.run(&calls, out).await?;
        let green = state.green.as_ref().map_or("green", |g| g.group.as_str());
        return Ok(format!(
            "deploy {} finished: blue deleted; {green} is the stack's group now. Set the \
             blueprint's [compute] ami to the version deployed, so that `haven up` keeps it",
            state.id
        ));
    }
    out.line(&format!("rolling deploy {} back, as asked", state.id));
    session
        .run(&deploy::rollback(&spec, &state, region, now), out)
        .await?;
    // A blue scaled in comes back first; the traffic follows once it is healthy.
    match drive(session, &spec, request, out).await {
        Err(fatal) if fatal.code == 1 && fatal.message.contains("rolled back") => {
            Ok(format!("deploy {} rolled back, as asked", state.id))
        }
        other => other,
    }
}

/// Follows the deploy to its end: reads AWS, asks the model what to do, does it, again.
async fn drive(
    session: &Session,
    spec: &DeploySpec,
    request: &Request,
    out: &Out,
) -> Result<String, Fatal> {
    let mut failed: Option<GateResult> = None;
    let mut said = String::new();
    let mut repeats = 0;
    let waited_since = std::time::Instant::now();
    loop {
        let region = session.topology().await?;
        let state = DeployState::running(&region, &spec.stack)
            .into_iter()
            .find(|d| d.id == spec.id);
        let groups: Vec<String> = match &state {
            Some(s) => [&s.blue, &s.green]
                .into_iter()
                .flatten()
                .map(|side| side.group.clone())
                .collect(),
            None => deploy::stack_groups(&region, &spec.stack)
                .into_iter()
                .map(|g| g.name.clone())
                .collect(),
        };
        let since = state
            .as_ref()
            .and_then(|s| s.since)
            .unwrap_or_else(Utc::now);
        let alarms: Vec<String> = spec
            .gates
            .iter()
            .filter_map(|g| match g {
                Gate::Alarm(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let (signals, warnings) =
            haven_aws::deploy::read_signals(&session.ctx, &session.region, &groups, &alarms, since)
                .await;
        for warning in warnings {
            out.warn(&warning);
        }
        let now = Utc::now();
        match deploy::next(spec, state.as_ref(), &region, &signals, now) {
            Next::Run { step, calls } => {
                repeats = if said == step { repeats + 1 } else { 0 };
                if repeats >= 5 {
                    return Err(Fatal {
                        message: format!(
                            "step \"{step}\" was sent {repeats} times and AWS does not show \
                             its effect yet; run the same command again later to resume"
                        ),
                        code: 1,
                    });
                }
                if repeats > 0 {
                    tokio::time::sleep(request.poll).await;
                } else {
                    out.line(&format!("deploy {}: {step}", spec.id));
                }
                said = step;
                session.run(&calls, out).await?;
            }
            Next::Wait { what, until, gates } => {
                // Before the start, the stack gets the health timeout to become healthy.
                if state.is_none() && waited_since.elapsed() > request.health_timeout {
                    return Err(usage(format!(
                        "the stack is not healthy before the deploy: {}. Nothing was sent.",
                        wait_line(&what, until, &gates, now)
                    )));
                }
                let line = wait_line(&what, until, &gates, now);
                if line != said {
                    out.line(&format!("deploy {}: {line}", spec.id));
                    said = line;
                }
                let pause = until
                    .and_then(|u| (u - now).to_std().ok())
                    .map_or(request.poll, |left| left.min(request.poll))
                    .max(Duration::from_millis(100));
                tokio::time::sleep(pause).await;
            }
            Next::Rollback {
                failed: gate,
                reason,
                calls,
            } => {
                out.line(&format!("deploy {}: ROLLING BACK: {reason}", spec.id));
                failed = gate.or(failed);
                said = String::new();
                session.run(&calls, out).await?;
            }
            Next::Done {
                message,
                rolled_back,
            } => {
                if !rolled_back {
                    return Ok(message);
                }
                let why = failed
                    .map(|f| format!("gate {}", f.line()))
                    .unwrap_or_else(|| "see the lines above".into());
                return Err(Fatal {
                    message: format!("{message}: rolled back because {why}"),
                    code: 1,
                });
            }
            Next::Refused(refusal) => return Err(usage(format!("{refusal}. Nothing was sent."))),
        }
    }
}

fn wait_line(
    what: &str,
    until: Option<chrono::DateTime<Utc>>,
    gates: &[GateResult],
    now: chrono::DateTime<Utc>,
) -> String {
    let left = until
        .filter(|u| *u > now)
        .map(|u| format!(" ({} left)", haven_model::duration::between(now, u)))
        .unwrap_or_default();
    let open: Vec<String> = gates
        .iter()
        .filter(|g| !matches!(g.status, haven_model::deploy::GateStatus::Pass))
        .map(GateResult::line)
        .collect();
    if open.is_empty() {
        format!("waiting: {what}{left}")
    } else {
        format!("waiting: {what}{left}; {}", open.join("; "))
    }
}

/// `--status`: every deploy of the stack, running or over, with the gates as they stand.
fn status(region: &RegionTopology, stack: &str) -> String {
    let all = DeployState::all(region, stack);
    if all.is_empty() {
        return format!(
            "no deploy of stack {stack} in {}: start one with `haven deploy BLUEPRINT --image AMI`",
            region.region
        );
    }
    let mut text = String::new();
    for d in &all {
        let paused = if d.paused { " (paused)" } else { "" };
        let since = d
            .since
            .map(|s| format!(" for {}", haven_model::duration::between(s, Utc::now())))
            .unwrap_or_default();
        text.push_str(&format!(
            "deploy {} ({}): step {}{paused}{since}, version {} → {}\n",
            d.id,
            d.strategy,
            d.step,
            d.from.map_or("?".into(), |v| v.to_string()),
            d.version.map_or("?".into(), |v| v.to_string()),
        ));
        for (role, side) in [("blue", &d.blue), ("green", &d.green)] {
            if let Some(side) = side {
                text.push_str(&format!(
                    "  {role}: {} ({} instance(s))\n",
                    side.group, side.capacity.desired
                ));
                for result in
                    deploy::evaluate(&Gate::defaults(), region, &side.group, &Signals::default())
                {
                    text.push_str(&format!("    {}\n", result.line()));
                }
            }
        }
        if let Some(percent) = d.green_percent() {
            text.push_str(&format!("  traffic: {percent} % on green\n"));
        }
    }
    text.trim_end().to_string()
}
