//! A forgiving lexer: the tokens of Deployfile text, comments included, that never fails
//! on unfinished input (an open string, a half-typed block). The REPL's highlighter, its
//! multi-line check and completion read it; the parser does not.

use super::Span;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A name; keywords are names too, the reader decides.
    Word,
    /// `42`, `-1`, `90s`, `100%`.
    Number,
    /// The `"` opening a string.
    StringStart,
    /// Text or an escape inside a string.
    StringText,
    /// The `"` closing a string.
    StringEnd,
    /// `${` inside a string.
    InterpolationOpen,
    /// The `}` closing an interpolation.
    InterpolationClose,
    /// One of `{ } [ ] ( ) = , .`.
    Punct,
    /// `# …` to the end of the line.
    Comment,
    Newline,
    /// Any other character.
    Unknown,
}

/// A token and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// The token's text in `source`.
    #[must_use]
    pub fn text(self, source: &str) -> &str {
        &source[self.span.start..self.span.end]
    }
}

#[derive(Clone, Copy)]
enum Mode {
    /// Outside strings; inside an interpolation, the braces opened since `${`.
    Code {
        interpolation: bool,
        depth: usize,
    },
    String,
}

/// The tokens of `text`, in order; blanks between them are left out.
#[must_use]
pub fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut modes = vec![Mode::Code { interpolation: false, depth: 0 }];
    let mut at = 0;
    let push = |out: &mut Vec<Token>, kind, start, end| {
        out.push(Token { kind, span: Span::new(start, end) });
    };
    while at < bytes.len() {
        let start = at;
        let mode = *modes.last().unwrap_or(&Mode::Code { interpolation: false, depth: 0 });
        match mode {
            Mode::String => match bytes[at] {
                b'"' => {
                    push(&mut out, TokenKind::StringEnd, at, at + 1);
                    modes.pop();
                    at += 1;
                }
                b'\n' => {
                    // A string ends at the line; the parser reports it, the lexer moves on.
                    modes.pop();
                }
                b'$' if bytes.get(at + 1) == Some(&b'{') => {
                    push(&mut out, TokenKind::InterpolationOpen, at, at + 2);
                    modes.push(Mode::Code { interpolation: true, depth: 0 });
                    at += 2;
                }
                b'\\' => {
                    at += 1;
                    at += text[at..].chars().next().map_or(0, char::len_utf8);
                    push(&mut out, TokenKind::StringText, start, at);
                }
                _ => {
                    while at < bytes.len()
                        && !matches!(bytes[at], b'"' | b'\\' | b'\n')
                        && !(bytes[at] == b'$' && bytes.get(at + 1) == Some(&b'{'))
                    {
                        at += 1;
                    }
                    push(&mut out, TokenKind::StringText, start, at);
                }
            },
            Mode::Code { interpolation, depth } => {
                let byte = bytes[at];
                match byte {
                    b' ' | b'\t' | b'\r' => at += 1,
                    b'\n' => {
                        push(&mut out, TokenKind::Newline, at, at + 1);
                        at += 1;
                    }
                    b'#' => {
                        while at < bytes.len() && bytes[at] != b'\n' {
                            at += 1;
                        }
                        push(&mut out, TokenKind::Comment, start, at);
                    }
                    b'"' => {
                        push(&mut out, TokenKind::StringStart, at, at + 1);
                        modes.push(Mode::String);
                        at += 1;
                    }
                    b'{' => {
                        if let Some(Mode::Code { depth, .. }) = modes.last_mut() {
                            *depth += 1;
                        }
                        push(&mut out, TokenKind::Punct, at, at + 1);
                        at += 1;
                    }
                    b'}' if interpolation && depth == 0 => {
                        push(&mut out, TokenKind::InterpolationClose, at, at + 1);
                        modes.pop();
                        at += 1;
                    }
                    b'}' => {
                        if let Some(Mode::Code { depth, .. }) = modes.last_mut() {
                            *depth = depth.saturating_sub(1);
                        }
                        push(&mut out, TokenKind::Punct, at, at + 1);
                        at += 1;
                    }
                    b'[' | b']' | b'(' | b')' | b'=' | b',' | b'.' => {
                        push(&mut out, TokenKind::Punct, at, at + 1);
                        at += 1;
                    }
                    b'0'..=b'9' | b'-'
                        if byte != b'-' || bytes.get(at + 1).is_some_and(u8::is_ascii_digit) =>
                    {
                        at += 1;
                        while at < bytes.len()
                            && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'%')
                        {
                            at += 1;
                        }
                        push(&mut out, TokenKind::Number, start, at);
                    }
                    b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                        while at < bytes.len()
                            && (bytes[at].is_ascii_alphanumeric()
                                || matches!(bytes[at], b'_' | b'-'))
                        {
                            at += 1;
                        }
                        push(&mut out, TokenKind::Word, start, at);
                    }
                    _ => {
                        at += text[at..].chars().next().map_or(1, char::len_utf8);
                        push(&mut out, TokenKind::Unknown, start, at);
                    }
                }
            }
        }
    }
    out
}

