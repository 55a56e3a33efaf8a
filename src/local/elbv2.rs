//! Elastic Load Balancing v2 in the local ECS (docs/traffic.md): load balancers,
//! listeners and their rules, as the AWS Query protocol carries them. Target groups, their
//! targets and their health are in `elbv2_targets.rs`. Requests arrive already read
//! against the service model (`model::query`); what is checked here is what the model
//! cannot say, in ELB's own error codes and words.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::request::Request;
use super::scheduler::Traffic;
use super::state::EcsState;
use super::target_health::{Side, TargetLink};

/// The load balancing resources of one region.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Elbv2 {
    /// By ARN.
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    pub target_groups: BTreeMap<String, super::elbv2_targets::TargetGroup>,
    pub listeners: BTreeMap<String, Listener>,
    pub rules: BTreeMap<String, Rule>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `application` or `network`.
    pub kind: String,
    pub scheme: String,
    pub ip_address_type: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub vpc_id: String,
    pub dns_name: String,
    pub created_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: Option<i64>,
    pub protocol: Option<String>,
    /// As the API shows them (forward actions with their `ForwardConfig`).
    pub default_actions: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rule {
    pub arn: String,
    pub listener_arn: String,
    /// `default`, or 1 to 50000.
    pub priority: String,
    pub conditions: Value,
    pub actions: Value,
}

impl Rule {
    fn is_default(&self) -> bool {
        self.priority == "default"
    }

    fn answer(&self) -> Value {
        json!({
            "RuleArn": self.arn,
            "Priority": self.priority,
            "Conditions": self.conditions,
            "Actions": self.actions,
            "IsDefault": self.is_default(),
        })
    }
}

impl Elbv2 {
    /// A service's `loadBalancers` as the scheduler reads them: one link per target group
    /// this state holds, and the longest deregistration delay among them (0 without any).
    #[must_use]
    pub fn links(&self, load_balancers: &Value) -> (Vec<TargetLink>, u64) {
        let entries = load_balancers.as_array().map_or(&[][..], Vec::as_slice);
        let mut links = Vec::new();
        let mut drain_ms = 0;
        for entry in entries {
            let alternate = entry.pointer("/advancedConfiguration/alternateTargetGroupArn");
            let sides = match alternate.and_then(Value::as_str) {
                Some(alternate) => vec![
                    (entry["targetGroupArn"].as_str(), Side::Primary),
                    (Some(alternate), Side::Alternate),
                ],
                None => vec![(entry["targetGroupArn"].as_str(), Side::Both)],
            };
            for (arn, side) in sides {
                // A group this state does not hold (deleted, or from before the local ECS
                // had load balancers) has no target to drain.
                let Some(group) = arn.and_then(|a| self.target_groups.get(a)) else { continue };
                drain_ms = drain_ms.max(group.drain_ms());
                links.push(TargetLink {
                    group_arn: group.arn.clone(),
                    container: entry["containerName"].as_str().unwrap_or_default().to_owned(),
                    container_port: entry["containerPort"].as_u64().unwrap_or_default() as u16,
                    target_type: group.target_type.clone(),
                    timing: group.timing(),
                    drain_ms: group.drain_ms(),
                    side,
                });
            }
        }
        (links, drain_ms)
    }

    /// Where the rules of a service's first `advancedConfiguration` send traffic, when
    /// production traffic is mostly on the alternate group (set up that way, or moved by
    /// another tool); `None` while it is on the service's own group.
    #[must_use]
    pub fn traffic_of(&self, load_balancers: &Value) -> Option<Traffic> {
        let entry = load_balancers
            .as_array()?
            .iter()
            .find(|e| e.get("advancedConfiguration").is_some_and(Value::is_object))?;
        let advanced = &entry["advancedConfiguration"];
        let alternate = advanced["alternateTargetGroupArn"].as_str()?;
        let share = |rule: &Value| {
            let rule = rule.as_str().and_then(|arn| self.rules.get(arn))?;
            let groups = weighted_groups(&rule.actions);
            let total: u64 = groups.iter().map(|(_, w)| *w).sum();
            let on: u64 = groups.iter().filter(|(g, _)| g == alternate).map(|(_, w)| *w).sum();
            (total > 0).then(|| u32::try_from(on * 1_000 / total).unwrap_or(1_000))
        };
        let production = share(&advanced["productionListenerRule"])?;
        let traffic = Traffic {
            production_alternate: production,
            test_alternate: share(&advanced["testListenerRule"]).is_some_and(|t| t > 500),
        };
        traffic.production_side().then_some(traffic)
    }

