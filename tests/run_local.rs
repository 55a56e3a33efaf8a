//! `ferry run --target local`: real deploys on the local ECS (in-process, sped-up clock),
//! read back through the NDJSON event stream. A crashing image fails fast and is rolled
//! back (exit 1); the circuit breaker's rollback is a failure (exit 1), never a success;
//! without rollback the run ends 3; throttling does not change the verdict.

use serde_json::Value;

use crate::support::test::Test;

/// A deploy of `image` (to service `web`, cluster `c`) with the given update settings and
/// verify fields; `on_failure` adds `on failure { rollback web }`.
fn deployfile(image: &str, update: &str, verify: &str, on_failure: bool) -> String {
    format!(
        "defaults {{\n  cluster = \"c\"\n}}\n\nregister web_task {{\n  family = \"web\"\n  \
         container \"app\" {{\n    image = \"{image}\"\n  }}\n  keep = 3\n}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n  \
         desired         = 3\n{update}}}\n\nverify web {{\n  timeout = 30m\n{verify}}}\n{}",
        if on_failure { "\non failure {\n  rollback web\n}\n" } else { "" }
    )
}

struct Run {
    code: i32,
    events: Vec<Value>,
    stderr: String,
}

impl Run {
    fn kinds(&self) -> Vec<&str> {
        self.events.iter().filter_map(|e| e["event"].as_str()).collect()
    }

    fn last(&self) -> &Value {
        self.events.last().expect("events")
    }

    fn find(&self, kind: &str) -> Option<&Value> {
        self.events.iter().find(|e| e["event"] == kind)
    }
}

struct Project {
    dir: tempfile::TempDir,
}

const CRASH_FAULTS: &str = r#"{
  "images": [
    {"match": "*:crash", "crash_after": "5s", "exit_code": 3},
    {"match": "*:slow", "start": "5m"}
  ],
  "api": {"throttle": 0.0}
}"#;

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("faults.json"), CRASH_FAULTS).expect("faults");
        std::fs::write(
            dir.path().join("throttled.json"),
            r#"{"images": [{"match": "*:crash", "crash_after": "5s"}],
                "api": {"throttle": 0.3, "seed": 3}}"#,
        )
        .expect("faults");
        Self { dir }
    }

    fn run(&self, deployfile: &str, faults: &str) -> Run {
        let path = self.dir.path().join("Deployfile");
        std::fs::write(&path, deployfile).expect("write");
        let ran = Test::new()
            .args([
                "run", "--target", "local", "--speed", "600", "--output", "ndjson", "--faults",
                faults,
            ])
            .current_dir(self.dir.path())
            .run();
        let events = ran
            .stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("an NDJSON line"))
            .collect();
        Run { code: ran.code, events, stderr: ran.stderr }
    }
}

const BREAKER_ROLLBACK: &str = "  circuit_breaker = rollback\n";

#[test]
fn deploy_roll_forward_and_nothing_to_do() {
    let project = Project::new();
    let first = project.run(&deployfile("acme/web:1", BREAKER_ROLLBACK, "", true), "faults.json");
    assert_eq!(first.code, 0, "{:#?}\n{}", first.events, first.stderr);
    assert!(first.find("service_created").is_some());
    assert_eq!(first.last()["verdict"], "success");
    let second = project.run(&deployfile("acme/web:2", BREAKER_ROLLBACK, "", true), "faults.json");
    assert_eq!(second.code, 0, "{:#?}", second.events);
    let started = second.find("deployment_started").expect("a deployment");
    assert!(
        started["task_definition"].as_str().is_some_and(|td| td.ends_with("web:2")),
        "{started}"
    );
    assert!(
        started["previous_task_definition"].as_str().is_some_and(|td| td.ends_with("web:1")),
        "{started}"
    );
    assert!(second.find("completed").is_some());
    let third = project.run(&deployfile("acme/web:2", BREAKER_ROLLBACK, "", true), "faults.json");
    assert_eq!(third.code, 0);
    assert!(third.find("revision_reused").is_some(), "no new revision: {:?}", third.kinds());
    assert!(third.find("nothing_to_deploy").is_some());
    assert!(third.find("deployment_started").is_none());
}

#[test]
fn a_crashing_image_fails_fast_and_is_rolled_back() {
    let project = Project::new();
    assert_eq!(project.run(&deployfile("acme/web:1", "", "", true), "faults.json").code, 0);
    let run =
        project.run(&deployfile("acme/web:crash", "", "  fail_fast = 2\n", true), "faults.json");
    assert_eq!(run.code, 1, "{:#?}", run.events);
    let stopped = run.find("task_stopped").expect("stopped tasks are reported");
    assert_eq!(stopped["stop_code"], "EssentialContainerExited");
    assert_eq!(stopped["exit_codes"][0][1], 3);
    let failed = run.find("deployment_failed").expect("failure");
    assert!(
        failed["reason"].as_str().is_some_and(|r| r.contains("tasks of our deployment stopped")),
        "{failed}"
    );
    let verified = run.find("rollback_verified").expect("the rollback is verified");
    assert!(verified["task_definition"].as_str().is_some_and(|td| td.ends_with("web:1")));
    assert_eq!(run.last()["verdict"], "rolled_back");
}

