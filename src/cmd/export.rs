//! `mfa-exec export P [--format ...]`: the SPEC §4 variables for `eval`, quoted
//! for each shell so that any byte of a secret survives.
//!
//! The shell formats first remove what the main flow removes from a child's
//! environment (SPEC §4, §8.2: `unset` in sh, `set -e` in fish, `Remove-Item
//! Env:` in PowerShell), so after `eval "$(mfa-exec export test)"` no
//! `AWS_PROFILE` is left to point the CLI elsewhere. dotenv and json describe
//! settings only; they carry no removals.
//!
//! Never writes a file and never runs a command: the session goes to stdout
//! only, for the caller's `eval`.

use super::{App, LOCK_TIMEOUT};
use crate::child::{session_vars, REMOVED};
use crate::cli::{ExportArgs, ExportFormat};
use crate::env::Env;
use crate::ui::Ui;
use anyhow::Result;
use std::io::Write;

pub fn run(env: Env, ui: Ui, a: &ExportArgs) -> Result<i32> {
    let name = a.profile.name()?.to_string();
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

/// The characters PowerShell reads as a single quote: `'` and the typographic
/// ‘ ’ ‚ ‛ (U+2018..U+201B). Inside a single-quoted string any of them ends the
/// string unless doubled.
const PS_SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// `'...'` for PowerShell: each single-quote character (see
/// [`PS_SINGLE_QUOTES`]) is doubled; nothing else is special there.
pub fn ps_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if PS_SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// dotenv, written so that both `set -a; . ./.env` (POSIX sh) and
/// python-dotenv (1.x, `parser.py`) read back every byte:
/// - bare when every byte is in a safe set (what AWS keys and tokens use);
/// - else `'...'` when the value has no `'` and no `\`: sh takes single quotes
///   verbatim, and python-dotenv's single quotes only decode `\\` and `\'`, so
///   `` ` ``, `$`, `"` and newlines are literal in both;
/// - else `"..."` with `\`, `"`, `$` and `` ` `` escaped by a `\`: exact and
///   inert in sh. python-dotenv decodes `\\` and `\"` the same way, but has no
///   escape for `$` or `` ` `` and keeps their `\`: only a value holding a `'`
///   or `\` *and* a `$` or `` ` `` comes out differently there (safety in the
///   shell wins).
///
/// python-dotenv also expands `${NAME}` inside any quotes and offers no
/// escape (theskumar/python-dotenv#422), and reads the file with universal
/// newlines (a CR becomes LF): load with `interpolate=False` if a value may hold
/// `${`.
pub fn dotenv_quote(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/+=:._-@,".contains(&b))
    {
        v.to_string()
    } else if !v.contains(['\'', '\\']) {
        format!("'{v}'")
    } else {
        let mut out = String::with_capacity(v.len() + 2);
        out.push('"');
        for c in v.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
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
    }

    #[test]
    fn powershell_doubles_every_single_quote_character() {
        assert_eq!(ps_quote(""), "''");
        assert_eq!(ps_quote("plain $x `n \"q\""), "'plain $x `n \"q\"'");
        assert_eq!(
            ps_quote("a\u{2018}b\u{2019}c\u{201A}d\u{201B}e'f"),
            "'a\u{2018}\u{2018}b\u{2019}\u{2019}c\u{201A}\u{201A}d\u{201B}\u{201B}e''f'"
        );
        // Not single quotes to PowerShell: left alone.
        assert_eq!(ps_quote("\u{201C}x\u{201D}"), "'\u{201C}x\u{201D}'");
    }

    #[test]
    fn dotenv_quoting_rules() {
        // Bare: only the safe set.
        assert_eq!(dotenv_quote("AKIA/x+y=z:._-@,"), "AKIA/x+y=z:._-@,");
        // Single quotes: no ' and no backslash; everything else verbatim.
        assert_eq!(dotenv_quote(""), "''");
        assert_eq!(dotenv_quote("a b"), "'a b'");
        assert_eq!(dotenv_quote("`touch pwned`"), "'`touch pwned`'");
        assert_eq!(
            dotenv_quote("$(id) $HOME \"q\"\nx"),
            "'$(id) $HOME \"q\"\nx'"
        );
        // Double quotes: \\ \" \$ \` escaped, nothing else.
        assert_eq!(dotenv_quote("it's"), "\"it's\"");
        assert_eq!(dotenv_quote(r"a\b"), r#""a\\b""#);
        assert_eq!(
            dotenv_quote("'`touch pwned`$(id)\"\\\n"),
            "\"'\\`touch pwned\\`\\$(id)\\\"\\\\\n\""
        );
    }

    /// Every value survives `set -a; . ./.env` in /bin/sh byte for byte, and
    /// nothing in it runs.
    #[test]
    fn dotenv_survives_posix_sh() {
        let dir = tempfile::tempdir().unwrap();
        let values = [
            "`touch pwned`",
            "$(touch pwned)",
            "it's `touch pwned` $(touch pwned) ${HOME} $HOME \\ \\\\ \" end\\",
            "two\nlines\n",
            "\\",
            "'",
            "\"",
            "$",
            "",
            "#not a comment",
            " spaced ",
            "tab\tand\u{e9}",
        ];
        for v in values {
            let text = format!("X={}\n", dotenv_quote(v));
            std::fs::write(dir.path().join(".env"), &text).unwrap();
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", "set -a; . ./.env; printf %s \"$X\""])
                .current_dir(dir.path())
                .env_remove("X")
                .output()
                .unwrap();
            assert!(out.status.success(), "{text}");
            assert_eq!(String::from_utf8(out.stdout).unwrap(), v, "{text}");
            assert!(!dir.path().join("pwned").exists(), "{text}");
        }
    }

    /// The same values read by python-dotenv (the venv `scripts/venv.sh`
    /// makes; moto[server] brings python-dotenv): exact on the bare and
    /// single-quote paths; on the double-quote path only the documented `\`
    /// before `$` and `` ` `` stays.
    #[test]
    fn dotenv_read_by_python_dotenv() {
        let venv = std::env::var_os("MFA_EXEC_VENV")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv")
            });
        let python = venv.join("bin/python");
        let has_dotenv = std::process::Command::new(&python)
            .args(["-c", "import dotenv"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_dotenv {
            crate::eline!("SKIPPED: no venv with python-dotenv at {}", venv.display());
            return;
        }
        let values = [
            "plain/+=",
            "`touch pwned`",
            "$(touch pwned) $HOME \"q\" #x",
            "two\nlines\n",
            "",
            " spaced ",
            "it's",
            "\\",
            r"a\\b\n\t\'",
            "\"\\\"",
            "it's $HOME `x`",
            "tab\tand\u{e9}",
        ];
        let text: String = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("X{i}={}\n", dotenv_quote(v)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, &text).unwrap();
        let code = "import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))";
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(code)
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let got: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got.len(), values.len(), "{text}");
        for (i, v) in values.iter().enumerate() {
            let want = if v.contains(['\'', '\\']) {
                v.replace('$', r"\$").replace('`', r"\`")
            } else {
                v.to_string()
            };
            assert_eq!(got[&format!("X{i}")], want, "{text}");
        }
    }
}
