//! `cargo xtask bench`: haven's performance figures, each a ratio measured in the same run,
//! printed as one table and written to `docs/benchmarks.md` with the machine it ran on.
//!
//! Everything runs on loopback against one `moto_server`: discovery of the lab plus 1,000
//! instances in three Regions (against the AWS CLI, against the server's own time, and with
//! 100 ms added to every call), the dashboard (first frame, idle CPU, peak memory; render and
//! `assess` times from the criterion benches) and `haven up` of the lab against the CLI script of
//! the lab notes. These are benchmarks, not tests: nothing here fails on a missed target.

mod cold;
mod dashboard;
pub mod layout;
mod machine;
mod report;
mod scripts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use report::{Row, Table};

use super::{Moto, ensure_moto, has, root, start_moto, target_dir};

/// The Regions discovered; the bulk instances are spread over them (see `haven-bench seed`).
pub const REGIONS: &str = "ap-northeast-2,us-east-1,eu-west-1";
/// Latency added to every call for the critical-path figure.
const DELAY_MS: u64 = 100;
/// Runs of each timed discovery; the median is reported.
const RUNS: usize = 5;

/// The packages every cargo call of the bench names, so that all of them resolve the same
/// features and share one release build.
const PACKAGES: [&str; 6] = [
    "-p",
    "haven-model",
    "-p",
    "haven-tui",
    "-p",
    "haven-testkit",
];

/// The criterion benches: `assess` in haven-model, `render` (and the start) in haven-tui.
const CRITERION: [&str; 2] = ["assess", "render"];

/// Runs every benchmark, prints the table and writes `docs/benchmarks.md`.
pub fn run() -> Result<(), String> {
    let started = Instant::now();
    // A target directory without the release binary is what a fresh machine has: the run then
    // includes the whole release build, and the total is the "fresh machine" figure.
    let fresh = !Bins::new().haven.exists();
    ensure_moto()?;
    ensure_aws_cli()?;
    let build_started = Instant::now();
    build()?;
    let build_took = build_started.elapsed();
    let bins = Bins::new();
    let work = std::env::temp_dir().join(format!("haven-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;

    let mut table = Table::default();
    let moto = start_moto()?;
    discovery(&bins, &moto, &work, &mut table)?;
    dashboard::measure(&bins.haven, &moto, &work, &mut table)?;
    cold::measure(&bins.haven, &bins.proxy, &moto, &work, &mut table)?;
    apply(&bins, &moto, &work, &mut table)?;
    drop(moto);
    criterion(&mut table)?;

    let machine = machine::describe();
    let took = started.elapsed();
    table.rows.push(whole_run(fresh, took, build_took));
    let text = table.render();
    println!("\n{text}");
    let doc = report::document(&machine, &text, &table.notes, took);
    let path = root().join("docs/benchmarks.md");
    std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "wrote {} (bench took {:.0} s)",
        path.display(),
        took.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// The release build every benchmark runs: the binaries and the criterion benches in one
/// build over one package set. cargo resolves the features of one invocation together
/// (dev-dependencies included), so `cargo bench` reuses this build instead of compiling the AWS
/// SDK a second time with other features. Named targets only: `--benches` would also build every
/// library's unit tests.
fn build() -> Result<(), String> {
    let mut build = vec!["build", "--release", "--locked"];
    build.extend([
        "--bin",
        "haven",
        "--bin",
        "haven-bench",
        "--bin",
        "haven-proxy",
    ]);
    for bench in CRITERION {
        build.extend(["--bench", bench]);
    }
    build.extend(PACKAGES);
    cargo(&build)
}

/// The whole run against the 15 minutes a fresh machine may take.
fn whole_run(fresh: bool, took: Duration, build: Duration) -> Row {
    let minutes = took.as_secs_f64() / 60.0;
    let build_minutes = build.as_secs_f64() / 60.0;
    let detail = if fresh {
        format!(
            "{minutes:.1} min from a fresh target directory, of which the release build \
             {build_minutes:.1} min / target 15 min"
        )
    } else {
        format!(
            "{minutes:.1} min with the release build already there (build step \
             {build_minutes:.1} min): not a fresh-machine figure / target 15 min"
        )
    };
    Row::new(
        "cargo xtask bench on a fresh machine",
        detail,
        minutes / 15.0,
        "< 1× of target",
        fresh && minutes < 15.0,
    )
}

/// Runs cargo from the workspace root (see [`super::run`] for the environment it gets).
fn cargo(args: &[&str]) -> Result<(), String> {
    super::run("cargo", args, &[])
}

/// The release binaries the benchmarks run.
struct Bins {
    haven: PathBuf,
    bench: PathBuf,
    proxy: PathBuf,
}

impl Bins {
    fn new() -> Self {
        let release = target_dir().join("release");
        Self {
            haven: release.join("haven"),
            bench: release.join("haven-bench"),
            proxy: release.join("haven-proxy"),
        }
    }
}

/// The AWS CLI is the baseline of the discovery and apply figures.
fn ensure_aws_cli() -> Result<(), String> {
    if has("aws") {
        return Ok(());
    }
    println!("aws (the AWS CLI) not found: installing it with pip");
    let pip = if has("pip3") { "pip3" } else { "pip" };
    super::run(pip, &["install", "--quiet", "awscli"], &[])?;
    if has("aws") {
        Ok(())
    } else {
        Err(
            "aws is still not on PATH after `pip install awscli`; add pip's scripts directory \
             to PATH"
                .into(),
        )
    }
}

/// The environment every haven and aws process gets: static test credentials, one attempt
/// per call, files in `home`, nothing from the user's own AWS configuration.
pub fn isolated(program: &Path, home: &Path, endpoint: &str) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "ap-northeast-2")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("HAVEN_CONFIG_DIR", home.join("config"))
        .env("HAVEN_CACHE_DIR", home.join("cache"))
        .env("HAVEN_DATA_DIR", home.join("data"));
    command
}

/// Runs a command to completion, its output captured; fails with its stderr.
fn output(mut command: Command, what: &str) -> Result<String, String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `key value` lines `haven-bench` prints.
fn fields(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(key, value)| Some((key.to_owned(), value.trim().parse().ok()?)))
        .collect()
}

