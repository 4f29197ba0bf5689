//! A hermetic HOME with `~/.aws/{config,credentials}` and commands that run
//! the crate's binary against it (and nothing from the real environment).

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use super::fake_sts::FakeSts;
use super::pty::Pty;

/// Seed `~/.aws/config` (exact text).
pub const SEED_CONFIG: &str = "# seed layout from the blog post
[testAccount]
mfa_arn = arn:aws:iam::123456789012:mfa/test

[profile test]
user_arn = arn:aws:iam::123456789012:user/test
source_profile = testAccount
region = ap-northeast-2
";

/// Seed `~/.aws/credentials` (exact text).
pub const SEED_CREDENTIALS: &str = "# long-term keys
[testAccount]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
";

pub const SEED_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SEED_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const SEED_SERIAL: &str = "arn:aws:iam::123456789012:mfa/test";
/// The profile to pass on the command line in the seed layout.
pub const SEED_PROFILE: &str = "test";
/// The long-term profile the seed `test` profile points at.
pub const SEED_SOURCE_PROFILE: &str = "testAccount";
pub const SEED_USER_ARN: &str = "arn:aws:iam::123456789012:user/test";
pub const SEED_REGION: &str = "ap-northeast-2";

/// Default timeout put on `TestEnv::cmd` commands (override with `.timeout`).
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Path of the binary under test: `MFA_EXEC_TEST_BIN` when set (the release-like
/// build that `scripts/test.sh` tries the promises against: panic = "abort",
/// no debug assertions), else the one cargo built for this test binary.
pub fn bin_path() -> PathBuf {
    match std::env::var_os("MFA_EXEC_TEST_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_mfa-exec")),
    }
}

/// Contents and permission bits of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    /// `st_mode & 0o7777`
    pub mode: u32,
}

impl FileState {
    fn read(path: &Path) -> Option<FileState> {
        let meta = fs::symlink_metadata(path).ok()?;
        let bytes = fs::read(path).unwrap_or_default();
        Some(FileState {
            bytes,
            mode: meta.permissions().mode() & 0o7777,
        })
    }
}

/// State of `~/.aws/config` and `~/.aws/credentials` (None = absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub config: Option<FileState>,
    pub credentials: Option<FileState>,
}

