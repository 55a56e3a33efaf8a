//! What `run` and `plan` share: the Deployfile read, checked and evaluated for one
//! environment, and the connection to the target (AWS, or the local ECS in-process).

use std::path::{Path, PathBuf};

use super::workspace::gather;
use super::{DeployfileArguments, TargetArguments, TargetKind};
use crate::aws::Target;
use crate::check::check_source;
use crate::error::Error;
use crate::eval::{Settings, Workspace, resolve};
use crate::local::behaviour::FaultFile;
use crate::local::clock::Clock;
use crate::local::{LocalEcs, LocalOptions};
use crate::source_file::{SourceFile, load};
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

/// Reads, checks and evaluates the Deployfile (exit 2 when it fails).
pub(super) fn prepare(arguments: &DeployfileArguments) -> Result<Prepared, Error> {
    let environment = arguments.environment.as_deref();
    let working_dir = std::env::current_dir().unwrap_or_default();
    let source = load(arguments.file.as_deref(), &working_dir)?;
    let checked = check_source(&source.text);
    let file = match checked.file {
        Some(file) if !checked.has_errors() => file,
        None if !checked.has_errors() => return Err(Error::usage("the Deployfile did not parse")),
        _ => {
            return Err(Error::Deployfile {
                name: source.name,
                text: source.text,
                diagnostics: checked.diagnostics,
            });
        }
    };
    let workspace = gather(&source.path);
    let settings = resolve(&file, environment, &workspace)
        .map_err(|error| Error::eval(&source.name, &source.text, error))?;
    Ok(Prepared { source, file, workspace, settings })
}

impl Prepared {
    /// Every step's values, evaluated before anything runs: an `env(…)` that is not set
    /// is a diagnostic here, not a failure halfway through.
    pub(super) fn check_values(&self) -> Result<(), Error> {
        crate::eval::evaluate(
            &self.file,
            &self.settings,
            &self.workspace,
            &crate::eval::Outputs::new(),
        )
        .map(|_| ())
        .map_err(|error| self.error(error))
    }

    /// A plan's error: its values at their place in this Deployfile, or a call.
    pub(super) fn plan_error(&self, error: crate::engine::PlanError) -> Error {
        Error::plan(&self.source.name, &self.source.text, error)
    }

    /// An evaluation error at its place in this Deployfile.
    pub(super) fn error(&self, error: crate::eval::EvalError) -> Error {
        Error::eval(&self.source.name, &self.source.text, error)
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
) -> Result<(Target, Option<LocalEcs>, Clock), Error> {
    if let Some(region) = &target.region
        && let Err(reason) = crate::check::TextFormat::Region.check(region)
    {
        return Err(Error::usage(format!("`--region {region}`: {reason}")));
    }
    match target.target {
        TargetKind::Aws => Ok((
            // The flag, then the Deployfile; without either the SDK's chain decides
            // (AWS_REGION / AWS_PROFILE, then the profile's settings).
            Target::Aws {
                region: target.region.clone().or_else(|| settings.region.clone()),
                profile: target.profile.clone().or_else(|| settings.profile.clone()),
            },
            None,
            Clock::scaled(1.0),
        )),
        TargetKind::Local => {
            let docker = target.runtime == super::RuntimeKind::Docker && !read_only;
            let speed = target.speed.unwrap_or(if docker { 1.0 } else { 60.0 });
            if !crate::local::clock::valid_speed(speed) {
                return Err(Error::usage("`--speed` is a number from 1 to 1000000"));
            }
            let faults = FaultFile::load_optional(target.faults.as_deref())?;
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
                std::fs::create_dir_all(dir).map_err(|error| Error::File {
                    action: "create",
                    path: dir.to_owned(),
                    reason: error.to_string(),
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
            .await?;
            let clock = local.clock().clone();
            Ok((Target::Local { url: local.url().to_owned() }, Some(local), clock))
        }
    }
}

/// A runtime for one command.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
