//! Profile resolution: the config and credentials documents, plus flags and
//! environment, lowered into one checked [`Plan`] (SPEC §2). Pure: no I/O, no
//! prompt, no clock; every configuration error surfaces here, before anything
//! happens.
//!
//! Decisions, beyond SPEC §2:
//! - Config sections: `[profile P]` and `[default]`/`[profile default]` are P's
//!   own sections; a bare `[P]` (the layout blog posts teach) is merged key by key
//!   *under* them (the `profile` section wins a key both set). `[default]` and
//!   `[profile default]` merge in file order, later wins, with a warning.
//! - The *source chain* of P is P, then `source_profile` of P, then its
//!   `source_profile`, …; a cycle is an error that shows the path.
//! - An empty destination section (no keys, only comments) counts as absent.
//! - The region has no `[default]` fallback (the AWS CLI does not use one either
//!   for a named profile).
//! - `mfa_serial` wins over `mfa_arn` when one section has both.

use crate::duration::{human, parse_duration};
use crate::error::Fail;
use crate::ini::Document;
use crate::keys::{LongTermKeys, KEY_SETTING};
use crate::secret::Secret;
use crate::session::{long_term_pair, writable, Marker};
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;

/// GetSessionToken limits and default, seconds.
pub const GST_MIN: u64 = 900;
pub const GST_MAX: u64 = 129_600;
pub const GST_DEFAULT: u64 = 43_200;
/// AssumeRole limits and default, seconds.
pub const ROLE_MIN: u64 = 900;
pub const ROLE_MAX: u64 = 43_200;
pub const ROLE_DEFAULT: u64 = 3_600;
/// Chained role sessions are capped by AWS at one hour.
pub const CHAIN_MAX: u64 = 3_600;
pub const MIN_REMAINING_DEFAULT: u64 = 900;

/// One AWS file, parsed.
#[derive(Debug, Clone)]
pub struct AwsFile {
    pub path: PathBuf,
    /// The path as shown in messages (`~/.aws/config`).
    pub shown: String,
    pub doc: Document,
}

#[derive(Debug, Clone)]
pub struct AwsFiles {
    pub config: AwsFile,
    pub credentials: AwsFile,
}

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File {
        file: String,
        line: usize,
        section: String,
    },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Env(var) => write!(f, "${var}"),
            Origin::File {
                file,
                line,
                section,
            } => write!(f, "{file}:{line} [{section}]"),
            Origin::Default => write!(f, "default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Fact<T> {
    pub fn new(value: T, origin: Origin) -> Fact<T> {
        Fact { value, origin }
    }
}

/// What the flags and the environment add to a profile.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub profile: String,
    pub mfa_serial_flag: Option<String>,
    pub region_flag: Option<String>,
    pub duration_flag: Option<u64>,
    pub min_remaining_flag: Option<u64>,
    pub mfa_serial_env: Option<String>,
    pub min_remaining_env: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, with the variable's name.
    pub region_env: Option<(&'static str, String)>,
    /// `MFA_EXEC_PROFILE`: set when running inside another mfa-exec.
    pub outer_profile: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, with the variable's name.
    pub endpoint_env: Option<(&'static str, String)>,
    /// `AWS_CA_BUNDLE`.
    pub ca_bundle_env: Option<String>,
}

/// Where the long-term keys are: the pair itself when it sits in a file (read
/// with the file), or the keyring entry to read them from on demand (only a
/// refresh that calls STS with them reads it; SPEC §8.3).
#[derive(Debug, Clone)]
pub enum Keys {
    File(LongTermKeys),
    /// Entry (`mfa-exec`, `account`) of the OS keyring.
    Keyring {
        account: String,
    },
}

/// The long-term keys used to call STS.
#[derive(Debug, Clone)]
pub struct KeySource {
    /// The profile whose keys these are (the marker's `x_mfa_exec_source`).
    pub profile: String,
    /// Section holding them (`testAccount`, `prod-long-term`, `profile x`);
    /// for keyring keys, the config section saying `mfa_exec_keys = keyring`.
    pub section: String,
    /// Where the key id (file) or the `mfa_exec_keys` setting (keyring) is.
    pub origin: Origin,
    pub keys: Keys,
}

impl KeySource {
    /// Where the keys live, for messages: `[testAccount] of ~/.aws/credentials`
    /// or `keyring (mfa-exec/testAccount)`. Never the secret.
    pub fn place(&self) -> String {
        match &self.keys {
            Keys::Keyring { account } => crate::keys::keyring_place(account),
            Keys::File(_) => match &self.origin {
                Origin::File { file, .. } => format!("[{}] of {file}", self.section),
                o => format!("[{}] ({o})", self.section),
            },
        }
    }

    /// The pair, when it sits in a file.
    #[cfg(test)]
    pub fn file_keys(&self) -> Option<&LongTermKeys> {
        match &self.keys {
            Keys::File(k) => Some(k),
            Keys::Keyring { .. } => None,
        }
    }
}

/// One AssumeRole hop, from the source outwards.
#[derive(Debug, Clone)]
pub struct RoleHop {
    pub profile: String,
    pub role_arn: Fact<String>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
}

/// A resolved, checked profile: everything the flow needs, nothing left to look up.
#[derive(Debug, Clone)]
pub struct Plan {
    pub profile: String,
    pub source: KeySource,
    pub serial: Option<Fact<String>>,
    /// Empty for a GetSessionToken profile; the hops of a role profile otherwise.
    pub roles: Vec<RoleHop>,
    /// Credentials section the final session is written to.
    pub destination: String,
    /// Where the source's own MFA session goes when it is written (roles only).
    pub source_destination: String,
    pub region: Option<Fact<String>>,
    pub sts_region: Fact<String>,
    /// Length of the final credentials, seconds.
    pub duration: Fact<u64>,
    /// Length of the source's MFA session a role is assumed from (roles only).
    pub source_duration: Fact<u64>,
    pub min_remaining: Fact<u64>,
    pub endpoint: Option<Fact<String>>,
    /// `AWS_CA_BUNDLE`, else `ca_bundle` (a PEM file; read by `sts::CaBundle`).
    pub ca_bundle: Option<Fact<String>>,
    pub mfa_process: Option<Fact<String>>,
    /// `mfa_process_timeout` (seconds or a duration), default 60 s.
    pub mfa_process_timeout: Option<Fact<u64>>,
    /// Config sections that make up the profile, with their origin.
    pub sections: Vec<Origin>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn is_role(&self) -> bool {
        !self.roles.is_empty()
    }

    pub fn serial(&self) -> Option<&str> {
        self.serial.as_ref().map(|f| f.value.as_str())
    }

    /// The marker the final session carries.
    pub fn marker(&self) -> Marker {
        Marker {
            source: self.source.profile.clone(),
            serial: self.serial().map(str::to_string),
            role_arn: self.roles.last().map(|h| h.role_arn.value.clone()),
        }
    }

    /// The marker of the source's GetSessionToken session (what roles reuse).
    pub fn source_marker(&self) -> Marker {
        Marker {
            source: self.source.profile.clone(),
            serial: self.serial().map(str::to_string),
            role_arn: None,
        }
    }

    /// True when the role is assumed directly with the code (a single hop longer
    /// than the one-hour chaining cap): no source session is involved.
    pub fn direct_assume(&self) -> bool {
        self.roles.len() == 1 && self.duration.value > CHAIN_MAX
    }
}

/// Profiles of the config file, merged per SPEC §2.
///
/// Nothing is built per profile up front: a profile's sections are found
/// through the document's section index when it is first asked for (`[P]`,
/// `[profile P]`, `[default]`), and its keys are read from those sections on
/// demand, so a config of thousands of profiles costs little on the cached
/// path. The list of every profile is built only when asked for.
#[derive(Debug, Clone)]
pub struct ConfigIndex<'a> {
    doc: &'a Document,
    /// `(P, header line)` of `[profile P]` headers not spelled with exactly
    /// one space (`[profile  P]`, `[profile\tP]`): rare, so kept aside.
    irregular: Vec<(String, usize)>,
    /// Sections and keys of the profiles asked for so far (see
    /// [`Self::profile`]).
    /// The last few only: resolution asks for a profile and its chain many
    /// times in a row, and `list` resolves thousands once each (a map of
    /// them all would cost more to grow and drop than it saves).
    memo: RefCell<Vec<(String, Rc<Profile<'a>>)>>,
    /// Every profile name, once asked for.
    names: OnceCell<BTreeSet<String>>,
    file: String,
    pub warnings: Vec<String>,
}

/// A profile's config sections: `(header line, bare, section name)`.
type Sections<'a> = Rc<[(usize, bool, &'a str)]>;

