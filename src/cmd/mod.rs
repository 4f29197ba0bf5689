//! One module per subcommand, each with the same entry point,
//! `run(env: Env, ui: Ui, args: &XArgs) -> Result<i32>` (the exit code), which
//! `main.rs` calls; this module holds the context they share once the files
//! are needed ([`App`]): the environment snapshot, the loaded files, the
//! store, and the glue from arguments to a plan and a session. A `run` loads
//! the [`App`] itself, as some work comes first (`exec`'s pass-through, `list`'s
//! threshold check, `completions` needs no files at all).

pub mod clear;
pub mod completions;
pub mod configure;
pub mod credential_process;
pub mod exec;
pub mod explain;
pub mod export;
pub mod keys;
pub mod list;
pub mod login;

use crate::cli::{ResolveArgs, SessionArgs};
use crate::env::Env;
use crate::flow::{self, Deps, Options};
use crate::otp::{CodeSource, PROCESS_TIMEOUT};
use crate::profile::{AwsFiles, Plan, Request, Resolver};
use crate::session::Session;
use crate::store::{self, Store};
use crate::sts::{self, AwsSts};
use crate::ui::Ui;
use anyhow::Result;
use std::time::Duration;

/// Default wait for another mfa-exec holding the lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(120);
/// Inside the SDKs' 60 s credential_process limit.
pub const LOCK_TIMEOUT_CREDENTIAL_PROCESS: Duration = Duration::from_secs(50);
/// The whole of a credential-process run that waits on something (the lock,
/// `mfa_process`, STS), from its start: inside the SDKs' 60 s limit, so the
/// caller gets our error rather than its own timeout.
pub const CREDENTIAL_PROCESS_BUDGET: Duration = Duration::from_secs(55);

/// What every subcommand works with.
pub struct App {
    pub env: Env,
    pub ui: Ui,
    pub files: AwsFiles,
    pub store: Store,
    /// When the run started, and the bound on all its waiting (lock,
    /// `mfa_process`, STS) when it has one (credential-process).
    pub started: std::time::Instant,
    pub budget: Option<Duration>,
    /// Set by credential-process: a cancelled dialog exits 125, not 130.
    pub credential_process: bool,
}

impl App {
    /// Reads both AWS files.
    pub fn load(env: Env, ui: Ui) -> Result<App> {
        let config = env.config_path()?;
        let creds = env.credentials_path()?;
        let files = store::load_files(
            &config,
            env.display_path(&config),
            &creds,
            env.display_path(&creds),
        )?;
        let store = Store::new(creds.clone(), env.display_path(&creds));
        let app = App {
            env,
            ui,
            files,
            store,
            started: std::time::Instant::now(),
            budget: None,
            credential_process: false,
        };
        app.warn_loose_mode();
        Ok(app)
    }

    fn warn_loose_mode(&self) {
        if let Some(mode) = loose_mode(&self.files.credentials.path) {
            self.ui.warn(&format!(
                "{} is readable by others (mode {mode:o}); run: chmod 600 {}",
                self.files.credentials.shown,
                self.files.credentials.path.display()
            ));
        }
    }

    pub fn request(&self, profile: &str, r: &ResolveArgs) -> Request {
        let e = &self.env;
        Request {
            profile: profile.to_string(),
            mfa_serial_flag: r.mfa_serial.clone(),
            region_flag: r.region.clone(),
            duration_flag: r.duration,
            min_remaining_flag: r.min_remaining,
            mfa_serial_env: e.get("MFA_EXEC_MFA_SERIAL").map(str::to_string),
            min_remaining_env: e.get("MFA_EXEC_MIN_REMAINING").map(str::to_string),
            region_env: e
                .get("AWS_REGION")
                .map(|v| ("AWS_REGION", v.to_string()))
                .or_else(|| {
                    e.get("AWS_DEFAULT_REGION")
                        .map(|v| ("AWS_DEFAULT_REGION", v.to_string()))
                }),
            outer_profile: e.get("MFA_EXEC_PROFILE").map(str::to_string),
            endpoint_env: e
                .get("AWS_ENDPOINT_URL_STS")
                .map(|v| ("AWS_ENDPOINT_URL_STS", v.to_string()))
                .or_else(|| {
                    e.get("AWS_ENDPOINT_URL")
                        .map(|v| ("AWS_ENDPOINT_URL", v.to_string()))
                }),
            ca_bundle_env: e.get("AWS_CA_BUNDLE").map(str::to_string),
            server_flag: false,
            server_env: e.get("MFA_EXEC_SERVER").map(str::to_string),
            prompt_flag: r.prompt.clone(),
            prompt_env: e.get("MFA_EXEC_PROMPT").map(str::to_string),
        }
    }

    /// Resolves a profile into a checked plan, warnings shown.
    pub fn plan(&self, profile: &str, r: &ResolveArgs) -> Result<Plan> {
        self.plan_for(self.request(profile, r))
    }

