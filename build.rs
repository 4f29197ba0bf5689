//! Build script: one opt-in link setting, nothing else (issue 24).
//!
//! `MFA_EXEC_NO_PIE=1 cargo install --path .` links the binary as a
//! non-position-independent executable on Linux (`-no-pie`, after rustc's
//! own `-pie`; the code stays position-independent, so the linker resolves
//! its relocations once, at link time). Measured on the cached path
//! (BENCHMARKS.md, section 1b): about 170,000 fewer instructions in the
//! dynamic loader (12,377 relative relocations gone) and about 50 fewer page
//! faults per run. Not the default: the executable then loads at a fixed
//! address (no ASLR for its own code and data), and mfa-exec carries C code
//! (aws-lc, the TLS library) that parses what the network sends on a
//! refresh. Debian's hardening default is PIE, and so is ours.
// Cargo reads a build script's stdout; println! is the documented interface.
#[allow(clippy::disallowed_macros)]
fn main() {
    println!("cargo:rerun-if-env-changed=MFA_EXEC_NO_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let wanted = std::env::var_os("MFA_EXEC_NO_PIE").is_some_and(|v| v == "1");
    if linux && wanted {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
