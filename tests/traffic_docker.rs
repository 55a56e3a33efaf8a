//! Zero downtime measured with real requests (issue 18): on the docker runtime a service's
//! tasks are real containers behind a real HTTP proxy for the listener, their targets are
//! checked over HTTP, and `ferry run` deploys while this test sends 20 requests a second
//! through the listener. With 100 %/200 % and an app that answers only 8 s after it
//! starts and exits at once on SIGTERM no request fails; with `min_healthy = 0%` requests
//! fail, as `ferry check` warns, and the probe gate fails the deployment. Blue/green moves
//! requests by the rules' weights; a canary sends its share of them to the new revision.
//! Without Docker
//! these skip, unless `FERRY_REQUIRE_DOCKER=1`. Real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry::docker::DockerEngine;

use crate::local_docker::build_serve_image;
use crate::support::available::docker_available;
use crate::support::load_balancer::{Checks, load_balancer};
use crate::support::local_ecs::{Endpoint, Start};
use crate::support::test::{Ran, Test};

/// busybox's httpd serving `$VERSION` from 8 s after it starts — past the first check at
/// 5 s, so only real health checks keep traffic from it until then; on SIGTERM it exits
/// at once, so only the drain before SIGTERM keeps requests from a stopping task.
const DRAIN: &str = "#!/bin/sh\nmkdir -p /www\necho \"${VERSION:-none}\" > /www/index.html\n\
                     trap 'exit 0' TERM\nsleep 8\nhttpd -f -p 8080 -h /www &\nwait\n";
const IMAGE: &str = "ferry-test/drain:3";
/// Requests a second, and the most any one deploy may take.
const RATE: u32 = 20;
const LOAD_LIMIT: Duration = Duration::from_secs(150);

/// Two awsvpc tasks serving `version` behind `group`; with `probe`, a probe gate on it
/// (4 requests a second).
fn deployfile(version: &str, group: &str, min: &str, max: &str, probe: Option<&str>) -> String {
    let gate = probe
        .map_or_else(String::new, |url| format!("  gate probe(\"{url}\") {{ every = 250ms }}\n"));
    format!(
        r#"defaults {{
  cluster = "docker"
}}

register web_task {{
  family       = "drain"
  network_mode = "awsvpc"
  container "web" {{
    image        = "{IMAGE}"
    ports        = [8080]
    environment  = {{ VERSION = "{version}" }}
    stop_timeout = 5s
  }}
}}

update web {{
  task_definition = web_task
  create          = true
  desired         = 2
  min_healthy     = {min}
  max             = {max}
  grace           = 30s
  network {{
    subnets = ["subnet-a"]
  }}
  load_balancer {{
    target_group = "{group}"
    container    = "web"
    port         = 8080
  }}
}}

verify web {{
  timeout = 2m
{gate}}}
"#
    )
}

/// What the load saw: requests sent, failed (not 200 or no answer), the bodies answered,
/// and the slowest answer.
#[derive(Default)]
struct Load {
    sent: u32,
    failed: u32,
    bodies: std::collections::BTreeMap<String, u32>,
    slowest: Duration,
    /// Each request's time and body (none: failed).
    answers: Vec<(Instant, Option<String>)>,
}

impl std::fmt::Debug for Load {
    /// Without each answer: the counts and bodies say what a failure needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Load")
            .field("sent", &self.sent)
            .field("failed", &self.failed)
            .field("bodies", &self.bodies)
            .field("slowest", &self.slowest)
            .finish_non_exhaustive()
    }
}

/// `ferry run` of `text` in `dir` against `url`, with RATE requests a second through
/// `proxy` until it ends.
async fn deploy_under_load(
    url: &str,
    dir: &std::path::Path,
    text: &str,
    proxy: &str,
) -> (Ran, Load) {
    std::fs::write(dir.join("Deployfile"), text).expect("write");
    let done = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(send_load(proxy.to_owned(), Arc::clone(&done)));
    let (url, dir) = (url.to_owned(), dir.to_owned());
    let ran = tokio::task::spawn_blocking(move || {
        Test::new().args(["run", "--yes", "--allow-dirty"]).on_endpoint(&url, &dir).run()
    })
    .await
    .expect("ferry ran");
    done.store(true, Ordering::Relaxed);
    (ran, load.await.expect("load"))
}

/// GETs through the proxy every 1/RATE s until `done` or LOAD_LIMIT, each with a 2 s
/// timeout, one at a time.
async fn send_load(proxy: String, done: Arc<AtomicBool>) -> Load {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .expect("client");
    let mut load = Load::default();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / RATE);
    while !done.load(Ordering::Relaxed) && started.elapsed() < LOAD_LIMIT {
        ticker.tick().await;
        load.sent += 1;
        let at = Instant::now();
        match client.get(&proxy).send().await {
            Ok(answer) if answer.status() == 200 => {
                let body = answer.text().await.unwrap_or_default().trim().to_owned();
                *load.bodies.entry(body.clone()).or_default() += 1;
                load.answers.push((at, Some(body)));
            }
            _ => {
                load.failed += 1;
                load.answers.push((at, None));
            }
        }
        load.slowest = load.slowest.max(at.elapsed());
    }
    load
}

