//! `--server` (SPEC §9.2, issue 22): run the command as a child that gets its
//! credentials from a local endpoint which renews them, instead of static keys
//! that die with the session.
//!
//! Owns the order of a serve, once `cmd::exec` has the first session (cached,
//! or made with one code up front, exactly as a normal run): start the
//! [`endpoint`] on `127.0.0.1`, install the signal forwarding ([`signals`]),
//! spawn the command with [`crate::child::server_env`], then wait for it while
//! [`renew`] keeps the served session ahead of the SDKs' refresh windows. When
//! the child exits, the listener is closed at once (by the thread that waited
//! for it), and mfa-exec exits with the child's status (128+n for a signal);
//! mfa-exec's own failures before the child started stay 125 (126/127 when
//! the command cannot run).
//!
//! While the child runs, its stdin, stdout, stderr and the terminal are its
//! own: mfa-exec writes at most one line when a renewal needs a code or fails
//! (and `--verbose` notes), never to the terminal directly, and nothing when it
//! is a background job (`Ui`'s rule).
//!
//! Threads: the endpoint's (accept, one per connection), one that waits for
//! the child, and the main thread, which renews (the plan and the STS client
//! stay on it).

pub mod endpoint;
pub mod renew;
pub mod signals;

use crate::child;
use crate::cmd::App;
use crate::duration::human;
use crate::profile::Plan;
use crate::session::Session;
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

/// Serves `session` to `command` until it exits; returns its exit code.
pub fn run(
    app: &App,
    plan: &Plan,
    program: &Path,
    command: &[OsString],
    session: Session,
    no_input: bool,
) -> Result<i32> {
    let endpoint = Arc::new(endpoint::Endpoint::start(session.clone())?);
    let mut renewer = renew::Renewer::new(app, plan, &session, no_input);
    app.ui.info(&format!(
        "serving the session of {} at {} (AWS_CONTAINER_CREDENTIALS_FULL_URI, token in AWS_CONTAINER_AUTHORIZATION_TOKEN); it ends at {} and is renewed {} before it ends, {}",
        plan.profile,
        endpoint.url(),
        session.expires_rfc3339(),
        human(renewer.lead()),
        how_renewed(app, plan, no_input)
    ));
    shadowed(app);
    let region = plan.region.as_ref().map(|r| r.value.as_str());
    let vars = child::server_env(
        &app.env,
        &plan.profile,
        region,
        &endpoint.url(),
        endpoint.token(),
    );
    signals::install()?;
    // A renewal's mfa_process or dialog leaves these handlers alone.
    crate::otp::serving_signals();
    let mut child = child::spawn(program, command, vars)?;
    signals::set_child(child.id());
    let (tx, rx) = mpsc::channel();
    let ep = endpoint.clone();
    std::thread::Builder::new()
        .name("child".into())
        .spawn(move || {
            let status = child.wait();
            signals::clear_child();
            ep.stop();
            // A renewal's dialog or mfa_process waits for nobody now.
            crate::otp::close_jobs();
            let _ = tx.send(status);
        })
        .context("cannot start the thread that waits for the command")?;
    loop {
        match rx.recv_timeout(renewer.sleep()) {
            Ok(status) => {
                endpoint.stop();
                let status = status.context("cannot wait for the command")?;
                return Ok(child::exit_code(status));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => renewer.tick(&endpoint),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                anyhow::bail!("lost the thread that waits for the command")
            }
        }
    }
}

/// The SDKs read the shared files before the container endpoint: keys in
/// `[default]` (the profile they fall back to, as the child has no
/// `AWS_PROFILE`) would be used instead of the served session. Say so.
fn shadowed(app: &App) {
    let doc = &app.files.credentials.doc;
    if doc.get("default", "aws_access_key_id").is_some() {
        app.ui.warn(&format!(
            "[default] in {} holds keys, which the AWS SDKs use before the endpoint: the command will not get the session of --server",
            app.files.credentials.shown
        ));
    }
}

/// How the served session is renewed, in words (`--verbose`, `explain`).
/// `no_input`: the run's `--no-input` (no dialog either).
pub fn how_renewed(app: &App, plan: &Plan, no_input: bool) -> String {
    if plan.is_role() && !plan.direct_assume() && plan.serial.is_some() {
        return format!(
            "with AssumeRole from the MFA session of {} (no code while that lasts{})",
            plan.source.profile,
            match dialog_for(app, plan).filter(|_| !no_input) {
                Some(d) => format!("; then the code is asked in a {d} dialog"),
                None => String::new(),
            }
        );
    }
    if plan.is_role() && plan.serial.is_none() {
        return "with AssumeRole from the long-term keys (no MFA device)".to_string();
    }
    let code = match dialog_for(app, plan).filter(|_| !no_input) {
        Some(d) => format!(
            "with a code asked in a {d} dialog (not answered: when a fresher session appears in the credentials file; run 'mfa-exec {} -f -- true' in another terminal)",
            plan.profile
        ),
        None => format!(
            "when a fresher session appears in the credentials file (renewing needs a code: run 'mfa-exec {} -f -- true' in another terminal when asked)",
            plan.profile
        ),
    };
    if plan.mfa_process.is_some() {
        format!("with a code from mfa_process when there is no terminal, else {code}")
    } else {
        code
    }
}

/// The desktop dialog a renewal that needs a code would open, if any.
fn dialog_for(app: &App, plan: &Plan) -> Option<&'static str> {
    let desktop = crate::otp::dialog::Desktop::from_env(&app.env);
    crate::otp::dialog::for_renewal(plan.prompt.value, &desktop).map(|(p, _)| p.name())
}
