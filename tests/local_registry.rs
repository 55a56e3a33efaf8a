//! The local ECR in front of a real registry (Debian's docker-registry): repository URIs
//! and the token's proxy endpoint point at it, and the image calls (`DescribeImages`,
//! `ListImages`, `BatchGetImage`, `PutImage`, `BatchDeleteImage`, `DeleteRepository`)
//! answer from and act on its v2 API, with and without authentication.

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

fn by_tag(tag: &str) -> aws_sdk_ecr::types::ImageIdentifier {
    aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build()
}

/// ListImages, PutImage (the retag AWS documents: BatchGetImage's manifest put back under
/// another tag), an immutable repository refusing to move a tag unless a filter excludes
/// it, imagePushedAt as the time an image was first seen, BatchDeleteImage by tag (the
/// image stays while another tag holds it) and DeleteRepository with and without force.
#[tokio::test(flavor = "multi_thread")]
async fn images_are_listed_retagged_and_deleted() {
    use aws_sdk_ecr::types::{
        ImageTagMutability, ImageTagMutabilityExclusionFilter,
        ImageTagMutabilityExclusionFilterType, ListImagesFilter, TagStatus,
    };
    let Some(registry) = tokio::task::spawn_blocking(|| Registry::start(None)).await.expect("join")
    else {
        return;
    };
    let (server, ecr) = ecr_for(&registry, None).await;
    let filter = ImageTagMutabilityExclusionFilter::builder()
        .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
        .filter("latest")
        .build()
        .expect("filter");
    ecr.create_repository()
        .repository_name("acme/api")
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(filter)
        .send()
        .await
        .expect("create");
    let registry = std::sync::Arc::new(registry);
    let pushing = std::sync::Arc::clone(&registry);
    let (one, _) = tokio::task::spawn_blocking(move || {
        let one = pushing.push_image("acme/api", "v1", None, b"layer one");
        pushing.push_image("acme/api", "v2", None, b"layer two");
        one
    })
    .await
    .expect("join");
    let first = ecr.describe_images().repository_name("acme/api").send().await.expect("describe");
    let pushed_at = |details: &[aws_sdk_ecr::types::ImageDetail], digest: &str| {
        details
            .iter()
            .find(|d| d.image_digest() == Some(digest))
            .and_then(|d| d.image_pushed_at())
            .map(|t| (t.secs(), t.subsec_nanos()))
            .expect("pushed at")
    };
    let seen = pushed_at(first.image_details(), &one);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    // Retag v1 as latest (excluded from immutability) and as v3 (new): both accepted.
    let manifest = ecr
        .batch_get_image()
        .repository_name("acme/api")
        .image_ids(by_tag("v1"))
        .send()
        .await
        .expect("get")
        .images()[0]
        .image_manifest()
        .expect("manifest")
        .to_owned();
    for tag in ["latest", "v3"] {
        let put = ecr
            .put_image()
            .repository_name("acme/api")
            .image_manifest(&manifest)
            .image_tag(tag)
            .send()
            .await
            .expect("put");
        let image_id = put.image().and_then(|i| i.image_id()).expect("id");
        assert_eq!(image_id.image_digest(), Some(one.as_str()), "the digest of the manifest");
    }
    // Moving the immutable v2 onto v1's image is refused; the same image again too.
    let moved = ecr
        .put_image()
        .repository_name("acme/api")
        .image_manifest(&manifest)
        .image_tag("v2")
        .send()
        .await
        .expect_err("v2 is immutable");
    assert!(moved.into_service_error().is_image_tag_already_exists_exception());
    let again = ecr
        .put_image()
        .repository_name("acme/api")
        .image_manifest(&manifest)
        .image_tag("v1")
        .send()
        .await
        .expect_err("already there");
    assert!(again.into_service_error().is_image_already_exists_exception());

    // A manifest the registry cannot take is the caller's fault (4xx), never a retried 500.
    let broken = ecr
        .put_image()
        .repository_name("acme/api")
        .image_manifest(concat!(
            r#"{"schemaVersion": 2, "config": {}, "layers": "none", "mediaType": "#,
            r#""application/vnd.docker.distribution.manifest.v2+json"}"#
        ))
        .image_tag("broken")
        .send()
        .await
        .expect_err("not a manifest")
        .into_service_error();
    assert!(
        broken.is_invalid_parameter_exception() || broken.is_layers_not_found_exception(),
        "{broken:?}"
    );
    let listed = ecr.list_images().repository_name("acme/api").send().await.expect("list");
    let mut tags: Vec<&str> = listed.image_ids().iter().filter_map(|id| id.image_tag()).collect();
    tags.sort_unstable();
    assert_eq!(tags, ["latest", "v1", "v2", "v3"]);
    let untagged = ecr
        .list_images()
        .repository_name("acme/api")
        .filter(ListImagesFilter::builder().tag_status(TagStatus::Untagged).build())
        .send()
        .await
        .expect("list untagged");
    assert!(untagged.image_ids().is_empty());
    let later = ecr.describe_images().repository_name("acme/api").send().await.expect("describe");
    assert_eq!(pushed_at(later.image_details(), &one), seen, "first seen, not asked");

    // Deleting the tag v1 leaves the image under its other tags; deleting them all, it goes.
    let deleted = ecr
        .batch_delete_image()
        .repository_name("acme/api")
        .image_ids(by_tag("v1"))
        .send()
        .await
        .expect("delete v1");
    assert_eq!(deleted.image_ids().len(), 1);
    let described = ecr
        .describe_images()
        .repository_name("acme/api")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_digest(&one).build())
        .send()
        .await
        .expect("still there");
    let mut left = described.image_details()[0].image_tags().to_vec();
    left.sort();
    assert_eq!(left, ["latest", "v3"]);
    let deleted = ecr
        .batch_delete_image()
        .repository_name("acme/api")
        .image_ids(by_tag("latest"))
        .image_ids(by_tag("v3"))
        .image_ids(by_tag("v9"))
        .send()
        .await
        .expect("delete the rest");
    assert_eq!((deleted.image_ids().len(), deleted.failures().len()), (2, 1));
    let listed = ecr.list_images().repository_name("acme/api").send().await.expect("list");
    let tags: Vec<&str> = listed.image_ids().iter().filter_map(|id| id.image_tag()).collect();
    assert_eq!(tags, ["v2"]);

    let refused =
        ecr.delete_repository().repository_name("acme/api").send().await.expect_err("not empty");
    assert!(refused.into_service_error().is_repository_not_empty_exception());
    ecr.delete_repository().repository_name("acme/api").force(true).send().await.expect("force");
    let gone =
        ecr.describe_repositories().repository_names("acme/api").send().await.expect_err("deleted");
    assert!(gone.into_service_error().is_repository_not_found_exception());
    server.shutdown().await.expect("stop");
}

