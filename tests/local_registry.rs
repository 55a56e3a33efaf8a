//! The local ECR in front of a real registry (Debian's docker-registry): repository URIs
//! and the token's proxy endpoint point at it, and `DescribeImages` / `BatchGetImage`
//! answer from its v2 API, with and without authentication.

use base64::Engine as _;
use ferry::local::LocalEcs;
use ferry::local::ecr::RegistryConfig;

use crate::support::local_ecs::{Endpoint, Start};
use crate::support::registry::Registry;

async fn ecr_for(registry: &Registry, password: Option<&str>) -> (LocalEcs, aws_sdk_ecr::Client) {
    let config = RegistryConfig {
        address: Some(registry.address.clone()),
        password: password.map(str::to_owned),
    };
    let Endpoint { server, ecr, .. } = Start::real_time().registry(config).start().await;
    (server, ecr)
}

async fn images_through_the_local_ecr(password: Option<&'static str>) {
    let Some(registry) =
        tokio::task::spawn_blocking(move || Registry::start(password)).await.expect("join")
    else {
        return;
    };
    let (server, ecr) = ecr_for(&registry, password).await;
    let created = ecr.create_repository().repository_name("acme/web").send().await.expect("create");
    assert_eq!(
        created.repository().and_then(|r| r.repository_uri()),
        Some(format!("{}/acme/web", registry.address).as_str())
    );
    let token = ecr.get_authorization_token().send().await.expect("token");
    let data = &token.authorization_data()[0];
    assert_eq!(data.proxy_endpoint(), Some(format!("http://{}", registry.address).as_str()));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.authorization_token().expect("token"))
        .expect("base64");
    assert_eq!(decoded, format!("AWS:{}", password.unwrap_or("ferry-local")).as_bytes());

    let registry = std::sync::Arc::new(registry);
    let pushing = std::sync::Arc::clone(&registry);
    let (digest, manifest) = tokio::task::spawn_blocking(move || {
        let first = pushing.push_image("acme/web", "v1", password, b"layer one");
        pushing.push_image("acme/web", "latest", password, b"layer one");
        pushing.push_image("acme/web", "v2", password, b"layer two");
        first
    })
    .await
    .expect("join");
    let by_tag = ecr
        .describe_images()
        .repository_name("acme/web")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .expect("describe");
    let detail = &by_tag.image_details()[0];
    assert_eq!(detail.image_digest(), Some(digest.as_str()));
    let mut tags = detail.image_tags().to_vec();
    tags.sort();
    assert_eq!(tags, ["latest", "v1"], "both tags of the same manifest");
    let all = ecr.describe_images().repository_name("acme/web").send().await.expect("describe all");
    assert_eq!(all.image_details().len(), 2);
    let got = ecr
        .batch_get_image()
        .repository_name("acme/web")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_digest(&digest).build())
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag("v9").build())
        .send()
        .await
        .expect("batch get");
    assert_eq!(got.images()[0].image_manifest(), Some(manifest.as_str()));
    assert_eq!(
        got.failures()[0].failure_code(),
        Some(&aws_sdk_ecr::types::ImageFailureCode::ImageNotFound)
    );
    let missing = ecr
        .describe_images()
        .repository_name("acme/web")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag("v9").build())
        .send()
        .await
        .expect_err("no v9");
    assert!(missing.into_service_error().is_image_not_found_exception());
    server.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn images_of_an_open_registry() {
    images_through_the_local_ecr(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn images_of_a_registry_with_authentication() {
    images_through_the_local_ecr(Some("s3cr3t-token")).await;
}
