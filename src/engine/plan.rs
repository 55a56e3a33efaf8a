//! `ferry plan`: the change set of the pipeline against the live state, from read-only
//! calls only, as text (and as JSON with `--out`). The plan's fingerprint of each service
//! and family, and its change set, let `ferry run --plan` refuse when live state or the
//! resolution has drifted since.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::change::{ChangeSet, RegisterDecision, StepChange, UpdateAction, Watch};
use super::live::{Live, read_live};
use super::resolve::{Options, resolve};
use crate::aws::{AwsError, Ecs};
use crate::eval::{EvalError, Outputs, Settings, Workspace, evaluate};
use crate::sensitive::Mask;
use crate::syntax::Deployfile;

/// What the plan saw of a service, to detect drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub cluster: String,
    pub service: String,
    /// The PRIMARY revision, or none when the service does not exist.
    pub task_definition: Option<String>,
    pub deployments: Vec<String>,
}

/// The plan of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub environment: String,
    pub target: String,
    /// The region the calls went to (on AWS: the flag, the Deployfile, else the SDK's
    /// chain).
    #[serde(default)]
    pub region: Option<String>,
    /// The account the credentials belong to (on AWS; STS GetCallerIdentity).
    #[serde(default)]
    pub account: Option<String>,
    pub changes: ChangeSet,
    pub fingerprints: Vec<Fingerprint>,
    /// The latest ACTIVE revision of each family a `register` step reads, when the plan
    /// was made: a registration since is drift too.
    #[serde(default)]
    pub families: Vec<(String, Option<String>)>,
    /// Read-only calls made.
    pub calls: u64,
}

/// Why a plan could not be made.
#[derive(Debug)]
pub enum PlanError {
    /// A value of the Deployfile cannot be evaluated (rendered like `ferry check`).
    Eval(EvalError),
    /// A read-only call failed.
    Aws(AwsError),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Eval(EvalError::At(diagnostic)) => f.write_str(&diagnostic.message),
            PlanError::Eval(EvalError::Usage { message, .. }) => f.write_str(message),
            PlanError::Aws(error) => error.fmt(f),
        }
    }
}

impl From<AwsError> for PlanError {
    fn from(error: AwsError) -> Self {
        PlanError::Aws(error)
    }
}

/// What a plan (and a run) is told besides the Deployfile.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// `--redeploy`.
    pub redeploy: bool,
    /// Tasks the cluster has room for, where known.
    pub capacity: Option<u32>,
    /// The account the credentials belong to, read by the caller (one call counted).
    pub account: Option<String>,
}

/// Makes the plan.
pub async fn make_plan(
    file: &Deployfile,
    settings: &Settings,
    workspace: &Workspace,
    ecs: &Ecs,
    target: &str,
    base_dir: &std::path::Path,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let steps = evaluate(file, settings, workspace, &Outputs::new()).map_err(PlanError::Eval)?;
    let live =
        read_live(&steps, settings.cluster.as_ref(), ecs, base_dir, options.capacity).await?;
    let resolve_options = Options {
        cluster: settings.cluster.clone(),
        redeploy: options.redeploy,
        client_token: None,
    };
    let changes = resolve(&steps, &live, &Outputs::new(), &resolve_options);
    Ok(Plan {
        environment: settings.name.clone(),
        target: target.to_owned(),
        region: (target == "aws").then(|| ecs.region()).flatten(),
        account: options.account.clone(),
        fingerprints: fingerprints(&changes, &live),
        families: families(&changes, &live),
        changes,
        calls: ecs.calls() + u64::from(options.account.is_some()),
    })
}

