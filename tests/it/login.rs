//! `mfa-exec login` (issue 15, SPEC §8.4): the console sign-in URL for role
//! sessions and GetFederationToken sessions, against a fake STS and a fake
//! federation endpoint on 127.0.0.1; the opener; the error rows.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;

const PROD: &str = "\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = eu-west-1\nduration_seconds = 3600\n";

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

const NO_MFA_WARNING: &str = "mfa-exec: warning: profile 'test' has no role: the console gets a GetFederationToken session of its long-term keys, which carries no MFA context, so a policy that denies actions without MFA denies them there\n";

fn role_env() -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!("{SEED_CONFIG}{PROD}"));
    env.write_credentials(SEED_CREDENTIALS);
    env
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The login URL split into its endpoint and ordered parameters.
fn parse_login_url(url: &str) -> (String, Vec<(String, String)>) {
    let (endpoint, query) = url.split_once('?').expect("a query");
    (endpoint.to_string(), query_pairs(query))
}

/// Checks the login URL field by field.
fn assert_login_url(url: &str, signin: &FakeSignin, destination: &str) {
    let (endpoint, params) = parse_login_url(url);
    assert_eq!(endpoint, signin.url());
    let token = signin
        .tokens()
        .last()
        .cloned()
        .expect("a token was handed out");
    assert_eq!(
        params,
        vec![
            ("Action".to_string(), "login".to_string()),
            ("Issuer".into(), "mfa-exec".into()),
            ("Destination".into(), destination.into()),
            ("SigninToken".into(), token),
        ]
    );
}

/// The session JSON of the sign-in request is exactly the issued credentials.
fn assert_session_json(req: &SigninRequest, issued: &Issued) {
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/federation");
    assert_eq!(
        req.session.as_ref().expect("Session is JSON"),
        &serde_json::json!({
            "sessionId": issued.access_key_id,
            "sessionKey": issued.secret_access_key,
            "sessionToken": issued.session_token,
        })
    );
}

/// The URL and its token appear nowhere in `stream`.
fn assert_no_url(stream: &str, url: &str, signin: &FakeSignin) {
    assert!(!stream.contains(url), "the URL leaked:\n{stream}");
    for t in signin.tokens() {
        assert!(!stream.contains(&t), "the token leaked:\n{stream}");
    }
    assert!(!stream.contains("SigninToken"), "{stream}");
}

#[test]
fn login_role_after_test_needs_no_new_code() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = role_env();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "prod",
                "--print",
                "--no-input",
                "--signin-url",
                &signin.url(),
            ],
            &sts,
        )
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: the role session of 'prod' is in [prod-mfa] of ~/.aws/credentials: other tools use it as 'aws --profile prod-mfa' ('aws --profile prod' starts the AWS CLI's own MFA prompt)\nmfa-exec: using the sign-in endpoint at {} (from --signin-url)\n",
            sts.url(),
            signin.url()
        )
    );
    // No code, no GetSessionToken: the source session of `test` signed the role.
    assert_eq!(sts.count_action("GetSessionToken"), 1);
    assert_eq!(sts.count_action("AssumeRole"), 1);
    let role = sts.last_issued().unwrap();
    assert_eq!(role.action, "AssumeRole");
    // The getSigninToken request, exactly.
    let reqs = signin.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].param_names(),
        ["Action", "Session"],
        "no SessionDuration for a chained role session"
    );
    assert_eq!(reqs[0].param("Action"), Some("getSigninToken"));
    assert_session_json(&reqs[0], &role);
    // stdout is the URL, one line.
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "{stdout:?}"
    );
    let url = stdout.trim_end();
    assert_login_url(
        url,
        &signin,
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
    );
    // The role session was cached as the main form would: a second login asks STS nothing.
    env.std_cmd_with_sts(
        &[
            "login",
            "prod",
            "--print",
            "--no-input",
            "--signin-url",
            &signin.url(),
        ],
        &sts,
    )
    .output()
    .unwrap();
    assert_eq!(sts.count(), 2);
    assert_eq!(signin.count(), 2);
}

