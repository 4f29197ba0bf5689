//! Reliability (issue 7): concurrency, crashes, STS and disk faults, hostile
//! input and secrets, against the real binary.
//!
//! Every case ends with [`record`], which checks its row of the table in
//! `RELIABILITY.md` (case, expectation, observed). The expectation comes from
//! [`CASES`]; the observed text is built from what the test measured (counts,
//! the exact error line, with the fake's port and the temp HOME normalised).
//! A row that differs fails the test; `MFA_EXEC_BLESS=1 cargo test --test it
//! reliability` rewrites the rows instead. A case that cannot run here (no
//! `mount`, no `chattr`) says `SKIPPED` on stderr and leaves its row alone.
//!
//! Every run of the binary goes through a [`Log`], which at the end of each
//! test asserts that no secret (long-term secret keys, every secret key and
//! session token the fake issued) appears on stderr, or on stdout outside
//! `export` / `credential-process`.
//!
//! This file owns the table (the [`CASES`] list, the `RELIABILITY.md`
//! check/bless logic), the [`Log`] runner with its secrets check, and the
//! helpers the themes share; it holds no case but the table's own check. The
//! cases live by theme: [`stampede`] (concurrent runs and writers), [`crash`]
//! (kill -9 at each point of a write), [`sts_faults`], [`disk`], [`hostile`]
//! (INI properties, hostile files and inputs), [`secrets`] (secrets, temp
//! files, locks). The row order of the table is [`CASES`] order, whatever
//! file a case lives in.

use crate::support::*;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The INI module of the crate, for the hostile-input property tests.
use mfa_exec::ini;

mod crash;
mod disk;
mod hostile;
mod key_sweep;
mod secrets;
mod stampede;
mod sts_faults;

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

