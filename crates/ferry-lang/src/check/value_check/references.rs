//! Resolving the names an expression uses: `git.*`, `env.*`, `vars.NAME` and the steps
//! above, with their attributes, and the order they may be used in.

use crate::check::ValueType as T;
use crate::check::analyzer::{Analyzer, Scope};
use crate::check::schema::{self, AttributeSpec};
use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::{closest, did_you_mean};
use crate::syntax::{Reference, StepKind};

impl Analyzer<'_> {
    /// The type a reference names.
    pub(super) fn reference(&mut self, reference: &Reference, scope: Scope) -> T {
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
}
