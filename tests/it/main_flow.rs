//! The main flow against the fake STS: cached path, refresh, the child, errors.

use crate::support::*;
use predicates::prelude::*;
use std::time::{Duration, Instant};

const SESSION_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_SESSION_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "MFA_EXEC_PROFILE",
];

fn env_lines(out: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

#[test]
fn seed_first_run_writes_session_second_run_is_cached() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded()
        .with_env("AWS_PROFILE", "someone-else")
        .with_env("AWS_ACCESS_KEY_ID", "AKIAINHERITED0000000")
        .with_env("MFA_EXEC_TOKEN_CODE", "123456");
    let out = env
        .cmd_with_sts(&["test", "--", "env"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    let req = sts.last_request().unwrap();
    assert_eq!(
        req.access_key_id.as_deref(),
        Some(SEED_KEY_ID),
        "signed with the long-term key, not the inherited one"
    );
    assert_eq!(req.param("SerialNumber"), Some(SEED_SERIAL));
    assert_eq!(req.param("TokenCode"), Some("123456"));
    assert_eq!(req.param("DurationSeconds"), Some("43200"));
    assert_eq!(req.region.as_deref(), Some("ap-northeast-2"));
    let issued = sts.last_issued().unwrap();

    let vars = env_lines(&out.stdout);
    for name in SESSION_VARS {
        assert_eq!(
            vars.iter().filter(|(k, _)| k == name).count(),
            1,
            "{name} exactly once"
        );
    }
    for gone in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "MFA_EXEC_TOKEN_CODE"] {
        assert!(!vars.iter().any(|(k, _)| k == gone), "{gone} removed");
    }
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("AWS_ACCESS_KEY_ID"), issued.access_key_id);
    assert_eq!(get("AWS_SESSION_TOKEN"), issued.session_token);
    assert_eq!(get("AWS_REGION"), "ap-northeast-2");
    assert_eq!(get("MFA_EXEC_PROFILE"), "test");
    assert_eq!(
        get("AWS_CREDENTIAL_EXPIRATION"),
        get("AWS_SESSION_EXPIRATION")
    );
    assert!(get("AWS_CREDENTIAL_EXPIRATION").ends_with('Z'));
    // Secrets never reach stderr.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains(&issued.secret_access_key) && !err.contains(SEED_SECRET),
        "{err}"
    );

    let creds = env.read_credentials();
    assert!(
        creds.starts_with(SEED_CREDENTIALS),
        "the long-term section is untouched:\n{creds}"
    );
    let added = &creds[SEED_CREDENTIALS.len()..];
    assert_eq!(
        added,
        format!(
            "\n[test]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\nx_security_token_expires = {}\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n",
            issued.access_key_id,
            issued.secret_access_key,
            issued.session_token,
            get("AWS_CREDENTIAL_EXPIRATION")
        )
    );
    assert_eq!(env.mode(&env.credentials_path()), Some(0o600));

    // Second run: no request, same session, no code needed.
    let env2 = TestEnv::new();
    drop(env2);
    let out2 = env
        .cmd_with_sts(&["test", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out2.stdout).trim(),
        issued.access_key_id
    );
    assert_eq!(sts.count(), 1, "the cached path makes no request");
}

#[test]
fn child_exit_code_and_not_found() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "sh", "-c", "exit 7"], &sts)
        .assert()
        .code(7);
    env.cmd_with_sts(&["test", "--", "nosuchcmd"], &sts)
        .assert()
        .code(127)
        .stderr("mfa-exec: error: command not found: nosuchcmd\n");
    let script = env.home().join("noexec.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    env.cmd_with_sts(&["test", "--", script.to_str().unwrap()], &sts)
        .assert()
        .code(126)
        .stderr(predicate::str::starts_with("mfa-exec: error: cannot run "));
    assert_eq!(sts.count(), 1);
}

#[test]
fn leading_zero_code_is_sent_as_is() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("012345"));
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "--token-code", " 012345 ", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(
        sts.last_request().unwrap().param("TokenCode"),
        Some("012345")
    );
}

