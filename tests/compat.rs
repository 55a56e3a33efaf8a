//! Independent clients against the local ECS: the AWS CLI and fabfuel's `ecs-deploy`
//! each deploy an image to a 3-task service and fail on an image that crashes; and the
//! same sequence of calls sent to moto's server and to the local endpoint answers with
//! the same shape. The Python tools come from `scripts/python-env` (run by
//! `scripts/test`); without them these tests skip, unless `FERRY_REQUIRE_MOTO=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use ferry::local::LocalEcs;
use serde_json::{Value, json};

use crate::support::local_ecs::Start;
use crate::support::moto::{Moto, aws_env, python_tool};
use crate::support::test::root;
use crate::support::wire;

/// A local ECS in real time at this speed where images tagged `crash` crash after 5 s.
async fn local(speed: f64) -> LocalEcs {
    Start::real_time()
        .speed(speed)
        .faults(r#"{"images": [{"match": "*:crash", "crash_after": "5s", "exit_code": 1}]}"#)
        .start()
        .await
        .server
}

/// Runs a command off the async runtime; returns its exit code and output.
async fn run(mut command: Command) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let output = command.output().expect("the tool runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_deploys_and_fails_on_a_crashing_image() {
    let Some(aws) = python_tool("aws") else { return };
    let bin = aws.parent().expect("bin").to_path_buf();
    let server = local(200.0).await;
    let script = root().join("tests/compat/aws-cli-deploy.sh");
    for (image, expected, words) in [
        ("acme/web:1", 0, "running"),
        ("acme/web:2", 0, "3 running"),
        ("acme/web:crash", 1, "deployment failed"),
    ] {
        let mut command = Command::new("bash");
        command.arg(&script).arg(image);
        aws_env(&mut command, server.url(), &bin);
        let (code, output) = run(command).await;
        assert_eq!(code, expected, "{image}: {output}");
        assert!(output.contains(words), "{image}: {output}");
    }
    let calls = server.calls();
    assert!(calls["DescribeServices"] > 3 && calls["UpdateService"] == 2, "{calls:?}");
    server.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_deploy_deploys_and_fails_on_a_crashing_image() {
    let (Some(aws), Some(ecs)) = (python_tool("aws"), python_tool("ecs")) else { return };
    let bin = aws.parent().expect("bin").to_path_buf();
    let server = local(200.0).await;
    // The service exists first (ecs-deploy only updates).
    let mut command = Command::new("bash");
    command.arg(root().join("tests/compat/aws-cli-deploy.sh")).arg("acme/web:1");
    aws_env(&mut command, server.url(), &bin);
    let (code, output) = run(command).await;
    assert_eq!(code, 0, "{output}");
    for (image, expected, words) in
        [("acme/web:2", 0, "Deployment successful"), ("acme/web:crash", 1, "Deployment Failed")]
    {
        let mut command = Command::new(&ecs);
        command.args(["deploy", "compat", "web", "--image", "app", image, "--timeout", "120"]);
        aws_env(&mut command, server.url(), &bin);
        let (code, output) = run(command).await;
        assert_eq!(code, expected, "{image}: {output}");
        assert!(output.contains(words), "{image}: {output}");
    }
    server.shutdown().await.expect("stop");
}

/// Every path of a JSON value with its type; list items share the path `[]`.
fn shape(value: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    };
    if kind == "null" {
        return;
    }
    out.insert(path.to_owned(), kind);
    match value {
        Value::Array(items) => items.iter().for_each(|item| shape(item, &format!("{path}[]"), out)),
        Value::Object(members) => {
            members.iter().for_each(|(key, item)| shape(item, &format!("{path}.{key}"), out));
        }
        _ => {}
    }
}

/// The sequence of calls both endpoints answer.
fn sequence() -> Vec<(&'static str, Value)> {
    let ecs = wire::ECS;
    let ecr = wire::ECR;
    let _ = (ecs, ecr);
    vec![
        ("ECS.CreateCluster", json!({ "clusterName": "shape" })),
        ("ECS.DescribeClusters", json!({ "clusters": ["shape", "absent"] })),
        (
            "ECS.RegisterTaskDefinition",
            json!({
                "family": "web",
                "containerDefinitions": [{
                    "name": "app",
                    "image": "acme/web:1",
                    "essential": true,
                    "memory": 128,
                    "environment": [{ "name": "A", "value": "" }]
                }],
                "tags": [{ "key": "team", "value": "web" }]
            }),
        ),
        ("ECS.DescribeTaskDefinition", json!({ "taskDefinition": "web", "include": ["TAGS"] })),
        ("ECS.ListTaskDefinitions", json!({ "familyPrefix": "web", "sort": "DESC" })),
        (
            "ECS.CreateService",
            json!({
                "cluster": "shape",
                "serviceName": "web",
                "taskDefinition": "web:1",
                "desiredCount": 2,
                "deploymentConfiguration": {
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                    "deploymentCircuitBreaker": { "enable": true, "rollback": true }
                }
            }),
        ),
        ("ECS.DescribeServices", json!({ "cluster": "shape", "services": ["web", "absent"] })),
        (
            "ECS.RegisterTaskDefinition",
            json!({
                "family": "web",
                "containerDefinitions": [{ "name": "app", "image": "acme/web:2", "memory": 128 }]
            }),
        ),
        (
            "ECS.UpdateService",
            json!({
                "cluster": "shape",
                "service": "web",
                "taskDefinition": "web:2",
                "desiredCount": 3
            }),
        ),
        ("ECS.ListTasks", json!({ "cluster": "shape", "serviceName": "web" })),
        ("ECS.DeregisterTaskDefinition", json!({ "taskDefinition": "web:1" })),
        ("ECS.ListTaskDefinitions", json!({ "familyPrefix": "web", "status": "INACTIVE" })),
        (
            "ECS.UpdateService",
            json!({ "cluster": "shape", "service": "absent", "desiredCount": 1 }),
        ),
        ("ECS.DescribeServices", json!({ "cluster": "nowhere", "services": ["web"] })),
        ("ECS.ListTagsForResource", json!({ "resourceArn": "$FIRST_TASK_DEFINITION" })),
        (
            "ECR.CreateRepository",
            json!({
                "repositoryName": "acme/web",
                "imageScanningConfiguration": { "scanOnPush": true }
            }),
        ),
        ("ECR.DescribeRepositories", json!({ "repositoryNames": ["acme/web"] })),
        ("ECR.DescribeRepositories", json!({ "repositoryNames": ["absent"] })),
        ("ECR.GetAuthorizationToken", json!({})),
        (
            "ECR.PutLifecyclePolicy",
            json!({
                "repositoryName": "acme/web",
                "lifecyclePolicyText":
                    "{\"rules\":[{\"rulePriority\":1,\"selection\":{\"tagStatus\":\"any\",\
                     \"countType\":\"imageCountMoreThan\",\"countNumber\":30},\
                     \"action\":{\"type\":\"expire\"}}]}"
            }),
        ),
        ("ECR.GetLifecyclePolicy", json!({ "repositoryName": "acme/web" })),
    ]
}

/// Fields moto sends that the local endpoint does not, each for a reason (docs/local.md).
const MOTO_ONLY: &[&str] = &[
    // moto fills these for every service; ECS sends them only for Fargate (platformFamily),
    // awsvpc (networkConfiguration) and the EXTERNAL controller (taskSets)
    ".service.deployments[].platformFamily",
    ".services[].deployments[].platformFamily",
    ".service.networkConfiguration",
    ".services[].networkConfiguration",
    ".service.taskSets",
    ".services[].taskSets",
    // moto writes the default network mode into every task definition; the local ECS
    // returns what was registered, so a registration round-trips unchanged
    ".taskDefinition.networkMode",
    // moto echoes request members back that ECS documents but ferry's local ECS leaves out
    ".cluster.serviceConnectDefaults",
    ".cluster.configuration",
    ".cluster.attachments",
    ".cluster.attachmentsStatus",
    ".cluster.tags",
    ".clusters[].tags",
    ".clusters[].attachments",
    ".clusters[].attachmentsStatus",
    ".clusters[].configuration",
    ".clusters[].serviceConnectDefaults",
    ".service.roleArn",
    ".service.tags",
    ".services[].roleArn",
    ".services[].tags",
    ".repository.imageTagMutabilityExclusionFilters",
    ".repositories[].imageTagMutabilityExclusionFilters",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_and_the_local_endpoint_answer_with_the_same_shape() {
    let Some(moto) = tokio::task::spawn_blocking(Moto::start).await.expect("join") else { return };
    let moto_address = moto.address.clone();
    let server = local(1.0).await;
    let local_address = server.url().trim_start_matches("http://").to_owned();
    let mut differences = Vec::new();
    let mut compared = 0;
    // Each endpoint has its own account, so ARNs are taken from its own answers.
    let (mut moto_arn, mut local_arn) = (String::new(), String::new());
    for (call, body) in sequence() {
        let with_arn = |arn: &str| {
            serde_json::from_str::<Value>(&body.to_string().replace("$FIRST_TASK_DEFINITION", arn))
                .expect("json")
        };
        let (moto_request, local_request) = (with_arn(&moto_arn), with_arn(&local_arn));
        let target = match call.split_once('.') {
            Some(("ECS", op)) => format!("{}.{op}", wire::ECS),
            Some((_, op)) => format!("{}.{op}", wire::ECR),
            None => unreachable!("calls are SERVICE.Op"),
        };
        let (moto_body, local_body) = {
            let (target, moto_address, local_address) =
                (target.clone(), moto_address.clone(), local_address.clone());
            tokio::task::spawn_blocking(move || {
                (
                    wire::call(&moto_address, &target, &moto_request),
                    wire::call(&local_address, &target, &local_request),
                )
            })
            .await
            .expect("join")
        };
        let ((moto_status, moto_value), (local_status, local_value)) = (moto_body, local_body);
        if call == "ECS.RegisterTaskDefinition" && moto_arn.is_empty() {
            moto_arn = moto_value["taskDefinition"]["taskDefinitionArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            local_arn = local_value["taskDefinition"]["taskDefinitionArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        assert_eq!(
            moto_status / 100,
            local_status / 100,
            "{call}: moto {moto_status} {moto_value}, local {local_status} {local_value}"
        );
        if moto_status != 200 {
            assert_eq!(
                moto_value["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t)),
                local_value["__type"].as_str(),
                "{call}: error type"
            );
            continue;
        }
        let (mut moto_shape, mut local_shape) = (BTreeMap::new(), BTreeMap::new());
        shape(&moto_value, "", &mut moto_shape);
        shape(&local_value, "", &mut local_shape);
        for (path, kind) in &moto_shape {
            compared += 1;
            match local_shape.get(path) {
                Some(local_kind) if local_kind == kind => {}
                Some(local_kind) => {
                    differences.push(format!("{call} {path}: moto {kind}, local {local_kind}"));
                }
                None if MOTO_ONLY.iter().any(|p| path.starts_with(p)) => {}
                None => differences.push(format!("{call} {path}: only moto has it ({kind})")),
            }
        }
    }
    drop(moto);
    server.shutdown().await.expect("stop");
    let unique: BTreeSet<String> = differences.into_iter().collect();
    assert!(
        unique.is_empty(),
        "{compared} fields compared; differences:\n{}",
        unique.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(compared > 100, "only {compared} fields compared");
}
