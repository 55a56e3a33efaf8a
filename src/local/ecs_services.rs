//! Services: `CreateService`, `UpdateService`, `DeleteService`, `DescribeServices`.
//! Each service owns a scheduler `Rollout`; a new task definition (or
//! `forceNewDeployment`, or a new network configuration) starts a deployment, while
//! `desiredCount` and `deploymentConfiguration` alone do not (§6).

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::deployment::DeploymentStatus;
use super::request::Request;
use super::scheduler::{CircuitBreaker, Rollout, RolloutConfig, Strategy, Threshold};
use super::state::{
    EcsState, Service, ServiceStatus, TaskDefinitionStatus, cluster_key, service_key,
};
use super::task::{Stop, StopCode};

/// The most tasks a service may want (ECS's default quota of tasks per service).
const MAX_DESIRED: u32 = 5_000;

/// `desiredCount`, 0 to 5,000.
fn desired_count(n: i64) -> Result<u32, ApiError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_DESIRED)
        .ok_or_else(|| ApiError::invalid(format!("desiredCount must be from 0 to {MAX_DESIRED}.")))
}

impl EcsState {
    /// A service's `loadBalancers` as ECS checks them against the task definition and
    /// Elastic Load Balancing: each names a target group that exists and a load balancer
    /// uses, of target type `ip` for awsvpc tasks, and a container of the task definition
    /// with that container port.
    fn check_load_balancers(&self, load_balancers: &Value, body: &Value) -> Result<(), ApiError> {
        let containers = body["containerDefinitions"].as_array().map_or(&[][..], Vec::as_slice);
        let awsvpc = body["networkMode"] == "awsvpc";
        for entry in load_balancers.as_array().into_iter().flatten() {
            if entry.get("loadBalancerName").is_some_and(|n| !n.is_null()) {
                return Err(ApiError::invalid(
                    "Classic Load Balancers are not modelled by the local ECS; name a \
                     targetGroupArn.",
                ));
            }
            let Some(arn) = entry["targetGroupArn"].as_str() else {
                return Err(ApiError::invalid("targetGroupArn can not be null or empty."));
            };
            let group = self.elbv2.target_groups.get(arn).ok_or_else(|| {
                ApiError::invalid(format!(
                    "The target group with targetGroupArn {arn} does not exist."
                ))
            })?;
            if self.elbv2.load_balancers_of(arn).is_empty() {
                return Err(ApiError::invalid(format!(
                    "The target group with targetGroupArn {arn} does not have an associated load \
                     balancer."
                )));
            }
            if !awsvpc && group.target_type == "ip" {
                let mode = body["networkMode"].as_str().unwrap_or("bridge");
                return Err(ApiError::invalid(format!(
                    "The provided target group {arn} has target type ip, which is incompatible \
                     with the {mode} network mode specified in the task definition."
                )));
            }
            if awsvpc && group.target_type != "ip" {
                return Err(ApiError::invalid(format!(
                    "The provided target group {arn} has target type {}, which is incompatible \
                     with the awsvpc network mode specified in the task definition.",
                    group.target_type
                )));
            }
            let name = entry["containerName"].as_str().unwrap_or_default();
            let container = containers.iter().find(|c| c["name"] == name).ok_or_else(|| {
                ApiError::invalid(format!(
                    "The container {name} does not exist in the task definition."
                ))
            })?;
            let port = entry["containerPort"].as_i64().unwrap_or_default();
            let mapped = container["portMappings"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["containerPort"].as_i64() == Some(port));
            if !mapped {
                return Err(ApiError::invalid(format!(
                    "The container {name} did not have a container port {port} defined."
                )));
            }
        }
        Ok(())
    }

