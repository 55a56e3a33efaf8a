//! The REPL on a terminal: reedline with a prompt naming the environment, Tab completion
//! (commands, step names, fields, references, built-ins), highlighting from the lexer,
//! multi-line input while brackets are open, and history in a file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nu_ansi_term::{Color, Style};
use reedline::{
    ColumnarMenu, Completer, Emacs, FileBackedHistory, Highlighter, KeyCode, KeyModifiers,
    MenuBuilder, Prompt, PromptEditMode, PromptHistorySearch, Reedline, ReedlineEvent,
    ReedlineMenu, Signal, Span as EditSpan, StyledText, Suggestion, ValidationResult, Validator,
    default_emacs_keybindings,
};

use super::commands::COMMANDS;
use super::session::Session;
use crate::assist::{Known, Place, complete_at, place_at};
use crate::syntax::{StepKind, TokenKind, open_brackets, tokens};

/// Where history is kept: `FERRY_HISTORY` (empty: nowhere), else
/// `$XDG_STATE_HOME/ferry/repl-history`, else `~/.local/state/ferry/repl-history`.
#[must_use]
pub(crate) fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FERRY_HISTORY") {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    let state =
        std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(
            || std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")),
        )?;
    Some(state.join("ferry").join("repl-history"))
}

/// What completion knows, refreshed after every input.
#[derive(Default)]
struct Names {
    known: Known,
    steps: Vec<String>,
    environments: Vec<String>,
    /// Where `script("…")` completion looks for `.rhai` files, on Tab.
    base_dir: PathBuf,
}

impl Names {
    fn of(session: &Session) -> Self {
        Self {
            known: session.known(),
            steps: session.step_names(),
            environments: session.environments(),
            base_dir: session.base_dir().to_path_buf(),
        }
    }
}

struct ReplCompleter(Arc<Mutex<Names>>);

impl Completer for ReplCompleter {
    fn complete(&mut self, line: &str, pos: usize) -> Vec<Suggestion> {
        let names = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let suggestion = |value: &str, description: &str, start: usize| Suggestion {
            value: value.to_owned(),
            description: (!description.is_empty()).then(|| description.to_owned()),
            span: EditSpan::new(start, pos),
            append_whitespace: false,
            ..Suggestion::default()
        };
        let before = &line[..pos];
        if let Some(command) = before.trim_start().strip_prefix(':') {
            let start = pos - command.len() - 1;
            return match command.split_once(char::is_whitespace) {
                None => COMMANDS
                    .iter()
                    .filter(|(name, _, _)| name.starts_with(command))
                    .map(|(name, _, doc)| suggestion(&format!(":{name}"), doc, start))
                    .collect(),
                Some((name, argument)) => {
                    let argument = argument.trim_start();
                    let start = pos - argument.len();
                    let choices: &[String] = match name {
                        "show" | "plan" | "diff" | "simulate" => &names.steps,
                        "env" => &names.environments,
                        _ => &[],
                    };
                    choices
                        .iter()
                        .filter(|choice| choice.starts_with(argument))
                        .map(|choice| suggestion(choice, "", start))
                        .collect()
                }
            };
        }
        let found = place_at(line, pos);
        let scripts;
        let mut known = &names.known;
        if matches!(&found.place, Place::StringArgument { function } if function == "script") {
            // The disk is read on Tab inside `script("…")`, not after every input.
            scripts = Known {
                scripts: crate::gates::stdlib::script_names(&names.base_dir),
                ..names.known.clone()
            };
            known = &scripts;
        }
        let completion = complete_at(line, &found, known);
        completion
            .candidates
            .iter()
            .map(|c| suggestion(&c.label, &c.detail, completion.replace.start))
            .collect()
    }
}

struct ReplHighlighter;

