//! Every clap type of mfa-exec: the whole command-line surface (SPEC §5).
//!
//! This module depends on clap and std only, so the completion and man-page
//! generators and the tests can load it without the rest of the program.
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
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

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

/// The main form: a profile, session options and the command to run.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Profile whose MFA session the command runs with
    #[arg(value_name = "PROFILE", id = "profile_pos")]
    pub profile: Option<String>,

    #[command(flatten)]
    pub session: SessionArgs,

    /// Command to run, with its arguments (default: $SHELL, else /bin/sh)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 0..,
        requires = "profile_pos"
    )]
    pub command: Vec<OsString>,
}

#[cfg(test)]
impl RunArgs {
    /// The profile, from the positional argument or `--profile`.
    pub fn profile_name(&self) -> Option<&str> {
        self.profile
            .as_deref()
            .or(self.session.resolve.profile.as_deref())
    }
}

/// With `--profile NAME`, every positional word is the command: clap gives the
/// first one to the PROFILE slot, so move it back.
fn shift_into_command(
    pos: &mut Option<String>,
    flag: &Option<String>,
    command: &mut Vec<OsString>,
) {
    if flag.is_some() {
        if let Some(word) = pos.take() {
            command.insert(0, OsString::from(word));
        }
    }
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

/// The common case `mfa-exec PROFILE [--] [COMMAND...]` (no options before the
/// command) without building clap's whole command tree: the cached path runs on
/// every command a user types. Anything else (an option, a subcommand name, a
/// profile starting with `-`) returns `None` and goes through clap; a test
/// checks both agree.
fn fast_path(args: &[OsString]) -> Option<Cli> {
    let profile = args.get(1)?.to_str()?;
    if profile.is_empty() || profile.starts_with('-') || SUBCOMMANDS.contains(&profile) {
        return None;
    }
    let rest = &args[2..];
    let command = match rest.first().map(|a| a.as_os_str()) {
        None => Vec::new(),
        Some(first) if first == "--" => rest[1..].to_vec(),
        Some(first) if first.as_encoded_bytes().starts_with(b"-") => return None,
        Some(_) => rest.to_vec(),
    };
    Some(Cli {
        global: GlobalArgs::default(),
        run: RunArgs {
            profile: Some(profile.to_string()),
            session: SessionArgs::default(),
            command,
        },
        command: None,
    })
}

impl Cli {
    /// Parses and applies the `--profile` rule (see [`shift_into_command`]).
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args = globals_after_subcommand(args);
        if let Some(cli) = fast_path(&args) {
            return Ok(cli);
        }
        let mut cli = Cli::try_parse_from(args)?;
        let r = &mut cli.run;
        shift_into_command(&mut r.profile, &r.session.resolve.profile, &mut r.command);
        if let Some(Command::Exec(e)) = &mut cli.command {
            shift_into_command(&mut e.profile, &e.session.resolve.profile, &mut e.command);
        }
        Ok(cli)
    }
}

