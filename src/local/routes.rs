//! What the docker runtime's traffic needs from the state (docs/traffic.md), pure: the
//! health checks due — each target of a running task whose app has not answered yet,
//! at the host port its container port is published on — and where a listener sends a
//! request: its rules by priority, the first whose conditions match, a target group of
//! its forward action by weight, a healthy target of that group (all registered ones
//! when none is healthy: ELB fails open), never a draining one.

use std::net::SocketAddr;

use serde_json::Value;

use super::elbv2_targets::TargetGroup;
use super::state::EcsState;
use super::target_health::{TargetState, TaskTarget};
use super::task::{Task, TaskState};

/// One health check to make: target `index` of task `task`, at `address`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Probe {
    pub task: String,
    pub index: usize,
    pub address: SocketAddr,
    pub check: HealthCheck,
}

/// A target group's health check, as its settings say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HealthCheck {
    /// `HTTP`, `HTTPS` (checked as HTTP: no TLS here) or `TCP` (a connection is a pass).
    pub protocol: String,
    pub path: String,
    /// ELB's `HttpCode`: `200`, `200,202`, `200-299`.
    pub matcher: String,
    pub timeout_ms: u64,
}

/// Whether ELB's matcher (`200`, `200,202`, `200-299`) accepts `code`.
#[must_use]
pub(super) fn matcher_accepts(matcher: &str, code: u16) -> bool {
    matcher.split(',').map(str::trim).any(|part| match part.split_once('-') {
        Some((low, high)) => {
            low.parse::<u16>().is_ok_and(|low| low <= code)
                && high.parse::<u16>().is_ok_and(|high| code <= high)
        }
        None => part.parse::<u16>() == Ok(code),
    })
}

/// Where `target`'s container publishes `container_port` on the host (any container's
/// port for a target from an older state file, which does not name its container).
fn published(task: &Task, target: &TaskTarget, container_port: u16) -> Option<SocketAddr> {
    let containers = task
        .containers
        .iter()
        .filter(|c| target.container.is_empty() || c.name == target.container);
    containers.flat_map(|c| c.bindings.iter()).find_map(|b| {
        if b.container_port != container_port {
            return None;
        }
        let ip = match b.bind_ip.as_str() {
            "" | "0.0.0.0" | "::" => "127.0.0.1",
            ip => ip,
        };
        format!("{ip}:{}", b.host_port).parse().ok()
    })
}

impl HealthCheck {
    fn of(group: &TargetGroup) -> Self {
        let check = &group.health_check;
        let text = |key: &str, default: &str| {
            check.get(key).and_then(Value::as_str).unwrap_or(default).to_owned()
        };
        Self {
            protocol: text("HealthCheckProtocol", "HTTP"),
            path: text("HealthCheckPath", "/"),
            matcher: check
                .pointer("/Matcher/HttpCode")
                .and_then(Value::as_str)
                .unwrap_or("200")
                .to_owned(),
            timeout_ms: check
                .get("HealthCheckTimeoutSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(5)
                .saturating_mul(1000),
        }
    }

    /// The container port checked: the target's (`traffic-port`) or the one named.
    fn port(group: &TargetGroup, target_port: u16) -> u16 {
        match group.health_check.get("HealthCheckPort").and_then(Value::as_str) {
            Some(port) if port != "traffic-port" => port.parse().unwrap_or(target_port),
            _ => target_port,
        }
    }
}

impl EcsState {
    /// The health checks due: every target of a running docker task whose app has not
    /// answered yet (none after it has: a target that turned healthy stays so until
    /// deregistered — docs/traffic.md).
    #[must_use]
    pub(super) fn probes(&self) -> Vec<Probe> {
        let mut probes: Vec<Probe> = self.regions.values().flat_map(Self::probes).collect();
        for service in self.clusters.values().flat_map(|c| c.services.values()) {
            for task in service.rollout.tasks.iter().filter(|t| t.external) {
                if task.state != TaskState::Running {
                    continue;
                }
                for (index, target) in task.targets.iter().enumerate() {
                    let waiting = target.fate.as_ref().is_some_and(|f| f.healthy_ms.is_none());
                    let group = self.elbv2.target_groups.get(&target.group_arn);
                    let (true, Some(group)) = (waiting, group) else { continue };
                    let port = HealthCheck::port(group, target.port);
                    let Some(address) = published(task, target, port) else { continue };
                    probes.push(Probe {
                        task: task.id.clone(),
                        index,
                        address,
                        check: HealthCheck::of(group),
                    });
                }
            }
        }
        probes
    }

