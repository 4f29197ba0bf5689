#!/usr/bin/env bash
# Benchmarks of mfa-exec side by side with aws-mfa and awsume (issue 8).
#
#   bash scripts/bench.sh            # full run, rewrites BENCHMARKS.md
#   BENCH_QUICK=1 bash scripts/bench.sh   # fewer runs, a smoke test
#
# On a fresh Debian machine: installs hyperfine, GNU time and python3-venv with
# apt when missing (as root; otherwise says what to install), builds the release
# binary (own target dir, so it does not block debug builds), creates a venv with
# aws-mfa, awsume, moto[server] and awscli from PyPI, starts moto_server on
# loopback behind a small counting proxy (scripts/bench/sts_proxy.py), primes
# every tool's cache in throwaway HOMEs, measures with hyperfine, and writes
# BENCHMARKS.md from the results (scripts/bench/report.py).
#
# Nothing leaves the machine: every STS call goes to 127.0.0.1.
#
# Knobs (environment):
#   CARGO_TARGET_DIR  release build dir         (default target/bench)
#   BENCH_VENV        venv of the Python peers  (default target/bench-venv)
#   BENCH_RESULTS     raw results dir           (default target/bench-results)
#   BENCH_MD          the report                (default BENCHMARKS.md)
#   BENCH_QUICK=1     few runs (smoke test; the report says so)
#   BENCH_KEEP=1      keep the throwaway HOMEs (path printed at the end)
#   BENCH_VARIANTS    "name=path ..." other builds of mfa-exec measured beside
#                     this one in the floor run (section 1b), e.g. a non-PIE link
#   BENCH_NOPIE=0     skip the non-PIE variant build (MFA_EXEC_NO_PIE=1, build.rs)
#   BENCH_SHAPE       heavy (default) or light: the scale files (gen_profiles.py)
#   BENCH_BEFORE      an mfa-exec binary built from an earlier tree: measured
#                     beside this one in the same hyperfine runs (sections 1
#                     and 2), so before/after ratios come from one run
set -euo pipefail
# rustup's proxy needs the real HOME, which later steps replace.
RUSTC_VERSION="$(rustc --version 2>/dev/null || echo unknown)"
# The real rustc (not rustup's proxy), for the floor program built later.
RUSTC_REAL="$(rustc --print sysroot 2>/dev/null)/bin/rustc"
[ -x "$RUSTC_REAL" ] || RUSTC_REAL=$(command -v rustc)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_DIR=$ROOT/scripts/bench
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
VENV=${BENCH_VENV:-$ROOT/target/bench-venv}
RESULTS=${BENCH_RESULTS:-$ROOT/target/bench-results}
OUT_MD=${BENCH_MD:-$ROOT/BENCHMARKS.md}
QUICK=${BENCH_QUICK:-0}
BEFORE=${BENCH_BEFORE:-}
STAMPEDE_N=16
CODE=123456
T_START=$(date +%s)

say() { printf '\n== %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# Run counts: hyperfine's own minimum is 10 runs and 3 s per command.
if [ "$QUICK" = 1 ]; then
    WARM=2 MIN_FAST=10 MIN_SLOW=3 REFRESH_RUNS=5 STAMPEDE_ROUNDS=2 RSS_RUNS=2 FLOOR_RUNS=10
else
    WARM=10 MIN_FAST=300 MIN_SLOW=20 REFRESH_RUNS=40 STAMPEDE_ROUNDS=10 RSS_RUNS=10 FLOOR_RUNS=400
fi

# ---------------------------------------------------------------- tools
say "tools"
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} with apt-get" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "missing: ${missing[*]}; install them (Debian: sudo apt-get install -y ${missing[*]}) and run again"
    fi
fi
hyperfine --version >&2
if [ -n "$BEFORE" ]; then
    [ -x "$BEFORE" ] || die "BENCH_BEFORE=$BEFORE is not an executable"
    BEFORE=$(cd "$(dirname "$BEFORE")" && pwd)/$(basename "$BEFORE")
    "$BEFORE" --version >&2
