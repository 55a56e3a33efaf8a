//! Checking: names, order, fields, types, ranges and lints over a syntax tree. Pure; the
//! CLI, REPL and language server all call `check_source` and differ only in how they
//! show the diagnostics.

mod analyzer;
pub mod schema;
mod step_rules;
mod symbols;
mod text_format;
mod value_check;
mod value_type;

pub use symbols::{Definition, Symbols, defines_name, describe_kind};
pub use text_format::TextFormat;
pub use value_type::ValueType;

use crate::diagnostic::Diagnostic;
use crate::syntax::{self, Deployfile};

/// The result of checking a Deployfile's text.
#[derive(Debug)]
pub struct Checked {
    /// The syntax tree, when the text parsed.
    pub file: Option<Deployfile>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks `text`.
#[must_use]
pub fn check_source(text: &str) -> Checked {
    match syntax::parse(text) {
        Ok(file) => {
            let diagnostics = check(&file);
            Checked { file: Some(file), diagnostics }
        }
        Err(mut diagnostics) => {
            sort(&mut diagnostics);
            Checked { file: None, diagnostics }
        }
    }
}

/// Checks a parsed Deployfile: every error and warning, sorted by position.
#[must_use]
pub fn check(file: &Deployfile) -> Vec<Diagnostic> {
    let mut diagnostics = analyzer::Analyzer::new(file).run();
    sort(&mut diagnostics);
    diagnostics
}

/// Checks one expression typed at the REPL prompt as if it stood after every step of
/// `file` (all of them in scope): its type and its diagnostics, with spans into the
/// expression's own text.
#[must_use]
pub fn check_expression(
    file: &Deployfile,
    expr: &crate::syntax::Expr,
) -> (ValueType, Vec<Diagnostic>) {
    let mut analyzer = analyzer::Analyzer::new(file);
    let ty = analyzer.infer(expr, analyzer::Scope { position: usize::MAX, in_settings: false });
    let mut diagnostics = analyzer.finish();
    sort(&mut diagnostics);
    (ty, diagnostics)
}

fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (a.span().start, a.span().end, a.code).cmp(&(b.span().start, b.span().end, b.code))
    });
    diagnostics.dedup();
}

#[cfg(test)]
mod tests {
    use super::check_source;
    use crate::diagnostic::Code;

    const TASK: &str = "register t { from = service(\"web\") }\n";

    /// Each case: a Deployfile and the codes `check` reports, in order. The lints about
    /// the pipeline as a whole (an `update` without `verify`, a `register` nothing
    /// deploys) count only in the cases that name them: most cases are fragments.
    macro_rules! check_cases {
        ($($name:ident: $source:expr => [$($code:ident),*];)*) => {
            $(
                #[test]
                fn $name() {
                    let source: String = $source.into();
                    let expected = vec![$(Code::$code),*];
                    let whole = [Code::UpdateWithoutVerify, Code::RegisterWithoutUpdate];
                    let codes: Vec<Code> = check_source(&source)
                        .diagnostics
                        .iter()
                        .map(|d| d.code)
                        .filter(|c| !whole.contains(c) || expected.contains(c))
                        .collect();
                    assert_eq!(codes, expected, "{source}");
                }
            )*
        };
    }

