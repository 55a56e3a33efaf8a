//! Checking values: what type an expression has, whether it fits what a field or argument
//! expects, its range and text format, and whether the names it uses resolve.

use std::collections::BTreeMap;

use super::ValueType as T;
use super::analyzer::{Analyzer, Scope};
use super::schema::{self, AttributeSpec, FieldSpec, ParamSpec};
use super::text_format::TextFormat;
use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::{closest, did_you_mean};
use crate::syntax::{Call, Expr, ExprKind, MapEntry, Reference, Span, StepKind, StringPart};

/// What a place wants of a value.
#[derive(Clone, Copy, Debug)]
pub(super) struct Expectation<'a> {
    pub ty: T,
    pub range: Option<(i64, i64)>,
    pub count: Option<(usize, usize)>,
    pub format: Option<TextFormat>,
    /// The place in words, "`min_healthy`".
    pub subject: &'a str,
}

impl<'a> Expectation<'a> {
    pub(super) fn of_field(spec: &FieldSpec, subject: &'a str) -> Self {
        Self { ty: spec.ty, range: spec.range, count: spec.count, format: spec.format, subject }
    }

    pub(super) fn of_param(spec: &ParamSpec, subject: &'a str) -> Self {
        Self { ty: spec.ty, range: spec.range, count: None, format: spec.format, subject }
    }

    pub(super) fn any(subject: &'a str) -> Self {
        Self { ty: T::Any, range: None, count: None, format: None, subject }
    }
}

