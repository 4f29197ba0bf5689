//! `configure` and `clear` keep their promises (issue 12 items 1, 10, 11, 13):
//! no secret in any output, both files or neither, no control characters in
//! the files, and `--quiet` means quiet.

use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NEW_KEY_ID: &str = "AKIANEWNEWNEWNEW1234";
const NEW_KEY_SHOWN: &str = "AKIA************1234";
const NEW_SECRET: &str = "nEwSeCrEt/0123456789+abcdefghijklmnopqrs";
const NEWER_KEY_ID: &str = "AKIANEWERNEWERNE5678";
const NEWER_KEY_SHOWN: &str = "AKIA************5678";
const NEWER_SECRET: &str = "nEwErSeCrEt/0123456789+abcdefghijklmnopq";
const SEED_KEY_SHOWN: &str = "AKIA************MPLE";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN/abc+def==";
const SESSION_SECRET: &str = "sEsSiOnSeCrEt/0123456789+abcdefghijklmno";

/// The seed credentials plus a session mfa-exec wrote into `[test]`.
fn credentials_with_session() -> String {
    format!(
        "{SEED_CREDENTIALS}\n[test]\naws_access_key_id = ASIASESSIONSESSION00\naws_secret_access_key = {SESSION_SECRET}\naws_session_token = {TOKEN}\nx_security_token_expires = 2099-01-01T00:00:00Z\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n"
    )
}

/// Runs `configure ARGS` with `stdin` piped in.
fn configure(env: &TestEnv, args: &[&str], stdin: &str) -> Output {
    let mut full = vec!["configure"];
    full.extend_from_slice(args);
    let mut child = env
        .std_cmd(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The process may refuse before reading stdin; a closed pipe is fine then.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

/// Fails if any of `secrets` appears anywhere in stdout or stderr.
fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in secrets {
        assert!(!all.contains(s), "output shows a secret ({s}):\n{all}");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Item 1, as reported: replacing the keys of an existing source profile shows
/// neither the old secret nor the new one nor the session token in the file.
#[test]
fn replacing_keys_shows_no_secret() {
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&credentials_with_session());
    let out = configure(
        &env,
        &[
            "work",
            "--source-profile",
            "testAccount",
            "--access-key-id",
            NEW_KEY_ID,
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ],
        &format!("{NEW_SECRET}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        stderr(&out),
        format!(
            "~/.aws/config:\n  + \n  + [profile work]\n  + source_profile = testAccount\n  + mfa_serial = {SEED_SERIAL}\n~/.aws/credentials:\n  [testAccount]\n  - aws_access_key_id = {SEED_KEY_SHOWN}\n  - aws_secret_access_key = ****************\n  + aws_access_key_id = {NEW_KEY_SHOWN}\n  + aws_secret_access_key = ****************\nmfa-exec: profile 'work' configured; try: mfa-exec work -- aws sts get-caller-identity\n"
        )
    );
    assert_no_secret(
        &out,
        &[
            SEED_SECRET,
            NEW_SECRET,
            TOKEN,
            SESSION_SECRET,
            SEED_KEY_ID,
            NEW_KEY_ID,
        ],
    );
    assert_eq!(
        env.read_credentials(),
        credentials_with_session()
            .replace(SEED_KEY_ID, NEW_KEY_ID)
            .replace(SEED_SECRET, NEW_SECRET)
    );
}

/// Item 1: new keys for a new profile, then a re-run that rotates them.
#[test]
fn new_then_rotated_keys_show_no_secret() {
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&credentials_with_session());
    let args = |id: &'static str| {
        [
            "solo",
            "--access-key-id",
            id,
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ]
    };
    let out = configure(&env, &args(NEW_KEY_ID), &format!("{NEW_SECRET}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "~/.aws/config:\n  + \n  + [profile solo]\n  + source_profile = solo-long-term\n  + mfa_serial = {SEED_SERIAL}\n~/.aws/credentials:\n  + \n  + [solo-long-term]\n  + aws_access_key_id = {NEW_KEY_SHOWN}\n  + aws_secret_access_key = ****************\nmfa-exec: profile 'solo' configured; try: mfa-exec solo -- aws sts get-caller-identity\n"
        )
    );
    assert_no_secret(&out, &[SEED_SECRET, NEW_SECRET, TOKEN, SESSION_SECRET]);
    let out = configure(&env, &args(NEWER_KEY_ID), &format!("{NEWER_SECRET}\r\n"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "~/.aws/credentials:\n  [solo-long-term]\n  - aws_access_key_id = {NEW_KEY_SHOWN}\n  - aws_secret_access_key = ****************\n  + aws_access_key_id = {NEWER_KEY_SHOWN}\n  + aws_secret_access_key = ****************\nmfa-exec: profile 'solo' configured; try: mfa-exec solo -- aws sts get-caller-identity\n"
        )
    );
    assert_no_secret(
        &out,
        &[
            SEED_SECRET,
            NEW_SECRET,
            NEWER_SECRET,
            TOKEN,
            SESSION_SECRET,
            NEW_KEY_ID,
            NEWER_KEY_ID,
        ],
    );
    assert_eq!(
        env.read_credentials(),
        format!("{}\n[solo-long-term]\naws_access_key_id = {NEWER_KEY_ID}\naws_secret_access_key = {NEWER_SECRET}\n", credentials_with_session())
    );
}

/// Item 1: a secret pasted into `--access-key-id` is not echoed by the error.
#[test]
fn a_secret_in_the_key_id_flag_is_not_echoed() {
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let out = configure(
        &env,
        &[
            "work",
            "--access-key-id",
            NEW_SECRET,
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ],
        &format!("{NEW_SECRET}\n"),
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr(&out),
        "mfa-exec: error: 'nEwS********************************pqrs' is not a long-term access key id (AKIA followed by letters and digits)\n"
    );
    assert_no_secret(&out, &[NEW_SECRET]);
    env.assert_unchanged(&snap);
}

/// (case, profile, extra args, stdin, what the error names, the character).
type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a str, &'a str, &'a str);

