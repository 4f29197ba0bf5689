//! `--server` (issue 22, SPEC §9.2): the child's environment, the endpoint's
//! answers probed with plain `TcpStream`s, signals, exit codes, renewal, and
//! the AWS CLI as a real client.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

const ROLE: &str = "\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = eu-west-1\n";

/// A role profile whose sessions last 15 min 20 s: renewal starts 10 s after
/// each is issued (botocore's 15-minute window plus half the rest).
fn role_env(duration: u64) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}{ROLE}duration_seconds = {duration}\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    env
}

/// A child that writes its endpoint (URL and token) to `~/ep`, then waits
/// for `~/done` and exits with `code`.
fn waiting_child(code: i32) -> String {
    format!(
        "printf '%s %s' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\" > \"$HOME/ep.tmp\" && mv \"$HOME/ep.tmp\" \"$HOME/ep\"; while [ ! -e \"$HOME/done\" ]; do sleep 0.05; done; exit {code}"
    )
}

struct Served {
    child: Child,
    url: String,
    token: String,
    addr: SocketAddr,
    home: PathBuf,
}

impl Served {
    fn start(env: &TestEnv, sts: &FakeSts, args: &[&str], script: &str) -> Served {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--", "sh", "-c", script]);
        let mut cmd = env.std_cmd_with_sts(&all, sts);
        cmd.stderr(std::process::Stdio::piped());
        let child = cmd.spawn().expect("spawn mfa-exec");
        let ep = env.home().join("ep");
        wait_for_file(&ep);
        let text = std::fs::read_to_string(&ep).unwrap();
        let (url, token) = text.split_once(' ').expect("url and token");
        let rest = url.strip_prefix("http://").expect("http url");
        let (hostport, path) = rest.split_once('/').unwrap();
        assert_eq!(format!("/{path}"), "/credentials");
        Served {
            child,
            url: url.to_string(),
            token: token.to_string(),
            addr: hostport.parse().expect("ip:port"),
            home: env.home().to_path_buf(),
        }
    }

    fn get(&self, path: &str, auth: Option<&str>) -> (u16, String) {
        get(self.addr, path, auth)
    }

    fn creds(&self) -> serde_json::Value {
        let (status, body) = self.get("/credentials", Some(&self.token));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// Lets the child exit; mfa-exec's exit code and stderr.
    fn finish(mut self) -> (i32, String) {
        std::fs::write(self.home.join("done"), "").unwrap();
        let status = wait_child(&mut self.child, Duration::from_secs(60));
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        // The note about the fake (non-AWS) endpoint is the first session's,
        // printed before the command starts; what follows is the serve's.
        let first = "mfa-exec: using STS at http://127.0.0.1:";
        let err = err
            .lines()
            .filter(|l| !l.starts_with(first))
            .map(|l| format!("{l}\n"))
            .collect();
        (status, err)
    }
}

/// A test that fails before `finish` must not leave the server (and its
/// command, which waits for `done`) running: they hold the harness's pipes.
impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = std::fs::write(self.home.join("done"), "");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_child(child: &mut Child, timeout: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().expect("mfa-exec exits, not killed");
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("mfa-exec did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 GET; the status and the body.
fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: probe\r\n{auth}\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn remaining(v: &serde_json::Value) -> i64 {
    let exp = chrono::DateTime::parse_from_rfc3339(v["Expiration"].as_str().unwrap()).unwrap();
    (exp.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

#[test]
fn child_gets_the_endpoint_not_static_keys() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded()
        .with_env(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/x",
        )
        .with_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/tmp/token")
        .with_env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "inherited")
        .with_env("AWS_ACCESS_KEY_ID", "AKIAINHERITED");
    let out = env
        .cmd_with_sts(
            &["-v", "test", "-t", "123456", "--server", "--", "env"],
            &sts,
        )
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let vars: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| -> Vec<&str> {
        vars.iter()
            .filter(|(n, _)| *n == k)
            .map(|(_, v)| *v)
            .collect()
    };
    for gone in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_SESSION_EXPIRATION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ] {
        assert!(get(gone).is_empty(), "{gone} in\n{text}");
    }
    let url = get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    assert_eq!(url.len(), 1, "{text}");
    let port = url[0]
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/credentials"))
        .unwrap_or_else(|| panic!("{}", url[0]));
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0));
    let token = get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].len(), 64, "256 bits, hex");
    assert!(token[0].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(get("AWS_REGION"), [SEED_REGION]);
    assert_eq!(get("MFA_EXEC_PROFILE"), ["test"]);
    // The session is in the file as a normal run leaves it.
    assert!(env.read_credentials().contains("[test]"));
    // --verbose says where it serves; neither the token nor a secret is shown.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "mfa-exec: serving the session of test at {}",
            url[0]
        )),
        "{err}"
    );
    assert!(err.contains("renewed 20m before it ends"), "{err}");
    let issued = sts.last_issued().unwrap();
    for secret in [token[0], &issued.secret_access_key, &issued.session_token] {
        assert!(!err.contains(secret), "{err}");
    }
}

