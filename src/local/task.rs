//! A task of the local ECS: its lifecycle state, its timers (from its behaviour) and how
//! it stopped.
//!
//! This file holds the task and its timers; what a container runtime reports of it, and
//! how a report moves it (`Task::observe`), is in `task/runtime.rs`.

use super::behaviour::{Outcome, TaskBehaviour};
use super::target_health::{Failure, Fate, TaskTarget};

mod runtime;

pub use runtime::{Binding, ContainerStatus, Health, RuntimeReport};

/// `lastStatus` of a task, in lifecycle order (docs/ecs.md §1.4).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TaskState {
    Pending,
    Running,
    /// Deregistering from load balancers (connection draining).
    Deactivating,
    /// SIGTERM sent, waiting for the container to exit.
    Stopping,
    Stopped,
}

impl TaskState {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "PENDING",
            TaskState::Running => "RUNNING",
            TaskState::Deactivating => "DEACTIVATING",
            TaskState::Stopping => "STOPPING",
            TaskState::Stopped => "STOPPED",
        }
    }
}

/// Why a task stopped (`stopCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

impl StopCode {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            StopCode::TaskFailedToStart => "TaskFailedToStart",
            StopCode::EssentialContainerExited => "EssentialContainerExited",
            StopCode::UserInitiated => "UserInitiated",
            StopCode::ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        }
    }
}

/// How a task ended, once it has.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stop {
    pub code: StopCode,
    pub reason: String,
    /// The essential container's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The container's `reason` (`CannotPullContainerError: …`), when it never ran.
    pub container_reason: Option<String>,
    /// Whether this stop counts as a failure of the task's deployment.
    pub failure: bool,
}

/// One task.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Task {
    /// 32 hex digits.
    pub id: String,
    /// The deployment that started it (`startedBy`).
    pub deployment_id: String,
    pub task_definition_arn: String,
    pub state: TaskState,
    pub created_ms: u64,
    pub running_ms: Option<u64>,
    /// When the task counts as healthy (40 s after RUNNING without health checks).
    pub healthy_ms: Option<u64>,
    /// When the container health check reports UNHEALTHY.
    pub unhealthy_ms: Option<u64>,
    /// Behind a load balancer, when the container health check passes (`healthy_ms`
    /// waits for the targets too); `healthStatus` reads only this, as on ECS.
    #[serde(default)]
    pub container_healthy_ms: Option<u64>,
    /// When the essential container exits by itself.
    pub crash_ms: Option<u64>,
    pub has_health_check: bool,
    /// Whether `BecameHealthy` was reported.
    pub healthy_reported: bool,
    /// When the stop path began, and when it ends.
    pub stopping_ms: Option<u64>,
    pub stopped_ms: Option<u64>,
    /// The state's own timer: when PENDING ends, when DEACTIVATING or STOPPING ends.
    pub next_ms: u64,
    pub stop: Option<Stop>,
    pub exit_code_on_stop: Option<i32>,
    /// What happens to it (the fault file's rule for its image, drawn at launch), kept in
    /// the state file so a restarted endpoint goes on with the same fate.
    #[serde(default)]
    pub plan: Option<TaskBehaviour>,
    /// How long the stop path's parts take.
    pub drain_ms: u64,
    pub stop_after_ms: u64,
    /// Driven by a container runtime's reports (`--runtime docker`) rather than timers:
    /// it reaches RUNNING, turns healthy or unhealthy, exits and stops when the runtime
    /// says so.
    #[serde(default)]
    pub external: bool,
    /// The containers the runtime last reported.
    #[serde(default)]
    pub containers: Vec<ContainerStatus>,
    /// Its load balancer targets, one per target group of the service.
    #[serde(default)]
    pub targets: Vec<TaskTarget>,
    /// When ECS stops it for failing a target group's health checks (after the grace
    /// period, if the target is not healthy by then), and which target.
    #[serde(default)]
    pub elb_unhealthy: Option<(u64, usize)>,
}

/// What a new task is: who starts it, from which revision, and how its stop path runs.
#[derive(Clone, Debug)]
pub struct LaunchSpec {
    pub id: String,
    pub deployment_id: String,
    pub task_definition_arn: String,
    pub has_health_check: bool,
    pub stop_timeout_ms: u64,
    /// The load balancer's deregistration delay; 0 without one.
    pub drain_ms: u64,
    /// Its targets, not yet registered.
    pub targets: Vec<TaskTarget>,
}

