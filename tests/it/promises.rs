//! Issue 12: each promise a careful review found broken, tried again. Every test
//! checks the exact error, the exit code, the STS request count and that both
//! AWS files are byte-for-byte unchanged where nothing may be written.

use crate::support::*;
use std::process::Stdio;

/// The note every run against the fake STS prints before its first request.
fn note(sts: &FakeSts) -> String {
    format!(
        "mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\n",
        sts.url()
    )
}

/// Item 2 (SPEC §8.1): a mistyped command is found before any code is asked
/// for or sent: 127, no prompt, no request, no write.
#[test]
fn mistyped_command_costs_no_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "terrafrom", "plan"], &sts)
        .assert()
        .code(127)
        .stdout("")
        .stderr("mfa-exec: error: command not found: terrafrom\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// Item 2: a command that exists but cannot run is 126, before any request.
#[test]
fn unrunnable_command_costs_no_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let script = env.home().join("notexec.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "./notexec.sh"], &sts)
        .assert()
        .code(126)
        .stderr(format!(
            "mfa-exec: error: cannot run ./notexec.sh: permission denied ({})\n",
            env.home().join("./notexec.sh").display()
        ));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// Item 3 (SPEC §8.1): a key mfa-exec would set, twice in the destination, is a
/// resolution error: no prompt, no request, nothing written.
#[test]
fn duplicate_session_key_in_destination_is_refused_before_a_code() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}\n[test]\naws_access_key_id = ASIAOLDOLDOLDOLDOLD0\naws_secret_access_key = s\naws_session_token = t1\naws_session_token = t2\n"
    ));
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: [test] in ~/.aws/credentials has aws_session_token twice (lines 9 and 10); mfa-exec will not write into it\nhint: remove one of the two lines from [test]\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
}

/// Item 5 (SPEC §8.2): a closed or full stderr is not a crash: the exit status
/// stays 125, never SIGABRT (134).
#[test]
fn closed_or_full_stderr_is_not_a_crash() {
    let env = TestEnv::seeded();
    let bin = bin_path();
    for redirect in ["2>&-", "2>/dev/full", ">&- 2>&-"] {
        let script = format!("'{}' nosuchprofile -- true {redirect}", bin.display());
        let status = env
            .other_cmd("/bin/sh", &["-c", &script])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(125), "{redirect}: {status:?}");
    }
    // A full stdout for a command that prints: an error (125), not an abort.
    let script = format!("'{}' list >/dev/full 2>/dev/full", bin.display());
    let status = env.other_cmd("/bin/sh", &["-c", &script]).status().unwrap();
    assert_eq!(status.code(), Some(125), "{status:?}");
    // A closed stdout: Rust's standard streams treat EBADF as a sink, so this
    // is a quiet success rather than an error, and never an abort.
    let script = format!("'{}' list >&- 2>&-", bin.display());
    let status = env.other_cmd("/bin/sh", &["-c", &script]).status().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Item 6 (SPEC §8.2): after `eval "$(mfa-exec export test)"` the variables a
/// run removes are gone from the shell.
#[test]
fn export_removes_what_a_run_removes() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_env("MFA_EXEC_TOKEN_CODE", "123456");
    let bin = bin_path();
    let script = format!(
        "export AWS_PROFILE=elsewhere AWS_DEFAULT_PROFILE=elsewhere; eval \"$('{}' export test)\"; env",
        bin.display()
    );
    let out = env
        .other_cmd("/bin/sh", &["-c", &script])
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let vars = String::from_utf8_lossy(&out.stdout);
    for gone in [
        "AWS_PROFILE=",
        "AWS_DEFAULT_PROFILE=",
        "MFA_EXEC_TOKEN_CODE=",
    ] {
        assert!(
            !vars.lines().any(|l| l.starts_with(gone)),
            "{gone} survived:\n{vars}"
        );
    }
    let issued = sts.last_issued().unwrap();
    assert!(vars
        .lines()
        .any(|l| l == format!("AWS_ACCESS_KEY_ID={}", issued.access_key_id)));
    // Each shell format removes them its own way; dotenv and json only set.
    let first = |format: &str| -> String {
        let out = env
            .cmd_with_sts(&["export", "test", "--format", format], &sts)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    assert!(first("sh").starts_with(
        "unset AWS_PROFILE AWS_DEFAULT_PROFILE MFA_EXEC_TOKEN_CODE\nexport AWS_ACCESS_KEY_ID="
    ));
    assert!(first("fish").starts_with("set -q AWS_PROFILE; and set -e AWS_PROFILE\nset -q AWS_DEFAULT_PROFILE; and set -e AWS_DEFAULT_PROFILE\nset -q MFA_EXEC_TOKEN_CODE; and set -e MFA_EXEC_TOKEN_CODE\nset -gx AWS_ACCESS_KEY_ID "));
    assert!(first("powershell").starts_with("Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue\nRemove-Item Env:AWS_DEFAULT_PROFILE -ErrorAction SilentlyContinue\nRemove-Item Env:MFA_EXEC_TOKEN_CODE -ErrorAction SilentlyContinue\n$env:AWS_ACCESS_KEY_ID = "));
    assert!(first("dotenv").starts_with("AWS_ACCESS_KEY_ID="));
    assert!(!first("json").contains("AWS_PROFILE"));
    // Only the first run called STS; the others were cached.
    assert_eq!(sts.count(), 1);
}

