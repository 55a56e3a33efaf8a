//! The REPL's `:commands`: their names, arguments and help.

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
pub(super) fn parse(text: &str) -> Result<Command, String> {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or_default();
    let argument = words.next().map(str::to_owned);
    if let Some(extra) = words.next() {
        return Err(format!(
            "error: `:{name}` takes one argument at most; `{extra}` is one too many\n"
        ));
    }
    let needs = |argument: Option<String>, what: &str| {
        argument.ok_or_else(|| {
            format!("error: `:{name}` needs {what}: `:{name} {}`\n", what.to_uppercase())
        })
    };
    let none = |argument: &Option<String>| match argument {
        Some(extra) => Err(format!("error: `:{name}` takes no argument, found `{extra}`\n")),
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
        "" => return Err("error: a command name follows `:` (`:help` lists them)\n".to_owned()),
        other => {
            let names = COMMANDS.iter().map(|(name, _, _)| *name);
            let help = closest(other, names).map_or_else(
                || "`:help` lists the commands".to_owned(),
                |best| format!("did you mean `:{best}`?"),
            );
            return Err(format!("error: unknown command `:{other}`\n  help: {help}\n"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Command, parse};

    #[test]
    fn commands() {
        assert_eq!(parse("plan"), Ok(Command::Plan(None)));
        assert_eq!(parse("plan web"), Ok(Command::Plan(Some("web".into()))));
        assert_eq!(parse(" show  app "), Ok(Command::Show("app".into())));
        assert!(parse("show").unwrap_err().contains("`:show` needs step: `:show STEP`"));
        assert!(parse("steps x").unwrap_err().contains("takes no argument"));
        assert!(parse("plan a b").unwrap_err().contains("one too many"));
        assert!(parse("pln").unwrap_err().contains("did you mean `:plan`?"));
        assert!(parse("zzzzzz").unwrap_err().contains("`:help` lists the commands"));
    }
}
