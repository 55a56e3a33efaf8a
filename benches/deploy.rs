//! `cargo bench --bench deploy`: ferry's run engine against fabfuel's `ecs-deploy` on the
//! local ECS (docs/benchmarks.md).
//!
//! 1. The same deploy (a 3-task service, a new image) with ferry and with `ecs-deploy`:
//!    wall time and API calls answered by the endpoint. Both against one in-process
//!    local ECS at speed 100.
//! 2. A crashing image on a 10-task service: virtual time from the first stopped task to
//!    ferry's verdict with `fail_fast = 2`, against the time the circuit breaker's own
//!    threshold (5 failures for 10 tasks) fails the deployment, on the same scenario.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ferry::aws::{Clients, Ecs, Target};
use ferry::engine::{Event, RunOptions, Runner};
use ferry::eval::{Workspace, resolve};
use ferry::local::behaviour::FaultFile;
use ferry::local::{LocalEcs, LocalOptions};

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
        Ecs::new(clients.ecs),
        server.clock().clone(),
        &mut recorder,
        options,
    )
    .run()
    .await;
    recorder.events
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
    match std::env::var_os("FERRY_PYTHON_ENV")
        .map(std::path::PathBuf::from)
        .map(|dir| dir.join("ecs"))
        .filter(|p| p.is_file())
    {
        Some(ecs_deploy) => {
            let before = total_calls(&server);
            let started = Instant::now();
            let status = std::process::Command::new(ecs_deploy)
                .args([
                    "deploy",
                    "bench",
                    "web",
                    "--image",
                    "app",
                    "acme/web:3",
                    "--timeout",
                    "300",
                ])
                .env("AWS_ENDPOINT_URL", server.url())
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("ecs-deploy runs");
            let wall = started.elapsed();
            let calls = total_calls(&server) - before;
            println!(
                "ecs-deploy 1.17.0: the same deploy: {:.2} s wall, {calls} API calls (exit {})",
                wall.as_secs_f64(),
                status.code().unwrap_or(-1)
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
}
