//! The image calls of the local ECR — `DescribeImages`, `ListImages`, `BatchGetImage`,
//! `PutImage`, `BatchDeleteImage` and `DeleteRepository` — answered from the registry it
//! points at (`ferry local --registry HOST:PORT`); without one, a repository has no images.
//! The registry is asked without the state's lock: a `Snapshot` of the repository goes in,
//! and an `Outcome` says what the state must remember (digests first seen, a repository
//! deleted).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::ecr::RegistryConfig;
use super::registry_client::{self, Manifest};
use super::request::{Request, listing, paginate};
use super::state::Repository;

/// The largest `maxResults` of ECR's list calls.
pub(super) const ECR_MAX_RESULTS: usize = 1000;

/// What an image call needs of the state, copied out under its lock.
pub(super) struct Snapshot {
    pub account: String,
    /// The repository the request names, if it exists.
    pub repository: Option<Repository>,
    pub epoch_ms: u64,
    /// Virtual now.
    pub now_ms: u64,
}

/// An answer and what the state keeps of it.
pub(super) struct Outcome {
    pub answer: Value,
    /// Digests the registry holds now: the ones not seen before were pushed now.
    pub seen: Vec<String>,
    /// Digests gone from the registry.
    pub gone: Vec<String>,
    /// The repository is deleted.
    pub deleted: bool,
}

