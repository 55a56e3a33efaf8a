//! One scheduler pass: tasks of the PRIMARY deployment started within `max` and the
//! cluster's room, older (and extra) tasks stopped while `min_healthy` allows, the PRIMARY
//! completed, and a rollout that can neither start nor stop a task reported (§1.1–§1.3).

use super::{Action, Launcher, Rollout};
use crate::local::deployment::{DeploymentStatus, RolloutState};
use crate::local::ids::Ids;
use crate::local::target_health::{TaskTarget, task_instance, task_ip};
use crate::local::task::{LaunchSpec, Stop, StopCode, Task, TaskState};

impl Rollout {
    /// One scheduler pass at `now`.
    pub(super) fn pass(
        &mut self,
        now: u64,
        launcher: &mut dyn Launcher,
        ids: &mut Ids,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        self.circuit_breaker(now);
        self.alarm_check(now, launcher);
        let Some(primary) = self.primary().cloned() else { return actions };
        if primary.stage.is_some() && primary.rollout != RolloutState::Completed {
            self.staged_pass(&primary, now, launcher, ids, &mut actions);
            return actions;
        }
        let desired = self.config.desired;
        let lower = self.config.lower();
        let upper = self.config.upper();

        // The stop pass first: tasks of older deployments (and extra PRIMARY tasks) stop
        // while `min_healthy` allows — those not yet counted healthy first, but never
        // below the minimum either, since they may be about to count.
        let stopped = self.stop_pass(&primary.id, lower, now);
        if stopped.is_empty() {
            // The start pass, in a pass that stopped nothing: the room stops free is
            // started into once those tasks are gone (AWS's documented rounds: with
            // minimumHealthyPercent 50 and room for 8, stop 3, start 5, stop 3, start 1).
            self.start_pass(&primary, desired, upper, now, launcher, ids, &mut actions);
        } else {
            self.stopped_events(stopped, now, &mut actions);
        }

        self.complete(now);
        if actions.is_empty() {
            self.cannot_progress(now);
        }
        actions
    }

    /// ECS's events for tasks a pass stopped (`(deployment id, task id)`), and its actions.
    pub(super) fn stopped_events(
        &mut self,
        stopped: Vec<(String, String)>,
        now: u64,
        actions: &mut Vec<Action>,
    ) {
        let ids: Vec<String> = stopped.iter().map(|(_, id)| id.clone()).collect();
        self.draining_events(&ids, now);
        let list: Vec<String> = stopped.iter().map(|(_, id)| format!("(task {id})")).collect();
        let count = stopped.len();
        let plural = if count == 1 { "task" } else { "tasks" };
        self.event(
            format!(
                "(service {}) has stopped {count} running {plural}: {}.",
                self.service,
                list.join(" ")
            ),
            now,
        );
        let mut by_deployment: Vec<(String, u32)> = Vec::new();
        for (deployment_id, _) in stopped {
            match by_deployment.iter_mut().find(|(id, _)| *id == deployment_id) {
                Some((_, n)) => *n += 1,
                None => by_deployment.push((deployment_id, 1)),
            }
        }
        actions.extend(by_deployment.into_iter().map(|(deployment_id, count)| Action {
            at_ms: now,
            start: false,
            deployment_id,
            count,
        }));
    }

