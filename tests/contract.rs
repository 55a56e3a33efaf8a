//! The contract suite (tests/contract/contract.py): boto3 and the AWS CLI — AWS's own
//! clients, with botocore's copy of the service models, not the vendored one the endpoint
//! reads — run a broad sequence of ECS, ECR and STS calls against the local ECS in front of
//! a real registry, and every answer's raw JSON is checked against the model; then AWS's
//! documented examples (botocore's examples-1.json) of the implemented operations, none
//! refused as malformed. Zero deviations, and every operation the local ECS implements
//! called at least once.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::local_ecs::Start;
use crate::support::moto::{aws_env, python_tool};
use crate::support::registry::Registry;
use crate::support::test::root;

/// Every operation the local ECS answers, as `service:Operation` in botocore's names.
const IMPLEMENTED: &[&str] = &[
    "ecs:CreateCluster",
    "ecs:DescribeClusters",
    "ecs:ListClusters",
    "ecs:CreateService",
    "ecs:UpdateService",
    "ecs:DeleteService",
    "ecs:DescribeServices",
    "ecs:ListServices",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:DeleteTaskDefinitions",
    "ecs:ListTaskDefinitions",
    "ecs:ListTaskDefinitionFamilies",
    "ecs:ListContainerInstances",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:StopTask",
    "ecs:ListServiceDeployments",
    "ecs:DescribeServiceDeployments",
    "ecs:DescribeServiceRevisions",
    "ecs:StopServiceDeployment",
    "ecs:TagResource",
    "ecs:UntagResource",
    "ecs:ListTagsForResource",
    "ecr:CreateRepository",
    "ecr:DescribeRepositories",
    "ecr:DeleteRepository",
    "ecr:GetAuthorizationToken",
    "ecr:PutLifecyclePolicy",
    "ecr:GetLifecyclePolicy",
    "ecr:DescribeImages",
    "ecr:ListImages",
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:BatchDeleteImage",
    "ecr:TagResource",
    "ecr:UntagResource",
    "ecr:ListTagsForResource",
    "sts:GetCallerIdentity",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_a_broad_sequence_is_the_models() {
    let Some(python) = python_tool("python") else { return };
    let Some(registry) = tokio::task::spawn_blocking(|| Registry::start(None)).await.expect("join")
    else {
        return;
    };
    let registry = std::sync::Arc::new(registry);
    let pushing = std::sync::Arc::clone(&registry);
    tokio::task::spawn_blocking(move || pushing.push_image("contract/app", "v1", None, b"app"))
        .await
        .expect("join");
    let config = ferry::local::ecr::RegistryConfig {
        address: Some(registry.address.clone()),
        password: None,
    };
    let local = Start::real_time().speed(50.0).registry(config).start().await;
    let url = local.server.url().to_owned();
    let script = root().join("tests/contract/contract.py");
    let output = tokio::task::spawn_blocking(move || {
        let bin = python.parent().expect("bin").to_owned();
        let mut command = Command::new(&python);
        command.arg(script).args([url.as_str(), "contract/app", "v1"]);
        aws_env(&mut command, &url, &bin);
        command.env("FERRY_CONTRACT_OPERATIONS", serde_json::json!(IMPLEMENTED).to_string());
        command.output().expect("python runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("a summary\nstdout: {stdout}\nstderr: {stderr}"));
    eprintln!(
        "contract: {} calls, {} CLI commands, {} answers ({} errors) of {} operations, {} \
         values checked; {} of AWS's documented examples sent, {} answered 200, not \
         implemented: {}; refused (as AWS would, for what they name): {}",
        summary["calls"],
        summary["cli_commands"],
        summary["answers"],
        summary["errors"],
        summary["operations"].as_array().map_or(0, Vec::len),
        summary["values"],
        summary["examples"],
        summary["examples_answered"],
        summary["examples_not_implemented"],
        summary["examples_refused"]
    );
    assert_eq!(summary["deviations"], serde_json::json!([]), "stderr: {stderr}");
    assert!(output.status.success(), "stderr: {stderr}");
    let called: BTreeSet<&str> =
        summary["operations"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let missing: Vec<&&str> = IMPLEMENTED.iter().filter(|op| !called.contains(**op)).collect();
    assert!(missing.is_empty(), "never called: {missing:?}");
    assert!(summary["values"].as_u64() > Some(2000), "{summary}");
    assert!(summary["examples"].as_u64() >= Some(25), "AWS's examples were sent: {summary}");
}

/// models/ holds the pinned botocore's ECS and ECR models exactly (less their prose).
#[test]
fn the_vendored_models_are_the_pinned_botocores() {
    if python_tool("python").is_none() {
        return;
    }
    let output = Command::new(root().join("scripts/vendor-models"))
        .arg("--check")
        .stdin(Stdio::null())
        .output()
        .expect("the script runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
