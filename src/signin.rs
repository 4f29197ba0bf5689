//! The AWS console sign-in (federation) endpoint (SPEC §8.4): partitions and
//! their hosts, the `getSigninToken` request, the `login` URL, and the one
//! HTTPS GET that exchanges a session for a sign-in token.
//!
//! Decisions (AWS IAM guide, "Enable custom identity broker access to the AWS
//! console"):
//! - The request is `GET {endpoint}?Action=getSigninToken[&SessionDuration=S]
//!   &Session={"sessionId","sessionKey","sessionToken"}`, form-urlencoded; the
//!   answer is `{"SigninToken":"..."}`.
//! - `SessionDuration` is only for role sessions made with long-term keys: AWS
//!   refuses it for a GetFederationToken session ("Do not use the
//!   SessionDuration HTTP parameter if you got the temporary credentials with
//!   GetFederationToken") and for a chained role session (one assumed with
//!   another session, which AWS caps at 1 hour). The caller decides; without
//!   it the console session lasts as long as the credentials.
//! - The `login` URL goes to the same endpoint with `Issuer`, `Destination` and
//!   `SigninToken`; it is a credential for 15 minutes, so it is a [`Secret`]
//!   here and nothing in this module prints or logs it, nor an error text that
//!   could hold it.
//! - HTTPS goes through `aws-smithy-http-client`, the stack the SDK uses for
//!   STS (hyper 1 + rustls with aws-lc, the system's roots), with the same
//!   proxy variables (`HTTPS_PROXY`, `NO_PROXY`, ...; the SDK's default since
//!   behavior version 2025-08-07) and the STS timeouts. A CA bundle or an
//!   explicit proxy goes in through [`Https::tls`] and [`Https::proxy`].
//! - Plain `http://` is refused except to a loopback host (tests): the request
//!   carries the session's keys.
//!
//! Never opens a browser or prints the URL (`cmd/login.rs` does, as asked).

use crate::secret::Secret;
use crate::session::Session;
use crate::sts::{ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, OPERATION_TIMEOUT};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::TlsContext;
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::http::Request as HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;
use std::time::Duration;

/// `Issuer` of the login URL: where the console sends someone whose session
/// ended (AWS shows it as a link; aws-vault passes its own name too).
pub const ISSUER: &str = "mfa-exec";

/// The largest answer read from the endpoint (a token is ~1-2 KiB).
const MAX_ANSWER: usize = 64 * 1024;

/// The AWS partitions that have a console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    China,
    GovCloud,
}

/// Regions of partitions other than aws, aws-cn and aws-us-gov (the isolated
/// and sovereign ones), whose console sign-in mfa-exec does not know.
pub fn unknown_partition(region: &str) -> bool {
    ["us-iso-", "us-isob-", "us-isof-", "eu-isoe-", "eusc-"]
        .iter()
        .any(|p| region.starts_with(p))
}

impl Partition {
    /// The partition of a region (`cn-*`, `us-gov-*`, else the commercial one).
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::China
        } else if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else {
            Partition::Aws
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::China => "aws-cn",
            Partition::GovCloud => "aws-us-gov",
        }
    }

    /// The federation endpoint of the partition.
    pub fn federation_endpoint(self) -> &'static str {
        match self {
            Partition::Aws => "https://signin.aws.amazon.com/federation",
            Partition::China => "https://signin.amazonaws.cn/federation",
            Partition::GovCloud => "https://signin.amazonaws-us-gov.com/federation",
        }
    }

    /// The console's domain, below which each region has a host.
    pub fn console_domain(self) -> &'static str {
        match self {
            Partition::Aws => "console.aws.amazon.com",
            Partition::China => "console.amazonaws.cn",
            Partition::GovCloud => "console.amazonaws-us-gov.com",
        }
    }
}

/// A region name as AWS spells them (`eu-west-1`): safe to put in a host name.
pub fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// The console home of a region, in the region's partition.
pub fn console_home(region: &str) -> String {
    let domain = Partition::of_region(region).console_domain();
    format!("https://{region}.{domain}/console/home?region={region}")
}

