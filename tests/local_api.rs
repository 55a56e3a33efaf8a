//! The local ECS/ECR endpoint through the real AWS SDK for Rust (wire format, typed
//! errors, paging) and through raw HTTP (lossless task definitions, malformed input).
//! The clock is stepped by hand, so a rollout is watched at the moments that matter.

use std::io::{Read, Write};

use base64::Engine as _;

use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, DesiredStatus,
    HealthCheck,
};
use ferry::local::behaviour::FaultFile;
use ferry::local::clock::Clock;
use ferry::local::{LocalEcs, LocalOptions};
use serde_json::{Value, json};

struct Local {
    server: LocalEcs,
    ecs: aws_sdk_ecs::Client,
    ecr: aws_sdk_ecr::Client,
    clock: Clock,
}

async fn start(faults: &str) -> Local {
    let clock = Clock::manual();
    let server = LocalEcs::start(LocalOptions {
        faults: FaultFile::parse(faults).expect("fault file"),
        clock: Some(clock.clone()),
        ..LocalOptions::default()
    })
    .await
    .expect("local ECS starts");
    let config = crate::support::test::sdk_config(server.url()).await;
    Local {
        ecs: aws_sdk_ecs::Client::new(&config),
        ecr: aws_sdk_ecr::Client::new(&config),
        server,
        clock,
    }
}

fn container(image: &str) -> ContainerDefinition {
    ContainerDefinition::builder().name("app").image(image).essential(true).build()
}

async fn register(local: &Local, image: &str) -> String {
    local
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(container(image))
        .send()
        .await
        .expect("register")
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .expect("arn")
        .to_owned()
}

fn breaker() -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(200)
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder().enable(true).rollback(true).build(),
        )
        .build()
}

/// Steps the clock until `done` holds for the service, or ten virtual hours pass.
async fn wait_until(
    local: &Local,
    done: impl Fn(&aws_sdk_ecs::types::Service) -> bool,
) -> aws_sdk_ecs::types::Service {
    for _ in 0..7_200 {
        let service = local
            .ecs
            .describe_services()
            .cluster("c")
            .services("web")
            .send()
            .await
            .expect("describe")
            .services()[0]
            .clone();
        if done(&service) {
            return service;
        }
        local.clock.advance(5_000);
    }
    panic!("the service never reached the state");
}

fn primary(service: &aws_sdk_ecs::types::Service) -> &aws_sdk_ecs::types::Deployment {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .expect("a PRIMARY deployment")
}

