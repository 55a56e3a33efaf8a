//! One diagnostic: a kind, a message, labelled spans and help.

use std::fmt;

use super::{Code, Severity};
use crate::syntax::Span;

/// A labelled span. The first label of a diagnostic is the primary one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// Something ferry says about a Deployfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Lowercase, no final period, user names in backticks.
    pub message: String,
    /// At least one label; the first is where the defect is.
    pub labels: Vec<Label>,
    /// What to do about it ("did you mean `web_task`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic of kind `code` at `span`, with the kind's severity.
    #[must_use]
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: vec![Label { span, message: String::new() }],
            help: None,
        }
    }

    /// Names what the primary span shows.
    #[must_use]
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        self.labels[0].message = message.into();
        self
    }

    /// Adds a secondary span ("first defined here").
    #[must_use]
    pub fn with_related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds help only when there is some.
    #[must_use]
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Where the defect is.
    #[must_use]
    pub fn span(&self) -> Span {
        self.labels[0].span
    }

    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().enumerate().map(|(index, label)| {
            let text = (!label.message.is_empty()).then(|| label.message.clone());
            if index == 0 {
                miette::LabeledSpan::new_primary_with_span(text, label.span)
            } else {
                miette::LabeledSpan::new_with_span(text, label.span)
            }
        })))
    }
}
