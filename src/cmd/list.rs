//! `mfa-exec list [--json]`: every profile with an MFA device or a cached
//! session, and the state of its session. Reads the files only: no network, no
//! prompt, no lock.
//!
//! Decisions: a credentials section that is the destination of a listed profile
//! (`prod-mfa`, `test`) is shown on that profile's row, not on its own; a
//! session another tool wrote (no marker) is shown with source `-`.

use super::App;
use crate::cli::ListArgs;
use crate::cli::ResolveArgs;
use crate::env::Env;
use crate::profile::{Keys, Resolver};
use crate::session::{read_session, Cached};
use crate::ui::Ui;
use anyhow::Result;
use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub profile: String,
    pub source: Option<String>,
    /// Where the source's long-term keys live: `file` or
    /// `keyring (mfa-exec/S)` (`null` for a session another tool wrote).
    pub keys: Option<String>,
    pub device: Option<String>,
    /// The device came from `[default]`, not from the profile or its source
    /// chain (issue 25 item 8).
    pub device_from_default: bool,
    pub section: String,
    pub state: &'static str,
    /// When the profile's own session is not fresh but a run needs no code:
    /// the section of the fresh GetSessionToken session of its source and
    /// device that a run reuses (issue 25 item 9).
    pub reuses: Option<String>,
    pub expires: Option<String>,
    pub remaining_seconds: Option<i64>,
}

fn state(
    c: Option<&Cached>,
    now: DateTime<Utc>,
    min: u64,
) -> (&'static str, Option<String>, Option<i64>) {
    match c {
        None => ("none", None, None),
        Some(c) => {
            let left = c.session.remaining(now);
            let st = if left <= 0 {
                "expired"
            } else if left < min as i64 {
                "expiring"
            } else {
                "valid"
            };
            (st, Some(c.session.expires_rfc3339()), Some(left))
        }
    }
}

pub fn rows(app: &App, now: DateTime<Utc>, min: u64) -> Vec<Row> {
    let r = Resolver::new(&app.files);
    let doc = &app.files.credentials.doc;
    let mut out = Vec::new();
    let mut listed: FxHashSet<&str> = FxHashSet::default();
    // Fresh GetSessionToken sessions by (source, device), the freshest of
    // each (section, seconds left), noted from the sessions both loops below
    // read anyway: no pass of its own (`list` at 10,000 profiles).
    type Key = (String, Option<String>);
    let mut fresh: FxHashMap<Key, (String, i64)> = FxHashMap::default();
    let mut note = |c: &Cached| {
        let Some(m) = c.marker.as_ref().filter(|m| m.role_arn.is_none()) else {
            return;
        };
        if !c.session.fresh(now, min) {
            return;
        }
        let left = c.session.remaining(now);
        let key = (m.source.clone(), m.serial.clone());
        if fresh.get(&key).is_none_or(|&(_, l)| left > l) {
            fresh.insert(key, (c.section.clone(), left));
        }
    };
    let names = r.profile_names();
    // The same inputs as every other command (SPEC §8.2): MFA_EXEC_MFA_SERIAL,
    // the region and endpoint variables, read once. `--min-remaining` only
    // grades the state below, so it must not make a profile fail to resolve
    // here.
    let mut req = app.request("", &ResolveArgs::default());
    req.min_remaining_flag = Some(0);
    for &name in &names {
        req.profile.clear();
        req.profile.push_str(name);
        if let Ok(plan) = r.resolve_quiet(&req) {
            if plan.serial.is_none() && !plan.is_role() {
                continue;
            }
            // The session counts only when its marker is this plan's.
            let raw = read_session(doc, &plan.destination);
            if let Some(c) = &raw {
                note(c);
            }
            let cached = raw.filter(|c| {
                c.marker.as_ref().is_some_and(|m| {
                    m.source == plan.source.profile
                        && m.serial.as_deref() == plan.serial()
                        && m.role_arn.as_deref()
                            == plan.roles.last().map(|h| h.role_arn.value.as_str())
                })
            });
            let (st, exp, left) = state(cached.as_ref(), now, min);
            listed.insert(name);
            let keys = match &plan.source.keys {
                Keys::File(_) => "file".to_string(),
                Keys::Keyring { .. } => plan.source.place(),
            };
            // The plan is dropped here: its parts move into the row.
            out.push(Row {
                profile: name.to_string(),
                source: Some(plan.source.profile),
                keys: Some(keys),
                device: plan.serial.map(|f| f.value),
                device_from_default: plan.device_from_default,
                section: plan.destination,
                state: st,
                reuses: None,
                expires: exp,
                remaining_seconds: left,
            });
        }
    }
    // Sessions no listed profile owns; the sections shown so far are
    // borrowed from the rows (no copy per profile), the new rows wait aside.
    let mut shown_sections: FxHashSet<&str> = out.iter().map(|r| r.section.as_str()).collect();
    // (source, device) of every listed row: its source marker.
    let sources: FxHashSet<(&str, Option<&str>)> = out
        .iter()
        .map(|r| (r.source.as_deref().unwrap_or(""), r.device.as_deref()))
        .collect();
    let mut others = Vec::new();
    for (name, _) in doc.header_iter() {
        if shown_sections.contains(name) || listed.contains(name) {
            continue;
        }
        if let Some(c) = read_session(doc, name) {
            note(&c);
            // A GetSessionToken session of a listed profile's source and
            // device is that profile's to reuse (`reuses` above), not an
            // orphan: after `keys move --to keyring` the session of
            // `testAccount` moves from [testAccount-mfa] to [testAccount].
            let owned = c.marker.as_ref().is_some_and(|m| {
                m.role_arn.is_none() && sources.contains(&(m.source.as_str(), m.serial.as_deref()))
            });
            if owned {
                continue;
            }
            shown_sections.insert(name);
            let (st, exp, left) = state(Some(&c), now, min);
            others.push(Row {
                profile: name.to_string(),
                source: c.marker.as_ref().map(|m| m.source.clone()),
                keys: None,
                device: c.marker.as_ref().and_then(|m| m.serial.clone()),
                device_from_default: false,
                section: name.to_string(),
                state: st,
                reuses: None,
                expires: exp,
                remaining_seconds: left,
            });
        }
    }
    drop(shown_sections);
    drop(sources);
    // SPEC §2 "Reuse": a fresh session of the same source and device in any
    // section serves a row whose own session is not fresh, without a code.
    for row in out
        .iter_mut()
        .filter(|r| r.state != "valid" && !fresh.is_empty())
    {
        if let Some(source) = row.source.clone() {
            row.reuses = fresh
                .get(&(source, row.device.clone()))
                .map(|(s, _)| s.clone());
        }
    }
    out.append(&mut others);
    out.sort_by(|a, b| a.profile.cmp(&b.profile));
    out
}

