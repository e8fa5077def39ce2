//! `cargo xtask acceptance`: the scenario suite of issue 15 (up, up again, drift, act, down, up
//! after down, down interrupted and resumed).
//!
//! By default it runs against moto with the realism layer on (`tests/tests/realism.rs`). With
//! `--profile NAME --region R` it runs the real `haven` binary against a real account: it prints
//! what it will create and what that costs per hour, asks, runs the scenarios, always tears
//! down (on success, on failure, on Ctrl-C, even when xtask itself is killed), and writes a
//! report. CI runs the moto side only; see docs/acceptance.md.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use haven_model::blueprint::{self, Blueprint, NatMode};

/// What `cargo xtask acceptance` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// A real account: the profile and Region to run in. `None`: moto with realism.
    pub account: Option<Account>,
}

/// A real account to run the scenarios in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The named profile (`--profile`).
    pub profile: String,
    /// The Region the stack is built in (`--region`).
    pub region: String,
    /// The two Availability Zones (`--azs a,b`); default: the Region's `a` and `b`.
    pub azs: [String; 2],
    /// Skip the typed confirmation (`--yes`).
    pub yes: bool,
}

pub const USAGE: &str =
    "usage: cargo xtask acceptance [--profile NAME --region REGION [--azs AZ1,AZ2] [--yes]]

  (no flags)   the scenario suite against moto with the AWS realism layer (what CI runs)
  --profile    run it against a REAL account with the real haven binary: prints what it will
  --region     create and the hourly cost, asks, always tears down, writes a report under
               target/acceptance/ (it costs money; see docs/acceptance.md)
  --azs        the two Availability Zones to use (default: REGIONa,REGIONb)
  --yes        do not ask for the typed confirmation";

