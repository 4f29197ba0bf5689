//! Fault-injection points for the reliability tests, compiled into debug builds
//! only: `MFA_EXEC_TEST_PAUSE=<point>:<millis>` sleeps at the named point (so a
//! test can kill a writer there). Release builds contain an empty function.

/// Sleeps at `point` when the test variable names it (debug builds only).
#[cfg(debug_assertions)]
pub fn pause(point: &str) {
    if let Some(spec) = crate::env::test_hook() {
        for item in spec.split(',') {
            if let Some((p, ms)) = item.split_once(':') {
                if p == point {
                    if let Ok(ms) = ms.parse::<u64>() {
                        std::thread::sleep(std::time::Duration::from_millis(ms));
                    }
                }
            }
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn pause(_point: &str) {}
