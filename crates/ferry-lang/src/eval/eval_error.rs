//! What can go wrong while evaluating: things only known once the pipeline is about to
//! run (an unset environment variable, no git repository, an unknown `--env`).

use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::did_you_mean;
use crate::syntax::Span;

/// An evaluation error: a diagnostic when it has a place in the Deployfile, a plain
/// message (about the command line) otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    At(Diagnostic),
    Usage { message: String, help: Option<String> },
}

impl EvalError {
    pub(super) fn undefined_env_var(span: Span, name: &str) -> Self {
        EvalError::At(
            Diagnostic::new(
                Code::UndefinedEnvVar,
                span,
                format!("environment variable `{name}` is not set"),
            )
            .with_label("read here")
            .with_help(format!("set `{name}`, or give a default: `env(\"{name}\", \"…\")`")),
        )
    }

    pub(super) fn git_unavailable(span: Span, what: &str) -> Self {
        EvalError::At(
            Diagnostic::new(Code::GitUnavailable, span, format!("`{what}` needs a git repository"))
                .with_label("read here")
                .with_help("run ferry inside the repository's work tree, with `git` installed"),
        )
    }

    pub(super) fn unset_setting(span: Span, setting: &str, environment: &str) -> Self {
        EvalError::At(
            Diagnostic::new(
                Code::UnsetSetting,
                span,
                format!("`env.{setting}` is not set for environment `{environment}`"),
            )
            .with_label("read here")
            .with_help(format!("set `{setting}` in `defaults` or in `environment {environment}`")),
        )
    }

    pub(super) fn unknown_environment(name: &str, known: &[String]) -> Self {
        let help = did_you_mean(name, known.iter().map(String::as_str)).or_else(|| {
            if known.is_empty() {
                Some("this Deployfile defines no environment; run without `--env`".to_owned())
            } else {
                Some(format!(
                    "the environments are {}",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ))
            }
        });
        EvalError::Usage { message: format!("unknown environment `{name}`"), help }
    }

    /// Something the checker should have refused; reported rather than panicking.
    pub(super) fn internal(span: Span, what: &str) -> Self {
        EvalError::At(
            Diagnostic::new(Code::CannotEvaluate, span, format!("cannot evaluate `{what}`"))
                .with_label("here")
                .with_help(
                    "this is a bug in ferry: the checker accepted a value evaluation cannot use; \
                     please report it",
                ),
        )
    }
}
