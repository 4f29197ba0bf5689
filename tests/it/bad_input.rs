//! Bad inputs not covered elsewhere: each gives its exact error, exit 125, makes
//! no STS request, leaves both files as they were, and does not run the command.

use crate::support::*;

/// Runs `args` against the files and checks the whole outcome.
fn refused(
    config: &str,
    credentials: &str,
    args: &[&str],
    env_vars: &[(&str, &str)],
    stderr: &str,
) {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(config);
    env.write_credentials(credentials);
    let snap = env.snapshot();
    let mut cmd = env.cmd_with_sts(args, &sts);
    for (k, v) in env_vars {
        cmd.env(k, v);
    }
    cmd.assert().code(125).stdout("").stderr(stderr.to_string());
    assert_eq!(sts.count(), 0, "no request for {args:?}");
    assert!(
        !env.home().join("ran").exists(),
        "the command ran for {args:?}"
    );
    env.assert_unchanged(&snap);
}

const RUN: &[&str] = &["test", "-t", "123456", "--", "touch", "ran"];

#[test]
fn invalid_mfa_serial_flag() {
    let args = [
        "test",
        "--mfa-serial",
        "bad serial",
        "-t",
        "123456",
        "--",
        "touch",
        "ran",
    ];
    refused(SEED_CONFIG, SEED_CREDENTIALS, &args, &[], "mfa-exec: error: invalid MFA device 'bad serial' (from --mfa-serial): expected an ARN such as arn:aws:iam::123456789012:mfa/name (9-256 characters of letters, digits and +=/:,.@_-)\nhint: run 'mfa-exec explain test'\n");
}

#[test]
fn invalid_min_remaining_variable() {
    let msg = "mfa-exec: error: MFA_EXEC_MIN_REMAINING: invalid duration 'abc' (use seconds or units h, m, s: 3600, 90m, 12h)\n";
    refused(
        SEED_CONFIG,
        SEED_CREDENTIALS,
        RUN,
        &[("MFA_EXEC_MIN_REMAINING", "abc")],
        &format!("{msg}hint: run 'mfa-exec explain test'\n"),
    );
    refused(
        SEED_CONFIG,
        SEED_CREDENTIALS,
        &["list"],
        &[("MFA_EXEC_MIN_REMAINING", "abc")],
        msg,
    );
}

#[test]
fn duration_seconds_out_of_range() {
    let config = format!("{SEED_CONFIG}duration_seconds = 10\n");
    refused(&config, SEED_CREDENTIALS, RUN, &[], "mfa-exec: error: duration_seconds 10s (from ~/.aws/config:9 [profile test]) is out of range: 15m to 36h\nhint: run 'mfa-exec explain test'\n");
}

#[test]
fn invalid_mfa_process_timeout() {
    let config = format!("{SEED_CONFIG}mfa_process = echo 123456\nmfa_process_timeout = soon\n");
    refused(&config, SEED_CREDENTIALS, &["test", "--", "touch", "ran"], &[], "mfa-exec: error: mfa_process_timeout in ~/.aws/config:10 [profile test]: invalid duration 'soon' (use seconds or units h, m, s: 3600, 90m, 12h)\nhint: run 'mfa-exec explain test'\n");
}

#[test]
fn key_id_without_secret() {
    let creds = "[testAccount]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n";
    refused(SEED_CONFIG, creds, RUN, &[], "mfa-exec: error: [testAccount] in ~/.aws/credentials:2 has aws_access_key_id but no aws_secret_access_key\nhint: run 'mfa-exec explain test'\n");
}

#[test]
fn no_long_term_keys_anywhere() {
    refused(SEED_CONFIG, "# nothing here\n", RUN, &[], "mfa-exec: error: no long-term keys for profile 'test': searched [test-long-term], [test], [testAccount-long-term], [testAccount] in ~/.aws/credentials, and [profile test], [profile testAccount] in ~/.aws/config\nhint: run 'mfa-exec configure test', or 'mfa-exec explain test'\n");
}

#[test]
fn session_only_source() {
    let creds = "[testAccount]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\naws_session_token = t\n";
    refused(SEED_CONFIG, creds, RUN, &[], "mfa-exec: error: [testAccount] in ~/.aws/credentials holds only session credentials (aws_session_token); STS refuses GetSessionToken with them\nhint: put the long-term keys of 'testAccount' in [testAccount] or [testAccount-long-term]\n");
}

