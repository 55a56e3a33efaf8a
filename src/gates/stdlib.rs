//! The standard gate scripts (stdlib/), embedded: `script("std/NAME.rhai")` names one when
//! no file of that path exists beside the Deployfile.

/// `(name, text)` of every standard script.
pub const SCRIPTS: &[(&str, &str)] = &[
    ("std/http.rhai", include_str!("../../stdlib/http.rhai")),
    ("std/latency.rhai", include_str!("../../stdlib/latency.rhai")),
    ("std/tasks.rhai", include_str!("../../stdlib/tasks.rhai")),
    ("std/version.rhai", include_str!("../../stdlib/version.rhai")),
];

/// The standard script at `path`, if it names one.
#[must_use]
pub fn find(path: &str) -> Option<&'static str> {
    SCRIPTS.iter().find(|(name, _)| *name == path).map(|(_, text)| *text)
}

/// The largest gate script read.
pub const MAX_SCRIPT: u64 = 1024 * 1024;

/// Reads the gate script `path` (relative to `base`): the file — regular, at most 1 MiB —
/// else the standard script of that name. The error is the file's.
pub fn read(
    base: &std::path::Path,
    path: &str,
) -> Result<String, crate::regular_file::FileProblem> {
    match crate::regular_file::read_text(&base.join(path), MAX_SCRIPT) {
        Err(crate::regular_file::FileProblem::NotFound) => {
            find(path).map(str::to_owned).ok_or(crate::regular_file::FileProblem::NotFound)
        }
        other => other,
    }
}

/// The `.rhai` files under `base` (three levels deep at most; hidden folders and
/// `target` skipped), as paths relative to it, sorted: what `script("…")` may name.
#[must_use]
pub fn on_disk(base: &std::path::Path) -> Vec<String> {
    fn walk(dir: &std::path::Path, prefix: &str, depth: usize, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten().take(10_000) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if path.is_dir() && depth < 3 {
                walk(&path, &format!("{prefix}{name}/"), depth + 1, found);
            } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("rhai")) {
                found.push(format!("{prefix}{name}"));
            }
        }
    }
    let mut found = Vec::new();
    walk(base, "", 0, &mut found);
    found.sort();
    found
}

/// What `script("…")` may name beside the Deployfile at `base`: the `.rhai` files there
/// (`on_disk`), then the standard scripts.
#[must_use]
pub fn script_names(base: &std::path::Path) -> Vec<String> {
    let mut names = on_disk(base);
    names.extend(SCRIPTS.iter().map(|(name, _)| (*name).to_owned()));
    names
}

/// The gate scripts a Deployfile names: `(path, span of the path string)`.
#[must_use]
pub fn references(file: &crate::syntax::Deployfile) -> Vec<(String, crate::syntax::Span)> {
    let mut found = Vec::new();
    for item in &file.items {
        let crate::syntax::Item::Step(step) = item else { continue };
        for block in step.body.iter().flat_map(crate::syntax::Block::blocks) {
            let Some(call) = block.label.as_ref().and_then(crate::syntax::Expr::as_call) else {
                continue;
            };
            if block.kind.name != "gate" || call.function.name != "script" {
                continue;
            }
            if let Some(path) = call.positional().next()
                && let Some(text) = path.as_plain_string()
            {
                found.push((text, path.span));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_script_compiles() {
        for (name, text) in SCRIPTS {
            if let Err(diagnostics) = crate::gates::GateScript::compile(name, text) {
                panic!("{name}: {diagnostics:#?}");
            }
        }
        assert!(find("std/version.rhai").is_some_and(|t| t.contains("fn check(ctx)")));
        assert!(find("std/nothing.rhai").is_none());
    }
}

/// A gate script a Deployfile names, read and compiled.
#[derive(Debug)]
pub struct CheckedScript {
    /// The path as written in the Deployfile.
    pub path: String,
    /// The file it was read from; none for an embedded standard script.
    pub file: Option<std::path::PathBuf>,
    pub text: String,
    pub diagnostics: Vec<crate::diagnostic::Diagnostic>,
}

/// The gate scripts of a Deployfile, checked.
#[derive(Debug, Default)]
pub struct CheckedScripts {
    /// Diagnostics of the Deployfile: scripts that cannot be read, at their path.
    pub missing: Vec<crate::diagnostic::Diagnostic>,
    /// Each script once, in the order first named.
    pub scripts: Vec<CheckedScript>,
}

/// The diagnostic of a gate script that cannot be read, at its path in the Deployfile.
fn missing(
    path: &str,
    span: crate::syntax::Span,
    problem: &crate::regular_file::FileProblem,
) -> crate::diagnostic::Diagnostic {
    use crate::diagnostic::{Code, Diagnostic};
    Diagnostic::new(
        Code::ScriptNotFound,
        span,
        match problem {
            crate::regular_file::FileProblem::NotFound => {
                format!("gate script `{path}` does not exist")
            }
            other => format!("gate script `{path}` cannot be read: {other}"),
        },
    )
    .with_label("named here")
    .with_help(format!(
        "the path is relative to the Deployfile; the standard scripts are {}",
        SCRIPTS.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    ))
}

/// The gate scripts a Deployfile names that cannot be found: a check cheap enough for
/// every keystroke (it looks the files up without reading or compiling them).
#[must_use]
pub fn missing_scripts(
    base: &std::path::Path,
    file: &crate::syntax::Deployfile,
) -> Vec<crate::diagnostic::Diagnostic> {
    references(file)
        .into_iter()
        .filter(|(path, _)| find(path).is_none())
        .filter_map(|(path, span)| match std::fs::metadata(base.join(&path)) {
            Ok(meta) if meta.is_file() => None,
            Ok(_) => Some(missing(
                &path,
                span,
                &crate::regular_file::FileProblem::NotRegular("not a regular file"),
            )),
            Err(_) => Some(missing(&path, span, &crate::regular_file::FileProblem::NotFound)),
        })
        .collect()
}

/// Reads and compiles every gate script the Deployfile names (relative to `base`, else
/// the standard scripts): what `ferry check` and the language server report.
#[must_use]
pub fn check_scripts(base: &std::path::Path, file: &crate::syntax::Deployfile) -> CheckedScripts {
    let mut checked = CheckedScripts::default();
    for (path, span) in references(file) {
        if checked.scripts.iter().any(|script| script.path == path)
            || checked.missing.iter().any(|d| d.span() == span)
        {
            continue;
        }
        match read(base, &path) {
            Err(error) => checked.missing.push(missing(&path, span, &error)),
            Ok(text) => {
                let diagnostics =
                    super::GateScript::compile(&path, &text).err().unwrap_or_default();
                let on_disk = base.join(&path);
                let file = on_disk.is_file().then_some(on_disk);
                checked.scripts.push(CheckedScript { path, file, text, diagnostics });
            }
        }
    }
    checked
}
