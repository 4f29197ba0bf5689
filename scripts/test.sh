#!/usr/bin/env bash
# The README's test command: every unit, property and integration test, then
# the end-to-end suite against a local moto_server with the real AWS CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export MFA_EXEC_VENV="${MFA_EXEC_VENV:-$PWD/target/venv}"

echo "== python venv (moto[server], awscli)"
bash scripts/venv.sh

echo "== cargo test"
cargo test --all-targets

echo "== end-to-end on moto"
bash scripts/e2e-moto.sh
