//! Support for the scenario tests in `tests/tests/`: the real `haven` binary, run with a clean,
//! isolated environment that can only reach the endpoint it is given.
#![warn(missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;
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

/// Calls a JSON-protocol API of moto directly (e.g. `secretsmanager.GetSecretValue`,
/// `TrentService.CreateKey`), for test setup and checks haven has no client for. moto reads the
/// Region from the credential scope and checks no signature.
pub fn moto_json(
    endpoint: &str,
    region: &str,
    service: &str,
    target: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: {target}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=test/20261122/{region}/{service}/aws4_request, SignedHeaders=host, \
         Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).expect("connect to moto");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, json) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.contains(" 200 "), "{target}: {head}\n{json}");
    serde_json::from_str(json).expect("a JSON answer")
}
