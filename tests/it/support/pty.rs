//! Drive a process in a pseudo-terminal (expectrl/ptyprocess: the child
//! does setsid() and gets the PTY as its controlling terminal, so it is in
//! the terminal's foreground process group and ^C sends it SIGINT).
//!
//! Output read from a PTY has `\r\n` line endings. The PTY starts with echo
//! off (ptyprocess default), so input sent is not echoed back.

use std::io;
use std::os::fd::AsRawFd;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use expectrl::WaitStatus;

/// Timeout of `Pty::expect` and `Pty::wait`.
pub const PTY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Pty {
    session: expectrl::Session,
    /// Everything read so far.
    out: Vec<u8>,
    /// End of the last `expect` match.
    pos: usize,
    eof: bool,
    status: Option<i32>,
    program: String,
}

impl Pty {
    /// Spawns any command in a new PTY (environment as set on `cmd`).
    pub fn spawn_command(cmd: StdCommand) -> Pty {
        let program = format!("{cmd:?}");
        let session = expectrl::Session::spawn(cmd)
            .unwrap_or_else(|e| panic!("spawn {program} in a pty: {e}"));
        Pty {
            session,
            out: Vec::new(),
            pos: 0,
            eof: false,
            status: None,
            program,
        }
    }

    pub fn pid(&self) -> i32 {
        self.session.get_process().pid().as_raw()
    }

    /// Waits (10 s) until `text` appears after the previous match; panics
    /// showing everything seen so far otherwise.
    pub fn expect(&mut self, text: &str) {
        self.expect_within(text, PTY_TIMEOUT)
    }

    pub fn expect_within(&mut self, text: &str, timeout: Duration) {
        if !self.try_expect(text, timeout) {
            let why = if self.eof {
                "the terminal closed (process exited?)"
            } else {
                "timed out"
            };
            panic!(
                "pty: expected {text:?} but {why} after {timeout:?}.\n\
                 command: {}\nunmatched output: {:?}\nall output:\n{}",
                self.program,
                String::from_utf8_lossy(&self.out[self.pos..]),
                String::from_utf8_lossy(&self.out)
            );
        }
    }

