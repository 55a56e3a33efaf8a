//! `editors/deployfile.tmLanguage.json`: tokenized by a real TextMate engine
//! (textmate-grammar-python, a port of vscode-textmate on Oniguruma, from the Python
//! environment of scripts/python-env) over a Deployfile, and kept in step with the
//! language: its keywords are the step kinds, its functions the built-ins.

use std::process::Command;

use serde_json::Value;

use crate::support::moto::python_tool;
use crate::support::test::root;

#[test]
fn the_grammar_names_what_the_language_has() {
    let grammar: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("editors/deployfile.tmLanguage.json"))
            .expect("grammar"),
    )
    .expect("JSON");
    assert_eq!(grammar["scopeName"], "source.deployfile");
    let step = grammar["repository"]["step"]["match"].as_str().expect("step");
    let keywords: Vec<&str> = ferry::syntax::StepKind::ALL.iter().map(|k| k.keyword()).collect();
    assert!(step.contains(&format!("({})", keywords.join("|"))), "{step}");
    let functions = grammar["repository"]["value"]["patterns"]
        .as_array()
        .expect("patterns")
        .iter()
        .find(|p| p["name"] == "support.function.builtin.deployfile")
        .and_then(|p| p["match"].as_str())
        .expect("functions");
    let names: Vec<&str> = ferry::check::schema::FUNCTIONS.iter().map(|f| f.name).collect();
    assert!(functions.contains(&format!("(?:{})", names.join("|"))), "{functions}");
}

#[test]
fn a_textmate_engine_highlights_a_deployfile() {
    let Some(python) = python_tool("python") else { return };
    let output = Command::new(python)
        .arg(root().join("tests/grammar_tokens.py"))
        .arg(root().join("editors/deployfile.tmLanguage.json"))
        .arg(root().join("pipelines/web.deploy"))
        .output()
        .expect("python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tokens: Vec<(u64, String, String)> = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a token");
            (
                v[0].as_u64().expect("line"),
                v[2].as_str().expect("text").to_owned(),
                v[3].as_str().expect("scope").to_owned(),
            )
        })
        .collect();
    let scope_of = |text: &str| {
        tokens.iter().find(|(_, t, _)| t == text).map_or_else(
            || panic!("no token `{text}` in {tokens:#?}"),
            |(_, _, scope)| scope.as_str(),
        )
    };
    assert_eq!(scope_of("build"), "keyword.control.step.deployfile");
    assert_eq!(scope_of("web_task"), "entity.name.function.step.deployfile");
    assert_eq!(scope_of("environment"), "keyword.other.settings.deployfile");
    assert_eq!(scope_of("staging"), "entity.name.namespace.environment.deployfile");
    assert_eq!(scope_of("container"), "storage.type.block.deployfile");
    assert_eq!(scope_of("task_definition"), "variable.other.property.deployfile");
    assert_eq!(scope_of("\"eu-west-1\""), "string.quoted.double.deployfile");
    assert_eq!(scope_of("${"), "punctuation.section.interpolation.begin.deployfile");
    assert_eq!(scope_of("60s"), "constant.numeric.duration.deployfile");
    assert_eq!(scope_of("100%"), "constant.numeric.percentage.deployfile");
    assert_eq!(scope_of("ecr"), "support.function.builtin.deployfile");
    assert_eq!(scope_of("git"), "variable.language.namespace.deployfile");
    // `rollback` is a step keyword in `on failure`, a word in `circuit_breaker = rollback`.
    let scopes: Vec<&str> =
        tokens.iter().filter(|(_, t, _)| t == "rollback").map(|(_, _, s)| s.as_str()).collect();
    assert_eq!(scopes, ["variable.other.reference.deployfile", "keyword.control.step.deployfile"]);
    // `environment = { … }` in a container is a field, not the keyword.
    let fields = tokens
        .iter()
        .filter(|(_, t, s)| t == "environment" && s == "variable.other.property.deployfile");
    assert_eq!(fields.count(), 1);
    assert!(tokens.iter().any(|(_, _, scope)| scope == "comment.line.number-sign.deployfile"));
}
