//! Where the code comes from, bounded and without trace (issue 12 items 4, 9):
//! `mfa_process_timeout` bounds the whole run of the process, and Ctrl-C at a
//! re-prompt leaves both files as they were.

use crate::support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits until process `pid` is gone (or a zombie waiting for init); panics
/// after `limit`.
fn assert_gone(pid: i32, limit: Duration) {
    let start = Instant::now();
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().chars().next()))
            .flatten();
        if matches!(state, None | Some('Z') | Some('X')) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "process {pid} is still running ({state:?})"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a process named `comm` runs in session `sid`; panics after 10 s.
fn wait_for_process_in_session(sid: i32, comm: &str) {
    let start = Instant::now();
    let wanted = format!("({comm})");
    loop {
        let found = std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                return false;
            };
            // pid (comm) state ppid pgrp session ...
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let open = stat.find('(').unwrap_or(0);
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            stat[open..=close] == wanted && fields.get(3) == Some(&sid.to_string().as_str())
        });
        if found {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no {comm} in session {sid}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(path: &std::path::Path) -> i32 {
    wait_for_file(path);
    let start = Instant::now();
    loop {
        if let Ok(pid) = std::fs::read_to_string(path).unwrap().trim().parse() {
            return pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no pid in {path:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` at most `limit`; kills it and panics past that.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mfa-exec still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `(sleep 40 &); echo 123456`: the shell exits at once but a grandchild holds
/// its output open. The code it printed is used without waiting for the
/// grandchild, and the grandchild (left in the process's own group, no
/// terminal) is stopped.
#[test]
fn process_exit_is_enough_a_grandchild_holding_the_output_is_not_waited_for() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("123456"));
    let env = TestEnv::new();
    let gpid = env.home().join("grandchild.pid");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = (sleep 40 & echo $! > {}); echo 123456\nmfa_process_timeout = 3\n",
        gpid.display()
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let err = env.home().join("stderr.txt");
    let mut cmd = env.std_cmd_with_sts(&["test", "--", "true"], &sts);
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = cmd.spawn().unwrap();
    // Generous: the grandchild would hold it for 40 s.
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    assert!(
        status.success(),
        "{status}: {}",
        std::fs::read_to_string(&err).unwrap()
    );
    assert_eq!(sts.count(), 1);
    assert_eq!(
        sts.last_request().unwrap().param("TokenCode"),
        Some("123456")
    );
    assert!(env.read_credentials().contains("\n[test]\n"));
    // The grandchild was stopped (gone, or a zombie waiting for init).
    assert_gone(read_pid(&gpid), Duration::from_secs(5));
}

/// The exact configuration of the report (the grandchild also keeps stderr):
/// finished well before the grandchild's 40 s, with the code it printed.
#[test]
fn process_timeout_bounds_the_run_exact_report() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("123456"));
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = (sleep 40 &); echo 123456\nmfa_process_timeout = 3\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let start = Instant::now();
    env.cmd_with_sts(&["test", "--", "true"], &sts)
        .timeout(Duration::from_secs(30))
        .assert()
        .success();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "waited for the grandchild: {:?}",
        start.elapsed()
    );
    assert_eq!(sts.count(), 1);
    assert_eq!(
        sts.last_request().unwrap().param("TokenCode"),
        Some("123456")
    );
}

/// A process that never exits is stopped at the timeout: exact error, 125,
/// nothing sent, nothing written.
#[test]
fn process_that_never_exits_is_stopped_at_the_timeout() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = echo 654321; exec sleep 30\nmfa_process_timeout = 1\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let snap = env.snapshot();
    env.cmd_with_sts(&["test", "--", "touch", "ran"], &sts)
        .timeout(Duration::from_secs(20))
        .assert()
        .code(125)
        .stdout("")
        .stderr("mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) gave no code within 1s; it was stopped\n");
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

const PROD: &str = "\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nduration_seconds = 3600\n";

/// A cached source session that STS refuses is dropped and the code asked
/// for again; STS rejects the typed code; Ctrl-C at the re-prompt. Both files
/// stay byte for byte as they were (the drop is written only with the new
/// session).
#[test]
fn ctrl_c_at_the_reprompt_after_a_rejected_code_leaves_both_files() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!("{SEED_CONFIG}{PROD}"));
    env.write_credentials(SEED_CREDENTIALS);
    // A cached MFA session of the source.
    env.cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .assert()
        .success();
    let snap = env.snapshot();
    sts.push_for("AssumeRole", Reply::expired_token());
    sts.push_for("GetSessionToken", Reply::invalid_mfa());
    let mut pty = env.pty(&["prod", "--", "touch", "ran"], Some(&sts));
    pty.expect("MFA code for prod (arn:aws:iam::123456789012:mfa/test): ");
    pty.send_line("111111");
    pty.expect("STS rejected that code (wrong or already used)");
    pty.expect("MFA code for prod (arn:aws:iam::123456789012:mfa/test): ");
    pty.send_ctrl_c();
    assert_eq!(pty.wait(), 130);
    let actions: Vec<_> = sts.requests().into_iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        ["GetSessionToken", "AssumeRole", "GetSessionToken"]
    );
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// Plain profile: STS rejects the first typed code, Ctrl-C at the re-prompt.
#[test]
fn ctrl_c_at_the_reprompt_plain_profile_leaves_both_files() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("222222"));
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    pty.expect("MFA code for test");
    pty.send_line("111111");
    pty.expect("STS rejected that code");
    pty.expect("MFA code for test");
    pty.send_ctrl_c();
    assert_eq!(pty.wait(), 130);
    assert_eq!(sts.count(), 1);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// On a terminal too, `mfa_process` runs as a job of its own: at its timeout
/// everything it started is stopped, not only its shell (a grandchild would
/// otherwise outlive mfa-exec, holding the terminal). Exact error, 125,
/// nothing sent, nothing written, the command not run.
#[test]
fn process_on_a_terminal_timeout_stops_what_it_started() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let gpid = env.home().join("grandchild.pid");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = sleep 60 & echo $! > {}; wait\nmfa_process_timeout = 2\n",
        gpid.display()
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let snap = env.snapshot();
    let pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    let (code, out) = pty.wait_within(Duration::from_secs(20));
    assert_eq!(
        out,
        "mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) gave no code within 2s; it was stopped\r\n"
    );
    assert_eq!(code, 125);
    assert_gone(read_pid(&gpid), Duration::from_secs(5));
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// `mfa_process` holds the terminal while it runs (it can read a prompt of its
/// own), and the terminal comes back for the command: both read it.
#[test]
fn process_on_a_terminal_reads_it_and_gives_it_back() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("123456"));
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = printf 'touch the key, then type the code: ' >&2; read c; echo \"$c\"\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let mut pty = env.pty(
        &["test", "--", "sh", "-c", "read x; echo \"GOT $x\""],
        Some(&sts),
    );
    pty.expect("touch the key, then type the code: ");
    pty.send_line("123456");
    // The command reads the terminal: mfa-exec's group has it again.
    pty.send_line("hello");
    pty.expect("GOT hello");
    assert_eq!(pty.wait(), 0);
    assert_eq!(sts.count(), 1);
    assert_eq!(
        sts.last_request().unwrap().param("TokenCode"),
        Some("123456")
    );
}

/// Ctrl-C while `mfa_process` waits (for a key touch, say) stops the run:
/// exit 130, one line, nothing sent, nothing written, the command not run.
#[test]
fn ctrl_c_while_the_process_runs_on_a_terminal() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = printf 'touch the key: ' >&2; sleep 30; echo 123456\nmfa_process_timeout = 60\n"
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    pty.expect("touch the key: ");
    // The person presses Ctrl-C while the process waits, not in the instant
    // between its prompt and its wait (where dash, catching SIGINT under
    // `-c`, would hold it until the wait ends).
    wait_for_process_in_session(pty.pid(), "sleep");
    pty.send_ctrl_c();
    let (code, out) = pty.wait_within(Duration::from_secs(20));
    assert_eq!(
        out,
        "touch the key: mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) was interrupted; nothing was sent\r\n"
    );
    assert_eq!(code, 130);
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}

/// A process that catches Ctrl-C and exits 130 itself (as many prompts do)
/// is an interrupt too: exit 130, nothing sent, and what it left running in
/// the background is stopped.
#[test]
fn ctrl_c_caught_by_the_process_still_exits_130() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let gpid = env.home().join("grandchild.pid");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = trap 'exit 130' INT; sleep 60 & echo $! > {}; printf 'touch the key: ' >&2; wait\nmfa_process_timeout = 60\n",
        gpid.display()
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    pty.expect("touch the key: ");
    wait_for_process_in_session(pty.pid(), "sleep");
    // The shell is in `wait` once it printed; give it that instant.
    std::thread::sleep(Duration::from_millis(200));
    pty.send_ctrl_c();
    let (code, out) = pty.wait_within(Duration::from_secs(20));
    assert_eq!(
        out,
        "touch the key: mfa-exec: error: mfa_process (~/.aws/config:9 [profile test]) was interrupted; nothing was sent\r\n"
    );
    assert_eq!(code, 130);
    assert_gone(read_pid(&gpid), Duration::from_secs(5));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}

/// SIGTERM to mfa-exec alone (a caller's own timeout, an SDK giving up on
/// credential_process) ends `mfa_process` and everything it started too:
/// they are a job of their own, and would otherwise outlive mfa-exec.
#[test]
fn sigterm_to_mfa_exec_ends_the_process_it_runs() {
    let sts = FakeSts::start();
    let env = TestEnv::new();
    let gpid = env.home().join("grandchild.pid");
    env.write_config(&format!(
        "{SEED_CONFIG}mfa_process = sleep 60 & echo $! > {}; wait\nmfa_process_timeout = 60\n",
        gpid.display()
    ));
    env.write_credentials(SEED_CREDENTIALS);
    let snap = env.snapshot();
    let mut cmd = env.std_cmd_with_sts(&["credential-process", "test"], &sts);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let pid = read_pid(&gpid);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
    assert_gone(pid, Duration::from_secs(5));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
}
