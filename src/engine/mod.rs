//! The run engine: the steps of a pipeline in order, talking to ECS through `aws`, with
//! one event stream that every reporter reads. `revision.rs` and `verdict.rs` are pure.

mod event;
mod gates;
mod images;
mod manual;
mod plan;
mod revision;
mod revision_json;
mod runner;
mod verdict;

pub use event::{Event, Recorder, Sink, Verdict};
pub use gates::{GateTrial, gate_name, try_gate};
pub use manual::{roll_back, services, status_text};
pub use plan::{Fingerprint, Plan, StepPlan, drift, make_plan, plan_text};
pub use revision::{RevisionError, RevisionInput, next_revision, revision_text};
pub use revision_json::revision_from_json;
pub use runner::{RunOptions, RunOutcome, Runner};
pub use verdict::{Anchor, Failure, Standing, check_digests, failed_tasks, judge, settled_on};