#[test]
fn server_from_the_environment_and_the_config() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let script =
        "test -n \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" && test -z \"$AWS_ACCESS_KEY_ID\"";
    env.cmd_with_sts(&["test", "--", "sh", "-c", script], &sts)
        .env("MFA_EXEC_SERVER", "1")
        .assert()
        .success();
    // Without it: static keys, as always.
    env.cmd_with_sts(&["test", "--", "sh", "-c", script], &sts)
        .assert()
        .code(1);
    env.write_config(&SEED_CONFIG.replace(
        "[profile test]\n",
        "[profile test]\nmfa_exec_server = true\n",
    ));
    env.cmd_with_sts(&["test", "--", "sh", "-c", script], &sts)
        .assert()
        .success();
    // The variable overrides the file.
    env.cmd_with_sts(&["test", "--", "sh", "-c", script], &sts)
        .env("MFA_EXEC_SERVER", "0")
        .assert()
        .code(1);
    env.cmd_with_sts(&["explain", "test"], &sts)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "the command gets its credentials from a local endpoint",
        ));
    // A value that is neither: a configuration error before anything runs.
    env.write_config(&SEED_CONFIG.replace(
        "[profile test]\n",
        "[profile test]\nmfa_exec_server = maybe\n",
    ));
    let before = env.snapshot();
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .assert()
        .code(125)
        .stderr(format!(
            "mfa-exec: error: mfa_exec_server = maybe ({}/.aws/config:6 [profile test]) is neither true nor false\nhint: run 'mfa-exec explain test'\n",
            "~"
        ));
    env.assert_unchanged(&before);
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .env("MFA_EXEC_SERVER", "maybe")
        .assert()
        .code(125)
        .stderr("mfa-exec: error: MFA_EXEC_SERVER = 'maybe' is neither true nor false (1/0, yes/no)\nhint: run 'mfa-exec explain test'\n");
    env.assert_unchanged(&before);
    assert_eq!(sts.count(), 1, "only the first run's");
}

#[test]
fn keys_in_default_are_named() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = x\n"
    ));
    env.cmd_with_sts(&["test", "-t", "123456", "--server", "--", "true"], &sts)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "mfa-exec: warning: [default] in ~/.aws/credentials holds keys, which the AWS SDKs use before the endpoint: the command will not get the session of --server\n",
        ));
}

#[test]
fn endpoint_answers_only_the_token() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let s = Served::start(
        &env,
        &sts,
        &["test", "-t", "123456", "--server"],
        &waiting_child(0),
    );
    let issued = sts.last_issued().unwrap();
    let v = s.creds();
    assert_eq!(v["AccessKeyId"], issued.access_key_id.as_str());
    assert_eq!(v["SecretAccessKey"], issued.secret_access_key.as_str());
    assert_eq!(v["Token"], issued.session_token.as_str());
    assert!(remaining(&v) > 11 * 3600);
    assert_eq!(v.as_object().unwrap().len(), 4);
    let upper = s.token.to_uppercase();
    let bearer = format!("Bearer {}", s.token);
    let short = &s.token[..63];
    for auth in [
        None,
        Some("wrong"),
        Some(upper.as_str()),
        Some(bearer.as_str()),
        Some(short),
    ] {
        assert_eq!(
            s.get("/credentials", auth),
            (403, String::new()),
            "{auth:?}"
        );
    }
    assert_eq!(s.get("/other", None), (403, String::new()));
    assert_eq!(s.get("/other", Some(&s.token)), (404, String::new()));
    assert_eq!(s.get("/credentials/", Some(&s.token)), (404, String::new()));
    // Only 127.0.0.1 listens: not another loopback address, not IPv6.
    for other in ["127.0.0.2", "[::1]"] {
        let a: SocketAddr = format!("{other}:{}", s.addr.port()).parse().unwrap();
        assert!(
            TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_err(),
            "{a} accepted"
        );
    }
    let addr = s.addr;
    assert!(s.url.starts_with("http://127.0.0.1:"));
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    assert!(TcpStream::connect(addr).is_err(), "the port is closed");
}

