//! The network between mfa-exec and STS (issue 12, items 17 and 18): a custom
//! CA bundle (`AWS_CA_BUNDLE`, `ca_bundle`) and proxies (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `NO_PROXY`).
//!
//! Everything runs on loopback: a TLS terminator ([`TlsFront`]) in front of the
//! fake STS, with a certificate signed by a CA made for the test ([`Pki`]), and
//! a small HTTP proxy ([`Proxy`]) that tunnels `CONNECT`, forwards plain HTTP,
//! or answers 403.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const RUN: &[&str] = &["test", "-t", "123456", "--", "touch", "ran"];

const HINT_NO_BUNDLE: &str = "hint: if a TLS-inspecting proxy or a private CA signs it, set AWS_CA_BUNDLE or ca_bundle in the profile to a PEM file with that CA\n";
const HINT_PROXY: &str = "hint: check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), or bypass it for the STS host with NO_PROXY\n";
const HINT_BAD_BUNDLE: &str =
    "hint: AWS_CA_BUNDLE and ca_bundle name a PEM file of the CA certificates to trust\n";

fn note(url: &str) -> String {
    format!("mfa-exec: using STS at {url} (from $AWS_ENDPOINT_URL_STS)\n")
}

/// A run that must fail: exact stderr, exit 125, no request, files unchanged,
/// the command not run.
fn refused(env: &TestEnv, sts: &FakeSts, vars: &[(&str, &str)], stderr: &str) {
    let snap = env.snapshot();
    let mut cmd = env.cmd(RUN);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.assert().code(125).stdout("").stderr(stderr.to_string());
    assert_eq!(sts.count(), 0, "no request reached STS");
    assert!(!env.home().join("ran").exists(), "the command ran");
    env.assert_unchanged(&snap);
}

/// A run that must succeed: one request, the issued session written, the
/// command run.
fn succeeds(env: &TestEnv, sts: &FakeSts, vars: &[(&str, &str)]) {
    let mut cmd = env.cmd(RUN);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sts.count(), 1);
    let issued = sts.last_issued().expect("STS issued a session");
    assert!(
        env.read_credentials().contains(&issued.access_key_id),
        "the session was written:\n{}",
        env.read_credentials()
    );
    assert!(env.home().join("ran").exists(), "the command ran");
}

// ---------------------------------------------------------------- CA bundle

#[test]
fn untrusted_certificate_without_bundle_is_a_tls_error() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    refused(
        &env,
        &sts,
        &[],
        &format!(
            "{}mfa-exec: error: TLS handshake with STS at {} failed: its certificate is not signed by a trusted CA (unknown issuer)\n{HINT_NO_BUNDLE}",
            note(&front.url()),
            front.url()
        ),
    );
    assert!(front.failed() >= 1, "the handshake reached the front");
    assert_eq!(front.accepted(), 0);
}

#[test]
fn bundle_from_aws_ca_bundle() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    succeeds(&env, &sts, &[("AWS_CA_BUNDLE", &bundle)]);
    assert_eq!(front.accepted(), 1);
}

#[test]
fn bundle_from_profile_ca_bundle() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    pki.write_ca(&env, "ca.pem");
    // In the source profile: found through the chain (an empty value in the
    // profile falls through), `~` expanded.
    let config = SEED_CONFIG.replacen(
        "[profile test]",
        "ca_bundle = ~/ca.pem\n\n[profile test]",
        1,
    );
    env.write_config(&format!("{config}ca_bundle =\n"));
    succeeds(&env, &sts, &[]);
    assert_eq!(front.accepted(), 1);
}

#[test]
fn aws_ca_bundle_wins_over_the_profile() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    env.write_config(&format!("{SEED_CONFIG}ca_bundle = ~/missing.pem\n"));
    succeeds(&env, &sts, &[("AWS_CA_BUNDLE", &bundle)]);
}

