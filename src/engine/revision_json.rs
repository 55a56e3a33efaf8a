//! `register { from = file("taskdef.json") }`: a task definition in JSON — the register
//! input, or a DescribeTaskDefinition answer — read into the SDK's types. Read-only members
//! are ignored; a member ferry does not read is an error naming it, never silently dropped.

use aws_sdk_ecs::types::{
    Compatibility, ContainerCondition, ContainerDefinition, ContainerDependency, CpuArchitecture,
    EphemeralStorage, HealthCheck, KeyValuePair, LogConfiguration, LogDriver, MountPoint,
    NetworkMode, OsFamily, PidMode, PortMapping, RuntimePlatform, Secret, Tag,
    TaskDefinitionPlacementConstraint, TaskDefinitionPlacementConstraintType, TransportProtocol,
    Ulimit, UlimitName, Volume,
};
use serde_json::Value;

use super::revision::{RevisionError, RevisionInput};

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

fn error(message: String) -> RevisionError {
    RevisionError(message)
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn int(value: &Value, key: &str) -> Option<i32> {
    value.get(key).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok())
}

fn strings(value: &Value, key: &str) -> Option<Vec<String>> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Refuses members outside `known`.
fn only(value: &Value, known: &[&str], place: &str) -> Result<(), RevisionError> {
    if let Some(object) = value.as_object() {
        for key in object.keys() {
            if !known.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()) {
                return Err(error(format!(
                    "`{key}` of {place} is not read by ferry's `file(…)`; start from `family(…)` or `service(…)` to keep it"
                )));
            }
        }
    }
    Ok(())
}

/// Reads a task definition from its JSON.
pub fn revision_from_json(text: &str) -> Result<RevisionInput, RevisionError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| error(format!("not JSON: {e}")))?;
    let (td, tags) = match document.get("taskDefinition") {
        Some(td) => (td.clone(), document.get("tags").cloned()),
        None => (document.clone(), document.get("tags").cloned()),
    };
    only(
        &td,
        &[
            "family",
            "taskRoleArn",
            "executionRoleArn",
            "networkMode",
            "containerDefinitions",
            "volumes",
            "placementConstraints",
            "requiresCompatibilities",
            "cpu",
            "memory",
            "tags",
            "pidMode",
            "runtimePlatform",
            "ephemeralStorage",
        ],
        "the task definition",
    )?;
    let family = string(&td, "family")
        .ok_or_else(|| error("the task definition has no `family`".to_owned()))?;
    let mut containers = Vec::new();
    for (index, c) in list(&td, "containerDefinitions").iter().enumerate() {
        containers
            .push(container(c).map_err(|e| error(format!("container {}: {}", index + 1, e.0)))?);
    }
    if containers.is_empty() {
        return Err(error("the task definition has no `containerDefinitions`".to_owned()));
    }
    let tags = tags
        .as_ref()
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|t| {
                    Tag::builder().set_key(string(t, "key")).set_value(string(t, "value")).build()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(RevisionInput {
        family,
        task_role_arn: string(&td, "taskRoleArn"),
        execution_role_arn: string(&td, "executionRoleArn"),
        network_mode: string(&td, "networkMode").map(|m| NetworkMode::from(m.as_str())),
        container_definitions: containers,
        volumes: list(&td, "volumes")
            .iter()
            .map(|v| {
                only(v, &["name"], "a volume")
                    .map(|()| Volume::builder().set_name(string(v, "name")).build())
            })
            .collect::<Result<_, _>>()?,
        placement_constraints: list(&td, "placementConstraints")
            .iter()
            .map(|p| {
                TaskDefinitionPlacementConstraint::builder()
                    .set_type(
                        string(p, "type")
                            .map(|t| TaskDefinitionPlacementConstraintType::from(t.as_str())),
                    )
                    .set_expression(string(p, "expression"))
                    .build()
            })
            .collect(),
        requires_compatibilities: strings(&td, "requiresCompatibilities")
            .unwrap_or_default()
            .iter()
            .map(|c| Compatibility::from(c.as_str()))
            .collect(),
        cpu: td.get("cpu").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        memory: td.get("memory").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        tags,
        pid_mode: string(&td, "pidMode").map(|m| PidMode::from(m.as_str())),
        ipc_mode: None,
        proxy_configuration: None,
        ephemeral_storage: td
            .get("ephemeralStorage")
            .and_then(|e| int(e, "sizeInGiB"))
            .map(|size| EphemeralStorage::builder().size_in_gib(size).build()),
        runtime_platform: td.get("runtimePlatform").map(|p| {
            RuntimePlatform::builder()
                .set_cpu_architecture(
                    string(p, "cpuArchitecture").map(|a| CpuArchitecture::from(a.as_str())),
                )
                .set_operating_system_family(
                    string(p, "operatingSystemFamily").map(|o| OsFamily::from(o.as_str())),
                )
                .build()
        }),
        enable_fault_injection: None,
    })
}

