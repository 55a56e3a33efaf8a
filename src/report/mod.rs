//! Reporters: the same diagnostics shown as a miette report, JSON or GitHub annotations.
