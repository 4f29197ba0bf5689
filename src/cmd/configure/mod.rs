//! `mfa-exec configure P`: set up (or change) a profile without hand-editing two
//! INI files.
//!
//! Asks, on the terminal (dialoguer), for the source profile holding long-term
//! keys (or new keys: key id, then the secret typed hidden), the MFA device,
//! region and session duration; every non-secret answer also has a flag, and
//! `--yes` makes it scriptable. It shows the exact lines each file gains or
//! changes (the secret masked), asks to confirm, then writes through the same
//! lossless, locked, atomic store as sessions.
//!
//! Decisions:
//! - The standard layout: `[profile P]` (`[default]` for `default`) with
//!   `source_profile` and `mfa_serial`, never the bare-section layout. When
//!   `[profile P]` is new, every answer goes in; when it exists, only keys whose
//!   value changes are written (a re-run with the same answers changes nothing).
//! - New keys go to `[S]` in the credentials file, `S` defaulting to
//!   `P-long-term`. The secret is read from the terminal or, with
//!   `--secret-from-stdin`, from stdin; never from a flag.
//! - Never into a session: when `[S]` holds `aws_session_token` (or
//!   `aws_security_token`, `x_security_token_expires`, or a marker key
//!   `x_mfa_exec_*`), configure refuses (exit 125, nothing read from stdin,
//!   nothing written), naming the section, with the hint
//!   `--source-profile P-long-term`. It does not redirect the keys to
//!   `[S-long-term]` on its own: by SPEC §2 `[S-long-term]` comes first among
//!   S's own long-term keys, so that would silently change the identity of
//!   profile S (and orphan its cached session), not just set up P.
//! - The current values are the ones a run reads: the settings of the
//!   credentials file's `[P]` win over its config sections (botocore merges
//!   them, and so does resolution; issue 21). A value configure changes that
//!   lives there is changed there, in place, and a note before the preview
//!   says so (`region of profile 'P' is set in ~/.aws/credentials:N [P] (the
//!   credentials file wins over ~/.aws/config): changed there`): a config
//!   value a run would ignore is never written. A `role_arn` there makes P a
//!   role profile (refused, naming that file and line). Likewise with
//!   `--keyring`, an `mfa_exec_keys` in the credentials file's `[S]` is set
//!   to `keyring` there too.
//! - The device defaults to the current one, else one derived from a `user_arn`
//!   key (`arn:aws:iam::A:user/N` → `arn:aws:iam::A:mfa/N`).
//! - No secret is ever shown: in the preview every secret access key and session
//!   token line (old or new, in either file) shows `****************`, and
//!   access key ids are masked as in verbose output (`AKIA************MPLE`);
//!   errors name a flag, never echo a secret. As a last check, any secret value
//!   found in either file (or the new secret) is starred out of the preview.
//! - Values are checked with real checks (not `debug_assert!`), before anything
//!   is read or written: a control character (newline, CR, NUL, other C0, DEL)
//!   in any flag value, typed answer or the secret from stdin (after its
//!   trailing newline is trimmed) is refused, naming the flag (SPEC §8.2).
//! - Both files or neither: the two edits go through one commit
//!   ([`crate::store::modify_both`]); a failure leaves both files as they were.
//! - `--quiet`: nothing is printed but errors. With `--yes` that includes the
//!   preview; without `--yes` the preview and the question still appear on the
//!   terminal (a confirmation needs them), but no closing note does.
//!
//! Files: this one runs the steps (ask, preview, confirm, write) and writes
//! through the store and the keyring; `prompt.rs` gathers and checks the
//! answers (never writes); `preview.rs` renders the lines each file gains or
//! loses with every secret masked (never reads the terminal or writes).

mod preview;
mod prompt;

use super::App;
use crate::cli::ConfigureArgs;
use crate::env::Env;
use crate::error::fail;
use crate::ini::Document;
use crate::keys::LongTermKeys;
use crate::keystore::Keyring;
use crate::profile::ConfigIndex;
use crate::secret::mask_key_id;
use crate::store::{modify_both, Part, Store};
use crate::ui::Ui;
use anyhow::Result;
use preview::{line_diff, mask_line, secret_values, star_out, STARS};
use prompt::{check_flags, gather, Answers, Tty};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

