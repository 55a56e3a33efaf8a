//! Reading a request's JSON members with the errors a real endpoint gives, and the
//! `nextToken` paging every list call shares.

use base64::Engine as _;
use serde_json::Value;

use super::api_error::ApiError;

/// A request body: a JSON object.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    body: &'a Value,
}

impl<'a> Request<'a> {
    pub fn new(body: &'a Value) -> Result<Self, ApiError> {
        if body.is_object() {
            Ok(Self { body })
        } else {
            Err(ApiError::serialization("Start of structure or map found where not expected."))
        }
    }

    /// The whole body.
    #[must_use]
    pub fn whole(self) -> &'a Value {
        self.body
    }

    #[must_use]
    pub fn value(self, name: &str) -> Option<&'a Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    /// A string member; a member of another type is an error.
    pub fn string(self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => {
                Err(ApiError::serialization(format!("STRING_VALUE can not be converted to {name}")))
            }
        }
    }

    pub fn required_string(self, name: &str) -> Result<&'a str, ApiError> {
        self.string(name)?
            .ok_or_else(|| ApiError::invalid(format!("{name} can not be null or empty.")))
    }

    pub fn integer(self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.value(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::serialization(format!("Expected a number for {name}"))),
        }
    }

    pub fn boolean(self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.value(name) {
            None => Ok(None),
            Some(value) => value
                .as_bool()
                .map(Some)
                .ok_or_else(|| ApiError::serialization(format!("Expected a boolean for {name}"))),
        }
    }

    /// A list of strings.
    pub fn strings(self, name: &str) -> Result<Vec<&'a str>, ApiError> {
        match self.value(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().ok_or_else(|| {
                        ApiError::serialization(format!("Expected strings in {name}"))
                    })
                })
                .collect(),
            Some(_) => Err(ApiError::serialization(format!("Expected a list for {name}"))),
        }
    }

    /// `include` holds `TAGS`.
    pub fn includes_tags(self) -> Result<bool, ApiError> {
        Ok(self.strings("include")?.contains(&"TAGS"))
    }

    /// `maxResults` (1–100, default 100) and the offset `nextToken` points at.
    pub fn page(self) -> Result<(usize, usize), ApiError> {
        self.page_within(100)
    }

    /// `maxResults` (1–`largest`, default 100) and the offset `nextToken` points at.
    pub fn page_within(self, largest: usize) -> Result<(usize, usize), ApiError> {
        self.page_of(100.min(largest), largest)
    }

    /// `maxResults` (1–`largest`, default `default`) and the offset `nextToken` points at.
    pub fn page_of(self, default: usize, largest: usize) -> Result<(usize, usize), ApiError> {
        let size = match self.integer("maxResults")? {
            None => default,
            Some(n) if n >= 1 && n as usize <= largest => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(format!(
                    "maxResults must be between 1 and {largest}, found {n}."
                )));
            }
        };
        let offset = match self.string("nextToken")? {
            None => 0,
            Some(token) => decode_token(token)
                .ok_or_else(|| ApiError::invalid("The specified nextToken is invalid."))?,
        };
        Ok((size, offset))
    }
}

/// One page of `items` and the token of the next, if any.
#[must_use]
pub(crate) fn paginate<T: Clone>(
    items: &[T],
    (size, offset): (usize, usize),
) -> (Vec<T>, Option<String>) {
    let end = (offset + size).min(items.len());
    let page = items.get(offset.min(items.len())..end).unwrap_or_default().to_vec();
    let next = (end < items.len()).then(|| encode_token(end));
    (page, next)
}

/// A list call's answer: `{member: page}` and `nextToken` unless this is the last page.
#[must_use]
pub(crate) fn listing<T: serde::Serialize>(
    member: &str,
    page: &[T],
    next: Option<String>,
) -> Value {
    let mut answer = serde_json::json!({ member: page });
    if let Some(next) = next {
        answer["nextToken"] = Value::String(next);
    }
    answer
}

fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("ferry-local:{offset}"))
}

/// The offset a token made by `paginate` points at.
pub(crate) fn decode_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("ferry-local:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_tokens() {
        let items: Vec<u32> = (0..250).collect();
        let body = serde_json::json!({});
        let request = Request::new(&body).expect("object");
        let (first, token) = paginate(&items, request.page().expect("page"));
        assert_eq!(first.len(), 100);
        let body = serde_json::json!({ "nextToken": token.expect("more"), "maxResults": 100 });
        let (second, token) =
            paginate(&items, Request::new(&body).expect("object").page().expect("page"));
        assert_eq!(second[0], 100);
        let body = serde_json::json!({ "nextToken": token.expect("more") });
        let (third, token) =
            paginate(&items, Request::new(&body).expect("object").page().expect("page"));
        assert_eq!((third.len(), token), (50, None));
    }

    #[test]
    fn bad_members_are_reported() {
        let body = serde_json::json!({ "cluster": 3, "maxResults": 500, "nextToken": "junk" });
        let request = Request::new(&body).expect("object");
        assert_eq!(request.string("cluster").expect_err("number").kind, "SerializationException");
        assert_eq!(request.page().expect_err("bounds").kind, "InvalidParameterException");
        assert_eq!(
            request.required_string("family").expect_err("missing").kind,
            "InvalidParameterException"
        );
        assert!(Request::new(&serde_json::json!([1])).is_err());
    }
}
