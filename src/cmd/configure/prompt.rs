//! The answers of `configure`: from flags, else asked on the terminal
//! (dialoguer), with the secret read hidden or from stdin; every value checked
//! before anything is written (no control characters, a usable profile name,
//! an MFA device ARN, an AKIA key id; never long-term keys into a section
//! holding a session). It never writes a file and never shows a secret.

use super::App;
use crate::cli::ConfigureArgs;
use crate::duration::human;
use crate::error::fail;
use crate::profile::{valid_serial, ConfigIndex, Fact};
use crate::secret::mask_key_id;
use crate::session::KEY_EXPIRES;
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::BufRead;

/// The answers, once gathered.
#[derive(Debug, Default)]
pub(super) struct Answers {
    pub(super) source: String,
    pub(super) new_keys: Option<(String, String)>,
    pub(super) serial: String,
    pub(super) region: Option<String>,
    pub(super) duration: Option<u64>,
}

/// The terminal, when there is one and prompting is allowed.
pub(super) struct Tty {
    pub(super) term: console::Term,
}

impl Tty {
    pub(super) fn open(no_input: bool) -> Option<Tty> {
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
        let has_keys = crate::session::long_term_pair(|k| {
            doc.get(&s.name, k)
                .filter(|v| k != "aws_session_token" || !v.trim().is_empty())
        })
        .is_some();
        if has_keys && !out.contains(&s.name) {
            out.push(s.name);
        }
    }
    // Profiles whose keys are in the keyring hold long-term keys too (issue
    // 21 item 9).
    for name in keyring_profiles(app) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Profiles whose config says `mfa_exec_keys = keyring`.
fn keyring_profiles(app: &App) -> Vec<String> {
    let idx = ConfigIndex::build_merged(&app.files.config, &app.files.credentials);
    crate::profile::Resolver::new(&app.files)
        .all_profiles()
        .into_iter()
        .filter(|p| {
            idx.get(p, crate::keys::KEY_SETTING)
                .is_some_and(|f| f.value.eq_ignore_ascii_case("keyring"))
        })
        .collect()
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
pub(super) fn check_flags(a: &ConfigureArgs) -> Result<()> {
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

pub(super) fn gather(
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
    if new_keys_wanted && !a.keyring && keyring_profiles(app).contains(&ans.source) {
        // Written to the file, they would never be used (issue 21 item 9).
        return Err(fail(format!(
            "the long-term keys of '{}' are in {} ({} = keyring); new keys for it go there too",
            ans.source,
            crate::keys::keyring_place(&ans.source),
            crate::keys::KEY_SETTING
        ))
        .hint("add --keyring")
        .into());
    }
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
    let idx = ConfigIndex::build_merged(&app.files.config, &app.files.credentials);
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
    fn key_ids() {
        assert!(valid_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!valid_key_id("ASIAIOSFODNN7EXAMPLE"));
        assert!(!valid_key_id("akiaiosfodnn7example"));
    }
}
