//! `mfa-exec explain` (issue 9): every fact with its origin; no network.

use crate::support::*;

fn explain(env: &TestEnv, args: &[&str]) -> (i32, String) {
    let out = env.cmd(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn line<'a>(text: &'a str, fact: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{fact}  ")) || l.split("  ").next() == Some(fact))
        .unwrap_or_else(|| panic!("no '{fact}' line in\n{text}"))
}

fn value(text: &str, fact: &str) -> String {
    line(text, fact)[fact.len()..].trim().to_string()
}

#[test]
fn seed_layout() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let (code, text) = explain(&env, &["explain", "test"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(value(&text, "profile"), "test");
    assert_eq!(
        value(&text, "config section"),
        "~/.aws/config:5 [profile test]"
    );
    assert_eq!(
        value(&text, "long-term keys"),
        "[testAccount] (profile testAccount), key id AKIA************MPLE  (~/.aws/credentials:3 [testAccount])"
    );
    assert_eq!(
        value(&text, "mfa device"),
        "arn:aws:iam::123456789012:mfa/test (mfa_arn)  (~/.aws/config:3 [testAccount])"
    );
    assert_eq!(value(&text, "method"), "GetSessionToken");
    assert_eq!(value(&text, "destination"), "[test] in ~/.aws/credentials");
    assert_eq!(
        value(&text, "region"),
        "ap-northeast-2  (~/.aws/config:8 [profile test])"
    );
    assert_eq!(value(&text, "duration"), "12h  (default)");
    assert_eq!(value(&text, "min-remaining"), "15m  (default)");
    assert_eq!(value(&text, "session"), "none");
    assert!(!text.contains(SEED_SECRET) && !text.contains(SEED_KEY_ID));
    // Region from a flag, and a session after a run.
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let (_, text) = explain(&env, &["explain", "test", "--region", "eu-west-3"]);
    assert_eq!(value(&text, "region"), "eu-west-3  (--region)");
    assert!(
        value(&text, "session").starts_with("fresh until "),
        "{text}"
    );
    let (_, text) = explain(
        &env,
        &["explain", "test", "--min-remaining", "13h", "-d", "36h"],
    );
    assert!(
        value(&text, "session").starts_with("stale: expires "),
        "{text}"
    );
    let json = env
        .cmd(&["explain", "test", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["profile"], "test");
    assert!(v["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["fact"] == "mfa device" && f["origin"] == "~/.aws/config:3 [testAccount]"));
    assert_eq!(sts.count(), 1, "explain makes no request");
    drop(snap);
}

#[test]
fn aws_mfa_layout() {
    let env = TestEnv::new();
    env.write_config("[profile prod]\nregion = us-west-2\n");
    env.write_credentials(&format!(
        "[prod-long-term]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\naws_mfa_device = arn:aws:iam::123456789012:mfa/prod\n"
    ));
    let (code, text) = explain(&env, &["explain", "prod"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        value(&text, "long-term keys"),
        "[prod-long-term] (profile prod), key id AKIA************MPLE  (~/.aws/credentials:2 [prod-long-term])"
    );
    assert_eq!(
        value(&text, "mfa device"),
        "arn:aws:iam::123456789012:mfa/prod (aws_mfa_device)  (~/.aws/credentials:4 [prod-long-term])"
    );
    assert_eq!(value(&text, "destination"), "[prod] in ~/.aws/credentials");
}

#[test]
fn role_chain() {
    let env = TestEnv::seeded();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile mid]\nrole_arn = arn:aws:iam::111111111111:role/mid\nsource_profile = testAccount\n\n[profile top]\nrole_arn = arn:aws:iam::222222222222:role/top\nsource_profile = mid\nexternal_id = xyz\n"
    ));
    let (code, text) = explain(&env, &["explain", "top"]);
    assert_eq!(code, 0, "{text}");
    let roles: Vec<&str> = text.lines().filter(|l| l.starts_with("role ")).collect();
    assert_eq!(roles.len(), 2, "{text}");
    assert!(
        roles[0].contains(
            "arn:aws:iam::111111111111:role/mid via profile mid  (~/.aws/config:11 [profile mid])"
        ),
        "{text}"
    );
    assert!(roles[1].contains("arn:aws:iam::222222222222:role/top via profile top, external_id xyz  (~/.aws/config:15 [profile top])"), "{text}");
    assert_eq!(
        value(&text, "method"),
        "GetSessionToken session of testAccount (12h), then AssumeRole"
    );
    assert_eq!(
        value(&text, "destination"),
        "[top-mfa] in ~/.aws/credentials"
    );
    assert_eq!(value(&text, "duration"), "1h  (default)");
}

#[test]
fn broken_profile_and_warnings() {
    let env = TestEnv::new();
    env.write_config("[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/d\n\n[solo]\nregion = eu-north-1\n\n[profile loop]\nsource_profile = loop\n");
    env.write_credentials(&format!(
        "[solo]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n[dup]\nk = 1\n[dup]\nk = 2\n"
    ));
    env.set_mode(&env.credentials_path(), 0o644);
    let (code, text) = explain(&env, &["explain", "solo"]);
    assert_eq!(code, 0, "{text}");
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning")).collect();
    let all = warnings.join("\n");
    assert!(
        all.contains("~/.aws/credentials is readable by others (mode 644)"),
        "{all}"
    );
    assert!(all.contains("~/.aws/config:4: [solo] is a bare section; the AWS CLI ignores it in the config file (use [profile solo])"), "{all}");
    assert!(
        all.contains("the MFA device was found only in [default] (~/.aws/config:2 [default])"),
        "{all}"
    );
    assert!(
        all.contains("~/.aws/credentials:6: "),
        "duplicate section warned: {all}"
    );
    assert_eq!(
        value(&text, "destination"),
        "[solo-mfa] in ~/.aws/credentials"
    );

    let out = env.cmd(&["explain", "loop"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        value(&text, "config section"),
        "~/.aws/config:7 [profile loop]"
    );
    assert_eq!(
        value(&text, "problem"),
        // A profile naming itself ends the chain (as botocore, issue 21).
        "no long-term keys for profile 'loop': searched [loop-long-term], [loop] in ~/.aws/credentials, and [profile loop] in ~/.aws/config"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "mfa-exec: error: profile 'loop' does not resolve (see 'problem' above)\n"
    );
}

#[test]
fn main_flow_config_errors_point_at_explain() {
    let env = TestEnv::new();
    env.write_config("[profile lonely]\nregion = eu-west-1\n");
    env.write_credentials(&format!(
        "[lonely]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n"
    ));
    env.cmd(&["lonely", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: profile 'lonely' has no MFA device: set mfa_serial in [profile lonely] of ~/.aws/config\nhint: or pass --mfa-serial, or run 'mfa-exec explain lonely'\n");
}

/// Issue 25 item 3: explain's problem hint never tells to run explain.
#[test]
fn explain_hints_never_repeat_explain() {
    let env = TestEnv::new();
    env.write_config("[profile lonely]\nregion = eu-west-1\n\n[profile bare]\nmfa_serial = arn:aws:iam::123456789012:mfa/b\n");
    env.write_credentials(&format!(
        "[lonely]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n"
    ));
    let snap = env.snapshot();
    for (name, problem, hint) in [
        (
            "lonely",
            "profile 'lonely' has no MFA device: set mfa_serial in [profile lonely] of ~/.aws/config",
            "or pass --mfa-serial",
        ),
        (
            "bare",
            "no long-term keys for profile 'bare': searched [bare-long-term], [bare] in ~/.aws/credentials, and [profile bare] in ~/.aws/config",
            "run 'mfa-exec configure bare'",
        ),
    ] {
        let out = env.cmd(&["explain", name]).output().unwrap();
        assert_eq!(out.status.code(), Some(125));
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(value(&text, "problem"), problem);
        assert_eq!(value(&text, "hint"), hint, "{text}");
        assert!(!text.contains("mfa-exec explain"), "{text}");
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!("mfa-exec: error: profile '{name}' does not resolve (see 'problem' above)\n")
        );
    }
    env.assert_unchanged(&snap);
}