#[test]
fn a_hostile_client_does_not_delay_a_good_one() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let s = Served::start(
        &env,
        &sts,
        &["test", "-t", "123456", "--server"],
        &waiting_child(0),
    );
    // A never-ending request head, trickled: it holds its connection while
    // the good request is answered.
    let mut slow = TcpStream::connect(s.addr).unwrap();
    slow.write_all(b"GET /credentials HTTP/1.1\r\n").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let trickle = {
        let (stop, alive) = (stop.clone(), alive.clone());
        let mut slow = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if slow.write_all(b"X").is_err() {
                    alive.store(false, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    // A flood: more than any head, as fast as it goes.
    let mut flood = TcpStream::connect(s.addr).unwrap();
    let _ = flood.write_all(b"GET /credentials HTTP/1.1\r\nX-Junk: ");
    let junk = vec![b'a'; 64 * 1024];
    let _ = flood.write_all(&junk);
    for _ in 0..5 {
        let v = s.creds();
        assert!(v["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with(ISSUED_KEY_PREFIX));
    }
    assert!(
        alive.load(std::sync::atomic::Ordering::SeqCst),
        "the slow client was still being read while the good ones were answered"
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    trickle.join().unwrap();
    // The flood got no answer: the connection was closed.
    flood
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = flood.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    // And the slow one is closed once its time is up, unanswered.
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(buf.is_empty(), "{:?}", String::from_utf8_lossy(&buf));
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_childs_exit_code_passes_through() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    for code in 0..=3 {
        env.cmd_with_sts(
            &[
                "test",
                "--server",
                "--",
                "sh",
                "-c",
                &format!("exit {code}"),
            ],
            &sts,
        )
        .assert()
        .code(code)
        .stderr("");
    }
    // Killed by a signal: 128 + n.
    env.cmd_with_sts(
        &["test", "--server", "--", "sh", "-c", "kill -KILL $$"],
        &sts,
    )
    .assert()
    .code(137);
    // Not found: 127 before anything is served or asked.
    env.cmd_with_sts(&["test", "--server", "--", "no-such-command-xyz"], &sts)
        .assert()
        .code(127)
        .stderr("mfa-exec: error: command not found: no-such-command-xyz\n");
}

fn wait_for_text(path: &Path, want: &str) {
    let start = Instant::now();
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(want)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{want} never in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_reaches_the_child_once() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let script = "trap 'echo term >> \"$HOME/signals\"' TERM; trap 'echo hup >> \"$HOME/signals\"' HUP; echo ready > \"$HOME/ready\"; while [ ! -e \"$HOME/done\" ]; do sleep 0.05; done; exit 3";
    let mut child = env
        .std_cmd_with_sts(&["test", "--server", "--", "sh", "-c", script], &sts)
        .spawn()
        .unwrap();
    wait_for_file(&env.home().join("ready"));
    let pid = child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGTERM) };
    wait_for_text(&env.home().join("signals"), "term");
    unsafe { libc::kill(pid, libc::SIGHUP) };
    wait_for_text(&env.home().join("signals"), "hup");
    std::fs::write(env.home().join("done"), "").unwrap();
    assert_eq!(wait_child(&mut child, Duration::from_secs(30)), 3);
    assert_eq!(
        std::fs::read_to_string(env.home().join("signals")).unwrap(),
        "term\nhup\n"
    );
    // A child that does not catch it dies of it: 128 + 15.
    let mut child = env
        .std_cmd_with_sts(
            &[
                "test",
                "--server",
                "--",
                "sh",
                "-c",
                "echo ready > \"$HOME/ready2\"; exec sleep 30",
            ],
            &sts,
        )
        .spawn()
        .unwrap();
    wait_for_file(&env.home().join("ready2"));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_child(&mut child, Duration::from_secs(30)), 143);
}

#[test]
fn ctrl_c_in_a_terminal_reaches_the_child_once() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let script = "trap 'echo int >> \"$HOME/signals\"' INT; echo ready; while [ ! -e \"$HOME/done\" ]; do sleep 0.05; done; exit 0";
    let mut pty = env.pty(&["test", "--server", "--", "sh", "-c", script], Some(&sts));
    pty.expect("ready");
    pty.send_ctrl_c();
    wait_for_text(&env.home().join("signals"), "int");
    // Let a doubled signal arrive, if there were one, before the child ends.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(env.home().join("done"), "").unwrap();
    let (code, out) = pty.wait_within(Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(env.home().join("signals")).unwrap(),
        "int\n"
    );
}

/// A signal from the terminal is never passed on: it reaches the child by
/// itself when the child is in the terminal's foreground process group. A
/// child that left it (a new session) shows it: it must get nothing from a
/// Ctrl-C that mfa-exec received. (Counting at a child in the same group
/// cannot show a doubled signal: the two arrive together and merge.)
#[test]
fn a_signal_from_the_terminal_is_not_passed_on() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let script = "trap 'echo int >> \"$HOME/signals\"' INT; echo ready; while [ ! -e \"$HOME/done\" ]; do sleep 0.05; done; exit 0";
    let mut pty = env.pty(
        &["test", "--server", "--", "setsid", "sh", "-c", script],
        Some(&sts),
    );
    pty.expect("ready");
    pty.send_ctrl_c();
    // mfa-exec got it (it is in the foreground group) and stays; a signal it
    // passed on would arrive at once.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(env.home().join("done"), "").unwrap();
    let (code, out) = pty.wait_within(Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
    assert!(
        !env.home().join("signals").exists(),
        "the terminal's SIGINT was passed on to the child"
    );
}

/// Polls the endpoint until the served key is not `old`; every answer on the
/// way is outside botocore's 15-minute window.
fn wait_for_new_key(s: &Served, old: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let v = s.creds();
        assert!(remaining(&v) > 900, "served inside the SDK window: {v}");
        if v["AccessKeyId"] != old {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never renewed");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_role_session_is_renewed_twice_with_one_code() {
    let sts = FakeSts::start();
    let env = role_env(920);
    let s = Served::start(
        &env,
        &sts,
        &["prod", "-t", "123456", "--server"],
        &waiting_child(0),
    );
    let first = s.creds();
    let k1 = first["AccessKeyId"].as_str().unwrap().to_string();
    let second = wait_for_new_key(&s, &k1);
    let k2 = second["AccessKeyId"].as_str().unwrap().to_string();
    let third = wait_for_new_key(&s, &k2);
    let k3 = third["AccessKeyId"].as_str().unwrap().to_string();
    assert_eq!(sts.count_action("GetSessionToken"), 1, "one code");
    assert!(sts.count_action("AssumeRole") >= 3);
    let keys: Vec<String> = sts
        .issued()
        .into_iter()
        .filter(|i| i.action == "AssumeRole")
        .map(|i| i.access_key_id)
        .collect();
    assert_eq!(&keys[..3], &[k1, k2, k3.clone()]);
    // Renewals are signed by the cached MFA session, with no code.
    let gst = sts
        .issued()
        .into_iter()
        .find(|i| i.action == "GetSessionToken")
        .unwrap();
    for r in sts.requests().iter().filter(|r| r.action == "AssumeRole") {
        assert_eq!(r.access_key_id.as_deref(), Some(gst.access_key_id.as_str()));
        assert_eq!(r.param("TokenCode"), None);
    }
    // The renewed session is written for other tools.
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "no line on a renewal that works");
    let creds = env.read_credentials();
    let at = creds.find("[prod-mfa]").unwrap();
    assert!(
        creds[at..].contains(&keys.last().unwrap().to_string()),
        "{creds}"
    );
}

#[test]
fn renewal_that_needs_a_code_says_so_once_and_adopts_another_runs_session() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_env("MFA_EXEC_TEST_RENEW_RETRY_MS", "200");
    let s = Served::start(
        &env,
        &sts,
        &["test", "-t", "123456", "--duration", "920", "--server"],
        &waiting_child(0),
    );
    let k1 = s.creds()["AccessKeyId"].as_str().unwrap().to_string();
    // After 10 s the renewal needs a code; none can be asked for. Another
    // terminal makes a session with a code:
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(sts.count(), 1, "nothing sent without a code");
    env.cmd_with_sts(&["test", "-f", "-t", "654321", "--", "true"], &sts)
        .assert()
        .success();
    let v = wait_for_new_key(&s, &k1);
    assert_eq!(
        v["AccessKeyId"].as_str(),
        Some(sts.last_issued().unwrap().access_key_id.as_str())
    );
    assert!(remaining(&v) > 11 * 3600);
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("mfa-exec: warning: the session of test ends at ")
            && lines[0].ends_with(
                " and renewing it needs an MFA code; run 'mfa-exec test -f -- true' in another terminal"
            ),
        "{err}"
    );
}