#[test]
fn login_without_role_makes_one_federation_token() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = TestEnv::seeded().with_env("USER", "alice");
    let before = env.snapshot();
    let out = env
        .std_cmd_with_sts(
            &["login", "test", "--print", "--signin-url", &signin.url()],
            &sts,
        )
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "{NO_MFA_WARNING}mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\nmfa-exec: using the sign-in endpoint at {} (from --signin-url)\n",
            sts.url(),
            signin.url()
        )
    );
    // Exactly one STS call: GetFederationToken with the long-term keys.
    assert_eq!(sts.count(), 1);
    let r = sts.last_request().unwrap();
    assert_eq!(r.action, "GetFederationToken");
    assert_eq!(r.access_key_id.as_deref(), Some(SEED_KEY_ID));
    assert_eq!(r.security_token, None);
    assert_eq!(r.param("Name"), Some("alice"));
    assert_eq!(r.param("Policy"), Some(ALLOW_ALL));
    assert_eq!(r.param("DurationSeconds"), Some("43200"));
    assert_eq!(r.param("TokenCode"), None);
    let fed = sts.last_issued().unwrap();
    assert_eq!(fed.action, "GetFederationToken");
    let reqs = signin.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].param_names(),
        ["Action", "Session"],
        "SessionDuration is refused for a federation token session"
    );
    assert_session_json(&reqs[0], &fed);
    assert_login_url(
        stdout.trim_end(),
        &signin,
        "https://ap-northeast-2.console.aws.amazon.com/console/home?region=ap-northeast-2",
    );
    // Nothing written: the federation session is not cached.
    env.assert_unchanged(&before);
    assert!(!stdout.contains(&fed.secret_access_key) && !stdout.contains(&fed.session_token));
}

#[test]
fn login_duration_region_destination_and_env_endpoint() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = TestEnv::seeded().with_env("MFA_EXEC_SIGNIN_URL", &signin.url());
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "test",
                "--print",
                "-q",
                "-d",
                "2h",
                "--region",
                "cn-north-1",
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "--quiet drops the warning");
    assert_eq!(
        sts.last_request().unwrap().param("DurationSeconds"),
        Some("7200")
    );
    assert_eq!(sts.last_request().unwrap().param("Name"), Some("mfa-exec"));
    assert_login_url(
        text(&out.stdout).trim_end(),
        &signin,
        "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1",
    );
    let dest = "https://console.aws.amazon.com/s3/home?region=eu-west-1&x=a%20b+c";
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "test",
                "--print",
                "-q",
                "--destination",
                dest,
                "--region",
                "us-gov-west-1",
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_login_url(text(&out.stdout).trim_end(), &signin, dest);
    // A console deep link with a fragment (issue 21 item 10): kept whole,
    // encoded in the login URL's query.
    let dest = "https://console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:sort=desc";
    let out = env
        .std_cmd_with_sts(
            &["login", "test", "--print", "-q", "--destination", dest],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_login_url(text(&out.stdout).trim_end(), &signin, dest);
    assert!(text(&out.stdout).contains("%23Instances%3Asort%3Ddesc"));
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "test",
                "--print",
                "-q",
                "--region",
                "us-gov-west-1",
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_login_url(
        text(&out.stdout).trim_end(),
        &signin,
        "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
    );
}

#[test]
fn login_role_assumed_with_long_term_keys_sets_session_duration() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = role_env();
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "prod",
                "--print",
                "-d",
                "2h",
                "-t",
                "123456",
                "--signin-url",
                &signin.url(),
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sts.count(), 1);
    let r = sts.last_request().unwrap();
    assert_eq!(
        (r.action.as_str(), r.access_key_id.as_deref()),
        ("AssumeRole", Some(SEED_KEY_ID))
    );
    let reqs = signin.requests();
    assert_eq!(
        reqs[0].param_names(),
        ["Action", "SessionDuration", "Session"]
    );
    assert_eq!(reqs[0].param("SessionDuration"), Some("7200"));
    assert_session_json(&reqs[0], &sts.last_issued().unwrap());
}

#[test]
fn login_chained_role_with_sts_clock_ahead_sends_no_session_duration() {
    // STS's clock 3 minutes ahead makes a fresh 1 h chained session look like
    // 1h03m here: it must still not get a SessionDuration (refused by AWS).
    let sts = FakeSts::start();
    sts.set_clock_skew(chrono::Duration::minutes(3));
    let signin = FakeSignin::start_with_sts(&sts);
    let env = role_env();
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "prod",
                "--print",
                "-q",
                "-t",
                "123456",
                "--signin-url",
                &signin.url(),
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(sts.last_issued().unwrap().signed_with_session);
    assert_eq!(signin.requests()[0].param_names(), ["Action", "Session"]);
}

