//! The interactive prompt, through a pseudo-terminal.

use crate::support::*;

#[test]
fn prompt_reasks_locally_then_after_sts_rejects() {
    let sts = FakeSts::start();
    sts.set_valid_code(Some("222222"));
    let env = TestEnv::seeded();
    let mut pty = env.pty(&["test", "--", "sh", "-c", "echo RAN"], Some(&sts));
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    pty.send_line("12ab");
    pty.expect("a code is exactly 6 digits; try again");
    pty.expect("MFA code for test (arn:aws:iam::123456789012:mfa/test): ");
    assert_eq!(sts.count(), 0, "a malformed code is never sent");
    pty.send_line("111111");
    pty.expect("STS rejected that code");
    assert_eq!(sts.count(), 1);
    pty.expect("MFA code for test");
    pty.send_line("222222");
    pty.expect("RAN");
    assert_eq!(pty.wait(), 0);
    assert_eq!(sts.count(), 2);
    assert!(env.read_credentials().contains("[test]"));
}

#[test]
fn ctrl_c_at_prompt_exits_130_and_writes_nothing() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    let mut pty = env.pty(&["test", "--", "touch", "ran"], Some(&sts));
    pty.expect("MFA code for test");
    pty.send_ctrl_c();
    assert_eq!(pty.wait(), 130);
    assert_eq!(sts.count(), 0);
    assert!(!env.home().join("ran").exists());
    env.assert_unchanged(&snap);
}
