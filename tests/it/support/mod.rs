//! Shared harness for the `mfa-exec` integration tests.
//!
//! - [`FakeSts`]: a fake STS (Query protocol) on 127.0.0.1 with scripted
//!   replies and socket-level faults; records every request. It is the STS
//!   model (`fake_sts/`) on top of [`http`], a small std HTTP/1.1 server
//!   that owns the sockets and the socket-level faults.
//! - [`TestEnv`]: a hermetic HOME with `~/.aws/{config,credentials}` and
//!   commands for the binary that see nothing of the real environment.
//! - [`FakeSignin`]: a fake console federation endpoint on 127.0.0.1.
//! - [`Pty`]: runs the binary (or anything) in a pseudo-terminal.
#![allow(dead_code)]
#![allow(unused_imports)]

pub mod desktop;
pub mod env;
pub mod fake_signin;
pub mod fake_sts;
pub mod http;
pub mod keyring;
pub mod pty;
pub mod totp;

pub use env::{
    bin_path, line_diff, wait_for_file, FileState, Snapshot, TestEnv, CMD_TIMEOUT, SEED_CONFIG,
    SEED_CREDENTIALS, SEED_KEY_ID, SEED_PROFILE, SEED_REGION, SEED_SECRET, SEED_SERIAL,
    SEED_SOURCE_PROFILE, SEED_USER_ARN,
};
pub use fake_signin::{query_pairs, FakeSignin, SigninRequest, SIGNIN_TOKEN_PREFIX};
pub use fake_sts::{
    form_decode, free_closed_port, http_date, iso8601, percent_decode, FakeSts, Issued, Recorded,
    Reply, FAKE_ACCOUNT, INVALID_MFA_MESSAGE, ISSUED_KEY_PREFIX, STS_XMLNS,
};
pub use pty::{Pty, PTY_TIMEOUT};
pub use totp::{fresh_code, totp, TOTP_SECRET_B32, TOTP_STEP};
