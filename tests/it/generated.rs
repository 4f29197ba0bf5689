//! The generated files users install: `man/mfa-exec.1` and `completions/*`.
//!
//! Each test regenerates a file (the man page in-process from `mfa_exec::cli`, the
//! completion scripts by running the built binary) and compares it with the
//! committed one. `UPDATE_GENERATED=1 cargo test --test it generated` writes
//! them instead.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::support::bin_path;

use mfa_exec::cli;

const STALE: &str =
    "generated files are stale: run `UPDATE_GENERATED=1 cargo test --test it generated` and commit";

/// `(shell argument, committed file)` for every supported shell.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "completions/mfa-exec.bash"),
    ("zsh", "completions/_mfa-exec"),
    ("fish", "completions/mfa-exec.fish"),
    ("powershell", "completions/_mfa-exec.ps1"),
    ("elvish", "completions/mfa-exec.elv"),
];

const MAN_PATH: &str = "man/mfa-exec.1";

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GENERATED").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Compares `rel` with `expected`, or writes it under `UPDATE_GENERATED`.
fn check_or_update(rel: &str, expected: &str) {
    let path = repo_path(rel);
    let actual = fs::read_to_string(&path).ok();
    if actual.as_deref() == Some(expected) {
        return;
    }
    if updating() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, expected).unwrap();
        eprintln!("updated {rel}");
        return;
    }
    let detail = match &actual {
        None => "missing".to_string(),
        Some(actual) => {
            let (n, (a, e)) = actual
                .lines()
                .chain(std::iter::repeat("<end of file>"))
                .zip(expected.lines().chain(std::iter::repeat("<end of file>")))
                .enumerate()
                .find(|(_, (a, e))| a != e)
                .unwrap_or((0, ("", "(line endings or final newline differ)")));
            format!(
                "first difference at line {}:\n  committed: {a}\n  generated: {e}",
                n + 1
            )
        }
    };
    panic!("{STALE}\n{rel}: {detail}");
}

// ---------------------------------------------------------------------------
// The man page.

/// What one render of [`Man`] writes before its first section: the apostrophe
/// preamble, which only the first piece of the page keeps.
fn roff_preamble() -> String {
    Roff::new().render()
}

