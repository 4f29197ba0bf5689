//! Which credentials section a session is written to (`P` or `P-mfa`), and
//! whether mfa-exec may write there (absent, empty, marked, or another
//! tool's session; never long-term keys or settings, never a repeated
//! section or session key). Decides before anything happens: it never
//! writes, locks or reads a file itself (the overwrite rule is
//! [`crate::session::writable`]).

use super::resolve::Resolver;
use super::source::PairKeys;
use super::{err, err_hint, R};
use crate::session::writable;

impl Resolver<'_> {
    /// Where a GetSessionToken session of non-role profile `name` is written.
    pub(super) fn nonrole_destination(&self, name: &str) -> String {
        let map = PairKeys::of(self.creds(), name);
        let long_term = map.id.is_some() && map.token.is_none();
        let special = self.config.has(name, "role_arn")
            || self.config.has(name, "credential_process")
            || self.config.has_key_prefix(name, "sso_");
        // Keys in the keyring and `[P]` left with settings that are not a
        // session (`output = json`, which stayed when `keys move` took the
        // keys out): the session goes beside it, as when the keys were
        // there (issue 21 item 8). Without the keyring, such a `[P]` stays
        // refused (SPEC §2).
        let settings = self
            .config
            .get(name, crate::keys::KEY_SETTING)
            .is_some_and(|f| f.value.eq_ignore_ascii_case("keyring"))
            && self.creds().has_section(name)
            && writable(self.creds(), name).is_err();
        if long_term || special || settings {
            format!("{name}-mfa")
        } else {
            name.to_string()
        }
    }

    /// May mfa-exec write into `section`? Absent, empty, marked, or another tool's session.
    pub fn check_writable(&self, section: &str) -> R<()> {
        // An absent section is writable (every check below passes).
        if !self.creds().has_section(section) {
            return Ok(());
        }
        let lines = self.creds().section_lines(section);
        if lines.len() > 1 {
            return Err(err(format!(
                "[{section}] appears twice in {} (lines {} and {}); mfa-exec will not write into it",
                self.files.credentials.shown, lines[0], lines[1]
            )));
        }
        // A key mfa-exec sets or removes that appears twice would make the
        // write refuse after STS: refuse now, before a code is asked for.
        if let Some((key, first, second)) = self
            .creds()
            .repeated_key(section, crate::session::SESSION_KEYS)
        {
            return Err(err_hint(
                format!(
                    "[{section}] in {} has {key} twice (lines {first} and {second}); mfa-exec will not write into it",
                    self.files.credentials.shown
                ),
                format!("remove one of the two lines from [{section}]"),
            ));
        }
        let Err(reason) = writable(self.creds(), section) else {
            return Ok(());
        };
        let line = lines.first().copied().unwrap_or(0);
        Err(err_hint(
            format!(
                "refusing to write the session into [{section}] ({}:{line}): {reason}",
                self.files.credentials.shown
            ),
            format!("move those keys to another section, or run 'mfa-exec explain {section}'"),
        ))
    }
}
