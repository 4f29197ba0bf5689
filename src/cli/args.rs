//! The argument groups several commands share: [`ProfileArg`] (PROFILE or
//! `--profile`), [`RunArgs`] (the main form and `exec`), [`ResolveArgs`] and
//! [`SessionArgs`]. It never reads the environment or a file: it only says
//! what the command line holds.
//!
//! Decisions:
//! - One [`ProfileArg`] is flattened into every command that takes PROFILE
//!   and `--profile`; what differs per command (PROFILE's help, whether it may
//!   be left out) is set by that command's struct with
//!   `#[command(mut_args(...))]`, which changes arguments in place: clap
//!   numbers positionals and orders help by declaration, so an argument that
//!   moved would change the help, the man page and the completions.
//! - Where a command declares its own options before PROFILE's (export,
//!   explain, login), it flattens [`ProfileArg`] after them, so `--profile`
//!   keeps its place in the help: just before the session options.
//! - The doc comment of an `Args` struct becomes the `about` of the command it
//!   is flattened into; every command here sets its own, which wins (the
//!   variant's doc comment, or `Cli`'s `about`).

use crate::duration::parse_duration;
use crate::error::fail;
use clap::builder::Resettable;
use clap::{Arg, Args};
use std::ffi::OsString;

/// The profile a command works on: the positional PROFILE, or `--profile
/// NAME` for a name that collides with a subcommand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[group(skip)]
pub struct ProfileArg {
    // No doc comment: it would be PROFILE's help, which each command sets
    // ([`ProfileArg::help`]).
    #[arg(
        value_name = "PROFILE",
        id = ProfileArg::POS,
        required_unless_present = "profile"
    )]
    pub positional: Option<String>,

    /// Profile name, for names that collide with a subcommand
    #[arg(id = "profile", long = "profile", value_name = "NAME")]
    pub flag: Option<String>,
}

impl ProfileArg {
    /// The clap id of the positional PROFILE (`--profile` is `profile`).
    pub const POS: &'static str = "profile_pos";

    /// The profile, from the positional argument or `--profile`, else a usage error.
    pub fn name(&self) -> anyhow::Result<&str> {
        self.positional
            .as_deref()
            .or(self.flag.as_deref())
            .ok_or_else(|| {
                fail("a profile is required")
                    .hint("usage: mfa-exec PROFILE [-- COMMAND...]; see 'mfa-exec --help'")
                    .into()
            })
    }

    /// PROFILE's help in one command: `#[command(mut_args(ProfileArg::help("...")))]`
    /// on the struct that flattens [`ProfileArg`].
    pub(crate) fn help(text: &'static str) -> impl FnMut(Arg) -> Arg {
        move |a| {
            if a.get_id() == Self::POS {
                a.help(text)
            } else {
                a
            }
        }
    }

    /// PROFILE cannot be left out, even with `--profile` (`keys rotate`):
    /// `#[command(mut_args(ProfileArg::required))]`.
    pub(crate) fn required(a: Arg) -> Arg {
        if a.get_id() == Self::POS {
            a.required(true).required_unless_present(Resettable::Reset)
        } else {
            a
        }
    }
}

/// The main form and `exec`: a profile, session options and the command to run.
#[derive(Debug, Clone, Default, Args)]
#[command(mut_args(ProfileArg::help("Profile whose MFA session the command runs with")))]
pub struct RunArgs {
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub session: SessionArgs,

    /// Serve renewing credentials from a local endpoint instead of static keys [env: MFA_EXEC_SERVER]
    #[arg(long)]
    pub server: bool,

    /// Command to run, with its arguments (default: $SHELL, else /bin/sh)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 0..
    )]
    pub command: Vec<OsString>,
}

impl RunArgs {
    /// The main form (`mfa-exec [PROFILE] [COMMAND]...`, as opposed to `exec`):
    /// PROFILE may be left out, as a subcommand stands in its place, so COMMAND
    /// requires it instead. `#[command(mut_args(RunArgs::main_form))]` on [`super::Cli`].
    pub(crate) fn main_form(a: Arg) -> Arg {
        match a.get_id().as_str() {
            ProfileArg::POS => a.required_unless_present(Resettable::Reset),
            "command" => a.requires(ProfileArg::POS),
            _ => a,
        }
    }

    /// With `--profile NAME`, every positional word is the command: clap gives the
    /// first one to the PROFILE slot, so move it back.
    pub(crate) fn shift_into_command(&mut self) {
        if self.profile.flag.is_some() {
            if let Some(word) = self.profile.positional.take() {
                self.command.insert(0, OsString::from(word));
            }
        }
    }
}

/// The values of `--prompt` and `mfa_exec_prompt` (SPEC §9.3): clap's
/// `value_parser`, the fast path and `PromptMode` read this one list.
pub const PROMPT_VALUES: [&str; 5] = ["auto", "terminal", "zenity", "kdialog", "osascript"];

/// Options that change how a profile resolves (also taken by `explain`).
#[derive(Debug, Clone, Default, Args)]
pub struct ResolveArgs {
    /// Session length: 3600, 90m, 12h (GetSessionToken 15m-36h, AssumeRole 15m-12h)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u64>,

    /// Refresh when less than this is left [default: 15m] [env: MFA_EXEC_MIN_REMAINING]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub min_remaining: Option<u64>,

    /// Region for the command (AWS_REGION, AWS_DEFAULT_REGION)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// MFA device ARN or serial [env: MFA_EXEC_MFA_SERIAL]
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,

    /// How to ask for a code: the terminal, or a desktop dialog [default: auto] [env: MFA_EXEC_PROMPT]
    #[arg(
        long,
        value_name = "HOW",
        value_parser = PROMPT_VALUES
    )]
    pub prompt: Option<String>,
}

/// Options of every command that may obtain a session.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub resolve: ResolveArgs,

    /// The 6-digit MFA code, instead of a prompt [env: MFA_EXEC_TOKEN_CODE]
    #[arg(short = 't', long, value_name = "CODE")]
    pub token_code: Option<String>,

    /// Get a new session even if the cached one is still fresh
    #[arg(short, long)]
    pub force: bool,

    /// Never prompt; fail if a code is needed and none was given
    #[arg(long)]
    pub no_input: bool,

    /// Give up waiting for another mfa-exec after this long [default: 120s; 50s for credential-process]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<u64>,
}
