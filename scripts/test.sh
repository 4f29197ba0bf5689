#!/usr/bin/env bash
# The test command of the README: every unit, property and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets -- --nocapture 2>&1 | grep -v '^$' || exit 1
