//! Getting a session for a resolved plan (SPEC §1 steps 2-3, §6): the cached
//! path, and the refresh path with its lock, code, STS calls and write.
//!
//! The cached path reads the credentials document already loaded for
//! resolution and returns: no lock, no tokio, no SDK. Everything else happens
//! under the lock of (source, device), so N concurrent runs lead to one code and
//! one STS call: the first holder refreshes, the waiters find its session.
//!
//! It never builds the STS client or starts tokio itself (it calls the [`Sts`]
//! seam it is given, on the refresh path only), never words an STS error
//! (`sts::errors::describe` does, from the [`Kind`]) and never writes a file
//! but through the [`Store`]. Unit tests with a scripted STS: `flow/tests.rs`.
//!
//! Decisions:
//! - A waiter accepts a session written while it waited (its access key id
//!   changed) whatever `--min-remaining` or `--force` say, if it has not expired.
//! - `--force` asks for a new code and new sessions, the source's MFA session
//!   of a role included.
//! - A fresh GetSessionToken session of the same (source, device) in another
//!   section is copied into the destination without a code (so `mfa-exec test`
//!   then `mfa-exec other` asks once when both use the same keys and device).

use crate::duration::human;
use crate::error::fail;
use crate::otp::{CodeOrigin, CodeSource, TRIES};
use crate::profile::{Keys, Plan, CHAIN_MAX};
use crate::session::{self, apply_session, find_marked, read_session, Marker, Session};
use crate::store::{self, Store, Waited};
use crate::sts::{describe, round_skew, AssumeRoleInput, Issued, Kind, Signer, Sts, StsError};
use crate::ui::Ui;
use crate::used_codes::UsedCodes;
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Options of one run that are not part of the profile.
pub struct Options {
    pub force: bool,
    pub lock_timeout: Duration,
}

/// The effects the flow needs, passed in.
pub struct Deps<'a> {
    pub store: &'a Store,
    pub sts: &'a dyn Sts,
    pub codes: &'a CodeSource,
    pub now: &'a dyn Fn() -> DateTime<Utc>,
    pub ui: Ui,
    /// Read only when a refresh needs long-term keys that live there.
    pub keyring: &'a dyn crate::keystore::Keyring,
    /// The end of the run's whole budget (credential-process), if any: the
    /// write lock is waited for only until then (at least a second).
    pub deadline: Option<std::time::Instant>,
}

/// How long a write waits for the write lock: 10 s, cut to what is left of
/// the run's budget (but at least a second, to write what STS issued).
fn write_timeout(deps: &Deps) -> Duration {
    let full = Duration::from_secs(10);
    match deps.deadline {
        Some(d) => full
            .min(d.saturating_duration_since(std::time::Instant::now()))
            .max(Duration::from_secs(1)),
        None => full,
    }
}

/// The cached path: a fresh session for the plan in the loaded document.
pub fn cached(plan: &Plan, doc: &crate::ini::Document, now: DateTime<Utc>) -> Option<Session> {
    let c = read_session(doc, &plan.destination)?;
    (c.marker.as_ref() == Some(&plan.marker()) && c.session.fresh(now, plan.min_remaining.value))
        .then_some(c.session)
}

/// A fresh session for the plan: cached, or refreshed under the lock. The
/// first time a role session is written (its section was absent), say which
/// profile other tools use (issue 25 item 13): `aws --profile prod` would
/// start the AWS CLI's own assume-role flow and MFA prompt.
pub fn obtain(
    plan: &Plan,
    doc: &crate::ini::Document,
    opts: &Options,
    deps: &Deps,
) -> Result<Session> {
    // Not under credential-process (its caller is the other tool), nor with
    // --server (the terminal is the child's; mfa-exec writes only its renewal
    // lines there, SPEC §9.2).
    let first = plan.is_role()
        && deps.deadline.is_none()
        && !plan.server.value
        && !doc.has_section(&plan.destination);
    let session = obtain_session(plan, doc, opts, deps)?;
    if first {
        deps.ui.note(&format!(
            "the role session of '{}' is in [{dest}] of {}: other tools use it as 'aws --profile {dest}' ('aws --profile {}' starts the AWS CLI's own MFA prompt)",
            plan.profile,
            deps.store.shown,
            plan.profile,
            dest = plan.destination,
        ));
    }
    Ok(session)
}

