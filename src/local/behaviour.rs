//! How virtual tasks behave, and the fault file that says so per image: start time, time
//! to healthy, never healthy, crash after a while with an exit code, fail to start with a
//! reason; plus faults of the API itself (throttling, latency, server errors).
//! The format is documented in docs/local.md.

use std::path::Path;

use serde::Deserialize;

use super::local_error::{FaultError, LocalError};
use crate::syntax::parse_duration;

/// What happens to a task once it is launched.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// Runs and becomes healthy.
    Healthy,
    /// Runs but its container health check never passes.
    NeverHealthy,
    /// Runs, then its essential container exits.
    Crash { after_ms: u64, exit_code: i32 },
    /// Never reaches RUNNING (`CannotPullContainerError: …`).
    FailToStart { reason: String },
}

/// The timing and fate of one virtual task.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskBehaviour {
    /// From launch to RUNNING (or to the failure of a task that cannot start).
    pub start_ms: u64,
    /// With a container health check: from RUNNING to HEALTHY.
    pub healthy_after_ms: u64,
    /// With a container health check that never passes: from RUNNING to UNHEALTHY.
    pub unhealthy_after_ms: u64,
    /// From SIGTERM to exit (capped by the container's stop timeout).
    pub stop_ms: u64,
    /// Whether the container has a health check, when the fault file says so; otherwise
    /// the task definition decides.
    pub health_check: Option<bool>,
    pub outcome: Outcome,
    /// Driven by a container runtime's reports instead of these timers (`--runtime docker`).
    pub external: bool,
    /// How its app answers load balancer health checks.
    #[serde(default)]
    pub answers: crate::local::target_health::Answers,
    /// Its crash is the kernel's OOM kill: exit 137, the container's reason
    /// "OutOfMemoryError: Container killed due to memory usage".
    #[serde(default)]
    pub out_of_memory: bool,
}

impl Default for TaskBehaviour {
    /// A task that starts in 30 s, passes its health check 10 s later and stops in 2 s.
    fn default() -> Self {
        Self {
            start_ms: 30_000,
            healthy_after_ms: 10_000,
            unhealthy_after_ms: 90_000,
            stop_ms: 2_000,
            health_check: None,
            outcome: Outcome::Healthy,
            external: false,
            answers: crate::local::target_health::Answers::default(),
            out_of_memory: false,
        }
    }
}

/// A fault file: per-image task behaviour, API faults and scheduler settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// Rules tried in order; the first whose `match` fits the image applies.
    #[serde(default)]
    pub images: Vec<ImageRule>,
    #[serde(default)]
    pub api: ApiFaults,
    /// The scheduler's choices where ECS leaves them open.
    #[serde(default)]
    pub scheduler: SchedulerOverrides,
    /// What each Lambda lifecycle hook answers (no Lambda runs here): the first rule
    /// whose `match` fits the hook's ARN; without one, SUCCEEDED after 30 s.
    #[serde(default)]
    pub hooks: Vec<HookRule>,
    /// CloudWatch alarms (no CloudWatch here): an alarm is in ALARM while a deployment of
    /// an image its rule matches is the service's current one, from `after` its start.
    #[serde(default)]
    pub alarms: Vec<AlarmRule>,
}

/// A CloudWatch alarm's state: `name` is in ALARM while the current deployment runs an
/// image `match` fits (default: any), from `after` (default 0 s) since it began.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmRule {
    pub name: String,
    #[serde(rename = "match", default)]
    pub pattern: Option<String>,
    pub after: Option<DurationText>,
}

/// A Lambda lifecycle hook's answer: `SUCCEEDED` or `FAILED`, after a while (its
/// `IN_PROGRESS` answers with `callBackDelay` until then).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookRule {
    #[serde(rename = "match")]
    pub pattern: String,
    pub status: HookAnswer,
    pub after: Option<DurationText>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum HookAnswer {
    #[serde(rename = "SUCCEEDED")]
    Succeeded,
    #[serde(rename = "FAILED")]
    Failed,
}

impl FaultFile {
    /// The alarms in ALARM for a deployment of `images` that began `age_ms` ago.
    #[must_use]
    pub fn alarms(&self, images: &[String], age_ms: u64) -> Vec<String> {
        self.alarms
            .iter()
            .filter(|rule| rule.after.map_or(0, |d| d.0) <= age_ms)
            .filter(|rule| {
                rule.pattern
                    .as_deref()
                    .is_none_or(|pattern| images.iter().any(|image| glob(pattern, image)))
            })
            .map(|rule| rule.name.clone())
            .collect()
    }

    /// What the Lambda hook `arn` answers, and after how long.
    #[must_use]
    pub fn hook(&self, arn: &str) -> (HookAnswer, u64) {
        self.hooks
            .iter()
            .find(|rule| glob(&rule.pattern, arn))
            .map_or((HookAnswer::Succeeded, 30_000), |rule| {
                (rule.status, rule.after.map_or(30_000, |d| d.0))
            })
    }
}

