//! Issue 21: `keys rotate` and `keys move` under injected faults (file
//! operations through `MFA_EXEC_TEST_FAULT`, IAM answers through the fake
//! STS), each asserting the invariants: the credentials in place work (the
//! key id there is active in IAM and its secret is the one IAM issued),
//! every other active key is named in the output, and "nothing changed" is
//! only said when nothing changed.

use crate::keyring::*;
use crate::support::keyring::SecretService;
use crate::support::*;

fn rotate_with(env: &TestEnv, sts: &FakeSts, fault: &str) -> std::process::Output {
    let mut cmd = env.cmd_with_sts(&["keys", "rotate", "testAccount", "-t", &fresh_code()], sts);
    cmd.env("AWS_ENDPOINT_URL_IAM", sts.url());
    cmd.env("MFA_EXEC_TEST_FAULT", fault);
    cmd.output().unwrap()
}

/// The `[testAccount]` pair of the credentials file, as (id, secret).
fn pair_of(env: &TestEnv) -> (String, String) {
    let creds = env.read_credentials();
    let section = creds
        .split("\n[")
        .find(|s| s.starts_with("testAccount]"))
        .unwrap_or_else(|| panic!("no [testAccount] in {creds}"));
    let get = |k: &str| {
        section
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k} = ")).map(str::to_string))
            .unwrap_or_default()
    };
    (get("aws_access_key_id"), get("aws_secret_access_key"))
}

fn deleted_ids(sts: &FakeSts) -> Vec<String> {
    sts.requests()
        .into_iter()
        .filter(|r| r.action == "DeleteAccessKey")
        .map(|r| r.param("AccessKeyId").unwrap_or_default().to_string())
        .collect()
}

/// Issue 21 item 1: the read-back after the new pair is written fails. The
/// file is put back (and read back) before the new key is deleted; when that
/// is not possible, neither key is deleted and both are named.
#[test]
fn rotate_read_back_failure_never_loses_the_working_key() {
    // read#5 is the write path's read, read#6 the read-back.
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let out = rotate_with(&env, &sts, "read#6");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: test-hook: fail read#6\nmfa-exec: error: nothing changed: the new key AKIA************NEW1 was deleted again, AKIA************MPLE stays in [testAccount] of ~/.aws/credentials: [testAccount] could not be read back: cannot read ~/.aws/credentials: Input/output error\n"
    );
    assert_eq!(pair_of(&env), (SEED_KEY_ID.into(), SEED_SECRET.into()));
    assert!(env.read_credentials().starts_with(SEED_CREDENTIALS));
    assert_eq!(deleted_ids(&sts), [NEW_KEY_ID]);
    assert_eq!(sts.count_action("CreateAccessKey"), 1);

    // The put-back cannot read the file either: both keys stay, both named.
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let out = rotate_with(&env, &sts, "read#6,read#7");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        format!("mfa-exec: test-hook: fail read#6\nmfa-exec: test-hook: fail read#7\nmfa-exec: error: [testAccount] could not be read back: cannot read ~/.aws/credentials: Input/output error; [testAccount] of ~/.aws/credentials could not be put back as it was, so both keys stay active in IAM: the new key AKIA************NEW1 (written to [testAccount] of ~/.aws/credentials) and the old key AKIA************MPLE\nhint: check which key works with 'mfa-exec testAccount --force -- aws sts get-caller-identity', then delete the other: mfa-exec testAccount -- aws iam delete-access-key --user-name test --access-key-id {NEW_KEY_ID} (or {SEED_KEY_ID})\n")
    );
    assert_eq!(pair_of(&env), (NEW_KEY_ID.into(), NEW_SECRET.into()));
    assert!(deleted_ids(&sts).is_empty());
}