/// Why an endpoint URL is not usable, or `None` when it is. `https://` always;
/// `http://` only to a loopback host.
pub fn check_endpoint(url: &str) -> Option<String> {
    let (scheme, rest) = match url.split_once("://") {
        Some(p) => p,
        None => return Some("it is not an http(s) URL".into()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host_of(authority);
    if host.is_empty() {
        return Some("it has no host".into());
    }
    if url.contains('#') {
        return Some("it has a fragment".into());
    }
    if HttpRequest::get(url).is_err() {
        return Some("it is not a valid URL".into());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => None,
        "http" if is_loopback(host) => None,
        "http" => Some(format!(
            "plain http to {host} would expose the session; use https"
        )),
        _ => Some("it is not an http(s) URL".into()),
    }
}

/// True when a request to `url` goes direct whatever the proxy variables say
/// (issue 21 item 5): a plain-`http://` request (only ever to loopback)
/// would hand the session's keys in its query to the proxy in clear text,
/// and a loopback host is this machine, never behind a proxy.
pub fn never_proxied(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return true;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !scheme.eq_ignore_ascii_case("https") || is_loopback(host_of(authority))
}

/// Why `--destination` is not usable, or `None`: an `https://` URL, which
/// may carry a `#` fragment (console deep links do; it travels encoded in
/// the login URL's query, issue 21 item 10).
pub fn check_destination(url: &str) -> Option<String> {
    if !url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    {
        return Some("it is not an https URL".into());
    }
    let base = url.split_once('#').map_or(url, |(b, _)| b);
    check_endpoint(base)
}

fn host_of(authority: &str) -> &str {
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(rest) = hostport.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    hostport.split(':').next().unwrap_or("")
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `endpoint` with `query` appended.
fn with_query(endpoint: &str, query: &str) -> String {
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}{query}")
}

/// The `getSigninToken` URL for `session` (it holds the session: a secret).
pub fn token_request_url(endpoint: &str, session: &Session, duration: Option<u64>) -> Secret {
    let json = serde_json::json!({
        "sessionId": session.access_key_id,
        "sessionKey": session.secret.expose(),
        "sessionToken": session.token.expose(),
    })
    .to_string();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("Action", "getSigninToken");
    if let Some(d) = duration {
        q.append_pair("SessionDuration", &d.to_string());
    }
    q.append_pair("Session", &json);
    Secret::new(with_query(endpoint, &q.finish()))
}

/// The `login` URL that opens `destination` signed in with `token`.
pub fn login_url(endpoint: &str, destination: &str, token: &Secret) -> Secret {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("Action", "login");
    q.append_pair("Issuer", ISSUER);
    q.append_pair("Destination", destination);
    q.append_pair("SigninToken", token.expose());
    Secret::new(with_query(endpoint, &q.finish()))
}

/// Why no sign-in token came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigninError {
    /// No connection, or it broke: a fixed phrase (never the error text,
    /// which could quote the request).
    Unreachable(&'static str),
    /// No complete answer within the timeouts.
    TimedOut,
    /// A status other than 2xx.
    Status(u16),
    /// A 2xx answer without a usable token: what is wrong with it.
    BadAnswer(String),
}

/// The `SigninToken` of a 2xx answer.
pub fn parse_token(body: &[u8]) -> Result<Secret, SigninError> {
    let bad = |m: &str| SigninError::BadAnswer(m.to_string());
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad("it is not JSON"))?;
    let token = v
        .as_object()
        .ok_or_else(|| bad("it is not a JSON object"))?
        .get("SigninToken")
        .ok_or_else(|| bad("it has no SigninToken"))?
        .as_str()
        .ok_or_else(|| bad("its SigninToken is not a string"))?;
    if token.trim().is_empty() {
        return Err(bad("its SigninToken is empty"));
    }
    if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("its SigninToken has spaces or control characters"));
    }
    Ok(Secret::new(token))
}

/// The endpoint's answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The HTTPS client: the SDK's stack, proxy and timeouts.
pub struct Https {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub total_timeout: Duration,
    /// Trusted CAs etc.; `None` is the SDK's default (the system's roots).
    /// The seam for a CA bundle.
    pub tls: Option<TlsContext>,
    /// The proxy rule; the default reads the proxy variables as the SDK's
    /// default client does (`ProxyConfig::from_env`).
    pub proxy: ProxyConfig,
}

