//! Long-term keys and where they live (SPEC §2, §8.3): the pair itself, the
//! keyring entry's JSON, the config setting `mfa_exec_keys`, and the lossless
//! edits that take a pair out of (or put it into) the credentials file.
//!
//! Decisions:
//! - The keyring secret is exactly `{"AccessKeyId":"…","SecretAccessKey":"…"}`
//!   (the names of IAM's `AccessKey` and of `credential_process` output).
//!   Reading accepts any JSON object with both strings, non-empty, and
//!   nothing that is not a string in them; anything else is "not the
//!   expected JSON", never guessed at.
//! - `mfa_exec_keys = keyring` selects the keyring; `file` (or no key) the
//!   credentials file; any other value is a configuration error.
//! - The setting goes into the profile's own config section: the last
//!   `[profile P]` (or `[default]`) if there is one, else its bare `[P]`, else a
//!   new `[profile P]`.
//! - Taking the keys out of a credentials section removes the two key lines
//!   (any continuation lines with them); the section header goes too when the
//!   section is left with no key and no comment.
//!
//! Never talks to the keyring or IAM itself (`keystore`, `iam` do) and never
//! writes a file outside `store`'s atomic path.

use crate::error::{fail, Fail};
use crate::ini::Document;
use crate::keystore::{ErrorKind, Keyring, KeyringError, SERVICE};
use crate::secret::Secret;
use anyhow::Result;

/// The config key that says where P's long-term keys live.
pub const KEY_SETTING: &str = "mfa_exec_keys";
pub const KEY_ID: &str = "aws_access_key_id";
pub const KEY_SECRET: &str = "aws_secret_access_key";

/// A long-term access key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongTermKeys {
    pub access_key_id: String,
    pub secret: Secret,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Json {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: String,
}

impl LongTermKeys {
    /// The keyring secret: `{"AccessKeyId":…,"SecretAccessKey":…}`.
    pub fn to_json(&self) -> Secret {
        let j = Json {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret.expose().to_string(),
        };
        Secret::new(serde_json::to_string(&j).expect("two strings serialize"))
    }

    /// Parses the keyring secret; the error says what is wrong, never the secret.
    pub fn from_json(text: &str) -> Result<LongTermKeys, &'static str> {
        let j: Json = serde_json::from_str(text.trim())
            .map_err(|_| "it is not {\"AccessKeyId\": ..., \"SecretAccessKey\": ...}")?;
        if j.access_key_id.trim().is_empty() || j.secret_access_key.trim().is_empty() {
            return Err("AccessKeyId or SecretAccessKey is empty");
        }
        Ok(LongTermKeys {
            access_key_id: j.access_key_id.trim().to_string(),
            secret: Secret::new(j.secret_access_key.trim()),
        })
    }
}

/// `keyring (mfa-exec/testAccount)`: how messages name a keyring entry.
pub fn keyring_place(account: &str) -> String {
    format!("keyring ({SERVICE}/{account})")
}

/// What to do about a keyring failure, for the hint.
fn remedy(kind: ErrorKind, profile: &str) -> String {
    let fallback = format!("or keep the keys in the file: mfa-exec keys move {profile} --to file");
    match kind {
        ErrorKind::Unavailable => format!(
            "start a Secret Service in this session (gnome-keyring-daemon, KeePassXC, KWallet) and check DBUS_SESSION_BUS_ADDRESS, {fallback}"
        ),
        ErrorKind::Locked => format!("unlock the keyring (log in to the desktop, or: gnome-keyring-daemon --unlock), {fallback}"),
        ErrorKind::Denied => format!("allow mfa-exec to use the keyring entry, {fallback}"),
        ErrorKind::Other => format!("check the keyring, {fallback}"),
    }
}

/// A keyring failure as one line naming the backend, with what to do.
pub fn keyring_fail(ring: &dyn Keyring, doing: &str, account: &str, e: &KeyringError) -> Fail {
    let what = match e.kind {
        ErrorKind::Unavailable => "it is not reachable",
        ErrorKind::Locked => "it is locked and could not be unlocked",
        ErrorKind::Denied => "access was denied",
        ErrorKind::Other => "it failed",
    };
    fail(format!(
        "cannot {doing} {} in {}: {what} ({})",
        keyring_place(account),
        ring.backend(),
        e.detail
    ))
    .hint(remedy(e.kind, account))
}

