//! Running a pipeline: first every refusal (the Deployfile's values, gate scripts, the
//! live state read once and resolved — a missing service, another deployment in progress,
//! a service left FAILED, a rollout that cannot progress), so exit 2 always means nothing
//! was changed; then the steps in order, each executing exactly its entry of the change
//! set (`resolve.rs`, the function `ferry plan` prints), resolved again as outputs become
//! known. ECS is reached only through `aws::Ecs`; time through the `Clock` (real time on
//! AWS, the local ECS's clock locally). `runner/writes.rs` holds the writes (`register`,
//! `update`, lost answers read back), `images.rs` the image steps, `gates.rs` the gates,
//! `watch.rs` judges the rollout, `recovery.rs` rolls back and cleans up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::change::{ChangeSet, StepChange, UpdateAction};
use super::event::{Event, Sink, Verdict};
use super::live::{Live, read_live};
use super::plan::differences;
use super::resolve::{Options, resolve};
use super::verdict::{Anchor, Failure};
use crate::aws::{AwsError, Ecs, ServiceRequest};
use crate::eval::{Outputs, PlannedStep, RegisterStep, Settings, Workspace, evaluate};
use crate::local::clock::Clock;
use crate::syntax::Deployfile;

mod writes;

pub(super) use writes::settings_applied;

/// Time between looks at a rollout; doubled (up to a minute) while calls fail.
pub(super) const POLL_MS: u64 = 5_000;
/// How long to wait for another deployment with `--wait-for-lock`.
const LOCK_WAIT_MS: u64 = 60 * 60_000;

/// How to run.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Set by Ctrl-C or SIGTERM; the run stops at the next safe point.
    pub interrupted: Arc<AtomicBool>,
    pub allow_dirty: bool,
    pub wait_for_lock: bool,
    /// `--redeploy`: start a deployment even of the revision a service runs (a service
    /// left FAILED, a re-pushed tag).
    pub redeploy: bool,
    /// `aws` or `local`, for the events.
    pub target: String,
    /// The Deployfile's directory: `file(…)` paths and build contexts are relative to it.
    pub base_dir: std::path::PathBuf,
    /// The ECR client, for `push` to `ecr(…)`.
    pub ecr: Option<crate::aws::Ecr>,
    /// Tasks the cluster has room for, where known (the local ECS's `--capacity`).
    pub capacity: Option<u32>,
    /// `--plan`: the change set of `ferry plan --out`; the run refuses when it now
    /// resolves otherwise.
    pub expected: Option<ChangeSet>,
    /// `--show-values`: events print sensitive values as they are.
    pub show_values: bool,
}

/// The outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub verdict: Verdict,
    pub reason: String,
}

/// What a failed step says.
#[derive(Debug)]
pub(super) enum StepError {
    /// The step cannot go on; nothing of it was written.
    Refused(String),
    /// A call failed; the service may be mid-change.
    Aws(AwsError),
    /// The rollout failed; `on failure` runs.
    Deployment {
        service: String,
        failure: Failure,
    },
    Interrupted,
}

impl From<AwsError> for StepError {
    fn from(error: AwsError) -> Self {
        if error.is_interrupted() { StepError::Interrupted } else { StepError::Aws(error) }
    }
}

