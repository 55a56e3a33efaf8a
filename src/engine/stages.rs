//! Judging a deployment ECS runs in lifecycle stages (blue/green; docs/strategies.md):
//! anchored on OUR service deployment (the ARN of the UpdateService answer's
//! `currentServiceDeployment`), read with DescribeServiceDeployments. Its status decides:
//! SUCCESSFUL is done; ROLLBACK_* is a failure ECS rolled back (safe); ROLLBACK_FAILED and
//! STOPPED are failures a person must look at; another deployment made current, or ours
//! gone, is never success. While IN_PROGRESS its stage says how far `until` is. Pure.

use super::verdict::Failure;
use crate::aws::{ServiceDeploymentView, ServiceView};

/// The stages in ECS's order (the service model's `ServiceDeploymentLifecycleStage`).
pub(super) const ORDER: [&str; 10] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// Where a staged deployment stands against `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum StageStanding {
    /// Not there yet, in words.
    Waiting(String),
    /// `until` is reached.
    Reached,
    Failed(Failure),
}

fn position(stage: Option<&str>) -> Option<usize> {
    stage.and_then(|s| ORDER.iter().position(|o| *o == s))
}

/// Whether production traffic has moved to our revision: past PRODUCTION_TRAFFIC_SHIFT.
#[must_use]
pub(super) fn traffic_shifted(record: &ServiceDeploymentView) -> bool {
    record.status == "SUCCESSFUL"
        || (record.status == "IN_PROGRESS"
            && position(record.lifecycle_stage.as_deref())
                >= position(Some("POST_PRODUCTION_TRAFFIC_SHIFT")))
}

/// Whether production traffic has begun to reach our revision: the production traffic
/// shift began (a linear or canary deployment's first step, a blue/green one's whole
/// move) or the deployment succeeded. ferry's gates on production traffic run from here,
/// so that a canary is judged while it takes its share.
#[must_use]
pub(super) fn production_reached(record: &ServiceDeploymentView) -> bool {
    record.status == "SUCCESSFUL"
        || (record.status == "IN_PROGRESS"
            && position(record.lifecycle_stage.as_deref())
                >= position(Some("PRODUCTION_TRAFFIC_SHIFT")))
}

/// Whether it went past the stage ferry holds test traffic at (or ended).
#[must_use]
pub(super) fn past_test_pause(record: &ServiceDeploymentView) -> bool {
    (record.status != "IN_PROGRESS" && !record.status.starts_with("ROLLBACK"))
        || position(record.lifecycle_stage.as_deref())
            > position(Some(crate::aws::TEST_PAUSE_STAGE))
}

/// A stage in words, for the progress line.
#[must_use]
pub fn stage_words(stage: &str) -> &'static str {
    match stage {
        "RECONCILE_SERVICE" => "ECS is reconciling the revisions that run",
        "PRE_SCALE_UP" => "before the new revision starts",
        "SCALE_UP" => "the new revision is starting in full beside the old one",
        "POST_SCALE_UP" => "the new revision runs in full, with no traffic",
        "TEST_TRAFFIC_SHIFT" => "test traffic is moving to the new revision",
        "POST_TEST_TRAFFIC_SHIFT" => "the new revision serves test traffic only",
        "PRODUCTION_TRAFFIC_SHIFT" => "production traffic is moving to the new revision",
        "POST_PRODUCTION_TRAFFIC_SHIFT" => "production traffic is on the new revision",
        "BAKE_TIME" => "ECS bakes: both revisions run, production on the new one",
        "CLEAN_UP" => "ECS is stopping the old revision",
        _ => "in a stage ferry does not know",
    }
}

