//! Diagnostic renderers: the same diagnostics shown as a miette report for people, as JSON
//! for tools, and as GitHub Actions annotations. They differ only in presentation.

mod github;
mod human;
mod indexed_source;
mod json;

pub use github::{data as workflow_data, github_annotations};
pub use human::{HumanStyle, human_report, summary};
pub use json::{json_diagnostics, json_files};
