//! The `register` resolution: the revision a step would make, from where it starts (a
//! service's, a family's, a file) with its images, compared in canonical form with the
//! revision its service runs, the one it starts from and the family's latest; the first
//! equal one is reused, else the diff to register and the revisions cleanup would
//! deregister.

use std::collections::BTreeMap;

use similar::TextDiff;

use super::Options;
use crate::aws::RevisionInput;
use crate::engine::change::{Refusal, RegisterChange, RegisterDecision};
use crate::engine::live::{Live, cluster_of};
use crate::engine::revision::next_revision;
use crate::engine::revision_json::{revision_from_json, revision_text, same_revision};
use crate::eval::{PlannedStep, RegisterStep, TaskDefinitionSource, Value};

fn refusal(step: String, reason: String) -> Refusal {
    Refusal { step, reason, busy: false }
}

fn register_refused(step: &RegisterStep, family: String, reason: String) -> RegisterChange {
    let refused = RegisterDecision::Refuse(refusal(format!("register {}", step.name), reason));
    decided(&step.name, family, refused)
}

/// A decision with nothing compared, diffed or cleaned up.
pub(super) fn decided(step: &str, family: String, decision: RegisterDecision) -> RegisterChange {
    RegisterChange {
        step: step.to_owned(),
        family,
        decision,
        compared_with: None,
        diff: Vec::new(),
        deregister: Vec::new(),
        keep: None,
        next: None,
        before: None,
    }
}

