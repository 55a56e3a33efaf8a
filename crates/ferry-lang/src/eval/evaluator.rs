//! Evaluating expressions: references, calls and interpolations, against the settings of
//! the chosen environment, the workspace (git, environment variables) and the outputs of
//! the steps that have run.

use std::collections::BTreeMap;

use super::value::{GateTarget, Repository, TaskDefinitionSource};
use super::{EvalError, Settings, Value, Workspace};
use crate::syntax::{Call, Expr, ExprKind, Reference, StringPart};

/// What steps have produced so far: step name → value (pushed image, registered revision).
pub type Outputs = BTreeMap<String, Value>;

/// What kind of thing a step name stands for, before it has run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepValue {
    Image,
    TaskDefinition,
    Deployment,
}

/// Evaluates expressions in one scope.
pub struct Evaluator<'a> {
    settings: &'a Settings,
    workspace: &'a Workspace,
    steps: Option<&'a BTreeMap<String, StepValue>>,
    outputs: Option<&'a Outputs>,
}

impl<'a> Evaluator<'a> {
    /// For `defaults` and `environment` blocks: no steps, no variables.
    #[must_use]
    pub fn for_settings(settings: &'a Settings, workspace: &'a Workspace) -> Self {
        Self { settings, workspace, steps: None, outputs: None }
    }

    /// For step bodies: `steps` names what each step stands for, `outputs` what has run.
    #[must_use]
    pub fn new(
        settings: &'a Settings,
        workspace: &'a Workspace,
        steps: &'a BTreeMap<String, StepValue>,
        outputs: &'a Outputs,
    ) -> Self {
        Self { settings, workspace, steps: Some(steps), outputs: Some(outputs) }
    }

