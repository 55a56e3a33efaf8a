//! `cargo bench --bench gates`: health gates, for docs/benchmarks.md.
//!
//! 1. compiling a typical gate script (`std/version.rhai`, with the sandbox's checks);
//! 2. one attempt of a script that makes no request (`std/tasks.rhai` over 10 tasks): the
//!    overhead of a gate evaluation — a fresh sandboxed engine, the context, the call;
//! 3. one attempt of `std/version.rhai` against a real HTTP server on loopback, and the
//!    built-in `http` gate against the same server.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry::gates::http_gate::{self, Expect};
use ferry::gates::{Capabilities, GateContext, GateScript, Limits, TaskInfo};

fn median(mut times: Vec<Duration>) -> String {
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    format!(
        "median {:.1} µs (min {:.1}, max {:.1}, {} runs)",
        us(times[times.len() / 2]),
        us(times[0]),
        us(times[times.len() - 1]),
        times.len()
    )
}

fn measure(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect()
}

/// A loopback server answering every request with `abc123`, bounded to `limit` requests.
fn server(limit: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(limit) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nabc123"
            );
        }
    });
    address
}

fn main() {
    let version = ferry::gates::stdlib::find("std/version.rhai").expect("std script");
    let tasks_script = ferry::gates::stdlib::find("std/tasks.rhai").expect("std script");
    let compile = measure(200, || {
        GateScript::compile("std/version.rhai", version).expect("compiles");
    });
    println!("compile std/version.rhai: {}", median(compile));

    let tasks = GateScript::compile("std/tasks.rhai", tasks_script).expect("compiles");
    let mut capabilities = Capabilities::none();
    capabilities.tasks = Arc::new(
        (0..10)
            .map(|i| TaskInfo {
                id: format!("task{i}"),
                last_status: "RUNNING".to_owned(),
                health: "HEALTHY".to_owned(),
                ..TaskInfo::default()
            })
            .collect(),
    );
    let context = GateContext::default();
    let attempt = measure(1_000, || {
        let outcome = tasks.run(&context, &capabilities, Limits::default()).expect("runs");
        assert!(outcome.ok);
    });
    println!("one attempt of std/tasks.rhai (10 tasks, no request): {}", median(attempt));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let address = server(2_000);
    // As a run sends them: through the network policy, the URL named.
    let network: Arc<dyn ferry::gates::HttpClient> = Arc::new(ferry::gates::network::Guarded {
        network: Arc::new(
            ferry::gates::network::Network::new(runtime.handle().clone(), false).expect("network"),
        ),
        policy: ferry::gates::Policy::new([format!("http://{address}/").as_str()], &[], false),
    });
    let mut capabilities = Capabilities::none();
    capabilities.http = Arc::clone(&network);
    let script = GateScript::compile("std/version.rhai", version).expect("compiles");
    let context = GateContext {
        params: [
            ("url".to_owned(), serde_json::json!(format!("http://{address}/version"))),
            ("expect".to_owned(), serde_json::json!("abc123")),
        ]
        .into(),
        ..GateContext::default()
    };
    let scripted = measure(500, || {
        let outcome = script.run(&context, &capabilities, Limits::default()).expect("runs");
        assert!(outcome.ok, "{outcome:?}");
    });
    println!("one attempt of std/version.rhai, HTTP on loopback: {}", median(scripted));
    let url = format!("http://{address}/health");
    let builtin = measure(500, || {
        assert!(http_gate::attempt(&*network, &url, &Expect::default()).ok);
    });
    println!("one attempt of the built-in http gate, HTTP on loopback: {}", median(builtin));
}
