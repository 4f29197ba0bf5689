//! `mfa-exec completions SHELL` and dynamic completion of profile names.
//!
//! The scripts are clap_complete's dynamic registrations, driven by
//! `_MFA_EXEC_COMPLETE=<shell>` rather than clap_complete's generic `COMPLETE`,
//! so an unrelated `COMPLETE` in the environment changes nothing (SPEC §8.2),
//! with the completer named `mfa-exec` rather than this binary's absolute path,
//! so the committed files in `completions/` are the same on every machine. While
//! completing, profile names are read afresh from both AWS files; a run's
//! PROFILE completes to the profiles a run can use ([`Offer`]).
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

/// Which profiles a completer offers (issue 25 items 6 and 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Profiles a run can use, those `list` shows: they resolve, with an MFA
    /// device or a role. Not the sections mfa-exec writes (`prod-mfa`) or
    /// reads keys from (`dev-long-term`), nor SSO, `aws login` or
    /// `credential_process` profiles.
    Runnable,
    /// For `explain`: the runnable ones and every profile of the config file
    /// (a broken or foreign profile is what `explain` is asked about), still
    /// without sections only the credentials file has.
    Explainable,
    /// Every name in both files (`configure` may set any of them up).
    Any,
}

/// The profile names `offer` selects, sorted, from the files as they are now.
pub fn offered_names(env: &Env, offer: Offer) -> Vec<String> {
    if offer == Offer::Any {
        return profile_names(env);
    }
    let Ok(app) = super::App::load(env.clone(), Ui::new(0, true)) else {
        return Vec::new();
    };
    let r = crate::profile::Resolver::new(&app.files);
    let mut req = app.request("", &crate::cli::ResolveArgs::default());
    // `--min-remaining` plays no part in whether a profile can run.
    req.min_remaining_flag = Some(0);
    let mut out = Vec::new();
    for name in r.profile_names() {
        req.profile.clear();
        req.profile.push_str(name);
        let runs = r
            .resolve_quiet(&req)
            .is_ok_and(|p| p.serial.is_some() || p.is_role());
        if runs || (offer == Offer::Explainable && r.config.contains(name)) {
            out.push(name.to_string());
        }
    }
    out
}

fn complete_profile(current: &OsStr, offer: Offer) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    offered_names(&Env::from_process(), offer)
        .into_iter()
        .filter(|n| n.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// `Cli::command()` with profile completers attached.
pub fn command() -> clap::Command {
    let offering = |offer: Offer| {
        move || ArgValueCompleter::new(move |c: &OsStr| complete_profile(c, offer))
    };
    let profile = offering(Offer::Runnable);
    let any = offering(Offer::Any);
    // `mut_arg` moves the argument last; the trailing COMMAND must stay after
    // PROFILE, so it is moved last again.
    let mut cmd = Cli::command()
        .mut_arg("profile_pos", |a| a.add(profile()))
        .mut_arg("command", |a| a)
        .mut_arg("profile", |a| a.add(profile()));
    for sub in ["exec", "export", "credential-process", "explain", "login"] {
        let profile = offering(if sub == "explain" {
            Offer::Explainable
        } else {
            Offer::Runnable
        });
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
        s.mut_arg("profile", |a| a.add(any()))
            .mut_arg("source_profile", |a| a.add(any()))
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
