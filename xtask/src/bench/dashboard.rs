//! The dashboard as a person starts it: the release `haven` binary in a tmux pane, with the
//! 10,000-resource fixture as its cached topology. Measures the time to the first frame, the
//! CPU it uses while idle and its peak memory.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::report::{Row, Table};
use super::{REGIONS, isolated, median, millis};
use crate::{Moto, ensure_tmux, root};

/// The account moto answers for (the fixture's account too).
const ACCOUNT: &str = "123456789012";
/// How long the idle CPU is sampled.
const IDLE: Duration = Duration::from_secs(5);

/// Starts the dashboard, measures it, quits it.
pub fn measure(haven: &Path, moto: &Moto, work: &Path, table: &mut Table) -> Result<(), String> {
    ensure_tmux()?;
    let home = work.join("home-dashboard");
    let endpoint = &moto.endpoint;
    let endpoint_key: String = endpoint
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let cache = home
        .join("cache")
        .join(format!("topology-{ACCOUNT}-{endpoint_key}.json"));
    std::fs::create_dir_all(home.join("cache")).map_err(|e| e.to_string())?;
    let fixture = root().join("assets/fixtures/large-10k.json");
    let cached_len = std::fs::metadata(&fixture)
        .map_err(|e| format!("{}: {e}", fixture.display()))?
        .len();
    // Before every start: the cache holds the 10,000 resources (a start's refresh replaces it).
    let cache_fixture = || {
        std::fs::copy(&fixture, &cache)
            .map(drop)
            .map_err(|e| format!("{}: {e}", cache.display()))
    };

    let line = pane_line_under(&[], haven, &home, endpoint);

    // tmux's own part: the same pane showing the same text printed by `echo`. Each figure is
    // the median of `STARTS` starts.
    let echo = format!("echo {FIRST_FRAME_TEXT}; exec sleep 30");
    let mut baselines = Vec::new();
    let mut first_frames = Vec::new();
    for start in 0..STARTS {
        let session = format!("haven-bench-start-{}-{start}", std::process::id());
        baselines.push(open_once(&session, &echo)?);
        cache_fixture()?;
        first_frames.push(open_once(&session, &line)?);
    }
    let (baseline, first_frame) = (median(baselines), median(first_frames));

    cache_fixture()?;
    let session = format!("haven-bench-{}", std::process::id());
    let result = open_until(&session, &line)
        .and_then(|_| measure_session(&session, first_frame, baseline, &cache, cached_len, table));
    let _ = tmux(&["send-keys", "-t", &session, "q"]);
    sleep(Duration::from_millis(500));
    let _ = tmux(&["kill-session", "-t", &session]);
    result
}

/// How many starts the first-frame figure is the median of.
const STARTS: usize = 5;

/// [`open_until`], then the session is closed.
fn open_once(session: &str, line: &str) -> Result<f64, String> {
    let result = open_until(session, line);
    let _ = tmux(&["kill-session", "-t", session]);
    sleep(Duration::from_millis(200));
    result
}

/// What the first frame shows: the first Region of the cached map.
const FIRST_FRAME_TEXT: &str = "ap-northeast-2";

/// Opens a detached tmux session running `line` in a pane of the dashboard's size and returns
/// the milliseconds until the pane shows [`FIRST_FRAME_TEXT`].
fn open_until(session: &str, line: &str) -> Result<f64, String> {
    let started = Instant::now();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "60",
        line,
    ])?;
    let deadline = started + Duration::from_secs(20);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]).unwrap_or_default();
        if screen.contains(FIRST_FRAME_TEXT) {
            return Ok(millis(started.elapsed()));
        }
        // haven's own lines before the dashboard opens say what it connects to; any other
        // `haven:` line is an error.
        let failed = screen.lines().any(|l| {
            l.starts_with("haven:")
                && !l.starts_with("haven: connecting to")
                && !l.starts_with("haven: signed in")
        });
        if failed || Instant::now() > deadline {
            return Err(format!(
                "the pane showed no {FIRST_FRAME_TEXT} within 20 s:\n{screen}"
            ));
        }
        sleep(Duration::from_millis(2));
    }
}

