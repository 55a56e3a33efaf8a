//! The scheduler's blue/green deployments (docs/strategies.md): the new revision starts
//! in full on the other side's target group beside the old one, test then production
//! traffic move to it one lifecycle stage at a time, both run through the bake, and the
//! old one stops at clean-up; a failure before clean-up moves traffic back to the old
//! revision, which never stopped; the next deployment starts on the side traffic left.
//! Linear and canary deployments move production traffic in steps, each held for its
//! step bake and its hooks.

use crate::support::scheduling::{Faults, faults, revision};
use ferry::local::deployment::{LifecycleStage, LifecycleStage as S, RolloutState};
use ferry::local::ids::Ids;
use ferry::local::scheduler::{
    Alarms, CircuitBreaker, Hook, Rollout, RolloutConfig, SchedulerSettings, Strategy, Traffic,
};
use ferry::local::target_health::{HealthTiming, Side, TargetLink};
use ferry::local::task::TaskState;

const BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123";
const GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green/4567";
const BAKE_MS: u64 = 120_000;

fn link(group: &str, side: Side) -> TargetLink {
    TargetLink {
        group_arn: group.to_owned(),
        container: "web".to_owned(),
        container_port: 8080,
        target_type: "ip".to_owned(),
        timing: HealthTiming { interval_ms: 10_000, healthy_threshold: 2, unhealthy_threshold: 2 },
        drain_ms: 10_000,
        side,
    }
}

/// A blue/green service of `desired` tasks, steady on `web:1` in the blue group.
fn service(desired: u32, ids: &mut Ids, launcher: &mut Faults) -> (Rollout, u64) {
    staged_service(Strategy::BlueGreen, desired, ids, launcher)
}

/// A service of `desired` tasks deploying by `strategy`, steady on `web:1` in the blue
/// group.
fn staged_service(
    strategy: Strategy,
    desired: u32,
    ids: &mut Ids,
    launcher: &mut Faults,
) -> (Rollout, u64) {
    let config = RolloutConfig {
        desired,
        min_healthy_percent: 100,
        max_percent: 200,
        grace_ms: 0,
        circuit_breaker: CircuitBreaker {
            enable: true,
            rollback: true,
            reset_on_healthy_task: true,
            ..CircuitBreaker::OFF
        },
        capacity: None,
        drain_ms: 10_000,
        target_groups: vec![link(BLUE, Side::Primary), link(GREEN, Side::Alternate)],
        strategy,
        bake_ms: BAKE_MS,
        hooks: Vec::new(),
        alarms: Alarms::default(),
        early_success: None,
    };
    let mut rollout = Rollout::new("web", config, SchedulerSettings::default());
    rollout.deploy(revision("web:1"), ids, 0);
    let now = run(&mut rollout, launcher, ids, 0, 600_000, &mut Vec::new());
    assert_eq!(rollout.primary().map(|p| p.rollout), Some(RolloutState::Completed));
    (rollout, now)
}

/// Runs until settled or `limit`; records each lifecycle stage the PRIMARY entered with
/// the tasks active then, the traffic and when.
fn run(
    rollout: &mut Rollout,
    launcher: &mut Faults,
    ids: &mut Ids,
    from: u64,
    limit: u64,
    seen: &mut Vec<(LifecycleStage, usize, Option<Traffic>, u64)>,
) -> u64 {
    let mut now = from;
    while now < limit && !rollout.is_settled() {
        rollout.advance(now, launcher, ids);
        if let Some(primary) = rollout.deployments.first()
            && let Some((stage, since)) = primary.stage
            && seen.last().is_none_or(|(s, _, _, _)| *s != stage)
        {
            let active = rollout.tasks.iter().filter(|t| t.is_active()).count();
            seen.push((stage, active, rollout.traffic, since));
        }
        now = rollout.next_wakeup().max(now + 1);
    }
    now
}

fn groups_of(rollout: &Rollout, deployment_id: &str) -> Vec<String> {
    let mut groups: Vec<String> = rollout
        .tasks
        .iter()
        .filter(|t| t.deployment_id == deployment_id)
        .flat_map(|t| t.targets.iter().map(|g| g.group_arn.clone()))
        .collect();
    groups.dedup();
    groups
}

