//! The wrapped command (SPEC §4): its environment, its resolution on `PATH`, and
//! the `exec` that replaces mfa-exec with it. Linux and macOS only (SPEC §8.2).
//!
//! Never prompts, never calls STS, never writes a file: by the time the child is
//! built, the session is in hand; the `PATH` lookup runs before any prompt.

use crate::env::Env;
use crate::error::{exit, fail};
use crate::session::Session;
use anyhow::Result;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Removed from the inherited environment before the session is set.
pub const REMOVED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_SESSION_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "MFA_EXEC_TOKEN_CODE",
    "MFA_EXEC_PROFILE",
];

/// The variables that carry a session: `(name, value)` in a fixed order.
pub fn session_vars(
    profile: &str,
    s: &Session,
    region: Option<&str>,
) -> Vec<(&'static str, String)> {
    let exp = s.expires_rfc3339();
    let mut v = vec![
        ("AWS_ACCESS_KEY_ID", s.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", s.secret.expose().to_string()),
        ("AWS_SESSION_TOKEN", s.token.expose().to_string()),
        ("AWS_SECURITY_TOKEN", s.token.expose().to_string()),
        ("AWS_CREDENTIAL_EXPIRATION", exp.clone()),
        ("AWS_SESSION_EXPIRATION", exp),
    ];
    if let Some(r) = region {
        v.push(("AWS_REGION", r.to_string()));
        v.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    v.push(("MFA_EXEC_PROFILE", profile.to_string()));
    v
}

/// The child's whole environment: inherited, minus [`REMOVED`] (and the region
/// variables when a region is set), plus the session. Each variable once.
pub fn child_env(
    base: &Env,
    profile: &str,
    s: &Session,
    region: Option<&str>,
) -> Vec<(OsString, OsString)> {
    assemble(base, &[], session_vars(profile, s, region))
}

/// Removed as well in a `--server` child: other container-credential settings
/// (the JS SDK and botocore disagree on which of the token and the token file
/// wins; a relative URI would point at an ECS agent).
pub const SERVER_REMOVED: &[&str] = &[
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// The environment of a `--server` child (SPEC §9.2): SPEC §4's without the
/// static session (keys, token, and both expiry variables, which would go
/// stale at the first renewal), with the endpoint's URL and token instead.
pub fn server_env(
    base: &Env,
    profile: &str,
    region: Option<&str>,
    url: &str,
    token: &crate::secret::Secret,
) -> Vec<(OsString, OsString)> {
    let mut set = vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.to_string()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            token.expose().to_string(),
        ),
    ];
    if let Some(r) = region {
        set.push(("AWS_REGION", r.to_string()));
        set.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    set.push(("MFA_EXEC_PROFILE", profile.to_string()));
    assemble(base, SERVER_REMOVED, set)
}

/// `base` minus [`REMOVED`], `extra` and every name in `set`, then `set`.
fn assemble(
    base: &Env,
    extra: &[&str],
    set: Vec<(&'static str, String)>,
) -> Vec<(OsString, OsString)> {
    let mut out: Vec<(OsString, OsString)> = base
        .vars()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            !REMOVED.contains(&k.as_ref())
                && !extra.contains(&k.as_ref())
                && !set.iter().any(|(n, _)| *n == k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.extend(
        set.into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    out
}

/// The command to run: the given one, else `$SHELL`, else `/bin/sh`.
pub fn command_or_shell(base: &Env, command: &[OsString]) -> Vec<OsString> {
    if command.is_empty() {
        vec![base
            .get_os("SHELL")
            .filter(|s| !s.is_empty())
            .map(OsStr::to_os_string)
            .unwrap_or_else(|| OsString::from("/bin/sh"))]
    } else {
        command.to_vec()
    }
}

/// Resolves `name` on the child's `PATH`: 127 when absent, 126 when not executable.
pub fn resolve(name: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf> {
    let shown = name.to_string_lossy();
    if name.is_empty() {
        return Err(fail("command not found: '' (an empty command name)")
            .code(exit::NOT_FOUND)
            .into());
    }
    // No PATH at all: the default search path, as execvp and env(1) use.
    let path_var = path_var.or(Some(OsStr::new(DEFAULT_PATH)));
    let has_slash = shown.contains('/');
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Ok(p) = which::which_in(name, path_var, &cwd) {
        check_interpreter(&p, &shown)?;
        return Ok(p);
    }
    // Found but not runnable (126), or not found at all (127)?
    let candidates: Vec<PathBuf> = if has_slash {
        vec![cwd.join(name)]
    } else {
        path_var
            .map(|p| std::env::split_paths(p).map(|d| d.join(name)).collect())
            .unwrap_or_default()
    };
    if let Some(c) = candidates.iter().find(|c| c.exists()) {
        let why = if c.is_dir() {
            "is a directory"
        } else {
            "permission denied"
        };
        return Err(fail(format!("cannot run {shown}: {why} ({})", c.display()))
            .code(exit::CANNOT_RUN)
            .into());
    }
    Err(fail(format!("command not found: {shown}"))
        .code(exit::NOT_FOUND)
        .into())
}

/// The search path when `PATH` is unset (glibc's and BSD's `_PATH_DEFPATH`).
const DEFAULT_PATH: &str = "/usr/local/bin:/bin:/usr/bin";

/// A script whose `#!` interpreter is missing fails only at `exec`, after the
/// code was spent: look the interpreter up now too (127 when absent, 126 when
/// it cannot run), so the whole lookup happens before any request.
fn check_interpreter(program: &std::path::Path, shown: &str) -> Result<()> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let mut head = [0u8; 256];
    let n = match std::fs::File::open(program).and_then(|mut f| f.read(&mut head)) {
        Ok(n) => n,
        Err(_) => return Ok(()), // exec will say what is wrong
    };
    let Some(line) = head[..n].strip_prefix(b"#!") else {
        return Ok(());
    };
    let line = line.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let Some(interp) = line.split_whitespace().next() else {
        return Ok(());
    };
    let path = std::path::Path::new(interp);
    if !path.is_absolute() {
        return Ok(()); // the kernel resolves it relative to the cwd; leave it to exec
    }
    match std::fs::metadata(path) {
        Err(_) => Err(fail(format!(
            "cannot run {shown}: its interpreter {interp} (from its #! line) does not exist"
        ))
        .code(exit::NOT_FOUND)
        .into()),
        Ok(m) if m.is_dir() || m.permissions().mode() & 0o111 == 0 => Err(fail(format!(
            "cannot run {shown}: its interpreter {interp} (from its #! line) is not executable"
        ))
        .code(exit::CANNOT_RUN)
        .into()),
        Ok(_) => Ok(()),
    }
}

/// The program the command names, looked up on the child's `PATH` (SPEC §8.1:
/// before any prompt or request, so a mistyped command costs no code).
pub fn lookup(command: &[OsString], env: &[(OsString, OsString)]) -> Result<PathBuf> {
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone());
    resolve(&command[0], path_var.as_deref())
}

/// Replaces this process with `program` (found by [`lookup`]) and the command's
/// arguments. Returns only on failure.
pub fn exec(
    program: &std::path::Path,
    command: &[OsString],
    env: Vec<(OsString, OsString)>,
) -> Result<std::convert::Infallible> {
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(program)
        .arg0(&command[0])
        .args(&command[1..])
        .env_clear()
        .envs(env)
        .exec();
    Err(cannot_run(command, &err))
}

/// Starts `program` as a child (`--server`: mfa-exec stays to serve), in
/// mfa-exec's process group, with the terminal and the standard streams
/// inherited.
pub fn spawn(
    program: &std::path::Path,
    command: &[OsString],
    env: Vec<(OsString, OsString)>,
) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(program)
        .arg0(&command[0])
        .args(&command[1..])
        .env_clear()
        .envs(env)
        .spawn()
        .map_err(|e| cannot_run(command, &e))
}

/// The exit code that reports a child's status: its own code, 128+n when a
/// signal ended it (as shells report it).
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => exit::FAILURE,
    }
}

/// 127 when the program vanished, 126 otherwise, with the reason.
fn cannot_run(command: &[OsString], err: &std::io::Error) -> anyhow::Error {
    let shown = command[0].to_string_lossy();
    let code = match err.raw_os_error() {
        Some(libc::ENOENT) => exit::NOT_FOUND,
        _ => exit::CANNOT_RUN,
    };
    let reason = crate::store::io_reason(err);
    let mut chars = reason.chars();
    let reason = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => reason,
    };
    fail(format!("cannot run {shown}: {reason}"))
        .code(code)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn session() -> Session {
        Session {
            access_key_id: "ASIANEW".into(),
            secret: Secret::new("s"),
            token: Secret::new("t"),
            expires: chrono::Utc.with_ymd_and_hms(2026, 11, 29, 7, 0, 0).unwrap(),
        }
    }

    #[test]
    fn env_is_replaced_each_once() {
        let base = Env::from_pairs(
            &[
                ("PATH", "/bin"),
                ("AWS_PROFILE", "x"),
                ("AWS_ACCESS_KEY_ID", "AKIAOLD"),
                ("AWS_REGION", "old"),
                ("MFA_EXEC_TOKEN_CODE", "123456"),
                ("KEEP", "1"),
            ],
            None,
        );
        let env = child_env(&base, "test", &session(), Some("ap-northeast-2"));
        let get = |k: &str| -> Vec<String> {
            env.iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(get("AWS_ACCESS_KEY_ID"), ["ASIANEW"]);
        assert_eq!(get("AWS_REGION"), ["ap-northeast-2"]);
        assert_eq!(get("AWS_DEFAULT_REGION"), ["ap-northeast-2"]);
        assert_eq!(get("AWS_CREDENTIAL_EXPIRATION"), ["2026-11-29T07:00:00Z"]);
        assert_eq!(get("MFA_EXEC_PROFILE"), ["test"]);
        assert!(get("AWS_PROFILE").is_empty());
        assert!(get("MFA_EXEC_TOKEN_CODE").is_empty());
        assert_eq!(get("KEEP"), ["1"]);
        // Without a region, the inherited region variables stay as they are.
        let env = child_env(&base, "test", &session(), None);
        assert!(env.iter().any(|(k, v)| k == "AWS_REGION" && v == "old"));
    }

    #[test]
    fn server_env_has_no_static_session() {
        let base = Env::from_pairs(
            &[
                ("PATH", "/bin"),
                ("AWS_ACCESS_KEY_ID", "AKIAOLD"),
                ("AWS_SESSION_EXPIRATION", "x"),
                ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x"),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/t"),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "old"),
                ("KEEP", "1"),
            ],
            None,
        );
        let token = crate::secret::Secret::new("tok");
        let env = server_env(
            &base,
            "p",
            Some("eu-west-1"),
            "http://127.0.0.1:1/credentials",
            &token,
        );
        let mut names: Vec<String> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "KEEP",
                "MFA_EXEC_PROFILE",
                "PATH"
            ]
        );
        assert!(env
            .iter()
            .any(|(k, v)| k == "AWS_CONTAINER_AUTHORIZATION_TOKEN" && v == "tok"));
    }

    #[test]
    fn shell_default() {
        let e = Env::from_pairs(&[("SHELL", "/bin/zsh")], None);
        assert_eq!(command_or_shell(&e, &[]), [OsString::from("/bin/zsh")]);
        let e = Env::from_pairs(&[], None);
        assert_eq!(command_or_shell(&e, &[]), [OsString::from("/bin/sh")]);
    }
}
