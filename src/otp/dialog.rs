//! Prompts without a terminal (SPEC §9.3, issue 23): which prompt a run uses
//! ([`choose`]), and the desktop dialog (zenity, kdialog, osascript) that asks
//! for the code when there is no terminal to ask on.
//!
//! `auto` (the default) keeps today's behaviour where there is a terminal:
//! the controlling terminal when mfa-exec is in its foreground process
//! group. Otherwise a dialog, when a display is there (`DISPLAY` or
//! `WAYLAND_DISPLAY`; always on macOS) and the program exists (zenity, then
//! kdialog; osascript on macOS); otherwise today's error, whose hint now also
//! names `mfa_exec_prompt`.
//!
//! A dialog keeps the rules of the terminal prompt: 6 digits checked
//! locally, [`super::TRIES`] answers, the one-code guard (SPEC §8.5), the
//! re-ask after STS rejected a code; what was wrong is the first line of the
//! next dialog's text. Cancel or closing the window is the Ctrl-C outcome
//! (nothing sent, nothing written; exit 130, or 125 in credential-process):
//! the program's "cancelled" status (1; osascript's error -128), or a
//! success with no output at all (zenity 3.44 exits 0 and prints nothing
//! when its window is destroyed, where OK prints at least a newline).
//!
//! Decisions:
//! - The program is run directly (no shell), in a process group of its own
//!   (a timeout or a signal ending mfa-exec stops all of it), with stdin
//!   /dev/null and an environment without any `AWS_*` variable or
//!   `MFA_EXEC_TOKEN_CODE` (it needs the display's variables, not ours):
//!   mfa-exec's own environment, which `Env` snapshots and nothing changes,
//!   filtered when the dialog starts (no copy of it on the cached path).
//! - Its answer is read with a size cap ([`ANSWER_MAX`]); more than that, a
//!   second line, control characters or invalid UTF-8 is not an answer but a
//!   misbehaving program: one error, exit 125, no code claimed.
//! - Each dialog is closed after `mfa_exec_prompt_timeout` (default 120 s),
//!   and at the end of the run's budget (credential-process: 55 s in all).
//! - The text goes as one argument, as it is: zenity's `--entry --text` shows
//!   it literally (3.44: `&amp;` shows as `&amp;`, seen under Xvfb), and
//!   osascript gets it through `argv`, never pasted into the script.
//!
//! Never reads the terminal, and never sends or stores a code.

use super::process::{
    closing, collect, kill_group, stop_job, unhold_in_child, HeldSignals, Registered, SignalRelay,
};
use super::{normalize, CodeSource, TRIES};
use crate::env::Env;
use crate::error::{exit, fail, Fail};
use crate::profile::{Origin, PromptMode};
use crate::used_codes::Claim;
use anyhow::Result;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The dialog's title (what a person, or `xdotool search --name`, finds).
pub const TITLE: &str = "mfa-exec";
/// At most this much of the dialog's answer is kept; more is garbage.
pub const ANSWER_MAX: usize = 4096;
/// At most this much of its stderr is kept, for the error of a failed run.
const STDERR_MAX: usize = 4096;

/// A dialog program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Zenity,
    Kdialog,
    Osascript,
}

impl Program {
    pub fn name(self) -> &'static str {
        match self {
            Program::Zenity => "zenity",
            Program::Kdialog => "kdialog",
            Program::Osascript => "osascript",
        }
    }

    /// The arguments that open a hidden-entry dialog showing `text`.
    pub fn args(self, text: &str) -> Vec<String> {
        let s = |v: &str| v.to_string();
        match self {
            Program::Zenity => vec![
                s("--entry"),
                s("--hide-text"),
                s("--title"),
                s(TITLE),
                s("--text"),
                s(text),
            ],
            Program::Kdialog => vec![s("--title"), s(TITLE), s("--password"), s(text)],
            Program::Osascript => vec![
                s("-e"),
                s("on run argv"),
                s("-e"),
                format!(
                    "display dialog (item 1 of argv) default answer \"\" with hidden answer with title \"{TITLE}\""
                ),
                s("-e"),
                s("return text returned of result"),
                s("-e"),
                s("end run"),
                s(text),
            ],
        }
    }

    /// True when a failed run means the person cancelled or closed it.
    fn cancelled(self, code: Option<i32>, stderr: &str) -> bool {
        match self {
            Program::Zenity | Program::Kdialog => code == Some(1),
            // "execution error: User canceled. (-128)"
            Program::Osascript => code == Some(1) && stderr.contains("(-128)"),
        }
    }
}

