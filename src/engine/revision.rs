//! The next task-definition revision: the current one with exactly the Deployfile's
//! changes, everything else carried over (docs/correctness.md rule 5). Pure: it works on the
//! SDK's data types and does no I/O.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, HealthCheck, KeyValuePair, NetworkMode,
    PortMapping, RuntimePlatform, Secret, Tag, TransportProtocol,
};

use crate::aws::RevisionInput;
use crate::eval::{ContainerChange, RegisterStep};

/// Why the next revision cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionError(pub String);

/// Applies the step's changes to `base` (the current revision, or none for a new family).
/// `images` maps each container's `image` value, already resolved (a pushed image's
/// `repository@sha256:…`, or the reference string).
pub fn next_revision(
    base: Option<RevisionInput>,
    step: &RegisterStep,
    images: &BTreeMap<String, String>,
) -> Result<RevisionInput, RevisionError> {
    let mut input = base.unwrap_or_default();
    if let Some(family) = &step.family {
        input.family.clone_from(family);
    }
    if input.family.is_empty() {
        return Err(RevisionError(format!("`register {}` has no family to register", step.name)));
    }
    set(&mut input.cpu, step.cpu.clone());
    set(&mut input.memory, step.memory.clone());
    set(&mut input.task_role_arn, step.task_role.clone());
    set(&mut input.execution_role_arn, step.execution_role.clone());
    if let Some(mode) = &step.network_mode {
        input.network_mode = Some(NetworkMode::from(mode.as_str()));
    }
    if !step.requires.is_empty() {
        input.requires_compatibilities =
            step.requires.iter().map(|r| Compatibility::from(r.as_str())).collect();
    }
    if let Some(architecture) = &step.cpu_architecture {
        let current =
            input.runtime_platform.clone().unwrap_or_else(|| RuntimePlatform::builder().build());
        input.runtime_platform = Some(
            RuntimePlatform::builder()
                .set_operating_system_family(current.operating_system_family().cloned())
                .cpu_architecture(CpuArchitecture::from(architecture.as_str()))
                .build(),
        );
    }
    for (key, value) in &step.tags {
        match input.tags.iter_mut().find(|t| t.key() == Some(key.as_str())) {
            Some(tag) => *tag = Tag::builder().key(key).value(value).build(),
            None => input.tags.push(Tag::builder().key(key).value(value).build()),
        }
    }
    for change in &step.containers {
        let image = images.get(&change.name).cloned();
        if let Some(index) =
            input.container_definitions.iter().position(|c| c.name() == Some(change.name.as_str()))
        {
            let current = input.container_definitions[index].clone();
            input.container_definitions[index] = apply(current, change, image);
        } else {
            let Some(image) = image else {
                let known: Vec<&str> = input
                    .container_definitions
                    .iter()
                    .filter_map(ContainerDefinition::name)
                    .collect();
                return Err(RevisionError(if known.is_empty() {
                    format!("container `{}` has no `image`", change.name)
                } else {
                    format!(
                        "the task definition has no container `{}` (it has {}); a new container \
                         needs `image`",
                        change.name,
                        known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    )
                }));
            };
            let fresh = ContainerDefinition::builder().name(&change.name).essential(true).build();
            input.container_definitions.push(apply(fresh, change, Some(image)));
        }
    }
    if input.container_definitions.is_empty() {
        return Err(RevisionError(format!("`register {}` has no container", step.name)));
    }
    Ok(input)
}

fn set(slot: &mut Option<String>, value: Option<String>) {
    if value.is_some() {
        *slot = value;
    }
}

/// One container with the step's changes; every member not named stays as it was (the
/// SDK's members are public, so nothing has to be copied by hand and none is forgotten).
fn apply(
    current: ContainerDefinition,
    change: &ContainerChange,
    image: Option<String>,
) -> ContainerDefinition {
    let mut next = current;
    let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    if image.is_some() {
        next.image = image;
    }
    if !change.environment.is_empty() {
        let environment = next.environment.get_or_insert_with(Vec::new);
        for (name, value) in &change.environment {
            let pair = KeyValuePair::builder().name(name).value(value).build();
            match environment.iter_mut().find(|p| p.name() == Some(name.as_str())) {
                Some(existing) => *existing = pair,
                None => environment.push(pair),
            }
        }
    }
    if !change.secrets.is_empty() {
        let secrets = next.secrets.get_or_insert_with(Vec::new);
        for (name, value_from) in &change.secrets {
            let Ok(secret) = Secret::builder().name(name).value_from(value_from).build() else {
                continue;
            };
            match secrets.iter_mut().find(|s| s.name() == name) {
                Some(existing) => *existing = secret,
                None => secrets.push(secret),
            }
        }
    }
    if let Some(command) = &change.command {
        next.command = Some(command.clone());
    }
    if let Some(entry_point) = &change.entry_point {
        next.entry_point = Some(entry_point.clone());
    }
    if let Some(cpu) = change.cpu {
        next.cpu = to_i32(cpu);
    }
    if let Some(memory) = change.memory {
        next.memory = Some(to_i32(memory));
    }
    if let Some(reservation) = change.memory_reservation {
        next.memory_reservation = Some(to_i32(reservation));
    }
    if let Some(essential) = change.essential {
        next.essential = Some(essential);
    }
    if let Some(ports) = &change.ports {
        let current = next.port_mappings.clone().unwrap_or_default();
        let mappings = ports
            .iter()
            .map(|port| {
                let port = to_i32(*port);
                current.iter().find(|m| m.container_port() == Some(port)).cloned().unwrap_or_else(
                    || {
                        PortMapping::builder()
                            .container_port(port)
                            .protocol(TransportProtocol::Tcp)
                            .build()
                    },
                )
            })
            .collect();
        next.port_mappings = Some(mappings);
    }
    if let Some(seconds) = change.stop_timeout_s {
        next.stop_timeout = Some(to_i32(seconds));
    }
    if let Some(check) = &change.health_check {
        let optional = |v: Option<i64>| v.map(to_i32);
        if let Ok(health) = HealthCheck::builder()
            .set_command(Some(check.command.clone()))
            .set_interval(optional(check.interval_s))
            .set_timeout(optional(check.timeout_s))
            .set_retries(optional(check.retries))
            .set_start_period(optional(check.start_period_s))
            .build()
        {
            next.health_check = Some(health);
        }
    }
    next
}
