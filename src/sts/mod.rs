//! The STS seam: a small trait the flow calls, and the real client behind it.
//!
//! The real client is built from the resolved plan only (SPEC §6): static
//! credentials, the plan's region and endpoint, explicit timeouts (the SDK has
//! no read or operation timeout by default, so a silent server would hang
//! forever), the standard retry policy. It uses `aws_sdk_sts::Config::builder()`
//! rather than `aws_config::defaults()`, because the latter also reads the
//! ambient `AWS_PROFILE`, profile files and retry settings; the endpoint
//! variables `AWS_ENDPOINT_URL_STS`/`AWS_ENDPOINT_URL` are resolved into the plan
//! by `profile.rs` instead. tokio is started here, on the refresh path only,
//! as a current-thread runtime.
//!
//! The HTTP client is the SDK's own (`aws-smithy-http-client`, rustls with
//! aws-lc, as the SDK's default client), built here so that two settings are
//! explicit (SPEC §8.2):
//!
//! - **CA bundle.** `AWS_CA_BUNDLE`, else `ca_bundle` of the profile or its
//!   source chain (resolved in `profile.rs`), names a PEM file. As in the AWS
//!   CLI (botocore hands the file to urllib3 as its only `ca_certs`) and the Go
//!   SDK, the bundle *replaces* the system's CAs: only its certificates are
//!   trusted. A missing or unreadable file is found when the plan is used
//!   ([`BundleRef::check`], cached session or not); its certificates are read
//!   and checked ([`CaBundle::load`]) once STS is needed, before the lock and
//!   any code ([`Sts::ready`]), so an unparsable file is a configuration error
//!   before anything is asked or sent, never a panic inside the TLS layer, and
//!   the cached path does not pay for parsing a system bundle (0.8 ms measured).
//! - **Proxy.** [`proxy_for`] picks the proxy from the environment snapshot
//!   exactly as the SDK's default client does (`ProxyConfig::from_env`, which
//!   is hyper-util's `Matcher::from_env`: `HTTPS_PROXY`/`https_proxy` for https,
//!   `HTTP_PROXY`/`http_proxy` for http, else `ALL_PROXY`/`all_proxy`; uppercase
//!   first; `NO_PROXY`/`no_proxy` bypasses; nothing under CGI's
//!   `REQUEST_METHOD`), using hyper-util's own matcher on the one endpoint
//!   called. The client is then given that proxy explicitly (or none), so the
//!   proxy an error names is the one the request went through.
//!
//! A TLS failure (an untrusted or wrong certificate) and a proxy that cannot
//! be reached or will not tunnel are told apart from "STS unreachable"
//! ([`Kind::Tls`], [`Kind::Proxy`]).

