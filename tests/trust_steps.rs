//! A verdict on linear and canary deployments (issue 19, docs/strategies.md), on the
//! in-process local ECS: production traffic moves in steps, ferry's gates on production
//! traffic judge from the first step (a canary while it takes its share), gates on test
//! traffic decide before any step, and ECS's status decides the exit code as for
//! blue/green. Every test first deploys twice by the same strategy, so the service has a
//! history: old tasks, old events, production on the alternate group.

use std::sync::{Arc, Mutex};

use ferry::engine::{Event, Verdict};

use crate::support::blue_green::BlueGreen;
use crate::support::harness::{Local, Outcome, Setup, intruder};
use crate::support::http_server::Server;
use crate::support::staged::{
    FAULTS, deployfile, killed_while_paused, production, resources, stages, test_gate, took,
    weights_at, with_history,
};
use crate::support::web_service::assert_code;

/// Linear: half of production, then the rest a minute later; a bake of 1 minute.
const LINEAR: &str = "strategy        = linear\n  bake            = 1m\n  \
                      step_percent    = 50%\n  step_bake       = 1m";
/// Canary: 10 % of production for a minute, then the rest; a bake of 1 minute.
const CANARY: &str = "strategy        = canary\n  bake            = 1m\n  \
                      canary_percent  = 10%\n  canary_bake     = 1m";

/// A service with a history under `strategy`, and its resources.
async fn service(strategy: &str) -> (Local, BlueGreen) {
    let local = Local::start(FAULTS).await;
    let bg = resources(&local).await;
    with_history(&local, &bg, strategy).await;
    (local, bg)
}

/// Records production's weights `(blue, green)` at each look of the watch, each change
/// once.
fn weights_seen(bg: &BlueGreen, seen: Arc<Mutex<Vec<(i32, i32)>>>) -> Setup {
    weights_at(bg, seen, |e| matches!(e, Event::Progress { .. }))
}