/// Item 11: every value is checked for control characters (exit 125, the
/// flag named, nothing written). NUL cannot be passed in an argument; it is
/// tested through the secret on stdin.
#[test]
fn control_characters_are_refused_in_every_value() {
    const WHY: &str = "values cannot hold newlines or other control characters";
    let nl = "newline, U+000A";
    let cases: &[Case] = &[
        (
            "region newline",
            "work",
            &["--region", "eu-west-1\n[evil]"],
            "",
            "--region",
            nl,
        ),
        (
            "region CR",
            "work",
            &["--region", "eu-west-1\rx"],
            "",
            "--region",
            "carriage return, U+000D",
        ),
        (
            "region DEL",
            "work",
            &["--region", "eu-west-1\x7f"],
            "",
            "--region",
            "U+007F",
        ),
        (
            "source newline",
            "work",
            &["--source-profile", "testAccount\nregion = x"],
            "",
            "--source-profile",
            nl,
        ),
        (
            "serial ESC",
            "work",
            &["--mfa-serial", "arn:aws:iam::123456789012:mfa/test\x1b[2J"],
            "",
            "--mfa-serial",
            "U+001B",
        ),
        (
            "serial tab",
            "work",
            &["--mfa-serial", "arn:aws:iam::123456789012:mfa/te\tst"],
            "",
            "--mfa-serial",
            "tab, U+0009",
        ),
        (
            "key id newline",
            "work",
            &[
                "--access-key-id",
                "AKIAIOSFODNN7EXAMPLE\n",
                "--secret-from-stdin",
            ],
            "x\n",
            "--access-key-id",
            nl,
        ),
        (
            "profile newline",
            "work\n[x]",
            &[],
            "",
            "the profile name",
            nl,
        ),
        (
            "profile BEL",
            "wo\x07rk",
            &[],
            "",
            "the profile name",
            "U+0007",
        ),
        (
            "secret NUL",
            "work",
            &["--access-key-id", NEW_KEY_ID, "--secret-from-stdin"],
            "nEwSeCrEt/0123456789\0+abcdefghijklmnopqr\n",
            "the secret access key from stdin (--secret-from-stdin)",
            "NUL, U+0000",
        ),
        (
            "secret ESC",
            "work",
            &["--access-key-id", NEW_KEY_ID, "--secret-from-stdin"],
            "nEwSeCrEt/0123456789\x1b+abcdefghijklmnopqr\n",
            "the secret access key from stdin (--secret-from-stdin)",
            "U+001B",
        ),
        (
            "secret CR inside",
            "work",
            &["--access-key-id", NEW_KEY_ID, "--secret-from-stdin"],
            "nEwSeCrEt/0123456789\r+abcdefghijklmnopqr\n",
            "the secret access key from stdin (--secret-from-stdin)",
            "carriage return, U+000D",
        ),
    ];
    let sts = FakeSts::start();
    let env = TestEnv::new().with_sts(&sts);
    env.write_config(SEED_CONFIG);
    env.write_credentials(&credentials_with_session());
    let snap = env.snapshot();
    for (case, profile, extra, stdin, what, ch) in cases {
        let mut args = vec![*profile];
        args.extend_from_slice(extra);
        if !extra.contains(&"--source-profile") && !extra.contains(&"--access-key-id") {
            args.extend_from_slice(&["--source-profile", "testAccount"]);
        }
        if !extra.contains(&"--mfa-serial") {
            args.extend_from_slice(&["--mfa-serial", SEED_SERIAL]);
        }
        args.extend_from_slice(&["--yes", "--no-input"]);
        let out = configure(&env, &args, stdin);
        assert_eq!(out.status.code(), Some(125), "{case}: {}", stderr(&out));
        assert_eq!(out.stdout, b"", "{case}");
        assert_eq!(
            stderr(&out),
            format!("mfa-exec: error: {what} contains a control character ({ch}); {WHY}\n"),
            "{case}"
        );
        assert_no_secret(&out, &[NEW_SECRET, SEED_SECRET, TOKEN, SESSION_SECRET]);
        env.assert_unchanged(&snap);
        assert_eq!(
            env.aws_dir_entries(),
            ["config", "credentials"],
            "{case}: no lock or temp file"
        );
    }
    assert_eq!(sts.count(), 0);
    // The same flags without the bad character go through.
    let out = configure(
        &env,
        &[
            "work",
            "--source-profile",
            "testAccount",
            "--mfa-serial",
            SEED_SERIAL,
            "--region",
            "eu-west-1",
            "--yes",
            "--no-input",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Spawns `configure` paused between its two renames; removes the second temp
/// file meanwhile, so the second rename fails after the first succeeded.
fn second_rename_fails(env: &TestEnv) -> (Option<i32>, String) {
    let args = [
        "-q",
        "configure",
        "solo",
        "--access-key-id",
        NEW_KEY_ID,
        "--secret-from-stdin",
        "--mfa-serial",
        SEED_SERIAL,
        "--yes",
        "--no-input",
    ];
    let mut cmd = env.std_cmd(&args);
    cmd.env("MFA_EXEC_TEST_PAUSE", "between-renames:5000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{NEW_SECRET}\n").as_bytes())
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let l = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("never paused between the renames: {lines:?}"));
        let hit = l == "mfa-exec: test-hook: pause at between-renames";
        lines.push(l);
        if hit {
            break;
        }
    }
    // The config file is already replaced; the credentials temp file waits.
    let temps: Vec<String> = env
        .aws_dir_entries()
        .into_iter()
        .filter(|n| n.starts_with(".credentials.mfa-exec-") && n.ends_with(".tmp"))
        .collect();
    assert_eq!(temps.len(), 1, "{:?}", env.aws_dir_entries());
    std::fs::remove_file(env.aws_dir().join(&temps[0])).unwrap();
    use wait_timeout::ChildExt;
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("configure finished");
    lines.extend(rx.iter());
    lines.retain(|l| !l.contains("test-hook"));
    (status.code(), lines.join("\n"))
}

