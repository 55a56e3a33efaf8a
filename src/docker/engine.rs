//! The Docker engine: build, tag and push through its API.

use std::collections::HashMap;
use std::fmt;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, PushImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::DockerError;

/// A built image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub image_id: String,
    /// Which builder ran (and why not BuildKit, when not), for the output.
    pub builder: String,
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

/// What a build needs besides its context.
#[derive(Clone, Copy, Debug)]
pub struct BuildRequest<'a> {
    /// Relative to the context.
    pub dockerfile: &'a str,
    pub args: &'a HashMap<String, String>,
    pub labels: &'a HashMap<String, String>,
    pub target: Option<&'a str>,
    pub platform: Option<&'a str>,
}

/// A build that did not produce an image: refused by the engine before any step ran (the
/// builder is not available), or failed.
enum BuildFailure {
    Refused(String),
    Failed(BuildError),
}

use BuildFailure::{Failed, Refused};

/// The output of a build as it streams: lines, the step under way, the image id.
#[derive(Default)]
struct BuildOutput {
    log: Vec<String>,
    /// The Dockerfile instruction running, or the one that failed.
    step: Option<String>,
    image_id: Option<String>,
    /// BuildKit steps seen (by digest), so each is logged once.
    vertices: Vec<String>,
    /// Lines already given to the progress callback.
    reported: usize,
}

impl BuildOutput {
    /// Gives the lines not yet reported to `progress`, saying which start a step.
    fn report(&mut self, progress: &mut dyn FnMut(&str, bool)) {
        for line in &self.log[self.reported..] {
            let instruction = line.starts_with("Step ")
                || (line.starts_with('#') && line.contains(" [") && !line.contains("[internal]"));
            progress(line, instruction);
        }
        self.reported = self.log.len();
    }

