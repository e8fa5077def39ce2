//! A `moto_server` child process on a free loopback port, and SDK configuration pointing at it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;

/// Environment variable that overrides the `moto_server` executable (default: `moto_server` on `PATH`).
pub const MOTO_SERVER_ENV: &str = "HAVEN_MOTO_SERVER";

/// How long `moto_server` may take until `GET /moto-api/` answers 200.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the EC2 warm-up call may take (moto loads ~1160 AMIs on the first EC2 call).
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `Drop` waits for the server to exit after asking it to.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Port races with parallel tests are possible (the port is free when probed, not when bound).
const START_ATTEMPTS: usize = 3;

/// The region the EC2 warm-up call is scoped to.
const WARM_UP_REGION: &str = "ap-northeast-2";

/// `sh` wrapper that kills `moto_server` as soon as its standard input reaches end of file, i.e.
/// when `MotoServer` is dropped *or* when the test process dies without running `Drop` (killed by
/// a test-runner timeout, or a `static` that is never dropped). Without it every aborted test run
/// would leak a ~200 MB Python process.
const GUARD_SCRIPT: &str = r#"exec 3<&0
"$@" </dev/null &
pid=$!
{ read -r _ <&3; kill "$pid" 2>/dev/null; } &
exec 3<&- </dev/null
wait "$pid"
"#;

/// A running `moto_server` (moto 5.x) listening on `127.0.0.1`, killed on drop.
///
/// Started with `MOTO_IAM_LOAD_MANAGED_POLICIES=true` so AWS-managed IAM policies exist, and
/// with EC2 already warmed up (the first EC2 call otherwise takes 1.5–3 s).
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// Closing this pipe tells the guard script to kill the server.
    stop_pipe: Option<ChildStdin>,
    port: u16,
    log_path: PathBuf,
    command: String,
    /// Set when start-up failed, so the log named in the error survives the drop.
    keep_log: bool,
    /// The proxy in front, which speaks what moto does not (CloudWatch's CBOR protocol): what
    /// [`MotoServer::endpoint`] names.
    front: Option<crate::Proxy>,
}

impl MotoServer {
    /// Starts `moto_server` on a free port, waits until it answers and warms up EC2.
    ///
    /// Errors name the command line and the log file; a missing executable gives
    /// `moto_server not found: pip install 'moto[server]'`.
    pub fn start() -> io::Result<Self> {
        Self::start_with_env(&[])
    }

    /// Like [`MotoServer::start`], as another AWS account: every call is answered as account
    /// `account_id` (moto's `MOTO_ACCOUNT_ID`; the default is `123456789012`). Two servers with
    /// two ids are two accounts side by side.
    pub fn start_as_account(account_id: &str) -> io::Result<Self> {
        Self::start_with_env(&[("MOTO_ACCOUNT_ID", account_id)])
    }