/// With no terminal (CI, a service), `mfa_process` gives the code of a renewal
/// that needs one: no line, a new GetSessionToken session, served and written.
#[test]
fn without_a_terminal_mfa_process_gives_the_renewal_its_code() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = env.home().join("asked");
    // A different 6-digit code each run (the one-code guard refuses a repeat).
    env.write_config(&SEED_CONFIG.replace(
        "[profile test]\n",
        &format!(
            "[profile test]\nmfa_process = echo asked >> {} ; date +%N | cut -c1-6\n",
            log.display()
        ),
    ));
    let s = Served::start(
        &env,
        &sts,
        &["test", "--duration", "920", "--server"],
        &waiting_child(0),
    );
    let k1 = s.creds()["AccessKeyId"].as_str().unwrap().to_string();
    let v = wait_for_new_key(&s, &k1);
    assert_eq!(sts.count_action("GetSessionToken"), 2);
    assert_eq!(
        v["AccessKeyId"].as_str(),
        Some(sts.last_issued().unwrap().access_key_id.as_str())
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "asked\nasked\n");
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    assert!(env.read_credentials().contains(&format!(
        "aws_access_key_id = {}",
        v["AccessKeyId"].as_str().unwrap()
    )));
}

#[test]
fn sts_failing_at_renewal_keeps_the_session_and_retries() {
    let sts = FakeSts::start();
    let env = role_env(920).with_env("MFA_EXEC_TEST_RENEW_RETRY_MS", "300");
    let s = Served::start(
        &env,
        &sts,
        &["prod", "-t", "123456", "--server"],
        &waiting_child(0),
    );
    let k1 = s.creds()["AccessKeyId"].as_str().unwrap().to_string();
    let written = env.snapshot();
    sts.fail_always(Reply::error(403, "AccessDenied", "not now"));
    // Wait for a few failed renewals (10 s in, then every 300 ms).
    let start = Instant::now();
    while sts.count_action("AssumeRole") < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no renewal attempts"
        );
        let v = s.creds();
        assert_eq!(v["AccessKeyId"], k1.as_str(), "the valid session is kept");
        std::thread::sleep(Duration::from_millis(100));
    }
    env.assert_unchanged(&written);
    sts.clear_faults();
    let v = wait_for_new_key(&s, &k1);
    assert_eq!(
        v["AccessKeyId"].as_str(),
        Some(sts.last_issued().unwrap().access_key_id.as_str())
    );
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line for the failure: {err}");
    assert!(
        lines[0].starts_with("mfa-exec: warning: could not renew the session of prod: ")
            && lines[0].contains("still serving the current one, which ends at "),
        "{err}"
    );
}

/// The venv with the real AWS CLI that `.ci/run` creates (`scripts/venv.sh`).
fn aws_cli() -> Option<PathBuf> {
    let venv = std::env::var_os("MFA_EXEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv"));
    let aws = venv.join("bin/aws");
    aws.exists().then_some(aws)
}

