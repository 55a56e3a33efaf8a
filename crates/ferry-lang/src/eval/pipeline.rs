//! The typed pipeline: each step of a checked Deployfile with its fields evaluated, in the
//! order the steps run. The run engine plans each step just before running it, so values
//! produced by earlier steps (pushed images, registered revisions) are known by then.

use std::collections::BTreeMap;

use super::evaluator::{Evaluator, Outputs, StepValue};
use super::value::{GateTarget, Repository, TaskDefinitionSource};
use super::{EvalError, Settings, Value, Workspace};
use crate::syntax::{Block, Deployfile, Item, NestedBlock, Step, StepKind};

/// A change to one container definition.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ContainerChange {
    pub name: String,
    /// An image reference, or a `build` step's image (pinned by digest once pushed).
    pub image: Option<Value>,
    /// Merged over the current variables; empty values are kept.
    pub environment: BTreeMap<String, String>,
    /// Merged over the current secrets: name → `valueFrom`.
    pub secrets: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub entry_point: Option<Vec<String>>,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub essential: Option<bool>,
    pub ports: Option<Vec<i64>>,
    pub stop_timeout_s: Option<i64>,
    pub health_check: Option<HealthCheckSpec>,
}

/// `health_check { … }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HealthCheckSpec {
    pub command: Vec<String>,
    pub interval_s: Option<i64>,
    pub timeout_s: Option<i64>,
    pub retries: Option<i64>,
    pub start_period_s: Option<i64>,
}

/// `register NAME { … }`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RegisterStep {
    pub name: String,
    pub from: Option<TaskDefinitionSource>,
    pub family: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub network_mode: Option<String>,
    pub requires: Vec<String>,
    pub execution_role: Option<String>,
    pub task_role: Option<String>,
    pub cpu_architecture: Option<String>,
    pub keep: Option<u32>,
    pub tags: BTreeMap<String, String>,
    pub containers: Vec<ContainerChange>,
}

/// `network { … }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetworkSpec {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub public_ip: bool,
}

/// `alarms { … }`: CloudWatch alarms that fail the deployment (`deploymentConfiguration.
/// alarms`); an empty `names` turns them off.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlarmsSpec {
    pub names: Vec<String>,
    /// Roll back when one goes into ALARM (the default).
    pub rollback: bool,
}

/// `early_success { … }` of a rolling update (`earlySuccessCriteria`): success once
/// `healthy` of the desired count is healthy; `deferred` removes the old revision after.
/// `enable = false` turns it off.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EarlySuccessSpec {
    pub enable: bool,
    pub healthy: Option<i64>,
    pub deferred: bool,
}

/// `lifecycle_hook { … }`: a Lambda function (`lambda`, `role`) or a PAUSE (`pause =
/// true`) at its stages (ECS's names, upper case), with its timeout and timeout action.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LifecycleHookSpec {
    pub lambda: Option<String>,
    pub role: Option<String>,
    pub pause: bool,
    pub stages: Vec<String>,
    /// Milliseconds; none: ECS's default (1440 minutes).
    pub timeout_ms: Option<u64>,
    /// On timeout: roll back (the default) or continue.
    pub rollback: bool,
}

/// `load_balancer { … }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadBalancerSpec {
    pub target_group: String,
    pub container: String,
    pub port: i64,
    /// Of a blue/green update: `advancedConfiguration`.
    pub alternate_target_group: Option<String>,
    pub production_listener_rule: Option<String>,
    pub test_listener_rule: Option<String>,
    pub role: Option<String>,
}

