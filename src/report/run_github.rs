//! A run under GitHub Actions: failures and warnings as workflow commands (GitHub shows them
//! as annotations); the step summary (the verdict as its heading, a table of the steps with
//! what each made and how long it took, the run's lines folded) and the step's outputs
//! (verdict, exit code, revision, digest, deployment), returned as text for the CLI to
//! write to `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT`.

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};

use super::run_human::human_line;
use crate::engine::{Event, Sink, Verdict};
use crate::render::workflow_data;

pub(crate) struct GithubReporter<W: Write + Send> {
    out: W,
    lines: Vec<String>,
    steps: Vec<StepRow>,
    finished: Option<(Verdict, u8, String)>,
    revision: Option<String>,
    digest: Option<String>,
    deployment: Option<String>,
    /// The build step whose output sits in an open `::group::`.
    group: Option<String>,
}

/// One step as the summary's table shows it.
struct StepRow {
    kind: String,
    name: String,
    outcome: Option<String>,
    /// What the step made: a digest, a revision, a deployment.
    made: Vec<String>,
    started: Instant,
    took: Option<Duration>,
}

impl<W: Write + Send> GithubReporter<W> {
    /// Workflow commands go to `out`: standard output, or standard error when the events
    /// own standard output (`--format ndjson`); GitHub reads them from both.
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            lines: Vec::new(),
            steps: Vec::new(),
            finished: None,
            revision: None,
            digest: None,
            deployment: None,
            group: None,
        }
    }

    /// The step summary (Markdown): the verdict as the heading, its reason, a table of the
    /// steps, and the run's lines folded under it.
    #[must_use]
    pub(crate) fn summary(&self) -> String {
        let mut out = match &self.finished {
            Some((verdict, code, reason)) => {
                let heading = format!("## ferry: {} (exit {code})\n\n", verdict_words(*verdict));
                // A rendered diagnostic keeps its lines.
                if reason.contains('\n') {
                    format!("{heading}```text\n{}\n```\n", reason.replace("```", "'''"))
                } else {
                    format!("{heading}{}\n", cell(reason))
                }
            }
            None => "## ferry: the run did not finish\n".to_owned(),
        };
        if !self.steps.is_empty() {
            out.push_str("\n| step | outcome | made | took |\n|---|---|---|---|\n");
            for step in &self.steps {
                let _ = writeln!(
                    out,
                    "| `{} {}` | {} | {} | {} |",
                    step.kind,
                    step.name,
                    cell(step.outcome.as_deref().unwrap_or("did not finish")),
                    step.made
                        .iter()
                        .map(|m| format!("`{}`", cell(m)))
                        .collect::<Vec<_>>()
                        .join("<br>"),
                    step.took.map_or_else(String::new, |t| format!("{:.1} s", t.as_secs_f64())),
                );
            }
        }
        if !self.lines.is_empty() {
            let _ = write!(
                out,
                "\n<details><summary>The run, line by line</summary>\n\n{}\n\n</details>\n",
                self.lines.join("\n")
            );
        }
        out
    }

    /// The step's outputs for `$GITHUB_OUTPUT` (`name=value` lines): the verdict and exit
    /// code, and the revision, image digest and deployment of the run, where there are.
    #[must_use]
    pub(crate) fn outputs(&self) -> String {
        let mut out = String::new();
        if let Some((verdict, code, _)) = &self.finished {
            let verdict = serde_json::to_value(verdict).ok();
            let name = verdict.as_ref().and_then(|v| v.as_str()).unwrap_or("unknown");
            let _ = writeln!(out, "verdict={name}\nexit_code={code}");
        }
        for (name, value) in [
            ("revision", &self.revision),
            ("digest", &self.digest),
            ("deployment", &self.deployment),
        ] {
            if let Some(value) = value.as_ref().filter(|v| !v.contains('\n')) {
                let _ = writeln!(out, "{name}={value}");
            }
        }
        out
    }

    fn step(&mut self, name: &str) -> Option<&mut StepRow> {
        self.steps.iter_mut().rev().find(|row| row.name == name)
    }

    /// The step running now (the last started and not finished).
    fn current(&mut self) -> Option<&mut StepRow> {
        self.steps.iter_mut().rev().find(|row| row.outcome.is_none())
    }

    fn record(&mut self, event: &Event) {
        match event {
            Event::StepStarted { step, kind } => self.steps.push(StepRow {
                kind: kind.clone(),
                name: step.clone(),
                outcome: None,
                made: Vec::new(),
                started: Instant::now(),
                took: None,
            }),
            Event::StepFinished { step, outcome, .. } => {
                if let Some(row) = self.step(step) {
                    row.outcome = Some(outcome.clone());
                    row.took = Some(row.started.elapsed());
                }
            }
            Event::ImagePushed { step, digest, .. } => {
                self.digest = Some(digest.clone());
                if let Some(row) = self.step(step) {
                    row.made.push(digest.clone());
                }
            }
            Event::RevisionRegistered { step, arn } | Event::RevisionReused { step, arn } => {
                self.revision = Some(arn.clone());
                if let Some(row) = self.step(step) {
                    row.made.push(arn.clone());
                }
            }
            Event::DeploymentStarted { deployment_id, task_definition, .. } => {
                self.deployment = Some(deployment_id.clone());
                self.revision = Some(task_definition.clone());
                if let Some(row) = self.current() {
                    row.made.push(deployment_id.clone());
                }
            }
            Event::RunFinished { verdict, exit_code, reason } => {
                self.finished = Some((*verdict, *exit_code, reason.clone()));
            }
            _ => {}
        }
    }
}

