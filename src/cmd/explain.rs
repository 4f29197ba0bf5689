//! `mfa-exec explain P [--json]`: how P resolves, one fact a line, each with the
//! file and line it came from, then the warnings. No network, no prompt, no lock.
//!
//! A profile that does not resolve is still explained as far as it goes: the
//! facts found, then `problem:` with the error; the exit status is then 125, so
//! scripts can tell.

use super::App;
use crate::cli::ExplainArgs;
use crate::duration::{hours_minutes, human};
use crate::env::Env;
use crate::error::fail;
use crate::flow;
use crate::profile::{ConfigIndex, Keys, Origin, Plan, Resolver};
use crate::secret::mask_key_id;
use crate::session::read_session;
use crate::sts::{self, CaBundle};
use crate::ui::Ui;
use anyhow::Result;
use chrono::Utc;
use std::io::Write;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Fact {
    pub fact: &'static str,
    pub value: String,
    pub origin: Option<String>,
}

fn fact(fact: &'static str, value: impl Into<String>, origin: Option<&Origin>) -> Fact {
    Fact {
        fact,
        value: value.into(),
        origin: origin.map(|o| o.to_string()),
    }
}

/// The key name at a config origin (`mfa_serial` or `mfa_arn`, ...).
fn key_at(app: &App, origin: &Origin) -> Option<String> {
    let Origin::File {
        file,
        line,
        section,
    } = origin
    else {
        return None;
    };
    let doc = if **file == *app.files.config.shown {
        &app.files.config.doc
    } else {
        &app.files.credentials.doc
    };
    doc.entries(section)
        .into_iter()
        .find(|e| e.line == *line)
        .map(|e| e.key)
}