impl Default for Https {
    /// The STS timeouts (SPEC §6: connect at most 5 s, the whole call at most
    /// 30 s), the system's roots, the proxy variables.
    fn default() -> Https {
        Https {
            connect_timeout: CONNECT_TIMEOUT,
            read_timeout: ATTEMPT_TIMEOUT,
            total_timeout: OPERATION_TIMEOUT,
            tls: None,
            proxy: ProxyConfig::from_env(),
        }
    }
}

impl Https {
    /// The connector: built inside the runtime (its timers are tokio's).
    fn connector(&self) -> aws_smithy_http_client::Connector {
        use aws_smithy_http_client::{tls, Connector};
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .build();
        let mut b = Connector::builder()
            .connector_settings(settings)
            .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
            .proxy_config(self.proxy.clone())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ));
        if let Some(ctx) = &self.tls {
            b = b.tls_context(ctx.clone());
        }
        b.build()
    }

    /// One GET; no retry (a sign-in token is cheap to ask for again by hand,
    /// and a retried request would not change a refusal).
    pub fn get(&self, url: &Secret) -> Result<Answer, SigninError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| SigninError::Unreachable("cannot start the async runtime"))?;
        rt.block_on(async {
            let conn = self.connector();
            // The endpoint was checked (`check_endpoint`) and the rest is
            // form-urlencoded, so this does not fail in practice.
            let mut req = HttpRequest::get(url.expose())
                .map_err(|_| SigninError::Unreachable("the URL is malformed"))?;
            req.headers_mut().insert(
                "user-agent",
                concat!("mfa-exec/", env!("CARGO_PKG_VERSION")),
            );
            let call = async {
                let resp = conn.call(req).await.map_err(|e| classify(&e))?;
                let status = resp.status().as_u16();
                let mut stream = ByteStream::new(resp.into_body());
                let mut body = Vec::new();
                while let Some(chunk) = stream.next().await {
                    let chunk =
                        chunk.map_err(|_| SigninError::Unreachable("the answer was cut off"))?;
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_ANSWER {
                        return Err(SigninError::BadAnswer("it is too large".into()));
                    }
                }
                Ok(Answer { status, body })
            };
            tokio::time::timeout(self.total_timeout, call)
                .await
                .unwrap_or(Err(SigninError::TimedOut))
        })
    }

    /// The sign-in token for `session`.
    pub fn signin_token(
        &self,
        endpoint: &str,
        session: &Session,
        duration: Option<u64>,
    ) -> Result<Secret, SigninError> {
        let answer = self.get(&token_request_url(endpoint, session, duration))?;
        if !(200..300).contains(&answer.status) {
            return Err(SigninError::Status(answer.status));
        }
        parse_token(&answer.body)
    }
}

/// The proxy answered CONNECT with 407.
pub const TUNNEL_AUTH: &str = "the proxy asks for credentials (HTTP 407)";
/// The proxy answered CONNECT with another refusal (403, 502, ...).
pub const TUNNEL_REFUSED: &str = "the proxy refused to open a tunnel";
/// The proxy closed the connection instead of answering CONNECT.
pub const TUNNEL_CLOSED: &str = "the proxy closed the connection instead of opening a tunnel";

/// Another failure while the tunnel was set up (a reset, TLS to the proxy).
pub const TUNNEL_OTHER: &str = "the proxy could not open a tunnel";

