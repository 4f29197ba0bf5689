//! list, clear, export, credential-process (issue 5).

use crate::support::*;
use predicates::prelude::*;
use std::path::PathBuf;

/// The venv with the real AWS CLI that `.ci/run` creates (`scripts/venv.sh`).
fn aws_cli() -> Option<PathBuf> {
    let venv = std::env::var_os("MFA_EXEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv"));
    let aws = venv.join("bin/aws");
    aws.exists().then_some(aws)
}

fn in_hours(h: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(h))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A session mfa-exec wrote, expiring `h` hours from now.
fn marked_session(section: &str, key: &str, secret: &str, h: i64) -> String {
    format!(
        "\n[{section}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\naws_session_token = tok/en+={section}\nx_security_token_expires = {}\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n",
        in_hours(h)
    )
}

#[test]
fn credential_process_json_for_the_real_aws_cli() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let out = env
        .cmd_with_sts(&["credential-process", "test", "-t", "123456"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let i = sts.last_issued().unwrap();
    assert_eq!(v["Version"], 1);
    assert_eq!(v["AccessKeyId"], i.access_key_id.as_str());
    assert_eq!(v["SecretAccessKey"], i.secret_access_key.as_str());
    assert_eq!(v["SessionToken"], i.session_token.as_str());
    assert!(v["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v.as_object().unwrap().len(), 5);

    let Some(aws) = aws_cli() else {
        eprintln!("SKIPPED: the AWS CLI venv is absent (run scripts/venv.sh; .ci/run always does)");
        return;
    };
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile work]\ncredential_process = {} credential-process test\nregion = us-east-1\n",
        bin_path().display()
    ));
    env.write_credentials(SEED_CREDENTIALS); // force a refresh through credential_process
    let before = sts.count();
    let out = env
        .other_cmd(
            aws.to_str().unwrap(),
            &[
                "--profile",
                "work",
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ],
        )
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        // A new code: the first one was used (one code, used once).
        .env("MFA_EXEC_TOKEN_CODE", fresh_code())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(id["Account"], "123456789012");
    let reqs = sts.requests();
    let actions: Vec<_> = reqs[before..].iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["GetSessionToken", "GetCallerIdentity"]);
    let issued = sts.last_issued().unwrap();
    assert_eq!(
        reqs.last().unwrap().access_key_id.as_deref(),
        Some(issued.access_key_id.as_str()),
        "the CLI signed with the MFA session"
    );
}

#[test]
fn credential_process_refuses_to_call_itself() {
    let env = TestEnv::seeded();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile work]\ncredential_process = mfa-exec credential-process work\n"
    ));
    env.cmd(&["credential-process", "work"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: profile 'work' (~/.aws/config:11 [profile work]) runs 'mfa-exec credential-process work' for itself, which would loop\nhint: point it at the profile with the keys and MFA device, e.g. credential_process = mfa-exec credential-process <that profile>\n");
}

/// The self-loop check reads what a run reads: a credential_process in the
/// credentials file's `[P]` (which botocore merges into P) counts.
#[test]
fn credential_process_in_the_credentials_file_refuses_to_call_itself() {
    let env = TestEnv::seeded();
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}\n[work]\ncredential_process = /usr/local/bin/mfa-exec credential-process work\n"
    ));
    let snap = env.snapshot();
    env.cmd(&["credential-process", "work"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: profile 'work' (~/.aws/credentials:7 [work]) runs 'mfa-exec credential-process work' for itself, which would loop\nhint: point it at the profile with the keys and MFA device, e.g. credential_process = mfa-exec credential-process <that profile>\n");
    env.assert_unchanged(&snap);
}

#[test]
fn export_survives_eval_in_bash_and_fish() {
    let env = TestEnv::seeded();
    let secret = "ab'c/d+e=f\"g$h\\i `x`";
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}{}",
        marked_session("test", "ASIAQUOTEQUOTEQUOTE0", secret, 5)
    ));
    let bin = bin_path();
    let script = format!(
        "eval \"$('{}' export test)\"; printf '%s\\n' \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" \"$AWS_REGION\" \"$MFA_EXEC_PROFILE\"",
        bin.display()
    );
    let out = env.other_cmd("bash", &["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{secret}\ntok/en+=test\nap-northeast-2\ntest\n")
    );

    let json = env
        .cmd(&["export", "test", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["AWS_SECRET_ACCESS_KEY"], secret);
    assert_eq!(v["AWS_ACCESS_KEY_ID"], "ASIAQUOTEQUOTEQUOTE0");

    if which_fish().is_none() {
        eprintln!("SKIPPED: fish is not installed (.ci/run installs it)");
        return;
    }
    let script = format!(
        "'{}' export test --format fish | source; printf '%s\\n' $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN",
        bin.display()
    );
    let out = env.other_cmd("fish", &["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{secret}\ntok/en+=test\n")
    );
}

