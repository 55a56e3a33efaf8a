//! The local ECS/ECR endpoint through raw HTTP (`support::wire`): task definitions come
//! back losslessly (every member the service model names), malformed calls and wrong
//! types get the errors a real endpoint gives and never break it, requests are read
//! against the service models, the list calls page as ECS pages them, and the fault
//! file's API faults (throttling, server errors, dropped connections) arrive as on AWS.

use serde_json::{Value, json};

use crate::support::local_ecs::start;
use crate::support::wire::{self, ECR, ECS};

/// `described` holds everything `registered` holds, with the same values; objects may
/// have more members (ECS's defaults), lists have the same length.
#[track_caller]
fn holds(described: &Value, registered: &Value, path: &str) {
    match (described, registered) {
        (Value::Object(got), Value::Object(sent)) => {
            for (key, value) in sent {
                holds(got.get(key).unwrap_or(&Value::Null), value, &format!("{path}.{key}"));
            }
        }
        (Value::Array(got), Value::Array(sent)) => {
            assert_eq!(got.len(), sent.len(), "{path}: length");
            for (index, (got, sent)) in got.iter().zip(sent).enumerate() {
                holds(got, sent, &format!("{path}[{index}]"));
            }
        }
        _ => assert_eq!(described, registered, "{path} changed"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn task_definitions_come_back_losslessly() {
    let local = start("{}").await;
    let url = local.server.url().to_owned();
    let registered = json!({
        "family": "everything",
        "taskRoleArn": "arn:aws:iam::000000000000:role/task",
        "executionRoleArn": "arn:aws:iam::000000000000:role/exec",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [{
            "name": "web",
            "image":
                "acme/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "essential": true,
            "environment": [{ "name": "EMPTY", "value": "" }, { "name": "MODE", "value": "prod" }],
            "secrets": [{
                "name": "DB",
                "valueFrom": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db"
            }],
            "portMappings": [
                { "containerPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http" }
            ],
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f localhost:8080/health"],
                "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 20
            },
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": { "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1" }
            },
            "mountPoints": [
                { "sourceVolume": "data", "containerPath": "/data", "readOnly": false }
            ],
            "ulimits": [{ "name": "nofile", "softLimit": 65536, "hardLimit": 65536 }],
            "linuxParameters": {
                "initProcessEnabled": true,
                "capabilities": { "add": ["SYS_PTRACE"], "drop": [] }
            },
            "dependsOn": [{ "containerName": "sidecar", "condition": "HEALTHY" }],
            "stopTimeout": 60,
            "dockerLabels": { "team": "web" },
            "futureMember": { "kept": "as sent" }
        }, {
            "name": "sidecar", "image": "envoy:1", "essential": false, "command": [""]
        }],
        "volumes": [{
            "name": "data",
            "efsVolumeConfiguration": { "fileSystemId": "fs-1", "rootDirectory": "/" }
        }],
        "placementConstraints": [
            { "type": "memberOf", "expression": "attribute:ecs.os-type == linux" }
        ],
        "proxyConfiguration": {
            "type": "APPMESH",
            "containerName": "sidecar",
            "properties": [{ "name": "AppPorts", "value": "8080" }]
        },
        "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
        "ephemeralStorage": { "sizeInGiB": 30 },
        "pidMode": "task",
        "tags": [{ "key": "team", "value": "web" }]
    });
    let (status, answer) = wire::call(&url, &format!("{ECS}.RegisterTaskDefinition"), &registered);
    assert_eq!(status, 200, "{answer}");
    let (_, described) = wire::call_text(
        &url,
        &format!("{ECS}.DescribeTaskDefinition"),
        r#"{"taskDefinition":"everything","include":["TAGS"]}"#,
    );
    let td = &described["taskDefinition"];
    let mut known = registered.clone();
    known["containerDefinitions"][0].as_object_mut().expect("object").remove("futureMember");
    for (member, value) in known.as_object().expect("object") {
        if member != "tags" {
            holds(&td[member.as_str()], value, member);
        }
    }
    // A member the service model does not name is dropped, as AWS drops it.
    assert!(td["containerDefinitions"][0].get("futureMember").is_none(), "{td}");
    // What was left out comes back as ECS fills it.
    assert_eq!(td["containerDefinitions"][1]["portMappings"], json!([]));
    assert_eq!(td["containerDefinitions"][1]["cpu"], json!(0));
    assert_eq!(described["tags"], registered["tags"]);
    assert_eq!(td["revision"], 1);
    assert_eq!(td["status"], "ACTIVE");
    assert!(td["registeredAt"].is_f64(), "timestamps are epoch seconds");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_calls_get_the_errors_a_real_endpoint_gives() {
    let local = start("{}").await;
    let url = local.server.url().to_owned();
    for (target, body, status, kind) in [
        (format!("{ECS}.DescribeServices"), "{not json", 400, "SerializationException"),
        (format!("{ECS}.Teleport"), "{}", 400, "UnknownOperationException"),
        ("SomethingElse.Op".to_owned(), "{}", 400, "UnknownOperationException"),
        (format!("{ECS}.RegisterTaskDefinition"), "{}", 400, "InvalidParameterException"),
        (
            format!("{ECS}.RegisterTaskDefinition"),
            r#"{"family":"x","containerDefinitions":[{"name":"a"}]}"#,
            400,
            "ClientException",
        ),
        (format!("{ECS}.CreateService"), r#"{"serviceName": 7}"#, 400, "SerializationException"),
        (format!("{ECS}.DescribeClusters"), "[]", 400, "SerializationException"),
        (
            format!("{ECR}.CreateRepository"),
            r#"{"repositoryName":"Bad Name"}"#,
            400,
            "InvalidParameterException",
        ),
    ] {
        let (got, body) = wire::call_text(&url, &target, body);
        assert_eq!((got, body["__type"].as_str()), (status, Some(kind)), "{target}: {body}");
        assert!(body["message"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_api_faults() {
    let local = start(r#"{"api": {"throttle": 1.0}}"#).await;
    let (status, body) =
        wire::call_text(local.server.url(), &format!("{ECS}.DescribeClusters"), "{}");
    assert_eq!((status, body["__type"].as_str()), (400, Some("ThrottlingException")));
    let local = start(r#"{"api": {"server_errors": 1.0}}"#).await;
    let (status, body) =
        wire::call_text(local.server.url(), &format!("{ECS}.DescribeClusters"), "{}");
    assert_eq!((status, body["__type"].as_str()), (500, Some("ServerException")));
    // Dropped: the connection closes with no answer at all.
    let local = start(r#"{"api": {"drop_connections": 1.0}}"#).await;
    let address = wire::host(local.server.url()).to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let request = wire::request(&address, &format!("{ECS}.DescribeClusters"), "{}");
        // No read timeout: a connection held open must not pass for a dropped one.
        let (answer, _) = wire::send_raw(&address, request.as_bytes(), None);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("join");
    assert_eq!(answer, "", "no answer on a dropped connection");
    // 30 % throttled: the SDK's retries still get every call through most of the time.
    let local = start(r#"{"api": {"throttle": 0.3, "seed": 11}}"#).await;
    let mut answered = 0;
    for _ in 0..20 {
        if local.ecs.describe_clusters().send().await.is_ok() {
            answered += 1;
        }
    }
    assert!(answered >= 17, "{answered} of 20");
    assert!(local.server.calls()["DescribeClusters"] > 20, "throttled calls were retried");
}

/// Every operation, every member it reads, every wrong type: answered with a 4xx and a
/// typed error, never a crash, a 500 or a hang; the endpoint keeps answering.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_types_in_every_member_never_break_the_endpoint() {
    let local = start("{}").await;
    let url = local.server.url().to_owned();
    let (ecs, ecr) = (ECS, ECR);
    let operations: &[(&str, &str, &[&str])] = &[
        (ecs, "CreateCluster", &["clusterName", "tags"]),
        (ecs, "DescribeClusters", &["clusters", "include"]),
        (
            ecs,
            "CreateService",
            &[
                "cluster",
                "serviceName",
                "taskDefinition",
                "desiredCount",
                "deploymentConfiguration",
                "loadBalancers",
                "networkConfiguration",
                "healthCheckGracePeriodSeconds",
                "tags",
                "launchType",
            ],
        ),
        (
            ecs,
            "UpdateService",
            &[
                "cluster",
                "service",
                "taskDefinition",
                "desiredCount",
                "forceNewDeployment",
                "deploymentConfiguration",
            ],
        ),
        (ecs, "DeleteService", &["cluster", "service", "force"]),
        (ecs, "DescribeServices", &["cluster", "services", "include"]),
        (
            ecs,
            "RegisterTaskDefinition",
            &["family", "containerDefinitions", "cpu", "memory", "networkMode", "tags"],
        ),
        (ecs, "DescribeTaskDefinition", &["taskDefinition", "include"]),
        (ecs, "DeregisterTaskDefinition", &["taskDefinition"]),
        (ecs, "DeleteTaskDefinitions", &["taskDefinitions"]),
        (
            ecs,
            "ListTaskDefinitions",
            &["familyPrefix", "status", "sort", "maxResults", "nextToken"],
        ),
        (
            ecs,
            "ListTasks",
            &["cluster", "serviceName", "startedBy", "desiredStatus", "maxResults", "nextToken"],
        ),
        (ecs, "DescribeTasks", &["cluster", "tasks"]),
        (ecs, "StopTask", &["cluster", "task", "reason"]),
        (ecs, "ListServiceDeployments", &["cluster", "service", "status"]),
        (ecs, "DescribeServiceDeployments", &["serviceDeploymentArns"]),
        (ecs, "StopServiceDeployment", &["serviceDeploymentArn", "stopType"]),
        (ecs, "TagResource", &["resourceArn", "tags"]),
        (ecs, "UntagResource", &["resourceArn", "tagKeys"]),
        (ecs, "ListTagsForResource", &["resourceArn"]),
        (
            ecr,
            "CreateRepository",
            &["repositoryName", "imageTagMutability", "imageScanningConfiguration"],
        ),
        (ecr, "DescribeRepositories", &["repositoryNames", "maxResults"]),
        (ecr, "GetAuthorizationToken", &[]),
        (ecr, "PutLifecyclePolicy", &["repositoryName", "lifecyclePolicyText"]),
        (ecr, "GetLifecyclePolicy", &["repositoryName"]),
        (ecr, "DescribeImages", &["repositoryName", "imageIds"]),
        (ecr, "BatchGetImage", &["repositoryName", "imageIds"]),
    ];
    let wrong = [
        json!(7),
        json!("text"),
        json!([]),
        json!({}),
        json!(true),
        json!([{}]),
        json!(-1),
        json!(""),
    ];
    let mut calls = 0;
    for (prefix, operation, members) in operations {
        let target = format!("{prefix}.{operation}");
        for member in members.iter().copied().chain([""]) {
            for value in &wrong {
                let body = if member.is_empty() { json!({}) } else { json!({ member: value }) };
                let (status, answer) = wire::call(&url, &target, &body);
                calls += 1;
                assert!(
                    status == 200 || (400..500).contains(&status),
                    "{target} {body}: {status} {answer}"
                );
                if status != 200 {
                    assert!(
                        answer["__type"].is_string() && answer["message"].is_string(),
                        "{target} {body}: {answer}"
                    );
                }
            }
        }
    }
    let (status, _) = wire::call_text(&url, &format!("{ecs}.DescribeClusters"), "{}");
    assert_eq!(status, 200, "still answering after {calls} bad calls");
}

/// The invalid inputs the endpoint once accepted and echoed back are refused as AWS
/// refuses them, naming the member, and leave nothing behind; the valid ECR requests it
/// once refused are accepted.
#[tokio::test(flavor = "multi_thread")]
async fn requests_are_read_against_the_service_models() {
    let local = start("{}").await;
    let url = local.server.url().to_owned();
    let ecs = |op: &str, body: Value| wire::call(&url, &format!("{ECS}.{op}"), &body);
    let ecr = |op: &str, body: Value| wire::call(&url, &format!("{ECR}.{op}"), &body);
    let (status, _) = ecs("CreateCluster", json!({"clusterName": "c"}));
    assert_eq!(status, 200);
    let family = json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "w:1",
        "memory": 128}]});
    assert_eq!(ecs("RegisterTaskDefinition", family).0, 200);
    let service = json!({"cluster": "c", "serviceName": "s", "taskDefinition": "web",
        "desiredCount": 1});
    assert_eq!(ecs("CreateService", service).0, 200);
    let refused = [
        (
            ecs(
                "UpdateService",
                json!({"cluster": "c", "service": "s", "deploymentConfiguration":
                {"deploymentCircuitBreaker": {"enable": "yes", "rollback": true}}}),
            ),
            "SerializationException",
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            ecs(
                "UpdateService",
                json!({"cluster": "c", "service": "s", "deploymentConfiguration":
                {"deploymentCircuitBreaker": {"rollback": true}}}),
            ),
            "InvalidParameterException",
            "at 'deploymentConfiguration.deploymentCircuitBreaker.enable' failed to satisfy \
             constraint: Member must not be null",
        ),
        (
            ecs(
                "RegisterTaskDefinition",
                json!({"family": "web", "containerDefinitions":
                [{"name": "web", "image": "w:2", "memory": "x"}]}),
            ),
            "SerializationException",
            "STRING_VALUE can not be converted to an Integer",
        ),
        (
            ecs(
                "CreateService",
                json!({"cluster": "c", "serviceName": "t", "taskDefinition": "web",
                "desiredCount": 1, "launchType": "BANANA"}),
            ),
            "InvalidParameterException",
            "Value 'BANANA' at 'launchType' failed to satisfy constraint: Member must satisfy \
             enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]",
        ),
        (
            ecr(
                "CreateRepository",
                json!({"repositoryName": "scanned",
                "imageScanningConfiguration": {"scanOnPush": "true"}}),
            ),
            "SerializationException",
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            ecr("DescribeRepositories", json!({"maxResults": 1001})),
            "InvalidParameterException",
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have \
             value less than or equal to 1000'",
        ),
        (
            ecr(
                "CreateRepository",
                json!({"repositoryName": "ex",
                "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}),
            ),
            "InvalidParameterException",
            "imageTagMutabilityExclusionFilters must be specified",
        ),
    ];
    for ((status, body), kind, message) in refused {
        assert_eq!((status, body["__type"].as_str()), (400, Some(kind)), "{body}");
        let text = body["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{text}\n  should hold: {message}");
    }
    // Nothing was kept: one revision, one service, its breaker as it was, no repository.
    let (_, revisions) = ecs("ListTaskDefinitions", json!({}));
    assert_eq!(revisions["taskDefinitionArns"].as_array().map(Vec::len), Some(1), "{revisions}");
    assert!(revisions.get("nextToken").is_none(), "no null token: {revisions}");
    let (_, services) = ecs("ListServices", json!({"cluster": "c"}));
    assert_eq!(services["serviceArns"].as_array().map(Vec::len), Some(1), "{services}");
    let (_, described) = ecs("DescribeServices", json!({"cluster": "c", "services": ["s"]}));
    let breaker = &described["services"][0]["deploymentConfiguration"]["deploymentCircuitBreaker"];
    assert_eq!(breaker["enable"], json!(false), "{described}");
    let (_, repositories) = ecr("DescribeRepositories", json!({"maxResults": 1000}));
    assert_eq!(repositories, json!({"repositories": []}));
    // ECR's own tag shape and the exclusion mutabilities are accepted and shown.
    let (status, created) = ecr(
        "CreateRepository",
        json!({"repositoryName": "acme/web",
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
        "tags": [{"Key": "team", "Value": "web"}]}),
    );
    assert_eq!(status, 200, "{created}");
    let repository = &created["repository"];
    assert_eq!(repository["imageTagMutability"], "IMMUTABLE_WITH_EXCLUSION");
    assert_eq!(
        repository["imageTagMutabilityExclusionFilters"],
        json!([{"filterType": "WILDCARD", "filter": "latest"}])
    );
    let arn = repository["repositoryArn"].clone();
    let (_, tags) = ecr("ListTagsForResource", json!({"resourceArn": arn}));
    assert_eq!(tags, json!({"tags": [{"Key": "team", "Value": "web"}]}));
    let (status, refused) = ecr("ListTagsForResource", json!({"resourceArn": "invalid"}));
    assert_eq!((status, refused["__type"].as_str()), (400, Some("InvalidParameterException")));
}

/// The list calls users type first answer, paged with ECS's default page sizes.
#[tokio::test(flavor = "multi_thread")]
async fn the_list_calls_page_as_ecs_pages_them() {
    let local = start("{}").await;
    let url = local.server.url().to_owned();
    let ecs = |op: &str, body: Value| wire::call(&url, &format!("{ECS}.{op}"), &body);
    for cluster in ["a", "b"] {
        assert_eq!(ecs("CreateCluster", json!({"clusterName": cluster})).0, 200);
    }
    for family in ["api", "web", "worker"] {
        let body = json!({"family": family, "containerDefinitions":
            [{"name": "c", "image": "i:1", "memory": 64}]});
        assert_eq!(ecs("RegisterTaskDefinition", body).0, 200);
    }
    for n in 0..12 {
        let body = json!({"cluster": "a", "serviceName": format!("s{n:02}"),
            "taskDefinition": "web", "desiredCount": 0, "launchType": "FARGATE"});
        assert_eq!(ecs("CreateService", body).0, 200);
    }
    let (_, clusters) = ecs("ListClusters", json!({}));
    assert_eq!(clusters["clusterArns"].as_array().map(Vec::len), Some(2));
    // ListServices gives 10 to a page unless maxResults says otherwise.
    let (_, first) = ecs("ListServices", json!({"cluster": "a"}));
    assert_eq!(first["serviceArns"].as_array().map(Vec::len), Some(10), "{first}");
    let (_, rest) = ecs("ListServices", json!({"cluster": "a", "nextToken": first["nextToken"]}));
    assert_eq!(rest["serviceArns"].as_array().map(Vec::len), Some(2), "{rest}");
    assert!(rest.get("nextToken").is_none());
    let (_, ec2) = ecs("ListServices", json!({"cluster": "a", "launchType": "EC2"}));
    assert_eq!(ec2, json!({"serviceArns": []}));
    let (_, none) = ecs("ListServices", json!({"cluster": "b", "maxResults": 100}));
    assert_eq!(none, json!({"serviceArns": []}));
    let (status, missing) = ecs("ListServices", json!({"cluster": "nope"}));
    assert_eq!((status, missing["__type"].as_str()), (400, Some("ClusterNotFoundException")));
    // Families by prefix and by whether a revision is ACTIVE.
    let (_, w) = ecs("ListTaskDefinitionFamilies", json!({"familyPrefix": "w"}));
    assert_eq!(w, json!({"families": ["web", "worker"]}));
    let arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/api:1";
    assert_eq!(ecs("DeregisterTaskDefinition", json!({"taskDefinition": arn})).0, 200);
    let (_, active) = ecs("ListTaskDefinitionFamilies", json!({"status": "ACTIVE"}));
    assert_eq!(active, json!({"families": ["web", "worker"]}));
    let (_, inactive) = ecs("ListTaskDefinitionFamilies", json!({"status": "INACTIVE"}));
    assert_eq!(inactive, json!({"families": ["api"]}));
    let (_, paged) = ecs("ListTaskDefinitionFamilies", json!({"maxResults": 2}));
    assert_eq!(paged["families"], json!(["api", "web"]));
    assert!(paged["nextToken"].is_string());
    let (_, instances) = ecs("ListContainerInstances", json!({"cluster": "a"}));
    assert_eq!(instances, json!({"containerInstanceArns": []}));
}
