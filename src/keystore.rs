//! The OS keyring seam (SPEC §8.3): a small trait the rest of mfa-exec calls,
//! and the real store behind it, the `keyring` crate's 4.x stores: Secret
//! Service over D-Bus on Linux (zbus, pure Rust), the login Keychain on macOS.
//!
//! Entry: service `mfa-exec`, account the profile name, secret the JSON
//! `{"AccessKeyId": ..., "SecretAccessKey": ...}` (see [`crate::keys`]).
//!
//! Decisions:
//! - Nothing here runs until a caller asks: the store (and with it the D-Bus
//!   connection) is opened on the first call, so the cached path, `list` and
//!   `explain` never touch D-Bus or the Keychain.
//! - Every failure is a [`KeyringError`] whose kind says what to do: no
//!   Secret Service on the bus, locked and cannot be unlocked, access denied,
//!   anything else. A missing entry is `Ok(None)` from [`Keyring::get`], and
//!   the caller says what it expected.
//! - On Linux the item also carries the attribute `account = PROFILE` (the
//!   crate's own attributes are `service` and `username`), so
//!   `secret-tool lookup service mfa-exec account PROFILE` finds it, as the
//!   SPEC names the entry.
//!
//! Never used on the cached path, never logs a secret, never falls back to
//! a file when the keyring fails.

use crate::secret::Secret;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The keyring service name of every mfa-exec entry.
pub const SERVICE: &str = "mfa-exec";

/// What went wrong, as far as the user has something to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No keyring service to talk to (no D-Bus session, no Secret Service on it).
    Unavailable,
    /// The collection or keychain is locked and could not be unlocked.
    Locked,
    /// The keyring refused access.
    Denied,
    Other,
}

/// A keyring failure: the kind, and the backend's own words.
#[derive(Debug, Clone)]
pub struct KeyringError {
    pub kind: ErrorKind,
    pub detail: String,
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for KeyringError {}

impl KeyringError {
    /// True when the call got no answer in time: it may still complete
    /// later (the keyring thread cannot be stopped), so what the entry will
    /// hold is unknown.
    pub fn timed_out(&self) -> bool {
        self.detail.starts_with(NO_ANSWER)
    }
}

/// How the detail of a call without an answer starts ([`KeyringError::timed_out`]).
const NO_ANSWER: &str = "no answer ";

/// The calls mfa-exec makes on a keyring.
pub trait Keyring {
    /// The backend, for messages (`the Secret Service keyring`).
    fn backend(&self) -> &'static str;
    /// The secret of entry (mfa-exec, `account`); `None` when there is no entry.
    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError>;
    /// Creates or replaces the entry.
    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError>;
    /// Removes the entry; a missing entry is not an error.
    fn delete(&self, account: &str) -> Result<(), KeyringError>;
}

/// The backend's name on this platform.
#[cfg(target_os = "linux")]
pub const BACKEND: &str = "the Secret Service keyring";
#[cfg(target_os = "macos")]
pub const BACKEND: &str = "the macOS login Keychain";

/// How long one keyring call may take. A Secret Service that is
/// D-Bus-activated without a way to show its unlock prompt (an SSH session)
/// never answers; the user then gets an error instead of a hang.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`TIMEOUT`], or the test hook's shorter one (debug builds).
fn timeout() -> std::time::Duration {
    crate::testhook::keyring_timeout_ms()
        .map(std::time::Duration::from_millis)
        .unwrap_or(TIMEOUT)
}

type StoreCell = Arc<OnceLock<Result<Arc<keyring_core::CredentialStore>, KeyringError>>>;

/// The platform's keyring, opened on first use.
#[derive(Default)]
pub struct OsKeyring {
    store: StoreCell,
    /// The end of the run's budget and the budget (credential-process): a
    /// call waits at most until then, never the full [`TIMEOUT`] past it
    /// (issue 21 item 6).
    budget: Option<(std::time::Instant, std::time::Duration)>,
}

impl OsKeyring {
    pub fn new() -> OsKeyring {
        OsKeyring::default()
    }

    /// A keyring whose calls end by `deadline`, the end of a run's `budget`.
    pub fn within(
        deadline: Option<std::time::Instant>,
        budget: Option<std::time::Duration>,
    ) -> OsKeyring {
        OsKeyring {
            budget: deadline.zip(budget),
            ..OsKeyring::default()
        }
    }

    /// Runs `f` on entry (mfa-exec, `account`) in a thread, bounded by [`TIMEOUT`].
    fn with_entry<T: Send + 'static>(
        &self,
        account: &str,
        f: impl FnOnce(keyring_core::Entry) -> Result<T, KeyringError> + Send + 'static,
    ) -> Result<T, KeyringError> {
        let cell = self.store.clone();
        let account = account.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // A test stands in for a keyring that does not answer here.
            crate::testhook::pause("keyring-call");
            let r = match cell.get_or_init(open_store) {
                Ok(store) => keyring_core::Entry::new_in_store(store, SERVICE, &account)
                    .map_err(map_error)
                    .and_then(f),
                Err(e) => Err(e.clone()),
            };
            let _ = tx.send(r);
        });
        let limit = timeout();
        let (wait, within) = match self.budget {
            Some((end, budget)) => {
                let left = end.saturating_duration_since(std::time::Instant::now());
                if left < limit {
                    (left, Some(budget))
                } else {
                    (limit, None)
                }
            }
            None => (limit, None),
        };
        rx.recv_timeout(wait).unwrap_or_else(|_| {
            let when = match within {
                Some(b) => format!(
                    "before the end of the run's {} budget",
                    crate::duration::human(b.as_secs())
                ),
                None => format!("in {} s", limit.as_secs()),
            };
            Err(KeyringError {
                kind: ErrorKind::Locked,
                detail: format!(
                    "{NO_ANSWER}{when}; it may be waiting for an unlock prompt nobody can see"
                ),
            })
        })
    }
}

