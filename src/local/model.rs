//! The published ECS and ECR service models (botocore's `service-2.json`, vendored in
//! `models/`) as the local ECS's contract: every request is read against its input shape
//! — JSON types as AWS's deserializer refuses them (`SerializationException`), then
//! required members, enums, lengths, ranges and patterns (`InvalidParameterException`) —
//! and every answer can be checked against its output shape (no unknown member, no wrong
//! type, no value outside an enum). Pure: a value and a shape in, findings out.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::api_error::ApiError;

/// Which service a request is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Service {
    #[default]
    Ecs,
    Ecr,
    /// Elastic Load Balancing v2, the AWS Query protocol (model/query.rs).
    Elbv2,
}

/// One service model: its operations and shapes.
#[derive(Debug, Deserialize)]
pub struct Model {
    /// The service it is the model of (set when it is read), for its errors' words.
    #[serde(skip)]
    service: Service,
    operations: BTreeMap<String, Operation>,
    shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
struct Operation {
    input: Option<Reference>,
    output: Option<Reference>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    shape: String,
}

#[derive(Debug, Deserialize)]
struct Shape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: BTreeMap<String, Reference>,
    #[serde(default)]
    required: Vec<String>,
    member: Option<Reference>,
    key: Option<Reference>,
    value: Option<Reference>,
    #[serde(rename = "enum")]
    values: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(default)]
    document: bool,
}