fn obtain_session(
    plan: &Plan,
    doc: &crate::ini::Document,
    opts: &Options,
    deps: &Deps,
) -> Result<Session> {
    if !opts.force {
        if let Some(s) = cached(plan, doc, (deps.now)()) {
            deps.ui.info(&format!(
                "using the cached session in [{}]",
                plan.destination
            ));
            return Ok(s);
        }
    }
    store_writable(deps.store)?;
    deps.store.probe_write_lock()?;
    deps.sts.ready()?;
    let before = read_session(doc, &plan.destination).map(|c| c.session.access_key_id);
    // GetSessionToken sessions of (source, device) already there before the wait.
    let before_source: Vec<String> = find_marked(doc, &plan.source_marker())
        .into_iter()
        .map(|c| c.session.access_key_id)
        .collect();
    let lock_path = deps
        .store
        .session_lock_path(&plan.source.profile, plan.serial())?;
    let note = format!("pid {}, profile {}", std::process::id(), plan.profile);
    let name = store::LockName {
        shown: store::tilde(&lock_path),
        hint: "another mfa-exec is waiting for a code; answer it, or raise --lock-timeout",
    };
    let (_lock, waited) = store::lock(&lock_path, &name, &note, opts.lock_timeout, |holder| {
        let who = holder
            .map(|h| h.0)
            .unwrap_or_else(|| "another mfa-exec".into());
        deps.ui.notice(&format!(
            "waiting for {who}, which is getting the MFA session of '{}'",
            plan.source.profile
        ));
    })?;
    let file = deps.store.load()?;
    let doc = &file.doc;
    let now = (deps.now)();
    if let Some(c) = read_session(doc, &plan.destination) {
        if c.marker.as_ref() == Some(&plan.marker()) {
            let new = before.as_deref() != Some(c.session.access_key_id.as_str());
            if waited == Waited::Yes && new && c.session.remaining(now) > 0 {
                deps.ui
                    .info("using the session another mfa-exec just wrote");
                return Ok(c.session);
            }
            if !opts.force && c.session.fresh(now, plan.min_remaining.value) {
                return Ok(c.session);
            }
        }
    }
    // SPEC §6: a waiter accepts any session of the same source and device
    // written after it began waiting, whichever profile's run wrote it, even
    // with --force (`mfa-exec -f test & mfa-exec -f test2`: one code).
    let written_meanwhile = (waited == Waited::Yes)
        .then(|| {
            find_marked(doc, &plan.source_marker())
                .into_iter()
                .find(|c| {
                    !before_source.contains(&c.session.access_key_id)
                        && c.session.remaining(now) > 0
                })
                .map(|c| c.session)
        })
        .flatten();
    if written_meanwhile.is_some() {
        deps.ui.info(
            "using the MFA session another mfa-exec just wrote for the same source and device",
        );
    }
    if plan.is_role() {
        role_session(plan, doc, opts, deps, written_meanwhile)
    } else {
        let session = match written_meanwhile.or_else(|| reusable_source(plan, doc, opts, deps)) {
            Some(s) => {
                deps.ui.info(&format!(
                    "copying the MFA session of '{}' into [{}]",
                    plan.source.profile, plan.destination
                ));
                s
            }
            None => mfa_session(plan, plan.duration.value, deps)?,
        };
        write(deps, &plan.destination, &session, &plan.marker())?;
        Ok(session)
    }
}