/// What the plan saw of each service it updates.
#[must_use]
pub(super) fn fingerprints(changes: &ChangeSet, live: &Live) -> Vec<Fingerprint> {
    changes
        .steps
        .iter()
        .filter_map(|step| match step {
            StepChange::Update(update) => Some(update),
            _ => None,
        })
        .map(|update| {
            let service = live.service(&update.cluster, &update.service);
            Fingerprint {
                cluster: update.cluster.clone(),
                service: update.service.clone(),
                task_definition: service
                    .and_then(|s| s.primary().map(|p| p.task_definition.clone())),
                deployments: service
                    .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn families(changes: &ChangeSet, live: &Live) -> Vec<(String, Option<String>)> {
    let mut seen = Vec::new();
    for step in &changes.steps {
        if let StepChange::Register(register) = step
            && !register.family.is_empty()
            && !seen.iter().any(|(f, _): &(String, Option<String>)| *f == register.family)
        {
            let latest = live.families.get(&register.family).and_then(|r| r.first().cloned());
            seen.push((register.family.clone(), latest));
        }
    }
    seen
}

/// How live state differs from the plan's fingerprints; empty when it does not.
pub async fn drift(plan: &Plan, ecs: &Ecs) -> Result<Vec<String>, AwsError> {
    let mut changes = Vec::new();
    for (family, seen) in &plan.families {
        let latest = ecs.revisions(family).await?.into_iter().next();
        if &latest != seen {
            changes.push(format!(
                "family `{family}`'s latest revision is now {}; the plan saw {}",
                latest.unwrap_or_else(|| "none".to_owned()),
                seen.clone().unwrap_or_else(|| "none".to_owned())
            ));
        }
    }
    for print in &plan.fingerprints {
        let live = ecs.service(&print.cluster, &print.service).await?;
        let task_definition =
            live.as_ref().and_then(|s| s.primary().map(|p| p.task_definition.clone()));
        let deployments: Vec<String> = live
            .as_ref()
            .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
            .unwrap_or_default();
        if task_definition != print.task_definition || deployments != print.deployments {
            changes.push(format!(
                "service `{}` of cluster `{}` now runs {} with deployments [{}]; the plan saw {} \
                 with [{}]",
                print.service,
                print.cluster,
                task_definition.unwrap_or_else(|| "nothing".to_owned()),
                deployments.join(", "),
                print.task_definition.clone().unwrap_or_else(|| "nothing".to_owned()),
                print.deployments.join(", ")
            ));
        }
    }
    Ok(changes)
}

/// What plan, run and `--out` print sensitive values with (docs/cli.md, "Sensitive
/// values"): the Deployfile's, and those of the revisions `changes` compares.
#[must_use]
pub fn sensitive_mask(
    file: &Deployfile,
    settings: &Settings,
    workspace: &Workspace,
    changes: &ChangeSet,
) -> Mask {
    let mut mask = Mask::new(crate::eval::sensitive_values(file, settings, workspace));
    let more = changes.sensitive_values(&mask);
    mask.extend(more);
    mask
}

/// Where a run's change set decides otherwise than the plan's: a register that reuses
/// instead of registering, another action on a service, other settings, another watch.
/// Both are read through `mask`: a plan written masked (the default) matches a run whose
/// sensitive values are the same or changed since — those are not compared.
#[must_use]
pub fn differences(planned: &ChangeSet, now: &ChangeSet, mask: &Mask) -> Vec<String> {
    let mut out = Vec::new();
    for step in &planned.steps {
        let Some(other) = now.step(step.name(), step.kind()) else {
            out.push(format!("`{} {}` is no longer in the pipeline", step.kind(), step.name()));
            continue;
        };
        let said = |change: &StepChange| mask.text(&summary(change));
        if said(step) != said(other) {
            out.push(format!(
                "`{} {}`: the plan said {}; now {}",
                step.kind(),
                step.name(),
                said(step),
                said(other)
            ));
        }
    }
    for step in &now.steps {
        if planned.step(step.name(), step.kind()).is_none() {
            out.push(format!("`{} {}` is new since the plan", step.kind(), step.name()));
        }
    }
    out
}

/// A step's decision in one phrase, for `differences` and the run's report.
#[must_use]
pub fn summary(change: &StepChange) -> String {
    match change {
        StepChange::Image { action, .. } | StepChange::Rollback { action, .. } => action.clone(),
        StepChange::Register(register) => match &register.decision {
            RegisterDecision::Reuse { arn, .. } => format!("reuse {arn}"),
            RegisterDecision::Register => {
                format!(
                    "register a new revision of `{}`: {}",
                    register.family,
                    register.diff.join("\n")
                )
            }
            RegisterDecision::AfterPush { .. } => {
                format!(
                    "register a new revision of `{}` unless the pushed image runs already",
                    register.family
                )
            }
            RegisterDecision::Refuse(refusal) => format!("refuse: {}", refusal.reason),
        },
        StepChange::Update(update) => {
            let settings: Vec<String> =
                update.settings.iter().map(super::change::SettingChange::text).collect();
            let action = match &update.action {
                UpdateAction::Create => "create the service".to_owned(),
                UpdateAction::Deploy => "start a deployment".to_owned(),
                UpdateAction::Settings => "change settings, no deployment".to_owned(),
                UpdateAction::Resume { deployment_id } => {
                    format!("watch deployment {deployment_id} again")
                }
                UpdateAction::Nothing => "nothing to deploy".to_owned(),
                UpdateAction::Refuse(refusal) => format!("refuse: {}", refusal.reason),
            };
            if settings.is_empty() { action } else { format!("{action} ({})", settings.join("; ")) }
        }
        StepChange::Verify(verify) => watch_text(&verify.watch, &verify.service),
    }
}

/// What a verify watches, in words.
#[must_use]
pub(super) fn watch_text(watch: &Watch, service: &str) -> String {
    match watch {
        Watch::Deployment {
            until,
            timeout_ms,
            fail_fast,
            gates,
            bake_ms,
            strategy,
            ecs_bake_ms,
        } => format!(
            "watch our {}deployment until {until} (timeout {}{}{}{}){}",
            if strategy.is_staged() { format!("{} ", strategy.describe()) } else { String::new() },
            crate::eval::duration_text(*timeout_ms),
            fail_fast.map_or_else(String::new, |n| format!(", fail fast after {n} stopped tasks")),
            if gates.is_empty() { String::new() } else { format!(", gates {}", gates.join(", ")) },
            if *bake_ms > 0 {
                format!(", bake {}", crate::eval::duration_text(*bake_ms))
            } else {
                String::new()
            },
            if strategy.is_staged() && until != "completed" {
                format!(
                    "; then ECS bakes {} with the old revision kept, and cleans up: left to ECS",
                    crate::eval::duration_text(*ecs_bake_ms)
                )
            } else {
                String::new()
            }
        ),
        Watch::Scaling { desired, timeout_ms } => format!(
            "no deployment starts: wait until service `{service}` runs {} on its revision, settled \
             (timeout {})",
            desired.map_or_else(
                || "its desired count".to_owned(),
                |d| if d == 1 { "1 task".to_owned() } else { format!("{d} tasks") }
            ),
            crate::eval::duration_text(*timeout_ms)
        ),
        Watch::Nothing => "nothing to verify: no deployment starts".to_owned(),
    }
}

/// The plan as `ferry plan` prints it; with `only`, the steps of that name alone.
#[must_use]
pub fn plan_text(plan: &Plan, only: Option<&str>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let account = plan.account.as_ref().map_or_else(String::new, |a| format!("account {a}, "));
    let region = plan.region.as_ref().map_or_else(String::new, |r| format!("region {r}, "));
    let _ = writeln!(
        out,
        "plan for environment `{}` on {} ({account}{region}{} read-only calls)",
        plan.environment, plan.target, plan.calls
    );
    for step in plan.changes.steps.iter().filter(|step| only.is_none_or(|name| step.name() == name))
    {
        out.push('\n');
        out.push_str(&step_text(step));
    }
    let refusals = plan.changes.refusals();
    if !refusals.is_empty() {
        let _ = writeln!(out, "\n`ferry run` would refuse now, before writing anything:");
        for refusal in refusals {
            let _ = writeln!(out, "  - {}: {}", refusal.step, refusal.reason);
        }
    }
    out
}

/// One step of the plan as text: its action line, then its diff, settings, rollout.
#[must_use]
pub(crate) fn step_text(step: &StepChange) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    match step {
        StepChange::Image { step, image_kind, action } => {
            let _ = writeln!(out, "{image_kind} {step}: {action}");
        }
        StepChange::Rollback { step, action } => {
            let _ = writeln!(out, "rollback {step}: {action}");
        }
        StepChange::Register(register) => {
            let against = register
                .compared_with
                .as_ref()
                .map_or_else(String::new, |(arn, why)| format!(" (compared with {arn}, {why})"));
            let action = match &register.decision {
                RegisterDecision::Reuse { arn, why } => {
                    format!("nothing changed: reuse {arn} ({why})")
                }
                RegisterDecision::Register if register.compared_with.is_none() => {
                    format!("register the first revision of `{}`", register.family)
                }
                RegisterDecision::Register => {
                    format!("register a new revision of `{}`{against}", register.family)
                }
                RegisterDecision::AfterPush { images } => format!(
                    "register a new revision of `{}` once the image of {} is pushed, unless its \
                     digest is the one running{against}",
                    register.family,
                    images.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
                RegisterDecision::Refuse(refusal) => format!("refused: {}", refusal.reason),
            };
            let _ = writeln!(out, "register {}: {action}", register.step);
            for line in &register.diff {
                let _ = writeln!(out, "    {line}");
            }
            for arn in &register.deregister {
                let keep = register.keep.map_or_else(String::new, |k| format!(" (keep = {k})"));
                let _ = writeln!(out, "    after success, deregister {arn}{keep}");
            }
        }
        StepChange::Update(update) => {
            let action = match &update.action {
                UpdateAction::Create => format!(
                    "create service `{}` in cluster `{}` with {} tasks",
                    update.service,
                    update.cluster,
                    update.request.as_ref().and_then(|r| r.desired).unwrap_or(1)
                ),
                UpdateAction::Deploy => format!(
                    "update service `{}` in one UpdateService call: a deployment starts",
                    update.service
                ),
                UpdateAction::Settings => format!(
                    "update service `{}`'s settings in one UpdateService call: no deployment \
                     starts",
                    update.service
                ),
                UpdateAction::Resume { deployment_id } => format!(
                    "deployment {deployment_id} of this revision is in progress: watch it again{}",
                    if update.request.is_some() { " (after updating the settings)" } else { "" }
                ),
                UpdateAction::Nothing => format!(
                    "nothing to deploy: `{}` already runs {} with these settings",
                    update.service,
                    update.running.as_deref().unwrap_or("its revision")
                ),
                UpdateAction::Refuse(refusal) => format!("refused: {}", refusal.reason),
            };
            let _ = writeln!(out, "update {}: {action}", update.step);
            for setting in &update.settings {
                let _ = writeln!(out, "    {}", setting.text());
            }
            for note in &update.notes {
                let _ = writeln!(out, "    note: {note}");
            }
            if let Some(prediction) = update.prediction.as_ref().filter(|_| update.action.deploys())
            {
                let _ = writeln!(out, "  predicted rollout ({}):", prediction.effective.text());
                for line in &prediction.timeline {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if update.action.deploys() {
                let _ = writeln!(
                    out,
                    "  on failure, a rollback goes to {}",
                    update
                        .rollback_target
                        .as_deref()
                        .unwrap_or("nothing: no deployment of this service completed")
                );
            }
        }
        StepChange::Verify(verify) => {
            let _ = writeln!(
                out,
                "verify {}{}: {}",
                verify.step,
                if verify.implicit { " (no `verify` step: the defaults)" } else { "" },
                watch_text(&verify.watch, &verify.service)
            );
        }
    }
    out
}
