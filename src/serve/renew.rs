//! Renewing what `--server` serves, ahead of the SDKs (SPEC §9.2).
//!
//! When: the served session is renewed once it has [`lead`] left: botocore's
//! advisory refresh window (15 minutes, the widest of the SDKs: JS v3 and Go v2
//! use 5) plus a margin of half the rest of the session, at most 5 minutes. So
//! for a one-hour role session renewal starts at 20 minutes left, and a client
//! that fetches at any time gets a session outside its refresh window whenever
//! a fresher one can be had. A session of 15 minutes or less (STS may issue
//! less than was asked) is inside botocore's window from the start; it is
//! renewed ahead of the 5-minute window instead, or at half its length when
//! it is shorter still. The lead follows the lifetime of each session served.
//!
//! How: through the same [`flow::obtain`] as a normal run, with the lead as
//! its `--min-remaining`, no code source but a prompt that is forbidden
//! (`no_input`), and a silent UI (the terminal is the child's). So the cache
//! rules, the lock per (source, device), the reuse of the source's MFA session
//! (a role session is renewed with AssumeRole and no code), the atomic write
//! and the one-code guard are those of every run, and a fresher session
//! another run wrote (the destination, or a GetSessionToken session of the same
//! source and device) is adopted.
//!
//! When a code would be needed (a GetSessionToken profile, a role whose
//! source session runs out, a direct role longer than an hour), a desktop
//! dialog asks for it when one can open ([`otp::dialog::for_renewal`]: never
//! the terminal, which is the child's), its first line saying which session
//! ends when; closed when the child exits, none under the run's
//! `--no-input`. One dialog per renewal when it is declined; when what
//! followed it failed (its program, STS refusing the codes, the network after
//! the code was sent, which a new code may get past) the renewal is retried
//! like any failure, with at most [`MAX_DIALOGS`] dialogs in all, never one
//! every retry. The dialog or `mfa_process` leaves the signal
//! handlers alone (`otp::serving_signals`): a signal sent to mfa-exec still
//! goes to the child. When none can open, or it gave no session, one line on
//! stderr says when the served session ends and to run `mfa-exec P -f -- true`
//! in another terminal; the credentials file is then watched (every [`POLL`])
//! and a fresher session adopted as soon as it appears. A code from
//! `--token-code` or `MFA_EXEC_TOKEN_CODE` was spent on the first session and is
//! never used again. `mfa_process` gives the code when mfa-exec has no
//! controlling terminal (CI, a service); with one, it is not run during a
//! serve, as it would take the terminal from the child.
//!
//! When STS (or the lock, or the disk) fails, the valid session keeps being
//! served, one line says so, and the renewal is retried every [`RETRY`]; the
//! line is not repeated until a renewal succeeded again. Nothing is written
//! on a failure (the flow's guarantee).

use super::endpoint::Endpoint;
use crate::cmd::App;
use crate::flow::{self, Deps, Options};
use crate::otp;
use crate::profile::{Fact, Origin, Plan};
use crate::session::Session;
use crate::ui::Ui;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// botocore's advisory refresh window, the widest of the SDKs'.
pub const SDK_WINDOW: u64 = 15 * 60;
/// The JS SDK v3's and the Go SDK v2's window.
pub const SDK_WINDOW_SHORT: u64 = 5 * 60;
/// The most renewal starts before the SDK window.
pub const MARGIN_MAX: u64 = 5 * 60;
/// Between renewal attempts after a failure.
pub const RETRY: Duration = Duration::from_secs(30);
/// Between looks at the credentials file while waiting for a session made
/// with a code in another terminal.
pub const POLL: Duration = Duration::from_secs(2);
/// The longest the loop sleeps before looking at the wall clock again (a
/// laptop that slept does not renew late).
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Seconds added to the lead when a renewal asks the flow for a fresh session.
const SLACK: u64 = 5;
/// How long a renewal waits for the session lock.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Seconds before the end of a session that lasts `lifetime` seconds at which
/// it is renewed: the widest SDK window it is longer than (botocore's 15
/// minutes, else the 5 of JS v3 and Go v2), plus half the rest of the
/// session, at most [`MARGIN_MAX`]; half of it when it is shorter than both.
pub fn lead(lifetime: u64) -> u64 {
    for window in [SDK_WINDOW, SDK_WINDOW_SHORT] {
        if lifetime > window {
            return window + ((lifetime - window) / 2).min(MARGIN_MAX);
        }
    }
    lifetime / 2
}

/// `MFA_EXEC_TEST_RENEW_RETRY_MS` replaces [`RETRY`] and [`POLL`] (debug
/// builds only), so a test sees a retry without waiting half a minute.
fn retry_every(normal: Duration) -> Duration {
    crate::testhook::renew_retry_ms()
        .map(Duration::from_millis)
        .unwrap_or(normal)
}

