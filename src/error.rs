//! Errors that decide an exit code or carry a hint (SPEC §7).
//!
//! Everything else is an `anyhow::Error` with context naming the file, profile or
//! key at fault; it exits 125. `main.rs` prints the chain once with `{:#}`.
//!
//! Never prints: `main.rs` prints an error once, with its hint, and exits with
//! its code.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once this run may have changed something outside itself: a file
/// replaced, a keyring entry set or removed, an IAM key created or deleted.
/// The panic hook says "nothing was written" only while it is unset (issue 21).
static CHANGED: AtomicBool = AtomicBool::new(false);

/// Records that this run is about to change (or has changed) something.
pub fn mark_changed() {
    CHANGED.store(true, Ordering::SeqCst);
}

/// True once [`mark_changed`] was called in this run.
pub fn changed() -> bool {
    CHANGED.load(Ordering::SeqCst)
}

/// Exit codes, like `env` and `timeout`.
pub mod exit {
    /// Any failure of mfa-exec itself, usage errors included.
    pub const FAILURE: i32 = 125;
    /// The command was found but could not be run.
    pub const CANNOT_RUN: i32 = 126;
    /// The command was not found.
    pub const NOT_FOUND: i32 = 127;
    /// Ctrl-C at the prompt.
    pub const INTERRUPTED: i32 = 130;
}

/// The one error type that carries more than a message: an optional `hint:`
/// line and the exit code. Resolution errors (`profile`), STS errors (`sts`)
/// and every refusal of a subcommand are this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub message: String,
    pub hint: Option<String>,
    pub code: i32,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

impl Fail {
    pub fn new(message: impl Into<String>) -> Fail {
        Fail {
            message: message.into(),
            hint: None,
            code: exit::FAILURE,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Fail {
        self.hint = Some(hint.into());
        self
    }

    pub fn code(mut self, code: i32) -> Fail {
        self.code = code;
        self
    }
}

/// Shorthand: `bail!(fail("..."))`.
pub fn fail(message: impl Into<String>) -> Fail {
    Fail::new(message)
}

/// The exit code and hint of an error chain.
pub fn exit_status(err: &anyhow::Error) -> (i32, Option<String>) {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Fail>() {
            return (f.code, f.hint.clone());
        }
    }
    (exit::FAILURE, None)
}

/// `hint` without the clause that names `command` (issue 25 item 3: a hint
/// never repeats the command that just failed). Clauses are what `, or `,
/// `; ` and `, ` separate; `None` when nothing is left.
pub fn hint_without(hint: &str, command: &str) -> Option<String> {
    const SEPS: [&str; 3] = [", or ", "; ", ", "];
    // `mfa-exec explain test` names neither `test2` nor `test-mfa`.
    let name_char = |c: char| c.is_alphanumeric() || "-_.@+=,/:".contains(c);
    let found = hint.match_indices(command).map(|(i, _)| i).find(|&i| {
        !hint[i + command.len()..]
            .chars()
            .next()
            .is_some_and(name_char)
    });
    let Some(at) = found else {
        return Some(hint.to_string());
    };
    let start = SEPS.iter().filter_map(|s| hint[..at].rfind(s)).max();
    let after = at + command.len();
    let end = SEPS
        .iter()
        .filter_map(|s| hint[after..].find(s).map(|i| (after + i, s.len())))
        .min_by_key(|&(i, _)| i);
    let kept = match (start, end) {
        (Some(s), Some((e, _))) => format!("{}{}", &hint[..s], &hint[e..]),
        (Some(s), None) => hint[..s].to_string(),
        (None, Some((e, len))) => hint[e + len..].to_string(),
        (None, None) => String::new(),
    };
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_string())
}

/// `err` with [`hint_without`] applied to its hint.
pub fn without_hint_naming(mut err: anyhow::Error, command: &str) -> anyhow::Error {
    if let Some(f) = err.downcast_mut::<Fail>() {
        f.hint = f.hint.as_deref().and_then(|h| hint_without(h, command));
    }
    err
}

#[cfg(test)]
mod tests {
    use super::hint_without;

    #[test]
    fn hints_drop_the_failing_command() {
        let c = "mfa-exec explain sso-dev";
        assert_eq!(
            hint_without(
                "run 'mfa-exec configure sso-dev', or 'mfa-exec explain sso-dev'",
                c
            )
            .as_deref(),
            Some("run 'mfa-exec configure sso-dev'")
        );
        assert_eq!(hint_without("run 'mfa-exec explain sso-dev'", c), None);
        assert_eq!(
            hint_without("or pass --mfa-serial; run 'mfa-exec explain sso-dev'", c).as_deref(),
            Some("or pass --mfa-serial")
        );
        assert_eq!(
            hint_without("check DBUS_SESSION_BUS_ADDRESS, or keep the keys in the file: mfa-exec keys move t --to file", "mfa-exec keys move t --to file").as_deref(),
            Some("check DBUS_SESSION_BUS_ADDRESS")
        );
        assert_eq!(
            hint_without("see 'mfa-exec list'", c).as_deref(),
            Some("see 'mfa-exec list'")
        );
        let other = "run 'mfa-exec explain sso-dev2'";
        assert_eq!(hint_without(other, c).as_deref(), Some(other));
    }
}