use crate::env::Env;
use crate::error::{fail, Fail};
use crate::profile::Fact;
use crate::secret::Secret;
use crate::session::Session;
use aws_sdk_sts::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sts::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connect timeout (SPEC §6: at most 5 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt's timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole call, retries included (SPEC §6: at most 30 s).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

/// Credentials that sign a request.
#[derive(Debug, Clone)]
pub struct Signer {
    pub access_key_id: String,
    pub secret: Secret,
    pub token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct AssumeRoleInput {
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub duration: u64,
    pub serial: Option<String>,
    pub code: Option<String>,
}

/// GetFederationToken's parameters: `name` names the federated user
/// (2-32 characters of `[\w+=,.@-]`), `policy` is the session policy (without
/// one the session has no permissions at all).
#[derive(Debug, Clone)]
pub struct FederationTokenInput {
    pub name: String,
    pub policy: String,
    pub duration: u64,
}

/// What STS issued, with its `Date` header when it sent one.
#[derive(Debug, Clone)]
pub struct Issued {
    pub session: Session,
    pub server_date: Option<DateTime<Utc>>,
}

/// The kinds of failure the flow branches on (SPEC §7 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    InvalidCode,
    WrongDevice,
    InvalidClientTokenId,
    SignatureExpired,
    SignatureMismatch,
    ExpiredToken,
    RegionDisabled,
    AccessDenied,
    ChainedDuration,
    MaxSessionDuration,
    Throttled,
    Unreachable,
    /// The proxy could not be reached or would not tunnel; the message is whole.
    Proxy,
    /// The TLS handshake with STS failed (certificate); the message is whole.
    Tls,
    TimedOut,
    BadResponse,
    Other,
}

#[derive(Debug, Clone)]
pub struct StsError {
    pub kind: Kind,
    pub code: Option<String>,
    pub message: String,
    pub server_date: Option<DateTime<Utc>>,
}

impl std::fmt::Display for StsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StsError {}

/// The calls the flow makes.
pub trait Sts {
    fn get_session_token(
        &self,
        signer: &Signer,
        serial: Option<&str>,
        code: Option<&str>,
        duration: u64,
    ) -> Result<Issued, StsError>;

    fn assume_role(&self, signer: &Signer, input: &AssumeRoleInput) -> Result<Issued, StsError>;

    /// GetFederationToken, signed with an IAM user's long-term keys (used by
    /// `login` for profiles without a role: the console needs a federated
    /// session, and refuses a GetSessionToken one).
    fn get_federation_token(
        &self,
        signer: &Signer,
        input: &FederationTokenInput,
    ) -> Result<Issued, StsError>;

    /// A configuration problem found while building the client that only
    /// matters when STS is called (a proxy variable mfa-exec cannot use):
    /// checked after the cache, before the lock and any code.
    fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// The ARN of the identity `signer` belongs to (`keys rotate` only).
    fn get_caller_identity(&self, _signer: &Signer) -> Result<String, StsError> {
        Err(StsError {
            kind: Kind::Other,
            code: None,
            message: "GetCallerIdentity is not available here".into(),
            server_date: None,
        })
    }
}

/// Classifies an STS error code and message (SPEC §7).
pub fn classify(code: &str, message: &str) -> Kind {
    let m = message.to_ascii_lowercase();
    match code {
        "AccessDenied" if m.contains("invalid mfa one time pass code") => Kind::InvalidCode,
        "AccessDenied"
            if m.contains("unable to validate mfa code")
                || m.contains("serial") && m.contains("mfa") =>
        {
            Kind::WrongDevice
        }
        "AccessDenied" => Kind::AccessDenied,
        "InvalidClientTokenId" => Kind::InvalidClientTokenId,
        "SignatureDoesNotMatch" if m.contains("signature expired") => Kind::SignatureExpired,
        "SignatureDoesNotMatch" => Kind::SignatureMismatch,
        "ExpiredToken" | "ExpiredTokenException" => Kind::ExpiredToken,
        "RegionDisabledException" => Kind::RegionDisabled,
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => Kind::Throttled,
        "ValidationError" if m.contains("exceeds the 1 hour session limit") => {
            Kind::ChainedDuration
        }
        "ValidationError"
            if m.contains("maxsessionduration") || m.contains("max session duration") =>
        {
            Kind::MaxSessionDuration
        }
        _ => Kind::Other,
    }
}

/// The URL STS is called at: the plan's endpoint, else the regional one.
pub fn endpoint_url(region: &str, endpoint: Option<&str>) -> String {
    match endpoint {
        Some(e) => e.to_string(),
        None => format!("https://sts.{region}.amazonaws.com"),
    }
}

/// A CA bundle, read and checked: the PEM text the TLS layer will trust alone.
#[derive(Debug, Clone)]
pub struct CaBundle {
    pem: Vec<u8>,
    /// Certificates in it.
    pub count: usize,
}

/// A CA bundle named by the plan, found and readable but not read yet: the
/// cached path checks this much (a stat and an open), and the certificates are
/// read and checked only when STS is about to be called ([`Sts::ready`]),
/// still before the lock and any code. Parsing a 220 KB system bundle cost
/// 0.8 ms a run (cached path 3.1 ms against 2.3 ms without it).
#[derive(Debug, Clone)]
pub struct BundleRef {
    path: std::path::PathBuf,
    shown: String,
}

const BUNDLE_HINT: &str =
    "AWS_CA_BUNDLE and ca_bundle name a PEM file of the CA certificates to trust";

impl BundleRef {
    /// `fact` (a path, `~` expanded), checked to exist and open for reading.
    pub fn check(env: &Env, fact: &Fact<String>) -> Result<BundleRef, Fail> {
        let shown = format!("the CA bundle {} (from {})", fact.value, fact.origin);
        let path = env
            .expand_tilde(&fact.value)
            .map_err(|e| fail(format!("{shown}: {e}")).hint(BUNDLE_HINT))?;
        let unreadable = |e: std::io::Error| {
            fail(format!(
                "cannot read {shown}: {}",
                crate::store::io_reason(&e)
            ))
            .hint(BUNDLE_HINT)
        };
        let meta = std::fs::metadata(&path).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(unreadable(std::io::Error::from_raw_os_error(libc::EISDIR)));
        }
        std::fs::File::open(&path).map_err(unreadable)?;
        Ok(BundleRef { path, shown })
    }

    /// Reads and checks every certificate (see [`CaBundle::load`]).
    pub fn load(&self) -> Result<CaBundle, Fail> {
        CaBundle::read(&self.path, &self.shown)
    }
}

