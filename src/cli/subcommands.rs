//! The arguments of each subcommand but `exec` (which takes the main form's
//! [`super::RunArgs`]). Only declarations: the parsing rules are in
//! `cli/mod.rs`, and nothing here reads the environment or a file.
//!
//! Every command that takes PROFILE and `--profile` flattens
//! [`ProfileArg`]; `configure` and `keys move` take no `--profile` (no
//! session options), so they declare their PROFILE themselves (a plain
//! required `String`).

use super::{ProfileArg, ResolveArgs, SessionArgs};
use crate::duration::parse_duration;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Move PROFILE's long-term keys to the OS keyring or back to the credentials file (all or nothing)
    Move(KeysMoveArgs),

    /// Replace PROFILE's access key with a new one in IAM, using its MFA session
    Rotate(KeysRotateArgs),
}

#[derive(Debug, Clone, Args)]
#[command(
    mut_args(ProfileArg::help(
        "Profile whose long-term key is replaced (the one holding it, e.g. testAccount)"
    )),
    mut_args(ProfileArg::required)
)]
pub struct KeysRotateArgs {
    /// Always the positional PROFILE ([`ProfileArg::required`]): `--profile` is
    /// accepted, as by every command with session options, and not used.
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct KeysMoveArgs {
    /// Profile whose long-term keys move (the one holding them, e.g. testAccount)
    #[arg(value_name = "PROFILE")]
    pub profile: String,

    /// Where the keys go
    #[arg(long, value_enum, value_name = "PLACE")]
    pub to: KeyPlace,
}

/// Where long-term keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyPlace {
    /// The OS keyring (Secret Service on Linux, the login Keychain on macOS)
    Keyring,
    /// The AWS credentials file
    File,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,

    /// Call a session "expiring" when less than this is left [default: 15m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub min_remaining: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct ClearArgs {
    /// Profiles whose sessions to remove
    #[arg(value_name = "PROFILE", required_unless_present = "all")]
    pub profiles: Vec<String>,

    /// Remove every session written by mfa-exec
    #[arg(long, conflicts_with = "profiles")]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Sh,
    Fish,
    Powershell,
    Dotenv,
    Json,
}

#[derive(Debug, Clone, Args)]
#[command(mut_args(ProfileArg::help("Profile to export")))]
pub struct ExportArgs {
    /// Output format. sh, fish and powershell also unset the variables a run
    /// removes (AWS_PROFILE, AWS_DEFAULT_PROFILE, ...); dotenv and json carry only
    /// the variables set
    #[arg(long, value_enum, default_value_t = ExportFormat::Sh)]
    pub format: ExportFormat,

    /// After `--format`, where `--profile` has always been in the help.
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Clone, Args)]
#[command(mut_args(ProfileArg::help("Profile whose session to print")))]
pub struct CredentialProcessArgs {
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// Shell to print the completion script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigureArgs {
    /// Profile to create or update
    #[arg(value_name = "PROFILE")]
    pub profile: String,

    /// Profile holding the long-term keys
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,

    /// Access key id of new long-term keys (the secret is read from the terminal or stdin)
    #[arg(long, value_name = "AKIA...")]
    pub access_key_id: Option<String>,

    /// Read the secret access key from stdin instead of the terminal
    #[arg(long)]
    pub secret_from_stdin: bool,

    /// MFA device ARN
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,

    /// Default region of the profile
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Session length (duration_seconds)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u64>,

    /// Write without asking for confirmation
    #[arg(short, long)]
    pub yes: bool,

    /// Never prompt; take every answer from flags
    #[arg(long)]
    pub no_input: bool,

    /// Store new long-term keys in the OS keyring instead of the credentials file
    #[arg(long)]
    pub keyring: bool,
}

#[derive(Debug, Clone, Args)]
#[command(mut_args(ProfileArg::help("Profile to explain")))]
pub struct ExplainArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,

    /// After `--json`, where `--profile` has always been in the help.
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub resolve: ResolveArgs,
}

#[derive(Debug, Clone, Args)]
#[command(mut_args(ProfileArg::help("Profile whose session signs in")))]
pub struct LoginArgs {
    /// Print the sign-in URL on stdout instead of opening it
    #[arg(long)]
    pub print: bool,

    /// Console page to open [default: the console home of the profile's region]
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,

    /// Federation endpoint [default: the one of the region's partition] [env: MFA_EXEC_SIGNIN_URL]
    #[arg(long, value_name = "URL")]
    pub signin_url: Option<String>,

    /// After the options above, where `--profile` has always been in the help.
    #[command(flatten)]
    pub profile: ProfileArg,

    #[command(flatten)]
    pub session: SessionArgs,
}