/// A temporary HOME. Removed on drop.
pub struct TestEnv {
    dir: tempfile::TempDir,
    sts_url: Option<String>,
    extra_env: Vec<(OsString, OsString)>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// An empty HOME with `~/.aws/` (mode 0700) and no files in it.
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("mfa-exec-it-")
            .tempdir()
            .expect("create temp HOME");
        let aws = dir.path().join(".aws");
        fs::create_dir(&aws).expect("create ~/.aws");
        fs::set_permissions(&aws, fs::Permissions::from_mode(0o700)).expect("chmod ~/.aws");
        TestEnv {
            dir,
            sts_url: None,
            extra_env: Vec::new(),
        }
    }

    /// `TestEnv::new()` plus the seed layout.
    pub fn seeded() -> TestEnv {
        let env = TestEnv::new();
        env.seed();
        env
    }

    /// Builder: every command from this env talks to `sts`
    /// (`AWS_ENDPOINT_URL_STS`).
    pub fn with_sts(mut self, sts: &FakeSts) -> TestEnv {
        self.sts_url = Some(sts.url());
        self
    }

    /// Builder: point every command at an arbitrary STS URL (e.g. a closed
    /// port from `free_closed_port()`).
    pub fn with_sts_url(mut self, url: &str) -> TestEnv {
        self.sts_url = Some(url.to_string());
        self
    }

    /// Builder: an extra variable for every command from this env.
    pub fn with_env(mut self, key: &str, value: &str) -> TestEnv {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn aws_dir(&self) -> PathBuf {
        self.home().join(".aws")
    }

    pub fn config_path(&self) -> PathBuf {
        self.aws_dir().join("config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.aws_dir().join("credentials")
    }

    /// Writes `~/.aws/config` (created 0600; an existing file keeps its mode).
    pub fn write_config(&self, text: &str) {
        write_file(&self.config_path(), text.as_bytes());
    }

    /// Writes `~/.aws/credentials` (created 0600; an existing file keeps its
    /// mode).
    pub fn write_credentials(&self, text: &str) {
        write_file(&self.credentials_path(), text.as_bytes());
    }

    pub fn read_config(&self) -> String {
        read_text(&self.config_path())
    }

    pub fn read_credentials(&self) -> String {
        read_text(&self.credentials_path())
    }

    /// Permission bits (`& 0o7777`) of a file, None if absent.
    pub fn mode(&self, path: &Path) -> Option<u32> {
        fs::symlink_metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }

    pub fn set_mode(&self, path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {:o} {}: {e}", mode, path.display()));
    }

    /// Sorted names in `~/.aws/` (to spot stray temp or lock files).
    pub fn aws_dir_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.aws_dir())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Writes the seed layout (`SEED_CONFIG`, `SEED_CREDENTIALS`).
    pub fn seed(&self) -> &TestEnv {
        self.write_config(SEED_CONFIG);
        self.write_credentials(SEED_CREDENTIALS);
        self
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            config: FileState::read(&self.config_path()),
            credentials: FileState::read(&self.credentials_path()),
        }
    }

    /// Panics, with a line diff, if either file changed (bytes, mode,
    /// presence) since `before`.
    pub fn assert_unchanged(&self, before: &Snapshot) {
        let now = self.snapshot();
        let mut report = String::new();
        describe_change("~/.aws/config", &before.config, &now.config, &mut report);
        describe_change(
            "~/.aws/credentials",
            &before.credentials,
            &now.credentials,
            &mut report,
        );
        if !report.is_empty() {
            panic!("files under ~/.aws changed but should not have:\n{report}");
        }
    }

    /// `assert_cmd` command for the binary with the hermetic environment
    /// (and the STS set by `with_sts`, if any).
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd(args));
        cmd.timeout(CMD_TIMEOUT);
        cmd
    }

    /// Like `cmd`, talking to `sts`.
    pub fn cmd_with_sts(&self, args: &[&str], sts: &FakeSts) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd_with_sts(args, sts));
        cmd.timeout(CMD_TIMEOUT);
        cmd
    }

    /// `std::process::Command` with the same environment, stdin /dev/null,
    /// and no controlling terminal (it runs in a new session), so the binary
    /// can never prompt the developer's real terminal.
    pub fn std_cmd(&self, args: &[&str]) -> StdCommand {
        let mut cmd = self.base_cmd(args, self.sts_url.as_deref());
        detach_from_tty(&mut cmd);
        cmd
    }

    pub fn std_cmd_with_sts(&self, args: &[&str], sts: &FakeSts) -> StdCommand {
        let url = sts.url();
        let mut cmd = self.base_cmd(args, Some(&url));
        detach_from_tty(&mut cmd);
        cmd
    }

    /// Runs the binary in a pseudo-terminal (its controlling terminal, in
    /// its foreground process group) with `TERM=dumb`. `sts`, if given,
    /// overrides the one from `with_sts`.
    pub fn pty(&self, args: &[&str], sts: Option<&FakeSts>) -> Pty {
        self.pty_program(&bin_path(), args, sts)
    }

    /// `pty` for another program (e.g. a wrapper script) with the same
    /// environment.
    pub fn pty_program(&self, program: &Path, args: &[&str], sts: Option<&FakeSts>) -> Pty {
        let url = sts.map(FakeSts::url);
        let url = url.as_deref().or(self.sts_url.as_deref());
        let mut cmd = StdCommand::new(program);
        cmd.args(args);
        self.apply_env(&mut cmd, url);
        cmd.current_dir(self.home());
        cmd.env("TERM", "dumb");
        Pty::spawn_command(cmd)
    }

    /// The environment every command gets. Nothing inherited but PATH.
    fn base_cmd(&self, args: &[&str], sts_url: Option<&str>) -> StdCommand {
        let mut cmd = StdCommand::new(bin_path());
        cmd.args(args);
        self.apply_env(&mut cmd, sts_url);
        cmd.current_dir(self.home());
        cmd.stdin(Stdio::null());
        cmd
    }

    fn apply_env(&self, cmd: &mut StdCommand, sts_url: Option<&str>) {
        cmd.env_clear();
        cmd.env("HOME", self.home());
        cmd.env("AWS_CONFIG_FILE", self.config_path());
        cmd.env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path());
        cmd.env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        );
        cmd.env("RUST_BACKTRACE", "1");
        cmd.env("LANG", "C.UTF-8");
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        if let Some(url) = sts_url {
            cmd.env("AWS_ENDPOINT_URL_STS", url);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
    }

    /// A command for an arbitrary program with this env's hermetic
    /// environment (no tty, stdin /dev/null), e.g. for a helper script.
    pub fn other_cmd(&self, program: &str, args: &[&str]) -> StdCommand {
        let mut cmd = StdCommand::new(program);
        cmd.args(args);
        self.apply_env(&mut cmd, self.sts_url.as_deref());
        cmd.current_dir(self.home());
        cmd.stdin(Stdio::null());
        detach_from_tty(&mut cmd);
        cmd
    }
}

