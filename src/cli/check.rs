//! `ferry check`: parse and check a Deployfile, print every diagnostic, exit 2 on errors.

use super::output::{human_style, stderr, stdout};
use super::source_file::{InputError, load};
use super::{CheckArguments, ExitStatus, Format};
use crate::check::check_source;
use crate::diagnostic::Diagnostic;
use crate::report::{github_annotations, human_report, json_diagnostics};

pub(super) fn run(arguments: &CheckArguments) -> ExitStatus {
    let working_dir = std::env::current_dir().unwrap_or_default();
    let source = match load(arguments.file.as_deref(), &working_dir) {
        Ok(source) => source,
        Err(InputError { name, text, diagnostic }) => {
            print(arguments.format, &name, &text, &[diagnostic]);
            return ExitStatus::InvalidInput;
        }
    };
    let checked = check_source(&source.text);
    print(arguments.format, &source.name, &source.text, &checked.diagnostics);
    let failed =
        checked.has_errors() || (arguments.deny_warnings && !checked.diagnostics.is_empty());
    if arguments.format == Format::Human && checked.diagnostics.is_empty() {
        let steps = checked.file.as_ref().map_or(0, |file| {
            file.items.iter().filter(|item| matches!(item, crate::syntax::Item::Step(_))).count()
        });
        let steps = if steps == 1 { "1 step".to_owned() } else { format!("{steps} steps") };
        stdout(&format!("{}: ok, {steps}\n", source.name));
    }
    if failed { ExitStatus::InvalidInput } else { ExitStatus::Success }
}

fn print(format: Format, name: &str, text: &str, diagnostics: &[Diagnostic]) {
    match format {
        Format::Human if diagnostics.is_empty() => {}
        Format::Human => {
            stderr(&human_report(name, text, diagnostics, human_style()));
        }
        Format::Json => stdout(&json_diagnostics(name, text, diagnostics)),
        Format::Github => stdout(&github_annotations(name, text, diagnostics)),
    }
}
