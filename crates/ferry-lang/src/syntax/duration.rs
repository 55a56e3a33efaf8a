//! Durations as written in a Deployfile and in ferry's other files: one or more
//! number-unit pairs, `90s`, `1h30m`, `500ms`; units `ms`, `s`, `m`, `h`, `d`.

/// Why a text is not a duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// Not number-unit pairs.
    Malformed,
    /// More milliseconds than 64 bits hold.
    Overflow,
}

/// The duration in whole milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let mut total: u64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(DurationError::Malformed);
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(DurationError::Malformed);
        }
        let amount: u64 = rest[..digits].parse().map_err(|_| DurationError::Overflow)?;
        rest = &rest[digits..];
        let (unit_ms, unit_len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next() {
                Some('s') => (1_000, 1),
                Some('m') => (60_000, 1),
                Some('h') => (3_600_000, 1),
                Some('d') => (86_400_000, 1),
                _ => return Err(DurationError::Malformed),
            }
        };
        rest = &rest[unit_len..];
        total = amount
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or(DurationError::Overflow)?;
    }
    Ok(total)
}

/// A duration in milliseconds as the language writes it: `90000` → `1m30s`.
#[must_use]
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut rest = ms;
    let mut text = String::new();
    for (unit, size) in
        [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)]
    {
        if rest >= size {
            text.push_str(&(rest / size).to_string());
            text.push_str(unit);
            rest %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, expected) in [
            ("90s", Ok(90_000)),
            ("1h30m", Ok(5_400_000)),
            ("500ms", Ok(500)),
            ("2d", Ok(172_800_000)),
            ("1m1s1ms", Ok(61_001)),
            ("", Err(DurationError::Malformed)),
            ("10", Err(DurationError::Malformed)),
            ("s", Err(DurationError::Malformed)),
            ("10x", Err(DurationError::Malformed)),
            ("99999999999999999999s", Err(DurationError::Overflow)),
            ("9999999999999999d", Err(DurationError::Overflow)),
        ] {
            assert_eq!(parse_duration(text), expected, "{text}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for ms in [0, 500, 1_000, 90_000, 5_400_000, 172_800_000, 61_001] {
            assert_eq!(parse_duration(&format_duration(ms)).unwrap_or(0), ms, "{ms}");
        }
        assert_eq!(format_duration(90_000), "1m30s");
    }
}
