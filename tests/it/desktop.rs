//! Prompts without a terminal (issue 23, SPEC §9.3): a real zenity window
//! under a private Xvfb, found by its title and typed into with xdotool, with
//! mfa-exec run with no controlling terminal (`setsid`, as an IDE runs
//! `credential_process`); kdialog and osascript through stand-in programs on
//! `PATH` that record their argv and environment (no KDE or macOS here).

use crate::support::desktop::{target_dir, Xvfb};
use crate::support::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CODES_FILE: &str = ".credentials.mfa-exec.codes";
/// The dialog's text for the seed profile.
const ASK: &str = "MFA code for test (arn:aws:iam::123456789012:mfa/test):";
const FIND: Duration = Duration::from_secs(30);

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sent_codes(sts: &FakeSts) -> Vec<String> {
    sts.requests()
        .iter()
        .map(|r| r.param("TokenCode").unwrap_or_default().to_string())
        .collect()
}

/// `credential-process test` with no terminal on `display`, started now.
fn spawn_cp(env: &TestEnv, sts: &FakeSts, display: &str, extra: &[&str]) -> std::process::Child {
    let mut args = vec!["credential-process", "test"];
    args.extend_from_slice(extra);
    let mut c = env.std_cmd_with_sts(&args, sts);
    c.env("DISPLAY", display)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c.spawn().expect("spawn mfa-exec")
}

fn finish(child: std::process::Child) -> std::process::Output {
    let mut child = child;
    match wait_timeout::ChildExt::wait_timeout(&mut child, Duration::from_secs(60)).unwrap() {
        Some(_) => child.wait_with_output().unwrap(),
        None => {
            let _ = child.kill();
            panic!("mfa-exec did not finish within 60 s");
        }
    }
}

fn assert_credentials_json(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(out));
    let j = json_of(out);
    assert_eq!(j["Version"], 1);
    assert!(
        j["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with(ISSUED_KEY_PREFIX),
        "{j}"
    );
    assert!(j["Expiration"].is_string(), "{j}");
}

/// The IDE case: no terminal, a display, `credential-process` opens a real
/// zenity window titled mfa-exec; the code typed there goes to STS once and
/// the JSON comes out. The screenshot is left in target/ for a person.
#[test]
fn zenity_window_without_a_terminal_gives_the_json() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let child = spawn_cp(&env, &sts, &x.display, &[]);
    let d = x.find_dialog(FIND);
    // Let GTK draw it before the screenshot.
    std::thread::sleep(Duration::from_millis(500));
    let shot = target_dir().join("desktop-dialog.png");
    x.screenshot(&shot);
    assert_eq!(sts.count(), 0, "nothing sent before the code is typed");
    x.type_text("123456");
    x.key("Return");
    let out = finish(child);
    assert_credentials_json(&out);
    assert_eq!(
        stderr_of(&out),
        format!(
            "mfa-exec: using STS at {} (from $AWS_ENDPOINT_URL_STS)\n",
            sts.url()
        )
    );
    assert_eq!(sent_codes(&sts), ["123456"]);
    assert_eq!(sts.count(), 1);
    assert!(env.read_credentials().contains("[test]"));
    // The dialog's process is gone with the run.
    // SAFETY: kill(pid, 0) only checks the process exists.
    assert_ne!(unsafe { libc::kill(d.pid as i32, 0) }, 0);
    eprintln!("screenshot: {}", shot.display());
}

/// A typo, then the right code: two dialogs (the second says what was
/// wrong), one request.
#[test]
fn zenity_typo_then_right_code_is_one_request() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let child = spawn_cp(&env, &sts, &x.display, &[]);
    let first = x.find_dialog(FIND);
    x.type_text("12345");
    x.key("Return");
    let second = x.next_dialog(Some(first.pid), FIND);
    std::thread::sleep(Duration::from_millis(500));
    x.screenshot(&target_dir().join("desktop-dialog-retry.png"));
    assert_eq!(sts.count(), 0, "a malformed code is never sent");
    x.type_text("654321");
    x.key("Return");
    let out = finish(child);
    assert_credentials_json(&out);
    assert_ne!(first.pid, second.pid);
    assert_eq!(sent_codes(&sts), ["654321"]);
}

