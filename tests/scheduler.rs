//! The rolling-update scheduler against ECS's documented behaviour
//! (docs/ecs.md §1–§2, §10): rounds, the desired-1 traps, circuit-breaker
//! thresholds, rollback targets, superseded deployments and large services.

use ferry::local::behaviour::{FaultFile, TaskBehaviour};
use ferry::local::deployment::{DeploymentStatus, Revision, RolloutState};
use ferry::local::ids::Ids;
use ferry::local::scheduler::{
    CircuitBreaker, Launcher, Rollout, RolloutConfig, SchedulerSettings, Strategy,
};
use ferry::local::simulation::{Outcome, SimulationInput, seed_steady, simulate};
use ferry::local::task::TaskState;

fn input(desired: u32, min: u32, max: u32) -> SimulationInput {
    SimulationInput {
        desired,
        min_healthy_percent: min,
        max_percent: max,
        capacity: None,
        circuit_breaker: CircuitBreaker::OFF,
        grace_ms: 0,
        drain_ms: 0,
        target_groups: Vec::new(),
        faults: FaultFile::default(),
        settings: SchedulerSettings::default(),
        strategy: Strategy::Rolling,
        bake_ms: 0,
        early_success: None,
    }
}

const ROLLBACK: CircuitBreaker = CircuitBreaker {
    enable: true,
    rollback: true,
    reset_on_healthy_task: true,
    ..CircuitBreaker::OFF
};

fn faults(json: &str) -> FaultFile {
    FaultFile::parse(json).expect("fault file")
}

/// The steps as `(action, revision, count)`.
fn steps(input: &SimulationInput) -> (Vec<(&'static str, &'static str, u32)>, Outcome) {
    let simulation = simulate(input);
    (simulation.steps.iter().map(|s| (s.action, s.revision, s.count)).collect(), simulation.outcome)
}

#[test]
fn documented_example_six_tasks_room_for_eight_goes_in_rounds_of_two() {
    let (steps, outcome) = steps(&SimulationInput { capacity: Some(8), ..input(6, 100, 200) });
    assert_eq!(
        steps,
        [
            ("start", "new", 2),
            ("stop", "old", 2),
            ("start", "new", 2),
            ("stop", "old", 2),
            ("start", "new", 2),
            ("stop", "old", 2),
        ]
    );
    assert_eq!(outcome, Outcome::Completed);
}

/// AWS's "Task deployment" page (best-practices guide), with minimumHealthyPercent 50:
/// six tasks in room for eight go stop 3, start 5, stop 3, start 1; in room for nine,
/// stop 3, start 6, stop 3 — a stop pass before the start pass when the minimum allows.
#[test]
fn documented_examples_with_min_50_stop_before_they_start() {
    let (eight, outcome) = steps(&SimulationInput { capacity: Some(8), ..input(6, 50, 200) });
    assert_eq!(
        eight,
        [("stop", "old", 3), ("start", "new", 5), ("stop", "old", 3), ("start", "new", 1)]
    );
    assert_eq!(outcome, Outcome::Completed);
    let (nine, outcome) = steps(&SimulationInput { capacity: Some(9), ..input(6, 50, 200) });
    assert_eq!(nine, [("stop", "old", 3), ("start", "new", 6), ("stop", "old", 3)]);
    assert_eq!(outcome, Outcome::Completed);
}

/// A rollout that arrives while the previous one's tasks are RUNNING but not yet counted
/// healthy (younger than 40 s) stops none of them below the minimum: 4 running stay 4.
#[test]
fn young_tasks_are_not_stopped_below_the_minimum() {
    let mut ids = Ids::new(7);
    let mut rollout =
        Rollout::new("web", config(4, CircuitBreaker::OFF), SchedulerSettings::default());
    rollout.deploy(revision("v1"), &mut ids, 0);
    let mut launcher = Plain;
    // v1's four tasks run from 30 s on and count healthy 40 s later: at 45 s, none does.
    rollout.advance(45_000, &mut launcher, &mut ids);
    assert_eq!(rollout.counts(&rollout.deployments[0].id.clone()).0, 4, "running");
    rollout.deploy(revision("v2"), &mut ids, 45_000);
    let mut fewest = u32::MAX;
    for now in (45_000..600_000).step_by(1_000) {
        rollout.advance(now, &mut launcher, &mut ids);
        let running = rollout.tasks.iter().filter(|t| t.state == TaskState::Running).count();
        fewest = fewest.min(running as u32);
    }
    assert!(fewest >= 4, "ran {fewest} tasks at the least, below minimumHealthyPercent 100");
    assert_eq!(rollout.deployments[0].rollout, RolloutState::Completed);
}

