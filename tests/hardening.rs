//! Reliability under faults (issue 14): an endpoint that accepts connections and never
//! answers, one that freezes mid-rollout, Ctrl-C inside a hanging call — every run ends
//! within its timeouts with the right exit code.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry::aws::{Clients, Ecs, Target};
use ferry::engine::{Event, Recorder, RunOptions, Runner, Verdict};
use ferry::eval::{Workspace, resolve};

use crate::support::local_ecs::Start;
use crate::support::test::Test;

/// A TCP endpoint that accepts every connection and never answers.
fn black_hole() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
        }
    });
    (format!("http://{address}"), holder)
}

const DEPLOYFILE: &str = "register web_task {\n  family = \"web\"\n  container \"app\" {\n    \
                          image = \"acme/web:1\"\n  }\n}\n\n\
                          update web {\n  task_definition = web_task\n  \
                          create          = true\n}\n\n\
                          verify web {\n  timeout = 1m\n}\n";

fn aws_run(dir: &std::path::Path, url: &str, timeout: &str, command: &str) -> Test {
    let args: &[&str] = if command == "run" {
        &["run", "--target", "aws", "--yes"]
    } else {
        &["plan", "--target", "aws"]
    };
    Test::new()
        .args(args)
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("FERRY_AWS_TIMEOUT", timeout)
}

#[test]
fn an_endpoint_that_never_answers_ends_the_run_within_its_timeouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Deployfile"), DEPLOYFILE).expect("write");
    let (url, _holder) = black_hole();
    for command in ["run", "plan"] {
        let started = Instant::now();
        let ran = aws_run(dir.path(), &url, "1s", command).run();
        let took = started.elapsed();
        // 3 attempts of 1 s, the SDK's backoff between them, and nothing written.
        assert_eq!(ran.code, 2, "{command}: {}", ran.stderr);
        assert!(took < Duration::from_secs(20), "{command} took {took:?}");
        assert!(ran.stderr.contains("nothing was changed") || command == "plan", "{}", ran.stderr);
    }
}

#[test]
fn ctrl_c_inside_a_hanging_call_ends_with_130() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Deployfile"), DEPLOYFILE).expect("write");
    let (url, _holder) = black_hole();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .args(["run", "--target", "aws", "--yes", "--output", "ndjson"])
        .current_dir(dir.path())
        .env_clear()
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("FERRY_AWS_TIMEOUT", "60s")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("ferry runs");
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id().to_string();
    let started = Instant::now();
    let sent = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(sent.success());
    let output = child.wait_with_output().expect("exits");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(took < Duration::from_secs(5), "Ctrl-C took {took:?} to end the run");
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("events")).expect("an event");
    assert_eq!(last["verdict"], "interrupted", "{stdout}");
    assert!(last["reason"].as_str().is_some_and(|r| r.contains("nothing was changed")), "{last}");
}

/// A TCP forwarder to `target` that can be frozen: from then on it forwards nothing more,
/// in either direction, and holds the connections open.
struct Freezer {
    address: String,
    frozen: Arc<AtomicBool>,
}

impl Freezer {
    fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let frozen = Arc::new(AtomicBool::new(false));
        let target = target.to_owned();
        let flag = Arc::clone(&frozen);
        std::thread::spawn(move || {
            for client in listener.incoming().take(10_000) {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(&target) else { continue };
                for (mut from, mut to) in [
                    (client.try_clone().expect("clone"), server.try_clone().expect("clone")),
                    (server, client),
                ] {
                    let flag = Arc::clone(&flag);
                    std::thread::spawn(move || {
                        let mut buffer = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buffer) {
                            if n == 0 {
                                break;
                            }
                            while flag.load(Ordering::Relaxed) {
                                std::thread::sleep(Duration::from_millis(50));
                            }
                            if to.write_all(&buffer[..n]).is_err() {
                                break;
                            }
                        }
                    });
                }
            }
        });
        Self { address: format!("http://{address}"), frozen }
    }
}

struct Freeze {
    recorder: Recorder,
    frozen: Arc<AtomicBool>,
}
impl ferry::engine::Sink for Freeze {
    fn event(&mut self, event: &Event) {
        if let Event::DeploymentStarted { .. } = event {
            self.frozen.store(true, Ordering::Relaxed);
        }
        self.recorder.event(event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_endpoint_mid_verify_ends_at_the_verify_timeout() {
    // Speed 30: `timeout = 1m` is 2 real seconds; the image takes 3 virtual minutes.
    let server = Start::real_time()
        .speed(30.0)
        .faults(r#"{"images": [{"match": "*:slow", "start": "3m"}]}"#)
        .start()
        .await
        .server;
    let freezer = Freezer::start(server.url().trim_start_matches("http://"));
    let text = DEPLOYFILE.replace("acme/web:1", "acme/web:slow");
    let file = ferry::check::check_source(&text).file.expect("parses");
    let workspace = Workspace::default();
    let settings = resolve(&file, None, &workspace).expect("settings");
    let clients = Clients::new(&Target::Local { url: freezer.address.clone() }).await;
    let mut sink = Freeze { recorder: Recorder::default(), frozen: Arc::clone(&freezer.frozen) };
    let started = Instant::now();
    let outcome = Runner::new(
        &file,
        settings,
        &workspace,
        Ecs::new(&clients),
        server.clock().clone(),
        &mut sink,
        RunOptions { target: "local".to_owned(), ..RunOptions::default() },
    )
    .run()
    .await;
    let took = started.elapsed();
    assert_eq!(outcome.verdict, Verdict::Failed, "{}", outcome.reason);
    assert!(outcome.reason.contains("did not finish within 1m"), "{}", outcome.reason);
    // The verify timeout (2 s real) plus its margin (2 s) and a last look.
    assert!(took < Duration::from_secs(10), "the frozen endpoint held the run for {took:?}");
}
