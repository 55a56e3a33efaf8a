//! `ferry plan` on the local ECS: the task-definition diff, the setting diff, the predicted
//! rollout; read-only (the state file is untouched); `ferry run --plan` refuses after drift.

use crate::support::test::Test;

const FILE: &str = "defaults {\n  cluster = \"c\"\n}\n\nregister web_task {\n  family = \"web\"\n  \
                    container \"app\" {\n    image = \"acme/web:IMAGE\"\n  }\n}\n\n\
                    update web {\n  task_definition = web_task\n  create          = true\n  \
                    desired         = 4\n  min_healthy     = 50%\n  max             = 100%\n}\n\n\
                    verify web {\n  timeout = 10m\n}\n";

fn write(dir: &std::path::Path, image: &str) {
    std::fs::write(dir.join("Deployfile"), FILE.replace("IMAGE", image)).expect("write");
}

fn ferry(dir: &std::path::Path, args: &[&str]) -> crate::support::test::Ran {
    let mut all = args.to_vec();
    all.extend(["--target", "local", "--speed", "600"]);
    Test::new().args(all).current_dir(dir).run()
}

#[test]
fn plan_shows_the_change_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "1");
    let first = ferry(dir.path(), &["plan"]).code(0);
    assert!(
        first.stdout.contains("register web_task: register the first revision of `web`"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("update web: create service `web` in cluster `c` with 4 tasks"),
        "{}",
        first.stdout
    );
    ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    let state = dir.path().join(".ferry/local-state.json");
    let before = std::fs::read(&state).expect("state");
    write(dir.path(), "2");
    let plan = ferry(dir.path(), &["plan", "--out", "plan.json"]).code(0);
    assert!(
        plan.stdout
            .contains("-      \"image\": \"acme/web:1\",\n    +      \"image\": \"acme/web:2\","),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "predicted rollout (4 desired, min_healthy 50%, max 100%, \
             circuit breaker off, grace 0s):"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("deregister"),
        "no `keep`, nothing to deregister: {}",
        plan.stdout
    );
    // min 50 % of 4: stop two old tasks first, then start two new ones.
    let timeline = plan.stdout.split("predicted rollout").nth(1).expect("timeline");
    let stop = timeline.find("stop 2 old").expect("stops first");
    let start = timeline.find("start 2 new").expect("then starts");
    assert!(stop < start, "{timeline}");
    assert_eq!(
        std::fs::read(&state).expect("state"),
        before,
        "plan leaves the local state untouched"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("plan.json")).expect("plan.json"),
    )
    .expect("json");
    assert_eq!(json["fingerprints"][0]["service"], "web");
    // Unchanged live state: the run goes ahead.
    ferry(dir.path(), &["run", "--allow-dirty", "--plan", "plan.json"]).code(0);
    // Now the service moved on: the same plan is refused, and nothing changes.
    let after = std::fs::read(&state).expect("state");
    let refused = ferry(dir.path(), &["run", "--allow-dirty", "--plan", "plan.json"]).code(2);
    assert!(refused.stderr.contains("live state changed since the plan"), "{}", refused.stderr);
    assert_eq!(std::fs::read(&state).expect("state"), after);
}

#[test]
fn status_and_rollback_by_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "1");
    let status = ferry(dir.path(), &["status"]).code(0);
    assert_eq!(status.stdout, "service `web` (cluster `c`): does not exist\n");
    ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    write(dir.path(), "2");
    ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    let status = ferry(dir.path(), &["status"]).code(0);
    assert!(
        status.stdout.contains("PRIMARY")
            && status.stdout.contains("task-definition/web:2 COMPLETED"),
        "{}",
        status.stdout
    );
    let rolled = ferry(dir.path(), &["rollback"]).code(0);
    assert!(
        rolled.stderr.contains(
            "rolled back: service `web` runs \
             arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
        ),
        "{}",
        rolled.stderr
    );
    let status = ferry(dir.path(), &["status"]).code(0);
    assert!(status.stdout.contains("task-definition/web:1 COMPLETED"), "{}", status.stdout);
    let named = ferry(dir.path(), &["rollback", "--service", "api"]).code(2);
    assert!(named.stderr.contains("updates no service called `api`"), "{}", named.stderr);
    let to = ferry(dir.path(), &["rollback", "--to", "web:2"]).code(0);
    assert!(to.stderr.contains("task-definition/web:2"), "{}", to.stderr);
}

