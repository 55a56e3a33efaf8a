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
use crate::support::moto::{python_summary, python_tool};
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
    let args = vec![url.clone(), "contract/app".to_owned(), "v1".to_owned()];
    let operations = serde_json::json!(IMPLEMENTED).to_string();
    let envs = vec![("FERRY_CONTRACT_OPERATIONS", operations)];
    let (summary, stderr, succeeded) = python_summary(python, script, args, url, envs).await;
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
    assert!(succeeded, "stderr: {stderr}");
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

/// Runs tests/contract/query.py in `mode` with one JSON case a line; its lines back.
fn botocore_query(python: &std::path::Path, mode: &str, cases: &[Value]) -> Vec<Value> {
    use std::io::Write as _;
    let mut child = Command::new(python)
        .arg(root().join("tests/contract/query.py"))
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let input = cases.iter().map(Value::to_string).collect::<Vec<_>>().join("\n") + "\n";
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("python ends");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The local ECS's Query protocol (Elastic Load Balancing v2) against botocore's own:
/// every request botocore's serializer writes reads back as the parameters it was given,
/// and every answer ferry writes, botocore's parser reads as the value it was written from.
#[test]
fn the_query_protocol_reads_and_writes_as_botocore_does() {
    use ferry::local::model::query::Form;
    use ferry::local::model::{Model, Service};
    use serde_json::json;
    let Some(python) = python_tool("python") else { return };
    let model = Model::of(Service::Elbv2);
    let requests = [
        json!({"op": "CreateTargetGroup", "params": {"Name": "web", "Protocol": "HTTP",
            "Port": 8080, "VpcId": "vpc-1", "TargetType": "ip", "HealthCheckEnabled": true,
            "HealthCheckIntervalSeconds": 10, "Matcher": {"HttpCode": "200-299"},
            "Tags": [{"Key": "team", "Value": "web team+1"}]}}),
        json!({"op": "RegisterTargets", "params": {"TargetGroupArn": "arn:aws:x",
            "Targets": [{"Id": "10.0.0.1", "Port": 80}, {"Id": "10.0.0.2"}]}}),
        json!({"op": "ModifyTargetGroupAttributes", "params": {"TargetGroupArn": "arn:aws:x",
            "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]}}),
        json!({"op": "CreateRule", "params": {"ListenerArn": "arn:aws:l", "Priority": 10,
            "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
            "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": "arn:aws:blue", "Weight": 90},
                {"TargetGroupArn": "arn:aws:green", "Weight": 10}]}}]}}),
        json!({"op": "DescribeLoadBalancers", "params": {"Names": ["a", "b"], "PageSize": 5}}),
    ];
    for (case, sent) in requests.iter().zip(botocore_query(&python, "serialize", &requests)) {
        let body = sent["body"].as_str().expect("a body");
        let form = Form::parse(body.as_bytes());
        assert_eq!(form.action, case["op"]);
        let read = model.read_form(&form).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!(read, case["params"], "{body}");
    }
    let answers = [
        (
            "DescribeTargetHealth",
            json!({"TargetHealthDescriptions": [{
            "Target": {"Id": "10.0.0.1", "Port": 80},
            "HealthCheckPort": "80",
            "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                "Description": "Health checks failed with these codes: [500] <&>"}}]}),
        ),
        (
            "CreateTargetGroup",
            json!({"TargetGroups": [{"TargetGroupArn": "arn:aws:tg",
            "TargetGroupName": "web", "Port": 8080, "HealthCheckEnabled": true,
            "HealthCheckIntervalSeconds": 10, "Matcher": {"HttpCode": "200"},
            "LoadBalancerArns": []}]}),
        ),
        (
            "DescribeLoadBalancers",
            json!({"LoadBalancers": [{"LoadBalancerArn": "arn:aws:lb",
            "DNSName": "web.local", "CreatedTime": 1_796_223_845.25,
            "State": {"Code": "active"}, "AvailabilityZones": [{"ZoneName": "us-east-1a"}]}],
            "NextMarker": "m"}),
        ),
    ];
    let written: Vec<Value> = answers
        .iter()
        .map(|(op, answer)| {
            json!({"op": op, "xml": model.answer_xml(op, answer, "rid", "urn:elbv2")})
        })
        .collect();
    for ((op, answer), parsed) in answers.iter().zip(botocore_query(&python, "parse", &written)) {
        assert_eq!(&parsed["parsed"], answer, "{op}");
    }
}
