//! A deployment of a service: one task-definition revision rolling out, with ECS's
//! `status`, `rolloutState` and the circuit breaker's failure count.

/// `Deployment.status`: PRIMARY is the newest; ACTIVE ones still have tasks to replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeploymentStatus {
    Primary,
    Active,
    Inactive,
}

impl DeploymentStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Primary => "PRIMARY",
            DeploymentStatus::Active => "ACTIVE",
            DeploymentStatus::Inactive => "INACTIVE",
        }
    }
}

/// `Deployment.rolloutState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RolloutState {
    InProgress,
    Completed,
    Failed,
}

impl RolloutState {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
        }
    }
}

/// `ServiceDeployment.lifecycleStage`: where a blue/green deployment is (docs/strategies.md),
/// in ECS's order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LifecycleStage {
    ReconcileService,
    PreScaleUp,
    ScaleUp,
    PostScaleUp,
    TestTrafficShift,
    PostTestTrafficShift,
    ProductionTrafficShift,
    PostProductionTrafficShift,
    BakeTime,
    CleanUp,
}

impl LifecycleStage {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::ReconcileService => "RECONCILE_SERVICE",
            LifecycleStage::PreScaleUp => "PRE_SCALE_UP",
            LifecycleStage::ScaleUp => "SCALE_UP",
            LifecycleStage::PostScaleUp => "POST_SCALE_UP",
            LifecycleStage::TestTrafficShift => "TEST_TRAFFIC_SHIFT",
            LifecycleStage::PostTestTrafficShift => "POST_TEST_TRAFFIC_SHIFT",
            LifecycleStage::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            LifecycleStage::PostProductionTrafficShift => "POST_PRODUCTION_TRAFFIC_SHIFT",
            LifecycleStage::BakeTime => "BAKE_TIME",
            LifecycleStage::CleanUp => "CLEAN_UP",
        }
    }
}

/// What the scheduler needs to know of a task-definition revision.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revision {
    pub arn: String,
    /// The image of each container, for the fault file.
    pub images: Vec<String>,
    /// Whether an essential container has a health check.
    pub has_health_check: bool,
    /// The longest container stop timeout (default 30 s).
    pub stop_timeout_ms: u64,
}

/// One deployment.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// `ecs-svc/` and 19 digits.
    pub id: String,
    pub status: DeploymentStatus,
    pub revision: Revision,
    pub rollout: RolloutState,
    pub reason: String,
    /// Failed tasks, as ECS shows them (`failedTasks`).
    pub failed_tasks: u32,
    /// The circuit breaker's count, reset when a task turns healthy.
    pub breaker_count: u32,
    /// Consecutive tasks that failed to reach RUNNING, for the launch throttle.
    pub start_failures: u32,
    /// No launches before this moment (the throttle of §1.6).
    pub throttled_until_ms: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// When it completed, for "the last COMPLETED deployment".
    pub completed_ms: Option<u64>,
    /// The rollback this deployment is, if any: the id of the deployment that failed.
    pub rolled_back_from: Option<String>,
    /// Of a deployment being replaced: how many of its tasks the scheduler still keeps —
    /// the count it had when replaced, less the ones the scheduler stopped. A task of it
    /// that dies mid-rollout is replaced with its own revision (ECS since 2025-11).
    #[serde(default)]
    pub keep: Option<u32>,
    /// Failed by `StopServiceDeployment`, not by the circuit breaker.
    #[serde(default)]
    pub stopped_by_request: bool,
    /// Of a rollback: how it began (its own `reason` and `updated_ms` move on).
    #[serde(default)]
    pub rollback: Option<RollbackOrigin>,
    /// Of a blue/green deployment in progress: its lifecycle stage, and since when.
    #[serde(default)]
    pub stage: Option<(LifecycleStage, u64)>,
    /// Whether its tasks register in the alternate target groups
    /// (`advancedConfiguration.alternateTargetGroupArn`) rather than the service's own.
    #[serde(default)]
    pub alternate: bool,
    /// The lifecycle hooks run so far, in order (`lifecycleHookDetails`).
    #[serde(default)]
    pub hooks: Vec<HookRun>,
    /// The service's lifecycle hooks when it began: a later change does not reach it.
    #[serde(default)]
    pub hook_config: Vec<super::scheduler::Hook>,
    /// The configured alarms that went into ALARM during it (`triggeredAlarmNames`).
    #[serde(default)]
    pub triggered_alarms: Vec<String>,
}

/// One run of a lifecycle hook at a stage.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookRun {
    /// `ecs-pause-…` or `ecs-lambda-…`.
    pub id: String,
    pub target_type: String,
    pub target_arn: Option<String>,
    /// The lifecycle stage it holds (a hook at PRE_PRODUCTION_TRAFFIC_SHIFT holds
    /// POST_TEST_TRAFFIC_SHIFT: the service model has no such lifecycle stage).
    pub stage: LifecycleStage,
    /// When that stage began (a linear or canary production traffic shift begins the stage
    /// again at each step, and its hooks run again).
    #[serde(default)]
    pub stage_since_ms: u64,
    /// The hook stage it was configured for.
    pub hook_stage: String,
    /// `AWAITING_ACTION`, `IN_PROGRESS`, `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub status: String,
    pub expires_ms: u64,
    pub timeout_rolls_back: bool,
    /// A Lambda hook's answer and when it comes.
    pub answer: Option<(bool, u64)>,
}

/// How a rollback began, kept with the deployment rolled back to: the failed one may be
/// gone before anyone asks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RollbackOrigin {
    pub reason: String,
    pub started_ms: u64,
    /// By `StopServiceDeployment`, not by the circuit breaker.
    pub requested: bool,
    /// The failed deployment's circuit-breaker count when it failed.
    pub failures: u32,
}

impl Deployment {
    /// Whether it is a blue/green deployment in CLEAN_UP: the old revision is stopping,
    /// and no rollback can move traffic back to it.
    #[must_use]
    pub fn cleaning_up(&self) -> bool {
        self.stage.is_some_and(|(stage, _)| stage == LifecycleStage::CleanUp)
            && self.rollout == RolloutState::InProgress
    }

    #[must_use]
    pub fn new(id: String, revision: Revision, now: u64) -> Self {
        let reason = format!("ECS deployment {id} in progress.");
        Self {
            id,
            status: DeploymentStatus::Primary,
            revision,
            rollout: RolloutState::InProgress,
            reason,
            failed_tasks: 0,
            breaker_count: 0,
            start_failures: 0,
            throttled_until_ms: 0,
            created_ms: now,
            updated_ms: now,
            completed_ms: None,
            rolled_back_from: None,
            keep: None,
            stopped_by_request: false,
            rollback: None,
            stage: None,
            alternate: false,
            hooks: Vec::new(),
            hook_config: Vec::new(),
            triggered_alarms: Vec::new(),
        }
    }
}
