//! The dashboard with nothing cached, against the seeded moto (the lab and 1,000 instances, one
//! per reservation, over three Regions), every call going through the recording proxy
//! (`haven-proxy --log`):
//! - the time from start to the first EC2 rows of ap-northeast-2, against the time that
//!   Region's first `DescribeInstances` page took to come back;
//! - the calls a minute while idle on the EC2 list (live reads and the signals), measured over
//!   five minutes, and the steady state with the full discovery and IAM amortised;
//! - the peak memory (VmHWM) there.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::report::{Row, Table};
use super::{REGIONS, median, millis};
use crate::Moto;

/// How many cold starts the first-rows figure is the median of.
const STARTS: usize = 5;
/// How long the idle calls are counted: five minutes, the cadence of a steady Region's events
/// (`haven_model::signals::watch::QUIET_EVENTS_SECONDS`).
const IDLE: Duration = Duration::from_secs(300);
/// The dashboard's defaults (see `haven_tui::dashboard`): full read and IAM intervals.
const FULL_SECONDS: f64 = 1800.0;
const IAM_SECONDS: f64 = 1800.0;
/// The Region whose first rows are timed.
const REGION: &str = "ap-northeast-2";

/// One request the proxy answered: when it arrived and took, in ms from the proxy's start.
#[derive(Debug, Clone)]
struct Call {
    received: f64,
    elapsed: f64,
    service: String,
    region: String,
    action: String,
}

/// The proxy process and the requests it printed.
pub(super) struct Recorder {
    child: Child,
    pub(super) endpoint: String,
    epoch: Instant,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Recorder {
    pub(super) fn start(proxy: &Path, upstream: &str) -> Result<Self, String> {
        let mut child = Command::new(proxy)
            .args([upstream, "--log"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: {e}", proxy.display()))?;
        let stdout = child.stdout.take().ok_or("haven-proxy gave no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .and_then(Result::ok)
            .ok_or("haven-proxy printed nothing")?;
        let epoch = Instant::now();
        let endpoint = first
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| format!("haven-proxy said {first:?}"))?
            .to_string();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&calls);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let f: Vec<&str> = line.split_whitespace().collect();
                if let ["req", received, elapsed, service, region, action] = f[..]
                    && let Ok(mut all) = sink.lock()
                {
                    all.push(Call {
                        received: received.parse().unwrap_or(0.0),
                        elapsed: elapsed.parse().unwrap_or(0.0),
                        service: service.to_string(),
                        region: region.to_string(),
                        action: action.to_string(),
                    });
                }
            }
        });
        Ok(Self {
            child,
            endpoint,
            epoch,
            calls,
        })
    }

    /// Milliseconds from the proxy's start to `at`.
    fn at(&self, at: Instant) -> f64 {
        millis(at.saturating_duration_since(self.epoch))
    }

    /// The calls received at or after `from` (ms on the proxy's clock).
    fn since(&self, from: f64) -> Vec<Call> {
        let all = self.calls.lock().map(|c| c.clone()).unwrap_or_default();
        all.into_iter().filter(|c| c.received >= from).collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.flush();
        }
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the cold-start, idle and memory measurements.
pub fn measure(
    haven: &Path,
    proxy: &Path,
    moto: &Moto,
    work: &Path,
    table: &mut Table,
) -> Result<(), String> {
    let recorder = Recorder::start(proxy, &moto.endpoint)?;
    let mut rows_ms = Vec::new();
    let mut page_ms = Vec::new();
    for start in 0..STARTS {
        let home = work.join(format!("home-cold-{start}"));
        let session = format!("haven-bench-cold-{}-{start}", std::process::id());
        let result = first_rows(haven, &recorder, &home, &session);
        let _ = tmux(&["kill-session", "-t", &session]);
        let (rows, page) = result?;
        println!(
            "cold start {start}: first {REGION} EC2 rows after {rows:.0} ms, its first page {page:.0} ms"
        );
        rows_ms.push(rows);
        page_ms.push(page);
        sleep(Duration::from_millis(300));
    }
    let (rows, page) = (median(rows_ms), median(page_ms));

    let home = work.join("home-idle");
    let session = format!("haven-bench-idle-{}", std::process::id());
    let result = idle(haven, &recorder, &home, &session);
    let _ = tmux(&["send-keys", "-t", &session, "q"]);
    sleep(Duration::from_millis(300));
    let _ = tmux(&["kill-session", "-t", &session]);
    let idle = result?;

    table.rows.push(Row::new(
        "dashboard, nothing cached: start to the first EC2 rows of a Region",
        format!(
            "{rows:.0} ms to the first {REGION} rows / target 1,000 ms; that Region's first \
             DescribeInstances page came back {page:.0} ms after the start, so haven drew \
             {:.0} ms after it (target ≤ 300 ms; medians of {STARTS} starts, 1,000 instances \
             one per reservation + the lab over {REGIONS})",
            rows - page
        ),
        rows / 1000.0,
        "≤ 1× of target",
        rows <= 1000.0 && rows - page <= 300.0,
    ));
    table.rows.push(Row::new(
        "dashboard: calls a minute while idle (steady state)",
        format!(
            "{:.1} calls/min = {:.0} calls of live reads and signals in {} s + a full \
             discovery of {} calls every {:.0} min + IAM's {} calls every {:.0} min / target 20; \
             before: a full discovery every 30 s = {:.0} calls/min",
            idle.steady,
            idle.live_calls,
            IDLE.as_secs(),
            idle.full_calls,
            FULL_SECONDS / 60.0,
            idle.iam_calls,
            IAM_SECONDS / 60.0,
            idle.full_calls as f64 * 2.0,
        ),
        idle.steady / 20.0,
        "≤ 1× of target",
        idle.steady <= 20.0,
    ));
    table.rows.push(Row::new(
        "dashboard: peak memory at the EC2 list, nothing cached (VmHWM)",
        format!(
            "{:.1} MiB with the lab + 1,000 instances read / target 35 MiB",
            idle.peak_mib
        ),
        idle.peak_mib / 35.0,
        "≤ 1× of target",
        idle.peak_mib <= 35.0,
    ));
    table.notes.push(format!(
        "Live reads and signals over {} s: {}.",
        IDLE.as_secs(),
        idle.live_actions
    ));
    Ok(())
}

