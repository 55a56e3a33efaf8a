//! The `update` resolution: the settings the Deployfile gives against the live service,
//! every one that differs, the action (create, deploy, settings only, resume our own
//! rollout, nothing) and the exact `ServiceRequest`, with the predicted rollout and the
//! refusals: a missing service without `create`, another deployment in progress, a service
//! left FAILED, a rollout predicted to be stuck.

use super::{Options, RefusedRegister};
use crate::aws::{
    AdvancedView, AlarmsView, BreakerTuning, BreakerView, DeploymentSettings, EarlySuccessView,
    HookView, LoadBalancerView, NetworkView, RevisionInput, ServiceRequest, ServiceView, ShiftView,
    StrategyView, TEST_PAUSE_STAGE, TestPause, ThresholdView,
};
use crate::engine::change::{
    Refusal, SettingChange, TaskDefinitionRef, UpdateAction, UpdateChange,
};
use crate::engine::live::{Live, cluster_of};
use crate::engine::prediction::{Balancing, Effective, Prediction, predict};
use crate::eval::UpdateStep;

/// Whether another deployment is rolling: one IN_PROGRESS, or (without rollout states)
/// more than one.
#[must_use]
pub(in crate::engine) fn in_progress(service: &ServiceView) -> bool {
    service.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
        || (service.deployments.len() > 1
            && service.deployments.iter().all(|d| d.rollout_state.is_none()))
}

fn network_view(step: &UpdateStep) -> Option<NetworkView> {
    step.network
        .as_ref()
        .map(|n| NetworkView::new(n.subnets.clone(), n.security_groups.clone(), n.public_ip))
}

fn load_balancer_views(step: &UpdateStep) -> Option<Vec<LoadBalancerView>> {
    (!step.load_balancers.is_empty()).then(|| {
        let mut views: Vec<LoadBalancerView> = step
            .load_balancers
            .iter()
            .map(|lb| LoadBalancerView {
                target_group: lb.target_group.clone(),
                container: lb.container.clone(),
                port: i32::try_from(lb.port).unwrap_or_default(),
                advanced: lb.alternate_target_group.as_ref().map(|alternate| AdvancedView {
                    alternate_target_group: alternate.clone(),
                    production_listener_rule: lb
                        .production_listener_rule
                        .clone()
                        .unwrap_or_default(),
                    test_listener_rule: lb.test_listener_rule.clone(),
                    role: lb.role.clone().unwrap_or_default(),
                }),
            })
            .collect();
        views.sort();
        views
    })
}

fn int(n: Option<i64>) -> Option<i32> {
    n.and_then(|n| i32::try_from(n).ok())
}

/// Why ECS would refuse the `load_balancer` blocks of `step` with `revision` (its input,
/// where known) — as CreateService and UpdateService check them: the container and its
/// port are in the revision, the group exists, its target type suits the network mode
/// (`ip` for awsvpc, not `ip` otherwise), and — for links the service does not have yet —
/// a load balancer forwards to it. A group that could not be read is not judged.
fn load_balancer_problem(
    step: &UpdateStep,
    revision: Option<&RevisionInput>,
    live: &Live,
    new_links: bool,
) -> Option<String> {
    for link in &step.load_balancers {
        if let Some(input) = revision {
            let names: Vec<&str> =
                input.container_definitions.iter().filter_map(|c| c.name()).collect();
            let Some(container) =
                input.container_definitions.iter().find(|c| c.name() == Some(&link.container))
            else {
                return Some(format!(
                    "the load_balancer's container `{}` is not in the revision (its containers: \
                     {})",
                    link.container,
                    names.join(", ")
                ));
            };
            let ports: Vec<String> = container
                .port_mappings()
                .iter()
                .filter_map(aws_sdk_ecs::types::PortMapping::container_port)
                .map(|p| p.to_string())
                .collect();
            if !ports.contains(&link.port.to_string()) {
                return Some(format!(
                    "the load_balancer's port {} is not a port of container `{}` (its ports: {})",
                    link.port,
                    link.container,
                    if ports.is_empty() { "none".to_owned() } else { ports.join(", ") }
                ));
            }
        }
        let group = match live.target_groups.get(&link.target_group) {
            Some(Ok(Some(group))) => group,
            Some(Ok(None)) => {
                return Some(format!("target group {} does not exist", link.target_group));
            }
            _ => continue,
        };
        if new_links && group.load_balancers.is_empty() {
            return Some(format!(
                "no load balancer forwards to target group `{}`, and ECS refuses a service \
                 linked to it (\"does not have an associated load balancer\"); add a listener \
                 or rule that forwards to it first",
                group.name
            ));
        }
        if let Some(input) = revision {
            let mode = input.network_mode.as_ref().map_or("bridge", |m| m.as_str());
            let fits = (mode == "awsvpc") == (group.target_type == "ip");
            if !fits {
                let want = if mode == "awsvpc" { "`ip`" } else { "`instance`" };
                return Some(format!(
                    "target group `{}` has target type `{}`, and tasks of network mode `{mode}` \
                     register as {want} targets",
                    group.name, group.target_type
                ));
            }
        }
    }
    None
}

