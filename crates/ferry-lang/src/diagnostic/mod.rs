//! Diagnostics: what ferry says about a Deployfile, shared by every phase and every
//! front end (CLI, JSON, GitHub annotations, REPL, language server).

mod code;
#[allow(clippy::module_inception)]
mod diagnostic;

pub use code::{Code, Severity};
pub use diagnostic::{Diagnostic, Label};
