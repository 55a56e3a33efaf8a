//! Task definitions: `RegisterTaskDefinition`, `DescribeTaskDefinition` (with
//! `include=TAGS`), `DeregisterTaskDefinition`, `DeleteTaskDefinitions`,
//! `ListTaskDefinitions`. Revisions are kept exactly as registered: every member,
//! empty strings included, comes back.

use serde_json::{Map, Value, json};

use super::api_error::ApiError;
use super::request::{Request, paginate};
use super::state::{EcsState, TaskDefinition, TaskDefinitionStatus};

impl EcsState {
    pub fn register_task_definition(
        &mut self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let family = request.required_string("family")?.to_owned();
        if family.len() > 255
            || !family.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::client(
                "Family must be up to 255 letters (uppercase and lowercase), numbers, hyphens, and \
                 underscores.",
            ));
        }
        let containers = request
            .value("containerDefinitions")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ApiError::client("Container list cannot be empty."))?;
        let mut names = Vec::new();
        for container in containers {
            let name = container.get("name").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() {
                return Err(ApiError::client("Container.name should not be null or empty."));
            }
            if container.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(ApiError::client("Container.image should not be null or empty."));
            }
            if names.contains(&name) {
                return Err(ApiError::client(format!("Duplicate container name found: {name}.")));
            }
            names.push(name);
        }
        let network_mode = request.string("networkMode")?;
        if let Some(mode) = network_mode
            && !["bridge", "host", "awsvpc", "none"].contains(&mode)
        {
            return Err(ApiError::invalid(format!("Invalid networkMode: {mode}.")));
        }
        let mut body: Map<String, Value> = request.whole().as_object().cloned().unwrap_or_default();
        body.remove("tags");
        with_ecs_defaults(&mut body);
        for (member, per_unit) in [("cpu", "vcpu"), ("memory", "gb")] {
            if let Some(Value::String(text)) = body.get(member).cloned() {
                body.insert(member.to_owned(), json!(normalise_size(&text, per_unit)?));
            } else if let Some(number) = body.get(member).and_then(Value::as_i64) {
                body.insert(member.to_owned(), json!(number.to_string()));
            }
        }
        let revisions = self.families.entry(family.clone()).or_default();
        let revision = revisions.last().map_or(1, |td| td.revision + 1);
        let arn = format!(
            "arn:aws:ecs:{}:{}:task-definition/{family}:{revision}",
            self.region, self.account
        );
        revisions.push(TaskDefinition {
            arn: arn.clone(),
            family,
            revision,
            status: TaskDefinitionStatus::Active,
            body: Value::Object(body),
            registered_ms: now,
            deregistered_ms: None,
        });
        self.set_tags_from(&arn, request)?;
        let td = self.task_definition(&arn)?;
        Ok(json!({ "taskDefinition": self.task_definition_json(td), "tags": self.tags_json(&arn) }))
    }

    pub fn describe_task_definition(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let reference = request.required_string("taskDefinition")?;
        let td = self.task_definition(reference)?;
        let mut answer = json!({ "taskDefinition": self.task_definition_json(td) });
        if request.includes_tags()? {
            answer["tags"] = self.tags_json(&td.arn);
        }
        Ok(answer)
    }

    pub fn deregister_task_definition(
        &mut self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let reference = request.required_string("taskDefinition")?;
        if !reference.contains(':') {
            return Err(ApiError::invalid(
                "The task definition revision is required: use family:revision or an ARN.",
            ));
        }
        let arn = self.task_definition(reference)?.arn.clone();
        let td = self.task_definition_mut(&arn)?;
        if td.status == TaskDefinitionStatus::Active {
            td.status = TaskDefinitionStatus::Inactive;
            td.deregistered_ms = Some(now);
        }
        let td = self.task_definition(&arn)?;
        Ok(json!({ "taskDefinition": self.task_definition_json(td) }))
    }

    pub fn delete_task_definitions(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let references = request.strings("taskDefinitions")?;
        if references.is_empty() || references.len() > 10 {
            return Err(ApiError::invalid("taskDefinitions must hold 1 to 10 task definitions."));
        }
        let mut deleted = Vec::new();
        let mut failures = Vec::new();
        for reference in references {
            let arn = match self.task_definition(reference) {
                Ok(td) if reference.contains(':') => td.arn.clone(),
                _ => {
                    failures.push(json!({
                        "arn": reference,
                        "reason": "The specified task definition does not exist.",
                    }));
                    continue;
                }
            };
            let td = self.task_definition_mut(&arn)?;
            if td.status == TaskDefinitionStatus::Active {
                failures.push(json!({
                    "arn": arn,
                    "reason": "The specified task definition is still in ACTIVE status. \
                               Please deregister the target and try again.",
                }));
                continue;
            }
            td.status = TaskDefinitionStatus::DeleteInProgress;
            let td = td.clone();
            deleted.push(self.task_definition_json(&td));
        }
        Ok(json!({ "taskDefinitions": deleted, "failures": failures }))
    }

    pub fn list_task_definitions(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let status = match request.string("status")?.unwrap_or("ACTIVE") {
            "ACTIVE" => TaskDefinitionStatus::Active,
            "INACTIVE" => TaskDefinitionStatus::Inactive,
            "DELETE_IN_PROGRESS" => TaskDefinitionStatus::DeleteInProgress,
            other => return Err(ApiError::invalid(format!("Invalid status: {other}."))),
        };
        let descending = match request.string("sort")?.unwrap_or("ASC") {
            "ASC" => false,
            "DESC" => true,
            other => return Err(ApiError::invalid(format!("Invalid sort: {other}."))),
        };
        let family = request.string("familyPrefix")?;
        let mut arns: Vec<String> = self
            .families
            .iter()
            .filter(|(name, _)| family.is_none_or(|f| f == name.as_str()))
            .flat_map(|(_, revisions)| {
                revisions.iter().filter(|td| td.status == status).map(|td| td.arn.clone())
            })
            .collect();
        if descending {
            arns.reverse();
        }
        let (page, next) = paginate(&arns, request.page()?);
        Ok(json!({ "taskDefinitionArns": page, "nextToken": next }))
    }

    fn task_definition_mut(&mut self, arn: &str) -> Result<&mut TaskDefinition, ApiError> {
        self.families
            .values_mut()
            .flatten()
            .find(|td| td.arn == arn)
            .ok_or_else(|| ApiError::client("Unable to describe task definition."))
    }

    /// The registered members plus what ECS adds.
    #[must_use]
    pub fn task_definition_json(&self, td: &TaskDefinition) -> Value {
        let mut value = td.body.clone();
        let awsvpc = value.get("networkMode").and_then(Value::as_str) == Some("awsvpc");
        let compatibilities: Vec<&str> = if awsvpc { vec!["EC2", "FARGATE"] } else { vec!["EC2"] };
        value["taskDefinitionArn"] = json!(td.arn);
        value["family"] = json!(td.family);
        value["revision"] = json!(td.revision);
        value["status"] = json!(td.status.as_str());
        value["requiresAttributes"] = json!([]);
        value["compatibilities"] = json!(compatibilities);
        value["registeredAt"] = self.time(td.registered_ms);
        value["registeredBy"] = json!(format!("arn:aws:iam::{}:root", self.account));
        if let Some(at) = td.deregistered_ms {
            value["deregisteredAt"] = self.time(at);
        }
        value
    }
}

