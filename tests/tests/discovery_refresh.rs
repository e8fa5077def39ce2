//! The real dashboard against moto through the recording proxy: how often it reads IAM
//! (audit D: IAM on every 30 s refresh throttles accounts with many roles), and that the
//! refresh interval reads instances, not the network.

use std::time::{Duration, Instant};

use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::tmux::{Tmux, haven_command};

/// IAM requests the proxy saw, and calls of `action`.
fn counts_of(proxy: &Proxy, action: &str) -> (usize, usize) {
    let requests = proxy.requests();
    let iam = requests.iter().filter(|r| r.service == "iam").count();
    let calls = requests.iter().filter(|r| r.action == action).count();
    (iam, calls)
}

/// IAM requests and `DescribeInstances` calls (one per Region in every refresh).
fn counts(proxy: &Proxy) -> (usize, usize) {
    counts_of(proxy, "DescribeInstances")
}

/// Waits until `done` holds for the proxy's counts, or fails after 30 s.
fn wait_until(proxy: &Proxy, what: &str, done: impl Fn((usize, usize)) -> bool) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = counts(proxy);
        if done(now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: (iam, instances) = {now:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn d_the_dashboard_reads_iam_on_capital_r_and_not_on_every_auto_refresh() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).expect("mkdir");
    // An auto-refresh every second; IAM at its default interval (10 min).
    std::fs::write(config.join("config.toml"), "refresh_seconds = 1\n").expect("write");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    tmux.wait_read();

    // The first refresh read IAM and the network; three more auto-refreshes of both Regions
    // read neither.
    let (iam, instances) = counts(&proxy);
    let (_, vpcs) = counts_of(&proxy, "DescribeVpcs");
    assert!(iam > 0, "the first refresh reads IAM");
    let after = wait_until(&proxy, "three more auto-refreshes", |(_, n)| {
        n >= instances + 6
    });
    assert_eq!(after.0, iam, "an auto-refresh asked IAM");
    assert_eq!(
        counts_of(&proxy, "DescribeVpcs").1,
        vpcs,
        "an auto-refresh read the VPCs"
    );

    // `R` reads everything, IAM included.
    tmux.keys(&["R"]);
    wait_until(&proxy, "IAM read again on r", |(i, _)| i > iam);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0", "icanon"]);
}
