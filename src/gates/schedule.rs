//! When a gate runs and when it decides (pure; time comes in as `now`, milliseconds).
//!
//! - A gate runs every `every` (default 10 s) once the rollout serves.
//! - It **passes** after `pass` consecutive successful attempts (default 1).
//! - Until it passes, failed attempts are retried; it **fails** when `within` (its own
//!   deadline, from its first attempt) runs out first, or at once on a `fatal` answer.
//! - After it passed it keeps running through `bake`: it fails when `pass` attempts in a
//!   row fail (one, by default) — a flapping service is caught, a single blip with
//!   `pass = 3` is not — or at once on a `fatal` answer.

use super::contract::Outcome;

/// Default time between attempts.
pub(crate) const DEFAULT_EVERY_MS: u64 = 10_000;

/// Where a gate stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Not yet passed; `passes` in a row so far.
    Pending { passes: u32 },
    /// Passed (and not failed since).
    Passed,
    /// Failed for good.
    Failed { reason: String },
}

/// One gate's schedule and record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub every_ms: u64,
    pub pass: u32,
    pub within_ms: Option<u64>,
    pub first_ms: Option<u64>,
    pub next_ms: u64,
    pub attempts: u32,
    /// Consecutive successes, or failures after it passed.
    streak: u32,
    pub standing: Standing,
}

impl Schedule {
    #[must_use]
    pub(crate) fn new(every_ms: Option<u64>, pass: Option<u32>, within_ms: Option<u64>) -> Self {
        Self {
            every_ms: every_ms.unwrap_or(DEFAULT_EVERY_MS).max(1),
            pass: pass.unwrap_or(1).max(1),
            within_ms,
            first_ms: None,
            next_ms: 0,
            attempts: 0,
            streak: 0,
            standing: Standing::Pending { passes: 0 },
        }
    }

    /// Whether an attempt is due at `now`.
    #[must_use]
    pub(crate) fn due(&self, now: u64) -> bool {
        !matches!(self.standing, Standing::Failed { .. }) && now >= self.next_ms
    }

    /// Milliseconds since the first attempt.
    #[must_use]
    pub(crate) fn elapsed(&self, now: u64) -> u64 {
        self.first_ms.map_or(0, |first| now.saturating_sub(first))
    }

    /// Records an attempt made at `now`; returns the standing after it.
    pub(crate) fn record(&mut self, outcome: &Outcome, now: u64) -> &Standing {
        let first = *self.first_ms.get_or_insert(now);
        self.attempts += 1;
        self.next_ms = now + self.every_ms;
        let message = if outcome.message.is_empty() {
            "the gate returned false".to_owned()
        } else {
            outcome.message.clone()
        };
        self.standing = match (&self.standing, outcome.ok) {
            (Standing::Failed { .. }, _) => return &self.standing,
            (_, false) if outcome.fatal => {
                Standing::Failed { reason: format!("{message} (fatal)") }
            }
            (Standing::Pending { .. }, true) => {
                self.streak += 1;
                if self.streak >= self.pass {
                    self.streak = 0;
                    Standing::Passed
                } else {
                    Standing::Pending { passes: self.streak }
                }
            }
            (Standing::Pending { .. }, false) => {
                self.streak = 0;
                match self.within_ms {
                    Some(within) if now.saturating_sub(first) >= within => Standing::Failed {
                        reason: format!(
                            "{message}; not passed within {}",
                            crate::syntax::format_duration(within)
                        ),
                    },
                    _ => Standing::Pending { passes: 0 },
                }
            }
            (Standing::Passed, true) => {
                self.streak = 0;
                Standing::Passed
            }
            (Standing::Passed, false) => {
                self.streak += 1;
                if self.streak >= self.pass {
                    Standing::Failed {
                        reason: if self.pass == 1 {
                            format!("{message}, after it had passed")
                        } else {
                            format!(
                                "{message}: {} attempts in a row failed after it had passed",
                                self.pass
                            )
                        },
                    }
                } else {
                    Standing::Passed
                }
            }
        };
        &self.standing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(schedule: &mut Schedule, answers: &[bool]) -> Vec<Standing> {
        let mut now = 0;
        answers
            .iter()
            .map(|ok| {
                let outcome = if *ok { Outcome::pass("") } else { Outcome::fail("502") };
                let standing = schedule.record(&outcome, now).clone();
                now += schedule.every_ms;
                standing
            })
            .collect()
    }

    const PENDING0: Standing = Standing::Pending { passes: 0 };

    #[test]
    fn passes_need_a_streak_and_failures_are_retried() {
        let mut flapping = Schedule::new(Some(1_000), Some(3), None);
        let standings = run(&mut flapping, &[true, true, false, true, true, true]);
        assert_eq!(
            standings,
            [
                Standing::Pending { passes: 1 },
                Standing::Pending { passes: 2 },
                PENDING0,
                Standing::Pending { passes: 1 },
                Standing::Pending { passes: 2 },
                Standing::Passed
            ]
        );
        assert_eq!(flapping.attempts, 6);
    }

    #[test]
    fn within_bounds_the_retries() {
        let mut gate = Schedule::new(Some(10_000), None, Some(25_000));
        let standings = run(&mut gate, &[false, false, false, false]);
        assert_eq!(standings[..3], [PENDING0, PENDING0, PENDING0]);
        assert_eq!(
            standings[3],
            Standing::Failed { reason: "502; not passed within 25s".to_owned() }
        );
        assert!(!gate.due(1_000_000), "a failed gate does not run again");
    }

    #[test]
    fn after_passing_a_streak_of_failures_fails_it() {
        let mut strict = Schedule::new(Some(1_000), None, None);
        let standings = run(&mut strict, &[true, true, false]);
        assert_eq!(
            standings[2],
            Standing::Failed { reason: "502, after it had passed".to_owned() }
        );
        let mut tolerant = Schedule::new(Some(1_000), Some(3), None);
        let standings =
            run(&mut tolerant, &[true, true, true, false, false, true, false, false, false]);
        assert_eq!(standings[3..6], [Standing::Passed, Standing::Passed, Standing::Passed]);
        assert_eq!(
            standings[8],
            Standing::Failed {
                reason: "502: 3 attempts in a row failed after it had passed".to_owned()
            }
        );
    }

    #[test]
    fn fatal_fails_at_once() {
        let mut gate = Schedule::new(None, Some(5), None);
        let fatal = Outcome { ok: false, message: "wrong version".to_owned(), fatal: true };
        assert_eq!(
            gate.record(&fatal, 0),
            &Standing::Failed { reason: "wrong version (fatal)".to_owned() }
        );
    }

    #[test]
    fn attempts_are_spaced_by_every() {
        let mut gate = Schedule::new(Some(5_000), Some(2), None);
        assert!(gate.due(0));
        gate.record(&Outcome::pass(""), 0);
        assert!(!gate.due(4_999));
        assert!(gate.due(5_000));
        assert_eq!(gate.elapsed(7_000), 7_000);
    }
}