fn which_fish() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("fish"))
            .find(|f| f.exists())
    })
}

#[test]
fn list_states_table_and_json_without_network() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile old]\nsource_profile = testAccount\n\n[profile fresh2]\nsource_profile = testAccount\n\n[profile plain]\nregion = us-east-1\n"
    ));
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}{}{}\n[plain]\naws_access_key_id = AKIAPLAINPLAINPLAIN0\naws_secret_access_key = x\n{}",
        marked_session("test", "ASIAVALIDVALIDVALID0", "s", 11),
        marked_session("old", "ASIAOLDOLDOLDOLDOLD0", "s", -1),
        marked_session("fresh2", "ASIASOONSOONSOONSOO0", "s", 0).replace(&in_hours(0), &(chrono::Utc::now() + chrono::Duration::minutes(10)).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    ));
    let snap = env.snapshot();
    let out = env
        .cmd_with_sts(&["list"], &sts)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PROFILE", "SOURCE", "KEYS", "DEVICE", "STATE"]
    );
    let row = |p: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(p))
            .copied()
            .unwrap_or_else(|| panic!("no row {p} in\n{text}"))
    };
    assert!(
        row("test").contains("valid, 10h 5") || row("test").contains("valid, 11h 00m left"),
        "{text}"
    );
    // The fresh [test] (same source and device) serves the others without a
    // code (issue 25 item 9).
    assert!(row("old").ends_with("expired, reuses [test]"), "{text}");
    assert!(row("fresh2").ends_with("expiring, reuses [test]"), "{text}");
    assert!(
        row("testAccount").ends_with("none, reuses [test]"),
        "{text}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("plain")),
        "a long-term-only profile without a device is not listed:\n{text}"
    );
    // Aligned: every STATE column starts at the same offset.
    let col = lines[0].find("STATE").unwrap();
    for l in &lines[1..] {
        assert!(
            l.len() > col && l.as_bytes()[col - 1] == b' ' && l.as_bytes()[col] != b' ',
            "misaligned: {l:?}"
        );
    }
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let json = env
        .cmd_with_sts(&["list", "--json"], &sts)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let states: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["profile"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (p, s) in [
        ("test", "valid"),
        ("old", "expired"),
        ("fresh2", "expiring"),
        ("testAccount", "none"),
    ] {
        assert!(
            states.contains(&(p.to_string(), s.to_string())),
            "{p} {s} in {states:?}"
        );
    }
    assert_eq!(sts.count(), 0, "list makes no request");
    env.assert_unchanged(&snap);
}

#[test]
fn clear_removes_only_marked_sessions() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile other]\nsource_profile = testAccount\n"
    ));
    let foreign = "\n# aws-mfa wrote this one\n[foreign]\naws_access_key_id = ASIAFOREIGNFOREIGN00\naws_secret_access_key = f\naws_session_token = f\nexpiration = 2030-01-01 00:00:00\n";
    let base = format!("{SEED_CREDENTIALS}{foreign}");
    env.write_credentials(&format!(
        "{base}{}\n# my notes about other\n[other]\nregion = keep-me\n; comment inside\naws_access_key_id = ASIAOTHEROTHEROTHER0\naws_secret_access_key = s\naws_session_token = t\nx_security_token_expires = {}\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n",
        marked_session("test", "ASIAVALIDVALIDVALID0", "s", 5),
        in_hours(5)
    ));
    env.cmd(&["clear", "test"])
        .assert()
        .success()
        .stderr("mfa-exec: removed the session in [test] of ~/.aws/credentials\n");
    let after = env.read_credentials();
    assert!(
        after.starts_with(&base),
        "long-term and foreign sections byte-identical:\n{after}"
    );
    assert!(!after.contains("[test]"));
    env.cmd(&["clear", "--all"])
        .assert()
        .success()
        .stderr("mfa-exec: removed the session in [other] of ~/.aws/credentials\n");
    assert_eq!(
        env.read_credentials(),
        format!("{base}\n# my notes about other\n[other]\nregion = keep-me\n; comment inside\n"),
        "only mfa-exec's keys went; the section with other keys and the comments stay"
    );
    env.cmd(&["clear", "foreign"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "[foreign] holds a session mfa-exec did not write; left as it is",
        ));
    assert!(env.read_credentials().contains("[foreign]"));
    env.cmd(&["clear", "nosuch"]).assert().code(125);
}