/// Renders a [`Man`] section into a string, without the preamble and, with
/// `drop_heading`, without its `.SH` line (for use under a `.SS`).
fn piece(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>, drop_heading: bool) -> String {
    let mut buf = Vec::new();
    render(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let text = text.strip_prefix(&roff_preamble()).unwrap_or(&text);
    text.lines()
        .filter(|l| !(drop_heading && l.starts_with(".SH ")))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Preformatted text (examples from a subcommand's help).
fn literal(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.control("nf", []);
    roff.control("RS", ["4"]);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("RE", []);
    roff.control("fi", []);
}

/// A `.TP` item: a bold (or mixed) tag and its paragraph.
fn item(roff: &mut Roff, tag: Vec<clap_mangen::roff::Inline>, body: &str) {
    roff.control("TP", []);
    roff.text(tag);
    roff.text([roman(body)]);
}

const DESCRIPTION: &[&str] = &[
    "mfa-exec runs a command with an MFA-backed AWS session. It resolves PROFILE from \
     the AWS config and credentials files, and uses the session cached in the \
     credentials file when it has at least --min-remaining (default 15 minutes) left: \
     then there is no prompt and no network call. Otherwise it obtains a 6-digit code \
     (from --token-code, MFA_EXEC_TOKEN_CODE, the profile's mfa_process, or a prompt \
     on the terminal), calls STS GetSessionToken (and AssumeRole for a role profile), \
     writes the session back to the credentials file and runs the command with the \
     session in its environment.",
    "For a profile without role_arn the session is an ordinary profile in the \
     credentials file, so aws --profile PROFILE works on its own until it expires. \
     A first argument that names a subcommand is the subcommand; anything else is a \
     profile. Use --profile NAME or mfa-exec exec NAME for a profile whose name is \
     also a subcommand.",
    "The command inherits the environment without AWS_PROFILE, AWS_DEFAULT_PROFILE \
     and earlier credentials, plus AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
     AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, AWS_CREDENTIAL_EXPIRATION, \
     AWS_SESSION_EXPIRATION, AWS_REGION and AWS_DEFAULT_REGION (when a region is \
     known) and MFA_EXEC_PROFILE. On Unix mfa-exec replaces itself with the command.",
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "mfa-exec test -- aws s3 ls",
        "Run a command with the MFA session of profile test. A code is asked for \
         only when the cached session has less than 15 minutes left.",
    ),
    (
        "mfa-exec prod -- terraform apply",
        "A role profile: the MFA session of its source serves every role under the \
         same device, so one code serves them all.",
    ),
    (
        "mfa-exec test",
        "Start $SHELL (else /bin/sh) with the session.",
    ),
    (
        "mfa-exec -t 123456 test -- aws sts get-caller-identity",
        "Pass the code instead of being prompted (or set MFA_EXEC_TOKEN_CODE).",
    ),
    (
        "eval \"$(mfa-exec export test)\"",
        "Put the session into the current shell (fish: mfa-exec export test \
         --format fish | source).",
    ),
    (
        "mfa-exec list",
        "Show every profile with an MFA device or a cached session, and how long \
         each session has left.",
    ),
    (
        "mfa-exec clear --all",
        "Remove every session mfa-exec wrote; long-term keys are never touched.",
    ),
    (
        "mfa-exec exec list -- aws s3 ls",
        "Use a profile named list, which collides with a subcommand.",
    ),
    (
        "credential_process = mfa-exec credential-process test",
        "In a profile of ~/.aws/config: let the AWS SDKs ask mfa-exec for \
         credentials.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.aws/config",
        "Profiles: source_profile, mfa_serial (alias mfa_arn), role_arn, region, \
         duration_seconds, mfa_session_duration, mfa_process. Sections [profile NAME] \
         and [default]; a bare [NAME] section is also read. Set by AWS_CONFIG_FILE.",
    ),
    (
        "~/.aws/credentials",
        "Long-term keys, and the sessions mfa-exec writes: aws_access_key_id, \
         aws_secret_access_key, aws_session_token, x_security_token_expires and the \
         marker keys x_mfa_exec_source, x_mfa_exec_serial (and x_mfa_exec_role_arn). \
         Created with mode 0600 when missing; rewritten atomically, everything else \
         kept byte for byte. Set by AWS_SHARED_CREDENTIALS_FILE.",
    ),
    (
        "~/.aws/.credentials.mfa-exec*.lock",
        "Lock files beside the (symlink-resolved) credentials file, mode 0600. They \
         are released by closing, never deleted, and may be removed when no mfa-exec \
         runs.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "AWS_CONFIG_FILE",
        "The config file (default ~/.aws/config; a leading ~ is expanded).",
    ),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "The credentials file (default ~/.aws/credentials).",
    ),
    (
        "AWS_ENDPOINT_URL_STS",
        "STS endpoint, e.g. a local test server; takes precedence over \
         AWS_ENDPOINT_URL and the profile's endpoint_url.",
    ),
    (
        "AWS_ENDPOINT_URL",
        "Endpoint for every service, used for STS when AWS_ENDPOINT_URL_STS is unset.",
    ),
    (
        "AWS_REGION",
        "Region for the command when --region is not given (below the profile's own \
         region inside an outer mfa-exec).",
    ),
    ("AWS_DEFAULT_REGION", "Read like AWS_REGION, after it."),
    (
        "AWS_CA_BUNDLE",
        "A PEM file of the certificate authorities to trust for STS and the sign-in \
         endpoint instead of the system's (as the AWS CLI); when unset, the profile's \
         ca_bundle.",
    ),
    (
        "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY",
        "The proxy for STS and the sign-in endpoint (https_proxy, http_proxy and \
         all_proxy too), as the AWS SDKs read them; an unreachable proxy is named \
         as the proxy.",
    ),
    (
        "NO_PROXY",
        "Hosts reached without the proxy (no_proxy too).",
    ),
    (
        "MFA_EXEC_TOKEN_CODE",
        "The 6-digit code, as with --token-code. Removed from the command's \
         environment.",
    ),
    (
        "MFA_EXEC_MFA_SERIAL",
        "The MFA device, as with --mfa-serial. Also set for mfa_process.",
    ),
    (
        "MFA_EXEC_MIN_REMAINING",
        "Default of --min-remaining (15m).",
    ),
    (
        "MFA_EXEC_PROFILE",
        "Set in the command's environment (and for mfa_process) to the profile; an \
         inner mfa-exec for the same profile passes straight through while the \
         session is fresh.",
    ),
    (
        "MFA_EXEC_SIGNIN_URL",
        "login: the federation endpoint, as with --signin-url (default: the one of \
         the region's partition, e.g. https://signin.aws.amazon.com/federation).",
    ),
    (
        "BROWSER",
        "login: the program that opens the sign-in URL (a :-separated list; each \
         entry is a program and its arguments, run without a shell; %s stands for \
         the URL); else xdg-open, else open.",
    ),
    (
        "SHELL",
        "The command to run when none is given (else /bin/sh).",
    ),
    ("NO_COLOR", "When set, messages are not coloured."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "the command's",
        "When the command ran, its own exit status (mfa-exec replaces itself with it).",
    ),
    (
        "125",
        "mfa-exec itself failed, usage errors included: the files are left as they \
         were and the command did not run.",
    ),
    ("126", "The command was found but could not be run."),
    ("127", "The command was not found."),
    ("130", "Ctrl-C at the code prompt; nothing was written."),
];

/// The whole man page, from `Cli::command()` plus hand-written sections.
pub fn man_page() -> String {
    let mut cmd = cli::Cli::command();
    cmd.build();
    let man = Man::new(cmd.clone()).manual("User Commands");

    // clap_mangen writes an empty date as nothing, which shifts the footer's
    // fields; the title line is written here with the date quoted and empty.
    let mut out = roff_preamble();
    out.push_str(&format!(
        ".TH MFA\\-EXEC 1 \"\" \"mfa\\-exec {}\" \"User Commands\"\n.nh\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(&piece(|w| man.render_name_section(w), false));
    out.push_str(&piece(|w| man.render_synopsis_section(w), false));

    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    for (i, para) in DESCRIPTION.iter().enumerate() {
        if i > 0 {
            roff.control("PP", []);
        }
        roff.text([roman(*para)]);
    }
    out.push_str(&piece(|w| roff.to_writer(w), false));
    out.push_str(&piece(|w| man.render_options_section(w), false));

    // Every subcommand with its synopsis and options; the global options, which
    // every subcommand takes, are left out of each.
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    roff.text([roman(
        "Every subcommand also takes -v/--verbose, -q/--quiet and -h/--help.",
    )]);
    out.push_str(&piece(|w| roff.to_writer(w), false));
    for sub in cmd.get_subcommands() {
        let name = sub.get_name().to_string();
        let mut sub = sub.clone();
        for id in ["verbose", "quiet", "help"] {
            if sub.get_arguments().any(|a| a.get_id() == id) {
                sub = sub.mut_arg(id, |a| a.hide(true));
            }
        }
        let after = sub.get_after_help().map(|s| s.to_string());
        let sub = sub.after_help(None::<&str>).after_long_help(None::<&str>);
        let sman = Man::new(sub.clone());
        let mut head = Roff::new();
        head.control("SS", [format!("mfa-exec {name}").as_str()]);
        if let Some(about) = sub.get_about() {
            head.text([roman(about.to_string())]);
        }
        out.push_str(&piece(|w| head.to_writer(w), false));
        let mut syn = Roff::new();
        syn.control("PP", []);
        out.push_str(&piece(|w| syn.to_writer(w), false));
        out.push_str(&piece(|w| sman.render_synopsis_section(w), true));
        if sub
            .get_arguments()
            .any(|a| !a.is_hide_set() && a.get_id() != "version")
        {
            out.push_str(&piece(|w| sman.render_options_section(w), true));
        }
        if let Some(after) = after {
            let mut ex = Roff::new();
            literal(&mut ex, &after);
            out.push_str(&piece(|w| ex.to_writer(w), false));
        }
    }

    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]);
    for (cmdline, what) in EXAMPLES {
        item(&mut roff, vec![bold(*cmdline)], what);
    }
    roff.control("SH", ["FILES"]);
    for (file, what) in FILES {
        item(&mut roff, vec![italic(*file)], what);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, what) in ENVIRONMENT {
        item(&mut roff, vec![bold(*var)], what);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, what) in EXIT_STATUS {
        item(&mut roff, vec![roman(*code)], what);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("aws"),
        roman("(1), "),
        bold("aws-vault"),
        roman("(1); the AWS CLI's configuration and credential file settings."),
    ]);
    out.push_str(&piece(|w| roff.to_writer(w), false));
    out.push_str(&piece(|w| man.render_version_section(w), false));
    tidy(&out)
}

