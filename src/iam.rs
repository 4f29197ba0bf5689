//! The IAM seam for `keys rotate` (SPEC §8.3): the three calls rotation makes,
//! and the real client behind them, built like the STS client (`sts/client.rs`): from
//! the plan only, static credentials (P's MFA session), explicit timeouts, the
//! standard retry policy for ListAccessKeys only, tokio started here and only
//! here. CreateAccessKey and DeleteAccessKey are not idempotent: each is sent
//! once (a retry after a reset would create a second key, issue 21 item 2);
//! the caller finds out what happened with ListAccessKeys.
//!
//! Endpoint: `AWS_ENDPOINT_URL_IAM`, else `AWS_ENDPOINT_URL`, else the
//! profile's `endpoint_url`, else the SDK's (IAM is global: region
//! `us-east-1`). Errors come back as [`StsError`] (same SDK error model).
//!
//! Never used outside `keys rotate`; never reads the ambient AWS configuration.

use crate::keys::LongTermKeys;
use crate::secret::Secret;
use crate::sts::{
    map_sdk_error, CaBundle, Kind, Proxy, Route, Signer, StsError, ATTEMPT_TIMEOUT,
    CONNECT_TIMEOUT, OPERATION_TIMEOUT,
};
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// The calls rotation makes, each for the named IAM user.
pub trait Iam {
    /// Ids of the user's access keys.
    fn list_access_keys(&self, signer: &Signer, user: &str) -> Result<Vec<String>, StsError>;
    fn create_access_key(&self, signer: &Signer, user: &str) -> Result<LongTermKeys, StsError>;
    fn delete_access_key(&self, signer: &Signer, user: &str, id: &str) -> Result<(), StsError>;
}

pub struct AwsIam {
    pub endpoint: Option<String>,
    /// The same TLS trust and proxy rules as STS.
    pub ca_bundle: Option<CaBundle>,
    pub proxy: Option<Proxy>,
}

/// IAM's global endpoint (the SDK's default for `us-east-1`).
pub const DEFAULT_ENDPOINT: &str = "https://iam.amazonaws.com";

/// True when a failed call may still have been carried out by IAM: no
/// answer from IAM (a reset, a timeout, a cut-off answer) after the request
/// may have left.
pub fn outcome_unknown(e: &StsError) -> bool {
    e.code.is_none() && !e.unsent
}

fn bad(message: &str) -> StsError {
    StsError {
        kind: Kind::BadResponse,
        code: None,
        message: message.to_string(),
        server_date: None,
        unsent: false,
    }
}

impl AwsIam {
    /// The client; `retry`: the standard retry policy (idempotent calls only).
    fn client(&self, signer: &Signer, retry: bool) -> aws_sdk_iam::Client {
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
        let mut b = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(creds)
            .timeout_config(timeouts)
            .retry_config(if retry {
                RetryConfig::standard()
            } else {
                RetryConfig::disabled()
            })
            .http_client(crate::sts::http_client(
                self.ca_bundle.as_ref(),
                self.proxy.as_ref(),
            ));
        if let Some(url) = &self.endpoint {
            b = b.endpoint_url(url.clone());
        }
        aws_sdk_iam::Client::from_conf(b.build())
    }

    fn fail<E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        e: aws_sdk_iam::error::SdkError<E>,
    ) -> StsError {
        let route = Route {
            url: self
                .endpoint
                .clone()
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            proxy: self.proxy.as_ref(),
        };
        map_sdk_error(e, None, &route)
    }

    fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, StsError> {
        Ok(crate::sts::AwsSts::runtime()?.block_on(f))
    }
}

impl Iam for AwsIam {
    fn list_access_keys(&self, signer: &Signer, user: &str) -> Result<Vec<String>, StsError> {
        let c = self.client(signer, true);
        let out = Self::block_on(c.list_access_keys().user_name(user).send())?
            .map_err(|e| self.fail(e))?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|m| m.access_key_id().map(str::to_string))
            .collect())
    }

    fn create_access_key(&self, signer: &Signer, user: &str) -> Result<LongTermKeys, StsError> {
        crate::error::mark_changed();
        let c = self.client(signer, false);
        let out = Self::block_on(c.create_access_key().user_name(user).send())?
            .map_err(|e| self.fail(e))?;
        let k = out
            .access_key()
            .ok_or_else(|| bad("its answer has no access key"))?;
        if k.access_key_id().is_empty() || k.secret_access_key().is_empty() {
            return Err(bad("the new access key in its answer is empty"));
        }
        Ok(LongTermKeys {
            access_key_id: k.access_key_id().to_string(),
            secret: Secret::new(k.secret_access_key()),
        })
    }

    fn delete_access_key(&self, signer: &Signer, user: &str, id: &str) -> Result<(), StsError> {
        crate::error::mark_changed();
        let c = self.client(signer, false);
        Self::block_on(
            c.delete_access_key()
                .user_name(user)
                .access_key_id(id)
                .send(),
        )?
        .map_err(|e| self.fail(e))?;
        Ok(())
    }
}
