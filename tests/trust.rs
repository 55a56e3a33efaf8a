//! A verdict you can trust on a service with a history (issue 13): each failure found by
//! trying the landed build on services that already had deployments, as a test. Every test
//! builds a history first — old revisions, old events, a failed deployment, settings
//! changed by another tool, another client mid-rollout — on the in-process local ECS.
//! Rollbacks are in `trust_rollback`, other clients acting mid-run in
//! `trust_other_clients`, answers lost on the way back in `trust_lost_answers`.

use ferry::engine::{Event, StepChange, Verdict, plan_text};

use crate::support::harness::{Local, Setup, revision_number};
use crate::support::web_service::{FAULTS, assert_code, deployfile, image, runs, standard};

// 1. `register { from = file(…) }`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_revision_without_containers_is_registered_and_deployed() {
    let local = Local::start(FAULTS).await;
    let td = |tag: &str| {
        format!(
            "{{\"family\": \"web\", \
             \"containerDefinitions\": [{{\"name\": \"app\", \"image\": \"acme/web:{tag}\"}}]}}"
        )
    };
    local.write("td.json", &td("1"));
    let text = deployfile("  from = file(\"td.json\")\n", "  desired = 2\n", Some(""), true);
    let plan = local.plan(&text).await.expect("plan");
    assert!(
        plan_text(&plan, None).contains("register web_task: register the first revision of `web`")
    );
    let first = local.run(&text).await;
    assert_code(&first, 0);
    assert_eq!(runs(&local).await, (1, 2));
    // A changed file is deployed.
    local.write("td.json", &td("2"));
    let second = local.run(&text).await;
    assert_code(&second, 0);
    assert!(second.has("deployment_started"));
    assert_eq!(runs(&local).await, (2, 2));
    // The same file again: nothing registered, nothing deployed, and the plan says so.
    let plan = local.plan(&text).await.expect("plan");
    assert!(
        plan_text(&plan, None).contains("nothing changed: reuse"),
        "{}",
        plan_text(&plan, None)
    );
    let third = local.run(&text).await;
    assert_code(&third, 0);
    assert!(third.has("revision_reused") && third.has("nothing_to_deploy"), "{:?}", third.kinds());
    assert_eq!(local.revisions("web").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_revision_with_a_container_block_is_reused_on_rerun() {
    let local = Local::start(FAULTS).await;
    local.write(
        "td.json",
        concat!(
            r#"{"family": "web", "cpu": "256", "memory": "512", "containerDefinitions": "#,
            r#"[{"name": "app", "image": "acme/web:0", "#,
            r#""portMappings": [{"containerPort": 8080}], "#,
            r#""environment": [{"name": "EMPTY", "value": ""}]}]}"#
        ),
    );
    let register =
        "  from = file(\"td.json\")\n  container \"app\" {\n    image = \"acme/web:5\"\n  }\n";
    let text = deployfile(register, "  desired = 2\n", Some(""), true);
    assert_code(&local.run(&text).await, 0);
    let plan = local.plan(&text).await.expect("plan");
    let printed = plan_text(&plan, None);
    assert!(printed.contains("nothing changed: reuse"), "{printed}");
    assert!(printed.contains("update web: nothing to deploy"), "{printed}");
    let again = local.run(&text).await;
    assert_code(&again, 0);
    assert!(
        again.has("revision_reused") && !again.has("deployment_started"),
        "{:?}",
        again.kinds()
    );
    assert_eq!(local.revisions("web").await.len(), 1);
}

// 2. Settings-only changes.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_only_changes_are_applied() {
    let local = Local::start(FAULTS).await;
    assert_code(&local.run(&standard("1")).await, 0);
    let fewer = deployfile(&image("acme/web:1"), "  desired = 1\n", Some(""), true);
    let plan = plan_text(&local.plan(&fewer).await.expect("plan"), None);
    assert!(plan.contains("desired: 3 → 1") && plan.contains("no deployment starts"), "{plan}");
    let run = local.run(&fewer).await;
    assert_code(&run, 0);
    assert!(run.has("settings_updated") && run.has("scaled"), "{:?}", run.kinds());
    assert!(!run.has("deployment_started"));
    let service = local.service().await.expect("service");
    assert_eq!((service.desired, service.running), (1, 1));
    // A grace period and the breaker on an existing service.
    let settings = deployfile(
        &image("acme/web:1"),
        "  desired = 1\n  grace = 60s\n  circuit_breaker = rollback\n",
        Some(""),
        true,
    );
    let run = local.run(&settings).await;
    assert_code(&run, 0);
    let service = local.service().await.expect("service");
    assert_eq!(service.grace_s, Some(60));
    assert_eq!(service.circuit_breaker.map(ferry::aws::BreakerView::word), Some("rollback"));
    assert_eq!(local.revisions("web").await.len(), 1, "no revision for a settings change");
    assert!(run.reason.contains("settings changed, no deployment"), "{}", run.reason);
}

