//! `pipelines/web.deploy` end to end, as committed, on `--target local --runtime docker`:
//! the app in pipelines/web/ is built through the Docker engine, tagged with the commit's
//! SHA, pushed through the local ECR into Debian's docker-registry, registered pinned by
//! digest and deployed as real containers that answer with that SHA. A second commit whose
//! app crashes fails fast, is rolled back, exits 1, and the first containers still serve.

use std::io::{Read, Write};
use std::path::Path;

use ferry::docker::DockerEngine;
use ferry::local::containers::INSTANCE_LABEL;
use serde_json::Value;

use crate::support::available::docker_available;
use crate::support::containers::Cleanup;
use crate::support::registry::Registry;
use crate::support::test::{Test, git, root};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn run(dir: &Path, registry: &str) -> (i32, Vec<Value>, String) {
    let ran = Test::new()
        .args([
            "run",
            "web.deploy",
            "--env",
            "local",
            "--target",
            "local",
            "--runtime",
            "docker",
            "--registry",
            registry,
            "--output",
            "ndjson",
        ])
        .current_dir(dir)
        .run();
    let events = ran.events();
    (ran.code, events, ran.stderr)
}

/// `(container id, /version)` of every container the runs left serving, by id.
async fn serving(engine: &DockerEngine, instance: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (id, _) in engine.labelled(INSTANCE_LABEL, instance).await.expect("containers") {
        let state = engine.inspect(&id).await.expect("inspect").expect("exists");
        if !state.running {
            continue;
        }
        let (_, _, address, port) = state.ports.first().cloned().expect("a published port");
        let mut stream = std::net::TcpStream::connect((address.as_str(), port)).expect("connect");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
        write!(stream, "GET /version HTTP/1.0\r\n\r\n").expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim().to_owned();
        found.push((id, body));
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_pipeline_deploys_real_containers_and_rolls_back_a_crash() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(None) else { return };
    let project = tempfile::tempdir().expect("tempdir");
    let dir = project.path().canonicalize().expect("dir");
    std::fs::copy(root().join("pipelines/web.deploy"), dir.join("web.deploy")).expect("copy");
    copy_dir(&root().join("pipelines/web"), &dir.join("web"));
    std::fs::copy("/bin/busybox", dir.join("web/busybox")).expect("busybox");
    let _cleanup = Cleanup(dir.join(".ferry/local-state.json"));
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "first"]);
    let first = git(&dir, &["rev-parse", "HEAD"]);

    let (code, events, stderr) = run(&dir, &registry.address);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    let built = events.iter().find(|e| e["event"] == "image_built").expect("built");
    assert!(built["builder"].as_str().is_some_and(|b| !b.is_empty()), "{built}");
    let pushed = events.iter().find(|e| e["event"] == "image_pushed").expect("pushed");
    assert_eq!(pushed["tags"], serde_json::json!([first, "local-latest"]));
    assert_eq!(events.last().expect("last")["verdict"], "success");

    let engine = DockerEngine::connect().await.expect("engine");
    let instance = dir.join(".ferry/local-state.json").display().to_string();
    let before = serving(&engine, &instance).await;
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|(_, version)| *version == first), "{before:?}");

    // A commit whose app exits at once.
    std::fs::write(dir.join("web/serve"), "#!/bin/sh\necho broken\nexit 3\n").expect("write");
    git(&dir, &["commit", "-q", "-am", "broken"]);
    let (code, events, stderr) = run(&dir, &registry.address);
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let stopped: Vec<&Value> = events.iter().filter(|e| e["event"] == "task_stopped").collect();
    assert!(!stopped.is_empty(), "{events:#?}");
    assert!(
        stopped.iter().all(|e| e["exit_codes"] == serde_json::json!([["web", 3]])),
        "{stopped:#?}"
    );
    let last = events.last().expect("last");
    assert_eq!(last["verdict"], "rolled_back", "{last}");
    // The first containers never stopped serving the first commit.
    assert_eq!(serving(&engine, &instance).await, before);
}
