//! The one integration-test binary: hermetic runs of the real `mfa-exec` against
//! a fake STS on 127.0.0.1 (see `support/`).

mod support;

mod bad_input;
mod cli;
mod code_source;
mod commands;
mod configure;
mod explain;
mod generated;
mod main_flow;
mod one_code;
mod prompt;
mod reliability;
mod roles;
