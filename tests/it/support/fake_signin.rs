//! A fake AWS federation (console sign-in) endpoint on 127.0.0.1, plain
//! HTTP/1.1 on `std::net`.
//!
//! It answers `GET /federation?Action=getSigninToken&[SessionDuration=S&]
//! Session=<json>` like the real one, with the rules that matter to mfa-exec:
//! - with [`FakeSignin::start_with_sts`], the session must be one the fake STS
//!   issued (key, secret and token all match), and not a GetSessionToken
//!   session: anything else gets 400, as AWS refuses it;
//! - `SessionDuration` is refused (400) for a GetFederationToken session and
//!   for a chained role session (AssumeRole signed with session credentials),
//!   and outside 900-43200;
//! - success is `{"SigninToken":"<token>"}` with a new token each time.
//!
//! Scripted replies ([`FakeSignin::push`]) come first. Point the binary at it
//! with `--signin-url <FakeSignin::url()>` or `MFA_EXEC_SIGNIN_URL`.

use super::fake_sts::{percent_decode, Issued};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Prefix of every token the fake hands out.
pub const SIGNIN_TOKEN_PREFIX: &str = "FAKE-SIGNIN-TOKEN-";

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigninRequest {
    pub method: String,
    pub path: String,
    /// Query parameters in order, decoded.
    pub params: Vec<(String, String)>,
    /// The `Session` parameter parsed as JSON (`None` if absent or not JSON).
    pub session: Option<serde_json::Value>,
}

impl SigninRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// A scripted answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigninReply {
    pub status: u16,
    pub body: String,
}

type IssuedView = Arc<dyn Fn() -> Vec<Issued> + Send + Sync>;

struct State {
    requests: Vec<SigninRequest>,
    tokens: Vec<String>,
    script: VecDeque<SigninReply>,
}

