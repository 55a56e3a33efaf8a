//! Judging a rollout (docs/correctness.md): anchored on OUR deployment id from the
//! UpdateService answer, never on the first poll; success only when our deployment is the
//! PRIMARY, with our task definition, COMPLETED (or serving — every desired task of ours
//! healthy — when asked), and its running tasks run the digests we asked for. A
//! circuit-breaker rollback, a superseding deployment or a vanished deployment is a
//! failure with its reason. Only events of our deployment count: created after it, and
//! not seen before it. Pure.

use std::collections::BTreeMap;

use crate::aws::{EventView, LoadBalancerView, ServiceView, StoppedTask, TaskView};

/// How long ECS waits before it counts a RUNNING task without a health check as healthy
/// (reference §1.4).
pub(super) const UNCHECKED_HEALTHY_AFTER_MS: i64 = 40_000;

/// What the verdict is anchored on.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Anchor {
    pub service: String,
    pub deployment_id: String,
    pub task_definition: String,
    /// `createdAt` of our deployment (epoch ms, the endpoint's clock).
    pub created_ms: i64,
    /// The service-deployment ARN, when ECS gave one (for StopServiceDeployment).
    pub service_deployment_arn: Option<String>,
    /// The revision that was PRIMARY before our update.
    pub previous_task_definition: Option<String>,
    /// Where a rollback goes: the last revision whose deployment completed.
    pub rollback_target: Option<String>,
    /// Container → the digest we pinned (`sha256:…`), for images pinned by digest.
    pub digests: BTreeMap<String, String>,
    /// Whether an essential container of our revision has a health check.
    pub health_check: bool,
    /// Ids of the service's events from before our deployment: never ours.
    pub known_events: Vec<String>,
    /// The service's `loadBalancers` (from the UpdateService answer): each of our tasks
    /// must be a healthy target in every one of these groups (engine/targets.rs).
    pub load_balancers: Vec<LoadBalancerView>,
    /// Whether ECS deploys it in lifecycle stages (blue/green): judged, and rolled back, by
    /// its service deployment (engine/stages.rs).
    #[serde(default)]
    pub staged: bool,
}

impl Anchor {
    /// The service's events that belong to our deployment's time: created at or after it,
    /// and not among those seen before it.
    #[must_use]
    pub fn our_events<'a>(&self, service: &'a ServiceView) -> Vec<&'a EventView> {
        service
            .events
            .iter()
            .filter(|e| e.created_ms >= self.created_ms && !self.known_events.contains(&e.id))
            .collect()
    }
}

/// Why a rollout failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The circuit breaker failed our deployment (`rolloutState = FAILED`).
    CircuitBreaker { reason: String, rolled_back_by_ecs: bool },
    /// ECS's circuit breaker rolled back to another deployment.
    RolledBackByEcs { to_deployment: String, to_task_definition: String },
    /// Another deployment replaced ours; it is left alone.
    Superseded { by_deployment: String, task_definition: String },
    /// Our deployment is gone and nothing explains it.
    Vanished { runs: Option<String> },
    /// The service is gone or INACTIVE.
    ServiceGone,
    /// `fail_fast` tasks of our deployment stopped.
    FailFast { stopped: Vec<StoppedTask> },
    /// Running tasks run another image than the one we pushed.
    WrongImage { task: String, container: String, expected: String, found: String },
    /// The rollout did not finish within `timeout`.
    TimedOut { after_ms: u64, standing: String },
    /// The rollout can make no progress (ECS's "unable to stop or start tasks").
    CannotProgress { message: String },
    /// A load balancer target of ours stopped being healthy after the rollout served
    /// (during `bake`).
    TargetsNotHealthy { standing: String },
    /// A health gate failed for good (docs/gates.md).
    GateFailed { gate: String, reason: String },
    /// A health gate failed during a blue/green deployment, and ferry asked ECS to roll
    /// it back (StopServiceDeployment with ROLLBACK).
    GateRolledBack { gate: String, reason: String },
    /// Our service deployment (blue/green, linear, canary) ended other than SUCCESSFUL
    /// (docs/strategies.md): its status, ECS's reason, the stage it reached and the
    /// breaker's count and threshold when the breaker tripped, the alarms that went off;
    /// `rolled_back` when ECS rolls back to the old revision (ROLLBACK_*), not when it
    /// failed or stopped without one.
    ServiceDeployment {
        status: String,
        reason: String,
        stage: Option<String>,
        breaker: Option<(i32, i32)>,
        /// The alarms ECS says went into ALARM (`triggeredAlarmNames`).
        alarms: Vec<String>,
        rolled_back: bool,
    },
}

