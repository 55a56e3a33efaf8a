//! Target groups of the local Elastic Load Balancing v2 (docs/traffic.md): their health
//! check settings and attributes, targets registered by hand, the targets ECS registers
//! for a service's tasks, and `DescribeTargetHealth`, which reads both through
//! `target_health` — the same function the scheduler counts healthy tasks with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::elbv2::{check_name, page, paged, refused};
use super::request::Request;
use super::state::{EcsState, Tag};
use super::target_health::{Failure, Fate, HealthTiming, TargetState, TaskTarget};
use super::task::{Task, TaskState};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: Option<String>,
    pub protocol_version: Option<String>,
    pub port: Option<i64>,
    pub vpc_id: Option<String>,
    /// `instance` or `ip`.
    pub target_type: String,
    pub ip_address_type: String,
    /// The `HealthCheck*` members, `HealthyThresholdCount`, `UnhealthyThresholdCount`
    /// and `Matcher`, as the API shows them.
    pub health_check: Value,
    pub attributes: BTreeMap<String, String>,
    /// Registered by `RegisterTargets` (ECS's own are its tasks').
    pub targets: Vec<RegisteredTarget>,
}

/// A target registered by hand.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegisteredTarget {
    pub id: String,
    pub port: i64,
    pub availability_zone: Option<String>,
    pub registered_ms: u64,
    pub deregistered_ms: Option<u64>,
}

/// The attributes of a target group and their defaults (Application and Network Load
/// Balancer target groups).
const HTTP_ATTRIBUTES: [(&str, &str); 7] = [
    ("deregistration_delay.timeout_seconds", "300"),
    ("load_balancing.algorithm.type", "round_robin"),
    ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
    ("slow_start.duration_seconds", "0"),
    ("stickiness.enabled", "false"),
    ("stickiness.lb_cookie.duration_seconds", "86400"),
    ("stickiness.type", "lb_cookie"),
];
const TCP_ATTRIBUTES: [(&str, &str); 7] = [
    ("deregistration_delay.connection_termination.enabled", "false"),
    ("deregistration_delay.timeout_seconds", "300"),
    ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
    ("preserve_client_ip.enabled", "true"),
    ("proxy_protocol_v2.enabled", "false"),
    ("stickiness.enabled", "false"),
    ("stickiness.type", "source_ip"),
];

impl TargetGroup {
    /// How its targets are checked.
    #[must_use]
    pub fn timing(&self) -> HealthTiming {
        let number = |name: &str, default: u64| {
            self.health_check.get(name).and_then(Value::as_u64).unwrap_or(default)
        };
        HealthTiming {
            interval_ms: number("HealthCheckIntervalSeconds", 30) * 1000,
            healthy_threshold: number("HealthyThresholdCount", 5) as u32,
            unhealthy_threshold: number("UnhealthyThresholdCount", 2) as u32,
        }
    }

    /// `deregistration_delay.timeout_seconds`, in milliseconds.
    #[must_use]
    pub fn drain_ms(&self) -> u64 {
        let seconds = self.attributes.get("deregistration_delay.timeout_seconds");
        seconds.and_then(|s| s.parse::<u64>().ok()).unwrap_or(300) * 1000
    }

    fn answer(&self, load_balancers: &[String]) -> Value {
        let mut answer = json!({
            "TargetGroupArn": self.arn,
            "TargetGroupName": self.name,
            "Protocol": self.protocol,
            "ProtocolVersion": self.protocol_version,
            "Port": self.port,
            "VpcId": self.vpc_id,
            "TargetType": self.target_type,
            "IpAddressType": self.ip_address_type,
            "LoadBalancerArns": load_balancers,
        });
        if let (Some(answer), Some(check)) = (answer.as_object_mut(), self.health_check.as_object())
        {
            answer.extend(check.clone());
        }
        answer
    }
}

