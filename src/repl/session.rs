//! A REPL session: the Deployfile as loaded plus the items typed at the prompt, the
//! chosen environment, and (once a command needs it) a read-only connection to the
//! target. `handle` takes one complete input and returns what to print. Nothing here
//! registers, updates, pushes, builds or deregisters: the only calls to the target are
//! the reads `ferry plan` makes. `session/target.rs` holds the commands that read the
//! target; `session/render.rs` how steps, entries and values are shown.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::Connection;
use super::commands::{self, Command};
use crate::assist::Known;
use crate::check::{ValueType, check_expression, check_source};
use crate::diagnostic::{Code, Diagnostic};
use crate::error::Error;
use crate::eval::{
    EvalError, Evaluator, Outputs, PlannedStep, Settings, Value, Workspace, environment_names,
    plan_step, resolve, step_values,
};
use crate::render::{HumanStyle, human_report};
use crate::suggestion::did_you_mean;
use crate::syntax::{Deployfile, LineIndex, Span, StepKind, parse_expression};

mod render;
mod target;

use render::{describe_item, from_json, kinds_text, list_or_none, plural, steps, type_name};

/// The Deployfile as read.
pub(crate) struct Source {
    /// As the user named it (`pipelines/web.deploy`), for reports.
    pub name: String,
    pub text: String,
}

/// What a load found: the Deployfile (none when there is none; the report when it cannot
/// be read), and the workspace (git, environment variables) of its folder — or of the
/// working directory without one, so `git.sha` works in an empty session too.
pub(crate) struct Loaded {
    pub source: Result<Option<Source>, Error>,
    pub workspace: Workspace,
    /// Where gate scripts and the local state are looked for.
    pub base_dir: PathBuf,
}

/// Reads the Deployfile (at start and on `:reload`).
pub(crate) type Loader = Box<dyn FnMut() -> Loaded>;

/// Opens the read-only connection to the target for these settings.
pub(crate) type Connector =
    Box<dyn FnMut(&Settings, &std::path::Path) -> Result<Connection, Error>>;

/// One piece of the text the session checks: the Deployfile, or an input.
struct Part {
    name: String,
    start: usize,
    text: String,
    /// Typed at the prompt (not the Deployfile).
    typed: bool,
}

/// What one input produced.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub text: String,
    pub failed: bool,
    pub quit: bool,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }

    fn error(text: impl Into<String>) -> Self {
        Self { text: text.into(), failed: true, quit: false }
    }
}

pub(crate) struct Session {
    load: Loader,
    connect: Connector,
    connection: Option<Connection>,
    base_dir: PathBuf,
    parts: Vec<Part>,
    text: String,
    file: Deployfile,
    environment: Option<String>,
    settings: Settings,
    workspace: Workspace,
    inputs: usize,
    style: HumanStyle,
    /// `--show-values`: replies print sensitive values as they are.
    show_values: bool,
    /// Sensitive values met beside the Deployfile's: typed expressions' and those of the
    /// revisions plans compared.
    met_sensitive: Vec<String>,
}

impl Session {
    /// Loads the Deployfile and resolves the environment. The reply tells what was
    /// loaded, or why the Deployfile could not be (the session then starts empty);
    /// `failed` is set when it had errors.
    pub(crate) fn start(
        mut load: Loader,
        connect: Connector,
        environment: Option<String>,
        style: HumanStyle,
        show_values: bool,
    ) -> (Session, Reply) {
        let mut session = Session {
            load: Box::new(|| Loaded {
                source: Ok(None),
                workspace: Workspace::default(),
                base_dir: PathBuf::from("."),
            }),
            connect,
            connection: None,
            base_dir: PathBuf::from("."),
            parts: Vec::new(),
            text: String::new(),
            file: Deployfile { items: Vec::new(), comments: Vec::new() },
            environment,
            settings: Settings::default(),
            workspace: Workspace::default(),
            inputs: 0,
            style,
            show_values,
            met_sensitive: Vec::new(),
        };
        let loaded = load();
        session.load = load;
        let mut reply = session.take_source(loaded);
        reply.text = session.mask().text(&reply.text);
        (session, reply)
    }

