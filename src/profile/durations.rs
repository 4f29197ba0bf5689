//! Session lengths of a profile: `duration_seconds` and
//! `mfa_session_duration` along the chain, checked against STS's ranges, and
//! the one `--min-remaining` rule. Parsing a duration is
//! [`crate::duration`]'s; nothing here reads the clock or a file.

use super::plan::{Fact, Origin};
use super::resolve::Resolver;
use super::validate::check_range;
use super::{err, MIN_REMAINING_DEFAULT, R};
use crate::duration::parse_duration;

impl Resolver<'_> {
    pub(super) fn duration_key(
        &self,
        name: &str,
        key: &str,
        min: u64,
        max: u64,
    ) -> R<Option<Fact<u64>>> {
        let Some(f) = self.config.get(name, key) else {
            return Ok(None);
        };
        let secs =
            parse_duration(&f.value).map_err(|e| err(format!("{key} in {}: {e}", f.origin)))?;
        check_range(key, secs, min, max, &f.origin)?; // "duration_seconds 10s (from ...)"
        Ok(Some(Fact::new(secs, f.origin)))
    }
}

/// `--min-remaining`, else `MFA_EXEC_MIN_REMAINING`, else 15 minutes: the one
/// rule for resolution, `list` and the nested pass-through.
pub fn min_remaining(flag: Option<u64>, env: Option<&str>) -> R<Fact<u64>> {
    Ok(match (flag, env) {
        (Some(m), _) => Fact::new(m, Origin::Flag("--min-remaining")),
        (None, Some(text)) => Fact::new(
            parse_duration(text).map_err(|e| err(format!("MFA_EXEC_MIN_REMAINING: {e}")))?,
            Origin::Env("MFA_EXEC_MIN_REMAINING"),
        ),
        (None, None) => Fact::new(MIN_REMAINING_DEFAULT, Origin::Default),
    })
}

/// The first profile of the chain that sets the key (only P itself unless `walk`).
pub(super) fn chain_first<T>(
    chain: &[String],
    mut f: impl FnMut(&str) -> R<Option<T>>,
    walk: bool,
) -> R<Option<T>> {
    let n = if walk { chain.len() } else { 1 };
    for p in &chain[..n] {
        if let Some(v) = f(p)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}