    /// The result of a probe at `now`; says whether the task was found.
    pub(super) fn probed(
        &mut self,
        task_id: &str,
        index: usize,
        result: Result<(), super::target_health::Failure>,
        now: u64,
    ) -> bool {
        if self.regions.values_mut().any(|r| r.probed(task_id, index, result.clone(), now)) {
            return true;
        }
        for service in self.clusters.values_mut().flat_map(|c| c.services.values_mut()) {
            let grace = service.rollout.config.grace_ms;
            if let Some(task) = service.rollout.tasks.iter_mut().find(|t| t.id == task_id) {
                task.checked(index, result, now, grace);
                return true;
            }
        }
        false
    }

    /// Where `listener_arn` sends a request for `host` and `path` at `now`; `pick` spreads
    /// requests over weights and targets (a counter). `Err(503)` when no target can take
    /// it, as ELB answers.
    pub(super) fn route(
        &self,
        listener_arn: &str,
        host: &str,
        path: &str,
        pick: u64,
        now: u64,
    ) -> Result<SocketAddr, u16> {
        let mut rules: Vec<&super::elbv2::Rule> =
            self.elbv2.rules.values().filter(|r| r.listener_arn == listener_arn).collect();
        rules.sort_by_key(|r| r.priority.parse::<u32>().unwrap_or(u32::MAX));
        let rule = rules.iter().find(|r| matches(&r.conditions, host, path)).ok_or(503_u16)?;
        let groups = super::elbv2::weighted_groups(&rule.actions);
        let total: u64 = groups.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return Err(503);
        }
        let mut at = pick % total;
        let arn = groups
            .iter()
            .find(|(_, weight)| {
                if at < *weight {
                    return true;
                }
                at -= weight;
                false
            })
            .map(|(arn, _)| arn.clone())
            .ok_or(503_u16)?;
        let group = self.elbv2.target_groups.get(&arn).ok_or(503_u16)?;
        let targets = self.task_targets(group, now);
        let live: Vec<SocketAddr> = targets
            .iter()
            .filter(|(_, _, state)| *state == TargetState::Healthy)
            .filter_map(|(task, target, _)| published(task, target, target.port))
            .collect();
        // A group of only unhealthy targets: ELB sends requests to all of them (fail
        // open). Targets still in their initial checks get none.
        let routable: Vec<&TargetState> = targets
            .iter()
            .map(|(_, _, state)| state)
            .filter(|s| !matches!(s, TargetState::Draining | TargetState::NotInUse))
            .collect();
        let all_unhealthy =
            !routable.is_empty() && routable.iter().all(|s| matches!(s, TargetState::Unhealthy(_)));
        let open: Vec<SocketAddr> = targets
            .iter()
            .filter(|(_, _, state)| all_unhealthy && matches!(state, TargetState::Unhealthy(_)))
            .filter_map(|(task, target, _)| published(task, target, target.port))
            .collect();
        let choose = if live.is_empty() { open } else { live };
        if choose.is_empty() {
            return Err(503);
        }
        Ok(choose[usize::try_from(pick).unwrap_or(0) % choose.len()])
    }

    /// Every listener of the state's load balancers (the proxies' list).
    #[must_use]
    pub(super) fn listener_arns(&self) -> Vec<String> {
        self.elbv2.listeners.keys().cloned().collect()
    }
}

/// Whether a rule's conditions hold for `host` and `path`: `path-pattern` and
/// `host-header` (with `*` and `?`); a rule with another kind of condition never matches
/// here. No conditions (the default rule): always.
fn matches(conditions: &Value, host: &str, path: &str) -> bool {
    conditions.as_array().into_iter().flatten().all(|condition| {
        let field = condition.get("Field").and_then(Value::as_str).unwrap_or_default();
        let config = match field {
            "path-pattern" => "PathPatternConfig",
            "host-header" => "HostHeaderConfig",
            _ => return false,
        };
        let values: Vec<&str> = condition
            .get("Values")
            .or_else(|| condition.pointer(&format!("/{config}/Values")))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // Paths match case-sensitively, host names not (as ELB).
        let (subject, any_case) =
            if field == "path-pattern" { (path, false) } else { (host, true) };
        values.iter().any(|pattern| wildcard(pattern, subject, any_case))
    })
}