/// Reads the arguments after `acceptance`.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let (mut profile, mut region, mut azs, mut yes) = (None, None, None, false);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .filter(|v| !v.is_empty() && !v.starts_with("--"))
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag {
            "--profile" => profile = Some(value("--profile")?),
            "--region" => region = Some(value("--region")?),
            "--azs" => azs = Some(value("--azs")?),
            "--yes" | "-y" => yes = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    let (profile, region) = match (profile, region) {
        (None, None) => {
            if azs.is_some() || yes {
                return Err(format!(
                    "--azs and --yes are for a real account (--profile and --region)\n\n{USAGE}"
                ));
            }
            return Ok(Options { account: None });
        }
        (Some(profile), Some(region)) => (profile, region),
        _ => {
            return Err(format!(
                "--profile and --region go together: the account and the Region to build the \
                 stack in\n\n{USAGE}"
            ));
        }
    };
    if !haven_model::regions::is_accepted(&region) {
        let hint = haven_model::regions::closest(&region)
            .map(|r| format!(" (did you mean {r}?)"))
            .unwrap_or_default();
        return Err(format!("--region {region}: not a Region code{hint}"));
    }
    let azs = match azs {
        None => [format!("{region}a"), format!("{region}b")],
        Some(list) => match list.split(',').map(str::trim).collect::<Vec<_>>()[..] {
            [a, b] if a != b && a.starts_with(&region) && b.starts_with(&region) => {
                [a.to_string(), b.to_string()]
            }
            _ => {
                return Err(format!(
                    "--azs {list}: expected two different Availability Zones of {region}, e.g. \
                     {region}a,{region}b"
                ));
            }
        },
    };
    Ok(Options {
        account: Some(Account {
            profile,
            region,
            azs,
            yes,
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// What the lab costs per hour.

/// When and where the prices below come from: on-demand list prices in us-east-1 (N. Virginia)
/// as the AWS pricing pages named on each price published them in 2025 (they have been stable
/// for years, but check the pages before a run). Other Regions cost more (NAT
/// in ap-northeast-2 is $0.059/h); data transfer, NAT data processing and backup storage are
/// left out. An estimate to decide with, not a bill.
pub const PRICES_AS_OF: &str = "us-east-1 on-demand list prices as published in 2025";

/// One price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// What is priced.
    pub item: &'static str,
    /// US dollars per unit and hour.
    pub usd_per_hour: f64,
    /// The AWS pricing page.
    pub source: &'static str,
}

const HOURS_PER_MONTH: f64 = 730.0;

/// NAT gateway, per gateway-hour.
pub const NAT_GATEWAY: Price = Price {
    item: "NAT gateway",
    usd_per_hour: 0.045,
    source: "https://aws.amazon.com/vpc/pricing/",
};
/// A public IPv4 address (Elastic IP, or one of the ALB's nodes), in use or not, since
/// 2024-02-01.
pub const PUBLIC_IPV4: Price = Price {
    item: "public IPv4 address",
    usd_per_hour: 0.005,
    source: "https://aws.amazon.com/vpc/pricing/ (Public IPv4 Address)",
};
/// Application Load Balancer hour plus one LCU-hour (a lab's traffic stays under one LCU).
pub const ALB: Price = Price {
    item: "Application Load Balancer (+1 LCU)",
    usd_per_hour: 0.0225 + 0.008,
    source: "https://aws.amazon.com/elasticloadbalancing/pricing/",
};
/// EC2 t3.micro, Linux.
pub const T3_MICRO: Price = Price {
    item: "EC2 t3.micro",
    usd_per_hour: 0.0104,
    source: "https://aws.amazon.com/ec2/pricing/on-demand/",
};
/// An 8 GiB gp3 root volume per instance ($0.08 per GB-month).
pub const ROOT_VOLUME: Price = Price {
    item: "EBS gp3 8 GiB root volume",
    usd_per_hour: 8.0 * 0.08 / HOURS_PER_MONTH,
    source: "https://aws.amazon.com/ebs/pricing/",
};
/// RDS for MySQL db.t3.micro, Multi-AZ (two instances).
pub const DB_T3_MICRO_MULTI_AZ: Price = Price {
    item: "RDS MySQL db.t3.micro Multi-AZ",
    usd_per_hour: 0.034,
    source: "https://aws.amazon.com/rds/mysql/pricing/",
};
/// RDS for MySQL db.t3.micro, Single-AZ (a read replica).
pub const DB_T3_MICRO: Price = Price {
    item: "RDS MySQL db.t3.micro (read replica)",
    usd_per_hour: 0.017,
    source: "https://aws.amazon.com/rds/mysql/pricing/",
};
/// RDS gp2 storage per GB: $0.115 per GB-month Single-AZ, twice that Multi-AZ.
pub const DB_STORAGE_GB: Price = Price {
    item: "RDS gp2 storage, per GB",
    usd_per_hour: 0.115 / HOURS_PER_MONTH,
    source: "https://aws.amazon.com/rds/mysql/pricing/",
};

/// One line of the estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    /// How many.
    pub quantity: f64,
    /// The price of one.
    pub price: Price,
    /// A remark (e.g. a type priced as another).
    pub note: String,
}

impl CostLine {
    /// Dollars per hour for the line.
    pub fn per_hour(&self) -> f64 {
        self.quantity * self.price.usd_per_hour
    }
}

/// What the blueprint's resources cost per hour while they run.
pub fn estimate(blueprint: &Blueprint) -> Vec<CostLine> {
    let line = |quantity: f64, price: Price, note: String| CostLine {
        quantity,
        price,
        note,
    };
    let azs = blueprint.network.azs.len() as f64;
    let nat = match blueprint.network.nat {
        NatMode::PerAz => azs,
        NatMode::Single => 1.0,
        NatMode::None => 0.0,
    };
    let instances = f64::from(blueprint.auto_scaling.desired);
    let db = &blueprint.database;
    let storage = f64::from(db.allocated_storage);
    let priced_as = |actual: &str, priced: &str| {
        if actual == priced {
            String::new()
        } else {
            format!("{actual} priced as {priced}")
        }
    };
    let mut lines = vec![
        line(nat, NAT_GATEWAY, String::new()),
        line(nat, PUBLIC_IPV4, "the NAT gateways' Elastic IPs".into()),
        line(1.0, ALB, String::new()),
        line(azs, PUBLIC_IPV4, "the load balancer's nodes".into()),
        line(
            instances,
            T3_MICRO,
            priced_as(&blueprint.compute.instance_type, "t3.micro"),
        ),
        line(instances, ROOT_VOLUME, String::new()),
    ];
    let class = priced_as(&db.class, "db.t3.micro");
    if db.multi_az {
        lines.push(line(1.0, DB_T3_MICRO_MULTI_AZ, class.clone()));
        lines.push(line(
            2.0 * storage,
            DB_STORAGE_GB,
            "Multi-AZ: two copies".into(),
        ));
    } else {
        lines.push(line(1.0, DB_T3_MICRO, class.clone()));
        lines.push(line(storage, DB_STORAGE_GB, String::new()));
    }
    let replicas = db.read_replicas.len() as f64;
    lines.push(line(replicas, DB_T3_MICRO, class));
    lines.push(line(
        replicas * storage,
        DB_STORAGE_GB,
        "the replicas'".into(),
    ));
    lines.retain(|l| l.quantity > 0.0);
    lines
}

/// The estimate's total, dollars per hour.
pub fn total_per_hour(lines: &[CostLine]) -> f64 {
    lines.iter().map(CostLine::per_hour).sum()
}

/// The estimate as a table for people.
pub fn cost_table(lines: &[CostLine]) -> String {
    let mut out = format!("estimated cost while the stack runs ({PRICES_AS_OF}):\n");
    for l in lines {
        let note = if l.note.is_empty() {
            String::new()
        } else {
            format!("  ({})", l.note)
        };
        let _ = writeln!(
            out,
            "  {:>5} × {:<40} ${:>8.4}/h{note}",
            format_quantity(l.quantity),
            l.price.item,
            l.per_hour()
        );
    }
    let total = total_per_hour(lines);
    let _ = writeln!(
        out,
        "  total about ${total:.2} per hour (${:.2} for a 3-hour run); prices: {}",
        total * 3.0,
        sources(lines).join(", ")
    );
    out
}

fn format_quantity(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q:.1}")
    }
}

fn sources(lines: &[CostLine]) -> Vec<&'static str> {
    let mut sources: Vec<&'static str> = lines.iter().map(|l| l.price.source).collect();
    sources.sort_unstable();
    sources.dedup();
    sources
}

// ---------------------------------------------------------------------------------------------
// The blueprint of a run.

