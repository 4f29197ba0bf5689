//! mfa-exec: run a command with an MFA-backed AWS session, cached in
//! `~/.aws/credentials`. This file is the switchboard: parse, dispatch, print the
//! error once, map it to an exit code (SPEC §7).
//!
//! Never holds logic of its own: a subcommand's work is in `cmd/`.
//!
//! Start-up (issue 24, the cached run at the floor): the binary has no Rust
//! `fn main`; [`main`] is the C entry point (`#![no_main]`, stable). std's own
//! runtime start (`lang_start`) is skipped because on Linux it reads
//! `/proc/self/maps` through `pthread_getattr_np` and `sscanf` (about 120,000
//! instructions, 12% of a cached run) and maps a signal stack, only to print
//! "thread 'main' has overflowed its stack" instead of dying of SIGSEGV. The
//! two things of that start-up that mfa-exec relies on are done here, as std
//! does them: standard descriptors 0-2 that are closed are opened on
//! `/dev/null` (so a credentials file opened later can never become stdout),
//! and SIGPIPE is ignored (a closed pipe is an `EPIPE` error, `list | head`).
//! std's `exec` and `spawn` put SIGPIPE back to the default in the child, as
//! they do under `lang_start`. `std::env::args_os` works without it (glibc
//! hands argv to std's `.init_array` hook).

// The test harness (`cargo test --all-targets` builds this file as a test too)
// brings its own `main`; there, nothing of this file runs.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code))]

use mfa_exec::cli::{Cli, Command};
use mfa_exec::error::{self, exit};
use mfa_exec::{cmd, eline, env, store, ui};

/// The process entry point (see the module doc): std's start-up duties, then
/// the switchboard. Never returns: `std::process::exit` flushes nothing
/// mfa-exec has not flushed itself.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    runtime_init();
    start()
}

/// What std's `lang_start` does that mfa-exec needs: closed descriptors 0-2
/// opened on `/dev/null` (std's `sanitize_standard_fds`, one `poll`), and
/// SIGPIPE ignored (std's default `sigpipe` handling).
fn runtime_init() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd for the duration of the call.
    let polled = loop {
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
        if r != -1 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break r != -1;
        }
    };
    for pfd in &fds {
        // Where poll itself failed (no such limit here, but std covers it),
        // ask each descriptor with fcntl instead.
        // SAFETY: fcntl(F_GETFD) on any integer is defined; it only reads.
        let closed = if polled {
            pfd.revents & libc::POLLNVAL != 0
        } else {
            let r = unsafe { libc::fcntl(pfd.fd, libc::F_GETFD) };
            r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
        };
        // SAFETY: a NUL-terminated path literal; the lowest free descriptor,
        // the closed one, is what open returns.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0) } == -1 {
            std::process::abort();
        }
    }
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn start() -> ! {
    // SPEC §7: never a panic message or a backtrace (RUST_BACKTRACE may be set).
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        // Never `eprintln!` here: a panic inside the hook aborts (SIGABRT).
        eline!("mfa-exec: error: internal error: {msg}");
        if error::changed() {
            eline!("hint: please report this; this run had already changed files, the keyring or IAM keys, so check them ('mfa-exec explain PROFILE')");
        } else {
            eline!("hint: please report this; nothing was written");
        }
        std::process::exit(exit::FAILURE);
    }));
    cmd::completions::handle_env();
    std::process::exit(run());
}

fn run() -> i32 {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let prints = prints_to_stdout(&cli.command);
    let ui = ui::Ui::new(cli.global.verbose, cli.global.quiet);
    let env = env::Env::from_process();
    let result = match &cli.command {
        None => cmd::exec::run(env, ui, &cli.run),
        Some(Command::Exec(a)) => cmd::exec::run(env, ui, a),
        Some(Command::List(a)) => cmd::list::run(env, ui, a),
        Some(Command::Clear(a)) => cmd::clear::run(env, ui, a),
        Some(Command::Export(a)) => cmd::export::run(env, ui, a),
        Some(Command::CredentialProcess(a)) => cmd::credential_process::run(env, ui, a),
        Some(Command::Completions(a)) => cmd::completions::run(env, ui, a),
        Some(Command::Configure(a)) => cmd::configure::run(env, ui, a),
        Some(Command::Explain(a)) => cmd::explain::run(env, ui, a),
        Some(Command::Login(a)) => cmd::login::run(env, ui, a),
        Some(Command::Keys(a)) => cmd::keys::run(env, ui, a),
    };
    match result {
        Ok(code) => match std::io::Write::flush(&mut std::io::stdout()) {
            // A last line still buffered is output too.
            Ok(()) => code,
            Err(e) => output_failed(&e),
        },
        Err(err) => {
            // `mfa-exec list | head`: a closed pipe is not an error worth a line.
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return exit::FAILURE;
            }
            if let Some(e) = output_error(prints, &err) {
                return output_failed(e);
            }
            let (code, hint) = error::exit_status(&err);
            eline!("mfa-exec: error: {err:#}");
            if let Some(h) = hint {
                eline!("hint: {h}");
            }
            code
        }
    }
}

/// The subcommands whose output is their stdout: list, explain, export,
/// credential-process, completions.
fn prints_to_stdout(command: &Option<Command>) -> bool {
    matches!(
        command,
        Some(
            Command::List(_)
                | Command::Explain(_)
                | Command::Export(_)
                | Command::CredentialProcess(_)
                | Command::Completions(_)
                | Command::Login(_)
        )
    )
}

/// The failed write of a printing subcommand's output: an `io::Error` with no
/// context. Every other I/O error of mfa-exec carries one naming its file,
/// terminal or program (error.rs), so a bare one can only be a `write!` to
/// stdout.
fn output_error(prints: bool, err: &anyhow::Error) -> Option<&std::io::Error> {
    if !prints || err.chain().count() != 1 {
        return None;
    }
    err.downcast_ref::<std::io::Error>()
}

/// `mfa-exec: error: cannot write the output: no space left on device`, exit
/// 125 (a closed pipe: exit 125 without a line, as `list | head` does).
fn output_failed(e: &std::io::Error) -> i32 {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        let reason = store::io_reason(e);
        let mut chars = reason.chars();
        let reason = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => "unknown error".to_string(),
        };
        eline!("mfa-exec: error: cannot write the output: {reason}");
    }
    exit::FAILURE
}

/// clap's errors in mfa-exec's style (`cli::usage`: the whole message, its
/// usage line, clap's tip or the subcommand's `--help` as the hint), exit 125; `--help` and `--version` print as usual and exit 0, or 125 when the
/// output cannot be written.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let flushed = e
                .print()
                .and_then(|()| std::io::Write::flush(&mut std::io::stdout()));
            return match flushed {
                Ok(()) => 0,
                Err(err) => output_failed(&err),
            };
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return exit::FAILURE;
        }
        _ => {}
    }
    let text = e.render().to_string();
    let path = mfa_exec::cli::usage::subcommand_path(std::env::args_os());
    for line in mfa_exec::cli::usage::usage_lines(&text, &path) {
        eline!("{line}");
    }
    exit::FAILURE
}
