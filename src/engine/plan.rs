//! `ferry plan`: what a run would do, from read-only calls only — the task-definition
//! diff against the live revision, the service-setting diff, the predicted rollout for the
//! live desired count (the local ECS's scheduler), and the revisions cleanup would
//! deregister. The plan's fingerprint lets `ferry run --plan` refuse when live state has
//! drifted since.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use similar::TextDiff;

use super::revision::{RevisionInput, next_revision, revision_text};
use crate::aws::{AwsError, Ecs, ServiceView};
use crate::eval::{
    Evaluator, Outputs, PlannedStep, RegisterStep, Settings, TaskDefinitionSource, UpdateStep,
    Value, Workspace, plan_step, step_values,
};
use crate::local::behaviour::FaultFile;
use crate::local::scheduler::{CircuitBreaker, SchedulerSettings};
use crate::local::simulation::{Outcome, SimulationInput, simulate};
use crate::syntax::{Deployfile, Item};

/// What the plan saw of a service, to detect drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub cluster: String,
    pub service: String,
    /// The PRIMARY revision, or none when the service does not exist.
    pub task_definition: Option<String>,
    pub deployments: Vec<String>,
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepPlan {
    pub step: String,
    pub kind: String,
    /// What would happen, in words.
    pub action: String,
    /// A unified diff (task definition) or setting lines (service).
    pub diff: Vec<String>,
    /// The predicted rollout, one line per scheduler pass.
    pub timeline: Vec<String>,
}

/// The plan of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub environment: String,
    pub target: String,
    pub steps: Vec<StepPlan>,
    pub fingerprints: Vec<Fingerprint>,
    /// The latest ACTIVE revision of each family a `register` step reads, when the plan
    /// was made: a registration since is drift too.
    #[serde(default)]
    pub families: Vec<(String, Option<String>)>,
    /// Read-only calls made.
    pub calls: u64,
}

/// Makes the plan.
pub async fn make_plan(
    file: &Deployfile,
    settings: &Settings,
    workspace: &Workspace,
    ecs: &Ecs,
    target: &str,
    base_dir: &std::path::Path,
) -> Result<Plan, String> {
    let values = step_values(file);
    let mut outputs = Outputs::new();
    let mut plan = Plan {
        environment: settings.name.clone(),
        target: target.to_owned(),
        steps: Vec::new(),
        fingerprints: Vec::new(),
        families: Vec::new(),
        calls: 0,
    };
    let cluster_of = |explicit: Option<&String>| {
        explicit
            .cloned()
            .or_else(|| settings.cluster.clone())
            .unwrap_or_else(|| "default".to_owned())
    };
    for item in &file.items {
        let Item::Step(step) = item else { continue };
        let planned = {
            let evaluator = Evaluator::new(settings, workspace, &values, &outputs);
            plan_step(step, &evaluator).map_err(|error| format!("{error:?}"))?
        };
        let kind = step.kind.keyword().to_owned();
        let name = step.name.name.clone();
        let entry = match planned.clone() {
            PlannedStep::Build { .. } | PlannedStep::Tag { .. } | PlannedStep::Push { .. } => {
                StepPlan {
                    step: name,
                    kind,
                    action: image_action(&planned),
                    diff: Vec::new(),
                    timeline: Vec::new(),
                }
            }
            PlannedStep::Register(register) => {
                let (entry, arn) = plan_register(&register, ecs, &cluster_of, base_dir)
                    .await
                    .map_err(|e| e.to_string())?;
                let family = register.family.clone().or_else(|| match &register.from {
                    Some(TaskDefinitionSource::Family { name }) => {
                        name.split(':').next().map(str::to_owned)
                    }
                    _ => None,
                });
                if let Some(family) = family {
                    let latest = latest_revision(ecs, &family).await.map_err(|e| e.to_string())?;
                    plan.families.push((family, latest));
                }
                outputs.insert(name.clone(), Value::TaskDefinition { step: name, arn });
                entry
            }
            PlannedStep::Update(update) => {
                let cluster = cluster_of(update.cluster.as_ref());
                let service =
                    ecs.service(&cluster, &update.service).await.map_err(|e| e.to_string())?;
                plan.fingerprints.push(Fingerprint {
                    cluster: cluster.clone(),
                    service: update.service.clone(),
                    task_definition: service
                        .as_ref()
                        .and_then(|s| s.primary().map(|p| p.task_definition.clone())),
                    deployments: service
                        .as_ref()
                        .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
                        .unwrap_or_default(),
                });
                let next = match outputs.get(&update.task_definition) {
                    Some(Value::TaskDefinition { arn: Some(arn), .. }) => arn.clone(),
                    _ => format!(
                        "<the revision `register {}` would register>",
                        update.task_definition
                    ),
                };
                plan_update(&update, &cluster, service.as_ref(), &next)
            }
            PlannedStep::Verify(verify) => StepPlan {
                step: name,
                kind,
                action: format!(
                    "watch our deployment until {} (timeout {}{}{})",
                    verify.until.as_deref().unwrap_or("completed"),
                    crate::eval::duration_text(verify.timeout_ms.unwrap_or(30 * 60_000)),
                    verify.fail_fast.map_or_else(String::new, |n| format!(
                        ", fail fast after {n} stopped tasks"
                    )),
                    if verify.gates.is_empty() {
                        String::new()
                    } else {
                        format!(", {} gates", verify.gates.len())
                    }
                ),
                diff: Vec::new(),
                timeline: Vec::new(),
            },
            PlannedStep::Rollback(rollback) => StepPlan {
                step: name,
                kind,
                action: format!("roll `{}` back to the revision it runs now", rollback.name),
                diff: Vec::new(),
                timeline: Vec::new(),
            },
        };
        plan.steps.push(entry);
    }
    plan.calls = ecs.calls();
    Ok(plan)
}

