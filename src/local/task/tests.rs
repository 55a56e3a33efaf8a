//! The unit tests of a task driven by a container runtime's reports: it waits for its
//! containers, turns healthy or unhealthy (after the grace period), stops when an
//! essential container exits, is OOM-killed or cannot be pulled, and stops at once when
//! asked to before it ran.

use super::*;

fn external(has_health_check: bool) -> Task {
    let spec = LaunchSpec {
        id: "t1".to_owned(),
        deployment_id: "ecs-svc/1".to_owned(),
        task_definition_arn: "arn:td/web:1".to_owned(),
        has_health_check,
        stop_timeout_ms: 30_000,
        drain_ms: 0,
        targets: Vec::new(),
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
    task.observe(RuntimeReport::Containers(vec![container(true, Some(Health::Healthy))]), 6_000, 0);
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
    assert_eq!(task.advance(500, 0), [Change::Stopped { failure: false, failed_to_start: false }]);
}

fn behind_a_load_balancer() -> Task {
    let mut task = external(false);
    task.targets = vec![crate::local::target_health::TaskTarget {
        group_arn: "arn:tg/web".to_owned(),
        container: "web".to_owned(),
        id: "10.0.0.1".to_owned(),
        port: 8080,
        timing: crate::local::target_health::HealthTiming {
            interval_ms: 5_000,
            healthy_threshold: 2,
            unhealthy_threshold: 2,
        },
        fate: None,
    }];
    task
}

#[test]
fn a_runtime_target_is_healthy_at_the_check_after_its_app_first_answers() {
    let mut task = behind_a_load_balancer();
    task.observe(RuntimeReport::Containers(vec![container(true, None)]), 1_000, 60_000);
    // Registered at RUNNING, nothing answered yet: not healthy, whatever the 40 s rule.
    assert!(!task.is_healthy(50_000));
    let refused = Failure::of("Target.FailedHealthChecks");
    task.checked(0, Err(Failure::mismatch(500)), 3_000, 60_000);
    let fate = task.targets[0].fate.clone().expect("registered");
    assert_eq!(fate.failure, Failure::mismatch(500));
    assert_ne!(fate.failure, refused);
    // It answers 7 s after registration: check 1 (6 s) failed, check 2 (11 s) passes.
    task.checked(0, Ok(()), 8_000, 60_000);
    let fate = task.targets[0].fate.clone().expect("registered");
    assert_eq!(fate.healthy_ms, Some(11_000));
    assert_eq!(task.healthy_ms, Some(11_000));
    assert_eq!(task.advance(11_000, 60_000), [Change::BecameHealthy]);
    // Answered once: later results change nothing.
    task.checked(0, Err(Failure::of("Target.Timeout")), 12_000, 60_000);
    assert_eq!(task.targets[0].fate.as_ref().and_then(|f| f.healthy_ms), Some(11_000));
}

#[test]
fn a_runtime_target_that_never_answers_gets_its_task_stopped_after_the_grace_period() {
    let mut task = behind_a_load_balancer();
    task.observe(RuntimeReport::Containers(vec![container(true, None)]), 1_000, 20_000);
    task.checked(0, Err(Failure::of("Target.Timeout")), 2_000, 20_000);
    // Unhealthy after 2 intervals (11 s), stopped once the grace period (21 s) is over.
    let changes = task.advance(21_000, 20_000);
    assert_eq!(changes, [Change::TargetUnhealthy { index: 0 }]);
    assert!(task.stop.as_ref().is_some_and(|s| s.reason.contains("failed ELB health checks")));
}
