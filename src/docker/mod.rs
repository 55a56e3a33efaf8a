//! The Docker engine through its API (bollard, no `docker` command): images — build a
//! context honouring `.dockerignore`, tag, and push with credentials, capturing the
//! manifest digest the registry stored — and containers for the local ECS's docker runtime.

mod containers;
mod context;
mod credentials;
mod docker_error;
mod engine;
mod ignore;

pub use containers::{ContainerSpec, ContainerState, EngineHealth, HealthSpec};
pub use context::context_tar;
pub(crate) use credentials::registry_credentials;
pub use credentials::{Lookup, lookup};
pub use docker_error::DockerError;
pub use engine::{BuildError, BuildRequest, Built, DockerEngine, Pushed, RegistryAuth};
