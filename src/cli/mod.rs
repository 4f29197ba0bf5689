//! Every clap type of mfa-exec: the whole command-line surface (SPEC §5). This
//! file holds the top level ([`Cli`], [`Command`]) and the parsing rules (the
//! fast path, global flags before a subcommand, `--profile` and the command);
//! `args.rs` the argument groups commands share ([`ProfileArg`], [`RunArgs`],
//! [`ResolveArgs`], [`SessionArgs`]); `subcommands.rs` each subcommand's own.
//!
//! This module depends on clap, std and two leaf modules (`duration` for
//! parsing, `error` for the missing-profile error) only: it never reads a file
//! or the environment, and never decides anything about a profile, so the
//! completion and man-page generators can build it cheaply.
//!
//! Conventions:
//! - A first argument that names a subcommand is the subcommand; anything else is a
//!   profile (`args_conflicts_with_subcommands`). `--profile NAME` and
//!   `mfa-exec exec NAME` reach a profile whose name collides with a subcommand.
//! - The wrapped command follows the profile, with or without `--`
//!   (`trailing_var_arg`); everything after the command's first word belongs to it.
//! - Durations are parsed here (`3600`, `90m`, `12h`, `1h30m`) so a malformed one
//!   is a usage error; ranges are checked later, against the resolved profile.
//! - Environment variables are read by `env.rs` only, never by clap; help texts
//!   name them.
//! - Usage errors exit 125 (SPEC §7); `main.rs` maps clap's errors.

use crate::duration::parse_duration;
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;

mod args;
mod subcommands;
pub mod usage;

pub use args::{ProfileArg, ResolveArgs, RunArgs, SessionArgs, PROMPT_VALUES};
pub use subcommands::{
    ClearArgs, CompletionsArgs, ConfigureArgs, CredentialProcessArgs, ExplainArgs, ExportArgs,
    ExportFormat, KeyPlace, KeysArgs, KeysCommand, KeysMoveArgs, KeysRotateArgs, ListArgs,
    LoginArgs, Shell,
};

const AFTER_HELP: &str = "\
Examples:
  mfa-exec test -- aws s3 ls          run a command with the MFA session of 'test'
  mfa-exec prod -- terraform apply    a role profile: one code serves every role
  mfa-exec test                       start $SHELL with the session
  eval \"$(mfa-exec export test)\"      put the session into this shell
  mfa-exec list                       show every profile and its session

A cached session with at least --min-remaining left is used without a prompt or a
network call. Exit status: the command's own; 125 when mfa-exec fails; 126/127 when
the command cannot be run or is not found; 130 for Ctrl-C at the prompt.";

/// Run a command with an MFA-backed AWS session, cached in ~/.aws/credentials
#[derive(Debug, Parser)]
#[command(
    name = "mfa-exec",
    version,
    about,
    long_about = None,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "COMMAND",
    override_usage = "mfa-exec [OPTIONS] <PROFILE> [-- <COMMAND>...]\n       mfa-exec <SUBCOMMAND> [ARGS]",
    mut_args(RunArgs::main_form),
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options accepted everywhere.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Say more about what happens (key ids masked, never secrets)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Say nothing but errors (no progress or waiting messages)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// Subcommand names (`help` included), for [`globals_after_subcommand`].
const SUBCOMMANDS: &[&str] = &[
    "exec",
    "list",
    "clear",
    "export",
    "credential-process",
    "completions",
    "configure",
    "explain",
    "login",
    "keys",
    "help",
];

/// `mfa-exec -v list` → `mfa-exec list -v`: with `args_conflicts_with_subcommands`
/// any top-level flag, even a global one, would turn `list` into a profile.
fn globals_after_subcommand<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let is_global = |a: &OsString| {
        let a = a.to_string_lossy();
        matches!(a.as_ref(), "--verbose" | "--quiet")
            || (a.len() > 1
                && a.starts_with('-')
                && !a.starts_with("--")
                && a[1..].chars().all(|c| c == 'v' || c == 'q'))
    };
    let first = args
        .iter()
        .skip(1)
        .position(|a| !is_global(a))
        .map(|i| i + 1);
    if let Some(i) = first {
        if i > 1 && SUBCOMMANDS.contains(&args[i].to_string_lossy().as_ref()) {
            let globals: Vec<OsString> = args.drain(1..i).collect();
            args.splice(2..2, globals);
        }
    }
    args
}

