//! `mfa-exec keys move P --to keyring|file` (SPEC §8.3): moves P's long-term
//! keys between the credentials file and the OS keyring, all or nothing.
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

use super::App;
use crate::cli::{KeyPlace, KeysArgs, KeysCommand, KeysMoveArgs, KeysRotateArgs};
use crate::env::Env;
use crate::error::fail;
use crate::ini::Document;
use crate::keys::{self, keyring_fail, keyring_place, LongTermKeys, KEY_SETTING};
use crate::keystore::{Keyring, OsKeyring};
use crate::profile::{KeySource, Keys, Origin, Resolver};
use crate::secret::mask_key_id;
use crate::store::Store;
use crate::testhook;
use crate::ui::Ui;
use anyhow::Result;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(env: Env, ui: Ui, a: &KeysArgs) -> Result<i32> {
    match &a.command {
        KeysCommand::Move(m) => {
            let app = App::load(env, ui)?;
            let ring = OsKeyring::new();
            move_keys(&app, &ring, m)
        }
        KeysCommand::Rotate(r) => {
            let app = App::load(env, ui)?;
            let ring = OsKeyring::new();
            rotate(&app, &ring, r)
        }
    }
}

/// Fails as if `point` had failed when a test asks for it (debug builds).
fn step(point: &str) -> Result<()> {
    testhook::pause(point);
    if testhook::fails(point) {
        return Err(fail(format!("injected failure at {point}")).into());
    }
    Ok(())
}

/// One of the two AWS files, as a store.
fn config_store(app: &App) -> Store {
    Store::new(
        app.files.config.path.clone(),
        app.files.config.shown.clone(),
    )
}

/// The file a file-held key pair is in: (is it the config file, its store).
fn origin_store(app: &App, src: &KeySource) -> (bool, Store) {
    let in_config = matches!(&src.origin, Origin::File { file, .. } if *file == app.files.config.shown && *file != app.files.credentials.shown);
    if in_config {
        (true, config_store(app))
    } else {
        (false, app.store.clone())
    }
}

/// A file edit that was written, and can be undone.
struct Done<'a> {
    store: &'a Store,
    before: Document,
    after: Document,
}

/// Applies `edit` through `store`, keeping the document before it.
fn apply<'a>(store: &'a Store, edit: &dyn Fn(&mut Document) -> Result<()>) -> Result<Done<'a>> {
    let before = std::cell::RefCell::new(None);
    let after = store.modify(TIMEOUT, &|doc| {
        *before.borrow_mut() = Some(doc.clone());
        edit(doc)
    })?;
    let before = before.into_inner().unwrap_or_else(Document::empty);
    Ok(Done {
        store,
        before,
        after,
    })
}

