//! ECR: `CreateRepository`, `DescribeRepositories`, `GetAuthorizationToken`,
//! `PutLifecyclePolicy`, `GetLifecyclePolicy`. Repository URIs and the token's
//! `proxyEndpoint` point at the registry given to `ferry local --registry`, when there is
//! one, so images pushed through the local ECR land in a real registry.

use base64::Engine as _;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::request::{Request, paginate};
use super::state::{EcsState, Repository};

/// ECR authorization tokens last 12 hours (§7.1).
const TOKEN_LIFETIME_MS: u64 = 12 * 3_600_000;

/// Where the local ECR's images live.
#[derive(Clone, Debug, Default)]
pub struct RegistryConfig {
    /// `host:port` of a v2 registry, if any.
    pub address: Option<String>,
    /// The password the token carries (user `AWS`), for a registry with authentication.
    pub password: Option<String>,
}

impl EcsState {
    fn registry_host(&self, registry: &RegistryConfig) -> String {
        registry
            .address
            .clone()
            .unwrap_or_else(|| format!("{}.dkr.ecr.{}.amazonaws.com", self.account, self.region))
    }

    pub fn create_repository(
        &mut self,
        request: Request<'_>,
        registry: &RegistryConfig,
        now: u64,
    ) -> Result<Value, ApiError> {
        let name = request.required_string("repositoryName")?.to_owned();
        if let Err(reason) = ferry_lang::aws_names::ecr_repository(&name) {
            return Err(ApiError::ecr_invalid(format!(
                "Invalid parameter at 'repositoryName' failed to satisfy constraint: {reason}"
            )));
        }
        if self.repositories.contains_key(&name) {
            return Err(ApiError::repository_exists(&name, &self.account));
        }
        let mutability = request.string("imageTagMutability")?.unwrap_or("MUTABLE").to_owned();
        if !["MUTABLE", "IMMUTABLE"].contains(&mutability.as_str()) {
            return Err(ApiError::ecr_invalid(format!("Invalid imageTagMutability: {mutability}")));
        }
        let scan_on_push = request
            .value("imageScanningConfiguration")
            .and_then(|c| c.get("scanOnPush"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let repository = Repository {
            arn: format!("arn:aws:ecr:{}:{}:repository/{name}", self.region, self.account),
            uri: format!("{}/{name}", self.registry_host(registry)),
            name: name.clone(),
            created_ms: now,
            scan_on_push,
            tag_mutability: mutability,
            lifecycle_policy: None,
        };
        self.set_tags_from(&repository.arn, request)?;
        let value = self.repository_json(&repository);
        self.repositories.insert(name, repository);
        Ok(json!({ "repository": value }))
    }

    pub fn describe_repositories(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let names = request.strings("repositoryNames")?;
        let mut found = Vec::new();
        if names.is_empty() {
            found.extend(self.repositories.values().map(|r| self.repository_json(r)));
        } else {
            for name in names {
                let repository = self
                    .repositories
                    .get(name)
                    .ok_or_else(|| ApiError::repository_not_found(name, &self.account))?;
                found.push(self.repository_json(repository));
            }
        }
        let (page, next) = paginate(&found, request.page()?);
        Ok(json!({ "repositories": page, "nextToken": next }))
    }

    pub fn get_authorization_token(&self, registry: &RegistryConfig, now: u64) -> Value {
        let password = registry.password.clone().unwrap_or_else(|| "ferry-local".to_owned());
        let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
        let endpoint = match &registry.address {
            Some(address) => format!("http://{address}"),
            None => format!("https://{}", self.registry_host(registry)),
        };
        json!({
            "authorizationData": [{
                "authorizationToken": token,
                "expiresAt": self.time(now + TOKEN_LIFETIME_MS),
                "proxyEndpoint": endpoint,
            }]
        })
    }

    pub fn put_lifecycle_policy(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let name = request.required_string("repositoryName")?;
        let text = request.required_string("lifecyclePolicyText")?;
        let policy: Value = serde_json::from_str(text).map_err(|error| {
            ApiError::ecr_invalid(format!(
                "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: \
                 'Lifecycle policy validation failure: {error}'"
            ))
        })?;
        if !policy.get("rules").is_some_and(Value::is_array) {
            return Err(ApiError::ecr_invalid(
                "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: \
                 'Lifecycle policy validation failure: object has missing required properties \
                 ([\"rules\"])'",
            ));
        }
        let account = self.account.clone();
        let repository = self
            .repositories
            .get_mut(name)
            .ok_or_else(|| ApiError::repository_not_found(name, &account))?;
        repository.lifecycle_policy = Some(text.to_owned());
        Ok(json!({ "registryId": account, "repositoryName": name, "lifecyclePolicyText": text }))
    }

    pub fn get_lifecycle_policy(&self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let name = request.required_string("repositoryName")?;
        let repository = self
            .repositories
            .get(name)
            .ok_or_else(|| ApiError::repository_not_found(name, &self.account))?;
        let text = repository
            .lifecycle_policy
            .as_ref()
            .ok_or_else(|| ApiError::lifecycle_policy_not_found(name, &self.account))?;
        Ok(json!({
            "registryId": self.account,
            "repositoryName": name,
            "lifecyclePolicyText": text,
            "lastEvaluatedAt": self.time(now),
        }))
    }

    /// The repository a request names, for the image calls answered from the registry.
    pub fn repository(&self, request: Request<'_>) -> Result<&Repository, ApiError> {
        let name = request.required_string("repositoryName")?;
        self.repositories
            .get(name)
            .ok_or_else(|| ApiError::repository_not_found(name, &self.account))
    }

    fn repository_json(&self, repository: &Repository) -> Value {
        json!({
            "repositoryArn": repository.arn,
            "registryId": self.account,
            "repositoryName": repository.name,
            "repositoryUri": repository.uri,
            "createdAt": self.time(repository.created_ms),
            "imageTagMutability": repository.tag_mutability,
            "imageScanningConfiguration": { "scanOnPush": repository.scan_on_push },
            "encryptionConfiguration": { "encryptionType": "AES256" },
        })
    }
}