// 3. A stale event.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_event_does_not_fail_a_good_deployment() {
    let local = Local::start(FAULTS).await;
    let one = |tag: &str| {
        deployfile(&image(&format!("acme/web:{tag}")), "  desired = 1\n", Some(""), true)
    };
    assert_code(&local.run(&one("1")).await, 0);
    // Another tool deploys with a configuration that cannot progress, then fixes it.
    let ecs = &local.clients.ecs;
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("acme/web:other")
        .build();
    let other = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(container)
        .send()
        .await
        .expect("register");
    let arn =
        other.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned();
    let stuck = aws_sdk_ecs::types::DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(100)
        .build();
    ecs.update_service()
        .cluster("c")
        .service("web")
        .task_definition(&arn)
        .deployment_configuration(stuck)
        .send()
        .await
        .expect("update");
    local.pass(60_000);
    let service = local.service().await.expect("service");
    assert!(service.events.iter().any(|e| e.message.contains("unable to stop or start tasks")));
    let unstuck = aws_sdk_ecs::types::DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(200)
        .build();
    ecs.update_service()
        .cluster("c")
        .service("web")
        .deployment_configuration(unstuck)
        .send()
        .await
        .expect("update");
    local.settle().await;
    // The event is still among the service's 100; it is not about our deployment.
    let run = local.run(&one("3")).await;
    assert_code(&run, 0);
    assert_eq!(runs(&local).await.0, 3);
}

// 4. No `verify` step.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_verify_step_ferry_waits_for_the_deployment() {
    let local = Local::start(FAULTS).await;
    let text = deployfile(&image("acme/web:slow-1"), "  desired = 1\n", None, false);
    let plan = plan_text(&local.plan(&text).await.expect("plan"), None);
    assert!(
        plan.contains(
            "verify web (no `verify` step: the defaults): watch our deployment until completed"
        ),
        "{plan}"
    );
    let run = local.run(&text).await;
    assert_code(&run, 0);
    let service = local.service().await.expect("service");
    let primary = service.primary().expect("primary");
    assert_eq!(primary.rollout_state.as_deref(), Some("COMPLETED"), "{service:#?}");
    assert_eq!(service.running, 1);
    assert!(run.reason.starts_with("deployed and verified: `web` runs "), "{}", run.reason);
    assert!(run.reason.contains(" completed"), "{}", run.reason);
    // A crashing image without `verify` is a failure, not "deployed".
    let crash = deployfile(
        &image("acme/web:crash-2"),
        "  desired = 1\n  circuit_breaker = rollback\n",
        None,
        false,
    );
    let run = local.run(&crash).await;
    assert_ne!(run.verdict, Verdict::Success, "{}", run.reason);
}

// 5. `ferry rollback` after a failed deployment: in `trust_rollback`.

