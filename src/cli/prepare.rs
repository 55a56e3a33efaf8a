//! What `run` and `plan` share: the Deployfile read, checked and evaluated for one
//! environment, and the connection to the target (AWS, or the local ECS in-process).

use std::path::{Path, PathBuf};

use super::output::human_style;
use super::workspace::gather;
use super::{DeployfileArguments, TargetArguments, TargetKind};
use crate::aws::Target;
use crate::check::check_source;
use crate::eval::{EvalError, Settings, Workspace, resolve};
use crate::local::behaviour::FaultFile;
use crate::local::clock::Clock;
use crate::local::{LocalEcs, LocalOptions};
use crate::render::human_report;
use crate::source_file::{InputError, SourceFile, load};
use crate::syntax::Deployfile;

/// A Deployfile ready to run.
pub(super) struct Prepared {
    pub source: SourceFile,
    pub file: Deployfile,
    pub workspace: Workspace,
    pub settings: Settings,
}

impl Prepared {
    /// The Deployfile's sensitive values, to print with (none with `--show-values`).
    pub(super) fn mask(&self, show_values: bool) -> crate::sensitive::Mask {
        if show_values {
            return crate::sensitive::Mask::none();
        }
        crate::sensitive::Mask::new(crate::eval::sensitive_values(
            &self.file,
            &self.settings,
            &self.workspace,
        ))
    }
}

/// Reads, checks and evaluates the Deployfile; the error is the text to print (exit 2).
pub(super) fn prepare(arguments: &DeployfileArguments) -> Result<Prepared, String> {
    let environment = arguments.environment.as_deref();
    let working_dir = std::env::current_dir().unwrap_or_default();
    let source = match load(arguments.file.as_deref(), &working_dir) {
        Ok(source) => source,
        Err(InputError { name, text, diagnostic }) => {
            return Err(human_report(&name, &text, &[diagnostic], human_style()));
        }
    };
    let checked = check_source(&source.text);
    if checked.has_errors() {
        return Err(human_report(&source.name, &source.text, &checked.diagnostics, human_style()));
    }
    let Some(file) = checked.file else {
        return Err("error: the Deployfile did not parse\n".to_owned());
    };
    let workspace = gather(&source.path);
    let settings = resolve(&file, environment, &workspace)
        .map_err(|error| eval_text(&source.name, &source.text, &error))?;
    Ok(Prepared { source, file, workspace, settings })
}

/// An evaluation error as the user reads it: a diagnostic on the Deployfile, rendered as
/// `ferry check` renders them; a usage error (an unknown environment) as a line and help.
fn eval_text(name: &str, text: &str, error: &EvalError) -> String {
    match error {
        EvalError::At(diagnostic) => {
            human_report(name, text, std::slice::from_ref(diagnostic), human_style())
        }
        EvalError::Usage { message, help } => format!(
            "error: {message}\n{}",
            help.as_ref().map_or_else(String::new, |h| format!("  help: {h}\n"))
        ),
    }
}

/// An evaluation error of the prepared Deployfile, rendered.
pub(super) fn eval_error_text(prepared: &Prepared, error: &EvalError) -> String {
    eval_text(&prepared.source.name, &prepared.source.text, error)
}

impl Prepared {
    /// Every step's values, evaluated before anything runs: an `env(…)` that is not set
    /// is a diagnostic here, not a failure halfway through.
    pub(super) fn check_values(&self) -> Result<(), String> {
        crate::eval::evaluate(
            &self.file,
            &self.settings,
            &self.workspace,
            &crate::eval::Outputs::new(),
        )
        .map(|_| ())
        .map_err(|error| eval_error_text(self, &error))
    }
}

/// The target's SDK settings, the local ECS when it is the target, and the clock to time
/// the run by (real time on AWS, the local ECS's clock locally).
/// `read_only` (`plan`, `status`): the local ECS reads its state file and leaves it and any
/// containers as they are, so it runs virtual whatever `--runtime` says.
pub(super) async fn connect(
    target: &TargetArguments,
    settings: &Settings,
    deployfile: &Path,
    read_only: bool,
) -> Result<(Target, Option<LocalEcs>, Clock), String> {
    match target.target {
        TargetKind::Aws => Ok((
            Target::Aws { region: settings.region.clone(), profile: settings.profile.clone() },
            None,
            Clock::scaled(1.0),
        )),
        TargetKind::Local => {
            let docker = target.runtime == super::RuntimeKind::Docker && !read_only;
            let speed = target.speed.unwrap_or(if docker { 1.0 } else { 60.0 });
            if !crate::local::clock::valid_speed(speed) {
                return Err("error: `--speed` is a number from 1 to 1000000\n".to_owned());
            }
            let faults = FaultFile::load_optional(target.faults.as_deref())
                .map_err(|message| format!("error: {message}\n"))?;
            let state = target.state.clone().unwrap_or_else(|| {
                deployfile
                    .parent()
                    .map_or_else(PathBuf::new, PathBuf::from)
                    .join(".ferry")
                    .join("local-state.json")
            });
            // A read-only command leaves the disk as it was: no `.ferry/` is made.
            if let Some(dir) = state.parent()
                && !dir.as_os_str().is_empty()
                && !read_only
            {
                std::fs::create_dir_all(dir).map_err(|error| {
                    format!("error: cannot create `{}`: {error}\n", dir.display())
                })?;
            }
            let registry = crate::local::ecr::RegistryConfig {
                address: target.registry.clone(),
                password: std::env::var("FERRY_REGISTRY_PASSWORD").ok(),
            };
            let local = LocalEcs::start(LocalOptions {
                state_file: Some(state),
                speed,
                runtime: if docker {
                    crate::local::Runtime::Docker
                } else {
                    crate::local::Runtime::Virtual
                },
                faults,
                registry,
                capacity: target.capacity,
                read_only,
                ..LocalOptions::default()
            })
            .await
            .map_err(|message| format!("error: {message}\n"))?;
            let clock = local.clock().clone();
            Ok((Target::Local { url: local.url().to_owned() }, Some(local), clock))
        }
    }
}

/// A runtime for one command.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("error: cannot start the async runtime: {error}\n"))
}