    /// The classic builder's lines: `Step 2/4 : COPY …` names the step.
    fn classic_lines(&mut self, text: &str) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if line.starts_with("Step ") {
                self.step =
                    line.split_once(" : ").map(|(_, instruction)| instruction.trim().to_owned());
            }
            self.log.push(line.to_owned());
        }
    }

    /// BuildKit's status: steps (`[2/4] COPY …`) as they start, their output, and the
    /// step whose error ends the build.
    fn buildkit_status(&mut self, status: &bollard::moby::buildkit::v1::StatusResponse) {
        for vertex in &status.vertexes {
            if !self.vertices.contains(&vertex.digest) && !vertex.name.is_empty() {
                self.vertices.push(vertex.digest.clone());
                self.log.push(format!("#{} {}", self.vertices.len(), vertex.name));
            }
            if !vertex.error.is_empty() {
                let name = vertex.name.as_str();
                // `[2/4] COPY a /b` → `COPY a /b`; `[internal] load …` stays as it is.
                let instruction = match name.split_once("] ") {
                    Some((prefix, rest)) if prefix[1..].contains('/') => rest,
                    _ => name,
                };
                // The step that failed names the build's failure; the steps BuildKit
                // cancelled because of it ("context canceled") do not replace it.
                if self.step.is_none() || !vertex.error.contains("canceled") {
                    self.step = Some(instruction.trim().to_owned());
                }
                self.log.push(format!("error: {}", vertex.error));
            }
        }
        for entry in &status.logs {
            let text = String::from_utf8_lossy(&entry.msg);
            self.log.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
        }
    }

    /// With BuildKit, an error before any step started means the engine does not offer it.
    fn failure(&self, message: String, buildkit: bool) -> BuildFailure {
        if buildkit && self.vertices.is_empty() {
            return Refused(message);
        }
        Failed(BuildError { message, step: self.step.clone(), log: self.log.clone() })
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
    pub async fn connect() -> Result<Self, DockerError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| DockerError::Unreachable(e.to_string()))?;
        docker.ping().await.map_err(|e| DockerError::NoAnswer(e.to_string()))?;
        Ok(Self { docker })
    }

    /// Builds `context` (a tar archive) with `dockerfile`, build args, labels, target and
    /// platform; returns the image id. BuildKit is used where the engine offers it (ferry
    /// opens the gRPC session it needs); when the engine refuses a BuildKit build before
    /// any step ran, or `DOCKER_BUILDKIT=0`, the classic builder builds instead, and
    /// `Built::builder` says which and why.
    pub async fn build(
        &self,
        context: Vec<u8>,
        request: &BuildRequest<'_>,
        progress: &mut dyn FnMut(&str, bool),
    ) -> Result<Built, BuildError> {
        // Shared, not copied, between a BuildKit attempt and the classic fallback.
        let context = bytes::Bytes::from(context);
        if std::env::var("DOCKER_BUILDKIT").is_ok_and(|v| v == "0") {
            // Docker's own switch for the classic builder.
            return self.classic(context, request, "DOCKER_BUILDKIT=0", progress).await;
        }
        match self.build_with(context.clone(), request, true, progress).await {
            Err(Refused(reason)) => {
                let why = format!("BuildKit unavailable: {reason}");
                self.classic(context, request, &why, progress).await
            }
            Err(Failed(error)) => Err(error),
            Ok(built) => Ok(built),
        }
    }

    /// A build with the classic builder; `why` says why not BuildKit.
    async fn classic(
        &self,
        context: bytes::Bytes,
        request: &BuildRequest<'_>,
        why: &str,
        progress: &mut dyn FnMut(&str, bool),
    ) -> Result<Built, BuildError> {
        match self.build_with(context, request, false, progress).await {
            Ok(built) => Ok(Built { builder: format!("classic builder; {why}"), ..built }),
            Err(Refused(message)) => Err(BuildError { message, step: None, log: Vec::new() }),
            Err(Failed(error)) => Err(error),
        }
    }

    async fn build_with(
        &self,
        context: bytes::Bytes,
        request: &BuildRequest<'_>,
        buildkit: bool,
        progress: &mut dyn FnMut(&str, bool),
    ) -> Result<Built, BuildFailure> {
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(request.dockerfile)
            .rm(true)
            .forcerm(true)
            .buildargs(request.args)
            .labels(request.labels);
        if let Some(target) = request.target {
            options = options.target(target);
        }
        if let Some(platform) = request.platform {
            options = options.platform(platform);
        }
        if buildkit {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            options = options
                .version(BuilderVersion::BuilderBuildKit)
                .session(&format!("ferry-{}-{nanos}", std::process::id()));
        }
        let mut stream =
            self.docker.build_image(options.build(), None, Some(bollard::body_full(context)));
        let mut output = BuildOutput::default();
        while let Some(item) = stream.next().await {
            output.report(progress);
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream.as_deref() {
                        output.classic_lines(text);
                    }
                    if let Some(detail) = info.error_detail {
                        return Err(output.failure(detail.message.unwrap_or_default(), buildkit));
                    }
                    match info.aux {
                        Some(BuildInfoAux::Default(image)) => output.image_id = image.id,
                        Some(BuildInfoAux::BuildKit(status)) => output.buildkit_status(&status),
                        None => {}
                    }
                }
                Err(error) => {
                    let message = match error {
                        bollard::errors::Error::DockerStreamError { error } => error,
                        other => other.to_string(),
                    };
                    return Err(output.failure(message, buildkit));
                }
            }
        }
        output.report(progress);
        let BuildOutput { image_id, log, .. } = output;
        let image_id = image_id.ok_or_else(|| {
            Failed(BuildError {
                message: "the engine reported no image id".to_owned(),
                step: None,
                log: log.clone(),
            })
        })?;
        let builder = if buildkit { "BuildKit" } else { "classic builder" };
        Ok(Built { image_id, builder: builder.to_owned(), log })
    }

    /// Tags `image` as `repository:tag`.
    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<(), DockerError> {
        self.docker
            .tag_image(
                image,
                Some(TagImageOptionsBuilder::default().repo(repository).tag(tag).build()),
            )
            .await
            .map_err(|e| DockerError::Tag {
                image: image.to_owned(),
                repository: repository.to_owned(),
                tag: tag.to_owned(),
                message: e.to_string(),
            })
    }

    /// Pushes `repository:tag`; returns the manifest digest. Transient failures are tried
    /// three times.
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, DockerError> {
        let mut attempt = 1;
        loop {
            match self.push_once(repository, tag, auth).await {
                Ok(digest) => return Ok(digest),
                Err(error) if error.is_permanent() || attempt == 3 => return Err(error),
                Err(_) => {}
            }
            tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
            attempt += 1;
        }
    }

    async fn push_once(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<String, DockerError> {
        let push_failed = |message: String| DockerError::Push {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            message,
        };
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
            let info = item.map_err(|e| push_failed(e.to_string()))?;
            if let Some(detail) = info.error_detail {
                return Err(push_failed(detail.message.unwrap_or_default()));
            }
            if let Some(status) = info.status.as_deref()
                && let Some((_, rest)) = status.split_once("digest: ")
            {
                digest = rest.split_whitespace().next().map(str::to_owned);
            }
        }
        digest.ok_or_else(|| DockerError::NoDigest {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use bollard::moby::buildkit::v1::{StatusResponse, Vertex, VertexLog};

    use super::*;

    fn vertex(digest: &str, name: &str, error: &str) -> Vertex {
        Vertex {
            digest: digest.to_owned(),
            name: name.to_owned(),
            error: error.to_owned(),
            ..Vertex::default()
        }
    }

    #[test]
    fn buildkit_output_names_the_failing_instruction() {
        let mut output = BuildOutput::default();
        output.buildkit_status(&StatusResponse {
            vertexes: vec![
                vertex("a", "[internal] load build definition from Dockerfile", ""),
                vertex("b", "[2/3] COPY secret.txt /secret.txt", ""),
            ],
            logs: vec![VertexLog {
                vertex: "b".to_owned(),
                msg: b"copying\n".to_vec(),
                ..VertexLog::default()
            }],
            ..StatusResponse::default()
        });
        output.buildkit_status(&StatusResponse {
            vertexes: vec![vertex("b", "[2/3] COPY secret.txt /secret.txt", "not found")],
            ..StatusResponse::default()
        });
        assert_eq!(
            output.log,
            [
                "#1 [internal] load build definition from Dockerfile",
                "#2 [2/3] COPY secret.txt /secret.txt",
                "copying",
                "error: not found"
            ]
        );
        let Failed(error) = output.failure("failed to compute cache key".to_owned(), true) else {
            panic!("a failed step is a failure, not a refusal")
        };
        assert_eq!(error.step.as_deref(), Some("COPY secret.txt /secret.txt"));
        // A step cancelled because of that failure, reported after it, does not replace it.
        output.buildkit_status(&StatusResponse {
            vertexes: vec![vertex("c", "[1/3] COPY busybox /bin/busybox", "context canceled")],
            ..StatusResponse::default()
        });
        assert_eq!(output.step.as_deref(), Some("COPY secret.txt /secret.txt"));
    }

    #[test]
    fn an_error_before_any_step_means_buildkit_is_not_offered() {
        let output = BuildOutput::default();
        assert!(matches!(output.failure("no session".to_owned(), true), Refused(_)));
        assert!(matches!(output.failure("no session".to_owned(), false), Failed(_)));
        let mut classic = BuildOutput::default();
        classic.classic_lines("Step 1/2 : FROM scratch\n ---> \nStep 2/2 : COPY a /a\n");
        assert_eq!(classic.step.as_deref(), Some("COPY a /a"));
    }
}
