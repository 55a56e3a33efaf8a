//! The kinds of diagnostic, each named for the defect, with its stable code and default
//! severity. `docs/diagnostics.md` has one entry per code; a test keeps the two in step.

use std::fmt;

/// How bad a diagnostic is. Warnings travel the same path as errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($($area:literal { $($variant:ident => $name:literal, $severity:ident;)* })*) => {
        /// Every kind of diagnostic ferry reports.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($($variant,)*)*
        }

        impl Code {
            /// Every code, grouped by area.
            pub const ALL: &'static [Code] = &[$($(Code::$variant,)*)*];

            /// The stable code, `ferry::<area>::<kind>`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($(Code::$variant => concat!("ferry::", $area, "::", $name),)*)*
                }
            }

            /// The severity a diagnostic of this kind has.
            #[must_use]
            pub const fn severity(self) -> Severity {
                match self {
                    $($(Code::$variant => Severity::$severity,)*)*
                }
            }
        }
    };
}

codes! {
    "input" {
        FileNotFound => "file_not_found", Error;
        IsDirectory => "is_directory", Error;
        NotRegularFile => "not_regular_file", Error;
        Unreadable => "unreadable", Error;
        NotUtf8 => "not_utf8", Error;
        EmptyFile => "empty_file", Error;
        FileTooLarge => "file_too_large", Error;
    }
    "syntax" {
        UnexpectedToken => "unexpected_token", Error;
        UnterminatedString => "unterminated_string", Error;
        InvalidEscape => "invalid_escape", Error;
        NumberTooLarge => "number_too_large", Error;
    }
    "check" {
        DuplicateBlock => "duplicate_block", Error;
        DuplicateEnvironment => "duplicate_environment", Error;
        DuplicateField => "duplicate_field", Error;
        DuplicateKey => "duplicate_key", Error;
        DuplicateStep => "duplicate_step", Error;
        InvalidArguments => "invalid_arguments", Error;
        InvalidRepository => "invalid_repository", Error;
        InvalidTag => "invalid_tag", Error;
        InvalidValue => "invalid_value", Error;
        LoadBalancerContainer => "load_balancer_container", Error;
        LoadBalancerPort => "load_balancer_port", Error;
        MinNotBelowMax => "min_not_below_max", Error;
        MissingField => "missing_field", Error;
        NotForStrategy => "not_for_strategy", Error;
        OutOfRange => "out_of_range", Error;
        StepNotAllowed => "step_not_allowed", Error;
        StepOrder => "step_order", Error;
        TypeMismatch => "type_mismatch", Error;
        UndefinedVariable => "undefined_variable", Error;
        UnknownAttribute => "unknown_attribute", Error;
        UnknownBlock => "unknown_block", Error;
        UnknownEvent => "unknown_event", Error;
        UnknownField => "unknown_field", Error;
        UnknownFunction => "unknown_function", Error;
        UnknownReference => "unknown_reference", Error;
        UsedBeforeDefinition => "used_before_definition", Error;
        WrongStepKind => "wrong_step_kind", Error;
    }
    "eval" {
        CannotEvaluate => "cannot_evaluate", Error;
        GitUnavailable => "git_unavailable", Error;
        UndefinedEnvVar => "undefined_env_var", Error;
        UnsetSetting => "unset_setting", Error;
    }
    "gate" {
        BadResult => "bad_result", Error;
        MissingCheck => "missing_check", Error;
        ScriptError => "script_error", Error;
        ScriptLimit => "script_limit", Error;
        ScriptNotFound => "script_not_found", Error;
        ScriptSyntax => "script_syntax", Error;
        UnknownHostFunction => "unknown_host_function", Error;
    }
    "lint" {
        CircuitBreakerMissing => "circuit_breaker_missing", Warning;
        CircuitBreakerOff => "circuit_breaker_off", Warning;
        CircuitBreakerWithoutRollback => "circuit_breaker_without_rollback", Warning;
        DeploymentCannotProgress => "deployment_cannot_progress", Warning;
        DowntimeBehindLoadBalancer => "downtime_behind_load_balancer", Warning;
        DuplicateTag => "duplicate_tag", Warning;
        GraceBelowStartPeriod => "grace_below_start_period", Warning;
        ImageNotPushed => "image_not_pushed", Warning;
        KeepDropsRollbackTarget => "keep_drops_rollback_target", Warning;
        LatestOnlyTag => "latest_only_tag", Warning;
        RegisterWithoutUpdate => "register_without_update", Warning;
        UpdateWithoutVerify => "update_without_verify", Warning;
        VerifyWithoutChecks => "verify_without_checks", Warning;
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            let parts: Vec<_> = text.split("::").collect();
            assert_eq!(parts.len(), 3, "{text}");
            assert_eq!(parts[0], "ferry");
            assert!(
                parts[2].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{text}"
            );
        }
    }
}
