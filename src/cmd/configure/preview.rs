//! What `configure` shows before it writes: the lines each file gains or
//! loses (a small line diff), every secret value starred and access key ids
//! masked, and, as a last check, any known secret starred out of the whole
//! text. It never reads the terminal and never writes a file.

use crate::ini::Document;
use crate::secret::mask_key_id;

/// Lines that differ between two texts, as `-`/`+` lines (a small LCS diff).
pub(super) fn line_diff(old: &str, new: &str) -> Vec<String> {
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
    // The section each changed line is in is named once before its first
    // change (issue 25 item 16: `+ mfa_serial = ...` alone does not say
    // where); a line that is itself a header, or blank, needs none.
    let header = |l: &str| {
        let t = l.trim();
        (t.starts_with('[') && t.ends_with(']')).then(|| t.to_string())
    };
    let (mut in_a, mut in_b): (Option<String>, Option<String>) = (None, None);
    let mut named: Option<String> = None;
    let mut context = |out: &mut Vec<String>, line: &str, section: &Option<String>| {
        if let Some(h) = header(line) {
            named = Some(h);
        } else if !line.trim().is_empty() && section.is_some() && *section != named {
            named = section.clone();
            out.push(section.clone().unwrap_or_default());
        }
    };
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            if let Some(h) = header(a[i]) {
                in_a = Some(h.clone());
                in_b = Some(h);
            }
            i += 1;
            j += 1;
        } else if i < n && (j == m || l[i + 1][j] >= l[i][j + 1]) {
            if let Some(h) = header(a[i]) {
                in_a = Some(h);
            }
            context(&mut out, a[i], &in_a);
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            if let Some(h) = header(b[j]) {
                in_b = Some(h);
            }
            context(&mut out, b[j], &in_b);
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

/// Stars shown instead of a secret.
pub(super) const STARS: &str = "****************";

/// A key whose value is a secret: secret access keys, session tokens, and
/// anything else named like a secret, token or password.
fn secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k.contains("secret") || k.contains("token") || k.contains("password")
}

/// The values of every secret key in `doc`.
pub(super) fn secret_values(doc: &Document) -> Vec<String> {
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
pub(super) fn star_out(text: &str, secrets: &[String]) -> String {
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
pub(super) fn mask_line(line: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff() {
        assert_eq!(
            line_diff("a\nb\nc\n", "a\nb2\nc\nd\n"),
            ["- b", "+ b2", "+ d"]
        );
        assert!(line_diff("same\n", "same\n").is_empty());
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
}
