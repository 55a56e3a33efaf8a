//! How the session shows things: steps, entries, values with their types, counts.

use std::fmt::Write as _;

use super::{Reply, Session};
use crate::check::ValueType;
use crate::eval::{EvalError, Evaluator, Value};
use crate::eval::{Outputs, step_values};
use crate::syntax::{Deployfile, Item, Step, StepKind};

impl Session {
    pub(super) fn settings_text(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("region", &self.settings.region),
            ("cluster", &self.settings.cluster),
            ("account", &self.settings.account),
            ("profile", &self.settings.profile),
        ] {
            if let Some(value) = value {
                parts.push(format!("{key} {}", crate::syntax::quoted(value)));
            }
        }
        if !self.settings.vars.is_empty() {
            let vars: Vec<&str> = self.settings.vars.keys().map(String::as_str).collect();
            parts.push(format!("vars {}", vars.join(", ")));
        }
        if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) }
    }

    pub(super) fn steps_text(&self) -> String {
        let mut out = String::new();
        let line = |step: &Step, indent: &str| {
            let what = format!("{} {}", step.kind.keyword(), step.name.name);
            format!("{indent}{what:<28} {}\n", self.location(step.span))
        };
        for item in &self.file.items {
            if let Item::Step(step) = item {
                out.push_str(&line(step, "  "));
            }
        }
        for item in &self.file.items {
            if let Item::Handler(handler) = item {
                let _ = writeln!(out, "on {}:", handler.event.name);
                for step in &handler.steps {
                    out.push_str(&line(step, "    "));
                }
            }
        }
        if out.is_empty() {
            out.push_str("no steps yet\n");
        }
        out
    }

    /// Every step of that name, with its fields evaluated for the environment.
    pub(super) fn show(&self, name: &str) -> Reply {
        let values = step_values(&self.file);
        let outputs = Outputs::new();
        let evaluator = Evaluator::new(&self.settings, &self.workspace, &values, &outputs);
        let mut out = String::new();
        for step in steps(&self.file).filter(|s| s.name.name == name) {
            let _ = writeln!(
                out,
                "{} {}  ({}, environment `{}`)",
                step.kind.keyword(),
                name,
                self.location(step.span),
                self.settings.name
            );
            for entry in step.entries() {
                show_entry(&mut out, entry, &evaluator, 1);
            }
        }
        Reply::ok(out)
    }
}

pub(super) fn steps(file: &Deployfile) -> impl Iterator<Item = &Step> {
    file.items.iter().filter_map(|item| match item {
        Item::Step(step) => Some(step),
        _ => None,
    })
}

pub(super) fn describe_item(item: &Item) -> String {
    match item {
        Item::Step(step) => format!("`{} {}`", step.kind.keyword(), step.name.name),
        Item::Defaults(_) => "`defaults`".to_owned(),
        Item::Environment(environment) => format!("`environment {}`", environment.name.name),
        Item::Handler(handler) => format!("`on {}`", handler.event.name),
    }
}

pub(super) fn kinds_text(kinds: &[StepKind]) -> String {
    let words: Vec<String> = kinds.iter().map(|k| format!("a `{}` step", k.keyword())).collect();
    words.join(" and ")
}

pub(super) fn show_entry(
    out: &mut String,
    entry: &crate::syntax::Entry,
    evaluator: &Evaluator<'_>,
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    match entry {
        crate::syntax::Entry::Field(field) => {
            let value = match evaluator.expr(&field.value) {
                Ok(value) => value.to_string(),
                Err(EvalError::At(diagnostic)) => format!("<error: {}>", diagnostic.message),
                Err(EvalError::Usage { message, .. }) => format!("<error: {message}>"),
            };
            let _ = writeln!(out, "{indent}{} = {value}", field.key.name);
        }
        crate::syntax::Entry::Block(block) => {
            let label = block
                .label
                .as_ref()
                .map(|label| match evaluator.expr(label) {
                    Ok(value) => format!(" {value}"),
                    Err(_) => " <error>".to_owned(),
                })
                .unwrap_or_default();
            let _ = writeln!(out, "{indent}{}{label} {{", block.kind.name);
            for inner in block.entries() {
                show_entry(out, inner, evaluator, depth + 1);
            }
            let _ = writeln!(out, "{indent}}}");
        }
    }
}

/// The short name of a value's type: the checker's where it is precise, else the value's.
pub(super) fn type_name(value: &Value, ty: ValueType) -> String {
    if let Value::Pending(_) = value {
        return format!("{}, known when the pipeline runs", ty.name());
    }
    if !matches!(
        ty,
        ValueType::Any | ValueType::List(ValueType::Any) | ValueType::Map(ValueType::Any)
    ) {
        return ty.name();
    }
    match value {
        Value::Bool(_) => "bool",
        Value::Integer(_) => "integer",
        Value::Duration(_) => "duration",
        Value::Percentage(_) => "percentage",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Map(_) => "map",
        Value::Word(_) => "word",
        Value::Image { .. } => "image",
        Value::TaskDefinition { .. } => "task definition",
        Value::Deployment { .. } => "deployment",
        Value::Repository(_) => "repository",
        Value::Source(_) => "task-definition source",
        Value::Gate(_) => "gate",
        Value::Pending(_) => "value",
    }
    .to_owned()
}

/// A JSON value as a Deployfile value (nulls left out of maps).
pub(super) fn from_json(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            n.as_i64().map_or_else(|| Value::String(n.to_string()), Value::Integer)
        }
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(
            map.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
                .map(|(k, v)| (k, from_json(v)))
                .collect(),
        ),
        serde_json::Value::Null => Value::Word("none".to_owned()),
    }
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

pub(super) fn list_or_none(names: &[String], none: &str) -> String {
    if names.is_empty() {
        none.to_owned()
    } else {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("environments {}", names.join(", "))
    }
}
