//! Roles (issue 4): one code for every role of a source, longer roles assumed
//! directly, chains, and the AssumeRole error rows.

use crate::support::*;
use predicates::prelude::*;

const PROD: &str = "\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = eu-west-1\nduration_seconds = 3600\n";
const STAGE: &str = "\n[profile stage]\nrole_arn = arn:aws:iam::333333333333:role/deploy\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\n";

fn role_env(extra: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!("{SEED_CONFIG}{PROD}{STAGE}{extra}"));
    env.write_credentials(SEED_CREDENTIALS);
    env
}

fn log_process(env: &TestEnv) -> std::path::PathBuf {
    let log = env.home().join("codes.log");
    let cfg = env.read_config().replace(
        "[profile test]",
        &format!(
            "[profile test]\nmfa_process = echo asked >> {} ; echo 123456",
            log.display()
        ),
    );
    env.write_config(&format!(
        "{cfg}\n[testAccount]\nmfa_process = echo asked >> {} ; echo 123456\n",
        log.display()
    ));
    log
}

#[test]
fn two_roles_one_code_one_session() {
    let sts = FakeSts::start();
    let env = role_env("");
    let log = log_process(&env);
    env.cmd_with_sts(&["prod", "--", "sh", "-c", "echo $AWS_REGION"], &sts)
        .assert()
        .success()
        .stdout("eu-west-1\n");
    env.cmd_with_sts(&["stage", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "asked\n",
        "one code for both roles"
    );
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert_eq!(sts.count_action("AssumeRole"), 2);
    let gst_key = sts
        .issued()
        .into_iter()
        .find(|i| i.action == "GetSessionToken")
        .unwrap()
        .access_key_id;
    for r in sts.requests().iter().filter(|r| r.action == "AssumeRole") {
        assert_eq!(
            r.access_key_id.as_deref(),
            Some(gst_key.as_str()),
            "signed by the MFA session, not the long-term key"
        );
        assert!(r.security_token.is_some());
        assert_eq!(r.param("TokenCode"), None);
    }
    let creds = env.read_credentials();
    for section in ["[testAccount-mfa]", "[prod-mfa]", "[stage-mfa]"] {
        assert!(creds.contains(section), "{section} in\n{creds}");
    }
    assert!(creds.contains("x_mfa_exec_role_arn = arn:aws:iam::210987654321:role/admin"));
    // Cached: no more requests.
    env.cmd_with_sts(&["prod", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count(), 3);
}

#[test]
fn test_then_prod_asks_once() {
    let sts = FakeSts::start();
    let env = role_env("");
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    env.cmd_with_sts(&["prod", "--no-input", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert_eq!(sts.count_action("AssumeRole"), 1);
    assert!(
        !env.read_credentials().contains("[testAccount-mfa]"),
        "the session in [test] served"
    );
}

#[test]
fn long_role_is_assumed_directly_with_the_code() {
    let sts = FakeSts::start();
    let env = role_env("");
    env.cmd_with_sts(&["prod", "-d", "2h", "-t", "123456", "-v", "--", "true"], &sts)
        .assert()
        .success()
        .stderr(predicate::str::contains("is longer than 1h: assuming arn:aws:iam::210987654321:role/admin directly with the MFA code (a code per role)"));
    assert_eq!(sts.count_action("GetSessionToken"), 0);
    let r = sts.last_request().unwrap();
    assert_eq!(r.action, "AssumeRole");
    assert_eq!(r.param("SerialNumber"), Some(SEED_SERIAL));
    assert_eq!(r.param("TokenCode"), Some("123456"));
    assert_eq!(r.param("DurationSeconds"), Some("7200"));
    assert_eq!(r.access_key_id.as_deref(), Some(SEED_KEY_ID));
}

#[test]
fn chain_of_two_roles() {
    let sts = FakeSts::start();
    let env = role_env("\n[profile top]\nrole_arn = arn:aws:iam::444444444444:role/top\nsource_profile = prod\nexternal_id = ext-1\nrole_session_name = me-top\n");
    env.cmd_with_sts(&["top", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let reqs = sts.requests();
    let actions: Vec<_> = reqs.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["GetSessionToken", "AssumeRole", "AssumeRole"]);
    let issued = sts.issued();
    assert_eq!(
        reqs[1].access_key_id.as_deref(),
        Some(issued[0].access_key_id.as_str())
    );
    assert_eq!(
        reqs[1].param("RoleArn"),
        Some("arn:aws:iam::210987654321:role/admin")
    );
    assert_eq!(
        reqs[2].access_key_id.as_deref(),
        Some(issued[1].access_key_id.as_str())
    );
    assert_eq!(
        reqs[2].param("RoleArn"),
        Some("arn:aws:iam::444444444444:role/top")
    );
    assert_eq!(reqs[2].param("ExternalId"), Some("ext-1"));
    assert_eq!(reqs[2].param("RoleSessionName"), Some("me-top"));
    assert!(reqs[1]
        .param("RoleSessionName")
        .unwrap()
        .starts_with("mfa-exec-"));
    assert!(env.read_credentials().contains("[top-mfa]"));
}

#[test]
fn chain_longer_than_an_hour_is_refused_locally() {
    let env = role_env("\n[profile top]\nrole_arn = arn:aws:iam::444444444444:role/top\nsource_profile = prod\nduration_seconds = 2h\n");
    let snap = env.snapshot();
    env.cmd(&["top", "-t", "123456", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: profile 'top' is a chain of 2 roles, and AWS caps a role assumed with another role's session at 1h; 2h was asked (from ~/.aws/config:25 [profile top])\nhint: set duration_seconds = 3600 or less\n");
    env.assert_unchanged(&snap);
}

#[test]
fn role_cycle() {
    let env = TestEnv::new();
    env.write_config("[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = a\n");
    env.cmd(&["a", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: source_profile cycle: a -> b -> a (in ~/.aws/config)\nhint: run 'mfa-exec explain a'\n");
}

#[test]
fn malformed_role_arn_caught_locally() {
    let env = role_env(
        "\n[profile bad]\nrole_arn = arn:aws:iam::12345:role/x\nsource_profile = testAccount\n",
    );
    env.cmd(&["bad", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: invalid role_arn 'arn:aws:iam::12345:role/x' of profile 'bad' (~/.aws/config:23 [profile bad]): expected arn:aws:iam::123456789012:role/NAME\nhint: run 'mfa-exec explain bad'\n");
}

/// The AssumeRole error rows: message, exit 125, source session kept, no role session.
#[test]
fn assume_role_errors() {
    let cases = [
        (
            Reply::error(403, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/admin"),
            "mfa-exec: error: profile 'prod': not authorized to assume arn:aws:iam::210987654321:role/admin (STS: AccessDenied): User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/admin\nhint: check the role's trust policy, its MFA condition and external_id\n",
        ),
        (
            Reply::chained_duration(),
            "mfa-exec: error: profile 'prod': AWS caps a role assumed with another session (role chaining) at 1 hour, and 1h was asked (STS: ValidationError)\nhint: set duration_seconds = 3600 or less for a chained role\n",
        ),
        (
            Reply::max_session_duration(),
            "mfa-exec: error: profile 'prod': 1h exceeds the MaxSessionDuration of arn:aws:iam::210987654321:role/admin (STS: ValidationError)\nhint: lower duration_seconds, or raise the role's maximum session duration in IAM\n",
        ),
    ];
    for (reply, expected) in cases {
        let sts = FakeSts::start();
        let env = role_env("");
        // GetSessionToken succeeds, then AssumeRole fails.
        env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
            .assert()
            .success();
        let snap = env.snapshot();
        sts.push_for("AssumeRole", reply);
        env.cmd_with_sts(&["prod", "--", "touch", "ran"], &sts)
            .assert()
            .code(125)
            .stderr(format!(
                "mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\n{expected}",
                sts.url()
            ));
        assert!(!env.home().join("ran").exists());
        env.assert_unchanged(&snap);
    }
}

#[test]
fn source_session_kept_when_assume_role_fails() {
    let sts = FakeSts::start();
    let env = role_env("");
    sts.push_for(
        "AssumeRole",
        Reply::error(
            403,
            "AccessDenied",
            "not authorized to perform: sts:AssumeRole",
        ),
    );
    env.cmd_with_sts(&["prod", "-t", "123456", "--", "true"], &sts)
        .assert()
        .code(125);
    let creds = env.read_credentials();
    assert!(
        creds.contains("[testAccount-mfa]"),
        "the MFA session is kept:\n{creds}"
    );
    assert!(!creds.contains("[prod-mfa]"));
    // The next try needs no code.
    env.cmd_with_sts(&["prod", "--no-input", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert_eq!(sts.count_action("AssumeRole"), 2);
}

#[test]
fn expired_cached_source_session_is_dropped_and_started_over_once() {
    let sts = FakeSts::start();
    let env = role_env("");
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    sts.push_for("AssumeRole", Reply::expired_token());
    env.cmd_with_sts(&["prod", "-t", &fresh_code(), "--", "true"], &sts)
        .assert()
        .success();
    let actions: Vec<_> = sts.requests().into_iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            "GetSessionToken",
            "AssumeRole",
            "GetSessionToken",
            "AssumeRole"
        ]
    );
}

#[test]
fn role_without_device_assumes_without_mfa() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(
        "[profile plain]\nrole_arn = arn:aws:iam::210987654321:role/ro\nsource_profile = base\n",
    );
    env.write_credentials(&format!(
        "[base]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n"
    ));
    env.cmd_with_sts(&["plain", "--", "true"], &sts)
        .assert()
        .success();
    let r = sts.last_request().unwrap();
    assert_eq!(r.action, "AssumeRole");
    assert_eq!(r.access_key_id.as_deref(), Some(SEED_KEY_ID));
    assert_eq!(r.param("SerialNumber"), None);
    assert_eq!(sts.count(), 1);
}

/// Issue 21 item 13: a role profile whose `source_profile` is itself signs
/// GetSessionToken with its own keys (as botocore does), keeps that session
/// in `[P-source-mfa]` and the role's in `[P-mfa]`, leaves its keys byte for
/// byte, and a second run is served from the cache.
#[test]
fn a_role_that_is_its_own_source_uses_its_own_keys() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile selfish]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = selfish\nmfa_serial = {SEED_SERIAL}\nregion = eu-west-1\n"
    ));
    let keys = "# my keys\n[selfish]\naws_access_key_id = AKIASELFEXAMPLE00001\naws_secret_access_key = selfSecretExample0000000000000000000000\n";
    env.write_credentials(keys);
    env.cmd_with_sts(
        &[
            "selfish",
            "-t",
            "123456",
            "--",
            "sh",
            "-c",
            "echo $AWS_ACCESS_KEY_ID",
        ],
        &sts,
    )
    .assert()
    .success()
    .stdout(format!("{}\n", sts.issued()[1].access_key_id));
    let reqs = sts.requests();
    let actions: Vec<_> = reqs.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["GetSessionToken", "AssumeRole"]);
    let issued = sts.issued();
    assert_eq!(
        reqs[0].access_key_id.as_deref(),
        Some("AKIASELFEXAMPLE00001")
    );
    assert_eq!(reqs[0].param("SerialNumber"), Some(SEED_SERIAL));
    assert_eq!(reqs[0].param("TokenCode"), Some("123456"));
    assert_eq!(
        reqs[1].access_key_id.as_deref(),
        Some(issued[0].access_key_id.as_str()),
        "the role is assumed with the MFA session, not the long-term key"
    );
    assert_eq!(
        reqs[1].param("RoleArn"),
        Some("arn:aws:iam::210987654321:role/admin")
    );
    assert_eq!(reqs[1].param("TokenCode"), None);
    let creds = env.read_credentials();
    assert!(
        creds.starts_with(keys),
        "the keys stay as they were:\n{creds}"
    );
    let section = |name: &str| -> String {
        let start = creds
            .find(&format!("[{name}]\n"))
            .unwrap_or_else(|| panic!("[{name}] in\n{creds}"));
        let rest = &creds[start + name.len() + 3..];
        rest[..rest.find("\n[").unwrap_or(rest.len())].to_string()
    };
    assert!(
        section("selfish-source-mfa")
            .contains(&format!("aws_access_key_id = {}", issued[0].access_key_id)),
        "{creds}"
    );
    assert!(
        section("selfish-mfa")
            .contains(&format!("aws_access_key_id = {}", issued[1].access_key_id)),
        "{creds}"
    );
    env.cmd_with_sts(&["selfish", "--no-input", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count(), 2, "the second run is served from the cache");
}
