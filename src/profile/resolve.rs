//! The [`Resolver`]: both files indexed once, the names of every profile,
//! the source chain (`source_profile`, with its cycle error and "did you
//! mean"), and [`Resolver::resolve`], which lowers a [`Request`] into a
//! checked [`Plan`]: role hops, key source, device, destination, region,
//! durations, endpoint, CA bundle, `mfa_process`, the bare-section warning.
//! The key source, device, destination and durations are resolved by the
//! `impl Resolver` blocks of the sibling modules. Pure: no I/O, no prompt,
//! no clock, no STS; it never writes a file.

use super::index::ConfigIndex;
use super::plan::{AwsFiles, Fact, Keys, Origin, Plan, PromptMode, Request, RoleHop};
use super::validate::{check_range, distance, valid_role_arn};
use super::{durations::chain_first, durations::min_remaining, err, err_hint, R};
use super::{CHAIN_MAX, GST_DEFAULT, GST_MAX, GST_MIN, ROLE_DEFAULT, ROLE_MAX, ROLE_MIN};
use crate::duration::{human, parse_duration};
use crate::error::Fail;
use crate::ini::Document;
use crate::keys::KEY_SETTING;
use std::collections::BTreeSet;
use std::rc::Rc;

/// The config setting that turns `--server` on for a profile.
pub const SERVER_SETTING: &str = "mfa_exec_server";

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case (`mfa_exec_server`,
/// `MFA_EXEC_SERVER`; `cmd::exec` asks it before the pass-through).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Everything resolution reads, with the config file indexed once.
pub struct Resolver<'a> {
    pub files: &'a AwsFiles,
    pub config: ConfigIndex<'a>,
    /// Duplicate sections and keys of both files, computed once.
    warnings: Vec<String>,
    /// The credentials file as shown, shared by every [`Origin`] in it.
    creds_file: Rc<str>,
}

impl<'a> Resolver<'a> {
    pub fn new(files: &'a AwsFiles) -> Resolver<'a> {
        let config = ConfigIndex::build_merged(&files.config, &files.credentials);
        let mut warnings = config.warnings.clone();
        for w in files.credentials.doc.warnings() {
            warnings.push(format!(
                "{}:{}: {}",
                files.credentials.shown, w.line, w.message
            ));
        }
        Resolver {
            files,
            config,
            warnings,
            creds_file: Rc::from(files.credentials.shown.as_str()),
        }
    }

    pub(super) fn creds(&self) -> &Document {
        &self.files.credentials.doc
    }

    pub(super) fn creds_origin(&self, section: &str, line: usize) -> Origin {
        Origin::File {
            file: self.creds_file.clone(),
            line,
            section: Rc::from(section),
        }
    }

    /// Every profile name either file knows (config names without `profile `).
    pub fn all_profiles(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.config.names().map(str::to_string).collect();
        for (s, _) in self.creds().header_iter() {
            if !names.contains(s) {
                names.insert(s.to_string());
            }
        }
        names
    }

    /// [`Self::all_profiles`] in the same order, borrowed (no copy of a name).
    pub fn profile_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .config
            .names()
            .chain(self.files.credentials.doc.header_iter().map(|(s, _)| s))
            .collect();
        // A stable sort: it finds the two runs (the config's names, already
        // in order, then the credentials headers, usually near it) and merges
        // them, where an unstable sort compares n log n times (a tenth of
        // `list` at 10,000 profiles).
        names.sort();
        names.dedup();
        names
    }

    pub(super) fn exists(&self, name: &str) -> bool {
        self.config.contains(name) || self.creds().has_section(name)
    }

    pub(super) fn unknown(&self, name: &str) -> Fail {
        let best = self
            .all_profiles()
            .into_iter()
            .map(|n| (distance(name, &n), n))
            .filter(|(d, n)| *d <= 2.max(n.len() / 3))
            .min();
        let message = format!(
            "profile '{name}' not found in {} or {}",
            self.files.config.shown, self.files.credentials.shown
        );
        match best {
            Some((_, n)) => err_hint(message, format!("did you mean '{n}'?")),
            // No AWS files (or no profile in them): `list` would show nothing.
            None if self.profile_names().is_empty() => err_hint(
                message,
                format!("there are no profiles yet; set one up with 'mfa-exec configure {name}'"),
            ),
            None => err_hint(message, "run 'mfa-exec list' to see the profiles"),
        }
    }