fn completed(service: &aws_sdk_ecs::types::Service) -> bool {
    service.deployments().len() == 1
        && primary(service).rollout_state()
            == Some(&aws_sdk_ecs::types::DeploymentRolloutState::Completed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_rolls_and_a_crashing_image_is_rolled_back() {
    let local =
        start(r#"{"images": [{"match": "*:crash", "crash_after": "10s", "exit_code": 3}]}"#).await;
    local.ecs.create_cluster().cluster_name("c").send().await.expect("cluster");
    let v1 = register(&local, "acme/web:1").await;
    let created = local
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&v1)
        .desired_count(3)
        .deployment_configuration(breaker())
        .send()
        .await
        .expect("create service");
    let first =
        created.service().map(primary).and_then(|d| d.id()).expect("deployment id").to_owned();
    assert!(first.starts_with("ecs-svc/") && first.len() == 27, "{first}");
    let service = wait_until(&local, completed).await;
    assert_eq!((service.running_count(), service.desired_count()), (3, 3));
    assert_eq!(primary(&service).id(), Some(first.as_str()));
    let messages: Vec<&str> = service.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages[0], "(service web) has reached a steady state.", "newest first");

    let v2 = register(&local, "acme/web:crash").await;
    assert!(v2.ends_with("task-definition/web:2"), "{v2}");
    let updated = local
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&v2)
        .send()
        .await
        .expect("update");
    let ours = updated.service().map(primary).expect("primary").clone();
    assert_eq!(ours.task_definition(), Some(v2.as_str()));
    assert_eq!(ours.rollout_state(), Some(&aws_sdk_ecs::types::DeploymentRolloutState::InProgress));
    let ours = ours.id().expect("id").to_owned();

    let service =
        wait_until(&local, |s| completed(s) && primary(s).id() != Some(ours.as_str())).await;
    assert_eq!(
        primary(&service).id(),
        Some(first.as_str()),
        "rolled back to the completed deployment"
    );
    assert_eq!(primary(&service).task_definition(), Some(v1.as_str()));
    let messages: Vec<&str> = service.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        messages.contains(
            &format!("(service web) (deployment {ours}) deployment failed: tasks failed to start.")
                .as_str()
        ),
        "{messages:#?}"
    );
    assert!(
        messages.contains(&format!("(service web) rolling back to deployment {first}.").as_str()),
        "{messages:#?}"
    );

    // The stopped tasks of our deployment say why.
    let stopped = local
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .expect("list");
    let described = local
        .ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .expect("describe");
    let ours_stopped: Vec<_> =
        described.tasks().iter().filter(|t| t.started_by() == Some(ours.as_str())).collect();
    assert!(ours_stopped.len() >= 3, "{}", ours_stopped.len());
    for task in ours_stopped {
        assert_eq!(
            task.stop_code(),
            Some(&aws_sdk_ecs::types::TaskStopCode::EssentialContainerExited)
        );
        assert_eq!(task.stopped_reason(), Some("Essential container in task exited"));
        assert_eq!(task.containers()[0].exit_code(), Some(3));
        assert_eq!(task.group(), Some("service:web"));
    }

    // The service-deployment API tells the same story.
    let records = local
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .send()
        .await
        .expect("list deployments");
    let statuses: Vec<String> = records
        .service_deployments()
        .iter()
        .filter_map(|d| d.status().map(|s| s.as_str().to_owned()))
        .collect();
    assert_eq!(statuses, ["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"], "newest first");
    let arn = records.service_deployments()[0].service_deployment_arn().expect("arn");
    let detail = local
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .expect("describe deployment");
    let detail = &detail.service_deployments()[0];
    assert!(detail.rollback().is_some());
    assert_eq!(
        detail
            .deployment_circuit_breaker()
            .map(aws_sdk_ecs::types::ServiceDeploymentCircuitBreaker::threshold),
        Some(3)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_arrive_typed() {
    let local = start("{}").await;
    let error = local
        .ecs
        .create_service()
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .send()
        .await
        .expect_err("no task definition");
    assert_eq!(aws_sdk_ecs::error::ProvideErrorMetadata::code(&error), Some("ClientException"));
    local.ecs.create_cluster().cluster_name("c").send().await.expect("cluster");
    let td = register(&local, "acme/web:1").await;
    let error = local
        .ecs
        .create_service()
        .cluster("nope")
        .service_name("web")
        .task_definition(&td)
        .desired_count(1)
        .send()
        .await
        .expect_err("no cluster");
    assert!(error.into_service_error().is_cluster_not_found_exception());
    let error = local
        .ecs
        .update_service()
        .cluster("c")
        .service("ghost")
        .send()
        .await
        .expect_err("no service");
    assert!(error.into_service_error().is_service_not_found_exception());
    let missing =
        local.ecs.describe_services().cluster("c").services("ghost").send().await.expect("a 200");
    assert_eq!(missing.failures()[0].reason(), Some("MISSING"));
    local
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&td)
        .desired_count(1)
        .send()
        .await
        .expect("service");
    local.ecs.deregister_task_definition().task_definition(&td).send().await.expect("deregister");
    let error = local
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&td)
        .force_new_deployment(true)
        .send()
        .await
        .expect_err("inactive");
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::message(&error),
        Some("TaskDefinition is inactive")
    );
    let error = local
        .ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .send()
        .await
        .expect_err("scaled above 0");
    assert!(error.into_service_error().is_invalid_parameter_exception());
    let error = local
        .ecr
        .describe_images()
        .repository_name("nope")
        .send()
        .await
        .expect_err("no repository");
    assert!(error.into_service_error().is_repository_not_found_exception());
}

#[tokio::test(flavor = "multi_thread")]
async fn large_services_page() {
    let local = start(r#"{"images": [{"match": "*", "start": "1s"}]}"#).await;
    local.ecs.create_cluster().cluster_name("c").send().await.expect("cluster");
    let td = register(&local, "acme/web:1").await;
    local
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&td)
        .desired_count(150)
        .send()
        .await
        .expect("service");
    wait_until(&local, completed).await;
    let arns: Vec<String> = local
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("pages");
    assert_eq!(arns.len(), 150);
    let first_page =
        local.ecs.list_tasks().cluster("c").service_name("web").send().await.expect("page");
    assert_eq!(first_page.task_arns().len(), 100);
    assert!(first_page.next_token().is_some());
    let error = local
        .ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns.clone()))
        .send()
        .await
        .expect_err("over 100");
    assert!(error.into_service_error().is_invalid_parameter_exception());
}

