//! A glob as patternmatcher's `Pattern.compile` turns it into a Go regular expression, and
//! that expression read as Go's RE2 reads it into an equivalent `regex` pattern.

use std::fmt::Write as _;

use super::TRAILING_BACKSLASH;

/// patternmatcher's `matchType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// `Pattern.compile` on Unix: the kind of the pattern and, for `Kind::Regex`, the Go
/// regular expression it becomes. `*` is `[^/]*`, `?` is `[^/]`, `**/` is `(.*/)?`, a final
/// `**` is `.*` (or a prefix test), `\` keeps the next character escaped, `[` and `]` are
/// copied as they are, and `.+()|{}$` are escaped.
pub(super) fn go_regex(pattern: &str) -> (Kind, String) {
    // text/scanner skips a byte-order mark at the start.
    let chars: Vec<char> = pattern.strip_prefix('\u{feff}').unwrap_or(pattern).chars().collect();
    let mut regex = String::from("^");
    let mut kind = Kind::Exact;
    let mut at = 0;
    let mut first = true;
    while let Some(&ch) = chars.get(at) {
        at += 1;
        match ch {
            '*' if chars.get(at) == Some(&'*') => {
                at += 1;
                if chars.get(at) == Some(&'/') {
                    at += 1;
                }
                if at == chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        regex.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    regex.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                regex.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                regex.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                regex.push('\\');
                regex.push(ch);
            }
            '\\' => {
                regex.push('\\');
                if let Some(&next) = chars.get(at) {
                    regex.push(next);
                    at += 1;
                    kind = Kind::Regex;
                }
            }
            '[' | ']' => {
                regex.push(ch);
                kind = Kind::Regex;
            }
            _ => regex.push(ch),
        }
        first = false;
    }
    if kind == Kind::Regex {
        regex.push('$');
    }
    (kind, regex)
}

const INVALID_ESCAPE: &str = "Go's regexp refuses the escape (a `\\` before a letter or digit \
                              that it does not know)";
const INVALID_CLASS: &str = "Go's regexp refuses the character class";
pub(super) const BACKWARDS_RANGE: &str = "a character class range runs backwards";
const UNCLOSED_CLASS: &str = "a `[` class is not closed in Go's regexp";
const BAD_REPETITION: &str = "Go's regexp refuses the repetition";

/// A place in a regular expression being read.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.at += ch.len_utf8();
        Some(ch)
    }
}

/// The Go regular expression `go_regex` made, as Go's `regexp.Compile` reads it (RE2 syntax,
/// Perl flags), written as a `regex` pattern that matches the same paths. Only what
/// `go_regex` can produce needs reading: literals, `^`, `$`, `.`, `(…)`, `*`, `?`, classes
/// (`[…]` with Go's rules: `[` inside is a literal unless it opens `[:alpha:]`), and escapes.
/// Go's classes `\d`, `\s`, `\w`, `\b` are ASCII, so they are written as ASCII here.
pub(super) fn rust_regex(go: &str) -> Result<String, &'static str> {
    let mut cursor = Cursor { text: go, at: 0 };
    let mut out = String::new();
    let mut depth = 0_usize;
    // Whether the last item can be repeated.
    let mut atom = false;
    while let Some(ch) = cursor.bump() {
        match ch {
            '(' => {
                out.push_str("(?:");
                depth += 1;
                atom = false;
            }
            ')' => {
                depth = depth.checked_sub(1).ok_or("Go's regexp finds an unopened `)`")?;
                out.push(')');
                atom = true;
            }
            '*' | '+' | '?' => {
                if !atom {
                    return Err(BAD_REPETITION);
                }
                out.push(ch);
                if cursor.peek() == Some('?') {
                    cursor.bump();
                    out.push('?');
                }
                atom = false;
            }
            '^' | '$' | '.' => {
                out.push(ch);
                atom = true;
            }
            '|' => {
                out.push('|');
                atom = false;
            }
            '[' => {
                class(&mut cursor, &mut out)?;
                atom = true;
            }
            '\\' => {
                escape(&mut cursor, &mut out)?;
                atom = true;
            }
            _ => {
                push_literal(&mut out, ch);
                atom = true;
            }
        }
    }
    if depth > 0 {
        return Err("Go's regexp finds an unclosed `(`");
    }
    Ok(out)
}

