//! Runtime values of the Deployfile language: what an expression evaluates to once the
//! environment, git and the process environment are known. Values that only exist while
//! the pipeline runs (a pushed image's digest, a revision's ARN) are references to the
//! step that will produce them.

use std::collections::BTreeMap;
use std::fmt;

use crate::syntax::quoted;

/// A repository to push to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Repository {
    Ecr { name: String, create: bool, keep: Option<u32>, scan_on_push: bool, immutable: bool },
    Registry { name: String },
}

/// Where a task definition starts from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskDefinitionSource {
    /// The revision the service runs now.
    Service { name: String, cluster: Option<String> },
    /// The latest ACTIVE revision of a family, or one revision (`web:12`).
    Family { name: String },
    /// A JSON file, relative to the Deployfile.
    File { path: String },
}

/// A health gate of a `verify` step.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GateTarget {
    Http {
        url: String,
    },
    Script {
        path: String,
    },
    /// Requests the URL continuously from the update to the verdict (zero downtime).
    Probe {
        url: String,
    },
}

/// A value.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Integer(i64),
    /// Milliseconds.
    Duration(u64),
    Percentage(i64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// A word of an enum field (`rollback`).
    Word(String),
    /// The image a `build` step makes; pinned by digest once pushed.
    Image {
        step: String,
        reference: Option<String>,
    },
    /// The revision a `register` step registers; its ARN once registered.
    TaskDefinition {
        step: String,
        arn: Option<String>,
    },
    /// The deployment an `update` step starts.
    Deployment {
        step: String,
    },
    Repository(Repository),
    Source(TaskDefinitionSource),
    Gate(GateTarget),
    /// A value known only while the pipeline runs (`app.digest` before the push).
    Pending(String),
}

impl Value {
    /// The value as text, for `${…}` and string fields.
    #[must_use]
    pub fn text(&self) -> Option<String> {
        Some(match self {
            Value::Bool(b) => b.to_string(),
            Value::Integer(n) => n.to_string(),
            Value::Duration(ms) => crate::eval::duration_text(*ms),
            Value::Percentage(n) => format!("{n}%"),
            Value::String(text) | Value::Word(text) => text.clone(),
            Value::Image { reference: Some(reference), .. } => reference.clone(),
            Value::TaskDefinition { arn: Some(arn), .. } => arn.clone(),
            _ => return None,
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(text) => f.write_str(&quoted(text)),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Value::Map(entries) => {
                let entries: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                write!(f, "{{ {} }}", entries.join(", "))
            }
            Value::Image { step, reference } => match reference {
                Some(reference) => f.write_str(reference),
                None => write!(f, "<image of `build {step}`, pinned when pushed>"),
            },
            Value::TaskDefinition { step, arn } => match arn {
                Some(arn) => f.write_str(arn),
                None => write!(f, "<revision of `register {step}`>"),
            },
            Value::Deployment { step } => write!(f, "<deployment of `update {step}`>"),
            Value::Repository(Repository::Ecr { name, .. }) => write!(f, "ecr({})", quoted(name)),
            Value::Repository(Repository::Registry { name }) => {
                write!(f, "registry({})", quoted(name))
            }
            Value::Source(TaskDefinitionSource::Service { name, .. }) => {
                write!(f, "service({})", quoted(name))
            }
            Value::Source(TaskDefinitionSource::Family { name }) => {
                write!(f, "family({})", quoted(name))
            }
            Value::Source(TaskDefinitionSource::File { path }) => {
                write!(f, "file({})", quoted(path))
            }
            Value::Gate(GateTarget::Http { url }) => write!(f, "http({})", quoted(url)),
            Value::Gate(GateTarget::Script { path }) => write!(f, "script({})", quoted(path)),
            Value::Gate(GateTarget::Probe { url }) => write!(f, "probe({})", quoted(url)),
            Value::Pending(what) => write!(f, "<{what}>"),
            other => f.write_str(&other.text().unwrap_or_default()),
        }
    }
}