fn browser_script(env: &TestEnv, exit: i32) -> (std::path::PathBuf, std::path::PathBuf) {
    let record = env.home().join("browser.args");
    let script = env.home().join("fake-browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexit {exit}\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, record)
}

#[test]
fn login_opens_browser_with_the_url_and_shows_it_nowhere_else() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = role_env();
    let (script, record) = browser_script(&env, 0);
    let env = env.with_env(
        "BROWSER",
        &format!("/nonexistent/browser:{} --new-window", script.display()),
    );
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "prod",
                "-v",
                "-t",
                "123456",
                "--signin-url",
                &signin.url(),
            ],
            &sts,
        )
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "", "the URL goes to the browser only");
    let args = std::fs::read_to_string(&record).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        args.len(),
        2,
        "one argument for the URL, not split by a shell: {args:?}"
    );
    assert_eq!(args[0], "--new-window");
    let url = args[1];
    assert_login_url(
        url,
        &signin,
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
    );
    // --verbose said what it did, without the URL or the token.
    assert!(
        stderr.contains("getting a sign-in token for the role session ASIA"),
        "{stderr}"
    );
    assert_no_url(&stderr, url, &signin);
    assert_no_url(&env.read_credentials(), url, &signin);
}

#[test]
fn login_browser_failure_and_no_opener() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = TestEnv::seeded();
    let (script, _) = browser_script(&env, 3);
    let before = env.snapshot();
    let env = env.with_env("BROWSER", script.to_str().unwrap());
    let out = env
        .std_cmd_with_sts(
            &["login", "test", "-q", "--signin-url", &signin.url()],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        format!(
            "mfa-exec: error: {} could not open the sign-in URL (exit status 3)\nhint: run 'mfa-exec login test --print' and open the URL yourself\n",
            script.display()
        )
    );
    assert_eq!(text(&out.stdout), "");
    env.assert_unchanged(&before);

    // No $BROWSER and no xdg-open/open on PATH: said before any network call.
    let empty = env.home().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let env = TestEnv::seeded().with_env("PATH", empty.to_str().unwrap());
    let before = env.snapshot();
    let (n_sts, n_signin) = (sts.count(), signin.count());
    let out = env
        .std_cmd_with_sts(&["login", "test", "--signin-url", &signin.url()], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "mfa-exec: error: no browser to open the sign-in URL: $BROWSER is not set, and xdg-open is not installed\nhint: run 'mfa-exec login test --print' and open the URL yourself\n"
    );
    // $BROWSER naming nothing found: said, then the same.
    let env = env.with_env("BROWSER", "/nonexistent/firefox --new-window");
    let out = env
        .std_cmd_with_sts(&["login", "test", "--signin-url", &signin.url()], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "mfa-exec: warning: no program named in $BROWSER was found; trying xdg-open\nmfa-exec: error: no browser to open the sign-in URL: no program named in $BROWSER was found, and xdg-open is not installed\nhint: run 'mfa-exec login test --print' and open the URL yourself\n"
    );
    assert_eq!((sts.count(), signin.count()), (n_sts, n_signin));
    env.assert_unchanged(&before);
}

