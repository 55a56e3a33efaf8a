//! The local ECR endpoint through the real AWS SDK for Rust: repositories, authorization
//! tokens, lifecycle policies and the errors of images that are not there.

use base64::Engine as _;

use crate::support::local_ecs::start;

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