    /// A deployment configuration's strategy against the service's `loadBalancers`, in
    /// ECS's words where AWS documents them (docs/strategies.md): a bake of 0 to 1,440
    /// minutes, required by BLUE_GREEN; with BLUE_GREEN every load balancer has an
    /// `advancedConfiguration` naming another target group of the same target type, a
    /// production listener rule and a role, and each rule exists and forwards to one of
    /// the two groups. BLUE_GREEN without a load balancer is allowed: ECS moves no traffic.
    fn check_strategy(&self, config: &Value, load_balancers: &Value) -> Result<(), ApiError> {
        check_threshold(config)?;
        check_early_success(config)?;
        let bake = config.get("bakeTimeInMinutes").and_then(Value::as_i64);
        if bake.is_some_and(|m| !(0..=1_440).contains(&m)) {
            return Err(ApiError::invalid("bakeTimeInMinutes must be between 0 and 1440."));
        }
        for hook in config.get("lifecycleHooks").and_then(Value::as_array).into_iter().flatten() {
            let kind = hook["targetType"].as_str().unwrap_or("AWS_LAMBDA");
            if !matches!(kind, "AWS_LAMBDA" | "PAUSE") {
                return Err(ApiError::invalid(
                    "Invalid targetType. Valid values are: AWS_LAMBDA, PAUSE",
                ));
            }
            let stages: Vec<&str> = hook["lifecycleStages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if stages.is_empty() {
                return Err(ApiError::invalid("lifecycleStages must name at least one stage."));
            }
            if kind == "PAUSE"
                && stages
                    .iter()
                    .any(|s| matches!(*s, "TEST_TRAFFIC_SHIFT" | "PRODUCTION_TRAFFIC_SHIFT"))
            {
                return Err(ApiError::invalid("Invalid lifecycle stage provided for Pause Hook"));
            }
            if kind == "AWS_LAMBDA"
                && (hook["hookTargetArn"].as_str().is_none() || hook["roleArn"].as_str().is_none())
            {
                return Err(ApiError::invalid(
                    "hookTargetArn and roleArn are required for an AWS_LAMBDA lifecycle hook.",
                ));
            }
        }
        let entries = load_balancers.as_array().map_or(&[][..], Vec::as_slice);
        let advanced =
            |entry: &Value| entry.get("advancedConfiguration").is_some_and(Value::is_object);
        let strategy = config.get("strategy").and_then(Value::as_str).unwrap_or("ROLLING");
        match strategy {
            "ROLLING" => {
                let hooks = config.get("lifecycleHooks").and_then(Value::as_array);
                if hooks.is_some_and(|h| !h.is_empty()) {
                    return Err(ApiError::invalid(
                        "The local ECS runs lifecycle hooks with the BLUE_GREEN deployment \
                         strategy only.",
                    ));
                }
                if entries.iter().any(advanced) {
                    return Err(ApiError::invalid(
                        "advancedConfiguration is only used with a non-ROLLING deployment \
                         strategy.",
                    ));
                }
                return Ok(());
            }
            "BLUE_GREEN" | "LINEAR" | "CANARY" => {}
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid deployment strategy {other}. Valid values are: ROLLING, BLUE_GREEN, \
                     LINEAR, CANARY"
                )));
            }
        }
        check_shift(config)?;
        if bake.is_none() && strategy == "BLUE_GREEN" {
            return Err(ApiError::invalid(
                "bakeTimeInMinutes is required with the BLUE_GREEN deployment strategy.",
            ));
        }
        if entries.iter().any(advanced) && !entries.iter().all(advanced) {
            return Err(ApiError::invalid(
                "Either all or none of the provided loadBalancers must have advancedConfiguration \
                 defined",
            ));
        }
        if !entries.is_empty() && !entries.iter().all(advanced) {
            return Err(ApiError::invalid(
                "advancedConfiguration field is required for all loadBalancers when using a \
                 non-ROLLING deployment strategy",
            ));
        }
        let mut groups: Vec<&str> = Vec::new();
        for entry in entries {
            let primary = entry["targetGroupArn"].as_str().unwrap_or_default();
            let member = |name: &str| {
                entry
                    .pointer(&format!("/advancedConfiguration/{name}"))
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
            };
            let missing = ["alternateTargetGroupArn", "productionListenerRule", "roleArn"]
                .into_iter()
                .find(|name| member(name).is_none());
            if let Some(name) = missing {
                return Err(ApiError::invalid(format!(
                    "advancedConfiguration.{name} is required for the load balancer of target \
                     group {primary}."
                )));
            }
            let alternate = member("alternateTargetGroupArn").unwrap_or_default();
            for arn in [primary, alternate] {
                if groups.contains(&arn) {
                    return Err(ApiError::invalid(format!(
                        "Duplicate targetGroupArn found: {arn}"
                    )));
                }
                groups.push(arn);
            }
            let group = self.elbv2.target_groups.get(alternate).ok_or_else(|| {
                ApiError::invalid(format!(
                    "The target group with targetGroupArn {alternate} does not exist."
                ))
            })?;
            if let Some(own) = self.elbv2.target_groups.get(primary)
                && own.target_type != group.target_type
            {
                return Err(ApiError::invalid(format!(
                    "The alternate target group {alternate} has target type {}, and target group \
                     {primary} has {}: they must be the same.",
                    group.target_type, own.target_type
                )));
            }
            let (production, test) = (member("productionListenerRule"), member("testListenerRule"));
            if production.is_some() && production == test {
                return Err(ApiError::invalid(format!(
                    "The following rules cannot be used as both production and test listener \
                     rules: {}",
                    production.unwrap_or_default()
                )));
            }
            let mut covered: Vec<String> = Vec::new();
            for (name, rule) in [("productionListenerRule", production), ("testListenerRule", test)]
            {
                let Some(rule) = rule else { continue };
                let Some(found) = self.elbv2.rules.get(rule) else {
                    return Err(ApiError::invalid(format!(
                        "{name} has an invalid ARN format or does not exist. Must be RuleArn for \
                         ALB. Got: {rule}"
                    )));
                };
                let forwards = super::elbv2::forwarded(&found.actions);
                if !forwards.iter().any(|g| g == primary || g == alternate) {
                    return Err(ApiError::invalid(format!(
                        "Target group {primary} is not associated with either \
                         productionListenerRule or testListenerRule."
                    )));
                }
                covered.extend(forwards);
            }
            if !(covered.iter().any(|g| g == primary) && covered.iter().any(|g| g == alternate)) {
                return Err(ApiError::invalid(
                    "For Application LoadBalancer, testListenerRule is required when \
                     productionListenerRule is not associated with both targetGroup and \
                     alternateTargetGroup",
                ));
            }
        }
        Ok(())
    }

    pub fn create_service(&mut self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let cluster_name = cluster_key(request.string("cluster")?);
        let name = request.required_string("serviceName")?.to_owned();
        if name.len() > 255
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::invalid(
                "Service name must be up to 255 letters (uppercase and lowercase), numbers, \
                 hyphens, and underscores.",
            ));
        }
        if request.string("schedulingStrategy")?.is_some_and(|s| s != "REPLICA") {
            return Err(ApiError::invalid(
                "The local ECS supports the REPLICA scheduling strategy only.",
            ));
        }
        if request
            .value("deploymentController")
            .and_then(|c| c.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t != "ECS")
        {
            return Err(ApiError::invalid(
                "The local ECS supports the ECS deployment controller only.",
            ));
        }
        let desired = request.integer("desiredCount")?.ok_or_else(|| {
            ApiError::invalid("desiredCount can not be null for a REPLICA service.")
        })?;
        let desired = desired_count(desired)?;
        let load_balancers = request.value("loadBalancers").cloned().unwrap_or_else(|| json!([]));
        let revision = {
            let td = self.task_definition(request.required_string("taskDefinition")?)?;
            if td.status != TaskDefinitionStatus::Active {
                return Err(ApiError::client("TaskDefinition is inactive"));
            }
            self.check_load_balancers(&load_balancers, &td.body)?;
            td.revision_info()
        };
        let client_token = request.string("clientToken")?.map(str::to_owned);
        if client_token.as_ref().is_some_and(|t| {
            t.is_empty() || t.len() > 36 || !t.bytes().all(|b| (33..=126).contains(&b))
        }) {
            return Err(ApiError::invalid(
                "clientToken must be 1 to 36 ASCII characters from 33 to 126.",
            ));
        }
        let cluster = self.clusters.get(&cluster_name).ok_or_else(ApiError::cluster_not_found)?;
        if let Some(existing) =
            cluster.services.get(&name).filter(|s| s.status != ServiceStatus::Inactive)
        {
            // A retry of the call that made it (same token) gets the service it made.
            if client_token.is_some() && existing.client_token == client_token {
                return Ok(self.service_answer(&cluster_name, &name, now));
            }
            return Err(ApiError::invalid("Creation of service was not idempotent."));
        }
        let cluster_arn = cluster.arn.clone();
        let deployment_configuration =
            deployment_configuration(request.value("deploymentConfiguration"), None)?;
        self.check_strategy(&deployment_configuration, &load_balancers)?;
        let config = RolloutConfig {
            desired,
            min_healthy_percent: percent(&deployment_configuration, "minimumHealthyPercent"),
            max_percent: percent(&deployment_configuration, "maximumPercent"),
            grace_ms: grace(request)?.unwrap_or(0),
            circuit_breaker: breaker(&deployment_configuration),
            capacity: self.capacity,
            drain_ms: self.elbv2.links(&load_balancers).1,
            target_groups: self.elbv2.links(&load_balancers).0,
            strategy: strategy(&deployment_configuration),
            bake_ms: bake_ms(&deployment_configuration),
            hooks: hooks(&deployment_configuration),
            alarms: alarms(&deployment_configuration),
            early_success: early_success(&deployment_configuration),
        };
        let mut rollout = Rollout::new(&name, config, self.settings);
        rollout.deploy(revision, &mut self.ids, now);
        let arn = format!("{}/{}", cluster_arn.replace(":cluster/", ":service/"), name);
        let service = Service {
            name: name.clone(),
            arn: arn.clone(),
            status: ServiceStatus::Active,
            rollout,
            // Without a launch type or capacity provider, ECS places on EC2.
            launch_type: Some(request.string("launchType")?.unwrap_or("EC2").to_owned()),
            platform_version: request.string("platformVersion")?.map(str::to_owned),
            network_configuration: request.value("networkConfiguration").cloned(),
            load_balancers,
            deployment_configuration,
            propagate_tags: Some(request.string("propagateTags")?.unwrap_or("NONE").to_owned()),
            enable_ecs_managed_tags: request.boolean("enableECSManagedTags")?.unwrap_or(false),
            enable_execute_command: request.boolean("enableExecuteCommand")?.unwrap_or(false),
            created_ms: now,
            service_deployments: Vec::new(),
            revision_count: 0,
            client_token,
        };
        self.set_tags_from(&arn, request)?;
        let cluster =
            self.clusters.get_mut(&cluster_name).ok_or_else(ApiError::cluster_not_found)?;
        cluster.services.insert(name.clone(), service);
        let service = cluster.services.get_mut(&name).ok_or_else(ApiError::service_not_found)?;
        super::ecs_service_deployments::sync(service, now);
        Ok(self.service_answer(&cluster_name, &name, now))
    }

    pub fn update_service(&mut self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let cluster_name = cluster_key(request.string("cluster")?);
        let name = service_key(request.required_string("service")?);
        let revision = match request.string("taskDefinition")? {
            Some(reference) => {
                let td = self.task_definition(reference)?;
                if td.status != TaskDefinitionStatus::Active {
                    return Err(ApiError::client("TaskDefinition is inactive"));
                }
                Some(td.revision_info())
            }
            None => None,
        };
        let grace = grace(request)?;
        let desired = match request.integer("desiredCount")? {
            Some(n) => Some(desired_count(n)?),
            None => None,
        };
        let force = request.boolean("forceNewDeployment")?.unwrap_or(false);
        let network = request.value("networkConfiguration").cloned();
        let load_balancers = request.value("loadBalancers").cloned();
        if let Some(wanted) = &load_balancers {
            // New load balancers, against the revision the service will run; those it
            // already has are not checked again (a state file may predate the target
            // groups). A missing or inactive service is reported below.
            let service = self.clusters.get(&cluster_name).and_then(|c| c.services.get(&name));
            let active = service.filter(|s| s.status == ServiceStatus::Active);
            let reference = match &revision {
                Some(revision) => Some(revision.arn.clone()),
                None => active.and_then(|s| s.rollout.primary()).map(|p| p.revision.arn.clone()),
            };
            if let (Some(service), Some(reference)) = (active, reference)
                && service.load_balancers != *wanted
                && let Ok(td) = self.task_definition(&reference)
            {
                self.check_load_balancers(wanted, &td.body)?;
            }
        }
        let platform_version = request.string("platformVersion")?.map(str::to_owned);
        // The deployment configuration and load balancers as they will be, checked together.
        let (configured, linked) = {
            let service = self.clusters.get(&cluster_name).and_then(|c| c.services.get(&name));
            let configured = match (request.value("deploymentConfiguration"), service) {
                (Some(value), current) => Some(deployment_configuration(
                    Some(value),
                    current.map(|s| &s.deployment_configuration),
                )?),
                (None, _) => None,
            };
            (
                configured,
                service.map(|s| (s.deployment_configuration.clone(), s.load_balancers.clone())),
            )
        };
        if let Some((current_config, current_links)) = &linked
            && (configured.is_some() || load_balancers.is_some())
        {
            self.check_strategy(
                configured.as_ref().unwrap_or(current_config),
                load_balancers.as_ref().unwrap_or(current_links),
            )?;
        }
        let cluster =
            self.clusters.get_mut(&cluster_name).ok_or_else(ApiError::cluster_not_found)?;
        let service = cluster.services.get_mut(&name).ok_or_else(ApiError::service_not_found)?;
        if service.status != ServiceStatus::Active {
            return Err(ApiError::service_not_active());
        }
        if let Some(configured) = configured {
            service.deployment_configuration = configured;
            let config = &mut service.rollout.config;
            config.min_healthy_percent =
                percent(&service.deployment_configuration, "minimumHealthyPercent");
            config.max_percent = percent(&service.deployment_configuration, "maximumPercent");
            config.circuit_breaker = breaker(&service.deployment_configuration);
            config.strategy = strategy(&service.deployment_configuration);
            config.bake_ms = bake_ms(&service.deployment_configuration);
            config.hooks = hooks(&service.deployment_configuration);
            config.alarms = alarms(&service.deployment_configuration);
            config.early_success = early_success(&service.deployment_configuration);
        }
        if let Some(desired) = desired {
            service.rollout.config.desired = desired;
        }
        if let Some(grace) = grace {
            service.rollout.config.grace_ms = grace;
        }
        let current = service.rollout.primary().map(|p| p.revision.clone());
        let mut changed = force;
        if let Some(network) = network
            && service.network_configuration.as_ref() != Some(&network)
        {
            service.network_configuration = Some(network);
            changed = true;
        }
        if let Some(load_balancers) = load_balancers
            && service.load_balancers != load_balancers
        {
            let sides = |lbs: &Value| {
                lbs.as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e.get("advancedConfiguration").is_some())
            };
            if sides(&service.load_balancers) && !sides(&load_balancers) {
                if service.rollout.traffic.is_some_and(super::scheduler::Traffic::production_side) {
                    return Err(ApiError::invalid(
                        "Production traffic is on the alternate target group: the local ECS does \
                         not move a service off its advancedConfiguration then; deploy blue/green \
                         once more to move it back to the targetGroupArn first.",
                    ));
                }
                // The rules stay as they are, on the service's own groups.
                service.rollout.traffic = None;
            }
            service.load_balancers = load_balancers;
            changed = true;
        }
        // A deployment this call starts registers in the groups as they now are, and
        // moves traffic from where the production rule sends it.
        let (links, drain_ms) = self.elbv2.links(&service.load_balancers);
        service.rollout.config.target_groups = links;
        service.rollout.config.drain_ms = drain_ms;
        if service.rollout.traffic.is_none() {
            service.rollout.traffic = self.elbv2.traffic_of(&service.load_balancers);
        }
        if platform_version.is_some() && platform_version != service.platform_version {
            service.platform_version = platform_version;
            changed = true;
        }
        let target = revision.clone().or(current.clone());
        if let Some(target) = target
            && (changed || current.as_ref().is_none_or(|c| c.arn != target.arn))
        {
            service.rollout.deploy(target, &mut self.ids, now);
        }
        super::ecs_service_deployments::sync(service, now);
        Ok(self.service_answer(&cluster_name, &name, now))
    }

    pub fn delete_service(&mut self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let cluster_name = cluster_key(request.string("cluster")?);
        let name = service_key(request.required_string("service")?);
        let force = request.boolean("force")?.unwrap_or(false);
        let cluster =
            self.clusters.get_mut(&cluster_name).ok_or_else(ApiError::cluster_not_found)?;
        let service = cluster.services.get_mut(&name).ok_or_else(ApiError::service_not_found)?;
        if service.status != ServiceStatus::Active {
            return Err(ApiError::service_not_active());
        }
        if service.rollout.config.desired > 0 && !force {
            return Err(ApiError::invalid(
                "The service cannot be stopped while it is scaled above 0.",
            ));
        }
        service.status = ServiceStatus::Draining;
        service.rollout.config.desired = 0;
        for task in &mut service.rollout.tasks {
            task.request_stop(
                Stop {
                    code: StopCode::ServiceSchedulerInitiated,
                    reason: "Service deleted".to_owned(),
                    exit_code: None,
                    container_reason: None,
                    failure: false,
                },
                now,
            );
        }
        Ok(self.service_answer(&cluster_name, &name, now))
    }

    pub fn describe_services(&self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let cluster = self.cluster(request.string("cluster")?)?;
        let names = request.strings("services")?;
        if names.is_empty() || names.len() > 10 {
            return Err(ApiError::invalid("services must hold 1 to 10 services."));
        }
        let tags = request.includes_tags()?;
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for name in names {
            match cluster.services.get(&service_key(name)) {
                Some(service) => services.push(self.service_json(&cluster.arn, service, now, tags)),
                None => failures.push(json!({
                    "arn": format!(
                        "{}/{}",
                        cluster.arn.replace(":cluster/", ":service/"),
                        service_key(name)
                    ),
                    "reason": "MISSING",
                })),
            }
        }
        Ok(json!({ "services": services, "failures": failures }))
    }

    /// `{"service": …}`, the answer of Create/Update/DeleteService.
    fn service_answer(&self, cluster_name: &str, name: &str, now: u64) -> Value {
        let cluster = &self.clusters[cluster_name];
        json!({ "service": self.service_json(&cluster.arn, &cluster.services[name], now, false) })
    }

    /// A service as `DescribeServices` shows it.
    #[must_use]
    pub fn service_json(
        &self,
        cluster_arn: &str,
        service: &Service,
        now: u64,
        with_tags: bool,
    ) -> Value {
        let rollout = &service.rollout;
        let deployments: Vec<Value> = rollout
            .deployments
            .iter()
            .map(|d| {
                let (running, pending) = rollout.counts(&d.id);
                let desired = if d.status == DeploymentStatus::Primary {
                    rollout.config.desired
                } else {
                    rollout
                        .tasks
                        .iter()
                        .filter(|t| t.deployment_id == d.id && t.is_active())
                        .count() as u32
                };
                let mut deployment = json!({
                    "id": d.id,
                    "status": d.status.as_str(),
                    "taskDefinition": d.revision.arn,
                    "desiredCount": desired,
                    "pendingCount": pending,
                    "runningCount": running,
                    "failedTasks": d.failed_tasks,
                    "createdAt": self.time(d.created_ms),
                    "updatedAt": self.time(d.updated_ms),
                    "rolloutState": d.rollout.as_str(),
                    "rolloutStateReason": d.reason,
                });
                if let Some(launch_type) = &service.launch_type {
                    deployment["launchType"] = json!(launch_type);
                }
                if let Some(network) = &service.network_configuration {
                    deployment["networkConfiguration"] = network.clone();
                }
                deployment
            })
            .collect();
        let (running, pending) = rollout.tasks.iter().fold((0, 0), |(r, p), t| match t.state {
            super::task::TaskState::Running => (r + 1, p),
            super::task::TaskState::Pending => (r, p + 1),
            _ => (r, p),
        });
        let events: Vec<Value> = rollout
            .events
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "createdAt": self.time(e.created_ms),
                    "message": e.message,
                })
            })
            .collect();
        let mut value = json!({
            "serviceArn": service.arn,
            "serviceName": service.name,
            "clusterArn": cluster_arn,
            "loadBalancers": service.load_balancers,
            "serviceRegistries": [],
            "status": service.status.as_str(),
            "desiredCount": rollout.config.desired,
            "runningCount": running,
            "pendingCount": pending,
            "taskDefinition": rollout.primary().map(|p| p.revision.arn.clone()),
            "deploymentConfiguration": service.deployment_configuration,
            "deployments": deployments,
            "events": events,
            "createdAt": self.time(service.created_ms),
            "placementConstraints": [],
            "placementStrategy": [],
            "healthCheckGracePeriodSeconds": rollout.config.grace_ms / 1000,
            "schedulingStrategy": "REPLICA",
            "deploymentController": { "type": "ECS" },
            "createdBy": format!("arn:aws:iam::{}:root", self.account),
            "enableECSManagedTags": service.enable_ecs_managed_tags,
            "enableExecuteCommand": service.enable_execute_command,
        });
        for (member, field) in [
            ("launchType", &service.launch_type),
            ("platformVersion", &service.platform_version),
            ("propagateTags", &service.propagate_tags),
        ] {
            if let Some(text) = field {
                value[member] = json!(text);
            }
        }
        if let Some(network) = &service.network_configuration {
            value["networkConfiguration"] = network.clone();
        }
        if let Some(current) = service.service_deployments.last() {
            value["currentServiceDeployment"] = json!(current.arn);
        }
        let revisions: Vec<Value> = rollout
            .deployments
            .iter()
            .filter_map(|d| {
                service.service_deployments.iter().find(|s| s.deployment_id == d.id).map(|s| (d, s))
            })
            .map(|(d, s)| {
                let (running, pending) = rollout.counts(&d.id);
                json!({
                    "arn": s.target_revision_arn,
                    "requestedTaskCount": if d.status == DeploymentStatus::Primary {
                        rollout.config.desired
                    } else {
                        0
                    },
                    "runningTaskCount": running,
                    "pendingTaskCount": pending,
                })
            })
            .collect();
        value["currentServiceRevisions"] = json!(revisions);
        if with_tags {
            value["tags"] = self.tags_json(&service.arn);
        }
        let _ = now;
        value
    }
}

