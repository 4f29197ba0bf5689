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

/// One step of a roll-back: the undo, and what is where when it fails (the
/// steps after it are then not run: each assumes the ones before it worked).
struct Undo<'a> {
    run: Box<dyn Fn() -> Result<()> + 'a>,
    left: String,
}

impl<'a> Undo<'a> {
    fn new(run: impl Fn() -> Result<()> + 'a, left: String) -> Undo<'a> {
        Undo {
            run: Box::new(run),
            left,
        }
    }
}

/// Runs `undos` in order after `e`. When one fails, the error says so and
/// what is where, instead of the "nothing was moved" of `e` (issue 21: a
/// roll-back that fails is never reported as nothing changed).
fn roll_back(e: anyhow::Error, undos: Vec<Undo<'_>>, p: &str, to: &str) -> anyhow::Error {
    roll_back_or(e, undos, p, to, |e| e)
}

/// [`roll_back`], with `done` shaping the error when every undo worked.
fn roll_back_or(
    e: anyhow::Error,
    undos: Vec<Undo<'_>>,
    p: &str,
    to: &str,
    done: impl FnOnce(anyhow::Error) -> anyhow::Error,
) -> anyhow::Error {
    for u in undos {
        if let Err(ue) = (u.run)() {
            let first = format!("{e:#}").replace("; nothing was moved", "");
            let again = format!("{ue:#}").replace("; nothing was moved", "");
            // In the message, not a hint: a hint naming the command that
            // failed is dropped (`without_hint_naming`), and here running it
            // again is what finishes the job.
            return fail(format!(
                "{first}; putting things back failed too ({again}): {}; run 'mfa-exec keys move {p} --to {to}' again to finish the move once the cause is fixed",
                u.left
            ))
            .into();
        }
    }
    done(e)
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
    let id = mask_key_id(&pair.access_key_id);
    let entry = format!("{} in {}", keyring_place(p), ring.backend());
    let origin_place = src.place();
    let config_shown = &app.files.config.shown;
    // The undo of the keyring write; `written`: the entry was read back
    // holding the keys (else a failed write may or may not have landed).
    let ring_undo = |written: bool| {
        Undo::new(
            || match &before {
                None => ring
                    .delete(p)
                    .map_err(|e| keyring_fail(ring, "remove", p, &e).into()),
                Some(_) => Ok(()),
            },
            format!(
                "the keys (key id {id}) are still in {origin_place}, which {config_shown} still names, and {entry} {} a copy of them",
                if written { "holds" } else { "may hold" }
            ),
        )
    };
    let written = ring.set(p, &pair.to_json());
    // A write without an answer may still land after the entry was removed
    // again (the keyring thread cannot be stopped).
    let late = written.as_ref().is_err_and(|e| e.timed_out());
    let stored = written
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
        let e: anyhow::Error = e.into();
        if !late {
            return Err(roll_back(e, vec![ring_undo(false)], p, "keyring"));
        }
        return Err(roll_back_or(e, vec![ring_undo(false)], p, "keyring", |e| {
            fail(format!(
                "{e:#}; the keys stay in {origin_place}, which {config_shown} still names, but the write may still land, so {entry} may get a copy of them; run 'mfa-exec keys move {p} --to keyring' again once the keyring answers"
            ))
            .into()
        }));
    }
    if let Err(e) = step("keys-stored") {
        return Err(roll_back(e, vec![ring_undo(true)], p, "keyring"));
    }