    /// P, then its `source_profile`, and so on; a cycle is an error, but a
    /// profile naming itself ends the chain (botocore: it uses its own keys).
    pub(super) fn chain(&self, name: &str) -> R<Vec<String>> {
        let mut chain = vec![name.to_string()];
        // The value borrows the document, not the chain: no copy of the
        // current name is needed to push the next one.
        while let Some((_, _, next)) = self.config.find(chain.last().expect("P"), "source_profile")
        {
            let cur = chain.last().expect("P");
            if next == cur {
                // A profile may name itself as its source_profile: botocore
                // then uses its own keys (a role profile with the keys and
                // the role in one place, issue 21 item 13). The chain ends.
                break;
            }
            // botocore reads no further than a source profile with keys of
            // its own: they win over its role_arn and source_profile.
            // (P itself is followed even so: SPEC §2 takes the source's
            // keys before P's config keys; a recorded, explained difference.)
            if chain.len() > 1 && self.has_static_keys(cur) {
                break;
            }
            if let Some(pos) = chain.iter().position(|c| c == next) {
                let mut path: Vec<&str> = chain[pos..].iter().map(String::as_str).collect();
                path.push(next);
                return Err(err(format!(
                    "source_profile cycle: {} (in {})",
                    path.join(" -> "),
                    self.files.config.shown
                )));
            }
            if !self.exists(next) {
                let mut e = self.unknown(next);
                e.message = format!(
                    "profile '{cur}' has source_profile = {next}, but {}",
                    e.message
                        .replacen(&format!("profile '{next}' "), "that profile is ", 1)
                );
                return Err(e);
            }
            chain.push(next.to_string());
        }
        Ok(chain)
    }

    /// Whether profile `p` has keys of its own, as botocore's
    /// `_has_static_credentials` asks (a key id or secret in its config
    /// section or its credentials section), less a session: `[P]` of the
    /// credentials file is where mfa-exec caches P's session, which is
    /// never a source's keys (SPEC §2).
    fn has_static_keys(&self, p: &str) -> bool {
        let creds = super::source::PairKeys::of(self.creds(), p);
        let in_creds = creds.token.is_none() && (creds.id.is_some() || creds.secret.is_some());
        let in_config = !self.config.has(p, "aws_session_token")
            && !self.config.has(p, "aws_security_token")
            && ["aws_access_key_id", "aws_secret_access_key"]
                .iter()
                .any(|k| self.config.has(p, k));
        in_creds || in_config
    }