/// Item 7 (SPEC §8.2): a session the main flow wrote under
/// `MFA_EXEC_MFA_SERIAL` shows as valid in `list`, like everywhere else.
#[test]
fn list_resolves_with_the_same_inputs_as_the_main_flow() {
    let sts = FakeSts::start();
    let env = TestEnv::new().with_env("MFA_EXEC_MFA_SERIAL", "arn:aws:iam::123456789012:mfa/other");
    // The profile names one device; the environment overrides it.
    env.write_config("[profile work]\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/own\nregion = eu-west-1\n");
    env.write_credentials(SEED_CREDENTIALS);
    env.cmd_with_sts(&["work", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count(), 1);
    let out = env
        .cmd(&["list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let work = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "work")
        .unwrap_or_else(|| panic!("no row for work: {rows}"));
    assert_eq!(work["state"], "valid", "{rows}");
    assert_eq!(work["device"], "arn:aws:iam::123456789012:mfa/other");
    // export and credential-process see the same cached session: no request.
    env.cmd(&["export", "work"]).assert().success();
    env.cmd(&["credential-process", "work"]).assert().success();
    assert_eq!(sts.count(), 1);
}

/// Item 8 (SPEC §6): `mfa-exec -f test & mfa-exec -f test2` (same source and
/// device): the waiter takes the session the holder wrote for the other
/// profile: one code, one GetSessionToken.
#[test]
fn force_waiter_takes_the_session_written_for_another_profile() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let asked = env.home().join("asked");
    let go = env.home().join("go");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = echo asked >> {} ; while [ ! -e {} ]; do sleep 0.05; done; echo 123456\n\n[profile test2]\nsource_profile = testAccount\n",
        asked.display(),
        go.display()
    ));
    let holder = env
        .std_cmd_with_sts(&["-f", "test", "--", "true"], &sts)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&asked); // the holder has the lock of (testAccount, device)
    let waiter = env
        .std_cmd_with_sts(&["-f", "test2", "--", "env"], &sts)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Let the waiter reach the lock before the holder finishes.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::write(&go, "").unwrap();
    let holder = holder.wait_with_output().unwrap();
    assert!(holder.status.success(), "{holder:?}");
    let waiter = waiter.wait_with_output().unwrap();
    assert!(waiter.status.success(), "{waiter:?}");
    assert_eq!(sts.count_action("GetSessionToken"), 1, "one code, one call");
    assert_eq!(
        std::fs::read_to_string(&asked).unwrap(),
        "asked\n",
        "the code was asked once"
    );
    let issued = sts.last_issued().unwrap();
    let vars = String::from_utf8_lossy(&waiter.stdout);
    assert!(
        vars.lines()
            .any(|l| l == format!("AWS_ACCESS_KEY_ID={}", issued.access_key_id)),
        "{vars}"
    );
    let creds = env.read_credentials();
    assert!(creds.contains("\n[test2]\naws_access_key_id = "), "{creds}");
}

/// Item 12 (SPEC §8.2): a background job (`stty tostop`) never writes to the
/// terminal: it is not stopped by SIGTTOU and its progress notes stay off the
/// screen.
#[test]
fn background_job_never_writes_to_the_terminal() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    // A credentials file others may read: every run warns about it.
    env.set_mode(&env.credentials_path(), 0o644);
    let bin = bin_path();
    let script = format!(
        "set -m; stty tostop; '{0}' test -t 123456 -- true & wait $!; echo rc=$?; '{0}' test -- true & wait $!; echo rc2=$?; echo done",
        bin.display()
    );
    let pty = env.pty_program(
        std::path::Path::new("/bin/sh"),
        &["-c", &script],
        Some(&sts),
    );
    let (code, seen) = pty.wait_with_output();
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("rc=0\r\nrc2=0\r\ndone"), "{seen}");
    assert!(!seen.contains("getting an MFA session"), "{seen}");
    assert!(!seen.contains("readable by others"), "{seen}");
    assert_eq!(sts.count_action("GetSessionToken"), 1);
}

