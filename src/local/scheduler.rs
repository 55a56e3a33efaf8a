//! The rolling-update scheduler of one service, following ECS's documented rules
//! (docs/ecs.md §1, §2, §10): min/max percent with their rounding, cluster
//! capacity, health gating, the stop path, the launch throttle, the circuit breaker with
//! rollback to the last COMPLETED deployment, `rolloutState` and ECS-worded service events.
//! Pure: time comes in as `now` (milliseconds on the local clock), behaviour from a
//! `Launcher`. Where ECS leaves a choice open, `SchedulerSettings` holds it (docs/local.md).
//!
//! This file holds the service's state, its timers and the accounting of task changes; one
//! pass (starts, stops, completion) is in `scheduler/pass.rs`, the circuit breaker and
//! rollback in `scheduler/breaker.rs`.

use super::behaviour::TaskBehaviour;
use super::deployment::{Deployment, DeploymentStatus, LifecycleStage, Revision, RolloutState};
use super::ids::Ids;
use super::task::{Change, RuntimeReport, StopCode, Task, TaskState};

mod breaker;
mod pass;
mod stages;

/// Gives each new task its behaviour (the virtual runtime reads the fault file).
pub trait Launcher {
    fn behaviour(&mut self, revision: &Revision) -> TaskBehaviour;

    /// What a Lambda lifecycle hook answers, and after how long (the fault file's).
    fn hook(&mut self, _arn: &str) -> (super::behaviour::HookAnswer, u64) {
        (super::behaviour::HookAnswer::Succeeded, 30_000)
    }

    /// The CloudWatch alarms in ALARM while a deployment of `revision` that began
    /// `age_ms` ago is the current one (the fault file's).
    fn alarms(&mut self, _revision: &Revision, _age_ms: u64) -> Vec<String> {
        Vec::new()
    }
}

/// How the circuit breaker's reasons begin (a failure it caused, a rollback it began).
pub const BREAKER_REASON: &str = "ECS deployment circuit breaker";

/// `deploymentConfiguration.alarms`: the CloudWatch alarms that fail a deployment, and
/// whether the failure rolls back.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alarms {
    pub names: Vec<String>,
    pub enable: bool,
    pub rollback: bool,
}

/// A lifecycle hook of the deployment configuration (`lifecycleHooks[]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hook {
    /// `AWS_LAMBDA` or `PAUSE`.
    pub target_type: String,
    pub target_arn: Option<String>,
    /// Hook stages (`POST_TEST_TRAFFIC_SHIFT`, `PRE_PRODUCTION_TRAFFIC_SHIFT`, …).
    pub stages: Vec<String>,
    pub timeout_ms: u64,
    /// On timeout: roll back (else continue).
    pub timeout_rolls_back: bool,
}

/// How the circuit breaker is set (`deploymentCircuitBreaker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
    /// Count only consecutive failures (the 2026 default, `resetOnHealthyTask`).
    pub reset_on_healthy_task: bool,
    /// `thresholdConfiguration` (since 2026-07): how many failures trip it.
    #[serde(default)]
    pub threshold: Threshold,
}

/// `deploymentCircuitBreaker.thresholdConfiguration`: a count of failed tasks, or a share
/// of the desired count — bounded to 3..200 as ECS's classic threshold (`BOUNDED_PERCENT`,
/// 50 by default), or not (`UNBOUNDED_PERCENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Threshold {
    Count(u32),
    BoundedPercent(u32),
    UnboundedPercent(u32),
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold::BoundedPercent(50)
    }
}

impl CircuitBreaker {
    pub const OFF: CircuitBreaker = CircuitBreaker {
        enable: false,
        rollback: false,
        reset_on_healthy_task: true,
        threshold: Threshold::BoundedPercent(50),
    };

    /// The default failure threshold for `desired` tasks: `clamp(ceil(0.5 × desired), 3,
    /// 200)` (§2.2).
    #[must_use]
    pub fn threshold(desired: u32) -> u32 {
        desired.div_ceil(2).clamp(3, 200)
    }