/// Profiles [`ConfigIndex`] keeps (a chain is rarely longer).
const MEMO: usize = 8;

/// A section name and its key lines `(line, key, value)`.
type Group<'a> = (&'a str, Vec<(usize, &'a str, &'a str)>);

/// What [`ConfigIndex`] knows of one profile, built when first asked for:
/// its sections, and the key lines of each distinct section name in the
/// order a lookup tries them (so a key is a short scan, not a walk of the
/// document per key).
#[derive(Debug)]
struct Profile<'a> {
    sections: Sections<'a>,
    /// `(section name, its key lines (line, key, value) in file order over
    /// every occurrence)`, the section that wins a key first.
    groups: Vec<Group<'a>>,
}

impl<'a> Profile<'a> {
    /// `(section, line, value)` of `key`: the first group holding it, its
    /// last occurrence there (later wins), as [`Document::find`] answers.
    fn find(&self, key: &str) -> Option<(&'a str, usize, &'a str)> {
        self.groups.iter().find_map(|(section, keys)| {
            keys.iter()
                .rev()
                .find(|(_, k, _)| k.eq_ignore_ascii_case(key))
                .map(|&(line, _, v)| (*section, line, v))
        })
    }
}

/// The profile a config section belongs to, and whether it is a bare `[P]`.
pub fn config_section_profile(section: &str) -> Option<(String, bool)> {
    section_profile(section).map(|(p, bare)| (p.to_string(), bare))
}

/// [`config_section_profile`], borrowed from `section`.
fn section_profile(section: &str) -> Option<(&str, bool)> {
    let mut parts = section.splitn(2, char::is_whitespace);
    let first = parts.next().unwrap_or("");
    let rest = parts.next().map(str::trim).unwrap_or("");
    if first == "profile" && !rest.is_empty() {
        return Some((rest, false));
    }
    if section == "default" {
        return Some(("default", false));
    }
    if section.contains(char::is_whitespace) {
        // `[sso-session x]`, `[services x]`: not profiles.
        return None;
    }
    Some((section, true))
}

/// The profile of a `[profile P]` header whose name is not `profile P` with
/// one space (so a lookup of `profile P` misses it); `None` for every other
/// header. Cheap for the usual spelling.
fn irregular_profile_header(section: &str) -> Option<String> {
    let rest = section.strip_prefix("profile")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    // Section names are trimmed: one space and a non-space is the usual form.
    if rest.starts_with(' ') && !rest[1..].starts_with(char::is_whitespace) {
        return None;
    }
    config_section_profile(section)
        .filter(|(_, bare)| !bare)
        .map(|(p, _)| p)
}