#[test]
fn malformed_code_from_flag_is_not_sent() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    for code in ["12345", "1234567", "12a456", "١٢٣٤٥٦"] {
        env.cmd_with_sts(&["test", "-t", code, "--", "touch", "ran"], &sts)
            .assert()
            .code(125)
            .stderr("mfa-exec: error: the MFA code from --token-code is not 6 digits\nhint: a code is exactly 6 digits, such as 012345\n");
    }
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// Issue 25 item 5: a malformed code on the command line or in
/// MFA_EXEC_TOKEN_CODE is refused on every run, also while a session is
/// cached (and inside a nested run that would pass straight through).
#[test]
fn malformed_code_is_refused_while_a_session_is_cached() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count(), 1);
    let snap = env.snapshot();
    let flag = "mfa-exec: error: the MFA code from --token-code is not 6 digits\nhint: a code is exactly 6 digits, such as 012345\n";
    let var = "mfa-exec: error: the MFA code from MFA_EXEC_TOKEN_CODE is not 6 digits\nhint: a code is exactly 6 digits, such as 012345\n";
    for args in [
        &["test", "-t", "12345", "--", "touch", "ran"][..],
        &[
            "exec",
            "test",
            "--token-code",
            "1234567",
            "--",
            "touch",
            "ran",
        ],
        &["export", "test", "-t", "12a456"],
        &["credential-process", "test", "-t", "12345"],
    ] {
        env.cmd_with_sts(args, &sts)
            .assert()
            .code(125)
            .stdout("")
            .stderr(flag);
    }
    for args in [&["test", "--", "touch", "ran"][..], &["export", "test"]] {
        env.cmd_with_sts(args, &sts)
            .env("MFA_EXEC_TOKEN_CODE", "12345")
            .assert()
            .code(125)
            .stdout("")
            .stderr(var);
    }
    // Inside `mfa-exec test`, where the run would pass straight through.
    let bin = bin_path();
    let bin = bin.to_str().unwrap();
    let nested = "exec \"$0\" test -t 12345 -- touch ran";
    env.cmd_with_sts(&["test", "--", "sh", "-c", nested, bin], &sts)
        .assert()
        .code(125)
        .stderr(flag);
    assert!(!env.home().join("ran").exists());
    // The flag is checked, not used: a well-formed one (the spaced form too)
    // still runs on the cached session.
    env.cmd_with_sts(&["test", "-t", "654 321", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count(), 1, "nothing was sent");
    env.assert_unchanged(&snap);
}

#[test]
fn no_terminal_and_no_code_fails_at_once() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: no terminal to ask for the MFA code of profile 'test'\nhint: run 'mfa-exec test' in a terminal once, or pass --token-code / MFA_EXEC_TOKEN_CODE; a desktop dialog (mfa_exec_prompt = auto, zenity, kdialog) needs DISPLAY or WAYLAND_DISPLAY, and neither is set\n");
    env.cmd_with_sts(&["test", "--no-input", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: an MFA code is needed for test and --no-input forbids asking\nhint: pass --token-code or set MFA_EXEC_TOKEN_CODE\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// Each row of the SPEC §7 table: its message, exit 125, files untouched, no command.
#[test]
fn sts_error_table() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::invalid_mfa(), "mfa-exec: error: the MFA code was wrong or already used (STS: AccessDenied)\nhint: wait for the next code and run the command again\n"),
        (Reply::wrong_device(), "mfa-exec: error: the MFA device arn:aws:iam::123456789012:mfa/test does not belong to the user of the keys in [testAccount] of ~/.aws/credentials (STS: AccessDenied)\nhint: run 'mfa-exec explain test'\n"),
        (Reply::invalid_client_token_id(), "mfa-exec: error: the long-term keys of [testAccount] of ~/.aws/credentials are wrong or deactivated (STS: InvalidClientTokenId)\nhint: run 'mfa-exec explain test'\n"),
        (Reply::signature_mismatch(), "mfa-exec: error: the secret key of [testAccount] of ~/.aws/credentials is wrong (STS: SignatureDoesNotMatch)\nhint: run 'mfa-exec explain test'\n"),
        (Reply::region_disabled(), "mfa-exec: error: STS is not enabled in region ap-northeast-2 (from ~/.aws/config:8 [profile test]) (STS: RegionDisabledException)\nhint: set another region for the profile, or enable the region in IAM account settings\n"),
    ];
    for (reply, expected) in cases {
        let sts = FakeSts::start();
        sts.push(reply);
        let env = TestEnv::seeded();
        let snap = env.snapshot();
        env.cmd_with_sts(&["test", "-t", "123456", "--", "touch", "ran"], &sts)
            .assert()
            .code(125)
            .stderr(format!(
                "mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\n{expected}",
                sts.url()
            ));
        assert_eq!(sts.count(), 1, "not retried: {expected}");
        assert!(!env.home().join("ran").exists());
        env.assert_unchanged(&snap);
    }
}

