//! Containers through the Docker engine's API: pull (with the cached image when the pull
//! fails, as the ECS agent's default pull behaviour does), create and start, inspect,
//! stop with a timeout (SIGTERM, then SIGKILL), remove. The local ECS's docker runtime
//! (src/local/containers.rs) drives these.

use std::collections::HashMap;

use bollard::auth::DockerCredentials;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, HealthConfig, HealthStatusEnum, HostConfig,
    PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{DockerEngine, DockerError, RegistryAuth};

/// A container health check, in the engine's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSpec {
    /// `["CMD-SHELL", "…"]` or `["CMD", …]`, as ECS and Docker both write it.
    pub test: Vec<String>,
    pub interval_s: i64,
    pub timeout_s: i64,
    pub retries: i64,
    pub start_period_s: i64,
}

/// One container to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The engine's name for it (unique on the engine).
    pub name: String,
    pub image: String,
    /// `NAME=value`.
    pub env: Vec<String>,
    pub command: Option<Vec<String>>,
    pub entry_point: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    /// Ports published on 127.0.0.1 at a port the engine picks: `(port, "tcp"|"udp")`.
    pub publish: Vec<(u16, String)>,
    pub health: Option<HealthSpec>,
    pub memory_mib: Option<i64>,
    pub memory_reservation_mib: Option<i64>,
    pub cpu_shares: Option<i64>,
    /// Run an init process as PID 1 (`initProcessEnabled`).
    pub init: bool,
    pub stop_timeout_s: i64,
    pub labels: HashMap<String, String>,
    /// Share the network of this container (the task's first), as containers of one
    /// `awsvpc` task share `localhost`.
    pub network_of: Option<String>,
}

/// A container's health as the engine reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineHealth {
    Starting,
    Healthy,
    Unhealthy,
}

/// What `inspect` tells of a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerState {
    pub running: bool,
    /// Set once it exited.
    pub exit_code: Option<i32>,
    pub out_of_memory: bool,
    /// None without a health check.
    pub health: Option<EngineHealth>,
    /// Published ports: `(container port, protocol, host address, host port)`.
    pub ports: Vec<(u16, String, String, u16)>,
}

fn seconds(s: i64) -> i64 {
    s.saturating_mul(1_000_000_000)
}

