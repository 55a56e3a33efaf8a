//! The one error of the front ends: every failure a user can meet around a command —
//! the Deployfile, arguments, files, the plan, AWS, the local ECS, gates, the terminal —
//! as a variant that carries what happened, where (file and line, operation and
//! resource, path) and, where there is one, what to do next. `Error::render` is the one
//! place it becomes text; the CLI, the REPL and the language server print that. Errors
//! below the front ends are typed too (`AwsError`, `DockerError`, `LocalError`,
//! `GateError`, `EvalError`) and arrive here whole.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::aws::AwsError;
use crate::diagnostic::Diagnostic;
use crate::engine::{GateError, PlanError};
use crate::eval::EvalError;
use crate::local::LocalError;
use crate::render::{HumanStyle, human_report};

/// A failure of a command; nothing was changed unless the variant says otherwise.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The Deployfile (or the file that stands for it) has errors: shown as `ferry check`
    /// shows them, each at its line and column.
    #[error("`{name}`: {}", diagnostics.first().map_or("", |d| d.message.as_str()))]
    Deployfile { name: String, text: String, diagnostics: Vec<Diagnostic> },
    /// Arguments, an environment or a command that cannot be carried out as given.
    #[error("{message}")]
    Usage { message: String, help: Option<String> },
    /// `ferry fmt` found it could not keep the file's meaning; nothing was written.
    #[error("ferry cannot format `{name}` safely ({reason}); the file was left as it is")]
    Unformattable { name: String, reason: String },
    /// A file ferry was given or writes.
    #[error("cannot {action} `{}`: {reason}", path.display())]
    File { action: &'static str, path: PathBuf, reason: String },
    /// `ferry run --plan FILE` names a file that is not a plan.
    #[error("`{}` is not a ferry plan: {reason}", path.display())]
    NotAPlan { path: PathBuf, reason: String },
    #[error("the plan was made for environment `{planned}`, not `{asked}`; nothing was changed")]
    PlanForAnotherEnvironment { planned: String, asked: String },
    #[error("the plan was made in region `{planned}`, not `{asked}`; nothing was changed")]
    PlanForAnotherRegion { planned: String, asked: String },
    #[error("the plan was made in account {planned}, not {asked}; nothing was changed")]
    PlanForAnotherAccount { planned: String, asked: String },
    /// What changed in ECS since `ferry plan --out`.
    #[error(
        "live state changed since the plan; nothing was changed:\n  - {}",
        changes.join("\n  - ")
    )]
    Drift { changes: Vec<String> },
    /// The user answered no at the confirmation prompt.
    #[error("nothing was changed")]
    Declined,
    /// A call to AWS (or the local ECS) failed: operation, resource, AWS's code and words.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The local ECS could not start, load or save.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// A gate could not be tried (`:gate` in the REPL).
    #[error(transparent)]
    Gate(#[from] GateError),
    /// A plan of the prepared Deployfile could not be made for a reason other than its
    /// values (those are `Deployfile` errors).
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the terminal failed: {0}")]
    Terminal(std::io::Error),
    /// The language server's connection to its client.
    #[error("the language server's connection failed: {0}")]
    LanguageServer(String),
}

impl From<crate::source_file::InputError> for Error {
    fn from(
        crate::source_file::InputError { name, text, diagnostic }: crate::source_file::InputError,
    ) -> Self {
        Error::Deployfile { name, text, diagnostics: vec![diagnostic] }
    }
}

impl Error {
    /// An evaluation error of the Deployfile `name` (its `text`): a diagnostic at its place,
    /// or a usage error (an unknown environment) with its help.
    #[must_use]
    pub(crate) fn eval(name: &str, text: &str, error: EvalError) -> Self {
        match error {
            EvalError::At(diagnostic) => Error::Deployfile {
                name: name.to_owned(),
                text: text.to_owned(),
                diagnostics: vec![diagnostic],
            },
            EvalError::Usage { message, help } => Error::Usage { message, help },
        }
    }

    /// A plan's error on the Deployfile `name`: its values, or a read-only call.
    #[must_use]
    pub(crate) fn plan(name: &str, text: &str, error: PlanError) -> Self {
        match error {
            PlanError::Eval(error) => Error::eval(name, text, error),
            PlanError::Aws(error) => Error::Aws(error),
        }
    }

    /// A usage error without help.
    #[must_use]
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::Usage { message: message.into(), help: None }
    }

    /// What to do next, where ferry can say.
    #[must_use]
    pub(crate) fn help(&self) -> Option<String> {
        match self {
            Error::Usage { help, .. } => help.clone(),
            Error::Aws(error) => Some(error.help()),
            Error::Drift { .. } => Some("make a new plan with `ferry plan --out`".to_owned()),
            Error::PlanForAnotherRegion { .. } | Error::PlanForAnotherAccount { .. } => Some(
                "make the plan with the run's credentials and region (`ferry plan --out`)"
                    .to_owned(),
            ),
            Error::Unformattable { .. } => {
                Some("this is a bug in ferry: please report it with the file".to_owned())
            }
            Error::NotAPlan { .. } => {
                Some("`ferry plan --out FILE` writes a plan `ferry run --plan FILE` reads".into())
            }
            _ => None,
        }
    }

    /// The text a user reads: the Deployfile's diagnostics rendered as `ferry check`
    /// renders them (in `style`); every other error as `error: …` and its help.
    #[must_use]
    pub(crate) fn render(&self, style: HumanStyle) -> String {
        match self {
            Error::Deployfile { name, text, diagnostics } => {
                human_report(name, text, diagnostics, style)
            }
            Error::Declined => format!("{self}\n"),
            // The script's diagnostics in `style`, under one line naming the script.
            Error::Gate(GateError::DoesNotCompile { path, text, diagnostics }) => format!(
                "error: gate script `{path}` does not compile:\n{}",
                human_report(path, text, diagnostics, style)
            ),
            _ => {
                let mut out = format!("error: {self}\n");
                if let Some(help) = self.help() {
                    let _ = writeln!(out, "  help: {help}");
                }
                out
            }
        }
    }
}