fn facts(app: &App, plan: &Plan) -> Vec<Fact> {
    let mut out = vec![fact("profile", plan.profile.clone(), None)];
    for s in &plan.sections {
        out.push(fact("config section", "", Some(s)));
    }
    // Where the keys live; a keyring entry is named, never read (no D-Bus here).
    let keys = match &plan.source.keys {
        Keys::File(k) => format!(
            "[{}] (profile {}), key id {}",
            plan.source.section,
            plan.source.profile,
            mask_key_id(&k.access_key_id)
        ),
        Keys::Keyring { .. } => format!(
            "{}, profile {} ({} = keyring)",
            plan.source.place(),
            plan.source.profile,
            crate::keys::KEY_SETTING
        ),
    };
    out.push(fact("long-term keys", keys, Some(&plan.source.origin)));
    match &plan.serial {
        Some(s) => {
            let key = key_at(app, &s.origin)
                .map(|k| format!(" ({k})"))
                .unwrap_or_default();
            out.push(fact(
                "mfa device",
                format!("{}{key}", s.value),
                Some(&s.origin),
            ));
        }
        None => out.push(fact(
            "mfa device",
            "none (the role is assumed without MFA)",
            None,
        )),
    }
    for hop in &plan.roles {
        let mut v = format!("{} via profile {}", hop.role_arn.value, hop.profile);
        if let Some(x) = &hop.external_id {
            v.push_str(&format!(", external_id {x}"));
        }
        if let Some(n) = &hop.session_name {
            v.push_str(&format!(", session name {n}"));
        }
        out.push(fact("role", v, Some(&hop.role_arn.origin)));
    }
    if plan.is_role() {
        let how = if plan.direct_assume() {
            "AssumeRole directly with the MFA code (longer than 1h: a code per role)".to_string()
        } else if plan.serial.is_some() {
            format!(
                "GetSessionToken session of {} ({}), then AssumeRole",
                plan.source.profile,
                human(plan.source_duration.value)
            )
        } else {
            "AssumeRole with the long-term keys (no MFA device)".to_string()
        };
        out.push(fact("method", how, None));
    } else {
        out.push(fact("method", "GetSessionToken", None));
    }
    out.push(fact(
        "destination",
        format!("[{}] in {}", plan.destination, app.files.credentials.shown),
        None,
    ));
    match &plan.region {
        Some(r) => out.push(fact("region", r.value.clone(), Some(&r.origin))),
        None => out.push(fact(
            "region",
            "none (the command's region variables are left as they are)",
            None,
        )),
    }
    out.push(fact(
        "sts region",
        plan.sts_region.value.clone(),
        Some(&plan.sts_region.origin),
    ));
    out.push(fact(
        "duration",
        human(plan.duration.value),
        Some(&plan.duration.origin),
    ));
    out.push(fact(
        "min-remaining",
        human(plan.min_remaining.value),
        Some(&plan.min_remaining.origin),
    ));
    if let Some(e) = &plan.endpoint {
        out.push(fact("sts endpoint", e.value.clone(), Some(&e.origin)));
    }
    if let Some(b) = &plan.ca_bundle {
        let v = match CaBundle::load(&app.env, b) {
            Ok(c) => format!(
                "{}, {} certificate{}, trusted instead of the system's CAs",
                b.value,
                c.count,
                if c.count == 1 { "" } else { "s" }
            ),
            Err(_) => format!("{} (unusable: see problem)", b.value),
        };
        out.push(fact("ca bundle", v, Some(&b.origin)));
    }
    if let Ok(Some(p)) = sts::proxy_for(&app.env, &sts::endpoint_shown(plan)) {
        out.push(fact("proxy", p.shown.clone(), Some(&Origin::Env(p.var))));
    }
    if let Some(p) = &plan.mfa_process {
        out.push(fact("mfa_process", p.value.clone(), Some(&p.origin)));
    }
    if plan.server.value {
        out.push(fact(
            "server",
            format!(
                "the command gets its credentials from a local endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI on 127.0.0.1), not static keys; they are renewed {} before they end, {}",
                human(crate::serve::renew::lead(plan.duration.value)),
                crate::serve::how_renewed(app, plan, false)
            ),
            Some(&plan.server.origin),
        ));
    }
    out.push(prompt_fact(app, plan));
    out.push(fact(
        "prompt timeout",
        format!("{} (a desktop dialog)", human(plan.prompt_timeout.value)),
        Some(&plan.prompt_timeout.origin),
    ));
    let now = Utc::now();
    let doc = &app.files.credentials.doc;
    let state = match read_session(doc, &plan.destination) {
        None => "none".to_string(),
        Some(c) if c.marker.as_ref() != Some(&plan.marker()) => {
            "none usable (the section's session was made for another source, device or role)"
                .to_string()
        }
        Some(c) => {
            let left = c.session.remaining(now);
            let until = c.session.expires_rfc3339();
            if flow::cached(plan, doc, now).is_some() {
                format!("fresh until {until} ({} left)", hours_minutes(left))
            } else if left > 0 {
                format!(
                    "stale: expires {until}, {} left, under min-remaining",
                    human(left as u64)
                )
            } else {
                format!("expired at {until}")
            }
        }
    };
    out.push(fact("session", state, None));
    out
}

/// Which prompt a run here would use and why (SPEC §9.3): `auto` is decided
/// as a run would decide it, from this process's terminal and environment.
fn prompt_fact(app: &App, plan: &Plan) -> Fact {
    let mode = plan.prompt.value.name();
    let v = if plan.mfa_process.is_some() {
        format!("{mode}, not used: mfa_process gives the code")
    } else if app.env.get("MFA_EXEC_TOKEN_CODE").is_some() {
        format!("{mode}, not used: MFA_EXEC_TOKEN_CODE gives the code")
    } else {
        let desktop = crate::otp::dialog::Desktop::from_env(&app.env);
        let (_, why) = crate::otp::dialog::choose(
            plan.prompt.value,
            &plan.prompt.origin,
            &desktop,
            &plan.profile,
        );
        format!("{mode}: {why}")
    };
    fact("prompt", v, Some(&plan.prompt.origin))
}

