//! `ferry local` as a process: prints its URL, answers calls, stops on SIGTERM and leaves
//! its state file behind for the next run.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use crate::support::test::Test;
use crate::support::wire::{self, ECS};

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
    let answer = wire::response(&url, &format!("{ECS}.RegisterTaskDefinition"), body);
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
    for speed in ["0.5", "1e19", "inf", "NaN"] {
        let ran = Test::new().args(["local", "--speed", speed]).run().code(2);
        assert!(ran.stderr.contains("`--speed` is a number from 1 to 1000000"), "{}", ran.stderr);
        let ran = Test::new()
            .args(["plan", "pipelines/hello.deploy", "--target", "local", "--speed", speed])
            .run()
            .code(2);
        assert!(ran.stderr.contains("`--speed` is a number from 1 to 1000000"), "{}", ran.stderr);
    }
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

/// Starts `ferry local` through `sh` (for a file-handle limit), returns it and its URL.
fn start_local(prefix: &str) -> (std::process::Child, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{prefix} exec {} local --speed 100", env!("CARGO_BIN_EXE_ferry")))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferry local starts");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("the URL line");
    (child, url.trim().to_owned())
}

#[test]
fn half_sent_requests_and_a_lack_of_file_handles_do_not_stop_the_endpoint() {
    // 40 file handles at most: 60 idle connections exhaust them.
    let (mut child, url) = start_local("ulimit -n 40;");
    let address = url.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..60 {
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            // Headers begun and never finished.
            let _ = stream.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n");
            idle.push(stream);
        }
    }
    // Each half-sent request is closed after the header timeout (5 s).
    std::thread::sleep(std::time::Duration::from_secs(7));
    let mut closed = 0;
    for stream in &mut idle {
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
        let mut buffer = [0u8; 512];
        // Closed (end of file, or an error answer then the end): the read returns.
        if stream.read(&mut buffer).is_ok() {
            closed += 1;
        }
    }
    assert!(closed > 0, "no idle connection was closed");
    drop(idle);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Handles are back: the endpoint answers again.
    let answer = wire::response(
        &url,
        &format!("{ECS}.RegisterTaskDefinition"),
        r#"{"family":"hello","containerDefinitions":[{"name":"app","image":"hello:1"}]}"#,
    );
    assert!(answer.contains("task-definition/hello:1"), "{answer}");
    // A desired count past ECS's quota is refused.
    let answer = wire::response(&url, &format!("{ECS}.CreateCluster"), r#"{"clusterName":"c"}"#);
    assert!(answer.contains("200 OK"), "{answer}");
    let answer = wire::response(
        &url,
        &format!("{ECS}.CreateService"),
        r#"{"cluster":"c","serviceName":"s","taskDefinition":"hello:1","desiredCount":1000000}"#,
    );
    assert!(answer.contains("desiredCount must be from 0 to 5000"), "{answer}");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}