impl CaBundle {
    /// Reads `fact` (a path, `~` expanded) and checks every certificate in it
    /// as rustls will when the client is built (where a bad one would panic).
    pub fn load(env: &Env, fact: &Fact<String>) -> Result<CaBundle, Fail> {
        BundleRef::check(env, fact)?.load()
    }

    fn read(path: &std::path::Path, shown: &str) -> Result<CaBundle, Fail> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let hint = BUNDLE_HINT;
        let pem = std::fs::read(path).map_err(|e| {
            fail(format!(
                "cannot read {shown}: {}",
                crate::store::io_reason(&e)
            ))
            .hint(hint)
        })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                use rustls_pki_types::pem::Error as P;
                let why = match e {
                    P::MissingSectionEnd { end_marker } => format!(
                        "a section has no '-----END {}-----' line",
                        String::from_utf8_lossy(&end_marker)
                    ),
                    P::IllegalSectionStart { line } => {
                        format!("bad section start '{}'", String::from_utf8_lossy(&line))
                    }
                    P::Base64Decode(_) => "a certificate is not valid base64".to_string(),
                    other => other.to_string(),
                };
                fail(format!("{shown} is not valid PEM: {why}")).hint(hint)
            })?;
        if certs.is_empty() {
            return Err(fail(format!("{shown} holds no PEM certificate")).hint(hint));
        }
        let mut roots = rustls::RootCertStore::empty();
        for (i, c) in certs.into_iter().enumerate() {
            roots.add(c).map_err(|e| {
                let why = match e {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding) => {
                        "it is not a valid X.509 certificate".to_string()
                    }
                    other => other.to_string().replace("invalid peer certificate: ", ""),
                };
                fail(format!(
                    "certificate {} of {shown} cannot be used: {why}",
                    i + 1
                ))
                .hint(hint)
            })?;
        }
        Ok(CaBundle {
            count: roots.len(),
            pem,
        })
    }
}

/// The proxy between mfa-exec and STS, as the SDK's HTTP client picks it.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// `scheme://host:port`, without credentials.
    pub shown: String,
    /// The variable it came from (`HTTPS_PROXY`, `all_proxy`, ...).
    pub var: &'static str,
    /// What the connector is given: this proxy for every request.
    config: ProxyConfig,
}

impl std::fmt::Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {})", self.shown, self.var)
    }
}