fi

# ---------------------------------------------------------------- build
say "release build (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
BUILD_T0=$(date +%s)
cargo build --release --locked --quiet
BUILD_S=$(($(date +%s) - BUILD_T0))
BIN=$CARGO_TARGET_DIR/release/mfa-exec
[ -x "$BIN" ] || die "no binary at $BIN"
"$BIN" --version >&2

# The non-PIE variant (build.rs, MFA_EXEC_NO_PIE=1), measured beside the
# default build in section 1b. Its own target dir, seeded from this one so
# that only the binary is linked again.
NOPIE_BIN=
if [ "${BENCH_NOPIE:-1}" = 1 ] && [ "$(uname -s)" = Linux ]; then
    say "release build with MFA_EXEC_NO_PIE=1 (section 1b)"
    NOPIE_DIR=$CARGO_TARGET_DIR-nopie
    if [ ! -d "$NOPIE_DIR/release" ]; then
        mkdir -p "$NOPIE_DIR"
        cp -a "$CARGO_TARGET_DIR/release" "$NOPIE_DIR/"
    fi
    MFA_EXEC_NO_PIE=1 CARGO_TARGET_DIR=$NOPIE_DIR cargo build --release --locked --quiet
    NOPIE_BIN=$NOPIE_DIR/release/mfa-exec
    readelf -h "$NOPIE_BIN" 2>/dev/null | grep -q 'EXEC' || die "$NOPIE_BIN is not a non-PIE executable"
    BENCH_VARIANTS="${BENCH_VARIANTS:-} non-PIE=$NOPIE_BIN"
fi

# ---------------------------------------------------------------- venv
say "venv with aws-mfa, awsume, moto[server], awscli ($VENV)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check aws-mfa awsume 'moto[server]' awscli
PY=$VENV/bin/python

# ---------------------------------------------------------------- sandbox
# Inherited AWS settings must not leak into any tool.
for v in $(compgen -e); do
    case $v in AWS_* | MFA_EXEC_* | BOTO_* | XDG_CONFIG_HOME | XDG_CACHE_HOME | XDG_DATA_HOME) unset "$v" ;; esac
done
W=$(mktemp -d "${TMPDIR:-/tmp}/mfa-exec-bench.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        "$PY" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port)))" && return 0
        sleep 0.1
    done
    die "nothing listens on 127.0.0.1:$port"
}

say "moto_server and the counting proxy on 127.0.0.1"
MOTO_PORT=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$W/moto.log" 2>&1 &
PIDS+=($!)
wait_port "$MOTO_PORT"
PROXY_PORT=$(free_port)
STS_LOG=$W/sts.log
"$PY" "$BENCH_DIR/sts_proxy.py" "$PROXY_PORT" "$MOTO_PORT" "$STS_LOG" &
PIDS+=($!)
wait_port "$PROXY_PORT"
ENDPOINT=http://127.0.0.1:$PROXY_PORT
echo "moto on :$MOTO_PORT, proxy (the endpoint every tool uses) on :$PROXY_PORT" >&2

sts_reset() { : >"$STS_LOG"; }
# The one-code guard (SPEC §8.5) refuses a code it sent in the last two
# minutes; moto accepts any code, so every measured refresh starts from a
# guard that has not seen "$CODE" (as a person with the next code would).
forget_codes() { rm -f "$MH"/.aws/.credentials.mfa-exec.codes; }
sts_count() { grep -c "^${1:-GetSessionToken}	" "$STS_LOG" || true; }

# mfa-exec's HOME: the seed layout.
MH=$W/mfa-exec-home
mkdir -p "$MH/.aws" && chmod 700 "$MH/.aws"
"$PY" "$BENCH_DIR/gen_profiles.py" 2 "$MH/.aws"
export HOME=$MH
export AWS_CONFIG_FILE=$MH/.aws/config
export AWS_SHARED_CREDENTIALS_FILE=$MH/.aws/credentials
export AWS_ENDPOINT_URL_STS=$ENDPOINT
CREDS=$AWS_SHARED_CREDENTIALS_FILE