#[test]
fn the_aws_cli_gets_its_credentials_from_the_endpoint() {
    let Some(aws) = aws_cli() else {
        eprintln!("SKIPPED: no venv with the AWS CLI (run scripts/venv.sh; .ci/run always does)");
        return;
    };
    let sts = FakeSts::start();
    let env = role_env(3600);
    let aws = aws.to_string_lossy().into_owned();
    let url = sts.url();
    let out = env
        .cmd_with_sts(
            &[
                "prod",
                "-t",
                "123456",
                "--server",
                "--",
                &aws,
                "sts",
                "get-caller-identity",
                "--endpoint-url",
                &url,
                "--output",
                "json",
            ],
            &sts,
        )
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("aws printed JSON");
    assert_eq!(v["Account"], FAKE_ACCOUNT);
    let role_key = sts
        .issued()
        .into_iter()
        .find(|i| i.action == "AssumeRole")
        .unwrap()
        .access_key_id;
    let call = sts
        .requests()
        .into_iter()
        .find(|r| r.action == "GetCallerIdentity")
        .expect("the CLI called STS");
    assert_eq!(call.access_key_id.as_deref(), Some(role_key.as_str()));
    assert!(call.security_token.is_some());
}

/// The venv's Python when it has boto3.
fn python_with_boto3() -> Option<PathBuf> {
    let aws = aws_cli()?;
    let python = aws.with_file_name("python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import boto3"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

/// boto3 in one process, calling STS every half second for 32 s through its
/// own refreshes (botocore refreshes 15 minutes before expiry; the sessions
/// last 15 min 10 s, so botocore refreshes every 10 s and mfa-exec renews
/// every 5 s): every call succeeds, the signing key changes at least
/// twice, one code in all, and no call is signed with a session inside
/// botocore's window.
#[test]
fn boto3_keeps_working_across_its_own_refreshes() {
    let Some(python) = python_with_boto3() else {
        eprintln!("SKIPPED: no venv with boto3 (run scripts/venv.sh; .ci/run always does)");
        return;
    };
    let sts = FakeSts::start();
    let env = role_env(910);
    let script = env.home().join("calls.py");
    std::fs::write(
        &script,
        "import sys, time, boto3\n\
         c = boto3.session.Session().client('sts', endpoint_url=sys.argv[1])\n\
         n = 0\n\
         end = time.time() + float(sys.argv[2])\n\
         while time.time() < end:\n\
         \x20   c.get_caller_identity()\n\
         \x20   n += 1\n\
         \x20   time.sleep(0.5)\n\
         print(n)\n",
    )
    .unwrap();
    let url = sts.url();
    let python = python.to_string_lossy().into_owned();
    let script = script.to_string_lossy().into_owned();
    let out = env
        .cmd_with_sts(
            &[
                "prod", "-t", "123456", "--server", "--", &python, &script, &url, "32",
            ],
            &sts,
        )
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .clone();
    let calls: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(calls >= 10, "{calls}");
    check_refreshes(&sts, calls, 900);
}

/// Every call of `calls` (GetCallerIdentity) was signed with an issued role
/// session that had more than `window` seconds left, and the signing key
/// changed at least twice; one code in all.
fn check_refreshes(sts: &FakeSts, calls: usize, window: i64) {
    let requests: Vec<Recorded> = sts
        .requests()
        .into_iter()
        .filter(|r| r.action == "GetCallerIdentity")
        .collect();
    assert_eq!(requests.len(), calls, "every call reached STS once");
    assert_eq!(sts.count_action("GetSessionToken"), 1, "one code");
    let issued = sts.issued();
    let mut keys: Vec<&str> = Vec::new();
    for r in &requests {
        let key = r.access_key_id.as_deref().unwrap();
        if keys.last() != Some(&key) {
            keys.push(key);
        }
        let session = issued
            .iter()
            .find(|i| i.access_key_id == key)
            .expect("signed with an issued role session");
        assert_eq!(session.action, "AssumeRole");
        let signed = chrono::NaiveDateTime::parse_from_str(
            r.header("x-amz-date").unwrap(),
            "%Y%m%dT%H%M%SZ",
        )
        .unwrap()
        .and_utc();
        let exp = chrono::DateTime::parse_from_rfc3339(&session.expiration).unwrap();
        let left = (exp.with_timezone(&chrono::Utc) - signed).num_seconds();
        assert!(
            left >= window - 1,
            "a call signed with {left}s left: inside the SDK's {window}s window"
        );
    }
    assert!(
        keys.len() >= 3,
        "the signing key changed at least twice: {keys:?}"
    );
}

/// The Go SDK v2 client of `tests/it/server_go/main.go`, built offline from
/// Debian's sources (`golang-go`, `golang-github-aws-aws-sdk-go-v2-dev`), or
/// `None` when they are not installed.
fn go_client() -> Option<PathBuf> {
    let src = Path::new("/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/service/sts");
    if !src.exists() {
        return None;
    }
    // One build at a time (the tests run in parallel).
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("server-go");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("client");
    let main = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/server_go/main.go");
    let status = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(&main)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.join("cache"))
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0")
        .status()
        .ok()?;
    assert!(status.success(), "the Go client does not build");
    Some(bin)
}

/// The Go SDK v2's default chain (the Terraform AWS provider's) gets the role
/// session from the endpoint: it accepts the loopback URL and sends the token.
#[test]
fn the_go_sdk_gets_its_credentials_from_the_endpoint() {
    let Some(client) = go_client() else {
        eprintln!("SKIPPED: no Go SDK v2 sources in /usr/share/gocode (.ci/run installs them)");
        return;
    };
    let sts = FakeSts::start();
    let env = role_env(3600);
    let url = sts.url();
    let client = client.to_string_lossy().into_owned();
    let out = env
        .cmd_with_sts(
            &["prod", "-t", "123456", "--server", "--", &client, &url, "1"],
            &sts,
        )
        .assert()
        .success()
        .get_output()
        .clone();
    let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(n >= 2, "{n}");
    let role_key = sts
        .issued()
        .into_iter()
        .find(|i| i.action == "AssumeRole")
        .unwrap()
        .access_key_id;
    let calls: Vec<Recorded> = sts
        .requests()
        .into_iter()
        .filter(|r| r.action == "GetCallerIdentity")
        .collect();
    assert_eq!(calls.len(), n);
    for c in calls {
        assert_eq!(c.access_key_id.as_deref(), Some(role_key.as_str()));
    }
}

/// The Go SDK v2's default chain (the Terraform AWS provider's) in one
/// process through two of its own refreshes: it refreshes 5 minutes before
/// expiry, and the fake STS issues role sessions of 5 min 10 s (so mfa-exec
/// renews every 5 s and Go refreshes every 10 s). Every call succeeds, the
/// signing key changes at least twice, one code in all, and no call is signed
/// with a session inside Go's window.
#[test]
fn the_go_sdk_keeps_working_across_its_own_refreshes() {
    let Some(client) = go_client() else {
        eprintln!("SKIPPED: no Go SDK v2 sources in /usr/share/gocode (.ci/run installs them)");
        return;
    };
    let sts = FakeSts::start();
    sts.set_role_duration_cap(Some(310));
    let env = role_env(3600);
    let url = sts.url();
    let client = client.to_string_lossy().into_owned();
    let out = env
        .cmd_with_sts(
            &[
                "prod", "-t", "123456", "--server", "--", &client, &url, "32",
            ],
            &sts,
        )
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .clone();
    let calls: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(calls >= 10, "{calls}");
    check_refreshes(&sts, calls, 300);
}

/// The JS SDK v3's `node_modules` (`scripts/npm.sh`), when installed and
/// Node.js runs.
fn js_sdk() -> Option<PathBuf> {
    let dir = std::env::var_os("MFA_EXEC_NPM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm"))
        .join("node_modules");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (node_ok && dir.join("@aws-sdk/client-sts").exists()).then_some(dir)
}

