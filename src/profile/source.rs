//! Where the long-term keys are (SPEC §2 order): for each profile of the
//! source chain, the keyring when `mfa_exec_keys = keyring`, else
//! `[P-long-term]`, then `[P]` of the credentials file; then the config
//! sections from the end of the chain back; and the errors when none is
//! found or a section holds only a session. Says *where* the keys are: it
//! never reads the keyring, never does I/O, never prompts.

use super::plan::{KeySource, Keys, Origin};
use super::resolve::Resolver;
use super::{err, err_hint, R};
use crate::ini::Document;
use crate::keys::{LongTermKeys, KEY_SETTING};
use crate::secret::Secret;
use crate::session::long_term_pair;

/// Whether `[section]` carries mfa-exec's marker (a session mfa-exec wrote).
fn has_marker(doc: &Document, section: &str) -> bool {
    doc.key_lines(section)
        .any(|(_, k, _)| k.eq_ignore_ascii_case("x_mfa_exec_source"))
}

/// The three keys resolution asks of a credentials section, read in one
/// pass over its key lines (one section lookup, where asking
/// [`SectionKeys`] for each costs a lookup per key): `(value, line)` of
/// each, key case-insensitive, the later occurrence winning.
#[derive(Default)]
pub(super) struct PairKeys<'a> {
    pub(super) id: Option<(&'a str, usize)>,
    pub(super) secret: Option<(&'a str, usize)>,
    /// `(value, line, key name)`: `aws_session_token` or `aws_security_token`.
    pub(super) token: Option<(&'a str, usize, &'static str)>,
}

impl<'a> PairKeys<'a> {
    pub(super) fn of(doc: &'a Document, section: &str) -> PairKeys<'a> {
        // The usual spelling is compared as bytes first (a case-insensitive
        // compare of every key against three names was a sixth of the pass).
        fn is(k: &str, want: &str) -> bool {
            k == want || k.eq_ignore_ascii_case(want)
        }
        let mut out = PairKeys::default();
        for (line, k, v) in doc.key_lines(section) {
            let slot = if is(k, "aws_access_key_id") {
                &mut out.id
            } else if is(k, "aws_secret_access_key") {
                &mut out.secret
            } else if is(k, "aws_session_token") || is(k, "aws_security_token") {
                // botocore reads either as the session token (issue 21 item
                // 11) and takes `aws_security_token` when both are there; an
                // empty value is no token (botocore signs without one; item 10).
                let name = if is(k, "aws_session_token") {
                    "aws_session_token"
                } else {
                    "aws_security_token"
                };
                if name == "aws_session_token"
                    && out.token.is_some_and(|(_, _, n)| n == "aws_security_token")
                {
                    continue;
                }
                out.token = (!v.trim().is_empty()).then_some((v, line, name));
                continue;
            } else {
                continue;
            };
            *slot = Some((v, line));
        }
        out
    }
}

impl Resolver<'_> {
    /// Where the long-term keys of existing profile `name` are (for `keys`).
    pub fn key_source(&self, name: &str) -> R<KeySource> {
        if !self.exists(name) {
            return Err(self.unknown(name));
        }
        self.long_term_keys(name)
    }

    /// Long-term keys of `name` (SPEC §2 order), following `source_profile`.
    ///
    /// For P: `[P-long-term]`, then `[P]` in the credentials file, then the
    /// long-term keys of P's `source_profile` (the same rule, recursively), and
    /// only then the keys in P's config section. Unrolled: every credentials
    /// section along the chain first, then the config sections from the end of
    /// the chain back to P.
    pub fn long_term_keys(&self, name: &str) -> R<KeySource> {
        let chain = self.chain(name)?;
        self.long_term_keys_of(name, &chain)
    }

    /// [`Self::long_term_keys`] of `name`, whose chain is `chain`.
    pub(super) fn long_term_keys_of(&self, name: &str, chain: &[String]) -> R<KeySource> {
        let mut session_only: Option<(String, &'static str)> = None;
        // One buffer for `P-long-term`, reused along the chain.
        let mut lt = String::new();
        for (i, p) in chain.iter().enumerate() {
            if let Some(k) = self.keyring_setting(p)? {
                return Ok(k);
            }
            lt.clear();
            lt.push_str(p);
            lt.push_str("-long-term");
            if let Some(k) = self.keys_in_creds(&lt, p, PairKeys::of(self.creds(), &lt))? {
                return Ok(k);
            }
            let map = PairKeys::of(self.creds(), p);
            if let Some((_, _, token_key)) = map.token {
                if i > 0 && map.id.is_some() && session_only.is_none() {
                    session_only = Some((p.clone(), token_key));
                }
            } else if let Some(k) = self.keys_in_creds(p, p, map)? {
                return Ok(k);
            }
        }
        for p in chain.iter().rev() {
            let get = |k: &str| {
                self.config
                    .get(p, k)
                    .filter(|f| k != "aws_session_token" || !f.value.trim().is_empty())
            };
            if let Some((id, secret)) = long_term_pair(get) {
                // The section the keys are in: `[profile P]`, or a bare `[P]`
                // (`keys move` edits that one; issue 21 item 10).
                let section = match &id.origin {
                    Origin::File { section, .. } => section.to_string(),
                    _ => format!("profile {p}"),
                };
                return Ok(KeySource {
                    profile: p.clone(),
                    section,
                    origin: id.origin,
                    keys: Keys::File(LongTermKeys {
                        access_key_id: id.value,
                        secret: Secret::new(secret.value),
                    }),
                });
            }
        }
        // Sections searched, per file, for the error.
        let creds: Vec<String> = chain
            .iter()
            .flat_map(|p| [format!("[{p}-long-term]"), format!("[{p}]")])
            .collect();
        let cfg: Vec<String> = chain.iter().map(|p| format!("[profile {p}]")).collect();
        if let Some((s, token_key)) = session_only {
            return Err(err_hint(
                format!(
                    "[{s}] in {} holds only session credentials ({token_key}); STS refuses GetSessionToken with them",
                    self.files.credentials.shown
                ),
                format!("put the long-term keys of '{s}' in [{s}] or [{s}-long-term]"),
            ));
        }
        // A profile another mechanism signs in: say what it is (issue 25 item 6).
        for p in chain {
            if let Some(kind) = self.foreign(p) {
                let mut f = self.foreign_fail(p, &kind);
                if p != name {
                    f.message = format!(
                        "profile '{name}' has source_profile = {p}, but {}",
                        f.message
                    );
                }
                return Err(f);
            }
        }
        // [P] holds a session another tool wrote (`aws configure mfa-login`
        // writes one into [default], without an expiry): say it is a session
        // (issue 25 item 7).
        let own = PairKeys::of(self.creds(), name);
        if let (Some((id, line)), Some((_, _, token_key))) = (own.id, own.token) {
            if !has_marker(self.creds(), name) {
                let key = if id.starts_with("ASIA") {
                    format!("an ASIA… key and {token_key}")
                } else {
                    token_key.to_string()
                };
                // read_session finds a session only with an expiry.
                let expiry = if crate::session::read_session(self.creds(), name).is_some() {
                    ""
                } else {
                    ", no expiry, as 'aws configure mfa-login' writes"
                };
                return Err(err_hint(
                    format!(
                        "no long-term keys for profile '{name}': [{name}] in {}:{line} holds a session ({key}{expiry}), not long-term keys; STS refuses GetSessionToken with a session",
                        self.files.credentials.shown
                    ),
                    format!(
                        "put the long-term keys (AKIA…) of '{name}' in [{name}-long-term] of {}; mfa-exec then keeps its session in [{name}]",
                        self.files.credentials.shown
                    ),
                ));
            }
        }
        // The config-file entry is per profile; list credentials sections together.
        Err(err_hint(
            format!(
                "no long-term keys for profile '{name}': searched {} in {}, and {} in {}",
                creds.join(", "),
                self.files.credentials.shown,
                cfg.join(", "),
                self.files.config.shown
            ),
            format!("run 'mfa-exec configure {name}', or 'mfa-exec explain {name}'"),
        ))
    }

    /// `mfa_exec_keys` of profile `p`: the keyring entry when it says
    /// `keyring`, `None` for `file` or no setting; anything else is an error.
    fn keyring_setting(&self, p: &str) -> R<Option<KeySource>> {
        let Some(f) = self.config.get(p, KEY_SETTING) else {
            return Ok(None);
        };
        match f.value.to_ascii_lowercase().as_str() {
            "keyring" => {
                let section = match &f.origin {
                    Origin::File { section, .. } => section.to_string(),
                    _ => format!("profile {p}"),
                };
                Ok(Some(KeySource {
                    profile: p.to_string(),
                    section,
                    origin: f.origin,
                    keys: Keys::Keyring {
                        account: p.to_string(),
                    },
                }))
            }
            "file" | "" => Ok(None),
            other => Err(err_hint(
                format!(
                    "{KEY_SETTING} = {other} ({}) is neither 'keyring' nor 'file'",
                    f.origin
                ),
                format!("move the keys with 'mfa-exec keys move {p} --to keyring|file'"),
            )),
        }
    }

    /// The pair in credentials section `section` (whose keys are `map`).
    fn keys_in_creds(
        &self,
        section: &str,
        profile: &str,
        map: PairKeys<'_>,
    ) -> R<Option<KeySource>> {
        // No key id (the usual miss, `[P-long-term]` absent): nothing to pair.
        let Some(id) = map.id else {
            return Ok(None);
        };
        match (Some(id), map.secret) {
            (Some((id, line)), Some((secret, _))) => {
                if map.token.is_some() {
                    return Ok(None);
                }
                Ok(Some(KeySource {
                    profile: profile.to_string(),
                    section: section.to_string(),
                    origin: self.creds_origin(section, line),
                    keys: Keys::File(LongTermKeys {
                        access_key_id: id.to_string(),
                        secret: Secret::new(secret),
                    }),
                }))
            }
            (Some((_, line)), None) => Err(err(format!(
                "[{section}] in {}:{line} has aws_access_key_id but no aws_secret_access_key",
                self.files.credentials.shown
            ))),
            _ => Ok(None),
        }
    }
}
