//! The real `haven` dashboard in a real terminal (tmux) against the lab in moto: what a person
//! sees, the keys they press, and a terminal given back intact on `q`.

use std::time::Duration;

use haven_testkit::lab;
use haven_testkit::{Faults, INSUFFICIENT_CAPACITY, MotoServer, Proxy, Realism, RealismKind};
use haven_tests::tmux::{Tmux, haven_command};

#[test]
fn keys_work_while_a_slow_refresh_runs() {
    let moto = MotoServer::start().expect("moto");
    // Every call takes 2 s: discovery of two Regions takes several round trips of that.
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_delay(Duration::from_secs(2)),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    tmux.wait_for(&["to read"]);

    // Help opens and closes, and a list opens, while the first refresh is still running.
    tmux.keys(&["?"]);
    let help = tmux.wait_for(&["quit", "to read"]);
    assert!(help.contains("help"), "{help}");
    tmux.keys(&["Escape", ":", "vpc", "Enter"]);
    let list = tmux.screen();
    assert!(
        list.contains("to read"),
        "the refresh ended before the keys were tried; the test proves nothing:\n{list}"
    );
    tmux.wait_for(&["VPC"]);

    // The refresh completes in the background and its result shows up.
    tmux.wait_for(&["172.31.0.0/16", "updated"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0", "icanon"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_the_lab_and_gives_the_terminal_back() {
    let moto = MotoServer::start().expect("moto");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&moto.endpoint(), &home, ""));

    // Both AZs, every ASG instance, the ALB's healthy count per AZ, the cross-Region replica.
    let mut expected: Vec<&str> = vec!["ap-northeast-2a", "ap-northeast-2b", "lab-alb"];
    expected.extend(lab.asg_instance_ids.iter().map(String::as_str));
    expected.extend([
        "2/2 healthy",
        "0/0",
        "lab-db-dr",
        "← ap-northeast-2/lab-db",
        "us-east-1",
    ]);
    let screen = tmux.wait_for(&expected);
    assert!(screen.contains("updated"), "{screen}");

    // Keys: a list of instances, a filter, then back to the map.
    tmux.keys(&[":", "ec2", "Enter"]);
    tmux.wait_for(&["EC2 instances", &lab.asg_instance_ids[0], "running"]);
    tmux.keys(&["/", &lab.asg_instance_ids[1], "Enter"]);
    let filtered = tmux.wait_for(&[&lab.asg_instance_ids[1]]);
    assert!(
        !filtered.contains(&lab.asg_instance_ids[0]),
        "filter kept the other instance:\n{filtered}"
    );
    tmux.keys(&["Escape", "Escape", "Escape"]);
    tmux.wait_for(&["lab-alb", "← ap-northeast-2/lab-db"]);

    // q quits cleanly and restores the terminal (cooked mode, main screen).
    tmux.keys(&["q"]);
    let after = tmux.wait_for(&["haven exited 0", "icanon"]);
    assert!(
        !after.contains("lab-alb"),
        "dashboard still on screen:\n{after}"
    );
}

