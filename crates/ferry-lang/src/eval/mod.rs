//! Evaluation: a checked Deployfile's expressions turned into values for one environment,
//! and its steps into the typed pipeline the run engine executes. Pure: git and the
//! process environment come in through `Workspace`.

mod eval_error;
mod evaluator;
mod pipeline;
mod sensitive;
mod settings;
mod value;
mod workspace;

pub use eval_error::EvalError;
pub use evaluator::{Evaluator, Outputs, StepValue};
pub use pipeline::{
    AlarmsSpec, ContainerChange, EarlySuccessSpec, GateSpec, HealthCheckSpec, LifecycleHookSpec,
    LoadBalancerSpec, NetworkSpec, PlannedStep, RegisterStep, RollbackStep, UpdateStep, VerifyStep,
    evaluate, plan_step, step_values,
};
pub use sensitive::{expr_sensitive_values, sensitive_values};
pub use settings::{DEFAULT_ENVIRONMENT, Settings, environment_names, resolve};
pub use value::{GateTarget, Repository, TaskDefinitionSource, Value};
pub use workspace::{DIRTY_MARKER, GitInfo, Workspace};

/// `90000` ms → `1m30s`.
#[must_use]
pub fn duration_text(ms: u64) -> String {
    crate::syntax::format_duration(ms)
}
