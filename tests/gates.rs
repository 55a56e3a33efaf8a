//! Health gates in `ferry run --target local` against a real HTTP server on a loopback
//! port (a small one here, whose answers each test scripts): a passing gate, a failing one
//! rolled back, a flapping one that needs `pass = 3`, slow answers against `max_latency`,
//! a fatal script answer, and a gate that fails during `bake` after it passed. The gates'
//! network as an attempt uses it (`Guarded` over `Network`): redirects followed, to a
//! limit, each hop under the network policy, and the environment's proxy — given in, not
//! set on this process — with `NO_PROXY`.

use std::sync::Arc;
use std::time::Duration;

use ferry::gates::network::{Guarded, Network, ProxyEnv};
use ferry::gates::{HttpAnswer, HttpClient, HttpFailure, HttpRequest, Policy};
use serde_json::Value;

use crate::support::http_server::Server;
use crate::support::test::Test;

fn deployfile(image: &str, verify: &str) -> String {
    format!(
        "defaults {{\n  cluster = \"c\"\n}}\n\n\
         register web_task {{\n  family = \"web\"\n  container \"app\" {{\n    \
         image = \"{image}\"\n  }}\n}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n  \
         desired         = 2\n  circuit_breaker = rollback\n}}\n\n\
         verify web {{\n  timeout = 30m\n{verify}}}\n\n\
         on failure {{\n  rollback web\n}}\n"
    )
}

