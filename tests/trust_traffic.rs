//! A verdict behind a load balancer (issue 18): `verify` calls a rollout serving only when
//! every running task of ours is a healthy target in every target group of the service,
//! and names the targets that are not with ELB's reason codes. Each test first deploys a
//! healthy revision behind the group — old targets are healthy, so a count of healthy
//! targets alone would be fooled — on the in-process local ECS.

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum, TargetTypeEnum};
use ferry::engine::{Event, Verdict};

use crate::support::harness::{Local, Setup};
use crate::support::http_server::Server;
use crate::support::load_balancer::{Checks, load_balancer};
use crate::support::local_ecs::Start;
use crate::support::test::Test;
use crate::support::web_service::assert_code;

/// `good` answers at once; `late` answers its load balancer's checks 90 s after RUNNING;
/// `dead` never does (503). None has a container health check.
const FAULTS: &str = r#"{"images": [
  {"match": "*:late*", "lb_healthy_after": "90s"},
  {"match": "*:dead*", "lb_never_healthy": true}
]}"#;

/// A load balancer, an `ip` target group checked every 10 s (2 to turn unhealthy), a
/// 15 s deregistration delay, and a listener forwarding to it; the group's ARN.
async fn target_group(elb: &aws_sdk_elasticloadbalancingv2::Client) -> String {
    let checks =
        Checks { interval_s: Some(10), unhealthy: Some(2), drain_s: Some(15), ..Checks::default() };
    load_balancer(elb, checks).await.0
}

/// Two awsvpc tasks of `acme/web:TAG` behind `group`, 100%/200%, verified until serving.
fn deployfile(tag: &str, group: &str, verify: &str) -> String {
    format!(
        r#"defaults {{
  cluster = "c"
}}

register web_task {{
  family       = "web"
  network_mode = "awsvpc"
  container "app" {{
    image = "acme/web:{tag}"
    ports = [8080]
  }}
}}

update web {{
  task_definition = web_task
  create          = true
  desired         = 2
  min_healthy     = 100%
  max             = 200%
  grace           = 5m
  network {{
    subnets = ["subnet-a"]
  }}
  load_balancer {{
    target_group = "{group}"
    container    = "app"
    port         = 8080
  }}
}}

verify web {{
  until   = serving
{verify}}}
"#
    )
}

/// The targets of the group: `(address, state)`.
async fn targets(local: &Local, group: &str) -> Vec<(String, String)> {
    let health = local
        .clients
        .elb
        .describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .expect("target health");
    health
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let id = d.target().and_then(|t| t.id()).unwrap_or_default().to_owned();
            let state = d.target_health().and_then(|h| h.state());
            (id, state.map(|s| s.as_str().to_owned()).unwrap_or_default())
        })
        .collect()
}

fn waits(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { waiting, .. } => Some(waiting.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_waits_for_our_targets_to_turn_healthy() {
    let local = Local::start(FAULTS).await;
    let group = target_group(&local.clients.elb).await;
    let first = local.run(&deployfile("good", &group, "  timeout = 20m\n")).await;
    assert_code(&first, 0);
    assert!(
        first.reason.contains("every task of ours a healthy target of `web`"),
        "{}",
        first.reason
    );
    // The app answers its checks 90 s after it runs: without a container health check ECS
    // would count a task 40 s after RUNNING, and the old healthy targets fill the group.
    let second = local.run(&deployfile("late", &group, "  timeout = 20m\n")).await;
    assert_code(&second, 0);
    let waited = waits(&second.events);
    assert!(
        waited.iter().any(|w| w.contains("load balancer targets of ours to turn healthy")),
        "{waited:#?}"
    );
    // It waited for the app's 90 s, not ECS's 40 s: the waits span the difference.
    let elapsed: Vec<u64> = second
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { waiting, elapsed_ms, .. } if waiting.contains("turn healthy") => {
                Some(*elapsed_ms)
            }
            _ => None,
        })
        .collect();
    let span = elapsed.last().zip(elapsed.first()).map_or(0, |(last, first)| last - first);
    assert!(span >= 40_000, "{elapsed:?}");
    // Our tasks are the healthy targets, each by its own address.
    let ours = ours(&local).await;
    let now = targets(&local, &group).await;
    assert_eq!(ours.len(), 2);
    for ip in &ours {
        assert!(now.contains(&(ip.clone(), "healthy".to_owned())), "{ip} in {now:?}");
    }
}

