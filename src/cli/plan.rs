//! `ferry plan`: what `ferry run` would do, from read-only calls; `--out` writes it as JSON
//! for `ferry run --plan`. With `--target local`, the local ECS's state file is read and
//! left untouched.

use super::output::{stderr, stdout};
use super::prepare::{connect, prepare, runtime};
use super::{ExitStatus, PlanArguments};
use crate::aws::{Clients, Ecs};
use crate::engine::{Plan, make_plan, plan_text};

pub(super) fn run(arguments: &PlanArguments) -> ExitStatus {
    match plan(arguments) {
        Ok(plan) => {
            stdout(&plan_text(&plan, None));
            ExitStatus::Success
        }
        Err(message) => {
            stderr(&message);
            ExitStatus::InvalidInput
        }
    }
}

fn plan(arguments: &PlanArguments) -> Result<Plan, String> {
    let prepared = prepare(&arguments.deployfile)?;
    let plan = runtime()?.block_on(async {
        let (target, local, _clock) =
            connect(&arguments.target, &prepared.settings, &prepared.source.path, true).await?;
        let clients = Clients::new(&target).await;
        let ecs = Ecs::new(clients.ecs);
        let target_name = if local.is_some() { "local" } else { "aws" };
        let base_dir =
            prepared.source.path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        let plan = make_plan(
            &prepared.file,
            &prepared.settings,
            &prepared.workspace,
            &ecs,
            target_name,
            &base_dir,
        )
        .await
        .map_err(|e| format!("error: {e}\n"));
        // The local ECS is dropped without `shutdown`: its state file is not written.
        drop(local);
        plan
    })?;
    if let Some(path) = &arguments.out {
        let text = serde_json::to_string_pretty(&plan).map_err(|e| format!("error: {e}\n"))?;
        std::fs::write(path, text + "\n")
            .map_err(|error| format!("error: cannot write `{}`: {error}\n", path.display()))?;
    }
    Ok(plan)
}