/// Runs `login test --print -q` against `signin`; returns (code, stdout, stderr).
fn login_test(env: &TestEnv, sts: &FakeSts, signin_url: &str) -> (Option<i32>, String, String) {
    let out = env
        .std_cmd_with_sts(
            &["login", "test", "--print", "-q", "--signin-url", signin_url],
            sts,
        )
        .output()
        .unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn login_endpoint_errors() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start();
    let env = TestEnv::seeded();
    let before = env.snapshot();
    let at = format!("the AWS sign-in endpoint at {}", signin.url());
    let cases: Vec<(u16, &str, String)> = vec![
        (
            400,
            "<html>Bad Request</html>",
            // No role: no `--force` hint (issue 25 item 4), the URL given is checked.
            format!("mfa-exec: error: {at} refused the federation session of 'test' (HTTP 400)\nhint: check --signin-url: the default is https://signin.aws.amazon.com/federation\n"),
        ),
        (
            404,
            "<html>Not Found</html>",
            format!("mfa-exec: error: {at} answered HTTP 404 (not found): it is not a federation endpoint (getSigninToken); nothing was signed in\nhint: check --signin-url: the default is https://signin.aws.amazon.com/federation\n"),
        ),
        (
            500,
            "oops",
            format!("mfa-exec: error: {at} failed (HTTP 500)\nhint: try again in a minute\n"),
        ),
        (
            200,
            "<html>",
            format!("mfa-exec: error: {at} sent an answer mfa-exec cannot read: it is not JSON\n"),
        ),
        (
            200,
            "{\"Token\":\"x\"}",
            format!("mfa-exec: error: {at} sent an answer mfa-exec cannot read: it has no SigninToken\n"),
        ),
    ];
    for (i, (status, body, expected)) in cases.iter().enumerate() {
        signin.push(*status, body);
        let (code, stdout, stderr) = login_test(&env, &sts, &signin.url());
        assert_eq!(code, Some(125), "{stderr}");
        assert_eq!(&stderr, expected);
        assert_eq!(stdout, "");
        assert_eq!(sts.count_action("GetFederationToken"), i + 1);
        assert_eq!(signin.count(), i + 1);
        env.assert_unchanged(&before);
    }
    // Nothing listening.
    let closed = format!("http://127.0.0.1:{}/federation", free_closed_port());
    let (code, _, stderr) = login_test(&env, &sts, &closed);
    assert_eq!(code, Some(125));
    assert_eq!(
        stderr,
        format!("mfa-exec: error: the AWS sign-in endpoint at {closed} is unreachable: connection refused\nhint: check the network and the proxy variables (HTTPS_PROXY, NO_PROXY), or the endpoint (--signin-url, MFA_EXEC_SIGNIN_URL)\n")
    );
    env.assert_unchanged(&before);
}

#[test]
fn login_refuses_bad_endpoint_and_destination_before_any_call() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let before = env.snapshot();
    let (code, _, stderr) = login_test(&env, &sts, "http://signin.example.com/federation");
    assert_eq!(code, Some(125));
    assert_eq!(
        stderr,
        "mfa-exec: error: --signin-url 'http://signin.example.com/federation' cannot be used: plain http to signin.example.com would expose the session; use https\nhint: the default is https://signin.aws.amazon.com/federation\n"
    );
    let env2 = TestEnv::seeded().with_env("MFA_EXEC_SIGNIN_URL", "signin.aws.amazon.com");
    let out = env2
        .std_cmd_with_sts(
            &["login", "test", "--print", "--region", "cn-north-1"],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "mfa-exec: error: MFA_EXEC_SIGNIN_URL 'signin.aws.amazon.com' cannot be used: it is not an http(s) URL\nhint: the default is https://signin.amazonaws.cn/federation\n"
    );
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "test",
                "--print",
                "--destination",
                "javascript:alert(1)",
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "mfa-exec: error: --destination 'javascript:alert(1)' is not an https URL\nhint: for example: https://console.aws.amazon.com/s3/home\n"
    );
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&before);
}

#[test]
fn login_federation_token_denied() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start();
    let env = TestEnv::seeded();
    let before = env.snapshot();
    let msg = "User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::123456789012:federated-user/mfa-exec with an explicit deny in an identity-based policy";
    sts.push_for("GetFederationToken", Reply::error(403, "AccessDenied", msg));
    let (code, stdout, stderr) = login_test(&env, &sts, &signin.url());
    assert_eq!(code, Some(125));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("mfa-exec: error: STS denied GetFederationToken to the keys of [testAccount] of ~/.aws/credentials (STS: AccessDenied): {msg}\nhint: a policy that requires MFA, or denies sts:GetFederationToken, refuses it; sign in with a role profile (role_arn and mfa_serial) instead\n")
    );
    assert_eq!(sts.count(), 1);
    assert_eq!(signin.count(), 0);
    env.assert_unchanged(&before);
    // Other STS errors read as in the main flow.
    sts.push_for("GetFederationToken", Reply::invalid_client_token_id());
    let (code, _, stderr) = login_test(&env, &sts, &signin.url());
    assert_eq!(code, Some(125));
    assert_eq!(
        stderr,
        "mfa-exec: error: the long-term keys of [testAccount] of ~/.aws/credentials are wrong or deactivated (STS: InvalidClientTokenId)\nhint: run 'mfa-exec explain test'\n"
    );
    assert_eq!(signin.count(), 0);
    env.assert_unchanged(&before);
}

