//! The ECS calls of the run engine, with plain views of what it reads.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    DesiredStatus, LaunchType, LoadBalancer, Tag, TaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus,
};

use super::AwsError;
use super::RevisionInput;
use super::views::{ServiceDeploymentView, ServiceRequest, ServiceView, StoppedTask, TaskView};

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
    /// Set by Ctrl-C or SIGTERM.
    interrupted: Option<Arc<AtomicBool>>,
    /// No call waits past this (shared by clones).
    deadline: Arc<Mutex<Option<Instant>>>,
}

impl Ecs {
    #[must_use]
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self {
            client,
            calls: Arc::new(AtomicU64::new(0)),
            interrupted: None,
            deadline: Arc::new(Mutex::new(None)),
        }
    }

    /// API calls made so far.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Ctrl-C (and SIGTERM) cut calls short: each call after `flag` is set, and each one
    /// in flight, ends with the `Interrupted` error.
    #[must_use]
    pub fn interruptible(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupted = Some(flag);
        self
    }

    /// A client for the last look after Ctrl-C: not cut by the interruption, but every
    /// call bounded by `within` from now.
    #[must_use]
    pub fn for_last_look(&self, within: Duration) -> Self {
        Self {
            client: self.client.clone(),
            calls: Arc::clone(&self.calls),
            interrupted: None,
            deadline: Arc::new(Mutex::new(Some(Instant::now() + within))),
        }
    }

    /// Calls that have not answered by `deadline` end with a `Timeout` error (`verify`'s
    /// time left bounds every call it makes); `None` lifts the bound.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        *self.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = deadline;
    }

    /// Runs one call, racing it with Ctrl-C and the deadline: it is dropped (the SDK
    /// cancels it) when either comes first.
    async fn guarded<F: Future>(&self, call: F) -> Result<F::Output, AwsError> {
        let cut = |code: &str, message: &str| AwsError {
            operation: "an ECS call",
            resource: "the endpoint".to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        };
        let interrupted = || self.interrupted.as_ref().is_some_and(|f| f.load(Ordering::Relaxed));
        if interrupted() {
            return Err(cut("Interrupted", "interrupted before the call"));
        }
        let deadline = *self.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // On the heap: the SDK's futures are large, and callers' futures hold this one.
        let mut call = Box::pin(call);
        loop {
            tokio::select! {
                answer = &mut call => return Ok(answer),
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    if interrupted() {
                        return Err(cut("Interrupted", "interrupted while waiting for the answer"));
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(cut("Timeout", "no answer within the time the step has left"));
                    }
                }
            }
        }
    }

    /// The service, or `None` when it (or its cluster) is missing or INACTIVE.
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceView>, AwsError> {
        use aws_sdk_ecs::operation::describe_services::DescribeServicesError;
        self.count();
        let answer = match self
            .guarded(self.client.describe_services().cluster(cluster).services(service).send())
            .await?
        {
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
            .guarded(
                self.client
                    .describe_task_definition()
                    .task_definition(reference)
                    .include(TaskDefinitionField::Tags)
                    .send(),
            )
            .await?
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
        self.guarded(self.client.create_cluster().cluster_name(cluster).send())
            .await?
            .map_err(|e| AwsError::from_sdk("CreateCluster", format!("cluster `{cluster}`"), &e))?;
        Ok(())
    }

    fn load_balancers(request: &ServiceRequest) -> Option<Vec<LoadBalancer>> {
        request.load_balancers.as_ref().map(|lbs| {
            lbs.iter()
                .map(|lb| {
                    LoadBalancer::builder()
                        .target_group_arn(&lb.target_group)
                        .container_name(&lb.container)
                        .container_port(lb.port)
                        .build()
                })
                .collect()
        })
    }

    /// CreateService as `request` says (with its idempotency token); returns the service.
    pub async fn create_service(
        &self,
        cluster: &str,
        request: &ServiceRequest,
    ) -> Result<ServiceView, AwsError> {
        self.count();
        let answer = self
            .guarded(
                self.client
                    .create_service()
                    .cluster(cluster)
                    .service_name(&request.service)
                    .set_task_definition(request.task_definition.clone())
                    .desired_count(request.desired.unwrap_or(1))
                    .set_deployment_configuration(
                        request.deployment.map(super::views::DeploymentSettings::to_sdk),
                    )
                    .set_health_check_grace_period_seconds(request.grace_s)
                    .set_launch_type(request.launch_type.as_deref().map(LaunchType::from))
                    .set_platform_version(request.platform_version.clone())
                    .set_network_configuration(
                        request.network.as_ref().and_then(super::views::NetworkView::to_sdk),
                    )
                    .set_load_balancers(Self::load_balancers(request))
                    .set_client_token(request.client_token.clone())
                    .send(),
            )
            .await?
            .map_err(|e| {
                AwsError::from_sdk(
                    "CreateService",
                    format!("service `{}` of cluster `{cluster}`", request.service),
                    &e,
                )
            })?;
        service_of(answer.service(), "CreateService", format!("service `{}`", request.service))
    }

    /// UpdateService with exactly the members `request` holds.
    pub async fn update_service(
        &self,
        cluster: &str,
        request: &ServiceRequest,
    ) -> Result<ServiceView, AwsError> {
        self.count();
        let answer = self
            .guarded(
                self.client
                    .update_service()
                    .cluster(cluster)
                    .service(&request.service)
                    .set_task_definition(request.task_definition.clone())
                    .set_desired_count(request.desired)
                    .set_deployment_configuration(
                        request.deployment.map(super::views::DeploymentSettings::to_sdk),
                    )
                    .set_health_check_grace_period_seconds(request.grace_s)
                    .set_force_new_deployment(request.force.then_some(true))
                    .set_platform_version(request.platform_version.clone())
                    .set_network_configuration(
                        request.network.as_ref().and_then(super::views::NetworkView::to_sdk),
                    )
                    .set_load_balancers(Self::load_balancers(request))
                    .send(),
            )
            .await?
            .map_err(|e| {
                AwsError::from_sdk(
                    "UpdateService",
                    format!("service `{}` of cluster `{cluster}`", request.service),
                    &e,
                )
            })?;
        service_of(answer.service(), "UpdateService", format!("service `{}`", request.service))
    }

    /// UpdateService back to `task_definition` (a rollback without the deployment ARN).
    pub async fn redeploy(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> Result<ServiceView, AwsError> {
        let request = ServiceRequest {
            service: service.to_owned(),
            task_definition: Some(task_definition.to_owned()),
            ..ServiceRequest::default()
        };
        self.update_service(cluster, &request).await
    }

    /// StopServiceDeployment with ROLLBACK.
    pub async fn roll_back(&self, service_deployment_arn: &str) -> Result<(), AwsError> {
        self.count();
        self.guarded(
            self.client
                .stop_service_deployment()
                .service_deployment_arn(service_deployment_arn)
                .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
                .send(),
        )
        .await?
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
            let page = self.guarded(call.send()).await?.map_err(|e| {
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
                .guarded(
                    self.client
                        .describe_tasks()
                        .cluster(cluster)
                        .set_tasks(Some(chunk.to_vec()))
                        .send(),
                )
                .await?
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
                started_ms: t.started_at().and_then(|at| at.to_millis().ok()),
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

    /// The service deployments of a service, newest first, every page; `None` when the
    /// endpoint has no such call (before 2024, or another implementation).
    pub async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<Vec<ServiceDeploymentView>>, AwsError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.count();
            let page = match self
                .guarded(
                    self.client
                        .list_service_deployments()
                        .cluster(cluster)
                        .service(service)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await?
            {
                Ok(page) => page,
                Err(error) => {
                    let error = AwsError::from_sdk(
                        "ListServiceDeployments",
                        format!("service `{service}` of cluster `{cluster}`"),
                        &error,
                    );
                    if error.is_unsupported() {
                        return Ok(None);
                    }
                    return Err(error);
                }
            };
            found.extend(page.service_deployments().iter().map(|s| ServiceDeploymentView {
                arn: s.service_deployment_arn().unwrap_or_default().to_owned(),
                status: s.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                status_reason: s.status_reason().map(str::to_owned),
                target_revision: s.target_service_revision_arn().map(str::to_owned),
                created_ms: s.created_at().and_then(|t| t.to_millis().ok()).unwrap_or_default(),
            }));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                found.sort_by_key(|s| std::cmp::Reverse(s.created_ms));
                return Ok(Some(found));
            }
        }
    }

    /// One service deployment, or `None` when ECS does not know it.
    pub async fn service_deployment(
        &self,
        arn: &str,
    ) -> Result<Option<ServiceDeploymentView>, AwsError> {
        self.count();
        let answer = self
            .guarded(self.client.describe_service_deployments().service_deployment_arns(arn).send())
            .await?
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribeServiceDeployments",
                    format!("service deployment `{arn}`"),
                    &e,
                )
            })?;
        Ok(answer.service_deployments().first().map(|s| ServiceDeploymentView {
            arn: s.service_deployment_arn().unwrap_or_default().to_owned(),
            status: s.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            status_reason: s.status_reason().map(str::to_owned),
            target_revision: s.target_service_revision().and_then(|r| r.arn()).map(str::to_owned),
            created_ms: s.created_at().and_then(|t| t.to_millis().ok()).unwrap_or_default(),
        }))
    }

    /// The task definition of a service revision, or `None` when ECS cannot describe it.
    pub async fn revision_task_definition(&self, arn: &str) -> Result<Option<String>, AwsError> {
        self.count();
        let answer = self
            .guarded(self.client.describe_service_revisions().service_revision_arns(arn).send())
            .await?
            .map_err(|e| {
                AwsError::from_sdk(
                    "DescribeServiceRevisions",
                    format!("service revision `{arn}`"),
                    &e,
                )
            })?;
        Ok(answer.service_revisions().first().and_then(|r| r.task_definition()).map(str::to_owned))
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
        self.guarded(self.client.deregister_task_definition().task_definition(arn).send())
            .await?
            .map_err(|e| {
            AwsError::from_sdk("DeregisterTaskDefinition", format!("revision `{arn}`"), &e)
        })?;
        Ok(())
    }
}
