//! A gate script: read, compiled and checked once (`ferry check` reports the same
//! diagnostics before anything runs: syntax, a missing `fn check(ctx)`, a host function
//! that does not exist), then run once per attempt in a fresh sandbox. Errors carry their
//! line and column in the script and render like Deployfile diagnostics.

use rhai::{AST, Dynamic, EvalAltResult, Position, Scope};

use super::contract::{GateContext, Outcome};
use super::host::{Capabilities, FUNCTIONS};
use super::sandbox::{DEADLINE_TOKEN, Limits, engine};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::Span;

/// A compiled gate script.
#[derive(Clone, Debug)]
pub struct GateScript {
    /// As the Deployfile names it.
    pub name: String,
    pub text: String,
    ast: AST,
}

/// An error of a script while it ran, with its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub code: Code,
    pub message: String,
    /// 1-based; 0 when the error has no place in the script.
    pub line: usize,
    pub column: usize,
}

impl ScriptError {
    /// The diagnostic, spanning the place in `text`.
    #[must_use]
    pub fn diagnostic(&self, text: &str) -> Diagnostic {
        Diagnostic::new(self.code, span_at(text, self.line, self.column), &self.message)
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{} (line {}, column {})", self.message, self.line, self.column)
        } else {
            f.write_str(&self.message)
        }
    }
}

/// The span of the token at 1-based `line` and `column` (characters): up to the end of
/// the word there, or one character.
fn span_at(text: &str, line: usize, column: usize) -> Span {
    if line == 0 {
        return Span::new(0, 0);
    }
    let line_start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
    let line_text = text[line_start.min(text.len())..].lines().next().unwrap_or("");
    let start = line_start
        + line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
    let rest = &text[start.min(text.len())..];
    let word = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':'))
        .map_or(rest.len(), |(i, _)| i);
    let length = if word == 0 { rest.chars().next().map_or(0, char::len_utf8) } else { word };
    Span::new(start, start + length)
}

fn place(position: Position) -> (usize, usize) {
    (position.line().unwrap_or(0), position.position().unwrap_or(0))
}