/// How many brackets (`{`, `[`, `(`) and interpolations are open at the end of `text`:
/// more input is needed while this is above zero.
#[must_use]
pub fn open_brackets(text: &str) -> usize {
    let mut open: usize = 0;
    for token in tokens(text) {
        match (token.kind, token.text(text)) {
            (TokenKind::Punct, "{" | "[" | "(") | (TokenKind::InterpolationOpen, _) => open += 1,
            (TokenKind::Punct, "}" | "]" | ")") | (TokenKind::InterpolationClose, _) => {
                open = open.saturating_sub(1);
            }
            _ => {}
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::{TokenKind as K, open_brackets, tokens};

    fn kinds(text: &str) -> Vec<(K, &str)> {
        tokens(text).into_iter().map(|t| (t.kind, t.text(text))).collect()
    }

    #[test]
    fn a_field_with_an_interpolation() {
        assert_eq!(
            kinds("tags = [\"${env.name}-x\"] # c\n"),
            vec![
                (K::Word, "tags"),
                (K::Punct, "="),
                (K::Punct, "["),
                (K::StringStart, "\""),
                (K::InterpolationOpen, "${"),
                (K::Word, "env"),
                (K::Punct, "."),
                (K::Word, "name"),
                (K::InterpolationClose, "}"),
                (K::StringText, "-x"),
                (K::StringEnd, "\""),
                (K::Punct, "]"),
                (K::Comment, "# c"),
                (K::Newline, "\n"),
            ]
        );
    }

    #[test]
    fn numbers_and_unfinished_input() {
        assert_eq!(
            kinds("a = 90s, b = -1, c = 100%, d = \"open"),
            vec![
                (K::Word, "a"),
                (K::Punct, "="),
                (K::Number, "90s"),
                (K::Punct, ","),
                (K::Word, "b"),
                (K::Punct, "="),
                (K::Number, "-1"),
                (K::Punct, ","),
                (K::Word, "c"),
                (K::Punct, "="),
                (K::Number, "100%"),
                (K::Punct, ","),
                (K::Word, "d"),
                (K::Punct, "="),
                (K::StringStart, "\""),
                (K::StringText, "open"),
            ]
        );
        assert_eq!(kinds("é"), vec![(K::Unknown, "é")]);
    }

    #[test]
    fn brackets_left_open() {
        assert_eq!(open_brackets("build app {"), 1);
        assert_eq!(open_brackets("build app {\n  args = { A = \"}\" }\n"), 1);
        assert_eq!(open_brackets("build app {\n}\n"), 0);
        assert_eq!(open_brackets("\"${git"), 1);
        assert_eq!(open_brackets("# {\ngit.sha"), 0);
        assert_eq!(open_brackets("}"), 0);
    }
}