/// Characters in a cell (its length when ASCII, the usual case).
fn width(c: &str) -> usize {
    if c.is_ascii() {
        c.len()
    } else {
        c.chars().count()
    }
}

fn or_dash(v: &Option<String>) -> std::borrow::Cow<'_, str> {
    v.as_deref().unwrap_or("-").into()
}

fn left_text(secs: i64) -> String {
    format!("{} left", crate::duration::hours_minutes(secs))
}

pub fn run(env: Env, ui: Ui, a: &ListArgs) -> Result<i32> {
    let color =
        std::io::stdout().is_terminal() && env.get_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let min =
        crate::profile::min_remaining(a.min_remaining, env.get("MFA_EXEC_MIN_REMAINING"))?.value;
    let app = App::load(env, ui)?;
    let rows = rows(&app, Utc::now(), min);
    // One write per buffer, not per row (stdout is line-buffered).
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        out.flush()?;
        return Ok(0);
    }
    if rows.is_empty() {
        writeln!(out, "no profile with an MFA device or a cached session")?;
        out.flush()?;
        return Ok(0);
    }
    // Cells borrowed from the rows; only the state text is made.
    let table: Vec<[std::borrow::Cow<'_, str>; 5]> = rows
        .iter()
        .map(|r| {
            let st = match (r.state, r.remaining_seconds, &r.reuses) {
                ("valid", Some(s), _) => format!("valid, {}", left_text(s)).into(),
                (st, _, Some(section)) => format!("{st}, reuses [{section}]").into(),
                (st, _, None) => st.into(),
            };
            [
                r.profile.as_str().into(),
                or_dash(&r.source),
                or_dash(&r.keys),
                or_dash(&r.device),
                st,
            ]
        })
        .collect();
    let head = ["PROFILE", "SOURCE", "KEYS", "DEVICE", "STATE"];
    let mut w = head.map(str::len);
    for row in &table {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(width(c));
        }
    }
    writeln!(
        out,
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
        head[0],
        head[1],
        head[2],
        head[3],
        head[4],
        w0 = w[0],
        w1 = w[1],
        w2 = w[2],
        w3 = w[3]
    )?;
    // Cells padded by hand into one reused line: `{:<w$}` through the
    // formatting machinery cost 15M instructions (3%) of `list` at 10,000 rows.
    let mut line = String::with_capacity(w.iter().sum::<usize>() + 64);
    for (row, r) in table.iter().zip(&rows) {
        line.clear();
        for (i, c) in row[..4].iter().enumerate() {
            line.push_str(c);
            let pad = w[i] - width(c) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
        if color {
            let code = match r.state {
                "valid" => "32",
                "expiring" => "33",
                "expired" => "31",
                _ => "2",
            };
            line.push_str("\x1b[");
            line.push_str(code);
            line.push('m');
            line.push_str(&row[4]);
            line.push_str("\x1b[0m");
        } else {
            line.push_str(&row[4]);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    // Said once, after the table (on stderr: the table stays a table).
    let inherited: Vec<&str> = rows
        .iter()
        .filter(|r| r.device_from_default)
        .map(|r| r.profile.as_str())
        .collect();
    if !inherited.is_empty() {
        app.ui.note(&format!(
            "the MFA device of {} comes from [default] (none of its own or along its source_profile chain)",
            inherited
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(0)
}
