//! `ferry simulate`: the rolling-update scheduler alone, on a virtual service. A service
//! runs `desired` healthy tasks of revision `old`; revision `new` is deployed at time 0;
//! the scheduler runs on a stepped clock until the rollout settles or six virtual hours
//! pass. Images are called `old` and `new`, so a fault file can target either.

use serde::Serialize;

use super::behaviour::FaultFile;
use super::deployment::{Deployment, Revision, RolloutState};
use super::ids::Ids;
use super::scheduler::{
    Action, CircuitBreaker, Launcher, Rollout, RolloutConfig, SchedulerSettings, Strategy,
};
use super::task::{LaunchSpec, Task};

/// The longest a simulation runs, in virtual time.
pub const TIME_LIMIT_MS: u64 = 6 * 3_600_000;

/// A rollout that started or stopped a task this recently at the limit is still moving.
const MOVING_MS: u64 = 30 * 60_000;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimulationInput {
    pub desired: u32,
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    pub capacity: Option<u32>,
    pub circuit_breaker: CircuitBreaker,
    pub grace_ms: u64,
    pub drain_ms: u64,
    /// The service's target groups: each task counts as healthy once its targets are.
    pub target_groups: Vec<super::target_health::TargetLink>,
    pub faults: FaultFile,
    pub settings: SchedulerSettings,
    /// Rolling, or blue/green with its bake (the lifecycle stages are recorded).
    pub strategy: Strategy,
    pub bake_ms: u64,
    /// A rolling deployment's early success criteria.
    pub early_success: Option<super::scheduler::EarlySuccess>,
}

/// How the rollout ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new revision runs everywhere.
    Completed,
    /// It can neither start nor stop a task (ECS's "unable to stop or start tasks").
    Stuck,
    /// Still moving when the time limit came: a task started or stopped in its last half
    /// hour (a very large service, a throttled retry).
    Unfinished,
    /// The circuit breaker failed it and nothing was rolled back.
    Failed,
    /// The circuit breaker failed it and the old revision runs everywhere again.
    RolledBack,
}

/// The starts or stops of one scheduler pass for one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Virtual milliseconds since the deployment began.
    pub at_ms: u64,
    pub action: &'static str,
    pub revision: &'static str,
    pub count: u32,
    /// After the pass: tasks wanted running, and of those counted healthy, per revision.
    pub old_active: u32,
    pub new_active: u32,
    pub old_healthy: u32,
    pub new_healthy: u32,
}

/// A service event with its virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimedEvent {
    pub at_ms: u64,
    pub message: String,
}

/// The result of a simulation.
#[derive(Clone, Debug, Serialize)]
pub struct Simulation {
    pub desired: u32,
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    pub capacity: Option<u32>,
    pub steps: Vec<Step>,
    pub outcome: Outcome,
    pub duration_ms: u64,
    /// Oldest first.
    pub events: Vec<TimedEvent>,
    /// Tasks of the new revision that failed (the circuit breaker's count source).
    pub failed_tasks: u32,
    /// Of a blue/green deployment: each lifecycle stage the new revision entered, when.
    pub stages: Vec<TimedStage>,
}

/// A lifecycle stage with the virtual time it began; each step of a linear or canary
/// production traffic shift is one, with the share of production traffic on the new
/// revision after it (tenths of a percent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimedStage {
    pub at_ms: u64,
    pub stage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_share: Option<u32>,
}

struct FaultLauncher<'a>(&'a FaultFile);

impl Launcher for FaultLauncher<'_> {
    fn behaviour(&mut self, revision: &Revision) -> super::behaviour::TaskBehaviour {
        self.0.behaviour(revision.images.first().map_or("", String::as_str))
    }
}

fn revision(name: &str) -> Revision {
    Revision {
        arn: format!(
            "arn:aws:ecs:us-east-1:000000000000:task-definition/simulated:{}",
            if name == "old" { 1 } else { 2 }
        ),
        images: vec![name.to_owned()],
        has_health_check: false,
        stop_timeout_ms: 30_000,
    }
}

