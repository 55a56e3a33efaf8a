//! Plain views of what the ECS calls read (services, deployments, events, tasks, service
//! deployments) and the one description of a CreateService/UpdateService call the engine
//! sends. No SDK type leaves `aws`; these are what the engine judges and prints.

use aws_sdk_ecs::types::{AssignPublicIp, DeploymentConfiguration, NetworkConfiguration};
use serde::{Deserialize, Serialize};

/// A deployment as DescribeServices shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeploymentView {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub rollout_state: Option<String>,
    pub reason: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
    /// `createdAt`, epoch milliseconds on the endpoint's clock.
    pub created_ms: i64,
}

/// A service event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub id: String,
    /// `createdAt`, epoch milliseconds on the endpoint's clock.
    pub created_ms: i64,
    pub message: String,
}

/// `awsvpcConfiguration`, with subnets and groups in order so two can be compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkView {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub public_ip: bool,
}

impl NetworkView {
    #[must_use]
    pub fn new(
        mut subnets: Vec<String>,
        mut security_groups: Vec<String>,
        public_ip: bool,
    ) -> Self {
        subnets.sort();
        security_groups.sort();
        Self { subnets, security_groups, public_ip }
    }

    pub(super) fn to_sdk(&self) -> Option<NetworkConfiguration> {
        let vpc = aws_sdk_ecs::types::AwsVpcConfiguration::builder()
            .set_subnets(Some(self.subnets.clone()))
            .set_security_groups(Some(self.security_groups.clone()).filter(|g| !g.is_empty()))
            .assign_public_ip(if self.public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .ok()?;
        Some(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    }
}

/// One `loadBalancers` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LoadBalancerView {
    pub target_group: String,
    pub container: String,
    pub port: i32,
    /// Of a blue/green service: `advancedConfiguration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<AdvancedView>,
}

/// `loadBalancers[].advancedConfiguration`: what ECS moves a blue/green deployment's
/// traffic with.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AdvancedView {
    pub alternate_target_group: String,
    pub production_listener_rule: String,
    pub test_listener_rule: Option<String>,
    pub role: String,
}

/// A target group as DescribeTargetGroups shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TargetGroupView {
    pub arn: String,
    pub name: String,
    /// `ip`, `instance`, `lambda` or `alb`.
    pub target_type: String,
    pub port: Option<i32>,
    /// The load balancers whose listeners or rules forward to it (none: it gets no traffic).
    pub load_balancers: Vec<String>,
    /// `HealthCheckIntervalSeconds`, `HealthyThresholdCount`, `UnhealthyThresholdCount`.
    pub health_check: Option<(i32, i32, i32)>,
    /// `deregistration_delay.timeout_seconds` in ms, where it was read (the plan reads it).
    pub drain_ms: Option<u64>,
}