#[test]
fn a_good_revision_moves_through_every_stage_and_the_old_one_runs_through_the_bake() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let (mut rollout, now) = service(2, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    assert_eq!(groups_of(&rollout, &old), [BLUE], "the first deployment takes the service's group");
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let mut seen = Vec::new();
    let end = run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut seen);
    let stages: Vec<LifecycleStage> = seen.iter().map(|(s, _, _, _)| *s).collect();
    assert_eq!(
        stages,
        [
            S::PreScaleUp,
            S::ScaleUp,
            S::PostScaleUp,
            S::TestTrafficShift,
            S::PostTestTrafficShift,
            S::ProductionTrafficShift,
            S::PostProductionTrafficShift,
            S::BakeTime,
            S::CleanUp
        ]
    );
    let at = |stage| seen.iter().find(|(s, _, _, _)| *s == stage).expect("stage");
    // Green in full beside blue from the scale-up to the clean-up: 4 tasks for 2 desired.
    assert_eq!(at(S::PostScaleUp).1, 4);
    assert_eq!(at(S::BakeTime).1, 4);
    // Test traffic first, then production; the rules are left alone until green is up.
    assert_eq!(at(S::PostScaleUp).2, None);
    assert_eq!(
        at(S::TestTrafficShift).2,
        Some(Traffic { production_alternate: 0, test_alternate: true })
    );
    assert_eq!(at(S::ProductionTrafficShift).2, Some(Traffic::all_on(true)));
    assert_eq!(groups_of(&rollout, &new), [GREEN], "green registers in the alternate group");
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (new.as_str(), RolloutState::Completed));
    assert!(rollout.deployments.iter().all(|d| d.id != old), "blue is gone");
    assert!(
        rollout
            .tasks
            .iter()
            .filter(|t| t.deployment_id == old)
            .all(|t| t.state == TaskState::Stopped)
    );
    // The bake is whole: blue stopped no sooner than BAKE_MS after it began.
    assert!(at(S::CleanUp).3 >= at(S::BakeTime).3 + BAKE_MS);

    // The next deployment starts on the blue side, and moves traffic back to it.
    let next = rollout.deploy(revision("web:3"), &mut ids, end);
    run(&mut rollout, &mut launcher, &mut ids, end, end + 3_600_000, &mut Vec::new());
    assert_eq!(groups_of(&rollout, &next), [BLUE]);
    assert_eq!(rollout.traffic, Some(Traffic::all_on(false)));
    assert_eq!(rollout.primary().map(|p| p.rollout), Some(RolloutState::Completed));
}

#[test]
fn a_crashing_revision_never_gets_traffic_and_blue_never_stops() {
    let json = r#"{"images": [{"match": "web:2", "crash_after": "5s", "exit_code": 1}]}"#;
    let (mut ids, mut launcher) = (Ids::new(3), faults(json));
    let (mut rollout, now) = service(2, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    let blue: Vec<String> = rollout.tasks.iter().map(|t| t.id.clone()).collect();
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let mut seen = Vec::new();
    run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut seen);
    let last = seen.iter().map(|(s, _, _, _)| *s).next_back();
    assert_eq!(last, Some(LifecycleStage::ScaleUp), "it never got past the scale-up");
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (old.as_str(), RolloutState::Completed));
    assert_eq!(primary.rolled_back_from.as_deref(), Some(new.as_str()));
    assert_eq!(rollout.traffic, None, "the rules were never touched: traffic stayed on blue");
    for task in rollout.tasks.iter().filter(|t| blue.contains(&t.id)) {
        assert_eq!(task.state, TaskState::Running, "blue task {} kept running", task.id);
    }
}

#[test]
fn a_stop_request_during_the_bake_moves_production_back_to_blue() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let (mut rollout, mut now) = service(1, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    while rollout.deployments[0].stage.map(|(s, _)| s) != Some(LifecycleStage::BakeTime) {
        assert!(now < 3_600_000, "never reached the bake");
        rollout.advance(now, &mut launcher, &mut ids);
        now = rollout.next_wakeup().max(now + 1);
    }
    assert_eq!(rollout.traffic, Some(Traffic::all_on(true)));
    assert!(rollout.stop_deployment(&new, true, now));
    assert_eq!(rollout.traffic, Some(Traffic::all_on(false)), "at once, with the stop");
    run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut Vec::new());
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (old.as_str(), RolloutState::Completed));
    assert!(
        rollout
            .tasks
            .iter()
            .filter(|t| t.deployment_id == new)
            .all(|t| t.state == TaskState::Stopped)
    );
}