#[test]
fn a_revision_can_start_from_a_json_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("taskdef.json"),
        concat!(
            r#"{"family": "web", "cpu": "256", "memory": "512", "containerDefinitions": "#,
            r#"[{"name": "app", "image": "acme/web:0", "environment": "#,
            r#"[{"name": "MODE", "value": "prod"}, {"name": "EMPTY", "value": ""}], "#,
            r#""portMappings": [{"containerPort": 8080}]}]}"#
        ),
    )
    .expect("write");
    let file = FILE
        .replace("  family = \"web\"\n", "  from = file(\"taskdef.json\")\n")
        .replace("IMAGE", "1");
    std::fs::write(dir.path().join("Deployfile"), &file).expect("write");
    let plan = ferry(dir.path(), &["plan"]).code(0);
    // Canonical JSON: the empty value is kept, variables in name order.
    let empty = plan.stdout.find("\"name\": \"EMPTY\"").expect("EMPTY");
    let mode = plan.stdout.find("\"name\": \"MODE\"").expect("MODE");
    assert!(empty < mode, "{}", plan.stdout);
    assert!(plan.stdout.contains("+          \"value\": \"\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("+      \"image\": \"acme/web:1\""), "{}", plan.stdout);
    ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    let again = ferry(dir.path(), &["plan"]).code(0);
    assert!(again.stdout.contains("nothing changed: reuse"), "{}", again.stdout);
    // Every member AWS knows is read (here `ipcMode`); one it does not know is named.
    std::fs::write(
        dir.path().join("taskdef.json"),
        concat!(
            r#"{"family": "web", "ipcMode": "host", "#,
            r#""containerDefinitions": [{"name": "app", "image": "x"}]}"#
        ),
    )
    .expect("write");
    let plan = ferry(dir.path(), &["plan"]).code(0);
    assert!(plan.stdout.contains("+  \"ipcMode\": \"host\""), "{}", plan.stdout);
    std::fs::write(
        dir.path().join("taskdef.json"),
        concat!(
            r#"{"family": "web", "ipcModee": "host", "#,
            r#""containerDefinitions": [{"name": "app", "image": "x"}]}"#
        ),
    )
    .expect("write");
    let refused = ferry(dir.path(), &["run", "--allow-dirty"]).code(2);
    assert!(
        refused.stderr.contains("`ipcModee` is not a member of a task definition that AWS knows"),
        "{}",
        refused.stderr
    );
}

#[test]
fn plan_lists_the_revisions_cleanup_would_deregister() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with_keep = |image: &str| {
        FILE.replace("IMAGE", image).replace("  }\n}\n\nupdate", "  }\n  keep = 2\n}\n\nupdate")
    };
    for image in ["1", "2"] {
        std::fs::write(dir.path().join("Deployfile"), with_keep(image)).expect("write");
        ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    }
    std::fs::write(dir.path().join("Deployfile"), with_keep("3")).expect("write");
    let plan = ferry(dir.path(), &["plan"]).code(0);
    // web:3 would be new, web:2 runs now (the rollback target): web:1 goes.
    assert!(
        plan.stdout.contains(
            "after success, deregister arn:aws:ecs:us-east-1:000000000000:task-definition/web:1 \
             (keep = 2)"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        !plan
            .stdout
            .contains("deregister arn:aws:ecs:us-east-1:000000000000:task-definition/web:2"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_revision_registered_since_the_plan_is_drift() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "1");
    ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    write(dir.path(), "2");
    ferry(dir.path(), &["plan", "--out", "plan.json"]).code(0);
    // Someone registers a revision of the family (the service itself does not change).
    let other = FILE
        .replace("IMAGE", "9")
        .replace("update web {", "update other {")
        .replace("verify web {", "verify other {");
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).expect("mkdir");
    std::fs::write(other_dir.join("Deployfile"), other).expect("write");
    let state = dir.path().join(".ferry/local-state.json");
    let state = state.to_str().expect("utf-8");
    Test::new()
        .args(["run", "--target", "local", "--speed", "600", "--state", state])
        .current_dir(&other_dir)
        .run()
        .code(0);
    let refused = ferry(dir.path(), &["run", "--allow-dirty", "--plan", "plan.json"]).code(2);
    assert!(refused.stderr.contains("family `web`'s latest revision is now"), "{}", refused.stderr);
}

#[test]
fn evaluation_errors_render_as_diagnostics_and_a_plan_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `ferry check` accepts an `env(…)` it cannot know is unset; plan and run say where.
    let text = FILE.replace("acme/web:IMAGE", "acme/web:${env(\"FERRY_NOT_SET\")}");
    std::fs::write(dir.path().join("Deployfile"), &text).expect("write");
    Test::new().args(["check"]).current_dir(dir.path()).run().code(0);
    for command in [&["plan"][..], &["run", "--allow-dirty"][..]] {
        let ran = ferry(dir.path(), command).code(2);
        assert!(
            ran.stderr.contains("environment variable `FERRY_NOT_SET` is not set"),
            "{}",
            ran.stderr
        );
        assert!(ran.stderr.contains("Deployfile:8:"), "the place: {}", ran.stderr);
        assert!(
            !ran.stderr.contains("Diagnostic {") && !ran.stderr.contains("At("),
            "{}",
            ran.stderr
        );
    }
    let repl = Test::new()
        .args(["repl", "--target", "local"])
        .current_dir(dir.path())
        .stdin(":plan\n")
        .run();
    assert!(
        repl.stdout.contains("environment variable `FERRY_NOT_SET` is not set"),
        "{}",
        repl.stdout
    );
    assert!(!repl.stdout.contains("Diagnostic {"), "{}", repl.stdout);
    // None of it made a `.ferry` folder: plan and the REPL write nothing to disk.
    assert!(!dir.path().join(".ferry").exists());
    write(dir.path(), "1");
    ferry(dir.path(), &["plan"]).code(0);
    assert!(!dir.path().join(".ferry").exists(), "a plan in a fresh folder leaves no `.ferry/`");
}
