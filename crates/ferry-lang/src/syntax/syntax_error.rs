//! A pest error turned into a diagnostic: the position in the whole file, what was
//! found there, and what was expected, in words.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::parser::Rule;
use super::{Span, rule_name};
use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::did_you_mean;

pub(super) fn from_pest(text: &str, error: &Error<Rule>) -> Diagnostic {
    let offset = match error.location {
        InputLocation::Pos(offset) | InputLocation::Span((offset, _)) => offset,
    };
    let (positives, negatives) = match &error.variant {
        ErrorVariant::ParsingError { positives, negatives } => {
            (positives.clone(), negatives.clone())
        }
        ErrorVariant::CustomError { .. } => (Vec::new(), Vec::new()),
    };
    let found = found_at(text, offset);
    let span = Span::new(offset, offset + found.len());

    if positives.contains(&Rule::closing_quote) {
        return Diagnostic::new(Code::UnterminatedString, Span::at(offset), "unterminated string")
            .with_label("the line ends before the closing `\"`")
            .with_help(
                "close the string with `\"` on the same line; write `\\\"` for a quote inside it",
            );
    }

    let meaningful: Vec<Rule> = positives
        .iter()
        .copied()
        .filter(|rule| !matches!(rule, Rule::EOI | Rule::COMMENT | Rule::WHITESPACE))
        .collect();
    let positives = if meaningful.is_empty() { positives } else { meaningful };
    let mut expected: Vec<&str> = positives.iter().map(|rule| rule_name::phrase(*rule)).collect();
    expected.dedup();
    let mut seen = std::collections::BTreeSet::new();
    expected.retain(|phrase| seen.insert(*phrase));
    let label = match expected.as_slice() {
        [] => negatives.first().map_or_else(
            || "not expected here".to_owned(),
            |rule| format!("{} is not allowed here", rule_name::phrase(*rule)),
        ),
        [one] => format!("expected {one}"),
        [init @ .., last] => format!("expected {} or {last}", init.join(", ")),
    };
    let found_words = describe(found);
    let keywords: Vec<&str> =
        positives.iter().flat_map(|rule| rule_name::keywords(*rule)).copied().collect();
    let help = if found.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        did_you_mean(found, keywords.iter().copied())
    } else {
        None
    };
    Diagnostic::new(Code::UnexpectedToken, span, format!("unexpected {found_words}"))
        .with_label(label)
        .with_optional_help(help)
}

/// The token at `offset`: a word, a number, or one character; empty at the end.
fn found_at(text: &str, offset: usize) -> &str {
    let rest = &text[offset.min(text.len())..];
    let Some(first) = rest.chars().next() else { return "" };
    if first.is_alphanumeric() || first == '_' {
        let end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(rest.len(), |(i, _)| i);
        &rest[..end]
    } else {
        &rest[..first.len_utf8()]
    }
}

fn describe(found: &str) -> String {
    match found {
        "" => "end of file".to_owned(),
        "\n" | "\r" => "end of line".to_owned(),
        "`" => "backtick".to_owned(),
        _ => format!("`{}`", found.escape_debug()),
    }
}