/// One target of a target group as DescribeTargetHealth shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TargetView {
    /// An IP address (`ip` groups) or an EC2 instance id (`instance` groups).
    pub id: String,
    pub port: Option<i32>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining` or `unavailable`.
    pub state: String,
    /// `Target.ResponseCodeMismatch`, `Target.Timeout`, … (none when healthy).
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// One target group of a service, as read: its `loadBalancers` entry, the group
/// (`None`: DescribeTargetGroups does not know it) and its targets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupHealth {
    pub link: LoadBalancerView,
    pub group: Option<TargetGroupView>,
    pub targets: Vec<TargetView>,
}

/// `deploymentCircuitBreaker`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerView {
    pub enable: bool,
    pub rollback: bool,
}

impl BreakerView {
    /// `off`, `on` or `rollback`: the Deployfile's words.
    #[must_use]
    pub fn word(self) -> &'static str {
        match (self.enable, self.rollback) {
            (false, _) => "off",
            (true, false) => "on",
            (true, true) => "rollback",
        }
    }

    /// From the Deployfile's word.
    #[must_use]
    pub fn from_word(word: &str) -> Self {
        Self { enable: word != "off", rollback: word == "rollback" }
    }
}

/// `earlySuccessCriteria` (2026-09, rolling only): success once `healthy_percent` of the
/// desired count of ours are healthy, the old revision removed first or after
/// (`deferred`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlySuccessView {
    pub healthy_percent: i32,
    pub deferred: bool,
}

impl EarlySuccessView {
    /// `50% healthy, old revision removed after`.
    #[must_use]
    pub fn text(self) -> String {
        format!(
            "{}% healthy, old revision removed {}",
            self.healthy_percent,
            if self.deferred { "after" } else { "first" }
        )
    }

    fn to_sdk(option: Option<Self>) -> aws_sdk_ecs::types::DeploymentEarlySuccessCriteria {
        use aws_sdk_ecs::types::{DeploymentEarlySuccessCriteria, ServiceRevisionCleanup};
        let builder = DeploymentEarlySuccessCriteria::builder().enable(option.is_some());
        match option {
            Some(e) => builder.healthy_percent(e.healthy_percent).source_service_revision_cleanup(
                if e.deferred {
                    ServiceRevisionCleanup::Deferred
                } else {
                    ServiceRevisionCleanup::Blocking
                },
            ),
            None => builder,
        }
        .build()
    }
}

/// The circuit breaker's tuning (2026-07): `thresholdConfiguration` and
/// `resetOnHealthyTask`; unset members are ECS's defaults (a bounded 50 %, reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerTuning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_on_healthy_task: Option<bool>,
}

/// `thresholdConfiguration`: failed tasks that trip the breaker — a count, or a percent
/// of the desired count bounded to 3..200 (ECS's classic rule) or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThresholdView {
    Count(i32),
    BoundedPercent(i32),
    UnboundedPercent(i32),
}

impl ThresholdView {
    /// `5 failed tasks`, `25% (3 to 200)`, `25% unbounded`.
    #[must_use]
    pub fn text(self) -> String {
        match self {
            ThresholdView::Count(1) => "1 failed task".to_owned(),
            ThresholdView::Count(n) => format!("{n} failed tasks"),
            ThresholdView::BoundedPercent(p) => format!("{p}% (3 to 200)"),
            ThresholdView::UnboundedPercent(p) => format!("{p}% unbounded"),
        }
    }

    fn to_sdk(self) -> Option<aws_sdk_ecs::types::ThresholdConfiguration> {
        use aws_sdk_ecs::types::ThresholdType as T;
        let (kind, value) = match self {
            ThresholdView::Count(n) => (T::Count, n),
            ThresholdView::BoundedPercent(p) => (T::BoundedPercent, p),
            ThresholdView::UnboundedPercent(p) => (T::UnboundedPercent, p),
        };
        aws_sdk_ecs::types::ThresholdConfiguration::builder().r#type(kind).value(value).build().ok()
    }

    fn of_sdk(config: &aws_sdk_ecs::types::ThresholdConfiguration) -> Self {
        use aws_sdk_ecs::types::ThresholdType as T;
        match config.r#type() {
            T::Count => ThresholdView::Count(config.value()),
            T::UnboundedPercent => ThresholdView::UnboundedPercent(config.value()),
            _ => ThresholdView::BoundedPercent(config.value()),
        }
    }
}

/// A service as DescribeServices shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub task_definition: String,
    pub deployments: Vec<DeploymentView>,
    /// Newest first, as ECS keeps them (at most 100).
    pub events: Vec<EventView>,
    pub current_service_deployment: Option<String>,
    pub min_healthy: Option<i32>,
    pub max: Option<i32>,
    pub circuit_breaker: Option<BreakerView>,
    pub breaker_tuning: BreakerTuning,
    /// `deploymentConfiguration.strategy` (ECS's default: rolling).
    pub strategy: StrategyView,
    pub bake_minutes: Option<i32>,
    /// Of a linear or canary service: its `linearConfiguration` / `canaryConfiguration`.
    pub shift: ShiftView,
    /// `alarms`, when set.
    pub alarms: Option<AlarmsView>,
    /// `earlySuccessCriteria`, when enabled.
    pub early_success: Option<EarlySuccessView>,
    pub hooks: HooksView,
    pub grace_s: Option<i32>,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub network: Option<NetworkView>,
    pub load_balancers: Vec<LoadBalancerView>,
}

impl ServiceView {
    #[must_use]
    pub fn primary(&self) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }

    #[must_use]
    pub fn deployment(&self, id: &str) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.id == id)
    }

    pub(super) fn from_sdk(service: &aws_sdk_ecs::types::Service) -> Self {
        let config = service.deployment_configuration();
        let millis = |t: Option<&aws_smithy_types::DateTime>| {
            t.and_then(|t| t.to_millis().ok()).unwrap_or_default()
        };
        let network = service
            .network_configuration()
            .and_then(NetworkConfiguration::awsvpc_configuration)
            .map(|vpc| {
                NetworkView::new(
                    vpc.subnets().to_vec(),
                    vpc.security_groups().to_vec(),
                    vpc.assign_public_ip() == Some(&AssignPublicIp::Enabled),
                )
            });
        let mut load_balancers: Vec<LoadBalancerView> = service
            .load_balancers()
            .iter()
            .map(|lb| LoadBalancerView {
                target_group: lb.target_group_arn().unwrap_or_default().to_owned(),
                container: lb.container_name().unwrap_or_default().to_owned(),
                port: lb.container_port().unwrap_or_default(),
                advanced: lb.advanced_configuration().map(|a| AdvancedView {
                    alternate_target_group: a
                        .alternate_target_group_arn()
                        .unwrap_or_default()
                        .to_owned(),
                    production_listener_rule: a
                        .production_listener_rule()
                        .unwrap_or_default()
                        .to_owned(),
                    test_listener_rule: a.test_listener_rule().map(str::to_owned),
                    role: a.role_arn().unwrap_or_default().to_owned(),
                }),
            })
            .collect();
        load_balancers.sort();
        Self {
            arn: service.service_arn().unwrap_or_default().to_owned(),
            name: service.service_name().unwrap_or_default().to_owned(),
            status: service.status().unwrap_or_default().to_owned(),
            desired: service.desired_count(),
            running: service.running_count(),
            pending: service.pending_count(),
            task_definition: service.task_definition().unwrap_or_default().to_owned(),
            deployments: service
                .deployments()
                .iter()
                .map(|d| DeploymentView {
                    id: d.id().unwrap_or_default().to_owned(),
                    status: d.status().unwrap_or_default().to_owned(),
                    task_definition: d.task_definition().unwrap_or_default().to_owned(),
                    rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
                    reason: d.rollout_state_reason().unwrap_or_default().to_owned(),
                    desired: d.desired_count(),
                    running: d.running_count(),
                    pending: d.pending_count(),
                    failed: d.failed_tasks(),
                    created_ms: millis(d.created_at()),
                })
                .collect(),
            events: service
                .events()
                .iter()
                .map(|e| EventView {
                    id: e.id().unwrap_or_default().to_owned(),
                    created_ms: millis(e.created_at()),
                    message: e.message().unwrap_or_default().to_owned(),
                })
                .collect(),
            current_service_deployment: service.current_service_deployment().map(str::to_owned),
            min_healthy: config.and_then(DeploymentConfiguration::minimum_healthy_percent),
            max: config.and_then(DeploymentConfiguration::maximum_percent),
            circuit_breaker: config
                .and_then(DeploymentConfiguration::deployment_circuit_breaker)
                .map(|b| BreakerView { enable: b.enable(), rollback: b.rollback() }),
            breaker_tuning: config
                .and_then(DeploymentConfiguration::deployment_circuit_breaker)
                .map_or_else(BreakerTuning::default, |b| BreakerTuning {
                    threshold: b.threshold_configuration().map(ThresholdView::of_sdk),
                    reset_on_healthy_task: b.reset_on_healthy_task(),
                }),
            strategy: config
                .and_then(DeploymentConfiguration::strategy)
                .map(StrategyView::of_sdk)
                .unwrap_or_default(),
            bake_minutes: config.and_then(DeploymentConfiguration::bake_time_in_minutes),
            shift: config.map_or_else(ShiftView::default, ShiftView::of_sdk),
            early_success: config
                .and_then(DeploymentConfiguration::early_success_criteria)
                .filter(|e| e.enable())
                .map(|e| EarlySuccessView {
                    healthy_percent: e.healthy_percent().unwrap_or(100),
                    deferred: e.source_service_revision_cleanup()
                        == Some(&aws_sdk_ecs::types::ServiceRevisionCleanup::Deferred),
                }),
            alarms: config.and_then(DeploymentConfiguration::alarms).map(|a| AlarmsView {
                names: a.alarm_names().to_vec(),
                enable: a.enable(),
                rollback: a.rollback(),
            }),
            hooks: config.map_or_else(HooksView::default, |c| {
                let ours = |h: &&aws_sdk_ecs::types::DeploymentLifecycleHook| {
                    h.target_type()
                        == Some(&aws_sdk_ecs::types::DeploymentLifecycleHookTargetType::Pause)
                        && h.lifecycle_stages().len() == 1
                        && h.lifecycle_stages()[0].as_str() == TEST_PAUSE_STAGE
                        && h.timeout_configuration().and_then(|t| t.action())
                            != Some(&aws_sdk_ecs::types::DeploymentLifecycleHookAction::Continue)
                };
                let hooks = c.lifecycle_hooks();
                HooksView {
                    test_pause: hooks.iter().find(ours).map(|h| {
                        use aws_sdk_ecs::types::DeploymentLifecycleHookTimeoutConfiguration as T;
                        h.timeout_configuration().and_then(T::timeout_in_minutes).unwrap_or(1_440)
                    }),
                    others: hooks.iter().filter(|h| !ours(h)).map(HookView::of_sdk).collect(),
                    others_have_details: hooks
                        .iter()
                        .any(|h| !ours(&h) && h.hook_details().is_some()),
                }
            }),
            grace_s: service.health_check_grace_period_seconds(),
            launch_type: service.launch_type().map(|l| l.as_str().to_owned()),
            platform_version: service.platform_version().map(str::to_owned),
            network,
            load_balancers,
        }
    }
}

/// A task of a deployment, with what the verdict needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaskView {
    pub arn: String,
    pub started_by: String,
    pub last_status: String,
    /// `HEALTHY`, `UNHEALTHY` or `UNKNOWN` (no health check, or not decided yet).
    pub health: String,
    /// `startedAt` (when it reached RUNNING), epoch milliseconds on the endpoint's clock.
    pub started_ms: Option<i64>,
    /// `(container, image, digest)`.
    pub containers: Vec<(String, String, Option<String>)>,
    /// `host:port` where its containers' published ports answer (`networkBindings`; a
    /// bind address of `0.0.0.0` is given as `127.0.0.1`).
    pub endpoints: Vec<String>,
    /// The task's private address (`awsvpc`), when it has one.
    pub private_ip: Option<String>,
}

impl TaskView {
    /// The task's id, the last part of its ARN.
    #[must_use]
    pub fn short_id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

/// A stopped task: why it stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedTask {
    pub arn: String,
    pub stop_code: String,
    pub reason: String,
    /// `(container, exit code, reason)`.
    pub containers: Vec<(String, Option<i32>, Option<String>)>,
}

/// A service deployment (ListServiceDeployments, DescribeServiceDeployments).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServiceDeploymentView {
    pub arn: String,
    /// `SUCCESSFUL`, `ROLLBACK_SUCCESSFUL`, `IN_PROGRESS`, …
    pub status: String,
    pub status_reason: Option<String>,
    pub target_revision: Option<String>,
    pub created_ms: i64,
    /// What DescribeServiceDeployments adds (none from ListServiceDeployments): the
    /// lifecycle stage of a blue/green deployment, its rollback's reason, and the
    /// circuit breaker as ECS counts it (`status`, `failureCount`, `threshold`).
    pub lifecycle_stage: Option<String>,
    pub rollback_reason: Option<String>,
    pub breaker: Option<(String, i32, i32)>,
    /// `lifecycleHookDetails`: `(hookId, targetType, status)`.
    pub hooks: Vec<(String, String, String)>,
    /// `alarms.triggeredAlarmNames`.
    pub triggered_alarms: Vec<String>,
}

impl ServiceDeploymentView {
    /// A PAUSE hook of it awaiting action, at the stage ferry holds test traffic at.
    #[must_use]
    pub fn awaiting_pause(&self) -> Option<&str> {
        (self.lifecycle_stage.as_deref() == Some(TEST_PAUSE_STAGE))
            .then(|| {
                self.hooks
                    .iter()
                    .find(|(_, kind, status)| kind == "PAUSE" && status == "AWAITING_ACTION")
                    .map(|(id, _, _)| id.as_str())
            })
            .flatten()
    }
}

/// One CreateService or UpdateService call: what it sends. `None` leaves a member out, so
/// ECS keeps the service's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRequest {
    pub service: String,
    pub task_definition: Option<String>,
    pub desired: Option<i32>,
    /// `deploymentConfiguration`: minimum healthy percent, maximum percent and breaker,
    /// sent whole (ECS's values where the Deployfile sets none).
    pub deployment: Option<DeploymentSettings>,
    pub grace_s: Option<i32>,
    pub force: bool,
    /// CreateService only.
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub network: Option<NetworkView>,
    pub load_balancers: Option<Vec<LoadBalancerView>>,
    /// CreateService's idempotency token: a retried call returns the service it made.
    pub client_token: Option<String>,
}

/// `deploymentConfiguration.alarms`: the CloudWatch alarms that fail a deployment, whether
/// they are watched, and whether a failure rolls back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmsView {
    pub names: Vec<String>,
    pub enable: bool,
    pub rollback: bool,
}

impl AlarmsView {
    /// `web-5xx, web-latency (rollback)`; `none` when not watched.
    #[must_use]
    pub fn text(&self) -> String {
        if !self.enable || self.names.is_empty() {
            return "none".to_owned();
        }
        let then = if self.rollback { "rollback" } else { "no rollback" };
        format!("{} ({then})", self.names.join(", "))
    }

    fn to_sdk(&self) -> aws_sdk_ecs::types::DeploymentAlarms {
        aws_sdk_ecs::types::DeploymentAlarms::builder()
            .set_alarm_names(Some(self.names.clone()))
            .enable(self.enable)
            .rollback(self.rollback)
            .build()
            .unwrap_or_else(|_| unreachable!("every member is set"))
    }
}

/// `deploymentConfiguration` as ferry sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSettings {
    pub min_healthy: Option<i32>,
    pub max: Option<i32>,
    pub circuit_breaker: Option<BreakerView>,
    /// The breaker's threshold and reset: the Deployfile's, or the service's carried along.
    #[serde(default)]
    pub breaker_tuning: BreakerTuning,
    /// `earlySuccessCriteria`: `Some(None)` turns it off, `None` leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_success: Option<Option<EarlySuccessView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyView>,
    /// `bakeTimeInMinutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<i32>,
    /// `linearConfiguration` or `canaryConfiguration`, as `strategy` says.
    #[serde(default, skip_serializing_if = "ShiftView::is_unset")]
    pub shift: ShiftView,
    /// `alarms`: the Deployfile's, or the service's carried along (the configuration is
    /// sent whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<AlarmsView>,
    /// `lifecycleHooks` besides ferry's own: the Deployfile's or the service's, sent with
    /// ferry's PAUSE hook (as `test_pause` says); none: only `test_pause` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Vec<HookView>>,
    /// `lifecycleHooks`: ferry's PAUSE hook at POST_TEST_TRAFFIC_SHIFT, or none, or the
    /// service's left as they are.
    #[serde(default, skip_serializing_if = "TestPause::is_keep")]
    pub test_pause: TestPause,
}