/// SPEC §8.1: a credentials file mfa-exec could not replace is found before a
/// code is asked for (as root, mode bits stop nothing, as for any writer).
fn store_writable(store: &Store) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let target = store::canonical_target(&store.path)?;
    store::check_regular(&target, &store.shown, false)?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let access = |p: &std::path::Path| -> bool {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a valid NUL-terminated path.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    };
    if target.exists() && !access(&target) {
        return Err(fail(format!(
            "{} is read-only; mfa-exec will not replace it",
            store.shown
        ))
        .hint(format!(
            "make it writable (chmod u+w {}), or use a session that is still fresh",
            store::tilde(&target)
        ))
        .into());
    }
    if dir.exists() && !access(dir) {
        return Err(fail(format!(
            "cannot write the session: the directory {} of {} is not writable",
            store::tilde(dir),
            store.shown
        ))
        .hint("mfa-exec replaces the file atomically, so it needs to create a file beside it")
        .into());
    }
    Ok(())
}

/// A fresh GetSessionToken session of (source, device) in any section.
fn reusable_source(
    plan: &Plan,
    doc: &crate::ini::Document,
    opts: &Options,
    deps: &Deps,
) -> Option<Session> {
    if opts.force {
        return None;
    }
    let now = (deps.now)();
    find_marked(doc, &plan.source_marker())
        .into_iter()
        .find(|c| c.session.fresh(now, plan.min_remaining.value))
        .map(|c| c.session)
}

/// The long-term keys as a signer: from the plan when they sit in a file, else
/// read from the keyring now (the one place a run touches the keyring).
fn long_term_signer(plan: &Plan, deps: &Deps) -> Result<Signer> {
    let keys = match &plan.source.keys {
        Keys::File(k) => k.clone(),
        Keys::Keyring { account } => {
            deps.ui.info(&format!(
                "reading the long-term keys of '{account}' from {}",
                deps.keyring.backend()
            ));
            crate::keys::load(deps.keyring, account)?
        }
    };
    Ok(Signer {
        access_key_id: keys.access_key_id,
        secret: keys.secret,
        token: None,
    })
}

fn session_signer(s: &Session) -> Signer {
    Signer {
        access_key_id: s.access_key_id.clone(),
        secret: s.secret.clone(),
        token: Some(s.token.clone()),
    }
}

