//! Crash safety: `kill -9` at each named point of the write (`MFA_EXEC_TEST_PAUSE`)
//! and at random times; the file is always the old or a complete new version,
//! no lock outlives its holder, no temp file is left. Cases `crash-*`.

use super::*;

const POINTS: &[&str] = &[
    "after-lock",
    "after-temp-create",
    "mid-write",
    "before-fsync",
    "before-rename",
    "after-recheck",
    "after-rename",
];

#[test]
fn crash_at_each_point() {
    for point in POINTS {
        let sts = FakeSts::start();
        let env = TestEnv::seeded();
        let log = Log::default();
        let old = env.read_credentials();
        let mut cmd = env.std_cmd_with_sts(&["test", "-t", "123456", "--", "touch", "ran"], &sts);
        cmd.env("MFA_EXEC_TEST_PAUSE", format!("{point}:20000"));
        let (mut child, rx) = spawn_watched(cmd);
        wait_for_line(&rx, &format!("pause at {point}"), Duration::from_secs(30));
        let temps_at_kill = temp_files(&env).len();
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        let now = env.read_credentials();
        let leftovers = temp_files(&env).len();
        let state = if now == old {
            "old version byte for byte"
        } else {
            let doc = parse(&now);
            assert_issued_session(&doc, "test", &sts);
            assert_eq!(without(&now, "test"), without(&old, "test"));
            "complete new version"
        };
        if *point == "after-rename" {
            assert_eq!(state, "complete new version");
        } else {
            assert_eq!(state, "old version byte for byte", "{point}");
        }
        assert!(!env.home().join("ran").exists());
        // The next run: not blocked by the killed holder's locks (with
        // the next code: the killed run may have sent its own).
        let next = log.run(
            &env,
            Some(&sts),
            &["test", "-t", &fresh_code(), "--", "touch", "ran"],
        );
        assert_eq!(next.code, Some(0), "{next:?}");
        assert!(next.elapsed < Duration::from_secs(20), "{:?}", next.elapsed);
        assert!(env.home().join("ran").exists());
        let after = env.read_credentials();
        assert_issued_session(&parse(&after), "test", &sts);
        assert!(temp_files(&env).is_empty(), "{:?}", env.aws_dir_entries());
        let stss = [&sts];
        log.check_secrets(&stss, &[]);
        let requests = sts.count();
        let observed = if *point == "after-rename" {
            format!(
                "{state}; temp files left: {leftovers}; next run exit 0 from the cache ({requests} STS request in total), no temp file"
            )
        } else {
            format!(
                "{state}; temp files at kill: {temps_at_kill}, left after kill: {leftovers}; next run exit 0 (not blocked by the dead holder's lock), session written, no temp file left"
            )
        };
        record(&format!("crash-{point}"), &observed);
    }
}

#[test]
fn crash_at_random_times() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let pauses: Vec<String> = POINTS.iter().map(|p| format!("{p}:40")).collect();
    let pauses = pauses.join(",");
    let mut rng = Rng::new();
    let (mut olds, mut news) = (0, 0);
    let iterations = 15;
    for i in 0..iterations {
        let old = env.read_credentials();
        let code = fresh_code(); // AWS takes each code once
        let mut cmd = env.std_cmd_with_sts(&["test", "-f", "-t", &code, "--", "true"], &sts);
        cmd.env("MFA_EXEC_TEST_PAUSE", &pauses);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let delay = rng.below(700);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = env.read_credentials();
        if now == old {
            olds += 1;
        } else {
            let doc = parse(&now);
            assert_issued_session(&doc, "test", &sts);
            assert_eq!(
                without(&now, "test"),
                without(&old, "test"),
                "iteration {i}"
            );
            news += 1;
        }
    }
    eprintln!("reliability: crash-random: {olds} old, {news} new of {iterations}");
    let next = log.run(
        &env,
        Some(&sts),
        &["test", "-f", "-t", &fresh_code(), "--", "true"],
    );
    assert_eq!(next.code, Some(0), "{next:?}");
    assert!(temp_files(&env).is_empty());
    log.check_secrets(&[&sts], &[]);
    record(
        "crash-random",
        &format!(
            "{iterations} kills at random times (0-700 ms into a run with 40 ms pauses at each point): every file was the old version or a complete new one, none partial; the next run exit 0, no temp file left"
        ),
    );
}
