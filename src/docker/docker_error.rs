//! What a Docker operation that failed says: which operation, of what, and the engine's
//! (or the helper's) own words. A container's errors keep the ECS agent's stop-reason
//! prefixes (`CannotCreateContainerError: …`), since the local ECS reports them as such.

/// A failed call to the Docker engine, a registry through it, or a credential helper.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    /// No engine at `DOCKER_HOST` or the default socket.
    #[error("cannot reach the Docker engine: {0}")]
    Unreachable(String),
    /// The engine's socket is there but the ping went unanswered.
    #[error("the Docker engine does not answer: {0}")]
    NoAnswer(String),
    #[error("cannot tag {image} as {repository}:{tag}: {message}")]
    Tag { image: String, repository: String, tag: String, message: String },
    #[error("push of {repository}:{tag} failed: {message}")]
    Push { repository: String, tag: String, message: String },
    #[error("push of {repository}:{tag}: the registry reported no digest")]
    NoDigest { repository: String, tag: String },
    /// A pull failed and the engine holds no copy of the image.
    #[error("{message}")]
    Pull { image: String, message: String },
    #[error("CannotCreateContainerError: {0}")]
    CannotCreate(String),
    #[error("CannotStartContainerError: {0}")]
    CannotStart(String),
    /// Inspecting, stopping, removing or listing containers failed.
    #[error("{0}")]
    Engine(String),
    /// The Docker config file or a credential helper it names.
    #[error("{0}")]
    Credentials(String),
}

impl DockerError {
    /// Whether a retry cannot help: authentication and an immutable tag.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        let lower = self.to_string().to_ascii_lowercase();
        lower.contains("unauthorized")
            || lower.contains("denied")
            || lower.contains("immutable")
            || lower.contains("manifest invalid")
    }
}
