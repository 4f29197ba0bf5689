//! Profiles another mechanism signs in (issue 25 item 6): IAM Identity Center
//! (`sso_session`, `sso_start_url`), the AWS CLI's console sign-in
//! (`login_session`, written by `aws login`), and `credential_process` (another
//! tool's, or mfa-exec's own `mfa-exec credential-process Q`). Such a profile
//! holds no long-term keys, so resolving it would otherwise fail with "no
//! long-term keys", whose hint (configure) invites adding IAM keys to it. This
//! names the kind instead, and for a profile that calls mfa-exec, the profile
//! it calls. Pure: reads the config index only.
//!
//! Only consulted when the keys are missing: a profile that also holds what
//! mfa-exec needs (keys, `source_profile`) resolves as usual.

use super::resolve::Resolver;
use super::{err_hint, Fact};
use crate::error::Fail;

/// What signs a profile in, when it is not mfa-exec's kind of profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Foreign {
    /// `sso_session` or `sso_start_url` (which one).
    Sso(&'static str, Fact<String>),
    /// `login_session` (`aws login`).
    Login(Fact<String>),
    /// `credential_process = mfa-exec credential-process Q`: Q.
    CallsMfaExec(Fact<String>, String),
    /// Any other `credential_process`.
    Process(Fact<String>),
}

impl Resolver<'_> {
    /// The kind of profile `p` when another mechanism signs it in.
    pub fn foreign(&self, p: &str) -> Option<Foreign> {
        let c = &self.config;
        for key in ["sso_session", "sso_start_url"] {
            if let Some(f) = c.get(p, key) {
                return Some(Foreign::Sso(key, f));
            }
        }
        if let Some(f) = c.get(p, "login_session") {
            return Some(Foreign::Login(f));
        }
        let f = c.get(p, "credential_process")?;
        match calls_mfa_exec(&f.value) {
            Some(q) => Some(Foreign::CallsMfaExec(f, q)),
            None => Some(Foreign::Process(f)),
        }
    }

    /// The error for foreign profile `p` (what it is, what to run instead).
    pub(super) fn foreign_fail(&self, p: &str, kind: &Foreign) -> Fail {
        match kind {
            Foreign::Sso(key, f) => err_hint(
                format!(
                    "'{p}' is an IAM Identity Center profile ({key}, {}): the AWS CLI signs in with 'aws sso login'; mfa-exec is not needed",
                    f.origin
                ),
                format!("run 'aws sso login --profile {p}', then 'aws --profile {p} ...'"),
            ),
            Foreign::Login(f) => err_hint(
                format!(
                    "'{p}' is an AWS CLI sign-in profile (login_session, {}, written by 'aws login'): the AWS CLI signs in with 'aws login'; mfa-exec is not needed",
                    f.origin
                ),
                format!("run 'aws login --profile {p}', then 'aws --profile {p} ...'"),
            ),
            Foreign::CallsMfaExec(f, q) => err_hint(
                format!(
                    "'{p}' gets its credentials from mfa-exec itself (credential_process = {}, {}): it is the profile for other tools, not one to run mfa-exec with",
                    f.value, f.origin
                ),
                format!("run 'mfa-exec {q} -- COMMAND', or 'aws --profile {p} ...'"),
            ),
            Foreign::Process(f) => err_hint(
                format!(
                    "'{p}' gets its credentials from another program (credential_process = {}, {}): the AWS CLI and SDKs run it; mfa-exec is not needed",
                    f.value, f.origin
                ),
                format!("use 'aws --profile {p} ...' (or AWS_PROFILE={p}) directly"),
            ),
        }
    }
}

/// Q in `mfa-exec credential-process Q` (any path to mfa-exec, options
/// before or after Q, `--profile Q`).
pub fn calls_mfa_exec(command: &str) -> Option<String> {
    let mut words = command
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''));
    let program = words.next()?;
    let base = program.rsplit('/').next().unwrap_or(program);
    if base != "mfa-exec" {
        return None;
    }
    let mut words = words.skip_while(|w| *w != "credential-process").skip(1);
    while let Some(w) = words.next() {
        if w == "--profile" {
            return words.next().map(str::to_string);
        }
        if let Some(q) = w.strip_prefix("--profile=") {
            return Some(q.to_string());
        }
        if !w.starts_with('-') {
            return Some(w.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::calls_mfa_exec;

    #[test]
    fn mfa_exec_commands() {
        let q = |c: &str| calls_mfa_exec(c);
        assert_eq!(
            q("mfa-exec credential-process test").as_deref(),
            Some("test")
        );
        assert_eq!(
            q("/usr/local/bin/mfa-exec credential-process -q --profile list").as_deref(),
            Some("list")
        );
        assert_eq!(
            q("mfa-exec credential-process -q prod").as_deref(),
            Some("prod")
        );
        assert_eq!(q("aws-vault export --format=json test"), None);
        assert_eq!(q("mfa-exec list"), None);
    }
}
