//! The service calls: DescribeServices, CreateCluster (before a first CreateService),
//! CreateService and UpdateService with exactly the members a `ServiceRequest` holds, and
//! a redeploy of an earlier revision.

use aws_sdk_ecs::types::{LaunchType, LoadBalancer};

use super::Ecs;
use crate::aws::AwsError;
use crate::aws::aws_error::failed;
use crate::aws::views::{DeploymentSettings, NetworkView, ServiceRequest, ServiceView};

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

impl Ecs {
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
                return Err(failed(
                    self.client.config().region(),
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

    /// Creates the cluster when it does not exist (CreateCluster is idempotent).
    pub async fn ensure_cluster(&self, cluster: &str) -> Result<(), AwsError> {
        self.count();
        self.guarded(self.client.create_cluster().cluster_name(cluster).send()).await?.map_err(
            |e| {
                failed(
                    self.client.config().region(),
                    "CreateCluster",
                    format!("cluster `{cluster}`"),
                    &e,
                )
            },
        )?;
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
                        .set_advanced_configuration(lb.advanced.as_ref().map(|a| {
                            aws_sdk_ecs::types::AdvancedConfiguration::builder()
                                .alternate_target_group_arn(&a.alternate_target_group)
                                .production_listener_rule(&a.production_listener_rule)
                                .set_test_listener_rule(a.test_listener_rule.clone())
                                .role_arn(&a.role)
                                .build()
                        }))
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
                        request.deployment.as_ref().map(DeploymentSettings::to_sdk),
                    )
                    .set_health_check_grace_period_seconds(request.grace_s)
                    .set_launch_type(request.launch_type.as_deref().map(LaunchType::from))
                    .set_platform_version(request.platform_version.clone())
                    .set_network_configuration(
                        request.network.as_ref().and_then(NetworkView::to_sdk),
                    )
                    .set_load_balancers(Self::load_balancers(request))
                    .set_client_token(request.client_token.clone())
                    .send(),
            )
            .await?
            .map_err(|e| {
                failed(
                    self.client.config().region(),
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
                        request.deployment.as_ref().map(DeploymentSettings::to_sdk),
                    )
                    .set_health_check_grace_period_seconds(request.grace_s)
                    .set_force_new_deployment(request.force.then_some(true))
                    .set_platform_version(request.platform_version.clone())
                    .set_network_configuration(
                        request.network.as_ref().and_then(NetworkView::to_sdk),
                    )
                    .set_load_balancers(Self::load_balancers(request))
                    .send(),
            )
            .await?
            .map_err(|e| {
                failed(
                    self.client.config().region(),
                    "UpdateService",
                    format!("service `{}` of cluster `{cluster}`", request.service),
                    &e,
                )
            })?;
        service_of(answer.service(), "UpdateService", format!("service `{}`", request.service))
    }

    /// UpdateService back to `task_definition` (a rollback without the deployment ARN).
    /// UpdateService back to `task_definition`. Of a service ferry holds blue/green
    /// deployments of for its gates on test traffic (`current`), the rollback removes
    /// ferry's PAUSE hook: the revision is known good, and nothing would continue it.
    pub async fn redeploy(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        current: Option<&ServiceView>,
    ) -> Result<ServiceView, AwsError> {
        let unhold = current
            .filter(|s| s.hooks.test_pause.is_some() && !s.hooks.others_have_details)
            .map(|s| {
                crate::aws::DeploymentSettings {
                    min_healthy: s.min_healthy,
                    max: s.max,
                    circuit_breaker: s.circuit_breaker,
                    strategy: Some(s.strategy),
                    bake_minutes: s.bake_minutes,
                    shift: s.shift,
                    alarms: s.alarms.clone(),
                    breaker_tuning: s.breaker_tuning,
                    // The other hooks stay; only ferry's own goes.
                    hooks: Some(s.hooks.others.clone()),
                    early_success: s.early_success.map(Some),
                    test_pause: crate::aws::TestPause::Remove,
                }
            });
        let request = ServiceRequest {
            service: service.to_owned(),
            task_definition: Some(task_definition.to_owned()),
            deployment: unhold,
            ..ServiceRequest::default()
        };
        self.update_service(cluster, &request).await
    }
}