impl Outcome {
    fn answer(answer: Value, seen: Vec<String>) -> Self {
        Self { answer, seen, gone: Vec::new(), deleted: false }
    }
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

/// The images of a repository: manifests by digest, with their tags (sorted).
type Images = BTreeMap<String, (Manifest, Vec<String>)>;

/// The manifests of the repository, by digest, with their tags: those its tags name,
/// and the digests the local ECR saw before that no tag names now (untagged images — a
/// tag moved away, or a PutImage by digest alone) while the registry still holds them.
async fn images(
    registry: &RegistryConfig,
    repository: &str,
    known: impl Iterator<Item = &String>,
) -> Result<Images, ApiError> {
    let mut by_digest = Images::new();
    if registry.address.is_none() {
        return Ok(by_digest);
    }
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
    for digest in known {
        if by_digest.contains_key(digest) {
            continue;
        }
        if let Some(manifest) =
            registry_client::manifest(registry, repository, digest).await.map_err(registry_error)?
        {
            by_digest.insert(digest.clone(), (manifest, Vec::new()));
        }
    }
    for (_, tags) in by_digest.values_mut() {
        tags.sort();
    }
    Ok(by_digest)
}

/// Finds one image id (`imageTag` or `imageDigest`) among `all`.
fn find<'a>(all: &'a Images, id: &Value) -> Option<(&'a Manifest, &'a Vec<String>)> {
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

/// The `tagStatus` of a `filter` member: `TAGGED`, `UNTAGGED` or `ANY` (the default).
fn tag_status(request: Request<'_>) -> &str {
    request
        .value("filter")
        .and_then(|filter| filter.get("tagStatus"))
        .and_then(Value::as_str)
        .unwrap_or("ANY")
}

fn keeps(status: &str, tags: &[String]) -> bool {
    match status {
        "TAGGED" => !tags.is_empty(),
        "UNTAGGED" => tags.is_empty(),
        _ => true,
    }
}

pub(super) async fn answer(
    snapshot: Snapshot,
    registry: &RegistryConfig,
    operation: &str,
    request: Request<'_>,
) -> Result<Outcome, ApiError> {
    let name = request.required_string("repositoryName")?;
    let Some(repository) = &snapshot.repository else {
        return Err(ApiError::repository_not_found(name, &snapshot.account));
    };
    let path = repository.registry_path();
    let all = images(registry, path, repository.first_seen_ms.keys()).await?;
    let seen: Vec<String> = all.keys().cloned().collect();
    let ids: Vec<Value> =
        request.value("imageIds").and_then(Value::as_array).cloned().unwrap_or_default();
    let pushed = |digest: &str| {
        let at = repository.first_seen_ms.get(digest).copied().unwrap_or(snapshot.now_ms);
        json!((snapshot.epoch_ms + at) as f64 / 1000.0)
    };
    let detail = |manifest: &Manifest, tags: &Vec<String>| {
        let mut detail = json!({
            "registryId": snapshot.account,
            "repositoryName": name,
            "imageDigest": manifest.digest,
            "imageSizeInBytes": size(manifest),
            "imagePushedAt": pushed(&manifest.digest),
            "imageManifestMediaType": manifest.media_type,
            "imageStatus": "ACTIVE",
        });
        if !tags.is_empty() {
            detail["imageTags"] = json!(tags);
        }
        detail
    };
    match operation {
        "DescribeImages" => {
            let mut details = Vec::new();
            if ids.is_empty() {
                let status = tag_status(request);
                details.extend(
                    all.values()
                        .filter(|(_, tags)| keeps(status, tags))
                        .map(|(manifest, tags)| detail(manifest, tags)),
                );
            } else {
                for id in &ids {
                    let (manifest, tags) = find(&all, id).ok_or_else(|| {
                        ApiError::image_not_found(format!(
                            "The image with imageId {} does not exist within the repository \
                             with name '{name}' in the registry with id '{}'",
                            describe_id(id),
                            snapshot.account
                        ))
                    })?;
                    details.push(detail(manifest, tags));
                }
            }
            let (page, next) = paginate(&details, request.page_within(ECR_MAX_RESULTS)?);
            Ok(Outcome::answer(listing("imageDetails", &page, next), seen))
        }
        "ListImages" => {
            let status = tag_status(request);
            let mut listed = Vec::new();
            for (digest, (_, tags)) in &all {
                if !keeps(status, tags) {
                    continue;
                }
                if tags.is_empty() {
                    listed.push(json!({ "imageDigest": digest }));
                }
                listed.extend(tags.iter().map(|t| json!({ "imageDigest": digest, "imageTag": t })));
            }
            let (page, next) = paginate(&listed, request.page_within(ECR_MAX_RESULTS)?);
            Ok(Outcome::answer(listing("imageIds", &page, next), seen))
        }
        "BatchGetImage" => {
            if ids.is_empty() {
                return Err(ApiError::ecr_invalid("imageIds can not be null or empty."));
            }
            let mut images = Vec::new();
            let mut failures = Vec::new();
            for id in &ids {
                match find(&all, id) {
                    Some((manifest, _)) => {
                        let mut image_id = json!({ "imageDigest": manifest.digest });
                        if let Some(tag) = id.get("imageTag") {
                            image_id["imageTag"] = tag.clone();
                        }
                        images.push(json!({
                            "registryId": snapshot.account,
                            "repositoryName": name,
                            "imageId": image_id,
                            "imageManifest": manifest.body,
                            "imageManifestMediaType": manifest.media_type,
                        }));
                    }
                    None => failures.push(json!({
                        "imageId": id,
                        "failureCode": "ImageNotFound",
                        "failureReason": "Requested image not found",
                    })),
                }
            }
            Ok(Outcome::answer(json!({ "images": images, "failures": failures }), seen))
        }
        "PutImage" => put_image(&snapshot, repository, registry, request, &all).await,
        "BatchDeleteImage" => batch_delete_image(registry, path, request, &all).await,
        "DeleteRepository" => {
            let force = request.boolean("force")?.unwrap_or(false);
            if !all.is_empty() && !force {
                return Err(ApiError::repository_not_empty(name, &snapshot.account));
            }
            for digest in all.keys() {
                registry_client::delete_manifest(registry, path, digest)
                    .await
                    .map_err(registry_error)?;
            }
            let shown =
                super::ecr::repository_json(&snapshot.account, snapshot.epoch_ms, repository);
            let answer = json!({ "repository": shown });
            Ok(Outcome { answer, seen: Vec::new(), gone: seen, deleted: true })
        }
        _ => Err(ApiError::unknown_operation(operation)),
    }
}

/// `PutImage`: the manifest stored under its tag, refused when an immutable repository
/// already has that tag on another image (and the tag is not excluded).
async fn put_image(
    snapshot: &Snapshot,
    repository: &Repository,
    registry: &RegistryConfig,
    request: Request<'_>,
    all: &Images,
) -> Result<Outcome, ApiError> {
    let name = &repository.name;
    let manifest = request.required_string("imageManifest")?;
    let parsed: Value = serde_json::from_str(manifest).map_err(|_| {
        ApiError::ecr_invalid(
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON \
             syntax'",
        )
    })?;
    let media_type = request
        .string("imageManifestMediaType")?
        .map(str::to_owned)
        .or_else(|| parsed.get("mediaType").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "application/vnd.docker.distribution.manifest.v2+json".to_owned());
    let digest = {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(manifest.as_bytes());
        hash.iter().fold(String::from("sha256:"), |mut text, byte| {
            use std::fmt::Write as _;
            let _ = write!(text, "{byte:02x}");
            text
        })
    };
    if let Some(given) = request.string("imageDigest")?
        && given != digest
    {
        return Err(ApiError::with_kind(
            "ImageDigestDoesNotMatchException",
            format!(
                "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The \
                 provided digest {given} does not match the manifest digest {digest}'"
            ),
        ));
    }
    let tag = request.string("imageTag")?;
    if registry.address.is_none() {
        return Err(ApiError::server_with(
            "the local ECR has no registry to store images in (ferry local --registry)",
        ));
    }
    let holder = tag.and_then(|t| all.iter().find(|(_, (_, tags))| tags.iter().any(|x| x == t)));
    if tag.is_none() && all.contains_key(&digest) {
        return Err(ApiError::with_kind(
            "ImageAlreadyExistsException",
            format!(
                "Image with digest '{digest}' already exists in the repository with name \
                 '{name}' in registry with id '{}'",
                snapshot.account
            ),
        ));
    }
    match (tag, holder) {
        (Some(tag), Some((held, _))) if *held == digest => {
            return Err(ApiError::with_kind(
                "ImageAlreadyExistsException",
                format!(
                    "Image with digest '{digest}' and tag '{tag}' already exists in the \
                     repository with name '{name}' in registry with id '{}'",
                    snapshot.account
                ),
            ));
        }
        (Some(tag), Some(_)) if repository.tag_is_immutable(tag) => {
            return Err(ApiError::with_kind(
                "ImageTagAlreadyExistsException",
                format!(
                    "The image tag '{tag}' already exists in the '{name}' repository and cannot \
                     be overwritten because the tag is immutable."
                ),
            ));
        }
        _ => {}
    }
    registry_client::put_manifest(
        registry,
        repository.registry_path(),
        tag.unwrap_or(&digest),
        &media_type,
        manifest,
    )
    .await
    .map_err(|error| {
        // The registry's MANIFEST_BLOB_UNKNOWN: ECR's own name for it, not a server fault
        // the SDK would retry.
        if error.contains("BLOB_UNKNOWN") {
            ApiError::with_kind(
                "LayersNotFoundException",
                format!("The image manifest names layers the repository '{name}' does not hold."),
            )
        } else if error.contains("MANIFEST_INVALID") || error.contains("answered 400") {
            // A manifest the registry cannot read is the caller's fault, not a server's.
            ApiError::ecr_invalid(format!(
                "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid \
                 image manifest: {error}'"
            ))
        } else {
            registry_error(error)
        }
    })?;
    let mut image_id = json!({ "imageDigest": digest });
    if let Some(tag) = tag {
        image_id["imageTag"] = json!(tag);
    }
    let answer = json!({ "image": {
        "registryId": snapshot.account,
        "repositoryName": name,
        "imageId": image_id,
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
    }});
    let mut seen: Vec<String> = all.keys().cloned().collect();
    seen.push(digest);
    Ok(Outcome::answer(answer, seen))
}

/// `BatchDeleteImage`: by digest, the image and all its tags go; by tag, the tag goes and
/// the image with it once it has no other tag (ECR's rule). A v2 registry can only delete
/// a manifest with all its tags, so the tags that stay are put back on it.
async fn batch_delete_image(
    registry: &RegistryConfig,
    path: &str,
    request: Request<'_>,
    all: &Images,
) -> Result<Outcome, ApiError> {
    let ids: Vec<Value> =
        request.value("imageIds").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    // What each image keeps, as the deletes are applied in order.
    let mut remaining: BTreeMap<&str, Vec<String>> =
        all.iter().map(|(digest, (_, tags))| (digest.as_str(), tags.clone())).collect();
    let mut touched: Vec<&str> = Vec::new();
    for id in &ids {
        let digest = id.get("imageDigest").and_then(Value::as_str);
        let tag = id.get("imageTag").and_then(Value::as_str);
        let failure = |code: &str, reason: &str| {
            let mut failure = json!({ "imageId": id, "failureCode": code });
            failure["failureReason"] = json!(reason);
            failure
        };
        if digest.is_none() && tag.is_none() {
            failures.push(failure("MissingDigestAndTag", "Missing image digest and tag"));
            continue;
        }
        let Some((manifest, _)) = find(all, id) else {
            failures.push(failure("ImageNotFound", "Requested image not found"));
            continue;
        };
        let Some(left) = remaining.get_mut(manifest.digest.as_str()) else {
            failures.push(failure("ImageNotFound", "Requested image not found"));
            continue;
        };
        match (digest, tag) {
            (_, Some(tag)) if left.iter().any(|t| t == tag) => left.retain(|t| t != tag),
            (Some(_), None) => left.clear(),
            _ => {
                failures.push(failure("ImageNotFound", "Requested image not found"));
                continue;
            }
        }
        touched.push(manifest.digest.as_str());
        let mut gone = json!({ "imageDigest": manifest.digest });
        if let Some(tag) = tag {
            gone["imageTag"] = json!(tag);
        }
        deleted.push(gone);
    }
    touched.sort_unstable();
    touched.dedup();
    let mut gone = Vec::new();
    for digest in touched {
        let Some((manifest, _)) = all.get(digest) else { continue };
        registry_client::delete_manifest(registry, path, digest).await.map_err(registry_error)?;
        let keep = remaining.get(digest).cloned().unwrap_or_default();
        if keep.is_empty() {
            gone.push(digest.to_owned());
        }
        for tag in &keep {
            registry_client::put_manifest(
                registry,
                path,
                tag,
                &manifest.media_type,
                &manifest.body,
            )
            .await
            .map_err(registry_error)?;
        }
    }
    let seen = all.keys().filter(|d| !gone.contains(d)).cloned().collect();
    let answer = json!({ "imageIds": deleted, "failures": failures });
    Ok(Outcome { answer, seen, gone, deleted: false })
}
