//! What the benchmarks share: a generated Deployfile and the timing helpers.
#![allow(dead_code)] // each bench uses its own part of this module

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A clean Deployfile of at least `lines` lines: services with every step kind.
pub(crate) fn generated(lines: usize) -> String {
    let mut text = String::from(
        "defaults {\n  region  = \"eu-west-1\"\n  cluster = \"prod\"\n  vars    = { desired = 2 }\n\
         }\n\n",
    );
    let mut n = 0;
    while text.lines().count() < lines {
        let _ = write!(
            text,
            "build app{n} {{\n  context    = \"services/{n}\"\n  dockerfile = \"Dockerfile\"\n  \
             platform   = \"linux/amd64\"\n  \
             args       = {{ APP_VERSION = git.sha, BUILD = \"{n}\" }}\n}}\n\n\
             tag app{n} {{\n  tags = [git.sha, \"${{env.name}}-latest\"]\n}}\n\n\
             push app{n} {{\n  to = ecr(\"acme/app{n}\", create = true, keep = 30)\n}}\n\n\
             register task{n} {{\n  from = service(\"svc{n}\")\n  container \"web\" {{\n    \
             image       = app{n}\n    \
             environment = {{ APP_VERSION = git.sha, INDEX = \"{n}\" }}\n    \
             health_check {{\n      \
             command  = [\"CMD-SHELL\", \"wget -q -O- localhost:8080/health\"]\n      \
             interval = 10s\n    }}\n  }}\n  keep = 10\n}}\n\n\
             update svc{n} {{\n  task_definition = task{n}\n  desired         = vars.desired\n  \
             min_healthy     = 100%\n  max             = 200%\n  grace           = 60s\n  \
             circuit_breaker = rollback\n}}\n\n\
             verify svc{n} {{\n  timeout   = 15m\n  fail_fast = 2\n  \
             gate http(\"https://svc{n}.example.com/health\") {{ status = 200, every = 10s, pass = \
             3 }}\n}}\n\n"
        );
        n += 1;
    }
    text
}

/// (min, median, max) of `runs` runs of `f`, after one warm-up run.
pub(crate) fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Duration, Duration) {
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

/// One line: the median with the fastest and slowest beside it.
pub(crate) fn report(name: &str, runs: usize, (min, median, max): (Duration, Duration, Duration)) {
    println!(
        "{name:<52} median {:>8.2} ms   min {:>8.2} ms   max {:>8.2} ms   ({runs} runs)",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}