fn field(fields: &BTreeMap<String, f64>, key: &str) -> Result<f64, String> {
    fields
        .get(key)
        .copied()
        .ok_or_else(|| format!("haven-bench printed no {key}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// How many instances a topology JSON document lists.
fn instances_in(json: &str) -> Result<usize, String> {
    let topology: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("haven snapshot printed no JSON: {e}"))?;
    Ok(topology["regions"]
        .as_array()
        .map(|regions| {
            regions
                .iter()
                .map(|r| r["instances"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0))
}

fn discovery(bins: &Bins, moto: &Moto, work: &Path, table: &mut Table) -> Result<(), String> {
    let endpoint = &moto.endpoint;
    println!("\n$ haven-bench seed {endpoint}   (the lab + 1,000 instances in {REGIONS})");
    let mut seed = Command::new(&bins.bench);
    seed.args(["seed", endpoint]);
    let seeded = fields(&output(seed, "seeding moto")?);
    println!(
        "seeded {} bulk instances in {:.0} s",
        field(&seeded, "bulk_instances")?,
        field(&seeded, "seed_ms")? / 1000.0
    );

    let home = work.join("home");
    let snapshot = |endpoint: &str| {
        let mut command = isolated(&bins.haven, &home, endpoint);
        command.args(["snapshot", "--output", "json", "--regions", REGIONS]);
        command
    };
    // Once untimed: moto loads each backend lazily on its first call.
    let json = output(snapshot(endpoint), "haven snapshot (warm-up)")?;
    let instances = instances_in(&json)?;
    println!("haven snapshot lists {instances} instances");

    // The exact calls haven makes, recorded by the testkit proxy, then replayed. haven's runs
    // and the replays alternate, so that both meet moto in the same state (its speed drifts
    // from run to run by ±10 %).
    let record = work.join("snapshot.calls");
    let recorded = record_run(bins, endpoint, 0, &record, snapshot(endpoint))?;
    let mut haven_runs = Vec::new();
    let mut replays = Vec::new();
    let mut replayed = BTreeMap::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        output(snapshot(endpoint), "haven snapshot")?;
        haven_runs.push(millis(started.elapsed()));
        let mut replay = Command::new(&bins.bench);
        replay.arg("replay").arg(endpoint).arg(&record);
        replayed = fields(&output(replay, "replaying haven's calls")?);
        replays.push(field(&replayed, "server_ms")?);
    }
    let haven_ms = median(haven_runs);
    let cpu_ms = child_cpu_ms(snapshot(endpoint))?;
    println!("haven snapshot: {haven_ms:.0} ms (median of {RUNS}); its CPU time {cpu_ms:.0} ms");
    let server_ms = median(replays);
    let calls = field(&recorded, "calls")?;
    let rounds = field(&replayed, "sequential_round_trips")?;
    println!(
        "server time of haven's {calls} calls: {server_ms:.0} ms; {rounds} sequential round trips"
    );

    // With 100 ms on every call.
    let delayed = record_run(
        bins,
        endpoint,
        DELAY_MS,
        &work.join("snapshot-delayed.calls"),
        snapshot(endpoint),
    )?;
    let delayed_ms = field(&delayed, "wall_ms")?;
    let critical_ms = rounds * DELAY_MS as f64 + server_ms;

    // The same inventory with the AWS CLI, one process per call, as the lab notes do.
    let script = work.join("inventory.sh");
    std::fs::write(&script, scripts::INVENTORY)
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let mut cli = isolated(Path::new("bash"), &home, endpoint);
    cli.arg(&script).args(REGIONS.split(','));
    let started = Instant::now();
    let cli_out = output(cli, "the AWS CLI inventory script")?;
    let cli_ms = millis(started.elapsed());
    let cli_calls = field(&fields(&cli_out), "calls")?;
    println!("aws CLI inventory: {cli_ms:.0} ms, {cli_calls} calls");

    table.rows.push(Row::new(
        "discovery: AWS CLI script ÷ haven snapshot",
        format!(
            "CLI {} ({cli_calls} calls) / haven {} ({calls} calls)",
            secs(cli_ms),
            secs(haven_ms)
        ),
        cli_ms / haven_ms,
        "≥ 10×",
        cli_ms / haven_ms >= 10.0,
    ));
    table.rows.push(Row::new(
        "discovery: haven's CPU time (user + sys) ÷ its wall time",
        format!(
            "{} of {} (the rest is waiting for moto)",
            secs(cpu_ms),
            secs(haven_ms)
        ),
        cpu_ms / haven_ms,
        "report",
        true,
    ));
    table.rows.push(Row::new(
        "discovery: haven snapshot ÷ moto's own time for its calls",
        format!(
            "haven {} / server {} (replayed one by one; moto closes each connection)",
            secs(haven_ms),
            secs(server_ms)
        ),
        haven_ms / server_ms,
        "≤ 1.2×",
        haven_ms / server_ms <= 1.2,
    ));
    table.rows.push(Row::new(
        "discovery, +100 ms a call: haven ÷ critical path",
        format!(
            "haven {} / ({rounds} round trips × 100 ms + server {})",
            secs(delayed_ms),
            secs(server_ms)
        ),
        delayed_ms / critical_ms,
        "≤ 1.5×",
        delayed_ms / critical_ms <= 1.5,
    ));
    table.notes.push(format!(
        "Discovery inventory: the lab (ap-northeast-2 + DR in us-east-1) and 1,000 more \
         instances, one per reservation (400/300/300 in {REGIONS}), {instances} instances in all, \
         IAM included. \
         haven and the replay: median of {RUNS} runs."
    ));
    Ok(())
}

/// `haven-bench record`: runs `command` through the testkit proxy with `delay_ms` per call.
fn record_run(
    bins: &Bins,
    endpoint: &str,
    delay_ms: u64,
    out: &Path,
    command: Command,
) -> Result<BTreeMap<String, f64>, String> {
    let mut record = Command::new(&bins.bench);
    record
        .arg("record")
        .arg(endpoint)
        .arg(delay_ms.to_string())
        .arg(out)
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args());
    // The recorded command keeps its isolated environment; the proxy sets AWS_ENDPOINT_URL.
    record.env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            record.env(key, value);
        }
    }
    let recorded = fields(&output(record, "recording through the proxy")?);
    if field(&recorded, "exit")? != 0.0 {
        return Err(format!(
            "{:?} failed under the proxy; its output is in {}.stdout",
            command.get_program(),
            out.display()
        ));
    }
    Ok(recorded)
}

/// `haven up` of the lab, against the CLI script of the lab notes (section 2) for the part both
/// build: the VPC, subnets, internet gateway, route table and security group.
fn apply(bins: &Bins, moto: &Moto, work: &Path, table: &mut Table) -> Result<(), String> {
    let endpoint = &moto.endpoint;
    reset(moto)?;
    let home = work.join("home-up");
    let blueprint = root().join("assets/blueprints/lab.toml");
    let mut up = isolated(&bins.haven, &home, endpoint);
    up.arg("up").arg(&blueprint).arg("--yes");
    let record = work.join("up.calls");
    let recorded = record_run(bins, endpoint, 0, &record, up)?;
    let up_ms = field(&recorded, "wall_ms")?;
    let up_calls = field(&recorded, "calls")?;
    let text = std::fs::read_to_string(&record).map_err(|e| e.to_string())?;
    let actions: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split('\t').nth(5))
        .collect();
    let shared = actions
        .iter()
        .filter(|a| scripts::NETWORK_ACTIONS.contains(a))
        .count();
    let mutating = actions
        .iter()
        .filter(|a| !["Describe", "List", "Get"].iter().any(|p| a.starts_with(p)))
        .count();

    reset(moto)?;
    let script = work.join("network.sh");
    std::fs::write(&script, scripts::NETWORK).map_err(|e| format!("{}: {e}", script.display()))?;
    let mut cli = isolated(Path::new("bash"), &home, endpoint);
    cli.arg(&script);
    let started = Instant::now();
    let cli_out = output(cli, "the AWS CLI network script")?;
    let cli_ms = millis(started.elapsed());
    let cli_calls = field(&fields(&cli_out), "calls")?;
    println!(
        "haven up: {up_ms:.0} ms, {up_calls} calls; CLI network script: {cli_ms:.0} ms, \
         {cli_calls} calls"
    );
    table.rows.push(Row::new(
        "apply: CLI network script ÷ haven up (whole lab)",
        format!(
            "CLI {} ({cli_calls} calls, network + SGs only) / haven {} ({up_calls} calls, \
             {mutating} mutating, {shared} of them in the shared part)",
            secs(cli_ms),
            secs(up_ms)
        ),
        cli_ms / up_ms,
        "report",
        true,
    ));
    table.notes.push(
        "Apply: `haven up assets/blueprints/lab.toml --yes` on an empty moto builds the whole \
         lab (network, IAM, launch template, ALB, ASG, RDS); the CLI script is section 2 of the \
         lab notes in the blueprint's shape (VPC, 4 subnets, IGW, route tables, NAT-less, the \
         SG chain), one `aws` process per call. \"Shared part\" counts haven's calls of the same \
         API actions."
            .to_owned(),
    );
    Ok(())
}

