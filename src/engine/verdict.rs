//! Judging a rollout (DESIGN "What correct means"): anchored on OUR deployment id from the
//! UpdateService answer, never on the first poll; success only when our deployment is the
//! PRIMARY, with our task definition, COMPLETED (or serving, when asked), and its running
//! tasks run the digests we asked for. A circuit-breaker rollback, a superseding
//! deployment or a vanished deployment is a failure with its reason. Pure.

use std::collections::BTreeMap;

use crate::aws::{ServiceView, StoppedTask, TaskView};

/// What the verdict is anchored on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Anchor {
    pub service: String,
    pub deployment_id: String,
    pub task_definition: String,
    /// The service-deployment ARN, when ECS gave one (for StopServiceDeployment).
    pub service_deployment_arn: Option<String>,
    /// The revision that was PRIMARY before our update: where a rollback goes.
    pub previous_task_definition: Option<String>,
    /// The deployment that was PRIMARY before ours; ECS's rollback re-activates it.
    pub previous_deployment_id: Option<String>,
    /// Container → the digest we pinned (`sha256:…`), for images pinned by digest.
    pub digests: BTreeMap<String, String>,
}

/// Why a rollout failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The circuit breaker failed our deployment (`rolloutState = FAILED`).
    CircuitBreaker { reason: String, rolled_back_by_ecs: bool },
    /// ECS rolled back to another deployment.
    RolledBackByEcs { to_deployment: String, to_task_definition: String },
    /// Another deployment replaced ours.
    Superseded { by_deployment: String, task_definition: String },
    /// Our deployment is gone and nothing explains it.
    Vanished,
    /// The service is gone or INACTIVE.
    ServiceGone,
    /// `fail_fast` tasks of our deployment stopped.
    FailFast { stopped: Vec<StoppedTask> },
    /// Running tasks run another image than the one we pushed.
    WrongImage { task: String, container: String, expected: String, found: String },
    /// The rollout did not finish within `timeout`.
    TimedOut { after_ms: u64 },
    /// The rollout can make no progress (ECS's "unable to stop or start tasks").
    CannotProgress { message: String },
    /// A health gate failed for good (docs/gates.md).
    GateFailed { gate: String, reason: String },
}

impl Failure {
    /// The reason in words, for the final line.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Failure::CircuitBreaker { reason, rolled_back_by_ecs } => {
                let back = if *rolled_back_by_ecs { "; ECS is rolling back" } else { "" };
                format!("the circuit breaker failed the deployment ({reason}){back}")
            }
            Failure::RolledBackByEcs { to_deployment, to_task_definition } => {
                format!("ECS rolled back to deployment {to_deployment} ({to_task_definition})")
            }
            Failure::Superseded { by_deployment, task_definition } => {
                format!("deployment {by_deployment} ({task_definition}) replaced ours")
            }
            Failure::Vanished => "our deployment disappeared from the service".to_owned(),
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
            Failure::TimedOut { after_ms } => format!(
                "the rollout did not finish within {}",
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
    /// Every desired task of ours runs; old tasks may still drain.
    Serving,
    /// Our deployment completed.
    Completed,
    Failed(Failure),
}

