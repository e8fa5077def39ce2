//! A recording, fault-injecting HTTP/1.1 proxy on loopback, to put between the AWS SDK and moto.
//!
//! Point the SDK at [`Proxy::endpoint`] instead of the moto endpoint. Every request is forwarded
//! byte-exact (SigV4 signs the body) and recorded as a [`RecordedRequest`]; [`Faults`] add
//! latency or make one Region fail, and can be changed while the proxy runs. With
//! [`Faults::realism`] set, the proxy also plays the AWS behaviours moto leaves out (see
//! [`Realism`]).
//!
//! One protocol is translated rather than forwarded byte-exact: the AWS SDK calls CloudWatch
//! with Smithy RPC v2 CBOR (`POST /service/<Service>/operation/<Operation>`), which moto does not
//! speak; the proxy sends moto the same call as AWS JSON 1.0 and answers in CBOR (moto checks no
//! signature, so the changed body does not matter). Such a call is recorded with its operation
//! as [`RecordedRequest::action`] and its JSON translation as [`RecordedRequest::body`].

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;

mod cbor;
mod motofix;
mod realism;

pub use realism::{INSUFFICIENT_CAPACITY, Realism, RealismEvent, RealismKind};

/// Faults the proxy injects; `Faults::default()` injects none.
///
/// Build it with the `with_*` methods or `Faults { delay, ..Faults::default() }` so that new
/// kinds of faults can be added without breaking callers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added to every request before it is forwarded (or failed).
    pub delay: Duration,
    /// Added to every request signed for this service (its SigV4 name: `ec2`, `rds`…): one slow
    /// service among fast ones.
    pub delay_service: Option<(String, Duration)>,
    /// Answer every request signed for this Region with this HTTP status and an AWS-style error
    /// (see [`injected_error_code`] for the code), without forwarding it.
    pub fail_region: Option<(String, u16)>,
    /// Answer every request signed for this service (the SigV4 name: `route53`, `acm`, `ec2`…)
    /// with this HTTP status and an AWS-style error, without forwarding it: a policy that
    /// denies one service (403 gives `AccessDenied`).
    pub fail_service: Option<(String, u16)>,
    /// Answer the next `n` requests for this API action (e.g. `CopySnapshot`) with this HTTP
    /// status, then forward again: `(action, status, n)`.
    pub fail_action: Option<(String, u16, u32)>,
    /// Random faults at seeded rates.
    pub chaos: Option<Chaos>,
    /// AWS behaviours moto leaves out (lifecycle states, client tokens, propagation delays…);
    /// `None` forwards everything as it is.
    pub realism: Option<Realism>,
}

/// Faults at random, from a seed: the same seed gives the same sequence of decisions (the order
/// in which concurrent requests arrive may still differ between runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chaos {
    /// Seed of the decisions.
    pub seed: u64,
    /// Percent of requests answered with a throttling error (`RequestLimitExceeded` for EC2,
    /// `Throttling` otherwise; HTTP 400), not forwarded.
    pub throttle_percent: u8,
    /// Percent answered with HTTP 500 or 503 (`InternalFailure` / `ServiceUnavailable`), not
    /// forwarded.
    pub server_error_percent: u8,
    /// Percent whose connection is closed without an answer, before forwarding.
    pub drop_percent: u8,
    /// Percent that get `spike` of extra latency.
    pub spike_percent: u8,
    /// The latency of a spike.
    pub spike: Duration,
}

impl Chaos {
    /// 20% throttling, 5% server errors, 2% dropped connections and 10% latency spikes of
    /// 150 ms: the mix the reliability tests run under.
    pub fn standard(seed: u64) -> Self {
        Self {
            seed,
            throttle_percent: 20,
            server_error_percent: 5,
            drop_percent: 2,
            spike_percent: 10,
            spike: Duration::from_millis(150),
        }
    }
}

/// What chaos decided for one request.
enum Fate {
    Forward,
    Fail(u16),
    Drop,
}

/// xorshift64*: small, seedable, good enough to pick faults.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A connection closed on purpose, without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the proxy")
    }
}

impl std::error::Error for Dropped {}

impl Faults {
    /// No faults (the same as `Faults::default()`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds `delay` to every request.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Adds `delay` to every request for `service` (its SigV4 name, e.g. `ec2`).
    pub fn with_service_delay(mut self, service: impl Into<String>, delay: Duration) -> Self {
        self.delay_service = Some((service.into(), delay));
        self
    }

