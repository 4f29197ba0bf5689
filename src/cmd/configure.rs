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

use super::App;
use crate::cli::ConfigureArgs;
use crate::duration::human;
use crate::env::Env;
use crate::error::fail;
use crate::ini::Document;
use crate::keys::LongTermKeys;
use crate::keystore::Keyring;
use crate::profile::{valid_serial, ConfigIndex, Fact};
use crate::secret::mask_key_id;
use crate::session::KEY_EXPIRES;
use crate::store::{modify_both, Part, Store};
use crate::ui::Ui;
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::time::Duration;

/// The answers, once gathered.
#[derive(Debug, Default)]
struct Answers {
    source: String,
    new_keys: Option<(String, String)>,
    serial: String,
    region: Option<String>,
    duration: Option<u64>,
}

/// The terminal, when there is one and prompting is allowed.
struct Tty {
    term: console::Term,
}

impl Tty {
    fn open(no_input: bool) -> Option<Tty> {
        if no_input {
            return None;
        }
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let term = console::Term::read_write_pair(tty.try_clone().ok()?, tty);
        term.is_term().then_some(Tty { term })
    }

    fn input(&self, prompt: &str, default: Option<&str>, allow_empty: bool) -> Result<String> {
        let mut i = dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .allow_empty(allow_empty);
        if let Some(d) = default {
            i = i.default(d.to_string());
        }
        let answer = i.interact_text_on(&self.term)?.trim().to_string();
        check_plain(&format!("the answer to '{prompt}'"), &answer)?;
        Ok(answer)
    }
}

fn long_term_profiles(app: &App) -> Vec<String> {
    let doc = &app.files.credentials.doc;
    let mut out = Vec::new();
    for s in doc.sections() {
        let has_keys = crate::session::long_term_pair(|k| doc.get(&s.name, k)).is_some();
        if has_keys && !out.contains(&s.name) {
            out.push(s.name);
        }
    }
    out
}