/// `update NAME { … }`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct UpdateStep {
    pub name: String,
    pub service: String,
    pub cluster: Option<String>,
    /// The `register` step whose revision to deploy.
    pub task_definition: String,
    pub desired: Option<i64>,
    pub min_healthy: Option<i64>,
    pub max: Option<i64>,
    pub grace_s: Option<i64>,
    /// `rollback`, `on` or `off`; none keeps the service's setting.
    pub circuit_breaker: Option<String>,
    pub create: bool,
    pub force: bool,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub network: Option<NetworkSpec>,
    pub load_balancers: Vec<LoadBalancerSpec>,
    /// `rolling`, `blue_green`, `linear` or `canary`; none keeps the service's.
    pub strategy: Option<String>,
    /// `bakeTimeInMinutes`, in milliseconds.
    pub bake_ms: Option<u64>,
    /// `canaryConfiguration`: `canaryPercent`, `canaryBakeTimeInMinutes` (ms).
    pub canary_percent: Option<i64>,
    pub canary_bake_ms: Option<u64>,
    /// `linearConfiguration`: `stepPercent`, `stepBakeTimeInMinutes` (ms).
    pub step_percent: Option<i64>,
    pub step_bake_ms: Option<u64>,
    /// `alarms { … }`; none keeps the service's.
    pub alarms: Option<AlarmsSpec>,
    /// The circuit breaker's `thresholdConfiguration`: a count (`breaker_count`), or a
    /// percent of desired (`breaker_percent`, unbounded with `breaker_unbounded = true`).
    pub breaker_count: Option<i64>,
    pub breaker_percent: Option<i64>,
    pub breaker_unbounded: Option<bool>,
    /// `resetOnHealthyTask`.
    pub breaker_reset_on_healthy: Option<bool>,
    /// `lifecycle_hook { … }` blocks; none (no block) keeps the service's.
    pub lifecycle_hooks: Option<Vec<LifecycleHookSpec>>,
    /// `early_success { … }`; none keeps the service's.
    pub early_success: Option<EarlySuccessSpec>,
}

/// A gate of a `verify` step, with its parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GateSpec {
    pub target: GateTarget,
    pub params: BTreeMap<String, Value>,
}

/// `verify NAME { … }`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct VerifyStep {
    /// The `update` step it verifies.
    pub name: String,
    pub timeout_ms: Option<u64>,
    pub fail_fast: Option<u32>,
    /// `serving` or `completed` (default).
    pub until: Option<String>,
    pub bake_ms: Option<u64>,
    pub gates: Vec<GateSpec>,
    /// Hosts the gates may reach besides those the step names (docs/gates.md).
    pub allow_hosts: Vec<String>,
    /// Gates may reach link-local and instance-metadata addresses.
    pub allow_link_local: bool,
}

/// `rollback NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RollbackStep {
    /// The `update` step it rolls back.
    pub name: String,
    pub timeout_ms: Option<u64>,
}

/// A step with its values.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedStep {
    Build { name: String, fields: BTreeMap<String, Value> },
    Tag { name: String, tags: Vec<Value> },
    Push { name: String, to: Repository },
    Register(RegisterStep),
    Update(Box<UpdateStep>),
    Verify(VerifyStep),
    Rollback(RollbackStep),
}

impl PlannedStep {
    /// The step's name (`app`, `web_task`, `web`).
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            PlannedStep::Build { name, .. }
            | PlannedStep::Tag { name, .. }
            | PlannedStep::Push { name, .. } => name,
            PlannedStep::Register(step) => &step.name,
            PlannedStep::Update(step) => &step.name,
            PlannedStep::Verify(step) => &step.name,
            PlannedStep::Rollback(step) => &step.name,
        }
    }

    /// The step's keyword.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            PlannedStep::Build { .. } => "build",
            PlannedStep::Tag { .. } => "tag",
            PlannedStep::Push { .. } => "push",
            PlannedStep::Register(_) => "register",
            PlannedStep::Update(_) => "update",
            PlannedStep::Verify(_) => "verify",
            PlannedStep::Rollback(_) => "rollback",
        }
    }
}

