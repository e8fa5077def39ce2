//! Credentials never reach output, logs, the topology cache or the action log: every entry
//! point runs with distinctive access keys and a session token (and trace logging), then every
//! byte it printed and every file it wrote is searched for them.

use std::path::{Path, PathBuf};
use std::process::Output;

use haven_testkit::MotoServer;
use haven_testkit::lab;
use haven_tests::tmux::{Tmux, haven_command};
use haven_tests::{Reliability, haven, record_reliability};

const ACCESS_KEY_ID: &str = "AKIAHAVENSECRETTEST7";
const SECRET_ACCESS_KEY: &str = "hvnSecretKey/Do+Not+Print/0123456789abcdefgh";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEHavenSessionTokenDoNotPrint0123456789";

/// `haven` with the distinctive credentials and trace logging.
fn run(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> Output {
    haven(endpoint, home)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("HAVEN_LOG", "trace")
        .args(args)
        .output()
        .expect("run haven")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Where a secret shows up: `(what, which secret)`.
fn leaks_in(what: &str, bytes: &[u8], leaks: &mut Vec<String>) {
    let text = String::from_utf8_lossy(bytes);
    for (name, secret) in [
        ("access key id", ACCESS_KEY_ID),
        ("secret access key", SECRET_ACCESS_KEY),
        ("session token", SESSION_TOKEN),
    ] {
        if text.contains(secret) {
            leaks.push(format!("{name} in {what}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_never_reach_output_logs_cache_or_the_action_log() {
    let moto = MotoServer::start().expect("moto");
    lab::build(&moto.endpoint()).await.expect("lab");
    let endpoint = moto.endpoint();
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml");
    let blueprint = blueprint.to_str().expect("path");
    let region = ["--region", "ap-northeast-2"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["snapshot", "-o", "json"],
        vec!["snapshot"],
        vec!["check", "--format", "json"],
        vec!["check", "--format", "sarif"],
        vec!["plan", blueprint],
        vec!["replicate", "--to", "us-east-1", "--all", "--dry-run"],
        vec![
            "act",
            "--yes",
            "asg-set-capacity",
            "lab-asg",
            "--desired",
            "3",
        ],
        // A failing action: its error and its log line.
        vec!["act", "--yes", "rds-reboot", "lab-db-gone"],
        vec![
            "act",
            "--yes",
            "instance-terminate",
            "i-0123456789abcdef0",
            "--dry-run",
        ],
        vec!["iam-policy"],
    ];
    let mut leaks = Vec::new();
    for args in &runs {
        let args: Vec<&str> = region.iter().chain(args.iter()).copied().collect();
        let output = run(&endpoint, &home, &args);
        leaks_in(&format!("stdout of {args:?}"), &output.stdout, &mut leaks);
        leaks_in(&format!("stderr of {args:?}"), &output.stderr, &mut leaks);
    }
    // An unreachable endpoint: the error path prints the endpoint, not the credentials.
    let output = run(
        "http://127.0.0.1:9",
        &home,
        &["--region", "ap-northeast-2", "snapshot"],
    );
    assert!(!output.status.success());
    leaks_in(
        "stderr of an unreachable endpoint",
        &output.stderr,
        &mut leaks,
    );

    // The dashboard writes its cache and its log.
    let command = haven_command(&endpoint, &home, "").replace(
        "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test",
        &format!(
            "AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY} \
             AWS_SESSION_TOKEN={SESSION_TOKEN} HAVEN_LOG=trace"
        ),
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for(&["lab-alb"]);
    // The cache is written when the first read has ended, not when its first pieces show.
    tmux.wait_read();
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(&["haven exited 0"]);
    // The pane shows the shell command that started haven; what haven drew is above it.
    let drawn = screen.split("haven exited").next().unwrap_or_default();
    leaks_in("the dashboard's screen", drawn.as_bytes(), &mut leaks);

    let mut files = Vec::new();
    for dir in ["config", "cache", "data"] {
        files_under(&home.path().join(dir), &mut files);
    }
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert!(names.iter().any(|n| n == "actions.jsonl"), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("topology-")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with(".log")), "{names:?}");
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        leaks_in(&file.display().to_string(), &bytes, &mut leaks);
    }
    record_reliability(
        "secrets_credentials",
        &Reliability {
            runs: runs.len() + 2,
            secrets_found: leaks.len(),
            ..Reliability::default()
        },
    );
    assert_eq!(leaks, Vec::<String>::new());
}
