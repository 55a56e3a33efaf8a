//! The AWS Query protocol, read and written from a service model, for Elastic Load
//! Balancing v2 (`aws-sdk-elasticloadbalancingv2` and the AWS CLI speak it): a request is a
//! form-encoded `POST /` (`Action`, `Version`, members flattened as `Name.member.1`,
//! `Struct.Member`, `Map.entry.1.key`), read into the JSON value of its input shape; an
//! answer is that operation's output as XML (`<OpResponse><OpResult>…</OpResult>
//! <ResponseMetadata>…`), an error an `<ErrorResponse>`. Pure: values in, text out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use super::{Model, Shape};
use crate::local::api_error::ApiError;

/// A decoded form body: `Action`, and every other field by its flattened name.
#[derive(Debug, Default)]
pub struct Form {
    pub action: String,
    fields: BTreeMap<String, String>,
}

impl Form {
    /// Decodes `application/x-www-form-urlencoded` bytes.
    #[must_use]
    pub fn parse(body: &[u8]) -> Self {
        let mut form = Form::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            if key == "Action" {
                form.action = value.into_owned();
            } else if key != "Version" {
                form.fields.insert(key.into_owned(), value.into_owned());
            }
        }
        form
    }

    /// Whether any field lies at or under `prefix`.
    fn has(&self, prefix: &str) -> bool {
        self.fields.range(prefix.to_owned()..).next().is_some_and(|(k, _)| k.starts_with(prefix))
    }
}

impl Model {
    /// The form of a Query request read into the JSON value of `action`'s input shape,
    /// then checked as every request is (constraints, in the service's words). A value
    /// that is not of its member's type is a `ValidationError`.
    pub fn read_form(&self, form: &Form) -> Result<Value, ApiError> {
        let operation =
            self.operations.get(&form.action).ok_or_else(|| invalid_action(&form.action))?;
        let value = match &operation.input {
            Some(input) => self.form_value(&input.shape, form, "")?.unwrap_or(Value::Null),
            None => Value::Object(Map::new()),
        };
        let value = if value.is_null() { Value::Object(Map::new()) } else { value };
        self.read_request(&form.action, value)
    }

    /// The value at `prefix` of shape `shape_name`, or `None` when the form has none.
    fn form_value(
        &self,
        shape_name: &str,
        form: &Form,
        prefix: &str,
    ) -> Result<Option<Value>, ApiError> {
        let Some(shape) = self.shape(shape_name) else { return Ok(None) };
        let join = |name: &str| {
            if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
        };
        match shape.kind.as_str() {
            "structure" => {
                let mut members = Map::new();
                for (name, member) in &shape.members {
                    if let Some(value) = self.form_value(&member.shape, form, &join(name))? {
                        members.insert(name.clone(), value);
                    }
                }
                Ok((!members.is_empty() || prefix.is_empty() || form.has(prefix))
                    .then_some(Value::Object(members)))
            }
            "list" => {
                if form.fields.get(prefix).is_some_and(String::is_empty) {
                    return Ok(Some(Value::Array(Vec::new())));
                }
                let Some(member) = &shape.member else { return Ok(None) };
                let mut items = Vec::new();
                for index in 1.. {
                    let at = format!("{prefix}.member.{index}");
                    if !form.has(&at) {
                        break;
                    }
                    items.push(self.form_value(&member.shape, form, &at)?.unwrap_or(Value::Null));
                }
                Ok((!items.is_empty()).then_some(Value::Array(items)))
            }
            "map" => {
                let (Some(key), Some(value)) = (&shape.key, &shape.value) else { return Ok(None) };
                let mut entries = Map::new();
                for index in 1.. {
                    let at = format!("{prefix}.entry.{index}");
                    if !form.has(&at) {
                        break;
                    }
                    let name = self.form_value(&key.shape, form, &format!("{at}.key"))?;
                    let item = self.form_value(&value.shape, form, &format!("{at}.value"))?;
                    if let Some(Value::String(name)) = name {
                        entries.insert(name, item.unwrap_or(Value::Null));
                    }
                }
                Ok((!entries.is_empty()).then_some(Value::Object(entries)))
            }
            kind => {
                let Some(text) = form.fields.get(prefix) else { return Ok(None) };
                scalar(kind, text, prefix).map(Some)
            }
        }
    }