/// ELB's patterns: `*` any run of characters, `?` one. Iterative, with one backtrack
/// point (the last `*`): linear in practice, whatever the request's path.
fn wildcard(pattern: &str, text: &str, any_case: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let same = |a: u8, b: u8| if any_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && (p[i] == b'?' || same(p[i], t[j])) {
            i += 1;
            j += 1;
        } else if let Some((at, from)) = star {
            i = at + 1;
            j = from + 1;
            star = Some((at, from + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_takes_codes_lists_and_ranges() {
        assert!(matcher_accepts("200", 200));
        assert!(!matcher_accepts("200", 204));
        assert!(matcher_accepts("200,202", 202));
        assert!(matcher_accepts("200-299", 299));
        assert!(!matcher_accepts("200-299", 301));
        assert!(!matcher_accepts("", 200));
    }

    #[test]
    fn conditions_match_paths_and_hosts_with_wildcards() {
        let path = serde_json::json!([{"Field": "path-pattern", "Values": ["/api/*"]}]);
        assert!(matches(&path, "x", "/api/orders"));
        assert!(!matches(&path, "x", "/web"));
        assert!(!matches(&path, "x", "/API/orders"), "paths are case-sensitive");
        let long = format!("/{}", "a".repeat(100_000));
        assert!(!matches(&path, "x", &long));
        assert!(wildcard("*a*b?c*", "xxaxxbzcyy", false));
        assert!(!wildcard("*a*b?c", "xxaxxbzcyy", false));
        let host = serde_json::json!([{"Field": "host-header",
            "HostHeaderConfig": {"Values": ["*.example.com"]}}]);
        assert!(matches(&host, "Shop.Example.com", "/"));
        assert!(!matches(&host, "example.org", "/"));
        assert!(matches(&serde_json::json!([]), "any", "/"));
        let other = serde_json::json!([{"Field": "http-header", "Values": ["x"]}]);
        assert!(!matches(&other, "x", "/"));
    }

    #[test]
    fn a_target_is_reached_at_its_own_container_s_port() {
        use crate::local::task::{Binding, ContainerStatus, LaunchSpec};
        let spec = LaunchSpec {
            id: "t1".to_owned(),
            deployment_id: "ecs-svc/1".to_owned(),
            task_definition_arn: "arn:td/web:1".to_owned(),
            has_health_check: false,
            stop_timeout_ms: 30_000,
            drain_ms: 0,
            targets: Vec::new(),
        };
        let mut task = Task::launch(spec, crate::local::behaviour::TaskBehaviour::default(), 0);
        let container = |name: &str, host_port: u16| ContainerStatus {
            name: name.to_owned(),
            runtime_id: name.to_owned(),
            essential: true,
            running: true,
            exit_code: None,
            out_of_memory: false,
            health: None,
            bindings: vec![Binding {
                bind_ip: "0.0.0.0".to_owned(),
                container_port: 8080,
                host_port,
                protocol: "tcp".to_owned(),
            }],
        };
        // A sidecar publishes 8080 too, first: the target is the web container's.
        task.containers = vec![container("sidecar", 40001), container("web", 40002)];
        let target = TaskTarget {
            group_arn: "arn:tg/web".to_owned(),
            container: "web".to_owned(),
            id: "10.0.0.1".to_owned(),
            port: 8080,
            timing: crate::local::target_health::HealthTiming::default(),
            fate: None,
        };
        assert_eq!(published(&task, &target, 8080), "127.0.0.1:40002".parse().ok());
        let older = TaskTarget { container: String::new(), ..target };
        assert_eq!(published(&task, &older, 8080), "127.0.0.1:40001".parse().ok());
    }

    #[test]
    fn weights_come_from_the_forward_config_or_count_one() {
        let split = serde_json::json!([{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": "blue", "Weight": 90}, {"TargetGroupArn": "green", "Weight": 10}
        ]}}]);
        assert_eq!(
            super::super::elbv2::weighted_groups(&split),
            vec![("blue".into(), 90), ("green".into(), 10)]
        );
        let plain = serde_json::json!([{"Type": "forward", "TargetGroupArn": "blue"}]);
        assert_eq!(super::super::elbv2::weighted_groups(&plain), vec![("blue".into(), 1)]);
    }
}
