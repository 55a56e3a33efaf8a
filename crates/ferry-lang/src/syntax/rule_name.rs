//! What each grammar rule is called in a syntax error. Users never see pest's names.

use super::parser::Rule;

/// The phrase naming what `rule` matches, as in "expected a duration such as `30s`".
pub(super) fn phrase(rule: Rule) -> &'static str {
    match rule {
        Rule::WHITESPACE => "a space or line break",
        Rule::COMMENT => "a comment",
        Rule::file | Rule::item => "a top-level item",
        Rule::EOI => "the end of the file",
        Rule::defaults | Rule::kw_defaults => "`defaults`",
        Rule::environment | Rule::kw_environment => "`environment`",
        Rule::handler | Rule::kw_on => "`on failure`",
        Rule::step | Rule::step_kind => {
            "a step (`build`, `tag`, `push`, `register`, `update`, `verify`, `rollback`)"
        }
        Rule::block => "a block `{ … }`",
        Rule::entry | Rule::field => "a field `name = value`",
        Rule::nested_block => "a nested block such as `container \"web\" { … }`",
        Rule::label => "a label (a string or a call)",
        Rule::expr | Rule::expression_input => "a value",
        Rule::list => "a list `[…]`",
        Rule::map => "a map `{ KEY = value }`",
        Rule::map_entry => "a map entry `KEY = value`",
        Rule::call => "a call such as `ecr(\"web\")`",
        Rule::argument => "an argument",
        Rule::reference => "a reference such as `git.sha`",
        Rule::boolean => "`true` or `false`",
        Rule::integer => "an integer",
        Rule::percentage => "a percentage such as `100%`",
        Rule::duration => "a duration such as `30s`",
        Rule::duration_unit => "a duration unit (`ms`, `s`, `m`, `h`, `d`)",
        Rule::string => "a string",
        Rule::string_text => "text",
        Rule::escape => "an escape such as `\\n`",
        Rule::interpolation => "an interpolation `${…}`",
        Rule::name | Rule::name_char => "a name",
        Rule::kw_build => "`build`",
        Rule::kw_tag => "`tag`",
        Rule::kw_push => "`push`",
        Rule::kw_register => "`register`",
        Rule::kw_update => "`update`",
        Rule::kw_verify => "`verify`",
        Rule::kw_rollback => "`rollback`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::equals => "`=`",
        Rule::comma => "`,`",
        Rule::dot => "`.`",
        Rule::quote => "`\"`",
        Rule::closing_quote => "the closing `\"`",
        Rule::interpolation_open => "`${`",
    }
}

/// The keywords a misspelt word may have meant, for "did you mean" in syntax errors.
pub(super) fn keywords(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::defaults | Rule::kw_defaults => &["defaults"],
        Rule::environment | Rule::kw_environment => &["environment"],
        Rule::handler | Rule::kw_on => &["on"],
        Rule::step | Rule::step_kind => {
            &["build", "tag", "push", "register", "update", "verify", "rollback"]
        }
        Rule::boolean => &["true", "false"],
        _ => &[],
    }
}