/// Cancel (Escape) or closing the window is the Ctrl-C outcome: nothing
/// sent, nothing written; credential-process exits 125 with one line, the
/// main form 130 without running the command.
#[test]
fn zenity_cancel_sends_nothing_and_writes_nothing() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let child = spawn_cp(&env, &sts, &x.display, &[]);
    x.find_dialog(FIND);
    x.key("Escape");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: error: the zenity dialog for the MFA code of profile 'test' was cancelled; nothing was sent\n"
    );
    let mut c = env.std_cmd_with_sts(&["test", "--", "touch", "ran"], &sts);
    c.env("DISPLAY", &x.display)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    // Closing the window (no window manager here: the window destroyed).
    let d = x.find_dialog(FIND);
    let ok = std::process::Command::new("xdotool")
        .args(["windowclose", &d.window])
        .env("DISPLAY", &x.display)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: error: the zenity dialog for the MFA code of profile 'test' was cancelled; nothing was sent\n"
    );
    assert!(!env.home().join("ran").exists());
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
    assert!(!env.aws_dir().join(CODES_FILE).exists(), "no code claimed");
}

/// A dialog nobody answers is closed at mfa_exec_prompt_timeout, with one
/// line saying so; nothing is sent.
#[test]
fn zenity_left_alone_is_closed_at_the_timeout() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.write_config(&format!("{SEED_CONFIG}mfa_exec_prompt_timeout = 3s\n"));
    let snap = env.snapshot();
    let child = spawn_cp(&env, &sts, &x.display, &[]);
    // Seen while it is open (a loaded machine may draw it late: then the
    // message below still says it was closed at the timeout).
    let seen = x.try_find_dialog(Duration::from_secs(3));
    let out = finish(child);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        stderr_of(&out),
        "mfa-exec: error: the zenity dialog for the MFA code of profile 'test' was not answered within 3s; it was closed and nothing was sent\nhint: answer it within mfa_exec_prompt_timeout (3s), or raise it\n"
    );
    match seen {
        // SAFETY: kill(pid, 0) only checks the process exists.
        Some(d) => assert_ne!(
            unsafe { libc::kill(d.pid as i32, 0) },
            0,
            "zenity was killed"
        ),
        None => eprintln!("note: the dialog was not drawn before the timeout"),
    }
    assert!(!x.dialog_visible());
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// The credential-process budget closes a dialog too (here 3 s through the
/// debug-only test hook), and everything the program started goes with it.
#[test]
fn dialog_is_closed_at_the_credential_process_budget() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let pidfile = env.home().join("sleep.pid");
    let bin = bin_dir(&env);
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("kdialog");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n/bin/sleep 100 &\necho $! > '{}'\nwait\n",
            pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = path_with(&bin);
    let env = env
        .with_env("PATH", &path)
        .with_env("DISPLAY", ":77")
        .with_env("MFA_EXEC_TEST_BUDGET_MS", "3000");
    let snap = env.snapshot();
    let out = env
        .cmd_with_sts(&["credential-process", "test", "--prompt", "kdialog"], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(out.stdout, b"");
    let err = stderr_of(&out);
    let (head, rest) = err
        .split_once(" was not answered within ")
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        head,
        "mfa-exec: error: the kdialog dialog for the MFA code of profile 'test'"
    );
    let (secs, tail) = rest.split_once('s').unwrap();
    assert!(secs.parse::<u64>().is_ok_and(|s| s <= 3), "{err}");
    assert_eq!(
        tail,
        "; it was closed and nothing was sent\nhint: the caller of credential-process waits 60 s at most; run 'mfa-exec test' in a terminal first\n"
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // What the dialog started is stopped with it (its process group).
    let start = std::time::Instant::now();
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().chars().next()))
            .flatten();
        if matches!(state, None | Some('Z') | Some('X')) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sleep {pid} is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// The reuse guard in a dialog: the code typed for one source is typed again
