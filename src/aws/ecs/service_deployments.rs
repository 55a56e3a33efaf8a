//! The service-deployment calls: ListServiceDeployments (`None` where the endpoint has
//! none), DescribeServiceDeployments, StopServiceDeployment with ROLLBACK, and
//! DescribeServiceRevisions for the task definition a service revision ran.

use super::Ecs;
use crate::aws::AwsError;
use crate::aws::aws_error::failed;
use crate::aws::views::ServiceDeploymentView;

impl Ecs {
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
            failed(
                self.client.config().region(),
                "StopServiceDeployment",
                format!("service deployment `{service_deployment_arn}`"),
                &e,
            )
        })?;
        Ok(())
    }

    /// ContinueServiceDeployment: the PAUSE hook `hook_id` goes on, or rolls back.
    pub async fn continue_deployment(
        &self,
        service_deployment_arn: &str,
        hook_id: &str,
        rollback: bool,
    ) -> Result<(), AwsError> {
        use aws_sdk_ecs::types::DeploymentLifecycleHookAction as Action;
        self.count();
        self.guarded(
            self.client
                .continue_service_deployment()
                .service_deployment_arn(service_deployment_arn)
                .hook_id(hook_id)
                .action(if rollback { Action::Rollback } else { Action::Continue })
                .send(),
        )
        .await?
        .map_err(|e| {
            failed(
                self.client.config().region(),
                "ContinueServiceDeployment",
                format!("service deployment `{service_deployment_arn}`"),
                &e,
            )
        })?;
        Ok(())
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
                    let error = failed(
                        self.client.config().region(),
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
                ..ServiceDeploymentView::default()
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
                failed(
                    self.client.config().region(),
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
            lifecycle_stage: s.lifecycle_stage().map(|l| l.as_str().to_owned()),
            rollback_reason: s.rollback().and_then(|r| r.reason()).map(str::to_owned),
            hooks: s
                .lifecycle_hook_details()
                .iter()
                .map(|h| {
                    (
                        h.hook_id().unwrap_or_default().to_owned(),
                        h.target_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                        h.status().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                    )
                })
                .collect(),
            triggered_alarms: s
                .alarms()
                .map(|a| a.triggered_alarm_names().to_vec())
                .unwrap_or_default(),
            breaker: s.deployment_circuit_breaker().map(|b| {
                (
                    b.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    b.failure_count(),
                    b.threshold(),
                )
            }),
        }))
    }

    /// The task definition of a service revision, or `None` when ECS cannot describe it.
    pub async fn revision_task_definition(&self, arn: &str) -> Result<Option<String>, AwsError> {
        self.count();
        let answer = self
            .guarded(self.client.describe_service_revisions().service_revision_arns(arn).send())
            .await?
            .map_err(|e| {
                failed(
                    self.client.config().region(),
                    "DescribeServiceRevisions",
                    format!("service revision `{arn}`"),
                    &e,
                )
            })?;
        Ok(answer.service_revisions().first().and_then(|r| r.task_definition()).map(str::to_owned))
    }
}
