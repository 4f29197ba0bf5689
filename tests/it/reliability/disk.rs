//! Disk and filesystem faults. The tests run as root, where mode bits do not
//! stop writes: a read-only bind mount, `chattr +i`, a full tmpfs, or a
//! non-root child stand in; a fault that cannot be set up here is skipped
//! with its row left alone. Cases `disk-*`.

use super::*;
use std::io::Write;

/// Unmounts (lazily) when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = StdCommand::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn try_mount(args: &[&str], at: &Path) -> Option<Mounted> {
    let ok = StdCommand::new("mount")
        .args(args)
        .arg(at)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mounted(at.to_path_buf()))
}

/// Clears the immutable flag when dropped.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = StdCommand::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn try_chattr(path: &Path) -> Option<Immutable> {
    let ok = StdCommand::new("chattr")
        .arg("+i")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Immutable(path.to_path_buf()))
}

/// A first refresh (so lock files exist), then a forced one under `fault`.
fn disk_fault(case: &str, fault: &dyn Fn(&TestEnv) -> Option<Box<dyn std::any::Any>>) {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let first = log.run(&env, Some(&sts), &["test", "-t", "123456", "--", "true"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    let Some(guard) = fault(&env) else {
        skip(
            case,
            "the fault cannot be set up here (mount/chattr not permitted)",
        );
        return;
    };
    let snap = env.snapshot();
    let requests = sts.count();
    let out = log.run(
        &env,
        Some(&sts),
        &["test", "-f", "-t", &fresh_code(), "--", "touch", "ran"],
    );
    let err = norm(&out.error(), &env, Some(&sts));
    drop(guard);
    assert_eq!(out.code, Some(125), "{out:?}");
    assert!(err.starts_with("mfa-exec: error: "), "{out:?}");
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    assert!(temp_files(&env).is_empty(), "{:?}", env.aws_dir_entries());
    log.check_secrets(&[&sts], &[]);
    record(
        case,
        &format!(
            "exit 125; stderr `{}`; original intact (bytes and mode); command not run; no temp file left; STS called {} time(s) before the failure",
            err.replace('\n', "` / `"),
            sts.count() - requests
        ),
    );
}

#[test]
fn disk_readonly_mount() {
    disk_fault("disk-readonly-mount", &|env| {
        let aws = env.aws_dir();
        let m = try_mount(&["--bind", aws.to_str().unwrap()], &aws)?;
        // One mount, unmounted by `m`; the remount's own guard must not run.
        std::mem::forget(try_mount(&["-o", "remount,ro,bind"], &aws)?);
        Some(Box::new(m))
    });
}

#[test]
fn disk_immutable_dir() {
    disk_fault("disk-immutable-dir", &|env| {
        try_chattr(&env.aws_dir()).map(|g| Box::new(g) as Box<dyn std::any::Any>)
    });
}

#[test]
fn disk_immutable_file() {
    disk_fault("disk-immutable-file", &|env| {
        try_chattr(&env.credentials_path()).map(|g| Box::new(g) as Box<dyn std::any::Any>)
    });
}

#[test]
fn disk_full() {
    let case = "disk-full";
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let Some(_mount) = try_mount(
        &["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"],
        &env.aws_dir(),
    ) else {
        skip(case, "mounting a tmpfs is not permitted here");
        return;
    };
    env.write_config(SEED_CONFIG);
    let filler: String = (0..600)
        .map(|i| format!("# filler comment line {i:04} to take space on the small tmpfs..\n"))
        .collect();
    env.write_credentials(&format!("{SEED_CREDENTIALS}{filler}"));
    // Fill what is left with a file, so no new copy of the credentials fits.
    let mut pad = fs::File::create(env.aws_dir().join("pad")).unwrap();
    let chunk = vec![b'x'; 4096];
    let mut padded = 0;
    while pad.write_all(&chunk).is_ok() {
        padded += 1;
        if padded > 64 {
            break;
        }
    }
    drop(pad);
    // Give back a little room for the lock files.
    let pad_path = env.aws_dir().join("pad");
    let len = fs::metadata(&pad_path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&pad_path)
        .unwrap()
        .set_len(len.saturating_sub(3 * 4096))
        .unwrap();
    let log = Log::default();
    let snap = env.snapshot();
    let out = log.run(
        &env,
        Some(&sts),
        &["test", "-t", "123456", "--", "touch", "ran"],
    );
    let err = norm(&out.error(), &env, Some(&sts));
    assert_eq!(out.code, Some(125), "{out:?}");
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    assert!(temp_files(&env).is_empty(), "{:?}", env.aws_dir_entries());
    log.check_secrets(&[&sts], &[]);
    record(
        case,
        &format!(
            "exit 125; stderr `{}`; original intact (bytes and mode); command not run; no temp file left",
            err.replace('\n', "` / `")
        ),
    );
}

#[test]
fn disk_readonly_dir_chmod() {
    let case = "disk-readonly-dir-chmod";
    if !is_root() {
        skip(case, "needs root to switch to the nobody user");
        return;
    }
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    for_nobody(&env);
    let bin = match nobody_bin(&env) {
        Ok(bin) => bin,
        Err(why) => {
            skip(case, &why);
            return;
        }
    };
    env.set_mode(&env.aws_dir(), 0o500);
    let log = Log::default();
    let snap = env.snapshot();
    let args = [
        "test",
        "-t",
        "123456",
        "--",
        "touch",
        "/tmp/mfa-exec-should-not-run",
    ];
    let out = log.exec(nobody_cmd(&env, &sts, &bin, &args), &args);
    let err = norm(&out.error(), &env, Some(&sts));
    assert_eq!(out.code, Some(125), "{out:?}");
    env.assert_unchanged(&snap);
    log.check_secrets(&[&sts], &[]);
    // As root, the same mode stops nothing:
    let root = log.run(
        &env,
        Some(&sts),
        &["test", "-t", &fresh_code(), "--", "true"],
    );
    record(
        case,
        &format!(
            "as nobody: exit 125; stderr `{}`; original intact; as root the same 0500 directory is written (exit {:?}): mode bits do not stop root",
            err.replace('\n', "` / `"),
            root.code.unwrap_or(-1)
        ),
    );
}