/// A superseded deployment whose tasks never ran is not kept: a second update before the
/// first one's tasks start leaves nothing to relaunch, and the newest completes.
#[test]
fn a_superseded_deployment_that_never_ran_is_not_relaunched() {
    let mut ids = Ids::new(11);
    let mut rollout =
        Rollout::new("web", config(2, CircuitBreaker::OFF), SchedulerSettings::default());
    rollout.deploy(revision("v1"), &mut ids, 0);
    run(&mut rollout, &mut ids, 0, 600_000);
    rollout.deploy(revision("bad"), &mut ids, 600_000);
    rollout.advance(601_000, &mut Plain, &mut ids);
    rollout.deploy(revision("v3"), &mut ids, 602_000);
    let bad = rollout.deployments[1].clone();
    assert_eq!(bad.keep, Some(0), "its tasks never ran");
    run(&mut rollout, &mut ids, 602_000, 4 * 3_600_000);
    assert_eq!(rollout.deployments[0].rollout, RolloutState::Completed);
    let bad_launches = rollout.tasks.iter().filter(|t| t.deployment_id == bad.id).count();
    assert!(bad_launches <= 2, "{bad_launches} tasks of the superseded revision");
}

/// Since 2025-11 ECS replaces a task of the old revision that dies mid-rollout with its
/// own revision, not with the new one.
#[test]
fn an_old_task_that_dies_mid_rollout_is_replaced_with_its_own_revision() {
    let mut ids = Ids::new(9);
    let mut rollout =
        Rollout::new("web", config(2, CircuitBreaker::OFF), SchedulerSettings::default());
    rollout.deploy(revision("v1"), &mut ids, 0);
    let mut launcher = Plain;
    rollout.advance(120_000, &mut launcher, &mut ids);
    let v1 = rollout.deployments[0].id.clone();
    rollout.deploy(revision("slow"), &mut ids, 120_000);
    rollout.advance(121_000, &mut launcher, &mut ids);
    // An old task dies while the new ones are still starting.
    let old =
        rollout.tasks.iter().position(|t| t.deployment_id == v1 && t.is_active()).expect("old");
    let died = rollout.tasks[old].id.clone();
    rollout.tasks[old].crash_ms = Some(122_000);
    rollout.advance(130_000, &mut launcher, &mut ids);
    let replacement = rollout
        .tasks
        .iter()
        .find(|t| t.deployment_id == v1 && t.id != died && t.created_ms >= 122_000)
        .map(|t| t.id.clone())
        .expect("a v1 task replaces the one that died");
    run(&mut rollout, &mut ids, 130_000, 3_600_000);
    assert_eq!(rollout.deployments[0].rollout, RolloutState::Completed);
    // It served: it ran (the stop pass leaves a task on its way to counting alone while
    // the service is below its minimum), until the new revision replaced it.
    let replaced = rollout.tasks.iter().find(|t| t.id == replacement).expect("kept");
    assert!(replaced.running_ms.is_some(), "the replacement reached RUNNING");
}

#[test]
fn min_50_max_100_stops_half_first() {
    // AWS's example: min 50 %, desired 4 → may stop 2 old before starting 2 new.
    let (steps, outcome) = steps(&input(4, 50, 100));
    assert_eq!(
        steps,
        [("stop", "old", 2), ("start", "new", 2), ("stop", "old", 2), ("start", "new", 2)]
    );
    assert_eq!(outcome, Outcome::Completed);
}

