//! The network path of every AWS call (STS, IAM, the console sign-in): the CA
//! bundle trusted, the proxy gone through, and the TLS context and HTTP client
//! built from them (SPEC §8.2).
//!
//! It never sends a request, never starts tokio and never words an STS error
//! (a failure on this path is named in `errors.rs`, from the [`Route`]). The
//! cached path only checks that a named bundle is readable
//! ([`BundleRef::check`]); the certificates are read on the refresh path.
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
//!   any code ([`Sts::ready`](super::Sts::ready)), so an unparsable file is a
//!   configuration error before anything is asked or sent, never a panic
//!   inside the TLS layer, and the cached path does not pay for parsing a
//!   system bundle (0.8 ms measured).
//! - **Proxy.** [`proxy_for`] picks the proxy from the environment snapshot
//!   exactly as the SDK's default client does (`ProxyConfig::from_env`, which
//!   is hyper-util's `Matcher::from_env`: `HTTPS_PROXY`/`https_proxy` for https,
//!   `HTTP_PROXY`/`http_proxy` for http, else `ALL_PROXY`/`all_proxy`; uppercase
//!   first; `NO_PROXY`/`no_proxy` bypasses; nothing under CGI's
//!   `REQUEST_METHOD`), using hyper-util's own matcher on the one endpoint
//!   called. The client is then given that proxy explicitly (or none), so the
//!   proxy an error names is the one the request went through.

use crate::env::Env;
use crate::error::{fail, Fail};
use crate::profile::Fact;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// A CA bundle, read and checked: the PEM text the TLS layer will trust alone.
#[derive(Debug, Clone)]
pub struct CaBundle {
    pem: Vec<u8>,
    /// Certificates in it.
    pub count: usize,
}

/// A CA bundle named by the plan, found and readable but not read yet: the
/// cached path checks this much (a stat and an open), and the certificates are
/// read and checked only when STS is about to be called ([`Sts::ready`](super::Sts::ready)),
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

/// Where the request went, for messages.
pub struct Route<'a> {
    pub url: String,
    pub proxy: Option<&'a Proxy>,
}

#[cfg(test)]
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
}