/// Judges our service deployment `record` (none: ECS does not show it) against `until`
/// (`serving`: our revision runs in full and healthy; `traffic_shifted`: production
/// traffic is on it; `completed`: SUCCESSFUL). `service` is the service as read with it;
/// `given_up` says the deployment has been out of sight too long to be late.
#[must_use]
pub(super) fn judge_stages(
    record: Option<&ServiceDeploymentView>,
    service: Option<&ServiceView>,
    until: &str,
    given_up: bool,
) -> StageStanding {
    let Some(service) = service.filter(|s| s.status == "ACTIVE") else {
        return StageStanding::Failed(Failure::ServiceGone);
    };
    let Some(record) = record else {
        if given_up {
            return StageStanding::Failed(Failure::Vanished {
                runs: service
                    .primary()
                    .map(|p| format!("{} (deployment {})", p.task_definition, p.id)),
            });
        }
        return StageStanding::Waiting("waiting for our service deployment to show".to_owned());
    };
    let reason =
        record.rollback_reason.clone().or_else(|| record.status_reason.clone()).unwrap_or_default();
    let breaker = record.breaker.as_ref().filter(|(status, _, _)| status == "TRIGGERED");
    let failed = |rolled_back: bool| {
        StageStanding::Failed(Failure::ServiceDeployment {
            status: record.status.clone(),
            reason: reason.clone(),
            stage: record.lifecycle_stage.clone(),
            breaker: breaker.map(|(_, count, threshold)| (*count, *threshold)),
            alarms: record.triggered_alarms.clone(),
            rolled_back,
        })
    };
    let other_current =
        service.current_service_deployment.as_ref().is_some_and(|current| *current != record.arn);
    match record.status.as_str() {
        "SUCCESSFUL" => StageStanding::Reached,
        "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL" => failed(true),
        "STOPPED" | "STOP_REQUESTED" if other_current => {
            let by = service.primary();
            StageStanding::Failed(Failure::Superseded {
                by_deployment: by.map(|p| p.id.clone()).unwrap_or_default(),
                task_definition: by.map(|p| p.task_definition.clone()).unwrap_or_default(),
            })
        }
        "ROLLBACK_FAILED" | "STOPPED" | "STOP_REQUESTED" => failed(false),
        _ if other_current => {
            // Still running, and another deployment is current: replaced.
            let by = service.primary();
            StageStanding::Failed(Failure::Superseded {
                by_deployment: by.map(|p| p.id.clone()).unwrap_or_default(),
                task_definition: by.map(|p| p.task_definition.clone()).unwrap_or_default(),
            })
        }
        status => {
            let stage = record.lifecycle_stage.as_deref();
            let at = position(stage);
            let reached = match until {
                "serving" => at > position(Some("SCALE_UP")),
                "traffic_shifted" => traffic_shifted(record),
                _ => false,
            };
            if reached && status == "IN_PROGRESS" {
                return StageStanding::Reached;
            }
            StageStanding::Waiting(match stage {
                Some(stage) => format!("{stage}: {}", stage_words(stage)),
                None => format!("{status}: ECS has not begun our deployment"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: &str, stage: Option<&str>) -> ServiceDeploymentView {
        ServiceDeploymentView {
            arn: "arn:sd/ours".to_owned(),
            status: status.to_owned(),
            lifecycle_stage: stage.map(str::to_owned),
            ..ServiceDeploymentView::default()
        }
    }

    fn service(current: &str) -> ServiceView {
        ServiceView {
            status: "ACTIVE".to_owned(),
            current_service_deployment: Some(current.to_owned()),
            ..ServiceView::default()
        }
    }

    fn judge(record: Option<&ServiceDeploymentView>, current: &str, until: &str) -> StageStanding {
        judge_stages(record, Some(&service(current)), until, false)
    }

    #[test]
    fn until_is_reached_at_its_stage_and_not_before() {
        let ours = "arn:sd/ours";
        let at = |stage| record("IN_PROGRESS", Some(stage));
        assert!(matches!(judge(Some(&at("SCALE_UP")), ours, "serving"), StageStanding::Waiting(_)));
        assert_eq!(judge(Some(&at("POST_SCALE_UP")), ours, "serving"), StageStanding::Reached);
        let waiting = judge(Some(&at("POST_TEST_TRAFFIC_SHIFT")), ours, "traffic_shifted");
        assert!(matches!(waiting, StageStanding::Waiting(_)), "{waiting:?}");
        let shifted = judge(Some(&at("BAKE_TIME")), ours, "traffic_shifted");
        assert_eq!(shifted, StageStanding::Reached);
        assert!(matches!(
            judge(Some(&at("CLEAN_UP")), ours, "completed"),
            StageStanding::Waiting(_)
        ));
        let done = record("SUCCESSFUL", Some("CLEAN_UP"));
        assert_eq!(judge(Some(&done), ours, "completed"), StageStanding::Reached);
    }

    #[test]
    fn every_terminal_status_but_successful_is_a_failure() {
        let ours = "arn:sd/ours";
        for (status, rolled_back) in [
            ("ROLLBACK_SUCCESSFUL", true),
            ("ROLLBACK_IN_PROGRESS", true),
            ("ROLLBACK_FAILED", false),
            ("STOPPED", false),
        ] {
            let got = judge(Some(&record(status, Some("SCALE_UP"))), ours, "serving");
            let StageStanding::Failed(failure) = got else { panic!("{status}: {got:?}") };
            assert_eq!(failure.rolled_back_by_ecs(), rolled_back, "{status}");
        }
    }

    #[test]
    fn another_current_deployment_or_none_at_all_is_never_success() {
        let replaced =
            judge(Some(&record("STOPPED", Some("BAKE_TIME"))), "arn:sd/theirs", "serving");
        assert!(matches!(replaced, StageStanding::Failed(Failure::Superseded { .. })));
        let running =
            judge(Some(&record("IN_PROGRESS", Some("BAKE_TIME"))), "arn:sd/theirs", "serving");
        assert!(matches!(running, StageStanding::Failed(Failure::Superseded { .. })));
        let gone = judge_stages(None, Some(&service("arn:sd/x")), "serving", true);
        assert!(matches!(gone, StageStanding::Failed(Failure::Vanished { .. })));
    }
}
