//! Sensitive values (docs/cli.md, "Sensitive values"): what `env(…)` reads, what
//! `sensitive(…)` marks and values of names that look secret never reach the output of
//! `ferry plan` (text and `--out`), `ferry run` (every reporter) or the REPL unless
//! `--show-values` — including the old value of a secret in a revision registered before.

use crate::support::http_server::Server;
use crate::support::test::Test;

const TOKEN: &str = "tok-5f2a9c81e7";
const VERSION: &str = "9.9.9-build77";
const OLD_PASSWORD: &str = "old-passw0rd-1";
const NEW_PASSWORD: &str = "new-passw0rd-2";
const MARKED: &str = "marked-by-hand-3";

fn deployfile(password: &str, gate: &str) -> String {
    format!(
        r#"defaults {{
  cluster = "c"
}}

register web_task {{
  family = "web"
  container "app" {{
    image       = "acme/web:1"
    environment = {{
      API_AUTH    = "Bearer ${{env("CI_TOKEN")}}",
      APP_VERSION = env("APP_VERSION"),
      DB_PASSWORD = {password},
      NOTE        = sensitive("{MARKED}"),
      LEVEL       = "debug",
    }}
  }}
}}

update web {{
  task_definition = web_task
  create          = true
  desired         = 1
}}

verify web {{
  timeout = 10m
{gate}}}
"#
    )
}

fn ferry(dir: &std::path::Path, args: &[&str]) -> crate::support::test::Ran {
    let mut all = args.to_vec();
    all.extend(["--target", "local", "--speed", "600"]);
    Test::new()
        .args(all)
        .current_dir(dir)
        .env("CI_TOKEN", TOKEN)
        .env("APP_VERSION", VERSION)
        .env("DB_PW", NEW_PASSWORD)
        .run()
}

fn assert_masked(what: &str, text: &str) {
    for secret in [TOKEN, VERSION, OLD_PASSWORD, NEW_PASSWORD, MARKED] {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[test]
fn plan_masks_sensitive_values_in_its_text_and_its_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A revision another run registered with a literal password.
    std::fs::write(dir.path().join("Deployfile"), deployfile(&format!("\"{OLD_PASSWORD}\""), ""))
        .expect("write");
    ferry(dir.path(), &["run", "--allow-dirty"]).code(0);
    // Now the password comes from the CI's environment.
    std::fs::write(dir.path().join("Deployfile"), deployfile("env(\"DB_PW\")", "")).expect("write");
    let plan = ferry(dir.path(), &["plan", "--out", "plan.json"]).code(0);
    assert_masked("plan", &plan.stdout);
    assert!(plan.stdout.contains("register web_task: register a new revision"), "{}", plan.stdout);
    // The changed secret shows as a changed line, both sides masked.
    assert!(plan.stdout.contains("\"value\": \"(sensitive)\""), "{}", plan.stdout);
    let json = std::fs::read_to_string(dir.path().join("plan.json")).expect("plan.json");
    assert_masked("plan --out", &json);
    assert!(json.contains("(sensitive)"), "{json}");
    // The masked plan is still the plan of the run: it goes ahead.
    let ran = ferry(dir.path(), &["run", "--allow-dirty", "--plan", "plan.json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_masked("run", &ran.stderr);

    // Asked for, the values are shown.
    std::fs::write(dir.path().join("Deployfile"), deployfile("\"third-passw0rd\"", ""))
        .expect("write");
    let shown = ferry(dir.path(), &["plan", "--show-values"]).code(0);
    for value in [NEW_PASSWORD, "third-passw0rd"] {
        assert!(shown.stdout.contains(value), "`{value}` not shown:\n{}", shown.stdout);
    }
}

#[test]
fn run_events_and_the_repl_mask_sensitive_values() {
    // A gate that prints what it is given, the token among it.
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    std::fs::write(
        dir.path().join("gates/echo.rhai"),
        "fn check(ctx) {\n  log::info(`asking with ${ctx.params.auth}`);\n  \
         let answer = http::get(ctx.params.url);\n  \
         #{ ok: answer.status == 200, message: `sent ${ctx.params.auth}` }\n}\n",
    )
    .expect("script");
    let gate = format!(
        "  gate script(\"gates/echo.rhai\") {{ url = \"http://{}/\", \
         auth = \"Bearer ${{env(\"CI_TOKEN\")}}\" }}\n",
        server.address
    );
    std::fs::write(dir.path().join("Deployfile"), deployfile("env(\"DB_PW\")", &gate))
        .expect("write");
    let ndjson = ferry(dir.path(), &["run", "--allow-dirty", "--output", "ndjson"]);
    assert_eq!(ndjson.code, 0, "{}\n{}", ndjson.stdout, ndjson.stderr);
    assert_masked("ndjson", &ndjson.stdout);
    let events = ndjson.events();
    let log = events.iter().find(|e| e["event"] == "gate_log").expect("gate_log");
    // The variable's value is masked, and so is the whole value of an environment entry
    // that holds it (`API_AUTH`).
    let text = log["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("asking with ") && text.ends_with("(sensitive)"), "{text}");
    // GitHub annotations and the step summary read the same masked events.
    let summary = dir.path().join("summary.md");
    std::fs::write(dir.path().join("Deployfile"), deployfile("\"fourth-passw0rd\"", &gate))
        .expect("write");
    let human = Test::new()
        .args(["run", "--allow-dirty", "--target", "local", "--speed", "600"])
        .current_dir(dir.path())
        .env("CI_TOKEN", TOKEN)
        .env("APP_VERSION", VERSION)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .run();
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert_masked("human", &human.stderr);
    assert_masked("github", &human.stdout);
    assert_masked("summary", &std::fs::read_to_string(&summary).unwrap_or_default());

    // The REPL: an expression, the plan, a step's diff.
    let script =
        "env(\"CI_TOKEN\")\n\"x-${env(\"APP_VERSION\")}\"\n:plan\n:diff web_task\nenv(\"DB_PW\")\n";
    let repl = Test::new()
        .args(["repl", "--target", "local"])
        .current_dir(dir.path())
        .env("CI_TOKEN", TOKEN)
        .env("APP_VERSION", VERSION)
        .env("DB_PW", NEW_PASSWORD)
        .stdin(script)
        .run();
    assert_masked("repl", &repl.stdout);
    assert!(repl.stdout.contains("\"(sensitive)\" : string"), "{}", repl.stdout);
    assert!(repl.stdout.contains("\"x-(sensitive)\" : string"), "{}", repl.stdout);
    let shown = Test::new()
        .args(["repl", "--show-values"])
        .current_dir(dir.path())
        .env("CI_TOKEN", TOKEN)
        .stdin("env(\"CI_TOKEN\")\n")
        .run();
    assert!(shown.stdout.contains(TOKEN), "{}", shown.stdout);
}