    /// Points the production and test listener rules of a service's `loadBalancers` (those
    /// with an `advancedConfiguration`) where `traffic` says: a weighted forward to the
    /// service's own target group and its alternate. A rule already there is left alone.
    pub fn shift(&mut self, load_balancers: &Value, traffic: Traffic) {
        for entry in load_balancers.as_array().into_iter().flatten() {
            let Some(advanced) = entry.get("advancedConfiguration") else { continue };
            let (Some(primary), Some(alternate)) =
                (entry["targetGroupArn"].as_str(), advanced["alternateTargetGroupArn"].as_str())
            else {
                continue;
            };
            // Weights out of 100, as ECS writes them (100 and 0 once traffic has moved); out
            // of 1,000 for a share in tenths of a percent (a canary of 0.5 %).
            let share = u64::from(traffic.production_alternate.min(1_000));
            let production = if share % 10 == 0 { (share / 10, 100) } else { (share, 1_000) };
            let test = (if traffic.test_alternate { 100 } else { 0 }, 100);
            for (rule, (weight, total)) in [
                (advanced["productionListenerRule"].as_str(), production),
                (advanced["testListenerRule"].as_str(), test),
            ] {
                let Some(rule) = rule.and_then(|arn| self.rules.get_mut(arn)) else { continue };
                let actions = json!([{
                    "Type": "forward",
                    "Order": 1,
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": primary, "Weight": total - weight},
                            {"TargetGroupArn": alternate, "Weight": weight},
                        ],
                        "TargetGroupStickinessConfig": {"Enabled": false},
                    },
                }]);
                if rule.actions == actions {
                    continue;
                }
                rule.actions = actions.clone();
                if rule.is_default()
                    && let Some(listener) = self.listeners.get_mut(&rule.listener_arn)
                {
                    listener.default_actions = actions;
                }
            }
        }
    }

    /// The target groups the actions of `listener_arn`'s rules forward to.
    fn forwarded_by_listener(&self, listener_arn: &str) -> Vec<String> {
        let mut arns: Vec<String> = self
            .rules
            .values()
            .filter(|rule| rule.listener_arn == listener_arn)
            .flat_map(|rule| forwarded(&rule.actions))
            .collect();
        arns.sort();
        arns.dedup();
        arns
    }

    /// The load balancers whose listeners forward to `target_group_arn`.
    #[must_use]
    pub fn load_balancers_of(&self, target_group_arn: &str) -> Vec<String> {
        let mut arns: Vec<String> = self
            .listeners
            .values()
            .filter(|l| self.forwarded_by_listener(&l.arn).iter().any(|tg| tg == target_group_arn))
            .map(|l| l.load_balancer_arn.clone())
            .collect();
        arns.sort();
        arns.dedup();
        arns
    }

    /// The listeners whose rules forward to `target_group_arn`, with the rules' weights
    /// (the proxy and `ferry check` read this).
    #[must_use]
    pub fn listeners_of(&self, target_group_arn: &str) -> Vec<&Listener> {
        self.listeners
            .values()
            .filter(|l| self.forwarded_by_listener(&l.arn).iter().any(|tg| tg == target_group_arn))
            .collect()
    }
}

