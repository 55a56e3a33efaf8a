//! `ferry repl`: a scripted session through standard input compared whole (insta); the
//! plan, diff, simulation and one gate against the local ECS, proved read-only (the state
//! file is byte for byte the same, the service still runs revision 1); and a session on a
//! real pseudo-terminal (tmux) that types, completes with Tab and reads the screen.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::http_server::Server;
use crate::support::test::{Test, git};
use crate::support::tmux::{Tmux, tmux_available};

const PIPELINE: &str = r#"defaults {
  region  = "eu-west-1"
  cluster = "prod"
  vars    = { replicas = 2, site = "https://web.example.com" }
}

environment staging {
  cluster = "staging"
  vars    = { replicas = 1, site = "https://staging.example.com" }
}

build app {
  context = "."
  args    = { APP_VERSION = git.sha }
}

tag app {
  tags = [git.short_sha, "${env.name}-latest"]
}

push app {
  to = ecr("acme/web", create = true)
}

register web_task {
  family = "web"
  container "web" {
    image       = app
    environment = { APP_VERSION = git.sha, REPLICAS = "${vars.replicas}" }
  }
}

update web {
  task_definition = web_task
  desired         = vars.replicas
}

verify web {
  timeout = 5m
  gate http("${vars.site}/health") { status = 200 }
}
"#;

/// A git repository holding `text` as its Deployfile, committed at a fixed time.
fn project(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Deployfile"), text).expect("write");
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

#[test]
fn a_scripted_session() {
    let dir = project(PIPELINE);
    let script = r#"git.sha
git.short_sha
"${env.name}-latest"
vars.replicas
app
app.tags
app.digest
web_task.containers
[90s, 100%, true, { a = 1 }]
gti.sha
"unclosed
:steps
:show app
:env staging
app.tags
:show web
:env nope
build worker {
  context  = "worker"
  platfrom = "linux/amd64"
}
build worker {
  context = "worker"
}
push worker { to = ecr("acme/worker") }
:steps
update web { task_definition = web_task }
:pln
:show nothing
:diff app
:help
:quit
git.sha
"#;
    let ran = Test::new().args(["repl"]).current_dir(dir.path()).stdin(script).run();
    assert_eq!(ran.stderr, "");
    // Some inputs failed on purpose: as a script, that is exit code 2.
    assert_eq!(ran.code, 2, "{}", ran.stdout);
    insta::assert_snapshot!("repl_scripted_session", ran.stdout);
}

#[test]
fn no_deployfile_starts_empty_and_a_broken_one_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("README"), "x\n").expect("write");
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    let sha = git(dir.path(), &["rev-parse", "HEAD"]);
    let ran = Test::new()
        .args(["repl"])
        .current_dir(dir.path())
        .stdin("build a {}\nbuild cache-b {}\n:reload\n:steps\na\ncache-b\ngit.sha\n")
        .run()
        .code(0);
    // Typed items survive `:reload`; names with `-` are references; git is the folder's.
    assert_eq!(
        ran.stdout,
        format!(
            "no Deployfile here: starting with an empty pipeline (type steps to add them)\n\
             added `build a`\nadded `build cache-b`\n\
             no Deployfile here: starting with an empty pipeline (type steps to add them)\n\
             \x20 build a                      <input 1>:1:1\n\
             \x20 build cache-b                <input 2>:1:1\n\
             <image of `build a`, pinned when pushed> : image\n\
             <image of `build cache-b`, pinned when pushed> : image\n\
             \"{sha}\" : string\n"
        )
    );
    std::fs::write(dir.path().join("Deployfile"), "build a { contxt = \".\" }\n").expect("write");
    let ran = Test::new().args(["repl"]).current_dir(dir.path()).stdin(":steps\n").run().code(2);
    assert!(ran.stdout.contains("`build a` has no field `contxt`"), "{}", ran.stdout);
    assert!(ran.stdout.contains("starting with an empty pipeline; fix `Deployfile` and `:reload`"));
    assert!(ran.stdout.ends_with("no steps yet\n"), "{}", ran.stdout);
}

const LIVE: &str = r#"defaults {
  cluster = "c"
}

register web_task {
  family = "web"
  container "app" {
    image = "acme/web:IMAGE"
  }
}

update web {
  task_definition = web_task
  create          = true
  desired         = 4
  min_healthy     = 50%
  max             = 100%
}

verify web {
  timeout = 10m
  gate http("http://ADDRESS/health") { status = 200, every = 5s }
}
"#;

fn ferry(dir: &Path, args: &[&str]) -> Test {
    let mut all = args.to_vec();
    all.extend(["--target", "local", "--speed", "600"]);
    Test::new().args(all).current_dir(dir)
}

