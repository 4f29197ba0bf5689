#![allow(clippy::disallowed_macros)] // tests may print; the product may not (clippy.toml)
//! The one integration-test binary: hermetic runs of the real `mfa-exec` against
//! a fake STS on 127.0.0.1 (see `support/`).

mod support;

mod bad_input;
mod cli;
mod code_source;
mod commands;
mod configure;
mod configure_safety;
mod desktop;
mod dialect;
mod docs;
mod explain;
mod generated;
mod keyring;
mod keys_faults;
mod login;
mod main_flow;
mod network;
mod newcomer;
mod one_code;
mod promises;
mod prompt;
mod reliability;
mod review;
mod roles;
mod server;
