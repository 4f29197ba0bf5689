//! Messages to the person: warnings and verbose notes on stderr, progress and
//! waiting notes on the controlling terminal only (so `credential_process`
//! callers and pipes never see them). Secrets never pass through here.
//!
//! Output never aborts (SPEC §8.2): `eprintln!` panics when stderr is closed or
//! full, and a panic in the panic hook aborts the process, so every line goes
//! through [`eline!`](crate::eline) and [`write_stderr`], which ignore write
//! errors. `clippy.toml` forbids `print!`/`eprint!` and friends in the crate.
//!
//! Only a process in the terminal's foreground process group writes to the
//! terminal (SPEC §8.2): a background job (`mfa-exec p -- cmd &`) stays silent
//! there, so `stty tostop` never stops it with SIGTTOU. That covers warnings,
//! notes and progress, also on a stderr that is the terminal. The one line an
//! error prints is the exception: it is the job's result, and a job that failed
//! silently would leave nothing to act on (under `tostop` the terminal's own
//! policy then applies, as for any program).
//!
//! Never reads input (the prompt lives in `otp`) and never decides an exit code.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::fd::AsRawFd;

/// Writes `text` to stderr, ignoring every error (EPIPE, ENOSPC, EBADF).
pub fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! eline {
    ($($arg:tt)*) => {
        $crate::ui::write_stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// True when this process is in the foreground process group of the terminal
/// `fd` refers to.
pub fn in_foreground(fd: &impl AsRawFd) -> bool {
    let fd = fd.as_raw_fd();
    // SAFETY: plain syscalls on a descriptor we own.
    let (fg, me) = unsafe { (libc::tcgetpgrp(fd), libc::getpgrp()) };
    fg == me
}

/// The controlling terminal for writing, only when we are in its foreground.
fn foreground_tty() -> Option<File> {
    let tty = OpenOptions::new().write(true).open("/dev/tty").ok()?;
    in_foreground(&tty).then_some(tty)
}

/// True when stderr is a terminal we may not write to (we are a background job).
fn stderr_is_background_tty() -> bool {
    let err = std::io::stderr();
    err.is_terminal() && !in_foreground(&err)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    pub verbose: u8,
    pub quiet: bool,
}

impl Ui {
    pub fn new(verbose: u8, quiet: bool) -> Ui {
        Ui { verbose, quiet }
    }

    /// `mfa-exec: warning: ...` on stderr, unless `--quiet`.
    pub fn warn(&self, msg: &str) {
        if !self.quiet && !stderr_is_background_tty() {
            crate::eline!("mfa-exec: warning: {msg}");
        }
    }

    /// A note shown with `--verbose`.
    pub fn info(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet && !stderr_is_background_tty() {
            crate::eline!("mfa-exec: {msg}");
        }
    }

    /// A note for the terminal when we are in its foreground; nothing when
    /// there is none, in a background job, or with `--quiet`.
    pub fn progress(&self, msg: &str) {
        if self.quiet {
            return;
        }
        if let Some(mut tty) = foreground_tty() {
            let _ = writeln!(tty, "mfa-exec: {msg}");
        }
    }

    /// A note that must be seen (waiting for another process): the terminal when
    /// we are in its foreground, else stderr unless stderr is a terminal we
    /// may not write to (a background job).
    pub fn notice(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match foreground_tty() {
            Some(mut tty) => {
                let _ = writeln!(tty, "mfa-exec: {msg}");
            }
            None if !stderr_is_background_tty() => crate::eline!("mfa-exec: {msg}"),
            None => {}
        }
    }

    /// A note that is part of a command's normal output on stderr (what `clear`
    /// removed, the STS endpoint in use); nothing with `--quiet`.
    pub fn note(&self, msg: &str) {
        if !self.quiet && !stderr_is_background_tty() {
            crate::eline!("mfa-exec: {msg}");
        }
    }
}