/// Every case: id and expectation, in table order.
const CASES: &[(&str, &str)] = &[
    ("stampede-missing", "16 concurrent `mfa-exec test -- true`, no session, code from `mfa_process`: one code, one GetSessionToken, 16 exits 0, one valid [test]"),
    ("stampede-stale", "the same with an expired mfa-exec session in [test]"),
    ("writers-mfa-exec", "6 profiles refreshed at once while another process refreshes and clears an unrelated profile 3 times: every update present, every comment and line kept, the file parses"),
    ("writer-external-before-recheck", "a lock-less editor appends while mfa-exec is paused before the re-check: the edit is re-applied on the new content, both survive"),
    ("writer-external-after-recheck", "a lock-less editor writes in the window between the re-check and the rename (widened by a test pause): documented limitation"),
    ("crash-after-lock", "kill -9 at this point: file is the old version byte for byte; no stale lock; the next run succeeds and leaves no temp file"),
    ("crash-after-temp-create", "kill -9 at this point: file is the old version byte for byte; no stale lock; the next run succeeds and leaves no temp file"),
    ("crash-mid-write", "kill -9 at this point: file is the old version byte for byte; no stale lock; the next run succeeds and leaves no temp file"),
    ("crash-before-fsync", "kill -9 at this point: file is the old version byte for byte; no stale lock; the next run succeeds and leaves no temp file"),
    ("crash-before-rename", "kill -9 at this point: file is the old version byte for byte; no stale lock; the next run succeeds and leaves no temp file"),
    ("crash-after-recheck", "kill -9 at this point: file is the old version byte for byte; no stale lock; the next run succeeds and leaves no temp file"),
    ("crash-after-rename", "kill -9 at this point: file is the complete new version; the next run uses it"),
    ("crash-random", "kill -9 at random times during forced refreshes: the file is always the old or a complete new version, never partial"),
    ("sts-500", "STS answers 500 InternalFailure: one clear error line, exit 125, bounded, nothing written, command not run"),
    ("sts-503-throttling", "STS answers 503 Throttling: one clear error line, exit 125, bounded, nothing written, command not run"),
    ("sts-malformed-xml", "STS answers 200 with malformed XML: clear error, exit 125, bounded, nothing written, command not run"),
    ("sts-incomplete-credentials", "STS answers 200 with well-formed XML whose Credentials lack the secret, token and expiration: clear error, exit 125, nothing written, command not run"),
    ("sts-cut-body", "STS cuts the body mid-stream: clear error, exit 125, bounded, nothing written, command not run"),
    ("sts-cut-body-message", "the error line for a cut body is plain text, without SDK internals"),
    ("sts-reset", "STS resets the connection: clear error, exit 125, bounded, nothing written, command not run"),
    ("sts-dns", "the endpoint does not resolve (http://nonexistent.invalid): clear error, exit 125, bounded, nothing written, command not run"),
    ("sts-stall", "STS accepts and never answers: clear error within the 25 s operation timeout, exit 125, nothing written, command not run"),
    ("disk-readonly-mount", "~/.aws is a read-only bind mount: clear error, exit 125, original intact, command not run"),
    ("disk-immutable-dir", "~/.aws is `chattr +i` (no new files): clear error, exit 125, original intact, command not run"),
    ("disk-immutable-file", "credentials is `chattr +i`: clear error, exit 125, original intact, command not run"),
    ("disk-full", "~/.aws is a full 64 KiB tmpfs: clear error, exit 125, original intact, command not run"),
    ("disk-readonly-dir-chmod", "~/.aws is mode 0500 and the run is a non-root user: clear error, exit 125, original intact"),
    ("keys-rotate-file-faults", "`keys rotate` of file-held keys with each file read, create, write, fsync and rename failing in turn (EIO): the key in the file is active with IAM's secret, every other active key is named, 'nothing changed' only when nothing did"),
    ("keys-rotate-iam-unanswered", "`keys rotate` with CreateAccessKey or the old key's DeleteAccessKey unanswered (reset after IAM read it), IAM having done it or not: each sent once, then ListAccessKeys; the key in the file works, every other active key is named"),
    ("keys-rotate-keyring-faults", "`keys rotate` of keyring-held keys with each keyring get/set/delete and each file operation failing in turn: the same invariants, for the keyring entry"),
    ("keys-move-faults", "`keys move` both ways with each keyring call and file operation failing in turn: a failure leaves both places as they were, a success leaves the keys in the destination only, the place the config names always holds them"),
    ("keys-move-double-faults", "`keys move` both ways with each first fault (file operation, keyring call, or a step failing after it worked) followed by each fault of the roll-back: the place the config names holds the keys, 'nothing' is only said when nothing changed, a copy left elsewhere is named, running the move again finishes it"),
    ("keys-rotate-double-faults", "`keys rotate` of file-held and keyring-held keys with each first fault (file operation, keyring call) followed by each fault after it (putting the old pair back, reading it back): the key in place is active with IAM's secret, every other active key is named, 'nothing changed' only when nothing did"),
    ("configure-faults", "`configure`'s two-file commit with each file read, create, write, fsync and rename failing in turn: both files change or neither does, byte for byte"),
    ("configure-double-faults", "`configure`'s two-file commit with each first fault followed by each fault after it (the put-back of the file already replaced): a failure that leaves one file changed says which holds the new content and which the old, never 'neither file was changed'"),
    ("ini-proptest", "proptest (2,000 cases; PROPTEST_CASES for more) on arbitrary text and edits: no panic, parse+render is byte-identical, every edit re-parses, reads back, leaves other sections alone"),
    ("ini-binary-fuzz", "hostile credentials files through the binary (`list`, a refresh): never a panic, exit 0 or 125, a write keeps every other byte"),
    ("profile-names", "profile names with spaces, dots, quotes and unicode: what works, and the error for what does not"),
    ("big-file-10mb", "a 10 MB credentials file: the cached path and a refresh work in bounded time, the rest of the file kept byte for byte"),
    ("binary-file", "a credentials file of random bytes: clear error naming the file and line, exit 125, unchanged, command not run"),
    ("nul-bytes", "a credentials file with a NUL byte: clear error naming the file and line, exit 125, unchanged, command not run"),
    ("directory-as-file", "a directory where the credentials file should be: clear error, exit 125, command not run"),
    ("unreadable-file", "a credentials file the user cannot read (mode 000, run as a non-root user): clear error, exit 125, command not run"),
    ("mfa-process-garbage", "`mfa_process` prints garbage: clear error, exit 125, nothing sent or written"),
    ("mfa-process-hang", "`mfa_process` hangs, `mfa_process_timeout = 1`: stopped after 1 s with a clear error, nothing sent or written"),
    ("unicode-digits", "`-t ١٢٣٤٥٦` (Arabic-Indic digits): refused locally, nothing sent or written"),
    ("secrets-scan", "success, failures, -v, -vv, list, explain, clear: no secret key or session token on stdout/stderr outside `export` / `credential-process` stdout"),
    ("lock-symlink", "a symlink planted at each lock path is not followed: clear error, target untouched, nothing written"),
    ("temp-symlink", "a symlink planted with the temp-file prefix is not written through (removed as a leftover), target untouched"),
    ("temp-and-lock-modes", "the temp file is 0600 from its creation (seen while paused), lock files are 0600"),
];

