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
    let offering =
        |offer: Offer| move || ArgValueCompleter::new(move |c: &OsStr| complete_profile(c, offer));
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
    let script = String::from_utf8(buf)?;
    Ok(match shell {
        Shell::Bash => after_dashes(
            script,
            "-F _clap_complete_mfa_exec mfa-exec",
            BASH,
            "-F _mfa_exec_complete mfa-exec",
        ),
        Shell::Zsh => after_dashes(
            script,
            "compdef _clap_dynamic_completer_mfa_exec mfa-exec",
            ZSH,
            "compdef _mfa_exec_complete mfa-exec",
        ),
        Shell::Fish => {
            let line = script
                .lines()
                .find(|l| l.starts_with("complete "))
                .unwrap_or("")
                .to_string();
            after_dashes(script, &line, FISH, "complete --keep-order --exclusive --command mfa-exec --arguments \"(__mfa_exec_complete)\"")
        }
        Shell::Powershell | Shell::Elvish => script,
    })
}

/// clap_complete offers nothing after `--` (issue 25 item 2): there the
/// wrapped command is completed as the shell completes it when typed alone:
/// command names at its first word, then its own completion (files when it
/// has none). `register` (clap's registration) is replaced by `ours`, with
/// `function` (which calls clap's completer before any `--`) before it.
fn after_dashes(script: String, register: &str, function: &str, ours: &str) -> String {
    debug_assert!(
        !register.is_empty() && script.contains(register),
        "clap_complete's registration changed"
    );
    let at = script.find(register).unwrap_or(script.len());
    // The registration line (bash has two, in an `if`): the function goes
    // before the line that holds the first.
    let line_start = script[..at]
        .rfind("\nif ")
        .map(|i| i + 1)
        .unwrap_or_else(|| script[..at].rfind('\n').map(|i| i + 1).unwrap_or(0));
    let mut out = String::with_capacity(script.len() + function.len());
    out.push_str(&script[..line_start]);
    out.push_str(function);
    out.push_str(&script[line_start..].replace(register, ours));
    out
}

/// After `--`: bash-completion's `_command_offset` (the wrapped command's own
/// completion, as `sudo` and `env` have it), else command names at the first
/// word and file names after.
const BASH: &str = r#"_mfa_exec_complete() {
    local i
    for (( i = 1; i < COMP_CWORD; i++ )); do
        if [[ "${COMP_WORDS[i]}" == "--" ]]; then
            compopt +o nospace 2> /dev/null
            if declare -F _command_offset > /dev/null; then
                _command_offset $((i + 1))
            elif (( i + 1 == COMP_CWORD )); then
                COMPREPLY=( $(compgen -c -- "${COMP_WORDS[COMP_CWORD]}") )
            else
                compopt -o filenames 2> /dev/null
                COMPREPLY=( $(compgen -f -- "${COMP_WORDS[COMP_CWORD]}") )
            fi
            return 0
        fi
    done
    _clap_complete_mfa_exec "$@"
}
"#;

/// After `--`: zsh's `_normal` on the words that follow, as `_precommand`
/// does for `nice` or `env`.
const ZSH: &str = r#"function _mfa_exec_complete() {
    local i
    for (( i = 2; i < CURRENT; i++ )); do
        if [[ "${words[i]}" == "--" ]]; then
            shift $i words
            (( CURRENT -= i ))
            _normal
            return
        fi
    done
    _clap_dynamic_completer_mfa_exec "$@"
}

"#;

/// After `--`: fish's own completion of the words that follow.
const FISH: &str = r#"function __mfa_exec_complete
    set -l tokens (commandline --current-process --tokenize --cut-at-cursor)
    set -l command
    set -l after 0
    for t in $tokens[2..-1]
        if test $after = 1
            set -a command (string escape -- $t)
        else if test "$t" = "--"
            set after 1
        end
    end
    if test $after = 1
        complete -C (string join -- ' ' $command (commandline --current-token))
        return
    end
    _MFA_EXEC_COMPLETE=fish mfa-exec -- $tokens (commandline --current-token)
end
"#;

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