/// Issue 21 item 2: the connection resets after IAM created the key.
/// CreateAccessKey is sent once (no SDK retry, which would create a second
/// key); ListAccessKeys finds the key whose secret never arrived, and it is
/// deleted again.
#[test]
fn rotate_create_reset_sends_once_and_deletes_the_orphan() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID])),
    );
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID, NEW_KEY_ID])),
    );
    sts.push_for("CreateAccessKey", Reply::Reset);
    sts.push_for("DeleteAccessKey", Reply::raw(200, &delete_key_xml()));
    let out = rotate_with(&env, &sts, "");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: IAM CreateAccessKey failed: connection reset; IAM had created AKIA************NEW1 anyway, whose secret never arrived; deleted it again, so nothing changed: AKIA************MPLE stays in [testAccount] of ~/.aws/credentials\n"
    );
    assert_eq!(sts.count_action("CreateAccessKey"), 1);
    assert_eq!(sts.count_action("ListAccessKeys"), 2);
    assert_eq!(deleted_ids(&sts), [NEW_KEY_ID]);
    assert_eq!(pair_of(&env), (SEED_KEY_ID.into(), SEED_SECRET.into()));

    // IAM created nothing: said so, nothing deleted.
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID])),
    );
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID])),
    );
    sts.push_for("CreateAccessKey", Reply::Reset);
    let out = rotate_with(&env, &sts, "");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: IAM CreateAccessKey failed: connection reset; IAM created no key (ListAccessKeys: AKIA************MPLE); nothing changed, AKIA************MPLE stays in [testAccount] of ~/.aws/credentials\n"
    );
    assert_eq!(sts.count_action("CreateAccessKey"), 1);
    assert!(deleted_ids(&sts).is_empty());

    // The orphan cannot be deleted: named, with the command that deletes it.
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID])),
    );
    sts.push_for(
        "ListAccessKeys",
        Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID, NEW_KEY_ID])),
    );
    sts.push_for("CreateAccessKey", Reply::Reset);
    sts.push_for("DeleteAccessKey", Reply::Reset);
    let out = rotate_with(&env, &sts, "");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        format!("mfa-exec: error: IAM CreateAccessKey failed: connection reset; IAM had created AKIA************NEW1 anyway, whose secret never arrived, and deleting it failed: {NEW_KEY_ID} (connection reset); AKIA************MPLE stays in [testAccount] of ~/.aws/credentials\nhint: delete it: mfa-exec testAccount -- aws iam delete-access-key --user-name test --access-key-id {NEW_KEY_ID}\n")
    );
    assert_eq!(sts.count_action("CreateAccessKey"), 1);
    assert_eq!(sts.count_action("DeleteAccessKey"), 1);
}

/// Issue 21 item 6: credential-process's budget (here 3 s through the test
/// hook) includes the keyring wait: a keyring that does not answer (the
/// `keyring-call` pause stands in for one) ends the run when the budget
/// does, not after the keyring's own 30 s.
#[test]
fn credential_process_budget_includes_the_keyring_wait() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&config_after());
    env.write_credentials("# long-term keys\n");
    let before = env.snapshot();
    let out = env
        .cmd_with_sts(&["credential-process", "testAccount", "-t", "123456"], &sts)
        .env("MFA_EXEC_TEST_BUDGET_MS", "3000")
        .env("MFA_EXEC_TEST_PAUSE", "keyring-call:20000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: test-hook: pause at keyring-call\nmfa-exec: error: cannot read keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (no answer before the end of the run's 3s budget; it may be waiting for an unlock prompt nobody can see)\nhint: unlock the keyring (log in to the desktop, or: gnome-keyring-daemon --unlock), or keep the keys in the file: mfa-exec keys move testAccount --to file\n"
    );
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&before);
}

/// Issue 21 item 10: an empty `aws_session_token =` line is no token
/// (botocore signs without one): the pair is long-term keys, and signs
/// GetSessionToken.
#[test]
fn an_empty_session_token_line_leaves_long_term_keys() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&format!("{SEED_CREDENTIALS}aws_session_token =\n"));
    let out = env
        .cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let last = sts.last_request().unwrap();
    assert_eq!(last.action, "GetSessionToken");
    assert_eq!(last.access_key_id.as_deref(), Some(SEED_KEY_ID));
    assert!(env
        .read_credentials()
        .starts_with(&format!("{SEED_CREDENTIALS}aws_session_token =\n")));
}

