//! The rolling-update scheduler of one service, following ECS's documented rules
//! (docs/ecs.md §1, §2, §10): min/max percent with their rounding, cluster
//! capacity, health gating, the stop path, the launch throttle, the circuit breaker with
//! rollback to the last COMPLETED deployment, `rolloutState` and ECS-worded service events.
//! Pure: time comes in as `now` (milliseconds on the local clock), behaviour from a
//! `Launcher`. Where ECS leaves a choice open, `SchedulerSettings` holds it (docs/local.md).

use super::behaviour::TaskBehaviour;
use super::deployment::{Deployment, DeploymentStatus, Revision, RolloutState};
use super::ids::Ids;
use super::task::{Change, LaunchSpec, RuntimeReport, Stop, StopCode, Task, TaskState};

/// Gives each new task its behaviour (the virtual runtime reads the fault file).
pub trait Launcher {
    fn behaviour(&mut self, revision: &Revision) -> TaskBehaviour;
}

/// How the circuit breaker is set (`deploymentCircuitBreaker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
    /// Count only consecutive failures (the 2026 default, `resetOnHealthyTask`).
    pub reset_on_healthy_task: bool,
}

impl CircuitBreaker {
    pub const OFF: CircuitBreaker =
        CircuitBreaker { enable: false, rollback: false, reset_on_healthy_task: true };

    /// The failure threshold for `desired` tasks: `clamp(ceil(0.5 × desired), 3, 200)` (§2.2).
    #[must_use]
    pub fn threshold(desired: u32) -> u32 {
        desired.div_ceil(2).clamp(3, 200)
    }
}

/// The choices ECS does not document, each with its default (docs/local.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchedulerSettings {
    /// Time between scheduler passes.
    pub pass_interval_ms: u64,
    /// Consecutive start failures before launches are throttled.
    pub throttle_after: u32,
    /// The first throttle delay; it doubles up to `throttle_max_ms`.
    pub throttle_base_ms: u64,
    pub throttle_max_ms: u64,
    /// Whether tasks that crash after reaching RUNNING count toward the circuit breaker.
    pub crashes_trip_breaker: bool,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            pass_interval_ms: 5_000,
            throttle_after: 3,
            throttle_base_ms: 30_000,
            throttle_max_ms: 15 * 60_000,
            crashes_trip_breaker: true,
        }
    }
}

/// A service event, `{id, createdAt, message}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceEvent {
    pub id: String,
    pub created_ms: u64,
    pub message: String,
}

/// What one scheduler pass did, for `ferry simulate` and the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub at_ms: u64,
    pub start: bool,
    pub deployment_id: String,
    pub count: u32,
}

/// The settings of a service the scheduler reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RolloutConfig {
    pub desired: u32,
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    pub grace_ms: u64,
    pub circuit_breaker: CircuitBreaker,
    /// Tasks the cluster has room for, across all services of this rollout; none = unbounded.
    pub capacity: Option<u32>,
    /// The load balancer's deregistration delay; 0 without one.
    pub drain_ms: u64,
}

impl RolloutConfig {
    /// `ceil(desired × min / 100)`: healthy tasks that must stay (§1.1).
    #[must_use]
    pub fn lower(&self) -> u32 {
        (self.desired * self.min_healthy_percent).div_ceil(100)
    }

    /// `floor(desired × max / 100)`: tasks that may be RUNNING or PENDING (§1.1).
    #[must_use]
    pub fn upper(&self) -> u32 {
        self.desired * self.max_percent / 100
    }
}

/// The scheduler's state for one service.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rollout {
    pub service: String,
    pub config: RolloutConfig,
    pub settings: SchedulerSettings,
    /// Newest first.
    pub deployments: Vec<Deployment>,
    pub tasks: Vec<Task>,
    /// Newest first, at most 100.
    pub events: Vec<ServiceEvent>,
    pub next_pass_ms: u64,
    /// Messages not repeated while their cause lasts.
    pub quiet: Vec<String>,
}

/// Events kept per service (§3.1).
pub const MAX_EVENTS: usize = 100;

impl Rollout {
    #[must_use]
    pub fn new(service: &str, config: RolloutConfig, settings: SchedulerSettings) -> Self {
        Self {
            service: service.to_owned(),
            config,
            settings,
            deployments: Vec::new(),
            tasks: Vec::new(),
            events: Vec::new(),
            next_pass_ms: 0,
            quiet: Vec::new(),
        }
    }

