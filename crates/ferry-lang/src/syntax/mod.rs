//! Syntax: the pest grammar, the syntax tree with spans, lowering, and the formatter.
//! Pure: no I/O here.

mod ast;
mod duration;
mod expr;
mod formatter;
mod line_index;
mod lower;
mod parser;
mod quote;
mod reparse;
mod rule_name;
mod span;
mod syntax_error;
mod tokens;

pub use ast::{
    Block, Comment, Defaults, Deployfile, Entry, Environment, Field, Handler, Ident, Item,
    NestedBlock, Step, StepKind,
};
pub use duration::{DurationError, format_duration, parse_duration};
pub use expr::{
    Argument, Call, Expr, ExprKind, MapEntry, MapKey, Reference, StringLiteral, StringPart,
};
pub use formatter::{FormatError, format, format_file};
pub use line_index::{LineColumn, LineIndex};
pub use parser::{parse, parse_expression};
pub use quote::quoted;
pub use reparse::reparse;
pub use span::Span;
pub use tokens::{Token, TokenKind, open_brackets, tokens};
