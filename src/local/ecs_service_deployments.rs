//! Service deployments (the 2024 API): `ListServiceDeployments`,
//! `DescribeServiceDeployments`, `DescribeServiceRevisions`, `StopServiceDeployment`. Each
//! scheduler deployment gets a record whose status follows it: `IN_PROGRESS` → `SUCCESSFUL`,
//! or → `ROLLBACK_IN_PROGRESS` → `ROLLBACK_SUCCESSFUL` after a circuit-breaker or requested
//! rollback, or → `STOPPED` when superseded or failed without rollback.

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::deployment::{DeploymentStatus, RolloutState};
use super::request::{Request, paginate};
use super::state::{EcsState, Service, ServiceDeployment, service_key};

const TERMINAL: [&str; 4] = ["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"];

/// Brings the service-deployment records in line with the scheduler.
pub(super) fn sync(service: &mut Service, now: u64) {
    let rollout = &service.rollout;
    for deployment in rollout.deployments.iter().rev() {
        if deployment.rolled_back_from.is_some()
            || service.service_deployments.iter().any(|s| s.deployment_id == deployment.id)
        {
            continue;
        }
        service.revision_count += 1;
        let base = service.arn.replace(":service/", ":service-deployment/");
        let suffix = deployment.id.trim_start_matches("ecs-svc/");
        let sources = service
            .service_deployments
            .iter()
            .filter(|s| {
                rollout.deployments.iter().any(|d| d.id == s.deployment_id && d.id != deployment.id)
            })
            .map(|s| s.target_revision_arn.clone())
            .collect();
        service.service_deployments.push(ServiceDeployment {
            arn: format!("{base}/{suffix}"),
            deployment_id: deployment.id.clone(),
            target_revision_arn: format!(
                "{}/{}",
                service.arn.replace(":service/", ":service-revision/"),
                service.revision_count
            ),
            source_revision_arns: sources,
            task_definition_arn: deployment.revision.arn.clone(),
            created_ms: deployment.created_ms,
            finished_ms: None,
            status: "IN_PROGRESS".to_owned(),
            status_reason: None,
            rollback: None,
            failure_count: 0,
            breaker_triggered: false,
            lifecycle_stage: None,
            triggered_alarms: Vec::new(),
        });
    }
    let deployments = rollout.deployments.clone();
    let revisions: Vec<(String, String)> = service
        .service_deployments
        .iter()
        .map(|s| (s.deployment_id.clone(), s.target_revision_arn.clone()))
        .collect();
    for record in &mut service.service_deployments {
        if TERMINAL.contains(&record.status.as_str()) {
            continue;
        }
        let current = deployments.iter().find(|d| d.id == record.deployment_id);
        if let Some(d) = current {
            if let Some((stage, _)) = d.stage {
                record.lifecycle_stage = Some(stage.as_str().to_owned());
            }
            // The breaker's count as it is (it resets on a healthy task), kept once over.
            record.failure_count = d.breaker_count;
            record.breaker_triggered = d.rollout == RolloutState::Failed
                && d.reason.starts_with(super::scheduler::BREAKER_REASON);
            record.triggered_alarms.clone_from(&d.triggered_alarms);
        }
        let rescuer = deployments
            .iter()
            .find(|d| d.rolled_back_from.as_deref() == Some(record.deployment_id.as_str()));
        if let Some(origin) = rescuer.and_then(|back| back.rollback.as_ref()) {
            record.failure_count = record.failure_count.max(origin.failures);
            record.breaker_triggered = origin.reason.starts_with(super::scheduler::BREAKER_REASON);
        }
        if let Some(back) = rescuer
            && record.rollback.is_none()
        {
            let target = revisions
                .iter()
                .find(|(id, _)| *id == back.id)
                .map(|(_, arn)| arn.clone())
                .unwrap_or_default();
            let (reason, started) =
                back.rollback.as_ref().map_or((back.reason.clone(), back.updated_ms), |r| {
                    (r.reason.clone(), r.started_ms)
                });
            record.rollback = Some((started, reason, target));
        }
        // Each status with the moment it was reached: the scheduler's, not the moment a
        // client happens to look.
        let replaced = "A newer service deployment replaced this one.";
        let (status, reason, at) = match (current, rescuer) {
            (_, Some(back)) if back.rollout == RolloutState::Completed => {
                let why = back.rollback.as_ref().map_or(&back.reason, |r| &r.reason);
                ("ROLLBACK_SUCCESSFUL", Some(why.clone()), back.completed_ms)
            }
            (_, Some(back)) => {
                let why = back.rollback.as_ref().map_or(&back.reason, |r| &r.reason);
                ("ROLLBACK_IN_PROGRESS", Some(why.clone()), None)
            }
            (Some(d), None) if d.rollout == RolloutState::Completed => {
                ("SUCCESSFUL", None, d.completed_ms)
            }
            (Some(d), None) if d.rollout == RolloutState::Failed => {
                ("STOPPED", Some(d.reason.clone()), Some(d.updated_ms))
            }
            (Some(d), None) if d.status == DeploymentStatus::Active => {
                ("STOPPED", Some(replaced.to_owned()), Some(d.updated_ms))
            }
            (Some(_), None) => continue,
            (None, None) => ("STOPPED", Some(replaced.to_owned()), None),
        };
        if record.status != status {
            status.clone_into(&mut record.status);
            record.status_reason = reason;
            if TERMINAL.contains(&status) {
                record.finished_ms = Some(at.unwrap_or(now).min(now));
            }
        }
    }
}