/// `POST /moto-api/reset`: an empty account again.
fn reset(moto: &Moto) -> Result<(), String> {
    use std::io::{Read, Write};
    let address = moto.endpoint.trim_start_matches("http://");
    let mut stream =
        std::net::TcpStream::connect(address).map_err(|e| format!("moto reset: {e}"))?;
    write!(
        stream,
        "POST /moto-api/reset HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("moto reset: {e}"))?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!(
            "moto reset answered {:?}",
            answer.lines().next().unwrap_or("")
        ))
    }
}

/// The criterion benches (`assess`, the map and a list drawn at 10,000 resources, and the
/// dashboard's start from the cache's text to the first frame), with a
/// short measurement so the whole bench stays well under 15 minutes.
fn criterion(table: &mut Table) -> Result<(), String> {
    let quick = ["--noplot", "--warm-up-time", "1", "--measurement-time", "3"];
    for bench in CRITERION {
        let mut args = vec!["bench", "--locked", "--bench", bench];
        args.extend(PACKAGES);
        args.push("--");
        args.extend(quick);
        cargo(&args)?;
    }
    for (id, what, target_ms) in [
        ("assess/large-10k", "assess() on 10,000 resources", 50.0),
        (
            "render/map",
            "dashboard: draw the map at 10,000 resources",
            2.0,
        ),
        (
            "render/map-signals",
            "dashboard: draw the map with live signals (sparklines, thresholds) at 10,000 resources",
            2.0,
        ),
        (
            "render/list-ec2",
            "dashboard: draw the EC2 list at 10,000 resources",
            2.0,
        ),
        (
            "start/cached-10k",
            "dashboard: its own part of the first frame (parse the 10,000-resource cache, \
             build the map and findings, draw)",
            100.0,
        ),
    ] {
        let ms = criterion_estimate(id)?;
        table.rows.push(Row::new(
            what,
            format!("{ms:.3} ms a call (criterion mean) / target {target_ms} ms"),
            ms / target_ms,
            "< 1× of target",
            ms < target_ms,
        ));
    }
    Ok(())
}