/// The health check members of a create or modify request over `current`.
fn health_check(request: Request<'_>, current: &Value) -> Result<Value, ApiError> {
    let mut check = current.clone();
    for name in [
        "HealthCheckProtocol",
        "HealthCheckPort",
        "HealthCheckPath",
        "HealthCheckEnabled",
        "HealthCheckIntervalSeconds",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "Matcher",
    ] {
        if let Some(value) = request.value(name) {
            check[name] = value.clone();
        }
    }
    if check["HealthCheckEnabled"] == false {
        return Err(refused(
            "InvalidConfigurationRequest",
            "Health checks cannot be disabled for target groups with target type 'instance' or \
             'ip'",
        ));
    }
    let interval = check["HealthCheckIntervalSeconds"].as_i64().unwrap_or(30);
    let timeout = check["HealthCheckTimeoutSeconds"].as_i64().unwrap_or(5);
    if timeout >= interval {
        return Err(refused(
            "InvalidConfigurationRequest",
            "Health check interval must be greater than the timeout.",
        ));
    }
    let checks_http = matches!(check["HealthCheckProtocol"].as_str(), Some("HTTP" | "HTTPS"));
    if !checks_http
        && (request.value("HealthCheckPath").is_some() || request.value("Matcher").is_some())
    {
        return Err(refused(
            "InvalidConfigurationRequest",
            "Health check path and matcher can only be set for HTTP and HTTPS health checks",
        ));
    }
    if let Some(code) = check.pointer("/Matcher/HttpCode").and_then(Value::as_str)
        && !valid_matcher(code)
    {
        return Err(refused(
            "ValidationError",
            format!(
                "Health check matcher HTTP code '{code}' must be a code from 200 to 499, a list \
                 of them ('200,202') or a range ('200-299')"
            ),
        ));
    }
    Ok(check)
}

/// `200`, `200,202` or `200-299`, each code within 200–499.
fn valid_matcher(text: &str) -> bool {
    let code = |s: &str| s.parse::<u16>().is_ok_and(|c| (200..=499).contains(&c));
    text.split(',').all(|part| match part.split_once('-') {
        Some((low, high)) => code(low) && code(high) && low <= high,
        None => code(part),
    })
}

