//! The task calls: ListTasks (every page) and DescribeTasks (in chunks of 100), read as the
//! running tasks a deployment started and the stopped tasks it left.

use aws_sdk_ecs::types::DesiredStatus;

use super::Ecs;
use crate::aws::AwsError;
use crate::aws::aws_error::failed;
use crate::aws::views::{StoppedTask, TaskView};

impl Ecs {
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
                failed(
                    self.client.config().region(),
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
                    failed(
                        self.client.config().region(),
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
        self.running_tasks(cluster, service, Some(deployment_id)).await
    }

    /// The running tasks of a service, of every deployment.
    pub async fn service_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<TaskView>, AwsError> {
        self.running_tasks(cluster, service, None).await
    }

    async fn running_tasks(
        &self,
        cluster: &str,
        service: &str,
        started_by: Option<&str>,
    ) -> Result<Vec<TaskView>, AwsError> {
        let arns = self.task_arns(cluster, service, started_by, false).await?;
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
}