fn container(c: &Value) -> Result<ContainerDefinition, RevisionError> {
    only(
        c,
        &[
            "name",
            "image",
            "cpu",
            "memory",
            "memoryReservation",
            "essential",
            "command",
            "entryPoint",
            "environment",
            "secrets",
            "portMappings",
            "healthCheck",
            "logConfiguration",
            "mountPoints",
            "volumesFrom",
            "ulimits",
            "dependsOn",
            "stopTimeout",
            "startTimeout",
            "dockerLabels",
            "workingDirectory",
            "user",
            "systemControls",
        ],
        "a container",
    )?;
    if !list(c, "volumesFrom").is_empty() || !list(c, "systemControls").is_empty() {
        return Err(error(
            "`volumesFrom` and `systemControls` are not read by ferry's `file(…)`".to_owned(),
        ));
    }
    let mut definition = ContainerDefinition::builder()
        .set_name(string(c, "name"))
        .set_image(string(c, "image"))
        .set_cpu(int(c, "cpu"))
        .set_memory(int(c, "memory"))
        .set_memory_reservation(int(c, "memoryReservation"))
        .set_essential(c.get("essential").and_then(Value::as_bool))
        .set_command(strings(c, "command"))
        .set_entry_point(strings(c, "entryPoint"))
        .set_stop_timeout(int(c, "stopTimeout"))
        .set_start_timeout(int(c, "startTimeout"))
        .set_working_directory(string(c, "workingDirectory"))
        .set_user(string(c, "user"))
        .set_docker_labels(c.get("dockerLabels").and_then(Value::as_object).map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        }))
        .build();
    definition.environment = c.get("environment").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .map(|p| {
                KeyValuePair::builder()
                    .set_name(string(p, "name"))
                    .set_value(string(p, "value"))
                    .build()
            })
            .collect()
    });
    definition.secrets = c.get("secrets").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|s| {
                Secret::builder()
                    .set_name(string(s, "name"))
                    .set_value_from(string(s, "valueFrom"))
                    .build()
                    .ok()
            })
            .collect()
    });
    definition.port_mappings = c.get("portMappings").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .map(|m| {
                PortMapping::builder()
                    .set_container_port(int(m, "containerPort"))
                    .set_host_port(int(m, "hostPort"))
                    .set_protocol(
                        string(m, "protocol").map(|p| TransportProtocol::from(p.as_str())),
                    )
                    .set_name(string(m, "name"))
                    .build()
            })
            .collect()
    });
    if let Some(check) = c.get("healthCheck") {
        definition.health_check = HealthCheck::builder()
            .set_command(strings(check, "command"))
            .set_interval(int(check, "interval"))
            .set_timeout(int(check, "timeout"))
            .set_retries(int(check, "retries"))
            .set_start_period(int(check, "startPeriod"))
            .build()
            .ok();
    }
    if let Some(log) = c.get("logConfiguration") {
        definition.log_configuration = LogConfiguration::builder()
            .set_log_driver(string(log, "logDriver").map(|d| LogDriver::from(d.as_str())))
            .set_options(log.get("options").and_then(Value::as_object).map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            }))
            .build()
            .ok();
    }
    definition.mount_points = c.get("mountPoints").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .map(|m| {
                MountPoint::builder()
                    .set_source_volume(string(m, "sourceVolume"))
                    .set_container_path(string(m, "containerPath"))
                    .set_read_only(m.get("readOnly").and_then(Value::as_bool))
                    .build()
            })
            .collect()
    });
    definition.ulimits = c.get("ulimits").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|u| {
                Ulimit::builder()
                    .set_name(string(u, "name").map(|n| UlimitName::from(n.as_str())))
                    .set_soft_limit(int(u, "softLimit"))
                    .set_hard_limit(int(u, "hardLimit"))
                    .build()
                    .ok()
            })
            .collect()
    });
    definition.depends_on = c.get("dependsOn").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|d| {
                ContainerDependency::builder()
                    .set_container_name(string(d, "containerName"))
                    .set_condition(
                        string(d, "condition").map(|x| ContainerCondition::from(x.as_str())),
                    )
                    .build()
                    .ok()
            })
            .collect()
    });
    Ok(definition)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_register_input_and_a_described_revision() {
        let input = r#"{"family":"web","cpu":"256","containerDefinitions":[{"name":"app","image":"x:1","environment":[{"name":"E","value":""}],"portMappings":[{"containerPort":80}]}]}"#;
        let revision = revision_from_json(input).expect("reads");
        assert_eq!(revision.family, "web");
        assert_eq!(revision.cpu.as_deref(), Some("256"));
        let env = revision.container_definitions[0].environment();
        assert_eq!((env[0].name(), env[0].value()), (Some("E"), Some("")));
        let described = format!(
            r#"{{"taskDefinition": {}, "tags": [{{"key":"t","value":"v"}}]}}"#,
            input.replace(r#""family":"web""#, r#""family":"web","revision":3,"status":"ACTIVE""#)
        );
        let revision = revision_from_json(&described).expect("reads a described one");
        assert_eq!(revision.tags.len(), 1);
    }

    #[test]
    fn refuses_what_it_cannot_keep() {
        let error = revision_from_json(r#"{"family":"web","ipcMode":"host","containerDefinitions":[{"name":"a","image":"x"}]}"#).expect_err("ipcMode");
        assert!(error.0.contains("`ipcMode`"), "{}", error.0);
        let error = revision_from_json(r#"{"family":"web","containerDefinitions":[{"name":"a","image":"x","firelensConfiguration":{}}]}"#).expect_err("firelens");
        assert!(error.0.contains("container 1: `firelensConfiguration`"), "{}", error.0);
        assert!(revision_from_json("{").is_err());
        assert!(revision_from_json(r#"{"containerDefinitions":[]}"#).is_err());
    }
}