/// The common cases of the main form and `exec` without building clap's
/// command tree (a few hundred thousand instructions, a third of a cached
/// run): the cached path runs on every command a user types, with or without
/// flags. Taken here: `-v`/`-vv`/`-q`/`--verbose`/`--quiet` anywhere before
/// the command, the `exec` spelling, `--profile NAME`, `--server`, `--prompt`, and every session
/// option of [`SessionArgs`] as `--long VALUE`, `--long=VALUE` or `-s VALUE`.
/// Anything else (help, an unknown or repeated option, bundled short flags,
/// `-tVALUE`, a value that is empty or starts with `-`, a duration that does
/// not parse, a subcommand name where a profile would be, `-v` with `-q`)
/// returns `None` and goes through clap, which gives the usage error. A test
/// compares both over every combination of a token set.
fn fast_path(args: &[OsString]) -> Option<Cli> {
    let mut global = GlobalArgs::default();
    let mut session = SessionArgs::default();
    let mut profile_flag: Option<String> = None;
    let mut positional: Option<String> = None;
    let mut exec_form = false;
    let mut server = false;
    let mut command: Vec<OsString> = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let word = args[i].to_str();
        let Some(word) = word else {
            // A non-UTF-8 word: only as the command, after PROFILE.
            positional.as_ref()?;
            command = args[i..].to_vec();
            break;
        };
        i += 1;
        if word == "--" {
            command = args[i..].to_vec();
            break;
        }
        if !word.starts_with('-') || word == "-" {
            if !exec_form
                && positional.is_none()
                && profile_flag.is_none()
                && word == "exec"
                && i == 2 + global_words(&args[1..i - 1])
            {
                exec_form = true;
                continue;
            }
            // The first positional word fills clap's PROFILE slot, even after
            // `--profile` (then it moves into the command at the end).
            if positional.is_none() {
                let taken_by_clap_elsewhere =
                    SUBCOMMANDS.contains(&word) && (!exec_form || profile_flag.is_some());
                if word.is_empty() || taken_by_clap_elsewhere {
                    return None;
                }
                positional = Some(word.to_string());
                continue;
            }
            // The command's first word: everything from here is the command's.
            command = args[i - 1..].to_vec();
            break;
        }
        match word {
            "-v" | "--verbose" => global.verbose = global.verbose.checked_add(1)?,
            "-vv" => global.verbose = global.verbose.checked_add(2)?,
            "-vvv" => global.verbose = global.verbose.checked_add(3)?,
            "-q" | "--quiet" if !global.quiet => global.quiet = true,
            "-f" | "--force" if !session.force => session.force = true,
            "--no-input" if !session.no_input => session.no_input = true,
            "--server" if !server => server = true,
            _ => {
                let (name, inline) = match word.split_once('=') {
                    Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                    _ => (word, None),
                };
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = args.get(i)?.to_str()?;
                        i += 1;
                        v
                    }
                };
                if value.is_empty() || value.starts_with('-') {
                    return None;
                }
                let r = &mut session.resolve;
                match name {
                    "--profile" => set_once(&mut profile_flag, value.to_string())?,
                    "-t" | "--token-code" => set_once(&mut session.token_code, value.to_string())?,
                    "--region" => set_once(&mut r.region, value.to_string())?,
                    "--mfa-serial" => set_once(&mut r.mfa_serial, value.to_string())?,
                    "--prompt" if PROMPT_VALUES.contains(&value) => {
                        set_once(&mut r.prompt, value.to_string())?
                    }
                    "-d" | "--duration" => set_once(&mut r.duration, parse_duration(value).ok()?)?,
                    "--min-remaining" => {
                        set_once(&mut r.min_remaining, parse_duration(value).ok()?)?
                    }
                    "--lock-timeout" => {
                        set_once(&mut session.lock_timeout, parse_duration(value).ok()?)?
                    }
                    _ => return None,
                }
            }
        }
    }
    if global.verbose > 0 && global.quiet {
        return None;
    }
    if positional.is_none() && profile_flag.is_none() {
        return None;
    }
    // `--profile NAME`: every positional word is the command's
    // ([`RunArgs::shift_into_command`]).
    if profile_flag.is_some() {
        if let Some(word) = positional.take() {
            command.insert(0, OsString::from(word));
        }
    }
    let run = RunArgs {
        profile: ProfileArg {
            positional,
            flag: profile_flag,
        },
        session,
        server,
        command,
    };
    Some(if exec_form {
        Cli {
            global,
            run: RunArgs::default(),
            command: Some(Command::Exec(run)),
        }
    } else {
        Cli {
            global,
            run,
            command: None,
        }
    })
}

/// How many of `words` are global flags (`-v`, `-q`, ...): `exec` is the
/// subcommand only as the first word after them.
fn global_words(words: &[OsString]) -> usize {
    words
        .iter()
        .filter(|w| {
            matches!(
                w.to_str(),
                Some("-v" | "-vv" | "-vvv" | "-q" | "--verbose" | "--quiet")
            )
        })
        .count()
}