    /// `action`'s answer as the Query protocol's XML.
    #[must_use]
    pub fn answer_xml(
        &self,
        action: &str,
        answer: &Value,
        request_id: &str,
        namespace: &str,
    ) -> String {
        let mut result = String::new();
        if let Some(output) = self.operations.get(action).and_then(|op| op.output.as_ref())
            && let Some(shape) = self.shape(&output.shape)
        {
            self.members_xml(shape, answer, &mut result);
        }
        format!(
            "<{action}Response xmlns=\"{namespace}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
             </{action}Response>"
        )
    }

    fn members_xml(&self, shape: &Shape, value: &Value, out: &mut String) {
        let Value::Object(members) = value else { return };
        for (name, member) in &shape.members {
            if let Some(inner) = members.get(name).filter(|v| !v.is_null()) {
                let _ = write!(out, "<{name}>");
                self.value_xml(&member.shape, inner, out);
                let _ = write!(out, "</{name}>");
            }
        }
    }

    fn value_xml(&self, shape_name: &str, value: &Value, out: &mut String) {
        let Some(shape) = self.shape(shape_name) else { return };
        match (shape.kind.as_str(), value) {
            ("structure", _) => self.members_xml(shape, value, out),
            ("list", Value::Array(items)) => {
                let Some(member) = &shape.member else { return };
                for item in items {
                    out.push_str("<member>");
                    self.value_xml(&member.shape, item, out);
                    out.push_str("</member>");
                }
            }
            ("map", Value::Object(entries)) => {
                let Some(inner) = &shape.value else { return };
                for (key, item) in entries {
                    let _ = write!(out, "<entry><key>{}</key><value>", escape(key));
                    self.value_xml(&inner.shape, item, out);
                    out.push_str("</value></entry>");
                }
            }
            ("timestamp", Value::Number(seconds)) => {
                out.push_str(&iso8601(seconds.as_f64().unwrap_or_default()));
            }
            (_, Value::String(text)) => out.push_str(&escape(text)),
            (_, Value::Bool(flag)) => out.push_str(if *flag { "true" } else { "false" }),
            (_, Value::Number(number)) => out.push_str(&number.to_string()),
            _ => {}
        }
    }
}

/// An error as the Query protocol carries it: `Sender` for a client's fault.
#[must_use]
pub fn error_xml(error: &ApiError, request_id: &str, namespace: &str) -> String {
    let kind = if error.status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(error.kind),
        escape(&error.message)
    )
}

fn invalid_action(action: &str) -> ApiError {
    ApiError::with_kind(
        "InvalidAction",
        format!("The action {action} is not valid for this web service."),
    )
}

/// A scalar form value as its member's JSON type.
fn scalar(kind: &str, text: &str, at: &str) -> Result<Value, ApiError> {
    let refused = |what: &str| {
        ApiError::with_kind(
            "ValidationError",
            format!(
                "1 validation error detected: Value '{text}' at '{at}' failed to satisfy \
                 constraint: Member must be {what}"
            ),
        )
    };
    match kind {
        "boolean" => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(refused("a boolean")),
        },
        "integer" | "long" => {
            text.parse::<i64>().map(|n| Value::Number(n.into())).map_err(|_| refused("an integer"))
        }
        "double" | "float" => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| refused("a number")),
        _ => Ok(Value::String(text.to_owned())),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Epoch seconds as `2026-12-02T15:04:05.123Z`.
fn iso8601(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round() as i64;
    let (days, of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    )
}

#[cfg(test)]
mod tests;
