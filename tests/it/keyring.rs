//! Long-term keys in the OS keyring (SPEC §8.3), against a real Secret Service
//! (gnome-keyring on a private bus, see `support/keyring.rs`), checked with
//! `secret-tool`: `keys move` both ways, all or nothing under kills and
//! injected failures; the refresh reading the keyring; the cached path never
//! touching D-Bus; `configure --keyring`; every keyring failure as one line,
//! exit 125, nothing changed.

use crate::support::keyring::SecretService;
use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) const SEED_JSON: &str = r#"{"AccessKeyId":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#;
const MOVED: &str = "mfa-exec: moved the long-term keys of 'testAccount' (key id AKIA************MPLE) from [testAccount] of ~/.aws/credentials to keyring (mfa-exec/testAccount) in the Secret Service keyring\n";
/// SEED_CONFIG with the setting `keys move` adds.
pub(crate) fn config_after() -> String {
    SEED_CONFIG.replace(
        "mfa_arn = arn:aws:iam::123456789012:mfa/test\n",
        "mfa_arn = arn:aws:iam::123456789012:mfa/test\nmfa_exec_keys = keyring\n",
    )
}
/// A credentials file with more around the keys: every byte but the two key
/// lines must survive a move.
const RICH_CREDS: &str = "# long-term keys\r\n[testAccount]\r\n# the main key, rotated yearly\r\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\nx_note = keep me\r\n\r\n[other]\r\naws_access_key_id = AKIAOTHEROTHEROTHER0\r\naws_secret_access_key = other\r\n";
const RICH_AFTER: &str = "# long-term keys\r\n[testAccount]\r\n# the main key, rotated yearly\r\nx_note = keep me\r\n\r\n[other]\r\naws_access_key_id = AKIAOTHEROTHEROTHER0\r\naws_secret_access_key = other\r\n";

#[macro_export]
macro_rules! secret_service {
    () => {
        match SecretService::start() {
            Some(s) => s,
            None => return,
        }
    };
}

pub(crate) fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd(args).output().unwrap()
}

