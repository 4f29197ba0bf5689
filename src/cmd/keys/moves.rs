//! `mfa-exec keys move P --to keyring|file` (SPEC §8.3): moves P's long-term
//! keys between the credentials file and the OS keyring, all or nothing. It
//! never calls AWS, and never leaves the keys in neither place.
//!
//! Order, either way: check every edit on copies of the files first (nothing
//! is written when one would be refused); write the destination and read it
//! back; set or remove `mfa_exec_keys` in the config; take the keys out of the
//! origin. A failure at any step undoes the steps before it, so both places
//! end as they were; a kill between steps leaves the keys in the destination,
//! the origin, or both, never in neither. Running the move again finishes one
//! that was cut short.
//!
//! Decisions:
//! - P is the profile that holds the keys (`testAccount` in the seed layout).
//!   Naming a profile whose keys belong to its `source_profile` is refused,
//!   naming that one.
//! - Keys leave a file section as two lines (the header too when nothing
//!   else is left in it). Keys come back to `[P]` in the credentials file when
//!   it is absent or empty, else to `[P-long-term]` (aws-mfa's layout, since
//!   `[P]` then holds P's MFA session).
//! - A keyring entry for P that holds other keys is never overwritten.

use super::{apply, config_store, origin_store, step, App, TIMEOUT};
use crate::cli::{KeyPlace, KeysMoveArgs};
use crate::error::fail;
use crate::ini::Document;
use crate::keys::{self, keyring_fail, keyring_place, LongTermKeys, KEY_SETTING};
use crate::keystore::Keyring;
use crate::profile::{KeySource, Keys, Resolver};
use crate::secret::mask_key_id;
use anyhow::Result;

/// `mfa_exec_keys` as P's own config sections have it now (to restore it).
fn setting_now(doc: &Document, profile: &str) -> Option<(String, String)> {
    doc.headers()
        .into_iter()
        .filter(|(n, _)| {
            crate::profile::config_section_profile(n).is_some_and(|(p, _)| p == profile)
        })
        .filter_map(|(n, _)| {
            doc.get(n, KEY_SETTING)
                .map(|v| (n.to_string(), v.to_string()))
        })
        .next_back()
}

/// Puts the config's `mfa_exec_keys` of P back as it was.
fn restore_setting(
    doc: &mut Document,
    profile: &str,
    was: &Option<(String, String)>,
) -> Result<()> {
    keys::remove_setting(doc, profile)?;
    if let Some((section, value)) = was {
        doc.set(section, KEY_SETTING, value)?;
    }
    Ok(())
}

pub fn move_keys(app: &App, ring: &dyn Keyring, a: &KeysMoveArgs) -> Result<i32> {
    let p = a.profile.as_str();
    let r = Resolver::new(&app.files);
    let src = r.key_source(p)?;
    if src.profile != p {
        return Err(fail(format!(
            "the long-term keys of '{p}' belong to its source profile '{}' ({})",
            src.profile,
            src.place()
        ))
        .hint(format!(
            "run 'mfa-exec keys move {} --to {}'",
            src.profile,
            match a.to {
                KeyPlace::Keyring => "keyring",
                KeyPlace::File => "file",
            }
        ))
        .into());
    }
    match (&src.keys, a.to) {
        (Keys::File(pair), KeyPlace::Keyring) => to_keyring(app, ring, &src, pair),
        (Keys::Keyring { .. }, KeyPlace::Keyring) => finish_to_keyring(app, ring, &src),
        (Keys::Keyring { account }, KeyPlace::File) => to_file(app, ring, p, account),
        (Keys::File(pair), KeyPlace::File) => finish_to_file(app, ring, &src, pair),
    }
}

/// Already in the file by the config: say so, or finish a move to the file
/// that was cut short after the config said file (the same keys still in the
/// keyring entry; issue 21 item 7). Keys of another pair in the entry are
/// left alone and named.
fn finish_to_file(
    app: &App,
    ring: &dyn Keyring,
    src: &KeySource,
    pair: &LongTermKeys,
) -> Result<i32> {
    let p = src.profile.as_str();
    let entry = ring.get(p).map_err(|e| keyring_fail(ring, "read", p, &e))?;
    let Some(entry) = entry else {
        app.ui.note(&format!(
            "the long-term keys of '{p}' are already in {}; nothing to change",
            src.place()
        ));
        return Ok(0);
    };
    match LongTermKeys::from_json(entry.expose()) {
        Ok(k) if k == *pair => {
            ring.delete(p)
                .map_err(|e| keyring_fail(ring, "remove", p, &e))?;
            app.ui.note(&format!(
                "the long-term keys of '{p}' are in {}; removed the copy left in {} in {}",
                src.place(),
                keyring_place(p),
                ring.backend()
            ));
            Ok(0)
        }
        Ok(k) => Err(fail(format!(
            "the long-term keys of '{p}' are in {} (key id {}), and {} in {} holds other keys (key id {}); nothing was changed",
            src.place(),
            mask_key_id(&pair.access_key_id),
            keyring_place(p),
            ring.backend(),
            mask_key_id(&k.access_key_id)
        ))
        .hint("remove the entry that is not in use (secret-tool clear service mfa-exec account P, or Keychain Access)")
        .into()),
        Err(_) => Err(fail(format!(
            "the long-term keys of '{p}' are in {}, and {} in {} holds something that is not mfa-exec's JSON; nothing was changed",
            src.place(),
            keyring_place(p),
            ring.backend()
        ))
        .hint("remove that entry if it is not in use")
        .into()),
    }
}