/// What an image step would do; nothing is built or pushed by a plan.
fn image_action(step: &PlannedStep) -> String {
    match step {
        PlannedStep::Build { fields, .. } => {
            let text = |key: &str, default: &str| {
                fields.get(key).and_then(Value::text).unwrap_or_else(|| default.to_owned())
            };
            let platform =
                fields.get("platform").and_then(Value::text).map(|p| format!(" for {p}"));
            format!(
                "build `{}` from context `{}`{} (not built by a plan)",
                text("dockerfile", "Dockerfile"),
                text("context", "."),
                platform.unwrap_or_default()
            )
        }
        PlannedStep::Tag { tags, .. } => {
            let tags: Vec<String> = tags.iter().map(ToString::to_string).collect();
            format!("tag the image {}", tags.join(", "))
        }
        PlannedStep::Push { to, .. } => match to {
            crate::eval::Repository::Ecr { name, create, .. } => format!(
                "push to ECR repository `{name}`{} and pin the digest",
                if *create { " (created when missing)" } else { "" }
            ),
            crate::eval::Repository::Registry { name } => {
                format!("push to `{name}` and pin the digest")
            }
        },
        _ => String::new(),
    }
}

async fn plan_register(
    step: &RegisterStep,
    ecs: &Ecs,
    cluster_of: &dyn Fn(Option<&String>) -> String,
    base_dir: &std::path::Path,
) -> Result<(StepPlan, Option<String>), AwsError> {
    let mut current: Option<(String, RevisionInput)> = None;
    let mut from_file: Option<RevisionInput> = None;
    match &step.from {
        Some(TaskDefinitionSource::Service { name, cluster }) => {
            if let Some(service) = ecs.service(&cluster_of(cluster.as_ref()), name).await? {
                let (td, tags) = ecs.task_definition(&service.task_definition).await?;
                current = Some((
                    td.task_definition_arn().unwrap_or_default().to_owned(),
                    RevisionInput::from_described(&td, &tags),
                ));
            }
        }
        Some(TaskDefinitionSource::Family { name }) => {
            let (td, tags) = ecs.task_definition(name).await?;
            current = Some((
                td.task_definition_arn().unwrap_or_default().to_owned(),
                RevisionInput::from_described(&td, &tags),
            ));
        }
        Some(TaskDefinitionSource::File { path }) => {
            let full = base_dir.join(path);
            let read = std::fs::read_to_string(&full)
                .map_err(|e| e.to_string())
                .and_then(|text| super::revision_json::revision_from_json(&text).map_err(|e| e.0));
            match read {
                Ok(revision) => {
                    if let Ok((td, tags)) = ecs.task_definition(&revision.family).await {
                        let arn = td.task_definition_arn().unwrap_or_default().to_owned();
                        current = Some((arn, RevisionInput::from_described(&td, &tags)));
                    }
                    from_file = Some(revision);
                }
                Err(reason) => {
                    let action = format!("cannot read `{}`: {reason}", full.display());
                    let entry = StepPlan {
                        step: step.name.clone(),
                        kind: "register".to_owned(),
                        action,
                        diff: Vec::new(),
                        timeline: Vec::new(),
                    };
                    return Ok((entry, None));
                }
            }
        }
        None => {
            if let Some(family) = &step.family
                && let Ok((td, tags)) = ecs.task_definition(family).await
            {
                current = Some((
                    td.task_definition_arn().unwrap_or_default().to_owned(),
                    RevisionInput::from_described(&td, &tags),
                ));
            }
        }
    }
    let images: BTreeMap<String, String> = step
        .containers
        .iter()
        .filter_map(|c| match &c.image {
            Some(Value::String(reference) | Value::Image { reference: Some(reference), .. }) => {
                Some((c.name.clone(), reference.clone()))
            }
            Some(Value::Image { step, .. }) => {
                Some((c.name.clone(), format!("<image pushed by `push {step}`>")))
            }
            _ => None,
        })
        .collect();
    let base = match &step.from {
        Some(TaskDefinitionSource::File { .. }) => from_file,
        Some(_) => current.as_ref().map(|(_, c)| c.clone()),
        None => None,
    };
    let entry = |action: String, diff: Vec<String>| StepPlan {
        step: step.name.clone(),
        kind: "register".to_owned(),
        action,
        diff,
        timeline: Vec::new(),
    };
    let next = match next_revision(base, step, &images) {
        Ok(next) => next,
        Err(error) => {
            return Ok((entry(format!("cannot register: {}", error.0), Vec::new()), None));
        }
    };
    if let Some((arn, live)) = &current
        && next_revision(Some(live.clone()), step, &images).is_ok_and(|n| &n == live)
    {
        return Ok((entry(format!("nothing changed: reuse {arn}"), Vec::new()), Some(arn.clone())));
    }
    let before = current.as_ref().map(|(_, live)| revision_text(live)).unwrap_or_default();
    let after = revision_text(&next);
    let title =
        current.as_ref().map_or_else(|| "(no revision yet)".to_owned(), |(arn, _)| arn.clone());
    let diff = TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(2)
        .header(&title, "next revision")
        .to_string();
    let action = match &current {
        Some((arn, _)) => format!("register a new revision of `{}` (now {arn})", next.family),
        None => format!("register the first revision of `{}`", next.family),
    };
    let mut lines: Vec<String> = diff.lines().map(str::to_owned).collect();
    // Cleanup after success keeps `keep` revisions counting the new one, and never the
    // revision running now (the rollback target).
    if let Some(keep) = step.keep {
        let live = current.as_ref().map(|(arn, _)| arn.clone());
        let existing = ecs.revisions(&next.family).await?;
        let doomed: Vec<&String> = existing
            .iter()
            .skip((keep as usize).saturating_sub(1))
            .filter(|arn| Some(*arn) != live.as_ref())
            .collect();
        for arn in doomed {
            lines.push(format!("after success, deregister {arn} (keep = {keep})"));
        }
    }
    Ok((entry(action, lines), None))
}

