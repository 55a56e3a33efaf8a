//! `editors/deployfile.tmLanguage.json`: tokenized by a real TextMate engine
//! (textmate-grammar-python, a port of vscode-textmate on Oniguruma, from the Python
//! environment of scripts/python-env) over a Deployfile, and kept in step with the
//! language: its keywords are the step kinds, its functions the built-ins. And
//! `editors/vscode/`, checked as `vsce package` reads it, since npm and vsce cannot run
//! here (docs/editors.md): the manifest, the files it names, the grammar copied at build
//! time (never a symlink), the .vscodeignore, and the copy script run by node when present.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::moto::python_tool;
use crate::support::test::root;

#[test]
fn the_grammar_names_what_the_language_has() {
    let grammar: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("editors/deployfile.tmLanguage.json"))
            .expect("grammar"),
    )
    .expect("JSON");
    assert_eq!(grammar["scopeName"], "source.deployfile");
    let step = grammar["repository"]["step"]["match"].as_str().expect("step");
    let keywords: Vec<&str> = ferry::syntax::StepKind::ALL.iter().map(|k| k.keyword()).collect();
    assert!(step.contains(&format!("({})", keywords.join("|"))), "{step}");
    let functions = grammar["repository"]["value"]["patterns"]
        .as_array()
        .expect("patterns")
        .iter()
        .find(|p| p["name"] == "support.function.builtin.deployfile")
        .and_then(|p| p["match"].as_str())
        .expect("functions");
    let names: Vec<&str> = ferry::check::schema::FUNCTIONS.iter().map(|f| f.name).collect();
    assert!(functions.contains(&format!("(?:{})", names.join("|"))), "{functions}");
}

#[test]
fn a_textmate_engine_highlights_a_deployfile() {
    let Some(python) = python_tool("python") else { return };
    let output = Command::new(python)
        .arg(root().join("tests/grammar_tokens.py"))
        .arg(root().join("editors/deployfile.tmLanguage.json"))
        .arg(root().join("pipelines/web.deploy"))
        .output()
        .expect("python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tokens: Vec<(u64, String, String)> = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a token");
            (
                v[0].as_u64().expect("line"),
                v[2].as_str().expect("text").to_owned(),
                v[3].as_str().expect("scope").to_owned(),
            )
        })
        .collect();
    let scope_of = |text: &str| {
        tokens.iter().find(|(_, t, _)| t == text).map_or_else(
            || panic!("no token `{text}` in {tokens:#?}"),
            |(_, _, scope)| scope.as_str(),
        )
    };
    assert_eq!(scope_of("build"), "keyword.control.step.deployfile");
    assert_eq!(scope_of("web_task"), "entity.name.function.step.deployfile");
    assert_eq!(scope_of("environment"), "keyword.other.settings.deployfile");
    assert_eq!(scope_of("staging"), "entity.name.namespace.environment.deployfile");
    assert_eq!(scope_of("container"), "storage.type.block.deployfile");
    assert_eq!(scope_of("task_definition"), "variable.other.property.deployfile");
    assert_eq!(scope_of("\"eu-west-1\""), "string.quoted.double.deployfile");
    assert_eq!(scope_of("${"), "punctuation.section.interpolation.begin.deployfile");
    assert_eq!(scope_of("60s"), "constant.numeric.duration.deployfile");
    assert_eq!(scope_of("100%"), "constant.numeric.percentage.deployfile");
    assert_eq!(scope_of("ecr"), "support.function.builtin.deployfile");
    assert_eq!(scope_of("git"), "variable.language.namespace.deployfile");
    // `rollback` is a step keyword in `on failure`, a word in `circuit_breaker = rollback`.
    let scopes: Vec<&str> =
        tokens.iter().filter(|(_, t, _)| t == "rollback").map(|(_, _, s)| s.as_str()).collect();
    assert_eq!(scopes, ["variable.other.reference.deployfile", "keyword.control.step.deployfile"]);
    // `environment = { … }` in a container is a field, not the keyword.
    let fields = tokens
        .iter()
        .filter(|(_, t, s)| t == "environment" && s == "variable.other.property.deployfile");
    assert_eq!(fields.count(), 1);
    assert!(tokens.iter().any(|(_, _, scope)| scope == "comment.line.number-sign.deployfile"));
}

