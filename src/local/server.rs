//! The local ECS/ECR endpoint: an HTTP/1.1 server on 127.0.0.1 speaking AWS JSON 1.1
//! (`POST /`, `X-Amz-Target`, camelCase bodies, epoch-second timestamps, errors as
//! `{"__type", "message"}`). Any signature is accepted. Each call first brings every
//! service's scheduler up to the clock's now, so state moves only as time does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request as HttpRequest, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::api_error::ApiError;
use super::behaviour::FaultFile;
use super::clock::Clock;
use super::ecr::RegistryConfig;
use super::ids::Ids;
use super::local_error::LocalError;
use super::model::query::{self, Form};
use super::model::{Model, Service};
use super::request::Request;
use super::state::EcsState;

const ECS_PREFIX: &str = "AmazonEC2ContainerServiceV20141113";
const ECR_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921";
/// The largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How to run the local endpoint.
#[derive(Clone, Debug, Default)]
pub struct LocalOptions {
    /// 0 picks a free port.
    pub port: u16,
    pub state_file: Option<PathBuf>,
    /// Virtual time per real time (default 1); ignored with a manual clock.
    pub speed: f64,
    pub faults: FaultFile,
    pub registry: RegistryConfig,
    /// Tasks each cluster has room for.
    pub capacity: Option<u32>,
    /// A clock of the caller's (tests step a manual one).
    pub clock: Option<Clock>,
    /// Virtual tasks, or real containers on the Docker engine.
    pub runtime: Runtime,
    /// Read the state file and leave it: no lock is taken and nothing is saved
    /// (`ferry plan`, `ferry status`).
    pub read_only: bool,
}

/// What a task is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Runtime {
    /// Timers from the fault file: no Docker needed, any speed.
    #[default]
    Virtual,
    /// Real containers on the machine's Docker engine, in real time.
    Docker,
}

pub(super) struct Shared {
    pub(super) state: Mutex<EcsState>,
    pub(super) clock: Clock,
    pub(super) faults: FaultFile,
    pub(super) registry: RegistryConfig,
    random: Mutex<Ids>,
    calls: Mutex<BTreeMap<String, u64>>,
    /// Faults of the fault file's `api` injected so far, by kind.
    injected: Mutex<BTreeMap<&'static str, u64>>,
    /// Answers still to lose, by operation (the fault file's `lose_answers`).
    lose: Mutex<BTreeMap<String, u32>>,
    /// Retries still to throttle, by operation (the fault file's `throttle_retries`).
    throttle_retries: Mutex<BTreeMap<String, u32>>,
    /// One lock per repository (region, name), held through a whole image call: the
    /// registry is asked without the state's lock, and a check-then-act (an immutable
    /// tag, a forced delete) must not interleave with another call on the repository.
    repository_locks: Mutex<BTreeMap<(String, String), RepositoryLock>>,
    /// The docker runtime's listener proxies: listener ARN → `http://127.0.0.1:PORT`.
    pub(super) listeners: Mutex<BTreeMap<String, String>>,
}

/// The lock of one repository's image calls.
type RepositoryLock = Arc<tokio::sync::Mutex<()>>;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one request must not take the endpoint down: the state is plain data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running local endpoint.
pub struct LocalEcs {
    url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// The docker runtime's loop, the label value of its containers, and whether they
    /// outlive this process (with a state file).
    containers: Option<(tokio::task::JoinHandle<()>, String, bool)>,
    state_file: Option<PathBuf>,
    /// The lock on the state file, held while this endpoint may write it.
    _lock: Option<StateLock>,
}

/// An exclusive lock on a state file (`FILE.lock` beside it, holding the owner's pid):
/// a second process that would write the same state is refused.
struct StateLock {
    _file: std::fs::File,
}

impl StateLock {
    fn take(state: &std::path::Path) -> Result<Self, LocalError> {
        use std::io::{Read as _, Seek as _, Write as _};
        let path = state.with_extension("lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|error| LocalError::Lock {
                action: "open",
                path: path.clone(),
                reason: error.to_string(),
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                return Err(LocalError::InUse {
                    state: state.to_owned(),
                    pid: owner.trim().parse::<u32>().ok(),
                });
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(LocalError::Lock { action: "take", path, reason: error.to_string() });
            }
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(Self { _file: file })
    }
}

