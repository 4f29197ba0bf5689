//! The main flow: `mfa-exec P [-- CMD...]` and `mfa-exec exec P [-- CMD...]`.
//!
//! Owns the order of the main flow as SPEC §8.1 sets it: resolve, look the
//! command up on `PATH`, get the session, exec. Never writes or prompts itself
//! (`flow` and `otp` do), and never returns on success: the process becomes the
//! command. With `--server` (SPEC §9.2) the command is spawned instead and
//! `serve` runs until it exits.

use super::{App, LOCK_TIMEOUT};
use crate::child;
use crate::cli::{RunArgs, SessionArgs};
use crate::env::Env;
use crate::session::parse_expiry;
use crate::ui::Ui;
use anyhow::Result;
use std::ffi::OsString;

/// Runs the command with P's session; returns only on failure.
pub fn run(env: Env, ui: Ui, a: &RunArgs) -> Result<i32> {
    let name = a.profile.name()?.to_string();
    let session = &a.session;
    // Before the pass-through and the cache: a malformed code fails every run.
    crate::otp::check_given(
        session.token_code.as_deref(),
        env.get("MFA_EXEC_TOKEN_CODE"),
    )?;
    let command = child::command_or_shell(&env, &a.command);
    // A serve never passes the inherited static keys through. The variable is
    // read as resolution reads it; a malformed value skips the pass-through,
    // so resolution reports it.
    let serving = a.server
        || env
            .get("MFA_EXEC_SERVER")
            .is_some_and(|v| crate::profile::parse_bool(v) != Some(false));
    if let Some(vars) = pass_through(&env, &name, session).filter(|_| !serving) {
        ui.info(&format!(
            "already inside mfa-exec {name} with a fresh session; passing through"
        ));
        let program = child::lookup(&command, &vars)?;
        child::exec(&program, &command, vars)?;
    }
    let app = App::load(env, ui)?;
    let mut req = app.request(&name, &session.resolve);
    req.server_flag = a.server;
    let plan = app.plan_for(req)?;
    // SPEC §8.1: the command is looked up before any prompt or request. The
    // child's PATH is the inherited one (the session sets no PATH).
    let inherited: Vec<(OsString, OsString)> = app
        .env
        .vars()
        .filter(|(k, _)| *k == "PATH")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let program = child::lookup(&command, &inherited)?;
    let s = app.session(&plan, session, LOCK_TIMEOUT)?;
    if plan.server.value {
        return crate::serve::run(&app, &plan, &program, &command, s, session.no_input);
    }
    let region = plan.region.as_ref().map(|r| r.value.as_str());
    let vars = child::child_env(&app.env, &plan.profile, &s, region);
    child::exec(&program, &command, vars)?;
    unreachable!("exec returns only errors")
}

/// Inside `mfa-exec P`, `mfa-exec P` runs the command with the environment as it
/// is while the inherited session is fresh (SPEC §4 "Nesting").
fn pass_through(env: &Env, name: &str, s: &SessionArgs) -> Option<Vec<(OsString, OsString)>> {
    if s.force || env.get("MFA_EXEC_PROFILE") != Some(name) {
        return None;
    }
    env.get("AWS_ACCESS_KEY_ID")?;
    env.get("AWS_SESSION_TOKEN")?;
    let exp = parse_expiry(env.get("AWS_CREDENTIAL_EXPIRATION")?)?;
    // A malformed value is reported by the normal flow, which resolves it again.
    let min =
        crate::profile::min_remaining(s.resolve.min_remaining, env.get("MFA_EXEC_MIN_REMAINING"))
            .ok()?
            .value;
    if (exp - chrono::Utc::now()).num_seconds() < min as i64 {
        return None;
    }
    Some(
        env.vars()
            .filter(|(k, _)| *k != "MFA_EXEC_TOKEN_CODE")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}