/// Settings of the scheduler that ECS does not document (docs/local.md).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerOverrides {
    pub pass_interval: Option<DurationText>,
    pub throttle_after: Option<u32>,
    pub throttle_base: Option<DurationText>,
    pub throttle_max: Option<DurationText>,
    pub crashes_trip_breaker: Option<bool>,
}

impl SchedulerOverrides {
    /// `defaults` with these overrides applied.
    #[must_use]
    pub fn apply(
        &self,
        defaults: super::scheduler::SchedulerSettings,
    ) -> super::scheduler::SchedulerSettings {
        super::scheduler::SchedulerSettings {
            pass_interval_ms: self.pass_interval.map_or(defaults.pass_interval_ms, |d| d.0.max(1)),
            throttle_after: self.throttle_after.unwrap_or(defaults.throttle_after).max(1),
            throttle_base_ms: self.throttle_base.map_or(defaults.throttle_base_ms, |d| d.0),
            throttle_max_ms: self.throttle_max.map_or(defaults.throttle_max_ms, |d| d.0),
            crashes_trip_breaker: self
                .crashes_trip_breaker
                .unwrap_or(defaults.crashes_trip_breaker),
        }
    }
}

/// How tasks of matching images behave.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    /// A pattern over the image reference; `*` matches any run of characters.
    #[serde(rename = "match")]
    pub pattern: String,
    pub start: Option<DurationText>,
    pub healthy_after: Option<DurationText>,
    #[serde(default)]
    pub never_healthy: bool,
    pub unhealthy_after: Option<DurationText>,
    pub crash_after: Option<DurationText>,
    pub exit_code: Option<i32>,
    /// With `crash_after`: killed for its memory limit (exit 137 and ECS's OOM reason).
    #[serde(default)]
    pub out_of_memory: bool,
    pub fail_to_start: Option<String>,
    pub health_check: Option<bool>,
    pub stop_after: Option<DurationText>,
    /// From RUNNING until the app answers load balancer health checks (default: at once).
    pub lb_healthy_after: Option<DurationText>,
    /// The app never answers load balancer health checks.
    #[serde(default)]
    pub lb_never_healthy: bool,
    /// The reason code its failed checks report.
    pub lb_reason: Option<LbReason>,
}

/// Why a target fails its checks, as ELB reports it.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum LbReason {
    /// The app answers with a code the matcher refuses.
    #[serde(rename = "Target.ResponseCodeMismatch")]
    ResponseCodeMismatch,
    #[serde(rename = "Target.Timeout")]
    Timeout,
    #[serde(rename = "Target.FailedHealthChecks")]
    FailedHealthChecks,
}

impl LbReason {
    const fn code(self) -> &'static str {
        match self {
            LbReason::ResponseCodeMismatch => "Target.ResponseCodeMismatch",
            LbReason::Timeout => "Target.Timeout",
            LbReason::FailedHealthChecks => "Target.FailedHealthChecks",
        }
    }
}

/// Faults of the API: a share of calls throttled or failed, and added latency.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFaults {
    /// Share of calls (0 to 1) answered with `ThrottlingException`.
    #[serde(default)]
    pub throttle: f64,
    /// Share of calls (0 to 1) answered with HTTP 500 `ServerException`.
    #[serde(default)]
    pub server_errors: f64,
    /// Share of calls (0 to 1) whose connection is closed without an answer.
    #[serde(default)]
    pub drop_connections: f64,
    /// Per operation (`UpdateService`): how many of its first calls are carried out and
    /// then lose their answer (the connection is closed), as when a network drops the
    /// response of a call that was applied.
    #[serde(default)]
    pub lose_answers: std::collections::BTreeMap<String, u32>,
    /// Per operation: how many of its calls after its lost answers (from the first call
    /// when none are lost) are answered `ThrottlingException` without being carried out —
    /// the SDK's retry throttled after an attempt that was applied.
    #[serde(default)]
    pub throttle_retries: std::collections::BTreeMap<String, u32>,

    /// Added to every answer.
    pub latency: Option<DurationText>,
    /// Seed of the random choices, so a run can be repeated.
    #[serde(default)]
    pub seed: u64,
}

/// A duration written as text in a fault file (`"30s"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationText(pub u64);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(DurationText).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration; write one such as \"30s\", \"1m30s\" or \"500ms\""
            ))
        })
    }
}

impl FaultFile {
    /// Reads a fault file (JSON); the error names the file, line and column.
    pub fn load(path: &Path) -> Result<Self, LocalError> {
        let text = crate::regular_file::read_text(path, 1024 * 1024).map_err(|error| {
            LocalError::Read {
                what: "fault file",
                path: path.to_owned(),
                reason: error.to_string(),
            }
        })?;
        Self::parse(&text).map_err(|reason| LocalError::Faults { path: path.to_owned(), reason })
    }