impl Failure {
    /// Whether ECS is rolling back (or rolled back) by itself: ferry only verifies.
    #[must_use]
    pub fn rolled_back_by_ecs(&self) -> bool {
        matches!(
            self,
            Failure::RolledBackByEcs { .. }
                | Failure::CircuitBreaker { rolled_back_by_ecs: true, .. }
                | Failure::GateRolledBack { .. }
                | Failure::ServiceDeployment { rolled_back: true, .. }
        )
    }

    /// The reason in words, for the final line.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Failure::CircuitBreaker { reason, rolled_back_by_ecs } => {
                // The breaker's, or another of ECS's failure detectors (an alarm).
                let who = if reason.contains("circuit breaker") {
                    "ECS's circuit breaker"
                } else {
                    "ECS"
                };
                let back = if *rolled_back_by_ecs {
                    format!("; {who} is rolling back")
                } else {
                    String::new()
                };
                format!("{who} failed our deployment ({reason}){back}")
            }
            Failure::RolledBackByEcs { to_deployment, to_task_definition } => format!(
                "ECS's circuit breaker rolled our deployment back to deployment {to_deployment} \
                 ({to_task_definition})"
            ),
            Failure::Superseded { by_deployment, task_definition } => format!(
                "deployment {by_deployment} ({task_definition}) replaced ours; ferry leaves it \
                 alone"
            ),
            Failure::Vanished { runs } => format!(
                "our deployment disappeared from the service and ECS recorded no rollback{}",
                runs.as_ref().map_or_else(String::new, |r| format!("; the service runs {r}"))
            ),
            Failure::ServiceGone => "the service is gone or INACTIVE".to_owned(),
            Failure::FailFast { stopped } => {
                let first = stopped.first().map_or_else(String::new, |t| {
                    let exits: Vec<String> = t
                        .containers
                        .iter()
                        .filter_map(|(name, code, reason)| {
                            super::stopped::container_words(name, *code, reason.as_deref())
                        })
                        .collect();
                    format!(
                        ": {} ({}{})",
                        t.reason,
                        t.stop_code,
                        if exits.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", exits.join(", "))
                        }
                    )
                });
                format!("{} tasks of our deployment stopped{first}", stopped.len())
            }
            Failure::WrongImage { task, container, expected, found } => {
                format!("task {task} runs {found} in container `{container}`, not {expected}")
            }
            Failure::TimedOut { after_ms, standing } => format!(
                "the rollout did not finish within {} ({standing})",
                crate::eval::duration_text(*after_ms)
            ),
            Failure::GateFailed { gate, reason } => format!("gate {gate} failed: {reason}"),
            Failure::GateRolledBack { gate, reason } => format!(
                "gate {gate} failed: {reason}; ferry asked ECS to roll our service deployment \
                 back (StopServiceDeployment)"
            ),
            Failure::ServiceDeployment { status, reason, stage, breaker, alarms, rolled_back } => {
                let at = stage.as_ref().map_or_else(String::new, |s| format!(" in {s}"));
                let why = if reason.is_empty() { String::new() } else { format!(": {reason}") };
                let count = breaker.map_or_else(String::new, |(n, of)| {
                    format!(
                        " (the circuit breaker counted {n} failed tasks of a threshold of {of})"
                    )
                });
                let alarmed = if alarms.is_empty() {
                    String::new()
                } else {
                    format!(" (CloudWatch alarm(s) {} in ALARM)", alarms.join(", "))
                };
                let then = if *rolled_back {
                    "ECS is rolling back to the old revision"
                } else {
                    "ECS did not roll back: the service needs a look"
                };
                format!("our service deployment ended {status}{at}{why}{count}{alarmed}; {then}")
            }
            Failure::TargetsNotHealthy { standing } => {
                format!("the load balancers stopped calling our tasks healthy: {standing}")
            }
            Failure::CannotProgress { message } => {
                format!("the deployment cannot progress: {message}")
            }
        }
    }
}