#[test]
fn defaults_start_everything_then_stop_everything() {
    let (steps, outcome) = steps(&input(4, 100, 200));
    assert_eq!(steps, [("start", "new", 4), ("stop", "old", 4)]);
    assert_eq!(outcome, Outcome::Completed);
}

#[test]
fn max_125_with_three_tasks_cannot_start_any() {
    // floor(3 × 1.25) = 3: no room to start; min 100 %: no leave to stop.
    let simulation = simulate(&input(3, 100, 125));
    assert_eq!(simulation.outcome, Outcome::Stuck);
    assert!(
        simulation.events[0]
            .message
            .contains("was unable to stop or start tasks during a deployment")
    );
}

#[test]
fn desired_one_traps() {
    for (min, max, expected) in [
        (100, 100, Outcome::Stuck),
        (100, 150, Outcome::Stuck),
        (50, 199, Outcome::Stuck),
        (1, 100, Outcome::Stuck),
        (100, 200, Outcome::Completed),
        (0, 100, Outcome::Completed),
    ] {
        let simulation = simulate(&input(1, min, max));
        assert_eq!(simulation.outcome, expected, "min {min} max {max}");
    }
    // With downtime: the old task stops before the new one starts.
    let (steps, _) = steps(&input(1, 0, 100));
    assert_eq!(steps, [("stop", "old", 1), ("start", "new", 1)]);
}

#[test]
fn circuit_breaker_thresholds() {
    for (desired, threshold) in
        [(1, 3), (2, 3), (5, 3), (6, 3), (7, 4), (10, 5), (25, 13), (400, 200), (800, 200)]
    {
        assert_eq!(CircuitBreaker::threshold(desired), threshold, "desired {desired}");
    }
}

#[test]
fn configured_thresholds_count_shares_or_failures() {
    use ferry::local::scheduler::Threshold;
    let with = |threshold| CircuitBreaker { threshold, ..ROLLBACK };
    for (threshold, desired, limit) in [
        (Threshold::BoundedPercent(50), 2, 3),
        (Threshold::BoundedPercent(10), 100, 10),
        (Threshold::BoundedPercent(100), 400, 200),
        (Threshold::UnboundedPercent(50), 2, 1),
        (Threshold::UnboundedPercent(100), 400, 400),
        (Threshold::Count(1), 10, 1),
        (Threshold::Count(7), 2, 7),
    ] {
        assert_eq!(with(threshold).limit(desired), limit, "{threshold:?} of {desired}");
    }
    // A count of 1: the first crash of the new revision rolls it back.
    let simulation = simulate(&SimulationInput {
        circuit_breaker: with(Threshold::Count(1)),
        faults: faults(r#"{"images": [{"match": "new", "crash_after": "5s", "exit_code": 2}]}"#),
        ..input(4, 100, 200)
    });
    assert_eq!(simulation.outcome, Outcome::RolledBack);
    assert!((1..5).contains(&simulation.failed_tasks), "{}", simulation.failed_tasks);
}

#[test]
fn crashing_tasks_trip_the_breaker_at_its_threshold_and_roll_back() {
    for desired in [1, 4, 10] {
        let simulation = simulate(&SimulationInput {
            circuit_breaker: ROLLBACK,
            faults: faults(
                r#"{"images": [{"match": "new", "crash_after": "5s", "exit_code": 2}]}"#,
            ),
            ..input(desired, 100, 200)
        });
        assert_eq!(simulation.outcome, Outcome::RolledBack, "desired {desired}");
        // Tasks that fail in the same moment all count, so the total may pass the threshold
        // by less than one batch.
        let threshold = CircuitBreaker::threshold(desired);
        assert!(
            (threshold..threshold + desired).contains(&simulation.failed_tasks),
            "desired {desired}: {} failed, threshold {threshold}",
            simulation.failed_tasks
        );
        let messages: Vec<&str> = simulation.events.iter().map(|e| e.message.as_str()).collect();
        let failed = messages
            .iter()
            .position(|m| m.ends_with("deployment failed: tasks failed to start."))
            .expect("failed event");
        assert!(
            messages[failed + 1]
                .starts_with("(service simulated) rolling back to deployment ecs-svc/"),
            "{messages:?}"
        );
    }
}

#[test]
fn breaker_without_rollback_fails_and_keeps_the_old_tasks() {
    let simulation = simulate(&SimulationInput {
        circuit_breaker: CircuitBreaker {
            enable: true,
            rollback: false,
            reset_on_healthy_task: true,
            ..CircuitBreaker::OFF
        },
        faults: faults(
            r#"{"images": [
                {"match": "new", "fail_to_start": "CannotPullContainerError: pull access denied"}
            ]}"#,
        ),
        ..input(2, 100, 200)
    });
    assert_eq!(simulation.outcome, Outcome::Failed);
    let last = simulation.steps.last().expect("steps");
    assert_eq!((last.old_active, last.old_healthy), (2, 2));
}

