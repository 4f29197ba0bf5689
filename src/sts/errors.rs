//! STS errors, in one place: an SDK error mapped to a [`Kind`]
//! ([`map_sdk_error`], [`classify`]), and a kind turned into the SPEC §7 text
//! ([`describe`]: one line naming what is at fault, plus a hint). A new row of
//! the SPEC §7 table is a [`Kind`], a `classify` arm and a `describe` arm,
//! all here.
//!
//! It never calls STS, never retries and never decides what the flow does
//! next (the flow branches on [`Kind`]).
//!
//! A TLS failure (an untrusted or wrong certificate) and a proxy that cannot
//! be reached or will not tunnel are told apart from "STS unreachable"
//! ([`Kind::Tls`], [`Kind::Proxy`]).

use super::net::Route;
use super::{endpoint_shown, round_skew};
use crate::duration::human;
use crate::error::{fail, Fail};
use crate::profile::Plan;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

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
    /// True only when the request certainly never left mfa-exec: the failure
    /// came from establishing the connection (DNS, connect, the proxy's
    /// answer to CONNECT, the TLS handshake), before a byte of the request
    /// was written (issue 21 item 4). Anything else may have reached AWS.
    pub unsent: bool,
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

pub fn map_sdk_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E>,
    date: Option<DateTime<Utc>>,
    route: &Route,
) -> StsError {
    let unsent = matches!(&e, SdkError::DispatchFailure(_)) && failed_connecting(&e);
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
            if let Some((kind, message)) = route_failure(&e, &msg, df.is_timeout(), unsent, route) {
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
        unsent,
    }
}