    /// Random faults at seeded rates.
    pub fn with_chaos(mut self, chaos: Chaos) -> Self {
        self.chaos = Some(chaos);
        self
    }

    /// Fails the next `times` requests for `action` with HTTP `status`.
    pub fn with_fail_action(mut self, action: impl Into<String>, status: u16, times: u32) -> Self {
        self.fail_action = Some((action.into(), status, times));
        self
    }

    /// Fails every request for `region` with HTTP `status`.
    pub fn with_fail_region(mut self, region: impl Into<String>, status: u16) -> Self {
        self.fail_region = Some((region.into(), status));
        self
    }

    /// Fails every request for `service` (its SigV4 name, e.g. `route53`) with HTTP `status`.
    pub fn with_fail_service(mut self, service: impl Into<String>, status: u16) -> Self {
        self.fail_service = Some((service.into(), status));
        self
    }

    /// Plays the AWS behaviours of `realism` on top of moto (e.g. `Realism::aws()`).
    pub fn with_realism(mut self, realism: Realism) -> Self {
        self.realism = Some(realism);
        self
    }
}

/// One request that went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path and query, e.g. `/`.
    pub path: String,
    /// The service from the SigV4 credential scope (`ec2`, `autoscaling`, ...); empty if unsigned.
    pub service: String,
    /// The Region from the SigV4 credential scope; empty if unsigned.
    pub region: String,
    /// The API action: the `Action` form/query parameter (query protocols), the part of the
    /// `X-Amz-Target` header after the last dot (JSON protocols) or the operation of an RPC v2
    /// CBOR path (`GetMetricData`); empty if none is present.
    pub action: String,
    /// The HTTP status the proxy returned to the client.
    pub status: u16,
    /// True when the proxy answered by itself (an injected fault) instead of forwarding.
    pub injected: bool,
    /// Time from receiving the request to having the response, including any injected delay.
    pub elapsed: Duration,
    /// When the proxy received it (to tell which requests were in flight together).
    pub received_at: Instant,
    /// The request body as received (empty if it could not be read), to replay the request.
    /// For a Smithy RPC v2 CBOR call (CloudWatch: `path` is `/service/S/operation/O`), its
    /// AWS JSON 1.0 translation, which is what moto was sent.
    pub body: Bytes,
}

/// The error code used for an injected failure with `status`, as AWS would send it.
///
/// 400 and 429 are throttling (`RequestLimitExceeded` for EC2, `Throttling` otherwise), 403 is
/// `AccessDenied` (`UnauthorizedOperation` for EC2), 500 is `InternalFailure`, anything else is
/// `ServiceUnavailable`.
pub fn injected_error_code(status: u16, service: &str) -> &'static str {
    let ec2 = service == "ec2";
    match status {
        400 | 429 if ec2 => "RequestLimitExceeded",
        400 | 429 => "Throttling",
        403 if ec2 => "UnauthorizedOperation",
        403 => "AccessDenied",
        500 => "InternalFailure",
        _ => "ServiceUnavailable",
    }
}

/// The message of every injected error.
pub const INJECTED_MESSAGE: &str = "injected";

#[derive(Debug)]
struct Shared {
    /// Scheme and authority of the upstream, e.g. `http://127.0.0.1:5000`.
    upstream: Uri,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// The chaos generator's state (reset from the seed whenever faults are set).
    random: Mutex<u64>,
    /// What the realism layer knows (kept when faults change).
    realism: Mutex<realism::State>,
}

/// The generator state for `faults` (never 0, which xorshift cannot leave).
fn seed_of(faults: &Faults) -> u64 {
    faults
        .chaos
        .map_or(1, |c| c.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
}

/// A poisoned lock only means a panicking test thread; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A recording, fault-injecting HTTP/1.1 proxy on 127.0.0.1, stopped on drop.
///
/// It runs on its own thread with its own tokio runtime, so it works from synchronous code and
/// from inside `#[tokio::test]` alike.
#[derive(Debug)]
pub struct Proxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Whether the calls seen count as haven's for the IAM-policy check (see `Drop`).
    reports_calls: bool,
}

