//! `verify`: watching what the update did. Our deployment is polled and judged
//! (`verdict.rs`) until it serves — every desired task of ours healthy, as ECS counts
//! healthy — or completes, with fail-fast on stopped tasks of ours, the gates once it
//! serves and through `bake`, and the timeout. Behind load balancers, serving and
//! completed also need every running task of ours to be a healthy target in every target
//! group of the service (`targets.rs`). A settings-only update is watched until the
//! service settles at its desired count. The final line says what was verified.

use super::change::{VerifyChange, Watch};
use super::event::Event;
use super::probe::Probe;
use super::progress::{Counts, Poller, SLOW_MS, Stage, waiting};
use super::runner::{POLL_MS, Runner, StepError};
use super::targets::{Expect, TargetCheck, check_targets};
use super::verdict::{
    Anchor, Failure, Standing, check_digests, failed_tasks, healthy_at, healthy_tasks, judge,
    settled_on,
};
use crate::aws::{AwsError, ServiceView, TaskView};
use crate::eval::VerifyStep;

/// How long our deployment may stay out of sight after UpdateService before it counts as
/// vanished (eventually consistent reads show it within seconds).
const NOT_SEEN_LIMIT_MS: u64 = 3 * 60_000;

impl Runner<'_> {
    pub(super) async fn verify(
        &mut self,
        step: &VerifyStep,
        change: &VerifyChange,
    ) -> Result<String, StepError> {
        match &change.watch {
            Watch::Nothing => Ok("nothing to verify".to_owned()),
            Watch::Scaling { timeout_ms, .. } => {
                self.ecs.set_deadline(self.real_deadline(*timeout_ms));
                let watched = self.watch_scaling(&change.step, *timeout_ms).await;
                self.ecs.set_deadline(None);
                watched
            }
            Watch::Deployment { timeout_ms, .. } => {
                // The timeout bounds the step's wall time: no call waits past it.
                self.ecs.set_deadline(self.real_deadline(*timeout_ms));
                let watched = self.watch_deployment(step, change).await;
                self.ecs.set_deadline(None);
                watched
            }
        }
    }

    async fn watch_scaling(&mut self, step: &str, timeout_ms: u64) -> Result<String, StepError> {
        let Some((cluster, request)) = self.scaled.get(step).cloned() else {
            return Ok("nothing to verify".to_owned());
        };
        let service = request.service.clone();
        let started = self.clock.now_ms();
        loop {
            match self.ecs.service(&cluster, &service).await {
                Ok(Some(view)) => {
                    // Every setting sent shows, and the service runs its desired count.
                    if super::runner::settings_applied(&request, &view)
                        && settled_on(&view, &view.task_definition)
                    {
                        self.emit(&Event::Scaled {
                            service: service.clone(),
                            running: view.running,
                            desired: view.desired,
                        });
                        self.verified.push(format!(
                            "`{service}`: settings changed, no deployment; {} running of {} \
                             desired on {}, settled",
                            view.running, view.desired, view.task_definition
                        ));
                        return Ok("settled".to_owned());
                    }
                }
                Ok(None) => {
                    return Err(StepError::Deployment { service, failure: Failure::ServiceGone });
                }
                Err(error) if error.is_transient() => {
                    self.emit(&Event::Warning { message: format!("{error}; trying again") });
                }
                Err(error) => return Err(error.into()),
            }
            if self.clock.now_ms() - started > timeout_ms {
                return Err(StepError::Deployment {
                    service,
                    failure: Failure::TimedOut {
                        after_ms: timeout_ms,
                        standing: "the service did not settle at its desired count".to_owned(),
                    },
                });
            }
            self.sleep(POLL_MS).await?;
        }
    }

    async fn watch_deployment(
        &mut self,
        step: &VerifyStep,
        change: &VerifyChange,
    ) -> Result<String, StepError> {
        let Some((cluster, anchor)) = self.anchors.get(&change.step).cloned() else {
            return Ok("nothing to verify".to_owned());
        };
        let Watch::Deployment { until, timeout_ms, bake_ms, strategy, .. } = &change.watch else {
            return Ok("nothing to verify".to_owned());
        };
        if strategy.is_staged() || anchor.staged {
            return self.watch_stages(step, change, &cluster, &anchor).await;
        }
        let timeout = *timeout_ms;
        let bake = *bake_ms;
        let until_serving = until == "serving";
        let mut gates = self.prepare_gates(&step.gates, timeout)?;
        let policy = super::gates::network_policy(step);
        // Probes run from now (right after UpdateService) to the verdict.
        let now = self.clock.now_ms();
        let mut probes: Vec<Probe> = step.gates.iter().filter_map(|g| Probe::of(g, now)).collect();
        // When the rollout reached `until` and every gate passed: bake runs from then.
        let mut done: Option<&'static str> = None;
        let mut baking_since: Option<u64> = None;
        let started = self.clock.now_ms();
        let mut seen = false;
        let mut events_seen: Vec<String> = anchor.known_events.clone();
        let mut stopped_seen: Vec<String> = Vec::new();
        let mut poller = Poller::default();
        let mut last_counts: Option<(Counts, Option<String>)> = None;
        // When fail-fast last listed our stopped tasks (virtual ms).
        let mut stopped_looked: Option<u64> = None;
        let mut serving_reported = false;
        let mut standing_text = "waiting for our deployment to show".to_owned();
        // When tasks of ours without a health check will count as healthy (epoch ms).
        let mut recheck_at: i64 = 0;
        // How many of ours counted as healthy at the last look at their tasks.
        let mut last_healthy: usize = 0;
        // Load balancer problems already reported.
        let mut targets_reported: Vec<String> = Vec::new();
        // Behind load balancers, once ours serve: until when the old tasks may drain (the
        // groups' longest deregistration delay from then, the runner's clock). No need
        // to look every second before it.
        let mut drained_by: Option<u64> = None;
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
                    failure: Failure::TimedOut { after_ms: timeout, standing: standing_text },
                });
            }
            self.run_due_probes(&mut probes, &policy, &anchor).await?;
            let service = match self.ecs.service(&cluster, &anchor.service).await {
                Ok(service) => service,
                Err(error) if error.is_transient() => {
                    self.emit(&Event::Warning { message: format!("{error}; trying again") });
                    let delay = poller.throttled();
                    self.sleep(delay).await?;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let counts = service.as_ref().and_then(|s| Counts::of(s, &anchor.deployment_id));
            let rollout_state = service
                .as_ref()
                .and_then(|s| s.deployment(&anchor.deployment_id))
                .and_then(|d| d.rollout_state.clone());
            let now_counts = counts.map(|c| (c, rollout_state));
            let changed = now_counts != last_counts;
            // A task of ours that stopped shows as fewer running or more failed.
            let fewer = match (&last_counts, &counts) {
                (Some((was, _)), Some(now)) => now.running < was.running || now.failed > was.failed,
                _ => false,
            };
            last_counts = now_counts;
            let messages = self.new_events(&anchor, service.as_ref(), &mut events_seen);
            if service.as_ref().is_some_and(|s| s.deployment(&anchor.deployment_id).is_some()) {
                seen = true;
            }
            // Fail fast on stopped tasks of ours: listed when the counts say one stopped,
            // and at least every SLOW_MS.
            let now = self.clock.now_ms();
            let list_stopped = fewer || stopped_looked.is_none_or(|at| now >= at + SLOW_MS);
            if seen
                && list_stopped
                && let Some(limit) = step.fail_fast
                && let Some(failure) = self
                    .fail_fast(
                        &cluster,
                        &anchor,
                        limit,
                        now,
                        &mut stopped_looked,
                        &mut stopped_seen,
                    )
                    .await
            {
                return Err(StepError::Deployment { service: anchor.service.clone(), failure });
            }
            let mut standing = judge(&anchor, service.as_ref(), seen);
            let mut unhealthy: Option<usize> = None;
            if standing == Standing::Serving && !serving_reported {
                // Running is not serving: every desired task of ours must count as healthy.
                let desired = service
                    .as_ref()
                    .and_then(|s| s.deployment(&anchor.deployment_id))
                    .map_or(0, |d| d.desired);
                let why = if anchor.health_check {
                    " (their health checks)"
                } else {
                    " (no health check: healthy 40 s after RUNNING)"
                };
                if self.epoch_now_ms() < recheck_at {
                    // Tasks without a health check count at a known time: no need to look sooner.
                    unhealthy = Some(last_healthy);
                    standing = Standing::Rolling(format!("{desired} of ours running{why}"));
                } else {
                    let tasks = match self
                        .ecs
                        .deployment_tasks(&cluster, &anchor.service, &anchor.deployment_id)
                        .await
                    {
                        Ok(tasks) => tasks,
                        Err(error) => {
                            self.emit(&Event::Warning {
                                message: format!(
                                    "{error}; the tasks' health is read again at the next poll"
                                ),
                            });
                            Vec::new()
                        }
                    };
                    let healthy = healthy_tasks(&anchor, &tasks, self.epoch_now_ms());
                    last_healthy = healthy;
                    if healthy < usize::try_from(desired).unwrap_or(0) {
                        unhealthy = Some(healthy);
                        recheck_at = healthy_at(&anchor, &tasks).unwrap_or(0);
                        standing = Standing::Rolling(format!(
                            "{desired} of ours running, {healthy} healthy{why}"
                        ));
                    }
                }
            }
            // Behind load balancers, running and healthy is not serving until the load
            // balancers say so of every task of ours — and they must go on saying so
            // through `bake`. Read when the rollout first serves, when it completes, and
            // while baking; not while old tasks drain (ECS replaces a task whose target
            // fails, and that shows in its counts).
            let mut targets_stage: Option<Stage> = None;
            let judging = match standing {
                Standing::Serving => !serving_reported,
                Standing::Completed => done.is_none(),
                _ => false,
            };
            if !anchor.load_balancers.is_empty() && (done.is_some() || judging) {
                match self.target_check(&cluster, &anchor, service.as_ref()).await {
                    Ok(check) => {
                        self.report_targets(&anchor, &check, &mut targets_reported);
                        if !check.serving() && done.is_some() {
                            return Err(StepError::Deployment {
                                service: anchor.service.clone(),
                                failure: Failure::TargetsNotHealthy { standing: check.describe() },
                            });
                        }
                        if !check.serving() {
                            targets_stage = Some(Stage::Targets {
                                healthy: check.healthy.min(check.expected),
                                expected: check.expected,
                            });
                            standing = Standing::Rolling(check.describe());
                        } else if drained_by.is_none() {
                            let delay = self.ecs.longest_drain_ms(&anchor.load_balancers).await;
                            drained_by = Some(self.clock.now_ms() + delay);
                        }
                    }
                    Err(error) if error.is_transient() => {
                        self.emit(&Event::Warning {
                            message: format!(
                                "{error}; the targets' health is read again at the next poll"
                            ),
                        });
                        if done.is_none() {
                            targets_stage = Some(Stage::TargetsUnread);
                            standing = Standing::Rolling(format!(
                                "the targets' health could not be read: {error}"
                            ));
                        }
                    }
                    // Interrupted, or refused for good (a missing IAM permission): ferry
                    // cannot say the rollout serves.
                    Err(error) => return Err(error.into()),
                }
            }
            if !seen && self.clock.now_ms() - started > NOT_SEEN_LIMIT_MS {
                standing = Standing::Failed(Failure::Vanished {
                    runs: service
                        .as_ref()
                        .and_then(|s| s.primary())
                        .map(|p| format!("{} (deployment {})", p.task_definition, p.id)),
                });
            }
            match standing {
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
                    "serving; ECS has not completed the deployment".clone_into(&mut standing_text);
                    self.emit(&Event::Serving {
                        service: anchor.service.clone(),
                        deployment_id: anchor.deployment_id.clone(),
                    });
                    if until_serving {
                        self.confirm_digests(&cluster, &anchor).await?;
                        done = Some("serving");
                    }
                }
                Standing::Rolling(text) => standing_text = text,
                Standing::Completed | Standing::Serving => {}
            }
            // Gates run once the rollout serves, and on through bake.
            if serving_reported && !gates.is_empty() {
                self.run_due_gates(&mut gates, &policy, &cluster, &anchor, &messages).await?;
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
                    let tallies = match self.finish_probes(&anchor, &probes) {
                        Ok(tallies) => tallies,
                        Err((name, reason)) => return Err(self.gate_failed(&anchor, &name, reason)),
                    };
                    let mut text = verified_text(&anchor, label, &gates, bake);
                    if !tallies.is_empty() {
                        text = format!("{text}; {}", tallies.join("; "));
                    }
                    self.verified.push(text);
                    return Ok(label.to_owned());
                }
            }
            let now = self.clock.now_ms();
            let stage = if !seen {
                Stage::NotSeen
            } else if let Some(since) = baking_since {
                Stage::Baking { left_ms: (since + bake).saturating_sub(now) }
            } else if let Some(gate) = gates.iter().find(|g| done.is_some() && !g.passed()) {
                Stage::Gate(gate.name.clone())
            } else if let Some(stage) = targets_stage {
                stage
            } else if let Some(healthy) = unhealthy {
                Stage::Unhealthy { healthy, checked: anchor.health_check }
            } else if serving_reported {
                Stage::Serving
            } else {
                Stage::Rolling
            };
            if let Some(c) = counts {
                self.emit(&Event::Progress {
                    service: anchor.service.clone(),
                    deployment_id: anchor.deployment_id.clone(),
                    desired: c.desired,
                    running: c.running,
                    pending: c.pending,
                    failed: c.failed,
                    rollout_state: last_counts.as_ref().and_then(|(_, s)| s.clone()),
                    old: c.old,
                    draining: c.draining,
                    elapsed_ms: now - started,
                    left_ms: (started + timeout).saturating_sub(now),
                    waiting: waiting(Some(&c), &stage),
                });
            }
            // Wake for the next poll, the next gate attempt or the end of bake.
            // Old tasks draining behind a load balancer do not show in the counts: ECS
            // completes after the delay, not at once.
            let draining = drained_by.is_some_and(|by| now + 2 * super::progress::FAST_MS < by);
            let near = done.is_none() && counts.is_some_and(|c| c.near()) && !draining;
            let delay = poller.answered(near, changed);
            let mut wake =
                next_wake(now + delay, now, serving_reported, &gates, baking_since, bake, &probes);
            // Fail-fast lists our stopped tasks at least every SLOW_MS, however slow the
            // poll has grown.
            if seen
                && step.fail_fast.is_some()
                && let Some(at) = stopped_looked
            {
                wake = wake.min((at + SLOW_MS).max(now));
            }
            self.sleep(wake.saturating_sub(now).max(1)).await?;
        }
    }

    /// Our running tasks against the service's target groups: DescribeTasks, then
    /// `group_health`.
    async fn target_check(
        &self,
        cluster: &str,
        anchor: &Anchor,
        service: Option<&ServiceView>,
    ) -> Result<TargetCheck, AwsError> {
        let tasks =
            self.ecs.deployment_tasks(cluster, &anchor.service, &anchor.deployment_id).await?;
        let ours: Vec<&TaskView> = tasks
            .iter()
            .filter(|t| t.last_status == "RUNNING" && t.started_by == anchor.deployment_id)
            .collect();
        let count = |n: i32| usize::try_from(n).unwrap_or(0);
        let expect = Expect {
            desired: service
                .and_then(|s| s.deployment(&anchor.deployment_id))
                .map_or(0, |d| count(d.desired)),
            service_running: service.map_or(0, |s| count(s.running)),
        };
        let read = self.ecs.group_health(&anchor.load_balancers).await?;
        Ok(check_targets(&read, &ours, expect))
    }

    /// Reports each lasting problem with a target of ours once: unhealthy (with ELB's
    /// reason code), unused, or no group or address to be a target of. `initial` and a
    /// registration not yet visible are the normal way to healthy, not reported.
    fn report_targets(&mut self, anchor: &Anchor, check: &TargetCheck, seen: &mut Vec<String>) {
        for problem in &check.not_healthy {
            if matches!(problem.state.as_str(), "initial" | "not registered") {
                continue;
            }
            let key = problem.describe();
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            self.emit(&Event::TargetNotHealthy {
                service: anchor.service.clone(),
                target_group: problem.group.clone(),
                task: problem.task.clone(),
                target: problem.target.clone(),
                state: problem.state.clone(),
                reason: problem.reason.clone(),
                description: problem.description.clone(),
            });
        }
    }

    /// One fail-fast look: our stopped tasks listed (`looked` set when the listing
    /// worked), each failed one reported once, and the failure once `limit` of them
    /// stopped.
    pub(super) async fn fail_fast(
        &mut self,
        cluster: &str,
        anchor: &Anchor,
        limit: u32,
        now: u64,
        looked: &mut Option<u64>,
        reported: &mut Vec<String>,
    ) -> Option<Failure> {
        let stopped =
            match self.ecs.stopped_tasks(cluster, &anchor.service, &anchor.deployment_id).await {
                Ok(stopped) => {
                    // A failed listing is tried again at the next poll.
                    *looked = Some(now);
                    stopped
                }
                Err(error) => {
                    self.emit(&Event::Warning {
                        message: format!("{error}; fail-fast looks again at the next poll"),
                    });
                    Vec::new()
                }
            };
        let failed = failed_tasks(&stopped);
        for task in &failed {
            if !reported.contains(&task.arn) {
                reported.push(task.arn.clone());
                self.emit(&Event::TaskStopped {
                    service: anchor.service.clone(),
                    task: task.arn.rsplit('/').next().unwrap_or(&task.arn).to_owned(),
                    stop_code: task.stop_code.clone(),
                    reason: task.reason.clone(),
                    exit_codes: task.containers.iter().map(|(n, c, _)| (n.clone(), *c)).collect(),
                    containers: task
                        .containers
                        .iter()
                        .filter_map(|(n, c, r)| {
                            super::stopped::container_words(n, *c, r.as_deref())
                        })
                        .collect(),
                });
            }
        }
        (failed.len() >= limit as usize).then_some(Failure::FailFast { stopped: failed })
    }

    /// Emits the service's events not seen before, oldest first; returns every event's
    /// message (for the gates' `ctx.events`).
    pub(super) fn new_events(
        &mut self,
        anchor: &Anchor,
        service: Option<&ServiceView>,
        seen: &mut Vec<String>,
    ) -> Vec<String> {
        let Some(current) = service else { return Vec::new() };
        for event in current.events.iter().rev() {
            if !seen.contains(&event.id) {
                seen.push(event.id.clone());
                self.emit(&Event::ServiceEvent {
                    service: anchor.service.clone(),
                    message: event.message.clone(),
                });
            }
        }
        current.events.iter().map(|e| e.message.clone()).collect()
    }

    /// The probe gates at the verdict: each one's figures reported, and its tally for the
    /// final line — or the first that failed, with why.
    pub(super) fn finish_probes(
        &mut self,
        anchor: &Anchor,
        probes: &[Probe],
    ) -> Result<Vec<String>, (String, String)> {
        let mut tallies = Vec::new();
        for probe in probes {
            let (sent, failed, p50_ms, p99_ms, max_ms) = probe.figures();
            self.emit(&Event::ProbeFinished {
                service: anchor.service.clone(),
                gate: probe.name.clone(),
                sent,
                failed,
                p50_ms,
                p99_ms,
                max_ms,
            });
            match probe.verdict() {
                Ok(summary) => tallies.push(format!("{} {summary}", probe.name)),
                Err(reason) => return Err((probe.name.clone(), reason)),
            }
        }
        Ok(tallies)
    }

    pub(super) async fn confirm_digests(
        &mut self,
        cluster: &str,
        anchor: &Anchor,
    ) -> Result<(), StepError> {
        if anchor.digests.is_empty() {
            return Ok(());
        }
        let tasks =
            self.ecs.deployment_tasks(cluster, &anchor.service, &anchor.deployment_id).await?;
        check_digests(anchor, &tasks)
            .map_err(|failure| StepError::Deployment { service: anchor.service.clone(), failure })
    }
}

