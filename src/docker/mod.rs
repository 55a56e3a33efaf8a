//! The Docker engine through its API (bollard, no `docker` command): images — build a
//! context honouring `.dockerignore`, tag, and push with credentials, capturing the
//! manifest digest the registry stored — and containers for the local ECS's docker runtime.

mod containers;
mod context;
mod credentials;
mod engine;

pub use containers::{ContainerSpec, ContainerState, EngineHealth, HealthSpec};
pub use context::{context_tar, ignore_patterns, is_ignored};
pub use credentials::{Lookup, lookup, registry_credentials};
pub use engine::{BuildError, BuildRequest, Built, DockerEngine, Pushed, RegistryAuth};
