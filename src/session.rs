//! The session schema (SPEC §2): what a cached session is and how it sits in a
//! credentials section. Owns the keys mfa-exec writes (the standard three, the
//! expiry, the `x_mfa_exec_*` marker), the marker, expiry parsing, freshness,
//! the "holds long-term keys" rule and the "may this section be overwritten"
//! rule, used alike by resolution, the store, `list`, `clear` and `explain`.
//!
//! Works on a parsed [`Document`] only: never reads or writes a file, never
//! takes a lock, never reads the clock (callers pass `now`).

use crate::ini::Document;
use crate::secret::Secret;
use anyhow::Result;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Marker keys written with every session.
pub const KEY_SOURCE: &str = "x_mfa_exec_source";
pub const KEY_SERIAL: &str = "x_mfa_exec_serial";
pub const KEY_ROLE: &str = "x_mfa_exec_role_arn";
pub const KEY_EXPIRES: &str = "x_security_token_expires";

/// Identity of a session, as recorded by the marker keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub source: String,
    pub serial: Option<String>,
    pub role_arn: Option<String>,
}

/// aws-mfa's `expiration` format (UTC).
const AWS_MFA_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A set of temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub access_key_id: String,
    pub secret: Secret,
    pub token: Secret,
    pub expires: DateTime<Utc>,
}

impl Session {
    /// Seconds left at `now` (negative when expired).
    pub fn remaining(&self, now: DateTime<Utc>) -> i64 {
        (self.expires - now).num_seconds()
    }

    /// At least `min_remaining` seconds left.
    pub fn fresh(&self, now: DateTime<Utc>, min_remaining: u64) -> bool {
        self.remaining(now) >= min_remaining as i64
    }

    /// RFC 3339 UTC, second precision: `2026-11-29T07:00:00Z`.
    pub fn expires_rfc3339(&self) -> String {
        self.expires.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// A session found in the credentials file, with its marker if mfa-exec wrote it.
#[derive(Debug, Clone)]
pub struct Cached {
    pub section: String,
    pub session: Session,
    pub marker: Option<Marker>,
}

/// Parses an expiry: RFC 3339 with any offset, or aws-mfa's `%Y-%m-%d %H:%M:%S` (UTC).
pub fn parse_expiry(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, AWS_MFA_FORMAT)
        .ok()
        .map(|n| n.and_utc())
}

/// The session held by `section`, if it has keys, a token and a readable expiry.
pub fn read_session(doc: &Document, section: &str) -> Option<Cached> {
    let get = |k: &str| doc.get(section, k).filter(|v| !v.is_empty());
    let id = get("aws_access_key_id")?;
    let secret = get("aws_secret_access_key")?;
    let token = get("aws_session_token").or_else(|| get("aws_security_token"))?;
    let expires = get(KEY_EXPIRES)
        .and_then(parse_expiry)
        .or_else(|| get("expiration").and_then(parse_expiry))?;
    let marker = get(KEY_SOURCE).map(|source| Marker {
        source: source.to_string(),
        serial: get(KEY_SERIAL).map(str::to_string),
        role_arn: get(KEY_ROLE).map(str::to_string),
    });
    Some(Cached {
        section: section.to_string(),
        session: Session {
            access_key_id: id.to_string(),
            secret: Secret::new(secret),
            token: Secret::new(token),
            expires,
        },
        marker,
    })
}

/// Every section whose marker equals `marker`, freshest first.
pub fn find_marked(doc: &Document, marker: &Marker) -> Vec<Cached> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<Cached> = doc
        .sections()
        .into_iter()
        .filter(|s| seen.insert(s.name.clone()))
        .filter_map(|s| read_session(doc, &s.name))
        .filter(|c| c.marker.as_ref() == Some(marker))
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.session.expires));
    out
}

/// Writes `session` with `marker` into `section` (SPEC §2 key set).
pub fn apply_session(
    doc: &mut Document,
    section: &str,
    session: &Session,
    marker: &Marker,
) -> Result<()> {
    let had_security_token = doc.get(section, "aws_security_token").is_some();
    let had_expiration = doc.get(section, "expiration").is_some();
    doc.set(section, "aws_access_key_id", &session.access_key_id)?;
    doc.set(section, "aws_secret_access_key", session.secret.expose())?;
    doc.set(section, "aws_session_token", session.token.expose())?;
    if had_security_token {
        doc.set(section, "aws_security_token", session.token.expose())?;
    }
    doc.set(section, KEY_EXPIRES, &session.expires_rfc3339())?;
    if had_expiration {
        doc.set(
            section,
            "expiration",
            &session.expires.format(AWS_MFA_FORMAT).to_string(),
        )?;
    }
    doc.set(section, KEY_SOURCE, &marker.source)?;
    match &marker.serial {
        Some(s) => doc.set(section, KEY_SERIAL, s)?,
        None => {
            doc.remove_key(section, KEY_SERIAL)?;
        }
    }
    match &marker.role_arn {
        Some(r) => doc.set(section, KEY_ROLE, r)?,
        None => {
            doc.remove_key(section, KEY_ROLE)?;
        }
    }
    Ok(())
}

