//! The real dashboard in a real terminal: a tmux server of its own per test, keys sent with
//! `send-keys`, the screen read with `capture-pane`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::haven_bin;

/// A tmux server of its own (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a 160×48 window.
    pub fn start(command: &str) -> Self {
        Self::start_sized(command, 160, 48)
    }

    /// Starts `command` in a window of `columns` × `rows`.
    pub fn start_sized(command: &str, columns: u16, rows: u16) -> Self {
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
                &columns.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .arg(command)
            .status()
            .expect("tmux is required for this test: apt-get install tmux");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    /// Gives the window a new size (the program sees a resize).
    pub fn resize(&self, columns: u16, rows: u16) {
        let status = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "resize-window",
                "-t",
                "t",
                "-x",
                &columns.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .status()
            .expect("tmux resize-window");
        assert!(status.success(), "tmux resize-window failed");
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys in tmux's names (`Enter`, `Escape`, text), 150 ms apart.
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "t", "--", key])
                .status()
                .expect("tmux send-keys");
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until the dashboard's read in flight has ended: the header says `updated` and
    /// counts nothing left `to read`.
    pub fn wait_read(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            let header = screen.lines().next().unwrap_or_default();
            if header.contains("updated") && !header.contains("to read") {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the read did not end within 60 s:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the screen shows every text, or fails showing the last screen.
    pub fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
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

/// The shell command running `haven` on `endpoint` over the lab's two Regions with `args`, in
/// a clean environment with its directories in `home`; afterwards it prints the exit status and
/// whether the tty is back in cooked mode, then stays so the pane can be read.
pub fn haven_command(endpoint: &str, home: &tempfile::TempDir, args: &str) -> String {
    let h = home.path().display();
    // After haven exits, the shell reports its status and whether the tty is back in canonical
    // (cooked) mode, then stays so the pane can be read.
    format!(
        "env -i PATH=\"$PATH\" HOME={h} TERM=xterm-256color AWS_ACCESS_KEY_ID=test \
         AWS_SECRET_ACCESS_KEY=test AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true \
         AWS_ENDPOINT_URL={endpoint} HAVEN_CONFIG_DIR={h}/config HAVEN_CACHE_DIR={h}/cache \
         HAVEN_DATA_DIR={h}/data {bin} --regions ap-northeast-2,us-east-1 {args}; \
         echo \"haven exited $?\"; stty -a | tr ' ' '\\n' | grep -x icanon; sleep 60",
        bin = haven_bin().display(),
    )
}