/// The lab blueprint made safe and unique for a run in a real account: its own stack name (so
/// it never touches a stack called `lab`), the chosen Region and AZs, IAM names derived from the
/// stack name, and no account-wide settings (no operators group with AdministratorAccess, no
/// password policy) and no DR Region.
pub fn acceptance_blueprint(lab: &str, stack: &str, region: &str, azs: &[String; 2]) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in lab.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = matches!(
                trimmed,
                "[iam.operators]" | "[iam.password_policy]" | "[dr]"
            );
        }
        if skipping {
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or_default().trim();
        let replaced = match key {
            "name" => format!("name = \"{stack}\""),
            "region" => format!("region = \"{region}\""),
            "azs" => format!("azs = [\"{}\", \"{}\"]", azs[0], azs[1]),
            // Default: `<stack>-instance-role`, `<stack>-instance-profile`.
            "instance_role" | "instance_profile" => continue,
            _ => line.to_string(),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    out
}

/// A stack name for this run: short, unique per minute, valid for the blueprint.
pub fn stack_name(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("acc-{}", now.format("%m%d%H%M"))
}

// ---------------------------------------------------------------------------------------------
// Scenarios and the report.

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what it should.
    Passed,
    /// It did not.
    Failed,
    /// An earlier scenario failed, so it was not run.
    NotRun,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Self::Passed => "pass",
            Self::Failed => "FAIL",
            Self::NotRun => "not run",
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// What it checks.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub duration: Duration,
    /// Why it failed, or what it saw.
    pub detail: String,
    /// The last lines of its output.
    pub tail: Vec<String>,
}

/// Lines of output kept per scenario in the report.
pub const TAIL_LINES: usize = 25;

/// The report: a header, a summary table, then each scenario with its output tail.
pub fn report_markdown(title: &str, context: &[String], scenarios: &[Scenario]) -> String {
    let failed = scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .count();
    let mut out = format!("# {title}\n\n");
    for line in context {
        let _ = writeln!(out, "- {line}");
    }
    let verdict = if failed == 0 {
        format!("all {} scenarios passed", scenarios.len())
    } else {
        format!("{failed} of {} scenarios did not pass", scenarios.len())
    };
    let _ = writeln!(out, "\n**{verdict}**\n");
    out.push_str("| scenario | result | duration | detail |\n|---|---|---|---|\n");
    for s in scenarios {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            s.name,
            s.outcome.word(),
            format_duration(s.duration),
            s.detail.replace('|', "\\|").replace('\n', " ")
        );
    }
    for s in scenarios.iter().filter(|s| !s.tail.is_empty()) {
        let _ = write!(
            out,
            "\n## {} — {}\n\n```text\n{}\n```\n",
            s.name,
            s.outcome.word(),
            s.tail.join("\n")
        );
    }
    out
}

/// Writes the report as `report.md` in `dir`.
pub fn write_report(dir: &Path, markdown: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("report.md");
    std::fs::write(&path, markdown).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn tail(lines: &[String]) -> Vec<String> {
    lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec()
}

/// The scenarios of a nextest (or `cargo test`) run, from its status lines:
/// `PASS [   1.234s] ( 3/9) haven-tests::realism up_after_down` or
/// `test up_after_down ... ok`.
pub fn parse_test_results(output: &[String]) -> Vec<Scenario> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    for line in output {
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            [status, ..] if ["PASS", "FAIL", "TIMEOUT", "SIGSEGV", "SIGABRT"].contains(status) => {
                let seconds = words
                    .iter()
                    .find_map(|w| w.trim_start_matches('[').strip_suffix("s]"))
                    .and_then(|n| n.parse::<f64>().ok());
                match (seconds, words.last()) {
                    (Some(seconds), Some(name)) if words.len() >= 4 => Some((
                        (*name).to_string(),
                        *status == "PASS",
                        Duration::from_secs_f64(seconds),
                    )),
                    _ => None,
                }
            }
            ["test", name, "...", result, ..] => {
                Some(((*name).to_string(), *result == "ok", Duration::ZERO))
            }
            _ => None,
        };
        let Some((name, passed, duration)) = parsed else {
            continue;
        };
        // nextest repeats failures in its summary.
        if scenarios.iter().any(|s| s.name == name) {
            continue;
        }
        scenarios.push(Scenario {
            name,
            outcome: if passed {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            duration,
            detail: String::new(),
            tail: Vec::new(),
        });
    }
    scenarios
}

// ---------------------------------------------------------------------------------------------
// Running things.

/// What a command did: success, how long, and its output (stdout and stderr, interleaved).
struct Ran {
    ok: bool,
    duration: Duration,
    lines: Vec<String>,
}

