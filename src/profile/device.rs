//! The MFA device of a profile: `--mfa-serial`, `MFA_EXEC_MFA_SERIAL`, the
//! chain's `mfa_serial`/`mfa_arn`, aws-mfa's `aws_mfa_device`, then
//! `[default]`; checked against IAM's shape. Pure: it never asks for a code,
//! never reads the clock or a file.

use super::plan::{Fact, Origin, Request};
use super::resolve::Resolver;
use super::validate::valid_serial;
use super::{err, R};

impl Resolver<'_> {
    /// The MFA device of P: flag, env, the chain's config sections, aws-mfa's
    /// `aws_mfa_device`, then `[default]`.
    pub(super) fn device(&self, req: &Request, chain: &[String]) -> R<Option<Fact<String>>> {
        let found = if let Some(s) = &req.mfa_serial_flag {
            Some(Fact::new(s.clone(), Origin::Flag("--mfa-serial")))
        } else if let Some(s) = &req.mfa_serial_env {
            Some(Fact::new(s.clone(), Origin::Env("MFA_EXEC_MFA_SERIAL")))
        } else {
            let mut found = None;
            for p in chain {
                found = self
                    .config
                    .get(p, "mfa_serial")
                    .or_else(|| self.config.get(p, "mfa_arn"));
                if found.is_some() {
                    break;
                }
            }
            if found.is_none() {
                for p in chain {
                    let lt = format!("{p}-long-term");
                    if let Some(v) = self.creds().get(&lt, "aws_mfa_device") {
                        let line = self.creds().line_of(&lt, "aws_mfa_device").unwrap_or(0);
                        found = Some(Fact::new(v.to_string(), self.creds_origin(&lt, line)));
                        break;
                    }
                }
            }
            if found.is_none() && !chain.iter().any(|c| c == "default") {
                found = self
                    .config
                    .get("default", "mfa_serial")
                    .or_else(|| self.config.get("default", "mfa_arn"));
            }
            found
        };
        if let Some(f) = &found {
            if !valid_serial(&f.value) {
                return Err(err(format!(
                    "invalid MFA device '{}' (from {}): expected an ARN such as arn:aws:iam::123456789012:mfa/name (9-256 characters of letters, digits and +=/:,.@_-)",
                    f.value, f.origin
                )));
            }
        }
        Ok(found)
    }
}