#[test]
fn plan_diff_simulate_and_gate_against_the_local_ecs_change_nothing() {
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |image: &str| {
        let text = LIVE.replace("IMAGE", image).replace("ADDRESS", &server.address);
        std::fs::write(dir.path().join("Deployfile"), text).expect("write");
    };
    write("1");
    ferry(dir.path(), &["run", "--allow-dirty"]).run().code(0);
    let state = dir.path().join(".ferry/local-state.json");
    let before = std::fs::read(&state).expect("state");
    let status_before = ferry(dir.path(), &["status"]).run().code(0).stdout;
    write("2");
    let plan = ferry(dir.path(), &["plan"]).run().code(0).stdout;
    let hits = server.hits();

    let ran = ferry(dir.path(), &["repl"])
        .stdin(":plan\n:diff web_task\n:simulate\n:gate\n:gate 1\n:plan web\n")
        .run()
        .code(0);
    // A gate number that does not exist runs nothing.
    let refused = ferry(dir.path(), &["repl"]).stdin(":gate 3\n").run().code(2);
    assert!(
        refused.stdout.contains("error: there is no gate 3; the gates are 1 to 1"),
        "{}",
        refused.stdout
    );
    let out = &ran.stdout;
    // `:plan` prints what `ferry plan` prints.
    assert!(out.contains(&plan), "the REPL's plan:\n{out}\nferry plan:\n{plan}");
    assert!(out.contains("register web_task: register a new revision of `web`"), "{out}");
    assert!(
        out.contains("-      \"image\": \"acme/web:1\",\n    +      \"image\": \"acme/web:2\","),
        "{out}"
    );
    assert!(out.contains("update web: service `web` (cluster `c`), 4 tasks desired"), "{out}");
    assert!(out.contains("desired 4, min healthy 50%, max 100%"), "{out}");
    assert!(out.contains("outcome after"), "{out}");
    assert!(out.contains(&format!("  1  verify web: http(http://{}/health)", server.address)));
    assert!(out.contains("once, against service `web` (cluster `c`)"), "{out}");
    assert!(out.contains("runs arn:aws:ecs:"), "{out}");
    assert!(out.contains("4 tasks\n"), "{out}");
    assert!(out.contains("  passed: "), "{out}");
    assert!(out.contains("read-only ECS calls; the gate's own requests were sent as written"));
    // `:plan web` shows that step alone.
    let last = out.rsplit("plan for environment").next().expect("a second plan");
    assert!(last.contains("update web:") && !last.contains("register web_task:"), "{last}");
    // The gate asked the server once; nothing else changed anywhere.
    assert_eq!(server.hits(), hits + 1);
    assert_eq!(std::fs::read(&state).expect("state"), before, "the state file is untouched");
    assert_eq!(ferry(dir.path(), &["status"]).run().code(0).stdout, status_before);
}

#[test]
fn on_a_terminal_tab_completes_and_blocks_span_lines() {
    if !tmux_available() {
        return;
    }
    let dir = project(PIPELINE);
    let history = dir.path().join("history");
    let tmux = Tmux::new("repl");
    let command = format!(
        "env -i PATH=\"$PATH\" TERM=xterm-256color FERRY_HISTORY={} {} repl",
        history.display(),
        env!("CARGO_BIN_EXE_ferry")
    );
    tmux.start(120, 40, dir.path(), &command);
    tmux.screen_with("ferry(default)>");
    // One candidate: Tab completes in place.
    tmux.keys(&["git.br", "Tab"]);
    tmux.screen_with("ferry(default)> git.branch");
    tmux.keys(&["Enter"]);
    tmux.screen_with("\"main\" : string");
    // Several: Tab shows the menu with each field's doc.
    tmux.keys(&["web_task.", "Tab"]);
    let menu = tmux.screen_with("containers");
    assert!(menu.contains("the revision's ARN"), "{menu}");
    tmux.keys(&["Escape"]);
    tmux.keys(&["C-a", "C-k"]);
    // A block over several lines, a field completed inside it.
    tmux.keys(&["build worker {", "Enter", "  cont", "Tab"]);
    tmux.screen_with("  context");
    tmux.keys(&[" = \"worker\""]);
    // Highlighting: the keyword in bold magenta, the string in green, as the terminal shows them.
    let colored = tmux.run(&["capture-pane", "-e", "-p", "-t", "repl"]);
    assert!(
        colored.contains("\x1b[1m\x1b[35mbuild") || colored.contains("\x1b[1;35mbuild"),
        "{colored:?}"
    );
    assert!(colored.contains("\x1b[32m\"worker\""), "{colored:?}");
    tmux.keys(&["Enter", "}", "Enter"]);
    tmux.screen_with("added `build worker`");
    // Commands complete too, and step names after them.
    tmux.keys(&[":sh", "Tab"]);
    tmux.screen_with(":show");
    tmux.keys(&[" wor", "Tab"]);
    tmux.screen_with(":show worker");
    tmux.keys(&["Enter"]);
    tmux.screen_with("context = \"worker\"");
    tmux.keys(&[":quit", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tmux.run(&["list-sessions"]).is_empty() {
        assert!(Instant::now() < deadline, "the REPL did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
    let kept = std::fs::read_to_string(&history).expect("history file");
    assert!(kept.contains("git.branch"), "{kept}");
    assert!(kept.contains(":show worker"), "{kept}");
}