    /// [`Self::plan`] for a request already made (and amended, e.g. `--server`).
    pub fn plan_for(&self, req: Request) -> Result<Plan> {
        let profile = req.profile.clone();
        let plan = Resolver::new(&self.files).resolve(&req).map_err(|mut e| {
            // A configuration problem: point at `explain` when nothing better is known.
            if e.hint.is_none() {
                e.hint = Some(format!("run 'mfa-exec explain {profile}'"));
            }
            e
        })?;
        for w in &plan.warnings {
            self.ui.warn(w);
        }
        if let (true, Some(s)) = (plan.device_from_default, &plan.serial) {
            self.ui.info(&format!(
                "profile '{profile}' has no MFA device of its own: using {} from [default] ({})",
                s.value, s.origin
            ));
        }
        Ok(plan)
    }

    /// The end of the run's whole budget, when it has one (credential-process).
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.budget.map(|b| self.started + b)
    }

    /// Where the codes for the plan come from.
    pub fn codes(&self, plan: &Plan, s: &SessionArgs) -> CodeSource {
        CodeSource {
            deadline: self.deadline(),
            profile: plan.profile.clone(),
            serial: plan.serial().unwrap_or_default().to_string(),
            flag: s.token_code.clone(),
            env: self.env.get("MFA_EXEC_TOKEN_CODE").map(str::to_string),
            process: plan.mfa_process.clone(),
            no_input: s.no_input,
            process_timeout: plan
                .mfa_process_timeout
                .as_ref()
                .map(|f| Duration::from_secs(f.value))
                .unwrap_or(PROCESS_TIMEOUT),
            serving: match self.env.get(crate::otp::SERVING_VAR) {
                Some(outer) => format!("{outer},{}", plan.profile),
                None => plan.profile.clone(),
            },
            prompt: plan.prompt.clone(),
            prompt_timeout: Duration::from_secs(plan.prompt_timeout.value),
            desktop: crate::otp::dialog::Desktop::from_env(&self.env),
            cancel_code: crate::otp::dialog::cancel_code(self.credential_process),
            renewal: None,
            declined: Default::default(),
            shown: Default::default(),
        }
    }

    /// The STS client for the plan (nothing is started until a call). The CA
    /// bundle is found here, before the cache: a missing or unreadable bundle
    /// is a configuration error whether or not STS is called this time. Its
    /// certificates are read and checked only when STS is needed, still before
    /// the lock and any code ([`crate::sts::Sts::ready`]): parsing a system
    /// bundle would add a third to a cached run.
    pub fn sts(&self, plan: &Plan) -> Result<AwsSts> {
        let ca_bundle = match &plan.ca_bundle {
            Some(f) => Some(sts::BundleRef::check(&self.env, f)?),
            None => None,
        };
        let endpoint = plan.endpoint.as_ref().map(|e| e.value.clone());
        let url = sts::endpoint_url(&plan.sts_region.value, endpoint.as_deref());
        // A proxy variable that cannot be used only matters when STS is called.
        let (proxy, deferred) = match sts::proxy_for(&self.env, &url) {
            Ok(p) => (p, None),
            Err(f) => (None, Some(f)),
        };
        Ok(AwsSts {
            region: plan.sts_region.value.clone(),
            endpoint,
            ca_bundle,
            loaded_bundle: std::cell::OnceCell::new(),
            proxy,
            deferred: std::cell::Cell::new(deferred),
            note: std::cell::Cell::new(
                plan.endpoint
                    .as_ref()
                    .filter(|e| !is_aws_endpoint(&e.value))
                    .map(|e| format!("using STS at {} (from {})", e.value, e.origin)),
            ),
            ui: self.ui,
            deadline: self.deadline(),
        })
    }

    /// A fresh session for the plan: cached, or refreshed.
    pub fn session(
        &self,
        plan: &Plan,
        s: &SessionArgs,
        default_timeout: Duration,
    ) -> Result<Session> {
        // A malformed code is refused on every run, cached or not.
        crate::otp::check_given(s.token_code.as_deref(), self.env.get("MFA_EXEC_TOKEN_CODE"))?;
        // `flow::obtain` answers from the cache first; nothing below starts
        // tokio or the SDK until it needs STS.
        let now = chrono::Utc::now;
        let deadline = self.deadline();
        let codes = self.codes(plan, s);
        let sts = self.sts(plan)?;
        // Opened (D-Bus connected) only if the refresh reads keys from it.
        let keyring = crate::keystore::OsKeyring::within(deadline, self.budget);
        let deps = Deps {
            store: &self.store,
            sts: &sts,
            codes: &codes,
            now: &now,
            ui: self.ui,
            keyring: &keyring,
            deadline,
        };
        let opts = Options {
            force: s.force,
            lock_timeout: s
                .lock_timeout
                .map(Duration::from_secs)
                .unwrap_or(default_timeout)
                .min(
                    deadline
                        .map(|d| d.saturating_duration_since(std::time::Instant::now()))
                        .unwrap_or(Duration::MAX),
                ),
        };
        flow::obtain(plan, &self.files.credentials.doc, &opts, &deps)
    }
}

/// The mode of `path` when group or others may read it (`None` if private or absent).
pub fn loose_mode(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

/// An endpoint on AWS's own domains.
fn is_aws_endpoint(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host.ends_with(".amazonaws.com")
        || host.ends_with(".amazonaws.com.cn")
        || host.ends_with(".api.aws")
}
