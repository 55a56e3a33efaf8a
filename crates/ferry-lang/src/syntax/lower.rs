//! Lowering: pest pairs to the owned syntax tree, one function per grammar rule, named
//! after it. Lowering also decodes escapes and numbers, and reports every bad one.

use pest::iterators::{Pair, Pairs};

use super::duration::{DurationError, parse_duration};
use super::parser::Rule;
use super::{
    Argument, Block, Call, Comment, Defaults, Deployfile, Entry, Environment, Expr, ExprKind,
    Field, Handler, Ident, Item, MapEntry, MapKey, NestedBlock, Reference, Span, Step, StepKind,
    StringLiteral, StringPart,
};
use crate::diagnostic::{Code, Diagnostic};

/// Lowers the pairs of `Rule::file`.
pub(super) fn file(pairs: Pairs<'_, Rule>) -> Result<Deployfile, Vec<Diagnostic>> {
    let comments = pairs
        .clone()
        .flatten()
        .filter(|pair| pair.as_rule() == Rule::COMMENT)
        .map(|pair| Comment { text: pair.as_str().trim_end().to_owned(), span: span(&pair) })
        .collect();
    let mut lower = Lower::default();
    let mut items = Vec::new();
    for pair in pairs {
        for child in significant(pair) {
            items.push(lower.item(child));
        }
    }
    lower.finish(Deployfile { items, comments })
}

/// Lowers the pairs of `Rule::expression_input`.
pub(super) fn expression_input(pairs: Pairs<'_, Rule>) -> Result<Expr, Vec<Diagnostic>> {
    let mut lower = Lower::default();
    let mut expression = None;
    for pair in pairs {
        for child in significant(pair) {
            expression = Some(lower.expr(child));
        }
    }
    let expression =
        expression.unwrap_or_else(|| unreachable!("`expression_input` holds one `expr`"));
    lower.finish(expression)
}

#[derive(Default)]
struct Lower {
    diagnostics: Vec<Diagnostic>,
}