/// `deploymentConfiguration` with ECS's defaults filled in, merged over `current`.
fn deployment_configuration(
    given: Option<&Value>,
    current: Option<&Value>,
) -> Result<Value, ApiError> {
    let mut config = current.cloned().unwrap_or_else(|| {
        json!({
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": { "enable": false, "rollback": false },
        })
    });
    if let Some(Value::Object(given)) = given {
        for (key, value) in given {
            config[key.as_str()] = value.clone();
        }
    } else if given.is_some() {
        return Err(ApiError::serialization("Expected a structure for deploymentConfiguration"));
    }
    let min = config.get("minimumHealthyPercent").and_then(Value::as_i64).unwrap_or(100);
    let max = config.get("maximumPercent").and_then(Value::as_i64).unwrap_or(200);
    if !(0..=100).contains(&min) {
        return Err(ApiError::invalid("minimumHealthyPercent must be between 0 and 100."));
    }
    if max < 0 {
        return Err(ApiError::invalid("maximumPercent must be 0 or more."));
    }
    Ok(config)
}

/// `strategy`, with the linear and canary steps and ECS's defaults (10 % every 6 minutes;
/// 5 %, then the rest 10 minutes later). Unknown words are refused by `check_strategy`.
fn strategy(config: &Value) -> Strategy {
    let tenths = |v: &Value| v.as_f64().map(|p| (p * 10.0).round() as u32);
    let minutes = |v: &Value| v.as_u64().map(|m| m * 60_000);
    match config.get("strategy").and_then(Value::as_str) {
        Some("BLUE_GREEN") => Strategy::BlueGreen,
        Some("LINEAR") => {
            let linear = &config["linearConfiguration"];
            Strategy::Linear {
                step_permille: tenths(&linear["stepPercent"]).unwrap_or(100),
                step_bake_ms: minutes(&linear["stepBakeTimeInMinutes"]).unwrap_or(6 * 60_000),
            }
        }
        Some("CANARY") => {
            let canary = &config["canaryConfiguration"];
            Strategy::Canary {
                permille: tenths(&canary["canaryPercent"]).unwrap_or(50),
                bake_ms: minutes(&canary["canaryBakeTimeInMinutes"]).unwrap_or(10 * 60_000),
            }
        }
        _ => Strategy::Rolling,
    }
}