#[test]
fn signature_expired_says_how_far_off_the_clock_is() {
    let sts = FakeSts::start();
    sts.set_clock_skew(chrono::Duration::minutes(-20));
    // The SDK corrects its clock and retries once; a server that keeps refusing
    // surfaces the error.
    sts.fail_always(Reply::signature_expired());
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr(predicate::str::contains("\nmfa-exec: error: the system clock is off by 20m (ahead); STS refused the request as expired (STS: SignatureDoesNotMatch)\n"));
    env.assert_unchanged(&snap);
}

#[test]
fn clock_skew_warning() {
    let sts = FakeSts::start();
    sts.set_clock_skew(chrono::Duration::minutes(5));
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "mfa-exec: warning: the system clock is 5m behind STS's clock",
        ));
}

#[test]
fn closed_port_fails_fast() {
    let env = TestEnv::seeded();
    let port = free_closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let snap = env.snapshot();
    let start = Instant::now();
    env.cmd(&["test", "-t", "123456", "--", "true"])
        .env("AWS_ENDPOINT_URL_STS", &url)
        .assert()
        .code(125)
        .stderr(predicate::str::contains(format!(
            "mfa-exec: error: STS unreachable at {url}: connection refused\n"
        )));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    env.assert_unchanged(&snap);
}

#[test]
fn stalled_server_fails_within_the_operation_timeout() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::Stall(Duration::from_secs(40)));
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let start = Instant::now();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stderr(predicate::str::contains(
            "mfa-exec: error: STS unreachable at",
        ));
    assert!(
        start.elapsed() < Duration::from_secs(31),
        "took {:?}",
        start.elapsed()
    );
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

#[test]
fn mfa_process_last_six_digit_token() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("654321"));
    let env = TestEnv::seeded();
    let log = env.home().join("calls.log");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = echo called >> {} ; echo work 123456789012 654321\n",
        log.display()
    ));
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(
        sts.last_request().unwrap().param("TokenCode"),
        Some("654321")
    );
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "called\n",
        "mfa_process runs only when a code is needed"
    );
}

#[test]
fn mfa_process_garbage_and_timeout() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.write_config(&format!("{SEED_CONFIG}mfa_process = echo garbage\n"));
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) printed no 6-digit code\nhint: it must print the code alone, or as the last 6-digit word of its output\n");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = sleep 30\nmfa_process_timeout = 1\n"
    ));
    let snap2 = env.snapshot();
    let start = Instant::now();
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) gave no code within 1s; it was stopped\n");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap2);
    drop(snap);
}

#[test]
fn credentials_round_trip_byte_for_byte() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    let original = "\u{feff}; top comment\r\n[other]\r\nregion=eu-west-1   \r\n\r\n# long-term\r\n[testAccount]\r\nAWS_ACCESS_KEY_ID = AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\n\r\n[test] # mine\r\naws_access_key_id=ASIAOLDOLDOLDOLDOLD0\r\n; keep this\r\naws_secret_access_key = old\r\naws_session_token = old\r\nx_mfa_exec_source = testAccount\r\nunknown_key = stays\r\n\r\n[last]\r\nk = v";
    env.write_credentials(original);
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let i = sts.last_issued().unwrap();
    let after = env.read_credentials();
    let exp = after
        .lines()
        .find_map(|l| l.strip_prefix("x_security_token_expires = "))
        .unwrap()
        .trim_end()
        .to_string();
    let expected = format!("\u{feff}; top comment\r\n[other]\r\nregion=eu-west-1   \r\n\r\n# long-term\r\n[testAccount]\r\nAWS_ACCESS_KEY_ID = AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\n\r\n[test] # mine\r\naws_access_key_id={}\r\n; keep this\r\naws_secret_access_key = {}\r\naws_session_token = {}\r\nx_mfa_exec_source = testAccount\r\nunknown_key = stays\r\nx_security_token_expires = {exp}\r\nx_mfa_exec_serial = {SEED_SERIAL}\r\n\r\n[last]\r\nk = v", i.access_key_id, i.secret_access_key, i.session_token);
    assert_eq!(after, expected, "{}", line_diff(&expected, &after));
}