    /// The fault file at `path`, or none (the default behaviour) without a path.
    pub fn load_optional(path: Option<&Path>) -> Result<Self, LocalError> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }

    pub fn parse(text: &str) -> Result<Self, FaultError> {
        let file: FaultFile =
            serde_json::from_str(text).map_err(|error| FaultError::Shape(error.to_string()))?;
        for (name, share) in [
            ("throttle", file.api.throttle),
            ("server_errors", file.api.server_errors),
            ("drop_connections", file.api.drop_connections),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(FaultError::NotAShare { name, share });
            }
        }
        Ok(file)
    }

    /// The behaviour of a task running `image`.
    #[must_use]
    pub fn behaviour(&self, image: &str) -> TaskBehaviour {
        let mut behaviour = TaskBehaviour::default();
        let Some(rule) = self.images.iter().find(|rule| glob(&rule.pattern, image)) else {
            return behaviour;
        };
        let ms = |value: Option<DurationText>, default: u64| value.map_or(default, |d| d.0);
        behaviour.start_ms = ms(rule.start, behaviour.start_ms);
        behaviour.healthy_after_ms = ms(rule.healthy_after, behaviour.healthy_after_ms);
        behaviour.unhealthy_after_ms = ms(rule.unhealthy_after, behaviour.unhealthy_after_ms);
        behaviour.stop_ms = ms(rule.stop_after, behaviour.stop_ms);
        behaviour.health_check = rule.health_check;
        behaviour.outcome = if let Some(reason) = &rule.fail_to_start {
            Outcome::FailToStart { reason: reason.clone() }
        } else if let Some(after) = rule.crash_after {
            behaviour.out_of_memory = rule.out_of_memory;
            let exit_code = if rule.out_of_memory { 137 } else { rule.exit_code.unwrap_or(1) };
            Outcome::Crash { after_ms: after.0, exit_code }
        } else if rule.never_healthy {
            Outcome::NeverHealthy
        } else {
            Outcome::Healthy
        };
        behaviour.answers = crate::local::target_health::Answers {
            after_ms: (!rule.lb_never_healthy).then(|| ms(rule.lb_healthy_after, 0)),
            reason: rule.lb_reason.unwrap_or(LbReason::ResponseCodeMismatch).code().to_owned(),
        };
        behaviour
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("*", "anything", true),
            ("web:*", "web:2", true),
            ("web:*", "api:2", false),
            ("*:crash*", "acme/web:crash-1", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxcyyb", false),
            ("exact", "exact", true),
            ("ab*ab", "ab", false),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern} {text}");
        }
    }

    #[test]
    fn first_matching_rule_applies() {
        let file = FaultFile::parse(
            r#"{"images": [
                {"match": "*:crash", "crash_after": "5s", "exit_code": 137},
                {"match": "bad/*", "fail_to_start": "CannotPullContainerError: not found"},
                {"match": "*", "start": "1s", "never_healthy": true}
            ]}"#,
        )
        .expect("parses");
        assert_eq!(
            file.behaviour("web:crash").outcome,
            Outcome::Crash { after_ms: 5_000, exit_code: 137 }
        );
        assert!(matches!(file.behaviour("bad/x").outcome, Outcome::FailToStart { .. }));
        let slow = file.behaviour("web:1");
        assert_eq!((slow.start_ms, slow.outcome), (1_000, Outcome::NeverHealthy));
        assert_eq!(slow.answers.after_ms, Some(0));
    }

    #[test]
    fn load_balancer_checks_are_answered_as_the_rule_says() {
        let file = FaultFile::parse(
            r#"{"images": [
                {"match": "slow:*", "lb_healthy_after": "45s"},
                {"match": "dead:*", "lb_never_healthy": true, "lb_reason": "Target.Timeout"}
            ]}"#,
        )
        .expect("parses");
        assert_eq!(file.behaviour("slow:1").answers.after_ms, Some(45_000));
        let dead = file.behaviour("dead:1").answers;
        assert_eq!((dead.after_ms, dead.reason.as_str()), (None, "Target.Timeout"));
        let error = FaultFile::parse(r#"{"images": [{"match": "*", "lb_reason": "Target.Sad"}]}"#)
            .expect_err("no such reason");
        assert!(error.to_string().contains("Target.Timeout"), "{error}");
    }

    #[test]
    fn bad_fault_files_say_why() {
        let error =
            FaultFile::parse(r#"{"images": [{"match": "*", "start": "soon"}]}"#).expect_err("bad");
        assert!(error.to_string().contains("`soon` is not a duration"), "{error}");
        let error = FaultFile::parse(r#"{"imagez": []}"#).expect_err("bad");
        assert!(error.to_string().contains("unknown field `imagez`"), "{error}");
        let error = FaultFile::parse(r#"{"api": {"throttle": 2}}"#).expect_err("bad");
        assert!(error.to_string().contains("share from 0 to 1"), "{error}");
    }
}