/// Runs `command`, printing its output as it comes and handing each line (with the child's
/// process id) to `on_line`.
fn run_captured(
    mut command: Command,
    shown: &str,
    mut on_line: impl FnMut(&str, u32),
) -> Result<Ran, String> {
    println!("\n$ {shown}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    let stdout = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
    let stderr = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
    for stream in [stdout, stderr].into_iter().flatten() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let mut lines = Vec::new();
    let pid = child.id();
    for line in rx {
        println!("  {line}");
        on_line(&line, pid);
        lines.push(line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{shown}`: {e}"))?;
    Ok(Ran {
        ok: status.success(),
        duration: started.elapsed(),
        lines,
    })
}

/// The moto side: the realism scenario tests, one scenario per test.
pub fn run_moto() -> Result<(), String> {
    super::ensure_moto()?;
    super::ensure_tmux()?;
    if !super::root().join("tests/tests/realism.rs").is_file() {
        return Err(
            "tests/tests/realism.rs is not in this tree: the realism scenarios come with the \
             AWS realism layer (issue 15, deliverable 1)"
                .into(),
        );
    }
    let (program, args): (&str, Vec<&str>) = if super::has("cargo-nextest") {
        (
            "cargo",
            vec![
                "nextest",
                "run",
                "-p",
                "haven-tests",
                "--test",
                "realism",
                "--run-ignored",
                "all",
                "--no-fail-fast",
            ],
        )
    } else {
        (
            "cargo",
            vec![
                "test",
                "-p",
                "haven-tests",
                "--test",
                "realism",
                "--",
                "--include-ignored",
            ],
        )
    };
    let shown = format!("{program} {}", args.join(" "));
    let ran = run_captured(super::command(program, &args, &[]), &shown, |_, _| {})?;
    let mut scenarios = parse_test_results(&ran.lines);
    if scenarios.is_empty() || !ran.ok {
        scenarios.push(Scenario {
            name: "the realism test run".into(),
            outcome: if ran.ok {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            duration: ran.duration,
            detail: if ran.ok {
                "no scenario found in the output".into()
            } else {
                "the test run failed".into()
            },
            tail: tail(&ran.lines),
        });
    }
    let now = chrono::Utc::now();
    let context = vec![
        format!("when: {}", now.format("%Y-%m-%d %H:%M UTC")),
        "against: moto_server with the AWS realism layer (tests/tests/realism.rs)".into(),
        format!("command: `{shown}`"),
    ];
    finish(
        "haven acceptance run (moto with realism)",
        &context,
        &scenarios,
        &super::target_dir()
            .join("acceptance")
            .join(format!("{}-moto", now.format("%Y%m%dT%H%M%SZ"))),
    )
}

/// Writes the report, prints where, and fails if a scenario did not pass.
fn finish(
    title: &str,
    context: &[String],
    scenarios: &[Scenario],
    dir: &Path,
) -> Result<(), String> {
    let path = write_report(dir, &report_markdown(title, context, scenarios))?;
    println!("\nreport: {}", path.display());
    for s in scenarios {
        println!(
            "  {:<8} {:>8}  {}",
            s.outcome.word(),
            format_duration(s.duration),
            s.name
        );
    }
    if scenarios.iter().all(|s| s.outcome == Outcome::Passed) {
        Ok(())
    } else {
        Err(format!(
            "acceptance: not every scenario passed; see {}",
            path.display()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The real account.

/// The `haven` binary with the account's flags, for one run.
struct Haven {
    binary: PathBuf,
    profile: String,
    blueprint: PathBuf,
}

impl Haven {
    fn command(&self, args: &[&str]) -> (Command, String) {
        let mut full = vec!["--profile", self.profile.as_str()];
        full.extend(args);
        let mut command = Command::new(&self.binary);
        command.args(&full).current_dir(super::root());
        // A real account: never an emulator a shell variable points at.
        command.env_remove("AWS_ENDPOINT_URL");
        let shown = format!("haven {}", full.join(" "));
        (command, shown)
    }

    fn blueprint(&self) -> String {
        self.blueprint.display().to_string()
    }

    /// Runs haven with `args`; `{bp}` stands for the blueprint's path.
    fn run(&self, args: &[&str]) -> Result<Ran, String> {
        self.run_watching(args, |_, _| {})
    }

    fn run_watching(&self, args: &[&str], on_line: impl FnMut(&str, u32)) -> Result<Ran, String> {
        let bp = self.blueprint();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "{bp}" { bp.as_str() } else { a })
            .collect();
        let (command, shown) = self.command(&args);
        run_captured(command, &shown, on_line)
    }
}

/// Runs `haven down --yes` on the blueprint when dropped, unless the run already did: on
/// success, on a failed scenario and on a panic. Ctrl-C and a killed xtask are the watchdog's
/// ([`watchdog_script`]).
struct TeardownGuard<'a> {
    haven: &'a Haven,
    down_args: Vec<String>,
    marker: PathBuf,
    done: Option<Scenario>,
}

impl TeardownGuard<'_> {
    fn teardown(&mut self) -> Scenario {
        if let Some(done) = &self.done {
            return done.clone();
        }
        let args: Vec<&str> = self.down_args.iter().map(String::as_str).collect();
        let scenario = match self.haven.run(&args) {
            Ok(ran) => Scenario {
                name: "teardown (haven down --yes)".into(),
                outcome: if ran.ok {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                },
                duration: ran.duration,
                detail: if ran.ok {
                    String::new()
                } else {
                    "resources may be left: run the command in the tail again".into()
                },
                tail: tail(&ran.lines),
            },
            Err(e) => Scenario {
                name: "teardown (haven down --yes)".into(),
                outcome: Outcome::Failed,
                duration: Duration::ZERO,
                detail: e,
                tail: Vec::new(),
            },
        };
        if scenario.outcome == Outcome::Passed {
            // The watchdog stands down.
            let _ = std::fs::write(&self.marker, "torn down\n");
        }
        self.done = Some(scenario.clone());
        scenario
    }
}

impl Drop for TeardownGuard<'_> {
    fn drop(&mut self) {
        if self.done.is_none() {
            eprintln!("acceptance: tearing the stack down before leaving");
            let _ = self.teardown();
        }
    }
}

/// Quotes a word for `sh`.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The watchdog: a shell that ignores Ctrl-C and hang-ups, waits for xtask (`parent`) to end
/// however it ends, and then runs `teardown` unless the `marker` file says the run tore down
/// already. Ctrl-C reaches every process of the terminal's foreground group, xtask included,
/// and xtask has no signal handler (no new dependency): this is what makes "always tears down"
/// hold for Ctrl-C and for `kill -9` of xtask too.
pub fn watchdog_script(parent: u32, marker: &Path, teardown: &[String], log: &Path) -> String {
    let command: Vec<String> = teardown.iter().map(|w| shell_quote(w)).collect();
    let (marker, log) = (
        shell_quote(&marker.display().to_string()),
        shell_quote(&log.display().to_string()),
    );
    format!(
        "trap '' INT HUP; while kill -0 {parent} 2>/dev/null; do sleep 2; done; \
         if [ ! -e {marker} ]; then echo 'acceptance watchdog: xtask ended before tearing \
         down; running haven down (log: '{log}')' >&2; {} >> {log} 2>&1 && echo torn-down > \
         {marker}; fi",
        command.join(" ")
    )
}

/// One scenario: runs `body`, times it, records pass or fail.
fn scenario(
    name: &str,
    body: impl FnOnce() -> Result<(String, Vec<String>), (String, Vec<String>)>,
) -> Scenario {
    println!("\n=== scenario: {name}");
    let started = Instant::now();
    let (outcome, (detail, lines)) = match body() {
        Ok(seen) => (Outcome::Passed, seen),
        Err(failure) => (Outcome::Failed, failure),
    };
    Scenario {
        name: name.into(),
        outcome,
        duration: started.elapsed(),
        detail,
        tail: tail(&lines),
    }
}

type Step = Result<(String, Vec<String>), (String, Vec<String>)>;

/// A scenario's name and what it does.
type ScenarioRun<'a> = (&'static str, Box<dyn FnOnce() -> Step + 'a>);

/// Fails the scenario unless `ran` succeeded.
fn expect_ok(
    ran: Result<Ran, String>,
    what: &str,
    lines: &mut Vec<String>,
) -> Result<Ran, (String, Vec<String>)> {
    match ran {
        Ok(ran) => {
            lines.extend(ran.lines.iter().cloned());
            if ran.ok {
                Ok(ran)
            } else {
                Err((format!("{what} failed"), lines.clone()))
            }
        }
        Err(e) => Err((e, lines.clone())),
    }
}

fn contains(ran: &Ran, text: &str) -> bool {
    ran.lines.iter().any(|l| l.contains(text))
}

/// The real-account side.
pub fn run_account(account: &Account) -> Result<(), String> {
    let root = super::root();
    super::run(
        "cargo",
        &["build", "--quiet", "-p", "haven-tui", "--bin", "haven"],
        &[],
    )?;
    let binary = super::target_dir().join("debug").join("haven");
    let now = chrono::Utc::now();
    let stack = stack_name(now);
    let dir = super::target_dir().join("acceptance").join(format!(
        "{}-{}",
        now.format("%Y%m%dT%H%M%SZ"),
        account.region
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let lab_path = root.join("assets/blueprints/lab.toml");
    let lab =
        std::fs::read_to_string(&lab_path).map_err(|e| format!("{}: {e}", lab_path.display()))?;
    let text = acceptance_blueprint(&lab, &stack, &account.region, &account.azs);
    let blueprint_path = dir.join(format!("{stack}.toml"));
    std::fs::write(&blueprint_path, &text)
        .map_err(|e| format!("{}: {e}", blueprint_path.display()))?;
    std::fs::copy(
        root.join("assets/blueprints/lab-user-data.sh"),
        dir.join("lab-user-data.sh"),
    )
    .map_err(|e| format!("copying the user data: {e}"))?;
    let parsed = blueprint::parse(&text, &blueprint_path.display().to_string(), &|f| {
        dir.join(f).is_file()
    })
    .map_err(|e| format!("the acceptance blueprint is not valid: {e}"))?;
    let haven = Haven {
        binary,
        profile: account.profile.clone(),
        blueprint: blueprint_path.clone(),
    };

    // What will be created, and what it costs.
    println!(
        "\nacceptance run in a REAL account: profile {}, Region {}, stack {stack} (blueprint {})",
        account.profile,
        account.region,
        blueprint_path.display()
    );
    let plan = haven.run(&["plan", "{bp}"])?;
    if !plan.ok {
        return Err(
            "`haven plan` failed: nothing was created (check the profile and Region)".into(),
        );
    }
    let costs = estimate(&parsed);
    println!("\n{}", cost_table(&costs));
    println!(
        "The scenarios take about 1.5 to 3 hours (RDS creates and deletes dominate); everything \
         is torn down at the end, also on failure or Ctrl-C."
    );
    if !account.yes {
        print!("Type the stack name ({stack}) to create it, anything else to stop: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| format!("reading the answer: {e}"))?;
        if answer.trim() != stack {
            return Err("not confirmed: nothing was created".into());
        }
    }

    // `down` keeps a final DB snapshot by default where haven supports it; an acceptance run
    // keeps nothing that costs money afterwards.
    let down_help = haven
        .run(&["down", "--help"])
        .map(|r| r.lines)
        .unwrap_or_default();
    let mut down: Vec<String> = vec!["down".into(), haven.blueprint(), "--yes".into()];
    if down_help.iter().any(|l| l.contains("--no-final-snapshot")) {
        down.push("--no-final-snapshot".into());
    }
    let marker = dir.join("torn-down");
    let mut watchdog_command = vec![
        haven.binary.display().to_string(),
        "--profile".to_string(),
        account.profile.clone(),
    ];
    watchdog_command.extend(down.iter().cloned());
    let script = watchdog_script(
        std::process::id(),
        &marker,
        &watchdog_command,
        &dir.join("watchdog.log"),
    );
    let mut watchdog = Command::new("sh");
    watchdog
        .args(["-c", &script])
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null());
    watchdog
        .spawn()
        .map_err(|e| format!("cannot start the teardown watchdog: {e}; nothing was created"))?;
    let mut guard = TeardownGuard {
        haven: &haven,
        down_args: down.clone(),
        marker,
        done: None,
    };

    let asg = format!("{stack}-asg");
    let down_refs: Vec<&str> = down.iter().map(String::as_str).collect();
    let scenarios_to_run: Vec<ScenarioRun<'_>> = vec![
        (
            "up builds the lab",
            Box::new(|| {
                let mut lines = Vec::new();
                expect_ok(haven.run(&["up", "{bp}", "--yes"]), "haven up", &mut lines)?;
                Ok(("built".into(), lines))
            }),
        ),
        (
            "up again changes nothing",
            Box::new(|| {
                let mut lines = Vec::new();
                let ran = expect_ok(haven.run(&["up", "{bp}", "--yes"]), "haven up", &mut lines)?;
                if contains(&ran, "up to date") {
                    Ok(("nothing to do".into(), lines))
                } else {
                    Err(("the second up planned changes".into(), lines))
                }
            }),
        ),
        (
            "drift made with haven act is repaired by up",
            Box::new(|| {
                let mut lines = Vec::new();
                expect_ok(
                    haven.run(&["act", "asg-set-capacity", &asg, "--max", "5", "--yes"]),
                    "haven act asg-set-capacity --max 5",
                    &mut lines,
                )?;
                let plan = expect_ok(haven.run(&["plan", "{bp}"]), "haven plan", &mut lines)?;
                if !contains(&plan, "max size") {
                    return Err(("the plan does not show the max size drift".into(), lines));
                }
                expect_ok(haven.run(&["up", "{bp}", "--yes"]), "haven up", &mut lines)?;
                let plan = expect_ok(haven.run(&["plan", "{bp}"]), "haven plan", &mut lines)?;
                if contains(&plan, "0 to create, 0 to update, 0 to delete") {
                    Ok(("max size 5 → 4 repaired".into(), lines))
                } else {
                    Err(("changes remain after up".into(), lines))
                }
            }),
        ),
        (
            "act scales the group out and back",
            Box::new(|| {
                let mut lines = Vec::new();
                expect_ok(
                    haven.run(&["act", "asg-set-capacity", &asg, "--desired", "3", "--yes"]),
                    "haven act asg-set-capacity --desired 3",
                    &mut lines,
                )?;
                expect_ok(
                    haven.run(&["act", "asg-set-capacity", &asg, "--desired", "2", "--yes"]),
                    "haven act asg-set-capacity --desired 2",
                    &mut lines,
                )?;
                Ok(("3 in service, then 2".into(), lines))
            }),
        ),
        (
            "down removes the stack",
            Box::new(|| {
                let mut lines = Vec::new();
                expect_ok(haven.run(&down_refs), "haven down", &mut lines)?;
                Ok(("removed".into(), lines))
            }),
        ),
        (
            "up after down builds it again",
            Box::new(|| {
                let mut lines = Vec::new();
                expect_ok(haven.run(&["up", "{bp}", "--yes"]), "haven up", &mut lines)?;
                Ok(("built again (fresh client tokens)".into(), lines))
            }),
        ),
        (
            "down interrupted during the RDS delete, then resumed",
            Box::new(|| {
                let mut lines = Vec::new();
                let mut interrupted = false;
                let first = haven.run_watching(&down_refs, |line, pid| {
                    let rds_delete = line.contains("delete") && line.contains("db-instance/");
                    if !interrupted && rds_delete && line.contains("waiting") {
                        interrupted = true;
                        println!("  >>> sending SIGINT to haven (pid {pid}) during the RDS delete");
                        let _ = Command::new("kill")
                            .args(["-INT", &pid.to_string()])
                            .status();
                    }
                });
                match first {
                    Ok(ran) => lines.extend(ran.lines),
                    Err(e) => return Err((e, lines)),
                }
                if !interrupted {
                    return Err(("down never waited on the RDS delete".into(), lines));
                }
                expect_ok(haven.run(&down_refs), "haven down (resumed)", &mut lines)?;
                let plan = expect_ok(haven.run(&["plan", "{bp}"]), "haven plan", &mut lines)?;
                if contains(&plan, "0 to update, 0 to delete, 0 unchanged") {
                    Ok(("interrupted, then completed; nothing left".into(), lines))
                } else {
                    Err((
                        "something of the stack is left after the resumed down".into(),
                        lines,
                    ))
                }
            }),
        ),
    ];
    let mut scenarios = Vec::new();
    let mut failed = false;
    for (name, body) in scenarios_to_run {
        if failed {
            scenarios.push(Scenario {
                name: name.into(),
                outcome: Outcome::NotRun,
                duration: Duration::ZERO,
                detail: "an earlier scenario failed".into(),
                tail: Vec::new(),
            });
            continue;
        }
        let s = scenario(name, body);
        failed = s.outcome != Outcome::Passed;
        scenarios.push(s);
    }
    scenarios.push(guard.teardown());
    drop(guard);
    let context = vec![
        format!("when: {}", now.format("%Y-%m-%d %H:%M UTC")),
        format!(
            "against: a real account, profile `{}`, Region {}, AZs {}",
            account.profile,
            account.region,
            account.azs.join(", ")
        ),
        format!("stack: {stack} (blueprint {})", blueprint_path.display()),
        format!(
            "estimated cost: ${:.2}/h ({PRICES_AS_OF})",
            total_per_hour(&costs)
        ),
    ];
    finish(
        "haven acceptance run (real account)",
        &context,
        &scenarios,
        &dir,
    )
}

/// `cargo xtask acceptance [...]`.
pub fn run(args: &[String]) -> Result<(), String> {
    match parse_args(args)?.account {
        None => run_moto(),
        Some(account) => run_account(&account),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn lab() -> String {
        std::fs::read_to_string(super::super::root().join("assets/blueprints/lab.toml"))
            .expect("lab.toml")
    }

    #[test]
    fn moto_is_the_default_and_a_real_account_needs_profile_and_region() {
        assert_eq!(parse_args(&[]), Ok(Options { account: None }));
        let options = parse_args(&args("--profile sandbox --region eu-west-1")).expect("valid");
        assert_eq!(
            options.account,
            Some(Account {
                profile: "sandbox".into(),
                region: "eu-west-1".into(),
                azs: ["eu-west-1a".into(), "eu-west-1b".into()],
                yes: false,
            })
        );
        let options = parse_args(&args(
            "--region=us-east-1 --profile=p --azs us-east-1c,us-east-1d -y",
        ))
        .expect("valid");
        let account = options.account.expect("account");
        assert_eq!(account.azs, ["us-east-1c".to_string(), "us-east-1d".into()]);
        assert!(account.yes);

        for (bad, says) in [
            ("--profile sandbox", "go together"),
            ("--region eu-west-1", "go together"),
            ("--yes", "real account"),
            ("--profile p --region eu-wset-1", "did you mean eu-west-1"),
            (
                "--profile p --region eu-west-1 --azs eu-west-1a",
                "two different",
            ),
            (
                "--profile p --region eu-west-1 --azs us-east-1a,us-east-1b",
                "two different",
            ),
            ("--profile --region eu-west-1", "--profile needs a value"),
            ("--bogus", "unknown argument"),
        ] {
            let error = parse_args(&args(bad)).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn the_cost_of_the_lab_is_the_sum_of_its_resources() {
        let text = acceptance_blueprint(
            &lab(),
            "acc-1",
            "us-east-1",
            &["us-east-1a".into(), "us-east-1b".into()],
        );
        let bp = blueprint::parse(&text, "acc.toml", &|_| true).expect("valid");
        let lines = estimate(&bp);
        // 2 NAT gateways and their 2 EIPs, the ALB and its 2 public IPv4s, 2 t3.micro with
        // their root volumes, db.t3.micro Multi-AZ with 2 × 20 GB, one replica with 20 GB.
        let expected = 2.0 * 0.045
            + 2.0 * 0.005
            + (0.0225 + 0.008)
            + 2.0 * 0.005
            + 2.0 * 0.0104
            + 2.0 * 8.0 * 0.08 / 730.0
            + 0.034
            + 40.0 * 0.115 / 730.0
            + 0.017
            + 20.0 * 0.115 / 730.0;
        let total = total_per_hour(&lines);
        assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
        let table = cost_table(&lines);
        assert!(table.contains("total about $0.22 per hour"), "{table}");
        assert!(table.contains("NAT gateway"), "{table}");
        assert!(
            table.contains("https://aws.amazon.com/rds/mysql/pricing/"),
            "{table}"
        );
        assert!(table.contains(PRICES_AS_OF), "{table}");
    }

    #[test]
    fn the_acceptance_blueprint_is_the_lab_in_the_chosen_region_without_account_settings() {
        let azs = ["eu-west-1a".to_string(), "eu-west-1b".to_string()];
        let text = acceptance_blueprint(&lab(), "acc-11300712", "eu-west-1", &azs);
        let bp = blueprint::parse(&text, "acc.toml", &|_| true).expect("valid");
        assert_eq!(bp.name(), "acc-11300712");
        assert_eq!(bp.region(), "eu-west-1");
        assert_eq!(bp.network.azs, azs);
        assert!(bp.iam.operators.is_none(), "no AdministratorAccess group");
        assert!(
            bp.iam.password_policy.is_none(),
            "the account's password policy stays"
        );
        assert!(bp.dr.is_none());
        assert_eq!(bp.iam.instance_role, "acc-11300712-instance-role");
        assert_eq!(bp.database.read_replicas.len(), 1);
        let name = stack_name(chrono::DateTime::UNIX_EPOCH);
        assert_eq!(name, "acc-01010000");
    }

    #[test]
    fn the_report_has_every_scenario_with_result_duration_and_output_tail() {
        let scenarios = vec![
            Scenario {
                name: "up builds the lab".into(),
                outcome: Outcome::Passed,
                duration: Duration::from_secs(1501),
                detail: "built".into(),
                tail: vec!["[30/30] create db-read-replica/lab-db-replica-1  done".into()],
            },
            Scenario {
                name: "up again changes nothing".into(),
                outcome: Outcome::Failed,
                duration: Duration::from_millis(4200),
                detail: "the second up planned | changes".into(),
                tail: (0..40).map(|i| format!("line {i}")).collect(),
            },
            Scenario {
                name: "down removes the stack".into(),
                outcome: Outcome::NotRun,
                duration: Duration::ZERO,
                detail: "an earlier scenario failed".into(),
                tail: Vec::new(),
            },
        ];
        let text = report_markdown("haven acceptance run", &["when: now".into()], &scenarios);
        assert!(text.starts_with("# haven acceptance run\n"), "{text}");
        assert!(text.contains("2 of 3 scenarios did not pass"), "{text}");
        assert!(
            text.contains("| up builds the lab | pass | 25m01s | built |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| up again changes nothing | FAIL | 4.2s | the second up planned \\| changes |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| down removes the stack | not run | 0.0s |"),
            "{text}"
        );
        assert!(text.contains("## up builds the lab — pass"), "{text}");
        assert!(text.contains("line 39"), "{text}");
        let dir = std::env::temp_dir().join(format!("xtask-acceptance-{}", std::process::id()));
        let path = write_report(&dir, &text).expect("written");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(tail(&scenarios[1].tail).len(), TAIL_LINES);
        assert_eq!(tail(&scenarios[1].tail)[0], "line 15");
    }

    #[test]
    fn test_results_are_read_from_nextest_and_cargo_test_output() {
        let output: Vec<String> = [
            "    Starting 3 tests across 1 binary",
            "        PASS [  12.345s] ( 1/3) haven-tests::realism up_down_up_down_leaves_a_final_snapshot",
            "        FAIL [   2.000s] ( 2/3) haven-tests::realism down_resumes_after_kill",
            "        PASS [   0.5s] haven-tests::realism adopt_is_refused",
            "     Summary [  14.845s] 3 tests run: 2 passed, 1 failed",
            "        FAIL [   2.000s] ( 2/3) haven-tests::realism down_resumes_after_kill",
            "test failed_launch_fails_fast ... ok",
            "test failed_launch_is_reported ... FAILED",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        let scenarios = parse_test_results(&output);
        let summary: Vec<(&str, Outcome)> = scenarios
            .iter()
            .map(|s| (s.name.as_str(), s.outcome))
            .collect();
        assert_eq!(
            summary,
            [
                ("up_down_up_down_leaves_a_final_snapshot", Outcome::Passed),
                ("down_resumes_after_kill", Outcome::Failed),
                ("adopt_is_refused", Outcome::Passed),
                ("failed_launch_fails_fast", Outcome::Passed),
                ("failed_launch_is_reported", Outcome::Failed),
            ]
        );
        assert_eq!(scenarios[0].duration, Duration::from_secs_f64(12.345));
    }

    #[test]
    fn the_watchdog_waits_for_xtask_then_tears_down_unless_already_done() {
        let script = watchdog_script(
            4242,
            Path::new("/tmp/run it/torn-down"),
            &[
                "/bin/haven".into(),
                "--profile".into(),
                "o'brien".into(),
                "down".into(),
            ],
            Path::new("/tmp/run it/watchdog.log"),
        );
        assert!(script.starts_with("trap '' INT HUP;"), "{script}");
        assert!(script.contains("while kill -0 4242 "), "{script}");
        assert!(
            script.contains("[ ! -e '/tmp/run it/torn-down' ]"),
            "{script}"
        );
        assert!(
            script.contains("'/bin/haven' '--profile' 'o'\\''brien' 'down'"),
            "{script}"
        );
    }

    /// The watchdog for real: a parent that ends, a teardown that leaves a file.
    #[test]
    fn the_watchdog_tears_down_once_its_parent_is_gone_and_not_after_a_clean_run() {
        let dir = std::env::temp_dir().join(format!("xtask-watchdog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let run = |name: &str, marker_exists: bool| -> bool {
            let marker = dir.join(format!("{name}-marker"));
            let torn = dir.join(format!("{name}-torn"));
            if marker_exists {
                std::fs::write(&marker, "done").expect("marker");
            }
            let mut parent = Command::new("sleep").arg("1").spawn().expect("sleep");
            let teardown = vec![
                "sh".to_string(),
                "-c".to_string(),
                format!("echo down > {}", shell_quote(&torn.display().to_string())),
            ];
            let script = watchdog_script(parent.id(), &marker, &teardown, &dir.join("log"));
            let mut watchdog = Command::new("sh")
                .args(["-c", &script])
                .spawn()
                .expect("sh");
            let _ = parent.wait();
            let _ = watchdog.wait();
            torn.is_file()
        };
        assert!(
            run("killed", false),
            "the teardown ran after the parent ended"
        );
        assert!(
            !run("clean", true),
            "a run that tore down already is left alone"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