/// A forward action's target groups with their weights (a plain `TargetGroupArn`: 1).
#[must_use]
pub(super) fn weighted_groups(actions: &Value) -> Vec<(String, u64)> {
    let forward = actions
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a.get("Type").and_then(Value::as_str) == Some("forward"));
    let Some(forward) = forward else { return Vec::new() };
    if let Some(groups) = forward.pointer("/ForwardConfig/TargetGroups").and_then(Value::as_array) {
        return groups
            .iter()
            .filter_map(|g| {
                let arn = g.get("TargetGroupArn")?.as_str()?.to_owned();
                Some((arn, g.get("Weight").and_then(Value::as_u64).unwrap_or(1)))
            })
            .collect();
    }
    forwarded(&Value::Array(vec![forward.clone()])).into_iter().map(|arn| (arn, 1)).collect()
}

/// The target groups `actions` forward to.
#[must_use]
pub(super) fn forwarded(actions: &Value) -> Vec<String> {
    let mut arns = Vec::new();
    for action in actions.as_array().into_iter().flatten() {
        if let Some(arn) = action.get("TargetGroupArn").and_then(Value::as_str) {
            arns.push(arn.to_owned());
        }
        let groups = action.pointer("/ForwardConfig/TargetGroups").and_then(Value::as_array);
        for group in groups.into_iter().flatten() {
            if let Some(arn) = group.get("TargetGroupArn").and_then(Value::as_str) {
                arns.push(arn.to_owned());
            }
        }
    }
    arns.sort();
    arns.dedup();
    arns
}

/// An ELB error by its code (`LoadBalancerNotFound`, …): 400.
pub(super) fn refused(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::with_kind(code, message)
}

/// `PageSize` (1–400) and the offset `Marker` points at, read as `nextToken` is.
pub(super) fn page(request: Request<'_>) -> Result<(usize, usize), ApiError> {
    let size = match request.integer("PageSize")? {
        None => 400,
        Some(n) => n.clamp(1, 400) as usize,
    };
    let offset = match request.string("Marker")? {
        None => 0,
        Some(marker) => super::request::decode_token(marker)
            .ok_or_else(|| refused("ValidationError", "The specified marker is not valid."))?,
    };
    Ok((size, offset))
}

/// A page of `items` under `member`, with `NextMarker` unless it is the last.
pub(super) fn paged(member: &str, items: &[Value], at: (usize, usize)) -> Value {
    let (page, next) = super::request::paginate(items, at);
    let mut answer = json!({ member: page });
    if let Some(next) = next {
        answer["NextMarker"] = Value::String(next);
    }
    answer
}

/// A load balancer or target group name: 1–32 letters, digits and hyphens, not
/// beginning or ending with a hyphen.
pub(super) fn check_name(name: &str, what: &str) -> Result<(), ApiError> {
    let fine = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && (what != "Load balancer" || !name.starts_with("internal-"));
    if fine {
        Ok(())
    } else {
        Err(refused(
            "ValidationError",
            format!(
                "{what} name '{name}' can have a maximum of 32 characters, can contain only \
                 alphanumeric characters or hyphens, and must not begin or end with a hyphen"
            ),
        ))
    }
}

impl EcsState {
    fn elb_arn(&self, resource: &str) -> String {
        format!("arn:aws:elasticloadbalancing:{}:{}:{resource}", self.region, self.account)
    }

    /// 16 hex digits for a new resource's ARN.
    pub(super) fn elb_id(&mut self) -> String {
        self.ids.task_id()[..16].to_owned()
    }