impl Drop for LocalEcs {
    /// Dropped without `shutdown` (a panic, an early return): the docker runtime's
    /// containers are still removed, from a thread of its own so no runtime is needed.
    fn drop(&mut self) {
        let Some((handle, instance, keep)) = self.containers.take() else { return };
        handle.abort();
        if keep {
            return;
        }
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(engine) = crate::docker::DockerEngine::connect().await {
                    let _ = super::containers::remove_all(&engine, &instance).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

impl LocalEcs {
    /// Starts the endpoint on 127.0.0.1.
    pub async fn start(options: LocalOptions) -> Result<Self, LocalError> {
        let docker = options.runtime == Runtime::Docker;
        if docker && (options.clock.is_some() || options.speed > 1.0) {
            return Err(LocalError::DockerNotRealTime);
        }
        let engine = if docker {
            Some(crate::docker::DockerEngine::connect().await.map_err(LocalError::NoDockerEngine)?)
        } else {
            None
        };
        let clock = options.clock.clone().unwrap_or_else(|| {
            Clock::scaled(if options.speed > 0.0 { options.speed } else { 1.0 })
        });
        // The lock first: the state read is the one this process will write back.
        let state_lock = match &options.state_file {
            Some(path) if !options.read_only => Some(StateLock::take(path)?),
            _ => None,
        };
        let mut state = match &options.state_file {
            Some(path) => EcsState::load(path, clock.epoch_ms())?,
            None => EcsState::new(clock.epoch_ms()),
        };
        if options.state_file.is_some() && state.saved_at_ms > 0 {
            clock.resume(state.saved_at_ms, state.epoch_ms);
        }
        state.capacity = options.capacity.or(state.capacity);
        state.settings = options.faults.scheduler.apply(state.settings);
        let listener =
            TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await.map_err(
                |error| LocalError::Listen { port: options.port, reason: error.to_string() },
            )?;
        let address = (listener.local_addr()).map_err(|error| LocalError::Listen {
            port: options.port,
            reason: error.to_string(),
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            clock,
            random: Mutex::new(Ids::new(options.faults.api.seed)),
            registry: options.registry,
            lose: Mutex::new(options.faults.api.lose_answers.clone()),
            throttle_retries: Mutex::new(options.faults.api.throttle_retries.clone()),

            faults: options.faults,
            repository_locks: Mutex::new(BTreeMap::new()),
            listeners: Mutex::new(BTreeMap::new()),
            calls: Mutex::new(BTreeMap::new()),
            injected: Mutex::new(BTreeMap::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let serving = Arc::clone(&shared);
        let server = tokio::spawn(serve(listener, serving, stopped));
        // Containers are labelled with the state file they belong to: with one, they
        // outlive this process and the next start adopts them; without, shutdown removes
        // them. Anything else of that label is left over from a killed run.
        let instance = options.state_file.as_ref().map_or_else(
            || format!("{}-{}", std::process::id(), address.port()),
            |path| absolute(path).display().to_string(),
        );
        let keep = options.state_file.is_some();
        let adopted = match &engine {
            Some(engine) => {
                let ran = lock(&shared.state).ran_tasks();
                Some(super::containers::adopt(engine, &instance, &ran).await?)
            }
            None => None,
        };
        lock(&shared.state).use_runtime(
            docker,
            &adopted.as_ref().map(super::containers::Adopted::tasks).unwrap_or_default(),
            shared.clock.now_ms(),
        );
        let containers = match (engine, adopted) {
            (Some(engine), Some(adopted)) => {
                let handle = tokio::spawn(super::containers::run(
                    Arc::clone(&shared),
                    engine,
                    instance.clone(),
                    adopted,
                    keep,
                    stop.subscribe(),
                ));
                Some((handle, instance, keep))
            }
            _ => None,
        };
        Ok(Self {
            url: format!("http://{address}"),
            shared,
            stop,
            server: Some(server),
            containers,
            state_file: options.state_file.filter(|_| !options.read_only),
            _lock: state_lock,
        })
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Tasks each cluster has room for, if bounded.
    #[must_use]
    pub fn capacity(&self) -> Option<u32> {
        lock(&self.shared.state).capacity
    }

    /// Where the docker runtime's proxy of each listener answers: listener ARN →
    /// `http://127.0.0.1:PORT` (empty on the virtual runtime). Also `GET /_ferry/listeners`.
    #[must_use]
    pub fn listeners(&self) -> BTreeMap<String, String> {
        lock(&self.shared.listeners).clone()
    }

    /// Calls answered so far, by operation.
    #[must_use]
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.calls).clone()
    }

    /// API faults injected so far: `throttled`, `server_errors`, `dropped` (connections
    /// closed unanswered), `answers_lost` (calls carried out, their answer not sent).
    #[must_use]
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.shared.injected).clone()
    }

    /// Runs `f` on the state brought up to now (for tests and the run engine's reports).
    pub fn with_state<T>(&self, f: impl FnOnce(&mut EcsState, u64) -> T) -> T {
        let now = self.shared.clock.now_ms();
        let mut state = lock(&self.shared.state);
        state.advance(now, &self.shared.faults);
        f(&mut state, now)
    }

    /// Stops accepting calls and saves the state file, if any. The docker runtime's
    /// containers are removed without a state file, and left for the next start to adopt
    /// with one.
    pub async fn shutdown(mut self) -> Result<(), LocalError> {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some((containers, _, _)) = self.containers.take() {
            let _ = containers.await;
        }
        if let Some(path) = &self.state_file {
            let now = self.shared.clock.now_ms();
            let mut state = lock(&self.shared.state);
            state.advance(now, &self.shared.faults);
            state.save(path, now)?;
        }
        Ok(())
    }
}

/// Connections served at once; the next waits for one to close.
const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers (an idle keep-alive
/// connection is closed after it too), and its body.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a stopping endpoint lets the requests under way finish.
const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts and serves connections until `stopped`: at most `MAX_CONNECTIONS` at once, a
/// half-sent request closed after its timeout, and no busy loop when the process is out
/// of file handles (the accept is retried after a pause).
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stopped.changed() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            // EMFILE and the like: wait for handles to come back rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        let stop = stopped.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shared), request));
            serve_connection(stream, service, stop).await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    // A stopped endpoint answers nothing more, not even on a kept-alive connection: the
    // state saved next is the last any client saw.
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(STOP_TIMEOUT, drained).await;
    connections.abort_all();
}

/// Serves one HTTP/1 connection with `service` (its headers within `HEADER_TIMEOUT`) until
/// it closes or `stop` changes: then the request under way is answered, and the
/// connection closes. The endpoint's and the listener proxies' connections.
pub(super) async fn serve_connection<S, B>(
    stream: tokio::net::TcpStream,
    service: S,
    mut stop: watch::Receiver<bool>,
) where
    S: hyper::service::Service<HttpRequest<Incoming>, Response = Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// `path` made absolute through its directory, which exists (the file may not yet).
fn absolute(path: &std::path::Path) -> PathBuf {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    match (std::fs::canonicalize(dir), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// The connection is closed without an answer (the fault file's `drop_connections`).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault file")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    shared: Arc<Shared>,
    request: HttpRequest<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let drop_share = shared.faults.api.drop_connections;
    if drop_share > 0.0 && lock(&shared.random).fraction() < drop_share {
        // Returning an error makes hyper close the connection with no response.
        *lock(&shared.injected).entry("dropped").or_default() += 1;
        return Err(Dropped);
    }
    if request.method() == hyper::Method::GET && request.uri().path() == "/_ferry/listeners" {
        let listeners = lock(&shared.listeners).clone();
        let body = serde_json::to_string(&listeners).unwrap_or_default();
        let response = Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
        return Ok(response);
    }
    let form = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|content| content.starts_with("application/x-www-form-urlencoded"));
    if form {
        return query_answer(&shared, request).await;
    }
    let (service, operation, answer) = answer(&shared, request).await;
    if let Some(left) = lock(&shared.lose).get_mut(&operation).filter(|left| **left > 0) {
        // Carried out, and the answer lost on the way back.
        *left -= 1;
        *lock(&shared.injected).entry("answers_lost").or_default() += 1;
        return Err(Dropped);
    }
    let (status, body) = match answer.and_then(|value| answer_of_model(service, &operation, value))
    {
        Ok(value) => (200, value.to_string()),
        Err(error) => (error.status, error.body()),
    };
    let response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", request_id(&shared))
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
    Ok(response)
}

/// A request's body, whole: within `BODY_TIMEOUT` and at most `MAX_BODY`.
async fn request_body(request: HttpRequest<Incoming>) -> Result<Bytes, ApiError> {
    Ok(tokio::time::timeout(BODY_TIMEOUT, Limited::new(request.into_body(), MAX_BODY).collect())
        .await
        .map_err(|_| ApiError::serialization("The request body did not arrive in time."))?
        .map_err(|_| ApiError::serialization("The request body is too large or was cut off."))?
        .to_bytes())
}

/// The namespace of Elastic Load Balancing v2's XML answers.
const ELBV2_NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// A call in the AWS Query protocol: STS's GetCallerIdentity (the local account), or an
/// Elastic Load Balancing v2 action, read against its service model and answered as XML.
async fn query_answer(
    shared: &Shared,
    request: HttpRequest<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let id = request_id(shared);
    let region = signed_region(request.headers());
    // A body that cannot be read names no action: refused as an unknown one.
    let body = request_body(request).await.unwrap_or_default();
    let form = Form::parse(&body);
    if form.action == "GetCallerIdentity" || form.action.is_empty() {
        let account = lock(&shared.state).account.clone();
        let (status, xml) = super::sts::answer(&body, &account, &id);
        if status == 200 {
            *lock(&shared.calls).entry("GetCallerIdentity".to_owned()).or_default() += 1;
        }
        return Ok(xml_response(status, xml, id));
    }
    let action = form.action.clone();
    let answer = elbv2_answer(shared, region, &form).await;
    if let Some(left) = lock(&shared.lose).get_mut(&action).filter(|left| **left > 0) {
        *left -= 1;
        *lock(&shared.injected).entry("answers_lost").or_default() += 1;
        return Err(Dropped);
    }
    let model = Model::of(Service::Elbv2);
    let (status, xml) =
        match answer.and_then(|value| answer_of_model(Some(Service::Elbv2), &action, value)) {
            Ok(value) => (200, model.answer_xml(&action, &value, &id, ELBV2_NAMESPACE)),
            Err(error) => {
                // The Query protocol's names for the faults every service answers.
                let kind = match error.kind {
                    "ThrottlingException" => "Throttling",
                    "ServerException" => "InternalFailure",
                    kind => kind,
                };
                let error = ApiError { kind, ..error };
                (error.status, query::error_xml(&error, &id, ELBV2_NAMESPACE))
            }
        };
    Ok(xml_response(status, xml, id))
}

async fn elbv2_answer(
    shared: &Shared,
    region: Result<Option<String>, ApiError>,
    form: &Form,
) -> Result<Value, ApiError> {
    let region = region?;
    let model = Model::of(Service::Elbv2);
    *lock(&shared.calls).entry(form.action.clone()).or_default() += 1;
    injected_fault(shared, &form.action).await?;
    let body = model.read_form(form)?;
    let request = Request::new(&body)?;
    let now = shared.clock.now_ms();
    let mut state = lock(&shared.state);
    state.advance(now, &shared.faults);
    let state = in_region(&mut state, region.as_deref());
    dispatch_elbv2(state, &form.action, request, now)
}

fn xml_response(status: u16, xml: String, id: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header("content-type", "text/xml")
        .header("x-amzn-requestid", id)
        .body(Full::new(Bytes::from(xml)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn request_id(shared: &Shared) -> String {
    let id = lock(&shared.random).task_id();
    format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32])
}

/// The service and operation a request names, and its answer.
async fn answer(
    shared: &Shared,
    request: HttpRequest<Incoming>,
) -> (Option<Service>, String, Result<Value, ApiError>) {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    let (service, operation) = match target.split_once('.') {
        Some((ECS_PREFIX, op)) => (Some(Service::Ecs), op.to_owned()),
        Some((ECR_PREFIX, op)) => (Some(Service::Ecr), op.to_owned()),
        Some((_, op)) => (None, op.to_owned()),
        None => (None, String::new()),
    };
    let answer = match service {
        Some(service) if request.method() == hyper::Method::POST => {
            answer_of(shared, service, &operation, request).await
        }
        _ => Err(ApiError::unknown_operation(&target)),
    };
    (service, operation, answer)
}

/// An answer as it is sent: without `null` members (AWS leaves an absent value out);
/// and, in debug builds — every test — checked against the operation's output shape in
/// the service model, an answer outside it turned into a `ServerException` that names
/// each deviation, so no test passes on an answer AWS would never give.
fn answer_of_model(
    service: Option<Service>,
    operation: &str,
    mut value: Value,
) -> Result<Value, ApiError> {
    without_nulls(&mut value);
    if cfg!(debug_assertions)
        && let Some(service) = service
    {
        let found = Model::of(service).check_answer(operation, &value);
        if !found.is_empty() {
            return Err(ApiError::server_with(format!(
                "the local ECS's answer to {operation} is outside the service model: {}",
                found.join("; ")
            )));
        }
    }
    Ok(value)
}

/// `value` with every `null` member of its objects removed, at any depth.
fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, member| !member.is_null());
            members.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(without_nulls),
        _ => {}
    }
}

async fn answer_of(
    shared: &Shared,
    service: Service,
    operation: &str,
    request: HttpRequest<Incoming>,
) -> Result<Value, ApiError> {
    let region = signed_region(request.headers())?;
    let bytes = request_body(request).await?;
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|error| ApiError::serialization(format!("Malformed JSON: {error}")))?
    };
    *lock(&shared.calls).entry(operation.to_owned()).or_default() += 1;
    injected_fault(shared, operation).await?;
    let body = Model::of(service).read_request(operation, body)?;
    let request = Request::new(&body)?;
    if service == Service::Ecr && ECR_IMAGE_CALLS.contains(&operation) {
        return image_call(shared, region.as_deref(), operation, request).await;
    }
    let now = shared.clock.now_ms();
    let mut state = lock(&shared.state);
    state.advance(now, &shared.faults);
    let state = in_region(&mut state, region.as_deref());
    dispatch(state, service, operation, request, now, &shared.registry)
}