/// Checked over HTTP every 5 s (2 to turn healthy or unhealthy), a 5 s drain.
const CHECKS: Checks = Checks {
    interval_s: Some(5),
    timeout_s: Some(2),
    healthy: Some(2),
    unhealthy: Some(2),
    drain_s: Some(5),
};

/// The local ECS on the docker runtime (passes every second) with the test's image
/// built; none without Docker.
async fn docker_endpoint() -> Option<Endpoint> {
    if !docker_available() {
        return None;
    }
    let engine = DockerEngine::connect().await.expect("engine");
    build_serve_image(&engine, IMAGE, DRAIN).await;
    Some(
        Start::real_time()
            .faults(r#"{"scheduler": {"pass_interval": "1s"}}"#)
            .docker()
            .start()
            .await,
    )
}

/// The proxy of each listener, as the endpoint names them once it has made them.
async fn proxies<const N: usize>(local: &Endpoint, listeners: [&str; N]) -> [String; N] {
    for _ in 0..40 {
        let made = local.server.listeners();
        if listeners.iter().all(|l| made.contains_key(*l)) {
            return listeners.map(|l| made[l].clone());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no proxy for each of {listeners:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deploy_behind_the_listener_drops_no_request() {
    let Some(local) = docker_endpoint().await else { return };
    let (group, listener) = load_balancer(&local.elb, CHECKS).await;
    let url = local.server.url().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let [proxy] = proxies(&local, [listener.as_str()]).await;
    let named = reqwest::get(format!("{url}/_ferry/listeners"))
        .await
        .expect("listeners")
        .text()
        .await
        .expect("text");
    let named: serde_json::Value = serde_json::from_str(&named).expect("json");
    assert_eq!(named[&listener], proxy.as_str());

    // Before any task: the listener has no target, ELB's 503.
    let empty = reqwest::get(&proxy).await.expect("answer");
    assert_eq!(empty.status(), 503);

    let first = deployfile("v1", &group, "100%", "200%", None);
    let (ran, _) = deploy_under_load(&url, dir.path(), &first, &proxy).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);

    // v1 → v2, 100 %/200 %: old tasks are deregistered and drain before SIGTERM.
    let second = deployfile("v2", &group, "100%", "200%", Some(&proxy));
    let (ran, load) = deploy_under_load(&url, dir.path(), &second, &proxy).await;
    eprintln!("zero downtime, 100%/200%: {load:?}");
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    // ferry's own probe saw the same: every request answered.
    let said = format!("{}{}", ran.stdout, ran.stderr);
    let tally = said.lines().find(|l| l.contains(&format!("probe({proxy}): ")));
    eprintln!("{}", tally.unwrap_or_default());
    assert!(tally.is_some_and(|l| l.contains(" 0 failed")), "{said}");
    assert!(load.sent >= 100, "{load:?}");
    assert_eq!(load.failed, 0, "{load:?}");
    assert!(load.bodies.contains_key("v1") && load.bodies.contains_key("v2"), "{load:?}");

    // v2 → v3 with min_healthy = 0%: ECS may stop every task first, and requests fail.
    // The probe gate fails the deployment on its first failed request.
    let third = deployfile("v3", &group, "0%", "100%", Some(&proxy));
    let (ran, load) = deploy_under_load(&url, dir.path(), &third, &proxy).await;
    eprintln!("downtime allowed, 0%/100%: {load:?}");
    assert_eq!(ran.code, 3, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains(&format!("gate probe({proxy}) failed"))
            || ran.stdout.contains(&format!("gate probe({proxy}) failed")),
        "{}{}",
        ran.stdout,
        ran.stderr
    );
    let checked = Test::new().args(["check"]).current_dir(dir.path()).run();
    assert!(checked.stderr.contains("downtime_behind_load_balancer"), "{}", checked.stderr);
    assert!(load.failed > 0, "{load:?}");
    assert!(load.bodies.contains_key("v3") || load.bodies.contains_key("v2"), "{load:?}");
}

/// Two awsvpc tasks serving `version`, blue/green behind `bg` with no bake, verified until
/// ECS completed (blue stopped).
fn blue_green_deployfile(version: &str, bg: &crate::support::blue_green::BlueGreen) -> String {
    staged_deployfile(version, bg, "strategy        = blue_green\n  bake            = 0m")
}

/// Two awsvpc tasks serving `version`, deployed by `strategy` (its `update` lines) behind
/// `bg`, verified until ECS completed.
fn staged_deployfile(
    version: &str,
    bg: &crate::support::blue_green::BlueGreen,
    strategy: &str,
) -> String {
    deployfile(version, &bg.blue, "100%", "200%", None)
        .replace("  grace           = 30s\n", &format!("  grace           = 30s\n  {strategy}\n"))
        .replace(
            "    container    = \"web\"\n",
            &format!(
                "    alternate_target_group   = \"{}\"\n    production_listener_rule = \"{}\"\n    \
                 test_listener_rule       = \"{}\"\n    \
                 role = \"arn:aws:iam::000000000000:role/ecsInfrastructure\"\n    \
                 container    = \"web\"\n",
                bg.green, bg.production_rule, bg.test_rule
            ),
        )
        .replace("  timeout = 2m\n", "  timeout = 3m\n  until   = completed\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_deploy_moves_real_requests_by_the_rules_weights_and_drops_none() {
    let Some(local) = docker_endpoint().await else { return };
    let bg = crate::support::blue_green::blue_green(&local.elb, CHECKS).await;
    let url = local.server.url().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let [production, test] = proxies(&local, [bg.listeners.0.as_str(), &bg.listeners.1]).await;
    let (ran, _) =
        deploy_under_load(&url, dir.path(), &blue_green_deployfile("v1", &bg), &production).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    // v1 → v2 blue/green: requests through the production listener while the test
    // listener is read too; production moves all at once, and none fails.
    let done = Arc::new(AtomicBool::new(false));
    let tested = tokio::spawn(send_load(test.clone(), Arc::clone(&done)));
    let started = Instant::now();
    let (ran, load) =
        deploy_under_load(&url, dir.path(), &blue_green_deployfile("v2", &bg), &production).await;
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let tested = tested.await.expect("test load");
    eprintln!("blue/green on docker in {took:?}: production {load:?}; test {tested:?}");
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(load.failed, 0, "{load:?}");
    assert!(load.bodies.contains_key("v1") && load.bodies.contains_key("v2"), "{load:?}");
    // The test listener served v2 before production did (and never a failure once v2 ran).
    assert!(tested.bodies.contains_key("v2"), "{tested:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_sends_its_share_of_real_requests_to_the_new_revision() {
    let Some(local) = docker_endpoint().await else { return };
    let bg = crate::support::blue_green::blue_green(&local.elb, CHECKS).await;
    let url = local.server.url().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let [production] = proxies(&local, [bg.listeners.0.as_str()]).await;
    let canary = "strategy        = canary\n  bake            = 0m\n  \
                  canary_percent  = 20%\n  canary_bake     = 1m";
    let (ran, _) =
        deploy_under_load(&url, dir.path(), &staged_deployfile("v1", &bg, canary), &production)
            .await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    // v1 → v2 by a canary of 20 % for a minute: the production rule's weights are read
    // four times a second beside the load, and the requests answered while they were
    // 80/20 are counted by the revision that answered.
    let done = Arc::new(AtomicBool::new(false));
    let watched = {
        let (elb, rule, done) = (local.elb.clone(), bg.production_rule.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut seen: Vec<(Instant, Vec<(String, i32)>)> = Vec::new();
            let started = Instant::now();
            while !done.load(Ordering::Relaxed) && started.elapsed() < LOAD_LIMIT {
                let now = crate::support::blue_green::weights(&elb, &rule).await;
                seen.push((Instant::now(), now));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            seen
        })
    };
    let (ran, load) =
        deploy_under_load(&url, dir.path(), &staged_deployfile("v2", &bg, canary), &production)
            .await;
    done.store(true, Ordering::Relaxed);
    let watched = watched.await.expect("weights");
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let canary_weights =
        |w: &Vec<(String, i32)>| w.iter().any(|(arn, weight)| *arn == bg.green && *weight == 20);
    let during: Vec<Instant> =
        watched.iter().filter(|(_, w)| canary_weights(w)).map(|(at, _)| *at).collect();
    let (Some(from), Some(to)) = (during.first(), during.last()) else {
        panic!("never saw the canary's weights: {watched:?}")
    };
    // A second inside each edge: the weights were read at most 250 ms apart.
    let second = Duration::from_secs(1);
    let (from, to) = (*from + second, to.checked_sub(second).expect("after the start"));
    let answered: Vec<&str> = load
        .answers
        .iter()
        .filter(|(at, _)| *at >= from && *at <= to)
        .map(|(_, body)| body.as_deref().unwrap_or("failed"))
        .collect();
    let share = |version: &str| answered.iter().filter(|b| **b == version).count();
    let (old, new, failed) = (share("v1"), share("v2"), share("failed"));
    let total = answered.len();
    eprintln!(
        "canary of 20% on docker: {total} requests during the canary ({:?}): v1 {old}, v2 \
         {new} ({:.1}%), failed {failed}; over the whole deploy {load:?}",
        to - from,
        100.0 * new as f64 / total.max(1) as f64,
    );
    assert!(total >= 200, "the canary lasted its minute: {total} requests");
    assert_eq!(failed, 0);
    // The proxy splits requests by a counter over the weights: 20 of every 100 in turn.
    let percent = 100 * new / total;
    assert!((17..=23).contains(&percent), "v2 answered {percent}% during the canary");
    assert_eq!(load.failed, 0, "no request failed over the whole deploy");
}