/// Lines of the screen that show an instance of the lab's Auto Scaling group.
fn asg_instance_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter(|l| l.contains(" i-") && l.contains("lab-asg"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_the_lab_from_two_to_three_from_the_dashboard_shows_the_new_instance() {
    let moto = MotoServer::start().expect("moto");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&moto.endpoint(), &home, ""));
    tmux.wait_for(&["lab-alb", "updated"]);

    // The group, its action menu, "Set capacity" with the proposed desired capacity of 3.
    tmux.keys(&[":", "asg", "Enter"]);
    tmux.wait_for(&["Auto Scaling groups", "2/2"]);
    tmux.keys(&["a"]);
    tmux.wait_for(&["Actions: Auto Scaling group lab-asg", "Set capacity"]);
    tmux.keys(&["Enter"]);
    let dialog = tmux.wait_for(&[
        "haven act asg-set-capacity lab-asg --desired 3",
        "autoscaling SetDesiredCapacity AutoScalingGroupName=lab-asg DesiredCapacity=3",
    ]);
    assert!(dialog.contains("[disruptive]"), "{dialog}");
    tmux.keys(&["Enter"]);

    // The job runs and finishes; the refresh after it shows three instances.
    tmux.wait_for(&["job 1"]);
    tmux.keys(&["J"]);
    tmux.wait_for(&[
        "Jobs:",
        "done in",
        "Set desired capacity of lab-asg from 2 to 3",
    ]);
    tmux.keys(&[":", "ec2", "Enter"]);
    // The job's end starts a refresh; on a loaded machine it may need another one. `r` restarts
    // a refresh in flight, so it is pressed only between refreshes.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut last_refresh = std::time::Instant::now();
    let rows = loop {
        let screen = tmux.screen();
        let rows = asg_instance_rows(&screen);
        if rows.len() >= 3 || std::time::Instant::now() > deadline {
            break rows;
        }
        let reading = screen.contains("refreshing") || screen.contains("to read");
        if !reading && last_refresh.elapsed() > Duration::from_secs(5) {
            tmux.keys(&["r"]);
            last_refresh = std::time::Instant::now();
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(rows.len(), 3, "{}", tmux.screen());
    let new: Vec<&String> = rows
        .iter()
        .filter(|r| {
            !lab.asg_instance_ids
                .iter()
                .any(|id| r.contains(id.as_str()))
        })
        .collect();
    assert_eq!(new.len(), 1, "one new instance: {rows:#?}");

    // The action log holds the run: action, parameters, result.
    let log = std::fs::read_to_string(home.path().join("data/actions.jsonl"))
        .expect("the action log in the data directory");
    let entry: serde_json::Value =
        serde_json::from_str(log.lines().last().expect("one line")).expect("JSON line");
    assert_eq!(entry["action"], "asg-set-capacity");
    assert_eq!(entry["parameters"]["desired"], 3);
    assert_eq!(entry["result"]["status"], "ok");
    assert_eq!(entry["region"], "ap-northeast-2");

    // A failed action shows the AWS error, is logged, and the dashboard stays usable: a reboot
    // of a database that is not there (the line names another one).
    tmux.keys(&[":", "rds", "Enter", "a"]);
    tmux.wait_for(&["Actions: DB instance lab-db", "Reboot"]);
    tmux.keys(&["2"]);
    tmux.wait_for(&["haven act rds-reboot lab-db"]);
    tmux.keys(&["-gone"]);
    tmux.wait_for(&["DBInstanceIdentifier=lab-db-gone"]);
    tmux.keys(&["Enter"]);
    let failed = tmux.wait_for(&["job 2 failed", "DBInstanceNotFound"]);
    assert!(failed.contains("RDS DB instances"), "{failed}");
    let log = std::fs::read_to_string(home.path().join("data/actions.jsonl")).expect("log");
    let entry: serde_json::Value =
        serde_json::from_str(log.lines().last().expect("a line")).expect("JSON line");
    assert_eq!(entry["action"], "rds-reboot");
    assert_eq!(entry["result"]["status"], "error");
    assert_eq!(entry["result"]["code"], "DBInstanceNotFound");
    tmux.keys(&["Escape", "Escape", ":", "asg", "Enter"]);
    tmux.wait_for(&["Auto Scaling groups", "3/3"]);

    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}

/// With AWS's own behaviour on (the realism layer) and no capacity left for the group: the
/// dashboard's job fails within a minute with the reason AWS gives in the scaling activity, not
/// after the wait budget, and the dashboard stays usable.
#[tokio::test(flavor = "multi_thread")]
async fn a_dashboard_job_meeting_a_failed_launch_fails_with_aws_reason() {
    let moto = MotoServer::start().expect("moto");
    lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_realism(Realism::aws().failing_launches(INSUFFICIENT_CAPACITY)),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    tmux.wait_for(&["lab-alb", "updated"]);

    tmux.keys(&[":", "asg", "Enter"]);
    tmux.wait_for(&["Auto Scaling groups", "2/2"]);
    tmux.keys(&["a"]);
    tmux.wait_for(&["Actions: Auto Scaling group lab-asg", "Set capacity"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["haven act asg-set-capacity lab-asg --desired 3"]);
    let sent = std::time::Instant::now();
    tmux.keys(&["Enter"]);
    tmux.keys(&["J"]);
    let failed = tmux.wait_for(&["Jobs:", "failed", "sufficient t3.micro capacity"]);
    assert!(
        sent.elapsed() < Duration::from_secs(60),
        "the failed launch is reported within a minute:\n{failed}"
    );
    assert!(
        proxy
            .realism_events()
            .iter()
            .any(|e| e.kind == RealismKind::LaunchFailed),
        "the proxy played the failed launch"
    );
    tmux.keys(&["Escape", ":", "vpc", "Enter"]);
    tmux.wait_for(&["VPC"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}

#[test]
fn a_broken_key_map_is_ignored_with_a_warning_and_the_default_keys_work() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).expect("mkdir");
    std::fs::write(
        config.join("keymap.toml"),
        "[list]\nsort = [\"ctrl-nope\"\n",
    )
    .expect("write");
    let tmux = Tmux::start(&haven_command(&moto.endpoint(), &home, ""));
    let screen = tmux.wait_for(&["updated", "ignoring the key map", "keymap.toml:"]);
    assert!(screen.contains("default keys"), "{screen}");
    // The default keys work: a list opens, `q` quits with status 0.
    tmux.keys(&[":", "vpc", "Enter"]);
    tmux.wait_for(&["VPCs"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0", "icanon"]);
}

/// `haven` on moto with static credentials, failing the test on a non-zero exit.
fn haven_ok(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> String {
    let output = haven_tests::haven(endpoint, home)
        .args(args)
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "haven {args:?}: {}",
        haven_tests::text(&output)
    );
    haven_tests::text(&output)
}

#[test]
fn a_missing_dr_copy_is_made_from_the_dr_view() {
    let moto = MotoServer::start().expect("moto");
    let endpoint = moto.endpoint();
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml");
    haven_ok(&endpoint, &home, &["up", blueprint.to_str().expect("path")]);
    // The lab's own AMI, launched by the template: what DR must protect.
    let output = haven_tests::haven(&endpoint, &home)
        .args(["--region", "ap-northeast-2", "snapshot", "-o", "json"])
        .output()
        .expect("haven snapshot");
    let topology = haven_model::Topology::from_json(&String::from_utf8_lossy(&output.stdout))
        .expect("topology");
    let instance = topology.regions[0].auto_scaling_groups[0].instances[0]
        .instance_id
        .clone();
    let act = |args: &[&str]| {
        let mut all = vec!["--region", "ap-northeast-2", "act", "--yes"];
        all.extend_from_slice(args);
        haven_ok(&endpoint, &home, &all)
    };
    let created = act(&[
        "instance-create-image",
        &instance,
        "--name",
        "lab-web-v1",
        "--no-reboot",
    ]);
    let ami = created
        .lines()
        .find_map(|l| l.trim().strip_prefix("created: "))
        .expect("the AMI id")
        .to_string();
    act(&[
        "lt-new-version",
        "lab-lt",
        "--image-id",
        &ami,
        "--set-default",
    ]);

    let tmux = Tmux::start(&haven_command(&endpoint, &home, ""));
    tmux.wait_for(&["lab-alb", "updated"]);
    tmux.keys(&[":", "dr", "Enter", "/", "AMI", "Enter"]);
    tmux.wait_for(&["Disaster recovery", &ami, "missing (a: copy now)"]);
    tmux.keys(&["a"]);
    tmux.wait_for(&["Copy to us-east-1"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&[
        &format!("SourceImageId={ami}"),
        "acct 123456789012 · us-east-1, this call will be sent:",
        "ec2 CopyImage ",
    ]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["job 1 done"]);
    // The refresh after the job shows the copy in the DR Region, current against the RPO.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let row = loop {
        let screen = tmux.screen();
        let row = screen
            .lines()
            .find(|l| l.contains(&ami))
            .unwrap_or_default()
            .to_string();
        if row.contains("fresh") || std::time::Instant::now() > deadline {
            break row;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(row.contains("fresh"), "{row}");
    assert!(!row.contains("missing"), "{row}");
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}

/// Streaming discovery: with EC2 answering 3 s late, the RDS list is already filled and `:ec2`
/// says it is loading (never "no ec2 instances here", which would read like an empty account);
/// then the instances arrive on their own.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_service_leaves_its_list_loading_while_the_others_fill() {
    let moto = MotoServer::start().expect("moto");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_service_delay("ec2", Duration::from_secs(3)),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    tmux.wait_for(&["to read"]);
    tmux.keys(&[":", "ec2", "Enter"]);
    let loading = tmux.wait_for(&["loading ec2 instances in", "ap-northeast-2"]);
    assert!(!loading.contains("no ec2 instances here"), "{loading}");
    tmux.keys(&[":", "rds", "Enter"]);
    let rds = tmux.wait_for(&["RDS DB instances", "lab-db-dr"]);
    assert!(
        rds.contains("to read"),
        "EC2 had answered before RDS was looked at; the test proves nothing:\n{rds}"
    );
    tmux.keys(&[":", "ec2", "Enter"]);
    tmux.wait_for(&[lab.asg_instance_ids[0].as_str(), "running"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}
