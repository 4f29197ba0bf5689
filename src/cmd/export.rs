//! `mfa-exec export P [--format ...]`: the SPEC §4 variables for `eval`, quoted
//! for each shell so that any byte of a secret survives.
//!
//! The shell formats first remove what the main flow removes from a child's
//! environment (SPEC §4, §8.2: `unset` in sh, `set -e` in fish, `Remove-Item
//! Env:` in PowerShell), so after `eval "$(mfa-exec export test)"` no
//! `AWS_PROFILE` is left to point the CLI elsewhere. dotenv and json describe
//! settings only; they carry no removals.

use super::{profile_arg, App, LOCK_TIMEOUT};
use crate::child::{session_vars, REMOVED};
use crate::cli::{ExportArgs, ExportFormat};
use crate::env::Env;
use crate::ui::Ui;
use anyhow::Result;
use std::io::Write;

pub fn run(env: Env, ui: Ui, a: &ExportArgs) -> Result<i32> {
    let name = profile_arg(&a.profile, &a.session.resolve.profile)?.to_string();
    let app = App::load(env, ui)?;
    let plan = app.plan(&name, &a.session.resolve)?;
    let s = app.session(&plan, &a.session, LOCK_TIMEOUT)?;
    let vars = session_vars(
        &plan.profile,
        &s,
        plan.region.as_ref().map(|r| r.value.as_str()),
    );
    let unset: Vec<&str> = REMOVED
        .iter()
        .copied()
        .filter(|r| !vars.iter().any(|(k, _)| k == r))
        .collect();
    let out = render(a.format, &vars, &unset);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(0)
}

/// `'...'` for POSIX shells: a `'` becomes `'\''`.
pub fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// `'...'` for fish: `\` and `'` are escaped with `\`.
pub fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

/// `'...'` for PowerShell: a `'` is doubled.
pub fn ps_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// dotenv: bare when safe, else double quotes with `\` and `"` escaped.
pub fn dotenv_quote(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/+=:._-@,".contains(&b))
    {
        v.to_string()
    } else {
        format!(
            "\"{}\"",
            v.replace('\\', r"\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        )
    }
}

/// The script for `format`: first the removals (shell formats only), then the
/// settings.
pub fn render(format: ExportFormat, vars: &[(&'static str, String)], unset: &[&str]) -> String {
    let mut out = String::new();
    match format {
        ExportFormat::Sh if !unset.is_empty() => {
            out.push_str(&format!("unset {}\n", unset.join(" ")))
        }
        ExportFormat::Fish => {
            for k in unset {
                // `set -e` of an absent variable fails: only when present.
                out.push_str(&format!("set -q {k}; and set -e {k}\n"));
            }
        }
        ExportFormat::Powershell => {
            for k in unset {
                out.push_str(&format!(
                    "Remove-Item Env:{k} -ErrorAction SilentlyContinue\n"
                ));
            }
        }
        _ => {}
    }
    match format {
        ExportFormat::Sh => {
            for (k, v) in vars {
                out.push_str(&format!("export {k}={}\n", sh_quote(v)));
            }
        }
        ExportFormat::Fish => {
            for (k, v) in vars {
                out.push_str(&format!("set -gx {k} {}\n", fish_quote(v)));
            }
        }
        ExportFormat::Powershell => {
            for (k, v) in vars {
                out.push_str(&format!("$env:{k} = {}\n", ps_quote(v)));
            }
        }
        ExportFormat::Dotenv => {
            for (k, v) in vars {
                out.push_str(&format!("{k}={}\n", dotenv_quote(v)));
            }
        }
        ExportFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            out = serde_json::to_string_pretty(&map).unwrap_or_default();
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("a'b/+="), r"'a'\''b/+='");
        assert_eq!(fish_quote(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(ps_quote("a'b"), "'a''b'");
        assert_eq!(dotenv_quote("abc/+="), "abc/+=");
        assert_eq!(dotenv_quote("a\"b $x"), "\"a\\\"b \\$x\"");
    }
}
