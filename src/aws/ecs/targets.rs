//! The load balancer reads of a service's verdict and status: its target groups
//! (DescribeTargetGroups: the target type, the load balancers forwarding to each) and the
//! health of their targets (DescribeTargetHealth), through the run's guard and count.

use super::Ecs;
use crate::aws::AwsError;
use crate::aws::aws_error::failed;
use crate::aws::views::{GroupHealth, LoadBalancerView, TargetGroupView, TargetView};

impl Ecs {
    /// Every target group a service links (`loadBalancers`) with its targets: one
    /// DescribeTargetGroups and a DescribeTargetHealth per group. A group that does not
    /// exist fails the whole DescribeTargetGroups; each is then described by itself, and
    /// the missing ones are `None`.
    pub async fn group_health(
        &self,
        links: &[LoadBalancerView],
    ) -> Result<Vec<GroupHealth>, AwsError> {
        let arns = distinct_groups(links);
        let groups = match self.target_groups(&arns).await {
            Ok(groups) => groups,
            Err(error) if error.code == "TargetGroupNotFound" => {
                let mut found = Vec::new();
                for arn in &arns {
                    match self.target_groups(std::slice::from_ref(arn)).await {
                        Ok(group) => found.extend(group),
                        Err(error) if error.code == "TargetGroupNotFound" => {}
                        Err(error) => return Err(error),
                    }
                }
                found
            }
            Err(error) => return Err(error),
        };
        let mut health: Vec<(String, Vec<TargetView>)> = Vec::new();
        for group in &groups {
            health.push((group.arn.clone(), self.target_health(&group.arn).await?));
        }
        Ok(links
            .iter()
            .map(|link| GroupHealth {
                link: link.clone(),
                group: groups.iter().find(|g| g.arn == link.target_group).cloned(),
                targets: health
                    .iter()
                    .find(|(arn, _)| *arn == link.target_group)
                    .map(|(_, targets)| targets.clone())
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// The target groups named by `arns`, in that order. A group that does not exist is
    /// `TargetGroupNotFound`, naming it.
    pub async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroupView>, AwsError> {
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        self.count();
        let answer = self
            .guarded(
                self.elb.describe_target_groups().set_target_group_arns(Some(arns.to_vec())).send(),
            )
            .await?
            .map_err(|error| {
                failed(
                    self.elb.config().region(),
                    "DescribeTargetGroups",
                    format!("target groups {}", arns.join(", ")),
                    &error,
                )
            })?;
        let groups: Vec<TargetGroupView> = answer
            .target_groups()
            .iter()
            .map(|g| TargetGroupView {
                arn: g.target_group_arn().unwrap_or_default().to_owned(),
                name: g.target_group_name().unwrap_or_default().to_owned(),
                target_type: g.target_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                port: g.port(),
                load_balancers: g.load_balancer_arns().to_vec(),
                health_check: match (
                    g.health_check_interval_seconds(),
                    g.healthy_threshold_count(),
                    g.unhealthy_threshold_count(),
                ) {
                    (Some(interval), Some(healthy), Some(unhealthy)) => {
                        Some((interval, healthy, unhealthy))
                    }
                    _ => None,
                },
                drain_ms: None,
            })
            .collect();
        Ok(arns.iter().filter_map(|arn| groups.iter().find(|g| &g.arn == arn).cloned()).collect())
    }

    /// A target group's deregistration delay (`deregistration_delay.timeout_seconds`,
    /// DescribeTargetGroupAttributes), in milliseconds; `None` when it does not say.
    pub async fn deregistration_delay_ms(&self, group_arn: &str) -> Result<Option<u64>, AwsError> {
        self.count();
        let answer = self
            .guarded(self.elb.describe_target_group_attributes().target_group_arn(group_arn).send())
            .await?
            .map_err(|error| {
                failed(
                    self.elb.config().region(),
                    "DescribeTargetGroupAttributes",
                    format!("target group {group_arn}"),
                    &error,
                )
            })?;
        Ok(answer
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value()?.parse::<u64>().ok())
            .map(|seconds| seconds * 1000))
    }

    /// The longest deregistration delay of the groups `links` name (ms); 0 when none can
    /// be read.
    pub async fn longest_drain_ms(&self, links: &[LoadBalancerView]) -> u64 {
        let mut longest = 0;
        for arn in distinct_groups(links) {
            if let Ok(Some(ms)) = self.deregistration_delay_ms(&arn).await {
                longest = longest.max(ms);
            }
        }
        longest
    }

    /// The targets of one target group with their health.
    pub async fn target_health(&self, group_arn: &str) -> Result<Vec<TargetView>, AwsError> {
        self.count();
        let answer = self
            .guarded(self.elb.describe_target_health().target_group_arn(group_arn).send())
            .await?
            .map_err(|error| {
                failed(
                    self.elb.config().region(),
                    "DescribeTargetHealth",
                    format!("target group {group_arn}"),
                    &error,
                )
            })?;
        Ok(answer
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                TargetView {
                    id: d.target().and_then(|t| t.id()).unwrap_or_default().to_owned(),
                    port: d
                        .target()
                        .and_then(aws_sdk_elasticloadbalancingv2::types::TargetDescription::port),
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: health.and_then(|h| h.reason()).map(|r| r.as_str().to_owned()),
                    description: health.and_then(|h| h.description()).map(str::to_owned),
                }
            })
            .collect())
    }
}

/// The target groups `links` name, each once, in order.
fn distinct_groups(links: &[LoadBalancerView]) -> Vec<String> {
    let mut arns: Vec<String> = Vec::new();
    for link in links {
        if !arns.contains(&link.target_group) {
            arns.push(link.target_group.clone());
        }
    }
    arns
}