    #[test]
    fn no_pipeline_lints_beside_errors() {
        // A misspelt `task_definition` would make the register look undeployed.
        let source = format!("{TASK}update web {{ task_definition = tt }}");
        let codes: Vec<Code> = check_source(&source).diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::UnknownReference]);
    }

    check_cases! {
        early_success_deferred:
            format!("{TASK}update web {{ task_definition = t, min_healthy = 50%\n \
                     early_success {{ healthy = 75%, cleanup = deferred }} }}")
            => [];
        early_success_below_min_healthy:
            format!("{TASK}update web {{ task_definition = t, min_healthy = 100%\n \
                     early_success {{ healthy = 75% }} }}")
            => [InvalidValue];
        early_success_without_healthy:
            format!("{TASK}update web {{ task_definition = t\n early_success {{ }} }}")
            => [MissingField];
        early_success_off:
            format!("{TASK}update web {{ task_definition = t\n \
                     early_success {{ enable = false }} }}")
            => [];
        early_success_on_blue_green:
            format!("{TASK}update web {{ task_definition = t, strategy = blue_green, bake = 1m\n \
                     early_success {{ healthy = 100% }} }}")
            => [NotForStrategy];
        a_lambda_hook:
            format!("{TASK}update web {{ task_definition = t\n lifecycle_hook {{ \
                     lambda = \"arn:aws:lambda:eu-west-1:1:function:f\", role = \"r\", \
                     stages = [post_scale_up], timeout = 30m }} }}")
            => [];
        a_pause_hook_while_traffic_moves:
            format!("{TASK}update web {{ task_definition = t\n lifecycle_hook {{ pause = true, \
                     stages = [post_scale_up, production_traffic_shift] }} }}")
            => [InvalidValue];
        a_hook_neither_lambda_nor_pause:
            format!("{TASK}update web {{ task_definition = t\n lifecycle_hook {{ \
                     stages = [post_scale_up] }} }}")
            => [MissingField];
        a_lambda_hook_without_role:
            format!("{TASK}update web {{ task_definition = t\n lifecycle_hook {{ \
                     lambda = \"arn:aws:lambda:eu-west-1:1:function:f\", \
                     stages = [pre_scale_up] }} }}")
            => [MissingField];
        a_hook_at_an_unknown_stage:
            format!("{TASK}update web {{ task_definition = t\n lifecycle_hook {{ pause = true, \
                     stages = [bake_time] }} }}")
            => [InvalidValue];
        breaker_count_alone:
            format!("{TASK}update web {{ task_definition = t, breaker_count = 2, \
                     breaker_reset_on_healthy = false }}")
            => [];
        breaker_count_and_percent:
            format!("{TASK}update web {{ task_definition = t, breaker_count = 2, \
                     breaker_percent = 10% }}")
            => [InvalidValue];
        breaker_unbounded_without_percent:
            format!("{TASK}update web {{ task_definition = t, breaker_unbounded = true }}")
            => [MissingField];
        alarms_named:
            format!("{TASK}update web {{ task_definition = t\n \
                     alarms {{ names = [\"web-5xx\"] }} }}")
            => [];
        alarms_without_names:
            format!("{TASK}update web {{ task_definition = t\n alarms {{ rollback = false }} }}")
            => [MissingField];
        canary_with_its_steps:
            format!("{TASK}update web {{ task_definition = t, strategy = canary, bake = 10m, \
                     canary_percent = 10%, canary_bake = 5m }}")
            => [];
        linear_with_its_steps:
            format!("{TASK}update web {{ task_definition = t, strategy = linear, bake = 0m, \
                     step_percent = 20%, step_bake = 2m }}")
            => [];
        linear_needs_a_bake:
            format!("{TASK}update web {{ task_definition = t, strategy = linear }}")
            => [MissingField];
        canary_steps_on_a_linear_update:
            format!("{TASK}update web {{ task_definition = t, strategy = linear, bake = 1m, \
                     canary_percent = 10% }}")
            => [NotForStrategy];
        linear_steps_on_a_rolling_update:
            format!("{TASK}update web {{ task_definition = t, step_bake = 1m }}")
            => [NotForStrategy];
        step_percent_below_aws_s_range:
            format!("{TASK}update web {{ task_definition = t, strategy = linear, bake = 1m, \
                     step_percent = 2% }}")
            => [OutOfRange];
        canary_bake_in_seconds:
            format!("{TASK}update web {{ task_definition = t, strategy = canary, bake = 1m, \
                     canary_bake = 90s }}")
            => [InvalidValue];
        clean_minimal:
            format!("{TASK}update web {{ task_definition = t }}\nverify web {{ timeout = 5m }}")
            => [];
        update_without_verify:
            format!("{TASK}update web {{ task_definition = t }}") => [UpdateWithoutVerify];
        register_without_update: TASK => [RegisterWithoutUpdate];
        register_deployed_by_another_name:
            format!("{TASK}update api {{ task_definition = t }}\nverify api {{ timeout = 5m }}")
            => [];
        service_defaults_to_step_name:
            format!("{TASK}update web {{ task_definition = t, desired = 3 }}") => [];
        image_string_is_fine:
            "register t { family = \"f\"\n container \"c\" { image = \"nginx:1\" } }" => [];
        unknown_name_with_suggestion:
            format!("{TASK}update web {{ task_definition = tt }}") => [UnknownReference];
        forward_reference:
            format!("update web {{ task_definition = t }}\n{TASK}") => [UsedBeforeDefinition];
        self_reference:
            "register t { family = \"f\"\n container \"c\" { image = t.arn } }"
            => [UsedBeforeDefinition];
        tag_without_build: "tag app { tags = [git.sha] }" => [UnknownReference];
        tag_after_push:
            "build a {}\npush a { to = ecr(\"x/a\") }\ntag a { tags = [git.sha] }" => [StepOrder];
        verify_before_update:
            format!("{TASK}verify web {{ timeout = 1m }}\nupdate web {{ task_definition = t }}")
            => [UsedBeforeDefinition];
        verify_of_a_build: "build web {}\nverify web { timeout = 1m }" => [WrongStepKind];
        duplicate_verify:
            format!("{TASK}update web {{ task_definition = t }}\nverify web {{ timeout = 1m }}\n\
                     verify web {{ timeout = 2m }}")
            => [DuplicateStep];
        reserved_step_name: "build git {}" => [InvalidValue];
        missing_required_field: "build a {}\npush a" => [MissingField];
        register_needs_from_or_family: "register t {}" => [MissingField];
        new_family_needs_container: "register t { family = \"f\" }" => [MissingField];
        container_without_image:
            "register t { family = \"f\"\n container \"c\" { cpu = 256 } }" => [MissingField];
        duplicate_container:
            "register t { from = service(\"s\")\n container \"c\" {}\n container \"c\" {} }"
            => [DuplicateBlock];
        health_check_ranges:
            "register t { from = service(\"s\")\n container \"c\" { health_check { command = \
             [\"CMD\", \"true\"], interval = 1s, retries = 11 } } }"
            => [OutOfRange, OutOfRange];
        health_check_needs_command:
            "register t { from = service(\"s\")\n \
             container \"c\" { health_check { retries = 3 } } }"
            => [MissingField];
        container_label_must_be_plain:
            "register t { from = service(\"s\")\n container \"${git.sha}\" {} }" => [InvalidValue];
        gate_needs_known_call:
            format!("{TASK}update w {{ task_definition = t }}\nverify w {{ timeout = 1m\n gate \
                     htp(\"https://x\") }}")
            => [InvalidValue];
        gate_http_url_checked:
            format!("{TASK}update w {{ task_definition = t }}\nverify w {{ timeout = 1m\n gate \
                     http(\"ftp://x\") {{ status = 200 }} }}")
            => [InvalidValue];
        script_gate_is_open:
            format!("{TASK}update w {{ task_definition = t }}\nverify w {{ gate script(\"g.rhai\") \
                     {{ anything = 1, expect = git.sha }} }}")
            => [];
        http_gate_is_closed:
            format!("{TASK}update w {{ task_definition = t }}\n\
                     verify w {{ gate http(\"https://x\") {{ expect = 1 }} }}")
            => [UnknownField];
        gate_path_form:
            format!("{TASK}update w {{ task_definition = t }}\n\
                     verify w {{ gate http(\"/health\") }}")
            => [];
        gate_neither_url_nor_path:
            format!("{TASK}update w {{ task_definition = t }}\n\
                     verify w {{ gate http(\"health\") }}")
            => [InvalidValue];
        status_range:
            format!("{TASK}update w {{ task_definition = t }}\n\
                     verify w {{ gate http(\"https://x\") {{ status = 99 }} }}")
            => [OutOfRange];
        min_equal_max:
            format!("{TASK}update w {{ task_definition = t, min_healthy = 50%, max = 50% }}")
            => [MinNotBelowMax];
        max_alone_cannot_progress:
            format!("{TASK}update w {{ task_definition = t, max = 100% }}")
            => [DeploymentCannotProgress];
        desired_two_can_progress:
            format!("{TASK}update w {{ task_definition = t, desired = 2, \
                     min_healthy = 50%, max = 100% }}")
            => [];
        desired_one_stuck:
            format!("{TASK}update w {{ task_definition = t, desired = 1, \
                     min_healthy = 50%, max = 100% }}")
            => [DeploymentCannotProgress];
        min_from_a_variable_is_not_judged:
            format!("defaults {{ vars = {{ floor = 0% }} }}\n{TASK}update w {{ task_definition = \
                     t, desired = 1, min_healthy = vars.floor, max = 100% }}")
            => [];
        desired_one_downtime_ok:
            format!("{TASK}update w {{ task_definition = t, desired = 1, \
                     min_healthy = 0%, max = 100% }}")
            => [];
        downtime_behind_a_load_balancer:
            format!("{TASK}update w {{ task_definition = t, desired = 2, min_healthy = 0%, \
                     max = 100%\n load_balancer {{ target_group = \"arn:tg\", container = \"a\", \
                     port = 80 }} }}")
            => [DowntimeBehindLoadBalancer];
        a_load_balancer_on_a_container_the_revision_lacks:
            "register t {\n family = \"w\"\n container \"app\" { image = \"i\", ports = [80] } }\n\
             update w { task_definition = t\n load_balancer { target_group = \"arn:tg\", \
             container = \"api\", port = 80 } }".to_owned()
            => [LoadBalancerContainer];
        a_load_balancer_on_a_port_the_container_lacks:
            "register t {\n family = \"w\"\n container \"app\" { image = \"i\", ports = [80] } }\n\
             update w { task_definition = t\n load_balancer { target_group = \"arn:tg\", \
             container = \"app\", port = 8080 } }".to_owned()
            => [LoadBalancerPort];
        a_load_balancer_on_a_mapped_port_is_fine:
            "register t {\n family = \"w\"\n container \"app\" { image = \"i\", ports = [80] } }\n\
             update w { task_definition = t\n load_balancer { target_group = \"arn:tg\", \
             container = \"app\", port = 80 } }".to_owned()
            => [];
        half_healthy_behind_a_load_balancer_is_fine:
            format!("{TASK}update w {{ task_definition = t, desired = 2, min_healthy = 50%, \
                     max = 100%\n load_balancer {{ target_group = \"arn:tg\", container = \"a\", \
                     port = 80 }} }}")
            => [];
        creating_without_a_breaker:
            format!("{TASK}update w {{ task_definition = t, create = true }}")
            => [CircuitBreakerMissing];
        an_existing_service_keeps_its_breaker:
            format!("{TASK}update w {{ task_definition = t }}")
            => [];
        grace_shorter_than_the_start_period:
            "register t { family = \"t\"\n container \"a\" { image = \"i\"\n \
             health_check { command = [\"CMD\", \"true\"], start_period = 1m } } }\n\
             update w { task_definition = t, grace = 30s }"
            => [GraceBelowStartPeriod];
        grace_as_long_as_the_start_period:
            "register t { family = \"t\"\n container \"a\" { image = \"i\"\n \
             health_check { command = [\"CMD\", \"true\"], start_period = 1m } } }\n\
             update w { task_definition = t, grace = 60s }"
            => [];
        circuit_breaker_string_form:
            format!("{TASK}update w {{ task_definition = t, circuit_breaker = \"off\" }}")
            => [CircuitBreakerOff];
        enum_case_insensitive: "register t { from = service(\"s\"), network_mode = AWSVPC }" => [];
        env_in_defaults: "defaults { cluster = \"${env.name}-c\" }" => [];
        env_region_in_defaults: "defaults { cluster = \"${env.region}\" }" => [InvalidValue];
        vars_from_defaults:
            format!("defaults {{ vars = {{ n = 2 }} }}\n{TASK}update w {{ task_definition = t, \
                     desired = vars.n }}")
            => [];
        unknown_var:
            format!("defaults {{ vars = {{ count = 2 }} }}\n{TASK}update w {{ task_definition = t, \
                     desired = vars.cuont }}")
            => [UndefinedVariable];
        interpolating_a_list: "build a { args = { X = \"${[1]}\" } }" => [TypeMismatch];
        image_interpolates:
            "build a {}\npush a { to = ecr(\"x/a\") }\nbuild b { args = { BASE = \"${a}\" } }"
            => [];
        git_needs_attribute: "build a { args = { X = git } }" => [UnknownAttribute];
        deep_attribute: "build a { args = { X = git.sha.x } }" => [UnknownAttribute];
        env_call_arguments: "build a { args = { X = env() } }" => [InvalidArguments];
        env_call_too_many:
            "build a { args = { X = env(\"A\", \"b\", \"c\") } }" => [InvalidArguments];
        env_call_bad_name: "build a { args = { X = env(\"1A\") } }" => [InvalidValue];
        argument_twice:
            "build a {}\npush a { to = ecr(\"x/a\", name = \"x/b\") }" => [InvalidArguments];
        ecr_keep_one:
            "build a {}\npush a { to = ecr(\"x/a\", keep = 1) }" => [KeepDropsRollbackTarget];
        handler_forward_reference_ok:
            format!("on failure {{ rollback w }}\n{TASK}update w {{ task_definition = t }}") => [];
        handler_unknown_target: "on failure { rollback nothing }" => [UnknownReference];
        handler_twice:
            format!("{TASK}update w {{ task_definition = t }}\non failure {{ rollback w }}\n\
                     on failure {{ rollback w }}")
            => [DuplicateBlock];
        field_given_as_block: "defaults { region \"x\" }" => [UnknownBlock];
        block_given_as_field:
            "register t { from = service(\"s\")\n container = \"c\" }" => [UnknownField];
        tags_empty_list: "build a {}\ntag a { tags = [] }" => [OutOfRange];
        tag_interpolation_checked_piece:
            "build a {}\ntag a { tags = [\"${git.sha}/x\"] }" => [InvalidTag];
        platform_checked: "build a { platform = \"darwin/arm64\" }" => [InvalidValue];
        two_load_balancers:
            format!("{TASK}update w {{ task_definition = t\n load_balancer {{ target_group = \
                     \"a\", container = \"c\", port = 80 }}\n load_balancer {{ target_group = \
                     \"b\", container = \"c\", port = 81 }} }}")
            => [];
        step_in_defaults: format!("{TASK}defaults {{ cluster = t.arn }}") => [UsedBeforeDefinition];
        positional_after_named:
            "build a {}\npush a { to = ecr(name = \"x/a\", true) }" => [InvalidArguments];
        cpu_must_be_positive:
            "register t { family = \"f\", cpu = 0, memory = \"1 vCPU\"\n \
             container \"c\" { image = \"x:1\" } }"
            => [OutOfRange, InvalidValue];
        too_many_subnets:
            format!(
                "{TASK}update w {{ task_definition = t\n network {{ subnets = [{}] }} }}",
                vec!["\"s\""; 17].join(",")
            )
            => [OutOfRange];
        several_errors_sorted:
            "defaults { regoin = \"x\" }\nbuild a { platfrom = \"x\" }"
            => [UnknownField, UnknownField];
    }

    #[test]
    fn unquoting_is_suggested_only_where_it_gives_a_value() {
        let help = |field: &str| {
            let checked = check_source(&format!(
                "register t {{ family = \"f\"\n container \"c\" {{ image = \"x:1\"\n \
                 {field} }} }}"
            ));
            let mismatch = checked
                .diagnostics
                .iter()
                .find(|d| d.code == Code::TypeMismatch)
                .unwrap_or_else(|| panic!("{field}: {:?}", checked.diagnostics))
                .clone();
            mismatch.help
        };
        assert_eq!(help("cpu = \"256\"").as_deref(), Some("write the value without quotes: `256`"));
        // `cpu = 0.5 vCPU` would not parse: no such advice.
        assert_eq!(help("cpu = \"0.5 vCPU\""), None);
        assert_eq!(help("essential = \"yes\""), None);
        assert_eq!(
            help("essential = \"false\"").as_deref(),
            Some("write the value without quotes: `false`")
        );
    }

    #[test]
    fn did_you_mean_names_the_closest_step() {
        let checked = check_source(&format!(
            "{TASK}register web_task {{ from = service(\"w\") }}\n\
             update w {{ task_definition = web_tsk }}"
        ));
        assert_eq!(checked.diagnostics[0].help.as_deref(), Some("did you mean `web_task`?"));
    }

    #[test]
    fn example_pipelines_are_clean() {
        for path in ["hello", "web", "minimal", "multi-service", "fargate"] {
            let text = std::fs::read_to_string(format!(
                "{}/../../pipelines/{path}.deploy",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("pipeline exists");
            let checked = check_source(&text);
            assert!(checked.diagnostics.is_empty(), "{path}: {:#?}", checked.diagnostics);
        }
    }
}