impl EcsState {
    pub fn create_target_group(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let name = request.required_string("Name")?;
        check_name(name, "Target group")?;
        let target_type = request.string("TargetType")?.unwrap_or("instance").to_owned();
        if !matches!(target_type.as_str(), "instance" | "ip") {
            return Err(refused(
                "InvalidConfigurationRequest",
                format!(
                    "The local ECS models target groups of target type 'instance' and 'ip', not \
                     '{target_type}'"
                ),
            ));
        }
        let protocol = request.string("Protocol")?.map(str::to_owned);
        let port = request.integer("Port")?;
        let vpc_id = request.string("VpcId")?.map(str::to_owned);
        let Some(protocol) = protocol else {
            return Err(refused("ValidationError", "A protocol must be specified"));
        };
        if port.is_none() {
            return Err(refused("ValidationError", "A port must be specified"));
        }
        if vpc_id.is_none() {
            return Err(refused("ValidationError", "A VPC ID must be specified"));
        }
        if protocol == "GENEVE" {
            return Err(refused(
                "InvalidConfigurationRequest",
                "GENEVE target groups (Gateway Load Balancers) are not modelled by the local ECS",
            ));
        }
        let http = matches!(protocol.as_str(), "HTTP" | "HTTPS");
        let defaults = if http {
            json!({
                "HealthCheckProtocol": protocol, "HealthCheckPort": "traffic-port",
                "HealthCheckEnabled": true, "HealthCheckIntervalSeconds": 30,
                "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5,
                "UnhealthyThresholdCount": 2, "HealthCheckPath": "/",
                "Matcher": {"HttpCode": "200"},
            })
        } else {
            json!({
                "HealthCheckProtocol": "TCP", "HealthCheckPort": "traffic-port",
                "HealthCheckEnabled": true, "HealthCheckIntervalSeconds": 30,
                "HealthCheckTimeoutSeconds": 10, "HealthyThresholdCount": 5,
                "UnhealthyThresholdCount": 2,
            })
        };
        let mut check = health_check(request, &defaults)?;
        if let Some(members) = check.as_object_mut()
            && !matches!(members["HealthCheckProtocol"].as_str(), Some("HTTP" | "HTTPS"))
        {
            members.remove("HealthCheckPath");
            members.remove("Matcher");
        }
        let protocol_version = http
            .then(|| request.string("ProtocolVersion").map(|v| v.unwrap_or("HTTP1").to_owned()));
        let protocol_version = protocol_version.transpose()?;
        let ip_address_type = request.string("IpAddressType")?.unwrap_or("ipv4").to_owned();
        if let Some(existing) = self.elbv2.target_groups.values().find(|tg| tg.name == name) {
            let same = existing.protocol.as_deref() == Some(protocol.as_str())
                && existing.port == port
                && existing.vpc_id == vpc_id
                && existing.target_type == target_type;
            if same {
                let load_balancers = self.elbv2.load_balancers_of(&existing.arn);
                return Ok(json!({"TargetGroups": [existing.answer(&load_balancers)]}));
            }
            return Err(refused(
                "DuplicateTargetGroupName",
                format!(
                    "A target group with the same name '{name}' exists, but with different settings"
                ),
            ));
        }
        let id = self.elb_id();
        let arn = format!(
            "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{name}/{id}",
            self.region, self.account
        );
        let attributes = if http { &HTTP_ATTRIBUTES[..] } else { &TCP_ATTRIBUTES[..] };
        let group = TargetGroup {
            arn: arn.clone(),
            name: name.to_owned(),
            protocol: Some(protocol),
            protocol_version,
            port,
            vpc_id,
            target_type,
            ip_address_type,
            health_check: check,
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            targets: Vec::new(),
        };
        self.set_elb_tags(&arn, request)?;
        let answer = group.answer(&[]);
        self.elbv2.target_groups.insert(arn, group);
        Ok(json!({"TargetGroups": [answer]}))
    }

    fn target_group(&self, arn: &str) -> Result<&TargetGroup, ApiError> {
        self.elbv2
            .target_groups
            .get(arn)
            .ok_or_else(|| refused("TargetGroupNotFound", "One or more target groups not found"))
    }

    pub fn describe_target_groups(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns = request.strings("TargetGroupArns")?;
        let names = request.strings("Names")?;
        let lb_arn = request.string("LoadBalancerArn")?;
        if let Some(lb) = lb_arn
            && !self.elbv2.load_balancers.contains_key(lb)
        {
            return Err(refused("LoadBalancerNotFound", "One or more load balancers not found"));
        }
        let found: Vec<Value> = self
            .elbv2
            .target_groups
            .values()
            .filter(|tg| arns.is_empty() || arns.contains(&tg.arn.as_str()))
            .filter(|tg| names.is_empty() || names.contains(&tg.name.as_str()))
            .map(|tg| (tg, self.elbv2.load_balancers_of(&tg.arn)))
            .filter(|(_, lbs)| lb_arn.is_none_or(|lb| lbs.iter().any(|l| l == lb)))
            .map(|(tg, lbs)| tg.answer(&lbs))
            .collect();
        let asked = arns.len().max(names.len());
        if asked > 0 && found.len() < asked {
            return Err(refused("TargetGroupNotFound", "One or more target groups not found"));
        }
        Ok(paged("TargetGroups", &found, page(request)?))
    }

    pub fn modify_target_group(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("TargetGroupArn")?;
        let group = self.target_group(arn)?;
        let check = health_check(request, &group.health_check)?;
        let load_balancers = self.elbv2.load_balancers_of(arn);
        let group = self.elbv2.target_groups.get_mut(arn).ok_or_else(ApiError::server)?;
        group.health_check = check;
        Ok(json!({"TargetGroups": [group.answer(&load_balancers)]}))
    }

