//! A real, private Secret Service for the keyring tests: a session bus of its
//! own (`dbus-daemon --session` on a socket in a temp dir) and
//! `gnome-keyring-daemon --unlock --components=secrets` on it, unlocked with
//! a throwaway password, with its own `HOME`, `XDG_DATA_HOME` and
//! `XDG_RUNTIME_DIR`. Entries are checked with `secret-tool` (libsecret), a
//! client nobody here wrote. The daemon exits when the bus stops (on drop).
//!
//! Where the daemon cannot start (no `dbus-daemon`, `gnome-keyring-daemon` or
//! `secret-tool`), [`SecretService::start`] prints why and returns `None` so the
//! test can skip; in CI (`CI=true`) it panics instead: CI installs them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::env::TestEnv;

pub struct SecretService {
    dir: tempfile::TempDir,
    bus: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub address: String,
    /// One private Secret Service at a time in this test binary: a dozen
    /// gnome-keyring daemons starting at once on a loaded 2-core machine were
    /// seen to miss their start-up deadline.
    _serial: Option<std::sync::MutexGuard<'static, ()>>,
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn unavailable(reason: String) -> Option<SecretService> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the Secret Service for the keyring tests cannot start in CI: {reason}");
    }
    eprintln!("SKIPPED: no Secret Service for the keyring tests: {reason}");
    None
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl SecretService {
    /// Starts the bus and the keyring daemon, unlocked; `None` (reason
    /// printed) where they cannot run. A daemon that does not answer in time
    /// is stopped and started once more before giving up.
    pub fn start() -> Option<SecretService> {
        let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        for tool in ["dbus-daemon", "gnome-keyring-daemon", "secret-tool"] {
            if !have(tool) {
                return unavailable(format!(
                    "{tool} is not installed (apt-get install dbus gnome-keyring libsecret-tools)"
                ));
            }
        }
        let mut last = String::new();
        for attempt in 1..=2 {
            match Self::start_once() {
                Ok(mut ss) => {
                    ss._serial = Some(guard);
                    return Some(ss);
                }
                Err((true, reason)) if attempt < 2 => {
                    eprintln!("keyring tests: {reason}; starting it once more");
                    last = reason;
                }
                Err((_, reason)) => {
                    last = reason;
                    break;
                }
            }
        }
        unavailable(last)
    }

    /// One try: `Err((retry, reason))`.
    fn start_once() -> Result<SecretService, (bool, String)> {
        let dir = tempfile::Builder::new()
            .prefix("mfa-exec-keyring-")
            .tempdir()
            .expect("temp dir");
        for d in ["home", "data", "run"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let sock = dir.path().join("bus");
        let mut bus = match Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", sock.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => return Err((false, format!("dbus-daemon: {e}"))),
        };
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap_or(0);
        let address = line.trim().to_string();
        if address.is_empty() {
            let _ = bus.kill();
            let _ = bus.wait();
            return Err((false, "dbus-daemon printed no address".into()));
        }
        let ss = SecretService {
            dir,
            bus,
            address,
            _serial: None,
        };
        let mut daemon = ss
            .command("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon");
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(b"throwaway-password")
            .unwrap();
        let _ = daemon.wait();
        // Ready when a store and lookup round-trips.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            ss.store("mfa-exec-probe", "ok");
            if ss.lookup_raw("mfa-exec-probe").as_deref() == Some("ok") {
                ss.clear("mfa-exec-probe");
                return Ok(ss);
            }
            if Instant::now() > deadline {
                return Err((true, "gnome-keyring-daemon did not answer in 30 s".into()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The variables a client needs to reach this Secret Service.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.clone()),
            (
                "XDG_DATA_HOME",
                self.dir.path().join("data").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR",
                self.dir.path().join("run").display().to_string(),
            ),
        ]
    }

    /// `env` with this Secret Service in every command's environment.
    pub fn attach(&self, mut env: TestEnv) -> TestEnv {
        for (k, v) in self.vars() {
            env = env.with_env(k, &v);
        }
        env
    }

    /// A command for `program` that talks to this Secret Service.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear();
        c.env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        );
        c.env("HOME", self.dir.path().join("home"));
        for (k, v) in self.vars() {
            c.env(k, v);
        }
        c
    }

    /// `secret-tool lookup service mfa-exec account ACCOUNT`.
    pub fn lookup(&self, account: &str) -> Option<String> {
        self.lookup_raw(account)
    }

    fn lookup_raw(&self, account: &str) -> Option<String> {
        let out = self
            .command("secret-tool")
            .args(["lookup", "service", "mfa-exec", "account", account])
            .stdin(Stdio::null())
            .output()
            .expect("secret-tool");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `secret-tool store` of an entry as the keyring crate finds it
    /// (attributes `service`, `username`, and `account`).
    pub fn store(&self, account: &str, secret: &str) {
        let mut c = self
            .command("secret-tool")
            .args([
                "store",
                "--label=test",
                "service",
                "mfa-exec",
                "username",
                account,
                "account",
                account,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("secret-tool");
        c.stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
        let _ = c.wait();
    }

    /// `secret-tool clear service mfa-exec account ACCOUNT`.
    pub fn clear(&self, account: &str) {
        let _ = self
            .command("secret-tool")
            .args(["clear", "service", "mfa-exec", "account", account])
            .stdin(Stdio::null())
            .status();
    }

    /// Locks the login collection (Secret Service `Lock`, through `dbus-send`).
    pub fn lock(&self) {
        let st = self
            .command("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.secrets",
                "--type=method_call",
                "--print-reply",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("dbus-send");
        assert!(st.success(), "locking the login collection failed");
    }

    /// A second bus with no Secret Service on it (and none to activate).
    pub fn bare_bus(&self) -> (Child, String) {
        let conf = self.dir.path().join("bare.conf");
        let sock: PathBuf = self.dir.path().join("bare-bus");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={}</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
"#,
                sock.display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (bus, line.trim().to_string())
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // gnome-keyring-daemon exits when its bus goes away.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