/// Item 13: `--quiet` silences the endpoint note (errors only).
#[test]
fn quiet_silences_the_endpoint_note() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    // Each forced refresh needs its own code (one code, used once).
    let forms: [&[&str]; 4] = [
        &["-q", "test", "-f"],
        &["--quiet", "test", "-f"],
        &["test", "-q", "-f"],
        &["exec", "test", "-f", "-q"],
    ];
    for form in forms {
        let code = fresh_code();
        let mut args: Vec<&str> = form.to_vec();
        args.extend(["-t", &code, "--", "true"]);
        env.cmd_with_sts(&args, &sts).assert().success().stderr("");
    }
    assert_eq!(sts.count(), 4);
}

/// Item 14 (SPEC §2): the keys of P's source_profile come before keys in P's
/// own config section.
#[test]
fn source_keys_come_before_config_keys() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}aws_access_key_id = AKIACONFIGCONFIGCONF\naws_secret_access_key = cfg\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let req = sts.last_request().unwrap();
    assert_eq!(req.access_key_id.as_deref(), Some(SEED_KEY_ID));
    // explain names the same source.
    let out = env.cmd(&["explain", "test", "--json"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("AKIA************MPLE"), "{text}");
    assert!(!text.contains("AKIA************CONF"), "{text}");
}

/// Item 15 (SPEC §8.2): an unrelated `COMPLETE` changes nothing; completion
/// answers to `_MFA_EXEC_COMPLETE`.
#[test]
fn unrelated_complete_variable_changes_nothing() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_env("COMPLETE", "1");
    env.cmd_with_sts(&["test", "-t", "123456", "--", "echo", "hi"], &sts)
        .assert()
        .success()
        .stdout("hi\n");
    let out = env
        .cmd(&["--", "mfa-exec", "te"])
        .env("_MFA_EXEC_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "1")
        .env("_CLAP_IFS", "\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let words: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(words.contains(&"test".to_string()), "{words:?}");
    assert!(words.contains(&"testAccount".to_string()), "{words:?}");
}

/// Item 22: an empty `region =` in P falls through to the source chain.
#[test]
fn empty_region_falls_through_to_the_source() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config("[profile testAccount]\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = eu-central-1\n\n[profile test]\nsource_profile = testAccount\nregion =\n");
    env.write_credentials(SEED_CREDENTIALS);
    let out = env
        .cmd_with_sts(&["test", "-t", "123456", "--", "env"], &sts)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let vars = String::from_utf8_lossy(&out);
    assert!(
        vars.lines().any(|l| l == "AWS_REGION=eu-central-1"),
        "{vars}"
    );
    assert_eq!(
        sts.last_request().unwrap().region.as_deref(),
        Some("eu-central-1")
    );
}

/// Item 22: a role without an MFA device is assumed with the long-term keys
/// and never writes `[S-mfa]`, so a foreign `[S-mfa]` does not stop it.
#[test]
fn role_without_device_needs_no_source_session_section() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config("[profile nomfa]\nrole_arn = arn:aws:iam::210987654321:role/reader\nsource_profile = base\n");
    let creds = "[base]\naws_access_key_id = AKIABASEBASEBASEBASE\naws_secret_access_key = s\n\n[base-mfa]\n# someone else's\nregion_hint = x\n";
    env.write_credentials(creds);
    env.cmd_with_sts(&["nomfa", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count_action("AssumeRole"), 1);
    assert_eq!(sts.count_action("GetSessionToken"), 0);
    let after = env.read_credentials();
    assert!(after.starts_with(creds), "{after}");
}

