//! A fake AWS STS endpoint speaking the Query protocol over plain HTTP/1.1
//! on 127.0.0.1, built on `std::net` so that it can inject socket-level
//! faults (stalls, resets, truncated bodies).
//!
//! Point the binary at it with `AWS_ENDPOINT_URL_STS=<FakeSts::url()>`
//! (see `TestEnv::with_sts`).

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// XML namespace of every STS response.
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// The account id the fake reports (and the seed layout uses).
pub const FAKE_ACCOUNT: &str = "123456789012";
/// Message of the `AccessDenied` error real STS returns for a wrong MFA code.
pub const INVALID_MFA_MESSAGE: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
/// Prefix of every access key id the fake issues.
pub const ISSUED_KEY_PREFIX: &str = "ASIAFAKE";

/// A scripted reply, consumed (FIFO) before the default behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// An STS `ErrorResponse` XML document with this HTTP status.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// Any body (e.g. malformed XML), sent as `text/xml` with this status.
    Raw { status: u16, body: String },
    /// Read the request, then send nothing for that long, then close.
    Stall(Duration),
    /// Read the request, then close with `SO_LINGER` 0 (the peer sees RST).
    Reset,
    /// Send a 200 head with `Content-Length: 1000`, then 100 bytes of body,
    /// then close.
    CutBody,
}

impl Reply {
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::Error {
            status,
            code: code.to_string(),
            message: message.to_string(),
        }
    }

    pub fn raw(status: u16, body: &str) -> Reply {
        Reply::Raw {
            status,
            body: body.to_string(),
        }
    }

    /// The error real STS returns for a wrong MFA code.
    pub fn invalid_mfa() -> Reply {
        Reply::error(403, "AccessDenied", INVALID_MFA_MESSAGE)
    }

    /// STS throttling (retryable by the SDK).
    pub fn throttling() -> Reply {
        Reply::error(400, "Throttling", "Rate exceeded")
    }

    /// A 500 InternalFailure (retryable by the SDK).
    pub fn internal_failure() -> Reply {
        Reply::error(
            500,
            "InternalFailure",
            "An internal error occurred. Try again.",
        )
    }

    /// The signing session credentials are expired.
    pub fn expired_token() -> Reply {
        Reply::error(
            403,
            "ExpiredToken",
            "The security token included in the request is expired",
        )
    }

    /// The signing key id is unknown or deactivated.
    pub fn invalid_client_token_id() -> Reply {
        Reply::error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }

    /// The MFA serial does not belong to the signing user.
    pub fn wrong_device() -> Reply {
        Reply::error(
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify \
             your MFA serial number is valid and associated with this user.",
        )
    }

    /// The local clock is off by more than 5 minutes.
    pub fn signature_expired() -> Reply {
        Reply::error(
            403,
            "SignatureDoesNotMatch",
            "Signature expired: 20261128T170000Z is now earlier than 20261128T185500Z \
             (20261128T190000Z - 5 min.)",
        )
    }

    /// The secret access key is wrong.
    pub fn signature_mismatch() -> Reply {
        Reply::error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        )
    }

    pub fn region_disabled() -> Reply {
        Reply::error(
            403,
            "RegionDisabledException",
            "STS is not activated in this region for account:123456789012. Your account \
             administrator can activate STS in this region using the IAM Console.",
        )
    }

    /// AssumeRole with role-chained credentials and DurationSeconds > 3600.
    pub fn chained_duration() -> Reply {
        Reply::error(400, "ValidationError", CHAINED_DURATION_MESSAGE)
    }

    /// AssumeRole with DurationSeconds above the role's maximum.
    pub fn max_session_duration() -> Reply {
        Reply::error(400, "ValidationError", MAX_SESSION_DURATION_MESSAGE)
    }
}

pub const CHAINED_DURATION_MESSAGE: &str =
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";
pub const MAX_SESSION_DURATION_MESSAGE: &str =
    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
pub const SESSION_CREDS_GST_MESSAGE: &str = "Cannot call GetSessionToken with session credentials";

/// One request as the fake saw it (recorded even when a fault was injected).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The `Action` parameter ("" if absent).
    pub action: String,
    /// Form body parameters merged with query-string parameters, decoded.
    pub params: BTreeMap<String, String>,
    /// Access key id from `Credential=` of the SigV4 `authorization` header.
    pub access_key_id: Option<String>,
    /// Region part of the SigV4 credential scope.
    pub region: Option<String>,
    /// `x-amz-security-token` header.
    pub security_token: Option<String>,
    pub method: String,
    /// Request target, e.g. `/`.
    pub path: String,
    /// Headers with lower-cased names (last value wins).
    pub headers: BTreeMap<String, String>,
    /// The raw (decoded from chunked if needed) request body.
    pub body: String,
    /// Id of the TCP connection (1, 2, ...): same id = keep-alive reuse.
    pub connection: u64,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A set of credentials the fake handed out (successful responses only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub action: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// As sent, e.g. `2026-11-28T19:55:29Z`.
    pub expiration: String,
    /// Asked for with session credentials (a chained role session, for
    /// AssumeRole): what the console's federation endpoint cares about.
    pub signed_with_session: bool,
}

