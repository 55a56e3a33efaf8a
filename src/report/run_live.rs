//! A run on a terminal: the same lines as the human reporter, with a live progress line
//! kept at the bottom — elapsed time, our new tasks, the old and draining ones, the wait
//! in words and the time `verify` has left — cut short of the terminal's width so it
//! never wraps. Ctrl-C erases it before the interruption report (`on_interrupt`).
//!
//! The line is drawn here rather than by a progress-bar crate: indicatif pads its line to
//! the last column, so the terminal's `^C` echo wraps to a new row and its clearing misses
//! the line (what issue 16 found); a line that ends short of the edge goes whole.

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use super::run_human::{Verbosity, line_at};
use crate::engine::{Event, Sink};

/// Erases the row the cursor is on and puts the cursor at its start.
const ERASE_ROW: &str = "\r\x1b[2K";

/// The bottom line as it stands on the terminal.
#[derive(Default)]
struct Line {
    /// What it shows (empty: nothing drawn).
    text: String,
    /// Set by Ctrl-C: the line is erased and stays so.
    cleared: bool,
    frame: usize,
}

pub(crate) struct LiveReporter {
    line: Arc<Mutex<Line>>,
    verbosity: Verbosity,
}

impl LiveReporter {
    #[must_use]
    pub(crate) fn new(verbosity: Verbosity) -> Self {
        Self { line: Arc::default(), verbosity }
    }

    /// What Ctrl-C calls, from another task: the progress line erased at once. The line
    /// is kept short of the terminal's width, so the `^C` the terminal echoes after it
    /// stays on its row and goes with it.
    pub(crate) fn on_interrupt(&self) -> impl Fn() + Send + Sync + 'static {
        let line = Arc::clone(&self.line);
        move || {
            let mut line = line.lock().unwrap_or_else(PoisonError::into_inner);
            line.cleared = true;
            if !line.text.is_empty() {
                line.text.clear();
                write_err(ERASE_ROW);
            }
        }
    }

    /// Shows `text` as the bottom line, cut to leave the terminal's last columns free.
    fn show(&self, text: &str) {
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        if line.cleared || self.verbosity == Verbosity::Quiet {
            return;
        }
        let (_, columns) = console::Term::stderr().size();
        let room = usize::from(columns).saturating_sub(6).max(20);
        let cut: String = if text.chars().count() > room {
            text.chars().take(room - 1).chain(['…']).collect()
        } else {
            text.to_owned()
        };
        line.frame = (line.frame + 1) % SPINNER.len();
        line.text = format!("{} {cut}", SPINNER[line.frame]);
        write_err(&format!("{ERASE_ROW}{}", line.text));
    }

    /// Prints `text` above the bottom line, which is drawn again under it.
    fn print(&self, text: &str) {
        let line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        if line.text.is_empty() {
            write_err(&format!("{text}\n"));
        } else {
            write_err(&format!("{ERASE_ROW}{text}\n{}", line.text));
        }
    }

    /// Erases the bottom line for good (the run's last line comes next).
    fn finish(&self) {
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        line.cleared = true;
        if !line.text.is_empty() {
            line.text.clear();
            write_err(ERASE_ROW);
        }
    }
}

/// The spinner's frames, one step per redraw.
const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

fn write_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// The progress line: `web 1m5s (8m55s left) · new 2/3 (1 pending) · old 3 (1 draining) ·
/// waiting for 1 new task to start`, in whole seconds.
#[must_use]
pub(crate) fn progress_text(event: &Event) -> Option<String> {
    let Event::Progress {
        service,
        desired,
        running,
        pending,
        failed,
        old,
        draining,
        elapsed_ms,
        left_ms,
        waiting,
        ..
    } = event
    else {
        return None;
    };
    let time = |ms: u64| crate::eval::duration_text(ms / 1000 * 1000);
    let mut new = format!("new {running}/{desired}");
    let extra: Vec<String> = [(*pending, "pending"), (*failed, "failed")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if !extra.is_empty() {
        new = format!("{new} ({})", extra.join(", "));
    }
    let mut parts = vec![format!("{service} {} ({} left)", time(*elapsed_ms), time(*left_ms)), new];
    if *old > 0 {
        let draining =
            if *draining > 0 { format!(" ({draining} draining)") } else { String::new() };
        parts.push(format!("old {old}{draining}"));
    }
    if !waiting.is_empty() {
        parts.push(waiting.clone());
    }
    Some(parts.join(" · "))
}

impl Sink for LiveReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Progress { .. } => {
                if let Some(text) = progress_text(event) {
                    self.show(&text);
                }
            }
            Event::BuildOutput { step, line, instruction: false }
                if self.verbosity != Verbosity::Verbose =>
            {
                self.show(&format!("build {step}: {line}"));
            }
            Event::RunFinished { .. } => {
                self.finish();
                if let Some(line) = line_at(event, self.verbosity) {
                    self.print(&line);
                }
            }
            other => {
                if let Some(line) = line_at(other, self.verbosity) {
                    self.print(&line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::progress_text;
    use crate::engine::Event;

    #[test]
    fn the_progress_line_says_what_it_waits_for() {
        let event = Event::Progress {
            service: "web".into(),
            deployment_id: "ecs-svc/1".into(),
            desired: 3,
            running: 2,
            pending: 1,
            failed: 0,
            rollout_state: Some("IN_PROGRESS".into()),
            old: 3,
            draining: 1,
            elapsed_ms: 65_400,
            left_ms: 534_600,
            waiting: "waiting for 1 new task to start".into(),
        };
        assert_eq!(
            progress_text(&event).as_deref(),
            Some(
                "web 1m5s (8m54s left) · new 2/3 (1 pending) · old 3 (1 draining) · waiting \
                 for 1 new task to start"
            )
        );
    }
}
