//! `ferry status` and `ferry rollback`: the services a Deployfile updates, shown as ECS
//! sees them, and rolled back by hand — StopServiceDeployment(ROLLBACK) while a deployment
//! is in progress, otherwise UpdateService to the revision before the current one — then
//! verified like a run's rollback.

use std::time::Duration;

use super::verdict::settled_on;
use crate::aws::{AwsError, Ecs, ServiceView};
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

/// The service as text: deployments and the newest events.
#[must_use]
pub fn status_text(cluster: &str, name: &str, service: Option<&ServiceView>) -> String {
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
    for (_, message) in service.events.iter().take(10) {
        let _ = writeln!(out, "  event: {message}");
    }
    out
}

/// Rolls a service back by hand and waits until it runs the target revision, settled.
/// Returns the revision it runs.
pub async fn roll_back(
    ecs: &Ecs,
    clock: &Clock,
    cluster: &str,
    name: &str,
    to: Option<&str>,
    timeout_ms: u64,
) -> Result<String, String> {
    let service = ecs
        .service(cluster, name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("service `{name}` does not exist in cluster `{cluster}`"))?;
    let primary = service
        .primary()
        .cloned()
        .ok_or_else(|| format!("service `{name}` has no PRIMARY deployment"))?;
    let in_progress =
        primary.rollout_state.as_deref() == Some("IN_PROGRESS") || service.deployments.len() > 1;
    let target = match to {
        Some(revision) => {
            let (td, _) = ecs.task_definition(revision).await.map_err(|e| e.to_string())?;
            td.task_definition_arn().unwrap_or_default().to_owned()
        }
        None if in_progress => service
            .deployments
            .iter()
            .find(|d| d.id != primary.id)
            .map(|d| d.task_definition.clone())
            .ok_or_else(|| "no earlier deployment to go back to".to_owned())?,
        None => previous_revision(ecs, &primary.task_definition)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("no ACTIVE revision before {}: name one with --to", primary.task_definition)
            })?,
    };
    match (&service.current_service_deployment, in_progress && to.is_none()) {
        (Some(arn), true) if ecs.roll_back(arn).await.is_ok() => {}
        _ => {
            ecs.redeploy(cluster, name, &target).await.map_err(|e| e.to_string())?;
        }
    }
    let started = clock.now_ms();
    loop {
        match ecs.service(cluster, name).await {
            Ok(Some(service)) if settled_on(&service, &target) => return Ok(target),
            Ok(None) => return Err(format!("service `{name}` is gone")),
            Err(error) if !error.is_transient() => return Err(error.to_string()),
            _ => {}
        }
        if clock.now_ms() - started > timeout_ms {
            return Err(format!(
                "service `{name}` did not settle on {target} within {}",
                crate::eval::duration_text(timeout_ms)
            ));
        }
        tokio::time::sleep(clock.real_duration(5_000).max(Duration::from_millis(5))).await;
    }
}

/// The ACTIVE revision of the same family just below `arn`.
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