/// Starts the dashboard in a new tmux session, 200×60, with `home` emptied (nothing cached).
fn open_fresh(haven: &Path, home: &Path, endpoint: &str, session: &str) -> Result<(), String> {
    open_fresh_under(&[], haven, home, endpoint, session)
}

/// [`open_fresh`] with haven run by `wrapper` (a profiler and its arguments).
pub(super) fn open_fresh_under(
    wrapper: &[&str],
    haven: &Path,
    home: &Path,
    endpoint: &str,
    session: &str,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(home);
    std::fs::create_dir_all(home).map_err(|e| e.to_string())?;
    let line = pane_line_under(wrapper, haven, home, endpoint);
    tmux(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "60",
        &line,
    ])
    .map(|_| ())
}

/// Opens the dashboard with an empty home, types `:ec2` as soon as it shows, and returns the
/// ms from the start to the first row of [`REGION`] and to that Region's first page.
fn first_rows(
    haven: &Path,
    recorder: &Recorder,
    home: &Path,
    session: &str,
) -> Result<(f64, f64), String> {
    let started = Instant::now();
    let from = recorder.at(started);
    open_fresh(haven, home, &recorder.endpoint, session)?;
    let deadline = started + Duration::from_secs(60);
    let mut typed = false;
    let rows = loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]).unwrap_or_default();
        // `1` shows the first Region only (REGION), then its EC2 list: rows of other Regions
        // arriving first cannot push REGION's rows out of the pane. The keys go once the
        // Region bar is drawn (the first piece has arrived).
        if !typed && screen.contains(&format!("1 {REGION}")) {
            tmux(&["send-keys", "-t", session, "1", ":ec2", "Enter"])?;
            typed = true;
        }
        let row = screen.contains(&format!("EC2 instances [{REGION}]"))
            && screen.lines().any(|l| l.starts_with("│i-"));
        if typed && row {
            break millis(started.elapsed());
        }
        if Instant::now() > deadline {
            return Err(format!("no {REGION} EC2 row within 60 s:\n{screen}"));
        }
        sleep(Duration::from_millis(2));
    };
    // The read goes on to its end before the next start: a haven killed mid-read leaves moto
    // answering its calls, and the next start would measure that backlog.
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]).unwrap_or_default();
        let header = screen.lines().next().unwrap_or_default();
        if (header.contains("updated") && !header.contains("to read")) || Instant::now() > deadline
        {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    let first_page = recorder
        .since(from)
        .into_iter()
        .filter(|c| c.action == "DescribeInstances" && c.region == REGION)
        .map(|c| c.received + c.elapsed - from)
        .fold(f64::INFINITY, f64::min);
    if !first_page.is_finite() {
        return Err(format!("the proxy saw no DescribeInstances in {REGION}"));
    }
    Ok((rows, first_page))
}