/// The proxy for requests to `url`, from the environment, with the rules of
/// hyper-util's `Matcher::from_env` (what `ProxyConfig::from_env` uses); `None`
/// for a direct connection (no variable, `NO_PROXY`, an unusable value).
pub fn proxy_for(env: &Env, url: &str) -> Result<Option<Proxy>, Fail> {
    use hyper_util::client::proxy::matcher::Matcher;
    let Ok(dst) = url.parse::<http::Uri>() else {
        return Ok(None);
    };
    // As hyper-util: no proxy under CGI (httpoxy); the first variable of a
    // pair that is set (and UTF-8) wins, even if empty.
    if env.get_os("REQUEST_METHOD").is_some() {
        return Ok(None);
    }
    let first = |names: [&'static str; 2]| {
        names.into_iter().find_map(|n| {
            env.get_os(n)
                .and_then(|v| v.to_str())
                .map(|v| (n, v.to_string()))
        })
    };
    let no = first(["NO_PROXY", "no_proxy"])
        .map(|(_, v)| v)
        .unwrap_or_default();
    let scheme = match dst.scheme_str() {
        Some("https") => first(["HTTPS_PROXY", "https_proxy"]),
        Some("http") => first(["HTTP_PROXY", "http_proxy"]),
        _ => return Ok(None),
    };
    let all = first(["ALL_PROXY", "all_proxy"]);
    // The scheme's variable if it parses, else ALL_PROXY (hyper-util's `or`).
    let chosen = [scheme, all]
        .into_iter()
        .flatten()
        .find_map(|(var, value)| {
            Matcher::builder()
                .all(value.clone())
                .no(no.clone())
                .build()
                .intercept(&dst)
                .map(|i| (var, value, i))
        });
    let Some((var, value, intercept)) = chosen else {
        return Ok(None);
    };
    let uri = intercept.uri();
    let shown = format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map(|a| a.as_str()).unwrap_or_default()
    );
    // hyper-util takes a value without a scheme as http://; ProxyConfig wants one.
    let full = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    let config = ProxyConfig::all(full).map_err(|e| {
        fail(format!(
            "the proxy {shown} (from {var}) cannot be used: {e}"
        ))
        .hint("use an http:// or https:// proxy URL")
    })?;
    Ok(Some(Proxy { shown, var, config }))
}

/// The SDK's HTTPS client (rustls, aws-lc) with the bundle's CAs and the proxy.
/// The TLS context of every HTTPS request mfa-exec makes (STS, the console
/// sign-in): the CA bundle instead of the system's roots when there is one.
pub fn tls_context(ca_bundle: Option<&CaBundle>) -> TlsContext {
    let trust = match ca_bundle {
        Some(b) => TrustStore::empty().with_pem_certificate(b.pem.clone()),
        None => TrustStore::default(),
    };
    TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context of a trust store always builds")
}

/// The connector's proxy rule for `proxy` (none: no proxy at all).
pub fn proxy_config(proxy: Option<&Proxy>) -> ProxyConfig {
    proxy
        .map(|p| p.config.clone())
        .unwrap_or_else(ProxyConfig::disabled)
}

/// The HTTP client of every AWS call (STS, IAM): the CA bundle and the proxy.
pub fn http_client(ca_bundle: Option<&CaBundle>, proxy: Option<&Proxy>) -> SharedHttpClient {
    let context = tls_context(ca_bundle);
    let proxy = proxy_config(proxy);
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut b = aws_smithy_http_client::Connector::builder()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(proxy.clone()));
        b.build()
    })
}

/// The first error of type `T` in a chain, looking inside `io::Error`s too
/// (hyper-rustls nests the rustls error two `io::Error`s deep).
fn find_in_chain<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(t) = find_in_chain::<T>(inner) {
                return Some(t);
            }
        }
        cur = err.source();
    }
    None
}

/// What went wrong in a TLS handshake, in words.
fn tls_reason(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "its certificate is not signed by a trusted CA (unknown issuer)".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "its certificate is not valid for this host name".into()
            }
            C::Expired | C::ExpiredContext { .. } => "its certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "its certificate is not valid yet (check the clock)".into()
            }
            C::BadSignature => "its certificate has a bad signature".into(),
            other => format!("invalid certificate: {other:?}"),
        },
        other => other.to_string(),
    }
}

/// Where the request went, for messages.
pub struct Route<'a> {
    pub url: String,
    pub proxy: Option<&'a Proxy>,
}