/// A connection failure as a fixed phrase.
fn classify(e: &aws_smithy_runtime_api::client::result::ConnectorError) -> SigninError {
    if e.is_timeout() {
        return SigninError::TimedOut;
    }
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(e)
    )
    .to_ascii_lowercase();
    // The proxy's answers to CONNECT first (hyper-util's "tunnel error: ..."):
    // "unexpected end of file" must not read as the endpoint's closed
    // connection, nor a 403 as a refused TCP connect.
    SigninError::Unreachable(
        if text.contains("tunnel error: proxy authorization required") {
            TUNNEL_AUTH
        } else if text.contains("tunnel error: unexpected end of file") {
            TUNNEL_CLOSED
        } else if text.contains("tunnel error: unsuccessful") {
            TUNNEL_REFUSED
        } else if text.contains("refused") {
            "connection refused"
        } else if text.contains("dns") || text.contains("resolve") || text.contains("lookup") {
            "the host name does not resolve"
        } else if text.contains("tunnel error") {
            // Anything else while the tunnel was being set up (a reset, a
            // TLS failure to an https:// proxy): the proxy's, before any
            // byte of the request.
            TUNNEL_OTHER
        } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake")
        {
            "the TLS handshake failed"
        } else if text.contains("reset") || text.contains("closed") || text.contains("eof") {
            "the connection was closed"
        } else if text.contains("proxy") || text.contains("tunnel") {
            TUNNEL_OTHER
        } else {
            "network error"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn session() -> Session {
        Session {
            access_key_id: "ASIAEXAMPLEEXAMPLE01".into(),
            secret: Secret::new("se/cr+et=="),
            token: Secret::new("To&ken/+=\"x"),
            expires: Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap(),
        }
    }

    fn query(url: &str) -> Vec<(String, String)> {
        let q = url.split_once('?').unwrap().1;
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn partitions_and_console_homes() {
        assert_eq!(
            console_home("eu-west-1"),
            "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
        );
        assert_eq!(
            console_home("cn-north-1"),
            "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1"
        );
        assert_eq!(
            console_home("us-gov-west-1"),
            "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"
        );
        assert_eq!(
            Partition::of_region("cn-northwest-1").federation_endpoint(),
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            Partition::of_region("us-gov-east-1").federation_endpoint(),
            "https://signin.amazonaws-us-gov.com/federation"
        );
        assert_eq!(
            Partition::of_region("ap-northeast-2").federation_endpoint(),
            "https://signin.aws.amazon.com/federation"
        );
        assert_eq!(Partition::of_region("us-east-1").name(), "aws");
        assert!(valid_region("eu-west-1"));
        assert!(!valid_region("eu-west-1.evil.com/x"));
        assert!(!valid_region(""));
        assert!(!valid_region("EU-WEST-1"));
    }

    #[test]
    fn token_request_carries_the_session_json() {
        let url = token_request_url("https://signin.aws.amazon.com/federation", &session(), None);
        let url = url.expose();
        assert!(url.starts_with(
            "https://signin.aws.amazon.com/federation?Action=getSigninToken&Session="
        ));
        let q = query(url);
        assert_eq!(q.len(), 2);
        let json: serde_json::Value = serde_json::from_str(&q[1].1).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "sessionId": "ASIAEXAMPLEEXAMPLE01",
                "sessionKey": "se/cr+et==",
                "sessionToken": "To&ken/+=\"x",
            })
        );
        let url = token_request_url("http://127.0.0.1:9/f?x=1", &session(), Some(7200));
        let q = query(url.expose());
        assert_eq!(q[0], ("x".into(), "1".into()));
        assert_eq!(q[1], ("Action".into(), "getSigninToken".into()));
        assert_eq!(q[2], ("SessionDuration".into(), "7200".into()));
        assert_eq!(q[3].0, "Session");
    }

    #[test]
    fn login_url_fields() {
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            &console_home("eu-west-1"),
            &Secret::new("tok-EN_1+/="),
        );
        let q = query(url.expose());
        assert_eq!(
            q,
            vec![
                ("Action".to_string(), "login".to_string()),
                ("Issuer".into(), "mfa-exec".into()),
                (
                    "Destination".into(),
                    "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1".into()
                ),
                ("SigninToken".into(), "tok-EN_1+/=".into()),
            ]
        );
        assert_eq!(format!("{url}"), "(redacted)");
    }

    #[test]
    fn answers() {
        assert_eq!(
            parse_token(br#"{"SigninToken":"abc"}"#).unwrap().expose(),
            "abc"
        );
        assert_eq!(
            parse_token(b"<html>").unwrap_err(),
            SigninError::BadAnswer("it is not JSON".into())
        );
        assert_eq!(
            parse_token(b"{}").unwrap_err(),
            SigninError::BadAnswer("it has no SigninToken".into())
        );
        assert_eq!(
            parse_token(br#"{"SigninToken":""}"#).unwrap_err(),
            SigninError::BadAnswer("its SigninToken is empty".into())
        );
        assert_eq!(
            parse_token(br#"{"SigninToken":5}"#).unwrap_err(),
            SigninError::BadAnswer("its SigninToken is not a string".into())
        );
        assert_eq!(
            parse_token(b"[1]").unwrap_err(),
            SigninError::BadAnswer("it is not a JSON object".into())
        );
    }

    /// A one-connection server on 127.0.0.1 that reads the request head
    /// (unless `blurt`), writes `answer` (if any), then waits `hold` before
    /// closing.
    fn serve_once(
        answer: Option<&'static [u8]>,
        hold: Duration,
        blurt: bool,
    ) -> (u16, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut head = Vec::new();
            let mut b = [0u8; 1024];
            while !blurt && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&b[..n]),
                }
            }
            if let Some(a) = answer {
                let _ = s.write_all(a);
            }
            std::thread::sleep(hold);
            String::from_utf8_lossy(&head).into_owned()
        });
        (port, h)
    }

    #[test]
    fn https_client_over_plain_http() {
        let (port, h) = serve_once(
            Some(b"HTTP/1.1 200 OK\r\nContent-Length: 21\r\nConnection: close\r\n\r\n{\"SigninToken\":\"t-1\"}"),
            Duration::ZERO,
            false,
        );
        let endpoint = format!("http://127.0.0.1:{port}/federation");
        let token = Https::default()
            .signin_token(&endpoint, &session(), Some(900))
            .unwrap();
        assert_eq!(token.expose(), "t-1");
        let head = h.join().unwrap();
        assert!(
            head.starts_with(
                "GET /federation?Action=getSigninToken&SessionDuration=900&Session=%7B"
            ),
            "{head}"
        );
        assert!(head.contains("user-agent: mfa-exec/"), "{head}");
    }

    #[test]
    fn https_client_tls_failure_is_a_fixed_phrase() {
        // Plain HTTP where TLS is expected: the handshake fails, and the
        // error names no part of the URL.
        let (port, h) = serve_once(
            Some(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Duration::ZERO,
            true,
        );
        let err = Https::default()
            .get(&Secret::new(format!(
                "https://127.0.0.1:{port}/federation?Session=secret"
            )))
            .err()
            .unwrap();
        assert_eq!(err, SigninError::Unreachable("the TLS handshake failed"));
        h.join().unwrap();
    }

    #[test]
    fn https_client_gives_up_on_a_silent_server() {
        let (port, h) = serve_once(None, Duration::from_secs(3), false);
        let client = Https {
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_millis(300),
            total_timeout: Duration::from_millis(600),
            ..Https::default()
        };
        let started = std::time::Instant::now();
        let err = client
            .get(&Secret::new(format!("http://127.0.0.1:{port}/f")))
            .err()
            .unwrap();
        assert_eq!(err, SigninError::TimedOut);
        // Finished, not hung (the server holds the connection for 3 s).
        assert!(started.elapsed() < Duration::from_secs(3));
        h.join().unwrap();
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            check_endpoint("https://signin.aws.amazon.com/federation"),
            None
        );
        assert_eq!(check_endpoint("http://127.0.0.1:8080/federation"), None);
        assert_eq!(check_endpoint("http://localhost/federation"), None);
        assert_eq!(check_endpoint("http://[::1]:80/f"), None);
        assert_eq!(
            check_endpoint("http://signin.example.com/federation"),
            Some("plain http to signin.example.com would expose the session; use https".into())
        );
        assert_eq!(
            check_endpoint("http://127.0.0.1@evil.example/f"),
            Some("plain http to evil.example would expose the session; use https".into())
        );
        assert_eq!(
            check_endpoint("signin.aws.amazon.com"),
            Some("it is not an http(s) URL".into())
        );
        assert_eq!(
            check_endpoint("ftp://x/y"),
            Some("it is not an http(s) URL".into())
        );
        assert_eq!(check_endpoint("https:///f"), Some("it has no host".into()));
        assert_eq!(
            check_endpoint("https://exa mple.com/federation"),
            Some("it is not a valid URL".into())
        );
    }
}