struct Idle {
    live_calls: usize,
    full_calls: usize,
    iam_calls: usize,
    steady: f64,
    peak_mib: f64,
    live_actions: String,
}

/// The dashboard on the EC2 list: the first full read counted, then a minute of live reads.
fn idle(haven: &Path, recorder: &Recorder, home: &Path, session: &str) -> Result<Idle, String> {
    let from = recorder.at(Instant::now());
    open_fresh(haven, home, &recorder.endpoint, session)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut typed = false;
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]).unwrap_or_default();
        if !typed && screen.starts_with(" haven ") {
            tmux(&["send-keys", "-t", session, ":ec2", "Enter"])?;
            typed = true;
        }
        if typed && screen.contains("updated") && !screen.contains("to read") {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the first read did not end within 60 s:\n{screen}"));
        }
        sleep(Duration::from_millis(50));
    }
    sleep(Duration::from_millis(500));
    let window = recorder.at(Instant::now());
    let first: Vec<Call> = recorder
        .since(from)
        .into_iter()
        .filter(|c| c.received < window && c.service != "sts")
        .collect();
    let iam_calls = first.iter().filter(|c| c.service == "iam").count();
    let full_calls = first.len() - iam_calls;
    sleep(IDLE);
    let live: Vec<Call> = recorder.since(window);
    let live_iam = live.iter().filter(|c| c.service == "iam").count();
    let mut actions: Vec<String> = live
        .iter()
        .map(|c| format!("{} {}", c.region, c.action))
        .collect();
    actions.sort();
    let mut counted: Vec<String> = Vec::new();
    let mut i = 0;
    while i < actions.len() {
        let n = actions[i..]
            .iter()
            .take_while(|a| **a == actions[i])
            .count();
        counted.push(format!("{} ×{n}", actions[i]));
        i += n;
    }
    let pid: u32 = tmux(&["display-message", "-p", "-t", session, "#{pane_pid}"])?
        .trim()
        .parse()
        .map_err(|_| "tmux gave no pane pid".to_string())?;
    let peak_mib = peak_kb(pid)? as f64 / 1024.0;
    let per_minute = |n: usize| n as f64 * 60.0 / IDLE.as_secs_f64();
    let steady = per_minute(live.len() - live_iam)
        + full_calls as f64 * 60.0 / FULL_SECONDS
        + iam_calls as f64 * 60.0 / IAM_SECONDS;
    println!(
        "idle: {} calls in {} s, first read {full_calls} calls + {iam_calls} IAM, peak {peak_mib:.1} MiB",
        live.len(),
        IDLE.as_secs()
    );
    Ok(Idle {
        live_calls: live.len() - live_iam,
        full_calls,
        iam_calls,
        steady,
        peak_mib,
        live_actions: counted.join(", "),
    })
}

use super::dashboard::{pane_line_under, peak_kb, tmux};
