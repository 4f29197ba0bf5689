//! Unit tests of the command line: subcommand versus profile, `--profile`,
//! the command keeping its flags, global flags on either side of a
//! subcommand, and the fast path agreeing with clap. They only parse; nothing
//! is run.

use super::*;
use clap::CommandFactory;

#[test]
fn debug_assert() {
    Cli::command().debug_assert();
}

fn parse(args: &[&str]) -> Cli {
    Cli::parse_args(std::iter::once("mfa-exec").chain(args.iter().copied())).unwrap()
}

#[test]
fn profile_versus_subcommand() {
    let c = parse(&["list"]);
    assert!(matches!(c.command, Some(Command::List(_))));
    let c = parse(&["mylist", "--", "true"]);
    assert!(c.command.is_none());
    assert_eq!(c.run.profile.name().ok(), Some("mylist"));
    assert_eq!(c.run.command, vec![OsString::from("true")]);
    let c = parse(&["--profile", "list", "--", "true"]);
    assert!(c.command.is_none());
    assert_eq!(c.run.profile.name().ok(), Some("list"));
    assert_eq!(c.run.command, vec![OsString::from("true")]);
    let c = parse(&["exec", "--profile", "list", "aws", "s3"]);
    match c.command {
        Some(Command::Exec(e)) => {
            assert_eq!(e.profile.positional, None);
            assert_eq!(e.command, vec![OsString::from("aws"), OsString::from("s3")]);
        }
        other => panic!("{other:?}"),
    }
    let c = parse(&["exec", "list", "--", "true"]);
    match c.command {
        Some(Command::Exec(e)) => {
            assert_eq!(e.profile.positional.as_deref(), Some("list"));
            assert_eq!(e.command, vec![OsString::from("true")]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn command_keeps_its_flags() {
    let c = parse(&["test", "-f", "--", "aws", "--profile", "x", "-v"]);
    assert!(c.run.session.force);
    assert_eq!(
        c.run.command,
        ["aws", "--profile", "x", "-v"]
            .iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
    );
    let c = parse(&["test", "aws", "s3", "ls", "--recursive"]);
    assert_eq!(c.run.command.len(), 4);
    assert!(!c.run.session.force);
}

fn argv(words: &[&str]) -> Vec<OsString> {
    std::iter::once("mfa-exec")
        .chain(words.iter().copied())
        .map(OsString::from)
        .collect()
}

/// What the fast path took must be what clap gives (compared whole, by
/// `Debug`); returns whether the fast path took it.
fn agrees(words: &[&str]) -> bool {
    let args = globals_after_subcommand(argv(words));
    let Some(fast) = fast_path(&args) else {
        return false;
    };
    let clap = Cli::clap_path(args)
        .unwrap_or_else(|e| panic!("fast path took {words:?}, clap refuses it: {e}"));
    assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{words:?}");
    true
}

/// The forms a user types every day are taken by the fast path (no clap
/// command built), and give what clap gives.
#[test]
fn fast_path_takes_the_common_forms() {
    let taken: &[&[&str]] = &[
        &["test"],
        &["test", "--", "aws", "s3", "ls", "--recursive"],
        &["test", "aws", "s3", "ls", "--recursive"],
        &["test", "--", "--weird"],
        &["test", "--", "sh", "-c", "exit 7"],
        &["my.prof", "env"],
        &["test", "--token-code", "123456", "--", "true"],
        &["test", "-t", "123456", "--", "true"],
        &["-t", "123456", "test", "--", "true"],
        &["test", "--token-code=123456", "--", "true"],
        &["-v", "test", "--", "true"],
        &["-vv", "test", "--", "true"],
        &["test", "-v", "--", "true"],
        &["-q", "test", "--", "true"],
        &["test", "--region", "eu-west-1", "--", "true"],
        &["test", "--region=eu-west-1", "aws", "s3", "ls"],
        &["test", "-f", "--", "true"],
        &["test", "--force", "--no-input", "--", "true"],
        &["test", "-d", "90m", "--min-remaining", "20m", "--", "true"],
        &[
            "test",
            "--lock-timeout",
            "30s",
            "--mfa-serial",
            "arn:aws:iam::1:mfa/u",
            "--",
            "true",
        ],
        &["exec", "test", "--", "true"],
        &["exec", "list", "--", "true"],
        &["-v", "exec", "test", "-t", "123456", "--", "true"],
        &["--profile", "x", "--", "true"],
        &["--profile", "list", "--", "true"],
        &["--profile=x", "aws", "s3"],
        &["exec", "--profile", "x", "aws", "s3"],
        &["test", "--server", "--", "terraform", "apply"],
        &["exec", "--server", "test", "--", "true"],
        &["test", "--prompt", "zenity", "--", "true"],
        &["test", "--prompt=terminal", "aws"],
    ];
    for case in taken {
        assert!(agrees(case), "the fast path declined {case:?}");
    }
}

/// What the fast path declines goes through clap (help, errors, other
/// subcommands, anything it does not know).
#[test]
fn fast_path_declines_what_it_cannot_take() {
    for declined in [
        &["list"][..],
        &["test", "--help"],
        &["-h"],
        &["--version"],
        &[],
        &["-v"],
        &["test", "-fv", "--", "true"],
        &["test", "-t123456", "--", "true"],
        &["test", "-t", "--", "true"],
        &["test", "--token-code=", "--", "true"],
        &["test", "-t", "1", "-t", "2"],
        &["test", "-f", "-f"],
        &["test", "-d", "soon"],
        &["-v", "-q", "test"],
        &["test", "--bogus"],
        &["", "true"],
        &["--profile", "x", "list"],
    ] {
        assert!(
            fast_path(&globals_after_subcommand(argv(declined))).is_none(),
            "{declined:?}"
        );
    }
}

/// Differential: every sequence of up to three words of a token set, and
/// 20,000 seeded random sequences of four to seven, parse the same through
/// the fast path as through clap wherever the fast path takes them.
#[test]
fn fast_path_agrees_with_clap_everywhere() {
    const TOKENS: &[&str] = &[
        "test",
        "exec",
        "list",
        "--",
        "-",
        "",
        "true",
        "aws",
        "-v",
        "-vv",
        "-q",
        "--verbose",
        "--quiet",
        "-t",
        "--token-code",
        "123456",
        "--token-code=123456",
        "-t123456",
        "--region",
        "eu-west-1",
        "--region=",
        "-f",
        "--force",
        "--no-input",
        "-d",
        "90m",
        "soon",
        "--duration=1h",
        "--min-remaining",
        "--lock-timeout",
        "--mfa-serial",
        "--profile",
        "x",
        "--profile=x",
        "-h",
        "--help",
        "-fv",
        "--force=true",
        "-5",
    ];
    let mut taken = 0;
    let n = TOKENS.len();
    for len in 0..=3u32 {
        for mut k in 0..n.pow(len) {
            let mut words = Vec::new();
            for _ in 0..len {
                words.push(TOKENS[k % n]);
                k /= n;
            }
            taken += usize::from(agrees(&words));
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = 4 + (next() % 4) as usize;
        let words: Vec<&str> = (0..len)
            .map(|_| TOKENS[(next() % n as u64) as usize])
            .collect();
        taken += usize::from(agrees(&words));
    }
    assert!(taken > 1_000, "the fast path took only {taken} sequences");
}

#[test]
fn global_flags_before_subcommand() {
    let c = parse(&["-v", "list"]);
    assert!(matches!(c.command, Some(Command::List(_))));
    assert_eq!(c.global.verbose, 1);
    let c = parse(&["-vv", "clear", "--all"]);
    assert!(matches!(c.command, Some(Command::Clear(_))));
    let c = parse(&["-v", "test", "--", "true"]);
    assert!(c.command.is_none());
    assert_eq!(c.run.profile.name().ok(), Some("test"));
}

#[test]
fn global_flags_after_subcommand() {
    let c = parse(&["list", "-v"]);
    assert_eq!(c.global.verbose, 1);
    let c = parse(&["-q", "test"]);
    assert!(c.global.quiet);
}

#[test]
fn login_is_a_subcommand() {
    let c = parse(&["login", "prod", "--print", "--region", "eu-west-1"]);
    match c.command {
        Some(Command::Login(l)) => {
            assert_eq!(l.profile.positional.as_deref(), Some("prod"));
            assert!(l.print);
            assert_eq!(l.session.resolve.region.as_deref(), Some("eu-west-1"));
        }
        other => panic!("{other:?}"),
    }
    let c = parse(&["-v", "login", "prod"]);
    assert!(matches!(c.command, Some(Command::Login(_))));
    // A profile named 'login' is reached with --profile or exec.
    let c = parse(&["--profile", "login", "--", "true"]);
    assert!(c.command.is_none());
    assert_eq!(c.run.profile.name().ok(), Some("login"));
}
