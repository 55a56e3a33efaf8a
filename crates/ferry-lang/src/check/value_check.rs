//! Checking values: what type an expression has, whether it fits what a field or argument
//! expects, and its range and text format. The names an expression uses are resolved in
//! `value_check/references.rs`, calls of built-ins checked in `value_check/calls.rs`.

use std::collections::BTreeMap;

use super::ValueType as T;
use super::analyzer::{Analyzer, Scope};
use super::schema::{FieldSpec, ParamSpec};
use super::text_format::TextFormat;
use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::did_you_mean;
use crate::syntax::{Expr, ExprKind, MapEntry, Reference, Span, StepKind, StringPart};

mod calls;
mod references;

/// What a place wants of a value.
#[derive(Clone, Copy, Debug)]
pub(super) struct Expectation<'a> {
    pub ty: T,
    pub range: Option<(i64, i64)>,
    pub count: Option<(usize, usize)>,
    pub format: Option<TextFormat>,
    /// The place in words, "`min_healthy`".
    pub subject: &'a str,
}

impl<'a> Expectation<'a> {
    pub(super) fn of_field(spec: &FieldSpec, subject: &'a str) -> Self {
        Self { ty: spec.ty, range: spec.range, count: spec.count, format: spec.format, subject }
    }

    pub(super) fn of_param(spec: &ParamSpec, subject: &'a str) -> Self {
        Self { ty: spec.ty, range: spec.range, count: None, format: spec.format, subject }
    }

    pub(super) fn any(subject: &'a str) -> Self {
        Self { ty: T::Any, range: None, count: None, format: None, subject }
    }
}

