//! The one write path of the AWS files (SPEC §2, §6): atomic and lossless.
//!
//! Writes: under an exclusive lock file, the edit is applied to the current
//! content, rendered into a temp file with a random name created `O_EXCL` 0600
//! beside the *canonical* (symlink-resolved) file, fsynced, given the original
//! mode and owner, and renamed over the target (the symlink itself stays). Just
//! before the rename the target is read again; if another program changed it, the
//! edit is re-applied to the new content. Leftover temp files of a killed
//! mfa-exec are removed under the same lock (only a lock holder creates them).
//!
//! Owns the temp file, fsync, rename and rollback; never decides what to write
//! (the caller's edit does) and never writes a file outside this path.

use super::{check_regular, ensure_dir, io_reason, lock, tilde, LockName, Store};
use crate::ini::Document;
use anyhow::{anyhow, bail, Result};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Store {
    /// Applies `edit` to the credentials file atomically, under the write lock.
    /// Returns the document as written. `edit` may run more than once (when
    /// another program changes the file meanwhile) and must be repeatable.
    pub fn modify(
        &self,
        timeout: Duration,
        edit: &dyn Fn(&mut Document) -> Result<()>,
    ) -> Result<Document> {
        let (canon, dir, name) = self.canonical()?;
        check_regular(&canon, &self.shown, false)?;
        ensure_dir(&dir)?;
        let lock_path = dir.join(format!(".{name}.mfa-exec.lock"));
        let lock_name = LockName {
            shown: tilde(&lock_path),
            hint: "another program kept the credentials file locked for writing; try again",
        };
        let (_lock, _) = lock(
            &lock_path,
            &lock_name,
            &format!("pid {} (writing)", std::process::id()),
            timeout,
            |_| {},
        )?;
        self.remove_leftovers(&dir, &name);
        crate::testhook::pause("after-lock");
        for _attempt in 0..5 {
            let before = match crate::testhook::io("read").and_then(|()| fs::read(&canon)) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => bail!("cannot read {}: {}", self.shown, io_reason(&e)),
            };
            let meta = fs::metadata(&canon).ok();
            let text = match &before {
                Some(b) => {
                    std::str::from_utf8(b).map_err(|_| anyhow!("{}: not UTF-8 text", self.shown))?
                }
                None => "",
            };
            let mut doc = Document::parse(text)
                .map_err(|e| anyhow!("{}:{}: {}", self.shown, e.line, e.message))?;
            edit(&mut doc)?;
            let out = doc.render();
            if before.as_deref() == Some(out.as_bytes()) {
                return Ok(doc);
            }
            let mut tmp = crate::testhook::io("create")
                .and_then(|()| {
                    tempfile::Builder::new()
                        .prefix(&format!(".{name}.mfa-exec-"))
                        .suffix(".tmp")
                        .permissions(fs::Permissions::from_mode(0o600))
                        .tempfile_in(&dir)
                })
                .map_err(|e| {
                    anyhow!(
                        "cannot create a temp file in {}: {}",
                        tilde(&dir),
                        io_reason(&e)
                    )
                })?;
            crate::testhook::pause("after-temp-create");
            let write = |tmp: &mut tempfile::NamedTempFile| -> std::io::Result<()> {
                let bytes = out.as_bytes();
                let half = bytes.len() / 2;
                crate::testhook::io("write")?;
                tmp.write_all(&bytes[..half])?;
                tmp.flush()?;
                crate::testhook::pause("mid-write");
                tmp.write_all(&bytes[half..])?;
                tmp.flush()?;
                if let Some(m) = &meta {
                    let f = tmp.as_file();
                    f.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
                    if m.uid() != unsafe { libc::geteuid() }
                        || m.gid() != unsafe { libc::getegid() }
                    {
                        // Keep the owner (when root edits a user's file); best effort.
                        let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
                    }
                }
                crate::testhook::pause("before-fsync");
                crate::testhook::io("fsync")?;
                tmp.as_file().sync_all()
            };
            write(&mut tmp).map_err(|e| {
                anyhow!(
                    "cannot write {}: {}; the file is unchanged",
                    self.shown,
                    io_reason(&e)
                )
            })?;
            crate::testhook::pause("before-rename");
            // Re-check: if another program changed the file, re-apply to its content.
            let now = fs::read(&canon).ok();
            if now != before {
                continue;
            }
            crate::testhook::pause("after-recheck");
            if let Err(e) = crate::testhook::io("rename") {
                bail!(
                    "cannot replace {}: {}; the file is unchanged",
                    self.shown,
                    io_reason(&e)
                );
            }
            crate::error::mark_changed();
            tmp.persist(&canon).map_err(|e| {
                anyhow!(
                    "cannot replace {}: {}; the file is unchanged",
                    self.shown,
                    io_reason(&e.error)
                )
            })?;
            crate::testhook::pause("after-rename");
            if let Ok(d) = File::open(&dir) {
                let _ = d.sync_all();
            }
            return Ok(doc);
        }
        bail!(
            "{} kept changing while mfa-exec tried to write it; nothing was written",
            self.shown
        )
    }

    /// Removes temp files a killed mfa-exec left behind (only lock holders make them).
    fn remove_leftovers(&self, dir: &Path, name: &str) {
        let prefix = format!(".{name}.mfa-exec-");
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                let n = e.file_name();
                let n = n.to_string_lossy();
                if n.starts_with(&prefix) && n.ends_with(".tmp") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}

