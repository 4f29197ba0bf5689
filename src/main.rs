//! mfa-exec: run a command with an MFA-backed AWS session, cached in
//! `~/.aws/credentials`. This file is the switchboard: parse, dispatch, print the
//! error once, map it to an exit code (SPEC §7).

mod child;
mod cli;
mod cmd;
mod env;
mod error;
mod flow;
mod iam;
mod ini;
mod keys;
mod keystore;
mod otp;
mod profile;
mod secret;
mod store;
mod sts;
mod testhook;
mod ui;

use cli::{Cli, Command};
use error::exit;

fn main() {
    // SPEC §7: never a panic message or a backtrace (RUST_BACKTRACE may be set).
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!("mfa-exec: error: internal error: {msg}");
        eprintln!("hint: please report this; nothing was written");
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
    let ui = ui::Ui::new(cli.global.verbose, cli.global.quiet);
    let env = env::Env::from_process();
    let result = match &cli.command {
        None => cmd::exec::run(
            env,
            ui,
            &cli.run.profile,
            &cli.run.session,
            &cli.run.command,
        ),
        Some(Command::Exec(a)) => cmd::exec::run(env, ui, &a.profile, &a.session, &a.command),
        Some(Command::List(a)) => cmd::list::run(env, ui, a),
        Some(Command::Clear(a)) => cmd::clear::run(env, ui, a),
        Some(Command::Export(a)) => cmd::export::run(env, ui, a),
        Some(Command::CredentialProcess(a)) => cmd::credential_process::run(env, ui, a),
        Some(Command::Completions(a)) => cmd::completions::run(a.shell),
        Some(Command::Configure(a)) => cmd::configure::run(env, ui, a),
        Some(Command::Explain(a)) => cmd::explain::run(env, ui, a),
        Some(Command::Keys(a)) => cmd::keys::run(env, ui, a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // `mfa-exec list | head`: a closed pipe is not an error worth a line.
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return exit::FAILURE;
            }
            let (code, hint) = error::classify(&err);
            eprintln!("mfa-exec: error: {err:#}");
            if let Some(h) = hint {
                eprintln!("hint: {h}");
            }
            code
        }
    }
}

/// clap's errors as one `mfa-exec: error:` line (plus clap's tip as a hint), exit
/// 125; `--help` and `--version` print as usual and exit 0.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return exit::FAILURE;
        }
        _ => {}
    }
    let text = e.render().to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("mfa-exec: error: {first}");
    let tip = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tip: ").map(str::to_string));
    match tip {
        Some(t) => eprintln!("hint: {t}"),
        None => eprintln!("hint: see 'mfa-exec --help'"),
    }
    exit::FAILURE
}