impl<'a> ConfigIndex<'a> {
    pub fn build(file: &'a AwsFile) -> ConfigIndex<'a> {
        let irregular = file
            .doc
            .header_iter()
            .filter_map(|(name, line)| irregular_profile_header(name).map(|p| (p, line)))
            .collect();
        let mut idx = ConfigIndex {
            doc: &file.doc,
            irregular,
            memo: Default::default(),
            names: OnceCell::new(),
            file: file.shown.clone(),
            warnings: Vec::new(),
        };
        let own: Vec<&str> = idx
            .profile_sections("default")
            .iter()
            .filter(|s| !s.1)
            .filter_map(|s| file.doc.header_name_at(s.0))
            .collect();
        if own.contains(&"default") && own.iter().any(|n| *n != "default") {
            idx.warnings.push(format!(
                "{}: [default] and [profile default] are the same profile; the later one wins a key both set",
                file.shown
            ));
        }
        for w in file.doc.warnings() {
            idx.warnings
                .push(format!("{}:{}: {}", file.shown, w.line, w.message));
        }
        idx
    }

    /// The sections of profile `name` as `(header line, bare, name)`: the bare `[P]`
    /// ones first, then `[profile P]`/`[default]`, each group in file order
    /// (the order in which keys override).
    fn profile_sections(&self, name: &str) -> Sections<'a> {
        self.profile(name).sections.clone()
    }

    /// The sections and keys of profile `name`, memoized.
    fn profile(&self, name: &str) -> Rc<Profile<'a>> {
        if let Some((_, found)) = self.memo.borrow().iter().find(|(n, _)| n == name) {
            return found.clone();
        }
        let doc: &'a Document = self.doc;
        let sections = self.find_sections(name);
        let mut groups: Vec<Group<'a>> = Vec::new();
        for (_, _, section) in sections.iter().rev() {
            if groups.iter().any(|(n, _)| n == section) {
                continue;
            }
            groups.push((section, doc.key_lines(section).collect()));
        }
        let found = Rc::new(Profile { sections, groups });
        let mut memo = self.memo.borrow_mut();
        if memo.len() == MEMO {
            memo.remove(0);
        }
        memo.push((name.to_string(), found.clone()));
        found
    }

    fn find_sections(&self, name: &str) -> Sections<'a> {
        let doc: &'a Document = self.doc;
        // `(header line, name as the document holds it)`.
        let mut bare: Vec<(usize, &'a str)> = Vec::new();
        if section_profile(name).is_some_and(|(p, bare)| bare && p == name) {
            bare.extend(doc.section_headers(name));
        }
        let mut own: Vec<(usize, &'a str)> = Vec::new();
        if name == "default" {
            own.extend(doc.section_headers("default"));
        }
        let spelled = format!("profile {name}");
        if section_profile(&spelled).is_some_and(|(p, bare)| !bare && p == name) {
            own.extend(doc.section_headers(&spelled));
        }
        own.extend(
            self.irregular
                .iter()
                .filter(|(p, _)| p == name)
                .filter_map(|(_, line)| Some((*line, doc.header_name_at(*line)?))),
        );
        own.sort_unstable_by_key(|&(l, _)| l);
        bare.into_iter()
            .map(|(l, n)| (l, true, n))
            .chain(own.into_iter().map(|(l, n)| (l, false, n)))
            .collect()
    }

    /// Every profile name, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.names
            .get_or_init(|| {
                self.doc
                    .header_iter()
                    .filter_map(|(name, _)| config_section_profile(name).map(|(p, _)| p))
                    .collect()
            })
            .iter()
    }

    pub fn contains(&self, name: &str) -> bool {
        !self.profile_sections(name).is_empty()
    }

    /// A key of profile `name`, with its origin.
    pub fn get(&self, name: &str, key: &str) -> Option<Fact<String>> {
        let (section, line, value) = self.profile(name).find(key)?;
        Some(Fact::new(
            value.to_string(),
            Origin::File {
                file: self.file.clone(),
                line,
                section: section.to_string(),
            },
        ))
    }

    /// Profiles other than none whose `key` resolves to `value`, in name
    /// order: the answer of asking [`Self::get`] for every profile, but only
    /// the sections holding such a key line are looked at.
    pub fn profiles_with(&self, key: &str, value: &str) -> Vec<(String, Fact<String>)> {
        let candidates: BTreeSet<String> = self
            .doc
            .sections_with_value(key, value)
            .into_iter()
            .filter_map(|s| config_section_profile(s).map(|(p, _)| p))
            .collect();
        candidates
            .into_iter()
            .filter_map(|p| {
                let f = self.get(&p, key).filter(|f| f.value == value)?;
                Some((p, f))
            })
            .collect()
    }

    fn has_key_prefix(&self, name: &str, prefix: &str) -> bool {
        self.profile(name).groups.iter().any(|(_, keys)| {
            keys.iter().any(|(_, k, _)| {
                k.len() >= prefix.len()
                    && k.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
            })
        })
    }

    /// The config sections of a profile: `(section, header line, bare)`.
    pub fn sections_of(&self, name: &str) -> Vec<(String, usize, bool)> {
        self.profile_sections(name)
            .iter()
            .map(|(h, bare, n)| (n.to_string(), *h, *bare))
            .collect()
    }
}

/// Everything resolution reads, with the config file indexed once.
pub struct Resolver<'a> {
    pub files: &'a AwsFiles,
    pub config: ConfigIndex<'a>,
    /// Duplicate sections and keys of both files, computed once.
    warnings: Vec<String>,
}

/// A resolution error is a [`Fail`]: the message, a hint when a next step is
/// obvious, exit 125.
fn err(message: impl Into<String>) -> Fail {
    Fail::new(message)
}

fn err_hint(message: impl Into<String>, hint: impl Into<String>) -> Fail {
    Fail::new(message).hint(hint)
}