/// What a request does to ferry's PAUSE hook (`lifecycleHooks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestPause {
    /// `lifecycleHooks` not sent: the service's stay.
    #[default]
    Keep,
    /// `lifecycleHooks: []`.
    Remove,
    /// ferry's PAUSE hook with this timeout in minutes, rolling back.
    Hold(i32),
}

impl TestPause {
    #[must_use]
    pub fn is_keep(&self) -> bool {
        *self == TestPause::Keep
    }
}

/// The stage ferry holds a blue/green deployment at while its gates judge test traffic.
pub const TEST_PAUSE_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";

/// A service's `lifecycleHooks` as ferry reads them: its own PAUSE hook (the timeout in
/// minutes), and the others (the Deployfile's, or another tool's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HooksView {
    pub test_pause: Option<i32>,
    pub others: Vec<HookView>,
    /// Whether one of the others carries `hookDetails`, which ferry does not send back.
    pub others_have_details: bool,
}

/// A lifecycle hook other than ferry's own PAUSE hook: a Lambda function (with the role
/// ECS invokes it with) or a PAUSE, at its stages (ECS's names), with its timeout in
/// minutes and whether the timeout rolls back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookView {
    /// `None`: a PAUSE hook.
    pub lambda: Option<(String, String)>,
    pub stages: Vec<String>,
    pub timeout_minutes: i32,
    pub rollback: bool,
}

