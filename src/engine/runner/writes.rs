//! The writes of a run: `register` (reuse, or RegisterTaskDefinition with its answer read
//! back when it was lost) and `update` (CreateService or UpdateService, resolved again
//! against the service just before writing, a lost answer read back), and the anchor on
//! our deployment that `verify` watches.

use super::{POLL_MS, Runner, StepError};
use crate::aws::{AwsError, ServiceRequest, ServiceView};
use crate::engine::change::{RegisterDecision, StepChange, UpdateAction, UpdateChange};
use crate::engine::event::Event;
use crate::engine::verdict::{Anchor, Failure};
use crate::eval::{RegisterStep, Value};

impl Runner<'_> {
    pub(super) async fn register(
        &mut self,
        step: &RegisterStep,
        change: crate::engine::change::RegisterChange,
    ) -> Result<String, StepError> {
        match change.decision {
            RegisterDecision::Reuse { arn, why } => {
                self.emit(&Event::RevisionReused { step: step.name.clone(), arn: arn.clone() });
                self.outputs.insert(
                    step.name.clone(),
                    Value::TaskDefinition { step: step.name.clone(), arn: Some(arn) },
                );
                Ok(format!("reused the current revision ({why})"))
            }
            RegisterDecision::Register => {
                let Some(next) = change.next else {
                    return Err(StepError::Refused("no revision to register".to_owned()));
                };
                self.sending(&format!("RegisterTaskDefinition of family `{}`", next.family));
                let arn = match self.ecs.register(&next).await {
                    Ok(arn) => arn,
                    Err(error) if error.answer_lost() => {
                        self.registered_anyway(&next, error).await?
                    }
                    Err(error) => return Err(self.refused_write(error)),
                };
                self.written(format!("registered {arn}"));
                self.emit(&Event::RevisionRegistered { step: step.name.clone(), arn: arn.clone() });
                self.live.revisions.insert(
                    arn.clone(),
                    Some(crate::engine::live::Described { arn: arn.clone(), input: next }),
                );
                self.outputs.insert(
                    step.name.clone(),
                    Value::TaskDefinition { step: step.name.clone(), arn: Some(arn.clone()) },
                );
                self.registered.push((step.clone(), arn));
                self.deregister.extend(change.deregister);
                Ok("registered".to_owned())
            }
            RegisterDecision::AfterPush { images } => Err(StepError::Refused(format!(
                "the image of {} is not known yet",
                images.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ))),
            RegisterDecision::Refuse(refusal) => Err(StepError::Refused(refusal.reason)),
        }
    }

    /// After a RegisterTaskDefinition whose answer was lost: the family's latest revision
    /// read back; when it is the revision we sent, it was registered.
    async fn registered_anyway(
        &mut self,
        next: &crate::aws::RevisionInput,
        error: AwsError,
    ) -> Result<String, StepError> {
        self.sleep(POLL_MS).await?;
        match self.ecs.task_definition(&next.family).await {
            Ok((latest, tags)) => {
                let read = crate::aws::RevisionInput::from_described(&latest, &tags);
                if crate::engine::revision_json::same_revision(&read, next) {
                    let arn = latest.task_definition_arn().unwrap_or_default().to_owned();
                    self.emit(&Event::Warning {
                        message: format!(
                            "{error}; the family was read back: {arn} is the revision sent"
                        ),
                    });
                    return Ok(arn);
                }
                // Not ours on top; ours may still be below another client's, so the write
                // stays noted as possibly made.
                let message = format!(
                    "{}; read back, the family's latest revision is not ours",
                    error.message
                );
                Err(StepError::from(AwsError { message, ..error }))
            }
            // Not known either way: the write stays noted as possibly made.
            Err(read) => Err(StepError::from(AwsError {
                message: format!(
                    "{}; the family could not be read back ({}): a revision may have been \
                     registered",
                    error.message, read.code
                ),
                ..error
            })),
        }
    }

    pub(super) async fn update(&mut self, planned: UpdateChange) -> Result<String, StepError> {
        if let UpdateAction::Refuse(refusal) = &planned.action {
            return Err(StepError::Refused(refusal.reason.clone()));
        }
        // The service again, just before writing: if it moved since the live state was
        // read (another run started a deployment), this run stops instead of fighting it.
        let fresh = self.ecs.service(&planned.cluster, &planned.service).await?;
        let change = self.resolve_against(&planned, fresh.clone())?;
        let cluster = change.cluster.clone();
        let mut request = change.request.clone().unwrap_or_default();
        if change.action.deploys() && request.task_definition.is_none() && !request.force {
            request.task_definition = change.task_definition.arn().map(str::to_owned);
        }
        match change.action.clone() {
            UpdateAction::Refuse(refusal) => Err(StepError::Refused(format!(
                "{} (the service changed since ferry read it)",
                refusal.reason
            ))),
            UpdateAction::Nothing => {
                let running = change.running.clone().unwrap_or_default();
                self.unchanged.push(format!("`{}` already runs {running}", change.service));
                self.emit(&Event::NothingToDeploy {
                    service: change.service.clone(),
                    task_definition: running,
                });
                Ok("nothing to deploy".to_owned())
            }
            UpdateAction::Create => {
                self.sending(&format!("CreateCluster `{cluster}`"));
                if let Err(error) = self.ecs.ensure_cluster(&cluster).await {
                    return Err(if error.answer_lost() {
                        error.into()
                    } else {
                        self.refused_write(error)
                    });
                }
                self.written(format!("created cluster `{cluster}` (or found it)"));
                self.sending(&format!("CreateService `{}`", change.service));
                let created = match self.ecs.create_service(&cluster, &request).await {
                    Ok(created) => created,
                    Err(error) if error.answer_lost() => {
                        // The same token makes a second CreateService return the service
                        // the first one made.
                        self.emit(&Event::Warning {
                            message: format!(
                                "{error}; asking again with the same idempotency token"
                            ),
                        });
                        self.ecs.create_service(&cluster, &request).await?
                    }
                    Err(error) => return Err(self.refused_write(error)),
                };
                self.written(format!("created service `{}`", change.service));
                self.emit(&Event::ServiceCreated {
                    service: change.service.clone(),
                    cluster: cluster.clone(),
                });
                self.anchor(&change, &created, None)
            }
            UpdateAction::Deploy => {
                let answer = self.update_service(&change, &request, fresh.as_ref()).await?;
                self.written(format!("updated service `{}`", change.service));
                self.anchor(&change, &answer, fresh.as_ref())
            }
            UpdateAction::Settings => {
                self.update_service(&change, &request, fresh.as_ref()).await?;
                let changes: Vec<String> = change
                    .settings
                    .iter()
                    .map(crate::engine::change::SettingChange::text)
                    .collect();
                self.written(format!(
                    "changed settings of service `{}` ({})",
                    change.service,
                    changes.join("; ")
                ));
                self.emit(&Event::SettingsUpdated { service: change.service.clone(), changes });
                self.scaled.insert(change.step.clone(), (cluster, request));
                Ok("settings changed".to_owned())
            }
            UpdateAction::Resume { deployment_id } => {
                if let Some(request) = change.request.clone() {
                    self.update_service(&change, &request, fresh.as_ref()).await?;
                    self.written(format!("changed settings of service `{}`", change.service));
                }
                let Some(service) = fresh else {
                    return Err(StepError::Refused(format!(
                        "service `{}` is gone",
                        change.service
                    )));
                };
                self.emit(&Event::DeploymentResumed {
                    service: change.service.clone(),
                    deployment_id: deployment_id.clone(),
                    task_definition: change.running.clone().unwrap_or_default(),
                });
                self.anchor(&change, &service, None)
                    .map(|_| "watching the deployment in progress".to_owned())
            }
        }
    }

    /// One UpdateService, noted as sent until it answers; a lost answer is read back.
    async fn update_service(
        &mut self,
        change: &UpdateChange,
        request: &ServiceRequest,
        before: Option<&ServiceView>,
    ) -> Result<ServiceView, StepError> {
        self.sending(&format!("UpdateService `{}`", change.service));
        match self.ecs.update_service(&change.cluster, request).await {
            Ok(answer) => Ok(answer),
            Err(error) if error.answer_lost() => {
                self.read_back(change, request, before, error).await
            }
            Err(error) => Err(self.refused_write(error)),
        }
    }

    /// The update resolved against the service as it is now (`fresh`); refused when the
    /// action differs from the one resolved before the first write.
    fn resolve_against(
        &mut self,
        planned: &UpdateChange,
        fresh: Option<ServiceView>,
    ) -> Result<UpdateChange, StepError> {
        let key = (planned.cluster.clone(), planned.service.clone());
        // A deployment that started in between, or another PRIMARY, makes the plan and the
        // rollback target stale (deployments that finished draining may drop out).
        let then = self.live.service(&planned.cluster, &planned.service);
        let ids: Vec<&str> =
            then.map(|s| s.deployments.iter().map(|d| d.id.as_str()).collect()).unwrap_or_default();
        let primary = |s: Option<&ServiceView>| {
            s.and_then(ServiceView::primary).map(|p| (p.id.clone(), p.task_definition.clone()))
        };
        let moved = primary(then) != primary(fresh.as_ref())
            || fresh
                .as_ref()
                .is_some_and(|s| s.deployments.iter().any(|d| !ids.contains(&d.id.as_str())));
        if moved {
            return Err(StepError::Refused(format!(
                "service `{}` changed since ferry read it: its deployments are now [{}]; run again \
                 to plan against it",
                planned.service,
                fresh.as_ref().map_or_else(
                    || "none: the service is gone".to_owned(),
                    |s| s
                        .deployments
                        .iter()
                        .map(|d| format!("{} of {}", d.id, d.task_definition))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            )));
        }
        let before = self.live.services.insert(key.clone(), fresh);
        let changes = self.changes()?;
        let now = match changes.step(&planned.step, "update") {
            Some(StepChange::Update(change)) => change.clone(),
            _ => planned.clone(),
        };
        let same_action =
            std::mem::discriminant(&now.action) == std::mem::discriminant(&planned.action);
        if !same_action {
            let reason = match &now.action {
                UpdateAction::Refuse(refusal) => refusal.reason.clone(),
                _ => format!(
                    "service `{}` changed since ferry read it: the update would now {}",
                    planned.service,
                    crate::engine::plan::summary(&StepChange::Update(now.clone()))
                ),
            };
            if let Some(before) = before {
                self.live.services.insert(key, before);
            }
            return Err(StepError::Refused(reason));
        }
        Ok(now)
    }

    /// After a CreateService/UpdateService whose answer was lost: the service read back.
    /// The deployment is ours when it runs our revision and is newer than what was read
    /// before; settings are applied when the service shows them.
    async fn read_back(
        &mut self,
        change: &UpdateChange,
        request: &ServiceRequest,
        before: Option<&ServiceView>,
        error: AwsError,
    ) -> Result<ServiceView, StepError> {
        let known: Vec<String> = before
            .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
            .unwrap_or_default();
        for _ in 0..6 {
            self.sleep(POLL_MS).await?;
            let Ok(Some(service)) = self.ecs.service(&change.cluster, &change.service).await else {
                continue;
            };
            let applied = applied(request, &service, &known);
            if applied {
                self.emit(&Event::Warning {
                    message: format!("{error}; the service was read back: the update was applied"),
                });
                return Ok(service);
            }
            let reason = format!(
                "{}; the service was read back: it runs {} with deployments [{}], unchanged",
                error.message,
                service.primary().map_or("nothing", |p| p.task_definition.as_str()),
                service.deployments.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
            );
            // Read back unchanged: the call was not carried out.
            return Err(self.refused_write(AwsError { message: reason, ..error }));
        }
        Err(StepError::Aws(AwsError {
            message: format!("{}; the service could not be read back", error.message),
            ..error
        }))
    }

    /// Records our deployment: the PRIMARY deployment of the answer, with our revision.
    fn anchor(
        &mut self,
        change: &UpdateChange,
        answer: &ServiceView,
        before: Option<&ServiceView>,
    ) -> Result<String, StepError> {
        let known: Vec<String> = before
            .map(|s| s.deployments.iter().map(|d| d.id.clone()).collect())
            .unwrap_or_default();
        let ours = match &change.action {
            UpdateAction::Resume { deployment_id } => answer.deployment(deployment_id),
            _ => answer.deployments.iter().find(|d| {
                d.status == "PRIMARY"
                    && !known.contains(&d.id)
                    && change.task_definition.arn().is_none_or(|arn| d.task_definition == arn)
            }),
        };
        let Some(ours) = ours.cloned() else {
            return Err(StepError::Deployment {
                service: change.service.clone(),
                failure: Failure::Vanished {
                    runs: answer
                        .primary()
                        .map(|p| format!("{} (deployment {})", p.task_definition, p.id)),
                },
            });
        };
        // A deployment that started between our read and our UpdateService is another
        // run's: ECS ordered the calls, ours is the later one and replaced it.
        for other in answer
            .deployments
            .iter()
            .filter(|d| d.id != ours.id && !known.contains(&d.id) && before.is_some())
        {
            self.emit(&Event::Warning {
                message: format!(
                    "another deployment of `{}` ({} of {}) started between ferry's read and its \
                     UpdateService; ours replaced it, and that run will find its deployment \
                     replaced",
                    change.service, other.id, other.task_definition
                ),
            });
        }
        let digests = self
            .registered
            .iter()
            .filter(|(_, registered)| *registered == ours.task_definition)
            .flat_map(|(register, _)| register.containers.iter())
            .filter_map(|c| match &c.image {
                Some(
                    Value::Image { reference: Some(reference), .. } | Value::String(reference),
                ) => {
                    reference.split_once('@').map(|(_, digest)| (c.name.clone(), digest.to_owned()))
                }
                _ => None,
            })
            .collect();
        let health_check = self.live.revision(&ours.task_definition).is_some_and(|d| {
            d.input
                .container_definitions
                .iter()
                .any(|c| c.essential() != Some(false) && c.health_check().is_some())
        });
        let previous = match &change.action {
            UpdateAction::Create => None,
            UpdateAction::Resume { .. } => change.rollback_target.clone(),
            _ => change.running.clone(),
        };
        let anchor = Anchor {
            service: change.service.clone(),
            deployment_id: ours.id.clone(),
            task_definition: ours.task_definition.clone(),
            created_ms: ours.created_ms,
            service_deployment_arn: answer.current_service_deployment.clone(),
            previous_task_definition: previous.clone(),
            rollback_target: change.rollback_target.clone().filter(|t| *t != ours.task_definition),
            digests,
            health_check,
            // Every event of the answer (or of the service before) predates ours, except
            // for a resumed deployment, whose events since its creation are its own.
            known_events: match &change.action {
                UpdateAction::Resume { .. } => Vec::new(),
                _ => answer.events.iter().map(|e| e.id.clone()).collect(),
            },
            // A Classic Load Balancer's entry names no target group: ECS's rollout
            // state is what the verdict has there.
            load_balancers: answer
                .load_balancers
                .iter()
                .filter(|l| !l.target_group.is_empty())
                .cloned()
                .collect(),
            staged: answer.strategy.is_staged(),
        };
        if !matches!(change.action, UpdateAction::Resume { .. }) {
            self.emit(&Event::DeploymentStarted {
                service: change.service.clone(),
                deployment_id: ours.id.clone(),
                task_definition: ours.task_definition.clone(),
                previous_task_definition: previous,
            });
        }
        self.anchors.insert(change.step.clone(), (change.cluster.clone(), anchor));
        Ok("deployment started".to_owned())
    }
}