/// The region a request is signed for: the third part of its SigV4 credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`), as AWS's regional endpoints
/// know it; `None` for an unsigned request or a scope that names no region. A region
/// AWS does not have is refused as AWS refuses a credential scoped to one.
fn signed_region(headers: &hyper::HeaderMap) -> Result<Option<String>, ApiError> {
    let scope = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split([',', ' ']).next());
    let Some(region) = scope.and_then(|scope| scope.split('/').nth(2)) else { return Ok(None) };
    if ferry_lang::aws_names::REGIONS.contains(&region) {
        Ok(Some(region.to_owned()))
    } else {
        Err(ApiError::with_kind(
            "InvalidSignatureException",
            format!("Credential should be scoped to a valid region, not '{region}'."),
        ))
    }
}

/// The state of the region a request is signed for; the endpoint's own without one.
fn in_region<'a>(state: &'a mut EcsState, region: Option<&str>) -> &'a mut EcsState {
    match region {
        Some(region) => state.in_region(region),
        None => state,
    }
}

/// The ECR calls answered from the registry behind the local ECR.
const ECR_IMAGE_CALLS: [&str; 6] = [
    "DescribeImages",
    "ListImages",
    "BatchGetImage",
    "PutImage",
    "BatchDeleteImage",
    "DeleteRepository",
];