#[cfg(target_os = "linux")]
fn open_store() -> Result<Arc<keyring_core::CredentialStore>, KeyringError> {
    let s = zbus_secret_service_keyring_store::Store::new().map_err(|e| {
        let mut e = map_error(e);
        if e.kind == ErrorKind::Other {
            e.kind = ErrorKind::Unavailable;
        }
        e
    })?;
    Ok(s)
}

#[cfg(target_os = "macos")]
fn open_store() -> Result<Arc<keyring_core::CredentialStore>, KeyringError> {
    let s = apple_native_keyring_store::keychain::Store::new().map_err(map_error)?;
    Ok(s)
}

/// The last, most specific part of an error chain, on one line.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    let one = parts.last().cloned().unwrap_or_default();
    one.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A keyring-core error as a [`KeyringError`] of the right kind.
fn map_error(e: keyring_core::Error) -> KeyringError {
    use keyring_core::Error as E;
    let all = {
        let mut s = e.to_string();
        let mut cur = std::error::Error::source(&e);
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s.to_ascii_lowercase()
    };
    let detail = chain_text(&e);
    let unavailable = [
        "serviceunknown",
        "service unknown",
        "not provided by any .service",
        "namehasnoowner",
        "no such file or directory",
        "connection refused",
        "address",
        "dbus_session_bus_address",
        "could not connect",
    ]
    .iter()
    .any(|p| all.contains(p));
    let kind = match &e {
        E::NoStorageAccess(_) if all.contains("denied") => ErrorKind::Denied,
        E::NoStorageAccess(_) => ErrorKind::Locked,
        _ if all.contains("accessdenied") || all.contains("access denied") => ErrorKind::Denied,
        _ if all.contains("is locked") || all.contains("locked") => ErrorKind::Locked,
        _ if unavailable => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    };
    KeyringError { kind, detail }
}

/// A failure a test asks for at this keyring call (`testhook::io`).
fn injected(op: &str) -> Result<(), KeyringError> {
    crate::testhook::io(op).map_err(|e| KeyringError {
        kind: ErrorKind::Other,
        detail: format!("injected: {e}"),
    })
}

impl Keyring for OsKeyring {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        injected("keyring-get")?;
        let acct = account.to_string();
        self.with_entry(account, move |entry| match entry.get_secret() {
            Ok(bytes) => Ok(Some(Secret::new(String::from_utf8_lossy(&bytes)))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(keyring_core::Error::Ambiguous(items)) => Err(KeyringError {
                kind: ErrorKind::Other,
                detail: format!(
                    "{} entries match service {SERVICE}, account {acct}; remove all but one",
                    items.len()
                ),
            }),
            Err(e) => Err(map_error(e)),
        })
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        injected("keyring-set")?;
        crate::error::mark_changed();
        let secret = secret.clone();
        let acct = account.to_string();
        self.with_entry(account, move |entry| {
            // A test stands in for a keyring that answers a write late here.
            crate::testhook::pause("keyring-set-call");
            entry
                .set_secret(secret.expose().as_bytes())
                .map_err(map_error)?;
            // The secret is set, its attributes not yet (issue 21: a failure
            // here must not be taken for "nothing written").
            injected("keyring-attrs")?;
            if cfg!(target_os = "linux") {
                let attrs = std::collections::HashMap::from([("account", acct.as_str())]);
                entry.update_attributes(&attrs).map_err(map_error)?;
            }
            Ok(())
        })
    }

    fn delete(&self, account: &str) -> Result<(), KeyringError> {
        injected("keyring-delete")?;
        crate::error::mark_changed();
        self.with_entry(account, |entry| {
            // A test stands in for a keyring that answers a removal late here.
            crate::testhook::pause("keyring-delete-call");
            match entry.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(map_error(e)),
            }
        })
    }
}

/// An in-memory keyring for unit tests: entries, and a failure to return.
#[cfg(test)]
#[derive(Default)]
pub struct MemKeyring {
    pub entries: std::cell::RefCell<std::collections::BTreeMap<String, Secret>>,
    pub fail: std::cell::Cell<Option<ErrorKind>>,
}

#[cfg(test)]
impl MemKeyring {
    fn check(&self) -> Result<(), KeyringError> {
        match self.fail.get() {
            Some(kind) => Err(KeyringError {
                kind,
                detail: "injected".into(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
impl Keyring for MemKeyring {
    fn backend(&self) -> &'static str {
        "the test keyring"
    }

    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        self.check()?;
        Ok(self.entries.borrow().get(account).cloned())
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        self.check()?;
        self.entries
            .borrow_mut()
            .insert(account.to_string(), secret.clone());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), KeyringError> {
        self.check()?;
        self.entries.borrow_mut().remove(account);
        Ok(())
    }
}