fn plan_update(
    step: &UpdateStep,
    cluster: &str,
    service: Option<&ServiceView>,
    next: &str,
) -> StepPlan {
    let mut diff = Vec::new();
    let mut setting = |name: &str, from: Option<String>, to: Option<String>| {
        if let Some(to) = to
            && from.as_deref() != Some(to.as_str())
        {
            diff.push(format!("{name}: {} → {to}", from.unwrap_or_else(|| "unset".to_owned())));
        }
    };
    let live_breaker = service.and_then(|s| s.circuit_breaker).map(|(enable, rollback)| {
        match (enable, rollback) {
            (false, _) => "off".to_owned(),
            (true, false) => "on".to_owned(),
            (true, true) => "rollback".to_owned(),
        }
    });
    setting(
        "task_definition",
        service.and_then(|s| s.primary().map(|p| p.task_definition.clone())),
        Some(next.to_owned()),
    );
    setting("desired", service.map(|s| s.desired.to_string()), step.desired.map(|d| d.to_string()));
    setting(
        "min_healthy",
        service.and_then(|s| s.min_healthy).map(|m| format!("{m}%")),
        step.min_healthy.map(|m| format!("{m}%")),
    );
    setting(
        "max",
        service.and_then(|s| s.max).map(|m| format!("{m}%")),
        step.max.map(|m| format!("{m}%")),
    );
    setting(
        "grace",
        service.and_then(|s| s.grace_s).map(|g| format!("{g}s")),
        step.grace_s.map(|g| format!("{g}s")),
    );
    setting("circuit_breaker", live_breaker.clone(), step.circuit_breaker.clone());
    let desired = step.desired.or_else(|| service.map(|s| i64::from(s.desired))).unwrap_or(1);
    let min = step
        .min_healthy
        .or_else(|| service.and_then(|s| s.min_healthy).map(i64::from))
        .unwrap_or(100);
    let max = step.max.or_else(|| service.and_then(|s| s.max).map(i64::from)).unwrap_or(200);
    let action = match service {
        None if step.create => {
            format!("create service `{}` in cluster `{cluster}` with {desired} tasks", step.service)
        }
        None => format!(
            "service `{}` does not exist in cluster `{cluster}`: the run would stop here (set `create = true`)",
            step.service
        ),
        Some(s) if s.primary().is_some_and(|p| p.task_definition == next) && !step.force => {
            format!("nothing to deploy: `{}` already runs {next}", step.service)
        }
        Some(s) if s.deployments.len() > 1 => format!(
            "another deployment of `{}` is in progress: the run would refuse (or wait with --wait-for-lock)",
            step.service
        ),
        Some(_) => format!("update service `{}` in one UpdateService call", step.service),
    };
    let mut timeline = Vec::new();
    if service.is_some() && !action.starts_with("nothing") {
        let simulation = simulate(&SimulationInput {
            desired: u32::try_from(desired).unwrap_or(1),
            min_healthy_percent: u32::try_from(min).unwrap_or(100),
            max_percent: u32::try_from(max).unwrap_or(200),
            capacity: None,
            circuit_breaker: CircuitBreaker::OFF,
            grace_ms: 0,
            drain_ms: 0,
            faults: FaultFile::default(),
            settings: SchedulerSettings::default(),
        });
        for step in &simulation.steps {
            timeline.push(format!(
                "{:>6}  {} {} {}",
                crate::eval::duration_text(step.at_ms),
                step.action,
                step.count,
                step.revision
            ));
        }
        timeline.push(match simulation.outcome {
            Outcome::Completed => format!(
                "completes after about {} (30 s starts, 40 s to healthy)",
                crate::eval::duration_text(simulation.duration_ms)
            ),
            Outcome::Stuck => {
                "cannot progress: ECS could neither start nor stop a task with these settings"
                    .to_owned()
            }
            Outcome::Failed | Outcome::RolledBack => "fails".to_owned(),
        });
    }
    StepPlan { step: step.name.clone(), kind: "update".to_owned(), action, diff, timeline }
}