/// An image call: the repository copied out under the lock, the registry asked without
/// it, and what the answer changed written back (digests first seen now, a repository
/// deleted).
async fn image_call(
    shared: &Shared,
    region: Option<&str>,
    operation: &str,
    request: Request<'_>,
) -> Result<Value, ApiError> {
    let name = request.string("repositoryName")?.unwrap_or_default();
    let key = (region.unwrap_or(super::state::HOME_REGION).to_owned(), name.to_owned());
    let repository_lock = Arc::clone(lock(&shared.repository_locks).entry(key).or_default());
    let _held = repository_lock.lock().await;
    let snapshot = {
        let mut state = lock(&shared.state);
        let state = in_region(&mut state, region);
        super::ecr_images::Snapshot {
            account: state.account.clone(),
            repository: state.repositories.get(name).cloned(),
            epoch_ms: state.epoch_ms,
            now_ms: shared.clock.now_ms(),
        }
    };
    let now = snapshot.now_ms;
    let outcome = super::ecr_images::answer(snapshot, &shared.registry, operation, request).await?;
    let mut state = lock(&shared.state);
    let state = in_region(&mut state, region);
    if outcome.deleted {
        state.forget_repository(name);
    } else if let Some(repository) = state.repositories.get_mut(name) {
        for digest in outcome.seen {
            repository.first_seen_ms.entry(digest).or_insert(now);
        }
        for digest in outcome.gone {
            repository.first_seen_ms.remove(&digest);
        }
    }
    Ok(outcome.answer)
}

