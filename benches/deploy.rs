//! `cargo bench --bench deploy`: ferry's run engine against fabfuel's `ecs-deploy` on the
//! local ECS (docs/benchmarks.md).
//!
//! 1. The same deploy (a 3-task service, a new image) with ferry and with `ecs-deploy`:
//!    wall time and API calls answered by the endpoint. Both against one in-process
//!    local ECS at speed 100.
//! 2. A crashing image on a 10-task service: virtual time from the first stopped task to
//!    ferry's verdict with `fail_fast = 2`, against the time the circuit breaker's own
//!    threshold (5 failures for 10 tasks) fails the deployment, on the same scenario.
//! 3. Verdict latency in real time (a local ECS at speed 1, tasks up in 2 s): from the
//!    moment the endpoint completes the deployment to the end of ferry's run and of
//!    `ecs-deploy`'s, and the calls each made per minute.
//! 4. Behind a load balancer: the calls a deploy makes with and without a target group
//!    (the same awsvpc service), by operation, and the time of one read of the targets'
//!    health against one DescribeServices, median of 200 each.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ferry::aws::{Clients, Ecs, Target};
use ferry::engine::{Event, RunOptions, Runner};
use ferry::eval::{Workspace, resolve};
use ferry::local::behaviour::FaultFile;
use ferry::local::{LocalEcs, LocalOptions};

#[path = "../tests/support/load_balancer.rs"]
mod load_balancer;

const FAULTS: &str = r#"{"images": [{"match": "*:crash", "crash_after": "5s", "exit_code": 1}]}"#;

/// `max` is 110 % for 10 tasks (one new task at a time) and the default otherwise: with
/// 3 tasks, 110 % could not progress (the checker warns about it too).
fn deployfile(image: &str, desired: u32, verify: &str) -> String {
    let max = if desired >= 10 { "  max             = 110%\n" } else { "" };
    format!(
        "defaults {{\n  cluster = \"bench\"\n}}\n\n\
         register web_task {{\n  from   = family(\"web\")\n  family = \"web\"\n  \
         container \"app\" {{\n    image = \"{image}\"\n  }}\n}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n  \
         desired         = {desired}\n{max}  circuit_breaker = rollback\n}}\n\n\
         verify web {{\n  timeout = 30m\n{verify}}}\n"
    )
}

/// Records each event with the virtual time it happened at.
struct Timed {
    clock: ferry::local::clock::Clock,
    events: Vec<(u64, Event)>,
}

impl ferry::engine::Sink for Timed {
    fn event(&mut self, event: &Event) {
        self.events.push((self.clock.now_ms(), event.clone()));
    }
}

async fn ferry_run(server: &LocalEcs, text: &str) -> Vec<Event> {
    ferry_run_timed(server, text).await.into_iter().map(|(_, e)| e).collect()
}

async fn ferry_run_timed(server: &LocalEcs, text: &str) -> Vec<(u64, Event)> {
    let checked = ferry::check::check_source(text);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let file = checked.file.expect("parses");
    let workspace = Workspace::default();
    let settings = resolve(&file, None, &workspace).expect("settings");
    let clients = Clients::new(&Target::Local { url: server.url().to_owned() }).await;
    let mut recorder = Timed { clock: server.clock().clone(), events: Vec::new() };
    let options = RunOptions {
        interrupted: Arc::new(AtomicBool::new(false)),
        target: "local".to_owned(),
        ..RunOptions::default()
    };
    Runner::new(
        &file,
        settings,
        &workspace,
        Ecs::new(&clients),
        server.clock().clone(),
        &mut recorder,
        options,
    )
    .run()
    .await;
    recorder.events
}

/// When the last deployment created at or after `since` (virtual ms) completed.
fn completed_since(server: &LocalEcs, since: u64) -> Option<u64> {
    server.with_state(|state, _| {
        state
            .clusters
            .values()
            .flat_map(|c| c.services.values())
            .flat_map(|s| s.rollout.deployments.iter())
            .filter(|d| d.created_ms >= since)
            .filter_map(|d| d.completed_ms)
            .max()
    })
}

/// Runs `deploy`, then says how long after the endpoint's completion it ended (real
/// time, speed 1) and the calls per minute it made.
async fn latency<F: std::future::Future<Output = ()>>(server: &LocalEcs, label: &str, deploy: F) {
    let before = total_calls(server);
    let since = server.clock().now_ms();
    let started = Instant::now();
    deploy.await;
    let wall = started.elapsed();
    let calls = total_calls(server) - before;
    let Some(completed) = completed_since(server, since) else {
        println!("{label}: the deployment did not complete");
        return;
    };
    let completed_after = std::time::Duration::from_millis(completed - since);
    let latency = wall.saturating_sub(completed_after);
    println!(
        "{label}: completed by the endpoint {:.2} s after the start, verdict {:.2} s after \
         that; {calls} calls in {:.1} s ({:.0} per minute)",
        completed_after.as_secs_f64(),
        latency.as_secs_f64(),
        wall.as_secs_f64(),
        calls as f64 * 60.0 / wall.as_secs_f64()
    );
}