impl Lower {
    fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.diagnostics.is_empty() { Ok(value) } else { Err(self.diagnostics) }
    }

    /// `item = defaults | environment | handler | step`
    fn item(&mut self, pair: Pair<'_, Rule>) -> Item {
        match pair.as_rule() {
            Rule::defaults => Item::Defaults(self.defaults(pair)),
            Rule::environment => Item::Environment(self.environment(pair)),
            Rule::handler => Item::Handler(self.handler(pair)),
            Rule::step => Item::Step(self.step(pair)),
            rule => unreachable!("an item is never `{rule:?}`"),
        }
    }

    /// `defaults = kw_defaults block`
    fn defaults(&mut self, pair: Pair<'_, Rule>) -> Defaults {
        let whole = span(&pair);
        let keyword = pair
            .clone()
            .into_inner()
            .find(|child| child.as_rule() == Rule::kw_defaults)
            .map_or(whole, |child| span(&child));
        let mut children = significant(pair);
        Defaults { keyword, body: self.block(next(&mut children, Rule::defaults)), span: whole }
    }

    /// `environment = kw_environment name block`
    fn environment(&mut self, pair: Pair<'_, Rule>) -> Environment {
        let whole = span(&pair);
        let mut children = significant(pair);
        let name = name(&next(&mut children, Rule::environment));
        let body = self.block(next(&mut children, Rule::environment));
        Environment { name, body, span: whole }
    }

    /// `handler = kw_on name { step* }`
    fn handler(&mut self, pair: Pair<'_, Rule>) -> Handler {
        let whole = span(&pair);
        let braces = pair
            .clone()
            .into_inner()
            .find(|child| child.as_rule() == Rule::lbrace)
            .map_or(whole, |open| Span::new(open.as_span().start(), whole.end));
        let mut children = significant(pair);
        let event = name(&next(&mut children, Rule::handler));
        let steps = children.map(|child| self.step(child)).collect();
        Handler { event, steps, braces, span: whole }
    }

    /// `step = step_kind name block?`
    fn step(&mut self, pair: Pair<'_, Rule>) -> Step {
        let whole = span(&pair);
        let mut children = significant(pair);
        let kind_pair = next(&mut children, Rule::step);
        let kind = step_kind(&kind_pair);
        let name = name(&next(&mut children, Rule::step));
        let body = children.next().map(|block| self.block(block));
        // Without a body, pest's span runs on over the blanks and comments after the name.
        let end = body.as_ref().map_or(name.span.end, |body| body.span.end);
        Step { kind, kind_span: span(&kind_pair), name, body, span: Span::new(whole.start, end) }
    }

    /// `block = { (entry ,?)* }`
    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let whole = span(&pair);
        let entries = significant(pair)
            .map(|child| match child.as_rule() {
                Rule::field => Entry::Field(self.field(child)),
                Rule::nested_block => Entry::Block(self.nested_block(child)),
                rule => unreachable!("a block entry is never `{rule:?}`"),
            })
            .collect();
        Block { entries, span: whole }
    }

    /// `field = name = expr`
    fn field(&mut self, pair: Pair<'_, Rule>) -> Field {
        let whole = span(&pair);
        let mut children = significant(pair);
        let key = name(&next(&mut children, Rule::field));
        let value = self.expr(next(&mut children, Rule::field));
        Field { key, value, span: whole }
    }

    /// `nested_block = name (label block? | block)`
    fn nested_block(&mut self, pair: Pair<'_, Rule>) -> NestedBlock {
        let whole = span(&pair);
        let mut children = significant(pair);
        let kind = name(&next(&mut children, Rule::nested_block));
        let mut label = None;
        let mut body = None;
        for child in children {
            if child.as_rule() == Rule::block {
                body = Some(self.block(child));
            } else {
                label = Some(self.expr(child));
            }
        }
        let end = body
            .as_ref()
            .map(|body| body.span.end)
            .or(label.as_ref().map(|label| label.span.end))
            .unwrap_or(kind.span.end);
        NestedBlock { kind, label, body, span: Span::new(whole.start, end) }
    }

    /// `expr = string | duration | percentage | integer | boolean | list | map | call | reference`
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let whole = span(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ExprKind::String(self.string(pair)),
            Rule::duration => ExprKind::Duration(self.duration(&pair)),
            Rule::percentage => ExprKind::Percentage(self.percentage(&pair)),
            Rule::integer => ExprKind::Integer(self.integer(&pair)),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::list => ExprKind::List(self.list(pair)),
            Rule::map => ExprKind::Map(self.map(pair)),
            Rule::call => ExprKind::Call(self.call(pair)),
            Rule::reference => ExprKind::Reference(reference(pair)),
            rule => unreachable!("an expression is never `{rule:?}`"),
        };
        Expr { kind, span: whole }
    }

    /// `list = [ expr, … ]`
    fn list(&mut self, pair: Pair<'_, Rule>) -> Vec<Expr> {
        significant(pair).map(|child| self.expr(child)).collect()
    }

    /// `map = { map_entry … }`
    fn map(&mut self, pair: Pair<'_, Rule>) -> Vec<MapEntry> {
        significant(pair).map(|child| self.map_entry(child)).collect()
    }

    /// `map_entry = (name | string) = expr`
    fn map_entry(&mut self, pair: Pair<'_, Rule>) -> MapEntry {
        let whole = span(&pair);
        let mut children = significant(pair);
        let key_pair = next(&mut children, Rule::map_entry);
        let key_span = span(&key_pair);
        let key = if key_pair.as_rule() == Rule::string {
            let literal = self.string(key_pair);
            let name = literal.as_plain().unwrap_or_else(|| {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::UnexpectedToken,
                        key_span,
                        "a map key cannot hold `${…}`",
                    )
                    .with_label("interpolation in a key")
                    .with_help("write the key as plain text"),
                );
                String::new()
            });
            MapKey { name, quoted: true, span: key_span }
        } else {
            MapKey { name: key_pair.as_str().to_owned(), quoted: false, span: key_span }
        };
        let value = self.expr(next(&mut children, Rule::map_entry));
        MapEntry { key, value, span: whole }
    }

    /// `call = name ( argument, … )`
    fn call(&mut self, pair: Pair<'_, Rule>) -> Call {
        let whole = span(&pair);
        let mut children = significant(pair);
        let function = name(&next(&mut children, Rule::call));
        let parens = Span::new(function.span.end, whole.end);
        let arguments = children.map(|child| self.argument(child)).collect();
        Call { function, arguments, parens }
    }

    /// `argument = (name =)? expr`
    fn argument(&mut self, pair: Pair<'_, Rule>) -> Argument {
        let whole = span(&pair);
        let children: Vec<_> = significant(pair).collect();
        match <[_; 2]>::try_from(children) {
            Ok([label, value]) => {
                Argument { name: Some(name(&label)), value: self.expr(value), span: whole }
            }
            Err(mut children) => {
                let value = children.pop().unwrap_or_else(|| unreachable!("an empty `argument`"));
                Argument { name: None, value: self.expr(value), span: whole }
            }
        }
    }

    /// `string = " (string_text | escape | interpolation)* "`
    fn string(&mut self, pair: Pair<'_, Rule>) -> StringLiteral {
        let mut parts: Vec<StringPart> = Vec::new();
        for child in significant(pair) {
            let child_span = span(&child);
            let piece = match child.as_rule() {
                Rule::string_text => child.as_str().to_owned(),
                Rule::escape => self.escape(&child),
                Rule::interpolation => {
                    parts.push(StringPart::Interpolation(self.interpolation(child)));
                    continue;
                }
                rule => unreachable!("a string never holds `{rule:?}`"),
            };
            // Adjacent text and escapes make one text part.
            if let Some(StringPart::Text(text, text_span)) = parts.last_mut() {
                text.push_str(&piece);
                *text_span = text_span.to(child_span);
            } else {
                parts.push(StringPart::Text(piece, child_span));
            }
        }
        StringLiteral { parts }
    }

    /// `escape = \ ANY`: decoded here so a bad one gets its own diagnostic.
    fn escape(&mut self, pair: &Pair<'_, Rule>) -> String {
        let text = pair.as_str();
        let decoded = match text {
            "\\n" => Some('\n'),
            "\\t" => Some('\t'),
            "\\r" => Some('\r'),
            "\\0" => Some('\0'),
            "\\\\" => Some('\\'),
            "\\\"" => Some('"'),
            "\\$" => Some('$'),
            _ => text
                .strip_prefix("\\u{")
                .and_then(|rest| rest.strip_suffix('}'))
                .filter(|hex| (1..=6).contains(&hex.len()))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
        };
        decoded.map_or_else(
            || {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidEscape,
                        span(pair),
                        format!("unknown escape `{text}` in a string"),
                    )
                    .with_label("not an escape")
                    .with_help(
                        "the escapes are `\\n`, `\\t`, `\\r`, `\\0`, `\\\\`, `\\\"`, `\\$` and \
                         `\\u{…}` with 1 to 6 hex digits",
                    ),
                );
                String::new()
            },
            String::from,
        )
    }

    /// `interpolation = ${ expr }`
    fn interpolation(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let mut children = significant(pair);
        self.expr(next(&mut children, Rule::interpolation))
    }

    /// `integer = -? digit+`
    fn integer(&mut self, pair: &Pair<'_, Rule>) -> i64 {
        self.number(pair, pair.as_str(), "integer")
    }

    /// `percentage = digit+ %`
    fn percentage(&mut self, pair: &Pair<'_, Rule>) -> i64 {
        self.number(pair, pair.as_str().trim_end_matches('%'), "percentage")
    }

    /// `duration = (digit+ duration_unit)+`, in milliseconds.
    fn duration(&mut self, pair: &Pair<'_, Rule>) -> u64 {
        match parse_duration(pair.as_str()) {
            Ok(ms) => ms,
            Err(DurationError::Overflow) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::NumberTooLarge, span(pair), "duration is too long")
                        .with_label("this overflows")
                        .with_help("a duration must fit in 64 bits of milliseconds"),
                );
                0
            }
            Err(DurationError::Malformed) => {
                unreachable!("the grammar matched `{}`", pair.as_str())
            }
        }
    }

    fn number(&mut self, pair: &Pair<'_, Rule>, digits: &str, what: &str) -> i64 {
        digits.parse().unwrap_or_else(|_| {
            self.diagnostics.push(
                Diagnostic::new(Code::NumberTooLarge, span(pair), format!("{what} is too large"))
                    .with_label("this does not fit")
                    .with_help("numbers run from -9223372036854775808 to 9223372036854775807"),
            );
            0
        })
    }
}

