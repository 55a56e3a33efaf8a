//! The predicted rollout of a deployment: the local ECS's scheduler run alone on the
//! settings the deployment will have — the step's, else the live service's, else ECS's
//! defaults — with the breaker, the grace period, the cluster's room where it is known and
//! the load balancer's draining (ECS's default 300 s deregistration delay). One function
//! for `ferry plan`, the run's refusal of a deployment that cannot progress, and the
//! REPL's `:plan` and `:simulate`.

use serde::{Deserialize, Serialize};

use crate::aws::{BreakerView, StrategyView};
use crate::local::behaviour::FaultFile;
use crate::local::scheduler::{CircuitBreaker, SchedulerSettings, Strategy};
use crate::local::simulation::{Outcome, Simulation, SimulationInput, simulate};
use crate::local::target_health::{HealthTiming, Side, TargetLink};

/// A target group's deregistration delay when none is read (reference §1.5).
pub(super) const DEFAULT_DRAIN_MS: u64 = 300_000;

/// The settings a deployment runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    pub desired: u32,
    pub min_healthy: u32,
    pub max: u32,
    pub circuit_breaker: BreakerView,
    pub grace_s: u32,
    /// Tasks the cluster has room for; none when unknown (Fargate, or not read).
    pub capacity: Option<u32>,
    /// Behind load balancers: how the target groups check and drain.
    #[serde(default)]
    pub balancing: Option<Balancing>,
    /// How ECS deploys, and of a blue/green deployment its bake.
    #[serde(default)]
    pub strategy: StrategyView,
    #[serde(default)]
    pub bake_ms: u64,
    /// Of a linear or canary deployment: its steps (ECS's defaults where unset).
    #[serde(default)]
    pub shift: crate::aws::ShiftView,
    /// Of a rolling deployment: its early success criteria.
    #[serde(default)]
    pub early_success: Option<crate::aws::EarlySuccessView>,
}

/// A service's target groups as the prediction models them: a task counts as healthy
/// once its target passes a check (the local ECS's `HealthTiming`), and a task taken out
/// of service drains for the longest deregistration delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balancing {
    pub timing: HealthTiming,
    pub drain_ms: u64,
}

impl Default for Balancing {
    /// An Application Load Balancer's checks (`HealthTiming`'s default) and ECS's 300 s
    /// deregistration delay.
    fn default() -> Self {
        Self { timing: HealthTiming::default(), drain_ms: DEFAULT_DRAIN_MS }
    }
}

impl Balancing {
    /// From the target groups read: the first group's checks, the longest delay (ECS's
    /// default where a group's was not read); `None` for no group read.
    #[must_use]
    pub fn of(groups: &[&crate::aws::TargetGroupView]) -> Option<Self> {
        let first = groups.first()?;
        let positive = |n: i32| u32::try_from(n).unwrap_or(1).max(1);
        let timing =
            first.health_check.map_or_else(HealthTiming::default, |(i, h, u)| HealthTiming {
                interval_ms: u64::from(positive(i)) * 1000,
                healthy_threshold: positive(h),
                unhealthy_threshold: positive(u),
            });
        let drain_ms = groups.iter().map(|g| g.drain_ms.unwrap_or(DEFAULT_DRAIN_MS)).max()?;
        Some(Self { timing, drain_ms })
    }

    /// `, target checks every 30 s, 300 s draining`.
    fn text(self) -> String {
        format!(
            ", target checks every {}, {} draining",
            crate::eval::duration_text(self.timing.interval_ms),
            crate::eval::duration_text(self.drain_ms)
        )
    }
}

impl Effective {
    /// The settings a deployment of the service runs with when nothing changes them (ECS's
    /// defaults where it shows none).
    #[must_use]
    pub fn live(service: &crate::aws::ServiceView, capacity: Option<u32>) -> Self {
        let unsigned =
            |n: Option<i32>, default: u32| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(default);
        Self {
            desired: unsigned(Some(service.desired), 0),
            min_healthy: unsigned(service.min_healthy, 100),
            max: unsigned(service.max, 200),
            circuit_breaker: service.circuit_breaker.unwrap_or_default(),
            grace_s: unsigned(service.grace_s, 0),
            capacity,
            balancing: (!service.load_balancers.is_empty()).then(Balancing::default),
            strategy: service.strategy,
            bake_ms: service.bake_minutes.map_or(0, |m| u64::try_from(m).unwrap_or(0) * 60_000),
            shift: service.shift,
            early_success: service.early_success,
        }
    }

