//! "did you mean `x`?": the closest known name within a small edit distance.

/// The help line for a misspelt `name`, when one of `candidates` is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|best| format!("did you mean `{best}`?"))
}

/// The name a help line suggests, when it starts "did you mean `x`?" — the language
/// server's quick fix reads it back.
#[must_use]
pub fn suggested(help: &str) -> Option<&str> {
    help.strip_prefix("did you mean `")?.split_once('`').map(|(name, _)| name)
}

/// The candidate closest to `name`, if its distance is at most a third of the length
/// (and at least 1, so `biuld` finds `build`).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Damerau–Levenshtein distance with adjacent transpositions (the optimal string
/// alignment distance, strsim's `osa_distance`), case-insensitive.
#[must_use]
pub fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(&a.to_lowercase(), &b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suggestion_is_read_back_from_its_help_line() {
        let help = did_you_mean("biuld", ["build"]).expect("close");
        assert_eq!(suggested(&help), Some("build"));
        assert_eq!(suggested("did you mean `check`? The host functions are …"), Some("check"));
        assert_eq!(suggested("set it in `defaults`"), None);
    }

    macro_rules! closest_cases {
        ($($name:literal among [$($candidate:literal),*] => $expected:expr;)*) => {
            #[test]
            fn closest_names() {
                $(assert_eq!(closest($name, [$($candidate),*]), $expected, "{}", $name);)*
            }
        };
    }

    closest_cases! {
        "biuld" among ["build", "tag"] => Some("build");
        "web_tsk" among ["web_task", "web"] => Some("web_task");
        "clusterr" among ["cluster", "region"] => Some("cluster");
        "x" among ["build"] => None;
        "min_health" among ["min_healthy", "max"] => Some("min_healthy");
        "same" among ["same"] => None;
    }

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("Build", "build"), 0);
    }
}