/// A connection failure, when it is the proxy's or a TLS failure.
fn route_failure(
    e: &(dyn std::error::Error + 'static),
    text: &str,
    timeout: bool,
    route: &Route,
) -> Option<(Kind, String)> {
    let url = &route.url;
    if let Some(t) = find_in_chain::<rustls::Error>(e) {
        let via = route
            .proxy
            .map(|p| format!(" through the proxy {p}"))
            .unwrap_or_default();
        return Some((
            Kind::Tls,
            format!(
                "TLS handshake with STS at {url}{via} failed: {}",
                tls_reason(t)
            ),
        ));
    }
    let p = route.proxy?;
    let low = text.to_ascii_lowercase();
    let msg = if low.contains("tunnel error: proxy authorization required") {
        format!("the proxy {p} asks for credentials (HTTP 407) to reach STS at {url}")
    } else if low.contains("tunnel error: unsuccessful") {
        format!("the proxy {p} refused to open a tunnel to STS at {url}")
    } else if low.contains("tunnel error: unexpected end of file") {
        format!("the proxy {p} closed the connection instead of opening a tunnel to STS at {url}")
    } else {
        let why = if timeout {
            "connection timed out"
        } else if low.contains("refused") {
            "connection refused"
        } else if low.contains("dns") || low.contains("resolve") || low.contains("lookup") {
            "the host name does not resolve"
        } else if low.contains("reset") {
            "connection reset"
        } else {
            return None;
        };
        format!("cannot reach the proxy {p} for STS at {url}: {why}")
    };
    Some((Kind::Proxy, msg))
}

/// The real client: aws-sdk-sts on a current-thread tokio runtime.
pub struct AwsSts {
    pub region: String,
    pub endpoint: Option<String>,
    /// The CA bundle that replaces the system's CAs (checked to be readable;
    /// its certificates are read by [`Sts::ready`]).
    pub ca_bundle: Option<BundleRef>,
    /// The bundle's certificates, read by [`Sts::ready`] (never on the cached
    /// path).
    pub loaded_bundle: std::cell::OnceCell<CaBundle>,
    /// The proxy requests go through ([`proxy_for`] on the endpoint).
    pub proxy: Option<Proxy>,
    /// Said once on stderr before the first call (a non-AWS endpoint).
    pub note: std::cell::Cell<Option<String>>,
    pub ui: crate::ui::Ui,
    /// The end of the run's whole budget (credential-process), if any: each
    /// call's operation timeout is cut to what is left of it.
    pub deadline: Option<std::time::Instant>,
    /// A problem of the proxy variables, reported by [`Sts::ready`] only when
    /// STS is needed: a cached run does not use the network.
    pub deferred: std::cell::Cell<Option<crate::error::Fail>>,
}

#[derive(Debug, Default)]
struct DateCapture(Arc<Mutex<Option<DateTime<Utc>>>>);

impl Intercept for DateCapture {
    fn name(&self) -> &'static str {
        "mfa-exec-date-capture"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(d) = context.response().headers().get("date") {
            if let Ok(t) = DateTime::parse_from_rfc2822(d) {
                *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.with_timezone(&Utc));
            }
        }
        Ok(())
    }
}

fn to_session(c: &aws_sdk_sts::types::Credentials) -> Result<Session, StsError> {
    let bad = |what: &str| StsError {
        kind: Kind::BadResponse,
        code: None,
        message: format!("the credentials in its answer have no {what}"),
        server_date: None,
    };
    if c.access_key_id().trim().is_empty() {
        return Err(bad("access key id"));
    }
    if c.secret_access_key().trim().is_empty() {
        return Err(bad("secret access key"));
    }
    if c.session_token().trim().is_empty() {
        return Err(bad("session token"));
    }
    // A value with a newline or another control character would break the
    // credentials file (or inject lines into it): no real STS sends one.
    for (what, v) in [
        ("access key id", c.access_key_id()),
        ("secret access key", c.secret_access_key()),
        ("session token", c.session_token()),
    ] {
        if v.chars().any(char::is_control) || v.trim() != v {
            return Err(StsError {
                kind: Kind::BadResponse,
                code: None,
                message: format!(
                    "the {what} in its answer holds control characters or surrounding spaces"
                ),
                server_date: None,
            });
        }
    }
    let exp = c.expiration();
    if exp.secs() <= 0 {
        return Err(bad("expiration"));
    }
    let expires =
        DateTime::from_timestamp(exp.secs(), exp.subsec_nanos()).ok_or_else(|| StsError {
            kind: Kind::BadResponse,
            code: None,
            message: "STS returned an expiration out of range".into(),
            server_date: None,
        })?;
    Ok(Session {
        access_key_id: c.access_key_id().to_string(),
        secret: Secret::new(c.secret_access_key()),
        token: Secret::new(c.session_token()),
        expires,
    })
}

