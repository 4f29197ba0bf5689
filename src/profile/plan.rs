//! The types resolution hands out: a checked [`Plan`] and its parts
//! ([`Fact`], [`Origin`], [`KeySource`], [`Keys`], [`RoleHop`]), the
//! [`Request`] that flags and the environment make, and the parsed
//! [`AwsFiles`] it reads. Plain data: nothing here reads a file, looks a key
//! up, prompts or reads the clock; building a plan is [`super::Resolver`]'s.

use super::CHAIN_MAX;
use crate::ini::Document;
use crate::keys::LongTermKeys;
use crate::session::Marker;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;

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
        /// The file as shown (`~/.aws/config`), shared by every origin in it
        /// (resolving a profile makes several: a clone is a count, not a copy).
        file: Rc<str>,
        line: usize,
        /// The section name, shared like the file's (every fact of a
        /// profile's section names the same one).
        section: Rc<str>,
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
    /// `--server` was given.
    pub server_flag: bool,
    /// `MFA_EXEC_SERVER`.
    pub server_env: Option<String>,
    /// `--prompt`.
    pub prompt_flag: Option<String>,
    /// `MFA_EXEC_PROMPT`.
    pub prompt_env: Option<String>,
}

/// How a code is asked for when one must be typed (SPEC §9.3): the setting
/// `mfa_exec_prompt`, `MFA_EXEC_PROMPT`, `--prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptMode {
    /// The terminal when mfa-exec is in its foreground, else a desktop dialog
    /// when a display and a dialog program are there.
    Auto,
    Terminal,
    Zenity,
    Kdialog,
    Osascript,
}

impl PromptMode {
    /// Every value, as written in the setting.
    pub const NAMES: [&'static str; 5] = crate::cli::PROMPT_VALUES;

    /// The value as written (exactly, after trimming).
    pub fn parse(s: &str) -> Option<PromptMode> {
        Some(match s.trim() {
            "auto" => PromptMode::Auto,
            "terminal" => PromptMode::Terminal,
            "zenity" => PromptMode::Zenity,
            "kdialog" => PromptMode::Kdialog,
            "osascript" => PromptMode::Osascript,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PromptMode::Auto => "auto",
            PromptMode::Terminal => "terminal",
            PromptMode::Zenity => "zenity",
            PromptMode::Kdialog => "kdialog",
            PromptMode::Osascript => "osascript",
        }
    }
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
    /// The device came from `[default]`, which is not on P's source chain
    /// (SPEC §2's last fallback): said in `-v` and by `list` (issue 25 item 8).
    pub device_from_default: bool,
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
    /// Serve the session from a local credentials endpoint that renews it
    /// (`--server`, `MFA_EXEC_SERVER`, `mfa_exec_server`; SPEC §9.2).
    pub server: Fact<bool>,
    /// How a typed code is asked for (`--prompt`, `MFA_EXEC_PROMPT`,
    /// `mfa_exec_prompt`; default auto).
    pub prompt: Fact<PromptMode>,
    /// How long a desktop dialog stays open (`mfa_exec_prompt_timeout`,
    /// seconds; default 120).
    pub prompt_timeout: Fact<u64>,
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
