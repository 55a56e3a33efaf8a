//! The local ECS's docker runtime, through the real AWS SDK: tasks are real containers on
//! the machine's Docker engine, built `FROM scratch` with Debian's static busybox. Ports
//! are published and answer, container health checks gate the rollout, a crashing image
//! trips the circuit breaker and the old containers keep serving, out-of-memory kills,
//! SIGTERM and the stop timeout, and pull failures become ECS's stop codes and reasons.
//! Without Docker these skip, unless `FERRY_REQUIRE_DOCKER=1`. Real time throughout.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, DesiredStatus,
    HealthCheck, KeyValuePair, PortMapping, Task,
};
use ferry::docker::{DockerEngine, context_tar};

use crate::support::available::docker_available;
use crate::support::local_ecs::{Endpoint, Start};

/// The test image: busybox's shell and httpd; `/serve` writes `$VERSION` to the page and
/// serves it on 8080, exiting 0 on SIGTERM.
pub(crate) const SERVE: &str = "#!/bin/sh\nmkdir -p /www\n\
                                echo \"${VERSION:-none}\" > /www/index.html\ntrap 'exit 0' TERM\n\
                                httpd -f -p 8080 -h /www &\nwait\n";
const IMAGE: &str = "ferry-test/serve:1";

/// Builds the test image through the engine API (once per process is enough: same tag).
async fn build_image(engine: &DockerEngine) {
    build_serve_image(engine, IMAGE, SERVE).await;
}

/// Builds `image` (`repository:tag`) from busybox and `script` as its `/serve` command.
pub(crate) async fn build_serve_image(engine: &DockerEngine, image: &str, script: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).expect("busybox");
    std::fs::write(dir.path().join("serve"), script).expect("serve");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY serve /serve\n\
         RUN [\"/bin/chmod\", \"755\", \"/serve\"]\nCMD [\"/serve\"]\n",
    )
    .expect("Dockerfile");
    let context = context_tar(dir.path(), "Dockerfile").expect("context");
    let built = engine
        .build(
            context,
            &ferry::docker::BuildRequest {
                dockerfile: "Dockerfile",
                args: &HashMap::new(),
                labels: &HashMap::new(),
                target: None,
                platform: None,
            },
            &mut |_, _| {},
        )
        .await
        .expect("the test image builds");
    let (repository, tag) = image.split_once(':').expect("tag");
    engine.tag(&built.image_id, repository, tag).await.expect("tag");
}

/// The local ECS on the docker runtime, a scheduler pass a second, with the test image
/// built and cluster `docker`; `None` without Docker.
async fn start() -> Option<(Endpoint, DockerEngine)> {
    if !docker_available() {
        return None;
    }
    let engine = DockerEngine::connect().await.expect("engine");
    build_image(&engine).await;
    let local = connect(None).await;
    local.ecs.create_cluster().cluster_name("docker").send().await.expect("cluster");
    Some((local, engine))
}

/// The local ECS on the docker runtime, a scheduler pass a second; with a state file, the
/// containers kept for it are removed when the endpoint is dropped, even when the test
/// fails.
async fn connect(state_file: Option<&std::path::Path>) -> Endpoint {
    let start = Start::real_time().faults(r#"{"scheduler": {"pass_interval": "1s"}}"#).docker();
    match state_file {
        Some(path) => start.state_file(path).clean_up_containers().start().await,
        None => start.start().await,
    }
}

fn served(version: &str) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("web")
        .image(IMAGE)
        .essential(true)
        .environment(KeyValuePair::builder().name("VERSION").value(version).build())
        .port_mappings(PortMapping::builder().container_port(8080).build())
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("wget -q -O /dev/null http://127.0.0.1:8080/")
                .interval(5)
                .timeout(2)
                .retries(2)
                .build()
                .expect("health check"),
        )
        .stop_timeout(5)
        .build()
}

async fn register(local: &Endpoint, family: &str, container: ContainerDefinition) -> String {
    local
        .ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container)
        .send()
        .await
        .expect("register")
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .expect("arn")
        .to_owned()
}

