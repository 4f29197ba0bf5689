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

use crate::error::{exit, fail, Fail};
use crate::profile::Fact;
use crate::ui::Ui;
use crate::used_codes::{Claim, Reuse};
use anyhow::{anyhow, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Local re-asks of a malformed code, and re-prompts after STS rejects one.
pub const TRIES: usize = 3;
/// Default `mfa_process` timeout.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Exactly six ASCII digits after trimming, kept as a string (`012345`).
pub fn normalize(code: &str) -> Option<String> {
    let c = code.trim();
    (c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())).then(|| c.to_string())
}

/// The code in `mfa_process` output: all of it when it is 6 digits, else its last
/// whitespace-separated token of exactly 6 digits.
pub fn from_process_output(out: &str) -> Option<String> {
    normalize(out).or_else(|| out.split_whitespace().rev().find_map(normalize))
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
        let bad = |what: &str| {
            fail(format!("the MFA code from {what} is not 6 digits"))
                .hint("a code is exactly 6 digits, such as 012345")
        };
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
                if self.no_input {
                    return Err(fail(format!(
                        "an MFA code is needed for {} and --no-input forbids asking",
                        self.profile
                    ))
                    .hint("pass --token-code or set MFA_EXEC_TOKEN_CODE")
                    .into());
                }
                prompt(&self.profile, &self.serial, retry, claim, self.deadline)
            }
        }
    }

    /// Runs `mfa_process` until it gives a code not sent before, waiting for
    /// the next step between runs; the whole bounded by its timeout.
    fn process_code(&self, claim: &dyn Fn(&str) -> Claim, ui: &Ui) -> Result<String> {
        let origin = &self.process.as_ref().expect("origin is Process").origin;
        let own = Instant::now() + self.process_timeout;
        let deadline = match self.deadline {
            Some(d) if d < own => d,
            _ => own,
        };
        // The limit named in messages: the configured timeout, or what was left
        // of the run's budget when that is shorter.
        let shown = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .ceil() as u64;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let code = self.run_process(left, shown)?;
            let r = match claim(&code) {
                Claim::Send => return Ok(code),
                Claim::Used(r) => r,
            };
            // A moment past the boundary, so the authenticator has moved on.
            let wait = Duration::from_millis(r.next_ms.max(0) as u64) + STEP_MARGIN;
            if Instant::now() + wait >= deadline {
                return Err(fail(format!(
                    "mfa_process ({origin}) gave a code already used {}, and the next code appears after its {}s timeout; nothing was sent",
                    r.ago(),
                    shown
                ))
                .hint(format!(
                    "run the command again in {}, or raise mfa_process_timeout",
                    r.next()
                ))
                .into());
            }
            countdown(&r, wait, ui);
        }
    }

    /// Runs `mfa_process` once, within `limit` (the message names the
    /// configured timeout).
    fn run_process(&self, limit: Duration, shown: u64) -> Result<String> {
        let cmd = self.process.as_ref().expect("origin is Process");
        let tty_in = OpenOptions::new().read(true).open("/dev/tty").ok();
        let tty_err = OpenOptions::new().write(true).open("/dev/tty").ok();
        // While it runs, `mfa_process` is a job of its own: its own process
        // group, so a timeout stops everything it started (a grandchild would
        // otherwise outlive it, holding the terminal or our stderr). When
        // mfa-exec holds the terminal (foreground), the terminal goes to that
        // group for the run, as a shell does for a job, so the process can still
        // read it (a YubiKey touch prompt, a password prompt of its own), and
        // comes back after; Ctrl-C then reaches the process, and mfa-exec exits
        // 130 after it.
        let hand_over = tty_in.as_ref().is_some_and(in_foreground);
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg(&cmd.value)
            .env("MFA_EXEC_PROFILE", &self.profile)
            .env("MFA_EXEC_MFA_SERIAL", &self.serial)
            .env(SERVING_VAR, &self.serving)
            .env_remove("MFA_EXEC_TOKEN_CODE")
            .stdout(Stdio::piped())
            .stdin(tty_in.map(Stdio::from).unwrap_or_else(Stdio::null))
            .stderr(tty_err.map(Stdio::from).unwrap_or_else(Stdio::inherit));
        {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
            if hand_over {
                // SAFETY: runs in the child between fork and exec, after
                // setpgid and the dup of the terminal to fd 0; only
                // async-signal-safe calls (sigprocmask, tcsetpgrp, getpgrp).
                unsafe {
                    c.pre_exec(|| {
                        give_terminal(0, libc::getpgrp());
                        Ok(())
                    });
                }
            }
        }
        // Takes the terminal back when this run ends, however it ends.
        let _back = hand_over
            .then(|| std::fs::File::open("/dev/tty").ok())
            .flatten()
            .map(TerminalBack);
        let mut child = c
            .spawn()
            .map_err(|e| anyhow!("cannot run mfa_process ({}): {e}", cmd.origin))?;
        let stdout = child.stdout.take().expect("piped");
        let (status, out, held_open) = match collect(&mut child, stdout, limit)? {
            Some(done) => done,
            None => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "mfa_process ({}) gave no code within {shown}s; it was stopped",
                    cmd.origin
                ))
                .into());
            }
        };
        if held_open {
            // Something it started outlived it and still holds its output (and
            // our stderr, which a caller such as boto3 reads to the end): stop
            // what is left of its process group. A daemon that closed its
            // output, or left the group, is not touched.
            kill_group(child.id());
        }
        if hand_over && status.signal() == Some(libc::SIGINT) {
            // Ctrl-C on the terminal it held: the person stopped the run, and
            // what it started in the background goes too.
            kill_group(child.id());
            return Err(fail(format!(
                "mfa_process ({}) was interrupted; nothing was sent",
                cmd.origin
            ))
            .code(exit::INTERRUPTED)
            .into());
        }
        if !status.success() {
            return Err(fail(format!("mfa_process ({}) failed ({status})", cmd.origin)).into());
        }
        let out = String::from_utf8_lossy(&out);
        from_process_output(&out).ok_or_else(|| {
            fail(format!(
                "mfa_process ({}) printed no 6-digit code",
                cmd.origin
            ))
            .hint("it must print the code alone, or as the last 6-digit word of its output")
            .into()
        })
    }
}

