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
