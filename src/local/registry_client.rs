//! A small client of a Docker registry's v2 API, so the local ECR answers its image
//! calls (`DescribeImages`, `ListImages`, `BatchGetImage`, `PutImage`, `BatchDeleteImage`)
//! from the registry its images live in.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde_json::Value;
use tokio::net::TcpStream;

use super::ecr::RegistryConfig;

/// Manifest kinds a registry may hold; asked for in this order.
pub(super) const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// A manifest as the registry serves it.
#[derive(Clone, Debug)]
pub(super) struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub body: String,
}

/// Sends one request to the registry: its status, headers and body.
async fn send(
    registry: &RegistryConfig,
    method: hyper::Method,
    path: &str,
    accept: &str,
    body: Option<(&str, Bytes)>,
) -> Result<(u16, hyper::HeaderMap, Bytes), String> {
    let address = registry.address.as_deref().ok_or("no registry is configured")?;
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("cannot reach registry {address}: {e}"))?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("registry {address}: {e}"))?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", address)
        .header("accept", accept);
    if let Some(password) = &registry.password {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
        request = request.header("authorization", format!("Basic {basic}"));
    }
    let content = match body {
        Some((content_type, bytes)) => {
            request = request.header("content-type", content_type);
            bytes
        }
        None => Bytes::new(),
    };
    let request = request.body(Full::new(content)).map_err(|e| e.to_string())?;
    let response =
        sender.send_request(request).await.map_err(|e| format!("registry {address}: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("registry {address}: {e}"))?
        .to_bytes();
    Ok((status, headers, body))
}

/// GETs `path` from the registry; `None` on 404.
async fn get(
    registry: &RegistryConfig,
    path: &str,
    accept: &str,
) -> Result<Option<(hyper::HeaderMap, Bytes)>, String> {
    let address = registry.address.as_deref().unwrap_or_default();
    match send(registry, hyper::Method::GET, path, accept, None).await? {
        (200, headers, body) => Ok(Some((headers, body))),
        (404, _, _) => Ok(None),
        (code, _, _) => Err(format!("registry {address} answered {code} for {path}")),
    }
}

/// Stores `manifest` in `repository` under `reference` (a tag or its digest).
pub(super) async fn put_manifest(
    registry: &RegistryConfig,
    repository: &str,
    reference: &str,
    media_type: &str,
    manifest: &str,
) -> Result<(), String> {
    let path = format!("/v2/{repository}/manifests/{reference}");
    let body = Some((media_type, Bytes::from(manifest.to_owned())));
    match send(registry, hyper::Method::PUT, &path, "*/*", body).await? {
        (200..=202, _, _) => Ok(()),
        (code, _, text) => Err(format!(
            "registry answered {code} for PUT {path}: {}",
            String::from_utf8_lossy(&text).trim()
        )),
    }
}

/// Deletes the manifest `digest` (and so every tag on it) from `repository`.
pub(super) async fn delete_manifest(
    registry: &RegistryConfig,
    repository: &str,
    digest: &str,
) -> Result<(), String> {
    let path = format!("/v2/{repository}/manifests/{digest}");
    match send(registry, hyper::Method::DELETE, &path, "*/*", None).await? {
        (202 | 200 | 404, _, _) => Ok(()),
        (405, _, _) => Err(format!(
            "the registry refuses deletes (DELETE {path} answered 405: set \
             storage.delete.enabled in its configuration)"
        )),
        (code, _, _) => Err(format!("registry answered {code} for DELETE {path}")),
    }
}

/// The tags of `repository`.
pub(super) async fn tags(
    registry: &RegistryConfig,
    repository: &str,
) -> Result<Vec<String>, String> {
    let Some((_, body)) =
        get(registry, &format!("/v2/{repository}/tags/list"), "application/json").await?
    else {
        return Ok(Vec::new());
    };
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| format!("registry tag list: {e}"))?;
    Ok(value
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default())
}

/// The manifest `reference` (a tag or a digest) of `repository`.
pub(super) async fn manifest(
    registry: &RegistryConfig,
    repository: &str,
    reference: &str,
) -> Result<Option<Manifest>, String> {
    let Some((headers, body)) =
        get(registry, &format!("/v2/{repository}/manifests/{reference}"), MANIFEST_TYPES).await?
    else {
        return Ok(None);
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = String::from_utf8_lossy(&body).into_owned();
    let media_type = header("content-type").unwrap_or_else(|| {
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("mediaType").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    });
    let digest = header("docker-content-digest").unwrap_or_else(|| reference.to_owned());
    Ok(Some(Manifest { digest, media_type, body }))
}
