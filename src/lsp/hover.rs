//! Hover: what the word under the cursor is — a step kind with its fields, a field with
//! its type, doc and example, a built-in function with its parameters, a reference with
//! its type — from the same schema the checker reads, and the docs/diagnostics.md section
//! of every diagnostic under the cursor.

use std::fmt::Write as _;

use super::document::Document;
use crate::assist::{Place, place_at};
use crate::check::schema::{self, AttributeSpec, BlockSpec};
use crate::syntax::{Span, StepKind, Token, TokenKind, tokens};

/// The text of docs/diagnostics.md, whose sections hover shows for codes.
const DIAGNOSTICS_DOC: &str = include_str!("../../docs/diagnostics.md");

/// The section of docs/diagnostics.md for `code`, without its heading.
pub(super) fn code_doc(code: &str) -> Option<&'static str> {
    let heading = format!("## `{code}`\n");
    let start = DIAGNOSTICS_DOC.find(&heading)? + heading.len();
    let rest = &DIAGNOSTICS_DOC[start..];
    Some(rest[..rest.find("\n## ").unwrap_or(rest.len())].trim())
}

/// Markdown for the position `offset`, and the span it is about.
pub(super) fn hover(document: &Document, offset: usize) -> Option<(Span, String)> {
    let text = &document.text;
    let all = tokens(text);
    let index = all
        .iter()
        .position(|t| t.kind == TokenKind::Word && t.span.start <= offset && offset <= t.span.end);
    let mut out = String::new();
    let mut span = None;
    if let Some(i) = index
        && let Some(doc) = word(document, &all, i)
    {
        out.push_str(&doc);
        span = Some(all[i].span);
    }
    for diagnostic in &document.diagnostics {
        let at = diagnostic.span();
        if at.start <= offset && offset <= at.end.max(at.start + 1) {
            let code = diagnostic.code.to_string();
            if !out.is_empty() {
                out.push_str("\n\n---\n\n");
            }
            let _ = write!(out, "**`{code}`**");
            if let Some(doc) = code_doc(&code) {
                let _ = write!(out, "\n\n{doc}");
            }
            span.get_or_insert(at);
        }
    }
    span.map(|span| (span, out))
}

/// The doc of the word `all[i]`.
fn word(document: &Document, all: &[Token], i: usize) -> Option<String> {
    let text = &document.text;
    let token = all[i];
    let name = token.text(text);
    let next = all.get(i + 1).map(|t| t.text(text));
    let place = place_at(text, token.span.start).place;
    // The dotted chain the word is part of: `app.digest`.
    let mut first = i;
    while first >= 2
        && all[first - 1].text(text) == "."
        && all[first - 1].span.start == all[first - 2].span.end
        && all[first - 2].kind == TokenKind::Word
    {
        first -= 2;
    }
    let chain: Vec<&str> = (first..=i).step_by(2).map(|j| all[j].text(text)).collect();
    match place {
        Place::ItemStart { .. } => match StepKind::from_keyword(name) {
            Some(kind) => Some(block_doc(
                &format!("`{name}` — {}", schema::step(kind).what),
                schema::step(kind),
            )),
            None => match name {
                "defaults" => Some(block_doc(
                    "`defaults` — settings every environment starts from",
                    &schema::SETTINGS,
                )),
                "environment" => Some(block_doc(
                    "`environment NAME` — settings chosen with `--env NAME`, over `defaults`",
                    &schema::SETTINGS,
                )),
                "on" => Some(
                    "`on failure { … }` — steps run when the pipeline fails (`rollback NAME`)"
                        .to_owned(),
                ),
                _ => None,
            },
        },
        Place::Key(spec) => {
            if let Some(field) = spec.field(name) {
                let mut doc =
                    format!("`{}` — {}\n\n{}", field.name, field.doc, field.ty.describe());
                if field.required {
                    doc.push_str(", required");
                }
                let _ = write!(doc, "\n\n```deploy\n{}\n```", field.example);
                Some(doc)
            } else {
                spec.block(name).map(|nested| {
                    format!(
                        "`{}` — {}\n\n```deploy\n{}\n```",
                        nested.kind, nested.doc, nested.example
                    )
                })
            }
        }
        Place::StepName(_) => step_doc(document, name),
        _ if next == Some("(") => schema::function(name).map(|function| {
            let params: Vec<String> = function
                .params
                .iter()
                .map(|p| if p.required { p.name.to_owned() } else { format!("{}?", p.name) })
                .collect();
            format!(
                "`{}({})` → {}\n\n{}",
                function.name,
                params.join(", "),
                function.returns.describe(),
                function.doc
            )
        }),
        _ => reference_doc(document, &chain),
    }
}