impl Analyzer<'_> {
    /// Checks `expr` against `want`.
    pub(super) fn expect(&mut self, expr: &Expr, want: &Expectation<'_>, scope: Scope) {
        match (want.ty, &expr.kind) {
            (T::Enum(words), ExprKind::Reference(reference)) if reference.word().is_some() => {
                let word = reference.head();
                self.expect_word(&word.name, word.span, words, want.subject);
            }
            (T::Enum(words), ExprKind::String(string)) => {
                self.string(string, scope);
                if let Some(text) = string.as_plain() {
                    self.expect_word(&text, expr.span, words, want.subject);
                }
            }
            (T::List(inner), ExprKind::List(items)) => {
                if let Some((min, max)) = want.count
                    && !(min..=max).contains(&items.len())
                {
                    let bounds = if items.len() < min {
                        format!("at least {min}")
                    } else {
                        format!("at most {max}")
                    };
                    self.push(
                        Diagnostic::new(
                            Code::OutOfRange,
                            expr.span,
                            format!(
                                "{} needs {bounds} {}, found {}",
                                want.subject,
                                if (items.len() < min && min == 1)
                                    || (items.len() > max && max == 1)
                                {
                                    "entry"
                                } else {
                                    "entries"
                                },
                                items.len()
                            ),
                        )
                        .with_label(format!("{} entries", items.len())),
                    );
                }
                let element = Expectation { ty: *inner, count: None, ..*want };
                for item in items {
                    self.expect(item, &element, scope);
                }
            }
            (T::Map(inner), ExprKind::Map(entries)) => {
                self.duplicate_keys(entries);
                let element =
                    Expectation { ty: *inner, count: None, format: None, range: None, ..*want };
                for entry in entries {
                    self.expect(&entry.value, &element, scope);
                }
            }
            _ => {
                let actual = self.infer(expr, scope);
                if want.ty.accepts(actual) {
                    self.range_and_format(expr, want);
                    if want.ty == T::Image {
                        self.image_not_pushed(expr, scope);
                    }
                } else {
                    self.mismatch(expr, actual, want);
                }
            }
        }
    }

    fn expect_word(
        &mut self,
        word: &str,
        span: Span,
        words: &'static [&'static str],
        subject: &str,
    ) {
        if words.iter().any(|allowed| allowed.eq_ignore_ascii_case(word)) {
            return;
        }
        self.push(
            Diagnostic::new(
                Code::InvalidValue,
                span,
                format!("`{word}` is not a valid value of {subject}"),
            )
            .with_label(format!("expected {}", T::Enum(words).describe()))
            .with_optional_help(did_you_mean(word, words.iter().copied())),
        );
    }

    fn mismatch(&mut self, expr: &Expr, actual: T, want: &Expectation<'_>) {
        // A step of the wrong kind gets its own diagnostic: the fix is another name.
        if let Some(word) = expr.as_reference().and_then(Reference::word)
            && let Some(definition) = self.symbols.definitions.get(&word.name)
        {
            let right_kind = match want.ty {
                T::TaskDefinition => Some(StepKind::Register),
                T::Deployment => Some(StepKind::Update),
                T::Image => Some(StepKind::Build),
                _ => None,
            };
            let help = right_kind
                .and_then(|kind| {
                    did_you_mean(&word.name, self.symbols.names_of(kind).collect::<Vec<_>>())
                })
                .or_else(|| match (want.ty, definition.kind) {
                    (T::String, StepKind::Build) => {
                        Some(format!("use `{}.uri` for its reference", word.name))
                    }
                    (T::String, StepKind::Register) => {
                        Some(format!("use `{}.arn` for its ARN", word.name))
                    }
                    _ => None,
                });
            self.push(
                Diagnostic::new(
                    Code::WrongStepKind,
                    expr.span,
                    format!(
                        "`{}` is {}, but {} needs {}",
                        word.name,
                        definition.describe(),
                        want.subject,
                        want.ty.describe()
                    ),
                )
                .with_label(format!("this is {}", definition.describe()))
                .with_related(definition.span, "defined here")
                .with_optional_help(help),
            );
            return;
        }
        let help = match (&expr.kind, want.ty) {
            (ExprKind::Integer(n), T::Duration) => Some(format!("add a unit: `{n}s`")),
            (ExprKind::Integer(n), T::Percentage) => Some(format!("write `{n}%`")),
            (ExprKind::Percentage(n), T::Integer) => Some(format!("write `{n}` without `%`")),
            // Only where the text without quotes is a value of the wanted type: `"512"`
            // for an integer, not `"0.5 vCPU"` (that would not parse).
            (ExprKind::String(string), T::Integer | T::Percentage | T::Duration | T::Bool) => {
                string
                    .as_plain()
                    .filter(|text| unquoted_is(text, want.ty))
                    .map(|text| format!("write the value without quotes: `{text}`"))
            }
            (_, T::List(_)) => Some("write a list: `[…]`".to_owned()),
            _ => None,
        };
        self.push(
            Diagnostic::new(
                Code::TypeMismatch,
                expr.span,
                format!(
                    "{} expects {}, found {}",
                    want.subject,
                    want.ty.describe(),
                    found(&expr.kind, actual)
                ),
            )
            .with_label(format!("this is {}", found(&expr.kind, actual)))
            .with_optional_help(help),
        );
    }

    fn range_and_format(&mut self, expr: &Expr, want: &Expectation<'_>) {
        if let Some((min, max)) = want.range {
            let (value, show): (i64, fn(i64) -> String) = match expr.kind {
                ExprKind::Integer(n) => (n, |n| n.to_string()),
                ExprKind::Percentage(n) => (n, |n| format!("{n}%")),
                ExprKind::Duration(ms) => (i64::try_from(ms).unwrap_or(i64::MAX), show_duration),
                _ => (min, |n| n.to_string()),
            };
            if !(min..=max).contains(&value) {
                let bounds = if max == i64::MAX {
                    format!("at least {}", show(min))
                } else {
                    format!("between {} and {}", show(min), show(max))
                };
                self.push(
                    Diagnostic::new(
                        Code::OutOfRange,
                        expr.span,
                        format!("{} must be {bounds}, found {}", want.subject, show(value)),
                    )
                    .with_label("out of range"),
                );
            }
        }
        if let (Some(format), ExprKind::String(string)) = (want.format, &expr.kind) {
            let result = match string.as_plain() {
                Some(text) => format.check(&text),
                None => string.parts.iter().try_for_each(|part| match part {
                    StringPart::Text(text, _) => format.check_piece(text),
                    StringPart::Interpolation(_) => Ok(()),
                }),
            };
            if let Err(reason) = result {
                let code = match format {
                    TextFormat::DockerTag => Code::InvalidTag,
                    TextFormat::EcrRepository | TextFormat::RegistryRepository => {
                        Code::InvalidRepository
                    }
                    _ => Code::InvalidValue,
                };
                let what = match format {
                    TextFormat::DockerTag => "tag".to_owned(),
                    TextFormat::EcrRepository | TextFormat::RegistryRepository => {
                        "repository name".to_owned()
                    }
                    _ => "value".to_owned(),
                };
                let shown = string.as_plain().map_or_else(String::new, |text| format!(" `{text}`"));
                let place =
                    if what == "value" { format!(" for {}", want.subject) } else { String::new() };
                self.push(
                    Diagnostic::new(code, expr.span, format!("invalid {what}{shown}{place}"))
                        .with_label(reason.0),
                );
            }
        }
    }

    /// The type of `expr`, reporting what is wrong inside it.
    pub(super) fn infer(&mut self, expr: &Expr, scope: Scope) -> T {
        match &expr.kind {
            ExprKind::Bool(_) => T::Bool,
            ExprKind::Duration(_) => T::Duration,
            ExprKind::Integer(_) => T::Integer,
            ExprKind::Percentage(_) => T::Percentage,
            ExprKind::String(string) => {
                self.string(string, scope);
                T::String
            }
            ExprKind::List(items) => {
                for item in items {
                    self.infer(item, scope);
                }
                T::List(&T::Any)
            }
            ExprKind::Map(entries) => {
                self.duplicate_keys(entries);
                for entry in entries {
                    self.infer(&entry.value, scope);
                }
                T::Map(&T::Any)
            }
            ExprKind::Reference(reference) => self.reference(reference, scope),
            ExprKind::Call(call) => self.call(call, scope),
        }
    }

    fn string(&mut self, string: &crate::syntax::StringLiteral, scope: Scope) {
        for part in &string.parts {
            if let StringPart::Interpolation(inner) = part {
                let ty = self.infer(inner, scope);
                if !ty.interpolates() {
                    self.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            inner.span,
                            format!("{} cannot be put in a string", found(&inner.kind, ty)),
                        )
                        .with_label("not text")
                        .with_help(
                            "only strings, numbers, durations, booleans, images and task \
                             definitions go in `${…}`",
                        ),
                    );
                }
            }
        }
    }

    fn duplicate_keys(&mut self, entries: &[MapEntry]) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for entry in entries {
            if let Some(first) = seen.get(entry.key.name.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        entry.key.span,
                        format!("key `{}` is given twice", entry.key.name),
                    )
                    .with_label("given again here")
                    .with_related(*first, "first given here")
                    .with_help("remove one of them"),
                );
            } else {
                seen.insert(&entry.key.name, entry.key.span);
            }
        }
    }

    /// Warns when a container's image is a build that is never pushed.
    fn image_not_pushed(&mut self, expr: &Expr, scope: Scope) {
        let Some(word) = expr.as_reference().and_then(Reference::word) else { return };
        let Some(definition) = self.symbols.definitions.get(&word.name) else { return };
        if definition.kind == StepKind::Build
            && definition.position < scope.position
            && !self.symbols.pushes.contains_key(&word.name)
        {
            self.push(
                Diagnostic::new(
                    Code::ImageNotPushed,
                    expr.span,
                    format!("image `{}` is never pushed", word.name),
                )
                .with_label("ECS cannot pull an image that exists only on this machine")
                .with_help(format!(
                    "add `push {} {{ to = ecr(\"…\") }}` after `build {}`",
                    word.name, word.name
                )),
            );
        }
    }
}

/// The value in words for "found …".
fn found(kind: &ExprKind, actual: T) -> String {
    match kind {
        ExprKind::Reference(_) | ExprKind::Call(_) if actual != T::Any => actual.describe(),
        other => other.describe().to_owned(),
    }
}

/// A duration bound as the language writes it.
fn show_duration(ms: i64) -> String {
    crate::syntax::format_duration(u64::try_from(ms).unwrap_or(0))
}

/// Whether `text`, written without its quotes, is a value of type `ty`.
fn unquoted_is(text: &str, ty: T) -> bool {
    // Rust reads `+5` as a number; the grammar does not.
    if text.starts_with('+') {
        return false;
    }
    match ty {
        T::Integer => text.parse::<i64>().is_ok(),
        T::Percentage => text.strip_suffix('%').is_some_and(|n| n.parse::<u32>().is_ok()),
        T::Duration => crate::syntax::parse_duration(text).is_ok(),
        T::Bool => matches!(text, "true" | "false"),
        _ => false,
    }
}