#[test]
fn a_circuit_breaker_rollback_is_never_a_success() {
    let project = Project::new();
    assert_eq!(
        project.run(&deployfile("acme/web:1", BREAKER_ROLLBACK, "", false), "faults.json").code,
        0
    );
    // No fail_fast and no `on failure`: ECS's breaker rolls back by itself.
    let run =
        project.run(&deployfile("acme/web:crash", BREAKER_ROLLBACK, "", false), "faults.json");
    assert_eq!(run.code, 1, "{:#?}", run.events);
    let failed = run.find("deployment_failed").expect("failure");
    assert!(
        failed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("circuit breaker") || r.contains("rolled back")),
        "{failed}"
    );
    assert!(run.find("rollback_verified").is_some());
    assert_ne!(run.last()["verdict"], "success");
}

#[test]
fn without_rollback_the_run_ends_3() {
    let project = Project::new();
    let no_rollback = "  circuit_breaker = on\n";
    assert_eq!(
        project.run(&deployfile("acme/web:1", no_rollback, "", false), "faults.json").code,
        0
    );
    let run = project.run(&deployfile("acme/web:crash", no_rollback, "", false), "faults.json");
    assert_eq!(run.code, 3, "{:#?}", run.events);
    assert_eq!(run.last()["verdict"], "failed");
    assert!(
        run.last()["reason"].as_str().is_some_and(|r| r.contains("needs a look")),
        "{}",
        run.last()
    );
}

#[test]
fn throttled_calls_do_not_change_the_verdict() {
    let project = Project::new();
    let ok = project.run(&deployfile("acme/web:1", BREAKER_ROLLBACK, "", true), "throttled.json");
    assert_eq!(ok.code, 0, "{:#?}\n{}", ok.events, ok.stderr);
    let bad = project.run(
        &deployfile("acme/web:crash", BREAKER_ROLLBACK, "  fail_fast = 2\n", true),
        "throttled.json",
    );
    assert_eq!(bad.code, 1, "{:#?}\n{}", bad.events, bad.stderr);
}

#[test]
fn a_large_service_deploys() {
    let project = Project::new();
    let file = deployfile("acme/web:1", BREAKER_ROLLBACK, "", true)
        .replace("desired         = 3", "desired         = 150");
    let run = project.run(&file, "faults.json");
    assert_eq!(run.code, 0, "{:#?}", run.events.last());
    let file = deployfile("acme/web:2", BREAKER_ROLLBACK, "", true)
        .replace("desired         = 3", "desired         = 150");
    let run = project.run(&file, "faults.json");
    assert_eq!(run.code, 0, "{:#?}", run.events.last());
}

#[test]
fn refusals_change_nothing() {
    let project = Project::new();
    let file = deployfile("acme/web:1", BREAKER_ROLLBACK, "", true)
        .replace("  create          = true\n", "");
    let run = project.run(&file, "faults.json");
    assert_eq!(run.code, 2);
    assert!(
        run.last()["reason"].as_str().is_some_and(|r| r.contains("set `create = true`")),
        "{}",
        run.last()
    );
    // A Deployfile with errors makes no call at all.
    let run = project.run("update web {}\n", "faults.json");
    assert_eq!(run.code, 2);
    assert!(
        run.events.is_empty() && run.stderr.contains("ferry::check::missing_field"),
        "{}",
        run.stderr
    );
}

#[test]
fn ctrl_c_mid_rollout_stops_at_a_safe_point() {
    use std::io::BufRead;
    let project = Project::new();
    assert_eq!(
        project.run(&deployfile("acme/web:1", BREAKER_ROLLBACK, "", true), "faults.json").code,
        0
    );
    std::fs::write(
        project.dir.path().join("Deployfile"),
        deployfile("acme/web:slow", BREAKER_ROLLBACK, "", true),
    )
    .expect("write");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "run",
            "--target",
            "local",
            "--speed",
            "10",
            "--output",
            "ndjson",
            "--faults",
            "faults.json",
        ])
        .current_dir(project.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ferry run");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut events: Vec<Value> = Vec::new();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.expect("line")).expect("json");
        let started = event["event"] == "deployment_started";
        events.push(event);
        if started {
            break;
        }
    }
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    events.extend(
        lines.map(|line| serde_json::from_str::<Value>(&line.expect("line")).expect("json")),
    );
    let code = child.wait().expect("exits").code();
    assert_eq!(code, Some(130), "{events:#?}");
    let last = events.last().expect("events");
    assert_eq!(last["verdict"], "interrupted");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("interrupted during `verify web`")
                && r.contains("service `web` runs")),
        "{last}"
    );
}

