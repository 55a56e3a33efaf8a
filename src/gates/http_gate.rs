//! The built-in gate `http(url) { status, body_contains, max_latency, every, pass, within }`:
//! one GET per attempt; it passes when the status is `status` (default 200), the body holds
//! `body_contains` and the answer came within `max_latency`. A `url` that is a path
//! (`/health`) is asked of every running task of our deployment, at each port it
//! publishes; all must pass.

use std::time::Duration;

use super::contract::Outcome;
use super::host::{HttpAnswer, HttpClient, HttpFailure, HttpRequest};

/// What the gate expects of the answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expect {
    pub status: Option<u16>,
    pub body_contains: Option<String>,
    pub max_latency_ms: Option<u64>,
}

/// The request's timeout: `max_latency` when set (a slower answer fails anyway), else 10 s.
#[must_use]
pub fn timeout(expect: &Expect) -> Duration {
    Duration::from_millis(expect.max_latency_ms.map_or(10_000, |ms| ms.max(1)))
}

/// The URLs an attempt asks: `url` itself, or for a path, `http://ENDPOINT/path` for every
/// published port of every running task of ours.
#[must_use]
pub fn targets(url: &str, tasks: &[super::contract::TaskInfo]) -> Vec<String> {
    if !url.starts_with('/') {
        return vec![url.to_owned()];
    }
    tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING")
        .flat_map(|t| t.endpoints.iter().map(move |e| format!("http://{e}{url}")))
        .collect()
}

/// One attempt against every URL of `urls`: the first that fails decides.
pub fn attempt_all(client: &dyn HttpClient, urls: &[String], expect: &Expect) -> Outcome {
    if urls.is_empty() {
        return Outcome::fail("no running task of our deployment publishes a port yet");
    }
    let mut passed = Vec::new();
    for url in urls {
        let outcome = attempt(client, url, expect);
        if !outcome.ok {
            return outcome;
        }
        passed.push(outcome.message);
    }
    if passed.len() == 1 {
        Outcome::pass(passed.remove(0))
    } else {
        Outcome::pass(format!("{} tasks answered: {}", passed.len(), passed.join("; ")))
    }
}

/// One attempt against `url`.
pub fn attempt(client: &dyn HttpClient, url: &str, expect: &Expect) -> Outcome {
    let request = HttpRequest {
        method: "GET".to_owned(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: String::new(),
    };
    judge(url, client.send(&request, timeout(expect)), expect)
}

/// Judges an answer (or its absence).
#[must_use]
pub fn judge(url: &str, answer: Result<HttpAnswer, HttpFailure>, expect: &Expect) -> Outcome {
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return Outcome::fail(format!("GET {url}: {error}")),
    };
    let status = expect.status.unwrap_or(200);
    if answer.status != status {
        return Outcome::fail(format!("GET {url}: status {} (expected {status})", answer.status));
    }
    if let Some(text) = &expect.body_contains
        && !answer.body.contains(text.as_str())
    {
        return Outcome::fail(format!(
            "GET {url}: the body does not contain {}",
            crate::syntax::quoted(text)
        ));
    }
    if let Some(limit) = expect.max_latency_ms
        && answer.elapsed_ms > limit
    {
        return Outcome::fail(format!(
            "GET {url}: answered in {} ms (max_latency {limit} ms)",
            answer.elapsed_ms
        ));
    }
    Outcome::pass(format!("GET {url}: {} in {} ms", answer.status, answer.elapsed_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // the shape `judge` takes
    fn answer(status: u16, body: &str, elapsed_ms: u64) -> Result<HttpAnswer, HttpFailure> {
        Ok(HttpAnswer { status, headers: vec![], body: body.to_owned(), elapsed_ms })
    }

    #[test]
    fn judged_on_status_body_and_latency() {
        let url = "http://127.0.0.1:1/health";
        let expect = Expect {
            status: Some(200),
            body_contains: Some("ok".to_owned()),
            max_latency_ms: Some(500),
        };
        assert!(judge(url, answer(200, "all ok", 20), &expect).ok);
        let cases = [
            (answer(503, "ok", 20), "status 503 (expected 200)"),
            (answer(200, "down", 20), "the body does not contain \"ok\""),
            (answer(200, "ok", 900), "answered in 900 ms (max_latency 500 ms)"),
            (Err(HttpFailure::Failed("connection refused".to_owned())), "connection refused"),
        ];
        for (given, reason) in cases {
            let outcome = judge(url, given, &expect);
            assert!(!outcome.ok && !outcome.fatal);
            assert!(outcome.message.ends_with(reason), "{}", outcome.message);
        }
        assert!(
            judge(url, answer(204, "", 1), &Expect { status: Some(204), ..Expect::default() }).ok
        );
    }
}
