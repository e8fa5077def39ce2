//! Support for the scenario tests in `tests/tests/`: the real `haven` binary, run with a clean,
//! isolated environment that can only reach the endpoint it is given.
#![warn(missing_docs)]

use std::path::PathBuf;
use std::process::Command as StdCommand;

use assert_cmd::Command;

/// The `haven` binary of this workspace, built on first use when the test runner did not.
pub fn haven_bin() -> PathBuf {
    // Test executables live in target/<profile>/deps; the binary one level up.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let bin = profile_dir.join(format!("haven{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = StdCommand::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "haven-tui", "--bin", "haven"])
            .status()
            .expect("cargo build -p haven-tui");
        assert!(status.success(), "building the haven binary failed");
    }
    bin
}

/// `haven` with static test credentials for `endpoint`, one attempt per call, no instance
/// metadata lookups, and its config/cache/data directories in `home`.
pub fn haven(endpoint: &str, home: &tempfile::TempDir) -> Command {
    Command::from_std(haven_process(endpoint, home))
}

/// [`haven`] as a plain process, for tests that start it and stop it midway.
pub fn haven_process(endpoint: &str, home: &tempfile::TempDir) -> StdCommand {
    let mut cmd = isolated_process(home);
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", endpoint);
    cmd
}

/// `haven` with no credentials or AWS settings at all, its files in `home`.
pub fn isolated(home: &tempfile::TempDir) -> Command {
    Command::from_std(isolated_process(home))
}

fn isolated_process(home: &tempfile::TempDir) -> StdCommand {
    let mut cmd = StdCommand::new(haven_bin());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("HAVEN_CONFIG_DIR", home.path().join("config"))
        .env("HAVEN_CACHE_DIR", home.path().join("cache"))
        .env("HAVEN_DATA_DIR", home.path().join("data"));
    cmd
}

/// Whether an API action could change something: anything but `Describe*`, `List*` and `Get*`.
pub fn is_mutating(action: &str) -> bool {
    !["Describe", "List", "Get"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
}
