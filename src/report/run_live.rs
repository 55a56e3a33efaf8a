//! A run on a terminal: the same lines as the human reporter, with a live progress line
//! (desired/running/pending/failed of our deployment and its rollout state) kept at the
//! bottom by indicatif.

use indicatif::{ProgressBar, ProgressStyle};

use super::run_human::human_line;
use crate::engine::{Event, Sink};

pub(crate) struct LiveReporter {
    bar: ProgressBar,
}

impl LiveReporter {
    #[must_use]
    pub(crate) fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self { bar }
    }
}

impl Default for LiveReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for LiveReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Progress {
                service,
                deployment_id,
                desired,
                running,
                pending,
                failed,
                rollout_state,
            } => {
                self.bar.set_message(format!(
                    "{service} {deployment_id}: {running}/{desired} running, {pending} pending, \
                     {failed} failed{}",
                    rollout_state.as_ref().map_or_else(String::new, |s| format!(" · {s}"))
                ));
            }
            Event::BuildOutput { step, line, instruction: false } => {
                self.bar.set_message(format!("build {step}: {line}"));
            }
            Event::RunFinished { .. } => {
                self.bar.finish_and_clear();
                if let Some(line) = human_line(event) {
                    eprintln!("{line}");
                }
            }
            other => {
                if let Some(line) = human_line(other) {
                    self.bar.println(line);
                }
            }
        }
    }
}