fn valid_key_id(id: &str) -> bool {
    id.starts_with("AKIA")
        && (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Refuses a control character (C0, including newline, CR and NUL, or DEL) in a
/// value that would go into an INI file: one would split the line and inject
/// keys. `what` names the flag or answer; the value itself is never shown.
fn check_plain(what: &str, value: &str) -> Result<()> {
    match value.chars().find(|c| c.is_ascii_control()) {
        None => Ok(()),
        Some(c) => Err(fail(format!(
            "{what} contains a control character ({}); values cannot hold newlines or other control characters",
            char_name(c)
        ))
        .into()),
    }
}

fn char_name(c: char) -> String {
    match c {
        '\n' => "newline, U+000A".into(),
        '\r' => "carriage return, U+000D".into(),
        '\0' => "NUL, U+0000".into(),
        '\t' => "tab, U+0009".into(),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

/// A profile name usable as a section name: not empty, no spaces or brackets.
fn check_profile_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(char::is_whitespace) || name.contains(['[', ']']) {
        return Err(fail(format!(
            "'{name}' cannot be a profile name (no spaces or brackets)"
        ))
        .into());
    }
    Ok(())
}

/// Every value given on the command line, checked before anything is read.
fn check_flags(a: &ConfigureArgs) -> Result<()> {
    check_plain("the profile name", &a.profile)?;
    let flags = [
        ("--source-profile", &a.source_profile),
        ("--access-key-id", &a.access_key_id),
        ("--mfa-serial", &a.mfa_serial),
        ("--region", &a.region),
    ];
    for (flag, value) in flags {
        if let Some(v) = value {
            check_plain(flag, v)?;
        }
    }
    check_profile_name(&a.profile)?;
    if let Some(s) = &a.source_profile {
        check_profile_name(s)?;
    }
    Ok(())
}

/// Refuses to write long-term keys into `[section]` of the credentials file
/// when it holds a session: `aws_session_token` (or `aws_security_token`), or
/// mfa-exec's marker and expiry keys. The new keys would sit next to the old
/// token, and a run would export the long-term secret with a session token.
/// `p` is the profile being configured, for the hint.
fn refuse_session_section(app: &App, p: &str, section: &str) -> Result<()> {
    let creds = &app.files.credentials;
    let session_key = creds
        .doc
        .section_map(section)
        .into_iter()
        .map(|(k, _, _)| k)
        .find(|k| {
            k == "aws_session_token"
                || k == "aws_security_token"
                || k == KEY_EXPIRES
                || k.starts_with("x_mfa_exec_")
        });
    match session_key {
        None => Ok(()),
        Some(k) => Err(fail(format!(
            "[{section}] in {} holds a session ({k}), not long-term keys; configure will not write long-term keys into it",
            creds.shown
        ))
        .hint(format!(
            "keep the keys in a section of their own: --source-profile {p}-long-term (the default with --access-key-id)"
        ))
        .into()),
    }
}

fn derive_serial(user_arn: &str) -> Option<String> {
    let (head, user) = user_arn.split_once(":user/")?;
    let name = user.rsplit('/').next()?;
    (head.starts_with("arn:aws") && !name.is_empty()).then(|| format!("{head}:mfa/{name}"))
}

fn read_secret(a: &ConfigureArgs, tty: Option<&Tty>) -> Result<String> {
    let secret = if a.secret_from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        check_plain(
            "the secret access key from stdin (--secret-from-stdin)",
            line,
        )?;
        line.trim().to_string()
    } else if let Some(t) = tty {
        let typed = dialoguer::Password::new()
            .with_prompt("AWS secret access key")
            .interact_on(&t.term)?;
        check_plain("the secret access key", &typed)?;
        typed.trim().to_string()
    } else {
        return Err(fail(
            "the secret access key is read from the terminal or stdin, and there is no terminal",
        )
        .hint("pipe it in with --secret-from-stdin")
        .into());
    };
    if secret.len() < 16 || secret.chars().any(char::is_whitespace) {
        return Err(
            fail("that does not look like a secret access key (40 characters, no spaces)").into(),
        );
    }
    Ok(secret)
}

fn gather(
    app: &App,
    a: &ConfigureArgs,
    current: &BTreeMap<&str, Option<Fact<String>>>,
    tty: Option<&Tty>,
) -> Result<Answers> {
    let p = &a.profile;
    let cur = |k: &str| {
        current
            .get(k)
            .and_then(|f| f.as_ref())
            .map(|f| f.value.clone())
    };
    let mut ans = Answers::default();

    // Source profile and keys.
    let sources = long_term_profiles(app);
    let new_keys_wanted = a.access_key_id.is_some();
    ans.source = match (&a.source_profile, tty) {
        (Some(s), _) => s.clone(),
        (None, _) if new_keys_wanted => format!("{p}-long-term"),
        (None, Some(t)) => {
            let mut items: Vec<String> = sources.clone();
            items.push("enter new keys".into());
            let default = cur("source_profile")
                .and_then(|c| items.iter().position(|i| *i == c))
                .unwrap_or(0);
            let pick = dialoguer::Select::new()
                .with_prompt("Profile holding the long-term keys")
                .items(&items)
                .default(default)
                .interact_on(&t.term)?;
            if pick + 1 == items.len() {
                let name = t.input(
                    "Name for the keys' profile",
                    Some(&format!("{p}-long-term")),
                    false,
                )?;
                check_profile_name(&name)?;
                name
            } else {
                items[pick].clone()
            }
        }
        (None, None) => cur("source_profile").ok_or_else(|| {
            fail(format!("no source profile for '{p}'"))
                .hint("pass --source-profile, or --access-key-id with --secret-from-stdin")
        })?,
    };
    if ans.source == *p {
        return Err(fail(format!("profile '{p}' cannot be its own source_profile")).into());
    }
    let needs_keys = new_keys_wanted || !sources.contains(&ans.source);
    if needs_keys {
        refuse_session_section(app, p, &ans.source)?;
        let id = match (&a.access_key_id, tty) {
            (Some(id), _) => id.clone(),
            (None, Some(t)) => t.input("AWS access key id", None, false)?,
            (None, None) => {
                return Err(fail(format!("[{}] holds no long-term keys", ans.source))
                    .hint("pass --access-key-id and --secret-from-stdin")
                    .into())
            }
        };
        if !valid_key_id(&id) {
            // Masked: a secret pasted into the wrong field must not be echoed.
            return Err(fail(format!(
                "'{}' is not a long-term access key id (AKIA followed by letters and digits)",
                mask_key_id(&id)
            ))
            .into());
        }
        let secret = read_secret(a, tty)?;
        ans.new_keys = Some((id, secret));
    }

    // MFA device.
    let idx = ConfigIndex::build(&app.files.config);
    let user_arn = idx
        .get(p, "user_arn")
        .or_else(|| idx.get(&ans.source, "user_arn"))
        .map(|f| f.value);
    let default_serial = cur("mfa_serial").or_else(|| user_arn.as_deref().and_then(derive_serial));
    ans.serial = match (&a.mfa_serial, tty) {
        (Some(s), _) => s.clone(),
        (None, Some(t)) => t.input("MFA device ARN", default_serial.as_deref(), false)?,
        (None, None) => default_serial
            .ok_or_else(|| fail(format!("no MFA device for '{p}'")).hint("pass --mfa-serial"))?,
    };
    if !valid_serial(&ans.serial) {
        return Err(fail(format!(
            "invalid MFA device '{}': expected an ARN such as arn:aws:iam::123456789012:mfa/name",
            ans.serial
        ))
        .into());
    }

    // Region and duration (optional).
    ans.region = match (&a.region, tty) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(t)) => Some(t.input("Region (empty: none)", cur("region").as_deref(), true)?)
            .filter(|r| !r.is_empty()),
        (None, None) => None,
    };
    ans.duration = match (a.duration, tty) {
        (Some(d), _) => Some(d),
        (None, Some(t)) => {
            let d = t.input(
                "Session duration (empty: 12h default)",
                cur("duration_seconds").as_deref(),
                true,
            )?;
            if d.is_empty() {
                None
            } else {
                Some(crate::duration::parse_duration(&d).map_err(|e| anyhow!(e))?)
            }
        }
        (None, None) => None,
    };
    if let Some(d) = ans.duration {
        if !(crate::profile::GST_MIN..=crate::profile::GST_MAX).contains(&d) {
            return Err(fail(format!(
                "session duration {} is out of range: 15m to 36h",
                human(d)
            ))
            .into());
        }
    }
    Ok(ans)
}