fn pause_at_test_traffic(timeout_ms: u64, rolls_back: bool) -> Hook {
    Hook {
        target_type: "PAUSE".to_owned(),
        target_arn: None,
        stages: vec!["POST_TEST_TRAFFIC_SHIFT".to_owned()],
        timeout_ms,
        timeout_rolls_back: rolls_back,
    }
}

/// Runs until the new deployment's hook at its current stage awaits, or `limit`.
fn until_awaiting(rollout: &mut Rollout, launcher: &mut Faults, ids: &mut Ids, from: u64) -> u64 {
    let mut now = from;
    while !rollout.deployments[0].hooks.iter().any(|h| h.status == "AWAITING_ACTION") {
        assert!(now < from + 3_600_000, "no hook ever awaited action");
        rollout.advance(now, launcher, ids);
        now = rollout.next_wakeup().max(now + 1);
    }
    now
}

#[test]
fn a_pause_hook_holds_test_traffic_until_continued() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let (mut rollout, now) = service(2, &mut ids, &mut launcher);
    rollout.config.hooks = vec![pause_at_test_traffic(3_600_000, true)];
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let now = until_awaiting(&mut rollout, &mut launcher, &mut ids, now);
    // Held at POST_TEST_TRAFFIC_SHIFT: test traffic on green, production still on blue.
    rollout.advance(now + 600_000, &mut launcher, &mut ids);
    let held = &rollout.deployments[0];
    assert_eq!(held.stage.map(|(s, _)| s), Some(S::PostTestTrafficShift));
    assert_eq!(rollout.traffic, Some(Traffic { production_alternate: 0, test_alternate: true }));
    // Continued: on to production and the bake.
    rollout.deployments[0].hooks[0].status = "SUCCEEDED".to_owned();
    let end = now + 600_000;
    run(&mut rollout, &mut launcher, &mut ids, end, end + 3_600_000, &mut Vec::new());
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (new.as_str(), RolloutState::Completed));
}

#[test]
fn a_pause_hook_that_times_out_rolls_back_with_ecs_s_reason() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let (mut rollout, now) = service(2, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    rollout.config.hooks = vec![pause_at_test_traffic(60_000, true)];
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut Vec::new());
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (old.as_str(), RolloutState::Completed));
    assert_eq!(
        primary.rollback.as_ref().map(|r| r.reason.as_str()),
        Some(
            "Service deployment rolled back because POST_TEST_TRAFFIC_SHIFT pause hook timed out."
        )
    );
    assert!(rollout.deployments.iter().all(|d| d.id != new), "ours is gone, rolled back");
    assert_eq!(rollout.traffic, Some(Traffic::all_on(false)), "test traffic back on blue");
}

#[test]
fn a_lambda_hook_answers_as_the_fault_file_says() {
    let json = r#"{"images": [], "hooks": [
        {"match": "*:check-fails", "status": "FAILED", "after": "45s"}]}"#;
    let (mut ids, mut launcher) = (Ids::new(3), faults(json));
    let (mut rollout, now) = service(1, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    rollout.config.hooks = vec![Hook {
        target_type: "AWS_LAMBDA".to_owned(),
        target_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:check-fails".to_owned()),
        stages: vec!["PRE_PRODUCTION_TRAFFIC_SHIFT".to_owned()],
        timeout_ms: 3_600_000,
        timeout_rolls_back: true,
    }];
    rollout.deploy(revision("web:2"), &mut ids, now);
    let mut seen = Vec::new();
    run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut seen);
    assert_eq!(rollout.primary().map(|p| p.id.clone()), Some(old));
    let reason = rollout.primary().and_then(|p| p.rollback.as_ref()).map(|r| r.reason.clone());
    assert_eq!(
        reason.as_deref(),
        Some(
            "Service deployment rolled back because PRE_PRODUCTION_TRAFFIC_SHIFT lifecycle \
             hook(s) failed. Lifecycle hook target \
             arn:aws:lambda:us-east-1:000000000000:function:check-fails returned FAILED status."
        )
    );
    assert!(!seen.iter().any(|(s, ..)| *s == S::ProductionTrafficShift), "production never moved");
}