    /// A linear or canary deployment's steps in words: ` by 10% every 6m`, ` 5% for 10m`.
    fn steps_text(&self) -> String {
        let (tenths, minutes) = self.shift.with_defaults(self.strategy);
        let percent = crate::aws::ShiftView::percent_text(tenths);
        match self.strategy {
            StrategyView::Linear => format!(" by {percent} every {minutes}m"),
            StrategyView::Canary => format!(" {percent} for {minutes}m, then the rest,"),
            StrategyView::Rolling | StrategyView::BlueGreen => String::new(),
        }
    }

    /// The settings in words, as the plan shows them above the timeline.
    #[must_use]
    pub fn text(&self) -> String {
        format!(
            "{} desired, {}circuit breaker {}, grace {}s{}{}",
            self.desired,
            if self.strategy.is_staged() {
                format!(
                    "{}{} with a bake of {}, ",
                    self.strategy.describe(),
                    self.steps_text(),
                    crate::eval::duration_text(self.bake_ms)
                )
            } else {
                format!("min_healthy {}%, max {}%, ", self.min_healthy, self.max)
            },
            self.circuit_breaker.word(),
            self.grace_s,
            self.capacity.map_or_else(String::new, |c| format!(", room for {c} tasks")),
            self.balancing.map(Balancing::text).unwrap_or_default()
        )
    }
}

/// What the plan says of a rollout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    pub effective: Effective,
    /// One line per scheduler pass that starts or stops tasks, then the outcome.
    pub timeline: Vec<String>,
    /// `completes`, `cannot_progress`, `unfinished`, `fails`, `rolls_back`, `unknown`.
    pub outcome: String,
    pub duration_ms: u64,
}

impl Prediction {
    #[must_use]
    pub fn stuck(&self) -> bool {
        self.outcome == "cannot_progress"
    }
}

/// The scheduler's input for these settings, with the default task timings (30 s to
/// start, healthy 40 s after RUNNING).
#[must_use]
pub(super) fn simulation_input(effective: &Effective) -> SimulationInput {
    SimulationInput {
        desired: effective.desired,
        min_healthy_percent: effective.min_healthy,
        max_percent: effective.max,
        capacity: effective.capacity,
        circuit_breaker: CircuitBreaker {
            enable: effective.circuit_breaker.enable,
            rollback: effective.circuit_breaker.rollback,
            reset_on_healthy_task: true,
            ..CircuitBreaker::OFF
        },
        grace_ms: u64::from(effective.grace_s) * 1000,
        drain_ms: effective.balancing.map_or(0, |b| b.drain_ms),
        target_groups: effective
            .balancing
            .map(|b| {
                let link = |n: u32, side| TargetLink {
                    group_arn: format!(
                        "arn:aws:elasticloadbalancing:us-east-1:000000000000:\
                         targetgroup/simulated/{n}"
                    ),
                    container: "app".to_owned(),
                    container_port: 80,
                    target_type: "ip".to_owned(),
                    timing: b.timing,
                    drain_ms: b.drain_ms,
                    side,
                };
                if effective.strategy.is_staged() {
                    vec![link(0, Side::Primary), link(1, Side::Alternate)]
                } else {
                    vec![link(0, Side::Both)]
                }
            })
            .unwrap_or_default(),
        faults: FaultFile::default(),
        settings: SchedulerSettings::default(),
        strategy: scheduler_strategy(effective),
        bake_ms: effective.bake_ms,
        early_success: effective.early_success.filter(|_| !effective.strategy.is_staged()).map(
            |e| crate::local::scheduler::EarlySuccess {
                healthy_percent: u32::try_from(e.healthy_percent).unwrap_or(100),
                deferred: e.deferred,
            },
        ),
    }
}

/// The local scheduler's strategy for `effective`'s, with the steps of a linear or canary
/// deployment (ECS's defaults where unset).
fn scheduler_strategy(effective: &Effective) -> Strategy {
    let (tenths, minutes) = effective.shift.with_defaults(effective.strategy);
    let permille = u32::try_from(tenths).unwrap_or(1_000);
    let ms = u64::try_from(minutes).unwrap_or(0) * 60_000;
    match effective.strategy {
        StrategyView::Rolling => Strategy::Rolling,
        StrategyView::BlueGreen => Strategy::BlueGreen,
        StrategyView::Linear => Strategy::Linear { step_permille: permille, step_bake_ms: ms },
        StrategyView::Canary => Strategy::Canary { permille, bake_ms: ms },
    }
}

