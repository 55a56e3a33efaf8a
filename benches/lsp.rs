//! `cargo bench --bench lsp`: the language server as an editor sees it (docs/benchmarks.md).
//!
//! 1. The time from sending a `didChange` (one incremental edit) to receiving the
//!    diagnostics published for that version, on a 5,000-line Deployfile (target: under
//!    20 ms): the real `ferry lsp` process over its stdio pipes, 200 edits; then the same
//!    edits sent as whole texts (a full parse each).
//! 2. The server's memory (VmRSS and its peak, VmHWM, from /proc) after `initialize`, and
//!    with ten such files open.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::generated;

fn send(stdin: &mut ChildStdin, message: &Value) {
    let body = message.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
    stdin.flush().expect("flush");
}

/// Reads framed messages on a thread.
fn reader(stdout: std::process::ChildStdout) -> Receiver<Value> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line.trim_end().is_empty() {
                    break;
                }
                if let Some(n) = line.trim_end().strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            if sender.send(serde_json::from_slice(&body).expect("json")).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Waits for the diagnostics of `uri` at `version`.
fn published(messages: &Receiver<Value>, uri: &str, version: i64) -> Value {
    loop {
        let message = messages.recv_timeout(Duration::from_secs(30)).expect("an answer");
        let params = &message["params"];
        if message["method"] == "textDocument/publishDiagnostics"
            && params["uri"] == uri
            && params["version"] == version
        {
            return params.clone();
        }
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Sends `runs` changes to `uri` (versions from `first`; `changes(i)` gives the
/// `contentChanges`), times each from the write to the diagnostics of its version, and
/// prints the median, p95, min and max.
fn timed_changes(
    stdin: &mut ChildStdin,
    messages: &Receiver<Value>,
    uri: &str,
    first: usize,
    runs: usize,
    what: &str,
    mut changes: impl FnMut(usize) -> Value,
) {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let version = (first + i) as i64;
        let edit = json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": changes(i) } });
        let start = Instant::now();
        send(stdin, &edit);
        let params = published(messages, uri, version);
        times.push(start.elapsed());
        assert_eq!(params["diagnostics"], json!([]), "the edits keep the file clean");
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: median {:.2} ms, p95 {:.2} ms, min {:.2} ms, max {:.2} ms ({runs} edits)",
        ms(times[runs / 2]),
        ms(times[runs * 95 / 100]),
        ms(times[0]),
        ms(times[runs - 1])
    );
}

fn main() {
    let text = generated(5_000);
    let lines = text.lines().count();
    assert!(
        ferry::check::check_source(&text).diagnostics.is_empty(),
        "the generated file is clean"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferry lsp");
    let mut stdin = child.stdin.take().expect("stdin");
    let messages = reader(child.stdout.take().expect("stdout"));
    send(
        &mut stdin,
        &json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": { "capabilities": {} }
        }),
    );
    messages.recv_timeout(Duration::from_secs(30)).expect("initialized");
    send(&mut stdin, &json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    let (rss, _) = memory(child.id());
    println!("generated Deployfile: {lines} lines, {} KiB", text.len() / 1024);
    println!("memory after initialize: VmRSS {:.1} MiB", rss as f64 / 1024.0);

    let uri = "file:///bench/Deployfile";
    send(
        &mut stdin,
        &json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "deployfile", "version": 1, "text": text } } }),
    );
    published(&messages, uri, 1);
    // Edit the value of `BUILD = "N"` in the middle of the file, back and forth.
    let middle = text.find(&format!("BUILD = \"{}\"", 80)).expect("a service in the middle");
    let before = &text[..middle + "BUILD = \"".len()];
    let line = before.matches('\n').count();
    let character = before.rsplit('\n').next().unwrap_or("").len();
    let runs = 200;
    let range = json!({
        "start": { "line": line, "character": character },
        "end": { "line": line, "character": character + 1 }
    });
    timed_changes(
        &mut stdin,
        &messages,
        uri,
        2,
        runs,
        &format!("didChange → publishDiagnostics, {lines} lines"),
        |i| json!([{ "range": range, "text": if i % 2 == 0 { "9" } else { "8" } }]),
    );
    // The same edits sent as whole texts (clients without incremental sync): every
    // change is a full parse.
    let mut whole = text.clone();
    let offset = middle + "BUILD = \"".len();
    timed_changes(
        &mut stdin,
        &messages,
        uri,
        runs + 2,
        runs,
        "the same with whole-text changes (full parse)",
        |i| {
            whole.replace_range(offset..=offset, if i % 2 == 0 { "7" } else { "6" });
            json!([{ "text": whole }])
        },
    );

    for n in 1..10 {
        let other = format!("file:///bench/Deployfile{n}");
        send(
            &mut stdin,
            &json!({
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": other,
                        "languageId": "deployfile",
                        "version": 1,
                        "text": text
                    }
                }
            }),
        );
        published(&messages, &other, 1);
    }
    let (rss, peak) = memory(child.id());
    println!(
        "memory with ten {lines}-line files open: VmRSS {:.1} MiB, peak VmHWM {:.1} MiB",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    send(&mut stdin, &json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown" }));
    send(&mut stdin, &json!({ "jsonrpc": "2.0", "method": "exit" }));
    let _ = child.wait();
}
