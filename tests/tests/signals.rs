//! Live signals in the real dashboard (tmux) against the lab in moto, through the test proxy:
//! metrics put into moto appear as sparklines, one `GetMetricData` per Region per read; a
//! scale-out and an RDS reboot done with `haven act` appear on `:events` in order; a denied
//! CloudWatch leaves every other view working with a notice.

use std::time::Duration;

use haven_testkit::{Faults, MotoServer, Proxy, Realism, lab, metrics};
use haven_tests::tmux::{Tmux, haven_command};
use haven_tests::{haven, text};

/// The lab's topology as haven discovers it.
fn discovered(endpoint: &str, home: &tempfile::TempDir) -> haven_model::Topology {
    let output = haven(endpoint, home)
        .args([
            "--regions",
            "ap-northeast-2,us-east-1",
            "snapshot",
            "--output",
            "json",
        ])
        .output()
        .expect("haven snapshot runs");
    assert!(output.status.success(), "{}", text(&output));
    haven_model::Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("json")
}

/// `GetMetricData` calls the proxy saw, per Region.
fn metric_reads(proxy: &Proxy) -> std::collections::BTreeMap<String, usize> {
    let mut per_region = std::collections::BTreeMap::new();
    for request in proxy.requests() {
        if request.action == "GetMetricData" {
            *per_region.entry(request.region).or_insert(0) += 1;
        }
    }
    per_region
}

fn config(home: &tempfile::TempDir, text: &str) {
    let dir = home.path().join("config");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("config.toml"), text).expect("config.toml");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_put_into_moto_show_as_sparklines_read_once_per_region_per_interval() {
    let moto = MotoServer::start().expect("moto");
    lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");
    let topology = discovered(&moto.endpoint(), &home);
    let batches = metrics::lab_metrics(&topology, chrono::Utc::now(), 3);
    let written = metrics::put_all(&moto.endpoint(), &batches)
        .await
        .expect("metrics written");
    assert!(written > 1000, "{written} datapoints");

    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    // The topology every 2 s; the signals on their own interval (the minimum, 60 s).
    config(&home, "refresh_seconds = 2\n");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    let map = tmux.wait_for(&["lab-alb", "req/min", "CPU", "lag"]);
    let sparkline = |line: &str| line.chars().any(|c| ('▁'..='█').contains(&c));
    let group_cpu = map
        .lines()
        .find(|l| l.contains("CPU") && sparkline(l))
        .unwrap_or_else(|| panic!("no CPU sparkline:\n{map}"));
    assert!(group_cpu.contains('%'), "{group_cpu}");
    assert!(
        map.lines().any(|l| l.contains("req/min") && sparkline(l)),
        "no request sparkline per AZ:\n{map}"
    );
    assert!(
        map.lines()
            .any(|l| l.contains("lag") && sparkline(l) && l.contains(" s")),
        "no replica lag:\n{map}"
    );

    // Several topology refreshes later, still one read per Region.
    let refreshes = |proxy: &Proxy| {
        proxy
            .requests()
            .iter()
            .filter(|r| r.action == "DescribeInstances" && r.region == "ap-northeast-2")
            .count()
    };
    let before = refreshes(&proxy);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while refreshes(&proxy) < before + 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        refreshes(&proxy) >= before + 3,
        "the topology was not refreshed"
    );
    let reads = metric_reads(&proxy);
    assert_eq!(
        reads,
        [
            ("ap-northeast-2".to_string(), 1),
            ("us-east-1".to_string(), 1)
        ]
        .into(),
        "one GetMetricData per Region per signals interval"
    );

    // The lists carry the same signals.
    tmux.keys(&[":", "rds", "Enter"]);
    let rds = tmux.wait_for(&["lab-db-replica-1", "lab-db-dr"]);
    let replica = rds
        .lines()
        .find(|l| l.contains("lab-db-replica-1"))
        .expect("the replica row");
    assert!(replica.contains(" s"), "no lag on the replica row:\n{rds}");
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scale_out_and_an_rds_reboot_done_with_haven_act_are_on_the_events_timeline_in_order() {
    let moto = MotoServer::start().expect("moto");
    lab::build(&moto.endpoint()).await.expect("lab");
    // Realism: RDS records the reboot's events and Auto Scaling the launch, as AWS does.
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_realism(Realism::aws()),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let act = |args: &[&str]| {
        let output = haven(&proxy.endpoint(), &home)
            .args(["--region", "ap-northeast-2", "act", "--yes"])
            .args(args)
            .output()
            .expect("haven act runs");
        assert!(output.status.success(), "{args:?}: {}", text(&output));
    };
    act(&["asg-set-capacity", "lab-asg", "--desired", "3"]);
    // A second apart, so that the timeline's order is the order of the actions.
    std::thread::sleep(Duration::from_secs(1));
    act(&["rds-reboot", "lab-db"]);

    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    tmux.wait_for(&["lab-alb", "updated"]);
    tmux.keys(&[":", "events", "Enter"]);
    let events = tmux.wait_for(&["Events", "asg-set-capacity lab-asg", "rds-reboot lab-db"]);
    let line_of = |needle: &str| {
        events
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not on the timeline:\n{events}"))
    };
    // Newest first: the reboot above the scale-out.
    assert!(
        line_of("rds-reboot lab-db") < line_of("asg-set-capacity lab-asg"),
        "{events}"
    );
    // RDS's own events of the reboot, and Auto Scaling's launch, read with the signals.
    let events = tmux.wait_for(&["DB instance restarted", "Launching a new EC2 instance"]);
    assert!(
        line_of_in(&events, "DB instance restarted")
            < line_of_in(&events, "Launching a new EC2 instance"),
        "{events}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}

fn line_of_in(screen: &str, needle: &str) -> usize {
    screen
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{screen}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn with_cloudwatch_denied_the_map_and_every_other_view_work_with_a_notice() {
    let moto = MotoServer::start().expect("moto");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults {
            fail_service: Some(("monitoring".into(), 403)),
            ..Faults::none()
        },
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    let map = tmux.wait_for(&["lab-alb", "2/2 healthy", "signals unavailable"]);
    assert!(map.contains("AccessDenied"), "{map}");
    for (list, expected) in [
        ("ec2", lab.asg_instance_ids[0].as_str()),
        ("rds", "lab-db-replica-1"),
        ("findings", "IAM.9"),
    ] {
        tmux.keys(&["Escape", ":", list, "Enter"]);
        tmux.wait_for(&[expected]);
    }
    tmux.keys(&["Escape", ":", "alarms", "Enter"]);
    // Each Region says why it has no alarm rows, never "no alarms".
    let alarms = tmux.wait_for(&["alarms unavailable", "AccessDenied"]);
    assert!(
        alarms
            .lines()
            .any(|l| l.contains("ap-northeast-2") && l.contains("UNAVAILABLE")),
        "{alarms}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
    // Nothing but CloudWatch was refused.
    let refused: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.injected)
        .map(|r| r.service)
        .collect();
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|s| s == "monitoring"), "{refused:?}");
}
