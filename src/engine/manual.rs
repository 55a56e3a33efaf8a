//! `ferry status` and `ferry rollback`: the services a Deployfile updates, shown as ECS
//! sees them, and rolled back by hand — StopServiceDeployment(ROLLBACK) while a deployment
//! is in progress, otherwise UpdateService to the last revision whose deployment
//! completed (never one that failed) — then verified like a run's rollback.

use std::time::Duration;

use super::verdict::settled_on;
use crate::aws::{AwsError, Ecs, ServiceDeploymentView, ServiceView};
use crate::eval::{Evaluator, Outputs, PlannedStep, Settings, Workspace, plan_step, step_values};
use crate::local::clock::Clock;
use crate::syntax::{Deployfile, Item};

/// A service a Deployfile updates: `(step, cluster, service)`.
#[must_use]
pub fn services(
    file: &Deployfile,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<(String, String, String)> {
    let values = step_values(file);
    let outputs = Outputs::new();
    let evaluator = Evaluator::new(settings, workspace, &values, &outputs);
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Step(step) => match plan_step(step, &evaluator) {
                Ok(PlannedStep::Update(update)) => {
                    let cluster = update
                        .cluster
                        .clone()
                        .or_else(|| settings.cluster.clone())
                        .unwrap_or_else(|| "default".to_owned());
                    Some((update.name, cluster, update.service))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The service as text: deployments, its target groups' lines (`targets`, from
/// `targets_text`), and the newest events.
#[must_use]
pub(crate) fn status_text(
    cluster: &str,
    name: &str,
    service: Option<&ServiceView>,
    staged: Option<&ServiceDeploymentView>,
    targets: &str,
) -> String {
    use std::fmt::Write as _;
    let Some(service) = service else {
        return format!("service `{name}` (cluster `{cluster}`): does not exist\n");
    };
    let mut out = format!(
        "service `{name}` (cluster `{cluster}`): {}, {} running of {} desired, {} pending\n",
        service.status, service.running, service.desired, service.pending
    );
    for d in &service.deployments {
        let _ = writeln!(
            out,
            "  {} {} {} {} — {}/{} running, {} pending, {} failed{}",
            d.status,
            d.id,
            d.task_definition,
            d.rollout_state.clone().unwrap_or_default(),
            d.running,
            d.desired,
            d.pending,
            d.failed,
            if d.reason.is_empty() { String::new() } else { format!(" ({})", d.reason) }
        );
    }
    if let Some(record) = staged {
        let stage = record.lifecycle_stage.as_deref().unwrap_or("no stage yet");
        let _ = write!(
            out,
            "  {} service deployment {}: {stage}",
            service.strategy.describe(),
            record.status
        );
        if let Some(hook) = record.awaiting_pause() {
            let _ = write!(
                out,
                "; held by PAUSE hook {hook}, awaiting action: `ferry run` judges it with the \
                 gates on test traffic and continues or rolls it back; at the hook's timeout ECS \
                 takes its action"
            );
        }
        out.push('\n');
    }
    out.push_str(targets);
    for event in service.events.iter().take(10) {
        let message = &event.message;
        let _ = writeln!(out, "  event: {message}");
    }
    out
}

/// Why a rollback by hand did not happen or is not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollbackError {
    /// Nothing was changed (exit 2): an unknown `--to`, a missing service, nothing to go
    /// back to.
    Refused(String),
    /// The rollback was asked for and is not verified (exit 3).
    Failed(String),
    /// Ctrl-C or SIGTERM (exit 130); what was asked goes on in ECS.
    Interrupted(String),
}

/// Rolls a service back by hand and waits until it runs the target revision, settled:
/// `--to` the named revision, or the last revision whose deployment completed other than
/// the one running (never a revision whose deployment failed or was rolled back). While a
/// deployment is in progress, StopServiceDeployment(ROLLBACK) when ECS gave its ARN.
/// Everything is checked before the first write. Returns the revision it runs.
pub async fn roll_back(
    ecs: &Ecs,
    clock: &Clock,
    cluster: &str,
    name: &str,
    to: Option<&str>,
    timeout_ms: u64,
) -> Result<String, RollbackError> {
    let refused = refusal;
    let service = ecs.service(cluster, name).await.map_err(refused)?.ok_or_else(|| {
        RollbackError::Refused(format!("service `{name}` does not exist in cluster `{cluster}`"))
    })?;
    let primary = service.primary().cloned().ok_or_else(|| {
        RollbackError::Refused(format!("service `{name}` has no PRIMARY deployment"))
    })?;
    let in_progress = super::resolve::in_progress(&service);
    let target = if let Some(revision) = to {
        named_target(ecs, revision, &primary.task_definition, in_progress, name).await?
    } else {
        last_good(ecs, cluster, &service, in_progress).await?
    };
    // A rollback is a deployment too: refused, like any, when it could not progress.
    let prediction =
        super::prediction::predict(&super::prediction::Effective::live(&service, None));
    if !in_progress && prediction.stuck() {
        return Err(RollbackError::Refused(format!(
            "a rollback of `{name}` to {target} would not progress: {}; nothing was changed (set \
             `max = 200%` first, or `min_healthy = 0%` to accept downtime)",
            prediction.timeline.last().cloned().unwrap_or_default()
        )));
    }
    let stop = match (&service.current_service_deployment, in_progress && to.is_none()) {
        (Some(arn), true) => {
            let status = ecs.service_deployment(arn).await.ok().flatten().map(|d| d.status);
            matches!(status.as_deref(), Some("PENDING" | "IN_PROGRESS"))
                && ecs.roll_back(arn).await.is_ok()
        }
        _ => false,
    };
    if !stop {
        ecs.redeploy(cluster, name, &target, Some(&service)).await.map_err(|e| {
            // Refused with an answer: nothing was written.
            if e.is_interrupted() {
                RollbackError::Interrupted(format!(
                    "interrupted while asking to roll `{name}` back to {target}: it may have been \
                     sent"
                ))
            } else if e.answer_lost() {
                RollbackError::Failed(e.to_string())
            } else {
                RollbackError::Refused(format!("{e}; nothing was changed"))
            }
        })?;
    }
    let started = clock.now_ms();
    loop {
        match ecs.service(cluster, name).await {
            Err(error) if error.is_interrupted() => {
                return Err(RollbackError::Interrupted(format!(
                    "interrupted while waiting for `{name}` to settle on {target}; the rollback \
                     goes on in ECS"
                )));
            }
            Ok(Some(service)) if settled_on(&service, &target) => return Ok(target),
            Ok(None) => return Err(RollbackError::Failed(format!("service `{name}` is gone"))),
            Err(error) if !error.is_transient() => {
                return Err(RollbackError::Failed(error.to_string()));
            }
            _ => {}
        }
        if clock.now_ms() - started > timeout_ms {
            return Err(RollbackError::Failed(format!(
                "service `{name}` did not settle on {target} within {}",
                crate::eval::duration_text(timeout_ms)
            )));
        }
        if clock.is_manual() {
            clock.advance(5_000);
        } else {
            tokio::time::sleep(clock.real_duration(5_000).max(Duration::from_millis(5))).await;
        }
    }
}

/// `--to REVISION`, checked before anything is written: it must exist, be ACTIVE, and not
/// be the revision the settled service runs.
async fn named_target(
    ecs: &Ecs,
    revision: &str,
    running: &str,
    in_progress: bool,
    name: &str,
) -> Result<String, RollbackError> {
    let (td, _) = match ecs.task_definition(revision).await {
        Ok(found) => found,
        Err(error) if error.code == "ClientException" => {
            return Err(RollbackError::Refused(format!(
                "`--to {revision}`: ECS has no such revision ({}); nothing was changed",
                error.message
            )));
        }
        Err(error) => return Err(refusal(error)),
    };
    if td.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Inactive) {
        return Err(RollbackError::Refused(format!(
            "`--to {revision}`: the revision is INACTIVE (deregistered); ECS cannot deploy it; \
             nothing was changed"
        )));
    }
    let arn = td.task_definition_arn().unwrap_or_default().to_owned();
    if arn == running && !in_progress {
        return Err(RollbackError::Refused(format!(
            "service `{name}` already runs {arn}; nothing was changed"
        )));
    }
    Ok(arn)
}

/// The last revision whose deployment completed, other than the one a settled service
/// runs; only where the endpoint keeps no deployment history, the family's previous ACTIVE
/// revision.
async fn last_good(
    ecs: &Ecs,
    cluster: &str,
    service: &ServiceView,
    in_progress: bool,
) -> Result<String, RollbackError> {
    let refused = refusal;
    let running = service.primary().map(|p| p.task_definition.clone()).unwrap_or_default();
    let except = (!in_progress).then_some(running.as_str());
    if let Some(target) = super::live::last_completed(ecs, cluster, service, except)
        .await
        .map_err(refused)?
        .filter(|t| *t != running || in_progress)
    {
        return Ok(target);
    }
    // Without a deployment history (an endpoint that has none), the revision before the
    // running one is the only guess; with one, "nothing completed" is the answer.
    let has_history =
        ecs.service_deployments(cluster, &service.name).await.map_err(refused)?.is_some();
    let fallback =
        if has_history { None } else { previous_revision(ecs, &running).await.map_err(refused)? };
    fallback.ok_or_else(|| {
        RollbackError::Refused(format!(
            "no deployment of `{}` other than the running one ({running}) completed: there is no \
             good revision to go back to; name one with --to",
            service.name
        ))
    })
}

/// A failed read before anything was written: refused, or interrupted.
// A `map_err` adapter: it takes the error by value.
#[allow(clippy::needless_pass_by_value)]
fn refusal(error: AwsError) -> RollbackError {
    if error.is_interrupted() {
        RollbackError::Interrupted("interrupted; nothing was changed".to_owned())
    } else {
        RollbackError::Refused(format!("{error}; nothing was changed"))
    }
}

/// The ACTIVE revision of the same family just below `arn`: the fallback where the
/// endpoint keeps no service-deployment history.
async fn previous_revision(ecs: &Ecs, arn: &str) -> Result<Option<String>, AwsError> {
    let Some((family, revision)) =
        arn.rsplit_once("task-definition/").and_then(|(_, rest)| rest.split_once(':'))
    else {
        return Ok(None);
    };
    let current: u32 = revision.parse().unwrap_or(0);
    let revisions = ecs.revisions(family).await?;
    Ok(revisions.into_iter().find(|candidate| {
        candidate
            .rsplit(':')
            .next()
            .and_then(|r| r.parse::<u32>().ok())
            .is_some_and(|r| r < current)
    }))
}
