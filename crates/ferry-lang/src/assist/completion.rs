//! Completion: the candidates for the place at the cursor, from the schema (step kinds,
//! fields, nested blocks, built-in functions, attributes) and the names in scope.

use super::context::{Place, PlaceAt, place_at};
use crate::check::schema::{self, AttributeSpec, FieldSpec, LabelSpec};
use crate::check::{ValueType, describe_kind};
use crate::syntax::{Deployfile, Item, Span, StepKind};

/// What a candidate is, for the editor's icon or the REPL's menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    Keyword,
    Field,
    Block,
    Step,
    Namespace,
    Function,
    Attribute,
    Variable,
    Word,
    Environment,
    File,
}

/// One completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub label: String,
    pub kind: CandidateKind,
    /// One line: the doc of a field, what a step is.
    pub detail: String,
}

/// The candidates, and the span of the partial word they replace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub replace: Span,
    pub candidates: Vec<Candidate>,
}

/// The names known besides the text being completed.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Steps that define a name (`build`, `register`, `update`) with the offset of their
    /// definition; only those before the cursor are in scope.
    pub steps: Vec<(String, StepKind, usize)>,
    /// Environment names offered after `environment` (the language server: those of the
    /// other Deployfiles beside this one).
    pub environments: Vec<String>,
    pub vars: Vec<String>,
    /// Gate scripts: the embedded `std/…` ones and `.rhai` files found on disk.
    pub scripts: Vec<String>,
    /// At the start of an item an expression may stand too (the REPL prompt).
    pub expressions: bool,
}

impl Known {
    /// The names a parsed Deployfile defines; each step is in scope after its end.
    #[must_use]
    pub fn of(file: &Deployfile) -> Known {
        let mut known = Known::default();
        for item in &file.items {
            match item {
                Item::Step(step)
                    if matches!(
                        step.kind,
                        StepKind::Build | StepKind::Register | StepKind::Update
                    ) =>
                {
                    known.steps.push((step.name.name.clone(), step.kind, step.span.end));
                }
                Item::Environment(environment) => {
                    known.environments.push(environment.name.name.clone());
                }
                Item::Defaults(_) | Item::Step(_) | Item::Handler(_) => {}
            }
        }
        let symbols = crate::check::Symbols::collect(file);
        known.vars = symbols.default_vars.iter().cloned().collect();
        for vars in symbols.environment_vars.values() {
            known.vars.extend(vars.iter().cloned());
        }
        known.vars.sort();
        known.vars.dedup();
        known
    }
}

/// The completions at byte `offset` of `text`.
#[must_use]
pub fn complete(text: &str, offset: usize, known: &Known) -> Completion {
    complete_at(text, &place_at(text, offset), known)
}

/// The completions at a place already found: a caller that reads the disk for some
/// names (gate scripts, environments) looks at `found.place` first and reads only what
/// that place offers.
#[must_use]
pub fn complete_at(text: &str, found: &PlaceAt, known: &Known) -> Completion {
    let typed = &text[found.prefix.start..found.prefix.end];
    let mut steps: Vec<(String, StepKind)> = known
        .steps
        .iter()
        .filter(|(_, _, at)| *at <= found.prefix.start)
        .map(|(name, kind, _)| (name.clone(), *kind))
        .collect();
    steps.extend(found.steps.iter().map(|(name, kind, _)| (name.clone(), *kind)));
    let mut out = Vec::new();
    let mut add = |label: &str, kind: CandidateKind, detail: &str| {
        if label.starts_with(typed) && !out.iter().any(|c: &Candidate| c.label == label) {
            out.push(Candidate { label: label.to_owned(), kind, detail: detail.to_owned() });
        }
    };
    match &found.place {
        Place::ItemStart { in_handler: true } => {
            add("rollback", CandidateKind::Keyword, "roll a service back");
        }
        Place::ItemStart { in_handler: false } => {
            for kind in StepKind::ALL {
                add(kind.keyword(), CandidateKind::Keyword, schema::step(kind).what);
            }
            add("defaults", CandidateKind::Keyword, "settings every environment starts from");
            add("environment", CandidateKind::Keyword, "settings chosen with `--env NAME`");
            add("on", CandidateKind::Keyword, "steps run when the pipeline fails (`on failure`)");
            if known.expressions {
                values(&mut add, &steps, None);
            }
        }
        Place::StepName(kind) => {
            let wanted = match kind {
                StepKind::Tag | StepKind::Push => Some(StepKind::Build),
                StepKind::Verify | StepKind::Rollback => Some(StepKind::Update),
                _ => None,
            };
            for (name, step_kind) in &steps {
                if Some(*step_kind) == wanted {
                    add(name, CandidateKind::Step, describe_kind(*step_kind));
                }
            }
        }
        Place::EventName => add("failure", CandidateKind::Keyword, "when a step fails"),
        Place::EnvironmentName => {
            for name in &known.environments {
                add(
                    name,
                    CandidateKind::Environment,
                    "an environment of the other Deployfiles here",
                );
            }
        }
        Place::Key(spec) => {
            for field in spec.fields {
                add(field.name, CandidateKind::Field, field.doc);
            }
            for block in spec.blocks {
                add(block.kind, CandidateKind::Block, block.doc);
            }
        }
        Place::Label(nested) => {
            if let LabelSpec::Call(functions) = nested.label {
                for name in functions {
                    let doc = schema::function(name).map_or("", |f| f.doc);
                    add(name, CandidateKind::Function, doc);
                }
            }
        }
        Place::Value { field } => values(&mut add, &steps, *field),
        Place::Attribute { base } => {
            let attributes: &[AttributeSpec] = match base.as_slice() {
                [git] if git == "git" => schema::GIT,
                [env] if env == "env" => schema::ENV,
                [vars] if vars == "vars" => {
                    for name in &known.vars {
                        add(name, CandidateKind::Variable, "a variable of `vars`");
                    }
                    &[]
                }
                [step] => match steps.iter().find(|(name, _)| name == step) {
                    Some((_, StepKind::Build)) => schema::IMAGE,
                    Some((_, StepKind::Register)) => schema::TASK_DEFINITION,
                    Some((_, StepKind::Update)) => schema::DEPLOYMENT,
                    _ => &[],
                },
                _ => &[],
            };
            for attribute in attributes {
                add(attribute.name, CandidateKind::Attribute, attribute.doc);
            }
        }
        Place::StringArgument { function } if function == "script" => {
            for script in &known.scripts {
                add(script, CandidateKind::File, "a gate script");
            }
        }
        Place::StringArgument { .. } | Place::Nothing => {}
    }
    Completion { replace: found.prefix, candidates: out }
}