/// Options that change how a profile resolves (also taken by `explain`).
#[derive(Debug, Clone, Default, Args)]
pub struct ResolveArgs {
    /// Profile name, for names that collide with a subcommand
    #[arg(long = "profile", value_name = "NAME")]
    pub profile: Option<String>,

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

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run a command with the MFA session of PROFILE (same as the main form)
    #[command(
        after_help = "Example:\n  mfa-exec exec list -- aws s3 ls   # a profile named 'list'"
    )]
    Exec(ExecArgs),

    /// List every profile with an MFA device or a cached session
    #[command(
        after_help = "Examples:\n  mfa-exec list\n  mfa-exec list --json | jq '.[] | select(.state == \"valid\")'"
    )]
    List(ListArgs),

    /// Remove sessions written by mfa-exec (never long-term keys)
    #[command(after_help = "Examples:\n  mfa-exec clear test\n  mfa-exec clear --all")]
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
    #[command(
        after_help = "Example:\n  mfa-exec completions bash > ~/.local/share/bash-completion/completions/mfa-exec"
    )]
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
pub struct KeysRotateArgs {
    /// Profile whose long-term key is replaced (the one holding it, e.g. testAccount)
    #[arg(value_name = "PROFILE", id = "profile_pos")]
    pub profile: String,

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

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Profile whose MFA session the command runs with
    #[arg(
        value_name = "PROFILE",
        id = "profile_pos",
        required_unless_present = "profile"
    )]
    pub profile: Option<String>,

    #[command(flatten)]
    pub session: SessionArgs,

    /// Command to run, with its arguments (default: $SHELL, else /bin/sh)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 0..
    )]
    pub command: Vec<OsString>,
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
pub struct ExportArgs {
    /// Profile to export
    #[arg(
        value_name = "PROFILE",
        id = "profile_pos",
        required_unless_present = "profile"
    )]
    pub profile: Option<String>,

    /// Output format. sh, fish and powershell also unset the variables a run
    /// removes (AWS_PROFILE, AWS_DEFAULT_PROFILE, ...); dotenv and json carry only
    /// the variables set
    #[arg(long, value_enum, default_value_t = ExportFormat::Sh)]
    pub format: ExportFormat,

    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CredentialProcessArgs {
    /// Profile whose session to print
    #[arg(
        value_name = "PROFILE",
        id = "profile_pos",
        required_unless_present = "profile"
    )]
    pub profile: Option<String>,

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
pub struct ExplainArgs {
    /// Profile to explain
    #[arg(
        value_name = "PROFILE",
        id = "profile_pos",
        required_unless_present = "profile"
    )]
    pub profile: Option<String>,

    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub resolve: ResolveArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Profile whose session signs in
    #[arg(
        value_name = "PROFILE",
        id = "profile_pos",
        required_unless_present = "profile"
    )]
    pub profile: Option<String>,

    /// Print the sign-in URL on stdout instead of opening it
    #[arg(long)]
    pub print: bool,

    /// Console page to open [default: the console home of the profile's region]
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,

    /// Federation endpoint [default: the one of the region's partition] [env: MFA_EXEC_SIGNIN_URL]
    #[arg(long, value_name = "URL")]
    pub signin_url: Option<String>,

    #[command(flatten)]
    pub session: SessionArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn debug_assert() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::parse_args(std::iter::once("mfa-exec").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn profile_versus_subcommand() {
        let c = parse(&["list"]);
        assert!(matches!(c.command, Some(Command::List(_))));
        let c = parse(&["mylist", "--", "true"]);
        assert!(c.command.is_none());
        assert_eq!(c.run.profile_name(), Some("mylist"));
        assert_eq!(c.run.command, vec![OsString::from("true")]);
        let c = parse(&["--profile", "list", "--", "true"]);
        assert!(c.command.is_none());
        assert_eq!(c.run.profile_name(), Some("list"));
        assert_eq!(c.run.command, vec![OsString::from("true")]);
        let c = parse(&["exec", "--profile", "list", "aws", "s3"]);
        match c.command {
            Some(Command::Exec(e)) => {
                assert_eq!(e.profile, None);
                assert_eq!(e.command, vec![OsString::from("aws"), OsString::from("s3")]);
            }
            other => panic!("{other:?}"),
        }
        let c = parse(&["exec", "list", "--", "true"]);
        match c.command {
            Some(Command::Exec(e)) => {
                assert_eq!(e.profile.as_deref(), Some("list"));
                assert_eq!(e.command, vec![OsString::from("true")]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn command_keeps_its_flags() {
        let c = parse(&["test", "-f", "--", "aws", "--profile", "x", "-v"]);
        assert!(c.run.session.force);
        assert_eq!(
            c.run.command,
            ["aws", "--profile", "x", "-v"]
                .iter()
                .map(OsString::from)
                .collect::<Vec<_>>()
        );
        let c = parse(&["test", "aws", "s3", "ls", "--recursive"]);
        assert_eq!(c.run.command.len(), 4);
        assert!(!c.run.session.force);
    }

    /// The fast path gives what clap gives, and declines what it cannot take.
    #[test]
    fn fast_path_agrees_with_clap() {
        let cases: &[&[&str]] = &[
            &["test"],
            &["test", "--", "aws", "s3", "ls", "--recursive"],
            &["test", "aws", "s3", "ls", "--recursive"],
            &["test", "--", "--weird"],
            &["test", "--", "sh", "-c", "exit 7"],
            &["my.prof", "env"],
        ];
        for case in cases {
            let argv: Vec<OsString> = std::iter::once("mfa-exec")
                .chain(case.iter().copied())
                .map(OsString::from)
                .collect();
            let fast = fast_path(&argv).unwrap_or_else(|| panic!("declined {case:?}"));
            let clap = Cli::try_parse_from(&argv).unwrap();
            assert_eq!(fast.run.profile, clap.run.profile, "{case:?}");
            assert_eq!(fast.run.command, clap.run.command, "{case:?}");
            assert!(clap.command.is_none());
            assert_eq!(
                format!("{:?}", fast.run.session),
                format!("{:?}", clap.run.session),
                "{case:?}"
            );
            assert_eq!(
                format!("{:?}", fast.global),
                format!("{:?}", clap.global),
                "{case:?}"
            );
        }
        for declined in [
            &["list"][..],
            &["test", "-f", "--", "true"],
            &["--profile", "x"],
            &["-v", "test"],
            &["test", "--help"],
            &[],
        ] {
            let argv: Vec<OsString> = std::iter::once("mfa-exec")
                .chain(declined.iter().copied())
                .map(OsString::from)
                .collect();
            assert!(fast_path(&argv).is_none(), "{declined:?}");
        }
    }

    #[test]
    fn global_flags_before_subcommand() {
        let c = parse(&["-v", "list"]);
        assert!(matches!(c.command, Some(Command::List(_))));
        assert_eq!(c.global.verbose, 1);
        let c = parse(&["-vv", "clear", "--all"]);
        assert!(matches!(c.command, Some(Command::Clear(_))));
        let c = parse(&["-v", "test", "--", "true"]);
        assert!(c.command.is_none());
        assert_eq!(c.run.profile_name(), Some("test"));
    }

    #[test]
    fn global_flags_after_subcommand() {
        let c = parse(&["list", "-v"]);
        assert_eq!(c.global.verbose, 1);
        let c = parse(&["-q", "test"]);
        assert!(c.global.quiet);
    }

    #[test]
    fn login_is_a_subcommand() {
        let c = parse(&["login", "prod", "--print", "--region", "eu-west-1"]);
        match c.command {
            Some(Command::Login(l)) => {
                assert_eq!(l.profile.as_deref(), Some("prod"));
                assert!(l.print);
                assert_eq!(l.session.resolve.region.as_deref(), Some("eu-west-1"));
            }
            other => panic!("{other:?}"),
        }
        let c = parse(&["-v", "login", "prod"]);
        assert!(matches!(c.command, Some(Command::Login(_))));
        // A profile named 'login' is reached with --profile or exec.
        let c = parse(&["--profile", "login", "--", "true"]);
        assert!(c.command.is_none());
        assert_eq!(c.run.profile_name(), Some("login"));
    }
}