pub fn run(env: Env, ui: Ui, a: &ConfigureArgs) -> Result<i32> {
    check_flags(a)?;
    let app = App::load(env, ui)?;
    let p = a.profile.clone();
    if a.no_input && !a.yes {
        return Err(fail("--no-input needs --yes (there is nobody to confirm)").into());
    }
    let tty = Tty::open(a.no_input);
    // What a run reads: the settings of the credentials file's [P] win over
    // its config sections (botocore merges them; so does resolution).
    let idx = ConfigIndex::build_merged(&app.files.config, &app.files.credentials);
    let mut current = BTreeMap::new();
    current.insert("source_profile", idx.get(&p, "source_profile"));
    current.insert(
        "mfa_serial",
        idx.get(&p, "mfa_serial").or_else(|| idx.get(&p, "mfa_arn")),
    );
    current.insert("region", idx.get(&p, "region"));
    current.insert("duration_seconds", idx.get(&p, "duration_seconds"));
    if let Some(role) = idx.get(&p, "role_arn") {
        return Err(fail(format!(
            "profile '{p}' is a role profile ({}); configure sets up GetSessionToken profiles",
            role.origin
        ))
        .hint("edit role profiles by hand: role_arn, source_profile, mfa_serial")
        .into());
    }
    let ans = gather(&app, a, &current, tty.as_ref())?;
    let keyring = keyring_target(a, &ans)?;

    // The config edit.
    let section = if p == "default" {
        "default".to_string()
    } else {
        format!("profile {p}")
    };
    let section_exists = app.files.config.doc.has_section(&section);
    let cur = |k: &str| {
        current
            .get(k)
            .and_then(|f| f.as_ref())
            .map(|f| f.value.clone())
    };
    // A setting the credentials file's [P] holds wins over the config: a
    // value written into the config would be ignored, so it is changed in
    // [P] of the credentials file, where it lives (said before the preview).
    let creds_doc = &app.files.credentials.doc;
    let lives_in_creds = |k: &str| creds_doc.get(&p, k).is_some();
    let mut config_sets: Vec<(&str, String)> = Vec::new();
    let mut creds_sets: Vec<(&str, String)> = Vec::new();
    let mut want = |k: &'static str, v: String, same: bool| {
        if lives_in_creds(k) {
            if !same {
                creds_sets.push((k, v));
            }
        } else if !section_exists || !same {
            config_sets.push((k, v));
        }
    };
    // The device P already resolves to (from its source's `mfa_arn`, as in
    // the seed layout, or from [default]) needs no `mfa_serial` of its own:
    // a re-run that accepts every default changes nothing (issue 25 item 16).
    let resolves_to_device = section_exists
        && cur("source_profile").as_deref() == Some(ans.source.as_str())
        && resolved_serial(&app, &p).as_deref() == Some(ans.serial.as_str());
    let same = |k: &str, v: &str| cur(k).as_deref() == Some(v);
    want(
        "source_profile",
        ans.source.clone(),
        same("source_profile", &ans.source),
    );
    if !resolves_to_device {
        want(
            "mfa_serial",
            ans.serial.clone(),
            same("mfa_serial", &ans.serial),
        );
    }
    if let Some(r) = &ans.region {
        want("region", r.clone(), same("region", r));
    }
    if let Some(d) = ans.duration {
        let keep = cur("duration_seconds").and_then(|c| crate::duration::parse_duration(&c).ok())
            == Some(d);
        want("duration_seconds", d.to_string(), keep);
    }
    for (k, _) in &creds_sets {
        if let Some(Some(f)) = current.get(k) {
            app.ui.note(&format!(
                "{k} of profile '{p}' is set in {} (the credentials file wins over {}): changed there",
                f.origin, app.files.config.shown
            ));
        }
    }
    let config_edit = |doc: &mut Document| -> Result<()> {
        for (k, v) in &config_sets {
            doc.set(&section, k, v)?;
        }
        if keyring.is_some() {
            crate::keys::set_keyring_setting(doc, &ans.source)?;
        }
        Ok(())
    };
    // `mfa_exec_keys` of the source in the credentials file wins over the
    // config's: with --keyring it is changed there too.
    let creds_key_setting = keyring.is_some()
        && creds_doc
            .get(&ans.source, crate::keys::KEY_SETTING)
            .is_some();
    let creds_edit = |doc: &mut Document| -> Result<()> {
        for (k, v) in &creds_sets {
            doc.set(&p, k, v)?;
        }
        if creds_key_setting {
            doc.set(&ans.source, crate::keys::KEY_SETTING, "keyring")?;
        }
        if let (Some((id, secret)), None) = (&ans.new_keys, &keyring) {
            doc.set(&ans.source, "aws_access_key_id", id)?;
            doc.set(&ans.source, "aws_secret_access_key", secret)?;
        }
        Ok(())
    };

    // Preview: the exact lines, every secret masked.
    let mut cfg_doc = app.files.config.doc.clone();
    config_edit(&mut cfg_doc)?;
    let mut cred_doc = app.files.credentials.doc.clone();
    creds_edit(&mut cred_doc)?;
    let cfg_diff = line_diff(&app.files.config.doc.render(), &cfg_doc.render());
    let cred_diff = line_diff(&app.files.credentials.doc.render(), &cred_doc.render());
    // What the keyring entry holds now: a replacement is shown as one, with
    // the old key id masked, and confirmed like any other change (issue 21
    // item 3). Opened (D-Bus) only with --keyring.
    let ring = crate::keystore::OsKeyring::new();
    let ring_before = match &keyring {
        Some(_) => Some(
            ring.get(&ans.source)
                .map_err(|e| crate::keys::keyring_fail(&ring, "read", &ans.source, &e))?,
        ),
        None => None,
    };
    let ring_lines: Vec<String> = match (&keyring, &ring_before) {
        (Some(k), Some(had)) => {
            let new = format!(
                "+ AccessKeyId {}, SecretAccessKey {STARS}",
                mask_key_id(&k.access_key_id)
            );
            match had.as_ref().map(|s| LongTermKeys::from_json(s.expose())) {
                None => vec![new],
                Some(Ok(o)) if o == *k => vec![],
                Some(Ok(o)) => vec![
                    format!(
                        "- AccessKeyId {}, SecretAccessKey {STARS}",
                        mask_key_id(&o.access_key_id)
                    ),
                    new,
                ],
                Some(Err(_)) => vec!["- (an entry that is not mfa-exec's JSON)".into(), new],
            }
        }
        _ => vec![],
    };
    if cfg_diff.is_empty() && cred_diff.is_empty() && ring_lines.is_empty() {
        app.ui.note(&format!(
            "profile '{p}' is already configured that way; nothing to change"
        ));
        return Ok(0);
    }
    let mut preview = String::new();
    for (file, diff) in [
        (&app.files.config.shown, &cfg_diff),
        (&app.files.credentials.shown, &cred_diff),
    ] {
        if !diff.is_empty() {
            preview.push_str(&format!("{file}:\n"));
            for l in diff {
                let l = match l.split_at_checked(2) {
                    Some((sign @ ("- " | "+ "), rest)) => format!("{sign}{}", mask_line(rest)),
                    _ => l.clone(),
                };
                preview.push_str(&format!("  {l}\n"));
            }
        }
    }
    if !ring_lines.is_empty() {
        preview.push_str(&format!("{}:\n", crate::keys::keyring_place(&ans.source)));
        for l in &ring_lines {
            preview.push_str(&format!("  {l}\n"));
        }
    }
    let mut secrets: Vec<String> = Vec::new();
    if let Some((_, secret)) = &ans.new_keys {
        secrets.push(secret.clone());
    }
    for doc in [
        &app.files.config.doc,
        &cfg_doc,
        &app.files.credentials.doc,
        &cred_doc,
    ] {
        secrets.extend(secret_values(doc));
    }
    let preview = star_out(&preview, &secrets);
    if !(a.yes && app.ui.quiet) {
        match &tty {
            Some(t) => t.term.write_str(&preview)?,
            None => {
                let _ = std::io::stderr().lock().write_all(preview.as_bytes());
            }
        }
    }
    if !a.yes {
        let t = tty
            .as_ref()
            .ok_or_else(|| fail("no terminal to confirm on").hint("pass --yes"))?;
        let ok = dialoguer::Confirm::new()
            .with_prompt("Write these changes?")
            .default(true)
            .interact_on(&t.term)?;
        if !ok {
            // Declining is an answer, not a failure: exit 0.
            app.ui.note("nothing written");
            return Ok(0);
        }
    }
    let stored = match (&keyring, &ring_before) {
        (Some(k), Some(had)) => Some(store_in_keyring(&ring, &ans.source, k, had)?),
        _ => None,
    };
    // A failed file write puts the keyring entry back as it was; when that
    // fails too, the error says the entry holds the new keys.
    let undo = |e: anyhow::Error| {
        let (back, doing) = match &stored {
            Some(Some(None)) => (ring.delete(&ans.source), "remove"),
            Some(Some(Some(old))) => (ring.set(&ans.source, old), "write"),
            _ => return e,
        };
        match back {
            Ok(()) => e,
            Err(ke) => {
                let new_id = keyring
                    .as_ref()
                    .map(|k| crate::secret::mask_key_id(&k.access_key_id))
                    .unwrap_or_default();
                let (code, hint) = crate::error::exit_status(&e);
                let place = crate::keys::keyring_place(&ans.source);
                let why = crate::keys::keyring_fail(&ring, doing, &ans.source, &ke).message;
                // A put-back without an answer may still land.
                let state = if !ke.timed_out() {
                    format!("{place} holds the new keys (key id {new_id})")
                } else if doing == "remove" {
                    format!("{place} holds the new keys (key id {new_id}) until the removal lands, then nothing")
                } else {
                    format!("{place} holds the new keys (key id {new_id}) until the write of the old ones lands")
                };
                let f = fail(format!(
                    "{e:#}; putting the keyring entry back failed too ({why}): {state}"
                ))
                .code(code);
                match hint {
                    Some(h) => f.hint(h).into(),
                    None => f.into(),
                }
            }
        }
    };
    let config_store = Store::new(
        app.files.config.path.clone(),
        app.files.config.shown.clone(),
    );
    modify_both(
        Part {
            store: &config_store,
            edit: &config_edit,
        },
        Part {
            store: &app.store,
            edit: &creds_edit,
        },
        Duration::from_secs(10),
    )
    .map_err(undo)?;
    app.ui.note(&format!(
        "profile '{p}' configured; try: mfa-exec {p} -- aws sts get-caller-identity"
    ));
    Ok(0)
}