/// What one attempt found.
pub enum Outcome {
    /// A session with more than the lead left (or the freshest there is).
    Fresh(Session),
    /// Renewing needs a one-time code, and none may be asked for.
    NeedsCode,
    /// The desktop dialog that asked for the code was cancelled, closed or
    /// left unanswered.
    Declined,
    /// A dialog gave a code (or was tried) and the renewal failed after it.
    DialogFailed(anyhow::Error),
    /// STS, the lock or the disk failed.
    Failed(anyhow::Error),
}

/// One renewal through the normal flow (see the module doc).
pub fn attempt(app: &App, plan: &Plan, lead: u64, dialog: Option<String>) -> Outcome {
    let mut p = plan.clone();
    // A little more than the lead, so that the served session, due now, is
    // never taken for fresh at the boundary second.
    p.min_remaining = Fact::new(lead + SLACK, Origin::Default);
    let quiet = Ui::new(0, true);
    let file = match app.store.load() {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e),
    };
    let mut sts = match app.sts(&p) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e),
    };
    sts.ui = quiet;
    sts.note.set(None);
    // The code sources of a normal run, less those already spent or that
    // would ask: the flag's and the variable's code went into the first
    // session, and no prompt takes the child's terminal. `mfa_process` runs
    // only when there is no controlling terminal: with one, it would take the
    // terminal from the child while it runs (SPEC §3: it gets the terminal).
    let mut codes = app.codes(&p, &crate::cli::SessionArgs::default());
    codes.flag = None;
    codes.env = None;
    codes.no_input = true;
    codes.renewal = dialog;
    if has_terminal() {
        codes.process = None;
    }
    let keyring = crate::keystore::OsKeyring::new();
    let now = Utc::now;
    let deps = Deps {
        store: &app.store,
        sts: &sts,
        codes: &codes,
        now: &now,
        ui: quiet,
        keyring: &keyring,
        deadline: None,
    };
    let opts = Options {
        force: false,
        lock_timeout: LOCK_TIMEOUT,
    };
    match flow::obtain(&p, &file.doc, &opts, &deps) {
        Ok(s) => Outcome::Fresh(s),
        Err(_) if codes.declined.get() => Outcome::Declined,
        // A dialog was shown, and what followed failed (no code after three
        // tries, STS refused it, the dialog program failed, the network
        // after the code was sent): counted against MAX_DIALOGS.
        Err(e) if codes.shown.get() => Outcome::DialogFailed(e),
        Err(e) if otp::needed_input(&e) => Outcome::NeedsCode,
        Err(e) => Outcome::Failed(e),
    }
}

/// The lead for a session just obtained: from its lifetime, which is at most
/// the plan's duration (a cached session was issued earlier; STS may also
/// issue less than was asked).
fn lead_of(plan: &Plan, s: &Session) -> u64 {
    let left = s.remaining(Utc::now()).max(0) as u64;
    lead(plan.duration.value.min(left))
}

/// True when this process has a controlling terminal.
fn has_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .open("/dev/tty")
        .is_ok()
}

/// What the credentials file looks like on disk (to notice another run's write).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Option<(u64, u64, i64, i64)>);

fn stamp(path: &std::path::Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    Stamp(
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.ino(), m.len(), m.mtime(), m.mtime_nsec())),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The served session is outside the lead, or will be renewed at `next`.
    Scheduled,
    /// Waiting for a session made with a code elsewhere.
    NeedsCode,
    /// The last attempt failed.
    Failing,
}

/// The renewal schedule of one serve.
pub struct Renewer<'a> {
    app: &'a App,
    plan: &'a Plan,
    lead: u64,
    state: State,
    next: DateTime<Utc>,
    told: bool,
    file: Stamp,
    /// The run's `--no-input`: no dialog either.
    no_input: bool,
    /// Dialogs opened for this renewal that gave no session; at
    /// [`MAX_DIALOGS`] none opens until the next renewal.
    dialogs: u32,
}

/// At most this many dialogs per renewal when each was answered but the
/// renewal failed after it (a declined one ends them at once).
pub const MAX_DIALOGS: u32 = 3;