/// `test_pause`: the verify of this update has gates on test traffic, and may take this
/// many minutes: ferry holds a blue/green deployment with its own PAUSE hook meanwhile.
pub(super) fn resolve_update(
    step: &UpdateStep,
    revision: Result<TaskDefinitionRef, RefusedRegister>,
    input: Option<&RevisionInput>,
    live: &Live,
    options: &Options,
    test_pause: Option<i32>,
) -> UpdateChange {
    let cluster = cluster_of(step.cluster.as_ref(), options.cluster.as_ref());
    let service = live.service(&cluster, &step.service);
    let key = (cluster.clone(), step.service.clone());
    let mut change = UpdateChange {
        step: step.name.clone(),
        service: step.service.clone(),
        cluster: cluster.clone(),
        task_definition: revision.clone().unwrap_or(TaskDefinitionRef::New {
            step: step.task_definition.clone(),
            family: String::new(),
        }),
        action: UpdateAction::Nothing,
        settings: Vec::new(),
        request: None,
        running: service.and_then(|s| s.primary()).map(|p| p.task_definition.clone()),
        running_deployment: service.and_then(|s| s.primary()).map(|p| p.id.clone()),
        rollback_target: live.rollback_targets.get(&key).cloned().flatten(),
        prediction: None,
        notes: Vec::new(),
        strategy: service.map_or(StrategyView::Rolling, |s| s.strategy),
        bake_ms: service
            .and_then(|s| s.bake_minutes)
            .map_or(0, |m| u64::try_from(m).unwrap_or(0) * 60_000),
    };
    let what = format!("update {}", step.name);
    let refuse = |change: &mut UpdateChange, reason: String, busy: bool| {
        change.action = UpdateAction::Refuse(Refusal { step: what.clone(), reason, busy });
    };
    let revision = match revision {
        Ok(revision) => revision,
        Err(RefusedRegister(register)) => {
            refuse(
                &mut change,
                format!("`register {register}` makes no revision to deploy"),
                false,
            );
            return change;
        }
    };
    // The settings as the Deployfile gives them.
    let desired = int(step.desired);
    let min_healthy = int(step.min_healthy);
    let max = int(step.max);
    let grace_s = int(step.grace_s);
    let breaker = step.circuit_breaker.as_deref().map(BreakerView::from_word);
    let strategy = step.strategy.as_deref().map(StrategyView::from_word);
    let bake_minutes = step.bake_ms.and_then(|ms| i32::try_from(ms / 60_000).ok());
    if let Some(strategy) = strategy {
        change.strategy = strategy;
    }
    if let Some(ms) = step.bake_ms {
        change.bake_ms = ms;
    }
    let network = network_view(step);
    let load_balancers = load_balancer_views(step);
    let new_links = load_balancers
        .as_ref()
        .is_some_and(|links| service.is_none_or(|s| &s.load_balancers != links));
    if let Some(problem) = load_balancer_problem(step, input, live, new_links) {
        refuse(&mut change, format!("`update {}`: {problem}", step.name), false);
        return change;
    }
    let Some(service) = service else {
        if !step.create {
            refuse(
                &mut change,
                format!(
                    "service `{}` does not exist in cluster `{cluster}`; set `create = true` in \
                     `update {}` to create it",
                    step.service, step.name
                ),
                false,
            );
            return change;
        }
        change.action = UpdateAction::Create;
        let mut setting = |name: &str, to: Option<String>| {
            if let Some(to) = to {
                change.settings.push(SettingChange { name: name.to_owned(), from: None, to });
            }
        };
        setting("task_definition", Some(revision.text()));
        setting("desired", Some(desired.unwrap_or(1).to_string()));
        setting("min_healthy", min_healthy.map(|m| format!("{m}%")));
        setting("max", max.map(|m| format!("{m}%")));
        setting("grace", grace_s.map(|g| format!("{g}s")));
        setting("circuit_breaker", breaker.map(|b| b.word().to_owned()));
        setting("strategy", strategy.map(|s| s.word().to_owned()));
        setting("bake", bake_minutes.map(|m| format!("{m}m")));
        let created = strategy.unwrap_or_default();
        let shift = shift_of(step, created);
        if let Some((percent, bake)) = shift_names(created) {
            setting(percent, shift.percent_tenths.map(ShiftView::percent_text));
            setting(bake, shift.bake_minutes.map(|m| format!("{m}m")));
        }
        let alarms = alarms_of(step);
        setting("alarms", alarms.as_ref().map(AlarmsView::text));
        let tuning = tuning_of(step);
        setting("breaker_threshold", tuning.threshold.map(ThresholdView::text));
        setting("breaker_reset_on_healthy", tuning.reset_on_healthy_task.map(|r| r.to_string()));
        let hooks = hooks_of(step);
        setting("lifecycle_hooks", hooks.as_deref().map(HookView::list_text));
        let early = early_of(step);
        setting("early_success", early.map(EarlySuccessView::text));
        setting("test_traffic_pause", test_pause.map(pause_text));
        if tuning != BreakerTuning::default() && !breaker.is_some_and(|b| b.enable) {
            refuse(
                &mut change,
                format!(
                    "`update {}` tunes the circuit breaker (`breaker_count`, `breaker_percent`, \
                     `breaker_reset_on_healthy`) of a service it creates without one: write \
                     `circuit_breaker = rollback`",
                    step.name
                ),
                false,
            );
            return change;
        }
        if let Some(problem) = misplaced_shift(step, created) {
            refuse(&mut change, problem, false);
            return change;
        }
        if test_pause.is_some() && !strategy.is_some_and(StrategyView::is_staged) {
            refuse(&mut change, test_gates_need_stages(step), false);
            return change;
        }
        // The deployment configuration the Deployfile writes; none when it writes nothing
        // of it (ECS's defaults).
        let settings = DeploymentSettings {
            min_healthy,
            max,
            circuit_breaker: breaker,
            strategy,
            bake_minutes,
            shift,
            alarms,
            // On the breaker (refused above without one).
            breaker_tuning: tuning,
            hooks,
            early_success: early.map(Some),
            test_pause: test_pause.map_or(TestPause::Keep, TestPause::Hold),
        };
        change.request = Some(ServiceRequest {
            service: step.service.clone(),
            task_definition: revision.arn().map(str::to_owned),
            desired: Some(desired.unwrap_or(1)),
            deployment: (settings != DeploymentSettings::default()).then_some(settings),
            grace_s,
            force: false,
            launch_type: step.launch_type.clone(),
            platform_version: step.platform_version.clone(),
            network,
            load_balancers,
            client_token: options.client_token.clone(),
        });
        return change;
    };
    if service.status != "ACTIVE" {
        refuse(&mut change, format!("service `{}` is {}", step.service, service.status), false);
        return change;
    }
    // Every setting the Deployfile sets that differs from the service's.
    let differs =
        |ours: Option<String>, theirs: Option<String>| ours.filter(|o| Some(o) != theirs.as_ref());
    let mut settings = Vec::new();
    let mut note = |name: &str, from: Option<String>, to: Option<String>| {
        if let Some(to) = differs(to, from.clone()) {
            settings.push(SettingChange { name: name.to_owned(), from, to });
        }
    };
    note("desired", Some(service.desired.to_string()), desired.map(|d| d.to_string()));
    note(
        "min_healthy",
        service.min_healthy.map(|m| format!("{m}%")),
        min_healthy.map(|m| format!("{m}%")),
    );
    note("max", service.max.map(|m| format!("{m}%")), max.map(|m| format!("{m}%")));
    note("grace", service.grace_s.map(|g| format!("{g}s")), grace_s.map(|g| format!("{g}s")));
    note(
        "circuit_breaker",
        service.circuit_breaker.map(|b| b.word().to_owned()),
        breaker.map(|b| b.word().to_owned()),
    );
    note(
        "strategy",
        Some(service.strategy.word().to_owned()),
        strategy.map(|s| s.word().to_owned()),
    );
    note(
        "bake",
        service.bake_minutes.map(|m| format!("{m}m")),
        bake_minutes.map(|m| format!("{m}m")),
    );
    // A linear or canary deployment's steps: the Deployfile's where it sets them, else the
    // service's (of the same strategy), else ECS's defaults.
    let strategy_after = strategy.unwrap_or(service.strategy);
    let theirs =
        if service.strategy == strategy_after { service.shift } else { ShiftView::default() };
    let ours = shift_of(step, strategy_after);
    if let Some((percent, bake)) = shift_names(strategy_after) {
        note(
            percent,
            theirs.percent_tenths.map(ShiftView::percent_text),
            ours.percent_tenths.map(ShiftView::percent_text),
        );
        note(
            bake,
            theirs.bake_minutes.map(|m| format!("{m}m")),
            ours.bake_minutes.map(|m| format!("{m}m")),
        );
    }
    let ours_alarms = alarms_of(step);
    let theirs_alarms = service.alarms.as_ref().map(AlarmsView::text);
    note(
        "alarms",
        theirs_alarms.or_else(|| ours_alarms.is_some().then(|| "none".to_owned())),
        ours_alarms.as_ref().map(AlarmsView::text),
    );
    let alarms_after = ours_alarms.or_else(|| service.alarms.clone());
    let declared_early = step.early_success.is_some();
    let ours_early = early_of(step);
    let off = || "off".to_owned();
    note(
        "early_success",
        Some(service.early_success.map_or_else(off, EarlySuccessView::text)),
        declared_early.then(|| ours_early.map_or_else(off, EarlySuccessView::text)),
    );
    let early_after = if declared_early { ours_early } else { service.early_success };
    let ours_tuning = tuning_of(step);
    let theirs_tuning = service.breaker_tuning;
    note(
        "breaker_threshold",
        theirs_tuning.threshold.map(ThresholdView::text),
        ours_tuning.threshold.map(ThresholdView::text),
    );
    note(
        "breaker_reset_on_healthy",
        theirs_tuning.reset_on_healthy_task.map(|r| r.to_string()),
        ours_tuning.reset_on_healthy_task.map(|r| r.to_string()),
    );
    let tuning_after = BreakerTuning {
        threshold: ours_tuning.threshold.or(theirs_tuning.threshold),
        reset_on_healthy_task: ours_tuning
            .reset_on_healthy_task
            .or(theirs_tuning.reset_on_healthy_task),
    };
    let shift_after = ShiftView {
        percent_tenths: ours.percent_tenths.or(theirs.percent_tenths),
        bake_minutes: ours.bake_minutes.or(theirs.bake_minutes),
    };
    let network_changes = network.as_ref().is_some_and(|n| service.network.as_ref() != Some(n));
    let lbs_change = load_balancers.as_ref().is_some_and(|l| &service.load_balancers != l);
    let platform_changes = step
        .platform_version
        .as_ref()
        .is_some_and(|p| service.platform_version.as_ref() != Some(p));
    if network_changes {
        note(
            "network",
            service.network.as_ref().map(network_text),
            network.as_ref().map(network_text),
        );
    }
    if lbs_change {
        note(
            "load_balancers",
            Some(lb_text(&service.load_balancers)),
            load_balancers.as_deref().map(lb_text),
        );
    }
    if platform_changes {
        note("platform_version", service.platform_version.clone(), step.platform_version.clone());
    }
    let primary = service.primary();
    let new_revision = match &revision {
        TaskDefinitionRef::New { .. } => true,
        TaskDefinitionRef::Arn { arn } => primary.is_none_or(|p| &p.task_definition != arn),
    };
    if new_revision {
        settings.insert(
            0,
            SettingChange {
                name: "task_definition".to_owned(),
                from: primary.map(|p| p.task_definition.clone()),
                to: revision.text(),
            },
        );
    }
    let declared_hooks = hooks_of(step);
    if let Some(declared) = &declared_hooks
        && *declared != service.hooks.others
    {
        settings.push(SettingChange {
            name: "lifecycle_hooks".to_owned(),
            from: Some(HookView::list_text(&service.hooks.others)),
            to: HookView::list_text(declared),
        });
    }
    if service.hooks.test_pause != test_pause {
        settings.push(SettingChange {
            name: "test_traffic_pause".to_owned(),
            from: service.hooks.test_pause.map(pause_text),
            to: test_pause.map_or_else(|| "none".to_owned(), pause_text),
        });
    }
    change.settings = settings;
    let failed = primary.filter(|p| p.rollout_state.as_deref() == Some("FAILED"));
    let force = step.force || (options.redeploy && !new_revision);
    let deploys = new_revision || force || network_changes || lbs_change || platform_changes;
    // The deployment settings as they will be, for the request and the prediction.
    let unsigned = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
    let current = Effective::live(service, live.capacity);
    let effective = Effective {
        desired: unsigned(desired).unwrap_or(current.desired),
        min_healthy: unsigned(min_healthy).unwrap_or(current.min_healthy),
        max: unsigned(max).unwrap_or(current.max),
        circuit_breaker: breaker.unwrap_or(current.circuit_breaker),
        grace_s: unsigned(grace_s).unwrap_or(current.grace_s),
        balancing: match &load_balancers {
            None => current.balancing,
            Some(links) => {
                let read: Vec<&crate::aws::TargetGroupView> = links
                    .iter()
                    .filter_map(|l| live.target_groups.get(&l.target_group))
                    .filter_map(|g| g.as_ref().ok().and_then(Option::as_ref))
                    .collect();
                Balancing::of(&read).or_else(|| (!links.is_empty()).then(Balancing::default))
            }
        },
        strategy: change.strategy,
        bake_ms: change.bake_ms,
        shift: shift_after,
        early_success: early_after.filter(|_| !change.strategy.is_staged()),
        ..current
    };
    let deployment_changes = change.settings.iter().any(|s| {
        matches!(
            s.name.as_str(),
            "min_healthy"
                | "max"
                | "circuit_breaker"
                | "strategy"
                | "bake"
                | "canary_percent"
                | "canary_bake"
                | "step_percent"
                | "step_bake"
                | "alarms"
                | "breaker_threshold"
                | "breaker_reset_on_healthy"
                | "lifecycle_hooks"
                | "early_success"
                | "test_traffic_pause"
        )
    });
    // ECS's deploymentConfiguration is sent whole: the strategy, bake and steps as they
    // will be.
    let bake_after = bake_minutes.or(service.bake_minutes);
    if let Some(problem) = misplaced_shift(step, strategy_after) {
        refuse(&mut change, problem, false);
        return change;
    }
    if let Some(early) = effective.early_success
        && u32::try_from(early.healthy_percent).unwrap_or(0) < effective.min_healthy
    {
        refuse(
            &mut change,
            format!(
                "`update {}`: early success at {}% healthy is below the service's \
                 minimum healthy percent ({}%), and ECS refuses that; raise `healthy`, or lower \
                 `min_healthy`",
                step.name, early.healthy_percent, effective.min_healthy
            ),
            false,
        );
        return change;
    }
    if test_pause.is_some() && !strategy_after.is_staged() {
        refuse(&mut change, test_gates_need_stages(step), false);
        return change;
    }
    let links = load_balancers.as_ref().unwrap_or(&service.load_balancers);
    if test_pause.is_some()
        && !links
            .iter()
            .all(|l| l.advanced.as_ref().is_some_and(|a| a.test_listener_rule.is_some()))
    {
        refuse(
            &mut change,
            format!(
                "`verify {}` has gates with `traffic = test`, and not every load balancer of \
                 service `{}` names a `test_listener_rule`: without one no test traffic reaches \
                 the new revision, and the gates would judge the old one",
                step.name, step.service
            ),
            false,
        );
        return change;
    }
    if deployment_changes && declared_hooks.is_none() && service.hooks.others_have_details {
        refuse(
            &mut change,
            format!(
                "service `{}` has lifecycle hooks with `hookDetails` ferry did not set, and ECS \
                 takes the deployment configuration whole: ferry cannot send them back as they \
                 are; declare the hooks in `update {}` (`lifecycle_hook` blocks), or change the \
                 configuration with the tool that set them",
                step.service, step.name
            ),
            false,
        );
        return change;
    }
    if strategy_after.is_staged()
        && let Some(links) = &load_balancers
        && links.iter().any(|l| l.advanced.is_none())
    {
        refuse(
            &mut change,
            format!(
                "service `{}` deploys {}, and ECS requires every load balancer then to name its \
                 alternate target group, production listener rule and role; add them to \
                 `update {}`'s `load_balancer` blocks, with `strategy = {}` (docs/strategies.md)",
                step.service,
                strategy_after.describe(),
                step.name,
                strategy_after.word()
            ),
            false,
        );
        return change;
    }
    let request = ServiceRequest {
        service: step.service.clone(),
        task_definition: if new_revision { revision.arn().map(str::to_owned) } else { None },
        desired: desired.filter(|d| *d != service.desired),
        deployment: deployment_changes.then_some(DeploymentSettings {
            min_healthy: Some(i32::try_from(effective.min_healthy).unwrap_or(100)),
            max: Some(i32::try_from(effective.max).unwrap_or(200)),
            circuit_breaker: Some(effective.circuit_breaker),
            strategy: Some(strategy_after),
            bake_minutes: bake_after.filter(|_| strategy_after.is_staged()),
            shift: if strategy_after.shift_defaults().is_some() {
                shift_after
            } else {
                ShiftView::default()
            },
            alarms: alarms_after,
            breaker_tuning: tuning_after,
            // The Deployfile's hooks, else the service's others sent back as they are.
            hooks: declared_hooks.or_else(|| {
                (!service.hooks.others.is_empty()).then(|| service.hooks.others.clone())
            }),
            // Rolling only: a staged strategy turns it off; sent whenever it is or was set.
            early_success: if strategy_after.is_staged() {
                service.early_success.map(|_| None)
            } else {
                (early_after.is_some() || service.early_success.is_some()).then_some(early_after)
            },
            // Sent when ferry's hook is wanted or there to remove; never an empty list to a
            // service that has none.
            test_pause: match (test_pause, service.hooks.test_pause) {
                (Some(minutes), _) => TestPause::Hold(minutes),
                (None, Some(_)) => TestPause::Remove,
                (None, None) => TestPause::Keep,
            },
        }),
        grace_s: grace_s.filter(|g| Some(*g) != service.grace_s),
        force: force && !new_revision,
        launch_type: None,
        platform_version: step.platform_version.clone().filter(|_| platform_changes),
        network: network.filter(|_| network_changes),
        load_balancers: load_balancers.filter(|_| lbs_change),
        client_token: None,
    };
    change.prediction = Some(predict(&effective));
    if in_progress(service) {
        let rolling = service
            .deployments
            .iter()
            .find(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
            .or(primary);
        if let Some(p) = primary
            && p.rollout_state.as_deref() == Some("IN_PROGRESS")
            && revision.arn() == Some(p.task_definition.as_str())
            && !force
            && !(network_changes || lbs_change || platform_changes)
            && !p.reason.starts_with("ECS deployment circuit breaker: rolling back")
        {
            // Our own revision is rolling out (a run that was interrupted): watch it.
            change.action = UpdateAction::Resume { deployment_id: p.id.clone() };
            change.request = Some(request).filter(|r| *r != settings_free(&step.service));
            change.notes.push(format!(
                "deployment {} of this revision is already in progress: it is watched, not started \
                 again",
                p.id
            ));
            return change;
        }
        let what = rolling.map_or_else(String::new, |d| {
            format!(
                " (deployment {} of {}, {}, {}/{} running{})",
                d.id,
                d.task_definition,
                d.rollout_state.as_deref().unwrap_or("no rollout state"),
                d.running,
                d.desired,
                if d.reason.is_empty() { String::new() } else { format!(": {}", d.reason) }
            )
        });
        refuse(
            &mut change,
            format!(
                "another deployment of service `{}` is in progress{what}; wait for it, or pass \
                 --wait-for-lock",
                step.service
            ),
            true,
        );
        return change;
    }
    if let Some(failed) = failed {
        let what = format!(
            "deployment {} of {} FAILED{}, {} of {} tasks running",
            failed.id,
            failed.task_definition,
            if failed.reason.is_empty() { String::new() } else { format!(" ({})", failed.reason) },
            service.running,
            service.desired
        );
        if !deploys {
            refuse(
                &mut change,
                format!(
                    "service `{}` was left failed by an earlier deployment: {what}; ferry does not \
                     call that deployed — pass --redeploy to start the same revision again, or \
                     deploy a new one",
                    step.service
                ),
                false,
            );
            return change;
        }
        change.notes.push(format!("the service's {what}; this deployment replaces it"));
    }
    let stuck = change.prediction.as_ref().is_some_and(Prediction::stuck);
    let outcome =
        change.prediction.as_ref().and_then(|p| p.timeline.last().cloned()).unwrap_or_default();
    if deploys {
        if stuck {
            refuse(
                &mut change,
                format!(
                    "the deployment of service `{}` would not progress: {outcome}; set \
                     `max = 200%`, or `min_healthy = 0%` to accept downtime",
                    step.service
                ),
                false,
            );
            return change;
        }
        change.action = UpdateAction::Deploy;
        change.request = Some(ServiceRequest {
            task_definition: revision.arn().map(str::to_owned).filter(|_| new_revision),
            force: force && !new_revision,
            ..request
        });
    } else if change.settings.is_empty() {
        change.action = UpdateAction::Nothing;
    } else {
        change.action = UpdateAction::Settings;
        change.request = Some(request);
    }
    change
}

/// A request that sends nothing but the service's name.
fn settings_free(service: &str) -> ServiceRequest {
    ServiceRequest { service: service.to_owned(), ..ServiceRequest::default() }
}

fn network_text(network: &NetworkView) -> String {
    format!(
        "subnets [{}], security groups [{}], public IP {}",
        network.subnets.join(", "),
        network.security_groups.join(", "),
        if network.public_ip { "on" } else { "off" }
    )
}

/// The Deployfile's `early_success { … }` when it turns early success on (none when it
/// writes none, or turns it off: `step.early_success` tells which).
fn early_of(step: &UpdateStep) -> Option<EarlySuccessView> {
    step.early_success.as_ref().filter(|e| e.enable).map(|e| EarlySuccessView {
        healthy_percent: e.healthy.and_then(|h| i32::try_from(h).ok()).unwrap_or(100),
        deferred: e.deferred,
    })
}

/// The Deployfile's `lifecycle_hook` blocks; none when it writes none (the service's
/// stay).
fn hooks_of(step: &UpdateStep) -> Option<Vec<HookView>> {
    step.lifecycle_hooks.as_ref().map(|hooks| {
        hooks
            .iter()
            .map(|h| HookView {
                lambda: h
                    .lambda
                    .clone()
                    .filter(|_| !h.pause)
                    .map(|arn| (arn, h.role.clone().unwrap_or_default())),
                stages: h.stages.clone(),
                timeout_minutes: h
                    .timeout_ms
                    .map_or(1_440, |ms| i32::try_from(ms.div_ceil(60_000)).unwrap_or(20_160)),
                rollback: h.rollback,
            })
            .collect()
    })
}

/// The Deployfile's circuit-breaker threshold and reset.
fn tuning_of(step: &UpdateStep) -> BreakerTuning {
    let int = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    BreakerTuning {
        threshold: step.breaker_count.map(|n| ThresholdView::Count(int(n))).or_else(|| {
            step.breaker_percent.map(|p| {
                if step.breaker_unbounded == Some(true) {
                    ThresholdView::UnboundedPercent(int(p))
                } else {
                    ThresholdView::BoundedPercent(int(p))
                }
            })
        }),
        reset_on_healthy_task: step.breaker_reset_on_healthy,
    }
}

/// The Deployfile's `alarms { … }`: watched when it names any, rolling back unless it
/// says `rollback = false`.
fn alarms_of(step: &UpdateStep) -> Option<AlarmsView> {
    step.alarms.as_ref().map(|a| AlarmsView {
        names: a.names.clone(),
        enable: !a.names.is_empty(),
        rollback: a.rollback && !a.names.is_empty(),
    })
}

/// The Deployfile's names for the steps of `strategy`'s production traffic shift.
fn shift_names(strategy: StrategyView) -> Option<(&'static str, &'static str)> {
    match strategy {
        StrategyView::Linear => Some(("step_percent", "step_bake")),
        StrategyView::Canary => Some(("canary_percent", "canary_bake")),
        StrategyView::Rolling | StrategyView::BlueGreen => None,
    }
}

/// The Deployfile's steps for `strategy` (`step_*` of a linear update, `canary_*` of a
/// canary one), the percent in tenths and the bake in minutes.
fn shift_of(step: &UpdateStep, strategy: StrategyView) -> ShiftView {
    let tenths = |p: Option<i64>| p.and_then(|p| i32::try_from(p * 10).ok());
    let minutes = |ms: Option<u64>| ms.and_then(|ms| i32::try_from(ms / 60_000).ok());
    match strategy {
        StrategyView::Linear => ShiftView {
            percent_tenths: tenths(step.step_percent),
            bake_minutes: minutes(step.step_bake_ms),
        },
        StrategyView::Canary => ShiftView {
            percent_tenths: tenths(step.canary_percent),
            bake_minutes: minutes(step.canary_bake_ms),
        },
        StrategyView::Rolling | StrategyView::BlueGreen => ShiftView::default(),
    }
}

/// A step setting of another strategy than the one the update deploys with (a strategy
/// chosen per environment: the checker cannot see it).
fn misplaced_shift(step: &UpdateStep, strategy: StrategyView) -> Option<String> {
    let set = [
        ("canary_percent", StrategyView::Canary, step.canary_percent.is_some()),
        ("canary_bake", StrategyView::Canary, step.canary_bake_ms.is_some()),
        ("step_percent", StrategyView::Linear, step.step_percent.is_some()),
        ("step_bake", StrategyView::Linear, step.step_bake_ms.is_some()),
    ];
    let (name, owner, _) = set.into_iter().find(|(_, owner, set)| *set && *owner != strategy)?;
    Some(format!(
        "`update {}` sets `{name}`, which is for `strategy = {}`, and the service deploys {}: \
         remove it, or write `strategy = {}`",
        step.name,
        owner.word(),
        strategy.describe(),
        owner.word()
    ))
}

/// ferry's PAUSE hook in words.
fn pause_text(minutes: i32) -> String {
    format!("PAUSE at {TEST_PAUSE_STAGE} for the test-traffic gates, {minutes}m, then ROLLBACK")
}

fn test_gates_need_stages(step: &UpdateStep) -> String {
    format!(
        "`verify {}` has gates with `traffic = test`, and `update {}` deploys rolling: there \
         is no test traffic to judge; write `strategy = blue_green` (or `linear`, `canary`) \
         with a test listener rule, or drop `traffic = test`",
        step.name, step.name
    )
}

fn lb_text(lbs: &[LoadBalancerView]) -> String {
    let items: Vec<String> = lbs
        .iter()
        .map(|lb| match &lb.advanced {
            None => format!("{} → {}:{}", lb.target_group, lb.container, lb.port),
            Some(a) => format!(
                "{} (alternate {}, production rule {}) → {}:{}",
                lb.target_group,
                a.alternate_target_group,
                a.production_listener_rule,
                lb.container,
                lb.port
            ),
        })
        .collect();
    format!("[{}]", items.join(", "))
}