impl EcsState {
    /// The first service-deployment record, of any service, that `matches`.
    fn service_deployment(
        &self,
        matches: impl Fn(&ServiceDeployment) -> bool,
    ) -> Option<(&super::state::Cluster, &Service, &ServiceDeployment)> {
        self.clusters.values().find_map(|cluster| {
            cluster.services.values().find_map(|service| {
                service
                    .service_deployments
                    .iter()
                    .find(|s| matches(s))
                    .map(|s| (cluster, service, s))
            })
        })
    }

    pub fn list_service_deployments(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let cluster = self.cluster(request.string("cluster")?)?;
        let name = service_key(request.required_string("service")?);
        let service = cluster.services.get(&name).ok_or_else(ApiError::service_not_found)?;
        let statuses = request.strings("status")?;
        let mut records: Vec<&ServiceDeployment> = service
            .service_deployments
            .iter()
            .filter(|s| statuses.is_empty() || statuses.contains(&s.status.as_str()))
            .collect();
        records.reverse();
        let summaries: Vec<Value> = records
            .iter()
            .map(|s| {
                let mut summary = json!({
                    "serviceDeploymentArn": s.arn,
                    "serviceArn": service.arn,
                    "clusterArn": cluster.arn,
                    "createdAt": self.time(s.created_ms),
                    "startedAt": self.time(s.created_ms),
                    "targetServiceRevisionArn": s.target_revision_arn,
                    "status": s.status,
                });
                if let Some(reason) = &s.status_reason {
                    summary["statusReason"] = json!(reason);
                }
                if let Some(at) = s.finished_ms {
                    summary["finishedAt"] = self.time(at);
                }
                summary
            })
            .collect();
        let (page, next) = paginate(&summaries, request.page()?);
        Ok(json!({ "serviceDeployments": page, "nextToken": next }))
    }