/// `reference = name (. name)*`
fn reference(pair: Pair<'_, Rule>) -> Reference {
    Reference { segments: significant(pair).map(|segment| name(&segment)).collect() }
}

/// `name = (letter | _) name_char*`
fn name(pair: &Pair<'_, Rule>) -> Ident {
    Ident::new(pair.as_str(), span(pair))
}

/// `step_kind = kw_build | kw_tag | …`
fn step_kind(pair: &Pair<'_, Rule>) -> StepKind {
    StepKind::from_keyword(pair.as_str())
        .unwrap_or_else(|| unreachable!("`step_kind` matched `{}`", pair.as_str()))
}

fn span(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

/// The children that carry meaning: no comments, keywords or punctuation.
fn significant(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|child| !is_trivia(child.as_rule()))
}

fn is_trivia(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::COMMENT
            | Rule::EOI
            | Rule::kw_defaults
            | Rule::kw_environment
            | Rule::kw_on
            | Rule::lbrace
            | Rule::rbrace
            | Rule::lbracket
            | Rule::rbracket
            | Rule::lparen
            | Rule::rparen
            | Rule::equals
            | Rule::comma
            | Rule::dot
            | Rule::quote
            | Rule::closing_quote
            | Rule::interpolation_open
    )
}

/// The next child, which the grammar guarantees.
fn next<'i>(children: &mut impl Iterator<Item = Pair<'i, Rule>>, parent: Rule) -> Pair<'i, Rule> {
    children.next().unwrap_or_else(|| unreachable!("the grammar gives `{parent:?}` another child"))
}
