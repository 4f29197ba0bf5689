//! One code, used once (SPEC §8.5): the codes mfa-exec sent, per device, so a
//! code AWS already took is never sent again.
//!
//! AWS accepts each one-time code once. Two sessions that each need a code
//! within one 30-second step (two roles over one hour, `--force` twice) would
//! otherwise send the same code twice and have the second refused. Before a code
//! is sent it is *claimed* here: if that device's code was sent in the last two
//! minutes the claim says when (and when the next code appears), else it is
//! recorded and may be sent. A code counts as used once sent, whatever the
//! answer.
//!
//! Format decisions:
//! - One small JSON file beside the lock files (`.<credentials>.mfa-exec.codes`,
//!   mode 0600), holding a random per-file salt and, per code sent, its time and
//!   `SHA-256(salt, serial, code)`: never the code itself, and nothing that links
//!   an entry to a device without the salt.
//! - Entries older than two minutes are pruned on every write, and at most
//!   [`MAX_ENTRIES`] are kept; a file larger than [`MAX_BYTES`] is not read.
//! - Written as the credentials file is, under the same short write lock
//!   (`.<credentials>.mfa-exec.lock`: 0600, `O_NOFOLLOW`, never deleted): a
//!   temp file created `O_EXCL` 0600, fsync, rename.
//! - Harmless when missing (created), corrupt (replaced) or unwritable: the
//!   guard is then off for the run, `--verbose` says so, and codes are sent as
//!   before.
//!
//! Never stores a code in the clear and never blocks a run for long: the
//! record's lock is waited for with a deadline.

use crate::error::fail;
use crate::store::{self, io_reason, Store};
use crate::ui::Ui;
use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The TOTP step (RFC 6238 default, and what AWS's virtual devices use).
pub const STEP_MS: i64 = 30_000;
/// How long a sent code is remembered (AWS accepts a code a step either side).
pub const KEEP_MS: i64 = 120_000;
/// At most this many entries are kept (newest first).
pub const MAX_ENTRIES: usize = 64;
/// A larger file is not ours (or not sane): it is replaced.
pub const MAX_BYTES: u64 = 16 * 1024;
/// The file lock covers one read-modify-write.
const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// The wall clock in milliseconds since the epoch, shifted in debug builds by
/// the test hook (`testhook::clock_offset_ms`).
pub fn now_ms() -> i64 {
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    real + crate::testhook::clock_offset_ms()
}

/// Milliseconds from `now_ms` until the next step begins (1..=STEP_MS).
pub fn until_next_step(now_ms: i64) -> i64 {
    STEP_MS - now_ms.rem_euclid(STEP_MS)
}

/// A code already sent: how long ago, and when the next code appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    pub ago_ms: i64,
    pub next_ms: i64,
}

impl Reuse {
    /// `12 s ago`
    pub fn ago(&self) -> String {
        format!("{} s ago", self.ago_ms.max(0) / 1000)
    }

    /// `18 s` (rounded up: the code has not changed before then).
    pub fn next(&self) -> String {
        format!("{} s", (self.next_ms.max(0) + 999) / 1000)
    }