/// The latest ACTIVE revision of a family, if it has one.
async fn latest_revision(ecs: &Ecs, family: &str) -> Result<Option<String>, AwsError> {
    Ok(ecs.revisions(family).await?.into_iter().next())
}

/// How live state differs from the plan's fingerprints; empty when it does not.
pub async fn drift(plan: &Plan, ecs: &Ecs) -> Result<Vec<String>, AwsError> {
    let mut changes = Vec::new();
    for (family, seen) in &plan.families {
        let latest = latest_revision(ecs, family).await?;
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
                "service `{}` of cluster `{}` now runs {} with deployments [{}]; the plan saw {} with [{}]",
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

/// The plan as `ferry plan` prints it; with `only`, the steps of that name alone.
#[must_use]
pub fn plan_text(plan: &Plan, only: Option<&str>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for environment `{}` on {} ({} read-only calls)",
        plan.environment, plan.target, plan.calls
    );
    for step in plan.steps.iter().filter(|step| only.is_none_or(|name| step.step == name)) {
        let _ = writeln!(out, "\n{} {}: {}", step.kind, step.step, step.action);
        for line in &step.diff {
            let _ = writeln!(out, "    {line}");
        }
        if !step.timeline.is_empty() {
            let _ = writeln!(out, "  predicted rollout:");
            for line in &step.timeline {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}