/// What the desktop offers: the display and where programs are found. Two
/// lookups: it is made on every run, the cached ones included.
#[derive(Debug, Clone, Default)]
pub struct Desktop {
    /// `DISPLAY` or `WAYLAND_DISPLAY` (set, not empty), by name; on macOS
    /// the desktop is always there.
    pub display: Option<&'static str>,
    pub path: Option<OsString>,
}

impl Desktop {
    pub fn from_env(env: &Env) -> Desktop {
        let set = |k: &str| env.get_os(k).is_some_and(|v| !v.is_empty());
        let display = if cfg!(target_os = "macos") {
            Some("macOS")
        } else if set("WAYLAND_DISPLAY") {
            Some("WAYLAND_DISPLAY")
        } else if set("DISPLAY") {
            Some("DISPLAY")
        } else {
            None
        };
        Desktop {
            display,
            path: env.get_os("PATH").map(|p| p.to_os_string()),
        }
    }

    /// `program` on `PATH`.
    fn find(&self, program: Program) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        which::which_in(program.name(), Some(path), cwd).ok()
    }

    /// The programs `auto` tries, in order.
    fn candidates() -> &'static [Program] {
        if cfg!(target_os = "macos") {
            &[Program::Osascript]
        } else {
            &[Program::Zenity, Program::Kdialog]
        }
    }
}

/// True for a variable a dialog may see: every one but `AWS_*` (keys,
/// session tokens, the container credentials token) and `MFA_EXEC_TOKEN_CODE`.
pub fn passes(name: &std::ffi::OsStr) -> bool {
    let k = name.as_encoded_bytes();
    !k.starts_with(b"AWS_") && k != b"MFA_EXEC_TOKEN_CODE"
}

/// The controlling terminal as the prompt sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tty {
    None,
    Background,
    Foreground,
}

fn tty_state() -> Tty {
    match OpenOptions::new().read(true).write(true).open("/dev/tty") {
        Err(_) => Tty::None,
        Ok(t) if crate::ui::in_foreground(&t) => Tty::Foreground,
        Ok(_) => Tty::Background,
    }
}

/// The prompt a run uses.
#[derive(Debug)]
pub enum Choice {
    Terminal,
    Dialog(Program, PathBuf),
    /// No way to ask: the error to give.
    Unavailable(Fail),
}

/// Which prompt to use for `mode` (from `origin`), and why (for `explain`).
pub fn choose(
    mode: PromptMode,
    origin: &Origin,
    desktop: &Desktop,
    profile: &str,
) -> (Choice, String) {
    let explicit = |program: Program| -> (Choice, String) {
        let setting = format!("mfa_exec_prompt is {} ({origin})", program.name());
        if program != Program::Osascript && desktop.display.is_none() {
            return (
                Choice::Unavailable(
                    fail(format!(
                        "cannot ask for the MFA code of profile '{profile}' in a {} dialog: there is no display (DISPLAY and WAYLAND_DISPLAY are not set); nothing was sent",
                        program.name()
                    ))
                    .hint(format!("{setting}; run it on the desktop, or set mfa_exec_prompt = auto")),
                ),
                "none: no display (DISPLAY and WAYLAND_DISPLAY are not set)".into(),
            );
        }
        match desktop.find(program) {
            Some(path) => {
                let why = format!("{} dialog ({})", program.name(), path.display());
                (Choice::Dialog(program, path), why)
            }
            None => (
                Choice::Unavailable(
                    fail(format!(
                        "cannot ask for the MFA code of profile '{profile}': {} is not on PATH; nothing was sent",
                        program.name()
                    ))
                    .hint(format!("{setting}; install it, or set mfa_exec_prompt = auto")),
                ),
                format!("none: {} is not on PATH", program.name()),
            ),
        }
    };
    match mode {
        PromptMode::Terminal => (
            Choice::Terminal,
            "the terminal (only when mfa-exec is in its foreground)".into(),
        ),
        PromptMode::Zenity => explicit(Program::Zenity),
        PromptMode::Kdialog => explicit(Program::Kdialog),
        PromptMode::Osascript => explicit(Program::Osascript),
        PromptMode::Auto => {
            let tty = tty_state();
            if tty == Tty::Foreground {
                return (
                    Choice::Terminal,
                    "the terminal (mfa-exec is in its foreground)".into(),
                );
            }
            let no_tty = match tty {
                Tty::None => "no terminal",
                _ => "not in the terminal's foreground",
            };
            let unavailable = |why: String| -> (Choice, String) {
                let base = match tty {
                    Tty::None => super::prompt::no_terminal(profile),
                    _ => super::prompt::background(profile),
                };
                let hint = base.hint.clone().unwrap_or_default();
                let values: Vec<&str> = std::iter::once("auto")
                    .chain(Desktop::candidates().iter().map(|p| p.name()))
                    .collect();
                let f = base.hint(format!(
                    "{hint}; a desktop dialog (mfa_exec_prompt = {}) {why}",
                    values.join(", ")
                ));
                let why = format!("none: {no_tty}, and a desktop dialog {why}");
                (Choice::Unavailable(f), why)
            };
            let Some(display) = desktop.display else {
                return unavailable("needs DISPLAY or WAYLAND_DISPLAY, and neither is set".into());
            };
            for &p in Desktop::candidates() {
                if let Some(path) = desktop.find(p) {
                    let why = match display {
                        "macOS" => format!(
                            "{} dialog ({}): {no_tty}, on the macOS desktop",
                            p.name(),
                            path.display()
                        ),
                        var => format!(
                            "{} dialog ({}): {no_tty}, {var} is set",
                            p.name(),
                            path.display()
                        ),
                    };
                    return (Choice::Dialog(p, path), why);
                }
            }
            let names: Vec<&str> = Desktop::candidates().iter().map(|p| p.name()).collect();
            unavailable(format!(
                "needs {} on PATH, and none is there",
                names.join(" or ")
            ))
        }
    }
}

