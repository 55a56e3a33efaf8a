//! Register-from-current is lossless: a task definition with every field family,
//! described and registered again with one change, comes back identical but for that
//! change and the read-only members — against moto (an independent implementation) and
//! against the local ECS.

use std::collections::BTreeMap;

use ferry::aws::{Clients, Ecs, Target};
use ferry::engine::{
    RevisionInput, next_revision, revision_from_json, revision_text, same_revision,
};
use ferry::eval::{ContainerChange, RegisterStep, Value};
use serde_json::{Value as Json, json};

use crate::support::local_ecs::Start;
use crate::support::moto::Moto;
use crate::support::wire::{self, ECS};

/// One ECS call (`support::wire`) whose answer must be JSON.
fn post(address: &str, operation: &str, body: &str) -> Json {
    let (_, answer) = wire::exchange(address, &format!("{ECS}.{operation}"), body);
    serde_json::from_str(&answer).expect("json")
}

/// Every field family of a task definition, and some empty strings.
fn everything() -> Json {
    json!({
        "family": "roundtrip",
        "taskRoleArn": "arn:aws:iam::123456789012:role/task",
        "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "pidMode": "task",
        "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
        "ephemeralStorage": { "sizeInGiB": 30 },
        "containerDefinitions": [{
            "name": "web",
            "image": "acme/web:1",
            "essential": true,
            "cpu": 256,
            "memoryReservation": 256,
            "environment": [{ "name": "EMPTY", "value": "" }, { "name": "MODE", "value": "prod" }],
            "secrets": [{
                "name": "DB",
                "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"
            }],
            "portMappings": [{ "containerPort": 8080, "hostPort": 8080, "protocol": "tcp" }],
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
            "linuxParameters": { "initProcessEnabled": true },
            "dependsOn": [{ "containerName": "proxy", "condition": "START" }],
            "stopTimeout": 60,
            "dockerLabels": { "team": "web" },
            "command": ["serve", ""],
            "workingDirectory": "/app"
        }, {
            "name": "proxy", "image": "envoy:1", "essential": false, "memory": 128
        }],
        "volumes": [{ "name": "data" }],
        "placementConstraints": [
            { "type": "memberOf", "expression": "attribute:ecs.os-type == linux" }
        ],
        "proxyConfiguration": {
            "type": "APPMESH",
            "containerName": "proxy",
            "properties": [{ "name": "AppPorts", "value": "8080" }]
        },
        "tags": [{ "key": "team", "value": "web" }, { "key": "empty", "value": "" }]
    })
}

/// Members that differ between two revisions by nature.
const READ_ONLY: [&str; 7] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "registeredAt",
    "registeredBy",
    "requiresAttributes",
    "compatibilities",
];

async fn round_trip(url: &str, address: &str) {
    let registered = post(address, "RegisterTaskDefinition", &everything().to_string());
    assert!(registered["taskDefinition"]["taskDefinitionArn"].is_string(), "{registered}");
    let clients = Clients::new(&Target::Local { url: url.to_owned() }).await;
    let ecs = Ecs::new(&clients);
    let (current, tags) = ecs.task_definition("roundtrip").await.expect("describe");
    let step = RegisterStep {
        name: "web_task".to_owned(),
        containers: vec![ContainerChange {
            name: "web".to_owned(),
            image: Some(Value::String("acme/web:2".to_owned())),
            ..ContainerChange::default()
        }],
        ..RegisterStep::default()
    };
    let images: BTreeMap<String, String> =
        [("web".to_owned(), "acme/web:2".to_owned())].into_iter().collect();
    let base = RevisionInput::from_described(&current, &tags);
    let unchanged = next_revision(
        Some(base.clone()),
        &RegisterStep { containers: vec![], ..step.clone() },
        &BTreeMap::new(),
    )
    .expect("same");
    assert_eq!(unchanged, base, "no change gives the current revision back");
    let next = next_revision(Some(base), &step, &images).expect("next revision");
    let arn = ecs.register(&next).await.expect("register");
    assert!(arn.ends_with("roundtrip:2"), "{arn}");
    let before = post(
        address,
        "DescribeTaskDefinition",
        r#"{"taskDefinition":"roundtrip:1","include":["TAGS"]}"#,
    );
    let after = post(
        address,
        "DescribeTaskDefinition",
        r#"{"taskDefinition":"roundtrip:2","include":["TAGS"]}"#,
    );
    let mut expected = before["taskDefinition"].clone();
    let mut got = after["taskDefinition"].clone();
    for member in READ_ONLY {
        expected.as_object_mut().expect("object").remove(member);
        got.as_object_mut().expect("object").remove(member);
    }
    expected["containerDefinitions"][0]["image"] = json!("acme/web:2");
    assert_eq!(got, expected, "the new revision differs beyond the image");
    assert_eq!(after["tags"], before["tags"], "tags are carried over");
    // The file reader takes the whole DescribeTaskDefinition answer of this endpoint, and
    // the JSON that was registered is, in canonical form, the revision it made of it:
    // ferry's idea of "nothing changed" agrees with what the endpoint filled in.
    let described = revision_from_json(&before.to_string()).expect("reads the described answer");
    let written = revision_from_json(&everything().to_string()).expect("reads the input");
    assert!(
        same_revision(&written, &described),
        "{}\n{}",
        revision_text(&written),
        revision_text(&described)
    );
    assert!(same_revision(&described, &RevisionInput::from_described(&current, &tags)));
    assert!(!same_revision(&written, &next), "the image differs");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_from_current_round_trips_on_moto() {
    let Some(moto) = tokio::task::spawn_blocking(Moto::start).await.expect("join") else { return };
    let (url, address) = (moto.url(), moto.address.clone());
    round_trip(&url, &address).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn register_from_current_round_trips_on_the_local_ecs() {
    let server = Start::real_time().start().await.server;
    let url = server.url().to_owned();
    round_trip(&url, url.trim_start_matches("http://")).await;
}
