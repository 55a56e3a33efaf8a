//! The command line: parse arguments, run one subcommand, turn the outcome into an exit
//! code. One file per subcommand. `run` holds no global state.

mod arguments;
mod check;
mod exit_status;
mod fmt;
mod local;
mod manual;
mod output;
mod plan;
mod prepare;
mod repl;
mod rollback;
mod run;
mod simulate;
mod status;
mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser as _;

pub use crate::source_file::MAX_SIZE;
pub(crate) use crate::source_file::{DEFAULT_NAME, find};
pub(crate) use arguments::{
    Arguments, CheckArguments, CircuitBreakerMode, Command, DeployfileArguments, FmtArguments,
    Format, LocalArguments, Output, PlanArguments, ReplArguments, ReportFormat, RollbackArguments,
    RunArguments, RuntimeKind, SimulateArguments, SimulateFormat, StatusArguments, TargetArguments,
    TargetKind,
};
pub(crate) use exit_status::ExitStatus;

/// Runs ferry with `args` (the program name first) and returns its exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let arguments = match Arguments::try_parse_from(args) {
        Ok(arguments) => arguments,
        Err(error) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    output::set_color(arguments.color);
    output::set_verbosity(arguments.quiet, arguments.verbose);
    let status = match arguments.command {
        Command::Check(arguments) => check::run(&arguments),
        Command::Fmt(arguments) => fmt::run(&arguments),
        Command::Simulate(arguments) => simulate::run(&arguments),
        Command::Local(arguments) => local::run(&arguments),
        Command::Run(arguments) => run::run(&arguments),
        Command::Plan(arguments) => plan::run(&arguments),
        Command::Repl(arguments) => repl::run(&arguments),
        Command::Lsp => match crate::lsp::serve_stdio() {
            Ok(()) => ExitStatus::Success,
            Err(error) => output::failed(error),
        },
        Command::Status(arguments) => status::run(&arguments),
        Command::Rollback(arguments) => rollback::run(&arguments),
        Command::Completions { shell } => manual::completions(shell),
        Command::Man { command } => manual::man(command.as_deref()),
    };
    status.into()
}
