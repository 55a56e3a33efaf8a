//! `ferry repl`: the REPL (src/repl/) wired to the files and the target. On a terminal it
//! is the line editor; otherwise standard input is read as a script, without prompts.
//! Exit code: 0, or 2 when the Deployfile did not load or (as a script) an input failed.

use std::io::IsTerminal;
use std::path::Path;

use super::output::style_for;
use super::prepare::{connect, runtime};
use super::workspace::gather;
use super::{DEFAULT_NAME, ExitStatus, ReplArguments, TargetArguments};
use crate::aws::Clients;
use crate::error::Error;
use crate::eval::Settings;
use crate::repl::{Connection, Loaded, Loader, Session, Source, history_path, interactive, script};
use crate::source_file::load;

pub(super) fn run(arguments: &ReplArguments) -> ExitStatus {
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let style = style_for(terminal);
    let file = arguments.deployfile.file.clone();
    let load: Loader = Box::new(move || read(file.as_deref()));
    let target = arguments.target.clone();
    let connector =
        Box::new(move |settings: &Settings, base_dir: &Path| open(&target, settings, base_dir));
    let (mut session, started) = Session::start(
        load,
        connector,
        arguments.deployfile.environment.clone(),
        style,
        arguments.show_values,
    );
    print!("{}", started.text);
    let failed = if terminal {
        match interactive(&mut session, history_path(), style.color) {
            Ok(()) => false,
            Err(error) => {
                super::output::error(&Error::Terminal(error), &crate::sensitive::Mask::none());
                true
            }
        }
    } else {
        script(&mut session, std::io::stdin().lock(), &mut std::io::stdout().lock())
    };
    if started.failed || (failed && !terminal) {
        ExitStatus::InvalidInput
    } else {
        ExitStatus::Success
    }
}

/// The Deployfile and the workspace of its folder; without one (none named, none found,
/// or unreadable), the workspace of the working directory.
fn read(file: Option<&Path>) -> Loaded {
    let working_dir = std::env::current_dir().unwrap_or_default();
    let here = |source| Loaded {
        source,
        workspace: gather(&working_dir.join(DEFAULT_NAME)),
        base_dir: working_dir.clone(),
    };
    if file.is_none() && super::find(&working_dir).is_none() {
        return here(Ok(None));
    }
    match load(file, &working_dir) {
        Ok(source) => Loaded {
            workspace: gather(&source.path),
            base_dir: source
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| working_dir.clone(), Path::to_path_buf),
            source: Ok(Some(Source { name: source.name, text: source.text })),
        },
        Err(error) => here(Err(error.into())),
    }
}

/// The read-only connection: the local ECS reads its state file and leaves it alone.
fn open(
    target: &TargetArguments,
    settings: &Settings,
    base_dir: &Path,
) -> Result<Connection, Error> {
    let runtime = runtime()?;
    let (clients, local, name) = runtime.block_on(async {
        let (target, local, _clock) =
            connect(target, settings, &base_dir.join(DEFAULT_NAME), true).await?;
        let clients = Clients::new(&target).await;
        let name = if local.is_some() { "local" } else { "aws" };
        Ok::<_, Error>((clients, local, name))
    })?;
    Ok(Connection {
        capacity: local.as_ref().and_then(crate::local::LocalEcs::capacity),
        local: local.map(|local| Box::new(local) as Box<dyn std::any::Any + Send>),
        clients,
        target: name.to_owned(),
        runtime,
    })
}
