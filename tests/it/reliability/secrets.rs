//! Secrets, temp files and locks: no secret key or session token outside
//! `export` / `credential-process` stdout, symlinks planted at the lock and temp
//! paths are not followed, the temp file and locks are 0600. Cases
//! `secrets-scan`, `lock-symlink`, `temp-symlink`, `temp-and-lock-modes`.

use super::*;
use std::os::unix::fs::MetadataExt;

#[test]
fn secrets_scan() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let mut runs = 0;
    let mut go = |sts: &FakeSts, args: &[&str], want: i32| {
        let o = log.run(&env, Some(sts), args);
        assert_eq!(o.code, Some(want), "{o:?}");
        runs += 1;
        o
    };
    go(&sts, &["test", "-t", "123456", "--", "true"], 0);
    go(&sts, &["-v", "test", "--", "true"], 0);
    go(&sts, &["-vv", "test", "--", "true"], 0);
    go(
        &sts,
        &["-v", "test", "-f", "-t", &fresh_code(), "--", "true"],
        0,
    );
    go(
        &sts,
        &["-vv", "test", "-f", "-t", &fresh_code(), "--", "true"],
        0,
    );
    go(&sts, &["list"], 0);
    go(&sts, &["list", "--json"], 0);
    go(&sts, &["list", "-vv"], 0);
    go(&sts, &["explain", "test"], 0);
    go(&sts, &["explain", "test", "--json"], 0);
    go(&sts, &["explain", "-vv", "testAccount"], 0);
    let export = go(&sts, &["export", "test"], 0);
    let cp = go(&sts, &["credential-process", "test"], 0);
    let last = sts.last_issued().unwrap();
    assert!(
        export.stdout.contains(&last.secret_access_key),
        "positive control"
    );
    assert!(cp.stdout.contains(&last.session_token), "positive control");
    go(&sts, &["export", "-vv", "test", "--format", "json"], 0);
    for reply in [
        Reply::invalid_mfa(),
        Reply::signature_mismatch(),
        Reply::invalid_client_token_id(),
        Reply::internal_failure(),
        Reply::raw(200, "<<<not xml"),
    ] {
        sts.fail_always(reply.clone());
        go(
            &sts,
            &["-vv", "test", "-f", "-t", &fresh_code(), "--", "true"],
            125,
        );
        sts.clear_faults();
    }
    go(&sts, &["-vv", "nosuchprofile", "--", "true"], 125);
    go(&sts, &["-vv", "test", "-f", "-t", "12", "--", "true"], 125);
    go(&sts, &["clear", "-vv", "test"], 0);
    go(&sts, &["clear", "-vv", "--all"], 0);
    go(&sts, &["list", "-vv"], 0);
    let n = log.check_secrets(&[&sts], &[]);
    record(
        "secrets-scan",
        &format!(
            "{n} runs (success, -v, -vv, list, list --json, explain, export, credential-process, 5 STS failures, usage errors, clear): the seed secret and the {} issued secrets and tokens appear only on the stdout of export/credential-process",
            sts.issued().len()
        ),
    );
    let _ = runs;
}