/// A proxy on 127.0.0.1 that records each request line and answers 403.
fn refusing_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    answering_proxy(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
}

/// A proxy on 127.0.0.1 that records each request line and answers `reply`
/// (nothing: it closes the connection; `RST`: it resets it).
fn answering_proxy(
    reply: &'static [u8],
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            let _ = std::io::BufReader::new(&conn).read_line(&mut line);
            log.lock().unwrap().push(line.trim_end().to_string());
            if reply == b"RST" {
                // SO_LINGER 0: the close sends a reset.
                let linger = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                // SAFETY: setsockopt on an open socket with a valid struct.
                unsafe {
                    libc::setsockopt(
                        std::os::fd::AsRawFd::as_raw_fd(&conn),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        &linger as *const libc::linger as *const libc::c_void,
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    );
                }
                continue;
            }
            let _ = conn.write_all(reply);
        }
    });
    (url, seen)
}

/// Issue 21 item 5: an https sign-in endpoint goes through the proxy of
/// HTTPS_PROXY (a CONNECT tunnel: the query stays encrypted); a plain-http
/// one (loopback only) never goes through HTTP_PROXY, whose proxy would read
/// the session's keys in its query; a loopback host is never proxied.
#[test]
fn login_honours_the_proxy_variables() {
    let sts = FakeSts::start();
    let (proxy, seen) = refusing_proxy();
    let env = TestEnv::seeded()
        .with_env("HTTPS_PROXY", &proxy)
        .with_env("NO_PROXY", "127.0.0.1");
    let target = "https://signin.example.com/federation";
    let (code, stdout, stderr) = login_test(&env, &sts, target);
    assert_eq!(code, Some(125), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("mfa-exec: error: the proxy {proxy} (from HTTPS_PROXY) refused to open a tunnel to the AWS sign-in endpoint at https://signin.example.com/federation\nhint: check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) and its rules for the sign-in host, or bypass it with NO_PROXY\n")
    );
    assert_eq!(
        seen.lock().unwrap().clone(),
        ["CONNECT signin.example.com:443 HTTP/1.1"]
    );

    // Plain http to loopback with HTTP_PROXY (and ALL_PROXY) set: direct.
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let (proxy, seen) = refusing_proxy();
    let env = TestEnv::seeded()
        .with_env("HTTP_PROXY", &proxy)
        .with_env("ALL_PROXY", &proxy)
        .with_env("NO_PROXY", "127.0.0.1");
    let target = signin.url().replace("127.0.0.1", "localhost");
    let (code, stdout, stderr) = login_test(&env, &sts, &target);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(signin.count(), 1);
    assert!(
        stdout.starts_with(&format!("{target}?Action=login&")),
        "{stdout}"
    );
}

#[test]
fn login_is_reserved_and_documented() {
    let env = TestEnv::new();
    env.cmd(&["login", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("--signin-url <URL>"))
        .stdout(predicates::str::contains("--print"));
    env.cmd(&["login"]).assert().code(125);
}

#[test]
fn login_completes_profile_names() {
    let env = role_env();
    let out = env
        .std_cmd(&["--", "mfa-exec", "login", "pr"])
        // clap_complete's default variable, and the one mfa-exec may be
        // configured to use instead.
        .env("COMPLETE", "bash")
        .env("_MFA_EXEC_COMPLETE", "bash")
        .env("_CLAP_IFS", "\n")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().collect::<Vec<_>>(), ["prod"]);
}