    pub fn describe_service_deployments(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns = request.strings("serviceDeploymentArns")?;
        if arns.is_empty() || arns.len() > 20 {
            return Err(ApiError::invalid("serviceDeploymentArns must hold 1 to 20 ARNs."));
        }
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for arn in arns {
            let hit = self.service_deployment(|s| s.arn == arn);
            let Some((cluster, service, record)) = hit else {
                failures.push(json!({ "arn": arn, "reason": "MISSING" }));
                continue;
            };
            let rollout = &service.rollout;
            let breaker = rollout.config.circuit_breaker;
            let deployment = rollout.deployments.iter().find(|d| d.id == record.deployment_id);
            let (running, pending) = rollout.counts(&record.deployment_id);
            let mut value = json!({
                "serviceDeploymentArn": record.arn,
                "serviceArn": service.arn,
                "clusterArn": cluster.arn,
                "createdAt": self.time(record.created_ms),
                "startedAt": self.time(record.created_ms),
                "updatedAt": self.time(deployment.map_or(record.created_ms, |d| d.updated_ms)),
                "sourceServiceRevisions": record
                    .source_revision_arns
                    .iter()
                    .map(|arn| json!({ "arn": arn }))
                    .collect::<Vec<_>>(),
                "targetServiceRevision": {
                    "arn": record.target_revision_arn,
                    "requestedTaskCount":
                        if deployment.is_some_and(|d| d.status == DeploymentStatus::Primary) {
                            rollout.config.desired
                        } else {
                            0
                        },
                    "runningTaskCount": running,
                    "pendingTaskCount": pending,
                },
                "status": record.status,
                "deploymentConfiguration": service.deployment_configuration,
                "deploymentCircuitBreaker": {
                    "status": if !breaker.enable {
                        "DISABLED"
                    } else if record.breaker_triggered {
                        "TRIGGERED"
                    } else if TERMINAL.contains(&record.status.as_str()) {
                        "MONITORING_COMPLETE"
                    } else {
                        "MONITORING"
                    },
                    "failureCount": record.failure_count,
                    "threshold":
                        rollout.config.circuit_breaker.limit(rollout.config.desired),
                },
            });
            if let Some(reason) = &record.status_reason {
                value["statusReason"] = json!(reason);
            }
            if let Some(stage) = &record.lifecycle_stage {
                value["lifecycleStage"] = json!(stage);
            }
            let alarms = &rollout.config.alarms;
            if !alarms.names.is_empty() || !record.triggered_alarms.is_empty() {
                value["alarms"] = json!({
                    "status": if !alarms.enable {
                        "DISABLED"
                    } else if !record.triggered_alarms.is_empty() {
                        "TRIGGERED"
                    } else if TERMINAL.contains(&record.status.as_str()) {
                        "MONITORING_COMPLETE"
                    } else {
                        "MONITORING"
                    },
                    "alarmNames": alarms.names,
                    "triggeredAlarmNames": record.triggered_alarms,
                });
            }
            if let Some(d) = deployment.filter(|d| !d.hooks.is_empty()) {
                value["lifecycleHookDetails"] = d
                    .hooks
                    .iter()
                    .map(|hook| {
                        let mut detail = json!({
                            "hookId": hook.id,
                            "targetType": hook.target_type,
                            "status": hook.status,
                            "expiresAt": self.time(hook.expires_ms),
                            "timeoutAction":
                                if hook.timeout_rolls_back { "ROLLBACK" } else { "CONTINUE" },
                        });
                        if let Some(arn) = &hook.target_arn {
                            detail["targetArn"] = json!(arn);
                        }
                        detail
                    })
                    .collect();
            }
            if let Some(at) = record.finished_ms {
                value["finishedAt"] = self.time(at);
            }
            if let Some((at, reason, target)) = &record.rollback {
                value["rollback"] = json!({
                    "reason": reason,
                    "startedAt": self.time(*at),
                    "serviceRevisionArn": target,
                });
            }
            found.push(value);
        }
        Ok(json!({ "serviceDeployments": found, "failures": failures }))
    }