/// File → keyring.
fn to_keyring(app: &App, ring: &dyn Keyring, src: &KeySource, pair: &LongTermKeys) -> Result<i32> {
    let p = src.profile.as_str();
    let (in_config, origin) = origin_store(app, src);
    let section = src.section.clone();
    let config = config_store(app);
    let was = setting_now(&app.files.config.doc, p);

    // Every edit, tried on copies first: a refused edit writes nothing.
    let remove = |doc: &mut Document| -> Result<()> {
        if keys::pair_in(doc, &section).as_ref() != Some(pair) {
            return Err(fail(format!(
                "the keys in [{section}] changed while mfa-exec was moving them; nothing was moved"
            ))
            .into());
        }
        keys::remove_pair(doc, &section)
    };
    let set = |doc: &mut Document| keys::set_keyring_setting(doc, p);
    let mut cfg = app.files.config.doc.clone();
    set(&mut cfg)?;
    if in_config {
        remove(&mut cfg)?;
    } else {
        remove(&mut app.files.credentials.doc.clone())?;
    }

    // The keyring: never overwrite other keys.
    let before = ring.get(p).map_err(|e| keyring_fail(ring, "read", p, &e))?;
    if let Some(old) = &before {
        match LongTermKeys::from_json(old.expose()) {
            Ok(k) if k == *pair => {}
            Ok(k) => {
                return Err(fail(format!(
                    "{} in {} already holds other keys (key id {}); nothing was moved",
                    keyring_place(p),
                    ring.backend(),
                    mask_key_id(&k.access_key_id)
                ))
                .hint("remove that entry first (secret-tool clear service mfa-exec account P, or Keychain Access)")
                .into())
            }
            Err(_) => {
                return Err(fail(format!(
                    "{} in {} already holds something that is not mfa-exec's JSON; nothing was moved",
                    keyring_place(p),
                    ring.backend()
                ))
                .hint("remove that entry first")
                .into())
            }
        }
    }
    let undo_ring = || {
        if before.is_none() {
            let _ = ring.delete(p);
        }
    };
    let stored = ring
        .set(p, &pair.to_json())
        .map_err(|e| keyring_fail(ring, "write", p, &e))
        .and_then(|()| keys::load(ring, p))
        .and_then(|back| {
            if back == *pair {
                Ok(())
            } else {
                Err(fail(format!(
                    "{} in {} reads back different keys than were written; nothing was moved",
                    keyring_place(p),
                    ring.backend()
                )))
            }
        });
    if let Err(e) = stored {
        undo_ring();
        return Err(e.into());
    }
    if let Err(e) = step("keys-stored") {
        undo_ring();
        return Err(e);
    }

    // The config says keyring (and, for keys in the config, loses them too).
    let config_edit = |doc: &mut Document| -> Result<()> {
        set(doc)?;
        if in_config {
            remove(doc)?;
        }
        Ok(())
    };
    let restore = |doc: &mut Document| restore_setting(doc, p, &was);
    let cfg_done = match apply(&config, &config_edit) {
        Ok(d) => d,
        Err(e) => {
            undo_ring();
            return Err(e);
        }
    };
    if let Err(e) = step("keys-config") {
        let _ = cfg_done.undo(&restore);
        undo_ring();
        return Err(e);
    }
    if !in_config {
        let put_back = |doc: &mut Document| -> Result<()> {
            if keys::pair_in(doc, &section).is_none() {
                keys::put_pair(doc, &section, pair)?;
            }
            Ok(())
        };
        let failed = match apply(&origin, &remove) {
            Ok(done) => step("keys-removed").err().map(|e| (e, Some(done))),
            Err(e) => Some((e, None)),
        };
        if let Some((e, done)) = failed {
            if let Some(d) = done {
                let _ = d.undo(&put_back);
            }
            let _ = cfg_done.undo(&restore);
            undo_ring();
            return Err(e);
        }
    }
    app.ui.note(&format!(
        "moved the long-term keys of '{p}' (key id {}) from {} to {} in {}",
        mask_key_id(&pair.access_key_id),
        src.place(),
        keyring_place(p),
        ring.backend()
    ));
    Ok(0)
}