    /// `used 12 s ago; the next code appears in 18 s`
    pub fn describe(&self) -> String {
        format!(
            "used {}; the next code appears in {}",
            self.ago(),
            self.next()
        )
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not sent before (or the guard is off): recorded, send it.
    Send,
    /// Sent for this device within the last two minutes: do not send it.
    Used(Reuse),
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    /// 32 hex digits, random per file.
    salt: String,
    used: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Milliseconds since the epoch.
    at: i64,
    /// `SHA-256(salt, serial, 0, code)`, hex.
    hash: String,
}

impl State {
    fn new() -> Result<State> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| anyhow!("no random salt: {e}"))?;
        Ok(State {
            version: 1,
            salt: hex(&salt),
            used: Vec::new(),
        })
    }

    fn hash(&self, serial: &str, code: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update(serial.as_bytes());
        h.update([0u8]);
        h.update(code.as_bytes());
        hex(&h.finalize())
    }

    fn prune(&mut self, now: i64) {
        self.used
            .retain(|e| e.at > now - KEEP_MS && e.at <= now + KEEP_MS);
        self.used.sort_by_key(|e| std::cmp::Reverse(e.at));
        self.used.truncate(MAX_ENTRIES);
    }

    fn valid(&self) -> bool {
        self.version == 1
            && self.salt.len() == 32
            && self.salt.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The guard of one run.
pub struct UsedCodes {
    path: PathBuf,
    lock: PathBuf,
    dir: PathBuf,
    temp_prefix: String,
    /// The path for messages (`~/.aws/.credentials.mfa-exec.codes`).
    pub shown: String,
    off: Cell<bool>,
    ui: Ui,
    /// The end of the run's budget (credential-process): the lock is not
    /// waited for past it.
    deadline: Option<std::time::Instant>,
}

impl UsedCodes {
    /// The guard for the store's directory (nothing is read yet). When even the
    /// path cannot be worked out, the guard is off.
    pub fn open(store: &Store, ui: Ui) -> UsedCodes {
        let canon = store::canonical_target(&store.path).unwrap_or_else(|_| store.path.clone());
        let dir = canon
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = canon
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "credentials".into());
        let path = dir.join(format!(".{name}.mfa-exec.codes"));
        UsedCodes {
            // The credentials file's own write lock: one short lock for
            // every read-modify-write of mfa-exec's files.
            lock: dir.join(format!(".{name}.mfa-exec.lock")),
            // Covered by the store's leftover clean-up too.
            temp_prefix: format!(".{name}.mfa-exec-codes-"),
            shown: shown(&path),
            path,
            dir,
            off: Cell::new(false),
            ui,
            deadline: None,
        }
    }

    /// Bounds every wait for the lock by the run's budget, if it has one.
    pub fn until(mut self, deadline: Option<std::time::Instant>) -> UsedCodes {
        self.deadline = deadline;
        self
    }

    /// Claims `code` for the device `serial` at the current time.
    pub fn claim(&self, serial: &str, code: &str) -> Claim {
        self.claim_at(serial, code, now_ms())
    }

    /// Claims `code` for `serial` at `now` (ms): [`Claim::Used`] when it was
    /// sent in the last two minutes, else recorded. Any failure turns the guard
    /// off for the rest of the run (said with `--verbose`) and answers `Send`.
    pub fn claim_at(&self, serial: &str, code: &str, now: i64) -> Claim {
        if self.off.get() {
            return Claim::Send;
        }
        match self.try_claim(serial, code, now) {
            Ok(c) => c,
            Err(e) => {
                self.off.set(true);
                self.ui
                    .info(&format!("the one-code guard is off for this run: {e:#}"));
                Claim::Send
            }
        }
    }

    /// The credentials file's write lock, held for one read-modify-write.
    fn lock(&self) -> Result<store::Lock> {
        let name = store::LockName {
            shown: store::tilde(&self.lock),
            hint: "another program kept the credentials file locked for writing; try again",
        };
        let (lock, _) = store::lock(
            &self.lock,
            &name,
            &format!("pid {} (writing)", std::process::id()),
            match self.deadline {
                Some(d) => LOCK_TIMEOUT.min(d.saturating_duration_since(std::time::Instant::now())),
                None => LOCK_TIMEOUT,
            },
            |_| {},
        )?;
        Ok(lock)
    }

    /// Forgets `code` for `serial`: the request carrying it never reached STS
    /// (a refused connection, an unreachable proxy, a failed TLS handshake), so
    /// AWS has not seen it and the same code may be sent again. Best effort:
    /// on any failure the code just stays recorded.
    pub fn release(&self, serial: &str, code: &str) {
        if self.off.get() {
            return;
        }
        let _ = self.try_release(serial, code);
    }

    fn try_release(&self, serial: &str, code: &str) -> Result<()> {
        let _lock = self.lock()?;
        if let Some(mut state) = self.read()? {
            let hash = state.hash(serial, code);
            let before = state.used.len();
            state.used.retain(|e| e.hash != hash);
            if state.used.len() != before {
                self.write(&state)?;
            }
        }
        Ok(())
    }

    fn try_claim(&self, serial: &str, code: &str, now: i64) -> Result<Claim> {
        let _lock = self
            .lock()
            .map_err(|e| anyhow!("cannot lock {}: {e:#}", self.shown))?;
        self.remove_leftovers();
        let (mut state, problem) = match self.read() {
            Ok(Some(s)) => (s, None),
            Ok(None) => (State::new()?, None),
            Err(e) => (State::new()?, Some(e)),
        };
        state.prune(now);
        let hash = state.hash(serial, code);
        if problem.is_none() {
            if let Some(e) = state.used.iter().find(|e| e.hash == hash) {
                return Ok(Claim::Used(Reuse {
                    ago_ms: now - e.at,
                    next_ms: until_next_step(now),
                }));
            }
        }
        state.used.push(Entry { at: now, hash });
        state.prune(now);
        let written = self.write(&state);
        // A corrupt file is replaced, but nothing was known this run.
        if let Some(e) = problem {
            return Err(e);
        }
        written?;
        Ok(Claim::Send)
    }

    /// The state, `None` when there is no file yet.
    fn read(&self) -> Result<Option<State>> {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => bail!("cannot read {}: {}", self.shown, io_reason(&e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| anyhow!("cannot read {}: {}", self.shown, io_reason(&e)))?;
        if !meta.is_file() || meta.len() > MAX_BYTES {
            bail!("{} is not a used-codes file", self.shown);
        }
        let mut text = String::new();
        file.take(MAX_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| anyhow!("cannot read {}: {}", self.shown, io_reason(&e)))?;
        match serde_json::from_str::<State>(&text) {
            Ok(s) if s.valid() => Ok(Some(s)),
            _ => Err(fail(format!("{} is not a used-codes file", self.shown)).into()),
        }
    }

    fn write(&self, state: &State) -> Result<()> {
        let text = serde_json::to_string(state)?;
        let cannot = |e: &std::io::Error| anyhow!("cannot write {}: {}", self.shown, io_reason(e));
        let mut tmp = tempfile::Builder::new()
            .prefix(&self.temp_prefix)
            .suffix(".tmp")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(&self.dir)
            .map_err(|e| cannot(&e))?;
        tmp.write_all(text.as_bytes()).map_err(|e| cannot(&e))?;
        tmp.as_file().sync_all().map_err(|e| cannot(&e))?;
        tmp.persist(&self.path).map_err(|e| cannot(&e.error))?;
        Ok(())
    }

    /// Temp files a killed mfa-exec left (only the lock holder makes them).
    fn remove_leftovers(&self) {
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let n = e.file_name();
                let n = n.to_string_lossy();
                if n.starts_with(&self.temp_prefix) && n.ends_with(".tmp") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}

/// A path for messages: under the home directory as `~/...`.
fn shown(p: &Path) -> String {
    if let Some(home) = dirs::home_dir() {
        if let Ok(rest) = p.strip_prefix(&home) {
            return format!("~/{}", rest.display());
        }
    }
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "arn:aws:iam::123456789012:mfa/test";
    const T0: i64 = 1_800_000_010_000; // 10 s into a step

    fn open_in(dir: &Path) -> UsedCodes {
        let store = Store::new(dir.join("credentials"), "credentials".into());
        UsedCodes::open(&store, Ui::new(0, true))
    }

    fn guard() -> (tempfile::TempDir, UsedCodes) {
        let dir = tempfile::tempdir().unwrap();
        let g = open_in(dir.path());
        (dir, g)
    }

    #[test]
    fn a_code_is_sent_once_per_device_for_two_minutes() {
        let (_dir, g) = guard();
        assert_eq!(g.claim_at(SERIAL, "123456", T0), Claim::Send);
        assert_eq!(
            g.claim_at(SERIAL, "123456", T0 + 12_000),
            Claim::Used(Reuse {
                ago_ms: 12_000,
                next_ms: 8_000
            })
        );
        // Another code, another device: fine.
        assert_eq!(g.claim_at(SERIAL, "654321", T0 + 12_000), Claim::Send);
        assert_eq!(
            g.claim_at("arn:aws:iam::123456789012:mfa/other", "123456", T0),
            Claim::Send
        );
        // Two minutes later it is forgotten.
        assert_eq!(g.claim_at(SERIAL, "123456", T0 + KEEP_MS), Claim::Send);
        assert!(!g.off.get());
    }

    #[test]
    fn the_file_holds_no_code_is_private_and_stays_small() {
        let (_dir, g) = guard();
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            let code = format!("{:06}", 100_000 + i);
            assert_eq!(g.claim_at(SERIAL, &code, T0 + i), Claim::Send);
        }
        let text = fs::read_to_string(&g.path).unwrap();
        assert!(
            !text.contains("100000") && !text.contains("100073"),
            "{text}"
        );
        assert!(!text.contains("mfa/test"));
        let state: State = serde_json::from_str(&text).unwrap();
        assert_eq!(state.used.len(), MAX_ENTRIES);
        assert!(text.len() < MAX_BYTES as usize);
        let mode = fs::metadata(&g.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::metadata(&g.lock).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // The newest are kept.
        assert!(matches!(
            g.claim_at(SERIAL, "100073", T0 + 100),
            Claim::Used(_)
        ));
    }

    #[test]
    fn salt_differs_per_file() {
        let (_d1, a) = guard();
        let (_d2, b) = guard();
        a.claim_at(SERIAL, "123456", T0);
        b.claim_at(SERIAL, "123456", T0);
        let ha: State = serde_json::from_str(&fs::read_to_string(&a.path).unwrap()).unwrap();
        let hb: State = serde_json::from_str(&fs::read_to_string(&b.path).unwrap()).unwrap();
        assert_ne!(ha.salt, hb.salt);
        assert_ne!(ha.used[0].hash, hb.used[0].hash);
    }

    #[test]
    fn corrupt_file_turns_the_guard_off_for_the_run_and_is_replaced() {
        let (_dir, g) = guard();
        fs::write(&g.path, "not json").unwrap();
        assert_eq!(g.claim_at(SERIAL, "123456", T0), Claim::Send);
        assert!(g.off.get());
        // Off for the run: even a repeat is let through.
        assert_eq!(g.claim_at(SERIAL, "123456", T0 + 1), Claim::Send);
        // The next run has a working file again.
        let g2 = open_in(_dir.path());
        assert!(matches!(
            g2.claim_at(SERIAL, "123456", T0 + 2),
            Claim::Used(_)
        ));
    }

    #[test]
    fn unwritable_turns_the_guard_off() {
        let (_dir, g) = guard();
        fs::create_dir(&g.lock).unwrap();
        assert_eq!(g.claim_at(SERIAL, "123456", T0), Claim::Send);
        assert!(g.off.get());
        assert!(!g.path.exists());
    }

    #[test]
    fn reuse_text() {
        let r = Reuse {
            ago_ms: 12_400,
            next_ms: 17_100,
        };
        assert_eq!(r.describe(), "used 12 s ago; the next code appears in 18 s");
        assert_eq!(until_next_step(T0), 20_000);
        assert_eq!(until_next_step(T0 + 20_000), STEP_MS);
    }
}
