//! The prompt for a code on the controlling terminal (`/dev/tty`, never
//! stdin/stdout): up to [`super::TRIES`] answers, each checked for shape and
//! against the codes already sent; Ctrl-C restores the terminal and exits 130;
//! the run's budget (credential-process) ends a prompt nobody answers.
//!
//! Never prompts from a background job (it fails at once instead of stopping
//! on SIGTTIN) and never echoes the code.

use super::{normalize, TRIES};
use crate::error::{exit, fail, Fail};
use crate::used_codes::Claim;
use anyhow::{anyhow, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::time::Instant;

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

/// Today's error when there is no terminal (a dialog's absence adds to its hint).
pub(super) fn no_terminal(profile: &str) -> Fail {
    fail(format!(
        "no terminal to ask for the MFA code of profile '{profile}'"
    ))
    .hint(format!(
        "run 'mfa-exec {profile}' in a terminal once, or pass --token-code / MFA_EXEC_TOKEN_CODE"
    ))
}

/// Today's error for a background job.
pub(super) fn background(profile: &str) -> Fail {
    fail(format!(
        "cannot ask for the MFA code of profile '{profile}': mfa-exec is not in the terminal's foreground"
    ))
    .hint("run it in the foreground, or pass --token-code / MFA_EXEC_TOKEN_CODE")
}

/// Asks on the controlling terminal, up to three times for a well-formed code.
pub(super) fn prompt(
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
    if !crate::ui::in_foreground(&tty) {
        return Err(background(profile).into());
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
    // No alarm while a typed code is being claimed (the record is written
    // then): re-armed with what is left when the prompt asks again.
    let claim_unalarmed = |code: &str| -> Claim {
        if deadline.is_some() {
            // SAFETY: alarm(2) has no preconditions.
            unsafe { libc::alarm(0) };
        }
        let answer = claim(code);
        if let (Some(d), Claim::Used(_)) = (deadline, &answer) {
            arm_prompt_alarm(profile, d);
        }
        answer
    };
    let result = ask(&tty, profile, serial, retry, &claim_unalarmed);
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
/// may not allocate): a leaked buffer per prompt (a few, at most), so each
/// prompt names the seconds it had.
static ALARM_TEXT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static ALARM_LEN: AtomicUsize = AtomicUsize::new(0);

/// Arms SIGALRM for `deadline` (whole seconds, at least one); returns the
/// handler it replaced.
fn arm_prompt_alarm(profile: &str, deadline: Instant) -> libc::sighandler_t {
    let secs = deadline
        .saturating_duration_since(Instant::now())
        .as_secs_f64()
        .ceil()
        .max(1.0) as u32;
    let text: &'static mut [u8] = Box::leak(
        format!(
            "mfa-exec: error: no MFA code for profile '{profile}' was typed within the {secs}s left to answer; nothing was sent\n\
             hint: run 'mfa-exec {profile}' in a terminal first, or pass --token-code / MFA_EXEC_TOKEN_CODE\n"
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    ALARM_LEN.store(text.len(), Ordering::SeqCst);
    ALARM_TEXT.store(text.as_mut_ptr(), Ordering::SeqCst);
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
        let text = ALARM_TEXT.load(Ordering::SeqCst);
        if !text.is_null() {
            libc::write(2, text.cast(), ALARM_LEN.load(Ordering::SeqCst));
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