/// Whether the service shows everything `request` asked for: a deployment that was not
/// among `known` (with its revision, when one was sent), and every setting it sent.
fn applied(request: &ServiceRequest, service: &ServiceView, known: &[String]) -> bool {
    let deployed = (request.task_definition.is_none() && !request.force)
        || service.deployments.iter().any(|d| {
            !known.contains(&d.id)
                && request.task_definition.as_ref().is_none_or(|td| &d.task_definition == td)
        });
    deployed && settings_applied(request, service)
}

/// Whether the service shows every setting `request` sent.
pub(in crate::engine) fn settings_applied(request: &ServiceRequest, service: &ServiceView) -> bool {
    let deployment = request.deployment.as_ref().is_none_or(|d| {
        d.min_healthy.is_none_or(|m| service.min_healthy == Some(m))
            && d.max.is_none_or(|m| service.max == Some(m))
            && d.circuit_breaker.is_none_or(|b| service.circuit_breaker == Some(b))
            && d.strategy.is_none_or(|s| service.strategy == s)
            && d.bake_minutes.is_none_or(|m| service.bake_minutes == Some(m))
            && d.shift.percent_tenths.is_none_or(|p| service.shift.percent_tenths == Some(p))
            && d.shift.bake_minutes.is_none_or(|m| service.shift.bake_minutes == Some(m))
            && d.alarms.as_ref().is_none_or(|a| service.alarms.as_ref() == Some(a))
            && d.early_success.is_none_or(|e| service.early_success == e)
            && d.breaker_tuning
                .threshold
                .is_none_or(|t| service.breaker_tuning.threshold == Some(t))
            && d.breaker_tuning
                .reset_on_healthy_task
                .is_none_or(|r| service.breaker_tuning.reset_on_healthy_task == Some(r))
            && match d.test_pause {
                crate::aws::TestPause::Keep => true,
                crate::aws::TestPause::Remove => service.hooks.test_pause.is_none(),
                crate::aws::TestPause::Hold(m) => service.hooks.test_pause == Some(m),
            }
    });
    deployment
        && request.desired.is_none_or(|d| d == service.desired)
        && request.grace_s.is_none_or(|g| Some(g) == service.grace_s)
}
