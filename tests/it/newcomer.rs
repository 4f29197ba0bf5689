//! Issue 25, a newcomer's first hour: the profiles mfa-exec does not handle
//! named for what they are, `list` and completion offering only what runs,
//! the completion of the wrapped command, `configure` re-runs. Each test
//! checks the exact text a user sees, the exit code, and that nothing on disk
//! changed.

use crate::support::*;

/// A real mixed `~/.aws/config`: the seed's profiles, a role, and profiles
/// other mechanisms sign in.
const MIXED_CONFIG: &str = "[default]
region = eu-west-1

[profile test]
source_profile = testAccount
mfa_serial = arn:aws:iam::123456789012:mfa/test

[profile prod]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = test

[profile sso-dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Dev

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile old-sso]
sso_start_url = https://corp.awsapps.com/start

[profile web]
login_session = arn:aws:iam::123456789012:user/me

[profile vault]
credential_process = aws-vault export --format=json dev

[profile work]
credential_process = /usr/local/bin/mfa-exec credential-process test

[profile sso-admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = sso-dev

[profile dev]
mfa_serial = arn:aws:iam::123456789012:mfa/dev
";

/// The seed's keys, a `[dev-long-term]` source, and the sections mfa-exec
/// writes (`prod-mfa`, `testAccount-mfa`, a fresh one each).
fn mixed_credentials() -> String {
    let exp = (chrono::Utc::now() + chrono::Duration::hours(6))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    format!(
        "{SEED_CREDENTIALS}
[dev-long-term]
aws_access_key_id = AKIAIOSFODNN7DEVDEVD
aws_secret_access_key = devsecret

[prod-mfa]
aws_access_key_id = ASIAIOSFODNN7PRODPRO
aws_secret_access_key = s
aws_session_token = t
x_security_token_expires = {exp}
x_mfa_exec_source = testAccount
x_mfa_exec_serial = arn:aws:iam::123456789012:mfa/test
x_mfa_exec_role_arn = arn:aws:iam::123456789012:role/other

[testAccount-mfa]
aws_access_key_id = ASIAIOSFODNN7TESTTES
aws_secret_access_key = s
aws_session_token = t
x_security_token_expires = {exp}
x_mfa_exec_source = testAccount
x_mfa_exec_serial = arn:aws:iam::123456789012:mfa/other
"
    )
}

fn mixed_env() -> TestEnv {
    let env = TestEnv::new();
    env.write_config(MIXED_CONFIG);
    env.write_credentials(&mixed_credentials());
    env
}

/// Item 6: each kind is named, with what to run instead; exit 125, no
/// request, nothing changed, the command not run.
#[test]
fn foreign_profiles_are_named_for_what_they_are() {
    let sts = FakeSts::start();
    let env = mixed_env();
    let snap = env.snapshot();
    let cases = [
        (
            "sso-dev",
            "mfa-exec: error: 'sso-dev' is an IAM Identity Center profile (sso_session, ~/.aws/config:13 [profile sso-dev]): the AWS CLI signs in with 'aws sso login'; mfa-exec is not needed\nhint: run 'aws sso login --profile sso-dev', then 'aws --profile sso-dev ...'\n",
        ),
        (
            "old-sso",
            "mfa-exec: error: 'old-sso' is an IAM Identity Center profile (sso_start_url, ~/.aws/config:22 [profile old-sso]): the AWS CLI signs in with 'aws sso login'; mfa-exec is not needed\nhint: run 'aws sso login --profile old-sso', then 'aws --profile old-sso ...'\n",
        ),
        (
            "web",
            "mfa-exec: error: 'web' is an AWS CLI sign-in profile (login_session, ~/.aws/config:25 [profile web], written by 'aws login'): the AWS CLI signs in with 'aws login'; mfa-exec is not needed\nhint: run 'aws login --profile web', then 'aws --profile web ...'\n",
        ),
        (
            "vault",
            "mfa-exec: error: 'vault' gets its credentials from another program (credential_process = aws-vault export --format=json dev, ~/.aws/config:28 [profile vault]): the AWS CLI and SDKs run it; mfa-exec is not needed\nhint: use 'aws --profile vault ...' (or AWS_PROFILE=vault) directly\n",
        ),
        (
            "work",
            "mfa-exec: error: 'work' gets its credentials from mfa-exec itself (credential_process = /usr/local/bin/mfa-exec credential-process test, ~/.aws/config:31 [profile work]): it is the profile for other tools, not one to run mfa-exec with\nhint: run 'mfa-exec test -- COMMAND', or 'aws --profile work ...'\n",
        ),
        (
            "sso-admin",
            "mfa-exec: error: role profile 'sso-admin': 'sso-dev' is an IAM Identity Center profile (sso_session, ~/.aws/config:13 [profile sso-dev]): the AWS CLI signs in with 'aws sso login'; mfa-exec is not needed\nhint: run 'aws sso login --profile sso-dev', then 'aws --profile sso-dev ...'\n",
        ),
    ];
    for (profile, expected) in cases {
        env.cmd_with_sts(&[profile, "--", "touch", "ran"], &sts)
            .assert()
            .code(125)
            .stdout("")
            .stderr(expected);
    }
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// Item 7: a `[default]` holding a session without an expiry, as `aws
/// configure mfa-login` writes, is called a session.
#[test]
fn default_holding_a_session_says_so() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config("[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/test\n");
    env.write_credentials("[default]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\naws_session_token = t\n");
    let snap = env.snapshot();
    env.cmd_with_sts(&["default", "-t", "123456", "--", "touch", "ran"], &sts)
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: no long-term keys for profile 'default': [default] in ~/.aws/credentials:2 holds a session (an ASIA… key and aws_session_token, no expiry, as 'aws configure mfa-login' writes), not long-term keys; STS refuses GetSessionToken with a session\nhint: put the long-term keys (AKIA…) of 'default' in [default-long-term] of ~/.aws/credentials; mfa-exec then keeps its session in [default]\n");
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// The words `mfa-exec` offers for `line` (the last word is completed), as
/// clap_complete's bash protocol answers them.
fn offered(env: &TestEnv, line: &[&str]) -> Vec<String> {
    let mut args = vec!["--", "mfa-exec"];
    args.extend_from_slice(line);
    let index = (args.len() - 2).to_string();
    let out = env
        .std_cmd(&args)
        .env("_MFA_EXEC_COMPLETE", "bash")
        .env("_CLAP_IFS", "\n")
        .env("_CLAP_COMPLETE_INDEX", &index)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|w| !w.starts_with('-'))
        .map(str::to_string)
        .collect()
}

/// Items 6, 9 and 10: `list` leaves out what cannot run, and completion
/// offers only profiles that can run (not `prod-mfa`, `testAccount-mfa`,
/// `dev-long-term`, nor SSO, `aws login` or `credential_process` profiles);
/// `explain` also offers the config's other profiles, `configure` any name.
#[test]
fn list_and_completion_offer_what_can_run() {
    let env = mixed_env();
    let snap = env.snapshot();
    let out = env.cmd(&["list"]).assert().success().get_output().clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let listed: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    // `testAccount-mfa` is a session no profile here owns (its device is
    // another), shown as such.
    assert_eq!(listed, ["dev", "prod", "test", "testAccount-mfa"], "{text}");
    let runnable = ["dev", "prod", "test"];
    assert_eq!(
        offered(&env, &[""])
            .iter()
            .filter(|w| !is_subcommand(w))
            .collect::<Vec<_>>(),
        runnable
    );
    assert_eq!(offered(&env, &["exec", ""]), runnable);
    assert_eq!(offered(&env, &["export", "t"]), ["test"]);
    assert_eq!(offered(&env, &["login", "p"]), ["prod"]);
    assert_eq!(offered(&env, &["--profile", "d"]), ["dev"]);
    assert_eq!(
        offered(&env, &["explain", ""]),
        [
            "default",
            "dev",
            "old-sso",
            "prod",
            "sso-admin",
            "sso-dev",
            "test",
            "vault",
            "web",
            "work"
        ]
    );
    assert!(offered(&env, &["configure", ""]).contains(&"dev-long-term".to_string()));
    env.assert_unchanged(&snap);
}

fn is_subcommand(w: &str) -> bool {
    [
        "exec",
        "list",
        "clear",
        "export",
        "credential-process",
        "completions",
        "configure",
        "explain",
        "login",
        "keys",
        "help",
    ]
    .contains(&w)
}

/// A HOME whose PATH starts with a directory holding `mfa-exec` (the binary
/// under test, by the name the completion scripts call) and a command
/// `zzmfaxcmd1`; a file `hosts-unique.txt` in HOME, the shell's directory.
fn completion_env() -> TestEnv {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::seeded();
    let bin = env.home().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(bin_path(), bin.join("mfa-exec")).unwrap();
    let cmd = bin.join("zzmfaxcmd1");
    std::fs::write(&cmd, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&cmd, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(env.home().join("hosts-unique.txt"), "").unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    env.with_env("PATH", &path)
}

/// Types `line` and TAB in `pty`, then puts `printf '%s|' ` before the
/// completed line (Ctrl-A) and runs it: what it prints is the line's words as
/// completion left them, `|`-separated (text the shell's own display of the
/// line never holds).
fn complete_line(pty: &mut Pty, line: &str, want: &str) {
    pty.send(line);
    pty.send("\t");
    std::thread::sleep(std::time::Duration::from_millis(500));
    pty.send("\x01printf '%s|' \r");
    let words: Vec<&str> = want.split(' ').collect();
    pty.expect(&format!("{}|", words.join("|")));
}

/// Item 2: after `--`, command names at the first word and files after, in
/// bash (with and without the bash-completion package), zsh and fish, each
/// the real shell in a PTY with `mfa-exec completions SHELL` loaded; before
/// `--`, profile names still complete.
#[test]
fn completion_after_dashes_in_real_shells() {
    let env = completion_env();
    let snap = env.snapshot();
    let bash_completion = "/usr/share/bash-completion/bash_completion";
    let mut shells: Vec<(&str, Vec<&str>, String)> = vec![
        (
            "bash",
            vec!["--norc", "--noprofile", "-i"],
            "PS1='P> '; source <(mfa-exec completions bash)".to_string(),
        ),
        (
            "zsh",
            vec!["-f", "-i"],
            "PS1='P> '; autoload -U compinit; compinit -u; source <(mfa-exec completions zsh)"
                .to_string(),
        ),
        (
            "fish",
            vec!["--no-config", "-i"],
            "function fish_prompt; echo 'P> '; end; mfa-exec completions fish | source".to_string(),
        ),
    ];
    if std::path::Path::new(bash_completion).exists() {
        shells.push((
            "bash",
            vec!["--norc", "--noprofile", "-i"],
            format!("PS1='P> '; source {bash_completion}; source <(mfa-exec completions bash)"),
        ));
    } else {
        eprintln!("SKIPPED: bash with bash-completion ({bash_completion} is not installed)");
    }
    for (shell, args, setup) in shells {
        let Ok(program) = which::which(shell) else {
            eprintln!("SKIPPED: {shell} is not installed (.ci/run installs it)");
            continue;
        };
        let mut pty = env.pty_program(&program, &args, None);
        pty.send(&format!("{setup}\r"));
        pty.send("echo RE\"\"ADY\r");
        pty.expect("READY");
        complete_line(&mut pty, "mfa-exec te", "mfa-exec test");
        complete_line(
            &mut pty,
            "mfa-exec test -- zzmfax",
            "mfa-exec test -- zzmfaxcmd1",
        );
        complete_line(
            &mut pty,
            "mfa-exec test -- cat hosts-u",
            "mfa-exec test -- cat hosts-unique.txt",
        );
        pty.send("exit\r");
        let (code, out) = pty.wait_with_output();
        assert_eq!(code, 0, "{shell} {setup}:\n{out}");
    }
    env.assert_unchanged(&snap);
}

/// Item 16: `configure test` re-run on the seed layout with every default
/// accepted changes nothing ("nothing to change", exit 0); a change shows its
/// section; declining exits 0 with "nothing written".
#[test]
fn configure_rerun_names_the_section_and_declining_is_not_a_failure() {
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let defaults = |pty: &mut Pty, duration: &str| {
        pty.expect("Profile holding the long-term keys");
        pty.send_line("");
        pty.expect("MFA device ARN");
        pty.send_line("");
        pty.expect("Region");
        pty.send_line("");
        pty.expect("Session duration");
        pty.send_line(duration);
    };
    let mut pty = env.pty(&["configure", "test"], None);
    defaults(&mut pty, "");
    let (code, out) = pty.wait_with_output();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with(
            "mfa-exec: profile 'test' is already configured that way; nothing to change\r\n"
        ),
        "{out}"
    );
    assert!(!out.contains("+ "), "nothing proposed: {out}");
    env.assert_unchanged(&snap);

    let mut pty = env.pty(&["configure", "test"], None);
    defaults(&mut pty, "8h");
    pty.expect("~/.aws/config:\r\n  [profile test]\r\n  + duration_seconds = 28800\r\n");
    pty.expect("Write these changes?");
    pty.send_line("n");
    let (code, out) = pty.wait_with_output();
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("mfa-exec: nothing written\r\n"), "{out}");
    env.assert_unchanged(&snap);
}