/// Every share of production traffic the new revision (on the alternate side) had, with
/// when it began, until the deployment settles or `limit`.
fn shares(
    rollout: &mut Rollout,
    launcher: &mut Faults,
    ids: &mut Ids,
    from: u64,
    limit: u64,
) -> Vec<(u32, u64)> {
    let mut seen: Vec<(u32, u64)> = Vec::new();
    let mut now = from;
    while now < limit && !rollout.is_settled() {
        rollout.advance(now, launcher, ids);
        let share = rollout.traffic.map_or(0, |t| t.production_alternate);
        if seen.last().is_none_or(|(s, _)| *s != share) {
            seen.push((share, now));
        }
        now = rollout.next_wakeup().max(now + 1);
    }
    seen
}

#[test]
fn a_linear_deployment_moves_production_traffic_in_equal_steps_a_step_bake_apart() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let linear = Strategy::Linear { step_permille: 250, step_bake_ms: 120_000 };
    let (mut rollout, now) = staged_service(linear, 2, &mut ids, &mut launcher);
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let seen = shares(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000);
    let steps: Vec<u32> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [0, 250, 500, 750, 1_000]);
    for pair in seen[1..].windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!((120_000..125_001).contains(&gap), "a step bake of 2m between steps: {gap}");
    }
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (new.as_str(), RolloutState::Completed));
}

#[test]
fn a_canary_deployment_moves_its_percent_then_the_rest_after_the_canary_bake() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let canary = Strategy::Canary { permille: 105, bake_ms: 300_000 };
    let (mut rollout, now) = staged_service(canary, 2, &mut ids, &mut launcher);
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let seen = shares(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000);
    let steps: Vec<u32> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [0, 105, 1_000]);
    let canary_bake = seen[2].1 - seen[1].1;
    assert!((300_000..305_001).contains(&canary_bake), "the canary bake: {canary_bake}");
    assert_eq!(rollout.primary().map(|p| p.id.clone()), Some(new));
}

#[test]
fn a_crash_during_the_canary_moves_the_canary_share_back_to_blue() {
    // Green crashes a minute after it starts: after the canary took its share.
    let json = r#"{"images": [{"match": "web:2", "crash_after": "60s", "exit_code": 1}]}"#;
    let (mut ids, mut launcher) = (Ids::new(3), faults(json));
    let canary = Strategy::Canary { permille: 100, bake_ms: 600_000 };
    let (mut rollout, now) = staged_service(canary, 2, &mut ids, &mut launcher);
    // Each green task is healthy for a minute: only a breaker that does not reset on a
    // healthy task counts the crashes up to its threshold.
    rollout.config.circuit_breaker.reset_on_healthy_task = false;
    let old = rollout.primary().expect("primary").id.clone();
    rollout.deploy(revision("web:2"), &mut ids, now);
    let seen = shares(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000);
    let steps: Vec<u32> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [0, 100, 0], "the canary took 10 %, then all of it went back");
    assert_eq!(
        rollout.primary().map(|p| (p.id.clone(), p.rollout)),
        Some((old, RolloutState::Completed))
    );
    assert_eq!(rollout.traffic, Some(Traffic::all_on(false)));
}

#[test]
fn a_lambda_hook_at_the_production_traffic_shift_runs_at_each_step() {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let linear = Strategy::Linear { step_permille: 500, step_bake_ms: 60_000 };
    let (mut rollout, now) = staged_service(linear, 1, &mut ids, &mut launcher);
    rollout.config.hooks = vec![Hook {
        target_type: "AWS_LAMBDA".to_owned(),
        target_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:step".to_owned()),
        stages: vec!["PRODUCTION_TRAFFIC_SHIFT".to_owned()],
        timeout_ms: 3_600_000,
        timeout_rolls_back: true,
    }];
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let mut now = now;
    let mut hooks = 0;
    while now < 7_200_000 && !rollout.is_settled() {
        rollout.advance(now, &mut launcher, &mut ids);
        if let Some(ours) = rollout.deployments.iter().find(|d| d.id == new) {
            hooks = ours.hooks.len();
        }
        now = rollout.next_wakeup().max(now + 1);
    }
    assert_eq!(hooks, 2, "one run of the hook for each of the two steps (50 %, 100 %)");
    assert_eq!(
        rollout.primary().map(|p| (p.id.clone(), p.rollout)),
        Some((new, RolloutState::Completed))
    );
}

