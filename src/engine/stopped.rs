//! A stopped container in words (docs/events.md): its exit code and ECS's reason, with
//! what the well-known ones mean — an OOM kill reads "killed for using more memory than
//! its limit", not "exited 137". Pure; the one wording for the event, the progress line
//! and the failure report.

/// `name`'s stop in words, or none when ECS gave neither a code nor a reason.
#[must_use]
pub(super) fn container_words(
    name: &str,
    code: Option<i32>,
    reason: Option<&str>,
) -> Option<String> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(reason) = reason.filter(|r| r.starts_with("OutOfMemoryError")) {
        let exit = code.map_or_else(String::new, |c| format!("exit {c}, "));
        return Some(format!(
            "{name} was killed for using more memory than its limit ({exit}{reason})"
        ));
    }
    let meaning = match code {
        Some(137) => " (killed by SIGKILL: out of memory, or stopped by force)",
        Some(139) => " (segmentation fault, SIGSEGV)",
        Some(143) => " (stopped by SIGTERM)",
        Some(127) => " (command not found)",
        Some(126) => " (command not executable)",
        _ => "",
    };
    match (code, reason) {
        (Some(code), Some(reason)) => Some(format!("{name} exited {code}{meaning}: {reason}")),
        (Some(code), None) => Some(format!("{name} exited {code}{meaning}")),
        (None, Some(reason)) => Some(format!("{name}: {reason}")),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::container_words;

    #[test]
    fn the_well_known_stops_are_said_in_words() {
        let oom = "OutOfMemoryError: Container killed due to memory usage";
        assert_eq!(
            container_words("app", Some(137), Some(oom)).as_deref(),
            Some(
                "app was killed for using more memory than its limit (exit 137, OutOfMemoryError: \
                 Container killed due to memory usage)"
            )
        );
        assert_eq!(
            container_words("app", Some(137), None).as_deref(),
            Some("app exited 137 (killed by SIGKILL: out of memory, or stopped by force)")
        );
        assert_eq!(container_words("app", Some(3), None).as_deref(), Some("app exited 3"));
        assert_eq!(
            container_words("app", None, Some("CannotPullContainerError: not found")).as_deref(),
            Some("app: CannotPullContainerError: not found")
        );
        assert_eq!(
            container_words("app", Some(1), Some("boom")).as_deref(),
            Some("app exited 1: boom")
        );
        assert_eq!(container_words("app", None, Some("  ")), None);
    }
}
