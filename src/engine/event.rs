//! The event stream of a run. Every reporter (human, NDJSON, GitHub) reads these and only
//! these; the NDJSON form is documented in docs/events.md and stable.

use serde::{Deserialize, Serialize};

/// How a run ended (docs/correctness.md "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Deployed and verified, or nothing to do: exit 0.
    Success,
    /// Failed, rolled back and verified on the previous revision: exit 1.
    RolledBack,
    /// Invalid input; nothing was changed: exit 2.
    InvalidInput,
    /// Failed and not verified on a good revision: a person must look; exit 3.
    Failed,
    /// Interrupted: exit 130.
    Interrupted,
}

impl Verdict {
    #[must_use]
    pub const fn exit_code(self) -> u8 {
        match self {
            Verdict::Success => 0,
            Verdict::RolledBack => 1,
            Verdict::InvalidInput => 2,
            Verdict::Failed => 3,
            Verdict::Interrupted => 130,
        }
    }
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        environment: String,
        target: String,
        steps: usize,
    },
    StepStarted {
        step: String,
        kind: String,
    },
    StepFinished {
        step: String,
        kind: String,
        outcome: String,
    },
    /// A line of a build's output, as it comes; `instruction` marks the lines that start a
    /// Dockerfile step (`Step 2/4 : COPY …`, `#3 [2/4] COPY …`).
    BuildOutput {
        step: String,
        line: String,
        instruction: bool,
    },
    /// One attempt of a health gate.
    GateAttempt {
        service: String,
        gate: String,
        attempt: u32,
        ok: bool,
        message: String,
    },
    /// A line a gate script logged.
    GateLog {
        gate: String,
        level: crate::gates::host::LogLevel,
        text: String,
    },
    /// A gate script's error, as a diagnostic rendered like `ferry check`'s (plain text,
    /// with the script's name, line and column).
    GateError {
        gate: String,
        code: String,
        report: String,
    },
    /// A gate passed (`pass` attempts in a row).
    GatePassed {
        service: String,
        gate: String,
    },
    /// A gate failed for good; the deployment fails.
    GateFailed {
        service: String,
        gate: String,
        reason: String,
    },
    /// The rollout is done and every gate passed: `bake` begins.
    Baking {
        service: String,
        bake_ms: u64,
    },
    ImageBuilt {
        step: String,
        image_id: String,
        builder: String,
    },
    ImagePushed {
        step: String,
        repository: String,
        tags: Vec<String>,
        digest: String,
    },
    RevisionRegistered {
        step: String,
        arn: String,
    },
    RevisionReused {
        step: String,
        arn: String,
    },
    ServiceCreated {
        service: String,
        cluster: String,
    },
    DeploymentStarted {
        service: String,
        deployment_id: String,
        task_definition: String,
        previous_task_definition: Option<String>,
    },
    NothingToDeploy {
        service: String,
        task_definition: String,
    },
    /// UpdateService changed settings only (desired count, min/max, grace, breaker): no
    /// deployment starts; `changes` as `desired: 3 → 1`.
    SettingsUpdated {
        service: String,
        changes: Vec<String>,
    },
    /// A deployment of the very revision this run deploys was already in progress (an
    /// earlier run was interrupted): it is watched, not started again.
    DeploymentResumed {
        service: String,
        deployment_id: String,
        task_definition: String,
    },
    /// After a settings change: the service runs its desired count, settled.
    Scaled {
        service: String,
        running: i32,
        desired: i32,
    },
    WaitingForLock {
        service: String,
        deployments: usize,
    },
    Progress {
        service: String,
        deployment_id: String,
        desired: i32,
        running: i32,
        pending: i32,
        failed: i32,
        rollout_state: Option<String>,
        /// Tasks of the other deployments still running, and of those the ones ECS is
        /// stopping.
        #[serde(default)]
        old: i32,
        #[serde(default)]
        draining: i32,
        /// Since `verify` started, and until its timeout.
        #[serde(default)]
        elapsed_ms: u64,
        #[serde(default)]
        left_ms: u64,
        /// The wait in words: "waiting for 3 old tasks to drain".
        #[serde(default)]
        waiting: String,
    },
    ServiceEvent {
        service: String,
        message: String,
    },
    TaskStopped {
        service: String,
        task: String,
        stop_code: String,
        reason: String,
        exit_codes: Vec<(String, Option<i32>)>,
        /// Each container's stop in words (an OOM kill as such), for people.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        containers: Vec<String>,
    },
    /// A `probe` gate at the verdict: its requests, failures and latencies (ms).
    ProbeFinished {
        service: String,
        gate: String,
        sent: u64,
        failed: u64,
        p50_ms: u64,
        p99_ms: u64,
        max_ms: u64,
    },
    /// A load balancer target of ours is not healthy (once per target, state and reason).
    TargetNotHealthy {
        service: String,
        target_group: String,
        task: Option<String>,
        target: String,
        state: String,
        reason: Option<String>,
        description: Option<String>,
    },
    /// Our blue/green deployment reached a lifecycle stage, or its status changed
    /// (docs/strategies.md).
    LifecycleStage {
        service: String,
        deployment_id: String,
        stage: Option<String>,
        status: String,
    },
    /// ferry continued its PAUSE hook (`CONTINUE`: the gates on test traffic passed) or
    /// rolled the deployment back with it (`ROLLBACK`).
    HookContinued {
        service: String,
        deployment_id: String,
        hook_id: String,
        action: String,
    },
    Serving {
        service: String,
        deployment_id: String,
    },
    Completed {
        service: String,
        deployment_id: String,
    },
    DeploymentFailed {
        service: String,
        deployment_id: String,
        reason: String,
    },
    RollbackStarted {
        service: String,
        to_task_definition: Option<String>,
        how: String,
    },
    RollbackVerified {
        service: String,
        task_definition: String,
    },
    RollbackFailed {
        service: String,
        reason: String,
    },
    Deregistered {
        arn: String,
    },
    Warning {
        message: String,
    },
    RunFinished {
        verdict: Verdict,
        exit_code: u8,
        reason: String,
    },
}

impl Event {
    /// Its name in the NDJSON stream (`gate_log`).
    #[must_use]
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_default()
    }

    /// The event with every sensitive value in it printed as `(sensitive)`.
    #[must_use]
    pub fn masked(&self, mask: &crate::sensitive::Mask) -> Event {
        if mask.is_empty() {
            return self.clone();
        }
        let withheld = || Event::Warning {
            message: format!("a `{}` event held a sensitive value and is not shown", self.name()),
        };
        let Ok(mut value) = serde_json::to_value(self) else { return withheld() };
        if let Some(members) = value.as_object_mut() {
            for (name, member) in members.iter_mut() {
                if name != "event" {
                    mask.json(member);
                }
            }
        }
        // Should a masked word no longer read back (a value such as `info`), the event is
        // withheld rather than shown unmasked.
        serde_json::from_value(value).unwrap_or_else(|_| withheld())
    }
}

/// Where events go: reporters implement it.
pub trait Sink: Send {
    fn event(&mut self, event: &Event);
}

/// Collects events (tests, and the summary at the end of a run).
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
}

impl Sink for Recorder {
    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
}
