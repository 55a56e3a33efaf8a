//! Judging a rollout (docs/correctness.md): anchored on OUR deployment id from the
//! UpdateService answer, never on the first poll; success only when our deployment is the
//! PRIMARY, with our task definition, COMPLETED (or serving — every desired task of ours
//! healthy — when asked), and its running tasks run the digests we asked for. A
//! circuit-breaker rollback, a superseding deployment or a vanished deployment is a
//! failure with its reason. Only events of our deployment count: created after it, and
//! not seen before it. Pure.

use std::collections::BTreeMap;

use crate::aws::{EventView, ServiceView, StoppedTask, TaskView};

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
    /// A health gate failed for good (docs/gates.md).
    GateFailed { gate: String, reason: String },
}

impl Failure {
    /// Whether ECS is rolling back (or rolled back) by itself: ferry only verifies.
    #[must_use]
    pub fn rolled_back_by_ecs(&self) -> bool {
        matches!(
            self,
            Failure::RolledBackByEcs { .. }
                | Failure::CircuitBreaker { rolled_back_by_ecs: true, .. }
        )
    }

    /// The reason in words, for the final line.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Failure::CircuitBreaker { reason, rolled_back_by_ecs } => {
                let back = if *rolled_back_by_ecs {
                    "; ECS's circuit breaker is rolling back"
                } else {
                    ""
                };
                format!("ECS's circuit breaker failed our deployment ({reason}){back}")
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
                        .filter_map(|(name, code, reason)| match (code, reason) {
                            (Some(code), _) => Some(format!("{name} exited {code}")),
                            (None, Some(reason)) => Some(format!("{name}: {reason}")),
                            _ => None,
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
pub fn healthy_tasks(anchor: &Anchor, tasks: &[TaskView], now_ms: i64) -> usize {
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
pub fn settled_on(service: &ServiceView, task_definition: &str) -> bool {
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
pub fn check_digests(anchor: &Anchor, tasks: &[TaskView]) -> Result<(), Failure> {
    for task in tasks.iter().filter(|t| t.last_status == "RUNNING") {
        for (container, image, digest) in &task.containers {
            let Some(expected) = anchor.digests.get(container) else { continue };
            let found = digest.clone().or_else(|| image.split_once('@').map(|(_, d)| d.to_owned()));
            if found.as_deref() != Some(expected.as_str()) {
                return Err(Failure::WrongImage {
                    task: task.arn.rsplit('/').next().unwrap_or(&task.arn).to_owned(),
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
mod tests {
    use super::*;
    use crate::aws::{BreakerView, DeploymentView};

    /// Our deployment is created at 1000 (epoch ms); older ones before, newer ones after.
    fn deployment(
        id: &str,
        status: &str,
        td: &str,
        state: Option<&str>,
        reason: &str,
        running: i32,
        desired: i32,
    ) -> DeploymentView {
        let created_ms = match id {
            "ecs-svc/1" => 500,
            "ecs-svc/2" => 1_000,
            _ => 2_000,
        };
        DeploymentView {
            id: id.to_owned(),
            status: status.to_owned(),
            task_definition: td.to_owned(),
            rollout_state: state.map(str::to_owned),
            reason: reason.to_owned(),
            desired,
            running,
            pending: 0,
            failed: 0,
            created_ms,
        }
    }

    fn service(deployments: Vec<DeploymentView>) -> ServiceView {
        ServiceView {
            arn: "arn".to_owned(),
            name: "web".to_owned(),
            status: "ACTIVE".to_owned(),
            desired: 3,
            running: 3,
            pending: 0,
            task_definition: deployments
                .first()
                .map(|d| d.task_definition.clone())
                .unwrap_or_default(),
            deployments,
            min_healthy: Some(100),
            max: Some(200),
            circuit_breaker: Some(BreakerView { enable: true, rollback: true }),
            ..ServiceView::default()
        }
    }

    fn event(id: &str, created_ms: i64, message: &str) -> EventView {
        EventView { id: id.to_owned(), created_ms, message: message.to_owned() }
    }

    fn anchor() -> Anchor {
        Anchor {
            service: "web".to_owned(),
            deployment_id: "ecs-svc/2".to_owned(),
            task_definition: "td:2".to_owned(),
            created_ms: 1_000,
            previous_task_definition: Some("td:1".to_owned()),
            rollback_target: Some("td:1".to_owned()),
            known_events: vec!["before".to_owned()],
            ..Anchor::default()
        }
    }

    #[test]
    fn the_first_poll_is_not_trusted() {
        // Right after UpdateService, the old deployment alone may still show: not success.
        let stale =
            service(vec![deployment("ecs-svc/1", "PRIMARY", "td:1", Some("COMPLETED"), "", 3, 3)]);
        assert!(matches!(judge(&anchor(), Some(&stale), false), Standing::Rolling(_)));
        // Once seen, its absence with no rollback recorded is not "ECS rolled back".
        assert!(matches!(
            judge(&anchor(), Some(&stale), true),
            Standing::Failed(Failure::Vanished { runs: Some(_) })
        ));
    }

    #[test]
    fn rollback_by_the_circuit_breaker_is_a_failure() {
        // The waiter's trap: one deployment, running == desired, but it is the old one.
        let rolled = service(vec![deployment(
            "ecs-svc/1",
            "PRIMARY",
            "td:1",
            Some("COMPLETED"),
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.",
            3,
            3,
        )]);
        assert_eq!(
            judge(&anchor(), Some(&rolled), true),
            Standing::Failed(Failure::RolledBackByEcs {
                to_deployment: "ecs-svc/1".to_owned(),
                to_task_definition: "td:1".to_owned()
            })
        );
        // Before ferry's first look, too: the rollback is recorded, so it is not "not
        // visible yet" until the timeout.
        assert!(matches!(
            judge(&anchor(), Some(&rolled), false),
            Standing::Failed(Failure::RolledBackByEcs { .. })
        ));
        let failing = service(vec![
            deployment(
                "ecs-svc/1",
                "PRIMARY",
                "td:1",
                Some("IN_PROGRESS"),
                "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.",
                3,
                3,
            ),
            deployment(
                "ecs-svc/2",
                "ACTIVE",
                "td:2",
                Some("FAILED"),
                "ECS deployment circuit breaker: tasks failed to start.",
                0,
                0,
            ),
        ]);
        let standing = judge(&anchor(), Some(&failing), true);
        assert!(
            matches!(
                &standing,
                Standing::Failed(f @ Failure::CircuitBreaker { rolled_back_by_ecs: true, .. })
                    if f.describe().contains("circuit breaker")
            ),
            "{standing:?}"
        );
    }

    #[test]
    fn a_rollback_that_already_completed_is_still_a_rollback() {
        let mut back = service(vec![deployment(
            "ecs-svc/1",
            "PRIMARY",
            "td:1",
            Some("COMPLETED"),
            "ECS deployment ecs-svc/1 completed.",
            3,
            3,
        )]);
        back.events = vec![
            event("e3", 1_500, "(service web) (deployment ecs-svc/1) deployment completed."),
            event("e2", 1_200, "(service web) rolling back to deployment ecs-svc/1."),
            event(
                "e1",
                1_100,
                "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
            ),
        ];
        assert!(matches!(
            judge(&anchor(), Some(&back), true),
            Standing::Failed(Failure::RolledBackByEcs { .. })
        ));
        // The same events from before our deployment say nothing about ours.
        let mut old = back.clone();
        for e in &mut old.events {
            e.created_ms -= 1_000;
        }
        assert!(matches!(
            judge(&anchor(), Some(&old), true),
            Standing::Failed(Failure::Vanished { .. })
        ));
        let other = service(vec![deployment(
            "ecs-svc/9",
            "PRIMARY",
            "td:9",
            Some("IN_PROGRESS"),
            "",
            1,
            3,
        )]);
        assert!(matches!(
            judge(&anchor(), Some(&other), true),
            Standing::Failed(Failure::Superseded { .. })
        ));
        // Someone deploying the old revision again is not ECS's rollback.
        let redeploy = service(vec![deployment(
            "ecs-svc/7",
            "PRIMARY",
            "td:1",
            Some("IN_PROGRESS"),
            "",
            1,
            3,
        )]);
        assert!(matches!(
            judge(&anchor(), Some(&redeploy), true),
            Standing::Failed(Failure::Superseded { .. })
        ));
        // Nor a forced redeployment of our own revision, with ours still listed.
        let forced = service(vec![
            deployment("ecs-svc/7", "PRIMARY", "td:2", Some("IN_PROGRESS"), "", 1, 3),
            deployment("ecs-svc/2", "ACTIVE", "td:2", Some("IN_PROGRESS"), "", 2, 2),
        ]);
        assert!(matches!(
            judge(&anchor(), Some(&forced), true),
            Standing::Failed(Failure::Superseded { .. })
        ));
    }

    #[test]
    fn success_needs_our_deployment_completed() {
        let rolling = service(vec![
            deployment("ecs-svc/2", "PRIMARY", "td:2", Some("IN_PROGRESS"), "", 1, 3),
            deployment("ecs-svc/1", "ACTIVE", "td:1", Some("COMPLETED"), "", 3, 3),
        ]);
        assert!(matches!(judge(&anchor(), Some(&rolling), true), Standing::Rolling(_)));
        let serving = service(vec![
            deployment("ecs-svc/2", "PRIMARY", "td:2", Some("IN_PROGRESS"), "", 3, 3),
            deployment("ecs-svc/1", "ACTIVE", "td:1", Some("COMPLETED"), "", 2, 2),
        ]);
        assert_eq!(judge(&anchor(), Some(&serving), true), Standing::Serving);
        let done =
            service(vec![deployment("ecs-svc/2", "PRIMARY", "td:2", Some("COMPLETED"), "", 3, 3)]);
        assert_eq!(judge(&anchor(), Some(&done), true), Standing::Completed);
        assert_eq!(judge(&anchor(), None, true), Standing::Failed(Failure::ServiceGone));
    }

    #[test]
    fn only_events_of_our_deployment_count() {
        let stuck = "(service web) was unable to stop or start tasks during a deployment because \
                     of the service deployment configuration. Update the minimumHealthyPercent or \
                     maximumPercent value and try again.";
        let mut rolling = service(vec![
            deployment("ecs-svc/2", "PRIMARY", "td:2", Some("IN_PROGRESS"), "", 1, 3),
            deployment("ecs-svc/1", "ACTIVE", "td:1", Some("COMPLETED"), "", 3, 3),
        ]);
        // Logged before our deployment (ECS keeps 100 events): not ours.
        rolling.events = vec![event("old", 400, stuck)];
        assert!(matches!(judge(&anchor(), Some(&rolling), true), Standing::Rolling(_)));
        // Seen in the UpdateService answer: not ours either, whatever its time says.
        rolling.events = vec![event("before", 1_500, stuck)];
        assert!(matches!(judge(&anchor(), Some(&rolling), true), Standing::Rolling(_)));
        rolling.events = vec![event("new", 1_500, stuck)];
        assert!(matches!(
            judge(&anchor(), Some(&rolling), true),
            Standing::Failed(Failure::CannotProgress { .. })
        ));
    }

    #[test]
    fn serving_means_healthy_as_ecs_counts_it() {
        let task = |health: &str, started_ms: i64| TaskView {
            arn: "arn:task/c/t1".to_owned(),
            started_by: "ecs-svc/2".to_owned(),
            last_status: "RUNNING".to_owned(),
            health: health.to_owned(),
            started_ms: Some(started_ms),
            ..TaskView::default()
        };
        let mut checked = anchor();
        checked.health_check = true;
        let tasks = [task("HEALTHY", 0), task("UNKNOWN", 0), task("UNHEALTHY", 0)];
        assert_eq!(healthy_tasks(&checked, &tasks, 100_000), 1);
        // Without a health check, RUNNING counts after 40 s, and not before.
        let unchecked = anchor();
        assert_eq!(healthy_tasks(&unchecked, &[task("UNKNOWN", 70_000)], 100_000), 0);
        assert_eq!(healthy_tasks(&unchecked, &[task("UNKNOWN", 60_000)], 100_000), 1);
        assert_eq!(healthy_tasks(&unchecked, &[task("UNHEALTHY", 0)], 100_000), 0);
        assert_eq!(
            healthy_at(&unchecked, &[task("UNKNOWN", 70_000), task("UNKNOWN", 50_000)]),
            Some(110_000)
        );
        assert_eq!(healthy_at(&checked, &[task("UNKNOWN", 70_000)]), None);
        let mut other = task("HEALTHY", 0);
        other.started_by = "ecs-svc/1".to_owned();
        assert_eq!(healthy_tasks(&checked, &[other], 100_000), 0);
    }

    #[test]
    fn digests_must_match() {
        let mut anchor = anchor();
        anchor.digests.insert("web".to_owned(), "sha256:aaa".to_owned());
        let task = |digest: &str| TaskView {
            arn: "arn:task/c/t1".to_owned(),
            started_by: "ecs-svc/2".to_owned(),
            last_status: "RUNNING".to_owned(),
            health: "HEALTHY".to_owned(),
            containers: vec![(
                "web".to_owned(),
                "repo@sha256:aaa".to_owned(),
                Some(digest.to_owned()),
            )],
            ..TaskView::default()
        };
        assert_eq!(check_digests(&anchor, &[task("sha256:aaa")]), Ok(()));
        assert!(matches!(
            check_digests(&anchor, &[task("sha256:bbb")]),
            Err(Failure::WrongImage { .. })
        ));
    }
}
