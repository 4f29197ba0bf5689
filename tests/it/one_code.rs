//! One code, used once (issue 16, SPEC §8.5): a code already sent for a device
//! is never sent again. At the prompt the person is told and asked again; from
//! `mfa_process` the next 30-second step is awaited; from `--token-code` or
//! `MFA_EXEC_TOKEN_CODE` the run is refused before any request. The fake STS
//! checks real RFC 6238 codes (and refuses one it accepted before, as AWS
//! does), and `oathtool` — a TOTP generator nobody here wrote — makes them.

use crate::support::*;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/test";
const CODES_FILE: &str = ".credentials.mfa-exec.codes";

/// `oathtool` is there, or the test is skipped with a reason; in CI
/// (`CI=true`, where `.ci/run` installs it) a missing one fails the test.
fn have_oathtool() -> bool {
    let ok = std::process::Command::new("oathtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "oathtool is required in CI (.ci/run installs the Debian package)"
        );
        eprintln!("SKIPPED: oathtool is not installed (apt-get install oathtool)");
    }
    ok
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A clock offset for `MFA_EXEC_TEST_CLOCK_OFFSET_MS` that puts mfa-exec's
/// clock `phase_ms` into a 30-second step right now.
fn offset_to_phase(phase_ms: i64) -> String {
    let step = TOTP_STEP * 1000;
    (phase_ms - unix_ms().rem_euclid(step))
        .rem_euclid(step)
        .to_string()
}

