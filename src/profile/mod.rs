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
//!   `source_profile`, …; a cycle is an error that shows the path, but a
//!   profile naming itself ends the chain: a role profile that is its own
//!   source uses its own keys (as botocore), and its GetSessionToken session
//!   goes to `[P-source-mfa]` (its role session is `[P-mfa]`).
//! - An empty destination section (no keys, only comments) counts as absent.
//! - The region has no `[default]` fallback (the AWS CLI does not use one either
//!   for a named profile).
//! - `mfa_serial` wins over `mfa_arn` when one section has both.
//!
//! Layout, by what each part resolves (the [`Resolver`] is one type whose
//! `impl` blocks sit with their concern; all of it is pure):
//! - `plan`: the types resolution hands out ([`Plan`], [`Fact`], [`Origin`],
//!   [`KeySource`], ...) and the parsed files it reads ([`AwsFiles`]).
//! - `index`: the config file's profiles ([`ConfigIndex`]) and the section
//!   header dialect (`[P]`, `[profile P]`, `[default]`).
//! - `resolve`: the [`Resolver`], profile names, the source chain, and
//!   [`Resolver::resolve`], which lowers a [`Request`] into a [`Plan`] (role
//!   hops, regions, endpoint, the bare-section warning).
//! - `source`: where the long-term keys are (SPEC §2 order, the keyring).
//! - `foreign`: profiles another mechanism signs in (SSO, `aws login`,
//!   `credential_process`), named when they have no keys.
//! - `device`: the MFA device.
//! - `destination`: which credentials section a session is written to, and
//!   whether mfa-exec may write there.
//! - `durations`: session lengths and `--min-remaining` (parsing is
//!   [`crate::duration`]'s).
//! - `validate`: IAM's shapes of a serial and a role ARN, duration ranges, and
//!   the "did you mean" distance.

mod destination;
mod device;
mod durations;
mod foreign;
mod index;
mod plan;
mod resolve;
mod source;
mod validate;

pub use durations::min_remaining;
pub use foreign::{calls_mfa_exec, Foreign};
pub use index::{config_section_profile, ConfigIndex};
pub use plan::{
    AwsFile, AwsFiles, Fact, KeySource, Keys, Origin, Plan, PromptMode, Request, RoleHop,
};
pub use resolve::{parse_bool, Resolver, PROMPT_TIMEOUT_DEFAULT};
pub use validate::{valid_role_arn, valid_serial};

use crate::error::Fail;

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

/// A resolution error is a [`Fail`]: the message, a hint when a next step is
/// obvious, exit 125.
fn err(message: impl Into<String>) -> Fail {
    Fail::new(message)
}

fn err_hint(message: impl Into<String>, hint: impl Into<String>) -> Fail {
    Fail::new(message).hint(hint)
}

type R<T> = Result<T, Fail>;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod index_tests;
