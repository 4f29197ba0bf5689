//! A fake AWS STS endpoint speaking the Query protocol on 127.0.0.1: the STS
//! model, served by the small HTTP/1.1 server of [`super::http`] (which is
//! what makes socket-level faults possible: stalls, resets, truncated bodies).
//!
//! Owns what STS is to the tests: the public API ([`FakeSts`], [`Reply`],
//! [`Recorded`], [`Issued`]), the recording of every request, the counters,
//! the scripted replies and faults, the MFA code rules (a fixed code, or a
//! virtual TOTP device). What each action answers by default (credentials,
//! XML, the validation rules of real STS) is in `actions.rs`; the self-tests
//! are in `tests.rs`. It binds the listener and hands it to the server;
//! it never reads or writes a socket itself.
//!
//! Point the binary at it with `AWS_ENDPOINT_URL_STS=<FakeSts::url()>`
//! (see `TestEnv::with_sts`).

use super::http::{Answer, Request, Response, Server};
use std::collections::{BTreeMap, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

mod actions;
#[cfg(test)]
mod tests;

/// The HTTP helpers the other fakes and tests reach through this module.
pub use super::http::{
    form_decode, free_closed_port, http_date, percent_decode, raw_post, read_raw_response,
    RawResponse,
};
pub use actions::iso8601;
use actions::{default_response, error_xml};

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
    role_duration_cap: Option<u64>,
    role_max: Option<u64>,
    skew: chrono::Duration,
    counter: u64,
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
    port: u16,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The fake STS server. Stops (best effort) when dropped.
pub struct FakeSts {
    server: Server,
    shared: Arc<Shared>,
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
                role_duration_cap: None,
                role_max: None,
                skew: chrono::Duration::zero(),
                counter: 0,
                totp: None,
            }),
            port: addr.port(),
        });
        let server = {
            let shared = Arc::clone(&shared);
            Server::serve(listener, "fake-sts", move |req, conn| {
                answer(&shared, req, conn)
            })
        };
        FakeSts { server, shared }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
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
        self.server.connections()
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

    /// Issues AssumeRole sessions of at most `cap` seconds, whatever was
    /// asked (shorter than real STS allows: so that an SDK's 5-minute refresh
    /// window comes within a test).
    pub fn set_role_duration_cap(&self, cap: Option<u64>) {
        self.shared.lock().role_duration_cap = cap;
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

/// Answers one request: records it, then the first scripted reply that
/// applies (for its action, queued, `fail_always`), else the default
/// behaviour of `actions.rs`.
fn answer(shared: &Shared, req: &Request, conn_id: u64) -> Answer {
    let recorded = record(req, conn_id);
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
            None => Outcome::Respond(default_response(&mut st, &recorded, now, shared.port, &rid)),
        };
        (reply, now, rid)
    };
    let date = http_date(server_now);
    match reply {
        Outcome::Respond((status, body)) => {
            Answer::Respond(sts_response(status, body, &date, &request_id))
        }
        Outcome::Fault(Reply::Error {
            status,
            code,
            message,
        }) => {
            let body = error_xml(status, &code, &message, &request_id);
            Answer::Respond(sts_response(status, body, &date, &request_id))
        }
        Outcome::Fault(Reply::Raw { status, body }) => {
            Answer::Respond(sts_response(status, body, &date, &request_id))
        }
        Outcome::Fault(Reply::Stall(d)) => Answer::Stall(d),
        Outcome::Fault(Reply::Reset) => Answer::Reset,
        Outcome::Fault(Reply::CutBody) => {
            let mut body = format!(
                "<GetSessionTokenResponse xmlns=\"{STS_XMLNS}\">\n  <GetSessionTokenResult>\n    <Credentials>\n      <SessionToken>"
            )
            .into_bytes();
            body.resize(100, b'A');
            Answer::Truncated {
                response: sts_response(200, body, &date, &request_id),
                claimed: 1000,
            }
        }
    }
}

enum Outcome {
    Respond((u16, String)),
    Fault(Reply),
}

/// The head real STS sends with every answer.
fn sts_response(status: u16, body: impl Into<Vec<u8>>, date: &str, request_id: &str) -> Response {
    Response {
        status,
        headers: vec![
            ("x-amzn-RequestId".to_string(), request_id.to_string()),
            ("Content-Type".to_string(), "text/xml".to_string()),
            ("Date".to_string(), date.to_string()),
        ],
        body: body.into(),
    }
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