    /// What replies are masked with (docs/repl.md): the Deployfile's sensitive values and
    /// those met since; nothing with `--show-values`.
    fn mask(&self) -> crate::sensitive::Mask {
        if self.show_values {
            return crate::sensitive::Mask::none();
        }
        let mut mask = crate::engine::sensitive_mask(
            &self.file,
            &self.settings,
            &self.workspace,
            &crate::engine::ChangeSet::default(),
        );
        mask.extend(self.met_sensitive.iter().cloned());
        mask
    }

    /// The names completion offers.
    #[must_use]
    pub(crate) fn known(&self) -> Known {
        let mut known = Known::of(&self.file);
        // Typed text comes after the whole pipeline: every step is in scope.
        for step in &mut known.steps {
            step.2 = 0;
        }
        known.expressions = true;
        known
    }

    /// Where the Deployfile's gate scripts are looked for.
    #[must_use]
    pub(crate) fn base_dir(&self) -> &std::path::Path {
        &self.base_dir
    }

    /// The step names, for completing the arguments of commands.
    #[must_use]
    pub(crate) fn step_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for step in steps(&self.file) {
            if !names.contains(&step.name.name) {
                names.push(step.name.name.clone());
            }
        }
        names
    }

    #[must_use]
    pub(crate) fn environments(&self) -> Vec<String> {
        environment_names(&self.file)
    }

    /// The name of the chosen environment, for the prompt.
    #[must_use]
    pub(crate) fn environment_name(&self) -> &str {
        &self.settings.name
    }

    /// Handles one complete input: a command, an item to add, or an expression. The
    /// reply prints sensitive values as `(sensitive)` unless `--show-values`.
    pub(crate) fn handle(&mut self, input: &str) -> Reply {
        let mut reply = self.handle_unmasked(input);
        reply.text = self.mask().text(&reply.text);
        reply
    }

    fn handle_unmasked(&mut self, input: &str) -> Reply {
        let input = input.trim();
        if input.is_empty() || input.starts_with('#') {
            return Reply::default();
        }
        self.inputs += 1;
        let name = format!("<input {}>", self.inputs);
        if let Some(command) = input.strip_prefix(':') {
            return match commands::parse(command) {
                Ok(command) => self.command(command),
                Err(error) => self.failed(error),
            };
        }
        let first =
            input.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).next();
        let defines = first.is_some_and(|word| {
            StepKind::from_keyword(word).is_some() || matches!(word, "defaults" | "environment")
        }) || (first == Some("on") && input.contains('{'));
        if defines { self.define(input, &name) } else { self.expression(input, &name) }
    }

    fn take_source(&mut self, loaded: Loaded) -> Reply {
        self.workspace = loaded.workspace;
        self.base_dir = loaded.base_dir;
        let source = match loaded.source {
            Ok(Some(source)) => source,
            Ok(None) => {
                self.reset(None);
                return Reply::ok(
                    "no Deployfile here: starting with an empty pipeline (type steps to add \
                     them)\n",
                );
            }
            Err(error) => {
                self.reset(None);
                return Reply::error(format!(
                    "{}starting with an empty pipeline; fix the Deployfile and `:reload`\n",
                    error.render(self.style)
                ));
            }
        };
        let checked = check_source(&source.text);
        let report = if checked.diagnostics.is_empty() {
            String::new()
        } else {
            human_report(&source.name, &source.text, &checked.diagnostics, self.style)
        };
        if checked.has_errors() {
            self.reset(None);
            return Reply::error(format!(
                "{report}starting with an empty pipeline; fix `{}` and `:reload`\n",
                source.name
            ));
        }
        let name = source.name.clone();
        self.reset(Some(Part { name: source.name, start: 0, text: source.text, typed: false }));
        match resolve(&self.file, self.environment.as_deref(), &self.workspace) {
            Ok(settings) => self.settings = settings,
            Err(error) => {
                let message = self.eval_error(error, &name, &self.text.clone());
                self.environment = None;
                self.settings = resolve(&self.file, None, &self.workspace).unwrap_or_default();
                return Reply::error(format!(
                    "{report}{message}using environment `{}` instead\n",
                    self.settings.name
                ));
            }
        }
        let count = steps(&self.file).count();
        Reply::ok(format!(
            "{report}loaded `{name}`: {} ({}), environment `{}`\n",
            plural(count, "step"),
            list_or_none(&self.environments(), "no environments"),
            self.settings.name
        ))
    }

    fn reset(&mut self, part: Option<Part>) {
        self.connection = None;
        self.parts = part.into_iter().collect();
        self.text = self.parts.first().map(|p| p.text.clone()).unwrap_or_default();
        self.file = crate::syntax::parse(&self.text)
            .unwrap_or(Deployfile { items: Vec::new(), comments: Vec::new() });
        if self.parts.is_empty() {
            self.settings = resolve(&self.file, None, &self.workspace).unwrap_or_default();
        }
    }

    fn command(&mut self, command: Command) -> Reply {
        match command {
            Command::Help => Reply::ok(commands::HELP),
            Command::Quit => Reply { quit: true, ..Reply::default() },
            Command::Steps => Reply::ok(self.steps_text()),
            Command::Show(name) => self.with_step(&name, |session, _| session.show(&name)),
            Command::Env(None) => {
                let names = self.environments();
                let current = &self.settings.name;
                Reply::ok(format!(
                    "environment `{current}`{}\n{}\n",
                    self.settings_text(),
                    list_or_none(&names, "no environments defined")
                ))
            }
            Command::Env(Some(name)) => self.switch(&name),
            Command::Reload => {
                let typed: Vec<Part> = self.parts.drain(..).filter(|p| p.typed).collect();
                let loaded = (self.load)();
                let mut reply = self.take_source(loaded);
                let mut dropped = Vec::new();
                for part in typed {
                    let name = part.name.clone();
                    let again = self.define(&part.text, &name);
                    if again.failed {
                        dropped.push(name);
                    }
                }
                if !dropped.is_empty() {
                    let _ = writeln!(
                        reply.text,
                        "dropped what no longer checks: {}",
                        dropped.join(", ")
                    );
                }
                reply
            }
            Command::Plan(only) => match only {
                Some(name) => self.with_step(&name, |session, _| session.plan(Some(&name))),
                None => self.plan(None),
            },
            Command::Diff(name) => self.with_step(&name, |session, steps| {
                if steps.iter().any(|s| matches!(s, StepKind::Register | StepKind::Update)) {
                    session.diff(&name)
                } else {
                    session.failed(Error::usage(format!(
                        "`:diff` shows `register` and `update` steps; `{name}` is {}",
                        kinds_text(&steps)
                    )))
                }
            }),
            Command::Simulate(only) => self.simulate(only.as_deref()),
            Command::Gate(selector) => self.gate(selector.as_deref()),
        }
    }

    /// Runs `then` when a step of that name exists (with the kinds of the steps so named).
    fn with_step(
        &mut self,
        name: &str,
        then: impl FnOnce(&mut Self, Vec<StepKind>) -> Reply,
    ) -> Reply {
        let kinds: Vec<StepKind> =
            steps(&self.file).filter(|s| s.name.name == name).map(|s| s.kind).collect();
        if kinds.is_empty() {
            let names = self.step_names();
            let help = did_you_mean(name, names.iter().map(String::as_str))
                .unwrap_or_else(|| "`:steps` lists them".to_owned());
            return self.failed(Error::Usage {
                message: format!("no step is called `{name}`"),
                help: Some(help),
            });
        }
        then(self, kinds)
    }

    /// Adds an item typed at the prompt when the whole pipeline still checks.
    fn define(&mut self, input: &str, name: &str) -> Reply {
        let mut candidate = self.text.clone();
        if !candidate.is_empty() && !candidate.ends_with('\n') {
            candidate.push('\n');
        }
        if !candidate.is_empty() {
            candidate.push('\n');
        }
        let start = candidate.len();
        candidate.push_str(input);
        candidate.push('\n');
        let checked = check_source(&candidate);
        // A pipeline typed step by step is unfinished between steps: the lints about the
        // pipeline as a whole (an `update` not verified yet, a `register` not deployed yet)
        // are `ferry check`'s and the editor's to say, not every prompt's.
        let shown: Vec<Diagnostic> = checked
            .diagnostics
            .iter()
            .filter(|d| !matches!(d.code, Code::UpdateWithoutVerify | Code::RegisterWithoutUpdate))
            .cloned()
            .collect();
        let report = self.report_parts(&candidate, start, name, input, &shown);
        if checked.has_errors() {
            return Reply::error(format!("{report}nothing was added\n"));
        }
        let Some(file) = checked.file else {
            return Reply::error(format!("{report}nothing was added\n"));
        };
        let settings = match resolve(&file, self.environment.as_deref(), &self.workspace) {
            Ok(settings) => settings,
            Err(error) => {
                let message = self.eval_error(error, name, input);
                return Reply::error(format!("{message}nothing was added\n"));
            }
        };
        let added: Vec<String> = file
            .items
            .iter()
            .filter(|item| item.span().start >= start)
            .map(describe_item)
            .collect();
        self.parts.push(Part { name: name.to_owned(), start, text: input.to_owned(), typed: true });
        self.text = candidate;
        self.file = file;
        self.settings = settings;
        Reply::ok(format!("{report}added {}\n", added.join(", ")))
    }

    /// Renders diagnostics of the candidate text: those in the input against the input
    /// (positions inside what was typed), the others against the whole text.
    fn report_parts(
        &self,
        candidate: &str,
        start: usize,
        name: &str,
        input: &str,
        diagnostics: &[Diagnostic],
    ) -> String {
        let (inside, outside): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
            diagnostics.iter().partition(|d| d.span().start >= start);
        let mut out = String::new();
        let shifted: Vec<Diagnostic> = inside
            .into_iter()
            .map(|d| {
                let mut d = d.clone();
                let mut notes = Vec::new();
                d.labels.retain(|label| {
                    if label.span.start >= start {
                        return true;
                    }
                    notes.push(format!("{} at {}", label.message, self.location(label.span)));
                    false
                });
                for label in &mut d.labels {
                    label.span = Span::new(label.span.start - start, label.span.end - start);
                }
                if !notes.is_empty() {
                    let help = d.help.take().map(|h| format!("; {h}")).unwrap_or_default();
                    d.help = Some(format!("{}{help}", notes.join("; ")));
                }
                d
            })
            .collect();
        if !shifted.is_empty() {
            out.push_str(&human_report(name, input, &shifted, self.style));
        }
        if !outside.is_empty() {
            let outside: Vec<Diagnostic> = outside.into_iter().cloned().collect();
            let whole = self.parts.first().map_or("<pipeline>", |p| p.name.as_str());
            out.push_str(&human_report(whole, candidate, &outside, self.style));
        }
        out
    }

    /// `Deployfile:12:3` or `<input 4>:1:7`.
    fn location(&self, span: Span) -> String {
        let part = self.parts.iter().rev().find(|p| p.start <= span.start);
        match part {
            Some(part) => {
                let at =
                    LineIndex::new(&part.text).line_column(&part.text, span.start - part.start);
                format!("{}:{}:{}", part.name, at.line, at.column)
            }
            None => "the pipeline".to_owned(),
        }
    }

    fn expression(&mut self, input: &str, name: &str) -> Reply {
        let expr = match parse_expression(input) {
            Ok(expr) => expr,
            Err(diagnostics) => {
                return Reply::error(human_report(name, input, &diagnostics, self.style));
            }
        };
        let (ty, diagnostics) = check_expression(&self.file, &expr);
        let report = if diagnostics.is_empty() {
            String::new()
        } else {
            human_report(name, input, &diagnostics, self.style)
        };
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Reply::error(report);
        }
        let values = step_values(&self.file);
        let outputs = Outputs::new();
        let evaluator = Evaluator::new(&self.settings, &self.workspace, &values, &outputs);
        self.met_sensitive.extend(crate::eval::expr_sensitive_values(
            &expr,
            &self.settings,
            &self.workspace,
        ));
        match evaluator.expr(&expr) {
            Ok(value) => {
                let (value, ty) = self.preview(&expr, value, ty);
                Reply::ok(format!("{report}{value} : {}\n", type_name(&value, ty)))
            }
            Err(error) => Reply::error(format!("{report}{}", self.eval_error(error, name, input))),
        }
    }

    /// What the REPL can tell before the pipeline runs: `app.tags` from `tag app`,
    /// `web_task.containers` from `register web_task`.
    fn preview(
        &self,
        expr: &crate::syntax::Expr,
        value: Value,
        ty: ValueType,
    ) -> (Value, ValueType) {
        let crate::syntax::ExprKind::Reference(reference) = &expr.kind else {
            return (value, ty);
        };
        let segments: Vec<&str> = reference.segments.iter().map(|s| s.name.as_str()).collect();
        let [step_name, attribute] = segments.as_slice() else { return (value, ty) };
        if !matches!(value, Value::Pending(_)) {
            return (value, ty);
        }
        let wanted = match *attribute {
            "tags" => StepKind::Tag,
            "containers" => StepKind::Register,
            _ => return (value, ty),
        };
        let Some(step) = steps(&self.file).find(|s| s.name.name == *step_name && s.kind == wanted)
        else {
            return (value, ty);
        };
        let values = step_values(&self.file);
        let outputs = Outputs::new();
        let evaluator = Evaluator::new(&self.settings, &self.workspace, &values, &outputs);
        match plan_step(step, &evaluator) {
            Ok(PlannedStep::Tag { tags, .. }) => {
                (Value::List(tags), ValueType::List(&ValueType::String))
            }
            Ok(PlannedStep::Register(register)) => {
                let containers = register
                    .containers
                    .iter()
                    .map(|container| {
                        let json = serde_json::to_value(container).unwrap_or_default();
                        let mut map = match from_json(json) {
                            Value::Map(map) => map,
                            _ => std::collections::BTreeMap::new(),
                        };
                        if let Some(image) = &container.image {
                            map.insert("image".to_owned(), image.clone());
                        }
                        Value::Map(map)
                    })
                    .collect();
                (Value::List(containers), ValueType::List(&ValueType::Map(&ValueType::Any)))
            }
            _ => (value, ty),
        }
    }

    fn eval_error(&self, error: EvalError, name: &str, text: &str) -> String {
        Error::eval(name, text, error).render(self.style)
    }

    /// An error as a reply says it: `Error::render` in the session's style.
    pub(super) fn failed(&self, error: impl Into<Error>) -> Reply {
        Reply::error(error.into().render(self.style))
    }

    fn switch(&mut self, name: &str) -> Reply {
        match resolve(&self.file, Some(name), &self.workspace) {
            Ok(settings) => {
                self.environment = Some(name.to_owned());
                self.settings = settings;
                self.connection = None;
                Reply::ok(format!("environment `{name}`{}\n", self.settings_text()))
            }
            Err(error) => {
                let text = self.text.clone();
                Reply::error(format!(
                    "{}still environment `{}`\n",
                    self.eval_error(error, "<pipeline>", &text),
                    self.settings.name
                ))
            }
        }
    }
}
