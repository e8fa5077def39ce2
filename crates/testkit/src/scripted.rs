//! A scripted AWS endpoint on loopback, for answers moto never gives (a DB instance already
//! `deleting`, an error AWS returns only under load) and for what happens on the wire (how many
//! connections a client opens, how many calls it has in flight at once).
//!
//! It speaks HTTP/1.1 with keep-alive, a thread per connection, and takes the action from the
//! form body of the AWS Query protocol (`Action=DescribeInstances&…`), which EC2, RDS, IAM, Auto
//! Scaling and Elastic Load Balancing use; a REST call (the IAM Identity Center portal's
//! `GET /federation/credentials`) is told by its request line and headers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A request the endpoint received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request line's method and target (`GET /federation/credentials?role_name=…`).
    pub target: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The `Action` of the form body (empty when there is none).
    pub action: String,
    /// The whole form body.
    pub body: String,
}

impl Request {
    /// The value of the header `name` (lower case), if it came.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: the HTTP status and the body, sent as JSON when it is a JSON object (`{…}`),
/// else as XML.
pub type Answer = (u16, String);

type Script = dyn Fn(&Request) -> Answer + Send + Sync;

#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<Request>>,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// The endpoint; it serves until the test process ends.
pub struct ScriptedEndpoint {
    url: String,
    seen: Arc<Seen>,
}

impl ScriptedEndpoint {
    /// Serves on a free port of 127.0.0.1, answering each request with `script` (called on the
    /// connection's thread: a script that sleeps holds that call in flight).
    pub fn serve(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Seen::default());
        let script: Arc<Script> = Arc::new(script);
        let counted = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                counted.connections.fetch_add(1, Ordering::SeqCst);
                let seen = Arc::clone(&counted);
                let script = Arc::clone(&script);
                std::thread::spawn(move || connection(stream, &seen, &*script));
            }
        });
        Self { url, seen }
    }

    /// Its URL (`http://127.0.0.1:PORT`), for an endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The requests received so far, in the order they came.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.requests.lock().expect("requests").clone()
    }

    /// The connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    /// The most requests that were waiting for their answer at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.seen.most_in_flight.load(Ordering::SeqCst)
    }
}

/// Answers the requests of one connection until the client closes it.
fn connection(stream: TcpStream, seen: &Seen, script: &Script) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((target, headers, body)) = read_request(&mut reader) {
        let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let action = body
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap_or_default()
            .to_string();
        let request = Request {
            target,
            headers,
            action,
            body,
        };
        seen.requests
            .lock()
            .expect("requests")
            .push(request.clone());
        let (status, body) = script(&request);
        let kind = if body.starts_with('{') {
            "application/json"
        } else {
            "text/xml"
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A request's method and target, headers and body.
type Received = (String, Vec<(String, String)>, String);

/// The next request, or `None` when the connection has ended.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut length = 0usize;
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let target = line
        .trim_end()
        .rsplit_once(' ')
        .map_or(line.trim_end(), |(target, _version)| target)
        .to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((target, headers, String::from_utf8_lossy(&body).into_owned()))
}
