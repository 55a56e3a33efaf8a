//! The Deployfile syntax tree: owned nodes, each carrying the byte span it came from.
//!
//! The tree records what was written, not what it means: names are not resolved and
//! values are not checked. `check` gives it meaning.

use super::{Expr, Span};

/// A parsed Deployfile.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployfile {
    pub items: Vec<Item>,
    /// Every comment, in source order, for the formatter and the language server.
    pub comments: Vec<Comment>,
}

/// A `# …` comment; `text` starts with the `#`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Defaults(Defaults),
    Environment(Environment),
    Handler(Handler),
    Step(Step),
}

impl Item {
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Item::Defaults(defaults) => defaults.span,
            Item::Environment(environment) => environment.span,
            Item::Handler(handler) => handler.span,
            Item::Step(step) => step.span,
        }
    }
}

/// `defaults { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Defaults {
    pub keyword: Span,
    pub body: Block,
    pub span: Span,
}

/// `environment NAME { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

/// `on EVENT { steps }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Handler {
    pub event: Ident,
    pub steps: Vec<Step>,
    /// The braces around the steps.
    pub braces: Span,
    pub span: Span,
}

/// `KIND NAME { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub kind: StepKind,
    pub kind_span: Span,
    pub name: Ident,
    pub body: Option<Block>,
    pub span: Span,
}

impl Step {
    /// The entries of the body, or none when the body was left out.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        self.body.as_ref().map_or(&[], |body| &body.entries)
    }
}

/// The kinds of step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    Build,
    Tag,
    Push,
    Register,
    Update,
    Verify,
    Rollback,
}

impl StepKind {
    pub const ALL: [StepKind; 7] = [
        StepKind::Build,
        StepKind::Tag,
        StepKind::Push,
        StepKind::Register,
        StepKind::Update,
        StepKind::Verify,
        StepKind::Rollback,
    ];

    /// The keyword, as written in a Deployfile.
    #[must_use]
    pub const fn keyword(self) -> &'static str {
        match self {
            StepKind::Build => "build",
            StepKind::Tag => "tag",
            StepKind::Push => "push",
            StepKind::Register => "register",
            StepKind::Update => "update",
            StepKind::Verify => "verify",
            StepKind::Rollback => "rollback",
        }
    }

    #[must_use]
    pub fn from_keyword(keyword: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|kind| kind.keyword() == keyword)
    }
}

/// `{ entries }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub entries: Vec<Entry>,
    /// From `{` to `}` inclusive.
    pub span: Span,
}

impl Block {
    /// The fields of the block, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Field(field) => Some(field),
            Entry::Block(_) => None,
        })
    }

    /// The nested blocks, in order.
    pub fn blocks(&self) -> impl Iterator<Item = &NestedBlock> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Block(block) => Some(block),
            Entry::Field(_) => None,
        })
    }

    /// The first field called `name`.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().find(|field| field.key.name == name)
    }
}

/// An entry of a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Field(Field),
    Block(NestedBlock),
}

impl Entry {
    #[must_use]
    pub fn span_start(&self) -> usize {
        self.span().start
    }

    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Entry::Field(field) => field.span,
            Entry::Block(block) => block.span,
        }
    }
}

/// `KEY = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `KIND LABEL { … }`, such as `container "web" { … }` or `gate http("…") { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    pub kind: Ident,
    /// A string or a call.
    pub label: Option<Expr>,
    pub body: Option<Block>,
    pub span: Span,
}

impl NestedBlock {
    /// The entries of the body, or none when the body was left out.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        self.body.as_ref().map_or(&[], |body| &body.entries)
    }
}

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl Ident {
    #[must_use]
    pub fn new(name: impl Into<String>, span: Span) -> Self {
        Self { name: name.into(), span }
    }
}
