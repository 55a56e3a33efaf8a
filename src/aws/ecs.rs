//! The ECS calls of the run engine, with plain views of what it reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    DesiredStatus, LaunchType, LoadBalancer, NetworkConfiguration, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus,
};

use super::AwsError;
use crate::engine::RevisionInput;
use crate::eval::UpdateStep;

/// A deployment as DescribeServices shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeploymentView {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub rollout_state: Option<String>,
    pub reason: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
}

/// A service as DescribeServices shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServiceView {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub task_definition: String,
    pub deployments: Vec<DeploymentView>,
    /// `(id, message)`, newest first.
    pub events: Vec<(String, String)>,
    pub current_service_deployment: Option<String>,
    pub min_healthy: Option<i32>,
    pub max: Option<i32>,
    pub circuit_breaker: Option<(bool, bool)>,
    pub grace_s: Option<i32>,
}

impl ServiceView {
    #[must_use]
    pub fn primary(&self) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }

    #[must_use]
    pub fn deployment(&self, id: &str) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.id == id)
    }

    fn from_sdk(service: &aws_sdk_ecs::types::Service) -> Self {
        let config = service.deployment_configuration();
        Self {
            arn: service.service_arn().unwrap_or_default().to_owned(),
            name: service.service_name().unwrap_or_default().to_owned(),
            status: service.status().unwrap_or_default().to_owned(),
            desired: service.desired_count(),
            running: service.running_count(),
            pending: service.pending_count(),
            task_definition: service.task_definition().unwrap_or_default().to_owned(),
            deployments: service
                .deployments()
                .iter()
                .map(|d| DeploymentView {
                    id: d.id().unwrap_or_default().to_owned(),
                    status: d.status().unwrap_or_default().to_owned(),
                    task_definition: d.task_definition().unwrap_or_default().to_owned(),
                    rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
                    reason: d.rollout_state_reason().unwrap_or_default().to_owned(),
                    desired: d.desired_count(),
                    running: d.running_count(),
                    pending: d.pending_count(),
                    failed: d.failed_tasks(),
                })
                .collect(),
            events: service
                .events()
                .iter()
                .map(|e| {
                    (
                        e.id().unwrap_or_default().to_owned(),
                        e.message().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            current_service_deployment: service.current_service_deployment().map(str::to_owned),
            min_healthy: config.and_then(DeploymentConfiguration::minimum_healthy_percent),
            max: config.and_then(DeploymentConfiguration::maximum_percent),
            circuit_breaker: config
                .and_then(DeploymentConfiguration::deployment_circuit_breaker)
                .map(|b| (b.enable(), b.rollback())),
            grace_s: service.health_check_grace_period_seconds(),
        }
    }
}

/// A task of a deployment, with what the verdict needs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TaskView {
    pub arn: String,
    pub started_by: String,
    pub last_status: String,
    pub health: String,
    /// `(container, image, digest)`.
    pub containers: Vec<(String, String, Option<String>)>,
    /// `host:port` where its containers' published ports answer (`networkBindings`; a
    /// bind address of `0.0.0.0` is given as `127.0.0.1`).
    pub endpoints: Vec<String>,
    /// The task's private address (`awsvpc`), when it has one.
    pub private_ip: Option<String>,
}

/// A stopped task: why it stopped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoppedTask {
    pub arn: String,
    pub stop_code: String,
    pub reason: String,
    /// `(container, exit code, reason)`.
    pub containers: Vec<(String, Option<i32>, Option<String>)>,
}

/// The service of a Create/UpdateService answer, which always holds one.
fn service_of(
    service: Option<&aws_sdk_ecs::types::Service>,
    operation: &'static str,
    resource: String,
) -> Result<ServiceView, AwsError> {
    service.map(ServiceView::from_sdk).ok_or_else(|| AwsError {
        operation,
        resource,
        code: "EmptyAnswer".to_owned(),
        message: "the answer held no service".to_owned(),
    })
}

/// The ECS client of a run, counting its calls.
#[derive(Clone, Debug)]
pub struct Ecs {
    client: aws_sdk_ecs::Client,
    calls: Arc<AtomicU64>,
}