/// The private addresses of the PRIMARY deployment's running tasks.
async fn ours(local: &Local) -> Vec<String> {
    let service = local.service().await.expect("service");
    let primary = service.primary().expect("primary").id.clone();
    let tasks = ferry::aws::Ecs::new(&local.clients)
        .deployment_tasks("c", "web", &primary)
        .await
        .expect("tasks");
    tasks.into_iter().filter_map(|t| t.private_ip).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_removed_while_baking_fails_the_verdict() {
    let local = Local::start(FAULTS).await;
    let group = target_group(&local.clients.elb).await;
    assert_code(&local.run(&deployfile("good", &group, "  timeout = 20m\n")).await, 0);
    // Another tool deletes the listener once ferry's rollout serves and bakes: the targets
    // are `unused` (no load balancer forwards to their group), no request reaches them.
    let hook: crate::support::harness::EventHook = Box::new(|event, hook| {
        if let Event::Baking { .. } = event {
            hook.act(|clients| async move {
                let lbs = clients.elb.describe_load_balancers().send().await.expect("lbs");
                let lb = lbs.load_balancers()[0].load_balancer_arn().expect("arn").to_owned();
                let listeners = clients.elb.describe_listeners().load_balancer_arn(lb).send().await;
                let listener = listeners.expect("listeners").listeners()[0].clone();
                let arn = listener.listener_arn().expect("arn");
                clients.elb.delete_listener().listener_arn(arn).send().await.expect("deleted");
            });
        }
    });
    let text = deployfile("late", &group, "  timeout = 20m\n  bake    = 2m\n");
    let run = local.run_with(&text, Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_eq!(run.verdict, Verdict::Failed, "{}", run.reason);
    assert!(run.has("baking"), "{:?}", run.kinds());
    assert!(
        run.reason.contains("the load balancers stopped calling our tasks healthy")
            && run.reason.contains("unused (Target.NotInUse"),
        "{}",
        run.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_that_never_pass_are_never_serving_and_are_named_with_their_reason() {
    let local = Local::start(FAULTS).await;
    let group = target_group(&local.clients.elb).await;
    assert_code(&local.run(&deployfile("good", &group, "  timeout = 20m\n")).await, 0);
    let old: Vec<String> = targets(&local, &group).await.into_iter().map(|(id, _)| id).collect();
    // A grace period of 5 minutes keeps ECS from replacing the tasks before the timeout:
    // they run, ECS's counts say 2 of 2, the old targets are healthy — not serving.
    let run = local.run(&deployfile("dead", &group, "  timeout = 3m\n")).await;
    assert_eq!(run.verdict, Verdict::Failed, "{}", run.reason);
    assert!(!run.has("serving"), "{:?}", run.kinds());
    assert!(run.reason.contains("did not finish within 3m"), "{}", run.reason);
    assert!(
        run.reason.contains("0 of 2 load balancer targets of ours healthy")
            && run.reason.contains("unhealthy (Target.ResponseCodeMismatch"),
        "{}",
        run.reason
    );
    let named: Vec<&Event> =
        run.events.iter().filter(|e| matches!(e, Event::TargetNotHealthy { .. })).collect();
    assert_eq!(named.len(), 2, "{named:#?}");
    for event in named {
        let Event::TargetNotHealthy { state, reason, target, target_group, .. } = event else {
            unreachable!()
        };
        assert_eq!(
            (state.as_str(), reason.as_deref()),
            ("unhealthy", Some("Target.ResponseCodeMismatch"))
        );
        assert_eq!(target_group, "web");
        let address = target.split(':').next().unwrap_or_default();
        assert!(!old.iter().any(|o| o == address), "{target} is an old target");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_target_with_its_state_and_task() {
    let endpoint = Start::real_time().speed(600.0).faults(FAULTS).start().await;
    let group = target_group(&endpoint.elb).await;
    let url = endpoint.server.url().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("Deployfile"), deployfile("good", &group, "  timeout = 20m\n"))
        .expect("write");
    let home = dir.path().to_owned();
    let [deployed, status, json] = tokio::task::spawn_blocking(move || {
        let ferry = |args: &[&str]| Test::new().args(args).on_endpoint(&url, &home).run();
        [
            ferry(&["run", "--yes", "--allow-dirty"]),
            ferry(&["status"]),
            ferry(&["status", "--format", "json"]),
        ]
    })
    .await
    .expect("ferry ran");
    assert_eq!(deployed.code, 0, "{}{}", deployed.stdout, deployed.stderr);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("target group `web` (ip, container `app` port 8080): 2 healthy"),
        "{}",
        status.stdout
    );
    // Each healthy target is tied to its task and deployment.
    let tied = status.stdout.lines().filter(|l| l.contains(" healthy — task ")).count();
    assert_eq!(tied, 2, "{}", status.stdout);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let targets = &value[0]["target_groups"][0]["targets"];
    assert_eq!(targets.as_array().map(Vec::len), Some(2), "{value}");
    assert_eq!(targets[0]["state"], "healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_counts_every_request_from_the_update_to_the_verdict() {
    let local = Local::start(FAULTS).await;
    let group = target_group(&local.clients.elb).await;
    assert_code(&local.run(&deployfile("good", &group, "  timeout = 20m\n")).await, 0);
    // Every answer 200: the probe passes with its tally in the final line.
    let fine = Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
    let gate = format!("  timeout = 20m\n  gate probe(\"http://{}/\") {{}}\n", fine.address);
    let run = local.run(&deployfile("late", &group, &gate)).await;
    assert_code(&run, 0);
    let tally = run.events.iter().find_map(|e| match e {
        Event::ProbeFinished { sent, failed, .. } => Some((*sent, *failed)),
        _ => None,
    });
    let (sent, failed) = tally.expect("probe_finished");
    // A request a second from the update through the app's 90 s to completion.
    assert!(sent >= 90 && failed == 0, "{sent} {failed}");
    assert_eq!(usize::try_from(sent).ok(), Some(fine.hits()));
    assert!(
        run.reason.contains(&format!("probe(http://{}/) {sent} requests, 0 failed", fine.address)),
        "{}",
        run.reason
    );
    // The 5th request answers 503: the first failure fails the deployment, by default
    // (`until = serving` left the last one draining: it settles first).
    local.settle().await;
    let blip = Server::start(Box::new(|n| {
        if n == 4 { (503, "busy".to_owned(), 0) } else { (200, "ok".to_owned(), 0) }
    }));
    let gate = format!("  timeout = 20m\n  gate probe(\"http://{}/\") {{}}\n", blip.address);
    let run = local.run(&deployfile("good", &group, &gate)).await;
    assert_ne!(run.verdict, Verdict::Success, "{}", run.reason);
    assert!(run.reason.contains("1 failed (max_errors 0): 5 requests, 1 failed"), "{}", run.reason);
    assert!(run.reason.contains("status 503"), "{}", run.reason);
    // With a budget of errors the same blip passes (once the failed run's deployment,
    // left to ECS, has settled).
    local.settle().await;
    let again = Server::start(Box::new(|n| {
        if n == 4 { (503, "busy".to_owned(), 0) } else { (200, "ok".to_owned(), 0) }
    }));
    let gate = format!(
        "  timeout = 20m\n  gate probe(\"http://{}/\") {{ max_errors = 1, max_error_rate = 5% }}\n",
        again.address
    );
    let run = local.run(&deployfile("late", &group, &gate)).await;
    assert_code(&run, 0);
    assert!(run.reason.contains("requests, 1 failed"), "{}", run.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_run_refuse_a_load_balancer_block_ecs_would_refuse() {
    let local = Local::start(FAULTS).await;
    let group = target_group(&local.clients.elb).await;
    // A group no listener forwards to, and one of target type `instance`.
    let elb = &local.clients.elb;
    let make = |name: &'static str, kind: TargetTypeEnum| async move {
        let made = elb
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .vpc_id("vpc-1")
            .target_type(kind)
            .send()
            .await
            .expect("target group");
        made.target_groups()[0].target_group_arn().expect("arn").to_owned()
    };
    let detached = make("detached", TargetTypeEnum::Ip).await;
    let instance = make("instance", TargetTypeEnum::Instance).await;
    // Attach the instance group to the load balancer so that only its type is wrong.
    let lbs = elb.describe_load_balancers().send().await.expect("lbs");
    let lb = lbs.load_balancers()[0].load_balancer_arn().expect("arn").to_owned();
    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&instance);
    elb.create_listener()
        .load_balancer_arn(lb)
        .protocol(ProtocolEnum::Http)
        .port(8081)
        .default_actions(forward.build())
        .send()
        .await
        .expect("listener");
    let missing = group.replace("/web/", "/gone/");
    let cases = [
        (deployfile("good", &missing, ""), format!("target group {missing} does not exist")),
        (
            deployfile("good", &detached, ""),
            "no load balancer forwards to target group `detached`".to_owned(),
        ),
        (
            deployfile("good", &instance, ""),
            "target group `instance` has target type `instance`, and tasks of network mode \
             `awsvpc` register as `ip` targets"
                .to_owned(),
        ),
    ];
    for (text, reason) in cases {
        let plan = local.plan(&text).await.expect("plan");
        let said = ferry::engine::plan_text(&plan, None);
        assert!(said.contains(&reason), "{reason}\n{said}");
        let run = local.run(&text).await;
        assert_eq!(run.verdict, Verdict::InvalidInput, "{}", run.reason);
        assert!(run.reason.contains(&reason), "{}", run.reason);
        assert!(local.service().await.is_none(), "nothing was created");
    }
    // The same block with a good group deploys.
    assert_code(&local.run(&deployfile("good", &group, "")).await, 0);
    let running = local.service().await.expect("service").task_definition;
    // A revision read from the family: `ferry check` cannot see its containers and ports
    // (it does for a register block it can read: ferry::check::load_balancer_port); the
    // plan does.
    let from_family = |text: String| {
        let start = text.find("register web_task {").expect("register");
        let end = start + text[start..].find("\n}\n").expect("end");
        format!(
            "{}register web_task {{\n  from = family(\"web\")\n{}",
            &text[..start],
            &text[end + 1..]
        )
    };
    let good = || from_family(deployfile("good", &group, ""));
    let cases = [
        (
            good().replace("port         = 8080", "port         = 9090"),
            "the load_balancer's port 9090 is not a port of container `app` (its ports: 8080)",
        ),
        (
            good().replace("container    = \"app\"", "container    = \"api\""),
            "the load_balancer's container `api` is not in the revision (its containers: app)",
        ),
    ];
    for (text, reason) in cases {
        let plan = local.plan(&text).await.expect("plan");
        let said = ferry::engine::plan_text(&plan, None);
        assert!(said.contains(reason), "{reason}\n{said}\n{text}");
        let run = local.run(&text).await;
        assert_eq!(run.verdict, Verdict::InvalidInput, "{}", run.reason);
        let now = local.service().await.expect("service").task_definition;
        assert_eq!(now, running, "nothing was changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_predicts_with_the_groups_checks_and_drain() {
    let local = Local::start(FAULTS).await;
    let group = target_group(&local.clients.elb).await;
    assert_code(&local.run(&deployfile("good", &group, "  timeout = 20m\n")).await, 0);
    let plan = local.plan(&deployfile("next", &group, "  timeout = 20m\n")).await.expect("plan");
    let said = ferry::engine::plan_text(&plan, None);
    // Checked every 10 s and drained for 15 s (the group's), not ECS's 300 s.
    assert!(said.contains("target checks every 10s, 15s draining"), "{said}");
    let ran = local.run(&deployfile("next", &group, "  timeout = 20m\n")).await;
    assert_code(&ran, 0);
}