/// One run of a pipeline.
pub struct Runner<'a> {
    pub file: &'a Deployfile,
    pub settings: Settings,
    pub workspace: &'a Workspace,
    pub ecs: Ecs,
    pub clock: Clock,
    pub sink: &'a mut dyn Sink,
    pub interrupted: Arc<AtomicBool>,
    pub options: RunOptions,
    pub(super) outputs: Outputs,
    /// The live state, read once before the first write.
    pub(super) live: Live,
    /// The anchor of each update step that started (or resumed) a deployment.
    pub(super) anchors: BTreeMap<String, (String, Anchor)>,
    /// Update steps that changed settings only: the cluster and the call.
    pub(super) scaled: BTreeMap<String, (String, ServiceRequest)>,
    /// Revisions each register step made.
    pub(super) registered: Vec<(RegisterStep, String)>,
    /// The revisions the change set deregisters after success (`keep`).
    pub(super) deregister: Vec<String>,
    /// What this run wrote (registrations, services created or updated), for a verdict
    /// after a failure.
    pub(super) writes: Vec<String>,
    /// Failures seen, by update step.
    pub(super) failures: BTreeMap<String, Failure>,
    /// What was verified, by update step, for the final line.
    pub(super) verified: Vec<String>,
    /// Services that already ran their revision with their settings.
    pub(super) unchanged: Vec<String>,
    /// The Docker engine, connected when a `build` step first needs it.
    pub(super) docker: Option<crate::docker::DockerEngine>,
    /// Built images by `build` step: `(image id, tags set by `tag`)`.
    pub(super) images: BTreeMap<String, (String, Vec<String>)>,
    /// The network gates use, made when a gate first needs it.
    pub(super) network: Option<Arc<crate::gates::network::Network>>,
    /// What gates printed so far, against the run's limits.
    pub(super) gate_output: super::gates::GateOutput,
    /// The sensitive values every event is masked with (none with `--show-values`):
    /// the Deployfile's, and those of the revisions the change set compares.
    pub(super) mask: crate::sensitive::Mask,
}

impl<'a> Runner<'a> {
    #[must_use]
    pub fn new(
        file: &'a Deployfile,
        settings: Settings,
        workspace: &'a Workspace,
        ecs: Ecs,
        clock: Clock,
        sink: &'a mut dyn Sink,
        options: RunOptions,
    ) -> Self {
        Self {
            file,
            settings,
            workspace,
            // Ctrl-C cuts even a call that hangs.
            ecs: ecs.interruptible(Arc::clone(&options.interrupted)),
            clock,
            sink,
            interrupted: Arc::clone(&options.interrupted),
            options,
            outputs: Outputs::new(),
            live: Live::default(),
            anchors: BTreeMap::new(),
            scaled: BTreeMap::new(),
            registered: Vec::new(),
            deregister: Vec::new(),
            writes: Vec::new(),
            failures: BTreeMap::new(),
            verified: Vec::new(),
            unchanged: Vec::new(),
            docker: None,
            images: BTreeMap::new(),
            network: None,
            gate_output: super::gates::GateOutput::default(),
            mask: crate::sensitive::Mask::none(),
        }
    }

    pub(super) fn emit(&mut self, event: &Event) {
        if self.mask.is_empty() {
            self.sink.event(event);
        } else {
            self.sink.event(&event.masked(&self.mask));
        }
    }

    /// Adds the sensitive values of the Deployfile and of `changes` to the mask.
    pub(super) fn learn_sensitive(&mut self, changes: &ChangeSet) {
        if self.options.show_values {
            return;
        }
        let mask = super::plan::sensitive_mask(self.file, &self.settings, self.workspace, changes);
        // What earlier resolutions compared stays masked.
        self.mask.extend(mask.values().iter().cloned());
    }

    /// Notes a write call about to be sent: until it answers, the run may have written it.
    fn sending(&mut self, call: &str) {
        self.writes.push(format!("{call} (sent; its answer was not confirmed)"));
    }

    /// The last write call answered, or was read back: it is written.
    fn written(&mut self, what: String) {
        self.writes.pop();
        self.writes.push(what);
    }

    /// The last write call was refused (an answer came): nothing of it was written.
    fn refused_write(&mut self, error: AwsError) -> StepError {
        self.writes.pop();
        StepError::from(error)
    }

    /// Waits `virtual_ms` on the clock (a manual clock is moved forward instead); Ctrl-C
    /// ends the wait.
    pub(super) async fn sleep(&self, virtual_ms: u64) -> Result<(), StepError> {
        if self.clock.is_manual() {
            if self.interrupted.load(Ordering::Relaxed) {
                return Err(StepError::Interrupted);
            }
            self.clock.advance(virtual_ms);
            tokio::task::yield_now().await;
            return Ok(());
        }
        let deadline = self.clock.now_ms() + virtual_ms;
        while self.clock.now_ms() < deadline {
            if self.interrupted.load(Ordering::Relaxed) {
                return Err(StepError::Interrupted);
            }
            let left = deadline.saturating_sub(self.clock.now_ms());
            tokio::time::sleep(
                self.clock.real_duration(left.min(1_000)).max(std::time::Duration::from_millis(5)),
            )
            .await;
        }
        Ok(())
    }