#[test]
fn role_problems() {
    let no_source = "[profile r]\nrole_arn = arn:aws:iam::210987654321:role/admin\n";
    refused(no_source, SEED_CREDENTIALS, &["r", "--", "touch", "ran"], &[], "mfa-exec: error: role profile 'r' (~/.aws/config:2 [profile r]) has no source_profile\nhint: add source_profile = <profile with long-term keys>\n");
    let bad_name = format!("{SEED_CONFIG}\n[profile r]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nrole_session_name = a b\n");
    refused(&bad_name, SEED_CREDENTIALS, &["r", "--", "touch", "ran"], &[], "mfa-exec: error: invalid role_session_name 'a b' of profile 'r': 2-64 characters of letters, digits and +=,.@_-\nhint: run 'mfa-exec explain r'\n");
}

#[test]
fn destination_refused() {
    let dup = format!("{SEED_CREDENTIALS}\n[test]\nx = 1\n[test]\ny = 2\n");
    refused(SEED_CONFIG, &dup, RUN, &[], "mfa-exec: error: [test] appears twice in ~/.aws/credentials (lines 6 and 8); mfa-exec will not write into it\nhint: run 'mfa-exec explain test'\n");
    let settings = format!("{SEED_CREDENTIALS}\n[test]\nregion = eu-west-1\n");
    refused(SEED_CONFIG, &settings, RUN, &[], "mfa-exec: error: refusing to write the session into [test] (~/.aws/credentials:6): it holds settings that are not a session\nhint: move those keys to another section, or run 'mfa-exec explain test'\n");
}

#[test]
fn clear_and_configure_refusals() {
    refused(SEED_CONFIG, SEED_CREDENTIALS, &["clear", "nosuch"], &[], "mfa-exec: error: profile 'nosuch' not found in ~/.aws/config or ~/.aws/credentials\nhint: run 'mfa-exec list' to see the profiles\n");
    refused(
        SEED_CONFIG,
        SEED_CREDENTIALS,
        &["configure", "a b", "--yes", "--no-input"],
        &[],
        "mfa-exec: error: 'a b' cannot be a profile name (no spaces or brackets)\n",
    );
    let role = format!("{SEED_CONFIG}\n[profile r]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\n");
    refused(&role, SEED_CREDENTIALS, &["configure", "r", "--yes", "--no-input"], &[], "mfa-exec: error: profile 'r' is a role profile (~/.aws/config:11 [profile r]); configure sets up GetSessionToken profiles\nhint: edit role profiles by hand: role_arn, source_profile, mfa_serial\n");
}

/// An `mfa_process` that asks mfa-exec for the same session would wait on the
/// lock its own caller holds: the inner call is refused at once.
#[test]
fn mfa_process_calling_credential_process_for_itself() {
    let bin = bin_path();
    let config = format!(
        "{SEED_CONFIG}mfa_process = {} credential-process test\n",
        bin.display()
    );
    refused(&config, SEED_CREDENTIALS, &["test", "--", "touch", "ran"], &[], "mfa-exec: error: loop: mfa-exec credential-process test runs inside the mfa_process that fetches the code of test\nmfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) failed (exit status: 125)\n");
}

/// A second process gives up after `--lock-timeout`, naming the holder.
#[test]
fn lock_timeout() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = env.home().join("asked");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = touch {} ; sleep 4 ; echo 123456\n",
        log.display()
    ));
    let snap = env.snapshot();
    let holder = env
        .std_cmd_with_sts(&["test", "--", "true"], &sts)
        .spawn()
        .unwrap();
    let pid = holder.id();
    wait_for_file(&log); // the holder has the lock once its mfa_process runs
    let lock = std::fs::read_dir(env.aws_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.to_string_lossy().contains(".mfa-exec-") && p.to_string_lossy().ends_with(".lock")
        })
        .unwrap();
    env.cmd_with_sts(&["test", "--lock-timeout", "1", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stderr(format!(
            "mfa-exec: waiting for pid {pid}, profile test, which is getting the MFA session of 'testAccount'\nmfa-exec: error: gave up after 1s waiting for the lock ~/.aws/{} (held by pid {pid}, profile test)\nhint: another mfa-exec is waiting for a code; answer it, or raise --lock-timeout\n",
            lock.file_name().unwrap().to_string_lossy()
        ));
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
    assert!(holder.wait_with_output().unwrap().status.success());
}
