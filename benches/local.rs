//! `cargo bench --bench local`: the local ECS's figures for docs/benchmarks.md.
//!
//! 1. a 200-task rolling deployment at maximum speed (room for 250 tasks, so it rolls in
//!    rounds of 50): the manual clock is stepped as fast as `DescribeServices` can be
//!    answered (wall time, calls, virtual time);
//! 2. `DescribeServices` answered per second by the server, 4 clients for 3 s;
//! 3. peak memory (`VmHWM`) of a `ferry local` process through a 200-task deployment and
//!    the same `DescribeServices` load.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{ContainerDefinition, DeploymentRolloutState};
use ferry::local::clock::Clock;
use ferry::local::{LocalEcs, LocalOptions};

async fn client(url: &str) -> aws_sdk_ecs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .test_credentials()
        .load()
        .await;
    aws_sdk_ecs::Client::new(&config)
}

async fn register(ecs: &aws_sdk_ecs::Client, image: &str) -> String {
    ecs.register_task_definition()
        .family("bench")
        .container_definitions(ContainerDefinition::builder().name("app").image(image).build())
        .send()
        .await
        .expect("register")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned()
}

async fn completed(ecs: &aws_sdk_ecs::Client, arn: &str) -> bool {
    let answer =
        ecs.describe_services().cluster("bench").services("web").send().await.expect("describe");
    let service = &answer.services()[0];
    service.deployments().len() == 1
        && service.deployments()[0].task_definition() == Some(arn)
        && service.deployments()[0].rollout_state() == Some(&DeploymentRolloutState::Completed)
}

/// Creates a 200-task service on v1, waits for it, then deploys v2; `step` moves time.
async fn deploy_200(ecs: &aws_sdk_ecs::Client, step: impl Fn()) -> (Duration, u32) {
    ecs.create_cluster().cluster_name("bench").send().await.expect("cluster");
    let v1 = register(ecs, "bench:1").await;
    ecs.create_service()
        .cluster("bench")
        .service_name("web")
        .task_definition(&v1)
        .desired_count(200)
        .send()
        .await
        .expect("service");
    while !completed(ecs, &v1).await {
        step();
    }
    let v2 = register(ecs, "bench:2").await;
    let started = Instant::now();
    ecs.update_service()
        .cluster("bench")
        .service("web")
        .task_definition(&v2)
        .send()
        .await
        .expect("update");
    let mut polls = 0;
    while !completed(ecs, &v2).await {
        polls += 1;
        assert!(polls < 100_000, "the deployment never completed");
        step();
    }
    (started.elapsed(), polls)
}

async fn describe_load(url: &str, seconds: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut clients = Vec::new();
    for _ in 0..4 {
        let ecs = client(url).await;
        clients.push(tokio::spawn(async move {
            let mut answered = 0u64;
            while Instant::now() < deadline && answered < 1_000_000 {
                ecs.describe_services()
                    .cluster("bench")
                    .services("web")
                    .send()
                    .await
                    .expect("describe");
                answered += 1;
            }
            answered
        }));
    }
    let mut total = 0;
    for handle in clients {
        total += handle.await.expect("join");
    }
    total as f64 / seconds as f64
}

fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // 1. In-process, a manual clock stepped 5 s of virtual time per poll.
    let clock = Clock::manual();
    let server = LocalEcs::start(LocalOptions {
        clock: Some(clock.clone()),
        capacity: Some(250),
        ..LocalOptions::default()
    })
    .await
    .expect("start");
    let ecs = client(server.url()).await;
    let (wall, polls) = deploy_200(&ecs, || clock.advance(5_000)).await;
    println!(
        "200-task rolling deployment, maximum speed: {:.0} ms wall, {polls} DescribeServices \
         polls, {:.0} s virtual",
        wall.as_secs_f64() * 1e3,
        f64::from(polls) * 5.0
    );

    // 2. DescribeServices throughput on that 200-task service.
    let rate = describe_load(server.url(), 3).await;
    println!("DescribeServices answered per second (4 clients, 200 tasks): {rate:.0}");
    server.shutdown().await.expect("stop");

    // 3. Peak memory of a `ferry local` process at speed 1000.
    let binary = env!("CARGO_BIN_EXE_ferry");
    let mut child = std::process::Command::new(binary)
        .args(["local", "--speed", "1000", "--capacity", "250"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ferry local");
    let mut url = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut url,
    )
    .expect("url");
    let ecs = client(url.trim()).await;
    let (wall, _) = deploy_200(&ecs, || std::thread::sleep(Duration::from_millis(20))).await;
    let rate = describe_load(url.trim(), 3).await;
    let peak = peak_memory_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "ferry local process: 200-task deployment in {:.1} s at speed 1000, {rate:.0} \
         DescribeServices/s, peak memory {:.1} MiB",
        wall.as_secs_f64(),
        peak as f64 / 1024.0
    );
}