/// How far past a step boundary `mfa_process` is run again.
const STEP_MARGIN: Duration = Duration::from_millis(300);

/// Waits `wait` for the next code: a countdown on the terminal when mfa-exec
/// is in its foreground, else a `--verbose` note.
fn countdown(r: &Reuse, wait: Duration, ui: &Ui) {
    let tty = OpenOptions::new()
        .write(true)
        .open("/dev/tty")
        .ok()
        .filter(|t| !ui.quiet && in_foreground(t));
    let Some(mut tty) = tty else {
        ui.info(&format!(
            "the code from mfa_process was {}; waiting for it",
            r.describe()
        ));
        std::thread::sleep(wait);
        return;
    };
    let start = Instant::now();
    let end = start + wait;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let now = Reuse {
            ago_ms: r.ago_ms + start.elapsed().as_millis() as i64,
            next_ms: left.as_millis() as i64,
        };
        let _ = write!(
            tty,
            "\rmfa-exec: the code from mfa_process was {} ",
            now.describe()
        );
        let _ = tty.flush();
        // Wake when the seconds shown change.
        let left_ms = left.as_millis() as u64;
        if left_ms == 0 {
            std::thread::sleep(left);
            break;
        }
        std::thread::sleep(Duration::from_millis((left_ms - 1) % 1000 + 1));
    }
    let _ = writeln!(tty);
}

/// Is this process in the foreground process group of the terminal `t`?
fn in_foreground(t: &File) -> bool {
    let fd = t.as_raw_fd();
    // SAFETY: plain queries on a valid fd.
    unsafe { libc::tcgetpgrp(fd) == libc::getpgrp() }
}

/// How long output may still arrive after `mfa_process` exited: what it
/// printed before exiting is already in the pipe, so this only waits for a
/// descendant that still holds the pipe open (`(sleep 40 &); echo 123456`).
const EXIT_GRACE: Duration = Duration::from_millis(200);
/// At most this much of the output is kept (the rest is read and dropped, so the
/// process never blocks on a full pipe).
const OUTPUT_MAX: usize = 64 * 1024;

