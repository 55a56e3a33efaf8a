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

/// Every region AWS lists, in every partition (botocore's `partitions.json`, without the
/// `*-global` pseudo-regions; a test compares the two). A region missing here is not
/// refused: AWS adds regions, so only a call that cannot reach an unlisted region says so.
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "me-west-1",
    "mx-central-1",
    "sa-east-1",
    "sa-west-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
];

/// Whether AWS lists `region`.
#[must_use]
pub fn is_known_region(region: &str) -> bool {
    REGIONS.contains(&region)
}

/// The listed region `region` is most likely a misspelling of.
#[must_use]
pub fn closest_region(region: &str) -> Option<&'static str> {
    crate::suggestion::closest(region, REGIONS.iter().copied())
}
