//! `mfa-exec keys move|rotate` (SPEC §8.3): long-term keys, where they live
//! (`moves.rs`: the credentials file or the OS keyring) and which they are
//! (`rotate.rs`: a new access key in IAM). This file holds what both share:
//! the dispatch, file edits that can be undone byte for byte, and the failure
//! points tests inject. Nothing here decides where keys go or calls AWS.

mod moves;
mod rotate;

use super::App;
use crate::cli::{KeysArgs, KeysCommand};
use crate::env::Env;
use crate::error::fail;
use crate::ini::Document;
use crate::keystore::OsKeyring;
use crate::profile::{KeySource, Origin};
use crate::store::Store;
use crate::testhook;
use crate::ui::Ui;
use anyhow::Result;
pub use moves::move_keys;
use rotate::rotate;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(env: Env, ui: Ui, a: &KeysArgs) -> Result<i32> {
    match &a.command {
        KeysCommand::Move(m) => {
            let app = App::load(env, ui)?;
            let ring = OsKeyring::new();
            // A keyring failure's hint offers `keys move P --to file`: never
            // while moving P's keys (to the file: it is what failed; to the
            // keyring: the keys already are in the file).
            let p = m.profile.as_str();
            move_keys(&app, &ring, m).map_err(|e| {
                crate::error::without_hint_naming(e, &format!("mfa-exec keys move {p} --to file"))
            })
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
    if testhook::panics(point) {
        panic!("injected panic at {point}");
    }
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
    let in_config = matches!(&src.origin, Origin::File { file, .. } if **file == *app.files.config.shown && **file != *app.files.credentials.shown);
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
    fn undo(&self, fallback: &dyn Fn(&mut Document) -> Result<()>) -> Result<()> {
        self.store
            .modify(TIMEOUT, &|doc| {
                if doc.render() == self.after.render() {
                    *doc = self.before.clone();
                    Ok(())
                } else {
                    fallback(doc)
                }
            })
            .map(drop)
    }
}
