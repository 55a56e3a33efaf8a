//! `cargo bench --bench check`: how fast `ferry check` is (docs/benchmarks.md).
//!
//! 1. `check` in-process on a generated 10,000-line Deployfile (target: under 100 ms);
//! 2. the whole process, `ferry check pipelines/web.deploy` (target: under 10 ms);
//! 3. `fmt` in-process on the same generated file.
//!
//! Each figure is the median of repeated runs, with the fastest and slowest beside it.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

fn generated(lines: usize) -> String {
    let mut text = String::from(
        "defaults {\n  region  = \"eu-west-1\"\n  cluster = \"prod\"\n  vars    = { desired = 2 }\n}\n\n",
    );
    let mut n = 0;
    while text.lines().count() < lines {
        let _ = write!(
            text,
            "build app{n} {{\n  context    = \"services/{n}\"\n  dockerfile = \"Dockerfile\"\n  platform   = \"linux/amd64\"\n  args       = {{ APP_VERSION = git.sha, BUILD = \"{n}\" }}\n}}\n\n\
             tag app{n} {{\n  tags = [git.sha, \"${{env.name}}-latest\"]\n}}\n\n\
             push app{n} {{\n  to = ecr(\"acme/app{n}\", create = true, keep = 30)\n}}\n\n\
             register task{n} {{\n  from = service(\"svc{n}\")\n  container \"web\" {{\n    image       = app{n}\n    environment = {{ APP_VERSION = git.sha, INDEX = \"{n}\" }}\n    health_check {{\n      command  = [\"CMD-SHELL\", \"wget -q -O- localhost:8080/health\"]\n      interval = 10s\n    }}\n  }}\n  keep = 10\n}}\n\n\
             update svc{n} {{\n  task_definition = task{n}\n  desired         = vars.desired\n  min_healthy     = 100%\n  max             = 200%\n  grace           = 60s\n  circuit_breaker = rollback\n}}\n\n\
             verify svc{n} {{\n  timeout   = 15m\n  fail_fast = 2\n  gate http(\"https://svc{n}.example.com/health\") {{ status = 200, every = 10s, pass = 3 }}\n}}\n\n"
        );
        n += 1;
    }
    text
}

fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    f(); // warm up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[runs / 2], times[runs - 1])
}

fn report(name: &str, runs: usize, (min, median, max): (Duration, Duration, Duration)) {
    println!(
        "{name:<52} median {:>8.2} ms   min {:>8.2} ms   max {:>8.2} ms   ({runs} runs)",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

fn main() {
    let text = generated(10_000);
    let lines = text.lines().count();
    let checked = ferry::check::check_source(&text);
    assert!(
        checked.diagnostics.is_empty(),
        "the generated file must be clean: {:?}",
        &checked.diagnostics[..1]
    );
    println!("generated Deployfile: {lines} lines, {} KiB", text.len() / 1024);

    let runs = 30;
    report(
        &format!("check, in-process, {lines} lines"),
        runs,
        measure(runs, || {
            std::hint::black_box(ferry::check::check_source(std::hint::black_box(&text)));
        }),
    );
    report(
        &format!("fmt, in-process, {lines} lines"),
        runs,
        measure(runs, || {
            std::hint::black_box(ferry::syntax::format(std::hint::black_box(&text)).is_ok());
        }),
    );

    let binary = env!("CARGO_BIN_EXE_ferry");
    let root = env!("CARGO_MANIFEST_DIR");
    let runs = 100;
    report(
        "ferry check pipelines/web.deploy, whole process",
        runs,
        measure(runs, || {
            let status = Command::new(binary)
                .args(["check", "pipelines/web.deploy"])
                .current_dir(root)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("ferry runs");
            assert!(status.success());
        }),
    );
}
