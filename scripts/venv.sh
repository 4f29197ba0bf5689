#!/usr/bin/env bash
# Creates (idempotently) the Python venv the moto end-to-end suite and the demo
# use, with moto's server, the AWS CLI and boto3 (a client the end-to-end suite
# checks, pinned here although moto brings it too) from PyPI, and prints their
# versions.
#
#   scripts/venv.sh                 # venv at ./target/venv
#   MFA_EXEC_VENV=/tmp/v scripts/venv.sh
#
# Callers put "$MFA_EXEC_VENV/bin" on PATH. Re-running is cheap: the install
# step is skipped once the pinned versions are in.
set -euo pipefail

MOTO_VERSION=5.2.5
AWSCLI_VERSION=1.46.3
# The boto3 that goes with the botocore awscli pins.
BOTO3_VERSION=1.44.8

venv=${MFA_EXEC_VENV:-$PWD/target/venv}
python=${PYTHON:-python3}
stamp="$venv/.mfa-exec-venv-$MOTO_VERSION-$AWSCLI_VERSION-$BOTO3_VERSION"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "venv: creating $venv" >&2
    "$python" -m venv "$venv"
fi
if [[ ! -e "$stamp" ]]; then
    echo "venv: installing moto[server]==$MOTO_VERSION awscli==$AWSCLI_VERSION boto3==$BOTO3_VERSION" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" "boto3==$BOTO3_VERSION"
    touch "$stamp"
fi
"$venv/bin/python" - <<'PY'
from importlib.metadata import version
for p in ("moto", "awscli", "botocore", "boto3"):
    print(f"venv: {p} {version(p)}")
PY