    pub fn create_load_balancer(
        &mut self,
        request: Request<'_>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let name = request.required_string("Name")?;
        check_name(name, "Load balancer")?;
        let kind = request.string("Type")?.unwrap_or("application").to_owned();
        if kind == "gateway" {
            return Err(refused(
                "InvalidConfigurationRequest",
                "Gateway Load Balancers are not modelled by the local ECS.",
            ));
        }
        let scheme = request.string("Scheme")?.unwrap_or("internet-facing").to_owned();
        let mut subnets: Vec<String> =
            request.strings("Subnets")?.into_iter().map(str::to_owned).collect();
        for mapping in
            request.value("SubnetMappings").and_then(Value::as_array).into_iter().flatten()
        {
            if let Some(subnet) = mapping.get("SubnetId").and_then(Value::as_str) {
                subnets.push(subnet.to_owned());
            }
        }
        subnets.sort();
        subnets.dedup();
        if kind == "application" && subnets.len() < 2 {
            return Err(refused(
                "InvalidConfigurationRequest",
                "At least two subnets in two different Availability Zones must be specified",
            ));
        }
        if subnets.is_empty() {
            return Err(refused(
                "InvalidConfigurationRequest",
                "At least one subnet must be specified",
            ));
        }
        let security_groups: Vec<String> =
            request.strings("SecurityGroups")?.into_iter().map(str::to_owned).collect();
        let ip_address_type = request.string("IpAddressType")?.unwrap_or("ipv4").to_owned();
        if let Some(existing) = self.elbv2.load_balancers.values().find(|lb| lb.name == name) {
            // Idempotent with the same settings, as on AWS.
            if existing.kind == kind && existing.scheme == scheme && existing.subnets == subnets {
                return Ok(json!({"LoadBalancers": [self.load_balancer_answer(existing)]}));
            }
            return Err(refused(
                "DuplicateLoadBalancerName",
                format!(
                    "A load balancer with the same name '{name}' exists, but with different \
                     settings"
                ),
            ));
        }
        let id = self.elb_id();
        let short = if kind == "network" { "net" } else { "app" };
        let arn = self.elb_arn(&format!("loadbalancer/{short}/{name}/{id}"));
        let prefix = if scheme == "internal" { "internal-" } else { "" };
        let number = u64::from_str_radix(&id[..8], 16).unwrap_or_default() % 10_000_000_000;
        let dns_name = if kind == "network" {
            format!("{prefix}{name}-{id}.elb.{}.amazonaws.com", self.region)
        } else {
            format!("{prefix}{name}-{number}.{}.elb.amazonaws.com", self.region)
        };
        let load_balancer = LoadBalancer {
            arn: arn.clone(),
            name: name.to_owned(),
            kind,
            scheme,
            ip_address_type,
            subnets,
            security_groups,
            vpc_id: "vpc-0local0000000000".to_owned(),
            dns_name,
            created_ms: now,
        };
        self.set_elb_tags(&arn, request)?;
        let answer = self.load_balancer_answer(&load_balancer);
        self.elbv2.load_balancers.insert(arn, load_balancer);
        Ok(json!({"LoadBalancers": [answer]}))
    }

    fn load_balancer_answer(&self, lb: &LoadBalancer) -> Value {
        let zones: Vec<Value> = lb
            .subnets
            .iter()
            .enumerate()
            .map(|(i, subnet)| {
                let zone = format!("{}{}", self.region, char::from(b'a' + (i % 6) as u8));
                json!({"ZoneName": zone, "SubnetId": subnet, "LoadBalancerAddresses": []})
            })
            .collect();
        let mut answer = json!({
            "LoadBalancerArn": lb.arn,
            "DNSName": lb.dns_name,
            "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
            "CreatedTime": lb.created_ms as f64 / 1000.0,
            "LoadBalancerName": lb.name,
            "Scheme": lb.scheme,
            "VpcId": lb.vpc_id,
            "State": {"Code": "active"},
            "Type": lb.kind,
            "AvailabilityZones": zones,
            "IpAddressType": lb.ip_address_type,
        });
        if lb.kind == "application" || !lb.security_groups.is_empty() {
            answer["SecurityGroups"] = json!(lb.security_groups);
        }
        answer
    }

