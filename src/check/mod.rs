//! Checking: names, order, fields, types, ranges and lints over a syntax tree. Pure; the
//! CLI, REPL and language server all call `check_source` and differ only in how they
//! show the diagnostics.

mod analyzer;
pub mod schema;
mod step_rules;
mod symbols;
mod text_format;
mod value_check;
mod value_type;

pub use symbols::{Definition, Symbols};
pub use text_format::TextFormat;
pub use value_type::ValueType;

use crate::diagnostic::Diagnostic;
use crate::syntax::{self, Deployfile};

/// The result of checking a Deployfile's text.
#[derive(Debug)]
pub struct Checked {
    /// The syntax tree, when the text parsed.
    pub file: Option<Deployfile>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks `text`.
#[must_use]
pub fn check_source(text: &str) -> Checked {
    match syntax::parse(text) {
        Ok(file) => {
            let diagnostics = check(&file);
            Checked { file: Some(file), diagnostics }
        }
        Err(mut diagnostics) => {
            sort(&mut diagnostics);
            Checked { file: None, diagnostics }
        }
    }
}

/// Checks a parsed Deployfile: every error and warning, sorted by position.
#[must_use]
pub fn check(file: &Deployfile) -> Vec<Diagnostic> {
    let mut diagnostics = analyzer::Analyzer::new(file).run();
    sort(&mut diagnostics);
    diagnostics
}

fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (a.span().start, a.span().end, a.code).cmp(&(b.span().start, b.span().end, b.code))
    });
    diagnostics.dedup();
}