    /// `DeleteTargetGroup`: refused while a listener or rule forwards to it; one already
    /// gone is not an error, as on AWS.
    pub fn delete_target_group(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("TargetGroupArn")?;
        let forwarded = self
            .elbv2
            .rules
            .values()
            .any(|r| super::elbv2::forwarded(&r.actions).iter().any(|a| a == arn));
        if forwarded {
            return Err(refused(
                "ResourceInUse",
                format!("Target group '{arn}' is currently in use by a listener or a rule"),
            ));
        }
        self.elbv2.target_groups.remove(arn);
        self.tags.remove(arn);
        Ok(json!({}))
    }

    pub fn describe_target_group_attributes(
        &self,
        request: Request<'_>,
    ) -> Result<Value, ApiError> {
        let group = self.target_group(request.required_string("TargetGroupArn")?)?;
        Ok(json!({"Attributes": attributes_answer(&group.attributes)}))
    }

    /// `ModifyTargetGroupAttributes`: every attribute checked before any is changed.
    pub fn modify_target_group_attributes(
        &mut self,
        request: Request<'_>,
    ) -> Result<Value, ApiError> {
        let arn = request.required_string("TargetGroupArn")?;
        let mut attributes = self.target_group(arn)?.attributes.clone();
        for attribute in request.value("Attributes").and_then(Value::as_array).into_iter().flatten()
        {
            let key = attribute["Key"].as_str().unwrap_or_default();
            let value = attribute["Value"].as_str().unwrap_or_default();
            if !attributes.contains_key(key) {
                return Err(refused(
                    "InvalidConfigurationRequest",
                    format!("The attribute key '{key}' is not recognized"),
                ));
            }
            check_attribute(key, value)?;
            attributes.insert(key.to_owned(), value.to_owned());
        }
        let group = self.elbv2.target_groups.get_mut(arn).ok_or_else(ApiError::server)?;
        group.attributes = attributes;
        Ok(json!({"Attributes": attributes_answer(&group.attributes)}))
    }

    /// `RegisterTargets`: instance ids for `instance` groups, IPv4 addresses for `ip`;
    /// a target registered again (even while draining) starts its checks anew.
    pub fn register_targets(&mut self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let arn = request.required_string("TargetGroupArn")?;
        let group = self.target_group(arn)?;
        let mut given = Vec::new();
        for target in request.value("Targets").and_then(Value::as_array).into_iter().flatten() {
            let id = target["Id"].as_str().unwrap_or_default().to_owned();
            valid_target(&group.target_type, &id)?;
            let port = target["Port"].as_i64().or(group.port).unwrap_or(80);
            let zone = target["AvailabilityZone"].as_str().map(str::to_owned);
            given.push(RegisteredTarget {
                id,
                port,
                availability_zone: zone,
                registered_ms: now,
                deregistered_ms: None,
            });
        }
        let drain = group.drain_ms();
        let group = self.elbv2.target_groups.get_mut(arn).ok_or_else(ApiError::server)?;
        group.targets.retain(|t| t.deregistered_ms.is_none_or(|at| at + drain > now));
        for target in given {
            match group.targets.iter_mut().find(|t| t.id == target.id && t.port == target.port) {
                Some(known) if known.deregistered_ms.is_none() => {}
                Some(known) => *known = target,
                None => group.targets.push(target),
            }
        }
        Ok(json!({}))
    }

