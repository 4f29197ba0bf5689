//! The real STS client: aws-sdk-sts on a current-thread tokio runtime, behind
//! the [`Sts`] trait.
//!
//! The client is built from the resolved plan only (SPEC §6): static
//! credentials, the plan's region and endpoint, explicit timeouts (the SDK has
//! no read or operation timeout by default, so a silent server would hang
//! forever), the standard retry policy. It uses `aws_sdk_sts::Config::builder()`
//! rather than `aws_config::defaults()`, because the latter also reads the
//! ambient `AWS_PROFILE`, profile files and retry settings; the endpoint
//! variables `AWS_ENDPOINT_URL_STS`/`AWS_ENDPOINT_URL` are resolved into the plan
//! by `profile.rs` instead. tokio is started here, on the refresh path only,
//! as a current-thread runtime.
//!
//! It never runs on the cached path: [`AwsSts`] is a plain struct until a call
//! builds the SDK client and the runtime. It never words an error for the user
//! (`errors.rs` maps and describes them) and never writes a session.

use super::errors::{map_sdk_error, Kind, StsError};
use super::net::{http_client, BundleRef, CaBundle, Proxy, Route};
use super::{
    endpoint_url, AssumeRoleInput, FederationTokenInput, Issued, Signer, Sts, ATTEMPT_TIMEOUT,
    CONNECT_TIMEOUT, OPERATION_TIMEOUT,
};
use crate::error::Fail;
use crate::secret::Secret;
use crate::session::Session;
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
    /// The proxy requests go through ([`proxy_for`](super::proxy_for) on the endpoint).
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
        unsent: false,
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
                unsent: false,
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
            unsent: false,
        })?;
    Ok(Session {
        access_key_id: c.access_key_id().to_string(),
        secret: Secret::new(c.secret_access_key()),
        token: Secret::new(c.session_token()),
        expires,
    })
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
            unsent: false,
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
            unsent: false,
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
                unsent: false,
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
                unsent: false,
            }),
            Err(e) => Err(map_sdk_error(e, server_date, &self.route())),
        }
    }
}