/// The mean of a criterion benchmark, in milliseconds, from `target/criterion/<id>/new`.
fn criterion_estimate(id: &str) -> Result<f64, String> {
    let path = target_dir()
        .join("criterion")
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let estimates: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1e6)
        .ok_or_else(|| format!("{}: no mean.point_estimate", path.display()))
}

/// The CPU time (user + system) `command` takes, in milliseconds, as bash's `times` reports
/// it for its children; the command's output is discarded.
fn child_cpu_ms(command: Command) -> Result<f64, String> {
    let mut bash = Command::new("bash");
    bash.env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            bash.env(key, value);
        }
    }
    bash.args(["-c", "\"$@\" > /dev/null || exit 1; times", "bash"])
        .arg(command.get_program())
        .args(command.get_args());
    let out = output(bash, "haven snapshot (CPU time)")?;
    // `times`: the shell's user and system time, then its children's: `0m0.180s 0m0.040s`.
    let children = out.lines().nth(1).unwrap_or_default();
    let parse = |t: &str| -> Option<f64> {
        let (m, s) = t.trim_end_matches('s').split_once('m')?;
        Some(m.parse::<f64>().ok()? * 60_000.0 + s.parse::<f64>().ok()? * 1000.0)
    };
    let times: Option<Vec<f64>> = children.split_whitespace().map(parse).collect();
    match times.as_deref() {
        Some([user, system]) => Ok(user + system),
        _ => Err(format!("bash `times` printed {out:?}")),
    }
}

/// Milliseconds as a short human figure.
fn secs(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}
