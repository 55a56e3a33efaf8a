//! The circuit breaker and rollback: a PRIMARY deployment failed when its failures reach
//! the threshold or when stopped by hand, and the last COMPLETED deployment re-activated
//! when asked (§2.2–§2.5).

use super::Rollout;
use crate::local::deployment::{DeploymentStatus, RollbackOrigin, RolloutState};

impl Rollout {
    /// Trips the breaker of the PRIMARY deployment when its failures reach the threshold,
    /// and rolls back to the last COMPLETED deployment when asked (§2.2–§2.5).
    pub(super) fn circuit_breaker(&mut self, now: u64) {
        let breaker = self.config.circuit_breaker;
        let threshold = breaker.limit(self.config.desired);
        // In CLEAN_UP the old revision is going: there is nothing left to roll back to.
        let Some(index) = self.deployments.iter().position(|d| {
            d.status == DeploymentStatus::Primary
                && d.rollout == RolloutState::InProgress
                && d.breaker_count >= threshold
                && !d.cleaning_up()
        }) else {
            return;
        };
        if !breaker.enable {
            return;
        }
        let failed_id = self.deployments[index].id.clone();
        self.event(
            format!(
                "(service {}) (deployment {failed_id}) deployment failed: tasks failed to start.",
                self.service
            ),
            now,
        );
        self.fail(
            index,
            "ECS deployment circuit breaker: tasks failed to start.",
            breaker.rollback,
            false,
            now,
        );
    }

    /// Fails the PRIMARY deployment in progress when one of the configured alarms is in
    /// ALARM (the fault file says which), before its clean-up; rolls back when the alarms
    /// are set to. The reason's words are the local ECS's (AWS does not document them).
    pub(super) fn alarm_check(&mut self, now: u64, launcher: &mut dyn super::Launcher) {
        let alarms = self.config.alarms.clone();
        if !alarms.enable || alarms.names.is_empty() {
            return;
        }
        let Some(index) = self.deployments.iter().position(|d| {
            d.status == DeploymentStatus::Primary
                && d.rollout == RolloutState::InProgress
                && !d.cleaning_up()
                && d.rolled_back_from.is_none()
        }) else {
            return;
        };
        let deployment = &self.deployments[index];
        let age = now.saturating_sub(deployment.created_ms);
        let triggered: Vec<String> = launcher
            .alarms(&deployment.revision, age)
            .into_iter()
            .filter(|name| alarms.names.contains(name))
            .collect();
        if triggered.is_empty() {
            return;
        }
        let failed_id = deployment.id.clone();
        let names = triggered.join(", ");
        self.deployments[index].triggered_alarms = triggered;
        self.event(
            format!(
                "(service {}) (deployment {failed_id}) deployment failed: alarm(s) {names} in \
                 ALARM state.",
                self.service
            ),
            now,
        );
        let reason = format!("ECS deployment failed: alarm(s) {names} in ALARM state.");
        let why = format!(
            "Service deployment rolled back because CloudWatch alarm(s) {names} went into \
             ALARM state."
        );
        self.fail_because(index, &reason, alarms.rollback, false, Some(&why), now);
    }

    /// Stops the PRIMARY deployment `id` by hand (`StopServiceDeployment`): with
    /// `rollback`, the service goes back to the last COMPLETED deployment. Returns whether
    /// `id` was the PRIMARY deployment in progress.
    pub fn stop_deployment(&mut self, id: &str, rollback: bool, now: u64) -> bool {
        let Some(index) = self.deployments.iter().position(|d| {
            d.id == id
                && d.status == DeploymentStatus::Primary
                && d.rollout == RolloutState::InProgress
        }) else {
            return false;
        };
        let reason = if rollback {
            "Service deployment rolled back by a stop request."
        } else {
            "Service deployment abandoned by a stop request."
        };
        self.fail(index, reason, rollback, true, now);
        true
    }

    /// Marks deployment `index` FAILED and, with `rollback`, re-activates the most recent
    /// COMPLETED deployment; with none, the failed one stalls (§2.5).
    /// `requested`: by `StopServiceDeployment`, not by the breaker.
    fn fail(&mut self, index: usize, reason: &str, rollback: bool, requested: bool, now: u64) {
        self.fail_because(index, reason, rollback, requested, None, now);
    }

    /// `fail`, with the rollback's own reason when it is not the breaker's or a stop
    /// request's (a lifecycle hook's).
    pub(super) fn fail_because(
        &mut self,
        index: usize,
        reason: &str,
        rollback: bool,
        requested: bool,
        why: Option<&str>,
        now: u64,
    ) {
        let service = self.service.clone();
        let failed_id = self.deployments[index].id.clone();
        {
            let failed = &mut self.deployments[index];
            failed.rollout = RolloutState::Failed;
            reason.clone_into(&mut failed.reason);
            failed.updated_ms = now;
            failed.stopped_by_request = requested;
            // Its hooks still waiting are over.
            for run in &mut failed.hooks {
                if matches!(run.status.as_str(), "AWAITING_ACTION" | "IN_PROGRESS") {
                    "FAILED".clone_into(&mut run.status);
                }
            }
        }
        if !rollback {
            return;
        }
        let target = self
            .deployments
            .iter()
            .enumerate()
            .filter(|(_, d)| d.id != failed_id && d.rollout == RolloutState::Completed)
            .max_by_key(|(_, d)| d.completed_ms)
            .map(|(i, _)| i);
        let Some(target) = target else { return };
        self.deployments[index].status = DeploymentStatus::Active;
        // Every deployment but the one rolled back to is scaled down, never replaced.
        for (i, deployment) in self.deployments.iter_mut().enumerate() {
            if i != target {
                deployment.keep = Some(0);
            }
        }
        let target_id = self.deployments[target].id.clone();
        let failures = self.deployments[index].breaker_count;
        let back = &mut self.deployments[target];
        back.status = DeploymentStatus::Primary;
        back.rollout = RolloutState::InProgress;
        back.reason = if let Some(why) = why {
            why.to_owned()
        } else if requested {
            format!("ECS deployment rolling back to deploymentId {target_id} on a stop request.")
        } else {
            format!("ECS deployment circuit breaker: rolling back to deploymentId {target_id}.")
        };
        back.rolled_back_from = Some(failed_id);
        back.rollback = Some(RollbackOrigin {
            reason: back.reason.clone(),
            started_ms: now,
            requested,
            failures,
        });
        back.keep = None;
        back.breaker_count = 0;
        // It runs again as it ran: a blue/green rollback moves traffic back to it.
        back.stage = None;
        let side = back.alternate;
        back.updated_ms = now;
        let position = self.deployments.remove(target);
        self.deployments.insert(0, position);
        if self.traffic.is_some() {
            self.traffic = Some(super::Traffic::all_on(side));
        }
        self.quiet.clear();
        self.next_pass_ms = now;
        self.event(format!("(service {service}) rolling back to deployment {target_id}."), now);
    }
}