    /// The start pass: first a task for each task of an older deployment that died
    /// mid-rollout (replaced with its own revision, as ECS does since 2025-11), then tasks
    /// of the PRIMARY, within `max` and the cluster's room.
    #[allow(clippy::too_many_arguments, reason = "one pass's inputs, named")]
    fn start_pass(
        &mut self,
        primary: &crate::local::deployment::Deployment,
        desired: u32,
        upper: u32,
        now: u64,
        launcher: &mut dyn Launcher,
        ids: &mut Ids,
        actions: &mut Vec<Action>,
    ) {
        let occupied = self.tasks.iter().filter(|t| t.state != TaskState::Stopped).count() as u32;
        let mut capacity_room =
            self.config.capacity.map_or(u32::MAX, |c| c.saturating_sub(occupied));
        let mut room = upper.saturating_sub(self.active(None));
        let replacing: Vec<(crate::local::deployment::Deployment, u32)> = self
            .deployments
            .iter()
            .filter(|d| d.status == DeploymentStatus::Active && d.throttled_until_ms <= now)
            .filter(|d| d.rollout != RolloutState::Failed)
            .filter_map(|d| {
                let keep = d.keep?;
                let missing = keep.saturating_sub(self.active(Some(&d.id)));
                (missing > 0).then(|| (d.clone(), missing))
            })
            .collect();
        for (deployment, missing) in replacing {
            let starts = missing.min(room).min(capacity_room);
            if starts > 0 {
                self.launch(&deployment, starts, now, launcher, ids, actions);
                room -= starts;
                capacity_room = capacity_room.saturating_sub(starts);
            }
        }
        let launches_allowed =
            primary.rollout != RolloutState::Failed && primary.throttled_until_ms <= now;
        let need = desired.saturating_sub(self.active(Some(&primary.id)));
        let starts = if launches_allowed { need.min(room).min(capacity_room) } else { 0 };
        if starts > 0 {
            self.launch(primary, starts, now, launcher, ids, actions);
        } else if launches_allowed && need > 0 && room > 0 && capacity_room == 0 {
            self.event_once(
                format!(
                    "(service {}) was unable to place a task because no container instance met all \
                     of its requirements.",
                    self.service
                ),
                now,
            );
        }
    }

    /// Starts `count` tasks of `deployment`'s revision.
    pub(super) fn launch(
        &mut self,
        deployment: &crate::local::deployment::Deployment,
        count: u32,
        now: u64,
        launcher: &mut dyn Launcher,
        ids: &mut Ids,
        actions: &mut Vec<Action>,
    ) {
        let mut started = Vec::new();
        for _ in 0..count {
            let behaviour = launcher.behaviour(&deployment.revision);
            let id = ids.task_id();
            let targets = self
                .config
                .target_groups
                .iter()
                .filter(|link| link.side.takes(deployment.alternate))
                .map(|link| TaskTarget {
                    group_arn: link.group_arn.clone(),
                    container: link.container.clone(),
                    id: if link.target_type == "ip" { task_ip(&id) } else { task_instance(&id) },
                    port: link.container_port,
                    timing: link.timing,
                    fate: None,
                })
                .collect();
            let spec = LaunchSpec {
                id,
                deployment_id: deployment.id.clone(),
                task_definition_arn: deployment.revision.arn.clone(),
                has_health_check: deployment.revision.has_health_check,
                stop_timeout_ms: deployment.revision.stop_timeout_ms,
                drain_ms: self.config.drain_ms,
                targets,
            };
            let task = Task::launch(spec, behaviour, now);
            started.push(task.id.clone());
            self.tasks.push(task);
        }
        let list: Vec<String> = started.iter().map(|id| format!("(task {id})")).collect();
        let plural = if count == 1 { "task" } else { "tasks" };
        self.event(
            format!("(service {}) has started {count} {plural}: {}.", self.service, list.join(" ")),
            now,
        );
        actions.push(Action {
            at_ms: now,
            start: true,
            deployment_id: deployment.id.clone(),
            count,
        });
    }