/// Where the rollout stands after one look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Still rolling; the status line says how far.
    Rolling(String),
    /// Every desired task of ours runs (whether they count as healthy is `healthy_tasks`'s
    /// to say); old tasks may still drain.
    Serving,
    /// Our deployment completed.
    Completed,
    Failed(Failure),
}

/// Judges one DescribeServices answer. `seen` says whether our deployment appeared in an
/// earlier answer; before it has, its absence means "not visible yet" unless the service
/// shows why it is gone.
#[must_use]
pub fn judge(anchor: &Anchor, service: Option<&ServiceView>, seen: bool) -> Standing {
    let Some(service) = service else { return Standing::Failed(Failure::ServiceGone) };
    let primary = service.primary();
    let ours_events = anchor.our_events(service);
    let rollback_recorded = ours_events.iter().any(|e| {
        e.message.contains(&format!("(deployment {}) deployment failed", anchor.deployment_id))
            || e.message.contains("rolling back to deployment")
    }) || primary
        .is_some_and(|p| p.reason.starts_with("ECS deployment circuit breaker: rolling back"));
    // A deployment newer than ours (by the endpoint's clock) that is not ECS re-activating
    // an older one.
    let newer = service.deployments.iter().find(|d| {
        d.id != anchor.deployment_id
            && d.created_ms > anchor.created_ms
            && !d.reason.starts_with("ECS deployment circuit breaker: rolling back")
    });
    let Some(ours) = service.deployment(&anchor.deployment_id) else {
        if let Some(newer) = newer {
            return Standing::Failed(Failure::Superseded {
                by_deployment: newer.id.clone(),
                task_definition: newer.task_definition.clone(),
            });
        }
        if rollback_recorded && let Some(p) = primary {
            return Standing::Failed(Failure::RolledBackByEcs {
                to_deployment: p.id.clone(),
                to_task_definition: p.task_definition.clone(),
            });
        }
        if !seen {
            return Standing::Rolling("waiting for our deployment to show".to_owned());
        }
        return Standing::Failed(Failure::Vanished {
            runs: primary.map(|p| format!("{} (deployment {})", p.task_definition, p.id)),
        });
    };
    if ours.rollout_state.as_deref() == Some("FAILED") {
        let rolled_back_by_ecs = primary.is_some_and(|p| p.id != ours.id);
        return Standing::Failed(Failure::CircuitBreaker {
            reason: ours.reason.clone(),
            rolled_back_by_ecs,
        });
    }
    if ours.status != "PRIMARY" {
        return Standing::Failed(match (primary, newer) {
            (_, Some(newer)) if newer.status == "PRIMARY" => Failure::Superseded {
                by_deployment: newer.id.clone(),
                task_definition: newer.task_definition.clone(),
            },
            (Some(p), _) if rollback_recorded => Failure::RolledBackByEcs {
                to_deployment: p.id.clone(),
                to_task_definition: p.task_definition.clone(),
            },
            (Some(p), _) => Failure::Superseded {
                by_deployment: p.id.clone(),
                task_definition: p.task_definition.clone(),
            },
            (None, _) => Failure::Vanished { runs: None },
        });
    }
    if ours.rollout_state.as_deref() == Some("COMPLETED") {
        return Standing::Completed;
    }
    // Services behind a Classic Load Balancer have no rolloutState: the waiter's rule,
    // anchored on our task definition.
    if ours.rollout_state.is_none()
        && service.deployments.len() == 1
        && ours.running == ours.desired
    {
        return Standing::Completed;
    }
    if let Some(event) = ours_events
        .iter()
        .find(|e| e.message.contains("was unable to stop or start tasks during a deployment"))
    {
        return Standing::Failed(Failure::CannotProgress { message: event.message.clone() });
    }
    if ours.desired > 0 && ours.running >= ours.desired && ours.pending == 0 {
        return Standing::Serving;
    }
    let old: i32 = service.deployments.iter().filter(|d| d.id != ours.id).map(|d| d.running).sum();
    Standing::Rolling(format!(
        "{}/{} running, {} pending, {} failed; {old} old still running",
        ours.running, ours.desired, ours.pending, ours.failed
    ))
}