// The VS Code extension.

fn vscode() -> PathBuf {
    root().join("editors/vscode")
}

fn vscode_manifest() -> Value {
    let text = std::fs::read_to_string(vscode().join("package.json")).expect("package.json");
    serde_json::from_str(&text).expect("package.json is JSON")
}

/// The string at `pointer` (a JSON pointer) in package.json; fails when it is absent or blank.
fn text_at<'a>(manifest: &'a Value, pointer: &str) -> &'a str {
    let text = manifest.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    assert!(!text.trim().is_empty(), "editors/vscode/package.json has no `{pointer}`");
    text
}

/// A path of package.json (`./extension.js`) as vsce names it in the package.
fn packaged(path: &str) -> String {
    path.strip_prefix("./").unwrap_or(path).to_owned()
}

/// vsce's `nameRegex` for `name` and `publisher`: `^[a-z0-9][a-z0-9\-]*$`, any case.
fn is_vsce_identifier(id: &str) -> bool {
    id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// vsce's test of `engines.vscode`: `*`, or `^`/`>=`, three numbers (or `x`), a tag.
fn is_vsce_engine(range: &str) -> bool {
    if range == "*" {
        return true;
    }
    let version = range.strip_prefix('^').or_else(|| range.strip_prefix(">=")).unwrap_or(range);
    let core = version.split_once('-').map_or(version, |(core, _)| core);
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| *p == "x" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// A release version `MAJOR.MINOR.PATCH` (what vsce's `semver.valid` accepts, without tags).
fn is_release_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (*p == "0" || !p.starts_with('0'))
        })
}

#[test]
fn the_vscode_manifest_has_what_vsce_requires() {
    let manifest = vscode_manifest();
    for pointer in ["/name", "/publisher"] {
        let id = text_at(&manifest, pointer);
        assert!(is_vsce_identifier(id), "`{pointer}` `{id}` is not an identifier vsce accepts");
    }
    let version = text_at(&manifest, "/version");
    assert!(is_release_version(version), "`version` `{version}` is not MAJOR.MINOR.PATCH");
    let engine = text_at(&manifest, "/engines/vscode");
    assert!(is_vsce_engine(engine), "`engines.vscode` `{engine}` is not a range vsce accepts");
    for pointer in ["/displayName", "/description", "/homepage", "/bugs/url", "/repository/type"] {
        text_at(&manifest, pointer);
    }
    assert_eq!(text_at(&manifest, "/repository/url"), "https://github.com/ferry-deploy/ferry");
    assert_eq!(text_at(&manifest, "/repository/directory"), "editors/vscode");
    // The extension is licensed as the crate is.
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let license = cargo.lines().find_map(|l| l.strip_prefix("license = ")).expect("a license");
    assert_eq!(format!("\"{}\"", text_at(&manifest, "/license")), license);
    for list in ["categories", "keywords", "activationEvents"] {
        let items = manifest[list].as_array().map_or(0, Vec::len);
        assert!(items > 0, "package.json has no `{list}`");
    }
    // `vsce package` runs `vscode:prepublish` first; `npm run package` runs vsce.
    assert_eq!(manifest["scripts"]["vscode:prepublish"], "node scripts/copy-grammar.js");
    assert_eq!(manifest["scripts"]["package"], "vsce package");
    assert!(manifest["devDependencies"]["@vscode/vsce"].is_string(), "vsce is no devDependency");
    assert!(manifest["dependencies"]["vscode-languageclient"].is_string(), "no language client");
    // vsce refuses `vscode` as a dependency, and `files` beside a .vscodeignore.
    assert!(manifest["dependencies"].get("vscode").is_none(), "`vscode` is a dependency");
    assert!(manifest.get("files").is_none(), "package.json has `files` and a .vscodeignore");
    for file in ["README.md", "LICENSE"] {
        let text = std::fs::read_to_string(vscode().join(file)).unwrap_or_default();
        assert!(!text.trim().is_empty(), "editors/vscode/{file} is missing or empty");
    }
    let readme = std::fs::read_to_string(vscode().join("README.md")).expect("README.md");
    assert!(!readme.contains("This is the README for your extension "), "vsce's template");
    let license = std::fs::read_to_string(vscode().join("LICENSE")).expect("LICENSE");
    for words in ["MIT License", "Apache License", "Version 2.0", "the ferry developers"] {
        assert!(license.contains(words), "editors/vscode/LICENSE does not say `{words}`");
    }
}

