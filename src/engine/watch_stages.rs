//! `verify` of a blue/green deployment (docs/strategies.md): our service deployment is
//! read with DescribeServiceDeployments and judged by its status and lifecycle stage
//! (`stages.rs`) until `until` — `serving` (our revision runs in full), `traffic_shifted`
//! (production traffic on it; the default: ECS's bake and clean-up are left to ECS, and
//! ferry says so) or `completed` (SUCCESSFUL). Each stage is reported as it is reached.
//! The gates run once production traffic is on our revision, and through `bake`; one that
//! fails while ECS still bakes makes ferry ask ECS to roll back (StopServiceDeployment),
//! which moves traffic back to the old revision at once.

use super::change::{VerifyChange, Watch};
use super::event::Event;
use super::probe::Probe;
use super::runner::{POLL_MS, Runner, StepError};
use super::stages::{StageStanding, judge_stages, production_reached};
use super::verdict::{Anchor, Failure};
use crate::eval::VerifyStep;

/// How long our service deployment may stay out of sight before it counts as vanished.
const NOT_SEEN_LIMIT_MS: u64 = 3 * 60_000;

impl Runner<'_> {
    pub(super) async fn watch_stages(
        &mut self,
        step: &VerifyStep,
        change: &VerifyChange,
        cluster: &str,
        anchor: &Anchor,
    ) -> Result<String, StepError> {
        let Watch::Deployment { until, timeout_ms, bake_ms, ecs_bake_ms, .. } = &change.watch
        else {
            return Ok("nothing to verify".to_owned());
        };
        let (timeout, bake) = (*timeout_ms, *bake_ms);
        let Some(arn) = anchor.service_deployment_arn.clone() else {
            return Err(StepError::Refused(format!(
                "ECS named no service deployment for our blue/green deployment of `{}` \
                 (`currentServiceDeployment`): ferry cannot follow its stages",
                anchor.service
            )));
        };
        let mut gates = self.prepare_production_gates(&step.gates, timeout)?;
        // Gates on test traffic run while ferry's PAUSE hook holds the deployment at
        // POST_TEST_TRAFFIC_SHIFT; then ferry continues it, or rolls it back.
        let mut test_gates = self.prepare_test_gates(&step.gates, timeout)?;
        let mut test_decided = test_gates.is_empty();
        let mut skipped_test = false;
        let policy = super::gates::network_policy(step);
        let started = self.clock.now_ms();
        // Probes start when production traffic moves to our revision.
        let mut probes: Vec<Probe> = Vec::new();
        let mut probes_started = false;
        let mut events_seen: Vec<String> = anchor.known_events.clone();
        let mut last_stage: Option<(Option<String>, String)> = None;
        let mut done = false;
        let mut baking_since: Option<u64> = None;
        let mut standing_text = "waiting for our service deployment to show".to_owned();
        let mut stopped_looked: Option<u64> = None;
        let mut stopped_seen: Vec<String> = Vec::new();
        loop {
            let now = self.clock.now_ms();
            if now - started > timeout {
                if done && let Some(gate) = gates.iter().find(|g| !g.passed()) {
                    let reason = format!(
                        "it had not passed when `verify`'s timeout of {} ran out",
                        crate::eval::duration_text(timeout)
                    );
                    let name = gate.name.clone();
                    return Err(self.gate_failed_staged(&arn, anchor, &name, reason).await);
                }
                return Err(StepError::Deployment {
                    service: anchor.service.clone(),
                    failure: Failure::TimedOut { after_ms: timeout, standing: standing_text },
                });
            }
            let read = async {
                let record = self.ecs.service_deployment(&arn).await?;
                let service = self.ecs.service(cluster, &anchor.service).await?;
                Ok::<_, crate::aws::AwsError>((record, service))
            };
            let (record, service) = match read.await {
                Ok(read) => read,
                Err(error) if error.is_transient() => {
                    self.emit(&Event::Warning { message: format!("{error}; trying again") });
                    self.sleep(POLL_MS).await?;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let messages = self.new_events(anchor, service.as_ref(), &mut events_seen);
            if let Some(record) = &record {
                let now_stage = (record.lifecycle_stage.clone(), record.status.clone());
                if last_stage.as_ref() != Some(&now_stage) {
                    self.emit(&Event::LifecycleStage {
                        service: anchor.service.clone(),
                        deployment_id: anchor.deployment_id.clone(),
                        stage: record.lifecycle_stage.clone(),
                        status: record.status.clone(),
                    });
                    last_stage = Some(now_stage);
                }
            }
            // Fail fast on stopped tasks of ours, looked for at least every SLOW_MS.
            let now = self.clock.now_ms();
            if let Some(limit) = step.fail_fast
                && stopped_looked.is_none_or(|at| now >= at + super::progress::SLOW_MS)
                && let Some(failure) = self
                    .fail_fast(cluster, anchor, limit, now, &mut stopped_looked, &mut stopped_seen)
                    .await
            {
                return Err(StepError::Deployment { service: anchor.service.clone(), failure });
            }
            let given_up = record.is_none() && self.clock.now_ms() - started > NOT_SEEN_LIMIT_MS;
            match judge_stages(record.as_ref(), service.as_ref(), until, given_up) {
                StageStanding::Failed(failure) => {
                    return Err(StepError::Deployment { service: anchor.service.clone(), failure });
                }
                StageStanding::Reached if !done => {
                    self.confirm_digests(cluster, anchor).await?;
                    let deployment_id = anchor.deployment_id.clone();
                    let service = anchor.service.clone();
                    self.emit(&if until == "completed" {
                        Event::Completed { service, deployment_id }
                    } else {
                        Event::Serving { service, deployment_id }
                    });
                    done = true;
                }
                StageStanding::Reached => {}
                StageStanding::Waiting(text) => standing_text = text,
            }
            if !test_decided
                && let Some(hook) =
                    record.as_ref().and_then(|r| r.awaiting_pause()).map(str::to_owned)
            {
                let ran =
                    self.run_due_gates(&mut test_gates, &policy, cluster, anchor, &messages).await;
                self.rolled_back_on_failure(&arn, anchor, ran).await?;
                if test_gates.iter().all(super::gates::Gate::passed) {
                    match self.ecs.continue_deployment(&arn, &hook, false).await {
                        Ok(()) => {
                            self.hook_continued(anchor, hook, "CONTINUE");
                            test_decided = true;
                        }
                        // Read again at the next poll: a lost answer shows as a hook that
                        // went on.
                        Err(error) if !error.is_interrupted() => {
                            self.emit(&Event::Warning {
                                message: format!("{error}; the hook is read again"),
                            });
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
            } else if !test_decided
                && let Some(record) = record.as_ref().filter(|r| super::stages::past_test_pause(r))
            {
                if record.lifecycle_stage.is_none() {
                    // A first deployment has no stages and no production traffic to
                    // protect: its gates on test traffic judge it as the others do.
                    gates.append(&mut test_gates);
                } else {
                    // Past the pause without this run's word: continued by a ferry that was
                    // interrupted right after, or by another client. The gates on test
                    // traffic are not judged again, and the final line says so.
                    self.emit(&Event::Warning {
                        message: "the deployment went past POST_TEST_TRAFFIC_SHIFT before this \
                                  run's gates on test traffic passed (continued by an earlier \
                                  run, or by another client): they are not judged again"
                            .to_owned(),
                    });
                    skipped_test = true;
                }
                test_decided = true;
            }
            // ferry's gates judge production traffic: they (probes too) run once it begins
            // to reach our revision (a canary's share, a linear deployment's first step).
            let shifted = record.as_ref().is_some_and(production_reached);
            if shifted && !probes_started {
                let now = self.clock.now_ms();
                probes = step.gates.iter().filter_map(|g| Probe::of(g, now)).collect();
                probes_started = true;
            }
            if shifted {
                let ran = self.run_due_probes(&mut probes, &policy, anchor).await;
                self.rolled_back_on_failure(&arn, anchor, ran).await?;
            }
            if shifted && !gates.is_empty() {
                let ran = self.run_due_gates(&mut gates, &policy, cluster, anchor, &messages).await;
                self.rolled_back_on_failure(&arn, anchor, ran).await?;
            }
            let now = self.clock.now_ms();
            let gates_passed = gates.iter().all(super::gates::Gate::passed);
            if done && test_decided && (gates.is_empty() || (shifted && gates_passed)) {
                let since = *baking_since.get_or_insert(now);
                if since == now && bake > 0 {
                    self.emit(&Event::Baking { service: anchor.service.clone(), bake_ms: bake });
                }
                if now - since >= bake {
                    let tallies = match self.finish_probes(anchor, &probes) {
                        Ok(tallies) => tallies,
                        Err((name, reason)) => {
                            return Err(self.gate_failed_staged(&arn, anchor, &name, reason).await);
                        }
                    };
                    let stage = record.as_ref().and_then(|r| r.lifecycle_stage.clone());
                    let mut text = verified_text(
                        anchor,
                        until,
                        stage.as_deref(),
                        &[&test_gates, &gates],
                        bake,
                        *ecs_bake_ms,
                    );
                    if !tallies.is_empty() {
                        text = format!("{text}; {}", tallies.join("; "));
                    }
                    if skipped_test {
                        text = format!(
                            "{text}; the gates on test traffic did not judge it: the pause was \
                             continued before this run decided"
                        );
                    }
                    self.verified.push(text);
                    return Ok(until.clone());
                }
            }
            if let Some(service) = &service
                && let Some(c) = super::progress::Counts::of(service, &anchor.deployment_id)
            {
                let waiting = match baking_since {
                    Some(since) => format!(
                        "ferry's bake: {} left",
                        crate::eval::duration_text((since + bake).saturating_sub(now))
                    ),
                    None if done => "waiting for the gates".to_owned(),
                    None => standing_text.clone(),
                };
                self.emit(&Event::Progress {
                    service: anchor.service.clone(),
                    deployment_id: anchor.deployment_id.clone(),
                    desired: c.desired,
                    running: c.running,
                    pending: c.pending,
                    failed: c.failed,
                    rollout_state: record.as_ref().map(|r| r.status.clone()),
                    old: c.old,
                    draining: c.draining,
                    elapsed_ms: now - started,
                    left_ms: (started + timeout).saturating_sub(now),
                    waiting,
                });
            }
            let mut wake = super::watch::next_wake(
                now + POLL_MS,
                now,
                shifted,
                &gates,
                baking_since,
                bake,
                &probes,
            );
            if !test_decided && record.as_ref().is_some_and(|r| r.awaiting_pause().is_some()) {
                wake = super::watch::next_wake(wake, now, true, &test_gates, None, 0, &[]);
            }
            if step.fail_fast.is_some()
                && let Some(at) = stopped_looked
            {
                wake = wake.min((at + super::progress::SLOW_MS).max(now));
            }
            self.sleep(wake.saturating_sub(now).max(1)).await?;
        }
    }

    /// A gate's attempt `ran`: a gate failure rolls the deployment back
    /// (`roll_back_on_gate`); any other error stands.
    async fn rolled_back_on_failure(
        &mut self,
        arn: &str,
        anchor: &Anchor,
        ran: Result<(), StepError>,
    ) -> Result<(), StepError> {
        match ran {
            Err(StepError::Deployment {
                failure: Failure::GateFailed { gate, reason }, ..
            }) => Err(self.roll_back_on_gate(arn, anchor, gate, reason).await),
            other => other,
        }
    }

    /// ferry continued its PAUSE hook with `action`.
    fn hook_continued(&mut self, anchor: &Anchor, hook_id: String, action: &str) {
        self.emit(&Event::HookContinued {
            service: anchor.service.clone(),
            deployment_id: anchor.deployment_id.clone(),
            hook_id,
            action: action.to_owned(),
        });
    }

    /// A gate failed while our blue/green deployment runs: ask ECS to roll it back, which
    /// moves traffic back to the old revision at once; the verdict then verifies the
    /// rollback. A deployment that already ended, or a refused stop, is reported as the
    /// gate's failure alone.
    async fn roll_back_on_gate(
        &mut self,
        arn: &str,
        anchor: &Anchor,
        gate: String,
        reason: String,
    ) -> StepError {
        let failure = match self.ecs.service_deployment(arn).await {
            // Held by ferry's PAUSE hook: continued with ROLLBACK.
            Ok(Some(record)) if record.awaiting_pause().is_some() => {
                let hook = record.awaiting_pause().unwrap_or_default().to_owned();
                match self.ecs.continue_deployment(arn, &hook, true).await {
                    Ok(()) => {
                        self.hook_continued(anchor, hook, "ROLLBACK");
                        Failure::GateRolledBack { gate, reason }
                    }
                    Err(error) => {
                        self.emit(&Event::Warning {
                            message: format!(
                                "{error}; the deployment was not rolled back (the hook's \
                                 timeout rolls it back)"
                            ),
                        });
                        Failure::GateFailed { gate, reason }
                    }
                }
            }
            // In CLEAN_UP the old revision is already stopping: nothing to move back to.
            Ok(Some(record))
                if record.status == "IN_PROGRESS"
                    && record.lifecycle_stage.as_deref() != Some("CLEAN_UP") =>
            {
                match self.ecs.roll_back(arn).await {
                    Ok(()) => Failure::GateRolledBack { gate, reason },
                    Err(error) => {
                        self.emit(&Event::Warning {
                            message: format!("{error}; the deployment was not rolled back"),
                        });
                        Failure::GateFailed { gate, reason }
                    }
                }
            }
            _ => Failure::GateFailed { gate, reason },
        };
        StepError::Deployment { service: anchor.service.clone(), failure }
    }

    /// A gate that failed at the verdict (its deadline, a probe's error rate): reported as
    /// a gate failure, and rolled back as `roll_back_on_gate` does.
    async fn gate_failed_staged(
        &mut self,
        arn: &str,
        anchor: &Anchor,
        gate: &str,
        reason: String,
    ) -> StepError {
        self.emit(&Event::GateFailed {
            service: anchor.service.clone(),
            gate: gate.to_owned(),
            reason: reason.clone(),
        });
        self.roll_back_on_gate(arn, anchor, gate.to_owned(), reason).await
    }
}

/// What was verified of a blue/green deployment, for the final line.
fn verified_text(
    anchor: &Anchor,
    until: &str,
    stage: Option<&str>,
    gates: &[&[super::gates::Gate]; 2],
    bake_ms: u64,
    ecs_bake_ms: u64,
) -> String {
    let mut parts = vec![format!(
        "blue/green deployment {} {}",
        anchor.deployment_id,
        match until {
            "serving" => "running in full and healthy",
            "traffic_shifted" => "serving production traffic",
            _ => "completed (SUCCESSFUL)",
        }
    )];
    if let Some(stage) = stage.filter(|_| until != "completed") {
        parts.push(format!("at {stage}"));
    }
    if !anchor.digests.is_empty() {
        parts.push("its tasks run the pushed digests".to_owned());
    }
    for gate in gates[0].iter().filter(|g| g.passed()) {
        parts.push(format!("gate {} passed on test traffic before production moved", gate.name));
    }
    for gate in gates[1] {
        parts.push(format!("gate {} passed", gate.name));
    }
    if bake_ms > 0 {
        parts.push(format!("baked {}", crate::eval::duration_text(bake_ms)));
    }
    let mut text = format!(
        "deployed and verified: `{}` runs {}: {}",
        anchor.service,
        anchor.task_definition,
        parts.join(", ")
    );
    if until != "completed" {
        text = format!(
            "{text}; ECS goes on: it bakes {} with the old revision kept for an instant \
             rollback, then stops it — ferry leaves that to ECS",
            crate::eval::duration_text(ecs_bake_ms),
        );
    }
    text
}
