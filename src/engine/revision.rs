//! The next task-definition revision: the current one with exactly the Deployfile's
//! changes, everything else carried over (DESIGN "correct" rule 5). Pure: it works on the
//! SDK's data types and does no I/O.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, HealthCheck, KeyValuePair, NetworkMode,
    PortMapping, RuntimePlatform, Secret, Tag, TaskDefinition, TransportProtocol,
};

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;

use crate::eval::{ContainerChange, RegisterStep};

/// The members of `RegisterTaskDefinition`, as the next revision will be registered.
/// The read-only members of a described revision (`taskDefinitionArn`, `revision`,
/// `status`, `requiresAttributes`, `compatibilities`, `registeredAt`, `registeredBy`,
/// `deregisteredAt`, `deleteRequestedAt`) have no place here; every other member is kept
/// but `inferenceAccelerators`, which AWS retired (the SDK marks it "no longer available").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RevisionInput {
    pub family: String,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub network_mode: Option<NetworkMode>,
    pub container_definitions: Vec<ContainerDefinition>,
    pub volumes: Vec<aws_sdk_ecs::types::Volume>,
    pub placement_constraints: Vec<aws_sdk_ecs::types::TaskDefinitionPlacementConstraint>,
    pub requires_compatibilities: Vec<Compatibility>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub tags: Vec<Tag>,
    pub pid_mode: Option<aws_sdk_ecs::types::PidMode>,
    pub ipc_mode: Option<aws_sdk_ecs::types::IpcMode>,
    pub proxy_configuration: Option<aws_sdk_ecs::types::ProxyConfiguration>,
    pub ephemeral_storage: Option<aws_sdk_ecs::types::EphemeralStorage>,
    pub runtime_platform: Option<RuntimePlatform>,
    pub enable_fault_injection: Option<bool>,
}

impl RevisionInput {
    /// A described revision (and its tags) as a register input: a lossless copy.
    #[must_use]
    pub fn from_described(td: &TaskDefinition, tags: &[Tag]) -> Self {
        Self {
            family: td.family().unwrap_or_default().to_owned(),
            task_role_arn: td.task_role_arn().map(str::to_owned),
            execution_role_arn: td.execution_role_arn().map(str::to_owned),
            network_mode: td.network_mode().cloned(),
            container_definitions: td.container_definitions().to_vec(),
            volumes: td.volumes().to_vec(),
            placement_constraints: td.placement_constraints().to_vec(),
            requires_compatibilities: td.requires_compatibilities().to_vec(),
            cpu: td.cpu().map(str::to_owned),
            memory: td.memory().map(str::to_owned),
            tags: tags.to_vec(),
            pid_mode: td.pid_mode().cloned(),
            ipc_mode: td.ipc_mode().cloned(),
            proxy_configuration: td.proxy_configuration().cloned(),
            ephemeral_storage: td.ephemeral_storage().cloned(),
            runtime_platform: td.runtime_platform().cloned(),
            enable_fault_injection: td.enable_fault_injection(),
        }
    }
}

impl RevisionInput {
    /// As the SDK's register input (what `aws::Ecs::register` sends and the JSON codec writes).
    #[must_use]
    pub fn to_register_input(&self) -> RegisterTaskDefinitionInput {
        RegisterTaskDefinitionInput::builder()
            .family(&self.family)
            .set_task_role_arn(self.task_role_arn.clone())
            .set_execution_role_arn(self.execution_role_arn.clone())
            .set_network_mode(self.network_mode.clone())
            .set_container_definitions(Some(self.container_definitions.clone()))
            .set_volumes(some(self.volumes.clone()))
            .set_placement_constraints(some(self.placement_constraints.clone()))
            .set_requires_compatibilities(some(self.requires_compatibilities.clone()))
            .set_cpu(self.cpu.clone())
            .set_memory(self.memory.clone())
            .set_tags(some(self.tags.clone()))
            .set_pid_mode(self.pid_mode.clone())
            .set_ipc_mode(self.ipc_mode.clone())
            .set_proxy_configuration(self.proxy_configuration.clone())
            .set_ephemeral_storage(self.ephemeral_storage.clone())
            .set_runtime_platform(self.runtime_platform.clone())
            .set_enable_fault_injection(self.enable_fault_injection)
            .build()
            // The builder fails only for a missing family or containers, both set here.
            .expect("a register input with its family and containers")
    }

    /// From the SDK's register input (what the JSON codec reads).
    #[must_use]
    pub fn from_register_input(input: &RegisterTaskDefinitionInput) -> Self {
        Self {
            family: input.family().unwrap_or_default().to_owned(),
            task_role_arn: input.task_role_arn().map(str::to_owned),
            execution_role_arn: input.execution_role_arn().map(str::to_owned),
            network_mode: input.network_mode().cloned(),
            container_definitions: input.container_definitions().to_vec(),
            volumes: input.volumes().to_vec(),
            placement_constraints: input.placement_constraints().to_vec(),
            requires_compatibilities: input.requires_compatibilities().to_vec(),
            cpu: input.cpu().map(str::to_owned),
            memory: input.memory().map(str::to_owned),
            tags: input.tags().to_vec(),
            pid_mode: input.pid_mode().cloned(),
            ipc_mode: input.ipc_mode().cloned(),
            proxy_configuration: input.proxy_configuration().cloned(),
            ephemeral_storage: input.ephemeral_storage().cloned(),
            runtime_platform: input.runtime_platform().cloned(),
            enable_fault_injection: input.enable_fault_injection(),
        }
    }
}

/// `Some(items)`, or `None` for an empty list (the member is left out).
fn some<T>(items: Vec<T>) -> Option<Vec<T>> {
    Some(items).filter(|v| !v.is_empty())
}

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
                        "the task definition has no container `{}` (it has {}); a new container needs `image`",
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