impl Analyzer<'_> {
    /// Checks `expr` against `want`.
    pub(super) fn expect(&mut self, expr: &Expr, want: &Expectation<'_>, scope: Scope) {
        match (want.ty, &expr.kind) {
            (T::Enum(words), ExprKind::Reference(reference)) if reference.word().is_some() => {
                let word = reference.head();
                self.expect_word(&word.name, word.span, words, want.subject);
            }
            (T::Enum(words), ExprKind::String(string)) => {
                self.string(string, scope);
                if let Some(text) = string.as_plain() {
                    self.expect_word(&text, expr.span, words, want.subject);
                }
            }
            (T::List(inner), ExprKind::List(items)) => {
                if let Some((min, max)) = want.count
                    && !(min..=max).contains(&items.len())
                {
                    let bounds = if items.len() < min {
                        format!("at least {min}")
                    } else {
                        format!("at most {max}")
                    };
                    self.push(
                        Diagnostic::new(
                            Code::OutOfRange,
                            expr.span,
                            format!(
                                "{} needs {bounds} {}, found {}",
                                want.subject,
                                if (items.len() < min && min == 1)
                                    || (items.len() > max && max == 1)
                                {
                                    "entry"
                                } else {
                                    "entries"
                                },
                                items.len()
                            ),
                        )
                        .with_label(format!("{} entries", items.len())),
                    );
                }
                let element = Expectation { ty: *inner, count: None, ..*want };
                for item in items {
                    self.expect(item, &element, scope);
                }
            }
            (T::Map(inner), ExprKind::Map(entries)) => {
                self.duplicate_keys(entries);
                let element =
                    Expectation { ty: *inner, count: None, format: None, range: None, ..*want };
                for entry in entries {
                    self.expect(&entry.value, &element, scope);
                }
            }
            _ => {
                let actual = self.infer(expr, scope);
                if want.ty.accepts(actual) {
                    self.range_and_format(expr, want);
                    if want.ty == T::Image {
                        self.image_not_pushed(expr, scope);
                    }
                } else {
                    self.mismatch(expr, actual, want);
                }
            }
        }
    }

    fn expect_word(
        &mut self,
        word: &str,
        span: Span,
        words: &'static [&'static str],
        subject: &str,
    ) {
        if words.iter().any(|allowed| allowed.eq_ignore_ascii_case(word)) {
            return;
        }
        self.push(
            Diagnostic::new(
                Code::InvalidValue,
                span,
                format!("`{word}` is not a valid value of {subject}"),
            )
            .with_label(format!("expected {}", T::Enum(words).describe()))
            .with_optional_help(did_you_mean(word, words.iter().copied())),
        );
    }

    fn mismatch(&mut self, expr: &Expr, actual: T, want: &Expectation<'_>) {
        // A step of the wrong kind gets its own diagnostic: the fix is another name.
        if let Some(word) = expr.as_reference().and_then(Reference::word)
            && let Some(definition) = self.symbols.definitions.get(&word.name)
        {
            let right_kind = match want.ty {
                T::TaskDefinition => Some(StepKind::Register),
                T::Deployment => Some(StepKind::Update),
                T::Image => Some(StepKind::Build),
                _ => None,
            };
            let help = right_kind
                .and_then(|kind| {
                    did_you_mean(&word.name, self.symbols.names_of(kind).collect::<Vec<_>>())
                })
                .or_else(|| match (want.ty, definition.kind) {
                    (T::String, StepKind::Build) => {
                        Some(format!("use `{}.uri` for its reference", word.name))
                    }
                    (T::String, StepKind::Register) => {
                        Some(format!("use `{}.arn` for its ARN", word.name))
                    }
                    _ => None,
                });
            self.push(
                Diagnostic::new(
                    Code::WrongStepKind,
                    expr.span,
                    format!(
                        "`{}` is {}, but {} needs {}",
                        word.name,
                        definition.describe(),
                        want.subject,
                        want.ty.describe()
                    ),
                )
                .with_label(format!("this is {}", definition.describe()))
                .with_related(definition.span, "defined here")
                .with_optional_help(help),
            );
            return;
        }
        let help = match (&expr.kind, want.ty) {
            (ExprKind::Integer(n), T::Duration) => Some(format!("add a unit: `{n}s`")),
            (ExprKind::Integer(n), T::Percentage) => Some(format!("write `{n}%`")),
            (ExprKind::Percentage(n), T::Integer) => Some(format!("write `{n}` without `%`")),
            (ExprKind::String(string), T::Integer | T::Percentage | T::Duration | T::Bool) => {
                string.as_plain().map(|text| format!("write the value without quotes: `{text}`"))
            }
            (_, T::List(_)) => Some("write a list: `[…]`".to_owned()),
            _ => None,
        };
        self.push(
            Diagnostic::new(
                Code::TypeMismatch,
                expr.span,
                format!(
                    "{} expects {}, found {}",
                    want.subject,
                    want.ty.describe(),
                    found(&expr.kind, actual)
                ),
            )
            .with_label(format!("this is {}", found(&expr.kind, actual)))
            .with_optional_help(help),
        );
    }

    fn range_and_format(&mut self, expr: &Expr, want: &Expectation<'_>) {
        if let Some((min, max)) = want.range {
            let (value, show): (i64, fn(i64) -> String) = match expr.kind {
                ExprKind::Integer(n) => (n, |n| n.to_string()),
                ExprKind::Percentage(n) => (n, |n| format!("{n}%")),
                ExprKind::Duration(ms) => (i64::try_from(ms).unwrap_or(i64::MAX), show_duration),
                _ => (min, |n| n.to_string()),
            };
            if !(min..=max).contains(&value) {
                let bounds = if max == i64::MAX {
                    format!("at least {}", show(min))
                } else {
                    format!("between {} and {}", show(min), show(max))
                };
                self.push(
                    Diagnostic::new(
                        Code::OutOfRange,
                        expr.span,
                        format!("{} must be {bounds}, found {}", want.subject, show(value)),
                    )
                    .with_label("out of range"),
                );
            }
        }
        if let (Some(format), ExprKind::String(string)) = (want.format, &expr.kind) {
            let result = match string.as_plain() {
                Some(text) => format.check(&text),
                None => string.parts.iter().try_for_each(|part| match part {
                    StringPart::Text(text, _) => format.check_piece(text),
                    StringPart::Interpolation(_) => Ok(()),
                }),
            };
            if let Err(reason) = result {
                let code = match format {
                    TextFormat::DockerTag => Code::InvalidTag,
                    TextFormat::EcrRepository | TextFormat::RegistryRepository => {
                        Code::InvalidRepository
                    }
                    _ => Code::InvalidValue,
                };
                let what = match format {
                    TextFormat::DockerTag => "tag".to_owned(),
                    TextFormat::EcrRepository | TextFormat::RegistryRepository => {
                        "repository name".to_owned()
                    }
                    _ => "value".to_owned(),
                };
                let shown = string.as_plain().map_or_else(String::new, |text| format!(" `{text}`"));
                let place =
                    if what == "value" { format!(" for {}", want.subject) } else { String::new() };
                self.push(
                    Diagnostic::new(code, expr.span, format!("invalid {what}{shown}{place}"))
                        .with_label(reason),
                );
            }
        }
    }

    /// The type of `expr`, reporting what is wrong inside it.
    pub(super) fn infer(&mut self, expr: &Expr, scope: Scope) -> T {
        match &expr.kind {
            ExprKind::Bool(_) => T::Bool,
            ExprKind::Duration(_) => T::Duration,
            ExprKind::Integer(_) => T::Integer,
            ExprKind::Percentage(_) => T::Percentage,
            ExprKind::String(string) => {
                self.string(string, scope);
                T::String
            }
            ExprKind::List(items) => {
                for item in items {
                    self.infer(item, scope);
                }
                T::List(&T::Any)
            }
            ExprKind::Map(entries) => {
                self.duplicate_keys(entries);
                for entry in entries {
                    self.infer(&entry.value, scope);
                }
                T::Map(&T::Any)
            }
            ExprKind::Reference(reference) => self.reference(reference, scope),
            ExprKind::Call(call) => self.call(call, scope),
        }
    }

    fn string(&mut self, string: &crate::syntax::StringLiteral, scope: Scope) {
        for part in &string.parts {
            if let StringPart::Interpolation(inner) = part {
                let ty = self.infer(inner, scope);
                if !ty.interpolates() {
                    self.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            inner.span,
                            format!("{} cannot be put in a string", found(&inner.kind, ty)),
                        )
                        .with_label("not text")
                        .with_help(
                            "only strings, numbers, durations, booleans, images and task \
                             definitions go in `${…}`",
                        ),
                    );
                }
            }
        }
    }

    fn duplicate_keys(&mut self, entries: &[MapEntry]) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for entry in entries {
            if let Some(first) = seen.get(entry.key.name.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        entry.key.span,
                        format!("key `{}` is given twice", entry.key.name),
                    )
                    .with_label("given again here")
                    .with_related(*first, "first given here")
                    .with_help("remove one of them"),
                );
            } else {
                seen.insert(&entry.key.name, entry.key.span);
            }
        }
    }

    /// The type a reference names.
    fn reference(&mut self, reference: &Reference, scope: Scope) -> T {
        let head = reference.head();
        let attribute = reference.segments.get(1);
        match head.name.as_str() {
            "git" => self.attribute(reference, "git", schema::GIT),
            "env" => {
                if scope.in_settings
                    && let Some(attr) = attribute
                    && attr.name != "name"
                {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            attr.span,
                            format!(
                                "`env.{}` cannot be used in `defaults` or `environment`",
                                attr.name
                            ),
                        )
                        .with_label("the environment is still being set up here")
                        .with_help(
                            "only `env.name` and `git.*` are known while the environment is read",
                        ),
                    );
                    return T::String;
                }
                self.attribute(reference, "env", schema::ENV)
            }
            "vars" => self.variable(reference, scope),
            name => {
                let Some(definition) = self.symbols.definitions.get(name).copied() else {
                    let mut candidates: Vec<&str> =
                        self.symbols.definitions.keys().map(String::as_str).collect();
                    candidates.extend(schema::NAMESPACES);
                    self.push(
                        Diagnostic::new(
                            Code::UnknownReference,
                            head.span,
                            format!("unknown name `{name}`"),
                        )
                        .with_label("not defined")
                        .with_optional_help(did_you_mean(name, candidates)),
                    );
                    return T::Any;
                };
                if scope.in_settings || definition.position >= scope.position {
                    let message = if scope.in_settings {
                        format!("`{name}` cannot be used in `defaults` or `environment`")
                    } else if definition.position == scope.position {
                        format!("`{name}` refers to itself")
                    } else {
                        format!("`{name}` is used before its definition")
                    };
                    self.push(
                        Diagnostic::new(Code::UsedBeforeDefinition, head.span, message)
                            .with_label("used here")
                            .with_related(definition.span, "defined here")
                            .with_help(
                                "steps run in the order written; a step can use only the steps \
                                 above it",
                            ),
                    );
                    return T::Any;
                }
                if definition.kind == StepKind::Build
                    && let Some((push_position, push_span)) = self.symbols.pushes.get(name).copied()
                    && push_position > scope.position
                {
                    self.push(
                        Diagnostic::new(
                            Code::StepOrder,
                            head.span,
                            format!("`{name}` is used before `push {name}` pushes it"),
                        )
                        .with_label("used here")
                        .with_related(push_span, "pushed here")
                        .with_help(format!("move `push {name}` above this step")),
                    );
                }
                let (base, attributes) = match definition.kind {
                    StepKind::Build => (T::Image, schema::IMAGE),
                    StepKind::Register => (T::TaskDefinition, schema::TASK_DEFINITION),
                    _ => (T::Deployment, schema::DEPLOYMENT),
                };
                if attribute.is_none() { base } else { self.attribute(reference, name, attributes) }
            }
        }
    }

    /// `namespace.attribute`, looked up in `attributes`.
    fn attribute(&mut self, reference: &Reference, owner: &str, attributes: &[AttributeSpec]) -> T {
        let Some(attribute) = reference.segments.get(1) else {
            let names: Vec<String> =
                attributes.iter().map(|a| format!("`{owner}.{}`", a.name)).collect();
            self.push(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    reference.head().span,
                    format!("`{owner}` needs an attribute"),
                )
                .with_label("incomplete reference")
                .with_help(format!("use one of {}", names.join(", "))),
            );
            return T::Any;
        };
        let Some(spec) = attributes.iter().find(|a| a.name == attribute.name) else {
            self.push(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    attribute.span,
                    format!("`{owner}` has no attribute `{}`", attribute.name),
                )
                .with_label("unknown attribute")
                .with_optional_help(did_you_mean(
                    &attribute.name,
                    attributes.iter().map(|a| a.name),
                )),
            );
            return T::Any;
        };
        match (reference.segments.get(2), spec.ty) {
            (None, ty) => ty,
            (Some(_), T::Any) => T::Any,
            (Some(extra), _) => {
                self.push(
                    Diagnostic::new(
                        Code::UnknownAttribute,
                        extra.span,
                        format!("`{owner}.{}` has no attribute `{}`", attribute.name, extra.name),
                    )
                    .with_label("unknown attribute"),
                );
                T::Any
            }
        }
    }

    /// `vars.NAME`: set in `defaults`, or in every environment.
    fn variable(&mut self, reference: &Reference, scope: Scope) -> T {
        let Some(name) = reference.segments.get(1) else {
            self.push(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    reference.head().span,
                    "`vars` needs a variable name",
                )
                .with_label("incomplete reference")
                .with_help(
                    "write `vars.NAME` for a variable set in `defaults { vars = { NAME = … } }`",
                ),
            );
            return T::Any;
        };
        if scope.in_settings {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    reference.head().span,
                    "`vars` cannot be used in `defaults` or `environment`",
                )
                .with_label("variables are still being set here")
                .with_help("write the value itself"),
            );
            return T::Any;
        }
        if self.symbols.default_vars.contains(&name.name) {
            return T::Any;
        }
        let setters: Vec<String> = self
            .symbols
            .environment_vars
            .iter()
            .filter(|(_, vars)| vars.contains(&name.name))
            .map(|(environment, _)| format!("`{environment}`"))
            .collect();
        let (message, help) = if setters.is_empty() {
            let mut known: Vec<&str> =
                self.symbols.default_vars.iter().map(String::as_str).collect();
            known.extend(self.symbols.environment_vars.values().flatten().map(String::as_str));
            (
                format!("variable `{}` is not defined", name.name),
                closest(&name.name, known).map_or_else(
                    || format!("set it in `defaults {{ vars = {{ {} = … }} }}`", name.name),
                    |best| format!("did you mean `{best}`?"),
                ),
            )
        } else {
            (
                format!(
                    "variable `{}` is set in environment {} but not in `defaults`",
                    name.name,
                    setters.join(", ")
                ),
                format!(
                    "every variable needs a value in `defaults`, which environments override: add \
                     `vars = {{ {} = … }}` to `defaults`",
                    name.name
                ),
            )
        };
        self.push(
            Diagnostic::new(Code::UndefinedVariable, name.span, message)
                .with_label("no value without `--env`")
                .with_help(help),
        );
        T::Any
    }

    /// A call of a built-in: its arguments checked against its parameters.
    pub(super) fn call(&mut self, call: &Call, scope: Scope) -> T {
        let Some(function) = schema::function(&call.function.name) else {
            self.push(
                Diagnostic::new(
                    Code::UnknownFunction,
                    call.function.span,
                    format!("unknown function `{}`", call.function.name),
                )
                .with_label("not a built-in function")
                .with_optional_help(did_you_mean(
                    &call.function.name,
                    schema::FUNCTIONS.iter().map(|f| f.name),
                )),
            );
            for argument in &call.arguments {
                self.infer(&argument.value, scope);
            }
            return T::Any;
        };
        let mut given: BTreeMap<&str, Span> = BTreeMap::new();
        let mut positional = function.params.iter();
        let mut named_seen: Option<Span> = None;
        for argument in &call.arguments {
            let param = match &argument.name {
                None if named_seen.is_some() => {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidArguments,
                            argument.span,
                            format!(
                                "a positional argument of `{}` follows a named one",
                                function.name
                            ),
                        )
                        .with_label("positional argument")
                        .with_optional_help(
                            named_seen.map(|_| {
                                "put positional arguments first, or name this one".to_owned()
                            }),
                        ),
                    );
                    self.infer(&argument.value, scope);
                    continue;
                }
                None => {
                    let Some(param) = positional.next() else {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidArguments,
                                argument.span,
                                format!(
                                    "`{}` takes at most {} arguments",
                                    function.name,
                                    function.params.len()
                                ),
                            )
                            .with_label("one too many"),
                        );
                        self.infer(&argument.value, scope);
                        continue;
                    };
                    param
                }
                Some(name) => {
                    named_seen.get_or_insert(name.span);
                    let Some(param) = function.params.iter().find(|p| p.name == name.name) else {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidArguments,
                                name.span,
                                format!("`{}` has no argument `{}`", function.name, name.name),
                            )
                            .with_label("unknown argument")
                            .with_optional_help(did_you_mean(
                                &name.name,
                                function.params.iter().map(|p| p.name),
                            )),
                        );
                        self.infer(&argument.value, scope);
                        continue;
                    };
                    param
                }
            };
            if let Some(first) = given.insert(param.name, argument.span) {
                self.push(
                    Diagnostic::new(
                        Code::InvalidArguments,
                        argument.span,
                        format!("argument `{}` of `{}` is given twice", param.name, function.name),
                    )
                    .with_label("given again")
                    .with_related(first, "first given here"),
                );
            }
            let subject = format!("argument `{}` of `{}`", param.name, function.name);
            self.expect(&argument.value, &Expectation::of_param(param, &subject), scope);
        }
        for param in function.params.iter().filter(|p| p.required) {
            if !given.contains_key(param.name) {
                self.push(
                    Diagnostic::new(
                        Code::InvalidArguments,
                        call.parens,
                        format!("`{}` needs its argument `{}`", function.name, param.name),
                    )
                    .with_label("missing argument")
                    .with_help(format!("write `{}(\"…\")`", function.name)),
                );
            }
        }
        function.returns
    }

    /// Warns when a container's image is a build that is never pushed.
    fn image_not_pushed(&mut self, expr: &Expr, scope: Scope) {
        let Some(word) = expr.as_reference().and_then(Reference::word) else { return };
        let Some(definition) = self.symbols.definitions.get(&word.name) else { return };
        if definition.kind == StepKind::Build
            && definition.position < scope.position
            && !self.symbols.pushes.contains_key(&word.name)
        {
            self.push(
                Diagnostic::new(
                    Code::ImageNotPushed,
                    expr.span,
                    format!("image `{}` is never pushed", word.name),
                )
                .with_label("ECS cannot pull an image that exists only on this machine")
                .with_help(format!(
                    "add `push {} {{ to = ecr(\"…\") }}` after `build {}`",
                    word.name, word.name
                )),
            );
        }
    }
}

/// The value in words for "found …".
fn found(kind: &ExprKind, actual: T) -> String {
    match kind {
        ExprKind::Reference(_) | ExprKind::Call(_) if actual != T::Any => actual.describe(),
        other => other.describe().to_owned(),
    }
}

/// A duration bound as the language writes it.
fn show_duration(ms: i64) -> String {
    crate::syntax::format_duration(u64::try_from(ms).unwrap_or(0))
}