#[test]
fn a_dirty_work_tree_is_refused() {
    let project = Project::new();
    let dir = project.dir.path();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        status.is_ok_and(|s| s.success())
    };
    assert!(git(&["init", "-q"]), "git is part of every machine ferry is built on");
    std::fs::write(dir.join("Deployfile"), deployfile("acme/web:1", BREAKER_ROLLBACK, "", true))
        .expect("write");
    assert!(git(&["add", "Deployfile"]) && git(&["commit", "-q", "-m", "first"]));
    std::fs::write(dir.join("Deployfile"), deployfile("acme/web:2", BREAKER_ROLLBACK, "", true))
        .expect("write");
    let ran = Test::new()
        .args(["run", "--target", "local", "--speed", "600", "--faults", "faults.json"])
        .current_dir(dir)
        .run();
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("uncommitted changes"), "{}", ran.stderr);
    let ran = Test::new()
        .args([
            "run",
            "--target",
            "local",
            "--speed",
            "600",
            "--faults",
            "faults.json",
            "--allow-dirty",
        ])
        .current_dir(dir)
        .run();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn on_a_terminal_the_rollout_shows_live_progress() {
    let project = Project::new();
    std::fs::write(
        project.dir.path().join("Deployfile"),
        deployfile("acme/web:1", BREAKER_ROLLBACK, "", true),
    )
    .expect("write");
    let binary = env!("CARGO_BIN_EXE_ferry");
    let log = project.dir.path().join("tty.log");
    // `script` gives the run a pseudo-terminal, so ferry draws its progress line.
    let status = std::process::Command::new("script")
        .arg("-qec")
        .arg(format!("{binary} run --target local --speed 60 --faults faults.json --yes"))
        .arg(&log)
        .current_dir(project.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    // `script` comes with Debian's essential bsdutils package.
    let status = status.expect("`script` runs");
    assert!(status.success());
    let screen = std::fs::read_to_string(&log).expect("log");
    // `script`'s terminal is 80 columns: the line is cut short of the edge.
    for shown in [
        " left) · new 0/3 (3 pending) · waiting for 3 new tasks",
        " left) · new 3/3 · waiting for 3 new tasks to count as",
    ] {
        assert!(screen.contains(shown), "{shown}: {screen}");
    }
    assert!(screen.contains("success: deployed and verified: `web` runs "), "{screen}");
    assert!(screen.contains(" completed (exit 0)"), "{screen}");
}

/// On an 80-column pseudo-terminal (tmux) the progress line fits on one line, says what
/// the rollout waits for, and Ctrl-C clears it before the interruption's report.
#[test]
fn at_80_columns_the_progress_line_fits_and_ctrl_c_clears_it() {
    if !crate::support::tmux::tmux_available() {
        return;
    }
    let project = Project::new();
    std::fs::write(
        project.dir.path().join("Deployfile"),
        deployfile("acme/web:slow", BREAKER_ROLLBACK, "", false),
    )
    .expect("write");
    let tmux = crate::support::tmux::Tmux::new("progress");
    let command = format!(
        "env -i PATH=\"$PATH\" TERM=xterm-256color {} run --target local --speed 10 \
         --faults faults.json --yes; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_ferry")
    );
    tmux.start(80, 24, project.dir.path(), &command);
    let screen = tmux.screen_within(
        "· new 0/3 (3 pending) · waiting for 3 new tasks",
        std::time::Duration::from_secs(30),
    );
    let progress: Vec<&str> = screen.lines().filter(|l| l.contains("· new ")).collect();
    assert_eq!(progress.len(), 1, "one progress line:\n{screen}");
    // Short of the last column: the `^C` echo stays on the line's row.
    assert!(progress[0].chars().count() < 78, "{screen}");
    assert!(progress[0].contains(" left) · new 0/3"), "{screen}");
    tmux.keys(&["C-c"]);
    let screen = tmux.screen_within("EXIT=130", std::time::Duration::from_secs(30));
    assert!(!screen.contains("· new "), "the progress line is cleared:\n{screen}");
    assert!(screen.contains("interrupted"), "{screen}");
}