/// The JS SDK v3's default chain in one Node.js process through two of its
/// own refreshes (5 minutes before expiry; role sessions of 5 min 10 s, so
/// mfa-exec renews every 5 s and the SDK refreshes every 10 s): every call
/// succeeds, the signing key changes at least twice, one code, and no call is
/// signed with a session inside the SDK's window.
#[test]
fn the_js_sdk_keeps_working_across_its_own_refreshes() {
    let Some(modules) = js_sdk() else {
        eprintln!("SKIPPED: no JS SDK v3 (run scripts/npm.sh; .ci/run always does)");
        return;
    };
    let sts = FakeSts::start();
    sts.set_role_duration_cap(Some(310));
    let env = role_env(3600);
    let script = env.home().join("calls.js");
    std::fs::write(
        &script,
        r#"const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const [url, seconds] = process.argv.slice(2);
(async () => {
  const client = new STSClient({ endpoint: url });
  const end = Date.now() + Number(seconds) * 1000;
  let n = 0;
  while (n === 0 || Date.now() < end) {
    await client.send(new GetCallerIdentityCommand({}));
    n++;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(n);
})().catch((e) => { console.error(e); process.exit(1); });
"#,
    )
    .unwrap();
    let url = sts.url();
    let script = script.to_string_lossy().into_owned();
    let out = env
        .cmd_with_sts(
            &[
                "prod", "-t", "123456", "--server", "--", "node", &script, &url, "32",
            ],
            &sts,
        )
        .env("NODE_PATH", &modules)
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .clone();
    let calls: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(calls >= 10, "{calls}");
    check_refreshes(&sts, calls, 300);
}

/// The text of the dialog process `pid` (the argument after zenity's `--text`).
fn dialog_text(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("the dialog's argv");
    let argv: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    argv.iter()
        .position(|a| a == "--text")
        .and_then(|i| argv.get(i + 1).cloned())
        .unwrap_or_else(|| panic!("no --text in {argv:?}"))
}

/// A GetSessionToken profile whose sessions last 15 min 40 s: renewal needs a
/// code 20 s after the first session, with a display and no terminal.
fn dialog_serve(x: &Xvfb, sts: &FakeSts) -> (TestEnv, Served, serde_json::Value) {
    let env = TestEnv::seeded()
        .with_env("MFA_EXEC_TEST_RENEW_RETRY_MS", "200")
        .with_env("DISPLAY", &x.display);
    let s = Served::start(
        &env,
        sts,
        &["test", "-t", "123456", "--duration", "940", "--server"],
        &waiting_child(0),
    );
    let first = s.creds();
    (env, s, first)
}

use crate::support::desktop::{target_dir, Xvfb};

/// When a renewal needs a code and a display is there, a real zenity window
/// asks for it (never the terminal, the command's): its text says which
/// session ends when; the code typed goes to STS once; the renewed session is
/// served and written; nothing is printed.
#[test]
fn renewal_that_needs_a_code_asks_in_a_desktop_dialog() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let (env, s, first) = dialog_serve(&x, &sts);
    let k1 = first["AccessKeyId"].as_str().unwrap().to_string();
    let d = x.find_dialog(Duration::from_secs(60));
    assert_eq!(
        dialog_text(d.pid),
        format!(
            "The session of test that the running command uses ends at {}.\n\nMFA code for test (arn:aws:iam::123456789012:mfa/test):",
            first["Expiration"].as_str().unwrap()
        )
    );
    std::thread::sleep(Duration::from_millis(500));
    x.screenshot(&target_dir().join("desktop-dialog-server.png"));
    assert_eq!(sts.count(), 1, "nothing sent before the code is typed");
    x.type_text("654321");
    x.key("Return");
    let v = wait_for_new_key(&s, &k1);
    assert_eq!(sts.count_action("GetSessionToken"), 2);
    let last = sts.requests().last().unwrap().clone();
    assert_eq!(last.param("TokenCode"), Some("654321"));
    assert_eq!(
        v["AccessKeyId"].as_str(),
        Some(sts.last_issued().unwrap().access_key_id.as_str())
    );
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "a dialog that gave the code needs no line");
    assert!(env.read_credentials().contains(&format!(
        "aws_access_key_id = {}",
        v["AccessKeyId"].as_str().unwrap()
    )));
}

