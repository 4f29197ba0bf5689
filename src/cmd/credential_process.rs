//! `mfa-exec credential-process P`: AWS `credential_process` JSON on stdout
//! (Version 1, with Expiration), nothing else; prompts go to the terminal.
//!
//! Recursion guard: a profile whose own `credential_process` runs
//! `mfa-exec credential-process` for itself is refused by reading the config
//! (mfa-exec never calls the AWS CLI), and `mfa_process` runs with
//! `MFA_EXEC_CREDENTIAL_PROCESS` listing the profiles whose code it fetches, so
//! a loop through `mfa_process` is refused too.

use super::{App, CREDENTIAL_PROCESS_BUDGET, LOCK_TIMEOUT_CREDENTIAL_PROCESS};
use crate::cli::CredentialProcessArgs;
use crate::env::Env;
use crate::error::fail;
use crate::profile::ConfigIndex;
use crate::ui::Ui;
use anyhow::Result;
use std::io::Write;

pub fn run(env: Env, ui: Ui, a: &CredentialProcessArgs) -> Result<i32> {
    let name = a.profile.name()?.to_string();
    if let Some(chain) = env.get(crate::otp::SERVING_VAR) {
        if chain.split(',').any(|p| p == name) {
            return Err(fail(format!(
                "loop: mfa-exec credential-process {name} runs inside the mfa_process that fetches the code of {chain}"
            ))
            .into());
        }
    }
    let mut app = App::load(env, ui)?;
    app.credential_process = true;
    // The lock wait, mfa_process and STS together stay inside the SDKs' 60 s.
    app.budget = Some(
        crate::testhook::budget_ms()
            .map(std::time::Duration::from_millis)
            .unwrap_or(CREDENTIAL_PROCESS_BUDGET),
    );
    // What a run reads: the credentials file's [P] settings win (botocore
    // merges them, and so does resolution).
    let idx = ConfigIndex::build_merged(&app.files.config, &app.files.credentials);
    if let Some(cp) = idx.get(&name, "credential_process") {
        let words: Vec<&str> = cp.value.split_whitespace().collect();
        let calls_self = words
            .windows(2)
            .any(|w| w[0] == "credential-process" && w[1] == name)
            && words.iter().any(|w| w.ends_with("mfa-exec"));
        if calls_self {
            return Err(fail(format!(
                "profile '{name}' ({}) runs 'mfa-exec credential-process {name}' for itself, which would loop",
                cp.origin
            ))
            .hint("point it at the profile with the keys and MFA device, e.g. credential_process = mfa-exec credential-process <that profile>")
            .into());
        }
    }
    let plan = app.plan(&name, &a.session.resolve)?;
    let s = app.session(&plan, &a.session, LOCK_TIMEOUT_CREDENTIAL_PROCESS)?;
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": s.access_key_id,
        "SecretAccessKey": s.secret.expose(),
        "SessionToken": s.token.expose(),
        "Expiration": s.expires_rfc3339(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}")?;
    out.flush()?;
    Ok(0)
}
