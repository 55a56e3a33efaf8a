//! `ferry simulate`: the rolling-update scheduler alone, printed as a timeline table or
//! JSON (`steps`, `outcome`, `events`).

use super::output::{failed, stdout};
use super::{CircuitBreakerMode, ExitStatus, SimulateArguments, SimulateFormat};
use crate::error::Error;
use crate::local::behaviour::FaultFile;
use crate::local::scheduler::{CircuitBreaker, SchedulerSettings};
use crate::local::simulation::{SimulationInput, simulate};
use crate::report::simulation_text;

pub(super) fn run(arguments: &SimulateArguments) -> ExitStatus {
    let faults = match FaultFile::load_optional(arguments.faults.as_deref()) {
        Ok(faults) => faults,
        Err(error) => return failed(error),
    };
    if arguments.desired > 5_000 {
        return failed(Error::usage("`--desired` is at most 5000 (an ECS service's task limit)"));
    }
    if arguments.min_healthy > 100 {
        return failed(Error::usage(format!(
            "`--min-healthy` is at most 100%, found {}%",
            arguments.min_healthy
        )));
    }
    let circuit_breaker = match arguments.circuit_breaker {
        CircuitBreakerMode::Off => CircuitBreaker::OFF,
        CircuitBreakerMode::On => CircuitBreaker {
            enable: true,
            rollback: false,
            reset_on_healthy_task: true,
            ..CircuitBreaker::OFF
        },
        CircuitBreakerMode::Rollback => CircuitBreaker {
            enable: true,
            rollback: true,
            reset_on_healthy_task: true,
            ..CircuitBreaker::OFF
        },
    };
    let simulation = simulate(&SimulationInput {
        desired: arguments.desired,
        min_healthy_percent: arguments.min_healthy,
        max_percent: arguments.max,
        capacity: arguments.capacity,
        circuit_breaker,
        grace_ms: arguments.grace,
        drain_ms: arguments.drain,
        target_groups: Vec::new(),
        settings: faults.scheduler.apply(SchedulerSettings::default()),
        faults,
        strategy: crate::local::scheduler::Strategy::Rolling,
        bake_ms: 0,
        early_success: None,
    });
    match arguments.format {
        SimulateFormat::Json => {
            let mut text = serde_json::to_string_pretty(&simulation).unwrap_or_default();
            text.push('\n');
            stdout(&text);
        }
        SimulateFormat::Human => stdout(&simulation_text(&simulation)),
    }
    ExitStatus::Success
}