    pub fn describe_load_balancers(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns = request.strings("LoadBalancerArns")?;
        let names = request.strings("Names")?;
        let found: Vec<&LoadBalancer> = self
            .elbv2
            .load_balancers
            .values()
            .filter(|lb| arns.is_empty() || arns.contains(&lb.arn.as_str()))
            .filter(|lb| names.is_empty() || names.contains(&lb.name.as_str()))
            .collect();
        let asked = arns.len().max(names.len());
        if asked > 0 && found.len() < asked {
            return Err(refused("LoadBalancerNotFound", "One or more load balancers not found"));
        }
        let items: Vec<Value> = found.into_iter().map(|lb| self.load_balancer_answer(lb)).collect();
        Ok(paged("LoadBalancers", &items, page(request)?))
    }

    /// `DeleteLoadBalancer`: with its listeners and their rules; one already gone is not
    /// an error, as on AWS.
    pub fn delete_load_balancer(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("LoadBalancerArn")?.to_owned();
        if self.elbv2.load_balancers.remove(&arn).is_some() {
            let listeners: Vec<String> = self
                .elbv2
                .listeners
                .values()
                .filter(|l| l.load_balancer_arn == arn)
                .map(|l| l.arn.clone())
                .collect();
            for listener in listeners {
                self.forget_listener(&listener);
            }
            self.tags.remove(&arn);
        }
        Ok(json!({}))
    }

    fn forget_listener(&mut self, arn: &str) {
        self.elbv2.listeners.remove(arn);
        let rules: Vec<String> = self
            .elbv2
            .rules
            .values()
            .filter(|r| r.listener_arn == arn)
            .map(|r| r.arn.clone())
            .collect();
        for rule in rules {
            self.elbv2.rules.remove(&rule);
            self.tags.remove(&rule);
        }
        self.tags.remove(arn);
    }

    /// Actions as ELB keeps them: a forward action names its groups in `ForwardConfig`
    /// (with `TargetGroupArn` too when there is one), every group exists, is of a protocol
    /// the load balancer can forward to, and belongs to no other load balancer.
    fn actions(
        &self,
        given: Option<&Value>,
        load_balancer: &LoadBalancer,
    ) -> Result<Value, ApiError> {
        let mut actions = Vec::new();
        for (index, action) in given.and_then(Value::as_array).into_iter().flatten().enumerate() {
            let mut action = action.clone();
            if action["Type"] == "forward" {
                let mut groups: Vec<Value> = action
                    .pointer("/ForwardConfig/TargetGroups")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(arn) = action.get("TargetGroupArn").and_then(Value::as_str)
                    && !groups.iter().any(|g| g["TargetGroupArn"] == arn)
                {
                    groups.push(json!({"TargetGroupArn": arn}));
                }
                if groups.is_empty() {
                    return Err(refused(
                        "ValidationError",
                        "A target group ARN must be specified for a forward action",
                    ));
                }
                for group in &mut groups {
                    if group.get("Weight").is_none() {
                        group["Weight"] = json!(1);
                    }
                    let arn = group["TargetGroupArn"].as_str().unwrap_or_default();
                    self.forwardable(arn, load_balancer)?;
                }
                let sticky = action
                    .pointer("/ForwardConfig/TargetGroupStickinessConfig")
                    .cloned()
                    .unwrap_or_else(|| json!({"Enabled": false}));
                if groups.len() == 1 {
                    action["TargetGroupArn"] = groups[0]["TargetGroupArn"].clone();
                } else if let Some(members) = action.as_object_mut() {
                    members.remove("TargetGroupArn");
                }
                action["ForwardConfig"] =
                    json!({"TargetGroups": groups, "TargetGroupStickinessConfig": sticky});
            }
            if action.get("Order").is_none() {
                action["Order"] = json!(index + 1);
            }
            actions.push(action);
        }
        if actions.is_empty() {
            return Err(refused("ValidationError", "At least one action must be specified"));
        }
        Ok(Value::Array(actions))
    }

