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

/// Reads the gate script `path` (relative to `base`): the file, else the standard script of
/// that name. The error is the file's.
pub fn read(base: &std::path::Path, path: &str) -> Result<String, std::io::Error> {
    match std::fs::read_to_string(base.join(path)) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            find(path).map(str::to_owned).ok_or(error)
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
