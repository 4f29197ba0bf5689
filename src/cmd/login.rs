//! `mfa-exec login P`: the AWS console, signed in with P's session (SPEC §8.4).
//!
//! - A role profile signs in with its role session, obtained exactly as the
//!   main form would (`App::session`: cached, else one code at most, written
//!   to the credentials file as usual).
//! - A profile without a role signs in with a `GetFederationToken` session of
//!   the long-term keys: the federation endpoint refuses GetSessionToken
//!   sessions. It is not cached (nothing is written), and it carries no MFA
//!   context, which a warning says.
//! - GetFederationToken decision: `Name` is the local user name (`$USER`,
//!   reduced to the characters STS allows, at most 32) or `mfa-exec`; `Policy`
//!   allows everything, as aws-vault does (`vault/federationtokenprovider.go`):
//!   without a policy the session has no permissions at all, and with one the
//!   session gets the intersection of it and the user's own policies, so this
//!   one grants nothing the user lacks.
//! - Everything that can be checked without a network call is checked first:
//!   the opener, the endpoint, the destination, the profile.
//! - The sign-in URL is a credential for 15 minutes: it goes to stdout with
//!   `--print`, else only into the argument list of the browser program (run
//!   directly, never through a shell); never on stderr or in `--verbose` notes.

use super::{App, LOCK_TIMEOUT};
use crate::cli::LoginArgs;
use crate::env::Env;
use crate::error::{fail, Fail};
use crate::profile::{Plan, CHAIN_MAX};
use crate::secret::{mask_key_id, Secret};
use crate::session::Session;
use crate::signin::{self, Https, Partition, SigninError};
use crate::sts::{AwsSts, FederationTokenInput, Kind, Signer, Sts};
use crate::ui::Ui;
use anyhow::Result;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The session policy of a GetFederationToken session: everything, bounded by
/// the user's own policies.
pub const ALLOW_ALL_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The console session's longest `SessionDuration` (12 h) and shortest (15 min).
const CONSOLE_MAX: u64 = 43_200;
const CONSOLE_MIN: u64 = 900;
/// How far the local clock may be behind STS's before a chained role session
/// could look longer than 1 h.
const SKEW_MARGIN: u64 = 600;

pub fn run(env: Env, ui: Ui, a: &LoginArgs) -> Result<i32> {
    let name = a.profile.name()?.to_string();
    let opener = if a.print {
        None
    } else {
        Some(find_opener(&env, &name, ui)?)
    };
    let app = App::load(env, ui)?;
    let plan = app.plan(&name, &a.session.resolve)?;
    let region = plan
        .region
        .as_ref()
        .unwrap_or(&plan.sts_region)
        .value
        .clone();
    if !signin::valid_region(&region) {
        return Err(fail(format!("'{region}' is not a region name")).into());
    }
    if signin::unknown_partition(&region)
        && a.signin_url.is_none()
        && app.env.get("MFA_EXEC_SIGNIN_URL").is_none()
    {
        // Never send a session of an isolated partition to the commercial
        // sign-in endpoint.
        return Err(fail(format!(
            "region {region} is in a partition whose sign-in endpoint mfa-exec does not know"
        ))
        .hint("pass its federation endpoint with --signin-url (or MFA_EXEC_SIGNIN_URL)")
        .into());
    }
    let (endpoint, overridden) = endpoint(&app.env, a, Partition::of_region(&region))?;
    let destination = match &a.destination {
        Some(d) => {
            if signin::check_destination(d).is_some() {
                return Err(fail(format!("--destination '{d}' is not an https URL"))
                    .hint("for example: https://console.aws.amazon.com/s3/home")
                    .into());
            }
            d.clone()
        }
        None => signin::console_home(&region),
    };
    // Its CA bundle is read (once) only when a request is about to be made.
    let sts = app.sts(&plan)?;
    let (session, duration, what) = if plan.is_role() {
        let s = app.session(&plan, &a.session, LOCK_TIMEOUT)?;
        // A chained role session is capped at 1 h and the endpoint refuses a
        // SessionDuration for it; one with clearly more left (a margin for
        // clock skew with STS) was assumed with the long-term keys, and takes it.
        let d = (s.remaining(chrono::Utc::now()) > (CHAIN_MAX + SKEW_MARGIN) as i64)
            .then(|| plan.duration.value.clamp(CONSOLE_MIN, CONSOLE_MAX));
        (s, d, "role session")
    } else {
        ui.warn(&format!(
            "profile '{name}' has no role: the console gets a GetFederationToken session of its long-term keys, which carries no MFA context, so a policy that denies actions without MFA denies them there"
        ));
        (
            federation_session(&app, &plan, &sts)?,
            None,
            "federation session",
        )
    };
    ui.info(&format!(
        "getting a sign-in token for the {what} {} from {endpoint}, for the console in {region} (partition {})",
        mask_key_id(&session.access_key_id),
        Partition::of_region(&region).name()
    ));
    if let Some(origin) = overridden {
        // As for STS: a request going somewhere else than AWS is said once.
        ui.note(&format!(
            "using the sign-in endpoint at {endpoint} (from {origin})"
        ));
    }
    // The same TLS and proxy rules as STS: the CA bundle (AWS_CA_BUNDLE,
    // ca_bundle) instead of the system's roots, read once for both calls,
    // and the proxy chosen for this endpoint as for STS.
    // Never a proxy for plain http or loopback (issue 21 item 5).
    let proxy = if signin::never_proxied(&endpoint) {
        None
    } else {
        crate::sts::proxy_for(&app.env, &endpoint)?
    };
    let https = Https {
        tls: sts.bundle()?.map(|b| crate::sts::tls_context(Some(b))),
        proxy: crate::sts::proxy_config(proxy.as_ref()),
        ..Https::default()
    };
    let token = https
        .signin_token(&endpoint, &session, duration)
        .map_err(|e| {
            let asked = Asked {
                endpoint: &endpoint,
                overridden,
                default: Partition::of_region(&region).federation_endpoint(),
                profile: &name,
                what,
                role: plan.is_role(),
            };
            describe(&e, &asked, proxy.as_ref())
        })?;
    let url = signin::login_url(&endpoint, &destination, &token);
    match opener {
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", url.expose())?;
            out.flush()?;
        }
        Some(o) => o.open(&url, &name)?,
    }
    Ok(0)
}

