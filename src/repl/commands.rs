//! The REPL's `:commands`: their names, arguments and help.

use crate::error::Error;
use crate::suggestion::closest;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Help,
    Quit,
    Steps,
    Show(String),
    Plan(Option<String>),
    Diff(String),
    Env(Option<String>),
    Simulate(Option<String>),
    Gate(Option<String>),
    Reload,
}

/// `(name, arguments, what it does)`, in the order `:help` lists them.
pub(crate) const COMMANDS: &[(&str, &str, &str)] = &[
    ("steps", "", "list the steps, where each is defined"),
    ("show", "STEP", "a step's fields evaluated for the environment"),
    ("plan", "[STEP]", "what `ferry plan` prints, for every step or one (read-only calls)"),
    ("diff", "STEP", "the task-definition or service-setting diff of a step (read-only calls)"),
    ("env", "[NAME]", "show the environment, or switch to another"),
    ("simulate", "[STEP]", "the predicted rollout of the `update` steps (read-only calls)"),
    ("gate", "[N]", "list the gates, or run gate N once against the service as it runs now"),
    ("reload", "", "read the Deployfile again (steps typed here are kept when they still check)"),
    ("help", "", "this list"),
    ("quit", "", "leave (also Ctrl-D)"),
];

/// The text of `:help`.
pub(crate) const HELP: &str = "\
Type an expression to see its value and type (`git.sha`, \"${env.name}-latest\", app.tags),
or a step (`build …`, `register …`, …) to check it and add it to the pipeline; blocks may
span lines. Nothing is built, pushed, registered or updated here: commands that read the
target say how many read-only calls they made.

  :steps             list the steps, where each is defined
  :show STEP         a step's fields evaluated for the environment
  :plan [STEP]       what `ferry plan` prints, for every step or one
  :diff STEP         the task-definition or service-setting diff of a step
  :env [NAME]        show the environment, or switch to another
  :simulate [STEP]   the predicted rollout of the `update` steps
  :gate [N]          list the gates, or run gate N once against the service as it runs now
  :reload            read the Deployfile again (steps typed here are kept when they still check)
  :help              this list
  :quit              leave (also Ctrl-D)
";

/// Parses the text after `:`.
pub(super) fn parse(text: &str) -> Result<Command, Error> {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or_default();
    let argument = words.next().map(str::to_owned);
    if let Some(extra) = words.next() {
        return Err(Error::usage(format!(
            "`:{name}` takes one argument at most; `{extra}` is one too many"
        )));
    }
    let needs = |argument: Option<String>, what: &str| {
        argument.ok_or_else(|| {
            Error::usage(format!("`:{name}` needs {what}: `:{name} {}`", what.to_uppercase()))
        })
    };
    let none = |argument: &Option<String>| match argument {
        Some(extra) => Err(Error::usage(format!("`:{name}` takes no argument, found `{extra}`"))),
        None => Ok(()),
    };
    Ok(match name {
        "help" | "h" | "?" => none(&argument).map(|()| Command::Help)?,
        "quit" | "q" | "exit" => none(&argument).map(|()| Command::Quit)?,
        "steps" => none(&argument).map(|()| Command::Steps)?,
        "reload" => none(&argument).map(|()| Command::Reload)?,
        "show" => Command::Show(needs(argument, "step")?),
        "diff" => Command::Diff(needs(argument, "step")?),
        "plan" => Command::Plan(argument),
        "env" => Command::Env(argument),
        "simulate" => Command::Simulate(argument),
        "gate" => Command::Gate(argument),
        "" => return Err(Error::usage("a command name follows `:` (`:help` lists them)")),
        other => {
            let names = COMMANDS.iter().map(|(name, _, _)| *name);
            let help = closest(other, names).map_or_else(
                || "`:help` lists the commands".to_owned(),
                |best| format!("did you mean `:{best}`?"),
            );
            return Err(Error::Usage {
                message: format!("unknown command `:{other}`"),
                help: Some(help),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Command, parse};

    #[test]
    fn commands() {
        assert_eq!(parse("plan").ok(), Some(Command::Plan(None)));
        assert_eq!(parse("plan web").ok(), Some(Command::Plan(Some("web".into()))));
        assert_eq!(parse(" show  app ").ok(), Some(Command::Show("app".into())));
        let error =
            |text: &str| parse(text).unwrap_err().render(crate::render::HumanStyle::plain());
        assert!(error("show").starts_with("error: `:show` needs step: `:show STEP`\n"));
        assert!(error("steps x").contains("takes no argument"));
        assert!(error("plan a b").contains("one too many"));
        assert!(error("pln").contains("\n  help: did you mean `:plan`?\n"));
        assert!(error("zzzzzz").contains("`:help` lists the commands"));
    }
}