/// Why a timer fired, reported to the scheduler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    BecameRunning,
    BecameHealthy,
    /// Its target `index` failed its group's health checks; the task is being stopped.
    TargetUnhealthy {
        index: usize,
    },
    /// Stopped; `failure` says whether it counts against the deployment.
    Stopped {
        failure: bool,
        failed_to_start: bool,
    },
}

/// Seconds the scheduler waits after RUNNING before counting a task without health checks
/// as healthy (docs/ecs.md §1.4).
pub const NO_CHECK_HEALTHY_MS: u64 = 40_000;

impl Task {
    /// A new PENDING task following `behaviour`.
    #[must_use]
    pub fn launch(spec: LaunchSpec, behaviour: TaskBehaviour, now: u64) -> Self {
        let LaunchSpec {
            id,
            deployment_id,
            task_definition_arn,
            has_health_check,
            stop_timeout_ms,
            drain_ms,
            targets,
        } = spec;
        let has_health_check = behaviour.health_check.unwrap_or(has_health_check);
        Self {
            id,
            deployment_id,
            task_definition_arn,
            state: TaskState::Pending,
            created_ms: now,
            running_ms: None,
            healthy_ms: None,
            unhealthy_ms: None,
            container_healthy_ms: None,
            crash_ms: None,
            has_health_check,
            healthy_reported: false,
            stopping_ms: None,
            stopped_ms: None,
            next_ms: now + behaviour.start_ms,
            stop: None,
            exit_code_on_stop: None,
            drain_ms,
            stop_after_ms: behaviour.stop_ms.min(stop_timeout_ms),
            external: behaviour.external,
            containers: Vec::new(),
            plan: Some(behaviour),
            targets,
            elb_unhealthy: None,
        }
    }

    /// Whether the task is wanted running (`desiredStatus = RUNNING`).
    #[must_use]
    pub fn is_active(&self) -> bool {
        matches!(self.state, TaskState::Pending | TaskState::Running)
    }

    /// Whether it counts toward `minimumHealthyPercent` at `now`.
    #[must_use]
    pub fn is_healthy(&self, now: u64) -> bool {
        self.state == TaskState::Running && self.healthy_ms.is_some_and(|at| at <= now)
    }