/// Item 14: with no AWS files at all, the hint points at `configure` (`list`
/// would show nothing); nothing is created.
#[test]
fn no_aws_files_hint_points_at_configure() {
    let env = TestEnv::new();
    let snap = env.snapshot();
    env.cmd(&["test", "--", "touch", "ran"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: profile 'test' not found in ~/.aws/config or ~/.aws/credentials\nhint: there are no profiles yet; set one up with 'mfa-exec configure test'\n");
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
    assert_eq!(env.aws_dir_entries(), Vec::<String>::new());
}

/// Item 14: the install lines work on a fresh machine (`mkdir -p` first, and
/// a way without the bash-completion package), in `completions --help` and
/// the README; the man page lists AWS_CA_BUNDLE and the proxy variables, and
/// shows `clear` as it parses.
#[test]
fn install_lines_and_man_page_for_a_fresh_machine() {
    let env = TestEnv::new();
    let out = env
        .cmd(&["completions", "--help"])
        .assert()
        .success()
        .get_output()
        .clone();
    let help = String::from_utf8(out.stdout).unwrap();
    for line in [
        "    mkdir -p ~/.local/share/bash-completion/completions\n    mfa-exec completions bash > ~/.local/share/bash-completion/completions/mfa-exec\n",
        "  bash without it: add to ~/.bashrc\n    source <(mfa-exec completions bash)\n",
        "    mkdir -p ~/.zfunc && mfa-exec completions zsh > ~/.zfunc/_mfa-exec\n",
        "    mkdir -p ~/.config/fish/completions\n    mfa-exec completions fish > ~/.config/fish/completions/mfa-exec.fish",
    ] {
        assert!(help.contains(line), "{line:?} not in:\n{help}");
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for line in [
        "- bash: `mkdir -p ~/.local/share/bash-completion/completions && cp completions/mfa-exec.bash ~/.local/share/bash-completion/completions/mfa-exec`",
        "- zsh: `mkdir -p ~/.zfunc && cp completions/_mfa-exec ~/.zfunc/`",
        "- fish: `mkdir -p ~/.config/fish/completions && cp completions/mfa-exec.fish ~/.config/fish/completions/`",
    ] {
        assert!(readme.contains(line), "README lacks {line}");
    }
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/mfa-exec.1")).unwrap();
    for text in [
        "\\fBAWS_CA_BUNDLE\\fR",
        "\\fBHTTPS_PROXY, HTTP_PROXY, ALL_PROXY\\fR",
        "\\fBNO_PROXY\\fR",
        "\\fBmfa\\-exec clear\\fR [OPTIONS] <PROFILE>...\n.br\n\\fBmfa\\-exec clear\\fR [OPTIONS] \\-\\-all",
    ] {
        assert!(man.contains(text), "man page lacks {text:?}");
    }
}

/// Item 8: a device inherited from `[default]` by a profile that does not
/// name it is said once in `-v` and by `list` (a note after the table; the
/// JSON says `device_from_default`).
#[test]
fn device_from_default_is_said() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config("[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/d\n\n[profile solo]\nregion = eu-north-1\n\n[profile test]\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\n");
    env.write_credentials(&format!("{SEED_CREDENTIALS}[solo]\naws_access_key_id = {SEED_KEY_ID}\naws_secret_access_key = {SEED_SECRET}\n"));
    let snap = env.snapshot();
    env.cmd(&["list"])
        .assert()
        .success()
        .stdout("PROFILE      SOURCE       KEYS  DEVICE                              STATE\nsolo         solo         file  arn:aws:iam::123456789012:mfa/d     none\ntest         testAccount  file  arn:aws:iam::123456789012:mfa/test  none\ntestAccount  testAccount  file  arn:aws:iam::123456789012:mfa/d     none\n")
        .stderr("mfa-exec: the MFA device of 'solo', 'testAccount' comes from [default] (none of its own or along its source_profile chain)\n");
    let out = env
        .cmd(&["list", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flags: Vec<(String, bool)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["profile"].as_str().unwrap().to_string(),
                r["device_from_default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("solo".into(), true),
            ("test".into(), false),
            ("testAccount".into(), true)
        ]
    );
    env.assert_unchanged(&snap);
    let out = env
        .cmd_with_sts(&["-v", "solo", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    let line = "mfa-exec: profile 'solo' has no MFA device of its own: using arn:aws:iam::123456789012:mfa/d from [default] (~/.aws/config:2 [default])\n";
    assert_eq!(err.matches(line).count(), 1, "{err}");
    let out = env
        .cmd_with_sts(&["-v", "test", "-t", "654321", "--", "true"], &sts)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!String::from_utf8(out.stderr)
        .unwrap()
        .contains("from [default]"));
}

/// Item 9: `list` shows that a run needs no code when a fresh session of the
/// same source and device sits in another section ("none, reuses [test]"),
/// and a session that is a listed profile's to reuse is not an orphan row.
#[test]
fn list_says_what_a_run_reuses() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let mut config = SEED_CONFIG.to_string();
    config.push_str("\n[profile work3]\nsource_profile = testAccount\n");
    env.write_config(&config);
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let snap = env.snapshot();
    let out = env.cmd(&["list"]).assert().success().get_output().clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let state = |p: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(p))
            .unwrap_or_else(|| panic!("no {p} row in\n{text}"))
            .split("  ")
            .filter(|c| !c.is_empty())
            .last()
            .unwrap()
            .trim()
            .to_string()
    };
    assert!(state("test").starts_with("valid, "), "{text}");
    assert_eq!(state("testAccount"), "none, reuses [test]", "{text}");
    assert_eq!(state("work3"), "none, reuses [test]", "{text}");
    assert_eq!(text.lines().count(), 4, "header and three rows:\n{text}");
    let out = env
        .cmd(&["list", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reuses: Vec<(&str, &str, Option<&str>)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["profile"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
                r["reuses"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        reuses,
        [
            ("test", "valid", None),
            ("testAccount", "none", Some("test")),
            ("work3", "none", Some("test"))
        ]
    );
    env.assert_unchanged(&snap);

    // After `keys move --to keyring` the session of testAccount goes to
    // [testAccount]; the one left in [testAccount-mfa] is its to reuse, not
    // an orphan row with KEYS '-'.
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile testAccount]\nmfa_exec_keys = keyring\nmfa_serial = {SEED_SERIAL}\n"
    ));
    let exp = (chrono::Utc::now() + chrono::Duration::hours(6)).format("%Y-%m-%dT%H:%M:%SZ");
    env.write_credentials(&format!("[testAccount-mfa]\naws_access_key_id = ASIAIOSFODNN7TESTTES\naws_secret_access_key = s\naws_session_token = t\nx_security_token_expires = {exp}\nx_mfa_exec_source = testAccount\nx_mfa_exec_serial = {SEED_SERIAL}\n"));
    env.cmd(&["list"])
        .assert()
        .success()
        .stdout(format!("PROFILE      SOURCE       KEYS                            DEVICE                              STATE\ntestAccount  testAccount  keyring (mfa-exec/testAccount)  {SEED_SERIAL}  none, reuses [testAccount-mfa]\n"));
}

/// Item 13: the first role run says, once, which profile other tools use;
/// the second run (cached) and a refresh into the existing section do not.
#[test]
fn first_role_run_names_the_profile_for_other_tools() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let mut config = SEED_CONFIG.to_string();
    config.push_str("\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\n");
    env.write_config(&config);
    let note = "mfa-exec: the role session of 'prod' is in [prod-mfa] of ~/.aws/credentials: other tools use it as 'aws --profile prod-mfa' ('aws --profile prod' starts the AWS CLI's own MFA prompt)\n";
    let run = |args: &[&str]| {
        let out = env
            .cmd_with_sts(args, &sts)
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(out.stderr).unwrap()
    };
    let first = run(&["prod", "-t", "123456", "--", "true"]);
    assert_eq!(first.matches(note).count(), 1, "{first}");
    let cached = run(&["prod", "--", "true"]);
    assert!(!cached.contains("other tools"), "{cached}");
    let forced = run(&["prod", "-f", "-t", "654321", "--", "true"]);
    assert!(!forced.contains("other tools"), "{forced}");
    assert!(env.read_credentials().contains("[prod-mfa]"));
}