impl Ecs {
    #[must_use]
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self { client, calls: Arc::new(AtomicU64::new(0)) }
    }

    /// API calls made so far.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The service, or `None` when it (or its cluster) is missing or INACTIVE.
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceView>, AwsError> {
        use aws_sdk_ecs::operation::describe_services::DescribeServicesError;
        self.count();
        let answer =
            match self.client.describe_services().cluster(cluster).services(service).send().await {
                Ok(answer) => answer,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(DescribeServicesError::is_cluster_not_found_exception) =>
                {
                    return Ok(None);
                }
                Err(error) => {
                    return Err(AwsError::from_sdk(
                        "DescribeServices",
                        format!("service `{service}` of cluster `{cluster}`"),
                        &error,
                    ));
                }
            };
        Ok(answer
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
            .map(ServiceView::from_sdk))
    }

    /// A revision (by `family`, `family:revision` or ARN) with its tags.
    pub async fn task_definition(
        &self,
        reference: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>), AwsError> {
        self.count();
        let answer = self
            .client
            .describe_task_definition()
            .task_definition(reference)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
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
            .client
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
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
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

    /// Creates the cluster when it does not exist (CreateCluster is idempotent).
    pub async fn ensure_cluster(&self, cluster: &str) -> Result<(), AwsError> {
        self.count();
        self.client
            .create_cluster()
            .cluster_name(cluster)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateCluster", format!("cluster `{cluster}`"), &e))?;
        Ok(())
    }

    fn deployment_configuration(step: &UpdateStep) -> Option<DeploymentConfiguration> {
        if step.min_healthy.is_none() && step.max.is_none() && step.circuit_breaker.is_none() {
            return None;
        }
        let breaker = step.circuit_breaker.as_deref().map(|mode| {
            DeploymentCircuitBreaker::builder()
                .enable(mode != "off")
                .rollback(mode == "rollback")
                .build()
        });
        Some(
            DeploymentConfiguration::builder()
                .set_minimum_healthy_percent(step.min_healthy.and_then(|n| i32::try_from(n).ok()))
                .set_maximum_percent(step.max.and_then(|n| i32::try_from(n).ok()))
                .set_deployment_circuit_breaker(breaker)
                .build(),
        )
    }

    fn network(step: &UpdateStep) -> Option<NetworkConfiguration> {
        let network = step.network.as_ref()?;
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(network.subnets.clone()))
            .set_security_groups(Some(network.security_groups.clone()).filter(|g| !g.is_empty()))
            .assign_public_ip(if network.public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .ok()?;
        Some(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    }

    fn load_balancers(step: &UpdateStep) -> Option<Vec<LoadBalancer>> {
        (!step.load_balancers.is_empty()).then(|| {
            step.load_balancers
                .iter()
                .map(|lb| {
                    LoadBalancer::builder()
                        .target_group_arn(&lb.target_group)
                        .container_name(&lb.container)
                        .container_port(i32::try_from(lb.port).unwrap_or_default())
                        .build()
                })
                .collect()
        })
    }

    /// CreateService with the step's settings; returns the service as created.
    pub async fn create_service(
        &self,
        cluster: &str,
        step: &UpdateStep,
        task_definition: &str,
    ) -> Result<ServiceView, AwsError> {
        self.count();
        let answer = self
            .client
            .create_service()
            .cluster(cluster)
            .service_name(&step.service)
            .task_definition(task_definition)
            .desired_count(step.desired.and_then(|n| i32::try_from(n).ok()).unwrap_or(1))
            .set_deployment_configuration(Self::deployment_configuration(step))
            .set_health_check_grace_period_seconds(step.grace_s.and_then(|n| i32::try_from(n).ok()))
            .set_launch_type(step.launch_type.as_deref().map(LaunchType::from))
            .set_platform_version(step.platform_version.clone())
            .set_network_configuration(Self::network(step))
            .set_load_balancers(Self::load_balancers(step))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "CreateService",
                    format!("service `{}` of cluster `{cluster}`", step.service),
                    &e,
                )
            })?;
        service_of(answer.service(), "CreateService", format!("service `{}`", step.service))
    }

    /// One UpdateService with the revision and every deployment setting of the step.
    pub async fn update_service(
        &self,
        cluster: &str,
        step: &UpdateStep,
        task_definition: &str,
    ) -> Result<ServiceView, AwsError> {
        self.count();
        let answer = self
            .client
            .update_service()
            .cluster(cluster)
            .service(&step.service)
            .task_definition(task_definition)
            .set_desired_count(step.desired.and_then(|n| i32::try_from(n).ok()))
            .set_deployment_configuration(Self::deployment_configuration(step))
            .set_health_check_grace_period_seconds(step.grace_s.and_then(|n| i32::try_from(n).ok()))
            .set_force_new_deployment(step.force.then_some(true))
            .set_platform_version(step.platform_version.clone())
            .set_network_configuration(Self::network(step))
            .set_load_balancers(Self::load_balancers(step))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "UpdateService",
                    format!("service `{}` of cluster `{cluster}`", step.service),
                    &e,
                )
            })?;
        service_of(answer.service(), "UpdateService", format!("service `{}`", step.service))
    }

    /// UpdateService back to `task_definition` (a rollback without the deployment ARN).
    pub async fn redeploy(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> Result<ServiceView, AwsError> {
        self.count();
        let answer = self
            .client
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "UpdateService",
                    format!("service `{service}` of cluster `{cluster}`"),
                    &e,
                )
            })?;
        service_of(answer.service(), "UpdateService", format!("service `{service}`"))
    }

    /// StopServiceDeployment with ROLLBACK.
    pub async fn roll_back(&self, service_deployment_arn: &str) -> Result<(), AwsError> {
        self.count();
        self.client
            .stop_service_deployment()
            .service_deployment_arn(service_deployment_arn)
            .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "StopServiceDeployment",
                    format!("service deployment `{service_deployment_arn}`"),
                    &e,
                )
            })?;
        Ok(())
    }

    /// Task ARNs of a service (or of a deployment, by `startedBy`), every page.
    async fn task_arns(
        &self,
        cluster: &str,
        service: &str,
        started_by: Option<&str>,
        stopped: bool,
    ) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.count();
            let mut call = self.client.list_tasks().cluster(cluster).set_next_token(token.clone());
            call = match started_by {
                Some(id) => call.started_by(id),
                None => call.service_name(service),
            };
            if stopped {
                call = call.desired_status(DesiredStatus::Stopped);
            }
            let page = call.send().await.map_err(|e| {
                AwsError::from_sdk(
                    "ListTasks",
                    format!("service `{service}` of cluster `{cluster}`"),
                    &e,
                )
            })?;
            arns.extend(page.task_arns().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn describe(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<aws_sdk_ecs::types::Task>, AwsError> {
        let mut tasks = Vec::new();
        for chunk in arns.chunks(100) {
            self.count();
            let answer = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "DescribeTasks",
                        format!("{} tasks of cluster `{cluster}`", chunk.len()),
                        &e,
                    )
                })?;
            tasks.extend(answer.tasks().iter().cloned());
        }
        Ok(tasks)
    }

    /// The running tasks a deployment started.
    pub async fn deployment_tasks(
        &self,
        cluster: &str,
        service: &str,
        deployment_id: &str,
    ) -> Result<Vec<TaskView>, AwsError> {
        let arns = self.task_arns(cluster, service, Some(deployment_id), false).await?;
        Ok(self
            .describe(cluster, &arns)
            .await?
            .iter()
            .map(|t| TaskView {
                arn: t.task_arn().unwrap_or_default().to_owned(),
                started_by: t.started_by().unwrap_or_default().to_owned(),
                last_status: t.last_status().unwrap_or_default().to_owned(),
                health: t.health_status().map(|h| h.as_str().to_owned()).unwrap_or_default(),
                containers: t
                    .containers()
                    .iter()
                    .map(|c| {
                        (
                            c.name().unwrap_or_default().to_owned(),
                            c.image().unwrap_or_default().to_owned(),
                            c.image_digest().map(str::to_owned),
                        )
                    })
                    .collect(),
                endpoints: t
                    .containers()
                    .iter()
                    .flat_map(aws_sdk_ecs::types::Container::network_bindings)
                    .filter_map(|b| {
                        let ip = match b.bind_ip().unwrap_or("127.0.0.1") {
                            "0.0.0.0" | "" => "127.0.0.1",
                            ip => ip,
                        };
                        Some(format!("{ip}:{}", b.host_port()?))
                    })
                    .collect(),
                private_ip: t
                    .containers()
                    .iter()
                    .flat_map(aws_sdk_ecs::types::Container::network_interfaces)
                    .find_map(|i| i.private_ipv4_address().map(str::to_owned)),
            })
            .collect())
    }

    /// The stopped tasks of a service that a deployment started (`startedBy` is matched
    /// here: ListTasks takes it only as its sole filter).
    pub async fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        deployment_id: &str,
    ) -> Result<Vec<StoppedTask>, AwsError> {
        let arns = self.task_arns(cluster, service, None, true).await?;
        Ok(self
            .describe(cluster, &arns)
            .await?
            .iter()
            .filter(|t| t.started_by() == Some(deployment_id))
            .map(|t| StoppedTask {
                arn: t.task_arn().unwrap_or_default().to_owned(),
                stop_code: t.stop_code().map(|c| c.as_str().to_owned()).unwrap_or_default(),
                reason: t.stopped_reason().unwrap_or_default().to_owned(),
                containers: t
                    .containers()
                    .iter()
                    .map(|c| {
                        (
                            c.name().unwrap_or_default().to_owned(),
                            c.exit_code(),
                            c.reason().map(str::to_owned),
                        )
                    })
                    .collect(),
            })
            .collect())
    }

    /// ACTIVE revisions of a family, newest first, every page.
    pub async fn revisions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.count();
            let page = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .sort(aws_sdk_ecs::types::SortOrder::Desc)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListTaskDefinitions", format!("family `{family}`"), &e)
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
        self.client.deregister_task_definition().task_definition(arn).send().await.map_err(
            |e| AwsError::from_sdk("DeregisterTaskDefinition", format!("revision `{arn}`"), &e),
        )?;
        Ok(())
    }
}