#[test]
fn the_vscode_extension_ships_the_files_its_manifest_names() {
    let manifest = vscode_manifest();
    let main = text_at(&manifest, "/main");
    assert!(vscode().join(packaged(main)).is_file(), "`main` {main} is not a file");
    let languages = manifest["contributes"]["languages"].as_array().expect("languages");
    assert!(!languages.is_empty(), "no language");
    for language in languages {
        let configuration = language["configuration"].as_str().expect("a configuration");
        let text = std::fs::read_to_string(vscode().join(packaged(configuration)))
            .unwrap_or_else(|e| panic!("{configuration}: {e}"));
        serde_json::from_str::<Value>(&text).expect("the language configuration is JSON");
    }
    // The grammar is not in the folder: `vscode:prepublish` copies it from its one source.
    let source = root().join("editors/deployfile.tmLanguage.json");
    let grammar: Value =
        serde_json::from_str(&std::fs::read_to_string(&source).expect("grammar")).expect("JSON");
    let grammars = manifest["contributes"]["grammars"].as_array().expect("grammars");
    assert_eq!(grammars.len(), 1, "{grammars:?}");
    let path = grammars[0]["path"].as_str().expect("a grammar path");
    assert_eq!(path, "./syntaxes/deployfile.tmLanguage.json");
    assert_eq!(grammars[0]["scopeName"], grammar["scopeName"]);
    assert_eq!(grammars[0]["language"], languages[0]["id"]);
    let script = std::fs::read_to_string(vscode().join("scripts/copy-grammar.js")).expect("script");
    for words in [
        "\"../deployfile.tmLanguage.json\"".to_owned(),
        format!("\"{}\"", packaged(path)),
        "fs.mkdirSync(".to_owned(),
        "recursive: true".to_owned(),
        "fs.copyFileSync(source, target)".to_owned(),
    ] {
        assert!(script.contains(&words), "scripts/copy-grammar.js does not say {words}");
    }
    let gitignore = std::fs::read_to_string(vscode().join(".gitignore")).expect(".gitignore");
    let copy = format!("/{}", packaged(path));
    for line in [copy.as_str(), "*.vsix", "/node_modules/"] {
        assert!(gitignore.lines().any(|l| l == line), "editors/vscode/.gitignore lacks {line}");
    }
}

#[test]
fn the_vscode_extension_starts_ferry_lsp_from_its_setting() {
    let manifest = vscode_manifest();
    let setting = &manifest["contributes"]["configuration"]["properties"]["ferry.path"];
    assert_eq!(setting["type"], "string", "{setting}");
    assert_eq!(setting["default"], "ferry", "{setting}");
    let main = text_at(&manifest, "/main");
    let script = std::fs::read_to_string(vscode().join(packaged(main))).expect("extension.js");
    for words in [
        "require(\"vscode-languageclient/node\")",
        "getConfiguration(\"ferry\").get(\"path\")",
        "args: [\"lsp\"]",
        "language: \"deployfile\"",
        "module.exports = { activate, deactivate }",
    ] {
        assert!(script.contains(words), "{main} does not say {words}");
    }
}