/// Every run of digits followed by " s" becomes "N s" (seconds vary).
fn mask_seconds(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if s[i..].starts_with(" s") && (start == 0 || !b[start - 1].is_ascii_alphanumeric()) {
                out.push('N');
            } else {
                out.push_str(&s[start..i]);
            }
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Two roles over one hour under one source, each assumed directly with the
/// code, `mfa_process = oathtool --totp -b SECRET`, run back to back: two
/// distinct real codes, two accepted AssumeRole calls, nothing rejected. The
/// second run waits for the next step rather than failing.
#[test]
fn two_long_roles_back_to_back_with_oathtool() {
    if !have_oathtool() {
        return;
    }
    let sts = FakeSts::start();
    sts.set_totp_secret(Some(TOTP_SECRET_B32));
    let env = TestEnv::new();
    let process = format!("oathtool --totp -b {TOTP_SECRET_B32}");
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = {SERIAL}\nduration_seconds = 7200\nmfa_process = {process}\n\n[profile stage]\nrole_arn = arn:aws:iam::333333333333:role/deploy\nsource_profile = testAccount\nmfa_serial = {SERIAL}\nduration_seconds = 7200\nmfa_process = {process}\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    // Start early in a step, so both runs fall in it and the second must wait.
    while unix_ms().rem_euclid(30_000) > 18_000 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = env
        .cmd_with_sts(&["-v", "prod", "--", "true"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    let second_started = unix_ms();
    let t = Instant::now();
    let second = env
        .cmd_with_sts(&["-v", "stage", "--", "true"], &sts)
        .timeout(Duration::from_secs(90))
        .assert()
        .success()
        .get_output()
        .clone();
    let took = t.elapsed();
    let accepted = sts.totp_accepted();
    assert_eq!(accepted.len(), 2, "{accepted:?}");
    assert_ne!(accepted[0], accepted[1], "two distinct codes");
    assert_eq!(
        sts.totp_rejected(),
        Vec::<String>::new(),
        "nothing rejected"
    );
    assert_eq!(sts.count(), 2, "no request but the two AssumeRole calls");
    assert_eq!(sts.count_action("AssumeRole"), 2);
    assert_eq!(sts.issued().len(), 2);
    let reqs = sts.requests();
    for (r, code) in reqs.iter().zip(&accepted) {
        assert_eq!(r.param("TokenCode"), Some(code.as_str()));
        assert_eq!(r.param("SerialNumber"), Some(SERIAL));
        assert_eq!(r.param("DurationSeconds"), Some("7200"));
        assert_eq!(r.access_key_id.as_deref(), Some(SEED_KEY_ID));
    }
    let creds = env.read_credentials();
    assert!(
        creds.contains("[prod") && creds.contains("[stage"),
        "{creds}"
    );
    assert!(!stderr_of(&first).contains("waiting for it"));
    // Same step as the first code: oathtool printed it again, so the run must
    // have waited for the next one.
    let secret = totp::base32_decode(TOTP_SECRET_B32);
    if totp(&secret, second_started / 1000) == accepted[0] {
        let err = stderr_of(&second);
        assert!(
            mask_seconds(&err).contains(
                "mfa-exec: the code from mfa_process was used N s ago; the next code appears in N s; waiting for it\n"
            ),
            "{err}"
        );
        assert!(took < Duration::from_secs(45), "{took:?}");
    } else {
        eprintln!("note: the step changed between the runs; no wait was needed");
    }
}

/// A script standing in for an authenticator: prints the codes of `codes`
/// one per call (the last one again when they run out), logging each call.
fn scripted_process(env: &TestEnv, codes: &[&str]) -> (String, std::path::PathBuf) {
    let log = env.home().join("calls.log");
    let list = env.home().join("codes.txt");
    std::fs::write(&list, codes.join("\n") + "\n").unwrap();
    let script = env.home().join("authenticator.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho call >> '{log}'\nn=$(wc -l < '{log}')\nc=$(sed -n \"${{n}}p\" '{list}')\n[ -n \"$c\" ] || c=$(tail -n 1 '{list}')\necho \"$c\"\n",
            log = log.display(),
            list = list.display()
        ),
    )
    .unwrap();
    (format!("sh {}", script.display()), log)
}

fn calls(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}

/// From `mfa_process` on a terminal: the code it gave was already sent, so a
/// countdown to the next step is shown, the process runs again, and its new
/// code is sent. (The test clock puts the step boundary a few seconds away.)
#[test]
fn process_code_already_sent_waits_for_the_next_step_with_a_countdown() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let (process, log) = scripted_process(&env, &["111111", "111111", "222222"]);
    env.write_config(&format!("{SEED_CONFIG}mfa_process = {process}\n"));
    env.write_credentials(SEED_CREDENTIALS);
    let env = env.with_env("MFA_EXEC_TEST_CLOCK_OFFSET_MS", &offset_to_phase(24_000));
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(calls(&log), 1);
    let mut pty = env.pty(&["test", "--force", "--", "echo", "RAN"], Some(&sts));
    pty.expect("mfa-exec: the code from mfa_process was used ");
    pty.expect(" s ago; the next code appears in ");
    pty.expect_within("RAN", Duration::from_secs(40));
    assert_eq!(pty.wait(), 0);
    assert_eq!(calls(&log), 3, "run again after the wait");
    let sent: Vec<_> = sts
        .requests()
        .iter()
        .map(|r| r.param("TokenCode").unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        sent,
        ["111111", "222222"],
        "the repeated code was never sent"
    );
}

/// The next code would appear only after the process timeout: fail at once,
/// saying why; nothing sent, nothing written.
#[test]
fn process_code_already_sent_and_no_new_one_within_the_timeout() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let (process, log) = scripted_process(&env, &["111111"]);
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = {process}\nmfa_process_timeout = 3\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    // 5 s into a step: the next code is ~25 s away, past the 3 s timeout.
    let env = env.with_env("MFA_EXEC_TEST_CLOCK_OFFSET_MS", &offset_to_phase(5_000));
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .success();
    let snap = env.snapshot();
    let t = Instant::now();
    let out = env
        .cmd_with_sts(&["test", "--force", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stdout("")
        .get_output()
        .clone();
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(
        mask_seconds(&stderr_of(&out)),
        "mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) gave a code already used N s ago, and the next code appears after its 3s timeout; nothing was sent\nhint: run the command again in N s, or raise mfa_process_timeout\n"
    );
    assert_eq!(calls(&log), 2);
    assert_eq!(sts.count(), 1);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// `--token-code` and `MFA_EXEC_TOKEN_CODE` with a code already sent: refused
/// before any request, exit 125, files unchanged, command not run.
#[test]
fn given_code_already_sent_is_refused_before_any_request() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let snap = env.snapshot();
    let want = |what: &str| {
        format!("mfa-exec: error: the MFA code from {what} was already used N s ago for {SERIAL}; nothing was sent\nhint: AWS accepts each code once; pass the next code, which appears in N s\n")
    };
    let out = env
        .cmd_with_sts(&["test", "-f", "-t", "123456", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stdout("")
        .get_output()
        .clone();
    assert_eq!(mask_seconds(&stderr_of(&out)), want("--token-code"));
    let out = env
        .cmd_with_sts(&["test", "-f", "--", "touch", "ran"], &sts)
        .env("MFA_EXEC_TOKEN_CODE", "123456")
        .assert()
        .code(125)
        .stdout("")
        .get_output()
        .clone();
    assert_eq!(mask_seconds(&stderr_of(&out)), want("MFA_EXEC_TOKEN_CODE"));
    assert_eq!(sts.count(), 1);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
    // A role profile over one hour with the same device: refused the same way.
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = {SERIAL}\nduration_seconds = 7200\n"
    ));
    let snap = env.snapshot();
    let out = env
        .cmd_with_sts(&["prod", "-t", "123456", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .get_output()
        .clone();
    assert_eq!(mask_seconds(&stderr_of(&out)), want("--token-code"));
    assert_eq!(sts.count(), 1);
    env.assert_unchanged(&snap);
}

/// At the prompt: the same code typed twice is refused locally the second
/// time, with when the next code appears; the next code typed is sent.
#[test]
fn prompt_same_code_twice_is_refused_locally_with_the_countdown() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let mut pty = env.pty(&["test", "--", "echo", "RAN"], Some(&sts));
    pty.expect(&format!("MFA code for test ({SERIAL}): "));
    pty.send_line("123456");
    pty.expect("RAN");
    assert_eq!(pty.wait(), 0);
    let mut pty = env.pty(&["test", "--force", "--", "echo", "RAN"], Some(&sts));
    pty.expect(&format!("MFA code for test ({SERIAL}): "));
    pty.send_line("123456");
    pty.expect("mfa-exec: that code was used ");
    pty.expect(" s ago; the next code appears in ");
    pty.expect(" s; not sent");
    assert_eq!(sts.count(), 1, "refused locally");
    pty.expect(&format!("MFA code for test ({SERIAL}): "));
    pty.send_line("654321");
    pty.expect("RAN");
    assert_eq!(pty.wait(), 0);
    let sent: Vec<_> = sts
        .requests()
        .iter()
        .map(|r| r.param("TokenCode").unwrap_or_default().to_string())
        .collect();
    assert_eq!(sent, ["123456", "654321"]);
}

/// A code another tool used meanwhile (so not guarded here): STS refuses it,
/// and the message says "wrong or already used", as before.
#[test]
fn code_used_by_another_tool_is_rejected_by_sts_as_wrong_or_already_used() {
    let sts = FakeSts::start();
    sts.set_totp_secret(Some(TOTP_SECRET_B32));
    let env = TestEnv::seeded();
    let secret = totp::base32_decode(TOTP_SECRET_B32);
    let code = totp(&secret, unix_ms() / 1000);
    assert!(sts.totp_use_elsewhere(&code), "the fake took the real code");
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", &code, "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stdout("")
        .stderr(format!("mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: the MFA code was wrong or already used (STS: AccessDenied)\nhint: wait for the next code and run the command again\n", sts.url()));
    assert_eq!(sts.count(), 1);
    assert_eq!(sts.totp_rejected(), [code]);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// The state file holds no code, is private, and sits beside the locks.
#[test]
fn state_file_is_private_and_holds_no_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "135790", "--", "true"], &sts)
        .assert()
        .success();
    let path = env.aws_dir().join(CODES_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("135790"), "{text}");
    assert!(!text.contains(SERIAL), "{text}");
    assert_eq!(env.mode(&path), Some(0o600));
    assert!(text.len() < 1024, "small: {} bytes\n{text}", text.len());
}

/// A corrupt state file: the guard is off for that run (`--verbose` says so),
/// the run succeeds, and the file is replaced so the next run is guarded.
#[test]
fn corrupt_state_file_guard_off_run_succeeds() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let path = env.aws_dir().join(CODES_FILE);
    std::fs::write(&path, "\u{0}\u{1}garbage{").unwrap();
    let out = env
        .cmd_with_sts(&["-v", "test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr_of(&out);
    assert!(
        err.contains("mfa-exec: the one-code guard is off for this run: ~/.aws/.credentials.mfa-exec.codes is not a used-codes file\n"),
        "{err}"
    );
    assert_eq!(sts.count(), 1);
    // Without --verbose nothing is said.
    let env2 = TestEnv::seeded();
    std::fs::write(env2.aws_dir().join(CODES_FILE), "garbage").unwrap();
    env2.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success()
        .stderr(format!(
            "mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\n",
            sts.url()
        ));
    // Replaced: the next run with the same code is refused again.
    env.cmd_with_sts(&["test", "-f", "-t", "123456", "--", "true"], &sts)
        .assert()
        .code(125);
    assert_eq!(sts.count(), 2);
}

/// A state file that cannot be written (a directory in its place): the guard
/// is off for every such run, and each run succeeds.
#[test]
fn unwritable_state_file_guard_off_runs_succeed() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let path = env.aws_dir().join(CODES_FILE);
    std::fs::create_dir(&path).unwrap();
    for force in [false, true] {
        let mut args = vec!["-v", "test", "-t", "123456", "--", "true"];
        if force {
            args.insert(2, "-f");
        }
        let out = env
            .cmd_with_sts(&args, &sts)
            .assert()
            .success()
            .get_output()
            .clone();
        let err = stderr_of(&out);
        assert!(
            err.contains("mfa-exec: the one-code guard is off for this run: ~/.aws/.credentials.mfa-exec.codes is not a used-codes file\n"),
            "{err}"
        );
    }
    assert_eq!(sts.count(), 2, "guard off: both runs sent their code");
    assert!(path.is_dir());
    assert!(env.read_credentials().contains("\n[test]\n"));
}
