//! The task-definition calls: DescribeTaskDefinition (with tags), RegisterTaskDefinition
//! of a `RevisionInput`, ListTaskDefinitions of a family (ACTIVE, newest first, every
//! page) and DeregisterTaskDefinition.

use aws_sdk_ecs::types::{Tag, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus};

use super::Ecs;
use crate::aws::AwsError;
use crate::aws::RevisionInput;
use crate::aws::aws_error::failed;

impl Ecs {
    /// A revision (by `family`, `family:revision` or ARN) with its tags.
    pub async fn task_definition(
        &self,
        reference: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>), AwsError> {
        self.count();
        let answer = self
            .guarded(
                self.client
                    .describe_task_definition()
                    .task_definition(reference)
                    .include(TaskDefinitionField::Tags)
                    .send(),
            )
            .await?
            .map_err(|e| {
                failed(
                    self.client.config().region(),
                    "DescribeTaskDefinition",
                    format!("task definition `{reference}`"),
                    &e,
                )
            })?;
        let td = answer.task_definition().cloned().ok_or_else(|| AwsError {
            operation: "DescribeTaskDefinition",
            resource: format!("task definition `{reference}`"),
            code: "EmptyAnswer".to_owned(),
            message: "the answer held no task definition".to_owned(),
        })?;
        Ok((td, answer.tags().to_vec()))
    }

    /// Registers a revision; returns its ARN.
    pub async fn register(&self, input: &RevisionInput) -> Result<String, AwsError> {
        self.count();
        let answer = self
            .guarded(
                self.client
                    .register_task_definition()
                    .family(&input.family)
                    .set_task_role_arn(input.task_role_arn.clone())
                    .set_execution_role_arn(input.execution_role_arn.clone())
                    .set_network_mode(input.network_mode.clone())
                    .set_container_definitions(Some(input.container_definitions.clone()))
                    .set_volumes(Some(input.volumes.clone()).filter(|v| !v.is_empty()))
                    .set_placement_constraints(
                        Some(input.placement_constraints.clone()).filter(|v| !v.is_empty()),
                    )
                    .set_requires_compatibilities(
                        Some(input.requires_compatibilities.clone()).filter(|v| !v.is_empty()),
                    )
                    .set_cpu(input.cpu.clone())
                    .set_memory(input.memory.clone())
                    .set_tags(Some(input.tags.clone()).filter(|v| !v.is_empty()))
                    .set_pid_mode(input.pid_mode.clone())
                    .set_ipc_mode(input.ipc_mode.clone())
                    .set_proxy_configuration(input.proxy_configuration.clone())
                    .set_ephemeral_storage(input.ephemeral_storage.clone())
                    .set_runtime_platform(input.runtime_platform.clone())
                    .set_enable_fault_injection(input.enable_fault_injection)
                    .send(),
            )
            .await?
            .map_err(|e| {
                failed(
                    self.client.config().region(),
                    "RegisterTaskDefinition",
                    format!("family `{}`", input.family),
                    &e,
                )
            })?;
        Ok(answer
            .task_definition()
            .and_then(|td| td.task_definition_arn())
            .unwrap_or_default()
            .to_owned())
    }

    /// ACTIVE revisions of a family, newest first, every page.
    pub async fn revisions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.count();
            let page = self
                .guarded(
                    self.client
                        .list_task_definitions()
                        .family_prefix(family)
                        .status(TaskDefinitionStatus::Active)
                        .sort(aws_sdk_ecs::types::SortOrder::Desc)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await?
                .map_err(|e| {
                    failed(
                        self.client.config().region(),
                        "ListTaskDefinitions",
                        format!("family `{family}`"),
                        &e,
                    )
                })?;
            arns.extend(page.task_definition_arns().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(arns);
            }
        }
    }

    pub async fn deregister(&self, arn: &str) -> Result<(), AwsError> {
        self.count();
        self.guarded(self.client.deregister_task_definition().task_definition(arn).send())
            .await?
            .map_err(|e| {
            failed(
                self.client.config().region(),
                "DeregisterTaskDefinition",
                format!("revision `{arn}`"),
                &e,
            )
        })?;
        Ok(())
    }
}