/// Item 22: InvalidClientTokenId for a request signed with a session does not
/// blame the long-term keys.
#[test]
fn invalid_token_of_a_session_does_not_blame_the_long_term_keys() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    sts.push_for("AssumeRole", Reply::invalid_client_token_id());
    env.cmd_with_sts(&["prod", "-t", "123456", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stderr(format!("{}mfa-exec: error: profile 'prod': STS refused the session that signed the request to assume arn:aws:iam::210987654321:role/admin as invalid (STS: InvalidClientTokenId)\nhint: run 'mfa-exec clear prod' and try again; if it repeats, check that the keys of [testAccount] of ~/.aws/credentials are active\n", note(&sts)));
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert!(!env.home().join("ran").exists());
}

/// One code, used once — but a code that never reached STS (connection
/// refused) is not spent: retrying it once the network is back works.
#[test]
fn a_code_that_never_reached_sts_is_not_spent() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let code = fresh_code();
    let closed = format!("http://127.0.0.1:{}", free_closed_port());
    let snap = env.snapshot();
    env.cmd(&["test", "-t", &code, "--", "true"])
        .env("AWS_ENDPOINT_URL_STS", &closed)
        .assert()
        .code(125)
        .stderr(format!("mfa-exec: using STS at {closed} (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS unreachable at {closed}: connection refused\nhint: check the network, or the endpoint (AWS_ENDPOINT_URL_STS, endpoint_url)\n"));
    env.assert_unchanged(&snap);
    env.cmd_with_sts(&["test", "-t", &code, "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    // Once sent, the same code is refused locally.
    env.cmd_with_sts(&["test", "-f", "-t", &code, "--", "true"], &sts)
        .assert()
        .code(125);
    assert_eq!(sts.count_action("GetSessionToken"), 1);
}

/// Item 22: in credential-process mode the lock wait, `mfa_process` and STS
/// together stay inside the SDKs' 60 s: an `mfa_process` with a longer timeout
/// of its own is stopped when the run's budget ends. (The 55 s budget is
/// shortened to 3 s here through a debug-only test variable.)
#[test]
fn credential_process_bounds_the_whole_run() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = sleep 100 ; echo 123456\nmfa_process_timeout = 90\n"
    ));
    let snap = env.snapshot();
    let start = std::time::Instant::now();
    env.cmd_with_sts(&["credential-process", "test"], &sts)
        .env("MFA_EXEC_TEST_BUDGET_MS", "3000")
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) gave no code within 3s; it was stopped\n");
    // Bounded by the budget, not by the 90 s timeout (a generous margin).
    assert!(start.elapsed() < std::time::Duration::from_secs(45));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// The budget bounds the prompt too: nobody types, and at the budget the
/// terminal is restored and the run ends with one line (exit 125), nothing
/// sent, nothing written. (Debug-only budget hook: skipped in the
/// release-like pass by the name it shares with the test above.)
#[test]
fn credential_process_bounds_the_whole_run_prompt_included() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_env("MFA_EXEC_TEST_BUDGET_MS", "2000");
    let snap = env.snapshot();
    let mut pty = env.pty(&["credential-process", "test"], Some(&sts));
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    let (code, out) = pty.wait_within(std::time::Duration::from_secs(30));
    let after = out
        .split_once("mfa/test): ")
        .map(|(_, r)| r)
        .unwrap_or(&out);
    assert_eq!(
        after,
        "\r\nmfa-exec: error: no MFA code for profile 'test' was typed within the 2s left to answer; nothing was sent\r\nhint: run 'mfa-exec test' in a terminal first, or pass --token-code / MFA_EXEC_TOKEN_CODE\r\n"
    );
    assert_eq!(code, 125);
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

// ---------------------------------------------------------------------------
// Found by the review of this round (an attacker's pass over the fixes).
// ---------------------------------------------------------------------------

/// A credentials path that is not a regular file: a FIFO is refused at once
/// (a read would hang), and a device is never replaced by a file of secrets.
#[test]
fn credentials_that_are_not_a_regular_file_are_refused() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}aws_access_key_id = AKIACONFIGCONFIGCONF\naws_secret_access_key = cfg\n"
    ));
    let fifo = env.home().join("fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let fifo_s = fifo.to_str().unwrap();
    env.cmd(&["list"])
        .env("AWS_SHARED_CREDENTIALS_FILE", fifo_s)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: ~/fifo is a FIFO, not a regular file; mfa-exec reads only regular files\nhint: point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a regular file\n");
    // /dev/null reads as empty (the common way to say "no credentials file"),
    // but is never written: refused before any code is asked for.
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "touch", "ran"], &sts)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .assert()
        .code(125)
        .stderr("mfa-exec: error: /dev/null is a character device, not a regular file; mfa-exec writes only regular files\nhint: point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a regular file\n");
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    let meta = std::fs::metadata("/dev/null").unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(meta.file_type().is_char_device());
}