fn detach_from_tty(cmd: &mut StdCommand) {
    // SAFETY: setsid(2) is async-signal-safe and touches no parent memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    f.write_all(bytes)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn describe_change(
    name: &str,
    before: &Option<FileState>,
    after: &Option<FileState>,
    out: &mut String,
) {
    match (before, after) {
        (None, None) => {}
        (Some(_), None) => out.push_str(&format!("{name}: was deleted\n")),
        (None, Some(a)) => {
            out.push_str(&format!("{name}: was created (mode {:04o}):\n", a.mode));
            for line in String::from_utf8_lossy(&a.bytes).lines() {
                out.push_str(&format!("+{line}\n"));
            }
        }
        (Some(b), Some(a)) => {
            if b.mode != a.mode {
                out.push_str(&format!("{name}: mode {:04o} -> {:04o}\n", b.mode, a.mode));
            }
            if b.bytes != a.bytes {
                out.push_str(&format!("{name}: contents changed (- before, + after):\n"));
                out.push_str(&line_diff(
                    &String::from_utf8_lossy(&b.bytes),
                    &String::from_utf8_lossy(&a.bytes),
                ));
                let b_nl = b.bytes.ends_with(b"\n");
                let a_nl = a.bytes.ends_with(b"\n");
                if b_nl != a_nl {
                    out.push_str(&format!(
                        "(trailing newline: before {b_nl}, after {a_nl})\n"
                    ));
                }
            }
        }
    }
}

/// A minimal LCS line diff: ` ` same, `-` removed, `+` added.
pub fn line_diff(before: &str, after: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    if a.len() * b.len() > 4_000_000 {
        return format!("--- before\n{before}\n+++ after\n{after}\n");
    }
    // lcs[i][j] = LCS length of a[i..], b[j..]
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn support_env_seed_layout_and_modes() {
    let env = TestEnv::seeded();
    assert_eq!(env.read_config(), SEED_CONFIG);
    assert_eq!(env.read_credentials(), SEED_CREDENTIALS);
    assert_eq!(env.mode(&env.aws_dir()), Some(0o700));
    assert_eq!(env.mode(&env.credentials_path()), Some(0o600));
    assert!(SEED_CONFIG.contains(SEED_SERIAL));
    assert!(SEED_CREDENTIALS.contains(SEED_KEY_ID));
    assert!(SEED_CREDENTIALS.contains(SEED_SECRET));
    assert_eq!(env.aws_dir_entries(), vec!["config", "credentials"]);
}

#[test]
fn support_env_snapshot_detects_changes() {
    let env = TestEnv::seeded();
    let snap = env.snapshot();
    env.assert_unchanged(&snap);

    env.write_credentials(&SEED_CREDENTIALS.replace("EXAMPLEKEY", "CHANGED"));
    let err = std::panic::catch_unwind(|| env.assert_unchanged(&snap)).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("~/.aws/credentials: contents changed"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("-aws_secret_access_key = {SEED_SECRET}")),
        "{msg}"
    );
    assert!(msg.contains("+aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYCHANGED"));

    env.write_credentials(SEED_CREDENTIALS);
    env.set_mode(&env.credentials_path(), 0o644);
    let err = std::panic::catch_unwind(|| env.assert_unchanged(&snap)).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("mode 0600 -> 0644"), "{msg}");

    std::fs::remove_file(env.config_path()).unwrap();
    let err = std::panic::catch_unwind(|| env.assert_unchanged(&snap)).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("~/.aws/config: was deleted"), "{msg}");
}

#[test]
fn support_env_hermetic_environment() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded().with_sts(&sts);
    let out = env.other_cmd("env", &[]).output().expect("run env");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut vars: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
    vars.sort();
    assert_eq!(
        vars,
        vec![
            "AWS_CONFIG_FILE",
            "AWS_EC2_METADATA_DISABLED",
            "AWS_ENDPOINT_URL_STS",
            "AWS_SHARED_CREDENTIALS_FILE",
            "HOME",
            "LANG",
            "PATH",
            "RUST_BACKTRACE",
        ],
        "unexpected variables in:\n{text}"
    );
    assert!(text.contains(&format!("AWS_ENDPOINT_URL_STS={}\n", sts.url())));
    assert!(text.contains(&format!("HOME={}\n", env.home().display())));
    assert!(text.contains("RUST_BACKTRACE=1\n"));
    // No controlling terminal: /dev/tty cannot be opened.
    let out = env
        .other_cmd(
            "sh",
            &[
                "-c",
                "(exec 3<>/dev/tty) 2>/dev/null && echo has-tty || echo no-tty",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no-tty");
}

/// Waits until `path` exists (another process reached a point), at most 30 s.
pub fn wait_for_file(path: &Path) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