    fn start_with_env(env: &[(&str, &str)]) -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(env) {
                Ok(server) => return Ok(server),
                // Only an early exit (typically "Address already in use") is worth another port.
                Err(StartError::Exited(error)) => last_error = Some(error),
                Err(StartError::Fatal(error)) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("moto_server did not start")))
    }

    fn start_once(env: &[(&str, &str)]) -> Result<Self, StartError> {
        let port = free_port().map_err(StartError::Fatal)?;
        let executable = std::env::var(MOTO_SERVER_ENV).unwrap_or_else(|_| "moto_server".into());
        let log_path =
            std::env::temp_dir().join(format!("haven-moto-{}-{port}.log", std::process::id()));
        let command = format!("{executable} -H 127.0.0.1 -p {port}");
        let log = File::create(&log_path).map_err(StartError::Fatal)?;
        let log_err = log.try_clone().map_err(StartError::Fatal)?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(GUARD_SCRIPT)
            .arg("haven-moto-guard")
            .arg(&executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|error| {
                StartError::Fatal(io::Error::new(
                    error.kind(),
                    format!("cannot spawn `sh` to run `{command}`: {error}"),
                ))
            })?;
        let stop_pipe = child.stdin.take();
        let mut server = Self {
            child,
            stop_pipe,
            port,
            log_path,
            command,
            keep_log: true,
            front: None,
        };
        // On any error below, dropping `server` stops the process and keeps the log.
        server.wait_until_ready()?;
        server.warm_up_ec2().map_err(StartError::Fatal)?;
        let moto = format!("http://127.0.0.1:{port}");
        let front =
            crate::Proxy::start(&moto, crate::Faults::default()).map_err(StartError::Fatal)?;
        server.front = Some(front.not_haven());
        server.keep_log = false;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(StartError::Fatal)? {
                return Err(self.exited_early(status));
            }
            if let Ok(response) = http_request(
                self.port,
                "GET",
                "/moto-api/",
                &[],
                b"",
                Duration::from_secs(5),
            ) && response.status == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::Fatal(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "`{}` did not answer GET /moto-api/ within {} s; see {}",
                        self.command,
                        START_TIMEOUT.as_secs(),
                        self.log_path.display()
                    ),
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn exited_early(&self, status: ExitStatus) -> StartError {
        // 127 is the shell's "command not found".
        if status.code() == Some(127) {
            return StartError::Fatal(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "moto_server not found: pip install 'moto[server]' (command `{}`, \
                     set {MOTO_SERVER_ENV} to use another executable; log {})",
                    self.command,
                    self.log_path.display()
                ),
            ));
        }
        StartError::Exited(io::Error::other(format!(
            "`{}` exited early with {status}; last log lines:\n{}\n(log {})",
            self.command,
            log_tail(&self.log_path, 10),
            self.log_path.display()
        )))
    }

    /// One raw EC2 call so the (slow) lazy loading of the EC2 backend happens now.
    fn warm_up_ec2(&self) -> io::Result<()> {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{WARM_UP_REGION}/ec2/aws4_request, \
             SignedHeaders=host, Signature=x"
        );
        let response = http_request(
            self.port,
            "POST",
            "/",
            &[
                ("Authorization", authorization.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"Action=DescribeAvailabilityZones&Version=2016-11-15",
            WARM_UP_TIMEOUT,
        )
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "EC2 warm-up call to `{}` failed: {error}; see {}",
                    self.command,
                    self.log_path.display()
                ),
            )
        })?;
        let zone = format!("<zoneName>{WARM_UP_REGION}a</zoneName>");
        if response.status != 200 || !response.body_text().contains(&zone) {
            return Err(io::Error::other(format!(
                "EC2 warm-up DescribeAvailabilityZones answered HTTP {} without {zone}; see {}",
                response.status,
                self.log_path.display()
            )));
        }
        Ok(())
    }

    /// The endpoint URL to give the SDK, e.g. `http://127.0.0.1:40123`: a proxy in front of
    /// moto that passes everything through and translates the AWS SDK's Smithy RPC v2 CBOR
    /// (CloudWatch), which moto does not speak, to moto's AWS JSON.
    pub fn endpoint(&self) -> String {
        match &self.front {
            Some(front) => front.endpoint(),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// The TCP port moto itself listens on (on 127.0.0.1), behind [`MotoServer::endpoint`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The file that receives the server's stdout and stderr (deleted on drop unless the thread
    /// is panicking, so a failed test keeps it).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Clears all moto state (`POST /moto-api/reset`); the next EC2 call is fast again.
    pub fn reset(&self) -> io::Result<()> {
        let response = http_request(
            self.port,
            "POST",
            "/moto-api/reset",
            &[],
            b"",
            Duration::from_secs(30),
        )?;
        if response.status == 200 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "POST /moto-api/reset answered HTTP {}; see {}",
                response.status,
                self.log_path.display()
            )))
        }
    }

    /// SDK configuration for this server in `region` (see [`sdk_config_for`]).
    pub async fn sdk_config(&self, region: &str) -> SdkConfig {
        sdk_config_for(&self.endpoint(), region).await
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
        // Keep the log of a failing test (Drop runs while it unwinds); tidy up otherwise.
        if !self.keep_log && !thread::panicking() {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

impl MotoServer {
    fn stop(&mut self) {
        // End of file on the guard's stdin makes it SIGTERM moto_server and exit.
        drop(self.stop_pipe.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
            }
        }
        // Last resort: moto ignored SIGTERM; kill the guard so at least the test does not hang.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK configuration for a moto (or proxy) endpoint: static credentials `test`/`test`, the
/// given region, one attempt only (moto answers unimplemented calls with HTTP 500, which would
/// otherwise be retried) and the latest behaviour version.
pub async fn sdk_config_for(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "haven-testkit",
        ))
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

enum StartError {
    /// The process exited before answering; another port may help.
    Exited(io::Error),
    /// Anything else; retrying will not help.
    Fatal(io::Error),
}

/// Asks the kernel for a free port on 127.0.0.1.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A tiny HTTP/1.1 response: status and body.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    pub(crate) fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request over a fresh loopback connection (`Connection: close`).
pub(crate) fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<RawResponse> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> io::Result<RawResponse> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let header_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("HTTP response without end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..header_end]);
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("HTTP response without a status line"))?;
    let mut body = raw[header_end + 4..].to_vec();
    // The server closes the connection, so the body is what is left, unless it stated a length.
    let length = head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    if let Some(length) = length {
        body.truncate(length);
    }
    Ok(RawResponse { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab;

    #[test]
    fn parses_a_response_with_content_length() {
        let response = parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokEXTRA")
            .expect("valid response");
        assert_eq!(response.status, 201);
        assert_eq!(response.body, b"ok");
    }

    #[test]
    fn start_reset_and_sdk_config_reach_moto() {
        let server = MotoServer::start().expect("moto_server starts");
        // The endpoint is the translating proxy in front, on loopback, not moto's own port.
        assert!(server.endpoint().starts_with("http://127.0.0.1:"));
        assert_ne!(
            server.endpoint(),
            format!("http://127.0.0.1:{}", server.port())
        );
        assert!(server.log_path().exists());
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async {
            let ec2 = aws_sdk_ec2::Client::new(&server.sdk_config(lab::PRIMARY).await);
            let zones = ec2
                .describe_availability_zones()
                .send()
                .await
                .expect("DescribeAvailabilityZones");
            let names: Vec<&str> = zones
                .availability_zones()
                .iter()
                .filter_map(|zone| zone.zone_name())
                .collect();
            assert_eq!(
                names,
                [
                    "ap-northeast-2a",
                    "ap-northeast-2b",
                    "ap-northeast-2c",
                    "ap-northeast-2d"
                ]
            );

            let created = ec2
                .create_vpc()
                .cidr_block("10.9.0.0/16")
                .send()
                .await
                .expect("CreateVpc");
            let vpc_id = created.vpc().and_then(|vpc| vpc.vpc_id()).expect("vpc id");
            server.reset().expect("reset");
            let after = ec2
                .describe_vpcs()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("vpc-id")
                        .values(vpc_id)
                        .build(),
                )
                .send()
                .await
                .expect("DescribeVpcs");
            assert!(after.vpcs().is_empty(), "reset must drop {vpc_id}");
        });
    }

    #[test]
    fn missing_executable_is_reported_clearly() {
        // `std::env::set_var` is unsafe in edition 2024 (and unsafe is forbidden), so the
        // override goes to a child run of this test binary instead.
        let status = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "moto::tests::missing_executable_child",
                "--ignored",
            ])
            .env(MOTO_SERVER_ENV, "haven-no-such-moto-server")
            .output()
            .expect("run child test");
        assert!(
            status.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&status.stdout)
        );
    }

    #[test]
    #[ignore = "run by missing_executable_is_reported_clearly with a bogus executable"]
    fn missing_executable_child() {
        let error = MotoServer::start().expect_err("no such executable");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(
            error
                .to_string()
                .contains("moto_server not found: pip install 'moto[server]'"),
            "{error}"
        );
    }
}