// ---- Two files, both or neither (`configure`; SPEC §8.2) ----

/// One file of a [`modify_both`] commit: where, and the edit to apply to its
/// current content (repeatable, as for [`Store::modify`]).
pub struct Part<'a> {
    pub store: &'a Store,
    pub edit: &'a dyn Fn(&mut Document) -> Result<()>,
}

/// One file of a commit, read and edited under its lock.
struct Staged {
    canon: PathBuf,
    dir: PathBuf,
    name: String,
    shown: String,
    before: Option<Vec<u8>>,
    meta: Option<fs::Metadata>,
    temp: Option<tempfile::NamedTempFile>,
}

/// Applies both edits so that both files change or neither does (SPEC §8.2).
///
/// Both write locks are taken (in path order, so two commits never deadlock);
/// both new contents are prepared from the current files and written to temp
/// files (random name, `O_EXCL`, 0600, then the original mode and owner),
/// fsynced, before either file is replaced. Just before the renames both files
/// are read again; if another program changed one, both edits are re-applied.
/// If anything fails after the first rename, the first file's previous content
/// is put back, itself through a temp file and a rename (or the file is removed
/// when it did not exist), and the error says which state the files are in.
pub fn modify_both(first: Part<'_>, second: Part<'_>, timeout: Duration) -> Result<()> {
    let (canon_a, dir_a, name_a) = first.store.canonical()?;
    let (canon_b, dir_b, name_b) = second.store.canonical()?;
    check_regular(&canon_a, &first.store.shown, false)?;
    check_regular(&canon_b, &second.store.shown, false)?;
    if canon_a == canon_b {
        bail!(
            "{} and {} are the same file; they must be two files",
            first.store.shown,
            second.store.shown
        );
    }
    ensure_dir(&dir_a)?;
    ensure_dir(&dir_b)?;
    let mut lock_paths = [
        dir_a.join(format!(".{name_a}.mfa-exec.lock")),
        dir_b.join(format!(".{name_b}.mfa-exec.lock")),
    ];
    lock_paths.sort();
    let note = format!("pid {} (writing)", std::process::id());
    let mut _locks = Vec::new();
    for p in &lock_paths {
        let name = LockName {
            shown: tilde(p),
            hint: "another program kept an AWS file locked for writing; try again",
        };
        _locks.push(lock(p, &name, &note, timeout, |_| {})?.0);
    }
    first.store.remove_leftovers(&dir_a, &name_a);
    second.store.remove_leftovers(&dir_b, &name_b);
    crate::testhook::pause("after-lock");
    let parts = [
        (first, canon_a, dir_a, name_a),
        (second, canon_b, dir_b, name_b),
    ];
    for _attempt in 0..5 {
        let mut staged = Vec::with_capacity(2);
        for (part, canon, dir, name) in &parts {
            let shown = &part.store.shown;
            let before = match crate::testhook::io("read").and_then(|()| fs::read(canon)) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => bail!("cannot read {shown}: {}", io_reason(&e)),
            };
            let meta = fs::metadata(canon).ok();
            let text = match &before {
                Some(b) => {
                    std::str::from_utf8(b).map_err(|_| anyhow!("{shown}: not UTF-8 text"))?
                }
                None => "",
            };
            let mut doc =
                Document::parse(text).map_err(|e| anyhow!("{shown}:{}: {}", e.line, e.message))?;
            (part.edit)(&mut doc)?;
            let out = doc.render();
            // An absent file the edit leaves empty stays absent.
            let unchanged = match &before {
                Some(b) => b.as_slice() == out.as_bytes(),
                None => out.is_empty(),
            };
            let temp = if unchanged {
                None
            } else {
                Some(
                    write_temp(dir, name, out.as_bytes(), meta.as_ref()).map_err(|e| {
                        anyhow!("cannot write {shown}: {e}; neither file was changed")
                    })?,
                )
            };
            staged.push(Staged {
                canon: canon.clone(),
                dir: dir.clone(),
                name: name.clone(),
                shown: shown.clone(),
                before,
                meta,
                temp,
            });
        }
        crate::testhook::pause("before-rename");
        if staged.iter().any(|s| fs::read(&s.canon).ok() != s.before) {
            continue;
        }
        crate::testhook::pause("after-recheck");
        let mut replaced: Option<usize> = None;
        for i in 0..staged.len() {
            let Some(temp) = staged[i].temp.take() else {
                continue;
            };
            if replaced.is_some() {
                crate::testhook::pause("between-renames");
            }
            let s = &staged[i];
            crate::error::mark_changed();
            let persisted = match crate::testhook::io("rename") {
                Ok(()) => temp.persist(&s.canon).map(drop).map_err(|e| e.error),
                Err(e) => Err(e),
            };
            if let Err(e) = persisted {
                let reason = io_reason(&e);
                let Some(done) = replaced.map(|d| &staged[d]) else {
                    bail!(
                        "cannot replace {}: {reason}; neither file was changed",
                        s.shown
                    );
                };
                return Err(match restore(done) {
                    Ok(()) => anyhow!(
                        "cannot replace {}: {reason}; {} was put back as it was, so neither file was changed",
                        s.shown,
                        done.shown
                    ),
                    Err(r) => anyhow!(
                        "cannot replace {}: {reason}; and {} could not be put back ({r}): it holds the new content, {} the old",
                        s.shown,
                        done.shown,
                        s.shown
                    ),
                });
            }
            sync_dir(&s.dir);
            replaced = Some(i);
        }
        return Ok(());
    }
    bail!(
        "{} or {} kept changing while mfa-exec tried to write them; nothing was written",
        parts[0].0.store.shown,
        parts[1].0.store.shown
    )
}

