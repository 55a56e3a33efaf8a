//! The change set: what a run of the pipeline would do to the live state, step by step —
//! for each `register`, reuse (which ARN, and why) or register (the revision to send); for
//! each `update`, the CreateService/UpdateService call with every setting that differs and
//! whether it starts a deployment; for each `verify`, what is watched and for how long —
//! and every refusal that must stop the run before its first write. `resolve.rs` makes it
//! (pure); `ferry plan` prints it, `ferry run` executes it, the REPL shows it.

use serde::{Deserialize, Serialize};

use crate::aws::RevisionInput;
use crate::aws::ServiceRequest;
use crate::sensitive::{Mask, looks_secret};

/// The change set of a pipeline against one reading of the live state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub steps: Vec<StepChange>,
}

impl ChangeSet {
    /// Every refusal, in step order: the run stops before its first write if there is one.
    #[must_use]
    pub fn refusals(&self) -> Vec<&Refusal> {
        self.steps.iter().filter_map(StepChange::refusal).collect()
    }

    #[must_use]
    pub fn step(&self, name: &str, kind: &str) -> Option<&StepChange> {
        self.steps.iter().find(|s| s.name() == name && s.kind() == kind)
    }

    /// The values its diffs show that are sensitive beside `mask`'s (docs/cli.md,
    /// "Sensitive values"): in the revisions compared, each container environment entry
    /// whose name looks secret or whose next value `mask` masks — on both sides, so the
    /// old value of a secret is not shown beside the new one masked.
    #[must_use]
    pub fn sensitive_values(&self, mask: &Mask) -> Vec<String> {
        let entries = |input: &RevisionInput| -> Vec<(String, String, String)> {
            input
                .container_definitions
                .iter()
                .flat_map(|container| {
                    let name = container.name().unwrap_or_default().to_owned();
                    container.environment().iter().map(move |pair| {
                        (
                            name.clone(),
                            pair.name().unwrap_or_default().to_owned(),
                            pair.value().unwrap_or_default().to_owned(),
                        )
                    })
                })
                .collect()
        };
        let mut found = Vec::new();
        for step in &self.steps {
            let StepChange::Register(register) = step else { continue };
            let next = register.next.as_ref().map(entries).unwrap_or_default();
            let secret: Vec<(&str, &str)> = next
                .iter()
                .filter(|(_, name, value)| looks_secret(name) || mask.touches(value))
                .map(|(container, name, _)| (container.as_str(), name.as_str()))
                .collect();
            let before = register.before.as_deref().map(entries).unwrap_or_default();
            for (container, name, value) in next.iter().chain(&before) {
                if looks_secret(name) || secret.contains(&(container.as_str(), name.as_str())) {
                    found.push(value.clone());
                }
            }
        }
        found
    }
}

/// Why a run would stop before writing anything (exit 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// `register web_task`, `update web`.
    pub step: String,
    pub reason: String,
    /// Another deployment is in progress: `--wait-for-lock` may wait it out.
    #[serde(default)]
    pub busy: bool,
}

/// One step's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepChange {
    /// `build`, `tag`, `push`: what they would do (nothing is built by a plan).
    Image {
        step: String,
        image_kind: String,
        action: String,
    },
    Register(RegisterChange),
    Update(UpdateChange),
    Verify(VerifyChange),
    Rollback {
        step: String,
        action: String,
    },
}

impl StepChange {
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            StepChange::Image { step, .. } | StepChange::Rollback { step, .. } => step,
            StepChange::Register(change) => &change.step,
            StepChange::Update(change) => &change.step,
            StepChange::Verify(change) => &change.step,
        }
    }

    #[must_use]
    pub fn kind(&self) -> &str {
        match self {
            StepChange::Image { image_kind, .. } => image_kind,
            StepChange::Register(_) => "register",
            StepChange::Update(_) => "update",
            StepChange::Verify(_) => "verify",
            StepChange::Rollback { .. } => "rollback",
        }
    }

    #[must_use]
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            StepChange::Update(UpdateChange { action: UpdateAction::Refuse(refusal), .. }) => {
                Some(refusal)
            }
            StepChange::Register(RegisterChange {
                decision: RegisterDecision::Refuse(refusal),
                ..
            })
            | StepChange::Verify(VerifyChange { refusal: Some(refusal), .. }) => Some(refusal),
            _ => None,
        }
    }
}

/// What a `register` step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterChange {
    pub step: String,
    pub family: String,
    pub decision: RegisterDecision,
    /// The revision the next one is compared with, and why that one (`the revision
    /// service `web` runs`, `the family's latest`).
    pub compared_with: Option<(String, String)>,
    /// The unified diff of the next revision against `compared_with` (canonical JSON).
    pub diff: Vec<String>,
    /// Revisions cleanup would deregister after success, and the step's `keep`.
    pub deregister: Vec<String>,
    pub keep: Option<u32>,
    /// The revision to register, when `decision` is `Register`.
    #[serde(skip)]
    pub next: Option<RevisionInput>,
    /// The revision it is compared with, when it registers (for `sensitive_values`).
    #[serde(skip)]
    pub before: Option<Box<RevisionInput>>,
}

