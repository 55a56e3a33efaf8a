//! `ferry run`: check the Deployfile, evaluate it for the environment, and run it against
//! AWS or the local ECS. The exit code is the verdict's (docs/correctness.md "Exit codes").

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::output::{append, stderr};
use super::prepare::{connect, prepare, runtime};
use super::{ExitStatus, Output, RunArguments, TargetKind};
use crate::aws::{Clients, Ecs};
use crate::engine::{Plan, RunOptions, Runner, Sink, Verdict, drift};
use crate::error::Error;
use crate::render::HumanStyle;
use crate::report::{GithubReporter, HumanReporter, LiveReporter, NdjsonReporter, Tee};
use crate::sensitive::Mask;

pub(super) fn run(arguments: &RunArguments) -> ExitStatus {
    match run_inner(arguments) {
        Ok(Verdict::Success) => ExitStatus::Success,
        Ok(verdict) => ExitStatus::Verdict(verdict.exit_code()),
        Err((error, mask)) => {
            super::output::error(&error, &mask);
            if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
                github_refusal(arguments, &mask.text(&error.render(HumanStyle::plain())));
            }
            ExitStatus::InvalidInput
        }
    }
}

/// A refusal before the run started, under GitHub Actions: an annotation, the step
/// summary and the outputs, as for a run refused later.
/// Clears the live progress line (called from the Ctrl-C task).
type ClearLine = Box<dyn Fn() + Send + Sync>;

fn github_refusal(arguments: &RunArguments, text: &str) {
    let reason = text.trim().to_owned();
    let annotation = format!("::error title=ferry::{}\n", crate::render::workflow_data(&reason));
    match arguments.output {
        Output::Ndjson => stderr(&annotation),
        Output::Human => super::output::stdout(&annotation),
    }
    let mut github = GithubReporter::new(std::io::sink());
    github.event(&crate::engine::Event::RunFinished {
        verdict: Verdict::InvalidInput,
        exit_code: Verdict::InvalidInput.exit_code(),
        reason,
    });
    write_github_files(&github);
}

/// The step summary and the step's outputs, appended to the files GitHub names.
fn write_github_files<W: std::io::Write + Send>(github: &GithubReporter<W>) {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        append(std::path::Path::new(&path), &github.summary());
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT") {
        append(std::path::Path::new(&path), &github.outputs());
    }
}

/// The verdict; the error comes with the mask to print it with: what goes wrong before
/// the run starts is printed masked too.
fn run_inner(arguments: &RunArguments) -> Result<Verdict, (Error, Mask)> {
    let prepared = prepare(&arguments.deployfile).map_err(|error| (error, Mask::none()))?;
    run_prepared(arguments, &prepared)
        .map_err(|error| (error, prepared.mask(arguments.show_values)))
}