async fn create_service(
    local: &Endpoint,
    name: &str,
    task_definition: &str,
    desired: i32,
    rollback: bool,
) {
    local
        .ecs
        .create_service()
        .cluster("docker")
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(desired)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(100)
                .maximum_percent(200)
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder().enable(rollback).rollback(rollback).build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create service");
}

async fn describe(local: &Endpoint, name: &str) -> aws_sdk_ecs::types::Service {
    local
        .ecs
        .describe_services()
        .cluster("docker")
        .services(name)
        .send()
        .await
        .expect("describe services")
        .services()[0]
        .clone()
}

/// Polls `check` every 250 ms until it gives a value, for at most `limit`.
async fn within<T, F: std::future::Future<Output = Option<T>>>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what}: not within {limit:?}");
}

fn rollout(service: &aws_sdk_ecs::types::Service) -> Vec<(String, String)> {
    service
        .deployments()
        .iter()
        .map(|d| {
            (
                d.status().unwrap_or_default().to_owned(),
                d.rollout_state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            )
        })
        .collect()
}

async fn settled(local: &Endpoint, name: &str) -> aws_sdk_ecs::types::Service {
    within(Duration::from_secs(90), "the rollout completes", || async {
        let service = describe(local, name).await;
        let done = rollout(&service) == [("PRIMARY".to_owned(), "COMPLETED".to_owned())];
        done.then_some(service)
    })
    .await
}

async fn tasks(local: &Endpoint, service: &str, status: DesiredStatus) -> Vec<Task> {
    let arns = local
        .ecs
        .list_tasks()
        .cluster("docker")
        .service_name(service)
        .desired_status(status)
        .send()
        .await
        .expect("list tasks")
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return Vec::new();
    }
    local
        .ecs
        .describe_tasks()
        .cluster("docker")
        .set_tasks(Some(arns))
        .send()
        .await
        .expect("describe tasks")
        .tasks()
        .to_vec()
}

