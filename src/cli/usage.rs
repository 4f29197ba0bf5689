//! clap's usage errors in mfa-exec's one-error style (SPEC §7, issue 25 item 1).
//!
//! clap renders an error as blocks separated by blank lines: `error: WHAT`
//! with indented detail lines (the missing arguments, `[possible values:
//! ...]`), an indented `tip:`, a `Usage:` block, and `For more information,
//! try '--help'.`. All of it is kept, reshaped:
//!
//! ```text
//! mfa-exec: error: the following required arguments were not provided: --to <PLACE>
//! usage: mfa-exec keys move --to <PLACE> <PROFILE>
//! hint: see 'mfa-exec keys move --help'
//! ```
//!
//! - the detail lines join the first line (", " between missing arguments, a
//!   space before `[possible values: ...]`), so what is wrong is one line;
//! - the usage block follows as `usage: ...` (its continuation lines as clap
//!   indents them);
//! - one `hint:` line: clap's tip when it has one, else where the help of the
//!   failing (sub)command is.
//!
//! Pure text: `main.rs` prints it and exits 125.

use clap::CommandFactory;
use std::ffi::OsString;

/// The words that name the (sub)command the arguments were parsed for:
/// `["keys", "move"]` for `mfa-exec -v keys move testAccount`, `[]` for the
/// main form. Flags are skipped; the first word that names no subcommand ends
/// the walk (a profile, a value).
pub fn subcommand_path<I, T>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = super::Cli::command();
    let mut path = Vec::new();
    let mut skip_value = false;
    for arg in args.into_iter().skip(1).map(Into::into) {
        let Some(arg) = arg.to_str().map(str::to_string) else {
            break;
        };
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if arg == "--" {
            break;
        }
        if arg.starts_with('-') {
            // `--profile list`: the value of an option is not a subcommand.
            skip_value = !arg.contains('=') && takes_value(&cmd, &arg);
            continue;
        }
        let Some(sub) = cmd.find_subcommand(&arg).cloned() else {
            break;
        };
        if sub.get_name() == "help" {
            break;
        }
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    path
}

/// `--region` / `-t` (alone, not `-t123456`): an option of `cmd` whose value
/// is the next word.
fn takes_value(cmd: &clap::Command, arg: &str) -> bool {
    cmd.get_arguments().any(|a| {
        let named = match arg.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => {
                let mut chars = arg[1..].chars();
                chars.next().is_some_and(|c| a.get_short() == Some(c)) && chars.next().is_none()
            }
        };
        named && a.get_action().takes_values()
    })
}

/// clap's rendered error (`clap::Error::render`, plain text) as the lines
/// mfa-exec prints; `path` from [`subcommand_path`].
pub fn usage_lines(rendered: &str, path: &[String]) -> Vec<String> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in rendered.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.trim_end());
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }

    let mut what = String::new();
    let mut usage: Vec<String> = Vec::new();
    let mut tip: Option<String> = None;
    for (i, block) in blocks.iter().enumerate() {
        let first = block[0].trim_start();
        if i == 0 {
            what = first.strip_prefix("error: ").unwrap_or(first).to_string();
            let details: Vec<&str> = block[1..].iter().map(|l| l.trim()).collect();
            let (values, args): (Vec<&str>, Vec<&str>) =
                details.iter().partition(|d| d.starts_with('['));
            if !args.is_empty() {
                let sep = if what.ends_with(':') { " " } else { ": " };
                what = format!("{what}{sep}{}", args.join(", "));
            }
            for v in values {
                what = format!("{what} {v}");
            }
        } else if let Some(t) = first.strip_prefix("tip: ") {
            if tip.is_none() {
                tip = Some(t.to_string());
            }
        } else if let Some(u) = first.strip_prefix("Usage: ") {
            usage.push(format!("usage: {u}"));
            usage.extend(block[1..].iter().map(|l| l.to_string()));
        } else if first.starts_with("For more information") {
            // Replaced by the hint below, which names the subcommand.
        } else {
            // Anything else clap adds is kept, as it is.
            usage.extend(block.iter().map(|l| l.to_string()));
        }
    }
    if what.is_empty() {
        what = "invalid arguments".to_string();
    }
    let mut lines = vec![format!("mfa-exec: error: {what}")];
    lines.extend(usage);
    let hint = tip.unwrap_or_else(|| {
        let mut cmd = String::from("mfa-exec");
        for p in path {
            cmd.push(' ');
            cmd.push_str(p);
        }
        format!("see '{cmd} --help'")
    });
    lines.push(format!("hint: {hint}"));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(args: &[&str]) -> Vec<String> {
        subcommand_path(std::iter::once("mfa-exec").chain(args.iter().copied()))
    }

    #[test]
    fn paths() {
        assert_eq!(path(&["keys", "move", "testAccount"]), ["keys", "move"]);
        assert_eq!(path(&["-v", "clear"]), ["clear"]);
        assert_eq!(path(&["test", "--", "list"]), Vec::<String>::new());
        assert_eq!(path(&["export", "test", "--format", "yaml"]), ["export"]);
        assert_eq!(path(&["help", "list"]), Vec::<String>::new());
        assert_eq!(path(&["--profile", "list", "x"]), Vec::<String>::new());
        assert_eq!(path(&["-t", "list"]), Vec::<String>::new());
    }

    #[test]
    fn missing_arguments_join_the_first_line() {
        let text = "error: the following required arguments were not provided:\n  <PROFILE>\n  --to <PLACE>\n\nUsage: mfa-exec keys move --to <PLACE> <PROFILE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_lines(text, &["keys".into(), "move".into()]),
            [
                "mfa-exec: error: the following required arguments were not provided: <PROFILE>, --to <PLACE>",
                "usage: mfa-exec keys move --to <PLACE> <PROFILE>",
                "hint: see 'mfa-exec keys move --help'",
            ]
        );
    }

    #[test]
    fn possible_values_and_tip() {
        let text = "error: invalid value 'jsn' for '--format <FORMAT>'\n  [possible values: sh, json]\n\n  tip: a similar value exists: 'json'\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_lines(text, &["export".into()]),
            [
                "mfa-exec: error: invalid value 'jsn' for '--format <FORMAT>' [possible values: sh, json]",
                "hint: a similar value exists: 'json'",
            ]
        );
    }
}
