//! Run reporters: the engine's event stream shown as live progress, as lines for people, as
//! NDJSON for tools and as GitHub Actions commands; and the text of a local simulation. Each
//! sink writes to the writer it is given or returns text; none opens a file. Diagnostics are
//! rendered by `ferry_lang::render`.

mod run_github;
mod run_human;
mod run_live;
mod run_ndjson;
mod simulation;

pub(crate) use run_github::{GithubReporter, Tee};
pub(crate) use run_human::{HumanReporter, Verbosity};
pub(crate) use run_live::LiveReporter;
pub(crate) use run_ndjson::NdjsonReporter;
pub(crate) use simulation::simulation_text;