/// The dialog a `--server` renewal may open (SPEC §9.2 with §9.3): never the
/// terminal, which is the command's while it runs, whatever `auto` would pick
/// in the foreground. `terminal` opens none; `auto` the first program found
/// when a display is there; a named program when it is there.
pub fn for_renewal(mode: PromptMode, desktop: &Desktop) -> Option<(Program, PathBuf)> {
    let usable = |p: Program| {
        if p != Program::Osascript && desktop.display.is_none() {
            return None;
        }
        desktop.find(p).map(|path| (p, path))
    };
    match mode {
        PromptMode::Terminal => None,
        PromptMode::Zenity => usable(Program::Zenity),
        PromptMode::Kdialog => usable(Program::Kdialog),
        PromptMode::Osascript => usable(Program::Osascript),
        PromptMode::Auto => {
            desktop.display?;
            Desktop::candidates().iter().find_map(|&p| usable(p))
        }
    }
}

/// How one dialog ended.
enum Outcome {
    Answer(String),
    Cancelled,
}

impl CodeSource {
    /// Asks in dialogs, up to three times for a well-formed code not sent
    /// before (`retry`: STS rejected the previous one).
    pub(super) fn dialog_code(
        &self,
        program: Program,
        path: &Path,
        retry: bool,
        claim: &dyn Fn(&str) -> Claim,
    ) -> Result<String> {
        let ask = format!("MFA code for {} ({}):", self.profile, self.serial);
        let base = match &self.renewal {
            Some(context) => format!("{context}\n\n{ask}"),
            None => ask,
        };
        let mut note = retry.then(|| {
            "STS rejected that code (wrong or already used); wait for the next one".to_string()
        });
        let mut reused = false;
        for _ in 0..TRIES {
            let text = match &note {
                Some(n) => format!("{n}\n\n{base}"),
                None => base.clone(),
            };
            let answer = match self.run_dialog(program, path, &text)? {
                Outcome::Answer(a) => a,
                Outcome::Cancelled => {
                    self.declined.set(true);
                    return Err(fail(format!(
                        "the {} dialog for the MFA code of profile '{}' was cancelled; nothing was sent",
                        program.name(),
                        self.profile
                    ))
                    .code(self.cancel_code)
                    .into());
                }
            };
            let Some(code) = normalize(&answer) else {
                reused = false;
                note = Some("a code is exactly 6 digits; try again".into());
                continue;
            };
            match claim(&code) {
                Claim::Send => return Ok(code),
                Claim::Used(r) => {
                    reused = true;
                    note = Some(format!("that code was {}; not sent", r.describe()));
                }
            }
        }
        if reused {
            return Err(fail(format!(
                "no new MFA code after {TRIES} tries (that code was already used); nothing was sent"
            ))
            .hint("wait for the next code and run the command again")
            .into());
        }
        Err(fail(format!(
            "no 6-digit MFA code after {TRIES} tries; nothing was sent"
        ))
        .into())
    }