/// What may stand as a value: the words of the field's type, steps, namespaces, calls.
fn values(
    add: &mut impl FnMut(&str, CandidateKind, &str),
    steps: &[(String, StepKind)],
    field: Option<&'static FieldSpec>,
) {
    let ty = field.map(|f| match f.ty {
        ValueType::List(inner) | ValueType::Map(inner) => *inner,
        ty => ty,
    });
    match ty {
        Some(ValueType::Enum(words)) => {
            for word in words {
                add(word, CandidateKind::Word, "");
            }
        }
        Some(ValueType::Bool) => {
            add("true", CandidateKind::Word, "");
            add("false", CandidateKind::Word, "");
        }
        _ => {}
    }
    for (name, kind) in steps {
        add(name, CandidateKind::Step, describe_kind(*kind));
    }
    add("git", CandidateKind::Namespace, "the commit being deployed: `git.sha`, `git.branch`, …");
    add("env", CandidateKind::Namespace, "the chosen environment: `env.name`, `env.cluster`, …");
    add("vars", CandidateKind::Namespace, "the environment's variables: `vars.NAME`");
    for function in schema::FUNCTIONS {
        add(function.name, CandidateKind::Function, function.doc);
    }
    if ty != Some(ValueType::Bool) {
        add("true", CandidateKind::Word, "");
        add("false", CandidateKind::Word, "");
    }
}

#[cfg(test)]
mod tests {
    use super::{Known, complete};

    fn labels(text: &str, known: &Known) -> Vec<String> {
        let offset = text.find('|').expect("a cursor");
        let text = text.replace('|', "");
        complete(&text, offset, known).candidates.into_iter().map(|c| c.label).collect()
    }

    #[test]
    fn candidates() {
        let known = Known {
            steps: vec![("app".into(), crate::syntax::StepKind::Build, 0)],
            vars: vec!["site".into()],
            scripts: vec!["std/version.rhai".into(), "gates/smoke.rhai".into()],
            ..Known::default()
        };
        assert_eq!(labels("re|", &known), ["register"]);
        assert_eq!(labels("push |", &known), ["app"]);
        assert_eq!(labels("update web {\n  circ|", &known), ["circuit_breaker"]);
        assert_eq!(
            labels("update web {\n  circuit_breaker = |", &known)[..3],
            ["rollback", "on", "off"]
        );
        assert_eq!(labels("register t {\n  container \"c\" {\n    image = a|", &known), ["app"]);
        assert_eq!(labels("register t { container \"c\" { image = app.d|", &known), ["digest"]);
        assert_eq!(labels("build b { args = { X = git.s| } }", &known), ["sha", "short_sha"]);
        assert_eq!(labels("tag a { tags = [\"${vars.|", &known), ["site"]);
        assert_eq!(labels("verify w { gate |", &known), ["http", "script", "probe"]);
        assert_eq!(labels("verify w { gate script(\"st|", &known), ["std/version.rhai"]);
        // Steps further down are not in scope.
        let later = Known {
            steps: vec![("late".into(), crate::syntax::StepKind::Build, 50)],
            ..Known::default()
        };
        assert!(!labels("build a { args = { X = l| } }", &later).contains(&"late".to_owned()));
    }

    #[test]
    fn any_offset_of_any_text_is_answered() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut texts: Vec<String> = ["web", "hello", "multi-service", "fargate"]
            .iter()
            .map(|n| {
                std::fs::read_to_string(format!("{root}/../../pipelines/{n}.deploy"))
                    .expect("pipeline")
            })
            .collect();
        texts.push("register t {\n  container \"wé😀b\" { image = \"${git.".to_owned());
        texts.push("}}]) \"${ ] ) } x.y. = = ,\n#".to_owned());
        let known = Known { expressions: true, ..Known::default() };
        for text in &texts {
            let file = crate::syntax::parse(text).ok();
            let known = file.as_ref().map_or_else(|| known.clone(), Known::of);
            for offset in 0..=text.len() + 2 {
                let completion = complete(text, offset, &known);
                assert!(
                    completion.replace.end <= text.len()
                        && text.is_char_boundary(completion.replace.start)
                );
            }
        }
    }

    #[test]
    fn expressions_at_the_prompt() {
        let known = Known { expressions: true, ..Known::default() };
        assert_eq!(labels("g|", &known), ["git"]);
        assert_eq!(labels("e|", &known), ["environment", "env", "ecr"]);
    }
}