/// Issue 21 ("also look at"): a panic after `keys rotate` changed things
/// never says "nothing was written".
#[test]
fn a_panic_after_changes_does_not_say_nothing_was_written() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let mut cmd = env.cmd_with_sts(
        &["keys", "rotate", "testAccount", "-t", &fresh_code()],
        &sts,
    );
    cmd.env("AWS_ENDPOINT_URL_IAM", sts.url());
    cmd.env("MFA_EXEC_TEST_PAUSE", "rotate-stored:panic");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        "mfa-exec: error: internal error: injected panic at rotate-stored\nhint: please report this; this run had already changed files, the keyring or IAM keys, so check them ('mfa-exec explain PROFILE')\n"
    );
    assert_eq!(pair_of(&env), (NEW_KEY_ID.into(), NEW_SECRET.into()));
}

/// The DeleteAccessKey that takes the new key back gets no answer: sent
/// once, then ListAccessKeys says whether it is gone; "nothing changed" only
/// when it is.
#[test]
fn rotate_unanswered_delete_of_the_new_key_is_checked() {
    for gone in [true, false] {
        let sts = FakeSts::start();
        let env = TestEnv::seeded();
        sts.push_for(
            "ListAccessKeys",
            Reply::raw(200, &list_keys_xml(&[SEED_KEY_ID])),
        );
        sts.push_for("CreateAccessKey", Reply::raw(200, &create_key_xml()));
        sts.push_for("DeleteAccessKey", Reply::Reset);
        let now: &[&str] = if gone {
            &[SEED_KEY_ID]
        } else {
            &[SEED_KEY_ID, NEW_KEY_ID]
        };
        sts.push_for("ListAccessKeys", Reply::raw(200, &list_keys_xml(now)));
        let mut cmd = env.cmd_with_sts(
            &["keys", "rotate", "testAccount", "-t", &fresh_code()],
            &sts,
        );
        cmd.env("AWS_ENDPOINT_URL_IAM", sts.url());
        cmd.env("MFA_EXEC_TEST_PAUSE", "rotate-created:fail");
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(125));
        let want = if gone {
            "mfa-exec: error: nothing changed: the new key AKIA************NEW1 was deleted again, AKIA************MPLE stays in [testAccount] of ~/.aws/credentials: injected failure at rotate-created\n"
        } else {
            "mfa-exec: error: the new key AKIA************NEW1 could not be deleted again (connection reset); delete it in IAM; AKIA************MPLE stays in [testAccount] of ~/.aws/credentials: injected failure at rotate-created\n"
        };
        assert_eq!(rotate_stderr(&out), want, "gone {gone}");
        assert_eq!(sts.count_action("DeleteAccessKey"), 1);
        assert_eq!(sts.count_action("ListAccessKeys"), 2);
        assert_eq!(pair_of(&env), (SEED_KEY_ID.into(), SEED_SECRET.into()));
    }
}

/// `keys move testAccount --to keyring` with the config write failing after
/// the keyring entry was written, and failing its roll-back too.
fn move_to_keyring_with(
    ss: &SecretService,
    pause: &str,
    fault: &str,
) -> (TestEnv, std::process::Output) {
    let env = ss.attach(TestEnv::seeded());
    ss.clear("testAccount");
    let out = env
        .cmd(&["keys", "move", "testAccount", "--to", "keyring"])
        .env("MFA_EXEC_TEST_PAUSE", pause)
        .env("MFA_EXEC_TEST_FAULT", fault)
        .output()
        .unwrap();
    (env, out)
}

