//! `ferry repl`: an interactive dry run of the Deployfile (docs/repl.md). `session.rs`
//! holds the pipeline and answers one input at a time; `terminal.rs` is the line editor
//! (completion, highlighting, history, multi-line blocks) on a terminal; `script` below
//! reads standard input line by line when it is not one. Every call to the target is a
//! read: the REPL never builds, pushes, registers, updates or deregisters.

mod commands;
mod session;
mod terminal;

use std::io::{BufRead, Write};

pub(crate) use session::{Loaded, Loader, Session, Source};
pub(crate) use terminal::{history_path, interactive};

use crate::aws::Ecs;
use crate::syntax::open_brackets;

/// A read-only connection to the target, opened on the first command that needs one.
pub(crate) struct Connection {
    /// The in-process local ECS, when it is the target; it is dropped on the runtime.
    pub local: Option<Box<dyn std::any::Any + Send>>,
    pub clients: crate::aws::Clients,
    /// `aws` or `local`.
    pub target: String,
    /// Tasks each cluster has room for, where known (the local ECS's `--capacity`).
    pub capacity: Option<u32>,
    pub runtime: tokio::runtime::Runtime,
}

impl Connection {
    /// An ECS client that counts its calls from zero.
    #[must_use]
    pub(crate) fn ecs(&self) -> Ecs {
        Ecs::new(&self.clients)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let local = self.local.take();
        self.runtime.block_on(async move { drop(local) });
    }
}

/// Reads inputs from `input` (not a terminal): lines are gathered while brackets are
/// open, each complete input is handled and its reply written, no prompts. Returns
/// whether any input failed.
pub(crate) fn script(session: &mut Session, input: impl BufRead, out: &mut impl Write) -> bool {
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
    use super::script;

    #[test]
    fn a_script_gathers_lines_while_a_block_is_open() {
        let load: super::Loader = Box::new(|| super::Loaded {
            source: Ok(None),
            workspace: crate::eval::Workspace::default(),
            base_dir: std::path::PathBuf::from("."),
        });
        let connect: super::session::Connector =
            Box::new(|_, _| Err(crate::error::Error::usage("no target in this test")));
        let (mut session, _) = super::Session::start(
            load,
            connect,
            None,
            crate::render::HumanStyle { color: false, width: 80 },
            false,
        );
        let mut out = Vec::new();
        let input = "build a {\n  context = \".\"\n}\n:plan\na\n";
        let failed = script(&mut session, input.as_bytes(), &mut out);
        let out = String::from_utf8(out).expect("UTF-8");
        assert!(failed, "`:plan` without a target fails");
        assert_eq!(
            out,
            "added `build a`\nerror: no target in this test\n<image of `build a`, pinned when \
             pushed> : image\n"
        );
    }
}