#[test]
fn move_to_keyring_then_refresh_then_cached_without_dbus() {
    let ss = secret_service!();
    let sts = FakeSts::start();
    let env = ss.attach(TestEnv::seeded());
    let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), MOVED);
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(SEED_JSON));
    // The section is left with nothing in it, so its header goes too.
    assert_eq!(env.read_credentials(), "# long-term keys\n");
    assert_eq!(env.read_config(), config_after());

    // explain and list say where the keys live, never the secret.
    let out = run(&env, &["explain", "test"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("long-term keys  keyring (mfa-exec/testAccount), profile testAccount (mfa_exec_keys = keyring)  (~/.aws/config:4 [testAccount])"),
        "{text}"
    );
    let out = run(&env, &["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "test")
        .unwrap();
    assert_eq!(row["keys"], "keyring (mfa-exec/testAccount)");
    let out = run(&env, &["list"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("PROFILE"), "{table}");
    assert!(table.contains("keyring (mfa-exec/testAccount)"), "{table}");
    assert!(!table.contains(SEED_SECRET), "{table}");

    // The refresh signs GetSessionToken with the keys from the keyring.
    let out = env
        .cmd_with_sts(&["test", "-t", &fresh_code(), "--", "true"], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert_eq!(
        sts.last_request().unwrap().access_key_id.as_deref(),
        Some(SEED_KEY_ID)
    );
    assert!(!stderr_of(&out).contains(SEED_SECRET));
    let creds = env.read_credentials();
    assert!(creds.contains("\n[test]\n"), "{creds}");
    assert!(!creds.contains(SEED_KEY_ID), "{creds}");

    // The cached path makes no D-Bus call: with the bus pointing nowhere it
    // still runs the command.
    let out = env
        .cmd_with_sts(&["test", "--", "sh", "-c", "echo ran"], &sts)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    assert_eq!(sts.count(), 1, "the cached path makes no request");
}

#[test]
fn non_role_session_goes_to_p_itself() {
    let ss = secret_service!();
    let sts = FakeSts::start();
    let env = ss.attach(TestEnv::seeded());
    assert_eq!(
        run(&env, &["keys", "move", "testAccount", "--to", "keyring"])
            .status
            .code(),
        Some(0)
    );
    let out = env
        .cmd_with_sts(&["testAccount", "-t", &fresh_code(), "--", "true"], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let creds = env.read_credentials();
    let issued = sts.last_issued().unwrap();
    assert!(
        creds.contains(&format!(
            "[testAccount]\naws_access_key_id = {}\n",
            issued.access_key_id
        )),
        "[P] itself, since it holds no long-term keys now:\n{creds}"
    );
    assert!(!creds.contains("[testAccount-mfa]"), "{creds}");
}

#[test]
fn move_is_lossless_idempotent_and_round_trips() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::new());
    env.write_config(SEED_CONFIG);
    env.write_credentials(RICH_CREDS);
    let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        env.read_credentials(),
        RICH_AFTER,
        "only the two key lines go"
    );
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(SEED_JSON));

    // Again: says so, changes nothing.
    let before = env.snapshot();
    let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: the long-term keys of 'testAccount' are already in keyring (mfa-exec/testAccount) (mfa_exec_keys = keyring, ~/.aws/config:4 [testAccount]); nothing to change\n"
    );
    env.assert_unchanged(&before);
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(SEED_JSON));

    // Back to the file: [testAccount] holds other keys now, so the pair goes
    // to [testAccount-long-term]; the keyring entry and the setting go.
    let out = run(&env, &["keys", "move", "testAccount", "--to", "file"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: moved the long-term keys of 'testAccount' (key id AKIA************MPLE) from keyring (mfa-exec/testAccount) in the Secret Service keyring to [testAccount-long-term] of ~/.aws/credentials\n"
    );
    assert_eq!(ss.lookup("testAccount"), None);
    assert_eq!(env.read_config(), SEED_CONFIG);
    assert_eq!(
        env.read_credentials(),
        format!("{RICH_AFTER}\r\n[testAccount-long-term]\r\naws_access_key_id = {SEED_KEY_ID}\r\naws_secret_access_key = {SEED_SECRET}\r\n")
    );
    let before = env.snapshot();
    let out = run(&env, &["keys", "move", "testAccount", "--to", "file"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: the long-term keys of 'testAccount' are already in [testAccount-long-term] of ~/.aws/credentials; nothing to change\n"
    );
    env.assert_unchanged(&before);
}

#[test]
fn moving_a_profile_whose_keys_belong_to_its_source_is_refused() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::seeded());
    let before = env.snapshot();
    let out = run(&env, &["keys", "move", "test", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: error: the long-term keys of 'test' belong to its source profile 'testAccount' ([testAccount] of ~/.aws/credentials)\nhint: run 'mfa-exec keys move testAccount --to keyring'\n"
    );
    env.assert_unchanged(&before);
    assert_eq!(ss.lookup("testAccount"), None);
    let out = run(&env, &["keys", "move", "nope", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out).starts_with("mfa-exec: error: profile 'nope' not found"),
        "{}",
        stderr_of(&out)
    );
    env.assert_unchanged(&before);
}

/// Runs `keys move` paused at `point`, kills it there, and returns the files.
fn spawn_watched(mut cmd: std::process::Command) -> (Child, mpsc::Receiver<String>) {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mfa-exec");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return,
            Ok(l) => seen.push(l),
            Err(_) => panic!("never saw {needle:?} on stderr; saw {seen:?}"),
        }
    }
}

const POINTS: &[&str] = &["keys-stored", "keys-config", "keys-removed"];

/// Where the keys are: (in the keyring, in the credentials file).
fn places(ss: &SecretService, env: &TestEnv) -> (bool, bool) {
    let ring = ss.lookup("testAccount").as_deref() == Some(SEED_JSON);
    let creds = env.read_credentials();
    let file = creds.contains(&format!("aws_access_key_id = {SEED_KEY_ID}"))
        && creds.contains(SEED_SECRET);
    (ring, file)
}

