//! Running a pipeline: steps in order, each producing the outputs later steps use, events
//! to the sink, and the verdict of DESIGN "Exit codes". ECS is reached only through
//! `aws::Ecs`; time through the `Clock` (real time on AWS, the local ECS's clock locally).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::event::{Event, Sink, Verdict};
use super::revision::{RevisionInput, next_revision};
use super::verdict::{Anchor, Failure, Standing, check_digests, failed_tasks, judge, settled_on};
use crate::aws::{AwsError, Ecs, ServiceView};
use crate::eval::{
    Evaluator, Outputs, PlannedStep, RegisterStep, RollbackStep, Settings, TaskDefinitionSource,
    UpdateStep, Value, VerifyStep, Workspace, plan_step, step_values,
};
use crate::local::clock::Clock;
use crate::syntax::{Deployfile, Item, Step};

/// The default `verify` timeout.
const DEFAULT_TIMEOUT_MS: u64 = 30 * 60_000;
/// The default `rollback` timeout.
const DEFAULT_ROLLBACK_TIMEOUT_MS: u64 = 15 * 60_000;
/// Time between looks at a rollout; doubled (up to a minute) while calls fail.
const POLL_MS: u64 = 5_000;
/// How long to wait for another deployment with `--wait-for-lock`.
const LOCK_WAIT_MS: u64 = 60 * 60_000;

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Set by Ctrl-C or SIGTERM; the run stops at the next safe point.
    pub interrupted: Arc<AtomicBool>,
    pub allow_dirty: bool,
    pub wait_for_lock: bool,
    /// `aws` or `local`, for the events.
    pub target: String,
    /// The Deployfile's directory: `file(…)` paths and build contexts are relative to it.
    pub base_dir: std::path::PathBuf,
    /// The ECR client, for `push` to `ecr(…)`.
    pub ecr: Option<aws_sdk_ecr::Client>,
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
    /// Nothing was changed; exit 2.
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
        StepError::Aws(error)
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
    /// The anchor of each update step that ran.
    anchors: BTreeMap<String, (String, Anchor)>,
    /// Revisions each register step made, and the families, for cleanup.
    registered: Vec<(RegisterStep, String)>,
    /// Failures seen, by update step.
    failures: BTreeMap<String, Failure>,
    /// Service events that existed before each update step's deployment, not to repeat.
    known_events: BTreeMap<String, Vec<String>>,
    /// The Docker engine, connected when a `build` step first needs it.
    pub(super) docker: Option<crate::docker::DockerEngine>,
    /// Built images by `build` step: `(image id, tags set by `tag`)`.
    pub(super) images: BTreeMap<String, (String, Vec<String>)>,
    /// The network gates use, made when a gate first needs it.
    pub(super) network: Option<Arc<dyn crate::gates::HttpClient>>,
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
            ecs,
            clock,
            sink,
            interrupted: Arc::clone(&options.interrupted),
            options,
            outputs: Outputs::new(),
            anchors: BTreeMap::new(),
            registered: Vec::new(),
            failures: BTreeMap::new(),
            known_events: BTreeMap::new(),
            docker: None,
            images: BTreeMap::new(),
            network: None,
        }
    }

    pub(super) fn emit(&mut self, event: &Event) {
        self.sink.event(event);
    }

    async fn sleep(&self, virtual_ms: u64) -> Result<(), StepError> {
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

    /// Runs every step, then `on failure` if one failed; returns the verdict.
    pub async fn run(mut self) -> RunOutcome {
        let steps: Vec<&Step> = self
            .file
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Step(step) => Some(step),
                _ => None,
            })
            .collect();
        self.emit(&Event::RunStarted {
            environment: self.settings.name.clone(),
            target: self.options.target.clone(),
            steps: steps.len(),
        });
        if let Some(git) = &self.workspace.git
            && git.dirty
            && !self.options.allow_dirty
        {
            return self.finish(
                Verdict::InvalidInput,
                "the work tree has uncommitted changes; commit them, or pass --allow-dirty (the version then carries `-dirty`)".to_owned(),
            );
        }
        for step in steps {
            let kind = step.kind.keyword().to_owned();
            let name = step.name.name.clone();
            self.emit(&Event::StepStarted { step: name.clone(), kind: kind.clone() });
            match self.step(step).await {
                Ok(outcome) => self.emit(&Event::StepFinished { step: name, kind, outcome }),
                Err(StepError::Refused(reason)) => {
                    return self.finish(Verdict::InvalidInput, reason);
                }
                Err(StepError::Interrupted) => {
                    return self.interrupted_finish(&format!("{kind} {name}")).await;
                }
                Err(StepError::Aws(error)) => {
                    let reason = format!("{error}; {}", next_action(&error));
                    self.emit(&Event::StepFinished {
                        step: name,
                        kind,
                        outcome: "failed".to_owned(),
                    });
                    return self.on_failure(reason).await;
                }
                Err(StepError::Deployment { service, failure }) => {
                    let reason = failure.describe();
                    self.emit(&Event::DeploymentFailed {
                        service: service.clone(),
                        deployment_id: self
                            .anchors
                            .get(&name)
                            .map(|(_, a)| a.deployment_id.clone())
                            .unwrap_or_default(),
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
        let reason = if self.anchors.is_empty() {
            "nothing to deploy".to_owned()
        } else {
            "deployed and verified".to_owned()
        };
        self.finish(Verdict::Success, reason)
    }

    fn finish(&mut self, verdict: Verdict, reason: String) -> RunOutcome {
        self.emit(&Event::RunFinished {
            verdict,
            exit_code: verdict.exit_code(),
            reason: reason.clone(),
        });
        RunOutcome { verdict, reason }
    }

    async fn interrupted_finish(&mut self, step: &str) -> RunOutcome {
        let mut state = format!("interrupted during `{step}`");
        if let Some((cluster, anchor)) = self.anchors.values().last().cloned()
            && let Ok(Some(service)) = self.ecs.service(&cluster, &anchor.service).await
        {
            let primary = service.primary().map_or_else(String::new, |p| {
                format!(
                    "; service `{}` runs {} ({}), {} deployment(s)",
                    service.name,
                    p.task_definition,
                    p.rollout_state.clone().unwrap_or_default(),
                    service.deployments.len()
                )
            });
            state.push_str(&primary);
        }
        self.finish(Verdict::Interrupted, state)
    }

    /// Plans one step with the outputs so far, then runs it.
    async fn step(&mut self, step: &Step) -> Result<String, StepError> {
        let values = step_values(self.file);
        let planned = {
            let evaluator = Evaluator::new(&self.settings, self.workspace, &values, &self.outputs);
            plan_step(step, &evaluator).map_err(|error| StepError::Refused(eval_reason(&error)))?
        };
        match planned {
            PlannedStep::Build { name, fields } => {
                self.build(&name, &fields).await.map_err(StepError::Refused)
            }
            PlannedStep::Tag { name, tags } => self.tag(&name, &tags).map_err(StepError::Refused),
            PlannedStep::Push { name, to } => {
                self.push(&name, &to).await.map_err(StepError::Refused)
            }
            PlannedStep::Register(register) => self.register(register).await,
            PlannedStep::Update(update) => self.update(update).await,
            PlannedStep::Verify(verify) => self.verify(&verify).await,
            PlannedStep::Rollback(rollback) => {
                if !self.anchors.contains_key(&rollback.name) {
                    // This run started no deployment of that service: nothing to undo.
                    return Ok("nothing to roll back".to_owned());
                }
                self.rollback(&rollback).await.map(|()| "rolled back".to_owned())
            }
        }
    }

    fn cluster(&self, explicit: Option<&String>) -> String {
        explicit
            .cloned()
            .or_else(|| self.settings.cluster.clone())
            .unwrap_or_else(|| "default".to_owned())
    }

    async fn register(&mut self, step: RegisterStep) -> Result<String, StepError> {
        let mut base_arn: Option<String> = None;
        let base = match &step.from {
            None => None,
            Some(TaskDefinitionSource::Service { name, cluster }) => {
                let cluster = self.cluster(cluster.as_ref());
                match self.ecs.service(&cluster, name).await? {
                    Some(service) => {
                        let (td, tags) = self.ecs.task_definition(&service.task_definition).await?;
                        base_arn = td.task_definition_arn().map(str::to_owned);
                        Some(RevisionInput::from_described(&td, &tags))
                    }
                    None if step.family.is_some() => None,
                    None => {
                        return Err(StepError::Refused(format!(
                            "`register {}` starts from service `{name}`, which does not exist in cluster `{cluster}`; give `family` and the containers to register a first revision",
                            step.name
                        )));
                    }
                }
            }
            Some(TaskDefinitionSource::Family { name }) => {
                let (td, tags) = self.ecs.task_definition(name).await?;
                base_arn = td.task_definition_arn().map(str::to_owned);
                Some(RevisionInput::from_described(&td, &tags))
            }
            Some(TaskDefinitionSource::File { path }) => {
                let full = self.options.base_dir.join(path);
                let text = std::fs::read_to_string(&full).map_err(|error| {
                    StepError::Refused(format!(
                        "`register {}`: cannot read `{}`: {error}",
                        step.name,
                        full.display()
                    ))
                })?;
                Some(super::revision_json::revision_from_json(&text).map_err(|error| {
                    StepError::Refused(format!(
                        "`register {}`: `{}`: {}",
                        step.name,
                        full.display(),
                        error.0
                    ))
                })?)
            }
        };
        let mut images = BTreeMap::new();
        for container in &step.containers {
            match &container.image {
                None => {}
                Some(
                    Value::String(reference) | Value::Image { reference: Some(reference), .. },
                ) => {
                    images.insert(container.name.clone(), reference.clone());
                }
                Some(other) => {
                    return Err(StepError::Refused(format!(
                        "container `{}` of `register {}`: the image {other} is not known yet",
                        container.name, step.name
                    )));
                }
            }
        }
        // Nothing changed when the step's changes leave the current revision as it is. A
        // new family's current revision is its latest ACTIVE one, if any.
        let mut current = base.clone().map(|b| (base_arn.clone().unwrap_or_default(), b));
        if current.is_none()
            && let Some(family) = &step.family
            && let Ok((latest, tags)) = self.ecs.task_definition(family).await
        {
            current = Some((
                latest.task_definition_arn().unwrap_or_default().to_owned(),
                RevisionInput::from_described(&latest, &tags),
            ));
        }
        if let Some((arn, current)) = current
            && next_revision(Some(current.clone()), &step, &images)
                .is_ok_and(|next| next == current)
        {
            self.emit(&Event::RevisionReused { step: step.name.clone(), arn: arn.clone() });
            self.outputs.insert(
                step.name.clone(),
                Value::TaskDefinition { step: step.name.clone(), arn: Some(arn) },
            );
            return Ok("reused the current revision".to_owned());
        }
        let next =
            next_revision(base, &step, &images).map_err(|error| StepError::Refused(error.0))?;
        let arn = self.ecs.register(&next).await?;
        self.emit(&Event::RevisionRegistered { step: step.name.clone(), arn: arn.clone() });
        self.outputs.insert(
            step.name.clone(),
            Value::TaskDefinition { step: step.name.clone(), arn: Some(arn.clone()) },
        );
        self.registered.push((step, arn));
        Ok("registered".to_owned())
    }

    async fn update(&mut self, step: UpdateStep) -> Result<String, StepError> {
        let cluster = self.cluster(step.cluster.as_ref());
        let arn = match self.outputs.get(&step.task_definition) {
            Some(Value::TaskDefinition { arn: Some(arn), .. }) => arn.clone(),
            _ => {
                return Err(StepError::Refused(format!(
                    "`update {}`: `{}` registered no revision",
                    step.name, step.task_definition
                )));
            }
        };
        let mut service = self.ecs.service(&cluster, &step.service).await?;
        if service.is_none() {
            if !step.create {
                return Err(StepError::Refused(format!(
                    "service `{}` does not exist in cluster `{cluster}`; set `create = true` in `update {}` to create it",
                    step.service, step.name
                )));
            }
            self.ecs.ensure_cluster(&cluster).await?;
            let created = self.ecs.create_service(&cluster, &step, &arn).await?;
            self.emit(&Event::ServiceCreated {
                service: step.service.clone(),
                cluster: cluster.clone(),
            });
            return self.anchor(&step, &cluster, &created, &arn, None);
        }
        let mut waited = 0;
        while let Some(current) = &service
            && lock_held(current)
        {
            if !self.options.wait_for_lock {
                return Err(StepError::Refused(format!(
                    "another deployment of service `{}` is in progress ({} deployments); wait for it, or pass --wait-for-lock",
                    step.service,
                    current.deployments.len()
                )));
            }
            if waited == 0 {
                self.emit(&Event::WaitingForLock {
                    service: step.service.clone(),
                    deployments: current.deployments.len(),
                });
            }
            if waited > LOCK_WAIT_MS {
                return Err(StepError::Refused(format!(
                    "service `{}` stayed busy for an hour; nothing was changed",
                    step.service
                )));
            }
            self.sleep(POLL_MS).await?;
            waited += POLL_MS;
            service = self.ecs.service(&cluster, &step.service).await?;
        }
        let Some(current) = service else {
            return Err(StepError::Refused(format!(
                "service `{}` disappeared while waiting",
                step.service
            )));
        };
        let previous = current.primary().map(|p| (p.task_definition.clone(), p.id.clone()));
        if previous.as_ref().is_some_and(|(td, _)| *td == arn) && !step.force {
            self.emit(&Event::NothingToDeploy {
                service: step.service.clone(),
                task_definition: arn,
            });
            return Ok("nothing to deploy".to_owned());
        }
        let updated = self.ecs.update_service(&cluster, &step, &arn).await?;
        self.anchor(&step, &cluster, &updated, &arn, previous)
    }

    /// Records our deployment: the PRIMARY deployment of the answer, with our revision.
    fn anchor(
        &mut self,
        step: &UpdateStep,
        cluster: &str,
        answer: &ServiceView,
        arn: &str,
        previous: Option<(String, String)>,
    ) -> Result<String, StepError> {
        let (previous, previous_deployment_id) = previous.unzip();
        let Some(ours) =
            answer.deployments.iter().find(|d| d.status == "PRIMARY" && d.task_definition == arn)
        else {
            return Err(StepError::Deployment {
                service: step.service.clone(),
                failure: Failure::Vanished,
            });
        };
        let digests = self
            .registered
            .iter()
            .filter(|(_, registered)| registered == arn)
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
        let anchor = Anchor {
            service: step.service.clone(),
            deployment_id: ours.id.clone(),
            task_definition: arn.to_owned(),
            service_deployment_arn: answer.current_service_deployment.clone(),
            previous_task_definition: previous.clone(),
            previous_deployment_id,
            digests,
        };
        self.emit(&Event::DeploymentStarted {
            service: step.service.clone(),
            deployment_id: ours.id.clone(),
            task_definition: arn.to_owned(),
            previous_task_definition: previous,
        });
        self.anchors.insert(step.name.clone(), (cluster.to_owned(), anchor));
        // Every event of the UpdateService/CreateService answer predates our deployment.
        self.known_events
            .insert(step.name.clone(), answer.events.iter().map(|(id, _)| id.clone()).collect());
        Ok("deployment started".to_owned())
    }

    async fn verify(&mut self, step: &VerifyStep) -> Result<String, StepError> {
        let Some((cluster, anchor)) = self.anchors.get(&step.name).cloned() else {
            return Ok("nothing to verify".to_owned());
        };
        let timeout = step.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        let mut gates = self.prepare_gates(&step.gates, timeout)?;
        let bake = step.bake_ms.unwrap_or(0);
        // When the rollout reached `until` and every gate passed: bake runs from then.
        let mut done: Option<&'static str> = None;
        let mut baking_since: Option<u64> = None;
        let until_serving = step.until.as_deref() == Some("serving");
        let started = self.clock.now_ms();
        let mut seen = false;
        let mut events_seen: Vec<String> =
            self.known_events.get(&step.name).cloned().unwrap_or_default();
        let mut stopped_seen: Vec<String> = Vec::new();
        let mut delay = POLL_MS;
        let mut serving_reported = false;
        loop {
            if self.clock.now_ms() - started > timeout {
                // A rollout that is done but waits on a gate: the gate failed.
                if done.is_some()
                    && let Some(gate) = gates.iter().find(|g| !g.passed())
                {
                    let reason = format!(
                        "it had not passed when `verify`'s timeout of {} ran out",
                        crate::eval::duration_text(timeout)
                    );
                    let name = gate.name.clone();
                    return Err(self.gate_failed(&anchor, &name, reason));
                }
                return Err(StepError::Deployment {
                    service: anchor.service.clone(),
                    failure: Failure::TimedOut { after_ms: timeout },
                });
            }
            let service = match self.ecs.service(&cluster, &anchor.service).await {
                Ok(service) => service,
                Err(error) if error.is_transient() => {
                    self.emit(&Event::Warning { message: format!("{error}; trying again") });
                    delay = (delay * 2).min(60_000);
                    self.sleep(delay).await?;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            delay = POLL_MS;
            let mut messages: Vec<String> = Vec::new();
            if let Some(current) = &service {
                messages = current.events.iter().map(|(_, m)| m.clone()).collect();
                for (id, message) in current.events.iter().rev() {
                    if !events_seen.contains(id) {
                        events_seen.push(id.clone());
                        self.emit(&Event::ServiceEvent {
                            service: anchor.service.clone(),
                            message: message.clone(),
                        });
                    }
                }
                if let Some(ours) = current.deployment(&anchor.deployment_id) {
                    seen = true;
                    self.emit(&Event::Progress {
                        service: anchor.service.clone(),
                        deployment_id: ours.id.clone(),
                        desired: ours.desired,
                        running: ours.running,
                        pending: ours.pending,
                        failed: ours.failed,
                        rollout_state: ours.rollout_state.clone(),
                    });
                }
            }
            // Fail fast on stopped tasks of ours.
            if seen && let Some(limit) = step.fail_fast {
                let stopped = self
                    .ecs
                    .stopped_tasks(&cluster, &anchor.service, &anchor.deployment_id)
                    .await
                    .unwrap_or_default();
                let failed = failed_tasks(&stopped);
                for task in &failed {
                    if !stopped_seen.contains(&task.arn) {
                        stopped_seen.push(task.arn.clone());
                        self.emit(&Event::TaskStopped {
                            service: anchor.service.clone(),
                            task: task.arn.rsplit('/').next().unwrap_or(&task.arn).to_owned(),
                            stop_code: task.stop_code.clone(),
                            reason: task.reason.clone(),
                            exit_codes: task
                                .containers
                                .iter()
                                .map(|(n, c, _)| (n.clone(), *c))
                                .collect(),
                        });
                    }
                }
                if failed.len() >= limit as usize {
                    return Err(StepError::Deployment {
                        service: anchor.service.clone(),
                        failure: Failure::FailFast { stopped: failed },
                    });
                }
            }
            match judge(&anchor, service.as_ref(), seen) {
                Standing::Failed(failure) => {
                    return Err(StepError::Deployment { service: anchor.service.clone(), failure });
                }
                Standing::Completed if done != Some("completed") => {
                    serving_reported = true;
                    if done.is_none() {
                        self.confirm_digests(&cluster, &anchor).await?;
                    }
                    self.emit(&Event::Completed {
                        service: anchor.service.clone(),
                        deployment_id: anchor.deployment_id.clone(),
                    });
                    done = Some("completed");
                }
                Standing::Serving if !serving_reported => {
                    serving_reported = true;
                    self.emit(&Event::Serving {
                        service: anchor.service.clone(),
                        deployment_id: anchor.deployment_id.clone(),
                    });
                    if until_serving {
                        self.confirm_digests(&cluster, &anchor).await?;
                        done = Some("serving");
                    }
                }
                Standing::Completed | Standing::Serving | Standing::Rolling(_) => {}
            }
            // Gates run once the rollout serves, and on through bake.
            if serving_reported && !gates.is_empty() {
                self.run_due_gates(&mut gates, &cluster, &anchor, &messages).await?;
            }
            if let Some(label) = done
                && gates.iter().all(super::gates::Gate::passed)
            {
                let now = self.clock.now_ms();
                let since = *baking_since.get_or_insert(now);
                if since == now && bake > 0 {
                    self.emit(&Event::Baking { service: anchor.service.clone(), bake_ms: bake });
                }
                if now - since >= bake {
                    return Ok(label.to_owned());
                }
            }
            // Wake for the next poll, the next gate attempt or the end of bake.
            let now = self.clock.now_ms();
            let mut wake = now + delay;
            for gate in &gates {
                if serving_reported
                    && !matches!(
                        gate.schedule.standing,
                        crate::gates::schedule::Standing::Failed { .. }
                    )
                {
                    wake = wake.min(gate.schedule.next_ms.max(now));
                }
            }
            if let Some(since) = baking_since {
                wake = wake.min(since + bake);
            }
            self.sleep(wake.saturating_sub(now).max(1)).await?;
        }
    }

    async fn confirm_digests(&mut self, cluster: &str, anchor: &Anchor) -> Result<(), StepError> {
        if anchor.digests.is_empty() {
            return Ok(());
        }
        let tasks =
            self.ecs.deployment_tasks(cluster, &anchor.service, &anchor.deployment_id).await?;
        check_digests(anchor, &tasks)
            .map_err(|failure| StepError::Deployment { service: anchor.service.clone(), failure })
    }

    /// After a failure: the `on failure` steps, or, without them, a look at whether ECS
    /// rolled back by itself.
    async fn on_failure(&mut self, reason: String) -> RunOutcome {
        let handlers: Vec<RollbackStep> = self
            .file
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Handler(handler) if handler.event.name == "failure" => Some(handler),
                _ => None,
            })
            .flat_map(|handler| handler.steps.iter())
            .map(|step| RollbackStep { name: step.name.name.clone(), timeout_ms: None })
            .collect();
        // Only services this run changed can be rolled back.
        let handlers: Vec<RollbackStep> =
            handlers.into_iter().filter(|h| self.anchors.contains_key(&h.name)).collect();
        if self.anchors.is_empty() {
            return self.finish(
                Verdict::Failed,
                format!(
                    "{reason}; no service was changed, but the run did not finish: have a look"
                ),
            );
        }
        let targets: Vec<RollbackStep> = if handlers.is_empty() {
            // ECS's own rollback still counts when we verify it.
            self.anchors
                .keys()
                .filter(|name| {
                    self.failures.get(*name).is_some_and(|f| {
                        matches!(
                            f,
                            Failure::RolledBackByEcs { .. }
                                | Failure::CircuitBreaker { rolled_back_by_ecs: true, .. }
                        )
                    })
                })
                .map(|name| RollbackStep { name: name.clone(), timeout_ms: None })
                .collect()
        } else {
            handlers
        };
        if targets.is_empty() {
            return self.finish(
                Verdict::Failed,
                format!("{reason}; no rollback was asked for: the service needs a look"),
            );
        }
        for target in &targets {
            if self.interrupted.load(Ordering::Relaxed) {
                return self.finish(
                    Verdict::Interrupted,
                    format!("{reason}; interrupted before rolling back"),
                );
            }
            if let Err(error) = self.rollback(target).await {
                let why = match error {
                    StepError::Aws(error) => error.to_string(),
                    StepError::Refused(why) => why,
                    StepError::Deployment { failure, .. } => failure.describe(),
                    StepError::Interrupted => "interrupted".to_owned(),
                };
                return self.finish(
                    Verdict::Failed,
                    format!("{reason}; the rollback of `{}` failed: {why}", target.name),
                );
            }
        }
        self.finish(
            Verdict::RolledBack,
            format!("{reason}; rolled back and verified on the previous revision"),
        )
    }

    /// Rolls an update step's service back to the revision that was PRIMARY before, and
    /// verifies the service runs it again.
    async fn rollback(&mut self, step: &RollbackStep) -> Result<(), StepError> {
        let Some((cluster, anchor)) = self.anchors.get(&step.name).cloned() else {
            return Ok(());
        };
        let Some(previous) = anchor.previous_task_definition.clone() else {
            let reason =
                "the service was created by this run: there is no previous revision to go back to"
                    .to_owned();
            self.emit(&Event::RollbackFailed {
                service: anchor.service.clone(),
                reason: reason.clone(),
            });
            return Err(StepError::Refused(reason));
        };
        let already = matches!(
            self.failures.get(&step.name),
            Some(
                Failure::RolledBackByEcs { .. }
                    | Failure::CircuitBreaker { rolled_back_by_ecs: true, .. }
            )
        );
        let how = if already {
            "ECS's circuit breaker is rolling back; verifying".to_owned()
        } else if let Some(arn) = &anchor.service_deployment_arn {
            match self.ecs.roll_back(arn).await {
                Ok(()) => "StopServiceDeployment(ROLLBACK)".to_owned(),
                Err(error) => {
                    self.emit(&Event::Warning {
                        message: format!(
                            "{error}; updating the service to the previous revision instead"
                        ),
                    });
                    self.ecs.redeploy(&cluster, &anchor.service, &previous).await?;
                    "UpdateService to the previous revision".to_owned()
                }
            }
        } else {
            self.ecs.redeploy(&cluster, &anchor.service, &previous).await?;
            "UpdateService to the previous revision".to_owned()
        };
        self.emit(&Event::RollbackStarted {
            service: anchor.service.clone(),
            to_task_definition: Some(previous.clone()),
            how,
        });
        let timeout = step.timeout_ms.unwrap_or(DEFAULT_ROLLBACK_TIMEOUT_MS);
        let started = self.clock.now_ms();
        loop {
            if self.clock.now_ms() - started > timeout {
                let reason = format!(
                    "the service did not settle on {previous} within {}",
                    crate::eval::duration_text(timeout)
                );
                self.emit(&Event::RollbackFailed {
                    service: anchor.service.clone(),
                    reason: reason.clone(),
                });
                return Err(StepError::Refused(reason));
            }
            match self.ecs.service(&cluster, &anchor.service).await {
                Ok(Some(service)) => {
                    if settled_on(&service, &previous) {
                        self.emit(&Event::RollbackVerified {
                            service: anchor.service.clone(),
                            task_definition: previous.clone(),
                        });
                        return Ok(());
                    }
                }
                Ok(None) => {
                    let reason = "the service is gone".to_owned();
                    self.emit(&Event::RollbackFailed {
                        service: anchor.service.clone(),
                        reason: reason.clone(),
                    });
                    return Err(StepError::Refused(reason));
                }
                Err(error) if error.is_transient() => {}
                Err(error) => return Err(error.into()),
            }
            self.sleep(POLL_MS).await?;
        }
    }

    /// After verified success: deregisters revisions beyond each register step's `keep`,
    /// never the new one nor the one a rollback would need.
    async fn cleanup(&mut self) -> Result<(), AwsError> {
        let protected: Vec<String> = self
            .anchors
            .values()
            .flat_map(|(_, a)| {
                [Some(a.task_definition.clone()), a.previous_task_definition.clone()]
            })
            .flatten()
            .collect();
        let registered = self.registered.clone();
        for (step, arn) in registered {
            let Some(keep) = step.keep else { continue };
            let family = arn
                .rsplit_once("task-definition/")
                .and_then(|(_, rest)| rest.split(':').next())
                .unwrap_or_default()
                .to_owned();
            let revisions = self.ecs.revisions(&family).await?;
            for old in revisions.iter().skip(keep as usize) {
                if protected.contains(old) {
                    continue;
                }
                self.ecs.deregister(old).await?;
                self.emit(&Event::Deregistered { arn: old.clone() });
            }
        }
        Ok(())
    }
}

/// Another deployment is still rolling: more than one deployment, or the PRIMARY in progress.
fn lock_held(service: &ServiceView) -> bool {
    service.deployments.len() > 1
        || service.primary().is_some_and(|p| p.rollout_state.as_deref() == Some("IN_PROGRESS"))
}

fn next_action(error: &AwsError) -> &'static str {
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

fn eval_reason(error: &crate::eval::EvalError) -> String {
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