    /// `DescribeServiceRevisions`: each revision's task definition and launch settings.
    pub fn describe_service_revisions(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns = request.strings("serviceRevisionArns")?;
        if arns.is_empty() || arns.len() > 20 {
            return Err(ApiError::invalid("serviceRevisionArns must hold 1 to 20 ARNs."));
        }
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for arn in arns {
            let hit = self.service_deployment(|s| s.target_revision_arn == arn);
            let Some((cluster, service, record)) = hit else {
                failures.push(json!({ "arn": arn, "reason": "MISSING" }));
                continue;
            };
            let mut value = json!({
                "serviceRevisionArn": record.target_revision_arn,
                "serviceArn": service.arn,
                "clusterArn": cluster.arn,
                "taskDefinition": record.task_definition_arn,
                "loadBalancers": service.load_balancers,
                "createdAt": self.time(record.created_ms),
            });
            if let Some(launch_type) = &service.launch_type {
                value["launchType"] = json!(launch_type);
            }
            if let Some(network) = &service.network_configuration {
                value["networkConfiguration"] = network.clone();
            }
            found.push(value);
        }
        Ok(json!({ "serviceRevisions": found, "failures": failures }))
    }

    /// `ContinueServiceDeployment`: a PAUSE hook awaiting action goes on (CONTINUE) or
    /// rolls the deployment back (ROLLBACK), at the scheduler's next pass.
    pub fn continue_service_deployment(
        &mut self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let arn = request.required_string("serviceDeploymentArn")?.to_owned();
        let hook_id = request.required_string("hookId")?.to_owned();
        let continues = request.string("action")?.unwrap_or("CONTINUE") == "CONTINUE";
        if !hook_id.starts_with("ecs-") || hook_id.matches('-').count() < 2 {
            return Err(ApiError::invalid(
                "Invalid hookId: hookId must follow the format: ecs-{hookType}-{id}",
            ));
        }
        for cluster in self.clusters.values_mut() {
            for service in cluster.services.values_mut() {
                let Some(record) = service.service_deployments.iter().find(|s| s.arn == arn) else {
                    continue;
                };
                if TERMINAL.contains(&record.status.as_str()) {
                    return Err(ApiError::invalid(
                        "Continuing a service deployment is not allowed for service deployment in \
                         terminal states.",
                    ));
                }
                let id = record.deployment_id.clone();
                let hook = service
                    .rollout
                    .deployments
                    .iter_mut()
                    .find(|d| d.id == id)
                    .and_then(|d| d.hooks.iter_mut().find(|h| h.id == hook_id))
                    .filter(|h| h.status == "AWAITING_ACTION" && now < h.expires_ms);
                let Some(hook) = hook else {
                    return Err(ApiError::invalid(
                        "Provided hookId is either completed, unavailable, or not associated with \
                         the given Resource ARN",
                    ));
                };
                if continues { "SUCCEEDED" } else { "FAILED" }.clone_into(&mut hook.status);
                service.rollout.next_pass_ms = service.rollout.next_pass_ms.min(now);
                sync(service, now);
                return Ok(json!({ "serviceDeploymentArn": arn }));
            }
        }
        Err(ApiError::service_deployment_not_found())
    }

    pub fn stop_service_deployment(
        &mut self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let arn = request.required_string("serviceDeploymentArn")?.to_owned();
        let rollback = match request.string("stopType")?.unwrap_or("ROLLBACK") {
            "ROLLBACK" => true,
            "ABANDON" => false,
            other => return Err(ApiError::invalid(format!("Invalid stopType: {other}."))),
        };
        for cluster in self.clusters.values_mut() {
            for service in cluster.services.values_mut() {
                let Some(record) = service.service_deployments.iter().find(|s| s.arn == arn) else {
                    continue;
                };
                if record.status != "IN_PROGRESS" {
                    return Err(ApiError::client(format!(
                        "The service deployment is {} and cannot be stopped.",
                        record.status
                    )));
                }
                let id = record.deployment_id.clone();
                if service.rollout.deployments.iter().any(|d| d.id == id && d.cleaning_up()) {
                    return Err(ApiError::client(
                        "The service deployment is in CLEAN_UP: the old revision is stopping, and \
                         it cannot be stopped.",
                    ));
                }
                if !service.rollout.stop_deployment(&id, rollback, now) {
                    return Err(ApiError::client(
                        "The service deployment is not the service's current deployment.",
                    ));
                }
                sync(service, now);
                return Ok(json!({ "serviceDeploymentArn": arn }));
            }
        }
        Err(ApiError::service_deployment_not_found())
    }
}
