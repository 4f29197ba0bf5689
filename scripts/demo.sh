#!/usr/bin/env bash
# Try mfa-exec without AWS: a local moto STS, a throwaway HOME with the layout
# from the README, and `mfa-exec test -- aws sts get-caller-identity` run twice.
# The first run asks for an MFA code (moto accepts any 6 digits); the second
# reuses the cached session without asking. Everything is removed at the end.
#
#   scripts/demo.sh                  # type any 6 digits when asked
#   DEMO_CODE=123456 scripts/demo.sh # no terminal (CI): the code is passed with -t
#   scripts/demo.sh --bin PATH       # this mfa-exec binary
#   scripts/demo.sh --build          # a debug build of this checkout
#
# Which mfa-exec: --bin PATH, else the `mfa-exec` on PATH (an installed one),
# else (or with --build) a debug build of this checkout (`cargo build`: minutes
# the first time). Needs python3 for a venv with moto and the AWS CLI, made by
# scripts/venv.sh on first use from PyPI (MFA_EXEC_VENV overrides where).
set -euo pipefail

bin=
build=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bin) bin=${2:?--bin needs a path}; shift 2 ;;
        --bin=*) bin=${1#--bin=}; shift ;;
        --build) build=1; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [[ -n "$bin" && "$bin" != /* ]]; then
    bin=$PWD/$bin
fi

# MFA_EXEC_VENV as given, relative to the caller's directory.
if [[ -n "${MFA_EXEC_VENV:-}" && "$MFA_EXEC_VENV" != /* ]]; then
    MFA_EXEC_VENV=$PWD/$MFA_EXEC_VENV
fi
cd "$(dirname "$0")/.."
root=$PWD

# The caller's AWS setup and mfa-exec settings must not leak in, except the one
# setting this script documents: where the venv is.
venv=${MFA_EXEC_VENV:-$root/target/venv}
while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(AWS_|MFA_EXEC_)' || true)
unset COMPLETE || true
export MFA_EXEC_VENV=$venv

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

if [[ -z "$bin" && $build == 0 ]]; then
    bin=$(command -v mfa-exec || true)
fi
if [[ -n "$bin" ]]; then
    if ! [[ -x "$bin" ]]; then
        echo "demo: $bin is not an executable mfa-exec" >&2
        exit 2
    fi
    say "using $bin ($("$bin" --version)); the Python venv (moto, awscli)"
else
    say "building mfa-exec (cargo build) and the Python venv (moto, awscli)"
    cargo build --quiet
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/mfa-exec"
fi
bash "$root/scripts/venv.sh"
py="$MFA_EXEC_VENV/bin/python"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfa-exec-demo.XXXXXX")
# The chosen binary as `mfa-exec`, first on PATH.
bin_dir="$tmp/bin"
mkdir -p "$bin_dir"
ln -s "$bin" "$bin_dir/mfa-exec"
moto_pid=
cleanup() {
    if [[ -n "$moto_pid" ]]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
say "starting a local STS (moto) on 127.0.0.1:$port"
"$MFA_EXEC_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
for i in $(seq 1 150); do
    if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
        break
    fi
    if [[ $i == 150 ]]; then
        echo "moto did not start:" >&2
        cat "$tmp/moto.log" >&2
        exit 1
    fi
    sleep 0.2
done

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
cat >"$HOME/.aws/credentials" <<'EOF'
[testAccount]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
EOF
chmod 600 "$HOME/.aws/credentials"
cp "$HOME/.aws/credentials" "$tmp/credentials.before"

export PATH="$bin_dir:$MFA_EXEC_VENV/bin:$PATH"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_EC2_METADATA_DISABLED=true

say "a throwaway HOME=$HOME with ~/.aws/config:"
cat "$HOME/.aws/config"
say "and ~/.aws/credentials (long-term keys of testAccount, no MFA session yet):"
cat "$HOME/.aws/credentials"

code_args=()
if [[ -n "${DEMO_CODE:-}" ]]; then
    code_args=(-t "$DEMO_CODE")
elif ! [[ -t 0 ]] || ! { : >/dev/tty; } 2>/dev/null; then
    echo "demo: no terminal to type the MFA code on; run with DEMO_CODE=123456 (moto accepts any 6 digits)" >&2
    exit 2
fi

say "first run: no session is cached, so mfa-exec asks for a code (type any 6 digits)"
show "mfa-exec test${code_args[*]:+ ${code_args[*]}} -- aws sts get-caller-identity"
mfa-exec test "${code_args[@]}" -- aws sts get-caller-identity

say "second run: the cached session is reused, no prompt, no STS call by mfa-exec"
show "mfa-exec test -- aws sts get-caller-identity"
mfa-exec test -- aws sts get-caller-identity

say "the session is also an ordinary profile now:"
show "aws --profile test sts get-caller-identity"
aws --profile test sts get-caller-identity

say "mfa-exec list"
mfa-exec list

say "what changed in ~/.aws/credentials (diff -u before after):"
diff -u --label before --label after "$tmp/credentials.before" "$HOME/.aws/credentials" || true

say "done; removing $tmp and stopping moto"