/// A block's doc line and its fields.
fn block_doc(title: &str, spec: &BlockSpec) -> String {
    let mut doc = format!("{title}\n");
    for field in spec.fields {
        let _ = write!(
            doc,
            "\n- `{}`{} — {}",
            field.name,
            if field.required { " (required)" } else { "" },
            field.doc
        );
    }
    for nested in spec.blocks {
        let _ = write!(doc, "\n- `{} …` — {}", nested.kind, nested.doc);
    }
    doc
}

/// A step name: what it stands for and where it is defined.
fn step_doc(document: &Document, name: &str) -> Option<String> {
    let file = document.file.as_ref().filter(|_| document.current)?;
    let symbols = crate::check::Symbols::collect(file);
    let definition = symbols.definitions.get(name)?;
    let line = document.position(definition.span.start).line + 1;
    Some(format!("`{name}`: {}, defined on line {line}", definition.describe()))
}

/// `git.sha`, `env.cluster`, `vars.x`, `app`, `app.digest`.
fn reference_doc(document: &Document, chain: &[&str]) -> Option<String> {
    let attribute = |specs: &[AttributeSpec], name: &str| {
        specs
            .iter()
            .find(|a| a.name == name)
            .map(|a| format!("`{}` — {}\n\ntype: {}", chain.join("."), a.doc, a.ty.describe()))
    };
    match chain {
        ["git"] => Some(
            "`git` — the commit being deployed: `sha`, `short_sha`, `branch`, `dirty`".to_owned(),
        ),
        ["env"] => Some(
            "`env` — the chosen environment: `name`, `region`, `cluster`, `account`, `profile`"
                .to_owned(),
        ),
        ["vars"] => {
            Some("`vars` — the variables of `defaults` and the chosen environment".to_owned())
        }
        ["git", name] => attribute(schema::GIT, name),
        ["env", name] => attribute(schema::ENV, name),
        ["vars", name, ..] => {
            Some(format!("`vars.{name}` — a variable set in `defaults` or an `environment`"))
        }
        [step] => step_doc(document, step),
        [step, name] => {
            let file = document.file.as_ref().filter(|_| document.current)?;
            let symbols = crate::check::Symbols::collect(file);
            let specs = match symbols.definitions.get(*step)?.kind {
                StepKind::Build => schema::IMAGE,
                StepKind::Register => schema::TASK_DEFINITION,
                _ => schema::DEPLOYMENT,
            };
            attribute(specs, name)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{code_doc, hover};
    use crate::lsp::document::Document;

    fn at(text: &str, needle: &str) -> String {
        let document = Document::new(text.to_owned(), 1);
        let offset = text.find(needle).expect("needle") + 1;
        hover(&document, offset).map(|(_, doc)| doc).unwrap_or_default()
    }

    #[test]
    fn hover_docs() {
        let text = "build app {}\nregister web_task {\n  family = \"web\"\n  \
                    container \"c\" { image = app }\n}\nupdate web {\n  \
                    task_definition = web_task\n  circuit_breaker = rollback\n}\n\
                    push app { to = ecr(\"x/a\") }\n";
        assert!(at(text, "update").starts_with("`update` — "), "{}", at(text, "update"));
        assert!(at(text, "circuit_breaker").starts_with("`circuit_breaker` — "));
        assert!(
            at(text, "ecr").starts_with(
                "`ecr(name, create?, keep?, scan_on_push?, immutable?)` → a repository"
            )
        );
        assert_eq!(
            at(text, "web_task\n"),
            "`web_task`: a task definition (a `register` step), defined on line 2"
        );
        assert!(at(text, "container").starts_with("`container` — "));
        let broken = "build a { args = { X = git.sah } }\n";
        let doc = at(broken, "sah");
        assert!(doc.starts_with("**`ferry::check::unknown_attribute`**"), "{doc}");
        assert!(
            code_doc("ferry::check::duplicate_step")
                .is_some_and(|d| d.starts_with("**Severity:** error"))
        );
    }
}