/// Writes `bytes` to a new temp file beside `name` in `dir` (`O_EXCL`, 0600,
/// then `meta`'s mode and owner) and fsyncs it.
fn write_temp(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    meta: Option<&fs::Metadata>,
) -> std::result::Result<tempfile::NamedTempFile, String> {
    let mut tmp = crate::testhook::io("create")
        .and_then(|()| {
            tempfile::Builder::new()
                .prefix(&format!(".{name}.mfa-exec-"))
                .suffix(".tmp")
                .permissions(fs::Permissions::from_mode(0o600))
                .tempfile_in(dir)
        })
        .map_err(|e| {
            format!(
                "cannot create a temp file in {}: {}",
                dir.display(),
                io_reason(&e)
            )
        })?;
    let write = |tmp: &mut tempfile::NamedTempFile| -> std::io::Result<()> {
        crate::testhook::io("write")?;
        tmp.write_all(bytes)?;
        tmp.flush()?;
        if let Some(m) = meta {
            let f = tmp.as_file();
            f.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
            if m.uid() != unsafe { libc::geteuid() } || m.gid() != unsafe { libc::getegid() } {
                // Keep the owner (when root edits a user's file); best effort.
                let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
            }
        }
        crate::testhook::io("fsync")?;
        tmp.as_file().sync_all()
    };
    write(&mut tmp).map_err(|e| io_reason(&e))?;
    Ok(tmp)
}

/// Puts back the content `s` had before the commit (removes it if it did not
/// exist), atomically.
fn restore(s: &Staged) -> std::result::Result<(), String> {
    match &s.before {
        Some(bytes) => {
            let tmp = write_temp(&s.dir, &s.name, bytes, s.meta.as_ref())?;
            crate::testhook::io("rename").map_err(|e| io_reason(&e))?;
            tmp.persist(&s.canon).map_err(|e| io_reason(&e.error))?;
        }
        None => fs::remove_file(&s.canon).map_err(|e| io_reason(&e))?,
    }
    sync_dir(&s.dir);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modify_both_writes_both_or_refuses_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::new(dir.path().join("config"), "config".into());
        let b = Store::new(dir.path().join("credentials"), "credentials".into());
        fs::write(&a.path, "# keep\n[profile x]\nregion = a\n").unwrap();
        let set_a = |d: &mut Document| -> Result<()> { Ok(d.set("profile x", "region", "b")?) };
        let set_b = |d: &mut Document| -> Result<()> { Ok(d.set("x", "k", "v")?) };
        let part = |store, edit| Part { store, edit };
        modify_both(part(&a, &set_a), part(&b, &set_b), Duration::from_secs(5)).unwrap();
        assert_eq!(
            fs::read_to_string(&a.path).unwrap(),
            "# keep\n[profile x]\nregion = b\n"
        );
        assert_eq!(fs::read_to_string(&b.path).unwrap(), "[x]\nk = v\n");
        assert_eq!(
            fs::metadata(&b.path).unwrap().mode() & 0o777,
            0o600,
            "a new file is 0600"
        );
        // Nothing to change: nothing written, no temp file, locks released.
        modify_both(part(&a, &set_a), part(&b, &set_b), Duration::from_secs(5)).unwrap();
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".config.mfa-exec.lock",
                ".credentials.mfa-exec.lock",
                "config",
                "credentials"
            ]
        );
        // An absent file the edit leaves empty is not created.
        let c = Store::new(dir.path().join("absent"), "absent".into());
        let none = |_: &mut Document| -> Result<()> { Ok(()) };
        let set_a2 = |d: &mut Document| -> Result<()> { Ok(d.set("profile x", "region", "c")?) };
        modify_both(part(&a, &set_a2), part(&c, &none), Duration::from_secs(5)).unwrap();
        assert!(!c.path.exists());
        assert!(fs::read_to_string(&a.path)
            .unwrap()
            .ends_with("region = c\n"));
        // The same file twice is refused before anything is written.
        let e = modify_both(part(&a, &set_a), part(&a, &set_b), Duration::from_secs(5))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config and config are the same file; they must be two files"
        );
    }
}