impl Proxy {
    /// Starts a proxy on a free loopback port that forwards to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, faults: Faults) -> io::Result<Self> {
        let upstream = parse_upstream(upstream)?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("haven-proxy-worker")
            .enable_all()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            upstream,
            random: Mutex::new(seed_of(&faults)),
            faults: Mutex::new(faults),
            requests: Mutex::new(Vec::new()),
            realism: Mutex::new(realism::State::default()),
        });
        let (shutdown, stopped) = oneshot::channel();
        let served = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("haven-proxy".into())
            .spawn(move || {
                runtime.block_on(serve(listener, served, stopped));
                // Drops open keep-alive connections and any request still in flight.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Self {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
            reports_calls: true,
        })
    }

    /// For tests that drive the SDK themselves, not haven (the proxy's own tests): their calls
    /// are left out of the check that every call haven makes is in `haven iam-policy`.
    pub fn not_haven(mut self) -> Self {
        self.reports_calls = false;
        self
    }

    /// The endpoint URL to give the SDK, e.g. `http://127.0.0.1:40125`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The upstream this proxy forwards to.
    pub fn upstream(&self) -> String {
        self.shared
            .upstream
            .to_string()
            .trim_end_matches('/')
            .to_owned()
    }

    /// Every request so far, in the order the responses were produced.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// What the realism layer did so far, in order (see [`Faults::realism`]).
    pub fn realism_events(&self) -> Vec<RealismEvent> {
        lock(&self.shared.realism).events()
    }

    /// Forgets what the realism layer learned (ids, client tokens, lifecycle states) but not
    /// its events, and drops deferred deletes not sent yet: call it after `MotoServer::reset`,
    /// or old tokens would replay answers about resources moto no longer has.
    pub fn reset_realism(&self) {
        lock(&self.shared.realism).forget();
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// Replaces the faults; requests received from now on see the new ones.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.random) = seed_of(&faults);
        *lock(&self.shared.faults) = faults;
    }
}

impl Drop for Proxy {
    /// Stops the proxy. With `HAVEN_CALLS_DIR` set (as `cargo xtask ci` does), first writes the
    /// API actions it saw there, one `service action` per line, so that CI can check them
    /// against `haven iam-policy`.
    fn drop(&mut self) {
        if let Some(dir) = std::env::var_os("HAVEN_CALLS_DIR").filter(|_| self.reports_calls) {
            let mut calls: Vec<String> = lock(&self.shared.requests)
                .iter()
                .filter(|r| !r.action.is_empty() && !r.service.is_empty())
                .map(|r| format!("{} {}\n", r.service, r.action))
                .collect();
            calls.sort();
            calls.dedup();
            let dir = std::path::PathBuf::from(dir);
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!(
                "{}-{}.txt",
                std::process::id(),
                self.address.port()
            ));
            let _ = std::fs::write(file, calls.concat());
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn parse_upstream(upstream: &str) -> io::Result<Uri> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let uri: Uri = upstream
        .parse()
        .map_err(|error| invalid(format!("upstream `{upstream}` is not a URL: {error}")))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => Uri::builder()
            .scheme("http")
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|error| invalid(format!("upstream `{upstream}`: {error}"))),
        _ => Err(invalid(format!(
            "upstream `{upstream}` must look like http://host:port"
        ))),
    }
}

type UpstreamClient = Client<HttpConnector, Full<Bytes>>;

async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let client: UpstreamClient = Client::builder(TokioExecutor::new()).build_http();
    loop {
        tokio::select! {
            // A send or a dropped sender both mean stop.
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                let client = client.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        entry(Arc::clone(&shared), client.clone(), request)
                    });
                    // Errors here are client disconnects; nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Reads a request and answers it; an RPC v2 CBOR call (CloudWatch) goes to moto as AWS JSON
/// 1.0 and its answer comes back as CBOR (see `cbor`).
async fn entry(
    shared: Arc<Shared>,
    client: UpstreamClient,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|error| format!("cannot read the request body: {error}"));
    let Some(rpc) = cbor::rpc_of(&parts.method, &path) else {
        return handle(shared, client, parts, body, path, started).await;
    };
    // The JSON is what is recorded, so that a replay can send it to moto as it is.
    let body = body.and_then(|body| {
        let body = cbor::inflate(&mut parts.headers, body)?;
        if cbor::is_json(&body) {
            Ok(body)
        } else {
            cbor::cbor_to_json(&body).map(Bytes::from)
        }
    });
    cbor::to_json_parts(&mut parts, &rpc, body.as_ref().map_or(0, Bytes::len));
    let response = handle(shared, client, parts, body, path, started).await?;
    Ok(cbor_answer(response).await)
}