#[test]
fn without_breaker_a_failing_deployment_retries_with_the_throttle() {
    let simulation = simulate(&SimulationInput {
        faults: faults(
            r#"{"images": [{"match": "new", "fail_to_start": "CannotPullContainerError: nope"}]}"#,
        ),
        ..input(2, 100, 200)
    });
    assert_eq!(simulation.outcome, Outcome::Unfinished, "still retrying at the time limit");
    assert!(
        simulation
            .events
            .iter()
            .any(|e| e.message.ends_with("is unable to consistently start tasks successfully."))
    );
    // The throttle spaces launches out: far fewer than one per pass over six hours.
    let launches: u32 =
        simulation.steps.iter().filter(|s| s.action == "start").map(|s| s.count).sum();
    assert!((10..100).contains(&launches), "{launches} launches");
}

#[test]
fn never_healthy_tasks_fail_after_the_grace_period() {
    let slow = simulate(&SimulationInput {
        circuit_breaker: ROLLBACK,
        grace_ms: 300_000,
        faults: faults(
            r#"{"images": [{
                "match": "new", "health_check": true, "never_healthy": true,
                "unhealthy_after": "30s"
            }]}"#,
        ),
        ..input(3, 100, 200)
    });
    assert_eq!(slow.outcome, Outcome::RolledBack);
    // Health-check failures are ignored until the 300 s grace period is over.
    let first_stop =
        slow.events.iter().find(|e| e.message.contains("deployment failed")).expect("failure");
    assert!(first_stop.at_ms >= 330_000, "{}", first_stop.at_ms);
}

struct Plain;

impl Launcher for Plain {
    fn behaviour(&mut self, revision: &Revision) -> TaskBehaviour {
        if revision.images[0] == "bad" {
            TaskBehaviour {
                outcome: ferry::local::behaviour::Outcome::FailToStart {
                    reason: "CannotPullContainerError".to_owned(),
                },
                ..TaskBehaviour::default()
            }
        } else {
            TaskBehaviour::default()
        }
    }
}

fn revision(name: &str) -> Revision {
    Revision {
        arn: format!("arn:td/{name}"),
        images: vec![name.to_owned()],
        has_health_check: false,
        stop_timeout_ms: 30_000,
    }
}

fn config(desired: u32, breaker: CircuitBreaker) -> RolloutConfig {
    RolloutConfig {
        desired,
        min_healthy_percent: 100,
        max_percent: 200,
        grace_ms: 0,
        circuit_breaker: breaker,
        capacity: None,
        drain_ms: 0,
        target_groups: Vec::new(),
        strategy: Strategy::Rolling,
        bake_ms: 0,
        hooks: Vec::new(),
        alarms: ferry::local::scheduler::Alarms::default(),
        early_success: None,
    }
}

/// Runs until settled or `limit` ms.
fn run(rollout: &mut Rollout, ids: &mut Ids, from: u64, limit: u64) -> u64 {
    let mut now = from;
    while now < limit && !rollout.is_settled() {
        rollout.advance(now, &mut Plain, ids);
        now = rollout.next_wakeup().max(now + 1);
    }
    now
}