/// True when the error chain holds hyper-util's client error saying the
/// connector failed (`is_connect`): the TCP connect, DNS, the proxy tunnel
/// and the TLS handshake all run in the connector, before the request is
/// written. The SDK keeps that error as the source of its `ConnectorError`.
fn failed_connecting(e: &(dyn std::error::Error + 'static)) -> bool {
    find_in_chain::<hyper_util::client::legacy::Error>(e).is_some_and(|h| h.is_connect())
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

/// A connection failure, when it is the proxy's or a TLS failure.
fn route_failure(
    e: &(dyn std::error::Error + 'static),
    text: &str,
    timeout: bool,
    unsent: bool,
    route: &Route,
) -> Option<(Kind, String)> {
    let url = &route.url;
    if let Some(t) = find_in_chain::<rustls::Error>(e) {
        let via = route
            .proxy
            .map(|p| format!(" through the proxy {p}"))
            .unwrap_or_default();
        let what = if unsent {
            "TLS handshake"
        } else {
            "TLS connection"
        };
        return Some((
            Kind::Tls,
            format!("{what} with STS at {url}{via} failed: {}", tls_reason(t)),
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
        if unsent {
            format!("cannot reach the proxy {p} for STS at {url}: {why}")
        } else {
            // The tunnel was open: the request may have reached STS.
            format!("the connection to STS at {url} through the proxy {p} failed after the request was sent: {why}")
        }
    };
    Some((Kind::Proxy, msg))
}

/// SPEC §7: an STS error as one line naming what is at fault, plus a hint.
/// `hop`: the role hop whose AssumeRole failed (none: the source's call);
/// `now`: the local clock, compared with STS's `Date` for a skew.
pub fn describe(plan: &Plan, hop: Option<usize>, e: &StsError, now: DateTime<Utc>) -> Fail {
    let p = &plan.profile;
    let explain = format!("run 'mfa-exec explain {p}'");
    let keys = plan.source.place();
    let hop_name = hop.map(|i| plan.roles[i].profile.clone());
    let role = hop
        .map(|i| plan.roles[i].role_arn.value.clone())
        .unwrap_or_default();
    let sts = e
        .code
        .as_deref()
        .map(|c| format!(" (STS: {c})"))
        .unwrap_or_default();
    let f = match e.kind {
        Kind::InvalidCode => fail(format!("the MFA code was wrong or already used{sts}"))
            .hint("wait for the next code and run the command again"),
        Kind::WrongDevice => fail(format!(
            "the MFA device {} does not belong to the user of the keys in {keys}{sts}",
            plan.serial().unwrap_or("?")
        ))
        .hint(explain),
        // Signed with a session (a role hop after the first, or the first hop
        // through the source's MFA session): the long-term keys are not at fault.
        Kind::InvalidClientTokenId if signed_with_session(plan, hop) => fail(format!(
            "STS refused the session that signed the request to assume {role} as invalid{sts}"
        ))
        .hint(format!(
            "run 'mfa-exec clear {p}' and try again; if it repeats, check that the keys of {keys} are active"
        )),
        Kind::InvalidClientTokenId => fail(format!("the long-term keys of {keys} are wrong or deactivated{sts}")).hint(explain),
        Kind::SignatureExpired => {
            let by = e
                .server_date
                .map(|d| {
                    let s = round_skew((now - d).num_seconds());
                    format!(" by {} ({})", human(s.unsigned_abs()), if s > 0 { "ahead" } else { "behind" })
                })
                .unwrap_or_default();
            fail(format!("the system clock is off{by}; STS refused the request as expired{sts}"))
                .hint("set the clock (for example: timedatectl set-ntp true)")
        }
        Kind::SignatureMismatch => fail(format!("the secret key of {keys} is wrong{sts}")).hint(explain),
        Kind::ExpiredToken => fail(format!("the session used to sign the request has expired{sts}"))
            .hint(format!("run 'mfa-exec clear {p}' and try again")),
        Kind::RegionDisabled => fail(format!(
            "STS is not enabled in region {} (from {}){sts}",
            plan.sts_region.value, plan.sts_region.origin
        ))
        .hint("set another region for the profile, or enable the region in IAM account settings"),
        Kind::AccessDenied if hop.is_some() => fail(format!(
            "profile '{}': not authorized to assume {role}{sts}: {}",
            hop_name.clone().unwrap_or_default(),
            e.message
        ))
        .hint("check the role's trust policy, its MFA condition and external_id"),
        Kind::AccessDenied => fail(format!("access denied by STS{sts}: {}", e.message)).hint(explain),
        Kind::ChainedDuration => fail(format!(
            "profile '{}': AWS caps a role assumed with another session (role chaining) at 1 hour, and {} was asked{sts}",
            hop_name.clone().unwrap_or_else(|| p.clone()),
            human(plan.duration.value)
        ))
        .hint("set duration_seconds = 3600 or less for a chained role"),
        Kind::MaxSessionDuration => fail(format!(
            "profile '{}': {} exceeds the MaxSessionDuration of {role}{sts}",
            hop_name.clone().unwrap_or_else(|| p.clone()),
            human(plan.duration.value)
        ))
        .hint("lower duration_seconds, or raise the role's maximum session duration in IAM"),
        Kind::Throttled => fail(format!("STS is throttling requests{sts}: {}", e.message)).hint("try again in a minute"),
        Kind::Unreachable | Kind::TimedOut => fail(format!("STS unreachable at {}: {}", endpoint_shown(plan), e.message))
            .hint("check the network, or the endpoint (AWS_ENDPOINT_URL_STS, endpoint_url)"),
        Kind::Proxy => fail(e.message.clone())
            .hint("check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), or bypass it for the STS host with NO_PROXY"),
        Kind::Tls => fail(e.message.clone()).hint(match &plan.ca_bundle {
            Some(b) => format!("the CA bundle {} (from {}) replaces the system's CAs; add the CA that signs this certificate to it (AWS_CA_BUNDLE, ca_bundle)", b.value, b.origin),
            None => "if a TLS-inspecting proxy or a private CA signs it, set AWS_CA_BUNDLE or ca_bundle in the profile to a PEM file with that CA".to_string(),
        }),
        Kind::BadResponse => fail(format!("STS at {} sent an answer mfa-exec cannot read: {}", endpoint_shown(plan), e.message)),
        Kind::Other => fail(format!("STS refused the request{sts}: {}", e.message)),
    };
    match (hop_name, e.kind) {
        (
            Some(h),
            Kind::InvalidClientTokenId | Kind::SignatureMismatch | Kind::Other | Kind::BadResponse,
        ) => Fail {
            message: format!("profile '{h}': {}", f.message),
            ..f
        },
        _ => f,
    }
}

/// True when the request of `hop` was signed with a session rather than the
/// long-term keys.
fn signed_with_session(plan: &Plan, hop: Option<usize>) -> bool {
    match hop {
        None => false,
        Some(0) => plan.serial.is_some() && !plan.direct_assume(),
        Some(_) => true,
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
