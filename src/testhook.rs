//! Fault-injection points for the reliability tests, compiled into debug builds
//! only: `MFA_EXEC_TEST_PAUSE=<point>:<millis>[,<point>:<millis>...]` sleeps at
//! the named points (so a test can kill a writer there). Before sleeping, the
//! hook says `mfa-exec: test-hook: pause at <point>` on stderr, so a test knows
//! the process has reached the point. Release builds contain an empty function.
//!
//! Points (all in `store.rs`, on the write path, in order): `after-lock` (write
//! lock held, nothing created yet), `after-temp-create` (empty temp file
//! exists), `mid-write` (half of the new content written to the temp file),
//! `before-fsync` (all written, not yet synced), `before-rename` (synced; the
//! target is re-checked right after this point), `after-recheck` (re-checked,
//! not yet renamed: the window a lock-less editor can still lose an edit in),
//! `after-rename` (renamed, the directory not yet synced). The two-file commit
//! of `configure` (`store::modify_both`) also has `between-renames` (the first
//! file replaced, the second not yet).
//!
//! `<point>:panic` makes the `keys` steps panic there ([`panics`]).
//! `<point>:fail` in the same variable makes [`fails`] true at that point: the
//! caller then fails as if the step had failed (`keys move` uses it to test
//! its roll-back). Points of `keys move` (`cmd/keys.rs`): `keys-stored` (the
//! destination written and read back), `keys-config` (`mfa_exec_keys` set or
//! removed), `keys-removed` (taken out of the origin). Points of `keys rotate`:
//! `rotate-created` (new key created in IAM, not yet stored), `rotate-stored`
//! (stored where the old key was), `rotate-verified` (STS accepted it; the old
//! key not yet deleted). `keyring-call` (`keystore.rs`, inside every keyring
//! call's thread) stands in for a keyring that does not answer;
//! `keyring-set-call` and `keyring-delete-call` (the same thread, just before
//! the write or removal is made) for one that answers a write late, so that
//! it lands after mfa-exec gave up waiting (with
//! `MFA_EXEC_TEST_KEYRING_TIMEOUT_MS`).
//!
//! `MFA_EXEC_TEST_FAULT=<op>#<n>[,<op>#<n>...]` makes the `n`-th call (from 1)
//! of [`io`] for `op` in this process fail with EIO, after saying
//! `mfa-exec: test-hook: fail <op>#<n>` on stderr (so a sweep knows the fault
//! was reached, and stops when it is not). The item `trace` makes every call
//! that does not fail say `mfa-exec: test-hook: op <op>#<n>` (so a sweep of
//! double faults knows which calls come after the first fault). Ops: `read` (every read of an AWS
//! file, `store::load_file` and the reads of the write path), `create` (the
//! temp file), `write`, `fsync`, `rename` (the write path, `store/atomic.rs`),
//! `keyring-get`, `keyring-set`, `keyring-delete` (`keystore.rs`, before the
//! call is made), `keyring-attrs` (the secret set, its attributes not yet).
//!
//! Never compiled into a release build; never changes behaviour when no
//! `MFA_EXEC_TEST_*` variable is set.

/// Sleeps at `point` when the test variable names it (debug builds only).
#[cfg(debug_assertions)]
pub fn pause(point: &str) {
    if let Some(spec) = crate::env::test_hook() {
        for item in spec.split(',') {
            if let Some((p, ms)) = item.split_once(':') {
                if p == point {
                    if let Ok(ms) = ms.parse::<u64>() {
                        use std::io::Write;
                        let mut err = std::io::stderr().lock();
                        let _ = writeln!(err, "mfa-exec: test-hook: pause at {point}");
                        let _ = err.flush();
                        drop(err);
                        std::thread::sleep(std::time::Duration::from_millis(ms));
                    }
                }
            }
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn pause(_point: &str) {}

/// True when the test variable says `<point>:fail` (debug builds only).
#[cfg(debug_assertions)]
pub fn fails(point: &str) -> bool {
    crate::env::test_hook().is_some_and(|spec| {
        spec.split(',')
            .any(|item| item.split_once(':') == Some((point, "fail")))
    })
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn fails(_point: &str) -> bool {
    false
}

/// True when the test variable says `<point>:panic` (debug builds only): the
/// `keys` steps then panic, to test what the panic hook says.
#[cfg(debug_assertions)]
pub fn panics(point: &str) -> bool {
    crate::env::test_hook().is_some_and(|spec| {
        spec.split(',')
            .any(|item| item.split_once(':') == Some((point, "panic")))
    })
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn panics(_point: &str) -> bool {
    false
}

/// `MFA_EXEC_TEST_CLOCK_OFFSET_MS=<millis>` (may be negative) shifts the clock
/// the one-code guard reads (`used_codes::now_ms`), so a test can put a
/// 30-second step boundary a moment away. Debug builds only; 0 otherwise.
#[cfg(debug_assertions)]
pub fn clock_offset_ms() -> i64 {
    std::env::var("MFA_EXEC_TEST_CLOCK_OFFSET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn clock_offset_ms() -> i64 {
    0
}

/// `MFA_EXEC_TEST_BUDGET_MS=<millis>` replaces credential-process's 55 s
/// budget, so a test can show the bound without waiting a minute. Debug builds
/// only; `None` otherwise.
#[cfg(debug_assertions)]
pub fn budget_ms() -> Option<u64> {
    std::env::var("MFA_EXEC_TEST_BUDGET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn budget_ms() -> Option<u64> {
    None
}

/// `MFA_EXEC_TEST_KEYRING_TIMEOUT_MS=<millis>` replaces the 30 s a keyring
/// call may take (`keystore::TIMEOUT`), so a test of a late answer is short.
/// Debug builds only; `None` otherwise.
#[cfg(debug_assertions)]
pub fn keyring_timeout_ms() -> Option<u64> {
    std::env::var("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn keyring_timeout_ms() -> Option<u64> {
    None
}

/// `MFA_EXEC_TEST_RENEW_RETRY_MS=<millis>` replaces the 30 s retry and the 2 s
/// poll of `--server`'s renewal (`serve::renew`), so a test sees a retry
/// without waiting. Debug builds only; `None` otherwise.
#[cfg(debug_assertions)]
pub fn renew_retry_ms() -> Option<u64> {
    std::env::var("MFA_EXEC_TEST_RENEW_RETRY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// Fails the `n`-th call for `op` when `MFA_EXEC_TEST_FAULT` says `<op>#<n>`
/// (debug builds only): the error to return instead of doing the operation.
#[cfg(debug_assertions)]
pub fn io(op: &str) -> std::io::Result<()> {
    use std::sync::Mutex;
    static COUNTS: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());
    let Ok(spec) = std::env::var("MFA_EXEC_TEST_FAULT") else {
        return Ok(());
    };
    let n = {
        let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        match counts.iter_mut().find(|(o, _)| o == op) {
            Some((_, c)) => {
                *c += 1;
                *c
            }
            None => {
                counts.push((op.to_string(), 1));
                1
            }
        }
    };
    let hit = spec.split(',').any(|item| {
        item.split_once('#')
            .is_some_and(|(o, k)| o == op && k.parse::<u32>() == Ok(n))
    });
    if !hit && spec.split(',').any(|item| item == "trace") {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "mfa-exec: test-hook: op {op}#{n}");
        let _ = err.flush();
    }
    if hit {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "mfa-exec: test-hook: fail {op}#{n}");
        let _ = err.flush();
        return Err(std::io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(())
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn renew_retry_ms() -> Option<u64> {
    None
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn io(_op: &str) -> std::io::Result<()> {
    Ok(())
}