/// Fills the members ECS fills when a registration leaves them out, as
/// `DescribeTaskDefinition` shows them: `volumes` and `placementConstraints` of the task,
/// and `cpu`, `essential`, `portMappings`, `environment`, `mountPoints`, `volumesFrom` and
/// `systemControls` of each container. Members that were sent are kept as they are.
fn with_ecs_defaults(body: &mut Map<String, Value>) {
    for member in ["volumes", "placementConstraints"] {
        body.entry(member).or_insert_with(|| json!([]));
    }
    if let Some(Value::Array(containers)) = body.get_mut("containerDefinitions") {
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            container.entry("cpu").or_insert_with(|| json!(0));
            container.entry("essential").or_insert_with(|| json!(true));
            for member in
                ["portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"]
            {
                container.entry(member).or_insert_with(|| json!([]));
            }
        }
    }
}

/// `"1 vCPU"` → `"1024"`, `"2 GB"` → `"2048"`; plain numbers stay as they are.
fn normalise_size(text: &str, unit: &str) -> Result<String, ApiError> {
    let lower = text.trim().to_ascii_lowercase();
    let (number, scaled) = match lower.strip_suffix(unit) {
        Some(number) => (number.trim(), true),
        None => (lower.as_str(), false),
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| *n > 0.0)
        .ok_or_else(|| ApiError::client(format!("Invalid setting for {text}.")))?;
    Ok(if scaled { format!("{}", (value * 1024.0).round() as u64) } else { number.to_owned() })
}