impl Model {
    /// The vendored model of `service`, read once.
    #[must_use]
    pub fn of(service: Service) -> &'static Self {
        static ECS: OnceLock<Model> = OnceLock::new();
        static ECR: OnceLock<Model> = OnceLock::new();
        static ELBV2: OnceLock<Model> = OnceLock::new();
        let (cell, text) = match service {
            Service::Ecs => (&ECS, include_str!("../../models/ecs-2014-11-13.json")),
            Service::Ecr => (&ECR, include_str!("../../models/ecr-2015-09-21.json")),
            Service::Elbv2 => (&ELBV2, include_str!("../../models/elbv2-2015-12-01.json")),
        };
        // The files are vendored and checked by the test suite; a model that cannot be
        // read is a broken build, not a runtime condition.
        cell.get_or_init(|| {
            let mut model: Model = serde_json::from_str(text).expect("a vendored service model");
            model.service = service;
            model
        })
    }

    /// Whether the model has `operation`.
    #[must_use]
    pub fn has(&self, operation: &str) -> bool {
        self.operations.contains_key(operation)
    }

    fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// A request body read against `operation`'s input shape, as AWS reads it: the first
    /// JSON value of a wrong type is a `SerializationException`; then every constraint
    /// broken (a required member missing, a value outside its enum, a length, range or
    /// pattern) is an `InvalidParameterException`. Members the model does not name are
    /// dropped, as AWS's deserializer drops them: the body returned holds only what AWS
    /// would have read. An operation the model does not have passes as it is (the
    /// dispatcher refuses it).
    pub fn read_request(&self, operation: &str, mut body: Value) -> Result<Value, ApiError> {
        let Some(input) = self.operations.get(operation).and_then(|op| op.input.as_ref()) else {
            return Ok(body);
        };
        self.types(&input.shape, &body)?;
        let mut broken = Vec::new();
        self.constraints(&input.shape, &body, "", &mut broken);
        if broken.is_empty() {
            self.prune(&input.shape, &mut body);
            return Ok(body);
        }
        Err(match self.service {
            Service::Ecs => ApiError::invalid(validation_text(&broken)),
            Service::Ecr => {
                let first = &broken[0];
                ApiError::invalid(format!(
                    "Invalid parameter at '{}' failed to satisfy constraint: '{}'",
                    first.path, first.rule
                ))
            }
            Service::Elbv2 => ApiError::with_kind("ValidationError", validation_text(&broken)),
        })
    }

    /// Where an answer to `operation` leaves its output shape: members the model does not
    /// name, values of the wrong JSON type, strings outside their enum, `null`s. Empty
    /// when the answer is the model's.
    #[must_use]
    pub fn check_answer(&self, operation: &str, answer: &Value) -> Vec<String> {
        let mut found = Vec::new();
        match self.operations.get(operation).and_then(|op| op.output.as_ref()) {
            Some(output) => self.answer_value(&output.shape, answer, "", &mut found),
            None if self.has(operation) => {
                if answer.as_object().is_some_and(|members| !members.is_empty()) {
                    found.push(format!("{operation} has no output, answered {answer}"));
                }
            }
            None => found.push(format!("{operation} is not in the model")),
        }
        found
    }

    /// `value` without the members its shape does not name, at any depth.
    fn prune(&self, shape_name: &str, value: &mut Value) {
        let Some(shape) = self.shape(shape_name) else { return };
        if shape.document {
            return;
        }
        match (shape.kind.as_str(), value) {
            ("structure" | "union", Value::Object(members)) => {
                members.retain(|name, _| shape.members.contains_key(name));
                for (name, inner) in members.iter_mut() {
                    if let Some(member) = shape.members.get(name) {
                        self.prune(&member.shape, inner);
                    }
                }
            }
            ("list", Value::Array(items)) => {
                if let Some(member) = &shape.member {
                    for item in items.iter_mut() {
                        self.prune(&member.shape, item);
                    }
                }
            }
            ("map", Value::Object(entries)) => {
                if let Some(inner) = &shape.value {
                    entries.values_mut().for_each(|entry| self.prune(&inner.shape, entry));
                }
            }
            _ => {}
        }
    }

    /// The JSON-type pass: the first value AWS's deserializer would refuse.
    fn types(&self, shape_name: &str, value: &Value) -> Result<(), ApiError> {
        let Some(shape) = self.shape(shape_name) else { return Ok(()) };
        if value.is_null() || shape.document {
            return Ok(());
        }
        let refused = |expected: &str| Err(ApiError::serialization(refusal(value, expected)));
        match shape.kind.as_str() {
            "structure" | "union" => {
                let Value::Object(members) = value else {
                    return Err(ApiError::serialization(structure_refusal(value)));
                };
                for (name, member) in &shape.members {
                    if let Some(inner) = members.get(name) {
                        self.types(&member.shape, inner)?;
                    }
                }
                Ok(())
            }
            "list" => {
                let Value::Array(items) = value else {
                    return Err(ApiError::serialization("Expected list or null"));
                };
                let Some(member) = &shape.member else { return Ok(()) };
                items.iter().try_for_each(|item| self.types(&member.shape, item))
            }
            "map" => {
                let Value::Object(entries) = value else {
                    return Err(ApiError::serialization(structure_refusal(value)));
                };
                let Some(inner) = &shape.value else { return Ok(()) };
                entries.values().try_for_each(|entry| self.types(&inner.shape, entry))
            }
            "string" | "blob" => {
                if value.is_string() {
                    Ok(())
                } else {
                    refused("a String")
                }
            }
            "boolean" => {
                if value.is_boolean() {
                    Ok(())
                } else {
                    refused("a Boolean")
                }
            }
            "integer" => match whole_number(value) {
                Some(n) if i32::try_from(n).is_ok() => Ok(()),
                _ => refused("an Integer"),
            },
            "long" => {
                if whole_number(value).is_some() {
                    Ok(())
                } else {
                    refused("a Long")
                }
            }
            "double" | "float" => {
                if value.is_number() {
                    Ok(())
                } else {
                    refused(&format!("a {}", title(&shape.kind)))
                }
            }
            "timestamp" => {
                if value.is_number() || value.is_string() {
                    Ok(())
                } else {
                    refused("a Date")
                }
            }
            _ => Ok(()),
        }
    }

    /// The constraint pass over a value whose JSON types are right.
    fn constraints(&self, shape_name: &str, value: &Value, path: &str, broken: &mut Vec<Broken>) {
        let Some(shape) = self.shape(shape_name) else { return };
        if shape.document {
            return;
        }
        match (shape.kind.as_str(), value) {
            ("structure" | "union", Value::Object(members)) => {
                for name in &shape.required {
                    if members.get(name).is_none_or(Value::is_null) {
                        broken.push(Broken {
                            value: "null".to_owned(),
                            path: join(path, name),
                            rule: "Member must not be null".to_owned(),
                        });
                    }
                }
                for (name, member) in &shape.members {
                    if let Some(inner) = members.get(name).filter(|v| !v.is_null()) {
                        self.constraints(&member.shape, inner, &join(path, name), broken);
                    }
                }
            }
            ("list", Value::Array(items)) => {
                length(shape, items.len(), value, path, broken);
                if let Some(member) = &shape.member {
                    for (index, item) in items.iter().enumerate() {
                        let at = format!("{}.member", join(path, &(index + 1).to_string()));
                        if !item.is_null() {
                            self.constraints(&member.shape, item, &at, broken);
                        }
                    }
                }
            }
            ("map", Value::Object(entries)) => {
                length(shape, entries.len(), value, path, broken);
                for (key, entry) in entries {
                    if let Some(key_shape) = &shape.key {
                        self.constraints(
                            &key_shape.shape,
                            &Value::from(key.as_str()),
                            path,
                            broken,
                        );
                    }
                    if let (Some(inner), false) = (&shape.value, entry.is_null()) {
                        self.constraints(&inner.shape, entry, &join(path, key), broken);
                    }
                }
            }
            ("string", Value::String(text)) => {
                if let Some(values) = &shape.values
                    && !values.iter().any(|v| v == text)
                {
                    broken.push(Broken {
                        value: format!("'{text}'"),
                        path: path.to_owned(),
                        rule: format!(
                            "Member must satisfy enum value set: [{}]",
                            values.join(", ")
                        ),
                    });
                }
                length(shape, text.chars().count(), value, path, broken);
                if let Some(pattern) = &shape.pattern
                    && let Some(regex) = compiled(pattern)
                    && !regex.is_match(text)
                {
                    broken.push(Broken {
                        value: format!("'{text}'"),
                        path: path.to_owned(),
                        rule: format!("Member must satisfy regular expression pattern: {pattern}"),
                    });
                }
            }
            ("integer" | "long" | "double" | "float", Value::Number(number)) => {
                let Some(n) = number.as_f64() else { return };
                bounds(shape, n, "value", &number.to_string(), path, broken);
            }
            _ => {}
        }
    }

    fn answer_value(&self, shape_name: &str, value: &Value, path: &str, found: &mut Vec<String>) {
        let Some(shape) = self.shape(shape_name) else {
            found.push(format!("{path}: shape {shape_name} is not in the model"));
            return;
        };
        if shape.document {
            return;
        }
        let at = if path.is_empty() { "the answer" } else { path };
        if value.is_null() {
            found.push(format!("{at}: null"));
            return;
        }
        let wrong = |found: &mut Vec<String>| {
            let kind = &shape.kind;
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            found.push(format!("{at}: {} where the model has {article} {kind}", kind_of(value)));
        };
        match shape.kind.as_str() {
            "structure" | "union" => {
                let Value::Object(members) = value else { return wrong(found) };
                for (name, inner) in members {
                    match shape.members.get(name) {
                        Some(member) => {
                            self.answer_value(&member.shape, inner, &join(path, name), found);
                        }
                        None => found.push(format!(
                            "{}: a member {shape_name} does not have",
                            join(path, name)
                        )),
                    }
                }
            }
            "list" => {
                let Value::Array(items) = value else { return wrong(found) };
                if let Some(member) = &shape.member {
                    for (index, item) in items.iter().enumerate() {
                        self.answer_value(&member.shape, item, &format!("{path}[{index}]"), found);
                    }
                }
            }
            "map" => {
                let Value::Object(entries) = value else { return wrong(found) };
                if let Some(inner) = &shape.value {
                    for (key, entry) in entries {
                        self.answer_value(&inner.shape, entry, &join(path, key), found);
                    }
                }
            }
            "string" => match value {
                Value::String(text) => {
                    if let Some(values) = &shape.values
                        && !values.iter().any(|v| v == text)
                    {
                        found.push(format!("{at}: '{text}' is not one of {shape_name}"));
                    }
                }
                _ => wrong(found),
            },
            "blob" if !value.is_string() => wrong(found),
            "boolean" if !value.is_boolean() => wrong(found),
            "integer" | "long" if whole_number(value).is_none() => wrong(found),
            // The JSON protocol's timestamps are epoch seconds.
            "double" | "float" | "timestamp" if !value.is_number() => wrong(found),
            _ => {}
        }
    }
}