#[test]
fn kill_at_each_step_leaves_the_keys_somewhere_and_the_next_move_finishes() {
    let ss = secret_service!();
    let mut observed = Vec::new();
    for to in ["keyring", "file"] {
        for point in POINTS {
            let env = ss.attach(TestEnv::new());
            ss.clear("testAccount");
            env.write_config(SEED_CONFIG);
            env.write_credentials(RICH_CREDS);
            if to == "file" {
                let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
                assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
            }
            let creds_before = env.read_credentials();
            let mut cmd = env.std_cmd(&["keys", "move", "testAccount", "--to", to]);
            cmd.env("MFA_EXEC_TEST_PAUSE", format!("{point}:20000"));
            let (mut child, rx) = spawn_watched(cmd);
            wait_for_line(&rx, &format!("pause at {point}"));
            child.kill().unwrap();
            let _ = child.wait();
            let (ring, file) = places(&ss, &env);
            assert!(
                ring || file,
                "--to {to}, killed at {point}: the keys are nowhere"
            );
            // The credentials file keeps every other byte.
            let creds = env.read_credentials();
            let allowed = [
                RICH_CREDS.to_string(),
                RICH_AFTER.to_string(),
                format!("{RICH_AFTER}\r\n[testAccount-long-term]\r\naws_access_key_id = {SEED_KEY_ID}\r\naws_secret_access_key = {SEED_SECRET}\r\n"),
            ];
            assert!(
                allowed.contains(&creds),
                "--to {to}, killed at {point}:\n{}",
                line_diff(&creds_before, &creds)
            );
            observed.push(format!(
                "--to {to}, killed at {point}: keyring {ring}, file {file}"
            ));
            // Running the move again finishes it.
            let out = run(&env, &["keys", "move", "testAccount", "--to", to]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
            let (ring, file) = places(&ss, &env);
            if to == "keyring" {
                assert_eq!((ring, file), (true, false), "{point}");
                assert_eq!(env.read_credentials(), RICH_AFTER);
                assert_eq!(env.read_config(), config_after());
            } else {
                // In the file, and no keyring copy left behind, also when
                // the kill came after the config said file (issue 21 item 7).
                assert_eq!((ring, file), (false, true), "{point}");
                assert_eq!(ss.lookup("testAccount"), None, "{point}");
                assert!(!env.read_config().contains("mfa_exec_keys"));
            }
        }
    }
    eprintln!("{}", observed.join("\n"));
}

#[test]
fn injected_failure_at_each_step_leaves_both_places_as_they_were() {
    let ss = secret_service!();
    for to in ["keyring", "file"] {
        for point in POINTS {
            let env = ss.attach(TestEnv::new());
            ss.clear("testAccount");
            env.write_config(SEED_CONFIG);
            env.write_credentials(RICH_CREDS);
            if to == "file" {
                let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
                assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
            }
            let ring_before = ss.lookup("testAccount");
            let before = env.snapshot();
            let out = env
                .cmd(&["keys", "move", "testAccount", "--to", to])
                .env("MFA_EXEC_TEST_PAUSE", format!("{point}:fail"))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(125), "{to} {point}");
            assert_eq!(
                stderr_of(&out),
                format!("mfa-exec: error: injected failure at {point}\n"),
                "{to} {point}"
            );
            env.assert_unchanged(&before);
            assert_eq!(ss.lookup("testAccount"), ring_before, "{to} {point}");
        }
    }
}

#[test]
fn keyring_failures_are_one_line_exit_125_nothing_changed() {
    let ss = secret_service!();
    let sts = FakeSts::start();
    let env = ss.attach(TestEnv::seeded());
    assert_eq!(
        run(&env, &["keys", "move", "testAccount", "--to", "keyring"])
            .status
            .code(),
        Some(0)
    );
    let hint_tail = "or keep the keys in the file: mfa-exec keys move testAccount --to file\n";
    let check = |extra: &[(&str, &str)], want: &str| {
        let before = env.snapshot();
        let mut cmd = env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "true"], &sts);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
        assert_eq!(stderr_of(&out), want);
        assert_eq!(sts.count(), 0, "nothing sent");
        env.assert_unchanged(&before);
    };
    // No bus at all.
    check(
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
        &format!("mfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: it is not reachable (No such file or directory (os error 2))\nhint: start a Secret Service in this session (gnome-keyring-daemon, KeePassXC, KWallet) and check DBUS_SESSION_BUS_ADDRESS, {hint_tail}"),
    );
    // A bus with no Secret Service on it.
    let (mut bare, addr) = ss.bare_bus();
    check(
        &[("DBUS_SESSION_BUS_ADDRESS", &addr)],
        &format!("mfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: it is not reachable (org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files)\nhint: start a Secret Service in this session (gnome-keyring-daemon, KeePassXC, KWallet) and check DBUS_SESSION_BUS_ADDRESS, {hint_tail}"),
    );
    let _ = bare.kill();
    let _ = bare.wait();
    // Not the expected JSON.
    ss.store("testAccount", "hunter2");
    check(
        &[],
        "mfa-exec: error: the entry keyring (mfa-exec/testAccount) in the Secret Service keyring is not the expected JSON: it is not {\"AccessKeyId\": ..., \"SecretAccessKey\": ...}\nhint: store the keys again with 'mfa-exec configure testAccount --keyring'\n",
    );
    assert!(
        !String::from_utf8_lossy(&env.cmd(&["explain", "test"]).output().unwrap().stdout)
            .contains("hunter2")
    );
    // Missing: never a fall back to the file.
    ss.clear("testAccount");
    check(
        &[],
        "mfa-exec: error: The Secret Service keyring has no entry mfa-exec/testAccount, but the config says mfa_exec_keys = keyring for 'testAccount'\nhint: store the keys there with 'mfa-exec configure testAccount --keyring', or remove mfa_exec_keys and put them in the credentials file\n",
    );
    // Locked, and no way to unlock (no prompt can be shown).
    ss.store("testAccount", SEED_JSON);
    ss.lock();
    check(
        &[],
        &format!("mfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (SS error: prompt dismissed)\nhint: unlock the keyring (log in to the desktop, or: gnome-keyring-daemon --unlock), {hint_tail}"),
    );
}