impl Highlighter for ReplHighlighter {
    fn highlight(&self, line: &str, _cursor: usize) -> StyledText {
        let mut styled = StyledText::new();
        if line.trim_start().starts_with(':') {
            styled.push((Style::new().fg(Color::Cyan).bold(), line.to_owned()));
            return styled;
        }
        let all = tokens(line);
        let mut at = 0;
        for (i, token) in all.iter().enumerate() {
            if token.span.start > at {
                styled.push((Style::new(), line[at..token.span.start].to_owned()));
            }
            let text = token.text(line);
            let next_is_paren = all.get(i + 1).is_some_and(|t| t.text(line) == "(");
            let style = match token.kind {
                TokenKind::Word
                    if StepKind::from_keyword(text).is_some()
                        || matches!(text, "defaults" | "environment" | "on") =>
                {
                    Style::new().fg(Color::Magenta).bold()
                }
                TokenKind::Word if matches!(text, "true" | "false") => {
                    Style::new().fg(Color::Yellow)
                }
                TokenKind::Word if next_is_paren => Style::new().fg(Color::Cyan),
                TokenKind::Word if matches!(text, "git" | "env" | "vars") => {
                    Style::new().fg(Color::Blue)
                }
                TokenKind::Number => Style::new().fg(Color::Yellow),
                TokenKind::StringStart | TokenKind::StringText | TokenKind::StringEnd => {
                    Style::new().fg(Color::Green)
                }
                TokenKind::InterpolationOpen | TokenKind::InterpolationClose => {
                    Style::new().fg(Color::LightGreen).bold()
                }
                TokenKind::Comment => Style::new().fg(Color::DarkGray),
                TokenKind::Unknown => Style::new().fg(Color::Red),
                TokenKind::Word | TokenKind::Punct | TokenKind::Newline => Style::new(),
            };
            styled.push((style, text.to_owned()));
            at = token.span.end;
        }
        if at < line.len() {
            styled.push((Style::new(), line[at..].to_owned()));
        }
        styled
    }
}

/// More lines are needed while a bracket, brace or interpolation is open.
struct ReplValidator;

impl Validator for ReplValidator {
    fn validate(&self, line: &str) -> ValidationResult {
        if !line.trim_start().starts_with(':') && open_brackets(line) > 0 {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Complete
        }
    }
}

struct ReplPrompt(String);

impl Prompt for ReplPrompt {
    fn render_prompt_left(&self) -> std::borrow::Cow<'_, str> {
        format!("ferry({})", self.0).into()
    }

    fn render_prompt_right(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_indicator(&self, _mode: PromptEditMode) -> std::borrow::Cow<'_, str> {
        "> ".into()
    }

    fn render_prompt_multiline_indicator(&self) -> std::borrow::Cow<'_, str> {
        "… ".into()
    }

    fn render_prompt_history_search_indicator(
        &self,
        search: PromptHistorySearch,
    ) -> std::borrow::Cow<'_, str> {
        format!("(search: {}) ", search.term).into()
    }
}

/// Runs the REPL on the terminal until `:quit` or Ctrl-D. `color`: highlight what is
/// typed (off with `NO_COLOR`).
pub(crate) fn interactive(
    session: &mut Session,
    history: Option<PathBuf>,
    color: bool,
) -> std::io::Result<()> {
    let names = Arc::new(Mutex::new(Names::of(session)));
    let mut keybindings = default_emacs_keybindings();
    keybindings.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![
            ReedlineEvent::Menu("completion_menu".to_owned()),
            ReedlineEvent::MenuNext,
        ]),
    );
    let menu = ColumnarMenu::default().with_name("completion_menu");
    let mut editor = Reedline::create()
        .with_completer(Box::new(ReplCompleter(Arc::clone(&names))))
        .with_validator(Box::new(ReplValidator))
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(menu)))
        .with_edit_mode(Box::new(Emacs::new(keybindings)))
        .with_quick_completions(true)
        .with_partial_completions(true);
    if color {
        editor = editor.with_highlighter(Box::new(ReplHighlighter));
    }
    if let Some(path) = history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match FileBackedHistory::with_file(1000, path.clone()) {
            Ok(history) => editor = editor.with_history(Box::new(history)),
            Err(error) => println!("history is not kept: `{}`: {error}", path.display()),
        }
    }
    println!(
        "dry run: nothing is built, pushed, registered or updated; `:help` lists the commands"
    );
    loop {
        let prompt = ReplPrompt(session.environment_name().to_owned());
        match editor.read_line(&prompt)? {
            Signal::Success(buffer) => {
                let reply = session.handle(&buffer);
                print!("{}", reply.text);
                if reply.quit {
                    break;
                }
                *names.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Names::of(session);
            }
            Signal::CtrlD => break,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use reedline::{Highlighter as _, ValidationResult, Validator as _};

    use super::{ReplHighlighter, ReplValidator};

    #[test]
    fn highlighting_keeps_every_byte() {
        for line in [
            "build app {\n  tags = [\"${env.name}-x\", 90s] # note\n}",
            ":plan web",
            "\"open ${git",
            "é = ~",
        ] {
            let styled = ReplHighlighter.highlight(line, 0);
            let text: String = styled.buffer.iter().map(|(_, piece)| piece.as_str()).collect();
            assert_eq!(text, line);
        }
    }

    #[test]
    fn open_blocks_ask_for_more_lines() {
        assert!(matches!(ReplValidator.validate("build app {"), ValidationResult::Incomplete));
        assert!(matches!(ReplValidator.validate("build app {\n}"), ValidationResult::Complete));
        assert!(matches!(ReplValidator.validate(":show {"), ValidationResult::Complete));
    }
}
