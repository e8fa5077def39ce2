//! Incremental refresh, as a person sees it: a change made outside haven (an instance stopped
//! with the API, as `aws ec2 stop-instances` would) shows on the map within one refresh
//! interval, and that interval's reads ask nothing of what rarely changes (VPCs, subnets,
//! security groups, IAM).

use std::time::{Duration, Instant};

use haven_testkit::{Faults, MotoServer, Proxy, lab};
use haven_tests::tmux::{Tmux, haven_command};

/// The refresh interval of this test (config.toml `refresh_seconds`).
const INTERVAL: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_instance_shows_within_one_interval_without_reading_the_network_or_iam() {
    let moto = MotoServer::start().expect("moto");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(
        config.join("config.toml"),
        format!("refresh_seconds = {}\n", INTERVAL.as_secs()),
    )
    .expect("config.toml");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    let id = lab.asg_instance_ids[0].clone();
    tmux.wait_for(&["lab-alb", id.as_str(), "running"]);
    // The first full read ends (nothing left to read), then the count starts.
    tmux.wait_read();
    proxy.clear_requests();
    let changed_at = Instant::now();
    lab::stop_instance(&moto.endpoint(), "ap-northeast-2", &id)
        .await
        .expect("stop the instance");

    // Within one interval (and the time of the read itself), the map says it is stopped.
    let screen = loop {
        let screen = tmux.screen();
        let line = screen
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_default();
        if line.contains("stopp") {
            break screen;
        }
        assert!(
            changed_at.elapsed() < INTERVAL + Duration::from_secs(5),
            "the map did not show the stop within one interval:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let requests = proxy.requests();
    let actions: Vec<&str> = requests.iter().map(|r| r.action.as_str()).collect();
    assert!(
        actions.contains(&"DescribeInstances"),
        "{actions:?}\n{screen}"
    );
    for rare in ["DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups"] {
        assert!(
            !actions.contains(&rare),
            "{rare} in a live read: {actions:?}"
        );
    }
    assert!(
        requests.iter().all(|r| r.service != "iam"),
        "IAM in a live read: {actions:?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}
