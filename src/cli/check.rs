//! `ferry check`: parse and check a Deployfile, print every diagnostic, exit 2 on errors.

use super::output::{Verbosity, human_style, stderr, stdout, verbosity};
use super::{CheckArguments, ExitStatus, Format};
use crate::check::check_source;
use crate::diagnostic::Diagnostic;
use crate::render::{github_annotations, human_report, json_diagnostics};
use crate::source_file::{InputError, load};

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
    let mut diagnostics = checked.diagnostics.clone();
    let scripts = checked
        .file
        .as_ref()
        .map(|file| check_scripts(&source.path, &source.name, file, &mut diagnostics))
        .unwrap_or_default();
    let mut reports = vec![(source.name.clone(), source.text.clone(), diagnostics)];
    reports.extend(scripts);
    let all: Vec<&Diagnostic> = reports.iter().flat_map(|(_, _, d)| d).collect();
    let failed = all.iter().any(|d| d.is_error()) || (arguments.deny_warnings && !all.is_empty());
    let quiet = verbosity() == Verbosity::Quiet;
    let nothing = all.is_empty();
    if quiet && !arguments.deny_warnings && arguments.format == Format::Human {
        // `-q`: errors only (with --deny-warnings a warning fails the check, so it shows);
        // JSON and GitHub annotations, the command's output, stay whole.
        for (_, _, diagnostics) in &mut reports {
            diagnostics.retain(Diagnostic::is_error);
        }
    }
    print_all(arguments.format, &reports);
    if arguments.format == Format::Human && nothing && !quiet {
        let steps = checked.file.as_ref().map_or(0, |file| {
            file.items.iter().filter(|item| matches!(item, crate::syntax::Item::Step(_))).count()
        });
        let steps = if steps == 1 { "1 step".to_owned() } else { format!("{steps} steps") };
        stdout(&format!("{}: ok, {steps}\n", source.name));
    }
    if failed { ExitStatus::InvalidInput } else { ExitStatus::Success }
}

/// The gate scripts' diagnostics (docs/gates.md), each script named as the Deployfile's
/// directory is shown (`pipelines/gates/x.rhai`); a script that cannot be read is a
/// diagnostic of the Deployfile, added to `diagnostics`.
fn check_scripts(
    deployfile: &std::path::Path,
    name: &str,
    file: &crate::syntax::Deployfile,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, String, Vec<Diagnostic>)> {
    let base = deployfile.parent().unwrap_or_else(|| std::path::Path::new(""));
    let shown = std::path::Path::new(name).parent().unwrap_or_else(|| std::path::Path::new(""));
    let checked = crate::gates::check_scripts(base, file);
    diagnostics.extend(checked.missing);
    checked
        .scripts
        .into_iter()
        .filter(|script| !script.diagnostics.is_empty())
        .map(|script| {
            (shown.join(&script.path).display().to_string(), script.text, script.diagnostics)
        })
        .collect()
}

/// Prints each file's diagnostics; JSON is one array across the files.
fn print_all(format: Format, reports: &[(String, String, Vec<Diagnostic>)]) {
    if format == Format::Json {
        let files: Vec<(&str, &str, &[Diagnostic])> =
            reports.iter().map(|(n, t, d)| (n.as_str(), t.as_str(), d.as_slice())).collect();
        stdout(&crate::render::json_files(&files));
        return;
    }
    for (name, text, diagnostics) in reports {
        print(format, name, text, diagnostics);
    }
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
