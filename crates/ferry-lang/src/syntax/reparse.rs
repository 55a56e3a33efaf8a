//! Parsing again after one edit, for the language server: when the edit lies inside one
//! top-level item, only that item's text is parsed, and the items after it keep their
//! trees with their spans moved. Parsing is most of the cost of a check (pest), and an
//! edit usually touches one step of many, so this is what keeps a keystroke's diagnostics
//! fast on a long file. The result is the tree a full parse gives (a test compares them
//! edit by edit); whenever that cannot be sure, it answers `None` and the caller parses
//! the whole text.

use super::{
    Block, Comment, Deployfile, Entry, Expr, ExprKind, Ident, Item, Span, Step, StringPart, parse,
};

/// The tree of `text` after the edit that replaced `replaced` (a span of the text `file`
/// was parsed from) with `inserted` bytes; `None` when the whole text must be parsed.
#[must_use]
pub fn reparse(
    file: &Deployfile,
    text: &str,
    replaced: Span,
    inserted: usize,
) -> Option<Deployfile> {
    let index = file
        .items
        .iter()
        .position(|item| item.span().start < replaced.start && replaced.end < item.span().end)?;
    let old = file.items[index].span();
    let delta = inserted as isize - replaced.len() as isize;
    let end = old.end.checked_add_signed(delta)?;
    let piece = text.get(old.start..end)?;
    // The item alone must parse as exactly one item covering all of its text.
    let mut alone = parse(piece).ok()?;
    if alone.items.len() != 1 || alone.items[0].span() != Span::new(0, piece.len()) {
        return None;
    }
    // A step without a block (`rollback web`) could take a block that follows it in the
    // whole text; such items are parsed with the rest.
    if matches!(&alone.items[0], Item::Step(Step { body: None, .. }))
        || matches!(&file.items[index], Item::Step(Step { body: None, .. }))
    {
        return None;
    }
    let mut item = alone.items.remove(0);
    shift_item(&mut item, old.start as isize);
    let mut items = Vec::with_capacity(file.items.len());
    items.extend(file.items[..index].iter().cloned());
    items.push(item);
    for later in &file.items[index + 1..] {
        let mut later = later.clone();
        shift_item(&mut later, delta);
        items.push(later);
    }
    let mut comments: Vec<Comment> =
        file.comments.iter().filter(|c| c.span.end <= old.start).cloned().collect();
    comments.extend(alone.comments.into_iter().map(|mut c| {
        c.span = moved(c.span, old.start as isize);
        c
    }));
    comments.extend(
        file.comments
            .iter()
            .filter(|c| c.span.start >= old.end)
            .map(|c| Comment { text: c.text.clone(), span: moved(c.span, delta) }),
    );
    Some(Deployfile { items, comments })
}

fn moved(span: Span, by: isize) -> Span {
    Span::new(span.start.saturating_add_signed(by), span.end.saturating_add_signed(by))
}

fn shift_ident(ident: &mut Ident, by: isize) {
    ident.span = moved(ident.span, by);
}

fn shift_item(item: &mut Item, by: isize) {
    match item {
        Item::Defaults(defaults) => {
            defaults.keyword = moved(defaults.keyword, by);
            shift_block(&mut defaults.body, by);
            defaults.span = moved(defaults.span, by);
        }
        Item::Environment(environment) => {
            shift_ident(&mut environment.name, by);
            shift_block(&mut environment.body, by);
            environment.span = moved(environment.span, by);
        }
        Item::Handler(handler) => {
            shift_ident(&mut handler.event, by);
            for step in &mut handler.steps {
                shift_step(step, by);
            }
            handler.braces = moved(handler.braces, by);
            handler.span = moved(handler.span, by);
        }
        Item::Step(step) => shift_step(step, by),
    }
}

fn shift_step(step: &mut Step, by: isize) {
    step.kind_span = moved(step.kind_span, by);
    shift_ident(&mut step.name, by);
    if let Some(body) = &mut step.body {
        shift_block(body, by);
    }
    step.span = moved(step.span, by);
}

fn shift_block(block: &mut Block, by: isize) {
    for entry in &mut block.entries {
        match entry {
            Entry::Field(field) => {
                shift_ident(&mut field.key, by);
                shift_expr(&mut field.value, by);
                field.span = moved(field.span, by);
            }
            Entry::Block(nested) => {
                shift_ident(&mut nested.kind, by);
                if let Some(label) = &mut nested.label {
                    shift_expr(label, by);
                }
                if let Some(body) = &mut nested.body {
                    shift_block(body, by);
                }
                nested.span = moved(nested.span, by);
            }
        }
    }
    block.span = moved(block.span, by);
}

fn shift_expr(expr: &mut Expr, by: isize) {
    match &mut expr.kind {
        ExprKind::Bool(_)
        | ExprKind::Duration(_)
        | ExprKind::Integer(_)
        | ExprKind::Percentage(_) => {}
        ExprKind::Call(call) => {
            shift_ident(&mut call.function, by);
            for argument in &mut call.arguments {
                if let Some(name) = &mut argument.name {
                    shift_ident(name, by);
                }
                shift_expr(&mut argument.value, by);
                argument.span = moved(argument.span, by);
            }
            call.parens = moved(call.parens, by);
        }
        ExprKind::List(items) => {
            for item in items {
                shift_expr(item, by);
            }
        }
        ExprKind::Map(entries) => {
            for entry in entries {
                entry.key.span = moved(entry.key.span, by);
                shift_expr(&mut entry.value, by);
                entry.span = moved(entry.span, by);
            }
        }
        ExprKind::Reference(reference) => {
            for segment in &mut reference.segments {
                shift_ident(segment, by);
            }
        }
        ExprKind::String(string) => {
            for part in &mut string.parts {
                match part {
                    StringPart::Text(_, span) => *span = moved(*span, by),
                    StringPart::Interpolation(inner) => shift_expr(inner, by),
                }
            }
        }
    }
    expr.span = moved(expr.span, by);
}

#[cfg(test)]
mod tests {
    use super::reparse;
    use crate::syntax::{Span, parse};

    /// Every single-byte insertion and deletion, and a few replacements, at every
    /// position of the example pipelines: when `reparse` answers, its tree is the full
    /// parse's, spans and comments included.
    #[test]
    fn the_same_tree_as_a_full_parse() {
        let mut answered = 0;
        for name in ["web", "multi-service", "hello"] {
            let text = std::fs::read_to_string(format!(
                "{}/../../pipelines/{name}.deploy",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("pipeline");
            let file = parse(&text).expect("parses");
            let boundaries: Vec<usize> =
                (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
            for window in boundaries.windows(2).step_by(4) {
                let (at, next) = (window[0], window[1]);
                for (replaced, inserted) in [
                    (Span::new(at, at), "x"),
                    (Span::new(at, at), "\n"),
                    (Span::new(at, at), "}"),
                    (Span::new(at, at), "\"${"),
                    (Span::new(at, next), ""),
                    (Span::new(at, next), "9"),
                ] {
                    let mut edited = text.clone();
                    edited.replace_range(replaced.start..replaced.end, inserted);
                    let Some(fast) = reparse(&file, &edited, replaced, inserted.len()) else {
                        continue;
                    };
                    answered += 1;
                    let full = parse(&edited).unwrap_or_else(|d| {
                        panic!("reparse answered for a text that does not parse: {d:?}\n{edited}")
                    });
                    assert_eq!(fast, full, "{name}: {replaced:?} → {inserted:?}");
                }
            }
        }
        assert!(answered > 1000, "only {answered} edits were reparsed");
    }
}