type R<T> = Result<T, Fail>;

/// `[\w+=/:,.@-]{9,256}`, as IAM validates a SerialNumber.
pub fn valid_serial(s: &str) -> bool {
    (9..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b))
}

/// `arn:aws:iam::123456789012:role/name` (any partition, paths allowed).
pub fn valid_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > 5
}

/// The keys of a credentials section as resolution reads them (key
/// case-insensitive, later occurrence wins), looked up in the document when
/// asked: nothing is copied.
struct SectionKeys<'a> {
    doc: &'a Document,
    name: &'a str,
}

impl<'a> SectionKeys<'a> {
    /// `(value, line)` of `key`.
    fn get(&self, key: &str) -> Option<(&'a str, usize)> {
        self.doc.find(self.name, key).map(|(line, v)| (v, line))
    }

    fn contains_key(&self, key: &str) -> bool {
        self.doc.find(self.name, key).is_some()
    }
}

fn section_map<'a>(doc: &'a Document, name: &'a str) -> SectionKeys<'a> {
    SectionKeys { doc, name }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl<'a> Resolver<'a> {
    pub fn new(files: &'a AwsFiles) -> Resolver<'a> {
        let config = ConfigIndex::build(&files.config);
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
        }
    }

    fn creds(&self) -> &Document {
        &self.files.credentials.doc
    }

    fn creds_origin(&self, section: &str, line: usize) -> Origin {
        Origin::File {
            file: self.files.credentials.shown.clone(),
            line,
            section: section.to_string(),
        }
    }

    /// Every profile name either file knows (config names without `profile `).
    pub fn all_profiles(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.config.names().cloned().collect();
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
            .map(String::as_str)
            .chain(self.creds().header_iter().map(|(s, _)| s))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    fn exists(&self, name: &str) -> bool {
        self.config.contains(name) || self.creds().has_section(name)
    }

    fn unknown(&self, name: &str) -> Fail {
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
            None => err_hint(message, "run 'mfa-exec list' to see the profiles"),
        }
    }

    /// P, then its `source_profile`, and so on; a cycle is an error.
    fn chain(&self, name: &str) -> R<Vec<String>> {
        let mut chain = vec![name.to_string()];
        let mut cur = name.to_string();
        while let Some(next) = self.config.get(&cur, "source_profile") {
            let next = next.value;
            if let Some(pos) = chain.iter().position(|c| *c == next) {
                let mut path: Vec<&str> = chain[pos..].iter().map(String::as_str).collect();
                path.push(&next);
                return Err(err(format!(
                    "source_profile cycle: {} (in {})",
                    path.join(" -> "),
                    self.files.config.shown
                )));
            }
            if !self.exists(&next) {
                let mut e = self.unknown(&next);
                e.message = format!(
                    "profile '{cur}' has source_profile = {next}, but {}",
                    e.message
                        .replacen(&format!("profile '{next}' "), "that profile is ", 1)
                );
                return Err(e);
            }
            chain.push(next.clone());
            cur = next;
        }
        Ok(chain)
    }

    /// Where the long-term keys of existing profile `name` are (for `keys`).
    pub fn key_source(&self, name: &str) -> R<KeySource> {
        if !self.exists(name) {
            return Err(self.unknown(name));
        }
        self.long_term_keys(name)
    }

    /// Long-term keys of `name` (SPEC §2 order), following `source_profile`.
    ///
    /// For P: `[P-long-term]`, then `[P]` in the credentials file, then the
    /// long-term keys of P's `source_profile` (the same rule, recursively), and
    /// only then the keys in P's config section. Unrolled: every credentials
    /// section along the chain first, then the config sections from the end of
    /// the chain back to P.
    pub fn long_term_keys(&self, name: &str) -> R<KeySource> {
        let chain = self.chain(name)?;
        self.long_term_keys_of(name, &chain)
    }

    /// [`Self::long_term_keys`] of `name`, whose chain is `chain`.
    fn long_term_keys_of(&self, name: &str, chain: &[String]) -> R<KeySource> {
        let mut session_only: Option<String> = None;
        // One buffer for `P-long-term`, reused along the chain.
        let mut lt = String::new();
        for (i, p) in chain.iter().enumerate() {
            if let Some(k) = self.keyring_setting(p)? {
                return Ok(k);
            }
            lt.clear();
            lt.push_str(p);
            lt.push_str("-long-term");
            if let Some(k) = self.keys_in_creds(&lt, p)? {
                return Ok(k);
            }
            let map = section_map(self.creds(), p);
            if map.contains_key("aws_session_token") {
                if i > 0 && map.contains_key("aws_access_key_id") && session_only.is_none() {
                    session_only = Some(p.clone());
                }
            } else if let Some(k) = self.keys_in_creds(p, p)? {
                return Ok(k);
            }
        }
        for p in chain.iter().rev() {
            if let Some((id, secret)) = long_term_pair(|k| self.config.get(p, k)) {
                return Ok(KeySource {
                    profile: p.clone(),
                    section: format!("profile {p}"),
                    origin: id.origin,
                    keys: Keys::File(LongTermKeys {
                        access_key_id: id.value,
                        secret: Secret::new(secret.value),
                    }),
                });
            }
        }
        // Sections searched, per file, for the error.
        let creds: Vec<String> = chain
            .iter()
            .flat_map(|p| [format!("[{p}-long-term]"), format!("[{p}]")])
            .collect();
        let cfg: Vec<String> = chain.iter().map(|p| format!("[profile {p}]")).collect();
        if let Some(s) = session_only {
            return Err(err_hint(
                format!(
                    "[{s}] in {} holds only session credentials (aws_session_token); STS refuses GetSessionToken with them",
                    self.files.credentials.shown
                ),
                format!("put the long-term keys of '{s}' in [{s}] or [{s}-long-term]"),
            ));
        }
        // The config-file entry is per profile; list credentials sections together.
        Err(err_hint(
            format!(
                "no long-term keys for profile '{name}': searched {} in {}, and {} in {}",
                creds.join(", "),
                self.files.credentials.shown,
                cfg.join(", "),
                self.files.config.shown
            ),
            format!("run 'mfa-exec configure {name}', or 'mfa-exec explain {name}'"),
        ))
    }

    /// `mfa_exec_keys` of profile `p`: the keyring entry when it says
    /// `keyring`, `None` for `file` or no setting; anything else is an error.
    fn keyring_setting(&self, p: &str) -> R<Option<KeySource>> {
        let Some(f) = self.config.get(p, KEY_SETTING) else {
            return Ok(None);
        };
        match f.value.to_ascii_lowercase().as_str() {
            "keyring" => {
                let section = match &f.origin {
                    Origin::File { section, .. } => section.clone(),
                    _ => format!("profile {p}"),
                };
                Ok(Some(KeySource {
                    profile: p.to_string(),
                    section,
                    origin: f.origin,
                    keys: Keys::Keyring {
                        account: p.to_string(),
                    },
                }))
            }
            "file" | "" => Ok(None),
            other => Err(err_hint(
                format!(
                    "{KEY_SETTING} = {other} ({}) is neither 'keyring' nor 'file'",
                    f.origin
                ),
                format!("move the keys with 'mfa-exec keys move {p} --to keyring|file'"),
            )),
        }
    }

    fn keys_in_creds(&self, section: &str, profile: &str) -> R<Option<KeySource>> {
        let map = section_map(self.creds(), section);
        // No key id (the usual miss, `[P-long-term]` absent): nothing to pair.
        let Some(id) = map.get("aws_access_key_id") else {
            return Ok(None);
        };
        match (Some(id), map.get("aws_secret_access_key")) {
            (Some((id, line)), Some((secret, _))) => {
                if map.contains_key("aws_session_token") {
                    return Ok(None);
                }
                Ok(Some(KeySource {
                    profile: profile.to_string(),
                    section: section.to_string(),
                    origin: self.creds_origin(section, line),
                    keys: Keys::File(LongTermKeys {
                        access_key_id: id.to_string(),
                        secret: Secret::new(secret),
                    }),
                }))
            }
            (Some((_, line)), None) => Err(err(format!(
                "[{section}] in {}:{line} has aws_access_key_id but no aws_secret_access_key",
                self.files.credentials.shown
            ))),
            _ => Ok(None),
        }
    }

    /// The MFA device of P: flag, env, the chain's config sections, aws-mfa's
    /// `aws_mfa_device`, then `[default]`.
    fn device(&self, req: &Request, chain: &[String]) -> R<Option<Fact<String>>> {
        let found = if let Some(s) = &req.mfa_serial_flag {
            Some(Fact::new(s.clone(), Origin::Flag("--mfa-serial")))
        } else if let Some(s) = &req.mfa_serial_env {
            Some(Fact::new(s.clone(), Origin::Env("MFA_EXEC_MFA_SERIAL")))
        } else {
            let mut found = None;
            for p in chain {
                found = self
                    .config
                    .get(p, "mfa_serial")
                    .or_else(|| self.config.get(p, "mfa_arn"));
                if found.is_some() {
                    break;
                }
            }
            if found.is_none() {
                for p in chain {
                    let lt = format!("{p}-long-term");
                    if let Some(v) = self.creds().get(&lt, "aws_mfa_device") {
                        let line = self.creds().line_of(&lt, "aws_mfa_device").unwrap_or(0);
                        found = Some(Fact::new(v.to_string(), self.creds_origin(&lt, line)));
                        break;
                    }
                }
            }
            if found.is_none() && !chain.iter().any(|c| c == "default") {
                found = self
                    .config
                    .get("default", "mfa_serial")
                    .or_else(|| self.config.get("default", "mfa_arn"));
            }
            found
        };
        if let Some(f) = &found {
            if !valid_serial(&f.value) {
                return Err(err(format!(
                    "invalid MFA device '{}' (from {}): expected an ARN such as arn:aws:iam::123456789012:mfa/name (9-256 characters of letters, digits and +=/:,.@_-)",
                    f.value, f.origin
                )));
            }
        }
        Ok(found)
    }

    /// Where a GetSessionToken session of non-role profile `name` is written.
    fn nonrole_destination(&self, name: &str) -> String {
        let map = section_map(self.creds(), name);
        let long_term =
            map.contains_key("aws_access_key_id") && !map.contains_key("aws_session_token");
        let special = self.config.get(name, "role_arn").is_some()
            || self.config.get(name, "credential_process").is_some()
            || self.config.has_key_prefix(name, "sso_");
        if long_term || special {
            format!("{name}-mfa")
        } else {
            name.to_string()
        }
    }

    /// May mfa-exec write into `section`? Absent, empty, marked, or another tool's session.
    pub fn check_writable(&self, section: &str) -> R<()> {
        // An absent section is writable (every check below passes).
        if !self.creds().has_section(section) {
            return Ok(());
        }
        let lines = self.creds().section_lines(section);
        if lines.len() > 1 {
            return Err(err(format!(
                "[{section}] appears twice in {} (lines {} and {}); mfa-exec will not write into it",
                self.files.credentials.shown, lines[0], lines[1]
            )));
        }
        // A key mfa-exec sets or removes that appears twice would make the
        // write refuse after STS: refuse now, before a code is asked for.
        if let Some((key, first, second)) = self
            .creds()
            .repeated_key(section, crate::session::SESSION_KEYS)
        {
            return Err(err_hint(
                format!(
                    "[{section}] in {} has {key} twice (lines {first} and {second}); mfa-exec will not write into it",
                    self.files.credentials.shown
                ),
                format!("remove one of the two lines from [{section}]"),
            ));
        }
        let Err(reason) = writable(self.creds(), section) else {
            return Ok(());
        };
        let line = lines.first().copied().unwrap_or(0);
        Err(err_hint(
            format!(
                "refusing to write the session into [{section}] ({}:{line}): {reason}",
                self.files.credentials.shown
            ),
            format!("move those keys to another section, or run 'mfa-exec explain {section}'"),
        ))
    }

    fn duration_key(&self, name: &str, key: &str, min: u64, max: u64) -> R<Option<Fact<u64>>> {
        let Some(f) = self.config.get(name, key) else {
            return Ok(None);
        };
        let secs =
            parse_duration(&f.value).map_err(|e| err(format!("{key} in {}: {e}", f.origin)))?;
        check_range(key, secs, min, max, &f.origin)?; // "duration_seconds 10s (from ...)"
        Ok(Some(Fact::new(secs, f.origin)))
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
        let mut root = None;
        for p in &chain {
            match self.config.get(p, "role_arn") {
                Some(arn) => {
                    if !valid_role_arn(&arn.value) {
                        return Err(err(format!(
                            "invalid role_arn '{}' of profile '{p}' ({}): expected arn:aws:iam::123456789012:role/NAME",
                            arn.value, arn.origin
                        )));
                    }
                    if self.config.get(p, "source_profile").is_none() {
                        let hint = if self.config.get(p, "credential_source").is_some() {
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
                }
                None => {
                    root = Some(p.clone());
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
        let root = root.expect("a chain ends in a profile without role_arn");
        // The chain of `root` is the rest of P's chain.
        let at = chain.iter().position(|p| *p == root).unwrap_or(0);
        let source = self
            .long_term_keys_of(&root, &chain[at..])
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
        if roles.is_empty() && serial.is_none() {
            return Err(err_hint(
                format!(
                    "profile '{name}' has no MFA device: set mfa_serial in [profile {name}] of {}",
                    self.files.config.shown
                ),
                format!("or pass --mfa-serial; run 'mfa-exec explain {name}'"),
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
        let region = if let Some(r) = &req.region_flag {
            Some(Fact::new(r.clone(), Origin::Flag("--region")))
        } else if req.outer_profile.is_some() {
            profile_region.clone().or(env_region)
        } else {
            env_region.or(profile_region.clone())
        };
        let sts_region = profile_region
            .clone()
            .unwrap_or_else(|| Fact::new("us-east-1".into(), Origin::Default));

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
            sections.push(Origin::File {
                file: self.files.config.shown.clone(),
                line,
                section: s.to_string(),
            });
        }

        Ok(Plan {
            profile: name.to_string(),
            source,
            serial,
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
            sections,
            warnings,
        })
    }
}

/// `--min-remaining`, else `MFA_EXEC_MIN_REMAINING`, else 15 minutes: the one
/// rule for resolution, `list` and the nested pass-through.
pub fn min_remaining(flag: Option<u64>, env: Option<&str>) -> R<Fact<u64>> {
    Ok(match (flag, env) {
        (Some(m), _) => Fact::new(m, Origin::Flag("--min-remaining")),
        (None, Some(text)) => Fact::new(
            parse_duration(text).map_err(|e| err(format!("MFA_EXEC_MIN_REMAINING: {e}")))?,
            Origin::Env("MFA_EXEC_MIN_REMAINING"),
        ),
        (None, None) => Fact::new(MIN_REMAINING_DEFAULT, Origin::Default),
    })
}

/// The first profile of the chain that sets the key (only P itself unless `walk`).
fn chain_first<T>(
    chain: &[String],
    mut f: impl FnMut(&str) -> R<Option<T>>,
    walk: bool,
) -> R<Option<T>> {
    let n = if walk { chain.len() } else { 1 };
    for p in &chain[..n] {
        if let Some(v) = f(p)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn check_range(what: &str, secs: u64, min: u64, max: u64, origin: &Origin) -> R<()> {
    if secs < min || secs > max {
        return Err(err(format!(
            "{what} {} (from {origin}) is out of range: {} to {}",
            human(secs),
            human(min),
            human(max)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const SEED_CONFIG: &str = "# seed layout from the blog post\n[testAccount]\nmfa_arn = arn:aws:iam::123456789012:mfa/test\n\n[profile test]\nuser_arn = arn:aws:iam::123456789012:user/test\nsource_profile = testAccount\nregion = ap-northeast-2\n";
    pub const SEED_CREDS: &str = "# long-term keys\n[testAccount]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";

    fn files(config: &str, creds: &str) -> AwsFiles {
        AwsFiles {
            config: AwsFile {
                path: "/h/.aws/config".into(),
                shown: "~/.aws/config".into(),
                doc: Document::parse(config).unwrap(),
            },
            credentials: AwsFile {
                path: "/h/.aws/credentials".into(),
                shown: "~/.aws/credentials".into(),
                doc: Document::parse(creds).unwrap(),
            },
        }
    }

    fn req(p: &str) -> Request {
        Request {
            profile: p.into(),
            ..Default::default()
        }
    }

    fn resolve(config: &str, creds: &str, r: Request) -> R<Plan> {
        let f = files(config, creds);
        Resolver::new(&f).resolve(&r)
    }

    #[test]
    fn seed_layout() {
        let p = resolve(SEED_CONFIG, SEED_CREDS, req("test")).unwrap();
        assert_eq!(p.source.profile, "testAccount");
        assert_eq!(p.source.section, "testAccount");
        assert_eq!(
            p.source.file_keys().unwrap().access_key_id,
            "AKIAIOSFODNN7EXAMPLE"
        );
        assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/test"));
        assert_eq!(
            p.serial.as_ref().unwrap().origin,
            Origin::File {
                file: "~/.aws/config".into(),
                line: 3,
                section: "testAccount".into()
            }
        );
        assert_eq!(p.destination, "test");
        assert_eq!(p.region.as_ref().unwrap().value, "ap-northeast-2");
        assert_eq!(p.sts_region.value, "ap-northeast-2");
        assert_eq!(p.duration.value, 43200);
        assert_eq!(p.min_remaining.value, 900);
        assert!(!p.is_role());
        // The bare [testAccount] is not P's own section: no warning about P.
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn seed_after_first_run_still_resolves() {
        let creds = format!("{SEED_CREDS}\n[test]\naws_access_key_id = ASIAXXXXXXXXXXXXXXXX\naws_secret_access_key = s\naws_session_token = t\nx_mfa_exec_source = testAccount\n");
        let p = resolve(SEED_CONFIG, &creds, req("test")).unwrap();
        assert_eq!(p.source.profile, "testAccount");
        assert_eq!(p.destination, "test");
    }

    #[test]
    fn aws_mfa_long_term_layout() {
        let creds = "[prod-long-term]\naws_access_key_id = AKIAPROD00000000000\naws_secret_access_key = sec\naws_mfa_device = arn:aws:iam::123456789012:mfa/prod\n\n[prod]\naws_access_key_id = ASIAOLD\naws_secret_access_key = x\naws_session_token = y\nexpiration = 2020-01-01 00:00:00\n";
        let p = resolve("", creds, req("prod")).unwrap();
        assert_eq!(p.source.profile, "prod");
        assert_eq!(p.source.section, "prod-long-term");
        assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/prod"));
        assert_eq!(p.destination, "prod");
    }

    #[test]
    fn bare_long_term_default_goes_to_default_mfa() {
        let config =
            "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nregion = us-west-2\n";
        let creds =
            "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = sec\n";
        let p = resolve(config, creds, req("default")).unwrap();
        assert_eq!(p.destination, "default-mfa");
        assert_eq!(p.source.profile, "default");
        assert_eq!(p.region.unwrap().value, "us-west-2");
    }

    #[test]
    fn role_profile_goes_to_p_mfa() {
        let config = format!("{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = eu-west-1\nduration_seconds = 3600\n");
        let p = resolve(&config, SEED_CREDS, req("prod")).unwrap();
        assert_eq!(p.destination, "prod-mfa");
        assert_eq!(p.source_destination, "testAccount-mfa");
        assert_eq!(p.roles.len(), 1);
        assert_eq!(
            p.roles[0].role_arn.value,
            "arn:aws:iam::210987654321:role/admin"
        );
        assert_eq!(p.duration.value, 3600);
        assert_eq!(p.source_duration.value, 43200);
        assert!(!p.direct_assume());
        assert_eq!(
            p.marker().role_arn.as_deref(),
            Some("arn:aws:iam::210987654321:role/admin")
        );
    }

    #[test]
    fn role_chain() {
        let config = format!("{SEED_CONFIG}\n[profile mid]\nrole_arn = arn:aws:iam::111111111111:role/mid\nsource_profile = testAccount\n\n[profile prod]\nrole_arn = arn:aws:iam::222222222222:role/top\nsource_profile = mid\n");
        let p = resolve(&config, SEED_CREDS, req("prod")).unwrap();
        let hops: Vec<_> = p.roles.iter().map(|h| h.profile.as_str()).collect();
        assert_eq!(hops, ["mid", "prod"]);
        assert_eq!(p.source.profile, "testAccount");
        assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/test"));
    }

    #[test]
    fn long_term_destination_refused() {
        let creds = format!("{SEED_CREDS}\n[test]\naws_access_key_id = AKIASOMEONEELSE00000\naws_secret_access_key = theirs\n");
        // [test] holds long-term keys, so the session would go to [test-mfa]:
        let p = resolve(SEED_CONFIG, &creds, req("test")).unwrap();
        assert_eq!(p.destination, "test-mfa");
        assert_eq!(p.source.profile, "test");
        // ...and a [test-mfa] with someone's long-term keys is refused.
        let creds = format!("{creds}\n[test-mfa]\naws_access_key_id = AKIASOMEONEELSE00001\naws_secret_access_key = theirs\n");
        let e = resolve(SEED_CONFIG, &creds, req("test")).unwrap_err();
        assert_eq!(
            e.message,
            "refusing to write the session into [test-mfa] (~/.aws/credentials:10): it holds long-term keys"
        );
    }

    #[test]
    fn foreign_session_may_be_overwritten() {
        let creds = format!("{SEED_CREDS}\n[test]\naws_access_key_id = ASIAFOREIGN000000000\naws_secret_access_key = x\naws_session_token = y\n");
        assert!(resolve(SEED_CONFIG, &creds, req("test")).is_ok());
        let creds = format!("{SEED_CREDS}\n[test]\nregion = x\n");
        let e = resolve(SEED_CONFIG, &creds, req("test")).unwrap_err();
        assert!(
            e.message
                .contains("it holds settings that are not a session"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cycle() {
        let config = "[profile a]\nsource_profile = b\nmfa_serial = arn:aws:iam::123456789012:mfa/a\n[profile b]\nsource_profile = c\n[profile c]\nsource_profile = a\n";
        let e = resolve(config, "", req("a")).unwrap_err();
        assert_eq!(
            e.message,
            "source_profile cycle: a -> b -> c -> a (in ~/.aws/config)"
        );
    }

    #[test]
    fn unknown_with_suggestion() {
        let e = resolve(SEED_CONFIG, SEED_CREDS, req("tset")).unwrap_err();
        assert_eq!(
            e.message,
            "profile 'tset' not found in ~/.aws/config or ~/.aws/credentials"
        );
        assert_eq!(e.hint.as_deref(), Some("did you mean 'test'?"));
        let e = resolve(SEED_CONFIG, SEED_CREDS, req("zzzzzzzzzz")).unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("run 'mfa-exec list' to see the profiles")
        );
    }

    #[test]
    fn no_device() {
        let config = "[profile test]\nsource_profile = base\n";
        let creds = "[base]\naws_access_key_id = AKIABASE000000000000\naws_secret_access_key = s\n";
        let e = resolve(config, creds, req("test")).unwrap_err();
        assert_eq!(
            e.message,
            "profile 'test' has no MFA device: set mfa_serial in [profile test] of ~/.aws/config"
        );
    }

    #[test]
    fn device_order() {
        let config = "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/default\n[profile test]\nsource_profile = base\n";
        let creds = "[base]\naws_access_key_id = AKIABASE000000000000\naws_secret_access_key = s\n";
        let p = resolve(config, creds, req("test")).unwrap();
        assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/default"));
        let mut r = req("test");
        r.mfa_serial_env = Some("arn:aws:iam::123456789012:mfa/env".into());
        assert_eq!(
            resolve(config, creds, r.clone()).unwrap().serial(),
            Some("arn:aws:iam::123456789012:mfa/env")
        );
        r.mfa_serial_flag = Some("arn:aws:iam::123456789012:mfa/flag".into());
        let p = resolve(config, creds, r.clone()).unwrap();
        assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/flag"));
        assert_eq!(p.serial.unwrap().origin, Origin::Flag("--mfa-serial"));
        r.mfa_serial_flag = Some("bad serial!".into());
        let e = resolve(config, creds, r).unwrap_err();
        assert!(
            e.message
                .starts_with("invalid MFA device 'bad serial!' (from --mfa-serial)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn no_keys_lists_places() {
        let config = "[profile test]\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
        let e = resolve(config, "", req("test")).unwrap_err();
        assert_eq!(
            e.message,
            "no long-term keys for profile 'test': searched [test-long-term], [test] in ~/.aws/credentials, and [profile test] in ~/.aws/config"
        );
    }

    #[test]
    fn session_only_source() {
        let config =
            "[profile test]\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
        let creds = "[base]\naws_access_key_id = ASIABASE000000000000\naws_secret_access_key = s\naws_session_token = t\n";
        let e = resolve(config, creds, req("test")).unwrap_err();
        assert_eq!(e.message, "[base] in ~/.aws/credentials holds only session credentials (aws_session_token); STS refuses GetSessionToken with them");
    }

    #[test]
    fn durations_and_regions() {
        let mut r = req("test");
        r.duration_flag = Some(100);
        let e = resolve(SEED_CONFIG, SEED_CREDS, r).unwrap_err();
        assert_eq!(
            e.message,
            "GetSessionToken duration 1m40s (from --duration) is out of range: 15m to 36h"
        );
        let mut r = req("test");
        r.min_remaining_flag = Some(3600);
        r.duration_flag = Some(3600);
        let e = resolve(SEED_CONFIG, SEED_CREDS, r).unwrap_err();
        assert_eq!(
            e.message,
            "--min-remaining (1h) must be shorter than the session duration (1h, from --duration)"
        );
        let mut r = req("test");
        r.region_env = Some(("AWS_REGION", "us-west-1".into()));
        assert_eq!(
            resolve(SEED_CONFIG, SEED_CREDS, r.clone())
                .unwrap()
                .region
                .unwrap()
                .value,
            "us-west-1"
        );
        r.outer_profile = Some("other".into());
        assert_eq!(
            resolve(SEED_CONFIG, SEED_CREDS, r.clone())
                .unwrap()
                .region
                .unwrap()
                .value,
            "ap-northeast-2"
        );
        r.region_flag = Some("eu-central-1".into());
        assert_eq!(
            resolve(SEED_CONFIG, SEED_CREDS, r)
                .unwrap()
                .region
                .unwrap()
                .value,
            "eu-central-1"
        );
    }

    #[test]
    fn duplicate_destination_refused() {
        let creds = format!("{SEED_CREDS}\n[test]\nx_mfa_exec_source = testAccount\n[test]\nx_mfa_exec_source = testAccount\n");
        let e = resolve(SEED_CONFIG, &creds, req("test")).unwrap_err();
        assert_eq!(e.message, "[test] appears twice in ~/.aws/credentials (lines 6 and 8); mfa-exec will not write into it");
    }

    #[test]
    fn default_and_profile_default_merge() {
        let config = "[default]\nregion = a\n[profile default]\nregion = b\nmfa_serial = arn:aws:iam::123456789012:mfa/d\n";
        let creds =
            "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = s\n";
        let p = resolve(config, creds, req("default")).unwrap();
        assert_eq!(p.region.unwrap().value, "b");
        assert!(p
            .warnings
            .iter()
            .any(|w| w.contains("[default] and [profile default]")));
    }

    #[test]
    fn bad_role_arn() {
        let config = format!("{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::21098:role/admin\nsource_profile = testAccount\n");
        let e = resolve(&config, SEED_CREDS, req("prod")).unwrap_err();
        assert!(
            e.message
                .starts_with("invalid role_arn 'arn:aws:iam::21098:role/admin' of profile 'prod'"),
            "{}",
            e.message
        );
    }
}

#[cfg(test)]
#[path = "profile_index_tests.rs"]
mod index_tests;