/// for another source with the same device: refused locally, and the next
/// dialog asks for the next code, which is sent.
#[test]
fn zenity_reuse_guard_asks_for_the_next_code() {
    let Some(x) = Xvfb::start() else { return };
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}\n[profile other]\nsource_profile = otherAccount\nmfa_serial = {SEED_SERIAL}\n"
    ));
    env.write_credentials(&format!(
        "{SEED_CREDENTIALS}\n[otherAccount]\naws_access_key_id = AKIAOTHEREXAMPLE0001\naws_secret_access_key = otherSecretKeyExampleOtherSecretKeyExamp\n"
    ));
    let child = spawn_cp(&env, &sts, &x.display, &[]);
    x.find_dialog(FIND);
    x.type_text("123456");
    x.key("Return");
    assert_credentials_json(&finish(child));
    let mut c = env.std_cmd_with_sts(&["credential-process", "other"], &sts);
    c.env("DISPLAY", &x.display)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let first = x.find_dialog(FIND);
    x.type_text("123456");
    x.key("Return");
    let _second = x.next_dialog(Some(first.pid), FIND);
    std::thread::sleep(Duration::from_millis(500));
    x.screenshot(&target_dir().join("desktop-dialog-reused.png"));
    assert_eq!(sts.count(), 1, "refused locally");
    x.type_text("654321");
    x.key("Return");
    assert_credentials_json(&finish(child));
    assert_eq!(sent_codes(&sts), ["123456", "654321"]);
}

/// A stand-in dialog program: records each call's arguments (one file per
/// argument) and environment (`export -p`), then prints `answers[n]` (or
/// exits with the status in `exits[n]`); only sh builtins and /bin/cat.
struct StandIn {
    dir: PathBuf,
}

impl StandIn {
    fn new(env: &TestEnv, name: &str, answers: &[&str], exits: &[i32]) -> StandIn {
        let dir = env.home().join(format!("{name}-calls"));
        let bin = env.home().join("bin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        for (i, a) in answers.iter().enumerate() {
            std::fs::write(dir.join(format!("answer{}", i + 1)), a).unwrap();
        }
        for (i, e) in exits.iter().enumerate() {
            std::fs::write(dir.join(format!("exit{}", i + 1)), e.to_string()).unwrap();
        }
        let script = format!(
            r#"#!/bin/sh
d='{d}'
n=0
[ -f "$d/n" ] && read n < "$d/n"
n=$((n+1))
echo $n > "$d/n"
i=0
for a in "$@"; do i=$((i+1)); printf '%s' "$a" > "$d/call$n.arg$i"; done
export -p > "$d/call$n.env"
e=0
[ -f "$d/exit$n" ] && read e < "$d/exit$n"
[ "$e" = segv ] && kill -SEGV $$
[ -f "$d/answer$n" ] && /bin/cat "$d/answer$n"
exit $e
"#,
            d = dir.display()
        );
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        StandIn { dir }
    }

    fn calls(&self) -> usize {
        std::fs::read_to_string(self.dir.join("n"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0)
    }

    fn argv(&self, call: usize) -> Vec<String> {
        (1..)
            .map(|i| self.dir.join(format!("call{call}.arg{i}")))
            .take_while(|p| p.exists())
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The names of the variables it saw.
    fn env_names(&self, call: usize) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.join(format!("call{call}.env"))).unwrap();
        let mut names: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .map(|l| l.split('=').next().unwrap().to_string())
            .filter(|n| n != "PWD" && n != "OLDPWD")
            .collect();
        names.sort();
        names
    }
}

fn bin_dir(env: &TestEnv) -> PathBuf {
    env.home().join("bin")
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    )
}

