//! Fixes from the security review: dotenv output that sourcing cannot turn
//! into commands (item 2) and write errors of the output reported as such
//! (item 3). Item 1 (configure and session sections) is in
//! `configure_safety.rs`.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Output, Stdio};

/// A secret on the single-quote path of the dotenv format: backquotes, `$(..)`,
/// `$VAR`, double quotes, but no `'` and no `\`.
const ODD_SECRET: &str = r#"s3cr3t`touch pwned1`$(touch pwned2)"$HOME"/+=x"#;
/// A token on the double-quote path: a `'` and `\` besides backquotes and `$`.
const ODD_TOKEN: &str = r#"tok'en`touch pwned3`$(touch pwned4)\$(touch pwned5)\\x${HOME}"end\"#;
const ODD_KEY_ID: &str = "ASIAODDODDODDODD0001";

/// The seed layout with a fresh session mfa-exec wrote for `test`, whose
/// secret and token hold shell syntax.
fn env_with_odd_session() -> TestEnv {
    let env = TestEnv::new();
    env.write_config(SEED_CONFIG);
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}\n[test]\naws_access_key_id = {ODD_KEY_ID}\naws_secret_access_key = {ODD_SECRET}\naws_session_token = {ODD_TOKEN}\nx_security_token_expires = 2099-01-01T00:00:00Z\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n"
    ));
    env
}

fn run(env: &TestEnv, args: &[&str]) -> Output {
    env.std_cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// `export --format json`: the exact values, the reference for the others.
fn exported_json(env: &TestEnv) -> BTreeMap<String, String> {
    let out = run(env, &["export", "test", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
        .collect()
}

fn pwned(env: &TestEnv) -> Vec<String> {
    (1..=5)
        .map(|i| format!("pwned{i}"))
        .filter(|f| env.home().join(f).exists())
        .collect()
}

/// Item 2: `set -a; . ./.env` in /bin/sh gives back every byte of every value
/// and runs nothing; no STS call, no file changed.
#[test]
fn dotenv_sourced_by_sh_is_exact_and_inert() {
    let sts = FakeSts::start();
    let env = env_with_odd_session().with_sts(&sts);
    let before = env.snapshot();
    let want = exported_json(&env);
    assert_eq!(want["AWS_SECRET_ACCESS_KEY"], ODD_SECRET);
    assert_eq!(want["AWS_SESSION_TOKEN"], ODD_TOKEN);
    assert_eq!(want["AWS_ACCESS_KEY_ID"], ODD_KEY_ID);
    let out = run(&env, &["export", "test", "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr, b"");
    fs::write(env.home().join(".env"), &out.stdout).unwrap();
    let mut script = String::from("set -a; . ./.env || exit 9\n");
    for k in want.keys() {
        script.push_str(&format!("printf %s \"${k}\" > out.{k}\n"));
    }
    let status = env.other_cmd("/bin/sh", &["-c", &script]).status().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(pwned(&env), Vec::<String>::new(), "sourcing ran a command");
    for (k, v) in &want {
        let got = fs::read(env.home().join(format!("out.{k}"))).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), *v, "{k}");
    }
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&before);
}

/// The Python of the venv `.ci/run` creates (`scripts/venv.sh`), when it has
/// python-dotenv (moto[server] brings it).
fn python_with_dotenv() -> Option<PathBuf> {
    let venv = std::env::var_os("MFA_EXEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv"));
    let python = venv.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import dotenv"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

/// Item 2, python-dotenv's half: every value on the bare and single-quote
/// paths is exact (with its default interpolation, too); the double-quote
/// path keeps the `\` before `$` and `` ` `` (it has no escape for them, see
/// `dotenv_quote`).
#[test]
fn dotenv_read_by_python_dotenv() {
    let Some(python) = python_with_dotenv() else {
        eprintln!("SKIPPED: no venv with python-dotenv (run scripts/venv.sh; .ci/run always does)");
        return;
    };
    let env = env_with_odd_session();
    let want = exported_json(&env);
    let out = run(&env, &["export", "test", "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let path = env.home().join(".env");
    fs::write(&path, &out.stdout).unwrap();
    let read = |interpolate: &str| -> BTreeMap<String, String> {
        let code = format!(
            "import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1], interpolate={interpolate})))"
        );
        let out = env
            .other_cmd(
                python.to_str().unwrap(),
                &["-c", &code, path.to_str().unwrap()],
            )
            .env_remove("HOME")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let plain = read("False");
    let interpolated = read("True");
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        if v.contains(['\'', '\\']) {
            let kept = v.replace('$', r"\$").replace('`', r"\`");
            assert_eq!(plain[k], kept, "{k}");
        } else {
            assert_eq!(plain[k], *v, "{k}");
            assert_eq!(interpolated[k], *v, "{k}");
        }
    }
    assert_eq!(plain["AWS_SECRET_ACCESS_KEY"], ODD_SECRET);
    assert_eq!(pwned(&env), Vec::<String>::new());
}

/// `/dev/full` as stdout, or None (with a note) where there is none (macOS).
fn dev_full() -> Option<File> {
    match File::options().write(true).open("/dev/full") {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("SKIPPED: /dev/full cannot be opened ({e}); it exists on Linux only");
            None
        }
    }
}

const WRITE_FAILED: &str = "mfa-exec: error: cannot write the output: no space left on device\n";

/// Item 3: every subcommand that prints, and `--help`/`--version`, reports a
/// full stdout as the output it could not write: one lowercase line without
/// "(os error N)", exit 125; no STS call, no file changed.
#[test]
fn a_full_stdout_is_reported_as_the_output() {
    let sts = FakeSts::start();
    let env = env_with_odd_session().with_sts(&sts);
    let before = env.snapshot();
    let cases: &[&[&str]] = &[
        &["list"],
        &["list", "--json"],
        &["explain", "test"],
        &["explain", "test", "--json"],
        &["export", "test"],
        &["export", "test", "--format", "dotenv"],
        &["export", "test", "--format", "json"],
        &["export", "test", "--format", "powershell"],
        &["credential-process", "test"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["--help"],
        &["--version"],
        &["export", "--help"],
        &["help", "list"],
    ];
    for args in cases {
        let Some(full) = dev_full() else { return };
        let out = env
            .std_cmd(args)
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            WRITE_FAILED,
            "{args:?}"
        );
    }
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&before);
}

/// Item 3: the same commands with a writable stdout still succeed (exit 0), so
/// the 125 above is the full disk and nothing else.
#[test]
fn the_same_commands_succeed_with_a_writable_stdout() {
    let sts = FakeSts::start();
    let env = env_with_odd_session().with_sts(&sts);
    for args in [
        &["list"][..],
        &["explain", "test"],
        &["export", "test"],
        &["credential-process", "test"],
        &["completions", "bash"],
        &["--help"],
        &["--version"],
    ] {
        let out = run(&env, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(sts.count(), 0);
}

/// Item 3: a stdout whose reader is gone (`mfa-exec --help | head -c0`)
/// stays quiet: no error line, exit 125, as `list | head` always did.
#[test]
fn a_closed_pipe_stays_quiet() {
    let env = TestEnv::seeded();
    for args in [&["--help"][..], &["completions", "bash"], &["list"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .std_cmd(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}
