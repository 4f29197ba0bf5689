//! Shapes and ranges: IAM's forms of an MFA serial and a role ARN, a
//! duration's range, and the Levenshtein distance behind "did you mean".
//! Functions of their arguments only: no document, no I/O.

use super::plan::Origin;
use super::{err, R};
use crate::duration::human;

/// `[\w+=/:,.@-]{9,256}`, as IAM validates a SerialNumber.
pub fn valid_serial(s: &str) -> bool {
    (9..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b))
}

/// `arn:aws:iam::123456789012:role/name` (any partition, paths allowed).
pub fn valid_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > 5
}

/// Levenshtein distance, for "did you mean".
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(super) fn check_range(what: &str, secs: u64, min: u64, max: u64, origin: &Origin) -> R<()> {
    if secs < min || secs > max {
        return Err(err(format!(
            "{what} {} (from {origin}) is out of range: {} to {}",
            human(secs),
            human(min),
            human(max)
        )));
    }
    Ok(())
}
