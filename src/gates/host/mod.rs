//! Host functions for gate scripts, one namespace a file, each registered with the
//! capability it needs; nothing reaches the network, the clock or the service except
//! through a `Capabilities` value the caller builds.

mod ecs;
mod http;
mod json;
mod log;
mod time;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::Engine;

use super::contract::TaskInfo;
use super::sandbox::Deadline;

/// One HTTP request of a gate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub elapsed_ms: u64,
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpFailure {
    /// The gate network policy does not allow it: the message names the host and the
    /// setting that would.
    #[error("{0}")]
    Refused(String),
    /// The request could not be built or sent, or its answer read.
    #[error("{0}")]
    Failed(String),
    #[error("no answer within {ms} ms")]
    Timeout { ms: u128 },
    /// `ferry check` compiles scripts and runs nothing.
    #[error("no network here: {method} {url}")]
    NoNetwork { method: String, url: String },
}

/// The network, as gates may use it: one blocking request with a timeout.
pub trait HttpClient: Send + Sync {
    fn send(&self, request: &HttpRequest, timeout: Duration) -> Result<HttpAnswer, HttpFailure>;
}

/// No network (`ferry check` compiles scripts; nothing runs).
pub(crate) struct NoNetwork;

impl HttpClient for NoNetwork {
    fn send(&self, request: &HttpRequest, _: Duration) -> Result<HttpAnswer, HttpFailure> {
        Err(HttpFailure::NoNetwork { method: request.method.clone(), url: request.url.clone() })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warn,
}

/// A line a gate logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub level: LogLevel,
    pub text: String,
}

/// Where a gate's `log::*` and `print` lines go; the runner reports them.
#[derive(Clone, Debug, Default)]
pub struct LogSink(Arc<Mutex<Vec<LogLine>>>);

/// A gate's log lines are bounded, as everything else it makes.
const MAX_LOG_LINES: usize = 100;

impl LogSink {
    pub fn write(&self, level: LogLevel, text: &str) {
        let mut lines = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines.len() < MAX_LOG_LINES {
            lines.push(LogLine { level, text: text.chars().take(1_000).collect() });
        }
    }

    /// The lines written so far, which are then forgotten.
    #[must_use]
    pub fn take(&self) -> Vec<LogLine> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// What the host functions may reach.
#[derive(Clone)]
pub struct Capabilities {
    pub http: Arc<dyn HttpClient>,
    /// Epoch milliseconds now.
    pub clock: Arc<dyn Fn() -> u64 + Send + Sync>,
    pub log: LogSink,
    /// Our deployment's tasks and the service's recent events (newest first), as read
    /// before this attempt.
    pub tasks: Arc<Vec<TaskInfo>>,
    pub events: Arc<Vec<String>>,
}

impl Capabilities {
    /// Nothing to reach: for compiling and checking scripts.
    #[must_use]
    pub fn none() -> Self {
        Self {
            http: Arc::new(NoNetwork),
            clock: Arc::new(|| 0),
            log: LogSink::default(),
            tasks: Arc::new(Vec::new()),
            events: Arc::new(Vec::new()),
        }
    }
}

/// Every host function, by namespace, for `ferry check`'s unknown-function check.
pub(crate) const FUNCTIONS: &[(&str, &[&str])] = &[
    ("http", &["get", "post"]),
    ("json", &["parse", "stringify"]),
    ("ecs", &["tasks", "events"]),
    ("log", &["info", "warn"]),
    ("time", &["now"]),
];

pub(super) fn register(engine: &mut Engine, capabilities: &Capabilities, deadline: &Deadline) {
    engine.register_static_module(
        "http",
        http::module(Arc::clone(&capabilities.http), deadline.clone()).into(),
    );
    engine.register_static_module("json", json::module().into());
    engine.register_static_module(
        "ecs",
        ecs::module(Arc::clone(&capabilities.tasks), Arc::clone(&capabilities.events)).into(),
    );
    engine.register_static_module("log", log::module(capabilities.log.clone()).into());
    engine.register_static_module("time", time::module(Arc::clone(&capabilities.clock)).into());
}
