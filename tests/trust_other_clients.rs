//! A verdict you can trust on a service with a history (issue 13), when another client
//! acts mid-run: another tool's deployment replacing ours, another CI run's deployment of
//! another service during our rollback, and two runs started at the same instant.

use ferry::engine::{Event, Verdict};

use crate::support::harness::{Local, Outcome, Setup, revision_number};
use crate::support::web_service::{FAULTS, assert_code, runs, standard};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_deployment_is_reported_and_left_alone() {
    let local = Local::start(FAULTS).await;
    assert_code(&local.run(&standard("1")).await, 0);
    // Mid-rollout, another client forces a new deployment of the same revision.
    // (The exit code 3 below shows it happened.)
    let hook = crate::support::harness::intruder();
    let run =
        local.run_with(&standard("slow-2"), Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_code(&run, 3);
    assert!(
        run.reason.contains("replaced ours") && run.reason.contains("left alone"),
        "{}",
        run.reason
    );
    assert!(!run.has("rollback_started"), "{:?}", run.kinds());
    let service = local.settle().await;
    assert_eq!(revision_number(&service.task_definition), 2, "the newer deployment runs on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_leaves_a_newer_deployment_of_another_service_alone() {
    let local = Local::start(FAULTS).await;
    // Two services: `api` deploys and is verified, then `web` crashes.
    let two = |api: &str, web: &str| {
        format!(
            "defaults {{\n  cluster = \"c\"\n}}\n\nregister api_task {{\n  family = \"api\"\n  \
             container \"app\" {{\n    image = \"acme/api:{api}\"\n  }}\n}}\n\n\
             update api {{\n  task_definition = api_task\n  create = true\n  desired = 2\n}}\n\n\
             verify api {{\n  timeout = 30m\n}}\n\nregister web_task {{\n  family = \"web\"\n  \
             container \"app\" {{\n    image = \"acme/web:{web}\"\n  }}\n}}\n\n\
             update web {{\n  task_definition = web_task\n  create = true\n  desired = 2\n}}\n\n\
             verify web {{\n  timeout = 30m\n  fail_fast = 2\n}}\n\n\
             on failure {{\n  rollback api\n  rollback web\n}}\n"
        )
    };
    assert_code(&local.run(&two("1", "1")).await, 0);
    // While `web` rolls out, another CI run forces a new deployment of `api`.
    let hook = Box::new(|event: &Event, hook: &crate::support::harness::Hook| {
        if let Event::StepStarted { step, kind } = event
            && step == "web"
            && kind == "verify"
        {
            hook.act(|clients| async move {
                clients
                    .ecs
                    .update_service()
                    .cluster("c")
                    .service("api")
                    .force_new_deployment(true)
                    .send()
                    .await
                    .expect("update");
            });
        }
    });
    let run =
        local.run_with(&two("2", "crash-2"), Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_code(&run, 3);
    assert!(run.reason.contains("left alone") && run.reason.contains("`api`"), "{}", run.reason);
    assert!(run.reason.contains("rolled back and verified: `web`"), "{}", run.reason);
    // `api` runs on with the other run's deployment (of revision 2); `web` is back on 1.
    let ecs = ferry::aws::Ecs::new(&local.clients);
    let api = ecs.service("c", "api").await.expect("describe").expect("api");
    assert_eq!(revision_number(&api.primary().expect("primary").task_definition), 2);
    assert!(
        api.deployments.len() == 1
            || api.primary().is_some_and(|p| p.rollout_state.as_deref() == Some("IN_PROGRESS"))
    );
    assert_eq!(runs(&local).await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_started_at_the_same_instant_never_both_proceed() {
    // 20 trials: two CI runs of different commits, started together on one service.
    let mut outcomes = Vec::new();
    for trial in 0..20 {
        let local = Local::start(FAULTS).await;
        assert_code(&local.run(&standard("1")).await, 0);
        let (first, second) = (standard(&format!("a{trial}")), standard(&format!("b{trial}")));
        let (a, b) = tokio::join!(local.run(&first), local.run(&second));
        let won: Vec<&Outcome> =
            [&a, &b].into_iter().filter(|o| o.verdict == Verdict::Success).collect();
        assert!(won.len() <= 1, "trial {trial}: both proceeded:\n{}\n{}", a.reason, b.reason);
        for outcome in [&a, &b] {
            // Neither undoes the other: a run that lost stops without rolling back.
            assert!(!outcome.has("rollback_started"), "trial {trial}: {}", outcome.reason);
            if outcome.verdict != Verdict::Success {
                assert!(
                    outcome.reason.contains("replaced ours")
                        || outcome.reason.contains("in progress")
                        || outcome.reason.contains("changed since ferry read it"),
                    "trial {trial}: {}",
                    outcome.reason
                );
            }
        }
        // The service settles on the winner's revision, and nobody's deploy is lost to a
        // rollback.
        let service = local.settle().await;
        if let Some(winner) = won.first() {
            let ran = winner.events.iter().find_map(|e| match e {
                Event::DeploymentStarted { task_definition, .. } => Some(task_definition.clone()),
                _ => None,
            });
            assert_eq!(ran.as_deref(), Some(service.task_definition.as_str()), "trial {trial}");
        }
        outcomes.push((a.code(), b.code()));
    }
    eprintln!("two runs at once, exit codes per trial: {outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_another_tool_set_survive_a_change_of_ferry_s_own() {
    use aws_sdk_ecs::types::{
        DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
        ThresholdConfiguration, ThresholdType,
    };
    let local = Local::start(FAULTS).await;
    let text = |grace: &str| {
        crate::support::web_service::deployfile(
            &crate::support::web_service::image("acme/web:1"),
            &format!("  desired = 3\n  circuit_breaker = rollback\n  grace = {grace}\n"),
            Some(""),
            true,
        )
    };
    assert_code(&local.run(&text("30s")).await, 0);
    // Another tool tunes the breaker and adds alarms.
    let threshold =
        ThresholdConfiguration::builder().r#type(ThresholdType::Count).value(4).build().ok();
    let breaker = DeploymentCircuitBreaker::builder()
        .enable(true)
        .rollback(true)
        .reset_on_healthy_task(false)
        .set_threshold_configuration(threshold)
        .build();
    let alarms = DeploymentAlarms::builder()
        .alarm_names("web-5xx")
        .enable(true)
        .rollback(true)
        .build()
        .expect("alarms");
    let config = DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(200)
        .deployment_circuit_breaker(breaker)
        .alarms(alarms)
        .build();
    let ecs = &local.clients.ecs;
    let set = ecs.update_service().cluster("c").service("web").deployment_configuration(config);
    set.send().await.expect("another tool");
    local.settle().await;
    // ferry changes the grace and the breaker word only: the rest is sent back as it was.
    let ran = local.run(&text("60s")).await;
    assert_code(&ran, 0);
    let service = local.service().await.expect("service");
    assert_eq!(service.grace_s, Some(60));
    assert_eq!(
        service.breaker_tuning,
        ferry::aws::BreakerTuning {
            threshold: Some(ferry::aws::ThresholdView::Count(4)),
            reset_on_healthy_task: Some(false),
        }
    );
    assert_eq!(service.alarms.map(|a| a.names), Some(vec!["web-5xx".to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_s_own_breaker_threshold_is_the_one_ecs_counts_to() {
    let local = Local::start(FAULTS).await;
    let text = |tag: &str, tuning: &str| {
        crate::support::web_service::deployfile(
            &crate::support::web_service::image(&format!("acme/web:{tag}")),
            &format!("  desired = 4\n  circuit_breaker = rollback\n{tuning}"),
            Some(""),
            true,
        )
    };
    assert_code(&local.run(&text("1", "")).await, 0);
    let tuned = text("crash-2", "  breaker_count = 8\n  breaker_reset_on_healthy = false\n");
    let plan = local.plan(&tuned).await.expect("plan");
    let said = ferry::engine::plan_text(&plan, None);
    assert!(said.contains("breaker_threshold: unset → 8 failed tasks"), "{said}");
    assert!(said.contains("breaker_reset_on_healthy: unset → false"), "{said}");
    let ran = local.run(&tuned).await;
    assert_code(&ran, 1);
    // ECS counted to 8, not to its default of 3 for 4 tasks.
    let ecs = &local.clients.ecs;
    let listed = ecs.list_service_deployments().cluster("c").service("web").send().await;
    let arns: Vec<String> = listed
        .expect("list")
        .service_deployments()
        .iter()
        .filter(|d| d.status().is_some_and(|s| s.as_str() == "ROLLBACK_SUCCESSFUL"))
        .filter_map(|d| d.service_deployment_arn().map(str::to_owned))
        .collect();
    let described = ecs.describe_service_deployments().set_service_deployment_arns(Some(arns));
    let described = described.send().await.expect("describe");
    let breaker = described.service_deployments()[0].deployment_circuit_breaker().cloned();
    let breaker = breaker.expect("breaker");
    assert_eq!(breaker.threshold(), 8, "{breaker:?}");
    assert!(breaker.failure_count() >= 8, "{breaker:?}");
    assert_eq!(runs(&local).await.0, 1, "rolled back to revision 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_success_lets_the_run_go_on_while_the_old_revision_is_removed() {
    let local = Local::start(FAULTS).await;
    let text = |tag: &str, early: &str| {
        crate::support::web_service::deployfile(
            &crate::support::web_service::image(&format!("acme/web:{tag}")),
            &format!("  desired = 4\n  min_healthy = 50%\n  circuit_breaker = rollback\n{early}"),
            Some("  until = completed\n"),
            true,
        )
    };
    assert_code(&local.run(&text("1", "")).await, 0);
    let early = "  early_success {\n    healthy = 50%\n    cleanup = deferred\n  }\n";
    let plan = ferry::engine::plan_text(&local.plan(&text("2", early)).await.expect("plan"), None);
    assert!(
        plan.contains("early_success: off → 50% healthy, old revision removed after"),
        "{plan}"
    );
    let ran = local.run(&text("2", early)).await;
    assert_code(&ran, 0);
    let service = local.service().await.expect("service");
    assert_eq!(service.early_success.map(|e| (e.healthy_percent, e.deferred)), Some((50, true)));
    // The service's minimum raised to 75 % (early success off), then a Deployfile that
    // asks 50 % without saying the minimum: refused before anything changes.
    let off = "  early_success {\n    enable = false\n  }\n";
    let raised = text("3", off).replace("min_healthy = 50%", "min_healthy = 75%");
    assert_code(&local.run(&raised).await, 0);
    let low = text("4", early).replace("  min_healthy = 50%\n", "");
    let refused = local.run(&low).await;
    assert_code(&refused, 2);
    assert!(
        refused.reason.contains("below the service's minimum healthy percent"),
        "{}",
        refused.reason
    );
    assert_eq!(runs(&local).await.0, 3);
    assert_eq!(local.service().await.and_then(|s| s.early_success), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_during_a_rolling_deployment_rolls_it_back() {
    // `slow` takes 3 minutes to start; the alarm goes off a minute in.
    let faults = FAULTS.replace(
        "\n]}",
        "\n], \"alarms\": [{\"name\": \"web-5xx\", \"match\": \"*:slow*\", \"after\": \"60s\"}]}",
    );
    let local = Local::start(&faults).await;
    let text = |tag: &str| {
        crate::support::web_service::deployfile(
            &crate::support::web_service::image(&format!("acme/web:{tag}")),
            "  desired = 3\n  circuit_breaker = rollback\n  \
             alarms {\n    names = [\"web-5xx\"]\n  }\n",
            Some(""),
            true,
        )
    };
    assert_code(&local.run(&text("1")).await, 0);
    let ran = local.run(&text("slow-2")).await;
    eprintln!("{}", ran.reason);
    assert_code(&ran, 1);
    assert!(ran.reason.contains("alarm(s) web-5xx"), "{}", ran.reason);
    assert_eq!(runs(&local).await.0, 1, "rolled back to revision 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_on_test_traffic_of_a_rolling_update_are_refused_before_anything_changes() {
    let local = Local::start(FAULTS).await;
    assert_code(&local.run(&standard("1")).await, 0);
    let gated = crate::support::web_service::deployfile(
        &crate::support::web_service::image("acme/web:2"),
        "  desired = 3\n",
        Some("  gate http(\"http://127.0.0.1:9/health\") {\n    traffic = test\n  }\n"),
        true,
    );
    let ran = local.run(&gated).await;
    assert_code(&ran, 2);
    assert!(ran.reason.contains("deploys rolling: there is no test traffic"), "{}", ran.reason);
    assert_eq!(runs(&local).await, (1, 3), "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_killed_for_its_memory_is_reported_in_words() {
    let faults = FAULTS.replace(
        "\n]}",
        ",\n  {\"match\": \"*:hungry*\", \"crash_after\": \"10s\", \"out_of_memory\": true}\n]}",
    );
    let local = Local::start(&faults).await;
    assert_code(&local.run(&standard("1")).await, 0);
    let hungry = crate::support::web_service::deployfile(
        &crate::support::web_service::image("acme/web:hungry-2"),
        "  desired = 3\n",
        Some("  fail_fast = 1\n"),
        true,
    );
    let ran = local.run(&hungry).await;
    eprintln!("{}", ran.reason);
    assert_code(&ran, 1);
    let words = "app was killed for using more memory than its limit (exit 137, \
                 OutOfMemoryError: Container killed due to memory usage)";
    assert!(ran.reason.contains(words), "{}", ran.reason);
    assert!(
        ran.events.iter().any(|e| matches!(e, Event::TaskStopped { containers, .. }
            if containers.iter().any(|c| c == words))),
        "{:?}",
        ran.kinds()
    );
}
