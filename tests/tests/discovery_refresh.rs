//! The real dashboard against moto through the recording proxy: how often it reads IAM
//! (audit D: IAM on every 30 s refresh throttles accounts with many roles).

use std::time::{Duration, Instant};

use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::tmux::{Tmux, haven_command};

/// Requests the proxy saw for `service` (the SigV4 signing name), and `DescribeVpcs` calls.
fn counts(proxy: &Proxy) -> (usize, usize) {
    let requests = proxy.requests();
    let iam = requests.iter().filter(|r| r.service == "iam").count();
    let vpcs = requests
        .iter()
        .filter(|r| r.action == "DescribeVpcs")
        .count();
    (iam, vpcs)
}

/// Waits until `done` holds for the proxy's counts, or fails after 30 s.
fn wait_until(proxy: &Proxy, what: &str, done: impl Fn((usize, usize)) -> bool) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = counts(proxy);
        if done(now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: (iam, vpcs) = {now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn d_the_dashboard_reads_iam_on_r_and_not_on_every_auto_refresh() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).expect("mkdir");
    // An auto-refresh every second; IAM at its default interval (10 min).
    std::fs::write(config.join("config.toml"), "refresh_seconds = 1\n").expect("write");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    tmux.wait_for(&["updated"]);

    // The first refresh read IAM; three more auto-refreshes of both Regions read none.
    let (iam, vpcs) = counts(&proxy);
    assert!(iam > 0, "the first refresh reads IAM");
    let after = wait_until(&proxy, "three more auto-refreshes", |(_, v)| v >= vpcs + 6);
    assert_eq!(after.0, iam, "an auto-refresh asked IAM");

    // `r` reads everything, IAM included.
    tmux.keys(&["r"]);
    wait_until(&proxy, "IAM read again on r", |(i, _)| i > iam);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0", "icanon"]);
}
