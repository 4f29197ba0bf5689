//! The command-line surface: parse tree, usage errors, exit codes.

use crate::support::*;
use predicates::prelude::*;

#[test]
fn help_lists_main_form_and_every_subcommand() {
    let env = TestEnv::new();
    let out = env
        .cmd(&["--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("mfa-exec [OPTIONS] <PROFILE> [-- <COMMAND>...]"),
        "{text}"
    );
    for sub in [
        "exec",
        "list",
        "clear",
        "export",
        "credential-process",
        "completions",
        "configure",
        "explain",
        "help",
    ] {
        assert!(
            text.contains(&format!("\n  {sub}")),
            "missing {sub} in\n{text}"
        );
    }
}

#[test]
fn usage_error_exits_125_with_one_line() {
    let env = TestEnv::new();
    let snap = env.snapshot();
    env.cmd(&["test", "--no-such-flag"])
        .assert()
        .code(125)
        .stderr(predicate::str::starts_with(
            "mfa-exec: error: unexpected argument '--no-such-flag' found\n",
        ))
        .stderr(predicate::str::contains("backtrace").not());
    env.cmd(&["completions", "tcsh"])
        .assert()
        .code(125)
        .stderr(predicate::str::starts_with(
            "mfa-exec: error: invalid value 'tcsh' for '<SHELL>'",
        ));
    env.cmd(&["test", "--duration", "1d"])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("invalid duration '1d'"));
    env.assert_unchanged(&snap);
}

/// Issue 25 item 1: clap's whole message (what is missing, the possible
/// values, its usage line) in mfa-exec's style, exit 125, nothing written.
#[test]
fn usage_errors_keep_claps_whole_message() {
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let cases: [(&[&str], &str); 5] = [
        (
            &["clear"],
            "mfa-exec: error: the following required arguments were not provided: <PROFILE>...\nusage: mfa-exec clear [OPTIONS] <PROFILE>...\n       mfa-exec clear [OPTIONS] --all\nhint: see 'mfa-exec clear --help'\n",
        ),
        (
            &["explain"],
            "mfa-exec: error: the following required arguments were not provided: <PROFILE>\nusage: mfa-exec explain <PROFILE>\nhint: see 'mfa-exec explain --help'\n",
        ),
        (
            &["keys", "move", "testAccount"],
            "mfa-exec: error: the following required arguments were not provided: --to <PLACE>\nusage: mfa-exec keys move --to <PLACE> <PROFILE>\nhint: see 'mfa-exec keys move --help'\n",
        ),
        (
            &["-v", "export", "test", "--format", "yaml"],
            "mfa-exec: error: invalid value 'yaml' for '--format <FORMAT>' [possible values: sh, fish, powershell, dotenv, json]\nhint: see 'mfa-exec export --help'\n",
        ),
        (
            &["test", "--no-such-flag"],
            "mfa-exec: error: unexpected argument '--no-such-flag' found\nusage: mfa-exec [OPTIONS] <PROFILE> [-- <COMMAND>...]\n       mfa-exec <SUBCOMMAND> [ARGS]\nhint: to pass '--no-such-flag' as a value, use '-- --no-such-flag'\n",
        ),
    ];
    for (args, expected) in cases {
        env.cmd(args).assert().code(125).stdout("").stderr(expected);
    }
    env.assert_unchanged(&snap);
}

#[test]
fn no_profile_is_a_usage_error() {
    let env = TestEnv::new();
    env.cmd(&[])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: a profile is required\nhint: usage: mfa-exec PROFILE [-- COMMAND...]; see 'mfa-exec --help'\n");
}

#[test]
fn version() {
    TestEnv::new()
        .cmd(&["--version"])
        .assert()
        .success()
        .stdout(format!("mfa-exec {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn list_is_subcommand_mylist_is_profile() {
    let env = TestEnv::seeded();
    env.cmd(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("PROFILE"));
    env.cmd(&["mylist", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: profile 'mylist' not found in ~/.aws/config or ~/.aws/credentials\nhint: run 'mfa-exec list' to see the profiles\n");
}

/// `--profile list` and `exec list` reach a profile named like a subcommand.
#[test]
fn reserved_names_reachable() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile list]\nsource_profile = testAccount\nmfa_serial = {SEED_SERIAL}\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    env.cmd_with_sts(
        &[
            "--profile",
            "list",
            "-t",
            "123456",
            "--",
            "sh",
            "-c",
            "echo $MFA_EXEC_PROFILE",
        ],
        &sts,
    )
    .assert()
    .success()
    .stdout("list\n");
    env.cmd_with_sts(
        &["exec", "list", "--", "sh", "-c", "echo $MFA_EXEC_PROFILE"],
        &sts,
    )
    .assert()
    .success()
    .stdout("list\n");
    assert_eq!(sts.count(), 1, "the second run used the cached session");
}

#[test]
fn unknown_profile_suggests() {
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd(&["tset", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: profile 'tset' not found in ~/.aws/config or ~/.aws/credentials\nhint: did you mean 'test'?\n");
    env.assert_unchanged(&snap);
}

#[test]
fn malformed_files_name_file_and_line() {
    let env = TestEnv::seeded();
    for (creds, msg) in [
        (
            "aws_access_key_id = x\n[a]\n",
            "~/.aws/credentials:1: key outside any section",
        ),
        (
            "[a]\nk = v\n[unterminated\n",
            "~/.aws/credentials:3: unterminated section header",
        ),
        (
            "[a]\njustaword\n",
            "~/.aws/credentials:2: expected 'key = value'",
        ),
    ] {
        env.write_credentials(creds);
        let snap = env.snapshot();
        env.cmd(&["test", "--", "true"])
            .assert()
            .code(125)
            .stderr(format!("mfa-exec: error: {msg}\n"));
        env.assert_unchanged(&snap);
    }
}
