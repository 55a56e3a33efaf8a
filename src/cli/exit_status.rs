//! The exit codes ferry promises (docs/cli.md).

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, or nothing to do.
    Success,
    /// 1: `fmt --check` found a file that is not formatted.
    NotFormatted,
    /// 2: invalid input (Deployfile, arguments); nothing was changed.
    InvalidInput,
    /// A run's verdict other than success: 1 rolled back, 3 not verified, 130 interrupted.
    Verdict(u8),
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::NotFormatted => 1,
            ExitStatus::InvalidInput => 2,
            ExitStatus::Verdict(code) => code,
        })
    }
}
