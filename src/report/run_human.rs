//! A run for people: one line per event that matters, the final line naming the verdict
//! and its reason.

use std::io::Write;

use crate::engine::{Event, Sink, Verdict};

/// How much a run prints for people (`-q`, `-v`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Verbosity {
    /// Errors, warnings, failures, rollbacks and the verdict.
    Quiet,
    #[default]
    Normal,
    /// Also every build line, each progress change and each step's end.
    Verbose,
}

impl Verbosity {
    /// Whether `event`'s line is printed at this verbosity.
    #[must_use]
    pub(crate) fn shows(self, event: &Event) -> bool {
        let essential = matches!(
            event,
            Event::RunFinished { .. }
                | Event::Warning { .. }
                | Event::GateFailed { .. }
                | Event::GateError { .. }
                | Event::DeploymentFailed { .. }
                | Event::RollbackStarted { .. }
                | Event::RollbackVerified { .. }
                | Event::RollbackFailed { .. }
        );
        match self {
            Verbosity::Quiet => essential,
            Verbosity::Normal | Verbosity::Verbose => true,
        }
    }
}

/// Writes events as lines to a writer (standard error in the CLI).
pub(crate) struct HumanReporter<W: Write + Send> {
    out: W,
    verbosity: Verbosity,
    /// The last progress printed (`-v`), its clock left out: a line only on a change.
    last_progress: Option<String>,
}

impl<W: Write + Send> HumanReporter<W> {
    pub(crate) fn new(out: W, verbosity: Verbosity) -> Self {
        Self { out, verbosity, last_progress: None }
    }
}

/// The line of an event at `verbosity`: `-v` adds the events `human_line` leaves out.
#[must_use]
pub(crate) fn line_at(event: &Event, verbosity: Verbosity) -> Option<String> {
    if !verbosity.shows(event) {
        return None;
    }
    if verbosity != Verbosity::Verbose {
        return human_line(event);
    }
    match event {
        Event::BuildOutput { line, instruction: false, .. } => Some(format!("    {line}")),
        Event::StepFinished { step, kind, outcome } => Some(format!("  {kind} {step}: {outcome}")),
        Event::Progress { .. } => {
            super::run_live::progress_text(event).map(|text| format!("  {text}"))
        }
        other => human_line(other),
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
        Event::TaskStopped { task, stop_code, reason, exit_codes, containers, .. } => {
            // The words, when the event carries them; an older event's exit codes else.
            let exits: Vec<String> = if containers.is_empty() {
                exit_codes
                    .iter()
                    .filter_map(|(n, c)| c.map(|c| format!("{n} exited {c}")))
                    .collect()
            } else {
                containers.clone()
            };
            format!(
                "  task {task} stopped: {reason} ({stop_code}{})",
                if exits.is_empty() { String::new() } else { format!("; {}", exits.join(", ")) }
            )
        }
        Event::ProbeFinished { gate, sent, failed, p50_ms, p99_ms, max_ms, .. } => format!(
            "  {gate}: {sent} requests, {failed} failed; latency p50 {p50_ms} ms, p99 {p99_ms} \
             ms, max {max_ms} ms"
        ),
        Event::TargetNotHealthy {
            target_group, task, target, state, reason, description, ..
        } => {
            let problem = crate::engine::NotHealthy {
                group: target_group.clone(),
                task: task.clone(),
                target: target.clone(),
                state: state.clone(),
                reason: reason.clone(),
                description: description.clone(),
            };
            format!("  load balancer: {}", problem.describe())
        }
        Event::LifecycleStage { service, stage, status, .. } => match stage {
            Some(stage) => {
                format!("  `{service}`: {stage} ({status}): {}", crate::engine::stage_words(stage))
            }
            None => format!("  `{service}`: service deployment {status}"),
        },
        Event::HookContinued { service, action, .. } => {
            if action == "CONTINUE" {
                format!("  `{service}`: the gates on test traffic passed: continued")
            } else {
                format!("  `{service}`: a gate on test traffic failed: rolled back ({action})")
            }
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
        if let Event::Progress { .. } = event {
            let mut key = event.clone();
            // The clocks left out, the bake's time left too: a line only when what the
            // rollout does or waits for changes.
            if let Event::Progress { elapsed_ms, left_ms, waiting, .. } = &mut key {
                (*elapsed_ms, *left_ms) = (0, 0);
                if waiting.starts_with("baking") {
                    "baking".clone_into(waiting);
                }
            }
            let key = super::run_live::progress_text(&key);
            if key == self.last_progress {
                return;
            }
            self.last_progress = key;
        }
        if let Some(line) = line_at(event, self.verbosity) {
            let _ = writeln!(self.out, "{line}");
        }
    }
}
