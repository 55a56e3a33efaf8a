//! Our tasks as their load balancers see them (docs/traffic.md): a rollout behind load
//! balancers serves only when every running task of ours is a `healthy` target in every
//! target group of the service. Pure: the watcher reads, this judges.
//!
//! An `ip` group's target is the task's private address and the container port of the
//! service's `loadBalancers` entry, so each task of ours is found by itself. An `instance`
//! group's targets are EC2 instances and host ports, which a task view does not tie to a
//! task: there every target the group has that is not draining must be healthy, and at
//! least as many as the service's running tasks (old ones included, so that their
//! targets cannot stand in for ours).

use crate::aws::{GroupHealth, TargetView, TaskView};

/// A target of ours (or, in an `instance` group, of the group) that is not healthy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NotHealthy {
    /// The group's name (its ARN when it could not be read).
    pub group: String,
    /// The task's short id, where the target is tied to one.
    pub task: Option<String>,
    /// `10.0.1.7:8080`, `i-0abc:32768`, or empty when the task has no target.
    pub target: String,
    /// ELB's state, or `not registered` / `no address` / `no target group`.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl NotHealthy {
    /// `task 5f0c… (10.0.1.7:8080) in target group web: unhealthy (Target.…: …)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let who = match (&self.task, self.target.is_empty()) {
            (Some(task), true) => format!("task {task} "),
            (Some(task), false) => format!("task {task} ({}) ", self.target),
            (None, false) => format!("target {} ", self.target),
            (None, true) => String::new(),
        };
        let why = why(self.reason.as_deref(), self.description.as_deref());
        format!("{who}in target group {}: {}{why}", self.group, self.state)
    }
}

/// What the target groups say of our running tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetCheck {
    /// Targets of ours that must be healthy: our running tasks, once per group.
    pub expected: usize,
    pub healthy: usize,
    pub not_healthy: Vec<NotHealthy>,
}

impl TargetCheck {
    /// Every target of ours healthy in every group.
    #[must_use]
    pub fn serving(&self) -> bool {
        self.not_healthy.is_empty() && self.healthy >= self.expected
    }

    /// The standing in words: `1 of 2 targets of ours healthy; task 5f0c… in web: …`.
    #[must_use]
    pub fn describe(&self) -> String {
        let text = format!(
            "{} of {} load balancer targets of ours healthy",
            self.healthy.min(self.expected),
            self.expected
        );
        let mut parts = vec![text];
        parts.extend(self.not_healthy.iter().take(3).map(NotHealthy::describe));
        if self.not_healthy.len() > 3 {
            parts.push(format!("{} more", self.not_healthy.len() - 3));
        }
        parts.join("; ")
    }
}

/// How many tasks the targets must account for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expect {
    /// Our deployment's desired count: fewer tasks of ours listed is not serving.
    pub desired: usize,
    /// The service's running tasks, of every deployment (`instance` groups).
    pub service_running: usize,
}

