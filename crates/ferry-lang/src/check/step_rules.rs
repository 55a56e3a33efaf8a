//! Rules that involve more than one field of a step, and the lints (warnings) that come
//! from ECS's behaviour: a deployment that cannot progress, a circuit breaker without
//! rollback, a `keep` that would drop the rollback target, a verify that checks nothing;
//! and over the whole pipeline, an `update` without `verify`, a `register` nothing deploys.

use super::analyzer::{Analyzer, Scope};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::{Block, Deployfile, Expr, ExprKind, Item, Step, StepKind};

/// ECS's defaults for a REPLICA service (docs/ecs.md §1.2).
const DEFAULT_MIN_HEALTHY: i64 = 100;
const DEFAULT_MAX: i64 = 200;

/// A `load_balancer`'s fields that only a blue/green update uses (`advancedConfiguration`).
const ADVANCED: [&str; 4] =
    ["alternate_target_group", "production_listener_rule", "test_listener_rule", "role"];

impl Analyzer<'_> {
    pub(super) fn step_rules(&mut self, step: &Step, what: &str, _scope: Scope) {
        let Some(body) = &step.body else {
            if step.kind == StepKind::Verify {
                self.verify_without_checks(step, None, what);
            }
            return;
        };
        match step.kind {
            StepKind::Tag => self.tags(body),
            StepKind::Push => self.push_keep(body),
            StepKind::Register => self.register(step, body, what),
            StepKind::Update => self.update(step, body, what),
            StepKind::Verify => self.verify_without_checks(step, Some(body), what),
            StepKind::Build | StepKind::Rollback => {}
        }
    }

    /// Lints that need every step: an `update` that no `verify` names (ferry then waits
    /// for the deployment with the defaults), a `register` that no `update` deploys. Not
    /// while the file has errors: a misspelt `task_definition` would make every register
    /// look undeployed.
    pub(super) fn pipeline_lints(&mut self, file: &Deployfile) {
        if self.has_errors() {
            return;
        }
        let steps: Vec<&Step> = file
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Step(step) => Some(step),
                _ => None,
            })
            .collect();
        let named = |kind: StepKind, name: &str| {
            steps.iter().any(|s| s.kind == kind && s.name.name == name)
        };
        let deployed = |name: &str| {
            steps.iter().any(|s| {
                s.kind == StepKind::Update
                    && s.body.as_ref().and_then(|b| b.field("task_definition")).is_some_and(|f| {
                        matches!(&f.value.kind, ExprKind::Reference(r) if r.head().name == name)
                    })
            })
        };
        for step in &steps {
            if step.kind == StepKind::Update {
                self.creates_without_breaker(step);
                self.grace_below_start_period(step, &steps);
                self.load_balancer_targets(step, &steps);
            }
            let name = &step.name.name;
            if step.kind == StepKind::Update && !named(StepKind::Verify, name) {
                self.push(
                    Diagnostic::new(
                        Code::UpdateWithoutVerify,
                        step.name.span,
                        format!("`update {name}` has no `verify` step"),
                    )
                    .with_label(
                        "ferry waits for this deployment with the defaults: until it completes, \
                         for up to 30 minutes, with no gate",
                    )
                    .with_help(format!(
                        "add `verify {name} {{ timeout = 15m }}` and a gate that checks the \
                         service itself"
                    )),
                );
            }
            if step.kind == StepKind::Register && !deployed(name) {
                self.push(
                    Diagnostic::new(
                        Code::RegisterWithoutUpdate,
                        step.name.span,
                        format!("`register {name}` is deployed by no `update`"),
                    )
                    .with_label("its revision is registered, and no service runs it")
                    .with_help(format!(
                        "add `update SERVICE {{ task_definition = {name} }}`, or remove the step"
                    )),
                );
            }
        }
    }

    /// An `update` that creates its service (`create = true`) without `circuit_breaker`:
    /// the service gets ECS's default, no breaker. (An existing service keeps its own
    /// setting when the field is left out, so only creation is judged here.)
    fn creates_without_breaker(&mut self, step: &Step) {
        let Some(body) = &step.body else { return };
        let creates = body.field("create").is_some_and(|f| f.value.kind == ExprKind::Bool(true));
        if creates && body.field("circuit_breaker").is_none() {
            let name = &step.name.name;
            self.push(
                Diagnostic::new(
                    Code::CircuitBreakerMissing,
                    step.name.span,
                    format!("`update {name}` creates its service without a circuit breaker"),
                )
                .with_label(
                    "ECS's default is no breaker: a deployment whose tasks fail retries forever",
                )
                .with_help("add `circuit_breaker = rollback`"),
            );
        }
    }

    /// `grace` shorter than the `start_period` of a health check in the revision the
    /// update deploys (a `register` step of this file): the load balancer's checks count
    /// against tasks the container's own check still leaves alone.
    fn grace_below_start_period(&mut self, step: &Step, steps: &[&Step]) {
        let Some(body) = &step.body else { return };
        let Some(grace) = body.field("grace") else { return };
        let ExprKind::Duration(grace_ms) = grace.value.kind else { return };
        let Some((_, register)) = deployed_register(body, steps) else { return };
        let longest = register
            .blocks()
            .filter(|b| b.kind.name == "container")
            .flat_map(|container| container.body.iter().flat_map(Block::blocks))
            .filter(|b| b.kind.name == "health_check")
            .filter_map(|check| check.body.as_ref()?.field("start_period"))
            .filter_map(|field| match field.value.kind {
                ExprKind::Duration(ms) => Some((ms, field.value.span)),
                _ => None,
            })
            .max_by_key(|(ms, _)| *ms);
        let Some((start_ms, start_span)) = longest else { return };
        if grace_ms < start_ms {
            let text = crate::syntax::format_duration;
            self.push(
                Diagnostic::new(
                    Code::GraceBelowStartPeriod,
                    grace.value.span,
                    format!(
                        "`grace` ({}) is shorter than the health check's `start_period` ({})",
                        text(grace_ms),
                        text(start_ms)
                    ),
                )
                .with_label("the load balancer's health checks count from here")
                .with_related(start_span, "the container's own check waits this long")
                .with_help(format!("write `grace = {}` or longer", text(start_ms))),
            );
        }
    }

    /// A `load_balancer` block whose container or port is not in the revision the update
    /// deploys, when a `register` step of this file writes that revision whole (no
    /// `from`): ECS refuses such a service. With `from`, `ferry plan` checks it against
    /// the revision it reads.
    fn load_balancer_targets(&mut self, step: &Step, steps: &[&Step]) {
        let Some(body) = &step.body else { return };
        let Some((register_name, register)) = deployed_register(body, steps) else { return };
        if register.field("from").is_some() {
            return;
        }
        let containers: Vec<(String, &Block)> = register
            .blocks()
            .filter(|b| b.kind.name == "container")
            .filter_map(|b| {
                let name = b.label.as_ref().and_then(enum_word)?;
                Some((name, b.body.as_ref()?))
            })
            .collect();
        let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
        for link in body.blocks().filter(|b| b.kind.name == "load_balancer") {
            let Some(link) = &link.body else { continue };
            let Some(container_field) = link.field("container") else { continue };
            let Some(container) = enum_word(&container_field.value) else { continue };
            let Some((_, definition)) = containers.iter().find(|(n, _)| *n == container) else {
                self.push(
                    Diagnostic::new(
                        Code::LoadBalancerContainer,
                        container_field.value.span,
                        format!("container `{container}` is not in `register {register_name}`"),
                    )
                    .with_label("no such container")
                    .with_help(format!("its containers: {}", names.join(", "))),
                );
                continue;
            };
            let Some(port_field) = link.field("port") else { continue };
            let ExprKind::Integer(port) = port_field.value.kind else { continue };
            let ports = definition.field("ports").map(|f| &f.value.kind);
            let listed: Option<Vec<i64>> = match ports {
                None => Some(Vec::new()),
                Some(ExprKind::List(items)) => items
                    .iter()
                    .map(|item| match item.kind {
                        ExprKind::Integer(n) => Some(n),
                        _ => None,
                    })
                    .collect(),
                Some(_) => None,
            };
            // A list with a variable in it is the plan's to judge.
            let Some(listed) = listed else { continue };
            if !listed.contains(&port) {
                let shown: Vec<String> = listed.iter().map(i64::to_string).collect();
                self.push(
                    Diagnostic::new(
                        Code::LoadBalancerPort,
                        port_field.value.span,
                        format!("container `{container}` maps no port {port}"),
                    )
                    .with_label("ECS registers this port with the target group")
                    .with_help(if shown.is_empty() {
                        format!("add `ports = [{port}]` to container `{container}`")
                    } else {
                        format!("its ports: {}; add {port} to them, or use one", shown.join(", "))
                    }),
                );
            }
        }
    }

    /// `latest` as the only tag; the same tag twice.
    fn tags(&mut self, body: &Block) {
        let Some(field) = body.field("tags") else { return };
        let ExprKind::List(items) = &field.value.kind else { return };
        let plain: Vec<(String, &Expr)> = items
            .iter()
            .filter_map(|item| item.as_plain_string().map(|text| (text, item)))
            .collect();
        if items.len() == 1 && plain.first().is_some_and(|(text, _)| text == "latest") {
            self.push(
                Diagnostic::new(Code::LatestOnlyTag, field.value.span, "`latest` is the only tag")
                    .with_label("nothing ties this image to a commit")
                    .with_help(
                        "add `git.sha` so every deploy can be traced and rolled back: \
                         `tags = [git.sha, \"latest\"]`",
                    ),
            );
        }
        for (index, (text, item)) in plain.iter().enumerate() {
            if let Some((_, first)) = plain[..index].iter().find(|(other, _)| other == text) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateTag,
                        item.span,
                        format!("tag `{text}` is given twice"),
                    )
                    .with_label("given again here")
                    .with_related(first.span, "first given here")
                    .with_help("remove one of them"),
                );
            }
        }
    }

    /// `ecr(…, keep = 1)` expires the image a rollback would run.
    fn push_keep(&mut self, body: &Block) {
        let Some(call) = body.field("to").and_then(|field| field.value.as_call()) else { return };
        if call.function.name != "ecr" {
            return;
        }
        if let Some(keep) = call.named("keep") {
            self.keep_lint(keep, "images", "the image the previous revision runs");
        }
    }

    fn keep_lint(&mut self, keep: &Expr, things: &str, target: &str) {
        if let ExprKind::Integer(1) = keep.kind {
            self.push(
                Diagnostic::new(
                    Code::KeepDropsRollbackTarget,
                    keep.span,
                    format!("`keep = 1` keeps no {things} to roll back to"),
                )
                .with_label(format!("this removes {target}"))
                .with_help("keep at least 2 so a rollback still has its target"),
            );
        }
    }

    /// `from` or `family`; without `from`, every container needs an image.
    fn register(&mut self, step: &Step, body: &Block, what: &str) {
        if let Some(keep) = body.field("keep") {
            self.keep_lint(&keep.value, "revisions", "the revision a rollback needs");
        }
        if body.field("from").is_some() {
            return;
        }
        if body.field("family").is_none() {
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    step.name.span,
                    format!("{what} needs `from` or `family`"),
                )
                .with_label("nothing to start from")
                .with_help(
                    "start from the live service with `from = service(\"…\")`, or describe a new \
                     task definition with `family = \"…\"` and its containers",
                ),
            );
            return;
        }
        let containers: Vec<_> = body.blocks().filter(|b| b.kind.name == "container").collect();
        if containers.is_empty() {
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    step.name.span,
                    format!("{what} needs a `container` block"),
                )
                .with_label("a new task definition needs at least one container")
                .with_help("add `container \"app\" { image = … }`"),
            );
        }
        for container in containers {
            let has_image =
                container.body.as_ref().is_some_and(|body| body.field("image").is_some());
            if !has_image {
                self.push(
                    Diagnostic::new(
                        Code::MissingField,
                        container.kind.span,
                        "this container needs `image`",
                    )
                    .with_label("`image` is missing")
                    .with_help(
                        "without `from`, ferry has no current image to keep: add `image = …`",
                    ),
                );
            }
        }
    }

    /// min below max; the rollout can progress; the circuit breaker rolls back.
    fn update(&mut self, step: &Step, body: &Block, what: &str) {
        self.breaker_threshold(body);
        self.lifecycle_hooks(body);
        let staged = self.strategy_rules(step, body, what);
        if let Some(staged) = staged {
            self.early_success(body, staged);
        }
        if staged != Some(false) {
            // Blue/green starts the new revision in full beside the old: min and max do not
            // apply, so neither do their rules (nor while the strategy is known only per
            // environment: `ferry plan` judges it then).
            self.breaker_lints(body);
            return;
        }
        let percent = |name: &str| {
            body.field(name).and_then(|field| match field.value.kind {
                ExprKind::Percentage(n) => Some((n, field.value.span)),
                _ => None,
            })
        };
        let min = percent("min_healthy");
        let max = percent("max");
        if let (Some((min_value, min_span)), Some((max_value, max_span))) = (min, max)
            && min_value >= max_value
        {
            self.push(
                Diagnostic::new(
                    Code::MinNotBelowMax,
                    min_span,
                    format!("`min_healthy` ({min_value}%) is not below `max` ({max_value}%)"),
                )
                .with_label("minimum")
                .with_related(max_span, "maximum")
                .with_help(
                    "ECS can neither start nor stop a task when the minimum reaches the maximum; \
                     the usual pair is `min_healthy = 100%` and `max = 200%`",
                ),
            );
        } else if ["min_healthy", "max"].iter().all(|name| {
            body.field(name).is_none_or(|f| matches!(f.value.kind, ExprKind::Percentage(_)))
        }) {
            // A value known only per environment (`vars.floor`) is not judged here: the
            // default would stand in for it and warn falsely; `ferry plan` judges it.
            self.cannot_progress(step, body, min, max, what);
        }
        if let Some((0, span)) = min
            && body.blocks().any(|b| b.kind.name == "load_balancer")
        {
            self.push(
                Diagnostic::new(
                    Code::DowntimeBehindLoadBalancer,
                    span,
                    "`min_healthy = 0%` behind a load balancer allows downtime",
                )
                .with_label("no task need stay healthy")
                .with_help(
                    "ECS may then stop every old task before a new one passes its target \
                     group's health checks, and the load balancer has no target to send requests \
                     to; write `min_healthy = 100%` with `max = 200%`, or `50%` when the cluster \
                     has no room for extra tasks",
                ),
            );
        }
        self.breaker_lints(body);
    }

    /// A staged strategy (`blue_green`, `linear`, `canary`) needs `bake` and, in every
    /// `load_balancer`, the alternate target group, the production listener rule and the
    /// role (AWS's rules; ferry asks `bake` of all three, so that the timeline is written
    /// down); `bake` and those fields mean nothing to a rolling update, `canary_*` only to
    /// a canary one, `step_*` only to a linear one. Bakes are whole minutes. Returns
    /// whether the update is staged; `None` when its strategy is a value known only per
    /// environment (`vars.strategy`), left to the plan.
    fn strategy_rules(&mut self, step: &Step, body: &Block, what: &str) -> Option<bool> {
        let field = body.field("strategy");
        let word = field.and_then(|f| enum_word(&f.value));
        if field.is_some() && word.is_none() {
            return None;
        }
        let word = word.map_or_else(|| "rolling".to_owned(), |w| w.to_ascii_lowercase());
        let staged = word != "rolling";
        for (name, owner) in [
            ("canary_percent", "canary"),
            ("canary_bake", "canary"),
            ("step_percent", "linear"),
            ("step_bake", "linear"),
        ] {
            let Some(field) = body.field(name) else { continue };
            if word != owner {
                self.push(
                    Diagnostic::new(
                        Code::NotForStrategy,
                        field.key.span,
                        format!("`{name}` in {what} is for `strategy = {owner}`"),
                    )
                    .with_label(format!("this update is {word}"))
                    .with_help(format!("write `strategy = {owner}`, or remove `{name}`")),
                );
            }
        }
        for name in ["bake", "canary_bake", "step_bake"] {
            if let Some(bake) = body.field(name)
                && let ExprKind::Duration(ms) = bake.value.kind
                && ms % 60_000 != 0
            {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        bake.value.span,
                        format!("`{name}` must be whole minutes"),
                    )
                    .with_label("ECS takes its bake times in minutes")
                    .with_help(format!("write `{name} = {}m`", ms.div_ceil(60_000))),
                );
            }
        }
        let balancers: Vec<&Block> = body
            .blocks()
            .filter(|b| b.kind.name == "load_balancer")
            .filter_map(|b| b.body.as_ref())
            .collect();
        if !staged {
            if let Some(bake) = body.field("bake") {
                self.push(
                    Diagnostic::new(
                        Code::NotForStrategy,
                        bake.key.span,
                        format!("`bake` in {what} is for a staged strategy"),
                    )
                    .with_label("a rolling update has no bake")
                    .with_help(
                        "add `strategy = blue_green` (or `linear`, `canary`, with the load \
                         balancers' alternate target groups), or bake with the gates of \
                         `verify` instead",
                    ),
                );
            }
            for balancer in &balancers {
                for field in ADVANCED.iter().filter_map(|name| balancer.field(name)) {
                    let name = &field.key.name;
                    self.push(
                        Diagnostic::new(
                            Code::NotForStrategy,
                            field.key.span,
                            format!(
                                "`{name}` is for a staged strategy (`blue_green`, `linear`, \
                                 `canary`)"
                            ),
                        )
                        .with_label("a rolling update registers its tasks in `target_group` only")
                        .with_help(format!("add `strategy = blue_green` to {what}, or remove it")),
                    );
                }
            }
            return Some(false);
        }
        if body.field("bake").is_none() {
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    step.name.span,
                    format!("{what} needs `bake` with `strategy = {word}`"),
                )
                .with_label("the old revision's time after production traffic moved is not set")
                .with_help(
                    "add `bake = 10m`: how long ECS keeps the old revision running once production \
                     traffic has moved, for an instant rollback",
                ),
            );
        }
        for block in body.blocks().filter(|b| b.kind.name == "load_balancer") {
            let Some(balancer) = &block.body else { continue };
            let missing: Vec<&str> = ["alternate_target_group", "production_listener_rule", "role"]
                .into_iter()
                .filter(|name| balancer.field(name).is_none())
                .collect();
            if missing.is_empty() {
                continue;
            }
            let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    block.kind.span,
                    format!(
                        "this load_balancer needs {} with `strategy = {word}`",
                        list.join(", ")
                    ),
                )
                .with_label("ECS needs the advanced configuration for every load balancer")
                .with_help(
                    "name the other target group, the production listener rule ECS moves, and the \
                     role it does so with (docs/strategies.md)",
                ),
            );
        }
        Some(true)
    }

    /// Each `lifecycle_hook` is a Lambda function with its role, or a PAUSE — not both,
    /// not neither; a PAUSE is not allowed at `test_traffic_shift` or
    /// `production_traffic_shift` (AWS's rule); the timeout is whole minutes.
    fn lifecycle_hooks(&mut self, body: &Block) {
        for block in body.blocks().filter(|b| b.kind.name == "lifecycle_hook") {
            let Some(hook) = &block.body else { continue };
            let pause =
                hook.field("pause").is_some_and(|f| matches!(f.value.kind, ExprKind::Bool(true)));
            let lambda = hook.field("lambda");
            let problem = match (lambda, pause) {
                (Some(_), true) => Some("is a Lambda function or a PAUSE, not both"),
                (None, false) => Some("needs `lambda` (with `role`) or `pause = true`"),
                (Some(_), false) if hook.field("role").is_none() => {
                    Some("needs `role` with `lambda`: the IAM role ECS invokes it with")
                }
                _ => None,
            };
            if let Some(problem) = problem {
                self.push(
                    Diagnostic::new(
                        Code::MissingField,
                        block.kind.span,
                        format!("this lifecycle_hook {problem}"),
                    )
                    .with_label("ECS runs a Lambda function (`AWS_LAMBDA`) or waits (`PAUSE`)")
                    .with_help(
                        "write `lambda = \"arn:aws:lambda:…\"` and `role = …`, or \
                         `pause = true`",
                    ),
                );
            }
            if pause
                && let Some(stages) = hook.field("stages")
                && let ExprKind::List(items) = &stages.value.kind
            {
                for item in items {
                    let word = enum_word(item).unwrap_or_default().to_ascii_lowercase();
                    if matches!(word.as_str(), "test_traffic_shift" | "production_traffic_shift") {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                item.span,
                                format!("a PAUSE hook cannot run at `{word}`"),
                            )
                            .with_label("ECS refuses PAUSE hooks while traffic moves")
                            .with_help(format!("use `post_{word}` instead")),
                        );
                    }
                }
            }
            if let Some(timeout) = hook.field("timeout")
                && let ExprKind::Duration(ms) = timeout.value.kind
                && ms % 60_000 != 0
            {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        timeout.value.span,
                        "a lifecycle hook's `timeout` must be whole minutes",
                    )
                    .with_label("ECS takes it in minutes (`timeoutInMinutes`)")
                    .with_help(format!("write `timeout = {}m`", ms.div_ceil(60_000))),
                );
            }
        }
    }

    /// `early_success` is for a rolling update, names `healthy` unless it turns early
    /// success off, and `healthy` is at least `min_healthy` (AWS's rules).
    fn early_success(&mut self, body: &Block, staged: bool) {
        let Some(block) = body.blocks().find(|b| b.kind.name == "early_success") else {
            return;
        };
        if staged {
            self.push(
                Diagnostic::new(
                    Code::NotForStrategy,
                    block.kind.span,
                    "`early_success` is for a rolling update",
                )
                .with_label("ECS's staged strategies end with their bake and clean-up")
                .with_help("remove it, or deploy with `strategy = rolling`"),
            );
            return;
        }
        let Some(inner) = &block.body else { return };
        let off =
            inner.field("enable").is_some_and(|f| matches!(f.value.kind, ExprKind::Bool(false)));
        let Some(healthy) = inner.field("healthy") else {
            if !off {
                self.push(
                    Diagnostic::new(
                        Code::MissingField,
                        block.kind.span,
                        "this early_success needs `healthy`",
                    )
                    .with_label("the share of the desired count that must be healthy")
                    .with_help("add `healthy = 75%`, or `enable = false` to turn it off"),
                );
            }
            return;
        };
        let min = body.field("min_healthy").and_then(|f| match f.value.kind {
            ExprKind::Percentage(n) => Some(n),
            _ => None,
        });
        if let ExprKind::Percentage(n) = healthy.value.kind
            && let Some(min) = min
            && n < min
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    healthy.value.span,
                    format!("`healthy` ({n}%) is below `min_healthy` ({min}%)"),
                )
                .with_label("ECS requires healthyPercent ≥ minimumHealthyPercent")
                .with_help(format!("write `healthy = {min}%` or more")),
            );
        }
    }

    /// `breaker_count` and `breaker_percent` are one threshold: not both;
    /// `breaker_unbounded` qualifies a percent.
    fn breaker_threshold(&mut self, body: &Block) {
        if let (Some(_), Some(percent)) =
            (body.field("breaker_count"), body.field("breaker_percent"))
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    percent.key.span,
                    "`breaker_count` and `breaker_percent` are one threshold: write one",
                )
                .with_label("ECS takes a count or a percent of the desired count")
                .with_help(
                    "keep `breaker_count` for a fixed number of failed tasks, or the percent",
                ),
            );
        }
        if let Some(unbounded) = body.field("breaker_unbounded")
            && body.field("breaker_percent").is_none()
        {
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    unbounded.key.span,
                    "`breaker_unbounded` needs `breaker_percent`",
                )
                .with_label("it lifts the 3..200 bounds of a percent threshold")
                .with_help("add `breaker_percent = 50%`, or remove `breaker_unbounded`"),
            );
        }
    }

    /// A circuit breaker that is off, or does not roll back.
    fn breaker_lints(&mut self, body: &Block) {
        if let Some(field) = body.field("circuit_breaker")
            && let Some(word) = enum_word(&field.value)
        {
            let (code, message, help) = match word.to_ascii_lowercase().as_str() {
                "off" => (
                    Code::CircuitBreakerOff,
                    "the circuit breaker is off",
                    "without it a failing deployment retries forever; \
                     write `circuit_breaker = rollback`",
                ),
                "on" => (
                    Code::CircuitBreakerWithoutRollback,
                    "the circuit breaker does not roll back",
                    "a failed deployment then stays half-done; write `circuit_breaker = rollback`",
                ),
                _ => return,
            };
            self.push(
                Diagnostic::new(code, field.value.span, message)
                    .with_label(format!("`{word}`"))
                    .with_help(help),
            );
        }
    }

    /// docs/ecs.md §1.3: with `desired` D, the scheduler may start a task
    /// only while `floor(D·max/100) > D`, and stop one only while `ceil(D·min/100) < D`.
    /// When neither holds, the deployment sits with "unable to stop or start tasks".
    fn cannot_progress(
        &mut self,
        step: &Step,
        body: &Block,
        min: Option<(i64, crate::syntax::Span)>,
        max: Option<(i64, crate::syntax::Span)>,
        what: &str,
    ) {
        if min.is_none() && max.is_none() {
            return;
        }
        let min_value = min.map_or(DEFAULT_MIN_HEALTHY, |(n, _)| n);
        let max_value = max.map_or(DEFAULT_MAX, |(n, _)| n);
        let span = max.or(min).map_or(step.name.span, |(_, span)| span);
        let desired = body.field("desired").and_then(|field| match field.value.kind {
            ExprKind::Integer(n) if n > 0 => Some(n),
            _ => None,
        });
        let stuck_for = |d: i64| {
            let upper = d * max_value / 100;
            let lower = (d * min_value + 99) / 100;
            upper <= d && lower >= d
        };
        let message = match desired {
            Some(d) if stuck_for(d) => {
                let tasks =
                    if d == 1 { "1 desired task".to_owned() } else { format!("{d} desired tasks") };
                format!("{what} cannot progress with {tasks}")
            }
            None if min_value >= 100 && max_value <= 100 => {
                format!("{what} cannot progress for any desired count")
            }
            _ => return,
        };
        self.push(
            Diagnostic::new(Code::DeploymentCannotProgress, span, message)
                .with_label(format!("`min_healthy = {min_value}%` and `max = {max_value}%`"))
                .with_help(
                    "ECS may neither start a new task (above `max`) nor stop an old one (below \
                     `min_healthy`) and reports \"unable to stop or start tasks\"; \
                     set `max = 200%`, or `min_healthy = 0%` to accept downtime",
                ),
        );
    }

    fn verify_without_checks(&mut self, step: &Step, body: Option<&Block>, what: &str) {
        let has_timeout = body.is_some_and(|body| body.field("timeout").is_some());
        let has_gate = body.is_some_and(|body| body.blocks().any(|b| b.kind.name == "gate"));
        if !has_timeout && !has_gate {
            self.push(
                Diagnostic::new(
                    Code::VerifyWithoutChecks,
                    step.name.span,
                    format!("{what} has no gate and no timeout"),
                )
                .with_label("only ECS's own view is checked, for up to 30 minutes")
                .with_help(
                    "add `timeout = 15m` for how long a rollout may take, and a gate such as \
                     `gate http(\"https://…/health\") { status = 200 }`",
                ),
            );
        }
    }
}

/// The `register` step (its name and body) whose revision an `update` body deploys, when
/// it is one of this file's.
fn deployed_register<'a>(update: &Block, steps: &[&'a Step]) -> Option<(&'a str, &'a Block)> {
    let ExprKind::Reference(reference) = &update.field("task_definition")?.value.kind else {
        return None;
    };
    let register = steps
        .iter()
        .find(|s| s.kind == StepKind::Register && s.name.name == reference.head().name)?;
    Some((register.name.name.as_str(), register.body.as_ref()?))
}

/// The word of an enum value written bare or as a plain string.
fn enum_word(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Reference(reference) => reference.word().map(|word| word.name.clone()),
        ExprKind::String(string) => string.as_plain(),
        _ => None,
    }
}