/// Issue 21 (remainder of items 1-10): a roll-back of `keys move` whose own
/// step fails. The move stops rolling back there and says what is where; it
/// never deletes the keyring entry the config names (main did: the config
/// said keyring and the entry was gone, so the profile had no keys).
#[test]
fn move_roll_back_that_fails_says_what_is_where() {
    let ss = crate::secret_service!();
    let json = format!(r#"{{"AccessKeyId":"{SEED_KEY_ID}","SecretAccessKey":"{SEED_SECRET}"}}"#);

    // The config write fails (rename#1), then removing the new entry again.
    let (env, out) = move_to_keyring_with(&ss, "", "rename#1,keyring-delete#1");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: test-hook: fail rename#1\nmfa-exec: test-hook: fail keyring-delete#1\nmfa-exec: error: cannot replace ~/.aws/config: Input/output error; the file is unchanged; putting things back failed too (cannot remove keyring (mfa-exec/testAccount) in the Secret Service keyring: it failed (injected: Input/output error (os error 5))): the keys (key id AKIA************MPLE) are still in [testAccount] of ~/.aws/credentials, which ~/.aws/config still names, and keyring (mfa-exec/testAccount) in the Secret Service keyring holds a copy of them; run 'mfa-exec keys move testAccount --to keyring' again to finish the move once the cause is fixed\n"
    );
    assert_eq!(env.read_config(), SEED_CONFIG);
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(json.as_str()));
    let again = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert_eq!(env.read_credentials(), "# long-term keys\n");
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(json.as_str()));

    // The config says keyring, a later step fails, and putting the config
    // back fails too: the entry stays (the config names it), both named.
    let (env, out) = move_to_keyring_with(&ss, "keys-config:fail", "rename#2");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: test-hook: fail rename#2\nmfa-exec: error: injected failure at keys-config; putting things back failed too (cannot replace ~/.aws/config: Input/output error; the file is unchanged): ~/.aws/config says mfa_exec_keys = keyring and keyring (mfa-exec/testAccount) in the Secret Service keyring holds the keys (key id AKIA************MPLE), so the move stands; [testAccount] of ~/.aws/credentials still holds a copy of them; run 'mfa-exec keys move testAccount --to keyring' again to finish the move once the cause is fixed\n"
    );
    assert_eq!(
        env.read_config(),
        SEED_CONFIG.replace(
            "mfa_arn = arn:aws:iam::123456789012:mfa/test\n",
            "mfa_arn = arn:aws:iam::123456789012:mfa/test\nmfa_exec_keys = keyring\n"
        )
    );
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(json.as_str()));
    let again = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert_eq!(
        stderr_of(&again),
        "mfa-exec: the long-term keys of 'testAccount' are in keyring (mfa-exec/testAccount); removed the copy left in [testAccount] of ~/.aws/credentials\n"
    );
    assert_eq!(env.read_credentials(), "# long-term keys\n");
}