/// The long-term keys of `account` from the keyring, for signing. A missing
/// entry or one that is not the expected JSON is an error: never a fall back
/// to the credentials file.
pub fn load(ring: &dyn Keyring, account: &str) -> Result<LongTermKeys, Fail> {
    let secret = ring
        .get(account)
        .map_err(|e| keyring_fail(ring, "read", account, &e))?;
    let Some(secret) = secret else {
        return Err(fail(format!(
            "{} has no entry {SERVICE}/{account}, but the config says {KEY_SETTING} = keyring for '{account}'",
            capitalize(ring.backend()),
        ))
        .hint(format!(
            "store the keys there with 'mfa-exec configure {account} --keyring', or remove {KEY_SETTING} and put them in the credentials file"
        )));
    };
    LongTermKeys::from_json(secret.expose()).map_err(|why| {
        fail(format!(
            "the entry {} in {} is not the expected JSON: {why}",
            keyring_place(account),
            ring.backend()
        ))
        .hint(format!(
            "store the keys again with 'mfa-exec configure {account} --keyring'"
        ))
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The config section that carries P's own settings: the last `[profile P]`
/// (`[default]`), else its bare `[P]`, else the name of a new `[profile P]`.
pub fn config_section(doc: &Document, profile: &str) -> String {
    let own = if profile == "default" {
        vec!["default".to_string(), "profile default".to_string()]
    } else {
        vec![format!("profile {profile}")]
    };
    let headers = doc.headers();
    if let Some((name, _)) = headers
        .iter()
        .rev()
        .find(|(n, _)| own.iter().any(|o| o == n))
    {
        return name.to_string();
    }
    if headers.iter().any(|(n, _)| *n == profile) {
        return profile.to_string();
    }
    own[0].clone()
}

/// Sets `mfa_exec_keys = keyring` for P (in [`config_section`]).
pub fn set_keyring_setting(doc: &mut Document, profile: &str) -> Result<()> {
    let section = config_section(doc, profile);
    doc.set(&section, KEY_SETTING, "keyring")?;
    Ok(())
}

/// Removes `mfa_exec_keys` from every config section of P.
pub fn remove_setting(doc: &mut Document, profile: &str) -> Result<()> {
    let names: Vec<String> = doc
        .headers()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .filter(|n| crate::profile::config_section_profile(n).is_some_and(|(p, _)| p == profile))
        .collect();
    for n in names {
        if doc.get(&n, KEY_SETTING).is_some() {
            doc.remove_key(&n, KEY_SETTING)?;
        }
    }
    Ok(())
}

/// Takes the key pair out of `section`: the two key lines, and the section
/// when nothing (no key, no comment) is left in it.
pub fn remove_pair(doc: &mut Document, section: &str) -> Result<()> {
    doc.remove_key(section, KEY_ID)?;
    doc.remove_key(section, KEY_SECRET)?;
    if doc.section_map(section).is_empty() && !doc.section_has_comments(section) {
        doc.remove_section(section)?;
    }
    Ok(())
}

/// Puts a key pair into `section` (created at the end when absent).
pub fn put_pair(doc: &mut Document, section: &str, keys: &LongTermKeys) -> Result<()> {
    doc.set(section, KEY_ID, &keys.access_key_id)?;
    doc.set(section, KEY_SECRET, keys.secret.expose())?;
    Ok(())
}

/// The key pair in credentials section `section`, if it holds one (and no
/// session token).
pub fn pair_in(doc: &Document, section: &str) -> Option<LongTermKeys> {
    let id = doc.get(section, KEY_ID)?;
    let secret = doc.get(section, KEY_SECRET)?;
    if ["aws_session_token", "aws_security_token"]
        .iter()
        .any(|k| doc.get(section, k).is_some_and(|t| !t.trim().is_empty()))
    {
        return None;
    }
    Some(LongTermKeys {
        access_key_id: id.to_string(),
        secret: Secret::new(secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let k = LongTermKeys {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        };
        let j = k.to_json();
        assert_eq!(
            j.expose(),
            r#"{"AccessKeyId":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#
        );
        assert_eq!(LongTermKeys::from_json(j.expose()).unwrap(), k);
        assert!(LongTermKeys::from_json("hunter2").is_err());
        assert!(LongTermKeys::from_json(r#"{"AccessKeyId":"A"}"#).is_err());
        assert!(LongTermKeys::from_json(r#"{"AccessKeyId":"A","SecretAccessKey":""}"#).is_err());
        assert!(LongTermKeys::from_json(r#"{"AccessKeyId":1,"SecretAccessKey":"s"}"#).is_err());
    }

    #[test]
    fn setting_goes_to_own_section() {
        let mut d =
            Document::parse("[testAccount]\nmfa_arn = x\n\n[profile test]\na = b\n").unwrap();
        set_keyring_setting(&mut d, "testAccount").unwrap();
        assert_eq!(
            d.render(),
            "[testAccount]\nmfa_arn = x\nmfa_exec_keys = keyring\n\n[profile test]\na = b\n"
        );
        remove_setting(&mut d, "testAccount").unwrap();
        assert_eq!(
            d.render(),
            "[testAccount]\nmfa_arn = x\n\n[profile test]\na = b\n"
        );
        set_keyring_setting(&mut d, "test").unwrap();
        assert!(d
            .render()
            .ends_with("[profile test]\na = b\nmfa_exec_keys = keyring\n"));
        set_keyring_setting(&mut d, "new").unwrap();
        assert!(d
            .render()
            .ends_with("\n[profile new]\nmfa_exec_keys = keyring\n"));
    }

    #[test]
    fn pair_removal_is_lossless() {
        let text = "# top\r\n[a]\r\naws_access_key_id = AKIA1\r\n# mine\r\naws_secret_access_key = s\r\nregion = x\r\n[b]\r\nk = v";
        let mut d = Document::parse(text).unwrap();
        remove_pair(&mut d, "a").unwrap();
        assert_eq!(
            d.render(),
            "# top\r\n[a]\r\n# mine\r\nregion = x\r\n[b]\r\nk = v"
        );
        // Left with nothing: the header goes too.
        let mut d = Document::parse(
            "[x]\nk = v\n\n[a]\naws_access_key_id = A\naws_secret_access_key = s\n\n[c]\nk = v\n",
        )
        .unwrap();
        remove_pair(&mut d, "a").unwrap();
        assert_eq!(d.render(), "[x]\nk = v\n\n[c]\nk = v\n");
    }
}