fn kdialog_argv(text: &str) -> Vec<String> {
    ["--title", "mfa-exec", "--password", text]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// kdialog (no KDE here): the exact argv of each call, the texts that say
/// what was wrong (a malformed code, a code STS rejected), an environment
/// without AWS secrets, and the JSON after the right code.
#[test]
fn kdialog_stand_in_argv_texts_and_environment() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("222222"));
    let env = TestEnv::seeded();
    env.write_config(&format!("{SEED_CONFIG}mfa_exec_prompt = kdialog\n"));
    let k = StandIn::new(&env, "kdialog", &["12ab\n", "111111\n", "222222\n"], &[]);
    let path = path_with(&bin_dir(&env));
    let env = env
        .with_env("PATH", &path)
        .with_env("DISPLAY", ":77")
        .with_env("AWS_SECRET_ACCESS_KEY", "inheritedSecret")
        .with_env("AWS_SESSION_TOKEN", "inheritedToken");
    let out = env
        .cmd_with_sts(&["credential-process", "test"], &sts)
        .output()
        .unwrap();
    assert_credentials_json(&out);
    assert_eq!(k.calls(), 3);
    assert_eq!(k.argv(1), kdialog_argv(ASK));
    assert_eq!(
        k.argv(2),
        kdialog_argv(&format!("a code is exactly 6 digits; try again\n\n{ASK}"))
    );
    assert_eq!(
        k.argv(3),
        kdialog_argv(&format!(
            "STS rejected that code (wrong or already used); wait for the next one\n\n{ASK}"
        ))
    );
    assert_eq!(sent_codes(&sts), ["111111", "222222"]);
    // Our environment less every AWS_* variable (the test env's files and
    // endpoint, and the inherited keys): nothing secret reaches it.
    assert_eq!(
        k.env_names(1),
        ["DISPLAY", "HOME", "LANG", "PATH", "RUST_BACKTRACE"]
    );
}

/// The reuse guard's text in a dialog: the code already sent is refused
/// locally with when the next one appears.
#[test]
fn stand_in_reuse_guard_text() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.write_config(&format!("{SEED_CONFIG}mfa_exec_prompt = kdialog\n"));
    let k = StandIn::new(&env, "kdialog", &["123456", "123456", "654321"], &[]);
    let path = path_with(&bin_dir(&env));
    let env = env.with_env("PATH", &path).with_env("DISPLAY", ":77");
    env.cmd_with_sts(&["credential-process", "test"], &sts)
        .assert()
        .success();
    env.cmd_with_sts(&["credential-process", "test", "--force"], &sts)
        .assert()
        .success();
    assert_eq!(k.calls(), 3);
    let text = k.argv(3)[3].clone();
    let (note, ask) = text.split_once("\n\n").unwrap();
    assert_eq!(ask, ASK);
    assert!(note.starts_with("that code was used "), "{note}");
    assert!(
        note.contains(" s ago; the next code appears in ") && note.ends_with(" s; not sent"),
        "{note}"
    );
    assert_eq!(sent_codes(&sts), ["123456", "654321"]);
}

/// osascript (no macOS here): the script takes the text through argv (never
/// pasted into AppleScript), and "User canceled" (-128) is the Ctrl-C
/// outcome.
#[test]
fn osascript_stand_in_argv_and_cancel() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let o = StandIn::new(&env, "osascript", &["123456\n"], &[]);
    let path = path_with(&bin_dir(&env));
    let env = env.with_env("PATH", &path);
    let out = env
        .cmd_with_sts(
            &["credential-process", "test", "--prompt", "osascript"],
            &sts,
        )
        .output()
        .unwrap();
    assert_credentials_json(&out);
    assert_eq!(
        o.argv(1),
        [
            "-e",
            "on run argv",
            "-e",
            "display dialog (item 1 of argv) default answer \"\" with hidden answer with title \"mfa-exec\"",
            "-e",
            "return text returned of result",
            "-e",
            "end run",
            ASK,
        ]
    );
    assert_eq!(o.env_names(1), ["HOME", "LANG", "PATH", "RUST_BACKTRACE"]);
    // Cancel: osascript exits 1 saying "User canceled. (-128)".
    let env2 = TestEnv::seeded();
    let bin = bin_dir(&env2);
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("osascript");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '0:59: execution error: User canceled. (-128)' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env2 = env2.with_env("PATH", &path_with(&bin));
    let snap = env2.snapshot();
    env2.cmd_with_sts(&["test", "--prompt", "osascript", "--", "touch", "ran"], &sts)
        .assert()
        .code(130)
        .stderr("mfa-exec: error: the osascript dialog for the MFA code of profile 'test' was cancelled; nothing was sent\n");
    env2.assert_unchanged(&snap);
    assert!(!env2.home().join("ran").exists());
    assert_eq!(sts.count(), 1);
}