    /// The failure threshold for `desired` tasks as configured: a count; a share of
    /// `desired` rounded up, bounded to 3..200 or at least 1.
    #[must_use]
    pub fn limit(&self, desired: u32) -> u32 {
        let share = |percent: u32| (u64::from(desired) * u64::from(percent)).div_ceil(100);
        let share = |percent| u32::try_from(share(percent)).unwrap_or(u32::MAX);
        match self.threshold {
            Threshold::Count(count) => count.max(1),
            Threshold::BoundedPercent(percent) => share(percent).clamp(3, 200),
            Threshold::UnboundedPercent(percent) => share(percent).max(1),
        }
    }
}

/// `deploymentConfiguration.strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Strategy {
    /// Replace tasks within `minimumHealthyPercent` and `maximumPercent` (§1).
    #[default]
    Rolling,
    /// Start the new revision in full on the other target groups, move test then
    /// production traffic to it, bake with the old one kept, then stop the old one.
    BlueGreen,
    /// As blue/green, production traffic moved in steps of `step_permille` (tenths of a
    /// percent) `step_bake_ms` apart (no wait after the last).
    Linear { step_permille: u32, step_bake_ms: u64 },
    /// As blue/green, `permille` of production traffic moved first, the rest
    /// `bake_ms` later.
    Canary { permille: u32, bake_ms: u64 },
}

impl Strategy {
    /// Every strategy but rolling runs in lifecycle stages (scheduler/stages.rs).
    #[must_use]
    pub fn is_staged(self) -> bool {
        self != Strategy::Rolling
    }

    /// The share of production traffic (tenths of a percent) on the new revision after
    /// the shift that follows `share`, and how long to wait at `share` before it: the
    /// production traffic shift's steps (all at once for blue/green).
    #[must_use]
    pub fn next_shift(self, share: u32) -> (u32, u64) {
        match self {
            Strategy::Linear { step_permille, step_bake_ms } => {
                let wait = if share == 0 { 0 } else { step_bake_ms };
                ((share + step_permille.max(1)).min(1_000), wait)
            }
            Strategy::Canary { permille, .. } if share == 0 => (permille.min(1_000), 0),
            Strategy::Canary { bake_ms, .. } => (1_000, bake_ms),
            Strategy::Rolling | Strategy::BlueGreen => (1_000, 0),
        }
    }
}

/// Where the listener rules of a blue/green service send traffic: the share of
/// production traffic on the alternate target groups, in tenths of a percent, and
/// whether test traffic goes to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    pub production_alternate: u32,
    pub test_alternate: bool,
}

impl Traffic {
    /// Everything on one side.
    #[must_use]
    pub fn all_on(alternate: bool) -> Self {
        Self { production_alternate: if alternate { 1_000 } else { 0 }, test_alternate: alternate }
    }

    /// The side most production traffic goes to.
    #[must_use]
    pub fn production_side(self) -> bool {
        self.production_alternate > 500
    }
}

/// The choices ECS does not document, each with its default (docs/local.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchedulerSettings {
    /// Time between scheduler passes.
    pub pass_interval_ms: u64,
    /// Consecutive start failures before launches are throttled.
    pub throttle_after: u32,
    /// The first throttle delay; it doubles up to `throttle_max_ms`.
    pub throttle_base_ms: u64,
    pub throttle_max_ms: u64,
    /// Whether tasks that crash after reaching RUNNING count toward the circuit breaker.
    pub crashes_trip_breaker: bool,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            pass_interval_ms: 5_000,
            throttle_after: 3,
            throttle_base_ms: 30_000,
            throttle_max_ms: 15 * 60_000,
            crashes_trip_breaker: true,
        }
    }
}

/// A service event, `{id, createdAt, message}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceEvent {
    pub id: String,
    pub created_ms: u64,
    pub message: String,
}

