//! `ferry local` as a process: prints its URL, answers calls, stops on SIGTERM and leaves
//! its state file behind for the next run.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use crate::test::Test;

fn post(url: &str, target: &str, body: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

fn run_once(state: &std::path::Path, body: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["local", "--speed", "100", "--state"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferry local starts");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("the URL line");
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let answer = post(&url, "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition", body);
    let status =
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    assert_eq!(exit.code(), Some(0));
    answer
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("local.json");
    let body = r#"{"family":"hello","containerDefinitions":[{"name":"app","image":"hello:1"}]}"#;
    let first = run_once(&state, body);
    assert!(first.contains("task-definition/hello:1"), "{first}");
    assert!(state.is_file(), "the state was saved on SIGTERM");
    let second = run_once(&state, body);
    assert!(second.contains("task-definition/hello:2"), "{second}");
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = dir.path().join("faults.json");
    std::fs::write(&faults, r#"{"api": {"throttle": 5}}"#).expect("write");
    let ran =
        Test::new().args(["local".as_ref(), "--faults".as_ref(), faults.as_os_str()]).run().code(2);
    assert!(ran.stderr.contains("share from 0 to 1"), "{}", ran.stderr);
    let ran = Test::new().args(["local", "--speed", "0.5"]).run().code(2);
    assert!(ran.stderr.contains("`--speed` is a number of 1 or more"), "{}", ran.stderr);
    // Real containers run in real time.
    let ran = Test::new().args(["local", "--runtime", "docker", "--speed", "10"]).run().code(2);
    assert_eq!(
        ran.stderr,
        "error: `--runtime docker` runs real containers in real time: leave `--speed` at 1\n"
    );
    let ran = Test::new()
        .args(["run", "pipelines/hello.deploy", "--target", "local", "--runtime", "docker"])
        .args(["--speed".as_ref(), "60".as_ref(), "--state".as_ref(), faults.as_os_str()])
        .run()
        .code(2);
    assert!(ran.stderr.contains("leave `--speed` at 1"), "{}", ran.stderr);
    let state = dir.path().join("state.json");
    std::fs::write(&state, "[]").expect("write");
    let ran =
        Test::new().args(["local".as_ref(), "--state".as_ref(), state.as_os_str()]).run().code(2);
    assert!(ran.stderr.contains("is not a ferry local state"), "{}", ran.stderr);
}
