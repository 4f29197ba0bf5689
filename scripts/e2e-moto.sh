#!/usr/bin/env bash
# End-to-end suite: the built mfa-exec against moto's STS and the real AWS CLI,
# in a throwaway HOME with the seed layout. No AWS account, no network beyond
# 127.0.0.1 (PyPI once, for scripts/venv.sh).
#
#   scripts/e2e-moto.sh          # prints "ok N - ..." lines and "e2e: N passed, M failed"
#
# Requests are counted by a small reverse proxy (Python stdlib) between the
# clients and moto: moto keeps no request log, and the wrapped
# `aws sts get-caller-identity` makes STS requests of its own, so the proxy
# records each request's Action and the access key id that signed it, and the
# checks count GetSessionToken requests specifically. moto answers every
# GetSessionToken with the same session, so the proxy gives each answer a key
# id (ASIAE2EISSUED0000001, ...) and token of its own and records them: a check
# can then tell which session signed a request.
#
# Besides the AWS CLI, two clients nobody here wrote use the sessions: boto3
# (from the venv) and the AWS SDK for JavaScript v3 (fromIni, installed with npm
# by scripts/npm.sh into target/npm), each through `credential_process =
# mfa-exec credential-process P` and through the session mfa-exec wrote into
# the credentials file. Without Node.js 20+ and npm their checks are skipped
# with the reason (they fail instead under CI=true).
#
# Environment: MFA_EXEC_VENV (default ./target/venv), MFA_EXEC_NPM (default
# ./target/npm), E2E_KEEP=1 keeps the temporary directory for inspection.
set -euo pipefail

