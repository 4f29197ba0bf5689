//! `mfa-exec explain P [--json]`: how P resolves (issue 9; not implemented yet).

use crate::cli::ExplainArgs;
use crate::env::Env;
use crate::error::fail;
use crate::ui::Ui;
use anyhow::Result;

pub fn run(_env: Env, _ui: Ui, _a: &ExplainArgs) -> Result<i32> {
    Err(fail("'mfa-exec explain' is not implemented yet").into())
}