    /// The real instant `virtual_ms` from now, a little past it (a last look may still be
    /// answered); none on a manual clock, where waiting moves time.
    pub(super) fn real_deadline(&self, virtual_ms: u64) -> Option<std::time::Instant> {
        (!self.clock.is_manual()).then(|| {
            std::time::Instant::now()
                + self.clock.real_duration(virtual_ms)
                + std::time::Duration::from_secs(2)
        })
    }

    /// Now on the endpoint's clock, in epoch milliseconds (task and event timestamps).
    pub(super) fn epoch_now_ms(&self) -> i64 {
        i64::try_from(self.clock.epoch_ms() + self.clock.now_ms()).unwrap_or(i64::MAX)
    }

    fn resolve_options(&self) -> Options {
        Options {
            cluster: self.settings.cluster.clone(),
            redeploy: self.options.redeploy,
            client_token: Some(client_token(self.epoch_now_ms())),
        }
    }

    /// The change set now: the steps evaluated with the outputs so far, against the live
    /// state read before the first write.
    fn changes(&self) -> Result<ChangeSet, StepError> {
        let steps = evaluate(self.file, &self.settings, self.workspace, &self.outputs)
            .map_err(|e| StepError::Refused(eval_reason(&e)))?;
        Ok(resolve(&steps, &self.live, &self.outputs, &self.resolve_options()))
    }

    /// Runs every step, then `on failure` if one failed; returns the verdict.
    pub async fn run(self) -> RunOutcome {
        // The run's state machine is large: it lives on the heap, not in callers' futures.
        Box::pin(self.run_steps()).await
    }

    async fn run_steps(mut self) -> RunOutcome {
        let step_count = self
            .file
            .items
            .iter()
            .filter(|item| matches!(item, crate::syntax::Item::Step(_)))
            .count();
        self.learn_sensitive(&ChangeSet::default());
        self.emit(&Event::RunStarted {
            environment: self.settings.name.clone(),
            target: self.options.target.clone(),
            steps: step_count,
        });
        if let Some(git) = &self.workspace.git
            && git.dirty
            && !self.options.allow_dirty
        {
            return self.finish(
                Verdict::InvalidInput,
                "the work tree has uncommitted changes; commit them, or pass --allow-dirty (the \
                 version then carries `-dirty`); nothing was changed"
                    .to_owned(),
            );
        }
        let changes = match self.preflight().await {
            Ok(changes) => changes,
            Err(outcome) => return outcome,
        };
        for planned in changes.steps {
            let kind = planned.kind().to_owned();
            let name = planned.name().to_owned();
            self.emit(&Event::StepStarted { step: name.clone(), kind: kind.clone() });
            match self.step(&name, &kind).await {
                Ok(outcome) => self.emit(&Event::StepFinished { step: name, kind, outcome }),
                Err(StepError::Refused(reason)) => {
                    self.emit(&Event::StepFinished {
                        step: name.clone(),
                        kind: kind.clone(),
                        outcome: "refused".to_owned(),
                    });
                    if self.writes.is_empty() {
                        return self.finish(
                            Verdict::InvalidInput,
                            format!("{reason}; nothing was changed"),
                        );
                    }
                    let reason = format!("`{kind} {name}`: {reason}");
                    return self.stopped_after_writes(reason).await;
                }
                Err(StepError::Interrupted) => {
                    return self.interrupted_finish(&kind, &name).await;
                }
                Err(StepError::Aws(error)) => {
                    self.emit(&Event::StepFinished {
                        step: name,
                        kind,
                        outcome: "failed".to_owned(),
                    });
                    let reason = format!("{error}; {}", error.help());
                    if self.writes.is_empty() {
                        return self.finish(
                            Verdict::InvalidInput,
                            format!("{reason}; nothing was changed"),
                        );
                    }
                    return self.on_failure(reason).await;
                }
                Err(StepError::Deployment { service, failure }) => {
                    let reason = failure.describe();
                    let deployment_id = self
                        .anchors
                        .get(&name)
                        .map(|(_, a)| a.deployment_id.clone())
                        .unwrap_or_default();
                    self.emit(&Event::DeploymentFailed {
                        service: service.clone(),
                        deployment_id,
                        reason: reason.clone(),
                    });
                    self.failures.insert(name.clone(), failure);
                    self.emit(&Event::StepFinished {
                        step: name,
                        kind,
                        outcome: "failed".to_owned(),
                    });
                    return self.on_failure(format!("`{service}`: {reason}")).await;
                }
            }
        }
        if let Err(error) = self.cleanup().await {
            self.emit(&Event::Warning { message: format!("cleanup: {error}") });
        }
        let unchanged = self.unchanged.join(", ");
        let reason = match (self.verified.is_empty(), unchanged.is_empty()) {
            (true, true) => "nothing to deploy".to_owned(),
            (true, false) => format!("nothing to deploy: {unchanged} with these settings"),
            (false, true) => self.verified.join("; "),
            (false, false) => format!("{}; unchanged: {unchanged}", self.verified.join("; ")),
        };
        self.finish(Verdict::Success, reason)
    }