/// "N validation error(s) detected: Value … at '…' failed to satisfy constraint: …; …",
/// the AWS framework's words.
fn validation_text(broken: &[Broken]) -> String {
    let count = broken.len();
    let texts: Vec<String> = broken
        .iter()
        .map(|b| {
            format!("Value {} at '{}' failed to satisfy constraint: {}", b.value, b.path, b.rule)
        })
        .collect();
    format!(
        "{count} validation error{} detected: {}",
        if count == 1 { "" } else { "s" },
        texts.join("; ")
    )
}

/// A constraint a request breaks, in AWS's words.
struct Broken {
    value: String,
    path: String,
    rule: String,
}

fn length(shape: &Shape, count: usize, value: &Value, path: &str, broken: &mut Vec<Broken>) {
    let shown = match value {
        Value::String(text) => format!("'{text}'"),
        other => format!("'{other}'"),
    };
    bounds(shape, count as f64, "length", &shown, path, broken);
}

/// The shape's `min` and `max` held against a value or a length.
fn bounds(
    shape: &Shape,
    measured: f64,
    what: &str,
    shown: &str,
    path: &str,
    broken: &mut Vec<Broken>,
) {
    let limits = [(shape.min, "greater than or equal to"), (shape.max, "less than or equal to")];
    for (limit, relation) in limits {
        let Some(limit) = limit else { continue };
        let outside =
            if relation.starts_with("greater") { measured < limit } else { measured > limit };
        if outside {
            broken.push(Broken {
                value: shown.to_owned(),
                path: path.to_owned(),
                rule: format!("Member must have {what} {relation} {limit}"),
            });
        }
    }
}