/// moto's (or an injected) AWS JSON 1.0 answer as RPC v2 CBOR, with the same status: a success
/// typed with CloudWatch's model, an error as `__type` and `message` (moto's HTML page for an
/// operation it lacks becomes `InternalFailure`).
async fn cbor_answer(response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let mut error = None;
    let cbor = if parts.status.is_success() {
        cbor::json_to_cbor(&body).unwrap_or_else(|message| {
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            error = Some(("InternalFailure".to_owned(), message));
            Vec::new()
        })
    } else {
        Vec::new()
    };
    if !parts.status.is_success() {
        let (code, message) = error.or_else(|| cbor::error_of(&body)).unwrap_or_else(|| {
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            (
                "InternalFailure".to_owned(),
                "moto does not implement this operation".to_owned(),
            )
        });
        let fault = if parts.status.is_client_error() {
            "Sender"
        } else {
            "Receiver"
        };
        // CloudWatch is `awsQueryCompatible`: AWS also names the query error code in a header.
        if let Ok(value) = HeaderValue::from_str(&format!("{code};{fault}")) {
            parts.headers.insert("x-amzn-query-error", value);
        }
        let cbor = cbor::error_body(&code, &message);
        cbor::set_cbor_headers(&mut parts.headers, cbor.len());
        return Response::from_parts(parts, Full::new(Bytes::from(cbor)));
    }
    cbor::set_cbor_headers(&mut parts.headers, cbor.len());
    Response::from_parts(parts, Full::new(Bytes::from(cbor)))
}

