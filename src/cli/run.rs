//! `ferry run`: check the Deployfile, evaluate it for the environment, and run it against
//! AWS or the local ECS. The exit code is the verdict's (DESIGN "Exit codes").

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::output::{human_style, stderr};
use super::source_file::{InputError, load};
use super::workspace::gather;
use super::{ExitStatus, Output, RunArguments, TargetKind};
use crate::aws::{Clients, Ecs, Target};
use crate::check::check_source;
use crate::engine::{Event, RunOptions, Runner, Sink, Verdict};
use crate::eval::{EvalError, resolve};
use crate::local::behaviour::FaultFile;
use crate::local::clock::Clock;
use crate::local::{LocalEcs, LocalOptions};
use crate::report::{HumanReporter, NdjsonReporter, human_report};

pub(super) fn run(arguments: &RunArguments) -> ExitStatus {
    match run_inner(arguments) {
        Ok(Verdict::Success) => ExitStatus::Success,
        Ok(verdict) => ExitStatus::Verdict(verdict.exit_code()),
        Err(message) => {
            stderr(&message);
            ExitStatus::InvalidInput
        }
    }
}

fn run_inner(arguments: &RunArguments) -> Result<Verdict, String> {
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
    let settings = resolve(&file, arguments.environment.as_deref(), &workspace).map_err(
        |error| match error {
            EvalError::At(diagnostic) => {
                human_report(&source.name, &source.text, &[diagnostic], human_style())
            }
            EvalError::Usage { message, help } => {
                format!(
                    "error: {message}\n{}",
                    help.map_or_else(String::new, |h| format!("  help: {h}\n"))
                )
            }
        },
    )?;
    if arguments.target == TargetKind::Aws
        && !arguments.yes
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
    {
        let cluster = settings.cluster.clone().unwrap_or_else(|| "default".to_owned());
        stderr(&format!(
            "deploy `{}` to environment `{}` (cluster `{cluster}`)? [y/N] ",
            source.name, settings.name
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err("nothing was changed\n".to_owned());
        }
    }
    let faults = match &arguments.faults {
        Some(path) => FaultFile::load(path).map_err(|message| format!("error: {message}\n"))?,
        None => FaultFile::default(),
    };
    if !(arguments.speed.is_finite() && arguments.speed >= 1.0) {
        return Err("error: `--speed` is a number of 1 or more\n".to_owned());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("error: cannot start the async runtime: {error}\n"))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    runtime.block_on(async {
        let flag = Arc::clone(&interrupted);
        tokio::spawn(async move {
            super::local::wait_for_interrupt().await;
            flag.store(true, Ordering::Relaxed);
        });
        let (target, local, clock) = match arguments.target {
            TargetKind::Aws => (
                Target::Aws { region: settings.region.clone(), profile: settings.profile.clone() },
                None,
                Clock::scaled(1.0),
            ),
            TargetKind::Local => {
                let state = arguments.state.clone().unwrap_or_else(|| {
                    source
                        .path
                        .parent()
                        .map_or_else(PathBuf::new, PathBuf::from)
                        .join(".ferry")
                        .join("local-state.json")
                });
                if let Some(dir) = state.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|error| {
                        format!("error: cannot create `{}`: {error}\n", dir.display())
                    })?;
                }
                let local = LocalEcs::start(LocalOptions {
                    state_file: Some(state),
                    speed: arguments.speed,
                    faults,
                    ..LocalOptions::default()
                })
                .await
                .map_err(|message| format!("error: {message}\n"))?;
                let clock = local.clock().clone();
                (Target::Local { url: local.url().to_owned() }, Some(local), clock)
            }
        };
        let clients = Clients::new(&target).await;
        let mut sink: Box<dyn Sink> = match arguments.output {
            Output::Human => Box::new(HumanReporter::new(std::io::stderr())),
            Output::Ndjson => Box::new(NdjsonReporter::new(std::io::stdout())),
        };
        let mut github = GithubSink::from_env();
        let mut tee =
            Tee { first: sink.as_mut(), second: github.as_mut().map(|g| g as &mut dyn Sink) };
        let options = RunOptions {
            interrupted,
            allow_dirty: arguments.allow_dirty,
            wait_for_lock: arguments.wait_for_lock,
            target: match arguments.target {
                TargetKind::Aws => "aws".to_owned(),
                TargetKind::Local => "local".to_owned(),
            },
        };
        let runner = Runner::new(
            &file,
            settings,
            &workspace,
            Ecs::new(clients.ecs),
            clock,
            &mut tee,
            options,
        );
        let outcome = runner.run().await;
        if let Some(github) = github.as_mut() {
            github.summary();
        }
        if let Some(local) = local
            && let Err(message) = local.shutdown().await
        {
            stderr(&format!("warning: {message}\n"));
        }
        Ok(outcome.verdict)
    })
}

/// Sends every event to two sinks.
struct Tee<'a> {
    first: &'a mut dyn Sink,
    second: Option<&'a mut dyn Sink>,
}

impl Sink for Tee<'_> {
    fn event(&mut self, event: &Event) {
        self.first.event(event);
        if let Some(second) = self.second.as_mut() {
            second.event(event);
        }
    }
}

/// Under GitHub Actions: failures as `::error` annotations on standard output, and a step
/// summary written to `$GITHUB_STEP_SUMMARY`.
struct GithubSink {
    lines: Vec<String>,
    summary_path: Option<PathBuf>,
}

impl GithubSink {
    fn from_env() -> Option<Self> {
        (std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")).then(|| Self {
            lines: Vec::new(),
            summary_path: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        })
    }

    fn summary(&self) {
        let Some(path) = &self.summary_path else { return };
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(file, "## ferry\n\n{}", self.lines.join("\n"));
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

impl Sink for GithubSink {
    fn event(&mut self, event: &Event) {
        match event {
            Event::DeploymentFailed { service, reason, .. } => {
                let _ = writeln!(
                    std::io::stdout(),
                    "::error title=ferry: {service}::{}",
                    escape(reason)
                );
            }
            Event::RollbackFailed { service, reason } => {
                let _ = writeln!(
                    std::io::stdout(),
                    "::error title=ferry: rollback of {service}::{}",
                    escape(reason)
                );
            }
            Event::Warning { message } => {
                let _ = writeln!(std::io::stdout(), "::warning title=ferry::{}", escape(message));
            }
            _ => {}
        }
        if let Some(line) = crate::report::human_line(event) {
            self.lines.push(format!("- {}", line.trim()));
        }
    }
}