#[test]
fn login_role_refused_keeps_only_the_normal_cache_write() {
    // The endpoint refuses: exit 125, and the credentials file holds just what
    // `mfa-exec prod` would have written (the MFA and role sessions), which a
    // later login reuses without STS.
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = role_env();
    signin.push(400, "<html>Bad Request</html>");
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "prod",
                "--print",
                "-q",
                "-t",
                "123456",
                "--signin-url",
                &signin.url(),
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        format!(
            "mfa-exec: error: the AWS sign-in endpoint at {} refused the role session of 'prod' (HTTP 400)\nhint: it takes role and GetFederationToken sessions only; a revoked role session is replaced with 'mfa-exec login prod --force'\n",
            signin.url()
        )
    );
    assert_eq!(text(&out.stdout), "");
    let after_login = env.read_credentials();
    // The same command through the main form from the same state writes the same sections.
    let twin = role_env();
    twin.cmd_with_sts(&["prod", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let sections = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with('[') || l.starts_with("x_mfa_exec"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(sections(&after_login), sections(&twin.read_credentials()));
    assert!(after_login.starts_with(SEED_CREDENTIALS));
    let n = sts.count();
    let out = env
        .std_cmd_with_sts(
            &[
                "login",
                "prod",
                "--print",
                "-q",
                "--no-input",
                "--signin-url",
                &signin.url(),
            ],
            &sts,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sts.count(), n, "the cached role session served");
}

/// SPEC §8.2 on the sign-in path too: an unreachable proxy is named as the
/// proxy, not as the sign-in endpoint.
#[test]
fn login_names_an_unreachable_proxy() {
    let sts = FakeSts::start();
    let closed = format!("http://127.0.0.1:{}", free_closed_port());
    let env = TestEnv::seeded()
        .with_env("HTTPS_PROXY", &closed)
        .with_env("NO_PROXY", "127.0.0.1");
    let target = "https://signin.example.com/federation";
    let (code, stdout, stderr) = login_test(&env, &sts, target);
    assert_eq!(code, Some(125));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("mfa-exec: error: cannot reach the proxy {closed} (from HTTPS_PROXY) for the AWS sign-in endpoint at {target}: connection refused\nhint: check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), or bypass it for the sign-in host with NO_PROXY\n")
    );
}

/// Issue 25 item 4: a 404 from the endpoint MFA_EXEC_SIGNIN_URL names is a
/// wrong URL, for a role session too (no `--force` hint: it would not help).
#[test]
fn login_role_404_says_the_url_is_wrong() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let env = role_env();
    env.cmd_with_sts(&["prod", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let before = env.snapshot();
    signin.push(404, "<html>Not Found</html>");
    let out = env
        .std_cmd_with_sts(&["login", "prod", "--print", "-q"], &sts)
        .env("MFA_EXEC_SIGNIN_URL", signin.url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        format!(
            "mfa-exec: error: the AWS sign-in endpoint at {} answered HTTP 404 (not found): it is not a federation endpoint (getSigninToken); nothing was signed in\nhint: check MFA_EXEC_SIGNIN_URL: the default is https://signin.aws.amazon.com/federation\n",
            signin.url()
        )
    );
    assert_eq!(text(&out.stdout), "");
    assert_eq!(signin.count(), 1);
    env.assert_unchanged(&before);
}

/// Issue 21: the proxy's own answer to CONNECT (407, another refusal, a
/// closed or reset connection) names the proxy and what it did, never "the endpoint is
/// unreachable"; exit 125, nothing on stdout, one CONNECT sent.
#[test]
fn login_names_the_proxy_that_refuses_connect() {
    let cases: [(&[u8], &str); 4] = [
        (
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n",
            "asks for credentials (HTTP 407)",
        ),
        (
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
            "refused to open a tunnel",
        ),
        (b"", "closed the connection instead of opening a tunnel"),
        (b"RST", "could not open a tunnel"),
    ];
    for (reply, what) in cases {
        let sts = FakeSts::start();
        let (proxy, seen) = answering_proxy(reply);
        let env = TestEnv::seeded()
            .with_env("HTTPS_PROXY", &proxy)
            .with_env("NO_PROXY", "127.0.0.1");
        let (code, stdout, stderr) =
            login_test(&env, &sts, "https://signin.example.com/federation");
        assert_eq!(code, Some(125), "{what}: {stderr}");
        assert_eq!(stdout, "", "{what}");
        assert_eq!(
            stderr,
            format!("mfa-exec: error: the proxy {proxy} (from HTTPS_PROXY) {what} to the AWS sign-in endpoint at https://signin.example.com/federation\nhint: check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) and its rules for the sign-in host, or bypass it with NO_PROXY\n"),
            "{what}"
        );
        assert_eq!(
            seen.lock().unwrap().clone(),
            ["CONNECT signin.example.com:443 HTTP/1.1"],
            "{what}"
        );
    }
}