#[test]
fn rollback_goes_to_the_most_recent_completed_deployment() {
    let mut ids = Ids::new(7);
    let mut rollout = Rollout::new("web", config(2, ROLLBACK), SchedulerSettings::default());
    seed_steady(&mut rollout, &revision("v1"), &mut ids);
    let v2 = rollout.deploy(revision("v2"), &mut ids, 0);
    let now = run(&mut rollout, &mut ids, 0, 3_600_000);
    assert_eq!(
        rollout.primary().map(|p| (p.id.clone(), p.rollout)),
        Some((v2.clone(), RolloutState::Completed))
    );
    rollout.deploy(revision("bad"), &mut ids, now);
    run(&mut rollout, &mut ids, now, 7_200_000);
    let primary = rollout.primary().expect("primary");
    assert_eq!(primary.id, v2, "rolled back to v2 (the last COMPLETED), not to v1");
    assert_eq!(primary.rollout, RolloutState::Completed);
    assert_eq!(rollout.deployments.len(), 1, "the failed deployment dropped out once replaced");
}

#[test]
fn no_completed_deployment_means_the_failure_stalls() {
    let mut ids = Ids::new(7);
    let mut rollout = Rollout::new("web", config(2, ROLLBACK), SchedulerSettings::default());
    let first = rollout.deploy(revision("bad"), &mut ids, 0);
    run(&mut rollout, &mut ids, 0, 3_600_000);
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (first.as_str(), RolloutState::Failed));
    assert!(
        !rollout.tasks.iter().any(ferry::local::task::Task::is_active),
        "a FAILED deployment launches no more tasks"
    );
}

#[test]
fn a_deployment_superseded_midway_is_replaced_by_the_newer_one() {
    let mut ids = Ids::new(3);
    let mut rollout =
        Rollout::new("web", config(4, CircuitBreaker::OFF), SchedulerSettings::default());
    seed_steady(&mut rollout, &revision("v1"), &mut ids);
    let v2 = rollout.deploy(revision("v2"), &mut ids, 0);
    rollout.advance(20_000, &mut Plain, &mut ids); // v2's tasks are still PENDING
    assert_eq!(rollout.counts(&v2), (0, 4));
    let v3 = rollout.deploy(revision("v3"), &mut ids, 20_000);
    assert_eq!(
        rollout.deployments.iter().find(|d| d.id == v2).map(|d| d.status),
        Some(DeploymentStatus::Active)
    );
    run(&mut rollout, &mut ids, 20_000, 3_600_000);
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (v3.as_str(), RolloutState::Completed));
    assert_eq!(rollout.deployments.len(), 1);
    let running: Vec<&str> = rollout
        .tasks
        .iter()
        .filter(|t| t.is_active())
        .map(|t| t.task_definition_arn.as_str())
        .collect();
    assert_eq!(running, ["arn:td/v3"; 4]);
}

#[test]
fn a_large_service_rolls_in_bounded_passes() {
    let simulation = simulate(&SimulationInput { capacity: Some(250), ..input(200, 100, 200) });
    assert_eq!(simulation.outcome, Outcome::Completed);
    let started: u32 =
        simulation.steps.iter().filter(|s| s.action == "start").map(|s| s.count).sum();
    assert_eq!(started, 200);
    assert!(simulation.steps.iter().all(|s| s.old_active + s.new_active <= 250));
}

#[test]
fn draining_delays_the_stop_path() {
    let fast = simulate(&input(2, 100, 200));
    let drained = simulate(&SimulationInput { drain_ms: 300_000, ..input(2, 100, 200) });
    assert_eq!(drained.outcome, Outcome::Completed);
    assert!(
        drained.duration_ms >= fast.duration_ms + 300_000,
        "{} vs {}",
        drained.duration_ms,
        fast.duration_ms
    );
}