    /// Opens one dialog and waits for it, within the prompt timeout and the
    /// run's budget.
    fn run_dialog(&self, program: Program, path: &Path, text: &str) -> Result<Outcome> {
        let own = Instant::now() + self.prompt_timeout;
        let (deadline, budget) = match self.deadline {
            Some(d) if d < own => (d, true),
            _ => (own, false),
        };
        let shown = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .ceil() as u64;
        let name = program.name();
        if closing() {
            return Ok(Outcome::Cancelled);
        }
        self.shown.set(true);
        let mut c = Command::new(path);
        c.args(program.args(text))
            .env_clear()
            .envs(std::env::vars_os().filter(|(k, _)| passes(k)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: only async-signal-safe calls (sigprocmask) in the child.
        unsafe {
            c.pre_exec(|| {
                unhold_in_child();
                Ok(())
            });
        }
        // Held until the relay is armed (see `HeldSignals`).
        let held = HeldSignals::new();
        let mut child = c.spawn().map_err(|e| {
            fail(format!(
                "cannot run {name} ({}) to ask for the MFA code: {}; nothing was sent",
                path.display(),
                crate::store::io_reason(&e)
            ))
        })?;
        let _relay = SignalRelay::arm(child.id(), None);
        drop(held);
        let registered = Registered::new(child.id());
        let stderr = read_capped(child.stderr.take().expect("piped"));
        let stdout = child.stdout.take().expect("piped");
        let left = deadline.saturating_duration_since(Instant::now());
        let collected = match collect(&mut child, stdout, left, ANSWER_MAX + 1) {
            Ok(c) => c,
            Err(e) => {
                stop_job(&mut child);
                return Err(e);
            }
        };
        drop(registered);
        if closing() {
            // The command it was opened for has ended (see `close_jobs`).
            stop_job(&mut child);
            return Ok(Outcome::Cancelled);
        }
        let Some((status, out, held_open)) = collected else {
            stop_job(&mut child);
            self.declined.set(true);
            let hint = if budget {
                format!(
                    "the caller of credential-process waits 60 s at most; run 'mfa-exec {}' in a terminal first",
                    self.profile
                )
            } else {
                format!(
                    "answer it within mfa_exec_prompt_timeout ({}s), or raise it",
                    self.prompt_timeout.as_secs()
                )
            };
            return Err(fail(format!(
                "the {name} dialog for the MFA code of profile '{}' was not answered within {shown}s; it was closed and nothing was sent",
                self.profile
            ))
            .hint(hint)
            .into());
        };
        if held_open {
            kill_group(child.id());
        }
        let err_text = stderr.finish();
        if !status.success() {
            if program.cancelled(status.code(), &err_text) {
                return Ok(Outcome::Cancelled);
            }
            let why = match (status.code(), status.signal()) {
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(s)) => format!("killed by signal {s}"),
                _ => status.to_string(),
            };
            let said = first_line(&err_text)
                .map(|l| format!(": {l}"))
                .unwrap_or_default();
            return Err(fail(format!(
                "{name} ({}) failed ({why}){said}; nothing was sent",
                path.display()
            ))
            .hint("pass --token-code / MFA_EXEC_TOKEN_CODE, or set mfa_exec_prompt to another program")
            .into());
        }
        // OK prints the entry and a newline, even when it is empty; nothing
        // at all is a window that went away unanswered (destroyed, its
        // display gone): closed, as Cancel.
        if out.is_empty() {
            return Ok(Outcome::Cancelled);
        }
        match answer_of(&out) {
            Some(a) => Ok(Outcome::Answer(a)),
            None => Err(fail(format!(
                "{name} ({}) printed something that is not an answer ({} bytes); nothing was sent",
                path.display(),
                if out.len() > ANSWER_MAX {
                    format!("over {ANSWER_MAX}")
                } else {
                    out.len().to_string()
                }
            ))
            .hint("a dialog prints the typed text on one line; set mfa_exec_prompt to another program")
            .into()),
        }
    }
}

/// The typed text: one line of UTF-8 without control characters (the final
/// newline dropped), at most [`ANSWER_MAX`] bytes; `None` for anything else.
fn answer_of(out: &[u8]) -> Option<String> {
    if out.len() > ANSWER_MAX {
        return None;
    }
    let text = std::str::from_utf8(out).ok()?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    (!line.chars().any(char::is_control)).then(|| line.to_string())
}

/// The first non-empty line of `text`, at most 200 characters.
fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().filter(|c| !c.is_control()).take(200).collect())
}

