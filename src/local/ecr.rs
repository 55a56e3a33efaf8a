//! ECR: `CreateRepository`, `DescribeRepositories`, `GetAuthorizationToken`,
//! `PutLifecyclePolicy`, `GetLifecyclePolicy` and the repository tags (`TagResource`,
//! `UntagResource`, `ListTagsForResource` with ECR's `{Key, Value}`); the image calls are
//! in ecr_images.rs. Repository URIs and the token's
//! `proxyEndpoint` point at the registry given to `ferry local --registry`, when there is
//! one, so images pushed through the local ECR land in a real registry.

use base64::Engine as _;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::ecr_images::ECR_MAX_RESULTS;
use super::request::{Request, paginate};
use super::state::{EcsState, Repository, Tag};

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

    /// Where a repository's images live: `HOST/NAME`; behind a registry, outside
    /// us-east-1, `HOST/REGION/NAME`, so two regions' repositories of one name do not share
    /// the registry's.
    fn repository_uri(&self, registry: &RegistryConfig, name: &str) -> String {
        let host = self.registry_host(registry);
        if registry.address.is_some() && self.region != super::state::HOME_REGION {
            format!("{host}/{}/{name}", self.region)
        } else {
            format!("{host}/{name}")
        }
    }

    pub fn create_repository(
        &mut self,
        request: Request<'_>,
        registry: &RegistryConfig,
        now: u64,
    ) -> Result<Value, ApiError> {
        // Its length and pattern are the service model's, checked before any handler.
        let name = request.required_string("repositoryName")?.to_owned();
        if self.repositories.contains_key(&name) {
            return Err(ApiError::repository_exists(&name, &self.account));
        }
        let mutability = request.string("imageTagMutability")?.unwrap_or("MUTABLE").to_owned();
        let exclusions = exclusion_filters(request, &mutability)?;
        let scan_on_push = request
            .value("imageScanningConfiguration")
            .and_then(|c| c.get("scanOnPush"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let tags = parse_ecr_tags(request.value("tags"))?;
        let repository = Repository {
            arn: format!("arn:aws:ecr:{}:{}:repository/{name}", self.region, self.account),
            uri: self.repository_uri(registry, &name),
            name: name.clone(),
            created_ms: now,
            scan_on_push,
            tag_mutability: mutability,
            mutability_exclusions: exclusions,
            lifecycle_policy: None,
            first_seen_ms: std::collections::BTreeMap::new(),
        };
        if !tags.is_empty() {
            self.tags.insert(repository.arn.clone(), tags);
        }
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
        let (page, next) = paginate(&found, request.page_within(ECR_MAX_RESULTS)?);
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
        repository_json(&self.account, self.epoch_ms, repository)
    }

    /// The repository an ECR `resourceArn` names.
    fn tagged_repository(&self, request: Request<'_>) -> Result<String, ApiError> {
        let arn = request.required_string("resourceArn")?;
        if self.repositories.values().any(|r| r.arn == arn) {
            return Ok(arn.to_owned());
        }
        if !arn.starts_with("arn:") {
            return Err(ApiError::ecr_invalid(format!(
                "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN \
                 {arn}'"
            )));
        }
        let name = arn.rsplit_once(":repository/").map_or(arn, |(_, name)| name);
        Err(ApiError::repository_not_found(name, &self.account))
    }

    /// ECR's `TagResource`: `[{Key, Value}]` added to a repository's tags.
    pub fn ecr_tag_resource(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = self.tagged_repository(request)?;
        let tags = parse_ecr_tags(request.value("tags"))?;
        // Merged on a copy: a refused call leaves the tags as they were.
        let merged = super::ecs_tags::merged(self.tags.get(&arn).map_or(&[], Vec::as_slice), tags);
        if merged.len() > MAX_TAGS {
            return Err(ApiError::with_kind(
                "TooManyTagsException",
                format!("A repository can have at most {MAX_TAGS} tags."),
            ));
        }
        self.tags.insert(arn, merged);
        Ok(json!({}))
    }

    pub fn ecr_untag_resource(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = self.tagged_repository(request)?;
        let keys = request.strings("tagKeys")?;
        if let Some(tags) = self.tags.get_mut(&arn) {
            tags.retain(|t| !keys.contains(&t.key.as_str()));
        }
        Ok(json!({}))
    }

    pub fn ecr_list_tags_for_resource(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = self.tagged_repository(request)?;
        let tags: Vec<Value> = self
            .tags
            .get(&arn)
            .into_iter()
            .flatten()
            .map(|t| json!({ "Key": t.key, "Value": t.value }))
            .collect();
        Ok(json!({ "tags": tags }))
    }

    /// Forgets a repository `DeleteRepository` deleted, with its tags.
    pub(super) fn forget_repository(&mut self, name: &str) {
        if let Some(repository) = self.repositories.remove(name) {
            self.tags.remove(&repository.arn);
        }
    }
}

/// Tags a repository may carry (ECR's quota).
const MAX_TAGS: usize = 50;

/// A repository as ECR shows it.
pub(super) fn repository_json(account: &str, epoch_ms: u64, repository: &Repository) -> Value {
    let mut shown = json!({
        "repositoryArn": repository.arn,
        "registryId": account,
        "repositoryName": repository.name,
        "repositoryUri": repository.uri,
        "createdAt": (epoch_ms + repository.created_ms) as f64 / 1000.0,
        "imageTagMutability": repository.tag_mutability,
        "imageScanningConfiguration": { "scanOnPush": repository.scan_on_push },
        "encryptionConfiguration": { "encryptionType": "AES256" },
    });
    if !repository.mutability_exclusions.is_empty() {
        shown["imageTagMutabilityExclusionFilters"] = json!(
            repository
                .mutability_exclusions
                .iter()
                .map(|filter| json!({ "filterType": "WILDCARD", "filter": filter }))
                .collect::<Vec<_>>()
        );
    }
    shown
}

/// ECR's tags, `[{Key, Value}]` (ECS's are `{key, value}`).
fn parse_ecr_tags(value: Option<&Value>) -> Result<Vec<Tag>, ApiError> {
    let items = value.and_then(Value::as_array).cloned().unwrap_or_default();
    if items.len() > MAX_TAGS {
        return Err(ApiError::with_kind(
            "TooManyTagsException",
            format!("A repository can have at most {MAX_TAGS} tags."),
        ));
    }
    items
        .iter()
        .map(|item| {
            let key = item.get("Key").and_then(Value::as_str).unwrap_or_default();
            let value = item.get("Value").and_then(Value::as_str).unwrap_or_default();
            if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
                return Err(ApiError::with_kind(
                    "InvalidTagParameterException",
                    "Tag keys must be 1 to 128 characters and values at most 256.",
                ));
            }
            Ok(Tag { key: key.to_owned(), value: value.to_owned() })
        })
        .collect()
}

/// The exclusion filters a `*_WITH_EXCLUSION` mutability needs (1 to 5 `WILDCARD`
/// filters) and the others refuse.
fn exclusion_filters(request: Request<'_>, mutability: &str) -> Result<Vec<String>, ApiError> {
    let filters: Vec<String> = request
        .value("imageTagMutabilityExclusionFilters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("filter").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let with_exclusion = mutability.ends_with("_WITH_EXCLUSION");
    if with_exclusion && filters.is_empty() {
        return Err(ApiError::ecr_invalid(format!(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy \
             constraint: 'imageTagMutabilityExclusionFilters must be specified when \
             imageTagMutability is {mutability}'"
        )));
    }
    if !with_exclusion && !filters.is_empty() {
        return Err(ApiError::ecr_invalid(format!(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy \
             constraint: 'imageTagMutabilityExclusionFilters can only be specified when \
             imageTagMutability is MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION, not \
             {mutability}'"
        )));
    }
    Ok(filters)
}
