//! After a failure: the `on failure` rollbacks — to the last revision whose deployment
//! completed, asking ECS to stop our deployment only after reading that it still runs,
//! and never undoing a deployment that replaced ours — or ECS's own rollback verified;
//! a verdict that names what the run wrote. After success: deregistering revisions beyond
//! `keep`, never one a service runs or a rollback needs.

use std::sync::atomic::Ordering;

use super::event::{Event, Verdict};
use super::runner::{POLL_MS, RunOutcome, Runner, StepError};
use super::verdict::{Failure, Standing, judge, settled_on};

/// How a rollback ended.
pub(super) enum Rolled {
    /// The service runs the target again, verified.
    Back,
    /// A deployment that replaced ours is someone else's: nothing was done (the reason).
    LeftAlone(String),
}
use crate::aws::AwsError;
use crate::eval::RollbackStep;
use crate::syntax::Item;

/// The default `rollback` timeout.
const DEFAULT_ROLLBACK_TIMEOUT_MS: u64 = 15 * 60_000;

impl Runner<'_> {
    /// A run that stops after it wrote something: exit 3, saying what it wrote.
    pub(super) async fn stopped_after_writes(&mut self, reason: String) -> RunOutcome {
        let wrote = self.writes.join("; ");
        if self.anchors.is_empty() {
            return self.finish(
                Verdict::Failed,
                format!("{reason}; this run wrote: {wrote}; no deployment started: have a look"),
            );
        }
        self.on_failure(reason).await
    }

    /// After a failure: the `on failure` steps, or, without them, a look at whether ECS
    /// rolled back by itself.
    pub(super) async fn on_failure(&mut self, reason: String) -> RunOutcome {
        let asked: Vec<String> = self
            .file
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Handler(handler) if handler.event.name == "failure" => Some(handler),
                _ => None,
            })
            .flat_map(|handler| handler.steps.iter())
            .map(|step| step.name.name.clone())
            .collect();
        if self.anchors.is_empty() {
            let wrote =
                if self.writes.is_empty() { "nothing".to_owned() } else { self.writes.join("; ") };
            return self.finish(
                Verdict::Failed,
                format!("{reason}; this run wrote: {wrote}; no deployment started: have a look"),
            );
        }
        // Only services this run deployed can be rolled back, and never over a deployment
        // that replaced ours: that one is someone else's.
        let mut targets = Vec::new();
        let mut left_alone = Vec::new();
        for name in self.anchors.keys() {
            match self.failures.get(name) {
                Some(Failure::Superseded { by_deployment, task_definition }) => {
                    left_alone.push(format!(
                        "`{name}`: deployment {by_deployment} ({task_definition}) replaced ours"
                    ));
                }
                Some(failure) if failure.rolled_back_by_ecs() || asked.contains(name) => {
                    targets.push(RollbackStep { name: name.clone(), timeout_ms: None });
                }
                _ if asked.contains(name) => {
                    targets.push(RollbackStep { name: name.clone(), timeout_ms: None });
                }
                _ => {}
            }
        }
        if targets.is_empty() {
            let why = if left_alone.is_empty() {
                "no rollback was asked for: the service needs a look".to_owned()
            } else {
                "nothing was rolled back: the newer deployment is left alone; have a look"
                    .to_owned()
            };
            return self.finish(Verdict::Failed, format!("{reason}; {why}"));
        }
        let mut back = Vec::new();
        for target in &targets {
            if self.interrupted.load(Ordering::Relaxed) {
                return self.finish(
                    Verdict::Interrupted,
                    format!("{reason}; interrupted before rolling back"),
                );
            }
            match self.rollback(target).await {
                Ok(Rolled::LeftAlone(reason)) => left_alone.push(reason),
                Ok(Rolled::Back) => {
                    if let Some((_, anchor)) = self.anchors.get(&target.name) {
                        back.push(format!(
                            "`{}` on {}",
                            anchor.service,
                            anchor.rollback_target.as_deref().unwrap_or("its previous revision")
                        ));
                    }
                }
                Err(StepError::Interrupted) => {
                    return self.finish(
                        Verdict::Interrupted,
                        format!(
                            "{reason}; interrupted while rolling `{}` back: the rollback goes on \
                             in ECS",
                            target.name
                        ),
                    );
                }
                Err(error) => {
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
        }
        if !left_alone.is_empty() {
            let done = if back.is_empty() {
                "nothing was rolled back".to_owned()
            } else {
                format!("rolled back and verified: {}", back.join(", "))
            };
            return self.finish(
                Verdict::Failed,
                format!("{reason}; {done}; left alone: {}", left_alone.join(", ")),
            );
        }
        self.finish(
            Verdict::RolledBack,
            format!("{reason}; rolled back and verified: {}", back.join(", ")),
        )
    }

    /// Rolls an update step's service back to the last revision whose deployment
    /// completed, and verifies the service runs it again, alone.
    pub(super) async fn rollback(&mut self, step: &RollbackStep) -> Result<Rolled, StepError> {
        let Some((cluster, anchor)) = self.anchors.get(&step.name).cloned() else {
            return Ok(Rolled::Back);
        };
        let failure = self.failures.get(&step.name).cloned();
        // The service as it is now: a deployment that replaced ours since (another CI run,
        // another tool) is someone else's, and no rollback undoes it.
        let now = self.ecs.service(&cluster, &anchor.service).await?;
        if let Some(service) = &now
            && let Standing::Failed(Failure::Superseded { by_deployment, task_definition }) =
                judge(&anchor, Some(service), true)
        {
            return Ok(Rolled::LeftAlone(format!(
                "`{}`: deployment {by_deployment} ({task_definition}) replaced ours; it is left \
                 alone",
                anchor.service
            )));
        }
        // ECS's own rollback goes where ECS says; ours to the last completed revision.
        let target = match &failure {
            Some(Failure::RolledBackByEcs { to_task_definition, .. }) => {
                Some(to_task_definition.clone())
            }
            // A blue/green rollback goes back to the old revision, which is the last that
            // completed; the PRIMARY may still be ours while ECS turns round.
            Some(f) if f.rolled_back_by_ecs() && anchor.staged => anchor.rollback_target.clone(),
            Some(f) if f.rolled_back_by_ecs() => anchor.rollback_target.clone().or_else(|| {
                now.as_ref().and_then(|s| s.primary()).map(|p| p.task_definition.clone())
            }),
            _ => anchor.rollback_target.clone(),
        };
        let Some(target) = target else {
            let reason = if anchor.previous_task_definition.is_none() {
                "the service was created by this run: there is no previous revision to go back to"
                    .to_owned()
            } else {
                "no deployment of the service ever completed: there is no good revision to go back \
                 to"
                .to_owned()
            };
            self.emit(&Event::RollbackFailed {
                service: anchor.service.clone(),
                reason: reason.clone(),
            });
            return Err(StepError::Refused(reason));
        };
        let how = if let Some(Failure::GateRolledBack { .. }) = &failure {
            "ferry asked ECS to roll back when the gate failed; verifying".to_owned()
        } else if let Some(Failure::ServiceDeployment { status, rolled_back: true, .. }) = &failure
        {
            format!("ECS is rolling our blue/green deployment back ({status}); verifying")
        } else if failure.as_ref().is_some_and(Failure::rolled_back_by_ecs) {
            "ECS's circuit breaker is rolling back; verifying".to_owned()
        } else if let Some(arn) = &anchor.service_deployment_arn {
            // Read the deployment before asking ECS to stop it: it may have rolled back
            // (or finished) by itself meanwhile. Unknown, nothing is written blind.
            let status = self.ecs.service_deployment(arn).await?.map(|d| d.status);
            match status.as_deref() {
                Some("ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL") => {
                    format!(
                        "ECS is already rolling back ({}); verifying",
                        status.unwrap_or_default()
                    )
                }
                Some("PENDING" | "IN_PROGRESS") => match self.ecs.roll_back(arn).await {
                    Ok(()) => "StopServiceDeployment(ROLLBACK)".to_owned(),
                    Err(error) => {
                        self.emit(&Event::Warning {
                            message: format!("{error}; updating the service to {target} instead"),
                        });
                        self.redeploy_to(&cluster, &anchor.service, now.as_ref(), &target).await?
                    }
                },
                _ => self.redeploy_to(&cluster, &anchor.service, now.as_ref(), &target).await?,
            }
        } else {
            self.redeploy_to(&cluster, &anchor.service, now.as_ref(), &target).await?
        };
        self.emit(&Event::RollbackStarted {
            service: anchor.service.clone(),
            to_task_definition: Some(target.clone()),
            how,
        });
        let timeout = step.timeout_ms.unwrap_or(DEFAULT_ROLLBACK_TIMEOUT_MS);
        let started = self.clock.now_ms();
        self.ecs.set_deadline(self.real_deadline(timeout));
        let settled = self.await_rollback(&cluster, &anchor, &target, step, timeout, started).await;
        self.ecs.set_deadline(None);
        settled
    }

    /// Waits until the service runs `target` alone again, settled.
    async fn await_rollback(
        &mut self,
        cluster: &str,
        anchor: &super::verdict::Anchor,
        target: &str,
        step: &RollbackStep,
        timeout: u64,
        started: u64,
    ) -> Result<Rolled, StepError> {
        let target = target.to_owned();
        loop {
            if self.clock.now_ms() - started > timeout {
                let reason = format!(
                    "the service did not settle on {target} within {}",
                    crate::eval::duration_text(timeout)
                );
                self.emit(&Event::RollbackFailed {
                    service: anchor.service.clone(),
                    reason: reason.clone(),
                });
                return Err(StepError::Refused(reason));
            }
            // A blue/green rollback is ECS's to finish: verified once our service
            // deployment is ROLLBACK_SUCCESSFUL too, refused when it is ROLLBACK_FAILED.
            let staged = match (&anchor.service_deployment_arn, anchor.staged) {
                (Some(arn), true) => match self.ecs.service_deployment(arn).await {
                    Ok(record) => record.map(|r| r.status),
                    Err(error) if error.is_transient() => Some(String::new()),
                    Err(error) => return Err(error.into()),
                },
                _ => None,
            };
            if staged.as_deref() == Some("ROLLBACK_FAILED") {
                let reason = "ECS's rollback of our blue/green deployment failed \
                              (ROLLBACK_FAILED)"
                    .to_owned();
                self.emit(&Event::RollbackFailed {
                    service: anchor.service.clone(),
                    reason: reason.clone(),
                });
                return Err(StepError::Refused(reason));
            }
            let ecs_done = staged.as_deref().is_none_or(|s| s == "ROLLBACK_SUCCESSFUL");
            match self.ecs.service(cluster, &anchor.service).await {
                Ok(Some(service)) => {
                    if ecs_done && settled_on(&service, &target) {
                        self.emit(&Event::RollbackVerified {
                            service: anchor.service.clone(),
                            task_definition: target.clone(),
                        });
                        if let Some((_, anchor)) = self.anchors.get_mut(&step.name) {
                            anchor.rollback_target = Some(target);
                        }
                        return Ok(Rolled::Back);
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

    /// UpdateService back to `target`, unless that deployment could not progress with the
    /// service's settings (the prediction `ferry plan` makes).
    async fn redeploy_to(
        &mut self,
        cluster: &str,
        service: &str,
        now: Option<&crate::aws::ServiceView>,
        target: &str,
    ) -> Result<String, StepError> {
        if let Some(now) = now {
            let prediction = super::prediction::predict(&super::prediction::Effective::live(
                now,
                self.options.capacity,
            ));
            if prediction.stuck() {
                let reason = format!(
                    "a rollback to {target} would not progress: {}",
                    prediction.timeline.last().cloned().unwrap_or_default()
                );
                self.emit(&Event::RollbackFailed {
                    service: service.to_owned(),
                    reason: reason.clone(),
                });
                return Err(StepError::Refused(reason));
            }
        }
        self.ecs.redeploy(cluster, service, target, now).await?;
        Ok("UpdateService to the last completed revision".to_owned())
    }

    /// After verified success: deregisters the revisions the change set named (beyond
    /// each register step's `keep`), never the new ones, the one a service ran before, nor
    /// a rollback target.
    pub(super) async fn cleanup(&mut self) -> Result<(), AwsError> {
        let protected: Vec<String> = self
            .anchors
            .values()
            .flat_map(|(_, a)| {
                [
                    Some(a.task_definition.clone()),
                    a.previous_task_definition.clone(),
                    a.rollback_target.clone(),
                ]
            })
            .flatten()
            .chain(self.registered.iter().map(|(_, arn)| arn.clone()))
            .collect();
        let mut done: Vec<String> = Vec::new();
        for old in self.deregister.clone() {
            if protected.contains(&old) || done.contains(&old) {
                continue;
            }
            self.ecs.deregister(&old).await?;
            self.emit(&Event::Deregistered { arn: old.clone() });
            done.push(old);
        }
        Ok(())
    }

    /// Ctrl-C or SIGTERM: what the service looks like now, and what the run wrote.
    pub(super) async fn interrupted_finish(&mut self, kind: &str, name: &str) -> RunOutcome {
        let mut state = format!("interrupted during `{kind} {name}`");
        if !self.writes.is_empty() {
            state = format!("{state}; this run wrote: {}", self.writes.join("; "));
        }
        // The service of the step that ran (a verify names its update), else the last one
        // this run deployed.
        let anchored = self.anchors.get(name).or_else(|| self.anchors.values().last()).cloned();
        // One last look, not cut by the interruption but bounded.
        let look = self.ecs.for_last_look(std::time::Duration::from_secs(5));
        if let Some((cluster, anchor)) = anchored
            && let Ok(Some(service)) = look.service(&cluster, &anchor.service).await
        {
            let primary = service.primary().map_or_else(String::new, |p| {
                format!(
                    "; service `{}` runs {} ({}), {} deployment(s); the deployment goes on in ECS, \
                     and running ferry again watches it",
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
}