/// A model pattern as a whole-string match (the models' patterns are Java's, matched
/// whole); one the regex engine cannot read is not checked.
fn compiled(pattern: &str) -> Option<&'static regex::Regex> {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<String, Option<&'static regex::Regex>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = super::server::lock(cache);
    *cache.entry(pattern.to_owned()).or_insert_with(|| {
        regex::Regex::new(&format!("^(?:{pattern})$")).ok().map(|r| &*Box::leak(Box::new(r)))
    })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn whole_number(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

fn title(kind: &str) -> String {
    let mut chars = kind.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// AWS's deserializer's words for a scalar or list where another scalar belongs.
fn refusal(value: &Value, expected: &str) -> String {
    let token = match value {
        Value::String(_) => "STRING_VALUE",
        Value::Number(_) => "NUMBER_VALUE",
        Value::Bool(true) => "TRUE_VALUE",
        Value::Bool(false) => "FALSE_VALUE",
        Value::Array(_) => return "Start of list found where not expected".to_owned(),
        Value::Object(_) => {
            return "Start of structure or map found where not expected.".to_owned();
        }
        Value::Null => "VALUE_NULL",
    };
    format!("{token} can not be converted to {expected}")
}

/// Its words for a scalar or list where a structure or map belongs.
fn structure_refusal(value: &Value) -> String {
    match value {
        Value::Array(_) => "Start of list found where not expected".to_owned(),
        _ => "Expected null".to_owned(),
    }
}

pub mod query;
#[cfg(test)]
mod tests;
