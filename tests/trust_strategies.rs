//! A verdict on a blue/green deployment (issue 19, docs/strategies.md), on the in-process
//! local ECS: `verify` follows our service deployment stage by stage and judges it by
//! ECS's status — SUCCESSFUL or the stage `until` names is success, ROLLBACK_SUCCESSFUL
//! is a rollback (exit 1, verified), another deployment made current is never success —
//! and a gate that fails once production traffic has moved makes ferry ask ECS to roll
//! back, which moves traffic back to the old revision at once. Every test first deploys a
//! good revision, so the service has a history: old tasks, old events, production on blue.

use ferry::engine::{Event, Verdict};

use std::sync::{Arc, Mutex};

use crate::support::blue_green::BlueGreen;
use crate::support::harness::{Local, Setup, intruder};
use crate::support::http_server::Server;
use crate::support::staged::{
    self, FAULTS, production, resources, stages, test_gate, took, weights_at,
};
use crate::support::web_service::assert_code;

/// Blue/green with a bake of 1 minute.
const BLUE_GREEN: &str = "strategy        = blue_green\n  bake            = 1m";

fn deployfile(tag: &str, bg: &BlueGreen, verify: &str) -> String {
    staged::deployfile(tag, bg, BLUE_GREEN, verify)
}

async fn with_history(local: &Local, bg: &BlueGreen) {
    staged::with_history(local, bg, BLUE_GREEN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_revision_is_verified_once_production_traffic_is_on_it() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let ran = local.run(&deployfile("good3", &bg, "  timeout = 20m\n")).await;
    eprintln!(
        "{}\ntime to verdict (good, until traffic_shifted): {}",
        ran.reason,
        took(&ran.events)
    );
    assert_code(&ran, 0);
    assert_eq!(ran.verdict, Verdict::Success);
    let seen = stages(&ran.events);
    let order = ["SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"];
    let positions: Vec<Option<usize>> =
        order.iter().map(|s| seen.iter().position(|x| x == s)).collect();
    assert!(positions.iter().all(Option::is_some), "{seen:?}");
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    // `until` defaults to traffic_shifted: the bake is left to ECS, and ferry says so.
    assert!(ran.reason.contains("serving production traffic"), "{}", ran.reason);
    assert!(ran.reason.contains("ferry leaves that to ECS"), "{}", ran.reason);
    assert!(!seen.contains(&"CLEAN_UP".to_owned()), "ferry did not wait for the bake: {seen:?}");
    // The third deployment went back to blue's group.
    assert_eq!(production(&local, &bg).await, (100, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_completed_waits_for_the_bake_and_the_clean_up() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let ran = local.run(&deployfile("good3", &bg, "  timeout = 20m\n  until = completed\n")).await;
    eprintln!("time to verdict (good, until completed): {}", took(&ran.events));
    assert_code(&ran, 0);
    let seen = stages(&ran.events);
    assert!(seen.contains(&"BAKE_TIME".to_owned()) && seen.contains(&"CLEAN_UP".to_owned()));
    assert!(ran.reason.contains("completed (SUCCESSFUL)"), "{}", ran.reason);
    let service = local.service().await.expect("service");
    assert_eq!(service.deployments.len(), 1, "blue is gone once ECS completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_revision_is_rolled_back_by_ecs_and_never_gets_production_traffic() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let ran = local.run(&deployfile("crash", &bg, "  timeout = 20m\n")).await;
    eprintln!("{}\ntime to verdict (crash): {}", ran.reason, took(&ran.events));
    assert_code(&ran, 1);
    assert_eq!(ran.verdict, Verdict::RolledBack);
    assert!(ran.reason.contains("ROLLBACK"), "{}", ran.reason);
    assert!(ran.reason.contains("circuit breaker counted"), "{}", ran.reason);
    let seen = stages(&ran.events);
    assert!(!seen.contains(&"TEST_TRAFFIC_SHIFT".to_owned()), "{seen:?}");
    assert_eq!(production(&local, &bg).await, (0, 100), "production stayed on good2");
    let service = local.service().await.expect("service");
    assert!(service.task_definition.ends_with(":2"), "{}", service.task_definition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_failing_on_production_traffic_moves_it_back_at_once() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let server = Server::start(Box::new(|_| (500, "broken".to_owned(), 0)));
    let verify = format!(
        "  timeout = 20m\n  gate http(\"http://{}/health\") {{ status = 200, every = 10s, \
         within = 30s }}\n",
        server.address
    );
    let ran = local.run(&deployfile("good3", &bg, &verify)).await;
    eprintln!("{}", ran.reason);
    assert_code(&ran, 1);
    assert!(ran.reason.contains("ferry asked ECS to roll"), "{}", ran.reason);
    assert!(server.hits() > 0, "the gate ran");
    let seen = stages(&ran.events);
    assert!(
        seen.contains(&"POST_PRODUCTION_TRAFFIC_SHIFT".to_owned())
            || seen.contains(&"BAKE_TIME".to_owned()),
        "{seen:?}"
    );
    assert_eq!(production(&local, &bg).await, (0, 100), "production is back on good2");
    let service = local.service().await.expect("service");
    assert!(service.task_definition.ends_with(":2"), "{}", service.task_definition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_s_deployment_in_the_middle_is_never_success() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let setup = Setup { hook: Some(intruder()), ..Setup::default() };
    let ran = local.run_with(&deployfile("good3", &bg, "  timeout = 20m\n"), setup).await;
    assert_ne!(ran.code(), 0, "{}", ran.reason);
    assert!(ran.reason.contains("replaced ours"), "{}", ran.reason);
    // The other client's deployment reconciles: ours is scaled down, and it completes alone.
    let service = local.settle().await;
    assert_eq!(service.deployments.len(), 1, "{service:#?}");
    assert_eq!(service.running, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_refuses_a_completed_wait_shorter_than_ecs_s_bake() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let text = deployfile("good3", &bg, "  timeout = 30s\n  until = completed\n")
        .replace("bake            = 1m", "bake            = 5m");
    let ran = local.run(&text).await;
    assert_code(&ran, 2);
    assert!(ran.reason.contains("only after its bake of 5m"), "{}", ran.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_predicts_each_stage_and_when_production_traffic_moves() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let text = deployfile("good3", &bg, "  timeout = 20m\n");
    let plan = local.plan(&text).await.expect("plan");
    let said = ferry::engine::plan_text(&plan, None);
    eprintln!("{said}");
    for expected in [
        "blue/green with a bake of 1m",
        "SCALE_UP",
        "POST_TEST_TRAFFIC_SHIFT",
        "BAKE_TIME",
        "CLEAN_UP",
        "production traffic on it after about",
        "watch our blue/green deployment until traffic_shifted",
        "then ECS bakes 1m with the old revision kept",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    // The same settings as the service's: nothing but the revision differs.
    assert!(!said.contains("strategy:"), "{said}");
    let ran = local.run(&text).await;
    assert_code(&ran, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_service_switched_to_blue_green_moves_traffic_to_the_other_group() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    // Rolling first: the advanced configuration, the strategy and the bake left out.
    let rolling: String = deployfile("good1", &bg, "  timeout = 20m\n")
        .lines()
        .filter(|l| {
            !["strategy", "bake", "alternate_target_group", "_listener_rule", "role"]
                .iter()
                .any(|k| l.contains(k))
        })
        .fold(String::new(), |text, l| text + l + "\n");
    assert_code(&local.run(&rolling).await, 0);
    assert_code(&local.run(&rolling.replace("good1", "good2")).await, 0);
    local.settle().await;
    let ran = local.run(&deployfile("good3", &bg, "  timeout = 20m\n")).await;
    assert_code(&ran, 0);
    let seen = stages(&ran.events);
    assert!(seen.contains(&"TEST_TRAFFIC_SHIFT".to_owned()), "{seen:?}");
    assert_eq!(production(&local, &bg).await, (0, 100), "production moved to the green group");
    local.settle().await;
    let health = local
        .clients
        .elb
        .describe_target_health()
        .target_group_arn(&bg.green)
        .send()
        .await
        .expect("target health");
    let healthy = health
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health().and_then(|h| h.state()).is_some_and(|s| s.as_str() == "healthy")
        })
        .count();
    assert_eq!(healthy, 2, "the new revision's tasks serve from the green group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_on_test_traffic_decide_before_any_production_request_reaches_the_new_revision() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let text = deployfile("good3", &bg, &test_gate(&server));
    let plan = ferry::engine::plan_text(&local.plan(&text).await.expect("plan"), None);
    let pause = "test_traffic_pause: unset → PAUSE at POST_TEST_TRAFFIC_SHIFT";
    assert!(plan.contains(pause), "{plan}");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let at_attempts = |e: &Event| matches!(e, Event::GateAttempt { .. });
    let ran = local.run_with(&text, weights_at(&bg, Arc::clone(&seen), at_attempts)).await;
    eprintln!("{}", ran.reason);
    assert_code(&ran, 0);
    assert!(
        ran.reason.contains("passed on test traffic before production moved"),
        "{}",
        ran.reason
    );
    // Every attempt ran with production still on good2's group (green, after the history).
    let attempts = seen.lock().expect("lock").clone();
    assert!(!attempts.is_empty() && attempts.iter().all(|w| *w == (0, 100)), "{attempts:?}");
    assert!(ran.events.iter().any(|e| matches!(e, Event::HookContinued { action, .. }
        if action == "CONTINUE")));
    assert_eq!(production(&local, &bg).await, (100, 0), "then production moved to good3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_failing_on_test_traffic_rolls_back_before_production_moves() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let server = Server::start(Box::new(|_| (503, "down".to_owned(), 0)));
    let verify = test_gate(&server).replace("within = 2m", "within = 30s");
    let ran = local.run(&deployfile("good3", &bg, &verify)).await;
    eprintln!("time to verdict (gate failing on test traffic): {}", took(&ran.events));
    assert_code(&ran, 1);
    assert!(ran.reason.contains("ferry asked ECS to roll"), "{}", ran.reason);
    assert!(ran.events.iter().any(|e| matches!(e, Event::HookContinued { action, .. }
        if action == "ROLLBACK")));
    let seen = stages(&ran.events);
    assert!(!seen.contains(&"PRODUCTION_TRAFFIC_SHIFT".to_owned()), "{seen:?}");
    assert_eq!(production(&local, &bg).await, (0, 100), "production never left good2");
    let service = local.service().await.expect("service");
    assert!(service.task_definition.ends_with(":2"), "{}", service.task_definition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_killed_while_paused_decides_again_when_run_again() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    staged::killed_while_paused(&local, &bg, BLUE_GREEN, "blue/green").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_serving_still_waits_for_the_gates_on_test_traffic() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let verify =
        test_gate(&server).replace("  timeout = 20m\n", "  timeout = 20m\n  until = serving\n");
    let ran = local.run(&deployfile("good3", &bg, &verify)).await;
    assert_code(&ran, 0);
    assert!(server.hits() > 0, "the gate on test traffic ran");
    assert!(
        ran.events.iter().any(|e| matches!(e, Event::HookContinued { action, .. }
        if action == "CONTINUE")),
        "{}",
        ran.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_on_test_traffic_need_a_test_listener_rule() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    // Without the test rule (the production rule forwards to both groups: ECS accepts it).
    let text: String = deployfile("good3", &bg, &test_gate(&server))
        .lines()
        .filter(|l| !l.contains("test_listener_rule"))
        .fold(String::new(), |text, l| text + l + "\n");
    let ran = local.run(&text).await;
    assert_code(&ran, 2);
    assert!(ran.reason.contains("names a `test_listener_rule`"), "{}", ran.reason);
    assert_eq!(server.hits(), 0);
}

/// A Lambda lifecycle hook at POST_SCALE_UP, as the Deployfile declares it.
fn lambda_hook(function: &str) -> String {
    format!(
        "{BLUE_GREEN}\n  lifecycle_hook {{\n    lambda = \"arn:aws:lambda:us-east-1:000000000000:\
         function:{function}\"\n    role   = \"arn:aws:iam::000000000000:role/ecsHooks\"\n    \
         stages = [post_scale_up]\n    timeout = 10m\n  }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_lambda_hook_that_fails_rolls_back_before_any_traffic_moves() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    let strategy = lambda_hook("check-fails");
    let text = staged::deployfile("good3", &bg, &strategy, "  timeout = 20m\n");
    let said = ferry::engine::plan_text(&local.plan(&text).await.expect("plan"), None);
    assert!(
        said.contains(
            "lifecycle_hooks: none → lambda arn:aws:lambda:us-east-1:000000000000:\
                       function:check-fails at POST_SCALE_UP, 10m then ROLLBACK"
        ),
        "{said}"
    );
    let ran = local.run(&text).await;
    eprintln!("{}", ran.reason);
    assert_code(&ran, 1);
    assert_eq!(ran.verdict, Verdict::RolledBack);
    assert!(ran.reason.contains("POST_SCALE_UP lifecycle hook(s) failed"), "{}", ran.reason);
    assert!(!stages(&ran.events).contains(&"TEST_TRAFFIC_SHIFT".to_owned()));
    assert_eq!(production(&local, &bg).await, (0, 100), "production stayed on good2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_hooks_and_ferry_s_pause_go_together_and_another_tool_s_hooks_stay() {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg).await;
    // A succeeding Lambda hook beside ferry's PAUSE hook for the gates on test traffic.
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let strategy = lambda_hook("smoke");
    let ran = local.run(&staged::deployfile("good3", &bg, &strategy, &test_gate(&server))).await;
    assert_code(&ran, 0);
    let service = local.service().await.expect("service");
    assert_eq!(service.hooks.others.len(), 1, "{:?}", service.hooks);
    assert!(service.hooks.test_pause.is_some(), "{:?}", service.hooks);
    local.settle().await;
    // The Deployfile stops declaring hooks (another tool now owns them) and changes the
    // bake: the hook is sent back as it is, ferry's pause goes (no test gates).
    let text = deployfile("good4", &bg, "  timeout = 20m\n").replace("= 1m", "= 2m");
    assert_code(&local.run(&text).await, 0);
    let service = local.service().await.expect("service");
    assert_eq!(service.bake_minutes, Some(2));
    assert_eq!(service.hooks.others.len(), 1, "{:?}", service.hooks);
    assert_eq!(service.hooks.test_pause, None);
}