/// Sets an option given once; `None` (decline) when it was given before.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

impl Cli {
    /// Parses and applies the `--profile` rule (see [`RunArgs::shift_into_command`]).
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args = globals_after_subcommand(args);
        if let Some(cli) = fast_path(&args) {
            return Ok(cli);
        }
        Self::clap_path(args)
    }

    /// clap's parse of argv that [`globals_after_subcommand`] already reordered.
    fn clap_path(args: Vec<OsString>) -> Result<Cli, clap::Error> {
        let mut cli = Cli::try_parse_from(args)?;
        cli.run.shift_into_command();
        if let Some(Command::Exec(e)) = &mut cli.command {
            e.shift_into_command();
        }
        Ok(cli)
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run a command with the MFA session of PROFILE (same as the main form)
    #[command(
        after_help = "Example:\n  mfa-exec exec list -- aws s3 ls   # a profile named 'list'"
    )]
    Exec(RunArgs),

    /// List every profile with an MFA device or a cached session
    #[command(
        after_help = "Examples:\n  mfa-exec list\n  mfa-exec list --json | jq '.[] | select(.state == \"valid\")'"
    )]
    List(ListArgs),

    /// Remove sessions written by mfa-exec (never long-term keys)
    #[command(
        override_usage = "mfa-exec clear [OPTIONS] <PROFILE>...\n       mfa-exec clear [OPTIONS] --all",
        after_help = "Examples:\n  mfa-exec clear test\n  mfa-exec clear --all"
    )]
    Clear(ClearArgs),

    /// Print the session as variables for eval
    #[command(
        after_help = "Examples:\n  eval \"$(mfa-exec export test)\"\n  mfa-exec export test --format fish | source\n  mfa-exec export test --format dotenv > .env"
    )]
    Export(ExportArgs),

    /// Print the session as AWS credential_process JSON
    #[command(
        name = "credential-process",
        after_help = "Example, in ~/.aws/config:\n  [profile work]\n  credential_process = mfa-exec credential-process test"
    )]
    CredentialProcess(CredentialProcessArgs),

    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_AFTER_HELP)]
    Completions(CompletionsArgs),

    /// Set up a profile interactively (secrets only from the terminal or stdin)
    #[command(
        after_help = "Examples:\n  mfa-exec configure test\n  mfa-exec configure test --source-profile testAccount --mfa-serial arn:aws:iam::123456789012:mfa/test --yes"
    )]
    Configure(ConfigureArgs),

    /// Show how a profile resolves, each fact with the file and line it came from
    #[command(after_help = "Examples:\n  mfa-exec explain test\n  mfa-exec explain prod --json")]
    Explain(ExplainArgs),

    /// Open the AWS console signed in with the profile's session
    #[command(after_help = LOGIN_AFTER_HELP)]
    Login(LoginArgs),
    /// Manage long-term keys: move them between the credentials file and the OS keyring, rotate them
    #[command(
        after_help = "Examples:\n  mfa-exec keys move testAccount --to keyring\n  mfa-exec keys move testAccount --to file\n  mfa-exec keys rotate testAccount"
    )]
    Keys(KeysArgs),
}

const COMPLETIONS_AFTER_HELP: &str = "\
Install (the directories may not exist yet on a fresh machine):
  bash, with the bash-completion package:
    mkdir -p ~/.local/share/bash-completion/completions
    mfa-exec completions bash > ~/.local/share/bash-completion/completions/mfa-exec
  bash without it: add to ~/.bashrc
    source <(mfa-exec completions bash)
  zsh:
    mkdir -p ~/.zfunc && mfa-exec completions zsh > ~/.zfunc/_mfa-exec
    and in ~/.zshrc: fpath=(~/.zfunc $fpath); autoload -U compinit && compinit
  fish:
    mkdir -p ~/.config/fish/completions
    mfa-exec completions fish > ~/.config/fish/completions/mfa-exec.fish";

const LOGIN_AFTER_HELP: &str = "\
A role profile signs in with its role session (cached, or refreshed as the main form
would: one code at most). A profile without a role signs in with a GetFederationToken
session made with the long-term keys: it carries no MFA, so a policy that denies
actions without MFA denies them in the console too. --duration is the length of the
role session (as in the main form) or of the GetFederationToken session (15m-36h).

The URL is opened with $BROWSER (a program, run without a shell; %s is replaced by
the URL), else xdg-open (open on macOS). It signs in whoever has it for 15 minutes.

Examples:
  mfa-exec login prod
  mfa-exec login prod --print | xclip -selection clipboard
  mfa-exec login test --region eu-west-1 --destination https://console.aws.amazon.com/s3/home";

#[cfg(test)]
mod tests;
