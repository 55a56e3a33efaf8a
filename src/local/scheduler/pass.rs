//! One scheduler pass: tasks of the PRIMARY deployment started within `max` and the
//! cluster's room, older (and extra) tasks stopped while `min_healthy` allows, the PRIMARY
//! completed, and a rollout that can neither start nor stop a task reported (§1.1–§1.3).

use super::{Action, Launcher, Rollout};
use crate::local::deployment::{DeploymentStatus, RolloutState};
use crate::local::ids::Ids;
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
        let Some(primary) = self.primary().cloned() else { return actions };
        let desired = self.config.desired;
        let lower = self.config.lower();
        let upper = self.config.upper();

        // Start tasks of the PRIMARY deployment, within `max` and the cluster's room.
        let launches_allowed =
            primary.rollout != RolloutState::Failed && primary.throttled_until_ms <= now;
        let need = desired.saturating_sub(self.active(Some(&primary.id)));
        let room = upper.saturating_sub(self.active(None));
        let occupied = self.tasks.iter().filter(|t| t.state != TaskState::Stopped).count() as u32;
        let capacity_room = self.config.capacity.map_or(u32::MAX, |c| c.saturating_sub(occupied));
        let starts = if launches_allowed { need.min(room).min(capacity_room) } else { 0 };
        if starts > 0 {
            let mut started = Vec::new();
            for _ in 0..starts {
                let behaviour = launcher.behaviour(&primary.revision);
                let spec = LaunchSpec {
                    id: ids.task_id(),
                    deployment_id: primary.id.clone(),
                    task_definition_arn: primary.revision.arn.clone(),
                    has_health_check: primary.revision.has_health_check,
                    stop_timeout_ms: primary.revision.stop_timeout_ms,
                    drain_ms: self.config.drain_ms,
                };
                let task = Task::launch(spec, behaviour, now);
                started.push(task.id.clone());
                self.tasks.push(task);
            }
            let list: Vec<String> = started.iter().map(|id| format!("(task {id})")).collect();
            let plural = if starts == 1 { "task" } else { "tasks" };
            self.event(
                format!(
                    "(service {}) has started {starts} {plural}: {}.",
                    self.service,
                    list.join(" ")
                ),
                now,
            );
            actions.push(Action {
                at_ms: now,
                start: true,
                deployment_id: primary.id.clone(),
                count: starts,
            });
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

        // Stop tasks of older deployments (and extra PRIMARY tasks): those not counted
        // healthy first, then healthy ones while `min_healthy` allows.
        let mut healthy_total = self.healthy(None, now);
        let mut extra_primary = self.active(Some(&primary.id)).saturating_sub(desired);
        let mut stopped: Vec<(String, String)> = Vec::new();
        let mut order: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| {
                let task = &self.tasks[i];
                task.is_active() && (task.deployment_id != primary.id || extra_primary > 0)
            })
            .collect();
        order.sort_by_key(|&i| {
            (
                self.tasks[i].is_healthy(now),
                self.tasks[i].deployment_id == primary.id,
                self.tasks[i].created_ms,
            )
        });
        for i in order {
            let is_primary = self.tasks[i].deployment_id == primary.id;
            if is_primary && extra_primary == 0 {
                continue;
            }
            let healthy = self.tasks[i].is_healthy(now);
            if healthy && healthy_total <= lower {
                continue;
            }
            if healthy {
                healthy_total -= 1;
            }
            if is_primary {
                extra_primary -= 1;
            }
            let reason = format!("Scaling activity initiated by (deployment {})", primary.id);
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
            stopped.push((task.deployment_id.clone(), task.id.clone()));
        }
        if !stopped.is_empty() {
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

        self.complete(now);
        if actions.is_empty() {
            self.cannot_progress(now);
        }
        actions
    }

    /// The PRIMARY completes when it runs `desired` healthy tasks and no other deployment
    /// has a task left; the others then drop out of the list.
    fn complete(&mut self, now: u64) {
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
        if own_healthy < desired || self.active(Some(&primary.id)) != desired || others_left {
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
                !t.is_healthy(now) || t.crash_ms.is_some() || t.unhealthy_ms.is_some()
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