# aws-mfa's HOME: its documented layout; it reads ~/.aws/credentials only and
# takes the STS endpoint from botocore's AWS_ENDPOINT_URL_STS.
AH=$W/aws-mfa-home
mkdir -p "$AH/.aws"
cat >"$AH/.aws/credentials" <<'EOF'
[test-long-term]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
aws_mfa_device = arn:aws:iam::123456789012:mfa/test
EOF
: >"$AH/.aws/config"
AWSMFA=(env "HOME=$AH" "AWS_CONFIG_FILE=$AH/.aws/config" "AWS_SHARED_CREDENTIALS_FILE=$AH/.aws/credentials" AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/aws-mfa" --profile test)

# awsume's HOME: awsume needs `mfa_serial` in a `[profile ...]` section (it does
# not read the seed's bare `[testAccount]` / `mfa_arn`); its cache is
# ~/.awsume/cache/aws-credentials-<key id>.
SH=$W/awsume-home
mkdir -p "$SH/.aws"
printf '[profile testAccount]\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = ap-northeast-2\n' >"$SH/.aws/config"
printf '[testAccount]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' >"$SH/.aws/credentials"
AWSUME=(env "HOME=$SH" "AWS_CONFIG_FILE=$SH/.aws/config" "AWS_SHARED_CREDENTIALS_FILE=$SH/.aws/credentials" "$VENV/bin/awsumepy" testAccount)

# ---------------------------------------------------------------- prime
say "priming every tool's cache against moto"
sts_reset
"$BIN" test -t "$CODE" -- true
echo "mfa-exec: $(sts_count) GetSessionToken" >&2
"$BIN" list >&2
echo "$CODE" | "${AWSMFA[@]}" >/dev/null
grep -q '^expiration' "$AH/.aws/credentials" || die "aws-mfa did not write its session"
"${AWSMFA[@]}" >"$W/aws-mfa.out"
grep -q 'still valid' "$W/aws-mfa.out" || die "aws-mfa does not see its session as valid"
"${AWSUME[@]}" --mfa-token "$CODE" >/dev/null
ls "$SH/.awsume/cache/aws-credentials-"* >/dev/null || die "awsume did not cache its session"
echo "after priming: $(sts_count) GetSessionToken (mfa-exec, aws-mfa, awsume: 3 expected)" >&2
# The cached runs must not call STS.
sts_reset
"$BIN" test -- true
"${AWSMFA[@]}" >/dev/null
"${AWSUME[@]}" >/dev/null
[ "$(sts_count)" = 0 ] || die "a cached run called STS ($(sts_count) requests)"
# The session works for the AWS CLI run under mfa-exec (against moto).
"$BIN" test -- "$VENV/bin/aws" --endpoint-url "$ENDPOINT" sts get-caller-identity --output text >&2
cp "$CREDS" "$W/credentials.primed"

HF=(hyperfine --style basic --warmup "$WARM")

# ---------------------------------------------------------------- 1 cached
say "1. cached path"
"${HF[@]}" -N --min-runs "$MIN_SLOW" \
    --export-json "$RESULTS/1-cached.json" --export-markdown "$RESULTS/1-cached.md" \
    -n "mfa-exec test -- true" "$BIN test -- true" \
    -n "/bin/true" "/bin/true" \
    -n "aws-mfa --profile test (still valid)" "${AWSMFA[*]}" \
    -n "awsumepy testAccount (cached)" "${AWSUME[*]}"
# sub-ms commands get many more runs on their own
FAST=(-n "mfa-exec test -- true" "$BIN test -- true" -n "/bin/true" "/bin/true")
[ -z "$BEFORE" ] || FAST+=(-n "mfa-exec test -- true (before)" "$BEFORE test -- true")
"${HF[@]}" -N --min-runs "$MIN_FAST" \
    --export-json "$RESULTS/1-cached-fast.json" --export-markdown "$RESULTS/1-cached-fast.md" \
    "${FAST[@]}"

# ---------------------------------------------------------------- 1b floor
# Issue 24: the cached path against what the machine allows, in one hyperfine
# run: /bin/true; a static C program and a minimal Rust program (std, the
# release settings) that read both AWS files, find one header and exec; the
# bare main form; each main-form flag and the `exec` spelling. BENCH_VARIANTS
# ("name=path ...") adds other builds of mfa-exec to the same run. Then the
# same commands' instruction counts up to the exec (callgrind with an exec
# shim: repeatable whatever else the machine does).
say "1b. the floor: one hyperfine run, medians of $FLOOR_RUNS"
gcc -O2 -static -o "$W/floor-c" "$BENCH_DIR/floor.c"
"$RUSTC_REAL" --edition 2021 -C opt-level=s -C codegen-units=1 -C panic=abort -C strip=symbols \
    -o "$W/floor-rs" "$BENCH_DIR/floor.rs"
"$W/floor-c" test true && "$W/floor-rs" test true || die "a floor program failed"
FLOOR=(
    "/bin/true" "/bin/true"
    "floor: static C" "$W/floor-c test true"
    "floor: minimal Rust" "$W/floor-rs test true"
    "mfa-exec test -- true" "$BIN test -- true"
    "mfa-exec test --token-code $CODE -- true" "$BIN test --token-code $CODE -- true"
    "mfa-exec -v test -- true" "$BIN -v test -- true"
    "mfa-exec test --region eu-west-1 -- true" "$BIN test --region eu-west-1 -- true"
    "mfa-exec exec test -- true" "$BIN exec test -- true"
)
for v in ${BENCH_VARIANTS:-}; do
    FLOOR+=("mfa-exec test -- true (${v%%=*})" "${v#*=} test -- true")
done
hf_args=()
for ((i = 0; i < ${#FLOOR[@]}; i += 2)); do hf_args+=(-n "${FLOOR[i]}" "${FLOOR[i + 1]}"); done
"${HF[@]}" -N --runs "$FLOOR_RUNS" --export-json "$RESULTS/1b-floor.json" "${hf_args[@]}"
: >"$RESULTS/1b-instructions.tsv"
if command -v valgrind >/dev/null; then
    gcc -O2 -shared -fPIC -o "$W/noexec.so" "$BENCH_DIR/noexec.c"
    gcc -O2 -o "$W/floor-c-dynamic" "$BENCH_DIR/floor.c"
    for ((i = 0; i < ${#FLOOR[@]}; i += 2)); do
        # callgrind cannot follow a static binary's exec through the shim: the
        # dynamic build of the same C program stands in for it.
        cmd=${FLOOR[i + 1]/$W\/floor-c /$W/floor-c-dynamic }
        # shellcheck disable=SC2086
        n=$(LD_PRELOAD=$W/noexec.so valgrind --tool=callgrind --callgrind-out-file=/dev/null $cmd 2>&1 >/dev/null |
            sed -n 's/.*Collected : //p' | tail -1)
        printf '%s\t%s\n' "${FLOOR[i]}" "${n:-?}" >>"$RESULTS/1b-instructions.tsv"
    done
fi
# Page faults of one run (minor faults, /usr/bin/time %R).
: >"$RESULTS/1b-faults.tsv"
for ((i = 0; i < ${#FLOOR[@]}; i += 2)); do
    # shellcheck disable=SC2086
    printf '%s\t%s\n' "${FLOOR[i]}" "$(/usr/bin/time -f %R ${FLOOR[i + 1]} 2>&1 >/dev/null | tail -1)" >>"$RESULTS/1b-faults.tsv"
done

# ---------------------------------------------------------------- 2 scale
# One command of the scale section (with BENCH_BEFORE: the same command of both
# binaries, in one hyperfine run). A first timed run decides the run count, so
# a command that grows badly (seconds per run) does not stall the script: over
# 1 s it gets 3 runs and no warm-up; over 20 s the first run is the result.
scale_bench() { # result prefix, then name command [name command]
    local out=$1 t0 t1 slowest=0 i
    shift
    local args=("$@") hf=()
    for ((i = 0; i < ${#args[@]}; i += 2)); do
        t0=$(date +%s%N)
        ${args[i + 1]} >"$out.out$((i / 2))"
        t1=$(date +%s%N)
        [ $((t1 - t0)) -gt "$slowest" ] && slowest=$((t1 - t0))
        hf+=(-n "${args[i]}" "${args[i + 1]}")
    done
    mv "$out.out0" "$out.out"
    if [ "$((slowest / 1000000000))" -ge 20 ]; then
        echo "$out: one run took $((slowest / 1000000000)) s; that run is the result" >&2
        "$PY" - "$out.json" "$((slowest / 1000))" "${args[@]}" <<'PYEOF'
import json, sys
out, us, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t = us / 1e6
json.dump({"results": [{"command": name, "mean": t, "stddev": None, "median": t,
           "min": t, "max": t, "times": [t], "single_run": True}
          for name in pairs[0::2]]}, open(out, "w"))
PYEOF
    elif [ "$((slowest / 1000000))" -ge 1000 ]; then
        hyperfine --style basic -N --runs 3 --export-json "$out.json" "${hf[@]}"
    else
        "${HF[@]}" -N --min-runs "$MIN_SLOW" --export-json "$out.json" "${hf[@]}"
    fi
}

say "2. scale: 10 .. 10,000 profiles"
: >"$RESULTS/2-same-output.txt"
for n in 10 100 1000 10000; do
    d=$W/scale-$n
    "$PY" "$BENCH_DIR/gen_profiles.py" "$n" "$d" $([ "${BENCH_SHAPE:-heavy}" = heavy ] && echo --heavy)
    AWS_CONFIG_FILE=$d/config AWS_SHARED_CREDENTIALS_FILE=$d/credentials "$BIN" test -t "$CODE" -- true
    grep -c '^\[' "$d/credentials" >"$RESULTS/2-sections-$n.txt"
    stat -c %s "$d/credentials" >"$RESULTS/2-bytes-$n.txt"
    stat -c %s "$d/config" >"$RESULTS/2-config-bytes-$n.txt"
    for kind in cached list explain; do
        case $kind in
            cached) args="test -- true" ;;
            list) args="list" ;;
            explain) args="explain test" ;;
        esac
        cmds=("$kind, $n profiles" "$BIN $args")
        [ -z "$BEFORE" ] || cmds+=("$kind, $n profiles, before" "$BEFORE $args")
        AWS_CONFIG_FILE=$d/config AWS_SHARED_CREDENTIALS_FILE=$d/credentials \
            scale_bench "$RESULTS/2-scale-$kind-$n" "${cmds[@]}"
        # Same output from both binaries (list/explain: the time left may tick
        # over a minute between the two runs; compared without it).
        if [ -n "$BEFORE" ]; then
            norm() { sed -E 's/[0-9]+h [0-9]+m left/_ left/; s/\([0-9]+h [0-9]+m left\)/(_ left)/' "$1"; }
            if cmp -s <(norm "$RESULTS/2-scale-$kind-$n.out") <(norm "$RESULTS/2-scale-$kind-$n.out1"); then
                echo "$kind $n same" >>"$RESULTS/2-same-output.txt"
            else
                echo "$kind $n DIFFERENT" >>"$RESULTS/2-same-output.txt"
            fi
        fi
    done
done

# ---------------------------------------------------------------- 3 refresh
say "3. refresh path against moto"
# One refresh alone: exactly one STS request.
sts_reset
forget_codes
"$BIN" test --force -t "$CODE" -- true
sts_count GetSessionToken >"$RESULTS/3-requests-single.txt"
wc -l <"$STS_LOG" >"$RESULTS/3-requests-single-all.txt"
sts_reset
"${HF[@]}" -N --runs "$REFRESH_RUNS" --prepare "rm -f $MH/.aws/.credentials.mfa-exec.codes" \
    --export-json "$RESULTS/3-refresh-mfa-exec.json" --export-markdown "$RESULTS/3-refresh-mfa-exec.md" \
    -n "mfa-exec test --force -t $CODE -- true" "$BIN test --force -t $CODE -- true"
cp "$STS_LOG" "$RESULTS/3-sts-mfa-exec.tsv"
echo "$((REFRESH_RUNS + WARM))" >"$RESULTS/3-invocations-mfa-exec.txt"
sts_reset
# aws-mfa reads the code from stdin: through the shell (hyperfine subtracts the
# shell's own start-up).
"${HF[@]}" --runs "$REFRESH_RUNS" \
    --export-json "$RESULTS/3-refresh-aws-mfa.json" --export-markdown "$RESULTS/3-refresh-aws-mfa.md" \
    -n "echo $CODE | aws-mfa --profile test --force" "echo $CODE | ${AWSMFA[*]} --force"
cp "$STS_LOG" "$RESULTS/3-sts-aws-mfa.tsv"
echo "$((REFRESH_RUNS + WARM))" >"$RESULTS/3-invocations-aws-mfa.txt"
sts_reset
"${HF[@]}" --runs "$REFRESH_RUNS" \
    --export-json "$RESULTS/3-refresh-awsume.json" --export-markdown "$RESULTS/3-refresh-awsume.md" \
    -n "awsumepy testAccount --refresh --mfa-token $CODE" "${AWSUME[*]} --refresh --mfa-token $CODE"
cp "$STS_LOG" "$RESULTS/3-sts-awsume.tsv"
echo "$((REFRESH_RUNS + WARM))" >"$RESULTS/3-invocations-awsume.txt"

# ---------------------------------------------------------------- 4 stampede
say "4. stampede: $STAMPEDE_N parallel runs on a stale session, $STAMPEDE_ROUNDS rounds"
: >"$RESULTS/4-stampede.tsv"
for r in $(seq 1 "$STAMPEDE_ROUNDS"); do
    # Stale: the session's expiry moved into the past (the section stays).
    "$PY" - "$CREDS" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s2 = re.sub(r"(?m)^(x_security_token_expires\s*=\s*).*$", r"\g<1>2000-01-01T00:00:00Z", s)
assert s2 != s, "no x_security_token_expires to make stale"
open(p, "w").write(s2)
EOF
    "$BIN" list >"$W/list.out"
    grep -q 'expired' "$W/list.out" || die "the session is not stale: $(cat "$W/list.out")"
    sts_reset
    forget_codes
    t0=$(date +%s%N)
    pids=()
    for i in $(seq 1 "$STAMPEDE_N"); do
        "$BIN" test -t "$CODE" -- true 2>"$W/stampede-$i.err" &
        pids+=($!)
    done
    fails=0
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    t1=$(date +%s%N)
    printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$(((t1 - t0) / 1000))" "$(sts_count GetSessionToken)" "$(wc -l <"$STS_LOG")" "$fails" >>"$RESULTS/4-stampede.tsv"
    [ "$fails" = 0 ] || { cat "$W"/stampede-*.err >&2; die "$fails of $STAMPEDE_N runs failed"; }
done
cat "$RESULTS/4-stampede.tsv" >&2

# ---------------------------------------------------------------- 5 memory
say "5. peak memory (max RSS, /usr/bin/time -v)"
cp "$W/credentials.primed" "$CREDS"
"$BIN" test -- true
: >"$RESULTS/5-rss.tsv"
rss() { # name, command...
    local name=$1 i
    shift
    for i in $(seq 1 "$RSS_RUNS"); do
        /usr/bin/time -v -o "$W/time.txt" "$@" >/dev/null 2>&1 </dev/null
        printf '%s\t%s\n' "$name" "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")" >>"$RESULTS/5-rss.tsv"
    done
}
rss "/bin/true" /bin/true
rss "mfa-exec cached" "$BIN" test -- true
for i in $(seq 1 "$RSS_RUNS"); do
    forget_codes
    RSS_RUNS=1 rss "mfa-exec refresh" "$BIN" test --force -t "$CODE" -- true
done
rss "mfa-exec list" "$BIN" list
rss "aws-mfa cached" "${AWSMFA[@]}"
rss "awsumepy cached" "${AWSUME[@]}"
sts_reset
for i in $(seq 1 "$RSS_RUNS"); do
    echo "$CODE" >"$W/code"
    /usr/bin/time -v -o "$W/time.txt" "${AWSMFA[@]}" --force <"$W/code" >/dev/null 2>&1
    printf '%s\t%s\n' "aws-mfa refresh" "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")" >>"$RESULTS/5-rss.tsv"
done

# ---------------------------------------------------------------- profile
say "profile of the cached path (syscalls, binary size)"
stat -c %s "$BIN" >"$RESULTS/binary-bytes.txt"
if command -v strace >/dev/null; then
    strace -f -c -o "$RESULTS/strace-cached.txt" "$BIN" test -- true || true
    strace -f -o "$W/strace-full.txt" "$BIN" test -- true || true
    # syscalls before the exec of the child
    awk '/execve\(/ {n++} n<2' "$W/strace-full.txt" | wc -l >"$RESULTS/strace-cached-before-exec.txt"
    AWS_CONFIG_FILE=$W/scale-1000/config AWS_SHARED_CREDENTIALS_FILE=$W/scale-1000/credentials \
        strace -f -c -o "$RESULTS/strace-list-1000.txt" "$BIN" list >/dev/null || true
fi
# The dynamic loader's own account of start-up (relocations, time in ld.so).
LD_DEBUG=statistics LD_DEBUG_OUTPUT="$W/ld" "$BIN" test -- true || true
cat "$W"/ld.* >"$RESULTS/ld-statistics.txt" 2>/dev/null || true
# User and system CPU time per run (getrusage of 200 runs), 10 and 10,000 profiles.
for n in 10 10000; do
    for b in "$BIN" ${BEFORE:+"$BEFORE"}; do
        AWS_CONFIG_FILE=$W/scale-$n/config AWS_SHARED_CREDENTIALS_FILE=$W/scale-$n/credentials \
            "$PY" - "$b" "$n" "$([ "$b" = "$BIN" ] && echo after || echo before)" >>"$RESULTS/rusage.tsv" <<'PYEOF'
import resource, subprocess, sys
b, n, which = sys.argv[1:4]
runs = 200
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
for _ in range(runs):
    subprocess.run([b, "test", "--", "true"], check=True)
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{which}\t{n}\t{(r1.ru_utime - r0.ru_utime) / runs * 1e3:.3f}\t{(r1.ru_stime - r0.ru_stime) / runs * 1e3:.3f}")
PYEOF
    done
done

# ---------------------------------------------------------------- 6 --server
say "the --server endpoint under load"
bash "$BENCH_DIR/server.sh" "$BIN" >"$RESULTS/server.txt"

# ---------------------------------------------------------------- report
say "writing $OUT_MD"
{
    echo "quick=$QUICK"
    echo "build_seconds=$BUILD_S"
    echo "total_seconds=$(($(date +%s) - T_START))"
    echo "warmup=$WARM"
    echo "refresh_runs=$REFRESH_RUNS"
    echo "stampede_n=$STAMPEDE_N"
    echo "stampede_rounds=$STAMPEDE_ROUNDS"
    echo "rss_runs=$RSS_RUNS"
    echo "floor_runs=$FLOOR_RUNS"
    echo "shape=${BENCH_SHAPE:-heavy}"
    echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/run.env"
MFA_EXEC_BENCH_BEFORE="$BEFORE" MFA_EXEC_RUSTC_VERSION="$RUSTC_VERSION" "$PY" "$BENCH_DIR/report.py" "$RESULTS" "$BIN" "$VENV" "$OUT_MD"
echo "bench: done in $(($(date +%s) - T_START)) s; results in $RESULTS, report in $OUT_MD" >&2
