//! What `verify` shows while it watches, and how often it looks. Pure: the watch loop
//! (`watch.rs`) feeds it what DescribeServices said.
//!
//! - `Counts`: our deployment's tasks and the old deployments' — running, and draining
//!   (old tasks ECS is stopping: more running than the old deployment still wants).
//! - `waiting`: the wait in words ("waiting for 3 old tasks to drain").
//! - `Poller`: one second between looks while completion is near (every task of ours
//!   running, no old one left) or right after a change; slower by half each look up to
//!   five seconds while nothing moves; doubling up to a minute when AWS throttles, and
//!   coming back down by halves (docs/cli.md "Live progress").

use crate::aws::ServiceView;

/// Our deployment's tasks and the others'.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
    /// Tasks of the other deployments still running.
    pub old: i32,
    /// Of those, the ones ECS is stopping.
    pub draining: i32,
}

impl Counts {
    /// The counts of `deployment_id` in `service`, if it shows.
    pub(super) fn of(service: &ServiceView, deployment_id: &str) -> Option<Counts> {
        let ours = service.deployment(deployment_id)?;
        let others = service.deployments.iter().filter(|d| d.id != deployment_id);
        let (old, draining) = others.fold((0, 0), |(old, draining), d| {
            (old + d.running, draining + (d.running - d.desired).max(0))
        });
        Some(Counts {
            desired: ours.desired,
            running: ours.running,
            pending: ours.pending,
            failed: ours.failed,
            old,
            draining,
        })
    }

    /// Every task of ours runs and no old one is left: ECS calls the deployment
    /// completed next.
    pub(super) fn near(&self) -> bool {
        self.desired > 0 && self.running >= self.desired && self.old == 0
    }
}

/// Where the rollout stands beyond the counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// Our deployment has not shown in DescribeServices yet.
    NotSeen,
    /// Starting and stopping tasks.
    Rolling,
    /// Every desired task of ours runs; `healthy` of them count as healthy, by health
    /// check (`checked`) or 40 s after RUNNING.
    Unhealthy { healthy: usize, checked: bool },
    /// Every desired task of ours runs and is healthy; `healthy` of `expected` load
    /// balancer targets of ours are.
    Targets { healthy: usize, expected: usize },
    /// As `Targets`, but the last read of the targets' health failed.
    TargetsUnread,
    /// Serving; waiting for ECS to call the deployment completed.
    Serving,
    /// Done; a gate has not passed yet.
    Gate(String),
    /// Done and every gate passed: `left_ms` of bake remain.
    Baking { left_ms: u64 },
}

/// The wait in words.
pub(super) fn waiting(counts: Option<&Counts>, stage: &Stage) -> String {
    let tasks = |n: i32, what: &str| format!("{n} {what} task{}", if n == 1 { "" } else { "s" });
    let Some(c) = counts else { return "waiting for our deployment to show".to_owned() };
    match stage {
        Stage::NotSeen => "waiting for our deployment to show".to_owned(),
        Stage::Gate(gate) => format!("waiting for gate `{gate}` to pass"),
        Stage::Baking { left_ms } => {
            format!("baking, {} left", crate::eval::duration_text(*left_ms / 1000 * 1000))
        }
        Stage::Unhealthy { healthy, checked } => {
            let n = (c.desired - *healthy as i32).max(1);
            if *checked {
                format!("waiting for {} to pass health checks", tasks(n, "new"))
            } else {
                format!("waiting for {} to count as healthy", tasks(n, "new"))
            }
        }
        Stage::Targets { healthy, expected } => {
            let n = expected.saturating_sub(*healthy).max(1);
            format!(
                "waiting for {n} load balancer target{} of ours to turn healthy",
                if n == 1 { "" } else { "s" }
            )
        }
        Stage::TargetsUnread => "waiting to read the load balancers' target health".to_owned(),
        Stage::Rolling | Stage::Serving => {
            if c.running < c.desired {
                let starting = c.desired - c.running;
                if c.pending == 0 && c.old > 0 {
                    format!(
                        "waiting for old tasks to stop so that {} can start",
                        tasks(starting, "new")
                    )
                } else {
                    format!("waiting for {} to start", tasks(starting, "new"))
                }
            } else if c.old > 0 {
                format!("waiting for {} to drain", tasks(c.old, "old"))
            } else {
                "waiting for ECS to mark the deployment completed".to_owned()
            }
        }
    }
}