    /// Where mfa-exec deliberately reads profile `name` differently from
    /// botocore (SPEC §9.1), beyond the files' own warnings: a bare config
    /// `[P]` beside `[profile P]` (botocore ignores it, mfa-exec reads its
    /// keys under), and a `source_profile` without `role_arn` (botocore
    /// ignores it, mfa-exec takes the keys and device along it), for P and
    /// every profile of its source chain; an IAM Identity Center profile
    /// with long-term keys (botocore's SSO provider comes before the
    /// credentials file, mfa-exec takes the keys). Shown by `explain`; a run
    /// does not repeat them.
    pub fn dialect_notes(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        // P and the profiles along its source chain: a bare section of a
        // source changes what P resolves to as much as one of P's own.
        let chain = self.chain_so_far(name);
        for p in &chain {
            if let Some(super::Foreign::Sso(key, f)) = self.foreign(p) {
                let lt = format!("{p}-long-term");
                if self.has_static_keys(p) || crate::keys::pair_in(self.creds(), &lt).is_some() {
                    out.push(format!(
                        "profile '{p}' has {key} ({}): the AWS CLI signs it in with IAM Identity Center, before any keys; mfa-exec uses its long-term keys",
                        f.origin
                    ));
                }
            }
        }
        for p in &chain {
            let own = self.config.profile_sections(p);
            let beside = own.iter().any(|(_, b, _)| !*b);
            for &(line, _, s) in own.iter().filter(|(_, b, _)| *b) {
                out.push(if beside {
                    format!(
                        "{}:{line}: [{s}] is a bare section; the AWS CLI ignores it in the config file, mfa-exec reads its keys under [profile {s}]",
                        self.files.config.shown
                    )
                } else {
                    format!(
                        "{}:{line}: [{s}] is a bare section; the AWS CLI ignores it in the config file (use [profile {s}])",
                        self.files.config.shown
                    )
                });
            }
        }
        for p in &chain {
            if self.config.has(p, "role_arn") {
                continue;
            }
            if let Some(sp) = self.config.get(p, "source_profile") {
                if sp.value != *p {
                    out.push(format!(
                        "profile '{p}' has source_profile = {} ({}) but no role_arn: the AWS CLI ignores it there; mfa-exec takes the long-term keys and the MFA device along it",
                        sp.value, sp.origin
                    ));
                }
            }
        }
        // A source (not P) holding a session, with a source_profile or a
        // role of its own: botocore signs the next AssumeRole with that
        // session and reads no further; mfa-exec takes long-term keys (SPEC
        // §2), so it follows the source's own source_profile (and may fail
        // there) or reads it as the role profile it also is.
        for p in chain.iter().skip(1) {
            let sp = self
                .config
                .get(p, "source_profile")
                .filter(|sp| sp.value != *p);
            if sp.is_none() && !self.config.has(p, "role_arn") {
                continue;
            }
            let pair = super::source::PairKeys::of(self.creds(), p);
            let in_config = || {
                let token = self
                    .config
                    .find(p, "aws_session_token")
                    .or_else(|| self.config.find(p, "aws_security_token"));
                matches!(token, Some((t, _, _)) if !t.trim().is_empty())
                    && self.config.has(p, "aws_access_key_id")
            };
            let at = match pair.token {
                Some((t, line, _)) if pair.id.is_some() && !t.trim().is_empty() => {
                    format!("{}:{line} [{p}]", self.files.credentials.shown)
                }
                _ if in_config() => format!("{} [profile {p}]", self.files.config.shown),
                _ => continue,
            };
            let then = match sp {
                Some(sp) => format!("follows its source_profile = {} ({})", sp.value, sp.origin),
                None => "reads it as a role profile, which needs a source_profile".to_string(),
            };
            out.push(format!(
                "profile '{p}' holds session credentials ({at}): the AWS CLI signs with them as the source and reads no further; mfa-exec needs long-term keys and {then}"
            ));
        }
        out
    }

    /// P and its sources as far as [`Self::chain`] gets before an error (a
    /// cycle, a missing profile): for notes that must not need a good chain.
    fn chain_so_far(&self, name: &str) -> Vec<String> {
        let mut chain = vec![name.to_string()];
        while let Some((_, _, next)) = self.config.find(chain.last().expect("P"), "source_profile")
        {
            let cur = chain.last().expect("P");
            if next == cur
                || (chain.len() > 1 && self.has_static_keys(cur))
                || chain.iter().any(|c| c == next)
                || !self.exists(next)
            {
                break;
            }
            chain.push(next.to_string());
        }
        chain
    }

    /// Resolves `req.profile` into a checked plan.
    pub fn resolve(&self, req: &Request) -> R<Plan> {
        self.resolve_with(req, true)
    }

    /// [`Self::resolve`], but the plan's warnings leave out those of the
    /// files as a whole (repeated sections and keys): for `list`, which
    /// resolves every profile and shows no warning.
    pub fn resolve_quiet(&self, req: &Request) -> R<Plan> {
        self.resolve_with(req, false)
    }

    /// `--server`, else `MFA_EXEC_SERVER`, else `mfa_exec_server` in the
    /// profile's own config section (not its sources': serving is a property of
    /// the run, not of the keys). Values: true/false, 1/0, yes/no (any case).
    fn server(&self, req: &Request, name: &str) -> R<Fact<bool>> {
        if req.server_flag {
            return Ok(Fact::new(true, Origin::Flag("--server")));
        }
        if let Some(v) = &req.server_env {
            return match parse_bool(v) {
                Some(b) => Ok(Fact::new(b, Origin::Env("MFA_EXEC_SERVER"))),
                None => Err(err(format!(
                    "MFA_EXEC_SERVER = '{v}' is neither true nor false (1/0, yes/no)"
                ))),
            };
        }
        match self.config.get(name, SERVER_SETTING) {
            Some(f) => match parse_bool(&f.value) {
                Some(b) => Ok(Fact::new(b, f.origin)),
                None => Err(err(format!(
                    "{SERVER_SETTING} = {} ({}) is neither true nor false",
                    f.value, f.origin
                ))),
            },
            None => Ok(Fact::new(false, Origin::Default)),
        }
    }

