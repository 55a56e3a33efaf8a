//! `ferry local`: the local ECS/ECR endpoint, standalone. Prints the endpoint URL and runs
//! until Ctrl-C or SIGTERM, then saves the state file (if any).

use super::output::{failed, stdout};
use super::{ExitStatus, LocalArguments};
use crate::error::Error;
use crate::local::behaviour::FaultFile;
use crate::local::ecr::RegistryConfig;
use crate::local::{LocalEcs, LocalOptions};

pub(super) fn run(arguments: &LocalArguments) -> ExitStatus {
    let faults = match FaultFile::load_optional(arguments.faults.as_deref()) {
        Ok(faults) => faults,
        Err(error) => return failed(error),
    };
    if !crate::local::clock::valid_speed(arguments.speed) {
        return failed(Error::usage("`--speed` is a number from 1 to 1000000"));
    }
    let options = LocalOptions {
        port: arguments.port,
        state_file: arguments.state.clone(),
        speed: arguments.speed,
        faults,
        registry: RegistryConfig {
            address: arguments.registry.clone(),
            password: arguments.registry_password.clone(),
        },
        capacity: arguments.capacity,
        clock: None,
        runtime: arguments.runtime.into(),
        read_only: false,
    };
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => return failed(Error::Runtime(error)),
        };
    runtime.block_on(async {
        let local = match LocalEcs::start(options).await {
            Ok(local) => local,
            Err(error) => return failed(error),
        };
        stdout(&format!("{}\n", local.url()));
        let tasks = match arguments.runtime {
            super::RuntimeKind::Virtual => format!("virtual tasks, speed {}x", arguments.speed),
            super::RuntimeKind::Docker => "tasks are Docker containers".to_owned(),
        };
        super::output::note(&format!(
            "ferry local: ECS and ECR on {url} ({tasks}); point clients at it with \
             AWS_ENDPOINT_URL={url}; Ctrl-C stops\n",
            url = local.url(),
        ));
        wait_for_interrupt().await;
        match local.shutdown().await {
            Ok(()) => ExitStatus::Success,
            Err(error) => failed(error),
        }
    })
}

pub(super) async fn wait_for_interrupt() {
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
