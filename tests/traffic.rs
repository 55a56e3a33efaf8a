//! Traffic on the local ECS through AWS's own clients (tests/contract/traffic.py): boto3
//! and the AWS CLI create a load balancer, target group, listener and rule, and a service
//! attached to them rolls out twice while DescribeTargetHealth is read without pause —
//! every new target goes initial → healthy, every old one healthy → draining → gone — and
//! every XML answer is botocore's model's.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::local_ecs::Start;
use crate::support::moto::{python_summary, python_tool};
use crate::support::test::root;

/// Every Elastic Load Balancing v2 action the local ECS answers.
const IMPLEMENTED: &[&str] = &[
    "elbv2:CreateLoadBalancer",
    "elbv2:DescribeLoadBalancers",
    "elbv2:DeleteLoadBalancer",
    "elbv2:CreateTargetGroup",
    "elbv2:DescribeTargetGroups",
    "elbv2:ModifyTargetGroup",
    "elbv2:DeleteTargetGroup",
    "elbv2:DescribeTargetGroupAttributes",
    "elbv2:ModifyTargetGroupAttributes",
    "elbv2:CreateListener",
    "elbv2:DescribeListeners",
    "elbv2:ModifyListener",
    "elbv2:DeleteListener",
    "elbv2:CreateRule",
    "elbv2:DescribeRules",
    "elbv2:ModifyRule",
    "elbv2:DeleteRule",
    "elbv2:RegisterTargets",
    "elbv2:DeregisterTargets",
    "elbv2:DescribeTargetHealth",
    "elbv2:AddTags",
    "elbv2:RemoveTags",
    "elbv2:DescribeTags",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_behind_a_load_balancer_rolls_out_target_by_target() {
    let Some(python) = python_tool("python") else { return };
    let local = Start::real_time().speed(50.0).start().await;
    let url = local.server.url().to_owned();
    let script = root().join("tests/contract/traffic.py");
    let (summary, stderr, succeeded) =
        python_summary(python, script, vec![url.clone()], url, Vec::new()).await;
    eprintln!(
        "traffic: {} answers ({} errors), {} values checked; targets seen: {}",
        summary["answers"], summary["errors"], summary["values"], summary["targets"]
    );
    assert_eq!(summary["deviations"], serde_json::json!([]), "stderr: {stderr}");
    assert!(succeeded, "stderr: {stderr}");
    let called: BTreeSet<&str> =
        summary["operations"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let missing: Vec<&&str> = IMPLEMENTED.iter().filter(|op| !called.contains(**op)).collect();
    assert!(missing.is_empty(), "never called: {missing:?}");

    // Two rollouts of two tasks: the first two targets replaced by the next two; and the
    // target registered and deregistered by hand, draining until its delay is over.
    let targets = summary["targets"].as_object().expect("targets");
    assert_eq!(targets.get("10.9.9.9").map(states_of), Some(vec!["draining", "gone"]));
    let states: Vec<Vec<&str>> =
        targets.iter().filter(|(id, _)| *id != "10.9.9.9").map(|(_, s)| states_of(s)).collect();
    assert_eq!(states.len(), 4, "{targets:?}");
    let replaced = states.iter().filter(|s| **s == ["initial", "healthy", "draining", "gone"]);
    let serving = states.iter().filter(|s| **s == ["initial", "healthy"]);
    assert_eq!((replaced.count(), serving.count()), (2, 2), "{targets:?}");
    let events: Vec<&str> =
        summary["events"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for expected in [
        "registered 2 targets in (target-group arn:aws:elasticloadbalancing:",
        "has begun draining connections on 2 tasks.",
        "deregistered 2 targets in (target-group arn:aws:elasticloadbalancing:",
    ] {
        assert!(events.iter().any(|e| e.contains(expected)), "{expected}: {events:#?}");
    }
}

/// A target's states, in the order they were seen.
fn states_of(s: &Value) -> Vec<&str> {
    s.as_array().expect("states").iter().filter_map(Value::as_str).collect()
}
