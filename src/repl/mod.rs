//! `ferry repl`: an interactive dry run of the Deployfile (docs/repl.md). `session.rs`
//! holds the pipeline and answers one input at a time; `terminal.rs` is the line editor
//! (completion, highlighting, history, multi-line blocks) on a terminal; `script` below
//! reads standard input line by line when it is not one. Every call to the target is a
//! read: the REPL never builds, pushes, registers, updates or deregisters.

mod commands;
mod session;
mod terminal;

use std::io::{BufRead, Write};

pub use commands::{COMMANDS, Command, HELP};
pub use session::{Connector, Loaded, Loader, Reply, Session, Source};
pub use terminal::{history_path, interactive};

use crate::aws::{Ecs, ServiceView};
use crate::eval::UpdateStep;
use crate::local::behaviour::FaultFile;
use crate::local::scheduler::{CircuitBreaker, SchedulerSettings};
use crate::local::simulation::SimulationInput;
use crate::syntax::open_brackets;

/// A read-only connection to the target, opened on the first command that needs one.
pub struct Connection {
    /// The in-process local ECS, when it is the target; it is dropped on the runtime.
    pub local: Option<Box<dyn std::any::Any + Send>>,
    pub client: aws_sdk_ecs::Client,
    /// `aws` or `local`.
    pub target: String,
    pub runtime: tokio::runtime::Runtime,
}

impl Connection {
    /// An ECS client that counts its calls from zero.
    #[must_use]
    pub fn ecs(&self) -> Ecs {
        Ecs::new(self.client.clone())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let local = self.local.take();
        self.runtime.block_on(async move { drop(local) });
    }
}

/// The rollout an `update` step would start: its settings over the live service's.
#[must_use]
pub fn simulation_input(update: &UpdateStep, live: Option<&ServiceView>) -> SimulationInput {
    let number = |own: Option<i64>, live: Option<i32>, default: u32| {
        own.and_then(|n| u32::try_from(n).ok())
            .or_else(|| live.and_then(|n| u32::try_from(n).ok()))
            .unwrap_or(default)
    };
    let breaker = match update.circuit_breaker.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("rollback") => Some((true, true)),
        Some("on") => Some((true, false)),
        Some(_) => Some((false, false)),
        None => live.and_then(|s| s.circuit_breaker),
    };
    SimulationInput {
        desired: number(update.desired, live.map(|s| s.desired), 1),
        min_healthy_percent: number(update.min_healthy, live.and_then(|s| s.min_healthy), 100),
        max_percent: number(update.max, live.and_then(|s| s.max), 200),
        capacity: None,
        circuit_breaker: breaker.map_or(CircuitBreaker::OFF, |(enable, rollback)| CircuitBreaker {
            enable,
            rollback,
            reset_on_healthy_task: true,
        }),
        grace_ms: u64::from(number(update.grace_s, live.and_then(|s| s.grace_s), 0)) * 1000,
        drain_ms: 0,
        faults: FaultFile::default(),
        settings: SchedulerSettings::default(),
    }
}

/// Reads inputs from `input` (not a terminal): lines are gathered while brackets are
/// open, each complete input is handled and its reply written, no prompts. Returns
/// whether any input failed.
pub fn script(session: &mut Session, input: impl BufRead, out: &mut impl Write) -> bool {
    let mut failed = false;
    let mut pending = String::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        pending.push_str(&line);
        pending.push('\n');
        if pending.trim_start().starts_with(':') || open_brackets(&pending) == 0 {
            let reply = session.handle(&std::mem::take(&mut pending));
            failed |= reply.failed;
            let _ = out.write_all(reply.text.as_bytes());
            let _ = out.flush();
            if reply.quit {
                return failed;
            }
        }
    }
    if !pending.trim().is_empty() {
        let reply = session.handle(&pending);
        failed |= reply.failed;
        let _ = out.write_all(reply.text.as_bytes());
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::{UpdateStep, script, simulation_input};

    #[test]
    fn the_steps_settings_win_over_the_live_ones() {
        let update = UpdateStep {
            desired: Some(6),
            circuit_breaker: Some("rollback".to_owned()),
            grace_s: Some(30),
            ..UpdateStep::default()
        };
        let input = simulation_input(&update, None);
        assert_eq!((input.desired, input.min_healthy_percent, input.max_percent), (6, 100, 200));
        assert!(input.circuit_breaker.enable && input.circuit_breaker.rollback);
        assert_eq!(input.grace_ms, 30_000);
    }

    #[test]
    fn a_script_gathers_lines_while_a_block_is_open() {
        let load: super::Loader = Box::new(|| super::Loaded {
            source: Ok(None),
            workspace: crate::eval::Workspace::default(),
            base_dir: std::path::PathBuf::from("."),
        });
        let connect: super::Connector = Box::new(|_, _| Err("no target in this test".to_owned()));
        let (mut session, _) = super::Session::start(
            load,
            connect,
            None,
            crate::report::HumanStyle { color: false, width: 80 },
        );
        let mut out = Vec::new();
        let input = "build a {\n  context = \".\"\n}\n:plan\na\n";
        let failed = script(&mut session, input.as_bytes(), &mut out);
        let out = String::from_utf8(out).expect("UTF-8");
        assert!(failed, "`:plan` without a target fails");
        assert_eq!(
            out,
            "added `build a`\nerror: no target in this test\n<image of `build a`, pinned when pushed> : image\n"
        );
    }
}