/// `--signin-url`, else `MFA_EXEC_SIGNIN_URL`, else the partition's endpoint;
/// with where an override came from.
fn endpoint(
    env: &Env,
    a: &LoginArgs,
    partition: Partition,
) -> Result<(String, Option<&'static str>)> {
    let (url, origin) = match (&a.signin_url, env.get("MFA_EXEC_SIGNIN_URL")) {
        (Some(u), _) => (u.clone(), "--signin-url"),
        (None, Some(u)) => (u.to_string(), "MFA_EXEC_SIGNIN_URL"),
        (None, None) => {
            return Ok((partition.federation_endpoint().to_string(), None));
        }
    };
    if let Some(why) = signin::check_endpoint(&url) {
        return Err(fail(format!("{origin} '{url}' cannot be used: {why}"))
            .hint(format!(
                "the default is {}",
                partition.federation_endpoint()
            ))
            .into());
    }
    Ok((url, Some(origin)))
}

/// The federated user's name: `$USER` with only the characters STS allows
/// (`[\w+=,.@-]`), 2 to 32 of them, else `mfa-exec`.
fn federated_name(env: &Env) -> String {
    let user: String = env
        .get("USER")
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(32)
        .collect();
    if user.len() >= 2 {
        user
    } else {
        "mfa-exec".to_string()
    }
}

/// GetFederationToken with the long-term keys of the plan.
fn federation_session(app: &App, plan: &Plan, sts: &AwsSts) -> Result<Session> {
    let input = FederationTokenInput {
        name: federated_name(&app.env),
        policy: ALLOW_ALL_POLICY.to_string(),
        duration: plan.duration.value,
    };
    // The long-term keys: from the file, or read from the keyring now.
    let keyring = crate::keystore::OsKeyring::new();
    let keys = match &plan.source.keys {
        crate::profile::Keys::File(k) => k.clone(),
        crate::profile::Keys::Keyring { account } => crate::keys::load(&keyring, account)?,
    };
    let signer = Signer {
        access_key_id: keys.access_key_id,
        secret: keys.secret,
        token: None,
    };
    app.ui.info(&format!(
        "GetFederationToken for '{}' as '{}' with key {}, {}",
        plan.source.profile,
        input.name,
        mask_key_id(&signer.access_key_id),
        crate::duration::human(input.duration)
    ));
    sts.ready()?;
    app.ui.progress("getting a federation session from STS...");
    match sts.get_federation_token(&signer, &input) {
        Ok(issued) => Ok(issued.session),
        Err(e) if e.kind == Kind::AccessDenied => {
            Err(fail(format!(
                "STS denied GetFederationToken to the keys of {} (STS: {}): {}",
                plan.source.place(),
                e.code.as_deref().unwrap_or("AccessDenied"),
                e.message
            ))
            .hint("a policy that requires MFA, or denies sts:GetFederationToken, refuses it; sign in with a role profile (role_arn and mfa_serial) instead")
            .into())
        }
        Err(e) => Err(crate::sts::describe(plan, None, &e, chrono::Utc::now()).into()),
    }
}