impl GateScript {
    /// Compiles `text` and checks it; every problem found is a diagnostic into `text`.
    pub fn compile(name: &str, text: &str) -> Result<Self, Vec<Diagnostic>> {
        let (engine, _) = engine(Limits::default(), &Capabilities::none());
        // Unknown host functions first: with strict variables the parser also stops at an
        // unknown namespace, with a vaguer message.
        let mut diagnostics = unknown_host_functions(name, text);
        let ast = match engine.compile(text) {
            Ok(ast) => ast,
            Err(error) => {
                let (line, column) = place(error.position());
                let span = span_at(text, line, column);
                if !diagnostics
                    .iter()
                    .any(|d| d.span().start <= span.start && span.start < d.span().end)
                {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::ScriptSyntax,
                            span,
                            format!("`{name}` does not parse: {}", error.err_type()),
                        )
                        .with_label("here"),
                    );
                }
                return Err(diagnostics);
            }
        };
        let has_check = ast.iter_functions().any(|f| f.name == "check" && f.params.len() == 1);
        if !has_check {
            let names: Vec<String> = ast.iter_functions().map(|f| f.name.to_owned()).collect();
            let close = crate::suggestion::closest("check", names.iter().map(String::as_str));
            let span = close
                .and_then(|name| {
                    text.find(&format!("fn {name}"))
                        .map(|at| Span::new(at + 3, at + 3 + name.len()))
                })
                .unwrap_or_else(|| Span::new(0, text.lines().next().map_or(0, str::len)));
            diagnostics.push(
                Diagnostic::new(
                    Code::MissingCheck,
                    span,
                    format!("`{name}` defines no `fn check(ctx)`"),
                )
                .with_label(if close.is_some() { "did you mean `check`?" } else { "" })
                .with_help(
                    "a gate script defines `fn check(ctx) { … }` returning `true`, `false` or \
                     `#{ ok, message, fatal }`",
                ),
            );
        }
        if diagnostics.is_empty() {
            Ok(Self { name: name.to_owned(), text: text.to_owned(), ast })
        } else {
            Err(diagnostics)
        }
    }

    /// Runs `check(ctx)` once with `capabilities`, within `limits`.
    pub fn run(
        &self,
        context: &GateContext,
        capabilities: &Capabilities,
        limits: Limits,
    ) -> Result<Outcome, ScriptError> {
        let (engine, deadline) = engine(limits, capabilities);
        let ctx = rhai::serde::to_dynamic(context).map_err(|e| ScriptError {
            code: Code::ScriptError,
            message: format!("the gate's context cannot be given to the script: {e}"),
            line: 0,
            column: 0,
        })?;
        deadline.start(limits.deadline);
        let result = engine.call_fn::<Dynamic>(&mut Scope::new(), &self.ast, "check", (ctx,));
        match result {
            Ok(value) => Outcome::from_dynamic(&value).map_err(|message| ScriptError {
                code: Code::BadResult,
                message: format!("`{}`: {message}", self.name),
                line: 0,
                column: 0,
            }),
            Err(error) => self.failure(&error, limits).map_err(|error| {
                if error.line > 0 {
                    return error;
                }
                // No place of its own (an empty loop's operations): the `check` function's.
                let line =
                    self.text.lines().position(|l| l.contains("fn check")).map_or(0, |i| i + 1);
                ScriptError { line, column: 1, ..error }
            }),
        }
    }

    /// A host function's failure (an HTTP request with no answer) fails the attempt; any
    /// other error is the script's.
    fn failure(&self, error: &EvalAltResult, limits: Limits) -> Result<Outcome, ScriptError> {
        let (line, column) = place(error.position());
        let (code, message) = match error {
            // An HTTP request with no answer (`http::…: …`) or a `throw "…"` in the script:
            // a failed attempt with that message.
            EvalAltResult::ErrorRuntime(value, _) => {
                return Ok(Outcome::fail(value.to_string()));
            }
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => {
                // The inner error's place, or the call's when it has none.
                return self.failure(inner, limits).map_err(|error| ScriptError {
                    line: if error.line == 0 { line } else { error.line },
                    column: if error.line == 0 { column } else { error.column },
                    ..error
                });
            }
            EvalAltResult::ErrorTooManyOperations(_) => (
                Code::ScriptLimit,
                format!("`{}` ran more than {} operations", self.name, limits.operations),
            ),
            EvalAltResult::ErrorTerminated(token, _) if token.to_string() == DEADLINE_TOKEN => (
                Code::ScriptLimit,
                format!(
                    "`{}` ran past its deadline of {} ms",
                    self.name,
                    limits.deadline.as_millis()
                ),
            ),
            EvalAltResult::ErrorStackOverflow(_) => (
                Code::ScriptLimit,
                format!("`{}` nested calls deeper than {}", self.name, limits.call_levels),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                (Code::ScriptLimit, format!("`{}` made a {what} larger than its limit", self.name))
            }
            other => (Code::ScriptError, format!("`{}`: {}", self.name, other.unwrap_inner())),
        };
        Err(ScriptError { code, message, line, column })
    }
}