    fn forwardable(&self, arn: &str, load_balancer: &LoadBalancer) -> Result<(), ApiError> {
        let group =
            self.elbv2.target_groups.get(arn).ok_or_else(|| {
                refused("TargetGroupNotFound", "One or more target groups not found")
            })?;
        let http = matches!(group.protocol.as_deref(), Some("HTTP" | "HTTPS"));
        if (load_balancer.kind == "application") != http {
            return Err(refused(
                "IncompatibleProtocols",
                format!(
                    "The target group '{arn}' uses protocol {} which is not compatible with a \
                     load balancer of type '{}'",
                    group.protocol.as_deref().unwrap_or("none"),
                    load_balancer.kind
                ),
            ));
        }
        let others: Vec<String> = self
            .elbv2
            .load_balancers_of(arn)
            .into_iter()
            .filter(|other| *other != load_balancer.arn)
            .collect();
        if !others.is_empty() {
            return Err(refused(
                "TargetGroupAssociationLimit",
                format!(
                    "The following target groups cannot be associated with more than one load \
                     balancer: {arn}"
                ),
            ));
        }
        Ok(())
    }

    pub fn create_listener(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let lb_arn = request.required_string("LoadBalancerArn")?;
        let load_balancer = self.elbv2.load_balancers.get(lb_arn).cloned().ok_or_else(|| {
            refused("LoadBalancerNotFound", "One or more load balancers not found")
        })?;
        let protocol = request
            .string("Protocol")?
            .unwrap_or(if load_balancer.kind == "application" { "HTTP" } else { "TCP" })
            .to_owned();
        let port = request
            .integer("Port")?
            .ok_or_else(|| refused("ValidationError", "A listener port must be specified"))?;
        check_listener_protocol(&load_balancer, &protocol, request)?;
        if self
            .elbv2
            .listeners
            .values()
            .any(|l| l.load_balancer_arn == lb_arn && l.port == Some(port))
        {
            return Err(refused(
                "DuplicateListener",
                format!("A listener already exists on this port for this load balancer '{lb_arn}'"),
            ));
        }
        let default_actions = self.actions(request.value("DefaultActions"), &load_balancer)?;
        let id = self.elb_id();
        let path = load_balancer.arn.split_once(":loadbalancer/").map_or("", |(_, p)| p);
        let arn = self.elb_arn(&format!("listener/{path}/{id}"));
        let listener = Listener {
            arn: arn.clone(),
            load_balancer_arn: lb_arn.to_owned(),
            port: Some(port),
            protocol: Some(protocol),
            default_actions: default_actions.clone(),
        };
        self.set_elb_tags(&arn, request)?;
        let rule_id = self.elb_id();
        let rule_arn = self.elb_arn(&format!("listener-rule/{path}/{id}/{rule_id}"));
        self.elbv2.rules.insert(
            rule_arn.clone(),
            Rule {
                arn: rule_arn,
                listener_arn: arn.clone(),
                priority: "default".to_owned(),
                conditions: json!([]),
                actions: default_actions,
            },
        );
        let answer = listener_answer(&listener);
        self.elbv2.listeners.insert(arn, listener);
        Ok(json!({"Listeners": [answer]}))
    }

    pub fn describe_listeners(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns = request.strings("ListenerArns")?;
        let lb_arn = request.string("LoadBalancerArn")?;
        if arns.is_empty() && lb_arn.is_none() {
            return Err(refused(
                "ValidationError",
                "You must specify either listener ARNs or a load balancer ARN",
            ));
        }
        if let Some(lb_arn) = lb_arn
            && !self.elbv2.load_balancers.contains_key(lb_arn)
        {
            return Err(refused("LoadBalancerNotFound", "One or more load balancers not found"));
        }
        let found: Vec<&Listener> = self
            .elbv2
            .listeners
            .values()
            .filter(|l| arns.is_empty() || arns.contains(&l.arn.as_str()))
            .filter(|l| lb_arn.is_none_or(|lb| l.load_balancer_arn == lb))
            .collect();
        if found.len() < arns.len() {
            return Err(refused("ListenerNotFound", "One or more listeners not found"));
        }
        let items: Vec<Value> = found.into_iter().map(listener_answer).collect();
        Ok(paged("Listeners", &items, page(request)?))
    }