// Also seen.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_write_nothing() {
    let local = Local::start(FAULTS).await;
    // A missing service without `create`.
    let missing = standard("1").replace("  create          = true\n", "");
    let run = local.run(&missing).await;
    assert_code(&run, 2);
    assert!(run.reason.contains("does not exist in cluster `c`"), "{}", run.reason);
    assert!(local.revisions("web").await.is_empty(), "nothing registered");
    // A gate script that is missing.
    assert_code(&local.run(&standard("1")).await, 0);
    let gated = deployfile(
        &image("acme/web:2"),
        "  desired = 3\n",
        Some("  gate script(\"gates/missing.rhai\") {}\n"),
        true,
    );
    // The plan says the run would refuse, and it does.
    let plan = plan_text(&local.plan(&gated).await.expect("plan"), None);
    assert!(
        plan.contains("`ferry run` would refuse now") && plan.contains("gates/missing.rhai"),
        "{plan}"
    );
    let run = local.run(&gated).await;
    assert_code(&run, 2);
    assert!(run.reason.contains("gates/missing.rhai"), "{}", run.reason);
    // A gate script that does not compile.
    std::fs::create_dir_all(local.dir.path().join("gates")).expect("mkdir");
    local.write("gates/broken.rhai", "fn check( {");
    let broken = gated.replace("missing.rhai", "broken.rhai");
    let run = local.run(&broken).await;
    assert_code(&run, 2);
    assert!(run.reason.contains("does not compile"), "{}", run.reason);
    // A configuration that cannot progress, set by another tool and not by the Deployfile.
    crate::support::harness::set_stuck_configuration(&local.clients).await.expect("update");
    local.settle().await;
    let one = deployfile(&image("acme/web:2"), "  desired = 1\n", Some(""), true);
    let run = local.run(&one).await;
    assert_code(&run, 2);
    assert!(run.reason.contains("would not progress"), "{}", run.reason);
    // Another deployment in progress (another client's slow one).
    let fixed = aws_sdk_ecs::types::DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(200)
        .build();
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("acme/web:slow-9")
        .build();
    let other = local
        .clients
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(container)
        .send()
        .await
        .expect("register");
    let arn =
        other.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned();
    local
        .clients
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&arn)
        .deployment_configuration(fixed)
        .send()
        .await
        .expect("update");
    let before = local.revisions("web").await.len();
    let run = local.run(&one).await;
    assert_code(&run, 2);
    assert!(
        run.reason.contains("another deployment of service `web` is in progress"),
        "{}",
        run.reason
    );
    assert_eq!(local.revisions("web").await.len(), before, "nothing registered");
    assert!(!run.has("revision_registered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_predicted_rollout_uses_the_real_settings() {
    let local = Local::with(FAULTS, Some(8)).await;
    assert_code(&local.run(&standard("1")).await, 0);
    let text = deployfile(
        &image("acme/web:2"),
        "  desired = 6\n  grace = 60s\n  circuit_breaker = rollback\n",
        Some(""),
        true,
    );
    let plan = local.plan(&text).await.expect("plan");
    let printed = plan_text(&plan, None);
    assert!(
        printed.contains(
            "predicted rollout (6 desired, min_healthy 100%, max 200%, circuit breaker rollback, \
             grace 60s, room for 8 tasks):"
        ),
        "{printed}"
    );
    // The REPL's `:simulate` reads the same prediction.
    let update = plan.changes.steps.iter().find_map(|s| match s {
        StepChange::Update(u) => Some(u.clone()),
        _ => None,
    });
    let effective = update.and_then(|u| u.prediction).expect("a prediction").effective;
    assert_eq!((effective.desired, effective.grace_s, effective.capacity), (6, 60, Some(8)));
}

// Fault probing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_serving_means_healthy() {
    let local = Local::start(FAULTS).await;
    let serving = |image_text: &str, health: bool| {
        let check = if health {
            "    health_check {\n      command = [\"CMD\", \"true\"]\n    }\n"
        } else {
            ""
        };
        let register = format!(
            "  family = \"web\"\n  container \"app\" {{\n    image = \"{image_text}\"\n\
             {check}  }}\n"
        );
        deployfile(&register, "  desired = 2\n", Some("  until = serving\n  timeout = 20m\n"), true)
    };
    assert_code(&local.run(&serving("acme/web:1", true)).await, 0);
    // RUNNING but never healthy: not serving.
    let sick = local.run(&serving("acme/web:sick-2", true)).await;
    assert_ne!(sick.verdict, Verdict::Success, "{}", sick.reason);
    assert!(!sick.has("serving"), "{:?}", sick.kinds());
    assert_eq!(runs(&local).await.0, 1);
    // Without a health check, a task that crashes a second after it runs never serves.
    assert_code(&local.run(&serving("acme/web:3", false)).await, 0);
    let crash = local.run(&serving("acme/web:quick-4", false)).await;
    assert_ne!(crash.verdict, Verdict::Success, "{}", crash.reason);
    assert!(!crash.has("serving"), "{:?}", crash.kinds());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_left_failed_is_not_nothing_to_deploy() {
    let local = Local::start(FAULTS).await;
    let text = deployfile(
        &image("acme/web:crash-1"),
        "  desired = 3\n  circuit_breaker = on\n",
        Some(""),
        false,
    );
    let first = local.run(&text).await;
    assert_code(&first, 3);
    let service = local.service().await.expect("service");
    assert_eq!(service.primary().and_then(|p| p.rollout_state.as_deref()), Some("FAILED"));
    // The same Deployfile again: refused, with the reason, and nothing written.
    let again = local.run(&text).await;
    assert_code(&again, 2);
    assert!(
        again.reason.contains("left failed") && again.reason.contains("--redeploy"),
        "{}",
        again.reason
    );
    assert!(!again.has("deployment_started"));
    // Asked to, it deploys the revision again.
    let redeployed = local.run_with(&text, Setup { redeploy: true, ..Setup::default() }).await;
    assert!(redeployed.has("deployment_started"), "{:?}", redeployed.kinds());
    // A new revision over a failed service is the usual fix.
    let fixed = local.run(&text.replace("crash-1", "2")).await;
    assert_code(&fixed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_is_resumed_by_the_next() {
    let local = Local::start(FAULTS).await;
    assert_code(&local.run(&standard("1")).await, 0);
    let hook = Box::new(|event: &Event, hook: &crate::support::harness::Hook| {
        if let Event::Progress { .. } = event {
            hook.interrupt();
        }
    });
    let run =
        local.run_with(&standard("slow-2"), Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_code(&run, 130);
    assert!(run.reason.contains("running ferry again watches it"), "{}", run.reason);
    // The next run finds its own revision rolling out and watches it to the end.
    let plan = plan_text(&local.plan(&standard("slow-2")).await.expect("plan"), None);
    assert!(plan.contains("is in progress: watch it again"), "{plan}");
    let again = local.run(&standard("slow-2")).await;
    assert_code(&again, 0);
    assert!(
        again.has("deployment_resumed") && !again.has("deployment_started"),
        "{:?}",
        again.kinds()
    );
    assert_eq!(local.revisions("web").await.len(), 2);
    assert_eq!(runs(&local).await.0, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_would_differ_from_its_plan_is_refused() {
    let local = Local::start(FAULTS).await;
    assert_code(&local.run(&standard("1")).await, 0);
    let plan = local.plan(&standard("1")).await.expect("plan");
    // The Deployfile changed between the plan and the run: the run would register.
    let run = local
        .run_with(&standard("2"), Setup { expected: Some(plan.changes), ..Setup::default() })
        .await;
    assert_code(&run, 2);
    assert!(run.reason.contains("otherwise than the plan"), "{}", run.reason);
    assert_eq!(local.revisions("web").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_shows_only_what_changes() {
    let local = Local::start(FAULTS).await;
    // A revision registered by another tool, with maps (log options, labels) and volumes.
    let log = aws_sdk_ecs::types::LogConfiguration::builder()
        .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
        .options("awslogs-group", "/ecs/web")
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "web")
        .options("mode", "non-blocking")
        .build()
        .expect("log configuration");
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("acme/web:1")
        .log_configuration(log)
        .docker_labels("team", "web")
        .docker_labels("tier", "front")
        .docker_labels("cost", "shared")
        .build();
    let volume = aws_sdk_ecs::types::Volume::builder().name("data").build();
    local
        .clients
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(container)
        .volumes(volume)
        .send()
        .await
        .expect("register");
    let register = |from: &str, tag: &str| {
        format!("  from = {from}\n  container \"app\" {{\n    image = \"acme/web:{tag}\"\n  }}\n")
    };
    for (from, tag) in [("family(\"web\")", "2"), ("service(\"web\")", "3")] {
        let text = deployfile(&register(from, tag), "  desired = 1\n", Some(""), true);
        let plan = plan_text(&local.plan(&text).await.expect("plan"), None);
        let changed: Vec<&str> = plan
            .lines()
            .map(str::trim_start)
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .collect();
        assert_eq!(changed.len(), 2, "only the image changes:\n{plan}");
        assert!(changed[1].contains(&format!("acme/web:{tag}")), "{plan}");
        assert_code(&local.run(&text).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deregisters_what_the_plan_said() {
    let local = Local::start(FAULTS).await;
    let keep = |tag: &str| {
        let register = format!(
            "  from = service(\"web\")\n  family = \"web\"\n  keep = 2\n  \
             container \"app\" {{\n    image = \"acme/web:{tag}\"\n  }}\n"
        );
        deployfile(&register, "  desired = 2\n", Some(""), true)
    };
    for tag in ["1", "2", "3"] {
        assert_code(&local.run(&keep(tag)).await, 0);
    }
    let plan = plan_text(&local.plan(&keep("4")).await.expect("plan"), None);
    // Revision 4 (new) and 3 (it runs now) stay; 1 went with the last run; 2 goes.
    assert!(
        plan.contains(
            "after success, deregister arn:aws:ecs:us-east-1:000000000000:task-definition/web:2 \
             (keep = 2)"
        ),
        "{plan}"
    );
    assert!(!plan.contains("task-definition/web:3 (keep"), "{plan}");
    let run = local.run(&keep("4")).await;
    assert_code(&run, 0);
    let gone: Vec<u32> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Deregistered { arn } => Some(revision_number(arn)),
            _ => None,
        })
        .collect();
    let planned: Vec<u32> = plan
        .lines()
        .filter_map(|l| l.trim().strip_prefix("after success, deregister "))
        .map(|l| revision_number(l.split(' ').next().unwrap_or_default()))
        .collect();
    assert_eq!(gone, planned, "{plan}");
    let left: Vec<u32> = local.revisions("web").await.iter().map(|a| revision_number(a)).collect();
    assert!(left.contains(&4) && left.contains(&3), "{left:?}");
}
