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

/// Issue 21: a setting in the credentials file's `[P]` wins over the config
/// (botocore merges it; so does a run). configure reads it as the current
/// value, and changes it there rather than writing a config value a run
/// would ignore; it says so before the preview.
#[test]
fn a_setting_in_the_credentials_file_is_changed_where_it_lives() {
    let env = TestEnv::new();
    // Settings beside another tool's session in [work] (where the session
    // of work goes: mfa-exec may replace that session).
    let creds = format!("{SEED_CREDENTIALS}\n[work]\naws_access_key_id = ASIAWORK000000000000\naws_secret_access_key = s\naws_session_token = t\nmfa_serial = {SEED_SERIAL}\nregion = us-east-2\n");
    env.write_config(SEED_CONFIG);
    env.write_credentials(&creds);
    // The current values are the ones a run reads: only the source is new.
    env.cmd(&["configure", "work", "--source-profile", "testAccount", "--yes", "--no-input"])
        .assert()
        .success()
        .stdout("")
        .stderr("~/.aws/config:\n  + \n  + [profile work]\n  + source_profile = testAccount\nmfa-exec: profile 'work' configured; try: mfa-exec work -- aws sts get-caller-identity\n");
    let config = format!("{SEED_CONFIG}\n[profile work]\nsource_profile = testAccount\n");
    assert_eq!(env.read_config(), config);
    assert_eq!(env.read_credentials(), creds);
    let snap = env.snapshot();
    env.cmd(&[
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--region",
        "us-east-2",
        "--yes",
        "--no-input",
    ])
    .assert()
    .success()
    .stderr("mfa-exec: profile 'work' is already configured that way; nothing to change\n");
    env.assert_unchanged(&snap);
    // A new region goes where the region lives; the config is not touched.
    env.cmd(&[
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--region",
        "eu-west-1",
        "--yes",
        "--no-input",
    ])
    .assert()
    .success()
    .stdout("")
    .stderr("mfa-exec: region of profile 'work' is set in ~/.aws/credentials:11 [work] (the credentials file wins over ~/.aws/config): changed there\n~/.aws/credentials:\n  [work]\n  - region = us-east-2\n  + region = eu-west-1\nmfa-exec: profile 'work' configured; try: mfa-exec work -- aws sts get-caller-identity\n");
    assert_eq!(env.read_config(), config);
    assert_eq!(
        env.read_credentials(),
        creds.replace("us-east-2", "eu-west-1")
    );
    let out = env.cmd(&["explain", "work"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("region ")
            && l.ends_with("eu-west-1  (~/.aws/credentials:11 [work])")),
        "{text}"
    );
    // A setting only the config has still goes to the config.
    env.cmd(&[
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--duration",
        "1h",
        "--yes",
        "--no-input",
    ])
    .assert()
    .success()
    .stderr("~/.aws/config:\n  [profile work]\n  + duration_seconds = 3600\nmfa-exec: profile 'work' configured; try: mfa-exec work -- aws sts get-caller-identity\n");
    assert_eq!(
        env.read_config(),
        format!("{config}duration_seconds = 3600\n")
    );
}

/// A role_arn in the credentials file's `[P]` makes P a role profile to a
/// run (and to botocore): configure refuses it, naming that file and line.
#[test]
fn a_role_in_the_credentials_file_is_refused() {
    let env = TestEnv::seeded();
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}\n[r]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\n"
    ));
    let snap = env.snapshot();
    env.cmd(&["configure", "r", "--mfa-serial", SEED_SERIAL, "--source-profile", "testAccount", "--yes", "--no-input"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: profile 'r' is a role profile (~/.aws/credentials:7 [r]); configure sets up GetSessionToken profiles\nhint: edit role profiles by hand: role_arn, source_profile, mfa_serial\n");
    env.assert_unchanged(&snap);
}