/// Deploys `acme/web:1` without gates, then `acme/web:2` with `verify`'s extra lines;
/// returns the second run's exit code and events.
fn second_deploy(dir: &std::path::Path, verify: &str) -> (i32, Vec<Value>, String) {
    let run = |deployfile: String| {
        std::fs::write(dir.join("Deployfile"), deployfile).expect("write");
        let ran = Test::new()
            .args(["run", "--target", "local", "--speed", "60", "--output", "ndjson"])
            .current_dir(dir)
            .run();
        let events: Vec<Value> = ran.events();
        (ran.code, events, ran.stderr)
    };
    let (code, events, stderr) = run(deployfile("acme/web:1", ""));
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    run(deployfile("acme/web:2", verify))
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

#[test]
fn a_passing_gate_lets_the_deployment_stand() {
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let verify = format!(
        "  bake = 1m\n  \
         gate http(\"http://{}/health\") {{ body_contains = \"ok\", every = 10s, pass = 2 }}\n",
        server.address
    );
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    assert_eq!(of(&events, "gate_passed").len(), 1);
    assert!(of(&events, "baking").len() == 1, "{events:#?}");
    // Two attempts to pass, then the gate keeps running through a minute of bake.
    assert!(of(&events, "gate_attempt").len() >= 6, "{events:#?}");
    assert!(server.hits() >= 6);
}

#[test]
fn a_failing_gate_rolls_back() {
    let server = Server::start(Box::new(|_| (503, "down".to_owned(), 0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let verify = format!(
        "  gate http(\"http://{}/health\") {{ every = 10s, within = 1m }}\n",
        server.address
    );
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let failed = of(&events, "gate_failed");
    assert_eq!(failed.len(), 1);
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("status 503 (expected 200); not passed within 1m"), "{reason}");
    let last = events.last().expect("last");
    assert_eq!(last["verdict"], "rolled_back", "{last}");
    // About one attempt per 10 s of the minute.
    let attempts = of(&events, "gate_attempt").len();
    assert!((5..=8).contains(&attempts), "{attempts} attempts: {events:#?}");
}

#[test]
fn a_flapping_service_needs_pass_in_a_row_and_slow_answers_fail_max_latency() {
    // ok, ok, fail, ok, ok, ok: passes at the sixth attempt.
    let flapping = Server::start(Box::new(|n| {
        if n == 2 { (500, String::new(), 0) } else { (200, "ok".to_owned(), 0) }
    }));
    let dir = tempfile::tempdir().expect("tempdir");
    let verify =
        format!("  gate http(\"http://{}/\") {{ every = 5s, pass = 3 }}\n", flapping.address);
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    let attempts: Vec<bool> = of(&events, "gate_attempt").iter().map(|e| e["ok"] == true).collect();
    assert_eq!(attempts[..6], [true, true, false, true, true, true], "{attempts:?}");

    let slow = Server::start(Box::new(|_| (200, "ok".to_owned(), 400)));
    let dir = tempfile::tempdir().expect("tempdir");
    let verify = format!(
        "  gate http(\"http://{}/\") {{ max_latency = 100ms, every = 10s, within = 30s }}\n",
        slow.address
    );
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let message = of(&events, "gate_attempt")[0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("no answer within 100 ms"), "{message}");
}

#[test]
fn a_fatal_script_answer_fails_at_once_and_a_bake_failure_rolls_back() {
    let server = Server::start(Box::new(|n| {
        // /version: a wrong version; /health: fine six times (a minute), then failing.
        (if n < 6 { 200 } else { 503 }, "v0".to_owned(), 0)
    }));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    std::fs::write(
        dir.path().join("gates/version.rhai"),
        "fn check(ctx) {\n  let answer = http::get(ctx.params.url);\n  \
         log::info(`got ${answer.body}`);\n  if answer.body != ctx.params.expect {\n    \
         return #{ ok: false, fatal: true, message: `wrong version ${answer.body}` };\n  }\n  \
         true\n}\n",
    )
    .expect("script");
    let verify = format!(
        "  gate script(\"gates/version.rhai\") {{ url = \"http://{}/version\", \
         expect = \"v2\", pass = 5 }}\n",
        server.address
    );
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    assert_eq!(of(&events, "gate_attempt").len(), 1, "fatal: no retry");
    assert_eq!(of(&events, "gate_log")[0]["text"], "got v0");
    let failed = of(&events, "gate_failed");
    assert_eq!(failed[0]["reason"], "wrong version v0 (fatal)");

    // Passes twice (pass = 2), the rollout completes, then the gate fails twice in a row
    // during the bake: the deployment is rolled back.
    let dir = tempfile::tempdir().expect("tempdir");
    let verify = format!(
        "  bake = 10m\n  gate http(\"http://{}/health\") {{ every = 10s, pass = 2 }}\n",
        server.address
    );
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    let passed = kinds.iter().position(|k| *k == "gate_passed").expect("passed first");
    let failed = kinds.iter().position(|k| *k == "gate_failed").expect("then failed");
    assert!(passed < failed, "{kinds:?}");
    assert!(kinds.contains(&"baking"), "{kinds:?}");
    let reason = of(&events, "gate_failed")[0]["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.ends_with("2 attempts in a row failed after it had passed"), "{reason}");
    assert_eq!(events.last().expect("last")["verdict"], "rolled_back");
}

#[test]
fn the_standard_scripts_run_in_a_deploy_and_a_script_error_is_a_diagnostic() {
    let server = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let verify = format!(
        "  gate script(\"std/http.rhai\") {{ url = \"http://{a}/orders\", \
         method = \"POST\", body = \"{{}}\", contains = \"ok\" }}\n  \
         gate script(\"std/latency.rhai\") {{ url = \"http://{a}/\", \
         max_ms = 1000, samples = 3 }}\n  \
         gate script(\"std/tasks.rhai\") {{ pass = 2 }}\n  \
         gate script(\"std/version.rhai\") {{ url = \"http://{a}/version\", expect = \"ok\" }}\n",
        a = server.address
    );
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    let passed: Vec<&str> =
        of(&events, "gate_passed").iter().filter_map(|e| e["gate"].as_str()).collect();
    assert_eq!(passed.len(), 4, "{passed:?}");
    let tasks = of(&events, "gate_attempt")
        .into_iter()
        .find(|e| e["gate"] == "script(std/tasks.rhai)")
        .expect("tasks.rhai ran");
    assert_eq!(tasks["message"], "2 tasks running, none unhealthy");

    // A script that breaks while it runs: its error is rendered with its place.
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    std::fs::write(
        dir.path().join("gates/broken.rhai"),
        "fn check(ctx) {\n  let n = 5;\n  n.len() > 0\n}\n",
    )
    .expect("script");
    let (code, events, stderr) =
        second_deploy(dir.path(), "  gate script(\"gates/broken.rhai\") {}\n");
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let error = of(&events, "gate_error");
    assert_eq!(error[0]["code"], "ferry::gate::script_error");
    let report = error[0]["report"].as_str().unwrap_or_default();
    assert!(report.contains("gates/broken.rhai:3:"), "{report}");
    assert!(report.contains("n.len() > 0"), "{report}");
}

#[test]
fn gates_reach_the_hosts_the_step_names_and_never_the_metadata_address() {
    let named = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let unnamed = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let port = named.address.rsplit_once(':').expect("port").1;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    // The script asks the host its parameter names, then one it names itself.
    std::fs::write(
        dir.path().join("gates/both.rhai"),
        format!(
            "fn check(ctx) {{\n  http::get(ctx.params.url);\n  http::get(\"http://{}/secret\");\n  \
             true\n}}\n",
            unnamed.address
        ),
    )
    .expect("script");
    let gate = format!(
        "  gate script(\"gates/both.rhai\") {{ url = \"http://localhost:{port}/\", \
         every = 10s, within = 30s }}\n"
    );
    let (code, events, stderr) = second_deploy(dir.path(), &gate);
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let message = of(&events, "gate_attempt")[0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("does not allow `127.0.0.1`"), "{message}");
    assert!(message.contains("allow_hosts"), "{message}");
    assert!(named.hits() > 0, "the named host was asked");
    assert_eq!(unnamed.hits(), 0, "a host the Deployfile does not name was reached");

    // Named in `allow_hosts`, it is reached and the gate passes.
    let allowed = format!("  allow_hosts = [\"127.0.0.1\"]\n{gate}");
    let (code, events, stderr) = second_deploy(dir.path(), &allowed);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    assert!(unnamed.hits() > 0);

    // The metadata address, named by an `http` gate: refused without a connection
    // attempt, every time, with what to write to allow it.
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, events, stderr) = second_deploy(
        dir.path(),
        "  gate http(\"http://169.254.169.254/latest/meta-data/\") { every = 10s, within = 30s }\n",
    );
    assert_eq!(code, 1, "{events:#?}\n{stderr}");
    let attempts = of(&events, "gate_attempt");
    assert!(!attempts.is_empty());
    for attempt in attempts {
        let message = attempt["message"].as_str().unwrap_or_default();
        assert!(message.contains("set `allow_link_local = true`"), "{message}");
    }
}

#[test]
fn what_gates_print_is_capped_per_attempt_and_per_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    // Half a MiB thrown at every attempt, after 200 log lines of which one is as long.
    std::fs::write(
        dir.path().join("gates/loud.rhai"),
        "fn check(ctx) {\n  let s = \"x\";\n  for i in 0..19 { s += s; }\n  log::info(s);\n  \
         for i in 0..200 { log::info(`line ${i}`); }\n  throw s;\n}\n",
    )
    .expect("script");
    let (code, events, stderr) = second_deploy(
        dir.path(),
        "  gate script(\"gates/loud.rhai\") { every = 1s, within = 5m }\n",
    );
    assert_eq!(code, 1, "{stderr}");
    // Ten attempts print 1,010 log lines: past the run's 1,000 from the eleventh on.
    let attempts = of(&events, "gate_attempt");
    assert!(attempts.len() > 11, "{} attempts", attempts.len());
    for attempt in &attempts {
        let message = attempt["message"].as_str().unwrap_or_default();
        assert!(message.len() <= 2_100, "an attempt's message of {} bytes", message.len());
        assert!(message.contains("more bytes cut"), "{}", &message[message.len() - 40..]);
    }
    let logs = of(&events, "gate_log");
    assert!(logs.len() <= 1_001, "{} log lines", logs.len());
    assert!(logs.iter().all(|l| l["text"].as_str().unwrap_or_default().len() <= 1_000));
    let dropped = logs
        .iter()
        .filter(|l| l["text"].as_str().unwrap_or_default().contains("are dropped"))
        .count();
    assert_eq!(dropped, 1, "one notice that later lines are dropped");
    let printed: usize = events.iter().map(|e| e.to_string().len()).sum();
    assert!(printed < 3_000_000, "{printed} bytes of events");
}

/// A runtime for the network, as a run has one; a request blocks the calling thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The network as an attempt of a step naming `named` uses it, through `proxies`.
fn guarded(runtime: &tokio::runtime::Runtime, proxies: ProxyEnv, named: &[&str]) -> Guarded {
    let network = Network::with_proxies(runtime.handle().clone(), false, proxies).expect("network");
    Guarded { network: Arc::new(network), policy: Policy::new(named.iter().copied(), &[], false) }
}

fn get(through: &Guarded, url: &str) -> Result<HttpAnswer, HttpFailure> {
    let request = HttpRequest {
        method: "GET".to_owned(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: String::new(),
    };
    through.send(&request, Duration::from_secs(5))
}

fn location(to: &str) -> Vec<(String, String)> {
    vec![("location".to_owned(), to.to_owned())]
}

#[test]
fn a_gate_follows_a_redirect_to_its_answer() {
    let server = Server::routes(Box::new(|path, _| match path {
        "/old" => (301, location("/health"), String::new()),
        _ => (200, Vec::new(), "ok".to_owned()),
    }));
    let url = format!("http://{}/old", server.address);
    let runtime = runtime();
    let answer = get(&guarded(&runtime, ProxyEnv::default(), &[&url]), &url).expect("followed");
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
    assert_eq!(server.requests(), ["GET /old HTTP/1.1", "GET /health HTTP/1.1"]);

    // In a run, the built-in gate passes on the page the redirect leads to.
    let dir = tempfile::tempdir().expect("tempdir");
    let verify = format!("  gate http(\"{url}\") {{ body_contains = \"ok\", every = 10s }}\n");
    let (code, events, stderr) = second_deploy(dir.path(), &verify);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    assert_eq!(of(&events, "gate_passed").len(), 1, "{events:#?}");
}

#[test]
fn a_redirect_loop_stops_at_the_limit() {
    let server = Server::routes(Box::new(|_, _| (302, location("/loop"), String::new())));
    let url = format!("http://{}/loop", server.address);
    let runtime = runtime();
    let error = get(&guarded(&runtime, ProxyEnv::default(), &[&url]), &url).expect_err("a loop");
    let text = error.to_string();
    assert!(text.starts_with("too many redirects: gates follow at most 5"), "{text}");
    assert_eq!(server.hits(), 6, "the request and five redirects");
}

#[test]
fn a_redirect_to_the_metadata_address_or_an_unnamed_host_is_refused() {
    let other = Server::start(Box::new(|_| (200, "secret".to_owned(), 0)));
    let elsewhere =
        format!("http://localhost:{}/", other.address.rsplit_once(':').expect("port").1);
    let to = elsewhere.clone();
    let server = Server::routes(Box::new(move |path, _| match path {
        "/metadata" => (302, location("http://169.254.169.254/latest/meta-data/"), String::new()),
        _ => (307, location(&to), String::new()),
    }));
    let named = format!("http://{}/", server.address);
    let runtime = runtime();
    let through = guarded(&runtime, ProxyEnv::default(), &[&named]);

    let error = get(&through, &format!("{named}metadata")).expect_err("metadata");
    let text = error.to_string();
    assert!(matches!(error, HttpFailure::Refused(_)), "{text}");
    assert!(
        text.starts_with("redirect 1 to `http://169.254.169.254/latest/meta-data/`: "),
        "{text}"
    );
    assert!(text.contains("set `allow_link_local = true`"), "{text}");

    // 127.0.0.1 is named, any port; `localhost` is not.
    let error = get(&through, &format!("{named}elsewhere")).expect_err("elsewhere");
    let text = error.to_string();
    assert!(matches!(error, HttpFailure::Refused(_)), "{text}");
    assert!(text.starts_with(&format!("redirect 1 to `{elsewhere}`: ")), "{text}");
    assert!(text.contains("does not allow `localhost`") && text.contains("allow_hosts"), "{text}");
    assert_eq!(other.hits(), 0, "the redirect was followed to a host the step does not name");
}

#[test]
fn requests_go_through_the_proxy_unless_no_proxy_names_the_host() {
    let target = Server::start(Box::new(|_| (200, "direct".to_owned(), 0)));
    let proxy = Server::start(Box::new(|_| (200, "through the proxy".to_owned(), 0)));
    let url = format!("http://{}/health", target.address);
    // As the environment would give them: `http_proxy` in lower case, as curl reads it.
    let proxies = |no_proxy: &str| {
        ProxyEnv::from_vars(|name| match name {
            "http_proxy" => Some(format!("http://{}", proxy.address)),
            "NO_PROXY" => Some(no_proxy.to_owned()),
            _ => None,
        })
    };
    let runtime = runtime();

    let answer = get(&guarded(&runtime, proxies(""), &[&url]), &url).expect("through the proxy");
    assert_eq!(answer.body, "through the proxy");
    // A proxy of plain http:// is sent the whole URL (absolute form).
    assert_eq!(proxy.requests(), [format!("GET {url} HTTP/1.1")]);
    assert_eq!(target.hits(), 0);

    let direct = guarded(&runtime, proxies("example.com, 127.0.0.1"), &[&url]);
    assert_eq!(get(&direct, &url).expect("direct").body, "direct");
    assert_eq!((proxy.hits(), target.hits()), (1, 1));
}