/// The page a task serves, through its published port.
fn page(task: &Task) -> String {
    let binding = &task.containers()[0].network_bindings()[0];
    let address = format!(
        "{}:{}",
        binding.bind_ip().unwrap_or_default(),
        binding.host_port().unwrap_or_default()
    );
    let mut stream = std::net::TcpStream::connect(&address).expect("the task's port answers");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    write!(stream, "GET / HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim().to_owned()
}

/// The task `arn` once it is STOPPED (within 30 s).
async fn until_stopped(local: &Endpoint, arn: &str) -> Task {
    within(Duration::from_secs(30), "the task stops", || async {
        let described =
            local.ecs.describe_tasks().cluster("docker").tasks(arn).send().await.expect("describe");
        let task = described.tasks()[0].clone();
        (task.last_status() == Some("STOPPED")).then_some(task)
    })
    .await
}

async fn first_stopped(local: &Endpoint, service: &str) -> Task {
    within(Duration::from_mins(1), service, || async {
        tasks(local, service, DesiredStatus::Stopped)
            .await
            .into_iter()
            .find(|t| t.last_status() == Some("STOPPED"))
    })
    .await
}

fn runtime_ids(tasks: &[Task]) -> Vec<String> {
    let mut ids: Vec<String> =
        tasks.iter().filter_map(|t| t.containers()[0].runtime_id().map(str::to_owned)).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_roll_out_serve_roll_back_and_stop() {
    let Some((local, engine)) = start().await else { return };
    let v1 = register(&local, "web", served("one")).await;
    create_service(&local, "web", &v1, 2, true).await;
    let service = settled(&local, "web").await;
    assert_eq!(service.running_count(), 2);
    let first = tasks(&local, "web", DesiredStatus::Running).await;
    assert_eq!(first.len(), 2);
    for task in &first {
        assert_eq!(
            (
                task.last_status(),
                task.health_status().map(aws_sdk_ecs::types::HealthStatus::as_str)
            ),
            (Some("RUNNING"), Some("HEALTHY"))
        );
        assert_eq!(page(task), "one");
        let id = task.containers()[0].runtime_id().expect("runtimeId");
        let state = engine.inspect(id).await.expect("inspect").expect("a real container");
        assert!(state.running);
    }
    let first_ids = runtime_ids(&first);

    // An image that exits at once: the circuit breaker trips, ECS rolls back, and the
    // first containers never stopped serving.
    let crash = ContainerDefinition::builder()
        .name("web")
        .image(IMAGE)
        .essential(true)
        .command("sh")
        .command("-c")
        .command("exit 3")
        .port_mappings(PortMapping::builder().container_port(8080).build())
        .build();
    let v2 = register(&local, "web", crash).await;
    local
        .ecs
        .update_service()
        .cluster("docker")
        .service("web")
        .task_definition(&v2)
        .send()
        .await
        .expect("update");
    let service = within(Duration::from_secs(90), "the breaker rolls back", || async {
        let service = describe(&local, "web").await;
        // Once the rollback completes, only the PRIMARY is listed; the events tell.
        let rolled_back = service
            .events()
            .iter()
            .any(|e| e.message().is_some_and(|m| m.contains("rolling back to deployment")));
        (rolled_back && rollout(&service) == [("PRIMARY".to_owned(), "COMPLETED".to_owned())])
            .then_some(service)
    })
    .await;
    assert!(service.task_definition().is_some_and(|td| td.ends_with("web:1")));
    let now = tasks(&local, "web", DesiredStatus::Running).await;
    assert_eq!(runtime_ids(&now), first_ids, "the old containers kept running");
    assert!(now.iter().all(|t| page(t) == "one"));
    // The breaker trips at 3 failures (2 desired); tasks of the failed deployment that
    // had not crashed yet are stopped by the scheduler.
    let stopped = tasks(&local, "web", DesiredStatus::Stopped).await;
    let crashed: Vec<&Task> = stopped
        .iter()
        .filter(|t| {
            t.stop_code().map(aws_sdk_ecs::types::TaskStopCode::as_str)
                == Some("EssentialContainerExited")
        })
        .collect();
    assert!(crashed.len() >= 3, "{stopped:#?}");
    for task in &crashed {
        assert_eq!(task.stopped_reason(), Some("Essential container in task exited"));
        assert_eq!(task.containers()[0].exit_code(), Some(3));
    }
    for task in &stopped {
        assert!(task.task_definition_arn().is_some_and(|td| td.ends_with("web:2")));
        // Containers of stopped tasks are removed.
        if let Some(id) = task.containers()[0].runtime_id() {
            within(Duration::from_secs(10), "the crashed container is removed", || async {
                engine.inspect(id).await.expect("inspect").is_none().then_some(())
            })
            .await;
        }
    }

    // A good new version replaces the first containers, which are stopped with SIGTERM.
    let v3 = register(&local, "web", served("two")).await;
    local
        .ecs
        .update_service()
        .cluster("docker")
        .service("web")
        .task_definition(&v3)
        .send()
        .await
        .expect("update");
    within(Duration::from_secs(90), "version two rolls out", || async {
        let service = describe(&local, "web").await;
        (service.task_definition().is_some_and(|td| td.ends_with("web:3"))
            && rollout(&service) == [("PRIMARY".to_owned(), "COMPLETED".to_owned())])
        .then_some(())
    })
    .await;
    let second = tasks(&local, "web", DesiredStatus::Running).await;
    assert!(second.iter().all(|t| page(t) == "two"));
    let replaced: Vec<Task> = tasks(&local, "web", DesiredStatus::Stopped)
        .await
        .into_iter()
        .filter(|t| {
            first_ids.contains(&t.containers()[0].runtime_id().unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(replaced.len(), 2);
    for task in &replaced {
        assert_eq!(
            task.stop_code().map(aws_sdk_ecs::types::TaskStopCode::as_str),
            Some("ServiceSchedulerInitiated")
        );
        assert_eq!(task.containers()[0].exit_code(), Some(0), "exited on SIGTERM");
    }

    // StopTask by hand: SIGTERM, exit 0, and the service starts a replacement.
    let victim = second[0].task_arn().expect("arn").to_owned();
    local
        .ecs
        .stop_task()
        .cluster("docker")
        .task(&victim)
        .reason("by hand")
        .send()
        .await
        .expect("stop task");
    let stopped = until_stopped(&local, &victim).await;
    assert_eq!(
        stopped.stop_code().map(aws_sdk_ecs::types::TaskStopCode::as_str),
        Some("UserInitiated")
    );
    assert_eq!(stopped.stopped_reason(), Some("by hand"));
    assert_eq!(stopped.containers()[0].exit_code(), Some(0));
    within(Duration::from_mins(1), "a replacement runs", || async {
        let running = tasks(&local, "web", DesiredStatus::Running).await;
        (running.len() == 2
            && running.iter().all(|t| {
                t.health_status().map(aws_sdk_ecs::types::HealthStatus::as_str) == Some("HEALTHY")
            }))
        .then_some(())
    })
    .await;

    // Shutting down removes every container the runtime started.
    let last = runtime_ids(&tasks(&local, "web", DesiredStatus::Running).await);
    local.server.shutdown().await.expect("shutdown");
    for id in last {
        assert!(engine.inspect(&id).await.expect("inspect").is_none(), "{id} was left behind");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_unhealthy_stubborn_and_unpullable_tasks_stop_as_on_ecs() {
    let Some((local, _engine)) = start().await else { return };
    let shell = |name: &str, script: &str| {
        ContainerDefinition::builder()
            .name(name)
            .image(IMAGE)
            .essential(true)
            .command("sh")
            .command("-c")
            .command(script)
    };
    let oom = register(
        &local,
        "oom",
        shell("hog", "x=0123456789abcdef; while true; do x=$x$x; done").memory(8).build(),
    )
    .await;
    let unhealthy = register(
        &local,
        "unhealthy",
        shell("sick", "while true; do sleep 1; done")
            .health_check(
                HealthCheck::builder()
                    .command("CMD-SHELL")
                    .command("exit 1")
                    .interval(5)
                    .timeout(2)
                    .retries(1)
                    .build()
                    .expect("check"),
            )
            .build(),
    )
    .await;
    let stubborn = register(
        &local,
        "stubborn",
        shell("stubborn", "trap '' TERM; while true; do sleep 1; done").stop_timeout(2).build(),
    )
    .await;
    let missing = register(
        &local,
        "missing",
        ContainerDefinition::builder()
            .name("gone")
            .image("127.0.0.1:9/ferry/nothing:1")
            .essential(true)
            .build(),
    )
    .await;
    for (name, arn) in
        [("oom", &oom), ("unhealthy", &unhealthy), ("stubborn", &stubborn), ("missing", &missing)]
    {
        create_service(&local, name, arn, 1, false).await;
    }

    let task = first_stopped(&local, "oom").await;
    assert_eq!(
        task.stop_code().map(aws_sdk_ecs::types::TaskStopCode::as_str),
        Some("EssentialContainerExited")
    );
    assert_eq!(task.containers()[0].exit_code(), Some(137));
    assert_eq!(
        task.containers()[0].reason(),
        Some("OutOfMemoryError: Container killed due to memory usage")
    );

    let task = first_stopped(&local, "unhealthy").await;
    assert_eq!(
        task.stop_code().map(aws_sdk_ecs::types::TaskStopCode::as_str),
        Some("ServiceSchedulerInitiated")
    );
    assert_eq!(task.stopped_reason(), Some("Task failed container health checks"));

    let task = first_stopped(&local, "missing").await;
    assert_eq!(
        task.stop_code().map(aws_sdk_ecs::types::TaskStopCode::as_str),
        Some("TaskFailedToStart")
    );
    let reason = task.containers()[0].reason().unwrap_or_default();
    assert!(reason.starts_with("CannotPullContainerError: "), "{reason}");
    assert!(
        task.stopped_reason()
            .is_some_and(|r| r.starts_with("Task failed to start: CannotPullContainerError"))
    );

    // A container that ignores SIGTERM is killed at its stop timeout (2 s).
    let running = within(Duration::from_secs(30), "the stubborn task runs", || async {
        tasks(&local, "stubborn", DesiredStatus::Running)
            .await
            .into_iter()
            .find(|t| t.last_status() == Some("RUNNING"))
    })
    .await;
    let arn = running.task_arn().expect("arn").to_owned();
    local.ecs.stop_task().cluster("docker").task(&arn).send().await.expect("stop");
    let stopped = until_stopped(&local, &arn).await;
    assert_eq!(stopped.containers()[0].exit_code(), Some(137), "SIGKILL after the stop timeout");
    let (stopping, done) =
        (stopped.stopping_at().expect("stoppingAt"), stopped.stopped_at().expect("stoppedAt"));
    let waited = done.as_secs_f64() - stopping.as_secs_f64();
    assert!(waited >= 1.5, "stopped after {waited} s, before the 2 s stop timeout");
    local.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_state_file_containers_outlive_the_process_and_are_adopted() {
    if !docker_available() {
        return;
    }
    let engine = DockerEngine::connect().await.expect("engine");
    build_image(&engine).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let local = connect(Some(&state)).await;
    local.ecs.create_cluster().cluster_name("docker").send().await.expect("cluster");
    let v1 = register(&local, "web", served("kept")).await;
    create_service(&local, "web", &v1, 3, true).await;
    settled(&local, "web").await;
    let before = tasks(&local, "web", DesiredStatus::Running).await;
    let ids = runtime_ids(&before);
    local.server.shutdown().await.expect("shutdown");
    for id in &ids {
        let state = engine.inspect(id).await.expect("inspect").expect("kept");
        assert!(state.running, "{id} still serves while no local ECS runs");
    }
    // While nothing watches: one container is removed, one exits.
    engine.remove(&ids[0]).await.expect("remove");
    engine.stop(&ids[1], 5).await.expect("stop");

    let local = connect(Some(&state)).await;
    // The first report on the adopted containers comes within a tick.
    let stopped = within(Duration::from_secs(10), "both tasks stop", || async {
        let stopped = tasks(&local, "web", DesiredStatus::Stopped).await;
        (stopped.iter().filter(|t| t.last_status() == Some("STOPPED")).count() == 2)
            .then_some(stopped)
    })
    .await;
    let reason = |id: &str| {
        stopped
            .iter()
            .find(|t| t.containers()[0].runtime_id() == Some(id))
            .and_then(|t| t.stopped_reason().map(str::to_owned))
    };
    assert_eq!(reason(&ids[0]).as_deref(), Some("Task stopped: its containers are gone"));
    assert_eq!(reason(&ids[1]).as_deref(), Some("Essential container in task exited"));
    let running = tasks(&local, "web", DesiredStatus::Running).await;
    assert!(
        running.iter().any(|t| t.containers()[0].runtime_id() == Some(ids[2].as_str())),
        "the third container is adopted: {running:#?}"
    );
    // The service replaces the two and serves from all three again.
    within(Duration::from_mins(1), "the service is whole again", || async {
        let running = tasks(&local, "web", DesiredStatus::Running).await;
        (running.len() == 3
            && running.iter().all(|t| {
                t.health_status().map(aws_sdk_ecs::types::HealthStatus::as_str) == Some("HEALTHY")
            }))
        .then_some(())
    })
    .await;
    let running = tasks(&local, "web", DesiredStatus::Running).await;
    assert!(running.iter().all(|t| page(t) == "kept"));
    local.server.shutdown().await.expect("shutdown");
    let instance = std::fs::canonicalize(&state).expect("state").display().to_string();
    let removed = ferry::local::containers::remove_all(&engine, &instance).await.expect("clean");
    assert_eq!(removed, 3);
}