    /// Like `expect` but returns false instead of panicking.
    pub fn try_expect(&mut self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = find(&self.out[self.pos..], text.as_bytes()) {
                self.pos += i + text.len();
                return true;
            }
            let now = Instant::now();
            if self.eof || now >= deadline {
                return false;
            }
            self.pump(deadline - now);
        }
    }

    /// Sends bytes as typed (no newline).
    pub fn send(&mut self, s: &str) {
        self.session
            .send(s)
            .unwrap_or_else(|e| panic!("pty: send {s:?}: {e}"));
    }

    /// Sends `s` and a newline (Enter).
    pub fn send_line(&mut self, s: &str) {
        self.send(&format!("{s}\n"));
    }

    /// Types ^C (the terminal then sends SIGINT to the foreground group).
    pub fn send_ctrl_c(&mut self) {
        self.send("\x03");
    }

    /// Types ^D (end of input on a canonical-mode read).
    pub fn send_ctrl_d(&mut self) {
        self.send("\x04");
    }

    /// Sends a signal (e.g. `libc::SIGTERM`) to the child directly.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Everything the child wrote so far (reads pending output first).
    pub fn output_so_far(&mut self) -> String {
        self.pump(Duration::ZERO);
        String::from_utf8_lossy(&self.out).into_owned()
    }

    /// Output after the last `expect` match.
    pub fn unmatched_output(&mut self) -> String {
        self.pump(Duration::ZERO);
        String::from_utf8_lossy(&self.out[self.pos..]).into_owned()
    }

    /// Waits (10 s) for the child to exit: its exit code, or 128+signal.
    /// Panics (and kills the child) on timeout.
    pub fn wait(self) -> i32 {
        self.wait_with_output().0
    }

    /// `wait`, plus all output.
    pub fn wait_with_output(self) -> (i32, String) {
        self.wait_within(PTY_TIMEOUT)
    }

    pub fn wait_within(mut self, timeout: Duration) -> (i32, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = self.poll_status() {
                // Collect what is still buffered in the PTY.
                let drain_until = Instant::now() + Duration::from_millis(500);
                while !self.eof && Instant::now() < drain_until {
                    if !self.pump(Duration::from_millis(20)) {
                        break;
                    }
                }
                return (code, String::from_utf8_lossy(&self.out).into_owned());
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "pty: {} did not exit within {timeout:?}; output:\n{}",
                    self.program,
                    String::from_utf8_lossy(&self.out)
                );
            }
            // Keep reading so a chatty child never blocks on a full PTY.
            self.pump(Duration::from_millis(20).min(deadline - now));
        }
    }

    /// Is the child still running?
    pub fn is_alive(&mut self) -> bool {
        self.poll_status().is_none()
    }

    fn poll_status(&mut self) -> Option<i32> {
        if self.status.is_some() {
            return self.status;
        }
        let code = match self.session.get_process().status() {
            Ok(WaitStatus::Exited(_, code)) => Some(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => Some(128 + sig as i32),
            Ok(_) => None,
            Err(e) => panic!("pty: waitpid: {e}"),
        };
        self.status = code;
        code
    }

    /// Waits up to `timeout` for output and reads all that is available.
    /// Returns true if anything was read.
    fn pump(&mut self, timeout: Duration) -> bool {
        if self.eof {
            return false;
        }
        let fd = self.session.get_stream().as_raw_fd();
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready <= 0 {
            return false;
        }
        let mut got = false;
        let mut buf = [0u8; 4096];
        loop {
            match self.session.try_read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    self.out.extend_from_slice(&buf[..n]);
                    got = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EIO: every slave fd is closed (the child exited).
                Err(_) => {
                    self.eof = true;
                    break;
                }
            }
        }
        got
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn sh(script: &str) -> StdCommand {
    let mut cmd = StdCommand::new("sh");
    cmd.args(["-c", script]);
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("TERM", "dumb");
    cmd
}

#[test]
fn support_pty_prompt_read_and_exit_code() {
    let mut p = Pty::spawn_command(sh(r#"printf "code: "; read x; echo got $x; exit 3"#));
    p.expect("code: ");
    p.send_line("123456");
    p.expect("got 123456");
    assert_eq!(p.wait(), 3);
}

#[test]
fn support_pty_is_controlling_terminal_in_foreground_group() {
    // `tty` works, and the shell's process group is the terminal's
    // foreground group (fields 5 and 8 of /proc/PID/stat).
    let mut p = Pty::spawn_command(sh(
        r#"tty; read -r _ _ _ _ pgrp _ _ tpgid _ < /proc/$$/stat; echo "pg=$pgrp fg=$tpgid"; exit 0"#,
    ));
    p.expect("/dev/pts/");
    let (code, out) = p.wait_with_output();
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("pg="))
        .unwrap_or_else(|| panic!("no pg= line in {out:?}"));
    let mut it = line.trim().split(' ');
    let pg = it.next().unwrap().trim_start_matches("pg=");
    let fg = it.next().unwrap().trim_start_matches("fg=");
    assert_eq!(pg, fg, "not in the foreground process group: {out:?}");
    assert_ne!(fg, "-1");
}

#[test]
fn support_pty_ctrl_c_interrupts() {
    let mut p = Pty::spawn_command(sh("echo ready; exec sleep 30"));
    p.expect("ready");
    // Give sh time to exec sleep.
    std::thread::sleep(Duration::from_millis(200));
    p.send_ctrl_c();
    assert_eq!(p.wait(), 128 + libc::SIGINT);
}

#[test]
fn support_pty_expect_failure_shows_output() {
    let mut p = Pty::spawn_command(sh("echo hello-there; exit 0"));
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.expect_within("never printed", Duration::from_secs(2))
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("hello-there"), "{msg}");
    assert!(p.output_so_far().contains("hello-there"));
}