/// How many tasks of ours count as healthy at `now_ms` (epoch ms, the endpoint's clock),
/// as ECS counts them: RUNNING and HEALTHY with a container health check; RUNNING for 40
/// seconds without one (reference §1.4). An UNHEALTHY task never counts.
#[must_use]
pub(super) fn healthy_tasks(anchor: &Anchor, tasks: &[TaskView], now_ms: i64) -> usize {
    tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING" && t.started_by == anchor.deployment_id)
        .filter(|t| match t.health.as_str() {
            "HEALTHY" => true,
            "UNHEALTHY" => false,
            _ if anchor.health_check => false,
            _ => t.started_ms.is_some_and(|at| now_ms - at >= UNCHECKED_HEALTHY_AFTER_MS),
        })
        .count()
}

/// Without a health check, when every RUNNING task of ours will count as healthy (the
/// latest start plus 40 s); none with one, where only a later look can tell.
#[must_use]
pub(super) fn healthy_at(anchor: &Anchor, tasks: &[TaskView]) -> Option<i64> {
    if anchor.health_check {
        return None;
    }
    tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING" && t.started_by == anchor.deployment_id)
        .filter_map(|t| t.started_ms)
        .max()
        .map(|at| at + UNCHECKED_HEALTHY_AFTER_MS)
}

/// Whether the service runs `task_definition` alone, settled: one deployment, COMPLETED
/// (or without rolloutState), at its desired count. What a verified rollback means.
#[must_use]
pub(super) fn settled_on(service: &ServiceView, task_definition: &str) -> bool {
    service.deployments.len() == 1
        && service.primary().is_some_and(|p| {
            p.task_definition == task_definition
                && p.rollout_state.as_deref().is_none_or(|s| s == "COMPLETED")
                && p.running == p.desired
        })
}

/// The stopped tasks of ours that count as failures: they did not start, their essential
/// container exited, or they failed health checks.
#[must_use]
pub fn failed_tasks(stopped: &[StoppedTask]) -> Vec<StoppedTask> {
    stopped
        .iter()
        .filter(|t| {
            t.stop_code == "TaskFailedToStart"
                || t.stop_code == "EssentialContainerExited"
                || t.reason.contains("health checks")
        })
        .cloned()
        .collect()
}

/// Checks that every running task of ours runs the digests we pinned.
pub(super) fn check_digests(anchor: &Anchor, tasks: &[TaskView]) -> Result<(), Failure> {
    for task in tasks.iter().filter(|t| t.last_status == "RUNNING") {
        for (container, image, digest) in &task.containers {
            let Some(expected) = anchor.digests.get(container) else { continue };
            let found = digest.clone().or_else(|| image.split_once('@').map(|(_, d)| d.to_owned()));
            if found.as_deref() != Some(expected.as_str()) {
                return Err(Failure::WrongImage {
                    task: task.short_id().to_owned(),
                    container: container.clone(),
                    expected: expected.clone(),
                    found: found.unwrap_or_else(|| image.clone()),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