/// A script whose `#!` interpreter is missing is 127 before any code.
#[test]
fn missing_script_interpreter_costs_no_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let script = env.home().join("s.sh");
    std::fs::write(&script, "#!/nonexistent/interp -x\necho hi\n").unwrap();
    env.set_mode(&script, 0o755);
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "./s.sh"], &sts)
        .assert()
        .code(127)
        .stderr("mfa-exec: error: cannot run ./s.sh: its interpreter /nonexistent/interp (from its #! line) does not exist\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// A script whose `#!` interpreter exists but cannot run is 126 before any
/// code.
#[test]
fn unrunnable_script_interpreter_costs_no_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let interp = env.home().join("interp");
    std::fs::write(&interp, "not a program\n").unwrap();
    env.set_mode(&interp, 0o644);
    let script = env.home().join("s.sh");
    std::fs::write(&script, format!("#!{}\necho hi\n", interp.display())).unwrap();
    env.set_mode(&script, 0o755);
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "./s.sh"], &sts)
        .assert()
        .code(126)
        .stderr(format!(
            "mfa-exec: error: cannot run ./s.sh: its interpreter {} (from its #! line) is not executable\n",
            interp.display()
        ));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// An empty command name is "not found" (127), and with no PATH at all the
/// default search path is used, as execvp and env(1) do.
#[test]
fn empty_command_and_unset_path() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", ""], &sts)
        .assert()
        .code(127)
        .stderr("mfa-exec: error: command not found: '' (an empty command name)\n");
    assert_eq!(sts.count(), 0);
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "true"], &sts)
        .env_remove("PATH")
        .assert()
        .success();
    assert_eq!(sts.count(), 1);
}

/// A role's source session is never written into a marked section whose keys
/// are duplicated (the write would refuse after the code was spent): it goes
/// to the source's own section instead.
#[test]
fn source_session_avoids_a_section_the_write_would_refuse() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\n"
    ));
    let dup = "[test]\naws_access_key_id = ASIAOLDOLDOLDOLDOLD0\naws_secret_access_key = s\naws_session_token = t1\naws_session_token = t2\nx_security_token_expires = 2020-01-01T00:00:00Z\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = arn:aws:iam::123456789012:mfa/test\n";
    env.write_credentials(&format!("{SEED_CREDENTIALS}\n{dup}"));
    env.cmd_with_sts(&["prod", "-t", &fresh_code(), "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert_eq!(sts.count_action("AssumeRole"), 1);
    let after = env.read_credentials();
    assert!(after.contains(dup), "[test] untouched:\n{after}");
    assert!(after.contains("\n[testAccount-mfa]\n"), "{after}");
}

/// An STS answer whose secret holds a newline is a bad answer, never written
/// (no line can be injected into the credentials file).
#[test]
fn sts_secret_with_a_newline_is_a_bad_answer() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let body = "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetSessionTokenResult><Credentials><AccessKeyId>ASIAEVILEVILEVILEVIL</AccessKeyId><SecretAccessKey>abc\n[evil]\ncredential_process = touch /tmp/pwned</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></GetSessionTokenResult></GetSessionTokenResponse>";
    sts.push(Reply::raw(200, body));
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stderr(format!("{}mfa-exec: error: STS at {} sent an answer mfa-exec cannot read: the secret access key in its answer holds control characters or surrounding spaces\n", note(&sts), sts.url()));
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
}

/// Root running with a user's HOME (`sudo -E`) leaves lock files the user
/// owns, so the user's next refresh is not locked out.
#[test]
fn lock_files_made_by_root_belong_to_the_directory_owner() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED lock_files_made_by_root_belong_to_the_directory_owner: needs root");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let nobody = 65534;
    std::os::unix::fs::chown(env.aws_dir(), Some(nobody), Some(nobody)).unwrap();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "true"], &sts)
        .assert()
        .success();
    let locks: Vec<_> = std::fs::read_dir(env.aws_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
        .collect();
    assert!(!locks.is_empty());
    for l in locks {
        let m = l.metadata().unwrap();
        assert_eq!(m.uid(), nobody, "{:?}", l.path());
        assert_eq!(m.mode() & 0o777, 0o600);
    }
}