    /// Everything that can refuse the run, before anything is written: the Deployfile's
    /// values, the gate scripts, and the change set against the live state (waiting out
    /// another deployment with `--wait-for-lock`).
    async fn preflight(&mut self) -> Result<ChangeSet, RunOutcome> {
        let steps = match evaluate(self.file, &self.settings, self.workspace, &Outputs::new()) {
            Ok(steps) => steps,
            Err(error) => {
                let reason = format!("{}; nothing was changed", eval_reason(&error));
                return Err(self.finish(Verdict::InvalidInput, reason));
            }
        };
        let started = self.clock.now_ms();
        let mut waiting = false;
        loop {
            let live = match read_live(
                &steps,
                self.settings.cluster.as_ref(),
                &self.ecs,
                &self.options.base_dir,
                self.options.capacity,
            )
            .await
            {
                Ok(live) => live,
                Err(error) if error.is_interrupted() => {
                    let reason = "interrupted while reading the live state; nothing was changed";
                    return Err(self.finish(Verdict::Interrupted, reason.to_owned()));
                }
                Err(error) => {
                    let reason = format!("{error}; {}; nothing was changed", error.help());
                    return Err(self.finish(Verdict::InvalidInput, reason));
                }
            };
            let changes = resolve(&steps, &live, &Outputs::new(), &self.resolve_options());
            self.live = live;
            self.learn_sensitive(&changes);
            let refusals = changes.refusals();
            if !refusals.is_empty() {
                let busy: Vec<_> = refusals.iter().filter(|r| r.busy).collect();
                if self.options.wait_for_lock && busy.len() == refusals.len() {
                    if self.clock.now_ms() - started > LOCK_WAIT_MS {
                        return Err(self.finish(
                            Verdict::InvalidInput,
                            format!(
                                "{}: still busy after an hour; nothing was changed",
                                busy[0].step
                            ),
                        ));
                    }
                    if !waiting {
                        waiting = true;
                        for change in &changes.steps {
                            if let StepChange::Update(update) = change
                                && matches!(&update.action, UpdateAction::Refuse(r) if r.busy)
                            {
                                let deployments = self
                                    .live
                                    .service(&update.cluster, &update.service)
                                    .map_or(0, |s| s.deployments.len());
                                self.emit(&Event::WaitingForLock {
                                    service: update.service.clone(),
                                    deployments,
                                });
                            }
                        }
                    }
                    if self.sleep(POLL_MS).await.is_err() {
                        return Err(self.finish(
                            Verdict::Interrupted,
                            "interrupted while waiting for another deployment; nothing was changed"
                                .to_owned(),
                        ));
                    }
                    continue;
                }
                let reasons: Vec<String> =
                    refusals.iter().map(|r| format!("{}: {}", r.step, r.reason)).collect();
                return Err(self.finish(
                    Verdict::InvalidInput,
                    format!("{}; nothing was changed", reasons.join("; ")),
                ));
            }
            if let Some(expected) = &self.options.expected {
                let drift = differences(expected, &changes, &self.mask);
                if !drift.is_empty() {
                    return Err(self.finish(
                        Verdict::InvalidInput,
                        format!(
                            "the run would do otherwise than the plan: {}; nothing was changed \
                             (make a new plan with `ferry plan --out`)",
                            drift.join("; ")
                        ),
                    ));
                }
            }
            return Ok(changes);
        }
    }

