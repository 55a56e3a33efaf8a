//! The docker runtime's traffic (docs/traffic.md): real health checks of each task's load
//! balancer targets — HTTP (or a TCP connection) to the host port its container port is
//! published on, the group's path, matcher and timeout — and a reverse proxy per listener
//! on 127.0.0.1 that forwards each request to the target `routes.rs` picks. Effects only:
//! what is checked and where a request goes are `routes.rs`'s.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::routes::{HealthCheck, Probe, matcher_accepts};
use super::server::{Shared, lock, serve_connection};
use super::target_health::Failure;

/// One probe's result: task, target index, pass or the failure.
type Checked = (String, usize, Result<(), Failure>);

/// Time between two checks of one target (ELB checks every interval; the local ECS looks
/// more often so that "answers from" is known to the second, then follows the interval).
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long a proxied request may wait for its target's answer to begin.
const TARGET_TIMEOUT: Duration = Duration::from_secs(30);

type Body = BoxBody<Bytes, hyper::Error>;

/// The health checks under way and the proxies running.
pub(super) struct Traffic {
    sender: mpsc::UnboundedSender<Checked>,
    results: mpsc::UnboundedReceiver<Checked>,
    /// When each target was last checked.
    last: BTreeMap<(String, usize), Instant>,
    /// Targets with a check under way (one at a time a target).
    in_flight: std::collections::BTreeSet<(String, usize)>,
    proxies: BTreeMap<String, watch::Sender<bool>>,
}

impl Traffic {
    pub(super) fn new() -> Self {
        let (sender, results) = mpsc::unbounded_channel();
        Self {
            sender,
            results,
            last: BTreeMap::new(),
            in_flight: std::collections::BTreeSet::new(),
            proxies: BTreeMap::new(),
        }
    }

    /// The checks that finished since the last call.
    pub(super) fn results(&mut self) -> Vec<Checked> {
        let mut done = Vec::new();
        while let Ok(result) = self.results.try_recv() {
            self.in_flight.remove(&(result.0.clone(), result.1));
            done.push(result);
        }
        done
    }

    /// Starts the checks due (at most one a second a target).
    pub(super) fn probe(&mut self, probes: Vec<Probe>) {
        let now = Instant::now();
        self.last.retain(|key, _| probes.iter().any(|p| (&p.task, p.index) == (&key.0, key.1)));
        for probe in probes {
            let key = (probe.task.clone(), probe.index);
            let recent =
                self.last.get(&key).is_some_and(|at| now.duration_since(*at) < PROBE_EVERY);
            if recent || self.in_flight.contains(&key) {
                continue;
            }
            self.last.insert(key.clone(), now);
            self.in_flight.insert(key);
            let sender = self.sender.clone();
            tokio::spawn(async move {
                let result = check(probe.address, &probe.check).await;
                let _ = sender.send((probe.task, probe.index, result));
            });
        }
    }

    /// A proxy for each of `listeners` (ARN), started on 127.0.0.1 at a port the system
    /// picks and named in `shared.listeners`; those of listeners gone are stopped.
    pub(super) async fn proxies(&mut self, shared: &Arc<Shared>, listeners: Vec<String>) {
        let gone: Vec<String> =
            self.proxies.keys().filter(|arn| !listeners.contains(arn)).cloned().collect();
        for arn in gone {
            if let Some(stop) = self.proxies.remove(&arn) {
                let _ = stop.send(true);
            }
            lock(&shared.listeners).remove(&arn);
        }
        for arn in listeners {
            if self.proxies.contains_key(&arn) {
                continue;
            }
            let Ok(listener) = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
            else {
                continue;
            };
            let Ok(address) = listener.local_addr() else { continue };
            let (stop, stopped) = watch::channel(false);
            lock(&shared.listeners).insert(arn.clone(), format!("http://{address}"));
            tokio::spawn(serve(Arc::clone(shared), arn.clone(), listener, stopped));
            self.proxies.insert(arn, stop);
        }
    }

