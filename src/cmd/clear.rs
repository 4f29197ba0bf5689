//! `mfa-exec clear [P... | --all]`: removes the sessions that carry mfa-exec's
//! marker (a section left without keys is removed), never anything else, through
//! the store's lock and atomic write; says what it removed (nothing but errors
//! with `--quiet`).

use super::App;
use crate::cli::ClearArgs;
use crate::env::Env;
use crate::profile::{Request, Resolver};
use crate::session::{KEY_SOURCE, SESSION_KEYS};
use crate::ui::Ui;
use anyhow::Result;
use std::time::Duration;

pub fn run(env: Env, ui: Ui, a: &ClearArgs) -> Result<i32> {
    let app = App::load(env, ui)?;
    let doc = &app.files.credentials.doc;
    let mut targets: Vec<String> = Vec::new();
    if a.all {
        for s in doc.sections() {
            if doc.get(&s.name, KEY_SOURCE).is_some() && !targets.contains(&s.name) {
                targets.push(s.name);
            }
        }
    } else {
        let r = Resolver::new(&app.files);
        for p in &a.profiles {
            let req = Request {
                profile: p.clone(),
                min_remaining_flag: Some(0),
                ..Default::default()
            };
            let candidates = match r.resolve(&req) {
                Ok(plan) => vec![plan.destination],
                // A profile that no longer resolves may still have sessions.
                Err(_) if r.all_profiles().contains(p) || doc.has_section(&format!("{p}-mfa")) => {
                    vec![p.clone(), format!("{p}-mfa")]
                }
                Err(e) => return Err(e.into()),
            };
            let mut found = false;
            for c in candidates {
                if doc.get(&c, KEY_SOURCE).is_some() {
                    found = true;
                    if !targets.contains(&c) {
                        targets.push(c);
                    }
                } else if doc.get(&c, "aws_session_token").is_some()
                    || doc.get(&c, "aws_security_token").is_some()
                {
                    found = true;
                    app.ui.warn(&format!(
                        "[{c}] holds a session mfa-exec did not write; left as it is"
                    ));
                }
            }
            if !found {
                app.ui
                    .note(&format!("no session of profile '{p}' to remove"));
            }
        }
    }
    if targets.is_empty() {
        if a.all {
            app.ui.note(&format!(
                "no session written by mfa-exec in {}",
                app.store.shown
            ));
        }
        return Ok(0);
    }
    let t = targets.clone();
    app.store.modify(Duration::from_secs(10), &move |doc| {
        for section in &t {
            if doc.get(section, KEY_SOURCE).is_none() {
                continue;
            }
            for k in SESSION_KEYS {
                doc.remove_key(section, k)?;
            }
            if doc.section_map(section).is_empty() {
                doc.remove_section(section)?;
            }
        }
        Ok(())
    })?;
    for s in &targets {
        app.ui.note(&format!(
            "removed the session in [{s}] of {}",
            app.store.shown
        ));
    }
    Ok(0)
}
