//! Gates in `verify` (docs/gates.md): compiled before the wait begins, run on their
//! schedule once the rollout serves, through `bake`; the first that fails for good fails
//! the deployment. Each attempt runs on a blocking thread (scripts and HTTP block), with
//! the capabilities of this run: the network, the clock, our deployment's tasks and the
//! service's events as read just before.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::event::Event;
use super::runner::{Runner, StepError};
use super::verdict::{Anchor, Failure};
use crate::eval::{GateSpec, GateTarget, Value};
use crate::gates::http_gate::{self, Expect};
use crate::gates::schedule::{Schedule, Standing};
use crate::gates::{Capabilities, GateContext, GateScript, HttpClient, Limits, Outcome, TaskInfo};

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

impl Gate {
    /// Passed (and not failed since).
    pub(super) fn passed(&self) -> bool {
        self.schedule.standing == Standing::Passed
    }
}

impl Runner<'_> {
    /// Compiles the gates of a `verify` step; a script that cannot be read or compiled
    /// refuses the step before anything waits on it.
    pub(super) fn prepare_gates(
        &self,
        gates: &[GateSpec],
        timeout_ms: u64,
    ) -> Result<Vec<Gate>, StepError> {
        let mut prepared = Vec::new();
        for spec in gates {
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
            let (name, check) = match &spec.target {
                GateTarget::Http { url } => {
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
                    (format!("http({url})"), Check::Http { url: url.clone(), expect })
                }
                GateTarget::Script { path } => {
                    let text =
                        crate::gates::stdlib::read(&self.options.base_dir, path).map_err(|e| {
                            StepError::Refused(format!("gate script `{path}` cannot be read: {e}"))
                        })?;
                    let script = GateScript::compile(path, &text).map_err(|diagnostics| {
                        let report = crate::report::human_report(
                            path,
                            &text,
                            &diagnostics,
                            crate::report::HumanStyle::plain(),
                        );
                        StepError::Refused(format!(
                            "gate script `{path}` does not compile:\n{report}"
                        ))
                    })?;
                    (format!("script({path})"), Check::Script(Arc::new(script)))
                }
            };
            prepared.push(Gate { name, check, params, schedule });
        }
        Ok(prepared)
    }

    fn network(&mut self) -> Result<Arc<dyn HttpClient>, StepError> {
        if let Some(network) = &self.network {
            return Ok(Arc::clone(network));
        }
        let network: Arc<dyn HttpClient> = Arc::new(
            crate::gates::network::Network::new(tokio::runtime::Handle::current())
                .map_err(StepError::Refused)?,
        );
        self.network = Some(Arc::clone(&network));
        Ok(network)
    }

    /// Runs every gate due now; a gate that fails for good fails the deployment.
    pub(super) async fn run_due_gates(
        &mut self,
        gates: &mut [Gate],
        cluster: &str,
        anchor: &Anchor,
        events: &[String],
    ) -> Result<(), StepError> {
        let now = self.clock.now_ms();
        if !gates.iter().any(|g| g.schedule.due(now)) {
            return Ok(());
        }
        let network = self.network()?;
        let tasks = Arc::new(self.task_infos(cluster, anchor).await);
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
            let outcome = match &gate.check {
                Check::Http { url, expect } => {
                    let urls = http_gate::targets(url, &tasks);
                    let (expect, http) = (expect.clone(), Arc::clone(&network));
                    tokio::task::spawn_blocking(move || {
                        http_gate::attempt_all(&*http, &urls, &expect)
                    })
                    .await
                    .unwrap_or_else(|e| Outcome::fail(format!("the attempt failed: {e}")))
                }
                Check::Script(script) => {
                    let running = Arc::clone(script);
                    let ran = tokio::task::spawn_blocking(move || {
                        running.run(&context, &capabilities, Limits::default())
                    })
                    .await
                    .map_err(|e| format!("the attempt failed: {e}"));
                    match ran {
                        Ok(Ok(outcome)) => outcome,
                        // A broken gate cannot vouch for the deployment: it fails for good.
                        Ok(Err(error)) => {
                            let report = crate::report::human_report(
                                &script.name,
                                &script.text,
                                &[error.diagnostic(&script.text)],
                                crate::report::HumanStyle::plain(),
                            );
                            self.emit(&Event::GateError {
                                gate: gate.name.clone(),
                                code: error.code.to_string(),
                                report,
                            });
                            Outcome {
                                ok: false,
                                message: format!("{} {error}", error.code),
                                fatal: true,
                            }
                        }
                        Err(message) => Outcome::fail(message),
                    }
                }
            };
            for line in log.take() {
                self.emit(&Event::GateLog {
                    gate: gate.name.clone(),
                    level: line.level,
                    text: line.text,
                });
            }
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

    /// Our deployment's tasks, running and stopped, for `ecs::tasks()`; empty when they
    /// cannot be read (the attempt then sees none).
    async fn task_infos(&self, cluster: &str, anchor: &Anchor) -> Vec<TaskInfo> {
        let mut infos: Vec<TaskInfo> = self
            .ecs
            .deployment_tasks(cluster, &anchor.service, &anchor.deployment_id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| TaskInfo {
                id: t.arn.rsplit('/').next().unwrap_or(&t.arn).to_owned(),
                last_status: t.last_status,
                health: t.health,
                digests: t.containers.into_iter().filter_map(|(_, _, d)| d).collect(),
                endpoints: t.endpoints,
                private_ip: t.private_ip.unwrap_or_default(),
                ..TaskInfo::default()
            })
            .collect();
        let stopped = self
            .ecs
            .stopped_tasks(cluster, &anchor.service, &anchor.deployment_id)
            .await
            .unwrap_or_default();
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