/// `linearConfiguration` and `canaryConfiguration` within ECS's ranges: a step of 3 to 100
/// percent in tenths, a canary of 0.1 to 100 percent, bakes of 0 to 1,440 minutes.
fn check_shift(config: &Value) -> Result<(), ApiError> {
    let checks: [(&str, &str, f64, f64); 2] = [
        ("linearConfiguration", "stepPercent", 3.0, 100.0),
        ("canaryConfiguration", "canaryPercent", 0.1, 100.0),
    ];
    for (member, percent, low, high) in checks {
        let Some(shift) = config.get(member).filter(|v| v.is_object()) else { continue };
        if let Some(value) = shift.get(percent) {
            let p = value.as_f64().unwrap_or(f64::NAN);
            let tenths = p * 10.0;
            if !(low..=high).contains(&p) || (tenths - tenths.round()).abs() > 1e-6 {
                return Err(ApiError::invalid(format!(
                    "{member}.{percent} must be a multiple of 0.1 between {low} and {high}."
                )));
            }
        }
        let bake = if member == "linearConfiguration" {
            "stepBakeTimeInMinutes"
        } else {
            "canaryBakeTimeInMinutes"
        };
        if let Some(value) = shift.get(bake)
            && !value.as_i64().is_some_and(|m| (0..=1_440).contains(&m))
        {
            return Err(ApiError::invalid(format!("{member}.{bake} must be between 0 and 1440.")));
        }
    }
    Ok(())
}