impl HookView {
    /// `lambda arn:… at POST_SCALE_UP, 30m then ROLLBACK`.
    #[must_use]
    pub fn text(&self) -> String {
        let what = self
            .lambda
            .as_ref()
            .map_or_else(|| "PAUSE".to_owned(), |(arn, _)| format!("lambda {arn}"));
        format!(
            "{what} at {}, {}m then {}",
            self.stages.join(" "),
            self.timeout_minutes,
            if self.rollback { "ROLLBACK" } else { "CONTINUE" }
        )
    }

    /// A list of hooks in words; `none` when empty.
    #[must_use]
    pub fn list_text(hooks: &[HookView]) -> String {
        if hooks.is_empty() {
            return "none".to_owned();
        }
        hooks.iter().map(HookView::text).collect::<Vec<_>>().join("; ")
    }

    fn of_sdk(hook: &aws_sdk_ecs::types::DeploymentLifecycleHook) -> Self {
        use aws_sdk_ecs::types::DeploymentLifecycleHookTimeoutConfiguration as Timeout;
        use aws_sdk_ecs::types::{
            DeploymentLifecycleHookAction, DeploymentLifecycleHookTargetType,
        };
        let timeout = hook.timeout_configuration();
        HookView {
            lambda: (hook.target_type() != Some(&DeploymentLifecycleHookTargetType::Pause)).then(
                || {
                    (
                        hook.hook_target_arn().unwrap_or_default().to_owned(),
                        hook.role_arn().unwrap_or_default().to_owned(),
                    )
                },
            ),
            stages: hook.lifecycle_stages().iter().map(|s| s.as_str().to_owned()).collect(),
            timeout_minutes: timeout.and_then(Timeout::timeout_in_minutes).unwrap_or(1_440),
            rollback: timeout.and_then(|t| t.action())
                != Some(&DeploymentLifecycleHookAction::Continue),
        }
    }

