//! The members of a RegisterTaskDefinition, as ferry sends them and reads them back: the
//! one data type of a revision between the engine (which makes the next one) and the ECS
//! calls (which register and describe it). Lossless both ways.

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, NetworkMode, RuntimePlatform, Tag, TaskDefinition,
};

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
