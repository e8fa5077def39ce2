//! The moto side of `cargo xtask bench` (xtask itself stays free of the AWS SDK):
//!
//! - `haven-bench seed ENDPOINT`: the lab stack plus 1,000 bulk instances over three Regions.
//! - `haven-bench record ENDPOINT DELAY_MS OUT -- COMMAND…`: runs COMMAND with
//!   `AWS_ENDPOINT_URL` pointing at the testkit proxy (adding DELAY_MS to every call) and writes
//!   every request it made to OUT (one per line) and its standard output to OUT.stdout.
//! - `haven-bench replay ENDPOINT RECORD`: sends the recorded requests again, one after the
//!   other over one keep-alive connection, and sums how long the server took to answer; also
//!   counts the round trips that had to be sequential (a request that carries a value first seen
//!   in an earlier response, such as a page token or an ARN, cannot be sent before it).
//!
//! Each command prints its results as `key value` lines on standard output.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use haven_testkit::lab::{self, launch_instances};
use haven_testkit::proxy::percent_decode;
use haven_testkit::{Faults, Proxy};

/// Where the 1,000 bulk instances go.
const BULK: [(&str, usize); 3] = [
    ("ap-northeast-2", 400),
    ("us-east-1", 300),
    ("eu-west-1", 300),
];

const USAGE: &str = "usage:
  haven-bench seed ENDPOINT
  haven-bench record ENDPOINT DELAY_MS OUT -- COMMAND [ARGS…]
  haven-bench replay ENDPOINT RECORD";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["seed", endpoint] => seed(endpoint).await,
        ["record", endpoint, delay, out, "--", command @ ..] if !command.is_empty() => {
            record(endpoint, delay, out, command)
        }
        ["replay", endpoint, file] => replay(endpoint, file),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("haven-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Only a local emulator is ever seeded or replayed against.
fn loopback(endpoint: &str) -> Result<(&str, u16), String> {
    let rest = endpoint
        .strip_prefix("http://127.0.0.1:")
        .ok_or_else(|| format!("{endpoint} is not http://127.0.0.1:PORT (a local moto_server)"))?;
    let port = rest
        .trim_end_matches('/')
        .parse()
        .map_err(|_| format!("{endpoint}: bad port"))?;
    Ok(("127.0.0.1", port))
}

async fn seed(endpoint: &str) -> Result<(), String> {
    loopback(endpoint)?;
    let started = Instant::now();
    lab::build(endpoint)
        .await
        .map_err(|e| format!("lab: {e}"))?;
    let mut total = 0;
    for (region, count) in BULK {
        // One instance per reservation (one RunInstances each, 8 at a time), as an Auto Scaling
        // fleet launches them: a DescribeInstances page of 100 then holds 100 instances.
        let launched: Vec<Result<Vec<String>, lab::LabError>> = futures::stream::iter(0..count)
            .map(|_| launch_instances(endpoint, region, 1))
            .buffer_unordered(8)
            .collect()
            .await;
        for one in launched {
            total += one
                .map_err(|e| format!("instances in {region}: {e}"))?
                .len();
        }
    }
    println!("bulk_instances {total}");
    println!("seed_ms {}", started.elapsed().as_millis());
    Ok(())
}

fn record(endpoint: &str, delay_ms: &str, out: &str, command: &[&str]) -> Result<(), String> {
    loopback(endpoint)?;
    let delay: u64 = delay_ms
        .parse()
        .map_err(|_| format!("DELAY_MS {delay_ms:?} is not a number"))?;
    let proxy = Proxy::start(
        endpoint,
        Faults::none().with_delay(Duration::from_millis(delay)),
    )
    .map_err(|e| format!("proxy: {e}"))?;
    let stdout_path = format!("{out}.stdout");
    let stdout = std::fs::File::create(&stdout_path).map_err(|e| format!("{stdout_path}: {e}"))?;
    let started = Instant::now();
    let status = Command::new(command[0])
        .args(&command[1..])
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .stdin(Stdio::null())
        .stdout(stdout)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", command[0]))?;
    let wall = started.elapsed();
    let mut requests = proxy.requests();
    requests.sort_by_key(|r| r.received_at);
    let first = requests.first().map(|r| r.received_at);
    let mut text = String::new();
    for request in &requests {
        let offset = first.map_or(Duration::ZERO, |f| request.received_at - f);
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            offset.as_micros(),
            request.elapsed.as_micros(),
            request.status,
            request.region,
            request.service,
            request.action,
            request.method,
            escape(&request.path),
            escape(&String::from_utf8_lossy(&request.body)),
        ));
    }
    std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))?;
    println!("wall_ms {:.1}", wall.as_secs_f64() * 1000.0);
    println!("calls {}", requests.len());
    println!("exit {}", status.code().unwrap_or(-1));
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// One recorded request, as read back from a record file.
struct Recorded {
    status: u16,
    region: String,
    service: String,
    method: String,
    path: String,
    body: String,
}