    fn to_sdk(&self) -> aws_sdk_ecs::types::DeploymentLifecycleHook {
        use aws_sdk_ecs::types::{
            DeploymentLifecycleHook, DeploymentLifecycleHookAction, DeploymentLifecycleHookStage,
            DeploymentLifecycleHookTargetType, DeploymentLifecycleHookTimeoutConfiguration,
        };
        let mut hook = DeploymentLifecycleHook::builder()
            .set_lifecycle_stages(Some(
                self.stages
                    .iter()
                    .map(|s| DeploymentLifecycleHookStage::from(s.as_str()))
                    .collect(),
            ))
            .timeout_configuration(
                DeploymentLifecycleHookTimeoutConfiguration::builder()
                    .timeout_in_minutes(self.timeout_minutes)
                    .action(if self.rollback {
                        DeploymentLifecycleHookAction::Rollback
                    } else {
                        DeploymentLifecycleHookAction::Continue
                    })
                    .build(),
            );
        hook = match &self.lambda {
            Some((arn, role)) => hook
                .target_type(DeploymentLifecycleHookTargetType::AwsLambda)
                .hook_target_arn(arn)
                .role_arn(role),
            None => hook.target_type(DeploymentLifecycleHookTargetType::Pause),
        };
        hook.build()
    }
}