/// The symlinks under `dir`, outside `node_modules` (npm links its `.bin` there; vsce takes
/// the dependencies from npm, not from the folder).
fn symlinks_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.expect("a directory entry");
        let kind = std::fs::symlink_metadata(entry.path()).expect("metadata").file_type();
        if kind.is_symlink() {
            found.push(entry.path());
        } else if kind.is_dir() && entry.file_name() != "node_modules" {
            symlinks_under(&entry.path(), found);
        }
    }
}

#[test]
fn no_file_of_the_vscode_extension_is_a_symlink() {
    let mut found = Vec::new();
    symlinks_under(&vscode(), &mut found);
    assert!(found.is_empty(), "vsce does not follow symlinks reliably: {found:?}");
}

/// One path segment against one pattern segment: `*` any run, `?` one character.
fn segment_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| segment_matches(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && segment_matches(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && segment_matches(rest, &name[1..]),
    }
}

/// A path against a pattern, segment by segment; `**` is any number of segments.
fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| segments_match(rest, &path[i..])),
        Some((segment, rest)) => {
            path.first().is_some_and(|p| segment_matches(segment.as_bytes(), p.as_bytes()))
                && segments_match(rest, &path[1..])
        }
    }
}

/// minimatch with `{ dot: true }`, as vsce calls it, for the patterns without braces,
/// classes or extglobs (the .vscodeignore test refuses those).
fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments_match(&pattern, &path)
}

/// Whether `vsce package` leaves `file` out under this .vscodeignore: its lines, each also
/// as a folder (`x/**`) when its last segment has no `*`, then `!package.json` and
/// `!README.md`; a file is left out when a pattern matches it and no `!` pattern does
/// (vsce's `collectFiles`).
fn vscodeignore_excludes(vscodeignore: &str, file: &str) -> bool {
    let mut patterns = Vec::new();
    for line in vscodeignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let plain = line.trim_start_matches('!');
        assert!(
            !plain.contains(['{', '[', '(', '\\']) && !plain.starts_with('/'),
            "`{line}` in .vscodeignore: the check knows `*`, `?`, `**` and `!` only"
        );
        patterns.push(line.to_owned());
        if !line.rsplit('/').next().unwrap_or(line).contains('*') {
            patterns.push(if line.ends_with('/') {
                format!("{line}**")
            } else {
                format!("{line}/**")
            });
        }
    }
    patterns.extend(["!package.json".to_owned(), "!README.md".to_owned()]);
    let (negated, ignored): (Vec<&String>, Vec<&String>) =
        patterns.iter().partition(|p| p.starts_with('!'));
    ignored.iter().any(|p| glob_matches(p, file))
        && !negated.iter().any(|p| glob_matches(&p[1..], file))
}

#[test]
fn the_vscodeignore_check_reads_patterns_as_vsce_does() {
    for (vscodeignore, file, excluded) in [
        ("scripts/", "scripts/copy-grammar.js", true),
        ("scripts", "scripts/a/b.js", true),
        ("scripts/", "node_modules/x/scripts/a.js", false),
        ("*.js", "extension.js", true),
        ("*.js", "syntaxes/a.js", false),
        ("**/*.map", "a/b/c.map", true),
        ("**/*.map", "c.map", true),
        (".vscode/**", ".vscode/launch.json", true),
        ("syntaxes/*.json", "syntaxes/deployfile.tmLanguage.json", true),
        ("syntaxes/*.json\n!syntaxes/deployfile.*", "syntaxes/deployfile.tmLanguage.json", false),
        ("*.md", "README.md", false),
        ("# extension.js", "extension.js", false),
        ("extensio?.js", "extension.js", true),
        ("extension", "extension.js", false),
    ] {
        assert_eq!(vscodeignore_excludes(vscodeignore, file), excluded, "{vscodeignore} {file}");
    }
}