fn measure_session(
    session: &str,
    first_frame: f64,
    tmux_own: f64,
    cache: &Path,
    cached_len: u64,
    table: &mut Table,
) -> Result<(), String> {
    let pid: u32 = tmux(&["display-message", "-p", "-t", session, "#{pane_pid}"])?
        .trim()
        .parse()
        .map_err(|_| "tmux gave no pane pid".to_string())?;
    println!(
        "dashboard: first frame after {first_frame:.0} ms, of which tmux {tmux_own:.0} ms \
         (haven pid {pid})"
    );

    // Idle: after the first refresh has replaced the cache file.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(cache)
        .map(|m| m.len())
        .unwrap_or(cached_len)
        == cached_len
    {
        if Instant::now() > deadline {
            return Err("the dashboard's first refresh did not finish within 60 s".into());
        }
        sleep(Duration::from_millis(100));
    }
    sleep(Duration::from_secs(1));
    let before = cpu_ticks(pid)?;
    sleep(IDLE);
    let after = cpu_ticks(pid)?;
    let hertz = 100.0; // USER_HZ on Linux
    let idle_percent = (after - before) as f64 / hertz / IDLE.as_secs_f64() * 100.0;
    let peak_mb = peak_kb(pid)? as f64 / 1024.0;
    println!("dashboard: idle CPU {idle_percent:.2} %, peak memory {peak_mb:.1} MB");

    // haven's part: from its process start (the pane's `exec`) to the map on screen, including
    // the credential check (one STS call); tmux's own start-to-screen time is measured apart.
    let haven_ms = first_frame - tmux_own;
    table.rows.push(Row::new(
        "dashboard: first frame, cached topology (10,000 resources)",
        format!(
            "haven {haven_ms:.0} ms (incl. one STS call) = {first_frame:.0} ms in a new tmux \
             pane − {tmux_own:.0} ms for the pane to show `echo` (medians of {STARTS} starts) \
             / target 100 ms"
        ),
        haven_ms / 100.0,
        "< 1× of target",
        haven_ms < 100.0,
    ));
    table.rows.push(Row::new(
        "dashboard: CPU while idle",
        format!(
            "{idle_percent:.2} % of one core over {} s (after the first refresh)",
            IDLE.as_secs()
        ),
        idle_percent / 100.0,
        "≈ 0 (< 1 %)",
        idle_percent < 1.0,
    ));
    table.rows.push(Row::new(
        "dashboard: peak memory (VmHWM)",
        format!(
            "{peak_mb:.1} MB (10,000 cached, then a refresh of the seeded moto) / target 100 MB"
        ),
        peak_mb / 100.0,
        "< 1× of target",
        peak_mb < 100.0,
    ));
    Ok(())
}

/// The pane's command: `exec env -i VAR=… [wrapper…] haven --regions …`, the same environment
/// as the other benchmarks; `wrapper` is a profiler and its arguments, or nothing.
pub(super) fn pane_line_under(
    wrapper: &[&str],
    haven: &Path,
    home: &Path,
    endpoint: &str,
) -> String {
    let template = isolated(haven, home, endpoint);
    let mut line = String::from("exec env -i");
    for (key, value) in template.get_envs() {
        if let (Some(key), Some(value)) = (key.to_str(), value.and_then(|v| v.to_str())) {
            line.push_str(&format!(" {key}='{value}'"));
        }
    }
    for word in wrapper {
        line.push_str(&format!(" '{word}'"));
    }
    line.push_str(&format!(" '{}' --regions {REGIONS}", haven.display()));
    line
}

pub(super) fn tmux(args: &[&str]) -> Result<String, String> {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .map_err(|e| format!("tmux: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "tmux {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// User + system CPU time of a process, in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e} (did haven exit?)"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After ")", index 0 is field 3 (state): utime is field 14, stime field 15.
    Ok(field(11) + field(12))
}

/// The peak resident set size (`VmHWM`) in kB.
pub(super) fn peak_kb(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("/proc/{pid}/status has no VmHWM"))
}
