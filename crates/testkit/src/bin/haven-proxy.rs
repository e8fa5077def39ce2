//! The testkit proxy as a process, for the demo: `haven-proxy MOTO_ENDPOINT [--realism]`.
//!
//! It forwards to a local moto_server, translating what moto does not speak (the AWS SDK's
//! Smithy RPC v2 CBOR for CloudWatch, to moto's AWS JSON 1.0), with no faults; `--realism` also
//! plays the AWS behaviours moto leaves out (`Realism::aws()`). It prints one line,
//! `proxy http://127.0.0.1:PORT -> MOTO_ENDPOINT`, then serves until it is killed or its
//! standard input closes.

use std::io::{Read, Write};
use std::process::ExitCode;

use haven_testkit::{Faults, Proxy, Realism};

const USAGE: &str = "usage: haven-proxy MOTO_ENDPOINT [--realism]   (e.g. http://127.0.0.1:5000)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (endpoint, realism) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [endpoint] => (endpoint.to_owned(), false),
        [endpoint, "--realism"] | ["--realism", endpoint] => (endpoint.to_owned(), true),
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
    // Serve until standard input closes (or the process is killed).
    let mut sink = [0u8; 256];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    drop(proxy);
    ExitCode::SUCCESS
}