/// A quick look while something is about to happen.
pub(super) const FAST_MS: u64 = 1_000;
/// The slowest look while nothing moves.
pub(super) const SLOW_MS: u64 = 5_000;
/// The longest wait after throttling.
pub(super) const THROTTLED_MAX_MS: u64 = 60_000;

/// The time to the next look (virtual ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Poller {
    delay_ms: u64,
    /// Raised by throttling, halved by each answer.
    floor_ms: u64,
}

impl Default for Poller {
    fn default() -> Self {
        Self { delay_ms: FAST_MS, floor_ms: FAST_MS }
    }
}

impl Poller {
    /// After an answer: fast while a transition is near or right after a change, else
    /// slower by half each time up to `SLOW_MS`; never under what throttling left.
    pub(super) fn answered(&mut self, near: bool, changed: bool) -> u64 {
        self.floor_ms = (self.floor_ms / 2).max(FAST_MS);
        let wanted =
            if near || changed { FAST_MS } else { (self.delay_ms * 3 / 2).clamp(FAST_MS, SLOW_MS) };
        self.delay_ms = wanted.max(self.floor_ms);
        self.delay_ms
    }

    /// After a throttled or failed call: twice as long, up to `THROTTLED_MAX_MS`.
    pub(super) fn throttled(&mut self) -> u64 {
        self.delay_ms = (self.delay_ms * 2).clamp(2 * FAST_MS, THROTTLED_MAX_MS);
        self.floor_ms = self.delay_ms;
        self.delay_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(desired: i32, running: i32, pending: i32, old: i32) -> Counts {
        Counts { desired, running, pending, failed: 0, old, draining: 0 }
    }

    #[test]
    fn the_wait_is_said_in_words() {
        let starting = counts(3, 1, 2, 3);
        assert_eq!(waiting(Some(&starting), &Stage::Rolling), "waiting for 2 new tasks to start");
        let blocked = counts(3, 2, 0, 3);
        assert_eq!(
            waiting(Some(&blocked), &Stage::Rolling),
            "waiting for old tasks to stop so that 1 new task can start"
        );
        let draining = counts(3, 3, 0, 3);
        assert_eq!(waiting(Some(&draining), &Stage::Serving), "waiting for 3 old tasks to drain");
        let drained = counts(3, 3, 0, 0);
        assert_eq!(
            waiting(Some(&drained), &Stage::Serving),
            "waiting for ECS to mark the deployment completed"
        );
        let health = Stage::Unhealthy { healthy: 1, checked: true };
        assert_eq!(
            waiting(Some(&drained), &health),
            "waiting for 2 new tasks to pass health checks"
        );
        let timer = Stage::Unhealthy { healthy: 2, checked: false };
        assert_eq!(waiting(Some(&drained), &timer), "waiting for 1 new task to count as healthy");
        assert_eq!(
            waiting(Some(&drained), &Stage::Gate("smoke".into())),
            "waiting for gate `smoke` to pass"
        );
        assert_eq!(
            waiting(Some(&drained), &Stage::Baking { left_ms: 90_512 }),
            "baking, 1m30s left"
        );
        assert_eq!(waiting(None, &Stage::Rolling), "waiting for our deployment to show");
    }

    #[test]
    fn looks_are_quick_near_a_transition_and_slow_while_nothing_moves() {
        let mut poller = Poller::default();
        assert_eq!(poller.answered(true, false), FAST_MS);
        let quiet: Vec<u64> = (0..6).map(|_| poller.answered(false, false)).collect();
        assert_eq!(quiet, [1_500, 2_250, 3_375, 5_000, 5_000, 5_000]);
        assert_eq!(poller.answered(false, true), FAST_MS, "a change brings the next look near");
    }

    #[test]
    fn throttling_backs_off_and_comes_back_by_halves() {
        let mut poller = Poller::default();
        let backed: Vec<u64> = (0..7).map(|_| poller.throttled()).collect();
        assert_eq!(backed, [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
        let after: Vec<u64> = (0..6).map(|_| poller.answered(true, false)).collect();
        assert_eq!(after, [30_000, 15_000, 7_500, 3_750, 1_875, 1_000]);
    }
}
