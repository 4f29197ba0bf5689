//! The one integration-test binary: hermetic runs of the real `mfa-exec` against
//! a fake STS on 127.0.0.1 (see `support/`).

mod support;

mod bad_input;
mod cli;
mod commands;
mod configure;
mod explain;
mod generated;
mod keyring;
mod main_flow;
mod prompt;
mod reliability;
mod roles;
