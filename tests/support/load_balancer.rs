//! A load balancer for a test (and for `benches/deploy.rs`, which includes this file):
//! an Application Load Balancer `web`, an `ip` target group `web` on port 8080 checked
//! over HTTP as `Checks` says, and a listener on port 80 forwarding to it — through the
//! real `aws-sdk-elasticloadbalancingv2` client given.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
};

/// The target group's health checks and deregistration delay; `None`: ELB's default.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Checks {
    pub(crate) interval_s: Option<i32>,
    pub(crate) timeout_s: Option<i32>,
    pub(crate) healthy: Option<i32>,
    pub(crate) unhealthy: Option<i32>,
    pub(crate) drain_s: Option<u32>,
}

/// The target group's and the listener's ARNs.
pub(crate) async fn load_balancer(elb: &Client, checks: Checks) -> (String, String) {
    let lb = application_load_balancer(elb).await;
    let group = target_group(elb, "web", checks).await;
    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&group);
    let listener = elb
        .create_listener()
        .load_balancer_arn(lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward.build())
        .send()
        .await
        .expect("listener");
    (group, listener.listeners()[0].listener_arn().expect("arn").to_owned())
}

/// An Application Load Balancer `web` in two subnets; its ARN.
pub(crate) async fn application_load_balancer(elb: &Client) -> String {
    let lb = elb
        .create_load_balancer()
        .name("web")
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("load balancer");
    lb.load_balancers()[0].load_balancer_arn().expect("arn").to_owned()
}

/// An `ip` target group on port 8080 checked over HTTP at `/` as `checks` says; its ARN.
pub(crate) async fn target_group(elb: &Client, name: &str, checks: Checks) -> String {
    let group = elb
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-1")
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/")
        .set_health_check_interval_seconds(checks.interval_s)
        .set_health_check_timeout_seconds(checks.timeout_s)
        .set_healthy_threshold_count(checks.healthy)
        .set_unhealthy_threshold_count(checks.unhealthy)
        .send()
        .await
        .expect("target group");
    let group = group.target_groups()[0].target_group_arn().expect("arn").to_owned();
    if let Some(drain) = checks.drain_s {
        let delay = TargetGroupAttribute::builder()
            .key("deregistration_delay.timeout_seconds")
            .value(drain.to_string())
            .build();
        elb.modify_target_group_attributes()
            .target_group_arn(&group)
            .attributes(delay)
            .send()
            .await
            .expect("attributes");
    }
    group
}
