//! `ferry plan`: what `ferry run` would do, from read-only calls; `--out` writes it as JSON
//! for `ferry run --plan`. With `--target local`, the local ECS's state file is read and
//! left untouched, and nothing is written to disk unless `--out` asks.

use super::output::{stderr, stdout};
use super::prepare::{Prepared, connect, prepare, runtime};
use super::{ExitStatus, PlanArguments};
use crate::aws::{Clients, Ecs};
use crate::engine::{Plan, PlanError, PlanOptions, make_plan, plan_text};

pub(super) fn run(arguments: &PlanArguments) -> ExitStatus {
    match plan(arguments) {
        Ok(text) => {
            stdout(&text);
            ExitStatus::Success
        }
        Err(message) => {
            stderr(&message);
            ExitStatus::InvalidInput
        }
    }
}

/// The plan as text, written as JSON to `--out` too; sensitive values masked in both
/// unless `--show-values`.
fn plan(arguments: &PlanArguments) -> Result<String, String> {
    let prepared = prepare(&arguments.deployfile)?;
    let plan = make(arguments, &prepared)
        .map_err(|message| prepared.mask(arguments.show_values).text(&message))?;
    let mask = if arguments.show_values {
        crate::sensitive::Mask::none()
    } else {
        crate::engine::sensitive_mask(
            &prepared.file,
            &prepared.settings,
            &prepared.workspace,
            &plan.changes,
        )
    };
    if let Some(path) = &arguments.out {
        let mut json = serde_json::to_value(&plan).map_err(|e| format!("error: {e}\n"))?;
        mask.json(&mut json);
        let text = serde_json::to_string_pretty(&json).map_err(|e| format!("error: {e}\n"))?;
        std::fs::write(path, text + "\n")
            .map_err(|error| format!("error: cannot write `{}`: {error}\n", path.display()))?;
    }
    Ok(mask.text(&plan_text(&plan, None)))
}

fn make(arguments: &PlanArguments, prepared: &Prepared) -> Result<Plan, String> {
    let plan = runtime()?.block_on(async {
        let (target, local, _clock) =
            connect(&arguments.target, &prepared.settings, &prepared.source.path, true).await?;
        let clients = Clients::new(&target).await;
        let ecs = Ecs::new(clients.ecs);
        let target_name = if local.is_some() { "local" } else { "aws" };
        let base_dir =
            prepared.source.path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        let options = PlanOptions {
            redeploy: arguments.redeploy,
            capacity: local.as_ref().and_then(crate::local::LocalEcs::capacity),
        };
        let plan = make_plan(
            &prepared.file,
            &prepared.settings,
            &prepared.workspace,
            &ecs,
            target_name,
            &base_dir,
            &options,
        )
        .await
        .map_err(|error| plan_error(prepared, &error));
        // The local ECS is dropped without `shutdown`: its state file is not written.
        drop(local);
        plan
    })?;
    Ok(plan)
}

/// A plan's error as the user reads it: an evaluation error as a diagnostic on the
/// Deployfile (the renderer of `ferry check`), an AWS error in words.
pub(super) fn plan_error(prepared: &Prepared, error: &PlanError) -> String {
    match error {
        PlanError::Eval(error) => super::prepare::eval_error_text(prepared, error),
        PlanError::Aws(error) => format!("error: {error}\n"),
    }
}
