//! Lock files beside the canonical credentials file (SPEC §6): the write lock
//! and one lock per (source profile, MFA device) session.
//!
//! Locks are files opened 0600 with `O_NOFOLLOW`, never deleted; an advisory
//! `flock` (std `File::lock`) is released when the file is closed, so a killed
//! process never wedges the next run. After taking a lock, the holder writes
//! `pid profile` into it, which a waiter shows. When root runs mfa-exec in
//! another user's directory, a new lock file is given to the directory's owner.
//!
//! Owns taking, waiting for and naming locks; never reads or writes the AWS
//! files themselves.

use super::io_reason;
use anyhow::{anyhow, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A held lock; released when dropped (the file is closed, never deleted).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Who holds a lock, as written into it by the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder(pub String);

pub(super) fn open_lock(path: &Path, shown: &str) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                anyhow!("lock file {shown} is a symlink; refusing to follow it")
            } else {
                anyhow!("cannot open lock file {shown}: {}", io_reason(&e))
            }
        })?;
    give_to_dir_owner(&file, path);
    Ok(file)
}

/// Root running with a user's HOME (`sudo -E`) must not leave lock files the
/// user cannot open: a lock file root owns in a directory someone else owns is
/// given to that owner. Best effort.
fn give_to_dir_owner(file: &File, path: &Path) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let (Ok(meta), Some(Ok(dir))) = (file.metadata(), path.parent().map(fs::metadata)) else {
        return;
    };
    if meta.uid() == 0 && dir.uid() != 0 {
        // SAFETY: a descriptor we own; errors are ignored (best effort).
        unsafe {
            libc::fchown(file.as_raw_fd(), dir.uid(), dir.gid());
        }
    }
}

/// What a wait for a lock turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    No,
    Yes,
}

/// What a lock is for, in messages: its path as shown (`~/...`) and the hint
/// given when waiting for it times out.
pub struct LockName<'a> {
    pub shown: String,
    pub hint: &'a str,
}

/// Takes an exclusive lock on `path`, polling until `timeout`; after a second of
/// waiting `on_wait` is called once with the holder's note.
pub fn lock(
    path: &Path,
    name: &LockName,
    note: &str,
    timeout: Duration,
    mut on_wait: impl FnMut(Option<Holder>),
) -> Result<(Lock, Waited)> {
    let mut file = open_lock(path, &name.shown)?;
    let start = Instant::now();
    let mut told = false;
    let mut waited = Waited::No;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) => {
                waited = Waited::Yes;
                if !told && start.elapsed() >= Duration::from_secs(1) {
                    told = true;
                    let mut s = String::new();
                    let _ = file.rewind();
                    let _ = (&file).take(200).read_to_string(&mut s);
                    let s = s.trim();
                    on_wait((!s.is_empty()).then(|| Holder(s.to_string())));
                }
                if start.elapsed() >= timeout {
                    let mut s = String::new();
                    let _ = file.rewind();
                    let _ = (&file).take(200).read_to_string(&mut s);
                    let who = if s.trim().is_empty() {
                        String::new()
                    } else {
                        format!(" (held by {})", s.trim())
                    };
                    return Err(crate::error::fail(format!(
                        "gave up after {}s waiting for the lock {}{who}",
                        timeout.as_secs(),
                        name.shown
                    ))
                    .hint(name.hint)
                    .into());
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(anyhow!("cannot lock {}: {}", name.shown, io_reason(&e)));
            }
        }
    }
    // Note who holds it (best effort; the lock is what matters).
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = file.write_all(note.as_bytes());
    Ok((Lock { _file: file }, waited))
}

/// FNV-1a, for stable lock names per (source, device).
pub(super) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}
