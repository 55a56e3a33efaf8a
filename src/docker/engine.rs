//! The Docker engine: build, tag and push through its API.

use std::collections::HashMap;
use std::fmt;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, PushImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

/// A built image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub image_id: String,
    /// Which builder ran, for the output.
    pub builder: &'static str,
    /// The build's output lines.
    pub log: Vec<String>,
}

/// A failed build: the engine's message, the failing Dockerfile step, the whole output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub message: String,
    pub step: Option<String>,
    pub log: Vec<String>,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(f, "the build failed at `{step}`: {}", self.message),
            None => write!(f, "the build failed: {}", self.message),
        }
    }
}

/// A pushed image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    pub repository: String,
    pub tags: Vec<String>,
    /// `sha256:…`, the manifest digest the registry stored.
    pub digest: String,
}

/// Credentials for a registry. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub username: String,
    pub password: String,
    pub server: String,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("server", &self.server)
            .finish()
    }
}

/// The Docker engine of this machine.
#[derive(Clone, Debug)]
pub struct DockerEngine {
    pub(super) docker: Docker,
}

impl DockerEngine {
    /// Connects to the local engine (`DOCKER_HOST` or the default socket) and pings it.
    pub async fn connect() -> Result<Self, String> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| format!("cannot reach the Docker engine: {e}"))?;
        docker.ping().await.map_err(|e| format!("the Docker engine does not answer: {e}"))?;
        Ok(Self { docker })
    }

    /// Builds `context` (a tar archive) with `dockerfile`, build args, labels, target and
    /// platform; returns the image id. The engine's classic builder is used: BuildKit over
    /// the API needs a gRPC session ferry does not open yet.
    pub async fn build(
        &self,
        context: Vec<u8>,
        dockerfile: &str,
        args: &HashMap<String, String>,
        labels: &HashMap<String, String>,
        target: Option<&str>,
        platform: Option<&str>,
    ) -> Result<Built, BuildError> {
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile)
            .rm(true)
            .forcerm(true)
            .buildargs(args)
            .labels(labels);
        if let Some(target) = target {
            options = options.target(target);
        }
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        let mut stream = self.docker.build_image(
            options.build(),
            None,
            Some(bollard::body_full(context.into())),
        );
        let mut log = Vec::new();
        let mut image_id = None;
        let mut step = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream.as_deref() {
                        for line in text.lines().filter(|l| !l.trim().is_empty()) {
                            if line.starts_with("Step ") {
                                step = line
                                    .split_once(" : ")
                                    .map(|(_, instruction)| instruction.trim().to_owned());
                            }
                            log.push(line.to_owned());
                        }
                    }
                    if let Some(detail) = info.error_detail {
                        return Err(BuildError {
                            message: detail.message.unwrap_or_default(),
                            step,
                            log,
                        });
                    }
                    if let Some(id) = info.aux.and_then(|aux| aux.id) {
                        image_id = Some(id);
                    }
                }
                Err(error) => return Err(BuildError { message: error.to_string(), step, log }),
            }
        }
        let image_id = image_id.ok_or_else(|| BuildError {
            message: "the engine reported no image id".to_owned(),
            step: None,
            log: log.clone(),
        })?;
        Ok(Built { image_id, builder: "classic builder", log })
    }

    /// Tags `image` as `repository:tag`.
    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<(), String> {
        self.docker
            .tag_image(
                image,
                Some(TagImageOptionsBuilder::default().repo(repository).tag(tag).build()),
            )
            .await
            .map_err(|e| format!("cannot tag {image} as {repository}:{tag}: {e}"))
    }

    /// Pushes `repository:tag`; returns the manifest digest. Transient failures are tried
    /// three times.
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, String> {
        let mut last = String::new();
        for attempt in 1..=3 {
            match self.push_once(repository, tag, auth).await {
                Ok(digest) => return Ok(digest),
                Err(error) if is_permanent(&error) => return Err(error),
                Err(error) => last = error,
            }
            tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
        }
        Err(last)
    }

    async fn push_once(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, String> {
        let credentials = auth.map(|a| DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(a.server.clone()),
            ..DockerCredentials::default()
        });
        let mut stream = self.docker.push_image(
            repository,
            Some(PushImageOptionsBuilder::default().tag(tag).build()),
            credentials,
        );
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| format!("push of {repository}:{tag} failed: {e}"))?;
            if let Some(detail) = info.error_detail {
                return Err(format!(
                    "push of {repository}:{tag} failed: {}",
                    detail.message.unwrap_or_default()
                ));
            }
            if let Some(status) = info.status.as_deref()
                && let Some((_, rest)) = status.split_once("digest: ")
            {
                digest = rest.split_whitespace().next().map(str::to_owned);
            }
        }
        digest.ok_or_else(|| format!("push of {repository}:{tag}: the registry reported no digest"))
    }
}

/// Errors a retry will not fix: authentication and an immutable tag.
fn is_permanent(error: &str) -> bool {
    let lower = error.to_ascii_lowercase();
    lower.contains("unauthorized")
        || lower.contains("denied")
        || lower.contains("immutable")
        || lower.contains("manifest invalid")
}
