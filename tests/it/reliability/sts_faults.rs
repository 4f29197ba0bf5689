//! STS faults: 500, 503 throttling, malformed XML, incomplete credentials, a
//! cut body, a reset, a name that does not resolve, a stall. Each is one clear
//! error line, exit 125, bounded in time, nothing written, command not run.
//! Cases `sts-*`.

use super::*;

/// Runs a refresh against `sts` (or `url`) and asserts the failure contract.
fn sts_fault(case: &str, sts: &FakeSts, url: Option<&str>, bound: Duration, want: &str) {
    let env = TestEnv::seeded();
    let log = Log::default();
    let snap = env.snapshot();
    let args = ["test", "-t", "123456", "--", "touch", "ran"];
    let out = match url {
        Some(u) => {
            let mut cmd = env.std_cmd(&args);
            cmd.env("AWS_ENDPOINT_URL_STS", u);
            log.exec(cmd, &args)
        }
        None => log.run(&env, Some(sts), &args),
    };
    let err = norm(&out.stderr, &env, Some(sts));
    assert_eq!(out.code, Some(125), "{out:?}");
    assert_eq!(err, want, "{case}: stderr");
    assert!(out.elapsed < bound, "{case}: took {:?}", out.elapsed);
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists(), "the command ran");
    assert!(temp_files(&env).is_empty());
    log.check_secrets(&[sts], &[]);
    eprintln!("reliability: {case}: {:?}", out.elapsed);
    record(
        case,
        &format!(
            "exit 125 within {}s (bound); stderr `{}`; files unchanged; command not run",
            bound.as_secs(),
            err.trim_end().replace('\n', "` / `")
        ),
    );
}

#[test]
fn sts_500() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::internal_failure());
    sts_fault(
        "sts-500",
        &sts,
        None,
        Duration::from_secs(30),
        "mfa-exec: using STS at http://127.0.0.1:PORT (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS refused the request (STS: InternalFailure): An internal error occurred. Try again.\n",
    );
}

#[test]
fn sts_503_throttling() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::error(503, "Throttling", "Rate exceeded"));
    sts_fault("sts-503-throttling", &sts, None, Duration::from_secs(30), "mfa-exec: using STS at http://127.0.0.1:PORT (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS is throttling requests (STS: Throttling): Rate exceeded\nhint: try again in a minute\n");
}

#[test]
fn sts_malformed_xml() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::raw(200, "<<<this is not XML &&&"));
    sts_fault(
        "sts-malformed-xml",
        &sts,
        None,
        Duration::from_secs(30),
        "mfa-exec: using STS at http://127.0.0.1:PORT (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS at http://127.0.0.1:PORT sent an answer mfa-exec cannot read: HTTP 200\n",
    );
}

/// Well-formed XML whose `<Credentials>` lacks the secret, token and expiry.
const INCOMPLETE_CREDENTIALS: &str = "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetSessionTokenResult><Credentials><AccessKeyId>ASIAINCOMPLETE000000</AccessKeyId></Credentials></GetSessionTokenResult></GetSessionTokenResponse>";

/// Found by this suite and fixed: `to_session` used to accept the SDK's defaults
/// for missing fields (an empty secret and token, an epoch expiry).
#[test]
fn sts_incomplete_credentials() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::raw(200, INCOMPLETE_CREDENTIALS));
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let out = Log::default().run(
        &env,
        Some(&sts),
        &["test", "-t", "123456", "--", "touch", "ran"],
    );
    assert_eq!(out.code, Some(125), "{out:?}");
    assert!(
        norm(&out.error(), &env, Some(&sts)).starts_with(
            "mfa-exec: error: STS at http://127.0.0.1:PORT sent an answer mfa-exec cannot read"
        ),
        "{out:?}"
    );
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    record(
        "sts-incomplete-credentials",
        &format!(
            "exit 125; stderr `{}`; files unchanged; command not run",
            norm(&out.error(), &env, Some(&sts)).trim_end()
        ),
    );
}

#[test]
fn sts_cut_body() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::CutBody);
    let env = TestEnv::seeded();
    let log = Log::default();
    let snap = env.snapshot();
    let out = log.run(
        &env,
        Some(&sts),
        &["test", "-t", "123456", "--", "touch", "ran"],
    );
    assert_eq!(out.code, Some(125), "{out:?}");
    let err = norm(&out.error(), &env, Some(&sts));
    let want =
        "mfa-exec: error: STS at http://127.0.0.1:PORT sent an answer mfa-exec cannot read: ";
    assert!(err.starts_with(want), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.elapsed < Duration::from_secs(30));
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    log.check_secrets(&[&sts], &[]);
    record(
        "sts-cut-body",
        &format!(
            "exit 125 within 30s (bound); stderr `{}`; files unchanged; command not run",
            err.trim_end()
        ),
    );
}

/// Found by this suite and fixed: the line used to end in the SDK's Debug dump.
#[test]
fn sts_cut_body_message() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::CutBody);
    let env = TestEnv::seeded();
    let out = Log::default().run(&env, Some(&sts), &["test", "-t", "123456", "--", "true"]);
    let err = out.error();
    assert!(
        !err.contains("::") && !err.contains('{') && !err.contains('}'),
        "the error line shows SDK internals: {err}"
    );
    record(
        "sts-cut-body-message",
        &format!(
            "plain text: `{}`",
            err.trim_end().replace(&sts.url(), "http://127.0.0.1:PORT")
        ),
    );
}

#[test]
fn sts_reset() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::Reset);
    sts_fault("sts-reset", &sts, None, Duration::from_secs(30), "mfa-exec: using STS at http://127.0.0.1:PORT (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS unreachable at http://127.0.0.1:PORT: connection reset\nhint: check the network, or the endpoint (AWS_ENDPOINT_URL_STS, endpoint_url)\n");
}

#[test]
fn sts_dns_failure() {
    let sts = FakeSts::start();
    sts_fault(
        "sts-dns",
        &sts,
        Some("http://nonexistent.invalid"),
        Duration::from_secs(30),
        "mfa-exec: using STS at http://nonexistent.invalid (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS unreachable at http://nonexistent.invalid: the host name does not resolve\nhint: check the network, or the endpoint (AWS_ENDPOINT_URL_STS, endpoint_url)\n",
    );
    assert_eq!(sts.count(), 0);
}

#[test]
fn sts_stall() {
    let sts = FakeSts::start();
    sts.fail_always(Reply::Stall(Duration::from_secs(40)));
    sts_fault("sts-stall", &sts, None, Duration::from_secs(31), "mfa-exec: using STS at http://127.0.0.1:PORT (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: error: STS unreachable at http://127.0.0.1:PORT: no answer in time\nhint: check the network, or the endpoint (AWS_ENDPOINT_URL_STS, endpoint_url)\n");
}