/// Wraps filled text lines at 78 bytes, drops trailing blanks and turns
/// clap_mangen's `.br`, blank line, `.br` (before "Possible values") into `.sp`,
/// so that `mandoc -Tlint` says nothing but "missing date"; no-fill blocks stay
/// as they are.
fn tidy(page: &str) -> String {
    let page = page.replace("\n.br\n\n.br\n", "\n.sp\n");
    let mut out = String::new();
    let mut fill = true;
    for line in page.lines() {
        match line {
            ".nf" => fill = false,
            ".fi" => fill = true,
            _ => {}
        }
        if !fill || line.starts_with('.') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut cur = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if !cur.is_empty() && cur.len() + 1 + word.len() > 78 {
                out.push_str(&cur);
                out.push('\n');
                cur.clear();
            }
            if !cur.is_empty() {
                cur.push(' ');
            } else if word.starts_with('.') || word.starts_with('\'') {
                cur.push_str("\\&");
            }
            cur.push_str(word);
        }
        out.push_str(&cur);
        out.push('\n');
    }
    out
}

#[test]
fn generated_man_page_is_current() {
    check_or_update(MAN_PATH, &man_page());
}

#[test]
fn generated_man_page_is_reproducible_and_complete() {
    let page = man_page();
    assert_eq!(page, man_page());
    let th = page.lines().find(|l| l.starts_with(".TH ")).unwrap();
    assert_eq!(
        th,
        format!(
            ".TH MFA\\-EXEC 1 \"\" \"mfa\\-exec {}\" \"User Commands\"",
            env!("CARGO_PKG_VERSION")
        ),
        "no date in the title line"
    );
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXAMPLES",
        "FILES",
        "ENVIRONMENT",
        "\"EXIT STATUS\"",
    ] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "{section}");
    }
    for sub in [
        "exec",
        "list",
        "clear",
        "export",
        "credential-process",
        "completions",
        "configure",
        "explain",
    ] {
        assert!(
            page.contains(&format!(".SS \"mfa-exec {sub}\"")),
            "subcommand {sub}"
        );
    }
    for (var, _) in ENVIRONMENT {
        assert!(page.contains(&format!("\\fB{}\\fR", var.replace('-', "\\-"))));
    }
    assert_eq!(page.matches(&roff_preamble()).count(), 1);
}