/// Waits for `child` and reads its stdout, all within `timeout`. `None` when
/// the child did not exit in time. Otherwise its status, its output, and
/// whether something else still held the output open after the grace.
fn collect(
    child: &mut std::process::Child,
    mut stdout: std::process::ChildStdout,
    timeout: Duration,
) -> Result<Option<(std::process::ExitStatus, Vec<u8>, bool)>> {
    let deadline = Instant::now() + timeout;
    let fd = stdout.as_raw_fd();
    // SAFETY: fcntl on a pipe fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut out = Vec::new();
    let mut eof = false;
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    loop {
        if !eof {
            eof = drain(&mut stdout, &mut out);
        }
        if exited.is_none() {
            if let Some(status) = child.try_wait()? {
                // Read once more: everything it wrote before exiting is in the pipe.
                exited = Some((status, Instant::now()));
                continue;
            }
        }
        let now = Instant::now();
        if let Some((status, at)) = exited {
            if eof || now >= at + EXIT_GRACE || now >= deadline {
                return Ok(Some((status, out, !eof)));
            }
        } else if now >= deadline {
            return Ok(None);
        }
        // Wake on output or after a short tick (to notice the exit).
        let tick = Duration::from_millis(if eof { 10 } else { 50 });
        let wait = tick.min(deadline.saturating_duration_since(now));
        if eof {
            std::thread::sleep(wait);
        } else {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut pfd, 1, wait.as_millis() as i32) };
        }
    }
}

