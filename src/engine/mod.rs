//! The run engine: the steps of a pipeline in order, talking to ECS through `aws`, with
//! one event stream that every reporter reads. `revision.rs` and `verdict.rs` are pure.

mod change;
mod event;
mod gates;
mod images;
mod live;
mod manual;
mod plan;
mod prediction;
mod probe;
mod progress;
mod recovery;
mod resolve;
mod revision;
mod revision_json;
mod runner;
mod stages;
mod stopped;
mod targets;
mod verdict;
mod watch;
mod watch_stages;

pub use crate::aws::RevisionInput;
pub use change::{
    ChangeSet, Refusal, RegisterChange, RegisterDecision, SettingChange, StepChange,
    TaskDefinitionRef, UpdateAction, UpdateChange, VerifyChange, Watch,
};
pub use event::{Event, Recorder, Sink, Verdict};
pub(crate) use gates::{GateError, gate_name, network_policy, try_gate};
pub use live::{Described, Live};
pub(crate) use manual::status_text;
pub use manual::{RollbackError, roll_back, services};
pub(crate) use plan::step_text;
pub use plan::{
    Fingerprint, Plan, PlanError, PlanOptions, differences, drift, make_plan, plan_text,
    sensitive_mask, summary,
};
pub use prediction::{Effective, Prediction, simulation};
pub use resolve::{Options as ResolveOptions, resolve};
pub use revision::{RevisionError, next_revision};
pub use revision_json::{canonical, revision_from_json, revision_text, same_revision};
pub use runner::{RunOptions, RunOutcome, Runner};
pub use stages::stage_words;
pub use targets::{NotHealthy, TargetCheck, check_targets, targets_text};
pub use verdict::{Anchor, Failure, Standing, failed_tasks, judge};