/// `man -l` renders the committed page without a warning (skipped where man-db
/// is not installed).
#[test]
fn generated_man_page_renders_cleanly() {
    let Ok(out) = StdCommand::new("man")
        .args(["-l", "--warnings=all"])
        .arg(repo_path(MAN_PATH))
        .env("MANWIDTH", "80")
        .env_remove("MANPAGER")
        .env("PAGER", "cat")
        .output()
    else {
        eprintln!("man not installed: skipped");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man -l failed: {stderr}");
    assert!(stderr.trim().is_empty(), "man -l warned:\n{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("EXIT STATUS"), "{text}");
}

// ---------------------------------------------------------------------------
// Completion scripts.

/// What `mfa-exec completions SHELL` prints, run with an empty environment.
fn completion_script(shell: &str) -> String {
    let out = StdCommand::new(bin_path())
        .args(["completions", shell])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mfa-exec completions {shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn generated_completions_are_current() {
    for (shell, rel) in COMPLETIONS {
        check_or_update(rel, &completion_script(shell));
    }
}

#[test]
fn generated_completions_call_mfa_exec_by_name() {
    let bin = bin_path();
    let bin = bin.to_str().unwrap();
    for (shell, _) in COMPLETIONS {
        let script = completion_script(shell);
        assert!(!script.contains(bin), "{shell}: embeds {bin}");
        assert!(!script.contains("/mfa-exec"), "{shell}: an absolute path");
        assert!(
            script.contains("mfa-exec -- ") || script.contains("\"mfa-exec\" -- "),
            "{shell}: does not call mfa-exec by name:\n{script}"
        );
    }
}