    /// `DeregisterTargets`: each must be registered; it drains for the group's
    /// deregistration delay.
    pub fn deregister_targets(
        &mut self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let arn = request.required_string("TargetGroupArn")?;
        let group = self.target_group(arn)?;
        let mut chosen = Vec::new();
        for target in request.value("Targets").and_then(Value::as_array).into_iter().flatten() {
            let id = target["Id"].as_str().unwrap_or_default();
            let port = target["Port"].as_i64();
            let found = group.targets.iter().position(|t| {
                t.id == id && port.is_none_or(|p| p == t.port) && t.deregistered_ms.is_none()
            });
            match found {
                Some(index) => chosen.push(index),
                None => {
                    return Err(refused(
                        "InvalidTarget",
                        format!(
                            "The following targets are not registered in target group '{arn}': \
                             '{id}'"
                        ),
                    ));
                }
            }
        }
        let group = self.elbv2.target_groups.get_mut(arn).ok_or_else(ApiError::server)?;
        for index in chosen {
            group.targets[index].deregistered_ms = Some(now);
        }
        Ok(json!({}))
    }

    /// `DescribeTargetHealth`: the group's targets (those registered by hand and those of
    /// ECS tasks), or the ones asked for — one not registered is `unused` with
    /// `Target.NotRegistered`.
    pub fn describe_target_health(
        &self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let arn = request.required_string("TargetGroupArn")?;
        let group = self.target_group(arn)?;
        let all = self.targets_of(group, now);
        let asked = request.value("Targets").and_then(Value::as_array).cloned().unwrap_or_default();
        let descriptions: Vec<Value> = if asked.is_empty() {
            all.iter().map(|(target, state)| description(group, target, state)).collect()
        } else {
            asked
                .iter()
                .map(|wanted| {
                    let id = wanted["Id"].as_str().unwrap_or_default();
                    let port = wanted["Port"].as_i64();
                    let found =
                        all.iter().find(|(t, _)| t.id == id && port.is_none_or(|p| p == t.port));
                    if let Some((target, state)) = found {
                        return description(group, target, state);
                    }
                    let target = RegisteredTarget {
                        id: id.to_owned(),
                        port: port.or(group.port).unwrap_or(80),
                        availability_zone: None,
                        registered_ms: now,
                        deregistered_ms: None,
                    };
                    description(group, &target, &TargetState::NotRegistered)
                })
                .collect()
        };
        Ok(json!({"TargetHealthDescriptions": descriptions}))
    }

    /// Every target of `group` at `now` with its state: those registered by hand, then
    /// those of the ECS tasks of services attached to it.
    #[must_use]
    pub fn targets_of(
        &self,
        group: &TargetGroup,
        now: u64,
    ) -> Vec<(RegisteredTarget, TargetState)> {
        let in_use = !self.elbv2.load_balancers_of(&group.arn).is_empty();
        let timing = group.timing();
        let drain = group.drain_ms();
        let mut found = Vec::new();
        for target in &group.targets {
            let state = match target.deregistered_ms {
                Some(at) if at + drain <= now => continue,
                Some(_) => TargetState::Draining,
                None if !in_use => TargetState::NotInUse,
                None => Fate::of(target.registered_ms, timing, Some(0), Failure::of("")).state(now),
            };
            found.push((target.clone(), state));
        }
        for (task, target, state) in self.task_targets(group, now) {
            let registered = RegisteredTarget {
                id: target.id.clone(),
                port: i64::from(target.port),
                availability_zone: None,
                registered_ms: task.running_ms.unwrap_or_default(),
                deregistered_ms: None,
            };
            found.push((registered, state));
        }
        found
    }

