//! The resources of a blue/green service for a test, through the real
//! `aws-sdk-elasticloadbalancingv2` client given: two target groups, a production and a
//! test listener, and the weights their rules forward with.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};

use super::load_balancer::{Checks, application_load_balancer, target_group};

/// The resources of a blue/green service: two `ip` target groups, a production listener
/// (port 80) whose default rule forwards to `blue` with `green` at weight 0, and a test
/// listener (port 8080) whose default rule forwards to `green`.
#[derive(Clone, Debug)]
pub(crate) struct BlueGreen {
    pub(crate) blue: String,
    pub(crate) green: String,
    pub(crate) production_rule: String,
    pub(crate) test_rule: String,
    /// The production and the test listener.
    pub(crate) listeners: (String, String),
}

pub(crate) async fn blue_green(elb: &Client, checks: Checks) -> BlueGreen {
    let lb = application_load_balancer(elb).await;
    let blue = target_group(elb, "web-blue", checks).await;
    let green = target_group(elb, "web-green", checks).await;
    let weighted = |weights: &[(&str, i32)]| {
        let mut config = aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder();
        for (arn, weight) in weights {
            config = config.target_groups(
                aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                    .target_group_arn(*arn)
                    .weight(*weight)
                    .build(),
            );
        }
        Action::builder().r#type(ActionTypeEnum::Forward).forward_config(config.build()).build()
    };
    let mut rules = Vec::new();
    let mut listeners = Vec::new();
    for (port, action) in
        [(80, weighted(&[(&blue, 100), (&green, 0)])), (8080, weighted(&[(&green, 100)]))]
    {
        let listener = elb
            .create_listener()
            .load_balancer_arn(&lb)
            .protocol(ProtocolEnum::Http)
            .port(port)
            .default_actions(action)
            .send()
            .await
            .expect("listener");
        let listener = listener.listeners()[0].listener_arn().expect("arn").to_owned();
        listeners.push(listener.clone());
        let described = elb.describe_rules().listener_arn(listener).send().await.expect("rules");
        rules.push(described.rules()[0].rule_arn().expect("arn").to_owned());
    }
    BlueGreen {
        blue,
        green,
        production_rule: rules[0].clone(),
        test_rule: rules[1].clone(),
        listeners: (listeners[0].clone(), listeners[1].clone()),
    }
}

/// The weights of a rule's forward action, by target group ARN.
pub(crate) async fn weights(elb: &Client, rule: &str) -> Vec<(String, i32)> {
    let described = elb.describe_rules().rule_arns(rule).send().await.expect("rules");
    let action = described.rules()[0].actions().first().cloned();
    let groups = action
        .as_ref()
        .and_then(|a| a.forward_config())
        .map(|c| c.target_groups().to_vec())
        .unwrap_or_default();
    groups
        .iter()
        .map(|g| (g.target_group_arn().unwrap_or_default().to_owned(), g.weight().unwrap_or(1)))
        .collect()
}