/// Issue 21 ("also look at"): a keyring write that completes after
/// mfa-exec's keyring timeout (2 s here, `MFA_EXEC_TEST_KEYRING_TIMEOUT_MS`;
/// the write lands 2.5 s after it was asked for, the removal meant to undo
/// it never answers). The output says the write may land and where the keys
/// are; afterwards the files are as they were, the entry holds the keys or
/// nothing, and running the move again finishes it.
#[test]
fn move_to_keyring_with_a_write_that_lands_late() {
    let ss = crate::secret_service!();
    let json = format!(r#"{{"AccessKeyId":"{SEED_KEY_ID}","SecretAccessKey":"{SEED_SECRET}"}}"#);
    let env = ss.attach(TestEnv::seeded());
    ss.clear("testAccount");
    let out = env
        .cmd(&["keys", "move", "testAccount", "--to", "keyring"])
        .env("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS", "2000")
        .env(
            "MFA_EXEC_TEST_PAUSE",
            "keyring-set-call:2500,keyring-delete-call:20000",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: test-hook: pause at keyring-set-call\nmfa-exec: test-hook: pause at keyring-delete-call\nmfa-exec: error: cannot write keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see); putting things back failed too (cannot remove keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see)): the keys (key id AKIA************MPLE) are still in [testAccount] of ~/.aws/credentials, which ~/.aws/config still names, and keyring (mfa-exec/testAccount) in the Secret Service keyring may hold a copy of them; run 'mfa-exec keys move testAccount --to keyring' again to finish the move once the cause is fixed\n"
    );
    assert_eq!(env.read_config(), SEED_CONFIG);
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    let entry = ss.lookup("testAccount");
    eprintln!("the late write landed: {}", entry.is_some());
    assert!(
        entry.is_none() || entry.as_deref() == Some(json.as_str()),
        "{entry:?}"
    );
    let again = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert_eq!(env.read_credentials(), "# long-term keys\n");
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(json.as_str()));

    // The write answers late and the removal works: the write may land
    // after it, which the output says.
    let env = ss.attach(TestEnv::seeded());
    ss.clear("testAccount");
    let out = env
        .cmd(&["keys", "move", "testAccount", "--to", "keyring"])
        .env("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS", "2000")
        .env("MFA_EXEC_TEST_PAUSE", "keyring-set-call:20000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: test-hook: pause at keyring-set-call\nmfa-exec: error: cannot write keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see); the keys stay in [testAccount] of ~/.aws/credentials, which ~/.aws/config still names, but the write may still land, so keyring (mfa-exec/testAccount) in the Secret Service keyring may get a copy of them; run 'mfa-exec keys move testAccount --to keyring' again once the keyring answers\n"
    );
    assert_eq!(env.read_config(), SEED_CONFIG);
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    let again = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert_eq!(ss.lookup("testAccount").as_deref(), Some(json.as_str()));
}

/// The removal from the keyring in `keys move --to file` gets no answer in
/// time (it would land 2.5 s after it was asked for, past the 2 s timeout),
/// alone or with a keyring that would not answer a write either. Review:
/// putting the entry and the config back and taking the keys out of the file
/// would leave them nowhere once the removal lands. So no roll-back is tried
/// (no write is asked for: no pause at keyring-set-call), the move stands,
/// the keys are in the file the config now names, and running the move
/// again removes the copy.
#[test]
fn move_to_file_with_an_unanswered_removal_does_not_roll_back() {
    for pauses in [
        "keyring-delete-call:2500",
        "keyring-delete-call:2500,keyring-set-call:20000",
    ] {
        let ss = crate::secret_service!();
        let env = ss.attach(TestEnv::seeded());
        ss.clear("testAccount");
        let moved = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
        assert_eq!(moved.status.code(), Some(0), "{}", stderr_of(&moved));
        let out = env
            .cmd(&["keys", "move", "testAccount", "--to", "file"])
            .env("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS", "2000")
            .env("MFA_EXEC_TEST_PAUSE", pauses)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{pauses}");
        assert_eq!(
            stderr_of(&out),
            "mfa-exec: test-hook: pause at keyring-delete-call\nmfa-exec: error: cannot remove keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see); the move stands: ~/.aws/config no longer says mfa_exec_keys = keyring and [testAccount] of ~/.aws/credentials holds the keys (key id AKIA************MPLE); the removal may still land, so keyring (mfa-exec/testAccount) in the Secret Service keyring may still hold a copy of them\nhint: once the keyring answers, run this move again: it removes the copy\n",
            "{pauses}"
        );
        assert_eq!(env.read_config(), SEED_CONFIG);
        assert_eq!(
            env.read_credentials(),
            format!(
                "# long-term keys\n\n{}",
                &SEED_CREDENTIALS["# long-term keys\n".len()..]
            )
        );
        // The removal had not landed when mfa-exec gave up (it stops with
        // the process here): the copy is there, and the rerun removes it.
        assert!(ss.lookup("testAccount").is_some(), "the copy is left");
        let again = run(&env, &["keys", "move", "testAccount", "--to", "file"]);
        assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
        assert!(
            stderr_of(&again).contains("removed the copy left in keyring (mfa-exec/testAccount)"),
            "{}",
            stderr_of(&again)
        );
        assert_eq!(ss.lookup("testAccount"), None);
    }
}