    /// The targets ECS registered in `group` for the tasks of services attached to it,
    /// with their state at `now` (what DescribeTargetHealth and the listeners' proxies
    /// read).
    #[must_use]
    pub fn task_targets<'a>(
        &'a self,
        group: &TargetGroup,
        now: u64,
    ) -> Vec<(&'a Task, &'a TaskTarget, TargetState)> {
        let in_use = !self.elbv2.load_balancers_of(&group.arn).is_empty();
        let drain = group.drain_ms();
        let mut found = Vec::new();
        for service in self.clusters.values().flat_map(|c| c.services.values()) {
            for task in &service.rollout.tasks {
                for target in task.targets.iter().filter(|t| t.group_arn == group.arn) {
                    if task.running_ms.is_none() {
                        continue;
                    }
                    let state = match task.state {
                        TaskState::Pending | TaskState::Stopping => continue,
                        TaskState::Running if !in_use => TargetState::NotInUse,
                        TaskState::Running => match &target.fate {
                            Some(fate) => fate.state(now),
                            None => TargetState::Initial,
                        },
                        TaskState::Deactivating => TargetState::Draining,
                        TaskState::Stopped => {
                            // Stopped without draining first (it exited): ECS deregisters
                            // it then, and it drains for the delay.
                            let crashed = task.stopping_ms == task.stopped_ms;
                            let at = task.stopped_ms.unwrap_or(now);
                            if !crashed || at + drain <= now {
                                continue;
                            }
                            TargetState::Draining
                        }
                    };
                    found.push((task, target, state));
                }
            }
        }
        found
    }

    pub fn add_tags(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns: Vec<String> =
            request.strings("ResourceArns")?.into_iter().map(str::to_owned).collect();
        let tags = elb_tags(request)?;
        for arn in &arns {
            if !self.elb_resource_exists(arn) {
                return Err(not_found_for(arn));
            }
            let current = self.tags.get(arn).map_or(&[][..], Vec::as_slice);
            let merged = super::ecs_tags::merged(current, tags.clone());
            if merged.len() > 50 {
                return Err(refused(
                    "TooManyTags",
                    "The quota for the number of tags has been reached",
                ));
            }
        }
        for arn in arns {
            let current = self.tags.get(&arn).map_or(&[][..], Vec::as_slice);
            let merged = super::ecs_tags::merged(current, tags.clone());
            self.tags.insert(arn, merged);
        }
        Ok(json!({}))
    }

    pub fn remove_tags(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns: Vec<String> =
            request.strings("ResourceArns")?.into_iter().map(str::to_owned).collect();
        let keys: Vec<String> =
            request.strings("TagKeys")?.into_iter().map(str::to_owned).collect();
        if let Some(arn) = arns.iter().find(|arn| !self.elb_resource_exists(arn)) {
            return Err(not_found_for(arn));
        }
        for arn in arns {
            if let Some(tags) = self.tags.get_mut(&arn) {
                tags.retain(|t| !keys.contains(&t.key));
            }
        }
        Ok(json!({}))
    }

    pub fn describe_tags(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let mut descriptions = Vec::new();
        for arn in request.strings("ResourceArns")? {
            if !self.elb_resource_exists(arn) {
                return Err(not_found_for(arn));
            }
            let tags: Vec<Value> = self
                .tags
                .get(arn)
                .into_iter()
                .flatten()
                .map(|t| json!({"Key": t.key, "Value": t.value}))
                .collect();
            descriptions.push(json!({"ResourceArn": arn, "Tags": tags}));
        }
        Ok(json!({"TagDescriptions": descriptions}))
    }

    /// Stores the `Tags` of a create request for `arn` (at most 50).
    pub(super) fn set_elb_tags(&mut self, arn: &str, request: Request<'_>) -> Result<(), ApiError> {
        let tags = elb_tags(request)?;
        if tags.len() > 50 {
            return Err(refused(
                "TooManyTags",
                "The quota for the number of tags has been reached",
            ));
        }
        if !tags.is_empty() {
            self.tags.insert(arn.to_owned(), super::ecs_tags::merged(&[], tags));
        }
        Ok(())
    }

    fn elb_resource_exists(&self, arn: &str) -> bool {
        let elb = &self.elbv2;
        elb.load_balancers.contains_key(arn)
            || elb.target_groups.contains_key(arn)
            || elb.listeners.contains_key(arn)
            || elb.rules.contains_key(arn)
    }
}

