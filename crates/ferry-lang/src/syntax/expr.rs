//! Expressions: the values written on the right of `=`, in lists, maps, calls and
//! string interpolations.

use super::{Ident, Span};

/// A value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The forms a value takes.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Call(Call),
    /// Whole milliseconds.
    Duration(u64),
    Integer(i64),
    List(Vec<Expr>),
    Map(Vec<MapEntry>),
    /// A whole-number percentage, `100%` → 100.
    Percentage(i64),
    Reference(Reference),
    String(StringLiteral),
}

impl ExprKind {
    /// What the value is, in words, for "expected …, found …" messages.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            ExprKind::Bool(_) => "a boolean",
            ExprKind::Call(_) => "a call",
            ExprKind::Duration(_) => "a duration",
            ExprKind::Integer(_) => "an integer",
            ExprKind::List(_) => "a list",
            ExprKind::Map(_) => "a map",
            ExprKind::Percentage(_) => "a percentage",
            ExprKind::Reference(_) => "a reference",
            ExprKind::String(_) => "a string",
        }
    }
}

/// `name.field.field`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// At least one segment.
    pub segments: Vec<Ident>,
}

impl Reference {
    /// The first segment: a step name or a namespace.
    #[must_use]
    pub fn head(&self) -> &Ident {
        &self.segments[0]
    }

    /// The whole reference as written, `git.sha`.
    #[must_use]
    pub fn dotted(&self) -> String {
        self.segments.iter().map(|segment| segment.name.as_str()).collect::<Vec<_>>().join(".")
    }

    /// The single word of a one-segment reference (`rollback`, `awsvpc`).
    #[must_use]
    pub fn word(&self) -> Option<&Ident> {
        match self.segments.as_slice() {
            [word] => Some(word),
            _ => None,
        }
    }
}

/// `name(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub function: Ident,
    pub arguments: Vec<Argument>,
    /// The parentheses and what they hold.
    pub parens: Span,
}

impl Call {
    pub fn positional(&self) -> impl Iterator<Item = &Expr> {
        self.arguments.iter().filter(|arg| arg.name.is_none()).map(|arg| &arg.value)
    }

    #[must_use]
    pub fn named(&self, name: &str) -> Option<&Expr> {
        self.arguments
            .iter()
            .find(|arg| arg.name.as_ref().is_some_and(|n| n.name == name))
            .map(|arg| &arg.value)
    }
}

/// `value` or `name = value` in a call.
#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

/// `KEY = value` in a map.
#[derive(Clone, Debug, PartialEq)]
pub struct MapEntry {
    pub key: MapKey,
    pub value: Expr,
    pub span: Span,
}

/// A map key: a bare name or a string without interpolation.
#[derive(Clone, Debug, PartialEq)]
pub struct MapKey {
    pub name: String,
    /// Whether it was written as a string (`"MY-VAR" = …`).
    pub quoted: bool,
    pub span: Span,
}

/// `"text ${expr} more"`.
#[derive(Clone, Debug, PartialEq)]
pub struct StringLiteral {
    pub parts: Vec<StringPart>,
}

impl StringLiteral {
    /// The text when the string holds no interpolation.
    #[must_use]
    pub fn as_plain(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                StringPart::Text(piece, _) => text.push_str(piece),
                StringPart::Interpolation(_) => return None,
            }
        }
        Some(text)
    }
}

/// A piece of a string.
#[derive(Clone, Debug, PartialEq)]
pub enum StringPart {
    /// Text with escapes already decoded, and the span it was written at.
    Text(String, Span),
    Interpolation(Expr),
}

impl Expr {
    /// The text of a string without interpolation.
    #[must_use]
    pub fn as_plain_string(&self) -> Option<String> {
        match &self.kind {
            ExprKind::String(string) => string.as_plain(),
            _ => None,
        }
    }

    /// The reference, when the value is one.
    #[must_use]
    pub fn as_reference(&self) -> Option<&Reference> {
        match &self.kind {
            ExprKind::Reference(reference) => Some(reference),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_call(&self) -> Option<&Call> {
        match &self.kind {
            ExprKind::Call(call) => Some(call),
            _ => None,
        }
    }
}