fn read_record(file: &str) -> Result<Vec<Recorded>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [_, _, status, region, service, _, method, path, body] => Ok(Recorded {
                    status: status.parse().unwrap_or(0),
                    region: (*region).to_owned(),
                    service: (*service).to_owned(),
                    method: (*method).to_owned(),
                    path: unescape(path),
                    body: unescape(body),
                }),
                _ => Err(format!("{file}:{}: not a recorded request", n + 1)),
            }
        })
        .collect()
}

fn replay(endpoint: &str, file: &str) -> Result<(), String> {
    let (host, port) = loopback(endpoint)?;
    let requests = read_record(file)?;
    let stream = TcpStream::connect((host, port)).map_err(|e| format!("{endpoint}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut server = Duration::ZERO;
    let mut depths: Vec<usize> = Vec::with_capacity(requests.len());
    let mut responses: Vec<String> = Vec::with_capacity(requests.len());
    let mut mismatched = 0;
    let mut reconnects = 0;
    for request in &requests {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{}/{}/aws4_request, \
             SignedHeaders=host, Signature=x",
            request.region, request.service
        );
        // A CloudWatch call (Smithy RPC v2 CBOR) is recorded with its JSON translation: moto
        // takes it as AWS JSON 1.0.
        let (path, content_type) = match rpc_target(&request.path) {
            Some(target) => (
                "/".to_owned(),
                format!("application/x-amz-json-1.0\r\nX-Amz-Target: {target}"),
            ),
            None => (
                request.path.clone(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        };
        let head = format!(
            "{} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {authorization}\r\n\
             Content-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n",
            request.method,
            request.body.len()
        );
        let started = Instant::now();
        writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(request.body.as_bytes()))
            .map_err(|e| format!("sending to {endpoint}: {e}"))?;
        let (status, body, close) =
            read_response(&mut reader).map_err(|e| format!("reading from {endpoint}: {e}"))?;
        server += started.elapsed();
        if status != request.status {
            mismatched += 1;
        }
        // The longest chain of answers this request needed values from.
        let needed = values(&request.body);
        let depth = 1 + responses
            .iter()
            .zip(&depths)
            .filter(|(response, _)| needed.iter().any(|value| response.contains(value.as_str())))
            .map(|(_, depth)| *depth)
            .max()
            .unwrap_or(0);
        depths.push(depth);
        responses.push(String::from_utf8_lossy(&body).into_owned());
        if close {
            // The server would not keep the connection open: count it, then carry on.
            reconnects += 1;
            let stream =
                TcpStream::connect((host, port)).map_err(|e| format!("{endpoint}: {e}"))?;
            writer = stream.try_clone().map_err(|e| e.to_string())?;
            reader = BufReader::new(stream);
        }
    }
    println!("calls {}", requests.len());
    println!("server_ms {:.1}", server.as_secs_f64() * 1000.0);
    println!(
        "sequential_round_trips {}",
        depths.iter().max().unwrap_or(&0)
    );
    println!("status_mismatches {mismatched}");
    println!("reconnects {reconnects}");
    Ok(())
}

/// `Service.Operation` of an RPC v2 path `/service/Service/operation/Operation`.
fn rpc_target(path: &str) -> Option<String> {
    let (service, operation) = path.strip_prefix("/service/")?.split_once("/operation/")?;
    Some(format!("{service}.{operation}"))
}

/// The values a request carries that it may have learnt from an earlier answer: page tokens,
/// ids and ARNs (long enough not to match by chance; the constant `Action`/`Version` excluded).
fn values(body: &str) -> Vec<String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| !matches!(*key, "Action" | "Version"))
        .map(|(_, value)| percent_decode(value))
        .filter(|value| value.len() >= 8 && value.chars().any(|c| c.is_ascii_digit()))
        .map(|value| xml_escape(&value))
        .collect()
}

/// Answers are XML: a value from one appears there with XML escapes.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Reads one HTTP/1.1 response: status, body, and whether the server closes the connection.
fn read_response(reader: &mut impl BufRead) -> io::Result<(u16, Vec<u8>, bool)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("status {line:?}")))?;
    let http10 = line.starts_with("HTTP/1.0");
    let mut length = None;
    let mut chunked = false;
    let mut close = http10;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "chunk size"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
        close = true;
    }
    Ok((status, body, close))
}
