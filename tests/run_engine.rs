//! The run engine as a library, against an in-process local ECS whose service another
//! actor changes mid-rollout: our deployment superseded is a failure, never a success.

use ferry::aws::{Clients, Ecs, Target};
use ferry::engine::{Event, Recorder, RunOptions, Runner, Verdict};
use ferry::eval::{Workspace, resolve};
use ferry::local::LocalEcs;

use crate::support::local_ecs::Start;

const FILE: &str = "register web_task {\n  family = \"web\"\n  container \"app\" {\n    \
                    image = \"acme/web:IMAGE\"\n  }\n}\n\n\
                    update web {\n  task_definition = web_task\n  create          = true\n  \
                    desired         = 3\n  circuit_breaker = rollback\n}\n\n\
                    verify web {\n  timeout = 30m\n}\n";

/// A local ECS at speed 100 where images tagged `slow` take `start` to start.
async fn slow_local(start: &str) -> LocalEcs {
    let faults = format!(r#"{{"images": [{{"match": "*:slow", "start": "{start}"}}]}}"#);
    Start::real_time().speed(100.0).faults(&faults).start().await.server
}

async fn run_once(server: &LocalEcs, image: &str, recorder: &mut Recorder) -> Verdict {
    run_with(server, image, false, recorder).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_superseded_midway_fails() {
    let server = slow_local("10m").await;
    let mut recorder = Recorder::default();
    assert_eq!(run_once(&server, "1", &mut recorder).await, Verdict::Success);

    // Our slow deployment starts; meanwhile someone else deploys revision 1 again.
    let url = server.url().to_owned();
    let intruder = tokio::spawn(async move {
        let clients = Clients::new(&Target::Local { url }).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        clients
            .ecs
            .update_service()
            .cluster("default")
            .service("web")
            .task_definition("web:1")
            .force_new_deployment(true)
            .send()
            .await
            .expect("the other update");
    });
    let mut recorder = Recorder::default();
    let verdict = run_once(&server, "slow", &mut recorder).await;
    intruder.await.expect("join");
    assert_eq!(verdict, Verdict::Failed, "{:#?}", recorder.events);
    let failed = recorder.events.iter().find_map(|e| match e {
        Event::DeploymentFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(failed.as_deref().is_some_and(|r| r.contains("replaced ours")), "{failed:?}");
}

async fn run_with(
    server: &LocalEcs,
    image: &str,
    wait_for_lock: bool,
    recorder: &mut Recorder,
) -> Verdict {
    let text = FILE.replace("IMAGE", image);
    let file = ferry::check::check_source(&text).file.expect("parses");
    let workspace = Workspace::default();
    let settings = resolve(&file, None, &workspace).expect("settings");
    let clients = Clients::new(&Target::Local { url: server.url().to_owned() }).await;
    let options = RunOptions { wait_for_lock, target: "local".to_owned(), ..RunOptions::default() };
    Runner::new(
        &file,
        settings,
        &workspace,
        Ecs::new(&clients),
        server.clock().clone(),
        recorder,
        options,
    )
    .run()
    .await
    .verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_deployment_in_progress_is_refused_or_awaited() {
    let server = slow_local("3m").await;
    assert_eq!(run_with(&server, "1", false, &mut Recorder::default()).await, Verdict::Success);
    // Someone else starts a slow deployment.
    let clients = Clients::new(&Target::Local { url: server.url().to_owned() }).await;
    let registered = clients
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image("acme/web:slow")
                .build(),
        )
        .send()
        .await
        .expect("register");
    let slow =
        registered.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned();
    clients
        .ecs
        .update_service()
        .cluster("default")
        .service("web")
        .task_definition(&slow)
        .send()
        .await
        .expect("update");
    let mut refused = Recorder::default();
    assert_eq!(run_with(&server, "2", false, &mut refused).await, Verdict::InvalidInput);
    assert!(matches!(
        refused.events.last(),
        Some(Event::RunFinished { reason, .. }) if reason.contains("another deployment")
    ));
    let mut waited = Recorder::default();
    assert_eq!(
        run_with(&server, "2", true, &mut waited).await,
        Verdict::Success,
        "{:#?}",
        waited.events
    );
    assert!(waited.events.iter().any(|e| matches!(e, Event::WaitingForLock { .. })));
}