/// How a linear or canary deployment moves production traffic (`linearConfiguration`:
/// `stepPercent`, `stepBakeTimeInMinutes`; `canaryConfiguration`: `canaryPercent`,
/// `canaryBakeTimeInMinutes`): the percent in tenths, the bake in minutes; unset members
/// take ECS's defaults (`StrategyView::shift_defaults`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_tenths: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<i32>,
}

impl ShiftView {
    #[must_use]
    pub fn is_unset(&self) -> bool {
        *self == ShiftView::default()
    }

    /// `12.5%`, `10%`.
    #[must_use]
    pub fn percent_text(tenths: i32) -> String {
        if tenths % 10 == 0 {
            format!("{}%", tenths / 10)
        } else {
            format!("{}.{}%", tenths / 10, tenths % 10)
        }
    }

    /// The members as they apply: the set ones, else ECS's defaults for `strategy`.
    #[must_use]
    pub fn with_defaults(self, strategy: StrategyView) -> (i32, i32) {
        let (percent, bake) = strategy.shift_defaults().unwrap_or((1_000, 0));
        (self.percent_tenths.unwrap_or(percent), self.bake_minutes.unwrap_or(bake))
    }

    /// Of the service's configuration, the one its strategy uses.
    fn of_sdk(config: &DeploymentConfiguration) -> Self {
        let tenths = |p: Option<f64>| p.map(|p| (p * 10.0).round() as i32);
        match config.strategy() {
            Some(aws_sdk_ecs::types::DeploymentStrategy::Linear) => {
                config.linear_configuration().map_or_else(Self::default, |l| Self {
                    percent_tenths: tenths(l.step_percent()),
                    bake_minutes: l.step_bake_time_in_minutes(),
                })
            }
            Some(aws_sdk_ecs::types::DeploymentStrategy::Canary) => {
                config.canary_configuration().map_or_else(Self::default, |c| Self {
                    percent_tenths: tenths(c.canary_percent()),
                    bake_minutes: c.canary_bake_time_in_minutes(),
                })
            }
            _ => Self::default(),
        }
    }
}