/// The verdict as the summary's heading says it.
fn verdict_words(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Success => "deployed and verified",
        Verdict::RolledBack => "failed, rolled back and verified",
        Verdict::InvalidInput => "refused, nothing was changed",
        Verdict::Failed => "FAILED, not verified — a person must look",
        Verdict::Interrupted => "interrupted",
    }
}

/// Text for one Markdown table cell: one line, no column break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl<W: Write + Send> Sink for GithubReporter<W> {
    fn event(&mut self, event: &Event) {
        self.record(event);
        // A build's output folds into a group: the step's header stays outside it.
        match event {
            Event::StepStarted { step, kind } if kind == "build" => {
                let _ = writeln!(self.out, "::group::build {step}: output");
                self.group = Some(step.clone());
            }
            Event::StepStarted { .. } | Event::StepFinished { .. } | Event::RunFinished { .. }
                if self.group.take().is_some() =>
            {
                let _ = writeln!(self.out, "::endgroup::");
            }
            _ => {}
        }
        let command = match event {
            Event::DeploymentFailed { service, reason, .. } => {
                Some(format!("::error title=ferry: {service}::{}", workflow_data(reason)))
            }
            Event::RollbackFailed { service, reason } => Some(format!(
                "::error title=ferry: rollback of {service}::{}",
                workflow_data(reason)
            )),
            Event::Warning { message } => {
                Some(format!("::warning title=ferry::{}", workflow_data(message)))
            }
            _ => None,
        };
        if let Some(command) = command {
            let _ = writeln!(self.out, "{command}");
        }
        if let Some(line) = human_line(event) {
            self.lines.push(format!("- {}", line.trim()));
        }
    }
}

/// Sends every event to a sink and, when there is one, to a second.
pub(crate) struct Tee<'a> {
    pub first: &'a mut dyn Sink,
    pub second: Option<&'a mut dyn Sink>,
}

impl Sink for Tee<'_> {
    fn event(&mut self, event: &Event) {
        self.first.event(event);
        if let Some(second) = self.second.as_mut() {
            second.event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_become_annotations_and_the_summary_has_the_verdict_and_the_steps() {
        let mut out = Vec::new();
        let mut reporter = GithubReporter::new(&mut out);
        for event in [
            Event::StepStarted { step: "app".to_owned(), kind: "push".to_owned() },
            Event::ImagePushed {
                step: "app".to_owned(),
                repository: "r".to_owned(),
                tags: vec!["1".to_owned()],
                digest: "sha256:abc".to_owned(),
            },
            Event::StepFinished {
                step: "app".to_owned(),
                kind: "push".to_owned(),
                outcome: "pushed".to_owned(),
            },
            Event::StepStarted { step: "web".to_owned(), kind: "update".to_owned() },
            Event::DeploymentStarted {
                service: "web".to_owned(),
                deployment_id: "ecs-svc/1".to_owned(),
                task_definition: "arn:td/web:2".to_owned(),
                previous_task_definition: None,
            },
            Event::Warning { message: "100% of\nthe tasks".to_owned() },
            Event::RollbackFailed { service: "web".to_owned(), reason: "it | failed".to_owned() },
            Event::RunFinished {
                verdict: Verdict::Failed,
                exit_code: 3,
                reason: "not verified".to_owned(),
            },
        ] {
            reporter.event(&event);
        }
        let summary = reporter.summary();
        let outputs = reporter.outputs();
        let written = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            written,
            "::warning title=ferry::100%25 of%0Athe tasks\n\
             ::error title=ferry: rollback of web::it | failed\n"
        );
        assert!(
            summary.starts_with("## ferry: FAILED, not verified — a person must look (exit 3)\n"),
            "{summary}"
        );
        assert!(summary.contains("| `push app` | pushed | `sha256:abc` | "), "{summary}");
        assert!(
            summary.contains("| `update web` | did not finish | `ecs-svc/1` |  |"),
            "{summary}"
        );
        assert!(summary.contains("<details>"), "{summary}");
        assert_eq!(
            outputs,
            "verdict=failed\nexit_code=3\nrevision=arn:td/web:2\ndigest=sha256:abc\n\
             deployment=ecs-svc/1\n"
        );
    }

    #[test]
    fn a_builds_output_sits_in_a_group() {
        let mut out = Vec::new();
        let mut reporter = GithubReporter::new(&mut out);
        let step = |kind: &str| Event::StepStarted { step: "app".to_owned(), kind: kind.into() };
        let line = Event::BuildOutput {
            step: "app".to_owned(),
            line: "Step 1/2 : FROM scratch".to_owned(),
            instruction: true,
        };
        let finished = Event::StepFinished {
            step: "app".to_owned(),
            kind: "build".to_owned(),
            outcome: "built".to_owned(),
        };
        let end = Event::RunFinished {
            verdict: Verdict::InvalidInput,
            exit_code: 2,
            reason: "the second build failed".to_owned(),
        };
        for event in [step("build"), line.clone(), finished, step("tag"), step("build"), line, end]
        {
            reporter.event(&event);
        }
        drop(reporter);
        let written = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            written,
            "::group::build app: output\n::endgroup::\n::group::build app: output\n\
             ::endgroup::\n"
        );
    }
}
