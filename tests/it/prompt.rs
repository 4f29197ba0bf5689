//! The interactive prompt, through a pseudo-terminal.

use crate::support::*;

#[test]
fn prompt_reasks_locally_then_after_sts_rejects() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("222222"));
    let env = TestEnv::seeded();
    let mut pty = env.pty(&["test", "--", "sh", "-c", "echo RAN"], Some(&sts));
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    pty.send_line("12ab");
    pty.expect("a code is exactly 6 digits; try again");
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    assert_eq!(sts.count(), 0, "a malformed code is never sent");
    pty.send_line("111111");
    pty.expect("STS rejected that code");
    assert_eq!(sts.count(), 1);
    pty.expect("MFA code for test");
    pty.send_line("222222");
    pty.expect("RAN");
    assert_eq!(pty.wait(), 0);
    assert_eq!(sts.count(), 2);
    assert!(env.read_credentials().contains("[test]"));
}

#[test]
fn ctrl_c_at_prompt_exits_130_and_writes_nothing() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    pty.expect("MFA code for test");
    pty.send_ctrl_c();
    assert_eq!(pty.wait(), 130);
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// A background job never prompts (no SIGTTIN hang): it fails at once.
#[test]
fn background_job_fails_at_once() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let bin = bin_path();
    let script = format!(
        "set -m; '{}' test -- true 2>err.txt & wait $!; echo rc=$?; cat err.txt",
        bin.display()
    );
    let mut pty = env.pty_program(
        std::path::Path::new("/bin/sh"),
        &["-c", &script],
        Some(&sts),
    );
    pty.expect("rc=125");
    pty.expect("mfa-exec: error: cannot ask for the MFA code of profile 'test': mfa-exec is not in the terminal's foreground");
    assert_eq!(pty.wait(), 0);
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// A second process waiting for the lock says who holds it, then uses the
/// session the holder wrote (one code, one STS call).
#[test]
fn waiter_names_the_holder_and_reuses_its_session() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = env.home().join("codes.log");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = echo asked >> {} ; sleep 2 ; echo 123456\n",
        log.display()
    ));
    let holder = env
        .std_cmd_with_sts(&["test", "--", "true"], &sts)
        .spawn()
        .unwrap();
    let holder_pid = holder.id();
    wait_for_file(&log); // the holder has the lock once its mfa_process runs
    let out = env
        .cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("mfa-exec: waiting for pid {holder_pid}, profile test, which is getting the MFA session of 'testAccount'")),
        "{err}"
    );
    let status = holder.wait_with_output().unwrap().status;
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "asked\n");
    assert_eq!(sts.count(), 1);
}

/// Issue 25 item 11: the spaced form authenticator apps display, with spaces
/// around it, is the code.
#[test]
fn prompt_accepts_the_spaced_form() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("123456"));
    let env = TestEnv::seeded();
    let mut pty = env.pty(&["test", "--", "sh", "-c", "echo RAN"], Some(&sts));
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    // Backspace (DEL) erases the typo.
    pty.send_line("  123 45x\x7f6 ");
    pty.expect("RAN");
    assert_eq!(pty.wait(), 0);
    assert_eq!(sts.count(), 1);
    assert_eq!(
        sts.last_request().unwrap().param("TokenCode"),
        Some("123456")
    );
}

/// Issue 25 item 11: Ctrl-D at the prompt ends it as Ctrl-C does.
#[test]
fn ctrl_d_at_prompt_exits_130_and_writes_nothing() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    pty.expect("MFA code for test");
    pty.send("12");
    pty.send_ctrl_d();
    let (code, out) = pty.wait_with_output();
    assert_eq!(code, 130, "{out}");
    // In the main flow the terminal that pressed it is told nothing more.
    assert!(!out.contains("error"), "{out}");
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// Issue 25 item 11: after the third malformed code no "try again" comes
/// before the final error.
#[test]
fn third_bad_try_ends_without_try_again() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    for bad in ["12ab", "1234567"] {
        pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
        pty.send_line(bad);
        pty.expect("mfa-exec: a code is exactly 6 digits; try again\r\n");
    }
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    pty.send_line("x");
    let (code, out) = pty.wait_with_output();
    assert_eq!(code, 125, "{out}");
    let last = out.rsplit("MFA code for test").next().unwrap();
    assert_eq!(
        last,
        " (arn:aws:iam::123456789012:mfa/test): x\r\nmfa-exec: error: no 6-digit MFA code after 3 tries; nothing was sent\r\n"
    );
    assert_eq!(out.matches("try again").count(), 2, "{out}");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// Issue 25 item 11: under credential_process, Ctrl-C (and Ctrl-D) at the
/// prompt say one line on stderr, which the AWS CLI shows as the reason.
#[test]
fn ctrl_c_under_credential_process_says_one_line() {
    for key in ["\x03", "\x04"] {
        let sts = FakeSts::start();
        let env = TestEnv::seeded();
        let snap = env.snapshot();
        let bin = bin_path();
        // Job control: mfa-exec is the terminal's foreground job, alone.
        let script = format!(
            "set -m; '{}' credential-process test >out.txt 2>err.txt; echo rc=$?; echo ERR; cat err.txt; echo OUT; cat out.txt; echo END",
            bin.display()
        );
        let mut pty = env.pty_program(
            std::path::Path::new("/bin/sh"),
            &["-c", &script],
            Some(&sts),
        );
        pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
        pty.send(key);
        pty.expect("rc=130\r\nERR\r\nmfa-exec: error: the MFA code prompt for profile 'test' was interrupted; nothing was sent\r\nOUT\r\nEND\r\n");
        assert_eq!(pty.wait(), 0);
        assert_eq!(sts.count(), 0);
        env.assert_unchanged(&snap);
    }
}