fn not_found_for(arn: &str) -> ApiError {
    let (code, what) = if arn.contains(":targetgroup/") {
        ("TargetGroupNotFound", "target groups")
    } else if arn.contains(":listener-rule/") {
        ("RuleNotFound", "rules")
    } else if arn.contains(":listener/") {
        ("ListenerNotFound", "listeners")
    } else {
        ("LoadBalancerNotFound", "load balancers")
    };
    refused(code, format!("One or more {what} not found"))
}

fn elb_tags(request: Request<'_>) -> Result<Vec<Tag>, ApiError> {
    let mut tags = Vec::new();
    for tag in request.value("Tags").and_then(Value::as_array).into_iter().flatten() {
        let key = tag["Key"].as_str().unwrap_or_default();
        if tags.iter().any(|t: &Tag| t.key == key) {
            return Err(refused(
                "DuplicateTagKeys",
                format!("Tag key '{key}' specified more than once"),
            ));
        }
        let value = tag["Value"].as_str().unwrap_or_default();
        tags.push(Tag { key: key.to_owned(), value: value.to_owned() });
    }
    Ok(tags)
}

fn description(group: &TargetGroup, target: &RegisteredTarget, state: &TargetState) -> Value {
    let port = match group.health_check["HealthCheckPort"].as_str() {
        Some("traffic-port") | None => target.port.to_string(),
        Some(port) => port.to_owned(),
    };
    let mut described = json!({"Id": target.id, "Port": target.port});
    if let Some(zone) = &target.availability_zone {
        described["AvailabilityZone"] = json!(zone);
    }
    json!({"Target": described, "HealthCheckPort": port, "TargetHealth": state.answer()})
}

fn attributes_answer(attributes: &BTreeMap<String, String>) -> Vec<Value> {
    attributes.iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect()
}

/// A target group attribute's value, as ELB checks it.
fn check_attribute(key: &str, value: &str) -> Result<(), ApiError> {
    let int_within =
        |low: u64, high: u64| value.parse::<u64>().is_ok_and(|n| (low..=high).contains(&n));
    let fine = match key {
        "deregistration_delay.timeout_seconds" => int_within(0, 3600),
        "slow_start.duration_seconds" => value == "0" || int_within(30, 900),
        "stickiness.lb_cookie.duration_seconds" => int_within(1, 604_800),
        "load_balancing.algorithm.type" => {
            matches!(value, "round_robin" | "least_outstanding_requests" | "weighted_random")
        }
        "load_balancing.cross_zone.enabled" => {
            matches!(value, "true" | "false" | "use_load_balancer_configuration")
        }
        "stickiness.type" => matches!(value, "lb_cookie" | "app_cookie" | "source_ip"),
        _ => matches!(value, "true" | "false"),
    };
    if fine {
        Ok(())
    } else {
        Err(refused(
            "InvalidConfigurationRequest",
            format!("The value '{value}' is not valid for the target group attribute '{key}'"),
        ))
    }
}

/// A target id of the group's type: an instance id or an IPv4 address.
fn valid_target(target_type: &str, id: &str) -> Result<(), ApiError> {
    let fine = match target_type {
        "ip" => id.parse::<std::net::Ipv4Addr>().is_ok(),
        _ => id.strip_prefix("i-").is_some_and(|hex| {
            (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }),
    };
    if fine {
        Ok(())
    } else if target_type == "ip" {
        Err(refused("InvalidTarget", format!("The IP address '{id}' is not a valid IPv4 address")))
    } else {
        Err(refused(
            "InvalidTarget",
            format!("The following targets are not valid instances: '{id}'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_checked_as_elb_checks_them() {
        assert!(valid_matcher("200-399") && !valid_matcher("100") && !valid_matcher("299-200"));
    }

    #[test]
    fn task_targets_are_valid_targets() {
        use crate::local::target_health::{task_instance, task_ip};
        let id = "0123456789abcdef0123456789abcdef";
        assert!(valid_target("ip", &task_ip(id)).is_ok());
        assert!(valid_target("instance", &task_instance(id)).is_ok());
        assert!(valid_target("ip", "i-0123456789abcdef0").is_err());
    }
}