# MFA_EXEC_VENV and MFA_EXEC_NPM as given, relative to the caller's directory.
if [[ -n "${MFA_EXEC_VENV:-}" && "$MFA_EXEC_VENV" != /* ]]; then
    MFA_EXEC_VENV=$PWD/$MFA_EXEC_VENV
fi
if [[ -n "${MFA_EXEC_NPM:-}" && "$MFA_EXEC_NPM" != /* ]]; then
    MFA_EXEC_NPM=$PWD/$MFA_EXEC_NPM
fi
cd "$(dirname "$0")/.."
root=$PWD

# --- environment -------------------------------------------------------------
# Nothing of the caller's AWS setup may leak in; of the mfa-exec settings only
# MFA_EXEC_VENV and MFA_EXEC_NPM, which this script documents, are kept.
venv=${MFA_EXEC_VENV:-$root/target/venv}
npm_dir=${MFA_EXEC_NPM:-$root/target/npm}
while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(AWS_|MFA_EXEC_)' || true)
unset COMPLETE || true
export MFA_EXEC_VENV=$venv MFA_EXEC_NPM=$npm_dir

echo "e2e: building mfa-exec" >&2
cargo build --quiet
bin_dir="${CARGO_TARGET_DIR:-$root/target}/debug"
[[ -x "$bin_dir/mfa-exec" ]] || { echo "e2e: no binary at $bin_dir/mfa-exec" >&2; exit 1; }

bash "$root/scripts/venv.sh" >&2
py="$MFA_EXEC_VENV/bin/python"

# The AWS SDK for JavaScript v3, when Node.js 20+ and npm are here.
js_skip=
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    js_skip="Node.js and npm not found (install Node.js 20 or later with npm)"
elif (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
    js_skip="Node.js $(node --version) is older than 20, which the AWS SDK for JavaScript v3 needs"
else
    bash "$root/scripts/npm.sh" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfa-exec-e2e.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ "${E2E_KEEP:-}" == 1 ]]; then
        echo "e2e: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL LOGFILE: wait up to 30 s until URL answers
    local url=$1 log=$2
    for _ in $(seq 1 150); do
        if "$py" - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
PY
        sleep 0.2
    done
    echo "e2e: $url did not answer; its log:" >&2
    cat "$log" >&2 || true
    return 1
}

# --- moto, and the counting proxy in front of it -----------------------------
moto_port=$(free_port)
"$MFA_EXEC_VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$moto_port/moto-api/" "$tmp/moto.log"

cat >"$tmp/proxy.py" <<'PY'
"""Forwards every request to moto.

Appends "ACTION KEYID" to LOG, "ACTION KEYID TOKEN" to LOG.tokens (TOKEN: the
first 16 hex digits of the SHA-256 of the session token sent, or -), and gives
each GetSessionToken answer an access key id and session token of its own,
appending "KEYID TOKEN" of the session issued to LOG.issued.
"""
import hashlib, http.client, itertools, re, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

listen, upstream, logfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
issued = itertools.count(1)
lock = threading.Lock()


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else "-"


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = urllib.parse.parse_qs(body.decode("latin-1"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        action = (form.get("Action") or query.get("Action") or [""])[0]
        if not action:
            action = (self.headers.get("X-Amz-Target") or "-").split(".")[-1]
        m = re.search(r"Credential=([A-Z0-9]+)/", self.headers.get("Authorization") or "")
        key = m.group(1) if m else "-"
        token = digest(self.headers.get("X-Amz-Security-Token"))
        with lock:
            with open(logfile, "a") as f:
                f.write(f"{action} {key}\n")
            with open(logfile + ".tokens", "a") as f:
                f.write(f"{action} {key} {token}\n")
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = f"127.0.0.1:{upstream}"
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if action == "GetSessionToken" and resp.status == 200:
            text, serial = data.decode(), next(issued)
            new_key = f"ASIAE2EISSUED{serial:07d}"
            text, n = re.subn(r"<AccessKeyId>[^<]*</AccessKeyId>", f"<AccessKeyId>{new_key}</AccessKeyId>", text)
            t = re.search(r"<SessionToken>([^<]*)</SessionToken>", text)
            if n == 1 and t:
                new_token = f"{t.group(1)}{serial:07d}"
                data = text.replace(t.group(0), f"<SessionToken>{new_token}</SessionToken>").encode()
                with lock, open(logfile + ".issued", "a") as f:
                    f.write(f"{new_key} {digest(new_token)}\n")
            else:
                print(f"GetSessionToken answer not rewritten: {text[:200]!r}", file=sys.stderr, flush=True)
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", listen), Proxy).serve_forever()
PY
proxy_port=$(free_port)
: >"$tmp/requests.log"; : >"$tmp/requests.log.tokens"; : >"$tmp/requests.log.issued"
"$py" "$tmp/proxy.py" "$proxy_port" "$moto_port" "$tmp/requests.log" >"$tmp/proxy.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$proxy_port/moto-api/" "$tmp/proxy.log"
: >"$tmp/requests.log"; : >"$tmp/requests.log.tokens"; : >"$tmp/requests.log.issued"

# --- throwaway HOME with the seed layout --------------------------------------
export HOME="$tmp/home"
mkdir -p "$HOME/.aws"
chmod 700 "$HOME/.aws"
cat >"$HOME/.aws/config" <<'EOF'
[testAccount]
mfa_arn = arn:aws:iam::123456789012:mfa/test

[profile test]
user_arn = arn:aws:iam::123456789012:user/test
source_profile = testAccount
region = ap-northeast-2
EOF
# Requests show which key signed them: the long-term key here is none of the
# ones the proxy hands out for sessions.
long_term_key=AKIAMFAEXECE2ETEST01
cat >"$HOME/.aws/credentials" <<EOF
[testAccount]
aws_access_key_id = $long_term_key
aws_secret_access_key = mfaExecE2eLongTermSecretKeyForTests00000
EOF
chmod 600 "$HOME/.aws/credentials"
cp "$HOME/.aws/credentials" "$tmp/credentials.before"

export PATH="$bin_dir:$MFA_EXEC_VENV/bin:$PATH"
export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port"
export AWS_EC2_METADATA_DISABLED=true
export NO_COLOR=1
creds="$HOME/.aws/credentials"

echo "e2e: moto on 127.0.0.1:$moto_port behind the counting proxy on 127.0.0.1:$proxy_port" >&2
echo "e2e: $(mfa-exec --version), $(aws --version 2>&1)" >&2

# --- helpers -------------------------------------------------------------------
passed=0 failed=0 skipped=0 n=0
check() { # DESCRIPTION FUNCTION: run FUNCTION, its output to a log shown on failure
    local desc=$1 fn=$2
    local rc
    n=$((n + 1))
    # A subshell run outside any condition, so that `set -e` holds inside it.
    set +e
    (set -e; "$fn") >"$tmp/check-$n.log" 2>&1
    rc=$?
    set -e
    if [[ $rc == 0 ]]; then
        passed=$((passed + 1))
        echo "ok $n - $desc"
    else
        failed=$((failed + 1))
        echo "not ok $n - $desc"
        sed 's/^/#   /' "$tmp/check-$n.log"
    fi
}
# A check that needs Node.js: skipped with the reason where it is missing,
# failed under CI, which must have it.
js_check() { # DESCRIPTION FUNCTION
    if [[ -z "$js_skip" ]]; then
        check "$@"
    elif [[ "${CI:-}" == true ]]; then
        n=$((n + 1)) failed=$((failed + 1))
        echo "not ok $n - $1"
        echo "#   $js_skip (CI must run this check)"
    else
        n=$((n + 1)) skipped=$((skipped + 1))
        echo "ok $n - $1 # SKIP $js_skip"
        echo "e2e: SKIPPED $1: $js_skip" >&2
    fi
}
count() { grep -c "^$1 " "$tmp/requests.log" || true; }
# Value of KEY in [SECTION] of the credentials file.
ini_get() {
    awk -v s="[$1]" -v k="$2" '
        /^\[/ { in_s = ($0 == s); next }
        in_s { split($0, kv, "="); key = kv[1]; gsub(/[ \t]/, "", key)
               if (key == k) { v = substr($0, index($0, "=") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); print v; exit } }
    ' "$creds"
}
fail() { echo "$*"; return 1; }

# --- checks --------------------------------------------------------------------
t_first_run() {
    mfa-exec test -t 123456 -- aws sts get-caller-identity >"$tmp/first.out" </dev/null
    cat "$tmp/first.out"
    grep -q '"Account"' "$tmp/first.out" || fail "no identity printed"
}
check "first run: mfa-exec test -t 123456 -- aws sts get-caller-identity succeeds" t_first_run

t_session_written() {
    cat "$creds"
    grep -qx '\[test\]' "$creds" || fail "no [test] section"
    [[ "$(ini_get test x_mfa_exec_source)" == testAccount ]] || fail "x_mfa_exec_source is not testAccount"
    [[ "$(ini_get test aws_access_key_id)" != "$long_term_key" ]] || fail "long-term key copied"
    [[ -n "$(ini_get test aws_session_token)" ]] || fail "no aws_session_token"
    [[ -n "$(ini_get test x_security_token_expires)" ]] || fail "no x_security_token_expires"
    [[ "$(ini_get testAccount aws_access_key_id)" == "$long_term_key" ]] || fail "[testAccount] changed"
    [[ "$(stat -c %a "$creds")" == 600 ]] || fail "credentials mode is $(stat -c %a "$creds")"
}
check "[test] written with the session and x_mfa_exec_source = testAccount; [testAccount] kept" t_session_written

t_first_run_requests() {
    cat "$tmp/requests.log"
    [[ "$(count GetSessionToken)" == 1 ]] || fail "GetSessionToken requests: $(count GetSessionToken)"
    grep -q "^GetSessionToken $long_term_key$" "$tmp/requests.log" || fail "not signed with the long-term key"
    local key
    key=$(ini_get test aws_access_key_id)
    grep -q "^GetCallerIdentity $key$" "$tmp/requests.log" || fail "aws did not sign with the session key $key"
}
check "first run: one GetSessionToken (long-term key); aws signed with the session key" t_first_run_requests

t_second_run() {
    local before_gst before_gci
    before_gst=$(count GetSessionToken)
    before_gci=$(count GetCallerIdentity)
    mfa-exec test --no-input -- aws sts get-caller-identity </dev/null
    cat "$tmp/requests.log"
    [[ "$(count GetSessionToken)" == "$before_gst" ]] || fail "second run called GetSessionToken"
    [[ "$(count GetCallerIdentity)" == $((before_gci + 1)) ]] || fail "the wrapped aws call was not seen"
}
check "second run (--no-input): no STS GetSessionToken request, the wrapped aws call still works" t_second_run

t_aws_profile() {
    local before key
    before=$(count GetSessionToken)
    aws --profile test sts get-caller-identity </dev/null
    key=$(ini_get test aws_access_key_id)
    [[ "$(tail -n 1 "$tmp/requests.log")" == "GetCallerIdentity $key" ]] || fail "not signed with [test]'s key"
    [[ "$(count GetSessionToken)" == "$before" ]] || fail "GetSessionToken called"
}
check "aws --profile test sts get-caller-identity works without the wrapper" t_aws_profile

t_export() {
    local key out
    out=$(mfa-exec export test --no-input </dev/null)
    grep -q '^export AWS_SESSION_TOKEN=' <<<"$out" || fail "no AWS_SESSION_TOKEN in export"
    (
        eval "$out"
        [[ "$MFA_EXEC_PROFILE" == test ]] || fail "MFA_EXEC_PROFILE=$MFA_EXEC_PROFILE"
        [[ "${AWS_REGION:-}" == ap-northeast-2 ]] || fail "AWS_REGION=${AWS_REGION:-}"
        aws sts get-caller-identity </dev/null
    )
    key=$(ini_get test aws_access_key_id)
    [[ "$(tail -n 1 "$tmp/requests.log")" == "GetCallerIdentity $key" ]] || fail "not signed with the session key"
    [[ "$(count GetSessionToken)" == 1 ]] || fail "GetSessionToken called again"
}
check "eval \"\$(mfa-exec export test)\" then aws sts get-caller-identity works" t_export

t_list() {
    mfa-exec list </dev/null | tee "$tmp/list.out"
    grep -E '^ *test .*valid' "$tmp/list.out" || fail "test is not listed as valid"
}
check "mfa-exec list shows test with a valid session" t_list

# Drive the committed bash completion the way bash does on TAB.
complete_words() { # WORDS...: prints the candidates for the last word, one a line
    bash --norc --noprofile -c '
        source "$1"; shift
        spec=$(complete -p mfa-exec) || exit 1
        fn=${spec##*-F }; fn=${fn%% *}
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9; COMP_KEY=9
        prev=""; ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
        "$fn" mfa-exec "${COMP_WORDS[COMP_CWORD]}" "$prev"
        printf "%s\n" "${COMPREPLY[@]}"
    ' complete_words "$root/completions/mfa-exec.bash" "$@"
}
t_completion() {
    # A third profile only in the credentials file (its device there too, as
    # botocore merges it; completion offers only profiles that can run), and
    # one in both files.
    printf '\n[tester-only-creds]\naws_access_key_id = AKIAEXAMPLE2\naws_secret_access_key = x\nmfa_serial = arn:aws:iam::123456789012:mfa/tester\n' >>"$creds"
    local got
    got=$(complete_words mfa-exec te)
    echo "mfa-exec te<TAB> -> $(echo $got)"
    grep -qx test <<<"$got" || fail "test not offered"
    grep -qx testAccount <<<"$got" || fail "testAccount not offered"
    grep -qx tester-only-creds <<<"$got" || fail "a profile only in the credentials file is not offered"
    ! grep -q 'profile ' <<<"$got" || fail "a 'profile ' name offered"
    [[ "$(grep -cx test <<<"$got")" == 1 ]] || fail "test offered twice"
    got=$(complete_words mfa-exec exec testA)
    echo "mfa-exec exec testA<TAB> -> $(echo $got)"
    [[ "$got" == testAccount ]] || fail "exec: expected testAccount only"
    got=$(complete_words mfa-exec --profile t)
    echo "mfa-exec --profile t<TAB> -> $(echo $got)"
    grep -qx test <<<"$got" || fail "--profile: test not offered"
    got=$(complete_words mfa-exec li)
    echo "mfa-exec li<TAB> -> $(echo $got)"
    grep -qx list <<<"$got" || fail "subcommand list not offered"
}
check "bash completion (committed completions/mfa-exec.bash) offers profile names from both files" t_completion

# --- clients nobody here wrote: boto3 and the AWS SDK for JavaScript v3 ---------
# Each prints "KEYID TOKEN ARN": the access key id of the credentials it resolved,
# the digest of their session token (as the proxy logs it) and the identity its
# signed GetCallerIdentity returned. The endpoint is overridden explicitly.
clients_start=$(date +%s%N)
cat >"$tmp/client.py" <<'PY'
import hashlib, os, sys
import boto3

session = boto3.Session(profile_name=sys.argv[1])
sts = session.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
arn = sts.get_caller_identity()["Arn"]
creds = session.get_credentials().get_frozen_credentials()
token = hashlib.sha256(creds.token.encode()).hexdigest()[:16] if creds.token else "-"
print(creds.access_key, token, arn)
PY
# fromIni caches the parsed files per process: every run is a new node process.
cat >"$tmp/client.js" <<'JS'
const { createHash } = require("node:crypto");
const { fromIni } = require("@aws-sdk/credential-providers");
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");

(async () => {
    const sts = new STSClient({
        region: "us-east-1",
        endpoint: process.env.AWS_ENDPOINT_URL,
        credentials: fromIni({ profile: process.argv[2] }),
    });
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    const creds = await sts.config.credentials(); // memoized: the ones that signed
    const token = creds.sessionToken
        ? createHash("sha256").update(creds.sessionToken).digest("hex").slice(0, 16)
        : "-";
    console.log(`${creds.accessKeyId} ${token} ${Arn}`);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
JS
client_boto3() { "$py" "$tmp/client.py" "$@"; }
client_js() { NODE_PATH="$MFA_EXEC_NPM/node_modules" node "$tmp/client.js" "$@"; }

# Per client C: [C] gets its session through `credential_process` in [C-cp],
# [C-file] through the wrapper. Each names a device of its own: a fresh session
# of the same source and device would be reused (copied), and each check is to
# see a GetSessionToken of its own.
for c in boto3 js; do
    cat >>"$HOME/.aws/config" <<EOF

[profile $c]
source_profile = testAccount
mfa_serial = arn:aws:iam::123456789012:mfa/$c
region = us-east-1

[profile $c-cp]
credential_process = mfa-exec credential-process $c
region = us-east-1

[profile $c-file]
source_profile = testAccount
mfa_serial = arn:aws:iam::123456789012:mfa/$c-file
region = us-east-1
EOF
done

token_digest() { printf '%s' "$1" | sha256sum | cut -c1-16; }
# Asserts that [PROFILE] of the credentials file holds the session STS issued
# last, and sets issued_key and issued_token (its digest).
holds_last_issued() { # PROFILE
    read -r issued_key issued_token < <(tail -n 1 "$tmp/requests.log.issued")
    echo "last session issued: $issued_key (token digest $issued_token)"
    [[ "$(ini_get "$1" aws_access_key_id)" == "$issued_key" ]] \
        || fail "[$1] holds $(ini_get "$1" aws_access_key_id), not the issued key $issued_key"
    [[ "$(token_digest "$(ini_get "$1" aws_session_token)")" == "$issued_token" ]] \
        || fail "[$1] does not hold the issued session token"
}
# Runs CLIENT on PROFILE in a new process (with the VAR=VALUE assignments) and
# asserts that it made one GetCallerIdentity; sets client_out.
client_run() { # CLIENT PROFILE [VAR=VALUE...]
    local client=$1 profile=$2 calls
    shift 2
    calls=$(count GetCallerIdentity)
    client_out=$(
        for a in "$@"; do export "${a?}"; done
        "client_$client" "$profile" </dev/null 2>"$tmp/client.err"
    ) || {
        cat "$tmp/client.err"
        fail "$client on profile $profile failed"
    }
    echo "$client, profile $profile: $client_out"
    [[ "$(count GetCallerIdentity)" == $((calls + 1)) ]] \
        || fail "GetCallerIdentity requests: $(count GetCallerIdentity), expected $((calls + 1))"
}
# Asserts that the client's last call was signed with the issued session (key
# id and token), and that the client resolved that session.
signed_with_issued() {
    local last
    last=$(grep '^GetCallerIdentity ' "$tmp/requests.log.tokens" | tail -n 1)
    [[ "$last" == "GetCallerIdentity $issued_key $issued_token" ]] \
        || fail "the call was not signed with the issued session: $last"
    [[ "$client_out" == "$issued_key $issued_token "* ]] || fail "resolved other credentials: $client_out"
}

# (a) credential_process = mfa-exec credential-process C: the SDK runs mfa-exec,
# which gets a session (code from MFA_EXEC_TOKEN_CODE, as with no terminal) and
# writes it into [C]; a second process gets the same session without STS.
client_credential_process() { # CLIENT
    local c=$1 sessions
    [[ -z "$(ini_get "$c" aws_access_key_id)" ]] || fail "[$c] has a session already"
    sessions=$(count GetSessionToken)
    client_run "$c" "$c-cp" MFA_EXEC_TOKEN_CODE=123456
    [[ "$(count GetSessionToken)" == $((sessions + 1)) ]] \
        || fail "GetSessionToken requests: $(count GetSessionToken), expected $((sessions + 1))"
    [[ "$(grep '^GetSessionToken ' "$tmp/requests.log" | tail -n 1)" == "GetSessionToken $long_term_key" ]] \
        || fail "GetSessionToken was not signed with the long-term key"
    holds_last_issued "$c"
    [[ "$(ini_get "$c" x_mfa_exec_source)" == testAccount ]] || fail "[$c] is not marked as mfa-exec's"
    signed_with_issued
    # A new process, no code given: the cached session, no STS request.
    client_run "$c" "$c-cp"
    signed_with_issued
    [[ "$(count GetSessionToken)" == $((sessions + 1)) ]] || fail "the second process called GetSessionToken"
}
# (b) the session mfa-exec wrote into the credentials file, read by the SDK as
# an ordinary profile: no mfa-exec, no STS request but the signed call.
client_session_file() { # CLIENT
    local c=$1 sessions
    sessions=$(count GetSessionToken)
    mfa-exec "$c-file" -t 123456 -- true </dev/null
    [[ "$(count GetSessionToken)" == $((sessions + 1)) ]] || fail "mfa-exec $c-file made no new session"
    holds_last_issued "$c-file"
    sessions=$(count GetSessionToken)
    client_run "$c" "$c-file"
    signed_with_issued
    [[ "$(count GetSessionToken)" == "$sessions" ]] || fail "GetSessionToken called"
}

t_boto3_credential_process() { client_credential_process boto3; }
check "boto3: Session(profile_name='boto3-cp') through credential_process = mfa-exec credential-process boto3 signs with the issued session; a second process reuses it" \
    t_boto3_credential_process
t_boto3_session_file() { client_session_file boto3; }
check "boto3: Session(profile_name='boto3-file') signs with the session mfa-exec wrote into the credentials file" \
    t_boto3_session_file
t_js_credential_process() { client_credential_process js; }
js_check "AWS SDK for JavaScript v3: fromIni({profile: 'js-cp'}) through credential_process signs with the issued session; a second process reuses it" \
    t_js_credential_process
t_js_session_file() { client_session_file js; }
js_check "AWS SDK for JavaScript v3: fromIni({profile: 'js-file'}) signs with the session mfa-exec wrote into the credentials file" \
    t_js_session_file
clients_ms=$((($(date +%s%N) - clients_start) / 1000000))
echo "e2e: the boto3 and JavaScript SDK checks took $((clients_ms / 1000)).$(printf '%03d' $((clients_ms % 1000)))s" >&2
# === keys in the keyring (issue 14, SPEC §8.3) ================================
# A private session bus and gnome-keyring-daemon (unlocked with a throwaway
# password, its own HOME/XDG dirs); entries checked with secret-tool. Then:
# keys move testAccount --to keyring, a refresh signed with the key from the
# keyring, the cached path with D-Bus pointing nowhere, and the move back.
kr="$tmp/keyring"
mkdir -p "$kr/home" "$kr/data" "$kr/run"
chmod 700 "$kr/run"
lt_secret=mfaExecE2eLongTermSecretKeyForTests00000
keyring_ready=0
if command -v dbus-daemon >/dev/null && command -v gnome-keyring-daemon >/dev/null && command -v secret-tool >/dev/null; then
    dbus-daemon --session --nofork --print-address=1 --address="unix:path=$kr/bus" >"$kr/addr" 2>"$kr/dbus.log" &
    pids+=($!)
    for _ in $(seq 1 100); do [[ -s "$kr/addr" ]] && break; sleep 0.1; done
    export DBUS_SESSION_BUS_ADDRESS XDG_DATA_HOME="$kr/data" XDG_RUNTIME_DIR="$kr/run"
    DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$kr/addr")
    (export HOME="$kr/home"; printf e2e-throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null)
    keyring_ready=1
fi
t_keyring_ready() {
    [[ "$keyring_ready" == 1 ]] || fail "dbus-daemon, gnome-keyring-daemon or secret-tool missing (apt-get install dbus gnome-keyring libsecret-tools)"
}
check "a private Secret Service (dbus-daemon + gnome-keyring-daemon) is running" t_keyring_ready

t_keys_move() {
    cp "$creds" "$tmp/credentials.before-move"
    mfa-exec keys move testAccount --to keyring </dev/null
    local got
    got=$(secret-tool lookup service mfa-exec account testAccount)
    [[ "$got" == "{\"AccessKeyId\":\"$long_term_key\",\"SecretAccessKey\":\"$lt_secret\"}" ]] || fail "keyring entry: $got"
    ! grep -q -e "$long_term_key" -e "$lt_secret" "$creds" || fail "a long-term key is left in the credentials file"
    # Byte-wise: the file before minus the two key lines (and the [testAccount]
    # header with them, since SPEC §8.3 removes a section left empty).
    "$py" - "$tmp/credentials.before-move" "$creds" "$long_term_key" "$lt_secret" <<'PY'
import sys
before, after = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
key, secret = sys.argv[3].encode(), sys.argv[4].encode()
pair = b"aws_access_key_id = " + key + b"\naws_secret_access_key = " + secret + b"\n"
section = b"[testAccount]\n" + pair
if before.startswith(section):
    # Nothing else in [testAccount]: its header goes, and the blank line after it.
    expected = before[len(section):].lstrip(b"\n")
    print("after == before minus the two key lines and the emptied [testAccount] header")
else:
    expected = before.replace(pair, b"", 1)
    print("after == before minus the two key lines")
assert pair in before, "the two key lines were not in the file before"
assert after == expected, f"credentials differ:\n--- expected\n{expected.decode()}\n--- got\n{after.decode()}"
PY
    grep -q '^mfa_exec_keys = keyring$' "$HOME/.aws/config" || fail "no mfa_exec_keys = keyring in the config"
}
check "keys move testAccount --to keyring: entry in the Secret Service, no long-term key left in credentials (byte-wise)" t_keys_move

t_keys_refresh() {
    local before
    before=$(count GetSessionToken)
    # Each refresh below sends a code of its own: mfa-exec never sends a code
    # twice for one device (SPEC §8.5), and this HOME already used 123456.
    mfa-exec test --force -t 100584 -- aws sts get-caller-identity </dev/null >"$tmp/keyring-refresh.out"
    cat "$tmp/keyring-refresh.out"
    grep -q '"Account"' "$tmp/keyring-refresh.out" || fail "no identity printed"
    [[ "$(count GetSessionToken)" == $((before + 1)) ]] || fail "no new GetSessionToken"
    [[ "$(grep '^GetSessionToken ' "$tmp/requests.log" | tail -n 1)" == "GetSessionToken $long_term_key" ]] || fail "GetSessionToken not signed with the key from the keyring"
    [[ "$(tail -n 1 "$tmp/requests.log")" == "GetCallerIdentity $(ini_get test aws_access_key_id)" ]] || fail "aws not signed with the new session"
}
check "then mfa-exec test -- aws sts get-caller-identity works: GetSessionToken signed with the keyring's key" t_keys_refresh

t_keys_cached_no_dbus() {
    local before
    before=$(count GetSessionToken)
    DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus mfa-exec test --no-input -- aws sts get-caller-identity </dev/null
    [[ "$(count GetSessionToken)" == "$before" ]] || fail "GetSessionToken called"
}
check "the cached path needs no D-Bus (DBUS_SESSION_BUS_ADDRESS pointing nowhere still works)" t_keys_cached_no_dbus

t_keys_back() {
    mfa-exec keys move testAccount --to file </dev/null
    ! secret-tool lookup service mfa-exec account testAccount >/dev/null || fail "the keyring entry is still there"
    ! grep -q '^mfa_exec_keys' "$HOME/.aws/config" || fail "mfa_exec_keys left in the config"
    grep -q "^aws_access_key_id = $long_term_key$" "$creds" || fail "the key is not back in the credentials file"
    mfa-exec test --force -t 100606 -- aws sts get-caller-identity </dev/null >/dev/null
    [[ "$(grep '^GetSessionToken ' "$tmp/requests.log" | tail -n 1)" == "GetSessionToken $long_term_key" ]] || fail "not signed with the long-term key"
}
check "keys move testAccount --to file puts the key back, removes the entry, and the refresh works" t_keys_back
t_keys_rotate() {
    # A real moto IAM user with a real key, held in the keyring.
    local dummy=(env AWS_ACCESS_KEY_ID=AKIADUMMYDUMMYDUMMY0 AWS_SECRET_ACCESS_KEY=dummy AWS_DEFAULT_REGION=us-east-1)
    "${dummy[@]}" aws iam create-user --user-name rotor </dev/null >/dev/null
    local pair old_id old_secret
    pair=$("${dummy[@]}" aws iam create-access-key --user-name rotor --output text \
        --query 'AccessKey.[AccessKeyId,SecretAccessKey]' </dev/null)
    read -r old_id old_secret <<<"$pair"
    printf '\n[profile rotor]\nmfa_serial = arn:aws:iam::123456789012:mfa/rotor\nregion = us-east-1\n' >>"$HOME/.aws/config"
    printf '\n[rotor]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$old_id" "$old_secret" >>"$creds"
    mfa-exec keys move rotor --to keyring </dev/null
    mfa-exec keys rotate rotor -t 100621 </dev/null
    local entry new_id keys_now
    entry=$(secret-tool lookup service mfa-exec account rotor)
    new_id=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["AccessKeyId"])' "$entry")
    echo "old key $old_id, new key $new_id"
    [[ -n "$new_id" && "$new_id" != "$old_id" ]] || fail "no new key in the keyring"
    keys_now=$("${dummy[@]}" aws iam list-access-keys --user-name rotor --output text \
        --query 'AccessKeyMetadata[].AccessKeyId' </dev/null)
    echo "IAM keys of rotor now: $keys_now"
    [[ "$keys_now" == "$new_id" ]] || fail "IAM should hold only the new key"
    grep -q "^DeleteAccessKey " "$tmp/requests.log" || fail "no DeleteAccessKey seen"
    mfa-exec rotor --force -t 100632 -- aws sts get-caller-identity </dev/null >/dev/null
    [[ "$(grep '^GetSessionToken ' "$tmp/requests.log" | tail -n 1)" == "GetSessionToken $new_id" ]] || fail "the next refresh is not signed with the new key"
}
check "keys rotate rotor against moto IAM: new key in the keyring, old key deleted in IAM, next refresh signed with the new key" t_keys_rotate
# === end of keys in the keyring ===============================================

echo
echo "mfa-exec list:"
mfa-exec list </dev/null | sed 's/^/  /' || true
echo
echo "credentials file, before -> after:"
diff -u "$tmp/credentials.before" "$creds" | sed -e 's/^/  /' \
    -e 's/\(aws_secret_access_key = \)[^ ]\{6\}.*/\1******/' -e 's/\(aws_session_token = \)[^ ]\{6\}.*/\1******/' || true
echo
echo "STS requests seen by the proxy: $(wc -l <"$tmp/requests.log") ($(count GetSessionToken) GetSessionToken)"

echo "e2e: $passed passed, $failed failed$( ((skipped == 0)) || echo ", $skipped skipped")"
[[ "$failed" == 0 ]]
