//! The fault sweep of issue 21 ("guard for the whole class"): `keys rotate`,
//! `configure`'s two-file commit
//! and `keys move` with each file operation (read, create, write, fsync,
//! rename; `MFA_EXEC_TEST_FAULT=<op>#<n>`), each keyring call (get, set,
//! delete) and each IAM call failed in turn, the n-th occurrence for n = 1, 2,
//! ... until the run no longer reaches it. After every run the invariants:
//!
//! - the credentials in place work: the key id the config points at (the
//!   file's `[testAccount]` or the keyring entry) is active in IAM, with the
//!   secret IAM issued for it;
//! - every other active key is named in the output;
//! - "nothing changed" is only said when nothing changed (the old pair in
//!   place, no other key active);
//! - a failed `keys move` leaves both places as they were; a successful one
//!   leaves the keys in the destination only.
//!
//! IAM is modelled from the requests the fake STS recorded: the seed key,
//! plus the created key when CreateAccessKey was answered, minus every key a
//! DeleteAccessKey was answered for.

use crate::keyring::*;
use crate::secret_service;
use crate::support::keyring::SecretService;
use crate::support::*;

const OPS: &[&str] = &["read", "create", "write", "fsync", "rename"];
const RING_OPS: &[&str] = &[
    "keyring-get",
    "keyring-set",
    "keyring-attrs",
    "keyring-delete",
];
const MAX_N: u32 = 30;

fn mask(id: &str) -> String {
    format!(
        "{}{}{}",
        &id[..4],
        "*".repeat(id.len() - 8),
        &id[id.len() - 4..]
    )
}

/// The active keys of the IAM user after the run, from what IAM answered.
fn active_keys(sts: &FakeSts, answered_creates: usize) -> Vec<String> {
    let mut active = vec![SEED_KEY_ID.to_string()];
    if answered_creates > 0 {
        active.push(NEW_KEY_ID.to_string());
    }
    for r in sts.requests() {
        if r.action == "DeleteAccessKey" {
            let id = r.param("AccessKeyId").unwrap_or_default().to_string();
            active.retain(|a| *a != id);
        }
    }
    active
}

fn secret_of(id: &str) -> &'static str {
    if id == NEW_KEY_ID {
        NEW_SECRET
    } else {
        SEED_SECRET
    }
}

/// The `[testAccount]` pair of the credentials file, if it has one.
fn file_pair(env: &TestEnv) -> Option<(String, String)> {
    let creds = env.read_credentials();
    let section = creds
        .split('[')
        .find(|s| s.starts_with("testAccount]"))?
        .to_string();
    let get = |k: &str| {
        section.lines().find_map(|l| {
            l.strip_prefix(&format!("{k} ="))
                .or_else(|| l.strip_prefix(&format!("{k}=")))
                .map(|v| v.trim().to_string())
        })
    };
    Some((get("aws_access_key_id")?, get("aws_secret_access_key")?))
}

fn ring_pair(ss: &SecretService) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&ss.lookup("testAccount")?).ok()?;
    Some((
        v["AccessKeyId"].as_str()?.to_string(),
        v["SecretAccessKey"].as_str()?.to_string(),
    ))
}

/// The invariants after one `keys rotate` run; `place` is what the config
/// points at. Returns a line for the failure report, empty when they hold.
fn rotate_invariants(
    what: &str,
    place: Option<(String, String)>,
    out: &std::process::Output,
    sts: &FakeSts,
    answered_creates: usize,
) -> Vec<String> {
    let stderr = stderr_of(out);
    let active = active_keys(sts, answered_creates);
    let mut bad = Vec::new();
    match &place {
        Some((id, secret)) if active.contains(id) && secret == secret_of(id) => {}
        other => bad.push(format!(
            "{what}: the place holds {other:?}, IAM has {active:?} active"
        )),
    }
    let in_place = place.map(|p| p.0).unwrap_or_default();
    for id in active.iter().filter(|a| **a != in_place) {
        if !stderr.contains(&mask(id)) && !stderr.contains(id.as_str()) {
            bad.push(format!("{what}: active key {id} not named:\n{stderr}"));
        }
    }
    if stderr.contains("nothing changed") && (in_place != SEED_KEY_ID || active.len() != 1) {
        bad.push(format!(
            "{what}: said 'nothing changed' with {in_place} in place and {active:?} active:\n{stderr}"
        ));
    }
    if out.status.code() == Some(0) && (in_place != NEW_KEY_ID || active != [NEW_KEY_ID]) {
        bad.push(format!(
            "{what}: exit 0 but {in_place} in place, {active:?} active"
        ));
    }
    bad
}