    // The config says keyring (and, for keys in the config, loses them too).
    let config_edit = |doc: &mut Document| -> Result<()> {
        set(doc)?;
        if in_config {
            remove(doc)?;
        }
        Ok(())
    };
    // Putting the config back when it changed meanwhile (the undo's
    // fallback edit): the setting, and keys that lived in the config.
    let restore = |doc: &mut Document| -> Result<()> {
        restore_setting(doc, p, &was)?;
        if in_config && keys::pair_in(doc, &section).is_none() {
            keys::put_pair(doc, &section, pair)?;
        }
        Ok(())
    };
    let cfg_done = match apply(&config, &config_edit) {
        Ok(d) => d,
        Err(e) => return Err(roll_back(e, vec![ring_undo(true)], p, "keyring")),
    };
    let copy_left = if in_config {
        String::new()
    } else {
        format!("; {origin_place} still holds a copy of them")
    };
    let cfg_undo = Undo::new(
        || cfg_done.undo(&restore),
        format!(
            "{config_shown} says {KEY_SETTING} = keyring and {entry} holds the keys (key id {id}), so the move stands{copy_left}"
        ),
    );
    if let Err(e) = step("keys-config") {
        return Err(roll_back(e, vec![cfg_undo, ring_undo(true)], p, "keyring"));
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
            let mut undos = Vec::new();
            if let Some(d) = &done {
                undos.push(Undo::new(
                    move || d.undo(&put_back),
                    format!(
                        "{config_shown} says {KEY_SETTING} = keyring and {entry} holds the keys (key id {id}), so the move is done; {origin_place} no longer holds them"
                    ),
                ));
            }
            undos.push(cfg_undo);
            undos.push(ring_undo(true));
            return Err(roll_back(e, undos, p, "keyring"));
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
    let id = mask_key_id(&pair.access_key_id);
    let entry = format!("{} in {}", keyring_place(account), ring.backend());
    let file_place = format!("[{section}] of {}", app.files.credentials.shown);
    let config_shown = &app.files.config.shown;
    let file_done = apply(&app.store, &put)?;
    let file_undo = Undo::new(
        || file_done.undo(&take_back),
        format!(
            "the keys (key id {id}) are still in {entry}, which {config_shown} still names ({KEY_SETTING} = keyring), and {file_place} holds a copy of them"
        ),
    );
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
        return Err(roll_back(e, vec![file_undo], p, "file"));
    }
    let restore = |doc: &mut Document| restore_setting(doc, p, &was);
    let cfg_done = match apply(&config, &unset) {
        Ok(d) => d,
        Err(e) => return Err(roll_back(e, vec![file_undo], p, "file")),
    };
    let cfg_undo = Undo::new(
        || cfg_done.undo(&restore),
        format!(
            "{config_shown} no longer says {KEY_SETTING} = keyring and {file_place} holds the keys (key id {id}), so the move stands; {entry} still holds a copy of them"
        ),
    );
    if let Err(e) = step("keys-config") {
        return Err(roll_back(e, vec![cfg_undo, file_undo], p, "file"));
    }
    let removed = ring.delete(account);
    // A removal without an answer may still land (the keyring thread cannot
    // be stopped, and a daemon holding a confirmation prompt acts when it is
    // answered): putting the entry back and the config back would leave the
    // keys in neither place once it lands. The move stands instead; running
    // it again removes the entry if it is still there.
    if let Some(ke) = removed.as_ref().err().filter(|ke| ke.timed_out()) {
        return Err(fail(format!(
            "{}; the move stands: {config_shown} no longer says {KEY_SETTING} = keyring and {file_place} holds the keys (key id {id}); the removal may still land, so {entry} may still hold a copy of them",
            keyring_fail(ring, "remove", account, ke)
        ))
        .hint("once the keyring answers, run this move again: it removes the copy")
        .into());
    }
    let deleted = removed
        .map_err(|e| keyring_fail(ring, "remove", account, &e).into())
        .and_then(|()| step("keys-removed"));
    if let Err(e) = deleted {
        // The keyring entry may be gone; put it back before undoing the rest.
        let ring_undo = Undo::new(
            || {
                ring.set(account, &pair.to_json())
                    .map_err(|e| keyring_fail(ring, "write", account, &e).into())
            },
            format!(
                "{config_shown} no longer says {KEY_SETTING} = keyring and {file_place} holds the keys (key id {id}), so the move stands; {entry} may still hold a copy of them"
            ),
        );
        return Err(roll_back(
            e,
            vec![ring_undo, cfg_undo, file_undo],
            p,
            "file",
        ));
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
