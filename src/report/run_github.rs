//! A run under GitHub Actions: failures and warnings as workflow commands (GitHub shows them
//! as annotations), and the lines of a step summary, returned as text for the CLI to write.

use std::io::Write;

use super::run_human::human_line;
use crate::engine::{Event, Sink};
use crate::render::workflow_data;

pub(crate) struct GithubReporter<W: Write + Send> {
    out: W,
    lines: Vec<String>,
}

impl<W: Write + Send> GithubReporter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out, lines: Vec::new() }
    }

    /// The step summary (Markdown): a heading and the run's lines.
    #[must_use]
    pub(crate) fn summary(&self) -> String {
        format!("## ferry\n\n{}\n", self.lines.join("\n"))
    }
}

impl<W: Write + Send> Sink for GithubReporter<W> {
    fn event(&mut self, event: &Event) {
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
    fn failures_become_annotations_and_the_summary_has_every_line() {
        let mut out = Vec::new();
        let mut reporter = GithubReporter::new(&mut out);
        reporter.event(&Event::Warning { message: "100% of\nthe tasks".to_owned() });
        reporter.event(&Event::RollbackFailed {
            service: "web".to_owned(),
            reason: "it failed".to_owned(),
        });
        let summary = reporter.summary();
        let written = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            written,
            "::warning title=ferry::100%25 of%0Athe tasks\n\
             ::error title=ferry: rollback of web::it failed\n"
        );
        assert!(summary.starts_with("## ferry\n\n- "), "{summary}");
        assert_eq!(summary.lines().filter(|l| l.starts_with("- ")).count(), 2, "{summary}");
    }
}
