//! `cargo xtask layout`: records which functions the release dashboard runs from its start to
//! the first EC2 list, and writes them to `crates/tui/link/haven.order`, which the release build
//! gives the linker (`crates/tui/build.rs`) so that they are laid out together.
//!
//! The run is the bench's cold start (nothing cached, the seeded moto behind the testkit proxy,
//! a 200×60 pane, `:ec2`, the first read, a live read) under valgrind's callgrind, which names
//! every function executed. Record again after a compiler or crate update (the symbols' hashes
//! change) or when the first read runs new code; the bench's "peak memory at the EC2 list"
//! tells when it is due.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::cold::{Recorder, open_fresh_under};
use super::dashboard::tmux;
use super::{Bins, build, output};
use crate::{ensure_moto, ensure_tmux, has, root, start_moto};

/// Where the order goes, from the workspace root.
const ORDER: &str = "crates/tui/link/haven.order";
/// How long the dashboard stays on the list after the first read: a live read (every 30 s or
/// so) and the signals read run meanwhile, ten times slower under valgrind.
const AFTER_LIST: Duration = Duration::from_secs(45);

pub fn run() -> Result<(), String> {
    if !has("valgrind") {
        return Err(
            "valgrind is needed to record the layout: install it (apt-get install -y valgrind)"
                .into(),
        );
    }
    ensure_moto()?;
    ensure_tmux()?;
    build()?;
    let bins = Bins::new();
    let work = std::env::temp_dir().join(format!("haven-layout-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let moto = start_moto()?;
    let mut seed = Command::new(&bins.bench);
    seed.args(["seed", &moto.endpoint]);
    println!("seeding moto (the lab + 1,000 instances)");
    output(seed, "seeding moto")?;
    let recorder = Recorder::start(&bins.proxy, &moto.endpoint)?;
    let profile = work.join("callgrind.out");
    let session = format!("haven-layout-{}", std::process::id());
    let result = record(&bins.haven, &recorder.endpoint, &work, &profile, &session);
    let _ = tmux(&["kill-session", "-t", &session]);
    result?;
    let text =
        std::fs::read_to_string(&profile).map_err(|e| format!("{}: {e}", profile.display()))?;
    let functions = executed(&text, &bins.haven);
    if functions.len() < 1000 {
        return Err(format!(
            "callgrind named only {} functions of {}: the run did not reach the list",
            functions.len(),
            bins.haven.display()
        ));
    }
    // The compiler cargo runs, as build.rs asks it.
    let mut version = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()));
    version.arg("-V");
    let rustc = output(version, "rustc -V")?;
    let path = root().join(ORDER);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, document(rustc.trim(), &functions))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {} ({} functions)", path.display(), functions.len());
    // The layout takes effect at the next link.
    build()?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Runs the dashboard under callgrind to the EC2 list, a while on it, then quits.
fn record(
    haven: &Path,
    endpoint: &str,
    work: &Path,
    profile: &Path,
    session: &str,
) -> Result<(), String> {
    let out = format!("--callgrind-out-file={}", profile.display());
    // valgrind's own messages go to a file, not over the dashboard in the pane.
    let log = format!("--log-file={}", work.join("valgrind.log").display());
    // The allocator's settings already given, so that haven does not execute itself again
    // (haven_tui::allocator): valgrind would not follow it.
    let valgrind = [
        "MALLOC_ARENA_MAX=1",
        "MALLOC_MMAP_THRESHOLD_=131072",
        "valgrind",
        "--tool=callgrind",
        "--demangle=no",
        &out,
        &log,
    ];
    open_fresh_under(&valgrind, haven, &work.join("home"), endpoint, session)?;
    println!("the dashboard under callgrind, to the EC2 list (a minute or two)");
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut typed = false;
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session])?;
        if !typed && screen.starts_with(" haven ") {
            tmux(&["send-keys", "-t", session, ":ec2", "Enter"])?;
            typed = true;
        }
        // The first read has ended once the header says when; a live read may already be
        // under way (everything is slower under valgrind).
        if typed && screen.lines().next().is_some_and(|l| l.contains("updated")) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the first read did not end within 300 s:\n{screen}"
            ));
        }
        sleep(Duration::from_millis(200));
    }
    sleep(AFTER_LIST);
    tmux(&["send-keys", "-t", session, "q"])?;
    // The pane's process is valgrind itself: the session ends when it has written the profile.
    let deadline = Instant::now() + Duration::from_secs(120);
    while tmux(&["has-session", "-t", session]).is_ok() {
        if Instant::now() > deadline {
            return Err("the dashboard did not quit within 120 s of `q`".into());
        }
        sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// The mangled names of the functions of `binary` that a callgrind profile saw run, sorted
/// (so that a new recording's diff shows what changed).
///
/// callgrind names an object (`ob=`, `cob=`) and a function (`fn=`, `cfn=`) in full the first
/// time, then by its number; a call's callee is in the caller's object unless a `cob=` precedes
/// it; a function called recursively gets a `'2` suffix.
fn executed(profile: &str, binary: &Path) -> BTreeSet<String> {
    let binary = binary
        .canonicalize()
        .unwrap_or_else(|_| binary.to_path_buf());
    let binary = binary.to_string_lossy();
    let mut objects = std::collections::HashMap::new();
    let (mut object, mut called_object) = (String::new(), String::new());
    let mut names = BTreeSet::new();
    for line in profile.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some((id, name)) = value.split_once(')') else {
            continue;
        };
        let name = name.trim();
        match key {
            "ob" | "cob" => {
                let name = if name.is_empty() {
                    objects.get(id).cloned().unwrap_or_default()
                } else {
                    objects.insert(id.to_string(), name.to_string());
                    name.to_string()
                };
                if key == "ob" {
                    called_object = name.clone();
                    object = name;
                } else {
                    called_object = name;
                }
            }
            // valgrind's own frames (`(below main)`) are not symbols.
            "fn" | "cfn" if !name.is_empty() && !name.contains(char::is_whitespace) => {
                let ours = if key == "fn" { &object } else { &called_object };
                if *ours == binary {
                    let name = name.split('\'').next().unwrap_or(name);
                    names.insert(name.to_string());
                }
            }
            _ => {}
        }
        if key == "fn" || key == "cfn" {
            // A `cob=` names the object of the one call that follows it.
            called_object = object.clone();
        }
    }
    names
}

fn document(rustc: &str, functions: &BTreeSet<String>) -> String {
    let mut text = String::from(
        "# The functions the release `haven` runs from its start to the first EC2 list (nothing\n\
         # cached, the lab + 1,000 instances over three Regions), which the linker lays out first\n\
         # (crates/tui/build.rs). Written by `cargo xtask layout`: do not edit.\n",
    );
    text.push_str(&format!("# recorded with {rustc}\n"));
    for name in functions {
        text.push_str(name);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_binarys_functions_are_kept_named_or_numbered() {
        let profile = "\
ob=(1) /bin/haven
fn=(1) _ZN5haven4main17h0000000000000001E
cob=(2) /lib/libc.so.6
cfn=(2) malloc
calls=1 0
cfn=(3) _ZN5haven4draw17h0000000000000002E'2
fn=(4) _ZN5haven4read17h0000000000000003E
ob=(2)
fn=(5) free
ob=(1)
fn=(6) (below main)
fn=(1)
";
        let names = executed(profile, Path::new("/bin/haven"));
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "_ZN5haven4draw17h0000000000000002E",
                "_ZN5haven4main17h0000000000000001E",
                "_ZN5haven4read17h0000000000000003E",
            ]
        );
    }
}