pub fn map_sdk_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E>,
    date: Option<DateTime<Utc>>,
    route: &Route,
) -> StsError {
    let (kind, code, message) = match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code = err.code().unwrap_or("Unknown").to_string();
            let message = err.message().unwrap_or("").trim().to_string();
            let status = se.raw().status().as_u16();
            let kind = match classify(&code, &message) {
                Kind::Other if code == "Unknown" => Kind::BadResponse,
                k => k,
            };
            let message = if message.is_empty() {
                format!("HTTP {status}")
            } else {
                message
            };
            (kind, Some(code), message)
        }
        SdkError::TimeoutError(_) => (Kind::TimedOut, None, "no answer in time".into()),
        SdkError::DispatchFailure(df) => {
            let msg = format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
            if let Some((kind, message)) = route_failure(&e, &msg, df.is_timeout(), route) {
                (kind, None, message)
            } else if df.is_timeout() {
                (Kind::TimedOut, None, "connection timed out".into())
            } else if df.is_io() {
                let low = msg.to_ascii_lowercase();
                let what = if low.contains("refused") {
                    "connection refused"
                } else if low.contains("dns") || low.contains("resolve") || low.contains("lookup") {
                    "the host name does not resolve"
                } else if low.contains("reset") {
                    "connection reset"
                } else {
                    "network error"
                };
                (Kind::Unreachable, None, what.into())
            } else {
                (Kind::Unreachable, None, short_chain(&msg))
            }
        }
        SdkError::ResponseError(_) => (
            Kind::BadResponse,
            None,
            "it was cut off or malformed".to_string(),
        ),
        _ => {
            let msg = format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
            (Kind::Other, None, short_chain(&msg))
        }
    };
    StsError {
        kind,
        code,
        message,
        server_date: date,
    }
}

/// The last, most specific part of an error chain, on one line.
fn short_chain(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    // The SDK's chain ends in Debug dumps (`HttpInfo { .. }`); keep the last
    // plain-language part.
    one.split(": ")
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.contains(['{', '}', '(', ')']))
        .last()
        .map(|p| p.chars().take(200).collect())
        .unwrap_or_else(|| "unexpected error".to_string())
}

/// The credentials of a successful answer, or the mapped error.
fn finish<E: ProvideErrorMetadata + std::error::Error + 'static>(
    out: Result<Option<aws_sdk_sts::types::Credentials>, SdkError<E>>,
    server_date: Option<DateTime<Utc>>,
    route: &Route,
) -> Result<Issued, StsError> {
    match out {
        Ok(Some(c)) => Ok(Issued {
            session: to_session(&c)?,
            server_date,
        }),
        Ok(None) => Err(StsError {
            kind: Kind::BadResponse,
            code: None,
            message: "its answer has no credentials".into(),
            server_date,
        }),
        Err(e) => Err(map_sdk_error(e, server_date, route)),
    }
}

impl AwsSts {
    /// The CA bundle's certificates, read once (the first call after the
    /// cache check: [`Sts::ready`]).
    pub fn bundle(&self) -> Result<Option<&CaBundle>, Fail> {
        let Some(r) = &self.ca_bundle else {
            return Ok(None);
        };
        if self.loaded_bundle.get().is_none() {
            let _ = self.loaded_bundle.set(r.load()?);
        }
        Ok(self.loaded_bundle.get())
    }