    /// The stop pass: returns the tasks it stopped, with their deployments. A task
    /// counted healthy stops while more than `lower` are; one not yet counted healthy
    /// only while at least `lower` are (below the minimum, a task on its way to counting
    /// — a replacement — stays), and a RUNNING one of those only while more than `lower`
    /// tasks are RUNNING: the minimum is of RUNNING tasks, so a rollout that arrives while
    /// the previous one's tasks are young never takes the service below it.
    fn stop_pass(&mut self, primary_id: &str, lower: u32, now: u64) -> Vec<(String, String)> {
        let desired = self.config.desired;
        let mut healthy_total = self.healthy(None, now);
        let mut running_total =
            self.tasks.iter().filter(|t| t.is_active() && t.state == TaskState::Running).count()
                as u32;
        let mut extra_primary = self.active(Some(primary_id)).saturating_sub(desired);
        let mut stopped: Vec<(String, String)> = Vec::new();
        let mut order: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| {
                let task = &self.tasks[i];
                task.is_active() && (task.deployment_id != primary_id || extra_primary > 0)
            })
            .collect();
        order.sort_by_key(|&i| {
            (
                self.tasks[i].is_healthy(now),
                self.tasks[i].deployment_id == primary_id,
                self.tasks[i].created_ms,
            )
        });
        for i in order {
            let is_primary = self.tasks[i].deployment_id == primary_id;
            if is_primary && extra_primary == 0 {
                continue;
            }
            let healthy = self.tasks[i].is_healthy(now);
            let running = self.tasks[i].state == TaskState::Running;
            // Below the minimum, a task on its way to counting (a replacement) stays.
            let short = !healthy && healthy_total < lower;
            if (healthy && healthy_total <= lower) || (running && running_total <= lower) || short {
                continue;
            }
            if healthy {
                healthy_total -= 1;
            }
            if running {
                running_total -= 1;
            }
            if is_primary {
                extra_primary -= 1;
            }
            let reason = format!("Scaling activity initiated by (deployment {primary_id})");
            let task = &mut self.tasks[i];
            task.request_stop(
                Stop {
                    code: StopCode::ServiceSchedulerInitiated,
                    reason,
                    exit_code: None,
                    container_reason: None,
                    failure: false,
                },
                now,
            );
            let deployment_id = task.deployment_id.clone();
            stopped.push((deployment_id.clone(), task.id.clone()));
            if let Some(deployment) = self.deployments.iter_mut().find(|d| d.id == deployment_id) {
                deployment.keep = deployment.keep.map(|k| k.saturating_sub(1));
            }
        }
        stopped
    }

    /// The PRIMARY completes when it runs `desired` healthy tasks and no other deployment
    /// has a task left; the others then drop out of the list.
    pub(super) fn complete(&mut self, now: u64) {
        let Some(primary) = self.primary().cloned() else { return };
        if primary.rollout != RolloutState::InProgress {
            return;
        }
        let desired = self.config.desired;
        let own_healthy = self.healthy(Some(&primary.id), now);
        let others_left = self
            .tasks
            .iter()
            .any(|t| t.deployment_id != primary.id && t.state != TaskState::Stopped);
        // Early success (rolling only): a share of desired healthy is enough, the rest
        // starts on; DEFERRED leaves the old revision's clean-up to after success.
        let early = self.config.early_success.filter(|_| primary.stage.is_none());
        let needed = early.map_or(desired, |e| (desired * e.healthy_percent).div_ceil(100));
        let scaled = early.is_some() || self.active(Some(&primary.id)) == desired;
        let cleaned = early.is_some_and(|e| e.deferred) || !others_left;
        if own_healthy < needed || !scaled || !cleaned {
            return;
        }
        for deployment in &mut self.deployments {
            if deployment.id == primary.id {
                deployment.rollout = RolloutState::Completed;
                deployment.reason = format!("ECS deployment {} completed.", deployment.id);
                deployment.completed_ms = Some(now);
                deployment.updated_ms = now;
            } else {
                deployment.status = DeploymentStatus::Inactive;
            }
        }
        self.deployments.retain(|d| d.status != DeploymentStatus::Inactive);
        self.event(
            format!("(service {}) (deployment {}) deployment completed.", self.service, primary.id),
            now,
        );
        self.event(format!("(service {}) has reached a steady state.", self.service), now);
    }

    /// Reports a deployment that can neither start nor stop a task (§1.3).
    fn cannot_progress(&mut self, now: u64) {
        let Some(primary) = self.primary().cloned() else { return };
        if primary.rollout != RolloutState::InProgress {
            return;
        }
        let in_flight = self.tasks.iter().any(|t| match t.state {
            TaskState::Pending | TaskState::Deactivating | TaskState::Stopping => true,
            TaskState::Running => {
                !t.is_healthy(now)
                    || t.crash_ms.is_some()
                    || t.unhealthy_ms.is_some()
                    || t.elb_unhealthy.is_some()
            }
            TaskState::Stopped => false,
        });
        let others_left = self.tasks.iter().any(|t| t.deployment_id != primary.id && t.is_active());
        let short = self.active(Some(&primary.id)) < self.config.desired;
        if in_flight || !(others_left || short) || primary.throttled_until_ms > now {
            return;
        }
        let full = self.active(None) >= self.config.upper();
        let at_minimum = self.healthy(None, now) <= self.config.lower();
        if full && at_minimum {
            self.event_once(
                format!(
                    "(service {}) was unable to stop or start tasks during a deployment because of \
                     the service deployment configuration. Update the minimumHealthyPercent or \
                     maximumPercent value and try again.",
                    self.service
                ),
                now,
            );
        }
    }
}