/// `keys rotate` of keyring-held keys whose write of the new pair gets no
/// answer within the keyring timeout (2 s here): the write may still land,
/// so neither key is deleted and both are named; the entry holds one of the
/// two pairs, both active in IAM.
#[test]
fn rotate_with_a_keyring_write_that_does_not_answer() {
    let ss = crate::secret_service!();
    let env = ss.attach(TestEnv::seeded());
    ss.clear("testAccount");
    let moved = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
    assert_eq!(moved.status.code(), Some(0), "{}", stderr_of(&moved));
    let sts = FakeSts::start();
    script_iam(&sts, &[SEED_KEY_ID], 1);
    let mut cmd = env.cmd_with_sts(
        &["keys", "rotate", "testAccount", "-t", &fresh_code()],
        &sts,
    );
    cmd.env("AWS_ENDPOINT_URL_IAM", sts.url());
    cmd.env("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS", "2000");
    cmd.env("MFA_EXEC_TEST_PAUSE", "keyring-set-call:20000");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        rotate_stderr(&out),
        format!("mfa-exec: test-hook: pause at keyring-set-call\nmfa-exec: error: cannot write keyring (mfa-exec/testAccount) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see); the write may still land, so both keys stay active in IAM: the old key AKIA************MPLE (in keyring (mfa-exec/testAccount) until the write lands) and the new key AKIA************NEW1 (in keyring (mfa-exec/testAccount) once it does)\nhint: check which key works with 'mfa-exec testAccount --force -- aws sts get-caller-identity', then delete the other: mfa-exec testAccount -- aws iam delete-access-key --user-name test --access-key-id {NEW_KEY_ID} (or {SEED_KEY_ID})\n")
    );
    assert!(deleted_ids(&sts).is_empty());
    assert_eq!(sts.count_action("CreateAccessKey"), 1);
    let entry = ss.lookup("testAccount").unwrap_or_default();
    assert!(
        entry.contains(SEED_KEY_ID) || entry.contains(NEW_KEY_ID),
        "{entry}"
    );
}

/// Review: `configure --keyring` whose credentials-file write fails and
/// whose removal of the new entry (the put-back) fails too: the error says
/// the entry holds the new keys, never only that the files are unchanged.
#[test]
fn configure_keyring_undo_that_fails_says_the_entry_holds_the_new_keys() {
    let ss = crate::secret_service!();
    let env = ss.attach(TestEnv::new());
    ss.clear("dev-long-term");
    let env = env.with_env("MFA_EXEC_TEST_FAULT", "create#1,keyring-delete#1");
    let out = configure_dev_keyring(&env);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr_of(&out);
    assert!(
        err.contains("; putting the keyring entry back failed too (cannot remove keyring (mfa-exec/dev-long-term) in the Secret Service keyring: "),
        "{err}"
    );
    assert!(
        err.contains("): keyring (mfa-exec/dev-long-term) holds the new keys (key id AKIA************MPLE)\n"),
        "{err}"
    );
    assert!(!err.contains(SEED_SECRET));
    assert_eq!(ss.lookup("dev-long-term").as_deref(), Some(SEED_JSON));
    assert!(!env.config_path().exists(), "no config written");
    assert!(!env.credentials_path().exists(), "no credentials written");
}

