//! mfa-exec as a library: every module of the `mfa-exec` binary, so the
//! integration tests reach them through the crate's API
//! (`mfa_exec::ini::Document`, `mfa_exec::cli::Cli`) rather than by file path.
//! `src/main.rs` is only the switchboard. ARCHITECTURE.md maps the modules.
//!
//! Never holds logic of its own: only the module list.

pub mod child;
pub mod cli;
pub mod cmd;
pub mod duration;
pub mod env;
pub mod error;
pub mod flow;
pub mod iam;
pub mod ini;
pub mod keys;
pub mod keystore;
pub mod otp;
pub mod profile;
pub mod secret;
pub mod serve;
pub mod session;
pub mod signin;
pub mod store;
pub mod sts;
pub mod testhook;
pub mod ui;
pub mod used_codes;
