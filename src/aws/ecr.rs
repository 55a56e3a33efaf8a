//! The ECR calls of a `push` to `ecr(…)`: the repository (found, or created with its scan
//! and tag settings), its lifecycle policy, and a fresh registry login.

use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine as _;

use super::AwsError;
use super::aws_error::failed;

/// The ECR client of a run.
#[derive(Clone, Debug)]
pub struct Ecr {
    client: aws_sdk_ecr::Client,
}

/// A registry login from GetAuthorizationToken (valid for 12 hours).
#[derive(Clone, Debug)]
pub struct EcrLogin {
    pub username: String,
    pub password: String,
    /// The registry's URL (`https://ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
    pub server: String,
}

impl Ecr {
    #[must_use]
    pub fn new(client: aws_sdk_ecr::Client) -> Self {
        Self { client }
    }

    /// The repository's URI, or `None` when ECR has no such repository.
    pub async fn repository_uri(&self, repository: &str) -> Result<Option<String>, AwsError> {
        match self.client.describe_repositories().repository_names(repository).send().await {
            Ok(answer) => Ok(Some(
                answer
                    .repositories()
                    .first()
                    .and_then(|r| r.repository_uri())
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(DescribeRepositoriesError::is_repository_not_found_exception) =>
            {
                Ok(None)
            }
            Err(error) => Err(failed(
                self.client.config().region(),
                "DescribeRepositories",
                format!("repository `{repository}`"),
                &error,
            )),
        }
    }

    /// Creates the repository; its URI.
    pub async fn create_repository(
        &self,
        repository: &str,
        scan_on_push: bool,
        immutable: bool,
    ) -> Result<String, AwsError> {
        let mutability =
            if immutable { ImageTagMutability::Immutable } else { ImageTagMutability::Mutable };
        let created = self
            .client
            .create_repository()
            .repository_name(repository)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder().scan_on_push(scan_on_push).build(),
            )
            .image_tag_mutability(mutability)
            .send()
            .await
            .map_err(|e| {
                failed(
                    self.client.config().region(),
                    "CreateRepository",
                    format!("repository `{repository}`"),
                    &e,
                )
            })?;
        Ok(created.repository().and_then(|r| r.repository_uri()).unwrap_or_default().to_owned())
    }

    /// A lifecycle policy that keeps the newest `keep` images.
    pub async fn keep_newest(&self, repository: &str, keep: u32) -> Result<(), AwsError> {
        self.client
            .put_lifecycle_policy()
            .repository_name(repository)
            .lifecycle_policy_text(lifecycle_policy(keep))
            .send()
            .await
            .map_err(|e| {
                failed(
                    self.client.config().region(),
                    "PutLifecyclePolicy",
                    format!("repository `{repository}`"),
                    &e,
                )
            })?;
        Ok(())
    }

    /// A fresh login for the registry: a long build must not push with a stale one.
    pub async fn login(&self) -> Result<EcrLogin, AwsError> {
        let invalid = |message: &str| AwsError {
            operation: "GetAuthorizationToken",
            resource: "the registry".to_owned(),
            code: "InvalidAnswer".to_owned(),
            message: message.to_owned(),
        };
        let token = self.client.get_authorization_token().send().await.map_err(|e| {
            failed(self.client.config().region(), "GetAuthorizationToken", "the registry", &e)
        })?;
        let data =
            token.authorization_data().first().ok_or_else(|| invalid("ECR gave no token"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data.authorization_token().unwrap_or_default())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| invalid("the token is not base64 `user:password`"))?;
        let (username, password) =
            decoded.split_once(':').ok_or_else(|| invalid("the token has no password"))?;
        Ok(EcrLogin {
            username: username.to_owned(),
            password: password.to_owned(),
            server: data.proxy_endpoint().unwrap_or_default().to_owned(),
        })
    }
}

/// ECR's lifecycle policy that expires all but the newest `keep` images.
fn lifecycle_policy(keep: u32) -> String {
    format!(
        concat!(
            r#"{{"rules":[{{"rulePriority":1,"#,
            r#""description":"keep the newest {keep} images (ferry)","#,
            r#""selection":{{"tagStatus":"any","countType":"imageCountMoreThan","#,
            r#""countNumber":{keep}}},"action":{{"type":"expire"}}}}]}}"#
        ),
        keep = keep
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lifecycle_policy_is_json_keeping_the_newest_images() {
        let value: serde_json::Value =
            serde_json::from_str(&super::lifecycle_policy(7)).expect("json");
        assert_eq!(value["rules"][0]["selection"]["countNumber"], 7);
        assert_eq!(value["rules"][0]["selection"]["tagStatus"], "any");
        assert_eq!(value["rules"][0]["action"]["type"], "expire");
    }
}