    #[must_use]
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == DeploymentStatus::Primary)
    }

    /// Starts a deployment of `revision`; the current PRIMARY becomes ACTIVE. Returns its id.
    pub fn deploy(&mut self, revision: Revision, ids: &mut Ids, now: u64) -> String {
        for deployment in &mut self.deployments {
            if deployment.status == DeploymentStatus::Primary {
                deployment.status = DeploymentStatus::Active;
                deployment.updated_ms = now;
            }
        }
        let id = ids.deployment_id();
        self.deployments.insert(0, Deployment::new(id.clone(), revision, now));
        self.quiet.clear();
        self.next_pass_ms = now;
        id
    }

    /// Tasks wanted running, of one deployment or of all.
    fn active(&self, deployment_id: Option<&str>) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.is_active() && deployment_id.is_none_or(|id| t.deployment_id == id))
            .count() as u32
    }

    /// Tasks that count as healthy at `now`, of one deployment or of all.
    fn healthy(&self, deployment_id: Option<&str>, now: u64) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.is_healthy(now) && deployment_id.is_none_or(|id| t.deployment_id == id))
            .count() as u32
    }

    /// Running and pending tasks of a deployment (`runningCount`, `pendingCount`).
    #[must_use]
    pub fn counts(&self, deployment_id: &str) -> (u32, u32) {
        let of = |state| {
            self.tasks
                .iter()
                .filter(|t| t.deployment_id == deployment_id && t.state == state)
                .count() as u32
        };
        (of(TaskState::Running), of(TaskState::Pending))
    }

    /// The next moment anything happens by itself: a task timer or a scheduler pass.
    #[must_use]
    pub fn next_wakeup(&self) -> u64 {
        self.tasks
            .iter()
            .filter_map(Task::next_event)
            .chain([self.next_pass_ms])
            .min()
            .unwrap_or(self.next_pass_ms)
    }

    /// Brings the service up to `now`: task timers fire in time order, and scheduler passes
    /// run at their interval. Returns the actions of the passes.
    pub fn advance(&mut self, now: u64, launcher: &mut dyn Launcher, ids: &mut Ids) -> Vec<Action> {
        let mut actions = Vec::new();
        loop {
            if self.is_idle() {
                // Nothing can change by itself: skip the passes in between.
                self.next_pass_ms = self.next_pass_ms.max(now);
            }
            let next = self.next_wakeup();
            if next > now {
                break;
            }
            self.fire_timers(next);
            if self.next_pass_ms <= next {
                actions.extend(self.pass(next, launcher, ids));
                self.next_pass_ms = next + self.settings.pass_interval_ms;
            }
        }
        actions
    }

    /// Takes a container runtime's report on task `task_id` at `now` (`--runtime docker`);
    /// says whether the task is this service's.
    pub fn observe(&mut self, task_id: &str, report: RuntimeReport, now: u64) -> bool {
        let grace = self.config.grace_ms;
        let Some(task) = self.tasks.iter_mut().find(|t| t.id == task_id) else { return false };
        let changes = task.observe(report, now, grace);
        let deployment_id = task.deployment_id.clone();
        for change in changes {
            self.record(&deployment_id, task_id, &change, now);
        }
        true
    }

    /// Completed, at its desired count, and no task timer left.
    fn is_idle(&self) -> bool {
        let settled = self.primary().is_none_or(|p| p.rollout == RolloutState::Completed);
        settled
            && self.tasks.iter().all(|t| t.next_event().is_none())
            && self.primary().is_none_or(|p| self.active(Some(&p.id)) == self.config.desired)
    }

    fn fire_timers(&mut self, now: u64) {
        let grace = self.config.grace_ms;
        let mut outcomes = Vec::new();
        for task in &mut self.tasks {
            for change in task.advance(now, grace) {
                outcomes.push((
                    task.deployment_id.clone(),
                    task.id.clone(),
                    change,
                    task.stopped_ms.unwrap_or(now),
                ));
            }
        }
        for (deployment_id, task_id, change, at) in outcomes {
            self.record(&deployment_id, &task_id, &change, at);
        }
    }

    /// Accounts one task change against its deployment.
    fn record(&mut self, deployment_id: &str, task_id: &str, change: &Change, at: u64) {
        let settings = self.settings;
        let reset = self.config.circuit_breaker.reset_on_healthy_task;
        let Some(deployment) = self.deployments.iter_mut().find(|d| d.id == deployment_id) else {
            return;
        };
        match change {
            Change::BecameRunning => {}
            Change::BecameHealthy => {
                deployment.start_failures = 0;
                if reset {
                    deployment.breaker_count = 0;
                }
            }
            Change::Stopped { failure, failed_to_start } => {
                if !failure {
                    return;
                }
                let counts = *failed_to_start
                    || settings.crashes_trip_breaker
                    || self.tasks.iter().any(|t| {
                        t.id == task_id
                            && t.stop
                                .as_ref()
                                .is_some_and(|s| s.code == StopCode::ServiceSchedulerInitiated)
                    });
                deployment.failed_tasks += 1;
                deployment.updated_ms = at;
                if counts {
                    deployment.breaker_count += 1;
                }
                if *failed_to_start {
                    deployment.start_failures += 1;
                    if deployment.start_failures >= settings.throttle_after {
                        let doublings =
                            (deployment.start_failures - settings.throttle_after).min(16);
                        let delay =
                            (settings.throttle_base_ms << doublings).min(settings.throttle_max_ms);
                        deployment.throttled_until_ms = at + delay;
                        let message = format!(
                            "(service {}) is unable to consistently start tasks successfully.",
                            self.service
                        );
                        self.event_once(message, at);
                    }
                }
            }
        }
    }

    /// One scheduler pass at `now`.
    fn pass(&mut self, now: u64, launcher: &mut dyn Launcher, ids: &mut Ids) -> Vec<Action> {
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

    /// Trips the breaker of the PRIMARY deployment when its failures reach the threshold,
    /// and rolls back to the last COMPLETED deployment when asked (§2.2–§2.5).
    fn circuit_breaker(&mut self, now: u64) {
        let breaker = self.config.circuit_breaker;
        let threshold = CircuitBreaker::threshold(self.config.desired);
        let Some(index) = self.deployments.iter().position(|d| {
            d.status == DeploymentStatus::Primary
                && d.rollout == RolloutState::InProgress
                && d.breaker_count >= threshold
        }) else {
            return;
        };
        if !breaker.enable {
            return;
        }
        let failed_id = self.deployments[index].id.clone();
        self.event(
            format!(
                "(service {}) (deployment {failed_id}) deployment failed: tasks failed to start.",
                self.service
            ),
            now,
        );
        self.fail(
            index,
            "ECS deployment circuit breaker: tasks failed to start.",
            breaker.rollback,
            now,
        );
    }

    /// Stops the PRIMARY deployment `id` by hand (`StopServiceDeployment`): with
    /// `rollback`, the service goes back to the last COMPLETED deployment. Returns whether
    /// `id` was the PRIMARY deployment in progress.
    pub fn stop_deployment(&mut self, id: &str, rollback: bool, now: u64) -> bool {
        let Some(index) = self.deployments.iter().position(|d| {
            d.id == id
                && d.status == DeploymentStatus::Primary
                && d.rollout == RolloutState::InProgress
        }) else {
            return false;
        };
        let reason = if rollback {
            "Service deployment rolled back by a stop request."
        } else {
            "Service deployment abandoned by a stop request."
        };
        self.fail(index, reason, rollback, now);
        true
    }

    /// Marks deployment `index` FAILED and, with `rollback`, re-activates the most recent
    /// COMPLETED deployment; with none, the failed one stalls (§2.5).
    fn fail(&mut self, index: usize, reason: &str, rollback: bool, now: u64) {
        let service = self.service.clone();
        let failed_id = self.deployments[index].id.clone();
        {
            let failed = &mut self.deployments[index];
            failed.rollout = RolloutState::Failed;
            reason.clone_into(&mut failed.reason);
            failed.updated_ms = now;
        }
        if !rollback {
            return;
        }
        let target = self
            .deployments
            .iter()
            .enumerate()
            .filter(|(_, d)| d.id != failed_id && d.rollout == RolloutState::Completed)
            .max_by_key(|(_, d)| d.completed_ms)
            .map(|(i, _)| i);
        let Some(target) = target else { return };
        self.deployments[index].status = DeploymentStatus::Active;
        let target_id = self.deployments[target].id.clone();
        let back = &mut self.deployments[target];
        back.status = DeploymentStatus::Primary;
        back.rollout = RolloutState::InProgress;
        back.reason =
            format!("ECS deployment circuit breaker: rolling back to deploymentId {target_id}.");
        back.rolled_back_from = Some(failed_id);
        back.breaker_count = 0;
        back.updated_ms = now;
        let position = self.deployments.remove(target);
        self.deployments.insert(0, position);
        self.quiet.clear();
        self.next_pass_ms = now;
        self.event(format!("(service {service}) rolling back to deployment {target_id}."), now);
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

    /// Whether the rollout can make no more progress by itself: the PRIMARY completed,
    /// failed without a rollback, or sits on the "unable to stop or start" event.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        match self.primary() {
            None => true,
            Some(primary) if primary.rollout != RolloutState::InProgress => {
                !self.tasks.iter().any(|t| {
                    matches!(
                        t.state,
                        TaskState::Pending | TaskState::Deactivating | TaskState::Stopping
                    )
                })
            }
            Some(_) => self.is_stuck(),
        }
    }

    /// Whether the "unable to stop or start tasks" event stands.
    #[must_use]
    pub fn is_stuck(&self) -> bool {
        self.quiet.iter().any(|m| m.contains("was unable to stop or start tasks"))
    }

    fn event(&mut self, message: String, now: u64) {
        let id =
            format!("{:08x}-{:04x}-4000-8000-{:012x}", now / 1000, self.events.len() % 0xffff, now);
        self.events.insert(0, ServiceEvent { id, created_ms: now, message });
        self.events.truncate(MAX_EVENTS);
    }

    /// An event that is not repeated while its cause lasts (a new deployment clears it).
    fn event_once(&mut self, message: String, now: u64) {
        if !self.quiet.contains(&message) {
            self.quiet.push(message.clone());
            self.event(message, now);
        }
    }
}
