//! `ferry completions SHELL` and `ferry man [COMMAND]`: the shell's completion script and
//! the man page, both generated from the same clap definition the parser uses.

use clap::CommandFactory as _;

use super::output::{failed, stdout};
use super::{Arguments, ExitStatus};
use crate::error::Error;

pub(super) fn completions(shell: clap_complete::Shell) -> ExitStatus {
    let mut command = Arguments::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ferry", &mut script);
    stdout(&String::from_utf8_lossy(&script));
    ExitStatus::Success
}

pub(super) fn man(name: Option<&str>) -> ExitStatus {
    // Built, so a command's page carries the global flags (`--color`) too.
    let mut ferry = Arguments::command();
    ferry.build();
    let command = match name.map(|name| (name, ferry.find_subcommand(name))) {
        None => ferry.clone(),
        Some((name, Some(command))) => command.clone().name(format!("ferry-{name}")),
        Some((name, None)) => {
            let names: Vec<String> =
                ferry.get_subcommands().map(|c| c.get_name().to_owned()).collect();
            return failed(Error::Usage {
                message: format!("`{name}` is not a ferry command"),
                help: Some(
                    crate::suggestion::did_you_mean(name, names.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("the commands: {}", names.join(", "))),
                ),
            });
        }
    };
    let mut page = Vec::new();
    if let Err(error) = clap_mangen::Man::new(command).render(&mut page) {
        return failed(Error::usage(format!("the man page could not be made: {error}")));
    }
    stdout(&String::from_utf8_lossy(&page));
    ExitStatus::Success
}
