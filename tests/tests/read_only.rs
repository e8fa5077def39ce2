//! `--read-only` sends no mutating call from any entry point, proven by the proxy's record of
//! every request: each command that would change something is refused, the rest still work.

use std::path::PathBuf;

use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::tmux::{Tmux, haven_command};
use haven_tests::{Reliability, haven, is_mutating, record_reliability};

const PRIMARY: &str = "ap-northeast-2";

#[test]
fn read_only_sends_no_mutating_call_from_any_command() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml");
    let blueprint = blueprint.to_str().expect("path");
    // The lab, built normally, to act on.
    let built = haven(&moto.endpoint(), &home)
        .args(["up", blueprint])
        .output()
        .expect("haven up");
    assert!(built.status.success());
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");

    let refused: [&[&str]; 10] = [
        &["down", blueprint, "--yes"],
        &["failback", blueprint, "--yes", "--catch-up", "0"],
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "asg-set-capacity",
            "lab-asg",
            "--desired",
            "3",
        ],
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "rds-promote",
            "lab-db-replica-1",
            "--yes",
        ],
        &["--region", PRIMARY, "promote", "lab-db-replica-1", "--yes"],
        // A replica to create (the key makes the encrypted database replicable).
        &[
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            "us-east-1",
            "--all",
            "--kms-key",
            "us-east-1=arn:aws:kms:us-east-1:123456789012:key/dr",
        ],
        &["failover-region", blueprint, "--to", "us-east-1", "--yes"],
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "rds-snapshot",
            "lab-db",
            "--snapshot-id",
            "s1",
        ],
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "az-remove",
            "lab-asg",
            "--az",
            "ap-northeast-2a",
        ],
        &[
            "--region",
            PRIMARY,
            "act",
            "--yes",
            "instance-stop",
            "i-0123456789abcdef0",
        ],
    ];
    for args in refused {
        let output = haven(&proxy.endpoint(), &home)
            .arg("--read-only")
            .args(args)
            .output()
            .expect("run haven");
        assert_ne!(
            output.status.code(),
            Some(0),
            "haven --read-only {args:?} went ahead"
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("read-only"),
            "haven --read-only {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Reading still works, and `up` of an unchanged stack has nothing to refuse.
    let allowed: [&[&str]; 5] = [
        &["up", blueprint],
        &["plan", blueprint],
        &["--region", PRIMARY, "snapshot"],
        &["--region", PRIMARY, "check", "--fail-on", "critical"],
        &[
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            "us-east-1",
            "--all",
            "--dry-run",
        ],
    ];
    for args in allowed {
        let output = haven(&proxy.endpoint(), &home)
            .arg("--read-only")
            .args(args)
            .output()
            .expect("run haven");
        assert!(
            output.status.code() != Some(2),
            "haven --read-only {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mutating: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| format!("{} {}", r.service, r.action))
        .collect();
    record_reliability(
        "read_only",
        &Reliability {
            runs: refused.len() + allowed.len(),
            read_only_mutations: mutating.len(),
            ..Reliability::default()
        },
    );
    assert_eq!(mutating, Vec::<String>::new());
    assert!(!proxy.requests().is_empty(), "the reads did reach AWS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_only_dashboard_sends_no_mutating_call() {
    let moto = MotoServer::start().expect("moto");
    haven_testkit::lab::build(&moto.endpoint())
        .await
        .expect("lab");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, "--read-only"));
    tmux.wait_for(&["READ-ONLY", "lab-alb", "updated"]);
    // Every list with actions: the menu key, then Enter (choose) and Enter (confirm), which
    // would start an action if one were offered.
    for list in ["asg", "ec2", "rds", "tg", "lt", "lb", "dr", "ami", "snap"] {
        tmux.keys(&[":", list, "Enter", "a"]);
        tmux.wait_for(&["read-only: actions are disabled"]);
        tmux.keys(&["Enter", "Enter", "1", "Enter", "Escape", "Escape"]);
    }
    // A refresh still reads.
    tmux.keys(&["r"]);
    tmux.wait_for(&["updated"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
    let requests = proxy.requests();
    let mutating: Vec<String> = requests
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| format!("{} {}", r.service, r.action))
        .collect();
    record_reliability(
        "read_only_dashboard",
        &Reliability {
            runs: 1,
            read_only_mutations: mutating.len(),
            ..Reliability::default()
        },
    );
    assert_eq!(mutating, Vec::<String>::new());
    assert!(
        requests
            .iter()
            .any(|r| r.action == "DescribeAutoScalingGroups"),
        "the dashboard did read"
    );
}

#[test]
fn iam_policy_lists_every_call_and_the_read_only_one_only_reads() {
    let home = tempfile::tempdir().expect("temp dir");
    let policy = |args: &[&str]| -> serde_json::Value {
        let output = haven_tests::isolated(&home)
            .arg("iam-policy")
            .args(args)
            .output()
            .expect("run haven iam-policy");
        assert!(output.status.success());
        serde_json::from_slice(&output.stdout).expect("a JSON policy")
    };
    let actions = |policy: &serde_json::Value| -> Vec<String> {
        policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let full = policy(&[]);
    assert_eq!(full["Version"], "2012-10-17");
    let all = actions(&full);
    for needed in [
        "ec2:CreateVpc",
        "ec2:CreateTags",
        "elasticloadbalancing:CreateLoadBalancer",
        "autoscaling:CreateAutoScalingGroup",
        "rds:CreateDBInstanceReadReplica",
        "ec2:CopySnapshot",
        "iam:PassRole",
        "sts:GetCallerIdentity",
    ] {
        assert!(all.iter().any(|a| a == needed), "{needed} missing");
    }
    let reads = actions(&policy(&["--read-only"]));
    assert!(reads.len() > 30);
    assert!(
        reads
            .iter()
            .all(|a| a.contains(":Describe") || a.contains(":List") || a.contains(":Get")),
        "{reads:?}"
    );
}
