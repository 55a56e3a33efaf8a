//! The verdict's unit tests: the first poll not trusted, ECS's rollbacks told from
//! supersession and redeployment, only our deployment's events counted, health counted as
//! ECS counts it, and the pinned digests checked.

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
        task_definition: deployments.first().map(|d| d.task_definition.clone()).unwrap_or_default(),
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
    let other =
        service(vec![deployment("ecs-svc/9", "PRIMARY", "td:9", Some("IN_PROGRESS"), "", 1, 3)]);
    assert!(matches!(
        judge(&anchor(), Some(&other), true),
        Standing::Failed(Failure::Superseded { .. })
    ));
    // Someone deploying the old revision again is not ECS's rollback.
    let redeploy =
        service(vec![deployment("ecs-svc/7", "PRIMARY", "td:1", Some("IN_PROGRESS"), "", 1, 3)]);
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
        containers: vec![("web".to_owned(), "repo@sha256:aaa".to_owned(), Some(digest.to_owned()))],
        ..TaskView::default()
    };
    assert_eq!(check_digests(&anchor, &[task("sha256:aaa")]), Ok(()));
    assert!(matches!(
        check_digests(&anchor, &[task("sha256:bbb")]),
        Err(Failure::WrongImage { .. })
    ));
}
