//! Running `mfa_process` (SPEC §3): once per code, bounded by its timeout
//! (and the run's budget), as a job of its own: its own process group, given
//! the terminal while it runs when mfa-exec holds it, so a timeout or Ctrl-C
//! stops everything it started. Also the countdown to the next code when the
//! one it gave was already sent.
//!
//! Never sends a code and never reads the terminal itself: the process does,
//! and `used_codes` says whether its code may be sent.
//!
//! Known limits (mfa-exec does not relay job control as a shell would):
//! Ctrl-Z while the process holds the terminal stops the process only, and
//! `fg` of a background `mfa-exec` resumes mfa-exec, not a process stopped
//! reading the terminal; in both cases its timeout ends the run. A prompt
//! that turns Ctrl-C into a plain failure (ykman exits 1) is reported as a
//! failure, not as an interrupt.

use super::{from_process_output, CodeSource, SERVING_VAR};
use crate::error::{exit, fail};
use crate::ui::{in_foreground, Ui};
use crate::used_codes::{Claim, Reuse};
use anyhow::{anyhow, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

impl CodeSource {
    /// Runs `mfa_process` until it gives a code not sent before, waiting for
    /// the next step between runs; the whole bounded by its timeout.
    pub(super) fn process_code(&self, claim: &dyn Fn(&str) -> Claim, ui: &Ui) -> Result<String> {
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
        if closing() {
            // The `--server` command it was for has ended.
            return Err(fail(format!(
                "mfa_process ({}) was not run: the command has ended; nothing was sent",
                cmd.origin
            ))
            .into());
        }
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
            // SAFETY: runs in the child between fork and exec, after
            // setpgid and the dup of the terminal to fd 0; only
            // async-signal-safe calls (sigprocmask, tcsetpgrp, getpgrp).
            unsafe {
                c.pre_exec(move || {
                    // The signals held around the spawn are not the job's.
                    unhold_in_child();
                    if hand_over {
                        give_terminal(0, libc::getpgrp());
                    }
                    Ok(())
                });
            }
        }
        // Takes the terminal back when this run ends, however it ends.
        let mut back = hand_over
            .then(|| std::fs::File::open("/dev/tty").ok())
            .flatten()
            .map(TerminalBack::new);
        // Held from before the spawn until the relay is armed, so a signal
        // in between still ends the job (the child starts with none held).
        let held = HeldSignals::new();
        let mut child = c
            .spawn()
            .map_err(|e| anyhow!("cannot run mfa_process ({}): {e}", cmd.origin))?;
        if let Some(b) = back.as_mut() {
            b.child = Some(child.id() as libc::pid_t);
        }
        // A signal that ends mfa-exec (SIGTERM from a caller's timeout, SIGHUP)
        // ends the job too, and gives the terminal back.
        let _relay = SignalRelay::arm(child.id(), back.as_ref().map(|b| b.tty.as_raw_fd()));
        drop(held);
        // Under --server, ended by `close_jobs` when the command exits.
        let registered = Registered::new(child.id());
        let stdout = child.stdout.take().expect("piped");
        let collected = collect(&mut child, stdout, limit, OUTPUT_MAX);
        drop(registered);
        let collected = match collected {
            Ok(c) => c,
            Err(e) => {
                stop_job(&mut child);
                return Err(e);
            }
        };
        let (status, out, held_open) = match collected {
            Some(done) => done,
            None => {
                stop_job(&mut child);
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
        // Ctrl-C: the process died of SIGINT, or caught it and exited 130.
        if hand_over && (status.signal() == Some(libc::SIGINT) || status.code() == Some(130)) {
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
        // In slices: a `--server` command that exits meanwhile ends the wait.
        let end = Instant::now() + wait;
        while !closing() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
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

/// How long output may still arrive after `mfa_process` exited: what it
/// printed before exiting is already in the pipe, so this only waits for a
/// descendant that still holds the pipe open (`(sleep 40 &); echo 123456`).
const EXIT_GRACE: Duration = Duration::from_millis(200);
/// At most this much of the output is kept (the rest is read and dropped, so the
/// process never blocks on a full pipe).
const OUTPUT_MAX: usize = 64 * 1024;

/// Waits for `child` and reads its stdout (at most `max` bytes kept), all
/// within `timeout`. `None` when
/// the child did not exit in time. Otherwise its status, its output, and
/// whether something else still held the output open after the grace.
pub(super) fn collect(
    child: &mut std::process::Child,
    mut stdout: std::process::ChildStdout,
    timeout: Duration,
    max: usize,
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
            eof = drain(&mut stdout, &mut out, max);
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

/// Reads what is available without blocking, keeping at most `max` bytes;
/// true at end of file.
fn drain(r: &mut impl Read, out: &mut Vec<u8>, max: usize) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                let room = max.saturating_sub(out.len());
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

/// The terminal, given back to mfa-exec's process group when dropped, with
/// the settings it had before (a process killed while it had echo off would
/// leave it off) — but only while `mfa_process`'s group still holds it: if
/// the shell took it back meanwhile (the job was stopped), it stays there.
struct TerminalBack {
    tty: File,
    saved: Option<libc::termios>,
    /// The process group given the terminal, once spawned.
    child: Option<libc::pid_t>,
}

impl TerminalBack {
    fn new(tty: File) -> TerminalBack {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills `t` when it returns 0.
        let saved = (unsafe { libc::tcgetattr(tty.as_raw_fd(), t.as_mut_ptr()) } == 0)
            .then(|| unsafe { t.assume_init() });
        TerminalBack {
            tty,
            saved,
            child: None,
        }
    }
}

impl Drop for TerminalBack {
    fn drop(&mut self) {
        let fd = self.tty.as_raw_fd();
        // SAFETY: plain queries and tcsetattr on a valid fd.
        let (fg, me) = unsafe { (libc::tcgetpgrp(fd), libc::getpgrp()) };
        // Not spawned (`None`): the child may have taken it before its exec failed.
        let ours = self.child.is_none_or(|c| c == fg);
        if ours && fg != me {
            give_terminal(fd, me);
            if let Some(t) = &self.saved {
                unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, t) };
            }
        }
    }
}

/// The job's process group and the terminal's fd for the signal handler.
static JOB_PGID: AtomicI32 = AtomicI32::new(0);
static JOB_TTY: AtomicI32 = AtomicI32::new(-1);
const RELAYED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];

/// The relayed signals held (blocked) until dropped: the job is spawned and
/// the relay armed in between, so a signal that arrives meanwhile is
/// delivered to the relay's handler, not to the default action that would
/// leave the job running. The child inherits the mask: it must call
/// [`unhold_in_child`] before its exec.
pub(super) struct HeldSignals {
    old: libc::sigset_t,
}

impl HeldSignals {
    pub(super) fn new() -> HeldSignals {
        // SAFETY: sigset operations on plain values; the old mask is kept.
        unsafe {
            let mut block: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut block);
            for sig in RELAYED {
                libc::sigaddset(&mut block, sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
            HeldSignals { old }
        }
    }
}

/// In a child between fork and exec: an empty signal mask (the signals
/// [`HeldSignals`] held in the parent are delivered to the program as usual).
/// Async-signal-safe.
pub(super) fn unhold_in_child() {
    // SAFETY: sigemptyset and pthread_sigmask on a local value.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

impl Drop for HeldSignals {
    fn drop(&mut self) {
        // SAFETY: puts back the mask `new` saved; a held signal is delivered now.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

/// Set once `--server` handles the signals itself (it forwards them to its
/// command, `serve::signals`): a job started for a renewal then leaves the
/// handlers alone, and is ended through [`close_jobs`] when the command exits.
static SERVING: AtomicBool = AtomicBool::new(false);

/// Called by `--server` after installing its signal handlers.
pub fn serving_signals() {
    SERVING.store(true, Ordering::SeqCst);
}

/// The process group of the job (`mfa_process`, a dialog) running now, so
/// that [`close_jobs`] (the thread that sees a `--server` command exit) can
/// end it: mfa-exec then exits with the command instead of waiting for an
/// answer nobody needs.
static OPEN: std::sync::Mutex<Option<u32>> = std::sync::Mutex::new(None);
/// Set by [`close_jobs`]: no job starts after it, and the one running is
/// taken for cancelled.
static CLOSING: AtomicBool = AtomicBool::new(false);

/// Ends the job running now, if any, and keeps any other from starting.
pub fn close_jobs() {
    CLOSING.store(true, Ordering::SeqCst);
    if let Some(pgid) = *OPEN.lock().unwrap_or_else(|e| e.into_inner()) {
        kill_group(pgid);
    }
}

/// Whether [`close_jobs`] was called.
pub(super) fn closing() -> bool {
    CLOSING.load(Ordering::SeqCst)
}

/// Registers a job's process group in [`OPEN`] while it lives. A
/// [`close_jobs`] that came between the caller's check of [`closing`] and
/// this registration found nothing to end: the job is ended here.
pub(super) struct Registered;

impl Registered {
    pub(super) fn new(pgid: u32) -> Registered {
        *OPEN.lock().unwrap_or_else(|e| e.into_inner()) = Some(pgid);
        if closing() {
            kill_group(pgid);
        }
        Registered
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        *OPEN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// While `mfa_process` or a dialog runs: a signal that would end mfa-exec
/// ends the job first (SIGKILL to its group), gives the terminal back, then
/// ends mfa-exec as the signal would have. The handlers (their whole
/// `sigaction`, flags included) are put back when dropped. Under `--server`
/// nothing is changed: its handlers forward the signal to the command, whose
/// exit ends the job ([`close_jobs`]).
pub(super) struct SignalRelay {
    previous: Option<[libc::sigaction; 4]>,
}

impl SignalRelay {
    pub(super) fn arm(pgid: u32, tty: Option<i32>) -> SignalRelay {
        if SERVING.load(Ordering::SeqCst) {
            return SignalRelay { previous: None };
        }
        JOB_PGID.store(pgid as i32, Ordering::SeqCst);
        JOB_TTY.store(tty.unwrap_or(-1), Ordering::SeqCst);
        // SAFETY: zeroed sigactions are valid; the handler is async-signal-safe.
        let previous = unsafe {
            let mut previous: [libc::sigaction; 4] = std::mem::zeroed();
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_job_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            for (i, sig) in RELAYED.iter().enumerate() {
                libc::sigaction(*sig, &sa, &mut previous[i]);
            }
            previous
        };
        SignalRelay {
            previous: Some(previous),
        }
    }
}

impl Drop for SignalRelay {
    fn drop(&mut self) {
        let Some(previous) = &self.previous else {
            return;
        };
        for (i, sig) in RELAYED.iter().enumerate() {
            // SAFETY: puts back the whole action `arm` replaced.
            unsafe { libc::sigaction(*sig, &previous[i], std::ptr::null_mut()) };
        }
        JOB_PGID.store(0, Ordering::SeqCst);
        JOB_TTY.store(-1, Ordering::SeqCst);
    }
}

extern "C" fn on_job_signal(sig: libc::c_int) {
    // Async-signal-safe only: kill, sigprocmask, tcsetpgrp, signal, raise.
    let pgid = JOB_PGID.load(Ordering::SeqCst);
    if pgid > 0 {
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let tty = JOB_TTY.load(Ordering::SeqCst);
    if tty >= 0 {
        give_terminal(tty, unsafe { libc::getpgrp() });
    }
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Ends a job: SIGKILL to its process group, then to the child, and reaps it.
pub(super) fn stop_job(child: &mut std::process::Child) {
    kill_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILL to the process group `pgid` (an `mfa_process` or a dialog run in
/// its own group).
pub(super) fn kill_group(pgid: u32) {
    // SAFETY: plain kill(2); the group id cannot be reused while members remain.
    unsafe {
        libc::kill(-(pgid as i32), libc::SIGKILL);
    }
}