/// When to look next: at `poll` at the latest, sooner for a gate attempt due (once gates
/// run), the end of `bake`, or a probe's next request.
pub(super) fn next_wake(
    poll: u64,
    now: u64,
    gates_run: bool,
    gates: &[super::gates::Gate],
    baking_since: Option<u64>,
    bake: u64,
    probes: &[Probe],
) -> u64 {
    let mut wake = poll;
    for gate in gates {
        if gates_run
            && !matches!(gate.schedule.standing, crate::gates::schedule::Standing::Failed { .. })
        {
            wake = wake.min(gate.schedule.next_ms.max(now));
        }
    }
    if let Some(since) = baking_since {
        wake = wake.min(since + bake);
    }
    for probe in probes {
        wake = wake.min(probe.next_ms.max(now));
    }
    wake
}

/// What was verified of one service, for the final line.
fn verified_text(
    anchor: &Anchor,
    label: &str,
    gates: &[super::gates::Gate],
    bake_ms: u64,
) -> String {
    let mut parts = vec![format!(
        "deployment {} {}",
        anchor.deployment_id,
        if label == "serving" {
            "serving (every desired task of ours healthy)"
        } else {
            "completed"
        }
    )];
    if !anchor.load_balancers.is_empty() {
        let mut groups: Vec<&str> = anchor
            .load_balancers
            .iter()
            .map(|l| l.target_group.split('/').nth(1).unwrap_or(&l.target_group))
            .collect();
        groups.dedup();
        parts.push(format!(
            "every task of ours a healthy target of {}",
            groups.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !anchor.digests.is_empty() {
        parts.push("its tasks run the pushed digests".to_owned());
    }
    for gate in gates {
        parts.push(format!("gate {} passed", gate.name));
    }
    if bake_ms > 0 {
        parts.push(format!("baked {}", crate::eval::duration_text(bake_ms)));
    }
    format!(
        "deployed and verified: `{}` runs {}: {}",
        anchor.service,
        anchor.task_definition,
        parts.join(", ")
    )
}
