//! `ferry plan`: what `ferry run` would do, from read-only calls; `--out` writes it as JSON
//! for `ferry run --plan`. With `--target local`, the local ECS's state file is read and
//! left untouched, and nothing is written to disk unless `--out` asks.

use super::output::stdout;
use super::prepare::{Prepared, connect, prepare, runtime};
use super::{ExitStatus, PlanArguments, ReportFormat};
use crate::aws::{Clients, Ecs};
use crate::engine::{Plan, PlanOptions, make_plan, plan_text};
use crate::error::Error;
use crate::sensitive::Mask;

pub(super) fn run(arguments: &PlanArguments) -> ExitStatus {
    match plan(arguments) {
        Ok(text) => {
            stdout(&text);
            ExitStatus::Success
        }
        Err((error, mask)) => {
            super::output::error(&error, &mask);
            ExitStatus::InvalidInput
        }
    }
}

/// The plan as text, written as JSON to `--out` too; sensitive values masked in both
/// unless `--show-values`. The error comes with the mask to print it with.
fn plan(arguments: &PlanArguments) -> Result<String, (Error, Mask)> {
    let prepared = prepare(&arguments.deployfile).map_err(|error| (error, Mask::none()))?;
    let plan = make(arguments, &prepared)
        .map_err(|error| (error, prepared.mask(arguments.show_values)))?;
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
    // The JSON `--out` writes and `--format json` prints: the plan, masked.
    let json = || {
        let mut json = serde_json::to_value(&plan).unwrap_or_default();
        mask.json(&mut json);
        serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
    };
    if let Some(path) = &arguments.out {
        std::fs::write(path, json()).map_err(|e| {
            let reason = e.to_string();
            (Error::File { action: "write", path: path.clone(), reason }, Mask::none())
        })?;
    }
    Ok(match arguments.format {
        ReportFormat::Json => json(),
        ReportFormat::Human => mask.text(&plan_text(&plan, None)),
    })
}

fn make(arguments: &PlanArguments, prepared: &Prepared) -> Result<Plan, Error> {
    let plan = runtime()?.block_on(async {
        let (target, local, _clock) =
            connect(&arguments.target, &prepared.settings, &prepared.source.path, true).await?;
        let clients = Clients::new(&target).await;
        let ecs = Ecs::new(&clients);
        let target_name = if local.is_some() { "local" } else { "aws" };
        let base_dir =
            prepared.source.path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        // On AWS the header names the account; the first call, so that credentials that
        // do not work fail here.
        let account = match local {
            Some(_) => None,
            None => Some(crate::aws::account(&clients.sts).await?),
        };
        let options = PlanOptions {
            redeploy: arguments.redeploy,
            capacity: local.as_ref().and_then(crate::local::LocalEcs::capacity),
            account,
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
        .map_err(|error| prepared.plan_error(error));
        // The local ECS is dropped without `shutdown`: its state file is not written.
        drop(local);
        plan
    })?;
    Ok(plan)
}
