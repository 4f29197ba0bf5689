//! The floor of a cached run, in Rust with std (issue 24): read both AWS
//! files, find one section header in each, exec the command. Built by
//! scripts/bench.sh with mfa-exec's release settings (opt-level s, fat LTO is
//! moot for one crate, codegen-units 1, panic abort, stripped).
//! Usage: floor-rs PROFILE CMD ARGS...
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

fn has_header(path: &PathBuf, header: &str) -> bool {
    match std::fs::read_to_string(path) {
        Ok(s) => s.lines().any(|l| l == header),
        Err(_) => false,
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let profile = args.next().expect("profile").into_string().expect("utf-8");
    let cmd = args.next().expect("command");
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let cfg = std::env::var_os("AWS_CONFIG_FILE").map(PathBuf::from).unwrap_or_else(|| home.join(".aws/config"));
    let cred = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/credentials"));
    let found = has_header(&cfg, &format!("[profile {profile}]")) | has_header(&cred, &format!("[{profile}]"));
    if !found {
        std::process::exit(125);
    }
    let err = std::process::Command::new(cmd).args(args).exec();
    eprintln!("floor-rs: {err}");
    std::process::exit(127);
}