    fn route(&self) -> Route<'_> {
        Route {
            url: endpoint_url(&self.region, self.endpoint.as_deref()),
            proxy: self.proxy.as_ref(),
        }
    }

    /// The client of one call. `once`: the request carries a one-time code,
    /// so it is sent once (SPEC §8.5: no retry sends the same code again, and
    /// the one attempt gets the whole operation timeout).
    fn client(
        &self,
        signer: &Signer,
        date: Arc<Mutex<Option<DateTime<Utc>>>>,
        once: bool,
    ) -> Result<aws_sdk_sts::Client, StsError> {
        // Read already by `ready` in every flow; an error here is reported
        // as the call's, never a silent fall back to the system's CAs.
        let bundle = self.bundle().map_err(|f| StsError {
            kind: Kind::Other,
            code: None,
            message: f.message,
            server_date: None,
        })?;
        if let Some(note) = self.note.take() {
            self.ui.note(&note);
        }
        let creds = Credentials::new(
            signer.access_key_id.clone(),
            signer.secret.expose().to_string(),
            signer.token.as_ref().map(|t| t.expose().to_string()),
            None,
            "mfa-exec",
        );
        let operation = match self.deadline {
            Some(d) => OPERATION_TIMEOUT
                .min(d.saturating_duration_since(std::time::Instant::now()))
                .max(Duration::from_secs(1)),
            None => OPERATION_TIMEOUT,
        };
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(if once {
                operation
            } else {
                ATTEMPT_TIMEOUT.min(operation)
            })
            .operation_timeout(operation)
            .build();
        let mut b = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(creds)
            .timeout_config(timeouts)
            .retry_config(if once {
                RetryConfig::disabled()
            } else {
                RetryConfig::standard()
            })
            .http_client(http_client(bundle, self.proxy.as_ref()))
            .interceptor(DateCapture(date));
        if let Some(url) = &self.endpoint {
            b = b.endpoint_url(url.clone());
        }
        Ok(aws_sdk_sts::Client::from_conf(b.build()))
    }

    /// The current-thread runtime of one call (STS here, IAM in `iam.rs`).
    pub fn runtime() -> Result<tokio::runtime::Runtime, StsError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StsError {
                kind: Kind::Other,
                code: None,
                message: format!("cannot start the async runtime: {e}"),
                server_date: None,
            })
    }
}

impl Sts for AwsSts {
    fn ready(&self) -> anyhow::Result<()> {
        if let Some(f) = self.deferred.take() {
            return Err(f.into());
        }
        self.bundle()?;
        Ok(())
    }

    fn get_session_token(
        &self,
        signer: &Signer,
        serial: Option<&str>,
        code: Option<&str>,
        duration: u64,
    ) -> Result<Issued, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone(), code.is_some())?;
        let rt = Self::runtime()?;
        let out = rt.block_on(
            client
                .get_session_token()
                .set_serial_number(serial.map(str::to_string))
                .set_token_code(code.map(str::to_string))
                .duration_seconds(duration as i32)
                .send(),
        );
        let server_date = *date.lock().unwrap_or_else(|e| e.into_inner());
        finish(out.map(|o| o.credentials), server_date, &self.route())
    }

    fn assume_role(&self, signer: &Signer, input: &AssumeRoleInput) -> Result<Issued, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone(), input.code.is_some())?;
        let rt = Self::runtime()?;
        let out = rt.block_on(
            client
                .assume_role()
                .role_arn(&input.role_arn)
                .role_session_name(&input.session_name)
                .set_external_id(input.external_id.clone())
                .duration_seconds(input.duration as i32)
                .set_serial_number(input.serial.clone())
                .set_token_code(input.code.clone())
                .send(),
        );
        let server_date = *date.lock().unwrap_or_else(|e| e.into_inner());
        finish(out.map(|o| o.credentials), server_date, &self.route())
    }

    fn get_federation_token(
        &self,
        signer: &Signer,
        input: &FederationTokenInput,
    ) -> Result<Issued, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone(), false)?;
        let rt = Self::runtime()?;
        let out = rt.block_on(
            client
                .get_federation_token()
                .name(&input.name)
                .policy(&input.policy)
                .duration_seconds(input.duration as i32)
                .send(),
        );
        let server_date = *date.lock().unwrap_or_else(|e| e.into_inner());
        finish(out.map(|o| o.credentials), server_date, &self.route())
    }

    fn get_caller_identity(&self, signer: &Signer) -> Result<String, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone(), false)?;
        let rt = Self::runtime()?;
        let out = rt.block_on(client.get_caller_identity().send());
        let server_date = *date.lock().unwrap_or_else(|e| e.into_inner());
        match out {
            Ok(o) => o.arn().map(str::to_string).ok_or_else(|| StsError {
                kind: Kind::BadResponse,
                code: None,
                message: "its answer has no Arn".into(),
                server_date,
            }),
            Err(e) => Err(map_sdk_error(e, server_date, &self.route())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            classify(
                "AccessDenied",
                "MultiFactorAuthentication failed with invalid MFA one time pass code. "
            ),
            Kind::InvalidCode
        );
        assert_eq!(
            classify(
                "AccessDenied",
                "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
            ),
            Kind::WrongDevice
        );
        assert_eq!(
            classify(
                "InvalidClientTokenId",
                "The security token included in the request is invalid."
            ),
            Kind::InvalidClientTokenId
        );
        assert_eq!(
            classify(
                "SignatureDoesNotMatch",
                "Signature expired: 20260101T000000Z is now earlier than ..."
            ),
            Kind::SignatureExpired
        );
        assert_eq!(
            classify(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match"
            ),
            Kind::SignatureMismatch
        );
        assert_eq!(
            classify(
                "RegionDisabledException",
                "STS is not activated in this region"
            ),
            Kind::RegionDisabled
        );
        assert_eq!(
            classify(
                "ExpiredToken",
                "The security token included in the request is expired"
            ),
            Kind::ExpiredToken
        );
        assert_eq!(
            classify("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."),
            Kind::ChainedDuration
        );
        assert_eq!(
            classify(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            ),
            Kind::MaxSessionDuration
        );
    }
}