/// Escape: one line (the other terminal), no second dialog for this renewal,
/// and the session another run makes is adopted.
#[test]
fn a_cancelled_renewal_dialog_falls_back_to_the_other_terminal() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let (env, s, first) = dialog_serve(&x, &sts);
    let k1 = first["AccessKeyId"].as_str().unwrap().to_string();
    let d = x.find_dialog(Duration::from_secs(60));
    x.key("Escape");
    // The poll runs every 200 ms: a second dialog would be up by now.
    assert!(gone_within(d.pid, Duration::from_secs(30)), "dialog stayed");
    assert!(
        x.try_find_dialog(Duration::from_secs(3)).is_none(),
        "one dialog per renewal"
    );
    assert_eq!(sts.count(), 1, "nothing sent");
    env.cmd_with_sts(&["test", "-f", "-t", "654321", "--", "true"], &sts)
        .assert()
        .success();
    let v = wait_for_new_key(&s, &k1);
    assert_eq!(
        v["AccessKeyId"].as_str(),
        Some(sts.last_issued().unwrap().access_key_id.as_str())
    );
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!(
            "mfa-exec: warning: the session of test ends at {} and renewing it needs an MFA code, which the dialog did not give; run 'mfa-exec test -f -- true' in another terminal\n",
            first["Expiration"].as_str().unwrap()
        )
    );
}

/// The command ends while the dialog is open: the dialog is closed and
/// mfa-exec exits with the command's status at once, not at the dialog's
/// timeout (an hour here), without a line and without writing anything.
#[test]
fn the_renewal_dialog_closes_when_the_command_exits() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let env = TestEnv::seeded()
        .with_env("MFA_EXEC_TEST_RENEW_RETRY_MS", "200")
        .with_env("DISPLAY", &x.display);
    env.write_config(&SEED_CONFIG.replace(
        "[profile test]\n",
        "[profile test]\nmfa_exec_prompt_timeout = 1h\n",
    ));
    let s = Served::start(
        &env,
        &sts,
        &["test", "-t", "123456", "--duration", "940", "--server"],
        &waiting_child(3),
    );
    let d = x.find_dialog(Duration::from_secs(60));
    let before = env.read_credentials();
    let (code, err) = s.finish();
    assert_eq!(code, 3, "{err}");
    assert_eq!(err, "");
    // SAFETY: kill(pid, 0) only checks the process exists.
    assert_ne!(
        unsafe { libc::kill(d.pid as i32, 0) },
        0,
        "dialog left open"
    );
    assert_eq!(sts.count(), 1);
    assert_eq!(env.read_credentials(), before);
}

/// `explain` names the dialog a renewal would open, and `terminal` none.
#[test]
fn explain_names_the_renewal_dialog() {
    let (env, _) = stand_in_dialog("exit 1");
    let env = env.with_env("MFA_EXEC_SERVER", "1");
    let explain = |extra: &[&str]| -> String {
        let mut args = vec!["explain", "test"];
        args.extend_from_slice(extra);
        let out = env.cmd(&args).assert().success().get_output().clone();
        String::from_utf8(out.stdout).unwrap()
    };
    let text = explain(&[]);
    assert!(
        text.contains("with a code asked in a zenity dialog (not answered: when a fresher session appears in the credentials file; run 'mfa-exec test -f -- true' in another terminal)"),
        "{text}"
    );
    let text = explain(&["--prompt", "terminal"]);
    assert!(
        text.contains("when a fresher session appears in the credentials file (renewing needs a code: run 'mfa-exec test -f -- true' in another terminal when asked)"),
        "{text}"
    );
    assert!(!text.contains("dialog ("), "{text}");
}