/// Runs the simulation.
#[must_use]
pub fn simulate(input: &SimulationInput) -> Simulation {
    let config = RolloutConfig {
        desired: input.desired,
        min_healthy_percent: input.min_healthy_percent,
        max_percent: input.max_percent,
        grace_ms: input.grace_ms,
        circuit_breaker: input.circuit_breaker,
        capacity: input.capacity,
        drain_ms: input.drain_ms,
        target_groups: input.target_groups.clone(),
        strategy: input.strategy,
        bake_ms: input.bake_ms,
        hooks: Vec::new(),
        alarms: super::scheduler::Alarms::default(),
        early_success: input.early_success,
    };
    let mut ids = Ids::new(1);
    let mut rollout = Rollout::new("simulated", config, input.settings);
    let old = seed_steady(&mut rollout, &revision("old"), &mut ids);
    let mut launcher = FaultLauncher(&input.faults);
    let new = rollout.deploy(revision("new"), &mut ids, 0);
    let label = |deployment_id: &str| if deployment_id == old { "old" } else { "new" };
    let mut steps = Vec::new();
    let mut stages = Vec::new();
    let mut now = 0;
    while now <= TIME_LIMIT_MS {
        let actions: Vec<Action> = rollout.advance(now, &mut launcher, &mut ids);
        let count = |deployment_id: &str, healthy: bool| {
            rollout
                .tasks
                .iter()
                .filter(|t| {
                    t.deployment_id == deployment_id
                        && if healthy { t.is_healthy(now) } else { t.is_active() }
                })
                .count() as u32
        };
        for action in actions {
            steps.push(Step {
                at_ms: action.at_ms,
                action: if action.start { "start" } else { "stop" },
                revision: label(&action.deployment_id),
                count: action.count,
                old_active: count(&old, false),
                new_active: count(&new, false),
                old_healthy: count(&old, true),
                new_healthy: count(&new, true),
            });
        }
        let ours = rollout.deployments.iter().find(|d| d.id == new);
        if let Some(deployment) = ours
            && let Some((stage, at_ms)) = deployment.stage
            && stages
                .last()
                .is_none_or(|s: &TimedStage| (s.stage, s.at_ms) != (stage.as_str(), at_ms))
        {
            let share = rollout.green_share(deployment.alternate);
            let production_share = (stage
                == super::deployment::LifecycleStage::ProductionTrafficShift
                && input.strategy.next_shift(0).0 < 1_000)
                .then_some(share);
            stages.push(TimedStage { at_ms, stage: stage.as_str(), production_share });
        }
        if rollout.is_settled() {
            break;
        }
        now = rollout.next_wakeup().max(now + 1);
    }
    let primary = rollout.primary();
    let outcome = match primary.map(|p| (p.id.as_str(), p.rollout)) {
        Some((id, RolloutState::Completed)) if id == new => Outcome::Completed,
        Some((id, RolloutState::Completed)) if id == old => Outcome::RolledBack,
        Some((_, RolloutState::Failed)) => Outcome::Failed,
        _ if rollout.is_stuck() => Outcome::Stuck,
        // Tasks started or stopped within the last half hour: still moving (a throttled
        // retry waits at most 15 minutes), not stuck.
        _ if steps.last().is_some_and(|s: &Step| s.at_ms + MOVING_MS >= now) => Outcome::Unfinished,
        _ => Outcome::Stuck,
    };
    let failed_tasks = rollout.deployments.iter().find(|d| d.id == new).map_or_else(
        || {
            rollout
                .tasks
                .iter()
                .filter(|t| t.deployment_id == new && t.stop.as_ref().is_some_and(|s| s.failure))
                .count() as u32
        },
        |d| d.failed_tasks,
    );
    let mut events: Vec<TimedEvent> = rollout
        .events
        .iter()
        .rev()
        .map(|e| TimedEvent { at_ms: e.created_ms, message: e.message.clone() })
        .collect();
    events.dedup();
    Simulation {
        desired: input.desired,
        min_healthy_percent: input.min_healthy_percent,
        max_percent: input.max_percent,
        capacity: input.capacity,
        steps,
        outcome,
        duration_ms: now.min(TIME_LIMIT_MS),
        events,
        failed_tasks,
        stages,
    }
}

/// Puts a COMPLETED deployment of `revision` with `desired` healthy tasks in place, as a
/// service that has been running for a while. Returns its id.
pub fn seed_steady(rollout: &mut Rollout, revision: &Revision, ids: &mut Ids) -> String {
    let id = ids.deployment_id();
    let mut deployment = Deployment::new(id.clone(), revision.clone(), 0);
    deployment.rollout = RolloutState::Completed;
    deployment.reason = format!("ECS deployment {id} completed.");
    deployment.completed_ms = Some(0);
    rollout.deployments.insert(0, deployment);
    for _ in 0..rollout.config.desired {
        let behaviour = super::behaviour::TaskBehaviour { start_ms: 0, ..Default::default() };
        let spec = LaunchSpec {
            id: ids.task_id(),
            deployment_id: id.clone(),
            task_definition_arn: revision.arn.clone(),
            has_health_check: false,
            stop_timeout_ms: revision.stop_timeout_ms,
            drain_ms: rollout.config.drain_ms,
            targets: Vec::new(),
        };
        let mut task = Task::launch(spec, behaviour, 0);
        task.advance(0, 0);
        task.healthy_ms = Some(0);
        task.healthy_reported = true;
        rollout.tasks.push(task);
    }
    id
}
