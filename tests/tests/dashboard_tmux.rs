//! The real `haven` dashboard in a real terminal (tmux) against the lab in moto: what a person
//! sees, the keys they press, and a terminal given back intact on `q`.

use std::process::Command;
use std::time::{Duration, Instant};

use haven_testkit::lab::{self, DR, PRIMARY};
use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::haven_bin;

/// A tmux server of its own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("haven-test-{}-{n}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "160",
                "-y",
                "48",
            ])
            .arg(command)
            .status()
            .expect("tmux is required for this test: apt-get install tmux");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "t", key])
                .status()
                .expect("tmux send-keys");
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until the screen shows every text, or fails showing the last screen.
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            if Instant::now() > deadline {
                let missing: Vec<_> = texts.iter().filter(|t| !screen.contains(**t)).collect();
                panic!("screen lacks {missing:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn haven_command(endpoint: &str, home: &tempfile::TempDir) -> String {
    let h = home.path().display();
    // After haven exits, the shell reports its status and whether the tty is back in canonical
    // (cooked) mode, then stays so the pane can be read.
    format!(
        "env -i PATH=\"$PATH\" HOME={h} TERM=xterm-256color AWS_ACCESS_KEY_ID=test \
         AWS_SECRET_ACCESS_KEY=test AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true \
         AWS_ENDPOINT_URL={endpoint} HAVEN_CONFIG_DIR={h}/config HAVEN_CACHE_DIR={h}/cache \
         HAVEN_DATA_DIR={h}/data {bin} --regions {PRIMARY},{DR}; \
         echo \"haven exited $?\"; stty -a | tr ' ' '\\n' | grep -x icanon; sleep 60",
        bin = haven_bin().display(),
    )
}

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
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home));
    tmux.wait_for(&["discovering the stack", "refreshing"]);

    // Help opens and closes, and a list opens, while the first refresh is still running.
    tmux.keys(&["?"]);
    let help = tmux.wait_for(&["quit", "refreshing"]);
    assert!(help.contains("help"), "{help}");
    tmux.keys(&["Escape", ":", "vpc", "Enter"]);
    let list = tmux.screen();
    assert!(
        list.contains("refreshing"),
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
    let tmux = Tmux::start(&haven_command(&moto.endpoint(), &home));

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