    fn resolve_with(&self, req: &Request, file_warnings: bool) -> R<Plan> {
        let name = req.profile.as_str();
        if name.is_empty() {
            return Err(err("the profile name is empty"));
        }
        if !self.exists(name) {
            return Err(self.unknown(name));
        }
        let chain = self.chain(name)?;
        let mut warnings = if file_warnings {
            self.warnings.clone()
        } else {
            Vec::new()
        };

        // Role hops: from P along source_profile while role_arn is set.
        let mut roles = Vec::new();
        // Index of the first profile of the chain without role_arn.
        let mut root = None;
        for (i, p) in chain.iter().enumerate() {
            // A source profile with keys of its own is used for them, its
            // role_arn not assumed: botocore's static credentials take
            // precedence in a source profile (`_resolve_credentials_from_profile`).
            if i > 0 && self.has_static_keys(p) {
                root = Some(i);
                break;
            }
            match self.config.get(p, "role_arn") {
                Some(arn) => {
                    if !valid_role_arn(&arn.value) {
                        return Err(err(format!(
                            "invalid role_arn '{}' of profile '{p}' ({}): expected arn:aws:iam::123456789012:role/NAME",
                            arn.value, arn.origin
                        )));
                    }
                    if !self.config.has(p, "source_profile") {
                        let hint = if self.config.has(p, "credential_source") {
                            "credential_source is not supported; name the profile with the long-term keys in source_profile"
                        } else {
                            "add source_profile = <profile with long-term keys>"
                        };
                        return Err(err_hint(
                            format!("role profile '{p}' ({}) has no source_profile", arn.origin),
                            hint,
                        ));
                    }
                    roles.push(RoleHop {
                        profile: p.clone(),
                        role_arn: arn,
                        external_id: self.config.get(p, "external_id").map(|f| f.value),
                        session_name: self.config.get(p, "role_session_name").map(|f| f.value),
                    });
                    if i + 1 == chain.len() {
                        // The last profile of the chain with a role_arn is its
                        // own source (`source_profile` names itself): its keys.
                        root = Some(i);
                        break;
                    }
                }
                None => {
                    root = Some(i);
                    break;
                }
            }
        }
        roles.reverse();
        for hop in &roles {
            if let Some(n) = &hop.session_name {
                if n.len() < 2
                    || n.len() > 64
                    || !n
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
                {
                    return Err(err(format!(
                        "invalid role_session_name '{n}' of profile '{}': 2-64 characters of letters, digits and +=,.@_-",
                        hop.profile
                    )));
                }
            }
        }
        let at = root.expect("a chain ends in a profile without role_arn");
        // The chain of the root is the rest of P's chain.
        let source = self
            .long_term_keys_of(&chain[at], &chain[at..])
            .map_err(|mut e| {
                if !roles.is_empty() {
                    e.message = format!("role profile '{name}': {}", e.message);
                }
                e
            })?;

        if let Keys::Keyring { account } = &source.keys {
            for section in [format!("{account}-long-term"), account.clone()] {
                if crate::keys::pair_in(self.creds(), &section).is_some() {
                    warnings.push(format!(
                        "[{section}] in {} also holds long-term keys; they are not used, since {KEY_SETTING} = keyring ({})",
                        self.files.credentials.shown, source.origin
                    ));
                }
            }
        }

        let serial = self.device(req, &chain)?;
        let device_from_default = !chain.iter().any(|c| c == "default")
            && serial.as_ref().is_some_and(
                |s| matches!(&s.origin, Origin::File { section, .. } if &**section == "default"),
            );
        if roles.is_empty() && serial.is_none() {
            return Err(err_hint(
                format!(
                    "profile '{name}' has no MFA device: set mfa_serial in [profile {name}] of {}",
                    self.files.config.shown
                ),
                format!("or pass --mfa-serial, or run 'mfa-exec explain {name}'"),
            ));
        }

        let destination = if roles.is_empty() {
            self.nonrole_destination(name)
        } else {
            format!("{name}-mfa")
        };
        self.check_writable(&destination)?;
        // A profile that is its own source (the usual GetSessionToken
        // profile) has its destination already.
        let source_destination = if roles.is_empty() && source.profile == name {
            destination.clone()
        } else if self.config.has(&source.profile, "role_arn") {
            // A role profile that is its own source: its role session is
            // `[P-mfa]`, so its GetSessionToken session goes beside it.
            format!("{}-source-mfa", source.profile)
        } else {
            self.nonrole_destination(&source.profile)
        };

        // Region: flag; env (below the profile when nested); profile; its chain.
        // An empty `region =` does not stop the search (SPEC §2).
        let profile_region = chain.iter().find_map(|p| {
            self.config
                .get(p, "region")
                .filter(|f| !f.value.trim().is_empty())
        });
        let env_region = req
            .region_env
            .as_ref()
            .map(|(var, v)| Fact::new(v.clone(), Origin::Env(var)));
        let sts_region = profile_region
            .clone()
            .unwrap_or_else(|| Fact::new("us-east-1".into(), Origin::Default));
        let region = if let Some(r) = &req.region_flag {
            Some(Fact::new(r.clone(), Origin::Flag("--region")))
        } else if req.outer_profile.is_some() {
            profile_region.or(env_region)
        } else {
            env_region.or(profile_region)
        };

        // Durations.
        let (min, max, default, what) = if roles.is_empty() {
            (GST_MIN, GST_MAX, GST_DEFAULT, "GetSessionToken")
        } else {
            (ROLE_MIN, ROLE_MAX, ROLE_DEFAULT, "AssumeRole")
        };
        let duration = match req.duration_flag {
            Some(d) => {
                check_range(
                    &format!("{what} duration"),
                    d,
                    min,
                    max,
                    &Origin::Flag("--duration"),
                )?;
                Fact::new(d, Origin::Flag("--duration"))
            }
            None => chain_first(
                &chain,
                |p| self.duration_key(p, "duration_seconds", min, max),
                roles.is_empty(),
            )?
            .unwrap_or_else(|| Fact::new(default, Origin::Default)),
        };
        if roles.len() > 1 && duration.value > CHAIN_MAX {
            return Err(err_hint(
                format!(
                    "profile '{name}' is a chain of {} roles, and AWS caps a role assumed with another role's session at 1h; {} was asked (from {})",
                    roles.len(),
                    human(duration.value),
                    duration.origin
                ),
                "set duration_seconds = 3600 or less",
            ));
        }
        let source_duration = if roles.is_empty() {
            duration.clone()
        } else {
            chain_first(
                &chain,
                |p| self.duration_key(p, "mfa_session_duration", GST_MIN, GST_MAX),
                true,
            )?
            .unwrap_or_else(|| Fact::new(GST_DEFAULT, Origin::Default))
        };
        // Only a role assumed through the source's MFA session writes that
        // session; a role without a device is assumed with the long-term keys,
        // and a single role longer than 1h directly with the code.
        let direct = roles.len() == 1 && duration.value > CHAIN_MAX;
        if !roles.is_empty() && serial.is_some() && !direct {
            self.check_writable(&source_destination)?;
        }
        let min_remaining =
            min_remaining(req.min_remaining_flag, req.min_remaining_env.as_deref())?;
        for d in [&duration, &source_duration] {
            if min_remaining.value >= d.value {
                return Err(err(format!(
                    "--min-remaining ({}) must be shorter than the session duration ({}, from {})",
                    human(min_remaining.value),
                    human(d.value),
                    d.origin
                )));
            }
        }

        let endpoint = match &req.endpoint_env {
            Some((var, url)) => Some(Fact::new(url.clone(), Origin::Env(var))),
            None => chain
                .iter()
                .find_map(|p| self.config.get(p, "endpoint_url")),
        };
        let ca_bundle = match &req.ca_bundle_env {
            Some(path) => Some(Fact::new(path.clone(), Origin::Env("AWS_CA_BUNDLE"))),
            // An empty `ca_bundle =` falls through (the AWS CLI takes it as unset).
            None => chain.iter().find_map(|p| {
                self.config
                    .get(p, "ca_bundle")
                    .filter(|f| !f.value.is_empty())
            }),
        };
        let mfa_process = chain.iter().find_map(|p| self.config.get(p, "mfa_process"));
        let mfa_process_timeout = match chain
            .iter()
            .find_map(|p| self.config.get(p, "mfa_process_timeout"))
        {
            Some(f) => Some(Fact::new(
                parse_duration(&f.value)
                    .map_err(|e| err(format!("mfa_process_timeout in {}: {e}", f.origin)))?,
                f.origin,
            )),
            None => None,
        };
        let prompt = prompt_mode(req, &chain, |p, k| self.config.get(p, k))?;
        let prompt_timeout = match chain
            .iter()
            .find_map(|p| self.config.get(p, "mfa_exec_prompt_timeout"))
        {
            Some(f) => {
                let secs = parse_duration(&f.value)
                    .map_err(|e| err(format!("mfa_exec_prompt_timeout in {}: {e}", f.origin)))?;
                if !(PROMPT_TIMEOUT_MIN..=PROMPT_TIMEOUT_MAX).contains(&secs) {
                    return Err(err(format!(
                        "mfa_exec_prompt_timeout in {} is {}; it must be between {} and {}",
                        f.origin,
                        human(secs),
                        human(PROMPT_TIMEOUT_MIN),
                        human(PROMPT_TIMEOUT_MAX)
                    )));
                }
                Fact::new(secs, f.origin)
            }
            None => Fact::new(PROMPT_TIMEOUT_DEFAULT, Origin::Default),
        };

        let server = self.server(req, name)?;

        let own = self.config.profile_sections(name);
        let all_bare = own.iter().all(|(_, b, _)| *b);
        let mut sections = Vec::with_capacity(own.len());
        for &(line, bare, s) in own.iter() {
            if bare && all_bare {
                warnings.push(format!(
                    "{}:{line}: [{s}] is a bare section; the AWS CLI ignores it in the config file (use [profile {s}])",
                    self.files.config.shown
                ));
            }
            sections.push(self.config.origin(name, s, line));
        }

        Ok(Plan {
            profile: name.to_string(),
            source,
            serial,
            device_from_default,
            roles,
            destination,
            source_destination,
            region,
            sts_region,
            duration,
            source_duration,
            min_remaining,
            endpoint,
            ca_bundle,
            mfa_process,
            mfa_process_timeout,
            server,
            prompt,
            prompt_timeout,
            sections,
            warnings,
        })
    }
}

