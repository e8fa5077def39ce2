//! `haven act` with the real binary against moto: read-only and unconfirmed destructive actions
//! send nothing, a failing action shows the AWS error and is logged, and scaling the lab's group
//! from 2 to 3 shows up in `haven snapshot`.

use haven_model::Topology;
use haven_testkit::lab::{self, PRIMARY};
use haven_testkit::{Faults, MotoServer, Proxy, RecordedRequest};
use haven_tests::{haven, is_mutating};
use serde_json::Value;

/// Requests that could have changed something: anything but Describe*, List* and Get*.
fn mutating(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| format!("{} {}", r.service, r.action))
        .collect()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn log_lines(home: &tempfile::TempDir) -> Vec<Value> {
    let path = home.path().join("data").join("actions.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect()
}

#[test]
fn read_only_and_unconfirmed_destructive_actions_send_no_mutating_request() {
    let moto = MotoServer::start().expect("moto_server");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let mutating_actions: [&[&str]; 6] = [
        &["instance-stop", "i-0123456789abcdef0"],
        &["asg-set-capacity", "lab-asg", "--desired", "3"],
        &["rds-reboot", "lab-db", "--failover"],
        &["rds-promote", "lab-db-replica-1", "--yes"],
        &["az-remove", "lab-asg", "--az", "ap-northeast-2a"],
        &["tg-deregister", "lab-web-tg", "i-0123456789abcdef0"],
    ];
    for args in mutating_actions {
        let output = haven(&proxy.endpoint(), &home)
            .args(["--read-only", "--region", PRIMARY, "act"])
            .args(args)
            .output()
            .expect("run haven");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("read-only") && stderr(&output).contains("nothing was sent"),
            "{args:?}: {}",
            stderr(&output)
        );
    }

    // The config file's read_only = true does the same.
    std::fs::create_dir_all(home.path().join("config")).expect("config dir");
    std::fs::write(home.path().join("config/config.toml"), "read_only = true\n").expect("config");
    let output = haven(&proxy.endpoint(), &home)
        .args([
            "--region",
            PRIMARY,
            "act",
            "instance-terminate",
            "i-1",
            "--yes",
        ])
        .output()
        .expect("run haven");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("read-only"), "{}", stderr(&output));
    std::fs::remove_file(home.path().join("config/config.toml")).expect("remove config");

    // A destructive action without --yes says what to add, and sends nothing.
    let output = haven(&proxy.endpoint(), &home)
        .args([
            "--region",
            PRIMARY,
            "act",
            "instance-terminate",
            "i-0123456789abcdef0",
        ])
        .output()
        .expect("run haven");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--yes") && stderr(&output).contains("i-0123456789abcdef0"),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("ec2 TerminateInstances InstanceId.1=i-0123456789abcdef0"),
        "the preview shows the exact call: {}",
        stdout(&output)
    );

    // A disruptive action without --yes and without a terminal to ask on does the same.
    let output = haven(&proxy.endpoint(), &home)
        .args([
            "--region",
            PRIMARY,
            "act",
            "rds-reboot",
            "lab-db",
            "--failover",
        ])
        .output()
        .expect("run haven");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupts or shifts traffic")
            && stderr(&output).contains("add --yes"),
        "{}",
        stderr(&output)
    );

    let output = haven(&proxy.endpoint(), &home)
        .args([
            "--read-only",
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "asg-set-capacity",
            "lab-asg",
            "--desired",
            "3",
            "--dry-run",
        ])
        .output()
        .expect("run haven");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(
            "autoscaling SetDesiredCapacity AutoScalingGroupName=lab-asg DesiredCapacity=3 \
             HonorCooldown=false"
        ),
        "{}",
        stdout(&output)
    );

    let requests = proxy.requests();
    assert!(mutating(&requests).is_empty(), "{:?}", mutating(&requests));
    // Refused before connecting: not even a read went out.
    assert!(requests.is_empty(), "{requests:?}");
    assert!(log_lines(&home).is_empty(), "refusals are not actions");

    // Previewing an AZ drill reads the Region (the group is not there: moto is empty), and
    // still nothing mutating goes out.
    let output = haven(&proxy.endpoint(), &home)
        .args([
            "--read-only",
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "az-remove",
            "lab-asg",
        ])
        .args(["--az", "ap-northeast-2a", "--dry-run"])
        .output()
        .expect("run haven");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("lab-asg was not found"),
        "{}",
        stderr(&output)
    );
    let requests = proxy.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.action == "DescribeAutoScalingGroups"),
        "{requests:?}"
    );
    assert!(mutating(&requests).is_empty(), "{:?}", mutating(&requests));
}