/// `lifecycleHooks`, with ECS's defaults: AWS_LAMBDA, a timeout of 1,440 minutes that
/// rolls back.
fn hooks(config: &Value) -> Vec<super::scheduler::Hook> {
    let hooks = config.get("lifecycleHooks").and_then(Value::as_array);
    hooks
        .into_iter()
        .flatten()
        .map(|hook| {
            let timeout = hook.get("timeoutConfiguration");
            super::scheduler::Hook {
                target_type: hook["targetType"].as_str().unwrap_or("AWS_LAMBDA").to_owned(),
                target_arn: hook["hookTargetArn"].as_str().map(str::to_owned),
                stages: string_list(&hook["lifecycleStages"]),
                timeout_ms: timeout.and_then(|t| t["timeoutInMinutes"].as_u64()).unwrap_or(1_440)
                    * 60_000,
                timeout_rolls_back: timeout.and_then(|t| t["action"].as_str()) != Some("CONTINUE"),
            }
        })
        .collect()
}

/// `earlySuccessCriteria`, when enabled.
fn early_success(config: &Value) -> Option<super::scheduler::EarlySuccess> {
    let criteria = config.get("earlySuccessCriteria")?;
    criteria["enable"].as_bool().filter(|e| *e)?;
    Some(super::scheduler::EarlySuccess {
        healthy_percent: u32::try_from(criteria["healthyPercent"].as_u64().unwrap_or(100))
            .unwrap_or(100),
        deferred: criteria["sourceServiceRevisionCleanup"].as_str() == Some("DEFERRED"),
    })
}

