//! `DescribeImages` and `BatchGetImage`, answered from the registry the local ECR points
//! at (`ferry local --registry HOST:PORT`); without one, a repository has no images.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::ecr::RegistryConfig;
use super::registry_client::{self, Manifest};
use super::request::{Request, paginate};

/// What an image call needs of the state, copied out so the registry is asked without
/// holding the state's lock.
pub(super) struct Snapshot {
    pub account: String,
    pub repositories: Vec<String>,
    pub epoch_ms: u64,
}

fn registry_error(error: String) -> ApiError {
    ApiError::server_with(error)
}

fn describe_id(id: &Value) -> String {
    let field = |name: &str| {
        id.get(name).and_then(Value::as_str).map_or_else(|| "null".to_owned(), |v| format!("'{v}'"))
    };
    format!("{{imageDigest:{}, imageTag:{}}}", field("imageDigest"), field("imageTag"))
}

/// The manifests of the repository, by digest, with their tags.
async fn images(
    registry: &RegistryConfig,
    repository: &str,
) -> Result<BTreeMap<String, (Manifest, Vec<String>)>, ApiError> {
    let mut by_digest: BTreeMap<String, (Manifest, Vec<String>)> = BTreeMap::new();
    for tag in registry_client::tags(registry, repository).await.map_err(registry_error)? {
        if let Some(manifest) =
            registry_client::manifest(registry, repository, &tag).await.map_err(registry_error)?
        {
            by_digest
                .entry(manifest.digest.clone())
                .or_insert_with(|| (manifest, Vec::new()))
                .1
                .push(tag);
        }
    }
    Ok(by_digest)
}

/// Finds one image id (`imageTag` or `imageDigest`) among `all`.
fn find<'a>(
    all: &'a BTreeMap<String, (Manifest, Vec<String>)>,
    id: &Value,
) -> Option<(&'a Manifest, &'a Vec<String>)> {
    let digest = id.get("imageDigest").and_then(Value::as_str);
    let tag = id.get("imageTag").and_then(Value::as_str);
    all.values()
        .find(|(manifest, tags)| {
            digest.is_none_or(|d| manifest.digest == d)
                && tag.is_none_or(|t| tags.iter().any(|x| x == t))
                && (digest.is_some() || tag.is_some())
        })
        .map(|(manifest, tags)| (manifest, tags))
}

fn size(manifest: &Manifest) -> u64 {
    serde_json::from_str::<Value>(&manifest.body)
        .ok()
        .and_then(|v| {
            v.get("layers").and_then(Value::as_array).map(|layers| {
                layers.iter().filter_map(|l| l.get("size").and_then(Value::as_u64)).sum()
            })
        })
        .unwrap_or(0)
}

pub(super) async fn answer(
    snapshot: Snapshot,
    registry: &RegistryConfig,
    operation: &str,
    request: Request<'_>,
) -> Result<Value, ApiError> {
    let name = request.required_string("repositoryName")?;
    if !snapshot.repositories.iter().any(|r| r == name) {
        return Err(ApiError::repository_not_found(name, &snapshot.account));
    }
    let all =
        if registry.address.is_some() { images(registry, name).await? } else { BTreeMap::new() };
    let ids: Vec<Value> =
        request.value("imageIds").and_then(Value::as_array).cloned().unwrap_or_default();
    let pushed = json!(snapshot.epoch_ms as f64 / 1000.0);
    let detail = |manifest: &Manifest, tags: &Vec<String>| {
        json!({
            "registryId": snapshot.account,
            "repositoryName": name,
            "imageDigest": manifest.digest,
            "imageTags": tags,
            "imageSizeInBytes": size(manifest),
            "imagePushedAt": pushed,
            "imageManifestMediaType": manifest.media_type,
        })
    };
    if operation == "DescribeImages" {
        let mut details = Vec::new();
        if ids.is_empty() {
            details.extend(all.values().map(|(manifest, tags)| detail(manifest, tags)));
        } else {
            for id in &ids {
                let (manifest, tags) = find(&all, id).ok_or_else(|| {
                    ApiError::image_not_found(format!(
                        "The image with imageId {} does not exist within the repository with name \
                         '{name}' in the registry with id '{}'",
                        describe_id(id),
                        snapshot.account
                    ))
                })?;
                details.push(detail(manifest, tags));
            }
        }
        let (page, next) = paginate(&details, request.page()?);
        return Ok(json!({ "imageDetails": page, "nextToken": next }));
    }
    if ids.is_empty() {
        return Err(ApiError::ecr_invalid("imageIds can not be null or empty."));
    }
    let mut images = Vec::new();
    let mut failures = Vec::new();
    for id in &ids {
        match find(&all, id) {
            Some((manifest, _)) => images.push(json!({
                "registryId": snapshot.account,
                "repositoryName": name,
                "imageId": { "imageDigest": manifest.digest, "imageTag": id.get("imageTag") },
                "imageManifest": manifest.body,
                "imageManifestMediaType": manifest.media_type,
            })),
            None => failures.push(json!({
                "imageId": id,
                "failureCode": "ImageNotFound",
                "failureReason": "Requested image not found",
            })),
        }
    }
    Ok(json!({ "images": images, "failures": failures }))
}