/// Register a revision, or reuse one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RegisterDecision {
    /// The step's result equals an existing revision: nothing is registered.
    Reuse {
        arn: String,
        why: String,
    },
    /// A new revision of the family.
    Register,
    /// An image comes from a `push` in this run: register unless its digest makes the
    /// revision equal to the running one (known only once pushed).
    AfterPush {
        images: Vec<String>,
    },
    Refuse(Refusal),
}

/// Which revision an `update` deploys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "revision", rename_all = "snake_case")]
pub enum TaskDefinitionRef {
    /// An existing revision.
    Arn { arn: String },
    /// The revision a `register` step of this run makes.
    New { step: String, family: String },
}

impl TaskDefinitionRef {
    #[must_use]
    pub fn arn(&self) -> Option<&str> {
        match self {
            TaskDefinitionRef::Arn { arn } => Some(arn),
            TaskDefinitionRef::New { .. } => None,
        }
    }

    /// How the plan names it.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            TaskDefinitionRef::Arn { arn } => arn.clone(),
            TaskDefinitionRef::New { step, family } => {
                format!("<the new revision of `{family}` (`register {step}`)>")
            }
        }
    }
}

/// What an `update` step does to its service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateChange {
    pub step: String,
    pub service: String,
    pub cluster: String,
    pub task_definition: TaskDefinitionRef,
    pub action: UpdateAction,
    /// Every setting that differs from the live service (`desired: 3 → 1`).
    pub settings: Vec<SettingChange>,
    /// The call, when one is made (`task_definition` is filled in once the revision is known).
    pub request: Option<ServiceRequest>,
    /// The revision that runs now (the PRIMARY deployment's).
    pub running: Option<String>,
    /// The PRIMARY deployment's id before the change.
    pub running_deployment: Option<String>,
    /// Where a rollback goes: the last revision whose deployment completed.
    pub rollback_target: Option<String>,
    /// The predicted rollout, when a deployment starts.
    pub prediction: Option<super::prediction::Prediction>,
    /// Said of the live service and not refused (a FAILED deployment replaced, …).
    pub notes: Vec<String>,
    /// How ECS deploys the service once the update is made, and its bake (blue/green).
    #[serde(default)]
    pub strategy: crate::aws::StrategyView,
    #[serde(default)]
    pub bake_ms: u64,
}

/// The call an `update` makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UpdateAction {
    /// CreateService (and CreateCluster): the service does not exist, `create = true`.
    Create,
    /// UpdateService that starts a deployment (new revision, `force`, network, load
    /// balancers or platform version).
    Deploy,
    /// UpdateService of settings only (desired count, min/max, grace, breaker): no
    /// deployment starts.
    Settings,
    /// A deployment of this very revision is already rolling out (a run that was
    /// interrupted): it is watched again, not started again.
    Resume {
        deployment_id: String,
    },
    /// The service already runs the revision with these settings.
    Nothing,
    Refuse(Refusal),
}

impl UpdateAction {
    /// Whether a deployment of ours starts or is resumed (what `verify` then watches).
    #[must_use]
    pub fn deploys(&self) -> bool {
        matches!(self, UpdateAction::Create | UpdateAction::Deploy | UpdateAction::Resume { .. })
    }
}

/// One setting that changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    pub name: String,
    pub from: Option<String>,
    pub to: String,
}

impl SettingChange {
    #[must_use]
    pub fn text(&self) -> String {
        format!("{}: {} → {}", self.name, self.from.as_deref().unwrap_or("unset"), self.to)
    }
}

/// What a `verify` step watches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyChange {
    /// The `update` step it verifies.
    pub step: String,
    pub service: String,
    /// No `verify` step names the update: ferry waits with the defaults.
    pub implicit: bool,
    pub watch: Watch,
    /// A gate script that is missing or does not compile.
    #[serde(default)]
    pub refusal: Option<Refusal>,
}

/// What is watched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "watch", rename_all = "snake_case")]
pub enum Watch {
    /// Our deployment, until `serving`, `traffic_shifted` or `completed`.
    Deployment {
        until: String,
        timeout_ms: u64,
        fail_fast: Option<u32>,
        gates: Vec<String>,
        bake_ms: u64,
        /// Blue/green: judged by the service deployment's lifecycle stages.
        #[serde(default)]
        strategy: crate::aws::StrategyView,
        /// ECS's own bake of a blue/green deployment, after production traffic moved.
        #[serde(default)]
        ecs_bake_ms: u64,
    },
    /// Settings only: the service settles at its desired count (the new one, or the
    /// service's when it does not change) on the revision it runs.
    Scaling { desired: Option<i32>, timeout_ms: u64 },
    /// Nothing changes.
    Nothing,
}
