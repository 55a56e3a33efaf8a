//! The scheduler behind a load balancer (docs/traffic.md): a task counts as healthy once
//! its target is, a target that never passes its checks gets its task stopped after the
//! grace period with ECS's words, and tasks taken out of service drain for their target
//! group's deregistration delay, with ECS's registration and draining events.

use crate::support::scheduling::{Faults, faults, revision};
use ferry::local::deployment::RolloutState;
use ferry::local::ids::Ids;
use ferry::local::scheduler::{
    CircuitBreaker, Rollout, RolloutConfig, SchedulerSettings, Strategy,
};
use ferry::local::target_health::{HealthTiming, Side, TargetLink};
use ferry::local::task::{StopCode, TaskState};

const GROUP: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123";

/// A service of `desired` tasks behind one target group checked every 10 s (2 to turn
/// healthy or unhealthy) with a 20 s deregistration delay.
fn rollout(desired: u32, grace_ms: u64) -> Rollout {
    let link = TargetLink {
        group_arn: GROUP.to_owned(),
        container: "web".to_owned(),
        container_port: 8080,
        target_type: "ip".to_owned(),
        timing: HealthTiming { interval_ms: 10_000, healthy_threshold: 2, unhealthy_threshold: 2 },
        drain_ms: 20_000,
        side: Side::Both,
    };
    let config = RolloutConfig {
        desired,
        min_healthy_percent: 100,
        max_percent: 200,
        grace_ms,
        circuit_breaker: CircuitBreaker::OFF,
        capacity: None,
        drain_ms: link.drain_ms,
        target_groups: vec![link],
        strategy: Strategy::Rolling,
        bake_ms: 0,
        hooks: Vec::new(),
        alarms: ferry::local::scheduler::Alarms::default(),
        early_success: None,
    };
    Rollout::new("web", config, SchedulerSettings::default())
}

/// Runs until settled or `limit` ms; returns when it stopped.
fn run(rollout: &mut Rollout, launcher: &mut Faults, ids: &mut Ids, from: u64, limit: u64) -> u64 {
    let mut now = from;
    while now < limit && !rollout.is_settled() {
        rollout.advance(now, launcher, ids);
        now = rollout.next_wakeup().max(now + 1);
    }
    now
}

fn events(rollout: &Rollout) -> Vec<String> {
    rollout.events.iter().rev().map(|e| e.message.clone()).collect()
}

#[test]
fn a_task_behind_a_load_balancer_counts_once_its_target_is_healthy() {
    // Without a container health check a task counts 40 s after RUNNING — but behind a
    // load balancer, when its target passes a check: 30 s to start, one 10 s interval.
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let mut rollout = rollout(1, 0);
    rollout.deploy(revision("web:1"), &mut ids, 0);
    run(&mut rollout, &mut launcher, &mut ids, 0, 600_000);
    let task = &rollout.tasks[0];
    assert_eq!((task.running_ms, task.healthy_ms), (Some(30_000), Some(40_000)));
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.rollout, primary.completed_ms), (RolloutState::Completed, Some(40_000)));
    assert!(
        events(&rollout)
            .contains(&format!("(service web) registered 1 targets in (target-group {GROUP})"))
    );
}

#[test]
fn a_slow_app_is_counted_when_its_target_turns_healthy() {
    // It answers 35 s after RUNNING: checks at 10, 20 (unhealthy) and 30 s fail, then
    // two passes (40, 50 s) make it healthy, inside the 60 s grace period: not stopped.
    let (mut ids, mut launcher) =
        (Ids::new(3), faults(r#"{"images": [{"match": "*", "lb_healthy_after": "35s"}]}"#));
    let mut rollout = rollout(1, 60_000);
    rollout.deploy(revision("web:1"), &mut ids, 0);
    run(&mut rollout, &mut launcher, &mut ids, 0, 600_000);
    let task = &rollout.tasks[0];
    assert_eq!((task.state, task.healthy_ms), (TaskState::Running, Some(30_000 + 50_000)));
    assert_eq!(rollout.primary().map(|p| p.rollout), Some(RolloutState::Completed));
}

#[test]
fn a_target_that_never_passes_gets_its_task_stopped_after_the_grace_period() {
    let json = r#"{"images": [{"match": "*", "lb_never_healthy": true,
        "lb_reason": "Target.Timeout"}]}"#;
    let (mut ids, mut launcher) = (Ids::new(3), faults(json));
    let mut rollout = rollout(1, 60_000);
    rollout.deploy(revision("web:1"), &mut ids, 0);
    rollout.advance(30_000 + 60_000, &mut launcher, &mut ids);
    let task = &rollout.tasks[0];
    assert_eq!(task.state, TaskState::Deactivating, "stopped at the end of the grace period");
    assert_eq!(task.stopping_ms, Some(90_000), "unhealthy at 20 s, acted on after the grace");
    let stop = task.stop.as_ref().expect("a stop");
    assert_eq!(stop.code, StopCode::ServiceSchedulerInitiated);
    assert_eq!(stop.reason, format!("Task failed ELB health checks in (target-group {GROUP})"));
    assert!(stop.failure, "it counts against the deployment");
    let id = task.id.clone();
    assert!(events(&rollout).contains(&format!(
        "(service web) (task {id}) (port 8080) is unhealthy in (target-group {GROUP}) due to \
         (reason Request timed out)."
    )));
}

#[test]
fn replaced_tasks_drain_for_the_groups_delay_with_ecss_events() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let mut rollout = rollout(2, 0);
    rollout.deploy(revision("web:1"), &mut ids, 0);
    let now = run(&mut rollout, &mut launcher, &mut ids, 0, 600_000);
    let old: Vec<String> = rollout.tasks.iter().map(|t| t.id.clone()).collect();
    rollout.deploy(revision("web:2"), &mut ids, now);
    run(&mut rollout, &mut launcher, &mut ids, now, 1_200_000);
    assert_eq!(rollout.primary().map(|p| p.rollout), Some(RolloutState::Completed));
    for task in rollout.tasks.iter().filter(|t| old.contains(&t.id)) {
        let (began, ended) = (task.stopping_ms.expect("asked"), task.stopped_ms.expect("gone"));
        // 20 s of draining, then the 2 s the app takes to exit on SIGTERM.
        assert_eq!(ended - began, 20_000 + 2_000, "{}", task.id);
    }
    let events = events(&rollout);
    let draining = events.iter().position(|e| e.contains("has begun draining connections on 2"));
    let deregistered = events.iter().position(|e| {
        *e == format!("(service web) deregistered 2 targets in (target-group {GROUP})")
    });
    let stopped = events.iter().rposition(|e| e.contains("has stopped 2 running tasks"));
    assert!(draining < deregistered && deregistered < stopped, "{events:#?}");
    assert!(draining.is_some(), "{events:#?}");
}

#[test]
fn health_status_stays_the_containers_while_the_target_is_not_healthy() {
    // ECS's `healthStatus` is its essential containers'; the target only gates counting.
    let json = r#"{"images": [{"match": "*", "health_check": true, "healthy_after": "5s",
        "lb_never_healthy": true}]}"#;
    let (mut ids, mut launcher) = (Ids::new(3), faults(json));
    let mut rollout = rollout(1, 600_000);
    rollout.deploy(revision("web:1"), &mut ids, 0);
    rollout.advance(30_000 + 10_000, &mut launcher, &mut ids);
    let task = &rollout.tasks[0];
    assert_eq!(task.health_status(40_000), "HEALTHY");
    assert!(!task.is_healthy(40_000), "not counted: its target never passes");
}