/// What a sign-in request was: where it went, for which session.
struct Asked<'a> {
    endpoint: &'a str,
    /// `--signin-url` or `MFA_EXEC_SIGNIN_URL` when one set the endpoint.
    overridden: Option<&'static str>,
    /// The partition's own endpoint.
    default: &'static str,
    profile: &'a str,
    what: &'a str,
    role: bool,
}

/// SPEC §7: a sign-in failure as one line and a hint. Only hints that apply
/// (issue 25 item 4): `--force` only for a role session (the one that can be
/// cached and revoked); a 404 or 405 says the URL is not a federation
/// endpoint, with the default when an override set it.
fn describe(e: &SigninError, asked: &Asked, proxy: Option<&crate::sts::Proxy>) -> Fail {
    let Asked {
        endpoint,
        profile,
        what,
        ..
    } = *asked;
    let at = format!("the AWS sign-in endpoint at {endpoint}");
    let check_override = asked
        .overridden
        .map(|origin| format!("check {origin}: the default is {}", asked.default));
    if let SigninError::Status(s @ (404 | 405)) = e {
        let reason = if *s == 404 {
            "not found"
        } else {
            "method not allowed"
        };
        let f = fail(format!(
            "{at} answered HTTP {s} ({reason}): it is not a federation endpoint (getSigninToken); nothing was signed in"
        ));
        return match check_override {
            Some(h) => f.hint(h),
            None => f.hint("try again in a minute"),
        };
    }
    let network = "check the network and the proxy variables (HTTPS_PROXY, NO_PROXY), or the endpoint (--signin-url, MFA_EXEC_SIGNIN_URL)";
    match e {
        SigninError::Status(s) if (400..500).contains(s) => {
            let f = fail(format!("{at} refused the {what} of '{profile}' (HTTP {s})"));
            match (asked.role, check_override) {
                (true, _) => f.hint(format!(
                    "it takes role and GetFederationToken sessions only; a revoked role session is replaced with 'mfa-exec login {profile} --force'"
                )),
                // The session was made just now: a refusal is the endpoint's.
                (false, Some(h)) => f.hint(h),
                (false, None) => f,
            }
        }
        SigninError::Status(s) => {
            fail(format!("{at} failed (HTTP {s})")).hint("try again in a minute")
        }
        SigninError::BadAnswer(why) => {
            fail(format!("{at} sent an answer mfa-exec cannot read: {why}"))
        }
        // Through a proxy, a refused connection or an unknown host is the
        // proxy's (SPEC §8.2: name the proxy, not the endpoint).
        SigninError::Unreachable(why @ ("connection refused" | "the host name does not resolve")) => {
            match proxy {
                Some(p) => fail(format!("cannot reach the proxy {p} for {at}: {why}"))
                    .hint("check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), or bypass it for the sign-in host with NO_PROXY"),
                None => fail(format!("{at} is unreachable: {why}")).hint(network),
            }
        }
        // The proxy's own refusal of CONNECT: the proxy is at fault, and
        // named (as for STS, SPEC §8.2).
        SigninError::Unreachable(
            why @ (signin::TUNNEL_AUTH
            | signin::TUNNEL_REFUSED
            | signin::TUNNEL_CLOSED
            | signin::TUNNEL_OTHER),
        ) => match proxy {
            Some(p) => {
                let what = why.strip_prefix("the proxy ").unwrap_or(why);
                fail(format!("the proxy {p} {what} to {at}"))
                    .hint("check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) and its rules for the sign-in host, or bypass it with NO_PROXY")
            }
            None => fail(format!("{at} is unreachable: {why}")).hint(network),
        },
        SigninError::Unreachable(why) => fail(format!("{at} is unreachable: {why}")).hint(network),
        SigninError::TimedOut => fail(format!("{at} did not answer in time")).hint(network),
    }
}

/// A program that opens the URL.
struct Opener {
    program: PathBuf,
    /// Arguments; a `%s` in one is replaced by the URL, else the URL is last.
    args: Vec<String>,
    /// From `$BROWSER` (may be a terminal browser: keeps the terminal) or a
    /// desktop launcher (its output is dropped: it may quote the URL).
    from_browser_var: bool,
}

/// The platform's URL launcher: `open` on macOS only (on Debian `open` is
/// run-mailcap, which does not open URLs), `xdg-open` elsewhere.
#[cfg(target_os = "macos")]
const LAUNCHER: &str = "open";
#[cfg(not(target_os = "macos"))]
const LAUNCHER: &str = "xdg-open";

