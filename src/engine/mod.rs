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
mod recovery;
mod resolve;
mod revision;
mod revision_json;
mod runner;
mod verdict;
mod watch;

pub use crate::aws::RevisionInput;
pub use change::{
    ChangeSet, Refusal, RegisterChange, RegisterDecision, SettingChange, StepChange,
    TaskDefinitionRef, UpdateAction, UpdateChange, VerifyChange, Watch,
};
pub use event::{Event, Recorder, Sink, Verdict};
pub use gates::{GateTrial, gate_name, network_policy, try_gate};
pub use live::{Described, Live, last_completed, read_live};
pub use manual::{RollbackError, roll_back, services, status_text};
pub use plan::{
    Fingerprint, Plan, PlanError, PlanOptions, differences, drift, make_plan, plan_text,
    sensitive_mask, step_text, summary,
};
pub use prediction::{Effective, Prediction, predict, simulation, simulation_input};
pub use resolve::{Options as ResolveOptions, family_of, resolve};
pub use revision::{RevisionError, next_revision};
pub use revision_json::{
    canonical, revision_from_json, revision_text, revision_to_json, same_revision,
};
pub use runner::{RunOptions, RunOutcome, Runner};
pub use verdict::{
    Anchor, Failure, Standing, check_digests, failed_tasks, healthy_tasks, judge, settled_on,
};
