//! The analyzer: walks a syntax tree once and reports every semantic error it finds —
//! names, order, fields, types, ranges — with the multi-field rules and lints in `step_rules.rs`.

use std::collections::BTreeMap;

use super::schema::{self, BlockSpec, LabelSpec, NestedBody, NestedSpec};
use super::symbols::{Symbols, defines_name, describe_kind};
use super::value_check::Expectation;
use crate::diagnostic::{Code, Diagnostic};
use crate::suggestion::did_you_mean;
use crate::syntax::{
    Block, Deployfile, Entry, ExprKind, Handler, Item, NestedBlock, Span, Step, StepKind,
};

/// Where a value is read: which names it may see.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scope {
    /// The position of the item being checked; steps above it are visible.
    pub position: usize,
    /// Inside `defaults` or `environment`, before any step exists.
    pub in_settings: bool,
}

pub(super) struct Analyzer<'a> {
    pub(super) symbols: Symbols,
    file: &'a Deployfile,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Analyzer<'a> {
    pub(super) fn new(file: &'a Deployfile) -> Self {
        Self { symbols: Symbols::collect(file), file, diagnostics: Vec::new() }
    }

    pub(super) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Whether an error was pushed so far.
    pub(super) fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == crate::diagnostic::Severity::Error)
    }

    /// The diagnostics pushed so far, unsorted.
    pub(super) fn finish(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// Checks the whole file and returns every diagnostic, unsorted.
    pub(super) fn run(mut self) -> Vec<Diagnostic> {
        let mut defaults_seen: Option<Span> = None;
        let mut environments: BTreeMap<&str, Span> = BTreeMap::new();
        let mut handlers: BTreeMap<&str, Span> = BTreeMap::new();
        let mut steps_seen: BTreeMap<(StepKind, &str), Span> = BTreeMap::new();
        let settings = Scope { position: 0, in_settings: true };
        for (position, item) in self.file.items.iter().enumerate() {
            match item {
                Item::Defaults(defaults) => {
                    if let Some(first) = defaults_seen {
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateBlock,
                                defaults.keyword,
                                "`defaults` is given twice",
                            )
                            .with_label("given again here")
                            .with_related(first, "first given here")
                            .with_help("merge the two blocks into one"),
                        );
                    }
                    defaults_seen.get_or_insert(defaults.keyword);
                    self.block(
                        &defaults.body,
                        &schema::SETTINGS,
                        "`defaults`",
                        defaults.keyword,
                        settings,
                    );
                }
                Item::Environment(environment) => {
                    let name = &environment.name;
                    if let Some(first) = environments.insert(&name.name, name.span) {
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateEnvironment,
                                name.span,
                                format!("environment `{}` is defined twice", name.name),
                            )
                            .with_label("defined again here")
                            .with_related(first, "first defined here")
                            .with_help("merge the two blocks or rename one"),
                        );
                    }
                    let what = format!("environment `{}`", name.name);
                    self.block(&environment.body, &schema::SETTINGS, &what, name.span, settings);
                }
                Item::Handler(handler) => {
                    if let Some(first) = handlers.insert(&handler.event.name, handler.event.span) {
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateBlock,
                                handler.event.span,
                                format!("`on {}` is given twice", handler.event.name),
                            )
                            .with_label("given again here")
                            .with_related(first, "first given here")
                            .with_help("merge the two blocks into one"),
                        );
                    }
                    self.handler(handler);
                }
                Item::Step(step) => {
                    self.duplicate_step(step, &mut steps_seen);
                    self.step(step, Scope { position, in_settings: false });
                }
            }
        }
        self.pipeline_lints(self.file);
        self.diagnostics
    }

    fn duplicate_step<'f>(
        &mut self,
        step: &'f Step,
        seen: &mut BTreeMap<(StepKind, &'f str), Span>,
    ) {
        let name = &step.name;
        if defines_name(step.kind) {
            let first = self.symbols.definitions[&name.name];
            if first.span != name.span {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateStep,
                        name.span,
                        format!("`{}` is defined twice", name.name),
                    )
                    .with_label(format!("defined again by `{}`", step.kind.keyword()))
                    .with_related(first.span, format!("first defined as {}", first.describe()))
                    .with_help("give each `build`, `register` and `update` step its own name"),
                );
            }
        } else if let Some(first) = seen.insert((step.kind, &name.name), name.span) {
            self.push(
                Diagnostic::new(
                    Code::DuplicateStep,
                    name.span,
                    format!("`{} {}` is given twice", step.kind.keyword(), name.name),
                )
                .with_label("given again here")
                .with_related(first, "first given here")
                .with_help("merge the two steps into one"),
            );
        }
    }

    fn handler(&mut self, handler: &Handler) {
        if handler.event.name != "failure" {
            self.push(
                Diagnostic::new(
                    Code::UnknownEvent,
                    handler.event.span,
                    format!("unknown event `{}`", handler.event.name),
                )
                .with_label("ferry runs handlers `on failure` only")
                .with_optional_help(did_you_mean(&handler.event.name, ["failure"])),
            );
        }
        let scope = Scope { position: usize::MAX, in_settings: false };
        let mut seen = BTreeMap::new();
        for step in &handler.steps {
            if step.kind != StepKind::Rollback {
                self.push(
                    Diagnostic::new(
                        Code::StepNotAllowed,
                        step.kind_span,
                        format!("`{}` cannot run `on {}`", step.kind.keyword(), handler.event.name),
                    )
                    .with_label("only `rollback` steps run on failure")
                    .with_help("move this step out of the handler"),
                );
                continue;
            }
            self.duplicate_step(step, &mut seen);
            self.step(step, scope);
        }
    }

    fn step(&mut self, step: &Step, scope: Scope) {
        let name = &step.name;
        let what = format!("`{} {}`", step.kind.keyword(), name.name);
        if defines_name(step.kind) && schema::NAMESPACES.contains(&name.name.as_str()) {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    name.span,
                    format!("`{}` is a reserved name", name.name),
                )
                .with_label("reserved for the built-in namespace")
                .with_help("choose another name for this step"),
            );
        }
        let target = match step.kind {
            StepKind::Tag | StepKind::Push => Some(StepKind::Build),
            StepKind::Verify | StepKind::Rollback => Some(StepKind::Update),
            _ => None,
        };
        if let Some(target) = target {
            self.named_step(step, target, scope);
        }
        if step.kind == StepKind::Tag
            && let Some((push_position, push_span)) = self.symbols.pushes.get(&name.name).copied()
            && push_position < scope.position
        {
            self.push(
                Diagnostic::new(
                    Code::StepOrder,
                    step.kind_span.to(name.span),
                    format!("`tag {}` comes after `push {}`", name.name, name.name),
                )
                .with_label("these tags would never be pushed")
                .with_related(push_span, "pushed here")
                .with_help(format!(
                    "move `tag {}` above `push {}`: a push sends the tags set before it",
                    name.name, name.name
                )),
            );
        }
        let spec = schema::step(step.kind);
        match &step.body {
            Some(body) => self.block(body, spec, &what, name.span, scope),
            None => self.missing_fields(spec, &[], &what, name.span),
        }
        self.step_rules(step, &what, scope);
    }

    /// `tag app`, `push app`, `verify web`, `rollback web`: the name must be a step of
    /// kind `target` above this one.
    fn named_step(&mut self, step: &Step, target: StepKind, scope: Scope) {
        let name = &step.name;
        match self.symbols.definitions.get(&name.name).copied() {
            None => {
                let candidates: Vec<&str> = self.symbols.names_of(target).collect();
                self.push(
                    Diagnostic::new(
                        Code::UnknownReference,
                        name.span,
                        format!(
                            "`{} {}` names no `{}` step",
                            step.kind.keyword(),
                            name.name,
                            target.keyword()
                        ),
                    )
                    .with_label(format!("no `{} {}` in this file", target.keyword(), name.name))
                    .with_optional_help(did_you_mean(&name.name, candidates)),
                );
            }
            Some(definition) if definition.kind != target => {
                self.push(
                    Diagnostic::new(
                        Code::WrongStepKind,
                        name.span,
                        format!(
                            "`{} {}` needs {}, but `{}` is {}",
                            step.kind.keyword(),
                            name.name,
                            describe_kind(target),
                            name.name,
                            definition.describe()
                        ),
                    )
                    .with_label(format!("this is {}", definition.describe()))
                    .with_related(definition.span, "defined here"),
                );
            }
            Some(definition) if definition.position > scope.position => {
                self.push(
                    Diagnostic::new(
                        Code::UsedBeforeDefinition,
                        name.span,
                        format!(
                            "`{} {}` comes before `{} {}`",
                            step.kind.keyword(),
                            name.name,
                            target.keyword(),
                            name.name
                        ),
                    )
                    .with_label("used here")
                    .with_related(definition.span, "defined here")
                    .with_help("steps run in the order written; move this step below its target"),
                );
            }
            Some(_) => {}
        }
    }

    /// Checks a block's entries against `spec`.
    pub(super) fn block(
        &mut self,
        block: &Block,
        spec: &'static BlockSpec,
        what: &str,
        header: Span,
        scope: Scope,
    ) {
        let mut fields: BTreeMap<&str, Span> = BTreeMap::new();
        let mut blocks: BTreeMap<(&str, String), Span> = BTreeMap::new();
        for entry in &block.entries {
            match entry {
                Entry::Field(field) => {
                    let key = &field.key;
                    if let Some(first) = fields.insert(&key.name, key.span) {
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateField,
                                key.span,
                                format!("`{}` is set twice in {what}", key.name),
                            )
                            .with_label("set again here")
                            .with_related(first, "first set here")
                            .with_help("remove one of them"),
                        );
                    }
                    let subject = format!("`{}`", key.name);
                    match spec.field(&key.name) {
                        Some(field_spec) => {
                            self.expect(
                                &field.value,
                                &Expectation::of_field(field_spec, &subject),
                                scope,
                            );
                        }
                        None if spec.open => {
                            self.expect(&field.value, &Expectation::any(&subject), scope);
                        }
                        None => {
                            let help = spec.block(&key.name).map_or_else(
                                || did_you_mean(&key.name, spec.fields.iter().map(|f| f.name)),
                                |nested| {
                                    Some(format!(
                                        "`{}` is a block: write `{}`",
                                        key.name, nested.example
                                    ))
                                },
                            );
                            self.push(
                                Diagnostic::new(
                                    Code::UnknownField,
                                    key.span,
                                    format!("{what} has no field `{}`", key.name),
                                )
                                .with_label("unknown field")
                                .with_optional_help(help.or_else(|| field_list(spec))),
                            );
                            self.infer(&field.value, scope);
                        }
                    }
                }
                Entry::Block(nested) => self.nested_block(nested, spec, what, &mut blocks, scope),
            }
        }
        let present: Vec<&str> = fields.keys().copied().collect();
        self.missing_fields(spec, &present, what, header);
    }

    fn missing_fields(&mut self, spec: &BlockSpec, present: &[&str], what: &str, header: Span) {
        for field in spec.fields.iter().filter(|f| f.required && !present.contains(&f.name)) {
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    header,
                    format!("{what} needs `{}`", field.name),
                )
                .with_label(format!("`{}` is missing", field.name))
                .with_help(format!("add `{}`", field.example)),
            );
        }
    }

    fn nested_block(
        &mut self,
        nested: &NestedBlock,
        spec: &'static BlockSpec,
        what: &str,
        seen: &mut BTreeMap<(&'static str, String), Span>,
        scope: Scope,
    ) {
        let kind = &nested.kind;
        let Some(nested_spec) = spec.block(&kind.name) else {
            let help = spec.field(&kind.name).map_or_else(
                || did_you_mean(&kind.name, spec.blocks.iter().map(|b| b.kind)),
                |field| Some(format!("`{}` is a field: write `{}`", kind.name, field.example)),
            );
            self.push(
                Diagnostic::new(
                    Code::UnknownBlock,
                    kind.span,
                    format!("{what} has no block `{}`", kind.name),
                )
                .with_label("unknown block")
                .with_optional_help(help),
            );
            return;
        };
        let label_key = self.label(nested, nested_spec, scope);
        let key = match (nested_spec.repeat, &nested_spec.label) {
            (false, _) => Some(String::new()),
            // Repeatable blocks without a label (`load_balancer`) are told apart by content.
            (true, LabelSpec::None) => None,
            (true, _) => label_key.clone(),
        };
        if let Some(key) = key
            && let Some(first) = seen.insert((nested_spec.kind, key.clone()), nested.span)
        {
            let message = if key.is_empty() {
                format!("{what} has two `{}` blocks", kind.name)
            } else {
                format!("{what} has two `{} \"{key}\"` blocks", kind.name)
            };
            self.push(
                Diagnostic::new(Code::DuplicateBlock, kind.span, message)
                    .with_label("given again here")
                    .with_related(first, "first given here")
                    .with_help("merge them into one"),
            );
        }
        let body_spec = match &nested_spec.body {
            NestedBody::Fixed(body) => Some(*body),
            NestedBody::ByCall(choices) => nested
                .label
                .as_ref()
                .and_then(|label| label.as_call())
                .and_then(|call| choices.iter().find(|(name, _)| *name == call.function.name))
                .map(|(_, body)| *body),
        };
        let Some(body_spec) = body_spec else { return };
        let inner_what = match &label_key {
            Some(label) if nested_spec.label == LabelSpec::Name => {
                format!("`{} \"{label}\"`", kind.name)
            }
            _ => format!("`{}`", kind.name),
        };
        match &nested.body {
            Some(body) => self.block(body, body_spec, &inner_what, kind.span, scope),
            None => self.missing_fields(body_spec, &[], &inner_what, kind.span),
        }
    }

    /// Checks a nested block's label; returns its key for duplicate detection.
    fn label(&mut self, nested: &NestedBlock, spec: &NestedSpec, scope: Scope) -> Option<String> {
        let kind = &nested.kind;
        match (&spec.label, &nested.label) {
            (LabelSpec::None, None) => Some(String::new()),
            (LabelSpec::None, Some(label)) => {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        label.span,
                        format!("`{}` takes no label", kind.name),
                    )
                    .with_label("remove this")
                    .with_help(format!("write `{}`", spec.example)),
                );
                None
            }
            (LabelSpec::Name, Some(label)) => match label.as_plain_string() {
                Some(name) if !name.is_empty() => Some(name),
                _ => {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            label.span,
                            format!("`{}` needs a name as a plain string", kind.name),
                        )
                        .with_label("not a plain, non-empty string")
                        .with_help(format!("write `{}`", spec.example)),
                    );
                    None
                }
            },
            (LabelSpec::Call(functions), Some(label)) => match &label.kind {
                ExprKind::Call(call) if functions.contains(&call.function.name.as_str()) => {
                    self.call(call, scope);
                    None
                }
                _ => {
                    let list: Vec<_> = functions.iter().map(|f| format!("`{f}(…)`")).collect();
                    let help = label
                        .as_call()
                        .and_then(|call| {
                            did_you_mean(&call.function.name, functions.iter().copied())
                        })
                        .unwrap_or_else(|| format!("write `{}`", spec.example));
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            label.span,
                            format!("`{}` is followed by {}", kind.name, list.join(" or ")),
                        )
                        .with_label("not one of these")
                        .with_help(help),
                    );
                    None
                }
            },
            (LabelSpec::Name | LabelSpec::Call(_), None) => {
                self.push(
                    Diagnostic::new(
                        Code::MissingField,
                        kind.span,
                        format!("`{}` needs a label", kind.name),
                    )
                    .with_label("label missing")
                    .with_help(format!("write `{}`", spec.example)),
                );
                None
            }
        }
    }
}

fn field_list(spec: &BlockSpec) -> Option<String> {
    if spec.fields.is_empty() {
        return None;
    }
    let names: Vec<String> = spec.fields.iter().map(|f| format!("`{}`", f.name)).collect();
    Some(format!("{} has the fields {}", spec.what, names.join(", ")))
}