#[cfg(test)]
mod network_tests {
    use super::*;

    fn proxy(pairs: &[(&str, &str)], url: &str) -> Option<(String, &'static str)> {
        proxy_for(&Env::from_pairs(pairs, Some("/h")), url)
            .unwrap()
            .map(|p| (p.shown, p.var))
    }

    #[test]
    fn proxy_choice_follows_the_sdk() {
        let https = "https://sts.eu-west-1.amazonaws.com";
        let http = "http://127.0.0.1:9000";
        assert_eq!(proxy(&[], https), None);
        let p = |s: &str, v| Some((s.to_string(), v));
        assert_eq!(
            proxy(&[("HTTPS_PROXY", "http://p:1")], https),
            p("http://p:1", "HTTPS_PROXY")
        );
        // Uppercase first; the scheme's own variable only.
        assert_eq!(
            proxy(
                &[("HTTPS_PROXY", "http://a:1"), ("https_proxy", "http://b:1")],
                https
            ),
            p("http://a:1", "HTTPS_PROXY")
        );
        assert_eq!(proxy(&[("HTTPS_PROXY", "http://a:1")], http), None);
        assert_eq!(
            proxy(&[("http_proxy", "a:3128")], http),
            p("http://a:3128", "http_proxy")
        );
        // ALL_PROXY when the scheme's variable is unset or unusable.
        assert_eq!(
            proxy(&[("all_proxy", "http://c:1")], https),
            p("http://c:1", "all_proxy")
        );
        assert_eq!(
            proxy(&[("HTTPS_PROXY", ""), ("ALL_PROXY", "http://c:1")], https),
            p("http://c:1", "ALL_PROXY")
        );
        // Credentials are never shown.
        assert_eq!(
            proxy(&[("HTTPS_PROXY", "http://u:secret@p:8080")], https),
            p("http://p:8080", "HTTPS_PROXY")
        );
        // NO_PROXY (domain suffix, IP), for ALL_PROXY too; CGI disables it all.
        for no in [
            "amazonaws.com",
            ".amazonaws.com",
            "*",
            "x, sts.eu-west-1.amazonaws.com",
        ] {
            assert_eq!(
                proxy(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)], https),
                None,
                "{no}"
            );
        }
        assert_eq!(
            proxy(
                &[("ALL_PROXY", "http://p:1"), ("no_proxy", "127.0.0.1")],
                http
            ),
            None
        );
        assert_eq!(
            proxy(
                &[("HTTP_PROXY", "http://p:1"), ("REQUEST_METHOD", "GET")],
                http
            ),
            None
        );
    }

    #[test]
    fn unusable_proxy_scheme_is_refused() {
        let e = proxy_for(
            &Env::from_pairs(&[("ALL_PROXY", "socks5://p:1080")], Some("/h")),
            "https://sts.us-east-1.amazonaws.com",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "the proxy socks5://p:1080 (from ALL_PROXY) cannot be used: invalid proxy URL: unsupported proxy scheme: socks5"
        );
    }

    #[test]
    fn endpoint_url_default() {
        assert_eq!(
            endpoint_url("eu-west-3", None),
            "https://sts.eu-west-3.amazonaws.com"
        );
        assert_eq!(endpoint_url("x", Some("http://h:1")), "http://h:1");
    }
}
