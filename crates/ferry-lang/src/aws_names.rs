//! AWS's naming rules that both the checker (a Deployfile's names) and the local ECS (the
//! requests it is sent) hold names to: one copy of each rule.

/// An ECR repository name: 2 to 256 characters; components of lowercase letters and digits
/// separated by single `.`, `_` or `-`, joined by `/` (ECR's `repositoryName` pattern).
pub fn ecr_repository(text: &str) -> Result<(), String> {
    if !(2..=256).contains(&text.len()) {
        return Err("an ECR repository name has 2 to 256 characters".to_owned());
    }
    for component in text.split('/') {
        let ok = !component.is_empty()
            && component.split(['.', '_', '-']).all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !ok {
            return Err(format!(
                "`{component}` is not a valid component: an ECR repository name is lowercase \
                 letters and digits, separated by single `.`, `_`, `-` or `/`"
            ));
        }
    }
    Ok(())
}