/// Items 12 and 13: the README says why the seed layout works, the standard
/// layout, what `user_arn` is for, and which profile other tools use.
#[test]
fn readme_explains_the_seed_layout_and_prod_mfa() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for text in [
        "the AWS CLI ignores a bare `[testAccount]` in the config file",
        "The standard layout, which `mfa-exec configure test` writes, puts the device in the profile itself",
        "`user_arn` is read only by `configure`",
        "the role session is `aws --profile prod-mfa`: `aws --profile prod` starts the AWS CLI's own assume-role flow",
    ] {
        assert!(flat.contains(text), "README lacks: {text}");
    }
}

/// Item 15: the demo says which mfa-exec it uses and takes `--bin` / `--build`;
/// a wrong argument or binary is refused before anything is set up.
#[test]
fn demo_script_chooses_its_binary() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.sh");
    let env = TestEnv::new();
    let out = env.other_cmd("bash", &[script, "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("scripts/demo.sh --bin PATH       # this mfa-exec binary"),
        "{help}"
    );
    assert!(
        help.contains("Which mfa-exec: --bin PATH, else the `mfa-exec` on PATH"),
        "{help}"
    );
    let out = env
        .other_cmd("bash", &[script, "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "demo: unknown argument '--bogus' (see --help)\n"
    );
    let missing = env.home().join("no-such-mfa-exec");
    let out = env
        .other_cmd("bash", &[script, "--bin", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "demo: {} is not an executable mfa-exec\n",
            missing.display()
        )
    );
    assert_eq!(env.aws_dir_entries(), Vec::<String>::new());
}