/// What one scheduler pass did, for `ferry simulate` and the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub at_ms: u64,
    pub start: bool,
    pub deployment_id: String,
    pub count: u32,
}

/// The settings of a service the scheduler reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RolloutConfig {
    pub desired: u32,
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    pub grace_ms: u64,
    pub circuit_breaker: CircuitBreaker,
    /// Tasks the cluster has room for, across all services of this rollout; none = unbounded.
    pub capacity: Option<u32>,
    /// The load balancer's deregistration delay; 0 without one.
    pub drain_ms: u64,
    /// The target groups its tasks are registered with.
    #[serde(default)]
    pub target_groups: Vec<super::target_health::TargetLink>,
    #[serde(default)]
    pub strategy: Strategy,
    /// `bakeTimeInMinutes`: of a blue/green deployment, how long both revisions run once
    /// production traffic has moved.
    #[serde(default)]
    pub bake_ms: u64,
    /// `lifecycleHooks`: run at their stages of a blue/green deployment.
    #[serde(default)]
    pub hooks: Vec<Hook>,
    /// `alarms`: watched while a deployment is in progress (before its clean-up).
    #[serde(default)]
    pub alarms: Alarms,
    /// `earlySuccessCriteria` of a rolling deployment (since 2026-09).
    #[serde(default)]
    pub early_success: Option<EarlySuccess>,
}

/// `earlySuccessCriteria`: a rolling deployment succeeds once `healthy_percent` of the
/// desired count of its tasks are healthy — the old revision removed first (BLOCKING), or
/// after, in the background (`deferred`, DEFERRED) — and scales to the desired count on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EarlySuccess {
    pub healthy_percent: u32,
    pub deferred: bool,
}

impl RolloutConfig {
    /// `ceil(desired × min / 100)`: healthy tasks that must stay (§1.1).
    #[must_use]
    pub fn lower(&self) -> u32 {
        (self.desired * self.min_healthy_percent).div_ceil(100)
    }

    /// `floor(desired × max / 100)`: tasks that may be RUNNING or PENDING (§1.1).
    #[must_use]
    pub fn upper(&self) -> u32 {
        self.desired * self.max_percent / 100
    }
}

/// The scheduler's state for one service.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rollout {
    pub service: String,
    pub config: RolloutConfig,
    pub settings: SchedulerSettings,
    /// Newest first.
    pub deployments: Vec<Deployment>,
    pub tasks: Vec<Task>,
    /// Newest first, at most 100.
    pub events: Vec<ServiceEvent>,
    pub next_pass_ms: u64,
    /// Messages not repeated while their cause lasts.
    pub quiet: Vec<String>,
    /// Of a service with alternate target groups, where its listener rules send traffic
    /// (the region's state applies it to the rules after each advance).
    #[serde(default)]
    pub traffic: Option<Traffic>,
}

/// Events kept per service (§3.1).
pub const MAX_EVENTS: usize = 100;

impl Rollout {
    #[must_use]
    pub fn new(service: &str, config: RolloutConfig, settings: SchedulerSettings) -> Self {
        Self {
            service: service.to_owned(),
            config,
            settings,
            deployments: Vec::new(),
            tasks: Vec::new(),
            events: Vec::new(),
            next_pass_ms: 0,
            quiet: Vec::new(),
            traffic: None,
        }
    }

    /// Whether the service's tasks can go to one of two sides: a link with an alternate
    /// target group.
    fn has_sides(&self) -> bool {
        self.config.target_groups.iter().any(|l| l.side != super::target_health::Side::Both)
    }