/// Throttling, server errors and latency from the fault file.
async fn injected_fault(shared: &Shared, operation: &str) -> Result<(), ApiError> {
    let api = &shared.faults.api;
    if let Some(latency) = api.latency {
        tokio::time::sleep(std::time::Duration::from_millis(latency.0)).await;
    }
    let losing = lock(&shared.lose).get(operation).is_some_and(|left| *left > 0);
    if !losing
        && let Some(left) =
            lock(&shared.throttle_retries).get_mut(operation).filter(|left| **left > 0)
    {
        *left -= 1;
        *lock(&shared.injected).entry("throttled").or_default() += 1;
        return Err(ApiError::throttling());
    }
    if api.throttle > 0.0 || api.server_errors > 0.0 {
        let roll = lock(&shared.random).fraction();
        if roll < api.throttle {
            *lock(&shared.injected).entry("throttled").or_default() += 1;
            return Err(ApiError::throttling());
        }
        if roll < api.throttle + api.server_errors {
            *lock(&shared.injected).entry("server_errors").or_default() += 1;
            return Err(ApiError::server());
        }
    }
    Ok(())
}

fn dispatch(
    state: &mut EcsState,
    service: Service,
    operation: &str,
    request: Request<'_>,
    now: u64,
    registry: &RegistryConfig,
) -> Result<Value, ApiError> {
    match (service, operation) {
        (Service::Ecs, "CreateCluster") => state.create_cluster(request, now),
        (Service::Ecs, "DescribeClusters") => state.describe_clusters(request),
        (Service::Ecs, "CreateService") => state.create_service(request, now),
        (Service::Ecs, "UpdateService") => state.update_service(request, now),
        (Service::Ecs, "DeleteService") => state.delete_service(request, now),
        (Service::Ecs, "DescribeServices") => state.describe_services(request, now),
        (Service::Ecs, "RegisterTaskDefinition") => state.register_task_definition(request, now),
        (Service::Ecs, "DescribeTaskDefinition") => state.describe_task_definition(request),
        (Service::Ecs, "DeregisterTaskDefinition") => {
            state.deregister_task_definition(request, now)
        }
        (Service::Ecs, "DeleteTaskDefinitions") => state.delete_task_definitions(request),
        (Service::Ecs, "ListTaskDefinitions") => state.list_task_definitions(request),
        (Service::Ecs, "ListTaskDefinitionFamilies") => {
            state.list_task_definition_families(request)
        }
        (Service::Ecs, "ListClusters") => state.list_clusters(request),
        (Service::Ecs, "ListServices") => state.list_services(request),
        (Service::Ecs, "ListContainerInstances") => state.list_container_instances(request),
        (Service::Ecs, "ListTasks") => state.list_tasks(request),
        (Service::Ecs, "DescribeTasks") => state.describe_tasks(request, now),
        (Service::Ecs, "StopTask") => state.stop_task(request, now),
        (Service::Ecs, "ListServiceDeployments") => state.list_service_deployments(request),
        (Service::Ecs, "DescribeServiceDeployments") => state.describe_service_deployments(request),
        (Service::Ecs, "DescribeServiceRevisions") => state.describe_service_revisions(request),
        (Service::Ecs, "StopServiceDeployment") => state.stop_service_deployment(request, now),
        (Service::Ecs, "ContinueServiceDeployment") => {
            state.continue_service_deployment(request, now)
        }
        (Service::Ecs, "TagResource") => state.tag_resource(request),
        (Service::Ecs, "UntagResource") => state.untag_resource(request),
        (Service::Ecs, "ListTagsForResource") => state.list_tags_for_resource(request),
        (Service::Ecr, "CreateRepository") => state.create_repository(request, registry, now),
        (Service::Ecr, "DescribeRepositories") => state.describe_repositories(request),
        (Service::Ecr, "GetAuthorizationToken") => Ok(state.get_authorization_token(registry, now)),
        (Service::Ecr, "PutLifecyclePolicy") => state.put_lifecycle_policy(request),
        (Service::Ecr, "GetLifecyclePolicy") => state.get_lifecycle_policy(request, now),
        (Service::Ecr, "TagResource") => state.ecr_tag_resource(request),
        (Service::Ecr, "UntagResource") => state.ecr_untag_resource(request),
        (Service::Ecr, "ListTagsForResource") => state.ecr_list_tags_for_resource(request),
        (Service::Ecs, op) => Err(ApiError::unknown_operation(&format!("{ECS_PREFIX}.{op}"))),
        (Service::Ecr, op) => Err(ApiError::unknown_operation(&format!("{ECR_PREFIX}.{op}"))),
        (Service::Elbv2, op) => dispatch_elbv2(state, op, request, now),
    }
}