#[test]
fn move_with_the_keyring_unreachable_changes_nothing() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::seeded());
    let before = env.snapshot();
    let out = env
        .cmd(&["keys", "move", "testAccount", "--to", "keyring"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out).starts_with("mfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: it is not reachable"),
        "{}",
        stderr_of(&out)
    );
    env.assert_unchanged(&before);
    // An entry holding other keys is never overwritten.
    ss.store(
        "testAccount",
        r#"{"AccessKeyId":"AKIAOTHEROTHEROTHER0","SecretAccessKey":"other"}"#,
    );
    let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: error: keyring (mfa-exec/testAccount) in the Secret Service keyring already holds other keys (key id AKIA************HER0); nothing was moved\nhint: remove that entry first (secret-tool clear service mfa-exec account P, or Keychain Access)\n"
    );
    env.assert_unchanged(&before);
}

#[test]
fn configure_keyring_stores_new_keys_there() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::new());
    let out = configure_dev_keyring(&env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains(SEED_SECRET));
    assert_eq!(ss.lookup("dev-long-term").as_deref(), Some(SEED_JSON));
    assert_eq!(
        env.read_config(),
        format!("[profile dev]\nsource_profile = dev-long-term\nmfa_serial = {SEED_SERIAL}\n\n[profile dev-long-term]\nmfa_exec_keys = keyring\n")
    );
    assert!(
        !env.credentials_path().exists() || !env.read_credentials().contains(SEED_KEY_ID),
        "no key in the credentials file"
    );
    // --keyring without new keys says how to move existing ones.
    let env = ss.attach(TestEnv::seeded());
    let before = env.snapshot();
    let out = run(
        &env,
        &[
            "configure",
            "test",
            "--source-profile",
            "testAccount",
            "--keyring",
            "--yes",
            "--no-input",
        ],
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: error: --keyring stores new keys, and none were entered\nhint: to move the keys of 'testAccount' there: mfa-exec keys move testAccount --to keyring\n"
    );
    env.assert_unchanged(&before);
}