/// The marker as committed in `RELIABILITY.md`; change it only together with
/// the file.
const TABLE_BEGIN: &str = "<!-- table:begin (generated by tests/it/reliability/: MFA_EXEC_BLESS=1 cargo test --test it reliability) -->";
const TABLE_END: &str = "<!-- table:end -->";
const TABLE_HEAD: &str = "| case | expectation | observed |\n|---|---|---|";

static TABLE_LOCK: Mutex<()> = Mutex::new(());

fn report_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("RELIABILITY.md")
}

fn bless() -> bool {
    std::env::var_os("MFA_EXEC_BLESS").is_some_and(|v| v == "1")
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Splits RELIABILITY.md into the text before the table, its rows by case id,
/// and the text after it.
fn split_report(text: &str) -> (String, BTreeMap<String, String>, String) {
    let (head, rest) = match text.split_once(TABLE_BEGIN) {
        Some((h, r)) => (h.to_string(), r),
        None => (format!("{}\n\n", text.trim_end()), ""),
    };
    let (table, tail) = match rest.split_once(TABLE_END) {
        Some((t, tail)) => (t, tail.to_string()),
        None => ("", "\n".to_string()),
    };
    let mut rows = BTreeMap::new();
    for line in table.lines() {
        if let Some(id) = line.strip_prefix("| ").and_then(|l| l.split(" | ").next()) {
            if CASES.iter().any(|c| c.0 == id) || !id.starts_with("case") && !id.starts_with("---")
            {
                rows.insert(id.to_string(), line.to_string());
            }
        }
    }
    rows.remove("case");
    (head, rows, tail)
}

fn render_report(head: &str, rows: &BTreeMap<String, String>, tail: &str) -> String {
    let mut out = String::from(head);
    out.push_str(TABLE_BEGIN);
    out.push('\n');
    out.push_str(TABLE_HEAD);
    out.push('\n');
    for (id, _) in CASES {
        if let Some(r) = rows.get(*id) {
            out.push_str(r);
            out.push('\n');
        }
    }
    out.push_str(TABLE_END);
    out.push_str(tail);
    out
}

/// Checks (or with `MFA_EXEC_BLESS=1` writes) the row of `id`.
fn record(id: &str, observed: &str) {
    let expectation = CASES
        .iter()
        .find(|c| c.0 == id)
        .unwrap_or_else(|| panic!("case {id} is not listed in CASES"))
        .1;
    let row = format!("| {id} | {} | {} |", cell(expectation), cell(observed));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/reliability");
    let _ = fs::create_dir_all(&dir);
    let _ = fs::write(dir.join(format!("{id}.md")), format!("{row}\n"));
    eprintln!("reliability: {row}");
    let _g = TABLE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = report_path();
    let text = fs::read_to_string(&path).unwrap_or_default();
    let (head, mut rows, tail) = split_report(&text);
    if bless() {
        rows.insert(id.to_string(), row);
        let tmp = path.with_extension("md.tmp");
        fs::write(&tmp, render_report(&head, &rows, &tail)).unwrap();
        fs::rename(&tmp, &path).unwrap();
        return;
    }
    let committed = rows.get(id);
    assert_eq!(
        committed,
        Some(&row),
        "RELIABILITY.md: the row of case {id} differs from what this run observed; \
         if the new behaviour is right, run `MFA_EXEC_BLESS=1 cargo test --test it reliability`"
    );
}

/// A case that cannot run in this environment: said loudly, row left alone.
fn skip(id: &str, why: &str) {
    eprintln!("SKIPPED reliability case {id}: {why}");
}

/// Cases whose test is `#[ignore]`d because of a bug outside the files this
/// suite owns: their row is generated from here (and checked) until fixed.
const KNOWN_BUGS: &[(&str, &str)] = &[];

#[test]
fn reliability_table_lists_every_case() {
    let _g = TABLE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let text = fs::read_to_string(report_path()).unwrap_or_default();
    let (head, mut rows, tail) = split_report(&text);
    for (id, observed) in KNOWN_BUGS {
        let expectation = CASES.iter().find(|c| c.0 == *id).unwrap().1;
        let row = format!("| {id} | {} | {} |", cell(expectation), cell(observed));
        if bless() {
            rows.insert(id.to_string(), row);
        } else {
            assert_eq!(
                rows.get(*id),
                Some(&row),
                "RELIABILITY.md row of known bug {id}"
            );
        }
    }
    if bless() {
        let rows: BTreeMap<String, String> = rows
            .into_iter()
            .filter(|(id, _)| CASES.iter().any(|c| c.0 == id))
            .collect();
        fs::write(report_path(), render_report(&head, &rows, &tail)).unwrap();
        return;
    }
    let ids: Vec<&str> = rows.keys().map(String::as_str).collect();
    let mut want: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    want.sort();
    assert_eq!(
        ids, want,
        "RELIABILITY.md must list exactly the cases of CASES"
    );
    assert_eq!(
        render_report(&head, &rows, &tail),
        text,
        "RELIABILITY.md table is not in CASES order"
    );
}

// ---------------------------------------------------------------------------
// Running the binary, and the secrets check
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Out {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Out {
    /// The `mfa-exec: error:` line (and the hint line after it, if any).
    fn error(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        match lines.iter().position(|l| l.starts_with("mfa-exec: error:")) {
            Some(i) => lines[i..].join("\n"),
            None => String::new(),
        }
    }
}

/// Every run of one test, for the secrets check.
#[derive(Default, Clone)]
struct Log {
    outs: Arc<Mutex<Vec<Out>>>,
}

impl Log {
    fn push(&self, o: &Out) {
        self.outs.lock().unwrap().push(o.clone());
    }

    fn run(&self, env: &TestEnv, sts: Option<&FakeSts>, args: &[&str]) -> Out {
        self.run_with(env, sts, args, &[])
    }

    fn run_with(
        &self,
        env: &TestEnv,
        sts: Option<&FakeSts>,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Out {
        let mut cmd = match sts {
            Some(s) => env.std_cmd_with_sts(args, s),
            None => env.std_cmd(args),
        };
        for (k, v) in vars {
            cmd.env(k, v);
        }
        self.exec(cmd, args)
    }

    fn exec(&self, cmd: StdCommand, args: &[&str]) -> Out {
        let start = Instant::now();
        let o = assert_cmd::Command::from_std(cmd)
            .timeout(Duration::from_secs(60))
            .output()
            .expect("run mfa-exec");
        let out = Out {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            elapsed: start.elapsed(),
        };
        assert!(
            !out.stderr.contains("panicked") && out.code != Some(101),
            "mfa-exec panicked: {out:?}"
        );
        self.push(&out);
        out
    }

    /// Asserts that no secret leaked. `extra` are long-term secrets of the test.
    fn check_secrets(&self, stss: &[&FakeSts], extra: &[&str]) -> usize {
        let mut secrets: Vec<String> = vec![SEED_SECRET.to_string()];
        secrets.extend(extra.iter().map(|s| s.to_string()));
        for sts in stss {
            for i in sts.issued() {
                secrets.push(i.secret_access_key);
                secrets.push(i.session_token);
            }
        }
        let outs = self.outs.lock().unwrap();
        for o in outs.iter() {
            let asked = o
                .args
                .iter()
                .find(|a| !a.starts_with('-'))
                .is_some_and(|a| a == "export" || a == "credential-process");
            for s in &secrets {
                assert!(
                    !o.stderr.contains(s.as_str()),
                    "a secret appeared on stderr of mfa-exec {:?}:\n{}",
                    o.args,
                    o.stderr
                );
                assert!(
                    asked || !o.stdout.contains(s.as_str()),
                    "a secret appeared on stdout of mfa-exec {:?}:\n{}",
                    o.args,
                    o.stdout
                );
            }
        }
        outs.len()
    }
}

/// Replaces the fake's URL and the temp HOME with stable text.
fn norm(s: &str, env: &TestEnv, sts: Option<&FakeSts>) -> String {
    let mut s = s.replace(&env.home().display().to_string(), "$HOME");
    if let Some(sts) = sts {
        s = s.replace(&sts.url(), "http://127.0.0.1:PORT");
    }
    s
}

fn parse(text: &str) -> ini::Document {
    ini::Document::parse(text).unwrap_or_else(|e| panic!("the file does not parse: {e}\n{text}"))
}

fn temp_files(env: &TestEnv) -> Vec<String> {
    env.aws_dir_entries()
        .into_iter()
        .filter(|n| n.starts_with(".credentials.mfa-exec-") && n.ends_with(".tmp"))
        .collect()
}

fn lock_files(env: &TestEnv) -> Vec<String> {
    env.aws_dir_entries()
        .into_iter()
        .filter(|n| n.ends_with(".lock"))
        .collect()
}

/// The issued session whose key id `[section]` holds; asserts the triple matches.
fn assert_issued_session(doc: &ini::Document, section: &str, sts: &FakeSts) -> Issued {
    let id = doc
        .get(section, "aws_access_key_id")
        .unwrap_or_else(|| panic!("[{section}] has no key id"));
    let issued = sts
        .issued()
        .into_iter()
        .find(|i| i.access_key_id == id)
        .unwrap_or_else(|| panic!("[{section}] holds {id}, which the fake never issued"));
    assert_eq!(
        doc.get(section, "aws_secret_access_key"),
        Some(issued.secret_access_key.as_str())
    );
    assert_eq!(
        doc.get(section, "aws_session_token"),
        Some(issued.session_token.as_str())
    );
    assert!(doc.get(section, "x_security_token_expires").is_some());
    issued
}

/// `text` without section `name` (for "everything else is kept" checks).
fn without(text: &str, name: &str) -> String {
    let mut d = parse(text);
    while d.has_section(name) {
        if d.section_lines(name).len() > 1 {
            panic!("duplicate [{name}]");
        }
        d.remove_section(name).unwrap();
    }
    d.render()
}

/// The lines of `text` outside every occurrence of section `name`.
fn outside(text: &str, name: &str) -> String {
    let doc = parse(text);
    let mut inside = false;
    let mut out = String::new();
    let headers: Vec<usize> = doc.sections().iter().map(|s| s.line).collect();
    let ours = doc.section_lines(name);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if headers.contains(&(i + 1)) {
            inside = ours.contains(&(i + 1));
        }
        if !inside {
            out.push_str(line);
        }
    }
    out
}

/// Is `old` a subsequence of `new`, line by line?
fn lines_kept(old: &str, new: &str) -> bool {
    let mut it = new.lines();
    old.lines().all(|l| it.any(|n| n == l))
}

/// Spawns with stderr piped; the returned receiver gets each stderr line.
fn spawn_watched(mut cmd: StdCommand) -> (Child, mpsc::Receiver<String>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mfa-exec");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let hit = l.contains(needle);
                seen.push(l);
                if hit {
                    return seen;
                }
            }
            Err(_) => panic!("never saw {needle:?} on stderr; saw {seen:?}"),
        }
    }
}