/// Judges one DescribeServices answer. `seen` says whether our deployment appeared in an
/// earlier answer; before it has, its absence means "not visible yet", not "gone".
#[must_use]
pub fn judge(anchor: &Anchor, service: Option<&ServiceView>, seen: bool) -> Standing {
    let Some(service) = service else { return Standing::Failed(Failure::ServiceGone) };
    let primary = service.primary();
    let Some(ours) = service.deployment(&anchor.deployment_id) else {
        if !seen {
            return Standing::Rolling("waiting for our deployment to show".to_owned());
        }
        // A rollback that already completed: ours is gone, the previous revision is back.
        let failed_event = format!("(deployment {}) deployment failed", anchor.deployment_id);
        if let Some(p) = primary
            && (anchor.previous_deployment_id.as_deref() == Some(p.id.as_str())
                || service.events.iter().any(|(_, m)| m.contains(&failed_event)))
        {
            return Standing::Failed(Failure::RolledBackByEcs {
                to_deployment: p.id.clone(),
                to_task_definition: p.task_definition.clone(),
            });
        }
        return Standing::Failed(match primary {
            Some(p) if p.reason.starts_with("ECS deployment circuit breaker: rolling back") => {
                Failure::RolledBackByEcs {
                    to_deployment: p.id.clone(),
                    to_task_definition: p.task_definition.clone(),
                }
            }
            Some(p)
                if p.task_definition != anchor.task_definition || p.id != anchor.deployment_id =>
            {
                Failure::Superseded {
                    by_deployment: p.id.clone(),
                    task_definition: p.task_definition.clone(),
                }
            }
            _ => Failure::Vanished,
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
        return Standing::Failed(match primary {
            Some(p) if p.reason.starts_with("ECS deployment circuit breaker: rolling back") => {
                Failure::RolledBackByEcs {
                    to_deployment: p.id.clone(),
                    to_task_definition: p.task_definition.clone(),
                }
            }
            Some(p) => Failure::Superseded {
                by_deployment: p.id.clone(),
                task_definition: p.task_definition.clone(),
            },
            None => Failure::Vanished,
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
    if let Some((_, message)) = service
        .events
        .iter()
        .find(|(_, m)| m.contains("was unable to stop or start tasks during a deployment"))
    {
        return Standing::Failed(Failure::CannotProgress { message: message.clone() });
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
    use crate::aws::DeploymentView;

    fn deployment(
        id: &str,
        status: &str,
        td: &str,
        state: Option<&str>,
        reason: &str,
        running: i32,
        desired: i32,
    ) -> DeploymentView {
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
            events: Vec::new(),
            current_service_deployment: None,
            min_healthy: Some(100),
            max: Some(200),
            circuit_breaker: Some((true, true)),
            grace_s: None,
        }
    }

    fn anchor() -> Anchor {
        Anchor {
            service: "web".to_owned(),
            deployment_id: "ecs-svc/2".to_owned(),
            task_definition: "td:2".to_owned(),
            service_deployment_arn: None,
            previous_task_definition: Some("td:1".to_owned()),
            previous_deployment_id: Some("ecs-svc/1".to_owned()),
            digests: BTreeMap::new(),
        }
    }

    #[test]
    fn the_first_poll_is_not_trusted() {
        // Right after UpdateService, the old deployment alone may still show: not success.
        let stale =
            service(vec![deployment("ecs-svc/1", "PRIMARY", "td:1", Some("COMPLETED"), "", 3, 3)]);
        assert!(matches!(judge(&anchor(), Some(&stale), false), Standing::Rolling(_)));
        assert!(matches!(
            judge(&anchor(), Some(&stale), true),
            Standing::Failed(Failure::RolledBackByEcs { .. })
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
        assert!(matches!(
            judge(&anchor(), Some(&failing), true),
            Standing::Failed(Failure::CircuitBreaker { rolled_back_by_ecs: true, .. })
        ));
    }

    #[test]
    fn a_rollback_that_already_completed_is_still_a_rollback() {
        let back = service(vec![deployment(
            "ecs-svc/1",
            "PRIMARY",
            "td:1",
            Some("COMPLETED"),
            "ECS deployment ecs-svc/1 completed.",
            3,
            3,
        )]);
        assert!(matches!(
            judge(&anchor(), Some(&back), true),
            Standing::Failed(Failure::RolledBackByEcs { .. })
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
            endpoints: vec![],
            private_ip: None,
        };
        assert_eq!(check_digests(&anchor, &[task("sha256:aaa")]), Ok(()));
        assert!(matches!(
            check_digests(&anchor, &[task("sha256:bbb")]),
            Err(Failure::WrongImage { .. })
        ));
    }
}
