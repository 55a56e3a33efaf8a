//! The pest parser generated from `grammar/deployfile.pest`, and `parse`, the one entry
//! point from text to syntax tree. Nothing outside `syntax/` sees pest.

use pest::Parser as _;

use super::{Deployfile, lower, syntax_error};
use crate::diagnostic::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/deployfile.pest"]
pub(super) struct DeployfileParser;

/// Parses a whole Deployfile. pest stops at the first syntax error, so that case gives
/// one diagnostic; lowering then reports every bad escape or number at once.
pub fn parse(text: &str) -> Result<Deployfile, Vec<Diagnostic>> {
    let pairs = DeployfileParser::parse(Rule::file, text)
        .map_err(|error| vec![syntax_error::from_pest(text, &error)])?;
    lower::file(pairs)
}

/// Parses one expression, as typed at the REPL prompt.
pub fn parse_expression(text: &str) -> Result<super::Expr, Vec<Diagnostic>> {
    let pairs = DeployfileParser::parse(Rule::expression_input, text)
        .map_err(|error| vec![syntax_error::from_pest(text, &error)])?;
    lower::expression_input(pairs)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::diagnostic::Code;
    use crate::syntax::{ExprKind, Item, StringPart};

    /// The kind of the value of the first field of the first item's block.
    fn first_value(text: &str) -> ExprKind {
        let file = parse(text).unwrap_or_else(|d| panic!("{text}: {d:?}"));
        let Item::Step(step) = &file.items[0] else { panic!("not a step") };
        step.body
            .as_ref()
            .and_then(|b| b.fields().next())
            .map(|f| f.value.kind.clone())
            .expect("a field")
    }

    macro_rules! values {
        ($($source:literal => $expected:expr;)*) => {
            #[test]
            fn values_lower_to_their_kinds() {
                $(assert_eq!(
                    first_value(concat!("build a { x = ", $source, " }")),
                    $expected,
                    "{}",
                    $source
                );)*
            }
        };
    }

    values! {
        "42" => ExprKind::Integer(42);
        "-1" => ExprKind::Integer(-1);
        "100%" => ExprKind::Percentage(100);
        "90s" => ExprKind::Duration(90_000);
        "1h30m" => ExprKind::Duration(5_400_000);
        "500ms" => ExprKind::Duration(500);
        "2d" => ExprKind::Duration(172_800_000);
        "true" => ExprKind::Bool(true);
        "false" => ExprKind::Bool(false);
    }

    macro_rules! syntax_errors {
        ($($source:literal => $code:ident at $offset:literal;)*) => {
            #[test]
            fn syntax_errors_name_their_place() {
                $(
                    let diagnostics = parse($source).expect_err($source);
                    assert_eq!(diagnostics[0].code, Code::$code, "{}", $source);
                    assert_eq!(diagnostics[0].span().start, $offset, "{}", $source);
                )*
            }
        };
    }

    syntax_errors! {
        "biuld app {}" => UnexpectedToken at 0;
        "build app { x = }" => UnexpectedToken at 16;
        "build app { x = \"abc }" => UnterminatedString at 22;
        "build app { x = \"a\\qb\" }" => InvalidEscape at 18;
        "build app { x = 99999999999999999999 }" => NumberTooLarge at 16;
        "build app { x = 10x }" => UnexpectedToken at 16;
        "build app { x = [1, 2 }" => UnexpectedToken at 22;
        "defaults { region \"x\" = 1 }" => UnexpectedToken at 22;
        "build app { x = 1 } }" => UnexpectedToken at 20;
    }

    #[test]
    fn strings_decode_escapes_and_interpolations() {
        let ExprKind::String(string) = first_value(r#"build a { x = "a\n\"${git.sha}\u{e9}\$" }"#)
        else {
            panic!("not a string")
        };
        assert_eq!(string.parts.len(), 3);
        assert!(matches!(&string.parts[0], StringPart::Text(text, _) if text == "a\n\""));
        assert!(matches!(&string.parts[1], StringPart::Interpolation(_)));
        assert!(matches!(&string.parts[2], StringPart::Text(text, _) if text == "é$"));
    }

    #[test]
    fn keywords_are_not_prefixes_and_names_may_be_keywords() {
        let file = parse("build builder {}\nupdate build { x = rollback }\n").expect("parses");
        assert_eq!(file.items.len(), 2);
    }

    #[test]
    fn spans_cover_their_text() {
        let text = "tag app {\n  tags = [git.sha, \"x\"]\n}\n";
        let file = parse(text).expect("parses");
        let Item::Step(step) = &file.items[0] else { panic!() };
        let field = step.body.as_ref().and_then(|b| b.fields().next()).expect("field");
        assert_eq!(&text[field.span.range()], "tags = [git.sha, \"x\"]");
        assert_eq!(&text[field.value.span.range()], "[git.sha, \"x\"]");
        assert_eq!(&text[step.name.span.range()], "app");
    }
}
