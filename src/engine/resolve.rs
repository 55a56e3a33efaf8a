//! The one resolution: the evaluated pipeline and the live state (read once, read-only)
//! in, the change set out (`change.rs`). `ferry plan` prints it, `ferry run` executes it
//! step by step (calling this again as outputs become known: a pushed digest, a registered
//! ARN), the REPL's `:plan`, `:diff` and `:simulate` show it. Pure.
//!
//! - A `register` is compared, in canonical form, with the revision the service it is
//!   deployed to *runs*, then with the revision it starts from, then with the family's
//!   latest: the first equal one is reused.
//! - An `update` sends every setting that differs from the live service — applied even
//!   when the revision is unchanged — and starts a deployment only for a new revision,
//!   `force`, or a network, load-balancer or platform change (reference §6).
//! - Every refusal is found here, before the first write: a missing service without
//!   `create`, another deployment in progress, a service left FAILED, a rollout predicted
//!   to be stuck, a revision that cannot be made.
//!
//! This file holds the entry point, its options and the walk over the steps; each step's
//! resolution is in `resolve/register.rs`, `resolve/update.rs` and `resolve/verify.rs`.

use std::collections::BTreeMap;

use super::change::{ChangeSet, RegisterDecision, StepChange, TaskDefinitionRef, UpdateChange};
use super::live::Live;
use crate::eval::{Outputs, PlannedStep, Value, VerifyStep};

mod register;
mod update;
mod verify;

use register::resolve_register;
pub(super) use update::in_progress;
use update::resolve_update;
use verify::resolve_verify;

/// The default `verify` timeout.
pub(super) const DEFAULT_TIMEOUT_MS: u64 = 30 * 60_000;

/// What the resolution is told besides the pipeline and the live state.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The environment's cluster.
    pub cluster: Option<String>,
    /// `--redeploy`: start a deployment even of the revision the service runs.
    pub redeploy: bool,
    /// CreateService's idempotency token for this run.
    pub client_token: Option<String>,
}

/// Resolves every step. `outputs` holds what steps that already ran produced (a run
/// resolves again after each one); a plan passes none.
#[must_use]
pub fn resolve(
    steps: &[PlannedStep],
    live: &Live,
    outputs: &Outputs,
    options: &Options,
) -> ChangeSet {
    let mut changes = ChangeSet::default();
    // What each register step's revision is, as far as known.
    let mut revisions: BTreeMap<String, Result<TaskDefinitionRef, RefusedRegister>> =
        BTreeMap::new();
    let verified: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            PlannedStep::Verify(v) => Some(v.name.as_str()),
            _ => None,
        })
        .collect();
    let mut updates: BTreeMap<String, UpdateChange> = BTreeMap::new();
    // The revision each register step deploys, where known (for the update's checks).
    let mut inputs: BTreeMap<String, crate::aws::RevisionInput> = BTreeMap::new();
    for step in steps {
        match step {
            PlannedStep::Build { name, .. }
            | PlannedStep::Tag { name, .. }
            | PlannedStep::Push { name, .. } => changes.steps.push(StepChange::Image {
                step: name.clone(),
                image_kind: step.kind().to_owned(),
                action: super::images::image_action(step),
            }),
            PlannedStep::Register(register) => {
                let change = match outputs.get(&register.name) {
                    // Already run: its revision is known.
                    Some(Value::TaskDefinition { arn: Some(arn), .. }) => register::decided(
                        &register.name,
                        family_of(arn),
                        RegisterDecision::Reuse {
                            arn: arn.clone(),
                            why: "registered by this run".to_owned(),
                        },
                    ),
                    _ => resolve_register(register, steps, live, options),
                };
                let revision = match &change.decision {
                    RegisterDecision::Reuse { arn, .. } => {
                        Ok(TaskDefinitionRef::Arn { arn: arn.clone() })
                    }
                    RegisterDecision::Register | RegisterDecision::AfterPush { .. } => {
                        Ok(TaskDefinitionRef::New {
                            step: register.name.clone(),
                            family: change.family.clone(),
                        })
                    }
                    RegisterDecision::Refuse(_) => Err(RefusedRegister(register.name.clone())),
                };
                let input = match &change.decision {
                    RegisterDecision::Reuse { arn, .. } => {
                        live.revision(arn).map(|d| d.input.clone())
                    }
                    _ => change.next.clone(),
                };
                revisions.insert(register.name.clone(), revision);
                if let Some(input) = input {
                    inputs.insert(register.name.clone(), input);
                }
                changes.steps.push(StepChange::Register(change));
            }
            PlannedStep::Update(update) => {
                let revision = revisions
                    .get(&update.task_definition)
                    .cloned()
                    .unwrap_or_else(|| Err(RefusedRegister(update.task_definition.clone())));
                let input = inputs.get(&update.task_definition);
                let test_pause = steps.iter().find_map(|s| match s {
                    PlannedStep::Verify(v) if v.name == update.name => test_pause(v),
                    _ => None,
                });
                let change = resolve_update(update, revision, input, live, options, test_pause);
                updates.insert(update.name.clone(), change.clone());
                changes.steps.push(StepChange::Update(change.clone()));
                if !verified.contains(&update.name.as_str()) {
                    let implicit =
                        VerifyStep { name: update.name.clone(), ..VerifyStep::default() };
                    changes.steps.push(StepChange::Verify(resolve_verify(
                        &implicit,
                        Some(&change),
                        true,
                        live,
                    )));
                }
            }
            PlannedStep::Verify(verify) => {
                changes.steps.push(StepChange::Verify(resolve_verify(
                    verify,
                    updates.get(&verify.name),
                    false,
                    live,
                )));
            }
            PlannedStep::Rollback(rollback) => {
                let action = match updates
                    .get(&rollback.name)
                    .and_then(|u| u.rollback_target.clone())
                {
                    Some(target) => format!(
                        "roll `{}` back to {target}, the last revision whose deployment completed, \
                         if this run deployed it",
                        rollback.name
                    ),
                    None => format!("roll `{}` back, if this run deployed it", rollback.name),
                };
                changes.steps.push(StepChange::Rollback { step: rollback.name.clone(), action });
            }
        }
    }
    changes
}

/// How long ferry's PAUSE hook holds a blue/green deployment for `verify`'s gates on test
/// traffic, in minutes: the step's timeout, rounded up (none without such gates). Past it
/// ECS rolls back by itself — a ferry that died leaves nothing half-shifted.
fn test_pause(verify: &crate::eval::VerifyStep) -> Option<i32> {
    verify.gates.iter().any(super::gates::on_test_traffic).then(|| {
        let timeout = verify.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        i32::try_from(timeout.div_ceil(60_000)).unwrap_or(20_160).clamp(1, 20_160)
    })
}

/// `family` of `arn:…:task-definition/family:7`.
#[must_use]
pub(super) fn family_of(arn: &str) -> String {
    let tail = arn.rsplit_once("task-definition/").map_or(arn, |(_, rest)| rest);
    tail.split(':').next().unwrap_or_default().to_owned()
}

/// The `register` step (by name) an `update` deploys, refused: it makes no revision.
#[derive(Clone, Debug)]
struct RefusedRegister(String);