/// Asks for a code and calls `call` with it, re-asking (prompt only) when STS
/// rejects the code. Every code passes the one-code guard first (SPEC §8.5):
/// one already sent for the device in the last two minutes is never sent.
fn with_code(
    plan: &Plan,
    deps: &Deps,
    what: &str,
    call: &dyn Fn(&str) -> Result<Issued, StsError>,
) -> Result<Session> {
    let guard = UsedCodes::open(deps.store, deps.ui).until(deps.deadline);
    let serial = plan.serial().unwrap_or_default();
    let claim = |code: &str| guard.claim(serial, code);
    let mut retry = false;
    for attempt in 1..=TRIES {
        let code = deps.codes.get(retry, &claim, &deps.ui)?;
        deps.ui.progress(&format!("{what}..."));
        match call(&code) {
            Ok(issued) => {
                check_clock(deps, &issued);
                return Ok(issued.session);
            }
            Err(e)
                if e.kind == Kind::InvalidCode
                    && deps.codes.origin() == CodeOrigin::Prompt
                    && attempt < TRIES =>
            {
                retry = true;
            }
            Err(e) => {
                if never_reached_sts(&e) {
                    guard.release(serial, &code);
                }
                return Err(describe(plan, None, &e, (deps.now)()).into());
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// True when a write of a session into `section` will not be refused: one
/// occurrence, no key mfa-exec sets twice, and the SPEC §2 overwrite rule.
fn safe_to_write(doc: &crate::ini::Document, section: &str) -> bool {
    doc.section_lines(section).len() <= 1
        && doc.repeated_key(section, session::SESSION_KEYS).is_none()
        && session::writable(doc, section).is_ok()
}

/// True when the request certainly never reached STS, so AWS did not see its
/// code: the failure came while connecting (DNS, a refused connection, the
/// proxy's answer to CONNECT, the TLS handshake; [`StsError::unsent`]). A
/// reset, a timeout or any other failure may come after STS read it, also
/// through a proxy's tunnel: the code stays spent (issue 21 item 4).
fn never_reached_sts(e: &StsError) -> bool {
    e.unsent
}

/// GetSessionToken with the long-term keys, the device and a code.
fn mfa_session(plan: &Plan, duration: u64, deps: &Deps) -> Result<Session> {
    let serial = plan
        .serial()
        .expect("a GetSessionToken plan has a device")
        .to_string();
    let signer = long_term_signer(plan, deps)?;
    deps.ui.info(&format!(
        "GetSessionToken for '{}' with key {} and device {serial}, {}",
        plan.source.profile,
        crate::secret::mask_key_id(&signer.access_key_id),
        human(duration)
    ));
    with_code(plan, deps, "getting an MFA session from STS", &|code| {
        deps.sts
            .get_session_token(&signer, Some(&serial), Some(code), duration)
    })
}

/// The role flow: the source's MFA session (cached or new), then each hop.
fn role_session(
    plan: &Plan,
    doc: &crate::ini::Document,
    opts: &Options,
    deps: &Deps,
    written_meanwhile: Option<Session>,
) -> Result<Session> {
    let final_marker = plan.marker();
    if plan.direct_assume() {
        // Longer than the chaining cap: AssumeRole directly with the code.
        let hop = &plan.roles[0];
        deps.ui.info(&format!(
            "{} is longer than 1h: assuming {} directly with the MFA code (a code per role)",
            human(plan.duration.value),
            hop.role_arn.value
        ));
        let signer = long_term_signer(plan, deps)?;
        let serial = plan.serial().map(str::to_string);
        let session = if serial.is_some() {
            with_code(plan, deps, "assuming the role with STS", &|code| {
                deps.sts
                    .assume_role(&signer, &assume_input(plan, 0, Some(code), (deps.now)()))
            })?
        } else {
            let i = deps
                .sts
                .assume_role(&signer, &assume_input(plan, 0, None, (deps.now)()))
                .map_err(|e| describe(plan, Some(0), &e, (deps.now)()))?;
            i.session
        };
        write(deps, &plan.destination, &session, &final_marker)?;
        return Ok(session);
    }
    let mut started_over = false;
    // The key id of a cached source session STS refused, dropped with the write
    // of its replacement.
    let mut stale: Option<String> = None;
    loop {
        // The signer of the first hop: the source's MFA session, or its long-term
        // keys when the role has no MFA device.
        let (signer, cached_source) = if plan.serial.is_some() {
            let reusable = written_meanwhile
                .clone()
                .or_else(|| reusable_source(plan, doc, opts, deps));
            match reusable.filter(|_| !started_over) {
                Some(s) => (session_signer(&s), Some(s)),
                None => {
                    let s = mfa_session(plan, plan.source_duration.value, deps)?;
                    // Kept even if an AssumeRole after it fails.
                    // A section already holding (or having held) this session,
                    // else the source's own destination. `doc` was read under
                    // the session lock, so no other mfa-exec changed it since.
                    // Only a section the write will accept: one whose keys
                    // are not duplicated (resolution checked the fallback).
                    let dest = find_marked(doc, &plan.source_marker())
                        .into_iter()
                        .map(|c| c.section)
                        .find(|s| safe_to_write(doc, s))
                        .unwrap_or_else(|| plan.source_destination.clone());
                    // A refused cached session is dropped in this same write,
                    // never before the prompt: Ctrl-C or a failure there leaves
                    // the file as it was.
                    write_dropping(deps, &dest, &s, &plan.source_marker(), stale.as_deref())?;
                    (session_signer(&s), None)
                }
            }
        } else {
            (long_term_signer(plan, deps)?, None)
        };
        let mut signer = signer;
        let mut result = None;
        for i in 0..plan.roles.len() {
            let input = assume_input(plan, i, None, (deps.now)());
            deps.ui
                .progress(&format!("assuming {} with STS...", input.role_arn));
            match deps.sts.assume_role(&signer, &input) {
                Ok(issued) => {
                    check_clock(deps, &issued);
                    signer = session_signer(&issued.session);
                    result = Some(issued.session);
                }
                Err(e)
                    if i == 0
                        && cached_source.is_some()
                        && !started_over
                        && matches!(e.kind, Kind::ExpiredToken | Kind::InvalidClientTokenId) =>
                {
                    deps.ui
                        .info("the cached MFA session was refused; dropping it and starting over");
                    stale = cached_source.as_ref().map(|s| s.access_key_id.clone());
                    started_over = true;
                    result = None;
                    break;
                }
                Err(e) => return Err(describe(plan, Some(i), &e, (deps.now)()).into()),
            }
        }
        if let Some(session) = result {
            write(deps, &plan.destination, &session, &final_marker)?;
            return Ok(session);
        }
    }
}

/// Removes the session keys of every section holding the session `key_id`.
fn drop_sessions(doc: &mut crate::ini::Document, marker: &Marker, key_id: &str) -> Result<()> {
    for c in find_marked(doc, marker) {
        if c.session.access_key_id == key_id {
            for k in session::SESSION_KEYS {
                doc.remove_key(&c.section, k)?;
            }
        }
    }
    Ok(())
}

fn assume_input(plan: &Plan, i: usize, code: Option<&str>, now: DateTime<Utc>) -> AssumeRoleInput {
    let hop = &plan.roles[i];
    let last = i + 1 == plan.roles.len();
    AssumeRoleInput {
        role_arn: hop.role_arn.value.clone(),
        session_name: hop
            .session_name
            .clone()
            .unwrap_or_else(|| format!("mfa-exec-{}", now.timestamp())),
        external_id: hop.external_id.clone(),
        duration: if last {
            plan.duration.value
        } else {
            CHAIN_MAX.min(plan.duration.value.max(900))
        },
        serial: code.and(plan.serial().map(str::to_string)),
        code: code.map(str::to_string),
    }
}

/// Writes a session into `section` through the store; refuses a section that
/// became someone else's meanwhile.
fn write(deps: &Deps, section: &str, s: &Session, marker: &Marker) -> Result<()> {
    write_dropping(deps, section, s, marker, None)
}

/// `write`, also removing in the same edit every other section that holds the
/// session `stale` (with `marker`).
fn write_dropping(
    deps: &Deps,
    section: &str,
    s: &Session,
    marker: &Marker,
    stale: Option<&str>,
) -> Result<()> {
    deps.store.modify(write_timeout(deps), &|doc| {
        if let Err(reason) = session::writable(doc, section) {
            return Err(fail(format!(
                "refusing to write the session into [{section}] of {}: {reason} now",
                deps.store.shown
            ))
            .into());
        }
        apply_session(doc, section, s, marker)?;
        match stale {
            Some(key_id) => drop_sessions(doc, marker, key_id),
            None => Ok(()),
        }
    })?;
    deps.ui.info(&format!(
        "wrote the session into [{section}] of {}",
        deps.store.shown
    ));
    Ok(())
}

fn check_clock(deps: &Deps, issued: &Issued) {
    if let Some(d) = issued.server_date {
        let skew = ((deps.now)() - d).num_seconds();
        if skew.abs() > 60 {
            let skew = round_skew(skew);
            deps.ui.warn(&format!(
                "the system clock is {} {} STS's clock; sessions may look fresher or staler than they are",
                human(skew.unsigned_abs()),
                if skew > 0 { "ahead of" } else { "behind" }
            ));
        }
    }
}

#[cfg(test)]
mod tests;