pub(super) fn resolve_register(
    step: &RegisterStep,
    steps: &[PlannedStep],
    live: &Live,
    options: &Options,
) -> RegisterChange {
    let refuse =
        |reason: String| register_refused(step, step.family.clone().unwrap_or_default(), reason);
    // The revision the step starts from.
    let base: Option<(Option<String>, RevisionInput)> = match &step.from {
        None => None,
        Some(TaskDefinitionSource::Service { name, cluster }) => {
            let cluster = cluster_of(cluster.as_ref(), options.cluster.as_ref());
            match live.service(&cluster, name) {
                Some(service) => match live.revision(&service.task_definition) {
                    Some(described) => Some((Some(described.arn.clone()), described.input.clone())),
                    None => {
                        return refuse(format!(
                            "service `{name}` runs {}, which ECS cannot describe",
                            service.task_definition
                        ));
                    }
                },
                None if step.family.is_some() => None,
                None => {
                    return refuse(format!(
                        "`register {}` starts from service `{name}`, which does not exist in \
                         cluster `{cluster}`; give `family` and the containers to register a first \
                         revision",
                        step.name
                    ));
                }
            }
        }
        Some(TaskDefinitionSource::Family { name }) => match live.revision(name) {
            Some(described) => Some((Some(described.arn.clone()), described.input.clone())),
            None if step.family.is_some() && !name.contains(':') => None,
            None => {
                return refuse(format!(
                    "`register {}` starts from `family(\"{name}\")`, and ECS has no ACTIVE \
                     revision of that name",
                    step.name
                ));
            }
        },
        Some(TaskDefinitionSource::File { path }) => {
            match live.files.get(path).cloned().unwrap_or_else(|| {
                Err(crate::engine::live::Unreadable {
                    path: path.clone(),
                    problem: "it was not read".to_owned(),
                })
            }) {
                Ok(text) => match revision_from_json(&text) {
                    Ok(input) => Some((None, input)),
                    Err(error) => {
                        return refuse(format!("`register {}`: `{path}`: {}", step.name, error.0));
                    }
                },
                Err(reason) => return refuse(format!("`register {}`: {reason}", step.name)),
            }
        }
    };
    // Images: known references, or placeholders for images pushed by this run.
    let mut images = BTreeMap::new();
    let mut pending = Vec::new();
    for container in &step.containers {
        match &container.image {
            None => {}
            Some(Value::String(reference) | Value::Image { reference: Some(reference), .. }) => {
                images.insert(container.name.clone(), reference.clone());
            }
            Some(Value::Image { step: build, reference: None }) => {
                pending.push(container.name.clone());
                images.insert(container.name.clone(), format!("<image pushed by `push {build}`>"));
            }
            Some(other) => {
                pending.push(container.name.clone());
                images.insert(container.name.clone(), other.to_string());
            }
        }
    }
    let next = match next_revision(base.clone().map(|(_, input)| input), step, &images) {
        Ok(next) => next,
        Err(error) => return refuse(error.0),
    };
    let family = next.family.clone();
    // The revisions it may equal, in order: the one its service runs, the one it starts
    // from, the family's latest.
    let mut candidates: Vec<(String, String, &RevisionInput)> = Vec::new();
    for (cluster, service) in deployed_to(step, steps, options) {
        if let Some(running) = live.service(&cluster, &service)
            && let Some(described) = live.revision(&running.task_definition)
        {
            candidates.push((
                described.arn.clone(),
                format!("the revision service `{service}` runs"),
                &described.input,
            ));
        }
    }
    if let Some((Some(arn), _)) = &base
        && let Some(described) = live.revision(arn)
    {
        candidates.push((arn.clone(), "the revision it starts from".to_owned(), &described.input));
    }
    if let Some(described) = live.revision(&family) {
        candidates.push((
            described.arn.clone(),
            "the family's latest revision".to_owned(),
            &described.input,
        ));
    }
    let compared =
        candidates.first().map(|(arn, why, input)| (arn.clone(), why.clone(), (*input).clone()));
    let decision = if !pending.is_empty() {
        RegisterDecision::AfterPush { images: pending }
    } else if let Some((arn, why, _)) =
        candidates.iter().find(|(_, _, input)| same_revision(&next, input))
    {
        RegisterDecision::Reuse { arn: arn.clone(), why: why.clone() }
    } else {
        RegisterDecision::Register
    };
    let registers = !matches!(decision, RegisterDecision::Reuse { .. });
    let diff = if registers {
        let before =
            compared.as_ref().map(|(_, _, input)| revision_text(input)).unwrap_or_default();
        let title = compared
            .as_ref()
            .map_or_else(|| "(no revision yet)".to_owned(), |(arn, _, _)| arn.clone());
        TextDiff::from_lines(&before, &revision_text(&next))
            .unified_diff()
            .context_radius(2)
            .header(&title, "next revision")
            .to_string()
            .lines()
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    // Cleanup after success keeps `keep` revisions counting the new one, and never the
    // revision a service runs now or a rollback target.
    let mut deregister = Vec::new();
    if let Some(keep) = step.keep
        && registers
    {
        let protected: Vec<String> = deployed_to(step, steps, options)
            .iter()
            .flat_map(|(cluster, service)| {
                let key = (cluster.clone(), service.clone());
                [
                    live.service(cluster, service).map(|s| s.task_definition.clone()),
                    live.rollback_targets.get(&key).cloned().flatten(),
                ]
            })
            .flatten()
            .collect();
        deregister = live
            .families
            .get(&family)
            .map(|existing| {
                existing
                    .iter()
                    .skip((keep as usize).saturating_sub(1))
                    .filter(|arn| !protected.contains(arn))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
    }
    RegisterChange {
        step: step.name.clone(),
        family,
        decision,
        compared_with: compared.as_ref().map(|(arn, why, _)| (arn.clone(), why.clone())),
        diff,
        deregister,
        keep: step.keep,
        next: registers.then_some(next),
        before: compared.filter(|_| registers).map(|(_, _, input)| Box::new(input)),
    }
}

/// The services whose `update` deploys this step's revision (and, with `from =
/// service(…)`, that service).
fn deployed_to(
    step: &RegisterStep,
    steps: &[PlannedStep],
    options: &Options,
) -> Vec<(String, String)> {
    let mut services = Vec::new();
    for other in steps {
        if let PlannedStep::Update(update) = other
            && update.task_definition == step.name
        {
            services.push((
                cluster_of(update.cluster.as_ref(), options.cluster.as_ref()),
                update.service.clone(),
            ));
        }
    }
    if let Some(TaskDefinitionSource::Service { name, cluster }) = &step.from {
        let key = (cluster_of(cluster.as_ref(), options.cluster.as_ref()), name.clone());
        if !services.contains(&key) {
            services.push(key);
        }
    }
    services
}
