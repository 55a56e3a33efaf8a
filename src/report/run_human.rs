//! A run for people: one line per event that matters, the final line naming the verdict
//! and its reason.

use std::io::Write;

use crate::engine::{Event, Sink, Verdict};

/// Writes events as lines to a writer (standard error in the CLI).
pub(crate) struct HumanReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> HumanReporter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }
}

/// The line for an event, if it has one.
#[must_use]
pub(crate) fn human_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::RunStarted { environment, target, steps } => {
            format!("ferry: {steps} steps, environment `{environment}`, target {target}")
        }
        Event::StepStarted { step, kind } => format!("▸ {kind} {step}"),
        // The build's progress: the step lines; its whole output comes with a failure.
        Event::BuildOutput { line, instruction: true, .. } => format!("  {line}"),
        Event::StepFinished { .. } | Event::Progress { .. } | Event::BuildOutput { .. } => {
            return None;
        }
        Event::ImageBuilt { image_id, builder, .. } => format!("  built {image_id} ({builder})"),
        Event::GateAttempt { gate, attempt, ok, message, .. } => {
            let verdict = if *ok { "pass" } else { "fail" };
            let message = if message.is_empty() { String::new() } else { format!(": {message}") };
            format!("  gate {gate} #{attempt} {verdict}{message}")
        }
        Event::GateLog { gate, level, text } => match level {
            crate::gates::host::LogLevel::Info => format!("  gate {gate}: {text}"),
            crate::gates::host::LogLevel::Warn => format!("  gate {gate}: warning: {text}"),
        },
        Event::GatePassed { gate, .. } => format!("  gate {gate} passed"),
        Event::GateError { report, .. } => report.trim_end().to_owned(),
        Event::GateFailed { gate, reason, .. } => format!("  gate {gate} failed: {reason}"),
        Event::Baking { service, bake_ms } => {
            format!("  `{service}`: baking for {}", crate::eval::duration_text(*bake_ms))
        }
        Event::ImagePushed { repository, tags, digest, .. } => {
            format!("  pushed {repository}:{} as {digest}", tags.join(","))
        }
        Event::RevisionRegistered { arn, .. } => format!("  registered {arn}"),
        Event::RevisionReused { arn, .. } => format!("  nothing changed: reusing {arn}"),
        Event::ServiceCreated { service, cluster } => {
            format!("  created service `{service}` in cluster `{cluster}`")
        }
        Event::DeploymentStarted {
            deployment_id,
            task_definition,
            previous_task_definition,
            ..
        } => match previous_task_definition {
            Some(previous) => {
                format!("  deployment {deployment_id}: {previous} → {task_definition}")
            }
            None => format!("  deployment {deployment_id}: {task_definition}"),
        },
        Event::NothingToDeploy { service, task_definition } => {
            format!("  service `{service}` already runs {task_definition}: nothing to deploy")
        }
        Event::SettingsUpdated { service, changes } => {
            format!(
                "  `{service}`: settings changed ({}); no deployment starts",
                changes.join("; ")
            )
        }
        Event::DeploymentResumed { service, deployment_id, task_definition } => format!(
            "  `{service}`: deployment {deployment_id} of {task_definition} is already in \
             progress; watching it"
        ),
        Event::Scaled { service, running, desired } => {
            format!("  `{service}`: {running} of {desired} tasks running, settled")
        }
        Event::WaitingForLock { service, deployments } => {
            format!("  waiting: service `{service}` has {deployments} deployments in progress")
        }
        Event::ServiceEvent { message, .. } => format!("  ecs: {message}"),
        Event::TaskStopped { task, stop_code, reason, exit_codes, .. } => {
            let exits: Vec<String> = exit_codes
                .iter()
                .filter_map(|(n, c)| c.map(|c| format!("{n} exited {c}")))
                .collect();
            format!(
                "  task {task} stopped: {reason} ({stop_code}{})",
                if exits.is_empty() { String::new() } else { format!("; {}", exits.join(", ")) }
            )
        }
        Event::Serving { service, .. } => format!("  `{service}` is serving: every new task runs"),
        Event::Completed { service, .. } => format!("  `{service}`: deployment completed"),
        Event::DeploymentFailed { service, reason, .. } => {
            format!("  `{service}` failed: {reason}")
        }
        Event::RollbackStarted { service, to_task_definition, how } => {
            format!(
                "▸ rollback `{service}` to {} ({how})",
                to_task_definition.clone().unwrap_or_default()
            )
        }
        Event::RollbackVerified { service, task_definition } => {
            format!("  `{service}` runs {task_definition} again")
        }
        Event::RollbackFailed { service, reason } => {
            format!("  rollback of `{service}` failed: {reason}")
        }
        Event::Deregistered { arn } => format!("  deregistered {arn}"),
        Event::Warning { message } => format!("  warning: {message}"),
        Event::RunFinished { verdict, exit_code, reason } => {
            let word = match verdict {
                Verdict::Success => "success",
                Verdict::RolledBack => "failed, rolled back",
                Verdict::InvalidInput => "refused",
                Verdict::Failed => "FAILED",
                Verdict::Interrupted => "interrupted",
            };
            format!("{word}: {reason} (exit {exit_code})")
        }
    })
}

impl<W: Write + Send> Sink for HumanReporter<W> {
    fn event(&mut self, event: &Event) {
        if let Some(line) = human_line(event) {
            let _ = writeln!(self.out, "{line}");
        }
    }
}