async fn handle(
    shared: Arc<Shared>,
    client: UpstreamClient,
    parts: Parts,
    body: Result<Bytes, String>,
    path: String,
    started: Instant,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (region, service) = credential_scope(&parts.headers, parts.uri.query());
    let method = parts.method.to_string();
    // AWS Backup speaks REST-JSON: its errors are JSON documents too.
    let json = parts.headers.contains_key("x-amz-target") || service == "backup";
    // The same request line and headers (the credential scope names the Region) for a
    // correction moto needs afterwards (see `motofix`).
    let (follow_method, follow_uri, follow_headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let mut follow_up = None;

    let (response, injected, action, body) = match body {
        Err(message) => {
            let response = error_response(
                StatusCode::BAD_REQUEST,
                &service,
                json,
                "ProxyBadRequest",
                &message,
            );
            (response, true, String::new(), Bytes::new())
        }
        Ok(body) => {
            let action = match action_of(&parts.headers, parts.uri.query(), &body) {
                action if action.is_empty() => {
                    match route53_operation(parts.method.as_str(), parts.uri.path()) {
                        "" => backup_operation(parts.method.as_str(), parts.uri.path()),
                        operation => operation,
                    }
                    .to_owned()
                }
                action => action,
            };
            follow_up = is_form(&parts.headers)
                .then(|| std::str::from_utf8(&body).ok())
                .flatten()
                .and_then(|form| motofix::follow_up(&region, &action, form));
            let (faults, fail_action) = {
                let mut faults = lock(&shared.faults);
                let fail_action = match &mut faults.fail_action {
                    Some((failing, status, times)) if *failing == action && *times > 0 => {
                        *times -= 1;
                        Some(*status)
                    }
                    _ => None,
                };
                (faults.clone(), fail_action)
            };
            let (fate, spike) = match faults.chaos {
                Some(chaos) => decide(&shared, &chaos),
                None => (Fate::Forward, Duration::ZERO),
            };
            let slow_service = match &faults.delay_service {
                Some((slow, extra)) if *slow == service => *extra,
                _ => Duration::ZERO,
            };
            let delay = faults.delay + spike + slow_service;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let silenced = faults
                .realism
                .as_ref()
                .filter(|realism| realism.silences(&region, &service));
            if let Some(realism) = silenced {
                lock(&shared.realism).silenced(&region, &service, &action);
                tokio::time::sleep(realism.silent_hold).await;
            }
            if matches!(fate, Fate::Drop) || silenced.is_some() {
                lock(&shared.requests).push(RecordedRequest {
                    method,
                    path,
                    service,
                    region,
                    action,
                    status: 0,
                    injected: true,
                    elapsed: started.elapsed(),
                    received_at: started,
                    body,
                });
                return Err(Dropped);
            }
            let chaos_status = match fate {
                Fate::Fail(status) => Some(status),
                _ => None,
            };
            // moto replaces an instance when a read replica of its name is created; AWS
            // refuses (see `motofix`).
            let mut taken = None;
            if let Some(describe) = is_form(&parts.headers)
                .then(|| std::str::from_utf8(&body).ok())
                .flatten()
                .and_then(|form| motofix::name_check(&action, form))
            {
                let parts = request_parts(&follow_method, &follow_uri, &follow_headers, &describe);
                if let Ok((answer, text)) =
                    forward(&shared.upstream, &client, parts, Bytes::from(describe)).await
                    && answer.status.is_success()
                    && motofix::lists_an_instance(&text)
                {
                    taken = Some(());
                }
            }
            // Calls moto lacks get AWS's answer (see `motofix::stand_in`).
            let stand_in = motofix::stand_in(&service, &action);
            let failing = match (&faults.fail_region, fail_action.or(chaos_status)) {
                (_, Some(status)) => Some(status),
                (Some((failing, status)), None) if *failing == region => Some(*status),
                _ => None,
            }
            .or(match &faults.fail_service {
                Some((failing, status)) if *failing == service => Some(*status),
                _ => None,
            });
            match failing {
                Some(status) => {
                    let status =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let code = injected_error_code(status.as_u16(), &service);
                    let response = error_response(status, &service, json, code, INJECTED_MESSAGE);
                    (response, true, action, body)
                }
                None if stand_in.is_some() => {
                    let xml = stand_in.clone().unwrap_or_default();
                    let response = Response::builder()
                        .status(StatusCode::OK)
                        .header("content-type", "text/xml;charset=UTF-8")
                        .body(Full::new(Bytes::from(xml)))
                        .unwrap_or_else(|_| {
                            upstream_error(&service, json, "building a stand-in answer")
                        });
                    (response, false, action, body)
                }
                None if taken.is_some() => {
                    let response = error_response(
                        StatusCode::BAD_REQUEST,
                        &service,
                        json,
                        "DBInstanceAlreadyExists",
                        "DB instance already exists",
                    );
                    (response, true, action, body)
                }
                None => match &faults.realism {
                    Some(realism) => {
                        let form = is_form(&parts.headers)
                            .then(|| std::str::from_utf8(&body).ok())
                            .flatten();
                        let mut call = realism::Call::new(&service, &region, &action, form);
                        if json {
                            call = call.with_json(body.clone());
                        }
                        let (response, injected) =
                            with_realism(&shared, &client, realism, call, parts, body.clone())
                                .await;
                        (response, injected, action, body)
                    }
                    None => {
                        let response = forward(&shared.upstream, &client, parts, body.clone())
                            .await
                            .map(|(parts, body)| Response::from_parts(parts, Full::new(body)))
                            .unwrap_or_else(|message| upstream_error(&service, json, &message));
                        (response, false, action, body)
                    }
                },
            }
        }
    };

    if let Some(fix) = follow_up.filter(|_| response.status().is_success() && !injected) {
        let parts = request_parts(&follow_method, &follow_uri, &follow_headers, &fix);
        // moto does not check signatures; a failure here shows in the next describe.
        let _ = forward(&shared.upstream, &client, parts, Bytes::from(fix)).await;
    }
    lock(&shared.requests).push(RecordedRequest {
        method,
        path,
        service,
        region,
        action,
        status: response.status().as_u16(),
        injected,
        elapsed: started.elapsed(),
        received_at: started,
        body,
    });
    Ok(response)
}

/// A request line and headers like the client's (the credential scope names the Region) for a
/// body of the proxy's own.
fn request_parts(method: &hyper::Method, uri: &Uri, headers: &HeaderMap, body: &str) -> Parts {
    let mut request = Request::new(());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers.clone();
    let (mut parts, ()) = request.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    parts
}

/// The answer to a request under `realism`, and whether the proxy gave it by itself.
async fn with_realism(
    shared: &Arc<Shared>,
    client: &UpstreamClient,
    realism: &Realism,
    call: realism::Call,
    mut parts: Parts,
    body: Bytes,
) -> (Response<Full<Bytes>>, bool) {
    let json = parts.headers.contains_key("x-amz-target");
    let (method, uri, headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let own = OwnRequests {
        shared,
        client,
        method: &method,
        uri: &uri,
        headers: &headers,
    };
    // Route 53 (REST): TestDNSAnswer and a dropped Region's health checks (`dns_answer`).
    if call.service == "route53"
        && let Some(answer) = route53_answer(&own, realism, &parts).await
    {
        return (answer, true);
    }
    let before = lock(&shared.realism).before(realism, &call);
    let mut after = Vec::new();
    let body = match before {
        realism::Before::Forward => body,
        realism::Before::Prepared {
            before,
            body: changed,
            after: then,
        } => {
            for prepare in before {
                // moto's answer is not the client's; a failure shows in the call itself.
                let _ = own.send(&call.service, &prepare).await;
            }
            after = then;
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(changed.len()));
            changed
        }
        realism::Before::ForwardBody(changed) => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(changed.len()));
            changed
        }
        realism::Before::Answer(answer) => return (answer_response(&call, json, answer), true),
        realism::Before::Defer {
            answer,
            body: replayed,
            delay,
            db,
            generation,
        } => {
            let response = answer_response(&call, json, answer);
            let shared = Arc::clone(shared);
            let client = client.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if !lock(&shared.realism).is_current(generation) {
                    return;
                }
                let mut parts = parts;
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(replayed.len()));
                let status = forward(&shared.upstream, &client, parts, replayed)
                    .await
                    .map_or(502, |(parts, _)| parts.status.as_u16());
                lock(&shared.realism).replayed(&call, &db, status);
            });
            return (response, true);
        }
    };
    match forward(&shared.upstream, client, parts, body).await {
        Err(message) => (upstream_error(&call.service, json, &message), false),
        Ok((mut parts, body)) => {
            let status = parts.status.as_u16();
            let rewritten = lock(&shared.realism).after(realism, &call, status, &body);
            if status == 200 {
                for then in after {
                    let _ = own.send(&call.service, &then).await;
                }
            }
            own.look_and_follow_up(realism, &call, status).await;
            let body = match rewritten {
                Some(text) => {
                    parts
                        .headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
                    Bytes::from(text)
                }
                None => body,
            };
            (Response::from_parts(parts, Full::new(body)), false)
        }
    }
}

