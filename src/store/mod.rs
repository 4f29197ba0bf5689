//! The AWS files on disk: reading both (`load_files`, with the checks that a
//! path is a regular file), where a file really is (`canonical_target`,
//! following symlinks), and the two jobs split below it:
//!
//! - [`lock`]: the lock files (the write lock and one per session), who holds
//!   them, and waiting for them with a deadline.
//! - [`atomic`]: the one atomic, lossless write path ([`Store::modify`]) and
//!   the two-file commit ([`modify_both`]).
//!
//! What a session looks like inside a file is [`crate::session`]'s business;
//! the store never interprets keys. It never prompts and never calls STS.

use crate::ini::Document;
use crate::profile::{AwsFile, AwsFiles};

mod atomic;
mod lock;

use anyhow::{anyhow, bail, Context, Result};
pub use atomic::{modify_both, Part};
use lock::{fnv, open_lock};
pub use lock::{lock, Holder, Lock, LockName, Waited};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Refuses a path that exists and is not a regular file (after symlinks): a
/// FIFO would hang the read, and replacing a device such as a copy of
/// `/dev/null` would turn it into a file of secrets. `write` says what was
/// about to happen, for the message.
pub fn check_regular(path: &Path, shown: &str, reading: bool) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = fs::metadata(path) else {
        return Ok(());
    };
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let what = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    // A device such as /dev/null reads as empty, which is what pointing
    // AWS_SHARED_CREDENTIALS_FILE at it means; only writing it is refused.
    if reading && t.is_char_device() {
        return Ok(());
    }
    Err(crate::error::fail(format!(
        "{shown} is {what}, not a regular file; mfa-exec {} only regular files",
        if reading { "reads" } else { "writes" }
    ))
    .hint("point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a regular file")
    .into())
}

/// Reads one AWS file; a missing file is an empty document.
///
/// How the file is read (issue 17, measured on the 10,000-profile fixture,
/// 2.3 MB in both files): `fs::read` already sizes its buffer from the
/// file's metadata and fills it with one `read` (strace: one anonymous `mmap`
/// of the file's size, then `read(fd, buf, 929989) = 929989` and
/// `read(fd, buf, 1408969) = 1408969`; no growth, no copy), so a hand-written
/// read would change nothing. What the kernel spends is the copy from the
/// page cache into freshly faulted pages: 1,125 page faults for a cached run
/// at 10,000 profiles against 282 at 10 (`perf stat -e page-faults`), and
/// 0.6-0.9 ms per `read` under `strace -T`. Tried and not kept: populating
/// the buffer's pages with one `madvise(MADV_POPULATE_WRITE)` before the
/// `read` halves the page faults (1,125 -> 562) but not the time (task-clock
/// 7.22 vs 7.45 ms, then 8.12 vs 8.09 ms; hyperfine medians 9.19 vs 9.40 ms,
/// within the noise): the kernel still zeroes and copies every page.
///
/// The file is never `mmap`ed: a concurrent `aws configure set` truncates it
/// in place, and a mapped page past the new end is a SIGBUS, not an error
/// message.
pub fn load_file(path: &Path, shown: String) -> Result<AwsFile> {
    check_regular(path, &shown, true)?;
    let bytes = match crate::testhook::io("read").and_then(|()| fs::read(path)) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(anyhow!("cannot read {shown}: {}", io_reason(&e))),
    };
    let doc = match bytes {
        None => Document::empty(),
        Some(b) => {
            let text = String::from_utf8(b).map_err(|e| {
                let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = upto.iter().filter(|&&c| c == b'\n').count() + 1;
                anyhow!("{shown}:{line}: not UTF-8 text")
            })?;
            if let Some(pos) = memchr::memchr(0, text.as_bytes()) {
                let line = text[..pos].matches('\n').count() + 1;
                bail!("{shown}:{line}: contains a NUL byte; not a text file");
            }
            // The read path: every line checked, sections parsed when read.
            Document::read_owned(text).map_err(|e| anyhow!("{shown}:{}: {}", e.line, e.message))?
        }
    };
    Ok(AwsFile {
        path: path.to_path_buf(),
        shown,
        doc,
    })
}

/// `Permission denied`, without Rust's `(os error 13)`.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub fn load_files(
    config: &Path,
    config_shown: String,
    creds: &Path,
    creds_shown: String,
) -> Result<AwsFiles> {
    Ok(AwsFiles {
        config: load_file(config, config_shown)?,
        credentials: load_file(creds, creds_shown)?,
    })
}

/// The credentials file with an injectable lock timeout.
#[derive(Debug, Clone)]
pub struct Store {
    pub path: PathBuf,
    pub shown: String,
}

/// Follows symlinks of `path` itself (the target may not exist yet).
pub fn canonical_target(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)
                    .with_context(|| format!("cannot read link {}", p.display()))?;
                p = match p.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => {
                let name = p
                    .file_name()
                    .ok_or_else(|| anyhow!("{} has no file name", p.display()))?
                    .to_owned();
                let parent = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let parent = fs::canonicalize(&parent).unwrap_or(parent);
                return Ok(parent.join(name));
            }
        }
    }
    bail!("too many levels of symbolic links at {}", tilde(path))
}

/// `~/x` for a path under `$HOME`, for messages.
pub fn tilde(p: &Path) -> String {
    if let Some(home) = dirs::home_dir() {
        if let Ok(rest) = p.strip_prefix(&home) {
            return format!("~/{}", rest.display());
        }
    }
    p.display().to_string()
}

/// Creates the directory (and parents) with mode 0700 when missing.
fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| anyhow!("cannot create directory {}: {}", tilde(dir), io_reason(&e)))
}

impl Store {
    pub fn new(path: PathBuf, shown: String) -> Store {
        Store { path, shown }
    }

    fn canonical(&self) -> Result<(PathBuf, PathBuf, String)> {
        let canon = canonical_target(&self.path)?;
        let dir = canon
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = canon
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "credentials".into());
        Ok((canon, dir, name))
    }

    /// Path of the lock for the session of (source, device), creating the directory.
    pub fn session_lock_path(&self, source: &str, serial: Option<&str>) -> Result<PathBuf> {
        let (_, dir, name) = self.canonical()?;
        ensure_dir(&dir)?;
        let key = format!("{source}\0{}", serial.unwrap_or(""));
        Ok(dir.join(format!(".{name}.mfa-exec-{:016x}.lock", fnv(&key))))
    }

    /// Opens (creating it if needed) the write lock without taking it: a lock
    /// path that cannot be used (a planted symlink, a read-only directory) is
    /// found before a code is asked for (SPEC §8.1), not at the write.
    pub fn probe_write_lock(&self) -> Result<()> {
        let (_, dir, name) = self.canonical()?;
        ensure_dir(&dir)?;
        let lock_path = dir.join(format!(".{name}.mfa-exec.lock"));
        open_lock(&lock_path, &tilde(&lock_path)).map(drop)
    }

    /// Reads the current credentials file.
    pub fn load(&self) -> Result<AwsFile> {
        load_file(&self.path, self.shown.clone())
    }
}