/// Issue 21: `mfa_exec_keys` in the credentials file's [S] wins over the
/// config's (botocore merges it; so does a run): `configure --keyring`
/// changes it there too, so the keys it stores are the ones a run uses.
#[test]
fn configure_keyring_changes_a_setting_in_the_credentials_file() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::new());
    env.write_credentials("[dev-long-term]\nmfa_exec_keys = file\n");
    let out = configure_dev_keyring(&env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("~/.aws/credentials:\n  [dev-long-term]\n  - mfa_exec_keys = file\n  + mfa_exec_keys = keyring\n"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(ss.lookup("dev-long-term").as_deref(), Some(SEED_JSON));
    assert_eq!(
        env.read_credentials(),
        "[dev-long-term]\nmfa_exec_keys = keyring\n"
    );
    assert_eq!(
        env.read_config(),
        format!("[profile dev]\nsource_profile = dev-long-term\nmfa_serial = {SEED_SERIAL}\n\n[profile dev-long-term]\nmfa_exec_keys = keyring\n")
    );
}

// ---- keys rotate: against the fake STS, scripted with IAM's answers --------

pub(crate) const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub(crate) const NEW_KEY_ID: &str = "AKIANEWNEWNEWNEWNEW1";
pub(crate) const NEW_SECRET: &str = "newSecretKeyOfTheRotationTest0000000000";

pub(crate) fn list_keys_xml(ids: &[&str]) -> String {
    let members: String = ids
        .iter()
        .map(|id| format!("<member><UserName>test</UserName><AccessKeyId>{id}</AccessKeyId><Status>Active</Status><CreateDate>2020-01-01T00:00:00Z</CreateDate></member>"))
        .collect();
    format!("<ListAccessKeysResponse xmlns=\"{IAM_NS}\"><ListAccessKeysResult><UserName>test</UserName><AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListAccessKeysResponse>")
}

pub(crate) fn create_key_xml() -> String {
    format!("<CreateAccessKeyResponse xmlns=\"{IAM_NS}\"><CreateAccessKeyResult><AccessKey><UserName>test</UserName><AccessKeyId>{NEW_KEY_ID}</AccessKeyId><Status>Active</Status><SecretAccessKey>{NEW_SECRET}</SecretAccessKey><CreateDate>2026-11-29T10:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></CreateAccessKeyResponse>")
}

pub(crate) fn delete_key_xml() -> String {
    format!("<DeleteAccessKeyResponse xmlns=\"{IAM_NS}\"><ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata></DeleteAccessKeyResponse>")
}

/// The IAM answers of one rotation (a DeleteAccessKey for each delete expected).
pub(crate) fn script_iam(sts: &FakeSts, existing: &[&str], deletes: usize) {
    sts.push_for("ListAccessKeys", Reply::raw(200, &list_keys_xml(existing)));
    sts.push_for("CreateAccessKey", Reply::raw(200, &create_key_xml()));
    for _ in 0..deletes {
        sts.push_for("DeleteAccessKey", Reply::raw(200, &delete_key_xml()));
    }
}

pub(crate) fn rotate_cmd(env: &TestEnv, sts: &FakeSts, hook: Option<&str>) -> std::process::Output {
    let mut cmd = env.cmd_with_sts(&["keys", "rotate", "testAccount", "-t", &fresh_code()], sts);
    cmd.env("AWS_ENDPOINT_URL_IAM", sts.url());
    if let Some(h) = hook {
        cmd.env("MFA_EXEC_TEST_PAUSE", h);
    }
    cmd.output().unwrap()
}

/// `(action, signing key id)` of every request.
/// stderr without the seed layout's warning and the endpoint note.
pub(crate) fn rotate_stderr(out: &std::process::Output) -> String {
    stderr_of(out)
        .lines()
        .filter(|l| {
            !l.starts_with("mfa-exec: warning: ~/.aws/config:2: [testAccount] is a bare section")
                && !l.starts_with("mfa-exec: using STS at ")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

pub(crate) fn calls(sts: &FakeSts) -> Vec<(String, String)> {
    sts.requests()
        .iter()
        .map(|r| {
            (
                r.action.clone(),
                r.access_key_id.clone().unwrap_or_default(),
            )
        })
        .collect()
}

pub(crate) const NEW_JSON: &str = r#"{"AccessKeyId":"AKIANEWNEWNEWNEWNEW1","SecretAccessKey":"newSecretKeyOfTheRotationTest0000000000"}"#;

#[test]
fn rotate_keyring_key_then_next_refresh_uses_the_new_one() {
    let ss = secret_service!();
    let sts = FakeSts::start();
    let env = ss.attach(TestEnv::seeded());
    assert_eq!(
        run(&env, &["keys", "move", "testAccount", "--to", "keyring"])
            .status
            .code(),
        Some(0)
    );
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let out = rotate_cmd(&env, &sts, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: rotated the access key of IAM user test: AKIA************NEW1 is stored in keyring (mfa-exec/testAccount) and active; AKIA************MPLE is deleted. Sessions made with the old key stay valid until they expire\n"
    );
    assert!(!stderr_of(&out).contains(NEW_SECRET));
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(NEW_JSON));
    let session = sts.last_issued().unwrap().access_key_id;
    let got = calls(&sts);
    assert_eq!(
        got,
        [
            ("GetCallerIdentity".to_string(), SEED_KEY_ID.to_string()),
            ("GetSessionToken".to_string(), SEED_KEY_ID.to_string()),
            ("ListAccessKeys".to_string(), session.clone()),
            ("CreateAccessKey".to_string(), session.clone()),
            ("GetCallerIdentity".to_string(), NEW_KEY_ID.to_string()),
            ("DeleteAccessKey".to_string(), session.clone()),
        ]
    );
    let reqs = sts.requests();
    assert_eq!(reqs[2].param("UserName"), Some("test"));
    assert_eq!(reqs[5].param("AccessKeyId"), Some(SEED_KEY_ID));
    // The next refresh signs with the new key.
    let out = env
        .cmd_with_sts(
            &["testAccount", "--force", "-t", &fresh_code(), "--", "true"],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let last = sts.last_request().unwrap();
    assert_eq!(last.action, "GetSessionToken");
    assert_eq!(last.access_key_id.as_deref(), Some(NEW_KEY_ID));
}

#[test]
fn rotate_file_key_changes_only_the_two_values() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(RICH_CREDS);
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let out = rotate_cmd(&env, &sts, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let creds = env.read_credentials();
    let without_session = creds
        .split("\r\n[testAccount-mfa]")
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        without_session,
        RICH_CREDS
            .replace(SEED_KEY_ID, NEW_KEY_ID)
            .replace(SEED_SECRET, NEW_SECRET)
            .trim_end_matches("\r\n")
            .to_string()
            + "\r\n",
        "{creds}"
    );
}

#[test]
fn rotate_refuses_when_the_user_has_two_keys() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID, "AKIASECONDSECONDSEC0"])),
    );
    let before = env.snapshot();
    let out = rotate_cmd(&env, &sts, None);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: IAM user test already has two access keys (AKIA************MPLE, AKIA************SEC0); IAM allows two, so there is no room for a new one\nhint: delete the one not in use (not AKIA************MPLE) first: mfa-exec testAccount -- aws iam delete-access-key --user-name test --access-key-id ...\n"
    );
    assert_eq!(sts.count_action("CreateAccessKey"), 0);
    // Only the MFA session was written (into [testAccount-mfa]); the keys stay.
    let creds = env.read_credentials();
    assert!(creds.starts_with(SEED_CREDENTIALS), "{creds}");
    assert_eq!(env.snapshot().config, before.config);
}