/// `deploymentConfiguration.strategy`: rolling, or one of ECS's staged strategies
/// (blue/green; linear and canary, which move production traffic in steps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrategyView {
    #[default]
    Rolling,
    BlueGreen,
    Linear,
    Canary,
}

impl StrategyView {
    /// The Deployfile's word.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            StrategyView::Rolling => "rolling",
            StrategyView::BlueGreen => "blue_green",
            StrategyView::Linear => "linear",
            StrategyView::Canary => "canary",
        }
    }

    /// In words: `blue/green`, `linear`, …
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            StrategyView::BlueGreen => "blue/green",
            other => other.word(),
        }
    }

    /// ECS's defaults for the production traffic shift's steps: the percent in tenths and
    /// the bake in minutes (linear: 10 % every 6 minutes; canary: 5 % for 10 minutes).
    #[must_use]
    pub fn shift_defaults(self) -> Option<(i32, i32)> {
        match self {
            StrategyView::Linear => Some((100, 6)),
            StrategyView::Canary => Some((50, 10)),
            StrategyView::Rolling | StrategyView::BlueGreen => None,
        }
    }

    /// From the Deployfile's word.
    #[must_use]
    pub fn from_word(word: &str) -> Self {
        match word {
            "blue_green" => StrategyView::BlueGreen,
            "linear" => StrategyView::Linear,
            "canary" => StrategyView::Canary,
            _ => StrategyView::Rolling,
        }
    }

    /// ECS's strategies other than rolling run in lifecycle stages.
    #[must_use]
    pub fn is_staged(self) -> bool {
        self != StrategyView::Rolling
    }

    fn to_sdk(self) -> aws_sdk_ecs::types::DeploymentStrategy {
        match self {
            StrategyView::Rolling => aws_sdk_ecs::types::DeploymentStrategy::Rolling,
            StrategyView::BlueGreen => aws_sdk_ecs::types::DeploymentStrategy::BlueGreen,
            StrategyView::Linear => aws_sdk_ecs::types::DeploymentStrategy::Linear,
            StrategyView::Canary => aws_sdk_ecs::types::DeploymentStrategy::Canary,
        }
    }

    fn of_sdk(strategy: &aws_sdk_ecs::types::DeploymentStrategy) -> Self {
        match strategy {
            aws_sdk_ecs::types::DeploymentStrategy::BlueGreen => StrategyView::BlueGreen,
            aws_sdk_ecs::types::DeploymentStrategy::Linear => StrategyView::Linear,
            aws_sdk_ecs::types::DeploymentStrategy::Canary => StrategyView::Canary,
            _ => StrategyView::Rolling,
        }
    }
}