/// Route 53's answer to a request moto answers otherwise (see `realism::dns_answer`), or `None`
/// to forward it.
async fn route53_answer(
    own: &OwnRequests<'_>,
    realism: &Realism,
    parts: &Parts,
) -> Option<Response<Full<Bytes>>> {
    use realism::dns_answer::{self, Route53Request};
    let request = dns_answer::classify(parts.method.as_str(), parts.uri.path(), parts.uri.query())?;
    let xml = |body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        headers.insert("x-amzn-requestid", HeaderValue::from_static("haven-proxy"));
        response
    };
    let dropped = realism.silent_region.as_deref();
    let endpoint = async |id: &str| -> Option<String> {
        let text = own.get(&dns_answer::health_check_path(id)).await?;
        dns_answer::health_check_fqdn(&text)
    };
    match request {
        Route53Request::HealthCheckStatus { id } => {
            let dropped = dropped?;
            let fqdn = endpoint(&id).await?;
            dns_answer::in_dropped_region(&fqdn, dropped).then(|| {
                xml(dns_answer::failing_status(&realism::timestamp(
                    std::time::SystemTime::now(),
                )))
            })
        }
        Route53Request::TestDnsAnswer {
            zone,
            name,
            record_type,
        } => {
            let text = own.get(&dns_answer::records_path(&zone)).await?;
            let sets = dns_answer::record_sets(&text);
            let mut unhealthy = Vec::new();
            if let Some(dropped) = dropped {
                for id in sets.iter().filter_map(|s| s.health_check_id.clone()) {
                    if endpoint(&id)
                        .await
                        .is_some_and(|f| dns_answer::in_dropped_region(&f, dropped))
                    {
                        unhealthy.push(id);
                    }
                }
            }
            let healthy = |id: &str| !unhealthy.iter().any(|u| u == id);
            let chosen = dns_answer::choose(&sets, &name, &record_type, &healthy);
            Some(xml(dns_answer::answer(&name, &record_type, chosen)))
        }
    }
}

/// What the proxy needs to send moto requests of its own in the name of a client request.
struct OwnRequests<'a> {
    shared: &'a Arc<Shared>,
    client: &'a UpstreamClient,
    method: &'a hyper::Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
}