    #[must_use]
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == DeploymentStatus::Primary)
    }

    /// Starts a deployment of `revision`; the current PRIMARY becomes ACTIVE. Returns its id.
    pub fn deploy(&mut self, revision: Revision, ids: &mut Ids, now: u64) -> String {
        // A first deployment has nothing to move traffic from: it starts plainly. One that
        // finds more than one revision running reconciles them first.
        let blue_green = self.config.strategy.is_staged() && !self.deployments.is_empty();
        let reconcile = self.deployments.iter().any(|d| d.status == DeploymentStatus::Active);
        let counts: Vec<u32> = self.deployments.iter().map(|d| self.running(&d.id)).collect();
        for (deployment, running) in self.deployments.iter_mut().zip(counts) {
            // What it keeps from now on: its RUNNING tasks (a failed one, none).
            let running = if deployment.rollout == RolloutState::Failed { 0 } else { running };
            if deployment.status == DeploymentStatus::Primary {
                deployment.status = DeploymentStatus::Active;
                deployment.updated_ms = now;
                deployment.keep = Some(running);
                // Replaced: its hooks still waiting are over.
                for run in &mut deployment.hooks {
                    if matches!(run.status.as_str(), "AWAITING_ACTION" | "IN_PROGRESS") {
                        "FAILED".clone_into(&mut run.status);
                    }
                }
            } else {
                deployment.keep = Some(deployment.keep.map_or(running, |keep| keep.min(running)));
            }
        }
        let id = ids.deployment_id();
        let mut deployment = Deployment::new(id.clone(), revision, now);
        if self.has_sides() {
            // The rules are left as they were set up until a deployment moves traffic.
            let production = self.traffic.is_some_and(Traffic::production_side);
            // A blue/green deployment starts on the side production traffic is not on.
            deployment.alternate = production != blue_green;
        }
        if blue_green {
            let stage = if reconcile {
                LifecycleStage::ReconcileService
            } else {
                LifecycleStage::PreScaleUp
            };
            deployment.stage = Some((stage, now));
            deployment.hook_config.clone_from(&self.config.hooks);
        }
        self.deployments.insert(0, deployment);
        self.quiet.clear();
        self.next_pass_ms = now;
        id
    }

    /// Tasks wanted running, of one deployment or of all.
    fn active(&self, deployment_id: Option<&str>) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.is_active() && deployment_id.is_none_or(|id| t.deployment_id == id))
            .count() as u32
    }

    /// RUNNING tasks of a deployment not asked to stop.
    fn running(&self, deployment_id: &str) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.is_active() && t.state == TaskState::Running)
            .filter(|t| t.deployment_id == deployment_id)
            .count() as u32
    }

    /// Tasks that count as healthy at `now`, of one deployment or of all.
    fn healthy(&self, deployment_id: Option<&str>, now: u64) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.is_healthy(now) && deployment_id.is_none_or(|id| t.deployment_id == id))
            .count() as u32
    }

    /// Running and pending tasks of a deployment (`runningCount`, `pendingCount`).
    #[must_use]
    pub fn counts(&self, deployment_id: &str) -> (u32, u32) {
        let of = |state| {
            self.tasks
                .iter()
                .filter(|t| t.deployment_id == deployment_id && t.state == state)
                .count() as u32
        };
        (of(TaskState::Running), of(TaskState::Pending))
    }

    /// The next moment anything happens by itself: a task timer or a scheduler pass.
    #[must_use]
    pub fn next_wakeup(&self) -> u64 {
        self.tasks
            .iter()
            .filter_map(Task::next_event)
            .chain([self.next_pass_ms])
            .min()
            .unwrap_or(self.next_pass_ms)
    }

    /// Brings the service up to `now`: task timers fire in time order, and scheduler passes
    /// run at their interval. Returns the actions of the passes.
    pub fn advance(&mut self, now: u64, launcher: &mut dyn Launcher, ids: &mut Ids) -> Vec<Action> {
        let mut actions = Vec::new();
        loop {
            if self.is_idle() {
                // Nothing can change by itself: skip the passes in between.
                self.next_pass_ms = self.next_pass_ms.max(now);
            }
            let next = self.next_wakeup();
            if next > now {
                break;
            }
            self.fire_timers(next);
            if self.next_pass_ms <= next {
                actions.extend(self.pass(next, launcher, ids));
                self.next_pass_ms = next + self.settings.pass_interval_ms;
            }
        }
        actions
    }

    /// Takes a container runtime's report on task `task_id` at `now` (`--runtime docker`);
    /// says whether the task is this service's.
    pub fn observe(&mut self, task_id: &str, report: RuntimeReport, now: u64) -> bool {
        let grace = self.config.grace_ms;
        let Some(task) = self.tasks.iter_mut().find(|t| t.id == task_id) else { return false };
        let changes = task.observe(report, now, grace);
        let deployment_id = task.deployment_id.clone();
        let running = changes.contains(&Change::BecameRunning);
        for change in changes {
            self.record(&deployment_id, task_id, &change, now);
        }
        if running {
            self.registered_events(&[(now, task_id.to_owned())]);
        }
        true
    }

    /// Completed, at its desired count, and no task timer left.
    fn is_idle(&self) -> bool {
        let settled = self.primary().is_none_or(|p| p.rollout == RolloutState::Completed);
        settled
            && self.tasks.iter().all(|t| t.next_event().is_none())
            && self.primary().is_none_or(|p| self.active(Some(&p.id)) == self.config.desired)
    }

    fn fire_timers(&mut self, now: u64) {
        let grace = self.config.grace_ms;
        let mut outcomes = Vec::new();
        for task in &mut self.tasks {
            for change in task.advance(now, grace) {
                outcomes.push((
                    task.deployment_id.clone(),
                    task.id.clone(),
                    change,
                    task.stopped_ms.unwrap_or(now),
                ));
            }
        }
        let registered: Vec<(u64, String)> = outcomes
            .iter()
            .filter(|(_, _, change, _)| *change == Change::BecameRunning)
            .map(|(_, task_id, _, at)| (*at, task_id.clone()))
            .collect();
        for (deployment_id, task_id, change, at) in outcomes {
            self.record(&deployment_id, &task_id, &change, at);
        }
        self.registered_events(&registered);
    }

    /// ECS's "registered N targets in (target-group …)" for tasks that reached RUNNING,
    /// one event per moment and target group.
    fn registered_events(&mut self, running: &[(u64, String)]) {
        let mut counts: Vec<(u64, String, u32)> = Vec::new();
        for (at, task_id) in running {
            let Some(task) = self.tasks.iter().find(|t| &t.id == task_id) else { continue };
            for target in &task.targets {
                match counts.iter_mut().find(|(t, g, _)| t == at && *g == target.group_arn) {
                    Some((_, _, n)) => *n += 1,
                    None => counts.push((*at, target.group_arn.clone(), 1)),
                }
            }
        }
        for (at, group, count) in counts {
            let message = format!(
                "(service {}) registered {count} targets in (target-group {group})",
                self.service
            );
            self.event(message, at);
        }
    }

    /// ECS's events for running tasks it takes out of their target groups: "has begun
    /// draining connections on N tasks." and "deregistered N targets in (target-group …)".
    fn draining_events(&mut self, task_ids: &[String], now: u64) {
        let draining: Vec<&Task> = self
            .tasks
            .iter()
            .filter(|t| task_ids.contains(&t.id) && t.state == TaskState::Deactivating)
            .filter(|t| !t.targets.is_empty())
            .collect();
        if draining.is_empty() {
            return;
        }
        let mut groups: Vec<(String, u32)> = Vec::new();
        for target in draining.iter().flat_map(|t| &t.targets) {
            match groups.iter_mut().find(|(g, _)| *g == target.group_arn) {
                Some((_, n)) => *n += 1,
                None => groups.push((target.group_arn.clone(), 1)),
            }
        }
        let count = draining.len();
        self.event(
            format!("(service {}) has begun draining connections on {count} tasks.", self.service),
            now,
        );
        for (group, count) in groups {
            self.event(
                format!(
                    "(service {}) deregistered {count} targets in (target-group {group})",
                    self.service
                ),
                now,
            );
        }
    }

    /// Accounts one task change against its deployment.
    fn record(&mut self, deployment_id: &str, task_id: &str, change: &Change, at: u64) {
        let settings = self.settings;
        let reset = self.config.circuit_breaker.reset_on_healthy_task;
        let Some(deployment) = self.deployments.iter_mut().find(|d| d.id == deployment_id) else {
            return;
        };
        match change {
            Change::BecameRunning => {}
            Change::TargetUnhealthy { index } => {
                let task = self.tasks.iter().find(|t| t.id == task_id);
                let target = task.and_then(|t| t.targets.get(*index));
                let failure = target
                    .and_then(|t| t.fate.as_ref())
                    .map(|f| f.failure.event_reason().to_owned())
                    .unwrap_or_default();
                if let Some(target) = target {
                    let message = format!(
                        "(service {}) (task {task_id}) (port {}) is unhealthy in (target-group {}) \
                         due to (reason {failure}).",
                        self.service, target.port, target.group_arn
                    );
                    self.event(message, at);
                }
            }
            Change::BecameHealthy => {
                deployment.start_failures = 0;
                if reset {
                    deployment.breaker_count = 0;
                }
            }
            Change::Stopped { failure, failed_to_start } => {
                if !failure {
                    return;
                }
                let counts = *failed_to_start
                    || settings.crashes_trip_breaker
                    || self.tasks.iter().any(|t| {
                        t.id == task_id
                            && t.stop
                                .as_ref()
                                .is_some_and(|s| s.code == StopCode::ServiceSchedulerInitiated)
                    });
                deployment.failed_tasks += 1;
                deployment.updated_ms = at;
                if counts {
                    deployment.breaker_count += 1;
                }
                if *failed_to_start {
                    // A replacement that could not start is not tried again and again.
                    if deployment.status != DeploymentStatus::Primary {
                        deployment.keep = deployment.keep.map(|k| k.saturating_sub(1));
                    }
                    deployment.start_failures += 1;
                    if deployment.start_failures >= settings.throttle_after {
                        let doublings =
                            (deployment.start_failures - settings.throttle_after).min(16);
                        let delay =
                            (settings.throttle_base_ms << doublings).min(settings.throttle_max_ms);
                        deployment.throttled_until_ms = at + delay;
                        let message = format!(
                            "(service {}) is unable to consistently start tasks successfully.",
                            self.service
                        );
                        self.event_once(message, at);
                    }
                }
            }
        }
    }

    /// Whether the rollout can make no more progress by itself: the PRIMARY completed,
    /// failed without a rollback, or sits on the "unable to stop or start" event.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        match self.primary() {
            None => true,
            Some(primary) if primary.rollout != RolloutState::InProgress => {
                !self.tasks.iter().any(|t| {
                    matches!(
                        t.state,
                        TaskState::Pending | TaskState::Deactivating | TaskState::Stopping
                    )
                })
            }
            Some(_) => self.is_stuck(),
        }
    }

    /// Whether the "unable to stop or start tasks" event stands.
    #[must_use]
    pub fn is_stuck(&self) -> bool {
        self.quiet.iter().any(|m| m.contains("was unable to stop or start tasks"))
    }

    fn event(&mut self, message: String, now: u64) {
        let id =
            format!("{:08x}-{:04x}-4000-8000-{:012x}", now / 1000, self.events.len() % 0xffff, now);
        self.events.insert(0, ServiceEvent { id, created_ms: now, message });
        self.events.truncate(MAX_EVENTS);
    }

    /// An event that is not repeated while its cause lasts (a new deployment clears it).
    fn event_once(&mut self, message: String, now: u64) {
        if !self.quiet.contains(&message) {
            self.quiet.push(message.clone());
            self.event(message, now);
        }
    }
}
