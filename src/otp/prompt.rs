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
    // Async-signal-safe only: restore the terminal, end the line, say why on
    // stderr when the run's caller reads it (credential-process), exit 130.
    unsafe {
        let saved = std::ptr::addr_of!(SAVED_TTY).read();
        if let Some((fd, t)) = saved {
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            libc::write(fd, b"\n".as_ptr().cast(), 1);
        }
        let text = INTERRUPT_TEXT.load(Ordering::SeqCst);
        if !text.is_null() {
            libc::write(2, text.cast(), INTERRUPT_LEN.load(Ordering::SeqCst));
        }
        libc::_exit(exit::INTERRUPTED);
    }
}

/// The line Ctrl-C (or Ctrl-D) at the prompt writes on stderr under
/// credential-process, made before the handler is installed (a handler may not
/// allocate). The AWS CLI and the SDKs show a failed `credential_process`'s
/// stderr as the reason; without it they show an empty one. In the main flow
/// stderr is the terminal the person just pressed Ctrl-C on: nothing is said,
/// as for any program.
static INTERRUPT_TEXT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static INTERRUPT_LEN: AtomicUsize = AtomicUsize::new(0);

fn set_interrupt_text(profile: &str) {
    let text: &'static mut [u8] = Box::leak(
        format!(
            "mfa-exec: error: the MFA code prompt for profile '{profile}' was interrupted; nothing was sent\n"
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    INTERRUPT_LEN.store(text.len(), Ordering::SeqCst);
    INTERRUPT_TEXT.store(text.as_mut_ptr(), Ordering::SeqCst);
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
    // The run's budget is credential-process's: its caller shows our stderr.
    if deadline.is_some() && INTERRUPT_TEXT.load(Ordering::SeqCst).is_null() {
        set_interrupt_text(profile);
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
    // Not line by line while the prompt is up: console reads each key in raw
    // mode, but a key typed between two reads (as the prompt appears) would
    // meet the line discipline, which swallows Ctrl-D as end-of-file and
    // echoes. Signals stay on: Ctrl-C is SIGINT, whose handler restores the
    // terminal as it was.
    let saved = unsafe { std::ptr::addr_of!(SAVED_TTY).read() };
    if let Some((fd, t)) = saved {
        let mut keys = t;
        keys.c_lflag &= !(libc::ICANON | libc::ECHO);
        keys.c_cc[libc::VMIN] = 1;
        keys.c_cc[libc::VTIME] = 0;
        // SAFETY: tcsetattr(3) on the terminal we opened.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &keys) };
    }
    let result = ask(&tty, profile, serial, retry, &claim_unalarmed);
    if let Some((fd, t)) = saved {
        // SAFETY: as above; the settings read before the prompt.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) };
    }
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
    for attempt in 1..=TRIES {
        let input = read_line(&term, &format!("MFA code for {profile} ({serial}): "))
            .map_err(|e| anyhow!("cannot read the MFA code from the terminal: {e}"))?;
        let Some(code) = normalize(&input) else {
            reused = false;
            // After the last try the error says it all: no "try again".
            if attempt < TRIES {
                let _ = writeln!(w, "mfa-exec: a code is exactly 6 digits; try again");
            }
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

/// One line typed on the terminal, echoed as typed (Backspace erases). Enter
/// ends it; Ctrl-D ends the prompt as Ctrl-C does (a shell's prompt ends on
/// it, and dialoguer ignores it); Ctrl-C raises SIGINT (console reads in raw
/// mode and raises it), which the handler turns into exit 130.
fn read_line(term: &console::Term, prompt: &str) -> std::io::Result<String> {
    use console::Key;
    term.write_str(prompt)?;
    term.flush()?;
    let mut chars: Vec<char> = Vec::new();
    loop {
        match term.read_key()? {
            Key::Enter => {
                term.write_line("")?;
                return Ok(chars.into_iter().collect());
            }
            Key::Backspace if chars.pop().is_some() => {
                term.write_str("\x08 \x08")?;
                term.flush()?;
            }
            Key::Char('\u{4}') => {
                // SAFETY: raise(3) runs the SIGINT handler installed for the prompt.
                unsafe { libc::raise(libc::SIGINT) };
            }
            Key::Char(c) if !c.is_control() => {
                chars.push(c);
                let mut buf = [0u8; 4];
                term.write_str(c.encode_utf8(&mut buf))?;
                term.flush()?;
            }
            _ => {}
        }
    }
}