impl OwnRequests<'_> {
    /// Lets realism look at what `call` changed and sends moto the corrections it asks for
    /// (see `realism::State::look_after`); none of these is recorded.
    async fn look_and_follow_up(&self, realism: &Realism, call: &realism::Call, status: u16) {
        let look = lock(&self.shared.realism).look_after(call, status);
        if let Some(look) = look
            && let Ok((answer, text)) = self.send(&call.service, &look).await
            && answer.status.is_success()
        {
            let seen = realism::Call::new(
                &call.service,
                &call.region,
                "DescribeAutoScalingGroups",
                Some(&look),
            );
            lock(&self.shared.realism).after(realism, &seen, 200, &text);
        }
        let follow_ups = lock(&self.shared.realism).take_follow_ups();
        for follow_up in follow_ups {
            // moto answers in the next describe; an error (already gone) changes nothing.
            let _ = self.send(follow_up.service, &follow_up.body).await;
        }
    }

    /// `GET path` of moto (a REST protocol: Route 53), its body when it answers 200.
    async fn get(&self, path: &str) -> Option<String> {
        let uri: Uri = path.parse().ok()?;
        let mut parts = request_parts(&hyper::Method::GET, &uri, self.headers, "");
        parts.headers.remove(header::CONTENT_TYPE);
        let (answer, body) = forward(&self.shared.upstream, self.client, parts, Bytes::new())
            .await
            .ok()?;
        if !answer.status.is_success() {
            return None;
        }
        String::from_utf8(body.to_vec()).ok()
    }

    /// Sends `body` signed (in the credential scope only: moto checks no signature) for
    /// `service`.
    async fn send(
        &self,
        service: &str,
        body: &str,
    ) -> Result<(hyper::http::response::Parts, Bytes), String> {
        let mut parts = request_parts(self.method, self.uri, self.headers, body);
        if let Some(authorization) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        {
            let (region, signed_for) = credential_scope(&parts.headers, None);
            let rescoped = authorization.replace(
                &format!("/{region}/{signed_for}/aws4_request"),
                &format!("/{region}/{service}/aws4_request"),
            );
            if let Ok(value) = HeaderValue::from_str(&rescoped) {
                parts.headers.insert(header::AUTHORIZATION, value);
            }
        }
        forward(
            &self.shared.upstream,
            self.client,
            parts,
            Bytes::from(body.to_owned()),
        )
        .await
    }
}

fn answer_response(
    call: &realism::Call,
    json: bool,
    answer: realism::Answer,
) -> Response<Full<Bytes>> {
    match answer {
        realism::Answer::Ok(body) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            headers.insert("x-amzn-requestid", HeaderValue::from_static("haven-proxy"));
            response
        }
        realism::Answer::Error {
            status,
            code,
            message,
        } => error_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &call.service,
            json,
            code,
            &message,
        ),
    }
}

fn upstream_error(service: &str, json: bool, message: &str) -> Response<Full<Bytes>> {
    error_response(
        StatusCode::BAD_GATEWAY,
        service,
        json,
        "ProxyUpstreamError",
        message,
    )
}

/// Draws what happens to one request under `chaos`, and its extra latency.
fn decide(shared: &Shared, chaos: &Chaos) -> (Fate, Duration) {
    let mut state = lock(&shared.random);
    let roll = next_random(&mut state) % 100;
    let spike_roll = next_random(&mut state) % 100;
    let server_error = if next_random(&mut state).is_multiple_of(2) {
        500
    } else {
        503
    };
    let drop = u64::from(chaos.drop_percent);
    let throttle = drop + u64::from(chaos.throttle_percent);
    let server = throttle + u64::from(chaos.server_error_percent);
    let fate = if roll < drop {
        Fate::Drop
    } else if roll < throttle {
        Fate::Fail(400)
    } else if roll < server {
        Fate::Fail(server_error)
    } else {
        Fate::Forward
    };
    let spike = if spike_roll < u64::from(chaos.spike_percent) {
        chaos.spike
    } else {
        Duration::ZERO
    };
    (fate, spike)
}

