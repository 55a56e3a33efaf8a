//! What the Deployfile makes sensitive (docs/cli.md, "Sensitive values"), for the `Mask`
//! every front end prints with: the value of each `env(…)` (the variable, or the default
//! given), of each `sensitive(…)`, and of each field or map entry whose name looks secret
//! (`API_TOKEN = …`, `db_password = …`) — except under `secrets`, whose values are ARNs of
//! secrets, not secrets. Evaluated like the environment's settings: a value that needs a
//! step's output, or a variable that is unset, is skipped (it has nothing to print yet).

use super::{Evaluator, Settings, Value, Workspace};
use crate::sensitive::looks_secret;
use crate::syntax::{Block, Deployfile, Entry, Expr, ExprKind, Item, StringPart};

/// The sensitive values of `file` in the chosen environment.
#[must_use]
pub fn sensitive_values(
    file: &Deployfile,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<String> {
    let mut walk =
        Walk { evaluator: Evaluator::for_settings(settings, workspace), found: Vec::new() };
    for item in &file.items {
        match item {
            Item::Defaults(defaults) => walk.block(&defaults.body),
            Item::Environment(environment) => walk.block(&environment.body),
            Item::Handler(handler) => {
                handler.steps.iter().filter_map(|s| s.body.as_ref()).for_each(|b| walk.block(b));
            }
            Item::Step(step) => step.body.iter().for_each(|body| walk.block(body)),
        }
    }
    walk.found.sort();
    walk.found.dedup();
    walk.found
}

/// The sensitive values of one expression (typed in the REPL): what its `env(…)` and
/// `sensitive(…)` calls give, and its map entries of secret names.
#[must_use]
pub fn expr_sensitive_values(
    expr: &Expr,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<String> {
    let mut walk =
        Walk { evaluator: Evaluator::for_settings(settings, workspace), found: Vec::new() };
    walk.expr(expr);
    walk.found
}

struct Walk<'a> {
    evaluator: Evaluator<'a>,
    found: Vec<String>,
}

impl Walk<'_> {
    fn block(&mut self, block: &Block) {
        for entry in &block.entries {
            match entry {
                Entry::Field(field) => {
                    if field.key.name == "secrets" {
                        continue;
                    }
                    if looks_secret(&field.key.name) {
                        self.value_of(&field.value);
                    }
                    self.expr(&field.value);
                }
                Entry::Block(nested) => {
                    if let Some(label) = &nested.label {
                        self.expr(label);
                    }
                    if let Some(body) = &nested.body {
                        self.block(body);
                    }
                }
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Call(call) => {
                if matches!(call.function.name.as_str(), "env" | "sensitive") {
                    self.value_of(expr);
                }
                call.arguments.iter().for_each(|argument| self.expr(&argument.value));
            }
            ExprKind::List(items) => items.iter().for_each(|item| self.expr(item)),
            ExprKind::Map(entries) => {
                for entry in entries {
                    if looks_secret(&entry.key.name) {
                        self.value_of(&entry.value);
                    }
                    self.expr(&entry.value);
                }
            }
            ExprKind::String(string) => {
                for part in &string.parts {
                    if let StringPart::Interpolation(inner) = part {
                        self.expr(inner);
                    }
                }
            }
            ExprKind::Bool(_)
            | ExprKind::Duration(_)
            | ExprKind::Integer(_)
            | ExprKind::Percentage(_)
            | ExprKind::Reference(_) => {}
        }
    }

    /// The texts `expr` evaluates to, when it can be evaluated now.
    fn value_of(&mut self, expr: &Expr) {
        fn texts(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::List(items) => items.iter().for_each(|item| texts(item, found)),
                Value::Map(entries) => entries.values().for_each(|item| texts(item, found)),
                Value::String(text) => found.push(text.clone()),
                _ => {}
            }
        }
        if let Ok(value) = self.evaluator.expr(expr) {
            texts(&value, &mut self.found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, env: &[(&str, &str)]) -> Vec<String> {
        let file = crate::syntax::parse(text).expect("parses");
        let workspace = Workspace {
            git: None,
            env_vars: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        let settings = crate::eval::resolve(&file, None, &workspace).expect("settings");
        sensitive_values(&file, &settings, &workspace)
    }

    #[test]
    fn env_sensitive_and_secret_names_are_sensitive() {
        let text = r#"
defaults {
  cluster = "c"
  vars = { db_password = "pw-from-vars", region_name = "eu-west-1" }
}

register web_task {
  family = "web"
  container "app" {
    image       = "acme/web:${env("VERSION")}"
    environment = {
      API_TOKEN = "literal-token",
      AUTH      = "Bearer ${env("AUTH_SECRET_VALUE")}",
      LEVEL     = "debug",
      OTHER     = sensitive("marked-by-hand"),
      MISSING   = env("UNSET_VARIABLE", default = "the-default"),
    }
    secrets = { DB_PASSWORD = "arn:aws:secretsmanager:eu-west-1:1:secret:db" }
  }
}

update web {
  task_definition = web_task
}

verify web {
  gate script("gates/smoke.rhai") { api_key = vars.db_password, url = "https://x.example/" }
}
"#;
        let found = values(text, &[("VERSION", "1.2.3"), ("AUTH_SECRET_VALUE", "s3cr3t")]);
        assert_eq!(
            found,
            ["1.2.3", "literal-token", "marked-by-hand", "pw-from-vars", "s3cr3t", "the-default",],
            "{found:?}"
        );
    }

    #[test]
    fn an_unset_variable_or_a_step_output_is_skipped() {
        let text = "register web_task {\n  family = \"web\"\n  container \"app\" {\n    image = \
                    \"acme/web:1\"\n    environment = { X_TOKEN = env(\"NOT_SET\"), Y_KEY = \
                    web_task.arn }\n  }\n}\n";
        assert!(values(text, &[]).is_empty());
    }
}