#[test]
fn bundle_without_the_signing_ca_replaces_the_system_cas() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let other = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = other.write_ca(&env, "other.pem");
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", &bundle)],
        &format!(
            "{}mfa-exec: error: TLS handshake with STS at {url} failed: its certificate is not signed by a trusted CA (unknown issuer)\nhint: the CA bundle {bundle} (from $AWS_CA_BUNDLE) replaces the system's CAs; add the CA that signs this certificate to it (AWS_CA_BUNDLE, ca_bundle)\n",
            note(&front.url()),
            url = front.url()
        ),
    );
}

#[test]
fn missing_bundle_is_a_configuration_error() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_sts(&sts);
    let path = env.home().join("nope.pem");
    let path = path.to_str().unwrap();
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", path)],
        &format!("mfa-exec: error: cannot read the CA bundle {path} (from $AWS_CA_BUNDLE): No such file or directory\n{HINT_BAD_BUNDLE}"),
    );
    // From the profile: the origin is the file and line.
    env.write_config(&format!("{SEED_CONFIG}ca_bundle = ~/nope.pem\n"));
    refused(
        &env,
        &sts,
        &[],
        &format!("mfa-exec: error: cannot read the CA bundle ~/nope.pem (from ~/.aws/config:9 [profile test]): No such file or directory\n{HINT_BAD_BUNDLE}"),
    );
    // Checked before the cache is consulted: a configuration error either way.
    let first = FakeSts::start();
    env.write_config(SEED_CONFIG);
    env.cmd_with_sts(RUN, &first).assert().success();
    std::fs::remove_file(env.home().join("ran")).unwrap();
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", path)],
        &format!("mfa-exec: error: cannot read the CA bundle {path} (from $AWS_CA_BUNDLE): No such file or directory\n{HINT_BAD_BUNDLE}"),
    );
    assert_eq!(first.count(), 1);
}

#[test]
fn unreadable_bundle_is_a_configuration_error() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_sts(&sts);
    // A directory cannot be read as a file, for root too.
    let dir = env.home().join("certs");
    std::fs::create_dir(&dir).unwrap();
    let dir = dir.to_str().unwrap();
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", dir)],
        &format!("mfa-exec: error: cannot read the CA bundle {dir} (from $AWS_CA_BUNDLE): Is a directory\n{HINT_BAD_BUNDLE}"),
    );
}

#[test]
fn unparsable_bundle_is_a_configuration_error() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_sts(&sts);
    let write = |name: &str, text: &str| {
        let p = env.home().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let text = write("text.pem", "not a certificate\n");
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", &text)],
        &format!("mfa-exec: error: the CA bundle {text} (from $AWS_CA_BUNDLE) holds no PEM certificate\n{HINT_BAD_BUNDLE}"),
    );
    let empty = write("empty.pem", "");
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", &empty)],
        &format!("mfa-exec: error: the CA bundle {empty} (from $AWS_CA_BUNDLE) holds no PEM certificate\n{HINT_BAD_BUNDLE}"),
    );
    // Valid PEM framing around bytes that are no certificate.
    let junk = write(
        "junk.pem",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", &junk)],
        &format!("mfa-exec: error: certificate 1 of the CA bundle {junk} (from $AWS_CA_BUNDLE) cannot be used: it is not a valid X.509 certificate\n{HINT_BAD_BUNDLE}"),
    );
    // A broken base64 body.
    let broken = write(
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", &broken)],
        &format!("mfa-exec: error: the CA bundle {broken} (from $AWS_CA_BUNDLE) is not valid PEM: a certificate is not valid base64\n{HINT_BAD_BUNDLE}"),
    );
    let cut = write("cut.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n");
    refused(
        &env,
        &sts,
        &[("AWS_CA_BUNDLE", &cut)],
        &format!("mfa-exec: error: the CA bundle {cut} (from $AWS_CA_BUNDLE) is not valid PEM: a section has no '-----END CERTIFICATE-----' line\n{HINT_BAD_BUNDLE}"),
    );
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
}