/// A program that is missing, crashes, fails or prints garbage: one clear
/// error, exit 125, nothing written, no code spent.
#[test]
fn broken_dialog_programs_fail_cleanly() {
    let sts = FakeSts::start();
    // Missing: zenity asked for, not on PATH.
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd_with_sts(&["credential-process", "test", "--prompt", "zenity"], &sts)
        .env("DISPLAY", ":77")
        .env("PATH", "/nonexistent")
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: cannot ask for the MFA code of profile 'test': zenity is not on PATH; nothing was sent\nhint: mfa_exec_prompt is zenity (--prompt); install it, or set mfa_exec_prompt = auto\n");
    // No display for zenity.
    env.cmd_with_sts(&["credential-process", "test", "--prompt", "zenity"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: cannot ask for the MFA code of profile 'test' in a zenity dialog: there is no display (DISPLAY and WAYLAND_DISPLAY are not set); nothing was sent\nhint: mfa_exec_prompt is zenity (--prompt); run it on the desktop, or set mfa_exec_prompt = auto\n");
    env.assert_unchanged(&snap);
    let cases: [(&str, &str, &[i32], String); 3] = [
        ("crash", "", &[], String::from("segv")),
        ("fail", "oops\n", &[3], String::new()),
        ("garbage", "123456\n654321\n", &[], String::new()),
    ];
    for (what, answer, exits, special) in cases {
        let env = TestEnv::seeded();
        let k = StandIn::new(&env, "kdialog", &[answer], exits);
        if !special.is_empty() {
            std::fs::write(k.dir.join("exit1"), &special).unwrap();
        }
        let bin = bin_dir(&env);
        let env = env
            .with_env("PATH", &path_with(&bin))
            .with_env("DISPLAY", ":77");
        let snap = env.snapshot();
        let shown = bin.join("kdialog");
        let want = match what {
            "crash" => format!("mfa-exec: error: kdialog ({}) failed (killed by signal 11); nothing was sent\nhint: pass --token-code / MFA_EXEC_TOKEN_CODE, or set mfa_exec_prompt to another program\n", shown.display()),
            "fail" => format!("mfa-exec: error: kdialog ({}) failed (exit status 3); nothing was sent\nhint: pass --token-code / MFA_EXEC_TOKEN_CODE, or set mfa_exec_prompt to another program\n", shown.display()),
            _ => format!("mfa-exec: error: kdialog ({}) printed something that is not an answer (14 bytes); nothing was sent\nhint: a dialog prints the typed text on one line; set mfa_exec_prompt to another program\n", shown.display()),
        };
        env.cmd_with_sts(&["credential-process", "test", "--prompt", "kdialog"], &sts)
            .assert()
            .code(125)
            .stdout("")
            .stderr(want);
        assert_eq!(k.calls(), 1, "{what}: asked once");
        env.assert_unchanged(&snap);
        assert!(
            !env.aws_dir().join(CODES_FILE).exists(),
            "{what}: no code claimed"
        );
    }
    assert_eq!(sts.count(), 0);
}

/// `auto` with a terminal still uses the terminal, even with a display and a
/// dialog program there.
#[test]
fn auto_with_a_terminal_uses_the_terminal() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let z = StandIn::new(&env, "zenity", &["999999\n"], &[]);
    let path = path_with(&bin_dir(&env));
    let env = env.with_env("PATH", &path).with_env("DISPLAY", ":77");
    let mut pty = env.pty(&["test", "--", "echo", "RAN"], Some(&sts));
    pty.expect(&format!("{ASK} "));
    pty.send_line("123456");
    pty.expect("RAN");
    assert_eq!(pty.wait(), 0);
    assert_eq!(z.calls(), 0, "no dialog with a terminal");
    assert_eq!(sent_codes(&sts), ["123456"]);
}

/// `auto` with neither a terminal nor a display (or no dialog program):
/// today's error, with a hint naming mfa_exec_prompt.
#[test]
fn auto_without_terminal_or_display_names_the_setting() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.cmd_with_sts(&["credential-process", "test"], &sts)
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: no terminal to ask for the MFA code of profile 'test'\nhint: run 'mfa-exec test' in a terminal once, or pass --token-code / MFA_EXEC_TOKEN_CODE; a desktop dialog (mfa_exec_prompt = auto, zenity, kdialog) needs DISPLAY or WAYLAND_DISPLAY, and neither is set\n");
    env.cmd_with_sts(&["credential-process", "test"], &sts)
        .env("DISPLAY", ":77")
        .env("PATH", "/nonexistent")
        .assert()
        .code(125)
        .stderr("mfa-exec: error: no terminal to ask for the MFA code of profile 'test'\nhint: run 'mfa-exec test' in a terminal once, or pass --token-code / MFA_EXEC_TOKEN_CODE; a desktop dialog (mfa_exec_prompt = auto, zenity, kdialog) needs zenity or kdialog on PATH, and none is there\n");
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// The setting: from the profile's or its source's section, MFA_EXEC_PROMPT
/// and --prompt (in that order of precedence), checked before anything
/// happens, and shown by explain with the prompt a run would use.
#[test]
fn setting_precedence_validation_and_explain() {
    let env = TestEnv::seeded();
    env.write_config(&SEED_CONFIG.replace(
        "[testAccount]\n",
        "[testAccount]\nmfa_exec_prompt = kdialog\n",
    ));
    let explain = |env: &TestEnv, extra: &[(&str, &str)], args: &[&str]| -> String {
        let mut a = vec!["explain", "test"];
        a.extend_from_slice(args);
        let mut c = env.cmd(&a);
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("prompt "))
            .unwrap_or_else(|| panic!("no prompt line"))
            .to_string()
    };
    let k = StandIn::new(&env, "kdialog", &[], &[]);
    let path = path_with(&bin_dir(&env));
    let kd = bin_dir(&env).join("kdialog");
    let line = explain(&env, &[("DISPLAY", ":77"), ("PATH", &path)], &[]);
    assert_eq!(
        line,
        format!(
            "prompt          kdialog: kdialog dialog ({})  (~/.aws/config:3 [testAccount])",
            kd.display()
        )
    );
    let line = explain(&env, &[("MFA_EXEC_PROMPT", "terminal")], &[]);
    assert_eq!(
        line,
        "prompt          terminal: the terminal (only when mfa-exec is in its foreground)  ($MFA_EXEC_PROMPT)"
    );
    let line = explain(
        &env,
        &[("MFA_EXEC_PROMPT", "terminal")],
        &["--prompt", "auto"],
    );
    assert_eq!(
        line,
        "prompt          auto: none: no terminal, and a desktop dialog needs DISPLAY or WAYLAND_DISPLAY, and neither is set  (--prompt)"
    );
    assert_eq!(k.calls(), 0, "explain never opens a dialog");
    // A value that is none of the five: refused before anything happens.
    env.write_config(&format!("{SEED_CONFIG}mfa_exec_prompt = popup\n"));
    let snap = env.snapshot();
    env.cmd(&["test", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: mfa_exec_prompt (~/.aws/config:9 [profile test]) is 'popup', which is not a way to ask for a code\nhint: use one of: auto, terminal, zenity, kdialog, osascript\n");
    env.write_config(&format!("{SEED_CONFIG}mfa_exec_prompt_timeout = 0s\n"));
    env.cmd(&["test", "--", "true"])
        .assert()
        .code(125)
        .stderr("mfa-exec: error: mfa_exec_prompt_timeout in ~/.aws/config:9 [profile test] is 0s; it must be between 1s and 1h\nhint: run 'mfa-exec explain test'\n");
    env.write_config(SEED_CONFIG);
    env.cmd(&["test", "--", "true"])
        .env("MFA_EXEC_PROMPT", "Zenity")
        .assert()
        .code(125)
        .stderr("mfa-exec: error: mfa_exec_prompt ($MFA_EXEC_PROMPT) is 'Zenity', which is not a way to ask for a code\nhint: use one of: auto, terminal, zenity, kdialog, osascript\n");
    env.cmd(&["test", "--prompt", "popup", "--", "true"])
        .assert()
        .code(125);
    let _ = snap;
}

/// `--prompt` on `exec` and `export` too (the same session options as the
/// main form and credential-process), overriding MFA_EXEC_PROMPT.
#[test]
fn prompt_flag_on_exec_and_export() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let k = StandIn::new(&env, "kdialog", &["123456\n", "654321\n"], &[]);
    let path = path_with(&bin_dir(&env));
    let env = env
        .with_env("PATH", &path)
        .with_env("DISPLAY", ":77")
        .with_env("MFA_EXEC_PROMPT", "terminal");
    env.cmd_with_sts(
        &[
            "exec", "test", "--prompt", "kdialog", "--", "sh", "-c", "echo RAN",
        ],
        &sts,
    )
    .assert()
    .success()
    .stdout("RAN\n");
    let out = env
        .cmd_with_sts(&["export", "test", "--force", "--prompt", "kdialog"], &sts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("export AWS_SESSION_TOKEN="));
    assert_eq!(k.calls(), 2);
    assert_eq!(k.argv(2), kdialog_argv(ASK));
    assert_eq!(sent_codes(&sts), ["123456", "654321"]);
    // Without the flag, MFA_EXEC_PROMPT=terminal: no terminal, no dialog.
    env.cmd_with_sts(&["export", "test", "--force"], &sts)
        .assert()
        .code(125)
        .stderr("mfa-exec: error: no terminal to ask for the MFA code of profile 'test'\nhint: run 'mfa-exec test' in a terminal once, or pass --token-code / MFA_EXEC_TOKEN_CODE\n");
    assert_eq!(k.calls(), 2);
}

/// `auto` in a background job (a terminal, but not in its foreground): no
/// terminal prompt (no SIGTTIN), and with a display the dialog asks instead.
#[test]
fn auto_in_a_background_job_uses_the_dialog() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let z = StandIn::new(&env, "zenity", &["123456\n"], &[]);
    let path = path_with(&bin_dir(&env));
    let env = env.with_env("PATH", &path).with_env("DISPLAY", ":77");
    let script = format!(
        "set -m; '{}' credential-process test >out.json 2>err.txt & wait $!; echo rc=$?",
        bin_path().display()
    );
    let mut pty = env.pty_program(Path::new("/bin/sh"), &["-c", &script], Some(&sts));
    pty.expect("rc=0");
    assert_eq!(pty.wait(), 0);
    assert_eq!(z.calls(), 1);
    assert_eq!(
        z.argv(1),
        [
            "--entry",
            "--hide-text",
            "--title",
            "mfa-exec",
            "--text",
            ASK
        ]
    );
    let out = std::fs::read_to_string(env.home().join("out.json")).unwrap();
    assert!(out.contains("\"Version\":1"), "{out}");
    assert_eq!(sent_codes(&sts), ["123456"]);
}