#[test]
fn rotate_failure_before_store_deletes_the_new_key_after_keeps_both() {
    // After CreateAccessKey, before the store: the new key is deleted again.
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let out = rotate_cmd(&env, &sts, Some("rotate-created:fail"));
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: nothing changed: the new key AKIA************NEW1 was deleted again, AKIA************MPLE stays in [testAccount] of ~/.aws/credentials: injected failure at rotate-created\n"
    );
    let del = sts
        .requests()
        .into_iter()
        .find(|r| r.action == "DeleteAccessKey")
        .unwrap();
    assert_eq!(del.param("AccessKeyId"), Some(NEW_KEY_ID));
    assert!(env.read_credentials().starts_with(SEED_CREDENTIALS));

    // After the store (and after the check): both keys kept, the new one active.
    for point in ["rotate-stored", "rotate-verified"] {
        let sts = FakeSts::start();
        let env = TestEnv::seeded();
        script_iam(&sts, &[SEED_KEY_ID], 0);
        let out = rotate_cmd(&env, &sts, Some(&format!("{point}:fail")));
        assert_eq!(out.status.code(), Some(125), "{point}");
        assert_eq!(
            rotate_stderr(&out),
            format!("mfa-exec: error: injected failure at {point}; the new key AKIA************NEW1 is stored in [testAccount] of ~/.aws/credentials and is the active one there, and the old key AKIA************MPLE is still active in IAM\nhint: once 'mfa-exec testAccount --force -- aws sts get-caller-identity' works, delete the old key: mfa-exec testAccount -- aws iam delete-access-key --user-name test --access-key-id {SEED_KEY_ID}\n"),
        );
        assert_eq!(sts.count_action("DeleteAccessKey"), 0, "{point}");
        let creds = env.read_credentials();
        assert!(
            creds.contains(&format!(
                "aws_access_key_id = {NEW_KEY_ID}\naws_secret_access_key = {NEW_SECRET}\n"
            )),
            "{point}: {creds}"
        );
    }
}