    /// Stops every proxy.
    pub(super) fn stop(&mut self, shared: &Shared) {
        for (_, stop) in std::mem::take(&mut self.proxies) {
            let _ = stop.send(true);
        }
        lock(&shared.listeners).clear();
    }
}

/// One health check: a connection (TCP), or a GET of the path whose status the matcher
/// accepts, within the group's timeout.
async fn check(address: SocketAddr, check: &HealthCheck) -> Result<(), Failure> {
    let timeout = Duration::from_millis(check.timeout_ms.max(100));
    let refused = || Failure::of("Target.FailedHealthChecks");
    let attempt = async {
        let stream = TcpStream::connect(address).await.map_err(|_| refused())?;
        if check.protocol.eq_ignore_ascii_case("TCP") {
            return Ok(());
        }
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(io).await.map_err(|_| refused())?;
        tokio::spawn(connection);
        let request = Request::get(check.path.as_str())
            .header(hyper::header::HOST, address.to_string())
            .header(hyper::header::USER_AGENT, "ELB-HealthChecker/2.0")
            .body(Empty::<Bytes>::new())
            .map_err(|_| refused())?;
        let response = sender.send_request(request).await.map_err(|_| refused())?;
        let code = response.status().as_u16();
        if matcher_accepts(&check.matcher, code) { Ok(()) } else { Err(Failure::mismatch(code)) }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(Failure::of("Target.Timeout")))
}

/// A listener's proxy: every connection served until `stopped`.
async fn serve(
    shared: Arc<Shared>,
    arn: String,
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
) {
    let counter = Arc::new(AtomicU64::new(0));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (shared, arn, counter) = (Arc::clone(&shared), arn.clone(), Arc::clone(&counter));
        let stop = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                forward(Arc::clone(&shared), arn.clone(), Arc::clone(&counter), peer, request)
            });
            serve_connection(stream, service, stop).await;
        });
    }
}

/// One request through the listener: to the target the state picks, or ELB's 503 when
/// there is none and 502 when the target does not answer.
async fn forward(
    shared: Arc<Shared>,
    arn: String,
    counter: Arc<AtomicU64>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(':').next())
        .unwrap_or_default()
        .to_owned();
    let pick = counter.fetch_add(1, Ordering::Relaxed);
    let target = {
        let now = shared.clock.now_ms();
        lock(&shared.state).route(&arn, &host, request.uri().path(), pick, now)
    };
    let address = match target {
        Ok(address) => address,
        Err(code) => return Ok(error(code, "503 Service Temporarily Unavailable")),
    };
    match tokio::time::timeout(TARGET_TIMEOUT, send(address, peer, request)).await {
        Ok(Ok(response)) => Ok(response.map(BodyExt::boxed)),
        Ok(Err(())) => Ok(error(502, "502 Bad Gateway")),
        Err(_) => Ok(error(504, "504 Gateway Time-out")),
    }
}

async fn send(
    address: SocketAddr,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Incoming>, ()> {
    let stream = TcpStream::connect(address).await.map_err(|_| ())?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io).await.map_err(|_| ())?;
    tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    // Appended to what the client sent, as ELB does.
    let forwarded = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(value) = forwarded.parse() {
        parts.headers.insert("x-forwarded-for", value);
    }
    parts.headers.insert("x-forwarded-proto", hyper::header::HeaderValue::from_static("http"));
    sender.send_request(Request::from_parts(parts, body)).await.map_err(|_| ())
}

fn error(code: u16, text: &'static str) -> Response<Body> {
    let body = Full::new(Bytes::from(format!("<html><body><h1>{text}</h1></body></html>\n")));
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE))
        .header(hyper::header::CONTENT_TYPE, "text/html")
        .body(body.map_err(|never| match never {}).boxed())
        .unwrap_or_else(|_| Response::new(Empty::new().map_err(|never| match never {}).boxed()))
}
