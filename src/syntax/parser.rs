//! The pest parser generated from `grammar/deployfile.pest`, and `parse`, the one entry
//! point from text to syntax tree. Nothing outside `syntax/` sees pest.

use pest::Parser as _;

use super::{Deployfile, lower, syntax_error};
use crate::diagnostic::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/deployfile.pest"]
pub(super) struct DeployfileParser;

/// Parses a whole Deployfile. pest stops at the first syntax error, so that case gives
/// one diagnostic; lowering then reports every bad escape or number at once.
pub fn parse(text: &str) -> Result<Deployfile, Vec<Diagnostic>> {
    let pairs = DeployfileParser::parse(Rule::file, text)
        .map_err(|error| vec![syntax_error::from_pest(text, &error)])?;
    lower::file(pairs)
}

/// Parses one expression, as typed at the REPL prompt.
pub fn parse_expression(text: &str) -> Result<super::Expr, Vec<Diagnostic>> {
    let pairs = DeployfileParser::parse(Rule::expression_input, text)
        .map_err(|error| vec![syntax_error::from_pest(text, &error)])?;
    lower::expression_input(pairs)
}