/// Issue 25 item 3: a hint never repeats the command that just failed. With
/// no D-Bus session, `keys move P --to file` is not told to run itself, and
/// `keys move P --to keyring` is not told to keep the keys in the file (they
/// are there). No Secret Service is needed: the bus is absent.
#[test]
fn keys_move_hints_never_repeat_the_move() {
    let no_bus = ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let hint = "hint: start a Secret Service in this session (gnome-keyring-daemon, KeePassXC, KWallet) and check DBUS_SESSION_BUS_ADDRESS\n";
    let reason = "it is not reachable (No such file or directory (os error 2))";

    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile testAccount]\nmfa_exec_keys = keyring\nmfa_serial = {SEED_SERIAL}\n"
    ));
    env.write_credentials("# empty\n");
    let before = env.snapshot();
    let out = env
        .cmd(&["keys", "move", "testAccount", "--to", "file"])
        .env(no_bus.0, no_bus.1)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        format!("mfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: {reason}\n{hint}")
    );
    env.assert_unchanged(&before);

    let env = TestEnv::seeded();
    let before = env.snapshot();
    let out = env
        .cmd(&["keys", "move", "testAccount", "--to", "keyring"])
        .env(no_bus.0, no_bus.1)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        format!("mfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: {reason}\n{hint}")
    );
    env.assert_unchanged(&before);
}

/// Issue 21 item 7, each state a killed move leaves, set up directly: the
/// next `keys move` finishes it, or says exactly what is where.
#[test]
fn rerun_finishes_a_cut_short_move_or_names_what_is_where() {
    let ss = secret_service!();
    // --to file cut short after the config said file: the entry is removed.
    let env = ss.attach(TestEnv::seeded());
    ss.clear("testAccount");
    ss.store("testAccount", SEED_JSON);
    let out = run(&env, &["keys", "move", "testAccount", "--to", "file"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: the long-term keys of 'testAccount' are in [testAccount] of ~/.aws/credentials; removed the copy left in keyring (mfa-exec/testAccount) in the Secret Service keyring\n"
    );
    assert_eq!(ss.lookup("testAccount"), None);
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    assert_eq!(env.read_config(), SEED_CONFIG);

    // Other keys in the entry: left alone, both named.
    let other = r#"{"AccessKeyId":"AKIAOTHEROTHEROTHER0","SecretAccessKey":"other"}"#;
    ss.store("testAccount", other);
    let before = env.snapshot();
    let out = run(&env, &["keys", "move", "testAccount", "--to", "file"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: the long-term keys of 'testAccount' are in [testAccount] of ~/.aws/credentials (key id AKIA************MPLE), and keyring (mfa-exec/testAccount) in the Secret Service keyring holds other keys (key id AKIA************HER0); nothing was changed\nhint: remove the entry that is not in use (secret-tool clear service mfa-exec account P, or Keychain Access)\n"
    );
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(other));
    env.assert_unchanged(&before);

    // The config says keyring, the entry is missing and no copy is in the
    // file: never "already in keyring".
    ss.clear("testAccount");
    let env = ss.attach(TestEnv::new());
    env.write_config(&config_after());
    env.write_credentials("# long-term keys\n");
    let before = env.snapshot();
    let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: The Secret Service keyring has no entry mfa-exec/testAccount, but the config says mfa_exec_keys = keyring for 'testAccount'\nhint: store the keys there with 'mfa-exec configure testAccount --keyring', or remove mfa_exec_keys and put them in the credentials file\n"
    );
    env.assert_unchanged(&before);
}

/// Issue 21 item 8: `[testAccount]` also holds `output = json`. After the
/// keys move to the keyring, the section keeps the setting, and the session
/// goes to `[testAccount-mfa]` beside it (and is found there next time).
#[test]
fn move_to_keyring_with_another_setting_in_the_section_keeps_the_profile_usable() {
    let ss = secret_service!();
    let sts = FakeSts::start();
    let env = ss.attach(TestEnv::new());
    ss.clear("testAccount");
    env.write_config(SEED_CONFIG);
    env.write_credentials(&format!("{SEED_CREDENTIALS}output = json\n"));
    let out = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        env.read_credentials(),
        "# long-term keys\n[testAccount]\noutput = json\n"
    );
    for _ in 0..2 {
        let out = env
            .cmd_with_sts(&["testAccount", "-t", &fresh_code(), "--", "true"], &sts)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    }
    assert_eq!(
        sts.count_action("GetSessionToken"),
        1,
        "the second run is cached"
    );
    let issued = sts.last_issued().unwrap();
    let creds = env.read_credentials();
    assert!(
        creds.starts_with(&format!(
            "# long-term keys\n[testAccount]\noutput = json\n\n[testAccount-mfa]\naws_access_key_id = {}\n",
            issued.access_key_id
        )),
        "{creds}"
    );
}

/// `configure dev` with new keys (SEED_KEY_ID, the secret on stdin) for the
/// keyring, `--yes --no-input`.
pub(crate) fn configure_dev_keyring(env: &TestEnv) -> std::process::Output {
    configure_with_secret(
        env,
        &[
            "configure",
            "dev",
            "--access-key-id",
            SEED_KEY_ID,
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--keyring",
            "--yes",
            "--no-input",
        ],
        SEED_SECRET,
    )
}

