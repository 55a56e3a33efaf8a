//! The `probe` gate (docs/gates.md "Zero downtime"): one GET every `every` from the start
//! of `verify` — right after UpdateService — to the verdict, each judged as the `http`
//! gate judges an answer. It fails at once when more than `max_errors` requests failed
//! (0 by default: the first failure), and at the verdict when the share of failed ones is
//! over `max_error_rate`; it reports counts and latencies. The tally is pure; the
//! requests are the watcher's.

use crate::eval::{GateSpec, GateTarget, Value};
use crate::gates::http_gate::Expect;

/// A probe and what it saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Probe {
    /// `probe(URL)`.
    pub(super) name: String,
    pub(super) url: String,
    pub(super) expect: Expect,
    pub(super) every_ms: u64,
    max_errors: u64,
    /// Percent.
    max_error_rate: Option<i64>,
    /// When the next request is due (the runner's clock).
    pub(super) next_ms: u64,
    sent: u64,
    failed: u64,
    latencies_ms: Vec<u64>,
    first_failure: Option<String>,
}

impl Probe {
    /// The probe of a gate spec, or `None` for another kind of gate.
    pub(super) fn of(spec: &GateSpec, now_ms: u64) -> Option<Self> {
        let GateTarget::Probe { url } = &spec.target else { return None };
        let millis = |key: &str| match spec.params.get(key) {
            Some(Value::Duration(ms)) => Some(*ms),
            _ => None,
        };
        let integer = |key: &str| match spec.params.get(key) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        };
        Some(Self {
            name: format!("probe({url})"),
            url: url.clone(),
            expect: Expect {
                status: integer("status").and_then(|n| u16::try_from(n).ok()),
                body_contains: None,
                max_latency_ms: Some(millis("timeout").unwrap_or(2_000)),
            },
            every_ms: millis("every").unwrap_or(1_000).max(1),
            max_errors: integer("max_errors").and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            max_error_rate: match spec.params.get("max_error_rate") {
                Some(Value::Percentage(p)) => Some(*p),
                _ => None,
            },
            next_ms: now_ms,
            sent: 0,
            failed: 0,
            latencies_ms: Vec::new(),
            first_failure: None,
        })
    }

    /// Records one request (its latency and, when it failed, why) made at `now_ms`, and
    /// schedules the next; `Err` with the reason when the failures are over `max_errors`.
    pub(super) fn record(
        &mut self,
        failure: Option<String>,
        latency_ms: u64,
        now_ms: u64,
    ) -> Result<(), String> {
        self.sent += 1;
        self.latencies_ms.push(latency_ms);
        // A late request does not bunch the next ones up: the next is `every` after it.
        self.next_ms = (self.next_ms + self.every_ms).max(now_ms + 1);
        if let Some(why) = failure {
            self.failed += 1;
            self.first_failure.get_or_insert(why);
            if self.failed > self.max_errors {
                return Err(format!(
                    "{} failed (max_errors {}): {}; first: {}",
                    self.failed,
                    self.max_errors,
                    self.summary(),
                    self.first_failure.clone().unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    /// At the verdict: the summary, or why the error rate fails it.
    pub(super) fn verdict(&self) -> Result<String, String> {
        if let Some(limit) = self.max_error_rate
            && self.sent > 0
            && u128::from(self.failed) * 100
                > u128::from(self.sent) * u128::try_from(limit).unwrap_or(0)
        {
            return Err(format!(
                "{} failed, over max_error_rate {limit}%: {}; first: {}",
                self.failed,
                self.summary(),
                self.first_failure.clone().unwrap_or_default()
            ));
        }
        Ok(self.summary())
    }

    /// `412 requests, 0 failed; latency p50 3 ms, p99 12 ms, max 40 ms`.
    #[must_use]
    pub(super) fn summary(&self) -> String {
        let (sent, failed, p50, p99, max) = self.figures();
        format!(
            "{sent} requests, {failed} failed; latency p50 {p50} ms, p99 {p99} ms, max {max} ms"
        )
    }

    /// `(sent, failed, p50, p99, max)` for the event.
    pub(super) fn figures(&self) -> (u64, u64, u64, u64, u64) {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_unstable();
        let at = |q: usize| {
            sorted.get((sorted.len().saturating_sub(1) * q).div_ceil(100)).copied().unwrap_or(0)
        };
        (self.sent, self.failed, at(50), at(99), sorted.last().copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn probe(params: &[(&str, Value)]) -> Probe {
        let spec = GateSpec {
            target: GateTarget::Probe { url: "http://web.example.com/".to_owned() },
            params: params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        };
        Probe::of(&spec, 0).expect("a probe")
    }

    #[test]
    fn the_first_failure_fails_it_by_default() {
        let mut p = probe(&[]);
        assert_eq!((p.every_ms, p.expect.max_latency_ms), (1_000, Some(2_000)));
        assert!(p.record(None, 3, 0).is_ok());
        assert_eq!(p.next_ms, 1_000);
        let failed = p.record(Some("GET …: status 503".into()), 1, 1_000).expect_err("fails");
        assert_eq!(
            failed,
            "1 failed (max_errors 0): 2 requests, 1 failed; latency p50 3 ms, p99 3 ms, max 3 \
             ms; first: GET …: status 503"
        );
    }

    #[test]
    fn a_budget_of_errors_and_a_rate_decide_at_the_verdict() {
        let mut p =
            probe(&[("max_errors", Value::Integer(5)), ("max_error_rate", Value::Percentage(10))]);
        for n in 0..20 {
            let failure = (n % 5 == 0).then(|| "timeout".to_owned());
            assert!(p.record(failure, n, n * 1_000).is_ok(), "request {n}");
        }
        // 4 of 20 failed: within 5 errors, but 20 % is over 10 %.
        let verdict = p.verdict().expect_err("over the rate");
        assert!(verdict.starts_with("4 failed, over max_error_rate 10%: 20 requests"), "{verdict}");
        let mut fine = probe(&[("max_error_rate", Value::Percentage(10))]);
        assert!(fine.record(None, 1, 0).is_ok());
        assert_eq!(
            fine.verdict(),
            Ok("1 requests, 0 failed; latency p50 1 ms, p99 1 ms, max 1 ms".into())
        );
    }

    #[test]
    fn other_gates_are_not_probes() {
        let spec = GateSpec {
            target: GateTarget::Http { url: "/health".to_owned() },
            params: BTreeMap::new(),
        };
        assert!(Probe::of(&spec, 0).is_none());
    }
}
