//! Task definitions as JSON, in AWS's own form. The SDK's schema codec writes a register
//! input exactly as RegisterTaskDefinition sends it and reads one back, so
//! `register { from = file("taskdef.json") }` takes every member AWS knows (a member it
//! does not know is refused by name, never dropped), and diffs print canonical JSON —
//! sorted keys, ECS's filled-in defaults left out — instead of Rust `Debug` text.
//! Pure: no I/O.

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec;
use aws_smithy_schema::serde::ShapeSerializer;
use serde_json::{Map, Value};

use super::revision::RevisionError;
use crate::aws::RevisionInput;

/// Members of a described revision that a registration does not take (§5.2).
const READ_ONLY: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// The codec of AWS JSON 1.1, as the ECS client sets it up.
fn codec() -> JsonCodec {
    JsonCodec::new(
        JsonCodecSettings::builder()
            .use_json_name(false)
            .default_timestamp_format(aws_smithy_types::date_time::Format::EpochSeconds)
            .build(),
    )
}

fn error(message: impl Into<String>) -> RevisionError {
    RevisionError(message.into())
}

/// The revision as RegisterTaskDefinition's JSON body (keys sorted).
#[must_use]
pub(super) fn revision_to_json(input: &RevisionInput) -> Value {
    let register = input.to_register_input();
    let mut serializer = codec().create_serializer();
    // Writing plain data to a string cannot fail; an empty object stands in if it did.
    if serializer.write_struct(RegisterTaskDefinitionInput::SCHEMA, &register).is_err() {
        return Value::Object(Map::new());
    }
    serde_json::from_slice(&serializer.finish()).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Reads a task definition from JSON: a RegisterTaskDefinition input (what
/// `aws ecs register-task-definition --cli-input-json` takes), or a DescribeTaskDefinition
/// answer (`{"taskDefinition": …, "tags": …}`) or its `taskDefinition`. Read-only members
/// are ignored; `null` members count as absent.
pub fn revision_from_json(text: &str) -> Result<RevisionInput, RevisionError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| error(format!("not JSON: {e}")))?;
    let Value::Object(mut document) = document else {
        return Err(error("the task definition is not a JSON object"));
    };
    let mut td = match document.remove("taskDefinition") {
        Some(Value::Object(td)) => {
            let mut td = td;
            if let Some(tags) = document.remove("tags") {
                td.insert("tags".to_owned(), tags);
            }
            td
        }
        Some(_) => return Err(error("`taskDefinition` is not a JSON object")),
        None => document,
    };
    for member in READ_ONLY {
        td.remove(member);
    }
    // Hand-written files often give task-level `cpu` and `memory` as numbers.
    for member in ["cpu", "memory"] {
        if let Some(Value::Number(number)) = td.get(member) {
            let text = number.to_string();
            td.insert(member.to_owned(), Value::String(text));
        }
    }
    let given = without_nulls(Value::Object(td));
    let family = given.get("family").and_then(Value::as_str).unwrap_or_default();
    if family.is_empty() {
        return Err(error("the task definition has no `family`"));
    }
    if given.get("containerDefinitions").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        return Err(error("the task definition has no `containerDefinitions`"));
    }
    let bytes = serde_json::to_vec(&given).map_err(|e| error(e.to_string()))?;
    let codec = codec();
    let mut deserializer = codec.create_deserializer(&bytes);
    let register = RegisterTaskDefinitionInput::deserialize(&mut deserializer).map_err(|e| {
        error(locate(&given).unwrap_or_else(|| format!("not a task definition: {e}")))
    })?;
    let revision = RevisionInput::from_register_input(&register);
    // Whatever the codec did not take back is a member AWS does not know, or a value of
    // the wrong type: name it rather than drop it.
    let back = revision_to_json(&revision);
    if let Some(problem) = first_difference(&given, &back, "") {
        return Err(error(problem));
    }
    Ok(revision)
}

/// Why `document` does not read as a register input (the codec's words); none when it does.
fn unreadable(document: &Value) -> Option<String> {
    let bytes = match serde_json::to_vec(document) {
        Ok(bytes) => bytes,
        Err(error) => return Some(error.to_string()),
    };
    let codec = codec();
    let mut deserializer = codec.create_deserializer(&bytes);
    RegisterTaskDefinitionInput::deserialize(&mut deserializer).err().map(|e| e.to_string())
}

