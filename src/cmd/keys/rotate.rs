//! `mfa-exec keys rotate P` (SPEC §8.3): replaces P's access key in IAM using
//! P's MFA session, storing the new pair where the old one lives (keyring
//! entry or file section). It never moves keys between places, and never
//! deletes the old key before the new one is stored and checked.

use super::{apply, origin_store, step, App};
use crate::cli::KeysRotateArgs;
use crate::error::fail;
use crate::ini::Document;
use crate::keys::{self, keyring_fail, keyring_place, LongTermKeys};
use crate::keystore::Keyring;
use crate::profile::{KeySource, Keys, Origin, Resolver};
use crate::secret::mask_key_id;
use anyhow::Result;
use std::time::Duration;

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
pub(super) fn rotate(app: &App, ring: &dyn Keyring, a: &KeysRotateArgs) -> Result<i32> {
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
    let session = app.session(&plan, &a.session, crate::cmd::LOCK_TIMEOUT)?;
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
    let old_id = mask_key_id(&old.access_key_id);
    let new = match iam.create_access_key(&s, user) {
        Ok(k) => k,
        Err(e) if crate::iam::outcome_unknown(&e) => {
            // IAM may have created a key whose secret never arrived: find
            // it, delete it, or say exactly what exists (issue 21 item 2).
            let what = format!("IAM CreateAccessKey failed: {e}");
            let now = match iam.list_access_keys(&s, user) {
                Ok(now) => now,
                Err(le) => {
                    return Err(fail(format!(
                        "{what}; IAM may have created a key whose secret mfa-exec never got, and ListAccessKeys failed too ({le}); {old_id} stays in {place}"
                    ))
                    .hint(format!(
                        "see which keys exist: mfa-exec {p} -- aws iam list-access-keys --user-name {user}; delete any but {}",
                        old.access_key_id
                    ))
                    .into());
                }
            };
            let orphans: Vec<&String> = now.iter().filter(|i| !ids.contains(i)).collect();
            if orphans.is_empty() {
                return Err(fail(format!(
                    "{what}; IAM created no key (ListAccessKeys: {}); nothing changed, {old_id} stays in {place}",
                    now.iter().map(|i| mask_key_id(i)).collect::<Vec<_>>().join(", ")
                ))
                .into());
            }
            let mut left = Vec::new();
            for id in &orphans {
                if let Err(de) = iam.delete_access_key(&s, user, id) {
                    left.push(format!("{id} ({de})"));
                }
            }
            let shown: Vec<String> = orphans.iter().map(|i| mask_key_id(i)).collect();
            if left.is_empty() {
                return Err(fail(format!(
                    "{what}; IAM had created {} anyway, whose secret never arrived; deleted it again, so nothing changed: {old_id} stays in {place}",
                    shown.join(", ")
                ))
                .into());
            }
            return Err(fail(format!(
                "{what}; IAM had created {} anyway, whose secret never arrived, and deleting it failed: {}; {old_id} stays in {place}",
                shown.join(", "),
                left.join(", ")
            ))
            .hint(format!(
                "delete it: mfa-exec {p} -- aws iam delete-access-key --user-name {user} --access-key-id {}",
                orphans[0]
            ))
            .into());
        }
        Err(e) => return Err(iam_fail("CreateAccessKey", &e).into()),
    };
    let new_id = mask_key_id(&new.access_key_id);
    // Before the new pair is stored: delete it again on any failure.
    let drop_new = |e: anyhow::Error| -> anyhow::Error {
        // Sent once: with no answer, ListAccessKeys tells whether it is gone.
        let deleted = match iam.delete_access_key(&s, user, &new.access_key_id) {
            Err(d)
                if crate::iam::outcome_unknown(&d)
                    && iam
                        .list_access_keys(&s, user)
                        .is_ok_and(|now| !now.contains(&new.access_key_id)) =>
            {
                Ok(())
            }
            r => r,
        };
        match deleted {
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
    match store_new(app, ring, &src, &old, &new) {
        Ok(()) => {}
        Err(Unstored::Not(e)) => return Err(drop_new(e)),
        Err(Unstored::Late(e)) => {
            // The write may land after this run gave up on it: whichever
            // pair the place holds in the end, both keys stay.
            return Err(fail(format!(
                "{e:#}; the write may still land, so both keys stay active in IAM: the old key {old_id} (in {place} until the write lands) and the new key {new_id} (in {place} once it does)"
            ))
            .hint(format!(
                "check which key works with 'mfa-exec {p} --force -- aws sts get-caller-identity', then delete the other: mfa-exec {p} -- aws iam delete-access-key --user-name {user} --access-key-id {} (or {})",
                new.access_key_id, old.access_key_id
            ))
            .into());
        }
        Err(Unstored::Unknown(e)) => {
            // The new pair may be what the place holds now: deleting either
            // key could lock the user out, so both stay (issue 21 item 1).
            return Err(fail(format!(
                "{e:#}; {place} could not be put back as it was, so both keys stay active in IAM: the new key {new_id} (written to {place}) and the old key {old_id}"
            ))
            .hint(format!(
                "check which key works with 'mfa-exec {p} --force -- aws sts get-caller-identity', then delete the other: mfa-exec {p} -- aws iam delete-access-key --user-name {user} --access-key-id {} (or {})",
                new.access_key_id, old.access_key_id
            ))
            .into());
        }
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
    if let Err(e) = iam.delete_access_key(&s, user, &old.access_key_id) {
        // Sent once: with no answer, IAM may have deleted it all the same.
        let gone = crate::iam::outcome_unknown(&e)
            && iam
                .list_access_keys(&s, user)
                .is_ok_and(|now| !now.contains(&old.access_key_id));
        if !gone {
            return Err(both(format!(
                "IAM DeleteAccessKey of the old key failed: {e}"
            )));
        }
    }
    app.ui.note(&format!(
        "rotated the access key of IAM user {user}: {new_id} is stored in {place} and active; {old_id} is deleted. Sessions made with the old key stay valid until they expire"
    ));
    Ok(0)
}

/// Why the new pair is not (known to be) in place.
enum Unstored {
    /// The place holds the old pair: the new key can be deleted again.
    Not(anyhow::Error),
    /// The new pair was written and the place could not be shown to hold the
    /// old one again: neither key may be deleted.
    Unknown(anyhow::Error),
    /// The write got no answer in time and may still land.
    Late(anyhow::Error),
}

/// Stores `new` where `old` lives (the same keyring entry, or the same file
/// section, only the two values changing), and reads it back. A failure
/// after the write puts the old pair back and reads it back too; only then
/// is it [`Unstored::Not`].
fn store_new(
    app: &App,
    ring: &dyn Keyring,
    src: &KeySource,
    old: &LongTermKeys,
    new: &LongTermKeys,
) -> Result<(), Unstored> {
    match &src.keys {
        Keys::Keyring { account } => {
            let holds_old = || keys::load(ring, account).ok().as_ref() == Some(old);
            let put_back = || ring.set(account, &old.to_json()).is_ok() && holds_old();
            if let Err(ke) = ring.set(account, &new.to_json()) {
                let e: anyhow::Error = keyring_fail(ring, "write", account, &ke).into();
                // A write without an answer may still land later: whatever
                // the entry holds now, deleting either key is not safe.
                if ke.timed_out() {
                    return Err(Unstored::Late(e));
                }
                // A write that failed half-way (the secret set, not its
                // attributes) may have replaced the entry.
                return Err(if holds_old() || put_back() {
                    Unstored::Not(e)
                } else {
                    Unstored::Unknown(e)
                });
            }
            if keys::load(ring, account).ok().as_ref() != Some(new) {
                let e = fail(format!(
                    "{} reads back different keys than were written",
                    keyring_place(account)
                ))
                .into();
                return Err(if put_back() {
                    Unstored::Not(e)
                } else {
                    Unstored::Unknown(e)
                });
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
            // The write path leaves the file as it was when it fails.
            let done = apply(&store, &swap).map_err(Unstored::Not)?;
            let read_back = store
                .load()
                .map(|f| keys::pair_in(&f.doc, &section))
                .map_err(|e| e.context(format!("[{section}] could not be read back")));
            let e = match read_back {
                Ok(Some(k)) if k == *new => return Ok(()),
                Ok(_) => anyhow::Error::from(fail(format!(
                    "[{section}] reads back different keys than were written"
                ))),
                Err(e) => e,
            };
            let restored = done.undo(&|_| Ok(())).is_ok()
                && store
                    .load()
                    .is_ok_and(|f| keys::pair_in(&f.doc, &section).as_ref() == Some(old));
            Err(if restored {
                Unstored::Not(e)
            } else {
                Unstored::Unknown(e)
            })
        }
    }
}