/// Reads a pipe to its end on a thread of its own, keeping the first
/// [`STDERR_MAX`] bytes; [`StderrReader::finish`] waits a moment for it.
struct StderrReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
}

fn read_capped(mut r: impl Read + Send + 'static) -> StderrReader {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let room = STDERR_MAX.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(kept);
    });
    StderrReader { rx }
}

impl StderrReader {
    /// What was read, once the pipe closed (or after a short grace: a
    /// descendant may still hold it).
    fn finish(self) -> String {
        let bytes = self
            .rx
            .recv_timeout(Duration::from_millis(200))
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The exit code a cancelled dialog gives: the Ctrl-C outcome.
pub fn cancel_code(credential_process: bool) -> i32 {
    if credential_process {
        exit::FAILURE
    } else {
        exit::INTERRUPTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(answer_of(b"123456\n").as_deref(), Some("123456"));
        assert_eq!(answer_of(b"12 34\n").as_deref(), Some("12 34"));
        assert_eq!(answer_of(b"").as_deref(), Some(""));
        assert_eq!(answer_of(b"123456\n654321\n"), None);
        assert_eq!(answer_of(b"\xff\xfe\n"), None);
        assert_eq!(answer_of(b"12\x1b[0m\n"), None);
        assert_eq!(answer_of(&vec![b'1'; ANSWER_MAX + 1]), None);
    }

    #[test]
    fn argv() {
        assert_eq!(
            Program::Zenity.args("a <b> & c"),
            [
                "--entry",
                "--hide-text",
                "--title",
                "mfa-exec",
                "--text",
                "a <b> & c"
            ]
        );
        assert_eq!(
            Program::Kdialog.args("a <b>"),
            ["--title", "mfa-exec", "--password", "a <b>"]
        );
        let o = Program::Osascript.args("say \"x\"");
        assert_eq!(o.last().map(String::as_str), Some("say \"x\""));
        assert!(!o[..o.len() - 1].iter().any(|a| a.contains("say")));
    }

    #[test]
    fn environment_holds_no_secret() {
        use std::ffi::OsStr;
        for secret in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "MFA_EXEC_TOKEN_CODE",
        ] {
            assert!(!passes(OsStr::new(secret)), "{secret}");
        }
        for kept in [
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "XAUTHORITY",
            "HOME",
            "MFA_EXEC_PROFILE",
        ] {
            assert!(passes(OsStr::new(kept)), "{kept}");
        }
    }

    #[test]
    fn display_variables() {
        let d = |pairs: &[(&str, &str)]| Desktop::from_env(&Env::from_pairs(pairs, None)).display;
        if cfg!(target_os = "macos") {
            assert_eq!(d(&[]), Some("macOS"));
            return;
        }
        assert_eq!(d(&[]), None);
        assert_eq!(d(&[("DISPLAY", "")]), None);
        assert_eq!(d(&[("DISPLAY", ":0")]), Some("DISPLAY"));
        assert_eq!(
            d(&[("DISPLAY", ":0"), ("WAYLAND_DISPLAY", "wayland-0")]),
            Some("WAYLAND_DISPLAY")
        );
        assert_eq!(
            d(&[("DISPLAY", ":0"), ("WAYLAND_DISPLAY", "")]),
            Some("DISPLAY")
        );
    }

    #[test]
    fn no_display_no_dialog() {
        if cfg!(target_os = "macos") {
            return;
        }
        let d = Desktop {
            display: None,
            path: Some("/usr/bin:/bin".into()),
        };
        let (c, why) = choose(PromptMode::Zenity, &Origin::Flag("--prompt"), &d, "test");
        let Choice::Unavailable(f) = c else {
            panic!("{c:?}")
        };
        assert!(f.message.contains("there is no display"), "{}", f.message);
        assert!(why.starts_with("none: no display"), "{why}");
    }
}
