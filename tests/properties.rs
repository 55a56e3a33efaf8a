//! Generated and mutated Deployfiles never panic `check` or `fmt`; `fmt` is idempotent and
//! keeps the meaning of every file that parses.

use proptest::prelude::*;

use crate::support::test::root;

fn pipelines() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["pipelines", "tests/fixtures/check/err"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("dir") {
            if let Ok(text) = std::fs::read_to_string(entry.expect("entry").path()) {
                texts.push(text);
            }
        }
    }
    texts.sort();
    texts
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    ",",
    ".",
    "\"",
    "${",
    "#",
    "\n",
    "\\",
    "%",
    " ",
    "build x ",
    "tag",
    "verify",
    "on failure {",
    "rollback web",
    "1",
    "10s",
    "100%",
    "git.sha",
    "env(\"X\")",
    "é",
    "😀",
    "\t",
    "container \"c\" {",
    "gate http(\"https://x\")",
    "-",
    "99999999999999999999",
];

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert(at, token)),
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), 1..80usize).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for mutation in mutations {
        let len = chars.len().max(1);
        match *mutation {
            Mutation::Insert(at, token) => {
                let at = at % len;
                chars.splice(at..at, TOKENS[token].chars());
            }
            Mutation::Delete(at, count) => {
                let at = at % len;
                let end = (at + count).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            Mutation::Duplicate(at, count) => {
                let at = at % len;
                let end = (at + count).min(chars.len());
                let copy: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(at..at, copy);
            }
        }
    }
    chars.into_iter().collect()
}

/// `check` returns; `fmt` either reports a syntax error or returns text that formats to
/// itself and means the same (the formatter proves the latter itself).
fn holds(text: &str) -> Result<(), TestCaseError> {
    let checked = ferry::check::check_source(text);
    match ferry::syntax::format(text) {
        Ok(once) => {
            prop_assert!(checked.file.is_some());
            let twice = ferry::syntax::format(&once);
            prop_assert!(twice.is_ok(), "formatted text does not format: {once}\n{twice:?}");
            prop_assert_eq!(twice.ok(), Some(once.clone()), "not idempotent");
            // Formatting changes no diagnostic code.
            let after: Vec<_> =
                ferry::check::check_source(&once).diagnostics.iter().map(|d| d.code).collect();
            let before: Vec<_> = checked.diagnostics.iter().map(|d| d.code).collect();
            let (mut after, mut before) = (after, before);
            after.sort();
            before.sort();
            prop_assert_eq!(after, before);
        }
        Err(ferry::syntax::FormatError::Syntax(_)) => prop_assert!(checked.file.is_none()),
        Err(ferry::syntax::FormatError::Unsafe(reason)) => {
            return Err(TestCaseError::fail(format!("fmt refused: {reason}\n{text}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_pipelines_never_panic(
        index in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        let texts = pipelines();
        let text = apply(&texts[index % texts.len()], &mutations);
        holds(&text)?;
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: String = tokens.iter().map(|t| TOKENS[*t]).collect();
        holds(&text)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        holds(&text)?;
    }
}

/// A text with a very long line (up to 80,000 characters, narrow or wide), short lines
/// around it.
fn long_text() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["x", "中", "😀", "é", " "]), 0usize..80_000, 0usize..4).prop_map(
        |(unit, count, lines)| {
            let mut text = "build app {\n".repeat(lines);
            text.push_str(&unit.repeat(count));
            text.push_str(" @\n}\n");
            text
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every renderer takes any diagnostic on any text — long lines, wide characters, spans
    /// past the end or inside a character — without a panic (miette's frame cannot pad past
    /// 65,535 columns: such reports go without the frame).
    #[test]
    fn every_renderer_takes_any_span(
        text in long_text(),
        start in any::<usize>(),
        length in 0usize..200,
        related in any::<usize>()
    ) {
        use ferry::diagnostic::{Code, Diagnostic};
        use ferry::syntax::Span;
        let at = |offset: usize| offset % (text.len() + 20);
        let start = at(start);
        let diagnostic =
            Diagnostic::new(Code::UnexpectedToken, Span::new(start, start + length), "unexpected")
                .with_label("here")
                .with_related(Span::new(at(related), at(related) + 1), "and here")
                .with_help("remove it");
        let all = [diagnostic];
        let human = ferry::render::human_report(
            "Deployfile",
            &text,
            &all,
            ferry::render::HumanStyle::plain(),
        );
        prop_assert!(human.contains("unexpected"));
        let json = ferry::render::json_diagnostics("Deployfile", &text, &all);
        prop_assert!(json.contains("ferry::syntax::unexpected_token"));
        let github = ferry::render::github_annotations("Deployfile", &text, &all);
        prop_assert!(github.contains("::error"));
    }
}
