//! `mfa-exec configure P`: interactive setup (issue 9; not implemented yet).

use crate::cli::ConfigureArgs;
use crate::env::Env;
use crate::error::fail;
use crate::ui::Ui;
use anyhow::Result;

pub fn run(_env: Env, _ui: Ui, _a: &ConfigureArgs) -> Result<i32> {
    Err(fail("'mfa-exec configure' is not implemented yet").into())
}
