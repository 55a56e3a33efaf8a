//! The local ECS's state file: kept between runs, a bad one refused, each task's fate kept
//! across a restart mid-rollout, and a stopped endpoint that answers nothing more on a
//! connection kept alive, and resources kept per region.

use ferry::local::LocalEcs;

use crate::support::local_ecs::Start;
use crate::support::wire::{self, ECS};

#[tokio::test(flavor = "multi_thread")]
async fn state_persists_between_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    // Each start on a manual clock of its own.
    let options = || Start::manual().state_file(&path).options();
    let first = LocalEcs::start(options()).await.expect("start");
    let (status, _) = wire::call_text(
        first.url(),
        &format!("{ECS}.RegisterTaskDefinition"),
        r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x:1"}]}"#,
    );
    assert_eq!(status, 200);
    first.shutdown().await.expect("saved");
    let second = LocalEcs::start(options()).await.expect("restart");
    let (_, answer) = wire::call_text(
        second.url(),
        &format!("{ECS}.RegisterTaskDefinition"),
        r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x:2"}]}"#,
    );
    assert_eq!(answer["taskDefinition"]["revision"], 2, "revision 1 was kept");
    second.shutdown().await.expect("saved");
    std::fs::write(&path, "not json").expect("write");
    let error = LocalEcs::start(options()).await.err().expect("a bad state file is refused");
    assert!(error.to_string().contains("is not a ferry local state"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_rollout_keeps_each_tasks_fate() {
    // Tasks of a crashing image are still PENDING when the endpoint stops; restarted from
    // its state file, they must still crash — not quietly run healthy and "complete".
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let faults = r#"{"images": [{"match": "*:crash", "crash_after": "5s", "exit_code": 3}]}"#;
    let options = || Start::manual().faults(faults).state_file(&path).options();
    let first = LocalEcs::start(options()).await.expect("start");
    let call = |url: &str, op: &str, body: &str| wire::call_text(url, &format!("{ECS}.{op}"), body);
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

/// Resources are kept per region, from the region each request is signed for: a client
/// in eu-central-1 sees eu-central-1 ARNs and only its own clusters, repositories and
/// services; a rollout there runs; and the state file keeps every region.
#[tokio::test(flavor = "multi_thread")]
async fn resources_are_kept_per_region() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let options = || Start::manual().state_file(&path).options();
    let server = LocalEcs::start(options()).await.expect("start");
    let clients = |url: String| async move {
        let config = crate::support::test::sdk_config(&url).await;
        let frankfurt = aws_sdk_ecs::config::Builder::from(&config)
            .region(aws_config::Region::new("eu-central-1"))
            .build();
        let ecr = aws_sdk_ecr::config::Builder::from(&config)
            .region(aws_config::Region::new("eu-central-1"))
            .build();
        (
            aws_sdk_ecs::Client::new(&config),
            aws_sdk_ecs::Client::from_conf(frankfurt),
            aws_sdk_ecr::Client::from_conf(ecr),
        )
    };
    let (virginia, frankfurt, frankfurt_ecr) = clients(server.url().to_owned()).await;
    // A region AWS does not have is refused as AWS refuses a credential scoped to it.
    let config = crate::support::test::sdk_config(server.url()).await;
    let mars = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&config)
            .region(aws_config::Region::new("mars-1"))
            .build(),
    );
    let refused = mars.list_clusters().send().await.expect_err("no such region");
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::code(&refused),
        Some("InvalidSignatureException")
    );
    let cluster = frankfurt.create_cluster().cluster_name("eu").send().await.expect("create");
    let arn = cluster.cluster().and_then(|c| c.cluster_arn()).expect("arn").to_owned();
    assert_eq!(arn, "arn:aws:ecs:eu-central-1:000000000000:cluster/eu");
    let repository =
        frankfurt_ecr.create_repository().repository_name("web").send().await.expect("repo");
    assert_eq!(
        repository.repository().and_then(|r| r.repository_uri()),
        Some("000000000000.dkr.ecr.eu-central-1.amazonaws.com/web")
    );
    let seen = virginia.describe_clusters().clusters("eu").send().await.expect("describe");
    assert_eq!(seen.failures()[0].reason(), Some("MISSING"), "not in us-east-1");
    let listed = virginia.list_clusters().send().await.expect("list");
    assert!(listed.cluster_arns().is_empty(), "{listed:?}");
    let td = frankfurt
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("a").image("x:1").build(),
        )
        .send()
        .await
        .expect("register");
    let td = td.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned();
    assert!(td.starts_with("arn:aws:ecs:eu-central-1:"), "{td}");
    frankfurt
        .create_service()
        .cluster("eu")
        .service_name("web")
        .task_definition(&td)
        .desired_count(2)
        .send()
        .await
        .expect("service");
    server.clock().advance(120_000);
    let described = frankfurt.describe_services().cluster("eu").services("web").send().await;
    let described = described.expect("describe");
    assert_eq!(described.services()[0].running_count(), 2, "the rollout ran in eu-central-1");
    server.shutdown().await.expect("saved");

    let again = LocalEcs::start(options()).await.expect("restart");
    let (virginia, frankfurt, _) = clients(again.url().to_owned()).await;
    let kept = frankfurt.list_clusters().send().await.expect("list");
    assert_eq!(kept.cluster_arns(), [arn.as_str()]);
    assert!(virginia.list_clusters().send().await.expect("list").cluster_arns().is_empty());
    again.shutdown().await.expect("saved");
}
