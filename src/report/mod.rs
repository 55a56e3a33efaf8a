//! Run reporters: the engine's event stream shown as live progress, as lines for people and
//! as NDJSON for tools; and the text of a local simulation. Diagnostics are rendered by
//! `ferry_lang::render`.

mod run_human;
mod run_live;
mod run_ndjson;
mod simulation;

pub use run_human::{HumanReporter, human_line};
pub use run_live::LiveReporter;
pub use run_ndjson::NdjsonReporter;
pub use simulation::simulation_text;