#[tokio::test(flavor = "multi_thread")]
async fn task_definition_revisions_list_and_delete() {
    let local = start("{}").await;
    for image in ["a:1", "a:2", "a:3"] {
        register(&local, image).await;
    }
    let latest = local
        .ecs
        .list_task_definitions()
        .family_prefix("web")
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .max_results(1)
        .send()
        .await
        .expect("list");
    assert_eq!(
        latest.task_definition_arns(),
        ["arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"]
    );
    let error =
        local.ecs.delete_task_definitions().task_definitions("web:1").send().await.expect("answer");
    assert_eq!(
        error.failures()[0].reason().map(|r| r.contains("still in ACTIVE status")),
        Some(true)
    );
    local
        .ecs
        .deregister_task_definition()
        .task_definition("web:1")
        .send()
        .await
        .expect("deregister");
    let deleted =
        local.ecs.delete_task_definitions().task_definitions("web:1").send().await.expect("delete");
    assert_eq!(
        deleted.task_definitions()[0].status(),
        Some(&aws_sdk_ecs::types::TaskDefinitionStatus::DeleteInProgress)
    );
    let active = local.ecs.list_task_definitions().family_prefix("web").send().await.expect("list");
    assert_eq!(active.task_definition_arns().len(), 2);
    let next = register(&local, "a:4").await;
    assert!(next.ends_with(":4"), "revisions count up even past deleted ones: {next}");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_checks_gate_the_rollout() {
    let local = start(
        r#"{"images": [{"match": "*:sick", "never_healthy": true, "unhealthy_after": "20s"}]}"#,
    )
    .await;
    local.ecs.create_cluster().cluster_name("c").send().await.expect("cluster");
    let check =
        HealthCheck::builder().command("CMD-SHELL").command("true").build().expect("health check");
    let definition = |image: &str| {
        ContainerDefinition::builder().name("app").image(image).health_check(check.clone()).build()
    };
    let good = local
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(definition("x:good"))
        .send()
        .await
        .expect("register");
    let good =
        good.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned();
    local
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&good)
        .desired_count(2)
        .deployment_configuration(breaker())
        .send()
        .await
        .expect("service");
    wait_until(&local, completed).await;
    let tasks = local.ecs.list_tasks().cluster("c").service_name("web").send().await.expect("list");
    let described = local
        .ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(tasks.task_arns().to_vec()))
        .send()
        .await
        .expect("describe");
    assert!(
        described
            .tasks()
            .iter()
            .all(|t| t.health_status() == Some(&aws_sdk_ecs::types::HealthStatus::Healthy))
    );
    let sick = local
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(definition("x:sick"))
        .send()
        .await
        .expect("register");
    let sick =
        sick.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned();
    local
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&sick)
        .send()
        .await
        .expect("update");
    let service =
        wait_until(&local, |s| completed(s) && primary(s).task_definition() == Some(good.as_str()))
            .await;
    assert!(
        service.events().iter().any(|e| e.message().is_some_and(|m| m.contains("rolling back")))
    );
    let stopped = local
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .expect("list");
    let described = local
        .ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .expect("describe");
    assert!(
        described
            .tasks()
            .iter()
            .any(|t| t.stopped_reason() == Some("Task failed container health checks"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ecr_repositories_tokens_and_policies() {
    let local = start("{}").await;
    let created =
        local.ecr.create_repository().repository_name("acme/web").send().await.expect("create");
    let uri = created.repository().and_then(|r| r.repository_uri()).expect("uri");
    assert_eq!(uri, "000000000000.dkr.ecr.us-east-1.amazonaws.com/acme/web");
    let again =
        local.ecr.create_repository().repository_name("acme/web").send().await.expect_err("exists");
    assert!(again.into_service_error().is_repository_already_exists_exception());
    let token = local.ecr.get_authorization_token().send().await.expect("token");
    let data = &token.authorization_data()[0];
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.authorization_token().expect("token"))
        .expect("base64");
    assert_eq!(decoded, b"AWS:ferry-local");
    assert!(data.expires_at().is_some());
    let policy = concat!(
        r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","#,
        r#""countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}"#
    );
    local
        .ecr
        .put_lifecycle_policy()
        .repository_name("acme/web")
        .lifecycle_policy_text(policy)
        .send()
        .await
        .expect("put");
    let read =
        local.ecr.get_lifecycle_policy().repository_name("acme/web").send().await.expect("get");
    assert_eq!(read.lifecycle_policy_text(), Some(policy));
    let error = local
        .ecr
        .put_lifecycle_policy()
        .repository_name("acme/web")
        .lifecycle_policy_text("{}")
        .send()
        .await
        .expect_err("no rules");
    assert!(error.into_service_error().is_invalid_parameter_exception());
    let error = local
        .ecr
        .describe_images()
        .repository_name("acme/web")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .expect_err("no image");
    assert!(error.into_service_error().is_image_not_found_exception());
    let listed = local.ecr.describe_repositories().send().await.expect("describe");
    assert_eq!(listed.repositories().len(), 1);
}

/// POSTs a raw JSON 1.1 call; returns the status and the parsed body.
fn raw(url: &str, target: &str, body: &str) -> (u16, Value) {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\
         \r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

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
    let (status, answer) = raw(
        &url,
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        &registered.to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    let (_, described) = raw(
        &url,
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        r#"{"taskDefinition":"everything","include":["TAGS"]}"#,
    );
    let td = &described["taskDefinition"];
    for (member, value) in registered.as_object().expect("object") {
        if member != "tags" {
            holds(&td[member.as_str()], value, member);
        }
    }
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
    let ecs = "AmazonEC2ContainerServiceV20141113";
    for (target, body, status, kind) in [
        (format!("{ecs}.DescribeServices"), "{not json", 400, "SerializationException"),
        (format!("{ecs}.Teleport"), "{}", 400, "UnknownOperationException"),
        ("SomethingElse.Op".to_owned(), "{}", 400, "UnknownOperationException"),
        (format!("{ecs}.RegisterTaskDefinition"), "{}", 400, "InvalidParameterException"),
        (
            format!("{ecs}.RegisterTaskDefinition"),
            r#"{"family":"x","containerDefinitions":[{"name":"a"}]}"#,
            400,
            "ClientException",
        ),
        (format!("{ecs}.CreateService"), r#"{"serviceName": 7}"#, 400, "SerializationException"),
        (format!("{ecs}.DescribeClusters"), "[]", 400, "SerializationException"),
        (
            "AmazonEC2ContainerRegistry_V20150921.CreateRepository".to_owned(),
            r#"{"repositoryName":"Bad Name"}"#,
            400,
            "InvalidParameterException",
        ),
    ] {
        let (got, body) = raw(&url, &target, body);
        assert_eq!((got, body["__type"].as_str()), (status, Some(kind)), "{target}: {body}");
        assert!(body["message"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_api_faults() {
    let local = start(r#"{"api": {"throttle": 1.0}}"#).await;
    let (status, body) =
        raw(local.server.url(), "AmazonEC2ContainerServiceV20141113.DescribeClusters", "{}");
    assert_eq!((status, body["__type"].as_str()), (400, Some("ThrottlingException")));
    let local = start(r#"{"api": {"server_errors": 1.0}}"#).await;
    let (status, body) =
        raw(local.server.url(), "AmazonEC2ContainerServiceV20141113.DescribeClusters", "{}");
    assert_eq!((status, body["__type"].as_str()), (500, Some("ServerException")));
    // Dropped: the connection closes with no answer at all.
    let local = start(r#"{"api": {"drop_connections": 1.0}}"#).await;
    let address = local.server.url().trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        let body = "{}";
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {address}\r\n\
             X-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeClusters\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
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

#[tokio::test(flavor = "multi_thread")]
async fn state_persists_between_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let options = || LocalOptions {
        state_file: Some(path.clone()),
        clock: Some(Clock::manual()),
        ..LocalOptions::default()
    };
    let first = LocalEcs::start(options()).await.expect("start");
    let (status, _) = raw(
        first.url(),
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x:1"}]}"#,
    );
    assert_eq!(status, 200);
    first.shutdown().await.expect("saved");
    let second = LocalEcs::start(options()).await.expect("restart");
    let (_, answer) = raw(
        second.url(),
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x:2"}]}"#,
    );
    assert_eq!(answer["taskDefinition"]["revision"], 2, "revision 1 was kept");
    second.shutdown().await.expect("saved");
    std::fs::write(&path, "not json").expect("write");
    let error = LocalEcs::start(options()).await.err().expect("a bad state file is refused");
    assert!(error.contains("is not a ferry local state"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_rollout_keeps_each_tasks_fate() {
    // Tasks of a crashing image are still PENDING when the endpoint stops; restarted from
    // its state file, they must still crash — not quietly run healthy and "complete".
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let faults = r#"{"images": [{"match": "*:crash", "crash_after": "5s", "exit_code": 3}]}"#;
    let options = || LocalOptions {
        state_file: Some(path.clone()),
        clock: Some(Clock::manual()),
        faults: FaultFile::parse(faults).expect("faults"),
        ..LocalOptions::default()
    };
    let ecs = "AmazonEC2ContainerServiceV20141113";
    let first = LocalEcs::start(options()).await.expect("start");
    let call = |url: &str, op: &str, body: &str| raw(url, &format!("{ecs}.{op}"), body);
    call(first.url(), "CreateCluster", r#"{"clusterName":"c"}"#);
    call(
        first.url(),
        "RegisterTaskDefinition",
        r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x:1"}]}"#,
    );
    call(
        first.url(),
        "RegisterTaskDefinition",
        r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x:crash"}]}"#,
    );
    let breaker =
        r#""deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true,"rollback":true}}"#;
    let (status, _) = call(
        first.url(),
        "CreateService",
        &format!(
            "{{\"cluster\":\"c\",\"serviceName\":\"web\",\"taskDefinition\":\"web:1\",\
             \"desiredCount\":2,{breaker}}}"
        ),
    );
    assert_eq!(status, 200);
    first.clock().advance(120_000);
    call(
        first.url(),
        "UpdateService",
        r#"{"cluster":"c","service":"web","taskDefinition":"web:2"}"#,
    );
    first.clock().advance(10_000);
    first.shutdown().await.expect("saved");
    let second = LocalEcs::start(options()).await.expect("restart");
    for _ in 0..120 {
        second.clock().advance(5_000);
        let (_, answer) =
            call(second.url(), "DescribeServices", r#"{"cluster":"c","services":["web"]}"#);
        let _ = answer;
    }
    let (_, answer) =
        call(second.url(), "DescribeServices", r#"{"cluster":"c","services":["web"]}"#);
    let deployments = answer["services"][0]["deployments"].as_array().expect("deployments").clone();
    let primary = deployments.iter().find(|d| d["status"] == "PRIMARY").expect("primary");
    assert!(
        primary["taskDefinition"].as_str().is_some_and(|td| td.ends_with("web:1")),
        "the crashing revision must not complete after a restart: {deployments:#?}"
    );
    second.shutdown().await.expect("saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_endpoint_answers_nothing_more_on_a_kept_alive_connection() {
    // The SDK keeps connections alive. Once stopped, the endpoint must close them: an
    // endpoint restarted on the same port must answer the next call, from the state saved
    // (found by the soak: the stopped one answered on from its memory, unsaved).
    let mut local = crate::support::harness::Local::persistent("{}").await;
    let ecs = || local.clients.ecs.clone();
    ecs().create_cluster().cluster_name("before").send().await.expect("create");
    local.restart().await;
    let ecs = local.clients.ecs.clone();
    ecs.create_cluster().cluster_name("after").send().await.expect("create after restart");
    assert_eq!(
        local.server.calls().get("CreateCluster"),
        Some(&1),
        "the restarted endpoint answered the call"
    );
    let found = ecs.describe_clusters().clusters("before").clusters("after").send().await;
    let found = found.expect("describe");
    assert_eq!(found.clusters().len(), 2, "the state before the restart is there: {found:?}");
}

/// Every operation, every member it reads, every wrong type: answered with a 4xx and a
/// typed error, never a crash, a 500 or a hang; the endpoint keeps answering.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_types_in_every_member_never_break_the_endpoint() {
    let local = start("{}").await;
    let url = local.server.url().to_owned();
    let ecs = "AmazonEC2ContainerServiceV20141113";
    let ecr = "AmazonEC2ContainerRegistry_V20150921";
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
                let (status, answer) = raw(&url, &target, &body.to_string());
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
    let (status, _) = raw(&url, &format!("{ecs}.DescribeClusters"), "{}");
    assert_eq!(status, 200, "still answering after {calls} bad calls");
}