struct State {
    requests: Vec<Recorded>,
    issued: Vec<Issued>,
    script: VecDeque<Reply>,
    /// Scripted replies for one action only (FIFO per action).
    action_script: Vec<(String, Reply)>,
    always: Option<Reply>,
    valid_code: Option<String>,
    duration_cap: Option<u64>,
    role_max: Option<u64>,
    skew: chrono::Duration,
    counter: u64,
    connections: u64,
    /// RFC 6238 mode: the virtual device's secret, and what it saw.
    totp: Option<TotpDevice>,
}

/// A virtual MFA device validating real TOTP codes as AWS does: 30 s step,
/// one step either side, and a code it accepted is never accepted again.
#[derive(Clone, Debug, Default)]
struct TotpDevice {
    secret: Vec<u8>,
    /// Step numbers whose code was accepted.
    used_steps: Vec<u64>,
    accepted: Vec<String>,
    rejected: Vec<String>,
}

impl TotpDevice {
    /// Accepts `code` at `unix` (and remembers it), or rejects it.
    fn check(&mut self, code: &str, unix: i64) -> bool {
        let now = super::totp::totp_step(unix);
        let step = [now, now.wrapping_sub(1), now + 1]
            .into_iter()
            .find(|&s| super::totp::hotp(&self.secret, s) == code);
        match step {
            Some(s) if !self.used_steps.contains(&s) => {
                self.used_steps.push(s);
                self.accepted.push(code.to_string());
                true
            }
            _ => {
                self.rejected.push(code.to_string());
                false
            }
        }
    }
}

struct Shared {
    state: Mutex<State>,
    shutdown: AtomicBool,
    port: u16,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

/// The fake STS server. Stops (best effort) when dropped.
pub struct FakeSts {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeSts {
    /// Binds 127.0.0.1:0 and serves on background threads.
    pub fn start() -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").expect("FakeSts: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("FakeSts: local_addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requests: Vec::new(),
                issued: Vec::new(),
                script: VecDeque::new(),
                action_script: Vec::new(),
                always: None,
                valid_code: None,
                duration_cap: None,
                role_max: None,
                skew: chrono::Duration::zero(),
                counter: 0,
                connections: 0,
                totp: None,
            }),
            shutdown: AtomicBool::new(false),
            port: addr.port(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("fake-sts-{}", addr.port()))
                .spawn(move || accept_loop(listener, shared))
                .expect("FakeSts: spawn acceptor")
        };
        FakeSts {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    pub fn last_request(&self) -> Option<Recorded> {
        self.shared.lock().requests.last().cloned()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    pub fn count_action(&self, action: &str) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.action == action)
            .count()
    }

    /// Number of TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.lock().connections
    }

    /// Credentials handed out by successful responses, in order.
    pub fn issued(&self) -> Vec<Issued> {
        self.shared.lock().issued.clone()
    }

    pub fn last_issued(&self) -> Option<Issued> {
        self.shared.lock().issued.last().cloned()
    }

    /// Polls until at least `n` requests were recorded; false on timeout.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// `Some(code)`: a `TokenCode` different from `code` gets AccessDenied.
    pub fn set_valid_code(&self, code: Option<&str>) {
        self.shared.lock().valid_code = code.map(str::to_string);
    }

    /// RFC 6238 mode (`Some(base32 secret)`): a `TokenCode` must be the
    /// device's TOTP code of the current step or one either side, not
    /// accepted before; anything else gets the invalid-code AccessDenied.
    /// Overrides `set_valid_code`.
    pub fn set_totp_secret(&self, base32: Option<&str>) {
        self.shared.lock().totp = base32.map(|b| TotpDevice {
            secret: super::totp::base32_decode(b),
            ..TotpDevice::default()
        });
    }

    /// TOTP mode: the codes accepted, in order.
    pub fn totp_accepted(&self) -> Vec<String> {
        self.shared
            .lock()
            .totp
            .as_ref()
            .map(|t| t.accepted.clone())
            .unwrap_or_default()
    }

    /// TOTP mode: the codes rejected (wrong, or already used), in order.
    pub fn totp_rejected(&self) -> Vec<String> {
        self.shared
            .lock()
            .totp
            .as_ref()
            .map(|t| t.rejected.clone())
            .unwrap_or_default()
    }

    /// TOTP mode: another tool used `code` (it is accepted now, so it is
    /// refused afterwards). Returns whether the device accepted it.
    pub fn totp_use_elsewhere(&self, code: &str) -> bool {
        let mut st = self.shared.lock();
        let now = (chrono::Utc::now() + st.skew).timestamp();
        let t = st.totp.as_mut().expect("set_totp_secret first");
        t.check(code, now)
    }

    /// Caps the GetSessionToken duration (like STS does for root: 3600).
    pub fn set_session_duration_cap(&self, cap: Option<u64>) {
        self.shared.lock().duration_cap = cap;
    }

    /// The role's MaxSessionDuration: AssumeRole above it gets a
    /// ValidationError (real STS default is 3600).
    pub fn set_role_max_session_duration(&self, max: Option<u64>) {
        self.shared.lock().role_max = max;
    }

    /// Shifts the server clock: the `Date` header and the `Expiration` of
    /// issued credentials are computed from `now + skew`.
    pub fn set_clock_skew(&self, skew: chrono::Duration) {
        self.shared.lock().skew = skew;
    }

    /// Queues a scripted reply (FIFO, one request each).
    pub fn push(&self, reply: Reply) {
        self.shared.lock().script.push_back(reply);
    }

    /// Queues a scripted reply for the next request of `action` only.
    pub fn push_for(&self, action: &str, reply: Reply) {
        self.shared
            .lock()
            .action_script
            .push((action.to_string(), reply));
    }

    /// Every request (after the queued ones) gets this reply.
    pub fn fail_always(&self, reply: Reply) {
        self.shared.lock().always = Some(reply);
    }

    /// Drops queued replies and `fail_always`.
    pub fn clear_faults(&self) {
        let mut st = self.shared.lock();
        st.script.clear();
        st.always = None;
    }

    /// A view of [`FakeSts::issued`] that outlives borrows (for a fake that
    /// checks sessions this STS handed out, like the sign-in endpoint).
    pub fn issued_view(&self) -> Arc<dyn Fn() -> Vec<Issued> + Send + Sync> {
        let shared = Arc::clone(&self.shared);
        Arc::new(move || shared.lock().issued.clone())
    }

    /// Number of queued replies not consumed yet.
    pub fn pending_replies(&self) -> usize {
        self.shared.lock().script.len()
    }
}