impl DockerEngine {
    /// Pulls `image`; when the pull fails and the engine holds the image, that copy is
    /// used (the ECS agent's default). The error is the pull's.
    pub async fn ensure_image(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<(), DockerError> {
        let credentials = auth.map(|a| DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(a.server.clone()),
            ..DockerCredentials::default()
        });
        let options = CreateImageOptionsBuilder::default().from_image(image).build();
        let mut stream = self.docker.create_image(Some(options), None, credentials);
        let mut failure = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail {
                        failure = Some(detail.message.unwrap_or_default());
                    }
                }
                Err(error) => failure = Some(error.to_string()),
            }
        }
        match failure {
            None => Ok(()),
            Some(_) if self.docker.inspect_image(image).await.is_ok() => Ok(()),
            Some(message) => Err(DockerError::Pull { image: image.to_owned(), message }),
        }
    }

    /// Creates and starts a container; returns its id. A container that was created but
    /// did not start is removed.
    pub async fn run_container(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let health = spec.health.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: Some(seconds(h.interval_s)),
            timeout: Some(seconds(h.timeout_s)),
            retries: Some(h.retries),
            start_period: Some(seconds(h.start_period_s)),
            start_interval: None,
        });
        let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
            .publish
            .iter()
            .map(|(port, protocol)| {
                (
                    format!("{port}/{protocol}"),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_owned()),
                        host_port: Some(String::new()),
                    }]),
                )
            })
            .collect();
        let mib = |m: i64| m.saturating_mul(1024 * 1024);
        let host_config = HostConfig {
            port_bindings: (spec.network_of.is_none() && !port_bindings.is_empty())
                .then_some(port_bindings),
            network_mode: spec.network_of.as_ref().map(|id| format!("container:{id}")),
            memory: spec.memory_mib.map(mib),
            // No swap beyond the limit, so the limit is what the task gets, as on ECS.
            memory_swap: spec.memory_mib.map(mib),
            memory_reservation: spec.memory_reservation_mib.map(mib),
            cpu_shares: spec.cpu_shares,
            init: spec.init.then_some(true),
            ..HostConfig::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.clone()),
            cmd: spec.command.clone(),
            entrypoint: spec.entry_point.clone(),
            working_dir: spec.working_dir.clone(),
            user: spec.user.clone(),
            exposed_ports: (spec.network_of.is_none() && !spec.publish.is_empty()).then(|| {
                spec.publish.iter().map(|(port, protocol)| format!("{port}/{protocol}")).collect()
            }),
            healthcheck: health,
            labels: Some(spec.labels.clone()),
            stop_timeout: Some(spec.stop_timeout_s),
            host_config: Some(host_config),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&spec.name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| DockerError::CannotCreate(engine_message(&e)))?;
        if let Err(error) = self.docker.start_container(&created.id, None).await {
            let _ = self.remove(&created.id).await;
            return Err(DockerError::CannotStart(engine_message(&error)));
        }
        Ok(created.id)
    }

    /// The container's state; none when the engine no longer has it.
    pub async fn inspect(&self, id: &str) -> Result<Option<ContainerState>, DockerError> {
        let inspected = match self.docker.inspect_container(id, None).await {
            Ok(inspected) => inspected,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                return Ok(None);
            }
            Err(error) => return Err(DockerError::Engine(engine_message(&error))),
        };
        let state = inspected.state.unwrap_or_default();
        let running = matches!(
            state.status,
            Some(
                ContainerStateStatusEnum::RUNNING
                    | ContainerStateStatusEnum::RESTARTING
                    | ContainerStateStatusEnum::PAUSED
            )
        );
        let exited = matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        );
        let health = state.health.and_then(|h| h.status).and_then(|status| match status {
            HealthStatusEnum::STARTING => Some(EngineHealth::Starting),
            HealthStatusEnum::HEALTHY => Some(EngineHealth::Healthy),
            HealthStatusEnum::UNHEALTHY => Some(EngineHealth::Unhealthy),
            HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => None,
        });
        let mut ports = Vec::new();
        for (key, bindings) in inspected.network_settings.and_then(|n| n.ports).unwrap_or_default()
        {
            let Some((port, protocol)) = key.split_once('/') else { continue };
            let Ok(port) = port.parse::<u16>() else { continue };
            for binding in bindings.unwrap_or_default() {
                let host_port = binding.host_port.and_then(|p| p.parse::<u16>().ok());
                if let Some(host_port) = host_port {
                    ports.push((
                        port,
                        protocol.to_owned(),
                        binding.host_ip.unwrap_or_default(),
                        host_port,
                    ));
                }
            }
        }
        ports.sort();
        Ok(Some(ContainerState {
            running,
            exit_code: exited.then(|| state.exit_code.unwrap_or_default() as i32),
            out_of_memory: state.oom_killed.unwrap_or(false),
            health,
            ports,
        }))
    }

    /// Sends SIGTERM, and SIGKILL after `timeout_s` seconds; returns once it exited.
    pub async fn stop(&self, id: &str, timeout_s: i64) -> Result<(), DockerError> {
        let options = StopContainerOptionsBuilder::default().t(timeout_s as i32).build();
        match self.docker.stop_container(id, Some(options)).await {
            // 304: already stopped; 404: already gone.
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(error) => Err(DockerError::Engine(engine_message(&error))),
        }
    }

    /// Removes a container, killing it if it still runs.
    pub async fn remove(&self, id: &str) -> Result<(), DockerError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                Ok(())
            }
            Err(error) => Err(DockerError::Engine(engine_message(&error))),
        }
    }

    /// Every container (running or not) carrying `label=value`: its id and labels.
    pub async fn labelled(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<(String, HashMap<String, String>)>, DockerError> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={value}")])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| DockerError::Engine(engine_message(&e)))?;
        Ok(found.into_iter().filter_map(|c| Some((c.id?, c.labels.unwrap_or_default()))).collect())
    }
}

/// The engine's own message, without bollard's wrapping.
fn engine_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
