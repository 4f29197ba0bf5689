//! Messages to the person: warnings and verbose notes on stderr, progress and
//! waiting notes on the controlling terminal only (so `credential_process`
//! callers and pipes never see them). Secrets never pass through here.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};

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
        if !self.quiet {
            eprintln!("mfa-exec: warning: {msg}");
        }
    }

    /// A note shown with `--verbose`.
    pub fn info(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("mfa-exec: {msg}");
        }
    }

    /// A note for the terminal (the controlling tty, else stderr when it is a
    /// terminal); nothing when there is none or with `--quiet`.
    pub fn progress(&self, msg: &str) {
        if self.quiet {
            return;
        }
        if let Ok(mut tty) = OpenOptions::new().write(true).open("/dev/tty") {
            let _ = writeln!(tty, "mfa-exec: {msg}");
        } else if std::io::stderr().is_terminal() {
            eprintln!("mfa-exec: {msg}");
        }
    }

    /// A note that must be seen (waiting for another process): the terminal if
    /// there is one, else stderr.
    pub fn notice(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match OpenOptions::new().write(true).open("/dev/tty") {
            Ok(mut tty) => {
                let _ = writeln!(tty, "mfa-exec: {msg}");
            }
            Err(_) => eprintln!("mfa-exec: {msg}"),
        }
    }
}
