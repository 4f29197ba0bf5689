//! `mfa-exec configure` (issue 9): through flags and through a pseudo-terminal.

use crate::support::*;
use std::io::Write;
use std::process::Stdio;

#[test]
fn flags_add_exactly_the_shown_lines_and_rerun_is_idempotent() {
    let env = TestEnv::seeded();
    let config_before = env.read_config();
    let creds_before = env.read_credentials();
    let out = env
        .cmd(&[
            "configure",
            "work",
            "--source-profile",
            "testAccount",
            "--mfa-serial",
            SEED_SERIAL,
            "--region",
            "eu-west-1",
            "--yes",
            "--no-input",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        format!("~/.aws/config:\n  + \n  + [profile work]\n  + source_profile = testAccount\n  + mfa_serial = {SEED_SERIAL}\n  + region = eu-west-1\nmfa-exec: profile 'work' configured; try: mfa-exec work -- aws sts get-caller-identity\n")
    );
    assert_eq!(
        env.read_config(),
        format!("{config_before}\n[profile work]\nsource_profile = testAccount\nmfa_serial = {SEED_SERIAL}\nregion = eu-west-1\n")
    );
    assert_eq!(
        env.read_credentials(),
        creds_before,
        "credentials untouched"
    );
    // Second run: nothing changes.
    let snap = env.snapshot();
    env.cmd(&[
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--mfa-serial",
        SEED_SERIAL,
        "--region",
        "eu-west-1",
        "--yes",
        "--no-input",
    ])
    .assert()
    .success()
    .stderr("mfa-exec: profile 'work' is already configured that way; nothing to change\n");
    env.assert_unchanged(&snap);
    // Changing one answer changes one line.
    env.cmd(&[
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--mfa-serial",
        SEED_SERIAL,
        "--region",
        "us-east-2",
        "--yes",
        "--no-input",
    ])
    .assert()
    .success();
    assert_eq!(
        env.read_config(),
        format!("{config_before}\n[profile work]\nsource_profile = testAccount\nmfa_serial = {SEED_SERIAL}\nregion = us-east-2\n")
    );
    // The result resolves.
    env.cmd(&["explain", "work"]).assert().success();
}

#[test]
fn new_keys_from_stdin_never_from_a_flag() {
    let env = TestEnv::new();
    env.write_config("# my config\n[profile other]\nregion = x\n");
    env.write_credentials("# my keys\n");
    let mut child = env
        .std_cmd(&[
            "configure",
            "solo",
            "--access-key-id",
            SEED_KEY_ID,
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{SEED_SECRET}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains(SEED_SECRET),
        "the secret is masked in the preview: {err}"
    );
    assert!(
        err.contains("+ aws_secret_access_key = ****************"),
        "{err}"
    );
    assert_eq!(
        env.read_credentials(),
        format!("# my keys\n\n[solo-long-term]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n")
    );
    assert_eq!(
        env.read_config(),
        format!("# my config\n[profile other]\nregion = x\n\n[profile solo]\nsource_profile = solo-long-term\nmfa_serial = {SEED_SERIAL}\n")
    );
    // There is no flag for the secret.
    env.cmd(&["configure", "x", "--secret-access-key", "abc"])
        .assert()
        .code(125);
}

#[test]
fn bad_answers_are_refused_and_nothing_written() {
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd(&["configure", "work", "--source-profile", "testAccount", "--mfa-serial", "nope", "--yes", "--no-input"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: invalid MFA device 'nope': expected an ARN such as arn:aws:iam::123456789012:mfa/name\n");
    env.cmd(&[
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--mfa-serial",
        SEED_SERIAL,
        "--no-input",
    ])
    .assert()
    .code(125)
    .stderr("mfa-exec: error: --no-input needs --yes (there is nobody to confirm)\n");
    env.cmd(&["configure", "work", "--access-key-id", "not-a-key", "--secret-from-stdin", "--yes", "--no-input"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: 'not-*-key' is not a long-term access key id (AKIA followed by letters and digits)\n");
    env.assert_unchanged(&snap);
}

#[test]
fn interactive_through_a_terminal() {
    let env = TestEnv::seeded();
    let config_before = env.read_config();
    let mut pty = env.pty(&["configure", "test"], None);
    // Current values are the defaults: the source is testAccount (first item).
    pty.expect("Profile holding the long-term keys");
    pty.send_line("");
    pty.expect("MFA device ARN");
    // Derived from user_arn: arn:aws:iam::123456789012:mfa/test.
    pty.expect("arn:aws:iam::123456789012:mfa/test");
    pty.send_line("");
    pty.expect("Region");
    pty.send_line("");
    pty.expect("Session duration");
    pty.send_line("8h");
    // The section is named before its lines (issue 25 item 16).
    pty.expect("~/.aws/config:\r\n  [profile test]\r\n  + duration_seconds = 28800\r\n");
    pty.expect("Write these changes?");
    pty.send_line("y");
    pty.expect("configured");
    assert_eq!(pty.wait(), 0);
    let after = env.read_config();
    assert_eq!(
        after,
        config_before.replace(
            "region = ap-northeast-2\n",
            "region = ap-northeast-2\nduration_seconds = 28800\n"
        ),
        "only the changed keys are added, in place (the device already resolves through testAccount's mfa_arn)"
    );
}
