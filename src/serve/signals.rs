//! Signals while `--server` waits for its child (SPEC §9.2): SIGTERM, SIGHUP,
//! SIGINT and SIGQUIT are passed on to the child once, and never end mfa-exec
//! itself (it exits when the child does, with the child's status).
//!
//! The decision: the child runs in mfa-exec's own process group, so a signal
//! the terminal generates (Ctrl-C, Ctrl-\, a hang-up) already reaches both
//! processes. The handler reads `si_code` and forwards only signals that a
//! process sent with `kill`/`sigqueue` (`kill -TERM <mfa-exec>`, a CI runner's
//! timeout, systemd stopping a unit with `KillMode=process`); a signal from the
//! kernel (the terminal) is not forwarded, so the child sees each signal once.
//! A signal sent with `kill` to the whole process group (`kill -TERM -PGID`,
//! systemd's default `KillMode=control-group`) reaches the child directly and
//! once more through mfa-exec: the one case of a doubled signal, which the
//! terminal-side cases make the lesser evil.
//!
//! A signal that arrives before the child exists is remembered and sent as
//! soon as it does. The handler does only async-signal-safe work (atomics and
//! `kill`).

use anyhow::{anyhow, Result};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// The signals passed on.
pub const FORWARDED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];

/// The child's pid, 0 before it is spawned.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// Signals (bit n = signal n) that arrived before the child existed.
static PENDING: AtomicU64 = AtomicU64::new(0);

/// True when `si_code` says a process sent the signal (kill, sigqueue,
/// tgkill), not the kernel (the terminal).
#[cfg(target_os = "linux")]
fn sent_by_process(code: libc::c_int) -> bool {
    // SI_USER (0), SI_QUEUE (-1), SI_TKILL (-6), ...: every user-sent code is
    // not positive; the kernel's (SI_KERNEL 0x80) are.
    code <= 0
}

#[cfg(not(target_os = "linux"))]
fn sent_by_process(code: libc::c_int) -> bool {
    // macOS: SI_USER 0x10001, SI_QUEUE 0x10002 (<sys/signal.h>); a signal
    // from the terminal has 0.
    code == 0x10001 || code == 0x10002
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if info.is_null() {
        return;
    }
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t.
    let code = unsafe { (*info).si_code };
    if !sent_by_process(code) {
        return;
    }
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    } else {
        PENDING.fetch_or(1u64 << sig, Ordering::SeqCst);
    }
}

/// Installs the handler for [`FORWARDED`] (before the child is spawned).
/// The child starts with the default dispositions (exec resets handlers).
pub fn install() -> Result<()> {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction is valid; the handler is a plain extern fn.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(anyhow!(
                "cannot handle signal {sig}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// The child exists: forward to it from now on, and send what came before.
pub fn set_child(pid: u32) {
    let pid = pid as i32;
    CHILD.store(pid, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    for sig in FORWARDED {
        if pending & (1u64 << sig) != 0 {
            // SAFETY: plain syscall.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// The child is gone: forward nothing more (its pid may be reused).
pub fn clear_child() {
    CHILD.store(-1, Ordering::SeqCst);
}