impl DeploymentSettings {
    /// `lifecycleHooks` as sent: the other hooks, with ferry's PAUSE hook at
    /// POST_TEST_TRAFFIC_SHIFT when it holds test traffic; none when neither changes.
    fn lifecycle_hooks(&self) -> Option<Vec<aws_sdk_ecs::types::DeploymentLifecycleHook>> {
        let pause = match self.test_pause {
            TestPause::Keep if self.hooks.is_none() => return None,
            TestPause::Keep | TestPause::Remove => None,
            TestPause::Hold(minutes) => Some(HookView {
                lambda: None,
                stages: vec![TEST_PAUSE_STAGE.to_owned()],
                timeout_minutes: minutes,
                rollback: true,
            }),
        };
        let others = self.hooks.iter().flatten();
        Some(others.chain(pause.as_ref()).map(HookView::to_sdk).collect())
    }

    pub(super) fn to_sdk(&self) -> DeploymentConfiguration {
        DeploymentConfiguration::builder()
            .set_minimum_healthy_percent(self.min_healthy)
            .set_maximum_percent(self.max)
            .set_strategy(self.strategy.map(StrategyView::to_sdk))
            .set_bake_time_in_minutes(self.bake_minutes)
            .set_alarms(self.alarms.as_ref().map(AlarmsView::to_sdk))
            .set_early_success_criteria(self.early_success.map(EarlySuccessView::to_sdk))
            .set_linear_configuration(
                (self.strategy == Some(StrategyView::Linear) && !self.shift.is_unset()).then(
                    || {
                        aws_sdk_ecs::types::LinearConfiguration::builder()
                            .set_step_percent(
                                self.shift.percent_tenths.map(|t| f64::from(t) / 10.0),
                            )
                            .set_step_bake_time_in_minutes(self.shift.bake_minutes)
                            .build()
                    },
                ),
            )
            .set_canary_configuration(
                (self.strategy == Some(StrategyView::Canary) && !self.shift.is_unset()).then(
                    || {
                        aws_sdk_ecs::types::CanaryConfiguration::builder()
                            .set_canary_percent(
                                self.shift.percent_tenths.map(|t| f64::from(t) / 10.0),
                            )
                            .set_canary_bake_time_in_minutes(self.shift.bake_minutes)
                            .build()
                    },
                ),
            )
            .set_lifecycle_hooks(self.lifecycle_hooks())
            .set_deployment_circuit_breaker(self.circuit_breaker.map(|b| {
                aws_sdk_ecs::types::DeploymentCircuitBreaker::builder()
                    .enable(b.enable)
                    .rollback(b.rollback)
                    .set_threshold_configuration(
                        self.breaker_tuning.threshold.and_then(ThresholdView::to_sdk),
                    )
                    .set_reset_on_healthy_task(self.breaker_tuning.reset_on_healthy_task)
                    .build()
            }))
            .build()
    }
}