#[test]
fn the_vscodeignore_keeps_what_the_extension_runs_on() {
    let manifest = vscode_manifest();
    let vscodeignore = std::fs::read_to_string(vscode().join(".vscodeignore"))
        .expect("editors/vscode/.vscodeignore");
    let mut shipped = vec![
        "package.json".to_owned(),
        "README.md".to_owned(),
        "LICENSE".to_owned(),
        packaged(text_at(&manifest, "/main")),
    ];
    let contributes = &manifest["contributes"];
    for language in contributes["languages"].as_array().expect("languages") {
        shipped.push(packaged(language["configuration"].as_str().expect("configuration")));
    }
    for grammar in contributes["grammars"].as_array().expect("grammars") {
        shipped.push(packaged(grammar["path"].as_str().expect("path")));
    }
    // vsce adds the production dependencies and theirs from node_modules; nothing may drop them.
    for dependency in manifest["dependencies"].as_object().expect("dependencies").keys() {
        shipped.push(format!("node_modules/{dependency}/package.json"));
        shipped.push(format!("node_modules/{dependency}/lib/node/main.js"));
    }
    shipped.push("node_modules/vscode-jsonrpc/lib/node/main.js".to_owned());
    let dropped: Vec<&String> =
        shipped.iter().filter(|file| vscodeignore_excludes(&vscodeignore, file)).collect();
    assert!(dropped.is_empty(), "editors/vscode/.vscodeignore leaves out {dropped:?}");
    for build_only in ["scripts/copy-grammar.js", ".gitignore"] {
        assert!(vscodeignore_excludes(&vscodeignore, build_only), "the .vsix ships {build_only}");
    }
}

/// Whether `node` runs; when it does not, the reason is printed, and under
/// `FERRY_REQUIRE_NODE=1` the test fails instead.
fn node_available() -> bool {
    let ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        let reason = "`node` is not on the PATH, so editors/vscode's scripts are not run";
        assert!(
            std::env::var_os("FERRY_REQUIRE_NODE").is_none_or(|v| v != "1"),
            "FERRY_REQUIRE_NODE=1 but {reason}"
        );
        eprintln!("skipped: {reason}");
    }
    ok
}

#[test]
fn the_prepublish_script_copies_the_grammar() {
    if !node_available() {
        return;
    }
    // A copy of the two folders, in which the script makes `syntaxes/` itself.
    let dir = tempfile::tempdir().expect("temporary directory");
    let extension = dir.path().join("editors/vscode");
    std::fs::create_dir_all(extension.join("scripts")).expect("mkdir");
    for file in ["package.json", "scripts/copy-grammar.js"] {
        std::fs::copy(vscode().join(file), extension.join(file)).expect("copy");
    }
    let source = dir.path().join("editors/deployfile.tmLanguage.json");
    std::fs::copy(root().join("editors/deployfile.tmLanguage.json"), &source).expect("copy");
    let manifest = vscode_manifest();
    let target = extension.join(packaged(text_at(&manifest, "/contributes/grammars/0/path")));
    // What npm runs for `vscode:prepublish`, from the extension's folder.
    let command = text_at(&manifest, "/scripts/vscode:prepublish");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"node"), "{command}");
    let prepublish = || {
        let output = Command::new("node")
            .args(&words[1..])
            .current_dir(&extension)
            .output()
            .expect("node runs");
        assert!(output.status.success(), "{command}: {}", String::from_utf8_lossy(&output.stderr));
    };
    prepublish();
    assert_eq!(std::fs::read(&target).expect("the copy"), std::fs::read(&source).expect("grammar"));
    let kind = std::fs::symlink_metadata(&target).expect("metadata").file_type();
    assert!(kind.is_file(), "{} is not a plain file", target.display());
    // A second run replaces a stale copy.
    std::fs::write(&source, "{ \"scopeName\": \"source.deployfile\" }\n").expect("write");
    prepublish();
    assert_eq!(std::fs::read(&target).expect("the copy"), std::fs::read(&source).expect("grammar"));
    // The extension's scripts are JavaScript that node accepts.
    for script in [text_at(&manifest, "/main"), "scripts/copy-grammar.js"] {
        let file = vscode().join(packaged(script));
        let output = Command::new("node").arg("--check").arg(file).output().expect("node runs");
        assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    }
}
