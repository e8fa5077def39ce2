//! `haven act`: one action on the stack, headless. It prints what it will do and the exact API
//! call(s), stops there with `--dry-run`, asks before anything disruptive or destructive (or takes
//! `--yes`), refuses
//! everything mutating with `--read-only`, follows the action to completion with progress on
//! stderr, and appends one JSON line per run to the action log.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, ValueEnum};
use haven_aws::{
    AwsContext, AwsError, CallerIdentity, ConnectOptions, DiscoverOptions, ExecuteOptions,
};
use haven_model::RegionTopology;
use haven_model::action::{AcceptedCall, Action, ActionKind, Outcome, Progress, Risk};
use haven_model::deploy::DeployCall;
use serde_json::{Value, json};

use crate::cli::{Fatal, Global, ask, connect, usage};
use crate::config::Config;

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActOutput {
    /// Sentences for people.
    Text,
    /// One JSON document on stdout (the preview and progress go to stderr).
    Json,
}

/// Flags of `haven act`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Every action prints what it will do and the exact API call(s) first.\n\
                  Exit status: 0 done; 1 the action failed (AWS error code and message shown, \
                  and logged); 2 bad input, a disruptive or destructive action not confirmed \
                  (asked on a terminal; --yes in scripts), or --read-only; \
                  130 interrupted (Ctrl-C) while following: AWS carries on with what it \
                  accepted.\n\
                  The action log gets a `sent` line as soon as AWS accepts a call and an `ended` \
                  line when haven stops following it."
)]
pub struct ActArgs {
    /// The action and its target.
    #[command(subcommand)]
    pub action: ActCommand,
    /// Print the sentence and the exact API call(s); send nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Run without asking: a disruptive action (failover, reboot, stop) asks for `yes`, a
    /// destructive one (terminate, promote) for its typed confirmation, unless this is given.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ActOutput::Text, global = true)]
    pub output: ActOutput,
    /// Stop following the action after this many seconds (it may still finish in AWS).
    #[arg(long, default_value_t = 3600, global = true, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

pub use crate::act_line::ActCommand;
use crate::act_line::build;

/// The Region the action runs in, without asking AWS: `--regions` (first), `--region`, the config
/// file, then the SDK's own settings (AWS_REGION, the profile).
async fn offline_region(global: &Global, config: &Config) -> Result<String, Fatal> {
    let explicit = global
        .regions
        .first()
        .or(global.region.as_ref())
        .or(config.regions.first())
        .cloned();
    if let Some(region) = explicit {
        return Ok(region);
    }
    let ctx = AwsContext::load(&ConnectOptions {
        profile: global.profile.clone(),
        region: None,
        endpoint_url: global.endpoint_url.clone(),
    })
    .await;
    ctx.default_region()
        .ok_or_else(|| usage(AwsError::NoRegion.to_string()))
}

/// Discovers one Region (no IAM) to resolve names and AZ drills. `needs` names the services
/// whose read errors matter (all when empty): stopping an instance only needs to know its group.
async fn region_topology(
    ctx: &AwsContext,
    region: &str,
    identity: &CallerIdentity,
    needs: &[haven_model::Service],
) -> Result<RegionTopology, Fatal> {
    let options = DiscoverOptions {
        include_iam: false,
        // One Region's actions need no Route 53 (the dns-* actions read it on their own).
        include_dns: false,
        include_alarms: false,
        identity: Some(identity.clone()),
        ..DiscoverOptions::default()
    };
    let topology = haven_aws::discover(ctx, &[region.to_string()], &options).await;
    if let Some(error) = topology
        .errors
        .iter()
        .find(|e| needs.is_empty() || needs.contains(&e.service))
    {
        return Err(Fatal {
            message: format!(
                "cannot read {region} to prepare the action: {}",
                error.message
            ),
            code: 1,
        });
    }
    topology.regions.into_iter().next().ok_or_else(|| Fatal {
        message: format!("{region} was not discovered"),
        code: 1,
    })
}

fn preview_text(action: &Action) -> String {
    let mut text = format!(
        "{}\n  risk: {} · Region {}\n",
        action.sentence(),
        action.risk(),
        action.region
    );
    if let Some(cost) = action.cost() {
        text.push_str(&format!("  cost: {cost}\n"));
    }
    for call in action.api_calls() {
        text.push_str(&format!("  {call}\n"));
    }
    text
}

fn preview_json(action: &Action) -> Value {
    json!({
        "action": action,
        "sentence": action.sentence(),
        "risk": action.risk(),
        "cost": action.cost(),
        "api_calls": action.api_calls(),
    })
}

/// Asks before an action that interrupts traffic (`yes`) or cannot be undone (the same text the
/// dashboard asks to be typed); without a terminal to ask on, `--yes` is required.
fn confirm(action: &Action) -> Result<(), Fatal> {
    let doing = action.sentence();
    let expected = match action.risk() {
        Risk::Safe => return Ok(()),
        Risk::Disruptive => "yes".to_string(),
        Risk::Destructive => action.confirmation_text().unwrap_or_else(|| "yes".into()),
    };
    let warning = match action.risk() {
        Risk::Destructive => "it cannot be undone",
        _ => "it interrupts or shifts traffic",
    };
    let answer = ask(
        &format!("{} ({warning})", lowercase_first(&doing)),
        &format!("Type {expected:?} to go on:"),
    )?;
    if answer == expected {
        Ok(())
    } else {
        Err(usage(format!(
            "not confirmed (expected {expected:?}); nothing was sent"
        )))
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Runs `haven act`.
pub async fn run(global: &Global, config: &Config, args: &ActArgs) -> Result<(), Fatal> {
    let read_only = global.read_only || config.read_only;
    // Building an AZ drill or resolving a name reads the Region; under --read-only a real run is
    // refused before even that, so nothing at all is sent.
    if read_only && !args.dry_run && args.action.needs_topology() {
        return Err(refuse_read_only(None));
    }
    let mut connection = None;
    let action = if args.action.is_dns() {
        let (ctx, regions, identity) = connect(global, config).await?;
        let options = DiscoverOptions {
            include_iam: false,
            identity: Some(identity.clone()),
            ..DiscoverOptions::default()
        };
        let topology = haven_aws::discover(&ctx, &regions, &options).await;
        if let Some(error) = topology
            .errors
            .iter()
            .find(|e| e.service == haven_model::Service::Route53)
        {
            return Err(Fatal {
                message: format!(
                    "cannot read Route 53 to prepare the action: {}",
                    error.message
                ),
                code: 1,
            });
        }
        let action = crate::act_line::build_dns(&args.action, &topology)?;
        connection = Some((ctx, identity));
        action
    } else if args.action.needs_topology() {
        let (ctx, regions, identity) = connect(global, config).await?;
        let region = regions.first().cloned().unwrap_or_default();
        let needs: &[haven_model::Service] = match args.action {
            ActCommand::InstanceStop { .. } => &[haven_model::Service::AutoScaling],
            _ => &[],
        };
        let topology = region_topology(&ctx, &region, &identity, needs).await?;
        let action = build(&args.action, &region, Some(&topology))?;
        connection = Some((ctx, identity));
        action
    } else {
        let region = offline_region(global, config).await?;
        build(&args.action, &region, None)?
    };

    match args.output {
        ActOutput::Text => print!("{}", preview_text(&action)),
        ActOutput::Json if args.dry_run => {
            let mut document = preview_json(&action);
            document["dry_run"] = json!(true);
            println!("{document:#}");
        }
        ActOutput::Json => eprint!("{}", preview_text(&action)),
    }
    if args.dry_run {
        return Ok(());
    }
    if read_only && action.is_mutating() {
        return Err(refuse_read_only(Some(&action)));
    }
    if !args.yes {
        confirm(&action)?;
    }

    let (ctx, identity) = match connection {
        Some(known) => known,
        None => {
            let (ctx, _, identity) = connect(global, config).await?;
            (ctx, identity)
        }
    };
    let options = ExecuteOptions {
        read_only,
        max_wait: Duration::from_secs(args.wait_timeout),
        ..ExecuteOptions::default()
    };
    let log = ActionLog::new(
        &config.paths.action_log_file(),
        &action,
        &identity,
        ctx.endpoint_url(),
    );
    let last = std::sync::Mutex::new(None::<Progress>);
    let progress = |p: Progress| {
        let percent = p
            .fraction
            .map(|f| format!(" ({:.0}%)", f * 100.0))
            .unwrap_or_default();
        eprintln!("haven: {}: {}{percent}", p.step, p.message);
        if let Some(call) = &p.accepted {
            log.sent(call);
        }
        if let Ok(mut last) = last.lock() {
            *last = Some(p);
        }
    };
    let result = tokio::select! {
        result = haven_aws::execute(&ctx, &action, &options, &progress) => result,
        _ = tokio::signal::ctrl_c() => {
            let last = last.lock().ok().and_then(|l| l.clone());
            log.interrupted(last.as_ref());
            warn_log(&log);
            return Err(Fatal {
                message: interrupted_message(&action, &log.accepted(), last.as_ref()),
                code: 130,
            });
        }
    };
    log.ended(&result);
    warn_log(&log);

    match result {
        Ok(outcome) => {
            print_outcome(&action, &outcome, args.output);
            Ok(())
        }
        Err(error) => {
            let mut fatal = Fatal::from(error);
            fatal.message = format!("action failed: {}", fatal.message);
            Err(fatal)
        }
    }
}

fn refuse_read_only(action: Option<&Action>) -> Fatal {
    let what = action
        .map(|a| format!(" ({})", a.sentence()))
        .unwrap_or_default();
    usage(format!(
        "read-only mode (--read-only or read_only in the config file): this action would change \
         AWS{what}, so it was refused and nothing was sent. Preview it with --dry-run."
    ))
}

fn print_outcome(action: &Action, outcome: &Outcome, output: ActOutput) {
    match output {
        ActOutput::Text => {
            println!("done: {}", outcome.message);
            if !outcome.resulting_ids.is_empty() {
                println!("  created: {}", outcome.resulting_ids.join(", "));
            }
            if !outcome.request_ids.is_empty() {
                println!("  request ids: {}", outcome.request_ids.join(", "));
            }
        }
        ActOutput::Json => {
            let mut document = preview_json(action);
            document["outcome"] = json!(outcome);
            println!("{document:#}");
        }
    }
}

fn warn_log(log: &ActionLog) {
    if let Some(error) = log.error() {
        eprintln!("haven: warning: cannot write the action log {error}");
    }
}

/// What Ctrl-C leaves behind: what AWS accepted and is still doing, and how to follow it.
fn interrupted_message(
    action: &Action,
    accepted: &[AcceptedCall],
    last: Option<&Progress>,
) -> String {
    if accepted.is_empty() {
        return "interrupted before AWS accepted any call (a request in flight may still have \
                been accepted: check with `haven snapshot`)"
            .into();
    }
    let calls: Vec<&str> = accepted.iter().map(|c| c.operation.as_str()).collect();
    let doing = last
        .map(|p| format!(" Last seen: {}: {}.", p.step, p.message))
        .unwrap_or_default();
    format!(
        "interrupted: haven stopped following, but AWS accepted {} and carries on by itself \
         (nothing was undone).{doing} {}",
        calls.join(", "),
        follow_hint(action)
    )
}

/// How to pick the action up again after Ctrl-C or a wait timeout.
fn follow_hint(action: &Action) -> &'static str {
    use ActionKind as K;
    match action.kind {
        // Sending the same request again changes nothing more and follows it.
        K::StopInstance { .. }
        | K::StartInstance
        | K::TerminateInstance
        | K::SetCapacity { .. }
        | K::SuspendProcesses { .. }
        | K::ResumeProcesses { .. }
        | K::RegisterTargets { .. }
        | K::DeregisterTargets { .. }
        | K::ModifyHealthCheck { .. }
        | K::SetListenerWeights { .. }
        | K::SetDefaultLaunchTemplateVersion { .. } => {
            "Run the same command again to follow it: it sends the same request, which changes \
             nothing more."
        }
        // These find what the first run started and follow it.
        K::StartInstanceRefresh { .. }
        | K::CreateReadReplica { .. }
        | K::CreateDbSnapshot { .. } => {
            "Run the same command again to follow it: haven finds the one already under way."
        }
        _ => {
            "Running the same command again would act again or be refused, not follow it: watch \
             it in the dashboard or with `haven snapshot`."
        }
    }
}

/// The action log of one run (JSON lines): a `sent` line the moment AWS accepts each mutating
/// call — so that Ctrl-C, a closed terminal or a crash never leave an accepted change
/// unrecorded — and an `ended` line when haven stops following it. Each line carries the time,
/// caller, Region, action, parameters and request ids; actions carry ids and settings only,
/// never secrets.
pub struct ActionLog {
    path: PathBuf,
    base: Value,
    accepted: Mutex<Vec<AcceptedCall>>,
    error: Mutex<Option<String>>,
}

impl ActionLog {
    /// The log of `action` run by `identity`, appended to `path`.
    pub fn new(
        path: &Path,
        action: &Action,
        identity: &CallerIdentity,
        endpoint: Option<&str>,
    ) -> Self {
        let mut line = Self::with(path, identity, endpoint, &action.region);
        line.base["action"] = json!(action.kind.name());
        line.base["target"] = json!(action.target);
        line.base["parameters"] = json!(action.kind);
        line.base["sentence"] = json!(action.sentence());
        line.base["risk"] = json!(action.risk());
        line
    }

    /// A log whose lines name the caller, the endpoint and the Region.
    fn with(path: &Path, identity: &CallerIdentity, endpoint: Option<&str>, region: &str) -> Self {
        Self {
            path: path.to_path_buf(),
            base: json!({
                "caller_arn": identity.arn,
                "account": identity.account,
                "endpoint": endpoint,
                "region": region,
            }),
            accepted: Mutex::new(Vec::new()),
            error: Mutex::new(None),
        }
    }

    /// The log of one step of a deploy (`haven deploy`, the dashboard's deploy keys): an
    /// action's own line, or the deploy call's name, sentence and parameters.
    pub fn for_deploy(
        path: &Path,
        region: &str,
        call: &DeployCall,
        identity: &CallerIdentity,
        endpoint: Option<&str>,
    ) -> Self {
        if let DeployCall::Act(action) = call {
            return Self::new(path, action, identity, endpoint);
        }
        let mut line = Self::with(path, identity, endpoint, region);
        line.base["action"] = json!(call.name());
        line.base["parameters"] = json!(call);
        line.base["sentence"] = json!(call.sentence());
        line.base["risk"] = json!(call.risk());
        line
    }

    /// The `sent` line of a call AWS has just accepted.
    pub fn sent(&self, call: &AcceptedCall) {
        if let Ok(mut accepted) = self.accepted.lock() {
            accepted.push(call.clone());
        }
        self.write(
            "sent",
            json!({
                "operation": call.operation,
                "request_id": call.request_id,
                "request_ids": call.request_id.iter().collect::<Vec<_>>(),
            }),
        );
    }

    /// The calls accepted so far.
    pub fn accepted(&self) -> Vec<AcceptedCall> {
        self.accepted.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn accepted_ids(&self) -> Vec<String> {
        self.accepted()
            .into_iter()
            .filter_map(|c| c.request_id)
            .collect()
    }

    /// The `ended` line: how the action ended. A wait that timed out is `accepted, not
    /// followed`: AWS has the request and may still finish it.
    pub fn ended(&self, result: &Result<Outcome, AwsError>) {
        let (result, request_ids) = match result {
            Ok(outcome) => (
                json!({
                    "status": "ok",
                    "message": outcome.message,
                    "resulting_ids": outcome.resulting_ids,
                }),
                outcome.request_ids.clone(),
            ),
            Err(error) => {
                let mut ids = self.accepted_ids();
                if let AwsError::Service {
                    request_id: Some(id),
                    ..
                } = error
                {
                    ids.push(id.clone());
                }
                let status = if matches!(error, AwsError::WaitTimedOut { .. }) {
                    ACCEPTED_NOT_FOLLOWED
                } else {
                    "error"
                };
                (
                    json!({
                        "status": status,
                        "code": error.code(),
                        "message": error.to_string(),
                    }),
                    ids,
                )
            }
        };
        self.write(
            "ended",
            json!({ "result": result, "request_ids": request_ids }),
        );
    }

    /// The `ended` line of a run interrupted while following (Ctrl-C).
    pub fn interrupted(&self, last: Option<&Progress>) {
        let ids = self.accepted_ids();
        let status = if self.accepted().is_empty() {
            "interrupted"
        } else {
            ACCEPTED_NOT_FOLLOWED
        };
        let message = match last {
            Some(p) => format!("interrupted (Ctrl-C); last seen: {}: {}", p.step, p.message),
            None => "interrupted (Ctrl-C)".into(),
        };
        self.write(
            "ended",
            json!({
                "result": { "status": status, "message": message },
                "request_ids": ids,
            }),
        );
    }

    /// Why a line could not be written, if one could not.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn write(&self, event: &str, fields: Value) {
        let mut line = self.base.clone();
        line["time"] =
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        line["event"] = json!(event);
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        if let Err(e) = append_line(&self.path, &line)
            && let Ok(mut error) = self.error.lock()
        {
            *error = Some(format!("{}: {e}", self.path.display()));
        }
    }
}

/// The status of an action AWS accepted but haven did not follow to its end.
pub const ACCEPTED_NOT_FOLLOWED: &str = "accepted, not followed";

/// Runs an action as `haven act` does, writing its `sent` and `ended` lines to the action log
/// at `log` (the dashboard's jobs). A write error of the log is returned beside the result.
pub async fn execute_logged(
    ctx: &AwsContext,
    action: &Action,
    options: &ExecuteOptions,
    identity: &CallerIdentity,
    log: &Path,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> (Result<Outcome, AwsError>, Option<String>) {
    let log = ActionLog::new(log, action, identity, ctx.endpoint_url());
    let sink = |p: Progress| {
        if let Some(call) = &p.accepted {
            log.sent(call);
        }
        progress(p);
    };
    let result = haven_aws::execute(ctx, action, options, &sink).await;
    log.ended(&result);
    (result, log.error())
}

fn append_line(path: &Path, line: &Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line so that concurrent runs do not interleave within a line.
    file.write_all(format!("{line}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::act_line::Line;

    fn built(command: ActCommand) -> Action {
        build(&command, "ap-northeast-2", None).expect("builds")
    }

    #[test]
    fn every_action_of_the_model_is_a_subcommand() {
        use clap::CommandFactory;
        let mut names: Vec<String> = Line::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        names.sort();
        let mut expected: Vec<String> = ActionKind::NAMES.iter().map(|n| n.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn subcommands_build_the_matching_action_kind() {
        let action = built(ActCommand::AsgSetCapacity {
            group: "lab-asg".into(),
            desired: Some(3),
            min: None,
            max: None,
        });
        assert_eq!(action.kind.name(), "asg-set-capacity");
        assert_eq!(action.sentence(), "Set desired capacity of lab-asg to 3");
        let tg =
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-web-tg/abc";
        let action = built(ActCommand::TgDeregister {
            target_group: tg.into(),
            instances: vec!["i-1".into()],
        });
        assert_eq!(action.target.name.as_deref(), Some("lab-web-tg"));
    }

    #[test]
    fn bad_parameters_are_usage_errors() {
        let error = build(
            &ActCommand::AsgSetCapacity {
                group: "lab-asg".into(),
                desired: None,
                min: None,
                max: None,
            },
            "ap-northeast-2",
            None,
        )
        .expect_err("nothing to set");
        assert_eq!(error.code, 2);
        let error = build(
            &ActCommand::ListenerWeights {
                listener: "arn:l".into(),
                weights: vec!["arn:tg=1000".into()],
            },
            "ap-northeast-2",
            None,
        )
        .expect_err("weight too big");
        assert!(error.message.contains("0–999"), "{}", error.message);
    }

    fn read_log(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    fn scale_to_3() -> Action {
        built(ActCommand::AsgSetCapacity {
            group: "lab-asg".into(),
            desired: Some(3),
            min: None,
            max: None,
        })
    }

    #[test]
    fn c6_the_log_has_a_sent_line_when_aws_accepts_and_a_timeout_is_accepted_not_followed() {
        let dir = std::env::temp_dir().join(format!("haven-c6-{}", std::process::id()));
        let path = dir.join("actions.jsonl");
        let _ = std::fs::remove_file(&path);
        let identity = CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
        };
        let log = ActionLog::new(&path, &scale_to_3(), &identity, None);
        log.sent(&AcceptedCall {
            operation: "SetDesiredCapacity".into(),
            request_id: Some("req-1".into()),
        });
        // Written at once, before the action ends.
        let lines = read_log(&path);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["event"], "sent");
        assert_eq!(lines[0]["operation"], "SetDesiredCapacity");
        assert_eq!(lines[0]["request_id"], "req-1");
        assert_eq!(lines[0]["action"], "asg-set-capacity");
        log.ended(&Err(AwsError::WaitTimedOut {
            service: haven_model::Service::AutoScaling,
            waiting_for: "lab-asg to reach its desired capacity".into(),
            waited_seconds: 3600,
        }));
        let lines = read_log(&path);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[1]["event"], "ended");
        assert_eq!(lines[1]["result"]["status"], "accepted, not followed");
        assert_eq!(lines[1]["request_ids"], json!(["req-1"]));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ctrl_c_says_what_aws_is_still_doing_and_how_to_follow_it() {
        let accepted = [AcceptedCall {
            operation: "SetDesiredCapacity".into(),
            request_id: None,
        }];
        let last = Progress::new(
            "waiting for lab-asg to reach its desired capacity",
            "2 of 3 in service, 1 Pending",
            None,
        );
        let text = interrupted_message(&scale_to_3(), &accepted, Some(&last));
        assert!(
            text.contains("AWS accepted SetDesiredCapacity and carries on by itself")
                && text.contains("2 of 3 in service, 1 Pending")
                && text.contains("Run the same command again to follow it"),
            "{text}"
        );
        let reboot = built(ActCommand::RdsReboot {
            db: "lab-db".into(),
            failover: true,
        });
        let text = interrupted_message(&reboot, &accepted, None);
        assert!(text.contains("would act again or be refused"), "{text}");
        assert!(interrupted_message(&reboot, &[], None).contains("before AWS accepted any call"));
    }

    #[test]
    fn c1_asg_start_refresh_takes_a_version_number_or_default_or_latest() {
        let refresh = |version: Option<&str>| {
            build(
                &ActCommand::AsgStartRefresh {
                    group: "lab-asg".into(),
                    version: version.map(str::to_string),
                    min_healthy: None,
                    warmup: None,
                },
                "ap-northeast-2",
                None,
            )
        };
        let action = refresh(Some("5")).expect("a number");
        assert!(preview_text(&action).contains("DesiredConfiguration.LaunchTemplate.Version=5"));
        assert!(refresh(Some("$Latest")).is_ok());
        let error = refresh(Some("five")).expect_err("not a version");
        assert_eq!(error.code, 2);
    }

    #[test]
    fn c7_the_preview_of_a_replica_says_what_it_costs() {
        let action = built(ActCommand::RdsCreateReplica {
            db: "lab-db".into(),
            replica_id: "lab-db-2".into(),
            az: None,
            class: None,
        });
        assert!(
            preview_text(&action)
                .contains("cost: a read replica is a new DB instance, billed per hour"),
            "{}",
            preview_text(&action)
        );
        assert!(preview_json(&action)["cost"].is_string());
    }

    #[test]
    fn names_need_the_topology_but_arns_do_not() {
        let by_name = ActCommand::TgRegister {
            target_group: "lab-web-tg".into(),
            instances: vec!["i-1".into()],
            port: None,
        };
        assert!(by_name.needs_topology());
        let weights = ActCommand::ListenerWeights {
            listener: "arn:l".into(),
            weights: vec!["arn:a=90".into(), "arn:b=10".into()],
        };
        assert!(!weights.needs_topology());
    }
}
