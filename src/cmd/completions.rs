//! `mfa-exec completions SHELL` and dynamic completion of profile names.
//!
//! The scripts are clap_complete's dynamic registrations, driven by
//! `_MFA_EXEC_COMPLETE=<shell>` rather than clap_complete's generic `COMPLETE`,
//! so an unrelated `COMPLETE` in the environment changes nothing (SPEC §8.2),
//! with the completer named `mfa-exec` rather than this binary's absolute path,
//! so the committed files in `completions/` are the same on every machine. While
//! completing, profile names are read afresh from both AWS files.
//!
//! Never prints anything but the script or the candidates, and never fails
//! a completion: when a file cannot be read, no names are offered.

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::env::Env;
use crate::profile::AwsFiles;
use crate::ui::Ui;
use anyhow::Result;
use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use std::ffi::OsStr;
use std::io::Write;

/// Every profile name in both files, without `profile `, deduplicated.
pub fn profile_names(env: &Env) -> Vec<String> {
    let load = || -> Result<AwsFiles> {
        let c = env.config_path()?;
        let k = env.credentials_path()?;
        crate::store::load_files(&c, String::new(), &k, String::new())
    };
    match load() {
        Ok(files) => crate::profile::Resolver::new(&files)
            .all_profiles()
            .into_iter()
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn complete_profile(current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    profile_names(&Env::from_process())
        .into_iter()
        .filter(|n| n.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// `Cli::command()` with profile completers attached.
pub fn command() -> clap::Command {
    let profile = || ArgValueCompleter::new(complete_profile);
    // `mut_arg` moves the argument last; the trailing COMMAND must stay after
    // PROFILE, so it is moved last again.
    let mut cmd = Cli::command()
        .mut_arg("profile_pos", |a| a.add(profile()))
        .mut_arg("command", |a| a)
        .mut_arg("profile", |a| a.add(profile()));
    for sub in ["exec", "export", "credential-process", "explain", "login"] {
        cmd = cmd.mut_subcommand(sub, |s| {
            let s = s
                .mut_arg("profile_pos", |a| a.add(profile()))
                .mut_arg("profile", |a| a.add(profile()));
            if sub == "exec" {
                s.mut_arg("command", |a| a)
            } else {
                s
            }
        });
    }
    cmd = cmd.mut_subcommand("clear", |s| s.mut_arg("profiles", |a| a.add(profile())));
    cmd = cmd.mut_subcommand("configure", |s| {
        s.mut_arg("profile", |a| a.add(profile()))
            .mut_arg("source_profile", |a| a.add(profile()))
    });
    cmd
}

/// The variable that turns a run into a completion request.
pub const VAR: &str = "_MFA_EXEC_COMPLETE";

/// Answers a shell's completion request (`_MFA_EXEC_COMPLETE=bash mfa-exec -- ...`) and
/// exits; returns at once when the variable is absent.
pub fn handle_env() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(VAR)
        .bin("mfa-exec")
        .completer("mfa-exec")
        .complete();
}

/// The registration script for `shell`.
pub fn script(shell: Shell) -> Result<String> {
    let mut buf = Vec::new();
    let sh: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Powershell => &Powershell,
        Shell::Elvish => &Elvish,
    };
    sh.write_registration(VAR, "mfa-exec", "mfa-exec", "mfa-exec", &mut buf)?;
    Ok(String::from_utf8(buf)?)
}

/// Prints the registration script; the environment and the files play no
/// part (the script reads profile names when the shell completes).
pub fn run(_env: Env, _ui: Ui, a: &CompletionsArgs) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(script(a.shell)?.as_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn completion_command_is_valid() {
        super::command().debug_assert();
    }
}
