//! ECS's own deployment strategies on the local ECS (docs/strategies.md), through AWS's own
//! clients (tests/contract/blue_green.py): the AWS CLI drives a BLUE_GREEN deployment and
//! sees the documented lifecycle stages in order, with test then production traffic moved
//! by the listener rules' weights; a crashing revision never gets production traffic and
//! ends ROLLBACK_SUCCESSFUL with blue still running; a PAUSE hook holds the deployment at
//! POST_TEST_TRAFFIC_SHIFT until the CLI continues it; wrong advanced configurations and
//! hooks are refused in ECS's words.

use serde_json::{Value, json};

use crate::support::local_ecs::Start;
use crate::support::moto::{python_summary, python_tool};
use crate::support::test::root;

const FAULTS: &str = r#"{"images": [{"match": "web:crash", "crash_after": "2s", "exit_code": 1}]}"#;

fn stages(deployment: &Value) -> Vec<&str> {
    deployment["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["stage"].as_str())
        .collect()
}

fn at<'a>(deployment: &'a Value, stage: &str) -> &'a Value {
    deployment["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["stage"] == stage)
        .unwrap_or_else(|| panic!("{stage} not seen: {deployment:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_sees_a_blue_green_deployment_stage_by_stage() {
    let Some(python) = python_tool("python") else { return };
    let local = Start::real_time().speed(20.0).faults(FAULTS).start().await;
    let url = local.server.url().to_owned();
    let script = root().join("tests/contract/blue_green.py");
    let (summary, stderr, succeeded) =
        python_summary(python, script, vec![url.clone()], url, Vec::new()).await;
    assert_eq!(summary["deviations"], json!([]), "stderr: {stderr}");
    assert!(succeeded, "stderr: {stderr}");
    let deployments = summary["deployments"].as_array().expect("deployments");
    let (good, crash) = (&deployments[0], &deployments[1]);
    eprintln!("good: {:?}\ncrash: {:?}", stages(good), stages(crash));

    // The documented order (PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage only: the
    // service model's lifecycleStage has no such value).
    assert_eq!(
        stages(good),
        [
            "PRE_SCALE_UP",
            "SCALE_UP",
            "POST_SCALE_UP",
            "TEST_TRAFFIC_SHIFT",
            "POST_TEST_TRAFFIC_SHIFT",
            "PRODUCTION_TRAFFIC_SHIFT",
            "POST_PRODUCTION_TRAFFIC_SHIFT",
            "BAKE_TIME",
            "CLEAN_UP"
        ],
        "{good:#}"
    );
    let blue = json!({"blue": 100, "green": 0});
    let green = json!({"blue": 0, "green": 100});
    assert_eq!(at(good, "SCALE_UP")["production"], blue);
    assert_eq!(at(good, "POST_TEST_TRAFFIC_SHIFT")["test"], green, "test traffic first");
    assert_eq!(at(good, "POST_TEST_TRAFFIC_SHIFT")["production"], blue);
    assert_eq!(at(good, "BAKE_TIME")["production"], green);
    assert_eq!(at(good, "CLEAN_UP")["status"], "IN_PROGRESS", "successful only after clean-up");
    assert_eq!(good["status"], "SUCCESSFUL");
    assert_eq!(good["running_after"], json!(["2", "2"]));

    // The crashing revision: the breaker trips in the scale-up; production never moved.
    assert_eq!(stages(crash).last(), Some(&"SCALE_UP"), "{crash:#}");
    assert_eq!(crash["status"], "ROLLBACK_SUCCESSFUL", "{crash:#}");
    assert_eq!(crash["production_after"], green, "still on the good revision's side");
    assert_eq!(crash["running_after"], json!(["2", "2"]), "the good revision never stopped");
    assert_eq!(crash["breaker"]["status"], "TRIGGERED", "{crash:#}");

    // A PAUSE hook holds the deployment with test traffic on the new revision and
    // production on the old, until `aws ecs continue-service-deployment`.
    let paused = &summary["paused"];
    assert_eq!(paused["stage"], "POST_TEST_TRAFFIC_SHIFT", "{paused:#}");
    assert_eq!(paused["held_stage"], "POST_TEST_TRAFFIC_SHIFT", "held: {paused:#}");
    assert_eq!(paused["hook"]["targetType"], "PAUSE");
    assert_eq!(paused["hook"]["timeoutAction"], "ROLLBACK");
    assert!(paused["hook"]["hookId"].as_str().is_some_and(|id| id.starts_with("ecs-pause-")));
    assert_eq!(paused["production"], green, "production still on web:2's side: {paused:#}");
    assert_eq!(paused["test"], blue, "test traffic on web:3's side: {paused:#}");
    assert_eq!(paused["status"], "SUCCESSFUL", "{paused:#}");
    assert_eq!(paused["hooks_after"], json!(["SUCCEEDED"]));
}
