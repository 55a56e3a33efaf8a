//! Service `web` deployed by one of ECS's staged strategies (blue/green, linear, canary)
//! on the in-process local ECS, for the strategy trust tests: its load balancer
//! resources, its Deployfile, a history of two good deployments, production's weights,
//! the stages a run reported and its time to verdict.

use ferry::engine::Event;

use super::blue_green::{BlueGreen, blue_green, weights};
use super::harness::{Hook, Local, Setup};
use super::http_server::Server;
use super::load_balancer::Checks;
use super::web_service::assert_code;

/// `crash` exits 2 s after it runs; the rest answer at once. Alarm `web-5xx` goes into
/// ALARM 150 s into a deployment of an `alarm` image. Lambda hook `check-fails` answers
/// FAILED after 20 s (others SUCCEEDED after 30 s).
pub(crate) const FAULTS: &str = r#"{
  "images": [{"match": "*:crash*", "crash_after": "2s", "exit_code": 1}],
  "alarms": [{"name": "web-5xx", "match": "*:alarm*", "after": "150s"}],
  "hooks": [{"match": "*:function:check-fails", "status": "FAILED", "after": "20s"}]
}"#;

/// The two target groups and two listener rules, checked every 5 s, draining 10 s.
pub(crate) async fn resources(local: &Local) -> BlueGreen {
    let checks = Checks {
        interval_s: Some(5),
        timeout_s: Some(2),
        healthy: Some(2),
        drain_s: Some(10),
        ..Checks::default()
    };
    blue_green(&local.clients.elb, checks).await
}

/// Two awsvpc tasks of `acme/web:TAG`, deployed with `strategy` (the `update` lines that
/// set it: `strategy = …`, `bake = …`, the steps).
pub(crate) fn deployfile(tag: &str, bg: &BlueGreen, strategy: &str, verify: &str) -> String {
    format!(
        r#"defaults {{
  cluster = "c"
}}

register web_task {{
  family       = "web"
  network_mode = "awsvpc"
  container "app" {{
    image = "acme/web:{tag}"
    ports = [8080]
  }}
}}

update web {{
  task_definition = web_task
  create          = true
  desired         = 2
  {strategy}
  circuit_breaker = rollback
  network {{
    subnets = ["subnet-a"]
  }}
  load_balancer {{
    target_group             = "{blue}"
    alternate_target_group   = "{green}"
    production_listener_rule = "{production}"
    test_listener_rule       = "{test}"
    role                     = "arn:aws:iam::000000000000:role/ecsInfrastructure"
    container                = "app"
    port                     = 8080
  }}
}}

verify web {{
{verify}}}
"#,
        blue = bg.blue,
        green = bg.green,
        production = bg.production_rule,
        test = bg.test_rule,
    )
}

/// The local clock's time from `verify`'s start to its last look, for the figures.
pub(crate) fn took(events: &[Event]) -> String {
    let last = events.iter().rev().find_map(|e| match e {
        Event::Progress { elapsed_ms, .. } => Some(*elapsed_ms),
        _ => None,
    });
    ferry::eval::duration_text(last.unwrap_or_default())
}

/// The lifecycle stages a run reported, in order.
pub(crate) fn stages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::LifecycleStage { stage: Some(stage), .. } => Some(stage.clone()),
            _ => None,
        })
        .collect()
}

/// Production's weight on each group: `(blue, green)`.
pub(crate) async fn production(local: &Local, bg: &BlueGreen) -> (i32, i32) {
    let found = weights(&local.clients.elb, &bg.production_rule).await;
    let of = |arn: &str| found.iter().find(|(a, _)| a == arn).map_or(0, |(_, w)| *w);
    (of(&bg.blue), of(&bg.green))
}

/// A service with a history: created plainly on `good1`, then one good deployment by
/// `strategy` to `good2` (production now on green).
pub(crate) async fn with_history(local: &Local, bg: &BlueGreen, strategy: &str) {
    let first = local.run(&deployfile("good1", bg, strategy, "  timeout = 20m\n")).await;
    assert_code(&first, 0);
    let second = local.run(&deployfile("good2", bg, strategy, "  timeout = 20m\n")).await;
    assert_code(&second, 0);
    assert_eq!(production(local, bg).await, (0, 100), "{}", second.reason);
    local.settle().await;
}

/// A `verify` whose gate asks `server` on test traffic, every 5 s, passing once.
pub(crate) fn test_gate(server: &Server) -> String {
    format!(
        "  timeout = 20m\n  gate http(\"http://{}/health\") {{ status = 200, every = 5s, \
         within = 2m, traffic = test }}\n",
        server.address
    )
}

/// ferry interrupted the moment its PAUSE hook holds a deployment by `strategy` for the
/// gates on test traffic: nothing moves production while it is gone, `ferry status` shows
/// the deployment held (`described`: the strategy in words) and what decides it, and
/// `ferry run` started again resumes and continues it.
pub(crate) async fn killed_while_paused(
    local: &Local,
    bg: &BlueGreen,
    strategy: &str,
    described: &str,
) {
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let text = deployfile("good3", bg, strategy, &test_gate(&server));
    let hook = Box::new(|event: &Event, hook: &Hook| {
        if let Event::LifecycleStage { stage: Some(stage), .. } = event
            && stage == "POST_TEST_TRAFFIC_SHIFT"
        {
            hook.interrupt();
        }
    });
    let first = local.run_with(&text, Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_code(&first, 130);
    // The hook starts at the stage's next pass.
    local.pass(10_000);
    assert_eq!(production(local, bg).await, (0, 100), "held: nothing moved production");
    let url = local.server.url().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("Deployfile"), &text).expect("write");
    let home = dir.path().to_owned();
    let status = tokio::task::spawn_blocking(move || {
        super::test::Test::new().args(["status"]).on_endpoint(&url, &home).run()
    })
    .await
    .expect("ferry ran");
    assert_eq!(status.code, 0, "{}", status.stderr);
    let held = format!("{described} service deployment IN_PROGRESS: POST_TEST_TRAFFIC_SHIFT");
    assert!(
        status.stdout.contains(&held) && status.stdout.contains("held by PAUSE hook ecs-pause-"),
        "{}",
        status.stdout
    );
    let again = local.run(&text).await;
    eprintln!("{}", again.reason);
    assert_code(&again, 0);
    assert!(again.events.iter().any(|e| matches!(e, Event::DeploymentResumed { .. })));
    assert!(again.events.iter().any(|e| matches!(e, Event::HookContinued { action, .. }
        if action == "CONTINUE")));
    assert_eq!(production(local, bg).await, (100, 0));
}

/// Records production's weights `(blue, green)` at each event `at` picks, each change
/// once.
pub(crate) fn weights_at(
    bg: &BlueGreen,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(i32, i32)>>>,
    at: fn(&Event) -> bool,
) -> Setup {
    let (blue, green, rule) = (bg.blue.clone(), bg.green.clone(), bg.production_rule.clone());
    let hook = Box::new(move |event: &Event, hook: &Hook| {
        if at(event) {
            let found = hook.act(|clients| {
                let rule = rule.clone();
                async move { weights(&clients.elb, &rule).await }
            });
            let of = |arn: &str| found.iter().find(|(a, _)| a == arn).map_or(0, |(_, w)| *w);
            let now = (of(&blue), of(&green));
            let mut seen = seen.lock().expect("lock");
            if seen.last() != Some(&now) {
                seen.push(now);
            }
        }
    });
    Setup { hook: Some(hook), ..Setup::default() }
}
