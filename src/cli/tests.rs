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

/// The fast path gives what clap gives, and declines what it cannot take.
#[test]
fn fast_path_agrees_with_clap() {
    let cases: &[&[&str]] = &[
        &["test"],
        &["test", "--", "aws", "s3", "ls", "--recursive"],
        &["test", "aws", "s3", "ls", "--recursive"],
        &["test", "--", "--weird"],
        &["test", "--", "sh", "-c", "exit 7"],
        &["my.prof", "env"],
    ];
    for case in cases {
        let argv: Vec<OsString> = std::iter::once("mfa-exec")
            .chain(case.iter().copied())
            .map(OsString::from)
            .collect();
        let fast = fast_path(&argv).unwrap_or_else(|| panic!("declined {case:?}"));
        let clap = Cli::try_parse_from(&argv).unwrap();
        assert_eq!(fast.run.profile, clap.run.profile, "{case:?}");
        assert_eq!(fast.run.command, clap.run.command, "{case:?}");
        assert!(clap.command.is_none());
        assert_eq!(
            format!("{:?}", fast.run.session),
            format!("{:?}", clap.run.session),
            "{case:?}"
        );
        assert_eq!(
            format!("{:?}", fast.global),
            format!("{:?}", clap.global),
            "{case:?}"
        );
    }
    for declined in [
        &["list"][..],
        &["test", "-f", "--", "true"],
        &["--profile", "x"],
        &["-v", "test"],
        &["test", "--help"],
        &[],
    ] {
        let argv: Vec<OsString> = std::iter::once("mfa-exec")
            .chain(declined.iter().copied())
            .map(OsString::from)
            .collect();
        assert!(fast_path(&argv).is_none(), "{declined:?}");
    }
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