    pub fn modify_listener(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("ListenerArn")?;
        let mut listener = self
            .elbv2
            .listeners
            .get(arn)
            .cloned()
            .ok_or_else(|| refused("ListenerNotFound", "One or more listeners not found"))?;
        let load_balancer =
            self.elbv2.load_balancers.get(&listener.load_balancer_arn).cloned().ok_or_else(
                || refused("LoadBalancerNotFound", "One or more load balancers not found"),
            )?;
        if let Some(port) = request.integer("Port")?
            && listener.port != Some(port)
        {
            let taken =
                self.elbv2.listeners.values().any(|l| {
                    l.load_balancer_arn == listener.load_balancer_arn && l.port == Some(port)
                });
            if taken {
                return Err(refused(
                    "DuplicateListener",
                    format!(
                        "A listener already exists on this port for this load balancer '{}'",
                        listener.load_balancer_arn
                    ),
                ));
            }
            listener.port = Some(port);
        }
        if let Some(protocol) = request.string("Protocol")? {
            check_listener_protocol(&load_balancer, protocol, request)?;
            listener.protocol = Some(protocol.to_owned());
        }
        if request.value("DefaultActions").is_some() {
            let actions = self.actions(request.value("DefaultActions"), &load_balancer)?;
            listener.default_actions = actions.clone();
            if let Some(rule) =
                self.elbv2.rules.values_mut().find(|r| r.listener_arn == arn && r.is_default())
            {
                rule.actions = actions;
            }
        }
        let answer = listener_answer(&listener);
        self.elbv2.listeners.insert(arn.to_owned(), listener);
        Ok(json!({"Listeners": [answer]}))
    }

    pub fn delete_listener(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("ListenerArn")?;
        if !self.elbv2.listeners.contains_key(arn) {
            return Err(refused("ListenerNotFound", "One or more listeners not found"));
        }
        self.forget_listener(arn);
        Ok(json!({}))
    }

    pub fn create_rule(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let listener_arn = request.required_string("ListenerArn")?;
        let listener = self
            .elbv2
            .listeners
            .get(listener_arn)
            .cloned()
            .ok_or_else(|| refused("ListenerNotFound", "One or more listeners not found"))?;
        let priority = request.integer("Priority")?.unwrap_or_default();
        if self
            .elbv2
            .rules
            .values()
            .any(|r| r.listener_arn == listener_arn && r.priority == priority.to_string())
        {
            return Err(refused(
                "PriorityInUse",
                format!("Priority '{priority}' is currently in use"),
            ));
        }
        let conditions = conditions(request.value("Conditions"))?;
        let load_balancer =
            self.elbv2.load_balancers.get(&listener.load_balancer_arn).cloned().ok_or_else(
                || refused("LoadBalancerNotFound", "One or more load balancers not found"),
            )?;
        let actions = self.actions(request.value("Actions"), &load_balancer)?;
        let id = self.elb_id();
        let path = listener_arn.split_once(":listener/").map_or("", |(_, p)| p);
        let arn = self.elb_arn(&format!("listener-rule/{path}/{id}"));
        let rule = Rule {
            arn: arn.clone(),
            listener_arn: listener_arn.to_owned(),
            priority: priority.to_string(),
            conditions,
            actions,
        };
        self.set_elb_tags(&arn, request)?;
        let answer = rule.answer();
        self.elbv2.rules.insert(arn, rule);
        Ok(json!({"Rules": [answer]}))
    }