/// Reads what is available without blocking; true at end of file.
fn drain(r: &mut impl Read, out: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                let room = OUTPUT_MAX.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Makes `pgid` the foreground process group of the terminal `fd`, with
/// SIGTTOU blocked: a process outside the foreground group may then do it
/// without being stopped (POSIX `tcsetpgrp`). Async-signal-safe.
fn give_terminal(fd: i32, pgid: libc::pid_t) {
    // SAFETY: sigprocmask and tcsetpgrp on plain values; the old mask is put back.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        libc::tcsetpgrp(fd, pgid);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

/// The terminal, given back to mfa-exec's process group when dropped.
struct TerminalBack(File);

impl Drop for TerminalBack {
    fn drop(&mut self) {
        // SAFETY: getpgrp has no preconditions.
        give_terminal(self.0.as_raw_fd(), unsafe { libc::getpgrp() });
    }
}

/// SIGKILL to the process group `pgid` (an `mfa_process` run in its own group).
fn kill_group(pgid: u32) {
    // SAFETY: plain kill(2); the group id cannot be reused while members remain.
    unsafe {
        libc::kill(-(pgid as i32), libc::SIGKILL);
    }
}

/// The terminal saved before prompting, restored by the SIGINT handler.
static mut SAVED_TTY: Option<(i32, libc::termios)> = None;

extern "C" fn on_sigint(_: libc::c_int) {
    // Async-signal-safe only: restore the terminal, end the line, exit 130.
    unsafe {
        let saved = std::ptr::addr_of!(SAVED_TTY).read();
        if let Some((fd, t)) = saved {
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            libc::write(fd, b"\n".as_ptr().cast(), 1);
        }
        libc::_exit(exit::INTERRUPTED);
    }
}

fn no_terminal(profile: &str) -> Fail {
    fail(format!(
        "no terminal to ask for the MFA code of profile '{profile}'"
    ))
    .hint(format!(
        "run 'mfa-exec {profile}' in a terminal once, or pass --token-code / MFA_EXEC_TOKEN_CODE"
    ))
}

/// Asks on the controlling terminal, up to three times for a well-formed code.
fn prompt(
    profile: &str,
    serial: &str,
    retry: bool,
    claim: &dyn Fn(&str) -> Claim,
    deadline: Option<Instant>,
) -> Result<String> {
    let tty: File = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_terminal(profile))?;
    let fd = tty.as_raw_fd();
    // Only the foreground process group may read the terminal.
    let (fg, me) = unsafe { (libc::tcgetpgrp(fd), libc::getpgrp()) };
    if fg != me {
        return Err(fail(format!(
            "cannot ask for the MFA code of profile '{profile}': mfa-exec is not in the terminal's foreground"
        ))
        .hint("run it in the foreground, or pass --token-code / MFA_EXEC_TOKEN_CODE")
        .into());
    }
    let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
    if unsafe { libc::tcgetattr(fd, t.as_mut_ptr()) } == 0 {
        unsafe {
            std::ptr::addr_of_mut!(SAVED_TTY).write(Some((fd, t.assume_init())));
        }
    }
    let previous =
        unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
    // The run's budget (credential-process) bounds the prompt too: at the
    // deadline the terminal is restored and the run ends with one line, as
    // the caller would stop waiting anyway.
    let alarm = deadline.map(|d| arm_prompt_alarm(profile, d));
    let result = ask(&tty, profile, serial, retry, claim);
    unsafe {
        if let Some(previous_alarm) = alarm {
            libc::alarm(0);
            libc::signal(libc::SIGALRM, previous_alarm);
        }
        libc::signal(libc::SIGINT, previous);
        std::ptr::addr_of_mut!(SAVED_TTY).write(None);
    }
    result
}

/// The lines the alarm handler writes, made before it is armed (a handler
/// may not allocate).
static ALARM_TEXT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Arms SIGALRM for `deadline` (whole seconds, at least one); returns the
/// handler it replaced.
fn arm_prompt_alarm(profile: &str, deadline: Instant) -> libc::sighandler_t {
    let secs = deadline
        .saturating_duration_since(Instant::now())
        .as_secs_f64()
        .ceil()
        .max(1.0) as u32;
    let _ = ALARM_TEXT.set(
        format!(
            "mfa-exec: error: no MFA code for profile '{profile}' was typed within the {secs}s left to answer; nothing was sent\n\
             hint: run 'mfa-exec {profile}' in a terminal first, or pass --token-code / MFA_EXEC_TOKEN_CODE\n"
        )
        .into_bytes(),
    );
    // SAFETY: installs an async-signal-safe handler, then arms the alarm.
    unsafe {
        let previous = libc::signal(
            libc::SIGALRM,
            on_prompt_alarm as *const () as libc::sighandler_t,
        );
        libc::alarm(secs);
        previous
    }
}

extern "C" fn on_prompt_alarm(_: libc::c_int) {
    // Async-signal-safe only: restore the terminal, end its line, say why on
    // stderr, exit 125.
    unsafe {
        let saved = std::ptr::addr_of!(SAVED_TTY).read();
        if let Some((fd, t)) = saved {
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            libc::write(fd, b"\n".as_ptr().cast(), 1);
        }
        if let Some(text) = ALARM_TEXT.get() {
            libc::write(2, text.as_ptr().cast(), text.len());
        }
        libc::_exit(exit::FAILURE);
    }
}

fn ask(
    tty: &File,
    profile: &str,
    serial: &str,
    retry: bool,
    claim: &dyn Fn(&str) -> Claim,
) -> Result<String> {
    let term = console::Term::read_write_pair(tty.try_clone()?, tty.try_clone()?);
    if !term.is_term() {
        return Err(no_terminal(profile).into());
    }
    let mut w = tty.try_clone()?;
    if retry {
        let _ = writeln!(
            w,
            "mfa-exec: STS rejected that code (wrong or already used); wait for the next one"
        );
    }
    let mut reused = false;
    for _ in 0..TRIES {
        let input: String = dialoguer::Input::new()
            .with_prompt(format!("MFA code for {profile} ({serial})"))
            .allow_empty(true)
            .interact_text_on(&term)
            .map_err(|e| anyhow!("cannot read the MFA code from the terminal: {e}"))?;
        let Some(code) = normalize(&input) else {
            reused = false;
            let _ = writeln!(w, "mfa-exec: a code is exactly 6 digits; try again");
            continue;
        };
        match claim(&code) {
            Claim::Send => return Ok(code),
            Claim::Used(r) => {
                reused = true;
                let _ = writeln!(w, "mfa-exec: that code was {}; not sent", r.describe());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(normalize(" 012345\n").as_deref(), Some("012345"));
        assert_eq!(normalize("12345"), None);
        assert_eq!(normalize("1234567"), None);
        assert_eq!(normalize("12a456"), None);
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
