//! Where the cursor is, in grammar terms: at the start of an item, at a field of some
//! block, in a value, after `base.`, inside a string argument. Read from the tokens
//! before the cursor with a stack of open brackets, so it works on text that does not
//! parse yet (the usual case while typing).

use crate::check::schema::{self, BlockSpec, FieldSpec, LabelSpec, NestedBody, NestedSpec};
use crate::syntax::{Span, StepKind, Token, TokenKind, tokens};

/// An open bracket and what it opened.
#[derive(Clone, Debug)]
pub enum Frame {
    /// The file's top level.
    Top,
    /// `defaults { … }` or `environment NAME { … }`.
    Settings,
    /// `on failure { … }`.
    Handler,
    Step(StepKind),
    Nested(&'static BlockSpec),
    /// A block whose kind is not known (misspelt).
    Unknown,
    Map,
    /// A list, and the field it is the value of.
    List(Option<&'static FieldSpec>),
    /// The arguments of a call of this function.
    Call(String),
    String,
    Interpolation,
}

/// What may be written at the cursor.
#[derive(Clone, Debug)]
pub enum Place {
    /// Where an item (or, in a handler, a step) starts.
    ItemStart {
        in_handler: bool,
    },
    /// The name after a step keyword.
    StepName(StepKind),
    /// The event after `on`.
    EventName,
    /// The name after `environment`.
    EnvironmentName,
    /// A field or nested block of this block.
    Key(&'static BlockSpec),
    /// The label of a nested block (`gate |`).
    Label(&'static NestedSpec),
    /// A value, of this field when known.
    Value {
        field: Option<&'static FieldSpec>,
    },
    /// After `base.` in a value.
    Attribute {
        base: Vec<String>,
    },
    /// Inside a string given to this function.
    StringArgument {
        function: String,
    },
    Nothing,
}

/// The place at a cursor, the span of the partial word there, and the steps the text
/// before the cursor defines (name, kind, offset).
#[derive(Clone, Debug)]
pub struct PlaceAt {
    pub place: Place,
    pub prefix: Span,
    pub steps: Vec<(String, StepKind, usize)>,
}

struct Open {
    frame: Frame,
    /// The tokens of the entry being written in this frame, since the last separator.
    entry: Vec<Token>,
    /// The step this block's closing brace defines (in scope after it).
    defines: Option<(String, StepKind, usize)>,
}

/// The place at byte `offset` of `text`.
#[must_use]
pub fn place_at(text: &str, offset: usize) -> PlaceAt {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let all: Vec<Token> = tokens(text).into_iter().filter(|t| t.span.start < offset).collect();
    // The partial word under the cursor, and the dotted chain before it.
    let mut prefix = Span::at(offset);
    let mut before = all.len();
    if let Some(last) = all.last() {
        if last.kind == TokenKind::Comment {
            return PlaceAt { place: Place::Nothing, prefix, steps: Vec::new() };
        }
        if matches!(last.kind, TokenKind::Word | TokenKind::StringText) && last.span.end >= offset {
            prefix = Span::new(last.span.start, offset);
            before -= 1;
        }
    }
    let mut base = Vec::new();
    while before >= 2
        && all[before - 1].kind == TokenKind::Punct
        && all[before - 1].text(text) == "."
        && all[before - 2].kind == TokenKind::Word
        && all[before - 1].span.end == all.get(before).map_or(prefix.start, |t| t.span.start)
        && all[before - 2].span.end == all[before - 1].span.start
    {
        base.insert(0, all[before - 2].text(text).to_owned());
        before -= 2;
    }
    let (stack, steps) = walk(text, &all[..before]);
    let top = stack.last().expect("the stack never empties");
    let words: Vec<&str> =
        top.entry.iter().filter(|t| t.kind == TokenKind::Word).map(|t| t.text(text)).collect();
    let has_equals = top.entry.iter().any(|t| t.text(text) == "=" && t.kind == TokenKind::Punct);
    let place = if matches!(top.frame, Frame::String) {
        let parent = stack.len().checked_sub(2).map(|i| &stack[i]);
        match parent {
            Some(Open { frame: Frame::Call(function), .. }) => {
                Place::StringArgument { function: function.clone() }
            }
            _ => Place::Nothing,
        }
    } else if !base.is_empty() {
        Place::Attribute { base }
    } else {
        match &top.frame {
            Frame::Top | Frame::Handler if top.entry.is_empty() => {
                Place::ItemStart { in_handler: matches!(top.frame, Frame::Handler) }
            }
            Frame::Top | Frame::Handler => match top.entry.as_slice() {
                [word] if word.kind == TokenKind::Word => match word.text(text) {
                    "on" if matches!(top.frame, Frame::Top) => Place::EventName,
                    "environment" if matches!(top.frame, Frame::Top) => Place::EnvironmentName,
                    keyword => {
                        StepKind::from_keyword(keyword).map_or(Place::Nothing, Place::StepName)
                    }
                },
                _ => Place::Nothing,
            },
            frame @ (Frame::Settings | Frame::Step(_) | Frame::Nested(_)) => {
                let spec = block_spec(frame).expect("a block with a schema");
                match (top.entry.first(), has_equals) {
                    (None, _) => Place::Key(spec),
                    (Some(key), true) => Place::Value { field: spec.field(key.text(text)) },
                    (Some(kind), false) if words.len() == 1 && top.entry.len() == 1 => spec
                        .block(kind.text(text))
                        .filter(|nested| matches!(nested.label, LabelSpec::Call(_)))
                        .map_or(Place::Nothing, Place::Label),
                    _ => Place::Nothing,
                }
            }
            Frame::Unknown | Frame::Map if has_equals => Place::Value { field: None },
            Frame::Unknown | Frame::Map | Frame::String => Place::Nothing,
            Frame::List(field) => Place::Value { field: *field },
            Frame::Call(_) | Frame::Interpolation => Place::Value { field: None },
        }
    };
    PlaceAt { place, prefix, steps }
}

fn block_spec(frame: &Frame) -> Option<&'static BlockSpec> {
    match frame {
        Frame::Settings => Some(&schema::SETTINGS),
        Frame::Step(kind) => Some(schema::step(*kind)),
        Frame::Nested(spec) => Some(spec),
        _ => None,
    }
}

/// Runs the tokens through the bracket stack.
fn walk(text: &str, tokens: &[Token]) -> (Vec<Open>, Vec<(String, StepKind, usize)>) {
    let mut stack = vec![Open { frame: Frame::Top, entry: Vec::new(), defines: None }];
    let mut steps = Vec::new();
    for &token in tokens {
        let piece = token.text(text);
        let top = stack.last_mut().expect("the stack never empties");
        match (token.kind, piece) {
            (TokenKind::Comment, _) => {}
            (TokenKind::Newline, _) => {
                if matches!(top.frame, Frame::String) {
                    stack.pop();
                }
                let top = stack.last_mut().expect("the stack never empties");
                if !matches!(
                    top.frame,
                    Frame::List(_) | Frame::Call(_) | Frame::Interpolation | Frame::String
                ) {
                    top.entry.clear();
                }
            }
            (TokenKind::Punct, ",") => top.entry.clear(),
            (TokenKind::Punct, "{") => {
                let mut defines = None;
                let frame = opened_block(text, top, &mut defines);
                stack.push(Open { frame, entry: Vec::new(), defines });
            }
            (TokenKind::Punct, "[") => {
                let field = field_of_entry(text, top);
                top.entry.push(token);
                stack.push(Open { frame: Frame::List(field), entry: Vec::new(), defines: None });
            }
            (TokenKind::Punct, "(") => {
                let function = top
                    .entry
                    .iter()
                    .rev()
                    .find(|t| t.kind == TokenKind::Word)
                    .map(|t| t.text(text).to_owned())
                    .unwrap_or_default();
                top.entry.push(token);
                stack.push(Open { frame: Frame::Call(function), entry: Vec::new(), defines: None });
            }
            (TokenKind::Punct, "}" | "]" | ")") | (TokenKind::InterpolationClose, _) => {
                // Close the frame this bracket matches, and any left open inside it.
                let matches = |frame: &Frame| match (token.kind, piece) {
                    (TokenKind::InterpolationClose, _) => matches!(frame, Frame::Interpolation),
                    (_, "]") => matches!(frame, Frame::List(_)),
                    (_, ")") => matches!(frame, Frame::Call(_)),
                    _ => !matches!(
                        frame,
                        Frame::Top
                            | Frame::List(_)
                            | Frame::Call(_)
                            | Frame::String
                            | Frame::Interpolation
                    ),
                };
                let Some(target) = stack.iter().rposition(|open| matches(&open.frame)) else {
                    continue;
                };
                if target == 0 {
                    continue;
                }
                stack.truncate(target + 1);
                {
                    let closed = stack.pop().expect("more than one frame");
                    steps.extend(closed.defines);
                    let parent = stack.last_mut().expect("the stack never empties");
                    match closed.frame {
                        Frame::Settings
                        | Frame::Handler
                        | Frame::Step(_)
                        | Frame::Nested(_)
                        | Frame::Unknown => parent.entry.clear(),
                        _ => parent.entry.push(token),
                    }
                }
            }
            (TokenKind::StringStart, _) => {
                top.entry.push(token);
                stack.push(Open { frame: Frame::String, entry: Vec::new(), defines: None });
            }
            (TokenKind::StringEnd, _) => {
                if matches!(top.frame, Frame::String) {
                    stack.pop();
                }
            }
            (TokenKind::InterpolationOpen, _) => {
                stack.push(Open { frame: Frame::Interpolation, entry: Vec::new(), defines: None });
            }
            _ => top.entry.push(token),
        }
    }
    (stack, steps)
}

/// The field an entry `KEY = …` sets, in a block with a schema.
fn field_of_entry(text: &str, open: &Open) -> Option<&'static FieldSpec> {
    let spec = block_spec(&open.frame)?;
    open.entry.first().and_then(|key| spec.field(key.text(text)))
}

/// What a `{` opens, from the frame it is in and the entry before it.
fn opened_block(
    text: &str,
    open: &mut Open,
    defines: &mut Option<(String, StepKind, usize)>,
) -> Frame {
    let words: Vec<&str> =
        open.entry.iter().filter(|t| t.kind == TokenKind::Word).map(|t| t.text(text)).collect();
    let has_equals = open.entry.iter().any(|t| t.kind == TokenKind::Punct && t.text(text) == "=");
    match &open.frame {
        Frame::Top | Frame::Handler => match words.as_slice() {
            ["defaults"] | ["environment", _] => Frame::Settings,
            ["on", _] => Frame::Handler,
            [keyword, name] => match StepKind::from_keyword(keyword) {
                Some(kind) => {
                    let at = open.entry.first().map_or(0, |t| t.span.start);
                    *defines = Some(((*name).to_owned(), kind, at));
                    Frame::Step(kind)
                }
                None => Frame::Unknown,
            },
            _ => Frame::Unknown,
        },
        frame @ (Frame::Settings | Frame::Step(_) | Frame::Nested(_) | Frame::Unknown)
            if !has_equals =>
        {
            let nested = block_spec(frame).and_then(|spec| spec.block(words.first()?));
            match nested.map(|nested| &nested.body) {
                Some(NestedBody::Fixed(spec)) => Frame::Nested(spec),
                Some(NestedBody::ByCall(choices)) => words
                    .get(1)
                    .and_then(|call| choices.iter().find(|(name, _)| name == call))
                    .map_or(Frame::Unknown, |(_, spec)| Frame::Nested(spec)),
                None => Frame::Unknown,
            }
        }
        _ => Frame::Map,
    }
}

#[cfg(test)]
mod tests {
    use super::{Place, place_at};
    use crate::syntax::StepKind;

    /// The place at the `|` of `text`.
    fn at(text: &str) -> (Place, String) {
        let offset = text.find('|').expect("a cursor");
        let text = text.replace('|', "");
        let found = place_at(&text, offset);
        (found.place, text[found.prefix.start..found.prefix.end].to_owned())
    }

    #[test]
    fn places() {
        assert!(matches!(at("bu|").0, Place::ItemStart { in_handler: false }));
        assert!(matches!(at("build app {}\npush |").0, Place::StepName(StepKind::Push)));
        assert!(matches!(at("on |").0, Place::EventName));
        assert!(matches!(at("on failure {\n  rollback |").0, Place::StepName(StepKind::Rollback)));
        let (place, prefix) = at("update web {\n  grace = 1s\n  circ|");
        assert!(matches!(place, Place::Key(spec) if spec.field("circuit_breaker").is_some()));
        assert_eq!(prefix, "circ");
        let (place, _) = at("update web {\n  circuit_breaker = r|");
        assert!(matches!(place, Place::Value { field: Some(f) } if f.name == "circuit_breaker"));
        let (place, _) = at("register t {\n  container \"web\" {\n    im|");
        assert!(matches!(place, Place::Key(spec) if spec.field("image").is_some()));
        let (place, _) = at("register t {\n  container \"web\" { cpu = 1 }\n  |");
        assert!(matches!(place, Place::Key(spec) if spec.field("family").is_some()));
        let (place, _) = at("verify w {\n  gate |");
        assert!(matches!(place, Place::Label(nested) if nested.kind == "gate"));
        let (place, _) = at("verify w {\n  gate http(\"x\") { st|");
        assert!(matches!(place, Place::Key(spec) if spec.field("status").is_some()));
        let (place, prefix) = at("build a { args = { X = git.sh| } }");
        assert!(matches!(place, Place::Attribute { base } if base == ["git"]));
        assert_eq!(prefix, "sh");
        let (place, _) = at("tag a { tags = [\"${env.|");
        assert!(matches!(place, Place::Attribute { base } if base == ["env"]));
        let (place, prefix) = at("verify w { gate script(\"gates/v|");
        assert!(matches!(place, Place::StringArgument { function } if function == "script"));
        assert_eq!(prefix, "gates/v");
        assert!(matches!(at("build a { # co|").0, Place::Nothing));
        assert!(matches!(at("build a { context = \"./|").0, Place::Nothing));
        // A dot with a blank before it is not an attribute; a bracket closes what it opened.
        assert!(!matches!(at("build a { args = { X = git .s| } }").0, Place::Attribute { .. }));
        let (place, _) = at("update w {\n  x = \"${ [ }\"\n  gr|");
        assert!(matches!(place, Place::Key(spec) if spec.field("grace").is_some()));
        let (place, _) = at("register t { requires = [F|");
        assert!(matches!(place, Place::Value { field: Some(f) } if f.name == "requires"));
    }

    #[test]
    fn steps_before_the_cursor() {
        // The step being written is not in scope inside itself.
        let text =
            "build app {}\nregister t { from = service(\"w\") }\nupdate w {\n  task_definition = ";
        let found = place_at(text, text.len());
        let names: Vec<&str> = found.steps.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["app", "t"]);
        assert!(
            matches!(found.place, Place::Value { field: Some(f) } if f.name == "task_definition")
        );
    }
}
