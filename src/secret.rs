//! Secrets as a type whose `Debug` and `Display` never show them, and key-id masking
//! for verbose output (SPEC §6 "Secrets").
//!
//! Never formats a secret: exposing one takes an explicit `expose()` at the
//! place it is written (the credentials file, the child's environment, STS).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the few places that must use it (STS signing, the
    /// credentials file, the child's environment, `export`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// `AKIAIOSFODNN7EXAMPLE` → `AKIA************MPLE`.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted() {
        let s = Secret::new("wJalrXUtnFEMI");
        assert_eq!(format!("{s}"), "(redacted)");
        assert_eq!(format!("{s:?}"), "(redacted)");
        assert_eq!(s.expose(), "wJalrXUtnFEMI");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
        assert_eq!(mask_key_id("short"), "*****");
    }
}