fn run_prepared(
    arguments: &RunArguments,
    prepared: &super::prepare::Prepared,
) -> Result<Verdict, Error> {
    prepared.check_values()?;
    let plan: Option<Plan> = match &arguments.plan {
        Some(path) => {
            let text = crate::regular_file::read_text(path, super::MAX_SIZE).map_err(|error| {
                Error::File { action: "read plan", path: path.clone(), reason: error.to_string() }
            })?;
            Some(serde_json::from_str(&text).map_err(|error| Error::NotAPlan {
                path: path.clone(),
                reason: error.to_string(),
            })?)
        }
        None => None,
    };
    if let Some(plan) = &plan
        && plan.environment != prepared.settings.name
    {
        return Err(Error::PlanForAnotherEnvironment {
            planned: plan.environment.clone(),
            asked: prepared.settings.name.clone(),
        });
    }
    if arguments.target.target == TargetKind::Aws
        && !arguments.yes
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
    {
        let cluster = prepared.settings.cluster.clone().unwrap_or_else(|| "default".to_owned());
        stderr(&format!(
            "deploy `{}` to environment `{}` (cluster `{cluster}`)? [y/N] ",
            prepared.source.name, prepared.settings.name
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Error::Declined);
        }
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    // What Ctrl-C clears at once: the live progress line, once there is one.
    let clear: Arc<std::sync::Mutex<Option<ClearLine>>> = Arc::default();
    runtime()?.block_on(async {
        let flag = Arc::clone(&interrupted);
        let clear_on_interrupt = Arc::clone(&clear);
        tokio::spawn(async move {
            super::local::wait_for_interrupt().await;
            flag.store(true, Ordering::Relaxed);
            if let Some(clear) = clear_on_interrupt.lock().ok().and_then(|mut c| c.take()) {
                clear();
            }
        });
        let (target, local, clock) =
            connect(&arguments.target, &prepared.settings, &prepared.source.path, false).await?;
        let clients = Clients::new(&target).await;
        let ecs = Ecs::new(&clients);
        let capacity = local.as_ref().and_then(crate::local::LocalEcs::capacity);
        if let Some(plan) = &plan {
            // A plan read from one region says nothing of another's services.
            if let Some(planned) = &plan.region
                && local.is_none()
                && ecs.region().as_ref() != Some(planned)
            {
                return Err(Error::PlanForAnotherRegion {
                    planned: planned.clone(),
                    asked: ecs.region().unwrap_or_else(|| "none".to_owned()),
                });
            }
            // Nor does one read with another account's credentials.
            if let Some(planned) = &plan.account
                && local.is_none()
            {
                let asked = crate::aws::account(&clients.sts).await?;
                if &asked != planned {
                    let planned = planned.clone();
                    return Err(Error::PlanForAnotherAccount { planned, asked });
                }
            }
            let changes = drift(plan, &ecs).await?;
            if !changes.is_empty() {
                return Err(Error::Drift {
                    changes: changes.iter().map(ToString::to_string).collect(),
                });
            }
        }
        let verbosity = super::output::verbosity();
        let mut sink: Box<dyn Sink> = match arguments.output {
            Output::Human if std::io::stderr().is_terminal() => {
                let live = LiveReporter::new(verbosity);
                if let Ok(mut slot) = clear.lock() {
                    *slot = Some(Box::new(live.on_interrupt()));
                }
                Box::new(live)
            }
            Output::Human => Box::new(HumanReporter::new(std::io::stderr(), verbosity)),
            Output::Ndjson => Box::new(NdjsonReporter::new(std::io::stdout())),
        };
        // Under GitHub Actions: annotations on standard output, or on standard error when
        // the events own standard output.
        let mut github = (std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")).then(|| {
            let out: Box<dyn std::io::Write + Send> = match arguments.output {
                Output::Ndjson => Box::new(std::io::stderr()),
                Output::Human => Box::new(std::io::stdout()),
            };
            GithubReporter::new(out)
        });
        let mut tee =
            Tee { first: sink.as_mut(), second: github.as_mut().map(|g| g as &mut dyn Sink) };
        let options = RunOptions {
            interrupted,
            allow_dirty: arguments.allow_dirty,
            wait_for_lock: arguments.wait_for_lock,
            target: match arguments.target.target {
                TargetKind::Aws => "aws".to_owned(),
                TargetKind::Local => "local".to_owned(),
            },
            base_dir: prepared
                .source
                .path
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            ecr: Some(crate::aws::Ecr::new(clients.ecr.clone())),
            redeploy: arguments.redeploy,
            capacity,
            expected: plan.as_ref().map(|p| p.changes.clone()),
            show_values: arguments.show_values,
        };
        let runner = Runner::new(
            &prepared.file,
            prepared.settings.clone(),
            &prepared.workspace,
            ecs,
            clock,
            &mut tee,
            options,
        );
        let outcome = runner.run().await;
        if let Some(github) = &github {
            write_github_files(github);
        }
        if let Some(local) = local
            && let Err(message) = local.shutdown().await
        {
            stderr(&format!("warning: {message}\n"));
        }
        Ok(outcome.verdict)
    })
}