    pub fn expr(&self, expr: &Expr) -> Result<Value, EvalError> {
        Ok(match &expr.kind {
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Integer(n) => Value::Integer(*n),
            ExprKind::Duration(ms) => Value::Duration(*ms),
            ExprKind::Percentage(n) => Value::Percentage(*n),
            ExprKind::String(string) => {
                let mut text = String::new();
                for part in &string.parts {
                    match part {
                        StringPart::Text(piece, _) => text.push_str(piece),
                        StringPart::Interpolation(inner) => match self.expr(inner)? {
                            Value::Pending(what) => return Ok(Value::Pending(what)),
                            value => match value.text() {
                                Some(piece) => text.push_str(&piece),
                                None => return Ok(Value::Pending(format!("{value}"))),
                            },
                        },
                    }
                }
                Value::String(text)
            }
            ExprKind::List(items) => {
                Value::List(items.iter().map(|item| self.expr(item)).collect::<Result<_, _>>()?)
            }
            ExprKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|entry| Ok((entry.key.name.clone(), self.expr(&entry.value)?)))
                    .collect::<Result<_, EvalError>>()?,
            ),
            ExprKind::Reference(reference) => self.reference(reference, expr)?,
            ExprKind::Call(call) => self.call(call)?,
        })
    }

    fn reference(&self, reference: &Reference, expr: &Expr) -> Result<Value, EvalError> {
        let segments: Vec<&str> = reference.segments.iter().map(|s| s.name.as_str()).collect();
        match segments.as_slice() {
            ["git", attribute] => {
                let git =
                    self.workspace.git.as_ref().ok_or_else(|| {
                        EvalError::git_unavailable(expr.span, &reference.dotted())
                    })?;
                Ok(match *attribute {
                    "sha" => Value::String(git.version()),
                    "short_sha" => Value::String(git.short_version()),
                    "branch" => Value::String(git.branch.clone()),
                    "dirty" => Value::Bool(git.dirty),
                    _ => return Err(EvalError::internal(expr.span, &reference.dotted())),
                })
            }
            ["env", attribute] => {
                let value = match *attribute {
                    "name" => Some(self.settings.name.clone()),
                    "region" => self.settings.region.clone(),
                    "cluster" => self.settings.cluster.clone(),
                    "account" => self.settings.account.clone(),
                    "profile" => self.settings.profile.clone(),
                    _ => None,
                };
                value.map(Value::String).ok_or_else(|| {
                    EvalError::unset_setting(expr.span, attribute, &self.settings.name)
                })
            }
            ["vars", name, rest @ ..] => {
                let mut value = self
                    .settings
                    .vars
                    .get(*name)
                    .cloned()
                    .ok_or_else(|| EvalError::internal(expr.span, &reference.dotted()))?;
                for key in rest {
                    value = match value {
                        Value::Map(mut map) => map
                            .remove(*key)
                            .ok_or_else(|| EvalError::internal(expr.span, &reference.dotted()))?,
                        _ => return Err(EvalError::internal(expr.span, &reference.dotted())),
                    };
                }
                Ok(value)
            }
            [word] if self.steps.is_none_or(|steps| !steps.contains_key(*word)) => {
                Ok(Value::Word((*word).to_owned()))
            }
            [step, attributes @ ..] => {
                let kind = self.steps.and_then(|steps| steps.get(*step)).copied();
                let output = self.outputs.and_then(|outputs| outputs.get(*step)).cloned();
                let base = output.unwrap_or(match kind {
                    Some(StepValue::Image) => {
                        Value::Image { step: (*step).to_owned(), reference: None }
                    }
                    Some(StepValue::TaskDefinition) => {
                        Value::TaskDefinition { step: (*step).to_owned(), arn: None }
                    }
                    _ => Value::Deployment { step: (*step).to_owned() },
                });
                match attributes {
                    [] => Ok(base),
                    [attribute, ..] => Ok(attribute_of(&base, attribute)
                        .unwrap_or_else(|| Value::Pending(reference.dotted()))),
                }
            }
            [] => Err(EvalError::internal(expr.span, "an empty reference")),
        }
    }

    fn call(&self, call: &Call) -> Result<Value, EvalError> {
        let mut positional = call.positional();
        let mut argument = |name: &str| -> Result<Option<Value>, EvalError> {
            match call.named(name).or_else(|| positional.next()) {
                Some(expr) => self.expr(expr).map(Some),
                None => Ok(None),
            }
        };
        let text = |value: Option<Value>| value.and_then(|v| v.text());
        let flag = |value: Option<Value>| matches!(value, Some(Value::Bool(true)));
        Ok(match call.function.name.as_str() {
            "env" => {
                let name = text(argument("name")?).unwrap_or_default();
                let default = text(argument("default")?);
                match self.workspace.env_vars.get(&name).cloned().or(default) {
                    Some(value) => Value::String(value),
                    None => {
                        return Err(EvalError::undefined_env_var(
                            call.function.span.to(call.parens),
                            &name,
                        ));
                    }
                }
            }
            // The value itself; the front ends mask it (`eval::sensitive_values`).
            "sensitive" => argument("value")?.unwrap_or(Value::String(String::new())),
            "ecr" => Value::Repository(Repository::Ecr {
                name: text(argument("name")?).unwrap_or_default(),
                create: flag(argument("create")?),
                keep: match argument("keep")? {
                    Some(Value::Integer(n)) => u32::try_from(n).ok(),
                    _ => None,
                },
                scan_on_push: flag(argument("scan_on_push")?),
                immutable: flag(argument("immutable")?),
            }),
            "registry" => Value::Repository(Repository::Registry {
                name: text(argument("name")?).unwrap_or_default(),
            }),
            "service" => Value::Source(TaskDefinitionSource::Service {
                name: text(argument("name")?).unwrap_or_default(),
                cluster: text(argument("cluster")?),
            }),
            "family" => Value::Source(TaskDefinitionSource::Family {
                name: text(argument("name")?).unwrap_or_default(),
            }),
            "file" => Value::Source(TaskDefinitionSource::File {
                path: text(argument("path")?).unwrap_or_default(),
            }),
            "http" => {
                Value::Gate(GateTarget::Http { url: text(argument("url")?).unwrap_or_default() })
            }
            "probe" => {
                Value::Gate(GateTarget::Probe { url: text(argument("url")?).unwrap_or_default() })
            }
            "script" => Value::Gate(GateTarget::Script {
                path: text(argument("path")?).unwrap_or_default(),
            }),
            other => return Err(EvalError::internal(call.function.span, other)),
        })
    }
}

/// `app.digest`, `web_task.arn`, … once the step has produced them.
fn attribute_of(value: &Value, attribute: &str) -> Option<Value> {
    match (value, attribute) {
        (Value::Image { reference: Some(reference), .. }, "uri") => {
            Some(Value::String(reference.clone()))
        }
        (Value::Image { reference: Some(reference), .. }, "digest") => {
            reference.split_once('@').map(|(_, digest)| Value::String(digest.to_owned()))
        }
        (Value::Image { reference: Some(reference), .. }, "repository") => Some(Value::String(
            reference.split_once('@').map_or(reference.as_str(), |(repo, _)| repo).to_owned(),
        )),
        (Value::TaskDefinition { arn: Some(arn), .. }, "arn") => Some(Value::String(arn.clone())),
        (Value::TaskDefinition { arn: Some(arn), .. }, "revision") => {
            arn.rsplit(':').next().and_then(|r| r.parse().ok()).map(Value::Integer)
        }
        (Value::TaskDefinition { arn: Some(arn), .. }, "family") => arn
            .rsplit_once("task-definition/")
            .and_then(|(_, rest)| rest.split(':').next())
            .map(|family| Value::String(family.to_owned())),
        _ => None,
    }
}
