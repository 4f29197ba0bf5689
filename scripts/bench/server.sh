#!/usr/bin/env bash
# The --server endpoint under load (issue 22): time to answer a credentials
# request (median and p99, 1 and 16 concurrent clients, a new connection per
# request as the SDKs make them) and the memory of the serving mfa-exec after
# 1,000 and after 4,200 requests. Prints the results; nothing leaves 127.0.0.1
# (the session is cached, so STS is never called).
#
#   bash scripts/bench/server.sh [path/to/mfa-exec]   # default target/release/mfa-exec
#
# Needs gcc (the load client is scripts/bench/server_client.c, C with
# pthreads, so the client's own cost stays small next to the server's).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/mfa-exec}
[ -x "$BIN" ] || { echo "server.sh: no binary at $BIN (cargo build --release)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
gcc -O2 -pthread -o "$W/client" "$ROOT/scripts/bench/server_client.c"
mkdir -m 700 "$W/.aws"
cat >"$W/.aws/config" <<'CFG'
[profile test]
source_profile = testAccount
mfa_serial = arn:aws:iam::123456789012:mfa/test
region = eu-west-1
CFG
exp=$(date -u -d '+6 hours' +%Y-%m-%dT%H:%M:%SZ)
cat >"$W/.aws/credentials" <<CREDS
[testAccount]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
[test]
aws_access_key_id = ASIABENCHEXAMPLE0001
aws_secret_access_key = benchsecret
aws_session_token = benchtoken
x_security_token_expires = $exp
x_mfa_exec_source = testAccount
x_mfa_exec_serial = arn:aws:iam::123456789012:mfa/test
CREDS
chmod 600 "$W/.aws/credentials"
echo "binary: $BIN ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
env -i HOME="$W" PATH="$PATH" LANG=C.UTF-8 "$BIN" test --server -- sh -c '
    rss() { awk "/^(VmRSS|VmHWM|Threads)/ {printf \"%s %s %s  \", \$1, \$2, \$3}" /proc/$PPID/status; echo; }
    c="'"$W"'/client"
    echo "serving mfa-exec before any request: $(rss)"
    "$c" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN" 1 1000
    echo "after 1,000 requests: $(rss)"
    "$c" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN" 16 200
    echo "after 4,200 requests: $(rss)"
'