#[test]
fn settings_come_from_the_fault_file() {
    let file = faults(r#"{"scheduler": {"pass_interval": "1s", "crashes_trip_breaker": false}}"#);
    let settings = file.scheduler.apply(SchedulerSettings::default());
    assert_eq!((settings.pass_interval_ms, settings.crashes_trip_breaker), (1_000, false));
    // Crashes that do not count never trip the breaker: the deployment keeps retrying.
    let simulation = simulate(&SimulationInput {
        circuit_breaker: ROLLBACK,
        faults: faults(
            r#"{"images": [{"match": "new", "crash_after": "5s"}],
                "scheduler": {"crashes_trip_breaker": false}}"#,
        ),
        settings: faults(r#"{"scheduler": {"crashes_trip_breaker": false}}"#)
            .scheduler
            .apply(SchedulerSettings::default()),
        ..input(2, 100, 200)
    });
    assert_eq!(simulation.outcome, Outcome::Unfinished, "still retrying at the time limit");
}

/// The first task of v2 runs fine; every later one turns healthy, then crashes 10 s later.
struct FirstOk(u32);

impl Launcher for FirstOk {
    fn behaviour(&mut self, revision: &Revision) -> TaskBehaviour {
        if revision.images[0] != "v2" {
            return TaskBehaviour::default();
        }
        self.0 += 1;
        let outcome = if self.0 == 1 {
            ferry::local::behaviour::Outcome::Healthy
        } else {
            ferry::local::behaviour::Outcome::Crash { after_ms: 50_000, exit_code: 1 }
        };
        TaskBehaviour { start_ms: 1_000, outcome, ..TaskBehaviour::default() }
    }
}

#[test]
fn a_healthy_task_resets_the_failure_count_unless_told_otherwise() {
    // Old tasks drain for 300 s, so the rollout cannot complete before three crashes.
    let outcome = |reset_on_healthy_task| {
        let mut ids = Ids::new(5);
        let breaker = CircuitBreaker { reset_on_healthy_task, ..ROLLBACK };
        let mut rollout = Rollout::new(
            "web",
            RolloutConfig { drain_ms: 300_000, ..config(2, breaker) },
            SchedulerSettings::default(),
        );
        seed_steady(&mut rollout, &revision("v1"), &mut ids);
        let v2 = rollout.deploy(revision("v2"), &mut ids, 0);
        let mut launcher = FirstOk(0);
        let mut now = 0;
        while now < 3_600_000 && !rollout.is_settled() {
            rollout.advance(now, &mut launcher, &mut ids);
            now = rollout.next_wakeup().max(now + 1);
        }
        let primary = rollout.primary().expect("primary");
        (primary.id == v2, primary.rollout)
    };
    assert_eq!(
        outcome(true),
        (true, RolloutState::Completed),
        "each crash follows a healthy task: the count resets"
    );
    assert_eq!(
        outcome(false),
        (false, RolloutState::Completed),
        "three crashes in all trip the breaker"
    );
}

#[test]
fn early_success_completes_at_its_share_and_deferred_cleanup_comes_after() {
    use ferry::local::scheduler::EarlySuccess;
    // 4 tasks, min 50 %, max 200 %: the new revision starts in full; half of them start
    // late. At 50 % healthy the deployment succeeds; DEFERRED: the old tasks go after.
    let faults = faults(r#"{"images": [{"match": "new", "start": "30s"}]}"#);
    let normal = simulate(&SimulationInput { faults: faults.clone(), ..input(4, 50, 200) });
    for deferred in [false, true] {
        let early = simulate(&SimulationInput {
            faults: faults.clone(),
            early_success: Some(EarlySuccess { healthy_percent: 50, deferred }),
            ..input(4, 50, 200)
        });
        assert_eq!(early.outcome, Outcome::Completed, "deferred {deferred}");
        let completed = |s: &ferry::local::simulation::Simulation| {
            s.events
                .iter()
                .find(|e| e.message.ends_with("deployment completed."))
                .map(|e| e.at_ms)
                .expect("completed")
        };
        assert!(completed(&early) <= completed(&normal), "deferred {deferred}");
        if deferred {
            // Success while old tasks still ran: a stop of old tasks comes after it.
            let last_old_stop = early
                .steps
                .iter()
                .filter(|s| s.action == "stop" && s.revision == "old")
                .map(|s| s.at_ms)
                .max()
                .unwrap_or_default();
            assert!(last_old_stop >= completed(&early), "{:?}", early.steps);
        }
    }
}