    pub fn describe_rules(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns = request.strings("RuleArns")?;
        let listener_arn = request.string("ListenerArn")?;
        if arns.is_empty() && listener_arn.is_none() {
            return Err(refused(
                "ValidationError",
                "You must specify either listener ARNs or rule ARNs",
            ));
        }
        if let Some(listener) = listener_arn
            && !self.elbv2.listeners.contains_key(listener)
        {
            return Err(refused("ListenerNotFound", "One or more listeners not found"));
        }
        let mut found: Vec<&Rule> = self
            .elbv2
            .rules
            .values()
            .filter(|r| arns.is_empty() || arns.contains(&r.arn.as_str()))
            .filter(|r| listener_arn.is_none_or(|l| r.listener_arn == l))
            .collect();
        if found.len() < arns.len() {
            return Err(refused("RuleNotFound", "One or more rules not found"));
        }
        // By priority, the default rule last.
        found.sort_by_key(|r| (r.is_default(), r.priority.parse::<u32>().unwrap_or(u32::MAX)));
        let items: Vec<Value> = found.into_iter().map(Rule::answer).collect();
        Ok(paged("Rules", &items, page(request)?))
    }

    pub fn modify_rule(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("RuleArn")?;
        let mut rule = self
            .elbv2
            .rules
            .get(arn)
            .cloned()
            .ok_or_else(|| refused("RuleNotFound", "One or more rules not found"))?;
        if request.value("Conditions").is_some() {
            if rule.is_default() {
                return Err(refused(
                    "OperationNotPermitted",
                    "Conditions cannot be specified for the default rule",
                ));
            }
            rule.conditions = conditions(request.value("Conditions"))?;
        }
        if request.value("Actions").is_some() {
            let load_balancer = self
                .elbv2
                .listeners
                .get(&rule.listener_arn)
                .and_then(|l| self.elbv2.load_balancers.get(&l.load_balancer_arn))
                .cloned()
                .ok_or_else(|| refused("ListenerNotFound", "One or more listeners not found"))?;
            rule.actions = self.actions(request.value("Actions"), &load_balancer)?;
            if rule.is_default()
                && let Some(listener) = self.elbv2.listeners.get_mut(&rule.listener_arn)
            {
                listener.default_actions = rule.actions.clone();
            }
        }
        let answer = rule.answer();
        self.elbv2.rules.insert(arn.to_owned(), rule);
        Ok(json!({"Rules": [answer]}))
    }

    pub fn delete_rule(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let arn = request.required_string("RuleArn")?;
        let rule = self
            .elbv2
            .rules
            .get(arn)
            .ok_or_else(|| refused("RuleNotFound", "One or more rules not found"))?;
        if rule.is_default() {
            return Err(refused("OperationNotPermitted", "Default rule cannot be deleted"));
        }
        self.elbv2.rules.remove(arn);
        self.tags.remove(arn);
        Ok(json!({}))
    }
}

fn listener_answer(listener: &Listener) -> Value {
    json!({
        "ListenerArn": listener.arn,
        "LoadBalancerArn": listener.load_balancer_arn,
        "Port": listener.port,
        "Protocol": listener.protocol,
        "DefaultActions": listener.default_actions,
    })
}

/// A listener protocol the load balancer's type has; HTTPS and TLS need a certificate
/// (which the local ECS keeps, but serves no TLS with).
fn check_listener_protocol(
    load_balancer: &LoadBalancer,
    protocol: &str,
    request: Request<'_>,
) -> Result<(), ApiError> {
    let allowed: &[&str] = if load_balancer.kind == "application" {
        &["HTTP", "HTTPS"]
    } else {
        &["TCP", "TLS", "UDP", "TCP_UDP"]
    };
    if !allowed.contains(&protocol) {
        return Err(refused(
            "IncompatibleProtocols",
            format!(
                "The listener protocol '{protocol}' is not supported by a load balancer of type \
                 '{}'",
                load_balancer.kind
            ),
        ));
    }
    if matches!(protocol, "HTTPS" | "TLS") && request.value("Certificates").is_none() {
        return Err(refused(
            "ValidationError",
            format!("A certificate must be specified for {protocol} listeners"),
        ));
    }
    Ok(())
}

/// A rule's conditions: at least one.
fn conditions(given: Option<&Value>) -> Result<Value, ApiError> {
    let list = given.and_then(Value::as_array).cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(refused("ValidationError", "A rule must have at least one condition"));
    }
    Ok(Value::Array(list))
}