/// Item 10: the second file cannot be replaced after the first was: the first
/// is put back, both files are byte-for-byte (and mode) as they were.
#[test]
fn second_file_failing_leaves_both_as_they_were() {
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&credentials_with_session());
    env.set_mode(&env.config_path(), 0o640);
    let snap = env.snapshot();
    let (code, err) = second_rename_fails(&env);
    assert_eq!(code, Some(125), "{err}");
    assert_eq!(
        err,
        "mfa-exec: error: cannot replace ~/.aws/credentials: No such file or directory; ~/.aws/config was put back as it was, so neither file was changed"
    );
    env.assert_unchanged(&snap);
    assert_eq!(env.mode(&env.config_path()), Some(0o640));
    let stray: Vec<String> = env
        .aws_dir_entries()
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temp files left: {stray:?}");
}

/// Item 10: a config file that did not exist is removed again.
#[test]
fn second_file_failing_removes_a_config_it_created() {
    let env = TestEnv::new();
    env.write_credentials(SEED_CREDENTIALS);
    let snap = env.snapshot();
    assert_eq!(snap.config, None);
    let (code, err) = second_rename_fails(&env);
    assert_eq!(code, Some(125), "{err}");
    assert_eq!(
        err,
        "mfa-exec: error: cannot replace ~/.aws/credentials: No such file or directory; ~/.aws/config was put back as it was, so neither file was changed"
    );
    env.assert_unchanged(&snap);
    assert!(!env.config_path().exists());
}

