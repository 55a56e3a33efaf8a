//! The names a Deployfile defines: steps that produce something (`build`, `register`,
//! `update`), the steps that name one of those (`tag`, `push`, `verify`), environments
//! and variables. Built in one pass before anything is checked.

use std::collections::{BTreeMap, BTreeSet};

use crate::syntax::{Deployfile, ExprKind, Item, Span, StepKind};

/// A step that defines a name.
#[derive(Clone, Copy, Debug)]
pub struct Definition {
    pub kind: StepKind,
    /// The index of the item among the top-level items, for "used before definition".
    pub position: usize,
    pub span: Span,
}

impl Definition {
    /// What the name is, "an image (a `build` step)".
    #[must_use]
    pub fn describe(&self) -> &'static str {
        describe_kind(self.kind)
    }
}

#[must_use]
pub fn describe_kind(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Build => "an image (a `build` step)",
        StepKind::Register => "a task definition (a `register` step)",
        StepKind::Update => "a deployment (an `update` step)",
        StepKind::Tag => "a `tag` step",
        StepKind::Push => "a `push` step",
        StepKind::Verify => "a `verify` step",
        StepKind::Rollback => "a `rollback` step",
    }
}

/// Whether a step of this kind defines its name (rather than naming another step).
#[must_use]
pub fn defines_name(kind: StepKind) -> bool {
    matches!(kind, StepKind::Build | StepKind::Register | StepKind::Update)
}

/// The symbol table.
#[derive(Debug, Default)]
pub struct Symbols {
    /// The first definition of each name.
    pub definitions: BTreeMap<String, Definition>,
    /// `push NAME` steps: name → (position, span of the step).
    pub pushes: BTreeMap<String, (usize, Span)>,
    /// Variables set in `defaults { vars = { … } }`.
    pub default_vars: BTreeSet<String>,
    /// Variables set by each environment.
    pub environment_vars: BTreeMap<String, BTreeSet<String>>,
}

impl Symbols {
    #[must_use]
    pub fn collect(file: &Deployfile) -> Self {
        let mut symbols = Symbols::default();
        for (position, item) in file.items.iter().enumerate() {
            match item {
                Item::Step(step) if defines_name(step.kind) => {
                    symbols.definitions.entry(step.name.name.clone()).or_insert(Definition {
                        kind: step.kind,
                        position,
                        span: step.name.span,
                    });
                }
                Item::Step(step) if step.kind == StepKind::Push => {
                    symbols.pushes.entry(step.name.name.clone()).or_insert((position, step.span));
                }
                Item::Defaults(defaults) => {
                    symbols.default_vars.extend(var_names(&defaults.body));
                }
                Item::Environment(environment) => {
                    symbols
                        .environment_vars
                        .entry(environment.name.name.clone())
                        .or_default()
                        .extend(var_names(&environment.body));
                }
                Item::Step(_) | Item::Handler(_) => {}
            }
        }
        symbols
    }

    /// Names defined by steps of `kind`.
    pub fn names_of(&self, kind: StepKind) -> impl Iterator<Item = &str> {
        self.definitions
            .iter()
            .filter(move |(_, definition)| definition.kind == kind)
            .map(|(name, _)| name.as_str())
    }
}

fn var_names(body: &crate::syntax::Block) -> Vec<String> {
    body.field("vars")
        .and_then(|field| match &field.value.kind {
            ExprKind::Map(entries) => Some(entries.iter().map(|e| e.key.name.clone()).collect()),
            _ => None,
        })
        .unwrap_or_default()
}