/// Lines that differ between two texts, as `-`/`+` lines (a small LCS diff).
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    if n * m > 4_000_000 {
        return vec![format!(
            "({} lines changed)",
            b.len().abs_diff(a.len()).max(1)
        )];
    }
    let mut l = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if a[i] == b[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || l[i + 1][j] >= l[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

pub fn run(env: Env, ui: Ui, a: &ConfigureArgs) -> Result<i32> {
    check_flags(a)?;
    let app = App::load(env, ui)?;
    let p = a.profile.clone();
    if a.no_input && !a.yes {
        return Err(fail("--no-input needs --yes (there is nobody to confirm)").into());
    }
    let tty = Tty::open(a.no_input);
    let idx = ConfigIndex::build(&app.files.config);
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
    let mut config_sets: Vec<(&str, String)> = Vec::new();
    let mut want = |k: &'static str, v: String| {
        if !section_exists || cur(k).as_deref() != Some(v.as_str()) {
            config_sets.push((k, v));
        }
    };
    want("source_profile", ans.source.clone());
    want("mfa_serial", ans.serial.clone());
    if let Some(r) = &ans.region {
        want("region", r.clone());
    }
    if let Some(d) = ans.duration {
        let keep = cur("duration_seconds").and_then(|c| crate::duration::parse_duration(&c).ok())
            == Some(d);
        if !keep || !section_exists {
            config_sets.push(("duration_seconds", d.to_string()));
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
    let creds_edit = |doc: &mut Document| -> Result<()> {
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
    if cfg_diff.is_empty() && cred_diff.is_empty() {
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
    if let Some(k) = &keyring {
        preview.push_str(&format!(
            "{}:\n  + AccessKeyId {}, SecretAccessKey {STARS}\n",
            crate::keys::keyring_place(&ans.source),
            mask_key_id(&k.access_key_id)
        ));
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
            app.ui.note("nothing written");
            return Ok(crate::error::exit::FAILURE);
        }
    }
    let ring = crate::keystore::OsKeyring::new();
    let stored = match &keyring {
        Some(k) => Some(store_in_keyring(&ring, &ans.source, k)?),
        None => None,
    };
    // A failed file write puts the keyring entry back as it was.
    let undo = |e: anyhow::Error| {
        match &stored {
            Some(Some(None)) => {
                let _ = ring.delete(&ans.source);
            }
            Some(Some(Some(old))) => {
                let _ = ring.set(&ans.source, old);
            }
            _ => {}
        }
        e
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

/// Stars shown instead of a secret.
const STARS: &str = "****************";

/// A key whose value is a secret: secret access keys, session tokens, and
/// anything else named like a secret, token or password.
fn secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k.contains("secret") || k.contains("token") || k.contains("password")
}

/// The values of every secret key in `doc`.
fn secret_values(doc: &Document) -> Vec<String> {
    doc.sections()
        .into_iter()
        .flat_map(|s| s.entries)
        .filter(|e| secret_key(&e.key))
        .map(|e| e.value)
        .collect()
}

/// Replaces every occurrence of each secret (of 4 characters or more; shorter
/// ones are masked by line already) with stars: the last check that no secret
/// leaves this module.
fn star_out(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(|s| s.trim())
        .filter(|s| s.len() >= 4)
        .collect();
    // Longest first, so a secret containing another is starred whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        out = out.replace(s, STARS);
    }
    out
}

/// One file line as the preview shows it: secret values starred, access key
/// ids masked, a line that is not a plain key, header, comment or blank (a
/// continuation line) starred whole.
fn mask_line(line: &str) -> String {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with(['#', ';']) || (t.starts_with('[') && t == line) {
        return line.to_string();
    }
    let Some(sep) = line.find(['=', ':']).filter(|_| t.len() == line.len()) else {
        let indent = &line[..line.len() - t.len()];
        return format!("{indent}{STARS}");
    };
    let (head, value) = (&line[..=sep], line[sep + 1..].trim());
    let key = &line[..sep];
    if value.is_empty() {
        line.to_string()
    } else if secret_key(key) {
        format!("{head} {STARS}")
    } else if key.trim().eq_ignore_ascii_case("aws_access_key_id") {
        format!("{head} {}", mask_key_id(value))
    } else {
        line.to_string()
    }
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
) -> Result<Option<Option<crate::secret::Secret>>> {
    let had = ring
        .get(account)
        .map_err(|e| crate::keys::keyring_fail(ring, "read", account, &e))?;
    if had
        .as_ref()
        .and_then(|s| LongTermKeys::from_json(s.expose()).ok())
        .as_ref()
        == Some(k)
    {
        return Ok(None);
    }
    ring.set(account, &k.to_json())
        .map_err(|e| crate::keys::keyring_fail(ring, "write", account, &e))?;
    if crate::keys::load(ring, account).ok().as_ref() != Some(k) {
        return Err(fail(format!(
            "{} reads back different keys than were written; nothing else was changed",
            crate::keys::keyring_place(account)
        ))
        .into());
    }
    Ok(Some(had))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive() {
        assert_eq!(
            derive_serial("arn:aws:iam::123456789012:user/test").as_deref(),
            Some("arn:aws:iam::123456789012:mfa/test")
        );
        assert_eq!(
            derive_serial("arn:aws:iam::123456789012:user/path/to/bob").as_deref(),
            Some("arn:aws:iam::123456789012:mfa/bob")
        );
        assert_eq!(derive_serial("nonsense"), None);
    }

    #[test]
    fn diff() {
        assert_eq!(
            line_diff("a\nb\nc\n", "a\nb2\nc\nd\n"),
            ["- b", "+ b2", "+ d"]
        );
        assert!(line_diff("same\n", "same\n").is_empty());
    }

    #[test]
    fn control_characters_are_a_real_check() {
        // A plain check, so release builds refuse them too (not a debug_assert).
        assert!(check_plain("--region", "eu-west-1").is_ok());
        for bad in ["a\nb", "a\rb", "a\0b", "a\x1bb", "a\x7fb", "a\tb"] {
            assert!(check_plain("--region", bad).is_err(), "{bad:?}");
        }
        let e = check_plain("--region", "x\n").unwrap_err().to_string();
        assert_eq!(e, "--region contains a control character (newline, U+000A); values cannot hold newlines or other control characters");
    }

    #[test]
    fn preview_lines_are_masked() {
        assert_eq!(
            mask_line("aws_secret_access_key = abc/def"),
            "aws_secret_access_key = ****************"
        );
        assert_eq!(
            mask_line("AWS_SESSION_TOKEN=tok"),
            "AWS_SESSION_TOKEN= ****************"
        );
        assert_eq!(
            mask_line("aws_security_token : tok"),
            "aws_security_token : ****************"
        );
        assert_eq!(
            mask_line("aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
            "aws_access_key_id = AKIA************MPLE"
        );
        assert_eq!(mask_line("  continued/secret"), "  ****************");
        assert_eq!(mask_line("region = eu-west-1"), "region = eu-west-1");
        assert_eq!(mask_line("[profile x]"), "[profile x]");
        assert_eq!(mask_line("# note"), "# note");
        assert_eq!(mask_line(""), "");
        assert_eq!(
            star_out("a longsecret b sec", &["longsecret".into(), "sec".into()]),
            "a **************** b sec"
        );
    }

    #[test]
    fn key_ids() {
        assert!(valid_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!valid_key_id("ASIAIOSFODNN7EXAMPLE"));
        assert!(!valid_key_id("akiaiosfodnn7example"));
    }
}