/// `$BROWSER` (a `:`-separated list of commands, each a program and its
/// arguments, split on spaces, never given to a shell), else `xdg-open`, else
/// `open`.
fn find_opener(env: &Env, profile: &str, ui: Ui) -> Result<Opener> {
    if let Some(list) = env.get("BROWSER") {
        for entry in list.split(':') {
            let mut words = entry.split_whitespace();
            let Some(first) = words.next() else { continue };
            if let Ok(program) = which::which(first) {
                return Ok(Opener {
                    program,
                    args: words.map(str::to_string).collect(),
                    from_browser_var: true,
                });
            }
        }
        ui.warn(&format!(
            "no program named in $BROWSER was found; trying {LAUNCHER}"
        ));
    }
    if let Ok(program) = which::which(LAUNCHER) {
        return Ok(Opener {
            program,
            args: Vec::new(),
            from_browser_var: false,
        });
    }
    let browser = if env.get("BROWSER").is_some() {
        "no program named in $BROWSER was found"
    } else {
        "$BROWSER is not set"
    };
    Err(fail(format!(
        "no browser to open the sign-in URL: {browser}, and {LAUNCHER} is not installed"
    ))
    .hint(format!(
        "run 'mfa-exec login {profile} --print' and open the URL yourself"
    ))
    .into())
}

/// The `$BROWSER` convention's escapes in one argument: `%s` is the URL, `%%`
/// a literal `%`; any other `%` stays as it is. Also says whether the URL was
/// placed.
fn expand_percent(arg: &str, url: &str) -> (String, bool) {
    let mut out = String::with_capacity(arg.len());
    let mut placed = false;
    let mut chars = arg.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => {
                out.push_str(url);
                placed = true;
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    (out, placed)
}

impl Opener {
    fn argv(&self, url: &Secret) -> Vec<OsString> {
        let mut placed = false;
        let mut argv: Vec<OsString> = self
            .args
            .iter()
            .map(|a| {
                let (arg, has_url) = expand_percent(a, url.expose());
                placed |= has_url;
                arg.into()
            })
            .collect();
        if !placed {
            argv.push(url.expose().into());
        }
        argv
    }

    fn open(&self, url: &Secret, profile: &str) -> Result<()> {
        let shown = self.program.display().to_string();
        let mut cmd = Command::new(&self.program);
        // The browser is no place for a one-time code (SPEC §4 removes it
        // from the wrapped command too).
        cmd.args(self.argv(url)).env_remove("MFA_EXEC_TOKEN_CODE");
        if !self.from_browser_var {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        let hint = format!("run 'mfa-exec login {profile} --print' and open the URL yourself");
        let status = cmd.status().map_err(|e| {
            fail(format!("cannot run {shown} to open the sign-in URL: {e}")).hint(hint.clone())
        })?;
        if !status.success() {
            let how = match status.code() {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            };
            return Err(
                fail(format!("{shown} could not open the sign-in URL ({how})"))
                    .hint(hint)
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn federated_names() {
        let e = |v: &str| Env::from_pairs(&[("USER", v)], None);
        assert_eq!(federated_name(&e("alice")), "alice");
        assert_eq!(federated_name(&e("al ice!/x")), "alicex");
        assert_eq!(federated_name(&e("a")), "mfa-exec");
        assert_eq!(federated_name(&Env::from_pairs(&[], None)), "mfa-exec");
        assert_eq!(federated_name(&e(&"x".repeat(40))).len(), 32);
    }

    #[test]
    fn opener_arguments() {
        let url = Secret::new("https://signin.example/f?a=1&b=%2F");
        let o = Opener {
            program: "/bin/true".into(),
            args: vec!["--new-window".into()],
            from_browser_var: true,
        };
        assert_eq!(
            o.argv(&url),
            vec![OsString::from("--new-window"), OsString::from(url.expose())]
        );
        let o = Opener {
            args: vec!["--url=%s".into(), "-x".into()],
            ..o
        };
        assert_eq!(
            o.argv(&url),
            vec![
                OsString::from(format!("--url={}", url.expose())),
                OsString::from("-x")
            ]
        );
    }

    #[test]
    fn browser_escapes() {
        let url = "https://signin.example/f?a=1&b=%2F";
        assert_eq!(
            expand_percent("--url=%s", url),
            (format!("--url={url}"), true)
        );
        // `%%s` is a literal `%s`, not the URL (which then goes last).
        assert_eq!(
            expand_percent("--label=100%%s", url),
            ("--label=100%s".into(), false)
        );
        assert_eq!(expand_percent("50%%", url), ("50%".into(), false));
        assert_eq!(expand_percent("%d%", url), ("%d%".into(), false));
        let o = Opener {
            program: "/bin/true".into(),
            args: vec!["--title=%%s".into()],
            from_browser_var: true,
        };
        assert_eq!(
            o.argv(&Secret::new(url)),
            vec![OsString::from("--title=%s"), OsString::from(url)]
        );
    }

    #[test]
    fn policy_is_json() {
        let v: serde_json::Value = serde_json::from_str(ALLOW_ALL_POLICY).unwrap();
        assert_eq!(v["Statement"][0]["Action"], "*");
    }
}