fn wait_child(child: &mut Child, timeout: Duration) -> Option<i32> {
    use wait_timeout::ChildExt;
    match child.wait_timeout(timeout).unwrap() {
        Some(s) => s.code(),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mfa-exec did not finish within {timeout:?}");
        }
    }
}

/// A tiny deterministic PRNG (xorshift), seeded from the clock and printed.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("reliability: RELIABILITY_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------
// Running as `nobody` (disk and hostile cases)
// ---------------------------------------------------------------------------

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Makes HOME and ~/.aws reachable for `nobody` and hands them over.
fn for_nobody(env: &TestEnv) {
    env.set_mode(env.home(), 0o755);
    for p in [env.aws_dir(), env.config_path(), env.credentials_path()] {
        if p.exists() {
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        }
    }
}

/// A copy of the binary that `nobody` can run, inside HOME (made reachable by
/// [`for_nobody`], removed with it). The build's own path may lie under a
/// directory `nobody` cannot search (a checkout under `/root`, or in a
/// `mktemp -d` folder), so `target/debug/mfa-exec` itself will not do.
/// `Err` with the reason when HOME itself is out of `nobody`'s reach.
fn nobody_bin(env: &TestEnv) -> Result<PathBuf, String> {
    for dir in env.home().ancestors().skip(1) {
        let mode = fs::metadata(dir)
            .map_err(|e| format!("cannot stat {}: {e}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o001 == 0 {
            return Err(format!(
                "the test HOME lies under {} (mode {:o}), which nobody cannot search; \
                 set TMPDIR to a directory others can reach",
                dir.display(),
                mode & 0o7777
            ));
        }
    }
    let dir = env.home().join("nobody-bin");
    fs::create_dir(&dir).unwrap();
    env.set_mode(&dir, 0o755);
    let bin = dir.join("mfa-exec");
    fs::copy(bin_path(), &bin).unwrap();
    env.set_mode(&bin, 0o755);
    // A child another test thread forked while the copy was open for writing
    // holds that descriptor until it execs: exec'ing the copy then fails with
    // ETXTBSY. Once one run gets past that, no writer is left.
    for _ in 0..200 {
        match StdCommand::new(&bin).arg("--version").output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => break,
        }
    }
    Ok(bin)
}

fn nobody_cmd(env: &TestEnv, sts: &FakeSts, bin: &Path, args: &[&str]) -> StdCommand {
    let mut cmd = env.other_cmd(bin.to_str().unwrap(), args);
    cmd.env("AWS_ENDPOINT_URL_STS", sts.url());
    cmd.uid(65534).gid(65534);
    cmd
}