fn ecs_deploy() -> Option<std::path::PathBuf> {
    std::env::var_os("FERRY_PYTHON_ENV")
        .map(std::path::PathBuf::from)
        .map(|dir| dir.join("ecs"))
        .filter(|p| p.is_file())
}

fn ecs_deploy_image(binary: &std::path::Path, server: &LocalEcs, image: &str) -> i32 {
    std::process::Command::new(binary)
        .args(["deploy", "bench", "web", "--image", "app", image, "--timeout", "300"])
        .env("AWS_ENDPOINT_URL", server.url())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("ecs-deploy runs")
        .code()
        .unwrap_or(-1)
}

fn total_calls(server: &LocalEcs) -> u64 {
    server.calls().values().sum()
}

async fn first_deploy(server: &LocalEcs, desired: u32) {
    // The first revision and the service, registered from scratch.
    let text = deployfile("acme/web:1", desired, "").replace("  from   = family(\"web\")\n", "");
    let events = ferry_run(server, &text).await;
    assert!(matches!(events.last(), Some(Event::RunFinished { exit_code: 0, .. })), "{events:#?}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench --bench deploy -- target-health`: part 4 alone.
    if std::env::args().any(|a| a == "target-health") {
        target_health_cost().await;
        return;
    }
    let faults = FaultFile::parse(FAULTS).expect("faults");
    // 1. ferry against ecs-deploy, the same deploy.
    let server = LocalEcs::start(LocalOptions {
        speed: 100.0,
        faults: faults.clone(),
        ..LocalOptions::default()
    })
    .await
    .expect("local");
    first_deploy(&server, 3).await;
    let before = total_calls(&server);
    let by_operation = server.calls();
    let started = Instant::now();
    let events = ferry_run(&server, &deployfile("acme/web:2", 3, "")).await;
    if std::env::var_os("FERRY_BENCH_CALLS").is_some() {
        for (operation, n) in server.calls() {
            let was = by_operation.get(&operation).copied().unwrap_or(0);
            if n > was {
                println!("  {operation}: {}", n - was);
            }
        }
    }
    let ferry_wall = started.elapsed();
    let ferry_calls = total_calls(&server) - before;
    assert!(matches!(events.last(), Some(Event::RunFinished { exit_code: 0, .. })), "{events:#?}");
    println!(
        "ferry: deploy of a 3-task service at speed 100: {:.2} s wall, {ferry_calls} API calls",
        ferry_wall.as_secs_f64()
    );
    match ecs_deploy() {
        Some(ecs_deploy) => {
            let before = total_calls(&server);
            let started = Instant::now();
            let code = ecs_deploy_image(&ecs_deploy, &server, "acme/web:3");
            let wall = started.elapsed();
            let calls = total_calls(&server) - before;
            println!(
                "ecs-deploy 1.17.0: the same deploy: {:.2} s wall, {calls} API calls (exit {code})",
                wall.as_secs_f64(),
            );
        }
        None => println!(
            "ecs-deploy: not measured (run with FERRY_PYTHON_ENV=target/python-env/bin after \
             scripts/python-env)"
        ),
    }
    server.shutdown().await.expect("stop");

    // 2. Time to verdict on a crashing image, 10 tasks started one at a time (max 110 %):
    // fail_fast = 2 against the breaker's threshold of 5.
    for (label, verify) in [
        ("ferry, fail_fast = 2", "  fail_fast = 2\n"),
        ("the circuit breaker alone (threshold 5)", ""),
    ] {
        let server = LocalEcs::start(LocalOptions {
            speed: 100.0,
            faults: faults.clone(),
            ..LocalOptions::default()
        })
        .await
        .expect("local");
        first_deploy(&server, 10).await;
        let events = ferry_run_timed(&server, &deployfile("acme/web:crash", 10, verify)).await;
        let started = events
            .iter()
            .find_map(|(at, e)| matches!(e, Event::DeploymentStarted { .. }).then_some(*at))
            .unwrap_or_default();
        let deployed_at = started;
        let first_stop = server.with_state(|state, _| {
            state
                .clusters
                .values()
                .flat_map(|c| c.services.values())
                .flat_map(|s| s.rollout.tasks.iter())
                .filter(|t| t.stop.as_ref().is_some_and(|s| s.failure))
                .filter_map(|t| t.stopped_ms)
                .filter(|at| *at >= deployed_at)
                .min()
        });
        let verdict = events.iter().find_map(|(at, e)| match e {
            Event::DeploymentFailed { reason, .. } => Some((*at, reason.clone())),
            _ => None,
        });
        let (verdict_at, reason) = verdict.unwrap_or((0, "no verdict".to_owned()));
        let first = first_stop.unwrap_or(deployed_at);
        println!(
            "{label}: first crashed task {:.0} s after the update, verdict {:.0} s after it \
             ({:.0} s after the first crash); {reason}",
            (first - deployed_at) as f64 / 1000.0,
            verdict_at.saturating_sub(deployed_at) as f64 / 1000.0,
            verdict_at.saturating_sub(first) as f64 / 1000.0,
        );
        server.shutdown().await.expect("stop");
    }

    // 3. Verdict latency in real time, and calls per minute, beside ecs-deploy.
    let fast = FaultFile::parse(r#"{"images": [{"match": "*", "start": "2s"}]}"#).expect("faults");
    let server =
        LocalEcs::start(LocalOptions { speed: 1.0, faults: fast, ..LocalOptions::default() })
            .await
            .expect("local");
    first_deploy(&server, 3).await;
    latency(
        &server,
        "ferry",
        Box::pin(async {
            let events = ferry_run(&server, &deployfile("acme/web:4", 3, "")).await;
            assert!(matches!(events.last(), Some(Event::RunFinished { exit_code: 0, .. })));
        }),
    )
    .await;
    match ecs_deploy() {
        Some(binary) => {
            latency(&server, "ecs-deploy 1.17.0", async {
                assert_eq!(ecs_deploy_image(&binary, &server, "acme/web:5"), 0);
            })
            .await;
        }
        None => println!("ecs-deploy: not measured (FERRY_PYTHON_ENV is not set)"),
    }
    server.shutdown().await.expect("stop");

    // 4. The cost of reading target health.
    target_health_cost().await;
}

/// An awsvpc service of 3 tasks, behind `group` when one is given.
fn lb_deployfile(image: &str, group: Option<&str>) -> String {
    let link = group.map_or_else(String::new, |g| {
        format!(
            "  load_balancer {{\n    target_group = \"{g}\"\n    container    = \"app\"\n    \
             port         = 8080\n  }}\n"
        )
    });
    format!(
        "defaults {{\n  cluster = \"bench\"\n}}\n\n\
         register web_task {{\n  family       = \"web\"\n  network_mode = \"awsvpc\"\n  \
         container \"app\" {{\n    image = \"{image}\"\n    ports = [8080]\n  }}\n}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n  \
         desired         = 3\n  network {{\n    subnets = [\"subnet-a\"]\n  }}\n{link}}}\n\n\
         verify web {{\n  timeout = 30m\n}}\n"
    )
}

async fn target_health_cost() {
    let mut calls: Vec<(bool, std::collections::BTreeMap<String, u64>)> = Vec::new();
    for behind in [false, true] {
        let server = LocalEcs::start(LocalOptions { speed: 100.0, ..LocalOptions::default() })
            .await
            .expect("local");
        let clients = Clients::new(&Target::Local { url: server.url().to_owned() }).await;
        let group = if behind {
            Some(
                load_balancer::load_balancer(&clients.elb, load_balancer::Checks::default())
                    .await
                    .0,
            )
        } else {
            None
        };
        let first = ferry_run(&server, &lb_deployfile("acme/web:1", group.as_deref())).await;
        assert!(matches!(first.last(), Some(Event::RunFinished { exit_code: 0, .. })));
        let before = server.calls();
        let started = Instant::now();
        let events = ferry_run(&server, &lb_deployfile("acme/web:2", group.as_deref())).await;
        let wall = started.elapsed();
        assert!(matches!(events.last(), Some(Event::RunFinished { exit_code: 0, .. })));
        let delta: std::collections::BTreeMap<String, u64> = server
            .calls()
            .into_iter()
            .map(|(op, n)| (op.clone(), n - before.get(&op).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        println!(
            "{}: {} calls, {:.2} s wall at speed 100: {delta:?}",
            if behind { "behind a load balancer" } else { "no load balancer" },
            delta.values().sum::<u64>(),
            wall.as_secs_f64()
        );
        calls.push((behind, delta));
        if let Some(group) = group {
            let ecs = Ecs::new(&clients);
            let view = ecs.service("bench", "web").await.expect("describe").expect("service");
            let median = |mut times: Vec<f64>| {
                times.sort_by(f64::total_cmp);
                times[times.len() / 2]
            };
            let (mut reads, mut describes) = (Vec::new(), Vec::new());
            for _ in 0..200 {
                let at = Instant::now();
                let read = ecs.group_health(&view.load_balancers).await.expect("targets");
                reads.push(at.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(read[0].targets.len(), 3, "{group}");
                let at = Instant::now();
                ecs.service("bench", "web").await.expect("describe");
                describes.push(at.elapsed().as_secs_f64() * 1000.0);
            }
            let (read, describe) = (median(reads), median(describes));
            println!(
                "one read of the targets' health (DescribeTargetGroups + DescribeTargetHealth, \
                 3 targets): {read:.2} ms median; one DescribeServices: {describe:.2} ms; \
                 ratio {:.2}",
                read / describe
            );
        }
        server.shutdown().await.expect("stop");
    }
}