/// `earlySuccessCriteria` within ECS's rules: rolling only, `healthyPercent` 0 to 100 and
/// at least `minimumHealthyPercent`, a cleanup of BLOCKING or DEFERRED, both given when
/// enabled.
fn check_early_success(config: &Value) -> Result<(), ApiError> {
    let Some(criteria) = config.get("earlySuccessCriteria") else { return Ok(()) };
    if !criteria["enable"].as_bool().unwrap_or(false) {
        return Ok(());
    }
    if config.get("strategy").and_then(Value::as_str).is_some_and(|s| s != "ROLLING") {
        return Err(ApiError::invalid(
            "earlySuccessCriteria is only supported with the ROLLING deployment strategy.",
        ));
    }
    let percent = criteria["healthyPercent"].as_i64().ok_or_else(|| {
        ApiError::invalid("earlySuccessCriteria.healthyPercent is required when enable is true.")
    })?;
    let min = config.get("minimumHealthyPercent").and_then(Value::as_i64).unwrap_or(100);
    if !(0..=100).contains(&percent) || percent < min {
        return Err(ApiError::invalid(format!(
            "earlySuccessCriteria.healthyPercent must be between 0 and 100 and at least \
             minimumHealthyPercent ({min})."
        )));
    }
    match criteria["sourceServiceRevisionCleanup"].as_str() {
        Some("BLOCKING" | "DEFERRED") => Ok(()),
        _ => Err(ApiError::invalid(
            "earlySuccessCriteria.sourceServiceRevisionCleanup must be BLOCKING or DEFERRED.",
        )),
    }
}