    /// The container health status, `HEALTHY`, `UNHEALTHY` or `UNKNOWN`.
    #[must_use]
    pub fn health_status(&self, now: u64) -> &'static str {
        if !self.has_health_check {
            "UNKNOWN"
        } else if self.unhealthy_ms.is_some_and(|at| at <= now) {
            "UNHEALTHY"
        } else if self.state == TaskState::Running
            && (if self.targets.is_empty() { self.healthy_ms } else { self.container_healthy_ms })
                .is_some_and(|at| at <= now)
        {
            "HEALTHY"
        } else {
            "UNKNOWN"
        }
    }

    /// The next moment something happens to this task by itself.
    #[must_use]
    pub fn next_event(&self) -> Option<u64> {
        let timers = match self.state {
            // A runtime's task starts, and stops once it ran, when the runtime says so.
            TaskState::Pending if self.external => vec![],
            TaskState::Stopping if self.external && self.running_ms.is_some() => vec![],
            TaskState::Pending | TaskState::Deactivating | TaskState::Stopping => {
                vec![Some(self.next_ms)]
            }
            TaskState::Running => vec![
                self.healthy_ms.filter(|_| !self.healthy_reported),
                self.unhealthy_ms,
                self.crash_ms,
                self.elb_unhealthy.map(|(at, _)| at),
            ],
            TaskState::Stopped => vec![],
        };
        timers.into_iter().flatten().min()
    }

    /// Starts the stop path: draining (when behind a load balancer), then SIGTERM.
    pub fn request_stop(&mut self, stop: Stop, now: u64) {
        if !self.is_active() {
            return;
        }
        self.stopping_ms = Some(now);
        self.stop = Some(stop);
        let was_running = self.state == TaskState::Running;
        if was_running && self.drain_ms > 0 {
            self.state = TaskState::Deactivating;
            self.next_ms = now + self.drain_ms;
        } else {
            self.state = TaskState::Stopping;
            self.next_ms = now + if was_running { self.stop_after_ms } else { 0 };
        }
    }

    /// Moves the task through every timer due by `now`, in time order, reporting each
    /// change.
    pub fn advance(&mut self, now: u64, grace_ms: u64) -> Vec<Change> {
        let mut changes = Vec::new();
        while self.step(now, grace_ms, &mut changes) {}
        changes
    }

    /// Fires the earliest timer due by `now`; says whether one fired.
    fn step(&mut self, now: u64, grace_ms: u64, changes: &mut Vec<Change>) -> bool {
        match self.state {
            TaskState::Pending if self.next_ms <= now && !self.external => {
                self.reach_running(grace_ms, changes);
            }
            TaskState::Running => {
                let healthy = self.healthy_ms.filter(|at| *at <= now && !self.healthy_reported);
                let crash = self.crash_ms.filter(|at| *at <= now);
                let unhealthy = self.unhealthy_ms.filter(|at| *at <= now);
                let elb = self.elb_unhealthy.filter(|(at, _)| *at <= now);
                let earliest =
                    [healthy, crash, unhealthy, elb.map(|(at, _)| at)].into_iter().flatten().min();
                match earliest {
                    None => return false,
                    Some(at) if healthy == Some(at) => {
                        self.healthy_reported = true;
                        changes.push(Change::BecameHealthy);
                    }
                    Some(at) if crash == Some(at) => {
                        let exit_code = self.exit_code_on_stop.unwrap_or(1);
                        let oom = self.plan.as_ref().is_some_and(|p| p.out_of_memory);
                        self.finish(
                            at,
                            Stop {
                                code: StopCode::EssentialContainerExited,
                                reason: "Essential container in task exited".to_owned(),
                                exit_code: Some(exit_code),
                                container_reason: oom.then(|| {
                                    "OutOfMemoryError: Container killed due to memory usage"
                                        .to_owned()
                                }),
                                failure: true,
                            },
                            changes,
                        );
                    }
                    Some(at) if elb.map(|(e, _)| e) == Some(at) && unhealthy != Some(at) => {
                        let index = elb.map_or(0, |(_, index)| index);
                        let group = self.targets.get(index).map(|t| t.group_arn.clone());
                        self.elb_unhealthy = None;
                        changes.push(Change::TargetUnhealthy { index });
                        self.request_stop(
                            Stop {
                                code: StopCode::ServiceSchedulerInitiated,
                                reason: format!(
                                    "Task failed ELB health checks in (target-group {})",
                                    group.unwrap_or_default()
                                ),
                                exit_code: None,
                                container_reason: None,
                                failure: true,
                            },
                            at,
                        );
                    }
                    Some(at) => self.request_stop(
                        Stop {
                            code: StopCode::ServiceSchedulerInitiated,
                            reason: "Task failed container health checks".to_owned(),
                            exit_code: None,
                            container_reason: None,
                            failure: true,
                        },
                        at,
                    ),
                }
            }
            TaskState::Deactivating if self.next_ms <= now => {
                self.state = TaskState::Stopping;
                self.next_ms += self.stop_after_ms;
            }
            TaskState::Stopping
                if self.next_ms <= now && !(self.external && self.running_ms.is_some()) =>
            {
                let stop = self.stop.clone().unwrap_or_else(|| Stop {
                    code: StopCode::ServiceSchedulerInitiated,
                    reason: "Task stopped".to_owned(),
                    exit_code: None,
                    container_reason: None,
                    failure: false,
                });
                let exit_code = stop.exit_code.or(Some(0)).filter(|_| self.running_ms.is_some());
                self.finish(self.next_ms, Stop { exit_code, ..stop }, changes);
            }
            _ => return false,
        }
        true
    }

    fn reach_running(&mut self, grace_ms: u64, changes: &mut Vec<Change>) {
        // The plan is set at launch and saved with the task; a task from an older state file
        // without one runs healthy.
        let at = self.next_ms;
        let plan = self.plan.clone().unwrap_or_default();
        if let Outcome::FailToStart { reason } = &plan.outcome {
            self.finish(
                at,
                Stop {
                    code: StopCode::TaskFailedToStart,
                    reason: format!("Task failed to start: {reason}"),
                    exit_code: None,
                    container_reason: Some(reason.clone()),
                    failure: true,
                },
                changes,
            );
            return;
        }
        self.state = TaskState::Running;
        self.running_ms = Some(at);
        changes.push(Change::BecameRunning);
        match plan.outcome {
            Outcome::Healthy => {
                self.healthy_ms = Some(
                    at + if self.has_health_check {
                        plan.healthy_after_ms
                    } else {
                        NO_CHECK_HEALTHY_MS
                    },
                );
            }
            Outcome::NeverHealthy if self.has_health_check => {
                // Health-check failures inside the grace period are ignored (§1.5).
                self.unhealthy_ms = Some(at + plan.unhealthy_after_ms.max(grace_ms));
            }
            Outcome::NeverHealthy => self.healthy_ms = Some(at + NO_CHECK_HEALTHY_MS),
            Outcome::Crash { after_ms, exit_code } => {
                self.crash_ms = Some(at + after_ms);
                self.exit_code_on_stop = Some(exit_code);
                if after_ms > NO_CHECK_HEALTHY_MS
                    || (self.has_health_check && after_ms > plan.healthy_after_ms)
                {
                    self.healthy_ms = Some(
                        at + if self.has_health_check {
                            plan.healthy_after_ms
                        } else {
                            NO_CHECK_HEALTHY_MS
                        },
                    );
                }
            }
            Outcome::FailToStart { .. } => {}
        }
        self.register_targets(at, grace_ms, &plan.answers);
    }

    /// When every target of the task is healthy (0 without targets); `None`: never.
    #[must_use]
    pub fn targets_healthy_ms(&self) -> Option<u64> {
        self.targets
            .iter()
            .map(|t| t.fate.as_ref().and_then(|f| f.healthy_ms))
            .try_fold(0, |latest, at| at.map(|at| at.max(latest)))
    }

    /// Registers its targets at `at` (RUNNING): each is checked from then on, the task
    /// counts as healthy only once every target is (and its containers, with a health
    /// check), and a target unhealthy after the grace period gets the task stopped.
    pub(crate) fn register_targets(
        &mut self,
        at: u64,
        grace_ms: u64,
        answers: &super::target_health::Answers,
    ) {
        if self.targets.is_empty() {
            return;
        }
        let failure = Failure::of(&answers.reason);
        for target in &mut self.targets {
            target.fate = Some(Fate::of(at, target.timing, answers.after_ms, failure.clone()));
        }
        self.container_healthy_ms = self.healthy_ms.filter(|_| self.has_health_check);
        self.settle_targets(at, grace_ms);
    }

    /// A real health check of target `index` (the docker runtime's, over HTTP) at `now`:
    /// the first that passes fixes when the app answers, and so the target's fate — the
    /// same function virtual targets follow; one that fails keeps its reason for
    /// DescribeTargetHealth. Targets whose app already answered are not checked again.
    pub(crate) fn checked(
        &mut self,
        index: usize,
        passed: Result<(), Failure>,
        now: u64,
        grace_ms: u64,
    ) {
        if self.state != TaskState::Running {
            return;
        }
        let Some(target) = self.targets.get_mut(index) else { return };
        let timing = target.timing;
        let Some(fate) = target.fate.as_mut() else { return };
        if fate.healthy_ms.is_some() {
            return;
        }
        let registered = fate.registered_ms;
        match passed {
            Ok(()) => {
                let failure = fate.failure.clone();
                // Answering since just before `now`: the next check passes.
                let after = now.saturating_sub(registered).saturating_sub(1);
                self.targets[index].fate = Some(Fate::of(registered, timing, Some(after), failure));
                self.settle_targets(registered, grace_ms);
            }
            Err(failure) => fate.failure = failure,
        }
    }

    /// From the targets' fates (registered at `at`): when the task counts as healthy
    /// (its containers too, with a health check), and when an unhealthy target gets it
    /// stopped.
    fn settle_targets(&mut self, at: u64, grace_ms: u64) {
        let containers = if self.has_health_check { self.container_healthy_ms } else { Some(at) };
        if !self.healthy_reported {
            self.healthy_ms = containers.zip(self.targets_healthy_ms()).map(|(c, t)| c.max(t));
        }
        self.elb_unhealthy = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(index, target)| {
                let fate = target.fate.as_ref()?;
                let stop = fate.unhealthy_ms?.max(at + grace_ms);
                fate.healthy_ms.is_none_or(|healthy| stop < healthy).then_some((stop, index))
            })
            .min();
    }

    fn finish(&mut self, at: u64, stop: Stop, changes: &mut Vec<Change>) {
        let failed_to_start = stop.code == StopCode::TaskFailedToStart;
        let failure = stop.failure;
        self.state = TaskState::Stopped;
        self.stopped_ms = Some(at);
        self.stopping_ms.get_or_insert(at);
        self.stop = Some(stop);
        changes.push(Change::Stopped { failure, failed_to_start });
    }
}

#[cfg(test)]
mod tests;