    /// Runs one step of the change set, resolved again with the outputs so far.
    async fn step(&mut self, name: &str, kind: &str) -> Result<String, StepError> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(StepError::Interrupted);
        }
        let steps = evaluate(self.file, &self.settings, self.workspace, &self.outputs)
            .map_err(|e| StepError::Refused(eval_reason(&e)))?;
        let changes = resolve(&steps, &self.live, &self.outputs, &self.resolve_options());
        self.learn_sensitive(&changes);
        let planned = steps.iter().find(|s| s.name() == name && s.kind() == kind);
        let change = changes.step(name, kind).cloned();
        match (planned, change) {
            (Some(PlannedStep::Build { name, fields }), _) => {
                self.build(name, fields).await.map_err(|e| StepError::Refused(e.to_string()))
            }
            (Some(PlannedStep::Tag { name, tags }), _) => {
                self.tag(name, tags).map_err(|e| StepError::Refused(e.to_string()))
            }
            (Some(PlannedStep::Push { name, to }), _) => {
                self.push(name, to).await.map_err(|e| StepError::Refused(e.to_string()))
            }
            (Some(PlannedStep::Register(step)), Some(StepChange::Register(change))) => {
                self.register(step, change).await
            }
            (Some(PlannedStep::Update(_)), Some(StepChange::Update(change))) => {
                self.update(change).await
            }
            (planned, Some(StepChange::Verify(change))) => {
                let spec = match planned {
                    Some(PlannedStep::Verify(verify)) => verify.clone(),
                    _ => {
                        crate::eval::VerifyStep { name: change.step.clone(), ..Default::default() }
                    }
                };
                self.verify(&spec, &change).await
            }
            (Some(PlannedStep::Rollback(rollback)), _) => {
                if !self.anchors.contains_key(&rollback.name) {
                    // This run started no deployment of that service: nothing to undo.
                    return Ok("nothing to roll back".to_owned());
                }
                self.rollback(rollback).await.map(|rolled| match rolled {
                    super::recovery::Rolled::Back => "rolled back".to_owned(),
                    super::recovery::Rolled::LeftAlone(reason) => reason,
                })
            }
            (_, Some(change)) => match change.refusal() {
                Some(refusal) => {
                    Err(StepError::Refused(format!("{}: {}", refusal.step, refusal.reason)))
                }
                None => Ok(String::new()),
            },
            (_, None) => Ok(String::new()),
        }
    }

    pub(super) fn finish(&mut self, verdict: Verdict, reason: String) -> RunOutcome {
        self.emit(&Event::RunFinished {
            verdict,
            exit_code: verdict.exit_code(),
            reason: reason.clone(),
        });
        RunOutcome { verdict, reason }
    }
}

/// CreateService's idempotency token for a run: 36 printable ASCII characters at most.
fn client_token(now_ms: i64) -> String {
    format!("ferry-{}-{now_ms}", std::process::id())
}

pub(super) fn eval_reason(error: &crate::eval::EvalError) -> String {
    match error {
        crate::eval::EvalError::At(diagnostic) => {
            let help = diagnostic.help.as_ref().map_or_else(String::new, |h| format!(" ({h})"));
            format!("{} [{}]{help}", diagnostic.message, diagnostic.code)
        }
        crate::eval::EvalError::Usage { message, help } => {
            format!("{message}{}", help.as_ref().map_or_else(String::new, |h| format!(" ({h})")))
        }
    }
}
