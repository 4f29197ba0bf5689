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

use crate::secret::Secret;
use crate::store::Session;
use aws_sdk_sts::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sts::error::{BoxError, ProvideErrorMetadata, SdkError};
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

/// The real client: aws-sdk-sts on a current-thread tokio runtime.
pub struct AwsSts {
    pub region: String,
    pub endpoint: Option<String>,
    /// Said once on stderr before the first call (a non-AWS endpoint).
    pub note: std::cell::Cell<Option<String>>,
    pub ui: crate::ui::Ui,
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
            if df.is_timeout() {
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
        Err(e) => Err(map_sdk_error(e, server_date)),
    }
}

impl AwsSts {
    fn client(
        &self,
        signer: &Signer,
        date: Arc<Mutex<Option<DateTime<Utc>>>>,
    ) -> aws_sdk_sts::Client {
        if let Some(note) = self.note.take() {
            if !self.ui.quiet {
                eprintln!("mfa-exec: {note}");
            }
        }
        let creds = Credentials::new(
            signer.access_key_id.clone(),
            signer.secret.expose().to_string(),
            signer.token.as_ref().map(|t| t.expose().to_string()),
            None,
            "mfa-exec",
        );
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut b = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(creds)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard())
            .interceptor(DateCapture(date));
        if let Some(url) = &self.endpoint {
            b = b.endpoint_url(url.clone());
        }
        aws_sdk_sts::Client::from_conf(b.build())
    }

    fn runtime() -> Result<tokio::runtime::Runtime, StsError> {
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
    fn get_session_token(
        &self,
        signer: &Signer,
        serial: Option<&str>,
        code: Option<&str>,
        duration: u64,
    ) -> Result<Issued, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone());
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
        finish(out.map(|o| o.credentials), server_date)
    }

    fn assume_role(&self, signer: &Signer, input: &AssumeRoleInput) -> Result<Issued, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone());
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
        finish(out.map(|o| o.credentials), server_date)
    }

    fn get_caller_identity(&self, signer: &Signer) -> Result<String, StsError> {
        let date = Arc::new(Mutex::new(None));
        let client = self.client(signer, date.clone());
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
            Err(e) => Err(map_sdk_error(e, server_date)),
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
