//! The diagnostic corpus: one fixture per code in `tests/fixtures/check/err/`, named after
//! the code's kind, whose rendered report is snapshot-tested; and `docs/diagnostics.md`
//! has an entry for every code.

use ferry::diagnostic::Code;

use crate::support::test::{Test, root};

/// Input codes are about the file, not its text (`check_cli.rs` makes those files); eval
/// codes arise when a pipeline is evaluated for a run, not by `ferry check` (unit tests in
/// `src/eval/` make them).
/// Gate codes of a script that runs arise in `ferry run` (unit tests in src/gates/ make
/// them).
fn is_input(code: Code) -> bool {
    code.as_str().starts_with("ferry::input::")
        || code.as_str().starts_with("ferry::eval::")
        || matches!(code, Code::BadResult | Code::ScriptError | Code::ScriptLimit)
}

fn kind(code: Code) -> &'static str {
    code.as_str().rsplit("::").next().expect("a kind")
}

#[test]
fn rendered_diagnostics() {
    let dir = root().join("tests/fixtures/check/err");
    insta::glob!("fixtures/check/err/*.deploy", |path| {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let ran =
            Test::new().args(["check", "--deny-warnings", &name]).current_dir(&dir).run().code(2);
        let expected = format!("::{}", name.trim_end_matches(".deploy"));
        assert!(
            ran.stderr.contains(&expected),
            "{name} does not report {expected}:\n{}",
            ran.stderr
        );
        insta::assert_snapshot!(ran.stderr);
    });
}

#[test]
fn every_code_has_a_fixture() {
    let dir = root().join("tests/fixtures/check/err");
    for code in Code::ALL.iter().copied().filter(|c| !is_input(*c)) {
        let fixture = dir.join(format!("{}.deploy", kind(code)));
        assert!(fixture.is_file(), "{code} has no fixture {}", fixture.display());
    }
}

#[test]
fn every_code_is_documented_with_an_example_and_a_fix() {
    let docs =
        std::fs::read_to_string(root().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    for code in Code::ALL {
        let heading = format!("## `{code}`");
        let Some(start) = docs.find(&heading) else {
            panic!("docs/diagnostics.md has no `{heading}`")
        };
        let entry = &docs[start + heading.len()..];
        let entry = &entry[..entry.find("\n## ").unwrap_or(entry.len())];
        assert!(entry.contains("```"), "{code}: no example");
        assert!(entry.to_lowercase().contains("fix"), "{code}: no fix");
    }
    let documented = docs.matches("\n## `ferry::").count();
    assert_eq!(
        documented,
        Code::ALL.len(),
        "docs/diagnostics.md documents codes that do not exist"
    );
}

/// Every `deployfile` example of docs/language.md checks clean, or fails with exactly the
/// code its `# ✗ CODE` line names.
#[test]
fn language_reference_examples_check() {
    let docs = std::fs::read_to_string(root().join("docs/language.md")).expect("docs/language.md");
    let mut examples = 0;
    for block in docs.split("```deployfile\n").skip(1) {
        let example = &block[..block.find("```").expect("closed block")];
        let checked = ferry::check::check_source(example);
        let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
        match example.lines().find_map(|line| line.strip_prefix("# ✗ ")) {
            Some(expected) => assert_eq!(codes, [expected.trim()], "{example}"),
            None => assert!(codes.is_empty(), "{example}\n{codes:?}"),
        }
        examples += 1;
    }
    assert!(examples >= 10, "only {examples} examples");
}
