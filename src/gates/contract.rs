//! The gate contract: a script defines `fn check(ctx)` and returns `true`/`false` or
//! `#{ ok, message, fatal }`; `fatal = true` fails the gate at once, without retries.

use std::collections::BTreeMap;

use rhai::Dynamic;

/// What a gate is given, as `ctx` (docs/gates.md lists the members).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct GateContext {
    /// The gate's parameters from the Deployfile (`url`, `expect`, …).
    pub params: BTreeMap<String, serde_json::Value>,
    pub cluster: String,
    pub service: String,
    /// Our deployment (`ecs-svc/…`) and its task definition.
    pub deployment_id: String,
    pub task_definition_arn: String,
    /// Pushed images by `build` step: `repository@sha256:…`.
    pub images: BTreeMap<String, String>,
    /// The commit deployed (`-dirty` with uncommitted changes); empty outside git.
    pub git_sha: String,
    /// 1 for the first attempt of this gate.
    pub attempt: u32,
    /// Milliseconds since the gate first ran.
    pub elapsed_ms: u64,
}

/// A task of our deployment, as `ecs::tasks()` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskInfo {
    pub id: String,
    pub last_status: String,
    /// `HEALTHY`, `UNHEALTHY` or `UNKNOWN`.
    pub health: String,
    /// The image digests its containers run.
    pub digests: Vec<String>,
    pub stop_code: String,
    pub stopped_reason: String,
    /// `[container, exit code]` for containers that exited.
    pub exit_codes: Vec<(String, i64)>,
    /// `host:port` of its published ports (`networkBindings`): where this task answers.
    pub endpoints: Vec<String>,
    /// Its private address (`awsvpc`), empty without one.
    pub private_ip: String,
}

/// What one attempt of a gate decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub message: String,
    /// Stop retrying: the gate has failed for good.
    pub fatal: bool,
}

/// What `check(ctx)` returned instead of an outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`check(ctx)` returns `true`, `false` or `#{{ ok: …, message: …, fatal: … }}`; \
     {found}"
)]
pub struct NotAnOutcome {
    pub found: String,
}

impl Outcome {
    #[must_use]
    pub fn pass(message: impl Into<String>) -> Self {
        Self { ok: true, message: message.into(), fatal: false }
    }

    #[must_use]
    pub fn fail(message: impl Into<String>) -> Self {
        Self { ok: false, message: message.into(), fatal: false }
    }

    /// Reads what `check(ctx)` returned; the error says what it should have.
    pub fn from_dynamic(value: &Dynamic) -> Result<Self, NotAnOutcome> {
        if let Ok(ok) = value.as_bool() {
            return Ok(Self { ok, message: String::new(), fatal: false });
        }
        let found = |found: String| NotAnOutcome { found };
        let Some(map) = value.read_lock::<rhai::Map>() else {
            return Err(found(format!("it returned {}", value.type_name())));
        };
        let ok = map
            .get("ok")
            .ok_or_else(|| found("the map has no `ok`".to_owned()))?
            .as_bool()
            .map_err(|kind| found(format!("its `ok` is {kind}, not a boolean")))?;
        let message = map.get("message").map(ToString::to_string).unwrap_or_default();
        let fatal = match map.get("fatal") {
            None => false,
            Some(value) => value
                .as_bool()
                .map_err(|kind| found(format!("its `fatal` is {kind}, not a boolean")))?,
        };
        if let Some(other) = map.keys().find(|k| !["ok", "message", "fatal"].contains(&k.as_str()))
        {
            return Err(found(format!("`{other}` is not one of them")));
        }
        Ok(Self { ok, message, fatal: fatal && !ok })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        let engine = rhai::Engine::new_raw();
        let read =
            |script: &str| Outcome::from_dynamic(&engine.eval::<Dynamic>(script).expect("eval"));
        assert_eq!(read("true"), Ok(Outcome { ok: true, message: String::new(), fatal: false }));
        assert_eq!(
            read(r#"#{ ok: false, message: "v1 != v2", fatal: true }"#),
            Ok(Outcome { ok: false, message: "v1 != v2".to_owned(), fatal: true })
        );
        let error = |script: &str| read(script).expect_err(script).to_string();
        assert!(error("42").ends_with("it returned i64"));
        assert!(error("#{ message: \"x\" }").ends_with("the map has no `ok`"));
        assert!(error("#{ ok: true, fatl: true }").contains("`fatl`"));
        assert!(error("42").starts_with("`check(ctx)` returns `true`, `false` or `#{ ok: …"));
        // `fatal` only means something for a failure.
        assert!(!read("#{ ok: true, fatal: true }").expect("ok").fatal);
    }
}