/// `ns::name(` calls whose namespace is a host namespace but whose name is not one of its
/// functions, or whose namespace does not exist. Strings and comments are skipped.
fn unknown_host_functions(name: &str, text: &str) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            quote @ (b'"' | b'`' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
                {
                    i += 1;
                }
                let word = &text[start..i];
                let preceded_by_dot = start > 0 && bytes[start - 1] == b'.';
                if let Some((namespace, function)) = word.split_once("::")
                    && !preceded_by_dot
                    && text[i..].trim_start().starts_with('(')
                {
                    let known = FUNCTIONS.iter().find(|(ns, _)| *ns == namespace);
                    let problem = match known {
                        None => Some(format!("`{namespace}` is not a namespace of host functions")),
                        Some((_, functions)) if !functions.contains(&function) => {
                            Some(format!("`{namespace}::{function}` is not a host function"))
                        }
                        Some(_) => None,
                    };
                    if let Some(message) = problem {
                        let list: Vec<String> = match known {
                            Some((ns, functions)) => {
                                functions.iter().map(|f| format!("{ns}::{f}")).collect()
                            }
                            None => FUNCTIONS.iter().map(|(ns, _)| format!("{ns}::")).collect(),
                        };
                        let suggestion =
                            crate::suggestion::closest(word, list.iter().map(String::as_str));
                        diagnostics.push(
                            Diagnostic::new(
                                Code::UnknownHostFunction,
                                Span::new(start, i),
                                format!("`{name}`: {message}"),
                            )
                            .with_label("called here")
                            .with_help(match suggestion {
                                Some(close) => format!(
                                    "did you mean `{close}`? The host functions are {}",
                                    list.join(", ")
                                ),
                                None => format!("the host functions are {}", list.join(", ")),
                            }),
                        );
                    }
                }
            }
            _ => i += 1,
        }
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn compile(text: &str) -> GateScript {
        GateScript::compile("g.rhai", text).expect("compiles")
    }

    fn run(text: &str, limits: Limits) -> Result<Outcome, ScriptError> {
        compile(text).run(&GateContext::default(), &Capabilities::none(), limits)
    }

    /// The default limits with a deadline short enough for a test but long enough that a
    /// loaded machine (a debug build beside other tests) reaches the other limits first.
    fn fast() -> Limits {
        Limits { deadline: Duration::from_secs(8), ..Limits::default() }
    }

    #[test]
    fn the_sandbox_stops_runaway_scripts_with_their_place() {
        let cases: &[(&str, Code, &str, usize)] = &[
            (
                "fn check(ctx) {\n  loop { }\n}",
                Code::ScriptLimit,
                "ran more than 1000000 operations",
                1,
            ),
            (
                "fn f(n) { f(n + 1) }\nfn check(ctx) {\n  f(0)\n}",
                Code::ScriptLimit,
                "nested calls deeper than 32",
                2,
            ),
            (
                "fn check(ctx) {\n  let s = \"x\";\n  loop { s += s; }\n}",
                Code::ScriptLimit,
                "made a Length of string larger than its limit",
                3,
            ),
            (
                "fn check(ctx) {\n  let a = [];\n  loop { a.push(1); }\n}",
                Code::ScriptLimit,
                "larger than its limit",
                3,
            ),
            (
                "fn check(ctx) {\n  missing(1)\n}",
                Code::ScriptError,
                "Function not found: missing",
                2,
            ),
            (
                "fn check(ctx) {\n  open(\"/etc/passwd\")\n}",
                Code::ScriptError,
                "Function not found: open",
                2,
            ),
        ];
        for (text, code, message, line) in cases {
            let started = Instant::now();
            let error = run(text, fast()).expect_err(text);
            assert!(started.elapsed() < Duration::from_secs(10), "{text}: stopped late");
            assert_eq!(error.code, *code, "{text}: {error}");
            assert!(error.message.contains(message), "{text}: {error}");
            // Limits stop a script wherever it is; rhai gives some of them no place, and
            // then the `check` function's line stands in.
            if *code == Code::ScriptLimit {
                assert!((1..=*line).contains(&error.line), "{text:?}: {error:?}");
            } else {
                assert_eq!(error.line, *line, "{text:?}: {error:?}");
            }
        }
    }

    #[test]
    fn the_deadline_stops_a_script_that_stays_within_its_operations() {
        let limits =
            Limits { operations: 0, deadline: Duration::from_millis(300), ..Limits::default() };
        let started = Instant::now();
        let error = run("fn check(ctx) {\n  loop { }\n}", limits).expect_err("deadline");
        assert_eq!(error.code, Code::ScriptLimit);
        assert!(error.message.contains("ran past its deadline"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn eval_imports_and_files_are_not_there() {
        let error =
            GateScript::compile("g.rhai", "fn check(ctx) { eval(\"1\") }").expect_err("eval");
        assert_eq!(error[0].code, Code::ScriptSyntax, "{error:?}");
        let error = run("import \"os\" as os;\nfn check(ctx) { true }", fast());
        assert!(error.is_err(), "{error:?}");
    }

    #[test]
    fn compile_errors_are_diagnostics_in_the_script() {
        let text = "fn check(ctx) {\n  let x = ;\n}\n";
        let error = GateScript::compile("g.rhai", text).expect_err("syntax");
        assert_eq!(error[0].code, Code::ScriptSyntax);
        assert_eq!(&text[error[0].span().start..error[0].span().end], ";");
        // Strict variables: an undefined one is found before anything runs.
        let error = GateScript::compile("g.rhai", "fn check(ctx) {\n  undefined_variable\n}")
            .expect_err("undefined");
        assert!(error[0].message.contains("Undefined variable: undefined_variable"), "{error:?}");
        let error = GateScript::compile("g.rhai", "fn chek(ctx) { true }").expect_err("no check");
        assert_eq!(error[0].code, Code::MissingCheck);
        let text = "fn check(ctx) {\n  // http::nope(1) in a comment is fine\n  \
                    let r = http::gett(\"x\");\n  \"json::nope(\" == \"\" && tim::now() > 0\n}";
        let error = GateScript::compile("g.rhai", text).expect_err("unknown");
        let found: Vec<(&str, &str)> = error
            .iter()
            .map(|d| (&text[d.span().start..d.span().end], d.help.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "http::gett");
        assert!(found[0].1.starts_with("did you mean `http::get`?"), "{}", found[0].1);
        assert_eq!(found[1].0, "tim::now");
    }

    #[test]
    fn answers_and_throws() {
        assert_eq!(run("fn check(ctx) { true }", fast()), Ok(Outcome::pass("")));
        let outcome = run("fn check(ctx) { throw \"not yet\" }", fast()).expect("a failed attempt");
        assert_eq!(outcome, Outcome::fail("not yet"));
        let error = run("fn check(ctx) { 42 }", fast()).expect_err("bad result");
        assert_eq!(error.code, Code::BadResult);
        // No network in a sandbox without it: the request fails the attempt.
        let outcome =
            run("fn check(ctx) { http::get(\"http://127.0.0.1:9/\").status == 200 }", fast())
                .expect("attempt");
        assert!(
            !outcome.ok && outcome.message.starts_with("http::get(http://127.0.0.1:9/)"),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_context_and_host_functions_reach_the_script() {
        let context = GateContext {
            git_sha: "abc123".to_owned(),
            params: [("expect".to_owned(), serde_json::json!("abc123"))].into(),
            attempt: 2,
            ..GateContext::default()
        };
        let script = compile(
            "fn check(ctx) {\n  let v = json::parse(\"{\\\"version\\\": \\\"abc123\\\"}\");\n  \
             log::info(`attempt ${ctx.attempt}`);\n  \
             #{ ok: v.version == ctx.params.expect && ctx.git_sha == \"abc123\" && \
             ecs::tasks().len() == 1 && time::now() == 7, message: \"checked\" }\n}",
        );
        let mut capabilities = Capabilities::none();
        capabilities.clock = std::sync::Arc::new(|| 7);
        capabilities.tasks = std::sync::Arc::new(vec![crate::gates::TaskInfo::default()]);
        let log = capabilities.log.clone();
        let outcome = script.run(&context, &capabilities, fast()).expect("runs");
        assert_eq!(outcome, Outcome::pass("checked"));
        assert_eq!(log.take()[0].text, "attempt 2");
    }

    #[test]
    fn an_error_inside_a_callback_fails_the_attempt() {
        // Every array method that takes a callback: a throw inside it (or a loop the
        // limits stop) never lets the gate pass.
        for call in [
            "a.sort(|x, y| { throw \"boom\" })",
            "a.sort(|x, y| { loop {} })",
            "a.sort(|x, y| \"not a number\")",
            "a.dedup(|x, y| { throw \"boom\" })",
            "a.filter(|x| { throw \"boom\" })",
            "a.map(|x| { throw \"boom\" })",
            "a.reduce(|s, x| { throw \"boom\" }, 0)",
            "a.some(|x| { throw \"boom\" })",
            "a.all(|x| { throw \"boom\" })",
            "a.index_of(|x| { throw \"boom\" })",
            "a.find(|x| { throw \"boom\" })",
            "a.retain(|x| { throw \"boom\" })",
            "a.drain(|x| { throw \"boom\" })",
            "a.for_each(|| { throw \"boom\" })",
        ] {
            let text = format!("fn check(ctx) {{ let a = [3, 1, 2]; {call}; true }}");
            let passed = matches!(run(&text, fast()), Ok(Outcome { ok: true, .. }));
            assert!(!passed, "{call} let the gate pass");
        }
        // The callbacks still work when they do not fail.
        let text = "fn check(ctx) { let a = [3, 1, 2, 2]; a.sort(|x, y| x - y); \
                    a.dedup(|x, y| x == y); a == [1, 2, 3] }";
        assert_eq!(run(text, fast()), Ok(Outcome::pass("")));
    }
}