/// A good revision: verified once the last step moved production to it; the weights went
/// through `steps` (production starts on green after the history, so blue gains).
async fn good(strategy: &str, name: &str, steps: &[(i32, i32)]) {
    let (local, bg) = service(strategy).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let text = deployfile("good3", &bg, strategy, "  timeout = 20m\n");
    let ran = local.run_with(&text, weights_seen(&bg, Arc::clone(&seen))).await;
    eprintln!("{}\ntime to verdict ({name}, good): {}", ran.reason, took(&ran.events));
    assert_code(&ran, 0);
    let seen = seen.lock().expect("lock").clone();
    for step in steps {
        assert!(seen.contains(step), "production went through {step:?}: {seen:?}");
    }
    assert_eq!(production(&local, &bg).await, (100, 0), "then all of it: {seen:?}");
    assert!(stages(&ran.events).contains(&"POST_PRODUCTION_TRAFFIC_SHIFT".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_linear_revision_takes_production_step_by_step_then_is_verified() {
    good(LINEAR, "linear", &[(0, 100), (50, 50)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_canary_revision_takes_its_share_then_the_rest_then_is_verified() {
    good(CANARY, "canary", &[(0, 100), (10, 90)]).await;
}

/// A crashing revision: ECS rolls it back before any production step; exit 1.
async fn crashing(strategy: &str, name: &str) {
    let (local, bg) = service(strategy).await;
    let ran = local.run(&deployfile("crash", &bg, strategy, "  timeout = 20m\n")).await;
    eprintln!("{}\ntime to verdict ({name}, crash): {}", ran.reason, took(&ran.events));
    assert_code(&ran, 1);
    assert_eq!(ran.verdict, Verdict::RolledBack);
    assert!(!stages(&ran.events).contains(&"PRODUCTION_TRAFFIC_SHIFT".to_owned()));
    assert_eq!(production(&local, &bg).await, (0, 100), "production stayed on good2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_linear_revision_is_rolled_back_before_any_step() {
    crashing(LINEAR, "linear").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_canary_revision_is_rolled_back_before_the_canary() {
    crashing(CANARY, "canary").await;
}

/// A gate failing on test traffic: ferry rolls back at the pause; no step ever moves.
async fn failing_on_test_traffic(strategy: &str, name: &str) {
    let (local, bg) = service(strategy).await;
    let server = Server::start(Box::new(|_| (503, "down".to_owned(), 0)));
    let verify = test_gate(&server).replace("within = 2m", "within = 30s");
    let ran = local.run(&deployfile("good3", &bg, strategy, &verify)).await;
    eprintln!("time to verdict ({name}, gate failing on test traffic): {}", took(&ran.events));
    assert_code(&ran, 1);
    assert!(ran.events.iter().any(|e| matches!(e, Event::HookContinued { action, .. }
        if action == "ROLLBACK")));
    assert!(!stages(&ran.events).contains(&"PRODUCTION_TRAFFIC_SHIFT".to_owned()));
    assert_eq!(production(&local, &bg).await, (0, 100), "production never left good2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_failing_on_test_traffic_rolls_a_linear_deployment_back_before_any_step() {
    failing_on_test_traffic(LINEAR, "linear").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_failing_on_test_traffic_rolls_a_canary_back_before_its_share() {
    failing_on_test_traffic(CANARY, "canary").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_failing_during_the_canary_moves_its_share_back_at_once() {
    let (local, bg) = service(CANARY).await;
    let server = Server::start(Box::new(|_| (500, "broken".to_owned(), 0)));
    let verify = format!(
        "  timeout = 20m\n  gate http(\"http://{}/health\") {{ status = 200, every = 5s, \
         within = 20s }}\n",
        server.address
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let text = deployfile("good3", &bg, CANARY, &verify);
    let ran = local.run_with(&text, weights_seen(&bg, Arc::clone(&seen))).await;
    eprintln!("{}\ntime to verdict (canary, gate failing): {}", ran.reason, took(&ran.events));
    assert_code(&ran, 1);
    assert!(ran.reason.contains("ferry asked ECS to roll"), "{}", ran.reason);
    let seen = seen.lock().expect("lock").clone();
    assert!(seen.contains(&(10, 90)), "judged while the canary had its share: {seen:?}");
    assert!(!seen.contains(&(100, 0)), "the rest never moved: {seen:?}");
    assert_eq!(production(&local, &bg).await, (0, 100), "the share went back to good2");
}

/// Another client's deployment made current mid-way: never success.
async fn superseded(strategy: &str) -> Outcome {
    let (local, bg) = service(strategy).await;
    let setup = Setup { hook: Some(intruder()), ..Setup::default() };
    let ran = local.run_with(&deployfile("good3", &bg, strategy, "  timeout = 20m\n"), setup).await;
    assert_ne!(ran.code(), 0, "{}", ran.reason);
    assert!(ran.reason.contains("replaced ours"), "{}", ran.reason);
    let service = local.settle().await;
    assert_eq!(service.deployments.len(), 1, "{service:#?}");
    ran
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_s_linear_deployment_in_the_middle_is_never_success() {
    superseded(LINEAR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_s_canary_deployment_in_the_middle_is_never_success() {
    superseded(CANARY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_killed_while_a_linear_deployment_is_paused_decides_again_when_run_again() {
    let (local, bg) = service(LINEAR).await;
    killed_while_paused(&local, &bg, LINEAR, "linear").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_killed_while_a_canary_is_paused_decides_again_when_run_again() {
    let (local, bg) = service(CANARY).await;
    killed_while_paused(&local, &bg, CANARY, "canary").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_predicts_each_step_and_a_change_of_steps() {
    let (local, bg) = service(CANARY).await;
    let text = deployfile("good3", &bg, CANARY, "  timeout = 20m\n");
    let said = ferry::engine::plan_text(&local.plan(&text).await.expect("plan"), None);
    eprintln!("{said}");
    for expected in [
        "canary 10% for 1m, then the rest, with a bake of 1m",
        "PRODUCTION_TRAFFIC_SHIFT (10% of production)",
        "PRODUCTION_TRAFFIC_SHIFT (100% of production)",
        "production traffic on it after about",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    assert!(!said.contains("canary_percent:"), "the service's steps already: {said}");
    // Other steps: the plan names the change, and the run sends it.
    let wider = text.replace("canary_percent  = 10%", "canary_percent  = 25%");
    let said = ferry::engine::plan_text(&local.plan(&wider).await.expect("plan"), None);
    assert!(said.contains("canary_percent: 10% → 25%"), "{said}");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let ran = local.run_with(&wider, weights_seen(&bg, Arc::clone(&seen))).await;
    assert_code(&ran, 0);
    assert!(seen.lock().expect("lock").contains(&(25, 75)), "{:?}", seen.lock());
    // And from canary to linear in one run, once ECS has baked and cleaned up.
    local.settle().await;
    let linear = deployfile("good4", &bg, LINEAR, "  timeout = 20m\n");
    let said = ferry::engine::plan_text(&local.plan(&linear).await.expect("plan"), None);
    assert!(said.contains("strategy: canary → linear"), "{said}");
    assert!(said.contains("step_percent: unset → 50%"), "{said}");
    assert_code(&local.run(&linear).await, 0);
    // Alarms added: named in the plan, sent, and read back.
    local.settle().await;
    let watched = format!("{LINEAR}\n  alarms {{\n    names = [\"web-5xx\"]\n  }}");
    let alarmed = deployfile("good4", &bg, &watched, "  timeout = 20m\n");
    let said = ferry::engine::plan_text(&local.plan(&alarmed).await.expect("plan"), None);
    assert!(said.contains("alarms: none → web-5xx (rollback)"), "{said}");
    assert_code(&local.run(&alarmed).await, 0);
    let alarms = local.service().await.and_then(|s| s.alarms).expect("alarms");
    assert_eq!(
        (alarms.names, alarms.enable, alarms.rollback),
        (vec!["web-5xx".to_owned()], true, true)
    );
}

/// Alarm `web-5xx` goes into ALARM during ECS's bake (5 minutes here): ECS rolls back,
/// production moves back to the old revision, and `until = completed` says so (exit 1).
async fn alarm_during_bake(strategy: &str, name: &str) {
    let watched = format!(
        "{}\n  alarms {{\n    names = [\"web-5xx\"]\n  }}",
        strategy.replace("bake            = 1m", "bake            = 5m")
    );
    let (local, bg) = service(&watched).await;
    let plan = local.plan(&deployfile("alarm3", &bg, &watched, "  timeout = 20m\n")).await;
    let said = ferry::engine::plan_text(&plan.expect("plan"), None);
    assert!(!said.contains("alarms:"), "the history set them already: {said}");
    let verify = "  timeout = 20m\n  until   = completed\n";
    let ran = local.run(&deployfile("alarm3", &bg, &watched, verify)).await;
    eprintln!("{}\ntime to verdict ({name}, alarm during bake): {}", ran.reason, took(&ran.events));
    assert_code(&ran, 1);
    assert_eq!(ran.verdict, Verdict::RolledBack);
    assert!(ran.reason.contains("CloudWatch alarm(s) web-5xx in ALARM"), "{}", ran.reason);
    assert!(stages(&ran.events).contains(&"BAKE_TIME".to_owned()));
    assert_eq!(production(&local, &bg).await, (0, 100), "production back on good2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_during_a_blue_green_bake_rolls_it_back() {
    alarm_during_bake("strategy        = blue_green\n  bake            = 1m", "blue/green").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_during_a_linear_bake_rolls_it_back() {
    alarm_during_bake(LINEAR, "linear").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_during_a_canary_bake_rolls_it_back() {
    alarm_during_bake(CANARY, "canary").await;
}
