//! Gates in `verify` (docs/gates.md): compiled before the wait begins, run on their
//! schedule once the rollout serves, through `bake`; the first that fails for good fails
//! the deployment. Each attempt runs on a blocking thread (scripts and HTTP block), with
//! the capabilities of this run: the network, the clock, our deployment's tasks and the
//! service's events as read just before.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::event::Event;
use super::runner::{Runner, StepError};
use super::verdict::{Anchor, Failure};
use crate::aws::Ecs;
use crate::eval::{GateSpec, GateTarget, Value, VerifyStep, Workspace};
use crate::gates::http_gate::{self, Expect};
use crate::gates::network::{Guarded, Network};
use crate::gates::schedule::{Schedule, Standing};
use crate::gates::{
    Capabilities, GateContext, GateScript, HttpClient, Limits, Outcome, Policy, TaskInfo,
};

/// Why a gate cannot be tried: its script is unreadable or does not compile (its
/// diagnostics as data, with the text they point into), or the service cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GateError {
    #[error("gate script `{path}` cannot be read: {reason}")]
    Unreadable { path: String, reason: String },
    /// Rendered plainly where it travels as text (a refusal of the change set); a front
    /// end renders `diagnostics` in its own style.
    #[error(
        "gate script `{path}` does not compile:\n{}",
        crate::render::human_report(path, text, diagnostics, crate::render::HumanStyle::plain())
    )]
    DoesNotCompile { path: String, text: String, diagnostics: Vec<crate::diagnostic::Diagnostic> },
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error("service `{service}` does not exist in cluster `{cluster}`")]
    NoService { cluster: String, service: String },
    #[error("service `{service}` has no PRIMARY deployment")]
    NoPrimary { service: String },
    #[error(transparent)]
    Network(#[from] crate::gates::network::NetworkError),
}

/// The longest message one attempt reports (characters); the rest is cut.
const MAX_MESSAGE: usize = 2_000;
/// The longest report of a broken script (characters).
const MAX_REPORT: usize = 8_000;
/// The log lines gates may print in one run; later ones are dropped, with one notice.
const MAX_RUN_LOG_LINES: usize = 1_000;
/// The text (bytes) gates may print in one run: past it, messages are cut to
/// `SHORT_MESSAGE` and scripts' reports and log lines are dropped.
const MAX_RUN_TEXT: usize = 1_000_000;
const SHORT_MESSAGE: usize = 200;

/// `text` cut to `max` characters, saying how much was cut.
fn clip(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some((at, _)) => {
            let cut = text.len() - at;
            format!("{}… ({cut} more bytes cut)", &text[..at])
        }
    }
}

/// What gates have printed so far in this run (docs/gates.md, "Limits").
#[derive(Debug, Default)]
pub(super) struct GateOutput {
    log_lines: usize,
    text: usize,
    dropped_noted: bool,
}

impl GateOutput {
    fn spend(&mut self, text: &str) -> bool {
        if self.text + text.len() > MAX_RUN_TEXT {
            return false;
        }
        self.text += text.len();
        true
    }

    /// An attempt's message as the run reports it.
    fn message(&mut self, message: String) -> String {
        let message =
            if self.text >= MAX_RUN_TEXT { clip(message, SHORT_MESSAGE) } else { message };
        self.text = self.text.saturating_add(message.len());
        message
    }

    /// Whether a log line (or a report) is printed; the first dropped one is noted.
    fn take_line(&mut self, text: &str) -> Result<(), Option<String>> {
        if self.log_lines < MAX_RUN_LOG_LINES && self.spend(text) {
            self.log_lines += 1;
            return Ok(());
        }
        if self.dropped_noted {
            return Err(None);
        }
        self.dropped_noted = true;
        Err(Some(format!(
            "gates have printed {} log lines and {} KB in this run: further log lines and \
             reports are dropped",
            self.log_lines,
            self.text / 1_000
        )))
    }
}