/// Found by this suite and fixed: `mfa-exec -v list` used to take `list` for a profile.
#[test]
fn global_flag_before_subcommand() {
    let env = TestEnv::seeded();
    let out = Log::default().run(&env, None, &["-v", "list"]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn lock_symlink_is_not_followed() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let first = log.run(&env, Some(&sts), &["test", "-t", "123456", "--", "true"]);
    assert_eq!(first.code, Some(0));
    let target_dir = tempfile::tempdir().unwrap();
    let locks = lock_files(&env);
    assert_eq!(
        locks.len(),
        2,
        "a session lock and the write lock: {locks:?}"
    );
    let mut observed = Vec::new();
    for lock in &locks {
        let target = target_dir.path().join(format!("{lock}.target"));
        fs::write(&target, "precious\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        let path = env.aws_dir().join(lock);
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let snap = env.snapshot();
        let out = log.run(
            &env,
            Some(&sts),
            &["test", "-f", "-t", &fresh_code(), "--", "touch", "ran"],
        );
        assert_eq!(out.code, Some(125), "{out:?}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o7777, 0o644);
        env.assert_unchanged(&snap);
        assert!(!env.home().join("ran").exists());
        let kind = if lock == ".credentials.mfa-exec.lock" {
            "write lock"
        } else {
            "session lock"
        };
        let err = norm(&out.error(), &env, Some(&sts));
        let err = err.replace(
            lock.as_str(),
            if kind == "write lock" {
                lock
            } else {
                ".credentials.mfa-exec-HASH.lock"
            },
        );
        observed.push(format!(
            "{kind}: exit 125, `{}`",
            err.replace('\n', "` / `")
        ));
        fs::remove_file(&path).unwrap();
    }
    observed.sort();
    log.check_secrets(&[&sts], &[]);
    record(
        "lock-symlink",
        &format!(
            "{}; targets untouched (bytes and mode); nothing written",
            observed.join("; ")
        ),
    );
}

#[test]
fn temp_symlink_is_not_written_through() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let target_dir = tempfile::tempdir().unwrap();
    let target = target_dir.path().join("target");
    fs::write(&target, "precious\n").unwrap();
    let planted = env.aws_dir().join(".credentials.mfa-exec-AAAAAA.tmp");
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    let out = log.run(&env, Some(&sts), &["test", "-t", "123456", "--", "true"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    let removed = fs::symlink_metadata(&planted).is_err();
    assert!(fs::symlink_metadata(env.credentials_path())
        .unwrap()
        .file_type()
        .is_file());
    assert_issued_session(&parse(&env.read_credentials()), "test", &sts);
    log.check_secrets(&[&sts], &[]);
    record(
        "temp-symlink",
        &format!(
            "exit 0; target untouched; the planted link {} (the temp file is created O_EXCL under a random name); credentials is a regular file holding the session",
            if removed { "was removed as a leftover" } else { "was left alone" }
        ),
    );
}

#[test]
fn temp_and_lock_modes() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    // A file others may read: the temp file must still start out 0600.
    env.set_mode(&env.credentials_path(), 0o644);
    let log = Log::default();
    let mut cmd = env.std_cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts);
    cmd.env(
        "MFA_EXEC_TEST_PAUSE",
        "after-temp-create:1500,before-fsync:1500",
    );
    // SAFETY: umask(2) is async-signal-safe; the child starts with umask 0.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let (mut child, rx) = spawn_watched(cmd);
    wait_for_line(&rx, "pause at after-temp-create", Duration::from_secs(30));
    let temps = temp_files(&env);
    assert_eq!(temps.len(), 1, "{temps:?}");
    let at_create = env.mode(&env.aws_dir().join(&temps[0])).unwrap();
    let locks: Vec<u32> = lock_files(&env)
        .iter()
        .map(|l| env.mode(&env.aws_dir().join(l)).unwrap())
        .collect();
    wait_for_line(&rx, "pause at before-fsync", Duration::from_secs(30));
    let before_rename = env.mode(&env.aws_dir().join(&temps[0])).unwrap();
    let code = wait_child(&mut child, Duration::from_secs(30));
    assert_eq!(code, Some(0));
    assert_eq!(at_create, 0o600);
    assert!(locks.iter().all(|&m| m == 0o600), "{locks:?}");
    assert_eq!(env.mode(&env.credentials_path()), Some(0o644), "mode kept");
    log.check_secrets(&[&sts], &[]);
    record(
        "temp-and-lock-modes",
        &format!(
            "with umask 0 and a 0644 credentials file: temp file {at_create:04o} at creation, {before_rename:04o} (the file's own mode) only once written; {} lock files, all {:04o}; final file keeps 0644",
            locks.len(),
            locks.first().copied().unwrap_or(0)
        ),
    );
}