impl Drop for FakeSts {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
    }
}

/// A port on 127.0.0.1 with nothing listening (bind, take the port, drop).
pub fn free_closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = conn else { continue };
        let id = {
            let mut st = shared.lock();
            st.connections += 1;
            st.connections
        };
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name(format!("fake-sts-conn-{id}"))
            .spawn(move || serve_connection(stream, shared, id));
    }
}

struct Request {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

const MAX_HEAD: usize = 64 * 1024;

fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>, conn_id: u64) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf, &shared) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let close_after = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let recorded = record(&req, conn_id);
        let (reply, server_now, request_id) = {
            let mut st = shared.lock();
            st.requests.push(recorded.clone());
            let for_action = st
                .action_script
                .iter()
                .position(|(a, _)| *a == recorded.action)
                .map(|i| st.action_script.remove(i).1);
            let scripted = for_action
                .or_else(|| st.script.pop_front())
                .or_else(|| st.always.clone());
            let now = chrono::Utc::now() + st.skew;
            st.counter += 1;
            let rid = format!(
                "58c5dbae-abef-11e0-8cfe-{:012x}",
                (u64::from(shared.port) << 24) | st.counter
            );
            let reply = match scripted {
                Some(r) => Outcome::Fault(r),
                None => {
                    Outcome::Respond(default_response(&mut st, &recorded, now, shared.port, &rid))
                }
            };
            (reply, now, rid)
        };
        let date = http_date(server_now);
        let ok = match reply {
            Outcome::Respond((status, body)) => {
                send_response(&mut stream, status, &body, &date, &request_id, close_after)
            }
            Outcome::Fault(Reply::Error {
                status,
                code,
                message,
            }) => {
                let body = error_xml(status, &code, &message, &request_id);
                send_response(&mut stream, status, &body, &date, &request_id, close_after)
            }
            Outcome::Fault(Reply::Raw { status, body }) => {
                send_response(&mut stream, status, &body, &date, &request_id, close_after)
            }
            Outcome::Fault(Reply::Stall(d)) => {
                let deadline = Instant::now() + d;
                while Instant::now() < deadline && !shared.stopping() {
                    thread::sleep(Duration::from_millis(20).min(deadline - Instant::now()));
                }
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Outcome::Fault(Reply::Reset) => {
                set_linger_zero(&stream);
                drop(stream);
                return;
            }
            Outcome::Fault(Reply::CutBody) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nx-amzn-RequestId: {request_id}\r\n\
                     Content-Type: text/xml\r\nContent-Length: 1000\r\nDate: {date}\r\n\r\n"
                );
                let mut body = format!(
                    "<GetSessionTokenResponse xmlns=\"{STS_XMLNS}\">\n  <GetSessionTokenResult>\n    <Credentials>\n      <SessionToken>"
                )
                .into_bytes();
                body.resize(100, b'A');
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        };
        if !ok || close_after {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

enum Outcome {
    Respond((u16, String)),
    Fault(Reply),
}

fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid fd owned by `stream`, pointer/len describe `linger`.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn send_response(
    stream: &mut TcpStream,
    status: u16,
    body: &str,
    date: &str,
    request_id: &str,
    close: bool,
) -> bool {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nx-amzn-RequestId: {request_id}\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nDate: {date}\r\n",
        reason(status),
        body.len()
    );
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out).is_ok() && stream.flush().is_ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Reads more bytes into `buf`. Ok(false) on EOF.
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> io::Result<bool> {
    let mut tmp = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut tmp) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                return Ok(true);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stopping() {
                    return Err(e);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request; Ok(None) on a clean EOF between requests.
fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
) -> io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p;
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::other("request head too large"));
        }
        if !read_more(stream, buf, shared)? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    if headers
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body_start = head_end + 4;
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let (body, consumed) = if chunked {
        loop {
            if let Some((body, used)) = parse_chunked(&buf[body_start..])? {
                break (body, body_start + used);
            }
            if !read_more(stream, buf, shared)? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "eof in chunked body",
                ));
            }
        }
    } else {
        let len: usize = headers
            .get("content-length")
            .map(|v| v.parse().unwrap_or(0))
            .unwrap_or(0);
        while buf.len() < body_start + len {
            if !read_more(stream, buf, shared)? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in body"));
            }
        }
        (buf[body_start..body_start + len].to_vec(), body_start + len)
    };
    buf.drain(..consumed);
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