struct Shared {
    state: Mutex<State>,
    shutdown: AtomicBool,
    issued: Option<IssuedView>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct FakeSignin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeSignin {
    /// Accepts any well-formed session.
    pub fn start() -> FakeSignin {
        Self::spawn(None)
    }

    /// Accepts only sessions `sts` issued, and not GetSessionToken ones.
    pub fn start_with_sts(sts: &super::FakeSts) -> FakeSignin {
        Self::spawn(Some(sts.issued_view()))
    }

    fn spawn(issued: Option<IssuedView>) -> FakeSignin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("FakeSignin: bind");
        let addr = listener.local_addr().expect("FakeSignin: local_addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requests: Vec::new(),
                tokens: Vec::new(),
                script: VecDeque::new(),
            }),
            shutdown: AtomicBool::new(false),
            issued,
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if shared.shutdown.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || serve(stream, &shared));
                }
            })
        };
        FakeSignin {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT/federation`
    pub fn url(&self) -> String {
        format!("http://{}/federation", self.addr)
    }

    pub fn requests(&self) -> Vec<SigninRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Tokens handed out, in order.
    pub fn tokens(&self) -> Vec<String> {
        self.shared.lock().tokens.clone()
    }

    /// Queues a scripted answer (FIFO, one request each).
    pub fn push(&self, status: u16, body: &str) {
        self.shared.lock().script.push_back(SigninReply {
            status,
            body: body.to_string(),
        });
    }
}

impl Drop for FakeSignin {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

/// Query string → ordered, decoded pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 256 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = query_pairs(query);
    let session = params
        .iter()
        .find(|(k, _)| k == "Session")
        .and_then(|(_, v)| serde_json::from_str(v).ok());
    let req = SigninRequest {
        method,
        path: path.to_string(),
        params,
        session,
    };
    let (status, body) = {
        let mut st = shared.lock();
        st.requests.push(req.clone());
        match st.script.pop_front() {
            Some(r) => (r.status, r.body),
            None => match check(&req, shared.issued.as_deref()) {
                Ok(()) => {
                    let token = format!(
                        "{SIGNIN_TOKEN_PREFIX}{}_aZ-9{}",
                        st.tokens.len() + 1,
                        "x".repeat(40)
                    );
                    st.tokens.push(token.clone());
                    (200, format!("{{\"SigninToken\":\"{token}\"}}"))
                }
                Err(why) => (400, format!("<html><body>Bad Request: {why}</body></html>")),
            },
        }
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Other",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// The real endpoint's rules, as far as the fake can know them.
fn check(
    req: &SigninRequest,
    issued: Option<&(dyn Fn() -> Vec<Issued> + Send + Sync)>,
) -> Result<(), String> {
    if req.method != "GET" {
        return Err("method".into());
    }
    if req.param("Action") != Some("getSigninToken") {
        return Err("Action".into());
    }
    let s = req.session.as_ref().ok_or("Session is not JSON")?;
    let field = |k: &str| s.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(id), Some(key), Some(token)) = (
        field("sessionId"),
        field("sessionKey"),
        field("sessionToken"),
    ) else {
        return Err("Session lacks a field".into());
    };
    let duration = match req.param("SessionDuration") {
        None => None,
        Some(d) => Some(
            d.parse::<u64>()
                .ok()
                .filter(|d| (900..=43_200).contains(d))
                .ok_or("SessionDuration out of range")?,
        ),
    };
    let Some(issued) = issued else { return Ok(()) };
    let all = issued();
    let Some(i) = all.iter().find(|i| i.access_key_id == id) else {
        return Err("unknown session".into());
    };
    if i.secret_access_key != key || i.session_token != token {
        return Err("invalid credentials".into());
    }
    match (i.action.as_str(), duration) {
        ("GetSessionToken", _) => Err("GetSessionToken sessions cannot sign in".into()),
        ("GetFederationToken", Some(_)) => Err("SessionDuration with a federation token".into()),
        ("AssumeRole", Some(_)) if i.signed_with_session => {
            Err("SessionDuration with a chained role session".into())
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Self-test: the fake's rules, with a raw std client.

#[cfg(test)]
fn raw_get(signin: &FakeSignin, query: &str) -> u16 {
    let addr = signin.url();
    let addr = addr
        .trim_start_matches("http://")
        .trim_end_matches("/federation");
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET /federation?{query} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    super::fake_sts::read_raw_response(&mut s).unwrap().status
}

#[cfg(test)]
fn session_query(duration: Option<&str>, id: &str, key: &str, token: &str) -> String {
    let json =
        serde_json::json!({"sessionId": id, "sessionKey": key, "sessionToken": token}).to_string();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("Action", "getSigninToken");
    if let Some(d) = duration {
        q.append_pair("SessionDuration", d);
    }
    q.append_pair("Session", &json);
    q.finish()
}

#[test]
fn support_fake_signin_rules() {
    let sts = super::FakeSts::start();
    let auth = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n";
    for body in [
        "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600",
        "Action=GetFederationToken&Version=2011-06-15&Name=bob&DurationSeconds=3600",
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::1:role/r&RoleSessionName=s&DurationSeconds=7200",
    ] {
        let mut c = TcpStream::connect(sts.addr()).unwrap();
        let r = super::fake_sts::raw_post(&mut c, body, auth).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // A chained role session: AssumeRole signed with the GetSessionToken session.
    let gst = sts.issued()[0].clone();
    let chained_auth = format!(
        "Authorization: AWS4-HMAC-SHA256 Credential={}/20261128/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\nX-Amz-Security-Token: {}\r\n",
        gst.access_key_id, gst.session_token
    );
    let mut c = TcpStream::connect(sts.addr()).unwrap();
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::1:role/r&RoleSessionName=s&DurationSeconds=3600";
    let r = super::fake_sts::raw_post(&mut c, body, &chained_auth).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let issued = sts.issued();
    assert!(issued[3].signed_with_session && !issued[2].signed_with_session);
    let (gst, gft, long_role, short_role) = (&issued[0], &issued[1], &issued[2], &issued[3]);
    assert_eq!(gft.action, "GetFederationToken");
    let signin = FakeSignin::start_with_sts(&sts);
    let q = |d: Option<&str>, i: &Issued| {
        session_query(d, &i.access_key_id, &i.secret_access_key, &i.session_token)
    };
    assert_eq!(
        raw_get(&signin, &q(None, gst)),
        400,
        "GetSessionToken session"
    );
    assert_eq!(raw_get(&signin, &q(None, gft)), 200);
    assert_eq!(
        raw_get(&signin, &q(Some("3600"), gft)),
        400,
        "SessionDuration, federation"
    );
    assert_eq!(raw_get(&signin, &q(Some("7200"), long_role)), 200);
    assert_eq!(
        raw_get(&signin, &q(Some("100"), long_role)),
        400,
        "out of range"
    );
    assert_eq!(
        raw_get(&signin, &q(Some("3600"), short_role)),
        400,
        "chained role"
    );
    assert_eq!(raw_get(&signin, &q(None, short_role)), 200);
    let wrong = session_query(None, &gft.access_key_id, "nope", &gft.session_token);
    assert_eq!(raw_get(&signin, &wrong), 400, "wrong secret");
    assert_eq!(
        raw_get(&signin, &session_query(None, "ASIAUNKNOWN", "k", "t")),
        400
    );
    assert_eq!(
        raw_get(&signin, "Action=getSigninToken&Session=%7B"),
        400,
        "not JSON"
    );
    assert_eq!(signin.tokens().len(), 3);
    assert_eq!(signin.count(), 10);
    signin.push(503, "busy");
    assert_eq!(raw_get(&signin, &q(None, gft)), 503, "scripted first");
}
