//! A blue/green deployment's passes (docs/strategies.md): the new revision ("green") is
//! started in full beside the old one ("blue") on the other side's target groups, test
//! traffic then production traffic move to it by the listener rules, both run through
//! the bake, and blue is stopped at clean-up. One lifecycle stage a pass at most; a
//! failure before clean-up rolls back by moving traffic back to blue, which never
//! stopped (breaker.rs).

use super::{Action, Launcher, Rollout, Traffic};
use crate::local::deployment::{Deployment, DeploymentStatus, LifecycleStage as S, RolloutState};
use crate::local::ids::Ids;
use crate::local::task::{Stop, StopCode, TaskState};

impl Rollout {
    /// One pass of a blue/green deployment `primary` at `now`.
    pub(super) fn staged_pass(
        &mut self,
        primary: &Deployment,
        now: u64,
        launcher: &mut dyn Launcher,
        ids: &mut Ids,
        actions: &mut Vec<Action>,
    ) {
        let Some((stage, since)) = primary.stage else { return };
        if primary.rollout == RolloutState::Failed {
            // Failed without a rollback: both sides are left as they are.
            return;
        }
        self.keep_sides(primary, stage >= S::ScaleUp, now, launcher, ids, actions);
        if now <= since {
            // Each stage lasts a pass at least, so that a client polling sees it.
            return;
        }
        let next = match stage {
            S::ReconcileService => {
                self.reconcile(&primary.id, now, actions);
                Some(S::PreScaleUp)
            }
            S::PreScaleUp => Some(S::ScaleUp),
            S::ScaleUp => self.scaled_up(primary, now).then_some(S::PostScaleUp),
            S::PostScaleUp => Some(S::TestTrafficShift),
            S::TestTrafficShift => Some(S::PostTestTrafficShift),
            S::PostTestTrafficShift => Some(S::ProductionTrafficShift),
            S::ProductionTrafficShift => Some(S::PostProductionTrafficShift),
            S::PostProductionTrafficShift => Some(S::BakeTime),
            S::BakeTime => (now >= since + self.config.bake_ms).then_some(S::CleanUp),
            S::CleanUp => {
                self.complete(now);
                None
            }
        };
        let Some(next) = next else { return };
        if let Some(deployment) = self.deployments.iter_mut().find(|d| d.id == primary.id) {
            deployment.stage = Some((next, now));
            deployment.updated_ms = now;
        }
        let green = primary.alternate;
        match next {
            S::TestTrafficShift => {
                let traffic = self.traffic.get_or_insert_with(|| Traffic::all_on(!green));
                traffic.test_alternate = green;
            }
            S::ProductionTrafficShift => {
                let traffic = self.traffic.get_or_insert_with(|| Traffic::all_on(!green));
                traffic.production_alternate = if green { 1_000 } else { 0 };
            }
            S::CleanUp => self.stop_blue(&primary.id, now, actions),
            _ => {}
        }
    }

    /// Green kept at its desired count from the scale-up on (`green`), and blue's tasks
    /// that die replaced with their own revision until clean-up, within the cluster's
    /// room (a blue/green deployment needs room for both in full: `maximumPercent` does
    /// not apply).
    fn keep_sides(
        &mut self,
        primary: &Deployment,
        green: bool,
        now: u64,
        launcher: &mut dyn Launcher,
        ids: &mut Ids,
        actions: &mut Vec<Action>,
    ) {
        let occupied = self.tasks.iter().filter(|t| t.state != TaskState::Stopped).count() as u32;
        let mut room = self.config.capacity.map_or(u32::MAX, |c| c.saturating_sub(occupied));
        let mut wanted: Vec<(Deployment, u32)> = self
            .deployments
            .iter()
            .filter(|d| d.status == DeploymentStatus::Active && d.throttled_until_ms <= now)
            .filter(|d| d.rollout != RolloutState::Failed)
            .filter_map(|d| {
                let missing = d.keep?.saturating_sub(self.active(Some(&d.id)));
                (missing > 0).then(|| (d.clone(), missing))
            })
            .collect();
        if green && primary.throttled_until_ms <= now {
            let missing = self.config.desired.saturating_sub(self.active(Some(&primary.id)));
            if missing > 0 {
                wanted.push((primary.clone(), missing));
            }
        }
        for (deployment, missing) in wanted {
            let starts = missing.min(room);
            if starts > 0 {
                self.launch(&deployment, starts, now, launcher, ids, actions);
                room -= starts;
            } else {
                self.event_once(
                    format!(
                        "(service {}) was unable to place a task because no container instance \
                         met all of its requirements.",
                        self.service
                    ),
                    now,
                );
            }
        }
    }

    /// Every desired task of green counts as healthy (behind its target groups: healthy
    /// targets there).
    fn scaled_up(&self, primary: &Deployment, now: u64) -> bool {
        let desired = self.config.desired;
        self.active(Some(&primary.id)) == desired && self.healthy(Some(&primary.id), now) >= desired
    }

    /// More than one revision ran as the deployment began (one replaced mid-way): all but
    /// the one that last completed — where traffic is, blue — are scaled down.
    fn reconcile(&mut self, primary_id: &str, now: u64, actions: &mut Vec<Action>) {
        let blue = self
            .deployments
            .iter()
            .filter(|d| d.id != primary_id && d.completed_ms.is_some())
            .max_by_key(|d| d.completed_ms)
            .map(|d| d.id.clone());
        let keep: Vec<&str> = [Some(primary_id), blue.as_deref()].into_iter().flatten().collect();
        self.stop_others(&keep, primary_id, now, actions);
    }

    /// Clean-up: every task of another deployment stops.
    fn stop_blue(&mut self, primary_id: &str, now: u64, actions: &mut Vec<Action>) {
        self.stop_others(&[primary_id], primary_id, now, actions);
    }

    /// Every task of the deployments not in `keep` stops, and they keep none.
    fn stop_others(
        &mut self,
        keep: &[&str],
        primary_id: &str,
        now: u64,
        actions: &mut Vec<Action>,
    ) {
        let reason = format!("Scaling activity initiated by (deployment {primary_id})");
        let mut stopped = Vec::new();
        for task in &mut self.tasks {
            if keep.contains(&task.deployment_id.as_str()) || !task.is_active() {
                continue;
            }
            let stop = Stop {
                code: StopCode::ServiceSchedulerInitiated,
                reason: reason.clone(),
                exit_code: None,
                container_reason: None,
                failure: false,
            };
            task.request_stop(stop, now);
            stopped.push((task.deployment_id.clone(), task.id.clone()));
        }
        for deployment in &mut self.deployments {
            if !keep.contains(&deployment.id.as_str()) {
                deployment.keep = Some(0);
            }
        }
        if !stopped.is_empty() {
            self.stopped_events(stopped, now, actions);
        }
    }
}