/// Parses a complete chunked body from `data`; Ok(None) if incomplete.
/// Returns the decoded body and the number of bytes used.
fn parse_chunked(data: &[u8]) -> io::Result<Option<(Vec<u8>, usize)>> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let Some(line_len) = find(&data[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&data[pos..pos + line_len]).into_owned();
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        pos += line_len + 2;
        if size == 0 {
            // Optional trailers, then an empty line.
            if data.len() >= pos + 2 && &data[pos..pos + 2] == b"\r\n" {
                return Ok(Some((body, pos + 2)));
            }
            return Ok(find(&data[pos..], b"\r\n\r\n").map(|p| (body, pos + p + 4)));
        }
        if data.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[pos..pos + size]);
        pos += size + 2;
    }
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space).
pub fn form_decode(s: &str) -> BTreeMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn record(req: &Request, conn_id: u64) -> Recorded {
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let (path, query) = match req.target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (req.target.clone(), String::new()),
    };
    let mut params = form_decode(&query);
    params.extend(form_decode(&body));
    let (access_key_id, region) = match req.header("authorization") {
        Some(auth) => parse_credential_scope(auth),
        None => match params.get("X-Amz-Credential") {
            Some(c) => scope_parts(c),
            None => (None, None),
        },
    };
    Recorded {
        action: params.get("Action").cloned().unwrap_or_default(),
        params,
        access_key_id,
        region,
        security_token: req.header("x-amz-security-token").map(str::to_string),
        method: req.method.clone(),
        path,
        headers: req.headers.clone(),
        body,
        connection: conn_id,
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/sts/aws4_request, ...`
fn parse_credential_scope(auth: &str) -> (Option<String>, Option<String>) {
    let Some(idx) = auth.find("Credential=") else {
        return (None, None);
    };
    let rest = &auth[idx + "Credential=".len()..];
    let end = rest
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    scope_parts(&rest[..end])
}

fn scope_parts(scope: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = scope.split('/').collect();
    let key = parts
        .first()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string());
    let region = parts.get(2).map(|s| s.to_string());
    (key, region)
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// RFC 1123 date, e.g. `Sat, 28 Nov 2026 19:00:00 GMT`.
pub fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// ISO-8601 UTC with second precision, e.g. `2026-11-28T19:55:29Z`.
pub fn iso8601(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn error_xml(status: u16, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{STS_XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message),
    )
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn gen_chars(seed: &mut u64, n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| alphabet[(splitmix(seed) % alphabet.len() as u64) as usize] as char)
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base36_upper(mut n: u64, width: usize) -> String {
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).expect("ascii")
}

/// Generates a new credential set (distinct per call) and records it.
fn issue(
    st: &mut State,
    action: &str,
    port: u16,
    expiration: chrono::DateTime<chrono::Utc>,
) -> Issued {
    st.counter += 1;
    let n = st.issued.len() as u64 + 1;
    let mut seed = (u64::from(port) << 32) ^ st.counter.wrapping_mul(0x2545_F491_4F6C_DD1D);
    let access_key_id = format!("{ISSUED_KEY_PREFIX}{}", base36_upper(n, 12));
    let mut secret = gen_chars(&mut seed, 38, ALNUM);
    secret.insert(7, '/');
    secret.insert(23, '+');
    let mut token = String::from("FwoGZXIvYXdzEFAKE");
    token.push_str(&gen_chars(&mut seed, 20, B64));
    token.push('/');
    token.push_str(&gen_chars(&mut seed, 100, B64));
    token.push('+');
    token.push_str(&gen_chars(&mut seed, 158, B64));
    token.push_str("==");
    let issued = Issued {
        action: action.to_string(),
        access_key_id,
        secret_access_key: secret,
        session_token: token,
        expiration: iso8601(expiration),
        signed_with_session: false,
    };
    st.issued.push(issued.clone());
    issued
}

fn credentials_xml(c: &Issued) -> String {
    format!(
        "    <Credentials>\n      <SessionToken>{}</SessionToken>\n      \
         <SecretAccessKey>{}</SecretAccessKey>\n      <Expiration>{}</Expiration>\n      \
         <AccessKeyId>{}</AccessKeyId>\n    </Credentials>\n",
        xml_escape(&c.session_token),
        xml_escape(&c.secret_access_key),
        c.expiration,
        c.access_key_id
    )
}

/// An STS error the default behaviour produces.
struct StsError {
    status: u16,
    code: &'static str,
    message: String,
}

fn sts_error(status: u16, code: &'static str, message: impl Into<String>) -> StsError {
    StsError {
        status,
        code,
        message: message.into(),
    }
}

fn validation_error(msg: String) -> StsError {
    sts_error(400, "ValidationError", msg)
}

/// Parses and range-checks `DurationSeconds` like real STS.
fn duration_param(rec: &Recorded, default: u64, max: u64) -> Result<u64, StsError> {
    let Some(raw) = rec.param("DurationSeconds") else {
        return Ok(default);
    };
    let Ok(v) = raw.parse::<u64>() else {
        return Err(validation_error(format!(
            "Value '{raw}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"
        )));
    };
    if v < 900 {
        return Err(validation_error(format!(
            "1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy \
             constraint: Member must have value greater than or equal to 900"
        )));
    }
    if v > max {
        return Err(validation_error(format!(
            "1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy \
             constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(v)
}

/// The default behaviour: Ok(success XML with `@@RID@@` placeholders).
fn default_response_inner(
    st: &mut State,
    rec: &Recorded,
    now: chrono::DateTime<chrono::Utc>,
    port: u16,
) -> Result<String, StsError> {
    if rec.access_key_id.is_none() {
        return Err(sts_error(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    }
    // Requests signed with credentials this fake issued: the token must
    // match and the session must not have expired (by the server clock).
    let ours = rec
        .access_key_id
        .as_deref()
        .and_then(|k| st.issued.iter().find(|i| i.access_key_id == k))
        .cloned();
    if let Some(i) = &ours {
        if rec.security_token.as_deref() != Some(i.session_token.as_str()) {
            return Err(sts_error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ));
        }
        let exp = chrono::NaiveDateTime::parse_from_str(&i.expiration, "%Y-%m-%dT%H:%M:%SZ")
            .map(|t| t.and_utc());
        if exp.is_ok_and(|e| e <= now) {
            return Err(sts_error(
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            ));
        }
    }
    let code_ok = |st: &mut State, required: bool| -> bool {
        if let Some(t) = st.totp.as_mut() {
            return match rec.param("TokenCode") {
                None => !required,
                Some(given) => t.check(given, now.timestamp()),
            };
        }
        match (&st.valid_code, rec.param("TokenCode")) {
            (None, _) => true,
            (Some(_), None) => !required,
            (Some(valid), Some(given)) => valid == given,
        }
    };
    match rec.action.as_str() {
        "GetSessionToken" => {
            let mut secs = duration_param(rec, 43_200, 129_600)?;
            if rec.security_token.is_some() {
                return Err(sts_error(403, "AccessDenied", SESSION_CREDS_GST_MESSAGE));
            }
            if !code_ok(st, true) {
                return Err(sts_error(403, "AccessDenied", INVALID_MFA_MESSAGE));
            }
            if let Some(cap) = st.duration_cap {
                secs = secs.min(cap);
            }
            let exp = now + chrono::Duration::seconds(secs as i64);
            let c = issue(st, "GetSessionToken", port, exp);
            Ok(format!(
                    "<GetSessionTokenResponse xmlns=\"{STS_XMLNS}\">\n  <GetSessionTokenResult>\n{}  \
                     </GetSessionTokenResult>\n  <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                     </GetSessionTokenResponse>\n",
                    credentials_xml(&c)
                ))
        }
        "AssumeRole" => {
            let (Some(role_arn), Some(session)) =
                (rec.param("RoleArn"), rec.param("RoleSessionName"))
            else {
                let missing = if rec.param("RoleArn").is_none() {
                    "roleArn"
                } else {
                    "roleSessionName"
                };
                return Err(validation_error(format!(
                    "1 validation error detected: Value null at '{missing}' failed to satisfy \
                     constraint: Member must not be null"
                )));
            };
            let secs = duration_param(rec, 3_600, 43_200)?;
            let chained = ours.as_ref().is_some_and(|i| i.action == "AssumeRole");
            if chained && secs > 3600 {
                return Err(validation_error(CHAINED_DURATION_MESSAGE.to_string()));
            }
            if st.role_max.is_some_and(|max| secs > max) {
                return Err(validation_error(MAX_SESSION_DURATION_MESSAGE.to_string()));
            }
            if !code_ok(st, false) {
                return Err(sts_error(403, "AccessDenied", INVALID_MFA_MESSAGE));
            }
            let arn_parts: Vec<&str> = role_arn.split(':').collect();
            let account = arn_parts.get(4).copied().unwrap_or(FAKE_ACCOUNT);
            let role_name = arn_parts
                .get(5)
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or("role");
            let exp = now + chrono::Duration::seconds(secs as i64);
            let mut c = issue(st, "AssumeRole", port, exp);
            c.signed_with_session = rec.security_token.is_some();
            if let Some(last) = st.issued.last_mut() {
                last.signed_with_session = c.signed_with_session;
            }
            Ok(format!(
                    "<AssumeRoleResponse xmlns=\"{STS_XMLNS}\">\n  <AssumeRoleResult>\n{}    \
                     <AssumedRoleUser>\n      <AssumedRoleId>AROAFAKE:{sess}</AssumedRoleId>\n      \
                     <Arn>arn:aws:sts::{acct}:assumed-role/{role}/{sess}</Arn>\n    </AssumedRoleUser>\n  \
                     </AssumeRoleResult>\n  <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                     </AssumeRoleResponse>\n",
                    credentials_xml(&c),
                    sess = xml_escape(session),
                    acct = xml_escape(account),
                    role = xml_escape(role_name),
                ))
        }
        "GetFederationToken" => {
            if rec.security_token.is_some() {
                return Err(sts_error(
                    403,
                    "AccessDenied",
                    "Cannot call GetFederationToken with session credentials",
                ));
            }
            let Some(name) = rec.param("Name") else {
                return Err(validation_error(
                    "1 validation error detected: Value null at 'name' failed to satisfy \
                     constraint: Member must not be null"
                        .to_string(),
                ));
            };
            let name_ok = (2..=32).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            if !name_ok {
                return Err(validation_error(format!(
                    "1 validation error detected: Value '{name}' at 'name' failed to satisfy \
                     constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
                )));
            }
            let secs = duration_param(rec, 43_200, 129_600)?;
            let exp = now + chrono::Duration::seconds(secs as i64);
            let c = issue(st, "GetFederationToken", port, exp);
            Ok(format!(
                "<GetFederationTokenResponse xmlns=\"{STS_XMLNS}\">\n  <GetFederationTokenResult>\n{}    \
                 <FederatedUser>\n      <Arn>arn:aws:sts::{FAKE_ACCOUNT}:federated-user/{n}</Arn>\n      \
                 <FederatedUserId>{FAKE_ACCOUNT}:{n}</FederatedUserId>\n    </FederatedUser>\n    \
                 <PackedPolicySize>6</PackedPolicySize>\n  </GetFederationTokenResult>\n  \
                 <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                 </GetFederationTokenResponse>\n",
                credentials_xml(&c),
                n = xml_escape(name),
            ))
        }
        "GetCallerIdentity" => {
            let key = rec.access_key_id.clone().unwrap_or_default();
            Ok(format!(
                    "<GetCallerIdentityResponse xmlns=\"{STS_XMLNS}\">\n  <GetCallerIdentityResult>\n    \
                     <Arn>arn:aws:iam::{FAKE_ACCOUNT}:user/test</Arn>\n    <UserId>{}</UserId>\n    \
                     <Account>{FAKE_ACCOUNT}</Account>\n  </GetCallerIdentityResult>\n  \
                     <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                     </GetCallerIdentityResponse>\n",
                    xml_escape(&key)
                ))
        }
        other => Err(sts_error(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn default_response(
    st: &mut State,
    rec: &Recorded,
    now: chrono::DateTime<chrono::Utc>,
    port: u16,
    rid: &str,
) -> (u16, String) {
    match default_response_inner(st, rec, now, port) {
        Ok(body) => (200, body.replace("@@RID@@", rid)),
        Err(e) => (e.status, error_xml(e.status, e.code, &e.message, rid)),
    }
}

// ---------------------------------------------------------------------------
// Self-tests: a raw std HTTP/1.1 client against the fake.

#[cfg(test)]
const SELFTEST_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/ap-northeast-2/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0123abcd";

/// One HTTP response as a raw client saw it.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-cased header names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Sends one `POST /` with a form body on `stream` (keep-alive) and reads the
/// response (by Content-Length). `extra_headers` are full `Name: value\r\n`
/// lines.
pub fn raw_post(
    stream: &mut TcpStream,
    body: &str,
    extra_headers: &str,
) -> io::Result<RawResponse> {
    let req = format!(
        "POST / HTTP/1.1\r\nHost: sts\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes())?;
    read_raw_response(stream)
}

pub fn read_raw_response(stream: &mut TcpStream) -> io::Result<RawResponse> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut tmp)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in head"));
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let start = head_end + 4;
    while buf.len() < start + len {
        let n = stream.read(&mut tmp)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("eof in body after {} bytes", buf.len() - start),
            ));
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    Ok(RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&buf[start..start + len]).into_owned(),
    })
}

#[cfg(test)]
fn xml_field<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let s = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let e = xml[s..].find(&close).unwrap() + s;
    &xml[s..e]
}

#[cfg(test)]
fn connect(sts: &FakeSts) -> TcpStream {
    let s = TcpStream::connect(sts.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[cfg(test)]
const GST_BODY: &str = "Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Ftest&TokenCode=012345&DurationSeconds=43200";

#[test]
fn support_fake_sts_get_session_token_keep_alive_and_recording() {
    let sts = FakeSts::start();
    assert!(sts.url().starts_with("http://127.0.0.1:"));
    let mut c = connect(&sts);
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    let before = chrono::Utc::now();
    let r1 = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_eq!(r1.headers["content-type"], "text/xml");
    assert!(r1.headers.contains_key("x-amzn-requestid"));
    assert!(r1.body.contains(&format!(
        "<RequestId>{}</RequestId>",
        r1.headers["x-amzn-requestid"]
    )));
    let date =
        chrono::NaiveDateTime::parse_from_str(&r1.headers["date"], "%a, %d %b %Y %H:%M:%S GMT")
            .unwrap()
            .and_utc();
    assert!((date - before).num_seconds().abs() <= 5, "{date}");
    assert!(r1
        .body
        .starts_with(&format!("<GetSessionTokenResponse xmlns=\"{STS_XMLNS}\">")));
    let key1 = xml_field(&r1.body, "AccessKeyId").to_string();
    let secret = xml_field(&r1.body, "SecretAccessKey");
    let token = xml_field(&r1.body, "SessionToken");
    let exp = xml_field(&r1.body, "Expiration");
    assert!(key1.starts_with("ASIAFAKE") && key1.len() == 20, "{key1}");
    assert!(key1[8..]
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(secret.len(), 40);
    assert!(secret.contains('/') && secret.contains('+'));
    assert!(
        token.len() >= 250 && token.contains('/') && token.contains('+') && token.ends_with('=')
    );
    let exp = chrono::NaiveDateTime::parse_from_str(exp, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap()
        .and_utc();
    assert!(((exp - before).num_seconds() - 43_200).abs() <= 5, "{exp}");

    // Same connection, signed with session credentials this time.
    let auth2 = format!(
        "authorization: AWS4-HMAC-SHA256 Credential={key1}/20261128/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ff\r\nX-Amz-Security-Token: {token}\r\n"
    );
    let r2 = raw_post(
        &mut c,
        "Action=GetCallerIdentity&Version=2011-06-15",
        &auth2,
    )
    .unwrap();
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert!(r2.body.contains("<Account>123456789012</Account>"));
    let r3 = raw_post(&mut c, GST_BODY, &auth).unwrap();
    let key3 = xml_field(&r3.body, "AccessKeyId");
    assert_ne!(key1, key3, "access key ids must be distinct per call");

    let reqs = sts.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(sts.count(), 3);
    assert_eq!(sts.count_action("GetSessionToken"), 2);
    assert_eq!(sts.connections(), 1);
    assert!(reqs.iter().all(|r| r.connection == reqs[0].connection));
    let r = &reqs[0];
    assert_eq!(r.action, "GetSessionToken");
    assert_eq!(
        r.param("SerialNumber"),
        Some("arn:aws:iam::123456789012:mfa/test")
    );
    assert_eq!(r.param("TokenCode"), Some("012345"));
    assert_eq!(r.param("DurationSeconds"), Some("43200"));
    assert_eq!(r.access_key_id.as_deref(), Some("AKIAIOSFODNN7EXAMPLE"));
    assert_eq!(r.region.as_deref(), Some("ap-northeast-2"));
    assert_eq!(r.security_token, None);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(reqs[1].access_key_id.as_deref(), Some(key1.as_str()));
    assert_eq!(reqs[1].region.as_deref(), Some("us-east-1"));
    assert_eq!(reqs[1].security_token.as_deref(), Some(token));
    let issued = sts.issued();
    assert_eq!(issued.len(), 2);
    assert_eq!(issued[0].access_key_id, key1);
    assert_eq!(issued[0].session_token, token);
}

#[test]
fn support_fake_sts_mfa_code_cap_assume_role_and_errors() {
    let sts = FakeSts::start();
    let mut c = connect(&sts);
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    sts.set_valid_code(Some("123456"));
    let bad = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(bad.status, 403);
    assert!(bad.body.contains("<Type>Sender</Type>"));
    assert!(bad.body.contains("<Code>AccessDenied</Code>"));
    assert!(bad
        .body
        .contains(&format!("<Message>{INVALID_MFA_MESSAGE}</Message>")));
    assert!(sts.issued().is_empty());

    sts.set_session_duration_cap(Some(3600));
    let t0 = chrono::Utc::now();
    let good = raw_post(&mut c, &GST_BODY.replace("012345", "123456"), &auth).unwrap();
    assert_eq!(good.status, 200, "{}", good.body);
    let exp = chrono::NaiveDateTime::parse_from_str(
        xml_field(&good.body, "Expiration"),
        "%Y-%m-%dT%H:%M:%SZ",
    )
    .unwrap()
    .and_utc();
    assert!(((exp - t0).num_seconds() - 3600).abs() <= 5);

    // AssumeRole: no TokenCode is fine; a wrong one is not.
    let ar = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fops%2Fadmin&RoleSessionName=mfa+exec";
    let r = raw_post(&mut c, ar, &auth).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with("<AssumeRoleResponse"));
    assert!(r
        .body
        .contains("<AssumedRoleId>AROAFAKE:mfa exec</AssumedRoleId>"));
    assert!(r
        .body
        .contains("<Arn>arn:aws:sts::210987654321:assumed-role/admin/mfa exec</Arn>"));
    let exp = chrono::NaiveDateTime::parse_from_str(
        xml_field(&r.body, "Expiration"),
        "%Y-%m-%dT%H:%M:%SZ",
    )
    .unwrap()
    .and_utc();
    assert!(((exp - t0).num_seconds() - 3600).abs() <= 5);
    let r = raw_post(
        &mut c,
        &format!("{ar}&SerialNumber=x&TokenCode=000000"),
        &auth,
    )
    .unwrap();
    assert_eq!(r.status, 403);

    let r = raw_post(
        &mut c,
        "Action=DecodeAuthorizationMessage&Version=2011-06-15",
        &auth,
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.body.contains("<Code>InvalidAction</Code>"));
    let r = raw_post(&mut c, "Action=GetSessionToken&DurationSeconds=60", &auth).unwrap();
    assert!(
        r.body.contains("<Code>ValidationError</Code>"),
        "{}",
        r.body
    );
    let r = raw_post(&mut c, "Action=GetCallerIdentity", "").unwrap();
    assert_eq!(r.status, 403);
    assert!(r.body.contains("MissingAuthenticationToken"));
    assert_eq!(sts.count(), 7);
}

#[test]
fn support_fake_sts_scripted_faults() {
    let sts = FakeSts::start();
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    sts.push(Reply::error(500, "InternalFailure", "boom"));
    sts.push(Reply::raw(200, "<GetSessionTokenResponse><oops"));
    sts.push(Reply::CutBody);
    sts.push(Reply::Reset);
    sts.push(Reply::Stall(Duration::from_millis(400)));
    assert_eq!(sts.pending_replies(), 5);

    let mut c = connect(&sts);
    let r = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(r.status, 500);
    assert!(r.body.contains("<Type>Receiver</Type>") && r.body.contains("<Message>boom</Message>"));
    let r = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "<GetSessionTokenResponse><oops")
    );
    let err = raw_post(&mut c, GST_BODY, &auth).unwrap_err();
    assert!(
        err.to_string().contains("eof in body after 100 bytes"),
        "{err}"
    );

    let mut c = connect(&sts);
    let err = raw_post(&mut c, GST_BODY, &auth).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");

    let mut c = connect(&sts);
    let t = Instant::now();
    let err = raw_post(&mut c, GST_BODY, &auth).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );

    // Script consumed: back to the default behaviour.
    let mut c = connect(&sts);
    assert_eq!(raw_post(&mut c, GST_BODY, &auth).unwrap().status, 200);

    sts.fail_always(Reply::throttling());
    for _ in 0..3 {
        let r = raw_post(&mut c, GST_BODY, &auth).unwrap();
        assert_eq!(r.status, 400);
        assert!(r.body.contains("<Code>Throttling</Code>"));
    }
    sts.clear_faults();
    assert_eq!(raw_post(&mut c, GST_BODY, &auth).unwrap().status, 200);
    // Faulted requests are recorded too: 5 scripted + 1 + 3 + 1.
    assert_eq!(sts.count_action("GetSessionToken"), 10);
    assert_eq!(sts.issued().len(), 2);
}

#[test]
fn support_fake_sts_chunked_body_clock_skew_and_closed_port() {
    let sts = FakeSts::start();
    sts.set_clock_skew(chrono::Duration::hours(-2));
    let mut c = connect(&sts);
    let body = GST_BODY.as_bytes();
    let (a, b) = body.split_at(30);
    let mut req = format!(
        "POST /?Version=2011-06-15 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nauthorization: {SELFTEST_AUTH}\r\n\r\n"
    )
    .into_bytes();
    for part in [a, b] {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    // Send in two pieces to exercise incremental parsing.
    c.write_all(&req[..50]).unwrap();
    thread::sleep(Duration::from_millis(50));
    c.write_all(&req[50..]).unwrap();
    let r = read_raw_response(&mut c).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = sts.last_request().unwrap();
    assert_eq!(rec.param("TokenCode"), Some("012345"));
    assert_eq!(rec.param("Version"), Some("2011-06-15"));
    assert_eq!(rec.path, "/");
    let date =
        chrono::NaiveDateTime::parse_from_str(&r.headers["date"], "%a, %d %b %Y %H:%M:%S GMT")
            .unwrap()
            .and_utc();
    let skew = (date - chrono::Utc::now()).num_seconds();
    assert!((skew + 7200).abs() <= 5, "skew {skew}");

    let port = free_closed_port();
    let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);

    assert_eq!(
        form_decode("a=x+y%2Fz&b=%E2%9C%93&c"),
        BTreeMap::from([
            ("a".to_string(), "x y/z".to_string()),
            ("b".to_string(), "\u{2713}".to_string()),
            ("c".to_string(), String::new()),
        ])
    );
    assert_eq!(percent_decode("100%"), "100%");
}

#[test]
fn support_fake_sts_session_credential_rules() {
    let sts = FakeSts::start();
    let mut c = connect(&sts);
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    let signed_by = |i: &Issued, token: &str| {
        format!(
            "Authorization: AWS4-HMAC-SHA256 Credential={}/20261128/us-east-1/sts/aws4_request, \
             SignedHeaders=host, Signature=ff\r\nx-amz-security-token: {token}\r\n",
            i.access_key_id
        )
    };
    assert_eq!(raw_post(&mut c, GST_BODY, &auth).unwrap().status, 200);
    let gst = sts.last_issued().unwrap();
    // GetSessionToken with session credentials is refused.
    let r = raw_post(&mut c, GST_BODY, &signed_by(&gst, &gst.session_token)).unwrap();
    assert_eq!(r.status, 403);
    assert!(r.body.contains(SESSION_CREDS_GST_MESSAGE), "{}", r.body);
    // Wrong token for an issued key.
    let r = raw_post(
        &mut c,
        "Action=GetCallerIdentity",
        &signed_by(&gst, "bogus"),
    )
    .unwrap();
    assert!(
        r.body.contains("<Code>InvalidClientTokenId</Code>"),
        "{}",
        r.body
    );
    // Role chaining: > 3600 s refused, 3600 s fine.
    let ar =
        "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fa&RoleSessionName=s";
    let r = raw_post(&mut c, ar, &signed_by(&gst, &gst.session_token)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let role = sts.last_issued().unwrap();
    let r = raw_post(
        &mut c,
        &format!("{ar}&DurationSeconds=7200"),
        &signed_by(&role, &role.session_token),
    )
    .unwrap();
    assert!(r.body.contains(CHAINED_DURATION_MESSAGE), "{}", r.body);
    sts.set_role_max_session_duration(Some(3600));
    let r = raw_post(&mut c, &format!("{ar}&DurationSeconds=7200"), &auth).unwrap();
    assert!(r.body.contains(MAX_SESSION_DURATION_MESSAGE), "{}", r.body);
    // Sessions expire by the server clock.
    sts.set_clock_skew(chrono::Duration::hours(13));
    let r = raw_post(
        &mut c,
        "Action=GetCallerIdentity",
        &signed_by(&gst, &gst.session_token),
    )
    .unwrap();
    assert!(r.body.contains("<Code>ExpiredToken</Code>"), "{}", r.body);
    assert_eq!(Reply::wrong_device(), Reply::error(403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."));
}
