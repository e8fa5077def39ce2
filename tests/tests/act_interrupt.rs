//! Ctrl-C while `haven act` follows an action: AWS keeps what it accepted, haven says what it was
//! still doing and how to follow it, and the action log already holds the `sent` line and ends
//! with `accepted, not followed`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use haven_testkit::MotoServer;
use haven_testkit::lab::{self, PRIMARY};
use haven_tests::haven_process;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn c6_ctrl_c_during_a_wait_leaves_a_sent_line_and_says_how_to_follow() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");
    // moto never shows a reboot under way, so haven keeps waiting for it (up to its grace).
    let mut child = haven_process(&moto.endpoint(), &home)
        .args(["--region", PRIMARY, "act", "--yes", "rds-reboot"])
        .arg(&lab.db_identifier)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start haven");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !output
        .iter()
        .any(|l: &String| l.contains("waiting for DB instance"))
    {
        let line = seen
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no wait shown: {output:#?}"));
        output.push(line);
    }
    // Written when AWS accepted the call, before the action ended.
    let log_path = home.path().join("data").join("actions.jsonl");
    let log = || -> Vec<Value> {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    };
    let sent = log();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["event"], "sent");
    assert_eq!(sent[0]["operation"], "RebootDBInstance");

    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let exit = child.wait().expect("haven exits");
    output.extend(seen.iter());
    let text = output.join("\n");
    assert_eq!(exit.code(), Some(130), "{text}");
    assert!(
        text.contains("AWS accepted RebootDBInstance and carries on by itself")
            && text.contains("Last seen: waiting for DB instance")
            && text.contains("would act again or be refused, not follow it"),
        "{text}"
    );
    let lines = log();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1]["event"], "ended");
    assert_eq!(lines[1]["result"]["status"], "accepted, not followed");
    assert_eq!(lines[1]["request_ids"][0], sent[0]["request_id"]);
}
