//! A simulated rollout for people: the timeline table, the outcome and the events, as
//! `ferry simulate` and the REPL's `:simulate` print it.

use std::fmt::Write as _;

use crate::local::simulation::{Outcome, Simulation};

/// `1h02m03s` style virtual time.
fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}h{m:02}m{s:02}s") } else { format!("{m}m{s:02}s") }
}

/// The timeline table, the outcome and the scheduler's events, as `ferry simulate` prints them.
#[must_use]
pub(crate) fn simulation_text(simulation: &Simulation) -> String {
    let mut out = String::new();
    let capacity =
        simulation.capacity.map_or_else(|| "unbounded".to_owned(), |c| format!("{c} tasks"));
    let _ = writeln!(
        out,
        "desired {}, min healthy {}%, max {}%, capacity {capacity}",
        simulation.desired, simulation.min_healthy_percent, simulation.max_percent
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>9}  {:<6} {:<4} {:>5}   {:>12}   {:>12}",
        "time", "action", "rev", "count", "old run/hlth", "new run/hlth"
    );
    for step in &simulation.steps {
        let _ = writeln!(
            out,
            "{:>9}  {:<6} {:<4} {:>5}   {:>12}   {:>12}",
            clock(step.at_ms),
            step.action,
            step.revision,
            step.count,
            format!("{}/{}", step.old_active, step.old_healthy),
            format!("{}/{}", step.new_active, step.new_healthy)
        );
    }
    let outcome = match simulation.outcome {
        Outcome::Completed => "completed: the new revision runs every task",
        Outcome::Stuck => "stuck: the deployment cannot progress",
        Outcome::Unfinished => "did not finish within the 6-hour limit: tasks were still moving",
        Outcome::Failed => {
            "failed: the circuit breaker stopped the deployment; nothing was rolled back"
        }
        Outcome::RolledBack => {
            "rolled back: the circuit breaker failed the deployment and the old revision runs again"
        }
    };
    let _ = writeln!(out);
    let _ = writeln!(out, "outcome after {}: {outcome}", clock(simulation.duration_ms));
    if simulation.failed_tasks > 0 {
        let _ = writeln!(out, "failed tasks of the new revision: {}", simulation.failed_tasks);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "events:");
    for event in &simulation.events {
        let _ = writeln!(out, "{:>9}  {}", clock(event.at_ms), event.message);
    }
    out
}