#[test]
fn explain_shows_bundle_and_proxy() {
    let pki = Pki::new();
    let env = TestEnv::seeded();
    pki.write_ca(&env, "ca.pem");
    env.write_config(&SEED_CONFIG.replacen(
        "[profile test]",
        "ca_bundle = ~/ca.pem\n\n[profile test]",
        1,
    ));
    let out = env
        .cmd(&["explain", "test"])
        .env("HTTPS_PROXY", "http://user:pw@127.0.0.1:3128")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = |fact: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{fact}  ")))
            .unwrap_or_else(|| panic!("no '{fact}' line in\n{text}"))
            .to_string()
    };
    assert!(
        line("ca bundle").ends_with(
            "~/ca.pem, 1 certificate, trusted instead of the system's CAs  (~/.aws/config:5 [testAccount])"
        ),
        "{text}"
    );
    assert!(
        line("proxy").ends_with("http://127.0.0.1:3128  ($HTTPS_PROXY)"),
        "{text}"
    );
    assert!(!text.contains("user:pw"), "proxy credentials are not shown");
    // NO_PROXY: shown as a direct connection.
    let out = env
        .cmd(&["explain", "test"])
        .env("HTTPS_PROXY", "http://127.0.0.1:3128")
        .env("AWS_ENDPOINT_URL_STS", "https://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.lines().any(|l| l.starts_with("proxy  ")),
        "no proxy for a NO_PROXY host:\n{text}"
    );
    // A bad bundle is a problem explain reports (exit 125), not a crash.
    env.write_config(&format!("{SEED_CONFIG}ca_bundle = ~/nope.pem\n"));
    let out = env.cmd(&["explain", "test"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(125), "{text}");
    assert!(
        text.contains("cannot read the CA bundle ~/nope.pem (from ~/.aws/config:9 [profile test]): No such file or directory"),
        "{text}"
    );
}

// ---------------------------------------------------------------- proxies

#[test]
fn unreachable_proxy_is_named() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let port = free_closed_port();
    let proxy = format!("http://127.0.0.1:{port}");
    // https endpoint: HTTPS_PROXY.
    let env = TestEnv::seeded().with_sts_url(&front.url());
    refused(
        &env,
        &sts,
        &[("HTTPS_PROXY", &proxy)],
        &format!(
            "{}mfa-exec: error: cannot reach the proxy {proxy} (from HTTPS_PROXY) for STS at {}: connection refused\n{HINT_PROXY}",
            note(&front.url()),
            front.url()
        ),
    );
    assert_eq!(front.accepted() + front.failed(), 0);
    // http endpoint: HTTP_PROXY (lowercase form), a value without a scheme.
    let env = TestEnv::seeded().with_sts(&sts);
    refused(
        &env,
        &sts,
        &[("http_proxy", &format!("127.0.0.1:{port}"))],
        &format!(
            "{}mfa-exec: error: cannot reach the proxy {proxy} (from http_proxy) for STS at {}: connection refused\n{HINT_PROXY}",
            note(&sts.url()),
            sts.url()
        ),
    );
    // ALL_PROXY when the scheme's own variable is not set.
    refused(
        &env,
        &sts,
        &[("ALL_PROXY", &proxy), ("HTTPS_PROXY", "http://127.0.0.1:1")],
        &format!(
            "{}mfa-exec: error: cannot reach the proxy {proxy} (from ALL_PROXY) for STS at {}: connection refused\n{HINT_PROXY}",
            note(&sts.url()),
            sts.url()
        ),
    );
}

#[test]
fn proxy_refusing_connect_is_named() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let proxy = Proxy::start(Mode::Refuse);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    refused(
        &env,
        &sts,
        &[("HTTPS_PROXY", &proxy.url()), ("AWS_CA_BUNDLE", &bundle)],
        &format!(
            "{}mfa-exec: error: the proxy {} (from HTTPS_PROXY) refused to open a tunnel to STS at {}\n{HINT_PROXY}",
            note(&front.url()),
            proxy.url(),
            front.url()
        ),
    );
    let seen = proxy.requests();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|r| r == &format!("CONNECT 127.0.0.1:{} HTTP/1.1", front.port())),
        "{seen:?}"
    );
    assert_eq!(front.accepted() + front.failed(), 0);
}