/// The member a codec error is about: each member is tried alone (in a minimal task
/// definition, and each container's members in a minimal container), and the first that
/// fails is named with the codec's reason.
fn locate(given: &Value) -> Option<String> {
    let minimal_container = || serde_json::json!({ "name": "c", "image": "i" });
    let with = |key: &str, value: &Value| {
        let mut td =
            serde_json::json!({ "family": "f", "containerDefinitions": [minimal_container()] });
        td[key] = value.clone();
        td
    };
    let object = given.as_object()?;
    for (key, value) in object {
        if key == "containerDefinitions" {
            for (i, container) in value.as_array()?.iter().enumerate() {
                for (member, inner) in container.as_object()? {
                    let mut one = minimal_container();
                    one[member] = inner.clone();
                    let td = serde_json::json!({ "family": "f", "containerDefinitions": [one] });
                    if let Some(reason) = unreadable(&td) {
                        return Some(format!("`containerDefinitions[{i}].{member}`: {reason}"));
                    }
                }
            }
        } else if let Some(reason) = unreadable(&with(key, value)) {
            return Some(format!("`{key}`: {reason}"));
        }
    }
    None
}

/// `value` without `null` members, at every depth.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// The first place where `given` holds something `back` does not, said for the user.
fn first_difference(given: &Value, back: &Value, path: &str) -> Option<String> {
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match (given, back) {
        (Value::Object(given), Value::Object(back)) => {
            for (key, value) in given {
                match back.get(key) {
                    // An empty list or object is the member left out.
                    None if is_empty(value) => {}
                    None if key == "inferenceAccelerators" => {
                        return Some(
                            "`inferenceAccelerators` is retired by AWS (Elastic Inference ended); \
                             remove it"
                                .to_owned(),
                        );
                    }
                    None => {
                        return Some(format!(
                            "`{}` is not a member of {} that AWS knows",
                            at(key),
                            if path.is_empty() {
                                "a task definition".to_owned()
                            } else {
                                format!("`{path}`")
                            }
                        ));
                    }
                    Some(inner) => {
                        if let Some(problem) = first_difference(value, inner, &at(key)) {
                            return Some(problem);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(given), Value::Array(back)) if given.len() == back.len() => given
            .iter()
            .zip(back)
            .enumerate()
            .find_map(|(i, (g, b))| first_difference(g, b, &format!("{path}[{i}]"))),
        (Value::Number(g), Value::Number(b)) if g.as_f64() == b.as_f64() => None,
        (given, back) if given == back => None,
        (given, _) => Some(format!("`{path}`: {given} is not a value AWS takes there")),
    }
}

/// The revision in canonical form: RegisterTaskDefinition's JSON with sorted keys, and
/// what ECS fills in on registration left out — empty lists and objects, `essential:
/// true`, a container `cpu` of 0, a health check's default interval (30 s), timeout (5 s)
/// and retries (3), the `tcp` protocol, a host port of 0 (or equal to the container port
/// under `awsvpc` and `host`), `networkMode: bridge` — with `cpu`/`memory`
/// units converted (`1 vCPU` → `1024`, `2 GB` → `2048`), and variables, secrets, tags and
/// compatibilities in name order. Two revisions are the same when their canonical forms are.
#[must_use]
pub fn canonical(input: &RevisionInput) -> Value {
    let Value::Object(mut td) = revision_to_json(input) else { return Value::Null };
    let fixed_ports =
        matches!(td.get("networkMode").and_then(Value::as_str), Some("awsvpc" | "host"));
    if td.get("networkMode").and_then(Value::as_str) == Some("bridge") {
        td.remove("networkMode");
    }
    for (member, unit) in [("cpu", "vcpu"), ("memory", "gb")] {
        if let Some(Value::String(text)) = td.get(member) {
            let size = normalise_size(text, unit);
            td.insert(member.to_owned(), Value::String(size));
        }
    }
    sort_by(&mut td, "tags", "key");
    if let Some(Value::Array(items)) = td.get_mut("requiresCompatibilities") {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    if let Some(Value::Array(containers)) = td.get_mut("containerDefinitions") {
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            if container.get("essential") == Some(&Value::Bool(true)) {
                container.remove("essential");
            }
            if container.get("cpu").and_then(Value::as_i64) == Some(0) {
                container.remove("cpu");
            }
            // ECS fills in a health check's defaults (reference §1.5).
            if let Some(Value::Object(check)) = container.get_mut("healthCheck") {
                for (member, default) in [("interval", 30), ("timeout", 5), ("retries", 3)] {
                    if check.get(member).and_then(Value::as_i64) == Some(default) {
                        check.remove(member);
                    }
                }
            }
            sort_by(container, "environment", "name");
            sort_by(container, "secrets", "name");
            if let Some(Value::Array(ports)) = container.get_mut("portMappings") {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    if port.get("protocol").and_then(Value::as_str) == Some("tcp") {
                        port.remove("protocol");
                    }
                    let host = port.get("hostPort").and_then(Value::as_i64);
                    let container_port = port.get("containerPort").and_then(Value::as_i64);
                    if host == Some(0) || (fixed_ports && host.is_some() && host == container_port)
                    {
                        port.remove("hostPort");
                    }
                }
            }
        }
    }
    without_empties(Value::Object(td))
}

/// Whether two revisions would run the same thing (their canonical forms are equal).
#[must_use]
pub fn same_revision(a: &RevisionInput, b: &RevisionInput) -> bool {
    canonical(a) == canonical(b)
}

/// The canonical form as indented JSON, one member a line, for the plan's unified diff.
#[must_use]
pub fn revision_text(input: &RevisionInput) -> String {
    let mut text = serde_json::to_string_pretty(&canonical(input)).unwrap_or_default();
    text.push('\n');
    text
}

fn sort_by(object: &mut Map<String, Value>, member: &str, key: &str) {
    if let Some(Value::Array(items)) = object.get_mut(member) {
        items.sort_by(|a, b| {
            a.get(key).and_then(Value::as_str).cmp(&b.get(key).and_then(Value::as_str))
        });
    }
}

/// `value` without empty lists and objects, at every depth.
fn without_empties(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_empties(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_empties).collect()),
        other => other,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// `"1 vCPU"` → `"1024"`, `"2 GB"` → `"2048"`; plain numbers and anything else stay.
fn normalise_size(text: &str, unit: &str) -> String {
    let lower = text.trim().to_ascii_lowercase();
    match lower.strip_suffix(unit).map(str::trim).and_then(|n| n.parse::<f64>().ok()) {
        Some(number) if number > 0.0 => format!("{}", (number * 1024.0).round() as u64),
        _ => text.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &str = concat!(
        r#"{"family":"web","cpu":"256","containerDefinitions":[{"name":"app","image":"x:1","#,
        r#""environment":[{"name":"E","value":""}],"portMappings":[{"containerPort":80}]}]}"#,
    );

    #[test]
    fn reads_a_register_input_and_a_described_revision() {
        let revision = revision_from_json(INPUT).expect("reads");
        assert_eq!(revision.family, "web");
        assert_eq!(revision.cpu.as_deref(), Some("256"));
        let env = revision.container_definitions[0].environment();
        assert_eq!((env[0].name(), env[0].value()), (Some("E"), Some("")));
        let described = format!(
            r#"{{"taskDefinition": {}, "tags": [{{"key":"t","value":"v"}}]}}"#,
            INPUT.replace(
                r#""family":"web""#,
                concat!(
                    r#""family":"web","revision":3,"status":"ACTIVE","taskDefinitionArn":"arn:x","#,
                    r#""registeredAt":1.5"#,
                ),
            )
        );
        let revision = revision_from_json(&described).expect("reads a described one");
        assert_eq!(revision.tags.len(), 1);
    }

    #[test]
    fn every_member_aws_knows_is_read() {
        // Members the old hand-written reader refused now come through the SDK's codec.
        let text = concat!(
            r#"{"family":"web","ipcMode":"host","proxyConfiguration":{"containerName":"envoy","#,
            r#""type":"APPMESH","properties":[{"name":"AppPorts","value":"8080"}]},"#,
            r#""containerDefinitions":[{"name":"a","image":"x","#,
            r#""firelensConfiguration":{"type":"fluentbit","options":{"b":"2","a":"1"}},"#,
            r#""linuxParameters":{"capabilities":{"add":["SYS_PTRACE"]},"#,
            r#""initProcessEnabled":true},"#,
            r#""repositoryCredentials":{"credentialsParameter":"arn:secret"},"#,
            r#""systemControls":[{"namespace":"net.core.somaxconn","value":"1024"}]}]}"#,
        );
        let revision = revision_from_json(text).expect("reads every member");
        let json = revision_to_json(&revision);
        assert_eq!(json["ipcMode"], "host");
        assert_eq!(json["containerDefinitions"][0]["firelensConfiguration"]["options"]["a"], "1");
        assert_eq!(json["proxyConfiguration"]["properties"][0]["value"], "8080");
    }

    #[test]
    fn refuses_what_aws_does_not_know() {
        let error = revision_from_json(
            r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x","imagee":"y"}]}"#,
        )
        .expect_err("unknown member");
        assert_eq!(
            error.0,
            "`containerDefinitions[0].imagee` is not a member of `containerDefinitions[0]` that \
             AWS knows"
        );
        let error = revision_from_json(
            r#"{"family":"web","famly":"x","containerDefinitions":[{"name":"a","image":"x"}]}"#,
        )
        .expect_err("unknown");
        assert!(error.0.contains("`famly` is not a member of a task definition"), "{}", error.0);
        let error = revision_from_json(
            r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":"lots"}]}"#,
        )
        .expect_err("wrong type");
        assert!(error.0.contains("memory"), "{}", error.0);
        assert!(revision_from_json("{").is_err());
        assert!(revision_from_json("[]").is_err());
        assert!(revision_from_json(r#"{"family":"web","containerDefinitions":[]}"#).is_err());
        assert!(
            revision_from_json(r#"{"containerDefinitions":[{"name":"a","image":"x"}]}"#).is_err()
        );
    }

    #[test]
    fn round_trips() {
        let revision = revision_from_json(INPUT).expect("reads");
        let text = revision_to_json(&revision).to_string();
        assert_eq!(revision_from_json(&text).expect("reads again"), revision);
    }

    #[test]
    fn canonical_forms_leave_ecs_defaults_out() {
        // What ECS answers for INPUT: defaults filled in, members in another order.
        let described = concat!(
            r#"{"family":"web","cpu":"0.25 vCPU","networkMode":"bridge","volumes":[],"#,
            r#""placementConstraints":[],"containerDefinitions":[{"name":"app","image":"x:1","#,
            r#""cpu":0,"essential":true,"environment":[{"name":"E","value":""}],"mountPoints":[],"#,
            r#""volumesFrom":[],"systemControls":[],"portMappings":[{"containerPort":80,"#,
            r#""hostPort":0,"protocol":"tcp"}],"healthCheck":{"command":["CMD","true"],"#,
            r#""interval":30,"timeout":5,"retries":3}}]}"#,
        );
        let input = INPUT.replace(
            r#""portMappings""#,
            r#""healthCheck":{"command":["CMD","true"]},"portMappings""#,
        );
        let a = revision_from_json(&input).expect("input");
        let b = revision_from_json(described).expect("described");
        assert_ne!(a, b);
        assert!(same_revision(&a, &b), "{}\n{}", revision_text(&a), revision_text(&b));
        // The empty value of E is kept: an empty string is not an absent one.
        assert!(revision_text(&a).contains(r#""value": """#), "{}", revision_text(&a));
        let other = revision_from_json(&input.replace("x:1", "x:2")).expect("other");
        assert!(!same_revision(&a, &other));
    }

    #[test]
    fn map_members_print_in_key_order() {
        let text = concat!(
            r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x","#,
            r#""logConfiguration":{"logDriver":"awslogs","options":{"z":"1","a":"2","m":"3"}},"#,
            r#""dockerLabels":{"y":"1","b":"2"}}]}"#,
        );
        let revision = revision_from_json(text).expect("reads");
        let printed = revision_text(&revision);
        for _ in 0..20 {
            assert_eq!(revision_text(&revision_from_json(text).expect("reads")), printed);
        }
        let a = printed.find(r#""a": "2""#).expect("a");
        let z = printed.find(r#""z": "1""#).expect("z");
        assert!(a < z, "{printed}");
    }
}