/// Keys mfa-exec writes; `clear` removes exactly these from a marked section.
pub const SESSION_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    KEY_EXPIRES,
    "expiration",
    KEY_SOURCE,
    KEY_SERIAL,
    KEY_ROLE,
];

/// SPEC §2: mfa-exec writes a session into `section` only if it is absent (or
/// empty), carries mfa-exec's marker, or holds another tool's session (a token
/// and an `ASIA…` key id). Otherwise the reason it may not. Used when resolving
/// and again under the write lock.
pub fn writable(doc: &Document, section: &str) -> Result<(), &'static str> {
    let key = doc.get(section, "aws_access_key_id");
    let foreign = (doc.get(section, "aws_session_token").is_some()
        || doc.get(section, "aws_security_token").is_some())
        && key.is_some_and(|k| k.starts_with("ASIA"));
    if !doc.has_keys(section) || doc.get(section, KEY_SOURCE).is_some() || foreign {
        Ok(())
    } else if key.is_some() {
        Err("it holds long-term keys")
    } else {
        Err("it holds settings that are not a session")
    }
}

/// SPEC §2: a section holds long-term keys when it has a key id and a secret
/// and no session token. The one statement of that rule; `get` looks a key up
/// however the caller reads the section. Returns the id and the secret.
pub fn long_term_pair<T>(get: impl Fn(&str) -> Option<T>) -> Option<(T, T)> {
    // botocore reads aws_security_token as a session token too (issue 21).
    if get("aws_session_token").is_some() || get("aws_security_token").is_some() {
        return None;
    }
    Some((get("aws_access_key_id")?, get("aws_secret_access_key")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn session(exp: DateTime<Utc>) -> Session {
        Session {
            access_key_id: "ASIATESTTESTTESTTEST".into(),
            secret: Secret::new("sec/ret+key="),
            token: Secret::new("tok/en+="),
            expires: exp,
        }
    }

    fn marker() -> Marker {
        Marker {
            source: "testAccount".into(),
            serial: Some("arn:aws:iam::123456789012:mfa/test".into()),
            role_arn: None,
        }
    }

    #[test]
    fn expiry_formats() {
        let t = Utc.with_ymd_and_hms(2026, 11, 29, 7, 0, 0).unwrap();
        assert_eq!(parse_expiry("2026-11-29T07:00:00Z"), Some(t));
        assert_eq!(parse_expiry("2026-11-29T09:00:00+02:00"), Some(t));
        assert_eq!(parse_expiry("2026-11-29 07:00:00"), Some(t));
        assert_eq!(parse_expiry("tomorrow"), None);
    }

    #[test]
    fn write_then_read_session() {
        let exp = Utc.with_ymd_and_hms(2026, 11, 29, 7, 0, 0).unwrap();
        let mut doc =
            Document::parse("# keep me\r\n[testAccount]\r\naws_access_key_id = AKIA\r\n").unwrap();
        apply_session(&mut doc, "test", &session(exp), &marker()).unwrap();
        let text = doc.render();
        assert!(
            text.starts_with("# keep me\r\n[testAccount]\r\naws_access_key_id = AKIA\r\n"),
            "{text:?}"
        );
        let c = read_session(&doc, "test").unwrap();
        assert_eq!(c.session, session(exp));
        assert_eq!(c.marker, Some(marker()));
        assert_eq!(find_marked(&doc, &marker()).len(), 1);
        let now = exp - chrono::Duration::minutes(20);
        assert!(c.session.fresh(now, 900));
        assert!(!c.session.fresh(now, 1500));
    }

    #[test]
    fn aws_mfa_keys_are_updated_too() {
        let mut doc = Document::parse("[p]\naws_access_key_id = ASIAOLD\naws_secret_access_key = o\naws_session_token = o\naws_security_token = o\nexpiration = 2020-01-01 00:00:00\n").unwrap();
        let exp = Utc.with_ymd_and_hms(2026, 11, 29, 7, 0, 0).unwrap();
        apply_session(&mut doc, "p", &session(exp), &marker()).unwrap();
        assert_eq!(doc.get("p", "aws_security_token"), Some("tok/en+="));
        assert_eq!(doc.get("p", "expiration"), Some("2026-11-29 07:00:00"));
        assert_eq!(doc.get("p", KEY_EXPIRES), Some("2026-11-29T07:00:00Z"));
    }
}