impl<'a> Renewer<'a> {
    pub fn new(app: &'a App, plan: &'a Plan, served: &Session, no_input: bool) -> Renewer<'a> {
        let lead = lead_of(plan, served);
        Renewer {
            app,
            plan,
            lead,
            state: State::Scheduled,
            next: served.expires - chrono::Duration::seconds(lead as i64),
            told: false,
            file: Stamp(None),
            no_input,
            dialogs: 0,
        }
    }

    /// The lead, for `--verbose`.
    pub fn lead(&self) -> u64 {
        self.lead
    }

    /// How long to sleep before [`Self::tick`].
    pub fn sleep(&self) -> Duration {
        let left = (self.next - Utc::now()).num_milliseconds().max(0) as u64;
        Duration::from_millis(left).min(MAX_SLEEP)
    }

    /// Does what is due, if anything.
    pub fn tick(&mut self, endpoint: &Endpoint) {
        let now = Utc::now();
        if now < self.next {
            return;
        }
        // Taken before the attempt reads the file: a write that lands during
        // the attempt is seen at the next poll.
        let current = stamp(&self.app.store.path);
        if self.state == State::NeedsCode && current == self.file {
            // Nothing new in the file yet.
            self.next = now + chrono::Duration::from_std(retry_every(POLL)).unwrap_or_default();
            return;
        }
        let served = endpoint.served();
        let ui = self.app.ui;
        let plan = self.plan;
        let profile = &plan.profile;
        let ends = served.expires_rfc3339();
        let other = format!("run 'mfa-exec {profile} -f -- true' in another terminal");
        let dialog = (self.dialogs < MAX_DIALOGS && !self.no_input).then(|| {
            format!("The session of {profile} that the running command uses ends at {ends}.")
        });
        let outcome = attempt(self.app, self.plan, self.lead, dialog);
        if endpoint.stopped() {
            // The command ended meanwhile (and closed any dialog): nothing
            // more to say or serve.
            return;
        }
        match outcome {
            Outcome::Fresh(s) => {
                self.dialogs = 0;
                if s.expires > served.expires {
                    ui.info(&format!(
                        "serving a renewed session of {profile}, which ends at {}",
                        s.expires_rfc3339()
                    ));
                    self.lead = lead_of(self.plan, &s);
                    endpoint.serve(s.clone());
                }
                let best = if s.expires > served.expires {
                    &s
                } else {
                    &served
                };
                let at = best.expires - chrono::Duration::seconds(self.lead as i64);
                if at > Utc::now() {
                    self.state = State::Scheduled;
                    self.told = false;
                    self.next = at;
                } else {
                    // Only a session inside the lead could be had (another
                    // run wrote it while we waited): look again later.
                    self.state = State::Failing;
                    self.next = Utc::now()
                        + chrono::Duration::from_std(retry_every(RETRY)).unwrap_or_default();
                }
            }
            Outcome::NeedsCode => {
                let line = (!self.told).then(|| {
                    format!(
                        "the session of {profile} ends at {ends} and renewing it needs an MFA code; {other}"
                    )
                });
                self.wait_for_file(current, line);
            }
            Outcome::Declined => {
                // One dialog per renewal: then the other terminal, as when
                // no dialog can open.
                self.dialogs = MAX_DIALOGS;
                self.wait_for_file(current, Some(format!(
                    "the session of {profile} ends at {ends} and renewing it needs an MFA code, which the dialog did not give; {other}"
                )));
            }
            Outcome::DialogFailed(e) if self.dialogs + 1 < MAX_DIALOGS => {
                // Retried like any failure, with a dialog again.
                self.dialogs += 1;
                self.retry_later(&e, &ends);
            }
            Outcome::DialogFailed(e) => {
                self.dialogs = MAX_DIALOGS;
                self.wait_for_file(current, Some(format!(
                    "could not renew the session of {profile} with a code from the dialog: {e:#}; the session ends at {ends}; {other}"
                )));
            }
            Outcome::Failed(e) => self.retry_later(&e, &ends),
        }
    }

    /// Says `line`, if any, then waits for another run to write a fresher
    /// session (polled every [`POLL`]).
    fn wait_for_file(&mut self, current: Stamp, line: Option<String>) {
        if let Some(line) = line {
            self.app.ui.warn(&line);
        }
        self.told = true;
        self.state = State::NeedsCode;
        self.file = current;
        self.next = Utc::now() + chrono::Duration::from_std(retry_every(POLL)).unwrap_or_default();
    }

    /// Keeps serving and retries in [`RETRY`]; the failure is said once
    /// until a renewal succeeds again.
    fn retry_later(&mut self, e: &anyhow::Error, ends: &str) {
        if !self.told {
            self.app.ui.warn(&format!(
                "could not renew the session of {}: {e:#}; still serving the current one, which ends at {ends}, and retrying",
                self.plan.profile
            ));
            self.told = true;
        }
        self.state = State::Failing;
        self.next = Utc::now() + chrono::Duration::from_std(retry_every(RETRY)).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_stays_outside_the_sdk_window() {
        assert_eq!(lead(3600), 20 * 60);
        assert_eq!(lead(43_200), 20 * 60);
        assert_eq!(lead(920), 910);
        assert_eq!(lead(900), 300 + 300);
        assert_eq!(lead(320), 310);
        assert_eq!(lead(300), 150);
        for d in 901..5000 {
            assert!(lead(d) >= SDK_WINDOW && lead(d) < d, "{d}");
        }
        for d in 301..=900 {
            assert!(lead(d) >= SDK_WINDOW_SHORT && lead(d) < d, "{d}");
        }
    }
}