fn rotate_run(env: &TestEnv, sts: &FakeSts, fault: &str) -> std::process::Output {
    let mut cmd = env.cmd_with_sts(&["keys", "rotate", "testAccount", "-t", &fresh_code()], sts);
    cmd.env("AWS_ENDPOINT_URL_IAM", sts.url());
    cmd.env("MFA_EXEC_TEST_FAULT", fault);
    cmd.output().unwrap()
}

fn fired(out: &std::process::Output, fault: &str) -> bool {
    stderr_of(out).contains(&format!("test-hook: fail {fault}\n"))
}

/// Every file operation of `keys rotate` of file-held keys, failed in turn.
#[test]
fn rotate_file_keys_with_each_file_operation_failing() {
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    for op in OPS {
        for n in 1..=MAX_N {
            let fault = format!("{op}#{n}");
            let sts = FakeSts::start();
            let env = TestEnv::seeded();
            script_iam(&sts, &[SEED_KEY_ID], 1);
            let out = rotate_run(&env, &sts, &fault);
            if !fired(&out, &fault) {
                rows.push(format!("{op}: {} points", n - 1));
                break;
            }
            bad.extend(rotate_invariants(
                &fault,
                file_pair(&env),
                &out,
                &sts,
                sts.count_action("CreateAccessKey"),
            ));
        }
    }
    eprintln!("{}", rows.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "keys-rotate-file-faults",
        &format!(
            "fault points reached, per operation: {}; the invariants held after every run",
            rows.join(", ")
        ),
    );
}