#[test]
fn cleanup_keeps_the_rollback_target() {
    let project = Project::new();
    let keep_two = |image: &str| {
        deployfile(image, BREAKER_ROLLBACK, "", true).replace("  keep = 3\n", "  keep = 2\n")
    };
    for image in ["acme/web:1", "acme/web:2", "acme/web:3"] {
        let run = project.run(&keep_two(image), "faults.json");
        assert_eq!(run.code, 0, "{image}: {:#?}", run.events.last());
    }
    let run = project.run(&keep_two("acme/web:4"), "faults.json");
    let deregistered: Vec<&str> = run
        .events
        .iter()
        .filter(|e| e["event"] == "deregistered")
        .filter_map(|e| e["arn"].as_str())
        .collect();
    // Revisions 4 (new) and 3 (the rollback target) stay; 1 and 2 go.
    assert_eq!(deregistered.len(), 1, "{deregistered:?}");
    assert!(deregistered[0].ends_with("web:2"), "{deregistered:?}");
}

#[test]
fn github_actions_get_annotations_and_a_summary() {
    let project = Project::new();
    assert_eq!(project.run(&deployfile("acme/web:1", "", "", true), "faults.json").code, 0);
    std::fs::write(
        project.dir.path().join("Deployfile"),
        deployfile("acme/web:crash", "", "  fail_fast = 2\n", true),
    )
    .expect("write");
    let summary = project.dir.path().join("summary.md");
    let outputs = project.dir.path().join("outputs.txt");
    let run = |format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["run", "--target", "local", "--speed", "600", "--faults", "faults.json"])
            .args(["--format", format])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .current_dir(project.dir.path())
            .output()
            .expect("ferry run")
    };
    let ran = run("human");
    assert_eq!(ran.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let annotated = |text: &str| {
        text.lines().any(|l| {
            l.starts_with("::error title=ferry: web::")
                && l.contains("tasks of our deployment stopped")
        })
    };
    assert!(annotated(&stdout), "{stdout}");
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.starts_with("## ferry: failed, rolled back and verified (exit 1)\n"), "{text}");
    assert!(text.contains("| step | outcome | made | took |"), "{text}");
    assert!(text.contains("| `update web` | "), "{text}");
    let written = std::fs::read_to_string(&outputs).expect("outputs");
    assert!(written.starts_with("verdict=rolled_back\nexit_code=1\n"), "{written}");
    assert!(written.contains("\ndeployment=ecs-svc/"), "{written}");
    assert!(written.contains("\nrevision=arn:aws:ecs:"), "{written}");
    // With the events on standard output, it carries JSON only; annotations go to stderr.
    let ran = run("ndjson");
    assert_eq!(ran.status.code(), Some(1));
    for line in String::from_utf8_lossy(&ran.stdout).lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("only JSON on stdout");
    }
    assert!(annotated(&String::from_utf8_lossy(&ran.stderr)), "annotations on stderr");
}

#[test]
fn dropped_connections_do_not_change_the_verdict() {
    let project = Project::new();
    std::fs::write(
        project.dir.path().join("dropping.json"),
        r#"{"images": [{"match": "*:crash", "crash_after": "5s"}],
            "api": {"drop_connections": 0.2, "seed": 5}}"#,
    )
    .expect("faults");
    let ok = project.run(&deployfile("acme/web:1", BREAKER_ROLLBACK, "", true), "dropping.json");
    assert_eq!(ok.code, 0, "{:#?}\n{}", ok.events.last(), ok.stderr);
    let bad = project.run(
        &deployfile("acme/web:crash", BREAKER_ROLLBACK, "  fail_fast = 2\n", true),
        "dropping.json",
    );
    assert_eq!(bad.code, 1, "{:#?}\n{}", bad.events.last(), bad.stderr);
}

#[test]
fn two_runs_on_one_state_file_do_not_both_write_it() {
    let project = Project::new();
    assert_eq!(
        project.run(&deployfile("acme/web:1", BREAKER_ROLLBACK, "", true), "faults.json").code,
        0
    );
    std::fs::write(
        project.dir.path().join("Deployfile"),
        deployfile("acme/web:slow", BREAKER_ROLLBACK, "", true),
    )
    .expect("write");
    // The first run holds the state while it rolls out (slowly, at speed 10).
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "run",
            "--target",
            "local",
            "--speed",
            "10",
            "--output",
            "ndjson",
            "--faults",
            "faults.json",
        ])
        .current_dir(project.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ferry run");
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(first.stdout.take().expect("stdout")));
    for line in lines.by_ref() {
        if line.expect("line").contains("deployment_started") {
            break;
        }
    }
    // A second run on the same state file is refused, naming the first.
    let second = project.run(&deployfile("acme/web:2", BREAKER_ROLLBACK, "", true), "faults.json");
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(
        second.stderr.contains("is in use by another ferry process (pid "),
        "{}",
        second.stderr
    );
    // A plan may still read it.
    let plan = crate::support::test::Test::new()
        .args(["plan", "--target", "local"])
        .current_dir(project.dir.path())
        .run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let _ = std::process::Command::new("kill").args(["-INT", &first.id().to_string()]).status();
    let _ = first.wait();
}
