//! Images through the Docker engine API (bollard, no `docker` command): build a context
//! honouring `.dockerignore`, tag, and push with credentials, capturing the manifest
//! digest the registry stored.

mod context;
mod engine;

pub use context::{context_tar, ignore_patterns, is_ignored};
pub use engine::{BuildError, Built, DockerEngine, Pushed, RegistryAuth};