/// `idx` is the config index resolution built (one scan of the headers, not
/// one per use).
fn warnings(app: &App, idx: &ConfigIndex, plan: Option<&Plan>, name: &str) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(mode) = super::loose_mode(&app.files.credentials.path) {
        w.push(format!(
            "{} is readable by others (mode {mode:o})",
            app.files.credentials.shown
        ));
    }
    let sections = idx.sections_of(name);
    if !sections.is_empty() && sections.iter().all(|(_, _, bare)| *bare) {
        let (s, line, _) = &sections[0];
        w.push(format!(
            "{}:{line}: [{s}] is a bare section; the AWS CLI ignores it in the config file (use [profile {s}])",
            app.files.config.shown
        ));
    }
    for x in Resolver::new(&app.files).dialect_notes(name) {
        w.push(x);
    }
    match plan {
        Some(plan) => {
            for x in &plan.warnings {
                if !w.contains(x) {
                    w.push(x.clone());
                }
            }
            // Only profiles with a `source_profile = <destination>` line can
            // resolve to it: no need to resolve every profile of the file.
            for (other, sp) in idx.profiles_with("source_profile", &plan.destination) {
                if other != plan.profile {
                    w.push(format!(
                        "profile '{other}' uses [{}] as its source_profile ({}), but mfa-exec writes sessions there",
                        plan.destination, sp.origin
                    ));
                }
            }
            if let Some(s) = &plan.serial {
                if let Origin::File { section, .. } = &s.origin {
                    if &**section == "default" && !name.eq("default") {
                        w.push(format!(
                            "the MFA device was found only in [default] ({})",
                            s.origin
                        ));
                    }
                }
            }
        }
        None => {
            for x in &idx.warnings {
                w.push(x.clone());
            }
        }
    }
    for d in app.files.credentials.doc.warnings() {
        let x = format!("{}:{}: {}", app.files.credentials.shown, d.line, d.message);
        if !w.contains(&x) {
            w.push(x);
        }
    }
    w
}

/// What a run would refuse before calling STS: an unusable CA bundle or proxy.
fn network_problem(app: &App, plan: &Plan) -> Option<crate::error::Fail> {
    let bundle = plan
        .ca_bundle
        .as_ref()
        .and_then(|b| CaBundle::load(&app.env, b).err());
    let proxy = || sts::proxy_for(&app.env, &sts::endpoint_shown(plan)).err();
    bundle.or_else(proxy)
}

pub fn run(env: Env, ui: Ui, a: &ExplainArgs) -> Result<i32> {
    let name = a.profile.name()?.to_string();
    let quiet = Ui { quiet: true, ..ui };
    let app = App::load(env, quiet)?;
    let req = app.request(&name, &a.resolve);
    let resolver = Resolver::new(&app.files);
    let idx = &resolver.config;
    let resolved = resolver.resolve(&req);
    let (facts, problem) = match &resolved {
        Ok(plan) => (facts(&app, plan), network_problem(&app, plan)),
        Err(e) => {
            let mut f = vec![fact("profile", name.clone(), None)];
            for (s, line, _) in idx.sections_of(&name) {
                let o = Origin::File {
                    file: app.files.config.shown.as_str().into(),
                    line,
                    section: s.into(),
                };
                f.push(fact("config section", "", Some(&o)));
            }
            for line in app.files.credentials.doc.section_lines(&name) {
                let o = Origin::File {
                    file: app.files.credentials.shown.as_str().into(),
                    line,
                    section: name.as_str().into(),
                };
                f.push(fact("credentials section", "", Some(&o)));
            }
            // A hint never repeats the command that just failed.
            let mut e = e.clone();
            e.hint = e
                .hint
                .as_deref()
                .and_then(|h| crate::error::hint_without(h, &format!("mfa-exec explain {name}")));
            (f, Some(e))
        }
    };
    let warns = warnings(&app, idx, resolved.as_ref().ok(), &name);
    let mut out = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({
            "profile": name,
            "facts": facts,
            "warnings": warns,
            "problem": problem.as_ref().map(|p| serde_json::json!({"message": p.message, "hint": p.hint})),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        let width = facts.iter().map(|f| f.fact.len()).max().unwrap_or(0);
        for f in &facts {
            let text = match (&f.value, &f.origin) {
                (v, Some(o)) if v.is_empty() => o.clone(),
                (v, Some(o)) => format!("{v}  ({o})"),
                (v, None) => v.clone(),
            };
            writeln!(out, "{:<width$}  {text}", f.fact)?;
        }
        for w in &warns {
            writeln!(out, "{:<width$}  {w}", "warning")?;
        }
        if let Some(p) = &problem {
            writeln!(out, "{:<width$}  {}", "problem", p.message)?;
            if let Some(h) = &p.hint {
                writeln!(out, "{:<width$}  {h}", "hint")?;
            }
        }
    }
    out.flush()?;
    match problem {
        Some(_) => Err(fail(format!(
            "profile '{name}' does not resolve (see 'problem' above)"
        ))
        .into()),
        None => Ok(0),
    }
}
