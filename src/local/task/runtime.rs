//! A task driven by a container runtime (`--runtime docker`) rather than by timers: what
//! the runtime reports of its containers, and `Task::observe`, the pure function from a
//! report to the task's ECS transitions.

use super::{Change, NO_CHECK_HEALTHY_MS, Stop, StopCode, Task, TaskState};

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

impl Task {
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
            // The runtime checks the targets over HTTP: none answers until a check passes
            // (`Task::checked`, docs/traffic.md).
            let pending = crate::local::target_health::Answers {
                after_ms: None,
                reason: "Target.FailedHealthChecks".to_owned(),
            };
            self.register_targets(now, grace_ms, &pending);
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
            // Not healthy since then: a target turning healthy later must not count the
            // containers' earlier health.
            if self.healthy_ms.is_none() {
                self.container_healthy_ms = None;
            }
            let not_before = self.running_ms.unwrap_or(now) + grace_ms;
            if self.unhealthy_ms.is_none() {
                self.unhealthy_ms = Some(now.max(not_before));
            }
        } else {
            // Healthy again inside the grace period: the failure no longer stands.
            self.unhealthy_ms = None;
            if !checked.is_empty()
                && checked.iter().all(|h| *h == Health::Healthy)
                && self.healthy_ms.is_none()
            {
                let since = *self.container_healthy_ms.get_or_insert(now);
                self.healthy_ms = self.targets_healthy_ms().map(|targets| targets.max(since));
            }
        }
        changes
    }
}