/// Judges our running tasks (`ours`) against every target group of the service.
///
/// In an `instance` group, where a target is not tied to a task, the targets that are not
/// draining must all be healthy and at least as many as the service's running tasks:
/// while the old tasks still run their healthy targets cannot stand in for ours.
#[must_use]
pub fn check_targets(groups: &[GroupHealth], ours: &[&TaskView], expect: Expect) -> TargetCheck {
    let mut check = TargetCheck::default();
    let wanted = ours.len().max(expect.desired);
    for health in groups {
        check.expected += wanted;
        let Some(group) = &health.group else {
            check.not_healthy.push(NotHealthy {
                group: health.link.target_group.clone(),
                task: None,
                target: String::new(),
                state: "no target group".to_owned(),
                reason: None,
                description: Some("DescribeTargetGroups does not know it".to_owned()),
            });
            continue;
        };
        let problem = |task: Option<String>, target: String, t: Option<&TargetView>| NotHealthy {
            group: group.name.clone(),
            task,
            target,
            state: t.map_or_else(|| "not registered".to_owned(), |t| t.state.clone()),
            reason: t.and_then(|t| t.reason.clone()),
            description: t.and_then(|t| t.description.clone()),
        };
        if group.target_type == "ip" {
            for task in ours {
                let short = task.short_id().to_owned();
                let Some(ip) = &task.private_ip else {
                    check.not_healthy.push(NotHealthy {
                        state: "no address".to_owned(),
                        description: Some("the task shows no private IPv4 address".to_owned()),
                        ..problem(Some(short), String::new(), None)
                    });
                    continue;
                };
                let port = health.link.port;
                let target = health.targets.iter().find(|t| {
                    &t.id == ip && t.port.or(group.port) == Some(port) && t.state != "draining"
                });
                if target.is_some_and(|t| t.state == "healthy") {
                    check.healthy += 1;
                } else {
                    check.not_healthy.push(problem(Some(short), format!("{ip}:{port}"), target));
                }
            }
        } else {
            let live: Vec<&TargetView> =
                health.targets.iter().filter(|t| t.state != "draining").collect();
            let healthy = live.iter().filter(|t| t.state == "healthy").count();
            let needed = wanted.max(expect.service_running);
            for target in live.iter().filter(|t| t.state != "healthy") {
                let address = match target.port {
                    Some(port) => format!("{}:{port}", target.id),
                    None => target.id.clone(),
                };
                check.not_healthy.push(problem(None, address, Some(target)));
            }
            if healthy < needed {
                check.not_healthy.push(NotHealthy {
                    state: "not registered".to_owned(),
                    description: Some(format!(
                        "{healthy} healthy targets for the service's {needed} running tasks"
                    )),
                    ..problem(None, String::new(), None)
                });
            } else {
                check.healthy += wanted;
            }
        }
        if ours.len() < expect.desired {
            check.not_healthy.push(NotHealthy {
                state: "not registered".to_owned(),
                description: Some(format!(
                    "{} of {} tasks of ours listed",
                    ours.len(),
                    expect.desired
                )),
                ..problem(None, String::new(), None)
            });
        }
    }
    check
}

/// The target groups of a service for `ferry status`: each group with its type and
/// counts by state, then each target with its state, ELB's reason, and the running task
/// (and deployment) it is, where an `ip` group ties it to one of `tasks`.
#[must_use]
pub fn targets_text(groups: &[GroupHealth], tasks: &[TaskView]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for health in groups {
        let Some(group) = &health.group else {
            let _ = writeln!(
                out,
                "  target group {}: does not exist (container `{}`, port {})",
                health.link.target_group, health.link.container, health.link.port
            );
            continue;
        };
        let mut states: Vec<(&str, usize)> = Vec::new();
        for target in &health.targets {
            match states.iter_mut().find(|(s, _)| *s == target.state) {
                Some((_, n)) => *n += 1,
                None => states.push((&target.state, 1)),
            }
        }
        let counts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let _ = writeln!(
            out,
            "  target group `{}` ({}, container `{}` port {}): {}",
            group.name,
            group.target_type,
            health.link.container,
            health.link.port,
            if counts.is_empty() { "no targets".to_owned() } else { counts.join(", ") }
        );
        for target in &health.targets {
            let address =
                target.port.map_or_else(|| target.id.clone(), |p| format!("{}:{p}", target.id));
            let task = tasks
                .iter()
                .filter(|_| group.target_type == "ip" && target.state != "draining")
                .find(|t| t.private_ip.as_deref() == Some(target.id.as_str()));
            let why = why(target.reason.as_deref(), target.description.as_deref());
            let of = task.map_or_else(String::new, |t| {
                format!(" — task {} ({})", t.short_id(), t.started_by)
            });
            let _ = writeln!(out, "    {address} {}{why}{of}", target.state);
        }
    }
    out
}

