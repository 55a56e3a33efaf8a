//! Reporters: the same diagnostics shown as a miette report for people, as JSON for
//! tools, and as GitHub Actions annotations. They differ only in presentation.

mod github;
mod human;
mod json;
mod run_human;
mod run_live;
mod run_ndjson;
mod simulation;

pub use github::github_annotations;
pub use human::{HumanStyle, human_report, summary};
pub use json::{json_diagnostics, json_files};
pub use run_human::{HumanReporter, human_line};
pub use run_live::LiveReporter;
pub use run_ndjson::NdjsonReporter;
pub use simulation::simulation_text;
