//! The one-time code (SPEC §3): where it comes from, how it is checked, and the
//! prompt on the controlling terminal.
//!
//! Sources, first that applies: `--token-code`, `MFA_EXEC_TOKEN_CODE`, the
//! profile's `mfa_process`, then a prompt. Only the prompt is asked again when
//! STS rejects a code; a code from a flag, variable or process is not retried
//! blindly. The prompt reads and writes `/dev/tty` (never stdin/stdout, which
//! belong to the wrapped command), and only a process in the terminal's
//! foreground process group prompts: a background job fails at once instead of
//! stopping on SIGTTIN.
//!
//! Never calls STS and never stores a code: what was sent is `used_codes`'s
//! business, the retry after a rejected code is `flow`'s.

use crate::error::fail;
use crate::profile::{Fact, PromptMode};
use crate::ui::Ui;
use crate::used_codes::Claim;
use anyhow::Result;
use std::time::{Duration, Instant};

pub mod dialog;
mod process;
pub use process::{close_jobs, serving_signals};
mod prompt;

use dialog::{Choice, Desktop};
use prompt::prompt;

/// Local re-asks of a malformed code, and re-prompts after STS rejects one.
pub const TRIES: usize = 3;
/// Default `mfa_process` timeout.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Exactly six ASCII digits after trimming, kept as a string (`012345`); the
/// spaced form authenticator apps display (`123 456`, one space in the middle)
/// is the same code.
pub fn normalize(code: &str) -> Option<String> {
    let c = code.trim();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if c.len() == 6 && digits(c) {
        return Some(c.to_string());
    }
    match c.split_once(' ') {
        Some((a, b)) if a.len() == 3 && b.len() == 3 && digits(a) && digits(b) => {
            Some(format!("{a}{b}"))
        }
        _ => None,
    }
}

/// A code given on the command line or in `MFA_EXEC_TOKEN_CODE` is checked
/// for shape on every run, before the cache is looked at (issue 25 item 5):
/// `mfa-exec test -t 12345 -- true` fails even while a session is cached, so a
/// typo is seen the first time, not on the next refresh.
pub fn check_given(flag: Option<&str>, env: Option<&str>) -> Result<()> {
    let (value, what) = match (flag, env) {
        (Some(f), _) => (f, "--token-code"),
        (None, Some(e)) => (e, "MFA_EXEC_TOKEN_CODE"),
        (None, None) => return Ok(()),
    };
    match normalize(value) {
        Some(_) => Ok(()),
        None => Err(malformed(what).into()),
    }
}

fn malformed(what: &str) -> crate::error::Fail {
    fail(format!("the MFA code from {what} is not 6 digits"))
        .hint("a code is exactly 6 digits, such as 012345")
}

/// The code in `mfa_process` output: all of it when it is 6 digits, else its last
/// whitespace-separated token of exactly 6 digits.
pub fn from_process_output(out: &str) -> Option<String> {
    normalize(out).or_else(|| out.split_whitespace().rev().find_map(normalize))
}

/// How the error of a code that was needed but could not be asked for begins.
const NO_INPUT_PREFIX: &str = "an MFA code is needed for";