/// The MFA device profile `p` resolves to from the files alone (no flag, no
/// `MFA_EXEC_MFA_SERIAL`), if it resolves.
fn resolved_serial(app: &App, p: &str) -> Option<String> {
    let mut req = app.request(p, &crate::cli::ResolveArgs::default());
    req.mfa_serial_env = None;
    crate::profile::Resolver::new(&app.files)
        .resolve_quiet(&req)
        .ok()
        .and_then(|plan| plan.serial.map(|f| f.value))
}

/// With `--keyring`: the new keys, which go to the keyring instead of the file.
fn keyring_target(a: &ConfigureArgs, ans: &Answers) -> Result<Option<LongTermKeys>> {
    if !a.keyring {
        return Ok(None);
    }
    match &ans.new_keys {
        Some((id, secret)) => Ok(Some(LongTermKeys {
            access_key_id: id.clone(),
            secret: crate::secret::Secret::new(secret.clone()),
        })),
        None => Err(fail("--keyring stores new keys, and none were entered")
            .hint(format!(
                "to move the keys of '{}' there: mfa-exec keys move {} --to keyring",
                ans.source, ans.source
            ))
            .into()),
    }
}

/// Writes the keys to the keyring entry of `account` and reads them back.
/// `None` when the entry already held exactly these keys, else what it held
/// before (to put back if a later step fails).
fn store_in_keyring(
    ring: &dyn Keyring,
    account: &str,
    k: &LongTermKeys,
    previewed: &Option<crate::secret::Secret>,
) -> Result<Option<Option<crate::secret::Secret>>> {
    let had = ring
        .get(account)
        .map_err(|e| crate::keys::keyring_fail(ring, "read", account, &e))?;
    // Never replace what was not shown and confirmed.
    if had != *previewed {
        return Err(fail(format!(
            "{} changed since the preview; nothing was written",
            crate::keys::keyring_place(account)
        ))
        .hint("run the command again to see the change")
        .into());
    }
    if had
        .as_ref()
        .and_then(|s| LongTermKeys::from_json(s.expose()).ok())
        .as_ref()
        == Some(k)
    {
        return Ok(None);
    }
    ring.set(account, &k.to_json()).map_err(|e| {
        let f = crate::keys::keyring_fail(ring, "write", account, &e);
        if !e.timed_out() {
            return f;
        }
        // The write may still land (the keyring thread cannot be stopped).
        fail(format!(
            "{}; neither file was changed, but the write may still land, so {} may then hold the new keys (key id {})",
            f.message,
            crate::keys::keyring_place(account),
            crate::secret::mask_key_id(&k.access_key_id)
        ))
        .hint("once the keyring answers, run configure again (its preview shows what the entry holds)")
    })?;
    if crate::keys::load(ring, account).ok().as_ref() != Some(k) {
        return Err(fail(format!(
            "{} reads back different keys than were written; nothing else was changed",
            crate::keys::keyring_place(account)
        ))
        .into());
    }
    Ok(Some(had))
}
