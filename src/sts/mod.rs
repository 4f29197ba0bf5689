//! The STS seam: a small trait the flow calls, what goes into and comes out
//! of it, and where the calls go.
//!
//! This module owns the [`Sts`] trait, its inputs and outputs ([`Signer`],
//! [`AssumeRoleInput`], [`FederationTokenInput`], [`Issued`]), the endpoint a
//! plan calls ([`endpoint_url`], [`endpoint_shown`]), the timeouts of every
//! AWS call and how a clock difference with STS is shown ([`round_skew`]). It
//! never starts tokio, never builds the SDK client and never reads a file;
//! the submodules below do, and the SDK client and tokio live in `client` alone.
//!
//! - [`net`]: the CA bundle and the proxy; the TLS context and HTTP client of
//!   every AWS call.
//! - [`client`]: [`AwsSts`], the real client (aws-sdk-sts on a current-thread
//!   tokio runtime), built on the refresh path only.
//! - [`errors`]: the one place STS errors are understood: SDK errors to a
//!   [`Kind`] ([`map_sdk_error`], [`classify`]) and a kind to the SPEC §7
//!   text ([`describe`]).

pub mod client;
pub mod errors;
pub mod net;

pub use client::AwsSts;
pub use errors::{classify, describe, map_sdk_error, Kind, StsError};
pub use net::{
    http_client, proxy_config, proxy_for, tls_context, BundleRef, CaBundle, Proxy, Route,
};

use crate::profile::Plan;
use crate::secret::Secret;
use crate::session::Session;
use chrono::{DateTime, Utc};
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
            unsent: false,
        })
    }
}

/// The URL STS is called at: the plan's endpoint, else the regional one.
pub fn endpoint_url(region: &str, endpoint: Option<&str>) -> String {
    match endpoint {
        Some(e) => e.to_string(),
        None => format!("https://sts.{region}.amazonaws.com"),
    }
}

/// The endpoint STS was called at, for messages.
pub fn endpoint_shown(plan: &Plan) -> String {
    endpoint_url(
        &plan.sts_region.value,
        plan.endpoint.as_ref().map(|e| e.value.as_str()),
    )
}

/// A clock difference in seconds as messages show it: from a minute on,
/// rounded to whole minutes (90 s shows as 2 minutes).
pub fn round_skew(secs: i64) -> i64 {
    if secs.abs() >= 60 {
        (secs as f64 / 60.0).round() as i64 * 60
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_url_default() {
        assert_eq!(
            endpoint_url("eu-west-3", None),
            "https://sts.eu-west-3.amazonaws.com"
        );
        assert_eq!(endpoint_url("x", Some("http://h:1")), "http://h:1");
    }
}