/// An escape outside a class, after its `\`: Go's `\A`, `\z`, `\b`, `\B`, `\Q…\E`, a named
/// class, or one character.
fn escape(cursor: &mut Cursor<'_>, out: &mut String) -> Result<(), &'static str> {
    let assertion = match cursor.peek() {
        Some('A') => r"\A",
        Some('z') => r"\z",
        Some('b') => r"(?-u:\b)",
        Some('B') => r"(?-u:\B)",
        Some('C') => return Err(INVALID_ESCAPE),
        Some('Q') => {
            // Literals up to `\E` or to the end, the final `$` included.
            cursor.bump();
            let rest = cursor.rest();
            let (literal, after) = rest.split_once(r"\E").unwrap_or((rest, ""));
            literal.chars().for_each(|ch| push_literal(out, ch));
            cursor.at = cursor.text.len() - after.len();
            return Ok(());
        }
        _ => {
            match named_escape(cursor)? {
                Some(class) => out.push_str(&class),
                None => push_literal(out, escaped_char(cursor)?),
            }
            return Ok(());
        }
    };
    cursor.bump();
    out.push_str(assertion);
    Ok(())
}

/// A class after its `[`, read as Go reads it (regexp/syntax `parseClass`): `^` first
/// negates, `]` first is a literal, `[:name:]` is a POSIX class, `\pL` and `\d` are classes,
/// `a-z` is a range, and anything else is a literal, `[` included.
fn class(cursor: &mut Cursor<'_>, out: &mut String) -> Result<(), &'static str> {
    out.push('[');
    if cursor.peek() == Some('^') {
        cursor.bump();
        out.push('^');
    }
    let mut first = true;
    loop {
        match cursor.peek() {
            None => return Err(UNCLOSED_CLASS),
            Some(']') if !first => {
                cursor.bump();
                break;
            }
            Some(_) => {}
        }
        first = false;
        let rest = cursor.rest();
        // Go looks for the `:]` anywhere further on; without one, `[` is a literal.
        if rest.len() > 2
            && rest.starts_with("[:")
            && let Some(end) = rest[2..].find(":]")
        {
            let name = &rest[..end + 4];
            out.push_str(&posix_class(name).ok_or(INVALID_CLASS)?);
            cursor.at += name.len();
            continue;
        }
        let low = if rest.starts_with('\\') {
            cursor.bump();
            if let Some(class) = named_escape(cursor)? {
                out.push_str(&class);
                continue;
            }
            escaped_char(cursor)?
        } else {
            class_char(cursor)?
        };
        let rest = cursor.rest();
        let high = if rest.len() >= 2 && rest.starts_with('-') && !rest[1..].starts_with(']') {
            cursor.bump();
            class_char(cursor)?
        } else {
            low
        };
        if high < low {
            return Err(BACKWARDS_RANGE);
        }
        push_literal(out, low);
        if high != low {
            out.push('-');
            push_literal(out, high);
        }
    }
    out.push(']');
    Ok(())
}

/// `parseClassChar`: one character of a class, escaped or not.
fn class_char(cursor: &mut Cursor<'_>) -> Result<char, &'static str> {
    match cursor.bump() {
        None => Err(UNCLOSED_CLASS),
        Some('\\') => escaped_char(cursor),
        Some(ch) => Ok(ch),
    }
}

/// A named class after a `\` (`\d`, `\s`, `\w`, their negations, `\pL`), if one is next.
/// `go_regex` escapes `{`, so only one-letter Unicode names can reach Go: the general
/// categories; any other is Go's error.
fn named_escape(cursor: &mut Cursor<'_>) -> Result<Option<String>, &'static str> {
    let class = match cursor.peek() {
        Some('d') => "[0-9]",
        Some('D') => "[^0-9]",
        Some('s') => r"[\t\n\x0C\r ]",
        Some('S') => r"[^\t\n\x0C\r ]",
        Some('w') => "[0-9A-Za-z_]",
        Some('W') => "[^0-9A-Za-z_]",
        Some(sign @ ('p' | 'P')) => {
            cursor.bump();
            let name = cursor.bump().filter(|ch| "CLMNPSZ".contains(*ch)).ok_or(INVALID_CLASS)?;
            return Ok(Some(format!("\\{sign}{name}")));
        }
        _ => return Ok(None),
    };
    cursor.bump();
    Ok(Some(class.to_owned()))
}

/// A POSIX class such as `[:alpha:]` or `[:^space:]` (ASCII, as Go's), as a `regex` class.
fn posix_class(name: &str) -> Option<String> {
    let inner = name.strip_prefix("[:")?.strip_suffix(":]")?;
    let (negated, inner) = match inner.strip_prefix('^') {
        Some(inner) => ("^", inner),
        None => ("", inner),
    };
    let body = match inner {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => r"\x00-\x7F",
        "blank" => r"\t ",
        "cntrl" => r"\x00-\x1F\x7F",
        "digit" => "0-9",
        "graph" => r"\x21-\x7E",
        "lower" => "a-z",
        "print" => r"\x20-\x7E",
        "punct" => r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
        "space" => r"\t\n\x0B\x0C\r ",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => return None,
    };
    Some(format!("[{negated}{body}]"))
}

/// `parseEscape`: the character an escape stands for, after its `\`: octal (`\012`, but a
/// lone `\1` is a backreference Go refuses), `\xHH`, `\a\f\n\r\t\v`, or an ASCII punctuation
/// character itself; a letter or digit Go does not know, or a non-ASCII one, is an error.
fn escaped_char(cursor: &mut Cursor<'_>) -> Result<char, &'static str> {
    let ch = cursor.bump().ok_or(TRAILING_BACKSLASH)?;
    let octal = |next: Option<char>| next.and_then(|d| d.to_digit(8));
    match ch {
        '1'..='7' if octal(cursor.peek()).is_none() => Err(INVALID_ESCAPE),
        '0'..='7' => {
            let mut value = ch.to_digit(8).unwrap_or(0);
            for _ in 1..3 {
                let Some(digit) = octal(cursor.peek()) else { break };
                value = value * 8 + digit;
                cursor.bump();
            }
            char::from_u32(value).ok_or(INVALID_ESCAPE)
        }
        'x' => {
            let high = cursor.bump().and_then(|d| d.to_digit(16));
            let low = cursor.bump().and_then(|d| d.to_digit(16));
            match (high, low) {
                (Some(high), Some(low)) => char::from_u32(high * 16 + low).ok_or(INVALID_ESCAPE),
                _ => Err(INVALID_ESCAPE),
            }
        }
        'a' => Ok('\x07'),
        'f' => Ok('\x0C'),
        'n' => Ok('\n'),
        'r' => Ok('\r'),
        't' => Ok('\t'),
        'v' => Ok('\x0B'),
        _ if ch.is_ascii() && !ch.is_ascii_alphanumeric() => Ok(ch),
        _ => Err(INVALID_ESCAPE),
    }
}

/// One character as a `regex` literal (in a class or outside): letters and digits as they
/// are, anything else as `\x{…}`, which `regex` never reads as syntax.
fn push_literal(out: &mut String, ch: char) {
    if ch.is_ascii_alphanumeric() {
        out.push(ch);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(ch));
    }
}