/// ELB's reason code and description of a state, as ` (Target.Timeout: Request timed
/// out)`; empty for neither.
fn why(reason: Option<&str>, description: Option<&str>) -> String {
    match (reason, description) {
        (Some(reason), Some(text)) => format!(" ({reason}: {text})"),
        (Some(text), None) | (None, Some(text)) => format!(" ({text})"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{LoadBalancerView, TargetGroupView};

    fn expect(n: usize) -> Expect {
        Expect { desired: n, service_running: n }
    }

    fn task(id: &str, ip: &str) -> TaskView {
        TaskView {
            arn: format!("arn:aws:ecs:us-east-1:1:task/c/{id}"),
            last_status: "RUNNING".to_owned(),
            private_ip: Some(ip.to_owned()),
            ..TaskView::default()
        }
    }

    fn target(id: &str, port: i32, state: &str, reason: Option<&str>) -> TargetView {
        TargetView {
            id: id.to_owned(),
            port: Some(port),
            state: state.to_owned(),
            reason: reason.map(str::to_owned),
            description: reason.map(|_| "Health checks failed with these codes: [503]".to_owned()),
        }
    }

    fn group(kind: &str, targets: Vec<TargetView>) -> GroupHealth {
        GroupHealth {
            link: LoadBalancerView {
                target_group: "arn:tg/web".to_owned(),
                container: "app".to_owned(),
                port: 8080,
                advanced: None,
            },
            group: Some(TargetGroupView {
                arn: "arn:tg/web".to_owned(),
                name: "web".to_owned(),
                target_type: kind.to_owned(),
                port: Some(8080),
                load_balancers: vec!["arn:lb".to_owned()],
                ..TargetGroupView::default()
            }),
            targets,
        }
    }

    #[test]
    fn an_ip_group_serves_only_when_each_task_of_ours_is_a_healthy_target() {
        let (a, b) = (task("a", "10.0.0.1"), task("b", "10.0.0.2"));
        let ours = [&a, &b];
        // The old task's target is healthy; ours are not yet: not serving, though the
        // group has as many healthy targets as we have tasks.
        let groups = [group(
            "ip",
            vec![
                target("10.0.0.9", 8080, "healthy", None),
                target("10.0.0.1", 8080, "healthy", None),
                target("10.0.0.2", 8080, "unhealthy", Some("Target.ResponseCodeMismatch")),
            ],
        )];
        let check = check_targets(&groups, &ours, expect(2));
        assert!(!check.serving());
        assert_eq!((check.healthy, check.expected), (1, 2));
        assert_eq!(
            check.describe(),
            "1 of 2 load balancer targets of ours healthy; task b (10.0.0.2:8080) in target \
             group web: unhealthy (Target.ResponseCodeMismatch: Health checks failed with these \
             codes: [503])"
        );
        let healthy = [group(
            "ip",
            vec![
                target("10.0.0.1", 8080, "healthy", None),
                target("10.0.0.2", 8080, "healthy", None),
            ],
        )];
        assert!(check_targets(&healthy, &ours, expect(2)).serving());
    }

    #[test]
    fn a_task_of_ours_missing_from_the_group_or_on_another_port_is_not_serving() {
        let a = task("a", "10.0.0.1");
        let groups = [group("ip", vec![target("10.0.0.1", 9090, "healthy", None)])];
        let check = check_targets(&groups, &[&a], expect(1));
        assert!(!check.serving());
        assert_eq!(check.not_healthy[0].state, "not registered");
        // A draining target of the same address is an old registration, not ours.
        let draining = [group("ip", vec![target("10.0.0.1", 8080, "draining", None)])];
        assert!(!check_targets(&draining, &[&a], expect(1)).serving());
    }

    #[test]
    fn every_group_counts_and_a_group_that_cannot_be_read_is_not_serving() {
        let a = task("a", "10.0.0.1");
        let good = group("ip", vec![target("10.0.0.1", 8080, "healthy", None)]);
        let gone = GroupHealth { group: None, ..good.clone() };
        let check = check_targets(&[good.clone(), gone], &[&a], expect(1));
        assert!(!check.serving());
        assert_eq!((check.healthy, check.expected), (1, 2));
        assert!(check.describe().contains("no target group"), "{}", check.describe());
        assert!(check_targets(&[good.clone(), good], &[&a], expect(1)).serving());
    }

    #[test]
    fn an_instance_group_needs_every_live_target_healthy_and_enough_of_them() {
        let (a, b) = (task("a", "10.0.0.1"), task("b", "10.0.0.2"));
        let ours = [&a, &b];
        let initial = [group(
            "instance",
            vec![
                target("i-1", 32768, "healthy", None),
                target("i-2", 32769, "initial", Some("Elb.InitialHealthChecking")),
                target("i-3", 32770, "draining", None),
            ],
        )];
        let check = check_targets(&initial, &ours, expect(2));
        assert!(!check.serving());
        assert!(check.describe().contains("target i-2:32769 in target group web: initial"));
        let too_few = [group("instance", vec![target("i-1", 32768, "healthy", None)])];
        assert!(!check_targets(&too_few, &ours, expect(2)).serving());
        let fine = [group(
            "instance",
            vec![target("i-1", 32768, "healthy", None), target("i-2", 32769, "healthy", None)],
        )];
        assert!(check_targets(&fine, &ours, expect(2)).serving());
    }

    #[test]
    fn status_ties_live_ip_targets_to_tasks_and_names_missing_groups() {
        let mut a = task("a", "10.0.0.1");
        a.started_by = "ecs-svc/2".to_owned();
        let mut groups = vec![group(
            "ip",
            vec![
                target("10.0.0.1", 8080, "healthy", None),
                target("10.0.0.9", 8080, "draining", Some("Target.DeregistrationInProgress")),
            ],
        )];
        groups.push(GroupHealth { group: None, ..groups[0].clone() });
        let text = targets_text(&groups, &[a]);
        assert_eq!(
            text,
            "  target group `web` (ip, container `app` port 8080): 1 healthy, 1 draining\n    \
             10.0.0.1:8080 healthy — task a (ecs-svc/2)\n    10.0.0.9:8080 draining \
             (Target.DeregistrationInProgress: Health checks failed with these codes: [503])\n  \
             target group arn:tg/web: does not exist (container `app`, port 8080)\n"
        );
    }

    #[test]
    fn fewer_tasks_of_ours_listed_than_desired_is_not_serving() {
        // ListTasks is eventually consistent: none listed yet is not "all healthy".
        let groups = [group("ip", vec![target("10.0.0.9", 8080, "healthy", None)])];
        let check = check_targets(&groups, &[], expect(2));
        assert!(!check.serving());
        assert_eq!((check.healthy, check.expected), (0, 2));
        assert!(check.describe().contains("0 of 2 tasks of ours listed"), "{}", check.describe());
    }

    #[test]
    fn old_healthy_targets_cannot_stand_in_for_ours_in_an_instance_group() {
        // Two old tasks still run, their targets healthy; ours run but are not registered
        // yet. The group has 2 healthy targets for our 2 tasks — but 4 tasks run.
        let (a, b) = (task("a", "10.0.0.1"), task("b", "10.0.0.2"));
        let groups = [group(
            "instance",
            vec![target("i-1", 32768, "healthy", None), target("i-2", 32769, "healthy", None)],
        )];
        let running = Expect { desired: 2, service_running: 4 };
        let check = check_targets(&groups, &[&a, &b], running);
        assert!(!check.serving());
        assert!(
            check.describe().contains("2 healthy targets for the service's 4 running tasks"),
            "{}",
            check.describe()
        );
    }

    #[test]
    fn a_target_without_a_port_is_on_its_group_s_port() {
        let a = task("a", "10.0.0.1");
        let mut portless = target("10.0.0.1", 0, "healthy", None);
        portless.port = None;
        assert!(check_targets(&[group("ip", vec![portless])], &[&a], expect(1)).serving());
    }

    #[test]
    fn a_task_without_an_address_is_named() {
        let a = TaskView { private_ip: None, ..task("a", "") };
        let groups = [group("ip", vec![])];
        let check = check_targets(&groups, &[&a], expect(1));
        assert_eq!(check.not_healthy[0].state, "no address");
        assert!(!check.serving());
    }
}