pub(crate) fn configure_with_secret(
    env: &TestEnv,
    args: &[&str],
    secret: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut cmd = env.std_cmd(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // A run refused before it reads stdin closes the pipe: not an error here.
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{secret}\n").as_bytes());
    child.wait_with_output().unwrap()
}

/// Issue 21 item 3: `configure --keyring` over an entry holding other keys
/// shows the replacement as one (old key id masked) before writing.
#[test]
fn configure_keyring_shows_a_replacement_as_a_replacement() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::new());
    let other = r#"{"AccessKeyId":"AKIAOTHEROTHEROTHER0","SecretAccessKey":"other"}"#;
    ss.clear("dev-long-term");
    ss.store("dev-long-term", other);
    let args = [
        "configure",
        "dev",
        "--access-key-id",
        SEED_KEY_ID,
        "--secret-from-stdin",
        "--mfa-serial",
        SEED_SERIAL,
        "--keyring",
        "--yes",
        "--no-input",
    ];
    let out = configure_with_secret(&env, &args, SEED_SECRET);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("keyring (mfa-exec/dev-long-term):\n  - AccessKeyId AKIA************HER0, SecretAccessKey ****************\n  + AccessKeyId AKIA************MPLE, SecretAccessKey ****************\n"),
        "{err}"
    );
    assert!(
        !err.contains(SEED_SECRET) && !err.contains("\"other\""),
        "{err}"
    );
    assert_eq!(ss.lookup("dev-long-term").as_deref(), Some(SEED_JSON));
    // The same again: the entry and the files already say so.
    let out = configure_with_secret(&env, &args, SEED_SECRET);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: profile 'dev' is already configured that way; nothing to change\n"
    );
}

/// Issue 21 item 9: a source whose keys are in the keyring is a source;
/// new keys for it without --keyring are refused (they would never be used).
#[test]
fn configure_sees_keyring_held_sources() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::new());
    ss.clear("testAccount");
    ss.store("testAccount", SEED_JSON);
    env.write_config(&config_after());
    env.write_credentials("# long-term keys\n");
    let out = run(
        &env,
        &[
            "configure",
            "dev",
            "--source-profile",
            "testAccount",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        env.read_config().ends_with(&format!(
            "\n[profile dev]\nsource_profile = testAccount\nmfa_serial = {SEED_SERIAL}\n"
        )),
        "{}",
        env.read_config()
    );
    assert_eq!(env.read_credentials(), "# long-term keys\n");

    let before = env.snapshot();
    let out = configure_with_secret(
        &env,
        &[
            "configure",
            "dev2",
            "--source-profile",
            "testAccount",
            "--access-key-id",
            "AKIANEWNEWNEWNEWNEW1",
            "--secret-from-stdin",
            "--mfa-serial",
            SEED_SERIAL,
            "--yes",
            "--no-input",
        ],
        NEW_SECRET,
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: the long-term keys of 'testAccount' are in keyring (mfa-exec/testAccount) (mfa_exec_keys = keyring); new keys for it go there too\nhint: add --keyring\n"
    );
    env.assert_unchanged(&before);
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(SEED_JSON));
}

/// Issue 21 item 10: keys in a bare `[bare]` of the config move to the
/// keyring (they were looked for in `[profile bare]` and the move said they
/// changed).
#[test]
fn keys_in_a_bare_config_section_move_to_the_keyring() {
    let ss = secret_service!();
    let env = ss.attach(TestEnv::new());
    ss.clear("bare");
    env.write_config(&format!(
        "[bare]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\nmfa_serial = {SEED_SERIAL}\n"
    ));
    let out = run(&env, &["keys", "move", "bare", "--to", "keyring"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out)
            .lines()
            .filter(|l| !l.contains("is a bare section"))
            .collect::<Vec<_>>(),
        ["mfa-exec: moved the long-term keys of 'bare' (key id AKIA************MPLE) from [bare] of ~/.aws/config to keyring (mfa-exec/bare) in the Secret Service keyring"]
    );
    assert_eq!(ss.lookup("bare").as_deref(), Some(SEED_JSON));
    assert_eq!(
        env.read_config(),
        format!("[bare]\nmfa_serial = {SEED_SERIAL}\nmfa_exec_keys = keyring\n")
    );
    ss.clear("bare");
}