impl Done<'_> {
    /// Puts the file back byte for byte if it is still what the edit wrote,
    /// else applies `fallback` to whatever it is now.
    fn undo(&self, fallback: &dyn Fn(&mut Document) -> Result<()>) {
        let _ = self.store.modify(TIMEOUT, &|doc| {
            if doc.render() == self.after.render() {
                *doc = self.before.clone();
                Ok(())
            } else {
                fallback(doc)
            }
        });
    }
}

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
        (Keys::File(_), KeyPlace::File) => {
            app.ui.note(&format!(
                "the long-term keys of '{p}' are already in {}; nothing to change",
                src.place()
            ));
            Ok(0)
        }
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
        cfg_done.undo(&restore);
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
                d.undo(&put_back);
            }
            cfg_done.undo(&restore);
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
        file_done.undo(&take_back);
        return Err(e);
    }
    let restore = |doc: &mut Document| restore_setting(doc, p, &was);
    let cfg_done = match apply(&config, &unset) {
        Ok(d) => d,
        Err(e) => {
            file_done.undo(&take_back);
            return Err(e);
        }
    };
    if let Err(e) = step("keys-config") {
        cfg_done.undo(&restore);
        file_done.undo(&take_back);
        return Err(e);
    }
    let deleted = ring
        .delete(account)
        .map_err(|e| keyring_fail(ring, "remove", account, &e).into())
        .and_then(|()| step("keys-removed"));
    if let Err(e) = deleted {
        // The keyring entry may be gone; put it back before undoing the rest.
        if ring.set(account, &pair.to_json()).is_ok() {
            cfg_done.undo(&restore);
            file_done.undo(&take_back);
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

// ---- keys rotate ----------------------------------------------------------

/// Attempts, and the pause between them, when checking a new key with STS
/// (IAM takes a few seconds to make a new key usable everywhere).
const VERIFY_TRIES: u32 = 10;
const VERIFY_PAUSE: Duration = Duration::from_secs(3);

/// `arn:aws:iam::123456789012:user/path/name` → `name`.
fn user_name(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":user/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The endpoint for IAM: `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`, else the
/// profile's `endpoint_url` (SPEC §6, as for STS).
fn iam_endpoint(app: &App, plan: &crate::profile::Plan) -> Option<String> {
    app.env
        .get("AWS_ENDPOINT_URL_IAM")
        .or_else(|| app.env.get("AWS_ENDPOINT_URL"))
        .map(str::to_string)
        .or_else(|| {
            plan.endpoint
                .as_ref()
                .filter(|e| matches!(e.origin, Origin::File { .. }))
                .map(|e| e.value.clone())
        })
}

fn signer_of(k: &LongTermKeys) -> crate::sts::Signer {
    crate::sts::Signer {
        access_key_id: k.access_key_id.clone(),
        secret: k.secret.clone(),
        token: None,
    }
}

/// `keys rotate P` (SPEC §8.3): with P's MFA session, ListAccessKeys,
/// CreateAccessKey, store the new pair where the old one lives, check it with
/// GetCallerIdentity, DeleteAccessKey the old one. A failure before the new
/// pair is stored deletes the new key; a failure after keeps both keys and
/// says which one is active.
fn rotate(app: &App, ring: &dyn Keyring, a: &KeysRotateArgs) -> Result<i32> {
    let p = a.profile.name()?;
    let src = Resolver::new(&app.files).key_source(p)?;
    if src.profile != p {
        return Err(fail(format!(
            "the long-term keys of '{p}' belong to its source profile '{}' ({})",
            src.profile,
            src.place()
        ))
        .hint(format!("run 'mfa-exec keys rotate {}'", src.profile))
        .into());
    }
    let plan = app.plan(p, &a.session.resolve)?;
    if plan.is_role() {
        return Err(fail(format!(
            "profile '{p}' is a role profile; rotate the keys of the profile holding them"
        ))
        .into());
    }
    let old = match &src.keys {
        Keys::File(k) => k.clone(),
        Keys::Keyring { account } => keys::load(ring, account)?,
    };
    let place = src.place();
    let sts = app.sts(&plan)?;
    sts.ready()?;
    // The "using STS at ..." note is said by the session's client, once.
    sts.note.take();
    let endpoint = iam_endpoint(app, &plan);
    let iam_url = endpoint
        .clone()
        .unwrap_or_else(|| crate::iam::DEFAULT_ENDPOINT.to_string());
    let iam = crate::iam::AwsIam {
        endpoint,
        ca_bundle: sts.bundle()?.cloned(),
        proxy: crate::sts::proxy_for(&app.env, &iam_url)?,
    };
    use crate::iam::Iam;
    use crate::sts::Sts;
    let iam_fail = |what: &str, e: &crate::sts::StsError| fail(format!("IAM {what} failed: {e}"));

    // Who the key belongs to: GetCallerIdentity with the key itself (never denied).
    let arn = sts.get_caller_identity(&signer_of(&old)).map_err(|e| {
        fail(format!(
            "STS GetCallerIdentity with the key of {place} failed: {e}"
        ))
    })?;
    let user = user_name(&arn).ok_or_else(|| {
        fail(format!(
            "the key of {place} belongs to {arn}, not an IAM user; only a user's access keys can be rotated"
        ))
    })?;
    let session = app.session(&plan, &a.session, super::LOCK_TIMEOUT)?;
    let s = crate::sts::Signer {
        access_key_id: session.access_key_id.clone(),
        secret: session.secret.clone(),
        token: Some(session.token.clone()),
    };
    let ids = iam
        .list_access_keys(&s, user)
        .map_err(|e| iam_fail("ListAccessKeys", &e))?;
    if ids.len() >= 2 {
        let shown: Vec<String> = ids.iter().map(|i| mask_key_id(i)).collect();
        return Err(fail(format!(
            "IAM user {user} already has two access keys ({}); IAM allows two, so there is no room for a new one",
            shown.join(", ")
        ))
        .hint(format!(
            "delete the one not in use (not {}) first: mfa-exec {p} -- aws iam delete-access-key --user-name {user} --access-key-id ...",
            mask_key_id(&old.access_key_id)
        ))
        .into());
    }
    let new = iam
        .create_access_key(&s, user)
        .map_err(|e| iam_fail("CreateAccessKey", &e))?;
    let new_id = mask_key_id(&new.access_key_id);
    let old_id = mask_key_id(&old.access_key_id);
    // Before the new pair is stored: delete it again on any failure.
    let drop_new = |e: anyhow::Error| -> anyhow::Error {
        match iam.delete_access_key(&s, user, &new.access_key_id) {
            Ok(()) => e.context(format!(
                "nothing changed: the new key {new_id} was deleted again, {old_id} stays in {place}"
            )),
            Err(d) => e.context(format!(
                "the new key {new_id} could not be deleted again ({d}); delete it in IAM; {old_id} stays in {place}"
            )),
        }
    };
    if let Err(e) = step("rotate-created") {
        return Err(drop_new(e));
    }
    let stored = store_new(app, ring, &src, &old, &new);
    if let Err(e) = stored {
        return Err(drop_new(e));
    }
    // From here on the new key is the stored one; failures keep both keys.
    let both = |what: String| -> anyhow::Error {
        fail(format!(
            "{what}; the new key {new_id} is stored in {place} and is the active one there, and the old key {old_id} is still active in IAM"
        ))
        .hint(format!(
            "once 'mfa-exec {p} --force -- aws sts get-caller-identity' works, delete the old key: mfa-exec {p} -- aws iam delete-access-key --user-name {user} --access-key-id {}",
            old.access_key_id
        ))
        .into()
    };
    if let Err(e) = step("rotate-stored") {
        return Err(both(format!("{e:#}")));
    }
    let mut verified = Err(String::new());
    for attempt in 1..=VERIFY_TRIES {
        match sts.get_caller_identity(&signer_of(&new)) {
            Ok(_) => {
                verified = Ok(());
                break;
            }
            Err(e) => verified = Err(e.to_string()),
        }
        if attempt < VERIFY_TRIES {
            app.ui.info(&format!(
                "STS does not accept the new key yet (IAM propagation); trying again in {} s",
                VERIFY_PAUSE.as_secs()
            ));
            std::thread::sleep(VERIFY_PAUSE);
        }
    }
    if let Err(e) = verified {
        return Err(both(format!(
            "STS did not accept the new key within {} tries ({e})",
            VERIFY_TRIES
        )));
    }
    if let Err(e) = step("rotate-verified") {
        return Err(both(format!("{e:#}")));
    }
    iam.delete_access_key(&s, user, &old.access_key_id)
        .map_err(|e| both(format!("IAM DeleteAccessKey of the old key failed: {e}")))?;
    app.ui.note(&format!(
        "rotated the access key of IAM user {user}: {new_id} is stored in {place} and active; {old_id} is deleted. Sessions made with the old key stay valid until they expire"
    ));
    Ok(0)
}

/// Stores `new` where `old` lives (the same keyring entry, or the same file
/// section, only the two values changing), and reads it back.
fn store_new(
    app: &App,
    ring: &dyn Keyring,
    src: &KeySource,
    old: &LongTermKeys,
    new: &LongTermKeys,
) -> Result<()> {
    match &src.keys {
        Keys::Keyring { account } => {
            ring.set(account, &new.to_json())
                .map_err(|e| keyring_fail(ring, "write", account, &e))?;
            if keys::load(ring, account).ok().as_ref() != Some(new) {
                let _ = ring.set(account, &old.to_json());
                return Err(fail(format!(
                    "{} reads back different keys than were written",
                    keyring_place(account)
                ))
                .into());
            }
            Ok(())
        }
        Keys::File(_) => {
            let (_, store) = origin_store(app, src);
            let section = src.section.clone();
            let swap = |doc: &mut Document| -> Result<()> {
                if keys::pair_in(doc, &section).as_ref() != Some(old) {
                    return Err(fail(format!(
                        "the keys in [{section}] changed while mfa-exec was rotating them"
                    ))
                    .into());
                }
                keys::put_pair(doc, &section, new)
            };
            let done = apply(&store, &swap)?;
            if keys::pair_in(&store.load()?.doc, &section).as_ref() != Some(new) {
                done.undo(&|_| Ok(()));
                return Err(fail(format!(
                    "[{section}] reads back different keys than were written"
                ))
                .into());
            }
            Ok(())
        }
    }
}
