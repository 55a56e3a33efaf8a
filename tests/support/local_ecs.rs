//! One way to start the local ECS for a test: `Start` says how (a fault file, a manual
//! clock or real time at a speed, a capacity, a registry, a state file, a port, the docker
//! runtime and the cleanup of its containers, which settings the SDK clients get) and
//! `Endpoint` is the running server with SDK clients for it. Every feature file starts its
//! local ECS through it; one that tests `LocalEcs::start` itself (a bad state file, a
//! restart) gives it `Start::options`, as `harness::Local::restart` does.

use std::path::{Path, PathBuf};

use ferry::aws::{Clients, Target};
use ferry::local::behaviour::FaultFile;
use ferry::local::clock::Clock;
use ferry::local::ecr::RegistryConfig;
use ferry::local::{LocalEcs, LocalOptions, Runtime};

use super::containers::Cleanup;

/// A running local ECS, with SDK clients for it.
pub(crate) struct Endpoint {
    pub(crate) server: LocalEcs,
    pub(crate) ecs: aws_sdk_ecs::Client,
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Removes the docker runtime's containers kept for the state file when the endpoint
    /// is dropped (`Start::clean_up_containers`), even when the test fails.
    _cleanup: Option<Cleanup>,
}

impl Endpoint {
    /// The endpoint's clock (a manual one moves only when the test moves it).
    pub(crate) fn clock(&self) -> &Clock {
        self.server.clock()
    }
}

/// A local ECS on a manual clock with this fault file (JSON; `{}` for none), virtual tasks,
/// and SDK clients with the SDK's own settings: `Start::manual().faults(faults).start()`.
pub(crate) async fn start(faults: &str) -> Endpoint {
    Start::manual().faults(faults).start().await
}

/// Which settings the SDK clients get.
#[derive(Clone, Copy)]
enum Settings {
    /// `test::sdk_config`: the SDK's defaults (its standard retries, no timeouts).
    Sdk,
    /// `ferry::aws::Clients::new`: ferry's own, with its timeouts and retries (the CLI's).
    Ferry,
}

/// How to start a local ECS.
#[derive(Clone)]
pub(crate) struct Start {
    options: LocalOptions,
    settings: Settings,
    clean_up: bool,
}

impl Start {
    /// Real time (the wall clock's, at speed 1 unless `speed`), virtual tasks, no faults,
    /// the local ECR's own registry host, no state file, a free port.
    pub(crate) fn real_time() -> Self {
        Self { options: LocalOptions::default(), settings: Settings::Sdk, clean_up: false }
    }

    /// A manual clock: time moves only when the test moves it (`Endpoint::clock`).
    pub(crate) fn manual() -> Self {
        let mut start = Self::real_time();
        start.options.clock = Some(Clock::manual());
        start
    }

    /// Virtual time per real time (the server's default is 1); a manual clock ignores it,
    /// and the docker runtime refuses more than 1.
    pub(crate) fn speed(mut self, speed: f64) -> Self {
        self.options.speed = speed;
        self
    }

    /// This fault file (JSON; `{}` for none).
    pub(crate) fn faults(mut self, faults: &str) -> Self {
        self.options.faults = FaultFile::parse(faults).expect("fault file");
        self
    }

    /// Tasks each cluster has room for (`None`: unbounded).
    pub(crate) fn capacity(mut self, capacity: Option<u32>) -> Self {
        self.options.capacity = capacity;
        self
    }

    /// The local ECR's images live in this registry (repository URIs, the token's password).
    pub(crate) fn registry(mut self, registry: RegistryConfig) -> Self {
        self.options.registry = registry;
        self
    }

    /// The state is read from this file and saved to it on shutdown.
    pub(crate) fn state_file(mut self, path: &Path) -> Self {
        self.options.state_file = Some(path.to_path_buf());
        self
    }

    /// Listens on this port of 127.0.0.1 (the default 0 picks a free one).
    pub(crate) fn port(mut self, port: u16) -> Self {
        self.options.port = port;
        self
    }

    /// Tasks are real containers on the machine's Docker engine (real time only).
    pub(crate) fn docker(mut self) -> Self {
        self.options.runtime = Runtime::Docker;
        self
    }

    /// With a state file, the docker runtime keeps its containers when the endpoint stops
    /// (for the next start to adopt): remove them when the `Endpoint` is dropped, even when
    /// the test fails. Without a state file the server removes its own, and this does
    /// nothing.
    pub(crate) fn clean_up_containers(mut self) -> Self {
        self.clean_up = true;
        self
    }

    /// The SDK clients get ferry's own settings (`ferry::aws::Clients::new`), as the CLI's.
    pub(crate) fn ferry_clients(mut self) -> Self {
        self.settings = Settings::Ferry;
        self
    }

    /// What the server is started with (`harness::Local::restart` starts it again).
    pub(crate) fn options(&self) -> LocalOptions {
        self.options.clone()
    }

    /// Starts the server and makes its clients.
    pub(crate) async fn start(self) -> Endpoint {
        // Made first, so that containers are removed even if the start fails half-way.
        let cleanup = match &self.options.state_file {
            Some(path) if self.clean_up => Some(Cleanup(instance(path))),
            _ => None,
        };
        let server = LocalEcs::start(self.options).await.expect("local ECS starts");
        let (ecs, ecr, sts, elb) = match self.settings {
            Settings::Sdk => {
                let config = super::test::sdk_config(server.url()).await;
                (
                    aws_sdk_ecs::Client::new(&config),
                    aws_sdk_ecr::Client::new(&config),
                    aws_sdk_sts::Client::new(&config),
                    aws_sdk_elasticloadbalancingv2::Client::new(&config),
                )
            }
            Settings::Ferry => {
                let clients = Clients::new(&Target::Local { url: server.url().to_owned() }).await;
                (clients.ecs, clients.ecr, clients.sts, clients.elb)
            }
        };
        Endpoint { server, ecs, ecr, sts, elb, _cleanup: cleanup }
    }
}

/// The label value of the docker runtime's containers for a state file: its path made
/// absolute through its directory, as the server makes it.
fn instance(state_file: &Path) -> PathBuf {
    let dir = state_file.parent().filter(|dir| !dir.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new(".")).canonicalize().expect("the state file's directory");
    dir.join(state_file.file_name().expect("the state file's name"))
}
