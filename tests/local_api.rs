//! The local ECS endpoint through the real AWS SDK for Rust: a rollout and its circuit
//! breaker, typed errors, paging, task-definition revisions and health checks. The clock
//! is stepped by hand, so a rollout is watched at the moments that matter. ECR is in
//! `local_api_ecr`, raw HTTP (lossless task definitions, malformed input, injected faults)
//! in `local_api_wire`, the state file and restarts in `local_api_state`.

use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, DesiredStatus,
    HealthCheck,
};

use crate::support::local_ecs::{Endpoint, start};

fn container(image: &str) -> ContainerDefinition {
    ContainerDefinition::builder().name("app").image(image).essential(true).build()
}

async fn register(local: &Endpoint, image: &str) -> String {
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
    local: &Endpoint,
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
        local.clock().advance(5_000);
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

/// UpdateService of service `web` in cluster `c` to task definition `arn`.
async fn update_to(
    local: &Endpoint,
    arn: &str,
) -> aws_sdk_ecs::operation::update_service::UpdateServiceOutput {
    local
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(arn)
        .send()
        .await
        .expect("update")
}

/// One service deployment, described.
async fn service_deployment(local: &Endpoint, arn: &str) -> aws_sdk_ecs::types::ServiceDeployment {
    local
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .expect("describe deployment")
        .service_deployments()[0]
        .clone()
}

/// Its circuit breaker's status.
fn breaker_status(deployment: &aws_sdk_ecs::types::ServiceDeployment) -> Option<&str> {
    deployment
        .deployment_circuit_breaker()
        .and_then(|b| b.status())
        .map(aws_sdk_ecs::types::ServiceDeploymentRollbackMonitorsStatus::as_str)
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
    let updated = update_to(&local, &v2).await;
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
    let detail = service_deployment(&local, arn).await;
    let rollback = detail.rollback().expect("a rollback");
    assert_eq!(
        rollback.reason(),
        Some(
            format!("ECS deployment circuit breaker: rolling back to deploymentId {first}.")
                .as_str()
        )
    );
    // The breaker as AWS reports it after a crash rollback: TRIGGERED, at its threshold.
    let breaker = detail.deployment_circuit_breaker().expect("breaker");
    assert_eq!(breaker_status(&detail), Some("TRIGGERED"));
    assert_eq!((breaker.failure_count(), breaker.threshold()), (3, 3));
    // The deployment it rolled back to finished when it completed, not when looked at.
    let earlier = records.service_deployments()[1].service_deployment_arn().expect("arn");
    let earlier = service_deployment(&local, earlier).await;
    assert_eq!(breaker_status(&earlier), Some("MONITORING_COMPLETE"));
    let finished = detail.finished_at().expect("finished").secs();
    local.clock().advance(600_000);
    let again = service_deployment(&local, arn).await;
    assert_eq!(again.finished_at().map(aws_sdk_ecs::primitives::DateTime::secs), Some(finished));
}

/// A rollback asked for with StopServiceDeployment is reported as that, not as the
/// circuit breaker's: its reason says so and the breaker did not trigger.
#[tokio::test(flavor = "multi_thread")]
async fn a_requested_rollback_is_not_the_breakers() {
    let local = start("{}").await;
    local.ecs.create_cluster().cluster_name("c").send().await.expect("cluster");
    let v1 = register(&local, "acme/web:1").await;
    local
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&v1)
        .desired_count(2)
        .deployment_configuration(breaker())
        .send()
        .await
        .expect("create");
    wait_until(&local, completed).await;
    let v2 = register(&local, "acme/web:2").await;
    update_to(&local, &v2).await;
    let records = local
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .send()
        .await
        .expect("list");
    let arn = records.service_deployments()[0].service_deployment_arn().expect("arn").to_owned();
    local
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .expect("stop");
    wait_until(&local, |s| completed(s) && primary(s).task_definition() == Some(v1.as_str())).await;
    let detail = service_deployment(&local, &arn).await;
    assert_eq!(
        detail.status().map(aws_sdk_ecs::types::ServiceDeploymentStatus::as_str),
        Some("ROLLBACK_SUCCESSFUL")
    );
    let reason = detail.rollback().and_then(|r| r.reason()).expect("reason");
    assert!(reason.contains("on a stop request"), "{reason}");
    assert_eq!(breaker_status(&detail), Some("MONITORING_COMPLETE"));
    assert_eq!(
        detail
            .deployment_circuit_breaker()
            .map(aws_sdk_ecs::types::ServiceDeploymentCircuitBreaker::failure_count),
        Some(0)
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
    update_to(&local, &sick).await;
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

/// AWS's documented rounds (the best-practices guide's "Task deployment") come out step
/// for step through the endpoint too: six tasks in a cluster with room for eight, then
/// nine, as the service events tell them.
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_rounds_come_out_through_the_endpoint() {
    for (room, min, expected) in [
        (8, 100, vec!["start 2", "stop 2", "start 2", "stop 2", "start 2", "stop 2"]),
        (8, 50, vec!["stop 3", "start 5", "stop 3", "start 1"]),
        (9, 50, vec!["stop 3", "start 6", "stop 3"]),
    ] {
        let local = crate::support::local_ecs::Start::manual().capacity(Some(room)).start().await;
        local.ecs.create_cluster().cluster_name("c").send().await.expect("cluster");
        let v1 = register(&local, "web:1").await;
        local
            .ecs
            .create_service()
            .cluster("c")
            .service_name("web")
            .task_definition(&v1)
            .desired_count(6)
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .minimum_healthy_percent(min)
                    .maximum_percent(200)
                    .build(),
            )
            .send()
            .await
            .expect("create");
        let settled = wait_until(&local, completed).await;
        let before = settled.events().len();
        let v2 = register(&local, "web:2").await;
        update_to(&local, &v2).await;
        let service = wait_until(&local, |s| {
            completed(s) && primary(s).task_definition() == Some(v2.as_str())
        })
        .await;
        // Events are newest first; the ones since the update, oldest first.
        let rounds: Vec<String> = service.events()[..service.events().len() - before]
            .iter()
            .rev()
            .filter_map(|e| {
                let message = e.message()?;
                let (_, rest) = message.split_once(") has ")?;
                let (verb, rest) = rest.split_once(' ')?;
                let count = rest.split_once(' ')?.0;
                match verb {
                    "started" => Some(format!("start {count}")),
                    "stopped" => Some(format!("stop {count}")),
                    _ => None,
                }
            })
            .collect();
        assert_eq!(rounds, expected, "room for {room}, min {min}%");
    }
}