/// Each non-idempotent IAM call of `keys rotate` without an answer (the
/// connection reset after IAM read it), with IAM having done it or not.
#[test]
fn rotate_with_each_iam_call_unanswered() {
    let mut bad = Vec::new();
    let list = |ids: &[&str]| Reply::raw(200, &list_keys_xml(ids));
    // CreateAccessKey reset; IAM created the key, or did not.
    for created in [true, false] {
        let sts = FakeSts::start();
        let env = TestEnv::seeded();
        sts.push_for("ListAccessKeys", list(&[SEED_KEY_ID]));
        sts.push_for(
            "ListAccessKeys",
            if created {
                list(&[SEED_KEY_ID, NEW_KEY_ID])
            } else {
                list(&[SEED_KEY_ID])
            },
        );
        sts.push_for("CreateAccessKey", Reply::Reset);
        sts.push_for("DeleteAccessKey", Reply::raw(200, &delete_key_xml()));
        let out = rotate_run(&env, &sts, "");
        assert_eq!(sts.count_action("CreateAccessKey"), 1);
        bad.extend(rotate_invariants(
            &format!("CreateAccessKey reset, created {created}"),
            file_pair(&env),
            &out,
            &sts,
            usize::from(created),
        ));
    }
    // DeleteAccessKey of the old key reset; IAM deleted it, or did not.
    for deleted in [true, false] {
        let sts = FakeSts::start();
        let env = TestEnv::seeded();
        sts.push_for("ListAccessKeys", list(&[SEED_KEY_ID]));
        sts.push_for("CreateAccessKey", Reply::raw(200, &create_key_xml()));
        sts.push_for("DeleteAccessKey", Reply::Reset);
        sts.push_for(
            "ListAccessKeys",
            if deleted {
                list(&[NEW_KEY_ID])
            } else {
                list(&[SEED_KEY_ID, NEW_KEY_ID])
            },
        );
        let out = rotate_run(&env, &sts, "");
        assert_eq!(sts.count_action("DeleteAccessKey"), 1);
        let stderr = stderr_of(&out);
        let active: Vec<&str> = if deleted {
            vec![NEW_KEY_ID]
        } else {
            vec![SEED_KEY_ID, NEW_KEY_ID]
        };
        let place = file_pair(&env);
        if place != Some((NEW_KEY_ID.into(), NEW_SECRET.into())) {
            bad.push(format!("DeleteAccessKey reset: place {place:?}"));
        }
        if !deleted && !stderr.contains(&mask(SEED_KEY_ID)) {
            bad.push(format!(
                "DeleteAccessKey reset: old key not named:\n{stderr}"
            ));
        }
        if (out.status.code() == Some(0)) != deleted {
            bad.push(format!(
                "DeleteAccessKey reset, deleted {deleted}, active {active:?}: exit {:?}\n{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "keys-rotate-iam-unanswered",
        "4 runs (CreateAccessKey reset with and without the key created, DeleteAccessKey reset with and without the key deleted): CreateAccessKey and DeleteAccessKey each sent once; the orphan key deleted again, or its absence said; the old key named while active; exit 0 only when it is gone",
    );
}

/// Every keyring call and file operation of `keys rotate` of keyring-held
/// keys, failed in turn.
#[test]
fn rotate_keyring_keys_with_each_call_failing() {
    let ss = secret_service!();
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    for op in RING_OPS.iter().chain(OPS) {
        for n in 1..=MAX_N {
            let fault = format!("{op}#{n}");
            let sts = FakeSts::start();
            let env = ss.attach(TestEnv::seeded());
            ss.clear("testAccount");
            let moved = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
            assert_eq!(moved.status.code(), Some(0), "{}", stderr_of(&moved));
            script_iam(&sts, &[SEED_KEY_ID], 1);
            let out = rotate_run(&env, &sts, &fault);
            if !fired(&out, &fault) {
                rows.push(format!("{op}: {} points", n - 1));
                break;
            }
            bad.extend(rotate_invariants(
                &fault,
                ring_pair(&ss),
                &out,
                &sts,
                sts.count_action("CreateAccessKey"),
            ));
        }
    }
    eprintln!("{}", rows.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "keys-rotate-keyring-faults",
        &format!(
            "fault points reached, per operation: {}; the invariants held after every run",
            rows.join(", ")
        ),
    );
}

/// Every file operation and keyring call of `keys move`, both directions,
/// failed in turn: a failure leaves both places as they were, a success
/// leaves the keys in the destination only, and the place the config names
/// always holds the keys.
#[test]
fn move_with_each_operation_failing() {
    let ss = secret_service!();
    let seed = (SEED_KEY_ID.to_string(), SEED_SECRET.to_string());
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    for to in ["keyring", "file"] {
        for op in RING_OPS.iter().chain(OPS) {
            for n in 1..=MAX_N {
                let fault = format!("{op}#{n}");
                let env = ss.attach(TestEnv::seeded());
                ss.clear("testAccount");
                if to == "file" {
                    let moved = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
                    assert_eq!(moved.status.code(), Some(0), "{}", stderr_of(&moved));
                }
                let before = env.snapshot();
                let ring_before = ss.lookup("testAccount");
                let out = env
                    .cmd(&["keys", "move", "testAccount", "--to", to])
                    .env("MFA_EXEC_TEST_FAULT", &fault)
                    .output()
                    .unwrap();
                if !fired(&out, &fault) {
                    rows.push(format!("--to {to}, {op}: {} points", n - 1));
                    break;
                }
                let what = format!("--to {to}, {fault}");
                let says_keyring = env.read_config().contains("mfa_exec_keys = keyring");
                let named = if says_keyring {
                    ring_pair(&ss)
                } else {
                    file_pair(&env)
                };
                if named.as_ref() != Some(&seed) {
                    bad.push(format!(
                        "{what}: the place the config names holds {named:?}"
                    ));
                }
                if out.status.code() == Some(0) {
                    let (ring, file) = (ring_pair(&ss), file_pair(&env));
                    let want = if to == "keyring" {
                        (Some(seed.clone()), None)
                    } else {
                        (None, Some(seed.clone()))
                    };
                    if (ring.clone(), file.clone()) != want {
                        bad.push(format!(
                            "{what}: exit 0 with keyring {ring:?}, file {file:?}"
                        ));
                    }
                } else {
                    if env.snapshot() != before {
                        bad.push(format!(
                            "{what}: failed and changed the files:\n{}",
                            line_diff(
                                &String::from_utf8_lossy(
                                    &before
                                        .credentials
                                        .clone()
                                        .map(|f| f.bytes)
                                        .unwrap_or_default()
                                ),
                                &env.read_credentials()
                            )
                        ));
                    }
                    if ss.lookup("testAccount") != ring_before {
                        bad.push(format!("{what}: failed and changed the keyring entry"));
                    }
                }
            }
        }
    }
    eprintln!("{}", rows.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "keys-move-faults",
        &format!(
            "fault points reached, per direction and operation: {}; the invariants held after every run",
            rows.join(", ")
        ),
    );
}

fn configure_run(env: &TestEnv, fault: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = env.std_cmd(&[
        "configure",
        "dev",
        "--access-key-id",
        NEW_KEY_ID,
        "--secret-from-stdin",
        "--mfa-serial",
        SEED_SERIAL,
        "--yes",
        "--no-input",
    ]);
    cmd.env("MFA_EXEC_TEST_FAULT", fault)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // A run refused before it reads stdin closes the pipe: not an error here.
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{NEW_SECRET}\n").as_bytes());
    child.wait_with_output().unwrap()
}

/// `configure`'s two-file commit (config and credentials, both or neither)
/// with each file operation failing in turn: a failure leaves both files as
/// they were, byte for byte; a success writes both.
#[test]
fn configure_with_each_file_operation_failing() {
    let clean = TestEnv::seeded();
    let out = configure_run(&clean, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let done = clean.snapshot();
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    for op in OPS {
        for n in 1..=MAX_N {
            let fault = format!("{op}#{n}");
            let env = TestEnv::seeded();
            let before = env.snapshot();
            let out = configure_run(&env, &fault);
            if !fired(&out, &fault) {
                rows.push(format!("{op}: {} points", n - 1));
                break;
            }
            let now = env.snapshot();
            let ok = out.status.code() == Some(0);
            if ok && now != done {
                bad.push(format!(
                    "{fault}: exit 0 but the files are not both written"
                ));
            }
            if !ok && now != before {
                bad.push(format!(
                    "{fault}: failed and changed the files:\n{}",
                    stderr_of(&out)
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "configure-faults",
        &format!(
            "fault points reached, per operation: {}; every failed run left both files byte for byte as they were, every successful one wrote both",
            rows.join(", ")
        ),
    );
}

/// The fault points a run reaches after `first` failed: the calls a run with
/// `<first>,trace` makes after it (the roll-back's file operations and
/// keyring calls).
fn after_fault(out: &std::process::Output, first: &str) -> Vec<String> {
    let stderr = stderr_of(out);
    let mark = match first.strip_prefix("step:") {
        Some(point) => format!("injected failure at {point}"),
        None => format!("test-hook: fail {first}\n"),
    };
    let Some(i) = stderr.find(&mark) else {
        return Vec::new();
    };
    stderr[i..]
        .lines()
        .filter_map(|l| l.strip_prefix("mfa-exec: test-hook: op "))
        .map(str::to_string)
        .collect()
}

/// The steps of `keys move` a test can fail after they worked.
const STEPS: &[&str] = &["keys-stored", "keys-config", "keys-removed"];

/// Did the first fault (`op#n`, or `step:<point>`) happen?
fn first_fired(out: &std::process::Output, first: &str) -> bool {
    match first.strip_prefix("step:") {
        Some(point) => stderr_of(out).contains(&format!("injected failure at {point}")),
        None => fired(out, first),
    }
}

/// `keys move testAccount --to <to>` with the first fault and `more`
/// (another `op#n`, `trace`, or nothing) in `MFA_EXEC_TEST_FAULT`.
fn move_with(env: &TestEnv, to: &str, first: &str, more: &str) -> std::process::Output {
    let mut cmd = env.cmd(&["keys", "move", "testAccount", "--to", to]);
    match first.strip_prefix("step:") {
        Some(point) => {
            cmd.env("MFA_EXEC_TEST_PAUSE", format!("{point}:fail"));
            cmd.env("MFA_EXEC_TEST_FAULT", more);
        }
        None if more.is_empty() => {
            cmd.env("MFA_EXEC_TEST_FAULT", first);
        }
        None => {
            cmd.env("MFA_EXEC_TEST_FAULT", format!("{first},{more}"));
        }
    }
    cmd.output().unwrap()
}

/// Every first fault of `keys move` (both directions), then every fault of
/// the roll-back that follows it (issue 21: `let _ = undo(...)` said
/// "nothing was moved" when the undo itself failed). After each pair: the
/// place the config names holds the keys; "nothing was moved/changed" only
/// when both places are as they were; a copy left in the place the config
/// does not name is named in the output; running the move again finishes it.
#[test]
fn move_with_each_roll_back_step_failing_too() {
    let ss = secret_service!();
    let seed = (SEED_KEY_ID.to_string(), SEED_SECRET.to_string());
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    for to in ["keyring", "file"] {
        let prepare = || {
            let env = ss.attach(TestEnv::seeded());
            ss.clear("testAccount");
            if to == "file" {
                let moved = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
                assert_eq!(moved.status.code(), Some(0), "{}", stderr_of(&moved));
            }
            env
        };
        let want = if to == "keyring" {
            (Some(seed.clone()), None)
        } else {
            (None, Some(seed.clone()))
        };
        let (mut pairs, mut failed_undos) = (0, 0);
        // First faults: each file operation and keyring call, and each step
        // of the move failing after it worked (`<point>:fail`).
        let mut firsts = Vec::new();
        for op in RING_OPS.iter().chain(OPS) {
            for n in 1..=MAX_N {
                let first = format!("{op}#{n}");
                let traced = move_with(&prepare(), to, &first, "trace");
                if !first_fired(&traced, &first) {
                    break;
                }
                firsts.push((first, traced));
            }
        }
        for point in STEPS {
            let first = format!("step:{point}");
            let traced = move_with(&prepare(), to, &first, "trace");
            assert!(
                first_fired(&traced, &first),
                "{first}: {}",
                stderr_of(&traced)
            );
            firsts.push((first, traced));
        }
        for (first, traced) in firsts {
            {
                for second in after_fault(&traced, &first) {
                    let env = prepare();
                    let before = env.snapshot();
                    let ring_before = ss.lookup("testAccount");
                    let out = move_with(&env, to, &first, &second);
                    let what = format!("--to {to}, {first} then {second}");
                    if !fired(&out, &second) {
                        bad.push(format!("{what}: the second fault was not reached"));
                        continue;
                    }
                    pairs += 1;
                    let stderr = stderr_of(&out);
                    if stderr.contains("putting things back failed too") {
                        failed_undos += 1;
                    }
                    let says_keyring = env.read_config().contains("mfa_exec_keys = keyring");
                    let (ring, file) = (ring_pair(&ss), file_pair(&env));
                    let named = if says_keyring { &ring } else { &file };
                    if named.as_ref() != Some(&seed) {
                        bad.push(format!(
                            "{what}: the place the config names holds {named:?}:\n{stderr}"
                        ));
                    }
                    let unchanged =
                        env.snapshot() == before && ss.lookup("testAccount") == ring_before;
                    if stderr.contains("nothing") && !unchanged {
                        bad.push(format!(
                            "{what}: said nothing changed, but the files or the keyring changed:\n{stderr}"
                        ));
                    }
                    if out.status.code() != Some(0) && !unchanged {
                        if !says_keyring
                            && ring.is_some()
                            && !stderr.contains("keyring (mfa-exec/testAccount)")
                        {
                            bad.push(format!(
                                "{what}: a copy in the keyring is not named:\n{stderr}"
                            ));
                        }
                        if says_keyring
                            && file.is_some()
                            && !stderr.contains("[testAccount] of ~/.aws/credentials")
                        {
                            bad.push(format!(
                                "{what}: a copy in the file is not named:\n{stderr}"
                            ));
                        }
                        if !stderr.contains(&format!(
                            "run 'mfa-exec keys move testAccount --to {to}' again"
                        )) {
                            bad.push(format!("{what}: changed things, and does not say to run the move again:\n{stderr}"));
                        }
                    }
                    let again = run(&env, &["keys", "move", "testAccount", "--to", to]);
                    let done = (ring_pair(&ss), file_pair(&env));
                    if again.status.code() != Some(0) || done != want {
                        bad.push(format!(
                            "{what}: the move run again: exit {:?}, keyring {:?}, file {:?}:\n{}",
                            again.status.code(),
                            done.0,
                            done.1,
                            stderr_of(&again)
                        ));
                    }
                }
            }
        }
        rows.push(format!(
            "--to {to}: {pairs} pairs, {failed_undos} with a roll-back step failing"
        ));
    }
    eprintln!("{}", rows.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "keys-move-double-faults",
        &format!(
            "{}; the invariants held after every run, and running the move again finished it",
            rows.join(", ")
        ),
    );
}

/// Every first fault of `keys rotate` (file-held and keyring-held keys), then
/// every fault of what follows it (putting the old pair back, reading it
/// back): after each pair the invariants of [`rotate_invariants`].
#[test]
fn rotate_with_each_roll_back_step_failing_too() {
    let ss = secret_service!();
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    for held in ["file", "keyring"] {
        let prepare = || {
            let env = ss.attach(TestEnv::seeded());
            ss.clear("testAccount");
            if held == "keyring" {
                let moved = run(&env, &["keys", "move", "testAccount", "--to", "keyring"]);
                assert_eq!(moved.status.code(), Some(0), "{}", stderr_of(&moved));
            }
            let sts = FakeSts::start();
            script_iam(&sts, &[SEED_KEY_ID], 1);
            (env, sts)
        };
        let place = |env: &TestEnv| {
            if held == "keyring" {
                ring_pair(&ss)
            } else {
                file_pair(env)
            }
        };
        let ops: Vec<&str> = if held == "keyring" {
            RING_OPS.iter().chain(OPS).copied().collect()
        } else {
            OPS.to_vec()
        };
        let (mut pairs, mut unknown) = (0, 0);
        for op in ops {
            for n in 1..=MAX_N {
                let first = format!("{op}#{n}");
                let (env, sts) = prepare();
                let traced = rotate_run(&env, &sts, &format!("{first},trace"));
                if !fired(&traced, &first) {
                    break;
                }
                for second in after_fault(&traced, &first) {
                    let (env, sts) = prepare();
                    let fault = format!("{first},{second}");
                    let out = rotate_run(&env, &sts, &fault);
                    if !fired(&out, &second) {
                        bad.push(format!("{held}, {fault}: the second fault was not reached"));
                        continue;
                    }
                    pairs += 1;
                    if stderr_of(&out).contains("both keys stay active") {
                        unknown += 1;
                    }
                    bad.extend(rotate_invariants(
                        &format!("{held}, {fault}"),
                        place(&env),
                        &out,
                        &sts,
                        sts.count_action("CreateAccessKey"),
                    ));
                }
            }
        }
        rows.push(format!(
            "{held}-held keys: {pairs} pairs, {unknown} leaving both keys active and named"
        ));
    }
    eprintln!("{}", rows.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "keys-rotate-double-faults",
        &format!("{}; the invariants held after every run", rows.join(", ")),
    );
}

/// `configure`'s two-file commit with each first fault followed by each
/// fault after it (the put-back of the file already replaced): a failure
/// that changed a file says which file holds what, never "neither file was
/// changed"; one that did not, leaves both byte for byte.
#[test]
fn configure_with_each_roll_back_step_failing_too() {
    let clean = TestEnv::seeded();
    let out = configure_run(&clean, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let done = clean.snapshot();
    let mut bad = Vec::new();
    let (mut pairs, mut half) = (0, 0);
    for op in OPS {
        for n in 1..=MAX_N {
            let first = format!("{op}#{n}");
            let traced = configure_run(&TestEnv::seeded(), &format!("{first},trace"));
            if !fired(&traced, &first) {
                break;
            }
            for second in after_fault(&traced, &first) {
                let fault = format!("{first},{second}");
                let env = TestEnv::seeded();
                let before = env.snapshot();
                let out = configure_run(&env, &fault);
                if !fired(&out, &second) {
                    bad.push(format!("{fault}: the second fault was not reached"));
                    continue;
                }
                pairs += 1;
                let stderr = stderr_of(&out);
                let now = env.snapshot();
                if out.status.code() == Some(0) {
                    if now != done {
                        bad.push(format!(
                            "{fault}: exit 0 but the files are not both written"
                        ));
                    }
                } else if now != before {
                    half += 1;
                    let config_new =
                        now.config == done.config && now.credentials == before.credentials;
                    let creds_new =
                        now.credentials == done.credentials && now.config == before.config;
                    let said = |new: &str, old: &str| {
                        stderr.contains(&format!("{new} could not be put back"))
                            && stderr.contains(&format!("it holds the new content, {old} the old"))
                    };
                    let ok = (config_new && said("~/.aws/config", "~/.aws/credentials"))
                        || (creds_new && said("~/.aws/credentials", "~/.aws/config"));
                    if !ok || stderr.contains("neither file was changed") {
                        bad.push(format!("{fault}: changed the files and said:\n{stderr}"));
                    }
                } else if stderr.contains("could not be put back") {
                    bad.push(format!("{fault}: nothing changed, but said:\n{stderr}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    super::record(
        "configure-double-faults",
        &format!(
            "{pairs} pairs, {half} leaving one file new and the other old, each said as such; every other failed run left both files byte for byte as they were"
        ),
    );
}