fn dispatch_elbv2(
    state: &mut EcsState,
    action: &str,
    request: Request<'_>,
    now: u64,
) -> Result<Value, ApiError> {
    match action {
        "CreateLoadBalancer" => state.create_load_balancer(request, now),
        "DescribeLoadBalancers" => state.describe_load_balancers(request),
        "DeleteLoadBalancer" => state.delete_load_balancer(request),
        "CreateTargetGroup" => state.create_target_group(request),
        "DescribeTargetGroups" => state.describe_target_groups(request),
        "ModifyTargetGroup" => state.modify_target_group(request),
        "DeleteTargetGroup" => state.delete_target_group(request),
        "DescribeTargetGroupAttributes" => state.describe_target_group_attributes(request),
        "ModifyTargetGroupAttributes" => state.modify_target_group_attributes(request),
        "CreateListener" => state.create_listener(request),
        "DescribeListeners" => state.describe_listeners(request),
        "ModifyListener" => state.modify_listener(request),
        "DeleteListener" => state.delete_listener(request),
        "CreateRule" => state.create_rule(request),
        "DescribeRules" => state.describe_rules(request),
        "ModifyRule" => state.modify_rule(request),
        "DeleteRule" => state.delete_rule(request),
        "RegisterTargets" => state.register_targets(request, now),
        "DeregisterTargets" => state.deregister_targets(request, now),
        "DescribeTargetHealth" => state.describe_target_health(request, now),
        "AddTags" => state.add_tags(request),
        "RemoveTags" => state.remove_tags(request),
        "DescribeTags" => state.describe_tags(request),
        _ => Err(ApiError::with_kind(
            "InvalidAction",
            format!("The local ECS does not serve the Elastic Load Balancing action {action}."),
        )),
    }
}
