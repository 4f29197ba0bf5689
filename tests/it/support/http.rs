//! A small HTTP/1.1 server on `std::net` for the fakes of the tests, and a
//! raw client for their self-tests.
//!
//! Owns the socket side: the listener and one thread per connection,
//! keep-alive, request parsing (`Content-Length` and chunked bodies,
//! `Expect: 100-continue`), response writing, and the faults that only exist
//! at the socket level ([`Answer::Stall`], [`Answer::Reset`],
//! [`Answer::Truncated`]). It never decides what to answer: the handler given
//! to [`Server::serve`] does (the STS model in `fake_sts/`).
//!
//! Recorded decision: hand-written on `std::net`, not a crate. The faults
//! need raw control of the socket per request: a reset is `SO_LINGER` 0 then
//! close on that one connection, a cut body is a head that promises more than
//! is sent. `hyper` (already in the tree with tokio, so no second async
//! stack) hides the connection behind its service API: no socket option per
//! request, no head written by hand. `tiny_http` (a new dependency, threads
//! of its own) gives a raw writer but no socket options either. `httparse`
//! could parse the head, but the framing around it (chunked bodies,
//! keep-alive, the faults) would stay hand-written: some twenty lines saved
//! for a new direct dependency.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What to do with one request: answer it, or a socket-level fault.
pub enum Answer {
    /// Send this response (keep-alive unless the client asked to close).
    Respond(Response),
    /// Send nothing for that long (or until the server stops), then close.
    Stall(Duration),
    /// Close with `SO_LINGER` 0 (the peer sees RST).
    Reset,
    /// Send the head of `response` with `Content-Length: claimed`, then its
    /// (shorter) body, then close.
    Truncated { response: Response, claimed: usize },
}

/// A response: `Content-Length` (and `Connection: close`) are added.
pub struct Response {
    pub status: u16,
    /// Sent in this order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type Handler = Arc<dyn Fn(&Request, u64) -> Answer + Send + Sync>;

struct Shared {
    shutdown: AtomicBool,
    connections: AtomicU64,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

/// A server on background threads. Stops (best effort) when dropped.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `listener`: each request goes to `handler` with the id of its
    /// TCP connection (1, 2, ...: same id = keep-alive reuse). Threads are
    /// named `{name}-{port}` and `{name}-conn-{id}`.
    pub fn serve(
        listener: TcpListener,
        name: &str,
        handler: impl Fn(&Request, u64) -> Answer + Send + Sync + 'static,
    ) -> Server {
        let addr = listener.local_addr().expect("http: local_addr");
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            connections: AtomicU64::new(0),
        });
        let handler: Handler = Arc::new(handler);
        let acceptor = {
            let shared = Arc::clone(&shared);
            let name = name.to_string();
            thread::Builder::new()
                .name(format!("{name}-{}", addr.port()))
                .spawn(move || accept_loop(listener, shared, handler, &name))
                .expect("http: spawn acceptor")
        };
        Server {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Number of TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
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

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, handler: Handler, name: &str) {
    for conn in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = conn else { continue };
        let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let shared = Arc::clone(&shared);
        let handler = Arc::clone(&handler);
        let _ = thread::Builder::new()
            .name(format!("{name}-conn-{id}"))
            .spawn(move || serve_connection(stream, &shared, &*handler, id));
    }
}

/// One request as parsed (the body decoded from chunked if needed).
pub struct Request {
    pub method: String,
    /// Request target, e.g. `/?Version=2011-06-15`.
    pub target: String,
    /// Lower-cased names (last value wins).
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    /// Header by lower-cased name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

const MAX_HEAD: usize = 64 * 1024;

fn serve_connection(
    mut stream: TcpStream,
    shared: &Shared,
    handler: &(dyn Fn(&Request, u64) -> Answer + Send + Sync),
    conn_id: u64,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf, shared) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let close_after = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let ok = match handler(&req, conn_id) {
            Answer::Respond(response) => {
                send_response(&mut stream, &response, response.body.len(), close_after)
            }
            Answer::Stall(d) => {
                let deadline = Instant::now() + d;
                while Instant::now() < deadline && !shared.stopping() {
                    thread::sleep(Duration::from_millis(20).min(deadline - Instant::now()));
                }
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Answer::Reset => {
                set_linger_zero(&stream);
                drop(stream);
                return;
            }
            Answer::Truncated { response, claimed } => {
                let _ = send_response(&mut stream, &response, claimed, false);
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

pub fn set_linger_zero(stream: &TcpStream) {
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

/// Writes `response` with `Content-Length: length`; false if the peer is gone.
fn send_response(stream: &mut TcpStream, response: &Response, length: usize, close: bool) -> bool {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n"));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&response.body);
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

/// RFC 1123 date, e.g. `Sat, 28 Nov 2026 19:00:00 GMT`.
pub fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

// ---------------------------------------------------------------------------
// A raw client, for the self-tests of the fakes.

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