/// Forwards the request unchanged (apart from the URI and hop-by-hop headers) and buffers the
/// answer, so that `Content-Length` is exact on both sides.
async fn forward(
    upstream: &Uri,
    client: &UpstreamClient,
    mut parts: Parts,
    body: Bytes,
) -> Result<(hyper::http::response::Parts, Bytes), String> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let mut uri = upstream.clone().into_parts();
    uri.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|error| format!("bad request path `{path_and_query}`: {error}"))?,
    );
    parts.uri = Uri::from_parts(uri).map_err(|error| format!("bad upstream URI: {error}"))?;
    parts.version = Version::HTTP_11;
    parts.extensions = Default::default();
    // The Host header is kept as the client sent (and signed) it.
    remove_hop_by_hop(&mut parts.headers);

    let answer = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|error| format!("upstream request failed: {error}"))?;
    let (mut parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| format!("upstream body failed: {error}"))?
        .to_bytes();
    remove_hop_by_hop(&mut parts.headers);
    parts.extensions = Default::default();
    Ok((parts, body))
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    for name in listed {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// An AWS-style error: JSON for `X-Amz-Target` requests, EC2's `<Response><Errors>` shape for
/// EC2, and the query protocols' `<ErrorResponse>` otherwise.
fn error_response(
    status: StatusCode,
    service: &str,
    json: bool,
    code: &str,
    message: &str,
) -> Response<Full<Bytes>> {
    let message = xml_escape(message);
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.1",
            format!(
                r#"{{"__type":"{code}","message":"{}"}}"#,
                message.replace('"', "'")
            ),
        )
    } else if service == "ec2" {
        (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>{code}</Code><Message>{message}</Message></Error></Errors>\
                 <RequestID>haven-proxy</RequestID></Response>"
            ),
        )
    } else {
        let kind = if status.is_client_error() {
            "Sender"
        } else {
            "Receiver"
        };
        (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error>\
                 <Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>haven-proxy</RequestId></ErrorResponse>"
            ),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("x-amzn-requestid", HeaderValue::from_static("haven-proxy"));
    if json && let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `(region, service)` from the SigV4 credential scope `KEY/DATE/REGION/SERVICE/aws4_request`,
/// found in the `Authorization` header or a presigned URL's `X-Amz-Credential`.
fn credential_scope(headers: &HeaderMap, query: Option<&str>) -> (String, String) {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let start = value.find("Credential=")? + "Credential=".len();
            let rest = &value[start..];
            let end = rest
                .find(|c: char| c == ',' || c.is_whitespace())
                .unwrap_or(rest.len());
            Some(rest[..end].to_owned())
        });
    let credential =
        from_header.or_else(|| query.and_then(|query| form_param(query, "X-Amz-Credential")));
    let Some(credential) = credential else {
        return (String::new(), String::new());
    };
    let fields: Vec<&str> = credential.split('/').collect();
    match fields.as_slice() {
        [.., region, service, "aws4_request"] => ((*region).to_owned(), (*service).to_owned()),
        _ => (String::new(), String::new()),
    }
}

fn action_of(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> String {
    if let Some(target) = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let from_body = is_form(headers)
        .then(|| std::str::from_utf8(body).ok())
        .flatten()
        .and_then(|body| form_param(body, "Action"));
    from_body
        .or_else(|| query.and_then(|query| form_param(query, "Action")))
        .unwrap_or_default()
}

/// The operation of a Route 53 request (a REST protocol: the method and the path name it, under
/// `/2013-04-01/`), or empty for any other request.
fn route53_operation(method: &str, path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/2013-04-01/") else {
        return "";
    };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", ["change", _]) => "GetChange",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("POST", ["healthcheck"]) => "CreateHealthCheck",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck",
        ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
        ("POST", ["tags", _]) => "ListTagsForResources",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        ("GET", ["testdnsanswer"]) => "TestDNSAnswer",
        _ => "Route53Unknown",
    }
}

/// The operation of an AWS Backup request (REST: the method and the path under `/backup/`)
/// haven makes, or empty for any other request.
fn backup_operation(method: &str, path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/backup/") else {
        return "";
    };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["plans"]) => "ListBackupPlans",
        ("GET", ["plans", _, "selections"]) => "ListBackupSelections",
        ("GET", ["plans", _, "selections", _]) => "GetBackupSelection",
        _ => "BackupUnknown",
    }
}

/// Whether the body is an `application/x-www-form-urlencoded` form (the query protocols).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

/// The decoded value of `name` in an `application/x-www-form-urlencoded` string.
fn form_param(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// Decodes a form-encoded (`application/x-www-form-urlencoded`) key or value: `+` is a space,
/// `%XX` a byte; a malformed escape is kept as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
