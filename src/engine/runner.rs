//! Running a pipeline: first every refusal (the Deployfile's values, gate scripts, the
//! live state read once and resolved — a missing service, another deployment in progress,
//! a service left FAILED, a rollout that cannot progress), so exit 2 always means nothing
//! was changed; then the steps in order, each executing exactly its entry of the change
//! set (`resolve.rs`, the function `ferry plan` prints), resolved again as outputs become
//! known. ECS is reached only through `aws::Ecs`; time through the `Clock` (real time on
//! AWS, the local ECS's clock locally). `watch.rs` judges the rollout, `recovery.rs` rolls
//! back and cleans up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::change::{ChangeSet, RegisterDecision, StepChange, UpdateAction, UpdateChange};
use super::event::{Event, Sink, Verdict};
use super::live::{Live, read_live};
use super::plan::{differences, evaluate};
use super::resolve::{Options, resolve};
use super::verdict::{Anchor, Failure};
use crate::aws::{AwsError, Ecs, ServiceRequest, ServiceView};
use crate::eval::{Outputs, PlannedStep, RegisterStep, Settings, Value, Workspace};
use crate::local::clock::Clock;
use crate::syntax::Deployfile;

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
    fn changes(&self) -> Result<ChangeSet, String> {
        let steps = evaluate(self.file, &self.settings, self.workspace, &self.outputs)
            .map_err(|e| eval_reason(&e))?;
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
                "the work tree has uncommitted changes; commit them, or pass --allow-dirty (the version then carries `-dirty`); nothing was changed".to_owned(),
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
                    let reason = format!("{error}; {}", next_action(&error));
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
                    let reason = format!("{error}; {}; nothing was changed", next_action(&error));
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
                            "the run would do otherwise than the plan: {}; nothing was changed (make a new plan with `ferry plan --out`)",
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
                self.build(name, fields).await.map_err(StepError::Refused)
            }
            (Some(PlannedStep::Tag { name, tags }), _) => {
                self.tag(name, tags).map_err(StepError::Refused)
            }
            (Some(PlannedStep::Push { name, to }), _) => {
                self.push(name, to).await.map_err(StepError::Refused)
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

    async fn register(
        &mut self,
        step: &RegisterStep,
        change: super::change::RegisterChange,
    ) -> Result<String, StepError> {
        match change.decision {
            RegisterDecision::Reuse { arn, why } => {
                self.emit(&Event::RevisionReused { step: step.name.clone(), arn: arn.clone() });
                self.outputs.insert(
                    step.name.clone(),
                    Value::TaskDefinition { step: step.name.clone(), arn: Some(arn) },
                );
                Ok(format!("reused the current revision ({why})"))
            }
            RegisterDecision::Register => {
                let Some(next) = change.next else {
                    return Err(StepError::Refused("no revision to register".to_owned()));
                };
                self.sending(&format!("RegisterTaskDefinition of family `{}`", next.family));
                let arn = match self.ecs.register(&next).await {
                    Ok(arn) => arn,
                    Err(error) if error.answer_lost() => {
                        self.registered_anyway(&next, error).await?
                    }
                    Err(error) => return Err(self.refused_write(error)),
                };
                self.written(format!("registered {arn}"));
                self.emit(&Event::RevisionRegistered { step: step.name.clone(), arn: arn.clone() });
                self.live.revisions.insert(
                    arn.clone(),
                    Some(super::live::Described { arn: arn.clone(), input: next }),
                );
                self.outputs.insert(
                    step.name.clone(),
                    Value::TaskDefinition { step: step.name.clone(), arn: Some(arn.clone()) },
                );
                self.registered.push((step.clone(), arn));
                self.deregister.extend(change.deregister);
                Ok("registered".to_owned())
            }
            RegisterDecision::AfterPush { images } => Err(StepError::Refused(format!(
                "the image of {} is not known yet",
                images.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ))),
            RegisterDecision::Refuse(refusal) => Err(StepError::Refused(refusal.reason)),
        }
    }

    /// After a RegisterTaskDefinition whose answer was lost: the family's latest revision
    /// read back; when it is the revision we sent, it was registered.
    async fn registered_anyway(
        &mut self,
        next: &crate::aws::RevisionInput,
        error: AwsError,
    ) -> Result<String, StepError> {
        self.sleep(POLL_MS).await?;
        match self.ecs.task_definition(&next.family).await {
            Ok((latest, tags)) => {
                let read = crate::aws::RevisionInput::from_described(&latest, &tags);
                if super::revision_json::same_revision(&read, next) {
                    let arn = latest.task_definition_arn().unwrap_or_default().to_owned();
                    self.emit(&Event::Warning {
                        message: format!(
                            "{error}; the family was read back: {arn} is the revision sent"
                        ),
                    });
                    return Ok(arn);
                }
                // Not ours on top; ours may still be below another client's, so the write
                // stays noted as possibly made.
                let message = format!(
                    "{}; read back, the family's latest revision is not ours",
                    error.message
                );
                Err(StepError::from(AwsError { message, ..error }))
            }
            // Not known either way: the write stays noted as possibly made.
            Err(read) => Err(StepError::from(AwsError {
                message: format!(
                    "{}; the family could not be read back ({}): a revision may have been registered",
                    error.message, read.code
                ),
                ..error
            })),
        }
    }

    async fn update(&mut self, planned: UpdateChange) -> Result<String, StepError> {
        if let UpdateAction::Refuse(refusal) = &planned.action {
            return Err(StepError::Refused(refusal.reason.clone()));
        }
        // The service again, just before writing: if it moved since the live state was
        // read (another run started a deployment), this run stops instead of fighting it.
        let fresh = self.ecs.service(&planned.cluster, &planned.service).await?;
        let change = self.resolve_against(&planned, fresh.clone())?;
        let cluster = change.cluster.clone();
        let mut request = change.request.clone().unwrap_or_default();
        if change.action.deploys() && request.task_definition.is_none() && !request.force {
            request.task_definition = change.task_definition.arn().map(str::to_owned);
        }
        match change.action.clone() {
            UpdateAction::Refuse(refusal) => Err(StepError::Refused(format!(
                "{} (the service changed since ferry read it)",
                refusal.reason
            ))),
            UpdateAction::Nothing => {
                let running = change.running.clone().unwrap_or_default();
                self.unchanged.push(format!("`{}` already runs {running}", change.service));
                self.emit(&Event::NothingToDeploy {
                    service: change.service.clone(),
                    task_definition: running,
                });
                Ok("nothing to deploy".to_owned())
            }
            UpdateAction::Create => {
                self.sending(&format!("CreateCluster `{cluster}`"));
                if let Err(error) = self.ecs.ensure_cluster(&cluster).await {
                    return Err(if error.answer_lost() {
                        error.into()
                    } else {
                        self.refused_write(error)
                    });
                }
                self.written(format!("created cluster `{cluster}` (or found it)"));
                self.sending(&format!("CreateService `{}`", change.service));
                let created = match self.ecs.create_service(&cluster, &request).await {
                    Ok(created) => created,
                    Err(error) if error.answer_lost() => {
                        // The same token makes a second CreateService return the service
                        // the first one made.
                        self.emit(&Event::Warning {
                            message: format!(
                                "{error}; asking again with the same idempotency token"
                            ),
                        });
                        self.ecs.create_service(&cluster, &request).await?
                    }
                    Err(error) => return Err(self.refused_write(error)),
                };
                self.written(format!("created service `{}`", change.service));
                self.emit(&Event::ServiceCreated {
                    service: change.service.clone(),
                    cluster: cluster.clone(),
                });
                self.anchor(&change, &created, None)
            }
            UpdateAction::Deploy => {
                let answer = self.update_service(&change, &request, fresh.as_ref()).await?;
                self.written(format!("updated service `{}`", change.service));
                self.anchor(&change, &answer, fresh.as_ref())
            }
            UpdateAction::Settings => {
                self.update_service(&change, &request, fresh.as_ref()).await?;
                let changes: Vec<String> =
                    change.settings.iter().map(super::change::SettingChange::text).collect();
                self.written(format!(
                    "changed settings of service `{}` ({})",
                    change.service,
                    changes.join("; ")
                ));
                self.emit(&Event::SettingsUpdated { service: change.service.clone(), changes });
                self.scaled.insert(change.step.clone(), (cluster, request));
                Ok("settings changed".to_owned())
            }
            UpdateAction::Resume { deployment_id } => {
                if let Some(request) = change.request.clone() {
                    self.update_service(&change, &request, fresh.as_ref()).await?;
                    self.written(format!("changed settings of service `{}`", change.service));
                }
                let Some(service) = fresh else {
                    return Err(StepError::Refused(format!(
                        "service `{}` is gone",
                        change.service
                    )));
                };
                self.emit(&Event::DeploymentResumed {
                    service: change.service.clone(),
                    deployment_id: deployment_id.clone(),
                    task_definition: change.running.clone().unwrap_or_default(),
                });
                self.anchor(&change, &service, None)
                    .map(|_| "watching the deployment in progress".to_owned())
            }
        }
    }

    /// One UpdateService, noted as sent until it answers; a lost answer is read back.
    async fn update_service(
        &mut self,
        change: &UpdateChange,
        request: &ServiceRequest,
        before: Option<&ServiceView>,
    ) -> Result<ServiceView, StepError> {
        self.sending(&format!("UpdateService `{}`", change.service));
        match self.ecs.update_service(&change.cluster, request).await {
            Ok(answer) => Ok(answer),
            Err(error) if error.answer_lost() => {
                self.read_back(change, request, before, error).await
            }
            Err(error) => Err(self.refused_write(error)),
        }
    }

    /// The update resolved against the service as it is now (`fresh`); refused when the
    /// action differs from the one resolved before the first write.
    fn resolve_against(
        &mut self,
        planned: &UpdateChange,
        fresh: Option<ServiceView>,
    ) -> Result<UpdateChange, StepError> {
        let key = (planned.cluster.clone(), planned.service.clone());
        // A deployment that started in between, or another PRIMARY, makes the plan and the
        // rollback target stale (deployments that finished draining may drop out).
        let then = self.live.service(&planned.cluster, &planned.service);
        let ids: Vec<&str> =
            then.map(|s| s.deployments.iter().map(|d| d.id.as_str()).collect()).unwrap_or_default();
        let primary = |s: Option<&ServiceView>| {
            s.and_then(ServiceView::primary).map(|p| (p.id.clone(), p.task_definition.clone()))
        };
        let moved = primary(then) != primary(fresh.as_ref())
            || fresh
                .as_ref()
                .is_some_and(|s| s.deployments.iter().any(|d| !ids.contains(&d.id.as_str())));
        if moved {
            return Err(StepError::Refused(format!(
                "service `{}` changed since ferry read it: its deployments are now [{}]; run again to plan against it",
                planned.service,
                fresh.as_ref().map_or_else(
                    || "none: the service is gone".to_owned(),
                    |s| s
                        .deployments
                        .iter()
                        .map(|d| format!("{} of {}", d.id, d.task_definition))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            )));
        }
        let before = self.live.services.insert(key.clone(), fresh);
        let changes = self.changes().map_err(StepError::Refused)?;
        let now = match changes.step(&planned.step, "update") {
            Some(StepChange::Update(change)) => change.clone(),
            _ => planned.clone(),
        };
        let same_action =
            std::mem::discriminant(&now.action) == std::mem::discriminant(&planned.action);
        if !same_action {
            let reason = match &now.action {
                UpdateAction::Refuse(refusal) => refusal.reason.clone(),
                _ => format!(
                    "service `{}` changed since ferry read it: the update would now {}",
                    planned.service,
                    super::plan::summary(&StepChange::Update(now.clone()))
                ),
            };
            if let Some(before) = before {
                self.live.services.insert(key, before);
            }
            return Err(StepError::Refused(reason));
        }
        Ok(now)
    }

    /// After a CreateService/UpdateService whose answer was lost: the service read back.
    /// The deployment is ours when it runs our revision and is newer than what was read
    /// before; settings are applied when the service shows them.
    async fn read_back(
        &mut self,
        change: &UpdateChange,
        request: &ServiceRequest,
        before: Option<&ServiceView>,
        error: AwsError,
    ) -> Result<ServiceView, StepError> {
        let known: Vec<String> = before
            .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
            .unwrap_or_default();
        for _ in 0..6 {
            self.sleep(POLL_MS).await?;
            let Ok(Some(service)) = self.ecs.service(&change.cluster, &change.service).await else {
                continue;
            };
            let applied = applied(request, &service, &known);
            if applied {
                self.emit(&Event::Warning {
                    message: format!("{error}; the service was read back: the update was applied"),
                });
                return Ok(service);
            }
            let reason = format!(
                "{}; the service was read back: it runs {} with deployments [{}], unchanged",
                error.message,
                service.primary().map_or("nothing", |p| p.task_definition.as_str()),
                service.deployments.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
            );
            // Read back unchanged: the call was not carried out.
            return Err(self.refused_write(AwsError { message: reason, ..error }));
        }
        Err(StepError::Aws(AwsError {
            message: format!("{}; the service could not be read back", error.message),
            ..error
        }))
    }

    /// Records our deployment: the PRIMARY deployment of the answer, with our revision.
    fn anchor(
        &mut self,
        change: &UpdateChange,
        answer: &ServiceView,
        before: Option<&ServiceView>,
    ) -> Result<String, StepError> {
        let known: Vec<String> = before
            .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
            .unwrap_or_default();
        let ours = match &change.action {
            UpdateAction::Resume { deployment_id } => answer.deployment(deployment_id),
            _ => answer.deployments.iter().find(|d| {
                d.status == "PRIMARY"
                    && !known.contains(&d.id)
                    && change.task_definition.arn().is_none_or(|arn| d.task_definition == arn)
            }),
        };
        let Some(ours) = ours.cloned() else {
            return Err(StepError::Deployment {
                service: change.service.clone(),
                failure: Failure::Vanished {
                    runs: answer
                        .primary()
                        .map(|p| format!("{} (deployment {})", p.task_definition, p.id)),
                },
            });
        };
        // A deployment that started between our read and our UpdateService is another
        // run's: ECS ordered the calls, ours is the later one and replaced it.
        for other in answer
            .deployments
            .iter()
            .filter(|d| d.id != ours.id && !known.contains(&d.id) && before.is_some())
        {
            self.emit(&Event::Warning {
                message: format!(
                    "another deployment of `{}` ({} of {}) started between ferry's read and its UpdateService; ours replaced it, and that run will find its deployment replaced",
                    change.service, other.id, other.task_definition
                ),
            });
        }
        let digests = self
            .registered
            .iter()
            .filter(|(_, registered)| *registered == ours.task_definition)
            .flat_map(|(register, _)| register.containers.iter())
            .filter_map(|c| match &c.image {
                Some(
                    Value::Image { reference: Some(reference), .. } | Value::String(reference),
                ) => {
                    reference.split_once('@').map(|(_, digest)| (c.name.clone(), digest.to_owned()))
                }
                _ => None,
            })
            .collect();
        let health_check = self.live.revision(&ours.task_definition).is_some_and(|d| {
            d.input
                .container_definitions
                .iter()
                .any(|c| c.essential() != Some(false) && c.health_check().is_some())
        });
        let previous = match &change.action {
            UpdateAction::Create => None,
            UpdateAction::Resume { .. } => change.rollback_target.clone(),
            _ => change.running.clone(),
        };
        let anchor = Anchor {
            service: change.service.clone(),
            deployment_id: ours.id.clone(),
            task_definition: ours.task_definition.clone(),
            created_ms: ours.created_ms,
            service_deployment_arn: answer.current_service_deployment.clone(),
            previous_task_definition: previous.clone(),
            rollback_target: change.rollback_target.clone().filter(|t| *t != ours.task_definition),
            digests,
            health_check,
            // Every event of the answer (or of the service before) predates ours, except
            // for a resumed deployment, whose events since its creation are its own.
            known_events: match &change.action {
                UpdateAction::Resume { .. } => Vec::new(),
                _ => answer.events.iter().map(|e| e.id.clone()).collect(),
            },
        };
        if !matches!(change.action, UpdateAction::Resume { .. }) {
            self.emit(&Event::DeploymentStarted {
                service: change.service.clone(),
                deployment_id: ours.id.clone(),
                task_definition: ours.task_definition.clone(),
                previous_task_definition: previous,
            });
        }
        self.anchors.insert(change.step.clone(), (change.cluster.clone(), anchor));
        Ok("deployment started".to_owned())
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

/// Whether the service shows everything `request` asked for: a deployment that was not
/// among `known` (with its revision, when one was sent), and every setting it sent.
pub(super) fn applied(request: &ServiceRequest, service: &ServiceView, known: &[String]) -> bool {
    let deployed = (request.task_definition.is_none() && !request.force)
        || service.deployments.iter().any(|d| {
            !known.contains(&d.id)
                && request.task_definition.as_ref().is_none_or(|td| &d.task_definition == td)
        });
    deployed && settings_applied(request, service)
}

/// Whether the service shows every setting `request` sent.
pub(super) fn settings_applied(request: &ServiceRequest, service: &ServiceView) -> bool {
    let deployment = request.deployment.is_none_or(|d| {
        d.min_healthy.is_none_or(|m| service.min_healthy == Some(m))
            && d.max.is_none_or(|m| service.max == Some(m))
            && d.circuit_breaker.is_none_or(|b| service.circuit_breaker == Some(b))
    });
    deployment
        && request.desired.is_none_or(|d| d == service.desired)
        && request.grace_s.is_none_or(|g| Some(g) == service.grace_s)
}

/// CreateService's idempotency token for a run: 36 printable ASCII characters at most.
fn client_token(now_ms: i64) -> String {
    format!("ferry-{}-{now_ms}", std::process::id())
}

pub(super) fn next_action(error: &AwsError) -> &'static str {
    match error.code.as_str() {
        "AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
            "check the credentials and their permissions"
        }
        "ClusterNotFoundException" => "check the cluster name, or create it",
        "ServiceNotFoundException" | "ServiceNotActiveException" => {
            "check the service name, or set `create = true`"
        }
        "ClientException" | "InvalidParameterException" => {
            "the request was refused: check the values in the Deployfile"
        }
        _ if error.is_transient() => "AWS is busy or unreachable: try again",
        _ => "see the AWS error above",
    }
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
