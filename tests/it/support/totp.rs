//! One-time codes for the tests: RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s
//! step) for the fake STS's virtual device, and distinct codes for runs that
//! only need *a* code (AWS accepts each code once, and so does mfa-exec's
//! guard, so two runs in one HOME never share one).

use hmac::{Hmac, KeyInit, Mac};
use std::sync::atomic::{AtomicU32, Ordering};

/// The TOTP step.
pub const TOTP_STEP: i64 = 30;

/// A virtual device secret, base32 as `oathtool -b` takes it.
pub const TOTP_SECRET_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

static NEXT: AtomicU32 = AtomicU32::new(300_000);

/// A 6-digit code not handed out before in this test binary.
pub fn fresh_code() -> String {
    format!("{:06}", NEXT.fetch_add(1, Ordering::SeqCst) % 1_000_000)
}

/// RFC 4648 base32 (upper case, padding optional); panics on anything else.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base32: {s}")) as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// HOTP (RFC 4226) of `counter`, 6 digits.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[h.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// The TOTP step number of a Unix time.
pub fn totp_step(unix: i64) -> u64 {
    unix.div_euclid(TOTP_STEP) as u64
}

/// The TOTP code (RFC 6238) at Unix time `unix`.
pub fn totp(secret: &[u8], unix: i64) -> String {
    hotp(secret, totp_step(unix))
}

#[test]
fn support_totp_rfc_vectors() {
    // RFC 4226 appendix D and RFC 6238 appendix B (SHA-1, last 6 digits).
    let key = b"12345678901234567890";
    assert_eq!(hotp(key, 0), "755224");
    assert_eq!(hotp(key, 9), "520489");
    assert_eq!(totp(key, 59), "287082");
    assert_eq!(totp(key, 1_111_111_109), "081804");
    assert_eq!(totp(key, 2_000_000_000), "279037");
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), key);
    assert_ne!(fresh_code(), fresh_code());
}
