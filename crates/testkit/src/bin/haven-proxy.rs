//! The testkit proxy as a process, for the demo and the benchmarks:
//! `haven-proxy MOTO_ENDPOINT [--realism] [--log]`.
//!
//! It forwards to a local moto_server, translating what moto does not speak (the AWS SDK's
//! Smithy RPC v2 CBOR for CloudWatch, to moto's AWS JSON 1.0), with no faults; `--realism` also
//! plays the AWS behaviours moto leaves out (`Realism::aws()`). It prints one line,
//! `proxy http://127.0.0.1:PORT -> MOTO_ENDPOINT`, then serves until it is killed or its
//! standard input closes. With `--log` it also prints each request once answered:
//! `req RECEIVED_MS ELAPSED_MS SERVICE REGION ACTION`, the time counted from that first line.

use std::io::{Read, Write};
use std::process::ExitCode;

use haven_testkit::{Faults, Proxy, Realism};

const USAGE: &str =
    "usage: haven-proxy MOTO_ENDPOINT [--realism] [--log]   (e.g. http://127.0.0.1:5000)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let realism = args.iter().any(|a| a == "--realism");
    let log = args.iter().any(|a| a == "--log");
    let rest: Vec<&String> = args
        .iter()
        .filter(|a| *a != "--realism" && *a != "--log")
        .collect();
    let endpoint = match rest[..] {
        [endpoint] => endpoint.clone(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !loopback.iter().any(|prefix| endpoint.starts_with(prefix)) {
        eprintln!(
            "haven-proxy: {endpoint} is not a loopback endpoint; the proxy only fronts a local emulator"
        );
        return ExitCode::from(2);
    }
    let faults = if realism {
        Faults::default().with_realism(Realism::aws())
    } else {
        Faults::default()
    };
    let proxy = match Proxy::start(&endpoint, faults) {
        Ok(proxy) => proxy.not_haven(),
        Err(error) => {
            eprintln!("haven-proxy: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "proxy {} -> {endpoint}", proxy.endpoint());
    let _ = stdout.flush();
    let proxy = std::sync::Arc::new(proxy);
    if log {
        let watched = std::sync::Arc::clone(&proxy);
        let epoch = std::time::Instant::now();
        std::thread::spawn(move || print_requests(&watched, epoch));
    }
    // Serve until standard input closes (or the process is killed).
    let mut sink = [0u8; 256];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    drop(proxy);
    ExitCode::SUCCESS
}

/// Prints every answered request once, as it is answered (polled every 10 ms).
fn print_requests(proxy: &Proxy, epoch: std::time::Instant) {
    let mut printed = 0;
    loop {
        let requests = proxy.requests();
        let mut out = std::io::stdout().lock();
        for r in requests.iter().skip(printed) {
            let received = r.received_at.saturating_duration_since(epoch).as_millis();
            let _ = writeln!(
                out,
                "req {received} {} {} {} {}",
                r.elapsed.as_millis(),
                r.service,
                if r.region.is_empty() { "-" } else { &r.region },
                if r.action.is_empty() { "-" } else { &r.action },
            );
        }
        let _ = out.flush();
        printed = requests.len();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