#[test]
fn an_alarm_during_the_bake_rolls_back_and_moves_production_back_to_blue() {
    // The alarm goes off 100 s into a deployment of web:2: during its bake of 2 minutes.
    let json =
        r#"{"images": [], "alarms": [{"name": "web-5xx", "match": "web:2", "after": "100s"}]}"#;
    let (mut ids, mut launcher) = (Ids::new(3), faults(json));
    let (mut rollout, now) = service(2, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    rollout.config.alarms = Alarms {
        names: vec!["web-5xx".to_owned(), "other".to_owned()],
        enable: true,
        rollback: true,
    };
    let new = rollout.deploy(revision("web:2"), &mut ids, now);
    let mut seen = Vec::new();
    run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut seen);
    assert_eq!(seen.last().map(|(s, ..)| *s), Some(S::BakeTime), "it failed in the bake");
    let primary = rollout.primary().expect("primary");
    assert_eq!((primary.id.as_str(), primary.rollout), (old.as_str(), RolloutState::Completed));
    assert_eq!(
        primary.rollback.as_ref().map(|r| r.reason.as_str()),
        Some(
            "Service deployment rolled back because CloudWatch alarm(s) web-5xx went into \
             ALARM state."
        )
    );
    assert_eq!(rollout.traffic, Some(Traffic::all_on(false)), "production back on blue");
    assert!(rollout.deployments.iter().all(|d| d.id != new || d.triggered_alarms == ["web-5xx"]));
}

#[test]
fn an_alarm_not_configured_or_off_changes_nothing() {
    let json = r#"{"images": [], "alarms": [{"name": "web-5xx", "after": "10s"}]}"#;
    for alarms in [
        Alarms { names: vec!["other".to_owned()], enable: true, rollback: true },
        Alarms { names: vec!["web-5xx".to_owned()], enable: false, rollback: true },
    ] {
        let (mut ids, mut launcher) = (Ids::new(3), faults(json));
        let (mut rollout, now) = service(1, &mut ids, &mut launcher);
        rollout.config.alarms = alarms;
        let new = rollout.deploy(revision("web:2"), &mut ids, now);
        run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut Vec::new());
        let primary = rollout.primary().expect("primary");
        assert_eq!((primary.id.as_str(), primary.rollout), (new.as_str(), RolloutState::Completed));
    }
}

#[test]
fn a_deployment_replaced_mid_way_then_held_by_a_pause_hook_rolls_back_to_the_last_completed() {
    for (at, awaiting) in [(S::ScaleUp, false), (S::PostTestTrafficShift, true)] {
        replaced_then_held(at, awaiting);
    }
}

/// Ours (web:2) is replaced at `at` (with its pause hook `awaiting`) by another client's
/// (web:2 again), which the service's PAUSE hook then holds until it times out: it rolls
/// back to web:1, which production traffic never left.
fn replaced_then_held(at: LifecycleStage, awaiting: bool) {
    let (mut ids, mut launcher) = (Ids::new(3), faults(r#"{"images": []}"#));
    let (mut rollout, mut now) = service(2, &mut ids, &mut launcher);
    let old = rollout.primary().expect("primary").id.clone();
    rollout.config.hooks = vec![pause_at_test_traffic(600_000, true)];
    rollout.deploy(revision("web:2"), &mut ids, now);
    loop {
        let ours = &rollout.deployments[0];
        let held = ours.hooks.iter().any(|h| h.status == "AWAITING_ACTION");
        if ours.stage.map(|(s, _)| s) == Some(at) && held == awaiting {
            break;
        }
        assert!(now < 3_600_000, "never reached {at:?}");
        rollout.advance(now, &mut launcher, &mut ids);
        now = rollout.next_wakeup().max(now + 1);
    }
    let intruder = rollout.deploy(revision("web:2"), &mut ids, now);
    let mut seen = Vec::new();
    run(&mut rollout, &mut launcher, &mut ids, now, now + 3_600_000, &mut seen);
    let primary = rollout.primary().expect("primary");
    assert_eq!(
        (primary.id.as_str(), primary.rollout),
        (old.as_str(), RolloutState::Completed),
        "{at:?}: {:#?}",
        rollout.deployments
    );
    assert_eq!(primary.rolled_back_from.as_deref(), Some(intruder.as_str()));
    assert!(rollout.is_settled());
    assert_eq!(rollout.traffic.map(Traffic::production_side), Some(false), "{at:?}");
}
