//! A private X display for the desktop-dialog tests: `Xvfb :N -nolisten tcp`
//! on a free N, killed on drop, and xdotool to find a dialog by its title,
//! type into it and press keys, as a person would; `xwd` + ImageMagick for a
//! screenshot a person can look at.
//!
//! Where Xvfb, zenity, xdotool, xwd or convert is missing, [`Xvfb::start`]
//! prints why and returns `None` so the test can skip; in CI (`CI=true`,
//! where `.ci/run` installs them) it panics instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// One private display at a time in this test binary: GTK start-up on a
/// loaded 2-core machine is slow enough without several at once.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
static NEXT: AtomicU32 = AtomicU32::new(0);

pub const TOOLS: [&str; 5] = ["Xvfb", "zenity", "xdotool", "xwd", "convert"];

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub struct Xvfb {
    child: Child,
    /// `:N`
    pub display: String,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl Xvfb {
    /// A fresh display; `None` (reason printed) where the tools are missing.
    pub fn start() -> Option<Xvfb> {
        for tool in TOOLS {
            if !have(tool) {
                let why = format!(
                    "{tool} is not installed (apt-get install xvfb zenity xdotool x11-apps imagemagick)"
                );
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("the desktop-dialog tests cannot run in CI: {why}");
                }
                eprintln!("SKIPPED: no desktop for the dialog tests: {why}");
                return None;
            }
        }
        let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let base = 100 + (std::process::id() % 200) * 10;
        for _ in 0..40 {
            let n = base + NEXT.fetch_add(1, Ordering::SeqCst) % 400;
            if Path::new(&format!("/tmp/.X{n}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .args([
                    &format!(":{n}"),
                    "-nolisten",
                    "tcp",
                    "-screen",
                    "0",
                    "1024x768x24",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb");
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let start = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // taken meanwhile: try the next one
                }
                if socket.exists() {
                    return Some(Xvfb {
                        child,
                        display: format!(":{n}"),
                        _serial: guard,
                    });
                }
                if start.elapsed() > Duration::from_secs(15) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("Xvfb :{n} did not start within 15 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("no free X display found");
    }

    fn xdotool(&self, args: &[&str]) -> Command {
        let mut c = Command::new("xdotool");
        c.args(args).env("DISPLAY", &self.display);
        c.stdin(Stdio::null());
        c
    }

    /// The first visible window titled mfa-exec (`xdotool search --sync
    /// --onlyvisible --name mfa-exec`), within `timeout`: its id and pid.
    pub fn find_dialog(&self, timeout: Duration) -> Dialog {
        self.next_dialog(None, timeout)
    }

    /// A dialog other than the one of process `previous` (which must have
    /// exited first, so its window is gone).
    pub fn next_dialog(&self, previous: Option<u32>, timeout: Duration) -> Dialog {
        let start = Instant::now();
        if let Some(pid) = previous {
            // SAFETY: kill(pid, 0) only checks the process exists.
            while unsafe { libc::kill(pid as i32, 0) } == 0 {
                assert!(
                    start.elapsed() < timeout,
                    "the dialog of pid {pid} is still open"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero(),
                "no mfa-exec dialog appeared within {timeout:?}"
            );
            let mut child = self
                .xdotool(&["search", "--sync", "--onlyvisible", "--name", "mfa-exec"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("run xdotool");
            let status = wait_timeout::ChildExt::wait_timeout(&mut child, left).unwrap();
            if status.is_none() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no mfa-exec dialog appeared within {timeout:?}");
            }
            let mut out = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
            for id in out.split_whitespace() {
                let pid = self
                    .xdotool(&["getwindowpid", id])
                    .output()
                    .ok()
                    .and_then(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .trim()
                            .parse::<u32>()
                            .ok()
                    });
                if let Some(pid) = pid {
                    if Some(pid) != previous {
                        return Dialog {
                            window: id.to_string(),
                            pid,
                        };
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first visible window titled mfa-exec, polling for at most
    /// `timeout`; `None` if none appeared.
    pub fn try_find_dialog(&self, timeout: Duration) -> Option<Dialog> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            let out = self
                .xdotool(&["search", "--onlyvisible", "--name", "mfa-exec"])
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let ids = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(id) = ids.split_whitespace().next() {
                let pid = self
                    .xdotool(&["getwindowpid", id])
                    .output()
                    .ok()
                    .and_then(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .trim()
                            .parse::<u32>()
                            .ok()
                    })?;
                return Some(Dialog {
                    window: id.to_string(),
                    pid,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// True while some window titled mfa-exec is visible.
    pub fn dialog_visible(&self) -> bool {
        self.xdotool(&["search", "--onlyvisible", "--name", "mfa-exec"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Types `text` into the focused window.
    pub fn type_text(&self, text: &str) {
        let ok = self
            .xdotool(&["type", "--delay", "40", text])
            .status()
            .unwrap();
        assert!(ok.success(), "xdotool type failed");
    }

    /// Presses one key (`Return`, `Escape`).
    pub fn key(&self, key: &str) {
        let ok = self.xdotool(&["key", key]).status().unwrap();
        assert!(ok.success(), "xdotool key {key} failed");
    }

    /// A screenshot of the whole screen, as PNG at `path`.
    pub fn screenshot(&self, path: &Path) {
        let cmd = format!(
            "xwd -root -display {} | convert xwd:- png:'{}'",
            self.display,
            path.display()
        );
        let ok = Command::new("sh").args(["-c", &cmd]).status().unwrap();
        assert!(ok.success() && path.exists(), "screenshot failed: {cmd}");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A dialog window found on the display.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub window: String,
    /// The process that shows it (`_NET_WM_PID`).
    pub pid: u32,
}

/// `target/` of this build (for screenshots a person can look at).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}