#[test]
fn connect_tunnel_through_proxy() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let proxy = Proxy::start(Mode::Forward);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    // The lowercase form, and the bundle applies through the tunnel.
    succeeds(
        &env,
        &sts,
        &[("https_proxy", &proxy.url()), ("AWS_CA_BUNDLE", &bundle)],
    );
    assert_eq!(
        proxy.requests(),
        vec![format!("CONNECT 127.0.0.1:{} HTTP/1.1", front.port())]
    );
    assert_eq!(front.accepted(), 1);
}

#[test]
fn untrusted_certificate_through_proxy() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let proxy = Proxy::start(Mode::Forward);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    refused(
        &env,
        &sts,
        &[("HTTPS_PROXY", &proxy.url())],
        &format!(
            "{}mfa-exec: error: TLS handshake with STS at {} through the proxy {} (from HTTPS_PROXY) failed: its certificate is not signed by a trusted CA (unknown issuer)\n{HINT_NO_BUNDLE}",
            note(&front.url()),
            front.url(),
            proxy.url()
        ),
    );
    assert!(!proxy.requests().is_empty());
}

#[test]
fn plain_http_through_proxy() {
    let sts = FakeSts::start();
    let proxy = Proxy::start(Mode::Forward);
    let env = TestEnv::seeded().with_sts(&sts);
    // HTTPS_PROXY does not apply to an http:// endpoint; HTTP_PROXY does.
    succeeds(
        &env,
        &sts,
        &[
            ("HTTP_PROXY", &proxy.url()),
            ("HTTPS_PROXY", "http://127.0.0.1:1"),
        ],
    );
    let seen = proxy.requests();
    assert_eq!(
        seen,
        vec![format!("POST http://127.0.0.1:{}/ HTTP/1.1", sts.port())]
    );
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let proxy = Proxy::start(Mode::Refuse);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    succeeds(
        &env,
        &sts,
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("NO_PROXY", "example.com, 127.0.0.1"),
            ("AWS_CA_BUNDLE", &bundle),
        ],
    );
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    // Lowercase, for the http endpoint too.
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_sts(&sts);
    succeeds(
        &env,
        &sts,
        &[("HTTP_PROXY", &proxy.url()), ("no_proxy", "127.0.0.1")],
    );
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

// ---------------------------------------------------------------- support

/// A CA made for one test, and a certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    leaf_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: two CAs of one name would be told apart by their
        // signature only ("bad signature" rather than "unknown issuer").
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let n = SERIAL.fetch_add(1, Ordering::SeqCst);
        ca.distinguished_name.push(
            DnType::CommonName,
            format!("mfa-exec test CA {} {n}", std::process::id()),
        );
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "fake sts");
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        Pki {
            ca_pem: ca_cert.pem(),
            leaf_der: leaf_cert.der().to_vec(),
            key_der: leaf_key.serialize_der(),
        }
    }

    /// Writes the CA certificate to `~/name`; returns the absolute path.
    fn write_ca(&self, env: &TestEnv, name: &str) -> String {
        let p = env.home().join(name);
        std::fs::write(&p, &self.ca_pem).unwrap();
        p.to_str().unwrap().to_string()
    }
}

/// TLS on 127.0.0.1 in front of `backend` (the fake STS), with the [`Pki`]
/// certificate. Counts completed and failed handshakes.
struct TlsFront {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
}

