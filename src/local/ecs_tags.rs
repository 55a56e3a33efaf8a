//! Tags of ECS resources: `TagResource`, `UntagResource`, `ListTagsForResource`.

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::request::Request;
use super::state::{EcsState, Tag};

impl EcsState {
    /// The tags of a resource as the API shows them.
    #[must_use]
    pub fn tags_json(&self, arn: &str) -> Value {
        json!(
            self.tags
                .get(arn)
                .map(|tags| {
                    tags.iter()
                        .map(|t| json!({ "key": t.key, "value": t.value }))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        )
    }

    /// Stores the `tags` member of a create/register request for `arn`.
    pub fn set_tags_from(&mut self, arn: &str, request: Request<'_>) -> Result<(), ApiError> {
        let tags = parse_tags(request.value("tags"))?;
        if !tags.is_empty() {
            self.merge_tags(arn, tags);
        }
        Ok(())
    }

    fn merge_tags(&mut self, arn: &str, tags: Vec<Tag>) {
        let current = self.tags.get(arn).map_or(&[][..], Vec::as_slice);
        let all = merged(current, tags);
        self.tags.insert(arn.to_owned(), all);
    }

    /// Whether `arn` names a resource this state holds.
    fn resource_exists(&self, arn: &str) -> bool {
        self.clusters.values().any(|c| c.arn == arn || c.services.values().any(|s| s.arn == arn))
            || self.families.values().flatten().any(|td| td.arn == arn)
            || self
                .clusters
                .values()
                .flat_map(|c| c.services.values())
                .any(|s| s.rollout.tasks.iter().any(|t| arn.ends_with(&t.id)))
    }

    pub fn tag_resource(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("resourceArn")?;
        if !self.resource_exists(arn) {
            return Err(ApiError::invalid("The specified resource is not found."));
        }
        let tags = parse_tags(request.value("tags"))?;
        if tags.is_empty() {
            return Err(ApiError::invalid("tags can not be null or empty."));
        }
        self.merge_tags(arn, tags);
        Ok(json!({}))
    }

    pub fn untag_resource(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("resourceArn")?;
        if !self.resource_exists(arn) {
            return Err(ApiError::invalid("The specified resource is not found."));
        }
        let keys = request.strings("tagKeys")?;
        if let Some(tags) = self.tags.get_mut(arn) {
            tags.retain(|t| !keys.contains(&t.key.as_str()));
        }
        Ok(json!({}))
    }

    pub fn list_tags_for_resource(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("resourceArn")?;
        if !self.resource_exists(arn) {
            return Err(ApiError::invalid("The specified resource is not found."));
        }
        Ok(json!({ "tags": self.tags_json(arn) }))
    }
}

/// `current` with `tags` added, a tag of a key already there replacing its value.
pub(super) fn merged(current: &[Tag], tags: Vec<Tag>) -> Vec<Tag> {
    let mut all = current.to_vec();
    for tag in tags {
        match all.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => all.push(tag),
        }
    }
    all
}

/// `[{key, value}]`, each key 1–128 characters and each value at most 256.
pub(super) fn parse_tags(value: Option<&Value>) -> Result<Vec<Tag>, ApiError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let items =
        value.as_array().ok_or_else(|| ApiError::serialization("Expected a list for tags"))?;
    items
        .iter()
        .map(|item| {
            let key = item.get("key").and_then(Value::as_str).unwrap_or_default();
            let value = item.get("value").and_then(Value::as_str).unwrap_or_default();
            if key.is_empty() || key.len() > 128 || value.len() > 256 {
                return Err(ApiError::invalid(
                    "Tag keys must be 1 to 128 characters and values at most 256.",
                ));
            }
            Ok(Tag { key: key.to_owned(), value: value.to_owned() })
        })
        .collect()
}