/// A seeded env whose PATH starts with a stand-in `zenity` (a display is
/// named, none is needed): it appends its pid to `zenity.log`, then runs
/// `then` (shell). Renewals retry every 200 ms.
fn stand_in_dialog(then: &str) -> (TestEnv, PathBuf) {
    let env = TestEnv::seeded();
    let bin = env.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.home().join("zenity.log");
    let zenity = bin.join("zenity");
    std::fs::write(
        &zenity,
        format!("#!/bin/sh\necho $$ >> '{}'\n{then}\n", log.display()),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&zenity).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&zenity, perm).unwrap();
    let env = env
        .with_env("PATH", &format!("{}:/usr/bin:/bin", bin.display()))
        .with_env("DISPLAY", ":97")
        .with_env("MFA_EXEC_TEST_RENEW_RETRY_MS", "200");
    (env, log)
}

/// Whether process `pid` is gone within `timeout`.
fn gone_within(pid: u32, timeout: Duration) -> bool {
    let start = Instant::now();
    // SAFETY: kill(pid, 0) only checks the process exists.
    while unsafe { libc::kill(pid as i32, 0) } == 0 {
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Waits (at most 60 s) until the stand-in dialog ran `n` times.
fn wait_for_runs(log: &Path, n: usize) {
    let start = Instant::now();
    while runs_of(log).len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{n} dialog(s) not run"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn runs_of(log: &Path) -> Vec<u32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Review: a dialog whose program fails (or whose code does not give a
/// session) is not opened again every retry: at most three per renewal (the
/// first failure said once, as any failure), then one line naming the other
/// terminal.
#[test]
fn a_renewal_dialog_that_fails_is_not_opened_again() {
    let sts = FakeSts::start();
    let (env, log) = stand_in_dialog("echo 'cannot open display' >&2; exit 2");
    let s = Served::start(
        &env,
        &sts,
        &["test", "-t", "123456", "--duration", "940", "--server"],
        &waiting_child(0),
    );
    let first = s.creds();
    wait_for_runs(&log, 3);
    // Fifteen retries' worth.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs_of(&log).len(), 3, "three dialogs per renewal at most");
    assert_eq!(sts.count(), 1, "nothing sent");
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!(
            "mfa-exec: warning: could not renew the session of test: zenity ({z}) failed (exit status 2): cannot open display; nothing was sent; still serving the current one, which ends at {x}, and retrying\nmfa-exec: warning: could not renew the session of test with a code from the dialog: zenity ({z}) failed (exit status 2): cannot open display; nothing was sent; the session ends at {x}; run 'mfa-exec test -f -- true' in another terminal\n",
            z = env.home().join("bin/zenity").display(),
            x = first["Expiration"].as_str().unwrap()
        )
    );
}

/// Review: `--no-input` keeps renewal dialogs away too (a CI job under Xvfb
/// must not hold the lock behind an invisible dialog).
#[test]
fn no_input_keeps_renewal_dialogs_away() {
    let sts = FakeSts::start();
    let (env, log) = stand_in_dialog("exit 1");
    let s = Served::start(
        &env,
        &sts,
        &[
            "test",
            "-t",
            "123456",
            "--duration",
            "940",
            "--no-input",
            "--server",
        ],
        &waiting_child(0),
    );
    let first = s.creds();
    // The renewal is due 920 s before the end (lead of a 940 s session);
    // then it polls every 200 ms. Wait until well past it.
    let ends = chrono::DateTime::parse_from_rfc3339(first["Expiration"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let due = ends - chrono::Duration::seconds(920) + chrono::Duration::seconds(6);
    let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
    std::thread::sleep(wait);
    assert_eq!(
        runs_of(&log),
        Vec::<u32>::new(),
        "no dialog under --no-input"
    );
    let (code, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!(
            "mfa-exec: warning: the session of test ends at {} and renewing it needs an MFA code; run 'mfa-exec test -f -- true' in another terminal\n",
            first["Expiration"].as_str().unwrap()
        )
    );
}

/// Review: while a renewal dialog is open, a SIGTERM sent to mfa-exec with
/// `kill` still goes to the command (the dialog's own handlers must not
/// replace the forwarding): the command exits with its trap's status, which
/// mfa-exec returns, and the dialog is closed.
#[test]
fn a_signal_during_a_renewal_dialog_still_reaches_the_command() {
    let sts = FakeSts::start();
    let (env, log) = stand_in_dialog("exec sleep 600");
    let script = format!("trap 'exit 9' TERM; {}", waiting_child(0));
    let s = Served::start(
        &env,
        &sts,
        &["test", "-t", "123456", "--duration", "940", "--server"],
        &script,
    );
    wait_for_runs(&log, 1);
    let dialog = runs_of(&log)[0];
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: plain kill(2) of the mfa-exec this test started.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let mut s = s;
    let status = wait_child(&mut s.child, Duration::from_secs(30));
    assert_eq!(status, 9, "the command's trap ran and its status came back");
    assert!(
        gone_within(dialog, Duration::from_secs(10)),
        "dialog left open"
    );
    assert_eq!(sts.count(), 1);
}