/// The strings of a JSON list (none when it is not one).
fn string_list(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// `alarms`: their names, whether they are watched and whether a failure rolls back.
fn alarms(config: &Value) -> super::scheduler::Alarms {
    let alarms = &config["alarms"];
    super::scheduler::Alarms {
        names: string_list(&alarms["alarmNames"]),
        enable: alarms["enable"].as_bool().unwrap_or(false),
        rollback: alarms["rollback"].as_bool().unwrap_or(false),
    }
}

/// `bakeTimeInMinutes`, in milliseconds.
fn bake_ms(config: &Value) -> u64 {
    config.get("bakeTimeInMinutes").and_then(Value::as_u64).unwrap_or(0) * 60_000
}

fn percent(config: &Value, member: &str) -> u32 {
    config.get(member).and_then(Value::as_u64).unwrap_or(if member == "maximumPercent" {
        200
    } else {
        100
    }) as u32
}

fn breaker(config: &Value) -> CircuitBreaker {
    let breaker = config.get("deploymentCircuitBreaker");
    let flag =
        |name: &str| breaker.and_then(|b| b.get(name)).and_then(Value::as_bool).unwrap_or(false);
    CircuitBreaker {
        enable: flag("enable"),
        rollback: flag("rollback"),
        reset_on_healthy_task: breaker
            .and_then(|b| b.get("resetOnHealthyTask"))
            .and_then(Value::as_bool)
            .unwrap_or(true),
        threshold: breaker
            .and_then(|b| b.get("thresholdConfiguration"))
            .and_then(|t| {
                let value = u32::try_from(t.get("value")?.as_u64()?).ok()?;
                Some(match t.get("type")?.as_str()? {
                    "COUNT" => Threshold::Count(value),
                    "UNBOUNDED_PERCENT" => Threshold::UnboundedPercent(value),
                    _ => Threshold::BoundedPercent(value),
                })
            })
            .unwrap_or_default(),
    }
}

/// `deploymentCircuitBreaker.thresholdConfiguration`: a type ECS knows and a value of 1 or
/// more (a percent of at most 100).
fn check_threshold(config: &Value) -> Result<(), ApiError> {
    let Some(threshold) = config.pointer("/deploymentCircuitBreaker/thresholdConfiguration") else {
        return Ok(());
    };
    let kind = threshold.get("type").and_then(Value::as_str).unwrap_or("BOUNDED_PERCENT");
    if !matches!(kind, "COUNT" | "BOUNDED_PERCENT" | "UNBOUNDED_PERCENT") {
        return Err(ApiError::invalid(
            "Invalid thresholdConfiguration.type. Valid values are: COUNT, BOUNDED_PERCENT, \
             UNBOUNDED_PERCENT",
        ));
    }
    let value = threshold.get("value").and_then(Value::as_i64).unwrap_or(50);
    let most = if kind == "COUNT" { i64::from(u32::MAX) } else { 100 };
    if !(1..=most).contains(&value) {
        return Err(ApiError::invalid(format!(
            "thresholdConfiguration.value must be between 1 and {most} for {kind}."
        )));
    }
    Ok(())
}

fn grace(request: Request<'_>) -> Result<Option<u64>, ApiError> {
    match request.integer("healthCheckGracePeriodSeconds")? {
        None => Ok(None),
        Some(seconds) if (0..=2_147_483_647).contains(&seconds) => Ok(Some(seconds as u64 * 1000)),
        Some(_) => Err(ApiError::invalid(
            "healthCheckGracePeriodSeconds must be between 0 and 2147483647.",
        )),
    }
}
