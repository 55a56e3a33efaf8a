//! `ferry simulate`: the rolling-update scheduler alone, printed as a timeline table or
//! JSON (`steps`, `outcome`, `events`).

use std::fmt::Write as _;

use super::output::{stderr, stdout};
use super::{CircuitBreakerMode, ExitStatus, SimulateArguments, SimulateFormat};
use crate::local::behaviour::FaultFile;
use crate::local::scheduler::{CircuitBreaker, SchedulerSettings};
use crate::local::simulation::{Outcome, Simulation, SimulationInput, simulate};

pub(super) fn run(arguments: &SimulateArguments) -> ExitStatus {
    let faults = match FaultFile::load_optional(arguments.faults.as_deref()) {
        Ok(faults) => faults,
        Err(message) => {
            stderr(&format!("error: {message}\n"));
            return ExitStatus::InvalidInput;
        }
    };
    if arguments.desired > 5_000 {
        stderr("error: `--desired` is at most 5000 (an ECS service's task limit)\n");
        return ExitStatus::InvalidInput;
    }
    if arguments.min_healthy > 100 {
        stderr(&format!(
            "error: `--min-healthy` is at most 100%, found {}%\n",
            arguments.min_healthy
        ));
        return ExitStatus::InvalidInput;
    }
    let circuit_breaker = match arguments.circuit_breaker {
        CircuitBreakerMode::Off => CircuitBreaker::OFF,
        CircuitBreakerMode::On => {
            CircuitBreaker { enable: true, rollback: false, reset_on_healthy_task: true }
        }
        CircuitBreakerMode::Rollback => {
            CircuitBreaker { enable: true, rollback: true, reset_on_healthy_task: true }
        }
    };
    let simulation = simulate(&SimulationInput {
        desired: arguments.desired,
        min_healthy_percent: arguments.min_healthy,
        max_percent: arguments.max,
        capacity: arguments.capacity,
        circuit_breaker,
        grace_ms: arguments.grace,
        drain_ms: arguments.drain,
        settings: faults.scheduler.apply(SchedulerSettings::default()),
        faults,
    });
    match arguments.format {
        SimulateFormat::Json => {
            let mut text = serde_json::to_string_pretty(&simulation).unwrap_or_default();
            text.push('\n');
            stdout(&text);
        }
        SimulateFormat::Human => stdout(&human(&simulation)),
    }
    ExitStatus::Success
}

/// `1h02m03s` style virtual time.
fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}h{m:02}m{s:02}s") } else { format!("{m}m{s:02}s") }
}

fn human(simulation: &Simulation) -> String {
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