/// The simulated rollout, for `:simulate`'s full timeline.
#[must_use]
pub fn simulation(effective: &Effective) -> Simulation {
    simulate(&simulation_input(effective))
}

/// The predicted rollout.
#[must_use]
pub(super) fn predict(effective: &Effective) -> Prediction {
    let simulation = simulation(effective);
    // The scheduler's starts and stops, and a blue/green deployment's stages, in time
    // order (a stage first at the same moment).
    let mut lines: Vec<(u64, u8, String)> = simulation
        .steps
        .iter()
        .map(|step| (step.at_ms, 1, format!("{} {} {}", step.action, step.count, step.revision)))
        .chain(simulation.stages.iter().map(|s| {
            let share = s.production_share.map_or_else(String::new, |share| {
                format!(
                    " ({} of production)",
                    crate::aws::ShiftView::percent_text(i32::try_from(share).unwrap_or(1_000))
                )
            });
            (s.at_ms, 0, format!("{}{share}", s.stage))
        }))
        .collect();
    lines.sort_by_key(|(at, order, _)| (*at, *order));
    let mut timeline: Vec<String> = lines
        .into_iter()
        .map(|(at, _, text)| format!("{:>6}  {text}", crate::eval::duration_text(at)))
        .collect();
    let shifted = simulation
        .stages
        .iter()
        .find(|s| s.stage == "POST_PRODUCTION_TRAFFIC_SHIFT")
        .map(|s| {
            format!(
                "production traffic on it after about {}, then ECS's bake of {}; ",
                crate::eval::duration_text(s.at_ms),
                crate::eval::duration_text(effective.bake_ms)
            )
        })
        .unwrap_or_default();
    let (outcome, line) = match simulation.outcome {
        Outcome::Completed => (
            "completes",
            format!(
                "{shifted}completes after about {} (30 s starts, {})",
                crate::eval::duration_text(simulation.duration_ms),
                effective.balancing.map_or_else(
                    || "40 s to healthy".to_owned(),
                    |b| format!("healthy at the first target check{}", b.text())
                )
            ),
        ),
        Outcome::Stuck => (
            "cannot_progress",
            format!(
                "cannot progress: with {} desired, min_healthy {}% and max {}%{} ECS can neither \
                 start nor stop a task",
                effective.desired,
                effective.min_healthy,
                effective.max,
                effective.capacity.map_or_else(String::new, |c| format!(" and room for {c} tasks"))
            ),
        ),
        Outcome::Unfinished => (
            "unfinished",
            format!(
                "does not finish within {} of predicted time: tasks are still moving then",
                crate::eval::duration_text(simulation.duration_ms)
            ),
        ),
        Outcome::Failed => ("fails", "fails".to_owned()),
        Outcome::RolledBack => ("rolls_back", "is rolled back".to_owned()),
    };
    timeline.push(line);
    Prediction {
        effective: *effective,
        timeline,
        outcome: outcome.to_owned(),
        duration_ms: simulation.duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effective(desired: u32, min: u32, max: u32) -> Effective {
        Effective {
            desired,
            min_healthy: min,
            max,
            circuit_breaker: BreakerView { enable: true, rollback: true },
            grace_s: 0,
            capacity: None,
            balancing: None,
            strategy: StrategyView::Rolling,
            bake_ms: 0,
            shift: crate::aws::ShiftView::default(),
            early_success: None,
        }
    }

    #[test]
    fn the_settings_are_the_deployments() {
        assert!(predict(&effective(1, 100, 100)).stuck());
        assert_eq!(predict(&effective(3, 100, 200)).outcome, "completes");
        let input = simulation_input(&Effective {
            grace_s: 60,
            balancing: Some(Balancing::default()),
            capacity: Some(8),
            ..effective(6, 100, 200)
        });
        assert_eq!((input.grace_ms, input.drain_ms, input.capacity), (60_000, 300_000, Some(8)));
        assert!(input.circuit_breaker.enable && input.circuit_breaker.rollback);
        // Room for 6 tasks and 6 running: nothing can start, and min 100% stops nothing.
        let full = predict(&Effective { capacity: Some(6), ..effective(6, 100, 200) });
        assert!(full.stuck(), "{:?}", full.timeline);
        let draining =
            predict(&Effective { balancing: Some(Balancing::default()), ..effective(2, 100, 200) });
        assert!(draining.duration_ms >= DEFAULT_DRAIN_MS, "{}", draining.duration_ms);
    }
}