/// Item 13: `configure -q --yes` prints nothing (not even the preview);
/// errors still show.
#[test]
fn configure_quiet_prints_only_errors() {
    let env = TestEnv::seeded();
    let config_before = env.read_config();
    let args = [
        "-q",
        "configure",
        "work",
        "--source-profile",
        "testAccount",
        "--mfa-serial",
        SEED_SERIAL,
        "--yes",
        "--no-input",
    ];
    env.cmd(&args).assert().success().stdout("").stderr("");
    assert_eq!(
        env.read_config(),
        format!("{config_before}\n[profile work]\nsource_profile = testAccount\nmfa_serial = {SEED_SERIAL}\n")
    );
    // Already configured: still nothing.
    let snap = env.snapshot();
    env.cmd(&args).assert().success().stdout("").stderr("");
    env.assert_unchanged(&snap);
    // New keys from stdin, with -q after the subcommand.
    let out = configure(
        &env,
        &[
            "solo",
            "-q",
            "--access-key-id",
            NEW_KEY_ID,
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ],
        &format!("{NEW_SECRET}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"");
    assert_eq!(stderr(&out), "");
    assert!(env.read_credentials().contains("[solo-long-term]"));
    // An error is still said.
    let snap2 = env.snapshot();
    env.cmd(&["-q", "configure", "work", "--mfa-serial", "nope", "--yes", "--no-input"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: invalid MFA device 'nope': expected an ARN such as arn:aws:iam::123456789012:mfa/name\n");
    env.assert_unchanged(&snap2);
}

/// Item 13: `clear -q` prints nothing but errors.
#[test]
fn clear_quiet_prints_only_errors() {
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&credentials_with_session());
    env.cmd(&["-q", "clear", "test"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    // Nothing left to remove: no note either.
    let snap = env.snapshot();
    env.cmd(&["clear", "-q", "test"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    env.cmd(&["clear", "--all", "-q"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    // Without -q the same runs say so.
    env.cmd(&["clear", "test"])
        .assert()
        .success()
        .stderr("mfa-exec: no session of profile 'test' to remove\n");
    env.cmd(&["clear", "--all"])
        .assert()
        .success()
        .stderr("mfa-exec: no session written by mfa-exec in ~/.aws/credentials\n");
    // An error is still said.
    env.cmd(&["-q", "clear", "nosuch"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: profile 'nosuch' not found in ~/.aws/config or ~/.aws/credentials\nhint: run 'mfa-exec list' to see the profiles\n");
    env.assert_unchanged(&snap);
}

/// Review item 1: after `mfa-exec test` wrote its session into `[test]`,
/// `configure work --source-profile test` with new keys is refused (125), reads
/// no secret, writes nothing and calls no STS; a run of `test` still exports
/// only its session, never the would-be long-term secret.
#[test]
fn long_term_keys_never_go_into_a_session_section() {
    const NEW_ID: &str = "AKIANEWKEYNEWKEY0002";
    const SECRET: &str = "NEWSECRET0000000000000000000000000000002";
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_sts(&sts);
    env.cmd(&["test", "-t", "123456", "--", "true"])
        .assert()
        .success();
    assert_eq!(sts.count(), 1);
    let session = sts.last_issued().unwrap();
    let before = env.snapshot();
    assert!(env
        .read_credentials()
        .contains("x_mfa_exec_source = testAccount"));
    let refused = "mfa-exec: error: [test] in ~/.aws/credentials holds a session (aws_session_token), not long-term keys; configure will not write long-term keys into it\nhint: keep the keys in a section of their own: --source-profile work-long-term (the default with --access-key-id)\n";
    // As reported (new keys from stdin), and without new keys (the source
    // holds none), which used to hint at passing them.
    let with_keys = [
        "work",
        "--source-profile",
        "test",
        "--access-key-id",
        NEW_ID,
        "--secret-from-stdin",
        "--mfa-serial",
        "arn:aws:iam::123456789012:mfa/x",
        "--yes",
        "--no-input",
    ];
    let without_keys = [
        "work",
        "--source-profile",
        "test",
        "--mfa-serial",
        "arn:aws:iam::123456789012:mfa/x",
        "--yes",
        "--no-input",
    ];
    for args in [&with_keys[..], &without_keys[..]] {
        let out = configure(&env, args, &format!("{SECRET}\n"));
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", stderr(&out));
        assert_eq!(out.stdout, b"");
        assert_eq!(stderr(&out), refused, "{args:?}");
        env.assert_unchanged(&before);
    }
    // The marker alone (a section some edit stripped of its token) is enough.
    let marker_only = format!(
        "{SEED_CREDENTIALS}\n[test]\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n"
    );
    let env2 = TestEnv::new();
    env2.write_config(SEED_CONFIG);
    env2.write_credentials(&marker_only);
    let before2 = env2.snapshot();
    let out = configure(&env2, &with_keys, &format!("{SECRET}\n"));
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        refused.replace("(aws_session_token)", "(x_mfa_exec_source)")
    );
    env2.assert_unchanged(&before2);

    // The cached session is still the one a run exports.
    let out = env
        .cmd(&["test", "--", "env"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains(SECRET), "{out}");
    assert!(out.contains(&format!(
        "AWS_SECRET_ACCESS_KEY={}\n",
        session.secret_access_key
    )));
    assert!(out.contains(&format!("AWS_ACCESS_KEY_ID={}\n", session.access_key_id)));
    assert_eq!(sts.count(), 1);
    env.assert_unchanged(&before);

    // The hinted layout works: the keys go to [work-long-term].
    let mut hinted = with_keys.to_vec();
    hinted[2] = "work-long-term";
    let out = configure(&env, &hinted, &format!("{SECRET}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let creds = env.read_credentials();
    assert!(creds.ends_with(&format!(
        "\n[work-long-term]\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {SECRET}\n"
    )));
    assert_eq!(sts.count(), 1);
}
