//! The health of a load balancer target over time, as Elastic Load Balancing decides it
//! (docs/traffic.md): once registered, the target is checked every interval; it must pass
//! one check to be `healthy`, and `unhealthy_threshold` failures in a row make it
//! `unhealthy`, after which `healthy_threshold` passes in a row make it healthy again.
//! Deregistered, it is `draining` for the target group's deregistration delay, then gone.
//! Pure: the scheduler and `DescribeTargetHealth` read the same function, so what ECS
//! counts as healthy and what the load balancer says are one fact.

/// How a target group checks its targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HealthTiming {
    pub interval_ms: u64,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
}

impl Default for HealthTiming {
    /// An Application Load Balancer target group's defaults: 30 s, 5 and 2.
    fn default() -> Self {
        Self { interval_ms: 30_000, healthy_threshold: 5, unhealthy_threshold: 2 }
    }
}

/// Why a target fails its checks: one of ELB's reason codes, with its description.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub reason: String,
    pub description: String,
}

impl Failure {
    /// The failure ELB reports for `reason`: `Target.ResponseCodeMismatch` (the app
    /// answered 503), `Target.Timeout` or `Target.FailedHealthChecks`.
    #[must_use]
    pub fn of(reason: &str) -> Self {
        let description = match reason {
            "Target.Timeout" => "Request timed out",
            "Target.FailedHealthChecks" => "Health checks failed",
            _ => "Health checks failed with these codes: [503]",
        };
        let reason = match reason {
            "Target.Timeout" | "Target.FailedHealthChecks" => reason,
            _ => "Target.ResponseCodeMismatch",
        };
        Self { reason: reason.to_owned(), description: description.to_owned() }
    }

    /// The app answered `code`, which the group's matcher does not accept.
    #[must_use]
    pub fn mismatch(code: u16) -> Self {
        Self {
            reason: "Target.ResponseCodeMismatch".to_owned(),
            description: format!("Health checks failed with these codes: [{code}]"),
        }
    }

    /// The `(reason …)` of ECS's "is unhealthy in (target-group …)" event.
    #[must_use]
    pub fn event_reason(&self) -> &str {
        &self.description
    }
}

/// When a registered target turns healthy and unhealthy, from when its app answers its
/// checks (`None`: never).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fate {
    pub registered_ms: u64,
    /// From here on it is healthy.
    pub healthy_ms: Option<u64>,
    /// From here (until `healthy_ms`, if later) it is unhealthy.
    pub unhealthy_ms: Option<u64>,
    pub failure: Failure,
}

impl Fate {
    /// The checks of a target registered at `registered_ms` whose app answers them from
    /// `answers_after_ms` later on (`None`: never), each `timing.interval_ms` apart, the
    /// first one interval after registration.
    #[must_use]
    pub fn of(
        registered_ms: u64,
        timing: HealthTiming,
        answers_after_ms: Option<u64>,
        failure: Failure,
    ) -> Self {
        let interval = timing.interval_ms.max(1);
        let unhealthy_at = registered_ms + u64::from(timing.unhealthy_threshold) * interval;
        let (healthy_ms, unhealthy_ms) = match answers_after_ms {
            None => (None, Some(unhealthy_at)),
            Some(after) => {
                // The first check that passes, counted from 1.
                let first_pass = after.div_ceil(interval).max(1);
                let failed_before = first_pass - 1;
                if failed_before >= u64::from(timing.unhealthy_threshold) {
                    let healthy = registered_ms
                        + (failed_before + u64::from(timing.healthy_threshold)) * interval;
                    (Some(healthy), Some(unhealthy_at))
                } else {
                    (Some(registered_ms + first_pass * interval), None)
                }
            }
        };
        Self { registered_ms, healthy_ms, unhealthy_ms, failure }
    }

    /// Healthy at `now`.
    #[must_use]
    pub fn is_healthy(&self, now: u64) -> bool {
        self.healthy_ms.is_some_and(|at| at <= now)
    }

    /// Its state while registered, at `now`.
    #[must_use]
    pub fn state(&self, now: u64) -> TargetState {
        if self.is_healthy(now) {
            TargetState::Healthy
        } else if self.unhealthy_ms.is_some_and(|at| at <= now) {
            TargetState::Unhealthy(self.failure.clone())
        } else {
            TargetState::Initial
        }
    }
}

/// A target group a service's tasks are registered with (`loadBalancers`), as the
/// scheduler reads it: refreshed from the target group on every pass.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetLink {
    pub group_arn: String,
    pub container: String,
    pub container_port: u16,
    /// `ip` (awsvpc tasks) or `instance`.
    pub target_type: String,
    pub timing: HealthTiming,
    /// `deregistration_delay.timeout_seconds`.
    pub drain_ms: u64,
    /// Which tasks register in it: of a link with an alternate target group (blue/green),
    /// the tasks of one side only.
    #[serde(default)]
    pub side: Side,
}

/// The tasks a target group takes, for a service with alternate target groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// No alternate group: every task.
    #[default]
    Both,
    /// The service's own group (`targetGroupArn`): tasks of deployments not `alternate`.
    Primary,
    /// `alternateTargetGroupArn`: tasks of `alternate` deployments.
    Alternate,
}

impl Side {
    /// Whether a task of a deployment on the alternate side (or not) registers here.
    #[must_use]
    pub fn takes(self, alternate: bool) -> bool {
        match self {
            Side::Both => true,
            Side::Primary => !alternate,
            Side::Alternate => alternate,
        }
    }
}

/// One target of a task: registered when the task is RUNNING, checked from then on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskTarget {
    pub group_arn: String,
    /// The container the service's link names (its port is published by that container;
    /// empty in state files from before it was kept: any container's).
    #[serde(default)]
    pub container: String,
    /// The task's address (`ip`) or its instance (`instance`).
    pub id: String,
    pub port: u16,
    pub timing: HealthTiming,
    /// Set when the task reaches RUNNING.
    pub fate: Option<Fate>,
}