/// A tag moved to another image in a mutable repository leaves the old image untagged,
/// as ECR keeps it: DescribeImages and ListImages (`tagStatus` UNTAGGED) still show it.
#[tokio::test(flavor = "multi_thread")]
async fn a_moved_tag_leaves_its_old_image_untagged() {
    use aws_sdk_ecr::types::{ListImagesFilter, TagStatus};
    let Some(registry) = tokio::task::spawn_blocking(|| Registry::start(None)).await.expect("join")
    else {
        return;
    };
    let (server, ecr) = ecr_for(&registry, None).await;
    ecr.create_repository().repository_name("acme/mut").send().await.expect("create");
    let registry = std::sync::Arc::new(registry);
    let pushing = std::sync::Arc::clone(&registry);
    let (first, _) =
        tokio::task::spawn_blocking(move || pushing.push_image("acme/mut", "latest", None, b"a"))
            .await
            .expect("join");
    // The local ECR sees the first image before the tag moves.
    ecr.describe_images().repository_name("acme/mut").send().await.expect("describe");
    let pushing = std::sync::Arc::clone(&registry);
    let (second, _) =
        tokio::task::spawn_blocking(move || pushing.push_image("acme/mut", "latest", None, b"b"))
            .await
            .expect("join");
    assert_ne!(first, second);
    let all = ecr.describe_images().repository_name("acme/mut").send().await.expect("describe");
    let untagged: Vec<&str> = all
        .image_details()
        .iter()
        .filter(|d| d.image_tags().is_empty())
        .filter_map(|d| d.image_digest())
        .collect();
    assert_eq!((all.image_details().len(), untagged), (2, vec![first.as_str()]));
    let listed = ecr
        .list_images()
        .repository_name("acme/mut")
        .filter(ListImagesFilter::builder().tag_status(TagStatus::Untagged).build())
        .send()
        .await
        .expect("list untagged");
    let ids: Vec<(Option<&str>, Option<&str>)> =
        listed.image_ids().iter().map(|id| (id.image_digest(), id.image_tag())).collect();
    assert_eq!(ids, [(Some(first.as_str()), None)]);
    server.shutdown().await.expect("stop");
}
