//! The local credentials endpoint of `--server` (SPEC §9.2): a small HTTP/1.1
//! server on `127.0.0.1`, a random port, speaking the container-credentials
//! protocol the AWS SDKs read through `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
//!
//! The contract:
//! - It listens on `127.0.0.1` only (never `0.0.0.0`, never `::`), on a port the
//!   kernel picks, until [`Endpoint::stop`] (the child exited): the listener is
//!   closed then, before mfa-exec exits.
//! - `GET` [`PATH`] with `Authorization` equal to the token, byte for byte (no
//!   scheme, as every SDK sends it; compared in constant time), answers 200 with
//!   `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (RFC 3339 UTC)
//!   of the session held in memory. A missing, wrong or differently-cased token
//!   answers 403 with an empty body, whatever the path; the right token on
//!   another path or with another method answers 404 with an empty body.
//!   Nothing in an answer says why.
//! - Every answer comes from memory at once: the renewal swaps the session in
//!   ([`Endpoint::serve`]) and never holds the lock across STS or a prompt, so
//!   no request waits on either (botocore gives up after 2 s, the JS SDK 1 s).
//! - One thread per connection, at most [`MAX_CONNECTIONS`] at a time; a
//!   request head is read for at most [`READ_BUDGET`] in all and
//!   [`MAX_HEAD`] bytes, so a slow, silent or endless client holds only its
//!   own thread, briefly, and never delays another. Every answer closes the
//!   connection (`Connection: close`): no keep-alive state to bound.
//! - The token and the secrets are never logged or printed.
//!
//! Never calls STS, never reads or writes a file.

use crate::secret::Secret;
use crate::session::Session;
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The one path that answers.
pub const PATH: &str = "/credentials";
/// The whole time a client has to send its request head.
pub const READ_BUDGET: Duration = Duration::from_secs(2);
/// The largest request head read (the SDKs send a few hundred bytes).
pub const MAX_HEAD: usize = 8 * 1024;
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Bound on writing an answer to a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the connection threads share.
struct Shared {
    session: RwLock<Session>,
    token: Secret,
    stop: AtomicBool,
    active: AtomicUsize,
}

/// A running endpoint.
pub struct Endpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

/// A fresh random token: 32 bytes (256 bits) from the OS, hex.
pub fn new_token() -> Result<Secret> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random token: {e}"))?;
    let mut hex = String::with_capacity(64);
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    Ok(Secret::new(hex))
}

/// Equal bytes, in a time that depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Endpoint {
    /// Binds `127.0.0.1:0` and starts serving `session`.
    pub fn start(session: Session) -> Result<Endpoint> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("cannot listen on 127.0.0.1 for the credentials endpoint")?;
        let addr = listener
            .local_addr()
            .context("cannot read the endpoint's address")?;
        let shared = Arc::new(Shared {
            session: RwLock::new(session),
            token: new_token()?,
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("endpoint".into())
            .spawn(move || accept_loop(listener, s))
            .context("cannot start the credentials endpoint")?;
        Ok(Endpoint {
            addr,
            shared,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// `http://127.0.0.1:PORT/credentials`.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn token(&self) -> &Secret {
        &self.shared.token
    }

    /// The session answered from now on.
    pub fn serve(&self, s: Session) {
        *self
            .shared
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner()) = s;
    }

    /// The session answered now.
    pub fn served(&self) -> Session {
        self.shared
            .session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True once [`Self::stop`] was called (the command ended).
    pub fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Closes the listener (idempotent): no new connection is accepted after
    /// this returns.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let handle = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            // Wake the blocking accept; it sees the flag and drops the listener.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = h.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // EMFILE and friends: back off a little rather than spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if shared.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            drop(stream);
            continue;
        }
        let s = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("endpoint-conn".into())
            .spawn(move || {
                handle(stream, &s);
                s.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Reads the request head: `None` when the client closed, stalled past the
/// budget, or sent more than [`MAX_HEAD`] without ending it.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let deadline = Instant::now() + READ_BUDGET;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            buf.truncate(end);
            return Some(buf);
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The status and body for a request head.
fn answer(head: &[u8], shared: &Shared) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let mut auth: Option<&str> = None;
    let mut auth_count = 0;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                auth_count += 1;
                auth = Some(value.trim_matches(|c| c == ' ' || c == '\t'));
            }
        }
    }
    let authorized = auth_count == 1
        && auth.is_some_and(|a| same(a.as_bytes(), shared.token.expose().as_bytes()));
    if !authorized {
        return (403, Vec::new());
    }
    if method != "GET" || target != PATH {
        return (404, Vec::new());
    }
    let s = shared
        .session
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let body = serde_json::json!({
        "AccessKeyId": s.access_key_id,
        "SecretAccessKey": s.secret.expose(),
        "Token": s.token.expose(),
        "Expiration": s.expires_rfc3339(),
    });
    (200, body.to_string().into_bytes())
}

fn handle(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let (status, body) = answer(&head, shared);
    let reason = match status {
        200 => "OK",
        403 => "Forbidden",
        _ => "Not Found",
    };
    let content_type = if status == 200 {
        "Content-Type: application/json\r\nCache-Control: no-store\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.write_all(&out);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn shared() -> Shared {
        Shared {
            session: RwLock::new(Session {
                access_key_id: "ASIAX".into(),
                secret: Secret::new("s\"ecret"),
                token: Secret::new("tok"),
                expires: chrono::Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap(),
            }),
            token: Secret::new("Abc123"),
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
        }
    }

    #[test]
    fn answers() {
        let s = shared();
        let (st, body) = answer(b"GET /credentials HTTP/1.1\r\nAuthorization: Abc123", &s);
        assert_eq!(st, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["AccessKeyId"], "ASIAX");
        assert_eq!(v["SecretAccessKey"], "s\"ecret");
        assert_eq!(v["Expiration"], "2026-12-03T07:00:00Z");
        for head in [
            &b"GET /credentials HTTP/1.1\r\nAuthorization: abc123"[..],
            b"GET /credentials HTTP/1.1\r\nAuthorization: Abc1234",
            b"GET /credentials HTTP/1.1\r\nAuthorization: Bearer Abc123",
            b"GET /credentials HTTP/1.1\r\nHost: x",
            b"GET /credentials HTTP/1.1\r\nAuthorization: Abc123\r\nAuthorization: x",
            b"GET /other HTTP/1.1",
        ] {
            assert_eq!(answer(head, &s), (403, Vec::new()), "{head:?}");
        }
        let (st, body) = answer(b"GET /other HTTP/1.1\r\nauthorization:Abc123", &s);
        assert_eq!((st, body.len()), (404, 0));
        let (st, _) = answer(b"POST /credentials HTTP/1.1\r\nAuthorization: Abc123", &s);
        assert_eq!(st, 404);
    }

    #[test]
    fn tokens_are_random_and_long() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