/// How a virtual task's app answers load balancer health checks (the fault file's
/// `lb_healthy_after`, `lb_never_healthy` and `lb_reason`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answers {
    /// From RUNNING until its app answers checks; `None`: never.
    pub after_ms: Option<u64>,
    /// The reason code of failed checks.
    pub reason: String,
}

impl Default for Answers {
    /// An app that answers its checks as soon as it runs.
    fn default() -> Self {
        Self { after_ms: Some(0), reason: "Target.ResponseCodeMismatch".to_owned() }
    }
}

/// A target's `TargetHealth`, as DescribeTargetHealth reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy(Failure),
    Draining,
    /// Registered in a target group no load balancer uses.
    NotInUse,
    NotRegistered,
}

impl TargetState {
    /// `{State, Reason, Description}` as the service model names them.
    #[must_use]
    pub fn answer(&self) -> serde_json::Value {
        let (state, reason, description) = match self {
            TargetState::Initial => (
                "initial",
                Some("Elb.InitialHealthChecking"),
                Some("Initial health checks in progress".to_owned()),
            ),
            TargetState::Healthy => ("healthy", None, None),
            TargetState::Unhealthy(failure) => {
                ("unhealthy", Some(failure.reason.as_str()), Some(failure.description.clone()))
            }
            TargetState::Draining => (
                "draining",
                Some("Target.DeregistrationInProgress"),
                Some("Target deregistration is in progress".to_owned()),
            ),
            TargetState::NotInUse => (
                "unused",
                Some("Target.NotInUse"),
                Some(
                    "Target group is not configured to receive traffic from the load balancer"
                        .to_owned(),
                ),
            ),
            TargetState::NotRegistered => (
                "unused",
                Some("Target.NotRegistered"),
                Some("Target is not registered to the target group".to_owned()),
            ),
        };
        serde_json::json!({"State": state, "Reason": reason, "Description": description})
    }

    /// The state's name (`healthy`, `draining`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy(_) => "unhealthy",
            TargetState::Draining => "draining",
            TargetState::NotInUse | TargetState::NotRegistered => "unused",
        }
    }
}

/// A deterministic private address for a task's `ip` target (`10.x.y.z`).
#[must_use]
pub fn task_ip(task_id: &str) -> String {
    let hash =
        task_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let [_, a, b, c] = hash.to_be_bytes();
    format!("10.{}.{}.{}", a % 255, b, c.max(4))
}

/// The instance an EC2 task's `instance` target names.
#[must_use]
pub fn task_instance(task_id: &str) -> String {
    format!("i-0{}", &task_id[..16.min(task_id.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALB: HealthTiming =
        HealthTiming { interval_ms: 30_000, healthy_threshold: 5, unhealthy_threshold: 2 };

    fn fate(answers_after: Option<u64>) -> Fate {
        Fate::of(1_000, ALB, answers_after, Failure::of("Target.ResponseCodeMismatch"))
    }

    #[test]
    fn a_target_that_answers_at_once_is_healthy_after_one_check() {
        let fate = fate(Some(0));
        assert_eq!(fate.state(30_999), TargetState::Initial);
        assert_eq!(fate.state(31_000), TargetState::Healthy);
        assert_eq!(fate.unhealthy_ms, None);
    }

    #[test]
    fn a_slow_app_passes_the_first_check_after_it_answers() {
        // Answers 45 s in: check 1 (30 s) fails, check 2 (60 s) passes — one failure is
        // below the unhealthy threshold, so it was initial throughout.
        let fate = fate(Some(45_000));
        assert_eq!((fate.healthy_ms, fate.unhealthy_ms), (Some(61_000), None));
        assert_eq!(fate.state(60_000), TargetState::Initial);
    }

    #[test]
    fn an_app_slower_than_the_unhealthy_threshold_is_unhealthy_then_needs_the_healthy_one() {
        // Answers 70 s in: checks at 30 and 60 s fail (unhealthy at 60 s); from check 3
        // (90 s) it passes, and five passes in a row (check 7, 210 s) make it healthy.
        let fate = fate(Some(70_000));
        assert_eq!((fate.unhealthy_ms, fate.healthy_ms), (Some(61_000), Some(211_000)));
        assert!(matches!(fate.state(61_000), TargetState::Unhealthy(_)));
        assert_eq!(fate.state(211_000), TargetState::Healthy);
    }

    #[test]
    fn an_app_that_never_answers_is_unhealthy_with_its_reason() {
        let fate = Fate::of(0, ALB, None, Failure::of("Target.Timeout"));
        let TargetState::Unhealthy(failure) = fate.state(60_000) else { panic!("unhealthy") };
        assert_eq!(
            (failure.reason.as_str(), failure.event_reason()),
            ("Target.Timeout", "Request timed out")
        );
        assert_eq!(fate.state(59_999), TargetState::Initial);
    }

    #[test]
    fn states_answer_in_the_service_models_words() {
        assert_eq!(TargetState::Draining.answer()["Reason"], "Target.DeregistrationInProgress");
        assert_eq!(TargetState::Healthy.answer()["State"], "healthy");
        assert!(TargetState::Healthy.answer()["Reason"].is_null());
        assert_eq!(TargetState::NotRegistered.answer()["State"], "unused");
    }

    #[test]
    fn task_addresses_are_private_and_stable() {
        let ip = task_ip("0123456789abcdef0123456789abcdef");
        assert_eq!(ip, task_ip("0123456789abcdef0123456789abcdef"));
        assert!(ip.starts_with("10.") && ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
    }
}
