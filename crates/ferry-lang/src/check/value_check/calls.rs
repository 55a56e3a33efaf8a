//! Checking a call of a built-in function: the function exists, its arguments (positional,
//! then named) match its parameters, none is given twice and none required is missing.

use std::collections::BTreeMap;

use super::Expectation;
use crate::check::ValueType as T;
use crate::check::analyzer::{Analyzer, Scope};
use crate::check::schema;
use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::did_you_mean;
use crate::syntax::{Call, Span};

impl Analyzer<'_> {
    /// A call of a built-in: its arguments checked against its parameters.
    pub(in crate::check) fn call(&mut self, call: &Call, scope: Scope) -> T {
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
}
