//! `cargo bench --bench check`: how fast `ferry check` is (docs/benchmarks.md).
//!
//! 1. `check` in-process on a generated 10,000-line Deployfile (target: under 100 ms);
//! 2. the whole process, `ferry check pipelines/web.deploy` (target: under 10 ms);
//! 3. `fmt` in-process on the same generated file.
//!
//! Each figure is the median of repeated runs, with the fastest and slowest beside it.

use std::process::Command;

#[path = "support/mod.rs"]
mod support;

use support::{generated, measure, report};

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
        &format!("of which parse (pest + lowering), {lines} lines"),
        runs,
        measure(runs, || {
            std::hint::black_box(ferry::syntax::parse(std::hint::black_box(&text)).is_ok());
        }),
    );
    let file = ferry::syntax::parse(&text).expect("parses");
    report(
        &format!("of which analysis of the tree, {lines} lines"),
        runs,
        measure(runs, || {
            std::hint::black_box(ferry::check::check(std::hint::black_box(&file)));
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