impl TlsFront {
    fn start(backend: SocketAddr, pki: &Pki) -> TlsFront {
        use tokio_rustls::rustls;
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(
                    pki.leaf_der.clone(),
                )],
                rustls::pki_types::PrivateKeyDer::Pkcs8(pki.key_der.clone().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let (ok, bad) = (accepted.clone(), failed.clone());
        thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, ok, bad) = (acceptor.clone(), ok.clone(), bad.clone());
                    tokio::spawn(async move {
                        let mut tls = match acceptor.accept(tcp).await {
                            Ok(s) => s,
                            Err(_) => {
                                bad.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                        };
                        ok.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut up) = tokio::net::TcpStream::connect(backend).await {
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                        }
                    });
                }
            });
        });
        TlsFront {
            addr,
            accepted,
            failed,
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Tunnel `CONNECT` and forward absolute-form HTTP requests.
    Forward,
    /// Answer 403 to everything.
    Refuse,
    /// Tunnel `CONNECT`, pass the request on, and reset the client's
    /// connection when the answer comes back (STS has seen the request).
    ResetAfterAnswer,
}

/// An HTTP proxy on 127.0.0.1 that only connects to 127.0.0.1. Records the
/// request line of each connection.
struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start(mode: Mode) -> Proxy {
        Proxy::start_with(mode, Arc::new(|| false))
    }

    /// `answered`: true once STS has answered (for [`Mode::ResetAfterAnswer`]).
    fn start_with(mode: Mode, answered: Answered) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let log = log.clone();
                let answered = answered.clone();
                thread::spawn(move || proxy_connection(conn, mode, log, answered));
            }
        });
        Proxy { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

type Answered = Arc<dyn Fn() -> bool + Send + Sync>;

fn proxy_connection(
    mut client: TcpStream,
    mode: Mode,
    log: Arc<Mutex<Vec<String>>>,
    answered: Answered,
) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    // The request head; anything after it is passed on.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let rest = buf[end..].to_vec();
    let line = head.lines().next().unwrap_or_default().to_string();
    log.lock().unwrap().push(line.clone());
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if mode == Mode::Refuse {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let (authority, upstream_head) = if method == "CONNECT" {
        (target.to_string(), None)
    } else {
        // Absolute form: rewrite the request line to origin form.
        let Some(after) = target.strip_prefix("http://") else {
            return;
        };
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        };
        let rewritten = head.replacen(target, path, 1);
        (authority.to_string(), Some(rewritten))
    };
    let Ok(addr) = authority.parse::<SocketAddr>() else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    assert!(addr.ip().is_loopback(), "the test proxy stays on loopback");
    let Ok(mut upstream) = TcpStream::connect(addr) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    match upstream_head {
        None => {
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        }
        Some(h) => {
            let _ = upstream.write_all(h.as_bytes());
        }
    }
    let _ = upstream.write_all(&rest);
    let _ = client.set_read_timeout(None);
    if mode == Mode::ResetAfterAnswer {
        let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
            return;
        };
        let forward = thread::spawn(move || {
            let _ = std::io::copy(&mut c2, &mut u2);
        });
        // The TLS handshake passes; the first bytes from upstream after STS
        // issued its answer are dropped, and the client's connection reset.
        loop {
            match upstream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(_) if answered() => break,
                Ok(n) => {
                    let _ = client.write_all(&chunk[..n]);
                }
            }
        }
        let _ = client.shutdown(Shutdown::Read);
        let _ = forward.join();
        crate::support::http::set_linger_zero(&client);
        drop(client);
        return;
    }
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let back = thread::spawn(move || {
        let _ = std::io::copy(&mut u2, &mut c2);
        let _ = c2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut client, &mut upstream);
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = back.join();
}