/// Already in the keyring by the config: say so, or finish a move that was
/// cut short (the same keys still in the credentials file).
fn finish_to_keyring(app: &App, ring: &dyn Keyring, src: &KeySource) -> Result<i32> {
    let p = src.profile.as_str();
    let doc = &app.files.credentials.doc;
    let leftover = [format!("{p}-long-term"), p.to_string()]
        .into_iter()
        .find_map(|s| keys::pair_in(doc, &s).map(|k| (s, k)));
    let Some((section, pair)) = leftover else {
        // Never "already there" without the entry (issue 21 item 7).
        keys::load(ring, p)?;
        app.ui.note(&format!(
            "the long-term keys of '{p}' are already in {} ({KEY_SETTING} = keyring, {}); nothing to change",
            keyring_place(p),
            src.origin
        ));
        return Ok(0);
    };
    let stored = keys::load(ring, p)?;
    if stored != pair {
        return Err(fail(format!(
            "{} and [{section}] of {} hold different keys (key ids {} and {}); nothing was changed",
            keyring_place(p),
            app.files.credentials.shown,
            mask_key_id(&stored.access_key_id),
            mask_key_id(&pair.access_key_id)
        ))
        .hint(format!(
            "keep the right ones: remove the pair from [{section}], or run 'mfa-exec keys move {p} --to file' after removing the keyring entry"
        ))
        .into());
    }
    app.store.modify(TIMEOUT, &|doc| {
        if keys::pair_in(doc, &section).as_ref() == Some(&pair) {
            keys::remove_pair(doc, &section)?;
        }
        Ok(())
    })?;
    app.ui.note(&format!(
        "the long-term keys of '{p}' are in {}; removed the copy left in [{section}] of {}",
        keyring_place(p),
        app.files.credentials.shown
    ));
    Ok(0)
}

/// Where keys moving back to the credentials file go: `[P]` when absent or
/// empty, else `[P-long-term]` when that is.
fn file_section(doc: &Document, p: &str, pair: &LongTermKeys) -> Result<String> {
    // A move cut short already put these keys there: finish it.
    for s in [p.to_string(), format!("{p}-long-term")] {
        if keys::pair_in(doc, &s).as_ref() == Some(pair) {
            return Ok(s);
        }
    }
    for s in [p.to_string(), format!("{p}-long-term")] {
        if doc.section_map(&s).is_empty() && doc.section_lines(&s).len() <= 1 {
            return Ok(s);
        }
    }
    Err(fail(format!(
        "both [{p}] and [{p}-long-term] in the credentials file hold other settings; nowhere to put the keys"
    ))
    .hint(format!("empty [{p}-long-term] (or rename it), then run the move again"))
    .into())
}

/// Keyring → file.
fn to_file(app: &App, ring: &dyn Keyring, p: &str, account: &str) -> Result<i32> {
    let pair = keys::load(ring, account)?;
    let section = file_section(&app.files.credentials.doc, p, &pair)?;
    let config = config_store(app);
    let was = setting_now(&app.files.config.doc, p);

    let put = |doc: &mut Document| -> Result<()> {
        if keys::pair_in(doc, &section).as_ref() == Some(&pair) {
            return Ok(());
        }
        if !doc.section_map(&section).is_empty() {
            return Err(fail(format!(
                "[{section}] of {} changed while mfa-exec was moving the keys; nothing was moved",
                app.files.credentials.shown
            ))
            .into());
        }
        keys::put_pair(doc, &section, &pair)
    };
    let unset = |doc: &mut Document| keys::remove_setting(doc, p);
    put(&mut app.files.credentials.doc.clone())?;
    unset(&mut app.files.config.doc.clone())?;

    let take_back = |doc: &mut Document| -> Result<()> {
        if keys::pair_in(doc, &section).as_ref() == Some(&pair) {
            keys::remove_pair(doc, &section)?;
        }
        Ok(())
    };
    let file_done = apply(&app.store, &put)?;
    let read_back = app.store.load().and_then(|f| {
        if keys::pair_in(&f.doc, &section).as_ref() == Some(&pair) {
            Ok(())
        } else {
            Err(fail(format!(
                "[{section}] of {} reads back different keys than were written",
                app.store.shown
            ))
            .into())
        }
    });
    if let Err(e) = read_back.and_then(|()| step("keys-stored")) {
        let _ = file_done.undo(&take_back);
        return Err(e);
    }
    let restore = |doc: &mut Document| restore_setting(doc, p, &was);
    let cfg_done = match apply(&config, &unset) {
        Ok(d) => d,
        Err(e) => {
            let _ = file_done.undo(&take_back);
            return Err(e);
        }
    };
    if let Err(e) = step("keys-config") {
        let _ = cfg_done.undo(&restore);
        let _ = file_done.undo(&take_back);
        return Err(e);
    }
    let deleted = ring
        .delete(account)
        .map_err(|e| keyring_fail(ring, "remove", account, &e).into())
        .and_then(|()| step("keys-removed"));
    if let Err(e) = deleted {
        // The keyring entry may be gone; put it back before undoing the rest.
        if ring.set(account, &pair.to_json()).is_ok() {
            let _ = cfg_done.undo(&restore);
            let _ = file_done.undo(&take_back);
        }
        return Err(e);
    }
    app.ui.note(&format!(
        "moved the long-term keys of '{p}' (key id {}) from {} in {} to [{section}] of {}",
        mask_key_id(&pair.access_key_id),
        keyring_place(account),
        ring.backend(),
        app.files.credentials.shown
    ));
    Ok(0)
}