/// The same, with a put-back (the removal of the new entry) that gets no
/// answer in time: it may still land, and the message says until when the
/// entry holds the new keys.
#[test]
fn configure_keyring_undo_without_an_answer_says_until_when() {
    let ss = crate::secret_service!();
    let env = ss.attach(TestEnv::new());
    ss.clear("dev-long-term");
    let env = env
        .with_env("MFA_EXEC_TEST_FAULT", "create#1")
        .with_env("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS", "2000")
        .with_env("MFA_EXEC_TEST_PAUSE", "keyring-delete-call:2500");
    let out = configure_dev_keyring(&env);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr_of(&out);
    assert!(
        err.contains("; putting the keyring entry back failed too (cannot remove keyring (mfa-exec/dev-long-term) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see)): keyring (mfa-exec/dev-long-term) holds the new keys (key id AKIA************MPLE) until the removal lands, then nothing\n"),
        "{err}"
    );
    assert!(!err.contains(SEED_SECRET));
    // The removal stops with the process here, so the entry holds the new keys.
    assert_eq!(ss.lookup("dev-long-term").as_deref(), Some(SEED_JSON));
    assert!(!env.config_path().exists(), "no config written");
    assert!(!env.credentials_path().exists(), "no credentials written");
}

/// Review: `configure --keyring` whose keyring write gets no answer in time:
/// neither file is written, and the error says the write may still land.
#[test]
fn configure_keyring_write_without_an_answer_says_it_may_land() {
    let ss = crate::secret_service!();
    let env = ss.attach(TestEnv::new());
    ss.clear("dev-long-term");
    let env = env
        .with_env("MFA_EXEC_TEST_KEYRING_TIMEOUT_MS", "2000")
        .with_env("MFA_EXEC_TEST_PAUSE", "keyring-set-call:2500");
    let out = configure_dev_keyring(&env);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr_of(&out);
    // The preview (no terminal: on stderr), then the error.
    let (preview, rest) = err
        .split_once("mfa-exec: test-hook: pause at keyring-set-call\n")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        preview.starts_with("~/.aws/config:\n  + [profile dev]\n"),
        "{err}"
    );
    assert_eq!(
        rest,
        "mfa-exec: error: cannot write keyring (mfa-exec/dev-long-term) in the Secret Service keyring: it is locked and could not be unlocked (no answer in 2 s; it may be waiting for an unlock prompt nobody can see); neither file was changed, but the write may still land, so keyring (mfa-exec/dev-long-term) may then hold the new keys (key id AKIA************MPLE)\nhint: once the keyring answers, run configure again (its preview shows what the entry holds)\n"
    );
    assert!(!env.config_path().exists());
    assert!(!env.credentials_path().exists());
}

/// Review: `keys move --to keyring` of keys held in the config, whose config
/// step fails after another program edited the config (so the undo cannot put
/// the old bytes back and edits instead): the edit puts the keys back too,
/// not only the setting, before the keyring entry is removed.
#[test]
fn move_of_config_held_keys_rolled_back_over_an_edit_keeps_the_keys() {
    let ss = crate::secret_service!();
    let env = ss.attach(TestEnv::new());
    ss.clear("cfgk");
    let config = format!(
        "[profile cfgk]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\nmfa_serial = {SEED_SERIAL}\n"
    );
    env.write_config(&config);
    let mut cmd = env.std_cmd(&["keys", "move", "cfgk", "--to", "keyring"]);
    cmd.env("MFA_EXEC_TEST_PAUSE", "keys-config:3000,keys-config:fail")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while !env.read_config().contains("mfa_exec_keys = keyring") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no config write"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Another program's edit while mfa-exec pauses after its config write.
    let edited = format!("{}# added by an editor\n", env.read_config());
    std::fs::write(env.config_path(), &edited).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
    let after = env.read_config();
    assert!(after.contains("# added by an editor"), "{after}");
    assert!(!after.contains("mfa_exec_keys"), "{after}");
    assert!(
        after.contains(&format!("aws_access_key_id = {SEED_KEY_ID}"))
            && after.contains(&format!("aws_secret_access_key = {SEED_SECRET}")),
        "the keys are back in the config:\n{after}"
    );
    assert_eq!(ss.lookup("cfgk"), None, "the keyring entry was removed");
}