/// Issue 21 item 4: through an HTTPS proxy that resets the tunnel after STS
/// answered, the code STS accepted stays spent: the next run with it is
/// refused before any request. A failure while connecting (a TLS handshake
/// the bundle does not trust) frees the code: the next run sends it.
#[test]
fn a_code_sts_saw_through_a_proxy_is_never_sent_again() {
    let sts = FakeSts::start();
    let pki = Pki::new();
    let front = TlsFront::start(sts.addr(), &pki);
    let issued = sts.issued_view();
    let proxy = Proxy::start_with(
        Mode::ResetAfterAnswer,
        Arc::new(move || !issued().is_empty()),
    );
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    let run = || {
        env.cmd(RUN)
            .env("HTTPS_PROXY", proxy.url())
            .env("AWS_CA_BUNDLE", &bundle)
            .output()
            .unwrap()
    };
    let snap = env.snapshot();
    let out = run();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{}mfa-exec: error: the connection to STS at {} through the proxy {} (from HTTPS_PROXY) failed after the request was sent: connection reset\n{HINT_PROXY}",
            note(&front.url()),
            front.url(),
            proxy.url()
        )
    );
    assert_eq!(sts.count(), 1, "STS saw the request (and its code)");
    env.assert_unchanged(&snap);
    let out = run();
    assert_eq!(out.status.code(), Some(125));
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        text.contains("mfa-exec: error: the MFA code from --token-code was already used ")
            && text.contains(&format!(" ago for {SEED_SERIAL}; nothing was sent\n")),
        "{text}"
    );
    assert_eq!(sts.count(), 1, "the code was not sent again");
    assert!(!env.home().join("ran").exists());

    // A TLS handshake that fails (no bundle: the test CA is not trusted)
    // happened before the request left: the same code is sent next time.
    let sts = FakeSts::start();
    let front = TlsFront::start(sts.addr(), &pki);
    let proxy = Proxy::start(Mode::Forward);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    let out = env
        .cmd(RUN)
        .env("HTTPS_PROXY", proxy.url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(sts.count(), 0);
    succeeds(
        &env,
        &sts,
        &[("HTTPS_PROXY", &proxy.url()), ("AWS_CA_BUNDLE", &bundle)],
    );

    // The proxy's own refusal of CONNECT: the code is free too.
    let sts = FakeSts::start();
    let front = TlsFront::start(sts.addr(), &pki);
    let refusing = Proxy::start(Mode::Refuse);
    let env = TestEnv::seeded().with_sts_url(&front.url());
    let bundle = pki.write_ca(&env, "ca.pem");
    let out = env
        .cmd(RUN)
        .env("HTTPS_PROXY", refusing.url())
        .env("AWS_CA_BUNDLE", &bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(sts.count(), 0);
    succeeds(
        &env,
        &sts,
        &[("HTTPS_PROXY", &proxy.url()), ("AWS_CA_BUNDLE", &bundle)],
    );
}

/// The console sign-in request follows the same TLS rules as STS: the CA
/// bundle (here from `AWS_CA_BUNDLE`) replaces the system's CAs for it too.
#[test]
fn login_uses_the_ca_bundle() {
    let sts = FakeSts::start();
    let signin = FakeSignin::start_with_sts(&sts);
    let pki = Pki::new();
    let backend: SocketAddr = signin
        .url()
        .trim_start_matches("http://")
        .trim_end_matches("/federation")
        .parse()
        .unwrap();
    let front = TlsFront::start(backend, &pki);
    let env = TestEnv::seeded();
    let bundle = pki.write_ca(&env, "ca.pem");
    let endpoint = format!("{}/federation", front.url());
    // Without the bundle: the handshake fails, no token, exit 125.
    env.cmd_with_sts(
        &["login", "test", "--print", "--signin-url", &endpoint],
        &sts,
    )
    .assert()
    .code(125)
    .stdout("");
    assert_eq!(signin.count(), 0);
    // With it: the token is fetched through the front, the URL printed.
    let out = env
        .cmd_with_sts(
            &["login", "test", "--print", "--signin-url", &endpoint],
            &sts,
        )
        .env("AWS_CA_BUNDLE", &bundle)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(signin.count(), 1);
    assert!(String::from_utf8_lossy(&out).contains("Action=login"));
    assert!(front.accepted() >= 1);
}
