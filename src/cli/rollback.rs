//! `ferry rollback`: roll a service the Deployfile updates back by hand, and verify it
//! runs the earlier revision. Exit 0 when verified, 3 when not, 2 for invalid input.

use super::output::{failed, stderr};
use super::prepare::{connect, prepare, runtime};
use super::{ExitStatus, RollbackArguments};
use crate::aws::{Clients, Ecs};
use crate::engine::{roll_back, services};
use crate::error::Error;

pub(super) fn run(arguments: &RollbackArguments) -> ExitStatus {
    let prepared = match prepare(&arguments.deployfile) {
        Ok(prepared) => prepared,
        Err(error) => return failed(error),
    };
    let all = services(&prepared.file, &prepared.settings, &prepared.workspace);
    let chosen: Vec<_> = all
        .iter()
        .filter(|(_, _, service)| arguments.service.as_ref().is_none_or(|s| s == service))
        .collect();
    let (cluster, service) = match chosen.as_slice() {
        [(_, cluster, service)] => (cluster.clone(), service.clone()),
        [] => {
            return failed(Error::usage(format!(
                "the Deployfile updates no service{}",
                arguments.service.as_ref().map_or_else(String::new, |s| format!(" called `{s}`"))
            )));
        }
        _ => {
            let names: Vec<String> = chosen.iter().map(|(_, _, s)| format!("`{s}`")).collect();
            return failed(Error::usage(format!(
                "the Deployfile updates {}; name one with --service",
                names.join(", ")
            )));
        }
    };
    let refused =
        |error: Error| (ExitStatus::InvalidInput, error.render(super::output::human_style()));
    let outcome = runtime().map_err(refused).and_then(|runtime| {
        runtime.block_on(async {
            let (target, local, clock) =
                connect(&arguments.target, &prepared.settings, &prepared.source.path, false)
                    .await
                    .map_err(refused)?;
            // Ctrl-C or SIGTERM cuts a call short and ends with exit 130.
            let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = std::sync::Arc::clone(&interrupted);
            tokio::spawn(async move {
                super::local::wait_for_interrupt().await;
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let ecs = Ecs::new(&Clients::new(&target).await).interruptible(interrupted);
            let result = roll_back(
                &ecs,
                &clock,
                &cluster,
                &service,
                arguments.to.as_deref(),
                arguments.timeout,
            )
            .await;
            if let Some(local) = local
                && let Err(message) = local.shutdown().await
            {
                stderr(&format!("warning: {message}\n"));
            }
            result.map_err(|error| match error {
                crate::engine::RollbackError::Refused(reason) => refused(Error::usage(reason)),
                crate::engine::RollbackError::Interrupted(reason) => {
                    (ExitStatus::Verdict(130), format!("interrupted: {reason} (exit 130)\n"))
                }
                crate::engine::RollbackError::Failed(reason) => (
                    ExitStatus::Verdict(3),
                    format!(
                        "FAILED: the rollback of `{service}` is not verified: {reason} (exit 3)\n"
                    ),
                ),
            })
        })
    });
    match outcome {
        Ok(revision) => {
            stderr(&format!("rolled back: service `{service}` runs {revision} (exit 0)\n"));
            ExitStatus::Success
        }
        Err((status, message)) => {
            stderr(&message);
            status
        }
    }
}