/// What each defining step stands for.
#[must_use]
pub fn step_values(file: &Deployfile) -> BTreeMap<String, StepValue> {
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Step(step) => match step.kind {
                StepKind::Build => Some((step.name.name.clone(), StepValue::Image)),
                StepKind::Register => Some((step.name.name.clone(), StepValue::TaskDefinition)),
                StepKind::Update => Some((step.name.name.clone(), StepValue::Deployment)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The steps of the pipeline (not those of `on failure`), evaluated with the outputs known
/// so far (none, for `ferry plan`): what plan, run and the REPL resolve.
pub fn evaluate(
    file: &Deployfile,
    settings: &Settings,
    workspace: &Workspace,
    outputs: &Outputs,
) -> Result<Vec<PlannedStep>, EvalError> {
    let values = step_values(file);
    let evaluator = Evaluator::new(settings, workspace, &values, outputs);
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Step(step) => Some(plan_step(step, &evaluator)),
            _ => None,
        })
        .collect()
}

/// The fields of a block, evaluated.
fn fields(
    block: Option<&Block>,
    evaluator: &Evaluator<'_>,
) -> Result<BTreeMap<String, Value>, EvalError> {
    let mut values = BTreeMap::new();
    if let Some(block) = block {
        for field in block.fields() {
            values.insert(field.key.name.clone(), evaluator.expr(&field.value)?);
        }
    }
    Ok(values)
}

fn text(values: &BTreeMap<String, Value>, key: &str) -> Option<String> {
    values.get(key).and_then(Value::text)
}

fn integer(values: &BTreeMap<String, Value>, key: &str) -> Option<i64> {
    match values.get(key) {
        Some(Value::Integer(n) | Value::Percentage(n)) => Some(*n),
        Some(Value::Duration(ms)) => i64::try_from(*ms / 1000).ok(),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    }
}

fn millis(values: &BTreeMap<String, Value>, key: &str) -> Option<u64> {
    match values.get(key) {
        Some(Value::Duration(ms)) => Some(*ms),
        _ => None,
    }
}

fn strings(values: &BTreeMap<String, Value>, key: &str) -> Option<Vec<String>> {
    match values.get(key) {
        Some(Value::List(items)) => Some(items.iter().filter_map(Value::text).collect()),
        _ => None,
    }
}

fn string_map(values: &BTreeMap<String, Value>, key: &str) -> BTreeMap<String, String> {
    match values.get(key) {
        Some(Value::Map(map)) => {
            map.iter().filter_map(|(k, v)| v.text().map(|t| (k.clone(), t))).collect()
        }
        _ => BTreeMap::new(),
    }
}

/// The fields of the first `kind` block nested in `body`, when there is one.
fn nested_values(
    body: Option<&Block>,
    kind: &str,
    evaluator: &Evaluator<'_>,
) -> Result<Option<BTreeMap<String, Value>>, EvalError> {
    body.into_iter()
        .flat_map(Block::blocks)
        .find(|b| b.kind.name == kind)
        .map(|block| fields(block.body.as_ref(), evaluator))
        .transpose()
}

/// A boolean field, when written.
fn boolean(values: &BTreeMap<String, Value>, key: &str) -> Option<bool> {
    match values.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn flag(values: &BTreeMap<String, Value>, key: &str) -> bool {
    matches!(values.get(key), Some(Value::Bool(true)))
}

/// Plans one step.
pub fn plan_step(step: &Step, evaluator: &Evaluator<'_>) -> Result<PlannedStep, EvalError> {
    let name = step.name.name.clone();
    let values = fields(step.body.as_ref(), evaluator)?;
    Ok(match step.kind {
        StepKind::Build => PlannedStep::Build { name, fields: values },
        StepKind::Tag => PlannedStep::Tag {
            name,
            tags: match values.get("tags") {
                Some(Value::List(items)) => items.clone(),
                _ => Vec::new(),
            },
        },
        StepKind::Push => PlannedStep::Push {
            name,
            to: match values.get("to") {
                Some(Value::Repository(repository)) => repository.clone(),
                _ => Repository::Registry { name: String::new() },
            },
        },
        StepKind::Register => {
            let mut containers = Vec::new();
            for block in
                step.body.iter().flat_map(Block::blocks).filter(|b| b.kind.name == "container")
            {
                containers.push(container(block, evaluator)?);
            }
            PlannedStep::Register(RegisterStep {
                name,
                from: match values.get("from") {
                    Some(Value::Source(source)) => Some(source.clone()),
                    _ => None,
                },
                family: text(&values, "family"),
                cpu: text(&values, "cpu"),
                memory: text(&values, "memory"),
                network_mode: text(&values, "network_mode").map(|m| m.to_ascii_lowercase()),
                requires: strings(&values, "requires")
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.to_ascii_uppercase())
                    .collect(),
                execution_role: text(&values, "execution_role"),
                task_role: text(&values, "task_role"),
                cpu_architecture: text(&values, "cpu_architecture").map(|a| a.to_ascii_uppercase()),
                keep: integer(&values, "keep").and_then(|n| u32::try_from(n).ok()),
                tags: string_map(&values, "tags"),
                containers,
            })
        }
        StepKind::Update => {
            let nested = |kind| nested_values(step.body.as_ref(), kind, evaluator);
            let network = nested("network")?.map(|values| NetworkSpec {
                subnets: strings(&values, "subnets").unwrap_or_default(),
                security_groups: strings(&values, "security_groups").unwrap_or_default(),
                public_ip: flag(&values, "public_ip"),
            });
            let alarms = nested("alarms")?.map(|values| AlarmsSpec {
                names: strings(&values, "names").unwrap_or_default(),
                rollback: boolean(&values, "rollback") != Some(false),
            });
            let early_success = nested("early_success")?.map(|values| EarlySuccessSpec {
                enable: boolean(&values, "enable") != Some(false),
                healthy: integer(&values, "healthy"),
                deferred: text(&values, "cleanup")
                    .is_some_and(|w| w.eq_ignore_ascii_case("deferred")),
            });
            let mut lifecycle_hooks: Option<Vec<LifecycleHookSpec>> = None;
            for block in step.body.iter().flat_map(Block::blocks) {
                if block.kind.name != "lifecycle_hook" {
                    continue;
                }
                let values = fields(block.body.as_ref(), evaluator)?;
                lifecycle_hooks.get_or_insert_with(Vec::new).push(LifecycleHookSpec {
                    lambda: text(&values, "lambda"),
                    role: text(&values, "role"),
                    pause: flag(&values, "pause"),
                    stages: strings(&values, "stages")
                        .unwrap_or_default()
                        .iter()
                        .map(|s| s.to_ascii_uppercase())
                        .collect(),
                    timeout_ms: millis(&values, "timeout"),
                    rollback: text(&values, "on_timeout")
                        .is_none_or(|w| !w.eq_ignore_ascii_case("continue")),
                });
            }
            let mut load_balancers = Vec::new();
            for block in
                step.body.iter().flat_map(Block::blocks).filter(|b| b.kind.name == "load_balancer")
            {
                let values = fields(block.body.as_ref(), evaluator)?;
                load_balancers.push(LoadBalancerSpec {
                    target_group: text(&values, "target_group").unwrap_or_default(),
                    container: text(&values, "container").unwrap_or_default(),
                    port: integer(&values, "port").unwrap_or_default(),
                    alternate_target_group: text(&values, "alternate_target_group"),
                    production_listener_rule: text(&values, "production_listener_rule"),
                    test_listener_rule: text(&values, "test_listener_rule"),
                    role: text(&values, "role"),
                });
            }
            PlannedStep::Update(Box::new(UpdateStep {
                service: text(&values, "service").unwrap_or_else(|| name.clone()),
                name,
                cluster: text(&values, "cluster"),
                task_definition: match values.get("task_definition") {
                    Some(Value::TaskDefinition { step, .. }) => step.clone(),
                    _ => String::new(),
                },
                desired: integer(&values, "desired"),
                min_healthy: integer(&values, "min_healthy"),
                max: integer(&values, "max"),
                grace_s: integer(&values, "grace"),
                circuit_breaker: text(&values, "circuit_breaker").map(|w| w.to_ascii_lowercase()),
                create: flag(&values, "create"),
                force: flag(&values, "force"),
                launch_type: text(&values, "launch_type").map(|t| t.to_ascii_uppercase()),
                platform_version: text(&values, "platform_version"),
                network,
                load_balancers,
                strategy: text(&values, "strategy").map(|w| w.to_ascii_lowercase()),
                bake_ms: millis(&values, "bake"),
                canary_percent: integer(&values, "canary_percent"),
                canary_bake_ms: millis(&values, "canary_bake"),
                step_percent: integer(&values, "step_percent"),
                step_bake_ms: millis(&values, "step_bake"),
                alarms,
                breaker_count: integer(&values, "breaker_count"),
                breaker_percent: integer(&values, "breaker_percent"),
                breaker_unbounded: boolean(&values, "breaker_unbounded"),
                breaker_reset_on_healthy: boolean(&values, "breaker_reset_on_healthy"),
                lifecycle_hooks,
                early_success,
            }))
        }
        StepKind::Verify => {
            let mut gates = Vec::new();
            for block in step.body.iter().flat_map(Block::blocks).filter(|b| b.kind.name == "gate")
            {
                let Some(Value::Gate(target)) =
                    block.label.as_ref().map(|label| evaluator.expr(label)).transpose()?
                else {
                    continue;
                };
                gates.push(GateSpec { target, params: fields(block.body.as_ref(), evaluator)? });
            }
            PlannedStep::Verify(VerifyStep {
                name,
                timeout_ms: millis(&values, "timeout"),
                fail_fast: integer(&values, "fail_fast").and_then(|n| u32::try_from(n).ok()),
                until: text(&values, "until").map(|u| u.to_ascii_lowercase()),
                bake_ms: millis(&values, "bake"),
                gates,
                allow_hosts: strings(&values, "allow_hosts").unwrap_or_default(),
                allow_link_local: flag(&values, "allow_link_local"),
            })
        }
        StepKind::Rollback => {
            PlannedStep::Rollback(RollbackStep { name, timeout_ms: millis(&values, "timeout") })
        }
    })
}

fn container(block: &NestedBlock, evaluator: &Evaluator<'_>) -> Result<ContainerChange, EvalError> {
    let values = fields(block.body.as_ref(), evaluator)?;
    let health_check =
        nested_values(block.body.as_ref(), "health_check", evaluator)?.map(|values| {
            HealthCheckSpec {
                command: strings(&values, "command").unwrap_or_default(),
                interval_s: integer(&values, "interval"),
                timeout_s: integer(&values, "timeout"),
                retries: integer(&values, "retries"),
                start_period_s: integer(&values, "start_period"),
            }
        });
    Ok(ContainerChange {
        name: block
            .label
            .as_ref()
            .and_then(crate::syntax::Expr::as_plain_string)
            .unwrap_or_default(),
        image: values.get("image").cloned(),
        environment: string_map(&values, "environment"),
        secrets: string_map(&values, "secrets"),
        command: strings(&values, "command"),
        entry_point: strings(&values, "entry_point"),
        cpu: integer(&values, "cpu"),
        memory: integer(&values, "memory"),
        memory_reservation: integer(&values, "memory_reservation"),
        essential: boolean(&values, "essential"),
        ports: strings(&values, "ports")
            .map(|ports| ports.iter().filter_map(|p| p.parse().ok()).collect()),
        stop_timeout_s: integer(&values, "stop_timeout"),
        health_check,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{GitInfo, resolve};

    fn workspace() -> Workspace {
        Workspace {
            git: Some(GitInfo {
                sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
                branch: "main".to_owned(),
                dirty: false,
            }),
            env_vars: [("VERSION".to_owned(), "7".to_owned())].into_iter().collect(),
        }
    }

    /// The environment's settings, its steps and those of `on failure`, evaluated.
    #[derive(Debug)]
    struct Evaluated {
        settings: Settings,
        steps: Vec<PlannedStep>,
        on_failure: Vec<PlannedStep>,
    }

    fn pipeline(text: &str, environment: Option<&str>) -> Result<Evaluated, EvalError> {
        let checked = crate::check::check_source(text);
        assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
        let file = checked.file.expect("parsed");
        let settings = resolve(&file, environment, &workspace())?;
        let steps = evaluate(&file, &settings, &workspace(), &Outputs::new())?;
        let values = step_values(&file);
        let outputs = Outputs::new();
        let workspace = workspace();
        let evaluator = Evaluator::new(&settings, &workspace, &values, &outputs);
        let mut on_failure = Vec::new();
        for item in &file.items {
            if let Item::Handler(handler) = item {
                for step in &handler.steps {
                    on_failure.push(plan_step(step, &evaluator)?);
                }
            }
        }
        Ok(Evaluated { settings, steps, on_failure })
    }

    const WEB: &str = include_str!("../../../../pipelines/web.deploy");

    #[test]
    fn the_web_pipeline_evaluates() {
        let pipeline = pipeline(WEB, Some("staging")).expect("evaluates");
        assert_eq!(pipeline.settings.cluster.as_deref(), Some("staging"));
        assert_eq!(pipeline.settings.region.as_deref(), Some("eu-west-1"));
        let PlannedStep::Tag { tags, .. } = &pipeline.steps[1] else { panic!("tag") };
        assert_eq!(
            tags,
            &[
                Value::String("0123456789abcdef0123456789abcdef01234567".to_owned()),
                Value::String("staging-latest".to_owned())
            ]
        );
        let PlannedStep::Register(register) = &pipeline.steps[3] else { panic!("register") };
        assert_eq!(
            register.from,
            Some(TaskDefinitionSource::Service { name: "web".to_owned(), cluster: None })
        );
        assert_eq!(
            register.containers[0].image,
            Some(Value::Image { step: "app".to_owned(), reference: None })
        );
        let PlannedStep::Update(update) = &pipeline.steps[4] else { panic!("update") };
        assert_eq!(
            (update.min_healthy, update.max, update.grace_s),
            (Some(100), Some(200), Some(60))
        );
        assert_eq!(update.circuit_breaker.as_deref(), Some("rollback"));
        let PlannedStep::Verify(verify) = &pipeline.steps[5] else { panic!("verify") };
        assert_eq!(
            (verify.timeout_ms, verify.fail_fast, verify.gates.len()),
            (Some(900_000), Some(2), 2)
        );
        assert_eq!(
            pipeline.on_failure,
            [PlannedStep::Rollback(RollbackStep { name: "web".to_owned(), timeout_ms: None })]
        );
    }

    #[test]
    fn env_calls_read_the_workspace() {
        let text = "register t {\n family = \"f\"\n container \"c\" { image = \
                    \"hello:${env(\"VERSION\", \"1\")}\" }\n}\n";
        let pipeline = pipeline(text, None).expect("evaluates");
        let PlannedStep::Register(register) = &pipeline.steps[0] else { panic!() };
        assert_eq!(register.containers[0].image, Some(Value::String("hello:7".to_owned())));
        let missing = "register t {\n family = \"f\"\n container \"c\" { image = \
                       \"hello:${env(\"NOPE\")}\" }\n}\n";
        let error = pipeline_error(missing);
        assert!(
            matches!(
                &error,
                EvalError::At(d) if d.message == "environment variable `NOPE` is not set"
            ),
            "{error:?}"
        );
    }

    fn pipeline_error(text: &str) -> EvalError {
        pipeline(text, None).expect_err("fails")
    }

    #[test]
    fn unknown_environment_suggests() {
        let error = pipeline(WEB, Some("stagign")).expect_err("unknown");
        assert_eq!(
            error,
            EvalError::Usage {
                message: "unknown environment `stagign`".to_owned(),
                help: Some("did you mean `staging`?".to_owned())
            }
        );
    }

    #[test]
    fn git_and_settings_must_exist_when_read() {
        let checked =
            crate::check::check_source("build a { args = { V = git.sha, C = env.cluster } }");
        let file = checked.file.expect("parsed");
        let no_git = Workspace::default();
        let settings = resolve(&file, None, &no_git).expect("settings");
        let error = evaluate(&file, &settings, &no_git, &Outputs::new()).expect_err("no git");
        assert!(
            matches!(&error, EvalError::At(d) if d.code == crate::diagnostic::Code::GitUnavailable),
            "{error:?}"
        );
        let settings = resolve(&file, None, &workspace()).expect("settings");
        let error =
            evaluate(&file, &settings, &workspace(), &Outputs::new()).expect_err("no cluster");
        assert!(
            matches!(&error, EvalError::At(d) if d.code == crate::diagnostic::Code::UnsetSetting),
            "{error:?}"
        );
    }

    #[test]
    fn dirty_trees_carry_a_marker() {
        let git = GitInfo { sha: "abc".repeat(14), branch: String::new(), dirty: true };
        assert!(git.version().ends_with("-dirty"));
        assert_eq!(git.short_version(), "abcabcabcabc-dirty");
    }
}
