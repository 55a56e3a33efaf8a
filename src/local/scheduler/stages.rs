//! A blue/green deployment's passes (docs/strategies.md): the new revision ("green") is
//! started in full beside the old one ("blue") on the other side's target groups, test
//! traffic then production traffic move to it by the listener rules, both run through
//! the bake, and blue is stopped at clean-up. One lifecycle stage a pass at most; a
//! failure before clean-up rolls back by moving traffic back to blue, which never
//! stopped (breaker.rs).

use super::{Action, Launcher, Rollout, Traffic};
use crate::local::deployment::{
    Deployment, DeploymentStatus, HookRun, LifecycleStage as S, RolloutState,
};
use crate::local::ids::Ids;
use crate::local::task::{Stop, StopCode, TaskState};

/// What a stage's lifecycle hooks say.
enum HookGate {
    /// Every hook answered (or none is configured): the stage may end.
    Pass,
    /// A hook has not answered yet.
    Wait,
    /// A hook failed, timed out with ROLLBACK, or was continued with ROLLBACK: why.
    Fail(String),
}

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
        // The stage's lifecycle hooks hold it until each has answered.
        match self.hooks_at(&primary.id, (stage, since), now, launcher) {
            HookGate::Wait => return,
            HookGate::Pass => {}
            HookGate::Fail(why) => {
                if let Some(index) = self.deployments.iter().position(|d| d.id == primary.id) {
                    self.fail_because(index, &why, true, false, Some(&why), now);
                }
                return;
            }
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
            S::ProductionTrafficShift => {
                // Linear and canary move production traffic in steps, each held for its
                // step bake (and its hooks) before the next.
                let share = self.green_share(primary.alternate);
                let (next, wait) = self.config.strategy.next_shift(share);
                if share >= 1_000 {
                    Some(S::PostProductionTrafficShift)
                } else {
                    if now >= since + wait {
                        self.shift_production(&primary.id, primary.alternate, next, now);
                    }
                    None
                }
            }
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
                let (first, _) = self.config.strategy.next_shift(0);
                self.shift_production(&primary.id, green, first, now);
            }
            S::CleanUp => self.stop_blue(&primary.id, now, actions),
            _ => {}
        }
    }

    /// The share of production traffic (tenths of a percent) on the side `green` is on.
    pub(crate) fn green_share(&self, green: bool) -> u32 {
        let on_alternate = self.traffic.map_or(0, |t| t.production_alternate.min(1_000));
        if green { on_alternate } else { 1_000 - on_alternate }
    }

    /// Moves production traffic to `share` on the side `green` is on: a step of the
    /// production traffic shift, which starts the stage again (its hooks run again, its
    /// step bake counts from now).
    fn shift_production(&mut self, deployment_id: &str, green: bool, share: u32, now: u64) {
        let traffic = self.traffic.get_or_insert_with(|| Traffic::all_on(!green));
        traffic.production_alternate = if green { share } else { 1_000 - share };
        if let Some(deployment) = self.deployments.iter_mut().find(|d| d.id == deployment_id) {
            deployment.stage = Some((S::ProductionTrafficShift, now));
            deployment.updated_ms = now;
        }
    }

    /// The lifecycle hooks configured for `stage` (a PRE_PRODUCTION_TRAFFIC_SHIFT hook
    /// holds POST_TEST_TRAFFIC_SHIFT): started the first time, then followed — a PAUSE
    /// hook awaits ContinueServiceDeployment until its timeout, a Lambda hook answers as
    /// the fault file says.
    fn hooks_at(
        &mut self,
        deployment_id: &str,
        (stage, since): (S, u64),
        now: u64,
        launcher: &mut dyn Launcher,
    ) -> HookGate {
        let hook_stages: &[&str] = match stage {
            S::PostTestTrafficShift => &["POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"],
            other => &[other.as_str()],
        };
        let Some(snapshot) = self.deployments.iter().find(|d| d.id == deployment_id) else {
            return HookGate::Pass;
        };
        // The hooks as they were when the deployment began, as on ECS.
        let configured: Vec<(super::Hook, String)> = snapshot
            .hook_config
            .iter()
            .flat_map(|hook| {
                hook.stages
                    .iter()
                    .filter(|s| hook_stages.contains(&s.as_str()))
                    .map(move |s| (hook.clone(), s.clone()))
            })
            .collect();
        if configured.is_empty() {
            return HookGate::Pass;
        }
        let Some(deployment) = self.deployments.iter_mut().find(|d| d.id == deployment_id) else {
            return HookGate::Pass;
        };
        let this_stage = |h: &HookRun| h.stage == stage && h.stage_since_ms == since;
        if !deployment.hooks.iter().any(this_stage) {
            for (index, (hook, hook_stage)) in configured.iter().enumerate() {
                let pause = hook.target_type == "PAUSE";
                let answer = hook.target_arn.as_deref().filter(|_| !pause).map(|arn| {
                    let (answer, after) = launcher.hook(arn);
                    (answer == crate::local::behaviour::HookAnswer::Succeeded, now + after)
                });
                let suffix = deployment.id.trim_start_matches("ecs-svc/");
                deployment.hooks.push(HookRun {
                    id: format!(
                        "ecs-{}-{suffix}{:02}{index}",
                        if pause { "pause" } else { "lambda" },
                        deployment.hooks.len()
                    ),
                    target_type: hook.target_type.clone(),
                    target_arn: hook.target_arn.clone(),
                    stage,
                    stage_since_ms: since,
                    hook_stage: hook_stage.clone(),
                    status: if pause { "AWAITING_ACTION" } else { "IN_PROGRESS" }.to_owned(),
                    expires_ms: now + hook.timeout_ms,
                    timeout_rolls_back: hook.timeout_rolls_back,
                    answer,
                });
            }
            return HookGate::Wait;
        }
        let mut gate = HookGate::Pass;
        for run in deployment.hooks.iter_mut().filter(|h| this_stage(h)) {
            if matches!(run.status.as_str(), "AWAITING_ACTION" | "IN_PROGRESS") {
                if let Some((succeeded, at)) = run.answer
                    && now >= at
                {
                    if succeeded { "SUCCEEDED" } else { "FAILED" }.clone_into(&mut run.status);
                } else if now >= run.expires_ms {
                    "TIMED_OUT".clone_into(&mut run.status);
                }
            }
            let kind = if run.target_type == "PAUSE" { "pause hook" } else { "lifecycle hook(s)" };
            let failed = match run.status.as_str() {
                "SUCCEEDED" => None,
                "TIMED_OUT" if !run.timeout_rolls_back => None,
                "TIMED_OUT" => Some(format!(
                    "Service deployment rolled back because {} {kind} timed out.",
                    run.hook_stage
                )),
                "FAILED" if run.target_type == "PAUSE" => Some(format!(
                    "Service deployment rolled back because {} pause hook was continued with \
                     ROLLBACK.",
                    run.hook_stage
                )),
                "FAILED" => Some(format!(
                    "Service deployment rolled back because {} lifecycle hook(s) failed. \
                     Lifecycle hook target {} returned FAILED status.",
                    run.hook_stage,
                    run.target_arn.as_deref().unwrap_or_default()
                )),
                _ => {
                    gate = HookGate::Wait;
                    continue;
                }
            };
            if let Some(why) = failed {
                return HookGate::Fail(why);
            }
        }
        gate
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
        // Blue is where production traffic is: of a deployment replaced after it moved
        // traffic (during its bake), that one; else the one that last completed.
        let production = self.traffic.map(Traffic::production_side);
        let on_production = |d: &&Deployment| {
            production.is_some_and(|side| d.alternate == side && self.active(Some(&d.id)) > 0)
        };
        let blue = self
            .deployments
            .iter()
            .filter(|d| d.id != primary_id)
            .filter(on_production)
            .max_by_key(|d| d.created_ms)
            .or_else(|| {
                self.deployments
                    .iter()
                    .filter(|d| d.id != primary_id && d.completed_ms.is_some())
                    .max_by_key(|d| d.completed_ms)
            })
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