#[test]
fn symlinked_credentials_stay_a_symlink_and_modes() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    let real_dir = env.home().join("dotfiles");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("credentials");
    std::fs::write(&real, SEED_CREDENTIALS).unwrap();
    env.set_mode(&real, 0o640);
    std::os::unix::fs::symlink(&real, env.credentials_path()).unwrap();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success()
        .stderr(predicate::str::contains("is readable by others (mode 640)"));
    let meta = std::fs::symlink_metadata(env.credentials_path()).unwrap();
    assert!(meta.file_type().is_symlink(), "the symlink stays");
    assert!(std::fs::read_to_string(&real).unwrap().contains("[test]"));
    assert_eq!(env.mode(&real), Some(0o640), "the original mode is kept");
    let leftovers: Vec<_> = std::fs::read_dir(&real_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn missing_credentials_file_and_dir_created_private() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let dir = env.home().join("fresh");
    let creds = dir.join("credentials");
    env.write_config(&format!(
        "[profile solo]\nmfa_serial = {SEED_SERIAL}\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n"
    ));
    env.cmd_with_sts(&["solo", "-t", "123456", "--", "true"], &sts)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .assert()
        .success();
    assert_eq!(env.mode(&dir), Some(0o700));
    assert_eq!(env.mode(&creds), Some(0o600));
    assert!(std::fs::read_to_string(&creds)
        .unwrap()
        .starts_with("[solo]\n"));
}

#[test]
fn stale_lock_file_does_not_wedge() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    // A lock file left by a killed process: present, but nobody holds the lock.
    for entry in [
        "credentials.mfa-exec.lock",
        "credentials.mfa-exec-0000000000000000.lock",
    ] {
        std::fs::write(
            env.aws_dir().join(format!(".{entry}")),
            "pid 999999, profile test",
        )
        .unwrap();
    }
    let start = Instant::now();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    assert!(start.elapsed() < Duration::from_secs(5));
    // Kill -9 a holder mid-wait: its lock dies with it.
    env.write_config(&format!("{SEED_CONFIG}mfa_process = sleep 30\n"));
    let mut holder = env
        .std_cmd_with_sts(&["test", "--force", "--", "true"], &sts)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    holder.kill().unwrap();
    holder.wait().unwrap();
    env.write_config(SEED_CONFIG);
    let start = Instant::now();
    let code = fresh_code(); // AWS takes each code once
    env.cmd_with_sts(&["test", "--force", "-t", &code, "--", "true"], &sts)
        .assert()
        .success();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn nested_same_profile_passes_through() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let bin = bin_path();
    let out = env
        .cmd_with_sts(
            &[
                "test",
                "-t",
                "123456",
                "--",
                bin.to_str().unwrap(),
                "test",
                "--",
                "sh",
                "-c",
                "echo $AWS_ACCESS_KEY_ID",
            ],
            &sts,
        )
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        sts.last_issued().unwrap().access_key_id
    );
    assert_eq!(sts.count(), 1);
}

/// `MFA_EXEC_SERVER` read as resolution reads it: `no` / `off` is not a serve,
/// so a nested run of the same profile still passes straight through.
#[test]
fn nested_run_with_server_off_passes_through() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let bin = bin_path();
    for off in ["no", "off", "0", "FALSE"] {
        let out = env
            .cmd_with_sts(
                &[
                    "test",
                    "-t",
                    "123456",
                    "--",
                    bin.to_str().unwrap(),
                    "-v",
                    "test",
                    "--",
                    "true",
                ],
                &sts,
            )
            .env("MFA_EXEC_SERVER", off)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{off}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(
                "mfa-exec: already inside mfa-exec test with a fresh session; passing through\n"
            ),
            "MFA_EXEC_SERVER={off}: {err}"
        );
    }
    assert_eq!(sts.count(), 1);
}

#[test]
fn force_refreshes_and_min_remaining_rejected() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let code = fresh_code(); // AWS takes each code once
    env.cmd_with_sts(&["test", "-f", "-t", &code, "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count(), 2);
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "--min-remaining", "2h", "-d", "1h", "-t", "123456", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: --min-remaining (2h) must be shorter than the session duration (1h, from --duration)\nhint: run 'mfa-exec explain test'\n");
    // A fresh session with less than --min-remaining left is refreshed.
    env.cmd_with_sts(
        &[
            "test",
            "--min-remaining",
            "13h",
            "-d",
            "36h",
            "-t",
            &fresh_code(),
            "--",
            "true",
        ],
        &sts,
    )
    .assert()
    .success();
    assert_eq!(sts.count(), 3);
    drop(snap);
}
