//! A task of the local ECS: its lifecycle state, its timers (from its behaviour) and how
//! it stopped.

use super::behaviour::{Outcome, TaskBehaviour};

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
}

/// A published port of a container (`networkBindings`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Binding {
    pub bind_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub protocol: String,
}

/// A container's health as its engine reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// One container of a task, as the runtime last saw it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerStatus {
    /// The container definition's name.
    pub name: String,
    /// The engine's container id (`runtimeId`).
    pub runtime_id: String,
    pub essential: bool,
    pub running: bool,
    /// Set once it exited.
    pub exit_code: Option<i32>,
    /// Killed by the kernel for exceeding its memory limit.
    pub out_of_memory: bool,
    /// None without a health check.
    pub health: Option<Health>,
    pub bindings: Vec<Binding>,
}

/// What a container runtime reports about a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeReport {
    /// Its image could not be pulled or its containers not created or started.
    FailedToStart { reason: String },
    /// The state of its containers, once they were created and started.
    Containers(Vec<ContainerStatus>),
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
}

/// Why a timer fired, reported to the scheduler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    BecameRunning,
    BecameHealthy,
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
        } else if self.is_healthy(now) {
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
                let earliest = [healthy, crash, unhealthy].into_iter().flatten().min();
                match earliest {
                    None => return false,
                    Some(at) if healthy == Some(at) => {
                        self.healthy_reported = true;
                        changes.push(Change::BecameHealthy);
                    }
                    Some(at) if crash == Some(at) => {
                        let exit_code = self.exit_code_on_stop.unwrap_or(1);
                        self.finish(
                            at,
                            Stop {
                                code: StopCode::EssentialContainerExited,
                                reason: "Essential container in task exited".to_owned(),
                                exit_code: Some(exit_code),
                                container_reason: None,
                                failure: true,
                            },
                            changes,
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
    }

    /// Takes a container runtime's report at `now`: the containers started (RUNNING),
    /// passed or failed their health checks, an essential one exited (by itself, or after
    /// the stop path's SIGTERM), or the task could not start. Health-check failures inside
    /// the grace period are ignored (§1.5).
    pub fn observe(&mut self, report: RuntimeReport, now: u64, grace_ms: u64) -> Vec<Change> {
        let mut changes = Vec::new();
        if !self.external || self.state == TaskState::Stopped {
            return changes;
        }
        let containers = match report {
            RuntimeReport::FailedToStart { reason } => {
                if self.state == TaskState::Pending {
                    self.finish(
                        now,
                        Stop {
                            code: StopCode::TaskFailedToStart,
                            reason: format!("Task failed to start: {reason}"),
                            exit_code: None,
                            container_reason: Some(reason),
                            failure: true,
                        },
                        &mut changes,
                    );
                }
                return changes;
            }
            RuntimeReport::Containers(containers) => containers,
        };
        self.containers = containers;
        if self.state == TaskState::Pending {
            self.state = TaskState::Running;
            self.running_ms = Some(now);
            changes.push(Change::BecameRunning);
            if !self.has_health_check {
                self.healthy_ms = Some(now + NO_CHECK_HEALTHY_MS);
            }
        }
        let essential: Vec<&ContainerStatus> =
            self.containers.iter().filter(|c| c.essential).collect();
        if let Some(exited) = essential.iter().find(|c| !c.running) {
            let exit_code = exited.exit_code;
            let oom = exited.out_of_memory;
            let container_reason =
                oom.then(|| "OutOfMemoryError: Container killed due to memory usage".to_owned());
            let stop = match (self.state, self.stop.clone()) {
                // Asked to stop: it exited after SIGTERM (or SIGKILL at the stop timeout).
                (TaskState::Deactivating | TaskState::Stopping, Some(stop)) => Stop {
                    exit_code,
                    container_reason: container_reason.or(stop.container_reason),
                    ..stop
                },
                _ => Stop {
                    code: StopCode::EssentialContainerExited,
                    reason: "Essential container in task exited".to_owned(),
                    exit_code,
                    container_reason,
                    failure: true,
                },
            };
            self.finish(now, stop, &mut changes);
            return changes;
        }
        if self.state != TaskState::Running || !self.has_health_check {
            return changes;
        }
        let checked: Vec<Health> = essential.iter().filter_map(|c| c.health).collect();
        if checked.contains(&Health::Unhealthy) {
            let not_before = self.running_ms.unwrap_or(now) + grace_ms;
            if self.unhealthy_ms.is_none() {
                self.unhealthy_ms = Some(now.max(not_before));
            }
        } else {
            // Healthy again inside the grace period: the failure no longer stands.
            self.unhealthy_ms = None;
            if !checked.is_empty() && checked.iter().all(|h| *h == Health::Healthy) {
                self.healthy_ms.get_or_insert(now);
            }
        }
        changes
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
mod tests {
    use super::*;

    fn external(has_health_check: bool) -> Task {
        let spec = LaunchSpec {
            id: "t1".to_owned(),
            deployment_id: "ecs-svc/1".to_owned(),
            task_definition_arn: "arn:td/web:1".to_owned(),
            has_health_check,
            stop_timeout_ms: 30_000,
            drain_ms: 0,
        };
        Task::launch(spec, TaskBehaviour { external: true, ..TaskBehaviour::default() }, 0)
    }

    fn container(running: bool, health: Option<Health>) -> ContainerStatus {
        ContainerStatus {
            name: "web".to_owned(),
            runtime_id: "c0ffee".to_owned(),
            essential: true,
            running,
            exit_code: (!running).then_some(3),
            out_of_memory: false,
            health,
            bindings: vec![],
        }
    }

    #[test]
    fn a_runtime_task_waits_for_its_containers() {
        let mut task = external(true);
        assert_eq!(task.next_event(), None, "no timer starts a runtime's task");
        assert!(task.advance(3_600_000, 0).is_empty());
        assert_eq!(task.state, TaskState::Pending);
        let changes = task.observe(
            RuntimeReport::Containers(vec![container(true, Some(Health::Starting))]),
            1_000,
            0,
        );
        assert_eq!(changes, [Change::BecameRunning]);
        assert_eq!((task.state, task.health_status(1_000)), (TaskState::Running, "UNKNOWN"));
        task.observe(
            RuntimeReport::Containers(vec![container(true, Some(Health::Healthy))]),
            6_000,
            0,
        );
        assert_eq!(task.advance(6_000, 0), [Change::BecameHealthy]);
        assert_eq!(task.health_status(6_000), "HEALTHY");
    }

    #[test]
    fn without_a_health_check_it_counts_healthy_after_40_seconds() {
        let mut task = external(false);
        task.observe(RuntimeReport::Containers(vec![container(true, None)]), 1_000, 0);
        assert!(!task.is_healthy(40_999));
        assert_eq!(task.advance(41_000, 0), [Change::BecameHealthy]);
    }

    #[test]
    fn an_unhealthy_container_is_stopped_once_the_grace_period_is_over() {
        let mut task = external(true);
        let grace = 20_000;
        task.observe(RuntimeReport::Containers(vec![container(true, None)]), 1_000, grace);
        let unhealthy = RuntimeReport::Containers(vec![container(true, Some(Health::Unhealthy))]);
        task.observe(unhealthy.clone(), 5_000, grace);
        assert!(task.advance(20_999, grace).is_empty(), "failures inside the grace period");
        // Healthy again inside the grace period: the failure is forgotten.
        task.observe(
            RuntimeReport::Containers(vec![container(true, Some(Health::Healthy))]),
            10_000,
            grace,
        );
        assert_eq!(task.unhealthy_ms, None);
        task.observe(unhealthy, 30_000, grace);
        task.advance(30_000, grace);
        assert_eq!(task.state, TaskState::Stopping);
        let stop = task.stop.clone().expect("stop");
        assert_eq!(stop.reason, "Task failed container health checks");
        // The runtime sends SIGTERM; the task stops when the container exited.
        assert_eq!(task.next_event(), None);
        let exited = ContainerStatus { exit_code: Some(0), ..container(false, None) };
        let changes = task.observe(RuntimeReport::Containers(vec![exited]), 31_000, grace);
        assert_eq!(changes, [Change::Stopped { failure: true, failed_to_start: false }]);
        assert_eq!(task.stop.expect("stop").exit_code, Some(0));
    }

    #[test]
    fn an_essential_exit_or_oom_kill_stops_the_task() {
        let mut task = external(false);
        task.observe(RuntimeReport::Containers(vec![container(true, None)]), 1_000, 0);
        let killed =
            ContainerStatus { exit_code: Some(137), out_of_memory: true, ..container(false, None) };
        let changes = task.observe(RuntimeReport::Containers(vec![killed]), 2_000, 0);
        assert_eq!(changes, [Change::Stopped { failure: true, failed_to_start: false }]);
        let stop = task.stop.expect("stop");
        assert_eq!(stop.code, StopCode::EssentialContainerExited);
        assert_eq!(stop.exit_code, Some(137));
        assert_eq!(
            stop.container_reason.as_deref(),
            Some("OutOfMemoryError: Container killed due to memory usage")
        );
    }

    #[test]
    fn a_non_essential_exit_does_not() {
        let mut task = external(false);
        let sidecar = ContainerStatus { essential: false, ..container(false, None) };
        task.observe(RuntimeReport::Containers(vec![container(true, None), sidecar]), 1_000, 0);
        assert_eq!(task.state, TaskState::Running);
    }

    #[test]
    fn a_pull_failure_is_a_failure_to_start() {
        let mut task = external(false);
        let reason = "CannotPullContainerError: manifest unknown".to_owned();
        let changes = task.observe(RuntimeReport::FailedToStart { reason }, 3_000, 0);
        assert_eq!(changes, [Change::Stopped { failure: true, failed_to_start: true }]);
        let stop = task.stop.expect("stop");
        assert_eq!(stop.code, StopCode::TaskFailedToStart);
        assert_eq!(stop.reason, "Task failed to start: CannotPullContainerError: manifest unknown");
    }

    #[test]
    fn a_task_stopped_before_it_ran_stops_at_once() {
        let mut task = external(false);
        task.request_stop(
            Stop {
                code: StopCode::UserInitiated,
                reason: "by hand".to_owned(),
                exit_code: None,
                container_reason: None,
                failure: false,
            },
            500,
        );
        assert_eq!(
            task.advance(500, 0),
            [Change::Stopped { failure: false, failed_to_start: false }]
        );
    }
}