/// True when `err` is [`CodeSource::get`]'s refusal to prompt (`no_input`):
/// a renewal of `--server` then tells the person instead (`serve::renew`).
pub fn needed_input(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<crate::error::Fail>()
            .is_some_and(|f| f.message.starts_with(NO_INPUT_PREFIX))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOrigin {
    Flag,
    Env,
    Process,
    Prompt,
}

/// Profiles whose code is being fetched, comma-separated, passed to
/// `mfa_process`: `mfa-exec credential-process P` refuses to run under it for a
/// P it lists (an `mfa_process` that asks mfa-exec for the same session loops).
pub const SERVING_VAR: &str = "MFA_EXEC_CREDENTIAL_PROCESS";

/// Everything needed to obtain a code for one profile and device.
pub struct CodeSource {
    pub profile: String,
    pub serial: String,
    pub flag: Option<String>,
    pub env: Option<String>,
    pub process: Option<Fact<String>>,
    pub no_input: bool,
    pub process_timeout: Duration,
    /// The end of the run's whole budget (credential-process), if any: the
    /// process is stopped then even when its own timeout is longer.
    pub deadline: Option<Instant>,
    /// The value of [`SERVING_VAR`] for `mfa_process`.
    pub serving: String,
    /// How a typed code is asked for (SPEC §9.3), and where that came from.
    pub prompt: Fact<PromptMode>,
    /// How long one desktop dialog stays open.
    pub prompt_timeout: Duration,
    /// The display, `PATH` and the environment a dialog gets.
    pub desktop: Desktop,
    /// The exit code of a cancelled dialog: 130 (Ctrl-C), 125 in
    /// credential-process.
    pub cancel_code: i32,
    /// A `--server` renewal's (SPEC §9.2): the first line of the dialog it may
    /// open (which session ends when). A renewal never asks on the terminal,
    /// the command's, but a desktop dialog when one can open
    /// ([`dialog::for_renewal`]), then `no_input` rules.
    pub renewal: Option<String>,
    /// Set when a dialog was cancelled, closed or left unanswered.
    pub declined: std::cell::Cell<bool>,
    /// Set when a dialog was opened (or its program tried).
    pub shown: std::cell::Cell<bool>,
}

impl CodeSource {
    /// Which source applies.
    pub fn origin(&self) -> CodeOrigin {
        if self.flag.is_some() {
            CodeOrigin::Flag
        } else if self.env.is_some() {
            CodeOrigin::Env
        } else if self.process.is_some() {
            CodeOrigin::Process
        } else {
            CodeOrigin::Prompt
        }
    }

    /// Obtains a code that may be sent. `retry` is true when STS rejected the
    /// previous one. `claim` is the one-code guard (SPEC §8.5): a code it
    /// reports as already sent is never returned. At the prompt the person is
    /// told and asked again; from `mfa_process` the next 30-second step is
    /// awaited (a countdown on the terminal) and the process run again, all
    /// within its timeout; a code from the flag or the variable is refused.
    pub fn get(&self, retry: bool, claim: &dyn Fn(&str) -> Claim, ui: &Ui) -> Result<String> {
        let bad = malformed;
        let given = |value: &Option<String>, what: &str| -> Result<String> {
            let code = normalize(value.as_deref().unwrap_or("")).ok_or_else(|| bad(what))?;
            match claim(&code) {
                Claim::Send => Ok(code),
                Claim::Used(r) => Err(fail(format!(
                    "the MFA code from {what} was already used {} for {}; nothing was sent",
                    r.ago(),
                    self.serial
                ))
                .hint(format!(
                    "AWS accepts each code once; pass the next code, which appears in {}",
                    r.next()
                ))
                .into()),
            }
        };
        match self.origin() {
            CodeOrigin::Flag => given(&self.flag, "--token-code"),
            CodeOrigin::Env => given(&self.env, "MFA_EXEC_TOKEN_CODE"),
            CodeOrigin::Process => self.process_code(claim, ui),
            CodeOrigin::Prompt => {
                if self.renewal.is_some() {
                    if let Some((program, path)) =
                        dialog::for_renewal(self.prompt.value, &self.desktop)
                    {
                        return self.dialog_code(program, &path, retry, claim);
                    }
                }
                if self.no_input {
                    return Err(fail(format!(
                        "{NO_INPUT_PREFIX} {} and --no-input forbids asking",
                        self.profile
                    ))
                    .hint("pass --token-code or set MFA_EXEC_TOKEN_CODE")
                    .into());
                }
                let (choice, _) = dialog::choose(
                    self.prompt.value,
                    &self.prompt.origin,
                    &self.desktop,
                    &self.profile,
                );
                match choice {
                    Choice::Terminal => {
                        prompt(&self.profile, &self.serial, retry, claim, self.deadline)
                    }
                    Choice::Dialog(program, path) => {
                        ui.info(&format!(
                            "asking for the MFA code in a {} dialog ({})",
                            program.name(),
                            path.display()
                        ));
                        self.dialog_code(program, &path, retry, claim)
                    }
                    Choice::Unavailable(f) => Err(f.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(normalize(" 012345\n").as_deref(), Some("012345"));
        assert_eq!(normalize("12345"), None);
        assert_eq!(normalize("1234567"), None);
        assert_eq!(normalize("12a456"), None);
        assert_eq!(normalize(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize("123  456"), None);
        assert_eq!(normalize("12 3456"), None);
        assert_eq!(normalize("123\t456"), None);
        assert_eq!(normalize("١٢٣٤٥٦"), None); // Arabic-Indic digits
        assert_eq!(normalize("１２３４５６"), None); // full-width digits
    }

    #[test]
    fn process_output() {
        assert_eq!(from_process_output("654321\n").as_deref(), Some("654321"));
        assert_eq!(
            from_process_output("work 123456789012 654321").as_deref(),
            Some("654321")
        );
        assert_eq!(
            from_process_output("code: 111111 then 222222 done").as_deref(),
            Some("222222")
        );
        assert_eq!(from_process_output("garbage"), None);
        assert_eq!(from_process_output(""), None);
    }
}