/// Default, least and most of `mfa_exec_prompt_timeout`, seconds.
pub const PROMPT_TIMEOUT_DEFAULT: u64 = 120;
const PROMPT_TIMEOUT_MIN: u64 = 1;
const PROMPT_TIMEOUT_MAX: u64 = 3600;

/// `--prompt`, else `MFA_EXEC_PROMPT` (empty = unset), else the first
/// `mfa_exec_prompt` along the profile's chain, else `auto`. A value that is
/// none of [`PromptMode::NAMES`] is a configuration error naming its origin.
fn prompt_mode(
    req: &Request,
    chain: &[String],
    get: impl Fn(&str, &str) -> Option<Fact<String>>,
) -> R<Fact<PromptMode>> {
    let found = match (&req.prompt_flag, req.prompt_env.as_deref()) {
        (Some(v), _) => Fact::new(v.clone(), Origin::Flag("--prompt")),
        (None, Some(v)) if !v.trim().is_empty() => {
            Fact::new(v.to_string(), Origin::Env("MFA_EXEC_PROMPT"))
        }
        _ => match chain
            .iter()
            .find_map(|p| get(p.as_str(), "mfa_exec_prompt"))
        {
            Some(f) => f,
            None => return Ok(Fact::new(PromptMode::Auto, Origin::Default)),
        },
    };
    match PromptMode::parse(&found.value) {
        Some(m) => Ok(Fact::new(m, found.origin)),
        None => Err(err_hint(
            format!(
                "mfa_exec_prompt ({}) is '{}', which is not a way to ask for a code",
                found.origin,
                found.value.trim()
            ),
            format!("use one of: {}", PromptMode::NAMES.join(", ")),
        )),
    }
}
