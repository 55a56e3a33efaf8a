//! AWS's naming rules that both the checker (a Deployfile's names) and the local ECS (the
//! requests it is sent) hold names to: one copy of each rule.

use std::fmt;

/// Why a name or text breaks its rule (an AWS name, a Docker tag, a text format): the
/// one sentence a diagnostic, or the local ECS's refusal, quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleBroken(pub String);

impl fmt::Display for RuleBroken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleBroken {}

impl From<&str> for RuleBroken {
    fn from(text: &str) -> Self {
        RuleBroken(text.to_owned())
    }
}

/// An ECR repository name: 2 to 256 characters; components of lowercase letters and digits
/// separated by single `.`, `_` or `-`, joined by `/` (ECR's `repositoryName` pattern).
pub fn ecr_repository(text: &str) -> Result<(), RuleBroken> {
    if !(2..=256).contains(&text.len()) {
        return Err("an ECR repository name has 2 to 256 characters".into());
    }
    for component in text.split('/') {
        let ok = !component.is_empty()
            && component.split(['.', '_', '-']).all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !ok {
            return Err(RuleBroken(format!(
                "`{component}` is not a valid component: an ECR repository name is lowercase \
                 letters and digits, separated by single `.`, `_`, `-` or `/`"
            )));
        }
    }
    Ok(())
}