/// A proxy variable mfa-exec cannot use (SOCKS) only matters when STS is
/// called: a cached run works; a refresh fails before any code is asked for.
#[test]
fn unusable_proxy_only_matters_when_sts_is_called() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "true"], &sts)
        .assert()
        .success();
    env.cmd_with_sts(&["test", "--", "echo", "cached"], &sts)
        .env("ALL_PROXY", "socks5://127.0.0.1:1080")
        .env("HTTP_PROXY", "socks5://127.0.0.1:1080")
        .assert()
        .success()
        .stdout("cached\n");
    let snap = env.snapshot();
    let out = env
        .cmd_with_sts(
            &["test", "-f", "-t", &fresh_code(), "--", "touch", "ran"],
            &sts,
        )
        .env("ALL_PROXY", "socks5://127.0.0.1:1080")
        .env("HTTP_PROXY", "socks5://127.0.0.1:1080")
        .assert()
        .code(125)
        .stdout("")
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("socks5"), "{err}");
    assert_eq!(err, "mfa-exec: error: the proxy socks5://127.0.0.1:1080 (from HTTP_PROXY) cannot be used: invalid proxy URL: unsupported proxy scheme: socks5\nhint: use an http:// or https:// proxy URL\n");
    assert!(!env.home().join("ran").exists());
    assert_eq!(sts.count(), 1, "no request after the first");
    env.assert_unchanged(&snap);
}

/// One code, used once, at the network level too: a request that carries a
/// code is never retried by the SDK (a reset or a 500 after STS may have read
/// it), and such a code stays spent.
#[test]
fn a_request_with_a_code_is_sent_once() {
    for reply in [Reply::Reset, Reply::internal_failure()] {
        let sts = FakeSts::start();
        sts.fail_always(reply);
        let env = TestEnv::seeded();
        let code = fresh_code();
        let snap = env.snapshot();
        env.cmd_with_sts(&["test", "-t", &code, "--", "touch", "ran"], &sts)
            .assert()
            .code(125);
        assert_eq!(sts.count(), 1, "sent once");
        env.assert_unchanged(&snap);
        sts.clear_faults();
        // The code may have reached STS: it is not sent again.
        env.cmd_with_sts(&["test", "-t", &code, "--", "true"], &sts)
            .assert()
            .code(125);
        assert_eq!(sts.count(), 1);
    }
}

/// A write lock that cannot be used (a planted symlink) is found before any
/// code is asked for or sent, not at the write after STS.
#[test]
fn unusable_write_lock_is_found_before_a_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let target = env.home().join("elsewhere");
    std::fs::write(&target, "x").unwrap();
    std::os::unix::fs::symlink(&target, env.aws_dir().join(".credentials.mfa-exec.lock")).unwrap();
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: lock file ~/.aws/.credentials.mfa-exec.lock is a symlink; refusing to follow it\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
}

/// A session of an isolated partition is never sent to the commercial
/// sign-in endpoint: refused before any request unless an endpoint is given.
#[test]
fn login_refuses_an_unknown_partition() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd_with_sts(&["login", "test", "--print", "--region", "us-iso-east-1"], &sts)
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: region us-iso-east-1 is in a partition whose sign-in endpoint mfa-exec does not know\nhint: pass its federation endpoint with --signin-url (or MFA_EXEC_SIGNIN_URL)\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// A CA bundle is only found (not parsed) on the cached path: parsing a
/// system bundle cost 0.8 ms, a third of a cached run. Its
/// certificates are checked once STS is needed, still before any code.
#[test]
fn ca_bundle_is_parsed_only_when_sts_is_called() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", &fresh_code(), "--", "true"], &sts)
        .assert()
        .success();
    let bad = env.home().join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let bad = bad.to_str().unwrap();
    // Cached: the bundle exists and is readable; nothing more is needed.
    env.cmd_with_sts(&["test", "--", "echo", "cached"], &sts)
        .env("AWS_CA_BUNDLE", bad)
        .assert()
        .success()
        .stdout("cached\n");
    // A refresh: the unparsable bundle is an error before any code is sent.
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "-f", "-t", &fresh_code(), "--", "touch", "ran"], &sts)
        .env("AWS_CA_BUNDLE", bad)
        .assert()
        .code(125)
        .stderr(format!("mfa-exec: error: the CA bundle {bad} (from $AWS_CA_BUNDLE) holds no PEM certificate\nhint: AWS_CA_BUNDLE and ca_bundle name a PEM file of the CA certificates to trust\n"));
    assert_eq!(sts.count(), 1);
    env.assert_unchanged(&snap);
}
