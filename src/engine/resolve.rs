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

use std::collections::BTreeMap;

use similar::TextDiff;

use super::change::{
    ChangeSet, Refusal, RegisterChange, RegisterDecision, SettingChange, StepChange,
    TaskDefinitionRef, UpdateAction, UpdateChange, VerifyChange, Watch,
};
use super::live::{Live, cluster_of};
use super::prediction::{Effective, predict};
use super::revision::next_revision;
use super::revision_json::{revision_from_json, revision_text, same_revision};
use crate::aws::RevisionInput;
use crate::aws::{
    BreakerView, DeploymentSettings, LoadBalancerView, NetworkView, ServiceRequest, ServiceView,
};
use crate::eval::{
    Outputs, PlannedStep, RegisterStep, TaskDefinitionSource, UpdateStep, Value, VerifyStep,
};

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
    let mut revisions: BTreeMap<String, Result<TaskDefinitionRef, String>> = BTreeMap::new();
    let verified: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            PlannedStep::Verify(v) => Some(v.name.as_str()),
            _ => None,
        })
        .collect();
    let mut updates: BTreeMap<String, UpdateChange> = BTreeMap::new();
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
                    Some(Value::TaskDefinition { arn: Some(arn), .. }) => RegisterChange {
                        step: register.name.clone(),
                        family: family_of(arn),
                        decision: RegisterDecision::Reuse {
                            arn: arn.clone(),
                            why: "registered by this run".to_owned(),
                        },
                        compared_with: None,
                        diff: Vec::new(),
                        deregister: Vec::new(),
                        keep: None,
                        next: None,
                        before: None,
                    },
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
                    RegisterDecision::Refuse(_) => Err(register.name.clone()),
                };
                revisions.insert(register.name.clone(), revision);
                changes.steps.push(StepChange::Register(change));
            }
            PlannedStep::Update(update) => {
                let revision = revisions
                    .get(&update.task_definition)
                    .cloned()
                    .unwrap_or_else(|| Err(update.task_definition.clone()));
                let change = resolve_update(update, revision, live, options);
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

/// `family` of `arn:…:task-definition/family:7`.
#[must_use]
pub fn family_of(arn: &str) -> String {
    let tail = arn.rsplit_once("task-definition/").map_or(arn, |(_, rest)| rest);
    tail.split(':').next().unwrap_or_default().to_owned()
}

fn refusal(step: String, reason: String) -> Refusal {
    Refusal { step, reason, busy: false }
}

fn register_refused(step: &RegisterStep, family: String, reason: String) -> RegisterChange {
    RegisterChange {
        step: step.name.clone(),
        family,
        decision: RegisterDecision::Refuse(refusal(format!("register {}", step.name), reason)),
        compared_with: None,
        diff: Vec::new(),
        deregister: Vec::new(),
        keep: None,
        next: None,
        before: None,
    }
}

fn resolve_register(
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
            match live
                .files
                .get(path)
                .cloned()
                .unwrap_or_else(|| Err(format!("`{path}` was not read")))
            {
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

/// Whether another deployment is rolling: one IN_PROGRESS, or (without rollout states)
/// more than one.
#[must_use]
pub(super) fn in_progress(service: &ServiceView) -> bool {
    service.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
        || (service.deployments.len() > 1
            && service.deployments.iter().all(|d| d.rollout_state.is_none()))
}

fn network_view(step: &UpdateStep) -> Option<NetworkView> {
    step.network
        .as_ref()
        .map(|n| NetworkView::new(n.subnets.clone(), n.security_groups.clone(), n.public_ip))
}

fn load_balancer_views(step: &UpdateStep) -> Option<Vec<LoadBalancerView>> {
    (!step.load_balancers.is_empty()).then(|| {
        let mut views: Vec<LoadBalancerView> = step
            .load_balancers
            .iter()
            .map(|lb| LoadBalancerView {
                target_group: lb.target_group.clone(),
                container: lb.container.clone(),
                port: i32::try_from(lb.port).unwrap_or_default(),
            })
            .collect();
        views.sort();
        views
    })
}

fn int(n: Option<i64>) -> Option<i32> {
    n.and_then(|n| i32::try_from(n).ok())
}

fn resolve_update(
    step: &UpdateStep,
    revision: Result<TaskDefinitionRef, String>,
    live: &Live,
    options: &Options,
) -> UpdateChange {
    let cluster = cluster_of(step.cluster.as_ref(), options.cluster.as_ref());
    let service = live.service(&cluster, &step.service);
    let key = (cluster.clone(), step.service.clone());
    let mut change = UpdateChange {
        step: step.name.clone(),
        service: step.service.clone(),
        cluster: cluster.clone(),
        task_definition: revision.clone().unwrap_or(TaskDefinitionRef::New {
            step: step.task_definition.clone(),
            family: String::new(),
        }),
        action: UpdateAction::Nothing,
        settings: Vec::new(),
        request: None,
        running: service.and_then(|s| s.primary()).map(|p| p.task_definition.clone()),
        running_deployment: service.and_then(|s| s.primary()).map(|p| p.id.clone()),
        rollback_target: live.rollback_targets.get(&key).cloned().flatten(),
        prediction: None,
        notes: Vec::new(),
    };
    let what = format!("update {}", step.name);
    let refuse = |change: &mut UpdateChange, reason: String, busy: bool| {
        change.action = UpdateAction::Refuse(Refusal { step: what.clone(), reason, busy });
    };
    let revision = match revision {
        Ok(revision) => revision,
        Err(register) => {
            refuse(
                &mut change,
                format!("`register {register}` makes no revision to deploy"),
                false,
            );
            return change;
        }
    };
    // The settings as the Deployfile gives them.
    let desired = int(step.desired);
    let min_healthy = int(step.min_healthy);
    let max = int(step.max);
    let grace_s = int(step.grace_s);
    let breaker = step.circuit_breaker.as_deref().map(BreakerView::from_word);
    let network = network_view(step);
    let load_balancers = load_balancer_views(step);
    let Some(service) = service else {
        if !step.create {
            refuse(
                &mut change,
                format!(
                    "service `{}` does not exist in cluster `{cluster}`; set `create = true` in \
                     `update {}` to create it",
                    step.service, step.name
                ),
                false,
            );
            return change;
        }
        change.action = UpdateAction::Create;
        let mut setting = |name: &str, to: Option<String>| {
            if let Some(to) = to {
                change.settings.push(SettingChange { name: name.to_owned(), from: None, to });
            }
        };
        setting("task_definition", Some(revision.text()));
        setting("desired", Some(desired.unwrap_or(1).to_string()));
        setting("min_healthy", min_healthy.map(|m| format!("{m}%")));
        setting("max", max.map(|m| format!("{m}%")));
        setting("grace", grace_s.map(|g| format!("{g}s")));
        setting("circuit_breaker", breaker.map(|b| b.word().to_owned()));
        change.request = Some(ServiceRequest {
            service: step.service.clone(),
            task_definition: revision.arn().map(str::to_owned),
            desired: Some(desired.unwrap_or(1)),
            deployment: (min_healthy.is_some() || max.is_some() || breaker.is_some())
                .then_some(DeploymentSettings { min_healthy, max, circuit_breaker: breaker }),
            grace_s,
            force: false,
            launch_type: step.launch_type.clone(),
            platform_version: step.platform_version.clone(),
            network,
            load_balancers,
            client_token: options.client_token.clone(),
        });
        return change;
    };
    if service.status != "ACTIVE" {
        refuse(&mut change, format!("service `{}` is {}", step.service, service.status), false);
        return change;
    }
    // Every setting the Deployfile sets that differs from the service's.
    let differs =
        |ours: Option<String>, theirs: Option<String>| ours.filter(|o| Some(o) != theirs.as_ref());
    let mut settings = Vec::new();
    let mut note = |name: &str, from: Option<String>, to: Option<String>| {
        if let Some(to) = differs(to, from.clone()) {
            settings.push(SettingChange { name: name.to_owned(), from, to });
        }
    };
    note("desired", Some(service.desired.to_string()), desired.map(|d| d.to_string()));
    note(
        "min_healthy",
        service.min_healthy.map(|m| format!("{m}%")),
        min_healthy.map(|m| format!("{m}%")),
    );
    note("max", service.max.map(|m| format!("{m}%")), max.map(|m| format!("{m}%")));
    note("grace", service.grace_s.map(|g| format!("{g}s")), grace_s.map(|g| format!("{g}s")));
    note(
        "circuit_breaker",
        service.circuit_breaker.map(|b| b.word().to_owned()),
        breaker.map(|b| b.word().to_owned()),
    );
    let network_changes = network.as_ref().is_some_and(|n| service.network.as_ref() != Some(n));
    let lbs_change = load_balancers.as_ref().is_some_and(|l| &service.load_balancers != l);
    let platform_changes = step
        .platform_version
        .as_ref()
        .is_some_and(|p| service.platform_version.as_ref() != Some(p));
    if network_changes {
        note(
            "network",
            service.network.as_ref().map(network_text),
            network.as_ref().map(network_text),
        );
    }
    if lbs_change {
        note(
            "load_balancers",
            Some(lb_text(&service.load_balancers)),
            load_balancers.as_deref().map(lb_text),
        );
    }
    if platform_changes {
        note("platform_version", service.platform_version.clone(), step.platform_version.clone());
    }
    let primary = service.primary();
    let new_revision = match &revision {
        TaskDefinitionRef::New { .. } => true,
        TaskDefinitionRef::Arn { arn } => primary.is_none_or(|p| &p.task_definition != arn),
    };
    if new_revision {
        settings.insert(
            0,
            SettingChange {
                name: "task_definition".to_owned(),
                from: primary.map(|p| p.task_definition.clone()),
                to: revision.text(),
            },
        );
    }
    change.settings = settings;
    let failed = primary.filter(|p| p.rollout_state.as_deref() == Some("FAILED"));
    let force = step.force || (options.redeploy && !new_revision);
    let deploys = new_revision || force || network_changes || lbs_change || platform_changes;
    // The deployment settings as they will be, for the request and the prediction.
    let unsigned = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
    let current = Effective::live(service, live.capacity);
    let effective = Effective {
        desired: unsigned(desired).unwrap_or(current.desired),
        min_healthy: unsigned(min_healthy).unwrap_or(current.min_healthy),
        max: unsigned(max).unwrap_or(current.max),
        circuit_breaker: breaker.unwrap_or(current.circuit_breaker),
        grace_s: unsigned(grace_s).unwrap_or(current.grace_s),
        load_balanced: load_balancers.as_ref().map_or(current.load_balanced, |l| !l.is_empty()),
        ..current
    };
    let deployment_changes = change
        .settings
        .iter()
        .any(|s| matches!(s.name.as_str(), "min_healthy" | "max" | "circuit_breaker"));
    let request = ServiceRequest {
        service: step.service.clone(),
        task_definition: if new_revision { revision.arn().map(str::to_owned) } else { None },
        desired: desired.filter(|d| *d != service.desired),
        deployment: deployment_changes.then_some(DeploymentSettings {
            min_healthy: Some(i32::try_from(effective.min_healthy).unwrap_or(100)),
            max: Some(i32::try_from(effective.max).unwrap_or(200)),
            circuit_breaker: Some(effective.circuit_breaker),
        }),
        grace_s: grace_s.filter(|g| Some(*g) != service.grace_s),
        force: force && !new_revision,
        launch_type: None,
        platform_version: step.platform_version.clone().filter(|_| platform_changes),
        network: network.filter(|_| network_changes),
        load_balancers: load_balancers.filter(|_| lbs_change),
        client_token: None,
    };
    change.prediction = Some(predict(&effective));
    if in_progress(service) {
        let rolling = service
            .deployments
            .iter()
            .find(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
            .or(primary);
        if let Some(p) = primary
            && p.rollout_state.as_deref() == Some("IN_PROGRESS")
            && revision.arn() == Some(p.task_definition.as_str())
            && !force
            && !(network_changes || lbs_change || platform_changes)
            && !p.reason.starts_with("ECS deployment circuit breaker: rolling back")
        {
            // Our own revision is rolling out (a run that was interrupted): watch it.
            change.action = UpdateAction::Resume { deployment_id: p.id.clone() };
            change.request = Some(request).filter(|r| *r != settings_free(&step.service));
            change.notes.push(format!(
                "deployment {} of this revision is already in progress: it is watched, not started \
                 again",
                p.id
            ));
            return change;
        }
        let what = rolling.map_or_else(String::new, |d| {
            format!(
                " (deployment {} of {}, {}, {}/{} running{})",
                d.id,
                d.task_definition,
                d.rollout_state.as_deref().unwrap_or("no rollout state"),
                d.running,
                d.desired,
                if d.reason.is_empty() { String::new() } else { format!(": {}", d.reason) }
            )
        });
        refuse(
            &mut change,
            format!(
                "another deployment of service `{}` is in progress{what}; wait for it, or pass \
                 --wait-for-lock",
                step.service
            ),
            true,
        );
        return change;
    }
    if let Some(failed) = failed {
        let what = format!(
            "deployment {} of {} FAILED{}, {} of {} tasks running",
            failed.id,
            failed.task_definition,
            if failed.reason.is_empty() { String::new() } else { format!(" ({})", failed.reason) },
            service.running,
            service.desired
        );
        if !deploys {
            refuse(
                &mut change,
                format!(
                    "service `{}` was left failed by an earlier deployment: {what}; ferry does not \
                     call that deployed — pass --redeploy to start the same revision again, or \
                     deploy a new one",
                    step.service
                ),
                false,
            );
            return change;
        }
        change.notes.push(format!("the service's {what}; this deployment replaces it"));
    }
    let stuck = change.prediction.as_ref().is_some_and(super::prediction::Prediction::stuck);
    let outcome =
        change.prediction.as_ref().and_then(|p| p.timeline.last().cloned()).unwrap_or_default();
    if deploys {
        if stuck {
            refuse(
                &mut change,
                format!(
                    "the deployment of service `{}` would not progress: {outcome}; set \
                     `max = 200%`, or `min_healthy = 0%` to accept downtime",
                    step.service
                ),
                false,
            );
            return change;
        }
        change.action = UpdateAction::Deploy;
        change.request = Some(ServiceRequest {
            task_definition: revision.arn().map(str::to_owned).filter(|_| new_revision),
            force: force && !new_revision,
            ..request
        });
    } else if change.settings.is_empty() {
        change.action = UpdateAction::Nothing;
    } else {
        change.action = UpdateAction::Settings;
        change.request = Some(request);
    }
    change
}

/// A request that sends nothing but the service's name.
fn settings_free(service: &str) -> ServiceRequest {
    ServiceRequest { service: service.to_owned(), ..ServiceRequest::default() }
}

fn network_text(network: &NetworkView) -> String {
    format!(
        "subnets [{}], security groups [{}], public IP {}",
        network.subnets.join(", "),
        network.security_groups.join(", "),
        if network.public_ip { "on" } else { "off" }
    )
}

fn lb_text(lbs: &[LoadBalancerView]) -> String {
    let items: Vec<String> = lbs
        .iter()
        .map(|lb| format!("{} → {}:{}", lb.target_group, lb.container, lb.port))
        .collect();
    format!("[{}]", items.join(", "))
}

fn resolve_verify(
    step: &VerifyStep,
    update: Option<&UpdateChange>,
    implicit: bool,
    live: &Live,
) -> VerifyChange {
    let timeout_ms = step.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let watch = match update.map(|u| &u.action) {
        Some(action) if action.deploys() => Watch::Deployment {
            until: step.until.clone().unwrap_or_else(|| "completed".to_owned()),
            timeout_ms,
            fail_fast: step.fail_fast,
            gates: step.gates.iter().map(|g| super::gates::gate_name(&g.target)).collect(),
            bake_ms: step.bake_ms.unwrap_or(0),
        },
        Some(UpdateAction::Settings) => Watch::Scaling {
            desired: update.and_then(|u| u.request.as_ref()).and_then(|r| r.desired),
            timeout_ms,
        },
        _ => Watch::Nothing,
    };
    VerifyChange {
        step: step.name.clone(),
        service: update.map(|u| u.service.clone()).unwrap_or_default(),
        implicit,
        watch,
        refusal: live.gate_problems.get(&step.name).map(|problem| Refusal {
            step: format!("verify {}", step.name),
            reason: problem.clone(),
            busy: false,
        }),
    }
}