#[test]
fn a_failed_action_shows_the_aws_error_exits_1_and_is_logged() {
    let moto = MotoServer::start().expect("moto_server");
    let home = tempfile::tempdir().expect("temp dir");
    let output = haven(&moto.endpoint(), &home)
        .args([
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "instance-stop",
            "i-00000000000000000",
        ])
        .output()
        .expect("run haven");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("InvalidInstanceID.NotFound") && err.contains("i-00000000000000000"),
        "code and message: {err}"
    );
    let lines = log_lines(&home);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["event"], "ended", "refused: no `sent` line");
    assert_eq!(line["action"], "instance-stop");
    assert_eq!(line["region"], PRIMARY);
    assert_eq!(line["target"]["id"], "i-00000000000000000");
    assert_eq!(line["result"]["status"], "error");
    assert_eq!(line["result"]["code"], "InvalidInstanceID.NotFound");
    assert!(
        line["caller_arn"]
            .as_str()
            .is_some_and(|arn| arn.starts_with("arn:aws:")),
        "{line}"
    );
    assert!(line["time"].as_str().is_some(), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_the_lab_group_from_2_to_3_shows_the_new_instance() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");

    let output = haven(&moto.endpoint(), &home)
        .args(["--region", PRIMARY, "act", "--yes", "asg-set-capacity"])
        .arg(&lab.asg_name)
        .args(["--desired", "3", "--output", "json"])
        .output()
        .expect("run haven");
    assert!(output.status.success(), "{}", stderr(&output));
    let result: Value = serde_json::from_str(&stdout(&output)).expect("JSON result");
    assert_eq!(result["action"]["kind"]["kind"], "asg-set-capacity");
    assert_eq!(result["risk"], "disruptive");
    assert_eq!(result["api_calls"][0]["operation"], "SetDesiredCapacity");
    assert!(
        result["outcome"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("3 instance(s) in service")),
        "{result}"
    );
    assert!(
        stderr(&output).contains("SetDesiredCapacity: accepted"),
        "progress on stderr: {}",
        stderr(&output)
    );

    let output = haven(&moto.endpoint(), &home)
        .args([
            "--region", PRIMARY, "snapshot", "--output", "json", "--no-iam",
        ])
        .output()
        .expect("run haven");
    assert!(output.status.success(), "{}", stderr(&output));
    let topology = Topology::from_json(&stdout(&output)).expect("topology");
    let group = topology
        .region(PRIMARY)
        .expect("primary")
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == lab.asg_name)
        .expect("lab group");
    assert_eq!(group.desired_capacity, 3);
    assert_eq!(group.instances.len(), 3);
    assert!(
        group
            .instances
            .iter()
            .any(|m| !lab.asg_instance_ids.contains(&m.instance_id)),
        "a new instance"
    );

    // C6: a `sent` line as soon as AWS accepted the call, then the `ended` line.
    let lines = log_lines(&home);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["event"], "sent");
    assert_eq!(lines[0]["operation"], "SetDesiredCapacity");
    assert!(lines[0]["request_id"].is_string(), "{}", lines[0]);
    assert_eq!(lines[1]["event"], "ended");
    assert_eq!(lines[1]["result"]["status"], "ok");
    assert_eq!(lines[1]["parameters"]["desired"], 3);
    assert_eq!(lines[1]["request_ids"][0], lines[0]["request_id"]);
}
