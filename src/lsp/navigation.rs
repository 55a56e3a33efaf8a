//! Step names across a Deployfile: where each is defined (`build`, `register`, `update`)
//! and where it is used (references in values, `tag`/`push`/`verify`/`rollback NAME`),
//! for go to definition, find references and rename; and the outline of the file.

use lsp_types::{DocumentSymbol, SymbolKind};

use super::document::Document;
use crate::check::defines_name;
use crate::syntax::{Deployfile, Entry, Expr, ExprKind, Item, Span, Step, StepKind, StringPart};

/// One place a step name appears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Occurrence {
    pub(super) name: String,
    pub(super) span: Span,
    pub(super) definition: bool,
}

/// Every occurrence of a defined step name, in source order.
pub(super) fn occurrences(file: &Deployfile) -> Vec<Occurrence> {
    let defined: std::collections::BTreeSet<&str> = file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Step(step) if defines_name(step.kind) => Some(step.name.name.as_str()),
            _ => None,
        })
        .collect();
    let mut found = Vec::new();
    let step = |step: &Step, found: &mut Vec<Occurrence>| {
        if defined.contains(step.name.name.as_str()) {
            found.push(Occurrence {
                name: step.name.name.clone(),
                span: step.name.span,
                definition: defines_name(step.kind),
            });
        }
        for entry in step.entries() {
            entry_references(entry, &defined, found);
        }
    };
    for item in &file.items {
        match item {
            Item::Step(s) => step(s, &mut found),
            Item::Handler(handler) => {
                for s in &handler.steps {
                    step(s, &mut found);
                }
            }
            Item::Defaults(defaults) => {
                for entry in &defaults.body.entries {
                    entry_references(entry, &defined, &mut found);
                }
            }
            Item::Environment(environment) => {
                for entry in &environment.body.entries {
                    entry_references(entry, &defined, &mut found);
                }
            }
        }
    }
    found.sort_by_key(|o| o.span.start);
    found
}

fn entry_references(
    entry: &Entry,
    defined: &std::collections::BTreeSet<&str>,
    found: &mut Vec<Occurrence>,
) {
    match entry {
        Entry::Field(field) => expr_references(&field.value, defined, found),
        Entry::Block(block) => {
            if let Some(label) = &block.label {
                expr_references(label, defined, found);
            }
            for inner in block.entries() {
                entry_references(inner, defined, found);
            }
        }
    }
}

fn expr_references(
    expr: &Expr,
    defined: &std::collections::BTreeSet<&str>,
    found: &mut Vec<Occurrence>,
) {
    match &expr.kind {
        ExprKind::Reference(reference) => {
            let head = reference.head();
            if defined.contains(head.name.as_str()) {
                found.push(Occurrence {
                    name: head.name.clone(),
                    span: head.span,
                    definition: false,
                });
            }
        }
        ExprKind::String(string) => {
            for part in &string.parts {
                if let StringPart::Interpolation(inner) = part {
                    expr_references(inner, defined, found);
                }
            }
        }
        ExprKind::List(items) => {
            for item in items {
                expr_references(item, defined, found);
            }
        }
        ExprKind::Map(entries) => {
            for entry in entries {
                expr_references(&entry.value, defined, found);
            }
        }
        ExprKind::Call(call) => {
            for argument in &call.arguments {
                expr_references(&argument.value, defined, found);
            }
        }
        ExprKind::Bool(_)
        | ExprKind::Integer(_)
        | ExprKind::Duration(_)
        | ExprKind::Percentage(_) => {}
    }
}

/// The occurrence under `offset` (a cursor right after a name counts).
pub(super) fn at(occurrences: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occurrences.iter().find(|o| o.span.start <= offset && offset <= o.span.end)
}

/// Whether `name` may name a step.
pub(super) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !crate::check::schema::NAMESPACES.contains(&name)
        && StepKind::from_keyword(name).is_none()
        && !matches!(name, "true" | "false" | "defaults" | "environment" | "on")
}

/// The outline: one symbol per item, steps with their containers and gates.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be spelt out.
pub(super) fn symbols(document: &Document, file: &Deployfile) -> Vec<DocumentSymbol> {
    let symbol =
        |name: String, detail: Option<String>, kind, span: Span, selection: Span, children| {
            DocumentSymbol {
                name,
                detail,
                kind,
                tags: None,
                deprecated: None,
                range: document.range(span),
                selection_range: document.range(selection),
                children,
            }
        };
    let step_symbol = |step: &Step| {
        let children: Vec<DocumentSymbol> = step
            .body
            .iter()
            .flat_map(crate::syntax::Block::blocks)
            .map(|block| {
                let label = block
                    .label
                    .as_ref()
                    .map(|label| document.text[label.span.start..label.span.end].to_owned());
                let name = match &label {
                    Some(label) => format!("{} {label}", block.kind.name),
                    None => block.kind.name.clone(),
                };
                symbol(name, None, SymbolKind::OBJECT, block.span, block.kind.span, None)
            })
            .collect();
        symbol(
            format!("{} {}", step.kind.keyword(), step.name.name),
            Some(crate::check::schema::step(step.kind).what.to_owned()),
            if defines_name(step.kind) { SymbolKind::FUNCTION } else { SymbolKind::EVENT },
            step.span,
            step.name.span,
            (!children.is_empty()).then_some(children),
        )
    };
    file.items
        .iter()
        .map(|item| match item {
            Item::Step(step) => step_symbol(step),
            Item::Defaults(defaults) => symbol(
                "defaults".to_owned(),
                None,
                SymbolKind::NAMESPACE,
                defaults.span,
                defaults.keyword,
                None,
            ),
            Item::Environment(environment) => symbol(
                format!("environment {}", environment.name.name),
                None,
                SymbolKind::NAMESPACE,
                environment.span,
                environment.name.span,
                None,
            ),
            Item::Handler(handler) => symbol(
                format!("on {}", handler.event.name),
                None,
                SymbolKind::EVENT,
                handler.span,
                handler.event.span,
                Some(handler.steps.iter().map(step_symbol).collect()),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{occurrences, valid_name};

    #[test]
    fn every_use_of_a_step_name() {
        let text = "build app {}\ntag app { tags = [\"${app}\"] }\npush app { to = ecr(\"x/a\") }\n\
                    register t { family = \"f\"\n container \"c\" { image = app } }\n\
                    update w { task_definition = t }\nverify w {}\non failure { rollback w }\n";
        let file = crate::syntax::parse(text).expect("parses");
        let found: Vec<(String, &str, bool)> = occurrences(&file)
            .into_iter()
            .map(|o| (o.name, &text[o.span.start..o.span.end], o.definition))
            .collect();
        let names: Vec<(&str, bool)> = found.iter().map(|(n, _, d)| (n.as_str(), *d)).collect();
        assert_eq!(
            names,
            [
                ("app", true),
                ("app", false),
                ("app", false),
                ("app", false),
                ("t", true),
                ("app", false),
                ("w", true),
                ("t", false),
                ("w", false),
                ("w", false)
            ]
        );
        assert!(found.iter().all(|(name, text, _)| name == text));
        assert!(
            valid_name("web-2") && !valid_name("git") && !valid_name("2x") && !valid_name("build")
        );
    }
}
