//! Sensitive values (docs/cli.md, "Sensitive values"): what `env(…)` reads, what
//! `sensitive(…)` marks, and the values of names that look secret are printed as
//! `(sensitive)` by every front end unless `--show-values` asks. A `Mask` holds the values
//! and replaces them wherever they occur — inside a longer string too (`"Bearer ${…}"`), in
//! text and in JSON alike. Pure: `eval::sensitive_values` and `ChangeSet::sensitive_values`
//! say what is sensitive; the front ends and the runner's events apply it.

/// What a masked value is printed as.
pub const MASKED: &str = "(sensitive)";

/// Values shorter than this are not masked: they are not secrets, and `"1"` or `"on"`
/// masked everywhere would garble every line.
pub const MIN_MASKED_CHARS: usize = 4;

/// Whether a name (an environment variable, a map key, a field) looks secret: it ends in
/// `_TOKEN`, `_PASSWORD`, `_SECRET` or `_KEY`, or is `TOKEN`, `PASSWORD` or `SECRET`, in
/// any case (`-` counts as `_`).
#[must_use]
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase().replace('-', "_");
    ["TOKEN", "PASSWORD", "SECRET"].contains(&name.as_str())
        || ["_TOKEN", "_PASSWORD", "_SECRET", "_KEY"].iter().any(|end| name.ends_with(end))
}

/// The values to print as `(sensitive)`; none with `--show-values`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mask {
    /// Longest first, so a value inside another is not masked first.
    values: Vec<String>,
}

impl Mask {
    /// Masks nothing (`--show-values`).
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut mask = Self::none();
        mask.extend(values);
        mask
    }

    /// Adds values (those too short to mask are left out).
    pub fn extend(&mut self, values: impl IntoIterator<Item = String>) {
        self.values.extend(values.into_iter().filter(|v| v.chars().count() >= MIN_MASKED_CHARS));
        self.values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.values.dedup();
    }

    /// The values, longest first.
    #[must_use]
    pub fn values(&self) -> &[String] {
        &self.values
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether `text` holds a masked value.
    #[must_use]
    pub fn touches(&self, text: &str) -> bool {
        self.values.iter().any(|value| text.contains(value.as_str()))
    }

    /// `text` with every masked value in it replaced by `(sensitive)`.
    #[must_use]
    pub fn text(&self, text: &str) -> String {
        if !self.touches(text) {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while !rest.is_empty() {
            // What is masked already stays as it is: masking twice is masking once.
            if let Some(after) = rest.strip_prefix(MASKED) {
                out.push_str(MASKED);
                rest = after;
                continue;
            }
            for value in &self.values {
                if let Some(after) = rest.strip_prefix(value.as_str()) {
                    out.push_str(MASKED);
                    rest = after;
                    continue 'scan;
                }
            }
            let next = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
        out
    }

    /// Every string of `value` masked (member names are names, not values: they stay).
    pub fn json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(text) if self.touches(text) => *text = self.text(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.json(item)),
            serde_json::Value::Object(members) => {
                members.values_mut().for_each(|item| self.json(item));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret() {
        for name in
            ["API_TOKEN", "db_password", "Client-Secret", "AWS_SECRET_ACCESS_KEY", "TOKEN", "key_"]
        {
            assert_eq!(looks_secret(name), name != "key_", "{name}");
        }
        for name in ["KEYBOARD", "TOKENS", "MONKEY", "PASSWORD_HINT_URL", "KEY", "PORT"] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn values_are_masked_wherever_they_occur() {
        let mask = Mask::new(["hunter22".to_owned(), "hunter2".to_owned(), "on".to_owned()]);
        assert_eq!(
            mask.text("Bearer hunter22; again hunter2, on"),
            "Bearer (sensitive); again (sensitive), on"
        );
        // Masking twice is masking once, even for a value inside the placeholder.
        let mask = Mask::new(["sens".to_owned(), "itive".to_owned()]);
        assert_eq!(mask.text("sensitive"), "(sensitive)(sensitive)");
        assert_eq!(mask.text(&mask.text("sensitive")), "(sensitive)(sensitive)");
        // Text without a value is untouched; multi-byte text is kept whole.
        let mask = Mask::new(["ключ-123".to_owned()]);
        assert_eq!(mask.text("é ключ-123 ü"), "é (sensitive) ü");
        assert_eq!(Mask::none().text("anything"), "anything");
    }

    #[test]
    fn json_strings_are_masked_at_every_depth() {
        let mask = Mask::new(["s3cr3t-value".to_owned()]);
        let mut value = serde_json::json!({
            "a": "x s3cr3t-value y",
            "list": ["s3cr3t-value", 3, {"b": "s3cr3t-value"}],
        });
        mask.json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "a": "x (sensitive) y",
                "list": ["(sensitive)", 3, {"b": "(sensitive)"}],
            })
        );
    }
}
