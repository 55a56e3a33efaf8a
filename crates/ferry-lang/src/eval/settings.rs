//! The settings of the chosen environment: `defaults`, then `environment NAME` over them.

use std::collections::BTreeMap;

use super::evaluator::Evaluator;
use super::{EvalError, Value, Workspace};
use crate::syntax::{Block, Deployfile, Item};

/// The name of the environment used without `--env`.
pub const DEFAULT_ENVIRONMENT: &str = "default";

/// The resolved settings.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Settings {
    /// `env.name`.
    pub name: String,
    pub region: Option<String>,
    pub cluster: Option<String>,
    pub account: Option<String>,
    pub profile: Option<String>,
    pub vars: BTreeMap<String, Value>,
}

/// The environments a Deployfile defines, in order.
#[must_use]
pub fn environment_names(file: &Deployfile) -> Vec<String> {
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Environment(environment) => Some(environment.name.name.clone()),
            _ => None,
        })
        .collect()
}

/// Resolves the settings of `environment` (none: `defaults` alone).
pub fn resolve(
    file: &Deployfile,
    environment: Option<&str>,
    workspace: &Workspace,
) -> Result<Settings, EvalError> {
    let name = environment.unwrap_or(DEFAULT_ENVIRONMENT).to_owned();
    let mut settings = Settings { name: name.clone(), ..Settings::default() };
    let chosen = match environment {
        None => None,
        Some(wanted) => Some(
            file.items
                .iter()
                .find_map(|item| match item {
                    Item::Environment(e) if e.name.name == wanted => Some(&e.body),
                    _ => None,
                })
                .ok_or_else(|| EvalError::unknown_environment(wanted, &environment_names(file)))?,
        ),
    };
    let defaults = file.items.iter().find_map(|item| match item {
        Item::Defaults(defaults) => Some(&defaults.body),
        _ => None,
    });
    for body in defaults.into_iter().chain(chosen) {
        apply(&mut settings, body, workspace)?;
    }
    Ok(settings)
}

fn apply(settings: &mut Settings, body: &Block, workspace: &Workspace) -> Result<(), EvalError> {
    let evaluator = Evaluator::for_settings(settings, workspace);
    let mut updates: Vec<(String, Value)> = Vec::new();
    for field in body.fields() {
        updates.push((field.key.name.clone(), evaluator.expr(&field.value)?));
    }
    for (key, value) in updates {
        let text = value.text();
        match key.as_str() {
            "region" => settings.region = text,
            "cluster" => settings.cluster = text,
            "account" => settings.account = text,
            "profile" => settings.profile = text,
            "vars" => {
                if let Value::Map(vars) = value {
                    settings.vars.extend(vars);
                }
            }
            _ => {}
        }
    }
    Ok(())
}