/// The gate network policy of a `verify` step: the URLs its gates name (targets and
/// parameters), its `allow_hosts` and `allow_link_local`.
#[must_use]
pub(crate) fn network_policy(step: &VerifyStep) -> Policy {
    fn urls<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::String(text) => found.push(text),
            Value::List(items) => items.iter().for_each(|item| urls(item, found)),
            Value::Map(entries) => entries.values().for_each(|item| urls(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for gate in &step.gates {
        if let GateTarget::Http { url } | GateTarget::Probe { url } = &gate.target {
            found.push(url.as_str());
        }
        gate.params.values().for_each(|value| urls(value, &mut found));
    }
    Policy::new(found, &step.allow_hosts, step.allow_link_local)
}

/// What a gate runs.
enum Check {
    Http { url: String, expect: Expect },
    Script(Arc<GateScript>),
}

/// One gate of a `verify` step, with its schedule.
pub(super) struct Gate {
    /// `http(URL)` or `script(PATH)`, for events and reasons.
    pub(super) name: String,
    check: Check,
    params: BTreeMap<String, serde_json::Value>,
    pub(super) schedule: Schedule,
}

fn millis(params: &BTreeMap<String, Value>, key: &str) -> Option<u64> {
    match params.get(key) {
        Some(Value::Duration(ms)) => Some(*ms),
        _ => None,
    }
}

/// `http(URL)` or `script(PATH)`: how events and reasons name a gate.
#[must_use]
pub(crate) fn gate_name(target: &GateTarget) -> String {
    match target {
        GateTarget::Http { url } => format!("http({url})"),
        GateTarget::Script { path } => format!("script({path})"),
        GateTarget::Probe { url } => format!("probe({url})"),
    }
}

/// Compiles one gate: its check, parameters and schedule. The error says why a script
/// cannot be read or does not compile.
fn prepare_gate(spec: &GateSpec, base_dir: &Path, timeout_ms: u64) -> Result<Gate, GateError> {
    let params: BTreeMap<String, serde_json::Value> = spec
        .params
        .iter()
        .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
        .collect();
    let pass = match spec.params.get("pass") {
        Some(Value::Integer(n)) => u32::try_from(*n).ok(),
        _ => None,
    };
    let schedule = Schedule::new(
        millis(&spec.params, "every"),
        pass,
        Some(millis(&spec.params, "within").unwrap_or(timeout_ms)),
    );
    let check = match &spec.target {
        GateTarget::Http { url } | GateTarget::Probe { url } => {
            let text = |key: &str| match spec.params.get(key) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            let expect = Expect {
                status: match spec.params.get("status") {
                    Some(Value::Integer(n)) => u16::try_from(*n).ok(),
                    _ => None,
                },
                body_contains: text("body_contains"),
                max_latency_ms: millis(&spec.params, "max_latency"),
            };
            Check::Http { url: url.clone(), expect }
        }
        GateTarget::Script { path } => {
            let text = crate::gates::stdlib::read(base_dir, path)
                .map_err(|e| GateError::Unreadable { path: path.clone(), reason: e.to_string() })?;
            let script = GateScript::compile(path, &text).map_err(|diagnostics| {
                GateError::DoesNotCompile { path: path.clone(), text: text.clone(), diagnostics }
            })?;
            Check::Script(Arc::new(script))
        }
    };
    Ok(Gate { name: gate_name(&spec.target), check, params, schedule })
}

/// Reads and compiles every gate of a `verify` step: a script that is missing or does not
/// compile refuses the run before its first write.
pub(super) fn check_gates(gates: &[GateSpec], base_dir: &Path) -> Result<(), GateError> {
    for spec in gates.iter().filter(|spec| !matches!(spec.target, GateTarget::Probe { .. })) {
        prepare_gate(spec, base_dir, 0)?;
    }
    Ok(())
}

/// The answer of one attempt, and the rendered report when a script broke (`code`, text),
/// each cut to its limit. Every request passes `policy`, with the attempt's tasks.
async fn attempt(
    check: &Check,
    context: GateContext,
    mut capabilities: Capabilities,
    network: Arc<dyn HttpClient>,
    policy: &Policy,
) -> (Outcome, Option<(String, String)>) {
    let http: Arc<dyn HttpClient> =
        Arc::new(Guarded { network, policy: policy.with_tasks(&capabilities.tasks) });
    capabilities.http = Arc::clone(&http);
    let (mut outcome, report) = attempt_unclipped(check, context, capabilities, http).await;
    outcome.message = clip(outcome.message, MAX_MESSAGE);
    (outcome, report.map(|(code, text)| (code, clip(text, MAX_REPORT))))
}

async fn attempt_unclipped(
    check: &Check,
    context: GateContext,
    capabilities: Capabilities,
    http: Arc<dyn HttpClient>,
) -> (Outcome, Option<(String, String)>) {
    match check {
        Check::Http { url, expect } => {
            let urls = http_gate::targets(url, &capabilities.tasks);
            let expect = expect.clone();
            let outcome =
                tokio::task::spawn_blocking(move || http_gate::attempt_all(&*http, &urls, &expect))
                    .await
                    .unwrap_or_else(|e| Outcome::fail(format!("the attempt failed: {e}")));
            (outcome, None)
        }
        Check::Script(script) => {
            let running = Arc::clone(script);
            let ran = tokio::task::spawn_blocking(move || {
                running.run(&context, &capabilities, Limits::default())
            })
            .await
            .map_err(|e| format!("the attempt failed: {e}"));
            match ran {
                Ok(Ok(outcome)) => (outcome, None),
                // A broken gate cannot vouch for the deployment: it fails for good.
                Ok(Err(error)) => {
                    let report = crate::render::human_report(
                        &script.name,
                        &script.text,
                        &[error.diagnostic(&script.text)],
                        crate::render::HumanStyle::plain(),
                    );
                    let outcome = Outcome {
                        ok: false,
                        message: format!("{} {error}", error.code),
                        fatal: true,
                    };
                    (outcome, Some((error.code.to_string(), report)))
                }
                Err(message) => (Outcome::fail(message), None),
            }
        }
    }
}

/// A deployment's tasks, running and stopped, for `ecs::tasks()` and path URLs; empty
/// when they cannot be read (the attempt then sees none).
async fn task_infos(ecs: &Ecs, cluster: &str, service: &str, deployment_id: &str) -> Vec<TaskInfo> {
    let mut infos: Vec<TaskInfo> = ecs
        .deployment_tasks(cluster, service, deployment_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|t| TaskInfo {
            id: t.short_id().to_owned(),
            last_status: t.last_status,
            health: t.health,
            digests: t.containers.into_iter().filter_map(|(_, _, d)| d).collect(),
            endpoints: t.endpoints,
            private_ip: t.private_ip.unwrap_or_default(),
            ..TaskInfo::default()
        })
        .collect();
    let stopped = ecs.stopped_tasks(cluster, service, deployment_id).await.unwrap_or_default();
    infos.extend(stopped.into_iter().map(|t| {
        TaskInfo {
            id: t.arn.rsplit('/').next().unwrap_or(&t.arn).to_owned(),
            last_status: "STOPPED".to_owned(),
            health: "UNKNOWN".to_owned(),
            stop_code: t.stop_code,
            stopped_reason: t.reason,
            exit_codes: t
                .containers
                .into_iter()
                .filter_map(|(name, code, _)| code.map(|c| (name, i64::from(c))))
                .collect(),
            ..TaskInfo::default()
        }
    }));
    infos
}

/// What one attempt of a gate tried by hand (`:gate` in the REPL) found.
#[derive(Debug)]
pub(crate) struct GateTrial {
    pub name: String,
    /// The deployment the gate was run against (the service's PRIMARY one).
    pub deployment_id: String,
    pub task_definition: String,
    pub tasks: usize,
    pub outcome: Outcome,
    /// What the script logged.
    pub log: Vec<String>,
    /// The rendered report of a script that broke.
    pub error: Option<String>,
}

/// Runs one gate once against a service as it runs now: its PRIMARY deployment's tasks,
/// read with read-only calls, under its step's network `policy`. Nothing is registered,
/// updated or stopped.
pub(crate) async fn try_gate(
    spec: &GateSpec,
    policy: &Policy,
    base_dir: &Path,
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    workspace: &Workspace,
) -> Result<GateTrial, GateError> {
    let gate = prepare_gate(spec, base_dir, 0)?;
    let view = ecs.service(cluster, service).await?.ok_or_else(|| GateError::NoService {
        cluster: cluster.to_owned(),
        service: service.to_owned(),
    })?;
    let primary = (view.primary().cloned())
        .ok_or_else(|| GateError::NoPrimary { service: service.to_owned() })?;
    let tasks = Arc::new(task_infos(ecs, cluster, service, &primary.id).await);
    let network: Arc<dyn HttpClient> =
        Arc::new(Network::new(tokio::runtime::Handle::current(), policy.allow_link_local)?);
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let started = std::time::Instant::now();
    let context = GateContext {
        params: gate.params.clone(),
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        deployment_id: primary.id.clone(),
        task_definition_arn: primary.task_definition.clone(),
        images: BTreeMap::new(),
        git_sha: workspace.git.as_ref().map(crate::eval::GitInfo::version).unwrap_or_default(),
        attempt: 1,
        elapsed_ms: 0,
    };
    let capabilities = Capabilities {
        http: Arc::clone(&network),
        clock: Arc::new(move || {
            epoch + u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
        }),
        log: crate::gates::host::LogSink::default(),
        tasks: Arc::clone(&tasks),
        events: Arc::new(view.events.iter().map(|event| event.message.clone()).collect()),
    };
    let log = capabilities.log.clone();
    let (outcome, error) = attempt(&gate.check, context, capabilities, network, policy).await;
    Ok(GateTrial {
        name: gate.name,
        deployment_id: primary.id,
        task_definition: primary.task_definition,
        tasks: tasks.len(),
        outcome,
        log: log
            .take()
            .into_iter()
            .map(|line| match line.level {
                crate::gates::host::LogLevel::Info => line.text,
                crate::gates::host::LogLevel::Warn => format!("warning: {}", line.text),
            })
            .collect(),
        error: error.map(|(_, report)| report),
    })
}

impl Gate {
    /// Passed (and not failed since).
    pub(super) fn passed(&self) -> bool {
        self.schedule.standing == Standing::Passed
    }
}

impl Runner<'_> {
    /// Compiles the gates of a `verify` step; a script that cannot be read or compiled
    /// refuses the step before anything waits on it.
    /// The gates of `gates` that judge production traffic (`on_test_traffic` ones are not).
    pub(super) fn prepare_production_gates(
        &self,
        gates: &[GateSpec],
        timeout_ms: u64,
    ) -> Result<Vec<Gate>, StepError> {
        let production: Vec<GateSpec> =
            gates.iter().filter(|g| !on_test_traffic(g)).cloned().collect();
        self.prepare_gates(&production, timeout_ms)
    }

    /// The gates that judge test traffic (`traffic = test`).
    pub(super) fn prepare_test_gates(
        &self,
        gates: &[GateSpec],
        timeout_ms: u64,
    ) -> Result<Vec<Gate>, StepError> {
        let test: Vec<GateSpec> = gates.iter().filter(|g| on_test_traffic(g)).cloned().collect();
        self.prepare_gates(&test, timeout_ms)
    }

    pub(super) fn prepare_gates(
        &self,
        gates: &[GateSpec],
        timeout_ms: u64,
    ) -> Result<Vec<Gate>, StepError> {
        // Probes are not attempts on a schedule: the watcher runs them (`probe.rs`).
        gates
            .iter()
            .filter(|spec| !matches!(spec.target, GateTarget::Probe { .. }))
            .map(|spec| prepare_gate(spec, &self.options.base_dir, timeout_ms))
            .collect::<Result<_, _>>()
            .map_err(|e| StepError::Refused(e.to_string()))
    }

    /// The network for gates under `policy`, made once (again when a step's
    /// `allow_link_local` differs).
    fn network(&mut self, policy: &Policy) -> Result<Arc<dyn HttpClient>, StepError> {
        if let Some(network) = &self.network
            && network.allows_link_local() == policy.allow_link_local
        {
            return Ok(Arc::clone(network) as Arc<dyn HttpClient>);
        }
        let network = Arc::new(
            Network::new(tokio::runtime::Handle::current(), policy.allow_link_local)
                .map_err(|e| StepError::Refused(e.to_string()))?,
        );
        self.network = Some(Arc::clone(&network));
        Ok(network)
    }

    /// Runs every gate due now; a gate that fails for good fails the deployment.
    pub(super) async fn run_due_gates(
        &mut self,
        gates: &mut [Gate],
        policy: &Policy,
        cluster: &str,
        anchor: &Anchor,
        events: &[String],
    ) -> Result<(), StepError> {
        let now = self.clock.now_ms();
        if !gates.iter().any(|g| g.schedule.due(now)) {
            return Ok(());
        }
        let network = self.network(policy)?;
        let tasks =
            Arc::new(task_infos(&self.ecs, cluster, &anchor.service, &anchor.deployment_id).await);
        let events = Arc::new(events.to_vec());
        let epoch = self.clock.epoch_ms();
        let clock = self.clock.clone();
        for gate in gates.iter_mut() {
            let now = self.clock.now_ms();
            if !gate.schedule.due(now) {
                continue;
            }
            let context = GateContext {
                params: gate.params.clone(),
                cluster: cluster.to_owned(),
                service: anchor.service.clone(),
                deployment_id: anchor.deployment_id.clone(),
                task_definition_arn: anchor.task_definition.clone(),
                images: self.pushed_images(),
                git_sha: self
                    .workspace
                    .git
                    .as_ref()
                    .map(crate::eval::GitInfo::version)
                    .unwrap_or_default(),
                attempt: gate.schedule.attempts + 1,
                elapsed_ms: gate.schedule.elapsed(now),
            };
            let clock = clock.clone();
            let capabilities = Capabilities {
                http: Arc::clone(&network),
                clock: Arc::new(move || epoch + clock.now_ms()),
                log: crate::gates::host::LogSink::default(),
                tasks: Arc::clone(&tasks),
                events: Arc::clone(&events),
            };
            let log = capabilities.log.clone();
            let (mut outcome, error) =
                attempt(&gate.check, context, capabilities, Arc::clone(&network), policy).await;
            if let Some((code, report)) = error {
                match self.gate_output.take_line(&report) {
                    Ok(()) => {
                        self.emit(&Event::GateError { gate: gate.name.clone(), code, report });
                    }
                    Err(notice) => self.note_gate_output_dropped(&gate.name, notice),
                }
            }
            for line in log.take() {
                match self.gate_output.take_line(&line.text) {
                    Ok(()) => self.emit(&Event::GateLog {
                        gate: gate.name.clone(),
                        level: line.level,
                        text: line.text,
                    }),
                    Err(notice) => self.note_gate_output_dropped(&gate.name, notice),
                }
            }
            outcome.message = self.gate_output.message(outcome.message);
            let was_passed = gate.passed();
            let attempt = gate.schedule.attempts + 1;
            self.emit(&Event::GateAttempt {
                service: anchor.service.clone(),
                gate: gate.name.clone(),
                attempt,
                ok: outcome.ok,
                message: outcome.message.clone(),
            });
            match gate.schedule.record(&outcome, self.clock.now_ms()).clone() {
                Standing::Passed if !was_passed => self.emit(&Event::GatePassed {
                    service: anchor.service.clone(),
                    gate: gate.name.clone(),
                }),
                Standing::Failed { reason } => {
                    return Err(self.gate_failed(anchor, &gate.name, reason));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Makes every request of `probes` that is due (docs/gates.md "Zero downtime"): a
    /// failed one is reported as a gate attempt, and fails the deployment once the probe's
    /// `max_errors` are spent.
    pub(super) async fn run_due_probes(
        &mut self,
        probes: &mut [super::probe::Probe],
        policy: &Policy,
        anchor: &Anchor,
    ) -> Result<(), StepError> {
        if !probes.iter().any(|p| p.next_ms <= self.clock.now_ms()) {
            return Ok(());
        }
        let network = self.network(policy)?;
        for probe in probes.iter_mut() {
            if probe.next_ms > self.clock.now_ms() {
                continue;
            }
            let http: Arc<dyn HttpClient> =
                Arc::new(Guarded { network: Arc::clone(&network), policy: policy.clone() });
            let (url, expect) = (probe.url.clone(), probe.expect.clone());
            let started = std::time::Instant::now();
            let outcome =
                tokio::task::spawn_blocking(move || http_gate::attempt(&*http, &url, &expect))
                    .await
                    .unwrap_or_else(|e| Outcome::fail(format!("the request failed: {e}")));
            let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let failure = (!outcome.ok).then(|| clip(outcome.message.clone(), MAX_MESSAGE));
            if let Some(message) = &failure {
                self.emit(&Event::GateAttempt {
                    service: anchor.service.clone(),
                    gate: probe.name.clone(),
                    attempt: u32::try_from(probe.figures().0 + 1).unwrap_or(u32::MAX),
                    ok: false,
                    message: message.clone(),
                });
            }
            if let Err(reason) = probe.record(failure, latency, self.clock.now_ms()) {
                let name = probe.name.clone();
                return Err(self.gate_failed(anchor, &name, reason));
            }
        }
        Ok(())
    }

    fn note_gate_output_dropped(&mut self, gate: &str, notice: Option<String>) {
        if let Some(text) = notice {
            self.emit(&Event::GateLog {
                gate: gate.to_owned(),
                level: crate::gates::host::LogLevel::Warn,
                text,
            });
        }
    }

    /// The failure of `gate`, reported.
    pub(super) fn gate_failed(&mut self, anchor: &Anchor, gate: &str, reason: String) -> StepError {
        self.emit(&Event::GateFailed {
            service: anchor.service.clone(),
            gate: gate.to_owned(),
            reason: reason.clone(),
        });
        StepError::Deployment {
            service: anchor.service.clone(),
            failure: Failure::GateFailed { gate: gate.to_owned(), reason },
        }
    }

    /// `repository@sha256:…` by `build` step, for `ctx.images`.
    fn pushed_images(&self) -> BTreeMap<String, String> {
        self.outputs
            .iter()
            .filter_map(|(step, value)| match value {
                Value::Image { reference: Some(reference), .. } => {
                    Some((step.clone(), reference.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// Whether a gate judges test traffic (`traffic = test`): run while ferry holds a
/// blue/green deployment at POST_TEST_TRAFFIC_SHIFT.
#[must_use]
pub(super) fn on_test_traffic(gate: &GateSpec) -> bool {
    gate.params.get("traffic").and_then(Value::text).is_some_and(|t| t.eq_ignore_ascii_case("test"))
}
